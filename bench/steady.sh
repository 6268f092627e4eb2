#!/usr/bin/env bash
# Steady-state delay: sysbench oltp_write_only at a fixed rate (--rate) for
# BENCH_STEADY_SECONDS while cotter and a native MariaDB replica (1 SQL
# thread) follow the same source at the same time. A heartbeat row is
# inserted on the source every 100 ms with the source's NOW(6); on each
# copy the heartbeat table has one more column, applied_at, which a
# trigger fills with SYSDATE(6) when the copy applies the row (SYSDATE, not
# NOW: a replica runs row events at the source's timestamp; the replica
# runs the trigger with slave_run_triggers_for_rbr=YES). The
# delay of a heartbeat is applied_at - source time (one clock: all on this
# machine). Prints p50 / p90 / p99 / max per applier and writes
# bench/out/steady.md.
#
# Environment: BENCH_STEADY_RATE (2000 tx/s), BENCH_STEADY_SECONDS (60),
# BENCH_STEADY_THREADS (4), BENCH_TABLE_SIZE (10000), BENCH_TABLES (4),
# BENCH_PIPELINE_EXTRA (one more YAML line for cotter's pipeline),
# COTTER_BIN (BUILD/cotter), BENCH_OUT (bench/out).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
COTTER_BIN=${COTTER_BIN:-$BUILD_DIR/cotter}
RATE=${BENCH_STEADY_RATE:-2000}
SECS=${BENCH_STEADY_SECONDS:-60}
THREADS=${BENCH_STEADY_THREADS:-4}
TABLE_SIZE=${BENCH_TABLE_SIZE:-10000}
N_TABLES=${BENCH_TABLES:-4}
OUT=${BENCH_OUT:-$ROOT/bench/out}
for v in RATE SECS THREADS TABLE_SIZE N_TABLES; do
  case ${!v} in '' | *[!0-9]* | 0) echo "steady: $v must be a positive number, got '${!v}'" >&2; exit 2 ;; esac
done
[ -x "$COTTER_BIN" ] || { echo "steady: $COTTER_BIN not found; run 'make' first" >&2; exit 2; }
mkdir -p "$OUT"

# shellcheck source=../tests/lib/mariadb.sh
source "$ROOT/tests/lib/mariadb.sh"
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
WORK=$HARNESS_DIR/work
mkdir -p "$WORK"
FAILED=0

bench_log "servers: source, cotter's target, native replica"
mdb_start src binlog_row_metadata=FULL binlog_row_image=FULL || bench_die "source did not start"
mdb_start dst skip-log-bin || bench_die "target did not start"
mdb_start rep skip-log-bin slave_run_triggers_for_rbr=YES || bench_die "replica did not start"
mdb_sql src "CREATE DATABASE sbtest" || bench_die "CREATE DATABASE sbtest"
SB=(sysbench oltp_write_only --db-driver=mysql --mysql-socket="$src_SOCK" --mysql-user=root
  --mysql-db=sbtest --tables="$N_TABLES" --table-size="$TABLE_SIZE")
"${SB[@]}" prepare >"$WORK/prepare.log" 2>&1 || { cat "$WORK/prepare.log" >&2; bench_die "sysbench prepare"; }
mdb_sql src "CREATE TABLE sbtest.hb (id BIGINT AUTO_INCREMENT PRIMARY KEY, src_at DATETIME(6) NOT NULL)" ||
  bench_die "heartbeat table"
read -r START_FILE START_POS < <(mdb_sql src "SHOW MASTER STATUS" | cut -f1,2)
mariadb-dump --defaults-file="$src_DIR/my.cnf" --single-transaction --databases sbtest >"$WORK/prepared.sql" ||
  bench_die "mariadb-dump"
for c in dst rep; do
  mdb "$c" <"$WORK/prepared.sql" || bench_die "loading the dump into $c"
  mdb_sql "$c" "ALTER TABLE sbtest.hb ADD COLUMN applied_at DATETIME(6) NULL;
    CREATE TRIGGER sbtest.hb_applied BEFORE INSERT ON sbtest.hb FOR EACH ROW SET NEW.applied_at = SYSDATE(6)" ||
    bench_die "heartbeat column on $c"
done

cat >"$WORK/cotter.yaml" <<YAML
data_dir: $WORK/var
sources:
  sb: { url: "$(mdb_url src)", server_id: 4001002 }
targets:
  copy: { url: "$(mdb_url dst)" }
channels:
  steady:
    pipelines:
      - name: steady
        source: sb
        target: copy
        start: { file: "$START_FILE", pos: $START_POS }
${BENCH_PIPELINE_EXTRA:+        $BENCH_PIPELINE_EXTRA
}        tables:
          - match: sbtest.*
