/*
 * check/repair runtime: connections, table discovery through the
 * pipeline's own routing, the chunk walk and the per-chunk row diff and
 * repair. One thread; two connections per pipeline (source, target) whose
 * queries of a chunk run at the same time (send both, then read both).
 *
 * Chunk walk (keyed tables): the upper bound of the next chunk is the
 * source's N-th key after the previous bound (ORDER BY key LIMIT 1 OFFSET
 * N-1); the last chunk is open-ended, the first has no lower bound, so
 * target rows before the first or after the last source key are covered.
 * Both sessions run with time_zone '+00:00'.
 */
#include "check/check.h"

#include "check/check_filter.h"
#include "check/check_results.h"
#include "check/check_sql.h"
#include "client/mysql_conn.h"
#include "pipeline/transform.h"
#include "sink/sink_mysql_sql.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define TAG          "check"
#define REPAIR_BATCH 500

typedef struct check_ctx {
    const check_opts *opts;
    const cfg_pipeline *pc;
    MYSQL *src;
    MYSQL *tgt;
    char src_role[160];
    char tgt_role[160];
    bool online;          /* the pipeline keeps its position on the target: wait for it */
    bool stalled;         /* it did not move during a wait: compare as is from then on */
    double last_throttle; /* when the pipeline's delay was last looked at */
    double last_busy;     /* when the source's running threads were last looked at */
    double rate_t0;       /* rows-per-second budget: its start (0: not started) */
    double rate_rows;     /* source rows read since rate_t0 */
} check_ctx;

/* The plan of one source table against its target table. */
typedef struct check_plan {
    char src_schema[65], src_table[65], tgt_schema[65], tgt_table[65];
    check_col *cols;
    uint32_t n_cols;
    uint32_t keys[16]; /* indexes into cols */
    uint32_t n_key;
    check_filter *cf;       /* the mapping's where: (evaluated by cotter on source rows), or NULL */
    buf src_from, tgt_from; /* `s`.`t` */
} check_plan;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

static void plan_deinit(check_plan *p)
{
    for (uint32_t i = 0; i < p->n_cols; i++) {
        free(p->cols[i].tgt_name);
        free(p->cols[i].tgt_type);
        free(p->cols[i].src_name);
        free(p->cols[i].src_type);
        free(p->cols[i].const_val);
    }
    free(p->cols);
    check_filter_free(p->cf);
    buf_deinit(&p->src_from);
    buf_deinit(&p->tgt_from);
}

/* check__query runs sql on my and returns its stored result in *res (the
 * caller frees; NULL for a statement without rows). */
static cot_err check__query(MYSQL *my, const char *role, const buf *sql, MYSQL_RES **res)
{
    *res = NULL;
    if (mysql_real_query(my, sql->data, sql->len))
        return mysql_conn_error(my, "%s: query %.200s", role, sql->data);
    *res = mysql_store_result(my);
    if (!*res && mysql_field_count(my))
        return mysql_conn_error(my, "%s: reading the result of %.200s", role, sql->data);
    return COT_OK;
}

/* check__pair runs qs on the source and qt on the target at the same time;
 * on success both results are the caller's. */
static cot_err check__pair(check_ctx *cx, const buf *qs, const buf *qt, MYSQL_RES **rs,
                           MYSQL_RES **rt)
{
    *rs = *rt = NULL;
    if (mysql_send_query(cx->src, qs->data, qs->len))
        return mysql_conn_error(cx->src, "%s: query %.200s", cx->src_role, qs->data);
    if (mysql_send_query(cx->tgt, qt->data, qt->len)) {
        cot_err rc = mysql_conn_error(cx->tgt, "%s: query %.200s", cx->tgt_role, qt->data);
        if (!mysql_read_query_result(cx->src)) mysql_free_result(mysql_store_result(cx->src));
        return rc;
    }
    cot_err rc = COT_OK;
    if (mysql_read_query_result(cx->src))
        rc = mysql_conn_error(cx->src, "%s: query %.200s", cx->src_role, qs->data);
    else
        *rs = mysql_store_result(cx->src);
    if (mysql_read_query_result(cx->tgt)) {
        if (!rc) rc = mysql_conn_error(cx->tgt, "%s: query %.200s", cx->tgt_role, qt->data);
    } else {
        *rt = mysql_store_result(cx->tgt);
    }
    if (!rc && (!*rs || !*rt))
        rc = cot_err_set(COT_ERR_SQL, "%s / %s: a checksum query returned no result set",
                         cx->src_role, cx->tgt_role);
    if (rc) {
        mysql_free_result(*rs);
        mysql_free_result(*rt);
        *rs = *rt = NULL;
    }
    return rc;
}

static cot_err check__exec(check_ctx *cx, const buf *sql)
{
    if (cx->opts->dry_run) {
        FILE *out = cx->opts->sql_out ? cx->opts->sql_out : stdout;
        fprintf(out, "%s;\n", sql->data);
        return COT_OK;
    }
    return mysql_conn_exec(cx->tgt, cx->tgt_role, sql->data, sql->len);
}

/* ---- online: the pipeline's applied position --------------------------
 * A source read at time T sees only changes logged at or before the
 * position SHOW MASTER STATUS returns after it; once the pipeline's stored
 * position (the minimum of its rows PIPELINE and PIPELINE#k, one per
 * parallel worker) is past that, the target holds at least those changes. */

typedef struct binpos {
    char file[256];
    uint64_t pos;
} binpos;

/* binpos_cmp orders positions: files by their numeric suffix (a longer
 * name is a later file), then offsets. */
static int binpos_cmp(const binpos *a, const binpos *b)
{
    size_t la = strlen(a->file), lb = strlen(b->file);
    if (la != lb) return la < lb ? -1 : 1;
    int c = strcmp(a->file, b->file);
    if (c) return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* master_pos reads SHOW MASTER STATUS; false (online turned off, logged)
 * when it cannot. */
static bool master_pos(check_ctx *cx, binpos *out)
{
    MYSQL_RES *res = NULL;
    buf q;
    buf_init(&q);
    buf_puts(&q, "SHOW MASTER STATUS");
    cot_err rc = check__query(cx->src, cx->src_role, &q, &res);
    buf_deinit(&q);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    bool ok = !rc && row && row[0] && row[1];
    if (ok) {
        snprintf(out->file, sizeof(out->file), "%s", row[0]);
        out->pos = strtoull(row[1], NULL, 10);
    } else {
        LOG_W(TAG,
              "pipeline %s: cannot read the source's binlog position (%s); differences are not "
              "re-checked after the pipeline catches up (GRANT REPLICATION CLIENT to the source "
              "user)",
              cx->pc->name, rc ? cot_err_msg() : "binary log off");
        cx->online = false;
    }
    mysql_free_result(res);
    return ok;
}

/* applied_pos reads the pipeline's applied position from the target:
 * 1 found (*out, *source_ts of the same row), 0 none, -1 query failed. */
static int applied_pos(check_ctx *cx, binpos *out, uint32_t *source_ts)
{
    buf q, like;
    buf_init(&q);
    buf_init(&like);
    for (const char *p = cx->pc->name; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') buf_putc(&like, '\\');
        buf_putc(&like, *p);
    }
    buf_puts(&like, "#%");
    buf_puts(&q, "SELECT binlog_file, binlog_pos, source_ts FROM `cotter`.`positions` WHERE "
                 "pipeline=");
    check_sql_literal(&q, cx->pc->name, strlen(cx->pc->name), "varchar");
    buf_puts(&q, " OR pipeline LIKE ");
    check_sql_literal(&q, like.data, like.len, "varchar");
    int found = -1;
    if (mysql_real_query(cx->tgt, q.data, q.len) == 0) {
        MYSQL_RES *res = mysql_store_result(cx->tgt);
        if (res) {
            found = 0;
            for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
                if (!row[0] || !row[1]) continue;
                binpos b;
                snprintf(b.file, sizeof(b.file), "%s", row[0]);
                b.pos = strtoull(row[1], NULL, 10);
                if (!b.file[0]) continue; /* a GTID-only row */
                if (!found || binpos_cmp(&b, out) < 0) {
                    *out = b;
                    if (source_ts) *source_ts = (uint32_t)strtoul(row[2] ? row[2] : "0", NULL, 10);
                }
                found = 1;
            }
            mysql_free_result(res);
        }
    }
    buf_deinit(&q);
    buf_deinit(&like);
    return found;
}

/* wait_applied waits until the pipeline has applied past want. Returns
 * false when it did not within opts->wait_s, or it stopped moving for 5 s
 * (then cx->stalled: the rest is compared as it is). */
static bool wait_applied(check_ctx *cx, const binpos *want)
{
    double limit = cx->opts->wait_s > 0 ? cx->opts->wait_s : 60;
    double t0 = now_s(), moved_at = t0;
    binpos last = {{0}, 0};
    for (;;) {
        binpos a;
        int f = applied_pos(cx, &a, NULL);
        if (f <= 0) {
            cx->online = false;
            return false;
        }
        if (binpos_cmp(&a, want) >= 0) return true;
        double now = now_s();
        if (binpos_cmp(&a, &last) != 0) {
            last = a;
            moved_at = now;
        }
        if (now - moved_at > 5.0 || now - t0 > limit) {
            LOG_W(TAG,
                  "pipeline %s has not applied past the source's %s:%llu (it is at %s:%llu after "
                  "%.0f s): it is stopped or far behind, so differences are reported as they are "
                  "now",
                  cx->pc->name, want->file, (unsigned long long)want->pos, a.file,
                  (unsigned long long)a.pos, now - t0);
            cx->stalled = true;
            return false;
        }
        usleep(20000);
    }
}

/* throttle pauses (at most 60 s per call, looked at once a second) while
 * the pipeline lags more than opts->max_delay_s behind its source. */
