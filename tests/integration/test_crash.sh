#!/usr/bin/env bash
# Crash safety, end to end: writers keep changing a keyed table and a table
# without any key (where a transaction applied twice leaves an extra copy of
# a row, and a lost one a missing row) while `cotter run` is killed with
# SIGKILL at random moments and started again, COTTER_CRASH_ROUNDS times
# (default 20; one of them is a SIGTERM that must exit 0). Afterwards the
# target must equal the source exactly: exactly-once effect across crashes.
#
# Env: COTTER_BIN, COTTER_CRASH_ROUNDS, COTTER_SEED (random, printed),
# COTTER_WRITERS (default 3), COTTER_PARALLELISM (load.parallelism, default
# 1; test_crash_parallel.sh runs this with 8 workers).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

ROUNDS=${COTTER_CRASH_ROUNDS:-20}
SEED=${COTTER_SEED:-$(( $(date +%s) % 100000 ))}
export COTTER_SEED=$SEED
WRITERS=${COTTER_WRITERS:-3}
PAR=${COTTER_PARALLELISM:-1}
TERM_ROUND=$(( ROUNDS / 2 + 1 ))
RANDOM=$SEED
note "seed $SEED (rerun with COTTER_SEED=$SEED), $ROUNDS rounds, SIGTERM in round $TERM_ROUND, $WRITERS writers, load.parallelism $PAR"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"
writer_schema crash src dst
COTTER_PIPELINE=crash
if (( PAR > 1 )); then
  COTTER_PIPELINE_EXTRA="        load: { parallelism: $PAR }"
fi
cotter_config src dst "crash.*"

section "first start, then writers"
cotter_start
cotter_wait_streaming 30
writer_start src crash "$WRITERS" 0.02

section "$ROUNDS rounds of kill and restart under load"
t0=$SECONDS
streamed=0
for (( round = 1; round <= ROUNDS; round++ )); do
  # a random moment 0.2-2 s after the start; in odd rounds counted from
  # "streaming from", in even ones from the exec, and every fourth round
  # only 10-200 ms after the exec (so some kills land in startup and
  # position recovery).
  if (( round % 2 )); then cotter_wait_streaming 30; fi
  if (( round % 4 == 0 )); then ms=$(( 10 + RANDOM % 191 )); else ms=$(( 200 + RANDOM % 1801 )); fi
  sleep "$(( ms / 1000 )).$(printf '%03d' $(( ms % 1000 )))"
  cotter_alive
  cotter_log_since "$COTTER_START_MARK" | grep -q "streaming from" && streamed=$(( streamed + 1 ))
  if (( round == TERM_ROUND )); then
    cotter_stop 30
    how="SIGTERM, exit 0"
  else
    cotter_kill
    how="SIGKILL"
  fi
  note "round $round: $how after ${ms} ms; target has $(mdb_sql dst 'SELECT COUNT(*) FROM crash.keyed') keyed" \
    "rows, $(mdb_sql dst 'SELECT COUNT(*) FROM crash.nokey') keyless rows; position $(cotter_stored_position dst)"
  cotter_start
done
if (( PAR > 1 )); then
  # the workers really ran, and some crash left them at different positions
  cotter_log_all | grep -q "$PAR load workers" || fail "no '$PAR load workers' line in the log: parallel apply never started"
  uneven=$(cotter_log_all | grep -c "load workers of the last run stopped at different positions")
  skipped=$(cotter_log_all | grep -c "applied before the restart by another load worker")
  note "$uneven restarts found the workers at different positions; $skipped transactions were partly left out as applied"
  if [ "${COTTER_CRASH_REQUIRE_UNEVEN:-0}" = 1 ]; then
    (( uneven >= 1 )) || fail "no restart found the load workers at different positions: the recovery path was not exercised"
    (( skipped >= 1 )) || fail "no restart left out changes applied by a worker ahead: the recovery path was not exercised"
  fi
fi
note "rounds done in $(( SECONDS - t0 ))s; $streamed of $ROUNDS runs were streaming when stopped"
(( streamed >= ROUNDS / 3 )) || fail "only $streamed of $ROUNDS runs got to 'streaming from': cotter starts too slowly for this test"

cotter_wait_streaming 30
sleep 1
writer_stop
note "writers stopped; source has $(mdb_sql src 'SELECT COUNT(*) FROM crash.keyed') keyed rows," \
  "$(mdb_sql src 'SELECT COUNT(*) FROM crash.nokey') keyless rows; binlog at $(source_position src)"
(( $(mdb_sql src 'SELECT COUNT(*) FROM crash.nokey') > 50 )) || fail "the writers wrote almost nothing (see $HARNESS_DIR/writer.*.log)"

section "final comparison"
src_dups=$(nokey_surplus src crash)
if ! wait_synced src dst crash 90; then
  note "surplus duplicate rows in crash.nokey: source $src_dups, target $(nokey_surplus dst crash)"
  fail "target differs from source after $ROUNDS crashes (seed $SEED)"
fi
dst_dups=$(nokey_surplus dst crash)
note "surplus duplicate rows in crash.nokey: source $src_dups, target $dst_dups"
assert_eq "$src_dups" "$dst_dups" "duplicate rows in the keyless table (target vs source)"
assert_eq 0 "$(keyed_corrupt_rows dst crash)" "rows of crash.keyed on the target that break the writers' invariant"
if (( PAR > 1 )); then
  rows=$(mdb_sql dst "SELECT COUNT(*) FROM cotter.positions WHERE pipeline='crash' OR pipeline LIKE 'crash#%'")
  assert_eq "$PAR" "$rows" "position rows of the pipeline (one per load worker)"
  even=$(mdb_sql dst "SELECT COUNT(DISTINCT binlog_file, binlog_pos) FROM cotter.positions WHERE pipeline='crash' OR pipeline LIKE 'crash#%'")
  note "after the final sync the $PAR worker rows stand at $even distinct position(s)"
fi
cotter_stop 30
section "PASS: $ROUNDS crashes, target identical to source (seed $SEED)"
