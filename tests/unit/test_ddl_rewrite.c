/*
 * Unit tests for the DDL rewriter: every statement form it follows, with the
 * exact target text; quoting, comments and executable comments, names in
 * strings, qualified and unqualified names; what is not ours; what it
 * refuses (CREATE ... SELECT, partly mapped statements, several statements,
 * unreadable text); online schema change shadows (gh-ost, pt-osc); large
 * inputs. Every rewritten statement is read again by ddl_parse and must give
 * the same statement kind and tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sql/ddl_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test mapping: shop.* -> wh.{table} except shop.skip_me and gh-ost's
 * changelogs (what the pipeline's router should do); copy.* ->
 * copy.{table}_copy, changelogs included; same.* -> itself; anything else
 * is not copied. Shadow tables are routed like their base with the affixes
 * re-added (what the pipeline's router does). */
static int n_route_calls;

static bool route(void *ctx, const char *schema, const char *table, char *out_schema,
                  size_t schema_cap, char *out_table, size_t table_cap)
{
    (void)ctx;
    n_route_calls++;
    char base[DDL_NAME_CAP];
    bool shadow = ddl_shadow_base(table, base, sizeof(base));
    if (strcmp(schema, "shop") == 0) {
        if (strcmp(table, "skip_me") == 0 || ddl_shadow_is_changelog(table)) return false;
        snprintf(out_schema, schema_cap, "wh");
        snprintf(out_table, table_cap, "%s", table);
        return true;
    }
    if (strcmp(schema, "copy") == 0) {
        snprintf(out_schema, schema_cap, "copy");
        if (shadow)
            snprintf(out_table, table_cap, "_%s_copy%s", base, table + 1 + strlen(base));
        else
            snprintf(out_table, table_cap, "%s_copy", table);
        return true;
    }
    if (strcmp(schema, "same") == 0) {
        snprintf(out_schema, schema_cap, "%s", schema);
        snprintf(out_table, table_cap, "%s", table);
        return true;
    }
    return false;
}

static buf out;
static ddl_info info;
/* the session dialect of the statements rw reads (NULL: the default one) */
static const ddl_dialect *cur_dl;

static cot_err rw(const char *sql, const char *def)
{
    return ddl_rewrite_dl(sql, strlen(sql), def, cur_dl, route, NULL, &out, &info);
}

/* expect_as rewrites sql and checks the target text and statement kind;
 * the target text read again names the same tables. */
static void expect_as(const char *sql, const char *def, const char *want, ddl_stmt stmt)
{
    cot_err rc = rw(sql, def);
    if (rc) fail_msg("rewrite of [%s] failed: %s", sql, cot_err_msg());
    assert_int_equal(info.kind, DDL_REWRITTEN);
    if (want && strcmp(out.data, want) != 0)
        fail_msg("rewrite of [%s]\n got: [%s]\nwant: [%s]", sql, out.data, want);
    assert_int_equal(info.stmt, stmt);

    ddl_info again;
    rc = ddl_parse_dl(out.data, out.len, "", cur_dl, &again);
    if (rc) fail_msg("reading the rewritten [%s] failed: %s", out.data, cot_err_msg());
    assert_int_equal(again.kind, DDL_REWRITTEN);
    assert_int_equal(again.stmt, info.stmt);
    assert_int_equal(again.n_tables, info.n_tables);
    for (uint32_t i = 0; i < info.n_tables && i < DDL_INFO_TABLES; i++) {
        assert_string_equal(again.tables[i].src_schema, info.tables[i].dst_schema);
        assert_string_equal(again.tables[i].src_name, info.tables[i].dst_name);
        assert_int_equal(again.tables[i].role, info.tables[i].role);
    }
}

static void expect_not_ours(const char *sql, const char *def, const char *note_part)
{
    cot_err rc = rw(sql, def);
    if (rc) fail_msg("[%s] should be not ours, failed: %s", sql, cot_err_msg());
    if (info.kind != DDL_NOT_OURS) fail_msg("[%s] should be not ours, got [%s]", sql, out.data);
    assert_int_equal(out.len, 0);
    assert_int_equal(info.n_tables, 0);
    if (!strstr(info.note, note_part))
        fail_msg("note for [%s] is [%s], expected it to contain [%s]", sql, info.note, note_part);
}

static void expect_refused(const char *sql, const char *def, const char *msg_part)
{
    cot_err rc = rw(sql, def);
    if (rc == COT_OK)
        fail_msg("[%s] should be refused, got kind %d [%s]", sql, info.kind,
                 out.len ? out.data : "");
    assert_int_equal(rc, COT_ERR_UNSUPPORTED);
    assert_int_equal(out.len, 0);
    if (!strstr(cot_err_msg(), msg_part))
        fail_msg("message for [%s] is [%s], expected it to contain [%s]", sql, cot_err_msg(),
                 msg_part);
}

static void check_table(uint32_t i, ddl_role role, const char *ss, const char *sn, const char *ds,
                        const char *dn)
{
    assert_true(i < info.n_tables);
    assert_int_equal(info.tables[i].role, role);
    assert_string_equal(info.tables[i].src_schema, ss);
    assert_string_equal(info.tables[i].src_name, sn);
    assert_string_equal(info.tables[i].dst_schema, ds);
    assert_string_equal(info.tables[i].dst_name, dn);
}

/* ---- statement forms ---------------------------------------------------- */

static void test_create_table(void **state)
{
    expect_as("CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(10) DEFAULT 'shop.t')", "shop",
              "CREATE TABLE `wh`.`t` (id INT PRIMARY KEY, note VARCHAR(10) DEFAULT 'shop.t')",
              DDL_STMT_CREATE_TABLE);
    assert_int_equal(info.n_tables, 1);
    check_table(0, DDL_ROLE_SUBJECT, "shop", "t", "wh", "t");
    assert_false(info.if_not_exists);

    expect_as("create table if not exists `shop`.`t`(a int)", "other",
              "create table if not exists `wh`.`t`(a int)", DDL_STMT_CREATE_TABLE);
    assert_true(info.if_not_exists);

    expect_as("CREATE OR REPLACE TABLE shop.t (a INT) ENGINE=InnoDB", "",
              "CREATE OR REPLACE TABLE `wh`.`t` (a INT) ENGINE=InnoDB", DDL_STMT_CREATE_TABLE);
    assert_true(info.or_replace);

    /* no column list (CREATE TABLE t is accepted by some engines) */
    expect_as("CREATE TABLE shop.t", "", "CREATE TABLE `wh`.`t`", DDL_STMT_CREATE_TABLE);
    /* the rename template */
    expect_as("CREATE TABLE copy.items (a INT)", "", "CREATE TABLE `copy`.`items_copy` (a INT)",
              DDL_STMT_CREATE_TABLE);
}

static void test_create_table_like(void **state)
{
    expect_as("CREATE TABLE t2 LIKE t", "shop", "CREATE TABLE `wh`.`t2` LIKE `wh`.`t`",
              DDL_STMT_CREATE_TABLE_LIKE);
    assert_int_equal(info.n_tables, 2);
    check_table(0, DDL_ROLE_SUBJECT, "shop", "t2", "wh", "t2");
    check_table(1, DDL_ROLE_LIKE, "shop", "t", "wh", "t");
    expect_as("CREATE TABLE IF NOT EXISTS shop.t2 ( LIKE shop.t )", "",
              "CREATE TABLE IF NOT EXISTS `wh`.`t2` ( LIKE `wh`.`t` )", DDL_STMT_CREATE_TABLE_LIKE);
    assert_true(info.if_not_exists);
}

static void test_create_table_select_refused(void **state)
{
    expect_refused("CREATE TABLE t AS SELECT * FROM u", "shop", "CREATE TABLE ... SELECT");
    expect_refused("CREATE TABLE t SELECT 1 AS a", "shop", "create the table on the target");
    expect_refused("CREATE TABLE t (a INT) IGNORE SELECT a FROM u", "shop", "ddl: ignore");
    expect_refused("CREATE TABLE t (SELECT 1)", "shop", "CREATE TABLE ... SELECT");
    /* the message shows the statement */
    expect_refused("CREATE TABLE t AS SELECT 42", "shop", "[CREATE TABLE t AS SELECT 42]");
    /* but a table of no interest is just not ours */
    expect_not_ours("CREATE TABLE other.t AS SELECT 1", "shop", "no table of this pipeline");
    /* SELECT in a string or a quoted name is no query */
    expect_as("CREATE TABLE t (`select` INT) COMMENT 'select * from x'", "shop",
              "CREATE TABLE `wh`.`t` (`select` INT) COMMENT 'select * from x'",
              DDL_STMT_CREATE_TABLE);
}

