/*
 * DDL rewriting: finds every table a DDL statement from the source names,
 * routes each through the pipeline's mapping and produces the statement for
 * the target with those names replaced (always as `schema`.`table`), the
 * rest of the text byte-exact. Says "not ours" for statements that are not
 * about tables of the mapping and refuses, with a message, what it cannot
 * follow safely (CREATE TABLE ... SELECT, a statement of which only some
 * tables are mapped, several statements in one).
 *
 * Pure: no I/O, no globals; any thread. Bounded: one pass over the text
 * with constant lookahead, so time is linear in the statement's length,
 * and every read is bounds-checked (fuzzed).
 */
#ifndef COT_DDL_REWRITE_H
#define COT_DDL_REWRITE_H

#include "event/event.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A table name (schema or table) in bytes, with its NUL. */
#define DDL_NAME_CAP 256
/* How many of a statement's tables ddl_info lists (n_tables counts all). */
#define DDL_INFO_TABLES 8

/* ddl_route_fn has the shape of binlog_route_fn: decides whether
 * schema.table belongs to the mapping and under which target name; returns
 * false for a table the pipeline does not copy. */
typedef bool (*ddl_route_fn)(void *ctx, const char *schema, const char *table, char *out_schema,
                             size_t schema_cap, char *out_table, size_t table_cap);

typedef enum ddl_kind {
    DDL_NOT_OURS = 0, /* no table of the mapping (or not a table statement): skip it */
    DDL_REWRITTEN,    /* out holds the statement for the target */
} ddl_kind;

typedef enum ddl_stmt {
    DDL_STMT_OTHER = 0,         /* not a statement about tables (GRANT, CREATE VIEW, ...) */
    DDL_STMT_CREATE_TABLE,      /* CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t (...) */
    DDL_STMT_CREATE_TABLE_LIKE, /* CREATE TABLE t LIKE u */
    DDL_STMT_ALTER_TABLE,       /* ALTER [ONLINE] [IGNORE] TABLE t ... */
    DDL_STMT_DROP_TABLE,        /* DROP TABLE [IF EXISTS] a, b */
    DDL_STMT_RENAME_TABLE,      /* RENAME TABLE a TO b [, c TO d] */
    DDL_STMT_TRUNCATE,          /* TRUNCATE [TABLE] t */
    DDL_STMT_CREATE_INDEX,      /* CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX i ON t (...) */
    DDL_STMT_DROP_INDEX,        /* DROP INDEX i ON t */
} ddl_stmt;

/* What the clauses of an ALTER TABLE do (ddl_info.alter_ops bits). */
enum {
    DDL_ALTER_ADD = 1u << 0,          /* ADD COLUMN / INDEX / KEY / CONSTRAINT / ... */
    DDL_ALTER_DROP = 1u << 1,         /* DROP COLUMN / INDEX / KEY / FOREIGN KEY / ... */
    DDL_ALTER_RENAME = 1u << 2,       /* CHANGE, RENAME COLUMN / INDEX / KEY */
    DDL_ALTER_MODIFY = 1u << 3,       /* MODIFY, ALTER COLUMN */
    DDL_ALTER_RENAME_TABLE = 1u << 4, /* RENAME [TO|AS] u */
    DDL_ALTER_OTHER = 1u << 5,        /* table options, partitions, FORCE, ... */
};

/* What a name is to its statement. */
typedef enum ddl_role {
    DDL_ROLE_SUBJECT = 0, /* the table created / altered / dropped / truncated / indexed */
    DDL_ROLE_RENAME_FROM, /* RENAME TABLE a TO ...; pairs are listed in order */
    DDL_ROLE_RENAME_TO,   /* ... TO b, or ALTER TABLE t RENAME TO b */
    DDL_ROLE_LIKE,        /* CREATE TABLE t LIKE u */
    DDL_ROLE_REFERENCE,   /* REFERENCES u, EXCHANGE PARTITION ... WITH TABLE u, UNION=(u) */
} ddl_role;

