/*
 * SQL text for the MySQL sink: table descriptions and their mapping from
 * source tables, literal rendering, and the statement builder. No I/O and
 * no globals; runs on the load thread that owns the sink. How each change
 * becomes SQL (key = the target's chosen key, all its values non-NULL):
 *   INSERT, keyed                    -> multi-row INSERT .. ON DUPLICATE KEY UPDATE
 *   INSERT, no key / NULL in key     -> multi-row plain INSERT
 *   UPDATE, full after, same key     -> upsert of the after image
 *   UPDATE, full after, key changed  -> delete by before key, then upsert/insert
 *   UPDATE, partial after image      -> UPDATE .. SET present WHERE key
 *   UPDATE / DELETE, no usable key   -> one row: .. WHERE every present col <=> v LIMIT 1
 *   DELETE, keyed                    -> DELETE .. WHERE k IN (..) / (k1=.. AND k2=..) OR ..
 */
#include "sink/sink_mysql_sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_BYTES (1024 * 1024)

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *r = realloc(p, n ? n : 1);
    if (!r) abort();
    return r;
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

/* ---- table descriptions ------------------------------------------------ */

sql_tdesc *sql_tdesc_new(const char *schema, const char *name)
{
    sql_tdesc *td = xcalloc(1, sizeof(*td));
    td->bulk = -1;
    td->schema = xstrdup(schema);
    td->name = xstrdup(name);
    return td;
}

static void sql_tdesc__unmap(sql_tdesc *td)
{
    td->bulk = -1;
    cot_table_unref(td->map_tbl);
    td->map_tbl = NULL;
    free(td->map);
    free(td->src_flags);
    free(td->key_src);
    td->map = NULL;
    td->src_flags = NULL;
    td->key_src = NULL;
}

void sql_tdesc_free(sql_tdesc *td)
{
    if (!td) return;
    sql_tdesc__unmap(td);
    for (uint32_t i = 0; i < td->n_cols; i++) {
        free(td->cols[i].name);
        free(td->cols[i].type);
        free(td->cols[i].charset);
    }
    free(td->cols);
    free(td->fk_on_update);
    free(td->key);
    free(td->key_name);
    free(td->schema);
    free(td->name);
    free(td);
}

