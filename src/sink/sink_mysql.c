/*
 * The MySQL/MariaDB sink: applies row changes to a target over one
 * Connector/C connection and stores the pipeline's position in
 * cotter.positions in the same transaction (exactly-once effect). Runs on
 * the pipeline's load thread only.
 *
 * A batch is one target transaction (autocommit=0 starts it implicitly).
 * Changes become statements in a packet (sink_mysql_sql.c) that is sent as
 * one multi-statement query when it is full and at commit, where the
 * position upsert and COMMIT ride in the same packet: one round trip for
 * a small batch. Target table descriptions are read from
 * information_schema on first use and cached until a DDL chunk arrives or
 * a statement fails with a schema error.
 *
 * A DDL chunk (already rewritten for the target by the pipeline) is run as
 * it is, per the pipeline's ddl policy, between two commits of the load
 * stage; "already done" errors of a re-run count as done (sink__ddl_done).
 *
 * After a connection error the sink is "broken": every call but
 * batch_abort and close fails with COT_ERR_NET, and the pipeline closes
 * and reopens it, then reloads the position (it never reconnects by
 * itself, so a rolled-back batch cannot be skipped).
 */
#include "sink/sink.h"
#include "client/mysql_conn.h"
#include "client/mysql_wait.h"
#include "sql/ddl_rewrite.h"
#include "sink/sink_mysql_sql.h"
#include "sink/sink_mysql_convert.h"
#include "sink/sink_mysql_conflict.h"
#include "sink/sink_mysql_fk.h"
#include "util/buf.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define TAG               "sink"
#define STMT_PREVIEW      200
#define MIN_STMT_BYTES    (16 * 1024)
#define PACKET_MARGIN     (64 * 1024)
#define MISSING_LOG_PER_S 10 /* log lines a second about changes that found no target row */

typedef struct sink_mysql {
    sink base; /* first: the pipeline holds a sink * */
    char *name;
    char *pipeline;
    uint32_t position_row; /* the row batch_commit writes (sink_conf) */
    char *user;            /* for GRANT hints */
    char role[192];        /* "target NAME" */
    MYSQL *my;
    unsigned long thread_id;       /* my's connection id on the target */
    unsigned long long max_packet; /* the target's max_allowed_packet, 0: unknown */
    int read_timeout_s;
    mysql_conn_opts ddl_opts; /* the DDL connection's: the target's, ddl_timeout to read */
    const cot_url *url;       /* the config's */
    bool ddl_own;             /* DDL on a connection of its own (a longer ddl_timeout) */
    bool broken;              /* the connection failed; only abort and close are useful */
    bool in_batch;
    sink_ddl_policy ddl;
    bool dry_run; /* build statements, send none */
    /* nothing applied since position_load: a DDL now may be one that ran
     * before a crash whose position commit was lost */
    bool may_rerun;
    sql_builder sb;
    /* target table descriptions by schema.name */
    sql_tdesc **buckets;
    uint32_t n_buckets;
    uint32_t n_tds;
    sql_tdesc *dead;           /* evicted; freed once the packet no longer names them */
    const cot_table *last_tbl; /* one-entry cache: last source table -> description */
    sql_tdesc *last_td;
    buf q; /* scratch for queries */
    sink_stats stats;
    sink_stats batch;          /* counts of the open batch, added to stats at commit */
    sink_conv *cv;             /* value conversion, on_overflow and conflict policies */
    time_t missing_log_t;      /* the second of the last log line of a change with no row */
    uint32_t missing_logged;   /* lines logged in that second */
    uint64_t missing_unlogged; /* such changes since, not logged one by one */
    bool dl_ready;             /* cotter.dead_letters was created at open (no CREATE in a batch) */
    /* bulk upserts: runs of whole-row upserts sent as LOAD DATA LOCAL text */
    buf bulk;
    size_t bulk_sent;   /* bytes of bulk the server has read */
    bool no_bulk;       /* the target refuses LOAD DATA LOCAL: INSERT only */
    uint32_t bulk_rows; /* shortest run sent as bulk text */
    /* foreign_key_checks of the session once the packet has run: 0, 1, or
     * -1 not known (a packet failed or was dropped); see sink__fk_checks */
    int8_t fk_state;
} sink_mysql;

#define BULK_MIN_ROWS  256        /* default: a shorter run of upserts goes as INSERT */
#define BULK_MAX_BYTES (8u << 20) /* text per LOAD DATA */

/* The local infile handler: whatever file name the server asks for, it
 * gets the rows in sk->bulk, never a file of this machine. */
static int bulk__init(void **ptr, const char *filename, void *userdata)
{
    (void)filename;
    sink_mysql *sk = userdata;
    sk->bulk_sent = 0;
    *ptr = sk;
    return 0;
}

static int bulk__read(void *ptr, char *dst, unsigned int len)
{
    sink_mysql *sk = ptr;
    size_t left = sk->bulk.len - sk->bulk_sent;
    size_t n = left < len ? left : len;
    if (n) memcpy(dst, sk->bulk.data + sk->bulk_sent, n);
    sk->bulk_sent += n;
    return (int)n;
}

static void bulk__end(void *ptr)
{
    (void)ptr;
}

