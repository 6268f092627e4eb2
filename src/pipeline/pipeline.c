/*
 * Pipeline supervisor, select loop and load loop (design in the header).
 * Locking: `mu` guards the status block only; the select and load threads
 * of a session share nothing else but the queue. The stop flag is atomic
 * and read at every event and every chunk.
 */
#include "pipeline/pipeline.h"
#include "check/doctor.h"
#include "check/mapping_check.h"
#include "client/mysql_conn.h"
#include "sql/ddl_rewrite.h"
#include "pipeline/merge.h"
#include "pipeline/parallel.h"
#include "pipeline/queue.h"
#include "pipeline/row_filter.h"
#include "pipeline/transform.h"
#include "sink/sink.h"
#include "sink/sink_mysql_convert.h"
#include "source/schema_history.h"
#include "source/binlog_reader.h"
#include "source/binlog_stream.h"
#include "source/schema.h"
#include "snapshot/snapshot.h"
#include "util/redact.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STOP_GRACE_S 10 /* how long a stop waits for the open transaction to end */

struct pipeline {
    const cot_config *cfg;
    const cfg_channel *ch;
    const cfg_pipeline *pc;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    atomic_bool finished;  /* the supervisor thread has returned */
    atomic_bool caught_up; /* the source had nothing more to send */
    /* monotonic ms when the load thread took its current chunk, 0 while it
     * waits for one: how long the target has kept it */
    atomic_llong load_busy_ms;
    pthread_mutex_t mu;  /* guards st and the rate sample */
    double rate_t;       /* when rows_per_s was last sampled (monotonic s) */
    uint64_t rate_rows;  /* applied rows at that time */
    pthread_cond_t wake; /* backoff sleep, interrupted by stop */
    pipeline_status st;
    /* source time of the oldest transaction read and not yet committed (a
     * lower bound once a part of the backlog is committed), 0: none */
    uint32_t pend_ts;
    /* the start of the source transaction the load failed on, for the
     * next pipeline__set_error (under mu) */
    cot_pos fail_at;
    bool have_fail_at;
    double probe_t; /* when the source's end was last read while not streaming (supervisor) */
    /* after a parallel batch failed, apply on one connection until the
     * position passes this ("" file: no such limit); sessions only */
    cot_pos serial_until;
    /* after a batch failed, commit every source transaction on its own
     * until the position passes this, so the transactions before the one
     * the target refuses are applied and the position stops right at it
     * (in a batch, merging mixes their rows); "" file: no such limit */
    cot_pos one_tx_until;
    /* committed changes per target table (under mu) */
    pipeline_table_count *tables;
    size_t n_tables;
    /* an on-demand snapshot asked through the API, taken by the select loop (guarded by mu) */
    atomic_bool snap_req;
    char snap_req_table[300];
    char *snap_req_where;
};

typedef struct session {
    pipeline *pl;
    const sink_ops *ops;
    sink *sk;
    chunk_queue q;
    transform *tf; /* NULL when no mapping filters or reshapes */
    atomic_bool load_failed;
    bool load_ok;
    char load_error[1024];
    cot_err load_rc;
    atomic_ullong committed_batches; /* batches committed by this session */
    cot_pos start;                   /* where this session started reading */
    double tf_s;                     /* transform time of the select thread, not yet published */
    snapshot *sn;                    /* the initial load of this session (select thread), or NULL */
    /* Position rows (parallel apply, see parallel.h). The target keeps
     * `layout` rows for the pipeline, [0, layout) ; they are "even" when
     * all stand at one position and no others exist. After a crash of a
     * parallel load they are not: each worker's row says which
     * transactions that worker applied, and until the stream passes the
     * furthest row (old_max) a change is left out when its worker (by
     * the old layout) applied it already. */
    uint32_t layout;
    par_pool *pp; /* NULL: every batch on sk */
    bool rows_even;
    bool skipping;
    uint32_t n_old;
    cot_pos old_pos[PAR_MAX_WORKERS];
    bool old_have[PAR_MAX_WORKERS];
    cot_pos old_max;
} session;

static const char *const state_names[] = {"STOPPED", "CONNECTING", "RUNNING", "ERROR"};
const double pipeline_rows_buckets[PIPELINE_ROWS_BUCKETS] = {1, 10, 100, 1000, 10000, 100000};
const double pipeline_latency_buckets[PIPELINE_LATENCY_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                                   0.25,  0.5,  1,     2.5,  5};

const char *pipeline_stage_name(int stage)
{
    static const char *const names[] = {"select", "extract", "transform", "load"};
    return stage >= 0 && stage < PIPELINE_STAGES ? names[stage] : "?";
}

/* pipeline__batch_done records a committed batch in the status (caller
 * holds mu): rows, bytes and latency into the histograms. */
static void pipeline__batch_done(pipeline_status *st, uint64_t rows, uint64_t bytes, double latency)
{
    int b = 0;
    while (b < PIPELINE_ROWS_BUCKETS && (double)rows > pipeline_rows_buckets[b]) b++;
    st->batch_rows_hist[b]++;
    st->batch_rows_sum += rows;
    b = 0;
    while (b < PIPELINE_LATENCY_BUCKETS && latency > pipeline_latency_buckets[b]) b++;
    st->batch_latency_hist[b]++;
    st->batch_latency_sum += latency;
    st->bytes_applied += bytes;
}

const char *pipeline_state_name(pipeline_state st)
{
    return (unsigned)st < 4 ? state_names[st] : "?";
}

static void pipeline__set_state(pipeline *pl, pipeline_state st)
{
    pthread_mutex_lock(&pl->mu);
    pipeline_state old = pl->st.state;
    pl->st.state = st;
    pthread_mutex_unlock(&pl->mu);
    if (old != st)
        LOG_I("pipeline", "pipeline %s: %s -> %s", pl->pc->name, pipeline_state_name(old),
              pipeline_state_name(st));
}

static void pipeline__set_error(pipeline *pl, cot_err rc, const char *msg)
{
    pthread_mutex_lock(&pl->mu);
    snprintf(pl->st.last_error, sizeof(pl->st.last_error), "%s", msg);
    redact_secrets_inplace(pl->st.last_error, sizeof(pl->st.last_error)); /* status, API, alarms */
    pl->st.last_error_at = time(NULL);
    pl->st.last_error_code = rc;
    pl->st.fail_pos = pl->have_fail_at ? pl->fail_at : pl->st.pos;
    pl->have_fail_at = false;
    doctor_hint(msg, 0, pl->st.hint, sizeof(pl->st.hint));
    pl->st.sessions_failed++;
    if ((unsigned)rc < COT_ERR__COUNT) pl->st.errors_by_class[rc]++;
    pthread_mutex_unlock(&pl->mu);
}

pipeline *pipeline_new(const cot_config *cfg, const cfg_channel *ch, const cfg_pipeline *pc)
{
    pipeline *pl = calloc(1, sizeof(*pl));
    if (!pl) abort();
    pl->cfg = cfg;
    pl->ch = ch;
    pl->pc = pc;
    atomic_init(&pl->stop, false);
    atomic_init(&pl->caught_up, false);
    atomic_init(&pl->load_busy_ms, 0);
    atomic_init(&pl->finished, false);
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->wake, NULL);
    pl->st.state = PS_STOPPED;
    pl->st.delay_s = -1;
    return pl;
}

void pipeline_free(pipeline *pl)
{
    if (!pl) return;
    free(pl->snap_req_where);
    free(pl->tables);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->wake);
    free(pl);
}

const char *pipeline_name(const pipeline *pl)
{
    return pl->pc->name;
}

const char *pipeline_channel(const pipeline *pl)
{
    return pl->ch->name;
}

void pipeline_status_get(pipeline *pl, pipeline_status *out)
{
    pthread_mutex_lock(&pl->mu);
    /* the rate: a new sample at most once a second, whoever asks */
    double now = clock_now_s();
    uint64_t rows = pl->st.inserts + pl->st.updates + pl->st.deletes;
    if (pl->rate_t == 0) {
        pl->rate_t = now;
        pl->rate_rows = rows;
    } else if (now - pl->rate_t >= 1.0) {
        double inst = (double)(rows - pl->rate_rows) / (now - pl->rate_t);
        pl->st.rows_per_s = pl->st.rows_per_s == 0 ? inst : 0.5 * pl->st.rows_per_s + 0.5 * inst;
        pl->rate_t = now;
        pl->rate_rows = rows;
    }
    *out = pl->st;
    uint32_t pend_ts = pl->pend_ts;
    pthread_mutex_unlock(&pl->mu);
    sink_policy_counts spc; /* kept by the sinks, committed batches only */
    sink_policy_counts_get(pl->pc->name, &spc);
    out->skipped += spc.skipped;
    out->conflicts = spc.conflicts;
    out->overflows = spc.clamped + spc.nulled;
    out->missing = spc.missing;
    out->behind = out->source_end.file[0] && cot_pos_cmp(&out->pos, &out->source_end) < 0;
    long long busy = atomic_load(&pl->load_busy_ms);
    double waited = busy ? clock_now_s() - (double)busy / 1000.0 : 0;
    out->target_wait_s = out->state == PS_RUNNING && waited >= 2 ? waited : 0;
    if (out->state != PS_RUNNING) {
        /* not streaming: known only when transactions read are waiting */
        if (out->behind && pend_ts) out->delay_s = difftime(time(NULL), (time_t)pend_ts);
        if (out->delay_s < -0.5)
            out->delay_s = -1;
        else if (out->delay_s < 0)
            out->delay_s = 0;
        return;
    }
    if (atomic_load(&pl->caught_up) && !out->behind)
        out->delay_s = 0;
    else if (out->behind && pend_ts)
        out->delay_s = difftime(time(NULL), (time_t)pend_ts);
    else if (out->source_ts)
        out->delay_s = difftime(time(NULL), (time_t)out->source_ts);
    if (out->delay_s < 0) out->delay_s = 0;
}

