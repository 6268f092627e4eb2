#!/usr/bin/env bash
# `make demo`: a live sync between two MariaDB servers this script starts
# under ./.demo. The source gets a small shop schema and a load generator
# (scripts/loadgen.sh); cotter copies schema shop on the source to schema
# warehouse on the target. The screen shows, once a second, what cotter's
# status file and the two servers say. Ctrl-C (or DEMO_SECONDS=N) stops the
# generator, lets cotter catch up, stops cotter with SIGTERM, compares both
# sides (row counts and CHECKSUM TABLE) and stops the servers.
#
# Environment: DEMO_SECONDS (stop by itself after N seconds of load),
# DEMO_DIR (default ./.demo), COTTER_BIN (default BUILD/cotter, BUILD=build),
# DEMO_SRC_PORT / DEMO_DST_PORT (default 33061 / 33062 when free),
# LOADGEN_TPS (transactions per second, default 60).
# Exit status: 0 when cotter exited 0 and both sides are identical.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-$ROOT/.demo}
BUILD_DIR=${BUILD:-build} # `make BUILD=dir demo|bench` passes BUILD
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
COTTER_BIN=${COTTER_BIN:-$BUILD_DIR/cotter}
LOADGEN=$ROOT/scripts/loadgen.sh
SRC_SCHEMA=shop
DST_SCHEMA=warehouse
TABLES=(users products orders order_events)
PIPELINE=shop-to-warehouse
DEMO_SECONDS=${DEMO_SECONDS:-0}
case $DEMO_SECONDS in *[!0-9]*) echo "demo: DEMO_SECONDS must be a number of seconds" >&2; exit 2 ;; esac

say() { printf '%s\n' "demo: $*"; }
die() { printf '%s\n' "demo: $*" >&2; exit 1; }

[ -x "$COTTER_BIN" ] || die "$COTTER_BIN not found; build it first ('make' builds build/cotter)"

# --- leftovers of an earlier run -------------------------------------------
# demo_kill_recorded PIDFILE: stop the process recorded there if it is still
# one of ours (its command line mentions the demo directory).
demo_kill_recorded() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null)
  case $pid in '' | *[!0-9]*) return 0 ;; esac
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$DEMO_DIR"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
}

if [ -d "$DEMO_DIR" ]; then
  say "removing the previous run in $DEMO_DIR"
  demo_kill_recorded "$DEMO_DIR/loadgen.pid"
  demo_kill_recorded "$DEMO_DIR/cotter.pid"
  for f in "$DEMO_DIR"/*/mariadbd.pid; do demo_kill_recorded "$f"; done
  rm -rf "$DEMO_DIR"
fi
mkdir -p "$DEMO_DIR" || die "cannot create $DEMO_DIR"

# --- servers ---------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
src_PORT=${DEMO_SRC_PORT:-33061}
dst_PORT=${DEMO_DST_PORT:-33062}
port_free "$src_PORT" || src_PORT=""
port_free "$dst_PORT" || dst_PORT=""

# shellcheck disable=SC2034  # read by tests/lib/mariadb.sh
HARNESS_DIR=$DEMO_DIR HARNESS_KEEP=1
# shellcheck source=../tests/lib/mariadb.sh
source "$ROOT/tests/lib/mariadb.sh"

LOADGEN_PID="" COTTER_PID="" TTY=0 STOP=0
[ -t 1 ] && TTY=1

demo_cleanup() {
  local rc=$?
  [ $TTY -eq 1 ] && printf '\033[?25h'
  [ -n "$LOADGEN_PID" ] && kill -TERM "$LOADGEN_PID" 2>/dev/null
  if [ -n "$COTTER_PID" ] && kill -0 "$COTTER_PID" 2>/dev/null; then
    kill -TERM "$COTTER_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$COTTER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$COTTER_PID" 2>/dev/null
  fi
  (exit $rc)
  harness_cleanup 2>/dev/null
  say "servers stopped; logs and data kept in $DEMO_DIR"
  exit $rc
}
trap demo_cleanup EXIT
trap 'STOP=1' INT TERM

# --- the live view ---------------------------------------------------------
# json_get KEY FILE: the scalar value of the first "KEY" in a one-object JSON
# file (strings without their quotes, null as "-"); empty if absent.
json_get() {
  local v
  v=$(tr -d '\n' <"$2" 2>/dev/null | grep -o "\"$1\"[[:space:]]*:[[:space:]]*\\(\"\\([^\"\\\\]\\|\\\\.\\)*\"\\|[^,}]*\\)" | head -1 |
    sed -e "s/^\"$1\"[[:space:]]*:[[:space:]]*//" -e 's/^"//' -e 's/"$//' -e 's/[[:space:]]*$//')
  [ "$v" = null ] && v="-"
  printf '%s' "$v"
}

