/*
 * The initial load: tables, windows, watermarks and progress (design and
 * state diagram in the header). The select thread owns everything here;
 * chunk SELECTs of a window run on short-lived worker threads, each on its
 * own source connection and into its own chunks, joined before the high
 * watermark is written. Memory: at most parallelism x chunk_rows rows are
 * buffered (a table without a usable key is copied in one window).
 */
#include "snapshot/snapshot.h"
#include "client/mysql_conn.h"
#include "pipeline/row_filter.h"
#include "pipeline/transform.h"
#include "snapshot/snapshot_key.h"
#include "source/schema.h"
#include "sql/ddl_rewrite.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TAG         "snapshot"
#define MAX_WORKERS 64
#define PIECE_ROWS  2000 /* rows per chunk handed to the load stage */
#define LOG_EVERY_S 5.0
#define COPY_TABLES 16 /* at most this many tables' windows take turns (snap__next_table) */

/* How a column's text value becomes a cot_value. */
typedef enum snap_cls {
    SC_INT = 0,
    SC_UINT,
    SC_FLOAT,
    SC_DOUBLE,
    SC_DECIMAL,
    SC_TEMPORAL,
    SC_STRING, /* text in the column's charset (also ENUM, SET, JSON) */
    SC_BINARY,
    SC_BIT,
    SC_GEOMETRY,
} snap_cls;

typedef struct snap_col {
    char *name;
    char *column_type; /* "int(10) unsigned", for CREATE TABLE */
    char *charset;     /* NULL for non-text */
    char *collation;
    bool nullable;
    uint8_t cls;     /* snap_cls */
    bool key_usable; /* can be (part of) the copy key */
} snap_col;

typedef struct snap_table {
    struct snap_table *next;
    char *schema; /* source names */
    char *name;
    char dst_schema[256]; /* target names */
    char dst_name[256];
    char *where;    /* on demand: the rows to copy (row filter text), or NULL */
    row_filter *rf; /* where, compiled; evaluated by cotter on the rows read */
    bool described; /* cols / tbl / key are current */
    snap_col *cols;
    uint32_t n_cols;
    cot_table *tbl; /* source columns under the target names (what the stream routes) */
    uint32_t n_key; /* 0: no usable key, copied whole */
    uint32_t key[SNAP_KEY_MAX];
    bool fold[SNAP_KEY_MAX];
    const char *key_name[SNAP_KEY_MAX];
    uint8_t key_lit[SNAP_KEY_MAX];
    const char *key_cs[SNAP_KEY_MAX];
    bool done;
    bool have_last;
    snap_keyval last; /* values in mem */
    buf hist;         /* finished windows "FILE:POS:ROWS:KEY;..." (see snap__resolve) */
    arena mem;
    uint64_t rows;     /* copied so far (stored in cotter.snapshots) */
    uint64_t rows_est; /* TABLE_ROWS */
    double t_start;
    /* secondary KEYs left out of the target table cotter created, added
     * once the copy is done: "KEY `k` (`c`)" clauses, one per line; a row
     * of cotter.snapshot_keys holds them until then */
    char *keys;
    /* in a cycle of foreign keys among the copied tables: its CREATE runs
     * with foreign_key_checks=0, so it may name a table created after it */
    bool fk_cycle;
    bool fk_out; /* snap__order_fk: already placed */
} snap_table;

typedef enum win_state {
    W_IDLE = 0, /* no window: snapshot_step may open one */
    W_WAIT_LOW, /* rows buffered; the binlog has not reached the low watermark */
    W_OPEN,     /* between the watermarks: binlog keys drop buffered rows */
} win_state;

static const char *const win_state_names[] = {"IDLE", "WAIT_LOW", "OPEN"};

typedef struct snap_worker {
    snapshot *sn;
    MYSQL *my;
    buf sql;
    uint32_t limit; /* 0: none */
    cot_chunk **pieces;
    uint32_t n_pieces;
    uint32_t cap_pieces;
    uint64_t n_rows;
    int64_t now;                      /* NOW() of the on-demand where */
    const char *last_p[SNAP_KEY_MAX]; /* the last row's key, in the last piece's arena */
    uint32_t last_len[SNAP_KEY_MAX];
    cot_err rc;
    char err[1024];
} snap_worker;

struct snapshot {
    snapshot_conf conf;
    const cfg_pipeline *pc;
    snap_table *tables; /* in copy order */
    MYSQL *ctl;         /* source: watermarks, boundaries, descriptions */
    MYSQL *conns[MAX_WORKERS];
    bool src_ready; /* the watermark table exists */
    char role[200];
    /* the window */
    win_state state;
    uint64_t mark_base;
    uint64_t mark_seq;
    uint64_t low, high;
    snap_table *wt;
    cot_chunk **cks; /* the buffered rows, in key order */
    uint32_t n_cks;
    uint32_t cap_cks;
    uint8_t *dropped; /* per buffered row */
    uint64_t n_buffered;
    uint64_t n_dropped;
    bool w_done; /* the table is finished with this window */
    bool w_have_last;
    snap_keyval w_last; /* in wmem */
    arena wmem;
    snap_keyset keys;
    buf kbuf;
    /* key columns of the last binlog table seen for the window's table */
    const cot_table *kc_tbl;
    uint32_t kc_idx[SNAP_KEY_MAX];
    bool kc_ok;
    /* progress */
    double t0;
    uint64_t rows_session;
    double last_log;
    snapshot_progress prog;
    /* every table is copied: build the deferred indexes once the target
     * committed up to keys_at (snapshot_keys_step) */
    bool keys_due;
    cot_pos keys_at;
    uint32_t turn; /* snap__next_table's round robin */
    /* "schema.table\0..." of the tables with a finished row in
     * cotter.snapshots that are not in tables: read at open, added to by
     * snap__ddl_created */
    buf recorded;
};

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

bool snapshot_is_watermark(const char *schema, const char *table)
{
    return strcmp(schema, SNAPSHOT_WATERMARK_SCHEMA) == 0 &&
           strcmp(table, SNAPSHOT_WATERMARK_TABLE) == 0;
}

static void snap__set_state(snapshot *sn, win_state st)
{
    if (sn->state == st) return;
    LOG_D(TAG, "pipeline %s: window %s -> %s", sn->pc->name, win_state_names[sn->state],
          win_state_names[st]);
    sn->state = st;
}

/* ---- SQL helpers ---------------------------------------------------------- */

static void snap__str(MYSQL *my, buf *b, const char *s)
{
    mysql_conn_put_string(my, b, s, strlen(s));
}

static void snap__qname(buf *b, const char *schema, const char *name)
{
    buf_ident(b, schema);
    buf_putc(b, '.');
    buf_ident(b, name);
}

/* snap__query runs q on my and returns its stored result (caller frees). */
static cot_err snap__query(MYSQL *my, const buf *q, const char *what, MYSQL_RES **res)
{
    *res = NULL;
    if (mysql_real_query(my, q->data, (unsigned long)q->len) != 0 ||
        !(*res = mysql_store_result(my)))
        return mysql_conn_error(my, "%s", what);
    return COT_OK;
}

/* snap__count runs q (a SELECT COUNT(*) ...) on my and stores the count in *n. */
static cot_err snap__count(MYSQL *my, const buf *q, const char *what, uint64_t *n)
{
    MYSQL_RES *res;
    cot_err rc = snap__query(my, q, what, &res);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    *n = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    return COT_OK;
}

static cot_err snap__source_conn(snapshot *sn, MYSQL **out)
{
    const cfg_pipeline *pc = sn->pc;
    mysql_conn_opts mo = {.role = sn->role,
                          .connect_timeout_s = pc->source->connect_timeout_s,
                          .read_timeout_s = pc->source->read_timeout_s,
                          .write_timeout_s = pc->source->write_timeout_s};
    cot_err rc = mysql_conn_open(&pc->source->url, &mo, out);
    if (rc) return rc;
    /* TIMESTAMPs in UTC (event.h); strings in the column's own charset, as the binlog has them */
    rc =
        mysql_conn_exec_str(*out, sn->role, "SET time_zone='+00:00', character_set_results=binary");
    if (rc) {
        mysql_conn_close(*out);
        *out = NULL;
    }
    return rc;
}

/* snap__target_conn opens a connection to the target; ddl: one that may
 * run an index build, which waits up to the target's ddl_timeout. */
static cot_err snap__target_conn(snapshot *sn, bool ddl, MYSQL **out)
{
    const cfg_pipeline *pc = sn->pc;
    char role[200];
    snprintf(role, sizeof(role), "target '%s'", pc->target_name);
    mysql_conn_opts mo = {.role = role,
                          .connect_timeout_s = pc->target->connect_timeout_s,
                          .read_timeout_s =
                              ddl ? pc->target->ddl_timeout_s : pc->target->read_timeout_s,
                          .write_timeout_s = pc->target->write_timeout_s,
                          .multi_statements = true};
    return mysql_conn_open(&pc->target->url, &mo, out);
}

/* ---- describing a source table -------------------------------------------- */

static snap_cls snap__class(const char *data_type, const char *column_type)
{
    static const char *const ints[] = {"tinyint", "smallint", "mediumint", "int", "bigint", "year"};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if (strcasecmp(data_type, ints[i]) == 0)
            return strcasestr(column_type, "unsigned") ? SC_UINT : SC_INT;
    if (strcasecmp(data_type, "float") == 0) return SC_FLOAT;
    if (strcasecmp(data_type, "double") == 0 || strcasecmp(data_type, "real") == 0)
        return SC_DOUBLE;
    if (strcasecmp(data_type, "decimal") == 0 || strcasecmp(data_type, "numeric") == 0)
        return SC_DECIMAL;
    if (strcasecmp(data_type, "date") == 0 || strcasecmp(data_type, "datetime") == 0 ||
        strcasecmp(data_type, "timestamp") == 0 || strcasecmp(data_type, "time") == 0)
        return SC_TEMPORAL;
    if (strcasecmp(data_type, "bit") == 0) return SC_BIT;
    if (strcasestr(data_type, "binary") || strcasestr(data_type, "blob")) return SC_BINARY;
    static const char *const geo[] = {
        "geometry",   "point",           "linestring",   "polygon",
        "multipoint", "multilinestring", "multipolygon", "geometrycollection"};
    for (size_t i = 0; i < sizeof(geo) / sizeof(geo[0]); i++)
        if (strcasecmp(data_type, geo[i]) == 0) return SC_GEOMETRY;
    return SC_STRING;
}

static uint8_t snap__coltype(const char *data_type)
{
    static const struct {
        const char *name;
        uint8_t type;
    } map[] = {
        {"tinyint", CT_TINY},
        {"smallint", CT_SHORT},
        {"mediumint", CT_INT24},
        {"int", CT_LONG},
        {"bigint", CT_LONGLONG},
        {"float", CT_FLOAT},
        {"double", CT_DOUBLE},
        {"decimal", CT_NEWDECIMAL},
        {"date", CT_DATE},
        {"datetime", CT_DATETIME2},
        {"timestamp", CT_TIMESTAMP2},
        {"time", CT_TIME2},
        {"year", CT_YEAR},
        {"varchar", CT_VARCHAR},
        {"varbinary", CT_VARCHAR},
        {"char", CT_STRING},
        {"binary", CT_STRING},
        {"enum", CT_STRING},
        {"set", CT_STRING},
        {"bit", CT_BIT},
        {"json", CT_BLOB},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(data_type, map[i].name) == 0) return map[i].type;
    if (strcasestr(data_type, "blob") || strcasestr(data_type, "text")) return CT_BLOB;
    return CT_GEOMETRY;
}

static void snap__cols_free(snap_table *t)
{
    for (uint32_t i = 0; i < t->n_cols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].column_type);
        free(t->cols[i].charset);
        free(t->cols[i].collation);
    }
    free(t->cols);
    t->cols = NULL;
    t->n_cols = 0;
    cot_table_unref(t->tbl);
    t->tbl = NULL;
    t->n_key = 0;
    t->described = false;
}

static void snap__table_free(snap_table *t)
{
    snap__cols_free(t);
    buf_deinit(&t->hist);
    free(t->schema);
    free(t->name);
    free(t->where);
    row_filter_free(t->rf);
    free(t->keys);
    arena_deinit(&t->mem);
    free(t);
}

/* ---- ENUM and SET as the stream reads them ------------------------------- */

bool snapshot_column_members(cot_column *cc, const char *data_type, const char *column_type)
{
    bool is_enum = data_type && strcasecmp(data_type, "enum") == 0;
    bool is_set = data_type && strcasecmp(data_type, "set") == 0;
    if ((!is_enum && !is_set) || !column_type ||
        !schema_members_parse(column_type, &cc->members, &cc->n_members))
        return false;
    /* a TABLE_MAP's form: CT_STRING, the real type and the value's size in
     * bytes in the metadata (a SET of more than 32 members takes 8) */
    uint32_t size = is_enum ? (cc->n_members > 255 ? 2 : 1) : (cc->n_members + 7) / 8;
    if (size > 4) size = 8;
    cc->type = CT_STRING;
    cc->meta = (uint16_t)((is_enum ? CT_ENUM : CT_SET) << 8 | size);
    return true;
}

/* snap__member returns the 1-based index of member p (len bytes) of cc, 0
 * when it is none of them. */
static uint32_t snap__member(const cot_column *cc, const char *p, size_t len)
{
    for (uint32_t m = 0; m < cc->n_members; m++)
        if (strlen(cc->members[m]) == len && memcmp(cc->members[m], p, len) == 0) return m + 1;
    return 0;
}

bool snapshot_member_value(const cot_column *cc, const char *p, unsigned long len, cot_value *v)
{
    if (!cc->members || !p) return false;
    if ((cc->meta >> 8) != CT_SET) {
        uint32_t m = snap__member(cc, p, len);
        if (!m && len) return false;
        v->kind = VK_ENUM;
        v->u = m; /* '' that is no member: the error value, index 0 */
        return true;
    }
    uint64_t bits = 0;
    for (unsigned long i = 0; i < len;) {
        unsigned long j = i;
        while (j < len && p[j] != ',') j++;
        uint32_t m = snap__member(cc, p + i, j - i);
        if (!m || m > 64) return false;
        bits |= 1ull << (m - 1);
        i = j + 1;
    }
    v->kind = VK_SET;
    v->u = bits;
    return true;
}

/* snap__describe reads t's columns and picks its copy key: the primary key,
 * else the first unique key over NOT NULL columns of comparable types. */
