/*
 * Conversion of source values to the target's column types, with the
 * mapping's on_overflow policy (see the header). A value is only copied
 * when it changes: the common case (types that already fit) costs a range
 * or length compare per checked column and no allocation. Strings are
 * measured in characters for CHAR/VARCHAR (the target's limit), in bytes
 * for TEXT/BLOB/BINARY. The server is never left to truncate: the sink's
 * session is strict, and what strict mode lets through with a note
 * (DECIMAL scale, DATETIME -> DATE) is rounded or cut here on purpose.
 * One load thread per sink_conv; the registry has its own mutex.
 */
#include "sink/sink_mysql_convert.h"
#include "client/mysql_conn.h"
#include "sql/ddl_rewrite.h"
#include "util/buf.h"
#include "util/log.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG          "convert"
#define VALUE_SHOWN  64
#define PLAN_BUCKETS 256
#define TS_MIN       "1970-01-01 00:00:01"
#define TS_MAX       "2038-01-19 03:14:07"

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

/* ---- registry ----------------------------------------------------------- */

typedef struct policy_reg {
    char *pipeline;
    const cfg_pipeline *pc;
    sink_policy_counts counts;
} policy_reg;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static policy_reg *reg_items;
static uint32_t reg_n, reg_cap;

static policy_reg *policy__find(const char *pipeline)
{
    for (uint32_t i = 0; i < reg_n; i++)
        if (strcmp(reg_items[i].pipeline, pipeline) == 0) return &reg_items[i];
    return NULL;
}

void sink_policy_register(const cfg_pipeline *pc)
{
    if (!pc || !pc->name) return;
    pthread_mutex_lock(&reg_mu);
    policy_reg *r = policy__find(pc->name);
    if (!r) {
        if (reg_n == reg_cap) {
            reg_cap = reg_cap ? reg_cap * 2 : 8;
            policy_reg *n = realloc(reg_items, reg_cap * sizeof(*n));
            if (!n) abort();
            reg_items = n;
        }
        r = &reg_items[reg_n++];
        memset(r, 0, sizeof(*r));
        r->pipeline = xstrdup(pc->name);
    }
    r->pc = pc;
    pthread_mutex_unlock(&reg_mu);
}

void sink_policy_counts_get(const char *pipeline, sink_policy_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (!pipeline) return;
    pthread_mutex_lock(&reg_mu);
    policy_reg *r = policy__find(pipeline);
    if (r) *out = r->counts;
    pthread_mutex_unlock(&reg_mu);
}

static void policy__counts_add(const char *pipeline, const sink_policy_counts *add)
{
    pthread_mutex_lock(&reg_mu);
    policy_reg *r = policy__find(pipeline);
    if (r) {
        r->counts.conflicts += add->conflicts;
        r->counts.clamped += add->clamped;
        r->counts.nulled += add->nulled;
        r->counts.skipped += add->skipped;
        r->counts.missing += add->missing;
    }
    pthread_mutex_unlock(&reg_mu);
}

const cfg_table_map *sink_policy_mapping(const char *pipeline, const char *src_schema,
                                         const char *src_name)
{
    const cfg_table_map *found = NULL;
    if (!pipeline || !src_schema || !src_name) return NULL;
    pthread_mutex_lock(&reg_mu);
    policy_reg *r = policy__find(pipeline);
    const cfg_pipeline *pc = r ? r->pc : NULL;
    pthread_mutex_unlock(&reg_mu);
    if (!pc) return NULL;
    for (int i = 0; i < pc->n_tables && !found; i++)
        if (table_glob_match(pc->tables[i].match, src_schema, src_name)) found = &pc->tables[i];
    char base[256];
    if (!found && ddl_shadow_base(src_name, base, sizeof(base))) /* gh-ost / pt-osc shadows */
        for (int i = 0; i < pc->n_tables && !found; i++)
            if (table_glob_match(pc->tables[i].match, src_schema, base)) found = &pc->tables[i];
    return found;
}

/* ---- pure conversion ---------------------------------------------------- */

static bool conv__is(const char *dt, const char *s)
{
    return strcmp(dt, s) == 0;
}

void conv_target_init(conv_target *t, const char *name, const char *dt, bool is_unsigned,
                      bool nullable, uint64_t char_len, uint64_t octet_len, uint32_t prec,
                      uint32_t scale, uint32_t dt_prec)
{
    memset(t, 0, sizeof(*t));
    t->name = name;
    t->data_type = dt;
    t->is_unsigned = is_unsigned;
    t->nullable = nullable;
    int bits = 0;
    if (conv__is(dt, "tinyint") || conv__is(dt, "bool") || conv__is(dt, "boolean"))
        bits = 8;
    else if (conv__is(dt, "smallint"))
        bits = 16;
    else if (conv__is(dt, "mediumint"))
        bits = 24;
    else if (conv__is(dt, "int") || conv__is(dt, "integer"))
        bits = 32;
    else if (conv__is(dt, "bigint"))
        bits = 64;
    if (bits) {
        t->cls = CC_INT;
        if (is_unsigned) {
            t->min_i = 0;
            t->max_u = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
        } else {
            t->min_i = bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
            t->max_u = bits == 64 ? (uint64_t)INT64_MAX : (UINT64_C(1) << (bits - 1)) - 1;
        }
    } else if (conv__is(dt, "decimal") || conv__is(dt, "numeric") || conv__is(dt, "fixed")) {
        t->cls = CC_DECIMAL;
        t->prec = prec ? prec : 10;
        t->scale = scale;
    } else if (conv__is(dt, "float")) {
        t->cls = CC_FLOAT;
    } else if (conv__is(dt, "double") || conv__is(dt, "real") || conv__is(dt, "double precision")) {
        t->cls = CC_DOUBLE;
    } else if (conv__is(dt, "char") || conv__is(dt, "varchar")) {
        t->cls = CC_CHAR;
        t->max_len = char_len;
    } else if (conv__is(dt, "tinytext") || conv__is(dt, "text") || conv__is(dt, "mediumtext") ||
               conv__is(dt, "longtext")) {
        t->cls = CC_TEXT;
        t->max_len = octet_len ? octet_len : char_len;
    } else if (conv__is(dt, "binary") || conv__is(dt, "varbinary") || strstr(dt, "blob")) {
        t->cls = CC_BINARY;
        t->max_len = octet_len ? octet_len : char_len;
    } else if (conv__is(dt, "date")) {
        t->cls = CC_DATE;
    } else if (conv__is(dt, "datetime")) {
        t->cls = CC_DATETIME;
        t->prec = dt_prec;
    } else if (conv__is(dt, "timestamp")) {
        t->cls = CC_TIMESTAMP;
        t->prec = dt_prec;
    } else if (conv__is(dt, "year")) {
        t->cls = CC_YEAR;
        t->min_i = 1901;
        t->max_u = 2155;
    }
}

