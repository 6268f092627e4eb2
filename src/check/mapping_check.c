/*
 * Mapping validation (contract in the header). Per routed table: read both
 * tables' columns and unique keys from information_schema (one table per
 * query: the server then reads only that table's definition), shape the
 * source columns as the transform stage does (columns:, exclude:, renames,
 * constants), then judge each pair. No state between calls; the caller's
 * thread and connections.
 */
#include "check/mapping_check.h"

#include "check/check_sql.h"
#include "check/fk_check.h"
#include "client/mysql_conn.h"
#include "pipeline/transform.h"
#include "util/buf.h"
#include "util/log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG "mapping"

/* ---- type rules ------------------------------------------------------- */

typedef enum tfam {
    F_INT,
    F_DEC,
    F_FLOAT,
    F_BIT,
    F_CHAR,
    F_BIN,
    F_DATE,
    F_DATETIME,
    F_TIME,
    F_YEAR,
    F_ENUM,
    F_SET,
    F_JSON,
    F_GEOM,
    F_OTHER
} tfam;

typedef struct tinfo {
    tfam fam;
    char base[32];  /* lower-case type word */
    long long size; /* int/float bytes, char/binary length, bit count */
    int prec;       /* decimal precision; temporal fractional digits */
    int scale;      /* decimal scale */
    bool is_unsigned;
    bool is_timestamp;
} tinfo;

static const struct {
    const char *word;
    tfam fam;
    long long size;
} type_words[] = {
    {"tinyint", F_INT, 1},
    {"smallint", F_INT, 2},
    {"mediumint", F_INT, 3},
    {"int", F_INT, 4},
    {"integer", F_INT, 4},
    {"bigint", F_INT, 8},
    {"decimal", F_DEC, 0},
    {"numeric", F_DEC, 0},
    {"dec", F_DEC, 0},
    {"fixed", F_DEC, 0},
    {"float", F_FLOAT, 4},
    {"double", F_FLOAT, 8},
    {"real", F_FLOAT, 8},
    {"bit", F_BIT, 1},
    {"char", F_CHAR, 1},
    {"varchar", F_CHAR, 0},
    {"tinytext", F_CHAR, 255},
    {"text", F_CHAR, 65535},
    {"mediumtext", F_CHAR, 16777215LL},
    {"longtext", F_CHAR, 4294967295LL},
    {"binary", F_BIN, 1},
    {"varbinary", F_BIN, 0},
    {"tinyblob", F_BIN, 255},
    {"blob", F_BIN, 65535},
    {"mediumblob", F_BIN, 16777215LL},
    {"longblob", F_BIN, 4294967295LL},
    {"date", F_DATE, 0},
    {"datetime", F_DATETIME, 0},
    {"timestamp", F_DATETIME, 0},
    {"time", F_TIME, 0},
    {"year", F_YEAR, 0},
    {"enum", F_ENUM, 0},
    {"set", F_SET, 0},
    {"json", F_JSON, 0},
    {"geometry", F_GEOM, 0},
    {"point", F_GEOM, 0},
    {"linestring", F_GEOM, 0},
    {"polygon", F_GEOM, 0},
    {"multipoint", F_GEOM, 0},
    {"multilinestring", F_GEOM, 0},
    {"multipolygon", F_GEOM, 0},
    {"geometrycollection", F_GEOM, 0},
};

/* type_parse reads a COLUMN_TYPE ("decimal(10,2) unsigned") into *t. */
static void type_parse(const char *s, tinfo *t)
{
    memset(t, 0, sizeof(*t));
    size_t n = 0;
    while (s[n] && isalpha((unsigned char)s[n]) && n + 1 < sizeof(t->base)) {
        t->base[n] = (char)tolower((unsigned char)s[n]);
        n++;
    }
    t->base[n] = '\0';
    t->fam = F_OTHER;
    for (size_t i = 0; i < sizeof(type_words) / sizeof(type_words[0]); i++) {
        if (strcmp(t->base, type_words[i].word) == 0) {
            t->fam = type_words[i].fam;
            t->size = type_words[i].size;
            break;
        }
    }
    long long a = -1, b = -1;
    const char *p = strchr(s, '(');
    if (p && t->fam != F_ENUM && t->fam != F_SET) {
        char *end = NULL;
        a = strtoll(p + 1, &end, 10);
        if (end && *end == ',') b = strtoll(end + 1, NULL, 10);
    }
    t->is_unsigned = strcasestr(s, "unsigned") != NULL;
    t->is_timestamp = strcmp(t->base, "timestamp") == 0;
    switch (t->fam) {
    case F_DEC:
        t->prec = a > 0 ? (int)a : 10;
        t->scale = b >= 0 ? (int)b : 0;
        break;
    case F_CHAR:
    case F_BIN:
    case F_BIT:
        if (a > 0) t->size = a;
        break;
    case F_FLOAT:
        if (a > 24 && strcmp(t->base, "float") == 0) t->size = 8; /* float(53) is a double */
        break;
    case F_DATETIME:
    case F_TIME:
        t->prec = a > 0 ? (int)a : 0;
        break;
    default:
        break;
    }
}

