/*
 * Unit tests of the initial load's pure logic (snapshot_key): key encoding
 * across value kinds and collations, the key set, chunk range SQL and the
 * stored last key.
 */
#include "snapshot/snapshot_key.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static cot_value v_int(int64_t i)
{
    cot_value v = {.kind = VK_INT};
    v.i = i;
    return v;
}

static cot_value v_uint(uint64_t u)
{
    cot_value v = {.kind = VK_UINT};
    v.u = u;
    return v;
}

static cot_value v_str(uint8_t kind, const char *s)
{
    cot_value v = {.kind = kind};
    v.s.p = s;
    v.s.len = (uint32_t)strlen(s);
    return v;
}

/* enc encodes the first n values of img as a key into a fresh string. */
static char *enc(const cot_value *img, uint32_t n, const bool *fold, size_t *len)
{
    uint32_t cols[SNAP_KEY_MAX];
    for (uint32_t i = 0; i < n; i++) cols[i] = i;
    buf b;
    buf_init(&b);
    if (!snap_key_encode(&b, img, cols, fold, n)) {
        buf_deinit(&b);
        return NULL;
    }
    *len = b.len;
    return b.data; /* the caller frees */
}

static bool same_key(const cot_value *a, const cot_value *b, uint32_t n, const bool *fold)
{
    size_t la = 0, lb = 0;
    char *ka = enc(a, n, fold, &la), *kb = enc(b, n, fold, &lb);
    bool same = ka && kb && la == lb && memcmp(ka, kb, la) == 0;
    free(ka);
    free(kb);
    return same;
}

static void test_encode_kinds(void **state)
{
    (void)state;
    bool nofold[2] = {false, false};
    /* an integer read as text (signed) equals the binlog's unsigned decode */
    cot_value a[1] = {v_int(42)}, b[1] = {v_uint(42)}, c[1] = {v_int(43)};
    assert_true(same_key(a, b, 1, nofold));
    assert_false(same_key(a, c, 1, nofold));
    /* two columns: ("1","23") must not equal ("12","3") */
    cot_value d[2] = {v_str(VK_STRING, "1"), v_str(VK_STRING, "23")};
    cot_value e[2] = {v_str(VK_STRING, "12"), v_str(VK_STRING, "3")};
    assert_false(same_key(d, e, 2, nofold));
    /* absent key values cannot be matched */
    cot_value f[1] = {{.kind = VK_ABSENT}};
    size_t len;
    assert_null(enc(f, 1, nofold, &len));
    cot_value g[1] = {{.kind = VK_DOUBLE}};
    assert_null(enc(g, 1, nofold, &len));
}

static void test_encode_fold(void **state)
{
    (void)state;
    bool fold[1] = {true}, nofold[1] = {false};
    cot_value a[1] = {v_str(VK_STRING, "Code12  ")}, b[1] = {v_str(VK_STRING, "cODE12")};
    assert_true(same_key(a, b, 1, fold));
    assert_false(same_key(a, b, 1, nofold));
    /* binary values never fold */
    cot_value c[1] = {v_str(VK_BINARY, "AB")}, d[1] = {v_str(VK_BINARY, "ab")};
    assert_false(same_key(c, d, 1, fold));
}

static void test_keyset(void **state)
{
    (void)state;
    snap_keyset ks;
    snap_keyset_init(&ks);
    char key[32];
    for (uint32_t i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "k%u", i);
        assert_true(snap_keyset_add(&ks, key, (size_t)n, i));
    }
    assert_false(snap_keyset_add(&ks, "k7", 2, 99)); /* a duplicate is refused */
    assert_int_equal(snap_keyset_find(&ks, "k7", 2), 7);
    assert_int_equal(snap_keyset_find(&ks, "k4999", 5), 4999);
    assert_int_equal(snap_keyset_find(&ks, "k5000", 5), UINT32_MAX);
    assert_int_equal(snap_keyset_find(&ks, "k", 1), UINT32_MAX);
    snap_keyset_reset(&ks);
    assert_int_equal(snap_keyset_find(&ks, "k7", 2), UINT32_MAX);
    assert_true(snap_keyset_add(&ks, "k7", 2, 1));
    assert_int_equal(snap_keyset_find(&ks, "k7", 2), 1);
    snap_keyset_deinit(&ks);
}