uint64_t conv_text_chars(const char *charset, const char *p, uint32_t len)
{
    if (!charset || strncmp(charset, "utf8", 4) == 0) {
        uint64_t n = 0;
        for (uint32_t i = 0; i < len; i++)
            if (((uint8_t)p[i] & 0xC0) != 0x80) n++;
        return n;
    }
    if (strcmp(charset, "ucs2") == 0 || strcmp(charset, "utf16") == 0 ||
        strcmp(charset, "utf16le") == 0)
        return len / 2; /* surrogate pairs count twice: a safe over-estimate */
    if (strcmp(charset, "utf32") == 0) return len / 4;
    return len;
}

/* conv__text_cut returns how many bytes of p hold its first n characters. */
static uint32_t conv__text_cut(const char *charset, const char *p, uint32_t len, uint64_t n)
{
    if (!charset || strncmp(charset, "utf8", 4) == 0) {
        uint64_t seen = 0;
        for (uint32_t i = 0; i < len; i++) {
            if (((uint8_t)p[i] & 0xC0) != 0x80) {
                if (seen == n) return i;
                seen++;
            }
        }
        return len;
    }
    uint64_t w = 1;
    if (strcmp(charset, "ucs2") == 0 || strncmp(charset, "utf16", 5) == 0) w = 2;
    if (strcmp(charset, "utf32") == 0) w = 4;
    return n * w < len ? (uint32_t)(n * w) : len;
}

static void conv__set_text(cot_value *out, uint8_t kind, const char *p, size_t len, arena *mem)
{
    out->kind = kind;
    out->s.p = arena_memdup(mem, p, len ? len : 1);
    out->s.len = (uint32_t)len;
}

/* A decimal number split in parts: sign, integer digits (no leading
 * zeros), fraction digits. Views into the text parsed. */
typedef struct conv_dec {
    bool neg;
    const char *ip;
    uint32_t il;
    const char *fp;
    uint32_t fl;
} conv_dec;

/* conv__dec_parse reads [ws][+-]digits[.digits][ws]; false if not that. */
static bool conv__dec_parse(const char *p, uint32_t len, conv_dec *d)
{
    memset(d, 0, sizeof(*d));
    uint32_t i = 0, digits = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
    if (i < len && (p[i] == '-' || p[i] == '+')) d->neg = p[i++] == '-';
    while (i < len && p[i] == '0' && i + 1 < len && p[i + 1] >= '0' && p[i + 1] <= '9') {
        i++;
        digits++;
    }
    d->ip = p + i;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        i++;
        d->il++;
    }
    digits += d->il;
    if (d->il == 1 && d->ip[0] == '0') d->il = 0; /* "0" and "0.5": no integer digits */
    if (i < len && p[i] == '.') {
        i++;
        d->fp = p + i;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
            d->fl++;
        }
        digits += d->fl;
    }
    while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
    return digits > 0 && i == len;
}

/* conv__dec_round writes d rounded half away from zero to scale fraction
 * digits into out ("-123.45", "0.00"); returns the integer digits of the
 * result (0 for "0.xx"). */
static uint32_t conv__dec_round(const conv_dec *d, uint32_t scale, buf *out)
{
    buf_reset(out);
    /* digits of |d| scaled: integer digits, then scale fraction digits */
    buf_putc(out, '0'); /* room for a carry */
    buf_append(out, d->ip, d->il);
    for (uint32_t k = 0; k < scale; k++) buf_putc(out, k < d->fl ? d->fp[k] : '0');
    if (d->fl > scale && d->fp[scale] >= '5') {
        size_t k = out->len;
        while (k-- > 0) {
            if (out->data[k] == '9') {
                out->data[k] = '0';
            } else {
                out->data[k]++;
                break;
            }
        }
    }
    /* strip leading zeros of the integer part, keep at least one digit */
    size_t int_len = out->len - scale, start = 0;
    while (start + 1 < int_len && out->data[start] == '0') start++;
    uint32_t int_digits = (uint32_t)(int_len - start);
    if (int_digits == 1 && out->data[start] == '0') int_digits = 0;
    bool zero = true;
    for (size_t k = start; k < out->len; k++)
        if (out->data[k] != '0') zero = false;
    buf tmp;
    buf_init(&tmp);
    if (d->neg && !zero) buf_putc(&tmp, '-');
    buf_append(&tmp, out->data + start, int_len - start);
    if (scale) {
        buf_putc(&tmp, '.');
        buf_append(&tmp, out->data + int_len, scale);
    }
    buf_reset(out);
    buf_append(out, tmp.data, tmp.len);
    buf_deinit(&tmp);
    return int_digits;
}