static int bulk__error(void *ptr, char *msg, unsigned int len)
{
    (void)ptr;
    snprintf(msg, len, "cotter sends only its own rows");
    return 2000; /* CR_UNKNOWN_ERROR */
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

/* ---- description cache -------------------------------------------------- */

static uint32_t sink__hash(const char *schema, const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = schema; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

static sql_tdesc *sink__cache_find(sink_mysql *sk, const char *schema, const char *name)
{
    if (!sk->n_buckets) return NULL;
    sql_tdesc *td = sk->buckets[sink__hash(schema, name) & (sk->n_buckets - 1)];
    for (; td; td = td->next)
        if (strcmp(td->schema, schema) == 0 && strcmp(td->name, name) == 0) return td;
    return NULL;
}

static void sink__cache_insert(sink_mysql *sk, sql_tdesc *td)
{
    if (sk->n_tds >= sk->n_buckets) {
        uint32_t n = sk->n_buckets ? sk->n_buckets * 2 : 64;
        sql_tdesc **b = calloc(n, sizeof(*b));
        if (!b) abort();
        for (uint32_t i = 0; i < sk->n_buckets; i++) {
            while (sk->buckets[i]) {
                sql_tdesc *t = sk->buckets[i];
                sk->buckets[i] = t->next;
                uint32_t h = sink__hash(t->schema, t->name) & (n - 1);
                t->next = b[h];
                b[h] = t;
            }
        }
        free(sk->buckets);
        sk->buckets = b;
        sk->n_buckets = n;
    }
    uint32_t h = sink__hash(td->schema, td->name) & (sk->n_buckets - 1);
    td->next = sk->buckets[h];
    sk->buckets[h] = td;
    sk->n_tds++;
}

/* sink__cache_evict moves td out of the cache onto the dead list. */
static void sink__cache_evict(sink_mysql *sk, sql_tdesc *td)
{
    sql_tdesc **pp = &sk->buckets[sink__hash(td->schema, td->name) & (sk->n_buckets - 1)];
    while (*pp && *pp != td) pp = &(*pp)->next;
    if (*pp) {
        *pp = td->next;
        sk->n_tds--;
    }
    sql_builder_forget(&sk->sb, td);
    sink_conv_forget(sk->cv, td);
    td->next = sk->dead;
    sk->dead = td;
    if (sk->last_td == td) {
        sk->last_td = NULL;
        sk->last_tbl = NULL;
    }
}

static void sink__cache_evict_all(sink_mysql *sk)
{
    for (uint32_t i = 0; i < sk->n_buckets; i++) {
        while (sk->buckets[i]) sink__cache_evict(sk, sk->buckets[i]);
    }
}

/* sink__dead_free frees evicted descriptions; only when the packet is empty. */
static void sink__dead_free(sink_mysql *sk)
{
    while (sk->dead) {
        sql_tdesc *td = sk->dead;
        sk->dead = td->next;
        sql_tdesc_free(td);
    }
}

/* ---- queries -------------------------------------------------------------- */

static void sink__put_string(sink_mysql *sk, buf *b, const char *s)
{
    mysql_conn_put_string(sk->my, b, s, strlen(s));
}

/* sink__fail_net_check marks the sink broken after a connection error. A
 * "lost connection" that is the read_timeout cutting a statement still
 * waiting on the target (a lock, a slow trigger) is told apart and named:
 * the message says what it waits for (COT_ERR_SQL_RETRY). */
static cot_err sink__fail_net_check(sink_mysql *sk, cot_err err)
{
    if (err != COT_ERR_NET) return err;
    sk->broken = true;
    char why[1600];
    if (sk->my && mysql_errno(sk->my) == 2013 && sk->url &&
        mysql_wait_explain(sk->url, &sk->ddl_opts, sk->thread_id, sk->read_timeout_s, why,
                           sizeof(why))) {
        const char *msg = cot_err_msg(), *stmt = strstr(msg, "; statement: ");
        const char *failed = strstr(msg, " failed: ");
        char head[400], tail[400];
        if (failed) /* "target 'x': upsert of 3 rows on db.t" */
            snprintf(head, sizeof(head), "%.*s", (int)(failed - msg), msg);
        else
            snprintf(head, sizeof(head), "%s", sk->role);
        snprintf(tail, sizeof(tail), "%s", stmt ? stmt : "");
        err = cot_err_set(COT_ERR_SQL_RETRY, "%s: %s (SQL_RETRY, retriable)%s", head, why, tail);
    }
    return err;
}

static cot_err sink__broken_err(sink_mysql *sk)
{
    return cot_err_set(COT_ERR_NET,
                       "%s: the connection failed earlier in this run; close and reopen the sink "
                       "(the pipeline does this when it retries)",
                       sk->role);
}

/* sink__query runs sk->q and returns its stored result in *res (the
 * caller frees it). context says what the query was for. */
static cot_err sink__query(sink_mysql *sk, const char *context, MYSQL_RES **res)
{
    *res = NULL;
    if (mysql_real_query(sk->my, sk->q.data, (unsigned long)sk->q.len) != 0 ||
        !(*res = mysql_store_result(sk->my)))
        return sink__fail_net_check(sk, mysql_conn_error(sk->my, "%s: %s", sk->role, context));
    return COT_OK;
}

/* sink__describe reads the columns and unique keys of tbl's target table
 * (tbl->schema.name) into a new description (*out, the caller's); tbl's
 * source names are for messages. */
static cot_err sink__describe(sink_mysql *sk, const cot_table *tbl, sql_tdesc **out)
{
    *out = NULL;
    char context[512];
    snprintf(context, sizeof(context), "reading columns of %s.%s from information_schema",
             tbl->schema, tbl->name);
    buf *q = &sk->q;
    buf_reset(q);
    buf_puts(q, "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, EXTRA, CHARACTER_SET_NAME FROM "
                "information_schema.COLUMNS WHERE TABLE_SCHEMA=");
    sink__put_string(sk, q, tbl->schema);
    buf_puts(q, " AND TABLE_NAME=");
    sink__put_string(sk, q, tbl->name);
    buf_puts(q, " ORDER BY ORDINAL_POSITION");
    MYSQL_RES *res;
    cot_err rc = sink__query(sk, context, &res);
    if (rc) return rc;
    sql_tdesc *td = sql_tdesc_new(tbl->schema, tbl->name);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1]) continue;
        bool nullable = row[2] && strcasecmp(row[2], "YES") == 0;
        bool generated = row[3] && strcasestr(row[3], "GENERATED") != NULL;
        sql_tdesc_add_col(td, row[0], row[1], nullable, generated);
        sql_tdesc_set_charset(td, row[4]);
    }
    mysql_free_result(res);
    if (td->n_cols == 0) {
        sql_tdesc_free(td);
        return cot_err_set(COT_ERR_SCHEMA,
                           "%s has no table %s.%s for the rows of source %s.%s: create it on the "
                           "target with the source's columns (DDL is not replicated yet); cotter "
                           "retries and continues once it exists",
                           sk->role, tbl->schema, tbl->name, tbl->src_schema, tbl->src_name);
    }

    snprintf(context, sizeof(context), "reading unique keys of %s.%s from information_schema",
             tbl->schema, tbl->name);
    buf_reset(q);
    buf_puts(q, "SELECT INDEX_NAME, COLUMN_NAME, SEQ_IN_INDEX FROM information_schema.STATISTICS"
                " WHERE TABLE_SCHEMA=");
    sink__put_string(sk, q, tbl->schema);
    buf_puts(q, " AND TABLE_NAME=");
    sink__put_string(sk, q, tbl->name);
    buf_puts(q, " AND NON_UNIQUE=0");
    rc = sink__query(sk, context, &res);
    if (rc) {
        sql_tdesc_free(td);
        return rc;
    }
    size_t n_rows = (size_t)mysql_num_rows(res), n_parts = 0;
    sql_index_part *parts = calloc(n_rows ? n_rows : 1, sizeof(*parts));
    char **skip = calloc(n_rows ? n_rows : 1, sizeof(char *)); /* indexes over expressions */
    size_t n_skip = 0;
    if (!parts || !skip) abort();
    while ((row = mysql_fetch_row(res))) {
        if (!row[0]) continue;
        bool seen = false; /* each unique index counted once */
        for (size_t i = 0; i < n_parts && !seen; i++) seen = strcmp(parts[i].index, row[0]) == 0;
        for (size_t i = 0; i < n_skip && !seen; i++) seen = strcmp(skip[i], row[0]) == 0;
        if (!seen) td->n_unique++;
        if (!row[1] || !row[2]) {
            skip[n_skip++] = row[0];
            continue;
        }
        char *end;
        errno = 0;
        unsigned long seq = strtoul(row[2], &end, 10);
        if (errno || *end || seq == 0 || seq > 4096) {
            skip[n_skip++] = row[0];
            continue;
        }
        parts[n_parts].index = row[0];
        parts[n_parts].column = row[1];
        parts[n_parts].seq = (unsigned)seq;
        n_parts++;
    }
    /* A unique index over an expression cannot locate rows by column values. */
    size_t kept = 0;
    for (size_t i = 0; i < n_parts; i++) {
        bool drop = false;
        for (size_t j = 0; j < n_skip && !drop; j++) drop = strcmp(parts[i].index, skip[j]) == 0;
        if (!drop) parts[kept++] = parts[i];
    }
    rc = sql_tdesc_pick_key(td, parts, kept);
    free(parts);
    free(skip);
    mysql_free_result(res);
    if (!rc) rc = sink__fail_net_check(sk, sink_fk_describe(sk->my, sk->role, td));
    if (rc) {
        cot_err_prefix("%s: ", sk->role);
        sql_tdesc_free(td);
        return rc;
    }
    LOG_D(TAG, "%s: %s.%s has %u columns, key %s", sk->role, td->schema, td->name, td->n_cols,
          td->key_name ? td->key_name : "(none: rows are matched on every column)");
    *out = td;
    return COT_OK;
}

/* sink__table returns the description of ch's target table, mapped from
 * tbl, reading it on first use. */
static cot_err sink__table(sink_mysql *sk, cot_table *tbl, sql_tdesc **out)
{
    if (tbl == sk->last_tbl && sk->last_td) {
        *out = sk->last_td;
        return COT_OK;
    }
    sql_tdesc *td = sink__cache_find(sk, tbl->schema, tbl->name);
    if (!td) {
        cot_err rc = sink__describe(sk, tbl, &td);
        if (rc) return rc;
        sink__cache_insert(sk, td);
    }
    if (td->map_tbl != tbl) {
        sql_builder_forget(&sk->sb, td);
        cot_err rc = sql_tdesc_map(td, tbl, sk->name);
        if (!rc) rc = sink_conv_map(sk->cv, sk->my, td, tbl);
        if (rc) {
            /* Read the target again next time: the user may fix it meanwhile. */
            sink__cache_evict(sk, td);
            return rc;
        }
    }
    sk->last_tbl = tbl;
    sk->last_td = td;
    *out = td;
    return COT_OK;
}

/* sink__grant_hint appends what to GRANT for an access error on schema. */
static void sink__grant_hint(sink_mysql *sk, char *out, size_t cap, const char *schema)
{
    snprintf(out, cap,
             "; as an administrator run: GRANT SELECT, INSERT, UPDATE, DELETE ON `%s`.* TO "
             "'%s'@'%%' (use the host part the user was created with)",
             schema, sk->user);
}

/* sink__check_matched compares the rows statement idx of the packet
 * changed with the source rows it carries: an UPDATE or DELETE that
 * matched fewer rows (CLIENT_FOUND_ROWS: matched, not changed) found no
 * target row for the others. That is drift, never silent: counted
 * (missing) and logged, at most MISSING_LOG_PER_S lines a second, the
 * next one saying how many were not. */
static void sink__check_matched(sink_mysql *sk, uint32_t idx, my_ulonglong matched)
{
    const sql_stmt *st = &sk->sb.stmts[idx];
    if (!st->td || matched == (my_ulonglong)-1) return;
    if (st->kind != SQL_UPDATE && st->kind != SQL_DELETE && st->kind != SQL_DELETE_KEYS) return;
    if (matched >= st->n_rows) return;
    uint64_t missed = st->n_rows - matched;
    sink_conv_count_missing(sk->cv, missed);
    time_t now = time(NULL);
    if (now != sk->missing_log_t) sk->missing_logged = 0;
    if (now == sk->missing_log_t && sk->missing_logged >= MISSING_LOG_PER_S) {
        sk->missing_unlogged += missed;
        return;
    }
    size_t len = sql_builder_stmt_len(&sk->sb, idx);
    LOG_W(TAG,
          "%s: %s of %u row%s on %s.%s matched %llu row%s on the target: %llu source change%s "
          "found no row to change (%s); the target has drifted from the source, cotter check "
          "finds the rows and cotter repair fixes them%s; statement: %.*s%s",
          sk->role, sql_kind_name(st->kind), st->n_rows, st->n_rows == 1 ? "" : "s", st->td->schema,
          st->td->name, (unsigned long long)matched, matched == 1 ? "" : "s",
          (unsigned long long)missed, missed == 1 ? "" : "s",
          st->td->key_name ? "missing by key" : "no row with all these values: a table without key",
          sk->missing_unlogged ? " (more such changes before, counted, not logged)" : "",
          (int)(len > STMT_PREVIEW ? STMT_PREVIEW : len), sk->sb.pkt.data + st->off,
          len > STMT_PREVIEW ? "..." : "");
    sk->missing_log_t = now;
    sk->missing_logged++;
    sk->missing_unlogged = 0;
}

/* sink__too_big refuses a packet larger than the target's
 * max_allowed_packet (a row bigger than the limit: the builder cannot split
 * it). Sent, the server would drop the connection ("server has gone away")
 * at every retry; the message names the setting and the size it needs. */
