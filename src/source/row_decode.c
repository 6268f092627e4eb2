/*
 * Row images of WRITE/UPDATE/DELETE rows events (v1, v2 and MariaDB's
 * compressed variants) decoded into cot_change values of a chunk.
 *
 * Invariants: every value is copied into the chunk's arena (the event
 * buffer is reused by the transport), except for compressed events whose
 * rows were inflated into that arena already. Nothing is allocated per value
 * on the heap and nothing is printed. On error the changes this call added
 * are removed again. Runs on the source reader's thread.
 */
#include "source/binlog_event.h"

#include "source/json_binary.h"
#include "source/row_decode_internal.h"
#include "util/buf.h"
#include "util/cursor.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* Why a value could not be decoded; the message is built by the caller. */
typedef enum rd_fail {
    RD_OK = 0,
    RD_SHORT,       /* value runs past the end of the row data */
    RD_BAD_META,    /* TABLE_MAP metadata cannot describe a value of this type */
    RD_BAD_VALUE,   /* bytes are not a valid value of the type */
    RD_UNSUPPORTED, /* a type this decoder cannot read */
    RD_JSON,        /* the JSON converter failed; its message is set */
    RD_TOO_BIG,     /* the decoded rows would take more than max_decoded */
} rd_fail;

typedef struct rd_ctx {
    cot_chunk *ck;
    bool in_arena;      /* row bytes already live in ck->mem (inflated event) */
    buf json;           /* scratch for JSON text; freed at the end of the event */
    size_t mem0;        /* ck->mem.used when this event's decoding began */
    uint32_t changes0;  /* ck->n_changes then */
    size_t max_decoded; /* bound on what this event's rows may take */
} rd_ctx;

/* rd_decoded returns the bytes this event's rows take so far: arena bytes
 * (values, their text, the inflated rows) and the change records. */
static size_t rd_decoded(const rd_ctx *x)
{
    return x->ck->mem.used - x->mem0 +
           (size_t)(x->ck->n_changes - x->changes0) * sizeof(cot_change);
}

static const char empty_str[1] = "";

static const uint32_t pow10_u32[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};

/* ---- text helpers ------------------------------------------------------- */

/* put_num writes v in decimal, zero-padded to at least width digits. */
static size_t put_num(char *out, uint64_t v, unsigned width)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width) tmp[n++] = '0';
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

size_t binlog__fmt_date(char *out, unsigned year, unsigned month, unsigned day)
{
    size_t n = put_num(out, year, 4);
    out[n++] = '-';
    n += put_num(out + n, month, 2);
    out[n++] = '-';
    n += put_num(out + n, day, 2);
    return n;
}

size_t binlog__fmt_hms(char *out, bool neg, unsigned hours, unsigned minute, unsigned second)
{
    size_t n = 0;
    if (neg) out[n++] = '-';
    n += put_num(out + n, hours, 2);
    out[n++] = ':';
    n += put_num(out + n, minute, 2);
    out[n++] = ':';
    n += put_num(out + n, second, 2);
    return n;
}

size_t binlog__fmt_frac(char *out, unsigned usec, unsigned fsp)
{
    if (fsp == 0) return 0;
    if (fsp > 6) fsp = 6;
    out[0] = '.';
    put_num(out + 1, usec / pow10_u32[6 - fsp], fsp);
    return fsp + 1;
}

/* civil_from_days converts days since 1970-01-01 to a proleptic Gregorian
 * date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* fmt_epoch renders seconds since the epoch as UTC "YYYY-MM-DD HH:MM:SS";
 * 0 is the zero timestamp "0000-00-00 00:00:00". */
