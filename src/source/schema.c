/*
 * Source schema cache. Entries hold what information_schema says about a
 * table (names, types, signedness, collations) and are dropped wholesale
 * on DDL. Collation ids map to charset names through one read of
 * information_schema.COLLATIONS per cache. ENUM/SET member names come from
 * COLUMN_TYPE when the TABLE_MAP does not carry them (no FULL metadata).
 */
#include "source/schema.h"
#include "client/mysql_conn.h"
#include "source/schema_history.h"
#include "util/buf.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct is_column {
    char *name;
    char *data_type; /* lower case: "int", "varchar", ... */
    bool is_unsigned;
    uint16_t collation; /* 0 for non-string columns */
    const char *charset;
    const char *const *members; /* ENUM/SET member names (interned); NULL otherwise */
    uint32_t n_members;
} is_column;

typedef struct is_table {
    struct is_table *next;
    char *schema;
    char *name;
    uint32_t n_cols;
    is_column *cols;
    char **raw; /* n_cols * SH_FIELDS strings as read, for the schema history */
} is_table;

typedef struct collation_entry {
    uint16_t id;
    const char *charset; /* interned */
    char *name;
} collation_entry;

struct schema_cache {
    MYSQL *conn;
    is_table *tables;
    collation_entry *collations;
    uint32_t n_collations;
    bool collations_loaded;
    schema_history *hist; /* versions by position (NO_LOG sources), owned; NULL: none */
};

schema_cache *schema_cache_new(MYSQL *conn)
{
    schema_cache *sc = calloc(1, sizeof(*sc));
    if (!sc) abort();
    sc->conn = conn;
    return sc;
}

static void is_table_free(is_table *t)
{
    for (uint32_t i = 0; i < t->n_cols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].data_type);
        for (uint32_t k = 0; t->raw && k < SH_FIELDS; k++) free(t->raw[i * SH_FIELDS + k]);
    }
    free(t->raw);
    free(t->cols);
    free(t->schema);
    free(t->name);
    free(t);
}

void schema_cache_invalidate(schema_cache *sc)
{
    is_table *t = sc->tables;
    while (t) {
        is_table *n = t->next;
        is_table_free(t);
        t = n;
    }
    sc->tables = NULL;
}

void schema_cache_free(schema_cache *sc)
{
    if (!sc) return;
    schema_cache_invalidate(sc);
    schema_history_free(sc->hist);
    for (uint32_t i = 0; i < sc->n_collations; i++) free(sc->collations[i].name);
    free(sc->collations);
    free(sc);
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

void schema_cache_set_history(schema_cache *sc, schema_history *sh)
{
    schema_history_free(sc->hist);
    sc->hist = sh;
}

schema_history *schema_cache_history(schema_cache *sc)
{
    return sc ? sc->hist : NULL;
}

/* schema__query runs sql on the schema connection; returns the result (caller frees). */
static cot_err schema__query(schema_cache *sc, const char *sql, MYSQL_RES **out)
{
    if (mysql_real_query(sc->conn, sql, strlen(sql)) != 0 || !(*out = mysql_store_result(sc->conn)))
        return mysql_conn_error(sc->conn, "reading the source schema");
    return COT_OK;
}

static cot_err schema__load_collations(schema_cache *sc)
{
    if (sc->collations_loaded || !sc->conn) return COT_OK;
    MYSQL_RES *res;
    cot_err rc = schema__query(
        sc, "SELECT ID, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS",
        &res);
    if (rc) return rc;
    uint64_t n = mysql_num_rows(res);
    sc->collations = calloc(n ? n : 1, sizeof(collation_entry));
    if (!sc->collations) abort();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2]) continue;
        collation_entry *ce = &sc->collations[sc->n_collations++];
        ce->id = (uint16_t)strtoul(row[0], NULL, 10);
        ce->charset = cot_charset_intern(row[1]);
        ce->name = xstrdup(row[2]);
    }
    mysql_free_result(res);
    sc->collations_loaded = true;
    return COT_OK;
}

/* schema__charset_of_id maps a collation id the built-in table does not
 * know (a server's newer collations) through information_schema.COLLATIONS;
 * utf8mb4 when even the server cannot say. */
static const char *schema__charset_of_id(schema_cache *sc, uint16_t id)
{
    if (schema__load_collations(sc) != COT_OK)
        LOG_W("select", "cannot read information_schema.COLLATIONS: %s", cot_err_msg());
    for (uint32_t i = 0; i < sc->n_collations; i++)
        if (sc->collations[i].id == id) return sc->collations[i].charset;
    return cot_charset_intern("utf8mb4");
}

static uint16_t schema__id_of_collation(schema_cache *sc, const char *name)
{
    for (uint32_t i = 0; i < sc->n_collations; i++)
        if (strcmp(sc->collations[i].name, name) == 0) return sc->collations[i].id;
    return 45; /* utf8mb4_general_ci: a text collation, the only thing that matters then */
}

