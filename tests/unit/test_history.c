/*
 * Unit tests of the console's history (issue 5): the meta store's history
 * table (add, replace at the same second, bucketed reads, prune by age,
 * unknown delay kept as unknown) and the sampler's JSON document for
 * GET /api/pipeline/history, on pipelines built from a real config file.
 */
#include "checkpoint/meta_store.h"
#include "config/config.h"
#include "manager/history.h"
#include "pipeline/pipeline.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static char tmp_root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/cotter-history-XXXXXX");
    return mkdtemp(tmp_root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

static meta_sample sample(int64_t t, double delay, double rps, uint64_t ins)
{
    meta_sample s = {.t = t, .state = PS_RUNNING, .delay_s = delay, .rows_per_s = rps};
    s.inserts = ins;
    s.updates = ins / 2;
    s.deletes = ins / 4;
    s.transactions = ins / 3;
    s.queue_rows = 7;
    return s;
}

static void test_add_read_raw(void **state)
{
    (void)state;
    meta_store *ms = NULL;
    assert_int_equal(meta_store_open(tmp_root, &ms), COT_OK);
    const char *names[2] = {"p1", "p2"};
    meta_sample in[2] = {sample(1000, 0.5, 10, 100), sample(1000, -1, 0, 5)};
    in[1].state = PS_STOPPED;
    assert_int_equal(meta_store_history_add(ms, names, in, 2), COT_OK);
    in[0] = sample(1005, 1.25, 20, 150);
    in[1] = sample(1005, 3, 1, 6);
    assert_int_equal(meta_store_history_add(ms, names, in, 2), COT_OK);
    /* the same second again replaces, it does not add */
    in[0] = sample(1005, 2.5, 30, 160);
    assert_int_equal(meta_store_history_add(ms, names, in, 1), COT_OK);

    meta_sample out[8];
    int n = -1;
    assert_int_equal(meta_store_history_read(ms, "p1", 0, 1, out, 8, &n), COT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].t, 1000);
    assert_true(out[0].delay_s == 0.5);
    assert_int_equal(out[0].inserts, 100);
    assert_int_equal(out[0].updates, 50);
    assert_int_equal(out[0].deletes, 25);
    assert_int_equal(out[0].transactions, 33);
    assert_int_equal(out[0].queue_rows, 7);
    assert_int_equal(out[1].t, 1005);
    assert_true(out[1].delay_s == 2.5);
    assert_true(out[1].rows_per_s == 30);
    assert_int_equal(out[1].inserts, 160);

    /* p2: an unknown delay stays unknown; the state is kept */
    assert_int_equal(meta_store_history_read(ms, "p2", 0, 1, out, 8, &n), COT_OK);
    assert_int_equal(n, 2);
    assert_true(out[0].delay_s < 0);
    assert_int_equal(out[0].state, PS_STOPPED);
    assert_true(out[1].delay_s == 3);

    /* from filters by time; cap bounds the answer */
    assert_int_equal(meta_store_history_read(ms, "p1", 1001, 1, out, 8, &n), COT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].t, 1005);
    assert_int_equal(meta_store_history_read(ms, "p1", 0, 1, out, 1, &n), COT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(meta_store_history_read(ms, "nope", 0, 1, out, 8, &n), COT_OK);
    assert_int_equal(n, 0);
    meta_store_close(ms);
}

static void test_buckets_and_prune(void **state)
{
    (void)state;
    meta_store *ms = NULL;
    assert_int_equal(meta_store_open(tmp_root, &ms), COT_OK);
    const char *names[1] = {"p"};
    /* buckets of 10 s: [100,110) holds 100 and 105, [110,120) holds 110 and 115 */
    const double delays[] = {1, 5, 2, 3};
    const double rates[] = {10, 20, 30, 50};
    for (int i = 0; i < 4; i++) {
        meta_sample s = sample(100 + 5 * i, delays[i], rates[i], (uint64_t)(10 * (i + 1)));
        if (i == 2) s.delay_s = -1; /* not streaming at 110 */
        if (i == 1) s.state = PS_ERROR;
        assert_int_equal(meta_store_history_add(ms, names, &s, 1), COT_OK);
    }
    meta_sample out[4];
    int n = 0;
    assert_int_equal(meta_store_history_read(ms, "p", 0, 10, out, 4, &n), COT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].t, 100);
    assert_true(out[0].delay_s == 5);     /* the worst delay of the bucket */
    assert_true(out[0].rows_per_s == 15); /* the mean rate */
    assert_int_equal(out[0].inserts, 20); /* the last counter */
    assert_int_equal(out[0].state, PS_ERROR);
    assert_int_equal(out[1].t, 110);
    assert_true(out[1].delay_s == 3); /* the unknown one is ignored */
    assert_true(out[1].rows_per_s == 40);
    assert_int_equal(out[1].inserts, 40);

    int deleted = -1;
    assert_int_equal(meta_store_history_prune(ms, 110, &deleted), COT_OK);
    assert_int_equal(deleted, 2);
    assert_int_equal(meta_store_history_read(ms, "p", 0, 1, out, 4, &n), COT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].t, 110);
    assert_int_equal(meta_store_history_prune(ms, 0, &deleted), COT_OK);
    assert_int_equal(deleted, 0);
    meta_store_close(ms);

    /* samples survive a reopen (the console shows the last day after a restart) */
    assert_int_equal(meta_store_open(tmp_root, &ms), COT_OK);
    assert_int_equal(meta_store_history_read(ms, "p", 0, 1, out, 4, &n), COT_OK);
    assert_int_equal(n, 2);
    meta_store_close(ms);
}

