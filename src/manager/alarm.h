/*
 * The alarm engine: evaluates the rules of docs/alarms.md (delay, stall,
 * error, error rate) for every pipeline once a second from pipeline status
 * snapshots, tracks each alarm's firing/resolved state with repeat
 * suppression, keeps a bounded history (also appended to
 * DATA_DIR/logs/alarms.log), hands events to the notifiers (log; webhook and
 * command through notify.c's thread) and asks for auto-recovery restarts.
 * alarm_engine_tick runs on the daemon's main thread; the JSON and count
 * readers on the HTTP thread; `mu` guards what both touch.
 */
#ifndef COT_MANAGER_ALARM_H
#define COT_MANAGER_ALARM_H

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"

#include <stdbool.h>

typedef struct alarm_engine alarm_engine;

/* alarm_restart_fn asks for a restart of channel (auto-recovery); returns
 * false when it could not be queued. why is for the log and the audit. */
typedef bool (*alarm_restart_fn)(void *ctx, const char *channel, const char *why);

/* alarm_engine_new watches the n pipelines of pls (borrowed, like cfg; both
 * must outlive the engine) and starts the notifiers. Never fails: a history
 * file that cannot be opened is logged and skipped. */
alarm_engine *alarm_engine_new(const cot_config *cfg, pipeline **pls, int n);
/* alarm_engine_set_restart installs the auto-recovery hook (NULL: none). */
void alarm_engine_set_restart(alarm_engine *ae, alarm_restart_fn fn, void *ctx);
/* alarm_engine_tick evaluates every rule once; call it about once a second. */
void alarm_engine_tick(alarm_engine *ae);
/* alarm_engine_json appends {"firing":[...],"history":[...],"counts":{...}}:
 * alarms firing now and the last `limit` events (0: all kept), oldest first,
 * only of channel when it is not NULL. */
void alarm_engine_json(alarm_engine *ae, const char *channel, size_t limit, buf *out);
/* alarm_engine_firing counts alarms firing now by severity. */
void alarm_engine_firing(alarm_engine *ae, int *warning, int *critical);
/* alarm_engine_free stops the notifiers (sending what is queued) and frees ae. */
void alarm_engine_free(alarm_engine *ae);

#endif
