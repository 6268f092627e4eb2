/*
 * libFuzzer target for row images: [flags][u16 length][TABLE_MAP][rows
 * event]. Flags bit 7 picks MariaDB (else MySQL) for the TABLE_MAP's
 * optional metadata, bits 0-1 the max_bytes bound (default, 4 KiB, 64 KiB,
 * 1 MiB). The table is built from the TABLE_MAP and the rows event decoded
 * against it; every value is touched, and the target aborts when the
 * decoded rows outgrow twice max_bytes by more than one row's worth.
 * Seeds: tests/fuzz/corpus/fuzz_rows_decode (tests/fuzz/make_corpus.py).
 */
#include "fuzz_events.h"
#include "event/event.h"
#include "source/binlog_event.h"
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t max_by_flag[4] = {0, 4096, 65536, 1u << 20};
    if (size < 3) return 0;
    uint8_t flags = data[0];
    size_t n = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (n > size) return 0;
    binlog_fde fde;
    binlog_fde_default(&fde, BINLOG_CHECKSUM_NONE);
    snprintf(fde.server_version, sizeof(fde.server_version), "%s",
             (flags & 0x80) ? "10.11.19-MariaDB" : "8.0.36");
    size_t max_bytes = max_by_flag[flags & 3];
    uint8_t *tm_ev = fz_copy_event(data, n);
    uint8_t *rows_ev = fz_copy_event(data + n, size - n);
    size_t rows_len = size - n;
    arena a;
    arena_init(&a);
    binlog_tablemap tm;
    if (binlog_tablemap_parse(&fde, tm_ev, n, &a, &tm) == COT_OK) {
        cot_table *tbl = binlog_table_from_map(&tm);
        cot_chunk *ck = cot_chunk_new();
        cot_err rc = binlog_rows_decode(&fde, rows_ev, rows_len, tbl, max_bytes, ck);
        size_t limit = 2 * (max_bytes ? max_bytes : BINLOG_MAX_EVENT_SIZE);
        size_t one_row = 2 * (size_t)tbl->n_cols * (sizeof(cot_value) + 1024) + 8 * rows_len;
        if (ck->mem.used > limit + one_row + 65536) abort();
        if (rc == COT_OK) {
            fz_touch_chunk(ck, tbl);
        }
        cot_chunk_free(ck);
        cot_table_unref(tbl);
    }
    arena_deinit(&a);
    free(tm_ev);
    free(rows_ev);
    return 0;
}
