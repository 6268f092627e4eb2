/*
 * The API's handlers (the paths Otter users script against; docs/api.md):
 * routing by path and method, channel and pipeline lookup by name or 1-based
 * number, JSON documents built from pipeline_status_get snapshots. Channel
 * actions are only queued here (mgr_enqueue); the worker carries them out.
 * Runs on MHD's polling thread; reads channel action fields under m->mu.
 */
#include "manager/http.h"
#include "check/check_results.h"
#include "manager/pause.h"
#include "manager/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* api__lookup_number parses a 1-based decimal id; 0 when s is not one. */
static long api__lookup_number(const char *s)
{
    if (!s || *s < '1' || *s > '9') return 0;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0) return 0;
    return v;
}

/* api__channel returns the index of the channel named or numbered id, or -1. */
static int api__channel(manager *m, const char *id, size_t len)
{
    char tmp[128];
    if (len == 0 || len >= sizeof(tmp)) return -1;
    memcpy(tmp, id, len);
    tmp[len] = '\0';
    for (int c = 0; c < m->n_chans; c++)
        if (strcmp(m->chans[c].ch->name, tmp) == 0) return c;
    long v = api__lookup_number(tmp);
    return v >= 1 && v <= m->n_chans ? (int)v - 1 : -1;
}

/* api__pipeline returns the index of the pipeline named or numbered id, or -1. */
static int api__pipeline(manager *m, const char *id)
{
    for (int i = 0; i < m->n_pls; i++)
        if (strcmp(pipeline_name(m->pls[i]), id) == 0) return i;
    long v = api__lookup_number(id);
    return v >= 1 && v <= m->n_pls ? (int)v - 1 : -1;
}

const char *api_channel_state(manager *m, const mgr_channel *mc)
{
    bool any_error = false, all_stopped = true;
    for (int i = 0; i < mc->n_pls; i++) {
        pipeline_status st;
        pipeline_status_get(m->pls[mc->pls[i]], &st);
        if (st.state == PS_ERROR) any_error = true;
        if (st.state != PS_STOPPED) all_stopped = false;
    }
    if (any_error) return "ERROR";
    if (all_stopped && pause_get(m->cfg->data_dir, mc->ch->name, NULL, 0, NULL)) return "PAUSED";
    return all_stopped ? "STOPPED" : "RUNNING";
}

static void api__time(buf *b, time_t t)
{
    if (!t) {
        buf_puts(b, "null");
        return;
    }
    struct tm tm;
    char ts[40];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
    buf_puts(b, ts);
}

/* api__tables_json appends ,"tables":[{table, insert, update, delete}...]:
 * the changes applied per target table. */
static void api__tables_json(pipeline *pl, buf *b)
{
    pipeline_table_count *tc = calloc(PIPELINE_TABLES_MAX, sizeof(*tc));
    if (!tc) abort();
    size_t n = pipeline_tables_get(pl, tc, PIPELINE_TABLES_MAX);
    if (n > PIPELINE_TABLES_MAX) n = PIPELINE_TABLES_MAX;
    buf_puts(b, ",\"tables\":[");
    for (size_t k = 0; k < n; k++) {
        buf_puts(b, k ? ",{\"table\":" : "{\"table\":");
        mgr_json_str(b, tc[k].table);
        buf_printf(b, ",\"insert\":%llu,\"update\":%llu,\"delete\":%llu}",
                   (unsigned long long)tc[k].inserts, (unsigned long long)tc[k].updates,
                   (unsigned long long)tc[k].deletes);
    }
    buf_puts(b, "]");
    free(tc);
}

