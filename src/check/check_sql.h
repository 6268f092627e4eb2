/*
 * The pure half of `cotter check` / `cotter repair`: the SQL text both
 * sides run (normalized row hashes, key-range predicates, literals, repair
 * statements), the encoding of keys and rows fetched from a server, the
 * diff of two sorted row lists and the chunk-size controller. No I/O, no
 * globals, so unit tests drive it directly; used by the check thread.
 *
 * A column pair maps one target column to a source column or to a
 * constant (a mapping's const:). Types are information_schema DATA_TYPE
 * words, lower case; they only choose how a value is normalized/quoted.
 */
#ifndef COT_CHECK_SQL_H
#define COT_CHECK_SQL_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One compared column: target name, and its source side. */
typedef struct check_col {
    char *tgt_name;
    char *tgt_type;
    char *src_name;  /* NULL when the source side is a constant */
    char *src_type;  /* "varchar" for a constant */
    char *const_val; /* constant text (expanded), or NULL */
} check_col;

/* Which side of the comparison an expression is built for. */
typedef enum check_side { CHECK_SRC = 0, CHECK_TGT = 1 } check_side;

/* How a type's values are written as literals and normalized. */
typedef enum check_cat {
    CHECK_CAT_NUM,  /* integers, decimals, floats, year: plain text */
    CHECK_CAT_BIN,  /* binary strings, blobs, geometry, bit: hex */
    CHECK_CAT_TEXT, /* character strings, enum/set, json: utf8mb4 */
    CHECK_CAT_OTHER /* dates and times: text as the server prints it (UTC session) */
} check_cat;

/* check_sql_cat returns the category of a DATA_TYPE word (NULL: TEXT). */
check_cat check_sql_cat(const char *type);

/* check_sql_literal appends the value v (len bytes, NULL v = SQL NULL) as
 * a literal for a column of the given type: numbers as they are (when they
 * look like one), binary values as X'..', everything else as
 * _utf8mb4 X'..' so no byte of the value reaches the SQL text unquoted. */
void check_sql_literal(buf *out, const char *v, size_t len, const char *type);

/* check_sql_col_raw appends the side's plain expression of column c: the
 * quoted column name, or (source, constant) the constant's literal. */
void check_sql_col_raw(buf *out, const check_col *c, check_side side);

/* check_sql_col_value appends the side's expression for reading column c's
 * value as text that reads back exactly: check_sql_col_raw, but a FLOAT
 * widened to DOUBLE (its own text has 6 significant digits). For SELECT
 * lists; predicates use check_sql_col_raw so an index still serves them. */
void check_sql_col_value(buf *out, const check_col *c, check_side side);

/* check_sql_row_text appends CONCAT_WS('#', <normalized columns>,
 * CONCAT(<null flags>)): HEX() for binary types, CONVERT(.. USING utf8mb4)
 * for text (led by its CHAR_LENGTH when both sides are text),
 * CAST(.. AS CHAR) of the check_sql_col_value for floats, the column for
 * the rest; NULLs are told apart from '' by the flags. */
void check_sql_row_text(buf *out, const check_col *cols, uint32_t n_cols, check_side side);

/* check_sql_row_hash appends the row's 64-bit hash, a BIGINT UNSIGNED:
 * CAST(CRC32(<row text>) AS UNSIGNED) * 2654435761. Not CRC32 alone: a
 * CRC is linear, so BIT_XOR(CRC32(row)) over a chunk does not change when
 * two rows of equal length get the same change (crc(x) ^ crc(y) ==
 * crc(x') ^ crc(y')), and a lost "UPDATE t SET status='B' WHERE id IN
 * (10,11)" checked as equal. The product's carries are not linear. */
void check_sql_row_hash(buf *out, const check_col *cols, uint32_t n_cols, check_side side);

/* ---- encoded key tuples ------------------------------------------------
 * A tuple of values is stored as parts: a 4-byte big-endian length then
 * the bytes; length 0xFFFFFFFF is NULL (no bytes). memcmp-compatible order
 * is not the server's order: tuples are only sorted and compared in C. */

#define CHECK_NULL_LEN 0xFFFFFFFFu

/* check_tuple_add appends one part (v NULL = SQL NULL). */
void check_tuple_add(buf *t, const char *v, size_t len);

/* check_tuple_part finds part i of the tuple (data,len): *v/ *vlen get it
 * (*v NULL for SQL NULL). Returns false if the tuple has fewer parts. */
bool check_tuple_part(const uint8_t *data, size_t len, uint32_t i, const char **v, size_t *vlen);

