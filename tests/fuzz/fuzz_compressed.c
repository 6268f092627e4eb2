/*
 * libFuzzer target for MariaDB's compressed events. Mutating a zlib stream
 * rarely yields another one, so the input carries the uncompressed bytes and
 * the target compresses them: [flags][u16 length][TABLE_MAP][kind][delta]
 * [raw]. From raw it builds a *_ROWS_COMPRESSED event (kind bits 0-1: write,
 * update, delete; bit 2: v2 with extra data) for the table of the TABLE_MAP,
 * and a QUERY_COMPRESSED event, and decodes both. Kind bit 3 makes the
 * declared length raw length + (int8)delta, so lies about the inflated size
 * are covered too. Flags bit 7 picks MariaDB, bits 0-1 the max_bytes bound
 * (default, 4 KiB, 64 KiB, 1 MiB); the target aborts when the arena grows
 * past what that bound allows.
 * Seeds: tests/fuzz/corpus/fuzz_compressed (tests/fuzz/make_corpus.py).
 */
#include "fuzz_events.h"
#include "event/event.h"
#include "source/binlog_event.h"
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ev_new allocates an event of exactly len bytes with its header set. */
static uint8_t *ev_new(uint8_t type, size_t len)
{
    uint8_t *ev = calloc(len, 1);
    if (!ev) abort();
    ev[4] = type;
    for (int i = 0; i < 4; i++) ev[9 + i] = (uint8_t)(len >> (8 * i));
    return ev;
}

/* zblock compresses raw into MariaDB's block (0x84, 4-byte big-endian
 * declared length, zlib stream) at out; returns its length. */
static size_t zblock(const uint8_t *raw, size_t n, uint32_t declared, uint8_t *out, size_t cap)
{
    out[0] = 0x84;
    for (int i = 0; i < 4; i++) out[1 + i] = (uint8_t)(declared >> (24 - 8 * i));
    uLongf zlen = (uLongf)(cap - 5);
    if (compress2(out + 5, &zlen, raw, (uLong)n, 1) != Z_OK) abort();
    return 5 + zlen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t max_by_flag[4] = {0, 4096, 65536, 1u << 20};
    if (size < 5) return 0;
    uint8_t flags = data[0];
    size_t n = (size_t)data[1] | (size_t)data[2] << 8;
    if (n > size - 5) return 0;
    const uint8_t *tm_bytes = data + 3;
    uint8_t kind = data[3 + n];
    int8_t delta = (int8_t)data[4 + n];
    const uint8_t *raw = data + 5 + n;
    size_t raw_len = size - 5 - n;
    uint32_t declared = (uint32_t)raw_len;
    if (kind & 8) declared = (uint32_t)((int64_t)raw_len + delta);

    binlog_fde fde;
    binlog_fde_default(&fde, BINLOG_CHECKSUM_NONE);
    snprintf(fde.server_version, sizeof(fde.server_version), "%s",
             (flags & 0x80) ? "10.11.19-MariaDB" : "8.0.36");
    size_t max_bytes = max_by_flag[flags & 3];
    size_t limit = 2 * (max_bytes ? max_bytes : BINLOG_MAX_EVENT_SIZE);

    size_t zcap = 5 + compressBound((uLong)raw_len);
    uint8_t *blk = malloc(zcap);
    if (!blk) abort();
    size_t bn = zblock(raw, raw_len, declared, blk, zcap);

    /* QUERY_COMPRESSED: 13-byte post-header, db "d", the block */
    size_t qlen = 19 + 13 + 2 + bn;
    uint8_t *q_ev = ev_new(BEV_MARIA_QUERY_COMPRESSED, qlen);
    q_ev[19 + 8] = 1; /* db length */
    q_ev[19 + 13] = 'd';
    memcpy(q_ev + 19 + 15, blk, bn);
    arena a;
    arena_init(&a);
    binlog_query q;
    (void)binlog_query_parse(&fde, q_ev, qlen, max_bytes, &a, &q);
    if (a.used > (max_bytes ? max_bytes : BINLOG_MAX_EVENT_SIZE) + 64) abort();
    arena_reset(&a);

    uint8_t *tm_ev = fz_copy_event(tm_bytes, n);
    binlog_tablemap tm;
    if (binlog_tablemap_parse(&fde, tm_ev, n, &a, &tm) == COT_OK) {
        cot_table *tbl = binlog_table_from_map(&tm);
        static const uint8_t types_v1[3] = {BEV_MARIA_WRITE_ROWS_COMPRESSED_V1,
                                            BEV_MARIA_UPDATE_ROWS_COMPRESSED_V1,
                                            BEV_MARIA_DELETE_ROWS_COMPRESSED_V1};
        uint8_t type = types_v1[(kind & 3) % 3];
        bool v2 = (kind & 4) != 0;
        if (v2) type = (uint8_t)(type + 3);
        bool update = (kind & 3) % 3 == 1;
        size_t bm = (tbl->n_cols + 7) / 8;
        size_t head = 8 + (v2 ? 2 : 0) + 4 + bm * (update ? 2 : 1);
        size_t rlen = 19 + head + bn;
        uint8_t *r_ev = ev_new(type, rlen);
        uint8_t *p = r_ev + 19;
        p[0] = 77; /* table id */
        p[6] = 1;  /* STMT_END */
        p += 8;
        if (v2) {
            p[0] = 2; /* extra data: just its own length */
            p += 2;
        }
        p[0] = 0xfd; /* column count, 3 bytes */
        p[1] = (uint8_t)tbl->n_cols;
        p[2] = (uint8_t)(tbl->n_cols >> 8);
        p[3] = (uint8_t)(tbl->n_cols >> 16);
        p += 4;
        memset(p, 0xff, bm * (update ? 2 : 1));
        p += bm * (update ? 2 : 1);
        memcpy(p, blk, bn);
        cot_chunk *ck = cot_chunk_new();
        (void)binlog_rows_decode(&fde, r_ev, rlen, tbl, max_bytes, ck);
        size_t one_row = 2 * (size_t)tbl->n_cols * (sizeof(cot_value) + 1024) + 8 * raw_len;
        if (ck->mem.used > limit + one_row + 65536) abort();
        cot_chunk_free(ck);
        cot_table_unref(tbl);
        free(r_ev);
    }
    arena_deinit(&a);
    free(tm_ev);
    free(q_ev);
    free(blk);
    return 0;
}
