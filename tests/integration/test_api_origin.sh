#!/usr/bin/env bash
# The tokenless API refuses web pages of other sites (issue 17). A live
# `cotter run` without manager.tokens (the loopback default), one channel c1
# streaming between two real MariaDB servers:
#   1. curl: a POST without X-Cotter-Request, a foreign Origin, a foreign
#      Host (DNS rebinding) and Sec-Fetch-Site: cross-site are refused (403);
#   2. a real browser (Debian's chromium, tests/e2e/cross_origin.mjs): a page
#      served by a second HTTP server on another loopback port tries to stop
#      the channel (fetch no-cors, text/plain, a cors POST with the header,
#      form POSTs) and to start a snapshot whose where= would reach the
#      source; a page under a rebound name reads /api/logs and posts a stop.
#      The channel stays RUNNING, every attempt is a 403 in cotter's log and
#      audit log (the snapshot's table and filter recorded), and the console
#      (same origin, no token) still stops and starts it;
#   3. the CLI (`cotter channel stop|start`) still works, and the target
#      equals the source afterwards.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

E2E="$COTTER_ROOT/tests/e2e"
: "${CHROMIUM:=/usr/bin/chromium}"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
command -v node >/dev/null || fail "node is needed (scripts/install-deps.sh installs nodejs)"
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM (scripts/install-deps.sh installs it)"
[ -d "$E2E/node_modules/playwright-core" ] ||
  fail "playwright-core is not installed in $E2E (scripts/install-deps.sh runs npm ci there)"

COTTER_MANAGER_PORT=$(cotter__manager_port) || fail "no free port"
BASE="http://127.0.0.1:$COTTER_MANAGER_PORT"
AUDIT="$COTTER_DATA/logs/audit.log"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
for s in src dst; do
  mdb "$s" -e "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20))" ||
    fail "schema on $s"
done
cotter_config src dst "shop.*"
cotter_start
cotter_wait_streaming 60
mdb src -e "INSERT INTO shop.t VALUES (1, 'a'), (2, 'b')" || fail "insert"
wait_synced src dst shop 30 || fail "first rows not synced"

# req METHOD PATH [curl args...]: sets CODE; the body is in $HARNESS_DIR/body
req() {
  local method=$1 path=$2; shift 2
  rm -f "$HARNESS_DIR/body"
  CODE=$(curl -s -o "$HARNESS_DIR/body" -w '%{http_code}' --max-time 10 -X "$method" "$@" \
    "$BASE$path") || CODE="curl-failed"
}
ecode() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' \
  "$HARNESS_DIR/body" 2>/dev/null || head -c 200 "$HARNESS_DIR/body"; }
refused() { # refused CODE WHAT
  [ "$CODE" = 403 ] || fail "$2: expected HTTP 403, got $CODE: $(head -c 300 "$HARNESS_DIR/body")"
  assert_eq "$1" "$(ecode)" "$2"
}
state() {
  req GET "/api/channel/c1/status"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$HARNESS_DIR/body" \
    2>/dev/null || echo "?$CODE"
}

section "1. refusals, as curl sees them"
req POST /api/channel/c1/stop
refused header_required "a POST without X-Cotter-Request"
grep -q "X-Cotter-Request" "$HARNESS_DIR/body" || fail "the 403 does not say which header: $(cat "$HARNESS_DIR/body")"
req POST /api/channel/c1/stop -H "X-Cotter-Request: 1" -H "Origin: http://127.0.0.1:9"
refused cross_origin "a POST from a page of another origin"
req POST /api/channel/c1/stop -H "X-Cotter-Request: 1" -H "Origin: null"
refused cross_origin "a POST from an opaque origin"
req GET /api/logs -H "Host: evil.test:$COTTER_MANAGER_PORT"
refused host_not_allowed "GET /api/logs under a foreign Host"
req POST /api/channel/c1/stop -H "X-Cotter-Request: 1" -H "Host: evil.test:$COTTER_MANAGER_PORT"
refused host_not_allowed "a POST under a foreign Host"
req GET /api/channels -H "Sec-Fetch-Site: cross-site"
refused cross_origin "Sec-Fetch-Site: cross-site"
req GET /api/channels -H "Sec-Fetch-Site: same-site"
refused cross_origin "Sec-Fetch-Site: same-site (another port of the same host)"
# what is still allowed: plain clients, the console's own requests
for h in "localhost:$COTTER_MANAGER_PORT" "127.0.0.2:$COTTER_MANAGER_PORT" "[::1]:$COTTER_MANAGER_PORT" \
         "LOCALHOST"; do
  req GET /api/channels -H "Host: $h"
  assert_eq 200 "$CODE" "GET under Host $h"
