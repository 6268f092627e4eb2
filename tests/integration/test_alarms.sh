#!/usr/bin/env bash
# Alarms (docs/alarms.md) against a live `cotter run`, with a webhook
# receiver (python3 http.server) and a command hook recording every event:
#   1. nothing fires while the pipeline keeps up;
#   2. the target is stopped while the source writes: the error alarm fires
#      (retriable NET errors for error_after), the delay alarm fires as a
#      warning then escalates to critical, the stall and error-rate alarms
#      fire; webhook and hook get the JSON; GET
#      /api/alarms and /metrics show them firing;
#   3. auto-recovery restarts the channel at most max_per_hour times, each
#      restart logged and audited (who: auto-recovery);
#   4. the target comes back: the rows arrive and every alarm (delay, error,
#      stall, error_rate) sends a recovery ("resolved") notice;
#   5. suppression is per incident (issue 18): a second outage within
#      alarms.repeat, after rows were applied, is a new incident (another
#      position): its error alarm is notified again, webhook included.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"

HOOK_OUT="$HARNESS_DIR/webhook.jsonl"
CMD_OUT="$HARNESS_DIR/command.log"
AUDIT="$COTTER_DATA/logs/audit.log"
: >"$HOOK_OUT"
: >"$CMD_OUT"

# ---- the webhook receiver: one line per POSTed body
cat >"$HARNESS_DIR/receiver.py" <<'PY'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = self.headers.get("Content-Type", "")
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200 if ctype == "application/json" else 415)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
HOOK_PORT=$(harness_free_port) || fail "no free port"
python3 "$HARNESS_DIR/receiver.py" "$HOOK_PORT" "$HOOK_OUT" &
harness_track $!
disown $! # killed by the harness at exit, quietly

# ---- the command hook: env and stdin of each run
cat >"$HARNESS_DIR/hook.sh" <<EOF2
#!/bin/sh
json=\$(cat)
echo "\$COTTER_ALARM_STATE \$COTTER_ALARM_RULE \$COTTER_ALARM_SEVERITY \$COTTER_ALARM_CHANNEL \$COTTER_ALARM_PIPELINE \$json" >>"$CMD_OUT"
EOF2
chmod +x "$HARNESS_DIR/hook.sh"

# events FILE RULE STATE [SEVERITY]: how many JSON events in FILE (one per
# line) have that rule, state (and severity)
events() {
  python3 - "$@" <<'PY'
import json, sys
path, rule, state = sys.argv[1:4]
sev = sys.argv[4] if len(sys.argv) > 4 else None
n = 0
for line in open(path):
    line = line.strip()
    if not line:
        continue
    e = json.loads(line)
    if e["rule"] == rule and e["state"] == state and (sev is None or e["severity"] == sev):
        assert e["channel"] == "c1" and e["pipeline"] == "p1", e
        n += 1
print(n)
PY
}

# api_alarms_check PYTHON_EXPR: evaluate an expression over a = GET /api/alarms
api_alarms_check() {
  curl -sf "http://127.0.0.1:$COTTER_MANAGER_PORT/api/alarms?limit=0" >"$HARNESS_DIR/alarms.json" \
    || return 1
  python3 -c "import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
    "$HARNESS_DIR/alarms.json"
}

wait_until() { # wait_until TIMEOUT_S CMD...: poll CMD every 0.5 s
  local t=$1 i; shift
  for (( i = 0; i < t * 2; i++ )); do "$@" && return 0; sleep 0.5; done
  return 1
}
ge() { [ "$(events "$1" "$2" "$3" ${4:+"$4"})" -ge "$5" ]; }

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
mdb_sql src "CREATE DATABASE al; CREATE TABLE al.t (id INT PRIMARY KEY, v INT)" || fail "schema"
mdb_sql dst "CREATE DATABASE al; CREATE TABLE al.t (id INT PRIMARY KEY, v INT)" || fail "schema"

COTTER_MANAGER_PORT=$(cotter__manager_port) || fail "no free port"
cotter_config src dst "al.*"
cat >>"$COTTER_CFG" <<EOF2
alarms:
  delay_warning: 3s
  delay_critical: 6s
  stall: 4s
  error_after: 2s
  error_rate: 50
  error_window: 10s
  repeat: 1h
  webhook: { url: "http://127.0.0.1:$HOOK_PORT/hook", timeout: 2s, retries: 1 }
  command: { run: "$HARNESS_DIR/hook.sh", timeout: 5s }
  auto_recovery: { enabled: true, max_per_hour: 2 }
EOF2

section "1. quiet while in sync"
cotter_start
cotter_wait_streaming 30
mdb_sql src "INSERT INTO al.t VALUES (1, 1), (2, 2)"
wait_synced src dst al 30 || fail "first rows not synced"
sleep 2
[ -s "$HOOK_OUT" ] && fail "the webhook got events while nothing was wrong: $(cat "$HOOK_OUT")"
api_alarms_check 'a["firing"] == [] and a["history"] == []' || fail "alarms firing: $(cat "$HARNESS_DIR/alarms.json")"

