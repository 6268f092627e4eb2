/*
 * libFuzzer target for TABLE_MAP events and their optional metadata
 * (binlog_row_metadata=MINIMAL/FULL: signedness, charsets, column names,
 * ENUM/SET members, primary key, visibility). The first input byte picks
 * MariaDB (bit 7) or MySQL, which read the metadata differently; the rest
 * is the event body after the common header, which the target adds. A
 * parsed map is turned into a table and resolved through a schema cache
 * without a connection (what the event alone says), as the stream does.
 * Seeds: tests/fuzz/corpus/fuzz_table_map (tests/fuzz/make_corpus.py).
 */
#include "event/event.h"
#include "source/binlog_event.h"
#include "source/schema.h"
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    binlog_fde fde;
    binlog_fde_default(&fde, BINLOG_CHECKSUM_NONE);
    snprintf(fde.server_version, sizeof(fde.server_version), "%s",
             (data[0] & 0x80) ? "10.11.19-MariaDB" : "8.0.36");
    size_t len = 19 + size - 1;
    uint8_t *ev = calloc(len, 1);
    if (!ev) abort();
    ev[4] = BEV_TABLE_MAP;
    for (int i = 0; i < 4; i++) ev[9 + i] = (uint8_t)(len >> (8 * i));
    memcpy(ev + 19, data + 1, size - 1);
    arena a;
    arena_init(&a);
    binlog_tablemap tm;
    if (binlog_tablemap_parse(&fde, ev, len, &a, &tm) == COT_OK) {
        /* every array the parser hands out covers n_cols entries */
        volatile uint32_t sink = 0;
        for (uint32_t i = 0; i < tm.n_cols; i++) {
            sink += tm.types[i] + tm.meta[i] + tm.nullable[i] + tm.is_unsigned[i] + tm.collation[i];
            if (tm.col_names) sink += (uint8_t)tm.col_names[i][0];
        }
        for (uint32_t i = 0; i < tm.n_pk; i++)
            if (tm.pk[i] >= tm.n_cols) abort();
        (void)sink;
        cot_table_unref(binlog_table_from_map(&tm));
        schema_cache *sc = schema_cache_new(NULL);
        cot_table *tbl = NULL;
        if (schema_resolve(sc, &tm, "fuzz.000001:4", &tbl) == COT_OK) cot_table_unref(tbl);
        schema_cache_free(sc);
    }
    arena_deinit(&a);
    free(ev);
    return 0;
}
