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

# issue 18: the docs must not contradict the program. Every command of
# `cotter --help` has a row in docs/cli.md's command table, and no page says
# a command that exists is not there.
bt='`'
cmds=$("$BIN" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
[ -n "$cmds" ] || { echo "FAIL: cotter --help lists no commands" >&2; exit 1; }
for c in $cmds; do
  grep -qE "^\| \[?${bt}cotter $c[${bt} ]" "$ROOT/docs/cli.md" ||
    { echo "FAIL: docs/cli.md's command table has no row for 'cotter $c' (cotter --help lists it)" >&2; exit 1; }
  if grep -rnE "[Tt]here is no ${bt}cotter $c${bt}|${bt}cotter $c${bt} does not exist" "$ROOT/docs" "$ROOT/README.md"; then
    echo "FAIL: the docs above say 'cotter $c' does not exist, but cotter --help lists it" >&2; exit 1
  fi
done
# `cotter status` and `cotter channel` take -c like the other commands
for c in status channel; do
  "$BIN" "$c" --help | grep -q -- "-c FILE" || { echo "FAIL: cotter $c --help has no -c FILE" >&2; exit 1; }
done
# every alarm rule of the engine is in docs/alarms.md's rule table, and no
# page says a rule that exists is missing
rules=$(grep -oE 'rule_names\[\] = \{[^}]*\}' "$ROOT/src/manager/alarm.c" | grep -oE '"[a-z_]+"' | tr -d '"')
[ -n "$rules" ] || { echo "FAIL: no rule_names[] in src/manager/alarm.c" >&2; exit 1; }
for r in $rules; do
  grep -qE "^\| ${bt}$r${bt} \|" "$ROOT/docs/alarms.md" ||
    { echo "FAIL: docs/alarms.md's rule table has no row for the alarm rule '$r'" >&2; exit 1; }
  if grep -rnE "(does not have|has no|no) (an? )?${bt}?$r${bt}? (alarm )?rule" "$ROOT/docs" "$ROOT/README.md"; then
    echo "FAIL: the docs above say there is no '$r' alarm rule, but the engine has one" >&2; exit 1
  fi
done
echo "ok: docs current, help and version answer, commands and alarm rules documented"