static cot_err sink__too_big(sink_mysql *sk)
{
    sql_builder *sb = &sk->sb;
    uint32_t big = 0;
    for (uint32_t i = 1; i < sb->n_stmts; i++)
        if (sql_builder_stmt_len(sb, i) > sql_builder_stmt_len(sb, big)) big = i;
    const sql_stmt *st = sb->n_stmts ? &sb->stmts[big] : NULL;
    size_t len = st ? sql_builder_stmt_len(sb, big) : sb->pkt.len;
    char what[400] = "a statement";
    if (st && st->td)
        snprintf(what, sizeof(what), "%s of %u row%s on %s.%s", sql_kind_name(st->kind), st->n_rows,
                 st->n_rows == 1 ? "" : "s", st->td->schema, st->td->name);
    /* room for the rest of the packet, rounded up to a MiB */
    unsigned long long need = ((unsigned long long)sb->pkt.len + (1 << 20)) >> 20 << 20;
    cot_err_set(COT_ERR_SQL,
                "%s: %s is %zu bytes of SQL (%zu in the packet), more than the target's "
                "max_allowed_packet (%llu bytes): the server would drop the connection; raise "
                "max_allowed_packet on the target to at least %llu (SET GLOBAL "
                "max_allowed_packet = %llu, and in its my.cnf); the pipeline then goes on by "
                "itself; statement: %.*s...",
                sk->role, what, len, sb->pkt.len, sk->max_packet, need, need,
                (int)(len > STMT_PREVIEW ? STMT_PREVIEW : len), st ? sb->pkt.data + st->off : "");
    sql_builder_clear(sb);
    sink__dead_free(sk);
    return COT_ERR_SQL;
}

/* sink__send sends the packet and reads one result per statement. On
 * failure names the statement that failed and empties the packet. */
static cot_err sink__send(sink_mysql *sk)
{
    sql_builder *sb = &sk->sb;
    sql_builder_close(sb);
    if (sb->pkt.len == 0) return COT_OK;
    if (sk->dry_run) { /* every statement was built (and so checked); none is sent */
        for (uint32_t i = 0; i < sb->n_stmts; i++)
            if (sb->stmts[i].td) sk->batch.statements++;
        LOG_D(TAG, "%s: dry run: %zu bytes of SQL not sent", sk->role, sb->pkt.len);
        sql_builder_clear(sb);
        sink__dead_free(sk);
        return COT_OK;
    }
    if (sk->max_packet && sb->pkt.len + 64 > sk->max_packet) return sink__too_big(sk);
    uint32_t idx = 0;
    bool failed = mysql_real_query(sk->my, sb->pkt.data, (unsigned long)sb->pkt.len) != 0;
    while (!failed) {
        MYSQL_RES *res = mysql_store_result(sk->my);
        if (res) mysql_free_result(res);
        if (idx < sb->n_stmts) sink__check_matched(sk, idx, mysql_affected_rows(sk->my));
        int st = mysql_next_result(sk->my);
        if (st < 0) break;
        idx++;
        failed = st > 0;
    }
    if (!failed) {
        for (uint32_t i = 0; i < sb->n_stmts; i++)
            if (sb->stmts[i].td) sk->batch.statements++;
        sql_builder_clear(sb);
        sink__dead_free(sk);
        return COT_OK;
    }

    unsigned int errnum = mysql_errno(sk->my);
    cot_err err = mysql_conn_classify(errnum);
    char what[600], hint[512] = "";
    const sql_stmt *st = idx < sb->n_stmts ? &sb->stmts[idx] : NULL;
    size_t len = st ? sql_builder_stmt_len(sb, idx) : 0;
    const char *text = st ? sb->pkt.data + st->off : "";
    if (st && st->td) {
        snprintf(what, sizeof(what), "%s of %u row%s on %s.%s", sql_kind_name(st->kind), st->n_rows,
                 st->n_rows == 1 ? "" : "s", st->td->schema, st->td->name);
        if (err == COT_ERR_AUTH) sink__grant_hint(sk, hint, sizeof(hint), st->td->schema);
        if (err == COT_ERR_SCHEMA)
            snprintf(hint, sizeof(hint),
                     "; the target table changed under cotter: it is read again on retry");
        if (errnum == 1242 && st->kind == SQL_UPSERT)
            snprintf(hint, sizeof(hint),
                     "; a row collides on a UNIQUE key of the target other than the one cotter "
                     "applies by (%s), so applying it would overwrite a different row: the "
                     "target has a unique key the source does not; remove it or use on_error: "
                     "skip",
                     st->td->key_name ? st->td->key_name : "its key");
        if (errnum == 1451 || errnum == 1452) /* only with foreign_key_checks=1 */
            snprintf(hint, sizeof(hint),
                     "; cotter applies this with foreign_key_checks=1 so that the target's "
                     "cascading foreign keys run (docs/mappings.md, Foreign keys), and another "
                     "foreign key of the target refuses it: the target's rows or keys differ "
                     "from the source's (see cotter doctor and cotter check)");
    } else if (st && st->kind == SQL_SESSION) {
        snprintf(what, sizeof(what), "%s", sql_kind_name(st->kind));
    } else {
        snprintf(what, sizeof(what), "%s of pipeline %s in cotter.positions",
                 st ? sql_kind_name(st->kind) : "statement", sk->pipeline);
        if (err == COT_ERR_AUTH) sink__grant_hint(sk, hint, sizeof(hint), "cotter");
    }
    cot_err_set(err, "%s: %s failed: %s (errno %u, SQLSTATE %s, %s, %s)%s; statement: %.*s%s",
                sk->role, what, mysql_error(sk->my), errnum, mysql_sqlstate(sk->my),
                cot_err_name(err), mysql_conn_class_word(err), hint,
                (int)(len > STMT_PREVIEW ? STMT_PREVIEW : len), text,
                len > STMT_PREVIEW ? "..." : "");
    sql_builder_clear(sb);
    sk->fk_state = -1; /* the SETs after the failed statement did not run */
    if (err == COT_ERR_SCHEMA) sink__cache_evict_all(sk);
    sink__dead_free(sk);
    return sink__fail_net_check(sk, err);
}

/* ---- ops ------------------------------------------------------------------ */

static const char session_sql[] = "SET NAMES utf8mb4;"
                                  "SET time_zone='+00:00';"
                                  "SET sql_mode='STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,"
                                  "NO_ENGINE_SUBSTITUTION';"
                                  "SET foreign_key_checks=0;"
                                  "SET autocommit=0";

static const char positions_ddl[] =
    "CREATE DATABASE IF NOT EXISTS `cotter`;"
    "CREATE TABLE IF NOT EXISTS `cotter`.`positions` ("
    "pipeline VARCHAR(191) NOT NULL PRIMARY KEY,"
    "binlog_file VARCHAR(255) NOT NULL,"
    "binlog_pos BIGINT UNSIGNED NOT NULL,"
    "gtid VARCHAR(255) NOT NULL,"
    "source_ts INT UNSIGNED NOT NULL,"
    "updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

static void sink_mysql_close(sink *base);
static cot_err sink__policy_tables(sink_mysql *sk);

/* sink__prepare creates cotter.positions when missing and bounds the
 * statement size by the server's max_allowed_packet. */
static cot_err sink__prepare(sink_mysql *sk, size_t max_bytes)
{
    buf *q = &sk->q;
    buf_reset(q);
    buf_puts(q, "SELECT @@max_allowed_packet, (SELECT COUNT(*) FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA='cotter' AND TABLE_NAME='positions')");
    MYSQL_RES *res;
    cot_err rc =
        sink__query(sk, "reading max_allowed_packet and looking for cotter.positions", &res);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned long long packet = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    bool have_table = row && row[1] && strcmp(row[1], "0") != 0;
    mysql_free_result(res);
    sk->max_packet = packet;

    if (!max_bytes) max_bytes = 1024 * 1024;
    /* A packet holds statements up to ~2 x max_bytes; keep it under the server's limit. */
    if (packet > 2 * PACKET_MARGIN && max_bytes > (packet - PACKET_MARGIN) / 2)
        max_bytes = (size_t)(packet - PACKET_MARGIN) / 2;
    if (max_bytes < MIN_STMT_BYTES) max_bytes = MIN_STMT_BYTES;
    sk->sb.max_bytes = max_bytes;

    if (!have_table) {
        if (mysql_real_query(sk->my, positions_ddl, sizeof(positions_ddl) - 1) == 0) {
            while (mysql_next_result(sk->my) == 0) {
            }
        }
        if (mysql_errno(sk->my)) {
            unsigned int errnum = mysql_errno(sk->my);
            cot_err err = mysql_conn_classify(errnum);
            if (err == COT_ERR_AUTH)
                return cot_err_set(
                    err,
                    "%s: cannot create the position table cotter.positions: %s (errno %u); as an "
                    "administrator run: CREATE DATABASE cotter; GRANT CREATE, SELECT, INSERT, "
                    "UPDATE, DELETE ON `cotter`.* TO '%s'@'%%' (use the host part the user "
                    "was created with)",
                    sk->role, mysql_error(sk->my), errnum, sk->user);
            return sink__fail_net_check(
                sk, mysql_conn_error(sk->my, "%s: creating cotter.positions", sk->role));
        }
        LOG_I(TAG, "%s: created cotter.positions", sk->role);
    }
    return COT_OK;
}

