/*
 * Time helpers shared by the threads: monotonic seconds for durations and
 * absolute deadlines for pthread_cond_timedwait.
 */
#ifndef COT_CLOCK_H
#define COT_CLOCK_H

#include <time.h>

/* clock_now_s returns CLOCK_MONOTONIC time in seconds. */
double clock_now_s(void);
/* clock_deadline returns the time on clock `which` ms milliseconds from now
 * (for a condition variable using that clock). */
struct timespec clock_deadline(clockid_t which, long ms);

#endif
