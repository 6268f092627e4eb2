#!/usr/bin/env bash
# What the initial load keeps and reads back (issues 11 and 17), against one
# pair of real servers, the source user without the right to set sql_log_bin:
#  1. foreign keys: order_items (FK to products) and a cycle a <-> b are
#     created on the target and copied (issue 11: errno 150 before);
#  2. a table created by a DDL while streaming is carried by the stream and
#     not copied again at a restart (rows_copied unchanged, log line); a
#     CREATE TABLE IF NOT EXISTS of a table copied before (as a MySQL
#     source logs it; see people_ifne) keeps its row of cotter.snapshots
#     (issue 11: rows_copied 0, history emptied), in the session that
#     copied it and in a later one;
#  3. cotter's own objects: no `cotter` DDL in the source's binlog at a
#     restart that copies a table (mariadb-binlog before/after), and no
#     cotter.snapshot_watermarks on the target; a where: on an ENUM / SET
#     column keeps the same rows in the copy as in the stream, the ones the
#     source selects by member index / bitmask (issue 11: the copy read
#     them as text, so `tier >= 3` kept no copied row);
#  4. `cotter snapshot --where` selects the rows the stream's filter would:
#     byte-wise text, not the source's case-insensitive collation; a
#     subquery is refused (issue 11);
#  5. tampered cotter.snapshot_keys / cotter.snapshots rows are refused
#     with an error naming the row; nothing in them is executed (issue 17).
# Env: COTTER_BIN, COTTER_ROOT.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"

section "source: tables and a user that may not set sql_log_bin"
mdb src <<'SQL' || fail "creating the source tables"
CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'replpw';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'repl'@'127.0.0.1';
GRANT CREATE, SELECT, INSERT, UPDATE ON `cotter`.* TO 'repl'@'127.0.0.1';
CREATE DATABASE shop;
USE shop;
CREATE TABLE products (id INT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL, KEY (name))
  ENGINE=InnoDB;
CREATE TABLE order_items (id INT NOT NULL PRIMARY KEY, product_id INT NOT NULL, qty INT,
  KEY (qty), CONSTRAINT fk_item_product FOREIGN KEY (product_id) REFERENCES products (id))
  ENGINE=InnoDB;
SET foreign_key_checks=0;
CREATE TABLE a_side (id INT NOT NULL PRIMARY KEY, b_id INT NULL,
  CONSTRAINT fk_a_b FOREIGN KEY (b_id) REFERENCES b_side (id)) ENGINE=InnoDB;
CREATE TABLE b_side (id INT NOT NULL PRIMARY KEY, a_id INT NULL,
  CONSTRAINT fk_b_a FOREIGN KEY (a_id) REFERENCES a_side (id)) ENGINE=InnoDB;
