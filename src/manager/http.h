/*
 * The manager's HTTP server (libmicrohttpd): the API operators script
 * against (docs/api.md), /metrics and /healthz, with bearer-token auth and an
 * audit line for every POST. Requests are served on one internal MHD thread;
 * channel start/stop/restart are queued to one worker thread, which alone
 * starts and joins pipelines while the manager runs (the HTTP thread never
 * blocks on a pipeline). The pipelines are borrowed from the daemon, which
 * must call manager_stop before it stops or joins them itself.
 * The second half of this header is internal to src/manager (api.c, metrics.c).
 */
#ifndef COT_MANAGER_HTTP_H
#define COT_MANAGER_HTTP_H

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"
#include "util/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

typedef struct manager manager;
struct alarm_engine;
struct log_ring;
struct audit_log;

/* manager_start serves the API on cfg->manager_listen for the n pipelines in
 * pls (borrowed, in config order; cfg and pls must outlive the manager) and
 * sets *out (free with manager_stop). Opens DATA_DIR/logs/audit.log. When the
 * listen address was not written in the file (the default) and cannot be
 * bound, logs a warning and returns COT_OK with *out = NULL: the sync runs
 * without the API. An address the file names that cannot be bound is an
 * error (COT_ERR_CONFIG / COT_ERR_IO with a message). */
cot_err manager_start(const cot_config *cfg, pipeline **pls, int n, manager **out);
/* manager_stop stops serving, waits for the channel action in progress (if
 * any), drops queued ones and frees m. NULL is a no-op. */
void manager_stop(manager *m);
/* manager_attach gives the API the alarm engine and the log ring it serves
 * (GET /api/alarms, /api/logs, alarm gauges in /metrics); both borrowed, may
 * be NULL, and must outlive m. NULL m is a no-op. */
void manager_attach(manager *m, struct alarm_engine *ae, struct log_ring *lr);
/* manager_channel_restart queues a restart of the channel named channel on
 * behalf of cotter itself (auto-recovery; ctx is the manager), audited with
 * who "auto-recovery" and why. Returns false when it could not be queued.
 * Matches alarm_restart_fn. */
bool manager_channel_restart(void *ctx, const char *channel, const char *why);

/* ---- internal to src/manager ---------------------------------------- */

typedef enum mgr_action { MGR_ACT_START = 0, MGR_ACT_STOP, MGR_ACT_RESTART } mgr_action;

const char *mgr_action_name(mgr_action act);

typedef struct mgr_channel {
    const cfg_channel *ch;
    int id;   /* 1-based, config order */
    int *pls; /* indexes into manager.pls of this channel's pipelines */
    int n_pls;
    /* guarded by manager.mu */
    int pending;           /* actions queued or running */
    mgr_action running;    /* valid while busy */
    bool busy;             /* the worker is running an action on it */
    char last_action[16];  /* "" when none yet */
    char last_result[256]; /* what the last action did */
    char last_by[80];      /* who asked for it */
    time_t last_at;        /* when it finished */
} mgr_channel;

#define MGR_QUEUE_MAX 64

typedef struct mgr_job {
    int channel; /* index into manager.chans */
    mgr_action act;
    char who[80]; /* token name and peer, for the log */
} mgr_job;

struct manager {
    const cot_config *cfg;
    pipeline **pls;
    int n_pls;
    mgr_channel *chans;
    int n_chans;
    struct MHD_Daemon *mhd;
    time_t started_at;
    char *tls_cert; /* PEM text while serving HTTPS, else NULL */
    char *tls_key;  /* wiped before it is freed */
    size_t tls_key_len;
    /* audit log (audit.c: rotation, retention; its own mutex) */
    struct audit_log *audit;
    pthread_mutex_t audit_mu;
    /* served by the API, set once by manager_attach (under mu) */
    struct alarm_engine *alarms;
    struct log_ring *logs;
    /* the worker and its queue, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t worker;
    bool worker_started;
    bool quit;
    mgr_job jobs[MGR_QUEUE_MAX];
    int job_head, n_jobs;
    struct history *hist; /* the console's history sampler (history.c), or NULL */
};

typedef struct mgr_request {
    const char *method; /* as sent: "GET", "POST", ... */
    const char *path;   /* without the query */
    const char *q_id;   /* the "id" query argument, or NULL */
    const char *who;    /* the token's name, or "anonymous" */
    bool admin;         /* may POST */
    const char *peer;   /* client address */
    const char *host;   /* the Host header, or NULL */
    const char *origin; /* the Origin header, or NULL */
    /* the MHD connection, for mgr_query_arg */
    struct MHD_Connection *conn;
} mgr_request;

typedef struct mgr_reply {
    int status;               /* HTTP status code */
    const char *content_type; /* static string */
    const char *allow;        /* Allow header for 405, or NULL */
    buf body;
    /* for the audit line of a POST */
    const char *channel; /* the channel acted on, or NULL */
    const char *action;  /* "start" | "stop" | "restart", or NULL */
    char result[128];    /* "accepted", or the error code */
} mgr_reply;

/* mgr_json_str appends s as a JSON string literal; invalid UTF-8 becomes U+FFFD. */
void mgr_json_str(buf *b, const char *s);
/* mgr_reply_error sets rp to {"error": {"code": code, "message": ...}} with status. */
void mgr_reply_error(mgr_reply *rp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* mgr_query_arg returns the query argument name of the request (borrowed
 * until the reply is sent), or NULL when absent. */
const char *mgr_query_arg(const mgr_request *rq, const char *name);
/* mgr_enqueue queues act for channel index c; false (nothing queued) when the
 * queue is full or the manager is stopping. Called on the HTTP thread. */
bool mgr_enqueue(manager *m, int c, mgr_action act, const char *who);

/* api_handle answers one authenticated request (api.c). */
void api_handle(manager *m, const mgr_request *rq, mgr_reply *rp);
/* api_channel_state returns the state of a channel derived from its
 * pipelines: ERROR if any failed; when all are stopped PAUSED if an operator
 * stopped the channel (persisted, see pause.h), else STOPPED; else RUNNING. */
const char *api_channel_state(manager *m, const mgr_channel *mc);
/* api_alarms answers GET /api/alarms[?channel=C&limit=N]; api_logs answers
 * GET /api/logs[?lines=N&level=L&channel=C&after=SEQ] (api_ops.c). */
void api_alarms(manager *m, const mgr_request *rq, mgr_reply *rp);
void api_logs(manager *m, const mgr_request *rq, mgr_reply *rp);
/* metrics_render appends the Prometheus text exposition of all pipelines (metrics.c). */
void metrics_render(manager *m, buf *out);

#endif
