#!/usr/bin/env bash
# DDL replication, on a real source and target with a rename mapping
# (shop.* -> wh.{table}):
#   1. the sink alone (sink_driver): a DDL runs as handed over; "already
#      done" errors of a re-run count as done only where that is equivalent
#      (ALTER of several clauses, RENAME: only as the first thing after the
#      stored position; a RENAME also checks the target's tables);
#   2. cotter running, policy apply: ALTER ADD/MODIFY/DROP COLUMN while
#      writers change the tables, CREATE / CREATE LIKE / RENAME / ALTER RENAME
#      / TRUNCATE / CREATE+DROP INDEX / DROP TABLE, an unqualified DDL, DDL of
#      tables outside the mapping; source and target compared (rows, columns
#      and types);
#   3. a gh-ost style swap done by hand while a writer keeps changing the
#      table (ghost table created LIKE, altered, filled by INSERT..SELECT,
#      changelog table with rows, atomic RENAME of two pairs, DROP);
#   4. a crash between a DDL and its position commit, replayed by moving the
#      stored position back before one DDL of each kind, and kill -9 right
#      after DDLs: the restart re-runs the DDL without failing;
#   5. the policies: ignore (logged, not run; the rows after it then fail
#      until the target is fixed), stop (ERROR with the statement and what to
#      do, retried until the config changes), and a partly mapped RENAME that
#      cannot be followed (refused with a message; ddl: ignore passes it);
#   6. a DDL running longer than the target's read_timeout (ddl_timeout).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
writer_schema shop src
writer_schema wh dst

# has_col SERVER SCHEMA TABLE COLUMN: 1 when the column exists, else 0
has_col() {
  mdb_sql "$1" "SELECT COUNT(*) FROM information_schema.COLUMNS
                WHERE TABLE_SCHEMA='$2' AND TABLE_NAME='$3' AND COLUMN_NAME='$4'"
}
# tables SERVER SCHEMA: the tables of SCHEMA, space-separated, sorted bytewise
tables() {
  mdb_sql "$1" "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='$2'" |
    LC_ALL=C sort | paste -sd' '
}
status_error() { grep -o '"last_error":"[^"]*' "$(cotter_status_file)" 2>/dev/null | cut -d'"' -f4-; }
synced() { wait_synced src dst shop "${1:-60}" wh || fail "${2:-source and target differ}"; }

# ---------------------------------------------------------------------------
section "1. the sink runs a DDL as handed over; re-runs count as done only where equivalent"
DRIVER="$(dirname "$COTTER_BIN")/sink_driver"
[ -x "$DRIVER" ] || fail "no sink_driver next to $COTTER_BIN (it is built with cotter)"
DRV_ERR="$HARNESS_DIR/driver.stderr"
drive() { "$DRIVER" 2>>"$DRV_ERR"; }
no_err() { ! grep -q '^ERR' <<<"$1" || fail "$2: $(grep '^ERR' <<<"$1" | cut -c1-600)"; }
has() { grep -qF -- "$2" <<<"$1" || fail "$3: [$2] not in: $(cut -c1-800 <<<"$1")"; }
URL=$(mdb_url dst)
mdb_sql dst "CREATE DATABASE sk; CREATE TABLE sk.k (id INT PRIMARY KEY, a INT)" || fail "sk schema"
ALTER2='ALTER TABLE `sk`.`k` ADD COLUMN b INT, ADD INDEX ib (b)'

out=$(drive <<EOF
open $URL dst drv
load
begin
ddl shop $ALTER2
commit binlog.000001 100 - 1700000000
EOF
)
no_err "$out" "an ALTER of two clauses runs"
assert_eq 1 "$(has_col dst sk k b)" "column b added by the sink"

: >"$DRV_ERR"
out=$(drive <<EOF
open $URL dst drv
load
begin
ddl shop $ALTER2
commit binlog.000001 200 - 1700000001
EOF
)
no_err "$out" "the same ALTER as the first thing after the stored position (a re-run) is done"
grep -q "looks already applied" "$DRV_ERR" || fail "no WARN that the re-run looks already applied"

