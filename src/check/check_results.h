/*
 * The results of the consistency checks run inside this process (the
 * scheduled checks of `cotter run`): the latest result of each checked
 * table and each pipeline's schedule, for GET /api/checks and the
 * cotter_check_differences metric. The check thread writes, the HTTP
 * thread reads; one mutex guards everything. Bounded: one entry per
 * (pipeline, source table), at most CHECK_RESULTS_MAX.
 */
#ifndef COT_CHECK_RESULTS_H
#define COT_CHECK_RESULTS_H

#include "check/check.h"
#include "util/buf.h"

#include <stdint.h>
#include <time.h>

#define CHECK_RESULTS_MAX 4096

/* check_results_put records r (copied; the first differing keys only) as
 * the latest result of its table, checked at `at`. */
void check_results_put(const check_table_result *r, time_t at);

/* check_results_schedule says when pipeline's next scheduled check runs
 * (every every_s seconds; running: one is under way now). */
void check_results_schedule(const char *pipeline, uint32_t every_s, time_t next_at, bool running);

/* check_results_json appends {"schedules":[...],"tables":[...]} (only
 * pipeline's entries when it is not NULL). */
void check_results_json(buf *out, const char *pipeline);

/* check_results_differences returns the differing rows of pipeline's
 * latest results (all pipelines when NULL): a hook for alarm rules. */
uint64_t check_results_differences(const char *pipeline);

/* check_results_fn is called per table by check_results_foreach. */
typedef void (*check_results_fn)(void *ctx, const char *pipeline, const char *table,
                                 uint64_t differences, bool error, time_t at);
/* check_results_foreach calls fn for every recorded table (under the lock:
 * fn must not call back into this module). */
void check_results_foreach(check_results_fn fn, void *ctx);

/* check_results_clear forgets everything (tests). */
void check_results_clear(void);

#endif
