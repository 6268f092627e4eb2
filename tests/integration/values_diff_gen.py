#!/usr/bin/python3
"""Writes the SQL of test_values_diff.sh (issue 11) into the directory argv[1]
for the schema argv[2]: one table per type group filled with extreme values,
and random FLOAT / DOUBLE bit patterns written as the exact double they are
(a FLOAT's own text, 6 digits, does not read back as the stored value).

Files: schema.sql, small.sql (the rows in transactions of at most 40 rows),
bulk.TABLE.sql (the table refilled in one transaction of at least 300 rows),
update.sql (every keyed row takes the next row's values; keyless rows are
moved and deleted), corrupt.sql (what the target is damaged with before a
snapshot / repair), ulp.sh (a FLOAT and a DOUBLE one ulp off, for check).
Seeded: the same files for the same seed (argv[3])."""
import os
import random
import struct
import sys

out, schema, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(seed)


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def finite_f32():
    while True:
        v = f32(rnd.getrandbits(32))
        if v == v and abs(v) != float("inf"):
            return v


def finite_f64():
    while True:
        v = f64(rnd.getrandbits(64))
        if v == v and abs(v) != float("inf"):
            return v


def lit(v):
    """A Python float as a DOUBLE literal that reads back bit-exactly."""
    return repr(v) + ("" if "e" in repr(v) else "e0")


def next_f32(v):
    (b,) = struct.unpack("<I", struct.pack("<f", v))
    return f32(b + 1 if v > 0 else b - 1 if v < 0 else 1)


def next_f64(v):
    (b,) = struct.unpack("<Q", struct.pack("<d", v))
    return f64(b + 1 if v > 0 else b - 1 if v < 0 else 1)


# table -> (column definitions, {column: pool of SQL literals}); id INT PRIMARY KEY first
T = {}
T["t_int"] = (
    "ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT,"
    " miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, yr YEAR",
    {
        "ti": ["-128", "127", "0", "-1", "NULL"],
        "tiu": ["0", "255", "1", "NULL"],
        "si": ["-32768", "32767", "0", "NULL"],
        "siu": ["0", "65535", "NULL"],
        "mi": ["-8388608", "8388607", "0", "-1", "NULL"],
        "miu": ["0", "16777215", "NULL"],
        "i": ["-2147483648", "2147483647", "0", "NULL"],
        "iu": ["0", "4294967295", "2147483648", "NULL"],
        "bi": ["-9223372036854775808", "9223372036854775807", "0", "-1", "NULL"],
        "biu": ["0", "18446744073709551615", "9223372036854775808", "NULL"],
        "yr": ["1901", "2155", "0", "2000", "NULL"],
    },
)
real_f = ["3.4028234663852886e38", "-3.4028234663852886e38", "1.1754943508222875e-38",
          "1.401298464324817e-45", "-1.401298464324817e-45", "1/7", "16777217", "0.1", "-0e0",
          "1e-10", "0", "NULL"]
real_d = ["1.7976931348623157e308", "-1.7976931348623157e308", "2.2250738585072014e-308",
          "4.9e-324", "-4.9e-324", "1/7e0", "0.30000000000000004", "1.0000000000000002",
          "9007199254740993e0", "-0e0", "0", "NULL"]
for _ in range(260):
    real_f.append(lit(finite_f32()))
    real_d.append(lit(finite_f64()))
