/*
 * The scheduled-check thread (contract in the header). Waits on a
 * condition variable until the earliest due pipeline (or a stop), runs
 * check_run for it with online and throttled options, then plans its next
 * run one period after this one started. A stop interrupts the wait at
 * once; a check in progress ends at its next table (check_run has no
 * cancellation inside a table; a table's chunks are bounded in time).
 */
#include "check/check_schedule.h"

#include "check/check.h"
#include "check/check_results.h"
#include "util/clock.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG "check"

typedef struct sched_pipe {
    const cfg_pipeline *pc;
    uint32_t every_s;
    time_t next_at;
} sched_pipe;

struct check_schedule {
    const cot_config *cfg;
    sched_pipe *pipes;
    int n_pipes;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_bool stop;
    check_schedule_on_diff_fn on_diff;
    void *on_diff_ctx;
};

/* OVERDUE_DELAY_S: a check that fell due while cotter was down runs this
 * long after start (or one period, if shorter), never at start-up. */
#define OVERDUE_DELAY_S 600

/* schedule__resume plans each pipeline's first check one period after its
 * latest stored one (cotter.check_results), so restarts more often than the
 * period do not postpone the check forever; without a stored check it stays
 * one period after start. */
static void schedule__resume(check_schedule *cs)
{
    for (int i = 0; i < cs->n_pipes && !atomic_load(&cs->stop); i++) {
        sched_pipe *sp = &cs->pipes[i];
        time_t last = 0;
        if (!check_last_started(sp->pc, &last)) continue;
        time_t now = time(NULL);
        time_t next = last + (time_t)sp->every_s;
        if (next <= now)
            next = now + (sp->every_s < OVERDUE_DELAY_S ? sp->every_s : OVERDUE_DELAY_S);
        if (next >= sp->next_at) continue;
        sp->next_at = next;
        check_results_schedule(sp->pc->name, sp->every_s, next, false);
        LOG_I(TAG, "pipeline %s: last check stored at %lld, the next in %lld s", sp->pc->name,
              (long long)last, (long long)(next - now));
    }
}

static void *schedule__main(void *arg)
{
    check_schedule *cs = arg;
    schedule__resume(cs);
    while (!atomic_load(&cs->stop)) {
        int due = 0;
        for (int i = 1; i < cs->n_pipes; i++)
            if (cs->pipes[i].next_at < cs->pipes[due].next_at) due = i;
        struct timespec until = {.tv_sec = cs->pipes[due].next_at, .tv_nsec = 0};
        pthread_mutex_lock(&cs->mu);
        while (!atomic_load(&cs->stop) && time(NULL) < cs->pipes[due].next_at)
            if (pthread_cond_timedwait(&cs->wake, &cs->mu, &until) != 0) break;
        pthread_mutex_unlock(&cs->mu);
        if (atomic_load(&cs->stop)) break;
        if (time(NULL) < cs->pipes[due].next_at) continue;

        sched_pipe *sp = &cs->pipes[due];
        time_t started = time(NULL);
        check_results_schedule(sp->pc->name, sp->every_s, started, true);
        LOG_I(TAG, "pipeline %s: scheduled check starts (every %u s)", sp->pc->name, sp->every_s);
        check_opts o;
        memset(&o, 0, sizeof(o));
        o.pipeline = sp->pc->name;
        o.chunk_target_s =
            cs->cfg->check_chunk_time_ms ? cs->cfg->check_chunk_time_ms / 1000.0 : 0.5;
        o.max_delay_s = cs->cfg->check_max_delay_s;
        o.max_rows_per_s = cs->cfg->check_max_rows_per_s;
        o.max_source_threads = cs->cfg->check_max_source_threads;
        o.store = true;
        o.record = true;
        o.stop = &cs->stop;
        check_report rep;
        double t0 = clock_now_s();
        int st = check_run(cs->cfg, &o, &rep);
        if (atomic_load(&cs->stop)) {
            check_report_free(&rep);
            break;
        }
        uint64_t diffs = 0, rows = 0;
        for (uint32_t i = 0; i < rep.n_tables; i++) {
            diffs += rep.tables[i].missing + rep.tables[i].extra + rep.tables[i].different;
            rows += rep.tables[i].rows;
        }
        if (st == 0)
            LOG_I(TAG, "pipeline %s: scheduled check: %u table(s), %llu rows identical in %.1f s",
                  sp->pc->name, rep.n_tables, (unsigned long long)rows, clock_now_s() - t0);
        else if (st == 1)
            LOG_E(TAG,
                  "pipeline %s: scheduled check found %llu differing rows in %u table(s) "
                  "(GET /api/checks lists them; `cotter repair --pipeline %s` fixes them)",
                  sp->pc->name, (unsigned long long)diffs, rep.n_tables, sp->pc->name);
        else
            LOG_E(TAG, "pipeline %s: scheduled check could not check everything: %s", sp->pc->name,
                  rep.error ? rep.error : "see the table errors in GET /api/checks");
        if (st == 1 && cs->on_diff) cs->on_diff(cs->on_diff_ctx, sp->pc->name, diffs);
        check_report_free(&rep);
        sp->next_at = started + sp->every_s;
        if (sp->next_at <= time(NULL)) sp->next_at = time(NULL) + sp->every_s;
        check_results_schedule(sp->pc->name, sp->every_s, sp->next_at, false);
    }
    return NULL;
}

