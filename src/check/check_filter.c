/*
 * The mapping's where: for check and repair (contract in the header): the
 * source table is described as the copy describes it (snapshot_column_*),
 * the filter bound to that description, and each row's filter columns
 * converted with the copy's conversion into one reused value array (ENUM
 * and SET columns with known member names become the index / bitmask the
 * stream's rows carry, as in the copy: snapshot_member_value).
 */
#include "check/check_filter.h"

#include "check/check_sql.h"
#include "client/mysql_conn.h"
#include "event/event.h"
#include "pipeline/row_filter.h"
#include "snapshot/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check_filter {
    row_filter *rf;
    cot_table *tbl; /* the source table as the copy describes it */
    uint32_t *cols; /* indexes of the columns the filter reads */
    uint8_t *cls;   /* their value classes (snapshot_column_describe) */
    uint8_t *read;  /* 1: an ENUM or SET column with member names */
    uint32_t n_cols;
    cot_value *row; /* tbl->n_cols values; only cols[] are set */
    cot_chunk *ck;  /* arena of the converted values, reset per row */
    bool timed;     /* the filter reads the clock */
    const cfg_table_map *tm;
};

void check_filter_free(check_filter *cf)
{
    if (!cf) return;
    row_filter_free(cf->rf);
    if (cf->tbl) cot_table_unref(cf->tbl);
    free(cf->cols);
    free(cf->cls);
    free(cf->read);
    free(cf->row);
    if (cf->ck) cot_chunk_free(cf->ck);
    free(cf);
}

cot_err check_filter_new(MYSQL *src, const char *role, const cfg_table_map *tm, const char *schema,
                         const char *table, check_filter **out)
{
    *out = NULL;
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE, CHARACTER_SET_NAME FROM "
                 "information_schema.COLUMNS WHERE TABLE_SCHEMA=");
    check_sql_literal(&q, schema, strlen(schema), "varchar");
    buf_puts(&q, " AND TABLE_NAME=");
    check_sql_literal(&q, table, strlen(table), "varchar");
    buf_puts(&q, " ORDER BY ORDINAL_POSITION");
    MYSQL_RES *res = NULL;
    cot_err rc = COT_OK;
    if (mysql_real_query(src, q.data, q.len) || !(res = mysql_store_result(src))) {
        rc = mysql_conn_error(src, "%s: reading the columns of %s.%s", role, schema, table);
        buf_deinit(&q);
        return rc;
    }
    buf_deinit(&q);
    check_filter *cf = calloc(1, sizeof(*cf));
    if (!cf) abort();
    cf->tm = tm;
    uint32_t n = (uint32_t)mysql_num_rows(res);
    cf->tbl = cot_table_new(schema, table, n);
    cf->tbl->has_names = true;
    uint8_t *cls_all = calloc(n + 1, 1), *read_all = calloc(n + 1, 1);
    if (!cls_all || !read_all) abort();
    uint32_t i = 0;
    for (MYSQL_ROW row; i < n && (row = mysql_fetch_row(res)); i++) {
        cot_column *cc = &cf->tbl->cols[i];
        cc->name = strdup(row[0] ? row[0] : "");
        if (!cc->name) abort();
        cc->nullable = true;
        cls_all[i] = snapshot_column_describe(cc, row[1], row[2], row[3]);
        read_all[i] = snapshot_column_members(cc, row[1], row[2]);
    }
    mysql_free_result(res);
    /* flags 0: byte-wise text, as the stream's and the copy's filters */
    rc = row_filter_compile(tm->where, cf->tbl, 0, &cf->rf);
    if (rc) {
        cot_err_prefix("mapping %s (line %d) on %s.%s: ", tm->match, tm->where_line, schema, table);
        goto fail;
    }
    cf->cols = calloc(n + 1, sizeof(*cf->cols));
    cf->cls = calloc(n + 1, 1);
    cf->read = calloc(n + 1, 1);
    cf->row = calloc(n + 1, sizeof(*cf->row));
    if (!cf->cols || !cf->cls || !cf->read || !cf->row) abort();
    for (uint32_t c = 0; c < n; c++) {
        if (!row_filter_uses_column(cf->rf, c)) continue;
        cf->cls[cf->n_cols] = cls_all[c];
        cf->read[cf->n_cols] = read_all[c];
        cf->cols[cf->n_cols++] = c;
    }
    cf->timed = row_filter_uses_now(cf->rf);
    cf->ck = cot_chunk_new();
    free(cls_all);
    free(read_all);
    *out = cf;
    return COT_OK;
fail:
    free(cls_all);
    free(read_all);
    check_filter_free(cf);
    return rc;
}

void check_filter_select(buf *q, const check_filter *cf)
{
    for (uint32_t i = 0; i < cf->n_cols; i++) {
        buf_putc(q, ',');
        buf_ident(q, cf->tbl->cols[cf->cols[i]].name);
    }
}

uint32_t check_filter_n_cols(const check_filter *cf)
{
    return cf->n_cols;
}

bool check_filter_timed(const check_filter *cf)
{
    return cf->timed;
}

int check_filter_row(check_filter *cf, char **vals, const unsigned long *lens, int64_t now)
{
    arena_reset(&cf->ck->mem);
    for (uint32_t i = 0; i < cf->n_cols; i++) {
        cot_value *v = &cf->row[cf->cols[i]];
        if (cf->read[i] && snapshot_member_value(&cf->tbl->cols[cf->cols[i]], vals[i], lens[i], v))
            continue;
        snapshot_value(cf->ck, cf->cls[i], vals[i], lens[i], v);
    }
    int r = row_filter_eval_at(cf->rf, cf->row, now);
    if (r == 0 && cf->timed) {
        int t = row_filter_eval_timeless(cf->rf, cf->row);
        if (t == 2) r = CHECK_ROW_AGED;
    }
    if (r >= 0) return r;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", cot_err_msg());
    cot_err_set(cot_err_code(), "row filter '%s' of mapping %s (line %d) on a row of %s.%s: %s",
                row_filter_text(cf->rf), cf->tm->match, cf->tm->where_line, cf->tbl->src_schema,
                cf->tbl->src_name, msg);
    return -1;
}
