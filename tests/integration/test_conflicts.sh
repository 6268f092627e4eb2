#!/usr/bin/env bash
# Conflict policies (issue 3), against real servers: rows changed on the
# target behind cotter's back, then changed on the source.
#   latest_wins (conflict_column: updated_at): a source UPDATE older than
#     the target row is not applied and the conflict row in cotter.conflicts
#     holds both versions; a newer one is; a DELETE of a row the target
#     updated later is not applied;
#   skip: an UPDATE of a row that differs on the target from both images and
#     an INSERT of a key the target holds with other content are not applied;
#     an UPDATE of an untouched row is;
#   source_wins (default): unchanged behaviour, the source overwrites.
# Conflicts are counted in the status file and cotter_conflicts_total.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/mariadb.sh"
source "$HERE/../lib/cotter.sh"

mdb_start src "binlog_row_metadata=FULL" || fail "source did not start"
mdb_start dst || fail "target did not start"
q() { mdb_sql "$@" || fail "query on $1 failed: $2"; }
expect_eq() { # SERVER SQL EXPECTED WHAT
  local got
  for _ in $(seq 1 100); do
    got=$(mdb_sql "$1" "$2" 2>/dev/null)
    [ "$got" = "$3" ] && return 0
    sleep 0.2
  done
  fail "$4: expected [$3], got [$got]"
}

for s in src dst; do
  q $s "CREATE DATABASE cf"
  for t in lw sk sw; do
    q $s "CREATE TABLE cf.$t (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL)"
  done
done
port=$(cotter__manager_port)
cat >"$COTTER_CFG" <<EOC
data_dir: $COTTER_DATA
manager: { listen: "127.0.0.1:$port" }
sources:
  src: { url: "$(mdb_url src)", server_id: 7301 }
targets:
  dst: { url: "$(mdb_url dst)" }
channels:
  $COTTER_CHANNEL:
    pipelines:
      - name: $COTTER_PIPELINE
        source: src
        target: dst
        retry: { min_ms: 100, max_ms: 1000 }
        tables:
          - match: cf.lw
            conflict: latest_wins
            conflict_column: updated_at
          - match: cf.sk
            conflict: skip
          - match: cf.sw
EOC
cotter_start
cotter_wait_streaming
for t in lw sk sw; do
  q src "INSERT INTO cf.$t VALUES (1,'a','2024-01-01'),(2,'b','2024-01-01'),(3,'c','2024-01-01')"
done
for t in lw sk sw; do
  expect_eq dst "SELECT GROUP_CONCAT(v ORDER BY id) FROM cf.$t" "a,b,c" "initial rows of $t"
done
rows() { mdb_sql dst "SELECT GROUP_CONCAT(CONCAT(id,'=',v) ORDER BY id) FROM cf.$1"; }

section "latest_wins: the newer row wins, on either side"
q dst "UPDATE cf.lw SET v='target', updated_at='2030-01-01' WHERE id IN (1,3)"
q src "UPDATE cf.lw SET v='older', updated_at='2025-01-01' WHERE id=1"    # target newer: kept
q src "UPDATE cf.lw SET v='newer', updated_at='2025-01-01' WHERE id=2"    # target older: applied
q src "DELETE FROM cf.lw WHERE id=3"                                      # target updated later: kept
q src "INSERT INTO cf.lw VALUES (4,'new','2024-06-01')"                   # no target row: applied
expect_eq dst "SELECT GROUP_CONCAT(CONCAT(id,'=',v) ORDER BY id) FROM cf.lw" \
  "1=target,2=newer,3=target,4=new" "cf.lw after the conflicts"
q src "UPDATE cf.lw SET v='latest', updated_at='2031-01-01' WHERE id=1"   # newer than target: applied
expect_eq dst "SELECT v FROM cf.lw WHERE id=1" "latest" "a newer source row wins"
c=$(mdb_sql dst "SELECT CONCAT(op,' ',policy,' | ',source_row,' | ',target_row) FROM cotter.conflicts
                 WHERE target_table='cf.lw' ORDER BY id")
note "conflicts of cf.lw: $(tr '\n' ';' <<<"$c" | cut -c1-400)"
[ "$(wc -l <<<"$c")" -eq 2 ] || fail "expected 2 conflicts on cf.lw, got: $c"
first=$(head -1 <<<"$c")
grep -q "^UPDATE latest_wins(updated_at)" <<<"$first" || fail "conflict op/policy wrong: $first"
grep -q '"v": *"older"' <<<"$first" || fail "the conflict row lacks the source version: $first"
grep -q '"v": *"target"' <<<"$first" || fail "the conflict row lacks the target version: $first"
grep -q '2030-01-01' <<<"$first" || fail "the target image lacks its timestamp: $first"
grep -q "^DELETE" <<<"$(sed -n 2p <<<"$c")" || fail "the kept DELETE is not recorded: $c"

section "skip: a row changed on the target is kept"
q dst "UPDATE cf.sk SET v='tgt' WHERE id=1"
q dst "INSERT INTO cf.sk VALUES (5,'mine','2024-01-01')"
q src "UPDATE cf.sk SET v='src' WHERE id=1"            # target differs from before and after: kept
q src "UPDATE cf.sk SET v='src2' WHERE id=2"           # untouched on the target: applied
q src "INSERT INTO cf.sk VALUES (5,'theirs','2024-01-01')" # key exists with other content: kept
q src "INSERT INTO cf.sk VALUES (6,'six','2024-01-01')"    # applied
expect_eq dst "SELECT GROUP_CONCAT(CONCAT(id,'=',v) ORDER BY id) FROM cf.sk" \
  "1=tgt,2=src2,3=c,5=mine,6=six" "cf.sk after the conflicts"
assert_eq 2 "$(mdb_sql dst "SELECT COUNT(*) FROM cotter.conflicts WHERE target_table='cf.sk'")" \
  "conflicts recorded on cf.sk"
mdb_sql dst "SELECT source_row FROM cotter.conflicts WHERE target_table='cf.sk' AND op='INSERT'" |
  grep -q '"theirs"' || fail "the skipped INSERT's source row is not recorded"

section "source_wins (default): the source overwrites, no conflict"
q dst "UPDATE cf.sw SET v='tgt' WHERE id=1"
q src "UPDATE cf.sw SET v='src' WHERE id=1"
expect_eq dst "SELECT v FROM cf.sw WHERE id=1" "src" "source_wins row"
assert_eq 0 "$(mdb_sql dst "SELECT COUNT(*) FROM cotter.conflicts WHERE target_table='cf.sw'")" \
  "conflicts on a source_wins table"

section "counted"
status=$(cotter_status_file)
for _ in $(seq 1 30); do grep -q '"conflicts":4' "$status" 2>/dev/null && break; sleep 0.2; done
grep -q '"conflicts":4' "$status" || fail "status does not count 4 conflicts: $(cat "$status")"
metrics=$(curl -s "http://127.0.0.1:$port/metrics" || true)
grep -E '^cotter_conflicts_total\{.*\} 4$' <<<"$metrics" >/dev/null ||
  fail "cotter_conflicts_total is not 4: $(grep conflicts <<<"$metrics")"
cotter_stop
note "PASS: conflict policies"
