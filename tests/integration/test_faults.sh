#!/usr/bin/env bash
# Faults, end to end, against one long-running `cotter run`:
#   1. the target is down for COTTER_FAULT_SECONDS (default 30) while the
#      source keeps changing: cotter stays up, says why, resumes by itself;
#   2. the source restarts mid-stream: resumes;
#   3. FLUSH LOGS several times mid-stream: continues, and when idle the
#      stored position catches up with SHOW MASTER STATUS;
#   4. ALTER TABLE ADD COLUMN on the source only, then rows using it: the
#      target is not corrupted, an ERROR names the column and says to apply
#      the change on the target; once that is done, cotter continues alone;
#   5. the same ALTER on both sides first: syncing goes on without error.
# Each step prints the log lines a user would see.
#
# Env: COTTER_BIN, COTTER_FAULT_SECONDS, COTTER_ROW_METADATA (source's
# binlog_row_metadata, default NO_LOG), COTTER_SEED.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

FAULT_S=${COTTER_FAULT_SECONDS:-30}
META=${COTTER_ROW_METADATA:-NO_LOG}
export COTTER_SEED=${COTTER_SEED:-$(( $(date +%s) % 100000 ))}
note "target down for ${FAULT_S}s; source binlog_row_metadata=$META; seed $COTTER_SEED"

# show_log MARK REGEX: print what the user saw since MARK (matching lines).
show_log() {
  local lines
  lines=$(cotter_log_since "$1" | grep -E -- "$2" | cut -c1-300)
  if [ -n "$lines" ]; then
    echo "  what the user sees:" >&2
    head -8 <<<"$lines" | sed 's/^/  | /' >&2
    (( $(wc -l <<<"$lines") > 8 )) && echo "  | ... ($(wc -l <<<"$lines") lines in all)" >&2
  fi
  return 0
}

synced_or_fail() { wait_synced src dst faults "${2:-90}" || fail "$1: target differs from source"; }

mdb_start src "binlog_row_metadata=$META" || fail "source did not start"
mdb_start dst || fail "target did not start"
writer_schema faults src dst
COTTER_PIPELINE=faults
# DDL is not applied here (ddl: ignore): step 4 checks what happens when the
# target was not changed with the source; test_ddl.sh covers ddl: apply
COTTER_PIPELINE_EXTRA="        ddl: ignore" cotter_config src dst "faults.*"
cotter_start
cotter_wait_streaming 30

# ------------------------------------------------------------------ 1
section "1. target down for ${FAULT_S}s"
writer_start src faults 2 0.05
sleep 2
mark=$(cotter_log_mark)
mdb_stop dst
note "target stopped; writers keep going on the source"
sleep "$(( FAULT_S / 2 ))"
cotter_alive
state=$(cotter_status_state)
note "status while the target is down: state=$state"
[ "$state" != RUNNING ] || fail "status file still says RUNNING $(( FAULT_S / 2 ))s after the target went down"
sleep "$(( FAULT_S - FAULT_S / 2 ))"
cotter_alive
cotter_log_since "$mark" | grep -qE "$RE_ERROR" || fail "no ERROR logged while the target was down"
show_log "$mark" "$RE_ERROR|$RE_WARN"
mdb_start dst || fail "target did not start again"
note "target is back on port $dst_PORT"
sleep 3
writer_stop
synced_or_fail "after the target came back" 120
cotter_wait_state RUNNING 10 || fail "state is '$(cotter_status_state)', not RUNNING, after catching up"
show_log "$mark" "INFO.*(streaming from|resum|reconnect|connected)"

# ------------------------------------------------------------------ 2
section "2. source restarted mid-stream"
writer_start src faults 2 0.05
sleep 2
mark=$(cotter_log_mark)
mdb_restart src "binlog_row_metadata=$META" || fail "source did not restart"
note "source restarted; binlog now at $(source_position src)"
sleep 3
writer_stop
cotter_alive
synced_or_fail "after the source restart" 90
show_log "$mark" "$RE_ERROR|$RE_WARN|streaming from"

# ------------------------------------------------------------------ 3
section "3. FLUSH LOGS mid-stream"
writer_start src faults 2 0.05
mark=$(cotter_log_mark)
first=$(source_position src)
for i in 1 2 3 4 5; do
  sleep 0.5
  mdb_sql src "FLUSH BINARY LOGS" || fail "FLUSH BINARY LOGS"
done
sleep 1
writer_stop
note "binlog went from $first to $(source_position src)"
cotter_alive
synced_or_fail "after FLUSH LOGS" 90
cotter_log_since "$mark" | grep -qE "$RE_ERROR" && { show_log "$mark" "$RE_ERROR"; fail "ERROR logged across FLUSH LOGS"; }
# idle source: the stored position follows heartbeats up to the source's end
want=$(source_position src) got=""
for (( i = 0; i < 150; i++ )); do
  got=$(cotter_stored_position dst)
  [ "$got" = "$want" ] && break
  sleep 0.1
