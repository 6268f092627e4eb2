# shellcheck shell=bash disable=SC2034
# Helpers of bench/run.sh: wall clocks, formatting, a persistent polling
# client and the two catch-up measurements (cotter, native replica).
# Sourced after tests/lib/mariadb.sh; servers are its NAMEs (src, dst, ...).

bench_log() { printf '[bench] %s\n' "$*" >&2; }
bench_die() { printf '[bench] FAILED: %s\n' "$*" >&2; exit 1; }

# now_s: wall clock in seconds with microseconds (bash 5 EPOCHREALTIME).
now_s() { printf '%s' "$EPOCHREALTIME"; }

# fsub A B: A - B with 3 decimals; fdiv A B: A / B with 2 decimals ("-" when B is 0 or empty).
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
fdiv() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "" || a == "-") print "-"; else printf "%.2f", a / b }'
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# vm_hwm_kb PID: peak resident set size so far of a live process, in kB (0 if gone).
vm_hwm_kb() { awk '/^VmHWM:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# cpu_s PID: user+system CPU seconds used so far by a live process ("" if gone).
cpu_s() {
  local tck
  tck=$(getconf CLK_TCK)
  # the command name (field 2) may contain spaces: count fields after its ')'
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk -v t="$tck" '{ printf "%.2f", ($12 + $13) / t }'
}

# poll_open SERVER / poll_query SQL / poll_close: one client kept open for
# fast polling (a new process per poll would cost more than the poll). A
# query that fails (e.g. a table not created yet) prints nothing: poll_query
# then returns 1 after a short timeout.
poll_open() {
  coproc POLL { mariadb --defaults-file="$(_mdb_var "$1" DIR)/my.cnf" --batch --skip-column-names \
    --unbuffered --force 2>/dev/null; }
}
poll_query() {
  POLL_LINE=""
  printf '%s\n' "$1" >&"${POLL[1]}" || return 1
  IFS= read -r -t 2 POLL_LINE <&"${POLL[0]}"
}
poll_close() {
  local pid=${POLL_PID:-}
  [ -n "${POLL[1]:-}" ] && eval "exec ${POLL[1]}>&-"
  [ -n "$pid" ] && wait "$pid" 2>/dev/null
  return 0
}

# pos_reached FILE POS END_FILE END_POS: true when FILE:POS is at or past the end.
pos_reached() {
  [ -n "$1" ] || return 1
  [[ $1 > $3 ]] && return 0
  [ "$1" = "$3" ] && [ "$2" -ge "$4" ]
}

# catchup_cotter TARGET CONFIG PIPELINE END_FILE END_POS TIMEOUT LOG
# Starts cotter, polls TARGET's cotter.positions until it reaches the end
# (every position row of the pipeline, with parallel load workers).
# Sets CATCHUP_S (seconds from process start), COTTER_HWM_KB, COTTER_CPU_S, COTTER_RC.
catchup_cotter() {
  local target=$1 config=$2 pipeline=$3 end_file=$4 end_pos=$5 timeout=$6 log=$7
  CATCHUP_S="" COTTER_HWM_KB=0 COTTER_CPU_S="" COTTER_RC=""
  poll_open "$target"
  local t0 pid f="" p="" hwm have_table=0
  t0=$(now_s)
  "$COTTER_BIN" run -c "$config" >"$log" 2>&1 &
  pid=$!
  harness_track "$pid"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      bench_log "cotter exited before catching up; last lines of $log:"
      tail -15 "$log" >&2
      break
    fi
    hwm=$(vm_hwm_kb "$pid")
    [ "$hwm" -gt "$COTTER_HWM_KB" ] && COTTER_HWM_KB=$hwm
    if [ $have_table -eq 0 ]; then
      # until cotter has created it, querying the table would fail (and print nothing)
      poll_query "SELECT COUNT(*) FROM information_schema.tables
        WHERE table_schema = 'cotter' AND table_name = 'positions';" && [ "$POLL_LINE" = 1 ] && have_table=1
    elif poll_query "SELECT IFNULL((SELECT CONCAT(binlog_file, ' ', binlog_pos) FROM cotter.positions
        WHERE pipeline = '$pipeline' OR pipeline LIKE '$pipeline#%'
        ORDER BY binlog_file, binlog_pos LIMIT 1), '- 0');"; then
      read -r f p <<<"$POLL_LINE"
      if pos_reached "$f" "$p" "$end_file" "$end_pos"; then
        CATCHUP_S=$(fsub "$(now_s)" "$t0")
        break
      fi
    fi
    if [ "$(fsub "$(now_s)" "$t0" | cut -d. -f1)" -ge "$timeout" ]; then
      bench_log "cotter did not reach $end_file:$end_pos within $timeout s (at ${f:-?}:${p:-?})"
      tail -15 "$log" >&2
      break
    fi
    sleep 0.02
  done
  poll_close
  if kill -0 "$pid" 2>/dev/null; then
    hwm=$(vm_hwm_kb "$pid")
    [ "$hwm" -gt "$COTTER_HWM_KB" ] && COTTER_HWM_KB=$hwm
    COTTER_CPU_S=$(cpu_s "$pid")
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { bench_log "cotter ignored SIGTERM for 30 s; killing it"; kill -KILL "$pid"; }
  fi
  wait "$pid" 2>/dev/null
  COTTER_RC=$?
}