static cot_config *load_cfg(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/c.yaml", tmp_root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "data_dir: %s/var\n"
            "sources:\n"
            "  s: { url: \"mysql://root@127.0.0.1:1\", server_id: 6001 }\n"
            "targets:\n"
            "  t: { url: \"mysql://root@127.0.0.1:2\" }\n"
            "channels:\n"
            "  orders:\n"
            "    pipelines:\n"
            "      - { name: p-one, source: s, target: t, tables: [ { match: a.* } ] }\n"
            "      - { name: p2, source: s, target: t, tables: [ { match: b.* } ] }\n",
            tmp_root);
    fclose(f);
    cot_config *cfg = NULL;
    if (config_load(path, &cfg) != COT_OK) fail_msg("config_load: %s", cot_err_msg());
    return cfg;
}

static void test_sampler_json(void **state)
{
    (void)state;
    cot_config *cfg = load_cfg();
    pipeline *pls[2];
    for (int i = 0; i < 2; i++)
        pls[i] = pipeline_new(cfg, &cfg->channels[0], &cfg->channels[0].pipelines[i]);
    history *h = NULL;
    assert_int_equal(history_start(cfg->data_dir, pls, 2, &h), COT_OK); /* takes a sample */
    buf b;
    buf_init(&b);
    assert_int_equal(history_render(h, 0, 600, 60, &b), COT_OK);
    /* a stopped pipeline: state STOPPED, delay unknown, counters 0 */
    assert_non_null(strstr(b.data, "{\"id\":1,\"name\":\"p-one\",\"interval_s\":5,"));
    assert_non_null(strstr(b.data, "\"step_s\":10,\"since_s\":600,"));
    assert_non_null(strstr(b.data, "\"state\":\"STOPPED\",\"delay_s\":null,\"rows_per_s\":0.0,"
                                   "\"insert\":0,\"update\":0,\"delete\":0,\"transactions\":0"));
    const char *first = strstr(b.data, "\"samples\":[{");
    assert_non_null(first);
    assert_null(strstr(first + 12, "{\"t\"")); /* exactly one sample so far */

    /* the step never goes under the sampling interval, nor the points over the cap */
    buf_reset(&b);
    assert_int_equal(history_render(h, 1, 60, 1000, &b), COT_OK);
    assert_non_null(strstr(b.data, "{\"id\":2,\"name\":\"p2\","));
    assert_non_null(strstr(b.data, "\"step_s\":5,"));
    buf_reset(&b);
    assert_int_equal(history_render(h, 1, 10 * 24 * 3600, 10, &b), COT_OK);
    char want[64];
    snprintf(want, sizeof(want), "\"since_s\":%d,", HISTORY_RETENTION_S);
    assert_non_null(strstr(b.data, want));

    /* a second sample a second later shows up as a second point */
    struct timespec pause = {1, 50000000};
    nanosleep(&pause, NULL);
    assert_int_equal(history_sample(h), COT_OK);
    buf_reset(&b);
    assert_int_equal(history_render(h, 1, 600, 600, &b), COT_OK);
    /* step 5 may merge both into one bucket; raw rows are counted in the store */
    meta_store *ms = NULL;
    assert_int_equal(meta_store_open(cfg->data_dir, &ms), COT_OK);
    meta_sample out[8];
    int n = 0;
    assert_int_equal(meta_store_history_read(ms, "p2", 0, 1, out, 8, &n), COT_OK);
    assert_int_equal(n, 2);
    meta_store_close(ms);

    buf_deinit(&b);
    history_stop(h);
    for (int i = 0; i < 2; i++) pipeline_free(pls[i]);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_read_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buckets_and_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampler_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