static void test_foreign_keys(void **state)
{
    /* an unqualified referenced table is in the new table's schema, not the default one */
    expect_as("CREATE TABLE shop.c (id INT, p INT, FOREIGN KEY (p) REFERENCES parent (id) ON "
              "DELETE CASCADE)",
              "other",
              "CREATE TABLE `wh`.`c` (id INT, p INT, FOREIGN KEY (p) REFERENCES `wh`.`parent` "
              "(id) ON DELETE CASCADE)",
              DDL_STMT_CREATE_TABLE);
    check_table(1, DDL_ROLE_REFERENCE, "shop", "parent", "wh", "parent");
    expect_as("ALTER TABLE c ADD CONSTRAINT fk1 FOREIGN KEY (p) REFERENCES `shop`.p(id)", "shop",
              "ALTER TABLE `wh`.`c` ADD CONSTRAINT fk1 FOREIGN KEY (p) REFERENCES `wh`.`p`(id)",
              DDL_STMT_ALTER_TABLE);
    /* a reference to a table the pipeline does not copy */
    expect_refused("ALTER TABLE shop.c ADD FOREIGN KEY (p) REFERENCES other.p (id)", "",
                   "tables this pipeline copies (shop.c) and tables it does not (other.p)");
}

static void test_alter_table(void **state)
{
    expect_as("ALTER TABLE t ADD COLUMN c INT, DROP COLUMN d, MODIFY e BIGINT NOT NULL", "shop",
              "ALTER TABLE `wh`.`t` ADD COLUMN c INT, DROP COLUMN d, MODIFY e BIGINT NOT NULL",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_clauses, 3);
    assert_int_equal(info.alter_ops, DDL_ALTER_ADD | DDL_ALTER_DROP | DDL_ALTER_MODIFY);
    assert_int_equal(info.n_tables, 1);

    expect_as("ALTER ONLINE IGNORE TABLE shop.t ADD UNIQUE KEY u (a, b)", "",
              "ALTER ONLINE IGNORE TABLE `wh`.`t` ADD UNIQUE KEY u (a, b)", DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_clauses, 1);
    assert_int_equal(info.alter_ops, DDL_ALTER_ADD);

    expect_as("ALTER TABLE IF EXISTS t CHANGE a b INT, ALGORITHM=INPLACE, LOCK=NONE", "shop",
              "ALTER TABLE IF EXISTS `wh`.`t` CHANGE a b INT, ALGORITHM=INPLACE, LOCK=NONE",
              DDL_STMT_ALTER_TABLE);
    assert_true(info.if_exists);
    assert_int_equal(info.n_clauses, 3);
    assert_int_equal(info.alter_ops, DDL_ALTER_RENAME | DDL_ALTER_MODIFY | DDL_ALTER_OTHER);

    /* commas inside parentheses do not start clauses */
    expect_as("ALTER TABLE t ADD COLUMN (x INT, y INT), ADD INDEX i (x, y)", "shop",
              "ALTER TABLE `wh`.`t` ADD COLUMN (x INT, y INT), ADD INDEX i (x, y)",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_clauses, 2);

    expect_as("ALTER TABLE t RENAME COLUMN a TO b, RENAME INDEX i TO j, RENAME KEY k TO l", "shop",
              "ALTER TABLE `wh`.`t` RENAME COLUMN a TO b, RENAME INDEX i TO j, RENAME KEY k TO l",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.alter_ops, DDL_ALTER_RENAME);
    assert_int_equal(info.n_tables, 1);

    expect_as("ALTER TABLE t ENGINE=InnoDB", "shop", "ALTER TABLE `wh`.`t` ENGINE=InnoDB",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.alter_ops, DDL_ALTER_OTHER);
    expect_as("ALTER TABLE t ALTER COLUMN a SET DEFAULT 3", "shop",
              "ALTER TABLE `wh`.`t` ALTER COLUMN a SET DEFAULT 3", DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.alter_ops, DDL_ALTER_MODIFY);
}

static void test_alter_rename_table(void **state)
{
    expect_as("ALTER TABLE t RENAME TO u", "shop", "ALTER TABLE `wh`.`t` RENAME TO `wh`.`u`",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.alter_ops, DDL_ALTER_RENAME_TABLE);
    check_table(1, DDL_ROLE_RENAME_TO, "shop", "u", "wh", "u");
    expect_as("ALTER TABLE shop.t ADD x INT, RENAME AS shop.u", "",
              "ALTER TABLE `wh`.`t` ADD x INT, RENAME AS `wh`.`u`", DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.alter_ops, DDL_ALTER_ADD | DDL_ALTER_RENAME_TABLE);
    expect_as("ALTER TABLE shop.t RENAME `u`", "shop", "ALTER TABLE `wh`.`t` RENAME `wh`.`u`",
              DDL_STMT_ALTER_TABLE);
    /* unqualified: the default schema, as the server does */
    expect_refused("ALTER TABLE shop.t RENAME TO u", "other",
                   "tables this pipeline copies (shop.t) and tables it does not (other.u)");
    expect_refused("ALTER TABLE shop.t RENAME TO other.t", "", "make the matching change");
}

static void test_drop_table(void **state)
{
    expect_as("DROP TABLE IF EXISTS a, `b` RESTRICT", "shop",
              "DROP TABLE IF EXISTS `wh`.`a`, `wh`.`b` RESTRICT", DDL_STMT_DROP_TABLE);
    assert_true(info.if_exists);
    assert_int_equal(info.n_tables, 2);
    check_table(1, DDL_ROLE_SUBJECT, "shop", "b", "wh", "b");
    /* as the server logs it */
    expect_as("DROP TABLE `t` /* generated by server */", "shop",
              "DROP TABLE `wh`.`t` /* generated by server */", DDL_STMT_DROP_TABLE);
    assert_false(info.if_exists);
    expect_as("DROP TABLE shop.a,shop.b CASCADE", "", "DROP TABLE `wh`.`a`,`wh`.`b` CASCADE",
              DDL_STMT_DROP_TABLE);
    expect_as("DROP TABLES shop.a WAIT 5", "", "DROP TABLES `wh`.`a` WAIT 5", DDL_STMT_DROP_TABLE);
    expect_refused("DROP TABLE shop.a, other.b", "", "(shop.a) and tables it does not (other.b)");
    expect_refused("DROP TABLE a, skip_me", "shop", "skip_me");
}

static void test_rename_table(void **state)
{
    expect_as("RENAME TABLE a TO b, shop.c TO `d`", "shop",
              "RENAME TABLE `wh`.`a` TO `wh`.`b`, `wh`.`c` TO `wh`.`d`", DDL_STMT_RENAME_TABLE);
    assert_int_equal(info.n_tables, 4);
    check_table(0, DDL_ROLE_RENAME_FROM, "shop", "a", "wh", "a");
    check_table(1, DDL_ROLE_RENAME_TO, "shop", "b", "wh", "b");
    check_table(2, DDL_ROLE_RENAME_FROM, "shop", "c", "wh", "c");
    check_table(3, DDL_ROLE_RENAME_TO, "shop", "d", "wh", "d");
    expect_as("rename table if exists copy.a to copy.b nowait", "",
              "rename table if exists `copy`.`a_copy` to `copy`.`b_copy` nowait",
              DDL_STMT_RENAME_TABLE);
    assert_true(info.if_exists);
    /* a table moving out of the mapping, or into it */
    expect_refused("RENAME TABLE shop.a TO other.a", "",
                   "(shop.a) and tables it does not (other.a)");
    expect_refused("RENAME TABLE other.a TO shop.a", "",
                   "(shop.a) and tables it does not (other.a)");
    expect_not_ours("RENAME TABLE other.a TO other.b", "shop", "other.a");
    expect_refused("RENAME TABLE a b", "shop", "expected TO");
}

static void test_truncate(void **state)
{
    expect_as("TRUNCATE t", "shop", "TRUNCATE `wh`.`t`", DDL_STMT_TRUNCATE);
    expect_as("truncate table `shop`.`t`", "", "truncate table `wh`.`t`", DDL_STMT_TRUNCATE);
    assert_int_equal(info.n_tables, 1);
}

static void test_indexes(void **state)
{
    expect_as("CREATE INDEX i ON t (a)", "shop", "CREATE INDEX i ON `wh`.`t` (a)",
              DDL_STMT_CREATE_INDEX);
    check_table(0, DDL_ROLE_SUBJECT, "shop", "t", "wh", "t");
    expect_as("CREATE UNIQUE INDEX `on` USING BTREE ON shop.t (a, b(10)) COMMENT 'on x'", "",
              "CREATE UNIQUE INDEX `on` USING BTREE ON `wh`.`t` (a, b(10)) COMMENT 'on x'",
              DDL_STMT_CREATE_INDEX);
    expect_as("CREATE FULLTEXT INDEX ft ON t (body) WITH PARSER ngram", "shop",
              "CREATE FULLTEXT INDEX ft ON `wh`.`t` (body) WITH PARSER ngram",
              DDL_STMT_CREATE_INDEX);
    expect_as("CREATE SPATIAL INDEX IF NOT EXISTS g ON t (geo)", "shop",
              "CREATE SPATIAL INDEX IF NOT EXISTS g ON `wh`.`t` (geo)", DDL_STMT_CREATE_INDEX);
    assert_true(info.if_not_exists);
    expect_as("CREATE OR REPLACE INDEX i ON t (a)", "shop",
              "CREATE OR REPLACE INDEX i ON `wh`.`t` (a)", DDL_STMT_CREATE_INDEX);
    expect_as("DROP INDEX i ON t", "shop", "DROP INDEX i ON `wh`.`t`", DDL_STMT_DROP_INDEX);
    expect_as("DROP INDEX IF EXISTS `PRIMARY` ON shop.t ALGORITHM=INPLACE", "",
              "DROP INDEX IF EXISTS `PRIMARY` ON `wh`.`t` ALGORITHM=INPLACE", DDL_STMT_DROP_INDEX);
    assert_true(info.if_exists);
    expect_refused("CREATE INDEX i (a)", "shop", "expected ON table");
    expect_not_ours("DROP INDEX i ON other.t", "shop", "other.t");
}

