/*
 * Schema history by position (see the header for the design and its
 * crash-safety argument). In memory: per table, versions sorted by
 * position; on disk: one SQLite row per version, fields length-prefixed
 * ("4:name3:int-..."; '-' is NULL) so any byte survives. The replay of a
 * DDL uses one TEMPORARY table, _cotter_schema_history, in the altered
 * table's schema on the source's schema connection; temporary tables are
 * not written to a ROW-format binlog, and sql_log_bin=0 is tried as well.
 */
#include "source/schema_history.h"
#include "sql/ddl_rewrite.h"
#include "util/buf.h"
#include "util/log.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TAG      "schema"
#define TMP_NAME "_cotter_schema_history"

typedef struct sh_table {
    char *schema;
    char *name;
    sh_version *v; /* sorted by position */
    uint32_t n, cap;
} sh_table;

struct schema_history {
    sqlite3 *db;
    char *path;
    char *pipeline;
    MYSQL *conn;
    bool log_bin_off; /* sql_log_bin=0 was tried on conn */
    sh_table *t;
    uint32_t n_t, cap_t;
};

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

static char *xstrdup_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int schema_history_pos_cmp(const char *fa, uint64_t pa, const char *fb, uint64_t pb)
{
    size_t la = strlen(fa), lb = strlen(fb);
    if (la != lb) return la < lb ? -1 : 1;
    int c = strcmp(fa, fb);
    if (c) return c;
    return pa < pb ? -1 : pa > pb ? 1 : 0;
}

bool schema_history_pos_parse(const char *where, char *file, size_t cap, uint64_t *pos)
{
    const char *colon = where ? strrchr(where, ':') : NULL;
    if (!colon || colon == where || (size_t)(colon - where) >= cap) return false;
    char *end;
    errno = 0;
    unsigned long long p = strtoull(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end) return false;
    memcpy(file, where, (size_t)(colon - where));
    file[colon - where] = '\0';
    *pos = p;
    return true;
}

/* ---- in memory ---------------------------------------------------------- */

static void sh__version_free(sh_version *v)
{
    for (uint32_t i = 0; i < v->n_cols * SH_FIELDS; i++) free(v->fields[i]);
    free(v->fields);
    v->fields = NULL;
    v->n_cols = 0;
}

static sh_table *sh__table(schema_history *sh, const char *schema, const char *name, bool create)
{
    for (uint32_t i = 0; i < sh->n_t; i++)
        if (strcmp(sh->t[i].schema, schema) == 0 && strcmp(sh->t[i].name, name) == 0)
            return &sh->t[i];
    if (!create) return NULL;
    if (sh->n_t == sh->cap_t) {
        sh->cap_t = sh->cap_t ? sh->cap_t * 2 : 16;
        sh_table *n = realloc(sh->t, sh->cap_t * sizeof(*n));
        if (!n) abort();
        sh->t = n;
    }
    sh_table *t = &sh->t[sh->n_t++];
    memset(t, 0, sizeof(*t));
    t->schema = xstrdup(schema);
    t->name = xstrdup(name);
    return t;
}

/* sh__put inserts (or replaces, same position) a version; takes fields. */
static sh_version *sh__put(sh_table *t, const char *file, uint64_t pos, bool known, uint32_t n_cols,
                           char **fields)
{
    uint32_t i = 0;
    while (i < t->n && schema_history_pos_cmp(t->v[i].file, t->v[i].pos, file, pos) < 0) i++;
    if (i < t->n && schema_history_pos_cmp(t->v[i].file, t->v[i].pos, file, pos) == 0) {
        sh__version_free(&t->v[i]);
    } else {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 4;
            sh_version *n = realloc(t->v, t->cap * sizeof(*n));
            if (!n) abort();
            t->v = n;
        }
        memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
        t->n++;
        memset(&t->v[i], 0, sizeof(t->v[i]));
        snprintf(t->v[i].file, sizeof(t->v[i].file), "%s", file);
        t->v[i].pos = pos;
    }
    t->v[i].known = known;
    t->v[i].n_cols = n_cols;
    t->v[i].fields = fields;
    return &t->v[i];
}