/* pipeline__read_to records (caller holds mu) that the source has a
 * transaction ending at end with source time ts (0: unknown). */
static void pipeline__read_to(pipeline *pl, const cot_pos *end, uint32_t ts)
{
    if (!end->file[0]) return;
    if (!pl->st.source_end.file[0] || cot_pos_cmp(end, &pl->st.source_end) > 0)
        pl->st.source_end = *end;
    if (!pl->pend_ts && ts && cot_pos_cmp(end, &pl->st.pos) > 0) pl->pend_ts = ts;
}

/* pipeline__applied_to records (caller holds mu) a commit up to the
 * committed position: what is still waiting is at least as recent as ts. */
static void pipeline__applied_to(pipeline *pl, uint32_t ts)
{
    if (!pl->st.source_end.file[0] || cot_pos_cmp(&pl->st.pos, &pl->st.source_end) >= 0)
        pl->pend_ts = 0;
    else if (pl->pend_ts && ts > pl->pend_ts)
        pl->pend_ts = ts;
}

/* ---- routing --------------------------------------------------------- */

static bool pipeline__route(void *ctx, const char *schema, const char *table, char *out_schema,
                            size_t schema_cap, char *out_table, size_t table_cap)
{
    const cfg_pipeline *pc = ctx;
    if (snapshot_is_watermark(schema,
                              table)) { /* the snapshot's marks: snapshot_filter eats them */
        snprintf(out_schema, schema_cap, "%s", schema);
        snprintf(out_table, table_cap, "%s", table);
        return true;
    }
    if (strcmp(schema, SNAPSHOT_WATERMARK_SCHEMA) == 0) return false; /* cotter's own tables */
    if (ddl_shadow_is_changelog(table)) return false;                 /* gh-ost's heartbeats */
    char base[256];
    const cfg_table_map *tm = transform_mapping(pc, schema, table, base, sizeof(base));
    if (!tm) return false;
    const char *name = base[0] ? base : table;
    if (!table_route(tm->to, schema, name, out_schema, schema_cap, out_table, table_cap)) {
        LOG_E("pipeline", "pipeline %s: mapping %s (line %d) cannot rename %s.%s: %s", pc->name,
              tm->match, tm->line, schema, table, cot_err_msg());
        return false;
    }
    if (base[0]) {
        /* a shadow table: the renamed base with the tool's affixes around it */
        char renamed[256];
        snprintf(renamed, sizeof(renamed), "%s", out_table);
        if ((size_t)snprintf(out_table, table_cap, "_%s%s", renamed, table + 1 + strlen(base)) >=
            table_cap)
            return false;
    }
    return true;
}

/* ---- load ------------------------------------------------------------ */

static void session__load_fail(session *ss, cot_err rc, const char *msg)
{
    ss->load_rc = rc;
    snprintf(ss->load_error, sizeof(ss->load_error), "%s", msg);
    atomic_store(&ss->load_failed, true);
    queue_close(&ss->q); /* the select side sees its next push fail */
}

/* The load thread's state for one session. With merging on, the chunks
 * of the current run are held (the merged chunk points into them) until
 * the run is applied; a run never outgrows batch.rows / batch.bytes, so a
 * giant transaction is applied in merged pieces inside one open target
 * transaction. */
typedef struct loader {
    session *ss;
    merger *mg; /* NULL: apply chunk by chunk */
    cot_chunk **held;
    uint32_t n_held;
    uint32_t cap_held;
    uint64_t run_rows;
    uint64_t run_bytes;
    /* the open batch */
    bool batch_open;
    bool in_tx;
    double t0;
    uint64_t rows, bytes, ins, upd, del, txs;
    cot_pos last_pos;
    uint32_t last_ts;
    bool have_pos;
    bool dirty;    /* something was taken since the last commit */
    bool par_on;   /* the open batch goes to the parallel workers */
    double busy_s; /* load thread time between queue pops, not yet published */
    /* per-table counts of the open batch, added to the pipeline's at commit */
    pipeline_table_count *tc;
    uint32_t n_tc, cap_tc;
    const cot_table *tc_last_tbl;
    uint32_t tc_last;
    cot_pos applied_to; /* end of the last batch committed or handed to the workers */
    /* on_error: skip keeps every chunk of the open batch, to apply it again
     * row by row when the target refuses a row; bounded, see LOADER_KEEP_MAX */
    bool skip;
    cot_chunk **kept;
    uint32_t n_kept;
    uint32_t cap_kept;
    uint64_t kept_bytes;
    bool kept_overflow;
    /* a cascading change came inside a transaction split over chunks while
     * the batch went to the parallel workers: the next session applies
     * serially past its start (see loader__serial) */
    bool cascade_mid_tx;
} loader;

#define LOADER_KEEP_FACTOR 4 /* keep at most this many batch.bytes for a replay */

static bool loader__key_of(void *ctx, const cot_table *tbl, const uint32_t **cols, uint32_t *n)
{
    session *ss = ctx;
    /* a table the sink cannot describe is applied unmerged; applying it
     * then reports the problem */
    if (ss->ops->table_key(ss->sk, (cot_table *)tbl, cols, n) != COT_OK) *n = 0;
    return true;
}

/* loader__release frees the chunks kept for a replay. */
static void loader__release(loader *ld)
{
    for (uint32_t i = 0; i < ld->n_kept; i++) cot_chunk_free(ld->kept[i]);
    ld->n_kept = 0;
    ld->kept_bytes = 0;
    ld->kept_overflow = false;
}

/* loader__keep makes ck part of the replay list (skip mode); false when the
 * batch has outgrown what may be kept (the chunk is then the caller's). */
static bool loader__keep(loader *ld, cot_chunk *ck)
{
    const cfg_pipeline *pc = ld->ss->pl->pc;
    if (ld->kept_overflow || ld->kept_bytes + ck->bytes > LOADER_KEEP_FACTOR * pc->batch_bytes) {
        if (!ld->kept_overflow)
            LOG_W("load",
                  "pipeline %s: a transaction larger than %d x batch.bytes: on_error: "
                  "skip cannot replay it row by row, a refused row in it stops the pipeline",
                  pc->name, LOADER_KEEP_FACTOR);
        ld->kept_overflow = true;
        return false;
    }
    if (ld->n_kept == ld->cap_kept) {
        uint32_t cap = ld->cap_kept ? ld->cap_kept * 2 : 64;
        cot_chunk **k = realloc(ld->kept, cap * sizeof(*k));
        if (!k) abort();
        ld->kept = k;
        ld->cap_kept = cap;
    }
    ld->kept[ld->n_kept++] = ck;
    ld->kept_bytes += ck->bytes;
    return true;
}

/* loader__owned says whether a chunk taken into the batch belongs to the
 * replay list (then only loader__release frees it). */
static bool loader__owned(const loader *ld, const cot_chunk *ck)
{
    return ld->skip && ld->n_kept && ld->kept[ld->n_kept - 1] == ck;
}

static void loader__drop_run(loader *ld)
{
    for (uint32_t i = 0; i < ld->n_held; i++) /* in skip mode the replay list owns them */
        if (!ld->skip || ld->par_on) cot_chunk_free(ld->held[i]);
    ld->n_held = 0;
    ld->run_rows = ld->run_bytes = 0;
    if (ld->mg) merger_reset(ld->mg);
}

/* loader__apply_run merges the held chunks and applies the result. */
static cot_err loader__apply_run(loader *ld)
{
    if (!ld->mg || ld->n_held == 0) return COT_OK;
    merge_stats ms;
    cot_chunk *merged = merger_finish(ld->mg, &ms);
    if (ld->par_on) { /* the workers free the chunks once applied */
        cot_err rc = par_submit(ld->ss->pp, merged, ld->held, ld->n_held, loader__key_of, ld->ss);
        ld->n_held = 0;
        ld->run_rows = ld->run_bytes = 0;
        merger_reset(ld->mg);
        return rc;
    }
    cot_err rc = ld->ss->ops->apply(ld->ss->sk, merged);
    if (!rc)
        LOG_D("load", "pipeline %s: applied a run of %u changes merged into %u (%u keys)",
              ld->ss->pl->pc->name, ms.changes_in, ms.changes_out, ms.keys);
    cot_chunk_free(merged);
    loader__drop_run(ld);
    return rc;
}

/* loader__account counts ck into the open batch and moves the batch's
 * position to the end of ck's transaction. */
