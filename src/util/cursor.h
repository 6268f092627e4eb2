/*
 * A bounds-checked read cursor over a byte range. Every read past the end
 * sets the sticky `bad` flag and returns zero / NULL instead of touching
 * memory, so a decoder reads a whole structure and checks cur_ok() once,
 * at its single `malformed:` exit. Little-endian unless named _be.
 */
#ifndef COT_CURSOR_H
#define COT_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cur {
    const uint8_t *p;   /* next byte to read */
    const uint8_t *end; /* one past the last readable byte */
    bool bad;           /* a read went past end; sticky */
} cur;

static inline cur cur_make(const void *data, size_t len)
{
    cur c = {(const uint8_t *)data, (const uint8_t *)data + len, false};
    return c;
}

static inline size_t cur_left(const cur *c)
{
    return c->bad ? 0 : (size_t)(c->end - c->p);
}

static inline bool cur_ok(const cur *c)
{
    return !c->bad;
}

/* cur_need checks n bytes are readable; on failure marks the cursor bad.
 * n is 64-bit so a length read from the peer (a packed integer of up to 8
 * bytes) is compared whole, never truncated to size_t on a 32-bit build. */
static inline bool cur_need(cur *c, uint64_t n)
{
    if (c->bad || (uint64_t)(c->end - c->p) < n) {
        c->bad = true;
        return false;
    }
    return true;
}

/* cur_bytes returns a pointer to the next n bytes and advances, or NULL. */
static inline const uint8_t *cur_bytes(cur *c, uint64_t n)
{
    if (!cur_need(c, n)) return NULL;
    const uint8_t *r = c->p;
    c->p += (size_t)n;
    return r;
}

static inline void cur_skip(cur *c, uint64_t n)
{
    if (cur_need(c, n)) c->p += (size_t)n;
}

/* cur_uint_le reads an n-byte (n <= 8) little-endian unsigned integer. */
static inline uint64_t cur_uint_le(cur *c, unsigned n)
{
    if (n > 8 || !cur_need(c, n)) {
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)c->p[i] << (8 * i);
    c->p += n;
    return v;
}

/* cur_uint_be reads an n-byte (n <= 8) big-endian unsigned integer. */
static inline uint64_t cur_uint_be(cur *c, unsigned n)
{
    if (n > 8 || !cur_need(c, n)) {
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v = (v << 8) | c->p[i];
    c->p += n;
    return v;
}

static inline uint8_t cur_u8(cur *c)
{
    return (uint8_t)cur_uint_le(c, 1);
}
static inline uint16_t cur_u16(cur *c)
{
    return (uint16_t)cur_uint_le(c, 2);
}
static inline uint32_t cur_u24(cur *c)
{
    return (uint32_t)cur_uint_le(c, 3);
}
static inline uint32_t cur_u32(cur *c)
{
    return (uint32_t)cur_uint_le(c, 4);
}
static inline uint64_t cur_u48(cur *c)
{
    return cur_uint_le(c, 6);
}
static inline uint64_t cur_u64(cur *c)
{
    return cur_uint_le(c, 8);
}

/* cur_lenenc reads a MySQL length-encoded integer (0xfb "NULL" is bad here). */
static inline uint64_t cur_lenenc(cur *c)
{
    uint8_t b = cur_u8(c);
    if (b < 0xfb) return b;
    if (b == 0xfc) return cur_uint_le(c, 2);
    if (b == 0xfd) return cur_uint_le(c, 3);
    if (b == 0xfe) return cur_uint_le(c, 8);
    c->bad = true;
    return 0;
}

#endif
