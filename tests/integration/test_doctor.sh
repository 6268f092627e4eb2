#!/usr/bin/env bash
# cotter doctor, one fault at a time, against real servers: each fault is
# made on purpose, doctor must exit 1 (or 0 for a warning) and print the
# message and the fix the user needs; the fault is then undone. Faults:
# missing REPLICATION grant, binlog_format=STATEMENT, binlog_row_image
# MINIMAL, a stored position whose binlog was purged, a target table missing
# a column, an unreachable host, a wrong password, cotter's server_id equal to
# the source's own (a warning: the server accepts it). Then the start-up mapping
# validation (issue 3): a pipeline whose target lacks a mapped column stops
# before its first event with doctor's message, the status carries a hint,
# and it starts by itself once the column is added.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"
command -v jq >/dev/null || fail "jq is needed (scripts/install-deps.sh installs it)"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }

ddl="CREATE DATABASE app;
CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(40), email VARCHAR(60), score DECIMAL(10,2));
CREATE TABLE app.tags (id INT NOT NULL, tag VARCHAR(20) NOT NULL, PRIMARY KEY (id, tag));"
q src "$ddl"
q dst "$ddl"
q src "INSERT INTO app.users VALUES (1, 'a', 'a@x', 1.5), (2, 'b', 'b@x', 2.5)"
q dst "INSERT INTO app.users VALUES (1, 'a', 'a@x', 1.5), (2, 'b', 'b@x', 2.5)"
# cotter's users: a replication user on the source, a writer on the target
q src "CREATE USER 'repl'@'%' IDENTIFIED BY 'rpw';
       GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'repl'@'%'"
q dst "CREATE USER 'cot'@'%' IDENTIFIED BY 'cpw';
       GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP ON app.* TO 'cot'@'%';
       GRANT ALL ON cotter.* TO 'cot'@'%'"

COTTER_MANAGER_PORT=$(cotter__manager_port)
SRC_URL=$(mdb_url src repl rpw)
DST_URL=$(mdb_url dst cot cpw)
write_cfg() { # write_cfg SRC_URL DST_URL
  cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
manager: { listen: "127.0.0.1:$COTTER_MANAGER_PORT" }
sources:
  src: { url: "$1", server_id: 7401 }
targets:
  dst: { url: "$2" }
channels:
  c1:
    pipelines:
      - name: p1
        source: src
        target: dst
        retry: { min_ms: 100, max_ms: 500 }
        tables:
          - match: app.*
EOC
}
write_cfg "$SRC_URL" "$DST_URL"

OUT=""
RC=0
doctor() { OUT=$("$COTTER_BIN" doctor -c "$COTTER_CFG" "$@" 2>&1); RC=$?; }
expect() { # expect REGEX WHAT: OUT must match
  grep -qE -- "$1" <<<"$OUT" || { echo "$OUT" | sed 's/^/  | /' >&2; fail "$2: no line matching /$1/"; }
}
json_level() { # json_level CHECK_PREFIX: the levels of the JSON checks whose name starts so
  jq -r --arg c "$1" '[.checks[] | select(.check | startswith($c)) | .level] | join(",")' <<<"$OUT"
}

section "0. healthy setup: exit 0, every check listed"
doctor
assert_eq 0 "$RC" "doctor exit on a healthy setup"
expect '^source src$' "report groups the source"
expect 'OK +connect: connected to mysql://repl:\*\*\*@127.0.0.1' "connect check, password redacted"
expect 'OK +binlog_format: binlog_format=ROW' "binlog_format OK"
expect 'OK +grants: .repl.@.%. has REPLICATION SLAVE' "replication grant OK"
expect 'OK +mapping .*app\.users -> app\.users: 4 columns mapped, key PRIMARY' "mapping OK"
expect 'OK +mapping .*app\.tags -> app\.tags: 2 columns mapped, key PRIMARY \(`id`,`tag`\)' "composite key"
expect 'OK +clock: server clock within' "clock skew measured"
grep -q 'rpw\|cpw' <<<"$OUT" && fail "a password was printed"
doctor --json
assert_eq 0 "$RC" "doctor --json exit"
assert_eq true "$(jq -r .healthy <<<"$OUT")" "json healthy"
assert_eq 0 "$(jq -r .fail <<<"$OUT")" "json fail count"
assert_eq OK,OK "$(json_level connect)" "json connect levels (source and target)"

