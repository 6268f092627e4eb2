/*
 * Conflict detection for the MySQL sink (policies in the header). One
 * SELECT ... FOR UPDATE per checked change, by the target's key: the row
 * lock keeps the verdict true until the batch commits. The server computes
 * the verdict and both JSON images, so comparisons follow the target's
 * types and collations. Load thread only.
 */
#include "sink/sink_mysql_conflict.h"
#include "client/mysql_conn.h"
#include "util/buf.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

#define TAG "conflict"

static const char conflicts_ddl[] = "CREATE TABLE IF NOT EXISTS `cotter`.`conflicts` ("
                                    "id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                                    "pipeline VARCHAR(191) NOT NULL,"
                                    "binlog_file VARCHAR(255) NOT NULL,"
                                    "binlog_pos BIGINT UNSIGNED NOT NULL,"
                                    "gtid VARCHAR(255) NOT NULL,"
                                    "source_table VARCHAR(400) NOT NULL,"
                                    "target_table VARCHAR(400) NOT NULL,"
                                    "op VARCHAR(8) NOT NULL,"
                                    "policy VARCHAR(200) NOT NULL,"
                                    "source_row LONGTEXT NOT NULL,"
                                    "target_row LONGTEXT NOT NULL,"
                                    "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
                                    "KEY (pipeline, id)"
                                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

cot_err sink_conflict_prepare(MYSQL *my, const char *role)
{
    cot_err rc = mysql_conn_exec(my, role, conflicts_ddl, sizeof(conflicts_ddl) - 1);
    if (rc) cot_err_prefix("creating cotter.conflicts: ");
    return rc;
}

static void conflict__put_string(MYSQL *my, buf *b, const char *s, size_t n)
{
    mysql_conn_put_string(my, b, s, n);
}

static bool conflict__present(const sql_tdesc *td, const cot_value *img, uint32_t i)
{
    return img[i].kind != VK_ABSENT && !(td->src_flags[i] & SQL_SRC_SKIP);
}

static bool conflict__key_usable(const sql_tdesc *td, const cot_value *img)
{
    if (!img || td->n_key == 0 || !td->key_src) return false;
    for (uint32_t k = 0; k < td->n_key; k++) {
        uint8_t kind = img[td->key_src[k]].kind;
        if (kind == VK_ABSENT || kind == VK_NULL) return false;
    }
    return true;
}

/* conflict__lit appends source column i's value of img as a literal. */
static cot_err conflict__lit(buf *b, const sql_tdesc *td, const cot_table *tbl,
                             const cot_value *img, uint32_t i)
{
    return sql_render_value(b, &img[i], &tbl->cols[i], (td->src_flags[i] & SQL_SRC_JSON) != 0,
                            true);
}

/* conflict__col appends target column name for a comparison with v (ENUM
 * by index, SET and BIT as unsigned numbers, as the sink's WHERE does). */
static void conflict__col(buf *b, const char *name, const cot_value *v)
{
    if (v->kind == VK_SET || v->kind == VK_BIT) {
        buf_puts(b, "CAST(");
        buf_ident(b, name);
        buf_puts(b, " AS UNSIGNED)");
        return;
    }
    buf_ident(b, name);
    if (v->kind == VK_ENUM) buf_puts(b, "+0");
}

/* conflict__equal appends "(c1<=>v1 AND ...)" over img's present columns. */
static cot_err conflict__equal(buf *b, const sql_tdesc *td, const cot_table *tbl,
                               const cot_value *img)
{
    bool first = true;
    buf_putc(b, '(');
    for (uint32_t i = 0; i < tbl->n_cols; i++) {
        if (!conflict__present(td, img, i)) continue;
        if (!first) buf_puts(b, " AND ");
        first = false;
        conflict__col(b, td->cols[td->map[i]].name, &img[i]);
        buf_puts(b, "<=>");
        cot_err rc = conflict__lit(b, td, tbl, img, i);
        if (rc) return rc;
    }
    if (first) buf_puts(b, "TRUE");
    buf_putc(b, ')');
    return COT_OK;
}

/* conflict__source_json appends JSON_OBJECT('col', value, ...) of img,
 * ENUM and SET members by name when known. */
