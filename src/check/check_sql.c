/*
 * SQL text, tuple encoding, row diff and chunk sizing for check/repair.
 * Pure: no I/O. Values from a server are never pasted into SQL as they
 * are: numbers are checked to look like numbers, everything else goes in
 * hex (X'..' or _utf8mb4 X'..'), so a key like "1' OR 1" is harmless.
 */
#include "check/check_sql.h"

#include <stdlib.h>
#include <string.h>

static const char *const NUM_TYPES[] = {"tinyint", "smallint", "mediumint", "int",   "integer",
                                        "bigint",  "decimal",  "numeric",   "float", "double",
                                        "real",    "year",     NULL};
static const char *const BIN_TYPES[] = {"binary",       "varbinary",
                                        "tinyblob",     "blob",
                                        "mediumblob",   "longblob",
                                        "geometry",     "point",
                                        "linestring",   "polygon",
                                        "multipoint",   "multilinestring",
                                        "multipolygon", "geometrycollection",
                                        "bit",          NULL};
static const char *const TEXT_TYPES[] = {"char",     "varchar", "tinytext", "text", "mediumtext",
                                         "longtext", "enum",    "set",      "json", "uuid",
                                         "inet4",    "inet6",   NULL};

static bool in_list(const char *const *list, const char *type)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], type) == 0) return true;
    return false;
}

check_cat check_sql_cat(const char *type)
{
    if (!type) return CHECK_CAT_TEXT;
    if (in_list(NUM_TYPES, type)) return CHECK_CAT_NUM;
    if (in_list(BIN_TYPES, type)) return CHECK_CAT_BIN;
    if (in_list(TEXT_TYPES, type)) return CHECK_CAT_TEXT;
    return CHECK_CAT_OTHER;
}

/* The row hash is CRC32(row text) times this odd 32-bit constant (Knuth's
 * multiplicative hash): the full 64-bit product, which fits a BIGINT
 * UNSIGNED. The carries of the product make it non-linear, so the BIT_XOR
 * of a chunk no longer cancels the same change made to two rows. */
#define ROW_HASH_MUL "2654435761"

static bool is_float_type(const char *type)
{
    return type &&
           (strcmp(type, "float") == 0 || strcmp(type, "double") == 0 || strcmp(type, "real") == 0);
}

static bool looks_numeric(const char *v, size_t len)
{
    if (len == 0 || len > 100) return false;
    bool digit = false;
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        if (c >= '0' && c <= '9')
            digit = true;
        else if (c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E')
            return false;
    }
    return digit;
}

void check_sql_literal(buf *out, const char *v, size_t len, const char *type)
{
    if (!v) {
        buf_puts(out, "NULL");
        return;
    }
    check_cat cat = check_sql_cat(type);
    if (cat == CHECK_CAT_NUM && looks_numeric(v, len)) {
        buf_append(out, v, len);
        /* 0.1428571492433548 alone is a DECIMAL literal; with an exponent it
         * is read as the DOUBLE it was printed from */
        if (is_float_type(type) && !memchr(v, 'e', len) && !memchr(v, 'E', len))
            buf_puts(out, "e0");
        return;
    }
    if (cat == CHECK_CAT_BIN) {
        buf_puts(out, "X'");
    } else if (len == 0) {
        buf_puts(out, "''");
        return;
    } else {
        buf_puts(out, "_utf8mb4 X'");
    }
    buf_hex(out, (const uint8_t *)v, len);
    buf_putc(out, '\'');
}

void check_sql_col_raw(buf *out, const check_col *c, check_side side)
{
    if (side == CHECK_SRC && !c->src_name) {
        check_sql_literal(out, c->const_val, c->const_val ? strlen(c->const_val) : 0, "varchar");
        return;
    }
    buf_ident(out, side == CHECK_SRC ? c->src_name : c->tgt_name);
}

void check_sql_col_value(buf *out, const check_col *c, check_side side)
{
    const char *type = side == CHECK_SRC ? c->src_type : c->tgt_type;
    bool widen = (side == CHECK_TGT || c->src_name) && type && strcmp(type, "float") == 0;
    if (widen) buf_putc(out, '(');
    check_sql_col_raw(out, c, side);
    if (widen) buf_puts(out, "+0e0)");
}

