/*
 * cotter console: a single page on top of the HTTP API (docs/api.md).
 * Views: sign-in (when manager.tokens are set), the channel overview and a
 * channel page with its pipelines, history charts (own SVG code) and the
 * start/stop/restart buttons. Everything is read through fetch() with the
 * token kept in sessionStorage; the DOM is built with textContent only
 * (no innerHTML), so nothing the server returns can become markup.
 */
'use strict';

(function () {
  const POLL_MS = 2000;
  const FAST_POLL_MS = 500;
  const HISTORY_MS = 10000;
  const TOKEN_KEY = 'cotter.token';
  const PALETTE = ['#0f766e', '#7c3aed', '#ea580c', '#2563eb', '#db2777', '#65a30d'];

  const st = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    session: null, // {user, role, tokens_required}
    view: null,
    channel: null, // name on the channel page
    data: null, // last channel status on the channel page
    rates: {}, // pipeline id -> {t, tx, tps}
    range: 3600,
    history: {}, // pipeline id -> history document
    historyAt: 0,
    timer: 0,
    fast: false,
  };

  // ------------------------------------------------------------ helpers

  const $ = (id) => document.getElementById(id);

  // h(tag, attrs, ...children): an element; strings become text nodes.
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    return el;
  }

  const nf = new Intl.NumberFormat('en-US');
  function fmtInt(v) {
    return v === null || v === undefined ? '—' : nf.format(v);
  }
  function fmtRate(v) {
    if (v === null || v === undefined || !isFinite(v)) return '—';
    if (v >= 100) return nf.format(Math.round(v));
    return v.toFixed(1);
  }
  function fmtDelay(v) {
    if (v === null || v === undefined || !isFinite(v)) return '—';
    if (v < 60) return v.toFixed(v < 10 ? 1 : 0) + ' s';
    const m = Math.floor(v / 60);
    if (m < 60) return m + 'm ' + Math.floor(v % 60) + 's';
    const hr = Math.floor(m / 60);
    return hr + 'h ' + (m % 60) + 'm';
  }
  function delayClass(v) {
    if (v === null || v === undefined) return '';
    return v >= 300 ? 'delay-bad' : v >= 30 ? 'delay-warn' : '';
  }
  function fmtAgo(iso) {
    if (!iso) return '';
    const sec = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (sec < 60) return Math.floor(sec) + ' s ago';
    if (sec < 3600) return Math.floor(sec / 60) + ' min ago';
    if (sec < 86400) return Math.floor(sec / 3600) + ' h ago';
    return Math.floor(sec / 86400) + ' d ago';
  }
  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString();
  }
  function fmtBytes(n) {
    if (!n) return '0 B';
    const u = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  }
  function fmtPos(p) {
    if (!p || !p.file) return '—';
    return p.file + ':' + p.pos;
  }

  function toast(msg, bad) {
    const t = h('div', { class: 'toast' + (bad ? ' bad' : ''), role: 'status' }, msg);
    $('toasts').append(t);
    setTimeout(() => t.remove(), bad ? 8000 : 4500);
  }

  // confirm(title, text, okLabel): the in-page dialog; resolves true on OK.
  function confirmBox(title, text, okLabel) {
    return new Promise((resolve) => {
      const back = $('confirm');
      $('confirm-title').textContent = title;
      $('confirm-text').textContent = text;
      $('confirm-ok').textContent = okLabel;
      back.hidden = false;
      $('confirm-ok').focus();
      const done = (v) => {
        back.hidden = true;
        $('confirm-ok').onclick = $('confirm-cancel').onclick = back.onclick = null;
        document.removeEventListener('keydown', onKey);
        resolve(v);
      };
      const onKey = (e) => {
        if (e.key === 'Escape') done(false);
      };
      document.addEventListener('keydown', onKey);
      $('confirm-ok').onclick = () => done(true);
      $('confirm-cancel').onclick = () => done(false);
      back.onclick = (e) => { if (e.target === back) done(false); };
    });
  }

  // ---------------------------------------------------------------- API

  class AuthError extends Error {}

  async function api(path, method) {
    // X-Cotter-Request: a header a page of another site cannot send without
    // cotter's consent, so the API knows a POST comes from its own console
    const headers = { Accept: 'application/json', 'X-Cotter-Request': 'console' };
    if (st.token) headers.Authorization = 'Bearer ' + st.token;
    let r;
    try {
      r = await fetch(path, { method: method || 'GET', headers, cache: 'no-store' });
    } catch (e) {
      const err = new Error('cotter does not answer (' + e.message + ')');
      err.offline = true;
      throw err;
    }
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 401) throw new AuthError((body && body.error && body.error.message) || 'unauthorized');
    if (!r.ok) {
      const err = new Error((body && body.error && body.error.message) || 'HTTP ' + r.status);
      err.status = r.status;
      err.code = body && body.error && body.error.code;
      throw err;
    }
    return body;
  }

  // ------------------------------------------------------------ sign in

  function showView(name) {
    for (const v of ['login', 'overview', 'channel', 'missing']) $('view-' + v).hidden = v !== name;
    st.view = name;
  }

  function showLogin(message) {
    stopPolling();
    st.session = null;
    $('who').hidden = true;
    $('logout').hidden = true;
    $('live').hidden = true;
    $('crumbs').replaceChildren();
    showView('login');
    const err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('token').value = '';
    $('token').focus();
  }

  async function signIn(ev) {
    ev.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    $('login-submit').disabled = true;
    st.token = token;
    try {
      const sess = await api('/api/session');
      sessionStorage.setItem(TOKEN_KEY, token);
      startApp(sess);
    } catch (e) {
      st.token = '';
      showLogin(e instanceof AuthError ? 'This token is not accepted: it is not one of manager.tokens.'
        : 'Cannot sign in: ' + e.message);
    } finally {
      $('login-submit').disabled = false;
    }
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    st.token = '';
    showLogin('');
  }

  function startApp(sess) {
    st.session = sess;
    const who = $('who');
    who.replaceChildren();
    if (sess.tokens_required) {
      who.append(h('b', {}, sess.user), ' · ' + (sess.role === 'admin' ? 'admin' : 'read-only'));
      $('logout').hidden = false;
    } else {
      who.append('no tokens configured (loopback)');
      $('logout').hidden = true;
    }
    who.hidden = false;
    $('live').hidden = false;
    route();
  }

  // ------------------------------------------------------------- routing

  function route() {
    if (!st.session) return;
    const m = location.hash.match(/^#\/channel\/(.+)$/);
    st.history = {};
    st.historyAt = 0;
    st.data = null;
    if (m) {
      st.channel = decodeURIComponent(m[1]);
      showView('channel');
      $('ch-name').textContent = st.channel;
      $('pipelines').replaceChildren();
      $('charts').replaceChildren();
      crumbs([['Channels', '#/'], [st.channel, null]]);
    } else {
      st.channel = null;
      showView('overview');
      crumbs([['Channels', null]]);
    }
    poll();
  }

  function crumbs(items) {
    const c = $('crumbs');
    c.replaceChildren();
    items.forEach(([label, href], i) => {
      if (i) c.append(h('span', { class: 'sep' }, '/'));
      c.append(href ? h('a', { href }, label) : h('span', {}, label));
    });
  }

  // ------------------------------------------------------------- polling

  function stopPolling() {
    clearTimeout(st.timer);
    st.timer = 0;
  }

  async function poll() {
    stopPolling();
    const view = st.view;
    try {
      if (view === 'overview') await pollOverview();
      else if (view === 'channel') await pollChannel();
      setLive(true);
    } catch (e) {
      if (e instanceof AuthError) {
        sessionStorage.removeItem(TOKEN_KEY);
        st.token = '';
        showLogin('Your token is no longer accepted; sign in again.');
        return;
      }
      if (e.status === 404 && view === 'channel') {
        showView('missing');
        $('missing-text').textContent = 'There is no channel named "' + st.channel + '" in this cotter.';
      }
      setLive(false, e.message);
    }
    if (st.view === view || st.view === 'missing') {
      st.timer = setTimeout(poll, st.fast ? FAST_POLL_MS : POLL_MS);
    }
  }

  function setLive(ok, why) {
    $('live').classList.toggle('stale', !ok);
    $('live-text').textContent = ok ? 'live' : 'offline';
    $('live').title = ok ? 'Refreshes every 2 seconds' : 'Last refresh failed: ' + (why || '');
  }

  // rate updates the transactions-per-second estimate of pipeline p from
  // the change of its counter since the previous poll.
  function rate(p) {
    const now = Date.now() / 1000;
    const tx = p.applied ? p.applied.transactions : 0;
    const prev = st.rates[p.id];
    let tps = prev ? prev.tps : null;
    if (p.state !== 'RUNNING') tps = p.state === 'STOPPED' ? 0 : null;
    else if (prev && now - prev.t >= 1) {
      const d = tx - prev.tx;
      tps = d >= 0 ? d / (now - prev.t) : null;
    }
    if (!prev || now - prev.t >= 1) st.rates[p.id] = { t: now, tx, tps };
    return tps;
  }

  // ------------------------------------------------------------ overview

  async function pollOverview() {
    const [chs, pls] = await Promise.all([api('/api/channels'), api('/api/pipeline/status')]);
    if (st.view !== 'overview') return;
    const byId = {};
    for (const p of pls.pipelines) { p.tps = rate(p); byId[p.id] = p; }
    renderOverview(chs.channels, byId);
    await loadAlarms($('alarms-card'), $('alarms'), null);
  }

  function sum(list, f) {
    let n = 0;
    for (const x of list) n += f(x) || 0;
    return n;
  }

  function renderOverview(channels, byId) {
    const counts = { RUNNING: 0, STOPPED: 0, ERROR: 0 };
    let rps = 0, maxDelay = null;
    const rows = channels.map((c) => {
      counts[c.state] = (counts[c.state] || 0) + 1;
      const ps = c.pipelines.map((x) => byId[x.id]).filter(Boolean);
      const delays = ps.map((p) => p.delay_s).filter((d) => d !== null && d !== undefined);
      const delay = delays.length ? Math.max(...delays) : null;
      const r = sum(ps, (p) => p.rows_per_s);
      const tpsKnown = ps.some((p) => p.tps !== null && p.tps !== undefined);
      const tps = tpsKnown ? sum(ps, (p) => p.tps) : null;
      rps += r;
      if (delay !== null) maxDelay = maxDelay === null ? delay : Math.max(maxDelay, delay);
      const href = '#/channel/' + encodeURIComponent(c.name);
      const tr = h('tr', { class: 'link', 'data-channel': c.name, onclick: () => { location.hash = href; } },
        h('td', { class: 'name' }, h('a', { href }, c.name),
          h('span', { class: 'sub' }, ps.length === 1 ? 'pipeline ' + ps[0].name : ps.length + ' pipelines')),
        h('td', { class: 'c-state' }, h('span', { class: 'badge s-' + c.state }, c.state),
          c.action_in_progress ? h('span', { class: 'busy' }, c.action_in_progress + '…') : null,
          ps.some((p) => p.snapshot && p.snapshot.active) ? h('span', { class: 'busy' }, 'initial load') : null),
        h('td', { class: 'num c-delay ' + delayClass(delay) }, fmtDelay(delay)),
        h('td', { class: 'num c-rps' }, fmtRate(r)),
        h('td', { class: 'num c-tps' }, fmtRate(tps)),
        h('td', { class: 'num c-ins' }, fmtInt(sum(ps, (p) => p.applied.insert))),
        h('td', { class: 'num c-upd' }, fmtInt(sum(ps, (p) => p.applied.update))),
        h('td', { class: 'num c-del' }, fmtInt(sum(ps, (p) => p.applied.delete))),
        h('td', { class: 'mono c-pos' }, ps.length === 1 ? fmtPos(ps[0].position) : ps.length + ' positions'));
      return tr;
    });
    $('channels-body').replaceChildren(...rows);
    $('channels-empty').hidden = channels.length > 0;
    $('overview-sub').textContent = channels.length + ' channel' + (channels.length === 1 ? '' : 's') +
      ', ' + Object.keys(byId).length + ' pipeline' + (Object.keys(byId).length === 1 ? '' : 's');
    const tile = (k, v, cls, unit) => h('div', { class: 'tile ' + (cls || '') },
      h('div', { class: 'k' }, k), h('div', { class: 'v' }, v, unit ? h('small', {}, unit) : null));
    $('tiles').replaceChildren(
      tile('Running', String(counts.RUNNING || 0), counts.RUNNING ? 't-run' : ''),
      tile('Stopped', String((counts.STOPPED || 0) + (counts.PAUSED || 0))),
      tile('Errors', String(counts.ERROR || 0), counts.ERROR ? 't-err' : ''),
      tile('Rows / s', fmtRate(rps)),
      tile('Worst delay', fmtDelay(maxDelay), maxDelay !== null && maxDelay >= 30 ? 't-err' : ''));
  }

  // ------------------------------------------------- alarms and log lines
  // GET /api/alarms and GET /api/logs belong to the alarms/logs module; when
  // one answers 404 (an older cotter) its panel stays hidden.

  const optional = {}; // path -> {absent, at}

  async function optionalGet(path, key) {
    const o = optional[key] || (optional[key] = { absent: false, at: 0 });
    if (o.absent || Date.now() - o.at < 10000) return undefined;
    o.at = Date.now();
    try {
      return await api(path);
    } catch (e) {
      if (e instanceof AuthError) throw e;
      if (e.status === 404 && e.code === 'not_found') o.absent = true;
      return null;
    }
  }

  function sevClass(sev, state) {
    if (state === 'resolved') return 's-RUNNING';
    return sev === 'critical' ? 's-ERROR' : 's-CONNECTING';
  }

  async function loadAlarms(card, box, channel) {
    const body = await optionalGet('/api/alarms?limit=20' +
      (channel ? '&channel=' + encodeURIComponent(channel) : ''), 'alarms:' + (channel || ''));
    if (body === undefined) return;
    if (!body) { card.hidden = true; return; }
    const firing = body.firing || [];
    const hist = (body.history || []).slice().reverse();
    card.hidden = false;
    const rows = [];
    for (const a of firing) {
      rows.push(h('div', { class: 'alarm firing', 'data-alarm': a.rule },
        h('time', {}, 'since ' + fmtTime(a.since)),
        h('span', { class: 'badge ' + sevClass(a.severity) }, 'FIRING · ' + (a.severity || '')),
        h('span', {}, (a.pipeline ? a.pipeline + ': ' : '') + (a.message || a.rule))));
    }
    for (const a of hist) {
      rows.push(h('div', { class: 'alarm' },
        h('time', {}, fmtTime(a.ts)),
        h('span', { class: 'badge ' + sevClass(a.severity, a.state) }, String(a.state || a.severity || '')),
        h('span', {}, (a.pipeline ? a.pipeline + ': ' : '') + (a.message || a.rule))));
    }
    box.replaceChildren(...(rows.length ? rows : [h('p', { class: 'muted' }, 'No alarms.')]));
  }

  // GET /api/checks: the latest result per table of the scheduled checks
  // (check.schedule) of this channel's pipelines; hidden when there are none.
  async function loadChecks(card, box, c) {
    const body = await optionalGet('/api/checks', 'checks');
    if (body === undefined) return;
    const names = new Set(c.pipelines.map((p) => p.name));
    const tables = body ? (body.tables || []).filter((t) => names.has(t.pipeline)) : [];
    if (!tables.length) { card.hidden = true; return; }
    card.hidden = false;
    box.replaceChildren(...tables.map((t) => {
      const bad = t.status !== 'identical';
      const keys = (t.diffs || []).slice(0, 5).map((d) => JSON.stringify(d.key || d)).join(' ');
      return h('div', { class: 'alarm' + (bad ? ' firing' : ''), 'data-check': t.source },
        h('time', {}, fmtTime(t.checked_at)),
        h('span', { class: 'badge ' + (t.status === 'identical' ? 's-RUNNING' : 's-ERROR') }, t.status),
        h('span', {}, t.source + ' \u2192 ' + t.target + ': ' + fmtInt(t.rows) + ' rows' +
          (bad ? ', ' + t.missing + ' missing, ' + t.extra + ' extra, ' + t.different + ' different' +
            (keys ? ' (' + keys + ')' : '') + (t.error ? ' \u2014 ' + t.error : '') : '')));
    }));
  }

  async function loadLogs(card, box, channel) {
    const body = await optionalGet('/api/logs?level=warn&lines=15&channel=' + encodeURIComponent(channel),
      'logs:' + channel);
    if (body === undefined) return;
    if (!body) { card.hidden = true; return; }
    const lines = (body.lines || []).slice().reverse();
    card.hidden = false;
    box.replaceChildren(...(lines.length ? lines.map((l) => h('div', { class: 'logline' },
      h('time', {}, fmtTime(l.ts)),
      h('span', { class: 'badge ' + (l.level === 'ERROR' ? 's-ERROR' : 's-CONNECTING') }, l.level),
      h('span', { class: 'mono' }, '[' + l.tag + '] ' + l.msg)))
      : [h('p', { class: 'muted' }, 'No errors or warnings since cotter started.')]));
  }

  // ------------------------------------------------------------ channel

  async function pollChannel() {
    const name = st.channel;
    const c = await api('/api/channel/' + encodeURIComponent(name) + '/status');
    if (st.view !== 'channel' || st.channel !== name) return;
    for (const p of c.pipelines) p.tps = rate(p);
    st.data = c;
    if (st.fast && c.pending_actions === 0) {
      st.fast = false;
      if (c.last_action) toast(c.last_action.action + ' of ' + c.name + ' finished: ' + c.last_action.result);
    }
    renderChannel(c);
    if (Date.now() - st.historyAt >= HISTORY_MS) loadHistory(c);
    await loadAlarms($('ch-alarms-card'), $('ch-alarms'), c.name);
    await loadChecks($('ch-checks-card'), $('ch-checks'), c);
    await loadLogs($('ch-logs-card'), $('ch-logs'), c.name);
  }

  function kpi(k, v, cls, extra) {
    return h('div', Object.assign({ class: 'kpi' }, extra || {}),
      h('div', { class: 'k' }, k), h('div', { class: 'v ' + (cls || '') }, v));
  }

  function renderChannel(c) {
    const badge = $('ch-state');
    badge.className = 'badge s-' + c.state;
    badge.textContent = c.state;
    const sub = [c.pipelines.length + (c.pipelines.length === 1 ? ' pipeline' : ' pipelines')];
    if (c.paused) sub.push('stopped by ' + c.paused.by + ', ' + fmtAgo(c.paused.at) + '; stays stopped until started');
    if (c.action_in_progress) sub.push(c.action_in_progress + ' in progress');
    else if (c.pending_actions) sub.push(c.pending_actions + ' action(s) queued');
    if (c.last_action && !(c.paused && c.last_action.action === 'stop')) {
      sub.push('last action: ' + c.last_action.action + ' by ' + c.last_action.by + ', ' +
        fmtAgo(c.last_action.finished_at));
    }
    $('ch-sub').textContent = sub.join(' · ');

    const admin = st.session && st.session.role === 'admin';
    const busy = c.pending_actions > 0;
    $('btn-start').disabled = !admin || busy || c.state === 'RUNNING';
    $('btn-stop').disabled = !admin || busy || c.state === 'STOPPED' || c.state === 'PAUSED';
    $('btn-restart').disabled = !admin || busy;
    for (const b of $('ch-actions').querySelectorAll('button')) {
      b.title = admin ? '' : 'Needs an admin token';
    }
    $('readonly-note').hidden = admin;

    $('pipelines').replaceChildren(...c.pipelines.map(pipelineCard));
  }

  function pipelineCard(p) {
    const a = p.applied || {};
    const card = h('div', { class: 'card pipeline', 'data-pipeline': p.name },
      h('div', { class: 'pipeline-top' },
        h('h2', {}, p.name, h('span', { class: 'badge s-' + p.state, 'data-field': 'state' }, p.state)),
        h('span', { class: 'route' }, 'pipeline #' + p.id + ' · started ' + (p.started_at ? fmtAgo(p.started_at) : '—'))),
      h('div', { class: 'kpis' },
        kpi('Delay', fmtDelay(p.delay_s), delayClass(p.delay_s), { 'data-field': 'delay' }),
        kpi('Rows / s', fmtRate(p.rows_per_s), '', { 'data-field': 'rps' }),
        kpi('TPS', fmtRate(p.tps), '', { 'data-field': 'tps' }),
        kpi('Inserts', fmtInt(a.insert), '', { 'data-field': 'insert' }),
        kpi('Updates', fmtInt(a.update), '', { 'data-field': 'update' }),
        kpi('Deletes', fmtInt(a.delete), '', { 'data-field': 'delete' }),
        kpi('Transactions', fmtInt(a.transactions), '', { 'data-field': 'transactions' }),
        kpi('Queue', fmtInt(p.queue ? p.queue.rows : null) + ' rows', '', { 'data-field': 'queue' })),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Position'), h('dd', { class: 'mono', 'data-field': 'position' }, fmtPos(p.position)),
        h('dt', {}, 'GTID'), h('dd', { class: 'mono' }, (p.position && p.position.gtid) || '—'),
        h('dt', {}, 'Source time'), h('dd', {}, p.source_ts ? new Date(p.source_ts * 1000).toLocaleString() : '—'),
        h('dt', {}, 'Last applied'), h('dd', { 'data-field': 'applied-at' }, p.last_applied_at ? fmtTime(p.last_applied_at) : '—'),
        h('dt', {}, 'Batches'), h('dd', {}, fmtInt(a.batches)),
        h('dt', {}, 'Queue bytes'), h('dd', {}, p.queue ? fmtBytes(p.queue.bytes) : '—')));
    const snap = snapshotBox(p.snapshot);
    if (snap) card.append(snap);
    const tables = tablesBox(p.tables);
    if (tables) card.append(tables);
    if (p.last_error) {
      // recovered: streaming again, and either a batch was committed after
      // the error or nothing is left to apply (a stuck pipeline stays red)
      const errAt = Date.parse(p.last_error.at);
      const old = p.state === 'RUNNING' && p.last_error.at &&
        ((p.last_applied_at && Date.parse(p.last_applied_at) > errAt) ||
         (p.behind === false && Date.now() - errAt > 5000));
      card.append(h('div', { class: 'error-box' + (old ? ' old' : ''), 'data-field': 'last-error' },
        h('div', { class: 'when' }, (old ? 'Last error (recovered since) · ' : 'Last error · ') +
          fmtTime(p.last_error.at) + ' (' + fmtAgo(p.last_error.at) + ')'),
        h('div', { class: 'mono' }, p.last_error.message)));
    }
    return card;
  }

  // tablesBox lists per-table applied rows when the pipeline status has a
  // "tables" array ([{table, insert, update, delete}], not served yet by
  // this cotter: the pipeline counts per pipeline only); null otherwise.
  function tablesBox(list) {
    if (!Array.isArray(list) || !list.length) return null;
    const rows = list.slice().sort((a, b) =>
      (b.insert + b.update + b.delete || 0) - (a.insert + a.update + a.delete || 0)).slice(0, 50);
    return h('div', { class: 'tables', 'data-field': 'tables' },
      h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Table'), h('th', { class: 'num' }, 'Inserts'),
          h('th', { class: 'num' }, 'Updates'), h('th', { class: 'num' }, 'Deletes'))),
        h('tbody', {}, rows.map((t) => h('tr', {},
          h('td', { class: 'mono' }, String(t.table || t.name || '?')),
          h('td', { class: 'num' }, fmtInt(t.insert)), h('td', { class: 'num' }, fmtInt(t.update)),
          h('td', { class: 'num' }, fmtInt(t.delete)))))));
  }

  // snapshotBox shows the initial load (the "snapshot" object of the
  // pipeline status: active, tables, tables_done, rows, rows_total,
  // rows_per_s, eta_s, table) while it runs, and a one-line summary after.
  // Returns null when this run copied nothing; unknown shapes are tolerated.
  function snapshotBox(sn) {
    if (!sn || typeof sn !== 'object' || (!sn.active && !sn.tables)) return null;
    const box = h('div', { class: 'snapshot', 'data-field': 'snapshot' });
    if (!sn.active) {
      box.append(h('p', { class: 'muted small' }, 'Initial load done: ' + fmtInt(sn.tables_done) + ' of ' +
        fmtInt(sn.tables) + ' tables, ' + fmtInt(sn.rows) + ' rows.'));
      return box;
    }
    // rows_total is an estimate (information_schema): never show 100% early
    let pct = null;
    if (sn.rows_total > 0) pct = Math.min(99, (100 * sn.rows) / sn.rows_total);
    else if (sn.tables > 0) pct = (100 * sn.tables_done) / sn.tables;
    const bar = h('span');
    bar.style.width = (pct || 0).toFixed(1) + '%';
    box.append(h('h2', {}, 'Initial load ' + (pct !== null ? pct.toFixed(0) + '%' : 'running')),
      h('div', { class: 'progress' }, bar),
      h('p', { class: 'muted small' }, [
        'tables ' + fmtInt(sn.tables_done) + ' / ' + fmtInt(sn.tables),
        'rows ' + fmtInt(sn.rows) + (sn.rows_total ? ' / ~' + fmtInt(sn.rows_total) : ''),
        fmtRate(sn.rows_per_s) + ' rows/s',
        sn.eta_s !== null && sn.eta_s !== undefined ? 'about ' + fmtDelay(sn.eta_s) + ' left' : null,
        sn.table ? 'copying ' + sn.table : null,
      ].filter(Boolean).join(' · ')));
    return box;
  }

  async function channelAction(act) {
    const c = st.data;
    if (!c) return;
    const words = {
      start: ['Start channel ' + c.name + '?', 'Its stopped pipelines resume from the position stored on the target.', 'Start'],
      stop: ['Stop channel ' + c.name + '?', 'Each pipeline finishes the transaction in flight, commits and stops. Changes on the source wait until the channel is started again.', 'Stop channel'],
      restart: ['Restart channel ' + c.name + '?', 'Its pipelines stop (committing what they have) and start again from the target\'s position.', 'Restart'],
    }[act];
    if (!(await confirmBox(words[0], words[1], words[2]))) return;
    try {
      await api('/api/channel/' + encodeURIComponent(c.name) + '/' + act, 'POST');
      toast(act + ' of ' + c.name + ' accepted');
      st.fast = true;
      poll();
    } catch (e) {
      if (e instanceof AuthError) { showLogin('Your token is no longer accepted; sign in again.'); return; }
      toast('Cannot ' + act + ' ' + c.name + ': ' + e.message, true);
    }
  }

  // ------------------------------------------------------------- charts

  async function loadHistory(c) {
    st.historyAt = Date.now();
    const range = st.range;
    const points = 360;
    const docs = await Promise.all(c.pipelines.map((p) =>
      api('/api/pipeline/history?id=' + p.id + '&since=' + range + '&points=' + points).catch((e) => ({ error: e.message }))));
    if (st.view !== 'channel' || st.channel !== c.name) return;
    st.history = {};
    c.pipelines.forEach((p, i) => { st.history[p.id] = docs[i]; });
    drawCharts();
  }

  function drawCharts() {
    const c = st.data;
    const box = $('charts');
    if (!c) return;
    const now = Date.now() / 1000;
    // show the whole range, or from the first sample when there is less
    // history than that (at least 5 minutes), so a young channel is readable
    let first = now;
    for (const p of c.pipelines) {
      const doc = st.history[p.id];
      if (doc && doc.samples && doc.samples.length) first = Math.min(first, doc.samples[0].t);
    }
    const t0 = Math.max(now - st.range, Math.min(first - 10, now - 300));
    const series = (f) => c.pipelines.map((p, i) => {
      const doc = st.history[p.id];
      const samples = doc && doc.samples ? doc.samples : [];
      return { name: p.name, color: PALETTE[i % PALETTE.length], step: doc ? doc.step_s : 5, points: f(samples) };
    });
    const failed = c.pipelines.map((p) => st.history[p.id]).find((d) => d && d.error);
    const delay = series((ss) => ss.map((x) => [x.t, x.delay_s]));
    const rows = series((ss) => ss.map((x) => [x.t, x.state === 'RUNNING' || x.rows_per_s > 0 ? x.rows_per_s : null]));
    const tps = series((ss) => ss.map((x, i) => {
      if (!i) return [x.t, null];
      const dt = x.t - ss[i - 1].t;
      const d = x.transactions - ss[i - 1].transactions;
      return [x.t, dt > 0 && d >= 0 ? d / dt : null];
    }));
    const iud = series((ss) => ss.map((x) => [x.t, x.insert + x.update + x.delete]));
    // the drawing is as wide as its column, so text is never stretched
    const cols = box.clientWidth >= 2 * 420 + 18 ? 2 : 1;
    const W = Math.max(320, Math.round((box.clientWidth - (cols - 1) * 18) / cols));
    const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
    const tick = (unit) => (v) => (v >= 10000 ? compact.format(v) : v >= 1000 ? nf.format(Math.round(v)) : String(+v.toPrecision(3))) + unit;
    const delayTick = (v) => (v >= 120 ? fmtDelay(v) : tick(' s')(v));
    box.replaceChildren(
      chart('Delay', delay, t0, now, fmtDelay, delayTick, 'chart-delay', W),
      chart('Rows / s', rows, t0, now, fmtRate, tick(''), 'chart-rows', W),
      chart('Transactions / s', tps, t0, now, fmtRate, tick(''), 'chart-tps', W),
      chart('Rows applied since start (I+U+D)', iud, t0, now, fmtInt, tick(''), 'chart-applied', W));
    if (failed) box.append(h('p', { class: 'muted' }, 'History unavailable: ' + failed.error));
  }

  // niceScale returns {max, step} for an axis from 0 to at least v with at
  // most 4 steps of 1, 2, 2.5 or 5 times a power of ten.
  function niceScale(v) {
    if (!(v > 0)) return { max: 1, step: 0.25 };
    const raw = v / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = 10 * p;
    for (const m of [1, 2, 2.5, 5]) if (m * p >= raw) { step = m * p; break; }
    return { max: step * Math.ceil(v / step - 1e-9), step };
  }

  function clock(t, withSec) {
    const d = new Date(t * 1000);
    const pad = (n) => String(n).padStart(2, '0');
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + (withSec ? ':' + pad(d.getSeconds()) : '');
  }

  // chart draws one SVG line chart: series [{name, color, step, points:
  // [[t, v|null]]}] over [t0, t1]; a null or a gap of more than 3 steps
  // breaks the line. Hovering shows the values at the nearest sample.
  function chart(title, series, t0, t1, fmt, axisFmt, testId, W) {
    const H = 190, L = 56, R = 10, T = 10, B = 22;
    const wrap = h('div', { class: 'chart', 'data-chart': testId });
    const last = series.map((sr) => { for (let i = sr.points.length - 1; i >= 0; i--) if (sr.points[i][1] !== null) return sr.points[i][1]; return null; });
    const nowText = series.length === 1 ? fmt(last[0]) : '';
    wrap.append(h('h3', {}, title, h('span', { class: 'now' }, nowText)));
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
    let vmax = 0, n = 0;
    for (const sr of series) for (const [, v] of sr.points) if (v !== null) { vmax = Math.max(vmax, v); n++; }
    const scale = niceScale(vmax);
    const ymax = scale.max;
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - v / ymax) * (H - T - B);
    const axis = s('g', { class: 'axis' });
    for (let v = 0; v <= ymax + scale.step / 2; v += scale.step) {
      axis.append(s('line', { class: 'gridline', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      const lbl = s('text', { x: L - 6, y: y(v) + 3.5, 'text-anchor': 'end' });
      lbl.textContent = axisFmt(v);
      axis.append(lbl);
    }
    for (let i = 0; i <= 4; i++) {
      const t = t0 + ((t1 - t0) * i) / 4;
      const lbl = s('text', { x: x(t), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' });
      lbl.textContent = clock(t, t1 - t0 <= 1800);
      axis.append(lbl);
    }
    svg.append(axis);
    if (!n) {
      const t = s('text', { class: 'nodata', x: (L + W - R) / 2, y: H / 2, 'text-anchor': 'middle' });
      t.textContent = 'No samples in this range yet (one every 5 s)';
      svg.append(t);
    }
    series.forEach((sr) => {
      // split into runs of samples without a null or a gap of over 3 steps
      const gap = Math.max(3 * (sr.step || 5), 20);
      const runs = [];
      let run = null, prevT = null;
      for (const [t, v] of sr.points) {
        if (v === null || t < t0) { run = null; continue; }
        if (!run || t - prevT > gap) runs.push((run = []));
        run.push([x(t).toFixed(1), y(v).toFixed(1)]);
        prevT = t;
      }
      let d = '', area = '';
      for (const r of runs) {
        if (r.length === 1) { // a lone sample: a dot, as a line needs two
          svg.append(s('circle', { class: 'dot', cx: r[0][0], cy: r[0][1], r: 2.5, fill: sr.color }));
          continue;
        }
        const path = r.map(([px, py], i) => (i ? 'L' : 'M') + px + ',' + py).join('');
        d += path;
        area += path + `L${r[r.length - 1][0]},${y(0)}L${r[0][0]},${y(0)}Z`;
      }
      if (series.length === 1 && area) svg.append(s('path', { d: area, fill: sr.color, 'fill-opacity': 0.1, stroke: 'none' }));
      if (d) svg.append(s('path', { class: 'line', d, fill: 'none', stroke: sr.color, 'stroke-width': 1.8, 'stroke-linejoin': 'round' }));
    });
    // hover: a vertical guide and a tooltip with each series' value
    const guide = s('line', { x1: 0, x2: 0, y1: T, y2: H - B, stroke: '#94a3b8', 'stroke-dasharray': '3 3', visibility: 'hidden', 'vector-effect': 'non-scaling-stroke' });
    svg.append(guide);
    const hit = s('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'transparent' });
    svg.append(hit);
    const tip = h('div', { class: 'tip', hidden: true });
    hit.addEventListener('mousemove', (ev) => {
      const box = svg.getBoundingClientRect();
      const vx = ((ev.clientX - box.left) / box.width) * W;
      const t = t0 + ((vx - L) / (W - L - R)) * (t1 - t0);
      const parts = [];
      let best = null;
      for (const sr of series) {
        let near = null;
        for (const pt of sr.points) if (pt[1] !== null && (near === null || Math.abs(pt[0] - t) < Math.abs(near[0] - t))) near = pt;
        if (near && Math.abs(near[0] - t) <= Math.max(3 * (sr.step || 5), (t1 - t0) / 100)) {
          parts.push((series.length > 1 ? sr.name + ': ' : '') + fmt(near[1]));
          best = near;
        }
      }
      if (!best) { tip.hidden = true; guide.setAttribute('visibility', 'hidden'); return; }
      guide.setAttribute('x1', x(best[0]));
      guide.setAttribute('x2', x(best[0]));
      guide.setAttribute('visibility', 'visible');
      tip.textContent = clock(best[0], true) + ' · ' + parts.join(' · ');
      tip.hidden = false;
      tip.style.left = ((x(best[0]) / W) * box.width) + 'px';
      tip.style.top = '34px';
    });
    hit.addEventListener('mouseleave', () => { tip.hidden = true; guide.setAttribute('visibility', 'hidden'); });
    wrap.append(svg, tip);
    if (series.length > 1) {
      wrap.append(h('div', { class: 'legend' }, ...series.map((sr) => {
        const sw = h('i');
        sw.style.background = sr.color; // CSSOM, allowed by the CSP (no style attribute)
        return h('span', {}, sw, sr.name);
      })));
    }
    return wrap;
  }

  // ------------------------------------------------------------- startup

  async function boot() {
    $('login-form').addEventListener('submit', signIn);
    $('logout').addEventListener('click', signOut);
    for (const b of $('ch-actions').querySelectorAll('button')) {
      b.addEventListener('click', () => channelAction(b.dataset.action));
    }
    for (const b of $('range').querySelectorAll('button')) {
      b.addEventListener('click', () => {
        st.range = Number(b.dataset.range);
        for (const o of $('range').querySelectorAll('button')) o.classList.toggle('on', o === b);
        if (st.data) loadHistory(st.data);
      });
    }
    window.addEventListener('hashchange', route);
    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { if (st.view === 'channel') drawCharts(); }, 150);
    });
    try {
      startApp(await api('/api/session'));
    } catch (e) {
      if (e instanceof AuthError) {
        const had = !!st.token;
        sessionStorage.removeItem(TOKEN_KEY);
        st.token = '';
        showLogin(had ? 'Your token is no longer accepted; sign in again.' : '');
      } else {
        showLogin('Cannot reach cotter: ' + e.message);
      }
    }
  }

  boot();
})();