/* int_digits: decimal digits of the largest value of an integer type. */
static int int_digits(long long bytes)
{
    switch (bytes) {
    case 1:
        return 3;
    case 2:
        return 5;
    case 3:
        return 8;
    case 4:
        return 10;
    default:
        return 20;
    }
}

static bool is_text(tfam f)
{
    return f == F_CHAR || f == F_ENUM || f == F_SET || f == F_JSON;
}

static mapping_level say(mapping_level lv, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static mapping_level say(mapping_level lv, char *why, size_t cap, const char *fmt, ...)
{
    if (cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return lv;
}

mapping_level mapping_type_compat(const char *src_type, const char *tgt_type, char *why, size_t cap)
{
    if (cap) why[0] = '\0';
    if (strcasecmp(src_type, tgt_type) == 0) return MAPPING_OK;
    tinfo s, t;
    type_parse(src_type, &s);
    type_parse(tgt_type, &t);
    const char *refused = "values the target type cannot hold are refused";
    switch (s.fam) {
    case F_INT:
    case F_YEAR:
        if (s.fam == F_YEAR) {
            s.size = 2;
            s.is_unsigned = true;
        }
        if (t.fam == F_INT) {
            if (t.size < s.size)
                return say(MAPPING_WARN, why, cap, "%s is narrower than %s: large values are %s",
                           tgt_type, src_type, "refused or cut");
            if (s.is_unsigned && !t.is_unsigned && t.size == s.size)
                return say(MAPPING_WARN, why, cap,
                           "%s is signed: unsigned values above its maximum are refused or cut",
                           tgt_type);
            if (!s.is_unsigned && t.is_unsigned)
                return say(MAPPING_WARN, why, cap, "%s is unsigned: negative values are refused",
                           tgt_type);
            return MAPPING_OK;
        }
        if (t.fam == F_YEAR)
            return s.fam == F_YEAR ? MAPPING_OK
                                   : say(MAPPING_WARN, why, cap, "YEAR holds 1901..2155 only");
        if (t.fam == F_DEC) {
            if (t.prec - t.scale < int_digits(s.size))
                return say(MAPPING_WARN, why, cap, "%s has too few integer digits for %s", tgt_type,
                           src_type);
            return MAPPING_OK;
        }
        if (t.fam == F_FLOAT) {
            if (s.size >= 4 && t.size == 4)
                return say(MAPPING_WARN, why, cap,
                           "FLOAT keeps about 7 digits: %s values are rounded", src_type);
            if (s.size == 8)
                return say(MAPPING_WARN, why, cap,
                           "DOUBLE keeps about 15 digits: the largest BIGINT values are rounded");
            return MAPPING_OK;
        }
        if (t.fam == F_CHAR)
            return t.size > int_digits(s.size)
                       ? MAPPING_OK
                       : say(MAPPING_WARN, why, cap, "%s is too short for every %s value", tgt_type,
                             src_type);
        if (t.fam == F_BIT || t.fam == F_BIN || t.fam == F_ENUM || t.fam == F_SET)
            return say(MAPPING_WARN, why, cap, "numbers stored as %s: %s", t.base, refused);
        return say(MAPPING_FAIL, why, cap, "numbers cannot be stored in %s", tgt_type);
    case F_DEC:
    case F_FLOAT:
        if (t.fam == F_DEC && s.fam == F_DEC) {
            if (t.scale < s.scale)
                return say(MAPPING_WARN, why, cap,
                           "%s has fewer decimals than %s: values are rounded", tgt_type, src_type);
            if (t.prec - t.scale < s.prec - s.scale)
                return say(MAPPING_WARN, why, cap, "%s has fewer integer digits than %s: %s",
                           tgt_type, src_type, refused);
            return MAPPING_OK;
        }
        if (t.fam == F_FLOAT && s.fam == F_FLOAT)
            return t.size < s.size ? say(MAPPING_WARN, why, cap,
                                         "FLOAT keeps about 7 digits: DOUBLE values are rounded")
                                   : MAPPING_OK;
        if (t.fam == F_DEC || t.fam == F_FLOAT || t.fam == F_INT)
            return say(MAPPING_WARN, why, cap, "%s into %s: values are rounded", src_type,
                       tgt_type);
        if (t.fam == F_CHAR) return MAPPING_OK;
        return say(MAPPING_FAIL, why, cap, "numbers cannot be stored in %s", tgt_type);
    case F_BIT:
        if (t.fam == F_BIT)
            return t.size < s.size ? say(MAPPING_WARN, why, cap, "%s has fewer bits than %s",
                                         tgt_type, src_type)
                                   : MAPPING_OK;
        if (t.fam == F_INT)
            return t.size * 8 >= s.size
                       ? MAPPING_OK
                       : say(MAPPING_WARN, why, cap, "%s is too narrow for %s", tgt_type, src_type);
        if (t.fam == F_BIN) return MAPPING_OK;
        return say(MAPPING_FAIL, why, cap, "bit values cannot be stored in %s", tgt_type);
    case F_CHAR:
    case F_ENUM:
    case F_SET:
    case F_JSON:
        if (t.fam == F_CHAR) {
            if (s.fam == F_CHAR && t.size < s.size)
                return say(MAPPING_WARN, why, cap,
                           "%s is shorter than %s: longer values are refused or cut", tgt_type,
                           src_type);
            return MAPPING_OK;
        }
        if (t.fam == F_JSON)
            return s.fam == F_JSON
                       ? MAPPING_OK
                       : say(MAPPING_WARN, why, cap, "values that are not valid JSON are refused");
        if (t.fam == F_ENUM || t.fam == F_SET)
            return say(MAPPING_WARN, why, cap, "values outside the target's %s list are refused",
                       t.base);
        if (t.fam == F_BIN)
            return say(MAPPING_WARN, why, cap,
                       "text stored as bytes: comparisons and sorting "
                       "become binary");
        return say(MAPPING_FAIL, why, cap,
                   "text cannot be stored in %s: values that are not %s are refused", tgt_type,
                   t.fam == F_INT || t.fam == F_DEC || t.fam == F_FLOAT ? "numbers" : "dates");
    case F_BIN:
        if (t.fam == F_BIN)
            return t.size < s.size ? say(MAPPING_WARN, why, cap,
                                         "%s is shorter than %s: longer values are refused or cut",
                                         tgt_type, src_type)
                                   : MAPPING_OK;
        if (is_text(t.fam))
            return say(MAPPING_WARN, why, cap,
                       "bytes stored as text: bytes that are not valid characters are refused");
        return say(MAPPING_FAIL, why, cap, "binary values cannot be stored in %s", tgt_type);
    case F_DATE:
        if (t.fam == F_DATE || t.fam == F_DATETIME)
            return t.is_timestamp ? say(MAPPING_WARN, why, cap,
                                        "TIMESTAMP holds 1970..2038 only: older and later dates "
                                        "are refused")
                                  : MAPPING_OK;
        if (t.fam == F_CHAR)
            return t.size >= 10
                       ? MAPPING_OK
                       : say(MAPPING_WARN, why, cap, "%s is too short for a date", tgt_type);
        return say(MAPPING_FAIL, why, cap, "dates cannot be stored in %s", tgt_type);
    case F_DATETIME:
        if (t.fam == F_DATETIME) {
            if (t.prec < s.prec)
                return say(MAPPING_WARN, why, cap,
                           "%s keeps fewer fractional digits than %s: they are cut", tgt_type,
                           src_type);
            if (t.is_timestamp && !s.is_timestamp)
                return say(MAPPING_WARN, why, cap,
                           "TIMESTAMP holds 1970..2038 only: other DATETIME values are refused");
            return MAPPING_OK;
        }
        if (t.fam == F_DATE) return say(MAPPING_WARN, why, cap, "DATE drops the time of day");
        if (t.fam == F_CHAR)
            return t.size >= 19 ? MAPPING_OK
                                : say(MAPPING_WARN, why, cap, "%s is too short for a date and time",
                                      tgt_type);
        return say(MAPPING_FAIL, why, cap, "dates and times cannot be stored in %s", tgt_type);
    case F_TIME:
        if (t.fam == F_TIME)
            return t.prec < s.prec
                       ? say(MAPPING_WARN, why, cap, "%s keeps fewer fractional digits than %s",
                             tgt_type, src_type)
                       : MAPPING_OK;
        if (t.fam == F_CHAR) return MAPPING_OK;
        return say(MAPPING_FAIL, why, cap, "times cannot be stored in %s", tgt_type);
    case F_GEOM:
        if (t.fam == F_GEOM)
            return strcmp(t.base, "geometry") == 0 || strcmp(t.base, s.base) == 0
                       ? MAPPING_OK
                       : say(MAPPING_WARN, why, cap, "only %s values fit %s", t.base, tgt_type);
        if (t.fam == F_BIN) return say(MAPPING_WARN, why, cap, "geometries stored as raw bytes");
        return say(MAPPING_FAIL, why, cap, "geometries cannot be stored in %s", tgt_type);
    case F_OTHER:
    default:
        if (strcmp(s.base, t.base) == 0) return MAPPING_OK;
        return say(MAPPING_WARN, why, cap, "cotter cannot tell whether %s values fit %s", src_type,
                   tgt_type);
    }
}

mapping_level mapping_charset_compat(const char *src_cs, const char *tgt_cs, char *why, size_t cap)
{
    if (cap) why[0] = '\0';
    if (!src_cs || !tgt_cs || !src_cs[0] || !tgt_cs[0]) return MAPPING_OK;
    if (strcasecmp(src_cs, tgt_cs) == 0) return MAPPING_OK;
    if (strcasecmp(tgt_cs, "utf8mb4") == 0 || strcasecmp(src_cs, "ascii") == 0) return MAPPING_OK;
    bool src_utf8 = strncasecmp(src_cs, "utf8", 4) == 0;
    bool tgt_utf8 = strncasecmp(tgt_cs, "utf8", 4) == 0;
    if (src_utf8 && tgt_utf8)
        return say(MAPPING_WARN, why, cap,
                   "target charset %s has no 4-byte characters (emoji, some CJK): rows holding "
                   "them are refused",
                   tgt_cs);
    if (tgt_utf8) return MAPPING_OK; /* utf8mb3 holds every character of the single-byte sets */
    return say(MAPPING_WARN, why, cap,
               "characters of %s that %s lacks are refused or stored as '?'", src_cs, tgt_cs);
}

/* ---- findings --------------------------------------------------------- */

void mapping_findings_add(mapping_findings *out, mapping_level lv, const char *table, int line,
                          const char *fix, const char *fmt, ...)
{
    mapping_finding *v = realloc(out->v, (out->n + 1) * sizeof(*v));
    if (!v) abort();
    out->v = v;
    mapping_finding *f = &v[out->n++];
    f->level = lv;
    f->line = line;
    f->table = strdup(table ? table : "");
    f->fix = strdup(fix ? fix : "");
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&f->message, fmt, ap) < 0) f->message = NULL;
    va_end(ap);
    if (!f->table || !f->fix || !f->message) abort();
}