T["t_real"] = (
    "f FLOAT, fu FLOAT UNSIGNED, d DOUBLE, fm FLOAT(7,3), dm DOUBLE(20,6),"
    " de DECIMAL(65,30), de0 DECIMAL(10,0) UNSIGNED, de5 DECIMAL(5,5)",
    {
        "f": real_f,
        "fu": ["0", "3.4028234663852886e38", "1.401298464324817e-45", "2/3", "NULL"],
        "d": real_d,
        "fm": ["9999.999", "-9999.999", "0.001", "1/7", "NULL"],
        "dm": ["99999999999999.999999", "-0.000001", "1/7", "NULL"],
        "de": ["99999999999999999999999999999999999.999999999999999999999999999999",
               "-99999999999999999999999999999999999.999999999999999999999999999999",
               "0.000000000000000000000000000001", "-0.000000000000000000000000000001",
               "0", "NULL"],
        "de0": ["9999999999", "0", "NULL"],
        "de5": ["0.99999", "-0.99999", "0.00001", "NULL"],
    },
)
T["t_bit"] = (
    "b1 BIT(1), b8 BIT(8), b10 BIT(10), b64 BIT(64)",
    {
        "b1": ["b'0'", "b'1'", "NULL"],
        "b8": ["b'0'", "b'11111111'", "b'10000000'", "NULL"],
        "b10": ["b'0'", "b'1111111111'", "b'1000000001'", "NULL"],
        "b64": ["b'0'", "0xFFFFFFFFFFFFFFFF", "0x8000000000000001", "b'1'", "NULL"],
    },
)
T["t_time"] = (
    "da DATE, t0 TIME, t3 TIME(3), t6 TIME(6), dt0 DATETIME, dt3 DATETIME(3), dt6 DATETIME(6),"
    " ts0 TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL",
    {
        "da": ["'0000-00-00'", "'1000-01-01'", "'9999-12-31'", "'2024-02-29'", "'2024-00-00'",
               "NULL"],
        "t0": ["'-838:59:59'", "'838:59:59'", "'00:00:00'", "'-00:00:01'", "NULL"],
        "t3": ["'-838:59:59.000'", "'838:59:58.999'", "'-00:00:00.001'", "NULL"],
        "t6": ["'-838:59:59.000000'", "'838:59:58.999999'", "'-00:00:00.000001'",
               "'00:00:00.000001'", "NULL"],
        "dt0": ["'0000-00-00 00:00:00'", "'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'",
                "'2024-00-00 00:00:00'", "NULL"],
        "dt3": ["'9999-12-31 23:59:59.999'", "'1000-01-01 00:00:00.001'",
                "'0000-00-00 00:00:00.000'", "NULL"],
        "dt6": ["'9999-12-31 23:59:59.999999'", "'1000-01-01 00:00:00.000001'",
                "'2024-06-15 08:09:10.5'", "'0000-00-00 00:00:00'", "NULL"],
        "ts0": ["'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'", "'0000-00-00 00:00:00'",
                "NULL"],
        "ts6": ["'1970-01-01 00:00:01.000001'", "'2038-01-19 03:14:07.999999'",
                "'2024-03-31 01:30:00.5'", "'0000-00-00 00:00:00'", "NULL"],
    },
)
texts = ["''", "'a'", "'A  '", "'😀𝄞'", "'it''s \\\\ a \"q\"'", "'tab\\there\\nnl'",
         "_utf8mb4 X'610062'", "'NULL'", "'\\\\N'", "'#'", "NULL"]