void sql_tdesc_add_col(sql_tdesc *td, const char *name, const char *type, bool nullable,
                       bool generated)
{
    if (td->n_cols == td->cap_cols) {
        td->cap_cols = td->cap_cols ? td->cap_cols * 2 : 16;
        td->cols = xrealloc(td->cols, td->cap_cols * sizeof(sql_col));
    }
    sql_col *c = &td->cols[td->n_cols++];
    c->name = xstrdup(name);
    c->type = xstrdup(type);
    for (char *p = c->type; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    c->nullable = nullable;
    c->generated = generated;
    c->charset = NULL;
}

void sql_tdesc_set_charset(sql_tdesc *td, const char *charset)
{
    if (!td->n_cols) return;
    sql_col *c = &td->cols[td->n_cols - 1];
    free(c->charset);
    c->charset = charset && charset[0] ? xstrdup(charset) : NULL;
}

int sql_tdesc_col_find(const sql_tdesc *td, const char *name)
{
    for (uint32_t i = 0; i < td->n_cols; i++)
        if (strcasecmp(td->cols[i].name, name) == 0) return (int)i;
    return -1;
}

/* sql_tdesc__index_cols fills cols (capacity n_parts) with the target
 * column indexes of unique index `index` in SEQ_IN_INDEX order; returns the
 * count, or -1 (cot_err set) if a part is unknown or the sequence has holes. */
static int sql_tdesc__index_cols(const sql_tdesc *td, const sql_index_part *parts, size_t n_parts,
                                 const char *index, uint32_t *cols)
{
    size_t n = 0;
    for (size_t i = 0; i < n_parts; i++)
        if (strcmp(parts[i].index, index) == 0) n++;
    for (size_t i = 0; i < n; i++) cols[i] = UINT32_MAX;
    for (size_t i = 0; i < n_parts; i++) {
        if (strcmp(parts[i].index, index) != 0) continue;
        int c = sql_tdesc_col_find(td, parts[i].column);
        if (c < 0 || parts[i].seq < 1 || parts[i].seq > n || cols[parts[i].seq - 1] != UINT32_MAX) {
            cot_err_set(COT_ERR_SCHEMA,
                        "target table %s.%s: unique index %s lists column '%s' at position %u "
                        "that information_schema.COLUMNS does not show; was the table altered "
                        "while cotter read it? (cotter retries)",
                        td->schema, td->name, index, parts[i].column, parts[i].seq);
            return -1;
        }
        cols[parts[i].seq - 1] = (uint32_t)c;
    }
    return (int)n;
}

cot_err sql_tdesc_pick_key(sql_tdesc *td, const sql_index_part *parts, size_t n_parts)
{
    free(td->key);
    free(td->key_name);
    td->key = NULL;
    td->key_name = NULL;
    td->n_key = 0;
    if (n_parts == 0) return COT_OK;

    uint32_t *cols = xcalloc(n_parts, sizeof(uint32_t));
    const char *best = NULL;
    int best_rank = 0; /* 3 PRIMARY, 2 unique NOT NULL, 1 unique with a nullable column */
    for (size_t i = 0; i < n_parts; i++) {
        const char *index = parts[i].index;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = strcmp(parts[j].index, index) == 0;
        if (seen) continue;
        int n = sql_tdesc__index_cols(td, parts, n_parts, index, cols);
        if (n < 0) {
            free(cols);
            return COT_ERR_SCHEMA;
        }
        int rank = 2;
        if (strcmp(index, "PRIMARY") == 0)
            rank = 3;
        else
            for (int k = 0; k < n; k++)
                if (td->cols[cols[k]].nullable) rank = 1;
        if (rank > best_rank) {
            best_rank = rank;
            best = index;
        }
    }
    int n = sql_tdesc__index_cols(td, parts, n_parts, best, cols);
    td->key = cols;
    td->n_key = (uint32_t)n;
    td->key_name = xstrdup(best);
    return COT_OK;
}

cot_err sql_tdesc_map(sql_tdesc *td, cot_table *tbl, const char *target)
{
    sql_tdesc__unmap(td);
    bool named = tbl->has_names;
    for (uint32_t i = 0; i < tbl->n_cols && named; i++) named = tbl->cols[i].name != NULL;
    if (!named)
        return cot_err_set(COT_ERR_SCHEMA,
                           "source table %s.%s: column names are unknown, so its rows cannot be "
                           "matched to target %s.%s by name; set binlog_row_metadata=FULL on the "
                           "source (MariaDB >= 10.5, MySQL >= 8.0) or grant cotter's user SELECT "
                           "on information_schema there",
                           tbl->src_schema, tbl->src_name, td->schema, td->name);

    uint32_t *map = xcalloc(tbl->n_cols, sizeof(uint32_t));
    uint8_t *flags = xcalloc(tbl->n_cols, 1);
    uint32_t *key_src = xcalloc(td->n_key, sizeof(uint32_t));
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        int c = sql_tdesc_col_find(td, tbl->cols[i].name);
        if (c < 0) {
            cot_err_set(COT_ERR_SCHEMA,
                        "target %s.%s has no column '%s' that source %s.%s has: the source "
                        "gained it (ALTER TABLE ... ADD COLUMN not applied on the target) or the "
                        "target lost it; add the column on the target (%s), or leave it out of the "
                        "mapping (exclude:); cotter retries and continues by itself",
                        td->schema, td->name, tbl->cols[i].name, tbl->src_schema, tbl->src_name,
                        target);
            goto fail;
        }
        map[i] = (uint32_t)c;
        if (td->cols[c].generated) flags[i] |= SQL_SRC_SKIP;
        if (strcmp(td->cols[c].type, "json") == 0) flags[i] |= SQL_SRC_JSON;
    }
    for (uint32_t k = 0; k < td->n_key; k++) {
        uint32_t i = 0;
        while (i < tbl->n_cols && map[i] != td->key[k]) i++;
        if (i == tbl->n_cols) {
            cot_err_set(COT_ERR_SCHEMA,
                        "target %s.%s has key column '%s' (index %s) that source %s.%s does not "
                        "have, so rows cannot be found by key; add the column on the source, or "
                        "give the target a key made of columns both tables have (target %s)",
                        td->schema, td->name, td->cols[td->key[k]].name, td->key_name,
                        tbl->src_schema, tbl->src_name, target);
            goto fail;
        }
        key_src[k] = i;
    }
    td->map = map;
    td->src_flags = flags;
    td->key_src = key_src;
    td->map_tbl = cot_table_ref(tbl);
    return COT_OK;
fail:
    free(map);
    free(flags);
    free(key_src);
    return COT_ERR_SCHEMA;
}

/* ---- LOAD DATA text -------------------------------------------------------- */

static bool sql__is_decimal(const char *p, uint32_t len);
static void sql__table(buf *out, const sql_tdesc *td);

static bool sql__bulk_col_ok(const sql_tdesc *td, const cot_column *c, uint32_t i)
{
    if (td->src_flags[i] & SQL_SRC_SKIP) return true;  /* not sent */
    if (td->src_flags[i] & SQL_SRC_JSON) return false; /* MySQL refuses binary text there */
    switch (c->type) {
    case CT_BIT:
    case CT_GEOMETRY:
        return false;
    case CT_ENUM:
    case CT_SET:
        return c->members && c->n_members;
    default:
        break;
    }
    if (!c->charset || strcmp(c->charset, "binary") == 0 || c->collation == COT_COLLATION_BINARY)
        return true;
    const char *tcs = td->cols[td->map[i]].charset;
    return tcs && strcasecmp(tcs, c->charset) == 0;
}

