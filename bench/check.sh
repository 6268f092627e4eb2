#!/usr/bin/env bash
# `cotter check` against pt-table-checksum on the same data, in one run.
#  1. A source gets sysbench oltp_write_only prepare (BENCH_TABLES tables x
#     BENCH_TABLE_SIZE rows); a target is loaded with mariadb-dump | mariadb
#     and made a native replica of the source from the dump's position
#     (pt-table-checksum compares through replication: it needs one).
#  2. The target is broken: BENCH_BREAK rows of sbtest1 deleted, as many
#     updated, one row inserted (extra).
#  3. Timed: `cotter check --json --no-store` (names rows; stores nothing on
#     the target) and pt-table-checksum
#     (--no-check-binlog-format, replica found through a DSN table; names
#     chunks). Both must find the differences (cotter exit 1, pt exit 16).
# Prints wall times, the ratio and what each tool names; writes
# bench/out/check.md. Environment: BENCH_TABLE_SIZE (1000000), BENCH_TABLES
# (4), BENCH_BREAK (5), COTTER_BIN (build/cotter), BENCH_OUT (bench/out).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COTTER_BIN=${COTTER_BIN:-$ROOT/build/cotter}
TABLE_SIZE=${BENCH_TABLE_SIZE:-1000000}
N_TABLES=${BENCH_TABLES:-4}
N_BREAK=${BENCH_BREAK:-5}
OUT_DIR=${BENCH_OUT:-$ROOT/bench/out}
export HARNESS_BUFFER_POOL=${HARNESS_BUFFER_POOL:-512M}
source "$ROOT/tests/lib/mariadb.sh"
source "$ROOT/bench/lib.sh"
mkdir -p "$OUT_DIR"
command -v pt-table-checksum >/dev/null || bench_die "pt-table-checksum missing: run scripts/install-deps.sh"
[ -x "$COTTER_BIN" ] || bench_die "no cotter at $COTTER_BIN (make build)"

mdb_start src || bench_die "source did not start"
mdb_start dst || bench_die "target did not start"
mdb_sql src "CREATE DATABASE sbtest" || bench_die "create sbtest"
bench_log "sysbench prepare: $N_TABLES x $TABLE_SIZE rows"
sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$src_PORT" \
  --mysql-user=root --mysql-db=sbtest --tables="$N_TABLES" --table-size="$TABLE_SIZE" \
  --threads=2 prepare >"$HARNESS_DIR/prepare.log" 2>&1 || bench_die "sysbench prepare: $(tail -3 "$HARNESS_DIR/prepare.log")"

bench_log "copy to the target (mariadb-dump | mariadb) and start replication"
mdb src -e "SELECT 1" >/dev/null
mariadb-dump --defaults-file="$src_DIR/my.cnf" --single-transaction --master-data=1 \
  --databases sbtest | mdb dst || bench_die "dump/load failed"
mdb_sql dst "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$src_PORT, MASTER_USER='root';
             START SLAVE" || bench_die "replication setup"
# pt-table-checksum finds the replica through this table
mdb_sql src "CREATE DATABASE percona;
  CREATE TABLE percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT, dsn VARCHAR(255));
  INSERT INTO percona.dsns (dsn) VALUES ('h=127.0.0.1,P=$dst_PORT,u=root')" || bench_die "dsns"
for _ in $(seq 1 100); do
  [ "$(mdb_sql dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='percona'")" = 1 ] && break
  sleep 0.2
done

bench_log "break the target: $N_BREAK deleted, $N_BREAK updated, 1 extra row in sbtest1"
step=$(( TABLE_SIZE / (2 * N_BREAK + 1) ))
for i in $(seq 1 "$N_BREAK"); do
  mdb_sql dst "DELETE FROM sbtest.sbtest1 WHERE id = $(( i * step ))"
  mdb_sql dst "UPDATE sbtest.sbtest1 SET c = 'broken' WHERE id = $(( (N_BREAK + i) * step ))"
done
mdb_sql dst "INSERT INTO sbtest.sbtest1 (id, k, c, pad) VALUES ($(( TABLE_SIZE + 10 )), 1, 'x', 'y')"

cat >"$HARNESS_DIR/check.yaml" <<EOC
data_dir: $HARNESS_DIR/var
sources:
  src: { url: "$(mdb_url src)", server_id: 7401 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  bench:
    pipelines:
      - name: sb
        source: src
        target: dst
        tables:
          - match: sbtest.*
EOC

bench_log "cotter check"
t0=$(now_s)
"$COTTER_BIN" check -c "$HARNESS_DIR/check.yaml" --json --no-store >"$HARNESS_DIR/cotter.json" 2>"$HARNESS_DIR/cotter.err"
cotter_rc=$?
cotter_s=$(fsub "$(now_s)" "$t0")
[ "$cotter_rc" = 1 ] || bench_die "cotter check exit $cotter_rc (expected 1): $(head -c 600 "$HARNESS_DIR/cotter.err")"

bench_log "pt-table-checksum"
t0=$(now_s)
pt-table-checksum "h=127.0.0.1,P=$src_PORT,u=root" --databases sbtest --no-check-binlog-format \
  --recursion-method="dsn=h=127.0.0.1,P=$src_PORT,u=root,D=percona,t=dsns" \
  --replicate percona.checksums --no-version-check >"$HARNESS_DIR/pt.out" 2>&1
pt_rc=$?
pt_s=$(fsub "$(now_s)" "$t0")
[ $(( pt_rc & 16 )) -ne 0 ] || bench_die "pt-table-checksum exit $pt_rc (expected 16, differing chunks): $(tail -5 "$HARNESS_DIR/pt.out")"
pt-table-checksum "h=127.0.0.1,P=$src_PORT,u=root" --replicate-check-only --no-check-binlog-format \
  --recursion-method="dsn=h=127.0.0.1,P=$src_PORT,u=root,D=percona,t=dsns" \
  --replicate percona.checksums --no-version-check >"$HARNESS_DIR/pt-check.out" 2>&1

rows=$(jq '[.tables[].rows] | add' "$HARNESS_DIR/cotter.json")
named=$(jq -c '[.tables[] | .diffs[] | "\(.kind) \(.key.id)"]' "$HARNESS_DIR/cotter.json")
ratio=$(fdiv "$pt_s" "$cotter_s")
{
  echo "## check: cotter check vs pt-table-checksum"
  echo
  echo "$N_TABLES sysbench tables x $TABLE_SIZE rows; target = native replica loaded from a dump,"
  echo "then $N_BREAK rows deleted, $N_BREAK updated and 1 inserted in sbtest1. $(nproc) cores, servers on loopback."
  echo
  echo "| tool | wall s | exit | result |"
  echo "|---|---|---|---|"
  echo "| cotter check | $cotter_s | $cotter_rc | $rows rows checked; names rows: $named |"
  echo "| pt-table-checksum | $pt_s | $pt_rc | names chunks (see below) |"
  echo
  echo "pt-table-checksum / cotter wall time: **${ratio}x**"
  echo
  echo "pt-table-checksum --replicate-check-only:"
  echo '```'
  cat "$HARNESS_DIR/pt-check.out"
  echo '```'
} | tee "$OUT_DIR/check.md"