#define LOCK_WAIT_S      10 /* how long a connection waits for a session lock */
#define PAR_WORKER_LOCKS 64 /* worker locks waited for (load.parallelism is at most 64) */

/* sink__lock_name writes the session lock name of a connection: "main" or worker k. */
static void sink__lock_name(const char *pipeline, bool worker, uint32_t k, char *out, size_t cap)
{
    if (worker)
        snprintf(out, cap, "cotter/%.40s/w%u", pipeline, (unsigned)k);
    else
        snprintf(out, cap, "cotter/%.40s/main", pipeline);
}

static cot_err sink__lock_once(sink_mysql *sk, const char *name, bool release, int wait_s,
                               char *holder, size_t cap);

/* sink__lock takes (release false) or waits for and gives back (release
 * true) the session lock name, waiting at most LOCK_WAIT_S. A lock still
 * held after that is held by a connection the server has not noticed is
 * gone (a lost network), or by another cotter running this pipeline: that
 * connection is killed (its open transaction rolls back, a finished COMMIT
 * stays) and the lock taken after all. */
static cot_err sink__lock(sink_mysql *sk, const char *name, bool release)
{
    /* one GET_LOCK waits less than read_timeout, or the wait ends as a lost connection */
    int step = sk->read_timeout_s - 1 < LOCK_WAIT_S ? sk->read_timeout_s - 1 : LOCK_WAIT_S;
    if (step < 0) step = 0;
    for (int attempt = 0;; attempt++) {
        char holder[32] = "";
        cot_err rc;
        for (int waited = 0;;) {
            rc = sink__lock_once(sk, name, release, step, holder, sizeof(holder));
            waited += step ? step : 1;
            if (rc != COT_ERR_SQL_RETRY || waited >= LOCK_WAIT_S) break;
            if (!step) sleep(1);
        }
        if (rc != COT_ERR_SQL_RETRY || attempt > 0 || !holder[0] ||
            strspn(holder, "0123456789") != strlen(holder))
            return rc;
        LOG_W(TAG,
              "%s: connection %s held cotter's session lock '%s' for %d s: a connection of an "
              "earlier run the server still keeps, or another cotter running pipeline %s; "
              "killing it (its open transaction is rolled back)",
              sk->role, holder, name, LOCK_WAIT_S, sk->pipeline);
        char kill[64];
        snprintf(kill, sizeof(kill), "KILL CONNECTION %s", holder);
        if (mysql_real_query(sk->my, kill, strlen(kill)) != 0 &&
            mysql_conn_classify(mysql_errno(sk->my)) == COT_ERR_NET)
            return sink__fail_net_check(sk, mysql_conn_error(sk->my, "%s: %s", sk->role, kill));
    }
}

/* sink__lock_once is one GET_LOCK of sink__lock; holder gets the id of the
 * connection holding the lock when it was not free. */
static cot_err sink__lock_once(sink_mysql *sk, const char *name, bool release, int wait_s,
                               char *holder, size_t cap)
{
    buf *q = &sk->q;
    buf_reset(q);
    buf_puts(q, "SELECT GET_LOCK(");
    sink__put_string(sk, q, name);
    buf_printf(q, ",%d), IS_USED_LOCK(", wait_s);
    sink__put_string(sk, q, name);
    buf_puts(q, ")");
    if (release) {
        buf_puts(q, ", RELEASE_LOCK(");
        sink__put_string(sk, q, name);
        buf_puts(q, ")");
    }
    MYSQL_RES *res;
    cot_err rc = sink__query(sk, "taking cotter's session lock", &res);
    if (rc) return rc;
    MYSQL_ROW row = mysql_fetch_row(res);
    bool got = row && row[0] && strcmp(row[0], "1") == 0;
    snprintf(holder, cap, "%s", row && row[1] ? row[1] : "");
    mysql_free_result(res);
    if (got) return COT_OK;
    return cot_err_set(COT_ERR_SQL_RETRY,
                       "%s: pipeline %s is being applied to this target by another connection "
                       "(session lock '%s' held by connection %s for more than %d s): another "
                       "cotter runs this pipeline; stop it (two writers would break exactly-once)",
                       sk->role, sk->pipeline, name, holder, LOCK_WAIT_S);
}

static cot_err sink_mysql_open(const sink_conf *conf, sink **out)
{
    *out = NULL;
    sink_mysql *sk = calloc(1, sizeof(*sk));
    if (!sk) abort();
    sk->base.ops = &sink_mysql_ops;
    sk->name = xstrdup(conf->name ? conf->name : "?");
    sk->pipeline = xstrdup(conf->pipeline ? conf->pipeline : "");
    sk->position_row = conf->position_row;
    sk->user = xstrdup(conf->url && conf->url->user ? conf->url->user : "");
    sk->ddl = conf->ddl;
    sk->dry_run = conf->dry_run;
    sk->bulk_rows = conf->bulk_rows ? conf->bulk_rows : BULK_MIN_ROWS;
    sk->no_bulk = sk->bulk_rows == UINT32_MAX;
    snprintf(sk->role, sizeof(sk->role), "target '%s'", sk->name);
    buf_init(&sk->q);
    buf_init(&sk->bulk);
    sql_builder_init(&sk->sb, sk->name, conf->max_statement_bytes);
    sk->cv = sink_conv_new(sk->pipeline, sk->name, sk->dry_run);

    if (!conf->url) {
        sink_mysql_close(&sk->base);
        return cot_err_set(COT_ERR_CONFIG, "target %s: no URL", conf->name ? conf->name : "?");
    }
    mysql_conn_opts opts = {
        .role = sk->role,
        .connect_timeout_s = conf->connect_timeout_s,
        .read_timeout_s = conf->read_timeout_s,
        .write_timeout_s = conf->write_timeout_s,
        .multi_statements = true,
        .local_infile = true,
    };
    sk->url = conf->url;
    sk->ddl_opts = opts;
    sk->ddl_opts.local_infile = false;
    sk->ddl_opts.read_timeout_s = conf->ddl_timeout_s;
    sk->ddl_own = conf->ddl_timeout_s > conf->read_timeout_s;
    cot_err rc = mysql_conn_open(conf->url, &opts, &sk->my);
    sk->read_timeout_s = conf->read_timeout_s;
    if (!rc) sk->thread_id = mysql_thread_id(sk->my);
    if (!rc)
        mysql_set_local_infile_handler(sk->my, bulk__init, bulk__read, bulk__end, bulk__error, sk);
    if (!rc) {
        rc = mysql_conn_exec(sk->my, sk->role, session_sql, sizeof(session_sql) - 1);
        if (rc) cot_err_prefix("setting up the session: ");
    }
    if (!rc) rc = sink__prepare(sk, conf->max_statement_bytes);
    if (!rc && sink_conv_needs_tables(sk->cv)) rc = sink__policy_tables(sk);
    if (!rc) rc = mysql_conn_exec_str(sk->my, sk->role, "COMMIT");
    if (!rc && !conf->dry_run && sk->pipeline[0]) {
        char name[80];
        sink__lock_name(sk->pipeline, conf->worker, conf->position_row, name, sizeof(name));
        rc = sink__lock(sk, name, false);
    }
    if (rc) {
        sink_mysql_close(&sk->base);
        return rc;
    }
    LOG_I(TAG, "%s: connected to %s (server %s)", sk->role,
          conf->url->redacted ? conf->url->redacted : "?", mysql_get_server_info(sk->my));
    *out = &sk->base;
    return COT_OK;
}

static cot_err sink_mysql_position_load(sink *base, cot_pos *pos, bool *found)
{
    sink_mysql *sk = (sink_mysql *)base;
    memset(pos, 0, sizeof(*pos));
    *found = false;
    if (sk->broken) return sink__broken_err(sk);
    buf *q = &sk->q;
    buf_reset(q);
    buf_puts(q, "SELECT binlog_file, binlog_pos, gtid FROM `cotter`.`positions` WHERE pipeline=");
    sink__put_string(sk, q, sk->pipeline);
    MYSQL_RES *res;
    cot_err rc = sink__query(sk, "reading the position from cotter.positions", &res);
    if (rc) {
        if (rc == COT_ERR_AUTH) {
            char msg[1536], hint[512];
            snprintf(msg, sizeof(msg), "%s", cot_err_msg());
            sink__grant_hint(sk, hint, sizeof(hint), "cotter");
            cot_err_set(rc, "%s%s", msg, hint);
        }
        return rc;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        char *end = NULL;
        errno = 0;
        unsigned long long p = row[1] ? strtoull(row[1], &end, 10) : 0;
        size_t file_len = row[0] ? strlen(row[0]) : 0;
        size_t gtid_len = row[2] ? strlen(row[2]) : 0;
        if (!row[0] || !row[1] || !row[2] || errno || *end || file_len >= sizeof(pos->file) ||
            gtid_len >= sizeof(pos->gtid)) {
            mysql_free_result(res);
            return cot_err_set(COT_ERR_MALFORMED,
                               "%s: the row of pipeline %s in cotter.positions is not a position "
                               "cotter wrote (file '%.64s', pos '%.32s'); fix or delete it",
                               sk->role, sk->pipeline, row[0] ? row[0] : "NULL",
                               row[1] ? row[1] : "NULL");
        }
        memcpy(pos->file, row[0], file_len + 1);
        memcpy(pos->gtid, row[2], gtid_len + 1);
        pos->pos = p;
        *found = true;
    }
    mysql_free_result(res);
    sk->may_rerun = true;
    /* End the read-only transaction autocommit=0 opened, so no snapshot lingers. */
    return sink__fail_net_check(sk, mysql_conn_exec_str(sk->my, sk->role, "ROLLBACK"));
}

