/*
 * Mapping plans and their application to chunks (see the header). Plans
 * are cached by the routed table object, whose reference they hold, so a
 * table rebuilt after a DDL gets a new plan and an old address is never
 * mistaken for a new table.
 */
#include "pipeline/transform.h"
#include "sql/ddl_rewrite.h"
#include "pipeline/row_filter.h"
#include "util/buf.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLAN_CACHE_MAX 1024
#define PROJ_CONST     UINT32_MAX

typedef struct plan {
    cot_table *in;     /* routed source-shaped table (reference held) */
    cot_table *out;    /* projected table, or NULL: columns unchanged */
    uint32_t *proj;    /* per out column: in column, or PROJ_CONST */
    cot_value *consts; /* per out column (only PROJ_CONST ones set) */
    row_filter *rf;    /* NULL: no filter */
    const cfg_table_map *tm;
} plan;

struct transform {
    const cfg_pipeline *pc;
    plan *plans;
    uint32_t n_plans;
    uint32_t cap_plans;
    plan *last;
};

transform *transform_new(const cfg_pipeline *pc)
{
    transform *tf = calloc(1, sizeof(*tf));
    if (!tf) abort();
    tf->pc = pc;
    return tf;
}

static void plan_deinit(plan *p)
{
    if (p->consts) {
        for (uint32_t i = 0; p->out && i < p->out->n_cols; i++)
            if (p->proj[i] == PROJ_CONST) free((void *)p->consts[i].s.p);
        free(p->consts);
    }
    free(p->proj);
    row_filter_free(p->rf);
    cot_table_unref(p->out);
    cot_table_unref(p->in);
}

static void transform__clear(transform *tf)
{
    for (uint32_t i = 0; i < tf->n_plans; i++) plan_deinit(&tf->plans[i]);
    tf->n_plans = 0;
    tf->last = NULL;
}

void transform_free(transform *tf)
{
    if (!tf) return;
    transform__clear(tf);
    free(tf->plans);
    free(tf);
}

const cfg_table_map *transform_mapping(const cfg_pipeline *pc, const char *schema,
                                       const char *table, char *shadow_base, size_t cap)
{
    if (shadow_base && cap) shadow_base[0] = '\0';
    for (int i = 0; i < pc->n_skip_tables; i++)
        if (table_glob_match(pc->skip_tables[i], schema, table)) return NULL;
    for (int i = 0; i < pc->n_tables; i++)
        if (table_glob_match(pc->tables[i].match, schema, table)) return &pc->tables[i];
    char base[256];
    if (ddl_shadow_is_changelog(table) || !ddl_shadow_base(table, base, sizeof(base))) return NULL;
    for (int i = 0; i < pc->n_tables; i++) {
        if (table_glob_match(pc->tables[i].match, schema, base)) {
            if (shadow_base && cap) snprintf(shadow_base, cap, "%s", base);
            return &pc->tables[i];
        }
    }
    return NULL;
}

bool transform_needed(const cfg_pipeline *pc)
{
    for (int i = 0; i < pc->n_tables; i++) {
        const cfg_table_map *tm = &pc->tables[i];
        if (tm->where || tm->n_columns || tm->n_exclude || tm->n_consts) return true;
    }
    return false;
}

cot_err transform_check(const char *cfg_path, const cfg_pipeline *pc)
{
    for (int i = 0; i < pc->n_tables; i++) {
        const cfg_table_map *tm = &pc->tables[i];
        if (!tm->where) continue;
        row_filter *rf = NULL;
        if (row_filter_compile(tm->where, NULL, 0, &rf) != COT_OK) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s", cot_err_msg());
            return cot_err_set(COT_ERR_CONFIG, "%s:%d: %s (mapping %s of pipeline %s)", cfg_path,
                               tm->where_line, msg, tm->match, pc->name);
        }
        row_filter_free(rf);
    }
    return COT_OK;
}

static int transform__col(const cot_table *tbl, const char *name)
{
    for (uint32_t i = 0; i < tbl->n_cols; i++)
        if (tbl->cols[i].name && strcasecmp(tbl->cols[i].name, name) == 0) return (int)i;
    return -1;
}

/* transform__expand returns text with {schema} and {table} replaced by the
 * source table's names (heap; the caller frees). */
static char *transform__expand(const char *text, const cot_table *tbl)
{
    buf b;
    buf_init(&b);
    for (const char *p = text; *p;) {
        if (strncmp(p, "{schema}", 8) == 0) {
            buf_puts(&b, tbl->src_schema);
            p += 8;
        } else if (strncmp(p, "{table}", 7) == 0) {
            buf_puts(&b, tbl->src_name);
            p += 7;
        } else {
            buf_putc(&b, *p++);
        }
    }
    buf_putc(&b, '\0'); /* make sure data is allocated even for "" */
    return b.data;
}

