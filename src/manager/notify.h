/*
 * Alarm notifiers that may be slow: the webhook (an HTTP POST of the event's
 * JSON, libcurl, with a timeout and retries) and the command hook (/bin/sh -c
 * with the JSON on stdin and COTTER_ALARM_* variables, killed after a
 * timeout). Events are queued (bounded; the oldest is dropped when full) and
 * sent one at a time by the notifier's own thread, so a slow receiver never
 * blocks the alarm engine or a pipeline. The log notifier is the engine's
 * own (it is fast). Thread safe.
 */
#ifndef COT_MANAGER_NOTIFY_H
#define COT_MANAGER_NOTIFY_H

#include "config/config.h"

#include <stdint.h>

typedef struct notifier notifier;

/* What a hook gets besides the JSON document, as environment variables. */
typedef struct notify_event {
    const char *json;     /* the event, one JSON object */
    const char *rule;     /* delay | stall | error | error_rate */
    const char *state;    /* firing | resolved */
    const char *severity; /* warning | critical */
    const char *channel;
    const char *pipeline;
    const char *message;
} notify_event;

/* notifier_new starts the notifier thread when a webhook or a command is
 * configured in a (borrowed; must outlive the notifier); returns NULL when
 * there is nothing to run. */
notifier *notifier_new(const cfg_alarms *a);
/* notifier_post queues a copy of ev; never blocks on the network. NULL nf is a no-op. */
void notifier_post(notifier *nf, const notify_event *ev);
/* notifier_free sends what is queued (without retries), stops the thread and
 * frees nf. NULL is a no-op. */
void notifier_free(notifier *nf);

/* Delivery counters for /metrics (NULL nf: zeros). */
typedef struct notify_stats {
    uint64_t webhook_ok, webhook_failed; /* events, after retries */
    uint64_t command_ok, command_failed;
    uint64_t dropped; /* queue full */
} notify_stats;
void notifier_stats(notifier *nf, notify_stats *out);

#endif
