/*
 * The row filter of a mapping's `where:`: a MySQL-like boolean expression
 * compiled once at config load, bound to a table's column indexes when its
 * TABLE_MAP arrives, and evaluated on every row image by the extract stage.
 * Pure module: no I/O, no locks. A bound filter is read-only during
 * evaluation (intermediate text lives in a thread-local scratch), so
 * several threads may evaluate one filter at once; bind must not run
 * concurrently with eval.
 *
 * Language (keywords and function names case-insensitive):
 *   literals    42  -7  12.50  .5  1e3  'text' "text" ('' and \' escapes, \n \t \0 ...;
 *               adjacent literals concatenate)  TRUE FALSE NULL
 *   columns     status  `order`  (names resolved case-insensitively; reserved words
 *               such as NOT, IN, LIKE, MOD, DIV, INTERVAL, SELECT need backquotes)
 *   compare     = != <> < <= > >= <=>   IS [NOT] NULL|TRUE|FALSE|UNKNOWN
 *               [NOT] IN (a, b, ...)   [NOT] BETWEEN a AND b
 *               [NOT] LIKE pat [ESCAPE 'c']  (% any run, _ one character, \ escapes;
 *               ESCAPE takes one ASCII character)
 *   logic       AND && OR || XOR NOT !   (SQL three-valued logic; as in MySQL,
 *               NOT binds looser than comparisons and ! tighter: !a = b is (!a) = b)
 *   arithmetic  + - * / DIV % MOD, unary -, date +/- INTERVAL n unit
 *   functions   LOWER/LCASE UPPER/UCASE LENGTH/OCTET_LENGTH CHAR_LENGTH/CHARACTER_LENGTH
 *               CONCAT SUBSTRING/SUBSTR(s,pos[,len]) TRIM LTRIM RTRIM COALESCE IFNULL
 *               NULLIF IF ABS ROUND(x[,d]) FLOOR CEIL/CEILING MOD FIND_IN_SET(s, list)
 *               NOW()/CURRENT_TIMESTAMP
 *               CURDATE()/CURRENT_DATE DATE YEAR MONTH DAY/DAYOFMONTH HOUR MINUTE SECOND
 *               DATE_ADD/DATE_SUB(x, INTERVAL n SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)
 *               ADDDATE/SUBDATE(x, INTERVAL n unit | days)
 *   comments    "-- " and # to end of line, slash-star ... star-slash
 *
 * A row passes only when the expression is TRUE; FALSE and NULL drop it.
 *
 * Types, and where they differ from a MySQL server:
 *  - Numbers (INT, UINT, FLOAT, DOUBLE, DECIMAL, BIT, ENUM index, SET
 *    bitmask, YEAR) compare numerically. Integers, decimals and literals
 *    without an exponent are exact (128-bit fixed point, up to 38
 *    significant digits and 38 decimals); beyond that, and whenever a
 *    FLOAT/DOUBLE or a literal with an exponent is involved, arithmetic
 *    and comparison use double, as MySQL does (so DOUBLE 0.1 = 0.1 holds
 *    and 0.1e0 + 0.2e0 = 0.3 does not). `/` keeps 4 more decimals than
 *    its dividend (MySQL's div_precision_increment); division or modulo
 *    by zero is NULL. ROUND rounds exact values half away from zero and
 *    doubles half to even.
 *  - Text compares byte-wise (like a _bin collation) unless the filter is
 *    compiled with ROW_FILTER_CI (ASCII case folding, like the default _ci
 *    collations; bytes >= 0x80 still compare as bytes) and/or
 *    ROW_FILTER_PAD_SPACE (trailing spaces do not count, as in PAD SPACE
 *    collations). BINARY/BLOB values always compare byte-wise. Text
 *    against a number compares as numbers, the text read like MySQL does
 *    ('12abc' is 12, 'abc' is 0).
 *  - LOWER/UPPER fold ASCII letters only and leave binary strings alone.
 *    `_`, CHAR_LENGTH and SUBSTRING count UTF-8 characters for
 *    utf8/utf8mb4/ascii columns and literals, bytes for binary and other
 *    charsets.
 *  - Temporals are the text forms of VK_TEMPORAL. When either side of a
 *    comparison is a temporal value and both sides read as dates (or both
 *    as times), they compare as dates/times (a DATE is a DATETIME at
 *    midnight; '9:00:00' < '10:00:00'); otherwise as text. A date compared
 *    with a number reads the number as YYYYMMDD[hhmmss]; in arithmetic a
 *    date reads as YYYYMMDD[hhmmss] (so d + 1 is a number, as in MySQL).
 *    DATE_ADD/DATE_SUB on a TIME, a zero or invalid date, or a result
 *    outside the years 0..9999 is NULL; adding months clamps the day to
 *    the month's end.
 *  - NOW() and CURDATE() are UTC (TIMESTAMP columns are rendered in UTC).
 *    row_filter_eval_at lets the caller pass the time, e.g. the source
 *    event's timestamp, which makes the filter's verdict independent of
 *    replication lag; row_filter_eval reads the wall clock.
 *  - ENUM and SET columns, as in MySQL, are text where text is wanted and
 *    numbers elsewhere: compared with text (any quoted literal, even '2',
 *    or a text column), in LIKE and in string functions an ENUM is its
 *    member name ('' for the error value 0) and a SET its member names
 *    joined by commas in definition order; compared with a number, in
 *    arithmetic and as a truth value they are the 1-based member index /
 *    the bitmask. Member names come from the table (binlog_row_metadata=
 *    FULL or information_schema). When a table lacks them, text use is
 *    refused at bind (COT_ERR_UNSUPPORTED, saying how to get the names),
 *    quoted numbers then compare with the index, and eval returns -1 if
 *    text meets such a column at run time. A value beyond the known
 *    members (a stale list) is COT_ERR_SCHEMA at eval.
 *  - Intermediate text results are capped at 16 MiB per evaluation
 *    (eval returns -1 beyond that).
 */
