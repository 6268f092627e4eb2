#!/usr/bin/env bash
# Two cotter processes started by mistake on the same pipeline and target
# must not both write: each connection holds a session lock on the target
# (cotter/PIPELINE/main, cotter/PIPELINE/wK), so the second waits, and after
# 10 s takes the lock over by killing the holder's connection (the way a
# connection left behind by a lost network is cleared); the loser's session
# fails and retries. Whatever the back and forth, the target must end
# identical to the source, the keyless table included (no change applied
# twice), and the logs must name the lock.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"
writer_schema tw src dst
COTTER_PIPELINE=tw
COTTER_PIPELINE_EXTRA="        load: { parallelism: 2 }"
cotter_config src dst "tw.*"
cotter_start
cotter_wait_streaming 30
writer_start src tw 2 0.02

section "a second cotter on the same pipeline"
cfg_b="$HARNESS_DIR/cotter-b.yaml"
sed -e "s|^data_dir: .*|data_dir: $HARNESS_DIR/var-b|" \
    -e "s|127.0.0.1:$COTTER_MANAGER_PORT|127.0.0.1:$(cotter__manager_port)|" "$COTTER_CFG" >"$cfg_b"
"$COTTER_BIN" run -c "$cfg_b" >"$HARNESS_DIR/cotter-b.log" 2>&1 &
pid_b=$!
harness_track "$pid_b"
for _ in $(seq 1 300); do
  grep -q "session lock" "$HARNESS_DIR/cotter-b.log" "$COTTER_LOG" 2>/dev/null && break
  sleep 0.1
done
grep -q "session lock 'cotter/tw/" "$HARNESS_DIR/cotter-b.log" "$COTTER_LOG" ||
  fail "neither cotter reported the other's session lock within 30 s"
note "lock: $(grep -h "session lock" "$HARNESS_DIR/cotter-b.log" "$COTTER_LOG" | head -1 | cut -c1-240)"
sleep 5
kill -TERM "$pid_b"
wait "$pid_b"
note "second cotter exited with $?"

section "the first one alone again: identical, nothing applied twice"
sleep 1
writer_stop
wait_synced src dst tw 90 || fail "target differs from source after two cotters ran at once"
assert_eq "$(nokey_surplus src tw)" "$(nokey_surplus dst tw)" "duplicate rows in the keyless table (target vs source)"
assert_eq 0 "$(keyed_corrupt_rows dst tw)" "rows of tw.keyed breaking the writers' invariant"
cotter_stop 30
section "PASS: two cotters on one pipeline never both write"
