/*
 * THE option table: every configuration key cotter reads is one row here, and
 * both the loader (validation, defaults) and docs/config.md (config_write_docs)
 * come from it. Also the value parsers shared by the loader and the defaults,
 * so a default is always written in the same syntax a user would write.
 * Adding an option: add a row, read it in config.c, regenerate docs/config.md.
 * Read-only data and pure functions: any thread.
 */
#include "config/config_options.h"
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KB   ((uint64_t)1024)
#define MB   (1024 * KB)
#define GB   (1024 * MB)
#define SEC  ((uint64_t)1000)
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

#define P "channels.*.pipelines[]"

/* clang-format off */
const copt config_options[] = {
    {"data_dir", COPT_STRING, "./var", 0, 0, NULL, 0, 0,
     "Directory for the meta store, logs (logs/cotter.log) and status files (status/PIPELINE.json), "
     "created if missing. A relative path is relative to the working directory."},

    {"manager", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "The manager: HTTP API, console and metrics."},
    {"manager.listen", COPT_STRING, "127.0.0.1:8080", 0, 0, NULL, 0, 0,
     "host:port the HTTP API, console and /metrics listen on ([::1]:8080 for IPv6). A "
     "non-loopback address needs tokens."},
    {"manager.tokens", COPT_LIST, NULL, 0, 0, NULL, 0, 0,
     "Bearer tokens of the HTTP API. With none, anyone who can reach the port may use the "
     "whole API, so listen must be a loopback address; with some, every request but "
     "/healthz needs `Authorization: Bearer TOKEN`."},
    {"manager.tokens[]", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "One API token."},
    {"manager.tokens[].name", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Who uses the token (letters, digits, '_' and '-'), unique; the audit log names it, "
     "never the token."},
    {"manager.tokens[].token", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED | COPT_SECRET,
     "The token: 16 to 256 printable characters, unique; keep it in the environment: "
     "token: \"${COTTER_ADMIN_TOKEN}\"."},
    {"manager.tokens[].role", COPT_ENUM, "read", 0, 0, "admin|read", 0, 0,
     "read: GET requests only; admin: also POST (channel start, stop, restart)."},
    {"manager.tls", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Serve HTTPS instead of HTTP (without this block: plain HTTP)."},
    {"manager.tls.cert", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "PEM file with the server certificate (and its chain), read at start."},
    {"manager.tls.key", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "PEM file with the certificate's private key (not encrypted), read at start; keep it "
     "readable by cotter only."},

    {"manager.audit", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "The audit log DATA_DIR/logs/audit.log: one JSON line per API POST and per action cotter "
     "takes itself (auto-recovery), mode 0600, append-only."},
    {"manager.audit.max_size", COPT_SIZE, "64MB", 0, 1024 * GB, NULL, 0, 0,
     "Rotate the audit log when it would grow past this: it is renamed "
     "audit-YYYYMMDDTHHMMSSZ.log and a new one started (0: never rotate)."},
    {"manager.audit.retention", COPT_DURATION, "7y", 0, 100 * 365 * DAY, NULL, 1000, 0,
     "Delete rotated audit files older than this (checked at start and at each rotation; "
     "the current file is never deleted; 0: keep them all)."},

    {"log", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Logging to stderr and DATA_DIR/logs/cotter.log."},
    {"log.level", COPT_ENUM, "info", 0, 0, "error|warn|info|debug", 0, COPT_RELOADABLE,
     "Most verbose level written (`cotter run --log-level` overrides it)."},
    {"log.json", COPT_BOOL, "false", 0, 0, NULL, 0, COPT_RELOADABLE,
     "Write JSON lines instead of text lines."},
    {"log.memory_lines", COPT_UINT, "1000", 1, 100000, NULL, 0, 0,
     "Recent log lines kept in memory for GET /api/logs and `cotter logs`."},

    {"alarms", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Alarm rules, suppression and notifiers (docs/alarms.md). Without this block: the delay "
     "(60s / 300s), stall and error rules, notified to the log."},
    {"alarms.enabled", COPT_BOOL, "true", 0, 0, NULL, 0, 0,
     "false turns every alarm off (a channel's alarms.enabled can turn them on for it)."},
    {"alarms.delay_warning", COPT_DURATION, "60s", 0, 7 * DAY, NULL, 1000, 0,
     "A pipeline's delay at or over this raises a warning (0: off). While a pipeline cannot "
     "apply (target or source down) its delay counts as growing from the last one known."},
    {"alarms.delay_critical", COPT_DURATION, "300s", 0, 7 * DAY, NULL, 1000, 0,
     "A delay at or over this raises the alarm to critical (0: off)."},
    {"alarms.stall", COPT_DURATION, "5m", 0, 7 * DAY, NULL, 1000, 0,
     "Critical when a pipeline's committed position has not moved for this long while it is "
     "not caught up with its source (0: off)."},
    {"alarms.error", COPT_BOOL, "true", 0, 0, NULL, 0, 0,
     "Critical when a pipeline keeps failing: at once for an error that needs a fix (a "
     "refused row, a privilege, a schema mismatch), after error_after for a retriable one."},
    {"alarms.error_after", COPT_DURATION, "30s", 0, DAY, NULL, 1000, 0,
     "How long retriable failures (lost connection, deadlock) must last before the error "
     "alarm fires."},
    {"alarms.error_rate", COPT_UINT, "0", 0, 100, NULL, 0, 0,
     "Warning when failures are over this percentage over error_window: (failed sessions + "
     "refused rows) / (failed sessions + refused rows + applied transactions) (0: off)."},
    {"alarms.error_window", COPT_DURATION, "5m", 10 * SEC, HOUR, NULL, 1000, 0,
     "The window of error_rate."},
    {"alarms.repeat", COPT_DURATION, "30m", 0, 7 * DAY, NULL, 1000, 0,
     "Suppression: an alarm is notified at most once per this interval; one that stays "
     "firing is reminded after it, one that fires again within it is recorded but not sent "
     "(0: send every change, never remind)."},
    {"alarms.history", COPT_UINT, "500", 1, 100000, NULL, 0, 0,
     "Alarm events kept in memory for GET /api/alarms (all are also appended to "
     "DATA_DIR/logs/alarms.log)."},
    {"alarms.log", COPT_BOOL, "true", 0, 0, NULL, 0, 0,
     "Log each alarm event (WARN when firing, INFO when recovered)."},
    {"alarms.webhook", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "POST each alarm event as JSON to a URL (from its own thread, never blocking a "
     "pipeline)."},
    {"alarms.webhook.url", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED | COPT_SECRET,
     "http:// or https:// URL the events are POSTed to (Content-Type: application/json)."},
    {"alarms.webhook.timeout", COPT_DURATION, "5s", 1 * SEC, 5 * MIN, NULL, 1000, 0,
     "Timeout of one POST."},
    {"alarms.webhook.retries", COPT_UINT, "3", 0, 10, NULL, 0, 0,
     "Further attempts after a failed POST (an answer other than 2xx), 1 s, 2 s, 4 s ... "
     "apart."},
    {"alarms.command", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Run a command for each alarm event, with the event as JSON on stdin and "
     "COTTER_ALARM_* environment variables."},
    {"alarms.command.run", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "The command line, run with /bin/sh -c."},
    {"alarms.command.timeout", COPT_DURATION, "10s", 1 * SEC, 10 * MIN, NULL, 1000, 0,
     "A command still running after this is killed (SIGKILL)."},
    {"alarms.auto_recovery", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Restart a channel whose error alarm fires on a retriable error (like Otter's "
     "auto-recovery); logged and audited (who: auto-recovery)."},
    {"alarms.auto_recovery.enabled", COPT_BOOL, "false", 0, 0, NULL, 0, 0,
     "Turn auto-recovery on."},
    {"alarms.auto_recovery.max_per_hour", COPT_UINT, "3", 1, 60, NULL, 0, 0,
     "Restarts per channel in any hour, at least 10 s apart; past it the channel is left to "
     "its own retries and a warning is logged."},

    {"check", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Consistency checks inside `cotter run` (docs/check.md): scheduled, online (while the "
     "pipelines run) and throttled."},
    {"check.schedule", COPT_DURATION, "1d", 0, 365 * DAY, NULL, 1000, 0,
     "Compare every MySQL/MariaDB pipeline's source and target this often (e.g. 6h), first one "
     "period after the latest check stored on the target (or after start), one table at a "
     "time, throttled (check.max_rows_per_s, check.max_delay, check.max_source_threads); "
     "differences are logged as errors and shown by GET /api/checks and "
     "cotter_check_differences (0: never; a pipeline's check.schedule overrides it)."},
    {"check.chunk_time", COPT_DURATION, "500ms", 10, 60 * SEC, NULL, 1, 0,
     "What one chunk's checksum should take: chunk sizes adapt to it (a bare number is "
     "milliseconds)."},
    {"check.max_delay", COPT_DURATION, "10s", 0, DAY, NULL, 1000, 0,
     "A scheduled check pauses while the pipeline is further behind its source than this, so "
     "it never makes a lagging pipeline lag more (0: never pauses)."},
    {"check.max_rows_per_s", COPT_UINT, "20000", 0, 100000000, NULL, 0, 0,
     "A scheduled check reads at most this many source rows a second (and as many target "
     "rows), sleeping between chunks (0: no limit)."},
    {"check.max_source_threads", COPT_UINT, "32", 0, 100000, NULL, 0, 0,
     "A scheduled check pauses (up to 60 s at a time) while the source runs more threads than "
     "this (SHOW GLOBAL STATUS Threads_running, cotter's own connections included), so it "
     "yields to a busy source (0: never pauses)."},

    {"sources", COPT_MAP, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Databases cotter reads the binlog of, by name (letters, digits, '_' and '-')."},
    {"sources.*", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "One source database."},
    {"sources.*.url", COPT_URL, NULL, 0, 0, "mysql|mariadb", 0, COPT_REQUIRED | COPT_SECRET,
     "mysql://user:password@host:port of the source; the user needs REPLICATION SLAVE, "
     "REPLICATION CLIENT and SELECT."},
    {"sources.*.server_id", COPT_UINT, NULL, 1, 4294967295ull, NULL, 0, COPT_REQUIRED,
     "Replica server id cotter registers with; unique among the source's replicas. The n-th "
     "pipeline reading the same source uses server_id + n - 1."},
    {"sources.*.connect_timeout", COPT_DURATION, "5s", 1 * SEC, HOUR, NULL, 1000, 0,
     "Timeout of a connection attempt (whole seconds; a bare number is seconds)."},
    {"sources.*.read_timeout", COPT_DURATION, "30s", 1 * SEC, DAY, NULL, 1000, 0,
     "A connection that sends nothing for this long is dropped and reconnected; must be "
     "longer than heartbeat."},
    {"sources.*.heartbeat", COPT_DURATION, "1s", 1 * SEC, HOUR, NULL, 1000, 0,
     "Heartbeat period asked from the source while its binlog is idle; keeps the stored "
     "position current."},
    {"sources.*.max_event_size", COPT_SIZE, "1GB", 64 * KB, 1 * GB, NULL, 0, 0,
     "Largest binlog event accepted from the source, and the most a MariaDB compressed event "
     "may inflate to; one event's decoded rows may take twice this. A bigger event stops the "
     "pipeline with an error naming its file:pos. The default is the most any replica "
     "accepts; lower it to the source's max_allowed_packet to bound what a forged event can "
     "make cotter allocate."},

    {"targets", COPT_MAP, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Databases cotter writes to, by name (letters, digits, '_' and '-')."},
    {"targets.*", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "One target database."},
    {"targets.*.url", COPT_URL, NULL, 0, 0, "mysql|mariadb", 0, COPT_REQUIRED | COPT_SECRET,
     "mysql://user:password@host:port of the target; the user needs INSERT, UPDATE, DELETE, "
     "SELECT on the mapped tables and CREATE on the `cotter` schema (positions)."},
    {"targets.*.connect_timeout", COPT_DURATION, "5s", 1 * SEC, HOUR, NULL, 1000, 0,
     "Timeout of a connection attempt (whole seconds; a bare number is seconds)."},
    {"targets.*.read_timeout", COPT_DURATION, "30s", 1 * SEC, DAY, NULL, 1000, 0,
     "Timeout waiting for a statement's result."},
    {"targets.*.write_timeout", COPT_DURATION, "30s", 1 * SEC, DAY, NULL, 1000, 0,
     "Timeout sending a statement."},
    {"targets.*.ddl_timeout", COPT_DURATION, "1d", 1 * SEC, 30 * DAY, NULL, 1000, 0,
     "Timeout waiting for a DDL statement or an index build on the target (a replicated ALTER "
     "TABLE, the indexes added after an initial load), which can run far longer than "
     "read_timeout on a big table; it runs on a connection of its own with this timeout."},

    {"channels", COPT_MAP, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Units of sync that are started and stopped together, by name (letters, digits, '_' "
     "and '-'); at least one."},
    {"channels.*", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "One channel: one pipeline (one-way) or two (two-way)."},
    {"channels.*.pipelines", COPT_LIST, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "The directed flows source -> target of this channel; at least one."},
    {"channels.*.alarms", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "This channel's alarm rules; a key left out takes the top-level alarms value."},
    {"channels.*.alarms.enabled", COPT_BOOL, NULL, 0, 0, NULL, 0, 0,
     "false: no alarms for this channel."},
    {"channels.*.alarms.delay_warning", COPT_DURATION, NULL, 0, 7 * DAY, NULL, 1000, 0,
     "As alarms.delay_warning."},
    {"channels.*.alarms.delay_critical", COPT_DURATION, NULL, 0, 7 * DAY, NULL, 1000, 0,
     "As alarms.delay_critical."},
    {"channels.*.alarms.stall", COPT_DURATION, NULL, 0, 7 * DAY, NULL, 1000, 0,
     "As alarms.stall."},
    {"channels.*.alarms.error", COPT_BOOL, NULL, 0, 0, NULL, 0, 0,
     "As alarms.error."},
    {"channels.*.alarms.error_after", COPT_DURATION, NULL, 0, DAY, NULL, 1000, 0,
     "As alarms.error_after."},
    {"channels.*.alarms.error_rate", COPT_UINT, NULL, 0, 100, NULL, 0, 0,
     "As alarms.error_rate."},
    {P, COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "One pipeline: select (read binlog) -> extract -> transform -> load (apply to target)."},
    {P ".name", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Pipeline name, unique across the file (letters, digits, '_' and '-'); keys its stored "
     "position, so renaming it starts over."},
    {P ".source", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Name of a source under `sources`."},
    {P ".target", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Name of a target under `targets`."},
    {P ".snapshot", COPT_ENUM, "never", 0, 0, "initial|never", 0, 0,
     "initial: copy the existing rows before streaming; never: stream changes only."},
    {P ".snapshot_load", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "How the initial load (snapshot: initial, tables newly mapped, `cotter snapshot`) copies "
     "rows: lock-free, in key-ordered chunks reconciled with the binlog (docs/snapshot.md)."},
    {P ".snapshot_load.parallelism", COPT_UINT, "4", 1, 64, NULL, 0, 0,
     "Chunk SELECTs run at once, each on its own source connection."},
    {P ".snapshot_load.chunk_rows", COPT_UINT, "20000", 100, 10000000, NULL, 0, 0,
     "Rows per chunk; a window holds at most parallelism x chunk_rows rows in memory."},
    {P ".snapshot_load.create_tables", COPT_BOOL, "true", 0, 0, NULL, 0, 0,
     "Create a missing target table before copying it: the source's SHOW CREATE TABLE with "
     "the mapping's names, or built from the mapped columns when the mapping selects or adds "
     "columns."},
    {P ".snapshot_load.defer_indexes", COPT_BOOL, "true", 0, 0, NULL, 0, 0,
     "A target table the initial load creates gets its non-unique secondary indexes (KEY) "
     "only once its copy is done, built in one pass instead of row by row; unique keys and "
     "tables with foreign keys are created whole. Kept in cotter.snapshot_keys until added."},
    {P ".ddl", COPT_ENUM, "apply", 0, 0, "apply|ignore|stop", 0, 0,
     "DDL on the copied tables (CREATE/ALTER/DROP/RENAME/TRUNCATE TABLE, CREATE/DROP INDEX): "
     "apply runs it on the target with the mapping's names; ignore logs it and goes on; stop "
     "halts the pipeline with the statement until you apply it yourself and restart with "
     "ignore once (or apply)."},
    {P ".on_error", COPT_ENUM, "stop", 0, 0, "stop|skip", 0, 0,
     "A row the target refuses for good (duplicate on a secondary unique key, data too long, "
     "a constraint): stop halts the pipeline with the error and retries slowly; skip applies "
     "that batch again row by row, writes each refused row with its error to "
     "cotter.dead_letters on the target (in the same transaction) and goes on. Lost "
     "connections, deadlocks, lock waits, privileges and schema mismatches are never skipped."},
    {P ".start", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Where to start when the target has no stored position (a stored position always "
     "wins). Without it: the source's current end of binlog. Give file (and pos) or gtid."},
    {P ".start.file", COPT_STRING, NULL, 0, 0, NULL, 0, 0,
     "Binlog file name, e.g. binlog.000042."},
    {P ".start.pos", COPT_UINT, "4", 4, UINT64_MAX, NULL, 0, 0,
     "Position in start.file (4 is the first event)."},
    {P ".start.gtid", COPT_STRING, NULL, 0, 0, NULL, 0, 0,
     "GTID position to start after, e.g. 0-1-55 (MariaDB; comma-separated for several "
     "domains)."},
    {P ".batch", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "How the load stage groups source transactions into one target transaction; a batch "
     "is committed when any limit is reached, always at a transaction boundary."},
    {P ".batch.rows", COPT_UINT, "2000", 1, 1000000, NULL, 0, 0,
     "Rows per batch."},
    {P ".batch.bytes", COPT_SIZE, "8MB", 1 * KB, 1 * GB, NULL, 0, 0,
     "Bytes of row data per batch."},
    {P ".batch.ms", COPT_DURATION, "200ms", 1, HOUR, NULL, 1, 0,
     "Longest time a change waits in an open batch (a bare number is milliseconds)."},
    {P ".batch.merge", COPT_BOOL, "true", 0, 0, NULL, 0, 0,
     "Fold the changes of each key within a batch (insert+update -> insert, any+delete -> "
     "delete, ...) and apply deletes, then multi-row upserts per table. Tables without a key "
     "are never merged."},
    {P ".queue", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "The bounded queue between select and load; a fuller queue makes select wait."},
    {P ".queue.rows", COPT_UINT, "10000", 1, 100000000, NULL, 0, 0,
     "Rows the queue holds at most."},
    {P ".queue.bytes", COPT_SIZE, "16MB", 64 * KB, 64 * GB, NULL, 0, 0,
     "Memory the queue holds at most. A transaction larger than this does not wait in memory: "
     "it is streamed in pieces into the open target transaction, which commits at its end."},
    {P ".retry", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "Backoff after a failure (lost connection, schema problem): the wait doubles from "
     "min_ms up to max_ms, and resets after a successful run. A failure that needs a fix (a "
     "missing privilege or table: not retriable) is retried at least every 5 s for its first "
     "10 minutes, so a fix is picked up at once; each retry logs when the next try is."},
    {P ".retry.min_ms", COPT_DURATION, "200ms", 10, HOUR, NULL, 1, 0,
     "First wait (a bare number is milliseconds)."},
    {P ".retry.max_ms", COPT_DURATION, "30s", 10, DAY, NULL, 1, 0,
     "Longest wait; at least min_ms (a bare number is milliseconds)."},
    {P ".retry.times", COPT_UINT, "0", 0, 1000000, NULL, 0, 0,
     "Give up after this many failed attempts in a row (lost connection, deadlock, lock wait "
     "timeout, ...): the pipeline then stays in ERROR with the last error until it is "
     "restarted (cotter channel restart). 0 retries forever. Each wait is the backoff above "
     "with up to 25% random jitter."},
    {P ".check", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "This pipeline's scheduled consistency check."},
    {P ".check.schedule", COPT_DURATION, "0", 0, 365 * DAY, NULL, 1000, 0,
     "Check this pipeline this often (e.g. 6h); 0: as the top-level check.schedule."},
    {P ".check.enabled", COPT_BOOL, "true", 0, 0, NULL, 0, 0,
     "false: no scheduled check of this pipeline, whatever check.schedule says (cotter check "
     "still checks it)."},
    {P ".load", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "The load stage's connections to the target."},
    {P ".load.parallelism", COPT_UINT, "1", 1, 64, NULL, 0, 0,
     "Target connections applying in parallel. Rows are spread by a hash of their key, so "
     "each key's changes keep their order; each connection commits its share with its own "
     "position row (PIPELINE#k in cotter.positions), so a crash still neither loses nor "
     "repeats a change. A source transaction's rows may become visible on the target in "
     "several commits. Tables without a key, DDL, the batch after a failure, and a source "
     "transaction with a delete or key update that sets off a cascading foreign key of the "
     "target (docs/mappings.md) are applied on one connection. Needs batch.merge (otherwise 1 "
     "is used)."},
    {P ".load.bulk_rows", COPT_UINT, "256", 0, 100000000, NULL, 0, 0,
     "A run of at least this many whole-row upserts of one table (the initial load's rows, "
     "big inserting transactions) goes to a MySQL target as LOAD DATA LOCAL ... REPLACE text "
     "instead of INSERT ... ON DUPLICATE KEY UPDATE, where that has the same effect "
     "(docs/snapshot.md, Bulk load); 0: never."},
    {P ".tables", COPT_LIST, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "Which source tables this pipeline copies, and where to; at least one. A table takes "
     "the first entry that matches it; tables matching no entry are skipped."},
    {P ".tables[]", COPT_BLOCK, NULL, 0, 0, NULL, 0, 0,
     "One mapping."},
    {P ".tables[].match", COPT_STRING, NULL, 0, 0, NULL, 0, COPT_REQUIRED,
     "`schema.table` glob, case-sensitive: `*` and `?` (never across the `.`), `[abc]`, "
     "`[a-z]`, `[!x]`; `\\` escapes. E.g. `shop.*`, `shop.order_*`."},
    {P ".tables[].to", COPT_STRING, NULL, 0, 0, NULL, 0, 0,
     "Target schema.table template with {schema} and {table}, e.g. warehouse.{table} or "
     "{schema}.{table}_copy. Without it rows go to the same schema.table."},
    {P ".dry_run", COPT_BOOL, "false", 0, 0, NULL, 0, 0,
     "Run every stage (read, decode, filter, map, merge, build the target's SQL) and count, "
     "but send nothing to the target and store no position: a restart reads again from the "
     "last real position. For trying a mapping on production traffic."},
    {P ".skip_tables", COPT_LIST, NULL, 0, 0, NULL, 0, 0,
     "Tables no mapping of this pipeline takes, even when a match: pattern covers them "
     "(globs like shop.tmp_*, or /regex/ over schema.table)."},
    {P ".tables[].columns", COPT_LIST, NULL, 0, 0, NULL, 0, 0,
     "Only these source columns, in this order; an item {src: dst} renames a column "
     "(columns: [id, {name: title}, status]). The target's key columns must be among them."},
    {P ".tables[].exclude", COPT_LIST, NULL, 0, 0, NULL, 0, 0,
     "Every column but these (not together with columns)."},
    {P ".tables[].constants", COPT_MAP, NULL, 0, 0, NULL, 0, 0,
     "Columns added to every row with a fixed value; {schema} and {table} in a value are the "
     "source table's names, e.g. {source_table: \"{table}\"} when shards order_0..order_127 "
     "go into one table."},
    {P ".tables[].where", COPT_STRING, NULL, 0, 0, NULL, 0, 0,
     "Row filter, an SQL expression over the source row's columns (status != 'deleted'); "
     "checked at start-up. An UPDATE that leaves the filter deletes the row on the target, "
     "one that enters it inserts it."},
    {P ".tables[].on_overflow", COPT_ENUM, "stop", 0, 0, "stop|clamp|null|skip_row", 0, 0,
     "A value the target column cannot hold (an integer out of range, a string longer than "
     "the column, a DECIMAL with too many integer digits, a TIMESTAMP out of range): stop "
     "halts the pipeline naming the table, column, key and value; clamp stores the nearest "
     "value the column holds (logged once per column); null stores NULL where the column "
     "allows it (else stops); skip_row writes the row to cotter.dead_letters with the reason."},
    {P ".tables[].conflict", COPT_ENUM, "source_wins", 0, 0, "source_wins|latest_wins|skip", 0,
     0,
     "What to do when the target row was changed behind cotter's back: source_wins applies "
     "every change; latest_wins applies a change only if its conflict_column is >= the "
     "target row's (a delete only if the target's is not newer); skip keeps a target row "
     "whose content differs from what the source change expects. Kept target rows are logged "
     "with both images in cotter.conflicts (same transaction) and counted."},
    {P ".tables[].conflict_column", COPT_STRING, NULL, 0, 0, NULL, 0, 0,
     "The column latest_wins compares (a timestamp or version column present on both sides); "
     "required with latest_wins, refused otherwise."},
};
/* clang-format on */

const size_t config_n_options = sizeof(config_options) / sizeof(config_options[0]);

const copt *copt_find(const char *path)
{
    for (size_t i = 0; i < config_n_options; i++) {
        if (strcmp(config_options[i].path, path) == 0) return &config_options[i];
    }
    return NULL;
}

const char *copt_key(const copt *o)
{
    const char *dot = strrchr(o->path, '.');
    return dot ? dot + 1 : o->path;
}

bool copt_is_child(const copt *o, const char *parent)
{
    size_t n = strlen(o->path);
    if (n >= 2 && strcmp(o->path + n - 2, "[]") == 0) return false; /* a list's item block */
    const char *dot = strrchr(o->path, '.');
    size_t pn = dot ? (size_t)(dot - o->path) : 0;
    return strlen(parent) == pn && strncmp(o->path, parent, pn) == 0;
}

const char *copt_type_name(copt_type type)
{
    switch (type) {
    case COPT_STRING:
        return "string";
    case COPT_UINT:
        return "uint";
    case COPT_BOOL:
        return "bool";
    case COPT_DURATION:
        return "duration";
    case COPT_SIZE:
        return "size";
    case COPT_ENUM:
        return "enum";
    case COPT_URL:
        return "url";
    case COPT_LIST:
        return "list";
    case COPT_BLOCK:
        return "block";
    case COPT_MAP:
        return "map";
    }
    return "?";
}

/* opt__digits parses a run of decimal digits at *s into *out, advancing *s;
 * returns false on no digits or overflow. */
static bool opt__digits(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
        p++;
    }
    *s = p;
    *out = v;
    return true;
}

static bool opt__overflow_mul(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a) return true;
    *out = a * b;
    return false;
}

bool copt_parse_uint(const char *s, uint64_t *out, char *why, size_t why_cap)
{
    const char *p = s;
    uint64_t v;
    if (opt__digits(&p, &v) && *p == '\0') {
        *out = v;
        return true;
    }
    size_t n_digits = strspn(s, "0123456789");
    if (s[0] == '-' && isdigit((unsigned char)s[1]))
        snprintf(why, why_cap, "expected a number >= 0, got '%s'", s);
    else if (n_digits > 0 && s[n_digits] == '\0')
        snprintf(why, why_cap, "'%s' is too large", s);
    else
        snprintf(why, why_cap, "expected a number, got '%s'", s);
    return false;
}

bool copt_parse_bool(const char *s, bool *out, char *why, size_t why_cap)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    snprintf(why, why_cap, "expected true or false, got '%s'", s);
    return false;
}

bool copt_parse_duration(const char *s, uint32_t unit_ms, uint64_t *out_ms, char *why,
                         size_t why_cap)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {{"ms", 1},  {"s", SEC},     {"m", MIN},      {"h", HOUR},
                 {"d", DAY}, {"w", 7 * DAY}, {"y", 365 * DAY}};
    const char *p = s;
    uint64_t total = 0, v;
    if (!opt__digits(&p, &v)) goto bad;
    if (*p == '\0') {
        if (opt__overflow_mul(v, unit_ms ? unit_ms : 1, &total)) goto bad;
        *out_ms = total;
        return true;
    }
    for (;;) {
        size_t n = 0;
        while (isalpha((unsigned char)p[n])) n++;
        size_t u;
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            if (strlen(units[u].name) == n && strncmp(p, units[u].name, n) == 0) break;
        }
        if (u == sizeof(units) / sizeof(units[0])) goto bad;
        uint64_t part;
        if (opt__overflow_mul(v, units[u].ms, &part) || total > UINT64_MAX - part) goto bad;
        total += part;
        p += n;
        if (*p == '\0') break;
        if (!opt__digits(&p, &v)) goto bad;
    }
    *out_ms = total;
    return true;
bad:
    snprintf(why, why_cap, "expected a duration like 200ms, 5s, 1m or 1h, got '%s'", s);
    return false;
}

bool copt_parse_size(const char *s, uint64_t *out, char *why, size_t why_cap)
{
    static const struct {
        const char *name;
        uint64_t mult;
    } units[] = {{"", 1},     {"b", 1},       {"k", KB},       {"kb", KB},      {"kib", KB},
                 {"m", MB},   {"mb", MB},     {"mib", MB},     {"g", GB},       {"gb", GB},
                 {"gib", GB}, {"t", GB * KB}, {"tb", GB * KB}, {"tib", GB * KB}};
    const char *p = s;
    uint64_t v;
    if (!opt__digits(&p, &v)) goto bad;
    while (*p == ' ') p++;
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (strcasecmp(p, units[u].name) == 0) {
            if (opt__overflow_mul(v, units[u].mult, out)) goto bad;
            return true;
        }
    }
bad:
    snprintf(why, why_cap, "expected a size like 512KB, 64MB or 1GiB, got '%s'", s);
    return false;
}

int copt_enum_index(const char *values, const char *s)
{
    int idx = 0;
    size_t sn = strlen(s);
    for (const char *p = values; *p; idx++) {
        size_t n = strcspn(p, "|");
        if (n == sn && strncasecmp(p, s, n) == 0) return idx;
        p += n;
        if (*p == '|') p++;
    }
    return -1;
}

void copt_format_duration(uint64_t ms, char *out, size_t cap)
{
    if (ms != 0 && ms % DAY == 0)
        snprintf(out, cap, "%" PRIu64 "d", ms / DAY);
    else if (ms != 0 && ms % HOUR == 0)
        snprintf(out, cap, "%" PRIu64 "h", ms / HOUR);
    else if (ms != 0 && ms % MIN == 0)
        snprintf(out, cap, "%" PRIu64 "m", ms / MIN);
    else if (ms != 0 && ms % SEC == 0)
        snprintf(out, cap, "%" PRIu64 "s", ms / SEC);
    else
        snprintf(out, cap, "%" PRIu64 "ms", ms);
}

void copt_format_size(uint64_t bytes, char *out, size_t cap)
{
    if (bytes != 0 && bytes % GB == 0)
        snprintf(out, cap, "%" PRIu64 "GB", bytes / GB);
    else if (bytes != 0 && bytes % MB == 0)
        snprintf(out, cap, "%" PRIu64 "MB", bytes / MB);
    else if (bytes != 0 && bytes % KB == 0)
        snprintf(out, cap, "%" PRIu64 "KB", bytes / KB);
    else
        snprintf(out, cap, "%" PRIu64 "B", bytes);
}

int copt_edit_distance(const char *a, const char *b)
{
    size_t an = strlen(a), bn = strlen(b);
    if (an > 64 || bn > 64) return 99;
    int row[65];
    for (size_t j = 0; j <= bn; j++) row[j] = (int)j;
    for (size_t i = 1; i <= an; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= bn; j++) {
            int up = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = diag + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bn] > 99 ? 99 : row[bn];
}

/* ---- documentation ---------------------------------------------------- */

/* docs__path writes o's path for readers: "*" becomes NAME. */
static void docs__path(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = path; *p && o + 5 < cap; p++) {
        if (*p == '*') {
            memcpy(out + o, "NAME", 4);
            o += 4;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* docs__bounds writes o's bounds ("1..1000000", "1s..1h") or "". */
static void docs__bounds(const copt *o, char *out, size_t cap)
{
    char lo[32], hi[32];
    out[0] = '\0';
    if (o->min == 0 && o->max == 0) return;
    switch (o->type) {
    case COPT_DURATION:
        copt_format_duration(o->min, lo, sizeof(lo));
        copt_format_duration(o->max, hi, sizeof(hi));
        break;
    case COPT_SIZE:
        copt_format_size(o->min, lo, sizeof(lo));
        copt_format_size(o->max, hi, sizeof(hi));
        break;
    default:
        snprintf(lo, sizeof(lo), "%" PRIu64, o->min);
        if (o->max == UINT64_MAX)
            snprintf(hi, sizeof(hi), "2^64-1");
        else
            snprintf(hi, sizeof(hi), "%" PRIu64, o->max);
        break;
    }
    snprintf(out, cap, "%s..%s", lo, hi);
}

/* docs__type writes the type column: "enum: a, b", "url: mysql://, mariadb://". */
static void docs__type(const copt *o, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "%s", copt_type_name(o->type));
    if (o->type == COPT_LIST && n < cap) {
        char item[256];
        snprintf(item, sizeof(item), "%s[]", o->path);
        snprintf(out + n, cap - n, "%s", copt_find(item) ? " of blocks" : " of strings");
    }
    if ((o->type != COPT_ENUM && o->type != COPT_URL) || !o->values || n >= cap) return;
    n += (size_t)snprintf(out + n, cap - n, ": ");
    for (const char *p = o->values; *p && n < cap;) {
        size_t len = strcspn(p, "|");
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s%s", p == o->values ? "" : ", ", (int)len, p,
                              o->type == COPT_URL ? "://" : "");
        p += len;
        if (*p == '|') p++;
    }
}

static void docs__flags(const copt *o, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s", (o->flags & COPT_REQUIRED) ? "required " : "",
             (o->flags & COPT_SECRET) ? "secret " : "",
             (o->flags & COPT_RELOADABLE) ? "reloadable " : "",
             (o->flags & COPT_PLANNED) ? "planned " : "");
    size_t n = strlen(out);
    if (n > 0) out[n - 1] = '\0';
}

static const char docs_intro[] =
    "# cotter configuration reference\n"
    "\n"
    "<!-- Generated from the option table in src/config/config_options.c by\n"
    "     `cotter config-doc`; do not edit by hand. -->\n"
    "\n"
    "cotter reads one YAML file (`cotter run -c cotter.yaml`). This page lists every key,\n"
    "generated from the same table the loader validates against, so it cannot drift.\n"
    "\n"
    "## Value syntax\n"
    "\n"
    "- **Environment variables.** `${NAME}` in any value is replaced by the environment\n"
    "  variable NAME; an unset variable is an error that names it. `${NAME:-fallback}`\n"
    "  uses `fallback` when NAME is unset or empty. `$${` writes a literal `${`; any other\n"
    "  `$` is literal. Keys (names of sources, targets, channels) are not expanded.\n"
    "- **Names** of sources, targets, channels and pipelines: letters, digits, `_` and `-`,\n"
    "  at most 64 characters. Pipeline names are unique across the file.\n"
    "- **uint**: a decimal number, e.g. `2000`.\n"
    "- **bool**: `true`/`false` (also `yes`/`no`, `on`/`off`).\n"
    "- **duration**: a number with a unit `ms`, `s`, `m`, `h`, `d`, `w` (7 d), `y` (365 d),\n"
    "  or several (`1m30s`).\n"
    "  A bare number is in the unit the key's description names. Keys stored in whole\n"
    "  seconds reject fractions of a second.\n"
    "- **size**: a number with a unit `B`, `KB`, `MB`, `GB`, `TB` (also `K`, `KiB`, ...),\n"
    "  all powers of 1024: `64MB` is 67108864 bytes. A bare number is bytes.\n"
    "- **url**: `scheme://user:password@host:port[/database][?key=value&...]`. The password\n"
    "  may contain `@`, `:` and `/`; a `?`, `%`, space or other special character is written\n"
    "  percent-encoded (`%3F`, `%25`, `%20`). Put the password in the environment:\n"
    "  `mysql://repl:${SHOP_PW}@db1:3306`. Passwords and secret-looking query values are\n"
    "  shown as `***` in every log line and message. Only `mysql://` and `mariadb://` are\n"
    "  implemented so far.\n"
    "- **Flags**: *required* keys must be present; *secret* values are never printed;\n"
    "  *reloadable* keys may change while cotter runs; *planned* keys are recognised but not\n"
    "  implemented yet, and a file that uses them is rejected rather than silently\n"
    "  half-applied.\n"
    "\n"
    "A mistake is reported with the file, line and key, what is wrong and what was expected,\n"
    "and `cotter run` exits with status 2:\n"
    "\n"
    "```\n"
    "cotter: cotter.yaml:7: channels.orders.pipelines[0]: unknown key 'sourse' (did you mean "
    "'source'?)\n"
    "cotter: cotter.yaml:9: channels.orders.pipelines[0].source: 'shpo' is not defined under "
    "sources (defined: shop)\n"
    "```\n";

static const char docs_example[] =
    "## Full example\n"
    "\n"
    "```yaml\n"
    "data_dir: /var/lib/cotter              # meta store, logs, status files\n"
    "manager:\n"
    "  listen: 127.0.0.1:8080               # HTTP API, console, /metrics\n"
    "  tokens:                              # optional; required off loopback\n"
    "    - { name: ops, token: \"${COTTER_OPS_TOKEN}\", role: admin }\n"
    "    - { name: grafana, token: \"${COTTER_RO_TOKEN}\", role: read }\n"
    "log:\n"
    "  level: info                          # error | warn | info | debug\n"
    "  json: false\n"
    "\n"
    "sources:\n"
    "  shop:                                # a name you choose\n"
    "    url: \"mysql://repl:${SHOP_PW}@10.0.0.5:3306\"   # password from the environment\n"
    "    server_id: 6001                    # unique among the source's replicas\n"
    "    connect_timeout: 5s\n"
    "    read_timeout: 30s\n"
    "    heartbeat: 1s\n"
    "\n"
    "targets:\n"
    "  warehouse:\n"
    "    url: \"mariadb://cotter:${WH_PW}@10.0.0.6:3306\"\n"
    "    connect_timeout: 5s\n"
    "    read_timeout: 30s\n"
    "    write_timeout: 30s\n"
    "    ddl_timeout: 1d                    # an ALTER TABLE of a big table may take hours\n"
    "\n"
    "channels:\n"
    "  orders:                              # started and stopped as one unit\n"
    "    pipelines:\n"
    "      - name: shop-to-warehouse        # unique across the file; keys the position\n"
    "        source: shop\n"
    "        target: warehouse\n"
    "        snapshot: never                # initial | never\n"
    "        start:                         # only used while the target has no position\n"
    "          file: binlog.000042\n"
    "          pos: 4\n"
    "        batch: { rows: 2000, bytes: 8MB, ms: 200ms, merge: true }\n"
    "        queue: { rows: 10000, bytes: 16MB }\n"
    "        retry: { min_ms: 200ms, max_ms: 30s }\n"
    "        tables:\n"
    "          - match: shop.order_*        # schema.table glob\n"
    "            to: warehouse.{table}      # rename; {schema} and {table} are replaced\n"
    "          - match: shop.customers      # same schema.table on the target\n"
    "```\n";

/* docs__section writes the heading and key table of the block at pattern. */
static void docs__section(FILE *out, const char *pattern, const char *title, const char *desc)
{
    char type[128], bounds[64], flags[64];
    fprintf(out, "\n## %s\n\n%s\n\n", title, desc);
    fprintf(out, "| Key | Type | Default | Bounds | Flags | Description |\n");
    fprintf(out, "|-----|------|---------|--------|-------|-------------|\n");
    for (size_t i = 0; i < config_n_options; i++) {
        const copt *o = &config_options[i];
        if (!copt_is_child(o, pattern)) continue;
        docs__type(o, type, sizeof(type));
        docs__bounds(o, bounds, sizeof(bounds));
        docs__flags(o, flags, sizeof(flags));
        const char *see = "";
        if (o->type == COPT_BLOCK || o->type == COPT_MAP ||
            (o->type == COPT_LIST && !(o->flags & COPT_PLANNED)))
            see = " See below.";
        fprintf(out, "| `%s` | %s | %s%s%s | %s | %s | %s%s |\n", copt_key(o), type,
                o->def ? "`" : "", o->def ? o->def : "", o->def ? "`" : "", bounds, flags, o->desc,
                see);
    }
}

void config_write_docs(FILE *out)
{
    fputs(docs_intro, out);
    docs__section(out, "", "Top level", "The keys of the file itself.");
    for (size_t i = 0; i < config_n_options; i++) {
        const copt *o = &config_options[i];
        if (o->type != COPT_BLOCK) continue;
        char title[256];
        docs__path(o->path, title, sizeof(title));
        char heading[300];
        snprintf(heading, sizeof(heading), "`%s`", title);
        docs__section(out, o->path, heading, o->desc);
    }
    fputc('\n', out);
    fputs(docs_example, out);
}
