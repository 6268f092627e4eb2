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

/* ddl_parse fills info for a statement as it stands (every table maps to
 * itself, no output): what the sink uses to judge a statement it runs. */
cot_err ddl_parse(const char *sql, size_t len, const char *default_schema, ddl_info *info);

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
