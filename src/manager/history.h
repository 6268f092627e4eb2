/*
 * The console's history: a sampler thread that records every pipeline's
 * delay, rows/s and insert/update/delete/transaction counters every
 * HISTORY_INTERVAL_S seconds into the meta store (DATA_DIR/meta.db, table
 * history), prunes samples older than HISTORY_RETENTION_S once a minute,
 * and the handler of GET /api/pipeline/history that reads them back merged
 * into at most HISTORY_POINTS_MAX buckets. Interval and retention are fixed.
 * Threads: the sampler is its own thread; the handler runs on MHD's thread;
 * both go through the meta store's own lock. Pipelines are borrowed.
 */
#ifndef COT_MANAGER_HISTORY_H
#define COT_MANAGER_HISTORY_H

#include "pipeline/pipeline.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdint.h>

#define HISTORY_INTERVAL_S  5
#define HISTORY_RETENTION_S (48 * 3600)
#define HISTORY_POINTS_MAX  2000

typedef struct history history;

/* history_start opens its own connection to DATA_DIR/meta.db and starts
 * the sampler for the n pipelines in pls (borrowed: they must outlive
 * history_stop); takes a first sample before it returns. On success *out
 * is the caller's (history_stop). COT_ERR_IO when the store cannot be
 * opened, with the meta store's message. */
cot_err history_start(const char *data_dir, pipeline **pls, int n, history **out);

/* history_stop ends the sampler, closes the store and frees h (NULL is fine). */
void history_stop(history *h);

/* history_sample records one sample of every pipeline now (the sampler
 * calls it on its own; tests call it to avoid waiting). */
cot_err history_sample(history *h);

/* history_render appends the JSON document of pipeline index i (0-based)
 * for the last since_s seconds in at most points buckets: {id, name,
 * interval_s, retention_s, step_s, since_s, now, samples: [...]}. */
cot_err history_render(history *h, int i, int64_t since_s, int points, buf *out);

#endif