# catchup_replica REPLICA SOURCE START_FILE START_POS END_FILE END_POS TIMEOUT
# Points REPLICA at SOURCE from START, starts it and polls SHOW SLAVE STATUS
# until the SQL thread has executed up to the end. Sets CATCHUP_S.
catchup_replica() {
  local rep=$1 src=$2 start_file=$3 start_pos=$4 end_file=$5 end_pos=$6 timeout=$7
  CATCHUP_S=""
  mdb_sql "$rep" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(_mdb_var "$src" PORT),
    MASTER_USER='root', MASTER_PASSWORD='', MASTER_LOG_FILE='$start_file', MASTER_LOG_POS=$start_pos,
    MASTER_USE_GTID=no" || return 1
  # column numbers of the fields we need, from the header of SHOW SLAVE STATUS
  local header i c_file=0 c_pos=0 c_sql=0 c_err=0
  header=$(mdb "$rep" --batch -e 'SHOW SLAVE STATUS' | head -1)
  i=0
  for name in $header; do
    i=$((i + 1))
    case $name in
      Relay_Master_Log_File) c_file=$i ;;
      Exec_Master_Log_Pos) c_pos=$i ;;
      Slave_SQL_Running) c_sql=$i ;;
      Last_SQL_Error) c_err=$i ;;
    esac
  done
  [ $c_file -gt 0 ] && [ $c_pos -gt 0 ] || { bench_log "SHOW SLAVE STATUS has no position columns"; return 1; }
  poll_open "$rep"
  local t0 row f="" p=""
  t0=$(now_s)
  poll_query "START SLAVE; SELECT 1;"
  while :; do
    if poll_query "SHOW SLAVE STATUS;"; then
      row=$POLL_LINE
      f=$(cut -f$c_file <<<"$row")
      p=$(cut -f$c_pos <<<"$row")
      if pos_reached "$f" "$p" "$end_file" "$end_pos"; then
        CATCHUP_S=$(fsub "$(now_s)" "$t0")
        break
      fi
      if [ "$(cut -f$c_sql <<<"$row")" = No ]; then
        bench_log "replica $rep stopped: $(cut -f$c_err <<<"$row")"
        break
      fi
    fi
    if [ "$(fsub "$(now_s)" "$t0" | cut -d. -f1)" -ge "$timeout" ]; then
      bench_log "replica $rep did not reach $end_file:$end_pos within $timeout s (at ${f:-?}:${p:-?})"
      break
    fi
    sleep 0.02
  done
  poll_close
  mdb_sql "$rep" "STOP SLAVE" >/dev/null 2>&1
  [ -n "$CATCHUP_S" ]
}

# checksums SERVER SCHEMA TABLES...: "name=checksum" words of CHECKSUM TABLE.
checksums() {
  local srv=$1 schema=$2 q="CHECKSUM TABLE" sep=" " t
  shift 2
  for t in "$@"; do q+="$sep$schema.$t"; sep=", "; done
  mdb_sql "$srv" "$q" 2>/dev/null | awk '{ printf "%s=%s ", $1, $2 }'
}
