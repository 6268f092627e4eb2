/*
 * The sink contract: how the pipeline's load stage drives a target. A new
 * target is one file with a const sink_ops table plus one line in the
 * registry (sink_registry.c).
 *
 * Call order, from the load thread only:
 *   open -> position_load -> { batch_begin -> apply* -> batch_commit | batch_abort }* -> close
 * batch_commit writes the position in the same target transaction as the
 * rows of the batch (exactly-once effect); a sink that cannot do that says
 * so in caps.
 */
#ifndef COT_SINK_H
#define COT_SINK_H

#include "config/url.h"
#include "event/event.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sink sink;

/* What apply does with a CK_DDL chunk (the pipeline's `ddl:` option). */
typedef enum sink_ddl_policy {
    SINK_DDL_APPLY = 0, /* run the statement (already rewritten for the target) */
    SINK_DDL_IGNORE,    /* log it, do nothing */
    SINK_DDL_STOP,      /* fail with COT_ERR_SCHEMA showing the statement */
} sink_ddl_policy;

typedef struct sink_conf {
    const char *name;     /* target name from the config, for messages */
    const char *pipeline; /* pipeline name: key of the position row */
    /* which position row batch_commit writes: 0 is the pipeline's own row
     * (named like the pipeline), k > 0 the row of parallel load worker k
     * (named "PIPELINE#k"); see positions_load */
    uint32_t position_row;
    /* a parallel load worker: its connection holds the session lock
     * "cotter/PIPELINE/wK" (K = position_row) while open; the pipeline's
     * main connection holds "cotter/PIPELINE/main" and, before reading the
     * positions, waits for every worker lock, so a connection of a killed
     * cotter whose last COMMIT the server is still running is done first */
    bool worker;
    const cot_url *url;
    int connect_timeout_s;
    int read_timeout_s;
    int write_timeout_s;
    /* a longer read timeout for DDL, which then runs on a connection of its
     * own (0 or not longer: on the main connection) */
    int ddl_timeout_s;
    size_t max_statement_bytes; /* flush a multi-row statement past this size */
    /* a run of at least this many whole-row upserts of one table may go as
     * bulk text (LOAD DATA); 0: the sink's default, UINT32_MAX: never */
    uint32_t bulk_rows;
    sink_ddl_policy ddl; /* what to do with DDL chunks */
    bool dry_run;        /* build every statement, send none, keep no position */
} sink_conf;

typedef struct sink_stats {
    uint64_t inserts; /* row changes applied, by kind */
    uint64_t updates;
    uint64_t deletes;
    uint64_t statements;
    uint64_t batches;
} sink_stats;

typedef struct sink_ops {
    const char *scheme; /* URL scheme this sink serves, e.g. "mysql" */
    /* open connects and prepares the target (creates the position table);
     * on success *out owns the connection. */
    cot_err (*open)(const sink_conf *conf, sink **out);
    /* position_load reads the committed position of conf->pipeline;
     * *found is false when the pipeline never committed on this target. */
    cot_err (*position_load)(sink *sk, cot_pos *pos, bool *found);
    cot_err (*batch_begin)(sink *sk);
    /* apply applies one chunk inside the open batch; the chunk stays the caller's. */
    cot_err (*apply)(sink *sk, const cot_chunk *ck);
    /* batch_commit stores pos (and source timestamp ts) with the batch and commits. */
    cot_err (*batch_commit)(sink *sk, const cot_pos *pos, uint32_t ts);
    /* apply_isolated applies ck one change at a time inside the open batch;
     * a change the target refuses for good (COT_ERR_SQL) is rolled back to
     * its savepoint and recorded, with its error and source position, in
     * the target's dead-letter table in the same transaction; *skipped
     * counts them. Optional (NULL): on_error: skip is then refused. */
    cot_err (*apply_isolated)(sink *sk, const cot_chunk *ck, const cot_pos *where,
                              uint64_t *skipped);
    /* table_key gives the columns of tbl (source column indexes, valid until
     * the next call) the sink applies rows by, *n = 0 when the target has no
     * usable key. Optional (NULL): the load stage then does not merge. */
    cot_err (*table_key)(sink *sk, cot_table *tbl, const uint32_t **cols, uint32_t *n);
    /* change_cascades says whether applying ch sets off a cascading action
     * of the target's foreign keys (ON DELETE / ON UPDATE CASCADE, SET NULL,
     * SET DEFAULT), whose effect the source's binlog does not carry: apply
     * then runs the target's cascade, and the load stage must apply such a
     * change in source order with the changes around it (not merged, not
     * spread over parallel workers). Optional (NULL): never. */
    cot_err (*change_cascades)(sink *sk, const cot_change *ch, bool *yes);
    /* positions_load reads every position row of conf->pipeline: the
     * pipeline's own (index 0) and its parallel workers' ("PIPELINE#k",
     * index k). pos[k] and have[k] are filled for k < cap; *n is one more
     * than the highest index found (0: none). Optional (NULL): only
     * position_load is used and parallel apply is off. */
    cot_err (*positions_load)(sink *sk, cot_pos *pos, bool *have, uint32_t cap, uint32_t *n);
    /* batch_commit_rows is batch_commit writing n position rows (index[i]
     * gets pos[i]) and deleting the worker rows with an index in
     * [prune_from, prune_to) (none when prune_from >= prune_to), all in
     * the batch's transaction. Required with positions_load. */
    cot_err (*batch_commit_rows)(sink *sk, const uint32_t *index, const cot_pos *pos, uint32_t n,
                                 uint32_t prune_from, uint32_t prune_to, uint32_t ts);
    /* forget_tables drops every cached target table description (another
     * connection ran a DDL). Optional. */
    void (*forget_tables)(sink *sk);
    /* batch_abort rolls the open batch back; never fails. */
    void (*batch_abort)(sink *sk);
    void (*stats)(sink *sk, sink_stats *out);
    void (*close)(sink *sk);
} sink_ops;

struct sink {
    const sink_ops *ops;
};

/* sink_ops_find returns the ops for a URL scheme, or NULL. */
const sink_ops *sink_ops_find(const char *scheme);

#endif