static void throttle(check_ctx *cx)
{
    double max_delay = cx->opts->max_delay_s;
    if (!cx->online || cx->stalled || max_delay <= 0) return;
    double now = now_s();
    if (now - cx->last_throttle < 1.0) return;
    cx->last_throttle = now;
    double waited = 0, step = 0.25;
    for (;;) {
        binpos a, m;
        uint32_t ts = 0;
        if (applied_pos(cx, &a, &ts) <= 0 || !master_pos(cx, &m)) return;
        double delay = binpos_cmp(&a, &m) >= 0 || ts == 0 ? 0 : difftime(time(NULL), (time_t)ts);
        if (delay <= max_delay) {
            if (waited > 0)
                LOG_I(TAG, "pipeline %s: delay %.0f s, check resumes after %.1f s", cx->pc->name,
                      delay, waited);
            return;
        }
        if (waited == 0)
            LOG_I(TAG, "pipeline %s is %.0f s behind its source (max_delay %.0f s): check paused",
                  cx->pc->name, delay, max_delay);
        if (waited >= 60) return;
        usleep((useconds_t)(step * 1e6));
        waited += step;
        if (step < 4) step *= 2;
    }
}

/* source_running returns the source's Threads_running, or -1 when it
 * cannot be read (then the check goes on: it is a courtesy, not a guard). */
static long source_running(check_ctx *cx)
{
    MYSQL_RES *res = NULL;
    buf q;
    buf_init(&q);
    buf_puts(&q, "SHOW GLOBAL STATUS LIKE 'Threads_running'");
    cot_err rc = check__query(cx->src, cx->src_role, &q, &res);
    buf_deinit(&q);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    long n = !rc && row && row[1] ? strtol(row[1], NULL, 10) : -1;
    mysql_free_result(res);
    return n;
}

/* busy_pause pauses (at most 60 s per call, looked at once a second) while
 * the source runs more threads than opts->max_source_threads, so a check
 * yields to a busy source. */
static void busy_pause(check_ctx *cx)
{
    uint32_t limit = cx->opts->max_source_threads;
    if (limit == 0) return;
    double now = now_s();
    if (now - cx->last_busy < 1.0) return;
    cx->last_busy = now;
    double waited = 0, step = 0.25;
    for (;;) {
        long n = source_running(cx);
        if (n < 0 || n <= (long)limit) {
            if (waited > 0)
                LOG_I(TAG,
                      "pipeline %s: %ld threads running on the source, check resumes after "
                      "%.1f s",
                      cx->pc->name, n, waited);
            return;
        }
        if (waited == 0)
            LOG_I(TAG,
                  "pipeline %s: %ld threads running on the source (max_source_threads %u): "
                  "check paused",
                  cx->pc->name, n, limit);
        if (waited >= 60 || (cx->opts->stop && atomic_load(cx->opts->stop))) return;
        usleep((useconds_t)(step * 1e6));
        waited += step;
        if (step < 4) step *= 2;
    }
}

/* rate_limit counts n_rows source rows just read and sleeps as long as
 * reading them at opts->max_rows_per_s would have taken (in 0.25 s steps,
 * ending early on a stop). Time spent elsewhere (a delay pause, a slow
 * server) is credited for at most one second, so a pause is not followed
 * by a burst. */
static void rate_limit(check_ctx *cx, uint64_t n_rows)
{
    double limit = cx->opts->max_rows_per_s;
    if (limit <= 0) return;
    double now = now_s();
    if (cx->rate_t0 == 0) cx->rate_t0 = now;
    cx->rate_rows += (double)n_rows;
    double due = cx->rate_t0 + cx->rate_rows / limit; /* when these rows may have been read */
    if (now - due > 1.0) {
        cx->rate_t0 = now - 1.0;
        cx->rate_rows = 0;
        return;
    }
    while (now < due && !(cx->opts->stop && atomic_load(cx->opts->stop))) {
        double step = due - now < 0.25 ? due - now : 0.25;
        usleep((useconds_t)(step * 1e6));
        now = now_s();
    }
}

/* ---- discovery ------------------------------------------------------- */

static void lower_ascii(char *s)
{
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

/* where_names appends "WHERE TABLE_SCHEMA=.. AND TABLE_NAME=..". */
static void where_names(buf *q, const char *schema, const char *table)
{
    buf_puts(q, " WHERE TABLE_SCHEMA=");
    check_sql_literal(q, schema, strlen(schema), "varchar");
    buf_puts(q, " AND TABLE_NAME=");
    check_sql_literal(q, table, strlen(table), "varchar");
}

static char *expand_const(const char *text, const char *schema, const char *table)
{
    buf b;
    buf_init(&b);
    for (const char *p = text; *p;) {
        if (strncmp(p, "{schema}", 8) == 0) {
            buf_puts(&b, schema);
            p += 8;
        } else if (strncmp(p, "{table}", 7) == 0) {
            buf_puts(&b, table);
            p += 7;
        } else {
            buf_putc(&b, *p++);
        }
    }
    buf_putc(&b, '\0');
    return b.data;
}

static void plan_add(check_plan *p, const char *tgt_name, const char *src_name,
                     const char *src_type, const char *const_val)
{
    p->cols = realloc(p->cols, (p->n_cols + 1) * sizeof(check_col));
    if (!p->cols) abort();
    check_col *c = &p->cols[p->n_cols++];
    memset(c, 0, sizeof(*c));
    c->tgt_name = xstrdup(tgt_name);
    c->src_name = src_name ? xstrdup(src_name) : NULL;
    c->src_type = xstrdup(src_type ? src_type : "varchar");
    c->const_val = const_val ? xstrdup(const_val) : NULL;
}

/* check__plan builds the column pairs and the key of one routed table.
 * COT_ERR_SCHEMA / COT_ERR_NOT_FOUND with a message when it cannot. */
static cot_err check__plan(check_ctx *cx, const cfg_table_map *tm, check_plan *p)
{
    cot_err rc = COT_OK;
    MYSQL_RES *res = NULL;
    buf q;
    buf_init(&q);
    sql_tdesc *td = sql_tdesc_new(p->tgt_schema, p->tgt_table);
    char **s_names = NULL, **s_types = NULL;
    uint32_t n_s = 0;
    sql_index_part *parts = NULL;
    size_t n_parts = 0;

    buf_puts(&q, "SELECT COLUMN_NAME, LOWER(DATA_TYPE) FROM information_schema.COLUMNS");
    where_names(&q, p->src_schema, p->src_table);
    buf_puts(&q, " ORDER BY ORDINAL_POSITION");
    if ((rc = check__query(cx->src, cx->src_role, &q, &res))) goto out;
    n_s = (uint32_t)mysql_num_rows(res);
    s_names = calloc(n_s + 1, sizeof(char *));
    s_types = calloc(n_s + 1, sizeof(char *));
    if (!s_names || !s_types) abort();
    for (uint32_t i = 0; i < n_s; i++) {
        MYSQL_ROW row = mysql_fetch_row(res);
        s_names[i] = xstrdup(row[0]);
        s_types[i] = xstrdup(row[1]);
    }
    mysql_free_result(res);
    res = NULL;

    buf_reset(&q);
    buf_puts(&q, "SELECT COLUMN_NAME, LOWER(DATA_TYPE), IS_NULLABLE, EXTRA FROM "
                 "information_schema.COLUMNS");
    where_names(&q, p->tgt_schema, p->tgt_table);
    buf_puts(&q, " ORDER BY ORDINAL_POSITION");
    if ((rc = check__query(cx->tgt, cx->tgt_role, &q, &res))) goto out;
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        const char *extra = row[3] ? row[3] : "";
        bool gen = strcasestr(extra, "GENERATED") || strcasecmp(extra, "VIRTUAL") == 0 ||
                   strcasecmp(extra, "PERSISTENT") == 0 || strcasecmp(extra, "STORED") == 0;
        sql_tdesc_add_col(td, row[0], row[1], row[2] && strcmp(row[2], "YES") == 0, gen);
    }
    mysql_free_result(res);
    res = NULL;
    if (td->n_cols == 0) {
        rc = cot_err_set(COT_ERR_NOT_FOUND,
                         "%s: table %s.%s (routed from %s.%s by mapping %s, line %d) does not "
                         "exist; create it or run the pipeline's snapshot",
                         cx->tgt_role, p->tgt_schema, p->tgt_table, p->src_schema, p->src_table,
                         tm->match, tm->line);
        goto out;
    }

    buf_reset(&q);
    buf_puts(&q, "SELECT INDEX_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS");
    where_names(&q, p->tgt_schema, p->tgt_table);
    buf_puts(&q, " AND NON_UNIQUE=0 ORDER BY INDEX_NAME='PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX");
    if ((rc = check__query(cx->tgt, cx->tgt_role, &q, &res))) goto out;
    n_parts = mysql_num_rows(res);
    parts = calloc(n_parts + 1, sizeof(*parts));
    if (!parts) abort();
    for (size_t i = 0; i < n_parts; i++) {
        MYSQL_ROW row = mysql_fetch_row(res);
        parts[i].index = row[0];
        parts[i].column = row[1];
        parts[i].seq = (unsigned)strtoul(row[2] ? row[2] : "0", NULL, 10);
    }
    rc = sql_tdesc_pick_key(td, parts, n_parts);
    mysql_free_result(res);
    res = NULL;
    if (rc) goto out;

    /* the column pairs, as the transform stage shapes rows */
    for (uint32_t i = 0; i < n_s; i++) {
        if (tm->n_columns) break;
        bool drop = false;
        for (int e = 0; e < tm->n_exclude; e++)
            if (strcasecmp(s_names[i], tm->exclude[e]) == 0) drop = true;
        if (!drop) plan_add(p, s_names[i], s_names[i], s_types[i], NULL);
    }
    for (int k = 0; k < tm->n_columns; k++) {
        uint32_t i = 0;
        while (i < n_s && strcasecmp(s_names[i], tm->columns[k]) != 0) i++;
        if (i == n_s) {
            rc = cot_err_set(COT_ERR_SCHEMA,
                             "mapping %s (line %d): column '%s' is not in source table %s.%s; "
                             "fix columns: in the config",
                             tm->match, tm->columns_line, tm->columns[k], p->src_schema,
                             p->src_table);
            goto out;
        }
        plan_add(p, tm->columns_as[k], s_names[i], s_types[i], NULL);
    }
    for (int k = 0; k < tm->n_consts; k++) {
        char *v = expand_const(tm->const_values[k], p->src_schema, p->src_table);
        plan_add(p, tm->const_names[k], NULL, "varchar", v);
        free(v);
    }
    /* attach target columns; generated ones are never written, so never compared */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < p->n_cols; i++) {
        check_col *c = &p->cols[i];
        int t = sql_tdesc_col_find(td, c->tgt_name);
        if (t < 0) {
            rc = cot_err_set(COT_ERR_SCHEMA,
                             "%s: column '%s' of %s.%s (mapped from %s.%s) is missing; add it "
                             "to the target or exclude it in the mapping (line %d)",
                             cx->tgt_role, c->tgt_name, p->tgt_schema, p->tgt_table, p->src_schema,
                             p->src_table, tm->line);
            goto out;
        }
        if (td->cols[t].generated) {
            free(c->tgt_name);
            free(c->src_name);
            free(c->src_type);
            free(c->const_val);
            continue;
        }
        free(c->tgt_name);
        c->tgt_name = xstrdup(td->cols[t].name);
        c->tgt_type = xstrdup(td->cols[t].type);
        lower_ascii(c->tgt_type);
        p->cols[kept++] = *c;
    }
    p->n_cols = kept;

    /* the key: PRIMARY or a NOT NULL unique key, all of it mapped from source columns */
    bool usable = td->n_key > 0 && td->n_key <= 16;
    for (uint32_t k = 0; usable && k < td->n_key; k++)
        if (td->cols[td->key[k]].nullable) usable = false;
    p->n_key = 0;
    for (uint32_t k = 0; usable && k < td->n_key; k++) {
        const char *kname = td->cols[td->key[k]].name;
        uint32_t i = 0;
        while (i < p->n_cols && strcasecmp(p->cols[i].tgt_name, kname) != 0) i++;
        if (i == p->n_cols || !p->cols[i].src_name) {
            rc = cot_err_set(COT_ERR_SCHEMA,
                             "%s: key column '%s' of %s.%s is not mapped from a column of %s.%s "
                             "(mapping %s, line %d); rows cannot be matched by key",
                             cx->tgt_role, kname, p->tgt_schema, p->tgt_table, p->src_schema,
                             p->src_table, tm->match, tm->line);
            goto out;
        }
        p->keys[p->n_key++] = i;
    }
    if (tm->where &&
        (rc = check_filter_new(cx->src, cx->src_role, tm, p->src_schema, p->src_table, &p->cf)))
        goto out;
    buf_ident(&p->src_from, p->src_schema);
    buf_putc(&p->src_from, '.');
    buf_ident(&p->src_from, p->src_table);
    buf_ident(&p->tgt_from, p->tgt_schema);
    buf_putc(&p->tgt_from, '.');
    buf_ident(&p->tgt_from, p->tgt_table);