YAML
"$COTTER_BIN" run -c "$WORK/cotter.yaml" >"$WORK/cotter.log" 2>&1 &
COTTER_PID=$!
harness_track "$COTTER_PID"
mdb_sql rep "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$src_PORT, MASTER_USER='root',
  MASTER_PASSWORD='', MASTER_LOG_FILE='$START_FILE', MASTER_LOG_POS=$START_POS, MASTER_USE_GTID=no;
  START SLAVE" || bench_die "starting the replica"
sleep 2

bench_log "sysbench at $RATE tx/s for $SECS s ($THREADS threads), heartbeat every 100 ms"
n_hb=$((SECS * 10))
{
  for _ in $(seq 1 "$n_hb"); do echo "INSERT INTO sbtest.hb (src_at) VALUES (NOW(6)); DO SLEEP(0.1);"; done
} | mdb src &
HB_PID=$!
"${SB[@]}" --threads="$THREADS" --rate="$RATE" --time="$SECS" --report-interval=10 run >"$WORK/run.log" 2>&1 ||
  { cat "$WORK/run.log" >&2; FAILED=1; }
wait "$HB_PID"
SB_TX=$(awk '/transactions:/ { print $2; exit }' "$WORK/run.log")
SB_TPS=$(awk '/transactions:/ { gsub(/\(/, "", $3); printf "%.0f", $3; exit }' "$WORK/run.log")
bench_log "sysbench: $SB_TX transactions ($SB_TPS/s)"

# wait until both copies have every heartbeat
want=$(mdb_sql src "SELECT COUNT(*) FROM sbtest.hb")
for c in dst rep; do
  for _ in $(seq 1 600); do
    [ "$(mdb_sql "$c" "SELECT COUNT(*) FROM sbtest.hb" 2>/dev/null)" = "$want" ] && break
    sleep 0.5
  done
done
COTTER_CPU=$(cpu_s "$COTTER_PID")
COTTER_HWM=$(vm_hwm_kb "$COTTER_PID")
kill -TERM "$COTTER_PID"
wait "$COTTER_PID"

# percentiles NAME: "p50 p90 p99 max n" of the heartbeat delays on a copy, in ms
percentiles() {
  mdb_sql "$1" "SELECT TIMESTAMPDIFF(MICROSECOND, src_at, applied_at) / 1000 FROM sbtest.hb" |
    sort -n | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "- - - - 0"; exit }
      p50 = v[int(NR * 0.50 + 0.5)]; p90 = v[int(NR * 0.90 + 0.5)]; p99 = v[int(NR * 0.99 + 0.5)]
      printf "%.0f %.0f %.0f %.0f %d\n", p50, p90, p99, v[NR], NR }'
}
read -r C50 C90 C99 CMAX CN < <(percentiles dst)
read -r R50 R90 R99 RMAX RN < <(percentiles rep)
[ "$CN" = "$want" ] || { bench_log "cotter's target has $CN of $want heartbeats"; FAILED=1; }
[ "$RN" = "$want" ] || { bench_log "the replica has $RN of $want heartbeats"; FAILED=1; }
SUMS_SRC=$(checksums src sbtest sbtest1)
[ "$(checksums dst sbtest sbtest1)" = "$SUMS_SRC" ] || { bench_log "cotter's target differs from the source"; FAILED=1; }
AIM=$(awk -v v="$C99" 'BEGIN { print (v != "-" && v < 1000) ? "met" : "missed" }')
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
{
  echo "## Steady state: delay at ${RATE} tx/s (bench/steady.sh, $DATE)"
  echo
  echo "sysbench oltp_write_only --rate=$RATE --threads=$THREADS for $SECS s on $N_TABLES x $TABLE_SIZE rows"
  echo "($SB_TX transactions, $SB_TPS/s achieved); source, cotter's target, a native replica and cotter"
  echo "all on this $(nproc)-core machine at once. Delay of $want heartbeat rows (one per 100 ms), source"
  echo "NOW(6) to the copy's SYSDATE(6) when it applied the row, in ms:"
  echo
  echo "| applier | p50 | p90 | p99 | max |"
  echo "|---|---:|---:|---:|---:|"
  echo "| cotter${BENCH_PIPELINE_EXTRA:+ (\`$BENCH_PIPELINE_EXTRA\`)} | $C50 | $C90 | $C99 | $CMAX |"
  echo "| MariaDB replica, 1 SQL thread | $R50 | $R90 | $R99 | $RMAX |"
  echo
  echo "p99 ratio (replica / cotter): $(fdiv "$R99" "$C99"); p50 ratio: $(fdiv "$R50" "$C50")."
  echo "cotter used ${COTTER_CPU:-?} s of CPU, peak RSS $((COTTER_HWM / 1024)) MB. Aim p99 < 1000 ms: $AIM."
} >"$OUT/steady.md"
cat "$OUT/steady.md"
# shellcheck disable=SC2034  # read by harness_cleanup at exit
HARNESS_KEEP=$FAILED
exit $FAILED