/* conv__number_text renders a numeric value as text into b; false for a
 * kind that is not a number. */
static bool conv__number_text(const cot_value *v, buf *b)
{
    buf_reset(b);
    switch (v->kind) {
    case VK_INT:
        buf_i64(b, v->i);
        return true;
    case VK_UINT:
        buf_u64(b, v->u);
        return true;
    case VK_DECIMAL:
        buf_append(b, v->s.p, v->s.len);
        return true;
    case VK_FLOAT:
    case VK_DOUBLE: {
        if (!isfinite(v->d)) return false;
        /* the shortest text that reads back as the same value */
        for (int digits = v->kind == VK_FLOAT ? 6 : 15; digits <= 17; digits++) {
            buf_reset(b);
            buf_printf(b, "%.*g", digits, v->d);
            double back = strtod(b->data, NULL);
            if (v->kind == VK_FLOAT ? (float)back == (float)v->d : back == v->d) break;
        }
        return true;
    }
    default:
        return false;
    }
}

/* conv__parse_double reads text as a number (strtod, whole text); false if not one. */
static bool conv__parse_double(const char *p, uint32_t len, double *out)
{
    char tmp[128];
    if (len == 0 || len >= sizeof(tmp)) return false;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == tmp || *end || !isfinite(d)) return false;
    *out = d;
    return true;
}

static conv_result conv__int_from_double(const conv_target *t, double d, cot_value *out)
{
    long double r = roundl((long double)d);
    long double lo = (long double)t->min_i, hi = (long double)t->max_u;
    if (r < lo || r > hi) {
        if (r < lo) {
            out->kind = t->is_unsigned ? VK_UINT : VK_INT;
            if (t->is_unsigned)
                out->u = 0;
            else
                out->i = t->min_i;
        } else {
            out->kind = t->is_unsigned ? VK_UINT : VK_INT;
            if (t->is_unsigned)
                out->u = t->max_u;
            else
                out->i = (int64_t)t->max_u;
        }
        return CONV_OVERFLOW;
    }
    if (t->is_unsigned) {
        out->kind = VK_UINT;
        out->u = (uint64_t)r;
    } else {
        out->kind = VK_INT;
        out->i = (int64_t)r;
    }
    return CONV_CHANGED;
}

static conv_result conv__int(const conv_target *t, const cot_value *v, arena *mem, cot_value *out)
{
    (void)mem;
    switch (v->kind) {
    case VK_INT:
        if (v->i < t->min_i) {
            *out = *v;
            if (t->is_unsigned) {
                out->kind = VK_UINT;
                out->u = 0;
            } else {
                out->i = t->min_i;
            }
            return CONV_OVERFLOW;
        }
        if (v->i > 0 && (uint64_t)v->i > t->max_u) {
            out->kind = VK_INT;
            out->i = (int64_t)t->max_u;
            return CONV_OVERFLOW;
        }
        return CONV_SAME;
    case VK_UINT:
        if (v->u > t->max_u) {
            out->kind = VK_UINT;
            out->u = t->max_u;
            return CONV_OVERFLOW;
        }
        return CONV_SAME;
    case VK_FLOAT:
    case VK_DOUBLE:
        if (!isfinite(v->d)) return CONV_INVALID;
        return conv__int_from_double(t, v->d, out);
    case VK_DECIMAL:
    case VK_STRING: {
        conv_dec dec;
        double d;
        if (!conv__dec_parse(v->s.p, v->s.len, &dec)) {
            if (v->kind == VK_STRING && conv__parse_double(v->s.p, v->s.len, &d))
                return conv__int_from_double(t, d, out);
            return CONV_INVALID;
        }
        long double ld;
        if (dec.il > 20) {
            ld = dec.neg ? -1e30L : 1e30L; /* beyond any 64-bit bound */
        } else {
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "%.*s", (int)dec.il, dec.il ? dec.ip : "0");
            ld = strtold(tmp, NULL); /* exact below 2^64: 64-bit mantissa */
            if (dec.fl && dec.fp[0] >= '5') ld += 1.0L;
            if (dec.neg) ld = -ld;
        }
        if (ld < (long double)t->min_i || ld > (long double)t->max_u)
            return conv__int_from_double(t, (double)ld, out);
        if (t->is_unsigned) {
            out->kind = VK_UINT;
            out->u = (uint64_t)ld;
        } else {
            out->kind = VK_INT;
            out->i = (int64_t)ld;
        }
        return CONV_CHANGED;
    }
    default:
        return CONV_SAME; /* ENUM, SET, BIT, temporal: the server's rules */
    }
}

