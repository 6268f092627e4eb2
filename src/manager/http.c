/*
 * HTTP server plumbing of the manager: libmicrohttpd setup on the listen
 * address, the same-origin checks that keep web pages of other sites out,
 * authentication (bearer tokens compared in constant time), responses, the
 * audit log, and the worker thread that carries out channel actions.
 * Handlers live in api.c and metrics.c.
 * Threads: MHD's one polling thread calls mgr__access (and so every handler);
 * the worker thread runs queued actions; manager_start/stop run on the
 * daemon's main thread. `mu` guards the queue and the channels' action
 * fields; `audit_mu` the audit file.
 */
#include "manager/http.h"
#include "manager/audit.h"
#include "manager/pause.h"
#include "manager/console.h"
#include "manager/history.h"
#include "util/log.h"
#include "util/redact.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MGR_BODY_MAX (64 * 1024) /* request bodies are ignored; larger ones are refused */

static const char *const action_names[] = {"start", "stop", "restart"};

const char *mgr_action_name(mgr_action act)
{
    return (unsigned)act < 3 ? action_names[act] : "?";
}

/* ---- JSON and replies ------------------------------------------------- */

/* utf8__seq_len returns the length of the valid UTF-8 sequence at p (1..4),
 * or 0 when the bytes there are not valid UTF-8. */
static size_t utf8__seq_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

void mgr_json_str(buf *b, const char *s)
{
    buf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        if (*p == '"' || *p == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)*p++);
        } else if (*p < 0x20 || *p == 0x7f) {
            buf_printf(b, "\\u%04x", *p++);
        } else {
            size_t n = utf8__seq_len(p);
            if (n == 0) {
                buf_puts(b, "\\ufffd");
                p++;
            } else {
                buf_append(b, p, n);
                p += n;
            }
        }
    }
    buf_putc(b, '"');
}

void mgr_reply_error(mgr_reply *rp, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rp->status = status;
    rp->content_type = "application/json";
    buf_reset(&rp->body);
    buf_puts(&rp->body, "{\"error\":{\"code\":");
    mgr_json_str(&rp->body, code);
    buf_puts(&rp->body, ",\"message\":");
    mgr_json_str(&rp->body, msg);
    buf_puts(&rp->body, "}}\n");
    snprintf(rp->result, sizeof(rp->result), "%s", code);
}

/* ---- audit ------------------------------------------------------------ */

/* mgr__secret_name says whether a query argument's name looks like it holds
 * a credential (its value is then never written). */
static bool mgr__secret_name(const char *key)
{
    return strcasestr(key, "token") || strcasestr(key, "passw") || strcasestr(key, "secret") ||
           strcasestr(key, "auth");
}

#define MGR_AUDIT_ARG_MAX 2000 /* bytes of one argument's value kept in the audit line */

typedef struct mgr_args {
    buf *b;
    int n;
} mgr_args;

/* mgr__audit_arg appends one query argument to the audit line's "args"
 * object (an MHD_KeyValueIterator; cls is a mgr_args). */
static enum MHD_Result mgr__audit_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    mgr_args *ma = cls;
    buf_puts(ma->b, ma->n++ ? "," : "{");
    mgr_json_str(ma->b, key);
    buf_putc(ma->b, ':');
    if (!value) {
        buf_puts(ma->b, "null");
    } else if (mgr__secret_name(key)) {
        mgr_json_str(ma->b, "<redacted>");
    } else {
        buf v;
        buf_init(&v);
        redact_secrets(value, strlen(value), &v);
        buf_putc(&v, '\0');
        if (v.len > MGR_AUDIT_ARG_MAX) memcpy(v.data + MGR_AUDIT_ARG_MAX - 4, "...", 4);
        mgr_json_str(ma->b, v.data);
        buf_deinit(&v);
    }
    return MHD_YES;
}

/* mgr__audit appends one JSON line for a POST: who, when, what (the query
 * arguments, e.g. a snapshot's table and filter, with passwords redacted),
 * from where (peer and Origin), and the result. Never includes a token. */
