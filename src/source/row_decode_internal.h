/*
 * Helpers shared by the binlog event parsers, the row decoder and the JSON
 * binary converter: event body framing, MariaDB zlib inflation, the binary
 * DECIMAL format and temporal text rendering. Internal to src/source; pure
 * functions, no globals, callable from any thread.
 */
#ifndef COT_ROW_DECODE_INTERNAL_H
#define COT_ROW_DECODE_INTERNAL_H

#include "source/binlog_event.h"
#include "util/arena.h"
#include "util/cursor.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest DECIMAL text: sign, 65 digits, point, a leading "0". */
#define BINLOG_DECIMAL_TEXT_MAX 72

/* binlog__body checks the common header of ev (event_size == len, at least
 * the FDE's header length) and returns a cursor over the body: after the
 * common header, before the CRC32 trailer when the FDE says there is one.
 * Sets the error message (naming `what`) and returns COT_ERR_MALFORMED on a
 * short or inconsistent event. */
cot_err binlog__body(const binlog_fde *fde, const uint8_t *ev, size_t len, const char *what,
                     cur *body);

/* binlog__crc32 continues a zlib-compatible CRC32 (start with 0) over n
 * bytes; uses carry-less multiplication where the CPU has it. */
uint32_t binlog__crc32(uint32_t crc, const uint8_t *p, size_t n);

/* binlog__post_header_len returns the post-header length the FDE gives for
 * an event type (defaults for types the FDE does not list). */
unsigned binlog__post_header_len(const binlog_fde *fde, uint8_t type);

/* binlog__inflate inflates a MariaDB compressed block (one header byte whose
 * low 3 bits are the number of big-endian length bytes that follow, then a
 * zlib stream) into a buffer allocated in a. On success *out / *out_len
 * describe the inflated bytes (owned by a). Returns COT_ERR_MALFORMED with
 * a message naming `what` when the block is not a valid stream of the
 * announced length, or announces more than max_out bytes (checked before
 * anything is allocated). */
cot_err binlog__inflate(const uint8_t *p, size_t n, size_t max_out, arena *a, const uint8_t **out,
                        size_t *out_len, const char *what);

/* binlog__string_real_type splits the TABLE_MAP metadata of a CT_STRING
 * column into its real type (CT_STRING, CT_ENUM or CT_SET) and, for CHAR,
 * the maximum byte length (for ENUM/SET: the storage size in bytes). */
uint8_t binlog__string_real_type(uint16_t meta, uint32_t *max_len);

/* binlog__decimal_size returns the byte size of a binary DECIMAL(precision,
 * scale), or -1 unless 1 <= precision <= 65 and 0 <= scale <= precision. */
int binlog__decimal_size(int precision, int scale);

/* binlog__decimal_text renders the binary DECIMAL at p (exactly
 * binlog__decimal_size bytes) as text with exactly `scale` fraction digits
 * into out (at least BINLOG_DECIMAL_TEXT_MAX bytes, not NUL-terminated).
 * Returns the text length, or 0 when a digit group is out of range. */
size_t binlog__decimal_text(const uint8_t *p, int precision, int scale, char *out);

/* binlog__fmt_date writes "YYYY-MM-DD" (10 bytes) at out; returns 10. */
size_t binlog__fmt_date(char *out, unsigned year, unsigned month, unsigned day);
/* binlog__fmt_hms writes "[-]HH:MM:SS" (hours at least 2 digits) at out;
 * returns the length (at most 12). */
size_t binlog__fmt_hms(char *out, bool neg, unsigned hours, unsigned minute, unsigned second);
/* binlog__fmt_frac writes "." and the first fsp digits of usec (0..999999)
 * at out when fsp > 0; returns the length (0 or fsp + 1). */
size_t binlog__fmt_frac(char *out, unsigned usec, unsigned fsp);

/* binlog__packed_temporal_text renders a MySQL "packed" temporal (as used by
 * JSON opaque DATETIME/TIMESTAMP/DATE/TIME values) into out (>= 40 bytes)
 * with 6 fraction digits (none for DATE). Returns the length. */
size_t binlog__packed_temporal_text(uint8_t field_type, int64_t packed, char *out);

#endif
