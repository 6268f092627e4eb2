# End-to-end helpers on top of tests/lib/mariadb.sh (source that first).
# They drive a real `cotter run` between two throwaway servers and compare
# the data afterwards. One cotter process per test at a time; its output
# (stderr + stdout) is appended to $COTTER_LOG across restarts.
#
#   cotter_config SRC DST MATCH[=>TO] ...   write $COTTER_CFG for one pipeline
#   cotter_start / cotter_wait_streaming [S] / cotter_stop / cotter_kill
#   cotter_alive, cotter_log_mark, cotter_log_since MARK, cotter_status_state
#   wait_synced SRC DST SCHEMA TIMEOUT [DST_SCHEMA]  (returns 1 and prints a diff)
#   writer_tables_sql, writer_start SRC SCHEMA N, writer_stop
#   assert_eq EXPECTED ACTUAL WHAT, fail MSG, section TITLE
#
# Nothing here knows cotter's internals: only the runtime contract (CLI,
# log lines, status file, the cotter.positions table on the target).

: "${COTTER_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${COTTER_BIN:=$COTTER_ROOT/build/cotter}"
: "${COTTER_LOG_LEVEL:=info}"
: "${COTTER_PIPELINE:=p1}"
: "${COTTER_CHANNEL:=c1}"
: "${COTTER_RETRY_MIN_MS:=100}"
: "${COTTER_RETRY_MAX_MS:=1000}"

COTTER_CFG="$HARNESS_DIR/cotter.yaml"
COTTER_DATA="$HARNESS_DIR/var"
COTTER_LOG="$HARNESS_DIR/cotter.log"
COTTER_PID=""
COTTER_START_MARK=0
COTTER_STARTS=0
WRITER_PIDS=()
WRITER_STOP="$HARNESS_DIR/writers.stop"
touch "$COTTER_LOG"
# log lines are "2026-11-22T04:50:01.123Z ERROR [tag] message"
RE_ERROR=' ERROR +\['
RE_WARN=' WARN +\['

# ---------------------------------------------------------------- reporting

section() { printf '\n=== %s ===\n' "$*" >&2; }
note() { echo "[test] $*" >&2; }

# cotter_log_tail N: the last N lines of cotter's output, indented.
cotter_log_tail() {
  [ -s "$COTTER_LOG" ] || { echo "  (cotter wrote no output)" >&2; return 0; }
  echo "--- last ${1:-40} lines of $COTTER_LOG ---" >&2
  tail -n "${1:-40}" "$COTTER_LOG" | cut -c1-400 | sed 's/^/  | /' >&2
  echo "---" >&2
}

# fail MSG: print MSG and the end of cotter's log, exit 1 (the EXIT trap
# stops servers and keeps $HARNESS_DIR for inspection).
fail() {
  echo >&2
  echo "FAIL: $*" >&2
  cotter_log_tail 40
  local st; st=$(cotter_status_file)
  [ -f "$st" ] && { echo "status file $st:" >&2; sed 's/^/  /' "$st" >&2; echo >&2; }
  exit 1
}

