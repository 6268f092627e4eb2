#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz_*) found in BUILD_DIR for SECONDS each,
# seeded with tests/fuzz/corpus/<target>/. New inputs go to a scratch corpus
# under BUILD_DIR (the committed seeds are never modified); a crash, leak,
# timeout or out-of-memory fails the script and leaves the reproducer in
# BUILD_DIR/fuzz-artifacts/.
#
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS}
SECONDS_EACH=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS}
BUILD=$(cd "$BUILD" && pwd)

mapfile -t targets < <(find "$BUILD" -maxdepth 2 -type f -name 'fuzz_*' -perm -u+x | sort)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* targets in $BUILD (build with 'make fuzz')" >&2
  exit 1
fi
mkdir -p "$BUILD/fuzz-artifacts"
rc=0
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  seeds="$ROOT/tests/fuzz/corpus/$name"
  work="$BUILD/fuzz-corpus/$name"
  mkdir -p "$work"
  args=("$work")
  [ -d "$seeds" ] && args+=("$seeds")
  echo "fuzz: $name for ${SECONDS_EACH}s (seeds: $( [ -d "$seeds" ] && ls "$seeds" | wc -l || echo 0))" >&2
  if ! ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$BUILD/fuzz-artifacts/$name-" "${args[@]}" \
      >"$BUILD/fuzz-artifacts/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; log: $BUILD/fuzz-artifacts/$name.log" >&2
    tail -40 "$BUILD/fuzz-artifacts/$name.log" >&2
    rc=1
  else
    grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$BUILD/fuzz-artifacts/$name.log" \
      | sed "s/^/fuzz: $name: /" >&2 || true
  fi
done
exit $rc
