#!/usr/bin/python3
"""DDL corpus for test_ddl_corpus.sh (issue 11, "Statements").

Sends every statement raw through a connector (pymysql, as an application
or a GUI would: leading comments kept, bytes as given) to the source, under
the session's sql_mode and charset each case sets, with cotter copying
shop.* to mirror.{table}. After each case it waits until cotter's stored
position on the target reaches the source's binlog position, then compares
the SHOW CREATE TABLE of every table of shop and mirror (AUTO_INCREMENT
counters left out) and CHECKSUM TABLE of each: the target must mean what
the source meant.

Environment: SRC_PORT, DST_PORT (root without password on 127.0.0.1),
PIPELINE (cotter's pipeline name), CORPUS_TIMEOUT (seconds per case),
CORPUS_KEEP_GOING=1 to go on after a difference (to list them all),
CORPUS_ONLY=REGEX to send only the cases whose name matches (with the
cases that create their tables: to show one kind of failure on its own).
Exit status 0 when every case matched; 1 otherwise, each difference said.
"""
import os
import re
import sys
import time

import pymysql

SRC_PORT = int(os.environ["SRC_PORT"])
DST_PORT = int(os.environ["DST_PORT"])
PIPELINE = os.environ.get("PIPELINE", "p1")
TIMEOUT = float(os.environ.get("CORPUS_TIMEOUT", "20"))
KEEP_GOING = os.environ.get("CORPUS_KEEP_GOING") == "1"
ONLY = re.compile(os.environ.get("CORPUS_ONLY", ""))

GBK_5C = "乗".encode("gbk")  # 81 5C: the trail byte reads as a backslash
GBK_60 = "乣".encode("gbk")  # 81 60: the trail byte reads as a backquote
BIG5_5C = "么".encode("big5")  # A4 5C
SJIS_5C = "予".encode("shift_jis")  # 97 5C
CP932_5C = "兔".encode("cp932")  # 99 5C


def case(name, sql, session=(), after=(), db="shop"):
    """One corpus case: SET statements for the session, the statement (str
    or bytes, sent as is), DML run after it (default session) so rows move
    through the changed tables too."""
    return dict(name=name, sql=sql, session=list(session), after=list(after), db=db)


NBE = ["SET SESSION sql_mode='NO_BACKSLASH_ESCAPES'"]
ANSIQ = ["SET SESSION sql_mode='ANSI_QUOTES'"]
ANSI = ["SET SESSION sql_mode='ANSI'"]