typedef struct ddl_table {
    uint8_t role; /* ddl_role */
    char src_schema[DDL_NAME_CAP];
    char src_name[DDL_NAME_CAP];
    char dst_schema[DDL_NAME_CAP]; /* the target's name (valid for DDL_REWRITTEN) */
    char dst_name[DDL_NAME_CAP];
} ddl_table;

typedef struct ddl_info {
    ddl_kind kind;
    ddl_stmt stmt;
    bool if_exists;     /* DROP ... IF EXISTS, ALTER TABLE IF EXISTS, RENAME TABLE IF EXISTS */
    bool if_not_exists; /* CREATE ... IF NOT EXISTS */
    bool or_replace;    /* CREATE OR REPLACE */
    uint32_t alter_ops; /* ALTER TABLE: DDL_ALTER_* bits of its clauses */
    uint32_t n_clauses; /* ALTER TABLE: comma-separated clauses */
    uint32_t n_tables;  /* names in the target statement; the first DDL_INFO_TABLES are listed */
    ddl_table tables[DDL_INFO_TABLES];
    char note[256]; /* DDL_NOT_OURS: why, for the log line ("CREATE DATABASE ...") */
} ddl_info;

/* How the session that sent a statement reads SQL text (its sql_mode,
 * its client charset) and which executable comments its server runs. A
 * zeroed dialect is a MariaDB session with the default sql_mode and a
 * charset whose bytes are read one by one (utf8mb4, latin1): backslash
 * escapes, "..." strings, every executable comment run. */
typedef struct ddl_dialect {
    bool ansi_quotes;          /* sql_mode ANSI_QUOTES: "x" is a name */
    bool no_backslash_escapes; /* sql_mode NO_BACKSLASH_ESCAPES: \ is an ordinary byte */
    uint8_t mb;                /* DDL_MB_*: how multi-byte characters are read */
    bool mysql;                /* a MySQL server: slash-star-M-bang is a plain comment */
    uint32_t version;          /* server version as 101106 (10.11.6); 0 unknown: all run */
} ddl_dialect;

/* Client charsets whose multi-byte characters can have a trail byte that
 * reads as \, ' or ` on its own: read byte-wise, such a character ends a
 * string or a name too early (or escapes its closing quote). */
enum {
    DDL_MB_NONE = 0, /* every byte on its own (utf8, latin1, ...): no trail byte below 0x80 */
    DDL_MB_BIG5,     /* lead A1-F9, trail 40-7E A1-FE */
    DDL_MB_SJIS,     /* sjis and cp932: lead 81-9F E0-FC, trail 40-7E 80-FC */
    DDL_MB_GBK,      /* lead 81-FE, trail 40-7E 80-FE */
    DDL_MB_GB18030,  /* as gbk, plus four-byte 81-FE 30-39 81-FE 30-39 */
};

/* sql_mode bits as the QUERY event logs them (Q_SQL_MODE_CODE). */
#define DDL_MODE_ANSI_QUOTES          (1ull << 2)
#define DDL_MODE_NO_BACKSLASH_ESCAPES (1ull << 20)

/* ddl_dialect_init fills dl from a session's sql_mode bits, the collation
 * id of its character_set_client (0: unknown, read byte-wise) and its
 * server's version string ("10.11.6-MariaDB-log", "8.0.36"; NULL or ""
 * unknown). */
void ddl_dialect_init(ddl_dialect *dl, uint64_t sql_mode, unsigned charset_id,
                      const char *server_version);

/* ddl_dialect_of fills dl for the source session ds of a DDL chunk (NULL:
 * the zeroed dialect). */
void ddl_dialect_of(ddl_dialect *dl, const cot_ddl_session *ds);

/* ddl_session_sql writes into out (reset first) the SET statement that
 * gives a target session the sql_mode, client charset and (when the
 * statement used it: TIMESTAMP defaults) time zone of the source session
 * ds. Returns false (out empty) when ds logged none of them. */
bool ddl_session_sql(const cot_ddl_session *ds, buf *out);

/* ddl_preview writes into out (cap bytes, NUL-terminated) the statement as
 * it may be shown in a log line or an error: its first 300 bytes ("..."
 * when cut), the string after PASSWORD, IDENTIFIED BY/USING or CONNECTION
 * replaced by '***'; control bytes but newline and tab, and bytes that are
 * not UTF-8, as '?'. Returns the length written. */
