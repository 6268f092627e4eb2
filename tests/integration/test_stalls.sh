#!/usr/bin/env bash
# Issue 18: an operator can trust what cotter says about a stall. One
# server pair, several cases, each in seconds:
#   1. one transaction cannot be applied while the source is quiet (a target
#      trigger that sleeps 6 s, then refuses the row): the error alarm fires
#      exactly once and does not resolve while the transaction keeps failing
#      (before: it resolved after each 5 s "caught up" RUNNING spell, while the
#      trigger slept, and fired again); the stall alarm fires (before: never,
#      an idle source looked caught up); the status shows the pipeline behind
#      with a delay > 0 (before: 0.0). Once the trigger is gone the position
#      moves past the transaction and both alarms resolve, once.
#   2. a new incident inside alarms.repeat notifies: the target goes down
#      after case 1's alarm was notified and resolved; the NET error alarm is
#      sent (notified: true), not muted as a repeat (before: notified: false,
#      nothing logged).
#   3. a row lock on the target outlasts read_timeout (7 s, shorter than
#      innodb_lock_wait_timeout): the error names the row lock and the
#      blocking connection (before: "Lost connection (errno 2013, NET)" and
#      "check host and port"); the status shows the wait (target_wait_s)
#      within seconds; once the holder commits the row arrives.
#   4. LOCK TABLES ... WRITE on the target: the error names the metadata
#      lock, LOCK TABLES and the holding connection (metadata_lock_info).
#   5. drift: a source DELETE of a keyless row and a keyed DELETE of a row the
#      target does not have (before: dropped without a word) are counted
#      (not_applied.missing), logged with the table, and raise the drift alarm.
#   6. a row larger than the target's max_allowed_packet (1 MiB here): the
#      error names the setting, the size needed and the table, and is not a
#      network fault (before: "server has gone away" (NET), retried for ever);
#      once the setting is raised the row arrives.
#   7. the same config started twice: the second process exits with a message
#      naming the first (data_dir lock) and never connects; with its own
#      data_dir but the same manager port it cannot bind the API and exits
#      before any pipeline starts (before: it went on and killed the first
#      one's target connection). The first one never notices. Two pipelines
#      writing one target table are warned about at start.
#   8. another replica (mariadb-binlog) reads the source with cotter's
#      server_id: the status and the error alarm name the duplicate server_id
#      (before: ERROR lines with an empty message, nothing in the API).
#   9. a full disk on the target (a MyISAM table on a 3 MB tmpfs; skipped when
#      tmpfs cannot be mounted): the server waits for free space, cotter names
#      it; once the file system grows the rows arrive.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"

api() { curl -sf "http://127.0.0.1:$COTTER_MANAGER_PORT$1"; }
# check URL PYTHON_EXPR: evaluate an expression over a = the JSON at URL
check() {
  api "$1" >"$HARNESS_DIR/api.json" || return 1
  python3 -c "import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$HARNESS_DIR/api.json"
}
wait_until() { # wait_until TIMEOUT_S CMD...: poll CMD every 0.5 s
  local t=$1 i; shift
  for (( i = 0; i < t * 2; i++ )); do "$@" && return 0; sleep 0.5; done
  return 1
}
# n_events RULE STATE: events of the history with that rule and state
n_events() {
  api "/api/alarms?limit=0" | python3 -c "
import json, sys
a = json.load(sys.stdin)
print(sum(1 for e in a['history'] if e['rule'] == sys.argv[1] and e['state'] == sys.argv[2]))" "$1" "$2"
}
alarms_dump() { api "/api/alarms?limit=0"; }

# hold_start NAME SQL...: a client (pymysql, as an application would) runs
# the statements on the target and keeps its session open until hold_end
cat >"$HARNESS_DIR/hold.py" <<'PY'
import os, sys, time, pymysql
port, idfile, stopfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=False)
cur = c.cursor()
for sql in sys.argv[4:]:
    cur.execute(sql)