static cot_err snap__describe(snapshot *sn, snap_table *t)
{
    snap__cols_free(t);
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, "
                 "IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=");
    snap__str(sn->ctl, &q, t->schema);
    buf_puts(&q, " AND TABLE_NAME=");
    snap__str(sn->ctl, &q, t->name);
    buf_puts(&q, " ORDER BY ORDINAL_POSITION");
    char what[700];
    snprintf(what, sizeof(what), "%s: reading the columns of %s.%s", sn->role, t->schema, t->name);
    MYSQL_RES *res;
    cot_err rc = snap__query(sn->ctl, &q, what, &res);
    if (rc) goto out;
    uint32_t n = (uint32_t)mysql_num_rows(res);
    if (n == 0) {
        mysql_free_result(res);
        rc = cot_err_set(COT_ERR_SCHEMA,
                         "%s: table %s.%s to copy has no columns (was it dropped?); remove it "
                         "from the mapping or create it",
                         sn->role, t->schema, t->name);
        goto out;
    }
    t->cols = calloc(n, sizeof(*t->cols));
    if (!t->cols) abort();
    t->tbl = cot_table_new(t->dst_schema, t->dst_name, n);
    free(t->tbl->src_schema);
    free(t->tbl->src_name);
    t->tbl->src_schema = xstrdup(t->schema);
    t->tbl->src_name = xstrdup(t->name);
    t->tbl->has_names = true;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && t->n_cols < n) {
        snap_col *c = &t->cols[t->n_cols];
        cot_column *cc = &t->tbl->cols[t->n_cols];
        c->name = xstrdup(row[0]);
        c->column_type = xstrdup(row[2]);
        c->charset = row[3] ? xstrdup(row[3]) : NULL;
        c->collation = row[4] ? xstrdup(row[4]) : NULL;
        c->nullable = row[5] && strcasecmp(row[5], "YES") == 0;
        c->cls = (uint8_t)snap__class(row[1] ? row[1] : "", c->column_type);
        c->key_usable = c->cls == SC_INT || c->cls == SC_UINT || c->cls == SC_DECIMAL ||
                        c->cls == SC_TEMPORAL || c->cls == SC_BINARY ||
                        (c->cls == SC_STRING && strncasecmp(c->column_type, "enum", 4) != 0 &&
                         strncasecmp(c->column_type, "set", 3) != 0);
        cc->name = xstrdup(c->name);
        cc->type = snap__coltype(row[1] ? row[1] : "");
        cc->is_unsigned = c->cls == SC_UINT;
        cc->nullable = c->nullable;
        cc->charset = c->charset ? cot_charset_intern(c->charset)
                                 : (c->cls == SC_BINARY ? cot_charset_intern("binary") : NULL);
        cc->collation = c->cls == SC_BINARY ? COT_COLLATION_BINARY : 0;
        (void)snapshot_column_members(cc, row[1], c->column_type);
        t->n_cols++;
    }
    mysql_free_result(res);

    buf_reset(&q);
    buf_puts(&q, "SELECT INDEX_NAME, COLUMN_NAME, SEQ_IN_INDEX, NULLABLE FROM "
                 "information_schema.STATISTICS WHERE NON_UNIQUE=0 AND TABLE_SCHEMA=");
    snap__str(sn->ctl, &q, t->schema);
    buf_puts(&q, " AND TABLE_NAME=");
    snap__str(sn->ctl, &q, t->name);
    buf_puts(&q, " ORDER BY INDEX_NAME<>'PRIMARY', INDEX_NAME, SEQ_IN_INDEX");
    snprintf(what, sizeof(what), "%s: reading the unique keys of %s.%s", sn->role, t->schema,
             t->name);
    rc = snap__query(sn->ctl, &q, what, &res);
    if (rc) goto out;
    char cur[256] = "";
    uint32_t cand[SNAP_KEY_MAX], n_cand = 0;
    bool ok = false, picked = false;
    while (!picked) {
        row = mysql_fetch_row(res);
        if (!row || strcmp(row[0] ? row[0] : "", cur) != 0) {
            if (cur[0] && ok && n_cand > 0) { /* the previous index qualifies */
                picked = true;
                break;
            }
            if (!row) break;
            snprintf(cur, sizeof(cur), "%s", row[0] ? row[0] : "");
            n_cand = 0;
            ok = true;
        }
        int idx = -1;
        for (uint32_t i = 0; i < t->n_cols; i++)
            if (row[1] && strcmp(t->cols[i].name, row[1]) == 0) idx = (int)i;
        if (idx < 0 || n_cand >= SNAP_KEY_MAX || !t->cols[idx].key_usable ||
            (row[3] && row[3][0]) || t->cols[idx].nullable)
            ok = false;
        else
            cand[n_cand++] = (uint32_t)idx;
    }
    mysql_free_result(res);
    if (picked) {
        t->n_key = n_cand;
        for (uint32_t k = 0; k < n_cand; k++) {
            const snap_col *c = &t->cols[cand[k]];
            t->key[k] = cand[k];
            t->key_name[k] = c->name;
            t->key_cs[k] = c->charset;
            t->key_lit[k] = c->cls == SC_STRING     ? SNAP_LIT_STRING
                            : c->cls == SC_BINARY   ? SNAP_LIT_BINARY
                            : c->cls == SC_TEMPORAL ? SNAP_LIT_QUOTED
                                                    : SNAP_LIT_NUMBER;
            size_t cl = c->collation ? strlen(c->collation) : 0;
            t->fold[k] =
                c->cls == SC_STRING && cl > 3 && strcasecmp(c->collation + cl - 3, "_ci") == 0;
        }
        t->tbl->n_pk = n_cand;
        t->tbl->pk = calloc(n_cand, sizeof(uint32_t));
        if (!t->tbl->pk) abort();
        memcpy(t->tbl->pk, cand, n_cand * sizeof(uint32_t));
    } else {
        LOG_W(TAG,
              "pipeline %s: %s.%s has no primary key or unique key over NOT NULL columns: it is "
              "copied whole in one piece, and changes written to it during the copy cannot be "
              "reconciled (writes during the copy need a key); add a primary key",
              sn->pc->name, t->schema, t->name);
    }
    if (t->rf) {
        rc = row_filter_bind(t->rf, t->tbl);
        if (rc) {
            cot_err_prefix("pipeline %s: copying %s.%s where %s: ", sn->pc->name, t->schema,
                           t->name, t->where);
            goto out;
        }
    }
    t->described = true;
out:
    buf_deinit(&q);
    return rc;
}

/* ---- target side ----------------------------------------------------------- */

static const char snapshots_ddl[] =
    "CREATE DATABASE IF NOT EXISTS `cotter`;"
    "CREATE TABLE IF NOT EXISTS `cotter`.`snapshots` ("
    "pipeline VARCHAR(191) NOT NULL,"
    "source_table VARCHAR(300) NOT NULL,"
    "last_key TEXT NULL,"
    "done TINYINT NOT NULL DEFAULT 0,"
    "rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    "rows_total BIGINT UNSIGNED NOT NULL DEFAULT 0,"
    "where_expr TEXT NULL,"
    "history TEXT NULL,"
    "updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),"
    "PRIMARY KEY (pipeline, source_table)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

static const char snapshot_keys_ddl[] =
    "CREATE TABLE IF NOT EXISTS `cotter`.`snapshot_keys` ("
    "pipeline VARCHAR(191) NOT NULL,"
    "source_table VARCHAR(300) NOT NULL,"
    "target_schema VARCHAR(64) NOT NULL,"
    "target_table VARCHAR(64) NOT NULL,"
    "clauses MEDIUMTEXT NOT NULL,"
    "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
    "PRIMARY KEY (pipeline, source_table)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

static cot_err snap__multi(MYSQL *my, const char *what, const char *sql, size_t len)
{
    if (mysql_real_query(my, sql, (unsigned long)len) == 0) {
        for (;;) {
            MYSQL_RES *res = mysql_store_result(my);
            if (res) mysql_free_result(res);
            int st = mysql_next_result(my);
            if (st < 0) break;
            if (st > 0) break;
        }
    }
    if (mysql_errno(my)) return mysql_conn_error(my, "%s", what);
    return COT_OK;
}

/* snap__keys_store records t's deferred KEY clauses in cotter.snapshot_keys. */
static cot_err snap__keys_store(snapshot *sn, MYSQL *tgt, const snap_table *t, const char *keys)
{
    char full[600], what[800];
    snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
    buf q;
    buf_init(&q);
    buf_puts(&q, "INSERT INTO `cotter`.`snapshot_keys` (pipeline, source_table, target_schema, "
                 "target_table, clauses) VALUES (");
    snap__str(tgt, &q, sn->pc->name);
    buf_putc(&q, ',');
    snap__str(tgt, &q, full);
    buf_putc(&q, ',');
    snap__str(tgt, &q, t->dst_schema);
    buf_putc(&q, ',');
    snap__str(tgt, &q, t->dst_name);
    buf_putc(&q, ',');
    snap__str(tgt, &q, keys);
    buf_puts(&q, ") ON DUPLICATE KEY UPDATE target_schema=VALUES(target_schema), "
                 "target_table=VALUES(target_table), clauses=VALUES(clauses)");
    snprintf(what, sizeof(what), "target '%s': recording the deferred indexes of %s.%s",
             sn->pc->target_name, t->dst_schema, t->dst_name);
    cot_err rc = snap__multi(tgt, what, q.data, q.len);
    buf_deinit(&q);
    return rc;
}

/* snap__keys_alter appends "ALTER TABLE schema.name ADD c1, ADD c2 ..." for
 * the clauses of keys (one per line) to q; only the index-th when index >= 0.
 * Returns how many clauses keys has. */
static uint32_t snap__keys_alter(buf *q, const char *schema, const char *name, const char *keys,
                                 int index)
{
    buf_reset(q);
    buf_puts(q, "ALTER TABLE ");
    snap__qname(q, schema, name);
    uint32_t n = 0;
    for (const char *p = keys; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (index < 0 || (uint32_t)index == n) {
            buf_puts(q, index < 0 && n ? ", ADD " : " ADD ");
            buf_append(q, p, len);
        }
        n++;
        p += len + (nl ? 1 : 0);
    }
    return n;
}

/* snap__keys_add adds the deferred KEY clauses (one per line) to target
 * table schema.name in one ALTER TABLE, then forgets them in
 * cotter.snapshot_keys. An index already there (a crash after the ALTER)
 * counts as added. */
static cot_err snap__keys_add(snapshot *sn, MYSQL *tgt, const char *source_table,
                              const char *schema, const char *name, const char *keys)
{
    const cfg_pipeline *pc = sn->pc;
    char what[900];
    buf q;
    buf_init(&q);
    double t0 = clock_now_s();
    uint32_t n = snap__keys_alter(&q, schema, name, keys, -1);
    bool failed = mysql_real_query(tgt, q.data, (unsigned long)q.len) != 0;
    if (failed && mysql_errno(tgt) == 1061) { /* ER_DUP_KEYNAME: some are there: one by one */
        failed = false;
        for (uint32_t i = 0; i < n && !failed; i++) {
            snap__keys_alter(&q, schema, name, keys, (int)i);
            failed = mysql_real_query(tgt, q.data, (unsigned long)q.len) != 0 &&
                     mysql_errno(tgt) != 1061;
        }
    }
    cot_err rc = COT_OK;
    if (failed) {
        snprintf(what, sizeof(what),
                 "target '%s': adding the secondary indexes of %s.%s left out during its copy "
                 "(%.300s)",
                 pc->target_name, schema, name, q.data);
        rc = mysql_conn_error(tgt, "%s", what);
    }
    if (!rc) {
        buf_reset(&q);
        buf_puts(&q, "DELETE FROM `cotter`.`snapshot_keys` WHERE pipeline=");
        snap__str(tgt, &q, pc->name);
        buf_puts(&q, " AND source_table=");
        snap__str(tgt, &q, source_table);
        snprintf(what, sizeof(what), "target '%s': forgetting the added indexes of %s.%s",
                 pc->target_name, schema, name);
        rc = snap__multi(tgt, what, q.data, q.len);
    }
    buf_deinit(&q);
    if (!rc)
        LOG_I(TAG, "pipeline %s: added %u secondary index%s to %s.%s in %.1f s", pc->name, n,
              n == 1 ? "" : "es", schema, name, clock_now_s() - t0);
    return rc;
}

