/*
 * `cotter decode`: drives binlog_file and the binlog_event parsers over a
 * local file. State per call: the current FDE, a small table cache keyed by
 * table id (a TABLE_MAP identical to the cached one reuses the table), one
 * chunk reused for every rows event, and one output buffer written to the
 * stream per event. Counting mode prints nothing and formats nothing.
 */
#include "source/binlog_print.h"

#include "source/binlog_file.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/redact.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One cached TABLE_MAP: its body bytes and the table built from it. */
typedef struct pr_table {
    uint64_t table_id;
    uint8_t *raw; /* event body after the common header, without checksum */
    size_t raw_len;
    cot_table *tbl;
    binlog_tablemap tm; /* for ENUM/SET names when printing; in pr->tm_mem */
} pr_table;

typedef struct printer {
    const char *path;
    FILE *out;
    binlog_print_stats *st;
    binlog_fde fde;
    pr_table *tables;
    uint32_t n_tables, cap_tables;
    cot_chunk *ck;
    arena tm_mem; /* tablemaps kept for printing (reset when the cache is) */
    buf text;
    bool show_secrets; /* statement text as written, passwords included */
} printer;

static void pr_tables_clear(printer *pr)
{
    for (uint32_t i = 0; i < pr->n_tables; i++) {
        cot_table_unref(pr->tables[i].tbl);
        free(pr->tables[i].raw);
    }
    pr->n_tables = 0;
    arena_reset(&pr->tm_mem);
}

static pr_table *pr_table_find(printer *pr, uint64_t id)
{
    for (uint32_t i = 0; i < pr->n_tables; i++)
        if (pr->tables[i].table_id == id) return &pr->tables[i];
    return NULL;
}

/* pr_chunk_clear empties the reused chunk: changes, table refs, values. */
static void pr_chunk_clear(cot_chunk *ck)
{
    for (uint32_t i = 0; i < ck->n_tables; i++) cot_table_unref(ck->tables[i]);
    ck->n_tables = 0;
    ck->n_changes = 0;
    arena_reset(&ck->mem);
}

static cot_err pr_tablemap(printer *pr, const uint8_t *ev, size_t len, pr_table **out)
{
    size_t hl = pr->fde.header_len;
    size_t tail = pr->fde.checksum_alg == BINLOG_CHECKSUM_CRC32 ? 4 : 0;
    const uint8_t *raw = ev + hl;
    size_t raw_len = len >= hl + tail ? len - hl - tail : 0;
    uint64_t id = 0;
    for (int i = 0; i < 6 && (size_t)i < raw_len; i++) id |= (uint64_t)raw[i] << (8 * i);
    pr_table *t = pr_table_find(pr, id);
    if (t && t->raw_len == raw_len && memcmp(t->raw, raw, raw_len) == 0) {
        *out = t;
        return COT_OK;
    }
    if (!t && pr->n_tables >= 4096) pr_tables_clear(pr); /* bound a pathological file */
    binlog_tablemap tm;
    cot_err rc = binlog_tablemap_parse(&pr->fde, ev, len, &pr->tm_mem, &tm);
    if (rc != COT_OK) return rc;
    if (!t) t = pr_table_find(pr, tm.table_id);
    if (!t) {
        if (pr->n_tables == pr->cap_tables) {
            uint32_t cap = pr->cap_tables ? pr->cap_tables * 2 : 16;
            pr_table *nt = realloc(pr->tables, cap * sizeof(*nt));
            if (!nt) abort();
            pr->tables = nt;
            pr->cap_tables = cap;
        }
        t = &pr->tables[pr->n_tables++];
        memset(t, 0, sizeof(*t));
    } else {
        cot_table_unref(t->tbl);
        free(t->raw);
    }
    t->table_id = tm.table_id;
    t->raw = malloc(raw_len ? raw_len : 1);
    if (!t->raw) abort();
    memcpy(t->raw, raw, raw_len);
    t->raw_len = raw_len;
    t->tbl = binlog_table_from_map(&tm);
    t->tm = tm;
    *out = t;
    return COT_OK;
}

/* ---- text output -------------------------------------------------------- */

/* put_statement appends statement text from the binlog: passwords redacted
 * (unless asked for), control characters as \n, \t, \r, \xNN so that a
 * statement can neither forge lines of the output nor drive a terminal. */
