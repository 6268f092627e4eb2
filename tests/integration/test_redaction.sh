#!/usr/bin/env bash
# Passwords in replicated statements never leave cotter (issue 17). A real
# source with a pipeline (log level debug, so every path that prints a
# statement runs); statements that carry passwords are run on the source
# through pymysql (as a connector sends them, comments included):
#   CREATE USER ... IDENTIFIED BY, ALTER USER ... IDENTIFIED BY,
#   GRANT ... IDENTIFIED BY, SET PASSWORD ... = PASSWORD(...),
#   IDENTIFIED VIA ... USING PASSWORD(...), a doubled quote in the secret,
#   an executable comment, and a snapshot request whose filter holds one.
# Then every output is searched for each password: cotter's stderr, the log
# file, GET /api/logs, `cotter logs`, the pipeline status (API, file and
# `cotter status`), alarms, the audit log and `cotter decode` of the source's
# binlog. The same decode with --show-passwords must show them (proof the
# statements were in the binlog cotter read).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

PY=/usr/bin/python3
$PY -c 'import pymysql' 2>/dev/null || fail "python3-pymysql is needed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is needed"

COTTER_LOG_LEVEL=debug
COTTER_MANAGER_PORT=$(cotter__manager_port) || fail "no free port"
BASE="http://127.0.0.1:$COTTER_MANAGER_PORT"
mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
for s in src dst; do
  mdb "$s" -e "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(64))" ||
    fail "schema on $s"
done
cotter_config src dst "shop.*"
cotter_start
cotter_wait_streaming 60

# every password below is unique, so a grep finds any copy of it
PWS=(PwCreate1-q7 PwAlter2-q7 PwGrant3-q7 PwSetPw4-q7 PwVia5-q7 "Quote6-q7" PwComment7-q7 PwWhere8-q7)
section "1. statements with passwords on the source (pymysql)"
$PY - "$(_mdb_var src PORT)" <<'PYEOF' || fail "running the statements on the source"
import sys, pymysql
c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user='root', autocommit=True)
cur = c.cursor()
for sql in [
    "/* onboarding ticket 42 */ CREATE USER 'app1'@'%' IDENTIFIED BY 'PwCreate1-q7'",
    "ALTER USER 'app1'@'%' IDENTIFIED BY 'PwAlter2-q7'",
    "GRANT SELECT ON shop.* TO 'app2'@'%' IDENTIFIED BY 'PwGrant3-q7'",
    "SET PASSWORD FOR 'app1'@'%' = PASSWORD('PwSetPw4-q7')",
    "CREATE USER app3 IDENTIFIED VIA mysql_native_password USING PASSWORD('PwVia5-q7')",
    "-- rotate\nALTER USER app3 IDENTIFIED BY 'it''s Quote6-q7'",
    "CREATE USER app4 /*!100000 IDENTIFIED BY 'PwComment7-q7' */",
    "INSERT INTO shop.t VALUES (1, 'a'), (2, 'b')",
]:
    cur.execute(sql)
PYEOF
wait_synced src dst shop 30 || fail "rows not synced"
# a snapshot request whose filter holds a password (it runs on the source)
curl -s -o "$HARNESS_DIR/snap.json" -w '%{http_code}' -X POST -H 'X-Cotter-Request: 1' \
  "$BASE/api/pipeline/p1/snapshot?table=shop.t&where=v%20%3C%3E%20PASSWORD('PwWhere8-q7')" \
  >"$HARNESS_DIR/snap.code"
# the filter is cotter's row filter, which has no PASSWORD(): the request is
# refused (400), and the refusal, its log line and its audit line must not
# show the password either
assert_eq 400 "$(cat "$HARNESS_DIR/snap.code")" "snapshot request: $(cat "$HARNESS_DIR/snap.json")"
cp "$HARNESS_DIR/snap.json" "$HARNESS_DIR/outputs-snap.json"
sleep 2 # the statements and the request go through the pipeline and the logs
cotter_alive

section "2. no password in any output"
OUTS="$HARNESS_DIR/outputs"
mkdir -p "$OUTS"
cp "$COTTER_LOG" "$OUTS/stderr.log"
cp "$COTTER_DATA/logs/cotter.log" "$OUTS/cotter.log" || fail "no log file"
cp "$COTTER_DATA/logs/audit.log" "$OUTS/audit.log" || fail "no audit log"
cp "$COTTER_DATA/status/p1.json" "$OUTS/status-file.json" || fail "no status file"
mv "$HARNESS_DIR/outputs-snap.json" "$OUTS/api-snapshot-refusal.json"
curl -s "$BASE/api/logs?lines=100000" >"$OUTS/api-logs.json"
curl -s "$BASE/api/pipeline/status" >"$OUTS/api-status.json"
curl -s "$BASE/api/channel/c1/status" >"$OUTS/api-channel.json"
curl -s "$BASE/api/alarms" >"$OUTS/api-alarms.json"
"$COTTER_BIN" logs --url "$BASE" --lines 100000 >"$OUTS/cli-logs.txt" 2>&1 || fail "cotter logs"
"$COTTER_BIN" status --url "$BASE" >"$OUTS/cli-status.txt" 2>&1 || fail "cotter status"
binlogs=("$HARNESS_DIR"/src/data/binlog.0*)
"$COTTER_BIN" decode "${binlogs[@]}" >"$OUTS/decode.txt" 2>&1 || fail "cotter decode"
"$COTTER_BIN" decode --show-passwords "${binlogs[@]}" >"$HARNESS_DIR/decode-shown.txt" 2>&1 ||
  fail "cotter decode --show-passwords"
# MariaDB writes SET PASSWORD to the binlog with the password's hash: a
# secret too, searched for as well
hash=$(grep -oE "SET PASSWORD FOR 'app1'@'%'='\*[0-9A-F]{40}'" "$HARNESS_DIR/decode-shown.txt" |
  grep -oE '[0-9A-F]{40}')
[ -n "$hash" ] || fail "SET PASSWORD is not in the source's binlog with its hash"
PWS+=("$hash")
for pw in "${PWS[@]:0:3}" "${PWS[@]:4:3}"; do
  grep -qF -- "$pw" "$HARNESS_DIR/decode-shown.txt" ||
    fail "'$pw' is not in the source's binlog (decode --show-passwords): the test ran nothing"
done
# the paths the statements took are in the output, only redacted
grep -qF "<redacted>" "$OUTS/decode.txt" || fail "decode shows no <redacted>"
grep -qF "'<redacted>'" "$OUTS/audit.log" || fail "the audit line of the snapshot has no redacted filter"
grep -qF '"table":"shop.t"' "$OUTS/audit.log" || fail "the audit line does not record the snapshot's table"
grep -qF 'onboarding ticket 42' "$OUTS/decode.txt" || fail "decode lost the statement's comment"
leaks=0
for pw in "${PWS[@]}"; do
  for f in "$OUTS"/*; do
    if grep -qF -- "$pw" "$f"; then
      echo "LEAK: '$pw' in $(basename "$f"): $(grep -F -- "$pw" "$f" | head -2 | cut -c1-300)" >&2
      leaks=$((leaks + 1))
    fi
  done
done
[ "$leaks" -eq 0 ] || fail "$leaks password leak(s) (above)"
note "searched $(ls "$OUTS" | wc -l) outputs for ${#PWS[@]} passwords: none found"
cotter_stop
grep -qF -- "PwCreate1-q7" "$COTTER_LOG" && fail "a password in cotter's output at shutdown"
echo "ok: passwords redacted in logs, API, status, audit, CLI and decode"