/* snap__create_target creates t's target table when missing. */
static cot_err snap__create_target(snapshot *sn, MYSQL *tgt, snap_table *t)
{
    const cfg_pipeline *pc = sn->pc;
    buf q, out, keys;
    buf_init(&q);
    buf_init(&out);
    buf_init(&keys);
    char what[800];
    cot_err rc = COT_OK;
    buf_puts(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=");
    snap__str(tgt, &q, t->dst_schema);
    buf_puts(&q, " AND TABLE_NAME=");
    snap__str(tgt, &q, t->dst_name);
    snprintf(what, sizeof(what), "target '%s': looking for table %s.%s", pc->target_name,
             t->dst_schema, t->dst_name);
    MYSQL_RES *res;
    rc = snap__query(tgt, &q, what, &res);
    if (rc) goto done;
    MYSQL_ROW row = mysql_fetch_row(res);
    bool exists = row && row[0] && strcmp(row[0], "0") != 0;
    mysql_free_result(res);
    if (exists) goto done;
    if (!pc->snapshot_create_tables) {
        rc = cot_err_set(COT_ERR_SCHEMA,
                         "target '%s' has no table %s.%s to copy %s.%s into and "
                         "snapshot_load.create_tables is false: create it, or set create_tables: "
                         "true",
                         pc->target_name, t->dst_schema, t->dst_name, t->schema, t->name);
        goto done;
    }
    const cfg_table_map *tm = transform_mapping(pc, t->schema, t->name, NULL, 0);
    bool whole = !tm || (tm->n_columns == 0 && tm->n_exclude == 0 && tm->n_consts == 0);
    if (whole) {
        buf_reset(&q);
        buf_puts(&q, "SHOW CREATE TABLE ");
        snap__qname(&q, t->schema, t->name);
        snprintf(what, sizeof(what), "%s: SHOW CREATE TABLE %s.%s", sn->role, t->schema, t->name);
        rc = snap__query(sn->ctl, &q, what, &res);
        if (rc) goto done;
        row = mysql_fetch_row(res);
        unsigned long *lens = mysql_fetch_lengths(res);
        if (!row || !row[1] || !lens) {
            mysql_free_result(res);
            rc = cot_err_set(COT_ERR_SCHEMA, "%s: SHOW CREATE TABLE %s.%s returned nothing",
                             sn->role, t->schema, t->name);
            goto done;
        }
        ddl_info info;
        buf bare;
        buf_init(&bare);
        if (pc->snapshot_defer_indexes && snap_split_keys(row[1], lens[1], &bare, &keys)) {
            rc = ddl_rewrite(bare.data, bare.len, t->schema, sn->conf.route, sn->conf.route_ctx,
                             &out, &info);
        } else {
            buf_reset(&keys);
            rc = ddl_rewrite(row[1], lens[1], t->schema, sn->conf.route, sn->conf.route_ctx, &out,
                             &info);
        }
        buf_deinit(&bare);
        mysql_free_result(res);
        if (!rc && info.kind != DDL_REWRITTEN)
            rc = cot_err_set(COT_ERR_UNSUPPORTED,
                             "cannot rewrite the CREATE TABLE of %s.%s for the target (%s): "
                             "create %s.%s on target '%s' yourself",
                             t->schema, t->name, info.note, t->dst_schema, t->dst_name,
                             pc->target_name);
        if (rc) goto done;
    } else {
        /* a column subset, renames or constants: build it from the mapped columns */
        buf_puts(&out, "CREATE TABLE IF NOT EXISTS ");
        snap__qname(&out, t->dst_schema, t->dst_name);
        buf_puts(&out, " (");
        bool first = true;
        bool key_kept[SNAP_KEY_MAX] = {false};
        const char *key_as[SNAP_KEY_MAX] = {NULL};
        for (uint32_t i = 0; i < t->n_cols; i++) {
            const snap_col *c = &t->cols[i];
            const char *as = NULL;
            if (tm->n_columns) {
                for (int j = 0; j < tm->n_columns; j++)
                    if (strcmp(tm->columns[j], c->name) == 0) as = tm->columns_as[j];
            } else {
                as = c->name;
                for (int j = 0; j < tm->n_exclude; j++)
                    if (strcmp(tm->exclude[j], c->name) == 0) as = NULL;
            }
            if (!as) continue;
            for (uint32_t k = 0; k < t->n_key; k++)
                if (t->key[k] == i) {
                    key_kept[k] = true;
                    key_as[k] = as;
                }
            if (!first) buf_putc(&out, ',');
            first = false;
            buf_ident(&out, as);
            buf_putc(&out, ' ');
            buf_puts(&out, c->column_type);
            if (c->charset && c->collation)
                buf_printf(&out, " CHARACTER SET %s COLLATE %s", c->charset, c->collation);
            buf_puts(&out, c->nullable ? " NULL" : " NOT NULL");
        }
        for (int j = 0; j < tm->n_consts; j++) {
            if (!first) buf_putc(&out, ',');
            first = false;
            buf_ident(&out, tm->const_names[j]);
            buf_puts(&out, " VARCHAR(255) NULL");
        }
        bool all_key = t->n_key > 0;
        for (uint32_t k = 0; k < t->n_key; k++) all_key = all_key && key_kept[k];
        if (all_key) {
            buf_puts(&out, ", PRIMARY KEY (");
            for (uint32_t k = 0; k < t->n_key; k++) {
                if (k) buf_putc(&out, ',');
                buf_ident(&out, key_as[k]);
            }
            buf_putc(&out, ')');
        }
        buf_puts(&out, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    }
    if (t->fk_cycle) { /* the tables it references may come after it */
        buf_reset(&q);
        buf_puts(&q, "SET SESSION foreign_key_checks=0;");
        buf_append(&q, out.data, out.len);
        buf_puts(&q, ";SET SESSION foreign_key_checks=1");
        buf_reset(&out);
        buf_append(&out, q.data, q.len);
    }
    buf_reset(&q);
    buf_puts(&q, "CREATE DATABASE IF NOT EXISTS ");
    buf_ident(&q, t->dst_schema);
    snprintf(what, sizeof(what), "target '%s': creating database %s", pc->target_name,
             t->dst_schema);
    rc = snap__multi(tgt, what, q.data, q.len);
    /* the keys are stored before the table exists: a crash in between
     * creates it again, never leaves it without them */
    if (!rc && keys.len) rc = snap__keys_store(sn, tgt, t, keys.data);
    if (!rc) {
        snprintf(what, sizeof(what), "target '%s': creating table %s.%s for %s.%s", pc->target_name,
                 t->dst_schema, t->dst_name, t->schema, t->name);
        rc = snap__multi(tgt, what, out.data, out.len);
    }
    if (!rc && keys.len) {
        free(t->keys);
        t->keys = xstrdup(keys.data);
        uint32_t n = 1;
        for (size_t i = 0; i < keys.len; i++) n += keys.data[i] == '\n';
        LOG_I(TAG,
              "pipeline %s: created table %s.%s on target '%s' from %s.%s without its %u "
              "secondary index%s: built in one pass once every table is copied",
              pc->name, t->dst_schema, t->dst_name, pc->target_name, t->schema, t->name, n,
              n == 1 ? "" : "es");
    } else if (!rc) {
        LOG_I(TAG, "pipeline %s: created table %s.%s on target '%s' from %s.%s", pc->name,
              t->dst_schema, t->dst_name, pc->target_name, t->schema, t->name);
    }
done:
    buf_deinit(&q);
    buf_deinit(&out);
    buf_deinit(&keys);
    return rc;
}

/* ---- the table list --------------------------------------------------------- */

typedef struct snap_record {
    char *table; /* "schema.table" */
    bool done;
    char *last_key;
    uint64_t rows;
    char *where;
    char *history;
    bool changed; /* snap__resolve moved it back: stored again before streaming */
} snap_record;

#define HIST_MAX 64 /* windows remembered in cotter.snapshots.history */

/* snap__resolve decides where a table's copy really stands after a restart.
 * With parallel load workers, each commits its share of a window (and one
 * of them the progress row) on its own, so the progress row may be ahead of
 * a worker that had not committed its rows of the same window; those rows
 * exist nowhere else. The history lists, per finished window, the binlog
 * position of its high watermark and the key reached: the newest window at
 * or before the session's start (the earliest position any worker stands
 * at) is committed by every worker, so the copy continues after it, and
 * later windows are forgotten and copied again. Without a history or a
 * start position the stored last key is trusted (one connection commits
 * rows, progress and position together). Updates r in place and returns
 * true when it changed it.
 *
 * A changed record must be stored before this session commits anything
 * (snap__store): the forgotten windows' rows are not in the binlog, so a
 * worker that missed them moves past their high watermarks anyway while it
 * applies the binlog, and a later restart would take them for committed. */
static bool snap__resolve(const snapshot *sn, snap_record *r)
{
    const cot_pos *start = sn->conf.start;
    if (!r->history || !r->history[0] || !start || !start->file[0]) return false;
    buf keep;
    buf_init(&keep);
    bool found = false, done = false;
    uint64_t rows = 0;
    char key[4096] = "";
    char *save = NULL;
    char *copy = xstrdup(r->history);
    for (char *e = strtok_r(copy, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
        char *c1 = strchr(e, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
        if (!c3) continue;
        cot_pos p;
        memset(&p, 0, sizeof(p));
        snprintf(p.file, sizeof(p.file), "%.*s", (int)(c1 - e), e);
        p.pos = strtoull(c1 + 1, NULL, 10);
        if (cot_pos_cmp(&p, start) > 0) continue; /* not committed by every worker */
        found = true;
        rows = strtoull(c2 + 1, NULL, 10);
        done = strcmp(c3 + 1, "*") == 0;
        snprintf(key, sizeof(key), "%s", done ? "" : c3 + 1);
        if (keep.len) buf_putc(&keep, ';');
        buf_puts(&keep, e);
    }
    free(copy);
    bool changed = !found || done != r->done || rows != r->rows ||
                   strcmp(key, r->last_key ? r->last_key : "") != 0;
    if (changed)
        LOG_W(TAG,
              "pipeline %s: the snapshot progress of %s was ahead of a load worker's commits; "
              "continuing after the last window every worker committed (%s, %llu rows)",
              sn->pc->name, r->table, found ? "found" : "none: from the start",
              (unsigned long long)rows);
    r->done = found && done;
    r->rows = found ? rows : 0;
    free(r->last_key);
    r->last_key = found && key[0] ? xstrdup(key) : NULL;
    free(r->history);
    r->history = xstrdup(keep.data ? keep.data : "");
    buf_deinit(&keep);
    return changed;
}

/* snap__store writes a resolved record back to cotter.snapshots (autocommit). */
static cot_err snap__store(snapshot *sn, MYSQL *tgt, const snap_record *r)
{
    buf q;
    buf_init(&q);
    buf_printf(&q, "UPDATE `cotter`.`snapshots` SET done=%d, rows_copied=%llu, last_key=",
               r->done ? 1 : 0, (unsigned long long)r->rows);
    if (r->last_key)
        snap__str(tgt, &q, r->last_key);
    else
        buf_puts(&q, "NULL");
    buf_puts(&q, ", history=");
    snap__str(tgt, &q, r->history ? r->history : "");
    buf_puts(&q, " WHERE pipeline=");
    snap__str(tgt, &q, sn->pc->name);
    buf_puts(&q, " AND source_table=");
    snap__str(tgt, &q, r->table);
    char what[600];
    snprintf(what, sizeof(what),
             "target '%s': storing where the snapshot of %s really stands in cotter.snapshots",
             sn->pc->target_name, r->table);
    cot_err rc = snap__multi(tgt, what, q.data, q.len);
    buf_deinit(&q);
    return rc;
}

/* snap__hist_add appends the window just finished to t's history (at most HIST_MAX). */
static void snap__hist_add(snap_table *t, const cot_pos *h)
{
    if (!h || !h->file[0]) return;
    size_t n = 1;
    for (size_t i = 0; i < t->hist.len; i++) n += t->hist.data[i] == ';';
    if (t->hist.len && n >= HIST_MAX) {
        const char *semi = strchr(t->hist.data, ';');
        size_t cut = semi ? (size_t)(semi - t->hist.data) + 1 : t->hist.len;
        memmove(t->hist.data, t->hist.data + cut, t->hist.len - cut + 1);
        t->hist.len -= cut;
    }
    if (t->hist.len) buf_putc(&t->hist, ';');
    buf_printf(&t->hist, "%s:%llu:%llu:", h->file, (unsigned long long)h->pos,
               (unsigned long long)t->rows);
    if (t->done)
        buf_putc(&t->hist, '*');
    else if (t->have_last)
        snap_lastkey_format(&t->hist, &t->last, t->n_key);
}

static snap_table *snap__table_new(snapshot *sn, const char *schema, const char *name)
{
    snap_table *t = calloc(1, sizeof(*t));
    if (!t) abort();
    t->schema = xstrdup(schema);
    t->name = xstrdup(name);
    arena_init(&t->mem);
    buf_init(&t->hist);
    if (!sn->conf.route(sn->conf.route_ctx, schema, name, t->dst_schema, sizeof(t->dst_schema),
                        t->dst_name, sizeof(t->dst_name))) {
        snap__table_free(t);
        return NULL;
    }
    return t;
}

static snap_table *snap__find(snapshot *sn, const char *schema, const char *name)
{
    for (snap_table *t = sn->tables; t; t = t->next)
        if (strcmp(t->schema, schema) == 0 && strcmp(t->name, name) == 0) return t;
    return NULL;
}

static void snap__append(snapshot *sn, snap_table *t)
{
    snap_table **pp = &sn->tables;
    while (*pp) pp = &(*pp)->next;
    *pp = t;
}

/* snap__estimate reads TABLE_ROWS of t (an estimate; 0 when unknown). */
static void snap__estimate(snapshot *sn, snap_table *t)
{
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA=");
    snap__str(sn->ctl, &q, t->schema);
    buf_puts(&q, " AND TABLE_NAME=");
    snap__str(sn->ctl, &q, t->name);
    MYSQL_RES *res;
    if (snap__query(sn->ctl, &q, "estimating rows", &res) == COT_OK) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row && row[0]) t->rows_est = strtoull(row[0], NULL, 10);
        mysql_free_result(res);
    }
    buf_deinit(&q);
}

/* snap__where_set compiles where (the row filter language of a mapping's
 * where:, evaluated by cotter on the rows read, never sent as SQL) as the
 * rows t's copy takes; bound to the table when it is described. */
static cot_err snap__where_set(snap_table *t, const char *where)
{
    row_filter *rf = NULL;
    cot_err rc = row_filter_compile(where, NULL, 0, &rf);
    if (rc) return rc;
    free(t->where);
    row_filter_free(t->rf);
    t->where = xstrdup(where);
    t->rf = rf;
    return COT_OK;
}

/* snap__prepare_table describes t, creates its target table and applies
 * what the record says about it. */
static cot_err snap__prepare_table(snapshot *sn, MYSQL *tgt, snap_table *t, const snap_record *r)
{
    cot_err rc = snap__describe(sn, t);
    if (rc) return rc;
    snap__estimate(sn, t);
    rc = snap__create_target(sn, tgt, t);
    if (rc) return rc;
    if (r && !r->done) {
        t->rows = r->rows;
        if (r->history && r->history[0]) buf_puts(&t->hist, r->history);
        if (r->where && r->where[0]) {
            rc = snap__where_set(t, r->where);
            if (rc) {
                cot_err_prefix("target '%s': the row of cotter.snapshots for pipeline '%s' and "
                               "table '%s.%s' holds a where_expr cotter does not accept, so "
                               "nothing of it is run (it is not what cotter writes there: check "
                               "who can write to the target's cotter schema); delete that row "
                               "(DELETE FROM cotter.snapshots WHERE pipeline='%s' AND "
                               "source_table='%s.%s') and ask for the copy again (cotter "
                               "snapshot --where): ",
                               sn->pc->target_name, sn->pc->name, t->schema, t->name, sn->pc->name,
                               t->schema, t->name);
                return rc;
            }
            rc = row_filter_bind(t->rf, t->tbl);
            if (rc) {
                cot_err_prefix("target '%s': the row of cotter.snapshots for pipeline '%s' and "
                               "table '%s.%s' holds a where_expr that does not fit the table; "
                               "delete that row and ask for the copy again: ",
                               sn->pc->target_name, sn->pc->name, t->schema, t->name);
                return rc;
            }
        }
        if (r->last_key && r->last_key[0] && t->n_key) {
            if (!snap_lastkey_parse(r->last_key, t->n_key, &t->mem, &t->last))
                return cot_err_set(COT_ERR_SCHEMA,
                                   "target '%s': cotter.snapshots has a last key for %s.%s that "
                                   "does not fit its key (%u columns): the key changed since; "
                                   "delete that row of cotter.snapshots to copy the table again",
                                   sn->pc->target_name, t->schema, t->name, t->n_key);
            t->have_last = true;
            LOG_I(TAG,
                  "pipeline %s: resuming the snapshot of %s.%s after the last finished chunk "
                  "(%llu rows copied before)",
                  sn->pc->name, t->schema, t->name, (unsigned long long)t->rows);
        }
    }
    return COT_OK;
}

typedef struct snap_fk {
    snap_table *child, *parent;
} snap_fk;

/* snap__order_fk puts sn->tables in the order their target tables can be
 * created in: a table after the tables its foreign keys reference. Tables
 * left over (a cycle, or a table that needs one) keep their order, after
 * the others, marked fk_cycle. */
static cot_err snap__order_fk(snapshot *sn)
{
    if (!sn->tables || !sn->tables->next) return COT_OK;
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME, REFERENCED_TABLE_SCHEMA, "
                 "REFERENCED_TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
                 "REFERENCED_TABLE_NAME IS NOT NULL AND TABLE_SCHEMA NOT IN ('mysql', "
                 "'information_schema', 'performance_schema', 'sys', 'cotter')");
    char what[400];
    snprintf(what, sizeof(what), "%s: reading the foreign keys", sn->role);
    MYSQL_RES *res;
    cot_err rc = snap__query(sn->ctl, &q, what, &res);
    buf_deinit(&q);
    if (rc) return rc;
    snap_fk *fks = NULL;
    size_t n_fks = 0, cap = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2] || !row[3]) continue;
        snap_table *c = snap__find(sn, row[0], row[1]), *p = snap__find(sn, row[2], row[3]);
        if (!c || !p || c == p) continue;
        if (n_fks == cap) {
            cap = cap ? 2 * cap : 16;
            fks = realloc(fks, cap * sizeof(*fks));
            if (!fks) abort();
        }
        fks[n_fks].child = c;
        fks[n_fks].parent = p;
        n_fks++;
    }
    mysql_free_result(res);
    snap_table *head = NULL, **tail = &head;
    for (bool moved = true; moved;) {
        moved = false;
        for (snap_table **pp = &sn->tables; *pp;) {
            snap_table *t = *pp;
            bool ready = true;
            for (size_t i = 0; i < n_fks && ready; i++)
                if (fks[i].child == t && !fks[i].parent->fk_out) ready = false;
            if (!ready) {
                pp = &t->next;
                continue;
            }
            *pp = t->next;
            t->next = NULL;
            t->fk_out = true;
            *tail = t;
            tail = &t->next;
            moved = true;
        }
    }
    for (snap_table *t = sn->tables; t; t = t->next) {
        t->fk_cycle = true;
        LOG_I(TAG,
              "pipeline %s: %s.%s is in a cycle of foreign keys: its target table is created "
              "with foreign_key_checks=0 (the tables it references may come after it)",
              sn->pc->name, t->schema, t->name);
    }
    *tail = sn->tables;
    sn->tables = head;
    free(fks);
    return COT_OK;
}

