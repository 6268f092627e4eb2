/*
 * The history sampler and its JSON rendering. One thread wakes every
 * HISTORY_INTERVAL_S seconds (on a monotonic clock; history_stop wakes it
 * at once), writes one row per pipeline in one transaction, and prunes by
 * age every PRUNE_EVERY_S. A failing store is logged when it starts and
 * when it recovers, not at every sample. The store is bounded by age:
 * pipelines x retention / interval rows (about 35,000 per pipeline).
 */
#include "manager/history.h"
#include "checkpoint/meta_store.h"
#include "manager/http.h"
#include "util/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRUNE_EVERY_S 60

struct history {
    meta_store *ms;
    pipeline **pls;
    int n_pls;
    const char **names; /* pipeline names, for meta_store_history_add */
    meta_sample *samples;
    pthread_t thread;
    pthread_mutex_t mu; /* guards quit */
    pthread_cond_t cv;
    bool quit;
    bool failing; /* the last sample could not be stored */
};

cot_err history_sample(history *h)
{
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < h->n_pls; i++) {
        pipeline_status st;
        pipeline_status_get(h->pls[i], &st);
        meta_sample *sm = &h->samples[i];
        sm->t = now;
        sm->state = (int)st.state;
        sm->delay_s = st.state == PS_RUNNING ? st.delay_s : -1;
        sm->rows_per_s = st.rows_per_s;
        sm->inserts = st.inserts;
        sm->updates = st.updates;
        sm->deletes = st.deletes;
        sm->transactions = st.transactions;
        sm->queue_rows = st.queue_rows;
    }
    return meta_store_history_add(h->ms, h->names, h->samples, h->n_pls);
}

/* history__tick samples and, when due, prunes; logs a failure once. */
static void history__tick(history *h, int64_t *last_prune)
{
    cot_err rc = history_sample(h);
    int64_t now = (int64_t)time(NULL);
    if (rc == COT_OK && now - *last_prune >= PRUNE_EVERY_S) {
        int n_deleted = 0;
        rc = meta_store_history_prune(h->ms, now - HISTORY_RETENTION_S, &n_deleted);
        if (rc == COT_OK) {
            *last_prune = now;
            if (n_deleted > 0)
                LOG_D("history", "pruned %d samples older than %d h", n_deleted,
                      HISTORY_RETENTION_S / 3600);
        }
    }
    if (rc != COT_OK && !h->failing)
        LOG_W("history", "%s; the console's charts miss samples until it works again",
              cot_err_msg());
    else if (rc == COT_OK && h->failing)
        LOG_I("history", "samples are stored again");
    h->failing = rc != COT_OK;
}

static void *history__main(void *arg)
{
    history *h = arg;
    int64_t last_prune = 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&h->mu);
    for (;;) {
        next.tv_sec += HISTORY_INTERVAL_S;
        while (!h->quit && pthread_cond_timedwait(&h->cv, &h->mu, &next) == 0) {
        }
        if (h->quit) break;
        pthread_mutex_unlock(&h->mu);
        history__tick(h, &last_prune);
        pthread_mutex_lock(&h->mu);
        /* after a long stall (suspend), do not catch up with a burst */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + HISTORY_INTERVAL_S) next = now;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void history__free(history *h)
{
    meta_store_close(h->ms);
    free(h->names);
    free(h->samples);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

cot_err history_start(const char *data_dir, pipeline **pls, int n, history **out)
{
    *out = NULL;
    history *h = calloc(1, sizeof(*h));
    if (!h) abort();
    h->pls = pls;
    h->n_pls = n;
    h->names = calloc((size_t)(n ? n : 1), sizeof(*h->names));
    h->samples = calloc((size_t)(n ? n : 1), sizeof(*h->samples));
    if (!h->names || !h->samples) abort();
    for (int i = 0; i < n; i++) h->names[i] = pipeline_name(pls[i]);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);

    cot_err rc = meta_store_open(data_dir, &h->ms);
    if (rc) {
        history__free(h);
        return rc;
    }
    int64_t unused = (int64_t)time(NULL); /* prune a minute after start, not at once */
    history__tick(h, &unused);
    if (pthread_create(&h->thread, NULL, history__main, h) != 0) {
        history__free(h);
        return cot_err_set(COT_ERR_NOMEM, "history: cannot start the sampler thread");
    }
    LOG_I("history", "sampling %d pipeline(s) every %d s into %s/meta.db (kept %d h)", n,
          HISTORY_INTERVAL_S, data_dir, HISTORY_RETENTION_S / 3600);
    *out = h;
    return COT_OK;
}

void history_stop(history *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->quit = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    history__free(h);
}

static const char *history__state_name(int state)
{
    return state >= PS_STOPPED && state <= PS_ERROR ? pipeline_state_name((pipeline_state)state)
                                                    : "?";
}

cot_err history_render(history *h, int i, int64_t since_s, int points, buf *out)
{
    if (since_s < 1) since_s = 1;
    if (since_s > HISTORY_RETENTION_S) since_s = HISTORY_RETENTION_S;
    if (points < 1) points = 1;
    if (points > HISTORY_POINTS_MAX) points = HISTORY_POINTS_MAX;
    int64_t step = (since_s + points - 1) / points;
    if (step < HISTORY_INTERVAL_S) step = HISTORY_INTERVAL_S;
    int64_t now = (int64_t)time(NULL);
    /* one bucket more than asked: the window rarely starts on a bucket edge */
    int cap = points + 1;
    meta_sample *sm = calloc((size_t)cap, sizeof(*sm));
    if (!sm) abort();
    int n = 0;
    cot_err rc =
        meta_store_history_read(h->ms, pipeline_name(h->pls[i]), now - since_s, step, sm, cap, &n);
    if (rc) {
        free(sm);
        return rc;
    }
    buf_printf(out, "{\"id\":%d,\"name\":", i + 1);
    mgr_json_str(out, pipeline_name(h->pls[i]));
    buf_printf(out,
               ",\"interval_s\":%d,\"retention_s\":%d,\"step_s\":%lld,\"since_s\":%lld,"
               "\"now\":%lld,\"samples\":[",
               HISTORY_INTERVAL_S, HISTORY_RETENTION_S, (long long)step, (long long)since_s,
               (long long)now);
    for (int k = 0; k < n; k++) {
        const meta_sample *s = &sm[k];
        if (k) buf_putc(out, ',');
        buf_printf(out, "{\"t\":%lld,\"state\":\"%s\",\"delay_s\":", (long long)s->t,
                   history__state_name(s->state));
        if (s->delay_s >= 0)
            buf_printf(out, "%.3f", s->delay_s);
        else
            buf_puts(out, "null");
        buf_printf(out,
                   ",\"rows_per_s\":%.1f,\"insert\":%llu,\"update\":%llu,\"delete\":%llu,"
                   "\"transactions\":%llu,\"queue_rows\":%llu}",
                   s->rows_per_s, (unsigned long long)s->inserts, (unsigned long long)s->updates,
                   (unsigned long long)s->deletes, (unsigned long long)s->transactions,
                   (unsigned long long)s->queue_rows);
    }
    buf_puts(out, "]}\n");
    free(sm);
    return COT_OK;
}
