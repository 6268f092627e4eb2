/*
 * Conflict policies of the MySQL sink (tables[].conflict). For a table
 * whose policy is not source_wins, each change is compared with the target
 * row it would touch before it is applied: one SELECT ... FOR UPDATE by
 * key, in the batch's transaction, in which the server itself evaluates
 * the verdict (so types compare as the target's types) and renders both
 * row images as JSON. A change that loses is not applied; the loss is
 * written to cotter.conflicts in the same transaction and counted.
 *
 *   latest_wins(col): INSERT/UPDATE applied unless the target row's col is
 *     newer (greater) than the source row's; DELETE applied unless the
 *     target row's col is newer than the deleted image's. A NULL source
 *     col loses to a non-NULL target col; a NULL target col never wins.
 *   skip: INSERT not applied when a row with its key exists and differs
 *     from it; UPDATE not applied when the target row differs from both the
 *     before and the after image (changed on the target meanwhile); DELETE
 *     not applied when the target row differs from the deleted image.
 *   A change whose row is missing on the target is applied. Rows of a
 *   table without a usable key are applied without a check.
 * Runs on the load thread that owns the sink.
 */
#ifndef COT_SINK_MYSQL_CONFLICT_H
#define COT_SINK_MYSQL_CONFLICT_H

#include "event/event.h"
#include "sink/sink_mysql_convert.h"
#include "sink/sink_mysql_sql.h"
#include "util/err.h"

#include <mysql.h>
#include <stdbool.h>

/* sink_conflict_prepare creates cotter.conflicts when missing (call it
 * outside any batch: a CREATE commits the open transaction). */
cot_err sink_conflict_prepare(MYSQL *my, const char *role);

/* sink_conflict_resolve decides whether ch (already converted for td)
 * is applied under pol; the packet of the batch must have been sent (the
 * SELECT must see the batch's earlier changes). *apply is false for a
 * change that lost: it was logged to cotter.conflicts (where: the source
 * position for the record) and counted in cv. Errors: COT_ERR_NET /
 * SQL_RETRY / SQL from the server, message naming the table. */
cot_err sink_conflict_resolve(sink_conv *cv, MYSQL *my, const char *role,
                              const sink_conv_policy *pol, const sql_tdesc *td,
                              const cot_change *ch, const cot_pos *where, bool *apply);

#endif
