/*
 * The local meta store: SQLite in DATA_DIR/meta.db (WAL mode) holding a
 * display copy of each pipeline's position, written after every target
 * commit so the status views and `cotter status` can show it without
 * asking the target. The target's cotter.positions row is the truth; this
 * copy may lag it and is never used to decide where to resume. It also
 * keeps the console's history samples (delay, rows/s, counters), by age.
 * Thread safe: one mutex around each call (pipelines share one store).
 */
#ifndef COT_META_STORE_H
#define COT_META_STORE_H

#include "event/event.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct meta_store meta_store;

/* The schema version this build reads and writes. */
#define META_STORE_SCHEMA_VERSION 2

/* meta_store_open opens (creating the directory and file if needed)
 * data_dir/meta.db and brings its schema to the current version. On
 * success *out is the caller's (meta_store_close). Returns COT_ERR_IO when
 * the file cannot be opened or written, COT_ERR_UNSUPPORTED when it was
 * written by a newer cotter. */
cot_err meta_store_open(const char *data_dir, meta_store **out);

/* meta_store_save_position stores pipeline's position, the source
 * timestamp of its last transaction and its total of applied rows,
 * replacing the previous copy. */
cot_err meta_store_save_position(meta_store *ms, const char *pipeline, const cot_pos *pos,
                                 uint32_t source_ts, uint64_t rows_applied);

/* meta_store_load_position reads pipeline's copy; *found is false (and the
 * outputs zeroed) when there is none. source_ts and rows_applied may be NULL. */
cot_err meta_store_load_position(meta_store *ms, const char *pipeline, cot_pos *pos,
                                 uint32_t *source_ts, uint64_t *rows_applied, bool *found);

/* One sample of a pipeline's status for the console's charts (history
 * table, pruned by age). delay_s < 0 means unknown (stored as NULL). */
typedef struct meta_sample {
    int64_t t;         /* Unix seconds; in a read: the start of the bucket */
    int state;         /* pipeline_state; in a read: the highest in the bucket */
    double delay_s;    /* in a read: the largest in the bucket */
    double rows_per_s; /* in a read: the mean of the bucket */
    uint64_t inserts;  /* counters since cotter started; in a read: the last */
    uint64_t updates;
    uint64_t deletes;
    uint64_t transactions;
    uint64_t queue_rows;
} meta_sample;

/* meta_store_history_add stores one sample for each of the n pipelines
 * (names[i], samples[i]) in one transaction; a sample at the same second
 * replaces the earlier one. */
cot_err meta_store_history_add(meta_store *ms, const char *const *names, const meta_sample *samples,
                               int n);

/* meta_store_history_prune deletes the samples older than before (Unix
 * seconds); *n_deleted (may be NULL) says how many. */
cot_err meta_store_history_prune(meta_store *ms, int64_t before, int *n_deleted);

/* meta_store_history_read fills out[0..cap) with pipeline's samples at or
 * after from, merged into buckets of step seconds (aligned to multiples of
 * step; see meta_sample for how fields merge), oldest first; *n is the
 * count. step <= 1 returns the samples as stored. */
cot_err meta_store_history_read(meta_store *ms, const char *pipeline, int64_t from, int64_t step,
                                meta_sample *out, int cap, int *n);

/* meta_store_close closes the database (NULL is fine). */
void meta_store_close(meta_store *ms);

#endif
