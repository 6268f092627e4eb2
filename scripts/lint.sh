#!/usr/bin/env bash
# Mechanical hygiene: banned unbounded string functions and clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
if git grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets)\s*\(' -- 'src/*.c' 'src/*.h'; then
  echo "lint: unbounded string functions above; use snprintf / buf_* instead" >&2
  rc=1
fi
if git grep -nE '\batoi\s*\(' -- 'src/*.c'; then
  echo "lint: atoi above has no error check; use strtol with end/errno checks" >&2
  rc=1
fi
if command -v clang-format >/dev/null; then
  bad=$(git ls-files '*.c' '*.h' | while read -r f; do
    [ -f "$f" ] && ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1 && echo "$f"; done || true)
  if [ -n "$bad" ]; then
    echo "lint: not clang-formatted (run 'make format'):" >&2
    echo "$bad" >&2
    rc=1
  fi
fi
exit $rc
