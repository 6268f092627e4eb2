/*
 * Unit tests of the MySQL sink's value conversion (issue 3): every rule of
 * conv_value on hand-made target columns and values, and the policy
 * registry's mapping lookup. No server: the pure half of
 * sink_mysql_convert.c.
 */
#include "sink/sink_mysql_convert.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static arena mem;

static int setup(void **state)
{
    (void)state;
    arena_init(&mem);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_deinit(&mem);
    return 0;
}

static conv_target target(const char *dt, bool is_unsigned, uint64_t len, uint32_t prec,
                          uint32_t scale)
{
    conv_target t;
    conv_target_init(&t, "c", dt, is_unsigned, true, len, len * 4, prec, scale, prec);
    return t;
}

static cot_value vint(int64_t i)
{
    cot_value v = {.kind = VK_INT};
    v.i = i;
    return v;
}

static cot_value vuint(uint64_t u)
{
    cot_value v = {.kind = VK_UINT};
    v.u = u;
    return v;
}

static cot_value vtext(uint8_t kind, const char *s)
{
    cot_value v = {.kind = kind};
    v.s.p = s;
    v.s.len = (uint32_t)strlen(s);
    return v;
}

static void assert_text(const cot_value *v, uint8_t kind, const char *want)
{
    assert_int_equal(v->kind, kind);
    if (v->s.len != strlen(want) || memcmp(v->s.p, want, v->s.len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)v->s.len, v->s.p, want);
}

static void test_int_narrowing(void **state)
{
    (void)state;
    cot_column col = {.name = "c", .type = CT_LONGLONG};
    conv_target t = target("int", false, 0, 0, 0);
    cot_value out, v = vint(2147483647);
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_SAME);
    v = vint(3000000000LL);
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.kind, VK_INT);
    assert_int_equal(out.i, 2147483647);
    v = vint(-3000000000LL);
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.i, -2147483648LL);
    v = vuint(UINT64_MAX);
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.i, 2147483647);

    /* signed -> unsigned */
    conv_target tu = target("tinyint", true, 0, 0, 0);
    v = vint(-1);
    assert_int_equal(conv_value(&tu, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.kind, VK_UINT);
    assert_int_equal(out.u, 0);
    v = vint(255);
    assert_int_equal(conv_value(&tu, &col, &v, &mem, &out), CONV_SAME);
    v = vint(256);
    assert_int_equal(conv_value(&tu, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.i, 255);

    /* bigint unsigned takes what bigint cannot */
    conv_target tbu = target("bigint", true, 0, 0, 0);
    v = vuint(UINT64_MAX);
    assert_int_equal(conv_value(&tbu, &col, &v, &mem, &out), CONV_SAME);
    conv_target tb = target("bigint", false, 0, 0, 0);
    assert_int_equal(conv_value(&tb, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.i, INT64_MAX);
}

static void test_to_int_from_text_and_decimal(void **state)
{
    (void)state;
    cot_column col = {.name = "c", .type = CT_VARCHAR, .charset = "utf8mb4"};
    conv_target t = target("smallint", false, 0, 0, 0);
    cot_value out, v = vtext(VK_STRING, " 123 ");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_int_equal(out.kind, VK_INT);
    assert_int_equal(out.i, 123);
    v = vtext(VK_STRING, "abc");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_INVALID);
    v = vtext(VK_STRING, "1e3");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_int_equal(out.i, 1000);
    v = vtext(VK_DECIMAL, "-2.5");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_int_equal(out.i, -3); /* half away from zero, like MySQL */
    v = vtext(VK_DECIMAL, "40000.4");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.i, 32767);
    v = vtext(VK_DECIMAL, "-123456789012345678901234567890");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.i, -32768);
    cot_value d = {.kind = VK_DOUBLE};
    d.d = 1e10;
    assert_int_equal(conv_value(&t, &col, &d, &mem, &out), CONV_OVERFLOW);
    d.d = 12.5;
    assert_int_equal(conv_value(&t, &col, &d, &mem, &out), CONV_CHANGED);
    assert_int_equal(out.i, 13);
}