static cot_err conflict__source_json(buf *b, const sql_tdesc *td, const cot_table *tbl,
                                     const cot_value *img)
{
    buf_puts(b, "JSON_OBJECT(");
    bool first = true;
    buf names;
    buf_init(&names);
    cot_err rc = COT_OK;
    for (uint32_t i = 0; i < tbl->n_cols && !rc; i++) {
        if (!conflict__present(td, img, i)) continue;
        if (!first) buf_putc(b, ',');
        first = false;
        const char *name = td->cols[td->map[i]].name;
        buf_puts(b, "_utf8mb4 X'");
        buf_hex(b, (const uint8_t *)name, strlen(name));
        buf_puts(b, "',");
        const cot_column *col = &tbl->cols[i];
        const cot_value *v = &img[i];
        if (v->kind == VK_ENUM && col->members && v->u >= 1 && v->u <= col->n_members) {
            const char *m = col->members[v->u - 1];
            buf_puts(b, "_utf8mb4 X'");
            buf_hex(b, (const uint8_t *)m, strlen(m));
            buf_putc(b, '\'');
        } else if (v->kind == VK_SET && col->members) {
            buf_reset(&names);
            for (uint32_t k = 0; k < col->n_members && k < 64; k++) {
                if (!(v->u & (UINT64_C(1) << k))) continue;
                if (names.len) buf_putc(&names, ',');
                buf_puts(&names, col->members[k]);
            }
            buf_puts(b, "_utf8mb4 X'");
            buf_hex(b, (const uint8_t *)(names.data ? names.data : ""), names.len);
            buf_putc(b, '\'');
        } else {
            rc = conflict__lit(b, td, tbl, img, i);
        }
    }
    buf_deinit(&names);
    buf_putc(b, ')');
    return rc;
}

/* conflict__verdict appends the expression that is 1 when the target row
 * wins (the change is a conflict). */
static cot_err conflict__verdict(buf *b, const sink_conv_policy *pol, const sql_tdesc *td,
                                 const cot_change *ch)
{
    const cot_table *tbl = ch->tbl;
    if (pol->conflict == CFG_CONFLICT_LATEST_WINS) {
        const cot_value *img = ch->op == OP_DELETE ? ch->before : ch->after;
        uint32_t i = pol->conflict_src;
        if (!img || img[i].kind == VK_ABSENT) {
            buf_puts(b, "0"); /* the image does not carry the column: nothing to compare */
            return COT_OK;
        }
        const char *col = td->cols[pol->conflict_tgt].name;
        buf_putc(b, '(');
        buf_ident(b, col);
        buf_puts(b, " IS NOT NULL AND (");
        cot_err rc = conflict__lit(b, td, tbl, img, i);
        if (rc) return rc;
        buf_puts(b, " IS NULL OR ");
        buf_ident(b, col);
        buf_putc(b, '>');
        rc = conflict__lit(b, td, tbl, img, i);
        if (rc) return rc;
        buf_puts(b, "))");
        return COT_OK;
    }
    /* skip */
    cot_err rc = COT_OK;
    switch (ch->op) {
    case OP_INSERT:
        buf_puts(b, "NOT ");
        rc = conflict__equal(b, td, tbl, ch->after);
        break;
    case OP_UPDATE:
        buf_puts(b, "NOT ");
        rc = conflict__equal(b, td, tbl, ch->before);
        if (!rc) {
            buf_puts(b, " AND NOT ");
            rc = conflict__equal(b, td, tbl, ch->after);
        }
        break;
    default:
        buf_puts(b, "NOT ");
        rc = conflict__equal(b, td, tbl, ch->before);
        break;
    }
    return rc;
}

/* conflict__record writes one lost change to cotter.conflicts. */
static cot_err conflict__record(MYSQL *my, const char *role, const sink_conv_policy *pol,
                                const sql_tdesc *td, const cot_change *ch, const cot_pos *where,
                                const char *src_json, size_t src_len, const char *tgt_json,
                                size_t tgt_len)
{
    buf q;
    buf_init(&q);
    char src[400], dst[400], policy[300];
    snprintf(src, sizeof(src), "%s.%s", ch->tbl->src_schema, ch->tbl->src_name);
    snprintf(dst, sizeof(dst), "%s.%s", td->schema, td->name);
    if (pol->conflict == CFG_CONFLICT_LATEST_WINS)
        snprintf(policy, sizeof(policy), "latest_wins(%s)", td->cols[pol->conflict_tgt].name);
    else
        snprintf(policy, sizeof(policy), "skip");
    buf_puts(&q, "INSERT INTO `cotter`.`conflicts` (pipeline, binlog_file, binlog_pos, gtid, "
                 "source_table, target_table, op, policy, source_row, target_row) VALUES (");
    conflict__put_string(my, &q, pol->pipeline, strlen(pol->pipeline));
    buf_putc(&q, ',');
    conflict__put_string(my, &q, where->file, strnlen(where->file, sizeof(where->file)));
    buf_printf(&q, ",%llu,", (unsigned long long)where->pos);
    conflict__put_string(my, &q, where->gtid, strnlen(where->gtid, sizeof(where->gtid)));
    buf_putc(&q, ',');
    conflict__put_string(my, &q, src, strlen(src));
    buf_putc(&q, ',');
    conflict__put_string(my, &q, dst, strlen(dst));
    buf_putc(&q, ',');
    const char *op = cot_op_name((cot_op)ch->op);
    conflict__put_string(my, &q, op, strlen(op));
    buf_putc(&q, ',');
    conflict__put_string(my, &q, policy, strlen(policy));
    buf_putc(&q, ',');
    conflict__put_string(my, &q, src_json, src_len);
    buf_putc(&q, ',');
    conflict__put_string(my, &q, tgt_json, tgt_len);
    buf_putc(&q, ')');
    cot_err rc = mysql_conn_exec(my, role, q.data, q.len);
    buf_deinit(&q);
    if (rc)
        cot_err_prefix("writing a conflict of %s.%s to cotter.conflicts: ", td->schema, td->name);
    return rc;
}

