/*
 * The MySQL sink's SQL text: target table descriptions, the mapping of a
 * source table's columns onto them by name, literal rendering, and a
 * builder that turns row changes into a packet of statements separated by
 * ';' (multi-row upserts, key deletes, one-row keyless statements) that the
 * sink sends in one round trip. Pure: no I/O, so unit tests drive it with
 * hand-made tables and changes. Internal to the sink; one load thread.
 *
 * Invariants: statements in the packet are in source order; the open
 * (mergeable) statement is always the last one; a description stays alive
 * while the packet names it (the sink frees evicted ones after a send).
 */
#ifndef COT_SINK_MYSQL_SQL_H
#define COT_SINK_MYSQL_SQL_H

#include "event/event.h"
#include "sink/sink.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The MySQL sink's ops table (sink_mysql.c); the registry points at it. */
extern const sink_ops sink_mysql_ops;

typedef struct sql_col {
    char *name;     /* as the target spells it */
    char *type;     /* information_schema DATA_TYPE, lower case ("int", "json") */
    bool nullable;  /* IS_NULLABLE */
    bool generated; /* virtual or stored generated column: never written or matched */
    char *charset;  /* CHARACTER_SET_NAME of a text column, else NULL */
} sql_col;

/* Per source column flags computed by sql_tdesc_map. */
#define SQL_SRC_SKIP 0x01 /* maps to a generated column: not rendered */
#define SQL_SRC_JSON 0x02 /* target column is a native JSON column (MySQL) */

/* A target table as read from information_schema, plus its mapping from
 * the source table last applied to it. */
typedef struct sql_tdesc {
    char *schema; /* target names */
    char *name;
    uint32_t n_cols;
    uint32_t cap_cols;
    sql_col *cols;
    uint32_t n_key;     /* columns of the chosen key; 0 = no usable key */
    uint32_t *key;      /* target column indexes, in key order */
    char *key_name;     /* "PRIMARY", a UNIQUE index name, or NULL */
    cot_table *map_tbl; /* source table of the mapping (a reference is held), or NULL */
    uint32_t *map;      /* per source column: target column index */
    uint8_t *src_flags; /* per source column: SQL_SRC_* */
    uint32_t *key_src;  /* per key column: source column index */
    uint32_t n_unique;  /* unique indexes of the target (the key's among them) */
    int8_t bulk;        /* sql_tdesc_bulk_ok of the mapping: -1 not decided yet */
    /* cascading foreign keys of the target that reference this table
     * (sink_mysql_fk.h): a DELETE sets one off; per target column, an UPDATE
     * changing it does (NULL: none). With fk_on_update, an UPDATE that moves
     * the key is one UPDATE statement, never DELETE + upsert. */
    bool fk_on_delete;
    uint8_t *fk_on_update;
    struct sql_tdesc *next; /* hash chain / free list, owned by the sink */
} sql_tdesc;

/* sql_tdesc_new returns an empty description of schema.name (caller frees
 * with sql_tdesc_free). */
sql_tdesc *sql_tdesc_new(const char *schema, const char *name);
/* sql_tdesc_free drops the mapping's table reference and frees td. */
void sql_tdesc_free(sql_tdesc *td);
/* sql_tdesc_add_col appends a column (copies the strings). */
void sql_tdesc_add_col(sql_tdesc *td, const char *name, const char *type, bool nullable,
                       bool generated);
/* sql_tdesc_col_find returns the index of the column called name (ASCII
 * case-insensitive, as MySQL compares column names), or -1. */
int sql_tdesc_col_find(const sql_tdesc *td, const char *name);

/* One row of information_schema.STATISTICS for a unique index. */
typedef struct sql_index_part {
    const char *index;  /* INDEX_NAME */
    const char *column; /* COLUMN_NAME */
    unsigned seq;       /* SEQ_IN_INDEX, 1-based */
} sql_index_part;

/* sql_tdesc_pick_key chooses the key from the unique indexes' parts (in
 * the order the server listed them): PRIMARY, else the first unique index
 * whose columns are all NOT NULL, else the first unique index, else none.
 * Columns must have been added first. Returns COT_ERR_SCHEMA if an index
 * names an unknown column. */
cot_err sql_tdesc_pick_key(sql_tdesc *td, const sql_index_part *parts, size_t n_parts);

/* sql_tdesc_map maps the source table tbl onto td by column name and takes
 * a reference on tbl (dropping the previous mapping). target is the target
 * name for messages. Returns COT_ERR_SCHEMA when the source columns have no
 * names, a source column is missing on the target, or a key column of the
 * target has no source column; td keeps no mapping then. */
cot_err sql_tdesc_map(sql_tdesc *td, cot_table *tbl, const char *target);

/* sql_tdesc_set_charset records the charset of the last column added. */
void sql_tdesc_set_charset(sql_tdesc *td, const char *charset);

/* sql_tdesc_bulk_ok says whether upserts of td's mapped table may be sent
 * as LOAD DATA ... REPLACE (SQL_BULK_*) with the same effect as INSERT ...
 * ON DUPLICATE KEY UPDATE: the target's only unique index is the key
 * (REPLACE deletes every row a new one collides with), every target column
 * that is not generated gets a value (REPLACE resets the others), and every
 * value can travel as text unchanged: no BIT or geometry column, ENUM and
 * SET with known member names, no native JSON column, text in the target
 * column's own charset. Needs a mapping; cached in td->bulk. */