/* transform__build makes the plan of tbl under mapping tm. */
static cot_err transform__build(transform *tf, cot_table *tbl, const cfg_table_map *tm, plan *p)
{
    memset(p, 0, sizeof(*p));
    p->in = cot_table_ref(tbl);
    p->tm = tm;
    if (!tm) return COT_OK;
    bool shape = tm->n_columns || tm->n_exclude || tm->n_consts;
    if ((shape || tm->where) && !tbl->has_names) {
        return cot_err_set(COT_ERR_SCHEMA,
                           "mapping %s (line %d) selects columns or filters rows, but the column "
                           "names of %s.%s are unknown: set binlog_row_metadata=FULL on the "
                           "source or grant SELECT so cotter can read information_schema",
                           tm->match, tm->line, tbl->src_schema, tbl->src_name);
    }
    if (tm->where) {
        cot_err rc = row_filter_compile(tm->where, tbl, 0, &p->rf);
        if (rc) {
            cot_err_prefix("mapping %s (line %d) on %s.%s: ", tm->match, tm->where_line,
                           tbl->src_schema, tbl->src_name);
            return rc;
        }
    }
    if (!shape) return COT_OK;

    uint32_t n_sel = 0;
    uint32_t *sel = calloc(tbl->n_cols + (uint32_t)tm->n_columns + 1, sizeof(uint32_t));
    const char **names = calloc(tbl->n_cols + (uint32_t)tm->n_columns + 1, sizeof(char *));
    if (!sel || !names) abort();
    if (tm->n_columns) {
        for (int i = 0; i < tm->n_columns; i++) {
            int c = transform__col(tbl, tm->columns[i]);
            if (c < 0) {
                free(sel);
                free(names);
                return cot_err_set(COT_ERR_SCHEMA,
                                   "mapping %s (line %d): column '%s' is not in source table "
                                   "%s.%s; fix columns: in the config",
                                   tm->match, tm->columns_line, tm->columns[i], tbl->src_schema,
                                   tbl->src_name);
            }
            sel[n_sel] = (uint32_t)c;
            names[n_sel++] = tm->columns_as[i];
        }
    } else {
        for (uint32_t c = 0; c < tbl->n_cols; c++) {
            bool drop = false;
            for (int e = 0; e < tm->n_exclude; e++)
                if (strcasecmp(tbl->cols[c].name, tm->exclude[e]) == 0) drop = true;
            if (drop) continue;
            sel[n_sel] = c;
            names[n_sel++] = tbl->cols[c].name;
        }
    }
    uint32_t n_out = n_sel + (uint32_t)tm->n_consts;
    cot_table *out = cot_table_new(tbl->schema, tbl->name, n_out);
    free(out->src_schema);
    free(out->src_name);
    out->src_schema = strdup(tbl->src_schema);
    out->src_name = strdup(tbl->src_name);
    if (!out->src_schema || !out->src_name) abort();
    out->table_id = tbl->table_id;
    out->has_names = true;
    p->proj = calloc(n_out ? n_out : 1, sizeof(uint32_t));
    p->consts = calloc(n_out ? n_out : 1, sizeof(cot_value));
    if (!p->proj || !p->consts) abort();
    for (uint32_t i = 0; i < n_sel; i++) {
        out->cols[i] = tbl->cols[sel[i]];
        out->cols[i].name = strdup(names[i]);
        if (!out->cols[i].name) abort();
        p->proj[i] = sel[i];
    }
    for (int k = 0; k < tm->n_consts; k++) {
        uint32_t i = n_sel + (uint32_t)k;
        cot_column *c = &out->cols[i];
        memset(c, 0, sizeof(*c));
        c->name = strdup(tm->const_names[k]);
        if (!c->name) abort();
        c->type = CT_VARCHAR;
        c->collation = 45;
        c->charset = cot_charset_intern("utf8mb4");
        p->proj[i] = PROJ_CONST;
        char *v = transform__expand(tm->const_values[k], tbl);
        size_t len = strlen(v);
        p->consts[i].kind = VK_STRING;
        p->consts[i].s.p = v;
        p->consts[i].s.len = (uint32_t)len;
    }
    /* the primary key survives when all of its columns do */
    if (tbl->n_pk) {
        uint32_t *pk = calloc(tbl->n_pk, sizeof(uint32_t));
        if (!pk) abort();
        uint32_t found = 0;
        for (uint32_t k = 0; k < tbl->n_pk; k++)
            for (uint32_t i = 0; i < n_sel; i++)
                if (sel[i] == tbl->pk[k]) pk[found++] = i;
        if (found == tbl->n_pk) {
            out->pk = pk;
            out->n_pk = found;
        } else {
            free(pk);
        }
    }
    free(sel);
    free(names);
    p->out = out;
    return COT_OK;
}