static void sink__fk_checks(sink_mysql *sk, bool on);

static cot_err sink_mysql_batch_begin(sink *base)
{
    sink_mysql *sk = (sink_mysql *)base;
    if (sk->broken) return sink__broken_err(sk);
    /* No round trip: with autocommit=0 the first statement opens the transaction. */
    sk->in_batch = true;
    memset(&sk->batch, 0, sizeof(sk->batch));
    sql_builder_clear(&sk->sb);
    sink__fk_checks(sk, false); /* nothing when the session has them off */
    return COT_OK;
}

/* sink__ddl_text writes a DDL statement for a log line or a message: cut
 * at 1000 bytes, and not shown at all when it may carry a password. */
static void sink__ddl_text(const char *ddl, char *out, size_t cap)
{
    if (strcasestr(ddl, "IDENTIFIED") || strcasestr(ddl, "PASSWORD")) {
        snprintf(out, cap, "(statement with a password, not shown)");
        return;
    }
    size_t n = strlen(ddl);
    snprintf(out, cap, "%.*s%s", (int)(n > 1000 ? 1000 : n), ddl, n > 1000 ? "..." : "");
}

/* sink__ddl_run runs one DDL statement on my and reads its results;
 * returns 0 or the error number. */
static unsigned int sink__ddl_run(MYSQL *my, const char *sql, size_t len)
{
    bool failed = mysql_real_query(my, sql, (unsigned long)len) != 0;
    while (!failed) {
        MYSQL_RES *res = mysql_store_result(my);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(my) != 0)
            failed = true;
        int st = failed ? 1 : mysql_next_result(my);
        if (st < 0) break;
        failed = st > 0;
    }
    if (!failed) return 0;
    unsigned int errnum = mysql_errno(my);
    return errnum ? errnum : 2000; /* CR_UNKNOWN_ERROR */
}

/* sink__ddl_conn gives the connection a DDL runs on. An ALTER TABLE of a
 * big table runs far longer than read_timeout, and a connection's read
 * timeout is fixed when it connects: with a longer ddl_timeout the DDL gets
 * a connection of its own, with the same session settings (close it with
 * sink__ddl_release). The main connection's transaction is ended first, as
 * the DDL's implicit commit would have ended it, so it holds no lock the
 * DDL waits for. */
static cot_err sink__ddl_conn(sink_mysql *sk, MYSQL **out)
{
    *out = sk->my;
    if (!sk->ddl_own || !sk->url) return COT_OK;
    cot_err rc = mysql_conn_exec_str(sk->my, sk->role, "COMMIT");
    if (rc) return sink__fail_net_check(sk, rc);
    rc = mysql_conn_open(sk->url, &sk->ddl_opts, out);
    if (!rc) rc = mysql_conn_exec(*out, sk->role, session_sql, sizeof(session_sql) - 1);
    if (rc) {
        mysql_conn_close(*out);
        *out = NULL;
        cot_err_prefix("opening a connection for a DDL: ");
    }
    return rc;
}

static void sink__ddl_release(sink_mysql *sk, MYSQL *my)
{
    if (my != sk->my) mysql_conn_close(my);
}

/* sink__renamed says whether the target's tables look like the renames of
 * info were done: each final name exists, each name renamed away does not.
 * Reads information_schema; false when it cannot tell. */
static bool sink__renamed(sink_mysql *sk, const ddl_info *info)
{
    if (info->n_tables == 0 || info->n_tables > DDL_INFO_TABLES) return false;
    const ddl_table *names[DDL_INFO_TABLES];
    bool there[DDL_INFO_TABLES];
    uint32_t n = 0;
    bool alter = info->stmt == DDL_STMT_ALTER_TABLE;
    for (uint32_t i = 0; i < info->n_tables; i++) {
        const ddl_table *tb = &info->tables[i];
        bool from = tb->role == DDL_ROLE_RENAME_FROM || (alter && tb->role == DDL_ROLE_SUBJECT);
        if (!from && tb->role != DDL_ROLE_RENAME_TO) continue;
        uint32_t k = 0;
        while (k < n && !(strcmp(names[k]->dst_schema, tb->dst_schema) == 0 &&
                          strcmp(names[k]->dst_name, tb->dst_name) == 0))
            k++;
        if (k == n) names[n++] = tb;
        there[k] = !from; /* later renames win: replay them in order */
    }
    buf *q = &sk->q;
    buf_reset(q);
    buf_puts(q, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE ");
    for (uint32_t k = 0; k < n; k++) {
        buf_puts(q, k ? " OR (TABLE_SCHEMA=" : "(TABLE_SCHEMA=");
        sink__put_string(sk, q, names[k]->dst_schema);
        buf_puts(q, " AND TABLE_NAME=");
        sink__put_string(sk, q, names[k]->dst_name);
        buf_putc(q, ')');
    }
    MYSQL_RES *res;
    if (sink__query(sk, "checking whether a RENAME was already done", &res)) return false;
    bool found[DDL_INFO_TABLES] = {false};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        for (uint32_t k = 0; k < n; k++)
            if (row[0] && row[1] && strcmp(row[0], names[k]->dst_schema) == 0 &&
                strcmp(row[1], names[k]->dst_name) == 0)
                found[k] = true;
    }
    mysql_free_result(res);
    for (uint32_t k = 0; k < n; k++)
        if (found[k] != there[k]) return false;
    return true;
}

/* sink__ddl_done says whether error errnum of a DDL means its effect is
 * already on the target: a re-run after a crash between the DDL and the
 * position commit, or a target prepared by hand. Only for statements where
 * that error really means "done"; an ALTER of several clauses (all or
 * nothing) and a RENAME only when the DDL may be a re-run (rerun: it is the
 * first thing applied since the position was loaded). */
static bool sink__ddl_done(sink_mysql *sk, const ddl_info *info, unsigned int errnum, bool rerun)
{
    uint32_t ops = info->alter_ops;
    bool alter_ok = info->n_clauses <= 1 || rerun;
    switch (info->stmt) {
    case DDL_STMT_CREATE_TABLE:
    case DDL_STMT_CREATE_TABLE_LIKE:
        return errnum == 1050; /* ER_TABLE_EXISTS_ERROR */
    case DDL_STMT_DROP_TABLE:
        return errnum == 1051 || errnum == 1146; /* ER_BAD_TABLE_ERROR, ER_NO_SUCH_TABLE */
    case DDL_STMT_CREATE_INDEX:
        return errnum == 1061; /* ER_DUP_KEYNAME */
    case DDL_STMT_DROP_INDEX:
        return errnum == 1091; /* ER_CANT_DROP_FIELD_OR_KEY */
    case DDL_STMT_RENAME_TABLE:
        return (errnum == 1050 || errnum == 1146) && rerun && sink__renamed(sk, info);
    case DDL_STMT_ALTER_TABLE:
        if (!alter_ok) return false;
        switch (errnum) {
        case 1060: /* ER_DUP_FIELDNAME */
        case 1061: /* ER_DUP_KEYNAME */
            return (ops & (DDL_ALTER_ADD | DDL_ALTER_RENAME)) != 0;
        case 1091: /* ER_CANT_DROP_FIELD_OR_KEY */
            return (ops & DDL_ALTER_DROP) != 0;
        case 1054: /* ER_BAD_FIELD_ERROR: the column was dropped or renamed already */
            return rerun && (ops & (DDL_ALTER_DROP | DDL_ALTER_RENAME)) != 0;
        case 1050:
        case 1146:
            return (ops & DDL_ALTER_RENAME_TABLE) && rerun && sink__renamed(sk, info);
        default:
            return false;
        }
    default:
        return false;
    }
}

/* sink__ddl handles a DDL chunk per the pipeline's policy; the statement
 * is already rewritten for the target (names qualified). Nothing of the
 * batch may be pending: a DDL commits implicitly. */