SET foreign_key_checks=1;
INSERT INTO products SELECT seq, CONCAT('p', seq) FROM seq_1_to_200;
INSERT INTO order_items SELECT seq, 1 + seq % 200, seq % 7 FROM seq_1_to_1000;
INSERT INTO a_side VALUES (1, NULL), (2, NULL);
INSERT INTO b_side VALUES (1, 1), (2, 2);
UPDATE a_side SET b_id = id;
CREATE TABLE people (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL)
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_general_ci;
INSERT INTO people VALUES (1, 'abc'), (2, 'ABC'), (3, 'Abc'), (4, 'abd'), (5, 'abc ');
CREATE DATABASE shop2;
CREATE TABLE shop2.extra (id INT NOT NULL PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO shop2.extra SELECT seq, CONCAT('e', seq) FROM seq_1_to_500;
CREATE DATABASE tiers;
CREATE TABLE tiers.e (id INT NOT NULL PRIMARY KEY, tier ENUM('bronze','silver','gold','platinum'))
  ENGINE=InnoDB;
CREATE TABLE tiers.s (id INT NOT NULL PRIMARY KEY, tags SET('a','b','c','d')) ENGINE=InnoDB;
INSERT INTO tiers.e SELECT seq, ELT(1 + seq % 5, 'bronze', 'silver', 'gold', 'platinum', NULL)
  FROM seq_1_to_40;
INSERT INTO tiers.s SELECT seq, IF(seq % 17 = 0, NULL, MAKE_SET(seq % 16, 'a', 'b', 'c', 'd'))
  FROM seq_1_to_40;
SQL

SRC_URL="mysql://repl:replpw@127.0.0.1:$src_PORT"
# state_cfg MATCH...: pipeline p1 src -> dst, snapshot: initial, the source
# read as repl.
state_cfg() {
  COTTER_PIPELINE_EXTRA="        snapshot: initial
        snapshot_load: { parallelism: 2, chunk_rows: 300 }"
  cotter_config src dst "$@"
  sed -i "s#url: \"mysql://root@127.0.0.1:$src_PORT\"#url: \"$SRC_URL\"#" "$COTTER_CFG"
  grep -q "$SRC_URL" "$COTTER_CFG" || fail "the config does not use the repl user"
}

# own_ddl: how many statements of the source's binlogs name cotter's schema.
own_ddl() {
  local f n=0 c
  for f in "$src_DIR"/data/binlog.[0-9]*; do
    c=$(mariadb-binlog "$f" 2>/dev/null | grep -ciE '^(CREATE|DROP|ALTER) .*cotter')
    n=$(( n + c ))
  done
  echo "$n"
}

wait_done() { # MARK TIMEOUT
  cotter_wait_log "$1" "snapshot finished: " "$2" || fail "the snapshot did not finish within $2 s"
}

rows() { mdb_sql "$1" "SELECT * FROM $2 ORDER BY 1"; }

# ------------------------------------------------------------------ 1
section "1. foreign keys: tables created in dependency order, a cycle too"
state_cfg "shop.*"
cotter_start
cotter_wait_streaming 60
wait_done "$COTTER_START_MARK" 60
wait_synced src dst shop 60 || fail "target differs from source after the initial load"
for t in products order_items a_side b_side people; do
  assert_eq "$(rows src shop.$t)" "$(rows dst shop.$t)" "shop.$t source vs target"
done
fks() {
  mdb_sql "$1" "SELECT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME FROM
                information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA='shop' ORDER BY 1, 2"
}
assert_eq "$(fks src)" "$(fks dst)" "foreign keys source vs target"
note "foreign keys on the target: $(fks dst | tr '\t\n' ' ;')"

# ------------------------------------------------------------------ 2
section "2. a table created by DDL while streaming is not copied again"
snap_row() { # TABLE: its row of cotter.snapshots
  mdb_sql dst "SELECT done, rows_copied, IFNULL(history, '-'), IFNULL(last_key, '-')
               FROM cotter.snapshots WHERE pipeline='p1' AND source_table='shop.$1'" | tr '\t' ' '
}
# people_ifne: puts into the source's binlog the `CREATE TABLE IF NOT EXISTS
# people` a MySQL source logs even when the table exists (MariaDB logs
# nothing then): the table is moved aside, unlogged, for that statement.
people_ifne() {
  mdb src shop -e "SET SESSION sql_log_bin=0; RENAME TABLE people TO people_aside;
    SET SESSION sql_log_bin=1;
    CREATE TABLE IF NOT EXISTS people (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL)
      ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_general_ci;
    SET SESSION sql_log_bin=0; DROP TABLE people; RENAME TABLE people_aside TO people;
    SET SESSION sql_log_bin=1" || fail "CREATE TABLE IF NOT EXISTS shop.people"
}
people_row=$(snap_row people)
note "cotter.snapshots row of shop.people after its copy: $people_row"
case "$people_row" in "1 5 "*) ;; *) fail "shop.people's row after its copy: '$people_row'" ;; esac
people_ifne
mdb src shop <<'SQL' || fail "creating shop.late"
CREATE TABLE late (id INT NOT NULL PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO late SELECT seq, CONCAT('l', seq) FROM seq_1_to_3000;
CREATE TABLE late_like LIKE late;
INSERT INTO late_like SELECT * FROM late WHERE id <= 100;
SQL
wait_synced src dst shop 60 || fail "shop.late did not reach the target"
cotter_log_since "$COTTER_START_MARK" | grep -q "shop.late is created by a DDL in the binlog" ||
  fail "no log line about shop.late being carried by the stream"
cotter_log_since "$COTTER_START_MARK" | grep -q "shop.late_like is created by a DDL in the binlog" ||
  fail "no log line about shop.late_like (CREATE TABLE ... LIKE) being carried by the stream"
late_row() { # TABLE
  mdb_sql dst "SELECT done, rows_copied FROM cotter.snapshots WHERE pipeline='p1'
               AND source_table='shop.$1'" | tr '\t' ' '
}
for t in late late_like; do
  assert_eq "1 0" "$(late_row $t)" "cotter.snapshots row of shop.$t (done, rows_copied)"
done
assert_eq "$people_row" "$(snap_row people)" \
  "cotter.snapshots row of shop.people after a CREATE TABLE IF NOT EXISTS of it"
cotter_stop

# ------------------------------------------------------------------ 3
section "3. a restart that copies a table: no cotter DDL in the source's binlog"
before=$(own_ddl)
note "statements naming cotter in the source's binlog before the restart: $before"
state_cfg "shop.*" "shop2.*"
# ENUM / SET filters, compared by index / bitmask and by member names
cat >>"$COTTER_CFG" <<'EOC'
          - match: "tiers.e"
            where: "tier >= 3 OR tier = 'silver'"
          - match: "tiers.s"
            where: "tags > 5 OR tags = 'a,c'"
EOC
mark=$(cotter_log_mark)
cotter_start
cotter_wait_streaming 60
wait_done "$mark" 60
wait_synced src dst shop2 60 || fail "shop2 differs after its copy"
assert_eq "$(rows src shop2.extra)" "$(rows dst shop2.extra)" "shop2.extra source vs target"
# the same rows again, through the stream (ids + 1000)
mdb src -e "INSERT INTO tiers.e SELECT id + 1000, tier FROM tiers.e;
            INSERT INTO tiers.s SELECT id + 1000, tags FROM tiers.s" || fail "inserting tiers rows"
# what the source selects by index / bitmask (tier+0, tags+0: SQL's own reading)
want_e=$(mdb_sql src "SELECT id, tier FROM tiers.e WHERE tier+0 >= 3 OR tier = 'silver' ORDER BY id")
want_s=$(mdb_sql src "SELECT id, tags FROM tiers.s WHERE tags+0 > 5 OR tags = 'a,c' ORDER BY id")
for (( i = 0; i < 300; i++ )); do
  [ "$(rows dst tiers.e)" = "$want_e" ] && [ "$(rows dst tiers.s)" = "$want_s" ] && break
  sleep 0.1
done
for t in e s; do
  copied=$(mdb_sql dst "SELECT * FROM tiers.$t WHERE id < 1000 ORDER BY 1")
  streamed=$(mdb_sql dst "SELECT id - 1000, $([ $t = e ] && echo tier || echo tags) FROM tiers.$t
                          WHERE id > 1000 ORDER BY 1")
  note "tiers.$t: rows copied $(echo "$copied" | grep -c .), streamed $(echo "$streamed" | grep -c .)"
  assert_eq "$streamed" "$copied" "tiers.$t: rows the copy kept vs rows the stream kept"
done
assert_eq "$want_e" "$(rows dst tiers.e)" "tiers.e on the target vs the source's tier+0 >= 3 OR tier = 'silver'"
assert_eq "$want_s" "$(rows dst tiers.s)" "tiers.s on the target vs the source's tags+0 > 5 OR tags = 'a,c'"
# an on-demand copy's --where reads them the same way
mdb dst -e "DELETE FROM tiers.e" || fail "emptying dst tiers.e"
out=$("$COTTER_BIN" snapshot -c "$COTTER_CFG" --pipeline p1 --table tiers.e --where "tier < 4" \
      --timeout 60 2>&1) || fail "cotter snapshot of tiers.e failed: $out"
want_e=$(mdb_sql src "SELECT id, tier FROM tiers.e WHERE (tier+0 >= 3 OR tier = 'silver')
                      AND tier+0 < 4 ORDER BY id")
for (( i = 0; i < 100; i++ )); do
  [ "$(rows dst tiers.e)" = "$want_e" ] && break
  sleep 0.1
done
assert_eq "$want_e" "$(rows dst tiers.e)" "tiers.e copied with --where \"tier < 4\" vs the source's tier+0 < 4"
if cotter_log_since "$mark" | grep -q "snapshot of shop.late"; then
  fail "shop.late* was copied again at the restart: $(cotter_log_since "$mark" | grep -m1 'snapshot of shop.late')"
fi
for t in late late_like; do
  assert_eq "1 0" "$(late_row $t)" "cotter.snapshots row of shop.$t after the restart"
done
# a session after the one that copied it
people_ifne
mdb src shop -e "INSERT INTO late VALUES (5000, 'after')" || fail "inserting into shop.late"
wait_synced src dst shop 60 || fail "shop differs after a CREATE TABLE IF NOT EXISTS"
assert_eq "$people_row" "$(snap_row people)" \
  "cotter.snapshots row of shop.people after a CREATE TABLE IF NOT EXISTS of it (later session)"

# ------------------------------------------------------------------ 4
section "4. cotter snapshot --where: the rows the stream's filter takes"
# shop.people is utf8mb4_general_ci: the server says 'abc' = 'ABC' = 'abc ';
# cotter's filter (a mapping's where:) compares text byte-wise, so the
# on-demand copy must take exactly the rows BINARY name = 'abc' selects.
mdb dst -e "DELETE FROM shop.people" || fail "emptying dst shop.people"
out=$("$COTTER_BIN" snapshot -c "$COTTER_CFG" --pipeline p1 --table shop.people \
      --where "name = 'abc'" --timeout 60 2>&1) || fail "cotter snapshot failed: $out"
echo "$out" | grep -q "snapshot of shop.people done" || fail "cotter snapshot did not report done: $out"
want=$(mdb_sql src "SELECT id, name FROM shop.people WHERE BINARY name = 'abc' ORDER BY id")
for (( i = 0; i < 100; i++ )); do
  got=$(mdb_sql dst "SELECT id, name FROM shop.people ORDER BY id")
  [ "$got" = "$want" ] && break
  sleep 0.1
done
note "source rows by the server's collation: $(mdb_sql src "SELECT GROUP_CONCAT(id) FROM shop.people WHERE name = 'abc'")"
assert_eq "$want" "$got" "rows copied by --where \"name = 'abc'\" (byte-wise, as the stream filters)"
out=$("$COTTER_BIN" snapshot -c "$COTTER_CFG" --pipeline p1 --table shop.people \
      --where "id IN (SELECT id FROM shop.products)" --timeout 60 2>&1) &&
  fail "a --where with a subquery was accepted: $out"
note "a subquery in --where is refused: $(echo "$out" | tail -1 | cut -c1-200)"
cotter_stop
after=$(own_ddl)
note "statements naming cotter in the source's binlog after the restart: $after"
assert_eq "$before" "$after" "statements naming cotter in the source's binlog (before vs after a restart)"
assert_eq "0" "$(mdb_sql dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE
                              TABLE_SCHEMA='cotter' AND TABLE_NAME='snapshot_watermarks'")" \
  "cotter.snapshot_watermarks on the target"


# ------------------------------------------------------------------ 5
section "5. tampered cotter.* rows are refused, nothing of them runs"
mdb dst <<'SQL' || fail "tampering with cotter.snapshot_keys / cotter.snapshots"
INSERT INTO cotter.snapshot_keys (pipeline, source_table, target_schema, target_table, clauses)
  VALUES ('p1', 'shop.products', 'shop', 'products', 'KEY `x` (`name`); DROP TABLE shop.people'),
         ('p1', 'shop.people', 'mysql', 'user', 'KEY `x` (`User`)');
UPDATE cotter.snapshots SET done = 0, last_key = NULL, history = NULL,
  where_expr = 'id > 0) OR (SELECT COUNT(*) FROM mysql.user) > (0'
  WHERE pipeline = 'p1' AND source_table = 'shop2.extra';
SQL
mark=$(cotter_log_mark)
cotter_start
cotter_wait_log "$mark" "holds a where_expr cotter does not accept" 30 ||
  fail "the tampered where_expr of cotter.snapshots was not refused"
note "$(cotter_log_since "$mark" | grep -m1 "holds a where_expr" | sed 's/.*\] //' | cut -c1-300)"
cotter_wait_state ERROR 10 || fail "the pipeline is not in ERROR for the refused where_expr"
# what the message says to do: delete the row; then it runs again
mdb dst -e "DELETE FROM cotter.snapshots WHERE pipeline = 'p1' AND source_table = 'shop2.extra'"
cotter_wait_state RUNNING 30 || fail "the pipeline did not run again once the row was deleted"
wait_synced src dst shop2 60 || fail "shop2 differs after the refused row was deleted"
for t in products people; do
  cotter_log_since "$mark" | grep -q "refused the row of cotter.snapshot_keys .* for source table 'shop.$t'" ||
    fail "the tampered cotter.snapshot_keys row of shop.$t was not refused"
done
note "$(cotter_log_since "$mark" | grep -m1 "refused the row of cotter.snapshot_keys" | sed 's/.*\] //' | cut -c1-300)"
assert_eq "1" "$(mdb_sql dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE
                              TABLE_SCHEMA='shop' AND TABLE_NAME='people'")" "shop.people on the target"
assert_eq "0" "$(mdb_sql dst "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE
                              INDEX_NAME='x'")" "indexes named x on the target"
cotter_stop

cotter_check_sanitizers
echo "PASS"