static size_t fmt_epoch(char *out, uint32_t secs)
{
    if (secs == 0) {
        size_t n = binlog__fmt_date(out, 0, 0, 0);
        out[n++] = ' ';
        return n + binlog__fmt_hms(out + n, false, 0, 0, 0);
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(secs / 86400, &y, &mo, &d);
    uint32_t rem = secs % 86400;
    size_t n = binlog__fmt_date(out, (unsigned)y, mo, d);
    out[n++] = ' ';
    return n + binlog__fmt_hms(out + n, false, rem / 3600, rem / 60 % 60, rem % 60);
}

size_t binlog__packed_temporal_text(uint8_t field_type, int64_t packed, char *out)
{
    bool neg = packed < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)packed : (uint64_t)packed;
    unsigned usec = (unsigned)(v % (1u << 24));
    uint64_t ip = v >> 24;
    size_t n = 0;
    if (field_type == CT_TIME || field_type == CT_TIME2) {
        n = binlog__fmt_hms(out, neg, (unsigned)((ip >> 12) % (1u << 10)),
                            (unsigned)((ip >> 6) % 64), (unsigned)(ip % 64));
        return n + binlog__fmt_frac(out + n, usec % 1000000, 6);
    }
    uint64_t ymd = ip >> 17, ym = ymd >> 5, hms = ip % (1u << 17);
    if (neg) out[n++] = '-';
    n += binlog__fmt_date(out + n, (unsigned)((ym / 13) % 100000), (unsigned)(ym % 13),
                          (unsigned)(ymd % 32));
    if (field_type == CT_DATE || field_type == CT_NEWDATE) return n;
    out[n++] = ' ';
    n += binlog__fmt_hms(out + n, false, (unsigned)((hms >> 12) % 32), (unsigned)((hms >> 6) % 64),
                         (unsigned)(hms % 64));
    return n + binlog__fmt_frac(out + n, usec % 1000000, 6);
}

/* ---- DECIMAL ---------------------------------------------------------- */

static const int dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

int binlog__decimal_size(int precision, int scale)
{
    if (precision < 1 || precision > 65 || scale < 0 || scale > precision) return -1;
    int intg = precision - scale;
    return (intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9];
}

/* dec_group reads an n-byte big-endian group with the sign mask applied. */
static uint32_t dec_group(const uint8_t *p, size_t *pos, int n, uint8_t mask)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(p[*pos] ^ mask);
        if (*pos == 0) b ^= 0x80;
        v = (v << 8) | b;
        (*pos)++;
    }
    return v;
}

size_t binlog__decimal_text(const uint8_t *p, int precision, int scale, char *out)
{
    int intg = precision - scale;
    int intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9, frac0x = scale % 9;
    bool neg = (p[0] & 0x80) == 0;
    uint8_t mask = neg ? 0xff : 0;
    char digits[80];
    size_t nd = 0, pos = 0;
    if (intg0x) {
        uint32_t v = dec_group(p, &pos, dig2bytes[intg0x], mask);
        if (v >= pow10_u32[intg0x]) return 0;
        nd += put_num(digits + nd, v, (unsigned)intg0x);
    }
    for (int i = 0; i < intg0; i++) {
        uint32_t v = dec_group(p, &pos, 4, mask);
        if (v >= 1000000000u) return 0;
        nd += put_num(digits + nd, v, 9);
    }
    size_t int_digits = nd;
    for (int i = 0; i < frac0; i++) {
        uint32_t v = dec_group(p, &pos, 4, mask);
        if (v >= 1000000000u) return 0;
        nd += put_num(digits + nd, v, 9);
    }
    if (frac0x) {
        uint32_t v = dec_group(p, &pos, dig2bytes[frac0x], mask);
        if (v >= pow10_u32[frac0x]) return 0;
        nd += put_num(digits + nd, v, (unsigned)frac0x);
    }
    bool zero = true;
    for (size_t i = 0; i < nd; i++)
        if (digits[i] != '0') zero = false;
    size_t n = 0, skip = 0;
    if (neg && !zero) out[n++] = '-';
    while (skip < int_digits && digits[skip] == '0') skip++;
    if (skip == int_digits) {
        out[n++] = '0';
    } else {
        memcpy(out + n, digits + skip, int_digits - skip);
        n += int_digits - skip;
    }
    if (scale > 0) {
        out[n++] = '.';
        memcpy(out + n, digits + int_digits, nd - int_digits);
        n += nd - int_digits;
    }
    return n;
}

/* ---- inflation ---------------------------------------------------------- */

