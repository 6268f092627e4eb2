#!/usr/bin/env bash
# Issue 11: check and repair select a filtered table's source rows with
# cotter's row filter (the stream's: byte-wise text, NOW() a clock), never
# by pasting the mapping's where: into SQL (collation rules):
#  1. a _ci column with where: status = 'active' and rows 'active',
#     'Active', 'ACTIVE', 'active ' (keyed, several chunks; and keyless):
#     after streaming, check is clean and repair changes nothing (CHECKSUM
#     TABLE of the target before and after); an ENUM and a SET column
#     compared with numbers (index, bitmask) as the stream compares them;
#  2. a filtered-in row tampered on the target, and a row the filter
#     rejects added there: check names both, repair fixes both, and the
#     target equals the source's rows selected by BINARY SQL;
#  3. a NOW()-relative where: rows the stream kept that the filter no
#     longer selects are reported as aged out, never as differences, and
#     repair leaves them; a real extra row is still deleted.
# One server pair and one cotter run for all of it.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"
command -v jq >/dev/null || fail "jq is needed (scripts/install-deps.sh installs it)"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }

ddl="CREATE DATABASE app;
CREATE TABLE app.acct (id INT PRIMARY KEY, n INT,
  status VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci);
CREATE TABLE app.logk (msg VARCHAR(20),
  status VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci);
CREATE TABLE app.ev (id INT PRIMARY KEY, kind VARCHAR(8), created_at DATETIME, v INT);
CREATE TABLE app.tiers (id INT PRIMARY KEY, tier ENUM('basic','gold','vip'), tags SET('a','b','c'));"
q src "$ddl"
q dst "$ddl"

cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
sources:
  src: { url: "$(mdb_url src)", server_id: 7311 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  $COTTER_CHANNEL:
    pipelines:
      - name: $COTTER_PIPELINE
        source: src
        target: dst
        tables:
          - { match: app.acct, where: "status = 'active'" }
          - { match: app.logk, where: "status = 'active'" }
          - { match: app.tiers, where: "tier >= 2 AND tier != 'vip' AND tags = 5" }
          - { match: app.ev, where: "kind = 'keep' AND created_at >= NOW() - INTERVAL 6 SECOND" }
EOC
cotter_start
cotter_wait_streaming 30

CHECK_OUT=""
CHECK_RC=0
run() { # run check|repair ARGS..: JSON in CHECK_OUT, exit status in CHECK_RC
  local cmd=$1; shift
  CHECK_OUT=$("$COTTER_BIN" "$cmd" -c "$COTTER_CFG" --json "$@" 2>"$HARNESS_DIR/check.err"); CHECK_RC=$?
}
jt() { jq -r "$1" <<<"$CHECK_OUT"; }
# summary: the last run's counts per table, for failure messages
summary() { jq -c '[.tables[] | {source, rows, missing, extra, different, aged_out, error}]' <<<"$CHECK_OUT"; }
keys() { # keys TABLE KIND: the diffs of that kind, as compact JSON, sorted
  jq -c --arg t "$1" --arg k "$2" '[.tables[] | select(.source == $t) | .diffs[] |
    select(.kind == $k) | .key] | sort' <<<"$CHECK_OUT"
}
sums() { mdb_sql dst "CHECKSUM TABLE app.acct, app.logk, app.ev, app.tiers" | awk '{print $2}' | tr '\n' ' '; }
# what the stream must keep, selected by SQL that is not cotter's
want_acct() { mdb_sql src "SELECT id, n, status FROM app.acct WHERE BINARY status = 'active' ORDER BY id"; }
have_acct() { mdb_sql dst "SELECT id, n, status FROM app.acct ORDER BY id"; }

section "1. a _ci column, where: status = 'active': check clean, repair changes nothing"
q src "SET SESSION max_recursive_iterations = 100000;
INSERT INTO app.acct WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000)
  SELECT i, i * 3, ELT(1 + i % 5, 'active', 'Active', 'ACTIVE', 'active ', 'gone') FROM s;
INSERT INTO app.logk VALUES ('a', 'active'), ('a', 'active'), ('b', 'Active'), ('c', 'ACTIVE'), ('d', 'x');
INSERT INTO app.tiers VALUES (1, 'basic', 'a,c'), (2, 'gold', 'a,c'), (3, 'vip', 'a,c'), (4, 'gold', 'a'), (5, 'gold', 'c,a')"
wait_rows() { # wait_rows SQL WANT: poll the target until SQL returns WANT
  local i
  for (( i = 0; i < 300; i++ )); do
    [ "$(mdb_sql dst "$2")" = "$1" ] && return 0
    cotter_alive
    sleep 0.1
  done
  fail "target: '$2' did not become '$1' (it is '$(mdb_sql dst "$2")')"
}
wait_rows 400 "SELECT COUNT(*) FROM app.acct"
wait_rows 2 "SELECT COUNT(*) FROM app.logk"
wait_rows "2 5" "SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR ' ') FROM app.tiers"
assert_eq "$(want_acct)" "$(have_acct)" "the stream kept the rows whose status is exactly 'active'"
assert_eq 1600 "$(mdb_sql src "SELECT COUNT(*) FROM app.acct WHERE status = 'active'")" \
  "the source's collation calls 1600 rows 'active' (what SQL in check used to select)"

before=$(sums)
run check --chunk-size 500 --no-store
assert_eq 0 "$CHECK_RC" "check after streaming: $(cat "$HARNESS_DIR/check.err") $(summary)"
assert_eq 400 "$(jt '.tables[] | select(.source == "app.acct") | .rows')" "acct rows the filter keeps"
assert_eq 2 "$(jt '.tables[] | select(.source == "app.logk") | .rows')" "logk rows the filter keeps"
assert_eq 2 "$(jt '.tables[] | select(.source == "app.tiers") | .rows')" \
  "tiers rows the filter keeps (ENUM and SET compared with numbers as index and bitmask)"
