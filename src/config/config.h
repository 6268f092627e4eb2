/*
 * The configuration: a YAML file (shared/DESIGN.md has its shape) read into
 * plain structs. Every option is declared once in the option table
 * (config_options.c) with its type, default, bounds, flags and a one-line
 * description; docs/config.md is generated from that table
 * (`cotter config-doc`). ${NAME} in any scalar expands from the
 * environment. A config error names the file, line and key, and what was
 * expected. Secrets (flag SECRET) are never printed.
 */
#ifndef COT_CONFIG_H
#define COT_CONFIG_H

#include "config/url.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cfg_endpoint {
    char *name;
    int line;           /* line of the definition in the file */
    cot_url url;        /* parsed, ${ENV} expanded */
    uint32_t server_id; /* sources: replica server id cotter registers with */
    int connect_timeout_s;
    int read_timeout_s;
    int write_timeout_s;
    int ddl_timeout_s; /* targets: read timeout of DDL and index builds (>= read_timeout_s) */
    int heartbeat_s;   /* sources: heartbeat period asked from the server */
    /* sources: largest binlog event accepted (and inflated size of a compressed one) */
    uint64_t max_event_size;
} cfg_endpoint;

typedef struct cfg_table_map {
    char *match; /* "schema.table" glob: * ? [..] */
    char *to;    /* rename template with {schema} {table}, or NULL */
    int line;
    /* column selection: an include list (with optional renames) or an
     * exclude list, never both; none of them: every column as it is */
    char **columns;    /* source names, in target order */
    char **columns_as; /* target name of each (= source name unless renamed) */
    int n_columns;
    int columns_line;
    char **exclude;
    int n_exclude;
    int exclude_line;
    /* constant columns added to every row: name -> literal text */
    char **const_names;
    char **const_values;
    int n_consts;
    int consts_line;
    char *where; /* row filter expression, or NULL */
    int where_line;
    int on_overflow;       /* cfg_overflow: a value the target column cannot hold */
    int conflict;          /* cfg_conflict: a target row that differs from the source's */
    char *conflict_column; /* latest_wins: the column compared (source >= target applies) */
    int conflict_line;
} cfg_table_map;

/* What the sink does with a value its target column cannot hold (tables[].on_overflow). */
typedef enum cfg_overflow {
    CFG_OVERFLOW_STOP = 0, /* fail the batch with the value, column and fix */
    CFG_OVERFLOW_CLAMP,    /* nearest representable value (logged once per column) */
    CFG_OVERFLOW_NULL,     /* NULL when the column allows it, else stop */
    CFG_OVERFLOW_SKIP_ROW, /* the row goes to cotter.dead_letters */
} cfg_overflow;

/* Conflict policy of a mapping (tables[].conflict). */
typedef enum cfg_conflict {
    CFG_CONFLICT_SOURCE_WINS = 0, /* apply every change as it comes */
    CFG_CONFLICT_LATEST_WINS,     /* apply only if conflict_column is >= the target's */
    CFG_CONFLICT_SKIP,            /* keep a target row that differs from what the source expects */
} cfg_conflict;

typedef enum cfg_snapshot { SNAPSHOT_NEVER = 0, SNAPSHOT_INITIAL } cfg_snapshot;

/* What the load stage does with a DDL statement of the mapped tables. */
typedef enum cfg_ddl {
    CFG_DDL_APPLY = 0, /* run it on the target, names rewritten by the mapping */
    CFG_DDL_IGNORE,    /* log it, do nothing */
    CFG_DDL_STOP,      /* stop the pipeline with the statement: the user applies it */
} cfg_ddl;

typedef struct cfg_pipeline {
    char *name;
    int line;
    char *source_name;
    char *target_name;
    cfg_endpoint *source; /* resolved; borrowed from cot_config */
    cfg_endpoint *target;
    cfg_snapshot snapshot;
    /* the initial load (snapshot_load block) */
    uint32_t snapshot_parallelism; /* chunk SELECTs at once */
    uint32_t snapshot_chunk_rows;  /* rows per chunk */
    bool snapshot_defer_indexes;   /* tables it creates get their secondary KEYs after the copy */
    bool snapshot_create_tables;   /* create missing target tables from the source's */
    cfg_ddl ddl;
    bool on_error_skip; /* a row the target refuses goes to cotter.dead_letters */
    cfg_table_map *tables;
    int n_tables;
    char **skip_tables; /* patterns of tables no mapping takes */
    int n_skip_tables;
    /* where to start when the target has no position: all empty/0 = the source's current end */
    char *start_file;
    uint64_t start_pos;
    char *start_gtid;
    /* load batching */
    uint32_t batch_rows;
    uint64_t batch_bytes;
    uint32_t batch_ms;
    bool batch_merge; /* fold each key's changes within a batch before applying */
    bool dry_run;     /* run every stage, write nothing to the target */
    /* queue between select and load */
    uint32_t queue_rows;
    uint64_t queue_bytes;
    /* retry of a failed pipeline run (reconnect) */
    uint32_t retry_min_ms;
    uint32_t retry_max_ms;
    uint32_t retry_times;      /* give up after this many failed sessions in a row; 0 never */
    uint32_t check_schedule_s; /* scheduled check period; 0: cot_config.check_schedule_s */
    bool check_enabled;        /* false: no scheduled check of this pipeline */
    uint32_t load_parallelism; /* target connections applying at once (1: serial) */
    uint32_t load_bulk_rows;   /* upserts of one table sent as LOAD DATA from this many; 0: never */
} cfg_pipeline;