CORPUS = [
    # --- comments in every place and form ------------------------------------
    case("leading dash comment, CREATE",
         "-- setup\nCREATE TABLE shop.t (id INT PRIMARY KEY, a INT, b VARCHAR(20))",
         after=["INSERT INTO shop.t VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three')"]),
    case("leading hash comment, ALTER ADD AFTER (equal types)",
         "# reorder\nALTER TABLE shop.t ADD COLUMN c INT AFTER id",
         after=["INSERT INTO shop.t VALUES (4, 400, 40, 'four')",
                "UPDATE shop.t SET c = id * 100 WHERE id < 4"]),
    case("leading dash comment, TRUNCATE", "-- purge\nTRUNCATE TABLE shop.t",
         after=["INSERT INTO shop.t VALUES (5, 500, 50, 'five')"]),
    case("leading block comment", "/* widen */ ALTER TABLE shop.t MODIFY b VARCHAR(40)"),
    case("dash dash tab", "--\tdash dash tab\nALTER TABLE shop.t ADD INDEX ib (b)"),
    case("two hash lines", "#no space\n# two lines\nALTER TABLE shop.t COMMENT='hash'"),
    case("mixed comments", "/* a */ /* b */ -- c\n # d\n ALTER TABLE shop.t DROP INDEX ib"),
    case("dash dash at the end of the text", "ALTER TABLE shop.t ADD COLUMN d0 INT --"),
    case("executable comment around the statement",
         "/*!40101 ALTER TABLE shop.t ADD COLUMN d INT */"),
    case("MariaDB executable comment around the statement",
         "/*M!100100 ALTER TABLE shop.t ADD COLUMN e INT */"),
    case("executable comment inside", "ALTER /*!32302 TABLE */ shop.t ADD COLUMN f INT"),
    case("versioned comment the server does not run",
         "/*!99999 not run */ ALTER TABLE shop.t ADD COLUMN g INT"),
    case("MySQL 5.7 comment MariaDB does not run",
         "ALTER TABLE shop.t /*!50700 ENGINE=BLACKHOLE, */ ADD COLUMN h INT"),
    case("MariaDB comment newer than the server",
         "ALTER TABLE shop.t /*M!999999 ENGINE=BLACKHOLE, */ ADD COLUMN i INT"),
    case("trailing dash comment", "ALTER TABLE shop.t ADD COLUMN j INT -- trailing"),
    case("trailing hash comment", "ALTER TABLE shop.t ADD COLUMN k INT # trailing"),
    case("comment naming another table",
         "/* ALTER TABLE shop.u */ ALTER TABLE shop.t ADD COLUMN m INT"),
    case("comment markers inside a string",
         "ALTER TABLE shop.t ADD COLUMN cm INT COMMENT '/* no */ -- no # no'"),
    # --- spacing, case, parentheses, quoting ------------------------------------
    case("odd spacing and case", "\n\t  aLtEr\ttable\n shop . t\n  ADD\tcolumn n int  "),
    case("quoted names", "ALTER TABLE `shop`.`t` DROP COLUMN `n`"),
    case("parentheses", "CREATE TABLE shop.u (id INT PRIMARY KEY, v VARCHAR(50), "
                        "CHECK ((id > 0) AND (v <> '')))",
         after=["INSERT INTO shop.u VALUES (1, 'u1'), (2, 'u2')"]),
    case("SET STATEMENT ... FOR", "SET STATEMENT max_statement_time=60 FOR ALTER TABLE shop.u "
                                  "ADD COLUMN ss INT"),
    case("CREATE LIKE", "CREATE TABLE shop.t2 LIKE shop.t"),
    case("CREATE (LIKE)", "CREATE TABLE shop.t3 (LIKE shop.t)"),
    case("RENAME TABLE", "RENAME TABLE shop.t3 TO shop.t4"),
    case("DROP TABLE", "/* gone */ DROP TABLE shop.t4"),
    case("CREATE INDEX with a comment", "CREATE /* x */ INDEX ia ON shop.t (a)"),
    case("DROP INDEX", "DROP INDEX ia ON shop.t"),
    case("backquote in a name", "CREATE TABLE `shop`.`we``ird` (`id` INT PRIMARY KEY, `c``x` INT)",
         after=["INSERT INTO shop.`we``ird` VALUES (1, 2)"]),
    case("names and markers in strings",
         "ALTER TABLE shop.u COMMENT='ALTER TABLE shop.t DROP COLUMN a; -- ''x'' \"y\" \\\\ # /*'"),
    case("unqualified name, default schema", "ALTER TABLE t ADD COLUMN unq INT"),
    case("ALTER ONLINE", "ALTER ONLINE TABLE shop.t ADD COLUMN onl INT"),
    case("ALGORITHM and LOCK", "ALTER TABLE shop.t ALGORITHM=INPLACE, LOCK=NONE, ADD COLUMN al INT"),
    case("RENAME of two pairs", "RENAME TABLE shop.u TO shop.u_tmp, shop.u_tmp TO shop.u2"),
    case("ALTER RENAME TO", "ALTER TABLE shop.u2 RENAME TO shop.u"),
    # --- sql_mode ---------------------------------------------------------------
    case("NO_BACKSLASH_ESCAPES: a comment hides ENGINE",
         "ALTER TABLE shop.u COMMENT='x\\' -- ', ENGINE=BLACKHOLE", session=NBE),
    case("NO_BACKSLASH_ESCAPES: a backslash ends the string",
         "ALTER TABLE shop.u ADD COLUMN w VARCHAR(10) DEFAULT 'a\\', ADD COLUMN w2 INT",
         session=NBE, after=["INSERT INTO shop.u (id, v, w2) VALUES (3, 'u3', 3)"]),
    case("NO_BACKSLASH_ESCAPES: a name after the string",
         "ALTER TABLE shop.u COMMENT 'p\\', RENAME TO shop.u3", session=NBE),
    case("back again", "RENAME TABLE shop.u3 TO shop.u"),
    case("ANSI_QUOTES: CREATE",
         "CREATE TABLE \"shop\".\"q\" (\"id\" INT PRIMARY KEY, \"v\" VARCHAR(20) DEFAULT 'a\"b')",
         session=ANSIQ, after=["INSERT INTO shop.q (id) VALUES (1)"]),
    case("ANSI_QUOTES: doubled quote in a name",
         "ALTER TABLE \"shop\".\"q\" ADD COLUMN \"x\"\"y\" INT COMMENT 'it''s'", session=ANSIQ),
    case("ANSI_QUOTES: RENAME COLUMN", "ALTER TABLE shop.\"q\" RENAME COLUMN \"v\" TO \"v2\"",
         session=ANSIQ),
    case("ANSI_QUOTES and NO_BACKSLASH_ESCAPES",
         "ALTER TABLE \"shop\".\"q\" COMMENT 'c:\\', ADD COLUMN \"z\" INT",
         session=["SET SESSION sql_mode='ANSI_QUOTES,NO_BACKSLASH_ESCAPES'"]),
    case("ANSI (PIPES_AS_CONCAT) in a default",
         "ALTER TABLE \"shop\".\"q\" ADD COLUMN \"k\" VARCHAR(10) DEFAULT ('a' || 'b')",
         session=ANSI, after=["INSERT INTO shop.q (id) VALUES (2)"]),
    case("REAL_AS_FLOAT", "ALTER TABLE shop.t ADD COLUMN r REAL",
         session=["SET SESSION sql_mode='REAL_AS_FLOAT'"],
         after=["INSERT INTO shop.t (id, a, r) VALUES (6, 60, 1.5)"]),
    case("time zone of a TIMESTAMP default",
         "ALTER TABLE shop.t ADD COLUMN ts TIMESTAMP NULL DEFAULT '2020-01-01 00:00:00'",
         session=["SET SESSION time_zone='+05:30'"],
         after=["INSERT INTO shop.t (id, a) VALUES (7, 70)"]),
    case("no NO_ENGINE_SUBSTITUTION: unknown engine substituted",
         "CREATE TABLE shop.eng (id INT PRIMARY KEY) ENGINE=NoSuchEngine",
         session=["SET SESSION sql_mode=''"], after=["INSERT INTO shop.eng VALUES (1)"]),
    case("ORACLE mode types", "CREATE TABLE shop.o (id NUMBER(10) PRIMARY KEY, v VARCHAR2(20))",
         session=["SET SESSION sql_mode='ORACLE'"], after=["INSERT INTO shop.o VALUES (1, 'o')"]),
    # --- client charsets ----------------------------------------------------------
    case("gbk: trail byte 0x5C before the quote",
         b"CREATE TABLE shop.g (id INT PRIMARY KEY, v VARCHAR(20)) COMMENT='" + GBK_5C + b"'",
         session=["SET NAMES gbk"], after=["INSERT INTO shop.g VALUES (1, 'g')"]),
    case("gbk: trail byte 0x5C, then a clause",
         b"ALTER TABLE shop.g COMMENT='" + GBK_5C + b"', ADD COLUMN w INT",
         session=["SET NAMES gbk"]),
    case("gbk: trail byte 0x60 in a quoted name",
         b"ALTER TABLE shop.g ADD COLUMN `" + GBK_60 + b"` INT", session=["SET NAMES gbk"]),
    case("gbk and NO_BACKSLASH_ESCAPES",
         b"ALTER TABLE shop.g MODIFY v VARCHAR(30) DEFAULT '\\" + GBK_5C + b"'",
         session=["SET NAMES gbk", "SET SESSION sql_mode='NO_BACKSLASH_ESCAPES'"]),
    case("big5: trail byte 0x5C", b"ALTER TABLE shop.g COMMENT='" + BIG5_5C + b"'",
         session=["SET NAMES big5"]),
    case("sjis: trail byte 0x5C", b"ALTER TABLE shop.g COMMENT '" + SJIS_5C + b"', ADD COLUMN s INT",
         session=["SET NAMES sjis"]),
    case("cp932: trail byte 0x5C",
         b"ALTER TABLE shop.g MODIFY v VARCHAR(40) COMMENT '" + CP932_5C + b"'",
         session=["SET NAMES cp932"]),
    case("latin1 bytes", "ALTER TABLE shop.g COMMENT='café'".encode("latin1"),
         session=["SET NAMES latin1"]),
    case("utf8mb4 four-byte character",
         "ALTER TABLE shop.g ADD COLUMN emo VARCHAR(5) DEFAULT '😀' COMMENT '-- # /*'",
         after=["INSERT INTO shop.g (id) VALUES (2)"]),
    # --- partitions ---------------------------------------------------------------
    case("partitioned CREATE",
         "CREATE TABLE shop.p (id INT NOT NULL, d DATE NOT NULL, PRIMARY KEY (id, d)) "
         "PARTITION BY RANGE (YEAR(d)) (PARTITION p0 VALUES LESS THAN (2020), "
         "PARTITION p1 VALUES LESS THAN (2030))",
         after=["INSERT INTO shop.p VALUES (1, '2010-01-01'), (2, '2025-01-01')"]),
    case("ADD PARTITION", "ALTER TABLE shop.p ADD PARTITION (PARTITION p2 VALUES LESS THAN MAXVALUE)"),
    case("REORGANIZE PARTITION in an executable comment",
         "/*!50100 ALTER TABLE shop.p REORGANIZE PARTITION p2 INTO (PARTITION p2 VALUES LESS "
         "THAN (2040), PARTITION p3 VALUES LESS THAN MAXVALUE) */",
         after=["INSERT INTO shop.p VALUES (3, '2035-01-01')"]),
    case("TRUNCATE PARTITION", "-- clear old\nALTER TABLE shop.p TRUNCATE PARTITION p0"),
    case("DROP PARTITION", "ALTER TABLE shop.p DROP PARTITION p3"),
    case("HASH partitions", "CREATE TABLE shop.ph (id INT PRIMARY KEY) PARTITION BY HASH (id) "
                            "PARTITIONS 4",
         after=["INSERT INTO shop.ph VALUES (1), (2), (3), (4), (5)"]),
    case("COALESCE PARTITION", "ALTER TABLE shop.ph COALESCE PARTITION 2"),
    case("EXCHANGE PARTITION: the table",
         "CREATE TABLE shop.px (id INT NOT NULL, d DATE NOT NULL, PRIMARY KEY (id, d))",
         after=["INSERT INTO shop.px VALUES (7, '2021-01-01')"]),
    case("EXCHANGE PARTITION", "ALTER TABLE shop.p EXCHANGE PARTITION p1 WITH TABLE shop.px"),
    # --- generated columns --------------------------------------------------------
    case("generated columns",
         "CREATE TABLE shop.gc (id INT PRIMARY KEY, a INT, b INT AS (a * 2) VIRTUAL, "
         "c VARCHAR(20) AS (CONCAT('x', a)) PERSISTENT, INDEX (c))",
         after=["INSERT INTO shop.gc (id, a) VALUES (1, 1), (2, 2)"]),
    case("STORED column", "ALTER TABLE shop.gc ADD COLUMN d INT GENERATED ALWAYS AS (a + 1) STORED"),
    case("PIPES_AS_CONCAT in a generated column",
         "ALTER TABLE shop.gc ADD COLUMN e VARCHAR(40) AS ('k' || a) VIRTUAL",
         session=["SET SESSION sql_mode='PIPES_AS_CONCAT'"]),
    case("MODIFY a generated column", "ALTER TABLE shop.gc MODIFY b BIGINT AS (a * 3) VIRTUAL",
         after=["INSERT INTO shop.gc (id, a) VALUES (3, 3)"]),
    case("TRUNCATE after a hash line", "#x\nTRUNCATE shop.gc",
         after=["INSERT INTO shop.gc (id, a) VALUES (4, 4)"]),
    # --- references, lists --------------------------------------------------------
    case("FOREIGN KEY",
         "CREATE TABLE shop.child (id INT PRIMARY KEY, tid INT, "
         "CONSTRAINT fk FOREIGN KEY (tid) REFERENCES shop.t (id))"),
    case("DROP FOREIGN KEY", "ALTER TABLE shop.child DROP FOREIGN KEY fk"),
    case("DROP of a list", "DROP TABLE IF EXISTS shop.child, shop.nosuch"),
    case("CREATE in an executable comment", "/*!40101 CREATE TABLE shop.ec (id INT PRIMARY KEY) */",
         after=["INSERT INTO shop.ec VALUES (1)"]),
    case("another schema: not copied", "-- not ours\nCREATE TABLE other.x (id INT PRIMARY KEY)"),
    case("DROP of a name with a backquote", "DROP TABLE `shop`.`we``ird`"),
]


