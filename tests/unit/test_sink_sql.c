/*
 * Unit tests of the MySQL sink's SQL text (sink_mysql_sql.c): literal
 * rendering, key choice, source -> target column mapping and the statement
 * builder, with hand-made tables and changes. No server needed.
 */
#include "sink/sink.h"
#include "sink/sink_mysql_fk.h"
#include "sink/sink_mysql_sql.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------ */

static char *xdup(const char *s)
{
    char *r = strdup(s);
    assert_non_null(r);
    return r;
}

/* make_table builds source table shop.<name> routed to warehouse.<name>
 * with columns "name:type" (type: i int, s utf8mb4 string, b binary, d double, j json). */
static cot_table *make_table(const char *name, const char *const *cols, uint32_t n)
{
    cot_table *t = cot_table_new("warehouse", name, n);
    free(t->src_schema);
    t->src_schema = xdup("shop");
    for (uint32_t i = 0; i < n; i++) {
        const char *spec = cols[i];
        const char *colon = strchr(spec, ':');
        assert_non_null(colon);
        t->cols[i].name = strndup(spec, (size_t)(colon - spec));
        switch (colon[1]) {
        case 'i':
            t->cols[i].type = CT_LONG;
            break;
        case 's':
            t->cols[i].type = CT_VARCHAR;
            t->cols[i].charset = cot_charset_intern("utf8mb4");
            break;
        case 'b':
            t->cols[i].type = CT_BLOB;
            break;
        case 'd':
            t->cols[i].type = CT_DOUBLE;
            break;
        case 'j':
            t->cols[i].type = CT_JSON;
            break;
        }
    }
    t->has_names = true;
    return t;
}

/* make_tdesc describes target warehouse.<name> with the given columns
 * ("name:type[:null][:gen]") and key columns. */
static sql_tdesc *make_tdesc(const char *name, const char *const *cols, uint32_t n,
                             const char *const *key, uint32_t n_key)
{
    sql_tdesc *td = sql_tdesc_new("warehouse", name);
    for (uint32_t i = 0; i < n; i++) {
        char tmp[128];
        snprintf(tmp, sizeof(tmp), "%s", cols[i]);
        char *type = strchr(tmp, ':');
        assert_non_null(type);
        *type++ = '\0';
        char *flags = strchr(type, ':');
        if (flags) *flags++ = '\0';
        sql_tdesc_add_col(td, tmp, type, flags && strstr(flags, "null"),
                          flags && strstr(flags, "gen"));
    }
    sql_index_part parts[8];
    for (uint32_t k = 0; k < n_key; k++) {
        parts[k].index = "PRIMARY";
        parts[k].column = key[k];
        parts[k].seq = k + 1;
    }
    assert_int_equal(sql_tdesc_pick_key(td, parts, n_key), COT_OK);
    return td;
}

static cot_value vi(int64_t i)
{
    cot_value v = {.kind = VK_INT};
    v.i = i;
    return v;
}

static cot_value vs(const char *s)
{
    cot_value v = {.kind = VK_STRING};
    v.s.p = s;
    v.s.len = (uint32_t)strlen(s);
    return v;
}

static cot_value vnull(void)
{
    cot_value v = {.kind = VK_NULL};
    return v;
}

static cot_value vabsent(void)
{
    cot_value v = {.kind = VK_ABSENT};
    return v;
}

/* add_change appends a change with copies of the given images to ck. */
static void add_change(cot_chunk *ck, cot_op op, cot_table *t, const cot_value *before,
                       const cot_value *after)
{
    cot_change *ch = cot_chunk_add(ck, op, t);
    if (before) {
        ch->before = cot_chunk_values(ck, t->n_cols);
        memcpy(ch->before, before, t->n_cols * sizeof(cot_value));
    }
    if (after) {
        ch->after = cot_chunk_values(ck, t->n_cols);
        memcpy(ch->after, after, t->n_cols * sizeof(cot_value));
    }
}

/* build runs every change of ck through a builder and returns the packet
 * text (caller frees); asserts every add succeeds. */
static char *build(cot_chunk *ck, sql_tdesc *td, size_t max_bytes, uint32_t *n_stmts)
{
    sql_builder sb;
    sql_builder_init(&sb, "wh", max_bytes);
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        if (td->map_tbl != ck->changes[i].tbl) {
            sql_builder_forget(&sb, td);
            assert_int_equal(sql_tdesc_map(td, ck->changes[i].tbl, "wh"), COT_OK);
        }
        cot_err rc = sql_builder_add(&sb, td, &ck->changes[i]);
        if (rc) fail_msg("add failed: %s", cot_err_msg());
    }
    sql_builder_close(&sb);
    if (n_stmts) *n_stmts = sb.n_stmts;
    char *r = xdup(sb.pkt.data ? sb.pkt.data : "");
    sql_builder_deinit(&sb);
    return r;
}

static const char *const users_cols[] = {"id:i", "name:s"};
static const char *const users_tcols[] = {"id:int", "name:varchar"};
static const char *const id_key[] = {"id"};

static char *render(const cot_value *v, const cot_column *col, bool json, bool where)
{
    buf b;
    buf_init(&b);
    cot_err rc = sql_render_value(&b, v, col, json, where);
    assert_int_equal(rc, COT_OK);
    char *r = xdup(b.data ? b.data : "");
    buf_deinit(&b);
    return r;
}

