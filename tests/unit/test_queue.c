/*
 * Unit tests for the bounded chunk queue: FIFO order, the row/byte bound
 * blocking a producer, an oversized chunk into an empty queue, close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline/queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static cot_chunk *chunk_with_rows(uint32_t rows, uint64_t seq)
{
    cot_chunk *ck = cot_chunk_new();
    cot_table *tbl = cot_table_new("s", "t", 1);
    for (uint32_t i = 0; i < rows; i++) cot_chunk_add(ck, OP_INSERT, tbl);
    cot_table_unref(tbl);
    ck->seq = seq;
    cot_chunk_account(ck);
    return ck;
}

static void test_fifo_order(void **state)
{
    (void)state;
    chunk_queue q;
    queue_init(&q, 1000, 1 << 30);
    for (uint64_t i = 1; i <= 5; i++) assert_true(queue_push(&q, chunk_with_rows(2, i)));
    size_t chunks, rows;
    queue_depth(&q, &chunks, &rows, NULL);
    assert_int_equal(chunks, 5);
    assert_int_equal(rows, 10);
    for (uint64_t i = 1; i <= 5; i++) {
        cot_chunk *ck = queue_pop(&q, 0);
        assert_non_null(ck);
        assert_int_equal(ck->seq, i);
        cot_chunk_free(ck);
    }
    assert_null(queue_pop(&q, 10));
    queue_deinit(&q);
}

typedef struct producer {
    chunk_queue *q;
    atomic_int pushed;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (int i = 0; i < 4; i++) {
        if (!queue_push(p->q, chunk_with_rows(10, (uint64_t)i))) break;
        atomic_fetch_add(&p->pushed, 1);
    }
    return NULL;
}

static void test_bound_blocks_producer(void **state)
{
    (void)state;
    chunk_queue q;
    queue_init(&q, 20, 1 << 30); /* two chunks of 10 rows fit */
    producer p = {&q, 0};
    pthread_t t;
    pthread_create(&t, NULL, produce, &p);
    usleep(100000);
    assert_int_equal(atomic_load(&p.pushed), 2); /* the third waits for room */
    cot_chunk_free(queue_pop(&q, 100));
    usleep(100000);
    assert_int_equal(atomic_load(&p.pushed), 3);
    for (int i = 0; i < 3; i++) cot_chunk_free(queue_pop(&q, 1000));
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&p.pushed), 4);
    queue_deinit(&q);
}

static void test_oversized_chunk_into_empty_queue(void **state)
{
    (void)state;
    chunk_queue q;
    queue_init(&q, 5, 1 << 30);
    assert_true(queue_push(&q, chunk_with_rows(50, 1)));
    cot_chunk *ck = queue_pop(&q, 0);
    assert_non_null(ck);
    assert_int_equal(ck->n_changes, 50);
    cot_chunk_free(ck);
    queue_deinit(&q);
}

static void test_close_drains_then_ends(void **state)
{
    (void)state;
    chunk_queue q;
    queue_init(&q, 100, 1 << 30);
    assert_true(queue_push(&q, chunk_with_rows(1, 7)));
    queue_close(&q);
    cot_chunk *extra = chunk_with_rows(1, 8);
    assert_false(queue_push(&q, extra));
    cot_chunk_free(extra);
    cot_chunk *ck = queue_pop(&q, -1);
    assert_non_null(ck);
    assert_int_equal(ck->seq, 7);
    cot_chunk_free(ck);
    assert_null(queue_pop(&q, -1)); /* closed and empty: does not block */
    queue_deinit(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order),
        cmocka_unit_test(test_bound_blocks_producer),
        cmocka_unit_test(test_oversized_chunk_into_empty_queue),
        cmocka_unit_test(test_close_drains_then_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
