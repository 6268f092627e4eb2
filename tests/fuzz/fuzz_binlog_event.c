/*
 * libFuzzer target for every binlog event parser. The first input byte
 * picks the parser (low 3 bits) and the server flavor (bit 7: MariaDB,
 * else MySQL, which changes how TABLE_MAP optional metadata is read); the
 * rest is one event, copied into a heap block of exactly its size with the
 * header's event_size patched to match, parsed with a checksum-less FDE.
 * Selector 6 takes two events, [u16 length][TABLE_MAP][rows event], builds
 * the table from the first and decodes the second against it.
 * Seeds: tests/fuzz/corpus/fuzz_binlog_event (tests/fuzz/make_corpus.py).
 */
#include "fuzz_events.h"
#include "event/event.h"
#include "source/binlog_event.h"
#include "source/binlog_print.h"
#include "source/json_binary.h"
#include "util/arena.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rows_against(const binlog_fde *fde, const uint8_t *tm_ev, size_t tm_len,
                         const uint8_t *rows_ev, size_t rows_len)
{
    arena a;
    arena_init(&a);
    binlog_tablemap tm;
    if (binlog_tablemap_parse(fde, tm_ev, tm_len, &a, &tm) == COT_OK) {
        cot_table *tbl = binlog_table_from_map(&tm);
        cot_chunk *ck = cot_chunk_new();
        binlog_rows_head rh;
        if (binlog_rows_head_parse(fde, rows_ev, rows_len, &rh) == COT_OK) {
            if (binlog_rows_decode(fde, rows_ev, rows_len, tbl, 0, ck) == COT_OK) {
                /* touch every value so a bad pointer or length shows */
                fz_touch_chunk(ck, tbl);
            }
        }
        cot_chunk_free(ck);
        cot_table_unref(tbl);
    }
    arena_deinit(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    binlog_fde fde;
    binlog_fde_default(&fde, BINLOG_CHECKSUM_NONE);
    if (sel & 0x80)
        snprintf(fde.server_version, sizeof(fde.server_version), "10.11.19-MariaDB");
    else
        snprintf(fde.server_version, sizeof(fde.server_version), "8.0.36");

    uint8_t *ev = fz_copy_event(data, size);
    arena a;
    arena_init(&a);
    switch (sel & 7) {
    case 0: {
        binlog_fde out;
        binlog_header h;
        (void)binlog_header_parse(ev, size, &h);
        if (binlog_fde_parse(ev, size, &out) == COT_OK) (void)binlog_checksum_ok(&out, ev, size);
        break;
    }
    case 1: {
        binlog_query q;
        (void)binlog_query_parse(&fde, ev, size, 0, &a, &q);
        break;
    }
    case 2: {
        binlog_rotate r;
        binlog_gtid g;
        uint64_t xid;
        (void)binlog_rotate_parse(&fde, ev, size, &r);
        (void)binlog_gtid_parse(&fde, ev, size, &g);
        (void)binlog_xid_parse(&fde, ev, size, &xid);
        break;
    }
    case 3: {
        binlog_tablemap tm;
        if (binlog_tablemap_parse(&fde, ev, size, &a, &tm) == COT_OK) {
            cot_table *tbl = binlog_table_from_map(&tm);
            cot_table_unref(tbl);
        }
        break;
    }
    case 4: {
        binlog_rows_head rh;
        (void)binlog_rows_head_parse(&fde, ev, size, &rh);
        (void)binlog_event_type_name(size ? data[0] : 0);
        break;
    }
    case 5: {
        buf b;
        buf_init(&b);
        (void)json_binary_to_text(data, size, 0, &b);
        buf_deinit(&b);
        break;
    }
    case 6: {
        if (size < 2) break;
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        if (n > size - 2) break;
        uint8_t *tm_ev = fz_copy_event(data + 2, n);
        uint8_t *rows_ev = fz_copy_event(data + 2 + n, size - 2 - n);
        rows_against(&fde, tm_ev, n, rows_ev, size - 2 - n);
        free(tm_ev);
        free(rows_ev);
        break;
    }
    default: {
        fde.checksum_alg = BINLOG_CHECKSUM_CRC32;
        (void)binlog_checksum_ok(&fde, data, size);
        break;
    }
    }
    arena_deinit(&a);
    free(ev);
    return 0;
}