static void test_exchange_and_merge_union(void **state)
{
    expect_as("ALTER TABLE t EXCHANGE PARTITION p0 WITH TABLE t2 WITHOUT VALIDATION", "shop",
              "ALTER TABLE `wh`.`t` EXCHANGE PARTITION p0 WITH TABLE `wh`.`t2` WITHOUT "
              "VALIDATION",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_tables, 2);
    check_table(1, DDL_ROLE_REFERENCE, "shop", "t2", "wh", "t2");
    expect_as("CREATE TABLE m (a INT) ENGINE=MERGE UNION=(m1, shop.m2) INSERT_METHOD=LAST", "shop",
              "CREATE TABLE `wh`.`m` (a INT) ENGINE=MERGE UNION=(`wh`.`m1`, `wh`.`m2`) "
              "INSERT_METHOD=LAST",
              DDL_STMT_CREATE_TABLE);
    assert_int_equal(info.n_tables, 3);
}

/* ---- names, quoting, comments --------------------------------------------- */

static void test_quoting(void **state)
{
    expect_as("ALTER TABLE `we``ird` ADD c INT", "shop", "ALTER TABLE `wh`.`we``ird` ADD c INT",
              DDL_STMT_ALTER_TABLE);
    check_table(0, DDL_ROLE_SUBJECT, "shop", "we`ird", "wh", "we`ird");
    expect_as("DROP TABLE `shop`.`a.b`, `shop` . `c d`", "", "DROP TABLE `wh`.`a.b`, `wh`.`c d`",
              DDL_STMT_DROP_TABLE);
    check_table(0, DDL_ROLE_SUBJECT, "shop", "a.b", "wh", "a.b");
    check_table(1, DDL_ROLE_SUBJECT, "shop", "c d", "wh", "c d");
    /* non-ASCII names pass through untouched */
    expect_as("TRUNCATE TABLE shop.`b\xc3\xbcro`", "", "TRUNCATE TABLE `wh`.`b\xc3\xbcro`",
              DDL_STMT_TRUNCATE);
    expect_as("TRUNCATE TABLE shop.b\xc3\xbcro2", "", "TRUNCATE TABLE `wh`.`b\xc3\xbcro2`",
              DDL_STMT_TRUNCATE);
    expect_refused("CREATE TABLE \"t\" (a INT)", "shop", "ANSI_QUOTES");
    expect_refused("CREATE TABLE `` (a INT)", "shop", "empty name");
}

static void test_comments(void **state)
{
    expect_as("/* lead */ ALTER /* x */ TABLE -- line\n t # hash\n ADD c INT -- end", "shop",
              "/* lead */ ALTER /* x */ TABLE -- line\n `wh`.`t` # hash\n ADD c INT -- end",
              DDL_STMT_ALTER_TABLE);
    /* "--" without a space is two minus signs, not a comment */
    expect_as("ALTER TABLE t ADD c INT DEFAULT 1--1", "shop",
              "ALTER TABLE `wh`.`t` ADD c INT DEFAULT 1--1", DDL_STMT_ALTER_TABLE);
    /* a name in a comment is no name */
    expect_as("DROP TABLE /* other.x, */ t # , other.y", "shop",
              "DROP TABLE /* other.x, */ `wh`.`t` # , other.y", DDL_STMT_DROP_TABLE);
    assert_int_equal(info.n_tables, 1);
    /* optimizer-hint style comments are comments */
    expect_as("ALTER /*+ x */ TABLE t FORCE", "shop", "ALTER /*+ x */ TABLE `wh`.`t` FORCE",
              DDL_STMT_ALTER_TABLE);
}

static void test_executable_comments(void **state)
{
    expect_as("CREATE TABLE /*!32312 IF NOT EXISTS*/ t (a INT) /*!50100 PARTITION BY HASH (a) */",
              "shop",
              "CREATE TABLE /*!32312 IF NOT EXISTS*/ `wh`.`t` (a INT) /*!50100 PARTITION BY HASH "
              "(a) */",
              DDL_STMT_CREATE_TABLE);
    assert_true(info.if_not_exists);
    expect_as("DROP TABLE /*M!100000 IF EXISTS */ `t`", "shop",
              "DROP TABLE /*M!100000 IF EXISTS */ `wh`.`t`", DDL_STMT_DROP_TABLE);
    assert_true(info.if_exists);
    /* names inside an executable comment are names */
    expect_as("ALTER TABLE t /*!50100 RENAME TO u */", "shop",
              "ALTER TABLE `wh`.`t` /*!50100 RENAME TO `wh`.`u` */", DDL_STMT_ALTER_TABLE);
    expect_as("ALTER TABLE t ADD c INT/*!*/", "shop", "ALTER TABLE `wh`.`t` ADD c INT/*!*/",
              DDL_STMT_ALTER_TABLE);
    expect_as("/*!40000 ALTER TABLE t DISABLE KEYS */", "shop",
              "/*!40000 ALTER TABLE `wh`.`t` DISABLE KEYS */", DDL_STMT_ALTER_TABLE);
}

static void test_strings(void **state)
{
    expect_as("ALTER TABLE t ADD c VARCHAR(20) DEFAULT 'REFERENCES x(y)', COMMENT 'it''s shop.t, "
              "\\' RENAME TO other.q'",
              "shop",
              "ALTER TABLE `wh`.`t` ADD c VARCHAR(20) DEFAULT 'REFERENCES x(y)', COMMENT 'it''s "
              "shop.t, \\' RENAME TO other.q'",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_tables, 1);
    expect_as("ALTER TABLE t ADD d ENUM(\"a,b\", 'c;d') DEFAULT \"a,b\"", "shop",
              "ALTER TABLE `wh`.`t` ADD d ENUM(\"a,b\", 'c;d') DEFAULT \"a,b\"",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_clauses, 1);
    expect_as("CREATE TABLE t (c TEXT DEFAULT '/* not a comment')", "shop",
              "CREATE TABLE `wh`.`t` (c TEXT DEFAULT '/* not a comment')", DDL_STMT_CREATE_TABLE);
}

static void test_qualified_and_unqualified(void **state)
{
    expect_as("ALTER TABLE shop.t ADD c INT", "other", "ALTER TABLE `wh`.`t` ADD c INT",
              DDL_STMT_ALTER_TABLE);
    check_table(0, DDL_ROLE_SUBJECT, "shop", "t", "wh", "t");
    expect_not_ours("ALTER TABLE t ADD c INT", "other", "no table of this pipeline (other.t)");
    expect_as("DROP TABLE shop . t", "", "DROP TABLE `wh`.`t`", DDL_STMT_DROP_TABLE);
    expect_refused("DROP TABLE t", "", "no default schema");
    expect_refused("DROP TABLE t", NULL, "no default schema");
    expect_refused("DROP TABLE shop.", "", "expected a table name");
    /* the same name in another schema is another table */
    expect_as("RENAME TABLE same.a TO same.b", "shop", "RENAME TABLE `same`.`a` TO `same`.`b`",
              DDL_STMT_RENAME_TABLE);
}

static void test_byte_exact(void **state)
{
    const char *sql = "ALTER\tTABLE\r\n  shop.t\n\n\tADD   COLUMN  `x y`  DECIMAL( 10 , 2 )  "
                      "NOT NULL   DEFAULT  '0.00'  ;  ";
    expect_as(sql, "",
              "ALTER\tTABLE\r\n  `wh`.`t`\n\n\tADD   COLUMN  `x y`  DECIMAL( 10 , 2 )  "
              "NOT NULL   DEFAULT  '0.00'  ;  ",
              DDL_STMT_ALTER_TABLE);
    /* the length bound is respected: bytes after len are not read */
    const char *two = "DROP TABLE shop.a, shop.b";
    assert_int_equal(ddl_rewrite(two, strlen("DROP TABLE shop.a"), "", route, NULL, &out, &info),
                     COT_OK);
    assert_string_equal(out.data, "DROP TABLE `wh`.`a`");
    assert_int_equal(info.n_tables, 1);
    /* NUL bytes inside a string are kept */
    const char nul[] = "ALTER TABLE t ADD c CHAR(1) DEFAULT 'a\0b'";
    assert_int_equal(ddl_rewrite(nul, sizeof(nul) - 1, "shop", route, NULL, &out, &info), COT_OK);
    const char want[] = "ALTER TABLE `wh`.`t` ADD c CHAR(1) DEFAULT 'a\0b'";
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(out.data, want, sizeof(want) - 1);
}

