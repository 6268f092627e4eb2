#!/usr/bin/env bash
# Decoder bounds (issue 17), end to end with a real MariaDB writing
# compressed binlog events (log_bin_compress): a 1 MB row is logged as a
# WRITE_ROWS_COMPRESSED event of about 1 KB that declares 1 MB inflated.
#   sources.*.max_event_size: 64KB -> the pipeline stops in ERROR with an
#     error naming max_event_size and the event's exact binlog file:pos
#     (as SHOW BINLOG EVENTS gives it); the row before it is applied, the
#     big row is not, and nothing after it either (never skipped);
#   raised to 16MB -> the same event is applied and the tables are identical.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src "binlog_row_metadata=FULL" "log_bin_compress=ON" || fail "source did not start"
mdb_start dst || fail "target did not start"
schema="CREATE DATABASE eb; CREATE TABLE eb.t (id INT PRIMARY KEY, body LONGBLOB)"
mdb_sql src "$schema" && mdb_sql dst "$schema" || fail "schema"
ids() { mdb_sql dst "SELECT COALESCE(GROUP_CONCAT(id ORDER BY id), '') FROM eb.t"; }

# config_with_max SIZE: the test config with the source's max_event_size set
config_with_max() {
  cotter_config src dst "eb.*"
  sed -i -E "s/(server_id: [0-9]+) \}/\1, max_event_size: $1 }/" "$COTTER_CFG"
  grep -q "max_event_size: $1" "$COTTER_CFG" || fail "could not set max_event_size in $COTTER_CFG"
}

section "max_event_size 64KB: a compressed event declaring 1 MB stops the pipeline"
config_with_max 64KB
cotter_start
cotter_wait_streaming
mark=$(cotter_log_mark)
mdb_sql src "INSERT INTO eb.t VALUES (1, 'small')" || fail "insert 1"
for _ in $(seq 1 100); do [ "$(ids)" = "1" ] && break; sleep 0.2; done
assert_eq "1" "$(ids)" "rows on the target before the big row"
mdb_sql src "INSERT INTO eb.t VALUES (2, REPEAT('x', 1000000))" || fail "insert 2"
mdb_sql src "INSERT INTO eb.t VALUES (3, 'after')" || fail "insert 3"
ev=$(mdb_sql src "SHOW BINLOG EVENTS" | awk -F'\t' '$3 ~ /Write_rows_compressed/ { f = $1; p = $2 } END { print f ":" p }')
[ "$ev" != ":" ] || fail "the source did not log a compressed rows event (log_bin_compress)"
size=$(mdb_sql src "SHOW BINLOG EVENTS" | awk -F'\t' -v p="${ev#*:}" '$2 == p { print $5 - $2 }')
note "the big row's event: $ev, $size bytes on the wire"
[ "$size" -lt 65536 ] || fail "the compressed event is $size bytes: it should be far under 64KB"
cotter_wait_state ERROR 30 || fail "the pipeline did not stop on the oversized compressed event"
line=$(cotter_log_since "$mark" | grep -E "$RE_ERROR" | grep "bytes uncompressed, more than max_event_size" | head -1)
[ -n "$line" ] || fail "no ERROR line saying the declared size is over max_event_size: $(cotter_log_since "$mark" | tail -5)"
note "what the user sees: $(cut -c1-300 <<<"$line")"
grep -qF "at $ev " <<<"$line" || fail "the error does not name the event's file:pos $ev"
sleep 1
assert_eq "1" "$(ids)" "rows on the target while stopped (the big row and the one after are not skipped)"
cotter_stop

section "max_event_size 16MB: the same event is applied"
config_with_max 16MB
cotter_start
cotter_wait_streaming
wait_synced src dst eb 60 || fail "the tables did not converge after raising max_event_size"
assert_eq "$(mdb_sql src "CHECKSUM TABLE eb.t" | cut -f2)" "$(mdb_sql dst "CHECKSUM TABLE eb.t" | cut -f2)" \
  "CHECKSUM TABLE eb.t"
assert_eq "1000000" "$(mdb_sql dst "SELECT LENGTH(body) FROM eb.t WHERE id = 2")" "length of the big row"
cotter_stop
note "PASS: max_event_size bounds compressed events, names file:pos, and nothing is skipped"
