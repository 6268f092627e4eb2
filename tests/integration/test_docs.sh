#!/usr/bin/env bash
# docs/config.md is generated from the option table (`cotter config-doc`);
# this fails when someone changes an option without regenerating it
# (fix: make docs).
set -euo pipefail
ROOT=${COTTER_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${COTTER_BIN:-$ROOT/build/cotter}
if ! diff -u "$ROOT/docs/config.md" <("$BIN" config-doc); then
  echo "FAIL: docs/config.md is stale: run 'make docs' and commit it" >&2
  exit 1
fi
# every subcommand answers --help with exit 0
for cmd in run decode check repair status channel; do
  "$BIN" "$cmd" --help >/dev/null || { echo "FAIL: cotter $cmd --help" >&2; exit 1; }
done
"$BIN" --help | grep -q "Usage: cotter COMMAND" || { echo "FAIL: cotter --help" >&2; exit 1; }
"$BIN" version | grep -qE '^cotter [0-9]+\.[0-9]+\.[0-9]+' || { echo "FAIL: cotter version" >&2; exit 1; }
set +e
"$BIN" frobnicate >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "FAIL: unknown command exits $rc, want 2" >&2; exit 1; }
echo "ok: docs current, help and version answer"