cur.execute("SELECT CONNECTION_ID()")
open(idfile + ".tmp", "w").write(str(cur.fetchone()[0]))
os.rename(idfile + ".tmp", idfile)
while not os.path.exists(stopfile):
    time.sleep(0.1)
c.commit()
cur.execute("UNLOCK TABLES")
PY
hold_start() {
  local name=$1; shift
  rm -f "$HARNESS_DIR/$name.id" "$HARNESS_DIR/$name.stop"
  /usr/bin/python3 "$HARNESS_DIR/hold.py" "$dst_PORT" "$HARNESS_DIR/$name.id" "$HARNESS_DIR/$name.stop" "$@" &
  harness_track $!
  local i
  for (( i = 0; i < 100; i++ )); do [ -s "$HARNESS_DIR/$name.id" ] && break; sleep 0.1; done
  [ -s "$HARNESS_DIR/$name.id" ] || fail "the lock holder $name did not start"
}
hold_end() { touch "$HARNESS_DIR/$1.stop"; }

# a small file system for the full-disk case, outside HARNESS_DIR (unmounted at exit)
SMALL=$(mktemp -d /tmp/cotter-small.XXXXXX)
if mount -t tmpfs -o size=3m tmpfs "$SMALL" 2>/dev/null; then
  chmod 777 "$SMALL"
else
  rmdir "$SMALL"; SMALL=""
fi
stalls__exit() {
  local rc=$?
  (exit $rc)
  cotter__cleanup
  rc=$?
  if [ -n "$SMALL" ]; then umount -l "$SMALL" 2>/dev/null; rmdir "$SMALL" 2>/dev/null; fi
  exit $rc
}
trap stalls__exit EXIT

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
for s in src dst; do
  mdb_sql "$s" "CREATE DATABASE st; CREATE TABLE st.t (id INT PRIMARY KEY, v INT);
                CREATE TABLE st.k (a INT, b INT); CREATE TABLE st.b (id INT PRIMARY KEY, d LONGBLOB)" \
    || fail "schema"
done
mdb_sql src "CREATE TABLE st.f (id INT PRIMARY KEY, d LONGBLOB)" || fail "schema"
mdb_sql dst "CREATE TABLE st.f (id INT PRIMARY KEY, d LONGBLOB) ENGINE=MyISAM${SMALL:+ DATA DIRECTORY='$SMALL'}" \
  || fail "schema"

COTTER_MANAGER_PORT=$(cotter__manager_port) || fail "no free port"
COTTER_TARGET_EXTRA="read_timeout: 7s"
cotter_config src dst "st.*"
cat >>"$COTTER_CFG" <<EOF2
alarms:
  delay_warning: 0
  delay_critical: 0
  stall: 4s
  error_after: 2s
  repeat: 1h
EOF2

cotter_start
cotter_wait_streaming 30
mdb_sql src "INSERT INTO st.t VALUES (1, 1)"
wait_synced src dst st 30 || fail "first row not synced"

section "1. a stuck transaction: one error alarm, a stall alarm, resolved once the position moves"
printf '%s\n' 'DELIMITER //' "CREATE TRIGGER st.slow_refusal BEFORE INSERT ON st.t FOR EACH ROW
  BEGIN IF NEW.v = 666 THEN DO SLEEP(6); SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test trigger'; END IF; END //" \
  | mdb dst || fail "trigger"
mdb_sql src "INSERT INTO st.t VALUES (2, 666)"
wait_until 30 check "/api/alarms?limit=0" 'any(f["rule"] == "error" for f in a["firing"])' \
  || fail "no error alarm for the refused row: $(alarms_dump)"
wait_until 30 check "/api/alarms?limit=0" 'any(f["rule"] == "stall" for f in a["firing"])' \
  || fail "no stall alarm while one transaction keeps failing on a quiet source: $(alarms_dump)"