/* check_sql_key_range appends the predicate "key > lower AND key <= upper"
 * over the key columns keys[0..n_key) of cols for side, as nested OR/AND
 * (with a leading first-column bound so the server can range-scan). lower
 * and upper are encoded tuples; either may be NULL (unbounded). Appends
 * "1" when both are. */
void check_sql_key_range(buf *out, const check_col *cols, const uint32_t *keys, uint32_t n_key,
                         check_side side, const uint8_t *lower, size_t lower_len,
                         const uint8_t *upper, size_t upper_len);

/* check_sql_key_eq appends (k1 = v1 AND k2 = v2 ...) for one encoded key. */
void check_sql_key_eq(buf *out, const check_col *cols, const uint32_t *keys, uint32_t n_key,
                      check_side side, const uint8_t *key, size_t key_len);

/* check_sql_upsert_head appends "INSERT INTO `s`.`t` (`c`,..) VALUES ". */
void check_sql_upsert_head(buf *out, const char *schema, const char *table, const check_col *cols,
                           uint32_t n_cols);
/* check_sql_upsert_row appends "(v1,v2,..)" from an encoded row of source
 * values (one part per column, in cols order); a comma first unless first. */
void check_sql_upsert_row(buf *out, const check_col *cols, uint32_t n_cols, const uint8_t *row,
                          size_t row_len, bool first);
/* check_sql_upsert_tail appends " ON DUPLICATE KEY UPDATE `c`=VALUES(`c`),.."
 * over the non-key columns (or the first key column if all are key). */
void check_sql_upsert_tail(buf *out, const check_col *cols, uint32_t n_cols, const uint32_t *keys,
                           uint32_t n_key);

/* ---- row lists and their diff ----------------------------------------- */

/* One fetched row: its key tuple, its hash, and optionally its values. */
typedef struct check_row {
    uint8_t *key; /* encoded tuple (keyless tables: one part, the row text) */
    uint32_t key_len;
    uint64_t hash; /* check_sql_row_hash */
    uint8_t *vals; /* encoded values (keyless source rows), or NULL */
    uint32_t vals_len;
} check_row;

/* A growable list of rows; owns every row's memory. */
typedef struct check_rows {
    check_row *v;
    size_t n;
    size_t cap;
} check_rows;

void check_rows_init(check_rows *rs);
/* check_rows_clear frees every row's memory and empties the list. */
void check_rows_clear(check_rows *rs);
void check_rows_deinit(check_rows *rs);
/* check_rows_add copies key and vals (vals may be NULL) into a new row. */
void check_rows_add(check_rows *rs, const void *key, size_t key_len, uint64_t hash,
                    const void *vals, size_t vals_len);
/* check_rows_sort sorts by key (length-aware memcmp). */
void check_rows_sort(check_rows *rs);
/* check_rows_has says whether the sorted list rs holds a row with key. */
bool check_rows_has(const check_rows *rs, const void *key, size_t key_len);

typedef enum check_kind {
    CHECK_MISSING = 0, /* on the source, not on the target */
    CHECK_EXTRA,       /* only on the target */
    CHECK_DIFFERENT    /* same key, different values */
} check_kind;

/* check_kind_name returns "missing", "extra" or "different". */
const char *check_kind_name(check_kind kind);

/* Called for every difference: src is NULL for EXTRA, tgt for MISSING. */
typedef void (*check_diff_fn)(void *ctx, check_kind kind, const check_row *src,
                              const check_row *tgt);

/* check_rows_diff merges two sorted lists and calls fn per difference;
 * equal keys with equal hashes match (duplicate keys pair off one to one,
 * so keyless multisets work). Returns the number of differences. */
uint64_t check_rows_diff(const check_rows *src, const check_rows *tgt, check_diff_fn fn, void *ctx);

/* check_chunk_next_size returns the next chunk size in rows given the
 * last one's size and seconds, aiming at target_s: proportional, at most
 * doubling or halving per step, within [min_rows, max_rows]. */
uint32_t check_chunk_next_size(uint32_t rows, double seconds, double target_s, uint32_t min_rows,
                               uint32_t max_rows);

/* check_json_str appends v (len bytes) as a JSON string; bytes that are
 * not printable ASCII or UTF-8 continuation-safe are escaped \u00XX. */
void check_json_str(buf *out, const char *v, size_t len);

/* check_key_json appends {"col":"value",..} for an encoded key; values of
 * binary columns are written as "0x<hex>". */
void check_key_json(buf *out, const check_col *cols, const uint32_t *keys, uint32_t n_key,
                    const uint8_t *key, size_t key_len);

#endif
