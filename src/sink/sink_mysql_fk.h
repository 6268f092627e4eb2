/*
 * Cascading foreign keys of a MySQL/MariaDB target. The server does not
 * binlog the rows an ON DELETE / ON UPDATE action (CASCADE, SET NULL, SET
 * DEFAULT) changes, and the sink applies with foreign_key_checks=0, so on
 * its own the target would never see them. This module reads, per target
 * table, which foreign keys of the target reference it with such an action,
 * and says which row changes of that table set one off; the sink applies
 * exactly those changes with foreign_key_checks=1, so the target's own
 * foreign keys run the cascade (every level, self references included),
 * and the pipeline applies them in source order with the changes around
 * them (docs/mappings.md, "Foreign keys"). Internal to the MySQL sink;
 * load thread.
 */
#ifndef COT_SINK_MYSQL_FK_H
#define COT_SINK_MYSQL_FK_H

#include "event/event.h"
#include "sink/sink_mysql_sql.h"
#include "util/err.h"

#include <mysql.h>
#include <stdbool.h>

/* sink_fk_describe reads the cascading foreign keys that reference td's
 * table into td (fk_on_delete, fk_on_update). role names the target in
 * messages. */
cot_err sink_fk_describe(MYSQL *my, const char *role, sql_tdesc *td);

/* sink_fk_cascades says whether applying ch (a change of td's mapped
 * table) sets off a cascading action of the target: a DELETE of a table an
 * ON DELETE action references, an UPDATE that changes a column an ON
 * UPDATE action references. */
bool sink_fk_cascades(const sql_tdesc *td, const cot_change *ch);

#endif