static void test_decimal(void **state)
{
    (void)state;
    cot_column col = {.name = "c", .type = CT_NEWDECIMAL};
    conv_target t = target("decimal", false, 0, 8, 2);
    cot_value out, v = vtext(VK_DECIMAL, "123456.7850");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_DECIMAL, "123456.79");
    v = vtext(VK_DECIMAL, "12.3400");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_DECIMAL, "12.34");
    v = vtext(VK_DECIMAL, "12.34");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_SAME);
    v = vtext(VK_DECIMAL, "99999999.9900"); /* 8 integer digits: DECIMAL(8,2) holds 6 */
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_text(&out, VK_DECIMAL, "999999.99");
    v = vtext(VK_DECIMAL, "-99999999.9900");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_text(&out, VK_DECIMAL, "-999999.99");
    v = vtext(VK_DECIMAL, "999999.995"); /* rounding carries into a 7th digit */
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    v = vtext(VK_DECIMAL, "-0.0040");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_DECIMAL, "0.00");
    v = vint(-42);
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_DECIMAL, "-42.00");
    conv_target tu = target("decimal", true, 0, 5, 0);
    assert_int_equal(conv_value(&tu, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_text(&out, VK_DECIMAL, "0");
    v = vtext(VK_STRING, "seven");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_INVALID);
}

