#!/usr/bin/env bash
# Issue 11 ("Statements"): a DDL means on the target what it meant on the
# source, and no statement hides behind a comment. One source/target pair,
# one cotter run with a rename mapping (shop.* -> mirror.{table}), source
# binlog_row_metadata left at NO_LOG (so a dropped DDL also leaves the
# schema cache stale). ddl_corpus.py sends a corpus of more than 50 DDL
# statements raw through a connector (pymysql): comments of every form and
# place, executable comments, quoting, odd spacing and case, sql_modes
# (NO_BACKSLASH_ESCAPES, ANSI_QUOTES, ANSI, REAL_AS_FLOAT, ORACLE, no
# NO_ENGINE_SUBSTITUTION), client charsets (gbk, big5, sjis, cp932, latin1,
# utf8mb4), the session time zone of a TIMESTAMP default, partitions,
# generated columns; after each statement it waits
# for cotter's stored position to reach the source's and compares SHOW
# CREATE TABLE and CHECKSUM TABLE of every table. Then:
#   2. statements that change no table (ANALYZE, CREATE USER, GRANT) pass,
#      also behind comments, and rows go on.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

PY=/usr/bin/python3
"$PY" -c 'import pymysql' 2>/dev/null || fail "python3-pymysql is needed (scripts/install-deps.sh)"

mdb_start src || fail "source did not start"
mdb_start dst || fail "target did not start"
mdb_sql src "CREATE DATABASE shop; CREATE DATABASE other" || fail "source schemas"
mdb_sql dst "CREATE DATABASE mirror" || fail "target schema"

# ---------------------------------------------------------------------------
section "1. the DDL corpus, sent through a connector, means the same on the target"
cotter_config src dst "shop.*=>mirror.{table}"
cotter_start
cotter_wait_streaming
SRC_PORT=$src_PORT DST_PORT=$dst_PORT PIPELINE=$COTTER_PIPELINE \
  "$PY" "$HERE/ddl_corpus.py" || {
  cotter_log_all | grep -E "$RE_ERROR|$RE_WARN" | tail -5 >&2
  fail "the corpus does not mean the same on the target (above)"
}
cotter_alive
wait_synced src dst shop 30 mirror || fail "rows differ after the corpus"
[ -z "$(mdb_sql dst "SHOW TABLES FROM mirror LIKE 'x'")" ] || fail "other.x reached the target"

# ---------------------------------------------------------------------------
section "2. statements that change no table pass, also behind comments"
"$PY" - "$src_PORT" <<'EOF' || fail "could not send the administrative statements"
import sys, pymysql
c = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="root", autocommit=True)
c.query("-- stats\nANALYZE TABLE shop.t")
c.query("/* user */ CREATE USER IF NOT EXISTS 'corpus'@'localhost'")
c.query("# grant\nGRANT SELECT ON shop.* TO 'corpus'@'localhost'")
c.query("INSERT INTO shop.ec VALUES (2)")
EOF
wait_synced src dst shop 30 mirror || fail "rows stopped after administrative statements"
cotter_alive
cotter_stop
