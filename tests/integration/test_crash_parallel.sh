#!/usr/bin/env bash
# The crash test of test_crash.sh with load.parallelism: 8: kill -9 at
# random moments while 8 load workers each commit their share of every
# batch with their own position row; afterwards the target must equal the
# source exactly (no lost and no repeated change, the keyless table
# included) and the 8 position rows must exist. Worker 3 is made to wait
# 150 ms before each commit (COTTER_TEST_SLOW_WORKER), so kills land while
# the workers stand at different positions and the restart has to leave
# out, change by change, what the workers ahead had applied; the test
# requires that to have happened.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export COTTER_PARALLELISM=${COTTER_PARALLELISM:-8}
export COTTER_TEST_SLOW_WORKER=${COTTER_TEST_SLOW_WORKER:-3:150}
export COTTER_CRASH_REQUIRE_UNEVEN=1
exec bash "$HERE/test_crash.sh" "$@"
