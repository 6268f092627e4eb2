/*
 * Binlog event parsing: the common header, the control events the reader
 * needs (FORMAT_DESCRIPTION, ROTATE, QUERY, XID, GTID, TABLE_MAP) and the
 * rows events, whose row images are decoded into cot_change values.
 *
 * Pure functions over a byte range: no I/O, no globals, no allocation but
 * into the arena / chunk given. Every read goes through a bounds-checked
 * cursor; malformed input returns COT_ERR_MALFORMED with a message naming
 * the event type and the offset inside the event, never reads out of
 * bounds. The caller adds the binlog file:pos to the message.
 *
 * `ev` / `len` always denote one whole event as it arrived: the 19-byte
 * header, the body and, when the FDE says so, the 4-byte CRC32 trailer.
 */
#ifndef COT_BINLOG_EVENT_H
#define COT_BINLOG_EVENT_H

#include "event/event.h"
#include "util/arena.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum binlog_event_type {
    BEV_UNKNOWN = 0,
    BEV_START_V3 = 1,
    BEV_QUERY = 2,
    BEV_STOP = 3,
    BEV_ROTATE = 4,
    BEV_INTVAR = 5,
    BEV_RAND = 13,
    BEV_USER_VAR = 14,
    BEV_FORMAT_DESCRIPTION = 15,
    BEV_XID = 16,
    BEV_TABLE_MAP = 19,
    BEV_WRITE_ROWS_V1 = 23,
    BEV_UPDATE_ROWS_V1 = 24,
    BEV_DELETE_ROWS_V1 = 25,
    BEV_INCIDENT = 26,
    BEV_HEARTBEAT = 27,
    BEV_ROWS_QUERY = 29,
    BEV_WRITE_ROWS_V2 = 30,
    BEV_UPDATE_ROWS_V2 = 31,
    BEV_DELETE_ROWS_V2 = 32,
    BEV_MYSQL_GTID = 33,
    BEV_MYSQL_ANONYMOUS_GTID = 34,
    BEV_MYSQL_PREVIOUS_GTIDS = 35,
    BEV_PARTIAL_UPDATE_ROWS = 39,
    BEV_MYSQL_TRANSACTION_PAYLOAD = 40,
    BEV_MARIA_ANNOTATE_ROWS = 160,
    BEV_MARIA_BINLOG_CHECKPOINT = 161,
    BEV_MARIA_GTID = 162,
    BEV_MARIA_GTID_LIST = 163,
    BEV_MARIA_START_ENCRYPTION = 164,
    BEV_MARIA_QUERY_COMPRESSED = 165,
    BEV_MARIA_WRITE_ROWS_COMPRESSED_V1 = 166,
    BEV_MARIA_UPDATE_ROWS_COMPRESSED_V1 = 167,
    BEV_MARIA_DELETE_ROWS_COMPRESSED_V1 = 168,
    BEV_MARIA_WRITE_ROWS_COMPRESSED = 169,
    BEV_MARIA_UPDATE_ROWS_COMPRESSED = 170,
    BEV_MARIA_DELETE_ROWS_COMPRESSED = 171,
};

#define BINLOG_HEADER_LEN 19
/* BINLOG_MAX_EVENT_SIZE is the largest event a MySQL/MariaDB replica accepts
 * (the maximum of slave_max_allowed_packet, 1 GiB) and the default bound
 * (`max_bytes` 0 below) on what one event may expand to: the inflated size
 * of a compressed event, and half the memory its decoded rows may take. */
#define BINLOG_MAX_EVENT_SIZE ((size_t)1 << 30)
/* BINLOG_MAX_COLUMNS: MySQL and MariaDB tables have at most 4096 columns, so
 * a TABLE_MAP naming more is refused (each column costs memory per row). */
#define BINLOG_MAX_COLUMNS    4096
#define BINLOG_CHECKSUM_NONE  0
#define BINLOG_CHECKSUM_CRC32 1

typedef struct binlog_header {
    uint32_t timestamp;
    uint8_t type;
    uint32_t server_id;
    uint32_t event_size;
    uint32_t log_pos; /* end position of this event in its file (0 for artificial events) */
    uint16_t flags;
} binlog_header;

/* What a FORMAT_DESCRIPTION event says about the events after it. */
typedef struct binlog_fde {
    uint16_t binlog_version;
    char server_version[51];
    uint8_t header_len;           /* common header length, 19 */
    uint8_t checksum_alg;         /* BINLOG_CHECKSUM_NONE or _CRC32 */
    uint8_t post_header_len[256]; /* by event type; 0 where not given */
} binlog_fde;

/* binlog_fde_default fills a FDE for binlog v4 with the given checksum alg,
 * used until the first real FORMAT_DESCRIPTION arrives. */
void binlog_fde_default(binlog_fde *fde, uint8_t checksum_alg);

/* binlog_header_parse reads the common header; checks event_size == len. */
cot_err binlog_header_parse(const uint8_t *ev, size_t len, binlog_header *h);

/* binlog_checksum_ok verifies the CRC32 trailer of an event when fde says
 * there is one; true when there is none. */
bool binlog_checksum_ok(const binlog_fde *fde, const uint8_t *ev, size_t len);

/* binlog_fde_parse parses a FORMAT_DESCRIPTION event (its own checksum
 * algorithm is read from the event itself). */
cot_err binlog_fde_parse(const uint8_t *ev, size_t len, binlog_fde *fde);

typedef struct binlog_rotate {
    uint64_t position;
    char file[128];
} binlog_rotate;
cot_err binlog_rotate_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, binlog_rotate *r);

