/*
 * Tables, chunks and positions of the change-event model.
 * Member names of ENUM/SET columns are interned for the life of the process
 * (like charset names), so columns stay plain values that may be copied.
 */
#include "event/event.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

cot_table *cot_table_new(const char *schema, const char *name, uint32_t n_cols)
{
    cot_table *tbl = xcalloc(1, sizeof(*tbl));
    atomic_init(&tbl->refs, 1);
    tbl->schema = xstrdup(schema);
    tbl->name = xstrdup(name);
    tbl->src_schema = xstrdup(schema);
    tbl->src_name = xstrdup(name);
    tbl->n_cols = n_cols;
    tbl->cols = xcalloc(n_cols, sizeof(cot_column));
    return tbl;
}

cot_table *cot_table_clone_as(const cot_table *tbl, const char *schema, const char *name)
{
    cot_table *t = cot_table_new(schema, name, tbl->n_cols);
    free(t->src_schema);
    free(t->src_name);
    t->src_schema = xstrdup(tbl->src_schema);
    t->src_name = xstrdup(tbl->src_name);
    t->table_id = tbl->table_id;
    t->has_names = tbl->has_names;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        t->cols[i] = tbl->cols[i];
        t->cols[i].name = tbl->cols[i].name ? xstrdup(tbl->cols[i].name) : NULL;
    }
    if (tbl->n_pk) {
        t->pk = xcalloc(tbl->n_pk, sizeof(uint32_t));
        memcpy(t->pk, tbl->pk, tbl->n_pk * sizeof(uint32_t));
        t->n_pk = tbl->n_pk;
    }
    return t;
}

cot_table *cot_table_ref(cot_table *tbl)
{
    atomic_fetch_add(&tbl->refs, 1);
    return tbl;
}

void cot_table_unref(cot_table *tbl)
{
    if (!tbl) return;
    if (atomic_fetch_sub(&tbl->refs, 1) != 1) return;
    for (uint32_t i = 0; i < tbl->n_cols; i++) free(tbl->cols[i].name);
    free(tbl->cols);
    free(tbl->pk);
    free(tbl->schema);
    free(tbl->name);
    free(tbl->src_schema);
    free(tbl->src_name);
    free(tbl);
}

cot_chunk *cot_chunk_new(void)
{
    cot_chunk *ck = xcalloc(1, sizeof(*ck));
    arena_init(&ck->mem);
    return ck;
}

void cot_chunk_free(cot_chunk *ck)
{
    if (!ck) return;
    for (uint32_t i = 0; i < ck->n_tables; i++) cot_table_unref(ck->tables[i]);
    free(ck->tables);
    free(ck->changes);
    arena_deinit(&ck->mem);
    free(ck);
}

void cot_chunk_hold_table(cot_chunk *ck, cot_table *tbl)
{
    if (ck->n_tables > 0 && ck->tables[ck->n_tables - 1] == tbl) return;
    if (ck->n_tables == ck->cap_tables) {
        uint32_t cap = ck->cap_tables ? ck->cap_tables * 2 : 4;
        cot_table **t = realloc(ck->tables, cap * sizeof(*t));
        if (!t) abort();
        ck->tables = t;
        ck->cap_tables = cap;
    }
    ck->tables[ck->n_tables++] = cot_table_ref(tbl);
}

cot_change *cot_chunk_add(cot_chunk *ck, cot_op op, cot_table *tbl)
{
    if (ck->n_changes == ck->cap_changes) {
        uint32_t cap = ck->cap_changes ? ck->cap_changes * 2 : 64;
        cot_change *c = realloc(ck->changes, cap * sizeof(*c));
        if (!c) abort();
        ck->changes = c;
        ck->cap_changes = cap;
    }
    cot_chunk_hold_table(ck, tbl);
    cot_change *ch = &ck->changes[ck->n_changes++];
    memset(ch, 0, sizeof(*ch));
    ch->op = (uint8_t)op;
    ch->tbl = tbl;
    return ch;
}

cot_value *cot_chunk_values(cot_chunk *ck, uint32_t n)
{
    return arena_calloc(&ck->mem, (size_t)n * sizeof(cot_value));
}

void cot_chunk_account(cot_chunk *ck)
{
    ck->bytes = sizeof(*ck) + ck->mem.reserved + (size_t)ck->cap_changes * sizeof(cot_change) +
                (size_t)ck->cap_tables * sizeof(cot_table *);
}

/* pos__file_seq returns the numeric extension of a binlog file name
 * ("binlog.000042" -> 42), or 0 when it has none. */