bool sql_tdesc_bulk_ok(sql_tdesc *td)
{
    if (td->bulk >= 0) return td->bulk == 1;
    const cot_table *tbl = td->map_tbl;
    if (!tbl || !td->map) return false;
    bool ok = td->n_key > 0 && td->n_unique == 1;
    for (uint32_t c = 0; c < td->n_cols && ok; c++) {
        if (td->cols[c].generated) continue;
        bool fed = false;
        for (uint32_t i = 0; i < tbl->n_cols && !fed; i++) fed = td->map[i] == c;
        ok = fed;
    }
    for (uint32_t i = 0; i < tbl->n_cols && ok; i++) ok = sql__bulk_col_ok(td, &tbl->cols[i], i);
    td->bulk = ok ? 1 : 0;
    return ok;
}

static void sql__bulk_text(buf *out, const char *p, uint32_t len)
{
    buf_reserve(out, (size_t)len * 2); /* every byte escaped, at worst */
    char *d = out->data + out->len;
    for (uint32_t i = 0; i < len; i++) {
        char c = p[i];
        switch (c) {
        case '\\':
        case '\t':
        case '\n':
        case '\0':
            *d++ = '\\';
            *d++ = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\0' ? '0' : '\\';
            break;
        default:
            *d++ = c;
        }
    }
    out->len = (size_t)(d - out->data);
    out->data[out->len] = '\0';
}

/* sql__bulk_members appends the names of the members value u selects. */
static bool sql__bulk_members(buf *out, const cot_column *c, uint8_t kind, uint64_t u)
{
    if (kind == VK_ENUM) {
        if (u == 0 || u > c->n_members) return false; /* '' error value: no name */
        const char *m = c->members[u - 1];
        sql__bulk_text(out, m, (uint32_t)strlen(m));
        return true;
    }
    bool first = true;
    for (uint32_t b = 0; b < 64 && u; b++) {
        if (!(u & (1ull << b))) continue;
        if (b >= c->n_members) return false;
        if (!first) buf_putc(out, ',');
        first = false;
        sql__bulk_text(out, c->members[b], (uint32_t)strlen(c->members[b]));
        u &= ~(1ull << b);
    }
    return true;
}

bool sql_bulk_row(buf *out, const sql_tdesc *td, const cot_value *img)
{
    const cot_table *tbl = td->map_tbl;
    size_t start = out->len;
    bool first = true;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (td->src_flags[i] & SQL_SRC_SKIP) continue;
        const cot_value *v = &img[i];
        const cot_column *c = &tbl->cols[i];
        if (!first) buf_putc(out, '\t');
        first = false;
        bool ok = true;
        switch (v->kind) {
        case VK_NULL:
            buf_append(out, "\\N", 2);
            break;
        case VK_INT:
            /* LOAD DATA reads text: YEAR '0' is 2000, '0000' is 0000 */
            if (c->type == CT_YEAR && v->i == 0)
                buf_puts(out, "0000");
            else
                buf_i64(out, v->i);
            break;
        case VK_UINT:
            buf_u64(out, v->u);
            break;
        case VK_FLOAT:
        case VK_DOUBLE:
            ok = isfinite(v->d);
            if (ok) buf_printf(out, "%.17e", v->d);
            break;
        case VK_DECIMAL:
            ok = sql__is_decimal(v->s.p, v->s.len);
            if (ok) buf_append(out, v->s.p, v->s.len);
            break;
        case VK_TEMPORAL:
        case VK_STRING:
        case VK_BINARY:
        case VK_JSON:
            sql__bulk_text(out, v->s.p, v->s.len);
            break;
        case VK_ENUM:
        case VK_SET:
            ok = c->members && sql__bulk_members(out, c, v->kind, v->u);
            break;
        default: /* absent (a partial image), BIT, GEOMETRY */
            ok = false;
        }
        if (!ok) {
            out->len = start;
            if (out->data) out->data[start] = '\0';
            return false;
        }
    }
    buf_putc(out, '\n');
    return true;
}

void sql_bulk_statement(buf *out, const sql_tdesc *td)
{
    const cot_table *tbl = td->map_tbl;
    buf_puts(out, "LOAD DATA LOCAL INFILE 'cotter-rows' REPLACE INTO TABLE ");
    sql__table(out, td);
    buf_puts(out, " CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                  "LINES TERMINATED BY '\\n' (");
    bool first = true;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (td->src_flags[i] & SQL_SRC_SKIP) continue;
        if (!first) buf_putc(out, ',');
        first = false;
        buf_ident(out, td->cols[td->map[i]].name);
    }
    buf_putc(out, ')');
}

/* ---- literals ----------------------------------------------------------- */

static bool sql__is_ident(const char *s)
{
    if (!*s) return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static bool sql__is_decimal(const char *p, uint32_t len)
{
    uint32_t i = 0, digits = 0;
    if (i < len && (p[i] == '-' || p[i] == '+')) i++;
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) digits++;
    if (i < len && p[i] == '.') {
        i++;
        for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) digits++;
    }
    return digits > 0 && i == len;
}

