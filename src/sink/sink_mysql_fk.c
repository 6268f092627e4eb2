/*
 * Cascading foreign keys of a MySQL/MariaDB target (contract in the
 * header). Two information_schema queries per target table, on first use:
 * the constraints that reference it with their rules, and the columns they
 * reference. (No JOIN of information_schema tables: MariaDB 10.11 may then
 * scan every schema.)
 */
#include "sink/sink_mysql_fk.h"

#include "client/mysql_conn.h"
#include "util/buf.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG "sink"

/* fk__cascading says whether a referential rule changes child rows. */
static bool fk__cascading(const char *rule)
{
    return rule && (strcasecmp(rule, "CASCADE") == 0 || strcasecmp(rule, "SET NULL") == 0 ||
                    strcasecmp(rule, "SET DEFAULT") == 0);
}

static void fk__put_string(MYSQL *my, buf *b, const char *s)
{
    mysql_conn_put_string(my, b, s, strlen(s));
}

/* fk__query runs q and stores its result in *res (the caller frees it). */
static cot_err fk__query(MYSQL *my, const char *role, const sql_tdesc *td, const buf *q,
                         MYSQL_RES **res)
{
    *res = NULL;
    if (mysql_real_query(my, q->data, (unsigned long)q->len) != 0 ||
        !(*res = mysql_store_result(my)))
        return mysql_conn_error(my, "%s: reading the foreign keys that reference %s.%s", role,
                                td->schema, td->name);
    return COT_OK;
}

/* One constraint that references the table with an ON UPDATE action. */
typedef struct fk_upd {
    char *schema, *name;
} fk_upd;

cot_err sink_fk_describe(MYSQL *my, const char *role, sql_tdesc *td)
{
    td->fk_on_delete = false;
    free(td->fk_on_update);
    td->fk_on_update = NULL;
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_NAME, DELETE_RULE, UPDATE_RULE "
                 "FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA=");
    fk__put_string(my, &q, td->schema);
    buf_puts(&q, " AND REFERENCED_TABLE_NAME=");
    fk__put_string(my, &q, td->name);
    MYSQL_RES *res;
    cot_err rc = fk__query(my, role, td, &q, &res);
    if (rc) {
        buf_deinit(&q);
        return rc;
    }
    size_t n_upd = 0;
    fk_upd *upd = calloc(mysql_num_rows(res) + 1, sizeof(*upd));
    if (!upd) abort();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1]) continue;
        if (fk__cascading(row[3])) {
            td->fk_on_delete = true;
            LOG_D(TAG, "%s: %s.%s: foreign key %s of %s.%s ON DELETE %s", role, td->schema,
                  td->name, row[1], row[0], row[2] ? row[2] : "?", row[3]);
        }
        if (fk__cascading(row[4])) {
            upd[n_upd].schema = strdup(row[0]);
            upd[n_upd].name = strdup(row[1]);
            if (!upd[n_upd].schema || !upd[n_upd].name) abort();
            n_upd++;
        }
    }
    mysql_free_result(res);

    if (n_upd) { /* the columns those constraints reference */
        buf_reset(&q);
        buf_puts(&q, "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, REFERENCED_COLUMN_NAME FROM "
                     "information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_SCHEMA=");
        fk__put_string(my, &q, td->schema);
        buf_puts(&q, " AND REFERENCED_TABLE_NAME=");
        fk__put_string(my, &q, td->name);
        rc = fk__query(my, role, td, &q, &res);
        if (!rc) {
            td->fk_on_update = calloc(td->n_cols ? td->n_cols : 1, 1);
            if (!td->fk_on_update) abort();
            while ((row = mysql_fetch_row(res))) {
                if (!row[0] || !row[1] || !row[2]) continue;
                bool ours = false;
                for (size_t i = 0; i < n_upd && !ours; i++)
                    ours = strcmp(upd[i].schema, row[0]) == 0 && strcmp(upd[i].name, row[1]) == 0;
                int c = ours ? sql_tdesc_col_find(td, row[2]) : -1;
                if (c >= 0) {
                    td->fk_on_update[c] = 1;
                    LOG_D(TAG, "%s: %s.%s: column %s is referenced by foreign key %s ON UPDATE",
                          role, td->schema, td->name, row[2], row[1]);
                }
            }
            mysql_free_result(res);
        }
    }
    for (size_t i = 0; i < n_upd; i++) {
        free(upd[i].schema);
        free(upd[i].name);
    }
    free(upd);
    buf_deinit(&q);
    return rc;
}

bool sink_fk_cascades(const sql_tdesc *td, const cot_change *ch)
{
    if (ch->op == OP_DELETE) return td->fk_on_delete;
    if (ch->op != OP_UPDATE || !td->fk_on_update || !td->map || !ch->before || !ch->after)
        return false;
    const cot_table *tbl = ch->tbl;
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (!td->fk_on_update[td->map[i]]) continue;
        /* an absent after value leaves the column as it is */
        if (ch->after[i].kind == VK_ABSENT) continue;
        if (ch->before[i].kind == VK_ABSENT || !cot_value_equal(&ch->before[i], &ch->after[i]))
            return true;
    }
    return false;
}