static cot_err sink__ddl(sink_mysql *sk, const cot_chunk *ck)
{
    const char *ddl = ck->ddl ? ck->ddl : "";
    size_t len = strlen(ddl);
    char text[1100];
    sink__ddl_text(ddl, text, sizeof(text));
    bool rerun = sk->may_rerun;
    sk->may_rerun = false;
    if (sk->ddl == SINK_DDL_IGNORE && !ck->internal) {
        LOG_I(TAG, "%s: DDL from the source not applied (ddl: ignore): %s", sk->role, text);
        return COT_OK;
    }
    if (sk->dry_run && sk->ddl == SINK_DDL_APPLY) {
        LOG_I(TAG, "%s: dry run: would run the DDL: %s", sk->role, text);
        return COT_OK;
    }
    if (sk->ddl == SINK_DDL_STOP && !ck->internal)
        return cot_err_set(COT_ERR_SCHEMA,
                           "%s: pipeline %s stops at a DDL from the source (ddl: stop): %s; apply "
                           "it on the target yourself, then set ddl: ignore for one restart, or "
                           "ddl: apply",
                           sk->role, sk->pipeline, text);

    ddl_info info;
    ddl_dialect dl; /* the text keeps the source session's quoting and bytes */
    ddl_dialect_of(&dl, &ck->ddl_session);
    cot_err rc = ddl_parse_dl(ddl, len, ck->ddl_schema, &dl, &info);
    if (rc) {
        cot_err_prefix("%s: ", sk->role);
        return rc;
    }
    if (info.kind == DDL_NOT_OURS) {
        LOG_I(TAG, "%s: DDL not about tables, not applied (%s): %s", sk->role, info.note, text);
        return COT_OK;
    }
    if (sk->batch.inserts || sk->batch.updates || sk->batch.deletes)
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "%s: internal error: a DDL arrived in a batch with uncommitted rows; "
                           "it would commit them without their position: %s",
                           sk->role, text);

    MYSQL *dm;
    rc = sink__ddl_conn(sk, &dm);
    if (rc) return rc;
    /* run under the source session's sql_mode and client charset, so that
     * it means here what it meant there; then back to the sink's own. And
     * with autocommit on (a DDL commits anyway): under autocommit=0, MariaDB
     * 10.11's EXCHANGE PARTITION waits for a row lock it holds itself */
    buf set;
    buf_init(&set);
    bool as_source = ddl_session_sql(&ck->ddl_session, &set);
    buf_puts(&set, as_source ? ", SESSION autocommit=1" : "SET SESSION autocommit=1");
    unsigned int errnum = sink__ddl_run(dm, set.data, set.len);
    buf_deinit(&set);
    if (errnum == 0) errnum = sink__ddl_run(dm, ddl, len);
    char server_msg[512], sqlstate[8];
    snprintf(server_msg, sizeof(server_msg), "%s", mysql_error(dm));
    snprintf(sqlstate, sizeof(sqlstate), "%s", mysql_sqlstate(dm));
    if (dm == sk->my) {
        unsigned int back = sink__ddl_run(dm, session_sql, sizeof(session_sql) - 1);
        if (back && !errnum) {
            errnum = back;
            snprintf(server_msg, sizeof(server_msg), "restoring the session after it: %s",
                     mysql_error(dm));
            snprintf(sqlstate, sizeof(sqlstate), "%s", mysql_sqlstate(dm));
        }
    }
    if (errnum == 0) {
        sink__ddl_release(sk, dm);
        LOG_I(TAG, "%s: applied DDL: %s", sk->role, text);
        return COT_OK;
    }
    sink__ddl_release(sk, dm);
    cot_err err = mysql_conn_classify(errnum);
    if (err != COT_ERR_NET && err != COT_ERR_SQL_RETRY && err != COT_ERR_AUTH) {
        if (sink__ddl_done(sk, &info, errnum, rerun)) {
            LOG_W(TAG, "%s: DDL looks already applied on the target (%s, errno %u), going on: %s",
                  sk->role, server_msg, errnum, text);
            return COT_OK;
        }
        err = COT_ERR_SCHEMA; /* the target must be fixed: the pipeline retries slowly */
    }
    const char *hint =
        err == COT_ERR_SCHEMA
            ? "; make the target able to take it (or apply an equivalent change yourself and "
              "restart with ddl: ignore once); cotter retries it"
        : err == COT_ERR_AUTH ? "; the target user needs ALTER, CREATE, DROP and INDEX on the "
                                "mapped schemas"
                              : "";
    cot_err_set(err, "%s: DDL failed: %s (errno %u, SQLSTATE %s, %s, %s)%s; statement: %s",
                sk->role, server_msg, errnum, sqlstate, cot_err_name(err),
                mysql_conn_class_word(err), hint, text);
    return sink__fail_net_check(sk, err);
}

/* sink__count counts one applied change of the open batch. */
static void sink__count(sink_mysql *sk, uint8_t op)
{
    if (op == OP_INSERT)
        sk->batch.inserts++;
    else if (op == OP_UPDATE)
        sk->batch.updates++;
    else
        sk->batch.deletes++;
}

static cot_err sink__policies(sink_mysql *sk, sql_tdesc *td, const cot_change *ch,
                              const cot_pos *where, const cot_change **use, bool *apply);

/* sink__fk_checks makes the packet switch the session's foreign_key_checks
 * on or off, unless the session has them so already. On only for the
 * changes that set off a cascading foreign key of the target
 * (sink_mysql_fk.h), so the target's own cascade runs; everything else is
 * applied with the checks off. */
static void sink__fk_checks(sink_mysql *sk, bool on)
{
    if (sk->fk_state == (on ? 1 : 0)) return;
    sql_builder_add_session(&sk->sb, on ? "SET foreign_key_checks=1" : "SET foreign_key_checks=0");
    sk->fk_state = on ? 1 : 0;
}

/* sink__apply_one applies change ch of ck through the policies and the
 * statement builder. */
static cot_err sink__apply_one(sink_mysql *sk, sql_tdesc *td, const cot_chunk *ck,
                               const cot_change *ch)
{
    static const cot_pos no_pos; /* a chunk inside a transaction has no position */
    const cot_change *use;
    bool apply;
    cot_err rc = sink__policies(sk, td, ch, ck->tx_end ? &ck->end_pos : &no_pos, &use, &apply);
    if (rc || !apply) return rc;
    sink__fk_checks(sk, sink_fk_cascades(td, use));
    rc = sql_builder_add(&sk->sb, td, use);
    if (rc) return rc;
    sink__count(sk, ch->op);
    return sql_builder_ready(&sk->sb) ? sink__send(sk) : COT_OK;
}

/* sink__bulk_send loads the n rows of sk->bulk into td inside a savepoint.
 * *fallback (nothing loaded) when the target refuses LOAD DATA LOCAL, or
 * when the load gave warnings: the server turns a value it cannot store
 * into a warning under LOCAL, so those rows go again as INSERT, where
 * strict mode makes it an error with the row named. */
static cot_err sink__bulk_send(sink_mysql *sk, const sql_tdesc *td, uint32_t n, bool *fallback)
{
    *fallback = false;
    static const char sp[] = "SAVEPOINT cotter_bulk";
    static const char back[] = "ROLLBACK TO SAVEPOINT cotter_bulk";
    buf *q = &sk->q;
    buf_reset(q);
    sql_bulk_statement(q, td);
    sk->bulk_sent = 0;
    if (mysql_real_query(sk->my, sp, sizeof(sp) - 1) == 0 &&
        mysql_real_query(sk->my, q->data, (unsigned long)q->len) == 0) {
        unsigned int warnings = mysql_warning_count(sk->my);
        sk->batch.statements++;
        if (warnings == 0) return COT_OK;
        MYSQL_RES *res = NULL;
        MYSQL_ROW row = NULL; /* the first warning, only for the debug line */
        if (log_enabled(LOG_DEBUG) && mysql_real_query(sk->my, "SHOW WARNINGS LIMIT 1", 21) == 0)
            res = mysql_store_result(sk->my);
        if (res) row = mysql_fetch_row(res);
        LOG_D(TAG,
              "%s: LOAD DATA of %u rows into %s.%s gave %u warning%s (%s); sending them as "
              "INSERT",
              sk->role, n, td->schema, td->name, warnings, warnings == 1 ? "" : "s",
              row && row[2] ? row[2] : "?");
        if (res) mysql_free_result(res);
        if (mysql_real_query(sk->my, back, sizeof(back) - 1) != 0)
            return sink__fail_net_check(
                sk, mysql_conn_error(sk->my, "%s: rolling back a LOAD DATA that gave warnings",
                                     sk->role));
        *fallback = true;
        return COT_OK;
    }
    unsigned int errnum = mysql_errno(sk->my);
    /* ER_NOT_ALLOWED_COMMAND (local_infile=OFF), ER_CLIENT_LOCAL_FILES_DISABLED, and
     * MariaDB's ER_LOAD_INFILE_CAPABILITY_DISABLED: the statement did nothing */
    if (errnum == 1148 || errnum == 3948 || errnum == 4166) {
        LOG_I(TAG,
              "%s: the target does not take LOAD DATA LOCAL (%s); sending bulk rows as "
              "multi-row INSERT (set local_infile=ON on the target for faster initial loads)",
              sk->role, mysql_error(sk->my));
        sk->no_bulk = true;
        *fallback = true;
        return COT_OK;
    }
    cot_err err = mysql_conn_classify(errnum);
    cot_err_set(err,
                "%s: LOAD DATA of %u rows into %s.%s failed: %s (errno %u, SQLSTATE %s, %s, %s)",
                sk->role, n, td->schema, td->name, mysql_error(sk->my), errnum,
                mysql_sqlstate(sk->my), cot_err_name(err), mysql_conn_class_word(err));
    if (err == COT_ERR_SCHEMA) sink__cache_evict_all(sk);
    return sink__fail_net_check(sk, err);
}

/* sink__bulk applies upserts ck->changes[from, to) (whole rows of one
 * table) as LOAD DATA ... REPLACE, in pieces of BULK_MAX_BYTES; a row that
 * cannot travel as text, and a piece the target would not take, go through
 * the statement builder instead. */
static cot_err sink__bulk(sink_mysql *sk, sql_tdesc *td, const cot_chunk *ck, uint32_t from,
                          uint32_t to)
{
    sink__fk_checks(sk, false);
    cot_err rc = sink__send(sk); /* what came before these rows goes first */
    for (uint32_t i = from; !rc && i < to;) {
        buf_reset(&sk->bulk);
        uint32_t start = i;
        while (i < to && sk->bulk.len < BULK_MAX_BYTES &&
               sink_conv_same(sk->cv, td, &ck->changes[i]) &&
               sql_bulk_row(&sk->bulk, td, ck->changes[i].after))
            i++;
        if (i == start) { /* a value to convert, or one text cannot carry */
            rc = sink__apply_one(sk, td, ck, &ck->changes[i++]);
            continue;
        }
        bool fallback = sk->no_bulk;
        if (!fallback) rc = sink__bulk_send(sk, td, i - start, &fallback);
        /* every row of the piece converts to itself and the table has no conflict
         * policy: the builder takes them as they are */
        for (uint32_t k = start; k < i && !rc; k++) {
            if (fallback) rc = sql_builder_add(&sk->sb, td, &ck->changes[k]);
            if (!rc) sink__count(sk, OP_INSERT);
            if (!rc && fallback && sql_builder_ready(&sk->sb)) rc = sink__send(sk);
        }
    }
    buf_reset(&sk->bulk);
    return rc;
}