static void sql__quote(buf *out, const char *p, uint32_t len)
{
    buf_reserve(out, (size_t)len + 2);
    buf_putc(out, '\'');
    for (uint32_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\'' || c == '\\') buf_putc(out, c);
        buf_putc(out, c);
    }
    buf_putc(out, '\'');
}

static void sql__hex(buf *out, const char *p, uint32_t len)
{
    buf_append(out, "X'", 2);
    buf_hex(out, (const uint8_t *)p, len);
    buf_putc(out, '\'');
}

cot_err sql_render_value(buf *out, const cot_value *v, const cot_column *col, bool json_col,
                         bool in_where)
{
    const char *cs;
    switch (v->kind) {
    case VK_ABSENT:
        return COT_OK;
    case VK_NULL:
        buf_append(out, "NULL", 4);
        return COT_OK;
    case VK_INT:
        buf_i64(out, v->i);
        return COT_OK;
    case VK_UINT:
    case VK_BIT:
    case VK_ENUM:
    case VK_SET:
        buf_u64(out, v->u);
        return COT_OK;
    case VK_FLOAT:
    case VK_DOUBLE:
        if (!isfinite(v->d))
            return cot_err_set(COT_ERR_SQL,
                               "column '%s' holds %s, which MySQL cannot store; the source "
                               "wrote a value the target cannot represent",
                               col && col->name ? col->name : "?",
                               isnan(v->d) ? "NaN" : "an infinite value");
        /* Scientific notation makes the literal a DOUBLE; 17 digits round trip. */
        buf_printf(out, "%.17e", v->d);
        return COT_OK;
    case VK_DECIMAL:
        if (!sql__is_decimal(v->s.p, v->s.len))
            return cot_err_set(
                COT_ERR_MALFORMED, "column '%s': decimal value '%.*s' is not a number",
                col && col->name ? col->name : "?", (int)(v->s.len > 64 ? 64 : v->s.len), v->s.p);
        buf_append(out, v->s.p, v->s.len);
        return COT_OK;
    case VK_TEMPORAL:
        sql__quote(out, v->s.p, v->s.len);
        return COT_OK;
    case VK_STRING:
        /* Hex is safe for any byte; the introducer tells the server the charset. */
        cs = col && col->charset ? col->charset : "utf8mb4";
        if (sql__is_ident(cs)) {
            buf_putc(out, '_');
            buf_puts(out, cs);
            buf_putc(out, ' ');
        }
        sql__hex(out, v->s.p, v->s.len);
        return COT_OK;
    case VK_BINARY:
    case VK_GEOMETRY:
        sql__hex(out, v->s.p, v->s.len);
        return COT_OK;
    case VK_JSON:
        if (json_col && in_where) buf_puts(out, "CAST(");
        buf_puts(out, "_utf8mb4 ");
        sql__hex(out, v->s.p, v->s.len);
        if (json_col && in_where) buf_puts(out, " AS JSON)");
        return COT_OK;
    default:
        return cot_err_set(COT_ERR_MALFORMED, "column '%s': unknown value kind %u",
                           col && col->name ? col->name : "?", (unsigned)v->kind);
    }
}

/* ---- the builder -------------------------------------------------------- */

const char *sql_kind_name(sql_kind kind)
{
    switch (kind) {
    case SQL_NONE:
        return "none";
    case SQL_UPSERT:
        return "upsert";
    case SQL_INSERT:
        return "insert";
    case SQL_DELETE_KEYS:
        return "delete";
    case SQL_UPDATE:
        return "update";
    case SQL_DELETE:
        return "delete";
    case SQL_POSITION:
        return "position";
    case SQL_COMMIT:
        return "commit";
    case SQL_SESSION:
        return "session setting";
    }
    return "?";
}

void sql_builder_init(sql_builder *sb, const char *target, size_t max_bytes)
{
    memset(sb, 0, sizeof(*sb));
    buf_init(&sb->pkt);
    buf_init(&sb->row);
    buf_init(&sb->suffix);
    sb->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
    sb->target = target ? target : "?";
}

void sql_builder_deinit(sql_builder *sb)
{
    buf_deinit(&sb->pkt);
    buf_deinit(&sb->row);
    buf_deinit(&sb->suffix);
    free(sb->sig);
    free(sb->row_sig);
    free(sb->stmts);
    memset(sb, 0, sizeof(*sb));
}