acct_chunks=$(jt '.tables[] | select(.source == "app.acct") | .chunks')
[ "$acct_chunks" -ge 3 ] || fail "acct should be checked in several chunks, got $acct_chunks"
run repair --no-store
assert_eq 0 "$CHECK_RC" "repair after streaming has nothing to do: $(cat "$HARNESS_DIR/check.err") $(summary)"
assert_eq 0 "$(jt '[.tables[] | .repaired_upserts + .repaired_deletes] | add')" "rows repair wrote"
assert_eq "$before" "$(sums)" "CHECKSUM TABLE of the target before and after repair"

section "2. tamper the target: check names the rows, repair fixes them"
q dst "UPDATE app.acct SET n = -1 WHERE id = 5;
       DELETE FROM app.acct WHERE id = 10;
       INSERT INTO app.acct VALUES (6, 18, 'Active');
       INSERT INTO app.logk VALUES ('b', 'Active')"
run check --chunk-size 500 --no-store
assert_eq 1 "$CHECK_RC" "check after tampering: $(cat "$HARNESS_DIR/check.err")"
assert_eq '[{"id":"5"}]' "$(keys app.acct different)" "acct different: the filtered-in row changed"
assert_eq '[{"id":"10"}]' "$(keys app.acct missing)" "acct missing: the filtered-in row deleted"
assert_eq '[{"id":"6"}]' "$(keys app.acct extra)" "acct extra: a row the filter rejects ('Active')"
assert_eq '[{"row":"1#b#6#Active#00"}]' "$(keys app.logk extra)" "logk extra: a row the filter rejects"
assert_eq '[]' "$(keys app.logk missing)" "logk missing"
run repair --no-store
assert_eq 1 "$CHECK_RC" "repair: $(cat "$HARNESS_DIR/check.err")"
assert_eq 2 "$(jt '.tables[] | select(.source == "app.acct") | .repaired_upserts')" "acct rows upserted"
assert_eq 1 "$(jt '.tables[] | select(.source == "app.acct") | .repaired_deletes')" "acct rows deleted"
assert_eq "$(want_acct)" "$(have_acct)" "target acct equals the source's exactly-'active' rows"
assert_eq "a	active
a	active" "$(mdb_sql dst "SELECT msg, status FROM app.logk ORDER BY msg, status")" "target logk"
run check --no-store
assert_eq 0 "$CHECK_RC" "check after repair: $(cat "$HARNESS_DIR/check.err") $(summary)"

section "3. where: reads NOW(): rows that aged out are reported, never deleted"
# kept by the stream when written (created_at is now); 'drop' rows never pass;
# id 20 is dated a day ahead, so it still passes when check runs
q src "INSERT INTO app.ev VALUES
  (1, 'keep', UTC_TIMESTAMP(), 1), (2, 'keep', UTC_TIMESTAMP(), 2), (3, 'drop', UTC_TIMESTAMP(), 3),
  (4, 'keep', '2001-01-01 00:00:00', 4), (20, 'keep', UTC_TIMESTAMP() + INTERVAL 1 DAY, 20)"
wait_rows 3 "SELECT COUNT(*) FROM app.ev"
assert_eq "1 2 20" "$(mdb_sql dst "SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR ' ') FROM app.ev")" \
  "the stream kept the rows that passed when they were written"
sleep 7 # rows 1 and 2 leave the 6 s window
q dst "DELETE FROM app.ev WHERE id = 20;
       INSERT INTO app.ev VALUES (3, 'drop', UTC_TIMESTAMP(), 3), (99, 'keep', UTC_TIMESTAMP(), 99)"
run check --no-store
assert_eq 1 "$CHECK_RC" "check of the NOW() table: $(cat "$HARNESS_DIR/check.err")"
assert_eq 2 "$(jt '.tables[] | select(.source == "app.ev") | .aged_out')" "ev rows aged out (1, 2): $(summary)"
assert_eq '[{"id":"3"},{"id":"99"}]' "$(keys app.ev extra)" \
  "ev extra: a row that never passes (3) and one the source lacks (99); not the aged-out ones"
assert_eq '[{"id":"20"}]' "$(keys app.ev missing)" "ev missing: the row that still passes"
assert_eq '[]' "$(keys app.ev different)" "ev different"
run repair --no-store
assert_eq 1 "$CHECK_RC" "repair of the NOW() table: $(cat "$HARNESS_DIR/check.err")"
assert_eq "1 2 20" "$(mdb_sql dst "SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR ' ') FROM app.ev")" \
  "repair left the aged-out rows, deleted 3 and 99, restored 20"
assert_eq "$(mdb_sql src "SELECT id, kind, created_at, v FROM app.ev WHERE id IN (1, 2, 20) ORDER BY id")" \
  "$(mdb_sql dst "SELECT id, kind, created_at, v FROM app.ev ORDER BY id")" "ev rows equal the source's"
"$COTTER_BIN" check -c "$COTTER_CFG" --table app.ev --offline --no-store >"$HARNESS_DIR/human.txt" 2>&1; rc=$?
assert_eq 0 "$rc" "check --offline after repair (text report): $(cat "$HARNESS_DIR/human.txt")"
grep -q "2 target rows aged out" "$HARNESS_DIR/human.txt" || fail "text report: $(cat "$HARNESS_DIR/human.txt")"

cotter_stop
cotter_check_sanitizers
note "PASS"