# the transaction is retried several times (each attempt sleeps 6 s in RUNNING)
sleep 8
assert_eq 1 "$(n_events error firing)" "error alarm firings while the same transaction fails"
assert_eq 0 "$(n_events error resolved)" "error alarm resolutions while the transaction still fails"
assert_eq 0 "$(n_events stall resolved)" "stall alarm resolutions while the position does not move"
check "/api/alarms?limit=0" 'any(f["rule"] == "error" and "refused by the test trigger" in f["message"] for f in a["firing"])' \
  || fail "the error alarm does not name the cause: $(alarms_dump)"
check /api/pipeline/status 'a["pipelines"][0]["behind"] is True and (a["pipelines"][0]["delay_s"] or 0) > 0' \
  || fail "the status does not show the pipeline behind with a delay: $(cat "$HARNESS_DIR/api.json")"
pos_stuck=$(cotter_stored_position dst)
# `cotter status`: one line per pipeline, the cause in it, however long the message
"$COTTER_BIN" status --url "http://127.0.0.1:$COTTER_MANAGER_PORT" >"$HARNESS_DIR/status.out" 2>&1 \
  || fail "cotter status: $(cat "$HARNESS_DIR/status.out")"
line=$(grep '^p1 ' "$HARNESS_DIR/status.out")
[[ $line == *"refused by the test trigger"* ]] || fail "cotter status does not show the cause: $line"
[ "${#line}" -le 320 ] || fail "cotter status line is ${#line} characters wide: $line"

mdb_sql dst "DROP TRIGGER st.slow_refusal" || fail "drop trigger"
wait_synced src dst st 60 || fail "the refused row did not arrive once the trigger was gone"
wait_until 30 check "/api/alarms?limit=0" 'a["firing"] == []' \
  || fail "alarms still firing after the position moved: $(alarms_dump)"
[ "$(cotter_stored_position dst)" != "$pos_stuck" ] || fail "the stored position did not move"
assert_eq 1 "$(n_events error firing)" "error alarm firings for the stuck transaction"
assert_eq 1 "$(n_events error resolved)" "error alarm resolutions"
assert_eq 1 "$(n_events stall resolved)" "stall alarm resolutions"
check "/api/alarms?limit=0" '[e["notified"] for e in a["history"] if e["rule"] == "error"] == [True, True]' \
  || fail "the error alarm or its recovery was not notified: $(alarms_dump)"
check /api/pipeline/status 'a["pipelines"][0]["behind"] is False' || fail "still behind: $(cat "$HARNESS_DIR/api.json")"
"$COTTER_BIN" status --url "http://127.0.0.1:$COTTER_MANAGER_PORT" >"$HARNESS_DIR/status.out" 2>&1
grep -q '^p1 .*(recovered) ' "$HARNESS_DIR/status.out" \
  || fail "cotter status does not mark the old error as recovered: $(cat "$HARNESS_DIR/status.out")"

section "2. a new incident within alarms.repeat is notified"
mark=$(cotter_log_mark)
mdb_stop dst
mdb_sql src "INSERT INTO st.t VALUES (3, 3)"
wait_until 30 check "/api/alarms?limit=0" 'sum(1 for e in a["history"] if e["rule"] == "error" and e["state"] == "firing") == 2' \
  || fail "no error alarm for the target outage: $(alarms_dump)"
check "/api/alarms?limit=0" '[e["notified"] for e in a["history"] if e["rule"] == "error" and e["state"] == "firing"] == [True, True]' \
  || fail "the target outage (a new incident) was muted as a repeat: $(alarms_dump)"
cotter_log_since "$mark" | grep -qE 'WARN +\[alarm\] CRITICAL error alarm of pipeline p1 .*NET' \
  || fail "the outage's error alarm was not logged"
mdb_start dst || fail "target did not restart"
wait_synced src dst st 60 || fail "the row of the outage did not arrive"
wait_until 30 check "/api/alarms?limit=0" 'a["firing"] == []' || fail "alarms still firing: $(alarms_dump)"