out:
    mysql_free_result(res);
    for (uint32_t i = 0; i < n_s; i++) {
        free(s_names[i]);
        free(s_types[i]);
    }
    free(s_names);
    free(s_types);
    free(parts);
    sql_tdesc_free(td);
    buf_deinit(&q);
    return rc;
}

/* ---- recording ------------------------------------------------------- */

typedef struct diff_ctx {
    check_ctx *cx;
    const check_plan *p;
    check_table_result *r;
    check_rows up;          /* source keys to upsert */
    check_rows del;         /* target keys to delete */
    const check_rows *aged; /* source keys a NOW() where: no longer selects (sorted), or NULL */
    check_rows *aged_hits;  /* keyed: such keys found on the target (counted once each) */
    buf scratch;
} diff_ctx;

static void record(check_table_result *r, const check_opts *o, check_kind kind, const buf *json)
{
    uint32_t cap = o->max_keys ? o->max_keys : 1000;
    if (r->n_diffs >= cap) {
        r->diffs_omitted++;
        return;
    }
    r->diffs = realloc(r->diffs, (r->n_diffs + 1) * sizeof(check_diff));
    if (!r->diffs) abort();
    r->diffs[r->n_diffs].kind = (uint8_t)kind;
    r->diffs[r->n_diffs].json = xstrdup(json->data);
    r->n_diffs++;
}

static void on_diff_keyed(void *ctx, check_kind kind, const check_row *s, const check_row *t)
{
    diff_ctx *d = ctx;
    const check_row *row = s ? s : t;
    if (kind == CHECK_EXTRA && d->aged && check_rows_has(d->aged, t->key, t->key_len)) {
        /* the stream kept it when it passed: reported, never deleted */
        check_rows_add(d->aged_hits, t->key, t->key_len, 0, NULL, 0);
        return;
    }
    if (kind == CHECK_MISSING) d->r->missing++;
    if (kind == CHECK_EXTRA) d->r->extra++;
    if (kind == CHECK_DIFFERENT) d->r->different++;
    buf_reset(&d->scratch);
    check_key_json(&d->scratch, d->p->cols, d->p->keys, d->p->n_key, row->key, row->key_len);
    record(d->r, d->cx->opts, kind, &d->scratch);
    if (kind == CHECK_EXTRA)
        check_rows_add(&d->del, t->key, t->key_len, 0, NULL, 0);
    else
        check_rows_add(&d->up, s->key, s->key_len, 0, NULL, 0);
}

static void on_diff_keyless(void *ctx, check_kind kind, const check_row *s, const check_row *t)
{
    diff_ctx *d = ctx;
    const check_row *row = s ? s : t;
    if (kind == CHECK_EXTRA && d->aged && check_rows_has(d->aged, t->key, t->key_len)) {
        d->r->aged_out++;
        return;
    }
    if (kind == CHECK_MISSING) d->r->missing++;
    if (kind == CHECK_EXTRA) d->r->extra++;
    const char *v = NULL;
    size_t n = 0;
    check_tuple_part(row->key, row->key_len, 0, &v, &n);
    buf_reset(&d->scratch);
    buf_puts(&d->scratch, "{\"row\":");
    check_json_str(&d->scratch, v ? v : "", v ? n : 0);
    buf_putc(&d->scratch, '}');
    record(d->r, d->cx->opts, kind, &d->scratch);
    if (kind == CHECK_EXTRA)
        check_rows_add(&d->del, t->key, t->key_len, 0, NULL, 0);
    else
        check_rows_add(&d->up, s->key, s->key_len, 0, s->vals, s->vals_len);
}

/* ---- fetching row lists ---------------------------------------------- */

/* fetch_rows reads a result of [n_key key columns] + hash [+ n_vals values]
 * into rs; keyless: one text column (the key) + hash + values. */
static void fetch_rows(MYSQL_RES *res, uint32_t n_key, uint32_t n_vals, check_rows *rs)
{
    buf key, vals;
    buf_init(&key);
    buf_init(&vals);
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        unsigned long *len = mysql_fetch_lengths(res);
        buf_reset(&key);
        buf_reset(&vals);
        for (uint32_t k = 0; k < n_key; k++) check_tuple_add(&key, row[k], len[k]);
        uint64_t hash = strtoull(row[n_key] ? row[n_key] : "0", NULL, 10);
        for (uint32_t i = 0; i < n_vals; i++)
            check_tuple_add(&vals, row[n_key + 1 + i], len[n_key + 1 + i]);
        check_rows_add(rs, key.data, key.len, hash, n_vals ? vals.data : NULL, vals.len);
    }
    buf_deinit(&key);
    buf_deinit(&vals);
}

/* fetch_src_rows reads a source result as fetch_rows does; for a filtered
 * table each row's filter columns follow its values and only the rows the
 * filter keeps go to rs; the keys of rows only a NOW() filter rejects go to
 * aged (unsorted). */
static cot_err fetch_src_rows(const check_plan *p, MYSQL_RES *res, uint32_t n_key, uint32_t n_vals,
                              check_rows *rs, check_rows *aged)
{
    if (!p->cf) {
        fetch_rows(res, n_key, n_vals, rs);
        return COT_OK;
    }
    buf key, vals;
    buf_init(&key);
    buf_init(&vals);
    cot_err rc = COT_OK;
    int64_t now = (int64_t)time(NULL);
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        unsigned long *len = mysql_fetch_lengths(res);
        uint32_t f = n_key + 1 + n_vals;
        int v = check_filter_row(p->cf, row + f, len + f, now);
        if (v < 0) {
            rc = cot_err_code();
            break;
        }
        if (v == CHECK_ROW_OUT) continue;
        buf_reset(&key);
        buf_reset(&vals);
        for (uint32_t k = 0; k < n_key; k++) check_tuple_add(&key, row[k], len[k]);
        if (v == CHECK_ROW_AGED) {
            if (aged) check_rows_add(aged, key.data, key.len, 0, NULL, 0);
            continue;
        }
        uint64_t hash = strtoull(row[n_key] ? row[n_key] : "0", NULL, 10);
        for (uint32_t i = 0; i < n_vals; i++)
            check_tuple_add(&vals, row[n_key + 1 + i], len[n_key + 1 + i]);
        check_rows_add(rs, key.data, key.len, hash, n_vals ? vals.data : NULL, vals.len);
    }
    buf_deinit(&key);
    buf_deinit(&vals);
    return rc;
}

/* ---- repair ---------------------------------------------------------- */