static void schema__escape(schema_cache *sc, buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_reserve(b, 2 * n + 1);
    b->len += mysql_real_escape_string(sc->conn, b->data + b->len, s, (unsigned long)n);
    b->data[b->len] = '\0';
}

/* schema__members_parse reads the member names of an information_schema
 * COLUMN_TYPE such as "enum('a','it''s','c:\\d')" ('' is a quote, \\ a
 * backslash, as the server writes them) and interns
 * them into *members; false (and NULL / 0) when the text is not such a list. */
static bool schema__members_parse(const char *column_type, const char *const **members,
                                  uint32_t *n_members)
{
    *members = NULL;
    *n_members = 0;
    const char *p = strchr(column_type, '(');
    if (!p) return false;
    p++;
    buf text; /* the names, each NUL-terminated */
    buf_init(&text);
    uint32_t n = 0;
    for (;;) {
        if (*p != '\'') goto malformed;
        p++;
        for (;;) {
            if (*p == '\0') goto malformed;
            if (*p == '\'') {
                if (p[1] != '\'') break;
                p++; /* '' is one quote */
            } else if (*p == '\\' && p[1]) {
                p++; /* the server escapes \\ (and \n \r \Z) too */
                char e = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 'Z' ? '\032' : *p;
                buf_putc(&text, e);
                p++;
                continue;
            }
            buf_putc(&text, *p++);
        }
        buf_putc(&text, '\0');
        n++;
        p++; /* closing quote */
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ')') break;
        goto malformed;
    }
    const char **names = calloc(n, sizeof(char *));
    if (!names) abort();
    const char *s = text.data;
    for (uint32_t i = 0; i < n; i++) {
        names[i] = s;
        s += strlen(s) + 1;
    }
    *members = cot_members_intern(names, n);
    *n_members = *members ? n : 0;
    free(names);
    buf_deinit(&text);
    return *members != NULL;
malformed:
    buf_deinit(&text);
    return false;
}

bool schema_members_parse(const char *column_type, const char *const **members, uint32_t *n_members)
{
    return schema__members_parse(column_type, members, n_members);
}

/* schema__column_fill sets c from one row of SH_FIELDS fields (the
 * information_schema query below, or a schema history version). */
static void schema__column_fill(schema_cache *sc, const char *schema, const char *table,
                                is_column *c, char *const *row)
{
    c->name = xstrdup(row[0]);
    c->data_type = xstrdup(row[1]);
    c->is_unsigned = row[2] && strstr(row[2], "unsigned") != NULL;
    if (row[3] && row[4]) {
        c->collation = schema__id_of_collation(sc, row[3]);
        c->charset = cot_charset_intern(row[4]);
    } else if (strstr(c->data_type, "blob") || strstr(c->data_type, "binary") ||
               strcmp(c->data_type, "geometry") == 0) {
        c->collation = COT_COLLATION_BINARY;
        c->charset = cot_charset_intern("binary");
    }
    if (row[5] && (strcmp(c->data_type, "enum") == 0 || strcmp(c->data_type, "set") == 0)) {
        if (!schema__members_parse(row[5], &c->members, &c->n_members))
            LOG_W("select",
                  "cannot read the member names of %s.%s column `%s` from its type %.200s; "
                  "a row filter comparing it with text will be refused",
                  schema, table, c->name, row[5]);
    }
}

/* schema__from_history builds an uncached is_table from a known version. */
static is_table *schema__from_history(schema_cache *sc, const char *schema, const char *table,
                                      const sh_version *v)
{
    is_table *t = calloc(1, sizeof(*t));
    if (!t) abort();
    t->schema = xstrdup(schema);
    t->name = xstrdup(table);
    t->cols = calloc(v->n_cols ? v->n_cols : 1, sizeof(is_column));
    if (!t->cols) abort();
    if (schema__load_collations(sc) != COT_OK)
        LOG_W("select", "cannot read information_schema.COLLATIONS: %s", cot_err_msg());
    for (uint32_t i = 0; i < v->n_cols; i++)
        schema__column_fill(sc, schema, table, &t->cols[t->n_cols++],
                            v->fields + (size_t)i * SH_FIELDS);
    return t;
}