done
for h in "localhost.evil.test:$COTTER_MANAGER_PORT" "10.0.0.1:$COTTER_MANAGER_PORT" \
         "127.0.0.1:80:80" "[::2]:$COTTER_MANAGER_PORT"; do
  req GET /api/channels -H "Host: $h"
  refused host_not_allowed "GET under Host $h"
done
req GET /api/channels -H "Sec-Fetch-Site: same-origin" -H "Origin: $BASE"
assert_eq 200 "$CODE" "a same-origin GET"
req GET /api/logs
assert_eq 200 "$CODE" "GET /api/logs from curl"
assert_eq RUNNING "$(state)" "channel state after the refused requests"
note "curl: header, Origin, Host and Sec-Fetch-Site refusals; plain and same-origin requests answered"

section "2. a hostile page and a rebinding page in chromium; the console"
HOSTILE_DIR="$HARNESS_DIR/hostile"
mkdir -p "$HOSTILE_DIR"
HOSTILE_PORT=$(cotter__manager_port) || fail "no free port"
cat >"$HOSTILE_DIR/hostile.html" <<EOF
<!doctype html>
<title>hostile</title>
<iframe name="sink" id="sink"></iframe>
<form id="f1" method="POST" action="$BASE/api/channel/c1/stop" target="sink"></form>
<form id="f2" method="POST" enctype="text/plain" target="sink"
      action="$BASE/api/pipeline/p1/snapshot?table=shop.t&amp;where=id%20%3E%200%20OR%20SLEEP(5)">
  <input name="x" value="y">
</form>
<script>
window.attack = {};
(async () => {
  const base = '$BASE', a = window.attack;
  const tryit = async (name, f) => { try { a[name] = await f(); } catch (e) { a[name] = 'blocked'; } };
  await tryit('nocors_post', async () => {
    await fetch(base + '/api/channel/c1/stop', { method: 'POST', mode: 'no-cors' }); return 'sent'; });
  await tryit('text_post', async () => {
    await fetch(base + '/api/channel/c1/restart', { method: 'POST', mode: 'no-cors',
      headers: { 'Content-Type': 'text/plain' }, body: 'stop' }); return 'sent'; });
  await tryit('cors_logs', async () => { const r = await fetch(base + '/api/logs'); return 'read ' + r.status; });
  await tryit('cors_post', async () => {
    const r = await fetch(base + '/api/channel/c1/stop', { method: 'POST',
      headers: { 'X-Cotter-Request': '1' } }); return 'sent ' + r.status; });
  for (const id of ['f1', 'f2']) {
    await new Promise((done) => {
      const sink = document.getElementById('sink');
      sink.onload = done;
      setTimeout(done, 5000);
      document.getElementById(id).submit();
    });
  }
  a.forms = 'submitted';
  window.attackDone = true;
})();
</script>
EOF
python3 -m http.server "$HOSTILE_PORT" --bind 127.0.0.1 --directory "$HOSTILE_DIR" \
  >"$HARNESS_DIR/hostile.log" 2>&1 &
harness_track $!
for (( i = 0; i < 50; i++ )); do
  curl -sf -o /dev/null "http://127.0.0.1:$HOSTILE_PORT/hostile.html" && break
  sleep 0.1
done
mark=$(cotter_log_mark)
audit_before=$(wc -l <"$AUDIT")
export COTTER_URL=$BASE HOSTILE_URL="http://127.0.0.1:$HOSTILE_PORT/hostile.html" CHROMIUM
HOME="$HARNESS_DIR/home" timeout 180 node "$E2E/cross_origin.mjs" >"$HARNESS_DIR/e2e.json" ||
  fail "the browser test failed: $(cat "$HARNESS_DIR/e2e.json")"