/* loader__table_slot returns the batch's count entry of tbl's target table. */
static pipeline_table_count *loader__table_slot(loader *ld, const cot_table *tbl)
{
    if (tbl == ld->tc_last_tbl && ld->tc_last < ld->n_tc) return &ld->tc[ld->tc_last];
    char name[160];
    snprintf(name, sizeof(name), "%s.%s", tbl->schema, tbl->name);
    uint32_t i = 0;
    while (i < ld->n_tc && strcmp(ld->tc[i].table, name) != 0) i++;
    if (i == ld->n_tc) {
        if (ld->n_tc == ld->cap_tc) {
            uint32_t cap = ld->cap_tc ? ld->cap_tc * 2 : 16;
            pipeline_table_count *t = realloc(ld->tc, cap * sizeof(*t));
            if (!t) abort();
            ld->tc = t;
            ld->cap_tc = cap;
        }
        memset(&ld->tc[i], 0, sizeof(ld->tc[i]));
        snprintf(ld->tc[i].table, sizeof(ld->tc[i].table), "%s", name);
        ld->n_tc++;
    }
    ld->tc_last_tbl = tbl;
    ld->tc_last = i;
    return &ld->tc[i];
}

/* pipeline__tables_add adds a batch's per-table counts (caller holds mu). */
static void pipeline__tables_add(pipeline *pl, const pipeline_table_count *tc, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < pl->n_tables && strcmp(pl->tables[k].table, tc[i].table) != 0) k++;
        if (k == pl->n_tables) {
            if (pl->n_tables == PIPELINE_TABLES_MAX) {
                k = PIPELINE_TABLES_MAX - 1; /* the last entry gathers the rest */
                snprintf(pl->tables[k].table, sizeof(pl->tables[k].table), "(other tables)");
            } else {
                if (!pl->tables) {
                    pl->tables = calloc(PIPELINE_TABLES_MAX, sizeof(*pl->tables));
                    if (!pl->tables) abort();
                }
                pl->tables[k] = tc[i];
                pl->n_tables++;
                continue;
            }
        }
        pl->tables[k].inserts += tc[i].inserts;
        pl->tables[k].updates += tc[i].updates;
        pl->tables[k].deletes += tc[i].deletes;
    }
}

size_t pipeline_tables_get(pipeline *pl, pipeline_table_count *out, size_t cap)
{
    pthread_mutex_lock(&pl->mu);
    size_t n = pl->n_tables;
    if (out && cap && n) memcpy(out, pl->tables, (n < cap ? n : cap) * sizeof(*out));
    pthread_mutex_unlock(&pl->mu);
    return n;
}

static void loader__account(loader *ld, const cot_chunk *ck)
{
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        /* cotter's own tables (snapshot marks, positions of another
         * pipeline) are bookkeeping, not the user's rows: not counted */
        if (strcmp(ck->changes[i].tbl->schema, "cotter") == 0) continue;
        pipeline_table_count *t = loader__table_slot(ld, ck->changes[i].tbl);
        switch (ck->changes[i].op) {
        case OP_INSERT:
            ld->ins++;
            t->inserts++;
            break;
        case OP_UPDATE:
            ld->upd++;
            t->updates++;
            break;
        case OP_DELETE:
            ld->del++;
            t->deletes++;
            break;
        }
    }
    ld->rows += ck->n_changes;
    ld->bytes += ck->bytes;
    ld->in_tx = !ck->tx_end;
    ld->dirty = true;
    if (ck->tx_end) {
        ld->last_pos = ck->end_pos;
        if (ck->ts) ld->last_ts = ck->ts;
        ld->have_pos = true;
        if (ck->kind != CK_EMPTY) ld->txs++;
    }
}

static cot_err loader__commit(loader *ld);
static cot_err loader__begin(loader *ld, bool allow_par);
static cot_err loader__replay(loader *ld, cot_err rc);

/* loader__skip_applied leaves out of ck what the workers of the old
 * position-row layout applied before the last crash (see session). */
static void loader__skip_applied(loader *ld, cot_chunk *ck)
{
    session *ss = ld->ss;
    const cot_pos *st = &ck->start_pos;
    if (!st->file[0]) return;
    if (cot_pos_cmp(st, &ss->old_max) >= 0) {
        ss->skipping = false;
        LOG_I("load",
              "pipeline %s: past the furthest worker position; the position rows are made "
              "even at the next commit",
              ss->pl->pc->name);
        return;
    }
    if (ck->kind == CK_DDL) { /* a DDL's position is written to every row by row 0's connection */
        if (ss->old_have[0] && cot_pos_cmp(st, &ss->old_pos[0]) < 0) ck->kind = CK_EMPTY;
        return;
    }
    if (ck->kind != CK_ROWS) return;
    uint32_t out = 0, dropped = 0;
    const cot_table *last_tbl = NULL;
    const uint32_t *key = NULL;
    uint32_t n_key = 0;
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        cot_change ch = ck->changes[i];
        if (ch.tbl != last_tbl) {
            last_tbl = ch.tbl;
            if (!loader__key_of(ss, ch.tbl, &key, &n_key)) n_key = 0;
        }
        par_part parts[2];
        uint32_t np = par_route(&ch, key, n_key, ss->n_old, parts);
        bool done[2] = {false, false};
        for (uint32_t p = 0; p < np; p++) {
            uint32_t w = parts[p].worker;
            done[p] =
                w < PAR_MAX_WORKERS && ss->old_have[w] && cot_pos_cmp(st, &ss->old_pos[w]) < 0;
        }
        if (np == 1 && done[0]) {
            dropped++;
            continue;
        }
        if (np == 2 && done[0] && done[1]) {
            dropped++;
            continue;
        }
        if (np == 2 && (done[0] || done[1])) { /* half of a key change was applied */
            const par_part *left = done[0] ? &parts[1] : &parts[0];
            ch.op = left->op;
            if (ch.op == OP_DELETE) ch.after = NULL;
            if (ch.op == OP_INSERT) ch.before = NULL;
        }
        ck->changes[out++] = ch;
    }
    ck->n_changes = out;
    if (dropped)
        LOG_I("load",
              "pipeline %s: %u change%s of the transaction at %s:%llu applied before the "
              "restart by another load worker; left out",
              ss->pl->pc->name, dropped, dropped == 1 ? "" : "s", st->file,
              (unsigned long long)st->pos);
}

/* loader__take_ddl applies a DDL on its own: a MySQL DDL commits whatever
 * is open, so the batch before it is committed first, and the position
 * after it is committed right after it. A crash between the two re-runs
 * the DDL on the next start; the sink treats "already done" as done. */
static cot_err loader__take_ddl(loader *ld, cot_chunk *ck)
{
    const cfg_pipeline *pc = ld->ss->pl->pc;
    /* rename the tables it names per the mapping, or leave it out */
    buf out;
    buf_init(&out);
    ddl_info info;
    ddl_dialect dl; /* read as the source session read it */
    ddl_dialect_of(&dl, &ck->ddl_session);
    cot_err rc = ddl_rewrite_dl(ck->ddl, strlen(ck->ddl), ck->ddl_schema, &dl, pipeline__route,
                                (void *)pc, &out, &info);
    if (rc && pc->ddl == CFG_DDL_IGNORE && !ck->internal) {
        /* the way past a statement cotter cannot follow: the user said ignore */
        LOG_I("load", "pipeline %s: ignoring a DDL cotter cannot rewrite (ddl: ignore): %s",
              pc->name, cot_err_msg());
        rc = COT_OK;
        info.kind = DDL_NOT_OURS;
    }
    if (rc) {
        buf_deinit(&out);
        cot_chunk_free(ck);
        return rc;
    }
    if (info.kind == DDL_NOT_OURS) {
        LOG_D("load", "pipeline %s: DDL not for this mapping (%s): %.200s", pc->name, info.note,
              ck->ddl);
        ck->kind = CK_EMPTY; /* only moves the position */
    } else {
        ck->ddl = arena_strndup(&ck->mem, out.data, out.len);
    }
    buf_deinit(&out);

    rc = loader__apply_run(ld);
    if (rc) rc = loader__replay(ld, rc);
    if (!rc && ld->batch_open && ld->have_pos && ld->dirty) {
        rc = loader__commit(ld);
        if (rc) {
            rc = loader__replay(ld, rc);
            if (!rc) rc = loader__commit(ld);
        }
    }
    /* every worker must be done before the DDL runs on the main connection */
    if (!rc && ld->ss->pp) rc = par_drain(ld->ss->pp);
    if (!rc && ld->batch_open && ld->par_on) ld->batch_open = false; /* nothing was handed over */
    if (!rc && !ld->batch_open) rc = loader__begin(ld, false);
    if (!rc) {
        loader__account(ld, ck);
        rc = ld->ss->ops->apply(ld->ss->sk, ck);
    }
    if (!rc) rc = loader__commit(ld);
    if (!rc && ld->ss->pp && ck->kind == CK_DDL) rc = par_forget_tables(ld->ss->pp);
    cot_chunk_free(ck);
    return rc;
}

/* loader__cascades says whether a change of ck sets off a cascading action
 * of the target's foreign keys (sink_ops.change_cascades). */
static cot_err loader__cascades(loader *ld, const cot_chunk *ck, bool *yes)
{
    *yes = false;
    session *ss = ld->ss;
    if (!ss->ops->change_cascades || ck->kind != CK_ROWS) return COT_OK;
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        if (ck->changes[i].op == OP_INSERT) continue;
        cot_err rc = ss->ops->change_cascades(ss->sk, &ck->changes[i], yes);
        if (rc || *yes) return rc;
    }
    return COT_OK;
}

