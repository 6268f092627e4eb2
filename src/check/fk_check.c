/*
 * Cascading foreign keys against a pipeline (contract in the header). Both
 * sides are read with two queries each (REFERENTIAL_CONSTRAINTS for the
 * rules, KEY_COLUMN_USAGE for the columns), never a JOIN of
 * information_schema tables; keys are then matched by the routed names of
 * their tables and their column lists.
 */
#include "check/fk_check.h"

#include "pipeline/transform.h"
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One foreign key as read from a server. */
typedef struct fkey {
    char schema[65], name[65]; /* the constraint (schema of the child table) */
    char table[65];            /* child table */
    char ref_schema[65], ref_table[65];
    char del[16], upd[16];            /* DELETE_RULE, UPDATE_RULE */
    char cols[512], ref_cols[512];    /* "a,b" in ordinal order */
    const cfg_table_map *tm, *ref_tm; /* the pipeline's mappings of child and parent */
    char t_schema[65], t_table[65];   /* child routed to the target */
    char t_ref_schema[65], t_ref_table[65];
} fkey;

typedef struct fkeys {
    fkey *v;
    size_t n;
} fkeys;

static bool fk__cascading(const char *rule)
{
    return strcasecmp(rule, "CASCADE") == 0 || strcasecmp(rule, "SET NULL") == 0 ||
           strcasecmp(rule, "SET DEFAULT") == 0;
}

static void fk__copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

static cot_err fk__query(MYSQL *my, const char *role, const char *sql, MYSQL_RES **res)
{
    if (mysql_query(my, sql) != 0 || !(*res = mysql_store_result(my)))
        return cot_err_set(COT_ERR_SQL, "%s: reading foreign keys from information_schema: %s",
                           role, mysql_error(my));
    return COT_OK;
}

/* fk__read reads every foreign key of the server with a cascading rule. */
static cot_err fk__read(MYSQL *my, const char *role, fkeys *out)
{
    MYSQL_RES *res;
    cot_err rc = fk__query(my, role,
                           "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_NAME, "
                           "UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME, DELETE_RULE, "
                           "UPDATE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE "
                           "DELETE_RULE IN ('CASCADE','SET NULL','SET DEFAULT') OR UPDATE_RULE IN "
                           "('CASCADE','SET NULL','SET DEFAULT')",
                           &res);
    if (rc) return rc;
    out->v = calloc(mysql_num_rows(res) + 1, sizeof(fkey));
    if (!out->v) abort();
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        fkey *k = &out->v[out->n++];
        fk__copy(k->schema, sizeof(k->schema), row[0]);
        fk__copy(k->name, sizeof(k->name), row[1]);
        fk__copy(k->table, sizeof(k->table), row[2]);
        fk__copy(k->ref_schema, sizeof(k->ref_schema), row[3]);
        fk__copy(k->ref_table, sizeof(k->ref_table), row[4]);
        fk__copy(k->del, sizeof(k->del), row[5]);
        fk__copy(k->upd, sizeof(k->upd), row[6]);
    }
    mysql_free_result(res);
    if (out->n == 0) return COT_OK;
    rc = fk__query(my, role,
                   "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, "
                   "REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
                   "REFERENCED_TABLE_NAME IS NOT NULL ORDER BY CONSTRAINT_SCHEMA, TABLE_NAME, "
                   "CONSTRAINT_NAME, ORDINAL_POSITION",
                   &res);
    if (rc) return rc;
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        if (!row[0] || !row[1] || !row[2] || !row[3] || !row[4]) continue;
        for (size_t i = 0; i < out->n; i++) {
            fkey *k = &out->v[i];
            if (strcmp(k->schema, row[0]) != 0 || strcmp(k->name, row[1]) != 0 ||
                strcmp(k->table, row[2]) != 0)
                continue;
            size_t n = strlen(k->cols), m = strlen(k->ref_cols);
            snprintf(k->cols + n, sizeof(k->cols) - n, "%s%s", n ? "," : "", row[3]);
            snprintf(k->ref_cols + m, sizeof(k->ref_cols) - m, "%s%s", m ? "," : "", row[4]);
        }
    }
    mysql_free_result(res);
    return COT_OK;
}

/* fk__route finds pc's mapping of schema.table and its target name. */
static const cfg_table_map *fk__route(const cfg_pipeline *pc, const char *schema, const char *table,
                                      char *ts, char *tt)
{
    const cfg_table_map *tm = transform_mapping(pc, schema, table, NULL, 0);
    if (tm && !table_route(tm->to, schema, table, ts, 65, tt, 65)) return NULL;
    return tm;
}

/* fk__same says whether target key t is source key s routed: same tables
 * (as routed), columns and rules. */
static bool fk__same(const fkey *s, const fkey *t)
{
    return strcmp(s->t_schema, t->schema) == 0 && strcmp(s->t_table, t->table) == 0 &&
           strcmp(s->t_ref_schema, t->ref_schema) == 0 &&
           strcmp(s->t_ref_table, t->ref_table) == 0 && strcasecmp(s->cols, t->cols) == 0 &&
           strcasecmp(s->ref_cols, t->ref_cols) == 0 && strcasecmp(s->del, t->del) == 0 &&
           strcasecmp(s->upd, t->upd) == 0;
}

/* fk__rules writes "ON DELETE x ON UPDATE y" leaving out RESTRICT / NO ACTION. */
static void fk__rules(const fkey *k, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s", fk__cascading(k->del) ? "ON DELETE " : "",
             fk__cascading(k->del) ? k->del : "", fk__cascading(k->upd) ? " ON UPDATE " : "",
             fk__cascading(k->upd) ? k->upd : "");
    if (out[0] == ' ') memmove(out, out + 1, strlen(out));
}

