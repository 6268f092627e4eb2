#!/usr/bin/env bash
# `make bench`: cotter against its peers, measured in one run on this machine.
#  1. A source MariaDB (binlog ROW) gets sysbench oltp_write_only: prepare,
#     then run for BENCH_SECONDS. The prepared data is dumped first, and the
#     binlog position after prepare is the start of the catch-up runs.
#  (a) decode: `cotter decode --count` vs `mariadb-binlog -v` over the same
#      binlog files (best of BENCH_REPEAT wall times).
#  (b) catch-up into a fresh target loaded with the dump: cotter from the
#      position after prepare, vs a native replica (1 SQL thread, then 4
#      optimistic parallel threads), each on a fresh server; the target's
#      CHECKSUM TABLE must equal the source's.
#  (c) cotter's peak RSS (VmHWM) during the catch-up.
# Prints a table of ratios and writes bench/out/results.md.
#
# Environment: BENCH_SECONDS (20), BENCH_TABLE_SIZE (10000), BENCH_TABLES (4),
# BENCH_THREADS (2), BENCH_REPEAT (3), BENCH_ROW_METADATA (FULL),
# BENCH_TIMEOUT (catch-up limit, 600 s), COTTER_BIN (BUILD/cotter, BUILD=build),
# BENCH_OUT (bench/out), BENCH_PIPELINE_EXTRA (one more YAML line for the
# pipeline, e.g. "queue: { bytes: 16MB }"). Exit status 0 when every part ran and the target
# matched the source (missed aims are reported, not failures).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD:-build} # `make BUILD=dir demo|bench` passes BUILD
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
COTTER_BIN=${COTTER_BIN:-$BUILD_DIR/cotter}
SECONDS_RUN=${BENCH_SECONDS:-20}
TABLE_SIZE=${BENCH_TABLE_SIZE:-10000}
N_TABLES=${BENCH_TABLES:-4}
THREADS=${BENCH_THREADS:-2}
REPEAT=${BENCH_REPEAT:-3}
ROW_METADATA=${BENCH_ROW_METADATA:-FULL}
TIMEOUT=${BENCH_TIMEOUT:-600}
OUT=${BENCH_OUT:-$ROOT/bench/out}
for v in SECONDS_RUN TABLE_SIZE N_TABLES THREADS REPEAT TIMEOUT; do
  case ${!v} in '' | *[!0-9]* | 0) echo "bench: $v must be a positive number, got '${!v}'" >&2; exit 2 ;; esac
done
[ -x "$COTTER_BIN" ] || { echo "bench: $COTTER_BIN not found; run 'make' first" >&2; exit 2; }
command -v sysbench >/dev/null || { echo "bench: sysbench is not installed (scripts/install-deps.sh)" >&2; exit 2; }
mkdir -p "$OUT"

# shellcheck source=../tests/lib/mariadb.sh
source "$ROOT/tests/lib/mariadb.sh"
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"

TABLES=()
for i in $(seq 1 "$N_TABLES"); do TABLES+=("sbtest$i"); done
FAILED=0
WORK=$HARNESS_DIR/work
mkdir -p "$WORK"
# targets do not write a binlog: a native replica does not either (no log_slave_updates)
TARGET_CNF=(skip-log-bin)

# --- 1. source + sysbench ----------------------------------------------------
bench_log "starting the source (binlog_format=ROW, binlog_row_metadata=$ROW_METADATA) in $HARNESS_DIR"
mdb_start src "binlog_row_metadata=$ROW_METADATA" binlog_row_image=FULL || bench_die "source did not start"
mdb_sql src "CREATE DATABASE sbtest" || bench_die "CREATE DATABASE sbtest"
SB=(sysbench oltp_write_only --db-driver=mysql --mysql-socket="$src_SOCK" --mysql-user=root
  --mysql-db=sbtest --tables="$N_TABLES" --table-size="$TABLE_SIZE" --threads="$THREADS")