static conv_result conv__decimal(const conv_target *t, const cot_value *v, arena *mem,
                                 cot_value *out)
{
    char tmp[512];
    const char *p;
    uint32_t len;
    switch (v->kind) {
    case VK_INT:
    case VK_UINT:
        if (v->kind == VK_INT)
            snprintf(tmp, sizeof(tmp), "%lld", (long long)v->i);
        else
            snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v->u);
        p = tmp;
        len = (uint32_t)strlen(tmp);
        break;
    case VK_FLOAT:
    case VK_DOUBLE:
        if (!isfinite(v->d)) return CONV_INVALID;
        if (fabs(v->d) >= 1e300) {
            snprintf(tmp, sizeof(tmp), "%s1%0300d", v->d < 0 ? "-" : "", 0);
        } else {
            snprintf(tmp, sizeof(tmp), "%.*f", (int)(t->scale + 1 < 60 ? t->scale + 1 : 60), v->d);
        }
        p = tmp;
        len = (uint32_t)strlen(tmp);
        break;
    case VK_DECIMAL:
    case VK_STRING:
        p = v->s.p;
        len = v->s.len;
        break;
    default:
        return CONV_SAME;
    }
    conv_dec d;
    if (!conv__dec_parse(p, len, &d)) {
        double dd;
        if (v->kind != VK_STRING || !conv__parse_double(p, len, &dd)) return CONV_INVALID;
        snprintf(tmp, sizeof(tmp), "%.*f", (int)(t->scale + 1 < 60 ? t->scale + 1 : 60), dd);
        p = tmp;
        len = (uint32_t)strlen(tmp);
        if (!conv__dec_parse(p, len, &d)) return CONV_INVALID;
    }
    buf b;
    buf_init(&b);
    uint32_t int_digits = conv__dec_round(&d, t->scale, &b);
    uint32_t max_int = t->prec > t->scale ? t->prec - t->scale : 0;
    bool neg = b.data[0] == '-';
    conv_result res;
    if (int_digits > max_int || (neg && t->is_unsigned)) {
        buf_reset(&b);
        if (neg && t->is_unsigned) {
            buf_putc(&b, '0');
            if (t->scale) buf_putc(&b, '.');
            for (uint32_t k = 0; k < t->scale; k++) buf_putc(&b, '0');
        } else {
            if (neg) buf_putc(&b, '-');
            for (uint32_t k = 0; k < max_int; k++) buf_putc(&b, '9');
            if (!max_int) buf_putc(&b, '0');
            if (t->scale) buf_putc(&b, '.');
            for (uint32_t k = 0; k < t->scale; k++) buf_putc(&b, '9');
        }
        res = CONV_OVERFLOW;
    } else if (v->kind == VK_DECIMAL && b.len == v->s.len && memcmp(b.data, v->s.p, b.len) == 0) {
        res = CONV_SAME;
    } else {
        res = CONV_CHANGED;
    }
    if (res != CONV_SAME) conv__set_text(out, VK_DECIMAL, b.data, b.len, mem);
    buf_deinit(&b);
    return res;
}

static conv_result conv__float(const conv_target *t, const cot_value *v, cot_value *out)
{
    double d;
    if (v->kind == VK_STRING) {
        if (!conv__parse_double(v->s.p, v->s.len, &d)) return CONV_INVALID;
        out->kind = VK_DOUBLE;
        out->d = d;
    } else if (v->kind == VK_DOUBLE || v->kind == VK_FLOAT) {
        d = v->d;
    } else {
        return CONV_SAME;
    }
    if (t->cls == CC_FLOAT && isfinite(d) && fabs(d) > FLT_MAX) {
        out->kind = VK_DOUBLE;
        out->d = d < 0 ? -FLT_MAX : FLT_MAX;
        return CONV_OVERFLOW;
    }
    return v->kind == VK_STRING ? CONV_CHANGED : CONV_SAME;
}

/* conv__set_names writes the member names of a SET bitmask, comma-separated. */
static bool conv__set_names(const cot_column *col, uint64_t bits, buf *b)
{
    buf_reset(b);
    if (!col->members) return false;
    for (uint32_t k = 0; k < col->n_members && k < 64; k++) {
        if (!(bits & (UINT64_C(1) << k))) continue;
        if (b->len) buf_putc(b, ',');
        buf_puts(b, col->members[k]);
    }
    return true;
}

static conv_result conv__text(const conv_target *t, const cot_column *col, const cot_value *v,
                              arena *mem, cot_value *out)
{
    buf b;
    buf_init(&b);
    const char *p = NULL;
    uint32_t len = 0;
    const char *cs = col ? col->charset : NULL;
    bool changed = false;
    conv_result res = CONV_SAME;
    uint8_t kind = v->kind;
    switch (v->kind) {
    case VK_STRING:
    case VK_BINARY:
    case VK_JSON:
    case VK_TEMPORAL:
        p = v->s.p;
        len = v->s.len;
        if (v->kind == VK_BINARY) cs = "binary";
        if (v->kind == VK_JSON || v->kind == VK_TEMPORAL) cs = "utf8mb4";
        break;
    case VK_INT:
    case VK_UINT:
    case VK_DECIMAL:
    case VK_FLOAT:
    case VK_DOUBLE:
        if (!conv__number_text(v, &b)) {
            res = CONV_INVALID;
            goto done;
        }
        p = b.data;
        len = (uint32_t)b.len;
        cs = "utf8mb4";
        kind = VK_STRING;
        changed = true;
        break;
    case VK_ENUM:
        if (t->cls == CC_BINARY) goto done;
        if (v->u == 0) {
            p = "";
        } else if (col && col->members && v->u <= col->n_members) {
            p = col->members[v->u - 1];
        } else {
            res = CONV_INVALID;
            goto done;
        }
        len = (uint32_t)strlen(p);
        kind = VK_STRING;
        changed = true;
        break;
    case VK_SET:
        if (t->cls == CC_BINARY) goto done;
        if (!col || !conv__set_names(col, v->u, &b)) {
            res = CONV_INVALID;
            goto done;
        }
        p = b.data ? b.data : "";
        len = (uint32_t)b.len;
        kind = VK_STRING;
        changed = true;
        break;
    default:
        goto done;
    }
    if (kind == VK_TEMPORAL && t->cls != CC_BINARY) kind = VK_STRING;
    /* bytes bound characters from above: count only when the bytes do not fit */
    uint64_t size = t->cls == CC_CHAR && len > t->max_len ? conv_text_chars(cs, p, len) : len;
    if (t->max_len && size > t->max_len) {
        uint32_t cut =
            t->cls == CC_CHAR ? conv__text_cut(cs, p, len, t->max_len) : (uint32_t)t->max_len;
        conv__set_text(out, kind, p, cut, mem);
        res = CONV_OVERFLOW;
    } else if (changed) {
        conv__set_text(out, kind, p, len, mem);
        res = CONV_CHANGED;
    }
done:
    buf_deinit(&b);
    return res;
}