def connect(port, db=None):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", database=db,
                           charset="utf8mb4", autocommit=True)


def rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def send(conn, sql):
    """Sends sql (str or bytes) as one COM_QUERY, bytes as given."""
    conn.query(sql)


def source_pos(src):
    r = rows(src, "SHOW MASTER STATUS")[0]
    return (r[0], int(r[1]))


def target_pos(dst):
    try:
        r = rows(dst, "SELECT binlog_file, binlog_pos FROM cotter.positions "
                      "WHERE pipeline = '%s'" % PIPELINE)
    except pymysql.MySQLError:
        return None
    return (r[0][0], int(r[0][1])) if r else None


AUTO_INC = re.compile(r" AUTO_INCREMENT=\d+")


def schema_state(conn, schema):
    """{table: (SHOW CREATE TABLE without the counter, CHECKSUM)} of schema."""
    out = {}
    for (name,) in rows(conn, "SELECT TABLE_NAME FROM information_schema.TABLES "
                              "WHERE TABLE_SCHEMA = '%s' AND TABLE_TYPE = 'BASE TABLE'" % schema):
        q = "`%s`.`%s`" % (schema, name.replace("`", "``"))
        create = AUTO_INC.sub("", rows(conn, "SHOW CREATE TABLE " + q)[0][1])
        checksum = rows(conn, "CHECKSUM TABLE " + q + " EXTENDED")[0][1]
        out[name] = (create, checksum)
    return out


