/*
 * Parallel apply: a pool of load workers, each with its own target
 * connection (a sink opened with position_row = its index), fed by the
 * pipeline's load thread.
 *
 * Routing (par_route) is a pure function of the target table, the change's
 * key values and the number of workers, so a key always goes to the same
 * worker and its changes keep their source order. Rows of tables without a
 * key, and rows whose key has a NULL, go to worker 0. An UPDATE that changes
 * the key with a full after image is split into a DELETE of the old key and
 * an upsert of the new one, each routed by its own key; with a partial after
 * image it stays one UPDATE on worker 0.
 *
 * Each worker commits its share of every batch together with its own
 * position row, so after a crash every worker knows exactly which
 * transactions it applied; nothing waits for the other workers' commits,
 * so two workers can never wait on each other through the pipeline. A
 * failure in any worker fails the pool: every open batch is rolled back and
 * the load thread ends the session.
 *
 * Threads: par_* calls come from the load thread only; workers call the
 * commit callback from their own threads.
 */
#ifndef COT_PARALLEL_H
#define COT_PARALLEL_H

#include "event/event.h"
#include "sink/sink.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

#define PAR_MAX_WORKERS 64
#define PAR_KEY_BLOCK   1024 /* neighbouring integer keys routed together (par_key_hash) */
#define PAR_MAX_BATCHES 8    /* batches handed to the workers and not yet committed by all */

/* par_key_fn gives the target key columns of tbl (column indexes of tbl;
 * n = 0: no key). Same contract as the merger's key function. */
typedef bool (*par_key_fn)(void *ctx, const cot_table *tbl, const uint32_t **cols, uint32_t *n);

/* One routed piece of a change: which worker, and the op it is applied
 * as there (a split key change gives a DELETE and an INSERT). */
typedef struct par_part {
    uint32_t worker;
    uint8_t op; /* cot_op */
} par_part;

/* par_route fills parts (1 or 2 entries) for ch on n_workers workers with
 * the target key key[0..n_key) and returns how many. */
uint32_t par_route(const cot_change *ch, const uint32_t *key, uint32_t n_key, uint32_t n_workers,
                   par_part parts[2]);

/* par_key_hash hashes a change's key values (after image, else before
 * image) with the target table's name; strings of non-binary collations
 * hash ASCII-case-folded and without trailing spaces, so keys a target's
 * collation calls equal land on one worker. A key of one integer column
 * hashes by its block of PAR_KEY_BLOCK values. Stored position rows depend
 * on this function: changing it changes which worker applied what. */
uint64_t par_key_hash(const cot_table *tbl, const cot_value *img, const uint32_t *key,
                      uint32_t n_key);

/* Counts that ride with a batch's commit to the callback. */
typedef struct par_counts {
    uint64_t ins, upd, del, txs;
    uint64_t rows, bytes; /* source rows and bytes of the batch */
    double t0;            /* when the batch took its first change (clock_now_s) */
    void *tables; /* the caller's per-table counts; handed to the callback, which owns them */
    uint32_t n_tables;
} par_counts;

/* Called once per batch, from a worker thread, when every worker has
 * committed its share: the batch up to pos is on the target. Called with
 * pos NULL when the batch was dropped (a worker failed): only counts->tables
 * is to be freed. */
typedef void (*par_committed_fn)(void *ctx, const cot_pos *pos, uint32_t ts,
                                 const par_counts *counts);

typedef struct par_pool par_pool;

/* par_pool_open opens n workers, sink i with conf's settings and
 * position_row = i. max_inflight bounds the bytes of chunks handed to
 * workers and not yet applied (par_submit waits). */
cot_err par_pool_open(const sink_ops *ops, const sink_conf *conf, uint32_t n, size_t max_inflight,
                      par_committed_fn on_commit, void *ctx, par_pool **out);
/* par_pool_close rolls back what is open, stops and closes every worker. */
void par_pool_close(par_pool *pp);
uint32_t par_pool_size(const par_pool *pp);

/* par_submit routes the changes of merged (whose values may point into
 * the held chunks) to the workers. It takes merged and held[0..n_held)
 * (the array itself stays the caller's) and frees them once every worker
 * applied its share. */
cot_err par_submit(par_pool *pp, cot_chunk *merged, cot_chunk **held, uint32_t n_held,
                   par_key_fn key_of, void *key_ctx);
/* par_commit asks every worker to commit its share of the batch with pos;
 * it waits while PAR_MAX_BATCHES batches are not yet committed by every
 * worker, so a slow worker holds back the load thread, not a backlog. */
cot_err par_commit(par_pool *pp, const cot_pos *pos, uint32_t ts, const par_counts *counts);
/* par_forget_tables makes every worker drop its table descriptions. */
cot_err par_forget_tables(par_pool *pp);
/* par_error returns the pool's error (with its message) if a worker
 * failed, else COT_OK; never waits. */
cot_err par_error(par_pool *pp);
/* par_drain waits until every worker has done all it was given; returns
 * the pool's error (with its message) if one failed. */
cot_err par_drain(par_pool *pp);

#endif
