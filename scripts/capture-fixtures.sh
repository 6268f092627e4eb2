#!/usr/bin/env bash
# Captures the binlog fixtures the decoder tests read (tests/fixtures/*.bin).
#
# Starts a throwaway MariaDB (tests/lib/mariadb.sh), then for each variant
# sets the server options, rotates to a fresh binlog file, runs the same
# workload (tables covering every column type, INSERT/UPDATE/DELETE) and
# copies that one binlog file into tests/fixtures/. The expected values in
# tests/unit/test_binlog_event.c are the literals of the workload below:
# change them together.
#
# Usage: scripts/capture-fixtures.sh [OUT_DIR]   (default tests/fixtures)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/tests/fixtures}
mkdir -p "$OUT"
# shellcheck source=../tests/lib/mariadb.sh
source "$ROOT/tests/lib/mariadb.sh"

mdb_start fx "binlog_checksum=CRC32" "binlog_annotate_row_events=ON"

# ENUM with 300 members (2-byte storage) and SET with 64 members (8 bytes).
enum300=$(for i in $(seq 1 300); do printf "'m%d'," "$i"; done)
enum300=${enum300%,}
set64=$(for i in $(seq 1 64); do printf "'s%d'," "$i"; done)
set64=${set64%,}
set64_all=$(for i in $(seq 1 64); do printf "s%d," "$i"; done)
set64_all=${set64_all%,}

# workload WITH_BIG_BLOB: the SQL every variant runs.
workload() {
  cat <<SQL
SET NAMES utf8mb4;
SET time_zone='+00:00';
SET sql_mode='STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';
DROP DATABASE IF EXISTS fx;
CREATE DATABASE fx CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE fx;

CREATE TABLE t_int (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
  mi MEDIUMINT, mu MEDIUMINT UNSIGNED, ii INT, iu INT UNSIGNED,
  bi BIGINT, bu BIGINT UNSIGNED
) ENGINE=InnoDB;
INSERT INTO t_int VALUES
 (1,-128,0,-32768,0,-8388608,0,-2147483648,0,-9223372036854775808,0),
 (2,127,255,32767,65535,8388607,16777215,2147483647,4294967295,9223372036854775807,18446744073709551615),
 (3,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL),
 (4,-1,1,-1,1,-1,1,-1,1,-1,1);
INSERT INTO t_int (id, ti) VALUES (5, 7);
UPDATE t_int SET ti=5, bu=12345678901234567890 WHERE id=4;
DELETE FROM t_int WHERE id=3;

CREATE TABLE t_num (
  id INT NOT NULL PRIMARY KEY,
  f FLOAT, d DOUBLE,
  d65 DECIMAL(65,30), d10 DECIMAL(10,2), d5 DECIMAL(5,0), d18 DECIMAL(18,9),
  d4 DECIMAL(4,4), du DECIMAL(10,3) UNSIGNED,
  b1 BIT(1), b64 BIT(64), b10 BIT(10), y YEAR
) ENGINE=InnoDB;
INSERT INTO t_num VALUES
 (1, 3.5, -2.5e-300,
  '12345678901234567890123456789012345.123456789012345678901234567890',
  '-12345678.90', -99999, '123456789.123456789', 0.1234, 1234567.891,
  b'1', b'1111111111111111111111111111111111111111111111111111111111111111', b'1000000001', 0),
 (2, -1.25, 1.7976931348623157e308, '-0.000000000000000000000000000001',
  0.05, 42, '-0.5', -0.0001, 0, b'0', b'0', b'0', 2155),
 (3, 0.1, 0, 0, 0, 0, 0, 0, 0, b'1', b'1000000000000000000000000000000000000000000000000000000000000001', b'1111111111', 1901),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, -3.25e10, -1, '-99999999999999999999999999999999999.999999999999999999999999999999',
  '99999999.99', 99999, '-999999999.999999999', 0.9999, 9999999.999,
  b'0', b'101', b'10', 2024);

