#!/usr/bin/env bash
# The MySQL sink against a real MariaDB: a driver (sink_driver.c) builds
# tables and chunks by hand and runs them through the sink's ops table; the
# test checks the target rows and cotter.positions with the mariadb client.
# Covers: value round trips (emoji, binary, FLOAT, TIMESTAMP in UTC on a
# server whose time zone is not UTC), upsert idempotence, key change,
# partial (MINIMAL) updates, keyless duplicates one at a time, NULL in a
# unique key, abort, schema errors and recovery without reopening, DDL
# chunks, SQL / retriable / auth / network error classes, statement size.
set -euo pipefail
ROOT=${COTTER_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=../lib/mariadb.sh
source "$ROOT/tests/lib/mariadb.sh"

ERRLOG="$HARNESS_DIR/driver.stderr"
: >"$ERRLOG"

# The driver: built by CMake next to cotter when the lead adds it, else here.
DRIVER=${SINK_DRIVER:-}
if [ -z "$DRIVER" ] && [ -n "${COTTER_BIN:-}" ] && [ -x "$(dirname "$COTTER_BIN")/sink_driver" ]; then
  DRIVER="$(dirname "$COTTER_BIN")/sink_driver"
fi
if [ -z "$DRIVER" ]; then
  DRIVER="$HARNESS_DIR/sink_driver"
  harness_log "building sink_driver"
  # Warnings are the build's business; this only needs a working binary.
  cc=${CC:-$(command -v clang || echo cc)}
  "$cc" -g -O1 -std=gnu11 -D_GNU_SOURCE -w \
    -fsanitize=address,undefined -I"$ROOT/src" $(pkg-config --cflags libmariadb) \
    -o "$DRIVER" "$ROOT/tests/integration/sink_driver.c" "$ROOT"/src/util/*.c \
    "$ROOT/src/event/event.c" "$ROOT/src/config/url.c" "$ROOT/src/sink/sink_mysql.c" \
    "$ROOT/src/sink/sink_mysql_sql.c" "$ROOT/src/sink/mysql_conn.c" \
    $(pkg-config --libs libmariadb) -lpthread -lm
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}

FAILS=0
ok() { echo "ok - $*" >&2; }
bad() { echo "FAIL - $*" >&2; FAILS=$((FAILS + 1)); }
assert_eq() { # EXPECTED ACTUAL WHAT
  if [ "$1" = "$2" ]; then ok "$3"; else bad "$3: expected [$1], got [$2]"; fi
}
assert_has() { # HAYSTACK NEEDLE WHAT
  if grep -qF -- "$2" <<<"$1"; then ok "$3"; else bad "$3: [$2] not in output:"; sed 's/^/    | /' <<<"$1" >&2; fi
}
assert_lacks() { # HAYSTACK NEEDLE WHAT
  if grep -qF -- "$2" <<<"$1"; then bad "$3: [$2] unexpectedly in output:"; sed 's/^/    | /' <<<"$1" >&2; else ok "$3"; fi
}
no_err() { # OUTPUT WHAT
  if grep -q '^ERR' <<<"$1"; then bad "$2: unexpected error:"; grep '^ERR' <<<"$1" | cut -c1-600 | sed 's/^/    | /' >&2; else ok "$2"; fi
}
drive() { "$DRIVER" 2>>"$ERRLOG"; }
q() { mdb_sql tgt "$1"; }
section() { printf '\n=== %s ===\n' "$*" >&2; }

mdb_start tgt "default-time-zone=+05:00"
URL=$(mdb_url tgt)
PORT=$tgt_PORT

q "CREATE DATABASE warehouse;
   CREATE TABLE warehouse.users (id INT PRIMARY KEY, name VARCHAR(50) CHARACTER SET utf8mb4,
     bio BLOB, score DOUBLE, f FLOAT, ts TIMESTAMP(6) NULL, d DECIMAL(10,4), e ENUM('a','b','c'),
     s SET('x','y','z'), bt BIT(8), j JSON);
   CREATE TABLE warehouse.codes (code VARCHAR(20) NULL, v INT NOT NULL, UNIQUE KEY u_code (code));
   CREATE TABLE warehouse.log (a INT, b VARCHAR(10), f FLOAT);
   CREATE TABLE warehouse.pairs (a INT, b INT, v VARCHAR(10), PRIMARY KEY (a, b));
   CREATE TABLE warehouse.chk (id INT PRIMARY KEY, v INT, CONSTRAINT v_positive CHECK (v > 0));
   CREATE TABLE warehouse.d (id INT PRIMARY KEY, a VARCHAR(10));
   CREATE USER nopriv@'%' IDENTIFIED BY 'pw1';
   GRANT SELECT ON warehouse.* TO nopriv@'%';"

TABLES="table 1 shop.users warehouse.users id:i name:s bio:b score:d f:f ts:t d:dec e:e s:set bt:bit j:j
table 2 shop.codes warehouse.codes code:s v:i
table 3 shop.log warehouse.log a:i b:s f:f
table 4 shop.pairs warehouse.pairs a:i b:i v:s
table 7 shop.chk warehouse.chk id:i v:i"

section "privileges and connect errors (before cotter.positions exists)"
out=$(drive <<EOF
open $(mdb_url tgt nopriv pw1) wh p1
EOF
)
assert_has "$out" "ERR AUTH" "no CREATE privilege -> AUTH"
assert_has "$out" "GRANT CREATE, SELECT, INSERT, UPDATE, DELETE ON \`cotter\`.* TO 'nopriv'" \
  "AUTH message carries the GRANT to run"
out=$(drive <<EOF
open mysql://root:wrongpw@127.0.0.1:$PORT wh p1
EOF
)
assert_has "$out" "ERR AUTH" "wrong password -> AUTH"
assert_has "$out" "check the user name and password" "wrong password hint"
assert_has "$out" "mysql://root:***@127.0.0.1:$PORT" "URL redacted in the message"
assert_lacks "$out" "wrongpw" "password never printed"
dead_port=$(harness_free_port)
out=$(drive <<EOF
open mysql://root@127.0.0.1:$dead_port wh p1
EOF
)
assert_has "$out" "ERR NET" "nothing listening -> NET (retriable)"
assert_has "$out" "check host and port" "connect refused hint"

section "types round trip, merged upsert, position"
out=$(drive <<EOF
open $URL wh p1
load
$TABLES
begin
ins 1 1 ann%20%F0%9F%98%80 %00%FF%27%5C 0.1 0.1 2024-01-02%2003:04:05.123456 -12.3400 2 5 129 %7B%22a%22:1%7D
ins 1 2 bob "" N N N N N N N N
apply
commit binlog.000001 1000 0-1-10 1700000000
load
stats
EOF
)
no_err "$out" "first batch"
assert_has "$out" "POS none" "no position before the first commit"
assert_has "$out" "POS binlog.000001 1000 0-1-10" "position_load reads the committed position"
assert_has "$out" "STATS 2 0 0 1 1" "two inserts merged into one statement, one batch"
assert_eq "616E6E20F09F9880" "$(q "SELECT HEX(name) FROM warehouse.users WHERE id=1")" "emoji round trip"
assert_eq "00FF275C" "$(q "SELECT HEX(bio) FROM warehouse.users WHERE id=1")" "binary bytes round trip"
assert_eq "0" "$(q "SELECT LENGTH(bio) FROM warehouse.users WHERE id=2")" "empty blob stays empty, not NULL"
assert_eq "1	1" "$(q "SELECT score = 0.1, f = 1.00000001490116119e-01 FROM warehouse.users WHERE id=1")" \
  "DOUBLE and FLOAT exact"
# The server's time zone is +05:00; the value arrives in UTC and must be stored as UTC.
assert_eq "1704164645.123456" "$(q "SELECT UNIX_TIMESTAMP(ts) FROM warehouse.users WHERE id=1")" \
  "TIMESTAMP applied in UTC"
assert_eq "-12.3400	b	x,z	129	1" \
  "$(q "SELECT d, e, s, bt+0, JSON_VALUE(j, '\$.a') FROM warehouse.users WHERE id=1")" \
  "DECIMAL, ENUM index, SET mask, BIT, JSON"
assert_eq "p1	binlog.000001	1000	0-1-10	1700000000" \
  "$(q "SELECT pipeline, binlog_file, binlog_pos, gtid, source_ts FROM cotter.positions")" \
  "cotter.positions row"

section "upsert idempotence: the same changes applied again"
before=$(q "SELECT * FROM warehouse.users ORDER BY id")
out=$(drive <<EOF
open $URL wh p1
$TABLES
begin
ins 1 1 ann%20%F0%9F%98%80 %00%FF%27%5C 0.1 0.1 2024-01-02%2003:04:05.123456 -12.3400 2 5 129 %7B%22a%22:1%7D
ins 1 2 bob "" N N N N N N N N
apply
commit binlog.000001 1000 0-1-10 1700000000
begin
ins 1 1 ann%20%F0%9F%98%80 %00%FF%27%5C 0.1 0.1 2024-01-02%2003:04:05.123456 -12.3400 2 5 129 %7B%22a%22:1%7D
apply
upd 1 2 bob "" N N N N N N N N / 2 bob "" N N N N N N N N
apply
commit binlog.000001 1100 0-1-11 1700000001
EOF
)
no_err "$out" "replayed batches"
assert_eq "$before" "$(q "SELECT * FROM warehouse.users ORDER BY id")" "rows identical after replay"
assert_eq "2" "$(q "SELECT COUNT(*) FROM warehouse.users")" "no duplicate rows"

section "key change and partial (MINIMAL) updates"
out=$(drive <<EOF
open $URL wh p1
$TABLES
begin
upd 1 1 ann%20%F0%9F%98%80 %00%FF%27%5C 0.1 0.1 2024-01-02%2003:04:05.123456 -12.3400 2 5 129 %7B%22a%22:1%7D / 10 ann %00 0.1 0.1 2024-01-02%2003:04:05.123456 -12.3400 2 5 129 %7B%22a%22:1%7D
apply
upd 1 10 - - - - - - - - - - / - carl - - - - - - - - -
apply
upd 1 2 - - - - - - - - - - / 20 - - - - - - - - - -
apply
commit binlog.000001 1200 0-1-12 1700000002
EOF
)
no_err "$out" "updates"
assert_eq "10
20" "$(q "SELECT id FROM warehouse.users ORDER BY id")" "key changes moved the rows (1->10, 2->20)"
assert_eq "carl	00	0.1" "$(q "SELECT name, HEX(bio), score FROM warehouse.users WHERE id=10")" \
  "partial update changed only the present column"
assert_eq "bob" "$(q "SELECT name FROM warehouse.users WHERE id=20")" "partial key change kept the other columns"

section "keyless table: duplicates one at a time, NULL and FLOAT matching"
out=$(drive <<EOF
open $URL wh p1
$TABLES
begin
ins 3 1 x 0.1
ins 3 1 x 0.1
ins 3 2 y N
ins 3 3 N 2.5
apply
commit binlog.000001 1300 0-1-13 1700000003
begin
upd 3 1 x 0.1 / 1 z 0.1
del 3 2 y N
del 3 3 N 2.5
apply
commit binlog.000001 1400 0-1-14 1700000004
EOF
)
no_err "$out" "keyless batches"
assert_eq "1	x
1	z" "$(q "SELECT a, b FROM warehouse.log ORDER BY b")" "one of two identical rows updated, NULL rows deleted"

section "NULL in a unique key behaves like a keyless row"
out=$(drive <<EOF
open $URL wh p1
$TABLES
begin
ins 2 N 1
ins 2 N 2
ins 2 k 3
apply
commit binlog.000001 1500 0-1-15 1700000005
begin
upd 2 N 1 / N 5
del 2 N 2
upd 2 k 3 / k 4
ins 2 k 4
apply
commit binlog.000001 1600 0-1-16 1700000006
EOF
)
no_err "$out" "unique-key batches"
assert_eq "k	4
NULL	5" "$(q "SELECT IFNULL(code, 'NULL'), v FROM warehouse.codes ORDER BY v")" "rows with NULL keys matched on all columns"

section "composite key: merged deletes, statement size bound"
{
  echo "open $URL wh p1 16384 4294967295"
  echo "$TABLES"
  echo "begin"
  for i in $(seq 1 1500); do echo "ins 4 $i 1 value$i"; done
  echo "apply"
  echo "del 4 3 1 value3"
  echo "del 4 4 1 value4"
  echo "del 4 5 1 -"
  echo "apply"
  echo "commit binlog.000001 1700 0-1-17 1700000007"
  echo "stats"
} >"$HARNESS_DIR/big.script"
out=$(drive <"$HARNESS_DIR/big.script")
no_err "$out" "1500-row batch with 16 KiB statements"
assert_eq "1497" "$(q "SELECT COUNT(*) FROM warehouse.pairs")" "all rows in, three deleted"
assert_eq "0" "$(q "SELECT COUNT(*) FROM warehouse.pairs WHERE a IN (3,4,5)")" "the deleted keys are gone"
stmts=$(awk '/^STATS/ {print $5}' <<<"$out")
if [ "${stmts:-0}" -gt 5 ] && [ "${stmts:-0}" -lt 100 ]; then ok "split into $stmts bounded statements";
else bad "statement count $stmts not in (5,100)"; fi
assert_has "$out" "STATS 1500 0 3" "stats count rows by op"

section "bulk: long runs of upserts go as LOAD DATA, any bytes intact"
q "CREATE TABLE warehouse.bulk (id INT PRIMARY KEY, v VARBINARY(20), t VARCHAR(30) CHARACTER SET utf8mb4, n INT NULL)"
com_load() { q "SHOW GLOBAL STATUS LIKE 'Com_load'" | cut -f2; }
BULK_TABLE="table 8 shop.bulk warehouse.bulk id:i v:b t:s n:i"
# bulk_script [OPEN ARGS] [BAD_ID]: 300 upserts with tabs, newlines, backslashes, NUL, empty and
# NULL values; row BAD_ID gets a byte that is not UTF-8 in t
bulk_script() {
  echo "open $URL wh pb ${1:-}"
  echo "$BULK_TABLE"
  echo "begin"
  for i in $(seq 1 300); do
    if [ "$i" = "${2:-}" ]; then t="bad%FFbyte"; else t="t%09ab%0Acd%5C%5CN$i"; fi
    case $(( i % 3 )) in
      0) echo "ins 8 $i %00%09%0A%5C%5CN $t N" ;;
      1) echo "ins 8 $i \"\" \"\" $i" ;;
      2) echo "ins 8 $i v$i $t -$i" ;;
    esac
  done
  echo "apply"
  echo "commit binlog.000001 1800 0-1-18 1700000008"
  echo "stats"
}
before=$(com_load)
out=$(bulk_script | drive)
no_err "$out" "300 upserts applied"
assert_eq "$(( before + 1 ))" "$(com_load)" "they went as one LOAD DATA"
assert_has "$out" "STATS 300 0 0" "stats count the rows"
assert_eq "300" "$(q "SELECT COUNT(*) FROM warehouse.bulk")" "300 rows"
assert_eq "00090A5C5C4E	740961620A63645C5C4E33	NULL" \
  "$(q "SELECT HEX(v), HEX(t), IFNULL(n, 'NULL') FROM warehouse.bulk WHERE id = 3")" \
  "NUL, tab, newline, backslash and NULL intact"
assert_eq "		1" "$(q "SELECT v, t, n FROM warehouse.bulk WHERE id = 1")" "empty values stay empty"
assert_eq "v5	-5" "$(q "SELECT v, n FROM warehouse.bulk WHERE id = 5")" "plain values"
sum=$(q "CHECKSUM TABLE warehouse.bulk" | cut -f2)
q "UPDATE warehouse.bulk SET n = 0 WHERE id <= 10"
out=$(bulk_script | drive)
no_err "$out" "the same 300 upserts again"
assert_eq "$sum" "$(q "CHECKSUM TABLE warehouse.bulk" | cut -f2)" \
  "applied again: rows replaced, not doubled"

# a value the server cannot store is only a warning under LOAD DATA LOCAL: the piece is rolled
# back and sent as INSERT, where strict mode refuses it with the row named
q "DELETE FROM warehouse.bulk"
before=$(com_load)
out=$(bulk_script "" 150 | drive)
assert_has "$out" "ERR SQL" "a bad byte in one row fails the batch"
assert_has "$out" "Incorrect string value" "with the server's reason"
assert_eq "0" "$(q "SELECT COUNT(*) FROM warehouse.bulk")" "nothing of the batch kept"
assert_eq "$(( before + 1 ))" "$(com_load)" "the LOAD DATA was tried first"

# a target that refuses LOAD DATA LOCAL: the sink says so once and uses INSERT
q "SET GLOBAL local_infile = 0"
before=$(com_load)
: >"$ERRLOG.bulk"
out=$(bulk_script | "$DRIVER" 2>"$ERRLOG.bulk")
q "SET GLOBAL local_infile = 1"
no_err "$out" "300 upserts with local_infile=OFF"
assert_eq "300" "$(q "SELECT COUNT(*) FROM warehouse.bulk")" "all rows in by INSERT"
assert_eq "$(( before + 1 ))" "$(com_load)" "one LOAD DATA tried and refused, then none"
assert_has "$(cat "$ERRLOG.bulk")" "does not take LOAD DATA LOCAL" "the log says why"
before=$(com_load)
out=$(bulk_script "0 4294967295" | drive)
no_err "$out" "bulk_rows 'never'"
assert_eq "$before" "$(com_load)" "bulk_rows 'never' sends no LOAD DATA"

section "abort leaves nothing behind"
out=$(drive <<EOF
open $URL wh p1
$TABLES
begin
ins 1 99 ghost "" N N N N N N N N
apply
abort
begin
ins 1 98 ghost2 "" N N N N N N N N
apply
close
EOF
)
no_err "$out" "aborted batch"
assert_eq "0" "$(q "SELECT COUNT(*) FROM warehouse.users WHERE id IN (98, 99)")" "aborted / unclosed rows absent"
assert_eq "1700" "$(q "SELECT binlog_pos FROM cotter.positions WHERE pipeline='p1'")" "position unchanged"

section "schema errors, then recovery without reopening"
out=$(drive <<EOF
open $URL wh p1
table 5 shop.users warehouse.nosuch id:i
table 6 shop.users warehouse.users id:i name:s email:s
table 8 shop.pairs warehouse.pairs a:i v:s
table 9 shop.users warehouse.users id:i name:s
nonames 9
begin
ins 5 1
apply
abort
begin
ins 6 30 dora d%40x.org
apply
abort
begin
ins 8 1 q
apply
abort
begin
ins 9 31 eve
apply
abort
admin $URL
sql ALTER TABLE warehouse.users ADD COLUMN email VARCHAR(50)
begin
ins 6 30 dora d%40x.org
apply
commit binlog.000001 1800 0-1-18 1700000008
EOF
)
assert_has "$out" "ERR SCHEMA target 'wh' has no table warehouse.nosuch for the rows of source shop.users: create it" \
  "missing target table"
assert_has "$out" "ERR SCHEMA target warehouse.users has no column 'email' that source shop.users has: the source gained it (ALTER TABLE ... ADD COLUMN not applied on the target) or the target lost it" \
  "missing target column"
assert_has "$out" "key column 'b'" "target key column missing from the source"
assert_has "$out" "column names are unknown" "source without column names"
assert_eq "4" "$(grep -c '^ERR' <<<"$out")" "exactly the four expected errors"
assert_eq "d@x.org" "$(q "SELECT email FROM warehouse.users WHERE id=30")" \
  "after ALTER on the target the same sink continues"

section "SQL error names target, table, op and statement"
out=$(drive <<EOF
open $URL wh p1
$TABLES
begin
ins 4 7000 1 fine
apply
ins 7 1 5
ins 7 2 -5
apply
commit binlog.000001 1900 0-1-19 1700000009
abort
EOF
)
assert_has "$out" "ERR SQL target 'wh': upsert of 2 rows on warehouse.chk failed:" \
  "the failing statement (second of the packet) is the one named"
assert_has "$out" "errno 4025" "server errno in the message"
assert_has "$out" "not retriable" "class in the message"
assert_has "$out" "statement: INSERT INTO \`warehouse\`.\`chk\` (\`id\`,\`v\`) VALUES (1,5),(2,-5)" "statement text in the message"
assert_eq "0	0" "$(q "SELECT (SELECT COUNT(*) FROM warehouse.chk), (SELECT COUNT(*) FROM warehouse.pairs WHERE a=7000)")" \
  "failed batch left no rows, also not those of statements before the failing one"
assert_eq "1800" "$(q "SELECT binlog_pos FROM cotter.positions WHERE pipeline='p1'")" "failed batch left the position"

section "missing INSERT privilege on the target schema -> AUTH with GRANT"
q "CREATE USER app@'%' IDENTIFIED BY 'pw2'; GRANT ALL ON cotter.* TO app@'%'; GRANT SELECT ON warehouse.* TO app@'%';"
out=$(drive <<EOF
open $(mdb_url tgt app pw2) wh p2
load
$TABLES
begin
ins 4 100 100 x
apply
commit binlog.000001 2000 0-1-20 1700000010
EOF
)
assert_has "$out" "POS none" "another pipeline has its own position row"
assert_has "$out" "ERR AUTH" "INSERT denied -> AUTH"
assert_has "$out" "GRANT SELECT, INSERT, UPDATE, DELETE ON \`warehouse\`.* TO 'app'@'%'" "GRANT hint for the target schema"

section "DDL chunk: run on the target (names as the pipeline hands them over), descriptions re-read"
out=$(drive <<EOF
open $URL wh p1
admin $URL
table 10 shop.d warehouse.d id:i a:s
begin
ins 10 1 x
apply
commit binlog.000001 2100 0-1-21 1700000011
begin
ddl shop ALTER TABLE \`warehouse\`.\`d\` ADD COLUMN b VARCHAR(10) /* marker-ddl-1 */
ddl mysql CREATE USER x IDENTIFIED BY 'topsecret-pw'
table 10 shop.d warehouse.d id:i a:s b:s
begin
ins 10 2 y z
apply
commit binlog.000001 2200 0-1-22 1700000012
EOF
)
no_err "$out" "rows after a DDL chunk use the new target columns"
assert_eq "z" "$(q "SELECT b FROM warehouse.d WHERE id=2")" "new column filled"
errs=$(cat "$ERRLOG")
assert_has "$errs" "marker-ddl-1" "the DDL statement in the log"
assert_lacks "$errs" "topsecret-pw" "a DDL with a password is not logged"
assert_eq "2" "$(q "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='warehouse' AND TABLE_NAME='d' AND COLUMN_NAME IN ('a','b')")" \
  "the DDL itself was not run twice (no error, one column b)"

