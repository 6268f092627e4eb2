/*
 * GET /metrics: the Prometheus text exposition format (version 0.0.4) of
 * every pipeline's status plus the process's resident memory. Each family is
 * written whole (HELP, TYPE, then all its samples) from one snapshot of the
 * pipelines taken at the start, so a scrape is consistent across families.
 * Runs on MHD's polling thread.
 */
#include "manager/http.h"
#include "check/check_results.h"
#include "manager/alarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* metrics__label appends a label value with \\, \" and \n escaped. */
static void metrics__label(buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '\\' || *p == '"') {
            buf_putc(b, '\\');
            buf_putc(b, *p);
        } else if (*p == '\n') {
            buf_puts(b, "\\n");
        } else {
            buf_putc(b, *p);
        }
    }
    buf_putc(b, '"');
}

static void metrics__family(buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* metrics__check_sample writes one cotter_check_differences sample. */
static void metrics__check_sample(void *ctx, const char *pipeline, const char *table,
                                  uint64_t differences, bool error, time_t at)
{
    buf *b = ctx;
    (void)error;
    (void)at;
    buf_puts(b, "cotter_check_differences{pipeline=");
    metrics__label(b, pipeline);
    buf_puts(b, ",table=");
    metrics__label(b, table);
    buf_printf(b, "} %llu\n", (unsigned long long)differences);
}

/* metrics__series starts a sample line: name{pipeline="..",channel=".."[,extra...] */
static void metrics__series(buf *b, const char *name, manager *m, int i)
{
    buf_printf(b, "%s{pipeline=", name);
    metrics__label(b, pipeline_name(m->pls[i]));
    buf_puts(b, ",channel=");
    metrics__label(b, pipeline_channel(m->pls[i]));
}

/* metrics__rss returns the resident set size in bytes from /proc/self/statm, or -1. */
static long long metrics__rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    if (n != 2 || page <= 0) return -1;
    return (long long)(resident * (unsigned long long)page);
}

