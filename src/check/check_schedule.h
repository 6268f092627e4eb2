/*
 * Scheduled consistency checks inside `cotter run`: one thread that runs
 * an online, throttled `cotter check` of each pipeline whose schedule
 * (the pipeline's check.schedule, else the top-level one) has come, one
 * pipeline at a time. Results go to cotter.check_results on the target and
 * to check_results.h (GET /api/checks, cotter_check_differences);
 * differences are logged at error level. The thread sleeps between runs
 * and stops at the end of the chunk in flight.
 */
#ifndef COT_CHECK_SCHEDULE_H
#define COT_CHECK_SCHEDULE_H

#include "config/config.h"

typedef struct check_schedule check_schedule;

/* check_schedule_on_diff_fn is called (check thread) after a scheduled
 * check of pipeline found differences: the hook for an alarm. */
typedef void (*check_schedule_on_diff_fn)(void *ctx, const char *pipeline, uint64_t differences);

/* check_schedule_start starts the thread when some pipeline of cfg has a
 * schedule (cfg is borrowed and must outlive it); NULL when none has. */
check_schedule *check_schedule_start(const cot_config *cfg);
/* check_schedule_set_hook installs the differences hook (NULL: log only). */
void check_schedule_set_hook(check_schedule *cs, check_schedule_on_diff_fn fn, void *ctx);
/* check_schedule_stop asks the thread to end, waits for it and frees cs
 * (NULL is fine). */
void check_schedule_stop(check_schedule *cs);

#endif
