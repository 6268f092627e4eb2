/*
 * Status documents as JSON, and their atomic write.
 */
#include "daemon/status_file.h"
#include "util/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void json_str(buf *out, const char *s)
{
    buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)*p);
        } else if (*p < 0x20) {
            buf_printf(out, "\\u%04x", *p);
        } else {
            buf_putc(out, (char)*p);
        }
    }
    buf_putc(out, '"');
}

void status_json(buf *out, const char *channel, const char *pipeline, const pipeline_status *st)
{
    char ts[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_puts(out, "{\"channel\":");
    json_str(out, channel);
    buf_puts(out, ",\"pipeline\":");
    json_str(out, pipeline);
    buf_puts(out, ",\"state\":");
    json_str(out, pipeline_state_name(st->state));
    buf_puts(out, ",\"position\":{\"file\":");
    json_str(out, st->pos.file);
    buf_printf(out, ",\"pos\":%llu,\"gtid\":", (unsigned long long)st->pos.pos);
    json_str(out, st->pos.gtid);
    buf_puts(out, "}");
    if (st->delay_s >= 0)
        buf_printf(out, ",\"delay_s\":%.1f", st->delay_s);
    else
        buf_puts(out, ",\"delay_s\":null");
    buf_printf(out,
               ",\"source_ts\":%u,\"applied\":{\"insert\":%llu,\"update\":%llu,\"delete\":%llu,"
               "\"transactions\":%llu,\"batches\":%llu,\"skipped\":%llu,\"conflicts\":%llu,"
               "\"overflows\":%llu,\"missing\":%llu},\"rows_per_s\":%.1f,"
               "\"queue\":{\"rows\":%zu,\"bytes\":%zu}",
               st->source_ts, (unsigned long long)st->inserts, (unsigned long long)st->updates,
               (unsigned long long)st->deletes, (unsigned long long)st->transactions,
               (unsigned long long)st->batches, (unsigned long long)st->skipped,
               (unsigned long long)st->conflicts, (unsigned long long)st->overflows,
               (unsigned long long)st->missing, st->rows_per_s, st->queue_rows, st->queue_bytes);
    const snapshot_progress *sp = &st->snapshot;
    buf_printf(out,
               ",\"snapshot\":{\"active\":%s,\"tables\":%u,\"tables_done\":%u,\"rows\":%llu,"
               "\"rows_total\":%llu,\"rows_per_s\":%.1f,\"eta_s\":",
               sp->active ? "true" : "false", sp->tables, sp->tables_done,
               (unsigned long long)sp->rows, (unsigned long long)sp->rows_total, sp->rows_per_s);
    if (sp->eta_s >= 0)
        buf_printf(out, "%.1f", sp->eta_s);
    else
        buf_puts(out, "null");
    buf_puts(out, ",\"table\":");
    json_str(out, sp->table);
    buf_puts(out, "}");
    buf_puts(out, ",\"last_error\":");
    if (st->last_error[0]) {
        json_str(out, st->last_error);
        char ets[40];
        struct tm etm;
        gmtime_r(&st->last_error_at, &etm);
        strftime(ets, sizeof(ets), "%Y-%m-%dT%H:%M:%SZ", &etm);
        buf_puts(out, ",\"last_error_at\":");
        json_str(out, ets);
        if (st->hint[0]) { /* the doctor's diagnosis of the error */
            buf_puts(out, ",\"hint\":");
            json_str(out, st->hint);
        }
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, ",\"updated_at\":");
    json_str(out, ts);
    buf_puts(out, "}\n");
}

bool status_file_write(const char *dir, const char *name, const buf *doc)
{
    char path[1024], tmp[1100];
    snprintf(path, sizeof(path), "%s/%s.json", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        cot_err_set(COT_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        return false;
    }
    size_t w = fwrite(doc->data, 1, doc->len, f);
    if (fclose(f) != 0 || w != doc->len) {
        cot_err_set(COT_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return false;
    }
    if (rename(tmp, path) != 0) {
        cot_err_set(COT_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
        return false;
    }
    return true;
}