/* Alarm rules (docs/alarms.md); the top-level alarms block holds the
 * defaults, a channel's alarms block overrides them for that channel. */
typedef struct cfg_alarm_rules {
    bool enabled;              /* false: no alarm for this channel */
    uint32_t delay_warning_s;  /* 0: off */
    uint32_t delay_critical_s; /* 0: off */
    uint32_t stall_s;          /* no position progress while behind; 0: off */
    uint32_t error_after_s;    /* failing this long (retriable errors) raises the error alarm */
    bool error;                /* the error alarm is on */
    uint32_t error_rate_pct;   /* failures / (failures + transactions) over the window; 0: off */
} cfg_alarm_rules;

typedef struct cfg_alarms {
    cfg_alarm_rules rules;
    uint32_t error_window_s;
    uint32_t repeat_s; /* suppression: the same alarm is sent at most once per this */
    uint32_t history;  /* alarm events kept in memory */
    bool log;          /* the log notifier */
    char *webhook_url; /* NULL: no webhook */
    uint32_t webhook_timeout_s;
    uint32_t webhook_retries;
    char *command; /* NULL: no command hook; run with /bin/sh -c */
    uint32_t command_timeout_s;
    bool auto_recovery;
    uint32_t auto_recovery_max_per_hour;
} cfg_alarms;

typedef struct cfg_channel {
    char *name;
    int line;
    cfg_pipeline *pipelines;
    int n_pipelines;
    cfg_alarm_rules alarms; /* the global rules with this channel's overrides */
} cfg_channel;

typedef struct cfg_token {
    char *name;  /* who uses it: written to the audit log (the token never is) */
    char *token; /* SECRET: compared, never printed */
    bool admin;  /* admin: GET and POST; read: GET only */
    int line;
} cfg_token;

typedef struct cot_config {
    char *path;
    char *data_dir;
    char *manager_listen;
    bool manager_listen_set; /* written in the file (not the default) */
    cfg_token *manager_tokens;
    int n_manager_tokens;
    char *manager_tls_cert; /* PEM files; both NULL: plain HTTP */
    char *manager_tls_key;
    char *log_level; /* error|warn|info|debug */
    bool log_json;
    uint32_t log_memory_lines;          /* recent lines kept for GET /api/logs */
    uint32_t check_schedule_s;          /* scheduled check period of every pipeline; 0 never */
    uint32_t check_chunk_time_ms;       /* aim of one check chunk's checksum */
    uint32_t check_max_delay_s;         /* scheduled check pauses while a pipeline lags more */
    uint32_t check_max_rows_per_s;      /* scheduled check reads at most this many rows/s; 0 any */
    uint32_t check_max_source_threads;  /* scheduled check pauses past this Threads_running */
    uint64_t manager_audit_max_size;    /* bytes; rotate the audit log past it (0: never) */
    uint64_t manager_audit_retention_s; /* delete rotated audit files older (0: never) */
    cfg_alarms alarms;
    cfg_endpoint *sources;
    int n_sources;
    cfg_endpoint *targets;
    int n_targets;
    cfg_channel *channels;
    int n_channels;
} cot_config;

/* config_load reads and validates path; on success *out is owned by the
 * caller (config_free). On failure returns COT_ERR_CONFIG (or COT_ERR_IO)
 * with a message "FILE:LINE: key 'K': what is wrong; what was expected". */
cot_err config_load(const char *path, cot_config **out);
void config_free(cot_config *cfg);

/* config_write_docs writes the option reference (Markdown) generated from
 * the option table. */
void config_write_docs(FILE *out);

/* table_pattern_is_regex says whether a table pattern is "/regex/". */
bool table_pattern_is_regex(const char *pattern);
/* table_glob_match matches a "schema.table" glob, or a "/regex/" (POSIX
 * extended, anchored, over "schema.table"), against a table. */
bool table_glob_match(const char *pattern, const char *schema, const char *table);
/* table_route applies a rename template ("warehouse.{table}", "{schema}_bak.{table}")
 * to a source table; NULL template keeps the names. Writes into the caller's
 * buffers; returns false (with cot_err set) if the result is not "schema.table". */
bool table_route(const char *tmpl, const char *schema, const char *table, char *out_schema,
                 size_t schema_cap, char *out_table, size_t table_cap);

#endif