/* loader__serial moves the open batch off the parallel workers before a
 * chunk with a cascading change: the target's cascade changes rows the
 * binlog does not name, so no worker may apply a change of them at the
 * same time, before or after it. What the workers hold is committed, they
 * are drained, and the batch goes on on the main connection (the next
 * batch may be parallel again). Inside a transaction already handed to the
 * workers that is impossible without committing half of it: the session
 * then fails (retriable) and the next one applies serially past it. */
static cot_err loader__serial(loader *ld)
{
    if (ld->in_tx) {
        ld->cascade_mid_tx = true;
        return cot_err_set(COT_ERR_SQL_RETRY,
                           "a change that sets off a cascading foreign key of the target came "
                           "inside a transaction of more than one chunk while it was applied in "
                           "parallel; applying it again serially");
    }
    cot_err rc = COT_OK;
    if (ld->batch_open && ld->have_pos && ld->dirty) rc = loader__commit(ld);
    if (!rc) rc = par_drain(ld->ss->pp);
    if (!rc && ld->batch_open) ld->batch_open = false; /* nothing was handed over */
    if (!rc) rc = loader__begin(ld, false);
    return rc;
}

/* loader__take applies or holds one chunk inside the open batch; ck is
 * consumed either way. A chunk with a cascading change is applied as it
 * is, in source order after the merged run before it: merging could move
 * a row of the cascade's children across it. */
static cot_err loader__take(loader *ld, cot_chunk *ck)
{
    const cfg_pipeline *pc = ld->ss->pl->pc;
    if (ld->ss->skipping) loader__skip_applied(ld, ck);
    if (ck->kind == CK_DDL) return loader__take_ddl(ld, ck);
    bool cascade;
    cot_err rc = loader__cascades(ld, ck, &cascade);
    if (!rc && cascade && ld->par_on) rc = loader__serial(ld);
    if (rc) {
        cot_chunk_free(ck);
        return rc;
    }
    loader__account(ld, ck);
    bool skip = ld->skip && !ld->par_on;
    bool kept = skip && loader__keep(ld, ck);
    if (ld->mg && !cascade && (kept || !skip)) {
        rc = merger_add(ld->mg, ck);
        if (rc) {
            if (!kept) cot_chunk_free(ck);
            return rc;
        }
        if (ld->n_held == ld->cap_held) {
            uint32_t cap = ld->cap_held ? ld->cap_held * 2 : 64;
            cot_chunk **h = realloc(ld->held, cap * sizeof(*h));
            if (!h) abort();
            ld->held = h;
            ld->cap_held = cap;
        }
        ld->held[ld->n_held++] = ck;
        ld->run_rows += ck->n_changes;
        ld->run_bytes += ck->bytes;
        if (ld->run_rows >= pc->batch_rows || ld->run_bytes >= pc->batch_bytes)
            return loader__apply_run(ld);
        return COT_OK;
    }
    if (ld->mg)
        rc = loader__apply_run(ld); /* a chunk not kept: runs must not outlive it */
    else
        rc = COT_OK;
    if (!rc) rc = ld->ss->ops->apply(ld->ss->sk, ck);
    if (!loader__owned(ld, ck)) cot_chunk_free(ck);
    return rc;
}

/* loader__replay answers a refused row under on_error: skip: the batch is
 * rolled back and applied again one row at a time from the kept chunks;
 * rows the target refuses for good go to its dead-letter table. Returns rc
 * unchanged when that does not apply. */
static cot_err loader__replay(loader *ld, cot_err rc)
{
    session *ss = ld->ss;
    if (!ld->skip || ld->par_on || rc != COT_ERR_SQL || ld->kept_overflow ||
        !ss->ops->apply_isolated || !ld->batch_open)
        return rc;
    LOG_W("load", "pipeline %s: %s; applying the batch again row by row (on_error: skip)",
          ss->pl->pc->name, cot_err_msg());
    ss->ops->batch_abort(ss->sk);
    ld->n_held = 0; /* the kept list owns them */
    ld->run_rows = ld->run_bytes = 0;
    if (ld->mg) merger_reset(ld->mg);
    ld->batch_open = false;
    rc = loader__begin(ld, false);
    uint64_t skipped = 0;
    cot_pos where = ld->last_pos;
    for (uint32_t i = 0; i < ld->n_kept && !rc; i++) {
        const cot_chunk *ck = ld->kept[i];
        rc = ss->ops->apply_isolated(ss->sk, ck, ck->tx_end ? &ck->end_pos : &where, &skipped);
    }
    if (!rc) {
        pthread_mutex_lock(&ss->pl->mu);
        ss->pl->st.skipped += skipped;
        pthread_mutex_unlock(&ss->pl->mu);
    }
    return rc;
}

/* loader__par_ok says whether the next batch may go to the workers: the
 * rows are even, and the position is past the batch that failed last. */
static bool loader__par_ok(loader *ld)
{
    session *ss = ld->ss;
    pipeline *pl = ss->pl;
    if (!ss->pp || !ss->rows_even || ss->skipping) return false;
    if (pl->serial_until.file[0]) {
        if (cot_pos_cmp(&ld->applied_to, &pl->serial_until) < 0) return false;
        LOG_I("load", "pipeline %s: past the batch that failed; applying in parallel again",
              pl->pc->name);
        memset(&pl->serial_until, 0, sizeof(pl->serial_until));
    }
    return true;
}

static cot_err loader__begin(loader *ld, bool allow_par)
{
    ld->par_on = allow_par && loader__par_ok(ld);
    if (!ld->par_on) {
        cot_err rc = ld->ss->ops->batch_begin(ld->ss->sk);
        if (rc) return rc;
    }
    ld->batch_open = true;
    ld->t0 = clock_now_s();
    return COT_OK;
}

/* session__commit_rows commits the main connection's batch with pos in
 * the position rows: every row of the layout (pruning any other) once the
 * rows may be made even, else each row of the old layout that pos moves
 * forward. */
static cot_err session__commit_rows(session *ss, const cot_pos *pos, uint32_t ts)
{
    const sink_ops *ops = ss->ops;
    if (!ops->batch_commit_rows) return ops->batch_commit(ss->sk, pos, ts);
    uint32_t idx[PAR_MAX_WORKERS];
    cot_pos rows[PAR_MAX_WORKERS];
    uint32_t n = 0, prune_to = 0;
    if (ss->skipping) {
        for (uint32_t k = 0; k < ss->n_old; k++) {
            idx[n] = k;
            rows[n++] =
                ss->old_have[k] && cot_pos_cmp(&ss->old_pos[k], pos) > 0 ? ss->old_pos[k] : *pos;
        }
    } else {
        for (uint32_t k = 0; k < ss->layout; k++) {
            idx[n] = k;
            rows[n++] = *pos;
        }
        if (!ss->rows_even && ss->n_old > ss->layout) prune_to = ss->n_old;
    }
    cot_err rc = ops->batch_commit_rows(ss->sk, idx, rows, n, ss->layout, prune_to, ts);
    if (!rc && !ss->skipping && !ss->rows_even) {
        ss->rows_even = true;
        LOG_I("load", "pipeline %s: %u position row%s at %s:%llu", ss->pl->pc->name,
              (unsigned)ss->layout, ss->layout == 1 ? "" : "s", pos->file,
              (unsigned long long)pos->pos);
    }
    return rc;
}

/* session__par_committed (worker thread): every worker committed its
 * share of a batch. */
static void session__par_committed(void *ctx, const cot_pos *pos, uint32_t ts, const par_counts *c)
{
    session *ss = ctx;
    pipeline *pl = ss->pl;
    if (!pos) { /* a worker failed: the batch is not on the target */
        free(c->tables);
        return;
    }
    atomic_fetch_add(&ss->committed_batches, 1);
    pthread_mutex_lock(&pl->mu);
    pipeline__tables_add(pl, c->tables, c->n_tables);
    free(c->tables);
    pipeline__batch_done(&pl->st, c->rows, c->bytes, clock_now_s() - c->t0);
    pl->st.applied_at = time(NULL);
    pl->st.pos = *pos;
    if (ts) pl->st.source_ts = ts;
    pipeline__applied_to(pl, ts);
    pl->st.inserts += c->ins;
    pl->st.updates += c->upd;
    pl->st.deletes += c->del;
    pl->st.transactions += c->txs;
    pl->st.batches++;
    pthread_mutex_unlock(&pl->mu);
}

