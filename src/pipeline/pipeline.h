/*
 * A pipeline: one directed flow source -> target. A supervisor thread runs
 * sessions; a session opens the target, reads its committed position,
 * opens the source there, and runs select (this thread) and load (a second
 * thread) joined by a bounded chunk queue. Any failure ends the session:
 * the open target transaction is rolled back and a new session starts
 * after a backoff from the target's committed position, which is what
 * makes a crash or a lost connection neither lose nor duplicate a change.
 *
 *   STOPPED -> CONNECTING -> RUNNING --error--> ERROR --backoff--> CONNECTING
 *                                   \--stop--> STOPPED
 */
#ifndef COT_PIPELINE_H
#define COT_PIPELINE_H

#include "config/config.h"
#include "event/event.h"
#include "snapshot/snapshot.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef enum pipeline_state {
    PS_STOPPED = 0, /* not running (never started, or stopped on request) */
    PS_CONNECTING,  /* opening target and source */
    PS_RUNNING,     /* streaming */
    PS_ERROR,       /* the last session failed; waiting to retry */
} pipeline_state;

const char *pipeline_state_name(pipeline_state st);

enum { PIPE_SELECT = 0, PIPE_EXTRACT, PIPE_TRANSFORM, PIPE_LOAD, PIPELINE_STAGES };
/* upper bounds of the batch histograms' buckets (the last bucket is +Inf) */
#define PIPELINE_ROWS_BUCKETS    6
#define PIPELINE_LATENCY_BUCKETS 10
extern const double pipeline_rows_buckets[PIPELINE_ROWS_BUCKETS];
extern const double pipeline_latency_buckets[PIPELINE_LATENCY_BUCKETS];

typedef struct pipeline_status {
    pipeline_state state;
    cot_pos pos; /* last position committed on the target */
    /* the furthest source position known: the end of the last transaction
     * read from the binlog, or the source's end of binlog read while the
     * pipeline could not stream; "" file when unknown */
    cot_pos source_end;
    bool behind; /* the source has events the target has not applied (pos < source_end) */
    /* seconds the load stage has been waiting for the target to answer one
     * call (a statement, a commit) when that is 2 s or more, else 0: a
     * statement blocked on the target shows within seconds, long before
     * read_timeout names the cause */
    double target_wait_s;
    /* where the last failure happened: the start of the source transaction
     * the load was applying, else the position committed at the time; the
     * failure is over once pos moves past it */
    cot_pos fail_pos;
    uint32_t source_ts; /* source timestamp of the last transaction applied */
    /* now - source time of the oldest transaction not applied (the last
     * applied one while a backlog drains); 0 when caught up and idle; -1
     * unknown. Known in ERROR too when the pipeline is behind. */
    double delay_s;
    uint64_t inserts; /* committed row changes by kind */
    uint64_t updates;
    uint64_t deletes;
    uint64_t transactions;
    uint64_t batches;
    uint64_t skipped;   /* rows sent to cotter.dead_letters (on_error: skip, on_overflow) */
    uint64_t conflicts; /* changes not applied: the target row won (tables[].conflict) */
    uint64_t overflows; /* values clamped or stored as NULL (tables[].on_overflow) */
    uint64_t missing;   /* source UPDATE/DELETE rows that matched no target row (drift) */
    double rows_per_s;  /* applied rows per second, smoothed over the last seconds */
    size_t queue_rows;
    size_t queue_bytes;
    char last_error[1024]; /* "" when none */
    time_t last_error_at;
    cot_err last_error_code; /* class of last_error, COT_OK when none */
    char hint[512]; /* doctor's one-line diagnosis of last_error (doctor_hint), "" when none */
    uint64_t sessions_failed;                 /* sessions ended by an error (each is retried) */
    uint64_t errors_by_class[COT_ERR__COUNT]; /* sessions_failed by error class */
    time_t started_at;
    time_t applied_at;          /* wall time of the last batch committed on the target; 0 never */
    snapshot_progress snapshot; /* the initial load: tables, rows done / estimated, rate, ETA */
    /* seconds spent in each stage since the pipeline started: waiting for
     * and reading binlog events, decoding them into changes, filters and
     * mappings, and applying + committing on the target (load thread) */
    double stage_s[PIPELINE_STAGES];
    uint64_t bytes_applied; /* row data committed, bytes as decoded */
    /* committed batches: source rows per batch and latency from the first
     * change taken to the commit done, per bucket (not cumulative) */
    uint64_t batch_rows_hist[PIPELINE_ROWS_BUCKETS + 1];
    uint64_t batch_rows_sum;
    uint64_t batch_latency_hist[PIPELINE_LATENCY_BUCKETS + 1];
    double batch_latency_sum;
} pipeline_status;

/* pipeline_stage_name: "select", "extract", "transform", "load". */
const char *pipeline_stage_name(int stage);

typedef struct pipeline pipeline;

/* pipeline_new creates a stopped pipeline for pc (borrowed; cfg must
 * outlive it). */
pipeline *pipeline_new(const cot_config *cfg, const cfg_channel *ch, const cfg_pipeline *pc);
/* pipeline_start launches the supervisor thread. */
cot_err pipeline_start(pipeline *pl);
/* pipeline_stop asks for a graceful stop: the select side reads to the end
 * of the transaction it is in, the load side commits what it has. */
void pipeline_stop(pipeline *pl);
/* pipeline_finished says whether the supervisor thread has ended (or never started). */
bool pipeline_finished(pipeline *pl);
/* pipeline_join waits for the supervisor thread to end. */
void pipeline_join(pipeline *pl);
void pipeline_free(pipeline *pl);

void pipeline_status_get(pipeline *pl, pipeline_status *out);

/* Row changes applied to one target table (committed batches). */
typedef struct pipeline_table_count {
    char table[160]; /* "schema.table" on the target; "(other tables)" past the cap */
    uint64_t inserts, updates, deletes;
} pipeline_table_count;
#define PIPELINE_TABLES_MAX 256 /* tables counted one by one; the rest in one entry */

/* pipeline_tables_get copies up to cap per-table counts, in the order the
 * tables were first applied; returns how many there are. */
size_t pipeline_tables_get(pipeline *pl, pipeline_table_count *out, size_t cap);
/* pipeline_snapshot_request asks the running pipeline to (re)copy source
 * table "schema.table" (rows matching where, SQL on the source, if given);
 * the select loop takes it up. Errors: not a MySQL pipeline, bad name. */
cot_err pipeline_snapshot_request(pipeline *pl, const char *table, const char *where);
const char *pipeline_name(const pipeline *pl);
const char *pipeline_channel(const pipeline *pl);

#endif