static conv_result conv__temporal(const conv_target *t, const cot_value *v, arena *mem,
                                  cot_value *out)
{
    if (v->kind != VK_TEMPORAL) return CONV_SAME;
    const char *p = v->s.p;
    uint32_t len = v->s.len;
    bool dated = len >= 10 && p[4] == '-' && p[7] == '-';
    if (!dated) return CONV_SAME; /* a TIME: the server's rules */
    if (t->cls == CC_DATE) {
        if (len == 10) return CONV_SAME;
        conv__set_text(out, VK_TEMPORAL, p, 10, mem);
        return CONV_CHANGED;
    }
    /* fraction digits beyond the target's precision are cut (as MariaDB does) */
    uint32_t keep = len;
    const char *dot = len > 19 ? memchr(p + 19, '.', len - 19) : NULL;
    if (dot) {
        uint32_t frac = (uint32_t)(len - (uint32_t)(dot - p) - 1);
        if (frac > t->prec) keep = (uint32_t)(dot - p) + (t->prec ? 1 + t->prec : 0);
    }
    if (t->cls == CC_TIMESTAMP) {
        char full[20];
        if (len >= 19)
            memcpy(full, p, 19);
        else {
            memcpy(full, p, 10);
            memcpy(full + 10, " 00:00:00", 9);
        }
        full[19] = '\0';
        if (strcmp(full, "0000-00-00 00:00:00") != 0) {
            if (strcmp(full, TS_MIN) < 0) {
                conv__set_text(out, VK_TEMPORAL, TS_MIN, strlen(TS_MIN), mem);
                return CONV_OVERFLOW;
            }
            if (strcmp(full, TS_MAX) > 0) {
                conv__set_text(out, VK_TEMPORAL, TS_MAX, strlen(TS_MAX), mem);
                return CONV_OVERFLOW;
            }
        }
    }
    if (keep == len) return CONV_SAME;
    conv__set_text(out, VK_TEMPORAL, p, keep, mem);
    return CONV_CHANGED;
}

conv_result conv_value(const conv_target *t, const cot_column *col, const cot_value *v, arena *mem,
                       cot_value *out)
{
    *out = *v;
    if (v->kind == VK_ABSENT || v->kind == VK_NULL) return CONV_SAME;
    switch (t->cls) {
    case CC_INT:
        return conv__int(t, v, mem, out);
    case CC_YEAR:
        if (v->kind == VK_INT && v->i != 0 && (v->i < t->min_i || v->i > (int64_t)t->max_u)) {
            out->i = v->i < t->min_i ? t->min_i : (int64_t)t->max_u;
            return CONV_OVERFLOW;
        }
        return CONV_SAME;
    case CC_DECIMAL:
        return conv__decimal(t, v, mem, out);
    case CC_FLOAT:
    case CC_DOUBLE:
        return conv__float(t, v, out);
    case CC_CHAR:
    case CC_TEXT:
    case CC_BINARY:
        return conv__text(t, col, v, mem, out);
    case CC_DATE:
    case CC_DATETIME:
    case CC_TIMESTAMP:
        return conv__temporal(t, v, mem, out);
    default:
        return CONV_SAME;
    }
}

/* ---- plans -------------------------------------------------------------- */

typedef struct conv_entry {
    struct conv_entry *next;
    const sql_tdesc *td;
    /* target facts, by target column index (names / types owned) */
    conv_target *targets;
    uint32_t n_targets;
    char **strs;
    uint32_t n_strs;
    /* plan for td->map_tbl */
    const cot_table *tbl;
    conv_target **src_t; /* per source column: its target column, NULL = no check */
    uint8_t *logged;     /* per source column: clamp / null already logged */
    bool any_check;
    const cfg_table_map *tm;
    int on_overflow;
    sink_conv_policy pol;
} conv_entry;

struct sink_conv {
    char *pipeline;
    char *target;
    bool dry_run;
    conv_entry *buckets[PLAN_BUCKETS];
    conv_entry *last;
    arena mem;      /* the converted change of the last call */
    cot_change chg; /* that change */
    buf scratch;    /* messages */
    sink_policy_counts batch;
};

sink_conv *sink_conv_new(const char *pipeline, const char *target, bool dry_run)
{
    sink_conv *cv = xcalloc(1, sizeof(*cv));
    cv->pipeline = xstrdup(pipeline);
    cv->target = xstrdup(target);
    cv->dry_run = dry_run;
    arena_init(&cv->mem);
    buf_init(&cv->scratch);
    return cv;
}

static void conv__entry_unplan(conv_entry *e)
{
    free(e->src_t);
    free(e->logged);
    e->src_t = NULL;
    e->logged = NULL;
    e->tbl = NULL;
    e->any_check = false;
}

static void conv__entry_free(conv_entry *e)
{
    conv__entry_unplan(e);
    for (uint32_t i = 0; i < e->n_strs; i++) free(e->strs[i]);
    free(e->strs);
    free(e->targets);
    free(e);
}

void sink_conv_free(sink_conv *cv)
{
    if (!cv) return;
    for (uint32_t b = 0; b < PLAN_BUCKETS; b++) {
        while (cv->buckets[b]) {
            conv_entry *e = cv->buckets[b];
            cv->buckets[b] = e->next;
            conv__entry_free(e);
        }
    }
    arena_deinit(&cv->mem);
    buf_deinit(&cv->scratch);
    free(cv->pipeline);
    free(cv->target);
    free(cv);
}