static cot_err loader__commit(loader *ld)
{
    session *ss = ld->ss;
    pipeline *pl = ss->pl;
    cot_err rc = loader__apply_run(ld);
    size_t qrows, qbytes;
    if (!rc && ld->par_on) {
        par_counts c = {.ins = ld->ins,
                        .upd = ld->upd,
                        .del = ld->del,
                        .txs = ld->txs,
                        .rows = ld->rows,
                        .bytes = ld->bytes,
                        .t0 = ld->t0};
        if (ld->n_tc) { /* the callback owns the copy */
            c.tables = malloc(ld->n_tc * sizeof(*ld->tc));
            if (!c.tables) abort();
            memcpy(c.tables, ld->tc, ld->n_tc * sizeof(*ld->tc));
            c.n_tables = ld->n_tc;
        }
        ld->n_tc = 0;
        ld->tc_last_tbl = NULL;
        rc = par_commit(ss->pp, &ld->last_pos, ld->last_ts, &c);
        if (rc) return rc;
        ld->batch_open = false;
        ld->dirty = false;
        ld->applied_to = ld->last_pos;
        ld->rows = ld->bytes = ld->ins = ld->upd = ld->del = ld->txs = 0;
        queue_depth(&ss->q, NULL, &qrows, &qbytes);
        pthread_mutex_lock(&pl->mu);
        pl->st.queue_rows = qrows;
        pl->st.queue_bytes = qbytes;
        pl->st.stage_s[PIPE_LOAD] += ld->busy_s;
        pthread_mutex_unlock(&pl->mu);
        ld->busy_s = 0;
        return COT_OK;
    }
    if (!rc) rc = session__commit_rows(ss, &ld->last_pos, ld->last_ts);
    if (rc) return rc;
    ld->batch_open = false;
    ld->dirty = false;
    ld->applied_to = ld->last_pos;
    loader__release(ld);
    atomic_fetch_add(&ss->committed_batches, 1);
    queue_depth(&ss->q, NULL, &qrows, &qbytes);
    pthread_mutex_lock(&pl->mu);
    pl->st.pos = ld->last_pos;
    if (ld->last_ts) pl->st.source_ts = ld->last_ts;
    pipeline__applied_to(pl, ld->last_ts);
    pipeline__tables_add(pl, ld->tc, ld->n_tc);
    ld->n_tc = 0;
    ld->tc_last_tbl = NULL;
    pipeline__batch_done(&pl->st, ld->rows, ld->bytes, clock_now_s() - ld->t0);
    pl->st.applied_at = time(NULL);
    pl->st.stage_s[PIPE_LOAD] += ld->busy_s;
    ld->busy_s = 0;
    pl->st.inserts += ld->ins;
    pl->st.updates += ld->upd;
    pl->st.deletes += ld->del;
    pl->st.transactions += ld->txs;
    pl->st.batches++;
    pl->st.queue_rows = qrows;
    pl->st.queue_bytes = qbytes;
    pthread_mutex_unlock(&pl->mu);
    LOG_D("load", "pipeline %s: committed %llu rows in %llu transactions up to %s:%llu",
          pl->pc->name, (unsigned long long)ld->rows, (unsigned long long)ld->txs,
          ld->last_pos.file, (unsigned long long)ld->last_pos.pos);
    ld->rows = ld->bytes = ld->ins = ld->upd = ld->del = ld->txs = 0;
    return COT_OK;
}

static bool loader__queue_done(session *ss)
{
    pthread_mutex_lock(&ss->q.mu);
    bool done = ss->q.closed && !ss->q.head;
    pthread_mutex_unlock(&ss->q.mu);
    return done;
}