bool sql_tdesc_bulk_ok(sql_tdesc *td);

/* sql_bulk_row appends the mapped values of image img (of td's mapped
 * table) as one line of LOAD DATA text: tab-separated, \N for NULL, the
 * escape character backslash before tab, newline, NUL and itself. Returns
 * false (nothing appended) when a value cannot be sent that way: absent,
 * NaN or infinite, an ENUM / SET number without a member name, a decimal
 * that is not a number. */
bool sql_bulk_row(buf *out, const sql_tdesc *td, const cot_value *img);

/* sql_bulk_statement writes the LOAD DATA LOCAL statement for td whose
 * text sql_bulk_row makes (column list in the mapping's source order). */
void sql_bulk_statement(buf *out, const sql_tdesc *td);

/* sql_render_value appends v as an SQL literal for source column col.
 * in_where renders a native-JSON target column as CAST(... AS JSON) so
 * comparisons work. VK_ABSENT renders nothing. Returns COT_ERR_SQL for NaN
 * or infinite floats and COT_ERR_MALFORMED for a decimal that is not a
 * number (nothing is appended then). */
cot_err sql_render_value(buf *out, const cot_value *v, const cot_column *col, bool json_col,
                         bool in_where);

/* Kinds of statement in a packet. */
typedef enum sql_kind {
    SQL_NONE = 0,
    SQL_UPSERT,      /* INSERT ... ON DUPLICATE KEY UPDATE, mergeable */
    SQL_INSERT,      /* plain INSERT, mergeable (keyless table or NULL in the key) */
    SQL_DELETE_KEYS, /* DELETE ... WHERE key IN / OR-list, mergeable */
    SQL_UPDATE,      /* one-row UPDATE (by key, or keyless with LIMIT 1) */
    SQL_DELETE,      /* one-row keyless DELETE ... LIMIT 1 */
    SQL_POSITION,    /* the position row */
    SQL_COMMIT,
    SQL_SESSION, /* a session setting (SET foreign_key_checks) */
} sql_kind;

/* sql_kind_name returns "upsert", "insert", ... for messages. */
const char *sql_kind_name(sql_kind kind);

/* One statement of the packet, for error messages. */
typedef struct sql_stmt {
    size_t off;          /* start in the packet */
    const sql_tdesc *td; /* target table, NULL for position / commit */
    uint8_t kind;        /* sql_kind */
    uint32_t n_rows;     /* row changes it carries */
} sql_stmt;

typedef struct sql_builder {
    buf pkt;            /* statements separated by ';' */
    buf row;            /* scratch: one rendered row or WHERE */
    buf suffix;         /* tail of the open statement (ON DUPLICATE KEY UPDATE ...) */
    size_t max_bytes;   /* one statement's bound; the packet is "ready" past it */
    const char *target; /* target name, for messages (borrowed) */
    /* the open statement (the last one of the packet), if kind != SQL_NONE */
    uint8_t kind;
    const sql_tdesc *td;
    const cot_table *tbl;
    uint8_t *sig; /* per source column: rendered in this statement */
    uint8_t *row_sig;
    uint32_t cap_sig;
    sql_stmt *stmts;
    uint32_t n_stmts;
    uint32_t cap_stmts;
} sql_builder;

/* sql_builder_init prepares sb; max_bytes 0 means 1 MiB. target is borrowed. */
void sql_builder_init(sql_builder *sb, const char *target, size_t max_bytes);
void sql_builder_deinit(sql_builder *sb);
/* sql_builder_add renders one change into the packet. td must be mapped to
 * ch->tbl. The change's values are copied as text; nothing is kept of ch.
 * On error the packet is unchanged (a statement may have been closed). */
cot_err sql_builder_add(sql_builder *sb, const sql_tdesc *td, const cot_change *ch);
/* sql_builder_add_session closes the open statement and appends stmt, a
 * session setting, as a statement of its own. */
void sql_builder_add_session(sql_builder *sb, const char *stmt);
/* sql_builder_close finishes the open statement, if any. */
void sql_builder_close(sql_builder *sb);
/* sql_builder_forget closes the open statement if it belongs to td (before
 * td is remapped or evicted). */
void sql_builder_forget(sql_builder *sb, const sql_tdesc *td);
/* sql_builder_ready says whether the packet is big enough to be sent. */
bool sql_builder_ready(const sql_builder *sb);
/* sql_builder_add_commit closes the open statement and appends the upsert
 * of n position rows of pipeline (row index[i] at pos[i]; row 0 is named
 * like the pipeline, row k "PIPELINE#k"), the delete of the rows with an
 * index in [prune_from, prune_to) by name, and COMMIT. */
void sql_builder_add_commit(sql_builder *sb, const char *pipeline, const uint32_t *index,
                            const cot_pos *pos, uint32_t n, uint32_t prune_from, uint32_t prune_to,
                            uint32_t ts);
/* sql_position_row_name writes the name of position row index of pipeline. */
void sql_position_row_name(const char *pipeline, uint32_t index, char *out, size_t cap);
/* sql_builder_clear empties the packet (after it was sent or abandoned). */
void sql_builder_clear(sql_builder *sb);
/* sql_builder_stmt_len returns the length of statement i of the packet. */
size_t sql_builder_stmt_len(const sql_builder *sb, uint32_t i);

#endif