static cot_err repair_keyed(diff_ctx *d)
{
    check_ctx *cx = d->cx;
    const check_plan *p = d->p;
    cot_err rc = COT_OK;
    buf q, sel;
    buf_init(&q);
    buf_init(&sel);
    MYSQL_RES *res = NULL;
    if (!cx->opts->dry_run &&
        (rc = mysql_conn_exec_str(cx->tgt, cx->tgt_role, "START TRANSACTION")))
        goto out;
    for (size_t i = 0; i < d->del.n; i += REPAIR_BATCH) {
        buf_reset(&q);
        buf_puts(&q, "DELETE FROM ");
        buf_append(&q, p->tgt_from.data, p->tgt_from.len);
        buf_puts(&q, " WHERE ");
        for (size_t j = i; j < d->del.n && j < i + REPAIR_BATCH; j++) {
            if (j > i) buf_puts(&q, " OR ");
            check_sql_key_eq(&q, p->cols, p->keys, p->n_key, CHECK_TGT, d->del.v[j].key,
                             d->del.v[j].key_len);
        }
        if ((rc = check__exec(cx, &q))) goto out;
        d->r->repaired_deletes += (d->del.n - i < REPAIR_BATCH) ? d->del.n - i : REPAIR_BATCH;
    }
    for (size_t i = 0; i < d->up.n; i += REPAIR_BATCH) {
        buf_reset(&sel);
        buf_puts(&sel, "SELECT ");
        for (uint32_t c = 0; c < p->n_cols; c++) {
            if (c) buf_putc(&sel, ',');
            check_sql_col_value(&sel, &p->cols[c], CHECK_SRC);
        }
        if (p->cf) check_filter_select(&sel, p->cf);
        buf_puts(&sel, " FROM ");
        buf_append(&sel, p->src_from.data, p->src_from.len);
        buf_puts(&sel, " WHERE (");
        for (size_t j = i; j < d->up.n && j < i + REPAIR_BATCH; j++) {
            if (j > i) buf_puts(&sel, " OR ");
            check_sql_key_eq(&sel, p->cols, p->keys, p->n_key, CHECK_SRC, d->up.v[j].key,
                             d->up.v[j].key_len);
        }
        buf_putc(&sel, ')');
        if ((rc = check__query(cx->src, cx->src_role, &sel, &res))) goto out;
        buf_reset(&q);
        check_sql_upsert_head(&q, p->tgt_schema, p->tgt_table, p->cols, p->n_cols);
        buf row;
        buf_init(&row);
        uint64_t n = 0;
        int64_t now = (int64_t)time(NULL);
        for (MYSQL_ROW r; (r = mysql_fetch_row(res));) {
            unsigned long *len = mysql_fetch_lengths(res);
            int v =
                p->cf ? check_filter_row(p->cf, r + p->n_cols, len + p->n_cols, now) : CHECK_ROW_IN;
            if (v < 0) {
                rc = cot_err_code();
                break;
            }
            if (v != CHECK_ROW_IN) continue; /* it left the filter's rows meanwhile */
            buf_reset(&row);
            for (uint32_t c = 0; c < p->n_cols; c++) check_tuple_add(&row, r[c], len[c]);
            check_sql_upsert_row(&q, p->cols, p->n_cols, (const uint8_t *)row.data, row.len,
                                 n == 0);
            n++;
        }
        buf_deinit(&row);
        mysql_free_result(res);
        res = NULL;
        if (rc) goto out;
        if (n == 0) continue; /* the rows left the source meanwhile */
        check_sql_upsert_tail(&q, p->cols, p->n_cols, p->keys, p->n_key);
        if ((rc = check__exec(cx, &q))) goto out;
        d->r->repaired_upserts += n;
    }
    if (!cx->opts->dry_run) rc = mysql_conn_exec_str(cx->tgt, cx->tgt_role, "COMMIT");
out:
    mysql_free_result(res);
    if (rc && !cx->opts->dry_run) mysql_rollback(cx->tgt);
    buf_deinit(&q);
    buf_deinit(&sel);
    return rc;
}

static cot_err repair_keyless(diff_ctx *d)
{
    check_ctx *cx = d->cx;
    const check_plan *p = d->p;
    cot_err rc = COT_OK;
    buf q;
    buf_init(&q);
    if (!cx->opts->dry_run &&
        (rc = mysql_conn_exec_str(cx->tgt, cx->tgt_role, "START TRANSACTION")))
        goto out;
    for (size_t i = 0; i < d->del.n; i++) {
        const char *v = NULL;
        size_t n = 0;
        check_tuple_part(d->del.v[i].key, d->del.v[i].key_len, 0, &v, &n);
        buf_reset(&q);
        buf_puts(&q, "DELETE FROM ");
        buf_append(&q, p->tgt_from.data, p->tgt_from.len);
        buf_puts(&q, " WHERE BINARY ");
        check_sql_row_text(&q, p->cols, p->n_cols, CHECK_TGT);
        buf_puts(&q, " = ");
        check_sql_literal(&q, v ? v : "", v ? n : 0, "varbinary");
        buf_puts(&q, " LIMIT 1");
        if ((rc = check__exec(cx, &q))) goto out;
        d->r->repaired_deletes++;
    }
    for (size_t i = 0; i < d->up.n; i += REPAIR_BATCH) {
        buf_reset(&q);
        check_sql_upsert_head(&q, p->tgt_schema, p->tgt_table, p->cols, p->n_cols);
        for (size_t j = i; j < d->up.n && j < i + REPAIR_BATCH; j++)
            check_sql_upsert_row(&q, p->cols, p->n_cols, d->up.v[j].vals, d->up.v[j].vals_len,
                                 j == i);
        if ((rc = check__exec(cx, &q))) goto out;
        d->r->repaired_upserts += (d->up.n - i < REPAIR_BATCH) ? d->up.n - i : REPAIR_BATCH;
    }
    if (!cx->opts->dry_run) rc = mysql_conn_exec_str(cx->tgt, cx->tgt_role, "COMMIT");
out:
    if (rc && !cx->opts->dry_run) mysql_rollback(cx->tgt);
    buf_deinit(&q);
    return rc;
}

/* ---- the walks ------------------------------------------------------- */

static bool read_sums(MYSQL_RES *res, uint64_t *count, char *sum, size_t cap)
{
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || !row[0]) return false;
    *count = strtoull(row[0], NULL, 10);
    snprintf(sum, cap, "%s", row[1] ? row[1] : "0");
    return true;
}

/* sums_sql appends a side's "SELECT COUNT(*), COALESCE(agg(row hash),0)
 * FROM t [WHERE range]" (agg BIT_XOR or SUM). A filtered table's source
 * side reads "SELECT row hash, <filter columns>" instead: sums_read folds
 * the rows the filter keeps, so the filter text never becomes SQL. */
static void sums_sql(buf *q, const check_plan *p, check_side side, const buf *range,
                     const char *agg)
{
    bool rows = side == CHECK_SRC && p->cf;
    if (rows) {
        buf_puts(q, "SELECT ");
        check_sql_row_hash(q, p->cols, p->n_cols, side);
        check_filter_select(q, p->cf);
        buf_puts(q, " FROM ");
    } else {
        buf_printf(q, "SELECT COUNT(*), COALESCE(%s(", agg);
        check_sql_row_hash(q, p->cols, p->n_cols, side);
        buf_puts(q, "),0) FROM ");
    }
    const buf *from = side == CHECK_SRC ? &p->src_from : &p->tgt_from;
    buf_append(q, from->data, from->len);
    if (range) {
        buf_puts(q, " WHERE ");
        buf_append(q, range->data, range->len);
    }
}

/* sums_read reads the result of sums_sql into *count and sum (decimal
 * text as the server prints it); bit_xor: BIT_XOR, else SUM. */
static cot_err sums_read(const check_plan *p, check_side side, MYSQL_RES *res, bool bit_xor,
                         uint64_t *count, char *sum, size_t cap)
{
    if (!(side == CHECK_SRC && p->cf)) {
        if (read_sums(res, count, sum, cap)) return COT_OK;
        return cot_err_set(COT_ERR_SQL, "checksum of %s.%s returned no row",
                           side == CHECK_SRC ? p->src_schema : p->tgt_schema,
                           side == CHECK_SRC ? p->src_table : p->tgt_table);
    }
    /* the row hash is 64 bits: the server's SUM is exact (a DECIMAL), so
     * ours is summed in 128 bits and printed the way the server prints it */
    uint64_t n = 0, acc = 0;
    unsigned __int128 total = 0;
    int64_t now = (int64_t)time(NULL);
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        unsigned long *len = mysql_fetch_lengths(res);
        int v = check_filter_row(p->cf, row + 1, len + 1, now);
        if (v < 0) return cot_err_code();
        if (v != CHECK_ROW_IN) continue;
        uint64_t hash = strtoull(row[0] ? row[0] : "0", NULL, 10);
        if (bit_xor)
            acc ^= hash;
        else
            total += hash;
        n++;
    }
    *count = n;
    if (bit_xor) {
        snprintf(sum, cap, "%llu", (unsigned long long)acc);
        return COT_OK;
    }
    char digits[48];
    size_t k = sizeof(digits);
    digits[--k] = '\0';
    do {
        digits[--k] = (char)('0' + (int)(total % 10));
        total /= 10;
    } while (total && k > 0);
    snprintf(sum, cap, "%s", digits + k);
    return COT_OK;
}

/* rows_query builds "SELECT key.., hash FROM t WHERE <where>" for side (a
 * filtered source: then the filter's columns). */
static void rows_query(buf *q, const check_plan *p, check_side side, const buf *where)
{
    buf_puts(q, "SELECT ");
    for (uint32_t k = 0; k < p->n_key; k++) {
        check_sql_col_value(q, &p->cols[p->keys[k]], side);
        buf_putc(q, ',');
    }
    check_sql_row_hash(q, p->cols, p->n_cols, side);
    if (side == CHECK_SRC && p->cf) check_filter_select(q, p->cf);
    buf_puts(q, " FROM ");
    const buf *from = side == CHECK_SRC ? &p->src_from : &p->tgt_from;
    buf_append(q, from->data, from->len);
    buf_puts(q, " WHERE ");
    buf_append(q, where->data, where->len);
}

/* fetch_side reads the (key, hash) rows of where on one side into out
 * (sorted); source keys only a NOW() filter rejects are added to aged. */