static cot_err transform__plan(transform *tf, cot_table *tbl, plan **out)
{
    if (tf->last && tf->last->in == tbl) {
        *out = tf->last;
        return COT_OK;
    }
    for (uint32_t i = 0; i < tf->n_plans; i++) {
        if (tf->plans[i].in == tbl) {
            *out = tf->last = &tf->plans[i];
            return COT_OK;
        }
    }
    if (tf->n_plans >= PLAN_CACHE_MAX) transform__clear(tf);
    if (tf->n_plans == tf->cap_plans) {
        uint32_t cap = tf->cap_plans ? tf->cap_plans * 2 : 8;
        plan *np = realloc(tf->plans, cap * sizeof(*np));
        if (!np) abort();
        tf->plans = np;
        tf->cap_plans = cap;
        tf->last = NULL;
    }
    plan *p = &tf->plans[tf->n_plans];
    cot_err rc = transform__build(
        tf, tbl, transform_mapping(tf->pc, tbl->src_schema, tbl->src_name, NULL, 0), p);
    if (rc) {
        plan_deinit(p);
        return rc;
    }
    tf->n_plans++;
    *out = tf->last = p;
    return COT_OK;
}

/* transform__pass evaluates the filter on one image: 1 pass, 0 not. NOW()
 * is the source transaction's time, so a pipeline catching up decides as
 * it would have when the change happened. */
static int transform__pass(const plan *p, const cot_value *img, const char *which, uint32_t ts)
{
    int r = ts ? row_filter_eval_at(p->rf, img, (int64_t)ts) : row_filter_eval(p->rf, img);
    if (r >= 0) return r;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", cot_err_msg());
    cot_err code = cot_err_code();
    return -(int)cot_err_set(
        code, "row filter '%s' of mapping %s (line %d) on the %s row of %s.%s: %s%s",
        row_filter_text(p->rf), p->tm->match, p->tm->where_line, which, p->in->src_schema,
        p->in->src_name, msg,
        code == COT_ERR_NOT_FOUND ? " (the binlog row image lacks a column the filter reads: "
                                    "set binlog_row_image=FULL on the source)"
                                  : "");
}

static bool transform__complete(const cot_value *img, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (img[i].kind == VK_ABSENT) return false;
    return true;
}

static cot_value *transform__project(cot_chunk *ck, const plan *p, const cot_value *img)
{
    if (!img) return NULL;
    uint32_t n = p->out->n_cols;
    cot_value *v = cot_chunk_values(ck, n);
    for (uint32_t i = 0; i < n; i++)
        v[i] = p->proj[i] == PROJ_CONST ? p->consts[i] : img[p->proj[i]];
    return v;
}

cot_err transform_chunk(transform *tf, cot_chunk *ck)
{
    if (ck->kind != CK_ROWS) return COT_OK;
    uint32_t w = 0;
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        cot_change ch = ck->changes[i];
        plan *p;
        cot_err rc = transform__plan(tf, ch.tbl, &p);
        if (rc) return rc;
        if (p->rf) {
            int b = ch.before ? transform__pass(p, ch.before, "old", ck->ts) : 0;
            if (b < 0) return (cot_err)-b;
            int a = ch.after ? transform__pass(p, ch.after, "new", ck->ts) : 0;
            if (a < 0) return (cot_err)-a;
            if (ch.op == OP_INSERT && !a) continue;
            if (ch.op == OP_DELETE && !b) continue;
            if (ch.op == OP_UPDATE) {
                if (!a && !b) continue;
                if (a && !b) { /* enters the filtered set */
                    if (!transform__complete(ch.after, ch.tbl->n_cols))
                        return cot_err_set(
                            COT_ERR_UNSUPPORTED,
                            "a row of %s.%s enters the filter of mapping %s (line %d) but the "
                            "binlog has only part of it: set binlog_row_image=FULL on the source",
                            p->in->src_schema, p->in->src_name, p->tm->match, p->tm->where_line);
                    ch.op = OP_INSERT;
                    ch.before = NULL;
                } else if (!a && b) { /* leaves it */
                    ch.op = OP_DELETE;
                    ch.after = NULL;
                }
            }
        }
        if (p->out) {
            ch.before = transform__project(ck, p, ch.before);
            ch.after = transform__project(ck, p, ch.after);
            ch.tbl = p->out;
            cot_chunk_hold_table(ck, p->out);
        }
        ck->changes[w++] = ch;
    }
    ck->n_changes = w;
    if (w == 0) ck->kind = CK_EMPTY;
    cot_chunk_account(ck);
    return COT_OK;
}
