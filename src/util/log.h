/*
 * Logging: levels, a subsystem tag on every line, stderr plus an optional
 * file (data_dir/logs/cotter.log), optional JSON lines. Thread safe: one
 * mutex around the write of a whole line. Never pass a secret to it.
 */
#ifndef COT_LOG_H
#define COT_LOG_H

#include "util/buf.h"

#include <stdbool.h>

typedef enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

/* log_set_level sets the most verbose level printed (default LOG_INFO). */
void log_set_level(log_level level);
/* log_level_parse maps "error|warn|info|debug" to a level; returns false if unknown. */
bool log_level_parse(const char *s, log_level *out);
/* log_open_file also appends lines to path (created with its directory's
 * existing permissions); returns false and sets cot_err on failure. */
bool log_open_file(const char *path);
void log_set_json(bool json);
/* log_set_stderr turns the stderr copy on or off (on by default). */
void log_set_stderr(bool on);
void log_close(void);
bool log_enabled(log_level level);

/* log_hook_fn sees every line that is written (after the level filter): its
 * level, UTC timestamp text, tag and message. It runs under the log mutex on
 * the logging thread, so it must be quick and must not log. */
typedef void (*log_hook_fn)(void *ctx, log_level level, const char *ts, const char *tag,
                            const char *msg);
/* log_set_hook installs fn with ctx (NULL removes it); one hook at a time. */
void log_set_hook(log_hook_fn fn, void *ctx);
/* log_level_name returns "ERROR", "WARN", "INFO" or "DEBUG". */
const char *log_level_name(log_level level);

/* log_text_escape appends s to out as text log lines show it: control
 * characters (C0, DEL, C1) become the visible \n, \t, \r, \xNN or \u00NN,
 * so text from a server or a request printed by the CLI can neither forge
 * lines nor drive a terminal. s NULL appends nothing. */
void log_text_escape(buf *out, const char *s);

void log_msg(log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_E(tag, ...) log_msg(LOG_ERROR, tag, __VA_ARGS__)
#define LOG_W(tag, ...) log_msg(LOG_WARN, tag, __VA_ARGS__)
#define LOG_I(tag, ...) log_msg(LOG_INFO, tag, __VA_ARGS__)
#define LOG_D(tag, ...)                                                                            \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, tag, __VA_ARGS__);                          \
    } while (0)

#endif
