/*
 * Helpers the binlog fuzz targets share: an input cut into events, and a
 * read of every decoded value (so a bad pointer or length shows under ASan).
 */
#ifndef COT_FUZZ_EVENTS_H
#define COT_FUZZ_EVENTS_H

#include "event/event.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fz_copy_event returns a malloc'ed copy of n bytes (the caller frees it)
 * whose header's event-size field says n, so the decoder reads the whole
 * input as one event. */
static inline uint8_t *fz_copy_event(const uint8_t *p, size_t n)
{
    uint8_t *ev = malloc(n ? n : 1);
    if (!ev) abort();
    if (n) memcpy(ev, p, n);
    if (n >= 13)
        for (int i = 0; i < 4; i++) ev[9 + i] = (uint8_t)(n >> (8 * i));
    return ev;
}

/* fz_touch_chunk reads the first and last byte of every text value of ck's
 * row images (tbl's columns). */
static inline void fz_touch_chunk(const cot_chunk *ck, const cot_table *tbl)
{
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        const cot_value *imgs[2] = {ck->changes[i].before, ck->changes[i].after};
        for (int k = 0; k < 2; k++) {
            if (!imgs[k]) continue;
            for (uint32_t c = 0; c < tbl->n_cols; c++) {
                const cot_value *v = &imgs[k][c];
                if (v->kind >= VK_DECIMAL && v->kind != VK_BIT && v->kind != VK_ENUM &&
                    v->kind != VK_SET && v->s.len)
                    sink ^= (uint8_t)(v->s.p[0] ^ v->s.p[v->s.len - 1]);
            }
        }
    }
    (void)sink;
}

#endif