static cot_err fetch_side(check_ctx *cx, const check_plan *p, check_side side, const buf *where,
                          check_rows *out, check_rows *aged)
{
    buf q;
    buf_init(&q);
    rows_query(&q, p, side, where);
    MYSQL_RES *res = NULL;
    cot_err rc = side == CHECK_SRC ? check__query(cx->src, cx->src_role, &q, &res)
                                   : check__query(cx->tgt, cx->tgt_role, &q, &res);
    buf_deinit(&q);
    if (rc) return rc;
    if (res && side == CHECK_SRC) rc = fetch_src_rows(p, res, p->n_key, 0, out, aged);
    if (res && side == CHECK_TGT) fetch_rows(res, p->n_key, 0, out);
    mysql_free_result(res);
    check_rows_sort(out);
    if (aged) check_rows_sort(aged);
    return rc;
}

typedef struct collect_ctx {
    check_rows *cand;
    const check_rows *aged;
} collect_ctx;

static void on_diff_collect(void *ctx, check_kind kind, const check_row *s, const check_row *t)
{
    collect_ctx *cc = ctx;
    const check_row *row = s ? s : t;
    if (kind == CHECK_EXTRA && check_rows_has(cc->aged, row->key, row->key_len))
        return; /* aged out: waiting for the pipeline does not change it */
    check_rows_add(cc->cand, row->key, row->key_len, 0, NULL, 0);
}

/* key_list appends (key = k1 OR key = k2 ..) over the keys of rows. */
static void key_list(buf *out, const check_plan *p, check_side side, const check_rows *rows)
{
    buf_putc(out, '(');
    for (size_t i = 0; i < rows->n; i++) {
        if (i) buf_puts(out, " OR ");
        check_sql_key_eq(out, p->cols, p->keys, p->n_key, side, rows->v[i].key, rows->v[i].key_len);
    }
    buf_putc(out, ')');
}

/* chunk_diff diffs the rows of one key range and repairs them if asked.
 * Online, the differing keys are read again up to 5 times (source, then
 * the source's binlog position, wait for the pipeline to apply past it,
 * then target) and only keys that still differ are reported. */
static cot_err chunk_diff(check_ctx *cx, const check_plan *p, check_table_result *r,
                          const buf *range_s, const buf *range_t)
{
    buf qs, qt, ws, wt;
    buf_init(&qs);
    buf_init(&qt);
    buf_init(&ws);
    buf_init(&wt);
    rows_query(&qs, p, CHECK_SRC, range_s);
    rows_query(&qt, p, CHECK_TGT, range_t);
    MYSQL_RES *rs = NULL, *rt = NULL;
    cot_err rc = check__pair(cx, &qs, &qt, &rs, &rt);
    buf_deinit(&qs);
    buf_deinit(&qt);
    if (rc) return rc;
    check_rows a, b, cand, aged, hits;
    check_rows_init(&a);
    check_rows_init(&b);
    check_rows_init(&cand);
    check_rows_init(&aged);
    check_rows_init(&hits);
    collect_ctx cc = {.cand = &cand, .aged = &aged};
    rc = fetch_src_rows(p, rs, p->n_key, 0, &a, &aged);
    fetch_rows(rt, p->n_key, 0, &b);
    mysql_free_result(rs);
    mysql_free_result(rt);
    if (rc) goto out;
    check_rows_sort(&a);
    check_rows_sort(&b);
    check_rows_sort(&aged);
    for (size_t i = 0; aged.n && i < b.n; i++) /* the later rounds re-read only other keys */
        if (check_rows_has(&aged, b.v[i].key, b.v[i].key_len))
            check_rows_add(&hits, b.v[i].key, b.v[i].key_len, 0, NULL, 0);
    uint64_t first = 0;
    for (int round = 0; round < 5 && cx->online && !cx->stalled; round++) {
        check_rows_clear(&cand);
        uint64_t n = check_rows_diff(&a, &b, on_diff_collect, &cc);
        if (round == 0) first = n;
        if (cand.n == 0) break; /* none, or only aged-out rows */
        buf_reset(&ws);
        buf_reset(&wt);
        if (cand.n <= 2000) {
            key_list(&ws, p, CHECK_SRC, &cand);
            key_list(&wt, p, CHECK_TGT, &cand);
        } else {
            buf_append(&ws, range_s->data, range_s->len);
            buf_append(&wt, range_t->data, range_t->len);
        }
        check_rows_clear(&a);
        check_rows_clear(&b);
        binpos want;
        if ((rc = fetch_side(cx, p, CHECK_SRC, &ws, &a, &aged))) goto out;
        if (master_pos(cx, &want)) wait_applied(cx, &want);
        if ((rc = fetch_side(cx, p, CHECK_TGT, &wt, &b, NULL))) goto out;
    }
    diff_ctx d = {.cx = cx, .p = p, .r = r, .aged = &aged, .aged_hits = &hits};
    check_rows_init(&d.up);
    check_rows_init(&d.del);
    buf_init(&d.scratch);
    uint64_t last = check_rows_diff(&a, &b, on_diff_keyed, &d);
    if (first > last) r->settled_rows += first - last;
    check_rows_sort(&hits);
    for (size_t i = 0; i < hits.n; i++)
        if (i == 0 || hits.v[i].key_len != hits.v[i - 1].key_len ||
            memcmp(hits.v[i].key, hits.v[i - 1].key, hits.v[i].key_len) != 0)
            r->aged_out++;
    if (cx->opts->repair && (d.up.n || d.del.n)) rc = repair_keyed(&d);
    check_rows_deinit(&d.up);
    check_rows_deinit(&d.del);
    buf_deinit(&d.scratch);
out:
    check_rows_deinit(&a);
    check_rows_deinit(&b);
    check_rows_deinit(&cand);
    check_rows_deinit(&aged);
    check_rows_deinit(&hits);
    buf_deinit(&ws);
    buf_deinit(&wt);
    return rc;
}

/* int_key says whether the table's key is one integer column on both sides
 * (its value range can then be cut into buckets by arithmetic). */
static bool int_key(const check_plan *p)
{
    if (p->n_key != 1) return false;
    const check_col *c = &p->cols[p->keys[0]];
    return c->src_name && c->src_type && c->tgt_type && strstr(c->src_type, "int") &&
           strstr(c->tgt_type, "int") && !strstr(c->src_type, "point");
}

#define BUCKETS     64
#define BUCKET_ROWS 4096 /* a differing chunk larger than this is cut into buckets first */

typedef struct bucket_sum {
    long long b;
    uint64_t count;
    char sum[32];
} bucket_sum;

static size_t read_buckets(MYSQL_RES *res, bucket_sum *out, size_t cap)
{
    size_t n = 0;
    for (MYSQL_ROW row; n < cap && (row = mysql_fetch_row(res));) {
        out[n].b = strtoll(row[0] ? row[0] : "0", NULL, 10);
        out[n].count = strtoull(row[1] ? row[1] : "0", NULL, 10);
        snprintf(out[n].sum, sizeof(out[n].sum), "%s", row[2] ? row[2] : "0");
        n++;
    }
    return n;
}

/* minmax_sql appends "SELECT MIN(key), MAX(key) FROM <side's table>" for
 * the first key column kc of p. */
static void minmax_sql(buf *q, const check_plan *p, const check_col *kc, check_side side)
{
    buf_puts(q, "SELECT MIN(");
    check_sql_col_raw(q, kc, side);
    buf_puts(q, "), MAX(");
    check_sql_col_raw(q, kc, side);
    buf_puts(q, ") FROM ");
    const buf *from = side == CHECK_SRC ? &p->src_from : &p->tgt_from;
    buf_append(q, from->data, from->len);
}

/* bucket_diff narrows a large differing chunk of an integer-keyed table:
 * both sides sum the chunk in BUCKETS key-value buckets at once (GROUP BY
 * (key - lo) DIV width), and only buckets that differ are diffed row by
 * row, so the rows of a big chunk are not all fetched to find a few. */