# table_counts SERVER SCHEMA: the row counts of TABLES, one per line ("?" when unreachable).
table_counts() {
  local q="SELECT " t sep=""
  for t in "${TABLES[@]}"; do q+="${sep}(SELECT COUNT(*) FROM $2.$t)"; sep=", "; done
  local out
  out=$(mdb_sql "$1" "$q" 2>/dev/null) || out=""
  if [ -z "$out" ]; then
    for t in "${TABLES[@]}"; do echo "?"; done
  else
    tr '\t' '\n' <<<"$out"
  fi
}

source_end() { mdb_sql src "SHOW MASTER STATUS" 2>/dev/null | awk '{print $1 ":" $2}'; }
target_position() {
  mdb_sql dst "SELECT CONCAT(binlog_file, ':', binlog_pos) FROM cotter.positions WHERE pipeline = '$PIPELINE'" 2>/dev/null
}

FRAME_LINES=()
frame_add() { FRAME_LINES+=("$*"); }

frame_show() {
  local l
  if [ $TTY -eq 1 ]; then
    local cols
    cols=$(tput cols 2>/dev/null) || cols=80
    printf '\033[H'
    for l in "${FRAME_LINES[@]}"; do printf '%s\033[K\n' "${l:0:$((cols - 1))}"; done
    printf '\033[J'
  fi
  FRAME_LINES=()
}

