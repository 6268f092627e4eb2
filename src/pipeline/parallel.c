/*
 * Parallel apply (design in the header). One mutex guards every job queue,
 * the in-flight byte count and the failure; each worker waits on its own
 * condition, the load thread on `idle`. A run (the chunks one par_submit
 * hands over) is freed by the last worker that releases it.
 */
#include "pipeline/parallel.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define TAG "load"

/* ---- routing ------------------------------------------------------------ */

static uint64_t hash__bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t hash__folded(uint64_t h, const char *p, uint32_t len)
{
    while (len > 0 && p[len - 1] == ' ') len--; /* PAD SPACE collations */
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

/* hash__mix spreads every input bit over the low bits too (FNV-1a's low
 * bits depend only on the low bits of each byte: keys that are multiples
 * of 4 would all land on one of 4 workers). */
static uint64_t hash__mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t par_key_hash(const cot_table *tbl, const cot_value *img, const uint32_t *key,
                      uint32_t n_key)
{
    uint64_t h = 14695981039346656037ull;
    h = hash__bytes(h, tbl->schema, strlen(tbl->schema) + 1);
    h = hash__bytes(h, tbl->name, strlen(tbl->name) + 1);
    if (n_key == 1 && (img[key[0]].kind == VK_INT || img[key[0]].kind == VK_UINT)) {
        /* one integer key: blocks of PAR_KEY_BLOCK neighbouring keys share a
         * worker, so workers insert runs of adjacent keys instead of
         * contending for the same index pages key by key */
        uint64_t block = img[key[0]].u / PAR_KEY_BLOCK; /* the bits of i or u */
        h = hash__bytes(h, &block, sizeof(block));
        return hash__mix(h);
    }
    for (uint32_t k = 0; k < n_key; k++) {
        const cot_value *v = &img[key[k]];
        const cot_column *col = &tbl->cols[key[k]];
        switch (v->kind) {
        case VK_INT:
            h = hash__bytes(h, &v->i, sizeof(v->i));
            break;
        case VK_UINT:
        case VK_BIT:
        case VK_ENUM:
        case VK_SET:
            h = hash__bytes(h, &v->u, sizeof(v->u));
            break;
        case VK_FLOAT:
        case VK_DOUBLE:
            h = hash__bytes(h, &v->d, sizeof(v->d));
            break;
        case VK_STRING:
            if (col->collation != COT_COLLATION_BINARY)
                h = hash__folded(h, v->s.p, v->s.len);
            else
                h = hash__bytes(h, v->s.p, v->s.len);
            break;
        case VK_ABSENT:
        case VK_NULL:
            break;
        default:
            h = hash__bytes(h, v->s.p, v->s.len);
            break;
        }
        h = hash__bytes(h, "\x1f", 1);
    }
    return hash__mix(h);
}

/* route__keyed says whether img has a value, and no NULL, in every key column. */
static bool route__keyed(const cot_value *img, const uint32_t *key, uint32_t n_key)
{
    if (!img || n_key == 0) return false;
    for (uint32_t k = 0; k < n_key; k++)
        if (img[key[k]].kind == VK_NULL || img[key[k]].kind == VK_ABSENT) return false;
    return true;
}

static bool route__full(const cot_value *img, uint32_t n_cols)
{
    for (uint32_t i = 0; i < n_cols; i++)
        if (img[i].kind == VK_ABSENT) return false;
    return true;
}

static uint32_t route__worker(const cot_table *tbl, const cot_value *img, const uint32_t *key,
                              uint32_t n_key, uint32_t n_workers)
{
    if (n_workers <= 1 || !route__keyed(img, key, n_key)) return 0;
    return (uint32_t)(par_key_hash(tbl, img, key, n_key) % n_workers);
}

uint32_t par_route(const cot_change *ch, const uint32_t *key, uint32_t n_key, uint32_t n_workers,
                   par_part parts[2])
{
    const cot_table *tbl = ch->tbl;
    parts[0].op = ch->op;
    if (ch->op == OP_INSERT || ch->op == OP_DELETE) {
        parts[0].worker =
            route__worker(tbl, ch->op == OP_INSERT ? ch->after : ch->before, key, n_key, n_workers);
        return 1;
    }
    /* UPDATE: the same key before and after, or a key change */
    bool same = route__keyed(ch->before, key, n_key) && route__keyed(ch->after, key, n_key);
    for (uint32_t k = 0; same && k < n_key; k++)
        same = cot_value_equal(&ch->before[key[k]], &ch->after[key[k]]);
    if (same) {
        parts[0].worker = route__worker(tbl, ch->after, key, n_key, n_workers);
        return 1;
    }
    if (n_key == 0 || !ch->before || !ch->after || !route__full(ch->after, tbl->n_cols)) {
        parts[0].worker = 0; /* no key, or a partial image: one UPDATE on worker 0 */
        return 1;
    }
    parts[0].worker = route__worker(tbl, ch->before, key, n_key, n_workers);
    parts[0].op = OP_DELETE;
    parts[1].worker = route__worker(tbl, ch->after, key, n_key, n_workers);
    parts[1].op = OP_INSERT;
    return 2;
}

/* ---- the pool ----------------------------------------------------------- */

typedef struct par_run {
    atomic_uint refs;
    cot_chunk *merged;
    cot_chunk **held;
    uint32_t n_held;
    size_t bytes;
} par_run;

typedef struct par_batch {
    uint32_t refs; /* workers yet to commit; under the pool mutex */
    bool dropped;  /* a worker did not commit its share; under the pool mutex */
    cot_pos pos;
    uint32_t ts;
    par_counts counts;
} par_batch;

enum { JOB_APPLY = 1, JOB_COMMIT, JOB_FORGET };

typedef struct par_job {
    struct par_job *next;
    int kind;
    cot_chunk *ck; /* JOB_APPLY: this worker's share (values point into run) */
    par_run *run;
    par_batch *batch; /* JOB_COMMIT */
} par_job;

typedef struct par_worker {
    par_pool *pp;
    uint32_t index;
    sink *sk;
    pthread_t thread;
    bool started;
    pthread_cond_t wake;
    par_job *head, *tail;
    bool busy;
    bool in_batch;
} par_worker;

struct par_pool {
    const sink_ops *ops;
    uint32_t n;
    par_worker *w;
    pthread_mutex_t mu;
    pthread_cond_t idle; /* a worker went idle, or in-flight bytes went down */
    size_t inflight;
    size_t max_inflight;
    uint32_t batches; /* committed by par_commit, not yet by every worker */
    bool quit;
    bool failed;
    cot_err err;
    char msg[1024];
    par_committed_fn on_commit;
    void *ctx;
    /* test hook (COTTER_TEST_SLOW_WORKER="K:MS"): worker K waits MS before
     * each commit, so a crash test can catch the workers at different
     * positions on demand */
    uint32_t slow_worker;
    long slow_ms;
    /* test hook (COTTER_TEST_FAIL_WORKER="K:N", K a worker or "any"): every
     * N-th commit of worker K (of any worker), counted over the process's
     * sessions, fails as a deadlock would, so a test can make a worker lose
     * its share of a batch the others commit */
    uint32_t fail_worker;
    uint32_t fail_every;
};

static atomic_uint fail_hook_commits;

/* pool__test_hook parses a test hook "K:V" with worker K < n ("any" gives
 * K = n) and V > 0. */
static bool pool__test_hook(const char *env, uint32_t n, unsigned long *k, unsigned long *v)
{
    const char *s = getenv(env);
    if (!s) return false;
    char *end = NULL;
    if (strncmp(s, "any:", 4) == 0) {
        *k = n;
        end = (char *)s + 3;
    } else {
        *k = strtoul(s, &end, 10);
        if (*k >= n) return false;
    }
    if (!end || *end != ':') return false;
    *v = strtoul(end + 1, &end, 10);
    return *end == 0 && *v > 0;
}

static void run__release(par_pool *pp, par_run *run)
{
    if (atomic_fetch_sub(&run->refs, 1) != 1) return;
    cot_chunk_free(run->merged);
    for (uint32_t i = 0; i < run->n_held; i++) cot_chunk_free(run->held[i]);
    free(run->held);
    pthread_mutex_lock(&pp->mu);
    pp->inflight -= run->bytes;
    pthread_cond_broadcast(&pp->idle);
    pthread_mutex_unlock(&pp->mu);
    free(run);
}

/* job__drop releases what a job holds without doing it. */
static void job__drop(par_pool *pp, par_job *job)
{
    if (job->kind == JOB_APPLY) {
        cot_chunk_free(job->ck);
        run__release(pp, job->run);
    } else if (job->kind == JOB_COMMIT) {
        pthread_mutex_lock(&pp->mu);
        job->batch->dropped = true;
        bool last = --job->batch->refs == 0;
        if (last) pp->batches--;
        pthread_cond_broadcast(&pp->idle);
        pthread_mutex_unlock(&pp->mu);
        if (last) {
            if (pp->on_commit) pp->on_commit(pp->ctx, NULL, 0, &job->batch->counts);
            free(job->batch);
        }
    }
    free(job);
}

/* pool__fail records the first failure; the caller holds no lock. */
static void pool__fail(par_pool *pp, uint32_t worker, cot_err rc)
{
    pthread_mutex_lock(&pp->mu);
    if (!pp->failed) {
        pp->failed = true;
        pp->err = rc;
        snprintf(pp->msg, sizeof(pp->msg), "load worker %u: %s", (unsigned)worker, cot_err_msg());
    }
    pthread_cond_broadcast(&pp->idle);
    pthread_mutex_unlock(&pp->mu);
}

static cot_err worker__do(par_worker *w, par_job *job)
{
    par_pool *pp = w->pp;
    cot_err rc = COT_OK;
    if (job->kind == JOB_FORGET) {
        if (pp->ops->forget_tables) pp->ops->forget_tables(w->sk);
        return COT_OK;
    }
    if (!w->in_batch) {
        rc = pp->ops->batch_begin(w->sk);
        if (rc) return rc;
        w->in_batch = true;
    }
    if (job->kind == JOB_APPLY) return pp->ops->apply(w->sk, job->ck);
    if (pp->slow_ms > 0 && w->index == pp->slow_worker) {
        struct timespec ts = {pp->slow_ms / 1000, (pp->slow_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (pp->fail_every && (w->index == pp->fail_worker || pp->fail_worker == pp->n) &&
        (atomic_fetch_add(&fail_hook_commits, 1) + 1) % pp->fail_every == 0)
        return cot_err_set(COT_ERR_SQL_RETRY,
                           "test hook COTTER_TEST_FAIL_WORKER: commit failed as if deadlocked");
    rc = pp->ops->batch_commit(w->sk, &job->batch->pos, job->batch->ts);
    if (!rc) w->in_batch = false;
    return rc;
}

static void *worker__main(void *arg)
{
    par_worker *w = arg;
    par_pool *pp = w->pp;
    for (;;) {
        pthread_mutex_lock(&pp->mu);
        while (!w->head && !pp->quit) pthread_cond_wait(&w->wake, &pp->mu);
        par_job *job = w->head;
        if (!job) { /* quit, nothing left */
            pthread_mutex_unlock(&pp->mu);
            break;
        }
        w->head = job->next;
        if (!w->head) w->tail = NULL;
        w->busy = true;
        bool failed = pp->failed;
        pthread_mutex_unlock(&pp->mu);

        if (failed) {
            job__drop(pp, job);
        } else {
            cot_err rc = worker__do(w, job);
            if (rc) {
                pool__fail(pp, w->index, rc);
                job__drop(pp, job);
            } else if (job->kind == JOB_COMMIT) {
                par_batch *b = job->batch;
                pthread_mutex_lock(&pp->mu);
                bool last = --b->refs == 0;
                if (last) pp->batches--;
                bool dropped = b->dropped;
                pthread_mutex_unlock(&pp->mu);
                if (last) {
                    if (pp->on_commit)
                        pp->on_commit(pp->ctx, dropped ? NULL : &b->pos, b->ts, &b->counts);
                    free(b);
                }
                free(job);
            } else { /* JOB_APPLY or JOB_FORGET: what job__drop releases */
                job__drop(pp, job);
            }
        }
        pthread_mutex_lock(&pp->mu);
        if (pp->failed && w->in_batch) {
            pthread_mutex_unlock(&pp->mu);
            pp->ops->batch_abort(w->sk);
            w->in_batch = false;
            pthread_mutex_lock(&pp->mu);
        }
        w->busy = false;
        pthread_cond_broadcast(&pp->idle);
        pthread_mutex_unlock(&pp->mu);
    }
    if (w->in_batch) pp->ops->batch_abort(w->sk);
    w->in_batch = false;
    return NULL;
}

static cot_err pool__error(par_pool *pp);

/* pool__push queues job on worker i; false (job dropped) when the pool failed. */
static bool pool__push(par_pool *pp, uint32_t i, par_job *job)
{
    par_worker *w = &pp->w[i];
    pthread_mutex_lock(&pp->mu);
    bool failed = pp->failed;
    if (!failed) {
        job->next = NULL;
        if (w->tail)
            w->tail->next = job;
        else
            w->head = job;
        w->tail = job;
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&pp->mu);
    if (failed) job__drop(pp, job);
    return !failed;
}

cot_err par_error(par_pool *pp)
{
    return pool__error(pp);
}

static cot_err pool__error(par_pool *pp)
{
    pthread_mutex_lock(&pp->mu);
    cot_err rc = pp->failed ? cot_err_set(pp->err, "%s", pp->msg) : COT_OK;
    pthread_mutex_unlock(&pp->mu);
    return rc;
}

cot_err par_pool_open(const sink_ops *ops, const sink_conf *conf, uint32_t n, size_t max_inflight,
                      par_committed_fn on_commit, void *ctx, par_pool **out)
{
    *out = NULL;
    if (n == 0 || n > PAR_MAX_WORKERS)
        return cot_err_set(COT_ERR_CONFIG, "load.parallelism %u is out of range 1..%d", (unsigned)n,
                           PAR_MAX_WORKERS);
    par_pool *pp = calloc(1, sizeof(*pp));
    if (!pp) abort();
    pp->ops = ops;
    pp->n = n;
    pp->max_inflight = max_inflight ? max_inflight : (64u << 20);
    pp->on_commit = on_commit;
    pp->ctx = ctx;
    unsigned long k, v;
    if (pool__test_hook("COTTER_TEST_SLOW_WORKER", n, &k, &v) && k < n && v <= 60000) {
        pp->slow_worker = (uint32_t)k;
        pp->slow_ms = (long)v;
        LOG_W(TAG,
              "test hook COTTER_TEST_SLOW_WORKER: load worker %lu waits %lu ms before each commit",
              k, v);
    }
    if (pool__test_hook("COTTER_TEST_FAIL_WORKER", n, &k, &v)) {
        pp->fail_worker = (uint32_t)k;
        pp->fail_every = (uint32_t)v;
        LOG_W(TAG, "test hook COTTER_TEST_FAIL_WORKER: every %lu-th commit of %s fails", v,
              k == n ? "any load worker" : "one load worker");
    }
    pthread_mutex_init(&pp->mu, NULL);
    pthread_cond_init(&pp->idle, NULL);
    pp->w = calloc(n, sizeof(*pp->w));
    if (!pp->w) abort();
    cot_err rc = COT_OK;
    for (uint32_t i = 0; i < n; i++) {
        par_worker *w = &pp->w[i];
        w->pp = pp;
        w->index = i;
        pthread_cond_init(&w->wake, NULL);
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        sink_conf c = *conf;
        c.position_row = i;
        c.worker = true;
        rc = ops->open(&c, &pp->w[i].sk);
        if (rc) cot_err_prefix("opening load worker connection: ");
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        if (pthread_create(&pp->w[i].thread, NULL, worker__main, &pp->w[i]) != 0) abort();
        pp->w[i].started = true;
    }
    if (rc) {
        par_pool_close(pp);
        return rc;
    }
    *out = pp;
    return COT_OK;
}

void par_pool_close(par_pool *pp)
{
    if (!pp) return;
    pthread_mutex_lock(&pp->mu);
    pp->quit = true;
    if (!pp->failed) { /* whatever is queued is not to be done any more */
        pp->failed = true;
        pp->err = COT_ERR_STOPPED;
        snprintf(pp->msg, sizeof(pp->msg), "load workers closing");
    }
    for (uint32_t i = 0; i < pp->n; i++) pthread_cond_signal(&pp->w[i].wake);
    pthread_mutex_unlock(&pp->mu);
    for (uint32_t i = 0; i < pp->n; i++) {
        par_worker *w = &pp->w[i];
        if (w->started) pthread_join(w->thread, NULL);
        while (w->head) { /* a worker that never started */
            par_job *j = w->head;
            w->head = j->next;
            job__drop(pp, j);
        }
        if (w->sk) pp->ops->close(w->sk);
        pthread_cond_destroy(&w->wake);
    }
    free(pp->w);
    pthread_cond_destroy(&pp->idle);
    pthread_mutex_destroy(&pp->mu);
    free(pp);
}

uint32_t par_pool_size(const par_pool *pp)
{
    return pp ? pp->n : 0;
}

cot_err par_submit(par_pool *pp, cot_chunk *merged, cot_chunk **held, uint32_t n_held,
                   par_key_fn key_of, void *key_ctx)
{
    par_run *run = calloc(1, sizeof(*run));
    if (!run) abort();
    run->merged = merged;
    run->n_held = n_held;
    if (n_held) {
        run->held = malloc(n_held * sizeof(*run->held));
        if (!run->held) abort();
        memcpy(run->held, held, n_held * sizeof(*run->held));
    }
    run->bytes = merged->bytes;
    for (uint32_t i = 0; i < n_held; i++) run->bytes += held[i]->bytes;

    /* split the changes into one chunk per worker */
    cot_chunk *share[PAR_MAX_WORKERS] = {0};
    const cot_table *last_tbl = NULL;
    const uint32_t *key = NULL;
    uint32_t n_key = 0;
    for (uint32_t i = 0; i < merged->n_changes; i++) {
        const cot_change *ch = &merged->changes[i];
        if (ch->tbl != last_tbl) {
            last_tbl = ch->tbl;
            if (!key_of(key_ctx, ch->tbl, &key, &n_key)) {
                key = ch->tbl->pk;
                n_key = ch->tbl->n_pk;
            }
        }
        par_part parts[2];
        uint32_t np = par_route(ch, key, n_key, pp->n, parts);
        for (uint32_t p = 0; p < np; p++) {
            uint32_t wi = parts[p].worker;
            if (!share[wi]) share[wi] = cot_chunk_new();
            cot_change *c = cot_chunk_add(share[wi], (cot_op)parts[p].op, ch->tbl);
            c->before = parts[p].op == OP_INSERT ? NULL : ch->before;
            c->after = parts[p].op == OP_DELETE ? NULL : ch->after;
        }
    }
    uint32_t refs = 0;
    for (uint32_t i = 0; i < pp->n; i++) refs += share[i] != NULL;
    if (refs == 0) {
        atomic_init(&run->refs, 1);
        pthread_mutex_lock(&pp->mu);
        pp->inflight += run->bytes;
        pthread_mutex_unlock(&pp->mu);
        run__release(pp, run);
        return pool__error(pp);
    }
    atomic_init(&run->refs, refs);

    /* bound what the workers hold: wait for earlier runs to be applied */
    pthread_mutex_lock(&pp->mu);
    while (!pp->failed && pp->inflight > 0 && pp->inflight + run->bytes > pp->max_inflight)
        pthread_cond_wait(&pp->idle, &pp->mu);
    pp->inflight += run->bytes;
    pthread_mutex_unlock(&pp->mu);

    for (uint32_t i = 0; i < pp->n; i++) {
        if (!share[i]) continue;
        par_job *job = calloc(1, sizeof(*job));
        if (!job) abort();
        job->kind = JOB_APPLY;
        job->ck = share[i];
        job->run = run;
        pool__push(pp, i, job);
    }
    return pool__error(pp);
}

cot_err par_commit(par_pool *pp, const cot_pos *pos, uint32_t ts, const par_counts *counts)
{
    par_batch *b = calloc(1, sizeof(*b));
    if (!b) abort();
    b->refs = pp->n;
    b->pos = *pos;
    b->ts = ts;
    if (counts) b->counts = *counts;
    /* bound the batches the workers hold: a slow worker would otherwise
     * collect one commit per batch the others finished, and a stop would
     * wait for all of them */
    pthread_mutex_lock(&pp->mu);
    while (!pp->failed && pp->batches >= PAR_MAX_BATCHES) pthread_cond_wait(&pp->idle, &pp->mu);
    pp->batches++;
    pthread_mutex_unlock(&pp->mu);
    for (uint32_t i = 0; i < pp->n; i++) {
        par_job *job = calloc(1, sizeof(*job));
        if (!job) abort();
        job->kind = JOB_COMMIT;
        job->batch = b;
        pool__push(pp, i, job);
    }
    return pool__error(pp);
}

cot_err par_forget_tables(par_pool *pp)
{
    for (uint32_t i = 0; i < pp->n; i++) {
        par_job *job = calloc(1, sizeof(*job));
        if (!job) abort();
        job->kind = JOB_FORGET;
        pool__push(pp, i, job);
    }
    return pool__error(pp);
}

cot_err par_drain(par_pool *pp)
{
    pthread_mutex_lock(&pp->mu);
    for (;;) {
        bool busy = false;
        for (uint32_t i = 0; i < pp->n && !busy; i++) busy = pp->w[i].head || pp->w[i].busy;
        if (!busy || pp->failed) break;
        pthread_cond_wait(&pp->idle, &pp->mu);
    }
    pthread_mutex_unlock(&pp->mu);
    return pool__error(pp);
}