static void norm_expr(buf *out, const check_col *c, check_side side)
{
    const char *type = side == CHECK_SRC ? c->src_type : c->tgt_type;
    bool is_const = side == CHECK_SRC && !c->src_name;
    check_cat cat = is_const ? CHECK_CAT_TEXT : check_sql_cat(type);
    if (cat == CHECK_CAT_BIN) {
        buf_puts(out, "HEX(");
        check_sql_col_raw(out, c, side);
        buf_putc(out, ')');
    } else if (cat == CHECK_CAT_TEXT) {
        /* Led by its length in characters when both sides are text, so a '#'
         * in a value cannot pass for the separator: ('a#','b') and ('a','#b')
         * must not read alike. (QUOTE() does the same at twice the cost.) A
         * text source column mapped to a number compares as plain text. */
        bool counted =
            (c->src_name ? check_sql_cat(c->src_type) : CHECK_CAT_TEXT) == CHECK_CAT_TEXT &&
            check_sql_cat(c->tgt_type) == CHECK_CAT_TEXT;
        if (counted) {
            buf_puts(out, "CHAR_LENGTH(");
            check_sql_col_raw(out, c, side);
            buf_puts(out, "),");
        }
        buf_puts(out, "CONVERT(");
        check_sql_col_raw(out, c, side);
        buf_puts(out, " USING utf8mb4)");
    } else if (cat == CHECK_CAT_NUM && is_float_type(type)) {
        /* as a DOUBLE, whose text reads back as the stored value: a FLOAT's
         * own text has 6 digits and hides a change in its last bits */
        buf_puts(out, "CAST(");
        check_sql_col_value(out, c, side);
        buf_puts(out, " AS CHAR)");
    } else {
        check_sql_col_raw(out, c, side);
    }
}

void check_sql_row_text(buf *out, const check_col *cols, uint32_t n_cols, check_side side)
{
    buf_puts(out, "CONCAT_WS('#'");
    for (uint32_t i = 0; i < n_cols; i++) {
        buf_putc(out, ',');
        norm_expr(out, &cols[i], side);
    }
    buf_puts(out, ",CONCAT(");
    for (uint32_t i = 0; i < n_cols; i++) {
        if (i) buf_putc(out, ',');
        if (side == CHECK_SRC && !cols[i].src_name) {
            buf_puts(out, cols[i].const_val ? "0" : "1");
            continue;
        }
        buf_puts(out, "ISNULL(");
        check_sql_col_raw(out, &cols[i], side);
        buf_putc(out, ')');
    }
    if (n_cols == 0) buf_puts(out, "''");
    buf_puts(out, "))");
}

void check_sql_row_hash(buf *out, const check_col *cols, uint32_t n_cols, check_side side)
{
    buf_puts(out, "CAST(CRC32(");
    check_sql_row_text(out, cols, n_cols, side);
    buf_puts(out, ") AS UNSIGNED)*" ROW_HASH_MUL);
}

/* ---- tuples ---------------------------------------------------------- */

void check_tuple_add(buf *t, const char *v, size_t len)
{
    uint32_t n = v ? (uint32_t)len : CHECK_NULL_LEN;
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    buf_append(t, hdr, 4);
    if (v && len) buf_append(t, v, len);
}