bool sink_conv_needs_tables(const sink_conv *cv)
{
    bool need = false;
    pthread_mutex_lock(&reg_mu);
    policy_reg *r = policy__find(cv->pipeline);
    const cfg_pipeline *pc = r ? r->pc : NULL;
    if (pc && pc->on_error_skip) need = true; /* dead letters of refused rows */
    for (int i = 0; pc && i < pc->n_tables; i++)
        if (pc->tables[i].on_overflow == CFG_OVERFLOW_SKIP_ROW ||
            pc->tables[i].conflict != CFG_CONFLICT_SOURCE_WINS)
            need = true;
    pthread_mutex_unlock(&reg_mu);
    return need;
}

static uint32_t conv__hash(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(x >> 40) & (PLAN_BUCKETS - 1);
}

static conv_entry *conv__find(sink_conv *cv, const sql_tdesc *td)
{
    if (cv->last && cv->last->td == td) return cv->last;
    for (conv_entry *e = cv->buckets[conv__hash(td)]; e; e = e->next)
        if (e->td == td) return cv->last = e;
    return NULL;
}

void sink_conv_forget(sink_conv *cv, const sql_tdesc *td)
{
    if (!cv) return;
    conv_entry **pp = &cv->buckets[conv__hash(td)];
    while (*pp && (*pp)->td != td) pp = &(*pp)->next;
    if (!*pp) return;
    conv_entry *e = *pp;
    *pp = e->next;
    if (cv->last == e) cv->last = NULL;
    conv__entry_free(e);
}

static char *conv__keep(conv_entry *e, const char *s, uint32_t *cap)
{
    if (e->n_strs == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        char **n = realloc(e->strs, *cap * sizeof(char *));
        if (!n) abort();
        e->strs = n;
    }
    return e->strs[e->n_strs++] = xstrdup(s);
}

static void conv__escape(MYSQL *my, buf *b, const char *s)
{
    mysql_conn_put_string(my, b, s, strlen(s));
}

static uint64_t conv__u64(const char *s)
{
    if (!s) return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    return errno || *end ? 0 : (uint64_t)v;
}

/* conv__describe reads td's column facts from information_schema into e. */
static cot_err conv__describe(sink_conv *cv, MYSQL *my, const sql_tdesc *td, conv_entry *e)
{
    buf *q = &cv->scratch;
    buf_reset(q);
    buf_puts(q, "SELECT COLUMN_NAME, LOWER(DATA_TYPE), CHARACTER_MAXIMUM_LENGTH, "
                "CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, "
                "LOWER(COLUMN_TYPE), IS_NULLABLE FROM information_schema.COLUMNS WHERE "
                "TABLE_SCHEMA=");
    conv__escape(my, q, td->schema);
    buf_puts(q, " AND TABLE_NAME=");
    conv__escape(my, q, td->name);
    MYSQL_RES *res = NULL;
    if (mysql_real_query(my, q->data, (unsigned long)q->len) != 0 ||
        !(res = mysql_store_result(my)))
        return mysql_conn_error(my, "target '%s': reading the column types of %s.%s", cv->target,
                                td->schema, td->name);
    e->n_targets = td->n_cols;
    e->targets = xcalloc(td->n_cols, sizeof(conv_target));
    uint32_t cap = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1]) continue;
        int c = sql_tdesc_col_find(td, row[0]);
        if (c < 0) continue; /* added since the description was read: not mapped */
        const char *name = conv__keep(e, row[0], &cap);
        const char *dt = conv__keep(e, row[1], &cap);
        bool is_unsigned = row[7] && strstr(row[7], "unsigned") != NULL;
        bool nullable = row[8] && strcasecmp(row[8], "YES") == 0;
        conv_target_init(&e->targets[c], name, dt, is_unsigned, nullable, conv__u64(row[2]),
                         conv__u64(row[3]), (uint32_t)conv__u64(row[4]),
                         (uint32_t)conv__u64(row[5]), (uint32_t)conv__u64(row[6]));
    }
    mysql_free_result(res);
    return COT_OK;
}

cot_err sink_conv_map(sink_conv *cv, MYSQL *my, const sql_tdesc *td, const cot_table *tbl)
{
    conv_entry *e = conv__find(cv, td);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        e->td = td;
        cot_err rc = conv__describe(cv, my, td, e);
        if (rc) {
            conv__entry_free(e);
            return rc;
        }
        uint32_t h = conv__hash(td);
        e->next = cv->buckets[h];
        cv->buckets[h] = e;
        cv->last = e;
    }
    conv__entry_unplan(e);
    e->tm = sink_policy_mapping(cv->pipeline, tbl->src_schema, tbl->src_name);
    e->on_overflow = e->tm ? e->tm->on_overflow : CFG_OVERFLOW_STOP;
    e->src_t = xcalloc(tbl->n_cols, sizeof(conv_target *));
    e->logged = xcalloc(tbl->n_cols, 1);
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (!td->map || (td->src_flags[i] & SQL_SRC_SKIP) || td->map[i] >= e->n_targets) continue;
        conv_target *t = &e->targets[td->map[i]];
        if (t->cls == CC_OTHER) continue;
        e->src_t[i] = t;
        e->any_check = true;
    }
    memset(&e->pol, 0, sizeof(e->pol));
    e->pol.conflict = e->tm ? e->tm->conflict : CFG_CONFLICT_SOURCE_WINS;
    e->pol.tm = e->tm;
    e->pol.pipeline = cv->pipeline;
    e->pol.target = cv->target;
    e->pol.dry_run = cv->dry_run;
    if (e->pol.conflict == CFG_CONFLICT_LATEST_WINS) {
        const char *col = e->tm->conflict_column;
        uint32_t i = 0;
        while (i < tbl->n_cols && !(tbl->cols[i].name && strcasecmp(tbl->cols[i].name, col) == 0))
            i++;
        if (i == tbl->n_cols || !td->map || (td->src_flags[i] & SQL_SRC_SKIP)) {
            conv__entry_unplan(e);
            return cot_err_set(COT_ERR_SCHEMA,
                               "target '%s': mapping %s (line %d) says conflict: latest_wins on "
                               "column '%s', but source %s.%s / target %s.%s has no such stored "
                               "column; fix conflict_column or add the column on both sides",
                               cv->target, e->tm->match, e->tm->line, col, tbl->src_schema,
                               tbl->src_name, td->schema, td->name);
        }
        e->pol.conflict_src = i;
        e->pol.conflict_tgt = td->map[i];
    }
    e->tbl = tbl;
    return COT_OK;
}