cot_err binlog__inflate(const uint8_t *p, size_t n, size_t max_out, arena *a, const uint8_t **out,
                        size_t *out_len, const char *what)
{
    if (n < 1) goto malformed;
    unsigned lenlen = p[0] & 7;
    if (lenlen == 0 || lenlen > 4 || n < 1 + lenlen) goto malformed;
    uint64_t ulen = 0;
    for (unsigned i = 0; i < lenlen; i++) ulen = (ulen << 8) | p[1 + i];
    /* zlib cannot expand more than ~1032:1; a bigger claim is corrupt */
    if (ulen > (uint64_t)(n - 1 - lenlen) * 1032 + 64) goto malformed;
    if (ulen > max_out)
        return cot_err_set(COT_ERR_MALFORMED,
                           "%s: the compressed data (%zu bytes) declares %llu bytes uncompressed, "
                           "more than max_event_size (%zu bytes): the event is corrupt or was "
                           "forged; if the source really writes events that big, raise the "
                           "source's max_event_size",
                           what, n, (unsigned long long)ulen, max_out);
    uint8_t *dst = arena_alloc(a, ulen ? (size_t)ulen : 1);
    uLongf dlen = (uLongf)ulen;
    int zrc = uncompress(dst, &dlen, p + 1 + lenlen, (uLong)(n - 1 - lenlen));
    if (zrc != Z_OK || dlen != ulen) goto malformed;
    *out = dst;
    *out_len = (size_t)ulen;
    return COT_OK;
malformed:
    return cot_err_set(COT_ERR_MALFORMED,
                       "%s: compressed data (%zu bytes) is not a valid zlib block of the "
                       "announced length",
                       what, n);
}

/* ---- values ------------------------------------------------------------- */

static inline void set_bytes(rd_ctx *x, cot_value *v, uint8_t kind, const uint8_t *p, size_t n)
{
    v->kind = kind;
    v->s.len = (uint32_t)n;
    if (n == 0)
        v->s.p = empty_str;
    else
        v->s.p = x->in_arena ? (const char *)p : arena_memdup(&x->ck->mem, p, n);
}

static inline void set_text(rd_ctx *x, cot_value *v, uint8_t kind, const char *s, size_t n)
{
    v->kind = kind;
    v->s.len = (uint32_t)n;
    v->s.p = arena_memdup(&x->ck->mem, s, n);
}

static inline uint8_t string_kind(const cot_column *col)
{
    return col->collation == COT_COLLATION_BINARY ? VK_BINARY : VK_STRING;
}

static inline uint8_t blob_kind(const cot_column *col)
{
    return (col->collation == COT_COLLATION_BINARY || col->collation == 0) ? VK_BINARY : VK_STRING;
}

/* read_frac reads the fractional part of a TIME2/DATETIME2/TIMESTAMP2 value
 * stored in (fsp + 1) / 2 big-endian bytes, scaled to microseconds. */
static inline uint32_t read_frac(cur *c, unsigned fsp)
{
    switch (fsp) {
    case 1:
    case 2:
        return (uint32_t)cur_uint_be(c, 1) * 10000;
    case 3:
    case 4:
        return (uint32_t)cur_uint_be(c, 2) * 100;
    case 5:
    case 6:
        return (uint32_t)cur_uint_be(c, 3);
    default:
        return 0;
    }
}

/* decode_time2 reads a TIME2 value (MySQL 5.6 format, also MariaDB's
 * default): 3 bytes big-endian offset by 0x800000, then the fraction; a
 * negative value with a fraction is stored as (int part + 1, frac - 1.0). */