static cot_err bucket_diff(check_ctx *cx, const check_plan *p, check_table_result *r,
                           const buf *range_s, const buf *range_t)
{
    const check_col *kc = &p->cols[p->keys[0]];
    check_side sides[2] = {CHECK_SRC, CHECK_TGT};
    const buf *ranges[2] = {range_s, range_t};
    buf qs, qt, ss, st;
    buf_init(&qs);
    buf_init(&qt);
    buf_init(&ss);
    buf_init(&st);
    buf *qq[2] = {&qs, &qt};
    for (int s = 0; s < 2; s++) {
        minmax_sql(qq[s], p, kc, sides[s]);
        buf_puts(qq[s], " WHERE ");
        buf_append(qq[s], ranges[s]->data, ranges[s]->len);
    }
    MYSQL_RES *rs = NULL, *rt = NULL;
    bucket_sum *bs = NULL, *bt = NULL;
    cot_err rc = check__pair(cx, &qs, &qt, &rs, &rt);
    if (rc) goto out;
    MYSQL_ROW a = mysql_fetch_row(rs), b = mysql_fetch_row(rt);
    bool have = false;
    long long lo = 0, hi = 0;
    for (int s = 0; s < 2; s++) {
        MYSQL_ROW row = s == 0 ? a : b;
        if (!row || !row[0] || !row[1]) continue;
        long long mn = strtoll(row[0], NULL, 10), mx = strtoll(row[1], NULL, 10);
        if (!have || mn < lo) lo = mn;
        if (!have || mx > hi) hi = mx;
        have = true;
    }
    mysql_free_result(rs);
    mysql_free_result(rt);
    rs = rt = NULL;
    /* too narrow or too wide a value range for arithmetic buckets: plain row diff */
    if (!have || hi - lo < BUCKETS || lo < -(1LL << 61) || hi > (1LL << 61)) {
        rc = chunk_diff(cx, p, r, range_s, range_t);
        goto out;
    }
    long long width = (hi - lo) / BUCKETS + 1;
    for (int s = 0; s < 2; s++) {
        buf_reset(qq[s]);
        buf_puts(qq[s], "SELECT (");
        check_sql_col_raw(qq[s], kc, sides[s]);
        buf_printf(qq[s], " - (%lld)) DIV %lld AS b, COUNT(*), COALESCE(BIT_XOR(", lo, width);
        check_sql_row_hash(qq[s], p->cols, p->n_cols, sides[s]);
        buf_puts(qq[s], "),0) FROM ");
        const buf *from = s == 0 ? &p->src_from : &p->tgt_from;
        buf_append(qq[s], from->data, from->len);
        buf_puts(qq[s], " WHERE ");
        buf_append(qq[s], ranges[s]->data, ranges[s]->len);
        buf_puts(qq[s], " GROUP BY b ORDER BY b");
    }
    if ((rc = check__pair(cx, &qs, &qt, &rs, &rt))) goto out;
    bs = calloc(BUCKETS + 2, sizeof(*bs));
    bt = calloc(BUCKETS + 2, sizeof(*bt));
    if (!bs || !bt) abort();
    size_t ns = read_buckets(rs, bs, BUCKETS + 2), nt = read_buckets(rt, bt, BUCKETS + 2);
    for (size_t i = 0, j = 0; i < ns || j < nt;) {
        long long bk;
        bool same;
        if (j >= nt || (i < ns && bs[i].b < bt[j].b)) {
            bk = bs[i++].b;
            same = false;
        } else if (i >= ns || bt[j].b < bs[i].b) {
            bk = bt[j++].b;
            same = false;
        } else {
            bk = bs[i].b;
            same = bs[i].count == bt[j].count && strcmp(bs[i].sum, bt[j].sum) == 0;
            i++;
            j++;
        }
        if (same) continue;
        for (int s = 0; s < 2; s++) {
            buf *sub = s == 0 ? &ss : &st;
            buf_reset(sub);
            buf_putc(sub, '(');
            buf_append(sub, ranges[s]->data, ranges[s]->len);
            buf_puts(sub, ") AND ");
            check_sql_col_raw(sub, kc, sides[s]);
            buf_printf(sub, " >= %lld AND ", lo + bk * width);
            check_sql_col_raw(sub, kc, sides[s]);
            buf_printf(sub, " < %lld", lo + (bk + 1) * width);
        }
        if ((rc = chunk_diff(cx, p, r, &ss, &st))) goto out;
    }
out:
    mysql_free_result(rs);
    mysql_free_result(rt);
    free(bs);
    free(bt);
    buf_deinit(&qs);
    buf_deinit(&qt);
    buf_deinit(&ss);
    buf_deinit(&st);
    return rc;
}

/* recheck_sums compares a differing chunk's checksums again, up to 3
 * times, each time reading the source, then waiting for the pipeline to
 * apply past the source's position, then reading the target. *differs
 * becomes false when they match. */
static cot_err recheck_sums(check_ctx *cx, const check_plan *p, bool bit_xor, const buf *qs,
                            const buf *qt, bool *differs)
{
    cot_err rc = COT_OK;
    for (int round = 0; round < 3 && *differs && cx->online && !cx->stalled; round++) {
        MYSQL_RES *rs = NULL, *rt = NULL;
        binpos want;
        if ((rc = check__query(cx->src, cx->src_role, qs, &rs))) return rc;
        if (master_pos(cx, &want)) wait_applied(cx, &want);
        if ((rc = check__query(cx->tgt, cx->tgt_role, qt, &rt))) {
            mysql_free_result(rs);
            return rc;
        }
        uint64_t cs = 0, ct = 0;
        char xs[64], xt[64];
        if (rs && rt && !(rc = sums_read(p, CHECK_SRC, rs, bit_xor, &cs, xs, sizeof(xs))) &&
            read_sums(rt, &ct, xt, sizeof(xt)))
            *differs = cs != ct || strcmp(xs, xt) != 0;
        mysql_free_result(rs);
        mysql_free_result(rt);
        if (rc) return rc;
    }
    return rc;
}

/* key_span reads the smallest and largest key of both sides for the
 * arithmetic walk: *lo gets min - 1 (the first chunk is open below anyway),
 * *hi the max. Clears *arith when the values do not suit it. */
static cot_err key_span(check_ctx *cx, const check_plan *p, bool *arith, long long *lo,
                        long long *hi)
{
    const check_col *kc = &p->cols[p->keys[0]];
    check_side sides[2] = {CHECK_SRC, CHECK_TGT};
    buf qs, qt;
    buf_init(&qs);
    buf_init(&qt);
    buf *qq[2] = {&qs, &qt};
    for (int s = 0; s < 2; s++) minmax_sql(qq[s], p, kc, sides[s]);
    MYSQL_RES *rs = NULL, *rt = NULL;
    cot_err rc = check__pair(cx, &qs, &qt, &rs, &rt);
    buf_deinit(&qs);
    buf_deinit(&qt);
    if (rc) return rc;
    bool have = false;
    for (int s = 0; s < 2; s++) {
        MYSQL_ROW row = mysql_fetch_row(s == 0 ? rs : rt);
        if (!row || !row[0] || !row[1]) continue;
        errno = 0;
        long long mn = strtoll(row[0], NULL, 10), mx = strtoll(row[1], NULL, 10);
        if (errno) *arith = false;
        if (!have || mn < *lo) *lo = mn;
        if (!have || mx > *hi) *hi = mx;
        have = true;
    }
    mysql_free_result(rs);
    mysql_free_result(rt);
    if (!have) {
        *lo = 0; /* empty on both sides: one open chunk */
        *hi = 0;
    }
    if (*lo < -(1LL << 60) || *hi > (1LL << 60)) *arith = false;
    *lo -= 1;
    return COT_OK;
}

static cot_err walk_keyed(check_ctx *cx, const check_plan *p, check_table_result *r)
{
    const check_opts *o = cx->opts;
    uint32_t n = o->chunk_rows ? o->chunk_rows : 1000;
    double target_s = o->chunk_target_s > 0 ? o->chunk_target_s : 0.5;
    buf lower, upper, q, qs, qt, range_s, range_t;
    buf_init(&lower);
    buf_init(&upper);
    buf_init(&q);
    buf_init(&qs);
    buf_init(&qt);
    buf_init(&range_s);
    buf_init(&range_t);
    bool have_lower = false;
    cot_err rc = COT_OK;
    MYSQL_RES *res = NULL, *rs = NULL, *rt = NULL;
    /* one integer key: chunks are cut by key value (no boundary scan), sized
     * from the rows the last one held; the walk ends past the largest key */
    bool arith = int_key(p);
    long long key_max = 0, lower_val = 0, step = n;
    if (arith && (rc = key_span(cx, p, &arith, &lower_val, &key_max))) goto out;
    for (;;) {
        bool have_upper = false;
        buf_reset(&upper);
        if (arith) {
            long long to = lower_val + step;
            have_upper = to < key_max;
            if (have_upper) {
                char v[32];
                int len = snprintf(v, sizeof(v), "%lld", to);
                check_tuple_add(&upper, v, (size_t)len);
            }
            lower_val = to;
            goto bounded;
        }
        /* the chunk's upper bound: the n-th source key after the lower one */
        buf_reset(&q);
        buf_puts(&q, "SELECT ");
        for (uint32_t k = 0; k < p->n_key; k++) {
            if (k) buf_putc(&q, ',');
            check_sql_col_value(&q, &p->cols[p->keys[k]], CHECK_SRC);
        }
        buf_puts(&q, " FROM ");
        buf_append(&q, p->src_from.data, p->src_from.len);
        buf_puts(&q, " WHERE ");
        check_sql_key_range(&q, p->cols, p->keys, p->n_key, CHECK_SRC,
                            have_lower ? (uint8_t *)lower.data : NULL, lower.len, NULL, 0);
        buf_puts(&q, " ORDER BY ");
        for (uint32_t k = 0; k < p->n_key; k++) {
            if (k) buf_putc(&q, ',');
            check_sql_col_raw(&q, &p->cols[p->keys[k]], CHECK_SRC);
        }
        buf_printf(&q, " LIMIT 1 OFFSET %u", n - 1);
        if ((rc = check__query(cx->src, cx->src_role, &q, &res))) goto out;
        MYSQL_ROW row = mysql_fetch_row(res);
        have_upper = row != NULL;
        if (row) {
            unsigned long *len = mysql_fetch_lengths(res);
            for (uint32_t k = 0; k < p->n_key; k++) check_tuple_add(&upper, row[k], len[k]);
        }
        mysql_free_result(res);
        res = NULL;
    bounded:;

        check_side sides[2] = {CHECK_SRC, CHECK_TGT};
        buf *ranges[2] = {&range_s, &range_t};
        buf *qq[2] = {&qs, &qt};
        for (int s = 0; s < 2; s++) {
            buf_reset(ranges[s]);
            check_sql_key_range(ranges[s], p->cols, p->keys, p->n_key, sides[s],
                                have_lower ? (uint8_t *)lower.data : NULL, lower.len,
                                have_upper ? (uint8_t *)upper.data : NULL, upper.len);
            buf_reset(qq[s]);
            sums_sql(qq[s], p, sides[s], ranges[s], "BIT_XOR");
        }
        double t0 = now_s();
        if ((rc = check__pair(cx, &qs, &qt, &rs, &rt))) goto out;
        double el = now_s() - t0;
        uint64_t cs = 0, ct = 0;
        char xs[64], xt[64];
        if ((rc = sums_read(p, CHECK_SRC, rs, true, &cs, xs, sizeof(xs))) ||
            (rc = sums_read(p, CHECK_TGT, rt, true, &ct, xt, sizeof(xt))))
            goto out;
        mysql_free_result(rs);
        mysql_free_result(rt);
        rs = rt = NULL;
        r->chunks++;
        r->rows += cs;
        bool differs = cs != ct || strcmp(xs, xt) != 0;
        if (differs && cx->online && !cx->stalled) {
            if ((rc = recheck_sums(cx, p, true, &qs, &qt, &differs))) goto out;
            if (!differs) r->settled_chunks++;
        }
        if (differs) {
            LOG_D(TAG, "%s chunk %llu differs: source %llu rows %s, target %llu rows %s", r->source,
                  (unsigned long long)r->chunks, (unsigned long long)cs, xs, (unsigned long long)ct,
                  xt);
            rc = int_key(p) && !p->cf && (cs > BUCKET_ROWS || ct > BUCKET_ROWS)
                     ? bucket_diff(cx, p, r, &range_s, &range_t)
                     : chunk_diff(cx, p, r, &range_s, &range_t);
            if (rc) goto out;
        }
        if (arith) {
            /* rows per key value in this chunk -> the value step for the next one's rows */
            uint64_t held = cs > ct ? cs : ct;
            uint32_t want =
                check_chunk_next_size(held ? (uint32_t)(held < 1000000 ? held : 1000000) : n,
                                      held ? el : 0, target_s, 100, 1000000);
            double next = held ? (double)step * want / (double)held : (double)step * 2;
            if (next > (double)step * 2) next = (double)step * 2;
            if (next < (double)step / 2) next = (double)step / 2;
            step = next < 1 ? 1 : next > 4e15 ? (long long)4e15 : (long long)next;
        }
        n = check_chunk_next_size(n, el, target_s, 100, 1000000);
        if (o->progress) o->progress(o->progress_ctx, r, false);
        throttle(cx);
        busy_pause(cx);
        rate_limit(cx, cs);
        if (o->stop && atomic_load(o->stop)) {
            rc = cot_err_set(COT_ERR_STOPPED, "check of %s stopped", r->source);
            goto out;
        }
        if (!have_upper) break;
        buf_reset(&lower);
        buf_append(&lower, upper.data, upper.len);
        have_lower = true;
    }
out:
    mysql_free_result(res);
    mysql_free_result(rs);
    mysql_free_result(rt);
    buf_deinit(&lower);
    buf_deinit(&upper);
    buf_deinit(&q);
    buf_deinit(&qs);
    buf_deinit(&qt);
    buf_deinit(&range_s);
    buf_deinit(&range_t);
    return rc;
}

