/*
 * The initial load (snapshot) of a pipeline, lock-free, after Netflix's
 * DBLog: tables are copied in key-ordered chunks while the binlog streams.
 * For each window it writes a low watermark row to cotter.snapshot_watermarks
 * on the source, SELECTs up to `parallelism` chunks on separate
 * connections, and writes a high watermark. While the binlog stream is
 * between the two watermark events, buffered rows whose key appears in a
 * binlog event are dropped (the event carries a newer state); at the high
 * watermark the remaining rows go into the stream ahead of the events after
 * it, followed by the table's progress row for cotter.snapshots on the
 * target, so chunk rows, progress and binlog position commit together and a
 * restart continues after the last finished window.
 *
 *   IDLE --step: write L, SELECT chunks, write H--> WAIT_LOW --L seen--> OPEN
 *   OPEN --binlog rows of the table: drop keys--> OPEN --H seen: emit--> IDLE
 *
 * Runs on the pipeline's select thread (workers only run chunk SELECTs).
 */
#ifndef COT_SNAPSHOT_H
#define COT_SNAPSHOT_H

#include "config/config.h"
#include "event/event.h"
#include "source/binlog_stream.h"
#include "util/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SNAPSHOT_WATERMARK_SCHEMA "cotter"
#define SNAPSHOT_WATERMARK_TABLE  "snapshot_watermarks"

typedef struct snapshot snapshot;

/* snapshot_emit_fn takes ownership of ck whatever it returns. */
typedef cot_err (*snapshot_emit_fn)(void *ctx, cot_chunk *ck);

typedef struct snapshot_progress {
    bool active;     /* tables are pending or being copied */
    uint32_t tables; /* tables of this run (finished ones included) */
    uint32_t tables_done;
    uint32_t copies_done; /* table copies finished by this session (only grows) */
    uint64_t rows;        /* rows handed to the load stage (resumed ones included) */
    uint64_t rows_total;  /* estimate: information_schema.TABLES.TABLE_ROWS */
    double rows_per_s;    /* since this session started copying */
    double eta_s;         /* -1 when unknown */
    char table[300];      /* source schema.table being copied, "" if none */
} snapshot_progress;

typedef void (*snapshot_progress_fn)(void *ctx, const snapshot_progress *p);

/* snapshot_committed_fn reads the position the target has committed up to
 * (every load worker); false when the load stage failed or the pipeline
 * stops. */
typedef bool (*snapshot_committed_fn)(void *ctx, cot_pos *out);

typedef struct snapshot_conf {
    const cfg_pipeline *pc; /* borrowed */
    binlog_route_fn route;  /* the pipeline's router (source -> target names) */
    void *route_ctx;
    snapshot_emit_fn emit;         /* chunk rows: through transform into the queue */
    snapshot_emit_fn push;         /* progress rows: straight into the queue */
    snapshot_progress_fn progress; /* optional: after every window */
    /* optional: lets the deferred indexes be built on several connections
     * at once once the target committed the whole copy (without it they go
     * into the stream, one table after the other) */
    snapshot_committed_fn committed;
    void *ctx;
    /* where this session reads the binlog from: the earliest position any
     * load worker committed (NULL or file "" when unknown, e.g. GTID) */
    const cot_pos *start;
} snapshot_conf;

/* snapshot_open prepares the snapshot of a session: creates cotter.snapshots
 * on the target, reads which tables are finished, lists the mapped source
 * tables that still need a copy (snapshot: initial; or unfinished on-demand
 * copies) and creates their target tables when missing (create_tables).
 * Call it before the binlog stream starts. *out is the caller's. */
cot_err snapshot_open(const snapshot_conf *conf, snapshot **out);
void snapshot_free(snapshot *sn);

/* snapshot_request queues an on-demand (re)copy of source table
 * "schema.table", optionally only rows matching where (SQL on the source). */
cot_err snapshot_request(snapshot *sn, const char *table, const char *where);

/* snapshot_busy says whether a copy is pending and no window is open (the
 * select loop then calls snapshot_step). */
bool snapshot_wants_step(const snapshot *sn);

/* snapshot_step opens the next window: low watermark, chunk SELECTs, high
 * watermark. Errors name the table and say what to do. */
cot_err snapshot_step(snapshot *sn);

/* snapshot_keys_step builds the secondary indexes left out of the tables
 * the load created (snapshot_load.defer_indexes) once every table is
 * copied: it waits until the target committed everything queued, so no
 * load connection holds a lock on them, then runs one ALTER TABLE per table
 * on up to snapshot_load.parallelism connections at once, while the binlog
 * waits. Call it from the select loop between two source transactions.
 * Cheap when nothing is due. */
cot_err snapshot_keys_step(snapshot *sn);

/* snapshot_filter looks at a chunk of the binlog stream before it is
 * transformed: removes the watermark rows, drops buffered rows whose key
 * the chunk changes, and at the high watermark emits the buffered rows and
 * the progress row (through conf emit/push) before ck goes on. sn may be
 * NULL (watermark rows are still removed). ck stays the caller's. */
cot_err snapshot_filter(snapshot *sn, cot_chunk *ck);

void snapshot_progress_get(const snapshot *sn, snapshot_progress *out);

/* snapshot_column_describe fills cc's type, sign and charset as the copy
 * describes a column from information_schema (DATA_TYPE, COLUMN_TYPE,
 * CHARACTER_SET_NAME; charset may be NULL) and returns the column's value
 * class for snapshot_value. cc->name is not touched. */
uint8_t snapshot_column_describe(cot_column *cc, const char *data_type, const char *column_type,
                                 const char *charset);

/* snapshot_value converts one text-protocol value (p NULL: SQL NULL) of a
 * column of class cls into v as the copy does, so a row filter sees what
 * it sees on copied and streamed rows; the bytes are copied into ck's
 * arena. */
void snapshot_value(cot_chunk *ck, uint8_t cls, const char *p, unsigned long len, cot_value *v);

/* snapshot_column_members: when cc is an ENUM or SET column (DATA_TYPE
 * data_type) whose member names COLUMN_TYPE column_type lists, stores them
 * in cc and gives cc the form a TABLE_MAP gives it (CT_STRING, the real type
 * in meta), as the stream's decoder does; returns true then. */
bool snapshot_column_members(cot_column *cc, const char *data_type, const char *column_type);

/* snapshot_member_value reads the text of a value (p NULL: SQL NULL) of a
 * column marked by snapshot_column_members as the stream's rows carry it:
 * an ENUM's member index, a SET's bitmask. So a row filter sees the same
 * value on copied, checked and streamed rows. false, v untouched, when cc
 * has no member names, p is NULL, or a name is none of the members (the
 * value is then read as text). */
bool snapshot_member_value(const cot_column *cc, const char *p, unsigned long len, cot_value *v);

/* snapshot_is_own_ddl says whether DDL statement sql (default schema
 * default_schema, may be NULL) is about cotter's own schema only: CREATE or
 * DROP DATABASE cotter, or table statements naming only cotter.* tables.
 * The stream drops those: cotter's objects on a source never reach a target. */
bool snapshot_is_own_ddl(const char *sql, const char *default_schema);

/* snapshot_is_watermark says whether schema.table is the watermark table. */
bool snapshot_is_watermark(const char *schema, const char *table);

#endif
