/*
 * SQLite-backed meta store. Owns one connection and two prepared
 * statements; a mutex serialises callers (several pipeline threads).
 * Schema: meta_schema(version) with one row, and positions keyed by
 * pipeline name. WAL with synchronous=NORMAL: a crash may lose the last
 * copies, which is fine for a display copy (the target holds the truth).
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
