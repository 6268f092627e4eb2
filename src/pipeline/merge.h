/*
 * The batch merger (Otter's DbLoadMerger): folds the row changes of a run
 * of chunks (several whole source transactions, no DDL in between) so each
 * key of each target table is written once, and emits them as one chunk:
 * every key DELETE first, then per target table its unmerged rows in source
 * order followed by its upserts in the order the keys were first seen.
 * Tables are emitted in the order they were first seen. One merger belongs
 * to one load thread.
 *
 * The merged chunk must have the same effect on a target as applying the
 * run change by change the way the sinks do (upsert by key, delete by key,
 * a partial UPDATE as UPDATE ... WHERE key). Per key, relative to the row
 * as it was before the run:
 *   I+U -> I of the final image      U+U -> U (first before image, images
 *   x+D -> D                          combined column-wise: later present
 *   D+I -> I when the image is full   values win, absent ones are kept)
 *   D+I -> D, I when the image lacks columns (they must get their defaults)
 * (A full D+I is an upsert, so target-only columns, which the source does
 * not send, keep their values where one by one they would be reset.)
 * An UPDATE that changes the key is DELETE(old key) + upsert(new key), each
 * folded into its key like any other change; with a partial after image that
 * is exact only when the run itself wrote the full old row before.
 *
 * Never merged, kept in source order: tables without a key; changes whose
 * key has a NULL (rows outside the key space: they cannot meet a keyed row);
 * and a whole table of the run when a change cannot be folded exactly (a key
 * column absent from an image, a partial key change over a row the run does
 * not know, two table layouts for one target table, a malformed change).
 *
 * Keys compare by value kind and bytes (VK_STRING byte-wise). A server with
 * a case- or accent-insensitive or PAD SPACE collation would call more keys
 * equal, so the merger may merge less than it could. That is safe for one
 * consistent source: its unique key lets at most one spelling of a key be
 * live at any time, so every other spelling's net change is a DELETE, and
 * deletes are emitted before upserts. Secondary unique keys of the target
 * are not considered: like any reordering, merging can make two rows collide
 * on one for a moment where the source never had both values at once.
 */
#ifndef COT_MERGE_H
#define COT_MERGE_H

#include "event/event.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

/* merge_key_fn tells the merger which columns of tbl the target applies its
 * rows by (the key the sink matches on). Return true with *cols (column
 * indexes of tbl, read at once, not kept) and *n: that key, or *n == 0 for a
 * table to apply without key (never merged). Return false to use tbl->pk
 * (no key, and so no merge, when tbl->n_pk is 0). Called once per distinct
 * table object in a run. */
typedef bool (*merge_key_fn)(void *ctx, const cot_table *tbl, const uint32_t **cols, uint32_t *n);

typedef struct merge_stats {
    uint32_t changes_in;      /* changes of the run */
    uint32_t changes_out;     /* changes in the merged chunk */
    uint32_t keys;            /* distinct keys folded */
    uint32_t tables;          /* target tables of the run */
    uint32_t tables_unmerged; /* of those: kept in source order (no key, or fell back) */
} merge_stats;

typedef struct merger merger;

/* merger_new returns an empty merger (caller frees with merger_free).
 * key_of may be NULL: every table is then merged by its tbl->pk. */
merger *merger_new(merge_key_fn key_of, void *ctx);
void merger_free(merger *mg);

/* merger_add folds the changes of ck (CK_ROWS or CK_EMPTY) into the current
 * run. The chunk stays the caller's, and it must stay alive and unchanged
 * until the merged chunk of this run has been applied and freed: merged
 * changes point at its row images and values. A CK_DDL chunk is a barrier
 * and is refused with COT_ERR_UNSUPPORTED: finish the run, apply its merged
 * chunk, then the DDL, then start the next run. */
cot_err merger_add(merger *mg, const cot_chunk *ck);

/* merger_pending returns the number of changes added to the current run. */
uint32_t merger_pending(const merger *mg);

/* merger_finish returns the merged chunk of the current run (the caller
 * owns it; CK_EMPTY when it has no change) and starts a new, empty run.
 * Finish where the last chunk added has tx_end, so the batch holds whole
 * source transactions.
 * The chunk holds its own table references; images the merger combined
 * live in its arena, every other value points into the run's input chunks
 * (see merger_add). tx_end, end_pos, ts and seq are those of the last
 * chunk added. st, if not NULL, receives the run's counts. */
cot_chunk *merger_finish(merger *mg, merge_stats *st);

/* merger_reset drops the current run without producing anything. */
void merger_reset(merger *mg);

/* merge__test_collide makes every key and table hash equal (on) so tests
 * reach the comparisons behind the hash; never for production. */
void merge__test_collide(bool on);

#endif
