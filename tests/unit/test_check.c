/*
 * Unit tests of the pure half of check/repair: literals and normalized
 * row expressions, key-range predicates (chunk boundaries), tuple
 * encoding, the diff of two sorted (key, hash) lists, upsert text, the
 * chunk-size controller and JSON of keys.
 */
#include "check/check_sql.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static check_col COLS[] = {
    {.tgt_name = "a", .tgt_type = "int", .src_name = "a", .src_type = "int"},
    {.tgt_name = "b", .tgt_type = "varchar", .src_name = "b", .src_type = "varchar"},
    {.tgt_name = "bin", .tgt_type = "blob", .src_name = "bin", .src_type = "blob"},
    {.tgt_name = "f", .tgt_type = "double", .src_name = "f", .src_type = "double"},
    {.tgt_name = "origin", .tgt_type = "varchar", .src_type = "varchar", .const_val = "x"},
};
static const uint32_t KEYS[] = {0, 1};

static void tuple(buf *t, const char *a, const char *b)
{
    buf_reset(t);
    check_tuple_add(t, a, strlen(a));
    if (b) check_tuple_add(t, b, strlen(b));
}

static void test_literal(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    check_sql_literal(&b, "42", 2, "int");
    check_sql_literal(&b, "1' OR 1", 7, "int"); /* not a number: quoted as hex */
    check_sql_literal(&b, "\x01\xff", 2, "varbinary");
    check_sql_literal(&b, "", 0, "varchar");
    check_sql_literal(&b, NULL, 0, "int");
    assert_string_equal(b.data, "42_utf8mb4 X'3127204F522031'X'01FF'''NULL");
    buf_deinit(&b);
}

static void test_row_hash(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    check_sql_row_hash(&b, COLS, 5, CHECK_SRC);
    assert_string_equal(b.data,
                        "CAST(CRC32(CONCAT_WS('#',`a`,CHAR_LENGTH(`b`),CONVERT(`b` USING utf8mb4),"
                        "HEX(`bin`),CAST(`f` AS CHAR),CHAR_LENGTH(_utf8mb4 X'78'),"
                        "CONVERT(_utf8mb4 X'78' USING utf8mb4),"
                        "CONCAT(ISNULL(`a`),ISNULL(`b`),ISNULL(`bin`),ISNULL(`f`),0))) "
                        "AS UNSIGNED)*2654435761");
    buf_reset(&b);
    check_sql_row_text(&b, COLS + 4, 1, CHECK_TGT);
    assert_string_equal(b.data, "CONCAT_WS('#',CHAR_LENGTH(`origin`),CONVERT(`origin` USING "
                                "utf8mb4),CONCAT(ISNULL(`origin`)))");
    buf_deinit(&b);
}

/* Issue 11: a FLOAT's own text has 6 digits (1/7 reads 0.142857), so the
 * row text, a fetched value and a key read it widened to DOUBLE; a text
 * column mapped to a number is not quoted (the two sides must read alike). */
static void test_float_and_mixed(void **state)
{
    (void)state;
    static check_col cols[] = {
        {.tgt_name = "f", .tgt_type = "float", .src_name = "f", .src_type = "float"},
        {.tgt_name = "n", .tgt_type = "int", .src_name = "s", .src_type = "varchar"},
        {.tgt_name = "c", .tgt_type = "float", .src_type = "varchar", .const_val = "1.5"},
    };
    buf b;
    buf_init(&b);
    check_sql_row_text(&b, cols, 3, CHECK_SRC);
    assert_string_equal(b.data, "CONCAT_WS('#',CAST((`f`+0e0) AS CHAR),CONVERT(`s` USING utf8mb4),"
                                "CONVERT(_utf8mb4 X'312E35' USING utf8mb4),"
                                "CONCAT(ISNULL(`f`),ISNULL(`s`),0))");
    buf_reset(&b);
    check_sql_row_text(&b, cols, 2, CHECK_TGT);
    assert_string_equal(b.data, "CONCAT_WS('#',CAST((`f`+0e0) AS CHAR),`n`,"
                                "CONCAT(ISNULL(`f`),ISNULL(`n`)))");
    buf_reset(&b);
    check_sql_col_value(&b, &cols[0], CHECK_TGT);
    check_sql_col_value(&b, &cols[1], CHECK_SRC);
    check_sql_col_raw(&b, &cols[0], CHECK_SRC);
    assert_string_equal(b.data, "(`f`+0e0)`s``f`");
    buf_reset(&b);
    /* a float read back as a DOUBLE's text is pasted as a DOUBLE literal */
    check_sql_literal(&b, "0.1428571492433548", 18, "float");
    buf_putc(&b, ' ');
    check_sql_literal(&b, "1e-45", 5, "double");
    buf_putc(&b, ' ');
    check_sql_literal(&b, "12.5", 4, "decimal");
    assert_string_equal(b.data, "0.1428571492433548e0 1e-45 12.5");
    buf_deinit(&b);
}