void mapping_findings_free(mapping_findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].table);
        free(f->v[i].message);
        free(f->v[i].fix);
    }
    free(f->v);
    memset(f, 0, sizeof(*f));
}

/* ---- reading table definitions --------------------------------------- */

typedef struct mcol {
    char *name;
    char *type; /* COLUMN_TYPE */
    char *charset;
    bool nullable;
    bool has_default;
    bool generated;
    bool auto_inc;
    bool fed; /* target: some mapped column or constant writes it */
} mcol;

typedef struct mtable {
    mcol *cols;
    size_t n_cols;
    char key_name[65];
    size_t key[16]; /* column indexes of the chosen key */
    size_t n_key;
    bool key_nullable; /* the best key is a UNIQUE with a NULL-able column */
} mtable;

static void mtable_free(mtable *t)
{
    for (size_t i = 0; i < t->n_cols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].type);
        free(t->cols[i].charset);
    }
    free(t->cols);
    memset(t, 0, sizeof(*t));
}

static int mtable_find(const mtable *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcasecmp(t->cols[i].name, name) == 0) return (int)i;
    return -1;
}

static void where_names(buf *q, const char *schema, const char *table)
{
    buf_puts(q, " WHERE TABLE_SCHEMA=");
    check_sql_literal(q, schema, strlen(schema), "varchar");
    buf_puts(q, " AND TABLE_NAME=");
    check_sql_literal(q, table, strlen(table), "varchar");
}