T["t_str"] = (
    "c CHAR(20), cb CHAR(10) COLLATE utf8mb4_bin, vc VARCHAR(40), vb VARCHAR(40) COLLATE"
    " utf8mb4_bin, l1 VARCHAR(20) CHARACTER SET latin1, tx TEXT, en ENUM('a','b','ünï'),"
    " st SET('a','b','c')",
    {
        "c": texts,
        "cb": ["'A'", "'a'", "' a'", "'😀'", "NULL"],
        "vc": texts,
        "vb": ["'A  '", "'a'", "'ß'", "'ss'", "_utf8mb4 X'00'", "NULL"],
        "l1": ["'café'", "'Ærø £¥ ÿ'", "''", "'x  '", "NULL"],
        "tx": texts + ["REPEAT('é', 30000)"],
        "en": ["'a'", "'ünï'", "'b'", "NULL"],
        "st": ["''", "'a'", "'a,b,c'", "'c'", "NULL"],
    },
)
T["t_bin"] = (
    "b8 BINARY(8), vb VARBINARY(20), tb TINYBLOB",
    {
        "b8": ["X''", "X'00'", "X'4100'", "X'41202020'", "X'FFFFFFFFFFFFFFFF'", "X'5C4E'",
               "NULL"],
        "vb": ["X''", "X'00'", "X'4100'", "X'4120'", "X'5C4E'", "X'0A090D5C'", "NULL"],
        "tb": ["X''", "REPEAT(X'FE', 255)", "X'00'", "NULL"],
    },
)
# big values: 300 rows of them make a transaction the source streams in parts
T["t_blob"] = (
    "bl BLOB, mb MEDIUMBLOB",
    {
        "bl": ["X''", "REPEAT(X'0001', 32767)", "X'0D0A'", "NULL"],
        "mb": ["REPEAT(X'00FF', 40000)", "X'00'", "NULL"],
    },
)
T["t_json"] = (
    "j JSON",
    {
        "j": ["'{}'", "'[]'", "'null'", "'\"str\"'", "'1e308'", "'-0'", "'12345678901234567890'",
              "'{ \"a\" : [1, 2, {\"b\": \"😀\"}], \"c\": null }'", "'\"\\\\u0000 \\\\\\\\ \"'",
              "'[1.0000000000000002, 0.1]'", "NULL"],
    },
)
T["t_geo"] = (
    "g GEOMETRY, p POINT",
    {
        "g": ["ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 0))')",
              "ST_GeomFromText('LINESTRING(-1.7976931348623157e308 0,0 4.9e-324)')", "NULL"],
        "p": ["POINT(0, 0)", "POINT(-180.5, 1/7)", "NULL"],
    },
)
# the check's own hash: the same change on two rows (10, 11) and a '#' moved
# between two columns must be seen
T["t_status"] = (
    "status VARCHAR(10), a VARCHAR(10), b VARCHAR(10)",
    {"status": ["'pending'"], "a": ["'x#'", "'y'"], "b": ["'z'", "'#w'"]},
)

KEYLESS = "t_nk"
NK_DEF = ("g INT, f FLOAT, d DOUBLE, de DECIMAL(20,10), dt DATETIME(6), ts TIMESTAMP(6) NULL"
          " DEFAULT NULL, s VARCHAR(20), b VARBINARY(8), bt BIT(8), j JSON")
NK_COLS = ["g", "f", "d", "de", "dt", "ts", "s", "b", "bt", "j"]


def rows_of(name, n_min=0):
    cols, pools = T[name]
    names = list(pools)
    n = max(max(len(p) for p in pools.values()), n_min)
    return names, [[pools[c][i % len(pools[c])] for c in names] for i in range(n)]


def nk_rows():
    rows = []
    for i in range(40):
        rows.append([str(i), lit(finite_f32()), lit(finite_f64()),
                     ["-9999999999.9999999999", "0.0000000001", "NULL"][i % 3],
                     ["'2024-01-02 03:04:05.000001'", "'0000-00-00 00:00:00'", "NULL"][i % 3],
                     ["'2038-01-19 03:14:07.999999'", "NULL"][i % 2],
                     ["'x '", "'😀'", "''", "NULL"][i % 4], ["X'00'", "X'4120'", "NULL"][i % 3],
                     ["b'1'", "NULL"][i % 2], ["'[1, 2]'", "'{\"a\": 0.1}'", "NULL"][i % 3]])
    rows.append(rows[-1][:])  # a duplicate row
    return rows


def q(name):
    return "`%s`.`%s`" % (schema, name)


def insert(name, names, row, rid):
    cols = ("id," if rid is not None else "") + ",".join(names)
    vals = (str(rid) + "," if rid is not None else "") + ",".join(row)
    return "INSERT INTO %s (%s) VALUES (%s);\n" % (q(name), cols, vals)