/* api__pipeline_json appends the status document of pipeline i. */
static void api__pipeline_json(manager *m, int i, buf *b)
{
    pipeline *pl = m->pls[i];
    pipeline_status st;
    pipeline_status_get(pl, &st);
    buf_printf(b, "{\"id\":%d,\"name\":", i + 1);
    mgr_json_str(b, pipeline_name(pl));
    buf_puts(b, ",\"channel\":");
    mgr_json_str(b, pipeline_channel(pl));
    buf_puts(b, ",\"state\":");
    mgr_json_str(b, pipeline_state_name(st.state));
    buf_puts(b, ",\"position\":{\"file\":");
    mgr_json_str(b, st.pos.file);
    buf_printf(b, ",\"pos\":%llu,\"gtid\":", (unsigned long long)st.pos.pos);
    mgr_json_str(b, st.pos.gtid);
    buf_puts(b, "},\"delay_s\":");
    if (st.delay_s >= 0)
        buf_printf(b, "%.3f", st.delay_s);
    else
        buf_puts(b, "null");
    /* how far the source is known to go; behind: it has events not applied */
    buf_puts(b, ",\"source_end\":");
    if (st.source_end.file[0]) {
        buf_puts(b, "{\"file\":");
        mgr_json_str(b, st.source_end.file);
        buf_printf(b, ",\"pos\":%llu}", (unsigned long long)st.source_end.pos);
    } else {
        buf_puts(b, "null");
    }
    buf_printf(b, ",\"behind\":%s,\"target_wait_s\":", st.behind ? "true" : "false");
    if (st.target_wait_s > 0)
        buf_printf(b, "%.1f", st.target_wait_s);
    else
        buf_puts(b, "null");
    buf_printf(b,
               ",\"source_ts\":%u,\"applied\":{\"insert\":%llu,\"update\":%llu,\"delete\":%llu,"
               "\"transactions\":%llu,\"batches\":%llu,\"skipped\":%llu,\"conflicts\":%llu,"
               "\"overflows\":%llu,\"missing\":%llu},\"rows_per_s\":%.1f,"
               "\"queue\":{\"rows\":%zu,\"bytes\":%zu}",
               st.source_ts, (unsigned long long)st.inserts, (unsigned long long)st.updates,
               (unsigned long long)st.deletes, (unsigned long long)st.transactions,
               (unsigned long long)st.batches, (unsigned long long)st.skipped,
               (unsigned long long)st.conflicts, (unsigned long long)st.overflows,
               (unsigned long long)st.missing, st.rows_per_s, st.queue_rows, st.queue_bytes);
    /* source changes not applied as they are: refused (dead letters), lost to
     * the target row (conflicts), or with no target row to change (missing) */
    buf_printf(b, ",\"not_applied\":{\"skipped\":%llu,\"conflicts\":%llu,\"missing\":%llu}",
               (unsigned long long)st.skipped, (unsigned long long)st.conflicts,
               (unsigned long long)st.missing);
    const snapshot_progress *sp = &st.snapshot; /* the initial load (docs/snapshot.md) */
    buf_printf(b,
               ",\"snapshot\":{\"active\":%s,\"tables\":%u,\"tables_done\":%u,"
               "\"copies_done\":%u,\"rows\":%llu,\"rows_total\":%llu,\"rows_per_s\":%.1f,"
               "\"eta_s\":",
               sp->active ? "true" : "false", sp->tables, sp->tables_done, sp->copies_done,
               (unsigned long long)sp->rows, (unsigned long long)sp->rows_total, sp->rows_per_s);
    if (sp->eta_s >= 0)
        buf_printf(b, "%.1f", sp->eta_s);
    else
        buf_puts(b, "null");
    buf_puts(b, ",\"table\":");
    mgr_json_str(b, sp->table);
    buf_puts(b, "}");
    buf_puts(b, ",\"last_error\":");
    if (st.last_error[0]) {
        buf_puts(b, "{\"message\":");
        mgr_json_str(b, st.last_error);
        buf_puts(b, ",\"at\":");
        api__time(b, st.last_error_at);
        if (st.hint[0]) { /* the doctor's diagnosis of the error */
            buf_puts(b, ",\"hint\":");
            mgr_json_str(b, st.hint);
        }
        buf_puts(b, "}");
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"started_at\":");
    api__time(b, st.started_at);
    buf_puts(b, ",\"last_applied_at\":"); /* the last batch committed on the target */
    if (st.applied_at)
        api__time(b, st.applied_at);
    else
        buf_puts(b, "null");
    api__tables_json(pl, b);
    buf_printf(b, ",\"bytes_applied\":%llu,\"stages\":{", (unsigned long long)st.bytes_applied);
    for (int s = 0; s < PIPELINE_STAGES; s++)
        buf_printf(b, "%s\"%s_s\":%.3f", s ? "," : "", pipeline_stage_name(s), st.stage_s[s]);
    uint64_t nb = 0;
    for (int k = 0; k <= PIPELINE_LATENCY_BUCKETS; k++) nb += st.batch_latency_hist[k];
    buf_printf(b, "},\"batches\":{\"count\":%llu,\"rows_avg\":%.1f,\"apply_ms_avg\":%.1f}",
               (unsigned long long)nb, nb ? (double)st.batch_rows_sum / (double)nb : 0.0,
               nb ? 1000.0 * st.batch_latency_sum / (double)nb : 0.0);
    buf_puts(b, "}");
}

