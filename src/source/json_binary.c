/*
 * MySQL binary JSON to JSON text. A value is a type byte followed by its
 * data; objects and arrays hold a header (element count, byte size), key
 * entries, value entries (type + inline value or offset) and then the keys
 * and non-inline values, all offsets relative to the container's start.
 * Small containers use 2-byte counts/offsets, large ones 4-byte.
 *
 * Every offset and length is checked against the enclosing container's
 * size before it is followed, and must point past the container's entries
 * (MySQL writes keys and values after them; an offset into the header
 * would make a cycle). Recursion depth is bounded, and so is the text: a
 * hostile value can point many entries at one subtree, so its text would
 * grow exponentially with its depth while its bytes do not. Every value
 * writes at least one byte, so the text bound also bounds the work.
 */
#include "source/json_binary.h"

#include "event/event.h"
#include "source/row_decode_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    JB_SMALL_OBJECT = 0x00,
    JB_LARGE_OBJECT = 0x01,
    JB_SMALL_ARRAY = 0x02,
    JB_LARGE_ARRAY = 0x03,
    JB_LITERAL = 0x04,
    JB_INT16 = 0x05,
    JB_UINT16 = 0x06,
    JB_INT32 = 0x07,
    JB_UINT32 = 0x08,
    JB_INT64 = 0x09,
    JB_UINT64 = 0x0a,
    JB_DOUBLE = 0x0b,
    JB_STRING = 0x0c,
    JB_OPAQUE = 0x0f,
};

typedef struct jb {
    const uint8_t *start; /* the whole value, for offsets in messages */
    buf *out;
    size_t out0;     /* out->len before this value */
    size_t max_text; /* bytes this value's text may take */
    const char *why;
    size_t where;
} jb;

static bool jb_fail(jb *j, const uint8_t *at, const char *why)
{
    if (!j->why) {
        j->why = why;
        j->where = (size_t)(at - j->start);
    }
    return false;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* jb_varlen reads MySQL's variable-length size (7 bits a byte, at most 5
 * bytes, fits 32 bits) from p[0..n); returns the bytes used or 0. */
static size_t jb_varlen(const uint8_t *p, size_t n, uint32_t *len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 5 && i < n; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            if (v > UINT32_MAX) return 0;
            *len = (uint32_t)v;
            return i + 1;
        }
    }
    return 0;
}

static void jb_string(buf *out, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(out, n + 2);
    buf_putc(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        buf_append(out, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t el = 2;
        switch (ch) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            el = 6;
        }
        buf_append(out, esc, el);
    }
    buf_append(out, s + run, n - run);
    buf_putc(out, '"');
}

/* jb_double writes the shortest text that reads back as d, with ".0" for
 * integral values as MySQL does. */
static void jb_double(buf *out, double d)
{
    if (!isfinite(d)) {
        buf_puts(out, "null");
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    buf_puts(out, tmp);
    if (!strpbrk(tmp, ".eE")) buf_puts(out, ".0");
}

static void jb_base64(buf *out, const uint8_t *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        buf_append(out, q, 4);
    }
}

static bool jb_opaque(jb *j, const uint8_t *p, size_t n)
{
    if (n < 1) return jb_fail(j, p, "opaque value without a type");
    uint8_t ftype = p[0];
    uint32_t len;
    size_t used = jb_varlen(p + 1, n - 1, &len);
    if (!used || len > n - 1 - used) return jb_fail(j, p, "opaque value length out of bounds");
    const uint8_t *d = p + 1 + used;
    char tmp[BINLOG_DECIMAL_TEXT_MAX + 48];
    switch (ftype) {
    case CT_NEWDECIMAL: {
        if (len < 2) return jb_fail(j, p, "opaque DECIMAL too short");
        int size = binlog__decimal_size(d[0], d[1]);
        if (size < 0 || (size_t)size > len - 2)
            return jb_fail(j, p, "opaque DECIMAL precision/scale do not fit its bytes");
        size_t tn = binlog__decimal_text(d + 2, d[0], d[1], tmp);
        if (tn == 0) return jb_fail(j, p, "opaque DECIMAL digits out of range");
        buf_append(j->out, tmp, tn);
        return true;
    }
    case CT_DATE:
    case CT_TIME:
    case CT_DATETIME:
    case CT_TIMESTAMP: {
        if (len < 8) return jb_fail(j, p, "opaque temporal shorter than 8 bytes");
        size_t tn = binlog__packed_temporal_text(ftype, (int64_t)le(d, 8), tmp);
        buf_putc(j->out, '"');
        buf_append(j->out, tmp, tn);
        buf_putc(j->out, '"');
        return true;
    }
    default:
        buf_printf(j->out, "\"base64:type%u:", (unsigned)ftype);
        jb_base64(j->out, d, len);
        buf_putc(j->out, '"');
        return true;
    }
}

static bool jb_value(jb *j, uint8_t type, const uint8_t *p, size_t n, int depth);

/* jb_inline says whether a value of this type sits in the value entry. */
static bool jb_inline(uint8_t type, bool large)
{
    switch (type) {
    case JB_LITERAL:
    case JB_INT16:
    case JB_UINT16:
        return true;
    case JB_INT32:
    case JB_UINT32:
        return large;
    default:
        return false;
    }
}

