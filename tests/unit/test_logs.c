/* The in-memory log ring behind GET /api/logs: capacity, order, level,
 * channel words and the follow cursor (manager/logs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "manager/logs.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

static char *render(log_ring *lr, const log_ring_query *q)
{
    static char out[8192];
    buf b;
    buf_init(&b);
    log_ring_json(lr, q, &b);
    snprintf(out, sizeof(out), "%s", b.data);
    buf_deinit(&b);
    return out;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_ring(void **state)
{
    log_set_stderr(false);
    log_set_level(LOG_DEBUG);
    log_ring *lr = log_ring_new(4);
    LOG_I("t", "pipeline p1: one");
    LOG_W("t", "pipeline p10: two");
    LOG_E("t", "channel c1: three");
    LOG_D("t", "pipeline p1: four");
    LOG_I("t", "pipeline p2: five");

    log_ring_query all = {.max_level = LOG_DEBUG};
    char *s = render(lr, &all);
    /* the first line was overwritten; the rest in order */
    assert_null(strstr(s, "one"));
    assert_true(strstr(s, "two") < strstr(s, "three"));
    assert_true(strstr(s, "four") < strstr(s, "five"));
    assert_int_equal(count(s, "\"seq\""), 4);
    assert_non_null(strstr(s, "\"last_seq\":5,\"capacity\":4"));

    log_ring_query two = {.lines = 2, .max_level = LOG_DEBUG};
    s = render(lr, &two);
    assert_int_equal(count(s, "\"seq\""), 2);
    assert_non_null(strstr(s, "four"));
    assert_non_null(strstr(s, "five"));

    log_ring_query warn = {.max_level = LOG_WARN};
    s = render(lr, &warn);
    assert_int_equal(count(s, "\"seq\""), 2);
    assert_non_null(strstr(s, "\"level\":\"WARN\""));
    assert_non_null(strstr(s, "\"level\":\"ERROR\""));

    const char *words[] = {"c1", "p1"};
    log_ring_query ch = {.max_level = LOG_DEBUG, .words = words, .n_words = 2};
    s = render(lr, &ch);
    assert_int_equal(count(s, "\"seq\""), 2); /* three, four; not p10 */
    assert_null(strstr(s, "two"));

    log_ring_query after = {.max_level = LOG_DEBUG, .after_seq = 4};
    s = render(lr, &after);
    assert_int_equal(count(s, "\"seq\""), 1);
    assert_non_null(strstr(s, "\"seq\":5"));
    log_ring_free(lr);
    LOG_I("t", "after free: no hook"); /* must not touch the freed ring */
}

static void test_mentions(void **state)
{
    assert_true(log_ring_mentions("pipeline p1: x", "p1"));
    assert_true(log_ring_mentions("p1", "p1"));
    assert_false(log_ring_mentions("pipeline p10: x", "p1"));
    assert_false(log_ring_mentions("pipeline xp1 x", "p1"));
    assert_false(log_ring_mentions("pipeline p1-a x", "p1"));
    assert_true(log_ring_mentions("'p1-a', p1.", "p1"));
    assert_false(log_ring_mentions("anything", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring),
        cmocka_unit_test(test_mentions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