/* api__channel_json appends a channel document; full adds each pipeline's
 * status and the last action, otherwise pipelines are {id, name, state}. */
static void api__channel_json(manager *m, int c, bool full, buf *b)
{
    mgr_channel *mc = &m->chans[c];
    buf_printf(b, "{\"id\":%d,\"name\":", mc->id);
    mgr_json_str(b, mc->ch->name);
    buf_puts(b, ",\"state\":");
    mgr_json_str(b, api_channel_state(m, mc));
    char paused_by[80];
    time_t paused_at = 0;
    buf_puts(b, ",\"paused\":");
    if (pause_get(m->cfg->data_dir, mc->ch->name, paused_by, sizeof(paused_by), &paused_at)) {
        buf_puts(b, "{\"by\":");
        mgr_json_str(b, paused_by);
        buf_puts(b, ",\"at\":");
        api__time(b, paused_at);
        buf_puts(b, "}");
    } else {
        buf_puts(b, "null");
    }
    pthread_mutex_lock(&m->mu);
    int pending = mc->pending;
    bool busy = mc->busy;
    mgr_action running = mc->running;
    char last_action[16], last_result[256], last_by[80];
    time_t last_at = mc->last_at;
    memcpy(last_action, mc->last_action, sizeof(last_action));
    memcpy(last_result, mc->last_result, sizeof(last_result));
    memcpy(last_by, mc->last_by, sizeof(last_by));
    pthread_mutex_unlock(&m->mu);
    buf_printf(b, ",\"pending_actions\":%d,\"action_in_progress\":", pending);
    if (busy)
        mgr_json_str(b, mgr_action_name(running));
    else
        buf_puts(b, "null");
    buf_puts(b, ",\"pipelines\":[");
    for (int i = 0; i < mc->n_pls; i++) {
        if (i) buf_putc(b, ',');
        if (full) {
            api__pipeline_json(m, mc->pls[i], b);
        } else {
            pipeline_status st;
            pipeline_status_get(m->pls[mc->pls[i]], &st);
            buf_printf(b, "{\"id\":%d,\"name\":", mc->pls[i] + 1);
            mgr_json_str(b, pipeline_name(m->pls[mc->pls[i]]));
            buf_puts(b, ",\"state\":");
            mgr_json_str(b, pipeline_state_name(st.state));
            buf_puts(b, "}");
        }
    }
    buf_puts(b, "]");
    if (full) {
        buf_puts(b, ",\"last_action\":");
        if (last_action[0]) {
            buf_puts(b, "{\"action\":");
            mgr_json_str(b, last_action);
            buf_puts(b, ",\"by\":");
            mgr_json_str(b, last_by);
            buf_puts(b, ",\"result\":");
            mgr_json_str(b, last_result);
            buf_puts(b, ",\"finished_at\":");
            api__time(b, last_at);
            buf_puts(b, "}");
        } else {
            buf_puts(b, "null");
        }
    }
    buf_puts(b, "}");
}

static bool api__is_get(const mgr_request *rq)
{
    return strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;
}

/* api__want_get answers 405 unless the request is a GET (or HEAD). */
static bool api__want_get(const mgr_request *rq, mgr_reply *rp)
{
    if (api__is_get(rq)) return true;
    rp->allow = "GET, HEAD";
    mgr_reply_error(rp, 405, "method_not_allowed", "%s %s: this path only answers GET", rq->method,
                    rq->path);
    return false;
}

/* api__pipeline_snapshot serves POST /api/pipeline/{id}/snapshot?table=S.T[&where=EXPR]:
 * asks the running pipeline to (re)copy a table (admin only, audited). */