typedef struct binlog_query {
    uint32_t thread_id;
    uint16_t error_code;
    const char *db; /* points into ev, db_len bytes, not NUL-terminated */
    size_t db_len;
    const char *sql; /* points into ev (or into the arena for a compressed query) */
    size_t sql_len;
    /* the session that ran it, from the status variables (0 when not logged) */
    uint64_t sql_mode;             /* Q_SQL_MODE_CODE bits */
    uint16_t charset_client;       /* Q_CHARSET_CODE: collation id of character_set_client */
    uint16_t collation_connection; /* ... of collation_connection */
    uint16_t collation_server;     /* ... of collation_server */
    const char *time_zone;         /* Q_TIME_ZONE_CODE, time_zone_len bytes in ev; NULL if none */
    size_t time_zone_len;
    bool has_sql_mode;
    bool has_charset;
} binlog_query;
/* binlog_query_parse handles QUERY and MariaDB QUERY_COMPRESSED (needs a for
 * the inflated text; may be NULL for plain QUERY). A compressed statement
 * declaring more than max_bytes (0: BINLOG_MAX_EVENT_SIZE) is refused as
 * COT_ERR_MALFORMED before anything is allocated. */
cot_err binlog_query_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, size_t max_bytes,
                           arena *a, binlog_query *q);

typedef struct binlog_gtid {
    uint32_t domain_id; /* MariaDB; 0 for MySQL */
    uint32_t server_id; /* from the event header */
    uint64_t seq_no;    /* MariaDB seq_no, MySQL gno */
    bool standalone;    /* MariaDB FL_STANDALONE: no BEGIN/COMMIT follows (DDL) */
    char text[128];     /* "domain-server-seq" or "uuid:gno" */
} binlog_gtid;
/* binlog_gtid_parse handles MariaDB GTID and MySQL GTID / ANONYMOUS_GTID. */
cot_err binlog_gtid_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, binlog_gtid *g);

cot_err binlog_xid_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, uint64_t *xid);

/* Parsed TABLE_MAP event. Arrays are allocated in the arena given. */
typedef struct binlog_tablemap {
    uint64_t table_id;
    uint16_t flags;
    char *schema;
    char *table;
    uint32_t n_cols;
    uint8_t *types;    /* n_cols type codes */
    uint16_t *meta;    /* n_cols metadata values */
    uint8_t *nullable; /* n_cols booleans */
    /* Optional metadata (binlog_row_metadata=MINIMAL/FULL); NULL / 0 when absent. */
    uint8_t *is_unsigned; /* n_cols booleans; only meaningful for numeric columns */
    bool has_signedness;
    uint16_t *collation; /* n_cols collation ids; 0 for non-string columns */
    bool has_collation;
    char **col_names; /* n_cols names */
    uint32_t n_pk;
    uint32_t *pk;        /* column indexes */
    char ***enum_values; /* per column NULL or NULL-terminated list (ENUM) */
    char ***set_values;  /* per column NULL or NULL-terminated list (SET) */
} binlog_tablemap;
cot_err binlog_tablemap_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, arena *a,
                              binlog_tablemap *tm);

/* Fixed part of a rows event, readable before the table is known. */
typedef struct binlog_rows_head {
    uint64_t table_id;
    uint16_t flags; /* bit 0: STMT_END_F (last rows event of the statement) */
    cot_op op;
    bool compressed; /* MariaDB *_COMPRESSED event */
} binlog_rows_head;
#define BINLOG_ROWS_STMT_END 0x0001

/* binlog_is_rows_event says whether type is a rows event this module decodes. */
bool binlog_is_rows_event(uint8_t type);
cot_err binlog_rows_head_parse(const binlog_fde *fde, const uint8_t *ev, size_t len,
                               binlog_rows_head *rh);

/* binlog_rows_decode decodes every row of a rows event for table tbl and
 * appends one cot_change per row to ck (values in ck->mem). tbl->cols gives
 * type, meta, signedness and collation of each column. Columns absent from
 * an image (MINIMAL/NOBLOB) are VK_ABSENT. Compressed events are inflated
 * first. max_bytes (0: BINLOG_MAX_EVENT_SIZE) bounds what a hostile event can
 * make this allocate: a compressed event may declare at most max_bytes
 * inflated, and the decoded rows (changes, values, JSON text, the inflated
 * rows) may take at most 2 * max_bytes; past either the call fails with
 * COT_ERR_MALFORMED. On error, changes appended by this call are removed
 * again (their arena bytes stay until the chunk is freed). */
cot_err binlog_rows_decode(const binlog_fde *fde, const uint8_t *ev, size_t len, cot_table *tbl,
                           size_t max_bytes, cot_chunk *ck);

/* binlog_event_type_name returns a name like "TABLE_MAP" or "UNKNOWN(200)" (static buffer per
 * thread). */
const char *binlog_event_type_name(uint8_t type);

/* binlog_table_from_map builds a table (one reference, caller owns it)
 * from a parsed TABLE_MAP: types, metadata, nullability, and, when the
 * optional metadata has them, names, signedness, collations, ENUM/SET member
 * names and primary key. Without metadata columns are signed with collation
 * 0 (unknown). */
cot_table *binlog_table_from_map(const binlog_tablemap *tm);

/* binlog_collation_charset returns the charset name of a MySQL/MariaDB
 * collation id ("utf8mb4", "latin1", "binary"), or NULL when unknown. */
const char *binlog_collation_charset(uint16_t collation);

#endif