bench_log "sysbench prepare: $N_TABLES tables x $TABLE_SIZE rows"
"${SB[@]}" prepare >"$WORK/sysbench-prepare.log" 2>&1 || { cat "$WORK/sysbench-prepare.log" >&2; bench_die "sysbench prepare"; }
read -r START_FILE START_POS < <(mdb_sql src "SHOW MASTER STATUS" | cut -f1,2)
[ -n "${START_POS:-}" ] || bench_die "SHOW MASTER STATUS on the source returned nothing after prepare"
mariadb-dump --defaults-file="$src_DIR/my.cnf" --single-transaction --databases sbtest >"$WORK/prepared.sql" ||
  bench_die "mariadb-dump of the prepared tables"
bench_log "prepared data dumped; binlog position after prepare: $START_FILE:$START_POS"

bench_log "sysbench run: $THREADS threads, $SECONDS_RUN s"
"${SB[@]}" --time="$SECONDS_RUN" --report-interval=0 run >"$WORK/sysbench-run.log" 2>&1 ||
  { cat "$WORK/sysbench-run.log" >&2; bench_die "sysbench run"; }
SB_TX=$(awk '/transactions:/ { print $2; exit }' "$WORK/sysbench-run.log")
SB_TPS=$(awk '/transactions:/ { gsub(/\(/, "", $3); printf "%.0f", $3; exit }' "$WORK/sysbench-run.log")
read -r END_FILE END_POS < <(mdb_sql src "SHOW MASTER STATUS" | cut -f1,2)
[ -n "${END_POS:-}" ] || bench_die "SHOW MASTER STATUS on the source returned nothing after the run"
SRC_SUMS=$(checksums src sbtest "${TABLES[@]}")
mapfile -t BINLOGS < <(mdb_sql src "SHOW BINARY LOGS" | cut -f1 | sed "s|^|$src_DIR/data/|")
[ ${#BINLOGS[@]} -gt 0 ] || bench_die "SHOW BINARY LOGS on the source returned nothing"
BINLOG_BYTES=0
for f in "${BINLOGS[@]}"; do BINLOG_BYTES=$((BINLOG_BYTES + $(stat -c %s "$f"))); done
# binlog bytes between the start and the end position, across files
CATCHUP_BYTES=0
for f in "${BINLOGS[@]}"; do
  b=$(basename "$f")
  if [[ $b < $START_FILE || $b > $END_FILE ]]; then continue; fi
  sz=$(stat -c %s "$f")
  [ "$b" = "$END_FILE" ] && sz=$END_POS
  [ "$b" = "$START_FILE" ] && sz=$((sz - START_POS))
  CATCHUP_BYTES=$((CATCHUP_BYTES + sz))
done
bench_log "sysbench: $SB_TX transactions ($SB_TPS/s); binlog end $END_FILE:$END_POS; ${#BINLOGS[@]} file(s), $(mb $BINLOG_BYTES) MB"

# --- (a) decode ----------------------------------------------------------------
# best_of N CMD...: runs CMD N times (stdout to $WORK/best.out), prints the best wall time.
best_of() {
  local n=$1 best="" t0 t
  shift
  for _ in $(seq 1 "$n"); do
    t0=$(now_s)
    "$@" >"$WORK/best.out" 2>"$WORK/best.err" || { cat "$WORK/best.err" >&2; return 1; }
    t=$(fsub "$(now_s)" "$t0")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  printf '%s' "$best"
}
# num_of WORD TEXT: the number next to WORD in a summary line ("123 rows" or "rows=123").
num_of() {
  grep -oE "[0-9]+ $1\\b|\\b$1[=: ]+[0-9]+" <<<"$2" | grep -oE '[0-9]+' | head -1
}
maxrss_kb() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$WORK/time.out" "$@" >/dev/null 2>&1 && cat "$WORK/time.out"
  fi
}

mariadb_binlog() { mariadb-binlog --base64-output=decode-rows -v "$@"; }
bench_log "(a) decode: cotter decode --count vs mariadb-binlog -v, best of $REPEAT"
DEC_COTTER_S=$(best_of "$REPEAT" "$COTTER_BIN" decode --count "${BINLOGS[@]}") || { DEC_COTTER_S=""; FAILED=1; bench_log "cotter decode failed"; }
DEC_COTTER_LINE=""
[ -n "$DEC_COTTER_S" ] && DEC_COTTER_LINE=$(tail -1 "$WORK/best.out")
DEC_COTTER_EVENTS=$(num_of events "$DEC_COTTER_LINE")
DEC_COTTER_ROWS=$(num_of rows "$DEC_COTTER_LINE")
DEC_COTTER_RSS=$(maxrss_kb "$COTTER_BIN" decode --count "${BINLOGS[@]}")
DEC_MB_S=$(best_of "$REPEAT" mariadb_binlog "${BINLOGS[@]}") || { DEC_MB_S=""; FAILED=1; bench_log "mariadb-binlog failed"; }
# counted in a separate, untimed run: lines '# at N' (one per event) and row headers
read -r DEC_MB_EVENTS DEC_MB_ROWS < <(mariadb_binlog "${BINLOGS[@]}" 2>/dev/null |
  awk '/^# at [0-9]/ { e++ } /^### (INSERT INTO|UPDATE|DELETE FROM) / { r++ } END { print e + 0, r + 0 }')
DEC_RATIO=$(fdiv "$DEC_MB_S" "$DEC_COTTER_S")
bench_log "cotter decode: ${DEC_COTTER_S:-failed} s ($DEC_COTTER_LINE); mariadb-binlog: ${DEC_MB_S:-failed} s ($DEC_MB_EVENTS events, $DEC_MB_ROWS rows)"
if [ -n "$DEC_COTTER_ROWS" ] && [ "$DEC_COTTER_ROWS" != "$DEC_MB_ROWS" ]; then
  bench_log "WARNING: cotter decoded $DEC_COTTER_ROWS rows, mariadb-binlog printed $DEC_MB_ROWS"
fi

# --- (b) catch-up ---------------------------------------------------------------
# fresh_target NAME [my.cnf lines]: a new server with the prepared tables loaded.
fresh_target() {
  local name=$1
  shift
  mdb_start "$name" "${TARGET_CNF[@]}" "$@" || return 1
  mdb "$name" <"$WORK/prepared.sql" || return 1
}

bench_log "(b) catch-up of cotter from $START_FILE:$START_POS to $END_FILE:$END_POS"
# cotter_catchup EXTRA_YAML: one cotter catch-up on a fresh target; sets
# CU_COTTER_S, CU_COTTER_SUMS, COTTER_HWM_KB, COTTER_CPU_S, COTTER_RC, TCPU_COTTER.
cotter_catchup() {
  local extra=$1 t=$2
  CU_COTTER_S="" CU_COTTER_SUMS="" COTTER_HWM_KB=0 COTTER_RC="" TCPU_COTTER=""
  if ! fresh_target "$t"; then
    bench_log "the cotter target did not start"
    return 1
  fi
  rm -rf "$WORK/var"
  cat >"$WORK/cotter.yaml" <<YAML
data_dir: $WORK/var
sources:
  sb: { url: "$(mdb_url src)", server_id: 4001001 }
targets:
  copy: { url: "$(mdb_url "$t")" }
channels:
  bench:
    pipelines:
      - name: bench
        source: sb
        target: copy
        start: { file: "$START_FILE", pos: $START_POS }
${extra:+        $extra
}        tables:
          - match: sbtest.*
YAML
  local c0
  local pid_var=${t}_PID
  c0=$(cpu_s "${!pid_var}")
  catchup_cotter "$t" "$WORK/cotter.yaml" bench "$END_FILE" "$END_POS" "$TIMEOUT" "$WORK/cotter.log"
  CU_COTTER_S=$CATCHUP_S
  TCPU_COTTER=$(fsub "$(cpu_s "${!pid_var}")" "$c0")
  CU_COTTER_SUMS=$(checksums "$t" sbtest "${TABLES[@]}")
  mdb_stop "$t"
  bench_log "cotter${extra:+ ($extra)}: ${CU_COTTER_S:-did not finish} s, ${COTTER_CPU_S:-?} s CPU, peak RSS $((COTTER_HWM_KB / 1024)) MB, exit status $COTTER_RC after SIGTERM"
  [ -n "$CU_COTTER_S" ] && [ "$COTTER_RC" = 0 ]
}
PAR=${BENCH_PARALLELISM:-4}
cotter_catchup "${BENCH_PIPELINE_EXTRA:-}" dst || FAILED=1
CUP_S="" CUP_SUMS="" CUP_CPU="" CUP_HWM_KB=0 TCPU_CUP=""
if [ "$PAR" -gt 1 ]; then
  # the serial run's figures are the headline; keep them aside
  S_S=$CU_COTTER_S S_SUMS=$CU_COTTER_SUMS S_HWM=$COTTER_HWM_KB S_CPU=$COTTER_CPU_S S_T=$TCPU_COTTER
  bench_log "(b) cotter again with load.parallelism $PAR"
  cotter_catchup "load: { parallelism: $PAR }" dstp || FAILED=1
  CUP_S=$CU_COTTER_S CUP_SUMS=$CU_COTTER_SUMS CUP_HWM_KB=$COTTER_HWM_KB CUP_CPU=$COTTER_CPU_S TCPU_CUP=$TCPU_COTTER
  CU_COTTER_S=$S_S CU_COTTER_SUMS=$S_SUMS COTTER_HWM_KB=$S_HWM COTTER_CPU_S=$S_CPU TCPU_COTTER=$S_T
fi

CU_REP1_S="" CU_REP4_S="" CU_REP1_SUMS="" CU_REP4_SUMS=""
bench_log "(b) native replica, 1 SQL thread"
if fresh_target rep1; then
  c0=$(cpu_s "$rep1_PID")
  catchup_replica rep1 src "$START_FILE" "$START_POS" "$END_FILE" "$END_POS" "$TIMEOUT" || FAILED=1
  CU_REP1_S=$CATCHUP_S
  TCPU_REP1=$(fsub "$(cpu_s "$rep1_PID")" "$c0")
  CU_REP1_SUMS=$(checksums rep1 sbtest "${TABLES[@]}")
  mdb_stop rep1
  bench_log "replica (1 thread): ${CU_REP1_S:-did not finish} s"
fi
bench_log "(b) native replica, slave_parallel_threads=4 slave_parallel_mode=optimistic"
if fresh_target rep4 slave_parallel_threads=4 slave_parallel_mode=optimistic; then
  c0=$(cpu_s "$rep4_PID")
  catchup_replica rep4 src "$START_FILE" "$START_POS" "$END_FILE" "$END_POS" "$TIMEOUT" || FAILED=1
  CU_REP4_S=$CATCHUP_S
  TCPU_REP4=$(fsub "$(cpu_s "$rep4_PID")" "$c0")
  CU_REP4_SUMS=$(checksums rep4 sbtest "${TABLES[@]}")
  mdb_stop rep4
  bench_log "replica (4 threads): ${CU_REP4_S:-did not finish} s"
fi

sums_verdict() {
  if [ -z "$1" ]; then echo "not checked"
  elif [ "$1" = "$SRC_SUMS" ]; then echo "identical"
  else echo "DIFFERENT"; fi
}
V_COTTER=$(sums_verdict "$CU_COTTER_SUMS")
V_REP1=$(sums_verdict "$CU_REP1_SUMS")
V_REP4=$(sums_verdict "$CU_REP4_SUMS")
V_CUP=$(sums_verdict "$CUP_SUMS")
[ "$V_COTTER" = identical ] || FAILED=1
[ "$PAR" -le 1 ] || [ "$V_CUP" = identical ] || FAILED=1

# --- report ----------------------------------------------------------------------
aim() { # aim OK_EXPR: "met" / "missed" / "-"
  [ -n "$2" ] && [ "$2" != "-" ] || { echo "-"; return; }
  awk -v v="$2" "BEGIN { exit !($1) }" && echo met || echo missed
}
RSS_MB="-"
[ "$COTTER_HWM_KB" -gt 0 ] && RSS_MB=$(awk -v k="$COTTER_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')
RSS_DEC_MB=$([ -n "$DEC_COTTER_RSS" ] && awk -v k="$DEC_COTTER_RSS" 'BEGIN { printf "%.1f", k / 1024 }' || echo "-")
R_REP1=$(fdiv "$CU_REP1_S" "$CU_COTTER_S")
R_REP4=$(fdiv "$CU_REP4_S" "$CU_COTTER_S")
R_CUP=$(fdiv "$CU_COTTER_S" "$CUP_S")
R_REP1_P=$(fdiv "$CU_REP1_S" "$CUP_S")
R_REP4_P=$(fdiv "$CU_REP4_S" "$CUP_S")
RSS_P_MB=$(awk -v k="$CUP_HWM_KB" 'BEGIN { printf "%.1f", k / 1024 }')
MBPS_COTTER=$(fdiv "$(mb $BINLOG_BYTES)" "$DEC_COTTER_S")
MBPS_MB=$(fdiv "$(mb $BINLOG_BYTES)" "$DEC_MB_S")
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
COTTER_VERSION=$("$COTTER_BIN" version 2>/dev/null | head -1)
MARIADB_VERSION=$(mdb_sql src "SELECT VERSION()" 2>/dev/null)
[ -n "$MARIADB_VERSION" ] || MARIADB_VERSION=$(mariadbd --version 2>/dev/null | awk '{ print $3 }')

{
  echo "# cotter benchmark results"
  echo
  echo "Measured $DATE by \`make bench\` (bench/run.sh) on $(nproc) CPU(s) ($CPU), ${MEM_GB} GB RAM;"
  echo "${COTTER_VERSION:-cotter}, MariaDB $MARIADB_VERSION, sysbench $(sysbench --version | awk '{ print $2 }')."
  echo
  echo "Workload: sysbench oltp_write_only, $N_TABLES tables x $TABLE_SIZE rows, $THREADS threads, ${SECONDS_RUN} s:"
  echo "$SB_TX transactions ($SB_TPS/s); binlog_row_metadata=$ROW_METADATA; ${#BINLOGS[@]} binlog file(s),"
  echo "$(mb $BINLOG_BYTES) MB (prepare included). Catch-up range $START_FILE:$START_POS .. $END_FILE:$END_POS"
  echo "($(mb $CATCHUP_BYTES) MB). Servers: tests/lib/mariadb.sh defaults"
  echo "(innodb_buffer_pool_size=96M, innodb_flush_log_at_trx_commit=2, sync_binlog=0); targets without binlog."
  [ -n "${BENCH_PIPELINE_EXTRA:-}" ] && echo "cotter pipeline setting: \`$BENCH_PIPELINE_EXTRA\`; otherwise defaults."
  echo
  echo "## (a) Decode throughput (best of $REPEAT)"
  echo
  echo "| tool | wall s | events | rows | MB/s |"
  echo "|---|---:|---:|---:|---:|"
  echo "| \`cotter decode --count\` | ${DEC_COTTER_S:-failed} | ${DEC_COTTER_EVENTS:--} | ${DEC_COTTER_ROWS:--} | $MBPS_COTTER |"
  echo "| \`mariadb-binlog --base64-output=decode-rows -v\` | ${DEC_MB_S:-failed} | $DEC_MB_EVENTS | $DEC_MB_ROWS | $MBPS_MB |"
  echo
  echo "cotter is **${DEC_RATIO}x** as fast as mariadb-binlog (aim >= 10x: $(aim 'v >= 10' "$DEC_RATIO"))."
  echo
  echo "## (b) Catch-up into a target loaded with the prepared tables"
  echo
  echo "| applier | catch-up s | cotter speed-up | target server CPU s | target CHECKSUM TABLE vs source |"
  echo "|---|---:|---:|---:|---|"
  echo "| cotter | ${CU_COTTER_S:-failed} | 1.00 | ${TCPU_COTTER:--} | $V_COTTER |"
  [ "$PAR" -gt 1 ] && echo "| cotter, load.parallelism $PAR | ${CUP_S:-failed} | $R_CUP | ${TCPU_CUP:--} | $V_CUP |"
  echo "| MariaDB replica, 1 SQL thread | ${CU_REP1_S:-failed} | $R_REP1 | ${TCPU_REP1:--} | $V_REP1 |"
  echo "| MariaDB replica, 4 threads optimistic | ${CU_REP4_S:-failed} | $R_REP4 | ${TCPU_REP4:--} | $V_REP4 |"
  echo
  echo "cotter itself used ${COTTER_CPU_S:--} s of CPU (user + system) for its catch-up. Target server CPU"
  echo "is the mariadbd process's CPU time during the catch-up (for a replica: its I/O and SQL threads)."
  echo
  echo "Speed-up = replica time / cotter time (above 1: cotter is faster). Aim: faster than the"
  echo "single-threaded replica: $(aim 'v > 1' "$R_REP1")."
  if [ "$PAR" -gt 1 ]; then
    echo
    echo "With load.parallelism $PAR cotter took ${CUP_S:-failed} s (${CUP_CPU:--} s CPU, peak RSS $RSS_P_MB MB):"
    echo "${R_REP1_P}x the single-threaded replica and ${R_REP4_P}x the 4-thread replica."
  fi
  echo
  echo "## (c) Memory"
  echo
  echo "cotter peak RSS (VmHWM) during the catch-up: **$RSS_MB MB** (aim < 64 MB: $(aim 'v < 64' "$RSS_MB"))."
  echo "\`cotter decode --count\` peak RSS: $RSS_DEC_MB MB."
} >"$OUT/results.md"

printf '\n'
printf '%-44s %10s %10s\n' "cotter bench ($DATE)" "" ""
printf '%-44s %10s %10s\n' "(a) decode, best of $REPEAT" "wall s" "MB/s"
printf '%-44s %10s %10s\n' "  cotter decode --count" "${DEC_COTTER_S:-failed}" "$MBPS_COTTER"
printf '%-44s %10s %10s\n' "  mariadb-binlog -v" "${DEC_MB_S:-failed}" "$MBPS_MB"
printf '%-44s %10s   aim >= 10x: %s\n' "  ratio" "${DEC_RATIO}x" "$(aim 'v >= 10' "$DEC_RATIO")"
printf '%-44s %10s %10s %12s\n' "(b) catch-up ($(mb $CATCHUP_BYTES) MB of binlog)" "s" "speed-up" "target CPU s"
printf '%-44s %10s %10s %12s  %s\n' "  cotter (itself: ${COTTER_CPU_S:--} s CPU)" "${CU_COTTER_S:-failed}" "1.00" "${TCPU_COTTER:--}" "$V_COTTER"
[ "$PAR" -gt 1 ] && printf '%-44s %10s %10s %12s  %s\n' "  cotter, load.parallelism $PAR (${CUP_CPU:--} s CPU)" "${CUP_S:-failed}" "$R_CUP" "${TCPU_CUP:--}" "$V_CUP"
printf '%-44s %10s %10s %12s  %s\n' "  replica, 1 SQL thread" "${CU_REP1_S:-failed}" "$R_REP1" "${TCPU_REP1:--}" "$V_REP1"
printf '%-44s %10s %10s %12s  %s\n' "  replica, 4 threads optimistic" "${CU_REP4_S:-failed}" "$R_REP4" "${TCPU_REP4:--}" "$V_REP4"
printf '%-44s %10s   aim > 1x vs 1 thread: %s\n' "" "" "$(aim 'v > 1' "$R_REP1")"
printf '%-44s %10s   aim < 64 MB: %s\n' "(c) cotter peak RSS, MB" "$RSS_MB" "$(aim 'v < 64' "$RSS_MB")"
printf '\nwritten to %s\n' "$OUT/results.md"
[ $FAILED -eq 0 ] || bench_log "some parts failed (see above); $HARNESS_DIR is kept"
# shellcheck disable=SC2034  # read by harness_cleanup at exit
HARNESS_KEEP=$FAILED
exit $FAILED