cot_err sink_conflict_resolve(sink_conv *cv, MYSQL *my, const char *role,
                              const sink_conv_policy *pol, const sql_tdesc *td,
                              const cot_change *ch, const cot_pos *where, bool *apply)
{
    *apply = true;
    if (!pol || pol->dry_run || pol->conflict == CFG_CONFLICT_SOURCE_WINS) return COT_OK;
    const cot_table *tbl = ch->tbl;
    const cot_value *locate = ch->op == OP_INSERT ? ch->after : ch->before;
    if (!conflict__key_usable(td, locate)) locate = ch->after;
    if (!conflict__key_usable(td, locate)) return COT_OK; /* keyless: nothing to compare */

    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT JSON_OBJECT(");
    for (uint32_t c = 0; c < td->n_cols; c++) {
        if (c) buf_putc(&q, ',');
        buf_puts(&q, "_utf8mb4 X'");
        buf_hex(&q, (const uint8_t *)td->cols[c].name, strlen(td->cols[c].name));
        buf_puts(&q, "',");
        buf_ident(&q, td->cols[c].name);
    }
    buf_puts(&q, "),");
    cot_err rc = conflict__verdict(&q, pol, td, ch);
    if (!rc) {
        buf_putc(&q, ',');
        rc = conflict__source_json(&q, td, tbl, ch->op == OP_DELETE ? ch->before : ch->after);
    }
    if (!rc) {
        buf_puts(&q, " FROM ");
        buf_ident(&q, td->schema);
        buf_putc(&q, '.');
        buf_ident(&q, td->name);
        buf_puts(&q, " WHERE ");
        for (uint32_t k = 0; k < td->n_key && !rc; k++) {
            uint32_t i = td->key_src[k];
            if (k) buf_puts(&q, " AND ");
            conflict__col(&q, td->cols[td->key[k]].name, &locate[i]);
            buf_putc(&q, '=');
            rc = conflict__lit(&q, td, tbl, locate, i);
        }
        buf_puts(&q, " FOR UPDATE");
    }
    if (rc) {
        buf_deinit(&q);
        cot_err_prefix("target '%s', conflict check on %s.%s: ", pol->target, td->schema, td->name);
        return rc;
    }
    MYSQL_RES *res = NULL;
    if (mysql_real_query(my, q.data, (unsigned long)q.len) != 0 ||
        !(res = mysql_store_result(my))) {
        buf_deinit(&q);
        return mysql_conn_error(my, "%s: reading the target row of %s.%s for its conflict policy",
                                role, td->schema, td->name);
    }
    buf_deinit(&q);
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned long *lens = row ? mysql_fetch_lengths(res) : NULL;
    if (!row || !lens || !row[1] || strcmp(row[1], "1") != 0) {
        mysql_free_result(res);
        return COT_OK;
    }
    /* the target row wins: keep it, record both images */
    *apply = false;
    rc = conflict__record(my, role, pol, td, ch, where, row[2] ? row[2] : "null",
                          row[2] ? lens[2] : 4, row[0] ? row[0] : "null", row[0] ? lens[0] : 4);
    if (!rc) {
        sink_conv_count_conflict(cv);
        LOG_D(TAG, "%s: %s on %s.%s not applied (%s): target row %.*s", role,
              cot_op_name((cot_op)ch->op), td->schema, td->name,
              pol->conflict == CFG_CONFLICT_SKIP ? "skip" : "latest_wins",
              (int)(lens[0] > 300 ? 300 : lens[0]), row[0] ? row[0] : "");
    }
    mysql_free_result(res);
    return rc;
}