bool check_tuple_part(const uint8_t *data, size_t len, uint32_t i, const char **v, size_t *vlen)
{
    size_t off = 0;
    for (uint32_t k = 0;; k++) {
        if (off > len || len - off < 4) return false;
        uint32_t n = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
                     (uint32_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        size_t body = n == CHECK_NULL_LEN ? 0 : n;
        if (body > len - off) return false;
        if (k == i) {
            *v = n == CHECK_NULL_LEN ? NULL : (const char *)data + off;
            *vlen = body;
            return true;
        }
        off += body;
    }
}

static const char *col_type(const check_col *c, check_side side)
{
    return side == CHECK_SRC ? c->src_type : c->tgt_type;
}

static void key_part_lit(buf *out, const check_col *c, check_side side, const uint8_t *t,
                         size_t t_len, uint32_t i)
{
    const char *v = NULL;
    size_t n = 0;
    if (!check_tuple_part(t, t_len, i, &v, &n)) v = NULL;
    check_sql_literal(out, v, n, col_type(c, side));
}

/* bound appends the nested predicate for key columns from k on:
 * k0 OP0 v0 OR (k0 = v0 AND (k1 OP1 v1 OR (...))), OP strict except the last
 * column of an inclusive bound. */
static void bound(buf *out, const check_col *cols, const uint32_t *keys, uint32_t n_key,
                  check_side side, const uint8_t *t, size_t t_len, uint32_t k, const char *op,
                  const char *last_op)
{
    const check_col *c = &cols[keys[k]];
    buf_putc(out, '(');
    check_sql_col_raw(out, c, side);
    buf_puts(out, k + 1 == n_key ? last_op : op);
    key_part_lit(out, c, side, t, t_len, k);
    if (k + 1 < n_key) {
        buf_puts(out, " OR (");
        check_sql_col_raw(out, c, side);
        buf_puts(out, " = ");
        key_part_lit(out, c, side, t, t_len, k);
        buf_puts(out, " AND ");
        bound(out, cols, keys, n_key, side, t, t_len, k + 1, op, last_op);
        buf_putc(out, ')');
    }
    buf_putc(out, ')');
}

void check_sql_key_range(buf *out, const check_col *cols, const uint32_t *keys, uint32_t n_key,
                         check_side side, const uint8_t *lower, size_t lower_len,
                         const uint8_t *upper, size_t upper_len)
{
    bool any = false;
    const check_col *c0 = &cols[keys[0]];
    if (lower) {
        buf_putc(out, '(');
        if (n_key > 1) {
            check_sql_col_raw(out, c0, side);
            buf_puts(out, " >= ");
            key_part_lit(out, c0, side, lower, lower_len, 0);
            buf_puts(out, " AND ");
        }
        bound(out, cols, keys, n_key, side, lower, lower_len, 0, " > ", " > ");
        buf_putc(out, ')');
        any = true;
    }
    if (upper) {
        if (any) buf_puts(out, " AND ");
        buf_putc(out, '(');
        if (n_key > 1) {
            check_sql_col_raw(out, c0, side);
            buf_puts(out, " <= ");
            key_part_lit(out, c0, side, upper, upper_len, 0);
            buf_puts(out, " AND ");
        }
        bound(out, cols, keys, n_key, side, upper, upper_len, 0, " < ", " <= ");
        buf_putc(out, ')');
        any = true;
    }
    if (!any) buf_putc(out, '1');
}

void check_sql_key_eq(buf *out, const check_col *cols, const uint32_t *keys, uint32_t n_key,
                      check_side side, const uint8_t *key, size_t key_len)
{
    buf_putc(out, '(');
    for (uint32_t k = 0; k < n_key; k++) {
        if (k) buf_puts(out, " AND ");
        check_sql_col_raw(out, &cols[keys[k]], side);
        buf_puts(out, " = ");
        key_part_lit(out, &cols[keys[k]], side, key, key_len, k);
    }
    buf_putc(out, ')');
}

void check_sql_upsert_head(buf *out, const char *schema, const char *table, const check_col *cols,
                           uint32_t n_cols)
{
    buf_puts(out, "INSERT INTO ");
    buf_ident(out, schema);
    buf_putc(out, '.');
    buf_ident(out, table);
    buf_puts(out, " (");
    for (uint32_t i = 0; i < n_cols; i++) {
        if (i) buf_putc(out, ',');
        buf_ident(out, cols[i].tgt_name);
    }
    buf_puts(out, ") VALUES ");
}

void check_sql_upsert_row(buf *out, const check_col *cols, uint32_t n_cols, const uint8_t *row,
                          size_t row_len, bool first)
{
    if (!first) buf_putc(out, ',');
    buf_putc(out, '(');
    for (uint32_t i = 0; i < n_cols; i++) {
        if (i) buf_putc(out, ',');
        const char *v = NULL;
        size_t n = 0;
        if (!check_tuple_part(row, row_len, i, &v, &n)) v = NULL;
        /* the value came from the source: quote it by the source's type */
        check_sql_literal(out, v, n, cols[i].src_name ? cols[i].src_type : "varchar");
    }
    buf_putc(out, ')');
}

void check_sql_upsert_tail(buf *out, const check_col *cols, uint32_t n_cols, const uint32_t *keys,
                           uint32_t n_key)
{
    buf_puts(out, " ON DUPLICATE KEY UPDATE ");
    bool any = false;
    for (uint32_t i = 0; i < n_cols; i++) {
        bool is_key = false;
        for (uint32_t k = 0; k < n_key; k++) is_key |= keys[k] == i;
        if (is_key) continue;
        if (any) buf_putc(out, ',');
        buf_ident(out, cols[i].tgt_name);
        buf_puts(out, "=VALUES(");
        buf_ident(out, cols[i].tgt_name);
        buf_putc(out, ')');
        any = true;
    }
    if (!any && n_key) {
        buf_ident(out, cols[keys[0]].tgt_name);
        buf_putc(out, '=');
        buf_ident(out, cols[keys[0]].tgt_name);
    }
}

/* ---- row lists ------------------------------------------------------- */

void check_rows_init(check_rows *rs)
{
    memset(rs, 0, sizeof(*rs));
}

void check_rows_clear(check_rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].key);
        free(rs->v[i].vals);
    }
    rs->n = 0;
}