frame_build() {
  local elapsed=$1 f state file pos gtid delay rps ins upd del txs err
  local -a src_n dst_n
  # the target first: the source, counted a moment later, then does not look behind it (deletes aside)
  mapfile -t dst_n < <(table_counts dst "$DST_SCHEMA")
  mapfile -t src_n < <(table_counts src "$SRC_SCHEMA")
  local lg="running"
  kill -0 "$LOADGEN_PID" 2>/dev/null || lg="stopped (see $DEMO_DIR/loadgen.log)"
  frame_add "cotter demo   $SRC_SCHEMA@:$src_PORT -> $DST_SCHEMA@:$dst_PORT   $(printf '%02d:%02d' $((elapsed / 60)) $((elapsed % 60)))   Ctrl-C stops"
  frame_add ""
  local plain
  plain="[$(printf '%02d:%02d' $((elapsed / 60)) $((elapsed % 60)))]"
  local found=0
  for f in "$DATA_DIR"/status/*.json; do
    [ -f "$f" ] || continue
    found=1
    state=$(json_get state "$f")
    file=$(json_get file "$f")
    pos=$(json_get pos "$f")
    gtid=$(json_get gtid "$f")
    delay=$(json_get delay_s "$f")
    rps=$(json_get rows_per_s "$f")
    ins=$(json_get insert "$f")
    upd=$(json_get update "$f")
    del=$(json_get delete "$f")
    txs=$(json_get transactions "$f")
    err=$(json_get last_error "$f")
    frame_add "pipeline $(json_get pipeline "$f")   $state   rows/s ${rps:-0}   delay ${delay:--} s"
    frame_add "  position  $file:$pos${gtid:+   gtid $gtid}"
    frame_add "  applied   insert ${ins:-0}  update ${upd:-0}  delete ${del:-0}  transactions ${txs:-0}"
    frame_add "  last error: ${err:--}"
    plain+=" $state $file:$pos rows/s=${rps:-0} delay=${delay:--}s I/U/D=${ins:-0}/${upd:-0}/${del:-0}"
    [ "$err" != "-" ] && [ -n "$err" ] && plain+=" error: $err"
  done
  if [ $found -eq 0 ]; then
    frame_add "no status file yet in $DATA_DIR/status/"
    plain+=" (no status file yet)"
  fi
  frame_add ""
  frame_add "$(printf '%-22s %10s %10s %8s' table source target behind)"
  local i b
  for i in "${!TABLES[@]}"; do
    b="?"
    [[ ${src_n[$i]:-?} =~ ^[0-9]+$ && ${dst_n[$i]:-?} =~ ^[0-9]+$ ]] && b=$((src_n[i] - dst_n[i]))
    frame_add "$(printf '%-22s %10s %10s %8s' "${TABLES[$i]}" "${src_n[$i]:-?}" "${dst_n[$i]:-?}" "$b")"
    plain+=" ${TABLES[$i]}=${src_n[$i]:-?}/${dst_n[$i]:-?}"
  done
  frame_add ""
  frame_add "source binlog end    $(source_end)"
  frame_add "target position      $(target_position)   (cotter.positions)"
  frame_add "load generator: $lg, ${LOADGEN_TPS:-60} tx/s"
  local last
  last=$(grep -v '^[[:space:]]*$' "$DEMO_DIR/cotter.out" 2>/dev/null | tail -1 | cut -d' ' -f2-)
  frame_add "cotter log: ${last:-}"
  if [ $TTY -eq 0 ]; then
    printf '%s\n' "$plain"
    FRAME_LINES=()
  fi
}

# live_view: the refreshing screen (plain lines when not on a terminal), until
# Ctrl-C, DEMO_SECONDS, or cotter exiting by itself.
live_view() {
  local elapsed last_plain=-10 t0=$SECONDS
  say "live view: status from $DATA_DIR/status/*.json, row counts from both servers"
  [ $TTY -eq 1 ] && printf '\033[2J\033[?25l'
  while [ $STOP -eq 0 ]; do
    elapsed=$((SECONDS - t0))
    if [ "$DEMO_SECONDS" -gt 0 ] && [ $elapsed -ge "$DEMO_SECONDS" ]; then break; fi
    if ! kill -0 "$COTTER_PID" 2>/dev/null; then
      [ $TTY -eq 1 ] && printf '\033[?25h\n'
      say "cotter exited on its own:"
      tail -20 "$DEMO_DIR/cotter.out"
      break
    fi
    if [ $TTY -eq 1 ] || [ $((elapsed - last_plain)) -ge 2 ]; then
      frame_build "$elapsed"
      frame_show
      last_plain=$elapsed
    fi
    sleep 1
  done
  [ $TTY -eq 1 ] && printf '\033[?25h\n'
}

say "starting a source and a target MariaDB under $DEMO_DIR"
# demo_start NAME USER_PORT [my.cnf lines]: a server on its default port; when
# that port was taken between the probe and the start (another program's
# server), once more on a free port the harness picks (not when the user
# asked for the port)
demo_start() {
  local name=$1 user_port=$2
  shift 2
  mdb_start "$name" "$@" && return 0
  [ -z "$user_port" ] || return 1
  harness_log "$name: its default port did not work; trying a free one"
  printf -v "${name}_PORT" '%s' ""
  mdb_start "$name" "$@"
}
demo_start src "${DEMO_SRC_PORT:-}" binlog_row_metadata=FULL binlog_row_image=FULL ||
  die "the source server did not start (see $DEMO_DIR/src/error.log)"
demo_start dst "${DEMO_DST_PORT:-}" || die "the target server did not start (see $DEMO_DIR/dst/error.log)"

say "creating schema $SRC_SCHEMA on the source and $DST_SCHEMA on the target (same tables)"
"$LOADGEN" schema | mdb src || die "creating the source schema failed"
LOADGEN_SCHEMA=$DST_SCHEMA "$LOADGEN" schema | mdb dst || die "creating the target schema failed"

# --- cotter ----------------------------------------------------------------
CONFIG=$DEMO_DIR/cotter.yaml
DATA_DIR=$DEMO_DIR/var
cat >"$CONFIG" <<YAML
# written by scripts/demo.sh
data_dir: $DATA_DIR
sources:
  shop: { url: "$(mdb_url src)", server_id: 6001 }
targets:
  warehouse: { url: "$(mdb_url dst)" }
channels:
  orders:
    pipelines:
      - name: $PIPELINE
        source: shop
        target: warehouse
        tables:
          - match: $SRC_SCHEMA.*
            to: $DST_SCHEMA.{table}
YAML
say "config $CONFIG:"
sed 's/^/    /' "$CONFIG"

# setsid: Ctrl-C on the terminal reaches this script only; it stops cotter
# itself, after the generator, so that the last transactions are applied.
setsid "$COTTER_BIN" run -c "$CONFIG" >"$DEMO_DIR/cotter.out" 2>&1 &
COTTER_PID=$!
echo "$COTTER_PID" >"$DEMO_DIR/cotter.pid"
say "cotter started (pid $COTTER_PID), waiting for 'streaming from'"
for _ in $(seq 1 300); do
  grep -q 'streaming from' "$DEMO_DIR/cotter.out" 2>/dev/null && break
  if ! kill -0 "$COTTER_PID" 2>/dev/null; then
    wait "$COTTER_PID"
    rc=$?
    COTTER_PID=""
    tail -20 "$DEMO_DIR/cotter.out" >&2
    die "cotter exited with status $rc before streaming"
  fi
  [ $STOP -eq 1 ] && break
  sleep 0.1
done
grep -q 'streaming from' "$DEMO_DIR/cotter.out" 2>/dev/null || [ $STOP -eq 1 ] ||
  { tail -20 "$DEMO_DIR/cotter.out" >&2; die "cotter did not start streaming in 30 s"; }
grep -m1 'streaming from' "$DEMO_DIR/cotter.out" | sed 's/^/    /'

# --- load ------------------------------------------------------------------
if [ $STOP -eq 0 ]; then
  say "seeding the source (200 users, 50 products, 500 orders) and starting the load generator"
  "$LOADGEN" seed | mdb src || die "seeding the source failed"
  setsid "$LOADGEN" run "$src_DIR/my.cnf" 2>"$DEMO_DIR/loadgen.log" &
  LOADGEN_PID=$!
  echo "$LOADGEN_PID" >"$DEMO_DIR/loadgen.pid"

  live_view
fi

# --- stop ------------------------------------------------------------------
STOP=0
say "stopping the load generator"
if [ -n "$LOADGEN_PID" ]; then
  kill -TERM "$LOADGEN_PID" 2>/dev/null
  wait "$LOADGEN_PID" 2>/dev/null
  LOADGEN_PID=""
  tail -1 "$DEMO_DIR/loadgen.log" | sed 's/^/    /'
fi

cotter_rc=""
if [ -n "$COTTER_PID" ] && kill -0 "$COTTER_PID" 2>/dev/null; then
  end=$(source_end)
  say "waiting for cotter to apply up to the source's end $end (at most 60 s)"
  for _ in $(seq 1 600); do
    [ "$(target_position)" = "$end" ] && break
    [ $STOP -eq 1 ] && break
    sleep 0.1
  done
  say "target position $(target_position) (source end $end)"
  say "stopping cotter with SIGTERM"
  kill -TERM "$COTTER_PID"
  for _ in $(seq 1 300); do kill -0 "$COTTER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$COTTER_PID" 2>/dev/null; then
    say "cotter did not exit within 30 s of SIGTERM; killing it"
    kill -KILL "$COTTER_PID"
  fi
fi
if [ -n "$COTTER_PID" ]; then
  wait "$COTTER_PID" 2>/dev/null
  cotter_rc=$?
  COTTER_PID=""
  say "cotter exited with status $cotter_rc; last lines of its log:"
  tail -3 "$DEMO_DIR/cotter.out" | sed 's/^/    /'
  say "final position stored on the target: $(target_position)"
fi

# --- compare ---------------------------------------------------------------
say "source vs target:"
mapfile -t src_n < <(table_counts src "$SRC_SCHEMA")
mapfile -t dst_n < <(table_counts dst "$DST_SCHEMA")
q_src="CHECKSUM TABLE" q_dst="CHECKSUM TABLE" sep=" "
for t in "${TABLES[@]}"; do q_src+="$sep$SRC_SCHEMA.$t"; q_dst+="$sep$DST_SCHEMA.$t"; sep=", "; done
mapfile -t src_c < <(mdb_sql src "$q_src" 2>/dev/null | cut -f2)
mapfile -t dst_c < <(mdb_sql dst "$q_dst" 2>/dev/null | cut -f2)
printf '    %-14s %9s %9s %12s %12s  %s\n' table "rows src" "rows dst" "checksum src" "checksum dst" ""
same=1
for i in "${!TABLES[@]}"; do
  verdict=identical
  if [ "${src_n[$i]:-?}" != "${dst_n[$i]:-x}" ] || [ "${src_c[$i]:-?}" != "${dst_c[$i]:-x}" ]; then
    verdict=DIFFERENT
    same=0
  fi
  printf '    %-14s %9s %9s %12s %12s  %s\n' "${TABLES[$i]}" "${src_n[$i]:-?}" "${dst_n[$i]:-?}" \
    "${src_c[$i]:-?}" "${dst_c[$i]:-?}" "$verdict"
done

if [ $same -eq 1 ] && [ "$cotter_rc" = 0 ]; then
  say "OK: cotter exited 0 and every table is identical on both sides"
  exit 0
fi
[ $same -eq 1 ] || say "FAILED: the target differs from the source"
[ "$cotter_rc" = 0 ] || say "FAILED: cotter exited with status ${cotter_rc:-?} (log: $DEMO_DIR/cotter.out)"
exit 1