/* sink__bulk_run looks at change i of ck: true when it starts a run of at
 * least bulk_rows whole-row upserts of one table that may go as LOAD DATA,
 * ending at *end. Otherwise *end ends what goes through the builder: the
 * change alone, or a run too short (not looked at again). */
static bool sink__bulk_run(sink_mysql *sk, sql_tdesc *td, const cot_chunk *ck, uint32_t i,
                           uint32_t *end)
{
    const cot_change *ch = &ck->changes[i];
    *end = i + 1;
    if (sk->no_bulk || sk->dry_run || ch->op != OP_INSERT || !ch->after ||
        ck->n_changes - i < sk->bulk_rows || !sql_tdesc_bulk_ok(td) ||
        sink_conv_policy_of(sk->cv, td))
        return false;
    uint32_t j = i + 1;
    while (j < ck->n_changes && ck->changes[j].op == OP_INSERT && ck->changes[j].tbl == ch->tbl &&
           ck->changes[j].after)
        j++;
    *end = j;
    return j - i >= sk->bulk_rows;
}

static cot_err sink_mysql_apply(sink *base, const cot_chunk *ck)
{
    sink_mysql *sk = (sink_mysql *)base;
    if (sk->broken) return sink__broken_err(sk);
    cot_err rc;
    switch (ck->kind) {
    case CK_EMPTY:
        return COT_OK;
    case CK_DDL:
        /* Send what the packet names, then forget every description: the DDL may
         * have changed any table. */
        sink__fk_checks(sk, false);
        rc = sink__send(sk);
        if (rc) return rc;
        rc = sink__ddl(sk, ck);
        sink__cache_evict_all(sk);
        sink__dead_free(sk);
        return rc;
    case CK_ROWS:
        if (ck->n_changes) sk->may_rerun = false;
        break;
    default:
        return cot_err_set(COT_ERR_UNSUPPORTED, "%s: unknown chunk kind %u", sk->role,
                           (unsigned)ck->kind);
    }
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        const cot_change *ch = &ck->changes[i];
        sql_tdesc *td;
        rc = sink__table(sk, ch->tbl, &td);
        if (rc) return rc;
        uint32_t end;
        if (sink__bulk_run(sk, td, ck, i, &end))
            rc = sink__bulk(sk, td, ck, i, end);
        else
            for (uint32_t k = i; k < end && !rc; k++)
                rc = sink__apply_one(sk, td, ck, &ck->changes[k]);
        if (rc) return rc;
        i = end - 1;
    }
    return COT_OK;
}

static const char dead_letters_ddl[] =
    "CREATE TABLE IF NOT EXISTS `cotter`.`dead_letters` ("
    "id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    "pipeline VARCHAR(191) NOT NULL,"
    "binlog_file VARCHAR(255) NOT NULL,"
    "binlog_pos BIGINT UNSIGNED NOT NULL,"
    "gtid VARCHAR(255) NOT NULL,"
    "source_table VARCHAR(400) NOT NULL,"
    "target_table VARCHAR(400) NOT NULL,"
    "op VARCHAR(8) NOT NULL,"
    "error TEXT NOT NULL,"
    "row_image LONGTEXT NOT NULL,"
    "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
    "KEY (pipeline, id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/* sink__row_text renders a change's images as "col=literal, ..." for the
 * dead-letter table (before -> after for an UPDATE). */
static void sink__row_text(buf *out, const cot_change *ch)
{
    const cot_table *tbl = ch->tbl;
    for (int side = 0; side < 2; side++) {
        const cot_value *img = side == 0 ? ch->before : ch->after;
        if (!img) continue;
        if (side == 1 && ch->before) buf_puts(out, " -> ");
        for (uint32_t i = 0; i < tbl->n_cols; i++) {
            if (img[i].kind == VK_ABSENT) continue;
            if (out->len && out->data[out->len - 1] != ' ') buf_puts(out, ", ");
            buf_puts(out, tbl->cols[i].name ? tbl->cols[i].name : "?");
            buf_putc(out, '=');
            if (sql_render_value(out, &img[i], &tbl->cols[i], false, false) != COT_OK)
                buf_puts(out, "(unrenderable)");
            if (out->len > (1u << 20)) return; /* a dead letter is for people to read */
        }
    }
}

/* sink__dead_letter records a refused change in the open transaction. */
static cot_err sink__dead_letter(sink_mysql *sk, const cot_change *ch, const cot_pos *where,
                                 const char *error)
{
    cot_err rc = COT_OK;
    if (!sk->dl_ready) /* a CREATE commits the open transaction: done at open when it can */
        rc = mysql_conn_exec(sk->my, sk->role, dead_letters_ddl, sizeof(dead_letters_ddl) - 1);
    if (rc) return sink__fail_net_check(sk, rc);
    buf row, q;
    buf_init(&row);
    buf_init(&q);
    sink__row_text(&row, ch);
    char src[400], dst[400];
    snprintf(src, sizeof(src), "%s.%s", ch->tbl->src_schema, ch->tbl->src_name);
    snprintf(dst, sizeof(dst), "%s.%s", ch->tbl->schema, ch->tbl->name);
    buf_puts(&q, "INSERT INTO `cotter`.`dead_letters` (pipeline, binlog_file, binlog_pos, gtid, "
                 "source_table, target_table, op, error, row_image) VALUES (");
    sink__put_string(sk, &q, sk->pipeline);
    buf_putc(&q, ',');
    sink__put_string(sk, &q, where->file);
    buf_printf(&q, ",%llu,", (unsigned long long)where->pos);
    sink__put_string(sk, &q, where->gtid);
    buf_putc(&q, ',');
    sink__put_string(sk, &q, src);
    buf_putc(&q, ',');
    sink__put_string(sk, &q, dst);
    buf_putc(&q, ',');
    sink__put_string(sk, &q, cot_op_name((cot_op)ch->op));
    buf_putc(&q, ',');
    sink__put_string(sk, &q, error);
    buf_putc(&q, ',');
    sink__put_string(sk, &q, row.data ? row.data : "");
    buf_putc(&q, ')');
    rc = mysql_conn_exec(sk->my, sk->role, q.data, q.len);
    buf_deinit(&row);
    buf_deinit(&q);
    return rc ? sink__fail_net_check(sk, rc) : COT_OK;
}

/* sink__policy_tables creates cotter.dead_letters and cotter.conflicts at
 * open (outside any batch) for pipelines whose mappings write to them. */
static cot_err sink__policy_tables(sink_mysql *sk)
{
    cot_err rc = mysql_conn_exec(sk->my, sk->role, dead_letters_ddl, sizeof(dead_letters_ddl) - 1);
    if (!rc) rc = sink_conflict_prepare(sk->my, sk->role);
    if (rc) return sink__fail_net_check(sk, rc);
    sk->dl_ready = true;
    return COT_OK;
}

/* sink__policies applies td's on_overflow and conflict policies to ch:
 * *use is the change to build (ch, or a converted copy valid until the
 * next call); *apply is false when the row was taken out: written to
 * cotter.dead_letters (skip_row) or lost to the target row (a conflict,
 * written to cotter.conflicts), both in the batch's transaction. */
static cot_err sink__policies(sink_mysql *sk, sql_tdesc *td, const cot_change *ch,
                              const cot_pos *where, const cot_change **use, bool *apply)
{
    char reason[1536];
    bool skip;
    *apply = true;
    cot_err rc = sink_conv_change(sk->cv, td, ch, use, &skip, reason, sizeof(reason));
    if (rc) return rc;
    if (skip) {
        *apply = false;
        LOG_W(TAG, "%s; kept in cotter.dead_letters", reason);
        return sk->dry_run ? COT_OK : sink__dead_letter(sk, ch, where, reason);
    }
    const sink_conv_policy *pol = sink_conv_policy_of(sk->cv, td);
    if (!pol || sk->dry_run) return COT_OK;
    rc = sink__send(sk); /* the check must see the batch's earlier changes */
    if (!rc)
        rc = sink__fail_net_check(
            sk, sink_conflict_resolve(sk->cv, sk->my, sk->role, pol, td, *use, where, apply));
    return rc;
}