size_t ddl_preview(const char *sql, size_t len, const ddl_dialect *dl, char *out, size_t cap);

/* What a logged statement is, by its first words (comments skipped,
 * executable comments read as the server read them). */
typedef enum ddl_class {
    DDL_CLASS_UNKNOWN = 0, /* no word cotter knows, or text it cannot read */
    DDL_CLASS_TABLE,       /* CREATE, ALTER, DROP, RENAME, TRUNCATE: ddl_rewrite follows it */
    DDL_CLASS_ADMIN,       /* a statement that never changes a table's rows or columns
                              (GRANT, FLUSH, ANALYZE, SET, ...) */
    DDL_CLASS_BEGIN,       /* BEGIN, START TRANSACTION */
    DDL_CLASS_COMMIT,
    DDL_CLASS_ROLLBACK, /* ROLLBACK (not ROLLBACK TO) */
    DDL_CLASS_TX_OTHER, /* SAVEPOINT, RELEASE, ROLLBACK TO, XA ... */
} ddl_class;

/* ddl_classify says what the statement sql (len bytes) is; dl NULL is the
 * zeroed dialect. */
ddl_class ddl_classify(const char *sql, size_t len, const ddl_dialect *dl);

/* ddl_rewrite reads the DDL statement sql (len bytes, not NUL-terminated;
 * default_schema is the statement's default database, "" or NULL if none)
 * and routes every table it names through route(ctx, ...). Returns COT_OK
 * with info->kind:
 *   DDL_NOT_OURS  - not about tables of the mapping (info->note says why);
 *   DDL_REWRITTEN - every named table is mapped; out (reset first) holds
 *                   the statement for the target, names replaced.
 * Returns COT_ERR_UNSUPPORTED with a message (statement, reason, what to
 * do) for what cannot be followed safely. The router decides for every
 * table, shadows included, so DDL and rows always agree; the one leniency:
 * gh-ost's changelog (_X_ghc) in a DROP TABLE list, when the router skips
 * it, is left out of the target's statement instead of refusing it. out
 * and info are the caller's. */
cot_err ddl_rewrite(const char *sql, size_t len, const char *default_schema, ddl_route_fn route,
                    void *ctx, buf *out, ddl_info *info);

/* ddl_rewrite_dl is ddl_rewrite for a statement sent by a session of
 * dialect dl (NULL: the zeroed dialect). The text is read as that session
 * read it; the output keeps its bytes, so it must be run under the same
 * sql_mode and client charset. A statement cotter does not know that names
 * a table of the mapping (schema.table) is refused, never skipped. */
cot_err ddl_rewrite_dl(const char *sql, size_t len, const char *default_schema,
                       const ddl_dialect *dl, ddl_route_fn route, void *ctx, buf *out,
                       ddl_info *info);

/* ddl_parse fills info for a statement as it stands (every table maps to
 * itself, no output): what the sink uses to judge a statement it runs. */
cot_err ddl_parse(const char *sql, size_t len, const char *default_schema, ddl_info *info);
/* ddl_parse_dl is ddl_parse for a session of dialect dl (NULL: zeroed). */
cot_err ddl_parse_dl(const char *sql, size_t len, const char *default_schema, const ddl_dialect *dl,
                     ddl_info *info);

/* ddl_shadow_base recognises the shadow tables of online schema change
 * tools: gh-ost's _X_gho (ghost), _X_ghc (changelog), _X_del and
 * _X_<14 digits>_del (old table), pt-online-schema-change's _X_new and
 * _X_old. Returns true and writes X into base (cap bytes) when table is one;
 * the shadow is then "_" + X + the rest of table after X, so a router can
 * rename X and re-add the same affixes. False for other names or when X
 * does not fit. */
bool ddl_shadow_base(const char *table, char *base, size_t cap);

/* ddl_shadow_is_changelog says whether table is gh-ost's changelog (_X_ghc).
 * A router should skip it: its rows are only the tool's heartbeats. */
bool ddl_shadow_is_changelog(const char *table);

#endif
