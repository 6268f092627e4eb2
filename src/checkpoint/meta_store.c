/*
 * SQLite-backed meta store. Owns one connection and two prepared
 * statements; a mutex serialises callers (several pipeline threads).
 * Schema: meta_schema(version) with one row, positions keyed by
 * pipeline name, and (v2) history: the console's samples keyed by
 * pipeline and second, pruned by age by the manager's sampler. WAL with
 * synchronous=NORMAL: a crash may lose the last copies, which is fine for
 * a display copy (the target holds the truth).
 */
#include "checkpoint/meta_store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct meta_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *save;
    sqlite3_stmt *load;
    pthread_mutex_t mu;
};

static const char schema_v1[] = "CREATE TABLE IF NOT EXISTS positions ("
                                " pipeline TEXT PRIMARY KEY NOT NULL,"
                                " binlog_file TEXT NOT NULL,"
                                " binlog_pos INTEGER NOT NULL,"
                                " gtid TEXT NOT NULL,"
                                " source_ts INTEGER NOT NULL,"
                                " rows_applied INTEGER NOT NULL,"
                                " updated_at TEXT NOT NULL);"
                                "UPDATE meta_schema SET version = 1;";

/* v2: the console's history samples, one row per pipeline and second */
static const char schema_v2[] = "CREATE TABLE IF NOT EXISTS history ("
                                " pipeline TEXT NOT NULL,"
                                " t INTEGER NOT NULL,"
                                " state INTEGER NOT NULL,"
                                " delay_s REAL,"
                                " rows_per_s REAL NOT NULL,"
                                " inserts INTEGER NOT NULL,"
                                " updates INTEGER NOT NULL,"
                                " deletes INTEGER NOT NULL,"
                                " transactions INTEGER NOT NULL,"
                                " queue_rows INTEGER NOT NULL,"
                                " PRIMARY KEY (pipeline, t)) WITHOUT ROWID;"
                                "CREATE INDEX IF NOT EXISTS history_t ON history (t);"
                                "UPDATE meta_schema SET version = 2;";

/* meta__err sets a COT_ERR_IO message from the database's last error. */
static cot_err meta__err(meta_store *ms, const char *what)
{
    return cot_err_set(COT_ERR_IO,
                       "meta store %s: %s failed: %s (sqlite %d); check the data_dir "
                       "is writable and the disk is not full",
                       ms->path, what, sqlite3_errmsg(ms->db), sqlite3_extended_errcode(ms->db));
}

/* meta__mkdirs creates dir and its missing parents (mode 0755). */
static cot_err meta__mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return cot_err_set(COT_ERR_CONFIG, "meta store: data_dir '%.100s' is empty or too long",
                           dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return cot_err_set(COT_ERR_IO, "meta store: cannot create directory %s: %s", path,
                               strerror(errno));
        path[i] = c;
    }
    return COT_OK;
}

