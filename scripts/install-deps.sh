#!/usr/bin/env bash
# Installs the Debian packages cotter needs to build, test, demo and bench.
# Idempotent and quick when everything is there; uses sudo when not root.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libmariadb-dev libyaml-dev libsqlite3-dev zlib1g-dev libcmocka-dev libmicrohttpd-dev
  libcurl4-openssl-dev
  mariadb-server mariadb-client sqlite3
  sysbench curl python3 python3-pymysql percona-toolkit jq openssl mydumper
  chromium nodejs
  python3-pymysql
)

# e2e_deps installs playwright-core for the console's browser test
# (tests/e2e, from its package-lock.json); the browser is Debian's chromium,
# never a download. Skipped when node_modules is newer than the lock.
e2e_deps() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e"
  [ -f "$dir/package-lock.json" ] || return 0
  [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && return 0
  echo "install-deps: npm ci in $dir (playwright-core)" >&2
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >&2
}

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm: Debian's package, unless a nodejs that bundles npm (NodeSource's,
# which conflicts with Debian's npm) already provides the command
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  e2e_deps
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Do not let the package start a system-wide MariaDB: tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
e2e_deps
