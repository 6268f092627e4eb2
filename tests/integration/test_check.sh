#!/usr/bin/env bash
# cotter check / repair against real servers, without a running pipeline:
# source and target get the same tables filled identically by SQL, then the
# target is broken on purpose (rows deleted, a value changed, extra rows, a
# whole chunk dropped; a keyless table, a composite key, a column subset
# with a rename, a constant and a where: filter) and check must name exactly
# those keys (--json) and exit 1; repair --dry-run changes nothing; repair
# fixes them; a second check exits 0 and writes no cotter DDL into the
# target's binlog, a user without CREATE stores its results; an unreachable
# target exits 2.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }

schema="
CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(40) CHARACTER SET utf8mb4,
  score DOUBLE, avatar BLOB, seen TIMESTAMP NULL, note TEXT);
CREATE TABLE app.pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (a, b));
CREATE TABLE app.logs (msg VARCHAR(40), n INT);
CREATE TABLE app.people (id INT PRIMARY KEY, name VARCHAR(40), email VARCHAR(60), secret VARCHAR(20), status VARCHAR(10));"
q src "$schema"
q dst "CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(40) CHARACTER SET utf8mb4,
  score DOUBLE, avatar BLOB, seen TIMESTAMP NULL, note TEXT);
CREATE TABLE app.pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (a, b));
CREATE TABLE app.logs (msg VARCHAR(40), n INT);
CREATE DATABASE crm;
CREATE TABLE crm.contacts (id INT PRIMARY KEY, display_name VARCHAR(40), status VARCHAR(10),
  origin VARCHAR(30), extra_col INT DEFAULT 7);"

fill="
SET SESSION max_recursive_iterations = 100000;
INSERT INTO app.users WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5000)
  SELECT i, CONCAT('user ', i, IF(i % 7 = 0, ' 😀', '')), i / 3, IF(i % 5 = 0, NULL, UNHEX(MD5(i))),
         IF(i % 2 = 0, FROM_UNIXTIME(1700000000 + i), NULL), IF(i % 11 = 0, '', 'n') FROM s;
INSERT INTO app.pairs WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 600)
  SELECT i DIV 3, CONCAT('k', i % 3), i FROM s;
INSERT INTO app.logs VALUES ('boot', 1), ('boot', 1), ('tick', 2), ('tick', 3), (NULL, 4), ('', NULL);"
q src "$fill"
q dst "$fill"
q src "SET SESSION max_recursive_iterations = 100000; INSERT INTO app.people WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300)
  SELECT i, CONCAT('P', i), CONCAT(i, '@x'), 'pw', IF(i % 10 = 0, 'deleted', 'active') FROM s"