#ifndef COT_ROW_FILTER_H
#define COT_ROW_FILTER_H

#include "event/event.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct row_filter row_filter;

/* Flags of row_filter_compile. */
enum row_filter_flag {
    ROW_FILTER_CI = 1u << 0,        /* ASCII case-insensitive text compare and LIKE */
    ROW_FILTER_PAD_SPACE = 1u << 1, /* trailing spaces ignored when comparing text */
};

/* Deepest expression tree accepted (parentheses, operators, function calls). */
#define ROW_FILTER_MAX_DEPTH 64
/* Longest expression text accepted, in bytes. */
#define ROW_FILTER_MAX_LEN 65536

/* row_filter_compile parses expr (a NUL-terminated copy is kept). If tbl is
 * not NULL the filter is also bound to it. On success *out is owned by the
 * caller (row_filter_free). Errors are COT_ERR_CONFIG with a message such
 * as "where: syntax error at column 14: expected ')' after IN list, got
 * 'AND'" (columns are 1-based characters; "line L, column C" when the text
 * has several lines); an unknown function, a wrong argument count, a tree
 * deeper than ROW_FILTER_MAX_DEPTH and, when tbl is given, an unknown
 * column are errors too. */
cot_err row_filter_compile(const char *expr, const cot_table *tbl, unsigned flags,
                           row_filter **out);

/* row_filter_bind resolves the filter's column names against tbl (called
 * for each new TABLE_MAP of the mapping); rf keeps no pointer into tbl.
 * Returns COT_ERR_SCHEMA naming the column when tbl lacks one (or lacks
 * column names altogether) and COT_ERR_UNSUPPORTED when an ENUM/SET column
 * is used as text but tbl lacks its member names. rf keeps the (interned,
 * process-lifetime) member name lists of its columns. On failure rf is
 * left unbound. */
cot_err row_filter_bind(row_filter *rf, const cot_table *tbl);

/* row_filter_eval evaluates rf on row (tbl->n_cols values of the table it
 * is bound to; row may be NULL if the filter names no column). Returns 1
 * if the expression is TRUE, 0 if FALSE or NULL, -1 on error with cot_err
 * set: COT_ERR_NOT_FOUND when a column it needs is VK_ABSENT (a MINIMAL or
 * NOBLOB image; AND/OR still decide when another operand settles the
 * result), COT_ERR_CONFIG when a filter that names columns is not bound,
 * COT_ERR_UNSUPPORTED for an ENUM/SET column without member names used as
 * text or the scratch cap, COT_ERR_SCHEMA for an ENUM/SET value beyond its
 * known members, COT_ERR_MALFORMED for a value of unknown kind. Does not
 * allocate unless intermediate text exceeds 4 KiB. A NULL row reads as one
 * where every column is absent. NOW() reads the clock. */
int row_filter_eval(const row_filter *rf, const cot_value *row);

/* row_filter_eval_at is row_filter_eval with NOW() = now_unix (UTC seconds). */
int row_filter_eval_at(const row_filter *rf, const cot_value *row, int64_t now_unix);

/* row_filter_eval_timeless evaluates rf with NOW() and CURDATE() NULL:
 * 1 TRUE, 0 FALSE, 2 NULL, -1 error (as row_filter_eval). With SQL's
 * three-valued logic, 0 means the row fails whatever the time (a part of
 * the expression that does not read the clock decides), 2 that the verdict
 * may depend on the time it is evaluated at. */
int row_filter_eval_timeless(const row_filter *rf, const cot_value *row);

/* row_filter_uses_now says whether the expression reads the clock (NOW(),
 * CURRENT_TIMESTAMP, CURDATE(), CURRENT_DATE). */
bool row_filter_uses_now(const row_filter *rf);

/* row_filter_uses_column says whether the bound filter reads column col of
 * its table (false when not bound). */
bool row_filter_uses_column(const row_filter *rf, uint32_t col);

/* row_filter_text returns the expression as given to compile (owned by rf). */
const char *row_filter_text(const row_filter *rf);

/* row_filter_free releases rf and everything it owns; NULL is fine. */
void row_filter_free(row_filter *rf);

#endif
