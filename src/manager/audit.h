/*
 * The audit log: DATA_DIR/logs/audit.log, append-only JSON lines (mode
 * 0600), one per operator action (every API POST) and per action cotter
 * takes on its own (auto-recovery restarts). When the file would grow past
 * max_bytes it is renamed audit-YYYYMMDDTHHMMSSZ.log and a new one started;
 * rotated files older than the retention are deleted, the current one never.
 * Thread safe: one mutex around each write (HTTP thread, daemon thread).
 */
#ifndef COT_MANAGER_AUDIT_H
#define COT_MANAGER_AUDIT_H

#include "util/buf.h"
#include "util/err.h"

#include <stdint.h>

typedef struct audit_log audit_log;

/* audit_open opens (creating, mode 0600) dir/audit.log for appending and
 * deletes rotated files older than retention_s (0: keep them all).
 * max_bytes 0 never rotates. On success *out is the caller's (audit_close);
 * on failure returns COT_ERR_IO with a message. */
cot_err audit_open(const char *dir, uint64_t max_bytes, uint64_t retention_s, audit_log **out);
void audit_close(audit_log *al);

/* audit_write appends one JSON object (text without the newline), rotating
 * first when the file would pass max_bytes. Failures are logged, not returned. */
void audit_write(audit_log *al, const char *json, size_t len);

/* audit_event writes a line for an action cotter took itself:
 * {"ts","who","method":null,"path":null,"channel","action","status":null,"result"}. */
void audit_event(audit_log *al, const char *who, const char *channel, const char *action,
                 const char *result);

/* audit_ts appends the current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" (quoted). */
void audit_ts(buf *b);

#endif
