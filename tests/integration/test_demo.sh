#!/usr/bin/env bash
# `make demo`, shortened: the demo script runs its load for a few seconds,
# stops by itself, and exits 0 only when every table is identical on source
# and target (row counts and CHECKSUM TABLE). Guards the README's first
# command.
set -euo pipefail
ROOT=${COTTER_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
export COTTER_BIN=${COTTER_BIN:-$ROOT/build/cotter}
dir=$(mktemp -d "${TMPDIR:-/tmp}/cotter-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
DEMO_SECONDS=${DEMO_SECONDS:-15} DEMO_DIR="$dir/demo" "$ROOT/scripts/demo.sh" </dev/null