out=$(drive <<EOF
open $URL dst drv
load
table 1 shop.k sk.k id:i a:i b:i
begin
ins 1 1 1 1
apply
commit binlog.000001 300 - 1700000002
begin
ddl shop $ALTER2
EOF
)
has "$out" "ERR SCHEMA" "the two-clause ALTER after rows is no re-run: refused"
has "$out" "Duplicate column name 'b'" "the server's reason is shown"
has "$out" 'statement: ALTER TABLE `sk`.`k` ADD COLUMN b INT' "the statement is shown"

out=$(drive <<EOF
open $URL dst drv
load
table 1 shop.k sk.k id:i a:i b:i
begin
ins 1 2 2 2
apply
commit binlog.000001 400 - 1700000003
begin
ddl shop ALTER TABLE \`sk\`.\`k\` ADD COLUMN b INT
ddl shop CREATE TABLE \`sk\`.\`k\` (id INT PRIMARY KEY)
ddl shop CREATE INDEX ib ON \`sk\`.\`k\` (b)
ddl shop DROP TABLE \`sk\`.\`never\`
ddl shop ALTER TABLE \`sk\`.\`k\` DROP COLUMN zz
ddl shop DROP INDEX zz ON \`sk\`.\`k\`
commit binlog.000001 500 - 1700000004
EOF
)
no_err "$out" "single-clause re-runs (ADD COLUMN, CREATE TABLE, CREATE INDEX, DROP TABLE/COLUMN/INDEX) are done"

out=$(drive <<EOF
open $URL dst drv
load
begin
ddl shop ALTER TABLE \`sk\`.\`k\` MODIFY zz INT
EOF
)
has "$out" "ERR SCHEMA" "MODIFY of a missing column is no re-run, even first after the position"
has "$out" "cotter retries it" "the message says it is retried"

mdb_sql dst "CREATE TABLE sk.t (a INT); CREATE TABLE sk._t_gho (a INT, g INT)" || fail "sk swap tables"
SWAP='RENAME TABLE `sk`.`t` TO `sk`.`_t_del`, `sk`.`_t_gho` TO `sk`.`t`'
out=$(drive <<EOF
open $URL dst drv
load
begin
ddl shop $SWAP
commit binlog.000001 600 - 1700000005
EOF
)
no_err "$out" "a gh-ost swap runs"
assert_eq "_t_del k t" "$(tables dst sk)" "tables after the swap"
out=$(drive <<EOF
open $URL dst drv
load
begin
ddl shop $SWAP
commit binlog.000001 700 - 1700000006
EOF
)
no_err "$out" "the swap re-run right after the stored position: the target already looks swapped"
mdb_sql dst "DROP TABLE sk._t_del" || fail "drop _t_del"
out=$(drive <<EOF
open $URL dst drv
load
begin
ddl shop $SWAP
EOF
)
has "$out" "ERR SCHEMA" "a swap that does not match the target's tables is refused"

out=$(drive <<EOF
open $URL dst drv
load
begin
ddl shop ALTER TABLE \`sk\`.\`missing\` ADD x INT
ddl mysql CREATE USER x IDENTIFIED BY 'topsecret-pw'
EOF
)
has "$out" "ERR SCHEMA" "a DDL on a table the target lacks"
has "$out" "DDL failed" "... says the DDL failed"
out=$(drive <<EOF
open $URL dst drv
load
begin
ddl mysql CREATE USER x IDENTIFIED BY 'topsecret-pw'
EOF
)
no_err "$out" "a statement not about tables is skipped"
! grep -q "topsecret-pw" "$DRV_ERR" || fail "a statement with a password was logged"
assert_eq 0 "$(mdb_sql dst "SELECT COUNT(*) FROM mysql.user WHERE User='x'")" "CREATE USER not run"
note "sink: runs DDL, judges re-runs per statement kind, refuses what is not equivalent"

# ---------------------------------------------------------------------------
section "2. policy apply: DDL while rows flow, renamed by the mapping"
cotter_config src dst "shop.*=>wh.{table}"
cotter_start
cotter_wait_streaming
writer_start src shop 2
sleep 1
mdb_sql src "ALTER TABLE shop.keyed ADD COLUMN extra INT NOT NULL DEFAULT 7, ADD INDEX i_extra (extra)" || fail "alter 1"
sleep 0.5
mdb_sql src "UPDATE shop.keyed SET extra = extra + id % 5 WHERE id % 3 = 0" || fail "update extra"
mdb_sql src "ALTER TABLE shop.keyed MODIFY note VARCHAR(100)" || fail "alter modify"
mdb_sql src "ALTER TABLE shop.nokey ADD COLUMN tag VARCHAR(8) DEFAULT 'x' FIRST" || fail "alter nokey"
sleep 0.5
mdb_sql src "ALTER TABLE shop.keyed DROP COLUMN extra" || fail "alter drop"
mdb_sql src "CREATE TABLE shop.t2 (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
             INSERT INTO shop.t2 VALUES (1, 'one'), (2, 'two');
             RENAME TABLE shop.t2 TO shop.t3;
             INSERT INTO shop.t3 VALUES (3, 'three');
             TRUNCATE TABLE shop.t3;
             INSERT INTO shop.t3 VALUES (4, 'four'), (5, 'five');
             CREATE INDEX iv ON shop.t3 (v);
             CREATE UNIQUE INDEX uv ON shop.t3 (v);
             DROP INDEX iv ON shop.t3;
             CREATE TABLE shop.t4 LIKE shop.t3;
             INSERT INTO shop.t4 SELECT * FROM shop.t3;
             CREATE TABLE shop.gone (a INT, s VARCHAR(5));
             INSERT INTO shop.gone VALUES (1, 'x');
             DROP TABLE IF EXISTS shop.gone, shop.never_there;
             ALTER TABLE shop.t4 ADD COLUMN w INT DEFAULT 9, RENAME TO shop.t6;
             INSERT INTO shop.t6 (id, v) VALUES (6, 'six');" || fail "table DDL"
# unqualified names take the statement's default schema
mdb src shop -e "CREATE TABLE t5 (a INT PRIMARY KEY, b TEXT); INSERT INTO t5 VALUES (1, 'x')" || fail "unqualified"
# tables outside the mapping stay on the source
mdb_sql src "CREATE DATABASE other; CREATE TABLE other.x (a INT); INSERT INTO other.x VALUES (1);
             CREATE VIEW shop.v AS SELECT id FROM shop.t3" || fail "outside"
sleep 1
writer_stop
synced 90 "after DDL with rows flowing"
assert_eq "keyed nokey t3 t5 t6" "$(tables dst wh)" "target tables"
assert_eq 0 "$(mdb_sql dst "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop', 'other')")" \
  "no DDL went to the source's schema names on the target"
assert_eq "varchar(100)" "$(mdb_sql dst "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='wh' AND TABLE_NAME='keyed' AND COLUMN_NAME='note'")" \
  "MODIFY applied on the target"
assert_eq "uv" "$(mdb_sql dst "SELECT GROUP_CONCAT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='wh' AND TABLE_NAME='t3' AND INDEX_NAME <> 'PRIMARY'")" \
  "indexes created and dropped on the target"
[ "$(keyed_corrupt_rows dst wh)" = 0 ] || fail "rows of keyed shifted on the target"
cotter_wait_state RUNNING 10 || fail "pipeline is $(cotter_status_state), not RUNNING"
cotter_log_since "$COTTER_START_MARK" | grep -qE "$RE_ERROR" && fail "an ERROR was logged during section 2"
note "apply: $(cotter_log_since "$COTTER_START_MARK" | grep -c 'applied DDL') DDL statements applied"

# ---------------------------------------------------------------------------
section "3. a gh-ost style swap by hand while a writer changes the table"
writer_start src shop 1 0.01
sleep 1
mdb_sql src "CREATE TABLE shop._keyed_ghc (id BIGINT AUTO_INCREMENT PRIMARY KEY,
               last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, hint VARCHAR(64) NOT NULL,
               value VARCHAR(255) NOT NULL, UNIQUE KEY hint_uidx (hint)) AUTO_INCREMENT=256;
             INSERT INTO shop._keyed_ghc (hint, value) VALUES ('state', 'GhostTableMigrated');
             CREATE TABLE shop._keyed_gho LIKE shop.keyed;
             ALTER TABLE shop._keyed_gho ADD COLUMN gh INT NOT NULL DEFAULT 1, MODIFY note VARCHAR(120)" \
  || fail "gh-ost: ghost table"
mdb_sql src "INSERT IGNORE INTO shop._keyed_gho (id, writer, seq, v, note, ts)
               SELECT id, writer, seq, v, note, ts FROM shop.keyed;
             REPLACE INTO shop._keyed_ghc (hint, value) VALUES ('heartbeat', NOW(6))" || fail "gh-ost: copy"
sleep 0.5
mdb_sql src "RENAME TABLE shop.keyed TO shop._keyed_del, shop._keyed_gho TO shop.keyed" || fail "gh-ost: swap"
sleep 0.5
mdb_sql src "DROP TABLE IF EXISTS shop._keyed_del; DROP TABLE IF EXISTS shop._keyed_ghc" || fail "gh-ost: cleanup"
sleep 1
writer_stop
synced 90 "after the gh-ost swap"
assert_eq "keyed nokey t3 t5 t6" "$(tables dst wh)" "target tables after the swap (no shadow left, no changelog)"
assert_eq 1 "$(has_col dst wh keyed gh)" "the swapped-in table has the new column on the target"
cotter_log_since "$COTTER_START_MARK" | grep -qE "$RE_ERROR" && fail "an ERROR was logged during the swap"
cotter_stop
note "gh-ost swap followed on the target"

# ---------------------------------------------------------------------------
section "4. a crash between a DDL and its position commit: the restart re-runs it"
# rerun_case NAME SQL: run SQL (one DDL) on the source, let cotter apply it,
# then put the stored position back before it, as if cotter died before
# committing the position, and restart: the DDL runs again and must pass.
rerun_case() {
  local name=$1 sql=$2 file pos gtid mark
  read -r file pos _ < <(mdb_sql src "SHOW MASTER STATUS")
  gtid=$(mdb_sql src "SELECT @@global.gtid_binlog_pos")
  cotter_start
  cotter_wait_streaming
  mdb_sql src "$sql" || fail "$name: source"
  synced 60 "$name: first run"
  cotter_stop
  mdb_sql dst "UPDATE cotter.positions SET binlog_file='$file', binlog_pos=$pos, gtid='$gtid'
               WHERE pipeline='$COTTER_PIPELINE'" || fail "$name: position back"
  mark=$(cotter_log_mark)
  cotter_start
  cotter_wait_streaming
  cotter_wait_log "$mark" "(applied DDL|looks already applied).*" 30 || fail "$name: the DDL was not re-run"
  mdb_sql src "INSERT INTO shop.t5 SELECT MAX(a) + 1, '$name' FROM shop.t5" || fail "$name: row"
  synced 60 "$name: after the re-run"
  cotter_log_since "$mark" | grep -qE "$RE_ERROR" && fail "$name: the re-run logged an ERROR"
  cotter_wait_state RUNNING 10 || fail "$name: pipeline is $(cotter_status_state)"
  note "$name: $(cotter_log_since "$mark" | grep -oE '(applied DDL|looks already applied)' | head -1)"
  cotter_stop
}
rerun_case "ALTER of two clauses" "ALTER TABLE shop.t3 ADD COLUMN r1 INT, ADD INDEX ir1 (r1)"
rerun_case "ALTER DROP COLUMN" "ALTER TABLE shop.t3 DROP COLUMN r1"
rerun_case "CREATE TABLE" "CREATE TABLE shop.r2 (a INT PRIMARY KEY)"
rerun_case "CREATE INDEX" "CREATE INDEX ia ON shop.r2 (a)"
rerun_case "RENAME swap" "RENAME TABLE shop.r2 TO shop._r3_del, shop.t6 TO shop.r2"
rerun_case "ALTER RENAME" "ALTER TABLE shop._r3_del RENAME TO shop.r3"
rerun_case "DROP TABLE" "DROP TABLE shop.r3"
rerun_case "TRUNCATE" "TRUNCATE TABLE shop.r2"

note "kill -9 right after DDLs while a writer runs"
cotter_start
cotter_wait_streaming
writer_start src shop 1 0.01
for i in 1 2 3; do
  mdb_sql src "ALTER TABLE shop.nokey ADD COLUMN k$i INT DEFAULT $i" || fail "kill $i: alter"
  sleep "0.0$(( i * 3 ))"
  cotter_kill
  cotter_start
  cotter_wait_streaming
done
writer_stop
synced 90 "after kill -9 right after DDLs"
[ "$(nokey_surplus src shop)" = "$(nokey_surplus dst wh)" ] || fail "keyless rows applied twice"
cotter_stop

# ---------------------------------------------------------------------------
section "5a. ddl: ignore"
COTTER_PIPELINE_EXTRA="        ddl: ignore" cotter_config src dst "shop.*=>wh.{table}"
cotter_start
cotter_wait_streaming
mark=$(cotter_log_mark)
mdb_sql src "ALTER TABLE shop.t3 ADD COLUMN ign INT DEFAULT 5" || fail "ignore: alter"
cotter_wait_log "$mark" 'not applied \(ddl: ignore\).*ADD COLUMN ign' 30 || fail "no INFO line for the ignored DDL"
assert_eq 0 "$(has_col dst wh t3 ign)" "the ignored DDL did not run on the target"
mdb_sql src "INSERT INTO shop.t3 (id, v, ign) VALUES (100, 'after', 6)" || fail "ignore: insert"
cotter_wait_state ERROR 30 || fail "rows for a column the target lacks did not stop the pipeline"
grep -q "ign" <<<"$(status_error)" || fail "the error does not name the missing column: $(status_error)"
note "ignore: rows after it fail clearly: $(status_error | cut -c1-200)"
mdb_sql dst "ALTER TABLE wh.t3 ADD COLUMN ign INT DEFAULT 5" || fail "fix the target"
synced 60 "after fixing the target by hand"
cotter_wait_state RUNNING 30 || fail "pipeline did not recover after the target was fixed"
cotter_stop

section "5b. ddl: stop"
COTTER_PIPELINE_EXTRA="        ddl: stop" cotter_config src dst "shop.*=>wh.{table}"
cotter_start
cotter_wait_streaming
mark=$(cotter_log_mark)
mdb_sql src "ALTER TABLE shop.t3 ADD COLUMN st INT; INSERT INTO shop.t3 (id, v, st) VALUES (101, 'st', 1)" || fail "stop: alter"
cotter_wait_state ERROR 30 || fail "ddl: stop did not stop the pipeline"
msg=$(status_error)
grep -qF 'ALTER TABLE `wh`.`t3` ADD COLUMN st INT' <<<"$msg" || fail "the error does not show the target's statement: $msg"
grep -qF "apply it on the target yourself, then set ddl: ignore for one restart, or ddl: apply" <<<"$msg" \
  || fail "the error does not say what to do: $msg"
note "stop: the user sees: $(cut -c1-300 <<<"$msg")"
sleep 3
n=$(cotter_log_since "$mark" | grep -c "ddl: stop")
(( n >= 2 )) || fail "the stopped pipeline is not retried ($n attempts logged)"
assert_eq 0 "$(has_col dst wh t3 st)" "ddl: stop did not run the statement"
mdb_sql dst 'ALTER TABLE `wh`.`t3` ADD COLUMN st INT' || fail "stop: user applies it"
cotter_stop
COTTER_PIPELINE_EXTRA="        ddl: ignore" cotter_config src dst "shop.*=>wh.{table}"
cotter_start
cotter_wait_streaming
synced 60 "after applying the stopped DDL by hand and one restart with ddl: ignore"
cotter_stop

section "5c. a partly mapped RENAME is refused; ddl: ignore passes it"
cotter_config src dst "shop.*=>wh.{table}"
cotter_start
cotter_wait_streaming
mdb_sql src "RENAME TABLE shop.t5 TO other.t5" || fail "partial rename"
cotter_wait_state ERROR 30 || fail "a RENAME out of the mapping did not stop the pipeline"
msg=$(status_error)
grep -qF "tables this pipeline copies (shop.t5) and tables it does not (other.t5)" <<<"$msg" \
  || fail "the refusal does not explain itself: $msg"
note "partial RENAME: $(cut -c1-300 <<<"$msg")"
cotter_stop
mdb_sql dst "DROP TABLE wh.t5" || fail "user drops the table on the target"
COTTER_PIPELINE_EXTRA="        ddl: ignore" cotter_config src dst "shop.*=>wh.{table}"
cotter_start
cotter_wait_streaming
mdb_sql src "INSERT INTO shop.t3 (id, v) VALUES (102, 'end')" || fail "last row"
synced 60 "after passing the refused RENAME with ddl: ignore"
cotter_stop

section "6. a DDL that runs longer than the target's read_timeout"
# An ALTER of a big table can take hours; read_timeout (here 1 s) is for
# row statements. The DDL runs on a connection with ddl_timeout instead, so
# it is not cut off (and re-run in a loop while the first one still runs).
# Made slow on demand: a transaction on the target holds the table's
# metadata lock for 4 s, and the ALTER waits for it.
mdb_sql src "CREATE TABLE shop.slow (id INT NOT NULL PRIMARY KEY, c CHAR(40) NOT NULL);
             INSERT INTO shop.slow VALUES (1, 'one')" || fail "creating shop.slow"
COTTER_TARGET_EXTRA="read_timeout: 1s, ddl_timeout: 10m" cotter_config src dst "shop.*=>wh.{table}"
cotter_start
cotter_wait_streaming
for (( i = 0; i < 300; i++ )); do
  [ "$(mdb_sql dst "SELECT COUNT(*) FROM wh.slow" 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
assert_eq 1 "$(mdb_sql dst "SELECT COUNT(*) FROM wh.slow")" "wh.slow before the slow DDL"
mark=$(cotter_log_mark)
mdb dst -e "BEGIN; SELECT COUNT(*) FROM wh.slow; SELECT SLEEP(4); COMMIT" >/dev/null &
holder=$!
for (( i = 0; i < 100; i++ )); do # the lock is held once the sleep runs
  [ "$(mdb_sql dst "SELECT COUNT(*) FROM information_schema.PROCESSLIST
                    WHERE INFO = 'SELECT SLEEP(4)'")" = 1 ] && break
  sleep 0.05
done
t0=$(date +%s%N)
mdb_sql src "ALTER TABLE shop.slow ADD KEY kc (c)" || fail "the slow DDL"
mdb_sql src "INSERT INTO shop.slow VALUES (0, 'after the slow DDL')" || fail "row after"
cotter_wait_log "$mark" 'applied DDL: ALTER TABLE `wh`.`slow` ADD KEY kc' 60 ||
  fail "the slow DDL was not applied"
waited_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$holder"
note "the ALTER waited for the lock and was applied after ${waited_ms} ms"
(( waited_ms > 2000 )) || fail "the ALTER did not wait for the lock (${waited_ms} ms): nothing was tested"
cotter_log_since "$mark" | grep -E "ERROR|Lost connection" | head -3 | sed 's/^/  | /' >&2
cotter_log_since "$mark" | grep -qE "ERROR|Lost connection" && fail "the slow DDL failed on the way"
for (( i = 0; i < 300; i++ )); do
  [ "$(mdb_sql dst "SELECT COUNT(*) FROM wh.slow WHERE id = 0")" = 1 ] && break
  sleep 0.1
done
assert_eq 1 "$(mdb_sql dst "SELECT COUNT(*) FROM wh.slow WHERE id = 0")" "the row after the slow DDL"
assert_eq 1 "$(mdb_sql dst "SELECT COUNT(*) FROM information_schema.STATISTICS
                           WHERE TABLE_SCHEMA='wh' AND TABLE_NAME='slow' AND INDEX_NAME='kc'")" \
  "index kc on the target"
cotter_stop

echo "PASS: test_ddl"