section "3. a row lock held on the target is named, with the blocking connection"
mdb_sql dst "INSERT INTO st.t VALUES (100, 0)" || fail "row 100 on target"
mdb_sql src "SET sql_log_bin=0; INSERT INTO st.t VALUES (100, 0)" || fail "row 100 on source"
hold_start rowlock "SELECT * FROM st.t WHERE id = 100 FOR UPDATE"
holder=$(cat "$HARNESS_DIR/rowlock.id")
mdb_sql src "UPDATE st.t SET v = 1 WHERE id = 100"
# blocked shows within seconds, long before read_timeout (7 s) ends the statement
wait_until 6 check /api/pipeline/status '(a["pipelines"][0]["target_wait_s"] or 0) >= 2' \
  || fail "the blocked statement does not show in the status within seconds: $(cat "$HARNESS_DIR/api.json")"
wait_until 30 check /api/pipeline/status '"row lock" in ((a["pipelines"][0]["last_error"] or {}).get("message") or "")' \
  || fail "the row lock was not named: $(cat "$HARNESS_DIR/api.json")"
check /api/pipeline/status "\"held by connection $holder \" in a['pipelines'][0]['last_error']['message'] and 'SQL_RETRY' in a['pipelines'][0]['last_error']['message'] and 'Lost connection' not in a['pipelines'][0]['last_error']['message'] and 'not the network' in a['pipelines'][0]['last_error']['hint']" \
  || fail "the error does not name the blocking connection $holder, or still reads as a network fault: $(cat "$HARNESS_DIR/api.json")"
hold_end rowlock
wait_synced src dst st 60 || fail "the update did not arrive once the lock was released"

section "4. LOCK TABLES on the target is named, with the holding connection"
mdb_sql dst "INSTALL SONAME 'metadata_lock_info'" || fail "metadata_lock_info plugin"
hold_start tablelock "LOCK TABLES st.t WRITE"
holder=$(cat "$HARNESS_DIR/tablelock.id")
mdb_sql src "INSERT INTO st.t VALUES (101, 1)"
wait_until 30 check /api/pipeline/status '"metadata lock" in ((a["pipelines"][0]["last_error"] or {}).get("message") or "")' \
  || fail "the metadata lock was not named: $(cat "$HARNESS_DIR/api.json")"
check /api/pipeline/status "\"held by connection $holder \" in a['pipelines'][0]['last_error']['message'] and 'LOCK TABLES' in a['pipelines'][0]['last_error']['message']" \
  || fail "the error does not name LOCK TABLES of connection $holder: $(cat "$HARNESS_DIR/api.json")"
hold_end tablelock
wait_synced src dst st 60 || fail "the insert did not arrive once the table was unlocked"

section "5. drift: changes that find no target row are counted, logged and alarmed"
mdb_sql src "INSERT INTO st.k VALUES (1, 1), (2, 2)"
wait_synced src dst st 30 || fail "keyless rows not synced"
mark=$(cotter_log_mark)
mdb_sql dst "DELETE FROM st.k WHERE a = 2" || fail "drift on target"
mdb_sql src "SET sql_log_bin=0; INSERT INTO st.t VALUES (200, 0)" || fail "row 200 on source only"
mdb_sql src "DELETE FROM st.k WHERE a = 2; DELETE FROM st.t WHERE id = 200; INSERT INTO st.t VALUES (201, 1)"
wait_synced src dst st 30 || fail "the changes after the drift did not arrive"
wait_until 20 check /api/pipeline/status 'a["pipelines"][0]["not_applied"]["missing"] == 2' \
  || fail "the two changes that found no target row were not counted: $(cat "$HARNESS_DIR/api.json")"
wait_until 20 check "/api/alarms?limit=0" 'any(f["rule"] == "drift" and "2 UPDATE/DELETE row(s) matched no target row" in f["message"] for f in a["firing"])' \
  || fail "no drift alarm: $(alarms_dump)"