static rd_fail decode_time2(rd_ctx *x, cur *c, unsigned fsp, cot_value *v)
{
    if (fsp > 6) return RD_BAD_META;
    int64_t packed; /* (int part << 24) + signed fraction in microseconds */
    if (fsp >= 5) {
        /* int part and fraction form one 6-byte big-endian number */
        packed = (int64_t)cur_uint_be(c, 6) - 0x800000000000LL;
    } else {
        int64_t ip = (int64_t)cur_uint_be(c, 3) - 0x800000;
        int64_t frac = 0;
        if (fsp >= 1) {
            unsigned nb = fsp <= 2 ? 1 : 2;
            frac = (int64_t)cur_uint_be(c, nb);
            if (ip < 0 && frac) {
                ip++;
                frac -= (int64_t)1 << (8 * nb);
            }
            frac *= fsp <= 2 ? 10000 : 100;
        }
        packed = ip * (1 << 24) + frac;
    }
    if (!cur_ok(c)) return RD_SHORT;
    bool neg = packed < 0;
    uint64_t a = neg ? (uint64_t)0 - (uint64_t)packed : (uint64_t)packed;
    uint64_t hms = a >> 24;
    unsigned usec = (unsigned)(a % (1u << 24));
    if (usec > 999999) return RD_BAD_VALUE;
    char tmp[40];
    size_t n = binlog__fmt_hms(tmp, neg, (unsigned)((hms >> 12) % 1024),
                               (unsigned)((hms >> 6) % 64), (unsigned)(hms % 64));
    n += binlog__fmt_frac(tmp + n, usec, fsp);
    set_text(x, v, VK_TEMPORAL, tmp, n);
    return RD_OK;
}

static rd_fail decode_datetime2(rd_ctx *x, cur *c, unsigned fsp, cot_value *v)
{
    if (fsp > 6) return RD_BAD_META;
    int64_t ip = (int64_t)cur_uint_be(c, 5) - 0x8000000000LL;
    uint32_t usec = read_frac(c, fsp);
    if (!cur_ok(c)) return RD_SHORT;
    if (ip < 0 || usec > 999999) return RD_BAD_VALUE;
    uint64_t ymd = (uint64_t)ip >> 17, ym = ymd >> 5, hms = (uint64_t)ip % (1u << 17);
    char tmp[48];
    size_t n =
        binlog__fmt_date(tmp, (unsigned)(ym / 13), (unsigned)(ym % 13), (unsigned)(ymd % 32));
    tmp[n++] = ' ';
    n += binlog__fmt_hms(tmp + n, false, (unsigned)(hms >> 12), (unsigned)((hms >> 6) % 64),
                         (unsigned)(hms % 64));
    n += binlog__fmt_frac(tmp + n, usec, fsp);
    set_text(x, v, VK_TEMPORAL, tmp, n);
    return RD_OK;
}

/* length_prefixed reads a little-endian length of `width` bytes and then
 * that many bytes. */
static inline const uint8_t *length_prefixed(cur *c, unsigned width, size_t *n)
{
    *n = (size_t)cur_uint_le(c, width);
    return cur_bytes(c, *n);
}

