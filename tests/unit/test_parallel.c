/*
 * Unit tests for parallel-apply routing (par_route, par_key_hash) and for
 * position ordering (cot_pos_cmp), which the crash recovery of parallel
 * workers relies on: a key always goes to one worker, keys a case-
 * insensitive target calls equal go to the same one, key changes split,
 * and keyless or NULL keys stay on worker 0. The pool itself: a slow
 * worker holds back par_commit after PAR_MAX_BATCHES batches instead of
 * collecting a backlog a stop would have to wait for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cot_table *table_new(uint16_t key_collation)
{
    cot_table *tbl = cot_table_new("db", "t", 3);
    tbl->cols[0].type = CT_LONGLONG;
    tbl->cols[1].type = CT_VARCHAR;
    tbl->cols[1].collation = key_collation;
    tbl->cols[2].type = CT_LONGLONG;
    return tbl;
}

static void set_row(cot_chunk *ck, cot_value *v, int64_t id, const char *name, int64_t x)
{
    v[0].kind = VK_INT;
    v[0].i = id;
    if (name) {
        v[1].kind = VK_STRING;
        v[1].s.p = arena_strndup(&ck->mem, name, strlen(name));
        v[1].s.len = (uint32_t)strlen(name);
    } else {
        v[1].kind = VK_NULL;
    }
    v[2].kind = VK_INT;
    v[2].i = x;
}

/* add appends a change; the pointer is valid until the next add (the
 * chunk's array may move). */
static cot_change *add(cot_chunk *ck, cot_table *tbl, cot_op op)
{
    cot_change *ch = cot_chunk_add(ck, op, tbl);
    if (op != OP_INSERT) ch->before = cot_chunk_values(ck, tbl->n_cols);
    if (op != OP_DELETE) ch->after = cot_chunk_values(ck, tbl->n_cols);
    return ch;
}

static void test_same_key_same_worker(void **state)
{
    (void)state;
    cot_table *tbl = table_new(45);
    cot_chunk *ck = cot_chunk_new();
    const uint32_t key[] = {0};
    uint32_t seen[8] = {0};
    for (int64_t n = 1; n <= 400; n++) {
        int64_t id = n * PAR_KEY_BLOCK + n % 7; /* one key per block of integer keys */
        par_part pi[2], pu[2], pd[2];
        cot_change *ins = add(ck, tbl, OP_INSERT);
        set_row(ck, ins->after, id, "a", 1);
        assert_int_equal(par_route(ins, key, 1, 8, pi), 1);
        cot_change *upd = add(ck, tbl, OP_UPDATE);
        set_row(ck, upd->before, id, "a", 1);
        set_row(ck, upd->after, id, "b", 2);
        assert_int_equal(par_route(upd, key, 1, 8, pu), 1);
        cot_change *del = add(ck, tbl, OP_DELETE);
        set_row(ck, del->before, id, "b", 2);
        assert_int_equal(par_route(del, key, 1, 8, pd), 1);
        assert_int_equal(pi[0].worker, pu[0].worker);
        assert_int_equal(pi[0].worker, pd[0].worker);
        assert_int_equal(pu[0].op, OP_UPDATE);
        assert_true(pi[0].worker < 8);
        seen[pi[0].worker]++;
    }
    /* 400 keys spread over all 8 workers, none starved or flooded */
    for (int w = 0; w < 8; w++) {
        assert_true(seen[w] > 20);
        assert_true(seen[w] < 90);
    }
    cot_chunk_free(ck);
    cot_table_unref(tbl);
}

/* Neighbouring integer keys share a worker (runs of adjacent rows per
 * connection), the next block may not; negative keys route too. */
static void test_integer_key_blocks(void **state)
{
    (void)state;
    cot_table *tbl = table_new(45);
    const uint32_t key[] = {0};
    cot_value v[3];
    cot_chunk *ck = cot_chunk_new();
    int moved = 0;
    for (int64_t b = -8; b < 64; b++) {
        set_row(ck, v, b * PAR_KEY_BLOCK, "a", 0);
        uint64_t first = par_key_hash(tbl, v, key, 1);
        set_row(ck, v, b * PAR_KEY_BLOCK + PAR_KEY_BLOCK - 1, "a", 0);
        assert_true(par_key_hash(tbl, v, key, 1) == first);
        set_row(ck, v, (b + 1) * PAR_KEY_BLOCK, "a", 0);
        moved += par_key_hash(tbl, v, key, 1) % 8 != first % 8;
    }
    assert_true(moved > 40); /* most next blocks land elsewhere */
    /* keys that are all multiples of 4 (auto_increment_increment=4) still spread over 4 workers */
    cot_table *t2 = table_new(45);
    const uint32_t k2[] = {1};
    uint32_t seen[4] = {0};
    for (int i = 0; i < 400; i++) {
        char s[16];
        snprintf(s, sizeof(s), "x%c", (char)(4 * (i % 60) + 1));
        set_row(ck, v, 7, s, 0);
        seen[par_key_hash(t2, v, k2, 1) % 4]++;
    }
    for (int w = 0; w < 4; w++) assert_true(seen[w] > 30);
    cot_table_unref(t2);
    cot_chunk_free(ck);
    cot_table_unref(tbl);
}