#define assert_render(expected, v, col, json, where)                                               \
    do {                                                                                           \
        char *got_ = render(v, col, json, where);                                                  \
        assert_string_equal(got_, expected);                                                       \
        free(got_);                                                                                \
    } while (0)

/* ---- literals ----------------------------------------------------------- */

static void test_render_numbers(void **state)
{
    (void)state;
    cot_value v = vi(INT64_MIN);
    assert_render("-9223372036854775808", &v, NULL, false, false);
    v = vi(INT64_MAX);
    assert_render("9223372036854775807", &v, NULL, false, false);
    v = vi(0);
    assert_render("0", &v, NULL, false, false);
    v = vi(-7);
    assert_render("-7", &v, NULL, false, false);
    v.kind = VK_UINT;
    v.u = UINT64_MAX;
    assert_render("18446744073709551615", &v, NULL, false, false);
    v.kind = VK_ENUM;
    v.u = 3;
    assert_render("3", &v, NULL, false, false);
    v.kind = VK_SET;
    v.u = 5;
    assert_render("5", &v, NULL, false, false);
    v.kind = VK_BIT;
    v.u = 129;
    assert_render("129", &v, NULL, false, false);
    v.kind = VK_DOUBLE;
    v.d = 0.1;
    assert_render("1.00000000000000006e-01", &v, NULL, false, false);
    /* A FLOAT's value widened to double keeps its exact binary value. */
    v.kind = VK_FLOAT;
    v.d = (double)0.1f;
    assert_render("1.00000001490116119e-01", &v, NULL, false, false);
    v.d = -2.5;
    assert_render("-2.50000000000000000e+00", &v, NULL, false, false);
    v.kind = VK_NULL;
    assert_render("NULL", &v, NULL, false, true);
    v.kind = VK_ABSENT;
    assert_render("", &v, NULL, false, false);
}

static void test_render_rejects_nan_and_bad_decimal(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    cot_column col = {.name = "price"};
    cot_value v = {.kind = VK_DOUBLE};
    v.d = NAN;
    assert_int_equal(sql_render_value(&b, &v, &col, false, false), COT_ERR_SQL);
    assert_non_null(strstr(cot_err_msg(), "price"));
    v.d = INFINITY;
    assert_int_equal(sql_render_value(&b, &v, &col, false, false), COT_ERR_SQL);
    v.kind = VK_DECIMAL;
    v.s.p = "1;DROP";
    v.s.len = 6;
    assert_int_equal(sql_render_value(&b, &v, &col, false, false), COT_ERR_MALFORMED);
    assert_int_equal(b.len, 0);
    v.s.p = "-12.3400";
    v.s.len = 8;
    assert_int_equal(sql_render_value(&b, &v, &col, false, false), COT_OK);
    assert_string_equal(b.data, "-12.3400");
    buf_deinit(&b);
}

static void test_render_strings(void **state)
{
    (void)state;
    cot_column utf = {.name = "s", .charset = cot_charset_intern("utf8mb4")};
    cot_column latin = {.name = "s", .charset = cot_charset_intern("latin1")};
    cot_column unknown = {.name = "s", .charset = NULL};
    cot_value v = vs("a'\\");
    assert_render("_utf8mb4 X'61275C'", &v, &utf, false, false);
    assert_render("_latin1 X'61275C'", &v, &latin, false, false);
    assert_render("_utf8mb4 X'61275C'", &v, &unknown, false, false);
    /* emoji: 4 UTF-8 bytes pass through as hex */
    v = vs("\xF0\x9F\x98\x80");
    assert_render("_utf8mb4 X'F09F9880'", &v, &utf, false, false);
    v.kind = VK_BINARY;
    v.s.p = "\x00\xff";
    v.s.len = 2;
    assert_render("X'00FF'", &v, NULL, false, false);
    v.s.len = 0;
    assert_render("X''", &v, NULL, false, false);
    v.kind = VK_GEOMETRY;
    v.s.p = "\x01\x02";
    v.s.len = 2;
    assert_render("X'0102'", &v, NULL, false, false);
    v = vs("{\"a\":1}");
    v.kind = VK_JSON;
    assert_render("_utf8mb4 X'7B2261223A317D'", &v, NULL, true, false);
    assert_render("CAST(_utf8mb4 X'7B2261223A317D' AS JSON)", &v, NULL, true, true);
    assert_render("_utf8mb4 X'7B2261223A317D'", &v, NULL, false, true);
    v = vs("2024-01-02 03:04:05.5");
    v.kind = VK_TEMPORAL;
    assert_render("'2024-01-02 03:04:05.5'", &v, NULL, false, false);
    v = vs("x'y");
    v.kind = VK_TEMPORAL;
    assert_render("'x''y'", &v, NULL, false, false);
}

/* ---- keys and mapping --------------------------------------------------- */