static void api__pipeline_snapshot(manager *m, const mgr_request *rq, mgr_reply *rp, const char *id,
                                   size_t id_len)
{
    rp->action = "snapshot";
    if (strcmp(rq->method, "POST") != 0) {
        rp->allow = "POST";
        mgr_reply_error(rp, 405, "method_not_allowed", "%s %s: a snapshot request is a POST",
                        rq->method, rq->path);
        return;
    }
    char name[200];
    snprintf(name, sizeof(name), "%.*s", (int)(id_len < 199 ? id_len : 199), id);
    int i = api__pipeline(m, name);
    if (i < 0) {
        mgr_reply_error(rp, 404, "pipeline_not_found",
                        "no pipeline '%s': give a pipeline's name or its number 1..%d", name,
                        m->n_pls);
        return;
    }
    rp->channel = pipeline_channel(m->pls[i]);
    if (!rq->admin) {
        mgr_reply_error(rp, 403, "forbidden",
                        "token '%s' has role read: a snapshot needs a token with role admin",
                        rq->who);
        return;
    }
    const char *table = mgr_query_arg(rq, "table");
    const char *where = mgr_query_arg(rq, "where");
    if (!table || !table[0]) {
        mgr_reply_error(rp, 400, "bad_request",
                        "give the source table to copy: ?table=schema.table[&where=EXPR]");
        return;
    }
    cot_err rc = pipeline_snapshot_request(m->pls[i], table, where);
    if (rc) {
        mgr_reply_error(rp, 400, "bad_request", "%s", cot_err_msg());
        return;
    }
    rp->status = 202;
    snprintf(rp->result, sizeof(rp->result), "accepted");
    buf_puts(&rp->body, "{\"pipeline\":");
    mgr_json_str(&rp->body, pipeline_name(m->pls[i]));
    buf_puts(&rp->body, ",\"table\":");
    mgr_json_str(&rp->body, table);
    buf_puts(&rp->body, ",\"accepted\":true}\n");
}

static void api__channel_path(manager *m, const mgr_request *rq, mgr_reply *rp, const char *rest)
{
    const char *slash = strchr(rest, '/');
    if (!slash) {
        mgr_reply_error(rp, 404, "not_found",
                        "no such path %s: use /api/channel/{id}/status|start|stop|restart",
                        rq->path);
        return;
    }
    const char *verb = slash + 1;
    bool is_status = strcmp(verb, "status") == 0;
    int act = strcmp(verb, "start") == 0     ? MGR_ACT_START
              : strcmp(verb, "stop") == 0    ? MGR_ACT_STOP
              : strcmp(verb, "restart") == 0 ? MGR_ACT_RESTART
                                             : -1;
    if (!is_status && act < 0) {
        mgr_reply_error(rp, 404, "not_found",
                        "no such path %s: use /api/channel/{id}/status|start|stop|restart",
                        rq->path);
        return;
    }
    if (act >= 0) rp->action = mgr_action_name((mgr_action)act);
    if (is_status && !api__want_get(rq, rp)) return;
    if (act >= 0 && strcmp(rq->method, "POST") != 0) {
        rp->allow = "POST";
        mgr_reply_error(rp, 405, "method_not_allowed", "%s %s: channel actions are POST",
                        rq->method, rq->path);
        return;
    }
    int c = api__channel(m, rest, (size_t)(slash - rest));
    if (c < 0) {
        mgr_reply_error(rp, 404, "channel_not_found",
                        "no channel '%.*s': give a channel's name or its number 1..%d "
                        "(GET /api/channels lists them)",
                        (int)(slash - rest), rest, m->n_chans);
        return;
    }
    rp->channel = m->chans[c].ch->name;
    if (is_status) {
        api__channel_json(m, c, true, &rp->body);
        buf_putc(&rp->body, '\n');
        return;
    }
    if (!rq->admin) {
        mgr_reply_error(rp, 403, "forbidden",
                        "token '%s' has role read: channel actions need a token with role admin",
                        rq->who);
        return;
    }
    char who[80];
    snprintf(who, sizeof(who), "%s from %s", rq->who, rq->peer);
    if (!mgr_enqueue(m, c, (mgr_action)act, who)) {
        mgr_reply_error(rp, 503, "busy",
                        "cannot queue %s of channel %s: %d actions are waiting or cotter is "
                        "stopping; retry later",
                        rp->action, rp->channel, MGR_QUEUE_MAX);
        return;
    }
    buf_printf(&rp->body, "{\"channel\":");
    mgr_json_str(&rp->body, rp->channel);
    buf_printf(&rp->body, ",\"id\":%d,\"action\":", c + 1);
    mgr_json_str(&rp->body, rp->action);
    buf_puts(&rp->body, ",\"accepted\":true,\"state\":");
    mgr_json_str(&rp->body, api_channel_state(m, &m->chans[c]));
    buf_puts(&rp->body, ",\"note\":\"the action runs in the background: poll "
                        "/api/channel/{id}/status\"}\n");
    snprintf(rp->result, sizeof(rp->result), "accepted");
}