void sql_builder_close(sql_builder *sb)
{
    if (sb->kind == SQL_NONE) return;
    buf_append(&sb->pkt, sb->suffix.data, sb->suffix.len);
    buf_reset(&sb->suffix);
    sb->kind = SQL_NONE;
    sb->td = NULL;
    sb->tbl = NULL;
}

void sql_builder_forget(sql_builder *sb, const sql_tdesc *td)
{
    if (sb->kind != SQL_NONE && sb->td == td) sql_builder_close(sb);
}

bool sql_builder_ready(const sql_builder *sb)
{
    return sb->pkt.len >= sb->max_bytes;
}

void sql_builder_clear(sql_builder *sb)
{
    buf_reset(&sb->pkt);
    buf_reset(&sb->suffix);
    sb->kind = SQL_NONE;
    sb->td = NULL;
    sb->tbl = NULL;
    sb->n_stmts = 0;
}

size_t sql_builder_stmt_len(const sql_builder *sb, uint32_t i)
{
    if (i >= sb->n_stmts) return 0;
    size_t end = i + 1 < sb->n_stmts ? sb->stmts[i + 1].off - 1 : sb->pkt.len;
    return end - sb->stmts[i].off;
}

/* sql_builder__begin closes the open statement and starts a new one of kind
 * for td in the packet; the caller appends its text. */
static void sql_builder__begin(sql_builder *sb, sql_kind kind, const sql_tdesc *td)
{
    sql_builder_close(sb);
    if (sb->n_stmts == sb->cap_stmts) {
        sb->cap_stmts = sb->cap_stmts ? sb->cap_stmts * 2 : 64;
        sb->stmts = xrealloc(sb->stmts, sb->cap_stmts * sizeof(sql_stmt));
    }
    if (sb->pkt.len) buf_putc(&sb->pkt, ';');
    sql_stmt *st = &sb->stmts[sb->n_stmts++];
    st->off = sb->pkt.len;
    st->td = td;
    st->kind = (uint8_t)kind;
    st->n_rows = 1;
}

static void sql__table(buf *out, const sql_tdesc *td)
{
    buf_ident(out, td->schema);
    buf_putc(out, '.');
    buf_ident(out, td->name);
}

static bool sql__present(const cot_value *img, const sql_tdesc *td, uint32_t i)
{
    return img[i].kind != VK_ABSENT && !(td->src_flags[i] & SQL_SRC_SKIP);
}

/* sql__key_usable says whether img carries every key column, none NULL. */
static bool sql__key_usable(const sql_tdesc *td, const cot_value *img)
{
    if (td->n_key == 0 || !img) return false;
    for (uint32_t k = 0; k < td->n_key; k++) {
        uint8_t kind = img[td->key_src[k]].kind;
        if (kind == VK_ABSENT || kind == VK_NULL) return false;
    }
    return true;
}

static bool sql__key_equal(const sql_tdesc *td, const cot_value *x, const cot_value *y)
{
    for (uint32_t k = 0; k < td->n_key; k++)
        if (!cot_value_equal(&x[td->key_src[k]], &y[td->key_src[k]])) return false;
    return true;
}

static void sql_builder__sig_reserve(sql_builder *sb, uint32_t n)
{
    if (n <= sb->cap_sig) return;
    sb->sig = xrealloc(sb->sig, n);
    sb->row_sig = xrealloc(sb->row_sig, n);
    sb->cap_sig = n;
}

static cot_err sql__render(buf *out, const cot_table *tbl, const sql_tdesc *td, uint32_t i,
                           const cot_value *v, bool in_where)
{
    return sql_render_value(out, v, &tbl->cols[i], (td->src_flags[i] & SQL_SRC_JSON) != 0,
                            in_where);
}

/* sql_builder__add_row renders img as a VALUES tuple and adds it to an open
 * statement of the same kind, table and column set, or starts one. */
