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

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
for s in src dst; do
  mdb_sql "$s" "CREATE DATABASE st; CREATE TABLE st.t (id INT PRIMARY KEY, v INT)" || fail "schema"
done

COTTER_MANAGER_PORT=$(cotter__manager_port) || fail "no free port"
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
sleep 16
assert_eq 1 "$(n_events error firing)" "error alarm firings while the same transaction fails"
assert_eq 0 "$(n_events error resolved)" "error alarm resolutions while the transaction still fails"
assert_eq 0 "$(n_events stall resolved)" "stall alarm resolutions while the position does not move"
check "/api/alarms?limit=0" 'any(f["rule"] == "error" and "refused by the test trigger" in f["message"] for f in a["firing"])' \
  || fail "the error alarm does not name the cause: $(alarms_dump)"
check /api/pipeline/status 'a["pipelines"][0]["behind"] is True and (a["pipelines"][0]["delay_s"] or 0) > 0' \
  || fail "the status does not show the pipeline behind with a delay: $(cat "$HARNESS_DIR/api.json")"
pos_stuck=$(cotter_stored_position dst)

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

cotter_stop
echo "PASS test_stalls"