static void test_range_sql(void **state)
{
    (void)state;
    const char *names[2] = {"a", "b"};
    uint8_t lits[2] = {SNAP_LIT_NUMBER, SNAP_LIT_STRING};
    const char *cs[2] = {NULL, "latin1"};
    snap_keydef one = {1, names, lits, cs};
    snap_keydef two = {2, names, lits, cs};
    snap_keyval lo = {{"10", "x"}, {2, 1}}, hi = {{"20", "y"}, {2, 1}};
    buf b;
    buf_init(&b);
    assert_true(snap_range_sql(&b, &one, NULL, NULL));
    assert_string_equal(b.data, "1");
    buf_reset(&b);
    assert_true(snap_range_sql(&b, &one, &lo, NULL));
    assert_string_equal(b.data, "(`a` > 10)");
    buf_reset(&b);
    assert_true(snap_range_sql(&b, &one, &lo, &hi));
    assert_string_equal(b.data, "(`a` > 10) AND (`a` <= 20)");
    buf_reset(&b);
    assert_true(snap_range_sql(&b, &two, &lo, &hi));
    assert_string_equal(b.data, "(`a` > 10 OR (`a` = 10 AND (`b` > _latin1 X'78'))) AND "
                                "(`a` < 20 OR (`a` = 20 AND (`b` <= _latin1 X'79')))");
    /* values that are not what their literal kind allows are refused */
    snap_keyval bad = {{"1 OR 1=1"}, {8}};
    buf_reset(&b);
    assert_false(snap_range_sql(&b, &one, &bad, NULL));
    buf_deinit(&b);
}

static void test_literals(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    assert_true(snap_key_literal(&b, SNAP_LIT_QUOTED, NULL, "2024-01-02 03:04:05.5", 21));
    assert_string_equal(b.data, "'2024-01-02 03:04:05.5'");
    buf_reset(&b);
    assert_false(snap_key_literal(&b, SNAP_LIT_QUOTED, NULL, "2024'", 5));
    assert_true(snap_key_literal(&b, SNAP_LIT_BINARY, NULL, "\x00\xff", 2));
    assert_string_equal(b.data, "X'00FF'");
    buf_reset(&b);
    assert_false(snap_key_literal(&b, SNAP_LIT_STRING, "utf8; DROP", "a", 1));
    assert_false(snap_key_literal(&b, SNAP_LIT_NUMBER, NULL, "", 0));
    buf_deinit(&b);
}

static void test_lastkey(void **state)
{
    (void)state;
    snap_keyval kv = {{"42", "a,b\x01"}, {2, 4}};
    buf b;
    buf_init(&b);
    snap_lastkey_format(&b, &kv, 2);
    assert_string_equal(b.data, "3432,612c6201");
    arena a;
    arena_init(&a);
    snap_keyval back;
    assert_true(snap_lastkey_parse(b.data, 2, &a, &back));
    assert_int_equal(back.len[0], 2);
    assert_memory_equal(back.p[0], "42", 2);
    assert_int_equal(back.len[1], 4);
    assert_memory_equal(back.p[1], "a,b\x01", 4);
    /* wrong number of fields, odd or non-hex digits */
    assert_false(snap_lastkey_parse(b.data, 1, &a, &back));
    assert_false(snap_lastkey_parse(b.data, 3, &a, &back));
    assert_false(snap_lastkey_parse("343", 1, &a, &back));
    assert_false(snap_lastkey_parse("zz", 1, &a, &back));
    /* an empty value is a valid key part ('' string) */
    assert_true(snap_lastkey_parse(",61", 2, &a, &back));
    assert_int_equal(back.len[0], 0);
    arena_deinit(&a);
    buf_deinit(&b);
}

/* SHOW CREATE TABLE text as the server writes it. */
static const char create_sbtest[] = "CREATE TABLE `sbtest1` (\n"
                                    "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
                                    "  `k` int(11) NOT NULL DEFAULT 0,\n"
                                    "  `c` char(120) NOT NULL DEFAULT '',\n"
                                    "  PRIMARY KEY (`id`),\n"
                                    "  UNIQUE KEY `uc` (`c`),\n"
                                    "  KEY `k_1` (`k`),\n"
                                    "  KEY `kc` (`k`,`c`(10)) COMMENT 'two'\n"
                                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

