#!/usr/bin/env bash
# TLS to sources and targets (docs/security.md): two servers with a
# certificate signed by a CA made here, and users created REQUIRE SSL.
#   1. tls_ca + tls_verify=full (the default): the binlog and the target
#      connections use TLS and the rows arrive;
#   2. without TLS parameters: refused by the server, with a message that
#      names REQUIRE SSL and the URL parameters;
#   3. a CA that did not sign the server's certificate: refused with
#      tls_verify=full and =ca (chain checked), accepted with =none;
#   4. tls_verify=ca accepts a certificate whose name does not match the host;
#   5. config refusals: an unknown tls_* parameter, a bad tls_verify, an
#      unreadable tls_ca, tls_cert without tls_key (exit 2).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

command -v openssl >/dev/null || fail "openssl is needed"
PKI="$HARNESS_DIR/pki"
mkdir -p "$PKI"
# mkca NAME: a self-signed CA; mkcert CA NAME SAN: a server certificate signed by CA
mkca() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cotter test $1" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.pem" 2>/dev/null
}
mkcert() {
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$PKI/$2.key" -out "$PKI/$2.csr" \
    2>/dev/null &&
  printf 'subjectAltName=%s\n' "$3" >"$PKI/$2.ext" &&
  openssl x509 -req -in "$PKI/$2.csr" -CA "$PKI/$1.pem" -CAkey "$PKI/$1.key" -CAcreateserial \
    -days 2 -extfile "$PKI/$2.ext" -out "$PKI/$2.pem" 2>/dev/null
}
mkca ca && mkca otherca || fail "cannot make the CAs"
mkcert ca server "IP:127.0.0.1,DNS:localhost" || fail "cannot make the server certificate"
mkcert ca wrongname "DNS:db.example.invalid" || fail "cannot make the second certificate"
chmod 644 "$PKI"/*

tls_lines() { # tls_lines CERT: my.cnf lines for a server with CERT
  echo "ssl-ca=$PKI/ca.pem"; echo "ssl-cert=$PKI/$1.pem"; echo "ssl-key=$PKI/$1.key"
}
mapfile -t SRC_TLS < <(tls_lines server)
mapfile -t DST_TLS < <(tls_lines server)
mdb_start src "binlog_row_metadata=FULL" "${SRC_TLS[@]}" || fail "source did not start"
mdb_start dst "${DST_TLS[@]}" || fail "target did not start"
[ "$(mdb_sql src "SELECT @@have_ssl")" = YES ] || fail "the source has no TLS: $(tail "$src_DIR/error.log")"
PW="tls-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
mdb_sql src "CREATE DATABASE tl; CREATE TABLE tl.t (id INT PRIMARY KEY, v VARCHAR(20));
  CREATE USER repl@'%' IDENTIFIED BY '$PW' REQUIRE SSL;
  GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO repl@'%'" || fail "source setup"
mdb_sql dst "CREATE DATABASE tl; CREATE TABLE tl.t (id INT PRIMARY KEY, v VARCHAR(20));
  CREATE USER cotter@'%' IDENTIFIED BY '$PW' REQUIRE SSL;
  GRANT ALL ON *.* TO cotter@'%'" || fail "target setup"

# write_cfg SRC_QUERY DST_QUERY: the config with these URL query strings
write_cfg() {
  local sid=$(( 6000 + RANDOM % 1000 ))
  COTTER_MANAGER_PORT=${COTTER_MANAGER_PORT:-$(cotter__manager_port)}
  cat >"$COTTER_CFG" <<EOF2
data_dir: $COTTER_DATA
manager: { listen: "127.0.0.1:$COTTER_MANAGER_PORT" }
sources:
  src: { url: "mysql://repl:$PW@127.0.0.1:$src_PORT$1", server_id: $sid }
targets:
  dst: { url: "mysql://cotter:$PW@127.0.0.1:$dst_PORT$2" }
channels:
  $COTTER_CHANNEL:
    pipelines:
      - name: $COTTER_PIPELINE
        source: src
        target: dst
        retry: { min_ms: 100, max_ms: 500 }
        tables: [ { match: "tl.*" } ]
EOF2
}

# run_expect_error REGEX: start cotter, wait for a log line matching REGEX, stop it
run_expect_error() {
  cotter_start
  cotter_wait_log "$COTTER_START_MARK" "$1" 30 || fail "no log line matching /$1/"
  cotter_log_since "$COTTER_START_MARK" | grep -q "streaming from" && fail "streamed though TLS should fail"
  cotter_stop
}

CA="?tls_ca=$PKI/ca.pem"
section "1. TLS with a verified certificate"
write_cfg "$CA" "$CA&tls_verify=full"
cotter_start
cotter_wait_streaming 30
mdb_sql src "INSERT INTO tl.t VALUES (1, 'over tls'), (2, 'still')"
wait_synced src dst tl 30 || fail "rows did not arrive over TLS"
# the connections of the REQUIRE SSL users are encrypted
n=$(mdb_sql src "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'repl'")
[ "$n" -ge 1 ] || fail "no connection of repl on the source"
cotter_stop

section "2. without TLS: refused with a hint"
write_cfg "" ""
run_expect_error "Access denied for user 'cotter'.*REQUIRE SSL.*tls=true"

section "3. a CA that did not sign the certificate"
OTHER="?tls_ca=$PKI/otherca.pem"
write_cfg "$CA" "$OTHER"
run_expect_error "target 'dst'.*TLS failed: check tls_ca"
write_cfg "$CA" "$OTHER&tls_verify=ca"
run_expect_error "target 'dst'.*TLS failed: check tls_ca"
write_cfg "$CA" "?tls=true&tls_verify=none"
mdb_sql src "INSERT INTO tl.t VALUES (3, 'no verify')"
cotter_start
cotter_wait_streaming 30
wait_synced src dst tl 30 || fail "tls_verify=none did not sync"
cotter_stop

section "4. tls_verify=ca skips the host name"
mapfile -t DST_TLS < <(tls_lines wrongname)
mdb_restart dst "${DST_TLS[@]}" || fail "target restart with the second certificate"
write_cfg "$CA" "$CA"
run_expect_error "target 'dst'.*TLS failed"
write_cfg "$CA" "$CA&tls_verify=ca"
mdb_sql src "INSERT INTO tl.t VALUES (4, 'ca only')"
cotter_start
cotter_wait_streaming 30
wait_synced src dst tl 30 || fail "tls_verify=ca did not sync"
cotter_stop

section "5. config refusals"
expect_config_error() { # URL_QUERY REGEX
  write_cfg "$CA" "$1"
  local out rc=0
  out=$("$COTTER_BIN" run -c "$COTTER_CFG" 2>&1) || rc=$?
  assert_eq 2 "$rc" "exit code for $1"
  echo "$out" | grep -qE -- "$2" || fail "for $1: expected /$2/, got: $out"
  echo "$out" | grep -q "$PW" && fail "the password leaked: $out"
}
expect_config_error "?tls_mode=on" "unknown URL parameter 'tls_mode'"
expect_config_error "?tls_verify=strict" "tls_verify=strict: expected none, ca or full"
expect_config_error "?tls_ca=$PKI/missing.pem" "tls_ca=.*missing.pem: cannot read it"
expect_config_error "?tls_cert=$PKI/server.pem" "tls_cert and tls_key go together"
echo "PASS test_tls"
