#!/usr/bin/env bash
# Schema at event time without FULL metadata (issue 3): a NO_LOG source's
# TABLE_MAP carries no column names, and information_schema describes the
# table as it is now. cotter keeps a schema history by binlog position
# (DATA_DIR/schema_history.db) and follows each DDL on a temporary copy.
#   1. control: without a history (the file removed), catching up across an
#      ADD COLUMN stops with the column-count explanation, never shifting
#      columns (today's behaviour, and the fallback);
#   2. with the history: stop cotter, ADD COLUMN / insert / update / DROP
#      COLUMN / insert / MODIFY / insert on the source, start cotter from the
#      old position: every row arrives right and source and target match;
#      the replays on the temporary copy never reach the source's binlog.
# The target holds every column the source ever has (id, c, a, b VARCHAR)
# and the pipeline runs with ddl: ignore: the session's start-up mapping
# check compares the source as it is now with the target, so a target that
# still waits for the ADD COLUMN in the binlog would be refused before the
# first event. Rows are matched by column name, so a row decoded with the
# wrong shape would land in the wrong columns or stop the pipeline.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src "binlog_row_metadata=NO_LOG" || fail "source did not start"
mdb_start dst || fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }
expect_eq() { # SERVER SQL EXPECTED WHAT
  local got
  for _ in $(seq 1 100); do
    got=$(mdb_sql "$1" "$2" 2>/dev/null)
    [ "$got" = "$3" ] && return 0
    sleep 0.2
  done
  fail "$4: expected [$3], got [$got]"
}
dump() { mdb_sql "$1" "SELECT * FROM sh.$2 ORDER BY id"; }
cols() { mdb_sql "$1" "SELECT GROUP_CONCAT(CONCAT(COLUMN_NAME,' ',COLUMN_TYPE) ORDER BY ORDINAL_POSITION)
                       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='sh' AND TABLE_NAME='$2'"; }
assert_eq "NO_LOG" "$(mdb_sql src "SELECT @@binlog_row_metadata")" "source binlog_row_metadata"

q src "CREATE DATABASE sh"
q dst "CREATE DATABASE sh"
for t in t u; do
  q src "CREATE TABLE sh.$t (id INT PRIMARY KEY, a VARCHAR(20), b INT)"
  q dst "CREATE TABLE sh.$t (id INT PRIMARY KEY, c VARCHAR(10), a VARCHAR(20), b VARCHAR(30))"
done
export COTTER_PIPELINE_EXTRA="        ddl: ignore"

# alter_and_write TABLE: the DDL sequence with rows written between the steps
alter_and_write() {
  local t=$1
  q src "ALTER TABLE sh.$t ADD COLUMN c VARCHAR(10) AFTER id"
  q src "INSERT INTO sh.$t VALUES (2, 'c2', 'a2', 20)"
  q src "UPDATE sh.$t SET c='c1', a='a1x' WHERE id=1"
  q src "ALTER TABLE sh.$t DROP COLUMN a"
  q src "INSERT INTO sh.$t VALUES (3, 'c3', 30)"
  q src "ALTER TABLE sh.$t MODIFY b VARCHAR(30)"
  q src "INSERT INTO sh.$t VALUES (4, 'c4', 'forty')"
  q src "UPDATE sh.$t SET b='twenty' WHERE id=2"
}

section "1. control: no history, the catch-up stops with an explanation"
COTTER_PIPELINE=p_control cotter_config src dst "sh.u"
COTTER_PIPELINE=p_control
cotter_start
cotter_wait_streaming
q src "INSERT INTO sh.u VALUES (1, 'a1', 10)"
expect_eq dst "SELECT CONCAT_WS('|', id, a, b) FROM sh.u" "1|a1|10" "first row of sh.u"
cotter_stop
rm -f "$COTTER_DATA/schema_history.db" "$COTTER_DATA/schema_history.db-wal" \
  "$COTTER_DATA/schema_history.db-shm"
alter_and_write u
mark=$(cotter_log_mark)
cotter_start
cotter_wait_state ERROR 30 || fail "without a history the catch-up did not stop"
msg=$(cotter_log_since "$mark" | grep -E "$RE_ERROR" | head -1)
note "what the user sees: $(cut -c1-300 <<<"$msg")"
grep -q "has 4 columns but the table has 3 columns now" <<<"$msg" ||
  fail "the stop does not explain the column-count mismatch: $msg"
assert_eq "1|-|a1|10" "$(mdb_sql dst "SELECT CONCAT_WS('|', id, IFNULL(c,'-'), a, b) FROM sh.u")" \
  "sh.u rows while stopped (nothing shifted)"
cotter_stop

section "2. with the history: catch up across ADD, DROP and MODIFY COLUMN"
rm -f "$COTTER_DATA/schema_history.db" "$COTTER_DATA/schema_history.db-wal" \
  "$COTTER_DATA/schema_history.db-shm"
COTTER_PIPELINE=p_main cotter_config src dst "sh.t"
COTTER_PIPELINE=p_main
cotter_start
cotter_wait_streaming
q src "INSERT INTO sh.t VALUES (1, 'a1', 10)"
expect_eq dst "SELECT CONCAT_WS('|', id, a, b) FROM sh.t" "1|a1|10" "first row of sh.t"
cotter_stop
[ -s "$COTTER_DATA/schema_history.db" ] || fail "no schema history file in $COTTER_DATA"
alter_and_write t
note "source now: $(cols src t)"
cotter_start
cotter_wait_streaming
want=$(printf '1\tc1\ta1x\t10\n2\tc2\ta2\ttwenty\n3\tc3\tNULL\t30\n4\tc4\tNULL\tforty')
for _ in $(seq 1 100); do [ "$(dump dst t)" = "$want" ] && break; sleep 0.2; done
assert_eq "$want" "$(dump dst t)" "rows of sh.t on the target (id, c, a, b)"
assert_eq "$(mdb_sql src "SELECT id, c, b FROM sh.t ORDER BY id")" \
  "$(mdb_sql dst "SELECT id, c, b FROM sh.t ORDER BY id")" "the source's columns on both sides"
cotter_wait_state RUNNING 10 || fail "pipeline not RUNNING: $(cotter_status_state)"
cotter_log_all | grep -q "schema history: sh.t version recorded from" ||
  fail "no version of sh.t was recorded"
if mdb_sql src "SHOW BINLOG EVENTS" | grep -q "_cotter_schema_history"; then
  fail "the replay on the temporary copy reached the source's binlog"
fi

section "3. again from disk: versions made by replays, columns re-added and dropped"
cotter_stop
q src "ALTER TABLE sh.t ADD COLUMN a VARCHAR(20)"
q src "INSERT INTO sh.t VALUES (5, 'c5', 'fifty', 'a5')"
q src "ALTER TABLE sh.t DROP COLUMN c"
q src "INSERT INTO sh.t VALUES (6, 'sixty', 'a6')"
cotter_start
cotter_wait_streaming
expect_eq dst "SELECT CONCAT_WS('|', id, IFNULL(c,'-'), a, b) FROM sh.t WHERE id>4 ORDER BY id" \
  "$(printf '5|c5|a5|fifty\n6|-|a6|sixty')" "rows after the second catch-up"
cotter_stop
note "PASS: schema history"