void check_rows_deinit(check_rows *rs)
{
    check_rows_clear(rs);
    free(rs->v);
    memset(rs, 0, sizeof(*rs));
}

static void *dup_bytes(const void *p, size_t n)
{
    void *r = malloc(n ? n : 1);
    if (!r) abort();
    if (n) memcpy(r, p, n);
    return r;
}

void check_rows_add(check_rows *rs, const void *key, size_t key_len, uint64_t hash,
                    const void *vals, size_t vals_len)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 256;
        rs->v = realloc(rs->v, rs->cap * sizeof(check_row));
        if (!rs->v) abort();
    }
    check_row *r = &rs->v[rs->n++];
    r->key = dup_bytes(key, key_len);
    r->key_len = (uint32_t)key_len;
    r->hash = hash;
    r->vals = vals ? dup_bytes(vals, vals_len) : NULL;
    r->vals_len = vals ? (uint32_t)vals_len : 0;
}

static int row_cmp(const check_row *a, const check_row *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c) return c;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len ? 1 : 0;
}

static int row_qsort_cmp(const void *a, const void *b)
{
    return row_cmp(a, b);
}

void check_rows_sort(check_rows *rs)
{
    if (rs->n > 1) qsort(rs->v, rs->n, sizeof(check_row), row_qsort_cmp);
}

bool check_rows_has(const check_rows *rs, const void *key, size_t key_len)
{
    check_row want = {.key = (uint8_t *)(uintptr_t)key, .key_len = (uint32_t)key_len};
    return rs->n && bsearch(&want, rs->v, rs->n, sizeof(check_row), row_qsort_cmp) != NULL;
}

const char *check_kind_name(check_kind kind)
{
    switch (kind) {
    case CHECK_MISSING:
        return "missing";
    case CHECK_EXTRA:
        return "extra";
    case CHECK_DIFFERENT:
        return "different";
    }
    return "?";
}

uint64_t check_rows_diff(const check_rows *src, const check_rows *tgt, check_diff_fn fn, void *ctx)
{
    size_t i = 0, j = 0;
    uint64_t n = 0;
    while (i < src->n || j < tgt->n) {
        int c = i == src->n ? 1 : j == tgt->n ? -1 : row_cmp(&src->v[i], &tgt->v[j]);
        if (c < 0) {
            fn(ctx, CHECK_MISSING, &src->v[i++], NULL);
            n++;
        } else if (c > 0) {
            fn(ctx, CHECK_EXTRA, NULL, &tgt->v[j++]);
            n++;
        } else {
            if (src->v[i].hash != tgt->v[j].hash) {
                fn(ctx, CHECK_DIFFERENT, &src->v[i], &tgt->v[j]);
                n++;
            }
            i++;
            j++;
        }
    }
    return n;
}

uint32_t check_chunk_next_size(uint32_t rows, double seconds, double target_s, uint32_t min_rows,
                               uint32_t max_rows)
{
    double next;
    if (seconds <= 0)
        next = (double)rows * 2;
    else
        next = (double)rows * target_s / seconds;
    if (next > (double)rows * 2) next = (double)rows * 2;
    if (next < (double)rows / 2) next = (double)rows / 2;
    if (next < min_rows) next = min_rows;
    if (next > max_rows) next = max_rows;
    return (uint32_t)next;
}

void check_json_str(buf *out, const char *v, size_t len)
{
    buf_putc(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(out, "\\u%04x", c);
        } else {
            buf_putc(out, (char)c);
        }
    }
    buf_putc(out, '"');
}

void check_key_json(buf *out, const check_col *cols, const uint32_t *keys, uint32_t n_key,
                    const uint8_t *key, size_t key_len)
{
    buf_putc(out, '{');
    for (uint32_t k = 0; k < n_key; k++) {
        const check_col *c = &cols[keys[k]];
        if (k) buf_putc(out, ',');
        check_json_str(out, c->tgt_name, strlen(c->tgt_name));
        buf_putc(out, ':');
        const char *v = NULL;
        size_t n = 0;
        if (!check_tuple_part(key, key_len, k, &v, &n) || !v) {
            buf_puts(out, "null");
        } else if (check_sql_cat(c->tgt_type) == CHECK_CAT_BIN) {
            buf_puts(out, "\"0x");
            buf_hex(out, (const uint8_t *)v, n);
            buf_putc(out, '"');
        } else {
            check_json_str(out, v, n);
        }
    }
    buf_putc(out, '}');
}
