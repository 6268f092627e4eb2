#!/usr/bin/env bash
# Type conversion and on_overflow (issue 3), against real servers. The
# target's columns are narrower than the source's: BIGINT -> INT,
# VARCHAR(100) -> VARCHAR(10), DECIMAL(12,4) -> DECIMAL(8,2), plus
# ENUM -> VARCHAR and BIGINT -> VARCHAR conversions that do fit. One table
# per policy:
#   clamp    -> the nearest value the column holds (INT max, first 10
#               characters, 999999.99), a fitting DECIMAL rounded;
#   null     -> NULL in each column that overflowed;
#   skip_row -> the row is not applied, it is in cotter.dead_letters with
#               the reason, the status counts it; the rows around it are;
#   stop     -> (default) the pipeline stops in ERROR naming table, column,
#               key, value, the target type and the fix; nothing after it.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
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

q src "CREATE DATABASE cv"
q dst "CREATE DATABASE cv"
for t in t_clamp t_null t_skip t_stop; do
  q src "CREATE TABLE cv.$t (id INT PRIMARY KEY, n BIGINT, s VARCHAR(100), d DECIMAL(12,4),
           e ENUM('new','paid','shipped'), code BIGINT)"
  q dst "CREATE TABLE cv.$t (id INT PRIMARY KEY, n INT, s VARCHAR(10), d DECIMAL(8,2),
           e VARCHAR(10), code VARCHAR(12))"
done

cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
manager: { listen: "127.0.0.1:$(cotter__manager_port)" }
sources:
  src: { url: "$(mdb_url src)", server_id: 7201 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  $COTTER_CHANNEL:
    pipelines:
      - name: $COTTER_PIPELINE
        source: src
        target: dst
        retry: { min_ms: 100, max_ms: 1000 }
        tables:
          - match: cv.t_clamp
            on_overflow: clamp
          - match: cv.t_null
            on_overflow: null
          - match: cv.t_skip
            on_overflow: skip_row
          - match: cv.t_stop
EOC
cotter_start
cotter_wait_streaming

section "values that fit are converted: DECIMAL rounded, ENUM by name, number as text"
for t in t_clamp t_null t_skip t_stop; do
  q src "INSERT INTO cv.$t VALUES (1, 2147483647, 'fits', 12.3456, 'paid', 123456789012)"
done
for t in t_clamp t_null t_skip t_stop; do
  expect_eq dst "SELECT CONCAT_WS('|', n, s, d, e, code) FROM cv.$t WHERE id=1" \
    "2147483647|fits|12.35|paid|123456789012" "converted row in $t"
done

section "on_overflow: clamp"
long="é23456789012345"   # 15 characters, the first one two bytes
q src "INSERT INTO cv.t_clamp VALUES (2, 3000000000, '$long', 12345678.9876, 'shipped', 1),
                                     (3, -3000000000, 'ok', -99999999.5, 'new', 2)"
expect_eq dst "SELECT CONCAT_WS('|', id, n, s, d) FROM cv.t_clamp WHERE id>1 ORDER BY id" \
  "$(printf '2|2147483647|é234567890|999999.99\n3|-2147483648|ok|-999999.99')" "clamped rows"
mdb_sql dst "SELECT CHAR_LENGTH(s) FROM cv.t_clamp WHERE id=2" | grep -qx 10 ||
  fail "the clamped string is not 10 characters"
cotter_log_all | grep -E "$RE_WARN" | grep "column \`n\`" | grep -q "on_overflow: clamp" ||
  fail "the clamp was not logged"
[ "$(cotter_log_all | grep -E "$RE_WARN" | grep -c "t_clamp.*column \`n\`")" -eq 1 ] ||
  fail "the clamp of column n was logged more than once"

section "on_overflow: null"
q src "INSERT INTO cv.t_null VALUES (2, 3000000000, 'short', 1.5, 'new', 1),
                                    (3, 5, '$long', 99999999.99, 'new', 2)"
expect_eq dst "SELECT CONCAT_WS('|', id, IFNULL(n,'N'), IFNULL(s,'N'), IFNULL(d,'N')) FROM cv.t_null
               WHERE id>1 ORDER BY id" \
  "$(printf '2|N|short|1.50\n3|5|N|N')" "rows with NULLs where values overflowed"

section "on_overflow: skip_row"
q src "BEGIN; INSERT INTO cv.t_skip VALUES (2, 1, 'a', 1, 'new', 1);
       INSERT INTO cv.t_skip VALUES (3, 3000000000, 'b', 1, 'new', 1);
       INSERT INTO cv.t_skip VALUES (4, 4, 'c', 1, 'new', 1); COMMIT"
expect_eq dst "SELECT GROUP_CONCAT(id ORDER BY id) FROM cv.t_skip" "1,2,4" "rows around the skipped one"
dl=$(mdb_sql dst "SELECT CONCAT(op, ' ', target_table, ' | ', error, ' | ', row_image) FROM cotter.dead_letters")
note "dead letter: $(cut -c1-300 <<<"$dl")"
[ "$(wc -l <<<"$dl")" -eq 1 ] || fail "expected 1 dead letter, got: $dl"
grep -q "cv.t_skip" <<<"$dl" && grep -q "column \`n\`" <<<"$dl" && grep -q "3000000000" <<<"$dl" &&
  grep -q "skip_row" <<<"$dl" && grep -q "id=3" <<<"$dl" ||
  fail "the dead letter does not say table, column, value, policy and row: $dl"
status=$(cotter_status_file)
for _ in $(seq 1 30); do grep -q '"skipped":1,' "$status" 2>/dev/null && break; sleep 0.2; done
grep -q '"skipped":1,' "$status" || fail "status does not count the skipped row: $(cat "$status")"
# clamp: 3 values of row 2 + 2 of row 3; null: 1 of row 2 + 2 of row 3
grep -q '"overflows":8' "$status" ||
  fail "status does not count 8 overflowed values (5 clamped, 3 NULL): $(cat "$status")"

section "on_overflow: stop (default)"
mark=$(cotter_log_mark)
q src "INSERT INTO cv.t_stop VALUES (2, 3000000000, 'x', 1, 'new', 1)"
q src "INSERT INTO cv.t_stop VALUES (3, 3, 'y', 1, 'new', 1)"
cotter_wait_state ERROR 30 || fail "the pipeline did not stop on a value that does not fit"
msg=$(cotter_log_since "$mark" | grep -E "$RE_ERROR" | head -1)
note "what the user sees: $(cut -c1-400 <<<"$msg")"
for want in "cv.t_stop" "column \`n\`" "id=2" "3000000000" "does not fit int" "widen the column" "on_overflow"; do
  grep -qF -- "$want" <<<"$msg" || fail "the error does not say '$want': $msg"
done
sleep 1
assert_eq "1" "$(mdb_sql dst "SELECT GROUP_CONCAT(id) FROM cv.t_stop")" "rows of t_stop while stopped"
cotter_stop

note "PASS: type conversion and on_overflow"
