/*
 * The pure parts of the initial load: how a row's key is compared between
 * a row read by SELECT and a binlog row image (a canonical byte encoding
 * and a hash set of encoded keys), how a chunk's key range is written as
 * SQL, and how the last key copied is stored in cotter.snapshots.
 *
 * Also how a SHOW CREATE TABLE is split into the table and the secondary
 * indexes the load adds only after the copy (snap_split_keys).
 *
 * No I/O, no globals: any thread; unit tested in tests/unit/test_snapshot_key.c.
 * Keys compare by value: an integer read as text and the same integer
 * decoded from the binlog encode alike; strings of a case-insensitive
 * collation are ASCII-case-folded and trailing spaces dropped (PAD SPACE),
 * so one row never has two spellings that compare different.
 */
#ifndef COT_SNAPSHOT_KEY_H
#define COT_SNAPSHOT_KEY_H

#include "event/event.h"
#include "util/arena.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* snap_key_encode appends the canonical encoding of the key columns cols[0..n)
 * of img to out (reset first); fold[k] says column k compares ASCII-case-
 * insensitively with PAD SPACE. Returns false when a key value is absent
 * (a MINIMAL image without it) or of a kind that has no canonical form. */
bool snap_key_encode(buf *out, const cot_value *img, const uint32_t *cols, const bool *fold,
                     uint32_t n);

/* A set of encoded keys, each with a caller's id (open addressing; the key
 * bytes live in the set's arena). */
typedef struct snap_keyset {
    struct snap_keyslot *slots;
    uint32_t cap; /* power of two, 0 when empty */
    uint32_t n;
    arena mem;
} snap_keyset;

void snap_keyset_init(snap_keyset *ks);
void snap_keyset_deinit(snap_keyset *ks);
/* snap_keyset_reset forgets every key, keeps the table's memory. */
void snap_keyset_reset(snap_keyset *ks);
/* snap_keyset_add adds key -> id; returns false (set unchanged) when the key
 * is in the set already. */
bool snap_keyset_add(snap_keyset *ks, const void *key, size_t len, uint32_t id);
/* snap_keyset_find returns the id of key, or UINT32_MAX. */
uint32_t snap_keyset_find(const snap_keyset *ks, const void *key, size_t len);

/* How a key column's value is written as an SQL literal. */
typedef enum snap_lit {
    SNAP_LIT_NUMBER = 0, /* digits, sign, point: as it is */
    SNAP_LIT_STRING,     /* text: _charset X'hex' */
    SNAP_LIT_BINARY,     /* bytes: X'hex' */
    SNAP_LIT_QUOTED,     /* temporal: 'text' (checked to hold no quote) */
} snap_lit;

typedef struct snap_keydef {
    uint32_t n;                 /* key columns */
    const char *const *name;    /* column names */
    const uint8_t *lit;         /* snap_lit per column */
    const char *const *charset; /* per column, for SNAP_LIT_STRING (NULL: utf8mb4) */
} snap_keydef;

/* A key's values as text bytes (what the text protocol returns). */
typedef struct snap_keyval {
    const char *p[16];
    uint32_t len[16];
} snap_keyval;
#define SNAP_KEY_MAX 16

/* snap_key_literal appends value v (len bytes) as an SQL literal of kind lit.
 * Returns false for a NUMBER or QUOTED value with characters that do not
 * belong there (nothing safe to write). */
bool snap_key_literal(buf *out, uint8_t lit, const char *charset, const char *v, size_t len);

/* snap_range_sql appends the condition "key > lo AND key <= hi" over the
 * key columns in key order (lexicographic, written without row constructors
 * so the range optimizer uses the index), or "1" when both are NULL. Either
 * bound may be NULL (open). Returns false when a literal cannot be written. */
bool snap_range_sql(buf *out, const snap_keydef *kd, const snap_keyval *lo, const snap_keyval *hi);

/* snap_lastkey_format appends the stored form of a key (hex of each value's
 * bytes, comma-separated) to out. */
void snap_lastkey_format(buf *out, const snap_keyval *kv, uint32_t n);
/* snap_lastkey_parse reads text (a stored key) into kv, whose values point
 * into mem; returns false when it is not n hex fields. */
bool snap_lastkey_parse(const char *text, uint32_t n, arena *mem, snap_keyval *kv);

/* snap_split_keys copies a SHOW CREATE TABLE statement into bare without
 * its non-unique secondary indexes ("  KEY ..." lines) and puts those into
 * keys, one clause per line. False (nothing to defer) when there is none,
 * when the table has a foreign key (it may need the index), or when the
 * text is not laid out the way SHOW CREATE TABLE writes it (a KEY line
 * snap_index_parse does not read included). keys are in snap_index_sql's
 * form. */
bool snap_split_keys(const char *sql, size_t len, buf *bare, buf *keys);

/* A secondary index as the load defers it: what cotter.snapshot_keys
 * stores (one clause per line, in the form snap_index_sql writes) and the
 * only thing it ever runs from there, rebuilt after snap_index_parse. */
#define SNAP_INDEX_COLS    32
#define SNAP_IDENT_CAP     256
#define SNAP_COMMENT_CAP   1024
#define SNAP_INDEX_MAX_LEN 3072 /* the longest prefix a server takes, in characters */

typedef struct snap_index_col {
    char name[SNAP_IDENT_CAP];
    uint32_t prefix; /* 0: the whole column */
    bool desc;
} snap_index_col;

typedef enum snap_index_using {
    SNAP_USING_NONE = 0,
    SNAP_USING_BTREE,
    SNAP_USING_HASH
} snap_index_using;

typedef struct snap_index {
    char name[SNAP_IDENT_CAP];
    uint32_t n_cols;
    snap_index_col cols[SNAP_INDEX_COLS];
    uint8_t using; /* snap_index_using */
    bool has_comment;
    char comment[SNAP_COMMENT_CAP];
    bool ignored; /* MariaDB's IGNORED */
} snap_index;

/* snap_index_parse reads one clause "KEY `name` (`c`[(N)] [DESC], ...)
 * [USING BTREE|HASH] [COMMENT '...'] [IGNORED]" (SHOW CREATE TABLE's
 * layout) into ix. Returns false with the reason in why (cap bytes) for
 * anything else: nothing that is not an index definition gets through. */
bool snap_index_parse(const char *clause, size_t len, snap_index *ix, char *why, size_t cap);

/* snap_index_sql appends ix as a clause, identifiers quoted and the comment
 * escaped. */
void snap_index_sql(buf *out, const snap_index *ix);

/* snap_index_check validates stored clauses keys (one per line) against the
 * table's column names cols[0..n_cols) and writes them again into canon
 * (reset first) from their parsed form. Returns false with why when a line
 * is not an index of snap_index_parse's form or names a column the table
 * lacks (names compare case-insensitively, as the server does). */
bool snap_index_check(const char *keys, const char *const *cols, uint32_t n_cols, buf *canon,
                      char *why, size_t cap);

#endif