static cot_err snap__ensure_ctl(snapshot *sn)
{
    if (sn->ctl) return COT_OK;
    return snap__source_conn(sn, &sn->ctl);
}

/* snap__progress_table creates cotter.snapshots and cotter.snapshot_keys on
 * the target when information_schema does not list them (so a start writes
 * no DDL into the target's binlog once they exist). */
static cot_err snap__progress_table(snapshot *sn, MYSQL *tgt)
{
    char what[400];
    snprintf(what, sizeof(what), "target '%s': looking for cotter.snapshots", sn->pc->target_name);
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                 "TABLE_SCHEMA='cotter' AND TABLE_NAME='snapshots') * 2 + (SELECT COUNT(*) FROM "
                 "information_schema.TABLES WHERE TABLE_SCHEMA='cotter' AND "
                 "TABLE_NAME='snapshot_keys')");
    uint64_t have = 0;
    cot_err rc = snap__count(tgt, &q, what, &have);
    buf_deinit(&q);
    if (rc) return rc;
    snprintf(what, sizeof(what), "target '%s': creating cotter.snapshots", sn->pc->target_name);
    if (!(have & 2)) rc = snap__multi(tgt, what, snapshots_ddl, sizeof(snapshots_ddl) - 1);
    if (!rc && !(have & 1))
        rc = snap__multi(tgt, what, snapshot_keys_ddl, sizeof(snapshot_keys_ddl) - 1);
    if (rc == COT_ERR_AUTH)
        cot_err_prefix("the snapshot progress table needs CREATE, SELECT, INSERT, UPDATE on "
                       "`cotter`.* for the target user: ");
    return rc;
}

/* snap__has_progress_table says whether cotter.snapshots exists on the target. */
static cot_err snap__has_progress_table(snapshot *sn, MYSQL *tgt, bool *found)
{
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='cotter' "
                 "AND TABLE_NAME='snapshots'");
    char what[400];
    snprintf(what, sizeof(what), "target '%s': looking for cotter.snapshots", sn->pc->target_name);
    MYSQL_RES *res;
    cot_err rc = snap__query(tgt, &q, what, &res);
    buf_deinit(&q);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    *found = row && row[0] && strcmp(row[0], "0") != 0;
    mysql_free_result(res);
    return COT_OK;
}

/* snap__keys_done handles the outcome of adding t's deferred indexes. */
static cot_err snap__keys_done(snapshot *sn, const char *table, const char *keys, cot_err rc)
{
    if (!rc || rc == COT_ERR_NET) return rc;
    LOG_E(TAG,
          "pipeline %s: %s; the copy is complete without them: fix the cause and restart (cotter "
          "tries again at every start while cotter.snapshot_keys lists %s), or add them yourself "
          "(%s) and delete that row",
          sn->pc->name, cot_err_msg(), table, keys);
    return COT_OK;
}

/* snap__keys_valid checks a row of cotter.snapshot_keys before anything of
 * it runs: its target table must be where the mapping puts its source
 * table, and every line an index (snap_index_parse) over columns the source
 * table has. On success canon holds the clauses rebuilt from their parsed
 * form (what runs); otherwise the row is logged as refused. */
static bool snap__keys_valid(snapshot *sn, MYSQL_ROW row, buf *canon)
{
    const char *source_table = row[0], *dst_schema = row[1], *dst_table = row[2];
    char why[512] = "";
    char schema[256], route_schema[256], route_table[256];
    const char *dot = strchr(source_table, '.');
    const char **cols = NULL;
    uint32_t n_cols = 0;
    MYSQL_RES *res = NULL;
    bool ok = false;
    if (!dot || dot == source_table || !dot[1] || (size_t)(dot - source_table) >= sizeof(schema)) {
        snprintf(why, sizeof(why), "source_table is not schema.table");
        goto out;
    }
    snprintf(schema, sizeof(schema), "%.*s", (int)(dot - source_table), source_table);
    if (!sn->conf.route(sn->conf.route_ctx, schema, dot + 1, route_schema, sizeof(route_schema),
                        route_table, sizeof(route_table)) ||
        strcmp(route_schema, dst_schema) != 0 || strcmp(route_table, dst_table) != 0) {
        snprintf(why, sizeof(why), "the mapping does not copy %.300s into %.64s.%.64s",
                 source_table, dst_schema, dst_table);
        goto out;
    }
    if (snap__ensure_ctl(sn)) {
        snprintf(why, sizeof(why), "cannot read the source table's columns: %s", cot_err_msg());
        goto out;
    }
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=");
    snap__str(sn->ctl, &q, schema);
    buf_puts(&q, " AND TABLE_NAME=");
    snap__str(sn->ctl, &q, dot + 1);
    cot_err rc = snap__query(sn->ctl, &q, "reading the columns", &res);
    buf_deinit(&q);
    if (rc) {
        snprintf(why, sizeof(why), "cannot read the source table's columns: %s", cot_err_msg());
        goto out;
    }
    uint64_t n = mysql_num_rows(res);
    cols = calloc(n + 1, sizeof(*cols));
    if (!cols) abort();
    MYSQL_ROW cr;
    while ((cr = mysql_fetch_row(res)) && n_cols < n)
        if (cr[0]) cols[n_cols++] = cr[0];
    ok = snap_index_check(row[3], cols, n_cols, canon, why, sizeof(why));
out:
    if (!ok)
        LOG_E(TAG,
              "pipeline %s: refused the row of cotter.snapshot_keys on target '%s' for source "
              "table '%.300s' (target %.64s.%.64s): %s. Nothing of it was run. It is not what "
              "cotter writes there; someone changed it. Check who can write to the target's "
              "cotter schema, delete that row (DELETE FROM cotter.snapshot_keys WHERE "
              "pipeline='%s' AND source_table='%.300s') and add the table's secondary indexes "
              "yourself if they are missing",
              sn->pc->name, sn->pc->target_name, source_table, dst_schema, dst_table, why,
              sn->pc->name, source_table);
    free(cols);
    if (res) mysql_free_result(res);
    return ok;
}

/* snap__keys_open takes the deferred indexes of cotter.snapshot_keys: a
 * table still to be copied keeps them for later; any other (its copy is
 * done, a crash came before they were added) gets them now. Each row is
 * checked first (snap__keys_valid); a refused row is logged and left. */
static cot_err snap__keys_open(snapshot *sn, MYSQL *tgt)
{
    buf q, canon;
    buf_init(&q);
    buf_init(&canon);
    buf_puts(&q, "SELECT source_table, target_schema, target_table, clauses FROM "
                 "`cotter`.`snapshot_keys` WHERE pipeline=");
    snap__str(tgt, &q, sn->pc->name);
    char what[400];
    snprintf(what, sizeof(what), "target '%s': reading cotter.snapshot_keys", sn->pc->target_name);
    MYSQL_RES *res;
    cot_err rc = snap__query(tgt, &q, what, &res);
    buf_deinit(&q);
    if (rc) {
        buf_deinit(&canon);
        return rc;
    }
    MYSQL_ROW row;
    while (!rc && (row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2] || !row[3]) continue;
        if (!snap__keys_valid(sn, row, &canon)) continue;
        snap_table *t = sn->tables;
        for (; t; t = t->next) {
            char full[600];
            snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
            if (strcmp(full, row[0]) == 0) break;
        }
        if (t) {
            if (!t->keys) t->keys = xstrdup(canon.data);
            continue;
        }
        rc = snap__keys_add(sn, tgt, row[0], row[1], row[2], canon.data);
        rc = snap__keys_done(sn, row[0], canon.data, rc);
    }
    mysql_free_result(res);
    buf_deinit(&canon);
    return rc;
}

cot_err snapshot_open(const snapshot_conf *conf, snapshot **out)
{
    *out = NULL;
    const cfg_pipeline *pc = conf->pc;
    snapshot *sn = calloc(1, sizeof(*sn));
    if (!sn) abort();
    sn->conf = *conf;
    sn->pc = pc;
    snprintf(sn->role, sizeof(sn->role), "source '%s'", pc->source_name);
    arena_init(&sn->wmem);
    snap_keyset_init(&sn->keys);
    buf_init(&sn->kbuf);
    buf_init(&sn->recorded);
    sn->mark_base = ((uint64_t)time(NULL) << 16 ^ (uint64_t)rand()) << 8;

    MYSQL *tgt = NULL;
    snap_record *recs = NULL;
    size_t n_recs = 0;
    buf q;
    buf_init(&q);
    cot_err rc = snap__target_conn(sn, true, &tgt); /* it may add indexes a crash left out */
    if (rc) goto fail;
    char what[400];
    bool have_table = true;
    if (pc->snapshot == SNAPSHOT_NEVER) { /* no table, no unfinished copy: nothing to create */
        rc = snap__has_progress_table(sn, tgt, &have_table);
        if (!rc && have_table) rc = snap__progress_table(sn, tgt);
        if (rc) goto fail;
    } else {
        rc = snap__progress_table(sn, tgt);
        if (rc) goto fail;
    }
    MYSQL_RES *res;
    MYSQL_ROW row;
    bool pending = false;
    if (have_table) {
        buf_puts(&q, "SELECT source_table, done, last_key, rows_copied, where_expr, history FROM "
                     "`cotter`.`snapshots` WHERE pipeline=");
        snap__str(tgt, &q, pc->name);
        snprintf(what, sizeof(what), "target '%s': reading cotter.snapshots", pc->target_name);
        rc = snap__query(tgt, &q, what, &res);
        if (rc) goto fail;
        n_recs = (size_t)mysql_num_rows(res);
        recs = calloc(n_recs + 1, sizeof(*recs));
        if (!recs) abort();
        size_t nr = 0;
        while ((row = mysql_fetch_row(res)) && nr < n_recs) {
            recs[nr].table = xstrdup(row[0]);
            recs[nr].done = row[1] && strcmp(row[1], "0") != 0;
            recs[nr].last_key = row[2] ? xstrdup(row[2]) : NULL;
            recs[nr].rows = row[3] ? strtoull(row[3], NULL, 10) : 0;
            recs[nr].where = row[4] ? xstrdup(row[4]) : NULL;
            recs[nr].history = row[5] ? xstrdup(row[5]) : NULL;
            recs[nr].changed = snap__resolve(sn, &recs[nr]);
            if (!recs[nr].done) pending = true;
            if (recs[nr].done)
                buf_append(&sn->recorded, recs[nr].table, strlen(recs[nr].table) + 1);
            nr++;
        }
        n_recs = nr;
        mysql_free_result(res);
        for (size_t i = 0; i < n_recs && !rc; i++)
            if (recs[i].changed) rc = snap__store(sn, tgt, &recs[i]);
        if (rc) goto fail;
    }

    if (pc->snapshot == SNAPSHOT_INITIAL || pending) {
        rc = snap__ensure_ctl(sn);
        if (rc) goto fail;
        buf_reset(&q);
        buf_puts(&q, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "
                     "TABLE_TYPE='BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', "
                     "'information_schema', 'performance_schema', 'sys', 'cotter') ORDER BY "
                     "TABLE_SCHEMA, TABLE_NAME");
        snprintf(what, sizeof(what), "%s: listing tables", sn->role);
        rc = snap__query(sn->ctl, &q, what, &res);
        if (rc) goto fail;
        while ((row = mysql_fetch_row(res))) {
            if (!row[0] || !row[1]) continue;
            char full[600];
            snprintf(full, sizeof(full), "%s.%s", row[0], row[1]);
            const snap_record *r = NULL;
            for (size_t i = 0; i < n_recs; i++)
                if (strcmp(recs[i].table, full) == 0) r = &recs[i];
            if (r && r->done) continue;
            if (!r && pc->snapshot != SNAPSHOT_INITIAL) continue;
            snap_table *t = snap__table_new(sn, row[0], row[1]);
            if (!t) continue; /* not mapped */
            snap__append(sn, t);
        }
        mysql_free_result(res);
        rc = snap__order_fk(sn);
        for (snap_table *t = sn->tables; t && !rc; t = t->next) {
            char full[600];
            snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
            const snap_record *r = NULL;
            for (size_t i = 0; i < n_recs; i++)
                if (strcmp(recs[i].table, full) == 0) r = &recs[i];
            rc = snap__prepare_table(sn, tgt, t, r);
        }
        if (rc) goto fail;
    }
    if (have_table) {
        rc = snap__keys_open(sn, tgt);
        if (rc) goto fail;
    }
    uint32_t n_tables = 0;
    uint64_t est = 0, done_rows = 0;
    for (snap_table *t = sn->tables; t; t = t->next) {
        n_tables++;
        est += t->rows_est > t->rows ? t->rows_est : t->rows;
        done_rows += t->rows;
    }
    sn->prog.tables = n_tables;
    sn->prog.rows_total = est;
    sn->prog.rows = done_rows;
    sn->prog.active = n_tables > 0;
    sn->prog.eta_s = -1;
    if (n_tables)
        LOG_I(TAG,
              "pipeline %s: %u table%s to copy (about %llu rows), %u chunk%s of %u rows at once",
              pc->name, n_tables, n_tables == 1 ? "" : "s", (unsigned long long)est,
              pc->snapshot_parallelism, pc->snapshot_parallelism == 1 ? "" : "s",
              pc->snapshot_chunk_rows);
    *out = sn;
    sn = NULL;
    rc = COT_OK;
fail:
    for (size_t i = 0; i < n_recs; i++) {
        free(recs[i].table);
        free(recs[i].last_key);
        free(recs[i].where);
        free(recs[i].history);
    }
    free(recs);
    buf_deinit(&q);
    mysql_conn_close(tgt);
    snapshot_free(sn);
    return rc;
}

