#!/usr/bin/env bash
# Retriable target errors, on real servers: a deadlock and a lock wait
# timeout are injected on the target by another client holding row locks
# that cotter's batch needs. cotter must retry (the failed batch is rolled
# back and applied again, from the committed position) until the lock is
# gone, and the target must end identical to the source. Then retry.times:
# with the target down, the pipeline gives up after that many attempts and
# stays in ERROR with an explanation, and `cotter channel restart` brings it
# back once the target is up.
# Runs with load.parallelism 1 and 4 (COTTER_RETRY_PAR, default "1 4").
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src || fail "source did not start"
mdb_start dst innodb_lock_wait_timeout=3 || fail "target did not start"
for s in src dst; do
  mdb "$s" <<'SQL' || fail "creating tables on $s"
CREATE DATABASE rt;
USE rt;
CREATE TABLE rt.t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;
INSERT INTO rt.t SELECT seq, 0 FROM seq_1_to_40;
SQL
done
# rows only the holder changes, on the target only (not a synced schema)
mdb dst <<'SQL' || fail "creating the ballast table"
CREATE DATABASE hold;
USE hold;
CREATE TABLE ballast (id INT PRIMARY KEY, x INT NOT NULL) ENGINE=InnoDB;
INSERT INTO ballast SELECT seq, 0 FROM seq_1_to_3000;
SQL
COTTER_PIPELINE=rt
COTTER_RETRY_MIN_MS=200
COTTER_RETRY_MAX_MS=400

# holder SQL...: run statements in one target session in the background
holder() {
  mdb dst <<<"$*" >"$HARNESS_DIR/holder.out" 2>&1 &
  HOLDER_PID=$!
}

for par in ${COTTER_RETRY_PAR:-1 4}; do
  section "load.parallelism $par: deadlock"
  COTTER_PIPELINE_EXTRA="        load: { parallelism: $par }
        retry: { min_ms: 200, max_ms: 400, times: 50 }"
  cotter_config src dst "rt.*"
  sed -i '/^        retry: { min_ms: [0-9]*, max_ms: [0-9]* }$/d' "$COTTER_CFG"
  cotter_start
  cotter_wait_streaming 30
  mark=$(cotter_log_mark)
  # The source transaction updates all 40 rows; the holder locks row 40
  # first and, once cotter's batch holds rows below it and waits for row 40,
  # asks for rows 1..39: a lock cycle. (With several workers, the worker
  # whose share has row 40 holds some of the lower rows too.) The holder
  # changed 3000 rows first, so InnoDB picks cotter as the victim.
  holder "BEGIN; UPDATE hold.ballast SET x = x + 1; UPDATE rt.t SET v = v WHERE id = 40;
          SELECT SLEEP(2); UPDATE rt.t SET v = v WHERE id < 40; SELECT SLEEP(1); COMMIT;"
  sleep 0.5
  mdb_sql src "UPDATE rt.t SET v = v + 10" || fail "source update"
  cotter_wait_log "$mark" "errno 1213" 20 || fail "cotter never met the deadlock the holder set up"
  wait "$HOLDER_PID" || true
  wait_synced src dst rt 30 || fail "target differs after the deadlock was retried"
  cotter_log_since "$mark" | grep -E "errno 1213" | grep -q "retriable" ||
    fail "the deadlock was not reported as retriable"
  note "deadlock: $(cotter_log_since "$mark" | grep -E 'errno 1213' | head -1 | cut -c1-220)"
  cotter_wait_state RUNNING 10 || fail "pipeline state after the deadlock: $(cotter_status_state), expected RUNNING"

  section "load.parallelism $par: lock wait timeout"
  dl_mark=$mark
  mark=$(cotter_log_mark)
  holder "BEGIN; UPDATE rt.t SET v = v WHERE id = 5; SELECT SLEEP(5); COMMIT;"
  sleep 0.5
  mdb_sql src "UPDATE rt.t SET v = v + 100 WHERE id IN (4, 5, 6)" || fail "source update"
  cotter_wait_log "$mark" "errno 1205" 20 || fail "cotter never waited out innodb_lock_wait_timeout"
  wait "$HOLDER_PID" || true
  wait_synced src dst rt 30 || fail "target differs after the lock wait timeout was retried"
  assert_eq "$(mdb_sql src 'SELECT v FROM rt.t WHERE id = 5')" "$(mdb_sql dst 'SELECT v FROM rt.t WHERE id = 5')" "row 5 on the target"
  if (( par > 1 )); then # each failed batch was applied on one connection, then parallel again
    mdb_sql src "UPDATE rt.t SET v = v + 1" || fail "source update"
    wait_synced src dst rt 30 || fail "target differs after the retries"
    n=$(cotter_log_since "$dl_mark" | grep -c "past the batch that failed; applying in parallel again")
    (( n >= 1 )) || fail "after a failed parallel batch, parallel apply did not resume"
  fi
  cotter_stop 30
  mdb_sql dst "DELETE FROM cotter.positions" # the next round starts from the source's end
done

section "retry.times: give up, then restart by hand"
COTTER_PIPELINE_EXTRA="        retry: { min_ms: 100, max_ms: 200, times: 3 }"
cotter_config src dst "rt.*"
sed -i '/^        retry: { min_ms: [0-9]*, max_ms: [0-9]* }$/d' "$COTTER_CFG"
cotter_start
cotter_wait_streaming 30
mark=$(cotter_log_mark)
mdb_stop dst
mdb_sql src "UPDATE rt.t SET v = v + 1000 WHERE id = 7" || fail "source update"
cotter_wait_log "$mark" "gave up after 3 attempts in a row \(retry.times\)" 60 ||
  fail "the pipeline did not give up after retry.times attempts"
sleep 1.5
assert_eq "ERROR" "$(cotter_status_state)" "state after giving up"
attempts=$(cotter_log_since "$mark" | grep -cE "retrying in [0-9.]+ s")
assert_eq 3 "$attempts" "retries logged before giving up"
grep -q "cotter channel restart" "$(cotter_status_file)" || fail "the status does not say how to resume"
cotter_alive
mdb_restart dst || fail "target did not come back"
"$COTTER_BIN" channel restart "$COTTER_CHANNEL" --url "http://127.0.0.1:$COTTER_MANAGER_PORT" ||
  fail "cotter channel restart failed"
wait_synced src dst rt 30 || fail "target differs after the channel was restarted"
cotter_wait_state RUNNING 10 || fail "state after the restart: $(cotter_status_state), expected RUNNING"
cotter_stop 30
section "PASS: deadlock and lock wait retried, retry.times gives up and restart resumes"