static rd_fail decode_value(rd_ctx *x, cur *c, const cot_column *col, cot_value *v)
{
    char tmp[96];
    size_t n;
    const uint8_t *p;
    switch (col->type) {
    case CT_TINY: {
        uint8_t b = cur_u8(c);
        if (col->is_unsigned) {
            v->kind = VK_UINT;
            v->u = b;
        } else {
            v->kind = VK_INT;
            v->i = (int8_t)b;
        }
        break;
    }
    case CT_SHORT: {
        uint16_t s = cur_u16(c);
        if (col->is_unsigned) {
            v->kind = VK_UINT;
            v->u = s;
        } else {
            v->kind = VK_INT;
            v->i = (int16_t)s;
        }
        break;
    }
    case CT_INT24: {
        uint32_t m = cur_u24(c);
        if (col->is_unsigned) {
            v->kind = VK_UINT;
            v->u = m;
        } else {
            v->kind = VK_INT;
            v->i = (m & 0x800000) ? (int64_t)m - 0x1000000 : (int64_t)m;
        }
        break;
    }
    case CT_LONG: {
        uint32_t l = cur_u32(c);
        if (col->is_unsigned) {
            v->kind = VK_UINT;
            v->u = l;
        } else {
            v->kind = VK_INT;
            v->i = (int32_t)l;
        }
        break;
    }
    case CT_LONGLONG: {
        uint64_t q = cur_u64(c);
        if (col->is_unsigned) {
            v->kind = VK_UINT;
            v->u = q;
        } else {
            v->kind = VK_INT;
            v->i = (int64_t)q;
        }
        break;
    }
    case CT_FLOAT: {
        uint32_t bits = cur_u32(c);
        float f;
        memcpy(&f, &bits, sizeof(f));
        v->kind = VK_FLOAT;
        v->d = f;
        break;
    }
    case CT_DOUBLE: {
        uint64_t bits = cur_u64(c);
        memcpy(&v->d, &bits, sizeof(v->d));
        v->kind = VK_DOUBLE;
        break;
    }
    case CT_NEWDECIMAL: {
        int precision = col->meta >> 8, scale = col->meta & 0xff;
        int size = binlog__decimal_size(precision, scale);
        if (size < 0) return RD_BAD_META;
        p = cur_bytes(c, (size_t)size);
        if (!p) return RD_SHORT;
        n = binlog__decimal_text(p, precision, scale, tmp);
        if (n == 0) return RD_BAD_VALUE;
        set_text(x, v, VK_DECIMAL, tmp, n);
        return RD_OK;
    }
    case CT_YEAR: {
        uint8_t y = cur_u8(c);
        v->kind = VK_INT;
        v->i = y ? 1900 + y : 0;
        break;
    }
    case CT_DATE:
    case CT_NEWDATE: {
        uint32_t d = cur_u24(c);
        if (!cur_ok(c)) return RD_SHORT;
        n = binlog__fmt_date(tmp, d >> 9, (d >> 5) & 15, d & 31);
        set_text(x, v, VK_TEMPORAL, tmp, n);
        return RD_OK;
    }
    case CT_TIME: {
        uint32_t raw = cur_u24(c);
        if (!cur_ok(c)) return RD_SHORT;
        int32_t t = (raw & 0x800000) ? (int32_t)raw - 0x1000000 : (int32_t)raw;
        bool neg = t < 0;
        uint32_t a = neg ? (uint32_t)-t : (uint32_t)t;
        n = binlog__fmt_hms(tmp, neg, a / 10000, a / 100 % 100, a % 100);
        set_text(x, v, VK_TEMPORAL, tmp, n);
        return RD_OK;
    }
    case CT_TIME2:
        return decode_time2(x, c, col->meta, v);
    case CT_DATETIME: {
        uint64_t dt = cur_u64(c);
        if (!cur_ok(c)) return RD_SHORT;
        uint64_t d = dt / 1000000, t = dt % 1000000;
        n = binlog__fmt_date(tmp, (unsigned)(d / 10000 % 100000), (unsigned)(d / 100 % 100),
                             (unsigned)(d % 100));
        tmp[n++] = ' ';
        n += binlog__fmt_hms(tmp + n, false, (unsigned)(t / 10000), (unsigned)(t / 100 % 100),
                             (unsigned)(t % 100));
        set_text(x, v, VK_TEMPORAL, tmp, n);
        return RD_OK;
    }
    case CT_DATETIME2:
        return decode_datetime2(x, c, col->meta, v);
    case CT_TIMESTAMP: {
        uint32_t secs = cur_u32(c);
        if (!cur_ok(c)) return RD_SHORT;
        n = fmt_epoch(tmp, secs);
        set_text(x, v, VK_TEMPORAL, tmp, n);
        return RD_OK;
    }
    case CT_TIMESTAMP2: {
        unsigned fsp = col->meta;
        if (fsp > 6) return RD_BAD_META;
        uint32_t secs = (uint32_t)cur_uint_be(c, 4);
        uint32_t usec = read_frac(c, fsp);
        if (!cur_ok(c)) return RD_SHORT;
        if (usec > 999999) return RD_BAD_VALUE;
        n = fmt_epoch(tmp, secs);
        n += binlog__fmt_frac(tmp + n, usec, fsp);
        set_text(x, v, VK_TEMPORAL, tmp, n);
        return RD_OK;
    }
    case CT_VARCHAR:
    case CT_VAR_STRING:
        p = length_prefixed(c, col->meta < 256 ? 1 : 2, &n);
        if (!p) return RD_SHORT;
        set_bytes(x, v, string_kind(col), p, n);
        return RD_OK;
    case CT_BIT: {
        unsigned nbits = (unsigned)(col->meta >> 8) * 8 + (col->meta & 0xff);
        unsigned nbytes = (nbits + 7) / 8;
        if (nbytes == 0 || nbytes > 8) return RD_BAD_META;
        v->kind = VK_BIT;
        v->u = cur_uint_be(c, nbytes);
        break;
    }
    case CT_STRING:
    case CT_ENUM:
    case CT_SET: {
        uint32_t max_len;
        uint8_t rt = binlog__string_real_type(col->meta, &max_len);
        if (col->type != CT_STRING) {
            rt = col->type;
            max_len = col->meta & 0xff;
        }
        if (rt == CT_ENUM) {
            if (max_len != 1 && max_len != 2) return RD_BAD_META;
            v->kind = VK_ENUM;
            v->u = cur_uint_le(c, max_len);
        } else if (rt == CT_SET) {
            if (max_len < 1 || max_len > 8) return RD_BAD_META;
            v->kind = VK_SET;
            v->u = cur_uint_le(c, max_len);
        } else {
            p = length_prefixed(c, max_len < 256 ? 1 : 2, &n);
            if (!p) return RD_SHORT;
            if (string_kind(col) == VK_BINARY && n < max_len) {
                /* BINARY(n) is logged without its trailing 0x00 bytes; the
                 * stored value has them, and a match by value must use them */
                uint8_t *pad = arena_alloc(&x->ck->mem, max_len);
                memcpy(pad, p, n);
                memset(pad + n, 0, max_len - n);
                v->kind = VK_BINARY;
                v->s.p = (const char *)pad;
                v->s.len = max_len;
                return RD_OK;
            }
            set_bytes(x, v, string_kind(col), p, n);
            return RD_OK;
        }
        break;
    }
    case CT_TINY_BLOB:
    case CT_MEDIUM_BLOB:
    case CT_LONG_BLOB:
    case CT_BLOB:
    case CT_GEOMETRY:
    case CT_JSON: {
        if (col->meta < 1 || col->meta > 4) return RD_BAD_META;
        p = length_prefixed(c, col->meta, &n);
        if (!p) return RD_SHORT;
        if (col->type == CT_GEOMETRY) {
            set_bytes(x, v, VK_GEOMETRY, p, n);
        } else if (col->type == CT_JSON) {
            buf_reset(&x->json);
            size_t used = rd_decoded(x);
            if (used >= x->max_decoded) return RD_TOO_BIG; /* (0 would mean no bound) */
            if (json_binary_to_text(p, n, x->max_decoded - used, &x->json) != COT_OK)
                return RD_JSON;
            set_text(x, v, VK_JSON, x->json.data, x->json.len);
        } else {
            set_bytes(x, v, blob_kind(col), p, n);
        }
        return RD_OK;
    }
    case CT_NULL:
        v->kind = VK_NULL;
        return RD_OK;
    default:
        return RD_UNSUPPORTED;
    }
    return cur_ok(c) ? RD_OK : RD_SHORT;
}