static void snap__window_clear(snapshot *sn)
{
    for (uint32_t i = 0; i < sn->n_cks; i++) cot_chunk_free(sn->cks[i]);
    sn->n_cks = 0;
    free(sn->dropped);
    sn->dropped = NULL;
    sn->n_buffered = sn->n_dropped = 0;
    sn->w_done = sn->w_have_last = false;
    sn->wt = NULL;
    snap_keyset_reset(&sn->keys);
    arena_reset(&sn->wmem);
    sn->kc_tbl = NULL;
    snap__set_state(sn, W_IDLE);
}

void snapshot_free(snapshot *sn)
{
    if (!sn) return;
    snap__window_clear(sn);
    free(sn->cks);
    while (sn->tables) {
        snap_table *t = sn->tables;
        sn->tables = t->next;
        snap__table_free(t);
    }
    for (int i = 0; i < MAX_WORKERS; i++) mysql_conn_close(sn->conns[i]);
    mysql_conn_close(sn->ctl);
    snap_keyset_deinit(&sn->keys);
    buf_deinit(&sn->kbuf);
    buf_deinit(&sn->recorded);
    arena_deinit(&sn->wmem);
    free(sn);
}

cot_err snapshot_request(snapshot *sn, const char *table, const char *where)
{
    const char *dot = strchr(table, '.');
    if (!dot || dot == table || !dot[1])
        return cot_err_set(COT_ERR_CONFIG,
                           "snapshot of '%s': give the source table as schema.table", table);
    char schema[256];
    snprintf(schema, sizeof(schema), "%.*s", (int)(dot - table), table);
    const char *name = dot + 1;
    row_filter *rf = NULL; /* checked before anything of t changes */
    cot_err rc = where && where[0] ? row_filter_compile(where, NULL, 0, &rf) : COT_OK;
    if (rc) return rc;
    snap_table *t = snap__find(sn, schema, name);
    if (t && rf) {
        rc = snap__ensure_ctl(sn);
        if (!rc && !t->tbl) rc = snap__describe(sn, t);
        if (!rc) rc = row_filter_bind(rf, t->tbl);
        if (rc) {
            cot_err_prefix("snapshot of %s.%s where %s: ", schema, name, where);
            row_filter_free(rf);
            return rc;
        }
    }
    if (sn->state != W_IDLE && sn->wt && strcmp(sn->wt->schema, schema) == 0 &&
        strcmp(sn->wt->name, name) == 0)
        snap__window_clear(sn); /* start over: its buffered rows are dropped */
    bool added = false;
    if (!t) {
        t = snap__table_new(sn, schema, name);
        if (!t) {
            row_filter_free(rf);
            return cot_err_set(COT_ERR_NOT_FOUND,
                               "pipeline %s: no mapping takes %s.%s, so it cannot be copied",
                               sn->pc->name, schema, name);
        }
        added = true;
    } else {
        free(t->where);
        t->where = NULL;
        row_filter_free(t->rf);
        t->rf = NULL;
        if (t->done) sn->prog.tables_done--;
    }
    t->done = false;
    t->have_last = false;
    t->rows = 0;
    t->t_start = 0;
    buf_reset(&t->hist);
    arena_reset(&t->mem);
    if (rf) {
        t->where = xstrdup(where);
        t->rf = rf;
    }
    MYSQL *tgt = NULL;
    rc = snap__ensure_ctl(sn);
    if (!rc) rc = snap__target_conn(sn, false, &tgt);
    if (!rc) rc = snap__progress_table(sn, tgt);
    if (!rc) rc = snap__prepare_table(sn, tgt, t, NULL);
    mysql_conn_close(tgt);
    if (rc) {
        if (added) snap__table_free(t);
        return rc;
    }
    if (added) {
        snap__append(sn, t);
        sn->prog.tables++;
    }
    sn->prog.rows_total += t->rows_est;
    sn->prog.active = true;
    LOG_I(TAG, "pipeline %s: snapshot of %s.%s requested%s%s", sn->pc->name, schema, name,
          t->where ? " where " : "", t->where ? t->where : "");
    return COT_OK;
}

/* snap__next_table picks the table of the next window: windows take turns
 * among the first load.parallelism (at least 2, at most COPY_TABLES)
 * unfinished tables. A window is one source
 * transaction and so one batch of the load stage; load workers do not wait
 * for each other's commits, so with turns they write two tables at once,
 * where one table would make them take turns (a table's AUTO-INC lock is
 * held for a whole LOAD DATA, and its right-most pages are shared). */
static snap_table *snap__next_table(snapshot *sn)
{
    snap_table *cand[COPY_TABLES];
    uint32_t want = sn->pc->load_parallelism;
    want = want < 2 ? 2 : want > COPY_TABLES ? COPY_TABLES : want;
    uint32_t n = 0;
    for (snap_table *t = sn->tables; t && n < want; t = t->next)
        if (!t->done) cand[n++] = t;
    return n ? cand[sn->turn++ % n] : NULL;
}

bool snapshot_wants_step(const snapshot *sn)
{
    if (!sn || sn->state != W_IDLE) return false;
    for (snap_table *t = sn->tables; t; t = t->next)
        if (!t->done) return true;
    return false;
}

/* ---- a window ----------------------------------------------------------------- */

static cot_err snap__watermark(snapshot *sn, uint64_t mark)
{
    buf q;
    buf_init(&q);
    buf_puts(&q, "INSERT INTO `cotter`.`snapshot_watermarks` (pipeline, mark) VALUES (");
    snap__str(sn->ctl, &q, sn->pc->name);
    buf_printf(&q, ", %llu) ON DUPLICATE KEY UPDATE mark=VALUES(mark)", (unsigned long long)mark);
    cot_err rc = mysql_conn_exec(sn->ctl, sn->role, q.data, q.len);
    buf_deinit(&q);
    return rc;
}

/* snap__source_ready makes sure the watermark table exists on the source.
 * It is created once: only when information_schema does not list it, so a
 * start never writes DDL into the source's binlog (real replicas would
 * receive it, and a DDL in the binlog drops an open window), even when the
 * user may not set sql_log_bin. */
static cot_err snap__source_ready(snapshot *sn)
{
    if (sn->src_ready) return COT_OK;
    static const char ddl[] = "CREATE TABLE IF NOT EXISTS `cotter`.`snapshot_watermarks` ("
                              "pipeline VARCHAR(191) NOT NULL PRIMARY KEY,"
                              "mark BIGINT UNSIGNED NOT NULL"
                              ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    char what[400];
    snprintf(what, sizeof(what), "%s: looking for cotter.snapshot_watermarks", sn->role);
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                 "TABLE_SCHEMA='cotter' AND TABLE_NAME='snapshot_watermarks') * 2 + (SELECT "
                 "COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='cotter')");
    uint64_t have = 0;
    cot_err rc = snap__count(sn->ctl, &q, what, &have);
    buf_deinit(&q);
    if (!rc && !(have & 2)) {
        /* not binlogged when the user may skip that; once only otherwise */
        (void)mysql_query(sn->ctl, "SET SESSION sql_log_bin=0");
        if (!(have & 1))
            rc = mysql_conn_exec_str(sn->ctl, sn->role, "CREATE DATABASE IF NOT EXISTS `cotter`");
        if (!rc) rc = mysql_conn_exec_str(sn->ctl, sn->role, ddl);
        (void)mysql_query(sn->ctl, "SET SESSION sql_log_bin=1");
        if (!rc) LOG_I(TAG, "%s: created cotter.snapshot_watermarks", sn->role);
    }
    if (!rc) rc = snap__watermark(sn, sn->mark_base);
    if (rc) {
        const char *user = sn->pc->source->url.user;
        cot_err_set(rc,
                    "%s; the lock-free snapshot writes watermark rows to "
                    "cotter.snapshot_watermarks on the source: as an administrator run CREATE "
                    "DATABASE IF NOT EXISTS cotter; GRANT CREATE, SELECT, INSERT, UPDATE ON "
                    "`cotter`.* TO '%s'@'%%' (use the host part the user was created with)",
                    cot_err_msg(), user && user[0] ? user : "USER");
        return rc;
    }
    sn->src_ready = true;
    return COT_OK;
}

/* snap__value converts one text-protocol value of column c into v (bytes
 * copied into ck's arena). */
static void snap__value(cot_chunk *ck, const snap_col *c, const char *p, unsigned long len,
                        cot_value *v)
{
    if (!p) {
        v->kind = VK_NULL;
        return;
    }
    switch (c->cls) {
    case SC_INT:
        v->kind = VK_INT;
        v->i = strtoll(p, NULL, 10);
        return;
    case SC_UINT:
        v->kind = VK_UINT;
        v->u = strtoull(p, NULL, 10);
        return;
    case SC_FLOAT:
        v->kind = VK_FLOAT;
        v->d = strtod(p, NULL);
        return;
    case SC_DOUBLE:
        v->kind = VK_DOUBLE;
        v->d = strtod(p, NULL);
        return;
    case SC_BIT: {
        uint64_t u = 0;
        for (unsigned long i = 0; i < len && i < 8; i++) u = u << 8 | (uint8_t)p[i];
        v->kind = VK_BIT;
        v->u = u;
        return;
    }
    case SC_DECIMAL:
        v->kind = VK_DECIMAL;
        break;
    case SC_TEMPORAL:
        v->kind = VK_TEMPORAL;
        break;
    case SC_BINARY:
        v->kind = VK_BINARY;
        break;
    case SC_GEOMETRY:
        v->kind = VK_GEOMETRY;
        break;
    default:
        v->kind = VK_STRING;
        break;
    }
    v->s.p = arena_memdup(&ck->mem, p, len ? len : 1);
    v->s.len = (uint32_t)len;
}

uint8_t snapshot_column_describe(cot_column *cc, const char *data_type, const char *column_type,
                                 const char *charset)
{
    snap_cls cls = snap__class(data_type ? data_type : "", column_type ? column_type : "");
    cc->type = snap__coltype(data_type ? data_type : "");
    cc->is_unsigned = cls == SC_UINT;
    cc->charset = charset            ? cot_charset_intern(charset)
                  : cls == SC_BINARY ? cot_charset_intern("binary")
                                     : NULL;
    cc->collation = cls == SC_BINARY ? COT_COLLATION_BINARY : 0;
    return (uint8_t)cls;
}

void snapshot_value(cot_chunk *ck, uint8_t cls, const char *p, unsigned long len, cot_value *v)
{
    snap_col c = {.cls = cls};
    snap__value(ck, &c, p, len, v);
}

static void snap__worker_piece(snap_worker *w, cot_chunk *ck)
{
    if (w->n_pieces == w->cap_pieces) {
        uint32_t cap = w->cap_pieces ? w->cap_pieces * 2 : 16;
        cot_chunk **p = realloc(w->pieces, cap * sizeof(*p));
        if (!p) abort();
        w->pieces = p;
        w->cap_pieces = cap;
    }
    w->pieces[w->n_pieces++] = ck;
}