static cot_err sql_builder__add_row(sql_builder *sb, sql_kind kind, const sql_tdesc *td,
                                    const cot_table *tbl, const cot_value *img)
{
    sql_builder__sig_reserve(sb, tbl->n_cols);
    buf_reset(&sb->row);
    buf_putc(&sb->row, '(');
    bool first = true;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        sb->row_sig[i] = sql__present(img, td, i);
        if (!sb->row_sig[i]) continue;
        if (!first) buf_putc(&sb->row, ',');
        first = false;
        cot_err rc = sql__render(&sb->row, tbl, td, i, &img[i], false);
        if (rc) return rc;
    }
    buf_putc(&sb->row, ')');

    if (sb->kind == kind && sb->td == td && sb->tbl == tbl &&
        memcmp(sb->sig, sb->row_sig, tbl->n_cols) == 0) {
        size_t stmt_len = sb->pkt.len - sb->stmts[sb->n_stmts - 1].off;
        if (stmt_len + 1 + sb->row.len + sb->suffix.len <= sb->max_bytes) {
            buf_putc(&sb->pkt, ',');
            buf_append(&sb->pkt, sb->row.data, sb->row.len);
            sb->stmts[sb->n_stmts - 1].n_rows++;
            return COT_OK;
        }
    }

    sql_builder__begin(sb, kind, td);
    buf *p = &sb->pkt;
    buf_puts(p, "INSERT INTO ");
    sql__table(p, td);
    buf_puts(p, " (");
    first = true;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (!sb->row_sig[i]) continue;
        if (!first) buf_putc(p, ',');
        first = false;
        buf_ident(p, td->cols[td->map[i]].name);
    }
    buf_puts(p, ") VALUES ");
    buf_append(p, sb->row.data, sb->row.len);

    buf_reset(&sb->suffix);
    if (kind == SQL_UPSERT) {
        buf_puts(&sb->suffix, " ON DUPLICATE KEY UPDATE ");
        /* The row found must be the one with our key. If the new row hit
         * another unique key of the target instead, updating that row would
         * silently replace a different row: fail the statement (a subquery
         * of two rows, error 1242, reported as a unique-key collision). */
        buf_ident(&sb->suffix, td->cols[td->key[0]].name);
        buf_puts(&sb->suffix, "=IF(");
        for (uint32_t k = 0; k < td->n_key; k++) {
            const char *kn = td->cols[td->key[k]].name;
            if (k) buf_puts(&sb->suffix, " AND ");
            buf_ident(&sb->suffix, kn);
            buf_puts(&sb->suffix, "<=>VALUES(");
            buf_ident(&sb->suffix, kn);
            buf_putc(&sb->suffix, ')');
        }
        buf_putc(&sb->suffix, ',');
        buf_ident(&sb->suffix, td->cols[td->key[0]].name);
        buf_puts(&sb->suffix, ",(SELECT 1 UNION ALL SELECT 2))");
        first = false;
        for (uint32_t i = 0; i < tbl->n_cols; i++) {
            if (!sb->row_sig[i]) continue;
            bool is_key = false;
            for (uint32_t k = 0; k < td->n_key; k++)
                if (td->key_src[k] == i) is_key = true;
            if (is_key) continue; /* equal by the guard above */
            const char *name = td->cols[td->map[i]].name;
            if (!first) buf_putc(&sb->suffix, ',');
            first = false;
            buf_ident(&sb->suffix, name);
            buf_puts(&sb->suffix, "=VALUES(");
            buf_ident(&sb->suffix, name);
            buf_putc(&sb->suffix, ')');
        }
    }
    memcpy(sb->sig, sb->row_sig, tbl->n_cols);
    sb->kind = (uint8_t)kind;
    sb->td = td;
    sb->tbl = tbl;
    return COT_OK;
}

/* sql_builder__add_delete_key adds the key of img to an open key delete of
 * the same table, or starts one. One key column: k IN (v,..); several:
 * (k1=v AND k2=v) OR (...). */
static cot_err sql_builder__add_delete_key(sql_builder *sb, const sql_tdesc *td,
                                           const cot_table *tbl, const cot_value *img)
{
    bool multi = td->n_key > 1;
    buf_reset(&sb->row);
    if (multi) buf_putc(&sb->row, '(');
    for (uint32_t k = 0; k < td->n_key; k++) {
        uint32_t i = td->key_src[k];
        if (multi) {
            if (k) buf_puts(&sb->row, " AND ");
            buf_ident(&sb->row, td->cols[td->key[k]].name);
            buf_putc(&sb->row, '=');
        }
        cot_err rc = sql__render(&sb->row, tbl, td, i, &img[i], true);
        if (rc) return rc;
    }
    if (multi) buf_putc(&sb->row, ')');

    if (sb->kind == SQL_DELETE_KEYS && sb->td == td && sb->tbl == tbl) {
        size_t stmt_len = sb->pkt.len - sb->stmts[sb->n_stmts - 1].off;
        if (stmt_len + 4 + sb->row.len + sb->suffix.len <= sb->max_bytes) {
            buf_puts(&sb->pkt, multi ? " OR " : ",");
            buf_append(&sb->pkt, sb->row.data, sb->row.len);
            sb->stmts[sb->n_stmts - 1].n_rows++;
            return COT_OK;
        }
    }
    sql_builder__begin(sb, SQL_DELETE_KEYS, td);
    buf *p = &sb->pkt;
    buf_puts(p, "DELETE FROM ");
    sql__table(p, td);
    buf_puts(p, " WHERE ");
    if (!multi) {
        buf_ident(p, td->cols[td->key[0]].name);
        buf_puts(p, " IN (");
    }
    buf_append(p, sb->row.data, sb->row.len);
    buf_reset(&sb->suffix);
    if (!multi) buf_putc(&sb->suffix, ')');
    sb->kind = SQL_DELETE_KEYS;
    sb->td = td;
    sb->tbl = tbl;
    return COT_OK;
}