section "lock wait timeout -> SQL_RETRY, the retry succeeds"
q "SET GLOBAL innodb_lock_wait_timeout=1"
mdb tgt -N -e "BEGIN; SELECT v FROM warehouse.pairs WHERE a=1 AND b=1 FOR UPDATE; SELECT SLEEP(4); COMMIT;" >/dev/null &
holder=$!
sleep 0.7
out=$(drive <<EOF
open $URL wh p1
$TABLES
begin
upd 4 1 1 value1 / 1 1 locked
apply
commit binlog.000001 2300 0-1-23 1700000013
abort
sleep 4
begin
upd 4 1 1 value1 / 1 1 locked
apply
commit binlog.000001 2300 0-1-23 1700000013
EOF
)
wait "$holder" || true
q "SET GLOBAL innodb_lock_wait_timeout=50"
assert_has "$out" "ERR SQL_RETRY" "lock wait timeout is retriable"
assert_has "$out" "errno 1205" "errno 1205 reported"
assert_eq "1" "$(grep -c '^ERR' <<<"$out")" "the retry after abort succeeded"
assert_eq "locked" "$(q "SELECT v FROM warehouse.pairs WHERE a=1 AND b=1")" "retried row applied"

section "connection killed mid-batch -> NET; reopen resumes from the committed position"
out=$(drive <<EOF
admin $URL
open $URL wh p1
$TABLES
begin
ins 4 5000 5000 lost
apply
killothers
commit binlog.000001 2400 0-1-24 1700000014
begin
abort
close
open $URL wh p1
load
EOF
)
assert_has "$out" "KILLED" "sink connection killed"
assert_eq "2" "$(grep -c '^ERR NET' <<<"$out")" "commit fails with NET, then the broken sink refuses to begin"
assert_has "$out" "close and reopen the sink" "broken sink says what to do"
assert_has "$out" "POS binlog.000001 2300 0-1-23" "reopened sink loads the last committed position"
assert_eq "0" "$(q "SELECT COUNT(*) FROM warehouse.pairs WHERE a=5000")" "uncommitted row absent"

if grep -q "ERROR: AddressSanitizer\|runtime error:" "$ERRLOG"; then
  bad "sanitizer report in driver stderr"; grep -A5 "AddressSanitizer\|runtime error" "$ERRLOG" | head -30 >&2
fi

echo >&2
if [ "$FAILS" -ne 0 ]; then echo "test_sink_mysql: $FAILS check(s) failed" >&2; exit 1; fi
echo "test_sink_mysql: all checks passed" >&2