static void *snap__worker_run(void *arg)
{
    snap_worker *w = arg;
    snapshot *sn = w->sn;
    snap_table *t = sn->wt;
    if (mysql_real_query(w->my, w->sql.data, (unsigned long)w->sql.len) != 0) {
        w->rc =
            mysql_conn_error(w->my, "%s: reading a chunk of %s.%s", sn->role, t->schema, t->name);
        snprintf(w->err, sizeof(w->err), "%s", cot_err_msg());
        return NULL;
    }
    MYSQL_RES *res = mysql_use_result(w->my);
    if (!res) {
        w->rc =
            mysql_conn_error(w->my, "%s: reading a chunk of %s.%s", sn->role, t->schema, t->name);
        snprintf(w->err, sizeof(w->err), "%s", cot_err_msg());
        return NULL;
    }
    uint32_t piece_rows = sn->pc->batch_rows > 100 ? sn->pc->batch_rows : PIECE_ROWS;
    if (piece_rows > PIECE_ROWS * 4) piece_rows = PIECE_ROWS * 4;
    cot_chunk *ck = NULL;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *lens = mysql_fetch_lengths(res);
        if (!ck || ck->n_changes >= piece_rows) {
            ck = cot_chunk_new();
            ck->kind = CK_ROWS;
            snap__worker_piece(w, ck);
        }
        cot_change *ch = cot_chunk_add(ck, OP_INSERT, t->tbl);
        ch->after = cot_chunk_values(ck, t->n_cols);
        for (uint32_t i = 0; i < t->n_cols; i++) /* ENUM / SET: as the stream's rows */
            if (!snapshot_member_value(&t->tbl->cols[i], row[i], lens[i], &ch->after[i]))
                snap__value(ck, &t->cols[i], row[i], lens[i], &ch->after[i]);
        for (uint32_t k = 0; k < t->n_key; k++) {
            /* the key as text, for the next window's lower bound (key columns are NOT NULL) */
            const char *kp = row[t->key[k]] ? row[t->key[k]] : "";
            w->last_p[k] = arena_memdup(&ck->mem, kp, lens[t->key[k]] + 1);
            w->last_len[k] = (uint32_t)lens[t->key[k]];
        }
        w->n_rows++;
        int keep = t->rf ? row_filter_eval_at(t->rf, ch->after, w->now) : 1;
        if (keep < 0) {
            w->rc = cot_err_set(cot_err_code(), "pipeline %s: copying %s.%s where %s: %s",
                                sn->pc->name, t->schema, t->name, t->where, cot_err_msg());
            snprintf(w->err, sizeof(w->err), "%s", cot_err_msg());
            break;
        }
        if (!keep) ck->n_changes--; /* not one of the rows asked for; its key still counts */
    }
    if (mysql_errno(w->my)) {
        w->rc =
            mysql_conn_error(w->my, "%s: reading a chunk of %s.%s", sn->role, t->schema, t->name);
        snprintf(w->err, sizeof(w->err), "%s", cot_err_msg());
    }
    mysql_free_result(res);
    for (uint32_t i = 0; i < w->n_pieces; i++) cot_chunk_account(w->pieces[i]);
    return NULL;
}

/* snap__worker_thread runs a chunk SELECT on a thread of its own. */
static void *snap__worker_thread(void *arg)
{
    mysql_thread_init();
    snap__worker_run(arg);
    mysql_thread_end();
    return NULL;
}

/* snap__select_sql builds a chunk's SELECT: lo < key <= hi (either open). */
static bool snap__select_sql(snapshot *sn, snap_table *t, buf *q, const snap_keyval *lo,
                             const snap_keyval *hi, uint32_t limit)
{
    snap_keydef kd = {t->n_key, t->key_name, t->key_lit, t->key_cs};
    buf_puts(q, "SELECT ");
    for (uint32_t i = 0; i < t->n_cols; i++) {
        if (i) buf_putc(q, ',');
        /* The server prints a FLOAT with 6 digits, which does not read back
         * as the stored value (1/7 reads 0.142857); as a DOUBLE it prints the
         * shortest text that reads back exactly (issue 11). */
        if (t->cols[i].cls == SC_FLOAT) buf_putc(q, '(');
        buf_ident(q, t->cols[i].name);
        if (t->cols[i].cls == SC_FLOAT) buf_puts(q, "+0e0)");
    }
    buf_puts(q, " FROM ");
    snap__qname(q, t->schema, t->name);
    buf_puts(q, " WHERE ");
    if (!snap_range_sql(q, &kd, lo, hi)) return false;
    if (t->n_key) {
        buf_puts(q, " ORDER BY ");
        for (uint32_t k = 0; k < t->n_key; k++) {
            if (k) buf_putc(q, ',');
            buf_ident(q, t->key_name[k]);
        }
        if (limit) buf_printf(q, " LIMIT %u", limit);
    }
    return true;
}

/* snap__boundaries finds up to max upper bounds of the next chunks after
 * t's last key: the key chunk_rows, 2 x chunk_rows, ... rows on. The keys
 * are copied into the window arena. */
static cot_err snap__boundaries(snapshot *sn, snap_table *t, snap_keyval *bounds, uint32_t max,
                                uint32_t *n)
{
    *n = 0;
    snap_keydef kd = {t->n_key, t->key_name, t->key_lit, t->key_cs};
    const snap_keyval *lo = t->have_last ? &t->last : NULL;
    buf q;
    buf_init(&q);
    cot_err rc = COT_OK;
    for (uint32_t i = 0; i < max; i++) {
        buf_reset(&q);
        buf_puts(&q, "SELECT ");
        for (uint32_t k = 0; k < t->n_key; k++) {
            if (k) buf_putc(&q, ',');
            buf_ident(&q, t->key_name[k]);
        }
        buf_puts(&q, " FROM ");
        snap__qname(&q, t->schema, t->name);
        buf_puts(&q, " WHERE ");
        if (!snap_range_sql(&q, &kd, lo, NULL)) {
            rc = cot_err_set(COT_ERR_UNSUPPORTED, "%s.%s: a key value cannot be written as SQL",
                             t->schema, t->name);
            break;
        }
        buf_puts(&q, " ORDER BY ");
        for (uint32_t k = 0; k < t->n_key; k++) {
            if (k) buf_putc(&q, ',');
            buf_ident(&q, t->key_name[k]);
        }
        buf_printf(&q, " LIMIT 1 OFFSET %u", sn->pc->snapshot_chunk_rows - 1);
        char what[700];
        snprintf(what, sizeof(what), "%s: finding chunk boundaries of %s.%s", sn->role, t->schema,
                 t->name);
        MYSQL_RES *res;
        rc = snap__query(sn->ctl, &q, what, &res);
        if (rc) break;
        MYSQL_ROW row = mysql_fetch_row(res);
        unsigned long *lens = mysql_fetch_lengths(res);
        if (!row) {
            mysql_free_result(res);
            break;
        }
        for (uint32_t k = 0; k < t->n_key; k++) {
            bounds[i].p[k] = arena_memdup(&sn->wmem, row[k] ? row[k] : "", lens[k] + 1);
            bounds[i].len[k] = (uint32_t)lens[k];
        }
        mysql_free_result(res);
        lo = &bounds[i];
        (*n)++;
    }
    buf_deinit(&q);
    return rc;
}

/* snap__add_buffered appends a worker's pieces to the window and indexes
 * their keys. */
static void snap__add_buffered(snapshot *sn, snap_worker *w)
{
    for (uint32_t i = 0; i < w->n_pieces; i++) {
        if (sn->n_cks == sn->cap_cks) {
            uint32_t cap = sn->cap_cks ? sn->cap_cks * 2 : 64;
            cot_chunk **c = realloc(sn->cks, cap * sizeof(*c));
            if (!c) abort();
            sn->cks = c;
            sn->cap_cks = cap;
        }
        sn->cks[sn->n_cks++] = w->pieces[i];
    }
    w->n_pieces = 0;
}

cot_err snapshot_step(snapshot *sn)
{
    if (!snapshot_wants_step(sn)) return COT_OK;
    const cfg_pipeline *pc = sn->pc;
    double t_step = clock_now_s();
    snap_table *t = snap__next_table(sn);
    cot_err rc = snap__ensure_ctl(sn);
    if (!rc) rc = snap__source_ready(sn);
    if (!rc && !t->described) {
        rc = snap__describe(sn, t);
        if (!rc)
            LOG_I(TAG, "pipeline %s: %s.%s described again after a DDL", pc->name, t->schema,
                  t->name);
    }
    if (rc) return rc;
    if (t->t_start == 0) {
        t->t_start = clock_now_s();
        if (!t->have_last)
            LOG_I(TAG, "pipeline %s: copying %s.%s into %s.%s (about %llu rows)", pc->name,
                  t->schema, t->name, t->dst_schema, t->dst_name, (unsigned long long)t->rows_est);
    }
    if (sn->t0 == 0) sn->t0 = clock_now_s();
    sn->wt = t;

    /* chunk plan: bounded chunks up to the boundaries, then one open chunk with a LIMIT */
    uint32_t par = pc->snapshot_parallelism ? pc->snapshot_parallelism : 1;
    if (par > MAX_WORKERS) par = MAX_WORKERS;
    snap_keyval *bounds = arena_calloc(&sn->wmem, sizeof(snap_keyval) * par);
    uint32_t n_bounds = 0;
    if (t->n_key && par > 1) {
        rc = snap__boundaries(sn, t, bounds, par - 1, &n_bounds);
        if (rc) {
            snap__window_clear(sn);
            return rc;
        }
    }
    uint32_t n_workers = t->n_key ? n_bounds + 1 : 1;
    snap_worker *ws = calloc(n_workers, sizeof(*ws));
    if (!ws) abort();
    for (uint32_t i = 0; i < n_workers && !rc; i++) {
        ws[i].sn = sn;
        ws[i].now = (int64_t)time(NULL);
        buf_init(&ws[i].sql);
        if (!sn->conns[i]) rc = snap__source_conn(sn, &sn->conns[i]);
        ws[i].my = sn->conns[i];
        const snap_keyval *lo = i == 0 ? (t->have_last ? &t->last : NULL) : &bounds[i - 1];
        const snap_keyval *hi = i < n_bounds ? &bounds[i] : NULL;
        ws[i].limit = (t->n_key && !hi) ? pc->snapshot_chunk_rows : 0;
        if (!rc && !snap__select_sql(sn, t, &ws[i].sql, lo, hi, ws[i].limit))
            rc = cot_err_set(COT_ERR_UNSUPPORTED,
                             "%s.%s: a key value cannot be written as SQL; copy this table "
                             "another way",
                             t->schema, t->name);
    }
    /* the low watermark, then the SELECTs, then the high watermark */
    if (!rc) {
        sn->low = sn->mark_base + ++sn->mark_seq;
        rc = snap__watermark(sn, sn->low);
    }
    pthread_t th[MAX_WORKERS];
    uint32_t started = 0;
    if (!rc) {
        for (uint32_t i = 1; i < n_workers; i++) {
            if (pthread_create(&th[i], NULL, snap__worker_thread, &ws[i]) != 0) abort();
            started = i;
        }
        snap__worker_run(&ws[0]); /* the first chunk on this thread */
        for (uint32_t i = 1; i <= started; i++) pthread_join(th[i], NULL);
        for (uint32_t i = 0; i < n_workers && !rc; i++)
            if (ws[i].rc) rc = cot_err_set(ws[i].rc, "%s", ws[i].err);
    }
    if (!rc) {
        sn->high = sn->mark_base + ++sn->mark_seq;
        rc = snap__watermark(sn, sn->high);
    }
    if (!rc) {
        /* the table is finished when the open chunk came back short */
        const snap_worker *lw = &ws[n_workers - 1];
        sn->w_done = !t->n_key || lw->n_rows < lw->limit;
        if (!sn->w_done) {
            for (uint32_t k = 0; k < t->n_key; k++) {
                sn->w_last.p[k] = arena_memdup(&sn->wmem, lw->last_p[k], lw->last_len[k] + 1);
                sn->w_last.len[k] = lw->last_len[k];
            }
            sn->w_have_last = true;
        }
        for (uint32_t i = 0; i < n_workers; i++) snap__add_buffered(sn, &ws[i]);
    }
    for (uint32_t i = 0; i < n_workers; i++) {
        for (uint32_t j = 0; j < ws[i].n_pieces; j++) cot_chunk_free(ws[i].pieces[j]);
        free(ws[i].pieces);
        buf_deinit(&ws[i].sql);
    }
    free(ws);
    if (rc) {
        snap__window_clear(sn);
        return rc;
    }
    /* index the buffered keys */
    uint64_t total = 0;
    for (uint32_t i = 0; i < sn->n_cks; i++) total += sn->cks[i]->n_changes;
    sn->n_buffered = total;
    sn->dropped = calloc(total ? total : 1, 1);
    if (!sn->dropped) abort();
    if (t->n_key) {
        uint32_t id = 0;
        for (uint32_t i = 0; i < sn->n_cks; i++) {
            const cot_chunk *ck = sn->cks[i];
            for (uint32_t r = 0; r < ck->n_changes; r++, id++) {
                if (snap_key_encode(&sn->kbuf, ck->changes[r].after, t->key, t->fold, t->n_key))
                    snap_keyset_add(&sn->keys, sn->kbuf.data, sn->kbuf.len, id);
            }
        }
    }
    LOG_D(TAG,
          "pipeline %s: %s.%s: %llu rows buffered in %u chunk%s between marks %llu and %llu "
          "(%.3f s)",
          pc->name, t->schema, t->name, (unsigned long long)total, n_workers,
          n_workers == 1 ? "" : "s", (unsigned long long)sn->low, (unsigned long long)sn->high,
          clock_now_s() - t_step);
    snap__set_state(sn, W_WAIT_LOW);
    return COT_OK;
}

/* snap__abandon drops the open window (its rows are read again by the next one). */
static void snap__abandon(snapshot *sn, const char *why)
{
    LOG_I(TAG, "pipeline %s: the chunk window of %s.%s is read again: %s", sn->pc->name,
          sn->wt ? sn->wt->schema : "?", sn->wt ? sn->wt->name : "?", why);
    snap__window_clear(sn);
}

/* snap__reconcile drops the buffered rows whose key the binlog change ch touches. */
static bool snap__reconcile(snapshot *sn, const cot_change *ch)
{
    snap_table *t = sn->wt;
    if (!t->n_key) return true; /* copied whole, nothing to reconcile (warned) */
    if (sn->kc_tbl != ch->tbl) {
        sn->kc_tbl = ch->tbl;
        sn->kc_ok = ch->tbl->has_names;
        for (uint32_t k = 0; k < t->n_key && sn->kc_ok; k++) {
            bool found = false;
            for (uint32_t i = 0; i < ch->tbl->n_cols && !found; i++) {
                if (ch->tbl->cols[i].name && strcmp(ch->tbl->cols[i].name, t->key_name[k]) == 0) {
                    sn->kc_idx[k] = i;
                    found = true;
                }
            }
            sn->kc_ok = found;
        }
    }
    if (!sn->kc_ok) return false;
    const cot_value *imgs[2] = {ch->before, ch->after};
    for (int s = 0; s < 2; s++) {
        if (!imgs[s]) continue;
        if (!snap_key_encode(&sn->kbuf, imgs[s], sn->kc_idx, t->fold, t->n_key)) return false;
        uint32_t id = snap_keyset_find(&sn->keys, sn->kbuf.data, sn->kbuf.len);
        if (id != UINT32_MAX && !sn->dropped[id]) {
            sn->dropped[id] = 1;
            sn->n_dropped++;
        }
    }
    return true;
}