static void test_pick_key(void **state)
{
    (void)state;
    sql_tdesc *td = sql_tdesc_new("w", "t");
    sql_tdesc_add_col(td, "a", "int", true, false);
    sql_tdesc_add_col(td, "b", "int", false, false);
    sql_tdesc_add_col(td, "c", "int", false, false);
    sql_tdesc_add_col(td, "id", "int", false, false);

    /* A nullable unique key listed first loses to a NOT NULL one. */
    sql_index_part uniq[] = {{"ua", "a", 1}, {"ucb", "b", 2}, {"ucb", "c", 1}};
    assert_int_equal(sql_tdesc_pick_key(td, uniq, 3), COT_OK);
    assert_string_equal(td->key_name, "ucb");
    assert_int_equal(td->n_key, 2);
    assert_int_equal(td->key[0], 2); /* c is first by SEQ_IN_INDEX */
    assert_int_equal(td->key[1], 1);

    /* PRIMARY wins wherever it is listed. */
    sql_index_part with_pk[] = {{"ucb", "c", 1}, {"ucb", "b", 2}, {"PRIMARY", "id", 1}};
    assert_int_equal(sql_tdesc_pick_key(td, with_pk, 3), COT_OK);
    assert_string_equal(td->key_name, "PRIMARY");
    assert_int_equal(td->n_key, 1);
    assert_int_equal(td->key[0], 3);

    /* Only a nullable unique key: it is used. */
    assert_int_equal(sql_tdesc_pick_key(td, uniq, 1), COT_OK);
    assert_string_equal(td->key_name, "ua");

    /* None. */
    assert_int_equal(sql_tdesc_pick_key(td, NULL, 0), COT_OK);
    assert_int_equal(td->n_key, 0);
    assert_null(td->key_name);

    sql_index_part bad[] = {{"PRIMARY", "zz", 1}};
    assert_int_equal(sql_tdesc_pick_key(td, bad, 1), COT_ERR_SCHEMA);
    sql_tdesc_free(td);
}

static void test_map_errors(void **state)
{
    (void)state;
    const char *const src_cols[] = {"ID:i", "name:s", "email:s"};
    cot_table *t = make_table("users", src_cols, 3);
    sql_tdesc *td = make_tdesc("users", users_tcols, 2, id_key, 1);

    /* A source column the target lacks: the message says what to do. */
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_ERR_SCHEMA);
    assert_non_null(strstr(cot_err_msg(), "target warehouse.users has no column 'email' that "
                                          "source shop.users has"));
    assert_non_null(strstr(cot_err_msg(), "ALTER TABLE"));
    assert_null(td->map_tbl);

    /* Names match case-insensitively. */
    sql_tdesc_add_col(td, "email", "varchar", true, false);
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_OK);
    assert_ptr_equal(td->map_tbl, t);
    assert_int_equal(td->map[0], 0);
    assert_int_equal(td->key_src[0], 0);
    sql_tdesc_free(td);

    /* No names at all. */
    t->has_names = false;
    td = make_tdesc("users", users_tcols, 2, id_key, 1);
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_ERR_SCHEMA);
    assert_non_null(strstr(cot_err_msg(), "column names are unknown"));
    assert_non_null(strstr(cot_err_msg(), "binlog_row_metadata=FULL"));
    sql_tdesc_free(td);
    cot_table_unref(t);

    /* A target key column the source does not have. */
    const char *const name_only[] = {"name:s"};
    t = make_table("users", name_only, 1);
    td = make_tdesc("users", users_tcols, 2, id_key, 1);
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_ERR_SCHEMA);
    assert_non_null(strstr(cot_err_msg(), "key column 'id'"));
    sql_tdesc_free(td);
    cot_table_unref(t);
}

/* ---- statements ----------------------------------------------------------- */

static void test_inserts_merge_into_upsert(void **state)
{
    (void)state;
    cot_table *t = make_table("users", users_cols, 2);
    sql_tdesc *td = make_tdesc("users", users_tcols, 2, id_key, 1);
    cot_chunk *ck = cot_chunk_new();
    cot_value r1[] = {vi(1), vs("a")}, r2[] = {vi(2), vs("b")};
    add_change(ck, OP_INSERT, t, NULL, r1);
    add_change(ck, OP_INSERT, t, NULL, r2);
    uint32_t n;
    char *sql = build(ck, td, 0, &n);
    assert_int_equal(n, 1);
    assert_string_equal(
        sql,
        "INSERT INTO `warehouse`.`users` (`id`,`name`) VALUES "
        "(1,_utf8mb4 X'61'),(2,_utf8mb4 X'62') ON DUPLICATE KEY UPDATE "
        "`id`=IF(`id`<=>VALUES(`id`),`id`,(SELECT 1 UNION ALL SELECT 2)),`name`=VALUES(`name`)");
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_order_between_tables_kept(void **state)
{
    (void)state;
    cot_table *t1 = make_table("users", users_cols, 2);
    cot_table *t2 = make_table("users", users_cols, 2); /* a newer TABLE_MAP of the same table */
    sql_tdesc *td = make_tdesc("users", users_tcols, 2, id_key, 1);
    cot_chunk *ck = cot_chunk_new();
    cot_value r1[] = {vi(1), vs("a")}, r2[] = {vi(2), vs("b")}, r3[] = {vi(3), vs("c")};
    add_change(ck, OP_INSERT, t1, NULL, r1);
    add_change(ck, OP_DELETE, t1, r2, NULL);
    add_change(ck, OP_INSERT, t1, NULL, r3);
    add_change(ck, OP_INSERT, t2, NULL, r2);
    uint32_t n;
    char *sql = build(ck, td, 0, &n);
    assert_int_equal(n, 4);
    const char *p1 = strstr(sql, "VALUES (1,");
    const char *p2 = strstr(sql, "DELETE FROM `warehouse`.`users` WHERE `id` IN (2)");
    const char *p3 = strstr(sql, "VALUES (3,");
    const char *p4 = strstr(sql, "VALUES (2,");
    assert_true(p1 && p2 && p3 && p4);
    assert_true(p1 < p2 && p2 < p3 && p3 < p4);
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t1);
    cot_table_unref(t2);
}

