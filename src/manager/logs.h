/*
 * The in-memory tail of the log: a bounded ring of the last N lines written
 * (fed by a log.c hook), served by GET /api/logs and read by `cotter logs`.
 * Each line gets a sequence number so a follower can ask for what is new.
 * Thread safe: the hook runs on whatever thread logs (under the log mutex),
 * readers on the HTTP thread; the ring has its own mutex.
 */
#ifndef COT_MANAGER_LOGS_H
#define COT_MANAGER_LOGS_H

#include "util/buf.h"
#include "util/log.h"

#include <stddef.h>
#include <stdint.h>

typedef struct log_ring log_ring;

/* log_ring_new creates a ring of capacity lines (at least 1) and installs it
 * as the log hook; free with log_ring_free, which removes the hook. */
log_ring *log_ring_new(size_t capacity);
void log_ring_free(log_ring *lr);

typedef struct log_ring_query {
    size_t lines;             /* at most this many of the newest matching lines */
    log_level max_level;      /* LOG_WARN: errors and warnings only */
    uint64_t after_seq;       /* only lines with a larger sequence number (0: any) */
    const char *const *words; /* a line matches when its message names one of them
                               * as a whole word (a channel and its pipelines); NULL: all */
    int n_words;
} log_ring_query;

/* log_ring_json appends {"lines":[{"seq","ts","level","tag","msg"}...],
 * "last_seq":N,"capacity":N} with the matching lines, oldest first. */
void log_ring_json(log_ring *lr, const log_ring_query *q, buf *out);

/* log_ring_mentions says whether msg names word as a whole word (bounded by
 * anything but letters, digits, '_' and '-'). Exposed for the unit test. */
bool log_ring_mentions(const char *msg, const char *word);

#endif