head = "SET time_zone = '+00:00';\n"
with open(os.path.join(out, "schema.sql"), "w") as f:
    f.write("CREATE DATABASE `%s`;\n" % schema)
    for name, (cols, _) in T.items():
        f.write("CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, %s) ENGINE=InnoDB"
                " DEFAULT CHARSET=utf8mb4;\n" % (q(name), cols))
    f.write("CREATE TABLE %s (%s) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
            % (q(KEYLESS), NK_DEF))

NK = nk_rows()
with open(os.path.join(out, "small.sql"), "w") as f:
    f.write(head)
    for name in T:
        names, rows = rows_of(name)
        for i, row in enumerate(rows):
            if i % 40 == 0:
                f.write("BEGIN;\n")
            f.write(insert(name, names, row, i + 1))
            if i % 40 == 39 or i == len(rows) - 1:
                f.write("COMMIT;\n")
    f.write("BEGIN;\n")
    for row in NK:
        f.write(insert(KEYLESS, NK_COLS, row, None))
    f.write("COMMIT;\n")

with open(os.path.join(out, "update.sql"), "w") as f:
    f.write(head)
    for name in T:
        names, rows = rows_of(name)
        f.write("BEGIN;\n")
        for i in range(len(rows)):
            nxt = rows[(i + 1) % len(rows)]
            sets = ",".join("%s=%s" % (c, v) for c, v in zip(names, nxt))
            f.write("UPDATE %s SET %s WHERE id = %d;\n" % (q(name), sets, i + 1))
        f.write("COMMIT;\n")
    # keyless: the target finds each row by all its values (FLOAT, DOUBLE, ...)
    f.write("BEGIN;\n")
    for i in range(0, 40, 2):
        f.write("UPDATE %s SET g = g + 1000 WHERE g = %d;\n" % (q(KEYLESS), i))
    for i in range(1, 40, 4):
        f.write("DELETE FROM %s WHERE g = %d;\n" % (q(KEYLESS), i))
    f.write("COMMIT;\n")

for name in T:
    with open(os.path.join(out, "bulk.%s.sql" % name), "w") as f:
        f.write(head)
        names, rows = rows_of(name)
        f.write("BEGIN;\nDELETE FROM %s;\n" % q(name))
        vals = []
        for k in range((300 + len(rows) - 1) // len(rows)):
            for i, row in enumerate(rows):
                vals.append("(%d,%s)" % (k * 1000 + i + 1, ",".join(row)))
        f.write("INSERT INTO %s (id,%s) VALUES %s;\nCOMMIT;\n"
                % (q(name), ",".join(names), ",\n".join(vals)))

with open(os.path.join(out, "corrupt.sql"), "w") as f:
    f.write(head)
    for name in T:
        names, _ = rows_of(name)
        f.write("DELETE FROM %s WHERE id %% 3 = 0;\n" % q(name))
        f.write("UPDATE %s SET %s WHERE id %% 3 = 1;\n"
                % (q(name), ",".join("%s=NULL" % c for c in names)))
    f.write("DELETE FROM %s;\n" % q(KEYLESS))

# one row of t_real whose FLOAT and DOUBLE are random bit patterns
_, rr = rows_of("t_real")
k = 20
fv, dv = float(rr[k][0].replace("e0", "") if rr[k][0].endswith("e0") else rr[k][0]), None
dv = float(rr[k][2][:-2] if rr[k][2].endswith("e0") else rr[k][2])
with open(os.path.join(out, "ulp.sh"), "w") as f:
    f.write("ULP_ID=%d\nF_EXACT=%s\nF_NEXT=%s\nD_EXACT=%s\nD_NEXT=%s\n"
            % (k + 1, lit(fv), lit(next_f32(fv)), lit(dv), lit(next_f64(dv))))
print(" ".join(list(T) + [KEYLESS]))