static bool jb_container(jb *j, const uint8_t *p, size_t n, bool large, bool obj, int depth)
{
    if (depth > JSON_BINARY_MAX_DEPTH) return jb_fail(j, p, "nested too deeply");
    unsigned w = large ? 4 : 2;
    if (n < 2 * w) return jb_fail(j, p, "container header truncated");
    uint64_t count = le(p, w), size = le(p + w, w);
    if (size > n || size < 2 * w) return jb_fail(j, p, "container size out of bounds");
    uint64_t key_entries = obj ? count * (w + 2) : 0;
    uint64_t val_entries = count * (1 + w);
    uint64_t entries_end = 2 * w + key_entries + val_entries;
    if (entries_end > size) return jb_fail(j, p, "container entries exceed its size");
    buf_putc(j->out, obj ? '{' : '[');
    for (uint64_t i = 0; i < count; i++) {
        if (i) buf_append(j->out, ", ", 2);
        if (obj) {
            const uint8_t *ke = p + 2 * w + i * (w + 2);
            uint64_t koff = le(ke, w), klen = le(ke + w, 2);
            if (koff > size || klen > size - koff) return jb_fail(j, ke, "key out of bounds");
            if (koff < entries_end)
                return jb_fail(j, ke, "key offset points back into the container's entries");
            jb_string(j->out, p + koff, (size_t)klen);
            buf_append(j->out, ": ", 2);
        }
        const uint8_t *ve = p + 2 * w + key_entries + i * (1 + w);
        uint8_t t = ve[0];
        if (jb_inline(t, large)) {
            if (!jb_value(j, t, ve + 1, w, depth + 1)) return false;
        } else {
            uint64_t off = le(ve + 1, w);
            if (off >= size) return jb_fail(j, ve, "value offset out of bounds");
            if (off < entries_end)
                return jb_fail(j, ve,
                               "value offset points back into the container's entries (a cycle)");
            if (!jb_value(j, t, p + off, (size_t)(size - off), depth + 1)) return false;
        }
    }
    buf_putc(j->out, obj ? '}' : ']');
    return true;
}

static bool jb_value(jb *j, uint8_t type, const uint8_t *p, size_t n, int depth)
{
    /* checked before each value, so the text ends at most one value (whose
     * own text is bounded by its bytes) past the bound */
    if (j->out->len - j->out0 > j->max_text)
        return jb_fail(j, p, "the text grows past its bound (entries share subtrees)");
    switch (type) {
    case JB_SMALL_OBJECT:
        return jb_container(j, p, n, false, true, depth);
    case JB_LARGE_OBJECT:
        return jb_container(j, p, n, true, true, depth);
    case JB_SMALL_ARRAY:
        return jb_container(j, p, n, false, false, depth);
    case JB_LARGE_ARRAY:
        return jb_container(j, p, n, true, false, depth);
    case JB_LITERAL:
        if (n < 1) break;
        switch (p[0]) {
        case 0:
            buf_puts(j->out, "null");
            return true;
        case 1:
            buf_puts(j->out, "true");
            return true;
        case 2:
            buf_puts(j->out, "false");
            return true;
        default:
            return jb_fail(j, p, "unknown literal");
        }
    case JB_INT16:
        if (n < 2) break;
        buf_i64(j->out, (int16_t)le(p, 2));
        return true;
    case JB_UINT16:
        if (n < 2) break;
        buf_u64(j->out, le(p, 2));
        return true;
    case JB_INT32:
        if (n < 4) break;
        buf_i64(j->out, (int32_t)le(p, 4));
        return true;
    case JB_UINT32:
        if (n < 4) break;
        buf_u64(j->out, le(p, 4));
        return true;
    case JB_INT64:
        if (n < 8) break;
        buf_i64(j->out, (int64_t)le(p, 8));
        return true;
    case JB_UINT64:
        if (n < 8) break;
        buf_u64(j->out, le(p, 8));
        return true;
    case JB_DOUBLE: {
        if (n < 8) break;
        uint64_t bits = le(p, 8);
        double d;
        memcpy(&d, &bits, sizeof(d));
        jb_double(j->out, d);
        return true;
    }
    case JB_STRING: {
        uint32_t len;
        size_t used = jb_varlen(p, n, &len);
        if (!used || len > n - used) return jb_fail(j, p, "string length out of bounds");
        jb_string(j->out, p + used, len);
        return true;
    }
    case JB_OPAQUE:
        return jb_opaque(j, p, n);
    default:
        return jb_fail(j, p, "unknown value type");
    }
    return jb_fail(j, p, "scalar truncated");
}

cot_err json_binary_to_text(const uint8_t *p, size_t len, size_t max_text, buf *out)
{
    if (len == 0) {
        buf_puts(out, "null");
        return COT_OK;
    }
    size_t ratio_max = len > (SIZE_MAX - JSON_BINARY_TEXT_SLACK) / JSON_BINARY_TEXT_RATIO
                           ? SIZE_MAX
                           : len * JSON_BINARY_TEXT_RATIO + JSON_BINARY_TEXT_SLACK;
    if (max_text == 0 || max_text > ratio_max) max_text = ratio_max;
    jb j = {
        .start = p, .out = out, .out0 = out->len, .max_text = max_text, .why = NULL, .where = 0};
    bool ok = jb_value(&j, p[0], p + 1, len - 1, 0);
    if (ok && out->len - j.out0 > max_text)
        ok = jb_fail(&j, p, "the text grows past its bound (entries share subtrees)");
    if (ok) return COT_OK;
    return cot_err_set(COT_ERR_MALFORMED,
                       "binary JSON value (%zu bytes): %s at offset %zu (text bound %zu bytes)",
                       len, j.why, j.where, max_text);
}