def diff(a, b):
    lines = []
    for name in sorted(set(a) | set(b)):
        if name not in b:
            lines.append("  table %s: on the source only" % name)
        elif name not in a:
            lines.append("  table %s: on the target only" % name)
        elif a[name] != b[name]:
            if a[name][0] != b[name][0]:
                lines.append("  table %s, source:\n%s\n  target:\n%s" % (name, a[name][0],
                                                                         b[name][0]))
            if a[name][1] != b[name][1]:
                lines.append("  table %s: CHECKSUM %s on the source, %s on the target"
                             % (name, a[name][1], b[name][1]))
    return "\n".join(lines)


def main():
    src = connect(SRC_PORT, "shop")
    dst = connect(DST_PORT)
    failed = 0
    started = time.time()
    corpus = [c for c in CORPUS if ONLY.search(c["name"])]
    for i, c in enumerate(corpus, 1):
        label = "case %d/%d (%s)" % (i, len(corpus), c["name"])
        send(src, "SET SESSION sql_mode=DEFAULT, SESSION time_zone=DEFAULT")
        send(src, "SET NAMES utf8mb4")
        for s in c["session"]:
            send(src, s)
        try:
            send(src, c["sql"])
        except pymysql.MySQLError as e:
            print("%s: the source refused the statement: %s" % (label, e), file=sys.stderr)
            return 2
        send(src, "SET SESSION sql_mode=DEFAULT, SESSION time_zone=DEFAULT")
        send(src, "SET NAMES utf8mb4")
        for s in c["after"]:
            send(src, s)
        want = source_pos(src)
        deadline = time.time() + TIMEOUT
        while True:
            got = target_pos(dst)
            if got is not None and got >= want:
                break
            if time.time() > deadline:
                print("%s: cotter did not reach the source's position %s:%d within %.0fs "
                      "(stored: %s)" % (label, want[0], want[1], TIMEOUT, got), file=sys.stderr)
                return 1
            time.sleep(0.05)
        a = schema_state(src, "shop")
        b = schema_state(dst, "mirror")
        d = diff(a, b)
        if d:
            failed += 1
            print("%s: source and target differ:\n%s" % (label, d), file=sys.stderr)
            if not KEEP_GOING:
                return 1
        else:
            print("%s: same (%d tables)" % (label, len(a)), file=sys.stderr)
    if failed:
        print("%d of %d cases differ" % (failed, len(corpus)), file=sys.stderr)
        return 1
    print("all %d cases: source and target agree (%.1fs)" % (len(corpus), time.time() - started),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