/* ---- on disk ------------------------------------------------------------ */

static void sh__encode(buf *b, uint32_t n_cols, char *const *fields)
{
    buf_reset(b);
    buf_putc(b, '\0'); /* data allocated even for no columns */
    buf_reset(b);
    for (uint32_t i = 0; i < n_cols * SH_FIELDS; i++) {
        if (!fields[i]) {
            buf_putc(b, '-');
            continue;
        }
        size_t n = strlen(fields[i]);
        buf_printf(b, "%zu:", n);
        buf_append(b, fields[i], n);
    }
}

/* sh__decode parses what sh__encode wrote; false (nothing allocated) if damaged. */
static bool sh__decode(const char *p, size_t len, uint32_t n_cols, char ***out)
{
    size_t n = (size_t)n_cols * SH_FIELDS, k = 0, i = 0;
    char **f = calloc(n ? n : 1, sizeof(char *));
    if (!f) abort();
    while (k < n) {
        if (i >= len) goto malformed;
        if (p[i] == '-') {
            i++;
            k++;
            continue;
        }
        size_t flen = 0, digits = 0;
        while (i < len && p[i] >= '0' && p[i] <= '9' && digits < 10) {
            flen = flen * 10 + (size_t)(p[i] - '0');
            i++;
            digits++;
        }
        if (!digits || i >= len || p[i] != ':' || flen > len - i - 1) goto malformed;
        i++;
        f[k] = malloc(flen + 1);
        if (!f[k]) abort();
        memcpy(f[k], p + i, flen);
        f[k][flen] = '\0';
        i += flen;
        k++;
    }
    if (i != len) goto malformed;
    *out = f;
    return true;
malformed:
    for (size_t j = 0; j < n; j++) free(f[j]);
    free(f);
    return false;
}

static cot_err sh__sqlite_err(schema_history *sh, const char *what)
{
    return cot_err_set(COT_ERR_IO, "schema history %s: %s failed: %s", sh->path, what,
                       sqlite3_errmsg(sh->db));
}

static cot_err sh__load(schema_history *sh)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sh->db,
                           "SELECT db, tbl, file, pos, known, n_cols, columns FROM "
                           "schema_history WHERE pipeline=?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sh__sqlite_err(sh, "reading the versions");
    sqlite3_bind_text(st, 1, sh->pipeline, -1, SQLITE_STATIC);
    int rc;
    uint32_t n = 0, bad = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *db = (const char *)sqlite3_column_text(st, 0);
        const char *tbl = (const char *)sqlite3_column_text(st, 1);
        const char *file = (const char *)sqlite3_column_text(st, 2);
        sqlite3_int64 pos = sqlite3_column_int64(st, 3);
        bool known = sqlite3_column_int(st, 4) != 0;
        sqlite3_int64 n_cols = sqlite3_column_int64(st, 5);
        const char *cols = (const char *)sqlite3_column_blob(st, 6);
        size_t cols_len = (size_t)sqlite3_column_bytes(st, 6);
        char **fields = NULL;
        if (!db || !tbl || !file || pos < 0 || n_cols < 0 || n_cols > 65535 ||
            strlen(file) >= sizeof(((sh_version *)0)->file) ||
            !sh__decode(cols ? cols : "", cols ? cols_len : 0, (uint32_t)n_cols, &fields)) {
            bad++;
            continue;
        }
        sh__put(sh__table(sh, db, tbl, true), file, (uint64_t)pos, known, (uint32_t)n_cols, fields);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return sh__sqlite_err(sh, "reading the versions");
    if (bad) LOG_W(TAG, "schema history %s: %u damaged versions ignored", sh->path, bad);
    LOG_D(TAG, "schema history %s: %u versions of pipeline %s", sh->path, n, sh->pipeline);
    return COT_OK;
}