static void api__pipeline_status(manager *m, const mgr_request *rq, mgr_reply *rp)
{
    if (rq->q_id) {
        int i = api__pipeline(m, rq->q_id);
        if (i < 0) {
            mgr_reply_error(rp, 404, "pipeline_not_found",
                            "no pipeline '%s': give a pipeline's name or its number 1..%d",
                            rq->q_id, m->n_pls);
            return;
        }
        api__pipeline_json(m, i, &rp->body);
        buf_putc(&rp->body, '\n');
        return;
    }
    buf_puts(&rp->body, "{\"pipelines\":[");
    for (int i = 0; i < m->n_pls; i++) {
        if (i) buf_putc(&rp->body, ',');
        api__pipeline_json(m, i, &rp->body);
    }
    buf_puts(&rp->body, "]}\n");
}

static void api__pipeline_delay(manager *m, const mgr_request *rq, mgr_reply *rp)
{
    if (!rq->q_id || !*rq->q_id) {
        mgr_reply_error(rp, 400, "missing_id",
                        "GET /api/pipeline/delay needs ?id=N (a pipeline's name or number 1..%d)",
                        m->n_pls);
        return;
    }
    int i = api__pipeline(m, rq->q_id);
    if (i < 0) {
        mgr_reply_error(rp, 404, "pipeline_not_found",
                        "no pipeline '%s': give a pipeline's name or its number 1..%d", rq->q_id,
                        m->n_pls);
        return;
    }
    pipeline_status st;
    pipeline_status_get(m->pls[i], &st);
    buf_printf(&rp->body, "{\"id\":%d,\"name\":", i + 1);
    mgr_json_str(&rp->body, pipeline_name(m->pls[i]));
    buf_puts(&rp->body, ",\"state\":");
    mgr_json_str(&rp->body, pipeline_state_name(st.state));
    buf_puts(&rp->body, ",\"delay_s\":");
    if (st.delay_s >= 0)
        buf_printf(&rp->body, "%.3f", st.delay_s);
    else
        buf_puts(&rp->body, "null");
    buf_printf(&rp->body, ",\"source_ts\":%u}\n", st.source_ts);
}

/* api__number_arg reads query argument name as an integer in [lo, hi];
 * absent gives def; false (with a 400 reply) when it is not one. */
