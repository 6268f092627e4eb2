#!/usr/bin/env bash
# Mappings (issue 3), end to end against real servers:
#   1. the real-time warehouse pipeline: order_*, user_*, product_* with the
#      row filter status != 'deleted' (rows that become 'deleted' disappear
#      from the target, rows that come back reappear), also on a table whose
#      status is an ENUM (compared by member name), from a FULL-metadata
#      source and from a NO_LOG one (names then come from information_schema);
#   2. the micro-service cache: user_service_db.users (id, name, level,
#      status only) into order_service_db.user_cache, with a column renamed;
#   3. sharded many-to-one: shop.order_0..order_3 into one wh.orders with a
#      constant column naming the source shard;
#   4. a filter syntax error is refused at start-up with its column.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"

q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }
# expect_eq SERVER SQL EXPECTED WHAT: poll until SQL on SERVER returns EXPECTED.
expect_eq() {
  local got
  for _ in $(seq 1 100); do
    got=$(mdb_sql "$1" "$2" 2>/dev/null)
    [ "$got" = "$3" ] && return 0
    sleep 0.2
  done
  fail "$4: expected [$3], got [$got]"
}

section "1. warehouse pipeline: order_*, user_*, product_* where status != 'deleted'"
for s in src dst; do
  q $s "CREATE DATABASE shop"
  for t in order_main user_main product_main; do
    q $s "CREATE TABLE shop.$t (id INT PRIMARY KEY, status VARCHAR(16), amount DECIMAL(10,2))"
  done
  q $s "CREATE TABLE shop.audit_log (id INT PRIMARY KEY, status VARCHAR(16), amount DECIMAL(10,2))"
  q $s "CREATE TABLE shop.order_enum (id INT PRIMARY KEY,
          status ENUM('new','paid','deleted','o''k'), amount DECIMAL(10,2))"
