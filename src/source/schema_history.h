/*
 * Schema history by binlog position, for sources without FULL row
 * metadata (binlog_row_metadata=NO_LOG / MINIMAL), whose TABLE_MAP events
 * carry no column names: a table's column list is recorded when cotter
 * first reads it from information_schema and after every DDL on it that
 * the stream passes, keyed by the binlog position where it became valid.
 * A TABLE_MAP then uses the version valid at its own position, so old
 * events are decoded with the shape they were written with, also when
 * cotter catches up across several ALTERs.
 *
 * How a DDL makes the next version: the previous version is created as a
 * TEMPORARY table on the source's schema connection, the DDL (names
 * pointed at it) runs on it, and the server's own description of the
 * result is the new version. The server thus interprets every ALTER
 * exactly as it did (AFTER/FIRST, CHANGE, several clauses). A DDL it
 * cannot replay (a RENAME of the table, references to other tables, no
 * privilege) records "unknown": the table then falls back to
 * information_schema with the column-count / type check.
 *
 * Crash safety: versions live in DATA_DIR/schema_history.db (SQLite,
 * synchronous=FULL) and are written before the chunk that follows them is
 * emitted, so every version a committed target position needs is on disk
 * first; a version written past the committed position is derived again,
 * identically, on replay (INSERT OR REPLACE). Select thread only.
 */
#ifndef COT_SCHEMA_HISTORY_H
#define COT_SCHEMA_HISTORY_H

#include "source/binlog_stream.h"
#include "source/schema.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct schema_history schema_history;

/* The fields of one column, as information_schema.COLUMNS gives them:
 * COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), COLLATION_NAME,
 * CHARACTER_SET_NAME, COLUMN_TYPE; the last three may be NULL. */
#define SH_FIELDS 6

/* One version of a table's columns. */
typedef struct sh_version {
    char file[128]; /* binlog position from which it is valid */
    uint64_t pos;
    bool known; /* false: unknown from here on (fall back to information_schema) */
    uint32_t n_cols;
    char **fields; /* n_cols * SH_FIELDS strings (NULL allowed), owned */
} sh_version;

/* schema_history_open opens DATA_DIR/schema_history.db and loads
 * pipeline's versions; conn (borrowed) is the source's schema connection
 * used to replay DDL. COT_ERR_IO when the file cannot be used. */
cot_err schema_history_open(const char *data_dir, const char *pipeline, MYSQL *conn,
                            schema_history **out);
void schema_history_free(schema_history *sh);

/* schema_history_attach opens the history of pipeline and hands it to sc
 * (which frees it); conn is sc's connection to the source (borrowed). On
 * failure logs a warning and leaves sc without one (then the
 * information_schema check of every TABLE_MAP applies). */
void schema_history_attach(schema_cache *sc, MYSQL *conn, const char *data_dir,
                           const char *pipeline);

/* schema_history_lookup returns the version of schema.table valid at
 * where ("file:pos"), or NULL when none starts at or before it; *later
 * (if not NULL) says whether a version starts after where. The version
 * stays valid until the next call that records. */
const sh_version *schema_history_lookup(schema_history *sh, const char *schema, const char *table,
                                        const char *where, bool *later);

/* schema_history_record stores a known version of schema.table valid from
 * where: n_cols * SH_FIELDS fields (copied). Errors are logged, the
 * history then stays in memory only for this run. */
void schema_history_record(schema_history *sh, const char *schema, const char *table,
                           const char *where, uint32_t n_cols, char *const *fields);

/* schema_history_ddl follows DDL statement sql (default schema db) seen
 * at where (sent by source session ds: it is read and replayed under that
 * session's sql_mode and charset) for the tables route takes: new versions, or "unknown" where
 * the DDL cannot be replayed. Only tables the history already tracks are
 * touched, so a FULL-metadata source costs nothing. Never fails the
 * stream (a problem becomes "unknown" with a warning). */
void schema_history_ddl(schema_cache *sc, const char *sql, size_t len, const char *db,
                        const cot_ddl_session *ds, const char *where, binlog_route_fn route,
                        void *route_ctx);

/* schema_history_pos_parse splits "file:pos"; false if it is not one. */
bool schema_history_pos_parse(const char *where, char *file, size_t cap, uint64_t *pos);
/* schema_history_pos_cmp orders binlog positions (file by length, then
 * bytes, then offset): <0, 0, >0. */
int schema_history_pos_cmp(const char *fa, uint64_t pa, const char *fb, uint64_t pb);

#endif