static cot_err run_query(MYSQL *my, const char *what, const buf *q, MYSQL_RES **res)
{
    if (mysql_real_query(my, q->data, q->len) || !(*res = mysql_store_result(my)))
        return cot_err_set(mysql_errno(my) == 2006 || mysql_errno(my) == 2013 ? COT_ERR_NET
                                                                              : COT_ERR_SQL,
                           "%s: %s (errno %u)", what, mysql_error(my), mysql_errno(my));
    return COT_OK;
}

static char *dup_or_null(const char *s)
{
    if (!s) return NULL;
    char *r = strdup(s);
    if (!r) abort();
    return r;
}

/* mtable_read fills *t with schema.table's columns and best unique key;
 * a missing table leaves n_cols 0. */
static cot_err mtable_read(MYSQL *my, const char *role, const char *schema, const char *table,
                           mtable *t)
{
    memset(t, 0, sizeof(*t));
    buf q;
    buf_init(&q);
    MYSQL_RES *res = NULL;
    char what[300];
    snprintf(what, sizeof(what), "%s: reading the columns of %s.%s", role, schema, table);
    buf_puts(&q, "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, IS_NULLABLE, "
                 "COLUMN_DEFAULT IS NOT NULL, EXTRA FROM information_schema.COLUMNS");
    where_names(&q, schema, table);
    buf_puts(&q, " ORDER BY ORDINAL_POSITION");
    cot_err rc = run_query(my, what, &q, &res);
    if (rc) goto out;
    t->cols = calloc(mysql_num_rows(res) + 1, sizeof(mcol));
    if (!t->cols) abort();
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        mcol *c = &t->cols[t->n_cols++];
        const char *extra = row[5] ? row[5] : "";
        c->name = dup_or_null(row[0] ? row[0] : "");
        c->type = dup_or_null(row[1] ? row[1] : "");
        c->charset = dup_or_null(row[2]);
        c->nullable = row[3] && strcmp(row[3], "YES") == 0;
        c->has_default = row[4] && strcmp(row[4], "1") == 0;
        c->auto_inc = strcasestr(extra, "auto_increment") != NULL;
        c->generated = strcasestr(extra, "GENERATED") || strcasecmp(extra, "VIRTUAL") == 0 ||
                       strcasecmp(extra, "PERSISTENT") == 0 || strcasecmp(extra, "STORED") == 0;
    }
    mysql_free_result(res);
    res = NULL;
    if (t->n_cols == 0) goto out;

    snprintf(what, sizeof(what), "%s: reading the unique keys of %s.%s", role, schema, table);
    buf_reset(&q);
    buf_puts(&q, "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS");
    where_names(&q, schema, table);
    buf_puts(&q, " AND NON_UNIQUE=0 ORDER BY INDEX_NAME='PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX");
    if ((rc = run_query(my, what, &q, &res))) goto out;
    /* best: PRIMARY, else the first unique key of NOT NULL columns, else a unique key with
     * NULL-able ones; an index over an expression (no column) is never usable */
    char cur[65] = "";
    size_t cols[16], n = 0;
    bool cur_ok = true, cur_nullable = false;
    int best_rank = 0;
    for (MYSQL_ROW row;;) {
        row = mysql_fetch_row(res);
        if (!row || !row[0] || strcmp(row[0], cur) != 0) {
            if (cur[0] && cur_ok && n > 0) {
                int rank = strcmp(cur, "PRIMARY") == 0 ? 3 : cur_nullable ? 1 : 2;
                if (rank > best_rank) {
                    best_rank = rank;
                    snprintf(t->key_name, sizeof(t->key_name), "%s", cur);
                    memcpy(t->key, cols, n * sizeof(size_t));
                    t->n_key = n;
                    t->key_nullable = rank == 1;
                }
            }
            if (!row || !row[0]) break;
            snprintf(cur, sizeof(cur), "%s", row[0]);
            n = 0;
            cur_ok = true;
            cur_nullable = false;
        }
        int c = row[1] ? mtable_find(t, row[1]) : -1;
        if (c < 0 || n >= 16) {
            cur_ok = false;
            continue;
        }
        if (t->cols[c].nullable) cur_nullable = true;
        cols[n++] = (size_t)c;
    }
