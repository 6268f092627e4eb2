#!/usr/bin/env bash
# The web console (issue 5) against a live `cotter run` with tokens, while a
# writer feeds the source:
#   1. the console's files: served at / to browsers without a token, with
#      Content-Type, ETag (304 on If-None-Match), no-cache and a strict CSP;
#      API clients still get the JSON index at / (with a token);
#   2. GET /api/session and GET /api/pipeline/history: shape, auth, errors,
#      and samples whose counters grow as rows arrive;
#   3. tests/e2e/console.mjs in Debian's chromium (playwright-core): sign in,
#      live delay and counters, charts, stop/start with confirmation, a read
#      token's disabled buttons, no CSP violation; screenshots saved;
#   4. after the stop/start, the target equals the source (nothing lost).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

E2E="$COTTER_ROOT/tests/e2e"
: "${CHROMIUM:=/usr/bin/chromium}"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps.sh installs it)"
command -v node >/dev/null || fail "node is needed (scripts/install-deps.sh installs nodejs)"
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM (scripts/install-deps.sh installs it)"
[ -d "$E2E/node_modules/playwright-core" ] ||
  fail "playwright-core is not installed in $E2E (scripts/install-deps.sh runs npm ci there)"

export COTTER_T_ADMIN_TOKEN="adm-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export COTTER_T_READ_TOKEN="ro-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
ADMIN=$COTTER_T_ADMIN_TOKEN
READ=$COTTER_T_READ_TOKEN
MGR_PORT=$(cotter__manager_port) || fail "no free port"
BASE="http://127.0.0.1:$MGR_PORT"
OUT="${COTTER_TEST_OUT:-${TMPDIR:-/tmp}}/cotter-e2e"
mkdir -p "$OUT" && rm -f "$OUT"/*.png

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
writer_schema shop src dst
# a table the writers leave alone, broken on the target: the scheduled check
# finds it and the console shows it
for s in src dst; do
  mdb "$s" -e "CREATE TABLE shop.prices (id INT PRIMARY KEY, price INT NOT NULL);
               INSERT INTO shop.prices VALUES (1, 10), (2, 20), (3, 30)" || fail "prices on $s"
done
mdb dst -e "UPDATE shop.prices SET price = 99 WHERE id = 2" || fail "breaking shop.prices"

cat >"$COTTER_CFG" <<EOF
data_dir: $COTTER_DATA
manager:
  listen: "127.0.0.1:$MGR_PORT"
  tokens:
    - { name: ops, token: "\${COTTER_T_ADMIN_TOKEN}", role: admin }
    - { name: viewer, token: "\${COTTER_T_READ_TOKEN}" }
sources:
  src: { url: "$(mdb_url src)", server_id: $(( 6000 + RANDOM % 1000 )) }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  c1:
    pipelines:
      - name: p1
        source: src
        target: dst
        retry: { min_ms: 100, max_ms: 1000 }
        tables: [ { match: "shop.*" } ]
check: { schedule: 5s, max_delay: 60s }
EOF

# get PATH [curl args...]: sets CODE; body in $HARNESS_DIR/body, headers in .../headers
get() {
  local path=$1; shift
  rm -f "$HARNESS_DIR/body" # curl leaves the old file when there is no body
  CODE=$(curl -s -o "$HARNESS_DIR/body" -D "$HARNESS_DIR/headers" -w '%{http_code}' --max-time 10 \
    "$@" "$BASE$path")
}
header() { grep -i "^$1:" "$HARNESS_DIR/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
jget() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$HARNESS_DIR/body" "$1" 2>&1 || echo "(not JSON: $(head -c 200 "$HARNESS_DIR/body"))"
}
expect() { [ "$CODE" = "$1" ] || fail "$2: expected HTTP $1, got $CODE: $(head -c 300 "$HARNESS_DIR/body")"; }

cotter_start
cotter_wait_streaming 60
writer_start src shop 1 0.05

section "1. the console's files"
get / -H "Accept: text/html,application/xhtml+xml"
expect 200 "GET / from a browser, no token"
assert_eq "text/html; charset=utf-8" "$(header Content-Type)" "content type of /"
grep -q '<script src="/app.js" defer></script>' "$HARNESS_DIR/body" || fail "/ is not the console's page"
csp=$(header Content-Security-Policy)
for want in "default-src 'none'" "script-src 'self'" "style-src 'self'" "connect-src 'self'" "frame-ancestors 'none'"; do
  [[ $csp == *"$want"* ]] || fail "CSP '$csp' lacks $want"
done
[[ $csp != *unsafe* ]] || fail "CSP allows unsafe code: $csp"
assert_eq "nosniff" "$(header X-Content-Type-Options)" "nosniff on the console"
assert_eq "no-cache" "$(header Cache-Control)" "cache control of the console"
etag=$(header ETag)
[[ $etag =~ ^\"[0-9a-f]{20}\"$ ]] || fail "ETag of / is '$etag'"
get / -H "Accept: text/html" -H "If-None-Match: $etag"
expect 304 "GET / with its ETag"
[ ! -s "$HARNESS_DIR/body" ] || fail "a 304 with a body"
assert_eq "$etag" "$(header ETag)" "ETag of the 304"
get / -H "Accept: text/html" -H 'If-None-Match: "0000"'
expect 200 "GET / with another ETag"
for f in "app.js text/javascript; charset=utf-8" "app.css text/css; charset=utf-8" \
         "favicon.svg image/svg+xml"; do
  get "/${f%% *}"
  expect 200 "GET /${f%% *}"
  assert_eq "${f#* }" "$(header Content-Type)" "content type of /${f%% *}"
  cmp -s "$HARNESS_DIR/body" "$COTTER_ROOT/src/manager/assets/${f%% *}" ||
    fail "/${f%% *} differs from src/manager/assets/${f%% *} (stale embedding?)"
  [ -n "$(header Content-Security-Policy)" ] || fail "no CSP on /${f%% *}"
done
get /app.js -X POST
expect 405 "POST to a console file"
get /
expect 401 "the API index at / still needs a token"
get / -H "Authorization: Bearer $READ"
expect 200 "the API index at / with a token"
assert_eq "cotter /" "$(jget 'd["name"] + " " + d["console"]')" "the API index names the console"
get /nope.js -H "Authorization: Bearer $READ"
expect 404 "an unknown file"
note "console files: types, ETag/304, no-cache, CSP, nosniff; API index unchanged"

section "2. session and history endpoints"
get /api/session -H "Authorization: Bearer $ADMIN"
expect 200 "session of the admin token"
assert_eq "ops admin True" "$(jget 'd["user"] + " " + d["role"] + " " + str(d["tokens_required"])')" "admin session"
get /api/session -H "Authorization: Bearer $READ"
assert_eq "viewer read" "$(jget 'd["user"] + " " + d["role"]')" "read session"
get /api/session
expect 401 "session without a token"
get "/api/pipeline/history?id=1"
expect 401 "history without a token"
get "/api/pipeline/history" -H "Authorization: Bearer $READ"
expect 400 "history without id"
assert_eq missing_id "$(jget 'd["error"]["code"]')" "history without id"
get "/api/pipeline/history?id=p9" -H "Authorization: Bearer $READ"
expect 404 "history of an unknown pipeline"
get "/api/pipeline/history?id=1&since=-5" -H "Authorization: Bearer $READ"
expect 400 "history with a negative since"
assert_eq bad_argument "$(jget 'd["error"]["code"]')" "negative since"
get "/api/pipeline/history?id=1&points=x" -H "Authorization: Bearer $READ"
expect 400 "history with points=x"
get "/api/pipeline/history?id=1&since=999999999" -H "Authorization: Bearer $READ"
expect 400 "history beyond the retention"
# samples every 5 s: wait for three, rows arriving between them
for (( i = 0; i < 40; i++ )); do
  get "/api/pipeline/history?id=p1&since=300&points=300" -H "Authorization: Bearer $READ"
  [ "$CODE" = 200 ] && [ "$(jget 'len(d["samples"])')" -ge 3 ] 2>/dev/null && break
  sleep 1
done
expect 200 "history of p1"
assert_eq "1 p1 5 5" "$(jget '" ".join(str(x) for x in (d["id"], d["name"], d["interval_s"], d["step_s"]))')" "history header"
n=$(jget 'len(d["samples"])')
[ "$n" -ge 3 ] 2>/dev/null || fail "history has $n samples after 40 s (want >= 3): $(head -c 400 "$HARNESS_DIR/body")"
assert_eq True "$(jget 'all(s["state"] == "RUNNING" and s["delay_s"] is not None for s in d["samples"][1:])')" \
  "samples of a streaming pipeline are RUNNING with a delay"
assert_eq True "$(jget 'd["samples"][-1]["insert"] > d["samples"][0]["insert"] and d["samples"][-1]["transactions"] > d["samples"][0]["transactions"]')" \
  "counters grow between samples while the writer runs"
assert_eq True "$(jget 'all(a["t"] < b["t"] for a, b in zip(d["samples"], d["samples"][1:])) and d["samples"][-1]["t"] <= d["now"]')" \
  "samples in time order"
note "history: $n samples; last $(jget 'd["samples"][-1]')"
sqlite3 "$COTTER_DATA/meta.db" "SELECT COUNT(*) FROM history WHERE pipeline = 'p1'" >"$HARNESS_DIR/hist.count" 2>&1 ||
  fail "meta.db has no history table: $(cat "$HARNESS_DIR/hist.count")"
[ "$(cat "$HARNESS_DIR/hist.count")" -ge 3 ] || fail "meta.db history rows: $(cat "$HARNESS_DIR/hist.count")"

section "3. the console in chromium"
export COTTER_URL=$BASE COTTER_ADMIN_TOKEN=$ADMIN COTTER_READ_TOKEN=$READ COTTER_CHANNEL=c1 \
  COTTER_E2E_OUT=$OUT CHROMIUM
# chromium writes its profile and crash dumps under HOME; keep them in the test dir
HOME="$HARNESS_DIR/home" timeout 300 node "$E2E/console.mjs" || fail "the browser test failed (screenshots in $OUT)"
cotter_alive
note "screenshots: $(cd "$OUT" && ls *.png | tr '\n' ' ')in $OUT"

section "4. nothing lost across the console's stop and start"
writer_stop
mdb dst -e "UPDATE shop.prices SET price = 20 WHERE id = 2" || fail "repairing shop.prices"
wait_synced src dst shop 90 || fail "target differs from source after the stop/start"
[ "$(keyed_corrupt_rows dst shop)" = 0 ] || fail "corrupt rows on the target"
assert_eq "$(nokey_surplus src shop)" "$(nokey_surplus dst shop)" "duplicates in the keyless table"
grep -q '"path":"/api/channel/c1/stop","channel":"c1","action":"stop","status":200,"result":"accepted"' \
  "$COTTER_DATA/logs/audit.log" || fail "the console's stop is not in the audit log"
cotter_stop
echo "ok: console served, history sampled, browser test passed"
