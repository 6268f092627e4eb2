#!/usr/bin/env bash
# `cotter status` and `cotter channel start|stop|restart` (the CLI client of
# the HTTP API, docs/cli.md) against a live `cotter run` with one channel c1
# (pipeline p1, cli.* from src to dst):
#   1. no tokens: status shows c1 and p1 RUNNING (table and --json, --url and
#      COTTER_URL); stop makes the channel STOPPED (the API and status agree,
#      a row written meanwhile does not arrive), start brings it back (the
#      row arrives), restart by number; unknown channel exit 1; a URL where
#      nothing listens exit 2 with a hint; usage errors exit 2;
#   2. tokens: none given 401 (exit 1), a read token may look but not stop
#      (exit 1 with the API's 403 message, channel still RUNNING), an admin
#      token from --token-file stops and starts; no token is ever printed;
#   3. HTTPS: --cacert verifies the server; without it, or with http://, exit 2.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"
command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps.sh installs it)"
unset COTTER_URL COTTER_TOKEN COTTER_CACERT NO_COLOR

OUT="$HARNESS_DIR/cli.out"
ERR="$HARNESS_DIR/cli.err"
ALL_OUT="$HARNESS_DIR/cli.all" # every output of the client, to look for tokens
RC=0

# cli ARGS...: run the client; RC, $OUT, $ERR hold what it did.
cli() {
  RC=0
  "$COTTER_BIN" "$@" >"$OUT" 2>"$ERR" || RC=$?
  { echo "### cotter $* (exit $RC)"; cat "$OUT" "$ERR"; } >>"$ALL_OUT"
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$ERR"; then
    cat "$ERR" >&2
    fail "cotter $*: sanitizer error"
  fi
}
show() { sed 's/^/  | /' "$OUT" "$ERR" >&2; }
expect_rc() { # expect_rc CODE WHAT
  [ "$RC" = "$1" ] || { show; fail "$2: exit code $RC, expected $1"; }
}
out_has() { grep -qE -- "$1" "$OUT" || { show; fail "$2: stdout lacks /$1/"; }; }
err_has() { grep -qF -- "$1" "$ERR" || { show; fail "$2: stderr lacks '$1'"; }; }
# row_state KIND NAME: the STATE column of the table row for channel/pipeline NAME
row_state() {
  awk -v kind="$1" -v name="$2" '
    /^CHANNEL / { sec = "channel"; next } /^PIPELINE / { sec = "pipeline"; next }
    sec == kind && $1 == name { print $(kind == "channel" ? 2 : 3); exit }' "$OUT"
}
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# api_state TOKEN: the channel state as the API itself reports it (curl)
api_state() {
  local auth=()
  [ -n "${1:-}" ] && auth=(-H "Authorization: Bearer $1")
  curl -s --max-time 5 "${auth[@]}" ${CURL_EXTRA:-} "$BASE/api/channel/c1/status" |
    jq_py 'd["state"] + ("" if d["pending_actions"] == 0 else "+pending")'
}
wait_api() {
  local i
  for (( i = 0; i < 100; i++ )); do
    curl -s --max-time 2 ${CURL_EXTRA:-} "$BASE/healthz" 2>/dev/null | grep -q '"ok"' && return 0
    cotter_alive
    sleep 0.1
  done
  fail "the API did not answer on $BASE/healthz"
}
count() { mdb_sql dst "SELECT COUNT(*) FROM cli.t"; }
wait_count() { # wait_count N TIMEOUT_S
  local i
  for (( i = 0; i < $2 * 5; i++ )); do
    [ "$(count)" = "$1" ] && return 0
    sleep 0.2
  done
  fail "target has $(count) rows in cli.t, expected $1 within $2 s"
}
# manager_block TOKENS TLS: replace cotter_config's manager line
manager_block() {
  local tokens=$1 tls=$2
  python3 - "$COTTER_CFG" "$COTTER_MANAGER_PORT" "$tokens" "$tls" "${TLS_DIR:-}" <<'EOF'
import sys
path, port, tokens, tls, tls_dir = sys.argv[1:6]
lines = open(path).read().split("\n")
block = ["manager:", '  listen: "127.0.0.1:%s"' % port]
if tokens == "1":
    block += ["  tokens:",
              '    - { name: ops, token: "${CLI_T_ADMIN}", role: admin }',
              '    - { name: grafana, token: "${CLI_T_READ}" }']
if tls == "1":
    block += ['  tls: { cert: "%s/cert.pem", key: "%s/key.pem" }' % (tls_dir, tls_dir)]
out, skip = [], False
for l in lines:
    if l.startswith("manager:"):
        out += block
        skip = True  # drop the old block's indented lines
    elif skip and l.startswith(" "):
        continue
    else:
        skip = False
        out.append(l)
open(path, "w").write("\n".join(out))
EOF
}

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
schema="CREATE DATABASE cli; CREATE TABLE cli.t (id INT PRIMARY KEY, v INT)"
mdb_sql src "$schema" && mdb_sql dst "$schema" || fail "schema"

