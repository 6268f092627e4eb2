/*
 * The operations endpoints of the API: GET /api/alarms (the alarm engine's
 * firing alarms and history) and GET /api/logs (the in-memory log tail,
 * filtered by level and channel). Runs on MHD's polling thread; reads the
 * engine and the ring through their own locks.
 */
#include "manager/alarm.h"
#include "manager/http.h"
#include "manager/logs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* api_ops__uint reads query argument name as a whole number in [lo, hi]
 * (absent: def); false with a 400 reply when it is not one. */
static bool api_ops__uint(const mgr_request *rq, mgr_reply *rp, const char *name,
                          unsigned long long def, unsigned long long lo, unsigned long long hi,
                          unsigned long long *out)
{
    const char *s = mgr_query_arg(rq, name);
    *out = def;
    if (!s || !*s) return true;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || *s == '-' || v < lo || v > hi) {
        mgr_reply_error(rp, 400, "bad_argument", "%s=%s: expected a whole number from %llu to %llu",
                        name, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

/* api_ops__channel returns the channel named or numbered by the channel
 * argument: -1 when absent, -2 (404 set) when unknown. */
static int api_ops__channel(manager *m, const mgr_request *rq, mgr_reply *rp)
{
    const char *name = mgr_query_arg(rq, "channel");
    if (!name || !*name) return -1;
    for (int c = 0; c < m->n_chans; c++)
        if (strcmp(m->chans[c].ch->name, name) == 0) return c;
    char *end = NULL;
    long v = strtol(name, &end, 10);
    if (*end == '\0' && v >= 1 && v <= m->n_chans) return (int)v - 1;
    mgr_reply_error(rp, 404, "channel_not_found",
                    "no channel '%s': give a channel's name or its number 1..%d", name, m->n_chans);
    return -2;
}

void api_alarms(manager *m, const mgr_request *rq, mgr_reply *rp)
{
    unsigned long long limit;
    if (!api_ops__uint(rq, rp, "limit", 100, 0, 100000, &limit)) return;
    int c = api_ops__channel(m, rq, rp);
    if (c == -2) return;
    pthread_mutex_lock(&m->mu);
    struct alarm_engine *ae = m->alarms;
    pthread_mutex_unlock(&m->mu);
    if (!ae) {
        mgr_reply_error(rp, 503, "alarms_unavailable", "the alarm engine is not running");
        return;
    }
    alarm_engine_json(ae, c >= 0 ? m->chans[c].ch->name : NULL, (size_t)limit, &rp->body);
    buf_putc(&rp->body, '\n');
}

void api_logs(manager *m, const mgr_request *rq, mgr_reply *rp)
{
    unsigned long long lines, after;
    if (!api_ops__uint(rq, rp, "lines", 100, 1, 100000, &lines) ||
        !api_ops__uint(rq, rp, "after", 0, 0, UINT64_MAX, &after))
        return;
    log_ring_query q = {.lines = (size_t)lines, .max_level = LOG_DEBUG, .after_seq = after};
    const char *level = mgr_query_arg(rq, "level");
    if (level && *level && !log_level_parse(level, &q.max_level)) {
        mgr_reply_error(rp, 400, "bad_argument",
                        "level=%s: expected error, warn, info or debug (that level and the more "
                        "severe ones are returned)",
                        level);
        return;
    }
    int c = api_ops__channel(m, rq, rp);
    if (c == -2) return;
    const char **words = NULL;
    if (c >= 0) { /* a line belongs to a channel when it names it or one of its pipelines */
        mgr_channel *mc = &m->chans[c];
        words = calloc((size_t)mc->n_pls + 1, sizeof(*words));
        if (!words) abort();
        words[0] = mc->ch->name;
        for (int i = 0; i < mc->n_pls; i++) words[i + 1] = pipeline_name(m->pls[mc->pls[i]]);
        q.words = words;
        q.n_words = mc->n_pls + 1;
    }
    pthread_mutex_lock(&m->mu);
    struct log_ring *lr = m->logs;
    pthread_mutex_unlock(&m->mu);
    if (!lr) {
        free(words);
        mgr_reply_error(rp, 503, "logs_unavailable",
                        "no in-memory log: see DATA_DIR/logs/cotter.log");
        return;
    }
    log_ring_json(lr, &q, &rp->body);
    buf_putc(&rp->body, '\n');
    free(words);
}
