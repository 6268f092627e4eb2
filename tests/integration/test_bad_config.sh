#!/usr/bin/env bash
# What a user sees for a broken configuration, through the real binary:
# for each kind of mistake (unknown key, undefined source, bad URL, unset
# environment variable, YAML syntax error, wrong type, ...) a config is
# written to a temp dir and `cotter run -c FILE` must exit 2 within a few
# seconds with "cotter: FILE:LINE: key: message" on stderr, never showing a
# password. Then an unreachable source (a valid config): cotter must stay up,
# log an ERROR "cannot connect to source 'shop'" with the redacted URL, and
# keep retrying. Prints what the user sees for each case.
#
# Env: COTTER_BIN (default build/cotter).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
: "${COTTER_ROOT:=$(cd "$HERE/../.." && pwd)}"
: "${COTTER_BIN:=$COTTER_ROOT/build/cotter}"

SECRET="s3cr3t-pw"
WORK="$HARNESS_DIR/bad-config"
mkdir -p "$WORK"
FAILURES=0

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

if [ ! -x "$COTTER_BIN" ]; then
  echo "FAIL: no cotter binary at $COTTER_BIN (build it, or set COTTER_BIN)" >&2
  exit 1
fi

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# expect_error NAME WANT [VAR=VALUE ...] < CONFIG
# Writes the config to $WORK/NAME.yaml, runs `cotter run -c` on it with the
# given environment (SHOP_PW is always unset first) and checks: exit status 2,
# in under 5 s, a stderr line that starts with "cotter: WANT" (the literal
# FILE in WANT is replaced by the config's path), and no password anywhere.
expect_error() {
  local name=$1 want=$2
  shift 2
  local f="$WORK/$name.yaml" err="$WORK/$name.err"
  cat >"$f"
  want=${want//FILE/$f}
  local t0 rc ms
  t0=$(now_ms)
  env -u SHOP_PW "$@" timeout 20 "$COTTER_BIN" run -c "$f" >"$WORK/$name.out" 2>"$err"
  rc=$?
  ms=$(($(now_ms) - t0))
  echo "--- $name: exit $rc after ${ms} ms; the user sees:" >&2
  sed 's/^/  | /' "$err" >&2
  [ "$rc" -eq 2 ] || fail "$name: exit status $rc, expected 2"
  [ "$ms" -lt 5000 ] || fail "$name: took ${ms} ms to report a config error"
  local line found=0
  while IFS= read -r line; do
    [[ "$line" == "cotter: $want"* ]] && found=1
  done <"$err"
  [ "$found" -eq 1 ] || fail "$name: stderr has no line starting with: cotter: $want"
  if grep -qF -- "$SECRET" "$err" "$WORK/$name.out"; then
    fail "$name: the password appears in the output"
  fi
}

# --- 1. unknown key (the example of the docs, line for line) -------------
expect_error unknown_key \
  "FILE:7: channels.orders.pipelines[0]: unknown key 'sourse' (did you mean 'source'?)" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets: { warehouse: { url: "mysql://root@127.0.0.1:3307" } }
channels:
  orders:
    pipelines:
      - sourse: shop
        name: shop-to-warehouse
        target: warehouse
        tables: [ { match: shop.* } ]
EOF

# --- 2. a pipeline names a source that is not defined -----------------------
expect_error missing_source \
  "FILE:9: channels.orders.pipelines[0].source: 'shpo' is not defined under sources (defined: shop)" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - name: shop-to-warehouse
        source: shpo
        target: warehouse
        tables: [ { match: shop.* } ]
EOF

# --- 3. URLs ----------------------------------------------------------------
expect_error bad_url \
  "FILE:3: sources.shop.url: 'mysql//x' is not a URL: expected scheme://user:password@host:port" <<EOF
sources:
  shop:
    url: "mysql//x"
    server_id: 6001
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF

expect_error bad_url_with_password \
  "FILE:3: sources.shop.url: 'mysql://repl:***@127.0.0.1:port' has a port that is not a number in 1..65535" <<EOF
sources:
  shop:
    url: "mysql://repl:$SECRET@127.0.0.1:port"
    server_id: 6001
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF

expect_error unsupported_scheme \
  "FILE:4: targets.warehouse.url: 'postgresql://wh:***@127.0.0.1:5432/wh': scheme 'postgresql://' is not supported for targets yet: only mysql:// and mariadb:// are implemented" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets:
  warehouse: { url: "postgresql://wh:$SECRET@127.0.0.1:5432/wh" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF

# --- 4. an environment variable that is not set -----------------------------
expect_error undefined_env \
  "FILE:3: sources.shop.url: \${SHOP_PW} is not set in the environment" <<'EOF'
sources:
  shop:
    url: "mysql://repl:${SHOP_PW}@127.0.0.1:3306"
    server_id: 6001
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF

# the same file with the variable set gets past the URL (to the next mistake:
# a wrong type), and the expanded password is not shown
expect_error env_set_then_type_error \
  "FILE:10: channels.orders.pipelines[0].batch.rows: expected a number, got 'lots'" \
  SHOP_PW="$SECRET" <<'EOF'
sources:
  shop:
    url: "mysql://repl:${SHOP_PW}@127.0.0.1:3306"
    server_id: 6001
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, batch: { rows: lots },
          tables: [ { match: shop.* } ] }
EOF

# --- 5. YAML syntax error ---------------------------------------------------
expect_error yaml_syntax "FILE:5:3: YAML syntax error: " <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets:
 warehouse: { url: "mysql://root@127.0.0.1:3307" }
  channels: {}
EOF

# --- 6. type and range errors -----------------------------------------------
expect_error type_error \
  "FILE:3: sources.shop.server_id: expected a number, got 'abc'" <<EOF
sources:
  shop:
    server_id: abc
    url: "mysql://repl:$SECRET@127.0.0.1:3306"
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF

expect_error out_of_range \
  "FILE:3: sources.shop.server_id: '0' is out of range: expected 1..4294967295" <<EOF
sources:
  shop:
    server_id: 0
    url: "mysql://repl:$SECRET@127.0.0.1:3306"
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF

# --- 7. structure: missing keys, empty lists, globs -----------------------
expect_error missing_server_id \
  "FILE:3: sources.shop: missing required key 'server_id'" <<EOF
sources:
  shop:
    url: "mysql://repl:$SECRET@127.0.0.1:3306"
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF

expect_error no_channels \
  "FILE:5: channels: no channels defined: expected at least one channel with pipelines" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels: {}
EOF

expect_error no_tables \
  "FILE:11: channels.orders.pipelines[0].tables: empty list: expected at least one entry" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - name: p
        source: shop
        target: warehouse
        tables: []
EOF

expect_error glob_without_schema \
  "FILE:12: channels.orders.pipelines[0].tables[0].match: 'orders' cannot match any table: expected schema.table" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - name: p
        source: shop
        target: warehouse
        tables:
          - match: orders
EOF

expect_error duplicate_pipeline \
  "FILE:11: channels.returns.pipelines[0].name: pipeline 'p' is already defined at line 8 (channels.orders.pipelines[0])" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306", server_id: 6001 }
targets:
  warehouse: { url: "mysql://root@127.0.0.1:3307" }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
  returns:
    pipelines:
      - name: p
        source: shop
        target: warehouse
        tables: [ { match: shop.returns } ]
EOF

# --- 8. no such file --------------------------------------------------------
missing="$WORK/does-not-exist.yaml"
timeout 20 "$COTTER_BIN" run -c "$missing" >/dev/null 2>"$WORK/missing.err"
rc=$?
echo "--- missing_file: exit $rc; the user sees:" >&2
sed 's/^/  | /' "$WORK/missing.err" >&2
[ "$rc" -eq 2 ] || fail "missing_file: exit status $rc, expected 2"
grep -qF "cotter: cannot open config file '$missing'" "$WORK/missing.err" ||
  fail "missing_file: stderr does not name the file"

# --- 8b. TLS-looking URL keys of other clients (issue 17) -----------------
# ssl, ssl-mode, sslmode, ... are not cotter's keys: ignored, they would give
# a plain-text connection; they are a config error naming the right key.
for k in "ssl=true:tls=true (and" "ssl-mode=VERIFY_IDENTITY:tls=true with tls_verify=full" \
         "sslmode=require:tls=true with tls_verify=full" "useSSL=true:tls=true (and" \
         "ssl_ca=/etc/ca.pem:tls_ca=" "sslrootcert=/etc/ca.pem:tls_ca=" \
         "ssl-cert=/c.pem:tls_cert="; do
  param=${k%%:*} hint=${k#*:}
  expect_error "tls_alias_${param%%=*}" \
    "FILE:2: sources.shop.url: 'mysql://repl:***@127.0.0.1:3306?connect_timeout=5&$param': URL parameter '${param%%=*}' is another client's TLS setting, not cotter's: ignoring it would connect in plain text; write $hint" <<EOF
sources:
  shop: { url: "mysql://repl:$SECRET@127.0.0.1:3306?connect_timeout=5&$param", server_id: 6001 }
targets: { warehouse: { url: "mysql://root@127.0.0.1:3307" } }
channels:
  orders:
    pipelines:
      - { name: p, source: shop, target: warehouse, tables: [ { match: shop.* } ] }
EOF
done

# --- 9. an unreachable source: not a config error; cotter stays up ---------
# A real target, so that the only thing wrong is the source.
if mdb_start dst; then
  data="$WORK/var"
  f="$WORK/unreachable.yaml"
  cat >"$f" <<EOF
data_dir: $data
sources:
  shop: { url: "mysql://u:$SECRET@127.0.0.1:1", server_id: 6001, connect_timeout: 1s }
targets:
  warehouse: { url: "$(mdb_url dst)" }
channels:
  orders:
    pipelines:
      - name: shop-to-warehouse
        source: shop
        target: warehouse
        retry: { min_ms: 100ms, max_ms: 500ms }
        tables: [ { match: shop.* } ]
EOF
  "$COTTER_BIN" run -c "$f" >"$WORK/unreachable.out" 2>"$WORK/unreachable.err" &
  pid=$!
  harness_track "$pid"
  sleep 5
  # the status file is read while cotter runs (on exit it says STOPPED)
  status="$data/status/shop-to-warehouse.json"
  [ -f "$status" ] && cp "$status" "$WORK/status-while-running.json"
  if kill -0 "$pid" 2>/dev/null; then
    running=1
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  else
    running=0
  fi
  wait "$pid"
  rc=$?
  echo "--- unreachable_source: running after 5 s: $running; exit $rc after SIGTERM; the user sees:" >&2
  grep -E ' (ERROR|WARN) ' "$WORK/unreachable.err" | head -4 | cut -c1-300 | sed 's/^/  | /' >&2
  [ "$running" -eq 1 ] || fail "unreachable_source: cotter exited ($rc) instead of retrying"
  [ "$rc" -eq 0 ] || fail "unreachable_source: exit status $rc after SIGTERM, expected 0"
  errs=$(grep -E ' ERROR +\[' "$WORK/unreachable.err" | grep -cF "cannot connect to source 'shop'")
  [ "$errs" -ge 1 ] ||
    fail "unreachable_source: no ERROR line with \"cannot connect to source 'shop'\""
  # (read into a variable first: grep -q ending a pipeline early makes the
  # grep before it die of SIGPIPE, which pipefail reports as a failure)
  conn_errs=$(grep -E ' ERROR +\[' "$WORK/unreachable.err" | grep -F "cannot connect to source 'shop'")
  grep -qF "mysql://u:***@127.0.0.1:1" <<<"$conn_errs" ||
    fail "unreachable_source: the ERROR line does not show the redacted URL mysql://u:***@127.0.0.1:1"
  grep -qF -- "$SECRET" "$WORK/unreachable.err" "$WORK/unreachable.out" &&
    fail "unreachable_source: the password appears on stderr/stdout"
  if [ -f "$data/logs/cotter.log" ]; then
    grep -qF "cannot connect to source 'shop'" "$data/logs/cotter.log" ||
      fail "unreachable_source: data_dir/logs/cotter.log lacks the ERROR line"
    grep -qF -- "$SECRET" "$data/logs/cotter.log" &&
      fail "unreachable_source: the password appears in data_dir/logs/cotter.log"
  else
    fail "unreachable_source: no log file at $data/logs/cotter.log"
  fi
  status="$WORK/status-while-running.json"
  if [ -f "$status" ]; then
    echo "  status file while running: $(cut -c1-400 "$status")" >&2
    grep -qE '"state": *"(CONNECTING|ERROR)"' "$status" ||
      fail "unreachable_source: status state is not CONNECTING or ERROR while retrying"
    grep -qF "cannot connect to source 'shop'" "$status" ||
      fail "unreachable_source: status last_error does not say why"
    grep -qF -- "$SECRET" "$status" && fail "unreachable_source: the password appears in the status file"
  else
    fail "unreachable_source: no status file at $data/status/shop-to-warehouse.json"
  fi
else
  fail "unreachable_source: could not start a MariaDB target"
fi

if [ "$FAILURES" -gt 0 ]; then
  echo "test_bad_config: $FAILURES failure(s)" >&2
  exit 1
fi
echo "test_bad_config: all cases passed" >&2
exit 0