COTTER_MANAGER_PORT=$(cotter__manager_port) || fail "no free port"
BASE="http://127.0.0.1:$COTTER_MANAGER_PORT"
cotter_config src dst "cli.*"

# ------------------------------------------------------------ 1. no tokens
section "status and channel actions without tokens"
cotter_start
cotter_wait_streaming 30
wait_api
mdb_sql src "INSERT INTO cli.t VALUES (1, 1)"
wait_count 1 20

cli status --url "$BASE"
expect_rc 0 "status"
out_has '^CHANNEL +STATE' "status: channel table header"
out_has '^PIPELINE +CHANNEL +STATE +DELAY +ROWS/S +APPLIED +POSITION +LAST ERROR' \
  "status: pipeline table header"
assert_eq RUNNING "$(row_state channel c1)" "status: state of channel c1"
assert_eq RUNNING "$(row_state pipeline p1)" "status: state of pipeline p1"
api_file=$(curl -s "$BASE/api/pipeline/status?id=1" | jq_py 'd["position"]["file"]')
[ -n "$api_file" ] || fail "the API reports no binlog file for p1"
out_has "^p1 .* $api_file:[0-9]+" "status: position column shows the API's binlog file"
out_has '^p1 +c1 +RUNNING +[0-9.]+s +[0-9.]+ +1 ' "status: delay, rows/s and applied rows of p1"
grep -q $'\033' "$OUT" && fail "status: colour escape codes written to a pipe"
note "status: c1 and p1 RUNNING, position $api_file, 1 row applied"

COTTER_URL="$BASE/" cli status
expect_rc 0 "status with COTTER_URL (trailing slash)"
assert_eq RUNNING "$(row_state channel c1)" "status via COTTER_URL: state of c1"

# on a terminal the states are coloured (script gives the client a pty)
script -qec "'$COTTER_BIN' status --url '$BASE'" /dev/null >"$HARNESS_DIR/tty.out" 2>&1 ||
  fail "status on a pty failed: $(cat "$HARNESS_DIR/tty.out")"
grep -qF $'\033[32mRUNNING' "$HARNESS_DIR/tty.out" || fail "status on a TTY: RUNNING is not green"

cli status --url "$BASE" --json
expect_rc 0 "status --json"
python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" || fail "status --json is not JSON"
assert_eq "c1 RUNNING p1 RUNNING" \
  "$(jq_py 'd["channels"][0]["name"], d["channels"][0]["state"], d["pipelines"][0]["name"], d["pipelines"][0]["state"]' <"$OUT" | tr -d "(),'")" \
  "status --json: channel and pipeline"
cli status c1 --url "$BASE" --json
expect_rc 0 "status c1 --json"
assert_eq "c1 RUNNING" "$(jq_py 'd["name"] + " " + d["state"]' <"$OUT")" "status c1 --json"

cli channel stop c1 --url "$BASE"
expect_rc 0 "channel stop c1"
out_has '^channel c1: stop done: .*1 pipeline\(s\) stopped.*; now PAUSED$' "channel stop: report"
assert_eq PAUSED "$(api_state)" "API state of c1 after cotter channel stop"
cli status --url "$BASE"
expect_rc 0 "status after stop"
assert_eq PAUSED "$(row_state channel c1)" "status after stop: state of c1 (stopped by an operator)"
assert_eq STOPPED "$(row_state pipeline p1)" "status after stop: state of p1"
mdb_sql src "INSERT INTO cli.t VALUES (2, 2)"
sleep 2
assert_eq 1 "$(count)" "rows on the target while c1 is stopped"
note "stop: c1 STOPPED (client, API and data agree)"

cli channel start c1 --url "$BASE" --json
expect_rc 0 "channel start c1 --json"
assert_eq "RUNNING 0" "$(jq_py 'd["state"] + " " + str(d["pending_actions"])' <"$OUT")" \
  "channel start --json: final state"
wait_count 2 20
cli status --url "$BASE"
assert_eq RUNNING "$(row_state channel c1)" "status after start: state of c1"
note "start: c1 RUNNING again, the row written while stopped arrived"

cli channel restart 1 --url "$BASE"
expect_rc 0 "channel restart 1 (by number)"
out_has '^channel c1: restart done: .*; now (RUNNING|CONNECTING)$' "channel restart: report"
mdb_sql src "INSERT INTO cli.t VALUES (3, 3)"
wait_count 3 20

cli channel stop nosuch --url "$BASE"
expect_rc 1 "channel stop of an unknown channel"
err_has "404 channel_not_found" "unknown channel"
err_has "no channel 'nosuch'" "unknown channel: the API's message"
cli status nosuch --url "$BASE"
expect_rc 1 "status of an unknown channel"

dead_port=$(harness_free_port)
cli status --url "http://127.0.0.1:$dead_port"
expect_rc 2 "status with a URL where nothing listens"
err_has "cannot reach the cotter API at http://127.0.0.1:$dead_port" "wrong URL"
err_has "Is \`cotter run\` running" "wrong URL: hint"
err_has "--url" "wrong URL: hint names --url"
COTTER_URL="http://127.0.0.1:$dead_port" cli channel stop c1
expect_rc 2 "channel stop with a COTTER_URL where nothing listens"
cli status --url "$BASE/api"
expect_rc 2 "status with a URL that has a path"
err_has "without a path" "URL with a path: hint"

