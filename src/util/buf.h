/*
 * A growable byte buffer used to build SQL statements and text values.
 * Owns its memory; buf_deinit frees it. Allocation failure aborts (the
 * process cannot do anything useful without memory for a statement).
 */
#ifndef COT_BUF_H
#define COT_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data; /* always NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
} buf;

void buf_init(buf *b);
void buf_deinit(buf *b);
void buf_reset(buf *b);
void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *data, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_u64 / buf_i64 append an integer in decimal, without printf (values
 * are most of what the decoder printer and the SQL builder write). */
void buf_u64(buf *b, uint64_t v);
void buf_i64(buf *b, int64_t v);
/* buf_hex appends n bytes as uppercase hex digits (no prefix). */
void buf_hex(buf *b, const uint8_t *data, size_t n);
/* buf_ident appends a MySQL identifier quoted with backticks. */
void buf_ident(buf *b, const char *name);

#endif
