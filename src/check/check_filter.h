/*
 * A mapping's where: as `cotter check` and `cotter repair` apply it: the
 * row filter the stream and the initial copy evaluate (pipeline/row_filter),
 * never SQL text, so the source rows compared are exactly the rows the
 * stream keeps (byte-wise text, not the column's collation). The source
 * queries of a filtered table read, after their own columns, the columns
 * the filter reads; each row is converted as the copy converts it (ENUM
 * and SET values as the stream's index / bitmask) and evaluated here. NOW() is the wall clock
 * (UTC): a filter that reads the clock classifies a row that fails now but whose verdict depends on
 * the time as aged out, which check reports but repair never deletes. Used by the check thread
 * only.
 */
#ifndef COT_CHECK_FILTER_H
#define COT_CHECK_FILTER_H

#include "config/config.h"
#include "util/buf.h"
#include "util/err.h"

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct check_filter check_filter;

/* What the filter says of one source row. */
typedef enum check_verdict {
    CHECK_ROW_OUT = 0, /* the stream drops it */
    CHECK_ROW_IN = 1,  /* the stream keeps it */
    CHECK_ROW_AGED = 2 /* fails now, but only because of the time (a NOW() filter) */
} check_verdict;

/* check_filter_new compiles tm->where and binds it to the source table
 * schema.table as src (role names it in messages) describes it in
 * information_schema. On success *out is the caller's (check_filter_free).
 * Errors say which mapping line and table, and what to fix. */
cot_err check_filter_new(MYSQL *src, const char *role, const cfg_table_map *tm, const char *schema,
                         const char *table, check_filter **out);

void check_filter_free(check_filter *cf);

/* check_filter_select appends ",`c1`,`c2`.." : the columns the filter reads,
 * to follow a source query's own columns. */
void check_filter_select(buf *q, const check_filter *cf);

/* check_filter_n_cols returns how many columns check_filter_select adds. */
uint32_t check_filter_n_cols(const check_filter *cf);

/* check_filter_timed says whether the filter reads the clock. */
bool check_filter_timed(const check_filter *cf);

/* check_filter_row evaluates the filter on one source row whose filter
 * columns are vals[0..n_cols) (text protocol, lens their lengths), with
 * NOW() = now (UTC seconds). Returns a check_verdict, or -1 with cot_err
 * set (the message names the filter, the mapping and the table). */
int check_filter_row(check_filter *cf, char **vals, const unsigned long *lens, int64_t now);

#endif