static void test_key_range(void **state)
{
    (void)state;
    buf b, lo, hi;
    buf_init(&b);
    buf_init(&lo);
    buf_init(&hi);
    check_sql_key_range(&b, COLS, KEYS, 1, CHECK_SRC, NULL, 0, NULL, 0);
    assert_string_equal(b.data, "1");

    tuple(&lo, "5", NULL);
    tuple(&hi, "9", NULL);
    buf_reset(&b);
    check_sql_key_range(&b, COLS, KEYS, 1, CHECK_SRC, (uint8_t *)lo.data, lo.len,
                        (uint8_t *)hi.data, hi.len);
    assert_string_equal(b.data, "((`a` > 5)) AND ((`a` <= 9))");

    tuple(&lo, "5", "k");
    buf_reset(&b);
    check_sql_key_range(&b, COLS, KEYS, 2, CHECK_TGT, (uint8_t *)lo.data, lo.len, NULL, 0);
    assert_string_equal(b.data, "(`a` >= 5 AND (`a` > 5 OR (`a` = 5 AND (`b` > _utf8mb4 X'6B'))))");
    tuple(&hi, "7", "z");
    buf_reset(&b);
    check_sql_key_range(&b, COLS, KEYS, 2, CHECK_TGT, NULL, 0, (uint8_t *)hi.data, hi.len);
    assert_string_equal(b.data,
                        "(`a` <= 7 AND (`a` < 7 OR (`a` = 7 AND (`b` <= _utf8mb4 X'7A'))))");
    buf_reset(&b);
    check_sql_key_eq(&b, COLS, KEYS, 2, CHECK_TGT, (uint8_t *)hi.data, hi.len);
    assert_string_equal(b.data, "(`a` = 7 AND `b` = _utf8mb4 X'7A')");
    buf_deinit(&b);
    buf_deinit(&lo);
    buf_deinit(&hi);
}

