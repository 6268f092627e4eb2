/*
 * Growable byte buffer.
 */
#include "util/buf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_deinit(buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void buf_reserve(buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) abort();
    b->data = d;
    b->cap = cap;
    b->data[b->len] = '\0';
}

void buf_append(buf *b, const void *data, size_t n)
{
    buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(buf *b, char c)
{
    buf_append(b, &c, 1);
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void buf__decimal(buf *b, uint64_t magnitude, bool negative)
{
    char tmp[24];
    size_t n = sizeof(tmp);
    do {
        tmp[--n] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (negative) tmp[--n] = '-';
    buf_append(b, tmp + n, sizeof(tmp) - n);
}

void buf_u64(buf *b, uint64_t v)
{
    buf__decimal(b, v, false);
}

void buf_i64(buf *b, int64_t v)
{
    /* 0 - (uint64_t)v is the magnitude, also for INT64_MIN */
    buf__decimal(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

void buf_hex(buf *b, const uint8_t *data, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    buf_reserve(b, 2 * n);
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = digits[data[i] >> 4];
        o[2 * i + 1] = digits[data[i] & 15];
    }
    b->len += 2 * n;
    b->data[b->len] = '\0';
}

void buf_ident(buf *b, const char *name)
{
    buf_putc(b, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`') buf_putc(b, '`');
        buf_putc(b, *p);
    }
    buf_putc(b, '`');
}