/* sql__where_col renders a column for comparison with v. SET and BIT
 * values compare as unsigned numbers: MariaDB's `set+0` wraps to a negative
 * number for member 64, so it must be CAST. ENUM compares by index (+0). */
static void sql__where_col(buf *out, const char *name, const cot_value *v)
{
    if (v->kind == VK_SET || v->kind == VK_BIT) {
        buf_puts(out, "CAST(");
        buf_ident(out, name);
        buf_puts(out, " AS UNSIGNED)");
        return;
    }
    buf_ident(out, name);
    if (v->kind == VK_ENUM) buf_puts(out, "+0");
}

/* sql__where_key renders "k1=v AND k2=v" from img into out. */
static cot_err sql__where_key(buf *out, const sql_tdesc *td, const cot_table *tbl,
                              const cot_value *img)
{
    for (uint32_t k = 0; k < td->n_key; k++) {
        uint32_t i = td->key_src[k];
        if (k) buf_puts(out, " AND ");
        sql__where_col(out, td->cols[td->key[k]].name, &img[i]);
        buf_putc(out, '=');
        cot_err rc = sql__render(out, tbl, td, i, &img[i], true);
        if (rc) return rc;
    }
    return COT_OK;
}

/* sql__where_all renders "c1<=>v AND ..." over every present column of img
 * into out; COT_ERR_UNSUPPORTED when no column is present. */
static cot_err sql__where_all(buf *out, const sql_tdesc *td, const cot_table *tbl,
                              const cot_value *img)
{
    bool first = true;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (!sql__present(img, td, i)) continue;
        if (!first) buf_puts(out, " AND ");
        first = false;
        sql__where_col(out, td->cols[td->map[i]].name, &img[i]);
        buf_puts(out, "<=>");
        cot_err rc = sql__render(out, tbl, td, i, &img[i], true);
        if (rc) return rc;
    }
    if (first)
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "the before image carries no column the target stores, so the row "
                           "cannot be found; use binlog_row_image=FULL on the source");
    return COT_OK;
}

/* sql_builder__add_update writes a one-row UPDATE: SET the present after
 * columns, WHERE the key (by_key) or every present before column, LIMIT 1. */
static cot_err sql_builder__add_update(sql_builder *sb, const sql_tdesc *td, const cot_table *tbl,
                                       const cot_change *ch, bool by_key)
{
    sql_builder_close(sb);
    buf *set = &sb->row, *where = &sb->suffix;
    buf_reset(set);
    buf_reset(where);
    bool first = true;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (!sql__present(ch->after, td, i)) continue;
        if (!first) buf_putc(set, ',');
        first = false;
        buf_ident(set, td->cols[td->map[i]].name);
        buf_putc(set, '=');
        cot_err rc = sql__render(set, tbl, td, i, &ch->after[i], false);
        if (rc) return rc;
    }
    if (first) return COT_OK; /* nothing the target stores changed */
    cot_err rc = by_key ? sql__where_key(where, td, tbl, ch->before)
                        : sql__where_all(where, td, tbl, ch->before);
    if (rc) {
        buf_reset(where);
        return rc;
    }
    sql_builder__begin(sb, SQL_UPDATE, td);
    buf *p = &sb->pkt;
    buf_puts(p, "UPDATE ");
    sql__table(p, td);
    buf_puts(p, " SET ");
    buf_append(p, set->data, set->len);
    buf_puts(p, " WHERE ");
    buf_append(p, where->data, where->len);
    if (!by_key) buf_puts(p, " LIMIT 1");
    buf_reset(where);
    return COT_OK;
}

/* sql_builder__add_delete_row writes a one-row keyless DELETE ... LIMIT 1. */
static cot_err sql_builder__add_delete_row(sql_builder *sb, const sql_tdesc *td,
                                           const cot_table *tbl, const cot_value *img)
{
    sql_builder_close(sb);
    buf_reset(&sb->row);
    cot_err rc = sql__where_all(&sb->row, td, tbl, img);
    if (rc) return rc;
    sql_builder__begin(sb, SQL_DELETE, td);
    buf *p = &sb->pkt;
    buf_puts(p, "DELETE FROM ");
    sql__table(p, td);
    buf_puts(p, " WHERE ");
    buf_append(p, sb->row.data, sb->row.len);
    buf_puts(p, " LIMIT 1");
    return COT_OK;
}