assert_eq() {
  [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# ----------------------------------------------------------------- config

# cotter__manager_port: a free port for cotter's HTTP API, from a range the
# servers' ports (harness_free_port: 20000-59999) never use, so a server
# starting in a parallel test cannot take it.
cotter__manager_port() {
  local p
  for _ in $(seq 1 100); do
    p=$(( 61000 + RANDOM % 4000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

# cotter_config SRC DST MATCH[=>TO] ...: one channel $COTTER_CHANNEL with one
# pipeline $COTTER_PIPELINE from server SRC to server DST. Extra YAML lines
# for the pipeline can be given in COTTER_PIPELINE_EXTRA (already indented
# by 8 spaces).
cotter_config() {
  local src=$1 dst=$2; shift 2
  local sid=$(( 6000 + RANDOM % 1000 ))
  {
    echo "data_dir: $COTTER_DATA"
    echo "manager: { listen: \"127.0.0.1:${COTTER_MANAGER_PORT:=$(cotter__manager_port)}\" }"
    echo "sources:"
    echo "  $src: { url: \"$(mdb_url "$src")\", server_id: $sid }"
    echo "targets:"
    echo "  $dst: { url: \"$(mdb_url "$dst")\"${COTTER_TARGET_EXTRA:+, $COTTER_TARGET_EXTRA} }"
    echo "channels:"
    echo "  $COTTER_CHANNEL:"
    echo "    pipelines:"
    echo "      - name: $COTTER_PIPELINE"
    echo "        source: $src"
    echo "        target: $dst"
    echo "        retry: { min_ms: $COTTER_RETRY_MIN_MS, max_ms: $COTTER_RETRY_MAX_MS }"
    [ -n "${COTTER_PIPELINE_EXTRA:-}" ] && printf '%s\n' "$COTTER_PIPELINE_EXTRA"
    echo "        tables:"
    local m
    for m in "$@"; do
      if [[ $m == *"=>"* ]]; then
        echo "          - match: \"${m%%=>*}\""
        echo "            to: \"${m#*=>}\""
      else
        echo "          - match: \"$m\""
      fi
    done
  } >"$COTTER_CFG"
}

# ---------------------------------------------------------------- process

cotter_log_mark() { stat -c %s "$COTTER_LOG"; }
# cotter_log_since MARK: cotter's output written after MARK (a byte offset).
# (never fails: a reader like grep -q may stop reading early, and pipefail
# would then report the SIGPIPE of tail as a failure)
cotter_log_since() { tail -c +$(( $1 + 1 )) "$COTTER_LOG" || true; }
# cotter_log_all: the whole log of every cotter started by this test.
cotter_log_all() { cat "$COTTER_LOG" || true; }

cotter_check_sanitizers() {
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$COTTER_LOG"; then
    grep -nE -A30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$COTTER_LOG" \
      | head -60 | sed 's/^/  | /' >&2
    COTTER_PID=""
    fail "cotter reported a sanitizer error (above)"
  fi
}

# cotter_start: run cotter in the background on $COTTER_CFG; sets COTTER_PID.
cotter_start() {
  [ -x "$COTTER_BIN" ] || fail "no cotter binary at $COTTER_BIN (run 'make' or set COTTER_BIN)"
  [ -z "$COTTER_PID" ] || fail "cotter_start: cotter already running (pid $COTTER_PID)"
  COTTER_STARTS=$(( COTTER_STARTS + 1 ))
  echo "########## test: start #$COTTER_STARTS of cotter at $(date -u +%FT%T.%3NZ)" >>"$COTTER_LOG"
  COTTER_START_MARK=$(cotter_log_mark)
  "$COTTER_BIN" run -c "$COTTER_CFG" --log-level "$COTTER_LOG_LEVEL" "$@" >>"$COTTER_LOG" 2>&1 &
  COTTER_PID=$!
  harness_track "$COTTER_PID"
}

# cotter_alive: fail unless the cotter started last is still running.
cotter_alive() {
  [ -n "$COTTER_PID" ] || fail "cotter is not started"
  if ! kill -0 "$COTTER_PID" 2>/dev/null; then
    local rc=0
    wait "$COTTER_PID" 2>/dev/null || rc=$?
    COTTER_PID=""
    cotter_check_sanitizers
    fail "cotter exited on its own (exit code $rc)"
  fi
}

# cotter_wait_streaming [TIMEOUT_S]: wait until this start logged
# "streaming from"; fail if cotter dies or the timeout passes.
cotter_wait_streaming() {
  local timeout=${1:-30} i
  for (( i = 0; i < timeout * 10; i++ )); do
    if cotter_log_since "$COTTER_START_MARK" | grep -q "streaming from"; then
      note "cotter: $(cotter_log_since "$COTTER_START_MARK" | grep -m1 "streaming from" | cut -c1-200)"
      return 0
    fi
    cotter_alive
    sleep 0.1
  done
  fail "cotter did not log 'streaming from' within ${timeout}s"
}

# cotter_stop [TIMEOUT_S]: SIGTERM, wait for the exit, require exit code 0.
cotter_stop() {
  local timeout=${1:-30} rc=0 i
  cotter_alive
  kill -TERM "$COTTER_PID"
  for (( i = 0; i < timeout * 10; i++ )); do
    kill -0 "$COTTER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$COTTER_PID" 2>/dev/null; then
    kill -KILL "$COTTER_PID" 2>/dev/null
    wait "$COTTER_PID" 2>/dev/null
    COTTER_PID=""
    fail "cotter did not exit within ${timeout}s of SIGTERM"
  fi
  wait "$COTTER_PID" || rc=$?
  COTTER_PID=""
  cotter_check_sanitizers
  [ "$rc" -eq 0 ] || fail "cotter exited with code $rc after SIGTERM (expected 0)"
}

# cotter_kill: SIGKILL, as a crash would.
cotter_kill() {
  cotter_alive
  kill -KILL "$COTTER_PID"
  wait "$COTTER_PID" 2>/dev/null || true
  COTTER_PID=""
  cotter_check_sanitizers
}

cotter_status_file() { echo "$COTTER_DATA/status/$COTTER_PIPELINE.json"; }

# cotter_status_state: the "state" of the pipeline's status file, or "".
cotter_status_state() {
  local f; f=$(cotter_status_file)
  [ -f "$f" ] || return 0
  grep -oE '"state"[[:space:]]*:[[:space:]]*"[A-Z]+"' "$f" | grep -oE '[A-Z]+"$' | tr -d '"'
}

# cotter_wait_state STATE TIMEOUT_S: poll the status file; 0 when seen.
cotter_wait_state() {
  local want=$1 timeout=$2 i
  for (( i = 0; i < timeout * 10; i++ )); do
    [ "$(cotter_status_state)" = "$want" ] && return 0
    sleep 0.1
  done
  return 1
}

# cotter_wait_log MARK REGEX TIMEOUT_S: poll the log written after MARK
# for an extended regex; 0 when found.
cotter_wait_log() {
  local mark=$1 re=$2 timeout=$3 i
  for (( i = 0; i < timeout * 10; i++ )); do
    cotter_log_since "$mark" | grep -qE -- "$re" && return 0
    sleep 0.1
  done
  return 1
}

# cotter_stored_position DST: "FILE POS" from cotter.positions on the target.
cotter_stored_position() {
  mdb_sql "$1" "SELECT binlog_file, binlog_pos FROM cotter.positions
                WHERE pipeline = '$COTTER_PIPELINE'" 2>/dev/null | tr '\t' ' '
}

# source_position SRC: "FILE POS" of SHOW MASTER STATUS.
source_position() {
  mdb_sql "$1" "SHOW MASTER STATUS" | awk -F'\t' '{ print $1, $2 }'
}

# ------------------------------------------------------------- comparison

# db__dump_sql SERVER SCHEMA: print one SELECT per base table of SCHEMA that
# renders every row as a single line "table|v1,v2,..." where each value is
# QUOTE()d (so NULL and the string 'NULL' differ), binary/bit/spatial values
# are HEX()ed (bytes compare exactly) and FLOAT is widened to DOUBLE (the
# server prints FLOAT with 6 digits only). A header line per table carries
# the column names and types ("#table|c1 c2|c1 type, c2 type"), so a schema
# difference shows too. (No JOIN of information_schema tables: MariaDB 10.11
# then scans TABLES of every schema, and crashed once in that scan here.)
db__dump_sql() {
  local server=$1 schema=$2
  mdb_sql "$server" "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE
      FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = '$schema' AND TABLE_NAME IN
        (SELECT TABLE_NAME FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = '$schema' AND TABLE_TYPE = 'BASE TABLE')
      ORDER BY TABLE_NAME, ORDINAL_POSITION" |
    awk -F'\t' -v schema="$schema" '
      function flush() {
        if (tbl == "") return
        printf "SELECT %s AS h;\n", q("#" tbl "|" names "|" types)
        printf "SELECT CONCAT(%s, CONCAT_WS(%s%s)) FROM `%s`.`%s`;\n",
          q(tbl "|"), q(","), exprs, schema, tbl
      }
      function q(s) { gsub(/'\''/, "'\'''\''", s); return "'\''" s "'\''" }
      $1 != tbl { flush(); tbl = $1; names = ""; types = ""; exprs = "" }
      {
        col = "`" $2 "`"
        if ($3 ~ /^(binary|varbinary|tinyblob|blob|mediumblob|longblob|bit|geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)$/)
          e = "QUOTE(HEX(" col "))"
        else if ($3 == "float")
          e = "QUOTE(CAST(" col " AS DOUBLE))"
        else
          e = "QUOTE(" col ")"
        exprs = exprs ", " e
        names = names (names == "" ? "" : " ") $2
        types = types (types == "" ? "" : ", ") $2 " " $4
      }
      END { flush() }'
}

# db_dump SERVER SCHEMA: every row of every table of SCHEMA, one line each,
# sorted bytewise (ORDER BY in SQL follows collations, which may tie rows
# that differ; the shell sort never does). Returns non-zero if a query fails.
db_dump() {
  local server=$1 schema=$2 sql
  sql=$(db__dump_sql "$server" "$schema") || return 1
  [ -n "$sql" ] || { echo "#(schema $schema has no tables)"; return 0; }
  { echo "SET time_zone = '+00:00';"; echo "$sql"; } |
    mdb "$server" -N -B --max-allowed-packet=256M | LC_ALL=C sort
  return "${PIPESTATUS[1]}"
}

# db_row_counts SERVER SCHEMA: "table rows" per table (for messages).
db_row_counts() {
  local t
  for t in $(mdb_sql "$1" "SELECT TABLE_NAME FROM information_schema.TABLES
                           WHERE TABLE_SCHEMA = '$2' ORDER BY 1"); do
    echo "$t $(mdb_sql "$1" "SELECT COUNT(*) FROM \`$2\`.\`$t\`")"
  done
}

# wait_synced SRC DST SCHEMA TIMEOUT_S [DST_SCHEMA]: poll until the full
# dumps of SCHEMA on SRC and DST_SCHEMA (default SCHEMA) on DST are equal.
# Returns 0 when equal; on timeout prints row counts and the first lines of
# the diff and returns 1 (callers: `wait_synced ... || fail "..."`).
wait_synced() {
  local src=$1 dst=$2 schema=$3 timeout=$4 dschema=${5:-$3}
  local a="$HARNESS_DIR/dump.$src.$schema" b="$HARNESS_DIR/dump.$dst.$dschema"
  local start=$SECONDS n=0
  while :; do
    n=$(( n + 1 ))
    if db_dump "$src" "$schema" >"$a" 2>"$a.err" && db_dump "$dst" "$dschema" >"$b" 2>"$b.err" &&
      [ -s "$a" ] && cmp -s "$a" "$b"; then
      note "synced: $schema on $src and $dschema on $dst are identical ($(wc -l <"$a") lines, $(( SECONDS - start ))s, $n polls)"
      return 0
    fi
    (( SECONDS - start >= timeout )) && break
    [ -n "$COTTER_PID" ] && ! kill -0 "$COTTER_PID" 2>/dev/null && { note "cotter is not running"; break; }
    sleep 0.5
  done
  echo >&2
  echo "NOT SYNCED after ${timeout}s: $src:$schema vs $dst:$dschema" >&2
  cat "$a.err" "$b.err" >&2 2>/dev/null
  echo "rows on $src: $(db_row_counts "$src" "$schema" | tr '\n' ' ')" >&2
  echo "rows on $dst: $(db_row_counts "$dst" "$dschema" | tr '\n' ' ')" >&2
  echo "tables that differ (differing dump lines): $(diff "$a" "$b" | grep -E '^[<>] ' |
    sed -E 's/^[<>] #?//; s/\|.*//' | sort | uniq -c | awk '{ printf "%s (%s) ", $2, $1 }')" >&2
  echo "--- what differs (rows paired by table and first column) ---" >&2
  diff "$a" "$b" | grep -E '^[<>] ' | head -400 |
    awk -v hdr="$a" -v src="$src" -v dst="$dst" "$DIFF_EXPLAIN_AWK" >&2
  echo "--- raw diff (< only on $src, > only on $dst; first 20 lines, cut at 250 chars) ---" >&2
  diff "$a" "$b" | grep -E '^[<>] ' | head -20 | cut -c1-250 >&2
  echo "--- $(diff "$a" "$b" | grep -cE '^[<>] ') differing lines in all; dumps: $a $b ---" >&2
  return 1
}

# DIFF_EXPLAIN_AWK reads diff lines of two dumps ("< table|v1,v2,..." and
# "> ...") and says per row which columns differ, pairing each source row
# with the target row of the same table and first column that differs in
# the fewest columns (for keyless tables the first column is not unique).
# -v hdr=DUMP supplies the column names; values are undone from the client's
# batch escaping, then split on commas outside QUOTE()d strings.
DIFF_EXPLAIN_AWK=$(cat <<'XEOF'
function unbatch(s,   out, i, n, c) {
  out = ""; n = length(s)
  for (i = 1; i <= n; i++) {
    c = substr(s, i, 1)
    if (c == "\\" && i < n) {
      i++; c = substr(s, i, 1)
      if (c == "t") c = "\t"; else if (c == "n") c = "\n"
    }
    out = out c
  }
  return out
}
function split_vals(s, arr,   n, i, len, c, cur, inq) {
  n = 0; cur = ""; inq = 0; len = length(s)
  for (i = 1; i <= len; i++) {
    c = substr(s, i, 1)
    if (inq) {
      if (c == "\\") { cur = cur c substr(s, i + 1, 1); i++; continue }
      if (c == "'") inq = 0
      cur = cur c
    } else if (c == ",") { arr[++n] = cur; cur = "" }
    else { if (c == "'") inq = 1; cur = cur c }
  }
  arr[++n] = cur
  return n
}
function short(v) {
  if (length(v) > 70) return substr(v, 1, 50) "...(" length(v) " chars)"
  return v
}
function where(a, b,   i, n) {
  if (length(a) <= 70 && length(b) <= 70) return ""
  n = length(a) < length(b) ? length(a) : length(b)
  for (i = 1; i <= n && substr(a, i, 1) == substr(b, i, 1); i++);
  return " (first difference at char " i ")"
}
BEGIN {
  while ((getline l < hdr) > 0) {
    if (substr(l, 1, 1) != "#") break
    t = substr(l, 2); p = index(t, "|"); tn = substr(t, 1, p - 1)
    rest = substr(t, p + 1); p = index(rest, "|")
    ncol[tn] = split(substr(rest, 1, p - 1), tmp, " ")
    for (i = 1; i <= ncol[tn]; i++) cname[tn, i] = tmp[i]
  }
}
{
  side = substr($0, 1, 1); line = substr($0, 3)
  if (substr(line, 1, 1) == "#") { hdrdiff[side] = line; next }
  p = index(line, "|"); tn = substr(line, 1, p - 1)
  nrow++; rside[nrow] = side
  rn[nrow] = split_vals(unbatch(substr(line, p + 1)), v)
  for (i = 1; i <= rn[nrow]; i++) val[nrow, i] = v[i]
  key = tn SUBSEP val[nrow, 1]
  if (!(key in seen)) { seen[key] = 1; keys[++nkeys] = key }
  grp[key] = grp[key] " " nrow
}
END {
  if (("<" in hdrdiff) || (">" in hdrdiff)) {
    print "  columns differ:"
    print "    " src ": " substr(hdrdiff["<"], 1, 400)
    print "    " dst ": " substr(hdrdiff[">"], 1, 400)
  }
  shown = 0
  for (k = 1; k <= nkeys && shown < 30; k++) {
    key = keys[k]; split(key, kp, SUBSEP); tn = kp[1]
    m = split(grp[key], ids, " ")
    ns = 0; nd = 0
    for (i = 1; i <= m; i++) { if (rside[ids[i]] == "<") s_ids[++ns] = ids[i]; else d_ids[++nd] = ids[i] }
    for (i = 1; i <= nd; i++) used[d_ids[i]] = 0
    for (i = 1; i <= ns; i++) {
      best = 0; bestn = 1e9; a = s_ids[i]
      for (j = 1; j <= nd; j++) {
        b = d_ids[j]; if (used[b] || rn[a] != rn[b]) continue
        c = 0; for (x = 1; x <= rn[a]; x++) if (val[a, x] != val[b, x]) c++
        if (c < bestn) { bestn = c; best = b }
      }
      label = tn " " cname[tn, 1] "=" short(val[a, 1])
      if (best && bestn <= 6) {
        used[best] = 1
        for (x = 1; x <= rn[a]; x++) if (val[a, x] != val[best, x])
          printf "  %s: %s is %s on %s but %s on %s%s\n", label, cname[tn, x], short(val[a, x]), src,
            short(val[best, x]), dst, where(val[a, x], val[best, x])
      } else {
        printf "  %s: a row only on %s\n", label, src
      }
      shown++
    }
    for (j = 1; j <= nd; j++) if (!used[d_ids[j]]) {
      printf "  %s %s=%s: a row only on %s\n", tn, cname[tn, 1], short(val[d_ids[j], 1]), dst
      shown++
    }
  }
  if (shown >= 30) print "  ..."
}
XEOF
)

# harness_selfcheck SRC DST: prove on two live servers that wait_synced
# passes on equal data and fails on each kind of difference the e2e tests
# rely on (lost row, duplicate row in a keyless table, a FLOAT differing in
# its last bit, a trailing byte of a BINARY, NULL vs 'NULL', latin1 bytes,
# a column missing on one side).
harness_selfcheck() {
  local src=$1 dst=$2 s
  local ddl="DROP DATABASE IF EXISTS selfcheck; CREATE DATABASE selfcheck;
    CREATE TABLE selfcheck.k (id INT PRIMARY KEY, f FLOAT, b BINARY(4), v VARCHAR(8),
                              l VARCHAR(8) CHARACTER SET latin1, g GEOMETRY);
    CREATE TABLE selfcheck.n (a INT, t TEXT);"
  local data="INSERT INTO selfcheck.k VALUES
      (1, 0.1, 0x01020300, 'NULL', 'café', ST_GeomFromText('POINT(1 2)')),
      (2, 3.4028234e38, 0x00, NULL, NULL, NULL);
    INSERT INTO selfcheck.n VALUES (1, 'x'), (1, 'x'), (2, NULL);"
  for s in "$src" "$dst"; do mdb "$s" -e "$ddl $data" || fail "selfcheck: setup on $s"; done
  wait_synced "$src" "$dst" selfcheck 2 2>/dev/null || fail "selfcheck: equal data reported as different"
  local cases=(
    "DELETE FROM selfcheck.k WHERE id = 2"
    "DELETE FROM selfcheck.n WHERE a = 1 LIMIT 1"
    "INSERT INTO selfcheck.n VALUES (1, 'x')"
    "UPDATE selfcheck.k SET f = 0.10000001 WHERE id = 1"
    "UPDATE selfcheck.k SET b = 0x01020301 WHERE id = 1"
    "UPDATE selfcheck.k SET v = NULL WHERE id = 1"
    "UPDATE selfcheck.k SET l = 'cafe' WHERE id = 1"
    "UPDATE selfcheck.k SET g = ST_GeomFromText('POINT(1 3)') WHERE id = 1"
    "ALTER TABLE selfcheck.n ADD COLUMN x INT"
  )
  local c
  for c in "${cases[@]}"; do
    mdb "$dst" -e "$ddl $data $c;" || fail "selfcheck: setup on $dst"
    if wait_synced "$src" "$dst" selfcheck 0 2>/dev/null; then
      fail "selfcheck: wait_synced did not notice: $c"
    fi
  done
  for s in "$src" "$dst"; do mdb "$s" -e "DROP DATABASE selfcheck"; done
  note "selfcheck: wait_synced passes on equal data and catches all ${#cases[@]} kinds of difference"
}

# ----------------------------------------------------------------- writers
# A writer is a bash loop that feeds a mariadb client multi-statement
# transactions on two tables: `keyed` (primary key) and `nokey` (no key at
# all, with duplicate rows on purpose: a transaction applied twice on the
# target shows as one more copy of a row, a lost one as one less). When the
# client exits (the source went away) it is started again and the writer
# goes on with its next sequence number. Invariant on `keyed`, checked by
# keyed_corrupt_rows: writer = id DIV 10^7, seq = id MOD 10^7 MOD 5*10^6.

# writer_schema DB SERVER...: database DB with the writers' tables on each SERVER.
writer_schema() {
  local db=$1 s; shift
  for s in "$@"; do
    { echo "CREATE DATABASE $db; USE $db;"; writer_tables_sql; } | mdb "$s" || fail "creating tables on $s"
  done
}

writer_tables_sql() {
  cat <<'EOF'
CREATE TABLE keyed (
  id BIGINT NOT NULL PRIMARY KEY,
  writer INT NOT NULL,
  seq INT NOT NULL,
  v INT,
  note VARCHAR(64),
  ts DATETIME(6)
) ENGINE=InnoDB;
CREATE TABLE nokey (
  writer INT,
  seq INT,
  payload VARCHAR(64),
  amount DECIMAL(12,2)
) ENGINE=InnoDB;
EOF
}

# writer__loop W PAUSE SEQFILE: the SQL stream of writer W until
# $WRITER_STOP exists, from the sequence number after the one in SEQFILE.
writer__loop() {
  local w=$1 pause=$2 seqfile=$3 seq id r
  seq=$(<"$seqfile")
  RANDOM=$(( w * 7919 + ${COTTER_SEED:-1} + seq ))
  echo "SET time_zone = '+00:00';"
  while [ ! -e "$WRITER_STOP" ]; do
    seq=$(( seq + 1 ))
    echo "$seq" >"$seqfile" # before the SQL: a restarted writer never reuses a number
    id=$(( w * 10000000 + seq ))
    r=$RANDOM
    echo "BEGIN;"
    echo "INSERT INTO keyed (id, writer, seq, v, note, ts) VALUES ($id, $w, $seq, $r, 'n$seq', NOW(6));"
    if (( seq > 3 )); then
      echo "UPDATE keyed SET v = v + 1, note = CONCAT(LEFT(note, 40), '+') WHERE id = $(( id - 1 - r % 3 ));"
    fi
    (( seq % 7 == 0 )) && echo "DELETE FROM keyed WHERE id = $(( id - 5 ));"
    (( seq % 11 == 0 )) && echo "UPDATE keyed SET id = id + 5000000 WHERE id = $(( id - 2 ));"
    echo "INSERT INTO nokey (writer, seq, payload, amount) VALUES ($w, $seq, 'p$(( seq % 5 ))', $(( r % 1000 )).25);"
    (( seq % 4 == 0 )) && echo "INSERT INTO nokey (writer, seq, payload, amount) VALUES ($w, $seq, 'p$(( seq % 5 ))', $(( r % 1000 )).25);"
    (( seq % 5 == 0 )) && echo "UPDATE nokey SET amount = amount + 1 WHERE writer = $w AND seq = $(( seq - 4 )) LIMIT 1;"
    (( seq % 6 == 0 )) && echo "DELETE FROM nokey WHERE writer = $w AND seq = $(( seq - 2 )) LIMIT 1;"
    if (( r % 10 == 0 )); then
      # never reaches the binlog
      echo "INSERT INTO nokey (writer, seq, payload, amount) VALUES ($w, -$seq, 'rolled back', 0);"
      echo "ROLLBACK;"
    else
      echo "COMMIT;"
    fi
    sleep "$pause"
  done
}

# writer__run W PAUSE SRC SCHEMA: writer W, restarting its client whenever
# it exits (the client stops at the first error, e.g. the server went away).
writer__run() {
  local w=$1 pause=$2 src=$3 schema=$4 seqfile="$HARNESS_DIR/writer.$1.seq"
  [ -f "$seqfile" ] || echo 0 >"$seqfile"
  while [ ! -e "$WRITER_STOP" ]; do
    writer__loop "$w" "$pause" "$seqfile" | mdb "$src" "$schema" >>"$HARNESS_DIR/writer.$w.log" 2>&1
    [ -e "$WRITER_STOP" ] || sleep 0.2
  done
}

# writer_start SRC SCHEMA N [PAUSE_S]: start N writers in the background.
writer_start() {
  local src=$1 schema=$2 n=$3 pause=${4:-0.02} w
  rm -f "$WRITER_STOP"
  for (( w = 1; w <= n; w++ )); do
    writer__run "$w" "$pause" "$src" "$schema" &
    WRITER_PIDS+=($!)
    harness_track $!
  done
  note "$n writers running on $src.$schema"
}

# writer_stop: let the writers finish their transaction and wait for them;
# fail if a writer hit an error other than a lost connection or a deadlock /
# lock wait between writers (UPDATE/DELETE on the keyless table scan it all;
# InnoDB rolls such a transaction back, the source stays the truth), as a
# bug in the workload would otherwise go unnoticed.
writer_stop() {
  local p i bad
  touch "$WRITER_STOP"
  for p in "${WRITER_PIDS[@]}"; do
    for (( i = 0; i < 300; i++ )); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && { kill -KILL "$p" 2>/dev/null; note "writer $p had to be killed"; }
    wait "$p" 2>/dev/null || true
  done
  WRITER_PIDS=()
  bad=$(cat "$HARNESS_DIR"/writer.*.log 2>/dev/null | grep -E '^ERROR' |
    grep -vE '^ERROR (2002|2006|2013|1053|1927|4031|1213|1205)' | head -5)
  [ -z "$bad" ] || fail "a writer failed: $bad"
}

# keyed_corrupt_rows SERVER SCHEMA: rows of `keyed` that break the writers'
# invariant (a shifted or mixed-up column would).
keyed_corrupt_rows() {
  mdb_sql "$1" "SELECT COUNT(*) FROM \`$2\`.keyed
                WHERE NOT (writer <=> id DIV 10000000 AND seq <=> id MOD 10000000 MOD 5000000
                           AND note LIKE CONCAT('n', seq, '%'))"
}

# nokey_surplus SERVER SCHEMA: how many rows of `nokey` are copies of an
# earlier identical row.
nokey_surplus() {
  mdb_sql "$1" "SELECT COALESCE(SUM(c - 1), 0) FROM
                (SELECT COUNT(*) c FROM \`$2\`.nokey GROUP BY writer, seq, payload, amount) d"
}

cotter__cleanup() {
  local rc=$?
  touch "$WRITER_STOP" 2>/dev/null
  [ -n "$COTTER_PID" ] && { kill -KILL "$COTTER_PID" && wait "$COTTER_PID"; } 2>/dev/null
  (exit $rc)
  harness_cleanup
}
trap cotter__cleanup EXIT
