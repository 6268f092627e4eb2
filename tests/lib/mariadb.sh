# Test harness: throwaway MariaDB servers in temp dirs on free loopback ports.
# Source this file, then:
#   mdb_start NAME [my.cnf line ...]  start a server; sets NAME_PORT, NAME_DIR, NAME_SOCK
#   mdb NAME [client args ...]        run the mariadb client as root against it
#   mdb_sql NAME "SQL"                run SQL, print rows tab-separated, no headers
#   mdb_stop NAME | mdb_kill NAME | mdb_restart NAME [my.cnf line ...]
#   mdb_url NAME [user] [password]    print mysql://user:pw@127.0.0.1:PORT
# Every server started is stopped when the shell exits, also on failure
# (trap on EXIT; tests that set their own EXIT trap call harness_cleanup).
# Data lives under $HARNESS_DIR (a fresh mktemp dir unless set).

: "${HARNESS_DIR:=$(mktemp -d "${TMPDIR:-/tmp}/cotter-test.XXXXXX")}"
HARNESS_SERVERS=()
HARNESS_PIDS=()

harness_log() { echo "[harness] $*" >&2; }

harness_free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

_mdb_var() { local v="${1}_$2"; echo "${!v:-}"; }

mdb_start() {
  local name=$1; shift
  local dir="$HARNESS_DIR/$name"
  local port; port=$(_mdb_var "$name" PORT)
  local port_chosen=0
  [ -n "$port" ] || { port=$(harness_free_port); port_chosen=1; }
  mkdir -p "$dir/tmp"
  local sid; sid=$(( (RANDOM % 60000) + 100 ))
  [ -f "$dir/server_id" ] && sid=$(cat "$dir/server_id")
  echo "$sid" > "$dir/server_id"
  {
    echo "[mysqld]"
    echo "datadir=$dir/data"
    echo "socket=$dir/sock"
    echo "port=$port"
    echo "bind-address=127.0.0.1"
    echo "pid-file=$dir/mariadbd.pid"
    echo "log-error=$dir/error.log"
    echo "tmpdir=$dir/tmp"
    [ "$(id -u)" -eq 0 ] && echo "user=root"
    echo "server-id=$sid"
    echo "log-bin=binlog"
    echo "binlog-format=ROW"
    echo "skip-name-resolve"
    echo "character-set-server=utf8mb4"
    echo "collation-server=utf8mb4_general_ci"
    echo "innodb_buffer_pool_size=${HARNESS_BUFFER_POOL:-96M}"
    echo "innodb_log_file_size=64M"
    echo "innodb_flush_log_at_trx_commit=2"
    echo "sync_binlog=0"
    echo "max_allowed_packet=64M"
    echo "max_connections=200"
    echo "skip-log-error=0"
    for line in "$@"; do echo "$line"; done
    echo "[client]"
    echo "default-character-set=utf8mb4"
    echo "socket=$dir/sock"
    echo "user=root"
  } > "$dir/my.cnf"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --defaults-file="$dir/my.cnf" --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  fi
  mariadbd --defaults-file="$dir/my.cnf" >>"$dir/stdout.log" 2>&1 &
  local pid=$!
  printf -v "${name}_PORT" '%s' "$port"
  printf -v "${name}_DIR" '%s' "$dir"
  printf -v "${name}_SOCK" '%s' "$dir/sock"
  printf -v "${name}_PID" '%s' "$pid"
  export "${name}_PORT" "${name}_DIR" "${name}_SOCK" "${name}_PID"
  local known=0 s
  for s in "${HARNESS_SERVERS[@]}"; do [ "$s" = "$name" ] && known=1; done
  [ $known -eq 1 ] || HARNESS_SERVERS+=("$name")
  for _ in $(seq 1 300); do
    if mariadb --defaults-file="$dir/my.cnf" -e 'SELECT 1' >/dev/null 2>&1; then
      harness_log "$name up on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      # a port free when probed can be taken by a server another test starts
      # at the same moment: pick another one (only if we chose it)
      if [ $port_chosen = 1 ] && grep -qs "Address already in use" "$dir"/*.err "$dir/error.log" &&
         [ "${HARNESS_PORT_RETRIES:-0}" -lt 5 ]; then
        harness_log "$name: port $port was taken meanwhile; trying another"
        HARNESS_PORT_RETRIES=$(( ${HARNESS_PORT_RETRIES:-0} + 1 ))
        rm -f "$dir"/*.err
        printf -v "${name}_PORT" '%s' ""
        mdb_start "$name" "$@"
        return $?
      fi
      harness_log "$name failed to start:"; tail -20 "$dir/error.log" "$dir"/*.err >&2 2>/dev/null
      return 1
    fi
    sleep 0.1
  done
  harness_log "$name did not come up in 30 s"; tail -20 "$dir/error.log" >&2
  return 1
}

mdb() {
  local name=$1; shift
  mariadb --defaults-file="$(_mdb_var "$name" DIR)/my.cnf" "$@"
}

mdb_sql() {
  mdb "$1" -N -B -e "$2"
}

mdb_url() {
  echo "mysql://${2:-root}${3:+:$3}@127.0.0.1:$(_mdb_var "$1" PORT)"
}

mdb_stop() {
  local name=$1 pid; pid=$(_mdb_var "$name" PID)
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  printf -v "${name}_PID" '%s' ""
}

mdb_kill() {
  local name=$1 pid; pid=$(_mdb_var "$name" PID)
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  printf -v "${name}_PID" '%s' ""
}

mdb_restart() {
  local name=$1; shift
  mdb_stop "$name"
  local dir; dir=$(_mdb_var "$name" DIR)
  # keep the port and server id; extra lines replace the previous extras
  mdb_start "$name" "$@"
}

# harness_track PID: a background process to kill at exit.
harness_track() { HARNESS_PIDS+=("$1"); }

harness_cleanup() {
  local rc=$?
  local p s
  for p in "${HARNESS_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for s in "${HARNESS_SERVERS[@]}"; do mdb_stop "$s"; done
  if [ "${HARNESS_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    harness_log "kept $HARNESS_DIR for inspection"
  else
    rm -rf "$HARNESS_DIR"
  fi
  return $rc
}
trap harness_cleanup EXIT