static void test_collation_folding(void **state)
{
    (void)state;
    const uint32_t key[] = {1};
    cot_table *ci = table_new(45); /* utf8mb4_general_ci */
    cot_table *bin = table_new(COT_COLLATION_BINARY);
    cot_chunk *ck = cot_chunk_new();
    int same_ci = 0, same_bin = 0;
    for (int i = 0; i < 64; i++) {
        char lower[32], upper[32];
        snprintf(lower, sizeof(lower), "key-%d-abc", i);
        snprintf(upper, sizeof(upper), "KEY-%d-ABC  ", i); /* trailing spaces: PAD SPACE */
        cot_value a[3], b[3];
        set_row(ck, a, 1, lower, 0);
        set_row(ck, b, 1, upper, 0);
        same_ci += par_key_hash(ci, a, key, 1) == par_key_hash(ci, b, key, 1);
        same_bin += par_key_hash(bin, a, key, 1) == par_key_hash(bin, b, key, 1);
    }
    assert_int_equal(same_ci, 64);
    assert_int_equal(same_bin, 0);
    cot_chunk_free(ck);
    cot_table_unref(ci);
    cot_table_unref(bin);
}

static void test_key_change_splits(void **state)
{
    (void)state;
    cot_table *tbl = table_new(45);
    cot_chunk *ck = cot_chunk_new();
    const uint32_t key[] = {0};
    int split_apart = 0;
    for (int64_t n = 1; n <= 50; n++) {
        int64_t id = n * PAR_KEY_BLOCK, to = id + 100 * PAR_KEY_BLOCK;
        cot_change *upd = add(ck, tbl, OP_UPDATE);
        set_row(ck, upd->before, id, "a", 1);
        set_row(ck, upd->after, to, "a", 1);
        par_part p[2];
        assert_int_equal(par_route(upd, key, 1, 4, p), 2);
        assert_int_equal(p[0].op, OP_DELETE);
        assert_int_equal(p[1].op, OP_INSERT);
        /* each half goes where a plain change of its key goes */
        par_part pi[2], pd[2];
        cot_change *ins = add(ck, tbl, OP_INSERT);
        set_row(ck, ins->after, to, "z", 9);
        par_route(ins, key, 1, 4, pi);
        cot_change *del = add(ck, tbl, OP_DELETE);
        set_row(ck, del->before, id, "z", 9);
        par_route(del, key, 1, 4, pd);
        assert_int_equal(p[1].worker, pi[0].worker);
        assert_int_equal(p[0].worker, pd[0].worker);
        split_apart += p[0].worker != p[1].worker;
    }
    assert_true(split_apart > 10);

    /* a partial after image cannot be re-inserted: one UPDATE on worker 0 */
    cot_change *upd = add(ck, tbl, OP_UPDATE);
    set_row(ck, upd->before, 7, "a", 1);
    set_row(ck, upd->after, 8, "a", 1);
    upd->after[2].kind = VK_ABSENT;
    par_part p[2];
    assert_int_equal(par_route(upd, key, 1, 4, p), 1);
    assert_int_equal(p[0].worker, 0);
    assert_int_equal(p[0].op, OP_UPDATE);
    cot_chunk_free(ck);
    cot_table_unref(tbl);
}

static void test_keyless_and_null_keys(void **state)
{
    (void)state;
    cot_table *tbl = table_new(45);
    cot_chunk *ck = cot_chunk_new();
    const uint32_t key[] = {1};
    for (int64_t id = 1; id <= 30; id++) {
        cot_chunk *one = cot_chunk_new(); /* a chunk per row: ins stays valid */
        cot_change *ins = add(one, tbl, OP_INSERT);
        set_row(one, ins->after, id, NULL, id); /* NULL in the key column */
        par_part p[2];
        assert_int_equal(par_route(ins, key, 1, 8, p), 1);
        assert_int_equal(p[0].worker, 0);
        set_row(one, ins->after, id, "x", id);
        assert_int_equal(par_route(ins, NULL, 0, 8, p), 1); /* table without a key */
        assert_int_equal(p[0].worker, 0);
        assert_int_equal(par_route(ins, key, 1, 1, p), 1); /* one worker */
        assert_int_equal(p[0].worker, 0);
        cot_chunk_free(one);
    }
    cot_chunk_free(ck);
    cot_table_unref(tbl);
}