bool sink_conv_same(sink_conv *cv, const sql_tdesc *td, const cot_change *ch)
{
    conv_entry *e = cv ? conv__find(cv, td) : NULL;
    if (!e || !e->any_check || e->tbl != ch->tbl) return true; /* as sink_conv_change */
    const cot_table *tbl = ch->tbl;
    arena_reset(&cv->mem);
    for (int side = 0; side < 2; side++) {
        const cot_value *img = side == 0 ? ch->before : ch->after;
        if (!img) continue;
        for (uint32_t i = 0; i < tbl->n_cols; i++) {
            cot_value nv;
            if (e->src_t[i] &&
                conv_value(e->src_t[i], &tbl->cols[i], &img[i], &cv->mem, &nv) != CONV_SAME)
                return false;
        }
    }
    return true;
}

const sink_conv_policy *sink_conv_policy_of(sink_conv *cv, const sql_tdesc *td)
{
    conv_entry *e = conv__find(cv, td);
    if (!e || !e->tbl || e->pol.conflict == CFG_CONFLICT_SOURCE_WINS) return NULL;
    return &e->pol;
}

void sink_conv_count_conflict(sink_conv *cv)
{
    cv->batch.conflicts++;
}

void sink_conv_count_missing(sink_conv *cv, uint64_t n)
{
    cv->batch.missing += n;
}

void sink_conv_batch_end(sink_conv *cv, bool committed)
{
    if (committed && !cv->dry_run) policy__counts_add(cv->pipeline, &cv->batch);
    memset(&cv->batch, 0, sizeof(cv->batch));
}

/* conv__show appends v for a message: numbers as they are, text quoted and
 * cut at VALUE_SHOWN bytes. */
static void conv__show(buf *b, const cot_value *v, const cot_column *col)
{
    switch (v->kind) {
    case VK_NULL:
        buf_puts(b, "NULL");
        return;
    case VK_INT:
        buf_i64(b, v->i);
        return;
    case VK_UINT:
    case VK_BIT:
    case VK_SET:
        buf_u64(b, v->u);
        return;
    case VK_ENUM:
        if (col && col->members && v->u >= 1 && v->u <= col->n_members)
            buf_printf(b, "'%s'", col->members[v->u - 1]);
        else
            buf_u64(b, v->u);
        return;
    case VK_FLOAT:
    case VK_DOUBLE:
        buf_printf(b, "%.17g", v->d);
        return;
    case VK_DECIMAL:
        buf_append(b, v->s.p, v->s.len > VALUE_SHOWN ? VALUE_SHOWN : v->s.len);
        return;
    case VK_BINARY:
    case VK_GEOMETRY:
        buf_printf(b, "(%u bytes)", v->s.len);
        return;
    default: {
        uint32_t n = v->s.len > VALUE_SHOWN ? VALUE_SHOWN : v->s.len;
        buf_putc(b, '\'');
        for (uint32_t k = 0; k < n; k++) {
            char c = v->s.p[k];
            buf_putc(b, c >= 0x20 && c != 0x7f ? c : '?');
        }
        buf_puts(b, v->s.len > VALUE_SHOWN ? "'..." : "'");
        buf_printf(b, " (%u bytes)", v->s.len);
        return;
    }
    }
}

/* conv__key_text appends "k1=v1, k2=v2" of img to b ("(no key)" without one). */
static void conv__key_text(buf *b, const sql_tdesc *td, const cot_table *tbl, const cot_value *img)
{
    if (!td->n_key || !td->key_src) {
        buf_puts(b, "(table has no key)");
        return;
    }
    for (uint32_t k = 0; k < td->n_key; k++) {
        uint32_t i = td->key_src[k];
        if (k) buf_puts(b, ", ");
        buf_puts(b, tbl->cols[i].name ? tbl->cols[i].name : "?");
        buf_putc(b, '=');
        conv__show(b, &img[i], &tbl->cols[i]);
    }
}

static const char *conv__class_word(const conv_target *t, char *out, size_t cap)
{
    switch (t->cls) {
    case CC_INT:
        if (t->is_unsigned)
            snprintf(out, cap, "%s unsigned (0..%llu)", t->data_type, (unsigned long long)t->max_u);
        else
            snprintf(out, cap, "%s (%lld..%llu)", t->data_type, (long long)t->min_i,
                     (unsigned long long)t->max_u);
        break;
    case CC_DECIMAL:
        snprintf(out, cap, "decimal(%u,%u)%s", t->prec, t->scale,
                 t->is_unsigned ? " unsigned" : "");
        break;
    case CC_CHAR:
        snprintf(out, cap, "%s(%llu) (characters)", t->data_type, (unsigned long long)t->max_len);
        break;
    case CC_TEXT:
    case CC_BINARY:
        snprintf(out, cap, "%s (at most %llu bytes)", t->data_type, (unsigned long long)t->max_len);
        break;
    case CC_TIMESTAMP:
        snprintf(out, cap, "timestamp (" TS_MIN " .. " TS_MAX " UTC)");
        break;
    case CC_YEAR:
        snprintf(out, cap, "year (1901..2155)");
        break;
    default:
        snprintf(out, cap, "%s", t->data_type);
        break;
    }
    return out;
}