# the target holds what the mapping makes of it: non-deleted rows, 3 columns renamed + a constant
q dst "INSERT INTO crm.contacts (id, display_name, status, origin, extra_col)
  VALUES $(mdb_sql src "SELECT GROUP_CONCAT(CONCAT('(',id,',''',name,''',''',status,''',''app.people'',',id,')'))
                         FROM app.people WHERE status != 'deleted'")"

cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
sources:
  src: { url: "$(mdb_url src)", server_id: 7301 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  main:
    pipelines:
      - name: app
        source: src
        target: dst
        tables:
          - match: app.people
            to: crm.contacts
            columns: [id, {name: display_name}, status]
            constants: { origin: "{schema}.{table}" }
            where: "status != 'deleted'"
          - match: app.*
EOC

section "1. identical copies: exit 0"
out=$("$COTTER_BIN" check -c "$COTTER_CFG" --json); rc=$?
assert_eq 0 "$rc" "check on identical data"
assert_eq 4 "$(jq '.tables | length' <<<"$out")" "tables checked"
assert_eq 5000 "$(jq '.tables[] | select(.source == "app.users") | .rows' <<<"$out")" "users rows checked"
assert_eq 270 "$(jq '.tables[] | select(.source == "app.people") | .rows' <<<"$out")" "people rows passing where:"
assert_eq true "$(jq '.tables[] | select(.source == "app.logs") | .keyless' <<<"$out")" "logs is keyless"

section "2. break the target"
q dst "DELETE FROM app.users WHERE id IN (17, 4242)"                    # missing
q dst "UPDATE app.users SET name = 'mallory' WHERE id = 99"              # different
q dst "UPDATE app.users SET avatar = NULL WHERE id = 101"                # different (NULL)
q dst "UPDATE app.users SET note = NULL WHERE id = 121"                  # '' -> NULL
q dst "INSERT INTO app.users (id, name) VALUES (0, 'before first'), (9000, 'after last')" # extra
q dst "DELETE FROM app.users WHERE id BETWEEN 2001 AND 2999"             # a whole chunk
q dst "UPDATE app.pairs SET v = -1 WHERE a = 50 AND b = 'k1'"           # composite key
q dst "DELETE FROM app.pairs WHERE a = 7 AND b = 'k0'"
q dst "INSERT INTO app.pairs VALUES (7, 'zz', 1)"
q dst "DELETE FROM app.logs WHERE msg = 'boot' LIMIT 1"                  # keyless duplicate
q dst "INSERT INTO app.logs VALUES ('rogue', 9)"
q dst "UPDATE crm.contacts SET display_name = 'x' WHERE id = 5"          # subset mapping
q dst "UPDATE crm.contacts SET extra_col = 99 WHERE id = 6"              # unmapped column: no diff
q dst "UPDATE crm.contacts SET origin = 'elsewhere' WHERE id = 8"        # the constant
q dst "INSERT INTO crm.contacts (id, display_name, status, origin) VALUES (10, 'P10', 'deleted', 'app.people')"

out=$("$COTTER_BIN" check -c "$COTTER_CFG" --json --chunk-size 500 --max-keys 5000); rc=$?
assert_eq 1 "$rc" "check exit status with differences"
keys() { jq -c "[.tables[] | select(.source == \"$1\") | .diffs[] | select(.kind == \"$2\") | .key] | sort" <<<"$out"; }
assert_eq '[{"id":"17"},{"id":"4242"}]' "$(keys app.users missing | jq -c '[.[] | select(.id != null and ((.id|tonumber) < 2001 or (.id|tonumber) > 2999))]')" "users missing outside the dropped chunk"
assert_eq 1001 "$(jq '.tables[] | select(.source == "app.users") | .missing' <<<"$out")" "users missing count (2 + 999)"
assert_eq '[{"id":"101"},{"id":"121"},{"id":"99"}]' "$(keys app.users different)" "users different"
assert_eq '[{"id":"0"},{"id":"9000"}]' "$(keys app.users extra)" "users extra"
assert_eq '[{"a":"50","b":"k1"}]' "$(keys app.pairs different)" "pairs different"
assert_eq '[{"a":"7","b":"k0"}]' "$(keys app.pairs missing)" "pairs missing"
assert_eq '[{"a":"7","b":"zz"}]' "$(keys app.pairs extra)" "pairs extra"
assert_eq '[{"row":"4#boot#1#00"}]' "$(keys app.logs missing)" "logs missing (one of two duplicates)"
assert_eq '[{"row":"5#rogue#9#00"}]' "$(keys app.logs extra)" "logs extra"
assert_eq '[{"id":"5"},{"id":"8"}]' "$(keys app.people different)" "contacts different (not extra_col)"
assert_eq '[{"id":"10"}]' "$(keys app.people extra)" "contacts extra: a row the where: filters out"
assert_eq '[]' "$(keys app.people missing)" "contacts missing"
chunks=$(jq '.tables[] | select(.source == "app.users") | .chunks' <<<"$out")
[ "$chunks" -ge 3 ] || fail "users should be checked in several chunks, got $chunks"

section "3. --table, text report"
"$COTTER_BIN" check -c "$COTTER_CFG" --table app.pairs >"$HARNESS_DIR/human.txt"; rc=$?
assert_eq 1 "$rc" "check --table app.pairs"
grep -q "app.pairs .* differs" "$HARNESS_DIR/human.txt" || fail "human report: $(cat "$HARNESS_DIR/human.txt")"
grep -q "app.users" "$HARNESS_DIR/human.txt" && fail "--table app.pairs also checked app.users"
# the text report names the differing keys, as its help says (issue 18)
grep -qF 'different {"a":"50","b":"k1"}' "$HARNESS_DIR/human.txt" || fail "text report: key of the different pair not named: $(cat "$HARNESS_DIR/human.txt")"
grep -qF 'missing   {"a":"7","b":"k0"}' "$HARNESS_DIR/human.txt" || fail "text report: missing pair not named"
grep -qF 'extra     {"a":"7","b":"zz"}' "$HARNESS_DIR/human.txt" || fail "text report: extra pair not named"
"$COTTER_BIN" check -c "$COTTER_CFG" --table app.users --no-store >"$HARNESS_DIR/human.txt"
assert_eq 20 "$(grep -cE '^    (missing|extra|different) +\{"id":"[0-9]+"\}$' "$HARNESS_DIR/human.txt")" "text report lists the first 20 keys"
grep -qF '    ... and 986 more (--json lists up to --max-keys)' "$HARNESS_DIR/human.txt" || fail "text report: the rest is not counted: $(tail -3 "$HARNESS_DIR/human.txt")"

out=$("$COTTER_BIN" check -c "$COTTER_CFG" --table app.users --json)
assert_eq 1000 "$(jq '.tables[0].diffs | length' <<<"$out")" "keys listed are capped at 1000"
assert_eq 6 "$(jq '.tables[0].diffs_omitted' <<<"$out")" "the rest is counted (1006 - 1000)"

section "4. repair --dry-run prints SQL and changes nothing"
before=$(mdb_sql dst "CHECKSUM TABLE app.users, app.pairs, app.logs, crm.contacts")
"$COTTER_BIN" repair -c "$COTTER_CFG" --dry-run >"$HARNESS_DIR/dry.sql" 2>"$HARNESS_DIR/dry.err"; rc=$?
assert_eq 1 "$rc" "repair --dry-run exit status"
grep -q "INSERT INTO \`app\`.\`users\`.*ON DUPLICATE KEY UPDATE" "$HARNESS_DIR/dry.sql" || fail "no upsert in dry run"
grep -q "DELETE FROM \`crm\`.\`contacts\` WHERE (\`id\` = 10)" "$HARNESS_DIR/dry.sql" || fail "no key delete in dry run"
grep -qi "REPLACE" "$HARNESS_DIR/dry.sql" && fail "repair must never use REPLACE"
assert_eq "$before" "$(mdb_sql dst "CHECKSUM TABLE app.users, app.pairs, app.logs, crm.contacts")" "dry run left the target alone"

section "5. repair, then check is clean"
"$COTTER_BIN" repair -c "$COTTER_CFG" --json >"$HARNESS_DIR/repair.json"; rc=$?
assert_eq 1 "$rc" "repair exit status (differences repaired)"
assert_eq 1004 "$(jq '.tables[] | select(.source == "app.users") | .repaired_upserts' "$HARNESS_DIR/repair.json")" "users rows upserted"
assert_eq 2 "$(jq '.tables[] | select(.source == "app.users") | .repaired_deletes' "$HARNESS_DIR/repair.json")" "users rows deleted"
# the repair is in the audit trail (DATA_DIR/logs/audit.log), one line per repaired table,
# and the dry run is not
audit="$COTTER_DATA/logs/audit.log"
[ -f "$audit" ] || fail "repair wrote no audit log"
assert_eq 600 "$(stat -c %a "$audit")" "audit log mode"
grep -q '"action":"repair".*app.users -> app.users: 1004 rows upserted, 2 deleted' "$audit" ||
  fail "no audit line for the repair of app.users: $(cat "$audit")"
grep -q '"who":"cli:' "$audit" || fail "the audit line does not say who repaired: $(cat "$audit")"
out=$("$COTTER_BIN" check -c "$COTTER_CFG" --json); rc=$?
assert_eq 0 "$rc" "check after repair: $(jq -c '[.tables[] | select(.missing + .extra + .different > 0)]' <<<"$out")"
assert_eq "mallory-gone" "$(mdb_sql dst "SELECT IF(name = 'user 99', 'mallory-gone', name) FROM app.users WHERE id = 99")" "value restored"
assert_eq 99 "$(mdb_sql dst "SELECT extra_col FROM crm.contacts WHERE id = 6")" "an unmapped target column is left alone"
assert_eq "2" "$(mdb_sql dst "SELECT COUNT(*) FROM app.logs WHERE msg = 'boot'")" "keyless duplicate restored"

section "5b. server text with control characters is escaped in check and doctor output (issue 17)"
# a source table whose name holds ESC and a newline, and no target table: the
# name comes back from the server inside the table's error
evil=$'bad\e[31m\nname'
q src "CREATE TABLE app.\`$evil\` (id INT PRIMARY KEY); INSERT INTO app.\`$evil\` VALUES (1)"
"$COTTER_BIN" check -c "$COTTER_CFG" --table 'app.bad*' --no-store >"$HARNESS_DIR/evil.txt" 2>&1; rc=$?
assert_eq 2 "$rc" "check of a table missing on the target: $(cat "$HARNESS_DIR/evil.txt")"
grep -q $'\e' "$HARNESS_DIR/evil.txt" && fail "check printed a raw ESC: $(cat -A "$HARNESS_DIR/evil.txt")"
grep -qF 'bad\x1b[31m\nname' "$HARNESS_DIR/evil.txt" || fail "check: the name is not shown escaped: $(cat -A "$HARNESS_DIR/evil.txt")"
grep -q '^name' "$HARNESS_DIR/evil.txt" && fail "check: the newline in the name started a line: $(cat -A "$HARNESS_DIR/evil.txt")"
"$COTTER_BIN" doctor -c "$COTTER_CFG" >"$HARNESS_DIR/doctor.txt" 2>&1
grep -q $'\e' "$HARNESS_DIR/doctor.txt" && fail "doctor printed a raw ESC: $(cat -A "$HARNESS_DIR/doctor.txt")"
grep -qF 'bad\x1b[31m\nname' "$HARNESS_DIR/doctor.txt" || fail "doctor: the name is not shown escaped: $(cat -A "$HARNESS_DIR/doctor.txt")"
q src "DROP TABLE app.\`$evil\`"

section "5c. --max-rows-per-s throttles the reads, --max-source-threads yields to a busy source"
t0=$(date +%s%N)
"$COTTER_BIN" check -c "$COTTER_CFG" --table app.users --no-store --max-rows-per-s 2000 >/dev/null; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq 0 "$rc" "throttled check"
# 5000 rows at 2000 rows/s: 2.5 s, less the one second of credit the limiter gives
[ "$ms" -ge 1400 ] || fail "5000 rows at 2000 rows/s took only $ms ms"
note "5000 rows at --max-rows-per-s 2000: $ms ms"
# a busy source: three sessions running SELECT SLEEP(3) (plus the check's own
# query) are more than 3 threads running, so the check waits for them to end
sleepers=()
for _ in 1 2 3; do mdb_sql src "SELECT SLEEP(3)" >/dev/null & sleepers+=($!); done
for _ in $(seq 1 50); do
  [ "$(mdb_sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(3)'")" = 3 ] && break
  sleep 0.05
done
t0=$(date +%s%N)
"$COTTER_BIN" check -c "$COTTER_CFG" --table app.pairs --no-store --max-source-threads 3 >/dev/null; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "${sleepers[@]}"
assert_eq 0 "$rc" "check with --max-source-threads"
[ "$ms" -ge 2000 ] || fail "the check did not wait for the busy source: $ms ms"
note "600 rows while 3 sessions ran SLEEP(3), --max-source-threads 3: $ms ms"

section "6. a check writes no cotter DDL into the target's binlog; a user without CREATE stores results"
# (issue 11: every check ran CREATE DATABASE / CREATE TABLE IF NOT EXISTS on
# the target, which the binlog records, and a user without CREATE stored nothing)
own_ddl() { # statements of the target's binlogs that name cotter's schema
  local f n=0 c
  for f in "$dst_DIR"/data/binlog.[0-9]*; do
    c=$(mariadb-binlog "$f" 2>/dev/null | grep -ciE '^(CREATE|DROP|ALTER) .*cotter')
    n=$(( n + c ))
  done
  echo "$n"
}
stored() { mdb_sql dst "SELECT COUNT(*) FROM cotter.check_results"; }
ddl_before=$(own_ddl)
stored_before=$(stored)
"$COTTER_BIN" check -c "$COTTER_CFG" --json >/dev/null 2>"$HARNESS_DIR/again.err"; rc=$?
assert_eq 0 "$rc" "check once more"
note "statements naming cotter in the target's binlog: $ddl_before before this check, $(own_ddl) after"
assert_eq "$ddl_before" "$(own_ddl)" "statements naming cotter in the target's binlog (before vs after a check)"
assert_eq $(( stored_before + 4 )) "$(stored)" "results stored by the check"
q dst "CREATE USER 'chk'@'127.0.0.1' IDENTIFIED BY 'chkpw';
GRANT SELECT ON app.* TO 'chk'@'127.0.0.1'; GRANT SELECT ON crm.* TO 'chk'@'127.0.0.1';
GRANT SELECT, INSERT ON cotter.* TO 'chk'@'127.0.0.1'"
sed "s|dst: { url: \"$(mdb_url dst)\" }|dst: { url: \"mysql://chk:chkpw@127.0.0.1:$dst_PORT\" }|" \
  "$COTTER_CFG" >"$HARNESS_DIR/chk.yaml"
grep -q "chk:chkpw" "$HARNESS_DIR/chk.yaml" || fail "the config does not use the chk user"
"$COTTER_BIN" check -c "$HARNESS_DIR/chk.yaml" --json >/dev/null 2>"$HARNESS_DIR/chk.err"; rc=$?
assert_eq 0 "$rc" "check as a user without CREATE: $(tail -3 "$HARNESS_DIR/chk.err")"
grep -q "not stored" "$HARNESS_DIR/chk.err" && fail "results not stored: $(grep "not stored" "$HARNESS_DIR/chk.err")"
assert_eq $(( stored_before + 8 )) "$(stored)" "results stored by the check as a user without CREATE"

section "7. unreachable target: exit 2"
sed -i "s|dst: { url: \"$(mdb_url dst)\" }|dst: { url: \"mysql://root@127.0.0.1:1\", connect_timeout: 2s }|" "$COTTER_CFG"
"$COTTER_BIN" check -c "$COTTER_CFG" --json >"$HARNESS_DIR/down.json" 2>&1; rc=$?
assert_eq 2 "$rc" "check with the target down"
grep -q "target dst" "$HARNESS_DIR/down.json" || fail "the error should name the target: $(cat "$HARNESS_DIR/down.json")"

echo "test_check: all passed" >&2
