/*
 * Extract and transform: what a table mapping does to each row besides
 * routing it (routing is the source's route callback). Per routed table a
 * plan: the row filter (where:), the column selection (columns: /
 * exclude:), renames and constant columns. Chunks are rewritten in place on
 * the select thread before they are queued, so the load thread sees only
 * target-shaped rows. Tables whose mapping does none of this cost one
 * pointer compare per change.
 *
 * Filter semantics on the row images: INSERT kept if the new row passes;
 * DELETE kept if the old row passed; UPDATE: both pass -> UPDATE, only the
 * new one -> INSERT of it (it enters the filtered set), only the old one ->
 * DELETE of it (it leaves), neither -> dropped.
 */
#ifndef COT_TRANSFORM_H
#define COT_TRANSFORM_H

#include "config/config.h"
#include "event/event.h"
#include "util/err.h"

typedef struct transform transform;

/* transform_new makes the transform of one pipeline (pc is borrowed). */
transform *transform_new(const cfg_pipeline *pc);
void transform_free(transform *tf);

/* transform_mapping returns the first table mapping of pc whose glob
 * matches schema.table, or NULL. The shadow tables of online schema change
 * tools (gh-ost's _X_gho, pt-osc's _X_new, ...) match like their base
 * table X, so they are created, filled and swapped in on the target too;
 * *shadow_base (if not NULL) then gets X, else "". gh-ost's changelog table
 * never matches. */
const cfg_table_map *transform_mapping(const cfg_pipeline *pc, const char *schema,
                                       const char *table, char *shadow_base, size_t cap);

/* transform_needed says whether any mapping of pc filters rows or reshapes
 * columns (if none does, the pipeline skips this stage). */
bool transform_needed(const cfg_pipeline *pc);

/* transform_check compiles every row filter of pc, so syntax errors are
 * found at start-up: COT_ERR_CONFIG "FILE:LINE: ...where: syntax error at
 * column N: ...". */
cot_err transform_check(const char *cfg_path, const cfg_pipeline *pc);

/* transform_chunk applies the plans to every change of ck. A chunk whose
 * changes are all filtered out becomes CK_EMPTY (it still moves the
 * position). Errors name the table and the mapping's line. */
cot_err transform_chunk(transform *tf, cot_chunk *ck);

#endif