/* conv__explain writes what cannot fit and where into b. */
static void conv__explain(sink_conv *cv, buf *b, const conv_entry *e, const cot_change *ch,
                          const cot_value *img, uint32_t i, conv_result r, const char *extra)
{
    const sql_tdesc *td = e->td;
    const cot_table *tbl = ch->tbl;
    const conv_target *t = e->src_t[i];
    char ty[160];
    buf_reset(b);
    buf_printf(b, "target '%s': table %s.%s (source %s.%s), column `%s`, %s row with key ",
               cv->target, td->schema, td->name, tbl->src_schema, tbl->src_name, t->name,
               cot_op_name((cot_op)ch->op));
    conv__key_text(b, td, tbl, img);
    buf_puts(b, ": value ");
    conv__show(b, &img[i], &tbl->cols[i]);
    if (r == CONV_INVALID)
        buf_printf(b, " cannot be converted to %s", conv__class_word(t, ty, sizeof(ty)));
    else
        buf_printf(b, " does not fit %s", conv__class_word(t, ty, sizeof(ty)));
    if (extra) buf_puts(b, extra);
}

cot_err sink_conv_change(sink_conv *cv, const sql_tdesc *td, const cot_change *ch,
                         const cot_change **out, bool *skip, char *reason, size_t cap)
{
    *out = ch;
    *skip = false;
    if (reason && cap) reason[0] = '\0';
    conv_entry *e = conv__find(cv, td);
    if (!e || !e->any_check || e->tbl != ch->tbl) return COT_OK;
    const cot_table *tbl = ch->tbl;
    arena_reset(&cv->mem);
    bool copied = false;
    for (int side = 0; side < 2; side++) {
        const cot_value *img = side == 0 ? ch->before : ch->after;
        if (!img) continue;
        for (uint32_t i = 0; i < tbl->n_cols; i++) {
            const conv_target *t = e->src_t[i];
            if (!t) continue;
            cot_value nv;
            conv_result r = conv_value(t, &tbl->cols[i], &img[i], &cv->mem, &nv);
            if (r == CONV_SAME) continue;
            if (r == CONV_OVERFLOW || r == CONV_INVALID) {
                bool is_key = false;
                for (uint32_t k = 0; k < td->n_key && td->key_src; k++)
                    if (td->key_src[k] == i) is_key = true;
                int pol = e->on_overflow;
                if (pol == CFG_OVERFLOW_CLAMP && (r == CONV_INVALID || is_key)) {
                    /* two keys clamped to one would overwrite a different row */
                    conv__explain(cv, &cv->scratch, e, ch, img, i, r, NULL);
                    return cot_err_set(COT_ERR_SQL,
                                       "%s, and on_overflow: clamp cannot %s; widen the column "
                                       "on the target or use on_overflow: skip_row",
                                       cv->scratch.data,
                                       is_key ? "change a key value (two rows would collide)"
                                              : "make a number of it");
                }
                if (pol == CFG_OVERFLOW_NULL && (!t->nullable || is_key)) {
                    conv__explain(cv, &cv->scratch, e, ch, img, i, r, NULL);
                    return cot_err_set(COT_ERR_SQL,
                                       "%s, and on_overflow: null cannot store NULL in a %s "
                                       "column; widen the column on the target or use "
                                       "on_overflow: clamp or skip_row",
                                       cv->scratch.data, is_key ? "key" : "NOT NULL");
                }
                if (pol == CFG_OVERFLOW_STOP) {
                    conv__explain(cv, &cv->scratch, e, ch, img, i, r, NULL);
                    return cot_err_set(
                        COT_ERR_SQL,
                        "%s; widen the column on the target, or set on_overflow: clamp | null | "
                        "skip_row on the mapping %s%s%s",
                        cv->scratch.data, e->tm ? "'" : "", e->tm ? e->tm->match : "of the table",
                        e->tm ? "'" : "");
                }
                if (pol == CFG_OVERFLOW_SKIP_ROW) {
                    conv__explain(cv, &cv->scratch, e, ch, img, i, r, " (on_overflow: skip_row)");
                    if (reason && cap) snprintf(reason, cap, "%s", cv->scratch.data);
                    cv->batch.skipped++;
                    *skip = true;
                    *out = ch;
                    return COT_OK;
                }
                if (!e->logged[i]) {
                    e->logged[i] = 1;
                    conv__explain(cv, &cv->scratch, e, ch, img, i, r, NULL);
                    LOG_W(TAG, "%s: stored as %s (on_overflow: %s; logged once per column)",
                          cv->scratch.data, pol == CFG_OVERFLOW_NULL ? "NULL" : "the nearest value",
                          pol == CFG_OVERFLOW_NULL ? "null" : "clamp");
                }
                if (pol == CFG_OVERFLOW_NULL) {
                    nv.kind = VK_NULL;
                    cv->batch.nulled++;
                } else {
                    cv->batch.clamped++;
                }
            }
            if (!copied) {
                cv->chg = *ch;
                if (ch->before) {
                    cot_value *b = arena_alloc(&cv->mem, tbl->n_cols * sizeof(cot_value));
                    memcpy(b, ch->before, tbl->n_cols * sizeof(cot_value));
                    cv->chg.before = b;
                }
                if (ch->after) {
                    cot_value *a = arena_alloc(&cv->mem, tbl->n_cols * sizeof(cot_value));
                    memcpy(a, ch->after, tbl->n_cols * sizeof(cot_value));
                    cv->chg.after = a;
                }
                copied = true;
            }
            (side == 0 ? cv->chg.before : cv->chg.after)[i] = nv;
        }
    }
    if (copied) *out = &cv->chg;
    return COT_OK;
}
