/*
 * Unit tests of the initial load's value reading that the stream must
 * agree with (issue 11): ENUM and SET columns described from
 * information_schema get the stream's TABLE_MAP form, their text values
 * become the member index / bitmask, and a row filter then keeps the same
 * rows as on the stream's values.
 */
#include "pipeline/row_filter.h"
#include "snapshot/snapshot.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_members(void **state)
{
    (void)state;
    cot_column cc = {0};
    assert_true(snapshot_column_members(&cc, "enum", "enum('bronze','silver','gold')"));
    assert_int_equal(cc.type, CT_STRING);
    assert_int_equal(cc.meta >> 8, CT_ENUM);
    assert_int_equal(cc.meta & 0xff, 1);
    assert_int_equal(cc.n_members, 3);
    assert_string_equal(cc.members[2], "gold");

    cot_column st = {0};
    assert_true(snapshot_column_members(&st, "SET", "set('a','b','c')"));
    assert_int_equal(st.meta >> 8, CT_SET);

    cot_column other = {0};
    assert_false(snapshot_column_members(&other, "varchar", "varchar(10)"));
    assert_null(other.members);
    assert_int_equal(other.meta, 0);
}

static void test_member_value(void **state)
{
    (void)state;
    cot_column en = {0}, st = {0}, plain = {0};
    assert_true(snapshot_column_members(&en, "enum", "enum('bronze','silver','gold')"));
    assert_true(snapshot_column_members(&st, "set", "set('a','b','c','d')"));
    cot_value v = {0};

    assert_true(snapshot_member_value(&en, "silver", 6, &v));
    assert_int_equal(v.kind, VK_ENUM);
    assert_int_equal(v.u, 2);
    assert_true(snapshot_member_value(&en, "", 0, &v)); /* the error value */
    assert_int_equal(v.u, 0);
    v.kind = VK_STRING;
    assert_false(snapshot_member_value(&en, "Gold", 4, &v)); /* no member: read as text */
    assert_int_equal(v.kind, VK_STRING);
    assert_false(snapshot_member_value(&en, NULL, 0, &v)); /* SQL NULL */

    assert_true(snapshot_member_value(&st, "a,c", 3, &v));
    assert_int_equal(v.kind, VK_SET);
    assert_int_equal(v.u, 5);
    assert_true(snapshot_member_value(&st, "", 0, &v));
    assert_int_equal(v.u, 0);
    assert_false(snapshot_member_value(&st, "a,x", 3, &v));

    assert_false(snapshot_member_value(&plain, "a", 1, &v)); /* not ENUM / SET */
}

/* filter_keeps evaluates where on a one-column table whose column is cc. */
static int filter_keeps(const char *where, cot_column *cc, const cot_value *v)
{
    cot_table *tbl = cot_table_new("s", "t", 1);
    tbl->has_names = true;
    tbl->cols[0] = *cc;
    tbl->cols[0].name = strdup("c");
    row_filter *rf = NULL;
    assert_int_equal(row_filter_compile(where, tbl, 0, &rf), COT_OK);
    int r = row_filter_eval(rf, v);
    row_filter_free(rf);
    cot_table_unref(tbl);
    return r;
}

static void test_filter_agrees(void **state)
{
    (void)state;
    cot_column en = {0}, st = {0};
    assert_true(snapshot_column_members(&en, "enum", "enum('bronze','silver','gold')"));
    assert_true(snapshot_column_members(&st, "set", "set('a','b','c','d')"));
    static const struct {
        const char *text, *where;
        int keep;
    } cases[] = {
        {"gold", "c >= 3", 1},  {"silver", "c >= 3", 0},    {"gold", "c = 'gold'", 1},
        {"bronze", "c < 2", 1}, {"gold", "c IN (1, 3)", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cot_value copied = {0}, streamed = {.kind = VK_ENUM};
        assert_true(snapshot_member_value(&en, cases[i].text, strlen(cases[i].text), &copied));
        for (uint32_t m = 0; m < en.n_members; m++)
            if (strcmp(en.members[m], cases[i].text) == 0) streamed.u = m + 1;
        assert_int_equal(filter_keeps(cases[i].where, &en, &copied), cases[i].keep);
        assert_int_equal(filter_keeps(cases[i].where, &en, &streamed), cases[i].keep);
    }
    cot_value copied = {0}, streamed = {.kind = VK_SET, .u = 5};
    assert_true(snapshot_member_value(&st, "a,c", 3, &copied));
    assert_int_equal(filter_keeps("c > 5 OR c = 'a,c'", &st, &copied), 1);
    assert_int_equal(filter_keeps("c > 5 OR c = 'a,c'", &st, &streamed), 1);
    assert_int_equal(filter_keeps("c > 5", &st, &copied), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_member_value),
        cmocka_unit_test(test_filter_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