static void sh__store(schema_history *sh, const char *schema, const char *table,
                      const sh_version *v)
{
    if (!sh->db) return;
    buf enc;
    buf_init(&enc);
    sh__encode(&enc, v->n_cols, v->fields);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(sh->db,
                                "INSERT OR REPLACE INTO schema_history (pipeline, db, tbl, file, "
                                "pos, known, n_cols, columns) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, sh->pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, v->file, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)v->pos);
        sqlite3_bind_int(st, 6, v->known ? 1 : 0);
        sqlite3_bind_int64(st, 7, v->n_cols);
        sqlite3_bind_blob(st, 8, enc.data ? enc.data : "", (int)enc.len, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    buf_deinit(&enc);
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
        sh__sqlite_err(sh, "storing a version");
        LOG_W(TAG, "%s; the version of %s.%s at %s:%llu is kept in memory only", cot_err_msg(),
              schema, table, v->file, (unsigned long long)v->pos);
    }
}

cot_err schema_history_open(const char *data_dir, const char *pipeline, MYSQL *conn,
                            schema_history **out)
{
    *out = NULL;
    schema_history *sh = calloc(1, sizeof(*sh));
    if (!sh) abort();
    sh->pipeline = xstrdup(pipeline);
    sh->conn = conn;
    buf p;
    buf_init(&p);
    buf_printf(&p, "%s/schema_history.db", data_dir && *data_dir ? data_dir : ".");
    sh->path = p.data;
    if (data_dir && *data_dir) mkdir(data_dir, 0750); /* the meta store makes it too */
    cot_err rc = COT_OK;
    if (sqlite3_open_v2(sh->path, &sh->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        rc = sh__sqlite_err(sh, "opening");
    if (!rc) sqlite3_busy_timeout(sh->db, 5000);
    if (!rc && sqlite3_exec(sh->db,
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                            "CREATE TABLE IF NOT EXISTS schema_history ("
                            " pipeline TEXT NOT NULL, db TEXT NOT NULL, tbl TEXT NOT NULL,"
                            " file TEXT NOT NULL, pos INTEGER NOT NULL, known INTEGER NOT NULL,"
                            " n_cols INTEGER NOT NULL, columns BLOB NOT NULL,"
                            " PRIMARY KEY (pipeline, db, tbl, file, pos))",
                            NULL, NULL, NULL) != SQLITE_OK)
        rc = sh__sqlite_err(sh, "creating the table");
    if (!rc) rc = sh__load(sh);
    if (rc) {
        schema_history_free(sh);
        return rc;
    }
    *out = sh;
    return COT_OK;
}

void schema_history_free(schema_history *sh)
{
    if (!sh) return;
    for (uint32_t i = 0; i < sh->n_t; i++) {
        for (uint32_t k = 0; k < sh->t[i].n; k++) sh__version_free(&sh->t[i].v[k]);
        free(sh->t[i].v);
        free(sh->t[i].schema);
        free(sh->t[i].name);
    }
    free(sh->t);
    if (sh->db) sqlite3_close(sh->db);
    free(sh->path);
    free(sh->pipeline);
    free(sh);
}

void schema_history_attach(schema_cache *sc, MYSQL *conn, const char *data_dir,
                           const char *pipeline)
{
    schema_history *sh = NULL;
    if (schema_history_open(data_dir, pipeline, conn, &sh) != COT_OK) {
        LOG_W(TAG,
              "pipeline %s: no schema history (%s): a NO_LOG source's old events are decoded "
              "with the table's current columns, checked for count and types",
              pipeline, cot_err_msg());
        return;
    }
    schema_cache_set_history(sc, sh);
}

const sh_version *schema_history_lookup(schema_history *sh, const char *schema, const char *table,
                                        const char *where, bool *later)
{
    if (later) *later = false;
    char file[128];
    uint64_t pos;
    sh_table *t = sh ? sh__table(sh, schema, table, false) : NULL;
    if (!t || !schema_history_pos_parse(where, file, sizeof(file), &pos)) return NULL;
    const sh_version *found = NULL;
    for (uint32_t i = 0; i < t->n; i++) {
        if (schema_history_pos_cmp(t->v[i].file, t->v[i].pos, file, pos) <= 0) {
            found = &t->v[i];
        } else {
            if (later) *later = true;
            break;
        }
    }
    return found;
}

static char **sh__copy_fields(uint32_t n_cols, char *const *fields)
{
    size_t n = (size_t)n_cols * SH_FIELDS;
    char **f = calloc(n ? n : 1, sizeof(char *));
    if (!f) abort();
    for (size_t i = 0; i < n; i++) f[i] = xstrdup_null(fields[i]);
    return f;
}

/* sh__record stores a version (fields taken) in memory and on disk. */
static void sh__record(schema_history *sh, const char *schema, const char *table, const char *file,
                       uint64_t pos, bool known, uint32_t n_cols, char **fields)
{
    sh_version *v = sh__put(sh__table(sh, schema, table, true), file, pos, known, n_cols, fields);
    sh__store(sh, schema, table, v);
    LOG_I(TAG, "schema history: %s.%s %s from %s:%llu%s", schema, table,
          known ? "version recorded" : "unknown", file, (unsigned long long)pos,
          known ? "" : " (information_schema is used, with its checks)");
}

void schema_history_record(schema_history *sh, const char *schema, const char *table,
                           const char *where, uint32_t n_cols, char *const *fields)
{
    char file[128];
    uint64_t pos;
    if (!sh || !schema_history_pos_parse(where, file, sizeof(file), &pos)) return;
    sh__record(sh, schema, table, file, pos, true, n_cols, sh__copy_fields(n_cols, fields));
}

/* ---- DDL replay ----------------------------------------------------------- */

typedef struct sh_route {
    const char *schema, *table; /* the table replayed */
} sh_route;

static bool sh__route_tmp(void *ctx, const char *schema, const char *table, char *out_schema,
                          size_t schema_cap, char *out_table, size_t table_cap)
{
    const sh_route *r = ctx;
    if (strcmp(schema, r->schema) != 0 || strcmp(table, r->table) != 0) return false;
    snprintf(out_schema, schema_cap, "%s", schema);
    snprintf(out_table, table_cap, "%s", TMP_NAME);
    return true;
}

static void sh__ident(buf *b, const char *s)
{
    buf_ident(b, s);
}

/* sh__run runs one statement on the schema connection and drops any result. */
static bool sh__run(schema_history *sh, const char *sql, size_t len)
{
    if (mysql_real_query(sh->conn, sql, (unsigned long)len) != 0) return false;
    MYSQL_RES *res = mysql_store_result(sh->conn);
    if (res) mysql_free_result(res);
    return true;
}

/* sh__replay applies DDL sql to version prev of schema.table on a
 * temporary table; on success *out gets the new fields and *n_cols. */
static bool sh__replay(schema_history *sh, const sh_version *prev, const char *schema,
                       const char *table, const char *sql, size_t len, const char *db,
                       const cot_ddl_session *ds, char ***out, uint32_t *n_cols, char *why,
                       size_t why_cap)
{
    if (!sh->conn) {
        snprintf(why, why_cap, "no connection to the source");
        return false;
    }
    if (!sh->log_bin_off) {
        sh->log_bin_off = true;
        if (mysql_real_query(sh->conn, "SET SESSION sql_log_bin=0", 25) != 0)
            LOG_D(TAG,
                  "sql_log_bin=0 refused (%s); temporary tables are not logged in ROW "
                  "format anyway",
                  mysql_error(sh->conn));
    }
    buf q;
    buf_init(&q);
    bool ok = false;
    buf_puts(&q, "DROP TEMPORARY TABLE IF EXISTS ");
    sh__ident(&q, schema);
    buf_putc(&q, '.');
    sh__ident(&q, TMP_NAME);
    sh__run(sh, q.data, q.len);
    buf_reset(&q);
    buf_puts(&q, "CREATE TEMPORARY TABLE ");
    sh__ident(&q, schema);
    buf_putc(&q, '.');
    sh__ident(&q, TMP_NAME);
    buf_puts(&q, " (");
    for (uint32_t c = 0; c < prev->n_cols; c++) {
        char *const *f = prev->fields + (size_t)c * SH_FIELDS;
        if (c) buf_putc(&q, ',');
        sh__ident(&q, f[0] ? f[0] : "?");
        buf_putc(&q, ' ');
        buf_puts(&q, f[5] ? f[5] : f[2] ? f[2] : "text");
        if (f[3]) {
            buf_puts(&q, " COLLATE ");
            buf_puts(&q, f[3]);
        }
    }
    buf_putc(&q, ')');
    if (!sh__run(sh, q.data, q.len)) {
        snprintf(why, why_cap, "creating the temporary copy failed: %s", mysql_error(sh->conn));
        goto done;
    }
    sh_route r = {.schema = schema, .table = table};
    ddl_info info;
    ddl_dialect dl;
    ddl_dialect_of(&dl, ds);
    buf_reset(&q);
    if (ddl_rewrite_dl(sql, len, db, &dl, sh__route_tmp, &r, &q, &info) != COT_OK ||
        info.kind != DDL_REWRITTEN) {
        snprintf(why, why_cap, "the statement cannot be pointed at a copy: %s",
                 info.kind == DDL_NOT_OURS ? info.note : cot_err_msg());
        goto drop;
    }
    /* replayed as the source session ran it, then back to this session's own */
    buf set;
    buf_init(&set);
    bool session = ddl_session_sql(ds, &set);
    bool replayed = (!session || sh__run(sh, set.data, set.len)) && sh__run(sh, q.data, q.len);
    if (!replayed) snprintf(why, why_cap, "replaying it failed: %s", mysql_error(sh->conn));
    if (session) {
        static const char back[] =
            "SET SESSION sql_mode=DEFAULT, SESSION time_zone=DEFAULT, NAMES utf8mb4";
        if (!sh__run(sh, back, sizeof(back) - 1) && replayed) {
            snprintf(why, why_cap, "restoring the session after it failed: %s",
                     mysql_error(sh->conn));
            replayed = false;
        }
    }
    buf_deinit(&set);
    if (!replayed) goto drop;
    buf_reset(&q);
    buf_puts(&q, "SHOW FULL COLUMNS FROM ");
    sh__ident(&q, schema);
    buf_putc(&q, '.');
    sh__ident(&q, TMP_NAME);
    MYSQL_RES *res = NULL;
    if (mysql_real_query(sh->conn, q.data, (unsigned long)q.len) != 0 ||
        !(res = mysql_store_result(sh->conn))) {
        snprintf(why, why_cap, "reading the result failed: %s", mysql_error(sh->conn));
        goto drop;
    }
    uint32_t n = (uint32_t)mysql_num_rows(res), k = 0;
    char **f = calloc((size_t)(n ? n : 1) * SH_FIELDS, sizeof(char *));
    if (!f) abort();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && k < n) {
        /* Field, Type, Collation, ... */
        const char *type = row[1] ? row[1] : "";
        char **c = f + (size_t)k * SH_FIELDS;
        c[0] = xstrdup(row[0]);
        size_t dl = strcspn(type, "( ");
        c[1] = malloc(dl + 1);
        if (!c[1]) abort();
        for (size_t i = 0; i < dl; i++)
            c[1][i] = (char)(type[i] >= 'A' && type[i] <= 'Z' ? type[i] - 'A' + 'a' : type[i]);
        c[1][dl] = '\0';
        c[2] = xstrdup(type);
        for (char *p = c[2]; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        c[3] = xstrdup_null(row[2]);
        if (row[2]) {
            size_t cl = strcspn(row[2], "_");
            c[4] = malloc(cl + 1);
            if (!c[4]) abort();
            memcpy(c[4], row[2], cl);
            c[4][cl] = '\0';
        }
        c[5] = xstrdup(type);
        k++;
    }
    mysql_free_result(res);
    *out = f;
    *n_cols = k;
    ok = true;
drop:
    buf_reset(&q);
    buf_puts(&q, "DROP TEMPORARY TABLE IF EXISTS ");
    sh__ident(&q, schema);
    buf_putc(&q, '.');
    sh__ident(&q, TMP_NAME);
    sh__run(sh, q.data, q.len);
done:
    buf_deinit(&q);
    return ok;
}

static bool sh__tracked(schema_history *sh, const char *schema, const char *table)
{
    sh_table *t = sh__table(sh, schema, table, false);
    return t && t->n > 0;
}

static void sh__unknown(schema_history *sh, const char *schema, const char *table, const char *file,
                        uint64_t pos, const char *why, const char *sql, size_t len)
{
    LOG_W(TAG,
          "schema history: cannot follow the DDL at %s:%llu on %s.%s (%s): %.*s; rows after it "
          "are decoded with the table's current columns (checked), or set "
          "binlog_row_metadata=FULL on the source",
          file, (unsigned long long)pos, schema, table, why, (int)(len > 300 ? 300 : len), sql);
    sh__record(sh, schema, table, file, pos, false, 0, NULL);
}

void schema_history_ddl(schema_cache *sc, const char *sql, size_t len, const char *db,
                        const cot_ddl_session *ds, const char *where, binlog_route_fn route,
                        void *route_ctx)
{
    schema_history *sh = schema_cache_history(sc);
    char file[128];
    uint64_t pos;
    if (!sh || sh->n_t == 0 || !schema_history_pos_parse(where, file, sizeof(file), &pos)) return;
    ddl_info info;
    ddl_dialect dl;
    ddl_dialect_of(&dl, ds);
    if (ddl_parse_dl(sql, len, db, &dl, &info) != COT_OK) {
        cot_err_clear();
        return; /* the load stage reports what it cannot parse */
    }
    if (info.kind == DDL_NOT_OURS) return;
    uint32_t n = info.n_tables < DDL_INFO_TABLES ? info.n_tables : DDL_INFO_TABLES;
    char rs[256], rt[256];
    for (uint32_t i = 0; i < n; i++) {
        const ddl_table *tb = &info.tables[i];
        const char *s = tb->src_schema, *t = tb->src_name;
        if (!sh__tracked(sh, s, t) || !route(route_ctx, s, t, rs, sizeof(rs), rt, sizeof(rt)))
            continue;
        switch (info.stmt) {
        case DDL_STMT_ALTER_TABLE: {
            if (tb->role != DDL_ROLE_SUBJECT) {
                sh__unknown(sh, s, t, file, pos, "renamed", sql, len);
                break;
            }
            if (info.alter_ops & DDL_ALTER_RENAME_TABLE) {
                sh__unknown(sh, s, t, file, pos, "the table is renamed", sql, len);
                break;
            }
            char wb[300];
            snprintf(wb, sizeof(wb), "%s:%llu", file, (unsigned long long)pos);
            const sh_version *prev = schema_history_lookup(sh, s, t, wb, NULL);
            char why[600] = "";
            char **fields = NULL;
            uint32_t n_cols = 0;
            if (!prev || !prev->known) {
                sh__unknown(sh, s, t, file, pos, "its columns before it are unknown", sql, len);
            } else if (sh__replay(sh, prev, s, t, sql, len, db, ds, &fields, &n_cols, why,
                                  sizeof(why))) {
                sh__record(sh, s, t, file, pos, true, n_cols, fields);
            } else {
                sh__unknown(sh, s, t, file, pos, why, sql, len);
            }
            break;
        }
        case DDL_STMT_CREATE_TABLE:
        case DDL_STMT_CREATE_TABLE_LIKE:
        case DDL_STMT_DROP_TABLE:
        case DDL_STMT_RENAME_TABLE:
            /* a new table under this name, or none: its next TABLE_MAP reads it again */
            sh__unknown(sh, s, t, file, pos, "the table is created, dropped or renamed", sql, len);
            break;
        default:
            break; /* TRUNCATE, indexes: same columns */
        }
    }
}
