#!/usr/bin/env bash
# Operations around a live `cotter run` with two channels (c1: p1 on ops1.*,
# c2: p2 on ops2.*):
#   1. `cotter logs`: the last N lines, --level, --channel, --json, --follow
#      (GET /api/logs);
#   2. persisted stop: a channel stopped through the API is PAUSED, stays
#      stopped across a restart of cotter (rows written meanwhile do not
#      arrive), and runs again after `cotter channel start`;
#   3. the audit log: one JSON line per POST (mode 0600), rotated by size
#      (manager.audit.max_size), rotated files older than
#      manager.audit.retention deleted at start, the current file never.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"

MGR_PORT=$(cotter__manager_port) || fail "no free port"
BASE="http://127.0.0.1:$MGR_PORT"
LOGS="$COTTER_DATA/logs"
AUDIT="$LOGS/audit.log"
OUT="$HARNESS_DIR/out"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
schema="CREATE DATABASE ops1; CREATE TABLE ops1.t (id INT PRIMARY KEY, v INT);
        CREATE DATABASE ops2; CREATE TABLE ops2.t (id INT PRIMARY KEY, v INT)"
mdb_sql src "$schema" && mdb_sql dst "$schema" || fail "schema"

sid=$(( 6000 + RANDOM % 1000 ))
{
  echo "data_dir: $COTTER_DATA"
  echo "manager:"
  echo "  listen: \"127.0.0.1:$MGR_PORT\""
  echo "  audit: { max_size: 1KB, retention: 1d }"
  echo "log: { memory_lines: 300 }"
  echo "sources:"
  echo "  src: { url: \"$(mdb_url src)\", server_id: $sid }"
  echo "targets:"
  echo "  dst: { url: \"$(mdb_url dst)\" }"
  echo "channels:"
  for c in 1 2; do
    echo "  c$c:"
    echo "    pipelines:"
    echo "      - { name: p$c, source: src, target: dst, tables: [ { match: \"ops$c.*\" } ] }"
  done
} >"$COTTER_CFG"

cli() { "$COTTER_BIN" "$@" --url "$BASE"; }
channel_state() { curl -sf "$BASE/api/channel/$1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
count() { mdb_sql dst "SELECT COUNT(*) FROM $1.t"; }

# rotated audit files from an earlier run: one past the retention, one not;
# an old current file must survive too
mkdir -p "$LOGS"
echo '{"old":1}' >"$LOGS/audit-20000101T000000Z.log"
touch -d '3 days ago' "$LOGS/audit-20000101T000000Z.log"
echo '{"recent":1}' >"$LOGS/audit-20990101T000000Z.log"
echo '{"current":1}' >"$AUDIT"
chmod 600 "$AUDIT"
touch -d '3 days ago' "$AUDIT"

cotter_start
cotter_wait_streaming 30
cotter_wait_log "$COTTER_START_MARK" "pipeline p2: streaming from" 30 || fail "p2 did not stream"

section "audit retention at start"
[ -e "$LOGS/audit-20000101T000000Z.log" ] && fail "a rotated audit file older than the retention was kept"
[ -e "$LOGS/audit-20990101T000000Z.log" ] || fail "a rotated audit file within the retention was deleted"
grep -q '"current":1' "$AUDIT" || fail "the current audit file was not kept"
cotter_log_since "$COTTER_START_MARK" | grep -q "deleted .*audit-20000101T000000Z.log" \
  || fail "the deletion was not logged"

section "1. cotter logs"
cli logs --lines 5 >"$OUT" || fail "cotter logs failed"
assert_eq 5 "$(wc -l <"$OUT")" "cotter logs --lines 5"
grep -vqE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (ERROR|WARN |INFO |DEBUG) \[[a-z]+\] ' "$OUT" \
  && fail "cotter logs: a line not in the log's format: $(cat "$OUT")"
cli logs --lines 300 --json >"$OUT" || fail "cotter logs --json failed"
python3 - "$OUT" <<'PY' || fail "cotter logs --json: not one JSON object per line"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) > 5, len(lines)
seqs = [l["seq"] for l in lines]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
for l in lines:
    assert set(l) == {"seq", "ts", "level", "tag", "msg"}, l
