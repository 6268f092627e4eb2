/*
 * Cascading foreign keys against a pipeline: which ON DELETE / ON UPDATE
 * actions (CASCADE, SET NULL, SET DEFAULT) of the source the target will
 * honour. The source's binlog never carries the rows such an action
 * changes; cotter reproduces them by letting the target's own foreign key
 * run (docs/mappings.md, "Foreign keys"). So each cascading key of the
 * source whose parent table is mapped needs its child table mapped too and
 * the same key (columns and actions) on the target; and the target should
 * have no cascading key between mapped tables that the source lacks. Used
 * by `cotter doctor`; caller's thread and connections.
 */
#ifndef COT_FK_CHECK_H
#define COT_FK_CHECK_H

#include "check/mapping_check.h"
#include "config/config.h"
#include "util/err.h"

#include <mysql.h>

/* fk_check_pipeline appends to *out one finding per cascading foreign key
 * of the source (src) that touches a table pc maps: OK when the target
 * (tgt) has the same key, WARN when cotter cannot honour it, and a WARN
 * per cascading key of the target between mapped tables that the source
 * does not have. Returns COT_OK when the comparison ran, else the error of
 * a failed query. */
cot_err fk_check_pipeline(const cfg_pipeline *pc, MYSQL *src, MYSQL *tgt, mapping_findings *out);

#endif