CREATE TABLE t_time (
  id INT NOT NULL PRIMARY KEY,
  da DATE, t0 TIME, t3 TIME(3), t6 TIME(6),
  dt0 DATETIME, dt1 DATETIME(1), dt2 DATETIME(2), dt3 DATETIME(3),
  dt4 DATETIME(4), dt5 DATETIME(5), dt6 DATETIME(6),
  ts0 TIMESTAMP NULL DEFAULT NULL, ts3 TIMESTAMP(3) NULL DEFAULT NULL,
  ts6 TIMESTAMP(6) NULL DEFAULT NULL
) ENGINE=InnoDB;
INSERT INTO t_time VALUES
 (1, '2024-02-29', '-838:59:59', '-00:00:00.001', '-838:59:59.000000',
  '2024-01-02 03:04:05', '2024-01-02 03:04:05.1', '2024-01-02 03:04:05.12',
  '2024-01-02 03:04:05.123', '2024-01-02 03:04:05.1234', '2024-01-02 03:04:05.12345',
  '2024-01-02 03:04:05.123456',
  '2038-01-19 03:14:07', '2038-01-19 03:14:07.999', '1970-01-01 00:00:01.000001'),
 (2, '0000-00-00', '838:59:59', '01:02:03.456', '-00:00:01.5',
  '0000-00-00 00:00:00', '0000-00-00 00:00:00.0', '0000-00-00 00:00:00.00',
  '0000-00-00 00:00:00.000', '0000-00-00 00:00:00.0000', '0000-00-00 00:00:00.00000',
  '9999-12-31 23:59:59.999999',
  '0000-00-00 00:00:00', '0000-00-00 00:00:00.000', '0000-00-00 00:00:00.000000'),
 (3, '9999-12-31', '00:00:00', '00:00:00.000', '123:45:56.789012',
  '1000-01-01 00:00:00', '1000-01-01 00:00:00.9', '1000-01-01 00:00:00.99',
  '1000-01-01 00:00:00.999', '1000-01-01 00:00:00.9999', '1000-01-01 00:00:00.99999',
  '1000-01-01 00:00:00.000001',
  NULL, NULL, NULL),
 (4, '1000-01-01', '-00:00:01', '-12:34:56.789', '-12:00:00.000001',
  '2000-02-03 04:05:06', '2000-02-03 04:05:06.5', '2000-02-03 04:05:06.05',
  '2000-02-03 04:05:06.005', '2000-02-03 04:05:06.0005', '2000-02-03 04:05:06.00005',
  '2000-02-03 04:05:06.000005',
  '2001-09-09 01:46:40', '2001-09-09 01:46:40.001', '2001-09-09 01:46:40.000001');
SET time_zone='+05:30';
INSERT INTO t_time (id, ts0, ts3, ts6) VALUES
 (5, '2024-06-01 12:00:00', '2024-06-01 12:00:00.5', '2024-06-01 12:00:00.654321');
SET time_zone='+00:00';

CREATE TABLE t_str (
  id INT NOT NULL PRIMARY KEY,
  c10 CHAR(10) CHARACTER SET utf8mb4, v20 VARCHAR(20) CHARACTER SET utf8mb4,
  v300 VARCHAR(300) CHARACTER SET utf8mb4, c100 CHAR(100) CHARACTER SET utf8mb4,
  cl CHAR(5) CHARACTER SET latin1, vl VARCHAR(10) CHARACTER SET latin1,
  bn BINARY(4), vb VARBINARY(300),
  tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT CHARACTER SET latin1,
  e3 ENUM('a','b','c'), e300 ENUM($enum300), s2 SET('x','y'), s64 SET($set64),
  j JSON, g GEOMETRY, pt POINT, pg POLYGON
) ENGINE=InnoDB;
INSERT INTO t_str VALUES
 (1, 'héllo😀', 'abc', REPEAT('é', 300), 'x😀y', 'café', 'naïve',
  'ab', 0x00FF10, 0x01, 'blob', '', 'L',
  'tiny', 'text ✓', 'medium', 'Ümlaut',
  'c', 'm300', 'x,y', 's1,s64',
  '{"a": [1, 2.5, "x", null, true], "b": {"c": "😀"}}',
  ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(-1.5 3)'),
  ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))')),
 (2, '', '', '', '', '', '', 0x00000000, '', '', '', '', '', '', '', '', '',
  'a', 'm1', '', '$set64_all', '[]',
  ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(0 0)'),
  ST_GeomFromText('POLYGON((0 0,2 0,2 2,0 0))')),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE t_str SET v20='changed', bl='blob2' WHERE id=1;
