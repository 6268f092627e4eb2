/*
 * Unit tests for the small utilities: error table, buffer, arena, event
 * chunks and table references.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "event/event.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdint.h>
#include <string.h>

static void test_err_classes(void **state)
{
    (void)state;
    assert_true(cot_err_retriable(COT_ERR_NET));
    assert_true(cot_err_retriable(COT_ERR_SQL_RETRY));
    assert_false(cot_err_retriable(COT_ERR_SCHEMA));
    assert_false(cot_err_retriable(COT_ERR_CONFIG));
    assert_string_equal(cot_err_name(COT_ERR_MALFORMED), "MALFORMED");
    assert_string_equal(cot_err_name((cot_err)999), "UNKNOWN");
    assert_int_equal(cot_err_set(COT_ERR_IO, "disk %d full", 3), COT_ERR_IO);
    cot_err_prefix("writing %s: ", "x");
    assert_string_equal(cot_err_msg(), "writing x: disk 3 full");
    assert_int_equal(cot_err_code(), COT_ERR_IO);
    /* issue 18: a message that adds advice to the one already set kept only
     * the advice, starting with "; " */
    cot_err_set(COT_ERR_AUTH, "%s; grant it", cot_err_msg());
    assert_string_equal(cot_err_msg(), "writing x: disk 3 full; grant it");
}

static void test_buf(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    buf_puts(&b, "a");
    buf_printf(&b, "%d-%s", 42, "z");
    const uint8_t bytes[] = {0x00, 0xff, 0x1a};
    buf_hex(&b, bytes, 3);
    buf_ident(&b, "we`ird");
    assert_string_equal(b.data, "a42-z00FF1A`we``ird`");
    buf_reset(&b);
    buf_i64(&b, INT64_MIN);
    buf_putc(&b, ' ');
    buf_i64(&b, -7);
    buf_putc(&b, ' ');
    buf_i64(&b, 0);
    buf_putc(&b, ' ');
    buf_u64(&b, UINT64_MAX);
    assert_string_equal(b.data, "-9223372036854775808 -7 0 18446744073709551615");
    buf_reset(&b);
    buf_puts(&b, "a42-z00FF1A`we``ird`");
    for (int i = 0; i < 10000; i++) buf_putc(&b, 'x');
    assert_int_equal(b.len, 20 + 10000);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_deinit(&b);
}

static void test_arena(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    char *s = arena_strdup(&a, "hello");
    void *big = arena_alloc(&a, 1 << 20); /* bigger than a block */
    memset(big, 1, 1 << 20);
    char *t = arena_strndup(&a, "world!!", 5);
    assert_string_equal(s, "hello");
    assert_string_equal(t, "world");
    assert_true(a.used >= (1u << 20));
    assert_int_equal(((uintptr_t)arena_alloc(&a, 3)) % 16, 0);
    arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_string_equal(arena_strdup(&a, "again"), "again");
    arena_deinit(&a);
}

static void test_chunk_holds_table_refs(void **state)
{
    (void)state;
    cot_table *t1 = cot_table_new("shop", "users", 2);
    cot_table *t2 = cot_table_clone_as(t1, "wh", "users_copy");
    assert_string_equal(t2->src_schema, "shop");
    assert_string_equal(t2->schema, "wh");
    cot_chunk *ck = cot_chunk_new();
    cot_change *c = cot_chunk_add(ck, OP_INSERT, t1);
    c->after = cot_chunk_values(ck, 2);
    cot_chunk_add(ck, OP_DELETE, t1);
    cot_chunk_add(ck, OP_UPDATE, t2);
    assert_int_equal(ck->n_changes, 3);
    assert_int_equal(ck->n_tables, 2); /* consecutive changes share one reference */
    cot_table_unref(t1);
    cot_table_unref(t2);
    /* the chunk keeps them alive */
    assert_string_equal(ck->changes[0].tbl->name, "users");
    assert_string_equal(ck->changes[2].tbl->name, "users_copy");
    cot_chunk_account(ck);
    assert_true(ck->bytes > 0);
    cot_chunk_free(ck);
}

static void test_enum_members(void **state)
{
    (void)state;
    /* interning: equal lists share one copy, which does not alias the input */
    char a[] = "new", b[] = "paid", c[] = "deleted";
    const char *const in[] = {a, b, c};
    const char *const *m = cot_members_intern(in, 3);
    assert_non_null(m);
    assert_ptr_not_equal(m[0], a);
    a[0] = 'X'; /* the caller's buffers may change afterwards */
    assert_string_equal(m[0], "new");
    assert_string_equal(m[1], "paid");
    assert_string_equal(m[2], "deleted");
    static const char *const same[] = {"new", "paid", "deleted"};
    assert_ptr_equal(cot_members_intern(same, 3), m);
    static const char *const fewer[] = {"new", "paid"};
    static const char *const joined[] = {"newpaid", "deleted"};
    static const char *const swapped[] = {"paid", "new", "deleted"};
    assert_ptr_not_equal(cot_members_intern(fewer, 2), m);
    assert_ptr_not_equal(cot_members_intern(joined, 2), cot_members_intern(fewer, 2));
    assert_string_equal(cot_members_intern(swapped, 3)[0], "paid");
    assert_null(cot_members_intern(same, 0));

    /* a clone carries the names; a column copied by value outlives its table */
    cot_table *t1 = cot_table_new("shop", "orders", 2);
    t1->cols[1].type = CT_STRING;
    t1->cols[1].members = m;
    t1->cols[1].n_members = 3;
    cot_table *t2 = cot_table_clone_as(t1, "wh", "orders_copy");
    assert_ptr_equal(t2->cols[1].members, m);
    assert_int_equal(t2->cols[1].n_members, 3);
    assert_null(t2->cols[0].members);
    assert_int_equal(t2->cols[0].n_members, 0);
    cot_column copy = t1->cols[1];
    cot_table_unref(t1);
    cot_table_unref(t2);
    assert_string_equal(copy.members[2], "deleted"); /* ASan: no use after free */
}

static void test_pos_format(void **state)
{
    (void)state;
    cot_pos p = {.pos = 1234};
    strcpy(p.file, "binlog.000002");
    char out[300];
    cot_pos_format(&p, out, sizeof(out));
    assert_string_equal(out, "binlog.000002:1234");
    strcpy(p.gtid, "0-1-9");
    cot_pos_format(&p, out, sizeof(out));
    assert_string_equal(out, "binlog.000002:1234 (gtid 0-1-9)");
    assert_ptr_equal(cot_charset_intern("utf8mb4"), cot_charset_intern("utf8mb4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_classes), cmocka_unit_test(test_buf),
        cmocka_unit_test(test_arena),       cmocka_unit_test(test_chunk_holds_table_refs),
        cmocka_unit_test(test_pos_format),  cmocka_unit_test(test_enum_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
