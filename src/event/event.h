/*
 * The change-event model: the one contract between sources, the pipeline
 * and sinks. A source decodes its log into chunks of row changes; the
 * pipeline moves chunks through a bounded queue; a sink applies them.
 *
 * Invariants:
 *  - A chunk holds changes of exactly one source transaction, in source
 *    order. A big transaction is several chunks; only the last one has
 *    tx_end set and carries the position after the transaction.
 *  - Values of a change live in the chunk's arena; tables are immutable
 *    once published and reference counted, so a chunk keeps its tables
 *    alive after the source has moved on to a newer TABLE_MAP.
 *  - TIMESTAMP values are rendered in UTC; a sink must apply them in UTC.
 */
#ifndef COT_EVENT_H
#define COT_EVENT_H

#include "util/arena.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Column type codes as written in a TABLE_MAP event. */
enum cot_coltype {
    CT_DECIMAL = 0,
    CT_TINY = 1,
    CT_SHORT = 2,
    CT_LONG = 3,
    CT_FLOAT = 4,
    CT_DOUBLE = 5,
    CT_NULL = 6,
    CT_TIMESTAMP = 7,
    CT_LONGLONG = 8,
    CT_INT24 = 9,
    CT_DATE = 10,
    CT_TIME = 11,
    CT_DATETIME = 12,
    CT_YEAR = 13,
    CT_NEWDATE = 14,
    CT_VARCHAR = 15,
    CT_BIT = 16,
    CT_TIMESTAMP2 = 17,
    CT_DATETIME2 = 18,
    CT_TIME2 = 19,
    CT_JSON = 245,
    CT_NEWDECIMAL = 246,
    CT_ENUM = 247,
    CT_SET = 248,
    CT_TINY_BLOB = 249,
    CT_MEDIUM_BLOB = 250,
    CT_LONG_BLOB = 251,
    CT_BLOB = 252,
    CT_VAR_STRING = 253,
    CT_STRING = 254,
    CT_GEOMETRY = 255,
};

#define COT_COLLATION_BINARY 63

typedef struct cot_column {
    char *name;          /* column name; NULL when not known */
    uint8_t type;        /* type code from TABLE_MAP (CT_STRING also for ENUM/SET) */
    uint16_t meta;       /* TABLE_MAP metadata of the column */
    bool is_unsigned;    /* integer and decimal columns */
    bool nullable;       /* from the TABLE_MAP null bitmap */
    uint16_t collation;  /* collation id; COT_COLLATION_BINARY for binary; 0 unknown */
    const char *charset; /* interned charset name ("utf8mb4", "binary"); NULL if not a string */
    /* ENUM/SET member names in definition order (member i+1 / bit i), from
     * cot_members_intern: process-lifetime and read-only, so a column may be
     * copied by value and nothing frees them. NULL / 0 when unknown. */
    const char *const *members;
    uint32_t n_members;
} cot_column;

typedef struct cot_table {
    atomic_int refs;
    uint64_t table_id; /* TABLE_MAP table id (changes across DDL / flushes) */
    char *schema;      /* name the rows go to (after the mapping's rename) */
    char *name;
    char *src_schema; /* name on the source, for messages */
    char *src_name;
    uint32_t n_cols;
    cot_column *cols;
    uint32_t n_pk;  /* primary key columns from FULL metadata, 0 if unknown */
    uint32_t *pk;   /* column indexes of the primary key */
    bool has_names; /* every column has a name */
} cot_table;

/* cot_table_new allocates a table with one reference and n_cols zeroed
 * columns; src_schema/src_name start as copies of schema/name. */
cot_table *cot_table_new(const char *schema, const char *name, uint32_t n_cols);
/* cot_table_clone_as copies tbl's columns under a new target name (one reference). */
cot_table *cot_table_clone_as(const cot_table *tbl, const char *schema, const char *name);
cot_table *cot_table_ref(cot_table *tbl);
/* cot_table_unref drops a reference; frees the table and its strings at zero. */
void cot_table_unref(cot_table *tbl);

typedef enum cot_vkind {
    VK_ABSENT = 0, /* column not in this row image (MINIMAL / NOBLOB) */
    VK_NULL,
    VK_INT,      /* i: signed integer */
    VK_UINT,     /* u: unsigned integer */
    VK_FLOAT,    /* d: a FLOAT column's value, widened */
    VK_DOUBLE,   /* d */
    VK_DECIMAL,  /* s: exact decimal text, e.g. "-12.3400" */
    VK_STRING,   /* s: text bytes in the column's charset */
    VK_BINARY,   /* s: raw bytes */
    VK_TEMPORAL, /* s: "YYYY-MM-DD", "[-]HHH:MM:SS[.ffffff]", "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC
                    for TIMESTAMP); YEAR is VK_INT */
    VK_BIT,      /* u: bit value */
    VK_ENUM,     /* u: 1-based member index (0 = the '' error value) */
    VK_SET,      /* u: member bitmask */
    VK_JSON,     /* s: JSON text */
    VK_GEOMETRY, /* s: 4-byte SRID + WKB, as stored */
} cot_vkind;

typedef struct cot_value {
    uint8_t kind; /* cot_vkind */
    union {
        int64_t i;
        uint64_t u;
        double d;
        struct {
            const char *p; /* not NUL-terminated; may contain NULs */
            uint32_t len;
        } s;
    };
} cot_value;

typedef enum cot_op { OP_INSERT = 1, OP_UPDATE = 2, OP_DELETE = 3 } cot_op;