cot_err fk_check_pipeline(const cfg_pipeline *pc, MYSQL *src, MYSQL *tgt, mapping_findings *out)
{
    char role_s[200], role_t[200];
    snprintf(role_s, sizeof(role_s), "source %s", pc->source_name);
    snprintf(role_t, sizeof(role_t), "target %s", pc->target_name);
    fkeys S = {0}, T = {0};
    cot_err rc = fk__read(src, role_s, &S);
    if (!rc) rc = fk__read(tgt, role_t, &T);
    if (rc) {
        free(S.v);
        free(T.v);
        return rc;
    }
    buf fix;
    buf_init(&fix);
    for (size_t i = 0; i < S.n; i++) {
        fkey *k = &S.v[i];
        k->tm = fk__route(pc, k->schema, k->table, k->t_schema, k->t_table);
        k->ref_tm = fk__route(pc, k->ref_schema, k->ref_table, k->t_ref_schema, k->t_ref_table);
        if (!k->tm && !k->ref_tm) continue; /* nothing of it is mapped */
        char label[400], rules[80];
        snprintf(label, sizeof(label), "foreign key %s.%s.%s", k->schema, k->table, k->name);
        fk__rules(k, rules, sizeof(rules));
        const cfg_table_map *tm = k->ref_tm ? k->ref_tm : k->tm;
        if (!k->ref_tm) {
            mapping_findings_add(
                out, MAPPING_WARN, label, tm->line,
                "map the parent table too, or accept that the child table keeps those rows",
                "%s.%s (%s) references %s.%s, which this pipeline does not map: the rows "
                "its %s changes on the source never reach the target",
                k->schema, k->table, rules, k->ref_schema, k->ref_table, rules);
            continue;
        }
        if (!k->tm) {
            mapping_findings_add(
                out, MAPPING_WARN, label, tm->line,
                "map the child table too (the target's own foreign key then follows it), or "
                "accept that it is not kept in sync",
                "deleting or updating rows of %s.%s (mapped to %s.%s) runs %s on %s.%s, which "
                "this pipeline does not map: cotter does not carry that change; only a "
                "foreign key on the target itself acts on the target's rows",
                k->ref_schema, k->ref_table, k->t_ref_schema, k->t_ref_table, rules, k->schema,
                k->table);
            continue;
        }
        const fkey *match = NULL;
        for (size_t j = 0; j < T.n && !match; j++)
            if (fk__same(k, &T.v[j])) match = &T.v[j];
        if (match) {
            mapping_findings_add(out, MAPPING_OK, label, tm->line, "",
                                 "%s to %s.%s: the target's foreign key %s runs it there too",
                                 rules, k->ref_schema, k->ref_table, match->name);
            continue;
        }
        buf_reset(&fix);
        buf_printf(&fix,
                   "on target %s run: ALTER TABLE `%s`.`%s` ADD CONSTRAINT `%s` FOREIGN KEY (%s) "
                   "REFERENCES `%s`.`%s` (%s) ON DELETE %s ON UPDATE %s",
                   pc->target_name, k->t_schema, k->t_table, k->name, k->cols, k->t_ref_schema,
                   k->t_ref_table, k->ref_cols, k->del, k->upd);
        mapping_findings_add(
            out, MAPPING_WARN, label, tm->line, fix.data,
            "%s (%s) -> %s.%s (%s) %s: target %s has no such foreign key on %s.%s, so the "
            "rows the cascade changes on the source (which the binlog does not carry) are "
            "left as they were on the target",
            k->table, k->cols, k->ref_schema, k->ref_table, k->ref_cols, rules, pc->target_name,
            k->t_schema, k->t_table);
    }
    /* cascading keys of the target between mapped tables the source lacks */
    for (size_t j = 0; j < T.n; j++) {
        const fkey *t = &T.v[j];
        bool known = false, mapped = false;
        for (size_t i = 0; i < S.n && !known; i++) {
            const fkey *k = &S.v[i];
            if (!k->tm || !k->ref_tm) continue;
            if (strcmp(k->t_ref_schema, t->ref_schema) == 0 &&
                strcmp(k->t_ref_table, t->ref_table) == 0)
                mapped = true;
            known = fk__same(k, t);
        }
        char ts[65], tt[65];
        const cfg_table_map *tm = fk__route(pc, t->ref_schema, t->ref_table, ts, tt);
        if (tm && strcmp(ts, t->ref_schema) == 0 && strcmp(tt, t->ref_table) == 0) mapped = true;
        if (known || !mapped) continue;
        char label[400], rules[80];
        snprintf(label, sizeof(label), "foreign key %s.%s.%s (target)", t->schema, t->table,
                 t->name);
        fk__rules(t, rules, sizeof(rules));
        buf_reset(&fix);
        buf_printf(&fix, "drop it on target %s, or add the same key on the source",
                   pc->target_name);
        mapping_findings_add(
            out, MAPPING_WARN, label, 0, fix.data,
            "target %s has %s (%s) -> %s.%s (%s) %s, which the source does not: cotter "
            "applies deletes and key updates of %s.%s with foreign_key_checks=1, so this key "
            "changes rows the source keeps",
            pc->target_name, t->table, t->cols, t->ref_schema, t->ref_table, t->ref_cols, rules,
            t->ref_schema, t->ref_table);
    }
    buf_deinit(&fix);
    free(S.v);
    free(T.v);
    return COT_OK;
}