static void test_pos_cmp(void **state)
{
    (void)state;
    cot_pos a = {.file = "binlog.000009", .pos = 900};
    cot_pos b = {.file = "binlog.000010", .pos = 4};
    cot_pos c = {.file = "binlog.000010", .pos = 5};
    cot_pos wide = {.file = "binlog.1000000", .pos = 4}; /* past the 6-digit names */
    cot_pos none = {.file = "", .pos = 0};
    assert_true(cot_pos_cmp(&a, &b) < 0);
    assert_true(cot_pos_cmp(&b, &a) > 0);
    assert_true(cot_pos_cmp(&b, &c) < 0);
    assert_int_equal(cot_pos_cmp(&c, &c), 0);
    assert_true(cot_pos_cmp(&c, &wide) < 0);
    assert_true(cot_pos_cmp(&none, &a) < 0);
    assert_true(cot_pos_cmp(&a, &none) > 0);
    assert_int_equal(cot_pos_cmp(&none, &none), 0);
}

/* ---- the pool's bound on batches ---------------------------------------- */

/* A sink that only counts commits; the commits of worker 1 wait at a gate
 * the test opens (what a slow target connection does to the pool). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static atomic_uint sink_commits[2];
static atomic_uint pool_committed;

typedef struct count_sink {
    sink base;
    uint32_t row;
} count_sink;

static cot_err cs_open(const sink_conf *conf, sink **out)
{
    count_sink *cs = calloc(1, sizeof(*cs));
    if (!cs) abort();
    cs->row = conf->position_row;
    *out = &cs->base;
    return COT_OK;
}
static cot_err cs_begin(sink *sk)
{
    (void)sk;
    return COT_OK;
}
static cot_err cs_apply(sink *sk, const cot_chunk *ck)
{
    (void)sk;
    (void)ck;
    return COT_OK;
}
static cot_err cs_commit(sink *sk, const cot_pos *pos, uint32_t ts)
{
    (void)pos;
    (void)ts;
    count_sink *cs = (count_sink *)sk;
    if (cs->row == 1) {
        pthread_mutex_lock(&gate_mu);
        while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
        pthread_mutex_unlock(&gate_mu);
    }
    atomic_fetch_add(&sink_commits[cs->row], 1);
    return COT_OK;
}
static void cs_abort(sink *sk)
{
    (void)sk;
}
static void cs_close(sink *sk)
{
    free(sk);
}
static const sink_ops count_ops = {
    .scheme = "count",
    .open = cs_open,
    .batch_begin = cs_begin,
    .apply = cs_apply,
    .batch_commit = cs_commit,
    .batch_abort = cs_abort,
    .close = cs_close,
};

static void on_committed(void *ctx, const cot_pos *pos, uint32_t ts, const par_counts *c)
{
    (void)ctx;
    (void)ts;
    (void)c;
    if (pos) atomic_fetch_add(&pool_committed, 1);
}

typedef struct commit_call {
    par_pool *pp;
    cot_pos pos;
    cot_err rc;
    atomic_bool returned;
} commit_call;

static void *commit_thread(void *arg)
{
    commit_call *cc = arg;
    cc->rc = par_commit(cc->pp, &cc->pos, 0, NULL); /* asserted by the test's thread */
    atomic_store(&cc->returned, true);
    return NULL;
}

static void test_batches_bounded(void **state)
{
    (void)state;
    sink_conf conf;
    memset(&conf, 0, sizeof(conf));
    par_pool *pp = NULL;
    assert_int_equal(par_pool_open(&count_ops, &conf, 2, 0, on_committed, NULL, &pp), COT_OK);
    cot_pos pos;
    memset(&pos, 0, sizeof(pos));
    snprintf(pos.file, sizeof(pos.file), "binlog.000001");
    for (uint32_t i = 0; i < PAR_MAX_BATCHES; i++) {
        pos.pos = 100 + i;
        assert_int_equal(par_commit(pp, &pos, 0, NULL), COT_OK);
    }
    /* worker 0 committed its shares, worker 1 none: one batch more waits */
    commit_call cc = {.pp = pp, .pos = pos};
    cc.pos.pos = 999;
    atomic_init(&cc.returned, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, commit_thread, &cc), 0);
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    assert_false(atomic_load(&cc.returned));
    assert_int_equal(atomic_load(&sink_commits[0]), PAR_MAX_BATCHES);
    assert_int_equal(atomic_load(&pool_committed), 0);

    pthread_mutex_lock(&gate_mu);
    gate_open = true;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(atomic_load(&cc.returned));
    assert_int_equal(cc.rc, COT_OK);
    assert_int_equal(par_drain(pp), COT_OK);
    assert_int_equal(atomic_load(&pool_committed), PAR_MAX_BATCHES + 1);
    assert_int_equal(atomic_load(&sink_commits[1]), PAR_MAX_BATCHES + 1);
    par_pool_close(pp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_key_same_worker),  cmocka_unit_test(test_integer_key_blocks),
        cmocka_unit_test(test_collation_folding),     cmocka_unit_test(test_key_change_splits),
        cmocka_unit_test(test_keyless_and_null_keys), cmocka_unit_test(test_pos_cmp),
        cmocka_unit_test(test_batches_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
