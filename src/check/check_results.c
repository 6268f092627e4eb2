/*
 * In-process check results (contract in the header): two small arrays
 * under one mutex, searched linearly (a few hundred tables at most in
 * practice; bounded by CHECK_RESULTS_MAX).
 */
#include "check/check_results.h"

#include "check/check_sql.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_DIFFS 20 /* differing keys kept per table for the API */

typedef struct entry {
    char pipeline[128];
    char source[160];
    char target[160];
    time_t at;
    double seconds;
    uint64_t rows, chunks, missing, extra, different, settled;
    uint64_t aged_out; /* not differences: rows a NOW() where: no longer selects */
    bool not_itemized;
    char *error;
    char *diffs; /* JSON array text of the first differing keys */
} entry;

typedef struct sched {
    char pipeline[128];
    uint32_t every_s;
    time_t next_at;
    bool running;
} sched;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static size_t n_entries;
static sched *scheds;
static size_t n_scheds;

static void json_s(buf *b, const char *s)
{
    check_json_str(b, s, strlen(s));
}

static void time_s(buf *b, time_t t)
{
    char ts[40];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_s(b, ts);
}

void check_results_put(const check_table_result *r, time_t at)
{
    buf d;
    buf_init(&d);
    buf_putc(&d, '[');
    for (uint32_t k = 0; k < r->n_diffs && k < KEEP_DIFFS; k++) {
        if (k) buf_putc(&d, ',');
        buf_printf(&d, "{\"kind\":\"%s\",\"key\":%s}",
                   check_kind_name((check_kind)r->diffs[k].kind), r->diffs[k].json);
    }
    buf_putc(&d, ']');
    pthread_mutex_lock(&mu);
    entry *e = NULL;
    for (size_t i = 0; i < n_entries && !e; i++)
        if (strcmp(entries[i].pipeline, r->pipeline) == 0 &&
            strcmp(entries[i].source, r->source) == 0)
            e = &entries[i];
    if (!e && n_entries < CHECK_RESULTS_MAX) {
        entry *v = realloc(entries, (n_entries + 1) * sizeof(*v));
        if (!v) abort();
        entries = v;
        e = &entries[n_entries++];
        memset(e, 0, sizeof(*e));
    }
    if (e) {
        free(e->error);
        free(e->diffs);
        snprintf(e->pipeline, sizeof(e->pipeline), "%s", r->pipeline);
        snprintf(e->source, sizeof(e->source), "%s", r->source);
        snprintf(e->target, sizeof(e->target), "%s", r->target);
        e->at = at;
        e->seconds = r->seconds;
        e->rows = r->rows;
        e->chunks = r->chunks;
        e->missing = r->missing;
        e->extra = r->extra;
        e->different = r->different;
        e->settled = r->settled_chunks + r->settled_rows;
        e->aged_out = r->aged_out;
        e->not_itemized = r->not_itemized;
        e->error = r->error ? strdup(r->error) : NULL;
        e->diffs = d.data;
        d.data = NULL;
    }
    pthread_mutex_unlock(&mu);
    buf_deinit(&d);
}

void check_results_schedule(const char *pipeline, uint32_t every_s, time_t next_at, bool running)
{
    pthread_mutex_lock(&mu);
    sched *s = NULL;
    for (size_t i = 0; i < n_scheds && !s; i++)
        if (strcmp(scheds[i].pipeline, pipeline) == 0) s = &scheds[i];
    if (!s && n_scheds < CHECK_RESULTS_MAX) {
        sched *v = realloc(scheds, (n_scheds + 1) * sizeof(*v));
        if (!v) abort();
        scheds = v;
        s = &scheds[n_scheds++];
        memset(s, 0, sizeof(*s));
        snprintf(s->pipeline, sizeof(s->pipeline), "%s", pipeline);
    }
    if (s) {
        s->every_s = every_s;
        s->next_at = next_at;
        s->running = running;
    }
    pthread_mutex_unlock(&mu);
}

void check_results_json(buf *out, const char *pipeline)
{
    pthread_mutex_lock(&mu);
    buf_puts(out, "{\"schedules\":[");
    bool first = true;
    for (size_t i = 0; i < n_scheds; i++) {
        const sched *s = &scheds[i];
        if (pipeline && strcmp(pipeline, s->pipeline) != 0) continue;
        if (!first) buf_putc(out, ',');
        first = false;
        buf_puts(out, "{\"pipeline\":");
        json_s(out, s->pipeline);
        buf_printf(out, ",\"every_s\":%u,\"running\":%s,\"next_at\":", s->every_s,
                   s->running ? "true" : "false");
        time_s(out, s->next_at);
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"tables\":[");
    first = true;
    for (size_t i = 0; i < n_entries; i++) {
        const entry *e = &entries[i];
        if (pipeline && strcmp(pipeline, e->pipeline) != 0) continue;
        if (!first) buf_putc(out, ',');
        first = false;
        const char *status = e->error ? "error"
                             : (e->missing || e->extra || e->different || e->not_itemized)
                                 ? "differs"
                                 : "identical";
        buf_puts(out, "{\"pipeline\":");
        json_s(out, e->pipeline);
        buf_puts(out, ",\"source\":");
        json_s(out, e->source);
        buf_puts(out, ",\"target\":");
        json_s(out, e->target);
        buf_puts(out, ",\"checked_at\":");
        time_s(out, e->at);
        buf_printf(out,
                   ",\"status\":\"%s\",\"seconds\":%.3f,\"rows\":%llu,\"chunks\":%llu,"
                   "\"missing\":%llu,\"extra\":%llu,\"different\":%llu,\"settled\":%llu,"
                   "\"aged_out\":%llu,\"error\":",
                   status, e->seconds, (unsigned long long)e->rows, (unsigned long long)e->chunks,
                   (unsigned long long)e->missing, (unsigned long long)e->extra,
                   (unsigned long long)e->different, (unsigned long long)e->settled,
                   (unsigned long long)e->aged_out);
        if (e->error)
            json_s(out, e->error);
        else
            buf_puts(out, "null");
        buf_puts(out, ",\"diffs\":");
        buf_puts(out, e->diffs ? e->diffs : "[]");
        buf_putc(out, '}');
    }
    buf_puts(out, "]}");
    pthread_mutex_unlock(&mu);
}

uint64_t check_results_differences(const char *pipeline)
{
    uint64_t n = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_entries; i++)
        if (!pipeline || strcmp(pipeline, entries[i].pipeline) == 0)
            n += entries[i].missing + entries[i].extra + entries[i].different;
    pthread_mutex_unlock(&mu);
    return n;
}

void check_results_foreach(check_results_fn fn, void *ctx)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_entries; i++) {
        const entry *e = &entries[i];
        fn(ctx, e->pipeline, e->source, e->missing + e->extra + e->different, e->error != NULL,
           e->at);
    }
    pthread_mutex_unlock(&mu);
}

void check_results_clear(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_entries; i++) {
        free(entries[i].error);
        free(entries[i].diffs);
    }
    free(entries);
    free(scheds);
    entries = NULL;
    scheds = NULL;
    n_entries = n_scheds = 0;
    pthread_mutex_unlock(&mu);
}