/* ---- not ours -------------------------------------------------------------- */

static void test_not_ours(void **state)
{
    expect_not_ours("CREATE DATABASE shop", "shop", "CREATE DATABASE is not about tables");
    expect_not_ours("create schema if not exists wh", "", "CREATE schema is not about tables");
    expect_not_ours("DROP DATABASE shop", "shop", "DROP DATABASE");
    expect_not_ours("ALTER DATABASE shop CHARACTER SET utf8mb4", "shop", "ALTER DATABASE");
    expect_not_ours("GRANT SELECT ON shop.t TO 'u'@'%'", "shop", "GRANT is not a table statement");
    expect_not_ours("CREATE USER 'u'@'%' IDENTIFIED BY 'pw'", "shop", "CREATE USER");
    expect_not_ours("RENAME USER a TO b", "shop", "RENAME USER");
    expect_not_ours("FLUSH PRIVILEGES", "shop", "FLUSH");
    expect_not_ours("CREATE VIEW v AS SELECT * FROM t", "shop", "CREATE VIEW");
    expect_not_ours("CREATE OR REPLACE ALGORITHM=MERGE DEFINER=`root`@`%` SQL SECURITY DEFINER "
                    "VIEW v AS SELECT * FROM t",
                    "shop", "CREATE ALGORITHM");
    expect_not_ours("DROP VIEW IF EXISTS v", "shop", "DROP VIEW");
    expect_not_ours("CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW "
                    "SET NEW.a = 1",
                    "shop", "CREATE DEFINER");
    expect_not_ours("CREATE TRIGGER tr AFTER DELETE ON t FOR EACH ROW BEGIN DELETE FROM u; DELETE "
                    "FROM v; END",
                    "shop", "CREATE TRIGGER");
    expect_not_ours("DROP TRIGGER IF EXISTS tr", "shop", "DROP TRIGGER");
    expect_not_ours("CREATE PROCEDURE p() BEGIN SELECT 1; END", "shop", "CREATE PROCEDURE");
    expect_not_ours("CREATE FUNCTION f() RETURNS INT RETURN 1", "shop", "CREATE FUNCTION");
    expect_not_ours("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO TRUNCATE t", "shop", "CREATE EVENT");
    expect_not_ours("ALTER EVENT e DISABLE", "shop", "ALTER EVENT");
    expect_not_ours("CREATE TEMPORARY TABLE t (a INT)", "shop", "temporary tables");
    expect_not_ours("DROP TEMPORARY TABLE IF EXISTS t", "shop", "temporary tables");
    expect_not_ours("CREATE OR REPLACE TEMPORARY TABLE t (a INT)", "shop", "temporary tables");
    expect_not_ours("CREATE SEQUENCE s", "shop", "CREATE SEQUENCE");
    expect_not_ours("ANALYZE TABLE t", "shop", "ANALYZE");
    expect_not_ours("", "shop", "not a table statement");
    expect_not_ours("   /* only a comment */ ", "shop", "not a table statement");
    expect_not_ours("(SELECT 1)", "shop", "not a table statement");
    expect_not_ours("CREATE TABLE other.t (a INT)", "shop", "no table of this pipeline (other.t)");
    expect_not_ours("CREATE TABLE skip_me (a INT)", "shop", "shop.skip_me");
    /* routing is not asked about tables of statements that are not table statements */
    n_route_calls = 0;
    expect_not_ours("CREATE VIEW shop.v AS SELECT * FROM shop.t", "", "CREATE VIEW");
    assert_int_equal(n_route_calls, 0);
}

/* ---- refusals ---------------------------------------------------------------- */

static void test_refusals(void **state)
{
    expect_refused("DROP TABLE t; DROP DATABASE wh", "shop", "several statements");
    expect_as("DROP TABLE t;", "shop", "DROP TABLE `wh`.`t`;", DDL_STMT_DROP_TABLE);
    expect_as("DROP TABLE t ; -- done", "shop", "DROP TABLE `wh`.`t` ; -- done",
              DDL_STMT_DROP_TABLE);
    /* unreadable text in a table statement */
    expect_refused("ALTER TABLE t COMMENT 'open", "shop", "a string is not closed");
    expect_refused("ALTER TABLE `t ADD c INT", "shop", "a `quoted` name is not closed");
    expect_refused("ALTER TABLE t /* ADD c INT", "shop", "a comment is not closed");
    expect_refused("ALTER TABLE", "shop", "expected a table name");
    expect_refused("CREATE TABLE IF EXISTS t (a INT)", "shop", "expected IF NOT EXISTS");
    expect_refused("CREATE OR t", "shop", "expected OR REPLACE");
    expect_refused("CREATE TABLE shop.t (a INT) ENGINE=MERGE UNION=(other.x)", "",
                   "tables it does not (other.x)");
    expect_refused("CREATE TABLE t (a INT) UNION x", "shop", "expected ( after UNION");

    char longname[400];
    memset(longname, 'n', 300);
    longname[300] = '\0';
    char sql[512];
    snprintf(sql, sizeof(sql), "DROP TABLE shop.%s", longname);
    expect_refused(sql, "", "longer than 255 bytes");
}

/* ---- online schema change tools ------------------------------------------------ */