note "browser: $(cat "$HARNESS_DIR/e2e.json")"
cotter_alive

# every request of the hostile page reached cotter and was refused
since=$(cotter_log_since "$mark")
for re in "POST /api/channel/c1/stop from 127\.0\.0\.1:[0-9]+ \(anonymous\): 403 cross_origin \(Host: 127\.0\.0\.1:$COTTER_MANAGER_PORT, Origin: http://127\.0\.0\.1:$HOSTILE_PORT\)" \
          "POST /api/channel/c1/restart from .*: 403 cross_origin" \
          "GET /api/logs from .*: 403 cross_origin .*Origin: http://127\.0\.0\.1:$HOSTILE_PORT" \
          "OPTIONS /api/channel/c1/stop from .*: 403 cross_origin" \
          "POST /api/pipeline/p1/snapshot from .*: 403 cross_origin" \
          "GET /api/logs from .*: 403 host_not_allowed \(Host: evil\.test:$COTTER_MANAGER_PORT" \
          "POST /api/channel/c1/stop from .*: 403 host_not_allowed \(Host: evil\.test"; do
  grep -qE -- "$re" <<<"$since" || fail "cotter's log has no line matching: $re"
done
python3 - "$AUDIT" "$audit_before" "$HOSTILE_PORT" <<'PYEOF' || fail "audit log (above)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
hostile = 'http://127.0.0.1:' + sys.argv[3]
from_page = [l for l in lines if l.get('origin') == hostile]
got = sorted((l['path'], l['status'], l['result']) for l in from_page)
want = sorted([('/api/channel/c1/stop', 403, 'cross_origin'),       # fetch no-cors
               ('/api/channel/c1/restart', 403, 'cross_origin'),    # text/plain body
               ('/api/channel/c1/stop', 403, 'cross_origin'),       # form POST
               ('/api/pipeline/p1/snapshot', 403, 'cross_origin')])  # form POST, text/plain
if got != want: sys.exit('audit lines of the hostile page: %r, want %r' % (got, want))
snap = [l for l in from_page if l['path'].endswith('/snapshot')][0]
if snap['args'] != {'table': 'shop.t', 'where': 'id > 0 OR SLEEP(5)'}:
    sys.exit('the snapshot request is not recorded as asked: %r' % snap)
rebound = [l for l in lines if l['result'] == 'host_not_allowed']
if len(rebound) != 1 or rebound[0]['path'] != '/api/channel/c1/stop':
    sys.exit('audit lines of the rebinding page: %r' % rebound)
accepted = [l for l in lines if l['status'] == 200]
if [l['action'] for l in accepted] != ['stop', 'start']:
    sys.exit('accepted actions: %r (want the console\'s stop and start)' % accepted)
print('audit: %d refused lines from the page, the console\'s stop and start accepted' % len(from_page),
      file=sys.stderr)
PYEOF
assert_eq RUNNING "$(state)" "channel state after the browser test"

section "3. the CLI still works"
"$COTTER_BIN" channel stop c1 --url "$BASE" --timeout 60 >"$HARNESS_DIR/cli.out" 2>&1 ||
  fail "cotter channel stop: $(cat "$HARNESS_DIR/cli.out")"
assert_eq PAUSED "$(state)" "state after cotter channel stop"
mdb src -e "INSERT INTO shop.t VALUES (3, 'c')" || fail "insert while stopped"
"$COTTER_BIN" channel start c1 --url "$BASE" --timeout 60 >"$HARNESS_DIR/cli.out" 2>&1 ||
  fail "cotter channel start: $(cat "$HARNESS_DIR/cli.out")"
assert_eq RUNNING "$(state)" "state after cotter channel start"
wait_synced src dst shop 60 || fail "target differs from source after the CLI's stop and start"
grep -q '"path":"/api/channel/c1/start".*"status":200,"result":"accepted"' "$AUDIT" ||
  fail "the CLI's start is not in the audit log"
cotter_stop
echo "ok: cross-origin requests refused in a real browser; console and CLI still work"
