// Cross-origin attacks on cotter's tokenless API (issue 17) in Debian's
// chromium, driven by playwright-core. Run by
// tests/integration/test_api_origin.sh against a live `cotter run` without
// manager.tokens (the loopback default). Environment:
//   COTTER_URL     http://127.0.0.1:PORT of the manager
//   HOSTILE_URL    http://127.0.0.1:PORT2/hostile.html, served by another
//                  HTTP server: a page of another origin that tries to stop
//                  the channel, start a snapshot and read the logs
//   COTTER_CHANNEL the channel (default c1)
//   CHROMIUM       the browser (default /usr/bin/chromium)
// Steps:
//   1. the hostile page: its requests are sent by the browser and refused by
//      cotter (the shell test reads the 403s from the audit log);
//   2. DNS rebinding: the name evil.test resolves to 127.0.0.1 (a resolver
//      rule of the browser), a page served as http://evil.test:PORT/ reads
//      and posts to the API as same-origin; cotter refuses the foreign Host;
//   3. the console (same origin, no token) still stops and starts the channel.
// Prints one JSON line of results on stdout; exits 0 when every step passed.
import { chromium } from 'playwright-core';

const URL = process.env.COTTER_URL;
const HOSTILE = process.env.HOSTILE_URL;
const CHANNEL = process.env.COTTER_CHANNEL || 'c1';
const BROWSER = process.env.CHROMIUM || '/usr/bin/chromium';
if (!URL || !HOSTILE) {
  console.error('cross_origin.mjs: set COTTER_URL and HOSTILE_URL');
  process.exit(2);
}
const PORT = new globalThis.URL(URL).port;

const t0 = Date.now();
const log = (msg) => console.error(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: BROWSER,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--host-resolver-rules=MAP evil.test 127.0.0.1',
    // a browser without Private Network Access (older, or another vendor):
    // cotter must hold on its own
    '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,'
      + 'PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks'],
});
const out = {};
let step = '';
try {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();

  step = 'the hostile page of another origin';
  log(step);
  await page.goto(HOSTILE);
  await page.waitForFunction(() => window.attackDone === true, null, { timeout: 30000 });
  out.hostile = await page.evaluate(() => window.attack);
  log('hostile page results: ' + JSON.stringify(out.hostile));
  // what a page of another origin can see: no-cors answers are opaque,
  // cors ones fail (cotter sends no Access-Control-Allow-Origin)
  check(out.hostile.cors_logs === 'blocked', 'the hostile page read /api/logs: ' + out.hostile.cors_logs);
  check(out.hostile.cors_post === 'blocked', 'a cors POST with the header went through: ' + out.hostile.cors_post);
  // the channel is still RUNNING (asked from node, a plain client; an
  // accepted stop would have been carried out by now)
  await new Promise((done) => setTimeout(done, 1500));
  const st = await (await fetch(`${URL}/api/channel/${CHANNEL}/status`)).json();
  out.after_hostile = st.state;
  check(st.state === 'RUNNING', 'after the hostile page the channel is ' + st.state);

  step = 'DNS rebinding: same-origin for the browser, a foreign Host for cotter';
  log(step);
  const evil = `http://evil.test:${PORT}`;
  // the attacker's server answered the first lookup of evil.test; the page
  // is served here by the browser's router, the rest goes to 127.0.0.1
  await page.route(evil + '/rebind.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><title>rebind</title><p>rebinding</p>',
  }));
  await page.goto(evil + '/rebind.html');
  out.rebind = await page.evaluate(async (channel) => {
    const r = {};
    const logs = await fetch('/api/logs?lines=50');
    r.logs_status = logs.status;
    r.logs_body = (await logs.text()).slice(0, 300);
    const stop = await fetch(`/api/channel/${channel}/stop`, {
      method: 'POST', headers: { 'X-Cotter-Request': '1' },
    });
    r.stop_status = stop.status;
    r.stop_body = (await stop.text()).slice(0, 300);
    return r;
  }, CHANNEL);
  log('rebinding results: ' + JSON.stringify(out.rebind));
  check(out.rebind.logs_status === 403 && /host_not_allowed/.test(out.rebind.logs_body),
    'GET /api/logs under a foreign Host: ' + out.rebind.logs_status + ' ' + out.rebind.logs_body);
  check(!/"lines"/.test(out.rebind.logs_body), 'the rebinding page read log lines');
  check(out.rebind.stop_status === 403 && /host_not_allowed/.test(out.rebind.stop_body),
    'POST stop under a foreign Host: ' + out.rebind.stop_status + ' ' + out.rebind.stop_body);

  step = 'the console (no token) still stops and starts the channel';
  log(step);
  await page.goto(`${URL}/#/channel/${CHANNEL}`);
  await page.locator('#view-channel').waitFor({ state: 'visible', timeout: 15000 });
  await page.waitForFunction(() => document.querySelector('#ch-state')?.innerText === 'RUNNING', null,
    { timeout: 20000 });
  await page.click('#btn-stop');
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: 5000 });
  await page.click('#confirm-ok');
  await page.waitForFunction(() => ['STOPPED', 'PAUSED'].includes(document.querySelector('#ch-state')?.innerText),
    null, { timeout: 30000 });
  out.console_stopped = await page.locator('#ch-state').innerText();
  await page.waitForFunction(() => !document.querySelector('#btn-start').disabled, null, { timeout: 10000 });
  await page.click('#btn-start');
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: 5000 });
  await page.click('#confirm-ok');
  await page.waitForFunction(() => document.querySelector('#ch-state')?.innerText === 'RUNNING', null,
    { timeout: 30000 });
  out.console_started = 'RUNNING';
  log('console: ' + out.console_stopped + ' then RUNNING');
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`FAILED at "${step}": ${e.message}`);
  console.log(JSON.stringify(out));
  await browser.close();
  process.exit(1);
}
await browser.close();