/* snap__ctl_change starts a chunk holding one change of a cotter table on
 * the target whose first two columns are (pipeline, source_table), both
 * filled for t; every column is utf8mb4 text unless the caller retypes it
 * through *tbl_out before the chunk is queued. Returns the change's image
 * (after for OP_INSERT, before for OP_DELETE) of n values. */
static cot_value *snap__ctl_change(snapshot *sn, const snap_table *t, const char *table,
                                   const char *const *names, uint32_t n, cot_op op,
                                   cot_table **tbl_out, cot_chunk **out)
{
    cot_table *tbl = cot_table_new("cotter", table, n);
    tbl->has_names = true;
    for (uint32_t i = 0; i < n; i++) {
        tbl->cols[i].name = xstrdup(names[i]);
        tbl->cols[i].type = CT_VARCHAR;
        tbl->cols[i].charset = cot_charset_intern("utf8mb4");
    }
    cot_chunk *ck = cot_chunk_new();
    ck->kind = CK_ROWS;
    cot_change *ch = cot_chunk_add(ck, op, tbl);
    cot_table_unref(tbl); /* the chunk holds it */
    cot_value *v = cot_chunk_values(ck, n);
    if (op == OP_DELETE)
        ch->before = v;
    else
        ch->after = v;
    char full[600];
    int fl = snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
    v[0].kind = VK_STRING;
    v[0].s.p = arena_strdup(&ck->mem, sn->pc->name);
    v[0].s.len = (uint32_t)strlen(sn->pc->name);
    v[1].kind = VK_STRING;
    v[1].s.p = arena_strndup(&ck->mem, full, (size_t)fl);
    v[1].s.len = (uint32_t)fl;
    *tbl_out = tbl;
    *out = ck;
    return v;
}

/* snap__progress_chunk builds the cotter.snapshots row of t. */
static cot_chunk *snap__progress_chunk(snapshot *sn, snap_table *t)
{
    static const char *const names[] = {"pipeline",    "source_table", "last_key",   "done",
                                        "rows_copied", "rows_total",   "where_expr", "history"};
    cot_table *tbl;
    cot_chunk *ck;
    cot_value *v = snap__ctl_change(sn, t, "snapshots", names, 8, OP_INSERT, &tbl, &ck);
    for (uint32_t i = 3; i <= 5; i++) { /* done, rows_copied, rows_total */
        tbl->cols[i].type = i == 3 ? CT_TINY : CT_LONGLONG;
        tbl->cols[i].is_unsigned = i > 3;
        tbl->cols[i].charset = NULL;
    }
    if (t->have_last && !t->done) {
        buf b;
        buf_init(&b);
        snap_lastkey_format(&b, &t->last, t->n_key);
        v[2].kind = VK_STRING;
        v[2].s.p = arena_strndup(&ck->mem, b.data ? b.data : "", b.len);
        v[2].s.len = (uint32_t)b.len;
        buf_deinit(&b);
    } else {
        v[2].kind = VK_NULL;
    }
    v[3].kind = VK_INT;
    v[3].i = t->done ? 1 : 0;
    v[4].kind = VK_UINT;
    v[4].u = t->rows;
    v[5].kind = VK_UINT;
    v[5].u = t->rows_est > t->rows ? t->rows_est : t->rows;
    if (t->where) {
        v[6].kind = VK_STRING;
        v[6].s.p = arena_strdup(&ck->mem, t->where);
        v[6].s.len = (uint32_t)strlen(t->where);
    } else {
        v[6].kind = VK_NULL;
    }
    v[7].kind = VK_STRING;
    v[7].s.p = arena_strndup(&ck->mem, t->hist.data ? t->hist.data : "", t->hist.len);
    v[7].s.len = (uint32_t)t->hist.len;
    cot_chunk_account(ck);
    return ck;
}

static void snap__progress_update(snapshot *sn)
{
    snapshot_progress *p = &sn->prog;
    uint32_t done = 0;
    uint64_t rows = 0, est = 0;
    const snap_table *cur = NULL;
    for (const snap_table *t = sn->tables; t; t = t->next) {
        done += t->done;
        rows += t->rows;
        est += t->done || t->rows > t->rows_est ? t->rows : t->rows_est;
        if (!t->done && !cur) cur = t;
    }
    p->tables_done = done;
    p->rows = rows;
    p->rows_total = est;
    p->active = cur != NULL;
    double el = clock_now_s() - sn->t0;
    p->rows_per_s = el > 0.2 ? (double)sn->rows_session / el : 0;
    p->eta_s = p->rows_per_s > 0 && est > rows ? (double)(est - rows) / p->rows_per_s
               : cur                           ? -1
                                               : 0;
    if (cur)
        snprintf(p->table, sizeof(p->table), "%s.%s", cur->schema, cur->name);
    else
        p->table[0] = '\0';
}

/* snap__key_name copies the index name of clause "KEY `name` (...)". */
static bool snap__key_name(const char *clause, size_t len, char *out, size_t cap)
{
    if (len < 6 || memcmp(clause, "KEY `", 5) != 0) return false;
    size_t o = 0;
    for (size_t i = 5; i < len; i++) {
        if (clause[i] == '`') {
            if (i + 1 < len && clause[i + 1] == '`') {
                i++;
            } else {
                out[o] = '\0';
                return o > 0;
            }
        }
        if (o + 1 >= cap) return false;
        out[o++] = clause[i];
    }
    return false;
}

/* snap__keys_missing appends to out ("ADD c1, ADD c2") the clauses of
 * t->keys whose index the target table does not have (a user may have
 * added one meanwhile); *n counts them. */
static cot_err snap__keys_missing(snapshot *sn, snap_table *t, buf *out, uint32_t *n)
{
    *n = 0;
    MYSQL *tgt = NULL;
    cot_err rc = snap__target_conn(sn, false, &tgt);
    if (rc) return rc;
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE "
                 "TABLE_SCHEMA=");
    snap__str(tgt, &q, t->dst_schema);
    buf_puts(&q, " AND TABLE_NAME=");
    snap__str(tgt, &q, t->dst_name);
    char what[700];
    snprintf(what, sizeof(what), "target '%s': reading the indexes of %s.%s", sn->pc->target_name,
             t->dst_schema, t->dst_name);
    MYSQL_RES *res;
    rc = snap__query(tgt, &q, what, &res);
    buf_deinit(&q);
    mysql_conn_close(tgt);
    if (rc) return rc;
    for (const char *p = t->keys; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char name[256];
        bool there = false;
        if (snap__key_name(p, len, name, sizeof(name))) {
            mysql_data_seek(res, 0);
            MYSQL_ROW row;
            while (!there && (row = mysql_fetch_row(res)))
                there = row[0] && strcasecmp(row[0], name) == 0;
        }
        if (!there) {
            buf_puts(out, (*n)++ ? ", ADD " : "ADD ");
            buf_append(out, p, len);
        }
        p += len + (nl ? 1 : 0);
    }
    mysql_free_result(res);
    return COT_OK;
}

/* snap__keys_forget_chunk makes the transaction (ending at end) that
 * deletes t's row of cotter.snapshot_keys once its ALTER was queued. */
static cot_chunk *snap__keys_forget_chunk(snapshot *sn, const snap_table *t, const cot_pos *end)
{
    static const char *const names[] = {"pipeline", "source_table"};
    cot_table *tbl;
    cot_chunk *ck;
    snap__ctl_change(sn, t, "snapshot_keys", names, 2, OP_DELETE, &tbl, &ck);
    tbl->n_pk = 2; /* the rows are found by (pipeline, source_table) */
    tbl->pk = calloc(2, sizeof(uint32_t));
    if (!tbl->pk) abort();
    tbl->pk[1] = 1;
    ck->tx_end = true;
    ck->end_pos = *end;
    cot_chunk_account(ck);
    return ck;
}

/* snap__keys_emit queues the ALTER TABLE that adds t's deferred indexes,
 * as a transaction of its own ending at end: the load stage runs it
 * between two batches with no load worker busy (an ALTER waiting for one
 * worker's open transaction while another waits for the ALTER would hang
 * them all). Before it, every row queued so far is committed; after it,
 * the table's row of cotter.snapshot_keys is deleted. */
static cot_err snap__keys_emit(snapshot *sn, snap_table *t, const cot_pos *end, const char *why)
{
    if (!t->keys) return COT_OK;
    if (!end || !end->file[0]) {
        LOG_W(TAG,
              "pipeline %s: the secondary indexes left out of %s.%s are added at the next start "
              "(no binlog position to queue them at here)",
              sn->pc->name, t->dst_schema, t->dst_name);
        return COT_OK;
    }
    buf add;
    buf_init(&add);
    uint32_t n = 0;
    cot_err rc = snap__keys_missing(sn, t, &add, &n);
    if (rc) {
        buf_deinit(&add);
        return rc;
    }
    if (n) {
        cot_chunk *ck = cot_chunk_new();
        ck->kind = CK_DDL;
        ck->internal = true;
        ck->tx_end = true;
        ck->end_pos = *end;
        buf q;
        buf_init(&q);
        buf_puts(&q, "ALTER TABLE ");
        snap__qname(&q, t->schema, t->name); /* source names: the load stage maps them */
        buf_putc(&q, ' ');
        buf_append(&q, add.data, add.len);
        ck->ddl = arena_strndup(&ck->mem, q.data, q.len);
        ck->ddl_schema = arena_strdup(&ck->mem, t->schema);
        buf_deinit(&q);
        cot_chunk_account(ck);
        LOG_I(TAG, "pipeline %s: %s: adding the %u secondary index%s left out of %s.%s",
              sn->pc->name, why, n, n == 1 ? "" : "es", t->dst_schema, t->dst_name);
        rc = sn->conf.push(sn->conf.ctx, ck);
    }
    buf_deinit(&add);
    /* after the ALTER: a crash in between finds the row and adds what is missing */
    if (!rc) rc = sn->conf.push(sn->conf.ctx, snap__keys_forget_chunk(sn, t, end));
    if (rc) return rc;
    free(t->keys);
    t->keys = NULL;
    return COT_OK;
}

/* snap__keys_copied runs when a table's copy is done: once every table is,
 * their deferred indexes are due (built by snapshot_keys_step, or queued
 * into the stream at h when the session cannot tell what is committed). */
static cot_err snap__keys_copied(snapshot *sn, const cot_pos *h)
{
    bool any = false;
    for (const snap_table *t = sn->tables; t; t = t->next) {
        if (!t->done) return COT_OK; /* the others first: no ALTER stalls the copy */
        any = any || t->keys;
    }
    if (!any) return COT_OK;
    /* test hook: the stream path, which otherwise only a DDL during the copy takes */
    bool stream = getenv("COTTER_TEST_KEYS_IN_STREAM") != NULL;
    if (sn->conf.committed && h && h->file[0] && !stream) {
        sn->keys_due = true;
        sn->keys_at = *h;
        return COT_OK;
    }
    cot_err rc = COT_OK;
    for (snap_table *t = sn->tables; t && !rc; t = t->next)
        rc = snap__keys_emit(sn, t, h, "the copy is done");
    return rc;
}

typedef struct keys_job {
    snapshot *sn;
    snap_table **tables;
    uint32_t n;
    atomic_uint next;
    atomic_int net; /* a connection failed: the session is retried */
} keys_job;

static void *snap__keys_thread(void *arg)
{
    keys_job *kj = arg;
    snapshot *sn = kj->sn;
    MYSQL *tgt = NULL;
    for (uint32_t i; (i = atomic_fetch_add(&kj->next, 1)) < kj->n;) {
        snap_table *t = kj->tables[i];
        cot_err rc = tgt ? COT_OK : snap__target_conn(sn, true, &tgt);
        char full[600];
        snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
        if (!rc) rc = snap__keys_add(sn, tgt, full, t->dst_schema, t->dst_name, t->keys);
        rc = snap__keys_done(sn, full, t->keys, rc);
        if (rc) { /* the connection: cotter.snapshot_keys keeps them for the next start */
            LOG_W(TAG, "pipeline %s: %s", sn->pc->name, cot_err_msg());
            atomic_store(&kj->net, 1);
            break;
        }
        free(t->keys);
        t->keys = NULL;
    }
    mysql_conn_close(tgt);
    return NULL;
}