static void *session__load_main(void *arg)
{
    session *ss = arg;
    const cfg_pipeline *pc = ss->pl->pc;
    loader ld;
    memset(&ld, 0, sizeof(ld));
    ld.ss = ss;
    ld.skip = pc->on_error_skip && ss->ops->apply_isolated;
    ld.applied_to = ss->start;
    if (pc->batch_merge && ss->ops->table_key) ld.mg = merger_new(loader__key_of, ss);
    uint32_t batch_ms = pc->batch_ms ? pc->batch_ms : 200;
    cot_err rc = COT_OK;
    double t_work = 0; /* when the last pop returned */

    for (;;) {
        int timeout = 1000;
        if (ld.batch_open && !ld.in_tx) {
            double left = (double)batch_ms / 1000.0 - (clock_now_s() - ld.t0);
            timeout = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        /* a stop: finish the open batch at its transaction's end, commit it and
         * leave the rest of the queue (it is read again from the binlog next time) */
        bool stopping = atomic_load(&ss->pl->stop);
        if (stopping && !ld.batch_open) break;
        if (stopping && !ld.in_tx) timeout = 0;
        if (t_work) ld.busy_s += clock_now_s() - t_work;
        atomic_store(&ss->pl->load_busy_ms, 0);
        cot_chunk *ck = queue_pop(&ss->q, timeout);
        t_work = clock_now_s();
        atomic_store(&ss->pl->load_busy_ms, (long long)(t_work * 1000.0));
        if (!ck && ss->pp && (rc = par_error(ss->pp)) != COT_OK) break; /* a worker failed */
        if (!ck) {
            bool closed = loader__queue_done(ss);
            if (!closed && !(ld.batch_open && !ld.in_tx)) continue;
            if (closed && (!ld.batch_open || ld.in_tx)) break;
            /* time is up, or closing at a boundary: commit below */
        } else {
            if (!ld.batch_open && ck->kind != CK_DDL) {
                rc = loader__begin(&ld, true);
                if (rc) {
                    cot_chunk_free(ck);
                    break;
                }
            }
            bool tx_end = ck->tx_end;
            cot_pos where = tx_end ? ck->end_pos : ld.last_pos;
            cot_pos tx_start = ck->start_pos;
            bool is_ddl = ck->kind == CK_DDL;
            rc = loader__take(&ld, ck);
            if (rc && !is_ddl) rc = loader__replay(&ld, rc);
            if (rc && tx_start.file[0]) { /* the failure is over once the position passes it */
                pthread_mutex_lock(&ss->pl->mu);
                ss->pl->fail_at = tx_start;
                ss->pl->have_fail_at = true;
                pthread_mutex_unlock(&ss->pl->mu);
            }
            if (rc) {
                char pos[300], msg[1400];
                cot_pos_format(&where, pos, sizeof(pos));
                snprintf(msg, sizeof(msg), "%s (source transaction %s %s)", cot_err_msg(),
                         tx_end ? "ending at" : "after",
                         (tx_end || ld.have_pos) ? pos : "the start");
                cot_err_set(rc, "%s", msg);
                break;
            }
            if (ld.in_tx) continue;
            if (ss->pl->one_tx_until.file[0]) { /* after a failed batch: one transaction */
                if (cot_pos_cmp(&ld.applied_to, &ss->pl->one_tx_until) <= 0) goto commit;
                LOG_I("load", "pipeline %s: past the batch that failed; batching again", pc->name);
                memset(&ss->pl->one_tx_until, 0, sizeof(ss->pl->one_tx_until));
            }
            size_t depth;
            queue_depth(&ss->q, &depth, NULL, NULL);
            bool full = ld.rows >= pc->batch_rows || ld.bytes >= pc->batch_bytes;
            bool late = (clock_now_s() - ld.t0) * 1000.0 >= batch_ms;
            if (!full && !late && !stopping && depth > 0) continue;
        }
    commit:
        if (!ld.batch_open) continue;
        if (!ld.have_pos) {       /* only part of a transaction: never commit it */
            if (ld.par_on) break; /* the workers' open batches are rolled back at close */
            loader__drop_run(&ld);
            loader__release(&ld);
            ss->ops->batch_abort(ss->sk);
            ld.batch_open = false;
            continue;
        }
        rc = loader__commit(&ld);
        if (rc) {
            rc = loader__replay(&ld, rc);
            if (!rc) rc = loader__commit(&ld);
        }
        if (rc) break;
        if (loader__queue_done(ss) || atomic_load(&ss->pl->stop)) break;
    }
    atomic_store(&ss->pl->load_busy_ms, 0);
    queue_close(&ss->q); /* a select thread waiting for room gives up now */
    if (ss->pp) {        /* let the workers finish the batches they were given */
        cot_err d = par_drain(ss->pp);
        if (!rc && d) rc = d;
        if (rc) { /* the next session applies serially until past what failed here */
            ss->pl->serial_until = ld.have_pos ? ld.last_pos : ld.applied_to;
            if (cot_pos_cmp(&ss->pl->serial_until, &ld.applied_to) < 0)
                ss->pl->serial_until = ld.applied_to;
            if (ld.cascade_mid_tx) ss->pl->serial_until.pos++; /* the transaction starting there */
        }
    }
    /* a row the target refuses (not a deadlock or a lost connection, which a
     * retry of the same batch gets past): the failed batch held whole
     * transactions, apply them one by one next time */
    if (rc && rc != COT_ERR_STOPPED && !cot_err_retriable(rc) && ld.have_pos &&
        cot_pos_cmp(&ld.last_pos, &ld.applied_to) > 0)
        ss->pl->one_tx_until = ld.last_pos;
    loader__drop_run(&ld);
    loader__release(&ld);
    if (ld.batch_open) ss->ops->batch_abort(ss->sk); /* a partial transaction is never committed */
    free(ld.held);
    free(ld.kept);
    free(ld.tc);
    merger_free(ld.mg);
    if (rc) {
        session__load_fail(ss, rc, cot_err_msg());
        return NULL;
    }
    ss->load_ok = true;
    return NULL;
}

/* ---- select ---------------------------------------------------------- */

/* session__push queues ck as it is (snapshot progress rows); takes ck. */
static cot_err session__push(void *ctx, cot_chunk *ck)
{
    session *ss = ctx;
    if (!queue_push(&ss->q, ck)) {
        cot_chunk_free(ck);
        if (atomic_load(&ss->load_failed)) return cot_err_set(ss->load_rc, "%s", ss->load_error);
        return cot_err_set(COT_ERR_STOPPED, "pipeline stopping");
    }
    return COT_OK;
}

/* session__committed (snapshot_committed_fn): what the target committed. */
static bool session__committed(void *ctx, cot_pos *out)
{
    session *ss = ctx;
    pipeline *pl = ss->pl;
    if (atomic_load(&ss->load_failed) || atomic_load(&pl->stop)) return false;
    pthread_mutex_lock(&pl->mu);
    *out = pl->st.pos;
    pthread_mutex_unlock(&pl->mu);
    return true;
}

/* session__snapshot_progress copies the snapshot's progress into the status. */
static void session__snapshot_progress(void *ctx, const snapshot_progress *p)
{
    session *ss = ctx;
    pthread_mutex_lock(&ss->pl->mu);
    ss->pl->st.snapshot = *p;
    pthread_mutex_unlock(&ss->pl->mu);
}

static cot_err session__emit_rows(void *ctx, cot_chunk *ck);

/* session__emit takes a chunk of the binlog stream: the snapshot reconciles
 * its window with it (and may emit its rows first), then it is queued. */
static cot_err session__emit(void *ctx, cot_chunk *ck)
{
    session *ss = ctx;
    if (ck->tx_end) { /* the source has this much: applied or not, it is known */
        pthread_mutex_lock(&ss->pl->mu);
        pipeline__read_to(ss->pl, &ck->end_pos, ck->ts);
        pthread_mutex_unlock(&ss->pl->mu);
    }
    cot_err src = snapshot_filter(ss->sn, ck);
    if (src) {
        cot_chunk_free(ck);
        return src;
    }
    return session__emit_rows(ctx, ck);
}

/* session__emit_rows transforms and queues ck (also the snapshot's rows). */
static cot_err session__emit_rows(void *ctx, cot_chunk *ck)
{
    session *ss = ctx;
    if (ss->tf) {
        double t0 = clock_now_s();
        cot_err rc = transform_chunk(ss->tf, ck);
        ss->tf_s += clock_now_s() - t0;
        if (rc) {
            cot_chunk_free(ck);
            return rc;
        }
    }
    if (!queue_push(&ss->q, ck)) {
        cot_chunk_free(ck);
        if (atomic_load(&ss->load_failed)) return cot_err_set(ss->load_rc, "%s", ss->load_error);
        return cot_err_set(COT_ERR_STOPPED, "pipeline stopping");
    }
    return COT_OK;
}

/* session__publish_stages adds the select thread's stage times (and the
 * transform time measured in session__emit_rows) to the status. Time spent
 * waiting for room in the queue counts as extract. */
static void session__publish_stages(session *ss, double *stage)
{
    stage[PIPE_TRANSFORM] += ss->tf_s;
    ss->tf_s = 0;
    pthread_mutex_lock(&ss->pl->mu);
    for (int i = PIPE_SELECT; i <= PIPE_TRANSFORM; i++) {
        ss->pl->st.stage_s[i] += stage[i];
        stage[i] = 0;
    }
    pthread_mutex_unlock(&ss->pl->mu);
}

static uint8_t session__checksum_alg(MYSQL *ctl)
{
    uint8_t alg = BINLOG_CHECKSUM_CRC32;
    if (mysql_query(ctl, "SELECT @@global.binlog_checksum") == 0) {
        MYSQL_RES *res = mysql_store_result(ctl);
        if (res) {
            MYSQL_ROW row = mysql_fetch_row(res);
            if (row && row[0] && strcasecmp(row[0], "NONE") == 0) alg = BINLOG_CHECKSUM_NONE;
            mysql_free_result(res);
        }
    }
    return alg;
}

/* session__load_rows reads the pipeline's position rows: *pos is the
 * earliest, and the session learns whether they are even (see session). */
static cot_err session__load_rows(session *ss, cot_pos *pos, bool *found)
{
    const cfg_pipeline *pc = ss->pl->pc;
    uint32_t n = 0;
    cot_err rc = ss->ops->positions_load(ss->sk, ss->old_pos, ss->old_have, PAR_MAX_WORKERS, &n);
    if (rc) return rc;
    memset(pos, 0, sizeof(*pos));
    *found = false;
    ss->rows_even = false;
    ss->skipping = false;
    if (n == 0) return COT_OK;
    if (n > PAR_MAX_WORKERS)
        return cot_err_set(COT_ERR_MALFORMED,
                           "pipeline %s: cotter.positions on target '%s' has a worker row #%u, "
                           "more than the %d load workers cotter runs; delete the rows named "
                           "'%s#N' that cotter did not write",
                           pc->name, pc->target_name, (unsigned)(n - 1), PAR_MAX_WORKERS, pc->name);
    bool even = true;
    const cot_pos *lo = NULL, *hi = NULL;
    for (uint32_t k = 0; k < n; k++) {
        if (!ss->old_have[k]) {
            even = false;
            continue;
        }
        const cot_pos *p = &ss->old_pos[k];
        if (!lo || cot_pos_cmp(p, lo) < 0) lo = p;
        if (!hi || cot_pos_cmp(p, hi) > 0) hi = p;
        if (cot_pos_cmp(p, &ss->old_pos[0]) != 0 || strcmp(p->gtid, ss->old_pos[0].gtid) != 0)
            even = false;
    }
    if (!lo) return COT_OK;
    *pos = *lo;
    *found = true;
    ss->n_old = n;
    ss->old_max = *hi;
    if (even) {
        ss->rows_even = n == ss->layout;
        return COT_OK;
    }
    ss->skipping = true;
    char a[300], b[300];
    cot_pos_format(lo, a, sizeof(a));
    cot_pos_format(hi, b, sizeof(b));
    LOG_I("pipeline",
          "pipeline %s: the %u load workers of the last run stopped at different positions "
          "(%s .. %s); reading from the earliest and leaving out what each had applied",
          pc->name, (unsigned)n, a, b);
    return COT_OK;
}

/* session__start_pos decides where to read from: the target's committed
 * position, else the configured start, else the source's current end (which
 * is committed at once so that a crash right after cannot skip events). */
static cot_err session__start_pos(session *ss, MYSQL *ctl, cot_pos *pos, bool *use_gtid)
{
    pipeline *pl = ss->pl;
    const cfg_pipeline *pc = pl->pc;
    bool found = false;
    *use_gtid = false;
    cot_err rc = ss->ops->positions_load ? session__load_rows(ss, pos, &found)
                                         : ss->ops->position_load(ss->sk, pos, &found);
    if (!ss->ops->positions_load) ss->rows_even = true;
    if (rc) return rc;
    if (found) {
        LOG_I("pipeline", "pipeline %s: resuming from %s:%llu (position stored on target '%s')",
              pc->name, pos->file, (unsigned long long)pos->pos, pc->target_name);
        if (ss->rows_even || ss->skipping) return COT_OK;
        /* even rows of another layout (load.parallelism changed): rewrite them */
        rc = ss->ops->batch_begin(ss->sk);
        if (!rc) rc = session__commit_rows(ss, pos, 0);
        if (rc) ss->ops->batch_abort(ss->sk);
        return rc;
    }
    memset(pos, 0, sizeof(*pos));
    if (pc->start_gtid && pc->start_gtid[0]) {
        snprintf(pos->gtid, sizeof(pos->gtid), "%s", pc->start_gtid);
        *use_gtid = true;
        LOG_I("pipeline", "pipeline %s: first start, from configured GTID %s", pc->name, pos->gtid);
        return COT_OK;
    }
    if (pc->start_file && pc->start_file[0]) {
        snprintf(pos->file, sizeof(pos->file), "%s", pc->start_file);
        pos->pos = pc->start_pos ? pc->start_pos : 4;
        LOG_I("pipeline", "pipeline %s: first start, from configured position %s:%llu", pc->name,
              pos->file, (unsigned long long)pos->pos);
    } else {
        rc = binlog_source_end(ctl, pc->source_name, pos);
        if (rc) return rc;
        LOG_I("pipeline", "pipeline %s: first start, from the source's current end %s:%llu",
              pc->name, pos->file, (unsigned long long)pos->pos);
    }
    /* record the start so a restart resumes here, not at a later end */
    rc = ss->ops->batch_begin(ss->sk);
    if (!rc) rc = session__commit_rows(ss, pos, 0);
    if (rc) ss->ops->batch_abort(ss->sk);
    return rc;
}

/* session__snapshot_tick takes an on-demand snapshot request and opens the
 * next snapshot window when one is due (select thread). A request that
 * cannot be served is logged and kept as the pipeline's last error. */
static cot_err session__snapshot_tick(session *ss)
{
    pipeline *pl = ss->pl;
    if (atomic_load(&pl->snap_req)) {
        char table[300];
        char *where;
        pthread_mutex_lock(&pl->mu);
        snprintf(table, sizeof(table), "%s", pl->snap_req_table);
        where = pl->snap_req_where;
        pl->snap_req_where = NULL;
        atomic_store(&pl->snap_req, false);
        pthread_mutex_unlock(&pl->mu);
        cot_err rc = snapshot_request(ss->sn, table, where);
        free(where);
        if (rc) {
            LOG_E("snapshot", "pipeline %s: snapshot of %s not started: %s", pl->pc->name, table,
                  cot_err_msg());
            pipeline__set_error(pl, rc, cot_err_msg());
            if (rc == COT_ERR_NET) return rc;
        }
    }
    if (atomic_load(&pl->stop) || !snapshot_wants_step(ss->sn)) return COT_OK;
    return snapshot_step(ss->sn);
}

cot_err pipeline_snapshot_request(pipeline *pl, const char *table, const char *where)
{
    if (!cot_url_is_mysql(&pl->pc->target->url) || !cot_url_is_mysql(&pl->pc->source->url))
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "pipeline %s: snapshots need a MySQL/MariaDB source and target",
                           pl->pc->name);
    if (!strchr(table, '.'))
        return cot_err_set(COT_ERR_CONFIG,
                           "snapshot of '%s': give the source table as schema.table", table);
    /* --where is cotter's row filter, never SQL: refused here when it does not parse */
    if (where && where[0]) {
        row_filter *rf = NULL;
        cot_err rc = row_filter_compile(where, NULL, 0, &rf);
        row_filter_free(rf);
        if (rc) {
            cot_err_prefix("snapshot of %s: --where is a row filter, as a mapping's where: ",
                           table);
            return rc;
        }
    }
    pthread_mutex_lock(&pl->mu);
    snprintf(pl->snap_req_table, sizeof(pl->snap_req_table), "%s", table);
    free(pl->snap_req_where);
    pl->snap_req_where = where && where[0] ? strdup(where) : NULL;
    atomic_store(&pl->snap_req, true);
    pthread_mutex_unlock(&pl->mu);
    return COT_OK;
}

