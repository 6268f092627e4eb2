#!/usr/bin/env bash
# Initial-load benchmark: copy sysbench tables into an EMPTY target, end to
# end, with cotter's lock-free snapshot, `mariadb-dump | mariadb`, and
# mydumper + myloader, at the same parallelism where it applies. Prints the
# times and the ratios against cotter; never asserts a time.
#
#   bench/snapshot.sh [ROWS_PER_TABLE] [TABLES] [THREADS]   (default 1000000 4 4)
#
# cotter: from process start until cotter.snapshots on the target says every
# table is done (so the rows are committed there), with the binlog streaming
# (source idle). dump|load: from the start of the dump until the load ends.
# Env: COTTER_BIN (default build/cotter; use a non-sanitized build),
# BENCH_BUFFER_POOL (innodb_buffer_pool_size of both servers, default 1G),
# BENCH_ONLY=cotter (skip the peers), BENCH_CHUNK_ROWS, BENCH_BATCH_ROWS,
# BENCH_LOAD_PARALLELISM, BENCH_QUEUE_ROWS, BENCH_QUEUE_BYTES, BENCH_BULK_ROWS
# (cotter's knobs; defaults 20000, 5000, THREADS, 40000, 64MB, 256).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${1:-1000000}
TABLES=${2:-4}
THREADS=${3:-4}
COTTER_BIN=${COTTER_BIN:-$ROOT/build/cotter}
HARNESS_BUFFER_POOL=${BENCH_BUFFER_POOL:-1G}
export HARNESS_BUFFER_POOL
source "$ROOT/tests/lib/mariadb.sh"
source "$ROOT/bench/lib.sh"

[ -x "$COTTER_BIN" ] || bench_die "no cotter binary at $COTTER_BIN (run make, or set COTTER_BIN)"
for t in sysbench mydumper myloader mariadb-dump; do
  command -v "$t" >/dev/null || bench_die "$t is missing: run scripts/install-deps.sh"
done

bench_log "$TABLES tables x $ROWS rows, $THREADS threads; servers in $HARNESS_DIR"
mdb_start src || bench_die "source did not start"
mdb_start dst || bench_die "target did not start"
mdb src -e "CREATE DATABASE sbtest" || bench_die "create sbtest"
t0=$(now_s)
sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$src_PORT" \
  --mysql-user=root --mysql-db=sbtest --tables="$TABLES" --table-size="$ROWS" \
  --threads="$THREADS" prepare >"$HARNESS_DIR/prepare.log" 2>&1 || {
  tail "$HARNESS_DIR/prepare.log" >&2; bench_die "sysbench prepare"; }
bench_log "prepared in $(fsub "$(now_s)" "$t0") s"
src_rows=$(mdb_sql src "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA='sbtest'")
src_sum=$(mdb_sql src "CHECKSUM TABLE $(seq -s, -f "sbtest.sbtest%g" 1 "$TABLES")" | awk '{ print $2 }' | tr '\n' ' ')

# reset_target: an empty target (no sbtest, no cotter schema), buffer pool warm or not alike
reset_target() {
  mdb dst -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS cotter; RESET MASTER" ||
    bench_die "resetting the target"
}
# srv_cpu: "SRC DST" CPU seconds used so far by the two servers
srv_cpu() { echo "$(cpu_s "$src_PID") $(cpu_s "$dst_PID")"; }
# cpu_delta BEFORE: "src +X s, target +Y s" since BEFORE (a srv_cpu output)
cpu_delta() {
  local a b; read -r a b <<<"$1"
  local c d; read -r c d <<<"$(srv_cpu)"
  echo "server CPU: source $(fsub "$c" "$a") s, target $(fsub "$d" "$b") s"
}
verify() { # WHAT
  local sum
  sum=$(mdb_sql dst "CHECKSUM TABLE $(seq -s, -f "sbtest.sbtest%g" 1 "$TABLES")" | awk '{ print $2 }' | tr '\n' ' ')
  [ "$sum" = "$src_sum" ] || bench_die "$1: the target's CHECKSUM TABLE differs from the source ($sum vs $src_sum)"
}

# ---------------------------------------------------------------- cotter
reset_target
cfg="$HARNESS_DIR/cotter.yaml"
cat >"$cfg" <<EOF
data_dir: $HARNESS_DIR/var
manager: { listen: "127.0.0.1:$(( 61000 + RANDOM % 4000 ))" }
sources:
  src: { url: "$(mdb_url src)", server_id: $(( 7000 + RANDOM % 1000 )) }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  bench:
    pipelines:
      - name: snap
        source: src
        target: dst
        snapshot: initial
        snapshot_load: { parallelism: $THREADS, chunk_rows: ${BENCH_CHUNK_ROWS:-20000} }
        load: { parallelism: ${BENCH_LOAD_PARALLELISM:-$THREADS}${BENCH_BULK_ROWS:+, bulk_rows: $BENCH_BULK_ROWS} }
        batch: { rows: ${BENCH_BATCH_ROWS:-5000} }
        queue: { rows: ${BENCH_QUEUE_ROWS:-40000}, bytes: ${BENCH_QUEUE_BYTES:-64MB} }
        tables:
          - match: "sbtest.*"