static void put_statement(const printer *pr, buf *b, const char *sql, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf red;
    buf_init(&red);
    if (pr->show_secrets)
        buf_append(&red, sql, n);
    else
        redact_secrets(sql, n, &red);
    size_t run = 0;
    for (size_t i = 0; i < red.len; i++) {
        uint8_t ch = (uint8_t)red.data[i];
        if (ch >= 0x20 && ch != 0x7f) continue;
        buf_append(b, red.data + run, i - run);
        run = i + 1;
        char e[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
        if (ch == '\n' || ch == '\t' || ch == '\r') {
            e[1] = ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r';
            buf_append(b, e, 2);
        } else {
            buf_append(b, e, 4);
        }
    }
    buf_append(b, red.data + run, red.len - run);
    buf_deinit(&red);
}

/* put_quoted appends 'text' with quotes, backslashes and control bytes
 * escaped (and bytes >= 0x80 too for binary); long values are cut. */
static void put_quoted(buf *b, const char *s, size_t n, bool binary)
{
    static const char hex[] = "0123456789abcdef";
    const size_t limit = 1024;
    size_t shown = n > limit ? limit : n;
    buf_reserve(b, shown + 2);
    buf_putc(b, '\'');
    size_t run = 0;
    for (size_t i = 0; i < shown; i++) {
        uint8_t ch = (uint8_t)s[i];
        bool plain =
            ch >= 0x20 && ch != 0x7f && ch != '\'' && ch != '\\' && !(binary && ch >= 0x80);
        if (plain) continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        if (ch == '\'' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            buf_append(b, e, 2);
        } else if (ch == '\n') {
            buf_append(b, "\\n", 2);
        } else if (ch == '\t') {
            buf_append(b, "\\t", 2);
        } else {
            char e[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
            buf_append(b, e, 4);
        }
    }
    buf_append(b, s + run, shown - run);
    buf_putc(b, '\'');
    if (shown < n) buf_printf(b, "... (%zu bytes)", n);
}

static void put_value(buf *b, const cot_value *v, const binlog_tablemap *tm, uint32_t col)
{
    switch ((cot_vkind)v->kind) {
    case VK_ABSENT:
        break;
    case VK_NULL:
        buf_puts(b, "NULL");
        break;
    case VK_INT:
        buf_i64(b, v->i);
        break;
    case VK_UINT:
        buf_u64(b, v->u);
        break;
    case VK_FLOAT:
        buf_printf(b, "%.9g", v->d);
        break;
    case VK_DOUBLE:
        buf_printf(b, "%.17g", v->d);
        break;
    case VK_DECIMAL:
        buf_append(b, v->s.p, v->s.len);
        break;
    case VK_STRING:
    case VK_TEMPORAL:
    case VK_JSON:
        put_quoted(b, v->s.p, v->s.len, false);
        break;
    case VK_BINARY:
        put_quoted(b, v->s.p, v->s.len, true);
        break;
    case VK_GEOMETRY:
        buf_puts(b, "X'");
        buf_hex(b, (const uint8_t *)v->s.p, v->s.len);
        buf_putc(b, '\'');
        break;
    case VK_BIT: {
        char bits[65];
        int n = 0;
        for (int k = 63; k >= 0; k--)
            if (n || (v->u >> k & 1) || k == 0) bits[n++] = (char)('0' + (v->u >> k & 1));
        buf_printf(b, "b'%.*s'", n, bits);
        break;
    }
    case VK_ENUM: {
        buf_printf(b, "%" PRIu64, v->u);
        char **names = tm->enum_values ? tm->enum_values[col] : NULL;
        if (names && v->u > 0) {
            uint64_t k = 1;
            while (names[k - 1] && k < v->u) k++;
            if (names[k - 1]) {
                buf_puts(b, " (");
                put_quoted(b, names[k - 1], strlen(names[k - 1]), false);
                buf_putc(b, ')');
            }
        }
        break;
    }
    case VK_SET: {
        buf_printf(b, "%" PRIu64, v->u);
        char **names = tm->set_values ? tm->set_values[col] : NULL;
        if (names) {
            buf_puts(b, " ('");
            bool first = true;
            for (unsigned k = 0; k < 64 && names[k]; k++) {
                if (!(v->u >> k & 1)) continue;
                if (!first) buf_putc(b, ',');
                buf_puts(b, names[k]);
                first = false;
            }
            buf_puts(b, "')");
        }
        break;
    }
    }
}

static void put_image(buf *b, const cot_table *tbl, const binlog_tablemap *tm,
                      const cot_value *vals)
{
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (vals[i].kind == VK_ABSENT) continue;
        buf_append(b, "###   @", 7);
        buf_u64(b, i + 1);
        buf_putc(b, '=');
        put_value(b, &vals[i], tm, i);
        if (tbl->cols[i].name) {
            buf_append(b, " (", 2);
            buf_puts(b, tbl->cols[i].name);
            buf_putc(b, ')');
        }
        buf_putc(b, '\n');
    }
}

static void put_rows(printer *pr, const pr_table *t)
{
    buf *b = &pr->text;
    const cot_table *tbl = t->tbl;
    for (uint32_t i = 0; i < pr->ck->n_changes; i++) {
        const cot_change *ch = &pr->ck->changes[i];
        switch (ch->op) {
        case OP_INSERT:
            buf_printf(b, "### INSERT INTO %s.%s\n", tbl->src_schema, tbl->src_name);
            put_image(b, tbl, &t->tm, ch->after);
            break;
        case OP_UPDATE:
            buf_printf(b, "### UPDATE %s.%s\n### WHERE\n", tbl->src_schema, tbl->src_name);
            put_image(b, tbl, &t->tm, ch->before);
            buf_puts(b, "### SET\n");
            put_image(b, tbl, &t->tm, ch->after);
            break;
        default:
            buf_printf(b, "### DELETE FROM %s.%s\n", tbl->src_schema, tbl->src_name);
            put_image(b, tbl, &t->tm, ch->before);
            break;
        }
    }
}

/* ---- the walk ----------------------------------------------------------- */

static cot_err pr_event(printer *pr, const uint8_t *ev, size_t len, uint64_t off)
{
    binlog_header h;
    cot_err rc = binlog_header_parse(ev, len, &h);
    if (rc != COT_OK) return rc;
    buf *b = &pr->text;
    bool print = pr->out != NULL;
    if (print) {
        buf_reset(b);
        buf_printf(b, "# at %" PRIu64 ": %s", off, binlog_event_type_name(h.type));
    }
    if (h.type == BEV_FORMAT_DESCRIPTION) {
        binlog_fde fde;
        rc = binlog_fde_parse(ev, len, &fde);
        if (rc != COT_OK) return rc;
        if (!binlog_checksum_ok(&fde, ev, len))
            return cot_err_set(COT_ERR_MALFORMED, "FORMAT_DESCRIPTION event: CRC32 mismatch");
        pr->fde = fde;
        pr_tables_clear(pr);
        if (print)
            buf_printf(b, " server %s, binlog v%u, checksum %s\n", fde.server_version,
                       fde.binlog_version,
                       fde.checksum_alg == BINLOG_CHECKSUM_CRC32 ? "CRC32" : "none");
        goto done;
    }
    if (!binlog_checksum_ok(&pr->fde, ev, len))
        return cot_err_set(COT_ERR_MALFORMED, "%s event: CRC32 mismatch (the event is corrupt)",
                           binlog_event_type_name(h.type));
    if (binlog_is_rows_event(h.type)) {
        binlog_rows_head rh;
        rc = binlog_rows_head_parse(&pr->fde, ev, len, &rh);
        if (rc != COT_OK) return rc;
        pr_table *t = pr_table_find(pr, rh.table_id);
        if (!t)
            return cot_err_set(COT_ERR_SCHEMA,
                               "%s event for table id %" PRIu64
                               " without a preceding TABLE_MAP (the file starts in the middle of "
                               "a transaction?)",
                               binlog_event_type_name(h.type), rh.table_id);
        rc = binlog_rows_decode(&pr->fde, ev, len, t->tbl, 0, pr->ck);
        if (rc != COT_OK) return rc;
        pr->st->rows_events++;
        pr->st->rows += pr->ck->n_changes;
        if (print) {
            buf_printf(b, " %s.%s (table id %" PRIu64 ", %u rows%s)\n", t->tbl->src_schema,
                       t->tbl->src_name, rh.table_id, pr->ck->n_changes,
                       (rh.flags & BINLOG_ROWS_STMT_END) ? ", STMT_END" : "");
            put_rows(pr, t);
        }
        pr_chunk_clear(pr->ck);
        goto done;
    }
    switch (h.type) {
    case BEV_TABLE_MAP: {
        pr_table *t;
        rc = pr_tablemap(pr, ev, len, &t);
        if (rc != COT_OK) return rc;
        if (print)
            buf_printf(b, " %s.%s (table id %" PRIu64 ", %u columns%s)\n", t->tbl->src_schema,
                       t->tbl->src_name, t->table_id, t->tbl->n_cols,
                       t->tbl->has_names ? ", with names" : "");
        break;
    }
    case BEV_QUERY:
    case BEV_MARIA_QUERY_COMPRESSED: {
        arena a;
        arena_init(&a);
        binlog_query q;
        rc = binlog_query_parse(&pr->fde, ev, len, 0, &a, &q);
        if (rc == COT_OK && print) {
            buf_puts(b, " db=");
            put_statement(pr, b, q.db, q.db_len);
            buf_puts(b, ": ");
            put_statement(pr, b, q.sql, q.sql_len);
            buf_putc(b, '\n');
        }
        arena_deinit(&a);
        if (rc != COT_OK) return rc;
        break;
    }
    case BEV_MARIA_GTID:
    case BEV_MYSQL_GTID:
    case BEV_MYSQL_ANONYMOUS_GTID: {
        binlog_gtid g;
        rc = binlog_gtid_parse(&pr->fde, ev, len, &g);
        if (rc != COT_OK) return rc;
        if (print) buf_printf(b, " %s%s\n", g.text, g.standalone ? " (standalone)" : "");
        break;
    }
    case BEV_XID: {
        uint64_t xid;
        rc = binlog_xid_parse(&pr->fde, ev, len, &xid);
        if (rc != COT_OK) return rc;
        if (print) buf_printf(b, " %" PRIu64 "\n", xid);
        break;
    }
    case BEV_ROTATE: {
        binlog_rotate r;
        rc = binlog_rotate_parse(&pr->fde, ev, len, &r);
        if (rc != COT_OK) return rc;
        if (print) buf_printf(b, " to %s:%" PRIu64 "\n", r.file, r.position);
        break;
    }
    case BEV_MARIA_ANNOTATE_ROWS:
    case BEV_ROWS_QUERY:
        if (print) {
            size_t hl = pr->fde.header_len;
            size_t tail = pr->fde.checksum_alg == BINLOG_CHECKSUM_CRC32 ? 4 : 0;
            size_t skip = h.type == BEV_ROWS_QUERY ? 1 : 0; /* MySQL: a length byte */
            if (len >= hl + tail + skip) {
                buf_puts(b, ": ");
                put_statement(pr, b, (const char *)ev + hl + skip, len - hl - tail - skip);
            }
            buf_putc(b, '\n');
        }
        break;
    default:
        if (print) buf_putc(b, '\n');
        break;
    }
done:
    if (print && b->len && fwrite(b->data, 1, b->len, pr->out) != b->len)
        return cot_err_set(COT_ERR_IO, "writing the decoded text failed");
    return COT_OK;
}

cot_err binlog_print_file(const char *path, FILE *out, binlog_print_stats *st)
{
    return binlog_print_file_opts(path, out, false, st);
}

cot_err binlog_print_file_opts(const char *path, FILE *out, bool show_secrets,
                               binlog_print_stats *st)
{
    binlog_file *bf;
    cot_err rc = binlog_file_open(path, &bf);
    if (rc != COT_OK) return rc;
    printer pr = {.path = path, .out = out, .st = st, .show_secrets = show_secrets};
    binlog_fde_default(&pr.fde, BINLOG_CHECKSUM_NONE);
    pr.ck = cot_chunk_new();
    arena_init(&pr.tm_mem);
    buf_init(&pr.text);
    st->bytes += 4;
    for (;;) {
        const uint8_t *ev;
        size_t len;
        uint64_t off;
        rc = binlog_file_next(bf, &ev, &len, &off);
        if (rc == COT_ERR_NOT_FOUND) {
            rc = COT_OK;
            break;
        }
        if (rc != COT_OK) break;
        st->events++;
        st->bytes += len;
        rc = pr_event(&pr, ev, len, off);
        if (rc != COT_OK) {
            cot_err_prefix("binlog %s, event at offset %" PRIu64 ": ", path, off);
            break;
        }
    }
    pr_tables_clear(&pr);
    free(pr.tables);
    cot_chunk_free(pr.ck);
    arena_deinit(&pr.tm_mem);
    buf_deinit(&pr.text);
    binlog_file_close(bf);
    return rc;
}