section "2. target down: error and delay alarms fire"
mark=$(cotter_log_mark)
mdb_stop dst
mdb_sql src "INSERT INTO al.t VALUES (3, 3), (4, 4)"
wait_until 30 ge "$HOOK_OUT" error firing critical 1 || fail "no error alarm on the webhook"
wait_until 30 ge "$HOOK_OUT" delay firing warning 1 || fail "no delay warning on the webhook"
wait_until 30 ge "$HOOK_OUT" delay firing critical 1 || fail "no delay critical on the webhook"
wait_until 30 ge "$HOOK_OUT" stall firing critical 1 || fail "no stall alarm on the webhook"
wait_until 30 ge "$HOOK_OUT" error_rate firing warning 1 || fail "no error_rate alarm on the webhook"
python3 - "$HOOK_OUT" <<'PY' || fail "webhook event JSON lacks fields"
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    for k in ("id", "ts", "rule", "state", "severity", "channel", "pipeline", "value",
              "threshold", "since", "message", "notified"):
        assert k in e, (k, e)
    if e["rule"] == "error":
        assert "NET" in e["message"] and "retriable" in e["message"], e
PY
api_alarms_check 'any(f["rule"] == "delay" and f["severity"] == "critical" for f in a["firing"]) and any(f["rule"] == "error" for f in a["firing"]) and a["counts"]["critical"] >= 2' \
  || fail "GET /api/alarms does not show the alarms firing: $(cat "$HARNESS_DIR/alarms.json")"
metrics=$(curl -sf "http://127.0.0.1:$COTTER_MANAGER_PORT/metrics") || fail "GET /metrics"
echo "$metrics" | grep -qE '^cotter_alarms_firing\{severity="critical"\} [2-9]' \
  || fail "metrics: no critical alarms firing: $(echo "$metrics" | grep alarms)"
echo "$metrics" | grep -qE '^cotter_pipeline_errors_total\{pipeline="p1",channel="c1",class="NET"\} [1-9]' \
  || fail "metrics: no NET errors counted: $(echo "$metrics" | grep errors_total)"
echo "$metrics" | grep -qE '^cotter_pipeline_retries_total\{pipeline="p1",channel="c1"\} [1-9]' \
  || fail "metrics: no retries counted"
grep -q "^firing error critical c1 p1 {" "$CMD_OUT" || fail "the command hook did not get the error alarm: $(cat "$CMD_OUT")"
cotter_log_since "$mark" | grep -qE 'WARN +\[alarm\] CRITICAL error alarm of pipeline p1' \
  || fail "the log notifier did not log the error alarm"

section "3. auto-recovery: at most max_per_hour restarts, audited"
cotter_wait_log "$mark" "auto-recovery: channel c1 was restarted 2 time\(s\) in the last hour" 40 \
  || fail "auto-recovery did not stop at max_per_hour=2"
n=$(grep -c '"who":"auto-recovery".*"action":"restart"' "$AUDIT")
assert_eq 2 "$n" "auto-recovery restarts in the audit log"
n=$(cotter_log_since "$mark" | grep -c "auto-recovery: restarting channel c1")
assert_eq 2 "$n" "auto-recovery restarts logged"
cotter_alive

section "4. target back: rows arrive, alarms resolve"
mdb_start dst || fail "target did not restart"
wait_synced src dst al 60 || fail "rows written during the outage did not arrive"
wait_until 30 ge "$HOOK_OUT" error resolved critical 1 || fail "no error recovery on the webhook"
wait_until 30 ge "$HOOK_OUT" delay resolved "" 1 || fail "no delay recovery on the webhook"
wait_until 30 ge "$HOOK_OUT" stall resolved "" 1 || fail "no stall recovery on the webhook"
# the failures leave the 10 s window: the rate falls to 0
wait_until 40 ge "$HOOK_OUT" error_rate resolved "" 1 || fail "no error_rate recovery on the webhook"
grep -q "^resolved error critical c1 p1 {" "$CMD_OUT" || fail "the command hook did not get the recovery"
api_alarms_check 'a["firing"] == []' || fail "alarms still firing: $(cat "$HARNESS_DIR/alarms.json")"
assert_eq 1 "$(events "$HOOK_OUT" error firing)" "error alarm notices"

section "5. a new incident within alarms.repeat is notified"
mdb_stop dst
mdb_sql src "INSERT INTO al.t VALUES (5, 5)"
wait_until 30 api_alarms_check 'sum(1 for e in a["history"] if e["rule"] == "error" and e["state"] == "firing") == 2' \
  || fail "the second error alarm was not recorded: $(cat "$HARNESS_DIR/alarms.json")"
api_alarms_check '[e["notified"] for e in a["history"] if e["rule"] == "error" and e["state"] == "firing"] == [True, True]' \
  || fail "the second outage (a new incident) was muted: $(cat "$HARNESS_DIR/alarms.json")"
mdb_start dst || fail "target did not restart"
wait_synced src dst al 60 || fail "rows of the second outage did not arrive"
wait_until 30 api_alarms_check 'a["firing"] == []' || fail "alarms still firing after the second outage"
sleep 1
assert_eq 2 "$(events "$HOOK_OUT" error firing)" "error alarm notices of two incidents"
assert_eq 2 "$(events "$HOOK_OUT" error resolved)" "error recovery notices of two incidents"
[ -s "$COTTER_DATA/logs/alarms.log" ] || fail "no alarms.log"
assert_eq 600 "$(stat -c %a "$COTTER_DATA/logs/alarms.log")" "alarms.log mode"

cotter_stop
note "webhook events: $(wc -l <"$HOOK_OUT"), command runs: $(wc -l <"$CMD_OUT")"
echo "PASS test_alarms"