/* meta__schema creates or checks the schema inside one transaction. */
static cot_err meta__schema(meta_store *ms)
{
    if (sqlite3_exec(ms->db,
                     "BEGIN IMMEDIATE;"
                     "CREATE TABLE IF NOT EXISTS meta_schema (version INTEGER NOT NULL);"
                     "INSERT INTO meta_schema (version) SELECT 0 WHERE NOT EXISTS "
                     "(SELECT 1 FROM meta_schema);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        cot_err rc = meta__err(ms, "creating the schema table");
        sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(ms->db, "SELECT MAX(version) FROM meta_schema", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    cot_err rc = COT_OK;
    if (version < 0)
        rc = meta__err(ms, "reading the schema version");
    else if (version > META_STORE_SCHEMA_VERSION)
        rc = cot_err_set(COT_ERR_UNSUPPORTED,
                         "meta store %s has schema version %d but this cotter knows up to %d: it "
                         "was written by a newer cotter; run that version or move the file away "
                         "(it only holds display copies of positions)",
                         ms->path, version, META_STORE_SCHEMA_VERSION);
    else if (version < 1 && sqlite3_exec(ms->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK)
        rc = meta__err(ms, "creating the schema");
    else if (version < 2 && sqlite3_exec(ms->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK)
        rc = meta__err(ms, "creating the history table");
    if (rc) {
        sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return meta__err(ms, "committing the schema");
    return COT_OK;
}

cot_err meta_store_open(const char *data_dir, meta_store **out)
{
    *out = NULL;
    cot_err rc = meta__mkdirs(data_dir);
    if (rc) return rc;
    meta_store *ms = calloc(1, sizeof(*ms));
    if (!ms) return cot_err_set(COT_ERR_NOMEM, "meta store: out of memory");
    size_t n = strlen(data_dir) + sizeof("/meta.db");
    ms->path = malloc(n);
    if (!ms->path) {
        free(ms);
        return cot_err_set(COT_ERR_NOMEM, "meta store: out of memory");
    }
    snprintf(ms->path, n, "%s/meta.db", data_dir);
    pthread_mutex_init(&ms->mu, NULL);

    if (sqlite3_open_v2(ms->path, &ms->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        rc = ms->db ? meta__err(ms, "opening")
                    : cot_err_set(COT_ERR_NOMEM, "meta store %s: out of memory", ms->path);
        goto fail;
    }
    sqlite3_busy_timeout(ms->db, 5000);
    /* journal_mode returns a row; sqlite3_exec discards it. */
    if (sqlite3_exec(ms->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        rc = meta__err(ms, "switching to WAL mode");
        goto fail;
    }
    rc = meta__schema(ms);
    if (rc) goto fail;
    if (sqlite3_prepare_v2(
            ms->db,
            "INSERT INTO positions (pipeline, binlog_file, binlog_pos, gtid, "
            "source_ts, rows_applied, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
            "?7) ON CONFLICT(pipeline) DO UPDATE SET binlog_file=excluded.binlog_file,"
            " binlog_pos=excluded.binlog_pos, gtid=excluded.gtid, "
            "source_ts=excluded.source_ts, rows_applied=excluded.rows_applied, "
            "updated_at=excluded.updated_at",
            -1, &ms->save, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ms->db,
                           "SELECT binlog_file, binlog_pos, gtid, source_ts, rows_applied FROM "
                           "positions WHERE pipeline = ?1",
                           -1, &ms->load, NULL) != SQLITE_OK) {
        rc = meta__err(ms, "preparing statements");
        goto fail;
    }
    *out = ms;
    return COT_OK;
fail:
    meta_store_close(ms);
    return rc;
}

cot_err meta_store_save_position(meta_store *ms, const char *pipeline, const cot_pos *pos,
                                 uint32_t source_ts, uint64_t rows_applied)
{
    char now[96]; /* sized for the widest values gcc can imagine */
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(now, sizeof(now), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    pthread_mutex_lock(&ms->mu);
    sqlite3_stmt *st = ms->save;
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, pos->file, (int)strnlen(pos->file, sizeof(pos->file)),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)pos->pos);
    sqlite3_bind_text(st, 4, pos->gtid, (int)strnlen(pos->gtid, sizeof(pos->gtid)),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)source_ts);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)rows_applied);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    cot_err rc = step == SQLITE_DONE ? COT_OK : meta__err(ms, "saving a position");
    if (rc) cot_err_prefix("pipeline %s: ", pipeline);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

cot_err meta_store_load_position(meta_store *ms, const char *pipeline, cot_pos *pos,
                                 uint32_t *source_ts, uint64_t *rows_applied, bool *found)
{
    memset(pos, 0, sizeof(*pos));
    if (source_ts) *source_ts = 0;
    if (rows_applied) *rows_applied = 0;
    *found = false;
    pthread_mutex_lock(&ms->mu);
    sqlite3_stmt *st = ms->load;
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    cot_err rc = COT_OK;
    if (step == SQLITE_ROW) {
        const char *file = (const char *)sqlite3_column_text(st, 0);
        const char *gtid = (const char *)sqlite3_column_text(st, 2);
        snprintf(pos->file, sizeof(pos->file), "%s", file ? file : "");
        snprintf(pos->gtid, sizeof(pos->gtid), "%s", gtid ? gtid : "");
        pos->pos = (uint64_t)sqlite3_column_int64(st, 1);
        if (source_ts) *source_ts = (uint32_t)sqlite3_column_int64(st, 3);
        if (rows_applied) *rows_applied = (uint64_t)sqlite3_column_int64(st, 4);
        *found = true;
    } else if (step != SQLITE_DONE) {
        rc = meta__err(ms, "loading a position");
        cot_err_prefix("pipeline %s: ", pipeline);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

cot_err meta_store_history_add(meta_store *ms, const char *const *names, const meta_sample *samples,
                               int n)
{
    pthread_mutex_lock(&ms->mu);
    sqlite3_stmt *st = NULL;
    cot_err rc = COT_OK;
    if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = meta__err(ms, "starting a history transaction");
        goto out;
    }
    if (sqlite3_prepare_v2(ms->db,
                           "INSERT OR REPLACE INTO history (pipeline, t, state, delay_s, "
                           "rows_per_s, inserts, updates, deletes, transactions, queue_rows) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = meta__err(ms, "preparing a history insert");
        goto rollback;
    }
    for (int i = 0; i < n; i++) {
        const meta_sample *sm = &samples[i];
        sqlite3_bind_text(st, 1, names[i], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, sm->t);
        sqlite3_bind_int(st, 3, sm->state);
        if (sm->delay_s >= 0)
            sqlite3_bind_double(st, 4, sm->delay_s);
        else
            sqlite3_bind_null(st, 4);
        sqlite3_bind_double(st, 5, sm->rows_per_s);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)sm->inserts);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)sm->updates);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)sm->deletes);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)sm->transactions);
        sqlite3_bind_int64(st, 10, (sqlite3_int64)sm->queue_rows);
        int step = sqlite3_step(st);
        sqlite3_reset(st);
        if (step != SQLITE_DONE) {
            rc = meta__err(ms, "saving a history sample");
            cot_err_prefix("pipeline %s: ", names[i]);
            goto rollback;
        }
    }
    if (sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) goto out;
    rc = meta__err(ms, "committing history samples");