static void test_updates(void **state)
{
    (void)state;
    cot_table *t = make_table("users", users_cols, 2);
    sql_tdesc *td = make_tdesc("users", users_tcols, 2, id_key, 1);
    cot_value b1[] = {vi(1), vs("a")}, a1[] = {vi(1), vs("b")};
    cot_value a2[] = {vi(7), vs("b")};
    cot_value partial[] = {vabsent(), vs("z")};

    /* Same key, full image: upsert of the after image. */
    cot_chunk *ck = cot_chunk_new();
    add_change(ck, OP_UPDATE, t, b1, a1);
    char *sql = build(ck, td, 0, NULL);
    assert_string_equal(
        sql,
        "INSERT INTO `warehouse`.`users` (`id`,`name`) VALUES "
        "(1,_utf8mb4 X'62') ON DUPLICATE KEY UPDATE "
        "`id`=IF(`id`<=>VALUES(`id`),`id`,(SELECT 1 UNION ALL SELECT 2)),`name`=VALUES(`name`)");
    free(sql);
    cot_chunk_free(ck);

    /* Key change: delete the old key, then upsert the new row. */
    ck = cot_chunk_new();
    add_change(ck, OP_UPDATE, t, b1, a2);
    sql = build(ck, td, 0, NULL);
    assert_string_equal(
        sql,
        "DELETE FROM `warehouse`.`users` WHERE `id` IN (1);"
        "INSERT INTO `warehouse`.`users` (`id`,`name`) VALUES "
        "(7,_utf8mb4 X'62') ON DUPLICATE KEY UPDATE "
        "`id`=IF(`id`<=>VALUES(`id`),`id`,(SELECT 1 UNION ALL SELECT 2)),`name`=VALUES(`name`)");
    free(sql);
    cot_chunk_free(ck);

    /* Partial after image (MINIMAL): UPDATE of the present columns by key. */
    ck = cot_chunk_new();
    add_change(ck, OP_UPDATE, t, b1, partial);
    sql = build(ck, td, 0, NULL);
    assert_string_equal(sql, "UPDATE `warehouse`.`users` SET `name`=_utf8mb4 X'7A' WHERE `id`=1");
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

/* Issue 11: under an ON UPDATE foreign key of the target a key change is
 * one UPDATE (DELETE + upsert would run ON DELETE instead), and
 * sink_fk_cascades picks exactly the changes that set a cascade off. */
static void test_cascading_foreign_keys(void **state)
{
    (void)state;
    cot_table *t = make_table("users", users_cols, 2);
    sql_tdesc *td = make_tdesc("users", users_tcols, 2, id_key, 1);
    cot_value b1[] = {vi(1), vs("a")}, a1[] = {vi(1), vs("b")};
    cot_value a2[] = {vi(7), vs("a")};
    td->fk_on_update = calloc(td->n_cols, 1);
    assert_non_null(td->fk_on_update);
    td->fk_on_update[0] = 1; /* `id` is referenced ON UPDATE CASCADE */

    cot_chunk *ck = cot_chunk_new();
    add_change(ck, OP_UPDATE, t, b1, a2);
    char *sql = build(ck, td, 0, NULL);
    assert_string_equal(sql,
                        "UPDATE `warehouse`.`users` SET `id`=7,`name`=_utf8mb4 X'61' WHERE `id`=1");
    free(sql);
    assert_true(sink_fk_cascades(td, &ck->changes[0]));
    cot_chunk_free(ck);

    /* the referenced column unchanged: an upsert, no cascade */
    ck = cot_chunk_new();
    add_change(ck, OP_UPDATE, t, b1, a1);
    sql = build(ck, td, 0, NULL);
    assert_non_null(strstr(sql, "INSERT INTO `warehouse`.`users`"));
    free(sql);
    assert_false(sink_fk_cascades(td, &ck->changes[0]));
    /* deletes cascade only under an ON DELETE action; inserts never */
    add_change(ck, OP_DELETE, t, b1, NULL);
    add_change(ck, OP_INSERT, t, NULL, a1);
    assert_false(sink_fk_cascades(td, &ck->changes[1]));
    td->fk_on_delete = true;
    assert_true(sink_fk_cascades(td, &ck->changes[1]));
    assert_false(sink_fk_cascades(td, &ck->changes[2]));
    cot_chunk_free(ck);

    /* the session setting is a statement of its own, in order */
    sql_builder sb;
    sql_builder_init(&sb, "wh", 0);
    sql_builder_add_session(&sb, "SET foreign_key_checks=1");
    cot_chunk *del = cot_chunk_new();
    add_change(del, OP_DELETE, t, b1, NULL);
    assert_int_equal(sql_builder_add(&sb, td, &del->changes[0]), COT_OK);
    sql_builder_add_session(&sb, "SET foreign_key_checks=0");
    sql_builder_close(&sb);
    assert_string_equal(sb.pkt.data, "SET foreign_key_checks=1;DELETE FROM `warehouse`.`users` "
                                     "WHERE `id` IN (1);SET foreign_key_checks=0");
    assert_int_equal(sb.n_stmts, 3);
    assert_int_equal(sb.stmts[0].kind, SQL_SESSION);
    sql_builder_deinit(&sb);
    cot_chunk_free(del);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_deletes(void **state)
{
    (void)state;
    const char *const cols[] = {"a:i", "b:i", "v:s"};
    const char *const tcols[] = {"a:int", "b:int", "v:varchar"};
    const char *const key2[] = {"a", "b"};
    cot_table *t = make_table("pairs", cols, 3);
    sql_tdesc *td = make_tdesc("pairs", tcols, 3, key2, 2);
    cot_chunk *ck = cot_chunk_new();
    cot_value r1[] = {vi(1), vi(2), vs("x")}, r2[] = {vi(3), vi(4), vs("y")};
    add_change(ck, OP_DELETE, t, r1, NULL);
    add_change(ck, OP_DELETE, t, r2, NULL);
    uint32_t n;
    char *sql = build(ck, td, 0, &n);
    assert_int_equal(n, 1);
    assert_string_equal(sql, "DELETE FROM `warehouse`.`pairs` WHERE (`a`=1 AND `b`=2) OR "
                             "(`a`=3 AND `b`=4)");
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);

    t = make_table("users", users_cols, 2);
    td = make_tdesc("users", users_tcols, 2, id_key, 1);
    ck = cot_chunk_new();
    add_change(ck, OP_DELETE, t, (cot_value[]){vi(5), vs("a")}, NULL);
    add_change(ck, OP_DELETE, t, (cot_value[]){vi(6), vnull()}, NULL);
    sql = build(ck, td, 0, &n);
    assert_string_equal(sql, "DELETE FROM `warehouse`.`users` WHERE `id` IN (5,6)");
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_keyless_one_row_each(void **state)
{
    (void)state;
    cot_table *t = make_table("log", users_cols, 2);
    sql_tdesc *td = make_tdesc("log", users_tcols, 2, NULL, 0);
    cot_chunk *ck = cot_chunk_new();
    cot_value r[] = {vi(1), vs("a")}, r2[] = {vi(1), vnull()};
    add_change(ck, OP_INSERT, t, NULL, r);
    add_change(ck, OP_INSERT, t, NULL, r);
    add_change(ck, OP_UPDATE, t, r, r2);
    add_change(ck, OP_DELETE, t, r, NULL);
    add_change(ck, OP_DELETE, t, r, NULL);
    uint32_t n;
    char *sql = build(ck, td, 0, &n);
    assert_int_equal(n, 4);
    assert_string_equal(
        sql, "INSERT INTO `warehouse`.`log` (`id`,`name`) VALUES (1,_utf8mb4 X'61'),"
             "(1,_utf8mb4 X'61');"
             "UPDATE `warehouse`.`log` SET `id`=1,`name`=NULL WHERE `id`<=>1 AND "
             "`name`<=>_utf8mb4 X'61' LIMIT 1;"
             "DELETE FROM `warehouse`.`log` WHERE `id`<=>1 AND `name`<=>_utf8mb4 X'61' LIMIT 1;"
             "DELETE FROM `warehouse`.`log` WHERE `id`<=>1 AND `name`<=>_utf8mb4 X'61' LIMIT 1");
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_null_in_unique_key_is_keyless(void **state)
{
    (void)state;
    const char *const cols[] = {"code:s", "v:i"};
    cot_table *t = make_table("codes", cols, 2);
    sql_tdesc *td = sql_tdesc_new("warehouse", "codes");
    sql_tdesc_add_col(td, "code", "varchar", true, false);
    sql_tdesc_add_col(td, "v", "int", false, false);
    sql_index_part uq[] = {{"u_code", "code", 1}};
    assert_int_equal(sql_tdesc_pick_key(td, uq, 1), COT_OK);
    cot_chunk *ck = cot_chunk_new();
    cot_value nullrow[] = {vnull(), vi(1)}, nullrow2[] = {vnull(), vi(2)},
              keyed[] = {vs("k"), vi(3)};
    add_change(ck, OP_INSERT, t, NULL, nullrow);
    add_change(ck, OP_UPDATE, t, nullrow, nullrow2);
    add_change(ck, OP_INSERT, t, NULL, keyed);
    add_change(ck, OP_DELETE, t, nullrow2, NULL);
    char *sql = build(ck, td, 0, NULL);
    assert_string_equal(
        sql,
        "INSERT INTO `warehouse`.`codes` (`code`,`v`) VALUES (NULL,1);"
        "UPDATE `warehouse`.`codes` SET `code`=NULL,`v`=2 WHERE "
        "`code`<=>NULL AND `v`<=>1 LIMIT 1;"
        "INSERT INTO `warehouse`.`codes` (`code`,`v`) VALUES "
        "(_utf8mb4 X'6B',3) ON DUPLICATE KEY UPDATE "
        "`code`=IF(`code`<=>VALUES(`code`),`code`,(SELECT 1 UNION ALL SELECT 2)),`v`=VALUES(`v`);"
        "DELETE FROM `warehouse`.`codes` WHERE `code`<=>NULL AND `v`<=>2 "
        "LIMIT 1");
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_absent_and_generated_columns(void **state)
{
    (void)state;
    const char *const cols[] = {"id:i", "name:s", "upper_name:s"};
    const char *const tcols[] = {"id:int", "name:varchar", "upper_name:varchar:gen"};
    cot_table *t = make_table("users", cols, 3);
    sql_tdesc *td = make_tdesc("users", tcols, 3, id_key, 1);
    cot_chunk *ck = cot_chunk_new();
    cot_value full[] = {vi(1), vs("a"), vs("A")}, no_name[] = {vi(2), vabsent(), vs("B")};
    add_change(ck, OP_INSERT, t, NULL, full);
    add_change(ck, OP_INSERT, t, NULL, no_name);
    uint32_t n;
    char *sql = build(ck, td, 0, &n);
    /* The generated column is never written; different column sets are not merged. */
    assert_int_equal(n, 2);
    assert_string_equal(
        sql,
        "INSERT INTO `warehouse`.`users` (`id`,`name`) VALUES "
        "(1,_utf8mb4 X'61') ON DUPLICATE KEY UPDATE "
        "`id`=IF(`id`<=>VALUES(`id`),`id`,(SELECT 1 UNION ALL SELECT 2)),`name`=VALUES(`name`);"
        "INSERT INTO `warehouse`.`users` (`id`) VALUES (2) ON DUPLICATE KEY "
        "UPDATE `id`=IF(`id`<=>VALUES(`id`),`id`,(SELECT 1 UNION ALL SELECT 2))");
    free(sql);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_statement_size_bound(void **state)
{
    (void)state;
    cot_table *t = make_table("users", users_cols, 2);
    sql_tdesc *td = make_tdesc("users", users_tcols, 2, id_key, 1);
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_OK);
    cot_chunk *ck = cot_chunk_new();
    for (int i = 0; i < 200; i++) add_change(ck, OP_INSERT, t, NULL, (cot_value[]){vi(i), vs("x")});
    sql_builder sb;
    const size_t max = 1000;
    sql_builder_init(&sb, "wh", max);
    bool was_ready = false;
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        assert_int_equal(sql_builder_add(&sb, td, &ck->changes[i]), COT_OK);
        was_ready |= sql_builder_ready(&sb);
    }
    sql_builder_close(&sb);
    assert_true(was_ready);
    assert_true(sb.n_stmts > 1);
    uint32_t rows = 0;
    for (uint32_t i = 0; i < sb.n_stmts; i++) {
        assert_true(sql_builder_stmt_len(&sb, i) <= max);
        assert_int_equal(sb.stmts[i].kind, SQL_UPSERT);
        assert_ptr_equal(sb.stmts[i].td, td);
        rows += sb.stmts[i].n_rows;
        /* every statement is a complete upsert */
        assert_memory_equal(sb.pkt.data + sb.stmts[i].off, "INSERT INTO", 11);
    }
    assert_int_equal(rows, 200);
    sql_builder_clear(&sb);
    assert_int_equal(sb.pkt.len, 0);
    assert_false(sql_builder_ready(&sb));
    sql_builder_deinit(&sb);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_error_leaves_packet_unchanged(void **state)
{
    (void)state;
    const char *const cols[] = {"id:i", "x:d"};
    const char *const tcols[] = {"id:int", "x:double"};
    cot_table *t = make_table("m", cols, 2);
    sql_tdesc *td = make_tdesc("m", tcols, 2, id_key, 1);
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_OK);
    cot_chunk *ck = cot_chunk_new();
    cot_value ok[] = {vi(1), {.kind = VK_DOUBLE, .d = 1.0}};
    cot_value bad[] = {vi(2), {.kind = VK_DOUBLE, .d = NAN}};
    add_change(ck, OP_INSERT, t, NULL, ok);
    add_change(ck, OP_INSERT, t, NULL, bad);
    sql_builder sb;
    sql_builder_init(&sb, "wh", 0);
    assert_int_equal(sql_builder_add(&sb, td, &ck->changes[0]), COT_OK);
    size_t len = sb.pkt.len;
    assert_int_equal(sql_builder_add(&sb, td, &ck->changes[1]), COT_ERR_SQL);
    assert_int_equal(sb.pkt.len, len);
    /* the message names target, table, source table and op */
    assert_non_null(strstr(cot_err_msg(), "target wh, table warehouse.m (source shop.m), INSERT"));
    sql_builder_deinit(&sb);
    cot_chunk_free(ck);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_commit_statements(void **state)
{
    (void)state;
    sql_builder sb;
    sql_builder_init(&sb, "wh", 0);
    cot_pos pos = {.file = "binlog.000002", .pos = 4567, .gtid = "0-1-9"};
    uint32_t row0 = 0;
    sql_builder_add_commit(&sb, "p1", &row0, &pos, 1, 0, 0, 1700000000u);
    assert_int_equal(sb.n_stmts, 2);
    assert_int_equal(sb.stmts[0].kind, SQL_POSITION);
    assert_null(sb.stmts[0].td);
    assert_int_equal(sb.stmts[1].kind, SQL_COMMIT);
    assert_string_equal(
        sb.pkt.data,
        "INSERT INTO `cotter`.`positions` (pipeline,binlog_file,binlog_pos,gtid,source_ts) "
        "VALUES (_utf8mb4 X'7031',_utf8mb4 X'62696E6C6F672E303030303032',4567,"
        "_utf8mb4 X'302D312D39',1700000000) ON DUPLICATE KEY UPDATE "
        "binlog_file=VALUES(binlog_file),binlog_pos=VALUES(binlog_pos),gtid=VALUES(gtid),"
        "source_ts=VALUES(source_ts),updated_at=CURRENT_TIMESTAMP(6);COMMIT");
    assert_string_equal(sb.pkt.data + sb.stmts[1].off, "COMMIT");
    sql_builder_deinit(&sb);
}

/* Parallel load: worker rows are "PIPELINE#k", written together, and rows
 * of a wider old layout are pruned in the same transaction. */
static void test_commit_worker_rows(void **state)
{
    (void)state;
    sql_builder sb;
    sql_builder_init(&sb, "wh", 0);
    cot_pos pos[2] = {{.file = "b.1", .pos = 4}, {.file = "b.2", .pos = 9}};
    uint32_t idx[2] = {0, 2};
    sql_builder_add_commit(&sb, "p1", idx, pos, 2, 3, 5, 7u);
    assert_int_equal(sb.n_stmts, 3);
    assert_int_equal(sb.stmts[0].kind, SQL_POSITION);
    assert_int_equal(sb.stmts[1].kind, SQL_POSITION);
    assert_int_equal(sb.stmts[2].kind, SQL_COMMIT);
    /* "p1" and "p1#2" */
    assert_non_null(strstr(sb.pkt.data, "VALUES (_utf8mb4 X'7031',_utf8mb4 X'622E31',4,"));
    assert_non_null(strstr(sb.pkt.data, "),(_utf8mb4 X'70312332',_utf8mb4 X'622E32',9,"));
    /* "p1#3", "p1#4" */
    assert_non_null(strstr(sb.pkt.data, "DELETE FROM `cotter`.`positions` WHERE pipeline IN "
                                        "(_utf8mb4 X'70312333',_utf8mb4 X'70312334');COMMIT"));
    char name[64];
    sql_position_row_name("p1", 0, name, sizeof(name));
    assert_string_equal(name, "p1");
    sql_position_row_name("p1", 12, name, sizeof(name));
    assert_string_equal(name, "p1#12");
    sql_builder_deinit(&sb);
}

/* ---- LOAD DATA text ---------------------------------------------------------- */

static char *bulk_row(sql_tdesc *td, const cot_value *img, bool *ok)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "prefix|");
    *ok = sql_bulk_row(&b, td, img);
    char *r = xdup(b.data);
    buf_deinit(&b);
    return r;
}

static void test_bulk_rows(void **state)
{
    (void)state;
    static const char *const cols[] = {"id:i", "name:s", "raw:b", "x:d"};
    static const char *const tcols[] = {"id:int", "name:varchar", "raw:blob", "x:double:null"};
    cot_table *t = make_table("bulk", cols, 4);
    sql_tdesc *td = make_tdesc("bulk", tcols, 4, id_key, 1);
    sql_tdesc_set_charset(td, NULL); /* x */
    td->cols[1].charset = xdup("utf8mb4");
    td->n_unique = 1;
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_OK);
    assert_true(sql_tdesc_bulk_ok(td));

    cot_value img[4] = {vi(-7), vs("a\tb\nc\\d"), vs(""), vnull()};
    img[2].kind = VK_BINARY;
    static const char raw[] = {'x', 0, '\\', 'N'};
    img[2].s.p = raw;
    img[2].s.len = 4;
    bool ok;
    char *got = bulk_row(td, img, &ok);
    assert_true(ok);
    assert_string_equal(got, "prefix|-7\ta\\tb\\nc\\\\d\tx\\0\\\\N\t\\N\n");
    free(got);

    img[3].kind = VK_DOUBLE;
    img[3].d = 1.5;
    img[1] = vs("");
    img[2].s.len = 0;
    got = bulk_row(td, img, &ok);
    assert_true(ok);
    assert_string_equal(got, "prefix|-7\t\t\t1.50000000000000000e+00\n");
    free(got);

    /* issue 11: LOAD DATA reads a YEAR '0' as 2000; 0000 is the year 0 */
    t->cols[0].type = CT_YEAR;
    img[0] = vi(0);
    got = bulk_row(td, img, &ok);
    assert_true(ok);
    assert_string_equal(got, "prefix|0000\t\t\t1.50000000000000000e+00\n");
    free(got);
    img[0] = vi(2155);
    got = bulk_row(td, img, &ok);
    assert_string_equal(got, "prefix|2155\t\t\t1.50000000000000000e+00\n");
    free(got);
    t->cols[0].type = CT_LONG;
    img[0] = vi(0);
    got = bulk_row(td, img, &ok);
    assert_string_equal(got, "prefix|0\t\t\t1.50000000000000000e+00\n");
    free(got);
    img[0] = vi(-7);

    /* what text cannot carry leaves the buffer as it was */
    img[3].d = NAN;
    got = bulk_row(td, img, &ok);
    assert_false(ok);
    assert_string_equal(got, "prefix|");
    free(got);
    img[3] = vabsent();
    got = bulk_row(td, img, &ok);
    assert_false(ok);
    assert_string_equal(got, "prefix|");
    free(got);

    buf b;
    buf_init(&b);
    sql_bulk_statement(&b, td);
    assert_string_equal(b.data, "LOAD DATA LOCAL INFILE 'cotter-rows' REPLACE INTO TABLE "
                                "`warehouse`.`bulk` CHARACTER SET binary FIELDS TERMINATED BY "
                                "'\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                                "(`id`,`name`,`raw`,`x`)");
    buf_deinit(&b);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_bulk_members(void **state)
{
    (void)state;
    static const char *const cols[] = {"id:i", "e:i", "s:i"};
    static const char *const tcols[] = {"id:int", "e:enum", "s:set"};
    cot_table *t = make_table("m", cols, 3);
    static const char *const names[] = {"red", "gr\teen", "blue"};
    t->cols[1].type = CT_ENUM;
    t->cols[2].type = CT_SET;
    sql_tdesc *td = make_tdesc("m", tcols, 3, id_key, 1);
    td->n_unique = 1;
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_OK);
    assert_false(sql_tdesc_bulk_ok(td)); /* member names unknown */
    sql_tdesc_free(td);

    t->cols[1].members = t->cols[2].members = names;
    t->cols[1].n_members = t->cols[2].n_members = 3;
    td = make_tdesc("m", tcols, 3, id_key, 1);
    td->n_unique = 1;
    assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_OK);
    assert_true(sql_tdesc_bulk_ok(td));
    cot_value img[3] = {vi(1), {.kind = VK_ENUM}, {.kind = VK_SET}};
    img[1].u = 2;
    img[2].u = 5;
    bool ok;
    char *got = bulk_row(td, img, &ok);
    assert_true(ok);
    assert_string_equal(got, "prefix|1\tgr\\teen\tred,blue\n");
    free(got);
    img[1].u = 0; /* the '' error value has no name */
    got = bulk_row(td, img, &ok);
    assert_false(ok);
    free(got);
    img[1].u = 1;
    img[2].u = 8; /* no fourth member */
    got = bulk_row(td, img, &ok);
    assert_false(ok);
    free(got);
    sql_tdesc_free(td);
    cot_table_unref(t);
}

static void test_bulk_ok_rules(void **state)
{
    (void)state;
    static const char *const cols[] = {"id:i", "name:s"};
    cot_table *t = make_table("r", cols, 2);
    struct {
        const char *const *tcols;
        uint32_t n;
        uint32_t n_unique;
        const char *charset;
        bool ok;
    } cases[] = {
        {users_tcols, 2, 1, "utf8mb4", true},
        {users_tcols, 2, 2, "utf8mb4", false}, /* a second unique key: REPLACE deletes more */
        {users_tcols, 2, 1, "latin1", false},  /* text in another charset */
        {users_tcols, 2, 1, NULL, false},
        {(const char *const[]){"id:int", "name:varchar", "extra:int:null"}, 3, 1, "utf8mb4",
         false}, /* REPLACE would reset a target-only column */
        {(const char *const[]){"id:int", "name:varchar", "g:int:null:gen"}, 3, 1, "utf8mb4", true},
        {(const char *const[]){"id:int", "name:json"}, 2, 1, "utf8mb4", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sql_tdesc *td = make_tdesc("r", cases[i].tcols, cases[i].n, id_key, 1);
        free(td->cols[1].charset);
        td->cols[1].charset = cases[i].charset ? xdup(cases[i].charset) : NULL;
        td->n_unique = cases[i].n_unique;
        assert_int_equal(sql_tdesc_map(td, t, "wh"), COT_OK);
        if (sql_tdesc_bulk_ok(td) != cases[i].ok) fail_msg("case %zu", i);
        sql_tdesc_free(td);
    }
    cot_table_unref(t);
}

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(sink_ops_find("mysql"), &sink_mysql_ops);
    assert_ptr_equal(sink_ops_find("mariadb"), &sink_mysql_ops);
    assert_ptr_equal(sink_ops_find("MariaDB"), &sink_mysql_ops);
    assert_null(sink_ops_find("nosuchdb"));
    assert_null(sink_ops_find(NULL));
    assert_string_equal(sink_mysql_ops.scheme, "mysql");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_numbers),
        cmocka_unit_test(test_render_rejects_nan_and_bad_decimal),
        cmocka_unit_test(test_render_strings),
        cmocka_unit_test(test_pick_key),
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_inserts_merge_into_upsert),
        cmocka_unit_test(test_order_between_tables_kept),
        cmocka_unit_test(test_updates),
        cmocka_unit_test(test_cascading_foreign_keys),
        cmocka_unit_test(test_deletes),
        cmocka_unit_test(test_keyless_one_row_each),
        cmocka_unit_test(test_null_in_unique_key_is_keyless),
        cmocka_unit_test(test_absent_and_generated_columns),
        cmocka_unit_test(test_statement_size_bound),
        cmocka_unit_test(test_error_leaves_packet_unchanged),
        cmocka_unit_test(test_commit_statements),
        cmocka_unit_test(test_commit_worker_rows),
        cmocka_unit_test(test_bulk_rows),
        cmocka_unit_test(test_bulk_members),
        cmocka_unit_test(test_bulk_ok_rules),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