static inline bool bit_set(const uint8_t *bm, uint32_t i)
{
    return (bm[i >> 3] >> (i & 7)) & 1;
}

static uint32_t bits_count(const uint8_t *bm, uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) k += bit_set(bm, i);
    return k;
}

/* A failed image: which column and why, for the caller's message. */
typedef struct rd_where {
    uint32_t col;
    rd_fail fail;
    size_t off; /* offset in the row data where the value starts */
} rd_where;

/* decode_image reads one row image: the null bitmap over the present
 * columns, then the value of each present, non-NULL column. */
static bool decode_image(rd_ctx *x, cur *c, const cot_table *tbl, const uint8_t *present,
                         uint32_t n_present, cot_value *vals, const uint8_t *rows, rd_where *w)
{
    const uint8_t *nulls = cur_bytes(c, (n_present + 7) / 8);
    if (!nulls) {
        w->col = 0;
        w->fail = RD_SHORT;
        w->off = (size_t)(c->end - rows);
        return false;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (!bit_set(present, i)) continue; /* stays VK_ABSENT (zeroed) */
        if (bit_set(nulls, k++)) {
            vals[i].kind = VK_NULL;
            continue;
        }
        size_t off = (size_t)(c->p - rows);
        rd_fail f = decode_value(x, c, &tbl->cols[i], &vals[i]);
        if (f != RD_OK) {
            w->col = i;
            w->fail = f;
            w->off = off;
            return false;
        }
    }
    return true;
}