/* session_run runs one session; returns COT_OK when it ended because of a
 * stop request, else the error (already formatted in cot_err_msg). */
static cot_err session_run(pipeline *pl, bool *progressed)
{
    const cfg_pipeline *pc = pl->pc;
    session ss;
    memset(&ss, 0, sizeof(ss));
    ss.pl = pl;
    *progressed = false;
    atomic_init(&ss.load_failed, false);

    ss.ops = sink_ops_find(pc->target->url.scheme);
    if (!ss.ops) {
        return cot_err_set(COT_ERR_CONFIG, "target '%s': no sink for scheme '%s'", pc->target_name,
                           pc->target->url.scheme);
    }
    sink_conf sc = {
        .name = pc->target_name,
        .pipeline = pc->name,
        .url = &pc->target->url,
        .connect_timeout_s = pc->target->connect_timeout_s,
        .read_timeout_s = pc->target->read_timeout_s,
        .write_timeout_s = pc->target->write_timeout_s,
        .ddl_timeout_s = pc->target->ddl_timeout_s,
        .ddl = (sink_ddl_policy)pc->ddl,
        .dry_run = pc->dry_run,
        .bulk_rows = pc->load_bulk_rows ? pc->load_bulk_rows : UINT32_MAX,
    };
    sink_policy_register(pc); /* the sink finds tables[].on_overflow / conflict by pipeline */
    cot_err rc = ss.ops->open(&sc, &ss.sk);
    if (rc) return rc;

    char role[192];
    snprintf(role, sizeof(role), "source '%s'", pc->source_name);
    mysql_conn_opts mo = {.role = role,
                          .connect_timeout_s = pc->source->connect_timeout_s,
                          .read_timeout_s = pc->source->read_timeout_s,
                          .write_timeout_s = pc->source->read_timeout_s};
    MYSQL *ctl = NULL;
    rc = mysql_conn_open(&pc->source->url, &mo, &ctl);
    if (rc) {
        ss.ops->close(ss.sk);
        return rc;
    }
    /* parallel apply needs merged batches (each key once) and position rows */
    uint32_t want = pc->load_parallelism ? pc->load_parallelism : 1;
    bool par = want > 1 && pc->batch_merge && ss.ops->table_key && ss.ops->positions_load &&
               ss.ops->batch_commit_rows && !pc->dry_run;
    if (want > 1 && !par)
        LOG_W("pipeline",
              "pipeline %s: load.parallelism %u is not used (it needs batch.merge: true, no "
              "dry_run, and a target that keeps position rows); applying on one connection",
              pc->name, (unsigned)want);
    ss.layout = par ? want : 1;

    cot_pos start;
    bool use_gtid;
    rc = session__start_pos(&ss, ctl, &start, &use_gtid);
    ss.start = start;
    uint8_t alg = session__checksum_alg(ctl);
    /* the mappings, before the first event (after the start position is stored, so changes
     * made while a mapping problem is being fixed are not skipped): stops with the fix */
    if (!rc) {
        /* catching up with ddl: apply (or stop): the target may still be waiting for a DDL in
         * the binlog, which then is applied (or stops the pipeline with its statement) */
        bool ddl_pending = false;
        cot_pos end;
        if (pc->ddl != CFG_DDL_IGNORE && !use_gtid &&
            binlog_source_end(ctl, pc->source_name, &end) == COT_OK)
            ddl_pending = cot_pos_cmp(&start, &end) < 0;
        cot_err_clear();
        rc = mapping_check_session(pl->cfg->path, pc, ctl,
                                   pc->snapshot != SNAPSHOT_NEVER && pc->snapshot_create_tables,
                                   ddl_pending);
    }
    mysql_conn_close(ctl);
    if (!rc && !use_gtid) { /* what the target holds, until the next commit moves it */
        pthread_mutex_lock(&pl->mu);
        pl->st.pos = start;
        pthread_mutex_unlock(&pl->mu);
    }
    if (rc) {
        ss.ops->close(ss.sk);
        return rc;
    }
    /* the initial load: which tables to copy; their target tables exist before any row comes */
    if (cot_url_is_mysql(&pc->target->url) && cot_url_is_mysql(&pc->source->url) && !pc->dry_run) {
        snapshot_conf snc = {.pc = pc,
                             .route = pipeline__route,
                             .route_ctx = (void *)pc,
                             .emit = session__emit_rows,
                             .push = session__push,
                             .progress = session__snapshot_progress,
                             .committed = session__committed,
                             .ctx = &ss,
                             .start = use_gtid ? NULL : &start};
        rc = snapshot_open(&snc, &ss.sn);
        if (rc) {
            ss.ops->close(ss.sk);
            return rc;
        }
        snapshot_progress sp;
        snapshot_progress_get(ss.sn, &sp);
        session__snapshot_progress(&ss, &sp);
    }

    /* pipelines sharing a source register as distinct replicas: a source
     * drops an older dump connection that uses the same server id */
    uint32_t sid_offset = 0;
    for (int c = 0; c < pl->cfg->n_channels; c++) {
        for (int p = 0; p < pl->cfg->channels[c].n_pipelines; p++) {
            const cfg_pipeline *o = &pl->cfg->channels[c].pipelines[p];
            if (o == pc) goto counted;
            if (o->source == pc->source) sid_offset++;
        }
    }
counted:;
    binlog_reader_conf rcf = {
        .name = pc->source_name,
        .url = &pc->source->url,
        .server_id = pc->source->server_id + sid_offset,
        .connect_timeout_s = pc->source->connect_timeout_s,
        .read_timeout_s = pc->source->read_timeout_s,
        .heartbeat_s = pc->source->heartbeat_s,
    };
    binlog_reader *br = NULL;
    rc = binlog_reader_open(&rcf, &start, use_gtid, &br);
    if (rc) {
        snapshot_free(ss.sn);
        ss.ops->close(ss.sk);
        return rc;
    }
    schema_cache *sch = schema_cache_new(binlog_reader_control(br));
    schema_history_attach(sch, binlog_reader_control(br), pl->cfg->data_dir, pc->name);
    binlog_stream_conf bsc = {
        .source_name = pc->source_name,
        .route = pipeline__route,
        .route_ctx = (void *)pc,
        .emit = session__emit,
        .emit_ctx = &ss,
        .schema = sch,
        .chunk_rows = pc->batch_rows ? pc->batch_rows : 2000,
        .chunk_bytes = pc->queue_bytes ? pc->queue_bytes / 8 : (4u << 20),
        .checksum_alg = alg,
        .max_event_size = (size_t)pc->source->max_event_size,
    };
    binlog_stream *bs = binlog_stream_new(&bsc, &start);

    if (par) {
        rc = par_pool_open(ss.ops, &sc, want, pc->queue_bytes, session__par_committed, &ss, &ss.pp);
        if (rc) {
            binlog_stream_free(bs);
            schema_cache_free(sch);
            binlog_reader_close(br);
            snapshot_free(ss.sn);
            ss.ops->close(ss.sk);
            return rc;
        }
        LOG_I("pipeline",
              "pipeline %s: %u load workers, each with its own connection to target '%s'", pc->name,
              (unsigned)want, pc->target_name);
    }
    queue_init(&ss.q, pc->queue_rows, pc->queue_bytes);
    ss.tf = transform_needed(pc) ? transform_new(pc) : NULL;
    pthread_t load_thread;
    if (pthread_create(&load_thread, NULL, session__load_main, &ss) != 0) abort();

    pipeline__set_state(pl, PS_RUNNING);
    if (pc->dry_run)
        LOG_W("pipeline",
              "pipeline %s: dry run: every stage runs and counts, nothing is written "
              "to target '%s' and no position is stored",
              pc->name, pc->target_name);
    char from[300];
    if (use_gtid)
        snprintf(from, sizeof(from), "GTID %s", start.gtid);
    else
        snprintf(from, sizeof(from), "%s:%llu", start.file, (unsigned long long)start.pos);
    LOG_I("pipeline", "pipeline %s: streaming from %s of source '%s' into target '%s'", pc->name,
          from, pc->source_name, pc->target_name);

    double stop_at = 0;
    double stage[PIPELINE_STAGES] = {0}; /* select-side time not yet published */
    double published = clock_now_s();
    rc = COT_OK;
    for (;;) {
        if (atomic_load(&pl->stop)) {
            if (!binlog_stream_in_tx(bs)) break;
            if (stop_at == 0) stop_at = clock_now_s();
            if (clock_now_s() - stop_at > STOP_GRACE_S) {
                LOG_W("pipeline",
                      "pipeline %s: the open transaction did not end within %d s; "
                      "stopping without it (it is re-read on the next start)",
                      pc->name, STOP_GRACE_S);
                break;
            }
        }
        if (atomic_load(&ss.load_failed)) break;
        if (ss.sn) {
            rc = session__snapshot_tick(&ss);
            /* between two source transactions: everything queued can be committed */
            if (!rc && !binlog_stream_in_tx(bs)) rc = snapshot_keys_step(ss.sn);
            if (rc) break;
        }
        const uint8_t *ev;
        size_t len;
        double t0 = clock_now_s();
        rc = binlog_reader_next(br, &ev, &len);
        double t1 = clock_now_s();
        stage[PIPE_SELECT] += t1 - t0;
        if (rc) break;
        double tf0 = ss.tf_s;
        rc = binlog_stream_feed(bs, ev, len);
        double t2 = clock_now_s();
        stage[PIPE_EXTRACT] += (t2 - t1) - (ss.tf_s - tf0);
        if (rc) break;
        atomic_store(&pl->caught_up, binlog_stream_caught_up(bs));
        if (t2 - published >= 0.5) {
            session__publish_stages(&ss, stage);
            published = t2;
        }
    }
    session__publish_stages(&ss, stage);
    if (rc == COT_ERR_STOPPED) rc = COT_OK;
    /* what ended the session; closing the connections below must not lose it */
    char why[sizeof(pl->st.last_error)];
    snprintf(why, sizeof(why), "%s", rc ? cot_err_msg() : "");
    queue_close(&ss.q);
    pthread_join(load_thread, NULL);
    if (atomic_load(&ss.load_failed)) {
        rc = cot_err_set(ss.load_rc, "%s", ss.load_error);
        snprintf(why, sizeof(why), "%s", ss.load_error);
    }
    par_pool_close(ss.pp);
    *progressed = atomic_load(&ss.committed_batches) > 0;
    binlog_stream_free(bs);
    snapshot_free(ss.sn);
    transform_free(ss.tf);
    schema_cache_free(sch);
    binlog_reader_close(br);
    queue_deinit(&ss.q);
    ss.ops->close(ss.sk);
    if (rc) cot_err_set(rc, "%s", why[0] ? why : "the session ended without a message");
    return rc;
}