out:
    mysql_free_result(res);
    buf_deinit(&q);
    return rc;
}

/* ---- one table --------------------------------------------------------- */

/* One mapped column: target name and where its value comes from. */
typedef struct mpair {
    const char *tgt_name;
    int src; /* source column index, -1 for a constant */
} mpair;

static void key_list(buf *b, const mtable *t)
{
    for (size_t k = 0; k < t->n_key; k++) {
        if (k) buf_putc(b, ',');
        buf_ident(b, t->cols[t->key[k]].name);
    }
}

static void tbl_ident(buf *b, const char *schema, const char *table)
{
    buf_ident(b, schema);
    buf_putc(b, '.');
    buf_ident(b, table);
}

static cot_err check_table(const cfg_pipeline *pc, const cfg_table_map *tm, MYSQL *src, MYSQL *tgt,
                           const mapping_check_opts *opts, const char *ss, const char *st,
                           mapping_findings *out)
{
    char ts[65], tt[65], label[300], why[300];
    if (!table_route(tm->to, ss, st, ts, sizeof(ts), tt, sizeof(tt))) {
        mapping_findings_add(out, MAPPING_FAIL, ss, tm->line, "fix the to: template of the mapping",
                             "mapping %s cannot rename %s.%s: %s", tm->match, ss, st,
                             cot_err_msg());
        return COT_OK;
    }
    snprintf(label, sizeof(label), "%s.%s -> %s.%s", ss, st, ts, tt);
    out->n_tables++;
    mtable S, T;
    memset(&T, 0, sizeof(T));
    char role_s[200], role_t[200];
    snprintf(role_s, sizeof(role_s), "source %s", pc->source_name);
    snprintf(role_t, sizeof(role_t), "target %s", pc->target_name);
    cot_err rc = mtable_read(src, role_s, ss, st, &S);
    if (!rc) rc = mtable_read(tgt, role_t, ts, tt, &T);
    buf fix;
    buf_init(&fix);
    mpair *pairs = NULL;
    size_t n_pairs = 0, fails = 0, warns = 0;
    if (rc || S.n_cols == 0) goto out;

    if (T.n_cols == 0) {
        if (opts->target_creates_tables) {
            mapping_findings_add(out, MAPPING_OK, label, tm->line, "",
                                 "target table %s.%s does not exist yet: the pipeline creates it",
                                 ts, tt);
        } else {
            buf_printf(&fix,
                       "create it on target %s with the source's definition (SHOW CREATE "
                       "TABLE ",
                       pc->target_name);
            tbl_ident(&fix, ss, st);
            buf_printf(&fix, " on source %s, renamed to ", pc->source_name);
            tbl_ident(&fix, ts, tt);
            buf_puts(&fix, "), or let the pipeline create its tables");
            mapping_findings_add(out, MAPPING_FAIL, label, tm->line, fix.data,
                                 "target table %s.%s (mapped from source %s.%s) does not exist", ts,
                                 tt, ss, st);
        }
        goto out;
    }

    /* the columns as the transform stage shapes them */
    pairs = calloc(S.n_cols + (size_t)tm->n_columns + (size_t)tm->n_consts + 1, sizeof(*pairs));
    if (!pairs) abort();
    if (tm->n_columns) {
        for (int k = 0; k < tm->n_columns; k++) {
            int i = mtable_find(&S, tm->columns[k]);
            if (i < 0) {
                buf_reset(&fix);
                buf_printf(&fix, "remove '%s' from columns: (line %d) or add it to source %s.%s",
                           tm->columns[k], tm->columns_line, ss, st);
                mapping_findings_add(out, MAPPING_FAIL, label, tm->columns_line, fix.data,
                                     "columns: names '%s', which source table %s.%s does not have",
                                     tm->columns[k], ss, st);
                fails++;
                continue;
            }
            pairs[n_pairs++] = (mpair){tm->columns_as[k], i};
        }
    } else {
        for (size_t i = 0; i < S.n_cols; i++) {
            bool drop = false;
            for (int e = 0; e < tm->n_exclude; e++)
                if (strcasecmp(S.cols[i].name, tm->exclude[e]) == 0) drop = true;
            if (!drop) pairs[n_pairs++] = (mpair){S.cols[i].name, (int)i};
        }
    }
    for (int k = 0; k < tm->n_consts; k++) pairs[n_pairs++] = (mpair){tm->const_names[k], -1};

    for (size_t p = 0; p < n_pairs; p++) {
        int ti = mtable_find(&T, pairs[p].tgt_name);
        const mcol *sc = pairs[p].src >= 0 ? &S.cols[pairs[p].src] : NULL;
        if (ti < 0) {
            buf_reset(&fix);
            buf_puts(&fix, "ALTER TABLE ");
            tbl_ident(&fix, ts, tt);
            buf_puts(&fix, " ADD COLUMN ");
            buf_ident(&fix, pairs[p].tgt_name);
            buf_printf(&fix, " %s", sc ? sc->type : "VARCHAR(255)");
            if (sc && !tm->n_columns)
                buf_printf(&fix, " on target %s, or add exclude: [%s] to the mapping at line %d",
                           pc->target_name, sc->name, tm->line);
            else
                buf_printf(&fix, " on target %s, or change the mapping at line %d", pc->target_name,
                           tm->line);
            mapping_findings_add(out, MAPPING_FAIL, label, tm->line, fix.data,
                                 "target table %s.%s has no column '%s' (mapped from %s)", ts, tt,
                                 pairs[p].tgt_name, sc ? "source column" : "a constant");
            fails++;
            continue;
        }
        mcol *tc = &T.cols[ti];
        tc->fed = true;
        if (!sc || tc->generated) continue;
        mapping_level lv = mapping_type_compat(sc->type, tc->type, why, sizeof(why));
        if (lv != MAPPING_OK) {
            buf_reset(&fix);
            buf_puts(&fix, "ALTER TABLE ");
            tbl_ident(&fix, ts, tt);
            buf_puts(&fix, " MODIFY ");
            buf_ident(&fix, tc->name);
            buf_printf(&fix, " %s%s", sc->type, tc->nullable ? " NULL" : " NOT NULL");
            mapping_findings_add(out, lv, label, tm->line, fix.data,
                                 "column '%s': source type %s, target type %s: %s", tc->name,
                                 sc->type, tc->type, why);
            if (lv == MAPPING_FAIL)
                fails++;
            else
                warns++;
        }
        lv = mapping_charset_compat(sc->charset, tc->charset, why, sizeof(why));
        if (lv != MAPPING_OK) {
            buf_reset(&fix);
            buf_puts(&fix, "ALTER TABLE ");
            tbl_ident(&fix, ts, tt);
            buf_puts(&fix, " MODIFY ");
            buf_ident(&fix, tc->name);
            buf_printf(&fix, " %s CHARACTER SET %s", tc->type, sc->charset);
            mapping_findings_add(out, lv, label, tm->line, fix.data,
                                 "column '%s': source charset %s, target charset %s: %s", tc->name,
                                 sc->charset, tc->charset, why);
            warns++;
        }
    }
    for (size_t i = 0; i < T.n_cols; i++) {
        const mcol *tc = &T.cols[i];
        if (tc->fed || tc->nullable || tc->has_default || tc->generated || tc->auto_inc) continue;
        buf_reset(&fix);
        buf_puts(&fix, "ALTER TABLE ");
        tbl_ident(&fix, ts, tt);
        buf_puts(&fix, " ALTER ");
        buf_ident(&fix, tc->name);
        buf_puts(&fix, " SET DEFAULT <value>, or map a column or a constant to it");
        mapping_findings_add(
            out, MAPPING_WARN, label, tm->line, fix.data,
            "target column '%s' is NOT NULL without a default and nothing maps to it: new "
            "rows get the type's implicit value ('' or 0)",
            tc->name);
        warns++;
    }

    /* the key rows are found by */
    bool src_keyed = S.n_key > 0 && !S.key_nullable;
    if (T.n_key == 0 || T.key_nullable) {
        buf_reset(&fix);
        if (S.n_key) {
            buf_puts(&fix, "ALTER TABLE ");
            tbl_ident(&fix, ts, tt);
            buf_puts(&fix, " ADD PRIMARY KEY (");
            key_list(&fix, &S);
            buf_puts(&fix, ")");
        } else {
            buf_printf(&fix, "add a PRIMARY KEY to source %s.%s and target %s.%s", ss, st, ts, tt);
        }
        if (src_keyed) {
            mapping_findings_add(
                out, MAPPING_FAIL, label, tm->line, fix.data,
                "target %s.%s has no usable key (PRIMARY KEY or UNIQUE of NOT NULL "
                "columns) while source %s.%s has %s: updates and deletes could not find "
                "their row by key",
                ts, tt, ss, st, S.key_name);
            fails++;
        } else {
            mapping_findings_add(
                out, MAPPING_WARN, label, tm->line, fix.data,
                "neither table has a usable key: rows are matched on every column, one by "
                "one (slow; identical rows are indistinguishable)");
            warns++;
        }
    } else {
        for (size_t k = 0; k < T.n_key; k++) {
            const mcol *kc = &T.cols[T.key[k]];
            if (kc->fed || kc->auto_inc) continue;
            buf_reset(&fix);
            buf_printf(&fix, "map a source column to '%s' (mapping at line %d) or give ", kc->name,
                       tm->line);
            tbl_ident(&fix, ts, tt);
            buf_puts(&fix, " a key made of mapped columns");
            mapping_findings_add(
                out, MAPPING_FAIL, label, tm->line, fix.data,
                "key column '%s' of target %s.%s (%s) gets no value from the mapping: "
                "rows cannot be found by key",
                kc->name, ts, tt, T.key_name);
            fails++;
        }
    }
    if (!fails && !warns) {
        buf_reset(&fix);
        key_list(&fix, &T);
        mapping_findings_add(out, MAPPING_OK, label, tm->line, "",
                             "%zu columns mapped, key %s (%s)", n_pairs, T.key_name,
                             fix.data ? fix.data : "");
    }
out:
    free(pairs);
    buf_deinit(&fix);
    mtable_free(&S);
    mtable_free(&T);
    return rc;
}