static void test_shadow_base(void **state)
{
    char base[DDL_NAME_CAP];
    static const struct {
        const char *table, *base;
    } yes[] = {
        {"_t_gho", "t"},
        {"_t_ghc", "t"},
        {"_t_del", "t"},
        {"_t_new", "t"},
        {"_t_old", "t"},
        {"_order_items_gho", "order_items"},
        {"_t_20180808165224_del", "t"},
        {"__t_new", "_t"},
        {"_a_b_old", "a_b"},
        {"_t_2018080816522_del", "t_2018080816522"}, /* 13 digits: not a gh-ost timestamp */
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        memset(base, 'x', sizeof(base));
        if (!ddl_shadow_base(yes[i].table, base, sizeof(base)))
            fail_msg("%s should be a shadow table", yes[i].table);
        assert_string_equal(base, yes[i].base);
        /* the affixes around the base are "_" and the rest of the name */
        assert_int_equal(yes[i].table[0], '_');
        assert_memory_equal(yes[i].table + 1, base, strlen(base));
    }
    static const char *const no[] = {"t",     "t_gho",   "_gho",   "__gho", "_t_gh", "_t_GHO",
                                     "_tgho", "_t_news", "orders", "",      "_",     "_t_old_x"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (ddl_shadow_base(no[i], base, sizeof(base)))
            fail_msg("%s should not be a shadow table (base %s)", no[i], base);
    assert_false(ddl_shadow_base(NULL, base, sizeof(base)));
    /* the base does not fit */
    assert_false(ddl_shadow_base("_abcdef_gho", base, 6));
    assert_true(ddl_shadow_base("_abcdef_gho", base, 7));
    assert_string_equal(base, "abcdef");

    assert_true(ddl_shadow_is_changelog("_t_ghc"));
    assert_false(ddl_shadow_is_changelog("_t_gho"));
    assert_false(ddl_shadow_is_changelog("_ghc"));
    assert_false(ddl_shadow_is_changelog("t_ghc"));
    assert_false(ddl_shadow_is_changelog(NULL));
}

/* gh-ost's statements, as it writes them, for shop.t. */
static void test_gh_ost_flow(void **state)
{
    expect_as("drop /* gh-ost */ table if exists `shop`.`_t_gho`", "shop",
              "drop /* gh-ost */ table if exists `wh`.`_t_gho`", DDL_STMT_DROP_TABLE);
    expect_not_ours("drop /* gh-ost */ table if exists `shop`.`_t_ghc`", "shop",
                    "changelog table shop._t_ghc");
    expect_not_ours("create /* gh-ost */ table `shop`.`_t_ghc` (id bigint auto_increment, "
                    "last_update timestamp not null, hint varchar(64) not null, value "
                    "varchar(4096) not null, primary key(id), unique key hint_uidx(hint)) "
                    "auto_increment=256",
                    "shop", "changelog");
    expect_as("create /* gh-ost */ table `shop`.`_t_gho` like `shop`.`t`", "shop",
              "create /* gh-ost */ table `wh`.`_t_gho` like `wh`.`t`", DDL_STMT_CREATE_TABLE_LIKE);
    expect_as("alter /* gh-ost */ table `shop`.`_t_gho` add column c int not null default 0",
              "shop", "alter /* gh-ost */ table `wh`.`_t_gho` add column c int not null default 0",
              DDL_STMT_ALTER_TABLE);
    expect_as("rename /* gh-ost */ table `shop`.`t` to `shop`.`_t_del`, `shop`.`_t_gho` to "
              "`shop`.`t`",
              "shop",
              "rename /* gh-ost */ table `wh`.`t` to `wh`.`_t_del`, `wh`.`_t_gho` to `wh`.`t`",
              DDL_STMT_RENAME_TABLE);
    assert_int_equal(info.n_tables, 4);
    check_table(1, DDL_ROLE_RENAME_TO, "shop", "_t_del", "wh", "_t_del");
    check_table(2, DDL_ROLE_RENAME_FROM, "shop", "_t_gho", "wh", "_t_gho");
    expect_as("drop /* gh-ost */ table if exists `shop`.`_t_del`", "shop",
              "drop /* gh-ost */ table if exists `wh`.`_t_del`", DDL_STMT_DROP_TABLE);
    /* a cleanup of both at once leaves the changelog out */
    expect_as("drop /* gh-ost */ table if exists `shop`.`_t_gho`, `shop`.`_t_ghc`", "shop",
              "drop /* gh-ost */ table if exists `wh`.`_t_gho`", DDL_STMT_DROP_TABLE);
    assert_int_equal(info.n_tables, 1);
    expect_as("DROP TABLE IF EXISTS shop._t_ghc, shop._t_gho, shop._u_ghc, shop._u_gho CASCADE", "",
              "DROP TABLE IF EXISTS `wh`.`_t_gho`, `wh`.`_u_gho` CASCADE", DDL_STMT_DROP_TABLE);
    assert_int_equal(info.n_tables, 2);
    /* only a changelog is left out of a DROP list, not another table the router skips */
    expect_refused("DROP TABLE shop._t_gho, shop.skip_me", "", "tables it does not (shop.skip_me)");
    /* a router that copies the changelog is followed: rows and DDL agree */
    expect_as("create table copy._t_ghc (id int)", "", "create table `copy`.`_t_copy_ghc` (id int)",
              DDL_STMT_CREATE_TABLE);
    expect_as("drop table copy._t_ghc, copy._t_gho", "",
              "drop table `copy`.`_t_copy_ghc`, `copy`.`_t_copy_gho`", DDL_STMT_DROP_TABLE);
    /* with a rename template, the shadow follows its base */
    expect_as("rename table copy.t to copy._t_20180808165224_del, copy._t_gho to copy.t", "",
              "rename table `copy`.`t_copy` to `copy`.`_t_copy_20180808165224_del`, "
              "`copy`.`_t_copy_gho` to `copy`.`t_copy`",
              DDL_STMT_RENAME_TABLE);
    /* a changelog renamed with a copied table cannot be followed */
    expect_refused("RENAME TABLE shop._t_ghc TO shop._x", "", "tables it does not (shop._t_ghc)");
}

/* pt-online-schema-change's statements for shop.t. */
static void test_pt_osc_flow(void **state)
{
    expect_as("CREATE TABLE `shop`.`_t_new` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) "
              "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
              "shop",
              "CREATE TABLE `wh`.`_t_new` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) "
              "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
              DDL_STMT_CREATE_TABLE);
    expect_as("ALTER TABLE `shop`.`_t_new` ADD COLUMN c INT", "shop",
              "ALTER TABLE `wh`.`_t_new` ADD COLUMN c INT", DDL_STMT_ALTER_TABLE);
    /* its triggers copy rows on the source; on the target they would copy them twice */
    expect_not_ours("CREATE TRIGGER `pt_osc_shop_t_ins` AFTER INSERT ON `shop`.`t` FOR EACH ROW "
                    "BEGIN DECLARE CONTINUE HANDLER FOR 1146 begin end; REPLACE INTO "
                    "`shop`.`_t_new` (`id`) VALUES (NEW.`id`);END",
                    "shop", "CREATE TRIGGER");
    expect_as("RENAME TABLE `shop`.`t` TO `shop`.`_t_old`, `shop`.`_t_new` TO `shop`.`t`", "shop",
              "RENAME TABLE `wh`.`t` TO `wh`.`_t_old`, `wh`.`_t_new` TO `wh`.`t`",
              DDL_STMT_RENAME_TABLE);
    expect_as("DROP TABLE IF EXISTS `shop`.`_t_old`", "shop", "DROP TABLE IF EXISTS `wh`.`_t_old`",
              DDL_STMT_DROP_TABLE);
    expect_not_ours("DROP TRIGGER IF EXISTS `shop`.`pt_osc_shop_t_ins`", "shop", "DROP TRIGGER");
}

/* ---- info and size ------------------------------------------------------------- */

static void test_many_tables(void **state)
{
    enum { N = 5000 };
    buf sql, want;
    buf_init(&sql);
    buf_init(&want);
    buf_puts(&sql, "DROP TABLE IF EXISTS ");
    buf_puts(&want, "DROP TABLE IF EXISTS ");
    for (int i = 0; i < N; i++) {
        buf_printf(&sql, "%st%d", i ? ", " : "", i);
        buf_printf(&want, "%s`wh`.`t%d`", i ? ", " : "", i);
    }
    assert_int_equal(ddl_rewrite(sql.data, sql.len, "shop", route, NULL, &out, &info), COT_OK);
    assert_int_equal(info.kind, DDL_REWRITTEN);
    assert_int_equal(info.n_tables, N);
    assert_string_equal(out.data, want.data);
    check_table(DDL_INFO_TABLES - 1, DDL_ROLE_SUBJECT, "shop", "t7", "wh", "t7");

    /* memory is bounded: too many names are refused */
    buf_reset(&sql);
    buf_puts(&sql, "DROP TABLE a");
    for (int i = 0; i < 10000; i++) buf_puts(&sql, ",a");
    assert_int_equal(ddl_rewrite(sql.data, sql.len, "shop", route, NULL, &out, &info),
                     COT_ERR_UNSUPPORTED);
    assert_non_null(strstr(cot_err_msg(), "names more than 10000 tables"));

    /* a long statement with deep parentheses and long strings */
    buf_reset(&sql);
    buf_puts(&sql, "CREATE TABLE t (c INT CHECK (");
    for (int i = 0; i < 100000; i++) buf_putc(&sql, '(');
    buf_putc(&sql, '1');
    for (int i = 0; i < 100000; i++) buf_putc(&sql, ')');
    buf_puts(&sql, "), d TEXT DEFAULT '");
    for (int i = 0; i < 200000; i++) buf_puts(&sql, "x''");
    buf_puts(&sql, "')");
    assert_int_equal(ddl_rewrite(sql.data, sql.len, "shop", route, NULL, &out, &info), COT_OK);
    assert_int_equal(out.len, sql.len - 1 + strlen("`wh`.`t`"));
    assert_memory_equal(out.data, "CREATE TABLE `wh`.`t` (c INT", 28);
    buf_deinit(&sql);
    buf_deinit(&want);
}

/* Found by fuzz_ddl_rewrite: names after the fourth made the list grow
 * while the schema to qualify with pointed into it (use after free under
 * ASan); a name written right before a ` read back as one name. */
static void test_fuzz_regressions(void **state)
{
    expect_as("CREATE TABLE m (a INT) ENGINE=MERGE UNION=(m1, m2, m3, m4, m5, m6)", "shop",
              "CREATE TABLE `wh`.`m` (a INT) ENGINE=MERGE UNION=(`wh`.`m1`, `wh`.`m2`, `wh`.`m3`, "
              "`wh`.`m4`, `wh`.`m5`, `wh`.`m6`)",
              DDL_STMT_CREATE_TABLE);
    check_table(6, DDL_ROLE_REFERENCE, "shop", "m6", "wh", "m6");
    expect_as("DROP TABLE a`b`", "shop", "DROP TABLE `wh`.`a` `b`", DDL_STMT_DROP_TABLE);
    expect_as("DROP TABLE a, _x_ghc, c`d`", "shop", "DROP TABLE `wh`.`a`, `wh`.`c` `d`",
              DDL_STMT_DROP_TABLE);
}

static void test_parse_as_is(void **state)
{
    ddl_info pi;
    const char *sql = "RENAME TABLE shop.a TO shop.b";
    assert_int_equal(ddl_parse(sql, strlen(sql), "", &pi), COT_OK);
    assert_int_equal(pi.kind, DDL_REWRITTEN);
    assert_int_equal(pi.stmt, DDL_STMT_RENAME_TABLE);
    assert_int_equal(pi.n_tables, 2);
    assert_string_equal(pi.tables[1].dst_schema, "shop");
    assert_string_equal(pi.tables[1].dst_name, "b");
    sql = "GRANT ALL ON *.* TO x";
    assert_int_equal(ddl_parse(sql, strlen(sql), "", &pi), COT_OK);
    assert_int_equal(pi.kind, DDL_NOT_OURS);
    sql = "CREATE TABLE a.t SELECT 1";
    assert_int_equal(ddl_parse(sql, strlen(sql), "", &pi), COT_ERR_UNSUPPORTED);
    assert_int_equal(ddl_parse(NULL, 0, NULL, &pi), COT_OK);
    assert_int_equal(pi.kind, DDL_NOT_OURS);
}

static int setup(void **state)
{
    buf_init(&out);
    return 0;
}

static int teardown(void **state)
{
    buf_deinit(&out);
    return 0;
}

/* ---- issue 11: statements read as the source session read them ---------- */

static void test_classify(void **state)
{
    static const struct {
        const char *sql;
        ddl_class cls;
    } cases[] = {
        {"-- purge\nTRUNCATE TABLE shop.t", DDL_CLASS_TABLE},
        {"# reorder\nALTER TABLE shop.t ADD c INT", DDL_CLASS_TABLE},
        {"--\tx\nDROP TABLE t", DDL_CLASS_TABLE},
        {"--\nDROP TABLE t", DDL_CLASS_TABLE},
        {"/* a */ /* b */ -- c\n # d\n rename table a to b", DDL_CLASS_TABLE},
        {"/*!40101 ALTER TABLE t FORCE */", DDL_CLASS_TABLE},
        {"/*M!100100 CREATE TABLE t (a INT) */", DDL_CLASS_TABLE},
        {"/*!*/ create table t (a int)", DDL_CLASS_TABLE},
        {"\n\t  cReAtE\tTABLE t (a INT)", DDL_CLASS_TABLE},
        {"/*+ hint */ TRUNCATE t", DDL_CLASS_TABLE},
        {"BEGIN", DDL_CLASS_BEGIN},
        {"START TRANSACTION", DDL_CLASS_BEGIN},
        {"COMMIT", DDL_CLASS_COMMIT},
        {"ROLLBACK", DDL_CLASS_ROLLBACK},
        {"ROLLBACK WORK", DDL_CLASS_ROLLBACK},
        {"ROLLBACK TO SAVEPOINT s", DDL_CLASS_TX_OTHER},
        {"ROLLBACK WORK TO s", DDL_CLASS_TX_OTHER},
        {"SAVEPOINT `s`", DDL_CLASS_TX_OTHER},
        {"XA START 'x'", DDL_CLASS_TX_OTHER},
        {"-- g\nGRANT SELECT ON shop.* TO u", DDL_CLASS_ADMIN},
        {"ANALYZE TABLE shop.t", DDL_CLASS_ADMIN},
        {"FLUSH PRIVILEGES", DDL_CLASS_ADMIN},
        {"START SLAVE", DDL_CLASS_ADMIN},
        /* "--x" is two minus signs: not a comment, not a statement cotter knows */
        {"--x\nTRUNCATE t", DDL_CLASS_UNKNOWN},
        {"/* not closed TRUNCATE t", DDL_CLASS_UNKNOWN},
        {"", DDL_CLASS_UNKNOWN},
        {"-- only a comment", DDL_CLASS_UNKNOWN},
        {"HANDLER shop.t OPEN", DDL_CLASS_UNKNOWN},
        {"INSERT INTO shop.t VALUES (1)", DDL_CLASS_UNKNOWN},
        /* MariaDB logs SET STATEMENT ... FOR with the statement */
        {"SET STATEMENT max_statement_time=60, sql_mode=(SELECT 'x') FOR ALTER TABLE t FORCE",
         DDL_CLASS_TABLE},
        {"set statement lock_wait_timeout=5 for -- x\n TRUNCATE t", DDL_CLASS_TABLE},
        {"SET STATEMENT x=1 FOR COMMIT", DDL_CLASS_COMMIT},
        {"SET STATEMENT x=1", DDL_CLASS_ADMIN},
        {"SET sql_mode='ANSI'", DDL_CLASS_ADMIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ddl_class got = ddl_classify(cases[i].sql, strlen(cases[i].sql), NULL);
        if (got != cases[i].cls)
            fail_msg("[%s] classified %d, want %d", cases[i].sql, got, cases[i].cls);
    }
    /* a versioned comment the server did not run holds no statement */
    ddl_dialect dl;
    ddl_dialect_init(&dl, 0, 45, "10.11.6-MariaDB-log");
    const char *s = "/*!99999 TRUNCATE t */";
    assert_int_equal(ddl_classify(s, strlen(s), &dl), DDL_CLASS_UNKNOWN);
    s = "/*M!101107 TRUNCATE t */ COMMIT";
    assert_int_equal(ddl_classify(s, strlen(s), &dl), DDL_CLASS_COMMIT);
    s = "/*M!101106 TRUNCATE t */";
    assert_int_equal(ddl_classify(s, strlen(s), &dl), DDL_CLASS_TABLE);
}

static void test_leading_comments_rewritten(void **state)
{
    expect_as("-- purge\nTRUNCATE TABLE shop.t", "", "-- purge\nTRUNCATE TABLE `wh`.`t`",
              DDL_STMT_TRUNCATE);
    expect_as("# reorder\nALTER TABLE t ADD c INT AFTER id", "shop",
              "# reorder\nALTER TABLE `wh`.`t` ADD c INT AFTER id", DDL_STMT_ALTER_TABLE);
    expect_as("--\r\nDROP TABLE t", "shop", "--\r\nDROP TABLE `wh`.`t`", DDL_STMT_DROP_TABLE);
    expect_as("ALTER TABLE shop.t FORCE --", "", "ALTER TABLE `wh`.`t` FORCE --",
              DDL_STMT_ALTER_TABLE);
    expect_as("SET STATEMENT max_statement_time=60 FOR ALTER TABLE shop.t FORCE", "",
              "SET STATEMENT max_statement_time=60 FOR ALTER TABLE `wh`.`t` FORCE",
              DDL_STMT_ALTER_TABLE);
    expect_not_ours("SET STATEMENT max_statement_time=60 FOR GRANT SELECT ON shop.t TO u", "",
                    "GRANT is not a table statement");
    expect_as("\n\t  aLtEr\ttable\n shop . t\n  ADD\tcolumn n int  ", "",
              "\n\t  aLtEr\ttable\n `wh`.`t`\n  ADD\tcolumn n int  ", DDL_STMT_ALTER_TABLE);
}

static void test_dialect_init(void **state)
{
    ddl_dialect dl;
    ddl_dialect_init(&dl, DDL_MODE_ANSI_QUOTES | DDL_MODE_NO_BACKSLASH_ESCAPES, 28,
                     "10.11.6-MariaDB-0+deb12u1-log");
    assert_true(dl.ansi_quotes);
    assert_true(dl.no_backslash_escapes);
    assert_int_equal(dl.mb, DDL_MB_GBK);
    assert_false(dl.mysql);
    assert_int_equal(dl.version, 101106);
    ddl_dialect_init(&dl, 1ull << 21, 255, "8.0.36");
    assert_false(dl.ansi_quotes);
    assert_false(dl.no_backslash_escapes);
    assert_int_equal(dl.mb, DDL_MB_NONE);
    assert_true(dl.mysql);
    assert_int_equal(dl.version, 80036);
    static const struct {
        unsigned id;
        uint8_t mb;
    } ids[] = {{1, DDL_MB_BIG5},      {84, DDL_MB_BIG5},   {1025, DDL_MB_BIG5}, {13, DDL_MB_SJIS},
               {95, DDL_MB_SJIS},     {1120, DDL_MB_SJIS}, {87, DDL_MB_GBK},    {1052, DDL_MB_GBK},
               {248, DDL_MB_GB18030}, {33, DDL_MB_NONE},   {45, DDL_MB_NONE},   {8, DDL_MB_NONE},
               {0, DDL_MB_NONE}};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        ddl_dialect_init(&dl, 0, ids[i].id, NULL);
        if (dl.mb != ids[i].mb)
            fail_msg("collation %u: mb %d, want %d", ids[i].id, dl.mb, ids[i].mb);
        assert_int_equal(dl.version, 0);
    }
    /* a version that cannot be read leaves every executable comment run */
    ddl_dialect_init(&dl, 0, 0, "x.y");
    assert_int_equal(dl.version, 0);
    ddl_dialect_init(&dl, 0, 0, "10.11");
    assert_int_equal(dl.version, 0);

    cot_ddl_session ds;
    memset(&ds, 0, sizeof(ds));
    buf q;
    buf_init(&q);
    assert_false(ddl_session_sql(&ds, &q));
    assert_int_equal(q.len, 0);
    assert_false(ddl_session_sql(NULL, &q));
    ds.has_sql_mode = true;
    ds.sql_mode = DDL_MODE_NO_BACKSLASH_ESCAPES;
    assert_true(ddl_session_sql(&ds, &q));
    assert_string_equal(q.data, "SET SESSION sql_mode=1048576");
    ds.has_charset = true;
    ds.charset_client = 28;
    ds.collation_connection = 87;
    assert_true(ddl_session_sql(&ds, &q));
    assert_string_equal(q.data, "SET SESSION sql_mode=1048576, SESSION character_set_client=28, "
                                "SESSION collation_connection=87");
    snprintf(ds.time_zone, sizeof(ds.time_zone), "+05:30");
    assert_true(ddl_session_sql(&ds, &q));
    assert_string_equal(q.data, "SET SESSION sql_mode=1048576, SESSION character_set_client=28, "
                                "SESSION collation_connection=87, SESSION time_zone='+05:30'");
    /* a time zone alone; one that cannot be written as it is, left out */
    cot_ddl_session tz_only;
    memset(&tz_only, 0, sizeof(tz_only));
    snprintf(tz_only.time_zone, sizeof(tz_only.time_zone), "Europe/Berlin");
    assert_true(ddl_session_sql(&tz_only, &q));
    assert_string_equal(q.data, "SET SESSION time_zone='Europe/Berlin'");
    snprintf(tz_only.time_zone, sizeof(tz_only.time_zone), "x' or '1");
    assert_false(ddl_session_sql(&tz_only, &q));
    buf_deinit(&q);
    ds.time_zone[0] = '\0';
    ddl_dialect_of(&dl, &ds);
    assert_true(dl.no_backslash_escapes);
    assert_int_equal(dl.mb, DDL_MB_GBK);
}

static void test_versioned_comments(void **state)
{
    ddl_dialect maria, mysql;
    ddl_dialect_init(&maria, 0, 45, "10.11.6-MariaDB-log");
    ddl_dialect_init(&mysql, 0, 255, "8.0.36");
    cur_dl = &maria;
    /* not run by the source: a comment, names in it are no names */
    expect_as("ALTER TABLE t /*!99999 RENAME TO other.u */ FORCE", "shop",
              "ALTER TABLE `wh`.`t` /*!99999 RENAME TO other.u */ FORCE", DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_tables, 1);
    /* MariaDB does not run MySQL 5.7+ comments, but runs its own of any version up to its own */
    expect_as("ALTER TABLE t /*!50700 RENAME TO other.u */ FORCE", "shop",
              "ALTER TABLE `wh`.`t` /*!50700 RENAME TO other.u */ FORCE", DDL_STMT_ALTER_TABLE);
    expect_as("ALTER TABLE t /*M!50700 RENAME TO u */", "shop",
              "ALTER TABLE `wh`.`t` /*M!50700 RENAME TO `wh`.`u` */", DDL_STMT_ALTER_TABLE);
    expect_as("ALTER TABLE t /*M!101106 RENAME TO u */", "shop",
              "ALTER TABLE `wh`.`t` /*M!101106 RENAME TO `wh`.`u` */", DDL_STMT_ALTER_TABLE);
    expect_as("ALTER TABLE t /*M!101107 RENAME TO other.u */", "shop",
              "ALTER TABLE `wh`.`t` /*M!101107 RENAME TO other.u */", DDL_STMT_ALTER_TABLE);
    /* a comment not run may hold one comment */
    expect_as("ALTER TABLE t /*!99999 RENAME /* x */ TO other.u */ FORCE", "shop",
              "ALTER TABLE `wh`.`t` /*!99999 RENAME /* x */ TO other.u */ FORCE",
              DDL_STMT_ALTER_TABLE);
    /* no version: always run */
    expect_as("ALTER TABLE t /*! RENAME TO u */", "shop",
              "ALTER TABLE `wh`.`t` /*! RENAME TO `wh`.`u` */", DDL_STMT_ALTER_TABLE);
    expect_refused("ALTER TABLE t /*!99999 FORCE", "shop", "not closed");
    cur_dl = &mysql;
    /* MySQL runs its own 5.7+ comments and reads the M form as a plain comment */
    expect_as("ALTER TABLE t /*!50700 RENAME TO u */", "shop",
              "ALTER TABLE `wh`.`t` /*!50700 RENAME TO `wh`.`u` */", DDL_STMT_ALTER_TABLE);
    expect_as("ALTER TABLE t /*M!100100 RENAME TO other.u */ FORCE", "shop",
              "ALTER TABLE `wh`.`t` /*M!100100 RENAME TO other.u */ FORCE", DDL_STMT_ALTER_TABLE);
    expect_as("ALTER TABLE t /*!80037 RENAME TO other.u */ FORCE", "shop",
              "ALTER TABLE `wh`.`t` /*!80037 RENAME TO other.u */ FORCE", DDL_STMT_ALTER_TABLE);
    cur_dl = NULL;
}

static void test_no_backslash_escapes(void **state)
{
    ddl_dialect nbe;
    ddl_dialect_init(&nbe, DDL_MODE_NO_BACKSLASH_ESCAPES, 45, NULL);
    /* issue 11: under NO_BACKSLASH_ESCAPES the string ends at the second
     * quote, the rest is a comment; read with escapes, a name follows */
    const char *sql = "ALTER TABLE shop.u COMMENT='x\\' -- ', RENAME TO other.v";
    cur_dl = &nbe;
    expect_as(sql, "", "ALTER TABLE `wh`.`u` COMMENT='x\\' -- ', RENAME TO other.v",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_tables, 1);
    assert_int_equal(info.n_clauses, 1);
    cur_dl = NULL;
    expect_refused(sql, "", "tables it does not (other.v)");

    cur_dl = &nbe;
    expect_as("ALTER TABLE shop.u COMMENT 'p\\', RENAME TO shop.u3", "",
              "ALTER TABLE `wh`.`u` COMMENT 'p\\', RENAME TO `wh`.`u3`", DDL_STMT_ALTER_TABLE);
    assert_true(info.alter_ops & DDL_ALTER_RENAME_TABLE);
    expect_as("ALTER TABLE t ADD w VARCHAR(9) DEFAULT \"a\\\", ADD w2 INT", "shop",
              "ALTER TABLE `wh`.`t` ADD w VARCHAR(9) DEFAULT \"a\\\", ADD w2 INT",
              DDL_STMT_ALTER_TABLE);
    assert_int_equal(info.n_clauses, 2);
    cur_dl = NULL;
    expect_refused("ALTER TABLE shop.u COMMENT 'p\\', RENAME TO shop.u3", "", "not closed");
}

static void test_ansi_quotes(void **state)
{
    ddl_dialect ansi;
    ddl_dialect_init(&ansi, DDL_MODE_ANSI_QUOTES, 45, NULL);
    cur_dl = &ansi;
    expect_as("CREATE TABLE \"shop\".\"q\" (\"id\" INT, \"v\" VARCHAR(9) DEFAULT 'a\"b')", "",
              "CREATE TABLE `wh`.`q` (\"id\" INT, \"v\" VARCHAR(9) DEFAULT 'a\"b')",
              DDL_STMT_CREATE_TABLE);
    expect_as("RENAME TABLE \"shop\".\"a\"\"b\" TO shop.`c`", "",
              "RENAME TABLE `wh`.`a\"b` TO `wh`.`c`", DDL_STMT_RENAME_TABLE);
    check_table(0, DDL_ROLE_RENAME_FROM, "shop", "a\"b", "wh", "a\"b");
    expect_as("ALTER TABLE \"q\" ADD \"x\"\"y\" INT COMMENT 'it''s', RENAME TO \"r\"", "shop",
              "ALTER TABLE `wh`.`q` ADD \"x\"\"y\" INT COMMENT 'it''s', RENAME TO `wh`.`r`",
              DDL_STMT_ALTER_TABLE);
    /* a backquote inside a "name" is a byte of the name */
    expect_as("DROP TABLE \"a`b\"", "shop", "DROP TABLE `wh`.`a``b`", DDL_STMT_DROP_TABLE);
    check_table(0, DDL_ROLE_SUBJECT, "shop", "a`b", "wh", "a`b");
    expect_refused("DROP TABLE \"a", "shop", "ANSI_QUOTES) is not closed");
    /* with both modes: "..." a name, '\' a whole string */
    ddl_dialect both;
    ddl_dialect_init(&both, DDL_MODE_ANSI_QUOTES | DDL_MODE_NO_BACKSLASH_ESCAPES, 45, NULL);
    cur_dl = &both;
    expect_as("ALTER TABLE \"shop\".\"q\" COMMENT 'c:\\', RENAME TO \"shop\".\"q2\"", "",
              "ALTER TABLE `wh`.`q` COMMENT 'c:\\', RENAME TO `wh`.`q2`", DDL_STMT_ALTER_TABLE);
    cur_dl = NULL;
    /* without ANSI_QUOTES "shop" is a string: refused, never read as a name */
    expect_refused("CREATE TABLE \"shop\".\"q\" (a INT)", "", "needs sql_mode ANSI_QUOTES");
}

/* The multi-byte charsets: a character whose trail byte is 5C (\\) or 60
 * (`) is one character; read byte-wise it escapes the closing quote or
 * ends a name. */
static void test_multibyte_charsets(void **state)
{
    static const struct {
        unsigned collation;
        const char *ch; /* a character with trail byte 5C */
        const char *bq; /* a character with trail byte 60 */
    } sets[] = {
        {28, "\x81\x5c", "\x81\x60"},  /* gbk: 乗 乣 */
        {1, "\xa4\x5c", "\xa4\x60"},   /* big5: 么 亡 */
        {13, "\x97\x5c", "\x93\x60"},  /* sjis: 予 伝 */
        {95, "\x99\x5c", "\x98\x60"},  /* cp932: 兔 倭 */
        {248, "\x81\x5c", "\x81\x60"}, /* gb18030 (MySQL), two-byte form */
    };
    char sql[256], want[256];
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        ddl_dialect dl;
        ddl_dialect_init(&dl, 0, sets[i].collation, NULL);
        cur_dl = &dl;
        snprintf(sql, sizeof(sql), "ALTER TABLE shop.g COMMENT='%s', RENAME TO shop.h", sets[i].ch);
        snprintf(want, sizeof(want), "ALTER TABLE `wh`.`g` COMMENT='%s', RENAME TO `wh`.`h`",
                 sets[i].ch);
        expect_as(sql, "", want, DDL_STMT_ALTER_TABLE);
        assert_int_equal(info.n_tables, 2);
        snprintf(sql, sizeof(sql), "ALTER TABLE shop.g ADD `%s` INT, RENAME TO shop.h", sets[i].bq);
        snprintf(want, sizeof(want), "ALTER TABLE `wh`.`g` ADD `%s` INT, RENAME TO `wh`.`h`",
                 sets[i].bq);
        expect_as(sql, "", want, DDL_STMT_ALTER_TABLE);
        /* a table named with such a character keeps all its bytes */
        snprintf(sql, sizeof(sql), "DROP TABLE shop.`x%s`", sets[i].bq);
        snprintf(want, sizeof(want), "DROP TABLE `wh`.`x%s`", sets[i].bq);
        expect_as(sql, "", want, DDL_STMT_DROP_TABLE);
        snprintf(want, sizeof(want), "x%s", sets[i].bq);
        check_table(0, DDL_ROLE_SUBJECT, "shop", want, "wh", want);
        snprintf(sql, sizeof(sql), "DROP TABLE shop.`%sy`", sets[i].bq);
        snprintf(want, sizeof(want), "%sy", sets[i].bq);
        expect_as(sql, "", NULL, DDL_STMT_DROP_TABLE);
        check_table(0, DDL_ROLE_SUBJECT, "shop", want, "wh", want);
        snprintf(sql, sizeof(sql), "DROP TABLE shop.x%s", sets[i].ch);
        snprintf(want, sizeof(want), "x%s", sets[i].ch);
        expect_as(sql, "", NULL, DDL_STMT_DROP_TABLE);
        check_table(0, DDL_ROLE_SUBJECT, "shop", want, "wh", want);
        /* byte-wise (utf8mb4, latin1) the same text is unreadable or other */
        cur_dl = NULL;
        snprintf(sql, sizeof(sql), "ALTER TABLE shop.g COMMENT='%s', RENAME TO shop.h", sets[i].ch);
        expect_refused(sql, "", "not closed");
    }
    /* gb18030's four-byte characters: 81 30 81 30 holds no quote */
    ddl_dialect dl;
    ddl_dialect_init(&dl, 0, 248, NULL);
    cur_dl = &dl;
    expect_as("ALTER TABLE shop.g COMMENT='\x81\x30\x81\x30\x81\x5c', RENAME TO shop.h", "",
              "ALTER TABLE `wh`.`g` COMMENT='\x81\x30\x81\x30\x81\x5c', RENAME TO `wh`.`h`",
              DDL_STMT_ALTER_TABLE);
    /* a lead byte without a valid trail is read on its own, as the server does */
    ddl_dialect_init(&dl, 0, 28, NULL);
    expect_as("ALTER TABLE shop.g COMMENT='\x81', RENAME TO shop.h", "",
              "ALTER TABLE `wh`.`g` COMMENT='\x81', RENAME TO `wh`.`h`", DDL_STMT_ALTER_TABLE);
    expect_refused("ALTER TABLE shop.g COMMENT='\x81", "", "not closed");
    cur_dl = NULL;
}

