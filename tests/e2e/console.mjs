// End-to-end test of cotter's web console (issue 5) in Debian's chromium,
// driven by playwright-core (no browser is downloaded). Run by
// tests/integration/test_console.sh against a live `cotter run` whose
// channel is fed by a writer on the source. Environment:
//   COTTER_URL            http://127.0.0.1:PORT of the manager
//   COTTER_ADMIN_TOKEN    an admin token; COTTER_READ_TOKEN a read token
//   COTTER_CHANNEL        the channel to drive (default c1)
//   COTTER_E2E_OUT        where screenshots go (default $TMPDIR/cotter-e2e)
//   CHROMIUM              the browser (default /usr/bin/chromium)
// Exits 0 when every step passed, 1 with the failing step otherwise.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const URL = process.env.COTTER_URL;
const ADMIN = process.env.COTTER_ADMIN_TOKEN;
const READ = process.env.COTTER_READ_TOKEN;
const CHANNEL = process.env.COTTER_CHANNEL || 'c1';
const OUT = process.env.COTTER_E2E_OUT || join(tmpdir(), 'cotter-e2e');
const BROWSER = process.env.CHROMIUM || '/usr/bin/chromium';

if (!URL || !ADMIN || !READ) {
  console.error('console.mjs: set COTTER_URL, COTTER_ADMIN_TOKEN and COTTER_READ_TOKEN');
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });

let step = '';
const t0 = Date.now();
function log(msg) {
  console.error(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}
function begin(name) {
  step = name;
  log(name);
}
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}
// num parses a counter as the console prints it ("12,345").
function num(text) {
  const v = Number(String(text).replace(/[^0-9.]/g, ''));
  check(String(text).trim() !== '—' && isFinite(v), `not a number: '${text}'`);
  return v;
}