cotter_log_since "$mark" | grep -qE 'WARN +\[sink\] .*delete of 1 row on st\.k matched 0 rows on the target' \
  || fail "the keyless DELETE that matched no row was not logged"
cotter_log_since "$mark" | grep -qE 'WARN +\[sink\] .*on st\.t matched 0 rows on the target' \
  || fail "the keyed DELETE of a missing row was not logged"
metrics=$(api /metrics) || fail "GET /metrics"
echo "$metrics" | grep -qE '^cotter_rows_missing_total\{pipeline="p1",channel="c1"\} 2$' \
  || fail "metrics: cotter_rows_missing_total is not 2: $(echo "$metrics" | grep missing)"

section "6. a row larger than the target's max_allowed_packet is named with the size needed"
# cotter reads the limit when it connects: lower it, then end cotter's connections
mdb_sql dst "SET GLOBAL max_allowed_packet = 1048576" || fail "max_allowed_packet"
for id in $(mdb_sql dst "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = 'root'"); do
  mdb_sql dst "KILL $id" 2>/dev/null
done
wait_until 30 check /api/pipeline/status 'a["pipelines"][0]["state"] == "RUNNING"' || fail "no reconnect"
mdb_sql src "INSERT INTO st.b VALUES (1, REPEAT('x', 3000000))" || fail "big row"
wait_until 30 check /api/pipeline/status '"max_allowed_packet" in ((a["pipelines"][0]["last_error"] or {}).get("message") or "")' \
  || fail "the oversized row was not named: $(cat "$HARNESS_DIR/api.json")"
check /api/pipeline/status "'max_allowed_packet (1048576 bytes)' in a['pipelines'][0]['last_error']['message'] and 'on st.b' in a['pipelines'][0]['last_error']['message'] and 'SET GLOBAL max_allowed_packet = ' in a['pipelines'][0]['last_error']['message'] and 'max_allowed_packet' in a['pipelines'][0]['last_error']['hint']" \
  || fail "the error does not name the table, the limit and the setting to raise: $(cat "$HARNESS_DIR/api.json")"
mdb_sql dst "SET GLOBAL max_allowed_packet = 16777216" || fail "raise max_allowed_packet"
wait_synced src dst st 60 || fail "the big row did not arrive once max_allowed_packet was raised"

section "7. a second cotter that cannot start never touches a target"
mark=$(cotter_log_mark)
conns_before=$(mdb_sql dst "SELECT GROUP_CONCAT(ID ORDER BY ID) FROM information_schema.PROCESSLIST WHERE USER = 'root' AND ID <> CONNECTION_ID()")
# the second config also has a pipeline p2 writing st.t on the same target: warned at start
sed -e 's|^channels:$|channels:\n  c2:\n    pipelines:\n      - { name: p2, source: src, target: dst, tables: [ { match: "st.t" } ] }|' \
  "$COTTER_CFG" >"$HARNESS_DIR/two.yaml"
timeout 20 "$COTTER_BIN" run -c "$HARNESS_DIR/two.yaml" >"$HARNESS_DIR/second.log" 2>&1
rc=$?
assert_eq 1 "$rc" "exit code of a second cotter on the same data_dir"
grep -q "another cotter (pid $COTTER_PID) is running with data_dir" "$HARNESS_DIR/second.log" \
  || fail "the second cotter does not name the first: $(cat "$HARNESS_DIR/second.log")"
grep -qE "WARN +\[daemon\] pipelines (p1 and p2|p2 and p1) both write st\.t on target 'dst'" "$HARNESS_DIR/second.log" \
  || fail "two pipelines writing st.t were not warned about: $(cat "$HARNESS_DIR/second.log")"
