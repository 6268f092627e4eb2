#!/usr/bin/env bash
# Issue 18, "a first run that works as written": the README's path, with its
# own text. The users and GRANT statements of README.md step 2 and the
# config of step 4 are read from README.md itself (so the two cannot drift),
# cotter is installed with step 0's `make install` (PREFIX in the test dir),
# run on a real source/target pair for an account with a host pattern
# ('cotter'@'127.0.0.%' instead of the README's '10.0.0.%'), then:
#   1. cotter doctor passes before the first run (tables the initial load
#      creates are not "missing");
#   2. the initial load copies a schema with foreign keys into warehouse.*,
#      creating the tables and adding the deferred secondary indexes after
#      the copy; a DDL (ADD COLUMN, CREATE INDEX) during streaming follows;
#   3. load.parallelism changed between runs (1 -> 4 -> 1: cotter deletes
#      position rows in cotter.positions) goes on without a denied command;
#      `cotter status -c FILE` finds the running API from the config; the
#      API's `applied` block has the keys docs/api.md and the status file have;
#   4. doctor passes after the runs; with a grant revoked it prints a GRANT
#      naming the account as it was created ('cotter'@'127.0.0.%', not the
#      connection's host, which MariaDB refuses with ERROR 1133), and that
#      statement, run as printed, makes doctor pass again;
#   5. a grant revoked while running: the pipeline retries every ~5 s (not
#      backing off to retry.max_ms), logs when the next try is, its hint
#      names no connection host, and it resumes once the grant is back;
#   6. `cotter snapshot` with the source's watermark grant revoked prints the
#      pipeline's error (not "0/0 rows" for ever, no message starting with
#      "; ") and exits 1; with the README's grant back it copies the table.
# No libmicrohttpd warning in any start's log.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
COTTER_PIPELINE=shop-to-warehouse
COTTER_CHANNEL=orders
source "$HERE/../lib/cotter.sh"
README="$COTTER_ROOT/README.md"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }

# readme_block SECTION_RE LANG N: the N-th ```LANG block of the README
# section whose heading matches SECTION_RE.
readme_block() {
  SEC="$1" awk -v lang="$2" -v want="$3" '
    /^### / { in_sec = ($0 ~ ENVIRON["SEC"]) }
    in_sec && !in_blk && $0 == "```" lang { n++; in_blk = 1; next }
    in_blk && /^```/ { in_blk = 0; next }
    in_blk && n == want { print }' "$README"
}

section "README step 0: make install puts cotter on the PATH"
readme_block '^### 0\. Install' sh 1 | grep -q "make install" || fail "README step 0 has no make install"
# the build under test is installed (BUILD: its directory, so nothing is rebuilt)
make -s -C "$COTTER_ROOT" install PREFIX="$HARNESS_DIR/prefix" BUILD="$(dirname "$COTTER_BIN")" >/dev/null ||
  fail "make install PREFIX=$HARNESS_DIR/prefix failed"
PATH="$HARNESS_DIR/prefix/bin:$PATH"
[ "$(command -v cotter)" = "$HARNESS_DIR/prefix/bin/cotter" ] || fail "cotter is not on the PATH after make install"
cmp -s "$COTTER_BIN" "$(command -v cotter)" || fail "the installed cotter is not the build under test"

section "README step 2: the users and grants, as written"
SRC_SQL=$(readme_block '^### 2\. Users and privileges' sql 1)
DST_SQL=$(readme_block '^### 2\. Users and privileges' sql 2)
for v in SRC_SQL DST_SQL; do
  grep -q "^GRANT " <<<"${!v}" || fail "README step 2: no GRANT found for $v"
  grep -q "'cotter'@'10\.0\.0\.%'" <<<"${!v}" || fail "README step 2 no longer names 'cotter'@'10.0.0.%'"
done
# the README's account, on the test's network; the README's '...' password
readme_sql() { sed -e "s/'10\.0\.0\.%'/'127.0.0.%'/g" -e "s/IDENTIFIED BY '\.\.\.'/IDENTIFIED BY '$1'/"; }
note "source: $(readme_sql spw <<<"$SRC_SQL" | tr '\n' ' ')"
note "target: $(readme_sql wpw <<<"$DST_SQL" | tr '\n' ' ')"
q src "$(readme_sql spw <<<"$SRC_SQL")"
q dst "$(readme_sql wpw <<<"$DST_SQL")"

section "the source schema: foreign keys, secondary indexes"
q src "CREATE DATABASE shop;
USE shop;
CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, email VARCHAR(60),
  UNIQUE KEY uk_email (email));
CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2),
  created DATETIME, KEY k_created (created),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id));
CREATE TABLE shop.order_items (order_id INT NOT NULL, line INT NOT NULL, sku VARCHAR(20), qty INT,
  PRIMARY KEY (order_id, line),
  CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES shop.orders (id));
CREATE TABLE shop.products (sku VARCHAR(20) PRIMARY KEY, title VARCHAR(80), price DECIMAL(10,2),
  KEY k_title (title), KEY k_price (price));
INSERT INTO shop.customers SELECT seq, CONCAT('c', seq), CONCAT('c', seq, '@x') FROM seq_1_to_300;
INSERT INTO shop.orders SELECT seq, 1 + seq % 300, seq / 7, '2026-01-01' + INTERVAL seq MINUTE
  FROM seq_1_to_3000;
INSERT INTO shop.order_items SELECT 1 + seq % 3000, seq, CONCAT('sku', seq % 1000), seq % 5
  FROM seq_1_to_6000;
INSERT INTO shop.products SELECT CONCAT('sku', seq), CONCAT('product ', seq), seq / 3
  FROM seq_0_to_999;"

section "README step 4: the config, as written"
CFG_YAML=$(readme_block '^### 4\. A config file' yaml 1)
grep -q "snapshot: initial" <<<"$CFG_YAML" || fail "README step 4 config has no 'snapshot: initial'"
grep -q "to: warehouse\.{table}" <<<"$CFG_YAML" || fail "README step 4 config no longer maps to warehouse"
COTTER_MANAGER_PORT=$(cotter__manager_port)
export SHOP_PW=spw WH_PW=wpw
# write_cfg PARALLELISM [RETRY]: the README's config with the test's
# servers, data dir and API port, load.parallelism, and fast retries (or
# RETRY)
write_cfg() {
  local retry=${2:-"{ min_ms: 100, max_ms: 1000 }"}
  {
    sed -e "s|^data_dir: /var/lib/cotter|data_dir: $COTTER_DATA|" \
        -e "s|@10\.0\.0\.5:3306|@127.0.0.1:$src_PORT|" \
        -e "s|@10\.0\.0\.9:3306|@127.0.0.1:$dst_PORT|" \
        -e "s|^\( *\)target: warehouse$|&\n\1retry: $retry\n\1load: { parallelism: $1 }\n\1snapshot_load: { chunk_rows: 500 }|" \
        <<<"$CFG_YAML"
    echo "manager: { listen: \"127.0.0.1:$COTTER_MANAGER_PORT\" }"
  } >"$COTTER_CFG"
  grep -q "127.0.0.1:$src_PORT" "$COTTER_CFG" && grep -q "127.0.0.1:$dst_PORT" "$COTTER_CFG" &&
    grep -q "parallelism: $1" "$COTTER_CFG" || { cat "$COTTER_CFG" >&2; fail "README config: the test's substitutions did not apply"; }
}
write_cfg 1

OUT="" RC=0
doctor() { OUT=$(cotter doctor -c "$COTTER_CFG" 2>&1); RC=$?; } # as README step 5 writes it
expect() { grep -qE -- "$1" <<<"$OUT" || { echo "$OUT" | sed 's/^/  | /' >&2; fail "$2: no line matching /$1/"; }; }
ACCOUNT="'cotter'@'127.0.0.%'"

section "1. doctor before the first run"
doctor
[ "$RC" -eq 0 ] || { echo "$OUT" | sed 's/^/  | /' >&2; fail "doctor exit $RC before the first run (want 0)"; }
expect "OK +grants: 'cotter'@'127\.0\.0\.%' has REPLICATION SLAVE" "doctor names the account"
expect "watermark rows" "doctor checks the source's watermark grants"
expect "does not exist yet: the pipeline creates it" "a table the initial load creates is not missing"
grep -q "spw\|wpw" <<<"$OUT" && fail "doctor printed a password"

section "2. initial load with foreign keys and deferred indexes, then DDL while streaming"
cotter_start
cotter_wait_streaming 60
cotter_wait_log "$COTTER_START_MARK" "snapshot finished" 180 || fail "the initial load did not finish"
wait_synced src dst shop 120 warehouse || fail "warehouse differs from shop after the initial load"
q src "ALTER TABLE shop.products ADD COLUMN color VARCHAR(10);
CREATE INDEX k_color ON shop.products (color);
UPDATE shop.products SET color = 'red' WHERE price < 50;
INSERT INTO shop.orders VALUES (3001, 1, 9.99, NOW());
INSERT INTO shop.order_items VALUES (3001, 6001, 'sku1', 2)"
wait_synced src dst shop 60 warehouse || fail "warehouse differs from shop after the DDL"
idx=$(mdb_sql dst "SELECT GROUP_CONCAT(DISTINCT INDEX_NAME ORDER BY INDEX_NAME)
  FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='warehouse' AND TABLE_NAME='products'")
assert_eq "k_color,k_price,k_title,PRIMARY" "$idx" "indexes of warehouse.products (deferred + DDL)"
fks=$(mdb_sql dst "SELECT GROUP_CONCAT(CONSTRAINT_NAME ORDER BY CONSTRAINT_NAME)
  FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA='warehouse'")
assert_eq "fk_items_order,fk_orders_customer" "$fks" "foreign keys of warehouse"
assert_eq "0" "$(mdb_sql dst "SELECT COUNT(*) FROM cotter.snapshot_keys")" "deferred indexes left to add"
cotter_wait_state RUNNING 10 || fail "state after the initial load: $(cotter_status_state), want RUNNING"
cotter_stop 60

section "3. load.parallelism 1 -> 4 -> 1 between runs; cotter status -c"
for par in 4 1; do
  write_cfg "$par"
  cotter_start
  cotter_wait_streaming 60
  q src "USE shop; INSERT INTO shop.orders SELECT 3001 + $par * 100 + seq, 1 + seq % 300, seq, NOW() FROM seq_1_to_50;
         UPDATE shop.products SET price = price + 1 WHERE sku LIKE 'sku1%';
         DELETE FROM shop.order_items WHERE line % 97 = $par"
  wait_synced src dst shop 60 warehouse || fail "warehouse differs after the run with load.parallelism $par"
  cotter_wait_state RUNNING 10 || fail "state with load.parallelism $par: $(cotter_status_state)"
  st=$(env -u COTTER_URL "$COTTER_BIN" status -c "$COTTER_CFG" 2>&1) ||
    { echo "$st" >&2; fail "cotter status -c $COTTER_CFG failed"; }
  grep -q "shop-to-warehouse" <<<"$st" || { echo "$st" >&2; fail "cotter status -c does not list the pipeline"; }
  # the API's applied block has the keys docs/api.md documents, as the status file
  api_keys=$(curl -sf "http://127.0.0.1:$COTTER_MANAGER_PORT/api/pipeline/status?id=1" | jq -r '.applied | keys | join(",")')
  doc_keys=$(tr -d '\n ' <"$COTTER_ROOT/docs/api.md" | grep -oE '"applied":\{[^}]*\}' | head -1 |
    sed 's/^"applied"://' | jq -r 'keys | join(",")')
  file_keys=$(jq -r '.applied | keys | join(",")' "$(cotter_status_file)")
  [[ ,$api_keys, == *,conflicts,* ]] || fail "the API's applied block has no conflicts: [$api_keys]"
  assert_eq "$doc_keys" "$api_keys" "keys of the API's applied block against docs/api.md"
  assert_eq "$file_keys" "$api_keys" "keys of the API's applied block against the status file"
  cotter_stop 60
done
if cotter_log_all | grep -E "command denied|Access denied" | head -5 >&2; then
  fail "a command was denied to the README's grants (above)"
fi

section "4. doctor after the runs; a revoked grant, fixed with doctor's own GRANT"
doctor
[ "$RC" -eq 0 ] || { echo "$OUT" | sed 's/^/  | /' >&2; fail "doctor exit $RC after the runs (want 0)"; }
expect "cotter\.positions is writable" "doctor probes cotter.positions"
q dst "REVOKE ALTER ON warehouse.* FROM $ACCOUNT"
doctor
[ "$RC" -eq 1 ] || { echo "$OUT" | sed 's/^/  | /' >&2; fail "doctor exit $RC without ALTER (want 1)"; }
fix=$(grep -m1 -oE "fix: GRANT ALTER ON \`warehouse\`\.\* TO [^;]*;" <<<"$OUT" | sed 's/^fix: //')
[ -n "$fix" ] || { echo "$OUT" | sed 's/^/  | /' >&2; fail "doctor printed no GRANT ALTER for the deferred indexes"; }
note "doctor's fix: $fix"
grep -qF "$ACCOUNT" <<<"$fix" || fail "doctor's GRANT does not name the account $ACCOUNT: $fix"
mdb_sql dst "$fix" || fail "doctor's GRANT, run as printed, failed"
doctor
[ "$RC" -eq 0 ] || { echo "$OUT" | sed 's/^/  | /' >&2; fail "doctor exit $RC after running its fix (want 0)"; }

section "5. a grant revoked while running: quick retries that say when, a hint naming no host"
# retry 5 s doubling up to 60 s: the second wait would be 7.5-12.5 s; a
# problem that needs a fix is retried every ~5 s (3.75-6.25 s with jitter)
write_cfg 1 "{ min_ms: 5000, max_ms: 60000 }"
cotter_start
cotter_wait_streaming 60
q dst "REVOKE INSERT ON warehouse.* FROM $ACCOUNT"
mark=$(cotter_log_mark)
q src "INSERT INTO shop.customers VALUES (5001, 'late', 'late@x')"
for (( i = 0; i < 400; i++ )); do
  (( $(cotter_log_since "$mark" | grep -c "needs a fix\]; retrying in") >= 2 )) && break
  sleep 0.1
done
(( i < 400 )) || fail "no two retries within 40 s after INSERT was revoked"
waits=$(cotter_log_since "$mark" | grep -oE "needs a fix\]; retrying in [0-9.]+ s \(next try at [0-9:]+ UTC\)" |
  grep -oE "in [0-9.]+" | cut -c4-)
note "waits before the next try: $(echo $waits)"
[ "$(wc -l <<<"$waits")" -ge 2 ] || fail "the retries do not say when the next try is"
second=$(sed -n 2p <<<"$waits")
awk -v w="$second" 'BEGIN { exit !(w <= 6.25) }' ||
  fail "second retry after ${second} s: a problem that needs a fix must be retried within ~5 s"
hint=$(grep -oE '"hint":"[^"]*"' "$(cotter_status_file)")
note "status $hint"
grep -q "GRANT INSERT ON \`warehouse\`" <<<"$hint" || fail "the status hint names no GRANT"
grep -q "'cotter'@'127.0.0.1'" <<<"$hint" && fail "the hint names the connection's host, not the account"
q dst "GRANT INSERT ON warehouse.* TO $ACCOUNT"
wait_synced src dst shop 20 warehouse || fail "warehouse differs after INSERT was granted again"
cotter_stop 60

section "6. cotter snapshot with a source grant missing: the error, not 0/0 rows for ever"
write_cfg 1
cotter_start
cotter_wait_streaming 60
q src "REVOKE INSERT, UPDATE ON cotter.* FROM $ACCOUNT"
t0=$SECONDS
snap_out=$(timeout 60 "$COTTER_BIN" snapshot -c "$COTTER_CFG" --pipeline shop-to-warehouse --table shop.products 2>&1)
snap_rc=$?
note "cotter snapshot exit $snap_rc after $(( SECONDS - t0 )) s: $(grep -m1 'failed:' <<<"$snap_out" | cut -c1-200)"
[ "$snap_rc" -eq 124 ] && fail "cotter snapshot waited for ever on a copy that cannot start"
[ "$snap_rc" -eq 1 ] || { echo "$snap_out" >&2; fail "cotter snapshot exit $snap_rc with the watermark grant missing (want 1)"; }
grep -q "failed: .*command denied.*snapshot_watermarks" <<<"$snap_out" ||
  { echo "$snap_out" >&2; fail "cotter snapshot did not print the pipeline's error"; }
grep -qE "(^|: ); " <<<"$snap_out" && { echo "$snap_out" >&2; fail "an error message starts with '; '"; }
q src "$(readme_sql spw <<<"$SRC_SQL" | grep "ON cotter\.\*")"
q dst "UPDATE warehouse.products SET title = 'damaged' WHERE sku = 'sku7'"
snap_out=$(timeout 60 "$COTTER_BIN" snapshot -c "$COTTER_CFG" --pipeline shop-to-warehouse --table shop.products 2>&1) ||
  { echo "$snap_out" >&2; fail "cotter snapshot failed once the grant was back"; }
grep -q "snapshot of shop.products done" <<<"$snap_out" || { echo "$snap_out" >&2; fail "cotter snapshot did not finish"; }
wait_synced src dst shop 30 warehouse || fail "warehouse differs after the snapshot of shop.products"
cotter_stop 60
if cotter_log_all | grep -m1 "libmicrohttpd" >&2; then
  fail "libmicrohttpd warned at start (above)"
fi
cotter_check_sanitizers
section "PASS: the README's grants and config run an initial load with FKs, DDL and deferred indexes; doctor passes before and after"