check_schedule *check_schedule_start(const cot_config *cfg)
{
    int n = 0;
    for (int c = 0; c < cfg->n_channels; c++) n += cfg->channels[c].n_pipelines;
    sched_pipe *pipes = calloc((size_t)n + 1, sizeof(*pipes));
    if (!pipes) abort();
    int k = 0;
    time_t now = time(NULL);
    for (int c = 0; c < cfg->n_channels; c++)
        for (int p = 0; p < cfg->channels[c].n_pipelines; p++) {
            const cfg_pipeline *pc = &cfg->channels[c].pipelines[p];
            uint32_t every = pc->check_schedule_s ? pc->check_schedule_s : cfg->check_schedule_s;
            if (!every || !pc->check_enabled || !cot_url_is_mysql(&pc->source->url) ||
                !cot_url_is_mysql(&pc->target->url))
                continue;
            pipes[k].pc = pc;
            pipes[k].every_s = every;
            pipes[k].next_at = now + every;
            check_results_schedule(pc->name, every, pipes[k].next_at, false);
            k++;
        }
    if (k == 0) {
        free(pipes);
        return NULL;
    }
    check_schedule *cs = calloc(1, sizeof(*cs));
    if (!cs) abort();
    cs->cfg = cfg;
    cs->pipes = pipes;
    cs->n_pipes = k;
    pthread_mutex_init(&cs->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_REALTIME);
    pthread_cond_init(&cs->wake, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&cs->stop, false);
    if (pthread_create(&cs->thread, NULL, schedule__main, cs) != 0) abort();
    LOG_I(TAG, "scheduled checks for %d pipeline(s); the first in %u s", k, pipes[0].every_s);
    return cs;
}

void check_schedule_set_hook(check_schedule *cs, check_schedule_on_diff_fn fn, void *ctx)
{
    if (!cs) return;
    pthread_mutex_lock(&cs->mu);
    cs->on_diff = fn;
    cs->on_diff_ctx = ctx;
    pthread_mutex_unlock(&cs->mu);
}

void check_schedule_stop(check_schedule *cs)
{
    if (!cs) return;
    atomic_store(&cs->stop, true);
    pthread_mutex_lock(&cs->mu);
    pthread_cond_broadcast(&cs->wake);
    pthread_mutex_unlock(&cs->mu);
    pthread_join(cs->thread, NULL);
    pthread_mutex_destroy(&cs->mu);
    pthread_cond_destroy(&cs->wake);
    free(cs->pipes);
    free(cs);
}