static void mgr__audit(manager *m, const mgr_request *rq, const mgr_reply *rp)
{
    if (!m->audit) return;
    buf line;
    buf_init(&line);
    buf_puts(&line, "{\"ts\":");
    audit_ts(&line);
    buf_puts(&line, ",\"who\":");
    mgr_json_str(&line, rq->who);
    buf_puts(&line, ",\"peer\":");
    mgr_json_str(&line, rq->peer);
    buf_puts(&line, ",\"method\":");
    mgr_json_str(&line, rq->method);
    buf_puts(&line, ",\"path\":");
    mgr_json_str(&line, rq->path);
    buf_puts(&line, ",\"channel\":");
    if (rp->channel)
        mgr_json_str(&line, rp->channel);
    else
        buf_puts(&line, "null");
    buf_puts(&line, ",\"action\":");
    if (rp->action)
        mgr_json_str(&line, rp->action);
    else
        buf_puts(&line, "null");
    buf_printf(&line, ",\"status\":%d,\"result\":", rp->status);
    mgr_json_str(&line, rp->result);
    if (rq->conn) {
        mgr_args ma = {.b = &line};
        buf_puts(&line, ",\"args\":");
        MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, mgr__audit_arg, &ma);
        buf_puts(&line, ma.n ? "}" : "null");
    }
    if (rq->origin) {
        buf_puts(&line, ",\"origin\":");
        mgr_json_str(&line, rq->origin);
    }
    buf_puts(&line, "}");
    audit_write(m->audit, line.data, line.len);
    buf_deinit(&line);
}

/* ---- the worker ------------------------------------------------------- */

