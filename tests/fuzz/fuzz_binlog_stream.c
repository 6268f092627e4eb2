/*
 * libFuzzer target for the event -> chunk assembly: the input is a run of
 * events (each header's event_size says where the next begins; the last
 * one is cut to what is left) fed to binlog_stream_feed as a replication
 * stream delivers them, until the first error. Every table is routed, the
 * schema comes from the events alone (a schema cache without connection),
 * chunks are freed as they are emitted, and max_event_size is 16 KiB so
 * the bounds are reached. Besides memory errors it aborts when an error
 * does not name the binlog file:pos of the event (issue 17).
 * Seeds: tests/fuzz/corpus/fuzz_binlog_stream (tests/fuzz/make_corpus.py).
 */
#include "event/event.h"
#include "source/binlog_stream.h"
#include "source/schema.h"
#include "util/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool route_all(void *ctx, const char *schema, const char *table, char *out_schema,
                      size_t schema_cap, char *out_table, size_t table_cap)
{
    (void)ctx;
    snprintf(out_schema, schema_cap, "%s", schema);
    snprintf(out_table, table_cap, "%s", table);
    return true;
}

static cot_err emit_free(void *ctx, cot_chunk *ck)
{
    (void)ctx;
    cot_chunk_free(ck);
    return COT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    schema_cache *sc = schema_cache_new(NULL);
    binlog_stream_conf conf = {.source_name = "src",
                               .route = route_all,
                               .emit = emit_free,
                               .schema = sc,
                               .chunk_rows = 64,
                               .chunk_bytes = 64 * 1024,
                               .max_event_size = 16 * 1024};
    cot_pos start = {.file = "fuzz-bin.000001", .pos = 4};
    binlog_stream *bs = binlog_stream_new(&conf, &start);
    size_t off = 0;
    while (off < size) {
        size_t left = size - off, n = left;
        if (left >= 13) {
            n = (size_t)data[off + 9] | (size_t)data[off + 10] << 8 | (size_t)data[off + 11] << 16 |
                (size_t)data[off + 12] << 24;
            if (n < 19 || n > left) n = left;
        }
        uint8_t *ev = malloc(n);
        if (!ev) abort();
        memcpy(ev, data + off, n);
        if (n >= 13)
            for (int i = 0; i < 4; i++) ev[9 + i] = (uint8_t)(n >> (8 * i));
        cot_pos at;
        binlog_stream_pos(bs, &at);
        cot_err rc = binlog_stream_feed(bs, ev, n);
        free(ev);
        if (rc != COT_OK) {
            if (!strstr(cot_err_msg(), at.file)) {
                fprintf(stderr, "error without the binlog file %s: %s\n", at.file, cot_err_msg());
                abort();
            }
            break;
        }
        off += n;
    }
    (void)binlog_stream_idle(bs);
    binlog_stream_free(bs);
    schema_cache_free(sc);
    return 0;
}
