#!/usr/bin/env bash
# cotter check while the channel runs (issue 6, online check):
#  1. the target lags on purpose (cotter stopped with SIGSTOP while rows
#     change): --offline reports the changes in flight, the online check
#     waits for the pipeline and reports nothing, with settled chunks;
#  2. writers change `keyed` heavily during two checks: no false difference;
#  3. the target is broken while the channel runs (rows deleted, a value
#     changed, extra rows): check names exactly those keys, repair fixes
#     them, a second check is clean; a dropped target column is named;
#  0. with no check: block the scheduled check is on (daily), shown in
#     GET /api/checks; after a restart it is planned one day after the
#     latest stored check (section 4);
#  4. a scheduled check (check.schedule) inside `cotter run` finds a broken
#     row, logs it at error level and shows it in GET /api/checks and the
#     cotter_check_differences metric; results are kept in
#     cotter.check_results on the target.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"
command -v jq >/dev/null || fail "jq is needed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is needed (scripts/install-deps.sh installs it)"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }

ddl="CREATE DATABASE app; USE app; $(writer_tables_sql)
CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(40), qty INT, price DECIMAL(10,2));"
fill="SET SESSION max_recursive_iterations = 100000;
INSERT INTO app.items WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000)
  SELECT i, CONCAT('item ', i), i % 97, i / 7 FROM s;"
q src "$ddl"
q dst "$ddl"
q src "$fill"
q dst "$fill"

# the keyless table the writers also fill is not mapped: keyless tables are
# compared as a whole and are not re-checked row by row (docs/check.md)
cotter_config src dst "app.keyed" "app.items"
cotter_start
cotter_wait_streaming 30

# the config says nothing of check: the scheduled check is on by default,
# daily, first one day after start (issue 18); config-doc says so too
api=$(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/api/checks")
assert_eq 86400 "$(jq '.schedules[0].every_s' <<<"$api")" "default schedule shown in GET /api/checks"
next=$(date -d "$(jq -r '.schedules[0].next_at' <<<"$api")" +%s)
[ $((next - $(date +%s))) -ge 86000 ] || fail "the first default check is not a day away: $api"
"$COTTER_BIN" config-doc | grep -A6 '^## `check`$' | grep -qE '^\| `schedule` \| duration \| `1d` \|' || fail "config-doc: check.schedule default is not 1d"

CHECK_OUT=""
CHECK_RC=0
check() { CHECK_OUT=$("$COTTER_BIN" check -c "$COTTER_CFG" --json "$@" 2>"$HARNESS_DIR/check.err"); CHECK_RC=$?; }
jt() { jq -r "$1" <<<"$CHECK_OUT"; } # jt FILTER: a value of the last check's JSON
diff_keys() { # diff_keys TABLE KIND: the ids listed for that kind, sorted, comma-separated
  jq -r --arg t "$1" --arg k "$2" '[.tables[] | select(.source == $t) | .diffs[] |
    select(.kind == $k) | .key.id | tonumber] | sort | map(tostring) | join(",")' <<<"$CHECK_OUT"
}

section "1. a lagging target: offline reports changes in flight, online waits for them"
kill -STOP "$COTTER_PID"
q src "UPDATE app.items SET qty = qty + 1000 WHERE id <= 300; DELETE FROM app.items WHERE id BETWEEN 19990 AND 19995"
check --table app.items --offline --no-store
assert_eq 1 "$CHECK_RC" "offline check while the pipeline is stopped"
assert_eq 306 "$(jt '[.tables[].different, .tables[].extra] | add')" "offline: rows in flight reported"
( sleep 1.5; kill -CONT "$COTTER_PID" ) &
resume=$!
check --table app.items --no-store
kill -CONT "$COTTER_PID" 2>/dev/null
wait "$resume"
assert_eq 0 "$CHECK_RC" "online check while the pipeline catches up: $(cat "$HARNESS_DIR/check.err")"
assert_eq 0 "$(jt '[.tables[] | .missing + .extra + .different] | add')" "online: no difference"
settled=$(jt '[.tables[] | .settled_chunks + .settled_rows] | add')
[ "$settled" -ge 1 ] || fail "online: expected chunks settled after waiting, got $settled"
note "online check settled $settled chunk(s)/row(s) after the pipeline caught up"

section "2. heavy writes during check: no false difference"
writer_start src app 4 0.005
sleep 2
for run in 1 2; do
  t0=$SECONDS
  check --no-store --chunk-size 100
  assert_eq 0 "$CHECK_RC" "check #$run during writes: $(cat "$HARNESS_DIR/check.err") $(jt '[.tables[] | {source, missing, extra, different, diffs}]')"
  note "check #$run during writes: $(jt '[.tables[] | "\(.source) \(.rows) rows, settled \(.settled_chunks)+\(.settled_rows)"] | join("; ")') in $(( SECONDS - t0 ))s"
done

section "3. break the target while the channel runs: check finds exactly those rows"
q dst "DELETE FROM app.items WHERE id IN (10, 11, 12);
       UPDATE app.items SET qty = -1 WHERE id = 500;
       INSERT INTO app.items VALUES (30001, 'extra', 1, 1.00), (30002, 'extra', 2, 2.00)"
