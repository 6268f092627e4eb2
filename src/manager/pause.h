/*
 * Persisted operator stops ("PAUSED" channels). A channel stopped through
 * the API stays stopped across restarts of `cotter run` until it is started
 * again: the stop leaves a marker file DATA_DIR/paused/CHANNEL holding a JSON
 * line {"by": who, "at": epoch seconds}; a start or restart removes it; the
 * daemon does not start a paused channel's pipelines. Channel names are
 * letters, digits, '_' and '-' (the config checks), so they are safe file
 * names. Any thread: each call is one file system operation.
 */
#ifndef COT_MANAGER_PAUSE_H
#define COT_MANAGER_PAUSE_H

#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* pause_set writes the marker of channel (by: who, at: now); COT_ERR_IO on failure. */
cot_err pause_set(const char *data_dir, const char *channel, const char *who);
/* pause_clear removes the marker (absent is fine); COT_ERR_IO on failure. */
cot_err pause_clear(const char *data_dir, const char *channel);
/* pause_get says whether channel is paused; when it is and by/at are not
 * NULL, copies who paused it (truncated to by_cap) and when. */
bool pause_get(const char *data_dir, const char *channel, char *by, size_t by_cap, time_t *at);

#endif
