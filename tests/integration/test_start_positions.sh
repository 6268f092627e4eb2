#!/usr/bin/env bash
# Where a pipeline starts reading (issue 2, select):
#   1. first start without `start:` -> the source's current end: rows written
#      before cotter started are not copied, rows after are; a restart then
#      resumes from the position stored on the target (a keyless table would
#      show any re-applied row as a duplicate);
#   2. `start: {file, pos}` -> exactly the transactions after that position;
#   3. `start: {gtid}` (MariaDB GTID state) -> exactly the transactions after
#      that GTID.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
schema="CREATE DATABASE sp; CREATE TABLE sp.t (id INT PRIMARY KEY, phase VARCHAR(10));
        CREATE TABLE sp.nk (phase VARCHAR(10), n INT)"
mdb_sql src "$schema" && mdb_sql dst "$schema" || fail "schema"

ids() { mdb_sql "$1" "SELECT GROUP_CONCAT(id ORDER BY id) FROM sp.t"; }
nk_rows() { mdb_sql "$1" "SELECT COUNT(*) FROM sp.nk"; }
reset_target() {
  mdb_sql dst "DELETE FROM sp.t; DELETE FROM sp.nk; DROP DATABASE IF EXISTS cotter" || fail "reset"
  rm -rf "$COTTER_DATA"
}
insert_phase() { # insert_phase PHASE FIRST_ID LAST_ID
  local i sql=""
  for i in $(seq "$2" "$3"); do
    sql+="INSERT INTO sp.t VALUES ($i, '$1'); INSERT INTO sp.nk VALUES ('$1', $i);"
  done
  mdb_sql src "$sql" || fail "insert $1"
}

section "1. first start at the source's end, restart resumes from the target's position"
insert_phase before 1 3
cotter_config src dst "sp.*"
cotter_start
cotter_wait_streaming
insert_phase after 4 6
wait_synced_ids() { # wait_synced_ids EXPECTED
  local got
  for _ in $(seq 1 100); do
    got=$(ids dst)
    [ "$got" = "$1" ] && return 0
    sleep 0.2
  done
  fail "target ids: expected '$1', got '$got'"
}
wait_synced_ids "4,5,6"
cotter_stop
insert_phase offline 7 8
cotter_start
cotter_wait_streaming
wait_synced_ids "4,5,6,7,8"
assert_eq 5 "$(nk_rows dst)" "keyless rows after a restart (a re-applied row would be a duplicate)"
cotter_stop
note "default start: copied only what came after the start; restart resumed without duplicates"

section "2. start: {file, pos}"
reset_target
read -r file pos _ < <(mdb_sql src "SHOW MASTER STATUS")
note "starting from $file:$pos"
insert_phase filepos 9 10
COTTER_PIPELINE_EXTRA="        start: { file: $file, pos: $pos }" cotter_config src dst "sp.*"
cotter_start
cotter_wait_streaming
wait_synced_ids "9,10"
assert_eq 2 "$(nk_rows dst)" "keyless rows from the file:pos start"
cotter_stop

section "3. start: {gtid}"
reset_target
gtid=$(mdb_sql src "SELECT @@global.gtid_binlog_pos")
note "starting after GTID $gtid"
insert_phase gtid 11 13
COTTER_PIPELINE_EXTRA="        start: { gtid: \"$gtid\" }" cotter_config src dst "sp.*"
cotter_start
cotter_wait_streaming
wait_synced_ids "11,12,13"
assert_eq 3 "$(nk_rows dst)" "keyless rows from the GTID start"
cotter_stop
note "PASS: start positions"