cli channel pause c1 --url "$BASE"
expect_rc 2 "unknown action"
cli channel stop --url "$BASE"
expect_rc 2 "channel stop without a name"
cli status --url "$BASE" --token secret-on-the-command-line
expect_rc 2 "--token on the command line"
err_has "COTTER_TOKEN" "--token refused: hint"
cli status --url "$BASE" --bogus
expect_rc 2 "unknown option"
cli status --help
expect_rc 0 "status --help"
out_has '^Usage: cotter status' "status --help"
assert_eq RUNNING "$(api_state)" "c1 after the refused commands"
note "errors: unknown channel exit 1, unreachable URL and usage exit 2"
cotter_stop

# ---------------------------------------------------------------- 2. tokens
section "tokens: read may look, admin may act"
export CLI_T_ADMIN="adm-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export CLI_T_READ="ro-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
manager_block 1 0
cotter_start
cotter_wait_streaming 30
wait_api

cli status --url "$BASE"
expect_rc 1 "status without a token"
err_has "401 unauthorized" "status without a token"
err_has "COTTER_TOKEN" "status without a token: hint"

COTTER_TOKEN=$CLI_T_READ cli status --url "$BASE"
expect_rc 0 "status with the read token"
assert_eq RUNNING "$(row_state channel c1)" "status with the read token: c1"

msg403=$(curl -s -X POST -H "Authorization: Bearer $CLI_T_READ" "$BASE/api/channel/c1/stop" |
  jq_py 'd["error"]["message"]')
[ -n "$msg403" ] || fail "the API gave no 403 message"
COTTER_TOKEN=$CLI_T_READ cli channel stop c1 --url "$BASE"
expect_rc 1 "channel stop with the read token"
err_has "403 forbidden: $msg403" "channel stop with the read token: the API's message"
assert_eq RUNNING "$(api_state "$CLI_T_ADMIN")" "c1 after a refused stop"

printf '%s\n' "$CLI_T_ADMIN" >"$HARNESS_DIR/admin.token"
chmod 600 "$HARNESS_DIR/admin.token"
COTTER_TOKEN=$CLI_T_READ cli channel stop c1 --url "$BASE" --token-file "$HARNESS_DIR/admin.token"
expect_rc 0 "channel stop with --token-file (admin; wins over COTTER_TOKEN)"
assert_eq PAUSED "$(api_state "$CLI_T_ADMIN")" "c1 after stop with the admin token"
COTTER_TOKEN=$CLI_T_READ cli status c1 --url "$BASE"
assert_eq PAUSED "$(row_state channel c1)" "status after the admin stop"
out_has 'last: stop by ops' "status c1: last action names the token's name"
COTTER_TOKEN=$CLI_T_ADMIN cli channel start c1 --url "$BASE"
expect_rc 0 "channel start with COTTER_TOKEN (admin)"
assert_eq RUNNING "$(api_state "$CLI_T_ADMIN")" "c1 after start with the admin token"

cli status --url "$BASE" --token-file "$HARNESS_DIR/no-such-file"
expect_rc 2 "--token-file that does not exist"
if grep -qF -e "$CLI_T_ADMIN" -e "$CLI_T_READ" "$ALL_OUT"; then
  fail "a token appears in the client's output ($ALL_OUT)"
fi
note "tokens: 401 without, read 403 on stop (c1 kept running), admin stop/start; never printed"
cotter_stop

# ----------------------------------------------------------------- 3. HTTPS
section "HTTPS with --cacert"
TLS_DIR="$HARNESS_DIR/tls"
mkdir -p "$TLS_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" \
  >"$TLS_DIR/openssl.log" 2>&1 || fail "openssl: $(cat "$TLS_DIR/openssl.log")"
manager_block 0 1
BASE="https://127.0.0.1:$COTTER_MANAGER_PORT"
CURL_EXTRA="--cacert $TLS_DIR/cert.pem"
cotter_start
cotter_wait_streaming 30
wait_api

cli status --url "$BASE" --cacert "$TLS_DIR/cert.pem"
expect_rc 0 "status over https with --cacert"
assert_eq RUNNING "$(row_state channel c1)" "status over https: c1"
COTTER_CACERT="$TLS_DIR/cert.pem" cli channel restart c1 --url "$BASE"
expect_rc 0 "channel restart over https with COTTER_CACERT"
cli status --url "$BASE"
expect_rc 2 "status over https without the CA"
err_has "--cacert" "https without the CA: hint"
cli status --url "http://127.0.0.1:$COTTER_MANAGER_PORT"
expect_rc 2 "plain http against the TLS port"
note "https: verified with --cacert / COTTER_CACERT; unverifiable or plain http exit 2"
cotter_stop

echo "PASS test_cli_client"