static cot_err schema__load_table(schema_cache *sc, const char *schema, const char *table,
                                  is_table **out)
{
    for (is_table *t = sc->tables; t; t = t->next) {
        if (strcmp(t->schema, schema) == 0 && strcmp(t->name, table) == 0) {
            *out = t;
            return COT_OK;
        }
    }
    cot_err rc = schema__load_collations(sc);
    if (rc) return rc;
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), COLLATION_NAME, "
                 "CHARACTER_SET_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE "
                 "TABLE_SCHEMA='");
    schema__escape(sc, &q, schema);
    buf_puts(&q, "' AND TABLE_NAME='");
    schema__escape(sc, &q, table);
    buf_puts(&q, "' ORDER BY ORDINAL_POSITION");
    MYSQL_RES *res;
    rc = schema__query(sc, q.data, &res);
    buf_deinit(&q);
    if (rc) return rc;
    is_table *t = calloc(1, sizeof(*t));
    if (!t) abort();
    t->schema = xstrdup(schema);
    t->name = xstrdup(table);
    uint64_t n = mysql_num_rows(res);
    t->cols = calloc(n ? n : 1, sizeof(is_column));
    if (!t->cols) abort();
    t->raw = calloc((size_t)(n ? n : 1) * SH_FIELDS, sizeof(char *));
    if (!t->raw) abort();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        for (uint32_t k = 0; k < SH_FIELDS; k++)
            t->raw[t->n_cols * SH_FIELDS + k] = row[k] ? xstrdup(row[k]) : NULL;
        schema__column_fill(sc, schema, table, &t->cols[t->n_cols++], row);
    }
    mysql_free_result(res);
    t->next = sc->tables;
    sc->tables = t;
    *out = t;
    return COT_OK;
}

bool schema_types_compatible(uint8_t type, uint16_t meta, const char *dt)
{
    uint8_t real = type;
    if (type == CT_STRING && meta >= 256) {
        uint8_t hi = (uint8_t)(meta >> 8);
        if ((hi & 0x30) != 0x30) hi |= 0x30; /* long CHAR length encoding */
        real = hi;
    }
#define IS(s) (strcmp(dt, s) == 0)
    switch (real) {
    case CT_TINY:
        return IS("tinyint") || IS("bool") || IS("boolean");
    case CT_SHORT:
        return IS("smallint");
    case CT_INT24:
        return IS("mediumint");
    case CT_LONG:
        return IS("int") || IS("integer");
    case CT_LONGLONG:
        return IS("bigint");
    case CT_FLOAT:
        return IS("float");
    case CT_DOUBLE:
        return IS("double") || IS("real") || IS("double precision");
    case CT_DECIMAL:
    case CT_NEWDECIMAL:
        return IS("decimal") || IS("numeric") || IS("fixed");
    case CT_BIT:
        return IS("bit");
    case CT_YEAR:
        return IS("year");
    case CT_DATE:
    case CT_NEWDATE:
        return IS("date");
    case CT_TIME:
    case CT_TIME2:
        return IS("time");
    case CT_DATETIME:
    case CT_DATETIME2:
        return IS("datetime");
    case CT_TIMESTAMP:
    case CT_TIMESTAMP2:
        return IS("timestamp");
    case CT_ENUM:
        return IS("enum");
    case CT_SET:
        return IS("set");
    case CT_VARCHAR:
    case CT_VAR_STRING:
        return IS("varchar") || IS("varbinary") || IS("char") || IS("binary");
    case CT_STRING:
        return IS("char") || IS("binary") || IS("inet6") || IS("inet4") || IS("uuid") ||
               IS("varchar") || IS("varbinary");
    case CT_JSON:
        return IS("json");
    case CT_GEOMETRY:
        return IS("geometry") || IS("point") || IS("linestring") || IS("polygon") ||
               IS("multipoint") || IS("multilinestring") || IS("multipolygon") ||
               IS("geometrycollection");
    case CT_TINY_BLOB:
    case CT_MEDIUM_BLOB:
    case CT_LONG_BLOB:
    case CT_BLOB:
        return strstr(dt, "blob") != NULL || strstr(dt, "text") != NULL || IS("json") ||
               IS("longtext");
    default:
        return true; /* a type we do not know: the decoder decides */
    }
#undef IS
}