static const char *fail_text(rd_fail f)
{
    switch (f) {
    case RD_OK:
        return "ok";
    case RD_SHORT:
        return "the value runs past the end of the row data";
    case RD_BAD_META:
        return "the TABLE_MAP metadata of the column is invalid for its type";
    case RD_BAD_VALUE:
        return "the bytes are not a valid value of the column's type";
    case RD_UNSUPPORTED:
        return "this column type cannot be decoded";
    case RD_JSON:
        return "bad binary JSON";
    case RD_TOO_BIG:
        return "the decoded rows would take too much memory";
    }
    return "?";
}

static bool is_v2(uint8_t type)
{
    return (type >= BEV_WRITE_ROWS_V2 && type <= BEV_DELETE_ROWS_V2) ||
           (type >= BEV_MARIA_WRITE_ROWS_COMPRESSED && type <= BEV_MARIA_DELETE_ROWS_COMPRESSED);
}

/* chunk_truncate removes changes and table references added after a mark. */
static void chunk_truncate(cot_chunk *ck, uint32_t n_changes, uint32_t n_tables)
{
    ck->n_changes = n_changes;
    while (ck->n_tables > n_tables) cot_table_unref(ck->tables[--ck->n_tables]);
}

cot_err binlog_rows_decode(const binlog_fde *fde, const uint8_t *ev, size_t len, cot_table *tbl,
                           size_t max_bytes, cot_chunk *ck)
{
    if (max_bytes == 0) max_bytes = BINLOG_MAX_EVENT_SIZE;
    binlog_rows_head rh;
    cot_err rc = binlog_rows_head_parse(fde, ev, len, &rh);
    if (rc != COT_OK) return rc;
    uint8_t type = ev[4];
    const char *what = binlog_event_type_name(type);
    cur c;
    rc = binlog__body(fde, ev, len, what, &c);
    if (rc != COT_OK) return rc;

    unsigned phl = binlog__post_header_len(fde, type);
    cur_skip(&c, phl == 6 ? 4 : 6);
    cur_skip(&c, 2);
    unsigned seen = (phl == 6 ? 4 : 6) + 2;
    if (is_v2(type)) {
        uint16_t extra = cur_u16(&c);
        seen += 2;
        if (phl > seen) cur_skip(&c, phl - seen);
        if (extra < 2) goto malformed;
        cur_skip(&c, extra - 2u);
    } else if (phl > seen) {
        cur_skip(&c, phl - seen);
    }
    uint64_t n_cols = cur_lenenc(&c);
    if (!cur_ok(&c)) goto malformed;
    if (n_cols != tbl->n_cols)
        return cot_err_set(COT_ERR_SCHEMA,
                           "rows event for %s.%s has %llu columns, the table map/schema has %u: "
                           "the table changed (ALTER TABLE) and the known definition is stale; "
                           "reload the table definition (restart the pipeline) so rows are not "
                           "decoded against the wrong columns",
                           tbl->src_schema, tbl->src_name, (unsigned long long)n_cols, tbl->n_cols);
    size_t bm_len = (tbl->n_cols + 7) / 8;
    const uint8_t *present_b = cur_bytes(&c, bm_len);
    const uint8_t *present_a = rh.op == OP_UPDATE ? cur_bytes(&c, bm_len) : present_b;
    if (!cur_ok(&c)) goto malformed;

    rd_ctx x = {.ck = ck,
                .in_arena = false,
                .mem0 = ck->mem.used,
                .changes0 = ck->n_changes,
                .max_decoded = max_bytes > SIZE_MAX / 2 ? SIZE_MAX : 2 * max_bytes};
    const uint8_t *rows = c.p;
    cur r = c;
    if (rh.compressed) {
        const uint8_t *out;
        size_t out_len;
        rc = binlog__inflate(c.p, cur_left(&c), max_bytes, &ck->mem, &out, &out_len, what);
        if (rc != COT_OK) {
            cot_err_prefix("rows of %s.%s: ", tbl->src_schema, tbl->src_name);
            return rc;
        }
        rows = out;
        r = cur_make(out, out_len);
        x.in_arena = true;
    }
    uint32_t n_b = bits_count(present_b, tbl->n_cols);
    uint32_t n_a = present_a == present_b ? n_b : bits_count(present_a, tbl->n_cols);

    uint32_t mark_changes = ck->n_changes, mark_tables = ck->n_tables;
    uint32_t row = 0;
    rd_where w = {0, RD_OK, 0};
    bool ok = true;
    if (n_b == 0 || n_a == 0) {
        /* an image without columns takes no bytes: the row loop would
         * never advance */
        return cot_err_set(COT_ERR_MALFORMED,
                           "%s event for %s.%s: a row image has no columns (empty columns "
                           "bitmap)",
                           what, tbl->src_schema, tbl->src_name);
    }
    while (ok && cur_left(&r) > 0) {
        cot_change *ch = cot_chunk_add(ck, rh.op, tbl);
        cot_value *vals = cot_chunk_values(ck, tbl->n_cols);
        if (rh.op == OP_INSERT) {
            ch->after = vals;
            ok = decode_image(&x, &r, tbl, present_b, n_b, vals, rows, &w);
        } else {
            ch->before = vals;
            ok = decode_image(&x, &r, tbl, present_b, n_b, vals, rows, &w);
            if (ok && rh.op == OP_UPDATE) {
                ch->after = cot_chunk_values(ck, tbl->n_cols);
                ok = decode_image(&x, &r, tbl, present_a, n_a, ch->after, rows, &w);
            }
        }
        row++;
        if (ok && rd_decoded(&x) > x.max_decoded) {
            /* a few bytes of row image can stand for many wide rows */
            ok = false;
            w.fail = RD_TOO_BIG;
        }
    }
    buf_deinit(&x.json);
    if (ok) return COT_OK;

    chunk_truncate(ck, mark_changes, mark_tables);
    if (w.fail == RD_TOO_BIG)
        return cot_err_set(COT_ERR_MALFORMED,
                           "%s event for %s.%s (%zu bytes): its rows would take more than %zu "
                           "bytes once decoded (row %u), twice max_event_size: the event is "
                           "corrupt or was forged; if the source really writes events that "
                           "big, raise the source's max_event_size",
                           what, tbl->src_schema, tbl->src_name, len, x.max_decoded, row);
    const cot_column *col = &tbl->cols[w.col];
    char ctx[400];
    snprintf(ctx, sizeof(ctx), "%s event for %s.%s, row %u, column %u%s%s%s (%s, meta %u): ", what,
             tbl->src_schema, tbl->src_name, row, w.col + 1, col->name ? " (" : "",
             col->name ? col->name : "", col->name ? ")" : "", cot_coltype_name(col->type),
             (unsigned)col->meta);
    if (w.fail == RD_JSON) {
        cot_err_prefix("%s", ctx);
        return COT_ERR_MALFORMED;
    }
    return cot_err_set(w.fail == RD_UNSUPPORTED ? COT_ERR_UNSUPPORTED : COT_ERR_MALFORMED,
                       "%s%s (at byte %zu of the %srow data)", ctx, fail_text(w.fail), w.off,
                       x.in_arena ? "inflated " : "");
malformed:
    return cot_err_set(COT_ERR_MALFORMED,
                       "%s event for %s.%s: post-header or column bitmaps truncated at offset "
                       "%zu of %zu",
                       what, tbl->src_schema, tbl->src_name, (size_t)(c.p - ev), len);
}
