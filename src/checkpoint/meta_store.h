/*
 * The local meta store: SQLite in DATA_DIR/meta.db (WAL mode) holding a
 * display copy of each pipeline's position, written after every target
 * commit so the status views and `cotter status` can show it without
 * asking the target. The target's cotter.positions row is the truth; this
 * copy may lag it and is never used to decide where to resume.
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
#define META_STORE_SCHEMA_VERSION 1

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

/* meta_store_close closes the database (NULL is fine). */
void meta_store_close(meta_store *ms);

#endif