cot_err sql_builder_add(sql_builder *sb, const sql_tdesc *td, const cot_change *ch)
{
    const cot_table *tbl = ch->tbl;
    if (td->map_tbl != tbl)
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "target %s: internal error: %s.%s is not mapped from source %s.%s",
                           sb->target, td->schema, td->name, tbl->src_schema, tbl->src_name);
    cot_err rc = COT_OK;
    switch (ch->op) {
    case OP_INSERT:
        if (!ch->after) goto malformed;
        rc = sql_builder__add_row(sb, sql__key_usable(td, ch->after) ? SQL_UPSERT : SQL_INSERT, td,
                                  tbl, ch->after);
        break;
    case OP_UPDATE: {
        if (!ch->after || !ch->before) goto malformed;
        bool full = true;
        for (uint32_t i = 0; i < tbl->n_cols && full; i++) full = ch->after[i].kind != VK_ABSENT;
        bool before_key = sql__key_usable(td, ch->before);
        bool after_key = sql__key_usable(td, ch->after);
        bool key_moves = !after_key || !sql__key_equal(td, ch->before, ch->after);
        /* a key that moves under an ON UPDATE foreign key: one UPDATE, so the
         * target's cascade follows it (a DELETE would run ON DELETE) */
        if (before_key && full && !(key_moves && td->fk_on_update)) {
            if (key_moves) {
                rc = sql_builder__add_delete_key(sb, td, tbl, ch->before);
                if (rc) break;
            }
            rc = sql_builder__add_row(sb, after_key ? SQL_UPSERT : SQL_INSERT, td, tbl, ch->after);
        } else {
            rc = sql_builder__add_update(sb, td, tbl, ch, before_key);
        }
        break;
    }
    case OP_DELETE:
        if (!ch->before) goto malformed;
        if (sql__key_usable(td, ch->before))
            rc = sql_builder__add_delete_key(sb, td, tbl, ch->before);
        else
            rc = sql_builder__add_delete_row(sb, td, tbl, ch->before);
        break;
    default:
        goto malformed;
    }
    if (rc)
        cot_err_prefix("target %s, table %s.%s (source %s.%s), %s: ", sb->target, td->schema,
                       td->name, tbl->src_schema, tbl->src_name, cot_op_name(ch->op));
    return rc;
malformed:
    return cot_err_set(COT_ERR_MALFORMED,
                       "target %s: a change of source %s.%s has op %u without the row images "
                       "it needs",
                       sb->target, tbl->src_schema, tbl->src_name, (unsigned)ch->op);
}

void sql_builder_add_session(sql_builder *sb, const char *stmt)
{
    sql_builder__begin(sb, SQL_SESSION, NULL);
    buf_puts(&sb->pkt, stmt);
}

void sql_position_row_name(const char *pipeline, uint32_t index, char *out, size_t cap)
{
    if (index == 0)
        snprintf(out, cap, "%s", pipeline);
    else
        snprintf(out, cap, "%s#%u", pipeline, (unsigned)index);
}

void sql_builder_add_commit(sql_builder *sb, const char *pipeline, const uint32_t *index,
                            const cot_pos *pos, uint32_t n, uint32_t prune_from, uint32_t prune_to,
                            uint32_t ts)
{
    buf *p = &sb->pkt;
    char name[256];
    if (n) {
        sql_builder__begin(sb, SQL_POSITION, NULL);
        buf_puts(p, "INSERT INTO `cotter`.`positions` (pipeline,binlog_file,binlog_pos,gtid,"
                    "source_ts) VALUES ");
        for (uint32_t i = 0; i < n; i++) {
            sql_position_row_name(pipeline, index[i], name, sizeof(name));
            buf_puts(p, i ? ",(_utf8mb4 " : "(_utf8mb4 ");
            sql__hex(p, name, (uint32_t)strlen(name));
            buf_puts(p, ",_utf8mb4 ");
            sql__hex(p, pos[i].file, (uint32_t)strnlen(pos[i].file, sizeof(pos[i].file)));
            buf_printf(p, ",%llu,_utf8mb4 ", (unsigned long long)pos[i].pos);
            sql__hex(p, pos[i].gtid, (uint32_t)strnlen(pos[i].gtid, sizeof(pos[i].gtid)));
            buf_printf(p, ",%u)", (unsigned)ts);
        }
        buf_puts(p, " ON DUPLICATE KEY UPDATE binlog_file=VALUES(binlog_file),"
                    "binlog_pos=VALUES(binlog_pos),gtid=VALUES(gtid),source_ts=VALUES(source_ts),"
                    "updated_at=CURRENT_TIMESTAMP(6)");
    }
    if (prune_from < prune_to) {
        /* worker rows of a wider layout, by name: point deletes on the key,
         * which lock no other pipeline's row */
        sql_builder__begin(sb, SQL_POSITION, NULL);
        buf_puts(p, "DELETE FROM `cotter`.`positions` WHERE pipeline IN (");
        for (uint32_t k = prune_from; k < prune_to; k++) {
            sql_position_row_name(pipeline, k, name, sizeof(name));
            buf_puts(p, k > prune_from ? ",_utf8mb4 " : "_utf8mb4 ");
            sql__hex(p, name, (uint32_t)strlen(name));
        }
        buf_puts(p, ")");
    }
    sql_builder__begin(sb, SQL_COMMIT, NULL);
    buf_puts(p, "COMMIT");
}