void metrics_render(manager *m, buf *out)
{
    int n = m->n_pls;
    pipeline_status *st = calloc((size_t)(n ? n : 1), sizeof(*st));
    if (!st) abort();
    for (int i = 0; i < n; i++) pipeline_status_get(m->pls[i], &st[i]);

    metrics__family(out, "cotter_build_info", "gauge", "cotter's version; always 1.");
    buf_puts(out, "cotter_build_info{version=");
    metrics__label(out, COTTER_VERSION);
    buf_puts(out, "} 1\n");

    metrics__family(out, "cotter_pipeline_state", "gauge",
                    "1 for the pipeline's current state, 0 for the others.");
    for (int i = 0; i < n; i++) {
        for (int s = PS_STOPPED; s <= PS_ERROR; s++) {
            metrics__series(out, "cotter_pipeline_state", m, i);
            buf_puts(out, ",state=");
            metrics__label(out, pipeline_state_name((pipeline_state)s));
            buf_printf(out, "} %d\n", st[i].state == (pipeline_state)s);
        }
    }

    metrics__family(out, "cotter_pipeline_delay_seconds", "gauge",
                    "Seconds between now and the source commit time of the last transaction "
                    "applied; 0 when caught up; NaN when unknown (not streaming).");
    for (int i = 0; i < n; i++) {
        metrics__series(out, "cotter_pipeline_delay_seconds", m, i);
        if (st[i].delay_s >= 0)
            buf_printf(out, "} %.3f\n", st[i].delay_s);
        else
            buf_puts(out, "} NaN\n");
    }

    metrics__family(out, "cotter_rows_applied_total", "counter",
                    "Row changes committed on the target, by kind.");
    for (int i = 0; i < n; i++) {
        static const char *const kinds[] = {"insert", "update", "delete"};
        uint64_t v[3] = {st[i].inserts, st[i].updates, st[i].deletes};
        for (int k = 0; k < 3; k++) {
            metrics__series(out, "cotter_rows_applied_total", m, i);
            buf_printf(out, ",kind=\"%s\"} %llu\n", kinds[k], (unsigned long long)v[k]);
        }
    }

    metrics__family(out, "cotter_stage_seconds_total", "counter",
                    "Seconds spent per stage: select (waiting for and reading binlog events), "
                    "extract (decoding), transform (filters, mappings), load (apply, commit).");
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < PIPELINE_STAGES; s++) {
            metrics__series(out, "cotter_stage_seconds_total", m, i);
            buf_printf(out, ",stage=\"%s\"} %.3f\n", pipeline_stage_name(s), st[i].stage_s[s]);
        }
    }
    metrics__family(out, "cotter_bytes_applied_total", "counter",
                    "Row data committed on the target, in bytes as decoded from the binlog.");
    for (int i = 0; i < n; i++) {
        metrics__series(out, "cotter_bytes_applied_total", m, i);
        buf_printf(out, "} %llu\n", (unsigned long long)st[i].bytes_applied);
    }
    metrics__family(out, "cotter_batch_rows", "histogram",
                    "Source row changes per committed target batch.");
    for (int i = 0; i < n; i++) {
        uint64_t cum = 0;
        for (int b = 0; b <= PIPELINE_ROWS_BUCKETS; b++) {
            cum += st[i].batch_rows_hist[b];
            metrics__series(out, "cotter_batch_rows_bucket", m, i);
            if (b < PIPELINE_ROWS_BUCKETS)
                buf_printf(out, ",le=\"%g\"} %llu\n", pipeline_rows_buckets[b],
                           (unsigned long long)cum);
            else
                buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        metrics__series(out, "cotter_batch_rows_sum", m, i);
        buf_printf(out, "} %llu\n", (unsigned long long)st[i].batch_rows_sum);
        metrics__series(out, "cotter_batch_rows_count", m, i);
        buf_printf(out, "} %llu\n", (unsigned long long)cum);
    }
    metrics__family(out, "cotter_batch_apply_seconds", "histogram",
                    "Seconds from a batch's first change taken to its commit done on the target.");
    for (int i = 0; i < n; i++) {
        uint64_t cum = 0;
        for (int b = 0; b <= PIPELINE_LATENCY_BUCKETS; b++) {
            cum += st[i].batch_latency_hist[b];
            metrics__series(out, "cotter_batch_apply_seconds_bucket", m, i);
            if (b < PIPELINE_LATENCY_BUCKETS)
                buf_printf(out, ",le=\"%g\"} %llu\n", pipeline_latency_buckets[b],
                           (unsigned long long)cum);
            else
                buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        metrics__series(out, "cotter_batch_apply_seconds_sum", m, i);
        buf_printf(out, "} %.6f\n", st[i].batch_latency_sum);
        metrics__series(out, "cotter_batch_apply_seconds_count", m, i);
        buf_printf(out, "} %llu\n", (unsigned long long)cum);
    }

    metrics__family(out, "cotter_table_rows_applied_total", "counter",
                    "Row changes committed on the target, by target table and kind.");
    pipeline_table_count *tc = calloc(PIPELINE_TABLES_MAX, sizeof(*tc));
    if (!tc) abort();
    for (int i = 0; i < n; i++) {
        size_t nt = pipeline_tables_get(m->pls[i], tc, PIPELINE_TABLES_MAX);
        if (nt > PIPELINE_TABLES_MAX) nt = PIPELINE_TABLES_MAX;
        for (size_t t = 0; t < nt; t++) {
            static const char *const kinds[] = {"insert", "update", "delete"};
            uint64_t v[3] = {tc[t].inserts, tc[t].updates, tc[t].deletes};
            for (int k = 0; k < 3; k++) {
                metrics__series(out, "cotter_table_rows_applied_total", m, i);
                buf_puts(out, ",table=");
                metrics__label(out, tc[t].table);
                buf_printf(out, ",kind=\"%s\"} %llu\n", kinds[k], (unsigned long long)v[k]);
            }
        }
    }
    free(tc);

    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"cotter_transactions_applied_total", "counter",
         "Source transactions committed on the target."},
        {"cotter_batches_total", "counter", "Target transactions (batches) committed."},
        {"cotter_queue_rows", "gauge", "Rows waiting in the queue between select and load."},
        {"cotter_queue_bytes", "gauge", "Bytes waiting in the queue between select and load."},
        {"cotter_pipeline_source_timestamp_seconds", "gauge",
         "Source commit time (Unix seconds) of the last transaction applied; 0 before the "
         "first."},
        {"cotter_pipeline_binlog_position", "gauge",
         "Byte offset in the binlog file (label file) the target has applied up to."},
        {"cotter_pipeline_last_error_timestamp_seconds", "gauge",
         "When the pipeline last failed (Unix seconds); 0 when it never did."},
        {"cotter_pipeline_started_timestamp_seconds", "gauge",
         "When the pipeline was last started (Unix seconds)."},
        {"cotter_rows_skipped_total", "counter",
         "Rows the target refused and cotter wrote to cotter.dead_letters (on_error: skip)."},
        {"cotter_conflicts_total", "counter",
         "Source changes not applied because the target row won (tables[].conflict); each is "
         "in cotter.conflicts."},
        {"cotter_values_overflowed_total", "counter",
         "Values that did not fit their target column and were clamped or stored as NULL "
         "(tables[].on_overflow)."},
        {"cotter_rows_missing_total", "counter",
         "Source UPDATE/DELETE rows that matched no target row: the target drifted."},
    };
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
        metrics__family(out, fams[f].name, fams[f].type, fams[f].help);
        for (int i = 0; i < n; i++) {
            unsigned long long v = 0;
            switch (f) {
            case 0:
                v = st[i].transactions;
                break;
            case 1:
                v = st[i].batches;
                break;
            case 2:
                v = st[i].queue_rows;
                break;
            case 3:
                v = st[i].queue_bytes;
                break;
            case 4:
                v = st[i].source_ts;
                break;
            case 5:
                v = st[i].pos.pos;
                break;
            case 6:
                v = (unsigned long long)(st[i].last_error_at > 0 ? st[i].last_error_at : 0);
                break;
            case 7:
                v = (unsigned long long)(st[i].started_at > 0 ? st[i].started_at : 0);
                break;
            case 9:
                v = st[i].conflicts;
                break;
            case 10:
                v = st[i].overflows;
                break;
            case 11:
                v = st[i].missing;
                break;
            default:
                v = st[i].skipped;
                break;
            }
            metrics__series(out, fams[f].name, m, i);
            if (f == 5) {
                buf_puts(out, ",file=");
                metrics__label(out, st[i].pos.file);
            }
            buf_printf(out, "} %llu\n", v);
        }
    }

    metrics__family(out, "cotter_pipeline_errors_total", "counter",
                    "Sessions of the pipeline that ended in an error, by error class (each is "
                    "retried).");
    for (int i = 0; i < n; i++) {
        for (int c = 1; c < COT_ERR__COUNT; c++) {
            if (!st[i].errors_by_class[c]) continue;
            metrics__series(out, "cotter_pipeline_errors_total", m, i);
            buf_puts(out, ",class=");
            metrics__label(out, cot_err_name((cot_err)c));
            buf_printf(out, "} %llu\n", (unsigned long long)st[i].errors_by_class[c]);
        }
    }
    /* the initial load (docs/snapshot.md): rows copied and estimated, tables pending */
    metrics__family(out, "cotter_snapshot_rows", "gauge",
                    "Rows the snapshot (initial load) has copied, by kind: done, or total (the "
                    "estimate from information_schema).");
    for (int i = 0; i < n; i++) {
        metrics__series(out, "cotter_snapshot_rows", m, i);
        buf_printf(out, ",kind=\"done\"} %llu\n", (unsigned long long)st[i].snapshot.rows);
        metrics__series(out, "cotter_snapshot_rows", m, i);
        buf_printf(out, ",kind=\"total\"} %llu\n", (unsigned long long)st[i].snapshot.rows_total);
    }
    metrics__family(out, "cotter_snapshot_tables_pending", "gauge",
                    "Tables the snapshot still has to copy (0: none, or finished).");
    for (int i = 0; i < n; i++) {
        metrics__series(out, "cotter_snapshot_tables_pending", m, i);
        buf_printf(out, "} %u\n", st[i].snapshot.tables - st[i].snapshot.tables_done);
    }
    metrics__family(out, "cotter_pipeline_retries_total", "counter",
                    "Times the pipeline started a new session after a failed one.");
    for (int i = 0; i < n; i++) {
        metrics__series(out, "cotter_pipeline_retries_total", m, i);
        buf_printf(out, "} %llu\n", (unsigned long long)st[i].sessions_failed);
    }
    pthread_mutex_lock(&m->mu);
    struct alarm_engine *ae = m->alarms;
    pthread_mutex_unlock(&m->mu);
    if (ae) {
        int warn = 0, crit = 0;
        alarm_engine_firing(ae, &warn, &crit);
        metrics__family(out, "cotter_alarms_firing", "gauge", "Alarms firing now, by severity.");
        buf_printf(out, "cotter_alarms_firing{severity=\"warning\"} %d\n", warn);
        buf_printf(out, "cotter_alarms_firing{severity=\"critical\"} %d\n", crit);
    }

    metrics__family(out, "cotter_check_differences", "gauge",
                    "Rows (missing + extra + different) the last scheduled check of a table "
                    "found differing between source and target.");
    check_results_foreach(metrics__check_sample, out);

    long long rss = metrics__rss();
    if (rss >= 0) {
        metrics__family(out, "process_resident_memory_bytes", "gauge",
                        "Resident memory size in bytes.");
        buf_printf(out, "process_resident_memory_bytes %lld\n", rss);
    }
    metrics__family(out, "process_start_time_seconds", "gauge",
                    "When the manager started (Unix seconds).");
    buf_printf(out, "process_start_time_seconds %lld\n", (long long)m->started_at);
    free(st);
}