check
assert_eq 1 "$CHECK_RC" "check of a broken target"
assert_eq "10,11,12" "$(diff_keys app.items missing)" "missing rows"
assert_eq "500" "$(diff_keys app.items different)" "different rows"
assert_eq "30001,30002" "$(diff_keys app.items extra)" "extra rows"
assert_eq 0 "$(jt '[.tables[] | select(.source == "app.keyed") | .missing + .extra + .different] | add')" "keyed: no false difference"
stored=$(mdb_sql dst "SELECT CONCAT(missing, '/', extra, '/', different, '/', status) FROM cotter.check_results
                      WHERE source_table = 'app.items' ORDER BY id DESC LIMIT 1")
assert_eq "3/2/1/differs" "$stored" "result stored in cotter.check_results"
"$COTTER_BIN" repair -c "$COTTER_CFG" --table app.items >"$HARNESS_DIR/repair.out" 2>&1
assert_eq 1 "$?" "repair exit (differences repaired): $(cat "$HARNESS_DIR/repair.out")"
check
assert_eq 0 "$CHECK_RC" "check after repair (writers still running): $(jt '[.tables[] | {source, missing, extra, different}]')"

q dst "ALTER TABLE app.items DROP COLUMN price"
check --table app.items
assert_eq 2 "$CHECK_RC" "check with a dropped target column"
jt '.tables[0].error' | grep -q "column 'price' of app.items (mapped from app.items) is missing" ||
  fail "dropped column not named: $(jt '.tables[0].error')"
q dst "ALTER TABLE app.items ADD COLUMN price DECIMAL(10,2)"
check --table app.items
assert_eq 1 "$CHECK_RC" "check after the column came back empty"
assert_eq 19994 "$(jt '.tables[0].different')" "every row differs in price (20000 minus the 6 deleted in 1.)"
"$COTTER_BIN" repair -c "$COTTER_CFG" --table app.items >/dev/null 2>&1
check
assert_eq 0 "$CHECK_RC" "check after the second repair"
writer_stop
for _ in $(seq 1 300); do
  [ "$(cotter_stored_position dst)" = "$(source_position src)" ] && break
  sleep 0.1
done
check --offline --no-store
assert_eq 0 "$CHECK_RC" "offline check once the pipeline caught up after the writers stopped"

section "4. scheduled check inside cotter run: log, GET /api/checks, metric"
cotter_stop
# the default schedule resumes from the latest stored check: one that started
# 23 h ago puts the next one about an hour after this start, not a day
q dst "UPDATE cotter.check_results SET started_at = NOW() - INTERVAL 23 HOUR WHERE pipeline = 'p1'"
cotter_start
cotter_wait_streaming 30
for _ in $(seq 1 50); do
  api=$(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/api/checks")
  left=$(( $(date -d "$(jq -r '.schedules[0].next_at' <<<"$api")" +%s) - $(date +%s) ))
  [ "$left" -lt 86000 ] && break
  sleep 0.1
done
[ "$left" -ge 3400 ] && [ "$left" -le 3700 ] || fail "the next default check should be ~3600 s away after one stored 23 h ago, got $left s: $api"
cotter_stop
echo "check: { schedule: 2s, chunk_time: 200ms, max_delay: 10s }" >>"$COTTER_CFG"
q dst "UPDATE app.items SET name = 'broken' WHERE id = 777"
mark=$(cotter_log_mark)
cotter_start
cotter_wait_streaming 30
cotter_wait_log "$mark" "scheduled check found 1 differing rows" 30 || fail "the scheduled check did not report the broken row"
cotter_log_since "$mark" | grep -E "$RE_ERROR" | grep -q "app.items and app.items differ: 0 missing, 0 extra, 1 different" ||
  fail "the table's difference was not logged at error level"
api=$(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/api/checks")
assert_eq 1 "$(jq '[.tables[] | select(.source == "app.items") | .different][0]' <<<"$api")" "GET /api/checks different"
assert_eq 777 "$(jq -r '[.tables[] | select(.source == "app.items") | .diffs[0].key.id][0]' <<<"$api")" "GET /api/checks key"
assert_eq 2 "$(jq '.schedules[0].every_s' <<<"$api")" "schedule shown"
curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/metrics" | grep -q '^cotter_check_differences{pipeline="p1",table="app.items"} 1$' ||
  fail "metric cotter_check_differences missing: $(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/metrics" | grep check)"
# the alarm engine raises a "check" alarm while differences stand
for _ in $(seq 1 50); do
  alarms=$(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/api/alarms")
  [ "$(jq -r '[.firing[] | select(.rule == "check")][0].severity // ""' <<<"$alarms")" = warning ] && break
  sleep 0.2
done
assert_eq warning "$(jq -r '[.firing[] | select(.rule == "check")][0].severity // ""' <<<"$alarms")" "check alarm firing"
q dst "UPDATE app.items SET name = 'item 777' WHERE id = 777"
mark=$(cotter_log_mark)
cotter_wait_log "$mark" "scheduled check: 2 table\(s\), [0-9]+ rows identical" 30 || fail "the scheduled check did not come back clean"
curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/metrics" | grep -q '^cotter_check_differences{pipeline="p1",table="app.items"} 0$' ||
  fail "metric not back to 0"
for _ in $(seq 1 50); do
  alarms=$(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/api/alarms")
  [ "$(jq '[.firing[] | select(.rule == "check")] | length' <<<"$alarms")" = 0 ] && break
  sleep 0.2
done
assert_eq 0 "$(jq '[.firing[] | select(.rule == "check")] | length' <<<"$alarms")" "check alarm cleared after the fix"
cotter_stop

# a pipeline's check: { enabled: false } opts it out of the schedule
sed -i 's|^        retry: {|        check: { enabled: false }\n        retry: {|' "$COTTER_CFG"
cotter_start
cotter_wait_streaming 30
assert_eq 0 "$(curl -s "http://127.0.0.1:$COTTER_MANAGER_PORT/api/checks" | jq '.schedules | length')" "no schedule for a pipeline with check.enabled false"
cotter_stop
note "online check: all passed"