UPDATE t_str SET v20='only' WHERE id=2;
DELETE FROM t_str WHERE id=3;

-- YEAR before an unsigned column: MariaDB gives YEAR a SIGNEDNESS bit
CREATE TABLE t_year (id INT NOT NULL PRIMARY KEY, y YEAR, s TINYINT, u TINYINT UNSIGNED) ENGINE=InnoDB;
INSERT INTO t_year VALUES (1, 2000, -5, 200);

CREATE TABLE t_many (id INT NOT NULL PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB;
INSERT INTO t_many SELECT seq, CONCAT('row-', seq) FROM seq_1_to_2000;
UPDATE t_many SET v=CONCAT(v, '!') WHERE id <= 1200;
DELETE FROM t_many WHERE id > 1000;

CREATE TABLE t_nokey (a INT, b VARCHAR(10)) ENGINE=InnoDB;
BEGIN;
INSERT INTO t_nokey VALUES (1, 'dup'), (1, 'dup'), (2, NULL);
UPDATE t_nokey SET b='two' WHERE a=2;
DELETE FROM t_nokey WHERE a=1 LIMIT 1;
COMMIT;
BEGIN;
INSERT INTO t_nokey VALUES (99, 'rolled');
ROLLBACK;
SQL
  if [ "$1" = 1 ]; then
    cat <<SQL
CREATE TABLE t_big (id INT NOT NULL PRIMARY KEY, lb LONGBLOB) ENGINE=InnoDB;
INSERT INTO t_big VALUES (1, REPEAT('0123456789abcdef', 65536));
SQL
  fi
}

# capture NAME BIG "SET GLOBAL ..." : run the workload into a fresh binlog file.
capture() {
  local name=$1 big=$2 settings=$3
  mdb_sql fx "$settings"
  mdb_sql fx "FLUSH BINARY LOGS"
  local file
  file=$(mdb_sql fx "SHOW MASTER STATUS" | cut -f1)
  workload "$big" | mdb fx
  mdb_sql fx "FLUSH BINARY LOGS"
  cp "$fx_DIR/data/$file" "$OUT/mariadb-$name.bin"
  chmod 644 "$OUT/mariadb-$name.bin"
  harness_log "captured $OUT/mariadb-$name.bin ($(stat -c %s "$OUT/mariadb-$name.bin") bytes) with: $settings"
}

base="SET GLOBAL binlog_row_image='FULL', GLOBAL binlog_row_metadata='NO_LOG', GLOBAL log_bin_compress=OFF"
capture full 1 "$base, GLOBAL binlog_row_metadata='FULL'"
capture nolog 0 "$base"
capture minimal 0 "$base, GLOBAL binlog_row_image='MINIMAL', GLOBAL binlog_row_metadata='FULL'"
capture noblob 0 "$base, GLOBAL binlog_row_image='NOBLOB', GLOBAL binlog_row_metadata='FULL'"
capture compressed 0 "$base, GLOBAL binlog_row_metadata='FULL', GLOBAL log_bin_compress=ON, GLOBAL log_bin_compress_min_len=10"
mdb_sql fx "SELECT @@version" | sed 's/^/[harness] server version: /' >&2