/* A failure that needs a person's fix (a grant, a missing table: not
 * retriable) is retried at least every PIPELINE_FIX_RETRY_MS for its first
 * PIPELINE_FIX_FAST_S seconds instead of backing off to retry.max_ms, so
 * the fix is picked up within seconds while someone works on it. */
#define PIPELINE_FIX_RETRY_MS 5000u
#define PIPELINE_FIX_FAST_S   600

#define PROBE_SPACING_S 5 /* read the source's end at most this often while failing */

/* pipeline__probe_source reads the source's end of binlog while the
 * pipeline cannot stream (its target is down, a transaction keeps
 * failing), so that the status and the alarms know whether the target is
 * behind. A source that cannot be reached leaves what was known. */
static void pipeline__probe_source(pipeline *pl)
{
    const cfg_pipeline *pc = pl->pc;
    double now = clock_now_s();
    if (pl->probe_t && now - pl->probe_t < PROBE_SPACING_S) return;
    pl->probe_t = now;
    char role[192];
    snprintf(role, sizeof(role), "source '%s'", pc->source_name);
    int t = pc->source->connect_timeout_s > 0 && pc->source->connect_timeout_s < 3
                ? pc->source->connect_timeout_s
                : 3;
    mysql_conn_opts mo = {
        .role = role, .connect_timeout_s = t, .read_timeout_s = t, .write_timeout_s = t};
    MYSQL *ctl = NULL;
    cot_pos end;
    char msg[sizeof(pl->st.last_error)];
    snprintf(msg, sizeof(msg), "%s", cot_err_msg()); /* the failure's message stays */
    cot_err code = cot_err_code();
    if (mysql_conn_open(&pc->source->url, &mo, &ctl) == COT_OK &&
        binlog_source_end(ctl, pc->source_name, &end) == COT_OK) {
        pthread_mutex_lock(&pl->mu);
        pipeline__read_to(pl, &end, 0);
        if (!pl->pend_ts && cot_pos_cmp(&pl->st.pos, &end) < 0)
            pl->pend_ts = (uint32_t)time(NULL); /* written no later than now */
        pthread_mutex_unlock(&pl->mu);
    }
    mysql_conn_close(ctl);
    cot_err_set(code, "%s", msg);
}

static void *pipeline__main(void *arg)
{
    pipeline *pl = arg;
    const cfg_pipeline *pc = pl->pc;
    uint32_t backoff = pc->retry_min_ms ? pc->retry_min_ms : 200;
    uint32_t backoff_max = pc->retry_max_ms ? pc->retry_max_ms : 30000;
    pthread_mutex_lock(&pl->mu);
    pl->st.started_at = time(NULL);
    pthread_mutex_unlock(&pl->mu);
    uint32_t failures = 0; /* failed sessions in a row */
    bool gave_up = false;
    time_t fix_since = 0; /* first of the failures in a row that need a fix */

    while (!atomic_load(&pl->stop)) {
        pipeline__set_state(pl, PS_CONNECTING);
        bool progressed;
        cot_err_clear();
        cot_err rc = session_run(pl, &progressed);
        atomic_store(&pl->caught_up, false);
        if (rc == COT_OK || atomic_load(&pl->stop)) {
            if (rc && rc != COT_ERR_STOPPED)
                LOG_W("pipeline", "pipeline %s: stopped with: %s", pc->name, cot_err_msg());
            break;
        }
        if (progressed) {
            backoff = pc->retry_min_ms ? pc->retry_min_ms : 200;
            failures = 0;
            fix_since = 0;
        }
        time_t now = time(NULL);
        if (cot_err_retriable(rc))
            fix_since = 0;
        else if (!fix_since)
            fix_since = now;
        if (fix_since && now - fix_since < PIPELINE_FIX_FAST_S && backoff > PIPELINE_FIX_RETRY_MS)
            backoff = PIPELINE_FIX_RETRY_MS;
        if (pc->retry_times && ++failures > pc->retry_times) {
            char msg[1400];
            snprintf(msg, sizeof(msg),
                     "%s; gave up after %u attempts in a row (retry.times); fix the cause, then "
                     "restart the channel (cotter channel restart %s)",
                     cot_err_msg(), (unsigned)pc->retry_times, pipeline_channel(pl));
            LOG_E("pipeline", "pipeline %s: %s", pc->name, msg);
            pipeline__set_error(pl, rc, msg);
            pipeline__set_state(pl, PS_ERROR);
            gave_up = true;
            break;
        }
        /* jitter: 75%..125% of the backoff */
        uint32_t wait_ms = backoff - backoff / 4 + (uint32_t)(rand() % (int)(backoff / 2 + 1));
        time_t next = now + (time_t)((wait_ms + 999) / 1000);
        struct tm next_tm;
        char next_s[32];
        strftime(next_s, sizeof(next_s), "%H:%M:%S UTC", gmtime_r(&next, &next_tm));
        LOG_E("pipeline", "pipeline %s: %s [%s, %s]; retrying in %.1f s (next try at %s)", pc->name,
              cot_err_msg(), cot_err_name(rc), cot_err_retriable(rc) ? "retriable" : "needs a fix",
              wait_ms / 1000.0, next_s);
        pipeline__set_error(pl, rc, cot_err_msg());
        pipeline__set_state(pl, PS_ERROR);
        pipeline__probe_source(pl);
        struct timespec until = clock_deadline(CLOCK_REALTIME, (long)wait_ms);
        pthread_mutex_lock(&pl->mu);
        while (!atomic_load(&pl->stop)) {
            if (pthread_cond_timedwait(&pl->wake, &pl->mu, &until) != 0) break;
        }
        pthread_mutex_unlock(&pl->mu);
        backoff = backoff * 2 > backoff_max ? backoff_max : backoff * 2;
    }
    if (!gave_up) pipeline__set_state(pl, PS_STOPPED);
    atomic_store(&pl->finished, true);
    return NULL;
}

bool pipeline_finished(pipeline *pl)
{
    return !pl->thread_started || atomic_load(&pl->finished);
}

cot_err pipeline_start(pipeline *pl)
{
    atomic_store(&pl->stop, false);
    atomic_store(&pl->finished, false);
    /* started means CONNECTING from now on, not when the thread first runs:
     * a client that asks right after a start must not read STOPPED */
    pipeline__set_state(pl, PS_CONNECTING);
    if (pthread_create(&pl->thread, NULL, pipeline__main, pl) != 0)
        return cot_err_set(COT_ERR_NOMEM, "cannot start a thread for pipeline %s", pl->pc->name);
    pl->thread_started = true;
    return COT_OK;
}

void pipeline_stop(pipeline *pl)
{
    atomic_store(&pl->stop, true);
    pthread_mutex_lock(&pl->mu);
    pthread_cond_broadcast(&pl->wake);
    pthread_mutex_unlock(&pl->mu);
}

void pipeline_join(pipeline *pl)
{
    if (!pl->thread_started) return;
    pthread_join(pl->thread, NULL);
    pl->thread_started = false;
}
