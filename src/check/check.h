/*
 * Consistency check and repair of a pipeline's target against its source
 * (`cotter check`, `cotter repair`). For every source table a mapping
 * routes, the rows are compared in key ranges: both servers compute
 * COUNT(*) and BIT_XOR(CRC32(normalized row)) per range; a range that
 * differs is fetched as (key, row CRC) lists and diffed, naming each
 * missing, extra and different row. Keyless tables compare as multisets.
 * Repair (source wins) upserts missing/different rows and deletes extra
 * ones, one target transaction per chunk. Runs on the caller's thread.
 * A mapping's where: selects the source rows as the stream does: cotter
 * evaluates it on the rows read (check_filter.h), never as SQL.
 *
 * Online: when the pipeline has a position on the target (cotter.positions),
 * a chunk or row that differs is compared again once the pipeline has
 * applied past the source position read right after the source side was
 * read (SHOW MASTER STATUS), so changes in flight are not reported; the
 * check also pauses while the pipeline lags more than max_delay_s.
 */
#ifndef COT_CHECK_H
#define COT_CHECK_H

#include "config/config.h"
#include "util/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef struct check_table_result check_table_result;

typedef struct check_opts {
    const char *pipeline;  /* only this pipeline (name), or NULL */
    const char *table;     /* only tables whose source or target "schema.table" matches this glob */
    bool repair;           /* fix what differs */
    bool dry_run;          /* repair: print the SQL to sql_out instead of running it */
    FILE *sql_out;         /* where dry-run SQL goes (stdout if NULL) */
    uint32_t chunk_rows;   /* first chunk size (0: 1000) */
    double chunk_target_s; /* aim of one chunk's checksum (0: 0.5 s) */
    uint32_t max_keys;     /* differing keys listed per table (0: 1000) */
    uint64_t keyless_limit; /* keyless tables: rows per side diffed by row (0: 100000) */
    bool offline;           /* never wait for the pipeline: compare as the tables are now */
    double wait_s;      /* online: longest wait for the pipeline to apply past a position (0: 60) */
    double max_delay_s; /* online: pause while the pipeline lags more than this (0: never) */
    double max_rows_per_s;       /* read at most this many source rows a second (0: no limit) */
    uint32_t max_source_threads; /* pause while the source runs more threads (0: never) */
    bool store;              /* write each table's result to cotter.check_results on the target */
    bool record;             /* also keep the results in this process (check_results.h) */
    const atomic_bool *stop; /* set: end at the next chunk (NULL: never) */
    /* called after each chunk and when a table ends (done = true) */
    void (*progress)(void *ctx, const check_table_result *r, bool done);
    void *progress_ctx;
} check_opts;

/* One listed difference. */
typedef struct check_diff {
    uint8_t kind; /* check_kind */
    char *json;   /* {"col":"value",..} for keyed tables, {"row":"..."} for keyless ones */
} check_diff;

struct check_table_result {
    char pipeline[128];
    char source[160]; /* "schema.table" */
    char target[160];
    bool keyless;
    uint64_t chunks;
    uint64_t rows; /* source rows checked */
    uint64_t missing, extra, different;
    bool not_itemized; /* keyless table too large: differs, rows not named */
    double seconds;
    check_diff *diffs; /* the first max_keys differences */
    uint32_t n_diffs;
    uint64_t diffs_omitted;
    uint64_t
        settled_chunks; /* online: chunks that differed, then matched once the pipeline caught up */
    uint64_t settled_rows;     /* online: rows likewise */
    uint64_t aged_out;         /* target rows the source has but a NOW() where: no longer selects */
    uint64_t repaired_upserts; /* rows written (or printed, dry run) */
    uint64_t repaired_deletes;
    char *error; /* could not check this table: why (NULL if checked) */
};

typedef struct check_report {
    check_table_result *tables;
    uint32_t n_tables;
    char *error; /* a whole pipeline could not be checked (connect, listing), or NULL */
} check_report;

/* check_run checks (and with opts->repair repairs) every selected
 * pipeline of cfg, filling *rep (caller frees with check_report_free).
 * Returns 0 identical, 1 differences found, 2 something could not be
 * checked (details in rep). For repair, "differences found" means found
 * and repaired (or printed). */
int check_run(const cot_config *cfg, const check_opts *opts, check_report *rep);

void check_report_free(check_report *rep);

/* check_last_started reads when pipeline pc's latest stored check started
 * (cotter.check_results on its target, scheduled or CLI) into *out. Returns
 * false when there is none or it cannot be read (the table is missing, the
 * target down). Connects (timeouts of at most 5 s) and disconnects; any
 * thread. */
bool check_last_started(const cfg_pipeline *pc, time_t *out);

/* cmd_check / cmd_repair run `cotter check` / `cotter repair` with the
 * arguments after the subcommand and return the exit status (0, 1, 2). */
int cmd_check(int argc, char **argv);
int cmd_repair(int argc, char **argv);

#endif