const browser = await chromium.launch({
  executablePath: BROWSER,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const problems = [];
let page;
try {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 860 } });
  page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    // a CSP violation shows as a console error ("Refused to ..."); so does a
    // script error. The 401 of the first unauthenticated probe is expected.
    // GET /api/alarms answers 404 while the alarms module is not there.
    const where = (m.location() && m.location().url) || '';
    if (m.type() !== 'error' || /status of 401/.test(m.text())) return;
    if (/status of 404/.test(m.text()) && where.includes('/api/alarms')) return;
    problems.push('console: ' + m.text() + (where ? ' (' + where + ')' : ''));
  });
  const shot = async (name) => {
    await page.screenshot({ path: join(OUT, name), fullPage: true });
    log(`screenshot ${join(OUT, name)}`);
  };
  const text = (sel) => page.locator(sel).first().innerText();

  begin('the console asks for a token');
  await page.goto(URL + '/');
  await page.locator('#view-login').waitFor({ state: 'visible', timeout: 15000 });
  check(await page.locator('#view-overview').isHidden(), 'the overview shows without a token');
  await shot('login.png');

  begin('a wrong token is refused with a message');
  await page.fill('#token', 'not-a-token-0123456789abcdef');
  await page.click('#login-submit');
  await page.locator('#login-error').waitFor({ state: 'visible', timeout: 10000 });
  check(/not accepted/.test(await text('#login-error')), 'login error: ' + (await text('#login-error')));

  begin('the admin token signs in; the overview lists the running channel');
  await page.fill('#token', ADMIN);
  await page.click('#login-submit');
  await page.locator('#view-overview').waitFor({ state: 'visible', timeout: 10000 });
  check(/admin/.test(await text('#who')), 'who: ' + (await text('#who')));
  const row = `#channels-body tr[data-channel="${CHANNEL}"]`;
  await page.locator(row).waitFor({ timeout: 10000 });
  await page.waitForFunction((sel) => document.querySelector(sel + ' .c-state')?.innerText.includes('RUNNING'),
    row, { timeout: 20000 });
  const badgeColor = await page.locator(row + ' .c-state .badge').evaluate((el) => getComputedStyle(el).color);
  check(badgeColor === 'rgb(22, 163, 74)', 'RUNNING badge colour is ' + badgeColor + ' (want green)');

  begin('delay and counters are shown and change while the writer runs');
  await page.waitForFunction((sel) => /\d/.test(document.querySelector(sel + ' .c-delay')?.innerText || ''),
    row, { timeout: 20000 });
  check(/^\d+(\.\d)? s$|^\d+m \d+s$/.test(await text(row + ' .c-delay')), 'delay cell: ' + (await text(row + ' .c-delay')));
  const ins1 = num(await text(row + ' .c-ins'));
  const upd1 = num(await text(row + ' .c-upd'));
  await page.waitForFunction(([sel, v]) => {
    const t = document.querySelector(sel + ' .c-ins')?.innerText || '';
    return Number(t.replace(/[^0-9]/g, '')) > v;
  }, [row, ins1], { timeout: 20000 });
  const ins2 = num(await text(row + ' .c-ins'));
  check(ins2 > ins1, `inserts did not grow: ${ins1} -> ${ins2}`);
  log(`inserts ${ins1} -> ${ins2}, updates ${upd1} -> ${num(await text(row + ' .c-upd'))}, delay ${await text(row + ' .c-delay')}`);
  // the TPS column needs two polls; it must become a number above 0
  await page.waitForFunction((sel) => Number((document.querySelector(sel + ' .c-tps')?.innerText || '').replace(/[^0-9.]/g, '')) > 0,
    row, { timeout: 15000 });
  check(/binlog\.\d+:\d+/.test(await text(row + ' .c-pos')), 'position: ' + (await text(row + ' .c-pos')));
  await shot('overview.png');

  begin('the channel page shows the pipeline, its position and growing counters');
  await page.click(row + ' a');
  await page.locator('#view-channel').waitFor({ state: 'visible', timeout: 10000 });
  check(decodeURIComponent(new globalThis.URL(page.url()).hash) === '#/channel/' + CHANNEL, 'url: ' + page.url());
  await page.waitForFunction(() => document.querySelector('#ch-state')?.innerText === 'RUNNING', null, { timeout: 10000 });
  const card = '#pipelines .pipeline';
  await page.locator(card).first().waitFor({ timeout: 10000 });
  check(/binlog\.\d+:\d+/.test(await text(card + ' [data-field=position]')), 'pipeline position');
  const pIns = num(await text(card + ' [data-field=insert] .v'));
  await page.waitForFunction(([sel, v]) => Number((document.querySelector(sel)?.innerText || '').replace(/[^0-9]/g, '')) > v,
    [card + ' [data-field=insert] .v', pIns], { timeout: 20000 });
  check(!(await page.locator('#btn-stop').isDisabled()), 'Stop is disabled for an admin');

  begin('the history charts draw lines from the stored samples');
  // samples are taken every 5 s and the page reloads them every 10 s
  // (rows/s needs two samples with a rate before its line has a segment)
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-chart=chart-applied] path.line');
    const r = document.querySelector('[data-chart=chart-rows] path.line');
    return p && (p.getAttribute('d').match(/L/g) || []).length >= 1 && r;
  }, null, { timeout: 60000 });
  for (const c of ['chart-delay', 'chart-rows', 'chart-tps', 'chart-applied']) {
    check(await page.locator(`[data-chart=${c}] svg`).count() === 1, `chart ${c} missing`);
  }
  check(await page.locator('[data-chart=chart-rows] path.line').count() === 1, 'rows/s chart has no line');
  await shot('channel.png');

  begin('the consistency-check card names the table that differs');
  // the scheduled check (every 5 s) compares shop.prices, broken on the target on purpose
  await page.waitForFunction(() => /differs/.test(document.querySelector('#ch-checks [data-check="shop.prices"]')?.innerText || ''),
    null, { timeout: 45000 });
  const chk = await text('#ch-checks [data-check="shop.prices"]');
  check(/1 different/.test(chk) && /"id":2|2/.test(chk), 'check card: ' + chk);
  log('check card: ' + chk);

  begin('Stop asks for confirmation; Cancel does nothing');
  await page.click('#btn-stop');
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: 5000 });
  check(/Stop channel/.test(await text('#confirm-title')), 'confirm title: ' + (await text('#confirm-title')));
  await page.click('#confirm-cancel');
  await page.locator('#confirm').waitFor({ state: 'hidden', timeout: 5000 });
  await page.waitForTimeout(2500);
  check((await text('#ch-state')) === 'RUNNING', 'cancelled stop changed the state');

  begin('Stop + confirm: the channel becomes STOPPED and its counters freeze');
  await page.click('#btn-stop');
  await page.click('#confirm-ok');
  // a channel stopped by an operator reads PAUSED when cotter keeps it
  // stopped across restarts; its pipelines read STOPPED either way
  await page.waitForFunction(() => ['STOPPED', 'PAUSED'].includes(document.querySelector('#ch-state')?.innerText),
    null, { timeout: 30000 });
  log('channel state after stop: ' + (await text('#ch-state')));
  await page.waitForFunction(() => !document.querySelector('#btn-start').disabled, null, { timeout: 10000 });
  check(await page.locator('#btn-stop').isDisabled(), 'Stop still enabled on a stopped channel');
  const frozen = num(await text(card + ' [data-field=insert] .v'));
  await page.waitForTimeout(3000);
  check(num(await text(card + ' [data-field=insert] .v')) === frozen, 'inserts grew while stopped');
  check((await text(card + ' [data-field=state]')) === 'STOPPED', 'pipeline badge not STOPPED');
  await shot('stopped.png');

  begin('Start + confirm: the channel is RUNNING again and applies the rows written meanwhile');
  await page.click('#btn-start');
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: 5000 });
  await page.click('#confirm-ok');
  await page.waitForFunction(() => document.querySelector('#ch-state')?.innerText === 'RUNNING', null, { timeout: 30000 });
  await page.waitForFunction(([sel, v]) => {
    const n = Number((document.querySelector(sel)?.innerText || '').replace(/[^0-9]/g, ''));
    return n > 0 && n !== v;
  }, [card + ' [data-field=insert] .v', frozen], { timeout: 30000 });
  check(/start/.test(await text('#ch-sub')), 'last action not shown: ' + (await text('#ch-sub')));

  begin('the token survives a reload (sessionStorage)');
  await page.reload();
  await page.locator('#view-channel').waitFor({ state: 'visible', timeout: 10000 });
  check(await page.locator('#view-login').isHidden(), 'asked for the token again after a reload');

  begin('a read token sees the buttons disabled');
  await page.click('#logout');
  await page.locator('#view-login').waitFor({ state: 'visible', timeout: 5000 });
  await page.fill('#token', READ);
  await page.click('#login-submit');
  await page.locator('#view-channel').waitFor({ state: 'visible', timeout: 10000 });
  await page.waitForFunction(() => document.querySelector('#ch-state')?.innerText === 'RUNNING', null, { timeout: 10000 });
  // the role comes with the session's answer, which may follow the page's first
  // draw on a loaded machine: wait for the read-only note (a timeout fails the step)
  await page.locator('#readonly-note').waitFor({ state: 'visible', timeout: 10000 });
  for (const b of ['#btn-start', '#btn-stop', '#btn-restart']) {
    check(await page.locator(b).isDisabled(), `${b} enabled for a read token`);
  }
  check(await page.locator('#readonly-note').isVisible(), 'no read-only note');
  check(/read-only/.test(await text('#who')), 'who: ' + (await text('#who')));
  await shot('readonly.png');

  begin('no script errors and no CSP violations');
  check(problems.length === 0, problems.join('\n'));
  log('all console steps passed');
  await browser.close();
  process.exit(0);
} catch (e) {
  console.error(`FAIL (step: ${step}): ${e.message}`);
  if (problems.length) console.error('browser problems:\n  ' + problems.join('\n  '));
  try {
    if (page) await page.screenshot({ path: join(OUT, 'failure.png'), fullPage: true });
    console.error('screenshot of the failure: ' + join(OUT, 'failure.png'));
  } catch (e2) {
    /* the page may be gone */
  }
  await browser.close();
  process.exit(1);
}