done
assert_eq "$want" "$got" "stored position on the target vs SHOW MASTER STATUS after 15s idle"
note "stored position $got = SHOW MASTER STATUS"
show_log "$mark" "$RE_WARN|rotat"

# ------------------------------------------------------------------ 4
section "4. ALTER TABLE ADD COLUMN on the source only"
writer_start src faults 2 0.05
sleep 1
mark=$(cotter_log_mark)
mdb_sql src "ALTER TABLE faults.keyed ADD COLUMN added_col_x VARCHAR(32) NULL AFTER writer" ||
  fail "ALTER on the source"
first_id=$(mdb_sql src "SELECT MIN(id) FROM faults.keyed")
mdb_sql src "INSERT INTO faults.keyed (id, writer, added_col_x, seq, v, note, ts)
             VALUES (990000001, 99, 'new-col-1', 1, 1, 'n1', NOW(6)), (990000002, 99, 'new-col-2', 2, 2, 'n2', NOW(6));
             UPDATE faults.keyed SET added_col_x = 'set-later' WHERE id = $first_id;" ||
  fail "inserts with the new column"
sleep 1
writer_stop
note "waiting for cotter to report the missing column"
cotter_wait_log "$mark" "$RE_ERROR.*added_col_x" 30 || {
  show_log "$mark" "$RE_ERROR|$RE_WARN"
  fail "no ERROR naming the column added_col_x within 30s of the ALTER"
}
show_log "$mark" "$RE_ERROR|$RE_WARN|ALTER TABLE"
# ddl: ignore says so, quoting the statement it did not apply
cotter_log_since "$mark" | grep -E "ALTER TABLE" | grep -iE "ignor" | grep -q "added_col_x" ||
  fail "no log line saying the ALTER TABLE statement was ignored"
cotter_log_since "$mark" | grep -E "$RE_ERROR.*added_col_x" | grep -qi "target" ||
  fail "the ERROR about added_col_x does not say to change the target"
cotter_wait_state ERROR 10 || fail "status state is '$(cotter_status_state)', not ERROR"
grep -q "added_col_x" "$(cotter_status_file)" || fail "the status file's last_error does not name added_col_x"
note "status: $(grep -oE '"(state|last_error)"[[:space:]]*:[[:space:]]*("[^"]*"|null)' "$(cotter_status_file)" | tr '\n' ' ' | cut -c1-300)"
cotter_alive
# the target must hold no row written after the ALTER and nothing shifted
assert_eq 0 "$(mdb_sql dst 'SELECT COUNT(*) FROM faults.keyed WHERE id >= 990000000')" \
  "rows on the target written with the new column before the target had it"
assert_eq 0 "$(keyed_corrupt_rows dst faults)" "corrupted (shifted) rows on the target"
before=$(db_dump dst faults | md5sum)
sleep 3
assert_eq "$before" "$(db_dump dst faults | md5sum)" "target changed while the pipeline is in ERROR"
mark=$(cotter_log_mark)
mdb_sql dst "ALTER TABLE faults.keyed ADD COLUMN added_col_x VARCHAR(32) NULL AFTER writer" ||
  fail "ALTER on the target"
note "same ALTER applied on the target; cotter should continue by itself"
synced_or_fail "after fixing the target" 90
cotter_wait_state RUNNING 10 || fail "state is '$(cotter_status_state)', not RUNNING, after the target was fixed"
assert_eq "new-col-1 new-col-2" "$(mdb_sql dst 'SELECT added_col_x FROM faults.keyed WHERE id >= 990000000 ORDER BY id' | tr '\n' ' ' | sed 's/ $//')" \
  "new column values on the target"
show_log "$mark" "$RE_ERROR|$RE_WARN|streaming from"

# ------------------------------------------------------------------ 5
section "5. the same ALTER on both sides first"
writer_start src faults 2 0.05
sleep 1
mark=$(cotter_log_mark)
mdb_sql dst "ALTER TABLE faults.nokey ADD COLUMN both_col INT NOT NULL DEFAULT 7" || fail "ALTER on the target"
mdb_sql src "ALTER TABLE faults.nokey ADD COLUMN both_col INT NOT NULL DEFAULT 7" || fail "ALTER on the source"
mdb_sql src "INSERT INTO faults.nokey (writer, seq, payload, amount, both_col) VALUES (99, 1, 'both', 1.5, 42)" ||
  fail "insert with the new column"
sleep 2
writer_stop
cotter_alive
synced_or_fail "after the ALTER on both sides" 90
if cotter_log_since "$mark" | grep -qE "$RE_ERROR"; then
  show_log "$mark" "$RE_ERROR"
  fail "ERROR logged although the target had the column first"
fi
show_log "$mark" "$RE_WARN"
assert_eq RUNNING "$(cotter_status_state)" "state after the ALTER on both sides"

cotter_stop 30
section "PASS: target outage, source restart, FLUSH LOGS, schema change (source only / both)"