static bool api__number_arg(const mgr_request *rq, mgr_reply *rp, const char *name, long def,
                            long lo, long hi, long *out)
{
    const char *s = mgr_query_arg(rq, name);
    *out = def;
    if (!s || !*s) return true;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        mgr_reply_error(rp, 400, "bad_argument", "%s=%s: expected a whole number from %ld to %ld",
                        name, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

/* api__pipeline_history answers GET /api/pipeline/history?id=N[&since=S][&points=P]
 * from the console's samples in the meta store (history.c). */
static void api__pipeline_history(manager *m, const mgr_request *rq, mgr_reply *rp)
{
    if (!rq->q_id || !*rq->q_id) {
        mgr_reply_error(rp, 400, "missing_id",
                        "GET /api/pipeline/history needs ?id=N (a pipeline's name or number "
                        "1..%d)",
                        m->n_pls);
        return;
    }
    int i = api__pipeline(m, rq->q_id);
    if (i < 0) {
        mgr_reply_error(rp, 404, "pipeline_not_found",
                        "no pipeline '%s': give a pipeline's name or its number 1..%d", rq->q_id,
                        m->n_pls);
        return;
    }
    long since, points;
    if (!api__number_arg(rq, rp, "since", 3600, 1, HISTORY_RETENTION_S, &since) ||
        !api__number_arg(rq, rp, "points", 360, 1, HISTORY_POINTS_MAX, &points))
        return;
    if (!m->hist) {
        mgr_reply_error(rp, 503, "history_unavailable",
                        "no history: the meta store in data_dir could not be opened at start "
                        "(see cotter.log)");
        return;
    }
    if (history_render(m->hist, i, since, (int)points, &rp->body) != COT_OK)
        mgr_reply_error(rp, 500, "history_failed", "%s", cot_err_msg());
}

void api_handle(manager *m, const mgr_request *rq, mgr_reply *rp)
{
    const char *p = rq->path;
    if (strncmp(p, "/api/channel/", 13) == 0) {
        api__channel_path(m, rq, rp, p + 13);
        return;
    }
    if (strcmp(p, "/healthz") == 0) {
        if (!api__want_get(rq, rp)) return;
        buf_printf(&rp->body, "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%lld}\n",
                   COTTER_VERSION, (long long)(time(NULL) - m->started_at));
        return;
    }
    if (strcmp(p, "/metrics") == 0) {
        if (!api__want_get(rq, rp)) return;
        rp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        metrics_render(m, &rp->body);
        return;
    }
    if (strcmp(p, "/api/channels") == 0) {
        if (!api__want_get(rq, rp)) return;
        buf_puts(&rp->body, "{\"channels\":[");
        for (int c = 0; c < m->n_chans; c++) {
            if (c) buf_putc(&rp->body, ',');
            api__channel_json(m, c, false, &rp->body);
        }
        buf_puts(&rp->body, "]}\n");
        return;
    }
    if (strncmp(p, "/api/pipeline/", 14) == 0 && strlen(p) > 23 &&
        strcmp(p + strlen(p) - 9, "/snapshot") == 0) {
        api__pipeline_snapshot(m, rq, rp, p + 14, strlen(p) - 23);
        return;
    }
    if (strcmp(p, "/api/pipeline/status") == 0) {
        if (api__want_get(rq, rp)) api__pipeline_status(m, rq, rp);
        return;
    }
    if (strcmp(p, "/api/pipeline/delay") == 0) {
        if (api__want_get(rq, rp)) api__pipeline_delay(m, rq, rp);
        return;
    }
    if (strcmp(p, "/api/pipeline/history") == 0) {
        if (api__want_get(rq, rp)) api__pipeline_history(m, rq, rp);
        return;
    }
    if (strcmp(p, "/api/session") == 0) { /* who the console is logged in as */
        if (!api__want_get(rq, rp)) return;
        buf_puts(&rp->body, "{\"user\":");
        mgr_json_str(&rp->body, rq->who);
        buf_printf(&rp->body, ",\"role\":\"%s\",\"tokens_required\":%s}\n",
                   rq->admin ? "admin" : "read", m->cfg->n_manager_tokens ? "true" : "false");
        return;
    }
    if (strcmp(p, "/api/alarms") == 0) {
        if (api__want_get(rq, rp)) api_alarms(m, rq, rp);
        return;
    }
    if (strcmp(p, "/api/logs") == 0) {
        if (api__want_get(rq, rp)) api_logs(m, rq, rp);
        return;
    }
    if (strcmp(p, "/api/checks") == 0) { /* scheduled consistency checks (docs/check.md) */
        if (!api__want_get(rq, rp)) return;
        check_results_json(&rp->body, mgr_query_arg(rq, "pipeline"));
        buf_putc(&rp->body, '\n');
        return;
    }
    if (strcmp(p, "/") == 0) {
        if (!api__want_get(rq, rp)) return;
        buf_printf(&rp->body,
                   "{\"name\":\"cotter\",\"version\":\"%s\",\"console\":\"/\",\"endpoints\":["
                   "\"GET /api/channels\",\"GET /api/channel/{id}/status\","
                   "\"POST /api/channel/{id}/start|stop|restart\",\"GET /api/pipeline/status\","
                   "\"GET /api/pipeline/delay?id=N\",\"GET /api/pipeline/history?id=N&since=S\","
                   "\"GET /api/session\",\"GET /api/alarms\",\"GET /api/logs\","
                   "\"GET /api/checks\",\"GET /metrics\","
                   "\"GET /healthz\"]}\n",
                   COTTER_VERSION);
        return;
    }
    mgr_reply_error(rp, 404, "not_found", "no such path %s (GET / lists the endpoints)", p);
}