static uint64_t pos__file_seq(const char *file)
{
    const char *dot = strrchr(file, '.');
    if (!dot || !dot[1]) return 0;
    uint64_t v = 0;
    for (const char *c = dot + 1; *c; c++) {
        if (*c < '0' || *c > '9' || v > UINT64_MAX / 10 - 10) return 0;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    return v;
}

int cot_pos_cmp(const cot_pos *a, const cot_pos *b)
{
    if (!a->file[0] || !b->file[0]) return (a->file[0] != 0) - (b->file[0] != 0);
    int c = strcmp(a->file, b->file);
    if (c != 0) {
        uint64_t sa = pos__file_seq(a->file), sb = pos__file_seq(b->file);
        if (sa != sb) return sa < sb ? -1 : 1;
        return c < 0 ? -1 : 1;
    }
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

void cot_pos_format(const cot_pos *p, char *out, size_t cap)
{
    if (p->gtid[0])
        snprintf(out, cap, "%s:%llu (gtid %s)", p->file[0] ? p->file : "?",
                 (unsigned long long)p->pos, p->gtid);
    else
        snprintf(out, cap, "%s:%llu", p->file[0] ? p->file : "?", (unsigned long long)p->pos);
}

const char *cot_op_name(cot_op op)
{
    switch (op) {
    case OP_INSERT:
        return "INSERT";
    case OP_UPDATE:
        return "UPDATE";
    case OP_DELETE:
        return "DELETE";
    }
    return "?";
}

const char *cot_coltype_name(uint8_t type)
{
    switch (type) {
    case CT_DECIMAL:
        return "DECIMAL(old)";
    case CT_TINY:
        return "TINYINT";
    case CT_SHORT:
        return "SMALLINT";
    case CT_LONG:
        return "INT";
    case CT_FLOAT:
        return "FLOAT";
    case CT_DOUBLE:
        return "DOUBLE";
    case CT_NULL:
        return "NULL";
    case CT_TIMESTAMP:
        return "TIMESTAMP(old)";
    case CT_LONGLONG:
        return "BIGINT";
    case CT_INT24:
        return "MEDIUMINT";
    case CT_DATE:
        return "DATE";
    case CT_TIME:
        return "TIME(old)";
    case CT_DATETIME:
        return "DATETIME(old)";
    case CT_YEAR:
        return "YEAR";
    case CT_NEWDATE:
        return "NEWDATE";
    case CT_VARCHAR:
        return "VARCHAR";
    case CT_BIT:
        return "BIT";
    case CT_TIMESTAMP2:
        return "TIMESTAMP";
    case CT_DATETIME2:
        return "DATETIME";
    case CT_TIME2:
        return "TIME";
    case CT_JSON:
        return "JSON";
    case CT_NEWDECIMAL:
        return "DECIMAL";
    case CT_ENUM:
        return "ENUM";
    case CT_SET:
        return "SET";
    case CT_TINY_BLOB:
        return "TINYBLOB";
    case CT_MEDIUM_BLOB:
        return "MEDIUMBLOB";
    case CT_LONG_BLOB:
        return "LONGBLOB";
    case CT_BLOB:
        return "BLOB";
    case CT_VAR_STRING:
        return "VAR_STRING";
    case CT_STRING:
        return "CHAR";
    case CT_GEOMETRY:
        return "GEOMETRY";
    }
    return "UNKNOWN";
}

const char *cot_charset_intern(const char *name)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char *names[256];
    static unsigned n_names;
    const char *r = NULL;
    pthread_mutex_lock(&mu);
    for (unsigned i = 0; i < n_names; i++) {
        if (strcmp(names[i], name) == 0) {
            r = names[i];
            break;
        }
    }
    if (!r && n_names < 256) {
        names[n_names] = xstrdup(name);
        r = names[n_names++];
    }
    pthread_mutex_unlock(&mu);
    return r ? r : "binary";
}

/* An interned member list: the names array and the name bytes follow the entry. */
typedef struct members_entry {
    struct members_entry *next;
    uint64_t hash;
    uint32_t n;
    const char **names;
} members_entry;

#define MEMBERS_BUCKETS 256

static uint64_t members_hash(const char *const *names, uint32_t n)
{
    uint64_t h = 1469598103934665603ull ^ n;
    for (uint32_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)names[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull; /* separator: ("ab") differs from ("a","b") */
    }
    return h;
}

static bool members_equal(const members_entry *e, uint64_t hash, const char *const *names,
                          uint32_t n)
{
    if (e->hash != hash || e->n != n) return false;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(e->names[i], names[i]) != 0) return false;
    return true;
}

const char *const *cot_members_intern(const char *const *names, uint32_t n)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static members_entry *buckets[MEMBERS_BUCKETS];
    static size_t interned_bytes;
    if (n == 0 || !names) return NULL;
    uint64_t hash = members_hash(names, n);
    size_t text = 0;
    for (uint32_t i = 0; i < n; i++) text += strlen(names[i]) + 1;
    size_t bytes = sizeof(members_entry) + (size_t)n * sizeof(char *) + text;
    const char *const *r = NULL;
    pthread_mutex_lock(&mu);
    members_entry **head = &buckets[hash % MEMBERS_BUCKETS];
    for (members_entry *e = *head; e; e = e->next) {
        if (members_equal(e, hash, names, n)) {
            r = e->names;
            break;
        }
    }
    if (!r && interned_bytes + bytes <= COT_MEMBERS_MAX_BYTES) {
        members_entry *e = xcalloc(1, bytes);
        e->hash = hash;
        e->n = n;
        e->names = (const char **)(e + 1);
        char *d = (char *)(e->names + n);
        for (uint32_t i = 0; i < n; i++) {
            size_t len = strlen(names[i]) + 1;
            memcpy(d, names[i], len);
            e->names[i] = d;
            d += len;
        }
        e->next = *head;
        *head = e;
        interned_bytes += bytes;
        r = e->names;
    }
    pthread_mutex_unlock(&mu);
    return r;
}

bool cot_value_equal(const cot_value *a, const cot_value *b)
{
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case VK_ABSENT:
    case VK_NULL:
        return true;
    case VK_INT:
        return a->i == b->i;
    case VK_UINT:
    case VK_BIT:
    case VK_ENUM:
    case VK_SET:
        return a->u == b->u;
    case VK_FLOAT:
    case VK_DOUBLE:
        return memcmp(&a->d, &b->d, sizeof(double)) == 0;
    default:
        return a->s.len == b->s.len && (a->s.len == 0 || memcmp(a->s.p, b->s.p, a->s.len) == 0);
    }
}