bool mgr_enqueue(manager *m, int c, mgr_action act, const char *who)
{
    pthread_mutex_lock(&m->mu);
    bool ok = !m->quit && m->n_jobs < MGR_QUEUE_MAX;
    if (ok) {
        mgr_job *jb = &m->jobs[(m->job_head + m->n_jobs) % MGR_QUEUE_MAX];
        jb->channel = c;
        jb->act = act;
        snprintf(jb->who, sizeof(jb->who), "%s", who);
        m->n_jobs++;
        m->chans[c].pending++;
        pthread_cond_signal(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
    return ok;
}

/* mgr__run_action stops (and joins) and/or starts the pipelines of one
 * channel; writes what happened into result. Worker thread only. */
static void mgr__run_action(manager *m, mgr_channel *mc, mgr_action act, char *result, size_t cap)
{
    int stopped = 0, started = 0, already = 0, failed = 0;
    if (act == MGR_ACT_STOP || act == MGR_ACT_RESTART) {
        for (int i = 0; i < mc->n_pls; i++) {
            pipeline *pl = m->pls[mc->pls[i]];
            if (!pipeline_finished(pl)) stopped++;
            pipeline_stop(pl);
        }
        for (int i = 0; i < mc->n_pls; i++) pipeline_join(m->pls[mc->pls[i]]);
    }
    if (act == MGR_ACT_START || act == MGR_ACT_RESTART) {
        for (int i = 0; i < mc->n_pls; i++) {
            pipeline *pl = m->pls[mc->pls[i]];
            if (!pipeline_finished(pl)) {
                already++;
                continue;
            }
            pipeline_join(pl); /* reaps a supervisor that ended on its own */
            if (pipeline_start(pl) != COT_OK) {
                LOG_E("manager", "channel %s: %s", mc->ch->name, cot_err_msg());
                failed++;
            } else {
                started++;
            }
        }
    }
    snprintf(result, cap,
             "%d pipeline(s) stopped, %d started, %d already running, %d failed to start", stopped,
             started, already, failed);
}

static void *mgr__worker_main(void *arg)
{
    manager *m = arg;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!m->quit && m->n_jobs == 0) pthread_cond_wait(&m->cv, &m->mu);
        if (m->quit) break;
        mgr_job jb = m->jobs[m->job_head];
        m->job_head = (m->job_head + 1) % MGR_QUEUE_MAX;
        m->n_jobs--;
        mgr_channel *mc = &m->chans[jb.channel];
        mc->busy = true;
        mc->running = jb.act;
        pthread_mutex_unlock(&m->mu);

        LOG_I("manager", "channel %s: %s requested by %s", mc->ch->name, mgr_action_name(jb.act),
              jb.who);
        char result[256];
        mgr__run_action(m, mc, jb.act, result, sizeof(result));
        /* an operator's stop outlives a restart of cotter; a start ends it */
        cot_err prc = jb.act == MGR_ACT_STOP ? pause_set(m->cfg->data_dir, mc->ch->name, jb.who)
                                             : pause_clear(m->cfg->data_dir, mc->ch->name);
        if (prc) LOG_W("manager", "%s", cot_err_msg());
        LOG_I("manager", "channel %s: %s done: %s", mc->ch->name, mgr_action_name(jb.act), result);

        pthread_mutex_lock(&m->mu);
        mc->busy = false;
        mc->pending--;
        snprintf(mc->last_action, sizeof(mc->last_action), "%s", mgr_action_name(jb.act));
        snprintf(mc->last_result, sizeof(mc->last_result), "%s", result);
        snprintf(mc->last_by, sizeof(mc->last_by), "%s", jb.who);
        mc->last_at = time(NULL);
    }
    /* queued actions are dropped: the daemon is shutting down */
    for (; m->n_jobs > 0; m->n_jobs--) {
        mgr_job *jb = &m->jobs[m->job_head];
        LOG_W("manager", "channel %s: %s requested by %s dropped: cotter is stopping",
              m->chans[jb->channel].ch->name, mgr_action_name(jb->act), jb->who);
        m->chans[jb->channel].pending--;
        m->job_head = (m->job_head + 1) % MGR_QUEUE_MAX;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- requests --------------------------------------------------------- */

typedef struct mgr_conn {
    size_t body_bytes;
} mgr_conn;

/* mgr__token_eq compares a presented token with a configured one in time
 * that depends only on the lengths, not on where they differ. */
static bool mgr__token_eq(const char *given, size_t given_len, const char *want)
{
    size_t want_len = strlen(want);
    unsigned char diff = given_len != want_len;
    for (size_t i = 0; i < want_len; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0;
}

/* mgr__auth finds the token of the Authorization header. Returns 0 when no
 * tokens are configured (anonymous admin) or the token is known (*tk set),
 * 1 when the header is missing or malformed, 2 when the token is unknown. */
static int mgr__auth(manager *m, struct MHD_Connection *conn, const cfg_token **tk)
{
    *tk = NULL;
    if (m->cfg->n_manager_tokens == 0) return 0;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return 1;
    const char *t = h + 7;
    while (*t == ' ') t++;
    size_t n = strlen(t);
    while (n > 0 && t[n - 1] == ' ') n--;
    if (n == 0) return 1;
    const cfg_token *hit = NULL;
    for (int i = 0; i < m->cfg->n_manager_tokens; i++) { /* no early exit */
        const cfg_token *c = &m->cfg->manager_tokens[i];
        if (mgr__token_eq(t, n, c->token)) hit = c;
    }
    *tk = hit;
    return hit ? 0 : 2;
}

static void mgr__peer(struct MHD_Connection *conn, char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    char host[INET6_ADDRSTRLEN + 8], port[16];
    if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(out, cap, "%s:%s", host, port);
}

/* ---- same-origin checks (docs/security.md) ---------------------------- */

/* mgr__loopback_host says whether a Host header names this machine's
 * loopback: localhost, an address of 127.0.0.0/8 or [::1], any port. */
static bool mgr__loopback_host(const char *h)
{
    char host[256];
    const char *end, *rest;
    if (h[0] == '[') {
        end = strchr(h, ']');
        if (!end) return false;
        h++;
        rest = end + 1;
    } else {
        end = strchr(h, ':');
        if (!end) end = h + strlen(h);
        rest = end;
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= sizeof(host)) return false;
    if (*rest == ':') {
        size_t digits = strspn(rest + 1, "0123456789");
        if (digits == 0 || digits > 5 || rest[1 + digits] != '\0') return false;
    } else if (*rest != '\0') {
        return false;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0) return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* mgr__same_origin refuses (403, false) a request a web page of another site
 * could have sent: any request marked cross-site by the browser
 * (Sec-Fetch-Site); without tokens, one addressed to a name that is not a
 * loopback one (DNS rebinding) or from an Origin other than the Host. */
static bool mgr__same_origin(manager *m, struct MHD_Connection *conn, const mgr_request *rq,
                             mgr_reply *rp)
{
    const char *site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
        mgr_reply_error(rp, 403, "cross_origin",
                        "%s %s refused: sent by a web page of another site (Sec-Fetch-Site: %s); "
                        "the API answers only its own console and non-browser clients",
                        rq->method, rq->path, site);
        return false;
    }
    if (m->cfg->n_manager_tokens == 0) {
        if (!rq->host || !mgr__loopback_host(rq->host)) {
            mgr_reply_error(rp, 403, "host_not_allowed",
                            "Host '%s' refused: without manager.tokens the API answers only "
                            "requests addressed to localhost, 127.0.0.1 or [::1] (a foreign Host "
                            "is how a web page reaches a local server by DNS rebinding)",
                            rq->host ? rq->host : "");
            return false;
        }
        char want[300];
        snprintf(want, sizeof(want), "%s://%s", m->tls_cert ? "https" : "http", rq->host);
        if (rq->origin && strcasecmp(rq->origin, want) != 0) {
            mgr_reply_error(rp, 403, "cross_origin",
                            "%s %s refused: sent by a web page of %s; without manager.tokens the "
                            "API answers only pages of %s (its console) and non-browser clients",
                            rq->method, rq->path, rq->origin, want);
            return false;
        }
    }
    return true;
}

/* mgr__post_header refuses (403, false) a POST without a header a web page
 * of another site cannot add without the API's consent: X-Cotter-Request,
 * or Authorization (with tokens, every authenticated request has it). */
static bool mgr__post_header(struct MHD_Connection *conn, const mgr_request *rq, mgr_reply *rp)
{
    if (strcmp(rq->method, "POST") == 0) {
        const char *x = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Cotter-Request");
        const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (!(x && *x) && !(a && *a)) {
            mgr_reply_error(rp, 403, "header_required",
                            "POST %s refused: a POST must carry the header 'X-Cotter-Request' "
                            "(any value; cotter's CLI and console send it, a web page of another "
                            "site cannot), e.g. curl -X POST -H 'X-Cotter-Request: 1' URL",
                            rq->path);
            return false;
        }
    }
    return true;
}

static enum MHD_Result mgr__send(struct MHD_Connection *conn, mgr_reply *rp)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        rp->body.len, rp->body.len ? rp->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rp->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rp->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rp->allow);
    if (rp->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cotter\"");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rp->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

const char *mgr_query_arg(const mgr_request *rq, const char *name)
{
    return rq->conn ? MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

static enum MHD_Result mgr__access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    manager *m = cls;
    mgr_conn *cc = *con_cls;
    if (!cc) { /* first call: headers only */
        cc = calloc(1, sizeof(*cc));
        if (!cc) return MHD_NO;
        *con_cls = cc;
        return MHD_YES;
    }
    if (*upload_data_size > 0) { /* bodies are not used; count and drop them */
        cc->body_bytes += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }

    /* the console's files hold no data: served without a token */
    if (console_wants(url, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept")))
        return console_serve(conn, method, url,
                             MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match"));

    char peer[96];
    mgr__peer(conn, peer, sizeof(peer));
    mgr_request rq = {
        .method = method, .path = url, .who = "anonymous", .peer = peer, .conn = conn};
    rq.q_id = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
    rq.host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    rq.origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    mgr_reply rp = {.status = 200, .content_type = "application/json"};
    buf_init(&rp.body);
    snprintf(rp.result, sizeof(rp.result), "ok");

    bool is_post = strcmp(method, "POST") == 0;
    const cfg_token *tk = NULL;
    int auth = strcmp(url, "/healthz") == 0 ? 0 : mgr__auth(m, conn, &tk);
    if (tk) rq.who = tk->name;
    rq.admin = m->cfg->n_manager_tokens == 0 || (tk && tk->admin);
    if (!mgr__same_origin(m, conn, &rq, &rp)) {
        /* refused: rp says why */
    } else if (auth == 1) {
        mgr_reply_error(&rp, 401, "unauthorized",
                        "this API needs 'Authorization: Bearer TOKEN' (a token of manager.tokens)");
    } else if (auth == 2) {
        mgr_reply_error(&rp, 401, "unauthorized", "the bearer token is not one of manager.tokens");
    } else if (!mgr__post_header(conn, &rq, &rp)) {
        /* refused: rp says why */
    } else if (cc->body_bytes > MGR_BODY_MAX) {
        mgr_reply_error(&rp, 413, "body_too_large",
                        "request body of %zu bytes refused: this API takes no body",
                        cc->body_bytes);
    } else {
        api_handle(m, &rq, &rp);
    }
    if (rp.status == 401 || rp.status == 403)
        LOG_W("manager", "%s %s from %s (%s): %d %s (Host: %s, Origin: %s)", method, url, peer,
              rq.who, rp.status, rp.result, rq.host ? rq.host : "-", rq.origin ? rq.origin : "-");
    else
        LOG_D("manager", "%s %s from %s (%s): %d", method, url, peer, rq.who, rp.status);
    if (is_post) mgr__audit(m, &rq, &rp);
    enum MHD_Result ret = mgr__send(conn, &rp);
    buf_deinit(&rp.body);
    return ret;
}

static void mgr__completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static void mgr__mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void mgr__mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    LOG_W("manager", "libmicrohttpd: %s", msg);
}

/* ---- start and stop --------------------------------------------------- */

/* mgr__resolve turns "host:port" / "[v6]:port" into a socket address. */
static cot_err mgr__resolve(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
    const char *colon = strrchr(listen, ':');
    char host[256];
    size_t n = colon ? (size_t)(colon - listen) : 0;
    const char *h = listen;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (!colon || n == 0 || n >= sizeof(host))
        return cot_err_set(COT_ERR_CONFIG, "manager.listen '%s' is not host:port", listen);
    memcpy(host, h, n);
    host[n] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || !res)
        return cot_err_set(COT_ERR_CONFIG, "manager.listen '%s': cannot resolve '%s': %s", listen,
                           host, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return COT_OK;
}

/* mgr__channels builds the channel table: each channel's pipelines found by
 * name among pls. */
static void mgr__channels(manager *m)
{
    const cot_config *cfg = m->cfg;
    m->n_chans = cfg->n_channels;
    m->chans = calloc((size_t)(cfg->n_channels ? cfg->n_channels : 1), sizeof(*m->chans));
    if (!m->chans) abort();
    for (int c = 0; c < cfg->n_channels; c++) {
        mgr_channel *mc = &m->chans[c];
        mc->ch = &cfg->channels[c];
        mc->id = c + 1;
        mc->pls = calloc((size_t)(m->n_pls ? m->n_pls : 1), sizeof(int));
        if (!mc->pls) abort();
        for (int i = 0; i < m->n_pls; i++)
            if (strcmp(pipeline_channel(m->pls[i]), mc->ch->name) == 0) mc->pls[mc->n_pls++] = i;
    }
}

/* mgr__read_pem reads a whole PEM file (at most 1 MiB) into *out (heap,
 * NUL-terminated, the caller frees it); what names the key for messages. */
static cot_err mgr__read_pem(const char *path, const char *what, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cot_err_set(COT_ERR_CONFIG, "manager.tls.%s: cannot open %s: %s", what, path,
                           strerror(errno));
    buf b;
    buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= (1u << 20))
        buf_append(&b, chunk, n);
    bool err = ferror(f);
    fclose(f);
    explicit_bzero(chunk, sizeof(chunk));
    if (err || b.len == 0 || b.len > (1u << 20) || !strstr(b.data, "-----BEGIN ")) {
        if (b.data) explicit_bzero(b.data, b.len);
        buf_deinit(&b);
        return cot_err_set(COT_ERR_CONFIG,
                           "manager.tls.%s: %s is %s: expected a PEM file (-----BEGIN ...)", what,
                           path, err ? "unreadable" : "not PEM or over 1 MiB");
    }
    *out = b.data;
    *len = b.len;
    return COT_OK;
}

static void mgr__free(manager *m)
{
    if (m->tls_key) explicit_bzero(m->tls_key, m->tls_key_len);
    free(m->tls_key);
    free(m->tls_cert);
    for (int c = 0; c < m->n_chans; c++) free(m->chans[c].pls);
    free(m->chans);
    audit_close(m->audit);
    pthread_mutex_destroy(&m->audit_mu);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}

cot_err manager_start(const cot_config *cfg, pipeline **pls, int n, manager **out)
{
    *out = NULL;
    struct sockaddr_storage ss;
    bool v6 = false;
    cot_err rc = mgr__resolve(cfg->manager_listen, &ss, &v6);
    if (rc) return rc;

    manager *m = calloc(1, sizeof(*m));
    if (!m) abort();
    m->cfg = cfg;
    m->pls = pls;
    m->n_pls = n;
    m->started_at = time(NULL);
    pthread_mutex_init(&m->audit_mu, NULL);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    mgr__channels(m);

    char logs_dir[1100];
    snprintf(logs_dir, sizeof(logs_dir), "%s/logs", cfg->data_dir);
    if ((rc = audit_open(logs_dir, cfg->manager_audit_max_size, cfg->manager_audit_retention_s,
                         &m->audit))) {
        mgr__free(m);
        return rc;
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    if (cfg->manager_tls_cert) {
        size_t cert_len;
        if ((rc = mgr__read_pem(cfg->manager_tls_cert, "cert", &m->tls_cert, &cert_len)) ||
            (rc = mgr__read_pem(cfg->manager_tls_key, "key", &m->tls_key, &m->tls_key_len))) {
            mgr__free(m);
            return rc;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            mgr__free(m);
            return cot_err_set(COT_ERR_CONFIG, "manager.tls: this libmicrohttpd was built "
                                               "without TLS: remove manager.tls or install one "
                                               "built with GnuTLS");
        }
        flags |= MHD_USE_TLS;
    }
    errno = 0;
    /* the logger first: libmicrohttpd warns on every start otherwise */
    if (m->tls_cert)
        m->mhd = MHD_start_daemon(
            flags, 0, NULL, NULL, mgr__access, m, MHD_OPTION_EXTERNAL_LOGGER, mgr__mhd_log, m,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_NOTIFY_COMPLETED,
            mgr__completed, m, MHD_OPTION_HTTPS_MEM_CERT, m->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
            m->tls_key, MHD_OPTION_END);
    else
        m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, mgr__access, m, MHD_OPTION_EXTERNAL_LOGGER,
                                  mgr__mhd_log, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                  MHD_OPTION_NOTIFY_COMPLETED, mgr__completed, m, MHD_OPTION_END);
    if (!m->mhd) {
        int e = errno;
        mgr__free(m);
        if (!cfg->manager_listen_set && !cfg->manager_tls_cert) {
            LOG_W("manager",
                  "cannot listen on %s (the default manager.listen)%s%s: running without the "
                  "HTTP API; set manager.listen to a free host:port to have it",
                  cfg->manager_listen, e ? ": " : "", e ? strerror(e) : "");
            return COT_OK;
        }
        return cot_err_set(COT_ERR_IO,
                           "manager: cannot listen on %s (manager.listen in %s)%s%s: is another "
                           "process using the port (choose a free one)? with manager.tls: do the "
                           "certificate and key match?",
                           cfg->manager_listen, cfg->path, e ? ": " : "", e ? strerror(e) : "");
    }
    if (pthread_create(&m->worker, NULL, mgr__worker_main, m) != 0) {
        MHD_stop_daemon(m->mhd);
        mgr__free(m);
        return cot_err_set(COT_ERR_NOMEM, "manager: cannot start its worker thread");
    }
    m->worker_started = true;
    if (history_start(cfg->data_dir, pls, n, &m->hist) != COT_OK)
        LOG_W("manager", "%s; the console shows no charts", cot_err_msg());
    LOG_I("manager", "HTTP API listening on %s://%s (%s)", m->tls_cert ? "https" : "http",
          cfg->manager_listen,
          cfg->n_manager_tokens ? "bearer tokens required" : "no tokens: loopback only");
    *out = m;
    return COT_OK;
}

void manager_attach(manager *m, struct alarm_engine *ae, struct log_ring *lr)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->alarms = ae;
    m->logs = lr;
    pthread_mutex_unlock(&m->mu);
}

bool manager_channel_restart(void *ctx, const char *channel, const char *why)
{
    manager *m = ctx;
    if (!m) return false;
    for (int c = 0; c < m->n_chans; c++) {
        if (strcmp(m->chans[c].ch->name, channel) != 0) continue;
        bool ok = mgr_enqueue(m, c, MGR_ACT_RESTART, "auto-recovery");
        char result[600];
        snprintf(result, sizeof(result), "%s: %s", ok ? "accepted" : "not queued", why);
        audit_event(m->audit, "auto-recovery", channel, "restart", result);
        return ok;
    }
    return false;
}

void manager_stop(manager *m)
{
    if (!m) return;
    MHD_stop_daemon(m->mhd); /* no request runs after this */
    pthread_mutex_lock(&m->mu);
    m->quit = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (m->worker_started) pthread_join(m->worker, NULL);
    history_stop(m->hist);
    LOG_I("manager", "HTTP API stopped");
    mgr__free(m);
}