static void test_tuple(void **state)
{
    (void)state;
    buf t;
    buf_init(&t);
    check_tuple_add(&t, "ab", 2);
    check_tuple_add(&t, NULL, 0);
    check_tuple_add(&t, "", 0);
    const char *v;
    size_t n;
    assert_true(check_tuple_part((uint8_t *)t.data, t.len, 0, &v, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(v, "ab", 2);
    assert_true(check_tuple_part((uint8_t *)t.data, t.len, 1, &v, &n));
    assert_null(v);
    assert_true(check_tuple_part((uint8_t *)t.data, t.len, 2, &v, &n));
    assert_non_null(v);
    assert_int_equal(n, 0);
    assert_false(check_tuple_part((uint8_t *)t.data, t.len, 3, &v, &n));
    /* a truncated tuple is refused, not over-read */
    assert_false(check_tuple_part((uint8_t *)t.data, 5, 0, &v, &n));
    buf_deinit(&t);
}

typedef struct seen {
    char log[256];
} seen;

static void on_diff(void *ctx, check_kind kind, const check_row *s, const check_row *t)
{
    seen *sn = ctx;
    const check_row *r = s ? s : t;
    const char *v;
    size_t n;
    check_tuple_part(r->key, r->key_len, 0, &v, &n);
    size_t len = strlen(sn->log);
    snprintf(sn->log + len, sizeof(sn->log) - len, "%s:%.*s ", check_kind_name(kind), (int)n, v);
}

static void add(check_rows *rs, const char *key, uint32_t crc)
{
    buf t;
    buf_init(&t);
    check_tuple_add(&t, key, strlen(key));
    check_rows_add(rs, t.data, t.len, crc, NULL, 0);
    buf_deinit(&t);
}

static void test_diff(void **state)
{
    (void)state;
    check_rows a, b;
    check_rows_init(&a);
    check_rows_init(&b);
    add(&a, "3", 30);
    add(&a, "1", 10);
    add(&a, "2", 20);
    add(&a, "5", 50);
    add(&b, "5", 50);
    add(&b, "2", 21);
    add(&b, "4", 40);
    add(&b, "1", 10);
    check_rows_sort(&a);
    check_rows_sort(&b);
    seen sn = {{0}};
    assert_int_equal(check_rows_diff(&a, &b, on_diff, &sn), 3);
    assert_string_equal(sn.log, "different:2 missing:3 extra:4 ");

    /* multisets (keyless): duplicates pair off one to one */
    check_rows_clear(&a);
    check_rows_clear(&b);
    add(&a, "boot", 0);
    add(&a, "boot", 0);
    add(&a, "tick", 0);
    add(&b, "boot", 0);
    add(&b, "tick", 0);
    add(&b, "tick", 0);
    check_rows_sort(&a);
    check_rows_sort(&b);
    memset(&sn, 0, sizeof(sn));
    assert_int_equal(check_rows_diff(&a, &b, on_diff, &sn), 2);
    assert_string_equal(sn.log, "missing:boot extra:tick ");

    /* a key that is a prefix of another sorts first and is not equal */
    check_rows_clear(&a);
    check_rows_clear(&b);
    add(&a, "ab", 1);
    add(&b, "abc", 1);
    memset(&sn, 0, sizeof(sn));
    assert_int_equal(check_rows_diff(&a, &b, on_diff, &sn), 2);

    /* check_rows_has: the aged-out keys of a NOW() where: are looked up so */
    check_rows_clear(&a);
    assert_false(check_rows_has(&a, "x", 1));
    add(&a, "7", 0);
    add(&a, "10", 0);
    add(&a, "ab", 0);
    check_rows_sort(&a);
    buf k;
    buf_init(&k);
    const char *look[] = {"7", "10", "ab", "a", "abc", "1"};
    for (int i = 0; i < 6; i++) {
        buf_reset(&k);
        check_tuple_add(&k, look[i], strlen(look[i]));
        assert_int_equal(check_rows_has(&a, k.data, k.len), i < 3);
    }
    buf_deinit(&k);
    check_rows_deinit(&a);
    check_rows_deinit(&b);
}

static void test_upsert(void **state)
{
    (void)state;
    buf q, row;
    buf_init(&q);
    buf_init(&row);
    check_sql_upsert_head(&q, "s", "t", COLS, 2);
    tuple(&row, "7", "it's");
    check_sql_upsert_row(&q, COLS, 2, (uint8_t *)row.data, row.len, true);
    buf_reset(&row);
    check_tuple_add(&row, "8", 1);
    check_tuple_add(&row, NULL, 0);
    check_sql_upsert_row(&q, COLS, 2, (uint8_t *)row.data, row.len, false);
    check_sql_upsert_tail(&q, COLS, 2, KEYS, 1);
    assert_string_equal(q.data, "INSERT INTO `s`.`t` (`a`,`b`) VALUES (7,_utf8mb4 X'69742773'"
                                "),(8,NULL) ON DUPLICATE KEY UPDATE `b`=VALUES(`b`)");
    buf_deinit(&q);
    buf_deinit(&row);
}

static void test_chunk_size(void **state)
{
    (void)state;
    assert_int_equal(check_chunk_next_size(1000, 0.25, 0.5, 100, 100000), 2000);
    assert_int_equal(check_chunk_next_size(1000, 0.01, 0.5, 100, 100000), 2000); /* at most x2 */
    assert_int_equal(check_chunk_next_size(1000, 0.625, 0.5, 100, 100000), 800);
    assert_int_equal(check_chunk_next_size(1000, 10.0, 0.5, 100, 100000), 500); /* at most /2 */
    assert_int_equal(check_chunk_next_size(150, 10.0, 0.5, 100, 100000), 100);
    assert_int_equal(check_chunk_next_size(90000, 0.1, 0.5, 100, 100000), 100000);
}

static void test_json(void **state)
{
    (void)state;
    buf b, k;
    buf_init(&b);
    buf_init(&k);
    check_json_str(&b, "a\"b\\c\n\x01", 7);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
    check_col cols[] = {{.tgt_name = "id", .tgt_type = "varbinary"},
                        {.tgt_name = "n", .tgt_type = "varchar"}};
    uint32_t keys[] = {0, 1};
    check_tuple_add(&k, "\x00\xab", 2);
    check_tuple_add(&k, "x", 1);
    buf_reset(&b);
    check_key_json(&b, cols, keys, 2, (uint8_t *)k.data, k.len);
    assert_string_equal(b.data, "{\"id\":\"0x00AB\",\"n\":\"x\"}");
    buf_deinit(&b);
    buf_deinit(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_row_hash),
        cmocka_unit_test(test_float_and_mixed),
        cmocka_unit_test(test_key_range),
        cmocka_unit_test(test_tuple),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_upsert),
        cmocka_unit_test(test_chunk_size),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