static cot_err walk_keyless(check_ctx *cx, const check_plan *p, check_table_result *r)
{
    const check_opts *o = cx->opts;
    uint64_t limit = o->keyless_limit ? o->keyless_limit : 100000;
    buf qs, qt;
    buf_init(&qs);
    buf_init(&qt);
    check_side sides[2] = {CHECK_SRC, CHECK_TGT};
    buf *qq[2] = {&qs, &qt};
    for (int s = 0; s < 2; s++) sums_sql(qq[s], p, sides[s], NULL, "SUM");
    MYSQL_RES *rs = NULL, *rt = NULL;
    check_rows a, b, aged;
    check_rows_init(&a);
    check_rows_init(&b);
    check_rows_init(&aged);
    diff_ctx d = {.cx = cx, .p = p, .r = r, .aged = &aged};
    check_rows_init(&d.up);
    check_rows_init(&d.del);
    buf_init(&d.scratch);
    cot_err rc = check__pair(cx, &qs, &qt, &rs, &rt);
    if (rc) goto out;
    uint64_t cs = 0, ct = 0;
    char xs[64], xt[64];
    if ((rc = sums_read(p, CHECK_SRC, rs, false, &cs, xs, sizeof(xs))) ||
        (rc = sums_read(p, CHECK_TGT, rt, false, &ct, xt, sizeof(xt))))
        goto out;
    mysql_free_result(rs);
    mysql_free_result(rt);
    rs = rt = NULL;
    r->chunks = 1;
    r->rows = cs;
    rate_limit(cx, cs);
    if (cs == ct && strcmp(xs, xt) == 0) goto out;
    if (cx->online && !cx->stalled) {
        bool differs = true;
        if ((rc = recheck_sums(cx, p, false, &qs, &qt, &differs))) goto out;
        if (!differs) {
            r->settled_chunks++;
            goto out;
        }
    }
    if (cs > limit || ct > limit) {
        r->not_itemized = true;
        LOG_W(TAG,
              "%s has no usable key (PRIMARY or NOT NULL UNIQUE) and differs (source %llu rows, "
              "target %llu); it is larger than the keyless row limit %llu, so the rows are not "
              "named: add a key or raise --keyless-limit",
              r->source, (unsigned long long)cs, (unsigned long long)ct, (unsigned long long)limit);
        goto out;
    }
    for (int s = 0; s < 2; s++) {
        buf_reset(qq[s]);
        buf_puts(qq[s], "SELECT ");
        check_sql_row_text(qq[s], p->cols, p->n_cols, sides[s]);
        buf_puts(qq[s], ",0");
        for (uint32_t c = 0; s == 0 && c < p->n_cols; c++) {
            buf_putc(qq[s], ',');
            check_sql_col_value(qq[s], &p->cols[c], CHECK_SRC);
        }
        if (s == 0 && p->cf) check_filter_select(qq[s], p->cf);
        buf_puts(qq[s], " FROM ");
        const buf *from = s == 0 ? &p->src_from : &p->tgt_from;
        buf_append(qq[s], from->data, from->len);
    }
    if ((rc = check__pair(cx, &qs, &qt, &rs, &rt))) goto out;
    if ((rc = fetch_src_rows(p, rs, 1, p->n_cols, &a, &aged))) goto out;
    fetch_rows(rt, 1, 0, &b);
    check_rows_sort(&a);
    check_rows_sort(&b);
    check_rows_sort(&aged);
    check_rows_diff(&a, &b, on_diff_keyless, &d);
    if (o->repair && (d.up.n || d.del.n)) rc = repair_keyless(&d);
out:
    mysql_free_result(rs);
    mysql_free_result(rt);
    check_rows_deinit(&a);
    check_rows_deinit(&b);
    check_rows_deinit(&aged);
    check_rows_deinit(&d.up);
    check_rows_deinit(&d.del);
    buf_deinit(&d.scratch);
    buf_deinit(&qs);
    buf_deinit(&qt);
    return rc;
}

/* ---- pipelines ------------------------------------------------------- */

static check_table_result *report_add(check_report *rep)
{
    rep->tables = realloc(rep->tables, (rep->n_tables + 1) * sizeof(check_table_result));
    if (!rep->tables) abort();
    check_table_result *r = &rep->tables[rep->n_tables++];
    memset(r, 0, sizeof(*r));
    return r;
}

/* report_error appends "a: msg" to the report's error. */
static void report_error(check_report *rep, const char *a, const char *msg)
{
    buf b;
    buf_init(&b);
    if (rep->error) {
        buf_puts(&b, rep->error);
        buf_puts(&b, "; ");
        free(rep->error);
    }
    buf_printf(&b, "%s: %s", a, msg);
    rep->error = b.data;
}

static cot_err open_side(check_ctx *cx, const cfg_endpoint *ep, const char *role, MYSQL **out)
{
    mysql_conn_opts mo = {.role = role,
                          .connect_timeout_s = ep->connect_timeout_s,
                          .read_timeout_s = ep->read_timeout_s,
                          .write_timeout_s = ep->write_timeout_s};
    cot_err rc = mysql_conn_open(&ep->url, &mo, out);
    if (rc) return rc;
    return mysql_conn_exec_str(*out, role,
                               "SET time_zone='+00:00', foreign_key_checks=0, "
                               "sql_mode='NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'");
}

/* ---- stored results -------------------------------------------------- */

static const char results_ddl[] = "CREATE TABLE IF NOT EXISTS `cotter`.`check_results` ("
                                  "id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                                  "pipeline VARCHAR(191) NOT NULL,"
                                  "source_table VARCHAR(200) NOT NULL,"
                                  "target_table VARCHAR(200) NOT NULL,"
                                  "started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
                                  "seconds DOUBLE NOT NULL,"
                                  "rows_checked BIGINT UNSIGNED NOT NULL,"
                                  "chunks BIGINT UNSIGNED NOT NULL,"
                                  "missing BIGINT UNSIGNED NOT NULL,"
                                  "extra BIGINT UNSIGNED NOT NULL,"
                                  "different BIGINT UNSIGNED NOT NULL,"
                                  "settled BIGINT UNSIGNED NOT NULL,"
                                  "status VARCHAR(16) NOT NULL,"
                                  "error TEXT NULL,"
                                  "diffs MEDIUMTEXT NULL,"
                                  "KEY (pipeline, source_table, id)"
                                  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/* store_prepare makes sure cotter.check_results exists; false (logged) if
 * it cannot. The schema and the table are created only when
 * information_schema does not list them: a check writes no DDL into the
 * target's binlog, and a user without CREATE can store results in a table
 * an administrator created. */
static bool store_prepare(check_ctx *cx)
{
    static const char have_q[] =
        "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='cotter' AND "
        "TABLE_NAME='check_results') * 2 + (SELECT COUNT(*) FROM information_schema.SCHEMATA "
        "WHERE SCHEMA_NAME='cotter')";
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    long have = -1;
    if (mysql_real_query(cx->tgt, have_q, sizeof(have_q) - 1) == 0 &&
        (res = mysql_store_result(cx->tgt)) && (row = mysql_fetch_row(res)) && row[0])
        have = strtol(row[0], NULL, 10);
    if (res) mysql_free_result(res);
    cot_err rc = COT_OK;
    if (have < 0)
        rc = mysql_conn_error(cx->tgt, "%s: looking for cotter.check_results", cx->tgt_role);
    if (!rc && !(have & 1))
        rc = mysql_conn_exec_str(cx->tgt, cx->tgt_role, "CREATE DATABASE IF NOT EXISTS `cotter`");
    if (!rc && !(have & 2)) rc = mysql_conn_exec_str(cx->tgt, cx->tgt_role, results_ddl);
    if (rc) {
        LOG_W(TAG,
              "%s: results are not stored in cotter.check_results: %s (grant the user CREATE "
              "and INSERT on `cotter`.*, or have an administrator run one check, which creates "
              "the table, and grant INSERT on it)",
              cx->tgt_role, cot_err_msg());
        return false;
    }
    return true;
}