done
cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
sources:
  src: { url: "$(mdb_url src)", server_id: 7101 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  warehouse:
    pipelines:
      - name: realtime-warehouse
        source: src
        target: dst
        skip_tables: [shop.audit_*]          # wins over the catch-all below
        tables:
          - match: shop.order_*
            where: "status != 'deleted'"
          - match: '/shop\\.user_[a-z]+/'       # a regex works like a glob
            where: "status != 'deleted'"
          - match: shop.product_*
            where: "status != 'deleted'"
          - match: shop.audit_*
EOC
COTTER_PIPELINE=realtime-warehouse
cotter_start
cotter_wait_streaming
for t in order_main user_main product_main audit_log; do
  q src "INSERT INTO shop.$t VALUES (1,'new',10),(2,'deleted',20),(3,'paid',30)"
done
q src "UPDATE shop.order_main SET status='deleted' WHERE id=3"   # leaves the filter: delete
q src "UPDATE shop.order_main SET status='paid' WHERE id=2"      # enters it: insert
q src "UPDATE shop.user_main SET amount=amount+1"                # in, out, in: only 1,3
q src "DELETE FROM shop.product_main WHERE id=2"                 # never on target: nothing
# the ENUM table: the filter compares member names (index 3 is 'deleted')
q src "INSERT INTO shop.order_enum VALUES (1,'new',10),(2,'deleted',20),(3,'paid',30),(4,'o''k',40)"
q src "UPDATE shop.order_enum SET status='deleted' WHERE id=3"
q src "UPDATE shop.order_enum SET status='paid' WHERE id=2"
q src "UPDATE shop.order_enum SET amount=amount+1 WHERE status IN ('o''k', 'deleted')"
for t in order_main user_main product_main order_enum; do
  want=$(mdb_sql src "SELECT GROUP_CONCAT(CONCAT(id,':',status,':',amount) ORDER BY id)
                      FROM shop.$t WHERE status != 'deleted'")
  expect_eq dst "SELECT GROUP_CONCAT(CONCAT(id,':',status,':',amount) ORDER BY id) FROM shop.$t" \
    "$want" "shop.$t on the target holds exactly the source rows with status != 'deleted'"
done
assert_eq 0 "$(mdb_sql dst "SELECT COUNT(*) FROM shop.audit_log")" "a table in skip_tables untouched"
assert_eq "1:new:10.00,2:paid:20.00,4:o'k:41.00" \
  "$(mdb_sql dst "SELECT GROUP_CONCAT(CONCAT(id,':',status,':',amount) ORDER BY id) FROM shop.order_enum")" \
  "ENUM status filtered by name (FULL metadata)"
note "order_main on target: $(mdb_sql dst "SELECT GROUP_CONCAT(CONCAT(id,':',status) ORDER BY id) FROM shop.order_main")"
cotter_stop

# The same filter from a source without binlog_row_metadata: cotter reads
# the member names from information_schema.COLUMNS. A SET column is
# filtered with FIND_IN_SET on its member names.
mdb_start src2 "binlog_row_metadata=NO_LOG" || fail "NO_LOG source did not start"
assert_eq NO_LOG "$(mdb_sql src2 "SELECT @@binlog_row_metadata")" "second source logs no metadata"
for s in src2 dst; do
  q $s "CREATE DATABASE nolog"
  # a member with a backslash and a comma (the server writes it 'x\\y,z' in
  # COLUMN_TYPE) that the filter names: misreading it keeps row 5
  q $s "CREATE TABLE nolog.order_enum (id INT PRIMARY KEY,
          status ENUM('new','paid','x\\\\y,z','deleted','o''k'), amount DECIMAL(10,2))"
  q $s "CREATE TABLE nolog.user_set (id INT PRIMARY KEY, tags SET('vip','beta','o''k'))"
done
cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
sources:
  src2: { url: "$(mdb_url src2)", server_id: 7104 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  warehouse-nolog:
    pipelines:
      - name: nolog-warehouse
        source: src2
        target: dst
        tables:
          - match: nolog.order_*
            where: "status != 'deleted' AND status != 'x\\\\\\\\y,z'"
          - match: nolog.user_*
            where: "FIND_IN_SET('vip', tags) > 0 OR tags = 'beta,o''k'"
EOC
COTTER_PIPELINE=nolog-warehouse
cotter_start
cotter_wait_streaming
q src2 "INSERT INTO nolog.order_enum VALUES (1,'new',10),(2,'deleted',20),(3,'paid',30),(4,'o''k',40),
          (5,'x\\\\y,z',50)"
q src2 "UPDATE nolog.order_enum SET status='deleted' WHERE id=3"
q src2 "UPDATE nolog.order_enum SET status='paid' WHERE id=2"
q src2 "INSERT INTO nolog.user_set VALUES (1,'vip'),(2,'beta'),(3,'vip,beta'),(4,''),(5,'beta,o''k')"
q src2 "UPDATE nolog.user_set SET tags='beta' WHERE id=1"
q src2 "UPDATE nolog.user_set SET tags='o''k,vip' WHERE id=2"
want=$(mdb_sql src2 "SELECT GROUP_CONCAT(CONCAT(id,':',status,':',amount) ORDER BY id)
                     FROM nolog.order_enum WHERE status != 'deleted' AND status != 'x\\\\y,z'")
assert_eq "1:new:10.00,2:paid:20.00,4:o'k:40.00" "$want" "source rows to keep"
expect_eq dst "SELECT GROUP_CONCAT(CONCAT(id,':',status,':',amount) ORDER BY id) FROM nolog.order_enum" \
  "$want" "ENUM status filtered by name (NO_LOG source)"
expect_eq dst "SELECT GROUP_CONCAT(CONCAT(id,':',tags) ORDER BY id) FROM nolog.user_set" \
  "2:vip,o'k,3:vip,beta,5:beta,o'k" "SET tags filtered by member names (NO_LOG source)"
cotter_stop

section "2. micro-service cache: users(id,name,level,status) -> order_service_db.user_cache"
q src "CREATE DATABASE user_service_db; CREATE TABLE user_service_db.users (
         id BIGINT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128), password_hash BINARY(32),
         level TINYINT UNSIGNED, status ENUM('active','frozen'), created_at DATETIME(3))"
q dst "CREATE DATABASE order_service_db; CREATE TABLE order_service_db.user_cache (
         id BIGINT PRIMARY KEY, display_name VARCHAR(64), level TINYINT UNSIGNED,
         status ENUM('active','frozen'), synced_from VARCHAR(64))"
cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
sources:
  src: { url: "$(mdb_url src)", server_id: 7102 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  user-cache:
    pipelines:
      - name: users-to-cache
        source: src
        target: dst
        tables:
          - match: user_service_db.users
            to: order_service_db.user_cache
            columns: [id, {name: display_name}, level, status]
            constants: { synced_from: "{schema}.{table}" }
EOC
COTTER_PIPELINE=users-to-cache
cotter_start
cotter_wait_streaming
q src "INSERT INTO user_service_db.users VALUES
         (1,'Ann 😀','a@x','secret1',3,'active',NOW(3)),(2,'Bob','b@x','secret2',1,'frozen',NOW(3))"
q src "UPDATE user_service_db.users SET email='new@x', level=4 WHERE id=1"
q src "UPDATE user_service_db.users SET id=7 WHERE id=2"
expect_eq dst "SELECT GROUP_CONCAT(CONCAT_WS('|',id,display_name,level,status,synced_from) ORDER BY id)
               FROM order_service_db.user_cache" \
  "1|Ann 😀|4|active|user_service_db.users,7|Bob|1|frozen|user_service_db.users" \
  "user_cache holds the column subset, renamed, with the constant"
cotter_stop

section "3. sharded many-to-one: shop.order_0..3 -> wh.orders"
q src "CREATE TABLE shop.order_0 (id INT, note VARCHAR(20), PRIMARY KEY (id))"
for i in 1 2 3; do q src "CREATE TABLE shop.order_$i LIKE shop.order_0"; done
q dst "CREATE DATABASE wh; CREATE TABLE wh.orders (source_shard VARCHAR(32), id INT,
         note VARCHAR(20), PRIMARY KEY (source_shard, id))"
cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
sources:
  src: { url: "$(mdb_url src)", server_id: 7103 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  shards:
    pipelines:
      - name: shards-to-one
        source: src
        target: dst
        tables:
          - match: "shop.order_[0-9]"
            to: wh.orders
            constants: { source_shard: "{table}" }
EOC
COTTER_PIPELINE=shards-to-one
cotter_start
cotter_wait_streaming
for i in 0 1 2 3; do q src "INSERT INTO shop.order_$i VALUES (1,'a$i'),(2,'b$i')"; done
q src "UPDATE shop.order_2 SET note='changed' WHERE id=1; DELETE FROM shop.order_3 WHERE id=2"
expect_eq dst "SELECT GROUP_CONCAT(CONCAT(source_shard,'/',id,'/',note) ORDER BY source_shard, id) FROM wh.orders" \
  "order_0/1/a0,order_0/2/b0,order_1/1/a1,order_1/2/b1,order_2/1/changed,order_2/2/b2,order_3/1/a3" \
  "four shards merged into wh.orders, each row tagged with its shard"
cotter_stop

section "5. dry run: every stage runs and counts, nothing reaches the target"
q dst "DELETE FROM wh.orders"
before_pos=$(mdb_sql dst "SELECT CONCAT(binlog_file,':',binlog_pos) FROM cotter.positions WHERE pipeline='shards-to-one'")
sed -i 's|^      - name: shards-to-one|      - name: shards-to-one\n        dry_run: true|' "$COTTER_CFG"
status="$COTTER_DATA/status/shards-to-one.json"
rm -f "$status" # the last run's counters must not count here
cotter_start
cotter_wait_streaming
for i in 0 1; do q src "INSERT INTO shop.order_$i VALUES (10,'dry$i'),(11,'dry$i')"; done
q src "UPDATE shop.order_0 SET note='dry-upd' WHERE id=10"
counted=""
for _ in $(seq 1 50); do
  counted=$(grep -o '"insert":[0-9]*' "$status" 2>/dev/null | cut -d: -f2)
  [ "${counted:-0}" -ge 4 ] && break
  sleep 0.2
done
assert_eq 4 "${counted:-0}" "inserts counted by the dry run (status: $(cat "$status" 2>/dev/null))"
cotter_stop
assert_eq 0 "$(mdb_sql dst "SELECT COUNT(*) FROM wh.orders")" "rows written by a dry run"
assert_eq "$before_pos" "$(mdb_sql dst "SELECT CONCAT(binlog_file,':',binlog_pos) FROM cotter.positions WHERE pipeline='shards-to-one'")" \
  "position stored by a dry run"
grep -q "dry run" "$COTTER_LOG" || fail "the log does not say it is a dry run"
note "dry run counted $counted inserts, wrote nothing, kept the position $before_pos"
sed -i '/^        dry_run: true$/d' "$COTTER_CFG"

section "4. a row filter with a syntax error is refused at start-up"
sed -i 's|            constants: { source_shard: "{table}" }|            where: "id IN (1, 2 AND note = 1"|' "$COTTER_CFG"
out=$("$COTTER_BIN" run -c "$COTTER_CFG" 2>&1); rc=$?
echo "  what the user sees: $out" >&2
assert_eq 2 "$rc" "exit status of a config with a bad filter"
grep -q "column" <<<"$out" && grep -q "$COTTER_CFG:" <<<"$out" ||
  fail "the message names neither the file:line nor the column of the error: $out"
note "PASS: mappings"