static void test_unknown_statements(void **state)
{
    /* a statement cotter does not know is refused when it names a mapped table */
    expect_refused("HANDLER shop.t OPEN", "", "names shop.t, a table this pipeline copies");
    expect_refused("-- x\nINSERT INTO `shop`.`t` VALUES (1)", "", "does not know");
    expect_refused("LOAD DATA INFILE 'f' INTO TABLE shop.a.b", "", "shop.a");
    expect_not_ours("HANDLER other.t OPEN", "shop", "HANDLER is not a table statement");
    expect_not_ours("DO 1.5 + shop.f()", "", "DO is not a table statement");
    expect_not_ours("INSERT INTO t VALUES (1)", "other", "INSERT is not a table statement");
    expect_not_ours("CALL shop.p()", "shop", "CALL is not a table statement");
    /* numbers are no names, and there is no bound on how many pairs it has */
    buf big;
    buf_init(&big);
    buf_puts(&big, "INSERT INTO other.t VALUES (1.5)");
    for (int i = 0; i < 30000; i++) buf_puts(&big, ", (2.5, x.y)");
    assert_int_equal(ddl_rewrite(big.data, big.len, "", route, NULL, &out, &info), COT_OK);
    assert_int_equal(info.kind, DDL_NOT_OURS);
    buf_puts(&big, ", (shop.f(1))");
    assert_int_equal(ddl_rewrite(big.data, big.len, "", route, NULL, &out, &info),
                     COT_ERR_UNSUPPORTED);
    buf_deinit(&big);
    expect_not_ours("INSERT INTO t VALUES (1.5, 12.shop)", "shop", "INSERT");
    /* ddl_parse (each table its own) never refuses it */
    ddl_info pi;
    const char *s = "HANDLER shop.t OPEN";
    assert_int_equal(ddl_parse(s, strlen(s), "", &pi), COT_OK);
    assert_int_equal(pi.kind, DDL_NOT_OURS);
}