cot_err schema_resolve(schema_cache *sc, const binlog_tablemap *tm, const char *where,
                       cot_table **out)
{
    /* FULL metadata leaves out the signedness field of a table without
     * numeric columns and the charset field of one without text columns:
     * information_schema is needed only for what a column really lacks */
    bool need_is = !tm->col_names;
    for (uint32_t i = 0; i < tm->n_cols && !need_is; i++) {
        uint8_t rt = tm->types[i] == CT_STRING && tm->meta[i] >= 256 ? (uint8_t)(tm->meta[i] >> 8)
                                                                     : tm->types[i];
        if ((rt & 0x30) != 0x30 && tm->types[i] == CT_STRING && tm->meta[i] >= 256)
            rt |= 0x30; /* long CHAR length encoding */
        bool numeric = rt == CT_TINY || rt == CT_SHORT || rt == CT_INT24 || rt == CT_LONG ||
                       rt == CT_LONGLONG || rt == CT_FLOAT || rt == CT_DOUBLE ||
                       rt == CT_NEWDECIMAL || rt == CT_DECIMAL;
        bool text = rt == CT_VARCHAR || rt == CT_VAR_STRING || rt == CT_STRING || rt == CT_BLOB ||
                    rt == CT_TINY_BLOB || rt == CT_MEDIUM_BLOB || rt == CT_LONG_BLOB;
        if (numeric && !tm->has_signedness) need_is = true;
        if (text && !tm->has_collation) need_is = true;
        if (rt == CT_ENUM && !(tm->enum_values && tm->enum_values[i])) need_is = true;
        if (rt == CT_SET && !(tm->set_values && tm->set_values[i])) need_is = true;
    }
    is_table *ist = NULL, *hist_tbl = NULL; /* hist_tbl: from the schema history, freed here */
    bool later = false;                     /* the history knows a version after this event */
    char from[300] = "";
    if (need_is && sc->conn) {
        const sh_version *v =
            sc->hist ? schema_history_lookup(sc->hist, tm->schema, tm->table, where, &later) : NULL;
        if (v && v->known) {
            ist = hist_tbl = schema__from_history(sc, tm->schema, tm->table, v);
            snprintf(from, sizeof(from), " (schema history: its columns from %s:%llu on)", v->file,
                     (unsigned long long)v->pos);
        } else {
            cot_err rc = schema__load_table(sc, tm->schema, tm->table, &ist);
            if (rc) {
                cot_err_prefix("at %s, table %s.%s: ", where, tm->schema, tm->table);
                return rc;
            }
        }
        if (ist->n_cols == 0 && !hist_tbl) {
            return cot_err_set(
                COT_ERR_SCHEMA,
                "at %s: the binlog has rows for %s.%s but the table no longer exists on the "
                "source, so its column names and signedness are unknown. Set "
                "binlog_row_metadata=FULL on the source (the binlog then carries them), or start "
                "the pipeline from a position after the table was dropped",
                where, tm->schema, tm->table);
        }
        if (ist->n_cols != tm->n_cols) {
            uint32_t n_known = ist->n_cols;
            if (hist_tbl) is_table_free(hist_tbl);
            return cot_err_set(
                COT_ERR_SCHEMA,
                "at %s: the binlog event for %s.%s has %u columns but the table has %u columns "
                "%s: it was altered after this event was written. cotter will not guess which "
                "columns moved. Set binlog_row_metadata=FULL on the source so events carry their "
                "own column names, or restart the pipeline from a position after the ALTER",
                where, tm->schema, tm->table, tm->n_cols, n_known, from[0] ? from : "now");
        }
        for (uint32_t i = 0; i < tm->n_cols; i++) {
            if (!schema_types_compatible(tm->types[i], tm->meta[i], ist->cols[i].data_type)) {
                cot_err_set(COT_ERR_SCHEMA,
                            "at %s: column %u (`%s`) of %s.%s is %s in the binlog event but %s "
                            "in the table %s: the table was altered after this event was "
                            "written. Set binlog_row_metadata=FULL on the source, or restart the "
                            "pipeline from a position after the ALTER",
                            where, i + 1, ist->cols[i].name, tm->schema, tm->table,
                            cot_coltype_name(tm->types[i]), ist->cols[i].data_type,
                            from[0] ? from : "now");
                if (hist_tbl) is_table_free(hist_tbl);
                return COT_ERR_SCHEMA;
            }
        }
        /* first sight (or after a DDL the history could not follow): what
         * information_schema says now is this table's shape from here on,
         * unless the history already knows a later version */
        if (!hist_tbl && sc->hist && !later && ist->raw)
            schema_history_record(sc->hist, tm->schema, tm->table, where, ist->n_cols, ist->raw);
    }

    /* what the event itself says, then what information_schema adds */
    cot_table *tbl = binlog_table_from_map(tm);
    tbl->has_names = true;
    for (uint32_t i = 0; i < tm->n_cols; i++) {
        cot_column *c = &tbl->cols[i];
        if (!c->name && ist) c->name = xstrdup(ist->cols[i].name);
        if (!c->name) tbl->has_names = false;
        if (!tm->has_signedness && ist) c->is_unsigned = ist->cols[i].is_unsigned;
        if (!c->members && ist && ist->cols[i].members) {
            c->members = ist->cols[i].members;
            c->n_members = ist->cols[i].n_members;
        }
        if ((!tm->has_collation || !tm->collation[i]) && ist) {
            c->collation = ist->cols[i].collation;
            c->charset = ist->cols[i].charset;
        } else if (c->collation && !c->charset) {
            c->charset = schema__charset_of_id(sc, c->collation);
        }
    }
    if (hist_tbl) is_table_free(hist_tbl);
    *out = tbl;
    return COT_OK;
}