typedef struct cot_change {
    uint8_t op;        /* cot_op */
    cot_table *tbl;    /* borrowed; the chunk holds a reference */
    cot_value *before; /* tbl->n_cols values for UPDATE/DELETE, else NULL */
    cot_value *after;  /* tbl->n_cols values for INSERT/UPDATE, else NULL */
} cot_change;

/* A position in the source's binlog: where the next transaction starts. */
typedef struct cot_pos {
    char file[128]; /* binlog file name, "" if unknown */
    uint64_t pos;   /* byte offset of the next event */
    char gtid[128]; /* GTID of the last transaction ("0-1-123"), "" if none */
} cot_pos;

typedef enum cot_chunk_kind {
    CK_ROWS = 0, /* row changes */
    CK_DDL,      /* one DDL statement (ddl, ddl_schema) */
    CK_EMPTY,    /* a transaction with nothing for us (filtered out): moves the position */
} cot_chunk_kind;

/* The source session a DDL ran in, from its QUERY event's status
 * variables: the target runs the statement under the same sql_mode and
 * client charset, so that it means there what it meant on the source. */
typedef struct cot_ddl_session {
    bool has_sql_mode;             /* false: not logged (cotter's own statement, old binlog) */
    bool has_charset;              /* the three collation ids below are known */
    uint64_t sql_mode;             /* sql_mode bits as logged */
    uint16_t charset_client;       /* collation id of character_set_client */
    uint16_t collation_connection; /* collation id of collation_connection */
    uint16_t collation_server;     /* collation id of collation_server */
    char time_zone[64];            /* the session's time_zone when the statement used it, or "" */
    char server_version[51];       /* the source server's version ("" unknown) */
} cot_ddl_session;

typedef struct cot_chunk {
    struct cot_chunk *next; /* queue link, owned by whoever holds the chunk */
    uint8_t kind;           /* cot_chunk_kind */
    bool tx_end;            /* last chunk of its transaction */
    uint32_t ts;            /* source event timestamp (seconds) */
    uint64_t seq;           /* transaction sequence number assigned by the source reader */
    cot_pos end_pos;        /* position after the transaction (valid if tx_end) */
    cot_pos start_pos;      /* where the transaction starts: the end of the one emitted
                               before it ("" file when not known) */
    /* CK_DDL: a statement of cotter's own (the initial load's TRUNCATE of a
     * keyless table, the secondary indexes it left out until a copy was
     * done), applied whatever the pipeline's ddl policy says */
    bool internal;
    char *ddl;                   /* DDL text (CK_DDL), in mem */
    char *ddl_schema;            /* default schema of the DDL, in mem; may be "" */
    cot_ddl_session ddl_session; /* CK_DDL: how the source session read it (zeroed: cotter's) */
    cot_change *changes;         /* heap array, n_changes used */
    uint32_t n_changes;
    uint32_t cap_changes;
    cot_table **tables; /* references held by this chunk */
    uint32_t n_tables;
    uint32_t cap_tables;
    size_t bytes; /* approximate memory held: arena + arrays */
    arena mem;    /* values and strings */
} cot_chunk;

cot_chunk *cot_chunk_new(void);
/* cot_chunk_free releases the chunk, its arena and its table references. */
void cot_chunk_free(cot_chunk *ck);
/* cot_chunk_add returns a zeroed change slot appended to the chunk; the
 * chunk takes a reference on tbl when it differs from the last one added. */
cot_change *cot_chunk_add(cot_chunk *ck, cot_op op, cot_table *tbl);
/* cot_chunk_hold_table makes the chunk hold a reference on tbl (unless the
 * last table it holds is tbl already): for changes re-pointed at another
 * table after they were added. */
void cot_chunk_hold_table(cot_chunk *ck, cot_table *tbl);
/* cot_chunk_values allocates n zeroed values in the chunk's arena. */
cot_value *cot_chunk_values(cot_chunk *ck, uint32_t n);
/* cot_chunk_account recomputes ck->bytes from its parts. */
void cot_chunk_account(cot_chunk *ck);

/* cot_charset_intern returns a process-lifetime copy of a charset name
 * (one per distinct name, thread safe). */
const char *cot_charset_intern(const char *name);

/* cot_members_intern returns a process-lifetime, read-only copy of the n
 * member names (one copy per distinct list, thread safe), or NULL when n is
 * 0 or COT_MEMBERS_MAX_BYTES are interned already (names then stay unknown).
 * Interned rather than owned by the table because tables are cloned and
 * their columns copied by value along the pipeline. */
const char *const *cot_members_intern(const char *const *names, uint32_t n);
#define COT_MEMBERS_MAX_BYTES (16u << 20)

/* cot_value_equal compares two values exactly: same kind and same number
 * or bytes (text byte-wise, whatever the collation); ABSENT and NULL equal
 * themselves. */
bool cot_value_equal(const cot_value *a, const cot_value *b);

/* cot_pos_cmp orders two file:pos positions of one source: <0, 0, >0 as
 * a is before, at or after b. Binlog files compare by their numeric
 * extension (binlog.000009 < binlog.000010), then by name; an empty file
 * name (unknown) sorts first. GTIDs are not compared. */
int cot_pos_cmp(const cot_pos *a, const cot_pos *b);

/* cot_pos_format writes "file:pos" (and " gtid G") into out. */
void cot_pos_format(const cot_pos *p, char *out, size_t cap);

const char *cot_op_name(cot_op op);
const char *cot_coltype_name(uint8_t type);

#endif