static cot_err sink_mysql_apply_isolated(sink *base, const cot_chunk *ck, const cot_pos *where,
                                         uint64_t *skipped)
{
    sink_mysql *sk = (sink_mysql *)base;
    if (sk->broken) return sink__broken_err(sk);
    if (ck->kind != CK_ROWS) return sink_mysql_apply(base, ck);
    cot_err rc = sink__send(sk);
    if (rc) return rc;
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        const cot_change *ch = &ck->changes[i];
        sql_tdesc *td;
        if ((rc = sink__table(sk, ch->tbl, &td))) return rc;
        rc = mysql_conn_exec_str(sk->my, sk->role, "SAVEPOINT cotter_row");
        if (rc) return sink__fail_net_check(sk, rc);
        const cot_change *use;
        bool apply;
        rc = sink__policies(sk, td, ch, where, &use, &apply);
        if (!rc && !apply) continue;
        if (!rc) sink__fk_checks(sk, sink_fk_cascades(td, use));
        if (!rc) rc = sql_builder_add(&sk->sb, td, use);
        if (!rc) rc = sink__send(sk);
        if (rc == COT_OK) {
            sink__count(sk, ch->op);
            continue;
        }
        if (rc != COT_ERR_SQL || sk->broken) return rc;
        char error[2048];
        snprintf(error, sizeof(error), "%s", cot_err_msg());
        sql_builder_clear(&sk->sb);
        rc = mysql_conn_exec_str(sk->my, sk->role, "ROLLBACK TO SAVEPOINT cotter_row");
        if (rc) return sink__fail_net_check(sk, rc);
        if ((rc = sink__dead_letter(sk, ch, where, error))) return rc;
        (*skipped)++;
        LOG_W(TAG,
              "%s: skipped a %s on %s.%s the target refuses (on_error: skip), kept in "
              "cotter.dead_letters: %s",
              sk->role, cot_op_name((cot_op)ch->op), td->schema, td->name, error);
    }
    return COT_OK;
}

static cot_err sink_mysql_table_key(sink *base, cot_table *tbl, const uint32_t **cols, uint32_t *n)
{
    sink_mysql *sk = (sink_mysql *)base;
    if (sk->broken) return sink__broken_err(sk);
    sql_tdesc *td;
    cot_err rc = sink__table(sk, tbl, &td);
    if (rc) return rc;
    *cols = td->key_src;
    *n = td->n_key;
    return COT_OK;
}

static cot_err sink_mysql_change_cascades(sink *base, const cot_change *ch, bool *yes)
{
    sink_mysql *sk = (sink_mysql *)base;
    *yes = false;
    if (sk->broken) return sink__broken_err(sk);
    sql_tdesc *td;
    cot_err rc = sink__table(sk, ch->tbl, &td);
    if (rc) return rc;
    *yes = sink_fk_cascades(td, ch);
    return COT_OK;
}

static cot_err sink_mysql_batch_commit_rows(sink *base, const uint32_t *index, const cot_pos *pos,
                                            uint32_t n, uint32_t prune_from, uint32_t prune_to,
                                            uint32_t ts)
{
    sink_mysql *sk = (sink_mysql *)base;
    if (sk->broken) return sink__broken_err(sk);
    sql_builder_add_commit(&sk->sb, sk->pipeline, index, pos, n, prune_from, prune_to, ts);
    cot_err rc = sink__send(sk);
    if (rc) return rc;
    sk->stats.inserts += sk->batch.inserts;
    sk->stats.updates += sk->batch.updates;
    sk->stats.deletes += sk->batch.deletes;
    sk->stats.statements += sk->batch.statements;
    sk->stats.batches++;
    memset(&sk->batch, 0, sizeof(sk->batch));
    sink_conv_batch_end(sk->cv, true);
    sk->in_batch = false;
    return COT_OK;
}

static cot_err sink_mysql_batch_commit(sink *base, const cot_pos *pos, uint32_t ts)
{
    sink_mysql *sk = (sink_mysql *)base;
    return sink_mysql_batch_commit_rows(base, &sk->position_row, pos, 1, 0, 0, ts);
}

/* sink_mysql_positions_load reads the rows "PIPELINE" and "PIPELINE#k". */
/* sink__positions_read reads the position rows once (see positions_load)
 * and ends the read's transaction. */
static cot_err sink__positions_read(sink_mysql *sk, cot_pos *pos, bool *have, uint32_t cap,
                                    uint32_t *n)
{
    *n = 0;
    for (uint32_t k = 0; k < cap; k++) {
        memset(&pos[k], 0, sizeof(pos[k]));
        have[k] = false;
    }
    size_t plen = strlen(sk->pipeline);
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s#", sk->pipeline);
    buf *q = &sk->q;
    buf_reset(q);
    buf_puts(q, "SELECT pipeline, binlog_file, binlog_pos, gtid FROM `cotter`.`positions` "
                "WHERE pipeline=");
    sink__put_string(sk, q, sk->pipeline);
    buf_printf(q, " OR LEFT(pipeline,%zu)=", plen + 1);
    sink__put_string(sk, q, prefix);
    MYSQL_RES *res;
    cot_err rc = sink__query(sk, "reading the positions from cotter.positions", &res);
    if (rc) return rc;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2] || !row[3]) continue;
        uint32_t k = 0;
        if (strcmp(row[0], sk->pipeline) != 0) {
            char *end = NULL;
            errno = 0;
            unsigned long v = strtoul(row[0] + plen + 1, &end, 10);
            if (errno || !end || *end || v == 0 || v > 100000) continue; /* not a worker row */
            k = (uint32_t)v;
        }
        char *end = NULL;
        errno = 0;
        unsigned long long p = strtoull(row[2], &end, 10);
        if (errno || *end || strlen(row[1]) >= sizeof(pos->file) ||
            strlen(row[3]) >= sizeof(pos->gtid)) {
            mysql_free_result(res);
            return cot_err_set(COT_ERR_MALFORMED,
                               "%s: the row %s in cotter.positions is not a position cotter "
                               "wrote (file '%.64s', pos '%.32s'); fix or delete it",
                               sk->role, row[0], row[1], row[2]);
        }
        if (k + 1 > *n) *n = k + 1;
        if (k >= cap) continue;
        snprintf(pos[k].file, sizeof(pos[k].file), "%s", row[1]);
        snprintf(pos[k].gtid, sizeof(pos[k].gtid), "%s", row[3]);
        pos[k].pos = p;
        have[k] = true;
    }
    mysql_free_result(res);
    return sink__fail_net_check(sk, mysql_conn_exec_str(sk->my, sk->role, "ROLLBACK"));
}

static cot_err sink_mysql_positions_load(sink *base, cot_pos *pos, bool *have, uint32_t cap,
                                         uint32_t *n)
{
    sink_mysql *sk = (sink_mysql *)base;
    if (sk->broken) return sink__broken_err(sk);
    cot_err rc = sink__positions_read(sk, pos, have, cap, n);
    if (rc || *n <= 1 || sk->dry_run) {
        if (!rc) sk->may_rerun = true;
        return rc;
    }
    /* parallel workers wrote these rows: one of a killed cotter may still be
     * committing its last packet; wait until each worker lock is free, then
     * read again (the main connection's own lock was taken at open) */
    for (uint32_t k = 0; k < *n && k < PAR_WORKER_LOCKS; k++) {
        char name[80];
        sink__lock_name(sk->pipeline, true, k, name, sizeof(name));
        rc = sink__lock(sk, name, true);
        if (rc) return rc;
    }
    rc = sink__positions_read(sk, pos, have, cap, n);
    if (!rc) sk->may_rerun = true;
    return rc;
}

static void sink_mysql_forget_tables(sink *base)
{
    sink_mysql *sk = (sink_mysql *)base;
    sink__cache_evict_all(sk);
}

static void sink_mysql_batch_abort(sink *base)
{
    sink_mysql *sk = (sink_mysql *)base;
    sql_builder_clear(&sk->sb);
    sink__dead_free(sk);
    memset(&sk->batch, 0, sizeof(sk->batch));
    if (sk->cv) sink_conv_batch_end(sk->cv, false);
    sk->in_batch = false;
    sk->fk_state = -1; /* the packet dropped may have switched them */
    if (sk->broken || !sk->my) return;
    if (mysql_real_query(sk->my, "ROLLBACK", 8) != 0 &&
        mysql_conn_classify(mysql_errno(sk->my)) == COT_ERR_NET)
        sk->broken = true;
}

static void sink_mysql_stats(sink *base, sink_stats *out)
{
    sink_mysql *sk = (sink_mysql *)base;
    *out = sk->stats;
}

static void sink_mysql_close(sink *base)
{
    sink_mysql *sk = (sink_mysql *)base;
    if (!sk) return;
    /* Closing the connection rolls back an open batch on the server. */
    mysql_conn_close(sk->my);
    sk->my = NULL;
    for (uint32_t i = 0; i < sk->n_buckets; i++) {
        while (sk->buckets[i]) {
            sql_tdesc *td = sk->buckets[i];
            sk->buckets[i] = td->next;
            sql_tdesc_free(td);
        }
    }
    free(sk->buckets);
    sink__dead_free(sk);
    sql_builder_deinit(&sk->sb);
    sink_conv_free(sk->cv);
    buf_deinit(&sk->q);
    buf_deinit(&sk->bulk);
    free(sk->name);
    free(sk->pipeline);
    free(sk->user);
    free(sk);
}

const sink_ops sink_mysql_ops = {
    .scheme = "mysql",
    .open = sink_mysql_open,
    .position_load = sink_mysql_position_load,
    .batch_begin = sink_mysql_batch_begin,
    .apply = sink_mysql_apply,
    .batch_commit = sink_mysql_batch_commit,
    .table_key = sink_mysql_table_key,
    .change_cascades = sink_mysql_change_cascades,
    .apply_isolated = sink_mysql_apply_isolated,
    .positions_load = sink_mysql_positions_load,
    .batch_commit_rows = sink_mysql_batch_commit_rows,
    .forget_tables = sink_mysql_forget_tables,
    .batch_abort = sink_mysql_batch_abort,
    .stats = sink_mysql_stats,
    .close = sink_mysql_close,
};
