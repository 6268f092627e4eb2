/*
 * Binlog stream assembly: consumes raw events in order and emits chunks of
 * one source transaction each (see event.h). Owns the current position,
 * the FORMAT_DESCRIPTION state, the table-id map and the transaction state
 * machine:
 *
 *   NONE --GTID(standalone)/MySQL GTID--> GTID_SEEN --QUERY BEGIN--> OPEN
 *   NONE --MariaDB GTID (not standalone) / QUERY BEGIN--------------> OPEN
 *   GTID_SEEN/NONE --QUERY (DDL)--> emit CK_DDL --> NONE
 *   OPEN --rows--> OPEN (chunks emitted as they fill)
 *   OPEN --XID / QUERY COMMIT|ROLLBACK--> emit last chunk (tx_end) --> NONE
 *
 * Transactions that touch no mapped table only move the position; it is
 * emitted as a CK_EMPTY chunk when the source goes idle or every few
 * thousand such transactions. Runs on the select thread.
 */
#ifndef COT_BINLOG_STREAM_H
#define COT_BINLOG_STREAM_H

#include "event/event.h"
#include "source/binlog_event.h"
#include "source/schema.h"
#include "util/err.h"

#include <stdbool.h>

typedef struct binlog_stream binlog_stream;

/* binlog_route_fn decides whether rows of schema.table are wanted and under
 * which target name; returns false to skip the table. */
typedef bool (*binlog_route_fn)(void *ctx, const char *schema, const char *table, char *out_schema,
                                size_t schema_cap, char *out_table, size_t table_cap);
/* binlog_emit_fn receives a finished chunk and always takes ownership. */
typedef cot_err (*binlog_emit_fn)(void *ctx, cot_chunk *ck);

typedef struct binlog_stream_conf {
    const char *source_name;
    binlog_route_fn route;
    void *route_ctx;
    binlog_emit_fn emit;
    void *emit_ctx;
    schema_cache *schema;  /* borrowed */
    uint32_t chunk_rows;   /* emit a partial chunk past this many rows */
    size_t chunk_bytes;    /* ... or this many bytes */
    uint8_t checksum_alg;  /* the source's binlog_checksum until the first FDE */
    size_t max_event_size; /* largest event (inflated) accepted; 0: BINLOG_MAX_EVENT_SIZE */
} binlog_stream_conf;

binlog_stream *binlog_stream_new(const binlog_stream_conf *conf, const cot_pos *start);
void binlog_stream_free(binlog_stream *bs);

/* binlog_stream_feed processes one raw event. Errors carry the binlog
 * file:pos of the event. */
cot_err binlog_stream_feed(binlog_stream *bs, const uint8_t *ev, size_t len);
/* binlog_stream_idle emits the position as a CK_EMPTY chunk when it moved
 * past the last emitted transaction and no transaction is open. */
cot_err binlog_stream_idle(binlog_stream *bs);
bool binlog_stream_in_tx(const binlog_stream *bs);
/* binlog_stream_caught_up says whether the last event read was a heartbeat
 * (the source had nothing more to send). */
bool binlog_stream_caught_up(const binlog_stream *bs);
void binlog_stream_pos(const binlog_stream *bs, cot_pos *out);

#endif