bool check_last_started(const cfg_pipeline *pc, time_t *out)
{
    check_ctx cx;
    memset(&cx, 0, sizeof(cx));
    snprintf(cx.tgt_role, sizeof(cx.tgt_role), "target %s", pc->target_name);
    if (!cot_url_is_mysql(&pc->target->url)) return false;
    /* short timeouts: the scheduler's stop waits for this read */
    const cfg_endpoint *ep = pc->target;
    mysql_conn_opts mo = {.role = cx.tgt_role,
                          .connect_timeout_s =
                              ep->connect_timeout_s < 5 ? ep->connect_timeout_s : 5,
                          .read_timeout_s = 5,
                          .write_timeout_s = 5};
    if (mysql_conn_open(&ep->url, &mo, &cx.tgt)) {
        mysql_conn_close(cx.tgt);
        return false;
    }
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT UNIX_TIMESTAMP(MAX(started_at)) FROM `cotter`.`check_results` WHERE "
                 "pipeline = ");
    check_sql_literal(&q, pc->name, strlen(pc->name), "varchar");
    MYSQL_RES *res = NULL;
    cot_err rc = check__query(cx.tgt, cx.tgt_role, &q, &res);
    buf_deinit(&q);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    bool found = !rc && row && row[0];
    if (found) *out = (time_t)strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    mysql_conn_close(cx.tgt);
    return found;
}

/* store_result appends r to cotter.check_results (a failure is logged). */
static void store_result(check_ctx *cx, const check_table_result *r, time_t started)
{
    const char *status = r->error ? "error"
                         : (r->missing || r->extra || r->different || r->not_itemized)
                             ? (cx->opts->repair ? "repaired" : "differs")
                             : "identical";
    buf q, d;
    buf_init(&q);
    buf_init(&d);
    buf_putc(&d, '[');
    for (uint32_t k = 0; k < r->n_diffs && k < 100; k++) {
        if (k) buf_putc(&d, ',');
        buf_printf(&d, "{\"kind\":\"%s\",\"key\":%s}",
                   check_kind_name((check_kind)r->diffs[k].kind), r->diffs[k].json);
    }
    buf_putc(&d, ']');
    buf_puts(&q, "INSERT INTO `cotter`.`check_results` (pipeline, source_table, target_table, "
                 "started_at, seconds, rows_checked, chunks, missing, extra, different, settled, "
                 "status, error, diffs) VALUES (");
    check_sql_literal(&q, r->pipeline, strlen(r->pipeline), "varchar");
    buf_putc(&q, ',');
    check_sql_literal(&q, r->source, strlen(r->source), "varchar");
    buf_putc(&q, ',');
    check_sql_literal(&q, r->target, strlen(r->target), "varchar");
    buf_printf(&q, ",FROM_UNIXTIME(%lld),%.3f,%llu,%llu,%llu,%llu,%llu,%llu,'%s',",
               (long long)started, r->seconds, (unsigned long long)r->rows,
               (unsigned long long)r->chunks, (unsigned long long)r->missing,
               (unsigned long long)r->extra, (unsigned long long)r->different,
               (unsigned long long)(r->settled_chunks + r->settled_rows), status);
    if (r->error)
        check_sql_literal(&q, r->error, strlen(r->error), "varchar");
    else
        buf_puts(&q, "NULL");
    buf_putc(&q, ',');
    check_sql_literal(&q, d.data, d.len, "varchar");
    buf_putc(&q, ')');
    if (mysql_conn_exec(cx->tgt, cx->tgt_role, q.data, q.len))
        LOG_W(TAG, "%s: storing the result of %s: %s", cx->tgt_role, r->source, cot_err_msg());
    buf_deinit(&q);
    buf_deinit(&d);
}

static int check_pipeline(const cfg_pipeline *pc, const check_opts *o, check_report *rep)
{
    check_ctx cx = {.opts = o, .pc = pc};
    snprintf(cx.src_role, sizeof(cx.src_role), "source %s", pc->source_name);
    snprintf(cx.tgt_role, sizeof(cx.tgt_role), "target %s", pc->target_name);
    int status = 0;
    MYSQL_RES *res = NULL;
    if (!cot_url_is_mysql(&pc->source->url) || !cot_url_is_mysql(&pc->target->url)) {
        report_error(rep, pc->name, "check compares MySQL/MariaDB sources and targets only");
        return 2;
    }
    if (open_side(&cx, pc->source, cx.src_role, &cx.src) ||
        open_side(&cx, pc->target, cx.tgt_role, &cx.tgt)) {
        report_error(rep, pc->name, cot_err_msg());
        status = 2;
        goto out;
    }
    binpos applied;
    if (!o->offline && applied_pos(&cx, &applied, NULL) == 1) {
        cx.online = true;
        LOG_I(TAG,
              "pipeline %s: online check (applied up to %s:%llu): a difference is compared again "
              "once the pipeline has applied past the source's position",
              pc->name, applied.file, (unsigned long long)applied.pos);
    }
    bool store = o->store && !o->dry_run && store_prepare(&cx);
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "
                 "TABLE_TYPE='BASE TABLE' AND TABLE_SCHEMA NOT IN "
                 "('mysql','information_schema','performance_schema','sys') ORDER BY 1,2");
    cot_err rc = check__query(cx.src, cx.src_role, &q, &res);
    buf_deinit(&q);
    if (rc) {
        report_error(rep, pc->name, cot_err_msg());
        status = 2;
        goto out;
    }
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        if (o->stop && atomic_load(o->stop)) break;
        char base[256];
        const cfg_table_map *tm = transform_mapping(pc, row[0], row[1], base, sizeof(base));
        if (!tm || base[0]) continue; /* not mapped, or an online-schema-change shadow */
        check_plan p;
        memset(&p, 0, sizeof(p));
        buf_init(&p.src_from);
        buf_init(&p.tgt_from);
        snprintf(p.src_schema, sizeof(p.src_schema), "%s", row[0]);
        snprintf(p.src_table, sizeof(p.src_table), "%s", row[1]);
        if (!table_route(tm->to, row[0], row[1], p.tgt_schema, sizeof(p.tgt_schema), p.tgt_table,
                         sizeof(p.tgt_table))) {
            report_error(rep, pc->name, cot_err_msg());
            status = 2;
            plan_deinit(&p);
            continue;
        }
        if (o->table && !table_glob_match(o->table, p.src_schema, p.src_table) &&
            !table_glob_match(o->table, p.tgt_schema, p.tgt_table)) {
            plan_deinit(&p);
            continue;
        }
        check_table_result *r = report_add(rep);
        snprintf(r->pipeline, sizeof(r->pipeline), "%s", pc->name);
        snprintf(r->source, sizeof(r->source), "%s.%s", p.src_schema, p.src_table);
        snprintf(r->target, sizeof(r->target), "%s.%s", p.tgt_schema, p.tgt_table);
        double t0 = now_s();
        time_t started = time(NULL);
        busy_pause(&cx);
        rc = check__plan(&cx, tm, &p);
        if (!rc) {
            r->keyless = p.n_key == 0;
            rc = r->keyless ? walk_keyless(&cx, &p, r) : walk_keyed(&cx, &p, r);
        }
        r->seconds = now_s() - t0;
        if (rc) {
            r->error = xstrdup(cot_err_msg());
            status = 2;
        } else if ((r->missing || r->extra || r->different || r->not_itemized) && status < 1) {
            status = 1;
        }
        if (o->progress) o->progress(o->progress_ctx, r, true);
        if (store) store_result(&cx, r, started);
        if (o->record) check_results_put(r, started);
        if (o->record && (r->missing || r->extra || r->different || r->not_itemized))
            LOG_E(TAG,
                  "pipeline %s: %s and %s differ: %llu missing, %llu extra, %llu different rows%s",
                  pc->name, r->source, r->target, (unsigned long long)r->missing,
                  (unsigned long long)r->extra, (unsigned long long)r->different,
                  o->repair ? " (repaired)" : "; `cotter repair` fixes them");
        plan_deinit(&p);
        if (rc &&
            (rc == COT_ERR_NET || mysql_errno(cx.src) == 2013 || mysql_errno(cx.tgt) == 2013 ||
             mysql_errno(cx.src) == 2006 || mysql_errno(cx.tgt) == 2006))
            break; /* a lost connection fails every later table the same way */
    }
out:
    mysql_free_result(res);
    mysql_conn_close(cx.src);
    mysql_conn_close(cx.tgt);
    return status;
}

int check_run(const cot_config *cfg, const check_opts *opts, check_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    int status = 0;
    bool found = false;
    for (int c = 0; c < cfg->n_channels; c++) {
        for (int i = 0; i < cfg->channels[c].n_pipelines; i++) {
            const cfg_pipeline *pc = &cfg->channels[c].pipelines[i];
            if (opts->pipeline && strcmp(opts->pipeline, pc->name) != 0) continue;
            found = true;
            int s = check_pipeline(pc, opts, rep);
            if (s > status) status = s;
        }
    }
    if (!found) {
        report_error(rep, "config",
                     opts->pipeline ? "no pipeline has the name given to --pipeline"
                                    : "the config has no pipelines");
        status = 2;
    }
    return status;
}

void check_report_free(check_report *rep)
{
    for (uint32_t i = 0; i < rep->n_tables; i++) {
        check_table_result *r = &rep->tables[i];
        for (uint32_t k = 0; k < r->n_diffs; k++) free(r->diffs[k].json);
        free(r->diffs);
        free(r->error);
    }
    free(rep->tables);
    free(rep->error);
    memset(rep, 0, sizeof(*rep));
}
