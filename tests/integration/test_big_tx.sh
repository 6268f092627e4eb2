#!/usr/bin/env bash
# One source transaction of COTTER_BIGTX_ROWS rows (default 1,000,000) is
# applied as one target transaction with memory bounded by configuration,
# not by the transaction: cotter streams it in chunks into the open target
# transaction and commits once, at its end. Checks the target is identical
# and cotter's peak RSS (VmHWM) stays under COTTER_BIGTX_RSS_MB (default 128
# for a plain build, 768 under AddressSanitizer, whose shadow memory and
# quarantine inflate RSS; holding the transaction would need several GB).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

ROWS=${COTTER_BIGTX_ROWS:-1000000}
if grep -q "__asan_init" "$COTTER_BIN" 2>/dev/null; then
  LIMIT=${COTTER_BIGTX_RSS_MB:-768}; build="ASan"
else
  LIMIT=${COTTER_BIGTX_RSS_MB:-128}; build="plain"
fi
note "$ROWS rows in one transaction; RSS limit ${LIMIT} MB ($build build)"

mdb_start src "binlog_row_metadata=FULL" "max_binlog_cache_size=4G" "binlog_cache_size=1M" ||
  fail "source did not start"
mdb_start dst || fail "target did not start"
schema="CREATE DATABASE big; CREATE TABLE big.t (id INT PRIMARY KEY, k INT, c CHAR(60), pad VARCHAR(60))"
mdb_sql src "$schema" && mdb_sql dst "$schema" || fail "schema"

cotter_config src dst "big.*"
cotter_start
cotter_wait_streaming

t0=$(date +%s)
mdb_sql src "INSERT INTO big.t SELECT seq, seq % 1000, REPEAT(CHAR(65 + seq % 26), 60),
               CONCAT('pad-', seq) FROM big.seq_1_to_$ROWS" || fail "the big insert failed"
note "source transaction committed in $(( $(date +%s) - t0 )) s"

peak=0
for _ in $(seq 1 900); do
  rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$COTTER_PID/status" 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$peak" ] && peak=$rss
  n=$(mdb_sql dst "SELECT COUNT(*) FROM big.t" 2>/dev/null || echo -1)
  [ "$n" = "$ROWS" ] && break
  # a target transaction is all or nothing: never a part of the source's
  [ "$n" = 0 ] || [ "$n" = -1 ] || fail "target shows $n of $ROWS rows: a partial transaction"
  sleep 0.5
done
note "target has $n rows after $(( $(date +%s) - t0 )) s; cotter peak RSS ${peak} MB"
[ "$n" = "$ROWS" ] || fail "target has $n rows, want $ROWS"
src_sum=$(mdb_sql src "CHECKSUM TABLE big.t" | cut -f2)
dst_sum=$(mdb_sql dst "CHECKSUM TABLE big.t" | cut -f2)
assert_eq "$src_sum" "$dst_sum" "CHECKSUM TABLE big.t"
[ "$peak" -gt 0 ] || fail "could not read cotter's VmHWM"
[ "$peak" -lt "$LIMIT" ] || fail "cotter's peak RSS ${peak} MB is over ${LIMIT} MB"
cotter_stop
note "PASS: a ${ROWS}-row transaction, identical, peak RSS ${peak} MB < ${LIMIT} MB"
