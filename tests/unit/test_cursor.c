/*
 * Unit tests of the bounds-checked read cursor (util/cursor.h): values of
 * every width and byte order, the sticky bad flag, and that no read past
 * the end touches memory (the buffers are heap copies of exact size, so
 * ASan would report an overread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/cursor.h"

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *r = malloc(n ? n : 1);
    assert_non_null(r);
    if (n) memcpy(r, p, n);
    return r;
}

static void test_little_endian_reads(void **state)
{
    (void)state;
    const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                            0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
                            0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c};
    uint8_t *p = dup_exact(data, sizeof(data));
    cur c = cur_make(p, sizeof(data));
    assert_int_equal(cur_u8(&c), 0x01);
    assert_int_equal(cur_u16(&c), 0x0302);
    assert_int_equal(cur_u24(&c), 0x060504);
    assert_int_equal(cur_u32(&c), 0x0a090807);
    assert_true(cur_u48(&c) == 0x100f0e0d0c0bULL);
    assert_true(cur_u64(&c) == 0x1817161514131211ULL);
    assert_int_equal(cur_left(&c), 4);
    assert_true(cur_ok(&c));
    free(p);
}

static void test_big_endian_reads(void **state)
{
    (void)state;
    const uint8_t data[] = {0x80, 0x00, 0x01, 0xff, 0xfe, 0x12, 0x34, 0x56, 0x78, 0x9a};
    uint8_t *p = dup_exact(data, sizeof(data));
    cur c = cur_make(p, sizeof(data));
    assert_int_equal(cur_uint_be(&c, 3), 0x800001);
    assert_int_equal(cur_uint_be(&c, 2), 0xfffe);
    assert_true(cur_uint_be(&c, 5) == 0x123456789aULL);
    assert_int_equal(cur_left(&c), 0);
    assert_true(cur_ok(&c));
    free(p);
}

static void test_short_read_is_sticky(void **state)
{
    (void)state;
    const uint8_t data[] = {0xaa, 0xbb, 0xcc};
    uint8_t *p = dup_exact(data, sizeof(data));
    cur c = cur_make(p, sizeof(data));
    assert_int_equal(cur_u16(&c), 0xbbaa);
    /* two bytes wanted, one left: zero, bad, and the position does not move */
    assert_int_equal(cur_u16(&c), 0);
    assert_false(cur_ok(&c));
    assert_int_equal(cur_left(&c), 0);
    /* a later read that would fit still fails: the flag is sticky */
    assert_int_equal(cur_u8(&c), 0);
    assert_null(cur_bytes(&c, 1));
    assert_false(cur_ok(&c));
    free(p);
}

static void test_bytes_and_skip(void **state)
{
    (void)state;
    const uint8_t data[] = {'a', 'b', 'c', 'd', 'e'};
    uint8_t *p = dup_exact(data, sizeof(data));
    cur c = cur_make(p, sizeof(data));
    const uint8_t *ab = cur_bytes(&c, 2);
    assert_non_null(ab);
    assert_memory_equal(ab, "ab", 2);
    cur_skip(&c, 1);
    const uint8_t *z = cur_bytes(&c, 0); /* zero bytes is a valid read */
    assert_non_null(z);
    assert_int_equal(*cur_bytes(&c, 1), 'd');
    cur_skip(&c, 2); /* one byte left: fails */
    assert_false(cur_ok(&c));
    free(p);
}

static void test_empty_cursor(void **state)
{
    (void)state;
    uint8_t byte = 0x7f;
    cur c = cur_make(&byte, 0);
    assert_int_equal(cur_left(&c), 0);
    assert_int_equal(cur_u8(&c), 0);
    assert_false(cur_ok(&c));
}

static void test_wide_reads_rejected(void **state)
{
    (void)state;
    uint8_t data[16] = {0};
    cur c = cur_make(data, sizeof(data));
    assert_int_equal(cur_uint_le(&c, 9), 0);
    assert_false(cur_ok(&c));
    cur d = cur_make(data, sizeof(data));
    assert_int_equal(cur_uint_be(&d, 9), 0);
    assert_false(cur_ok(&d));
}

static void test_lenenc(void **state)
{
    (void)state;
    const uint8_t data[] = {0x00, 0xfa, 0xfc, 0x34, 0x12, 0xfd, 0x56, 0x34, 0x12,
                            0xfe, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    uint8_t *p = dup_exact(data, sizeof(data));
    cur c = cur_make(p, sizeof(data));
    assert_int_equal(cur_lenenc(&c), 0);
    assert_int_equal(cur_lenenc(&c), 250);
    assert_int_equal(cur_lenenc(&c), 0x1234);
    assert_int_equal(cur_lenenc(&c), 0x123456);
    assert_true(cur_lenenc(&c) == 0x0807060504030201ULL);
    assert_true(cur_ok(&c));
    free(p);

    const uint8_t nul[] = {0xfb};
    cur n = cur_make(nul, 1);
    (void)cur_lenenc(&n);
    assert_false(cur_ok(&n)); /* the NULL marker is not a length */

    const uint8_t cut[] = {0xfd, 0x01, 0x02};
    uint8_t *q = dup_exact(cut, sizeof(cut));
    cur t = cur_make(q, sizeof(cut));
    assert_int_equal(cur_lenenc(&t), 0);
    assert_false(cur_ok(&t));
    free(q);
}

/* A packed length over 4 GiB is compared whole: on a 32-bit build a size_t
 * parameter would have cut 2^32 + 3 down to 3 and read 3 bytes (issue 17). */
static void test_lengths_over_4gib(void **state)
{
    (void)state;
    const uint8_t data[] = {0xfe, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 'a', 'b', 'c'};
    uint8_t *p = dup_exact(data, sizeof(data));
    cur c = cur_make(p, sizeof(data));
    uint64_t n = cur_lenenc(&c);
    assert_true(n == ((uint64_t)1 << 32) + 3);
    assert_null(cur_bytes(&c, n));
    assert_false(cur_ok(&c));
    c = cur_make(p, sizeof(data));
    cur_skip(&c, 9);
    cur_skip(&c, ((uint64_t)1 << 32) + 3);
    assert_false(cur_ok(&c));
    c = cur_make(p, sizeof(data));
    assert_false(cur_need(&c, UINT64_MAX));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_little_endian_reads),
        cmocka_unit_test(test_big_endian_reads),
        cmocka_unit_test(test_short_read_is_sticky),
        cmocka_unit_test(test_bytes_and_skip),
        cmocka_unit_test(test_empty_cursor),
        cmocka_unit_test(test_wide_reads_rejected),
        cmocka_unit_test(test_lenenc),
        cmocka_unit_test(test_lengths_over_4gib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