static void test_split_keys(void **state)
{
    (void)state;
    buf bare, keys;
    buf_init(&bare);
    buf_init(&keys);
    assert_true(snap_split_keys(create_sbtest, strlen(create_sbtest), &bare, &keys));
    assert_string_equal(bare.data, "CREATE TABLE `sbtest1` (\n"
                                   "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
                                   "  `k` int(11) NOT NULL DEFAULT 0,\n"
                                   "  `c` char(120) NOT NULL DEFAULT '',\n"
                                   "  PRIMARY KEY (`id`),\n"
                                   "  UNIQUE KEY `uc` (`c`)\n"
                                   ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    assert_string_equal(keys.data, "KEY `k_1` (`k`)\nKEY `kc` (`k`,`c`(10)) COMMENT 'two'");

    /* a KEY in the middle keeps the commas right */
    static const char mid[] = "CREATE TABLE `t` (\n  `a` int,\n  KEY `ka` (`a`),\n  `b` int\n) "
                              "ENGINE=InnoDB";
    assert_true(snap_split_keys(mid, strlen(mid), &bare, &keys));
    assert_string_equal(bare.data, "CREATE TABLE `t` (\n  `a` int,\n  `b` int\n) ENGINE=InnoDB");
    assert_string_equal(keys.data, "KEY `ka` (`a`)");

    /* nothing to defer: no KEY, a foreign key, not SHOW CREATE's layout */
    static const char none[] = "CREATE TABLE `t` (\n  `a` int,\n  PRIMARY KEY (`a`)\n)";
    assert_false(snap_split_keys(none, strlen(none), &bare, &keys));
    static const char fk[] = "CREATE TABLE `t` (\n  `a` int,\n  KEY `p` (`a`),\n  CONSTRAINT "
                             "`f` FOREIGN KEY (`a`) REFERENCES `p` (`id`)\n)";
    assert_false(snap_split_keys(fk, strlen(fk), &bare, &keys));
    static const char flat[] = "CREATE TABLE t (a int, KEY (a))";
    assert_false(snap_split_keys(flat, strlen(flat), &bare, &keys));
    assert_false(snap_split_keys("", 0, &bare, &keys));
    /* a KEY line beyond what snap_index_parse reads: the table is created whole */
    static const char opt[] =
        "CREATE TABLE `t` (\n  `a` int,\n  KEY `ka` (`a`) KEY_BLOCK_SIZE=8\n) "
        "ENGINE=InnoDB";
    assert_false(snap_split_keys(opt, strlen(opt), &bare, &keys));
    buf_deinit(&bare);
    buf_deinit(&keys);
}

/* issue 17: a stored index is parsed and rebuilt; anything else is refused */
static void test_index_check(void **state)
{
    (void)state;
    static const char *const cols[] = {"k", "c", "we`ird"};
    buf canon;
    buf_init(&canon);
    char why[256];
    assert_true(snap_index_check("KEY `k_1` (`k`)\nKEY `kc` (`K`,`c`(10) DESC) USING BTREE "
                                 "COMMENT 'it''s \\\\ two'\nKEY `w` (`we``ird`) IGNORED",
                                 cols, 3, &canon, why, sizeof(why)));
    assert_string_equal(canon.data, "KEY `k_1` (`k`)\nKEY `kc` (`K`,`c`(10) DESC) USING BTREE "
                                    "COMMENT 'it''s \\\\ two'\nKEY `w` (`we``ird`) IGNORED");
    static const char *const bad[] = {
        "KEY `k` (`k`); DROP TABLE shop.products",
        "KEY `k` (`k`), ADD COLUMN x INT",
        "KEY `k` (`k`) COMMENT 'x' ; SELECT 1",
        "UNIQUE KEY `k` (`k`)",
        "KEY k (`k`)",
        "KEY `k` (`k`(0))",
        "KEY `k` (`k`(99999))",
        "KEY `k` (k)",
        "KEY `k` (`k`) COMMENT 'open",
        "KEY `k` (`nope`)",
        "",
        "KEY `k` (`k`)\n\nKEY `c` (`c`)",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_false(snap_index_check(bad[i], cols, 3, &canon, why, sizeof(why)));
        assert_true(why[0] != '\0');
    }
    buf_deinit(&canon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_kinds), cmocka_unit_test(test_encode_fold),
        cmocka_unit_test(test_keyset),       cmocka_unit_test(test_range_sql),
        cmocka_unit_test(test_literals),     cmocka_unit_test(test_lastkey),
        cmocka_unit_test(test_split_keys),   cmocka_unit_test(test_index_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