section "1. missing REPLICATION grant"
q src "REVOKE REPLICATION SLAVE ON *.* FROM 'repl'@'%'"
doctor
assert_eq 1 "$RC" "doctor exit without REPLICATION SLAVE"
expect "FAIL +grants: user 'repl'@'%' lacks REPLICATION SLAVE on \*\.\*: cotter cannot read the binlog" "missing grant message"
expect "fix: GRANT REPLICATION SLAVE ON \*\.\* TO 'repl'@'%';" "the GRANT to run"
q src "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'"

section "2. binlog_format=STATEMENT"
q src "SET GLOBAL binlog_format='STATEMENT'"
doctor
assert_eq 1 "$RC" "doctor exit with STATEMENT"
expect 'FAIL +binlog_format: binlog_format is STATEMENT: changes are logged as SQL statements, not as rows' "statement format message"
expect "fix: SET GLOBAL binlog_format='ROW'; and binlog_format=ROW under \[mysqld\] in my.cnf" "statement format fix"
q src "SET GLOBAL binlog_format='ROW'"

section "3. binlog_row_image=MINIMAL (a warning: exit 0)"
q src "SET GLOBAL binlog_row_image='MINIMAL'"
doctor --json
assert_eq 0 "$RC" "doctor exit with MINIMAL (warning only)"
assert_eq WARN "$(json_level binlog_row_image)" "row image level"
jq -r '.checks[] | select(.check == "binlog_row_image") | .message' <<<"$OUT" |
  grep -q 'binlog_row_image is MINIMAL: updates carry only the key and the changed columns' ||
  fail "row image message: $(jq -c '.checks[] | select(.check == "binlog_row_image")' <<<"$OUT")"
q src "SET GLOBAL binlog_row_image='FULL'"