assert any("streaming from" in l["msg"] for l in lines)
PY
cli logs --lines 300 --channel c2 >"$OUT" || fail "cotter logs --channel failed"
grep -q "pipeline p2: streaming from" "$OUT" || fail "--channel c2 lacks p2's lines: $(cat "$OUT")"
grep -qE "pipeline p1[^0-9]" "$OUT" && fail "--channel c2 shows p1's lines: $(cat "$OUT")"
cli logs --level error >"$OUT" 2>&1 || fail "cotter logs --level error failed"
[ -s "$OUT" ] && fail "--level error shows lines though nothing failed: $(cat "$OUT")"
curl -s "$BASE/api/logs?level=loud" | grep -q '"bad_argument"' || fail "GET /api/logs?level=loud not refused"
curl -s "$BASE/api/logs?channel=nope" | grep -q '"channel_not_found"' || fail "unknown channel not refused"
# --follow prints what comes after it started
timeout 6 "$COTTER_BIN" logs --follow --lines 1 --channel c1 --url "$BASE" >"$HARNESS_DIR/follow.out" 2>&1 &
follow_pid=$!
sleep 1.5

section "2. persisted stop (PAUSED)"
cli channel stop c1 >"$OUT" || fail "cotter channel stop c1: $(cat "$OUT")"
assert_eq PAUSED "$(channel_state c1)" "state of c1 after an API stop"
assert_eq RUNNING "$(channel_state c2)" "state of c2"
curl -sf "$BASE/api/channel/c1/status" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["paused"] and d["paused"]["by"].startswith("anonymous"), d' || fail "no paused.by in the status"
wait "$follow_pid" 2>/dev/null
grep -q "channel c1: stop requested by" "$HARNESS_DIR/follow.out" \
  || fail "cotter logs --follow did not print the new lines: $(cat "$HARNESS_DIR/follow.out")"
[ "$(wc -l <"$HARNESS_DIR/follow.out")" -ge 2 ] || fail "--follow printed only the first line"

mdb_sql src "INSERT INTO ops1.t VALUES (1, 1); INSERT INTO ops2.t VALUES (1, 1)"
wait_synced src dst ops2 30 || fail "c2 did not sync"
cotter_stop
cotter_start
cotter_wait_log "$COTTER_START_MARK" "channel c1 is PAUSED \(stopped by anonymous" 30 \
  || fail "the restart did not report c1 as PAUSED"
cotter_wait_log "$COTTER_START_MARK" "pipeline p2: streaming from" 30 || fail "p2 did not stream"
sleep 2
assert_eq 0 "$(count ops1)" "rows of the paused channel after a restart"
assert_eq PAUSED "$(channel_state c1)" "state of c1 after a restart"
cotter_log_since "$COTTER_START_MARK" | grep -q "pipeline p1: streaming from" && fail "p1 started though paused"
"$COTTER_BIN" status --url "$BASE" >"$OUT" || fail "cotter status"
grep -qE "^c1 +PAUSED" "$OUT" || fail "cotter status does not show c1 PAUSED: $(cat "$OUT")"
cli logs --level warn >"$OUT" || fail "cotter logs --level warn"
grep -q "channel c1 is PAUSED" "$OUT" || fail "--level warn lacks the PAUSED warning: $(cat "$OUT")"
grep -qE ' (INFO |DEBUG) \[' "$OUT" && fail "--level warn shows info lines: $(cat "$OUT")"

cli channel start c1 >"$OUT" || fail "cotter channel start c1: $(cat "$OUT")"
wait_synced src dst ops1 30 || fail "c1 did not catch up after start"
assert_eq RUNNING "$(channel_state c1)" "state of c1 after start"
cotter_stop
cotter_start
cotter_wait_log "$COTTER_START_MARK" "pipeline p1: streaming from" 30 || fail "p1 did not start after start + restart"

section "3. audit lines and rotation"
for i in 1 2 3 4 5 6; do
  cli channel restart c2 --no-wait >/dev/null || fail "restart c2"
done
sleep 1
assert_eq 600 "$(stat -c %a "$AUDIT")" "audit.log mode"
rotated=$(ls "$LOGS" | grep -E '^audit-2[0-9]{7}T[0-9]{6}Z(-[0-9]+)?\.log$' | grep -v 20990101)
[ -n "$rotated" ] || fail "the audit log was not rotated at 1KB: $(ls -l "$LOGS")"
for f in $rotated audit.log; do [ "$(stat -c %s "$LOGS/$f")" -le 1024 ] || fail "$f is over max_size"; done
cat $(for f in $rotated; do echo "$LOGS/$f"; done) "$AUDIT" | python3 -c '
import json, sys
acts = []
for line in sys.stdin:
    d = json.loads(line)
    if "action" in d:
        acts.append((d["channel"], d["action"], d["who"], d["result"]))
want = [("c1", "stop"), ("c1", "start")] + [("c2", "restart")] * 6
assert [(a[0], a[1]) for a in acts] == want, acts
assert all(a[2] == "anonymous" and a[3] == "accepted" for a in acts), acts
' || fail "audit lines do not match the actions"
cotter_log_all | grep -q "rotated the audit log to" || fail "the rotation was not logged"
cotter_stop
echo "PASS test_ops"