cot_err snapshot_keys_step(snapshot *sn)
{
    if (!sn || !sn->keys_due) return COT_OK;
    sn->keys_due = false;
    double t0 = clock_now_s();
    cot_pos c;
    for (;;) { /* nothing of the load may hold a lock on these tables */
        if (!sn->conf.committed(sn->conf.ctx, &c)) return COT_OK; /* at the next start */
        if (cot_pos_cmp(&c, &sn->keys_at) >= 0) break;
        if (clock_now_s() - t0 > 60) {
            LOG_W(TAG,
                  "pipeline %s: the target did not commit the copy within 60 s; its secondary "
                  "indexes go into the stream, one table after the other",
                  sn->pc->name);
            cot_err rc = COT_OK;
            for (snap_table *t = sn->tables; t && !rc; t = t->next)
                rc = snap__keys_emit(sn, t, &sn->keys_at, "the copy is done");
            return rc;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    keys_job kj = {.sn = sn};
    uint32_t n = 0;
    for (const snap_table *t = sn->tables; t; t = t->next) n += t->keys != NULL;
    kj.tables = calloc(n ? n : 1, sizeof(*kj.tables));
    if (!kj.tables) abort();
    for (snap_table *t = sn->tables; t; t = t->next)
        if (t->keys) kj.tables[kj.n++] = t;
    uint32_t p = sn->pc->snapshot_parallelism;
    if (p < 2) p = 2;
    if (p > kj.n) p = kj.n;
    if (p > MAX_WORKERS) p = MAX_WORKERS;
    LOG_I(TAG,
          "pipeline %s: every table is copied; adding the secondary indexes left out of %u "
          "table%s on %u connection%s (the binlog waits meanwhile)",
          sn->pc->name, kj.n, kj.n == 1 ? "" : "s", p, p == 1 ? "" : "s");
    pthread_t th[MAX_WORKERS];
    uint32_t started = 0;
    for (uint32_t i = 0; i < p; i++)
        if (pthread_create(&th[started], NULL, snap__keys_thread, &kj) == 0) started++;
    if (started == 0) snap__keys_thread(&kj);
    for (uint32_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(kj.tables);
    LOG_I(TAG, "pipeline %s: secondary indexes added in %.1f s", sn->pc->name, clock_now_s() - t0);
    if (atomic_load(&kj.net))
        return cot_err_set(COT_ERR_NET,
                           "target '%s': lost a connection while adding the secondary indexes "
                           "left out during the copy; they are added at the next start",
                           sn->pc->target_name);
    return COT_OK;
}

/* snap__high emits the window's rows and the progress row. */
static cot_err snap__high(snapshot *sn, uint32_t ts, const cot_pos *h)
{
    snap_table *t = sn->wt;
    const cfg_pipeline *pc = sn->pc;
    uint64_t id = 0, emitted = 0;
    cot_err rc = COT_OK;
    double t_emit = clock_now_s();
    for (uint32_t i = 0; i < sn->n_cks; i++) {
        cot_chunk *ck = sn->cks[i];
        sn->cks[i] = NULL;
        uint32_t w = 0;
        for (uint32_t r = 0; r < ck->n_changes; r++, id++)
            if (!sn->dropped[id]) ck->changes[w++] = ck->changes[r];
        ck->n_changes = w;
        emitted += w;
        if (rc || w == 0) {
            cot_chunk_free(ck);
            continue;
        }
        ck->tx_end = false;
        ck->ts = ts;
        cot_chunk_account(ck);
        rc = sn->conf.emit(sn->conf.ctx, ck);
    }
    sn->n_cks = 0;
    if (rc) {
        snap__window_clear(sn);
        return rc;
    }
    t->rows += emitted;
    sn->rows_session += emitted;
    t->done = sn->w_done;
    if (sn->w_have_last) {
        arena_reset(&t->mem);
        for (uint32_t k = 0; k < t->n_key; k++) {
            t->last.p[k] = arena_memdup(&t->mem, sn->w_last.p[k], sn->w_last.len[k] + 1);
            t->last.len[k] = sn->w_last.len[k];
        }
        t->have_last = true;
    }
    uint64_t dropped = sn->n_dropped;
    snap__window_clear(sn);
    snap__hist_add(t, h);
    rc = sn->conf.push(sn->conf.ctx, snap__progress_chunk(sn, t));
    if (!rc && t->done) rc = snap__keys_copied(sn, h);
    if (rc) return rc;
    snap__progress_update(sn);
    double now = clock_now_s();
    LOG_D(TAG,
          "pipeline %s: %s.%s: %llu rows emitted at the high watermark (%.3f s in the queue), "
          "%llu superseded by binlog events",
          pc->name, t->schema, t->name, (unsigned long long)emitted, now - t_emit,
          (unsigned long long)dropped);
    if (t->done) {
        sn->prog.copies_done++;
        double el = now - t->t_start;
        LOG_I(TAG, "pipeline %s: snapshot of %s.%s done: %llu rows in %.1f s", pc->name, t->schema,
              t->name, (unsigned long long)t->rows, el);
        if (!sn->prog.active)
            LOG_I(TAG, "pipeline %s: snapshot finished: %u table%s, %llu rows in %.1f s", pc->name,
                  sn->prog.tables, sn->prog.tables == 1 ? "" : "s",
                  (unsigned long long)sn->prog.rows, now - sn->t0);
        sn->last_log = now;
    } else if (now - sn->last_log >= LOG_EVERY_S) {
        sn->last_log = now;
        uint64_t est = t->rows_est > t->rows ? t->rows_est : t->rows;
        LOG_I(
            TAG, "pipeline %s: snapshot of %s.%s: %llu/%llu rows (%.0f%%), %.0f rows/s, ETA %.0f s",
            pc->name, t->schema, t->name, (unsigned long long)t->rows, (unsigned long long)est,
            est ? 100.0 * (double)t->rows / (double)est : 0.0, sn->prog.rows_per_s, sn->prog.eta_s);
    }
    if (sn->conf.progress) sn->conf.progress(sn->conf.ctx, &sn->prog);
    return COT_OK;
}

/* snap__mark reads (pipeline, mark) of a watermark change; false if it is
 * not one of this pipeline's. */
static bool snap__mark(const snapshot *sn, const cot_change *ch, uint64_t *mark)
{
    const cot_table *tbl = ch->tbl;
    const cot_value *img = ch->after ? ch->after : ch->before;
    if (!img) return false;
    bool mine = false, have = false;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        const char *name = tbl->cols[i].name;
        if (!name) continue;
        const cot_value *v = &img[i];
        if (strcmp(name, "pipeline") == 0) {
            if (v->kind == VK_ABSENT && ch->before) v = &ch->before[i];
            mine = v->kind == VK_STRING && v->s.len == strlen(sn->pc->name) &&
                   memcmp(v->s.p, sn->pc->name, v->s.len) == 0;
        } else if (strcmp(name, "mark") == 0) {
            if (v->kind == VK_UINT) {
                *mark = v->u;
                have = true;
            } else if (v->kind == VK_INT) {
                *mark = (uint64_t)v->i;
                have = true;
            }
        }
    }
    return mine && have;
}

/* snap__keyless_clear turns the low watermark's (empty) transaction into a
 * TRUNCATE of a keyless table's target, in stream order: its rows are plain
 * INSERTs, so copying it again after a restart (or over rows the binlog
 * applied before the low watermark, which the SELECT sees too) would add
 * them twice. The statement names the source table; the load stage renames
 * it like any DDL, and runs it whatever the pipeline's ddl policy. */
static void snap__keyless_clear(snapshot *sn, cot_chunk *ck)
{
    snap_table *t = sn->wt;
    if (ck->kind != CK_EMPTY || !ck->tx_end) {
        LOG_W(TAG,
              "pipeline %s: the target table of keyless %s.%s is not emptied before its copy "
              "(the low watermark shares its transaction): rows already there stay and may be "
              "doubled",
              sn->pc->name, t->schema, t->name);
        return;
    }
    buf q;
    buf_init(&q);
    buf_puts(&q, "TRUNCATE TABLE ");
    snap__qname(&q, t->schema, t->name);
    ck->kind = CK_DDL;
    ck->internal = true;
    ck->ddl = arena_strndup(&ck->mem, q.data, q.len);
    ck->ddl_schema = arena_strdup(&ck->mem, t->schema);
    cot_chunk_account(ck);
    buf_deinit(&q);
    LOG_I(TAG, "pipeline %s: emptying the target of keyless %s.%s before copying it", sn->pc->name,
          t->schema, t->name);
}

/* snap__recorded says whether schema.name has a finished row in
 * cotter.snapshots that sn->tables does not hold. */
static bool snap__recorded(const snapshot *sn, const char *schema, const char *name)
{
    size_t ls = strlen(schema), ln = strlen(name);
    for (size_t at = 0; at < sn->recorded.len;) {
        const char *e = sn->recorded.data + at;
        size_t le = strlen(e);
        if (le == ls + 1 + ln && memcmp(e, schema, ls) == 0 && e[ls] == '.' &&
            memcmp(e + ls + 1, name, ln) == 0)
            return true;
        at += le + 1;
    }
    return false;
}

/* snap__ddl_created records, for every mapped table that DDL ck creates
 * (CREATE TABLE, CREATE TABLE LIKE, or the new name of a RENAME), a finished
 * copy in cotter.snapshots: the stream carries that table from its first
 * row, so no later start copies it again. The row goes into the stream
 * ahead of the DDL. A table that already has a row (copied or recorded
 * before, or being copied) keeps it: a CREATE TABLE IF NOT EXISTS of a
 * copied table creates nothing, and its rows_copied and history stand. */
static cot_err snap__ddl_created(snapshot *sn, const cot_chunk *ck)
{
    if (sn->pc->snapshot != SNAPSHOT_INITIAL || !ck->ddl) return COT_OK;
    ddl_info info;
    if (ddl_parse(ck->ddl, strlen(ck->ddl), ck->ddl_schema, &info) != COT_OK) return COT_OK;
    bool create = info.stmt == DDL_STMT_CREATE_TABLE || info.stmt == DDL_STMT_CREATE_TABLE_LIKE;
    uint32_t n = info.n_tables < DDL_INFO_TABLES ? info.n_tables : DDL_INFO_TABLES;
    cot_err rc = COT_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        const ddl_table *dt = &info.tables[i];
        bool made = (create && dt->role == DDL_ROLE_SUBJECT) || dt->role == DDL_ROLE_RENAME_TO;
        if (!made || !dt->src_schema[0]) continue;
        if (snap__find(sn, dt->src_schema, dt->src_name) ||
            snap__recorded(sn, dt->src_schema, dt->src_name)) {
            LOG_D(TAG,
                  "pipeline %s: %s.%s, named by a CREATE in the binlog, already has its row in "
                  "cotter.snapshots: kept",
                  sn->pc->name, dt->src_schema, dt->src_name);
            continue;
        }
        snap_table *t = snap__table_new(sn, dt->src_schema, dt->src_name);
        if (!t) continue; /* not mapped */
        t->done = true;
        rc = sn->conf.push(sn->conf.ctx, snap__progress_chunk(sn, t));
        if (!rc) {
            buf_puts(&sn->recorded, t->schema);
            buf_putc(&sn->recorded, '.');
            buf_puts(&sn->recorded, t->name);
            buf_append(&sn->recorded, "", 1);
        }
        if (!rc)
            LOG_I(TAG,
                  "pipeline %s: %s.%s is created by a DDL in the binlog, so the stream carries it "
                  "from its first row: recorded as copied in cotter.snapshots, no start copies "
                  "it again",
                  sn->pc->name, t->schema, t->name);
        snap__table_free(t);
    }
    return rc;
}

/* snap__word skips blanks and comments at *p and, when the next word is w
 * (case-insensitive, backquotes allowed), moves past it and returns true. */
static bool snap__word(const char **p, const char *w)
{
    const char *s = *p;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        if (s[0] == '/' && s[1] == '*' && s[2] != '!') {
            const char *e = strstr(s + 2, "*/");
            if (!e) return false;
            s = e + 2;
        } else if (s[0] == '#' || (s[0] == '-' && s[1] == '-' && (s[2] == ' ' || s[2] == '\t'))) {
            while (*s && *s != '\n') s++;
        } else {
            break;
        }
    }
    bool quoted = *s == '`';
    if (quoted) s++;
    size_t n = strlen(w);
    if (strncasecmp(s, w, n) != 0) return false;
    s += n;
    if (quoted) {
        if (*s != '`') return false;
        s++;
    } else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
               *s == '_' || *s == '$') {
        return false;
    }
    *p = s;
    return true;
}

bool snapshot_is_own_ddl(const char *sql, const char *default_schema)
{
    if (!sql) return false;
    const char *p = sql;
    if ((snap__word(&p, "CREATE") || snap__word(&p, "DROP")) &&
        (snap__word(&p, "DATABASE") || snap__word(&p, "SCHEMA"))) {
        if (snap__word(&p, "IF")) {
            (void)snap__word(&p, "NOT");
            if (!snap__word(&p, "EXISTS")) return false;
        }
        return snap__word(&p, SNAPSHOT_WATERMARK_SCHEMA);
    }
    ddl_info info;
    if (ddl_parse(sql, strlen(sql), default_schema, &info) != COT_OK || info.n_tables == 0 ||
        info.n_tables > DDL_INFO_TABLES)
        return false;
    for (uint32_t i = 0; i < info.n_tables; i++)
        if (strcmp(info.tables[i].src_schema, SNAPSHOT_WATERMARK_SCHEMA) != 0) return false;
    return true;
}

cot_err snapshot_filter(snapshot *sn, cot_chunk *ck)
{
    cot_err rc = COT_OK;
    if (ck->kind == CK_DDL && !ck->internal && snapshot_is_own_ddl(ck->ddl, ck->ddl_schema)) {
        /* cotter's own schema on the source: never applied, never a reason
         * to read a window again */
        LOG_D(TAG, "skipping a DDL of cotter's own schema: %.200s", ck->ddl);
        ck->kind = CK_EMPTY;
        cot_chunk_account(ck);
        return COT_OK;
    }
    if (ck->kind == CK_DDL && sn && !ck->internal) {
        rc = snap__ddl_created(sn, ck);
        if (rc) return rc;
    }
    if (ck->kind == CK_DDL) {
        /* the DDL may name an index left out of a table still being copied */
        for (snap_table *t = sn ? sn->tables : NULL; t && !rc; t = t->next)
            rc = snap__keys_emit(sn, t, &ck->start_pos, "a DDL comes in the binlog");
        if (rc) return rc;
        if (sn) {
            for (snap_table *t = sn->tables; t; t = t->next) t->described = false;
            if (sn->state != W_IDLE) snap__abandon(sn, "a DDL came in the binlog");
        }
        return COT_OK;
    }
    if (ck->kind != CK_ROWS) return COT_OK;
    bool high = false, low = false;
    uint32_t w = 0;
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        cot_change *ch = &ck->changes[i];
        if (snapshot_is_watermark(ch->tbl->src_schema, ch->tbl->src_name)) {
            uint64_t mark = 0;
            if (sn && sn->state != W_IDLE && snap__mark(sn, ch, &mark)) {
                if (mark == sn->low && sn->state == W_WAIT_LOW) {
                    snap__set_state(sn, W_OPEN);
                    low = true;
                }
                if (mark == sn->high && sn->state == W_OPEN) high = true;
            }
            continue; /* never applied */
        }
        if (sn && sn->state == W_OPEN && strcmp(ch->tbl->src_schema, sn->wt->schema) == 0 &&
            strcmp(ch->tbl->src_name, sn->wt->name) == 0 && !snap__reconcile(sn, ch))
            snap__abandon(sn, "a binlog row image lacks a key column, so it cannot be matched");
        ck->changes[w++] = *ch;
    }
    if (w != ck->n_changes) {
        ck->n_changes = w;
        if (w == 0) ck->kind = CK_EMPTY;
        cot_chunk_account(ck);
    }
    if (low && !sn->wt->n_key) snap__keyless_clear(sn, ck);
    if (high) return snap__high(sn, ck->ts, ck->tx_end ? &ck->end_pos : NULL);
    return COT_OK;
}

void snapshot_progress_get(const snapshot *sn, snapshot_progress *out)
{
    if (!sn) {
        memset(out, 0, sizeof(*out));
        out->eta_s = -1;
        return;
    }
    *out = sn->prog;
}