section "4. stored position in a purged binlog"
first=$(mdb_sql src "SHOW BINARY LOGS" | head -1 | cut -f1)
q dst "CREATE DATABASE IF NOT EXISTS cotter;
  CREATE TABLE cotter.positions (pipeline VARCHAR(191) NOT NULL PRIMARY KEY,
    binlog_file VARCHAR(255) NOT NULL, binlog_pos BIGINT UNSIGNED NOT NULL, gtid VARCHAR(255) NOT NULL,
    source_ts INT UNSIGNED NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
  INSERT INTO cotter.positions (pipeline, binlog_file, binlog_pos, gtid, source_ts)
    VALUES ('p1', '$first', 4, '', 0)"
doctor
assert_eq 0 "$RC" "doctor exit with an available position"
expect "OK +position: stored position $first:4 is available on the source" "available position"
q src "FLUSH BINARY LOGS; FLUSH BINARY LOGS"
last=$(mdb_sql src "SHOW BINARY LOGS" | tail -1 | cut -f1)
# (MariaDB keeps a file until InnoDB's checkpoint covers it: retry for a while)
for _ in $(seq 1 50); do
  q src "PURGE BINARY LOGS TO '$last'"
  [ "$(mdb_sql src "SHOW BINARY LOGS" | head -1 | cut -f1)" = "$last" ] && break
  sleep 0.2
done
[ "$(mdb_sql src "SHOW BINARY LOGS" | head -1 | cut -f1)" = "$last" ] || fail "could not purge the source's binlogs"
doctor
assert_eq 1 "$RC" "doctor exit with a purged position"
expect "FAIL +position: the stored position $first:4 \(on target dst\) was purged from source src: its oldest binlog is now $last" "purged message"
expect "fix: the changes since then are gone from the binlog: re-snapshot" "purged fix"
q dst "DROP TABLE cotter.positions"

section "5. target table missing a column"
q dst "ALTER TABLE app.users DROP COLUMN email"
doctor
assert_eq 1 "$RC" "doctor exit with a missing column"
expect "FAIL +mapping $COTTER_CFG:[0-9]+ app\.users -> app\.users: target table app\.users has no column 'email' \(mapped from source column\)" "missing column message"
expect 'fix: ALTER TABLE `app`.`users` ADD COLUMN `email` varchar\(60\) on target dst, or add exclude: \[email\] to the mapping at line [0-9]+' "missing column fix"
# a narrower type is a warning with its ALTER
q dst "ALTER TABLE app.users ADD COLUMN email VARCHAR(60), MODIFY score DECIMAL(10,0)"
doctor
assert_eq 0 "$RC" "doctor exit with a narrower decimal (warning)"
expect "WARN +mapping .*column 'score': source type decimal\(10,2\), target type decimal\(10,0\)" "type warning"
expect 'fix: ALTER TABLE `app`.`users` MODIFY `score` decimal\(10,2\) NULL' "type fix"
q dst "ALTER TABLE app.users MODIFY score DECIMAL(10,2)"

section "6. unreachable host"
closed=$(harness_free_port)
write_cfg "$SRC_URL" "mysql://cot:cpw@127.0.0.1:$closed"
doctor
assert_eq 1 "$RC" "doctor exit with an unreachable target"
expect "FAIL +connect: cannot connect to target 'dst' at mysql://cot:\*\*\*@127.0.0.1:$closed" "unreachable message"
expect "fix: cannot reach the server \(NET\): check host and port in targets.dst.url" "unreachable fix"
expect "WARN +mappings: not checked: the target is not reachable" "mappings skipped"

section "7. wrong password"
write_cfg "$(mdb_url src repl wrong)" "$DST_URL"
doctor
assert_eq 1 "$RC" "doctor exit with a wrong password"
expect "FAIL +connect: cannot connect to source 'src' .*Access denied for user 'repl'" "wrong password message"
expect "fix: access denied \(AUTH\): check the user name and password in sources.src.url" "wrong password fix"
grep -q 'wrong' <<<"$OUT" && fail "the wrong password was printed"

section "8. bad config: exit 2"
echo "sources: [" >"$HARNESS_DIR/bad.yaml"
"$COTTER_BIN" doctor -c "$HARNESS_DIR/bad.yaml" >/dev/null 2>&1
assert_eq 2 "$?" "doctor exit on a bad config"

section "8b. server_id equal to the source's own (issue 18): a warning, and the server accepts it"
own=$(mdb_sql src "SELECT @@server_id")
n_pos=$(mdb_sql dst "SELECT COUNT(*) FROM cotter.positions" 2>/dev/null || echo 0)
write_cfg "$SRC_URL" "$DST_URL"
sed -i "s/server_id: 7401/server_id: $own/" "$COTTER_CFG"
doctor
assert_eq 0 "$RC" "doctor exit with cotter's server_id equal to the source's"
expect "WARN +server_id: cotter's server_id $own is the source's own server_id: the source accepts" \
  "server_id warning"
cotter_start
cotter_wait_streaming 30
q src "UPDATE app.users SET score = score + 1 WHERE id = 1"
want=$(mdb_sql src "SELECT score FROM app.users WHERE id = 1")
for _ in $(seq 1 100); do
  [ "$(mdb_sql dst "SELECT score FROM app.users WHERE id = 1")" = "$want" ] && break
  sleep 0.2
done
assert_eq "$want" "$(mdb_sql dst "SELECT score FROM app.users WHERE id = 1")" \
  "a change streamed with cotter's server_id equal to the source's"
cotter_stop
[ "$n_pos" = 0 ] && q dst "DELETE FROM cotter.positions"

section "9. start-up validation: a missing target column stops the pipeline before any event"
write_cfg "$SRC_URL" "$DST_URL"
q dst "ALTER TABLE app.users DROP COLUMN email"
cotter_start
cotter_wait_log "$COTTER_START_MARK" "target table app\.users has no column 'email'" 30 ||
  fail "the pipeline did not stop with the missing column"
line=$(cotter_log_since "$COTTER_START_MARK" | grep -m1 "has no column 'email'")
grep -qE "mapping $COTTER_CFG:[0-9]+ \(app\.users -> app\.users\)" <<<"$line" || fail "no file:line in: $line"
grep -q 'fix: ALTER TABLE `app`.`users` ADD COLUMN `email` varchar(60)' <<<"$line" || fail "no fix in: $line"
cotter_log_since "$COTTER_START_MARK" | grep -q "streaming from" && fail "the pipeline streamed despite the missing column"
st=$(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/api/pipeline/status")
hint=$(jq -r '[.. | objects | select(has("hint")) | .hint][0] // ""' <<<"$st")
grep -q "mapping problem" <<<"$hint" || fail "status has no hint: $st"
# a change made meanwhile is applied once the column exists
q src "INSERT INTO app.users VALUES (3, 'c', 'c@x', 3.5)"
q dst "ALTER TABLE app.users ADD COLUMN email VARCHAR(60) AFTER name"
cotter_wait_log "$COTTER_START_MARK" "streaming from" 30 || fail "the pipeline did not start after the fix"
for _ in $(seq 1 100); do
  [ "$(mdb_sql dst "SELECT CONCAT(name, ' ', email) FROM app.users WHERE id = 3")" = "c c@x" ] && break
  sleep 0.2
done
assert_eq "c c@x" "$(mdb_sql dst "SELECT CONCAT(name, ' ', email) FROM app.users WHERE id = 3")" \
  "the row inserted while the pipeline waited for the fix"
cotter_stop
note "doctor: all faults reported with their fixes"
