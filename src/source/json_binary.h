/*
 * MySQL's binary JSON format (the row image of a JSON column on MySQL 5.7+)
 * converted to JSON text in MySQL's own rendering: ", " and ": "
 * separators, keys in stored order, DATETIME/TIME/DATE opaque values as
 * quoted strings, DECIMAL opaque values as numbers, other opaque values as
 * "base64:typeN:...". Pure and bounds-checked; nesting is limited so a
 * crafted value cannot exhaust the stack, offsets may not point back into a
 * container's header (no cycles), and the text is bounded so offsets that
 * share subtrees (a DAG whose text is exponential in its size) fail instead
 * of exhausting memory. MariaDB stores JSON as LONGTEXT, so this is only
 * used for MySQL sources.
 */
#ifndef COT_JSON_BINARY_H
#define COT_JSON_BINARY_H

#include "util/buf.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

/* JSON_BINARY_MAX_DEPTH is the deepest nesting accepted (MySQL allows 100). */
#define JSON_BINARY_MAX_DEPTH 128

/* JSON_BINARY_TEXT_RATIO bounds the text of a value to this many bytes per
 * byte of binary (plus JSON_BINARY_TEXT_SLACK). MySQL's own documents stay
 * under 6 (a control character in a string: 1 byte -> "\u0001"); only
 * entries sharing subtrees go past it. */
#define JSON_BINARY_TEXT_RATIO 16
#define JSON_BINARY_TEXT_SLACK 64

/* json_binary_to_text appends the text of the binary JSON value p[0..len)
 * to out (an empty value is the JSON null, as MySQL writes it). The text may
 * take at most max_text bytes (0: no bound but the ratio) and at most
 * JSON_BINARY_TEXT_RATIO * len + JSON_BINARY_TEXT_SLACK. Returns COT_OK, or
 * COT_ERR_MALFORMED with a message saying what is wrong and at which
 * offset; out may then hold a partial text (never much past the bound). */
cot_err json_binary_to_text(const uint8_t *p, size_t len, size_t max_text, buf *out);

#endif