sed -e "s|^data_dir: .*|data_dir: $HARNESS_DIR/var-b|" "$COTTER_CFG" >"$HARNESS_DIR/second.yaml"
timeout 20 "$COTTER_BIN" run -c "$HARNESS_DIR/second.yaml" >"$HARNESS_DIR/second-b.log" 2>&1
rc=$?
assert_eq 1 "$rc" "exit code of a second cotter whose API port is taken"
grep -qE "not starting any pipeline" "$HARNESS_DIR/second-b.log" "$HARNESS_DIR/var-b/logs/cotter.log" \
  || fail "the second cotter does not say why it stopped: $(cat "$HARNESS_DIR/second-b.log")"
grep -qE "connected to|CONNECTING" "$HARNESS_DIR/second-b.log" "$HARNESS_DIR/var-b/logs/cotter.log" \
  && fail "the second cotter connected to a target although it could not start"
conns_after=$(mdb_sql dst "SELECT GROUP_CONCAT(ID ORDER BY ID) FROM information_schema.PROCESSLIST WHERE USER = 'root' AND ID <> CONNECTION_ID()")
assert_eq "$conns_before" "$conns_after" "cotter's target connections (ids) across the failed starts"
mdb_sql src "INSERT INTO st.t VALUES (300, 3)"
wait_synced src dst st 30 || fail "the first cotter stopped applying"
cotter_log_since "$mark" | grep -E "$RE_ERROR|killing it" && fail "the first cotter was disturbed"

section "8. a duplicate server_id on the source is named"
sid=$(sed -n 's/.*server_id: \([0-9]*\).*/\1/p' "$COTTER_CFG" | head -1)
mariadb-binlog --read-from-remote-server --host=127.0.0.1 --port="$src_PORT" --user=root \
  --stop-never --stop-never-slave-server-id="$sid" binlog.000001 >/dev/null 2>&1 &
other=$!
harness_track $other
wait_until 30 check /api/pipeline/status '"same server_id" in ((a["pipelines"][0]["last_error"] or {}).get("message") or "")' \
  || fail "the duplicate server_id was not named: $(cat "$HARNESS_DIR/api.json")"
check /api/pipeline/status "'server_id $sid' in a['pipelines'][0]['last_error']['message'] and 'server_id' in a['pipelines'][0]['last_error']['hint']" \
  || fail "the error does not name server_id $sid: $(cat "$HARNESS_DIR/api.json")"
wait_until 20 check "/api/alarms?limit=0" 'any(f["rule"] == "error" and "same server_id" in f["message"] for f in a["firing"])' \
  || fail "the error alarm does not name the duplicate server_id: $(alarms_dump)"
kill "$other" 2>/dev/null; wait "$other" 2>/dev/null
mdb_sql src "INSERT INTO st.t VALUES (400, 4)"
wait_synced src dst st 60 || fail "no sync once the other reader left"

section "9. a full disk on the target is named"
if [ -z "$SMALL" ]; then
  note "skipped: tmpfs cannot be mounted here"
else
  for i in 1 2 3 4; do
    mdb_sql src "INSERT INTO st.f VALUES ($i, REPEAT('y', 1000000))" || fail "row $i"
  done
  wait_until 40 check /api/pipeline/status "'disk is full' in ((a['pipelines'][0]['last_error'] or {}).get('message') or '') and 'on st.f' in a['pipelines'][0]['last_error']['message'] and 'disk is full' in a['pipelines'][0]['last_error'].get('hint', '')" \
    || fail "the full disk was not named with the table: $(cat "$HARNESS_DIR/api.json")"
  mount -o remount,size=32m "$SMALL" || fail "remount"
  # the server re-checks for space once a minute: the operator ends the wait
  for id in $(mdb_sql dst "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE '%free%space%'"); do
    mdb_sql dst "KILL $id" 2>/dev/null
  done
  mdb_sql dst "REPAIR TABLE st.f" >/dev/null || fail "repair"
  wait_synced src dst st 60 || fail "the rows did not arrive once there was space"
fi

cotter_stop
echo "PASS test_stalls"
