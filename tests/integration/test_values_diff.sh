#!/usr/bin/env bash
# Every value of every type, bit-exact on every path (issue 11): a table per
# type group (integers, FLOAT/DOUBLE/DECIMAL, BIT, temporal with fractions
# and zero dates, text in utf8mb4/binary collations/latin1, ENUM/SET, binary
# strings with trailing zeros and spaces, JSON as written, geometry) plus a
# keyless table, filled with extremes and random FLOAT/DOUBLE bit patterns
# (values_diff_gen.py), goes through
#   1. the initial load (round 1) or streamed CREATE + INSERTs (round 2),
#   2. streaming: every keyed row UPDATEd, keyless rows found by all values,
#   3. the bulk path: each table refilled in one transaction of >= 300 rows
#      (LOAD DATA on the target: Com_load must grow),
#   4. `cotter snapshot` (round 1) or the initial load again (round 2: its
#      records deleted, restarted) after damaging the target,
#   5. `cotter repair` after damaging it again;
# after each, every table must give the same CHECKSUM TABLE on both servers
# and the same ordered full-row dump (HEX() of each value, FLOAT/DOUBLE as
# the DOUBLE text that reads back exactly) -- never cotter's own reading.
# `cotter check` must say equal when it is, and see a FLOAT or a DOUBLE one
# ulp off, the same change on two rows (a linear row hash cancels it in the
# chunk's BIT_XOR), a '#' moved from one column to the next, and changes a
# collation or a rounding would hide (case, trailing spaces, 1 us, the last
# DECIMAL digit, one bit, JSON whitespace, a trailing zero byte).
# Round 1 runs with binlog_row_metadata=FULL, round 2 with NO_LOG (SET
# GLOBAL between rounds). The servers' time zones are +05:30 and -03:00 so a
# session that forgets time_zone='+00:00' moves every TIMESTAMP, and the
# target's sql_mode refuses zero dates: a session of cotter that does not set
# its own would fail on them.
# Env: COTTER_BIN, COTTER_SEED (default: random, printed).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

SEED=${COTTER_SEED:-$(( $(date +%s) % 100000 ))}
note "seed $SEED (rerun with COTTER_SEED=$SEED)"
PY=/usr/bin/python3
$PY -c 'import struct' || fail "no $PY"

mdb_start src "default-time-zone=+05:30" || fail "source did not start"
mdb_start dst "default-time-zone=-03:00" \
  "sql-mode=STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO" ||
  fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }

# the ordered full-row dump of SCHEMA.TABLE on SERVER: HEX() of each value,
# FLOAT and DOUBLE as the text of the DOUBLE (reads back bit-exactly), DECIMAL
# as printed (exact); keyless tables ordered by every column.
dump_table() {
  local server=$1 schema=$2 table=$3 cols
  cols=$(mdb_sql src "SELECT GROUP_CONCAT(CASE
             WHEN DATA_TYPE IN ('float','double') THEN CONCAT('CAST(\`',COLUMN_NAME,'\` AS DOUBLE)')
             WHEN DATA_TYPE = 'decimal' THEN CONCAT('\`',COLUMN_NAME,'\`')
             ELSE CONCAT('HEX(\`',COLUMN_NAME,'\`)') END ORDER BY ORDINAL_POSITION)
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$schema' AND TABLE_NAME='$table'")
  local n; n=$(( $(tr -cd , <<<"$cols" | wc -c) + 1 ))
  mdb_sql "$server" "SET time_zone='+00:00';
    SELECT $cols FROM \`$schema\`.\`$table\` ORDER BY $(seq -s, 1 "$n")"
}

checksums() { mdb_sql "$1" "CHECKSUM TABLE $(printf "\`$2\`.%s," $TABLES | sed 's/,$//')"; }

# same SCHEMA WHAT: every table has the same CHECKSUM TABLE and the same
# full-row dump on both servers (waits up to 60 s for the pipeline first).
same() {
  local schema=$1 what=$2 t i
  for (( i = 0; i < 300; i++ )); do
    [ "$(checksums src "$schema")" = "$(checksums dst "$schema")" ] && break
    sleep 0.2
  done
  for t in $TABLES; do
    local a b
    a=$(mdb_sql src "CHECKSUM TABLE \`$schema\`.\`$t\`" | cut -f2)
    b=$(mdb_sql dst "CHECKSUM TABLE \`$schema\`.\`$t\`" | cut -f2)
    dump_table src "$schema" "$t" >"$HARNESS_DIR/a.$t" || fail "dump of $schema.$t on src"
    dump_table dst "$schema" "$t" >"$HARNESS_DIR/b.$t" || fail "dump of $schema.$t on dst"
    if [ "$a" != "$b" ] || ! cmp -s "$HARNESS_DIR/a.$t" "$HARNESS_DIR/b.$t"; then
      echo "$what: $schema.$t differs: CHECKSUM TABLE src $a dst $b; rows src $(wc -l <"$HARNESS_DIR/a.$t") dst $(wc -l <"$HARNESS_DIR/b.$t"); first differing dump lines:" >&2
      diff "$HARNESS_DIR/a.$t" "$HARNESS_DIR/b.$t" | head -6 | cut -c1-400 >&2
      fail "$what: $schema.$t is not bit-identical on the target"
    fi
  done
  note "$what: all $(wc -w <<<"$TABLES") tables of $schema identical (CHECKSUM TABLE and full-row dumps; ${SECONDS}s into the test)"
}

com_load() { mdb_sql dst "SHOW GLOBAL STATUS LIKE 'Com_load'" | cut -f2; }

check_json() { "$COTTER_BIN" check -c "$COTTER_CFG" --json "$@" 2>>"$HARNESS_DIR/check.err"; }
diff_keys() { jq -c "[.tables[] | .diffs[]? | select(.kind == \"$1\") | .key] | sort" <<<"$2"; }

COTTER_PIPELINE_EXTRA="        snapshot: initial"
cotter_config src dst "vd_full.*" "vd_nolog.*"

round() {
  local mode=$1 schema=$2 first=$3 gen="$HARNESS_DIR/gen.$2"
  mkdir -p "$gen"
  TABLES=$($PY "$HERE/values_diff_gen.py" "$gen" "$schema" "$SEED") || fail "generating the SQL"
  q src "SET GLOBAL binlog_row_metadata = $mode"
  section "$mode 1. $([ "$first" = 1 ] && echo "initial load" || echo "streamed CREATE TABLE + INSERTs")"
  if [ "$first" = 1 ]; then
    mdb src <"$gen/schema.sql" || fail "schema"
    mdb src <"$gen/small.sql" || fail "rows"
    cotter_start
    cotter_wait_streaming 60
    cotter_wait_log "$COTTER_START_MARK" "snapshot finished: " 60 || fail "the initial load did not finish"
  else
    q dst "CREATE DATABASE $schema"
    mdb src <"$gen/schema.sql" || fail "schema"
    mdb src <"$gen/small.sql" || fail "rows"
  fi
  same "$schema" "$mode initial rows"

  section "$mode 2. streaming: UPDATE every row, keyless rows found by their values"
  local l0; l0=$(com_load)
  mdb src <"$gen/update.sql" || fail "updates"
  same "$schema" "$mode streaming"
  note "LOAD DATA statements on the target while streaming small transactions: $(( $(com_load) - l0 ))"

  section "$mode 3. bulk: one transaction of >= 300 rows per table"
  local t i loads=""
  for t in $TABLES; do
    [ -f "$gen/bulk.$t.sql" ] || continue
    l0=$(com_load)
    mdb src <"$gen/bulk.$t.sql" || fail "bulk rows of $t"
    for (( i = 0; i < 600; i++ )); do
      [ "$(mdb_sql src "CHECKSUM TABLE $schema.$t")" = "$(mdb_sql dst "CHECKSUM TABLE $schema.$t")" ] && break
      sleep 0.1
    done
    loads+=" $t:$(( $(com_load) - l0 ))"
  done
  same "$schema" "$mode bulk"
  note "$mode bulk: LOAD DATA statements on the target per table:$loads"
  # BIT and spatial values do not travel as text: those tables go as INSERT;
  # 300 rows of t_blob make a transaction big enough to be streamed in parts
  for t in $TABLES; do
    case "$t:$loads " in
    t_bit:* | t_geo:* | t_blob:* | t_nk:*) ;;
    *" $t:0 "*) fail "$mode bulk: $t did not go through LOAD DATA ($loads)" ;;
    esac
  done

  section "$mode 4. $([ "$first" = 1 ] && echo "cotter snapshot" || echo "initial load again") after damaging the target"
  mdb dst <"$gen/corrupt.sql" || fail "corrupting the target"
  local out
  if [ "$first" = 1 ]; then
    # one at a time: the pipeline holds one pending request (a second one
    # sent before the first is taken replaces it)
    for t in $TABLES; do
      out=$("$COTTER_BIN" snapshot -c "$COTTER_CFG" --pipeline "$COTTER_PIPELINE" \
            --table "$schema.$t" --timeout 60 2>&1) || fail "cotter snapshot $schema.$t: $out"
    done
  else
    # the same reader as `cotter snapshot`, all tables at once: forget that
    # they were copied and restart
    cotter_stop
    q dst "DELETE FROM cotter.snapshots WHERE source_table LIKE '$schema.%'"
    cotter_start
    cotter_wait_log "$COTTER_START_MARK" "snapshot finished: " 60 || fail "the initial load did not finish"
  fi
  same "$schema" "$mode snapshot"

  section "$mode 5. cotter check: equal, then one ulp, the same change twice, a moved '#'"
  source "$gen/ulp.sh"
  out=$(check_json --table "$schema.*"); rc=$?
  assert_eq 0 "$rc" "check on identical tables: $(jq -c '[.tables[] | select(.missing + .extra + .different > 0 or .error != null)]' <<<"$out")"
  q dst "UPDATE $schema.t_real SET f = $F_NEXT WHERE id = $ULP_ID"
  out=$(check_json --table "$schema.t_real"); rc=$?
  assert_eq 1 "$rc" "check with a FLOAT one ulp off ($F_EXACT -> $F_NEXT)"
  assert_eq "[{\"id\":\"$ULP_ID\"}]" "$(diff_keys different "$out")" "the row with the FLOAT one ulp off"
  q dst "UPDATE $schema.t_real SET f = $F_EXACT, d = $D_NEXT WHERE id = $ULP_ID"
  out=$(check_json --table "$schema.t_real"); rc=$?
  assert_eq 1 "$rc" "check with a DOUBLE one ulp off ($D_EXACT -> $D_NEXT)"
  assert_eq "[{\"id\":\"$ULP_ID\"}]" "$(diff_keys different "$out")" "the row with the DOUBLE one ulp off"
  q dst "UPDATE $schema.t_real SET d = $D_EXACT WHERE id = $ULP_ID"
  out=$(check_json --table "$schema.t_real"); rc=$?
  assert_eq 0 "$rc" "check once the DOUBLE is back"
  q dst "UPDATE $schema.t_status SET status = 'shipped' WHERE id IN (1, 2)"
  out=$(check_json --table "$schema.t_status"); rc=$?
  assert_eq 1 "$rc" "check with the same change on rows 1 and 2"
  assert_eq '[{"id":"1"},{"id":"2"}]' "$(diff_keys different "$out")" "rows 1 and 2 changed alike"
  q dst "UPDATE $schema.t_status SET status = 'pending' WHERE id IN (1, 2)"
  q dst "UPDATE $schema.t_status SET a = 'x', b = '#z' WHERE id = 1"
  out=$(check_json --table "$schema.t_status"); rc=$?
  assert_eq 1 "$rc" "check with ('x#','z') changed to ('x','#z')"
  assert_eq '[{"id":"1"}]' "$(diff_keys different "$out")" "the row whose '#' moved"

  # differences a collation or a rounding would hide: case and trailing
  # spaces in *_ci PAD SPACE text, one microsecond, the last digit of a
  # DECIMAL(65,30), one bit of a BIT(64), JSON whitespace, a dropped trailing
  # zero byte
  q dst "UPDATE $schema.t_str SET c = 'A' WHERE id = 2;
         UPDATE $schema.t_str SET vc = 'A' WHERE id = 3;
         UPDATE $schema.t_time SET dt6 = '9999-12-31 23:59:59.999998' WHERE id = 1;
         UPDATE $schema.t_real SET de = de - 0.000000000000000000000000000001 WHERE id = 1;
         UPDATE $schema.t_bit SET b64 = 0xFFFFFFFFFFFFFFFE WHERE id = 2;
         UPDATE $schema.t_json SET j = JSON_COMPACT(j) WHERE id = 8;
         UPDATE $schema.t_bin SET vb = X'41' WHERE id = 3"
  out=$(check_json --table "$schema.*"); rc=$?
  assert_eq 1 "$rc" "check with values a collation or rounding would call equal"
  assert_eq '["t_bin:3","t_bit:2","t_json:8","t_real:1","t_status:1","t_str:2","t_str:3","t_time:1"]' \
    "$(jq -c '[.tables[] | .source as $s | .diffs[]? | select(.kind == "different") |
               "\($s | sub(".*\\."; "")):\(.key.id)"] | sort' <<<"$out")" "rows named different"

  section "$mode 6. cotter repair after damaging the target again"
  mdb dst <"$gen/corrupt.sql" || fail "corrupting the target"
  q dst "UPDATE $schema.t_real SET f = $F_NEXT, d = $D_NEXT WHERE id = $ULP_ID;
         INSERT INTO $schema.t_int (id, ti) VALUES (99999, 1);
         INSERT INTO $schema.t_nk (g, f) VALUES (-1, 1/7)"
  "$COTTER_BIN" repair -c "$COTTER_CFG" --table "$schema.*" --json >"$HARNESS_DIR/repair.json" \
    2>>"$HARNESS_DIR/check.err"; rc=$?
  assert_eq 1 "$rc" "repair exit status (differences repaired)"
  same "$schema" "$mode cotter repair"
  out=$(check_json --table "$schema.*"); rc=$?
  assert_eq 0 "$rc" "check after repair: $(jq -c '[.tables[] | select(.missing + .extra + .different > 0 or .error != null)]' <<<"$out")"
}

round FULL vd_full 1
round NO_LOG vd_nolog 0
cotter_stop
echo "test_values_diff: all passed" >&2