EOF
c0=$(srv_cpu)
t0=$(now_s)
"$COTTER_BIN" run -c "$cfg" --log-level "${BENCH_LOG_LEVEL:-info}" >"$HARNESS_DIR/cotter.log" 2>&1 &
cpid=$!
harness_track "$cpid"
poll_open dst
done_n=0
while :; do
  kill -0 "$cpid" 2>/dev/null || { tail -20 "$HARNESS_DIR/cotter.log" >&2; bench_die "cotter exited"; }
  # done: every table copied and its deferred secondary indexes added
  if poll_query "SELECT (SELECT COUNT(*) FROM cotter.snapshots WHERE pipeline='snap' AND done=1) -
                 (SELECT COUNT(*) FROM cotter.snapshot_keys WHERE pipeline='snap');"; then
    done_n=${POLL_LINE:-0}
    [ "$done_n" -ge "$TABLES" ] && break
  fi
  sleep 0.1
done
cotter_s=$(fsub "$(now_s)" "$t0")
bench_log "target: $(mdb_sql dst "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_load','Com_insert','Com_replace')" | tr "\t\n" "= ")"
cotter_srv=$(cpu_delta "$c0")
cotter_cpu=$(cpu_s "$cpid")
cotter_hwm=$(vm_hwm_kb "$cpid")
poll_close
kill -TERM "$cpid"; wait "$cpid" 2>/dev/null
verify cotter
bench_log "cotter: $cotter_s s (cpu $cotter_cpu s, peak RSS $(( cotter_hwm / 1024 )) MB; $cotter_srv)"
grep -E "snapshot finished" "$HARNESS_DIR/cotter.log" | sed 's/^/[bench]   /' >&2
[ -n "${BENCH_KEEP_LOG:-}" ] && cp "$HARNESS_DIR/cotter.log" "$BENCH_KEEP_LOG"

[ "${BENCH_ONLY:-}" = cotter ] && exit 0

# ------------------------------------------------------ mariadb-dump | mariadb
reset_target
c0=$(srv_cpu)
t0=$(now_s)
mariadb-dump --defaults-file="$src_DIR/my.cnf" --single-transaction --databases sbtest |
  mariadb --defaults-file="$dst_DIR/my.cnf" || bench_die "mariadb-dump | mariadb"
dump_s=$(fsub "$(now_s)" "$t0")
dump_srv=$(cpu_delta "$c0")
verify "mariadb-dump | mariadb"
bench_log "mariadb-dump | mariadb: $dump_s s ($dump_srv)"

# ------------------------------------------------------ mydumper + myloader
# myloader turns the target's binary log off for its session unless told
# --enable-binlog; cotter and mariadb-dump | mariadb write it (a target's
# own replicas need it). The fair row writes it; the default row is shown too.
out="$HARNESS_DIR/mydumper"
rm -rf "$out"
t0=$(now_s)
mydumper --host=127.0.0.1 --port="$src_PORT" --user=root --database=sbtest --threads="$THREADS" \
  --outputdir="$out" --rows=500000 >"$HARNESS_DIR/mydumper.log" 2>&1 || {
  tail "$HARNESS_DIR/mydumper.log" >&2; bench_die "mydumper"; }
dump_part=$(fsub "$(now_s)" "$t0")
# myload NAME [myloader options]: load the dump into an empty target; sets load_s, load_srv
myload() {
  local name=$1; shift
  reset_target
  local c0 t1; c0=$(srv_cpu); t1=$(now_s)
  myloader --host=127.0.0.1 --port="$dst_PORT" --user=root --directory="$out" --threads="$THREADS" \
    --overwrite-tables "$@" >"$HARNESS_DIR/myloader.log" 2>&1 || {
    tail "$HARNESS_DIR/myloader.log" >&2; bench_die "myloader ($name)"; }
  load_s=$(fsub "$(now_s)" "$t1")
  load_srv=$(cpu_delta "$c0")
  verify "mydumper + myloader ($name)"
}
myload "--enable-binlog" --enable-binlog
my_s=$(fadd "$dump_part" "$load_s")
bench_log "mydumper $dump_part s + myloader --enable-binlog $load_s s = $my_s s ($load_srv, load only)"
myload "its default, no binlog"
my_nolog_s=$(fadd "$dump_part" "$load_s")
bench_log "mydumper $dump_part s + myloader (no binlog) $load_s s = $my_nolog_s s ($load_srv, load only)"

# ---------------------------------------------------------------- report
cat <<EOF

Initial load into an empty target: $TABLES x $ROWS sysbench rows (~$src_rows rows), $THREADS threads
  tool                         seconds   vs cotter
  cotter snapshot              $(printf '%8s' "$cotter_s")   1.00
  mariadb-dump | mariadb       $(printf '%8s' "$dump_s")   $(fdiv "$dump_s" "$cotter_s")x
  mydumper + myloader          $(printf '%8s' "$my_s")   $(fdiv "$my_s" "$cotter_s")x
  (myloader without binlog     $(printf '%8s' "$my_nolog_s")   $(fdiv "$my_nolog_s" "$cotter_s")x: the target writes less)
(ratio > 1: cotter is faster; every target verified with CHECKSUM TABLE; cotter,
mariadb and the first myloader row write the target's binary log)
EOF