rollback:
    sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

cot_err meta_store_history_prune(meta_store *ms, int64_t before, int *n_deleted)
{
    if (n_deleted) *n_deleted = 0;
    pthread_mutex_lock(&ms->mu);
    sqlite3_stmt *st = NULL;
    cot_err rc = COT_OK;
    if (sqlite3_prepare_v2(ms->db, "DELETE FROM history WHERE t < ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = meta__err(ms, "preparing the history prune");
    } else {
        sqlite3_bind_int64(st, 1, before);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = meta__err(ms, "pruning old history samples");
        else if (n_deleted)
            *n_deleted = sqlite3_changes(ms->db);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

cot_err meta_store_history_read(meta_store *ms, const char *pipeline, int64_t from, int64_t step,
                                meta_sample *out, int cap, int *n)
{
    *n = 0;
    if (step < 1) step = 1;
    pthread_mutex_lock(&ms->mu);
    sqlite3_stmt *st = NULL;
    cot_err rc = COT_OK;
    /* counters only grow while cotter runs, so MAX is the bucket's last value */
    if (sqlite3_prepare_v2(ms->db,
                           "SELECT (t / ?3) * ?3 AS b, MAX(state), MAX(delay_s), AVG(rows_per_s), "
                           "MAX(inserts), MAX(updates), MAX(deletes), MAX(transactions), "
                           "MAX(queue_rows) FROM history WHERE pipeline = ?1 AND t >= ?2 "
                           "GROUP BY b ORDER BY b",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = meta__err(ms, "preparing a history read");
        goto out;
    }
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, step);
    int step_rc = SQLITE_DONE;
    while (*n < cap && (step_rc = sqlite3_step(st)) == SQLITE_ROW) {
        meta_sample *sm = &out[(*n)++];
        sm->t = sqlite3_column_int64(st, 0);
        sm->state = sqlite3_column_int(st, 1);
        sm->delay_s = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 2);
        sm->rows_per_s = sqlite3_column_double(st, 3);
        sm->inserts = (uint64_t)sqlite3_column_int64(st, 4);
        sm->updates = (uint64_t)sqlite3_column_int64(st, 5);
        sm->deletes = (uint64_t)sqlite3_column_int64(st, 6);
        sm->transactions = (uint64_t)sqlite3_column_int64(st, 7);
        sm->queue_rows = (uint64_t)sqlite3_column_int64(st, 8);
    }
    if (*n < cap && step_rc != SQLITE_DONE) {
        rc = meta__err(ms, "reading history samples");
        cot_err_prefix("pipeline %s: ", pipeline);
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

void meta_store_close(meta_store *ms)
{
    if (!ms) return;
    sqlite3_finalize(ms->save);
    sqlite3_finalize(ms->load);
    sqlite3_close(ms->db);
    pthread_mutex_destroy(&ms->mu);
    free(ms->path);
    free(ms);
}