static void test_preview(void **state)
{
    char shown[400];
    const char *s = "CREATE TABLE shop.f (a INT) ENGINE=FEDERATED "
                    "CONNECTION='mysql://u:pw@h:3306/db/t' COMMENT 'kept'";
    ddl_preview(s, strlen(s), NULL, shown, sizeof(shown));
    assert_string_equal(shown, "CREATE TABLE shop.f (a INT) ENGINE=FEDERATED CONNECTION='***' "
                               "COMMENT 'kept'");
    s = "GRANT ALL ON *.* TO u IDENTIFIED BY \"secret\"";
    ddl_preview(s, strlen(s), NULL, shown, sizeof(shown));
    assert_string_equal(shown, "GRANT ALL ON *.* TO u IDENTIFIED BY \"***\"");
    s = "ALTER USER u IDENTIFIED VIA ed25519 USING PASSWORD('secret')";
    ddl_preview(s, strlen(s), NULL, shown, sizeof(shown));
    assert_null(strstr(shown, "secret"));
    /* the same text under NO_BACKSLASH_ESCAPES: the string ends at the backslash */
    ddl_dialect nbe;
    ddl_dialect_init(&nbe, DDL_MODE_NO_BACKSLASH_ESCAPES, 45, NULL);
    s = "CREATE SERVER s OPTIONS (PASSWORD 'a\\', USER 'x')";
    ddl_preview(s, strlen(s), &nbe, shown, sizeof(shown));
    assert_string_equal(shown, "CREATE SERVER s OPTIONS (PASSWORD '***', USER 'x')");
    /* cut at 300 bytes, control bytes shown as '?' */
    char big[1000];
    memset(big, 'x', sizeof(big));
    memcpy(big, "DROP\001TABLE\n", 11);
    size_t n = ddl_preview(big, sizeof(big), NULL, shown, sizeof(shown));
    assert_int_equal(n, 303);
    assert_memory_equal(shown, "DROP?TABLE\n", 11);
    assert_string_equal(shown + 300, "...");
    /* text that is not UTF-8 (a gbk session's) is not copied into a log line */
    s = "ALTER TABLE t COMMENT '\x81\x5c', COMMENT '\xe4\xb9\x97 \xf0\x9f\x98\x80'";
    ddl_preview(s, strlen(s), NULL, shown, sizeof(shown));
    assert_string_equal(shown,
                        "ALTER TABLE t COMMENT '?\\', COMMENT '\xe4\xb9\x97 \xf0\x9f\x98\x80'");
    /* a refusal shows the preview */
    expect_refused(
        "CREATE TABLE shop.f (a INT) CONNECTION='mysql://u:pw@h/db/t' SELECT 1", "",
        "CONNECTION='<redacted>'"); /* the preview's '***', then every message's redaction */
    assert_null(strstr(cot_err_msg(), "pw@"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_table),
        cmocka_unit_test(test_create_table_like),
        cmocka_unit_test(test_create_table_select_refused),
        cmocka_unit_test(test_foreign_keys),
        cmocka_unit_test(test_alter_table),
        cmocka_unit_test(test_alter_rename_table),
        cmocka_unit_test(test_drop_table),
        cmocka_unit_test(test_rename_table),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_indexes),
        cmocka_unit_test(test_exchange_and_merge_union),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_executable_comments),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_qualified_and_unqualified),
        cmocka_unit_test(test_byte_exact),
        cmocka_unit_test(test_not_ours),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_shadow_base),
        cmocka_unit_test(test_gh_ost_flow),
        cmocka_unit_test(test_pt_osc_flow),
        cmocka_unit_test(test_many_tables),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_parse_as_is),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_leading_comments_rewritten),
        cmocka_unit_test(test_dialect_init),
        cmocka_unit_test(test_versioned_comments),
        cmocka_unit_test(test_no_backslash_escapes),
        cmocka_unit_test(test_ansi_quotes),
        cmocka_unit_test(test_multibyte_charsets),
        cmocka_unit_test(test_unknown_statements),
        cmocka_unit_test(test_preview),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