cot_err mapping_check_pipeline(const cfg_pipeline *pc, MYSQL *src, MYSQL *tgt,
                               const mapping_check_opts *opts, mapping_findings *out)
{
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "
                 "TABLE_TYPE='BASE TABLE' AND TABLE_SCHEMA NOT IN "
                 "('mysql','information_schema','performance_schema','sys') ORDER BY 1,2");
    char what[200];
    snprintf(what, sizeof(what), "source %s: listing tables", pc->source_name);
    MYSQL_RES *res = NULL;
    cot_err rc = run_query(src, what, &q, &res);
    buf_deinit(&q);
    if (rc) return rc;
    bool *used = calloc((size_t)pc->n_tables + 1, sizeof(bool));
    if (!used) abort();
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        char base[256];
        const cfg_table_map *tm = transform_mapping(pc, row[0], row[1], base, sizeof(base));
        if (!tm || base[0]) continue; /* not mapped, or an online-schema-change shadow */
        used[tm - pc->tables] = true;
        size_t before = out->n;
        rc = check_table(pc, tm, src, tgt, opts, row[0], row[1], out);
        if (rc) break;
        if (opts->stop_at_first_fail) {
            bool failed = false;
            for (size_t i = before; i < out->n; i++) failed |= out->v[i].level == MAPPING_FAIL;
            if (failed) break;
        }
    }
    mysql_free_result(res);
    for (int i = 0; !rc && !opts->stop_at_first_fail && i < pc->n_tables; i++) {
        if (used[i]) continue;
        mapping_findings_add(out, MAPPING_WARN, pc->tables[i].match, pc->tables[i].line,
                             "fix the match: pattern, or create the table on the source",
                             "mapping '%s' matches no table of source %s", pc->tables[i].match,
                             pc->source_name);
    }
    free(used);
    return rc;
}