static void test_strings(void **state)
{
    (void)state;
    cot_column col = {.name = "c", .type = CT_VARCHAR, .charset = "utf8mb4"};
    conv_target t = target("varchar", false, 10, 0, 0);
    /* 10 characters in 20 bytes fit a VARCHAR(10): characters, not bytes */
    cot_value out, v = vtext(VK_STRING, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_SAME);
    v = vtext(VK_STRING, "\xc3\xa9"
                         "bcdefghijkl");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_text(&out, VK_STRING,
                "\xc3\xa9"
                "bcdefghij"); /* cut at a character boundary */
    /* latin1 counts bytes */
    cot_column l1 = {.name = "c", .type = CT_VARCHAR, .charset = "latin1"};
    v = vtext(VK_STRING, "0123456789");
    assert_int_equal(conv_value(&t, &l1, &v, &mem, &out), CONV_SAME);
    /* numbers to strings */
    cot_column num = {.name = "n", .type = CT_LONGLONG};
    v = vint(-1234567);
    assert_int_equal(conv_value(&t, &num, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_STRING, "-1234567");
    cot_value d = {.kind = VK_DOUBLE};
    d.d = 0.1;
    assert_int_equal(conv_value(&t, &num, &d, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_STRING, "0.1");
    v = vint(12345678901LL);
    assert_int_equal(conv_value(&t, &num, &v, &mem, &out), CONV_OVERFLOW);
    /* ENUM and SET by member name */
    static const char *const members[] = {"new", "paid", "shipped"};
    cot_column en = {.name = "e", .type = CT_STRING, .members = members, .n_members = 3};
    cot_value e = {.kind = VK_ENUM};
    e.u = 2;
    assert_int_equal(conv_value(&t, &en, &e, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_STRING, "paid");
    e.u = 9;
    assert_int_equal(conv_value(&t, &en, &e, &mem, &out), CONV_INVALID);
    cot_value st = {.kind = VK_SET};
    st.u = 5;
    assert_int_equal(conv_value(&t, &en, &st, &mem, &out), CONV_OVERFLOW); /* 11 > 10 chars */
    conv_target t20 = target("varchar", false, 20, 0, 0);
    assert_int_equal(conv_value(&t20, &en, &st, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_STRING, "new,shipped");
    cot_column nomem = {.name = "e", .type = CT_STRING};
    e.u = 1;
    assert_int_equal(conv_value(&t, &nomem, &e, &mem, &out), CONV_INVALID);
    /* text columns count bytes; binary too */
    conv_target tt = target("tinytext", false, 255, 0, 0);
    tt.max_len = 4;
    v = vtext(VK_STRING, "\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_int_equal(conv_value(&tt, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.s.len, 4);
    conv_target tb = target("varbinary", false, 3, 0, 0);
    tb.max_len = 3;
    v = vtext(VK_BINARY, "abcd");
    assert_int_equal(conv_value(&tb, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.s.len, 3);
    assert_int_equal(conv_text_chars("utf8mb4", "\xf0\x9f\x98\x80x", 5), 2);
    assert_int_equal(conv_text_chars("utf32", "\0\0\0a\0\0\0b", 8), 2);
}

static void test_numbers_from_text(void **state)
{
    (void)state;
    cot_column col = {.name = "c", .type = CT_VARCHAR, .charset = "utf8mb4"};
    conv_target t = target("double", false, 0, 0, 0);
    cot_value out, v = vtext(VK_STRING, "2.5e3");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_CHANGED);
    assert_int_equal(out.kind, VK_DOUBLE);
    assert_true(out.d == 2500.0);
    v = vtext(VK_STRING, "x1");
    assert_int_equal(conv_value(&t, &col, &v, &mem, &out), CONV_INVALID);
    conv_target tf = target("float", false, 0, 0, 0);
    cot_value d = {.kind = VK_DOUBLE};
    d.d = 1e300;
    assert_int_equal(conv_value(&tf, &col, &d, &mem, &out), CONV_OVERFLOW);
    d.d = 1.5;
    assert_int_equal(conv_value(&tf, &col, &d, &mem, &out), CONV_SAME);
}

static void test_temporal(void **state)
{
    (void)state;
    cot_column col = {.name = "c", .type = CT_DATETIME2};
    conv_target td = target("date", false, 0, 0, 0);
    cot_value out, v = vtext(VK_TEMPORAL, "2024-02-29 23:59:59.123456");
    assert_int_equal(conv_value(&td, &col, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_TEMPORAL, "2024-02-29");
    conv_target tdt = target("datetime", false, 0, 3, 0);
    assert_int_equal(conv_value(&tdt, &col, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_TEMPORAL, "2024-02-29 23:59:59.123");
    conv_target tdt0 = target("datetime", false, 0, 0, 0);
    assert_int_equal(conv_value(&tdt0, &col, &v, &mem, &out), CONV_CHANGED);
    assert_text(&out, VK_TEMPORAL, "2024-02-29 23:59:59");
    conv_target tdt6 = target("datetime", false, 0, 6, 0);
    assert_int_equal(conv_value(&tdt6, &col, &v, &mem, &out), CONV_SAME);
    conv_target ts = target("timestamp", false, 0, 0, 0);
    v = vtext(VK_TEMPORAL, "2040-01-01 00:00:00");
    assert_int_equal(conv_value(&ts, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_text(&out, VK_TEMPORAL, "2038-01-19 03:14:07");
    v = vtext(VK_TEMPORAL, "1960-05-01");
    assert_int_equal(conv_value(&ts, &col, &v, &mem, &out), CONV_OVERFLOW);
    assert_text(&out, VK_TEMPORAL, "1970-01-01 00:00:01");
    v = vtext(VK_TEMPORAL, "0000-00-00 00:00:00");
    assert_int_equal(conv_value(&ts, &col, &v, &mem, &out), CONV_SAME);
    v = vtext(VK_TEMPORAL, "2020-01-01 10:00:00");
    assert_int_equal(conv_value(&ts, &col, &v, &mem, &out), CONV_SAME);
    conv_target ty = target("year", false, 0, 0, 0);
    cot_value y = vint(1800);
    assert_int_equal(conv_value(&ty, &col, &y, &mem, &out), CONV_OVERFLOW);
    assert_int_equal(out.i, 1901);
    cot_value null = {.kind = VK_NULL};
    assert_int_equal(conv_value(&ty, &col, &null, &mem, &out), CONV_SAME);
}

static void test_registry(void **state)
{
    (void)state;
    cfg_table_map maps[2];
    memset(maps, 0, sizeof(maps));
    maps[0].match = "shop.order_*";
    maps[0].on_overflow = CFG_OVERFLOW_CLAMP;
    maps[1].match = "shop.user?";
    maps[1].conflict = CFG_CONFLICT_SKIP;
    cfg_pipeline pc;
    memset(&pc, 0, sizeof(pc));
    pc.name = "p-reg";
    pc.tables = maps;
    pc.n_tables = 2;
    assert_null(sink_policy_mapping("p-reg", "shop", "order_1"));
    sink_policy_register(&pc);
    assert_ptr_equal(sink_policy_mapping("p-reg", "shop", "order_1"), &maps[0]);
    assert_ptr_equal(sink_policy_mapping("p-reg", "shop", "users"), &maps[1]);
    assert_null(sink_policy_mapping("p-reg", "shop", "items"));
    /* a gh-ost shadow table takes its base table's mapping */
    assert_ptr_equal(sink_policy_mapping("p-reg", "shop", "_order_1_gho"), &maps[0]);
    assert_null(sink_policy_mapping("p-reg", "crm", "users"));
    assert_null(sink_policy_mapping("other", "shop", "users"));
    sink_policy_counts c;
    sink_policy_counts_get("p-reg", &c);
    assert_int_equal(c.conflicts + c.clamped + c.nulled + c.skipped, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_narrowing),
        cmocka_unit_test(test_to_int_from_text_and_decimal),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers_from_text),
        cmocka_unit_test(test_temporal),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