cot_err mapping_check_session(const char *cfg_path, const cfg_pipeline *pc, MYSQL *src,
                              bool target_creates_tables, bool ddl_pending)
{
    if (!cot_url_is_mysql(&pc->target->url)) return COT_OK;
    char role[200];
    snprintf(role, sizeof(role), "target '%s'", pc->target_name);
    mysql_conn_opts mo = {.role = role,
                          .connect_timeout_s = pc->target->connect_timeout_s,
                          .read_timeout_s = pc->target->read_timeout_s,
                          .write_timeout_s = pc->target->write_timeout_s};
    MYSQL *tgt = NULL;
    cot_err rc = mysql_conn_open(&pc->target->url, &mo, &tgt);
    if (rc) return rc;
    mapping_check_opts o = {.target_creates_tables = target_creates_tables,
                            .stop_at_first_fail = !ddl_pending};
    mapping_findings f;
    memset(&f, 0, sizeof(f));
    rc = mapping_check_pipeline(pc, src, tgt, &o, &f);
    /* cascading foreign keys the target does not honour: warnings only */
    if (!rc && fk_check_pipeline(pc, src, tgt, &f) != COT_OK)
        LOG_W(TAG, "pipeline %s: could not compare cascading foreign keys: %s", pc->name,
              cot_err_msg());
    mysql_conn_close(tgt);
    if (!rc) {
        for (size_t i = 0; i < f.n; i++) {
            const mapping_finding *x = &f.v[i];
            if (x->level == MAPPING_WARN)
                LOG_W(TAG, "pipeline %s: mapping %s:%d (%s): %s; fix: %s", pc->name,
                      cfg_path ? cfg_path : "config", x->line, x->table, x->message, x->fix);
            if (x->level != MAPPING_FAIL) continue;
            if (ddl_pending) {
                LOG_W(TAG,
                      "pipeline %s: mapping %s:%d (%s): %s; going on, because the binlog still "
                      "to be read may hold the DDL that changes this (ddl: apply or stop); if not, "
                      "the "
                      "first row that does not fit stops the pipeline; fix: %s",
                      pc->name, cfg_path ? cfg_path : "config", x->line, x->table, x->message,
                      x->fix);
                continue;
            }
            rc = cot_err_set(COT_ERR_SCHEMA,
                             "mapping %s:%d (%s): %s; fix: %s (cotter doctor lists every mapping "
                             "problem)",
                             cfg_path ? cfg_path : "config", x->line, x->table, x->message, x->fix);
            break;
        }
        if (!rc)
            LOG_I(TAG, "pipeline %s: %zu mapped table(s) validated against target '%s'", pc->name,
                  f.n_tables, pc->target_name);
    }
    mapping_findings_free(&f);
    return rc;
}
