/*
 * Alarm evaluation and state. For each pipeline and rule one slot:
 *
 *   quiet --condition--> firing(severity) --condition clears--> quiet
 *             |                 |  severity changes: notified again
 *             |                 |  still firing after `repeat`: reminder
 *             \-- fired again within `repeat` of the last notice, for the
 *                 same incident, at the same or a lower severity: recorded,
 *                 not sent (nor its recovery)
 *
 * An incident is what an alarm is about: for the error rule the error
 * class and the position where the pipeline fails; for the delay, stall
 * and error-rate rules one spell of trouble, from the pipeline leaving
 * "streaming and caught up" to its return. A new incident always notifies.
 *
 * Events (firing, resolved) go to the history ring and alarms.log always,
 * to the notifiers unless suppressed. A pipeline STOPPED for a few ticks in
 * a row (paused, shutting down) resolves its alarms; a short STOPPED during a
 * restart does not. Ticks run on the daemon thread; `mu` guards the slots
 * and the history for the HTTP thread's readers.
 */
#include "manager/alarm.h"
#include "check/check_results.h"
#include "manager/http.h"
#include "manager/notify.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STOPPED_TICKS      5  /* STOPPED this many ticks in a row: not a restart */
#define RECOVERY_SPACING_S 10 /* auto-recovery restarts of a channel at least this far apart */
#define RECOVERY_MAX       60

typedef enum ae_rule {
    R_DELAY = 0,
    R_STALL,
    R_ERROR,
    R_ERROR_RATE,
    R_CHECK,
    R_DRIFT,
    R__COUNT
} ae_rule;
typedef enum ae_sev { SEV_NONE = 0, SEV_WARNING, SEV_CRITICAL } ae_sev;

static const char *const rule_names[] = {"delay", "stall", "error", "error_rate", "check", "drift"};
static const char *const sev_names[] = {"none", "warning", "critical"};

typedef struct ae_slot {
    ae_sev sev;       /* SEV_NONE: quiet */
    time_t since;     /* when it started firing (wall clock) */
    bool sent;        /* this firing was notified */
    double last_sent; /* monotonic time of the last notice of a firing, 0: never */
    ae_sev last_sent_sev;
    char incident[200];           /* what this firing is about (see the header) */
    char last_sent_incident[200]; /* the incident of the last notice */
    double value, threshold;
    char message[600];
} ae_slot;

typedef struct ae_sample {
    double t;
    uint64_t bad, good;
} ae_sample;

typedef struct ae_pipe {
    pipeline *pl;
    const cfg_channel *ch;
    int stopped_ticks;
    /* delay while not applying: the last known delay and when it was known */
    bool have_delay;
    double last_delay, last_delay_t;
    /* stall */
    cot_pos last_pos;
    double pos_t;
    /* spells of trouble (behind, or not streaming), counted: an incident of
     * the delay, stall and error-rate rules */
    unsigned long spell;
    bool in_trouble;
    /* error streak */
    time_t seen_err_at;
    uint64_t seen_failed;
    bool failing;
    double fail_t;
    cot_pos fail_pos; /* the streak is over once the committed position passes this */
    cot_err fail_code;
    char fail_msg[300];
    /* drift: source changes not applied as they are (missing rows, dead letters) */
    uint64_t drift_seen_missing, drift_seen_skipped; /* totals at the last tick */
    uint64_t drift_missing, drift_skipped;           /* new ones of the current spell */
    double drift_t;                                  /* last time a new one was seen, 0: never */
    /* error-rate samples, one per tick, oldest at s_head */
    ae_sample *samples;
    size_t s_cap, s_head, s_n;
    ae_slot slots[R__COUNT];
} ae_pipe;

typedef struct ae_channel {
    const cfg_channel *ch;
    double restarts[RECOVERY_MAX]; /* monotonic times of the restarts, ring */
    int n_restarts, r_head;
    bool limit_logged;
} ae_channel;

struct alarm_engine {
    const cot_config *cfg;
    const cfg_alarms *a;
    ae_pipe *ps;
    int n;
    ae_channel *chans;
    int n_chans;
    notifier *nf;
    int hist_fd;
    alarm_restart_fn restart;
    void *restart_ctx;
    pthread_mutex_t mu;
    /* under mu */
    char **hist; /* JSON of events, ring */
    char **hist_channel;
    size_t h_cap, h_head, h_n;
    unsigned long long next_id;
};

alarm_engine *alarm_engine_new(const cot_config *cfg, pipeline **pls, int n)
{
    alarm_engine *ae = calloc(1, sizeof(*ae));
    if (!ae) abort();
    ae->cfg = cfg;
    ae->a = &cfg->alarms;
    ae->n = n;
    ae->ps = calloc((size_t)(n ? n : 1), sizeof(*ae->ps));
    ae->n_chans = cfg->n_channels;
    ae->chans = calloc((size_t)(cfg->n_channels ? cfg->n_channels : 1), sizeof(*ae->chans));
    if (!ae->ps || !ae->chans) abort();
    for (int c = 0; c < cfg->n_channels; c++) ae->chans[c].ch = &cfg->channels[c];
    double now = clock_now_s();
    for (int i = 0; i < n; i++) {
        ae_pipe *p = &ae->ps[i];
        p->pl = pls[i];
        for (int c = 0; c < cfg->n_channels; c++)
            if (strcmp(cfg->channels[c].name, pipeline_channel(pls[i])) == 0)
                p->ch = &cfg->channels[c];
        p->pos_t = now;
        p->s_cap = ae->a->error_window_s + 2;
        p->samples = calloc(p->s_cap, sizeof(*p->samples));
        if (!p->samples) abort();
    }
    ae->h_cap = ae->a->history ? ae->a->history : 1;
    ae->hist = calloc(ae->h_cap, sizeof(char *));
    ae->hist_channel = calloc(ae->h_cap, sizeof(char *));
    if (!ae->hist || !ae->hist_channel) abort();
    ae->next_id = 1;
    pthread_mutex_init(&ae->mu, NULL);
    char path[1200];
    snprintf(path, sizeof(path), "%s/logs/alarms.log", cfg->data_dir);
    ae->hist_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (ae->hist_fd < 0)
        LOG_W("alarm", "cannot open %s (%s): alarm events are kept in memory only", path,
              strerror(errno));
    ae->nf = notifier_new(ae->a);
    return ae;
}

void alarm_engine_set_restart(alarm_engine *ae, alarm_restart_fn fn, void *ctx)
{
    ae->restart = fn;
    ae->restart_ctx = ctx;
}

void alarm_engine_free(alarm_engine *ae)
{
    if (!ae) return;
    notifier_free(ae->nf);
    if (ae->hist_fd >= 0) close(ae->hist_fd);
    for (size_t i = 0; i < ae->h_cap; i++) {
        free(ae->hist[i]);
        free(ae->hist_channel[i]);
    }
    free(ae->hist);
    free(ae->hist_channel);
    for (int i = 0; i < ae->n; i++) free(ae->ps[i].samples);
    free(ae->ps);
    free(ae->chans);
    pthread_mutex_destroy(&ae->mu);
    free(ae);
}

static void ae__time(buf *b, time_t t)
{
    struct tm tm;
    char ts[40];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
    buf_puts(b, ts);
}

/* ae__emit records one event of slot s of pipeline p and notifies it when
 * notify is set. Called on the tick thread with mu held. */
static void ae__emit(alarm_engine *ae, ae_pipe *p, ae_rule rule, const ae_slot *s, ae_sev sev,
                     const char *state, bool notify, bool reminder)
{
    const char *channel = pipeline_channel(p->pl), *pname = pipeline_name(p->pl);
    buf b;
    buf_init(&b);
    buf_printf(&b, "{\"id\":%llu,\"ts\":", ae->next_id++);
    ae__time(&b, time(NULL));
    buf_puts(&b, ",\"rule\":");
    mgr_json_str(&b, rule_names[rule]);
    buf_puts(&b, ",\"state\":");
    mgr_json_str(&b, state);
    buf_puts(&b, ",\"severity\":");
    mgr_json_str(&b, sev_names[sev]);
    buf_puts(&b, ",\"channel\":");
    mgr_json_str(&b, channel);
    buf_puts(&b, ",\"pipeline\":");
    mgr_json_str(&b, pname);
    buf_printf(&b, ",\"value\":%.1f,\"threshold\":%.1f,\"since\":", s->value, s->threshold);
    ae__time(&b, s->since);
    buf_puts(&b, ",\"message\":");
    mgr_json_str(&b, s->message);
    buf_printf(&b, ",\"notified\":%s,\"reminder\":%s}", notify ? "true" : "false",
               reminder ? "true" : "false");

    size_t slot = (ae->h_head + ae->h_n) % ae->h_cap;
    if (ae->h_n == ae->h_cap) {
        slot = ae->h_head;
        ae->h_head = (ae->h_head + 1) % ae->h_cap;
        ae->h_n--;
    }
    free(ae->hist[slot]);
    free(ae->hist_channel[slot]);
    ae->hist[slot] = strdup(b.data);
    ae->hist_channel[slot] = strdup(channel);
    if (!ae->hist[slot] || !ae->hist_channel[slot]) abort();
    ae->h_n++;
    if (ae->hist_fd >= 0) {
        buf_putc(&b, '\n');
        ssize_t w = write(ae->hist_fd, b.data, b.len);
        (void)w;
        b.data[--b.len] = '\0';
    }
    bool resolved = strcmp(state, "resolved") == 0;
    if (notify) {
        if (ae->a->log) {
            if (resolved)
                LOG_I("alarm", "RESOLVED %s alarm of pipeline %s (channel %s): %s",
                      rule_names[rule], pname, channel, s->message);
            else
                LOG_W("alarm", "%s%s %s alarm of pipeline %s (channel %s): %s",
                      sev == SEV_CRITICAL ? "CRITICAL" : "WARNING", reminder ? " (still)" : "",
                      rule_names[rule], pname, channel, s->message);
        }
        notify_event ev = {.json = b.data,
                           .rule = rule_names[rule],
                           .state = state,
                           .severity = sev_names[sev],
                           .channel = channel,
                           .pipeline = pname,
                           .message = s->message};
        notifier_post(ae->nf, &ev);
    } else {
        LOG_I("alarm",
              "%s %s alarm of pipeline %s (channel %s) not notified: the same incident (%s) was "
              "notified less than alarms.repeat ago: %s",
              state, rule_names[rule], pname, channel, s->incident, s->message);
    }
    buf_deinit(&b);
}

/* ae__update moves slot `rule` of p to severity sev (SEV_NONE: condition
 * clear) with the current value and message; incident names what a
 * firing is about (see the header). mu held. */
static void ae__update(alarm_engine *ae, ae_pipe *p, ae_rule rule, ae_sev sev, double value,
                       double threshold, const char *msg, const char *incident)
{
    ae_slot *s = &p->slots[rule];
    double now = clock_now_s();
    double repeat = ae->a->repeat_s;
    if (sev != SEV_NONE) {
        s->value = value;
        s->threshold = threshold;
        snprintf(s->message, sizeof(s->message), "%s", msg);
    }
    if (sev != SEV_NONE && s->sev == SEV_NONE) {
        s->sev = sev;
        s->since = time(NULL);
        snprintf(s->incident, sizeof(s->incident), "%s", incident ? incident : "");
        bool suppress = repeat > 0 && s->last_sent > 0 && now - s->last_sent < repeat &&
                        sev <= s->last_sent_sev && strcmp(s->incident, s->last_sent_incident) == 0;
        s->sent = !suppress;
        if (s->sent) {
            s->last_sent = now;
            s->last_sent_sev = sev;
            memcpy(s->last_sent_incident, s->incident, sizeof(s->incident));
        }
        ae__emit(ae, p, rule, s, sev, "firing", s->sent, false);
    } else if (sev != SEV_NONE && sev != s->sev) {
        s->sev = sev;
        s->sent = true;
        s->last_sent = now;
        s->last_sent_sev = sev;
        memcpy(s->last_sent_incident, s->incident, sizeof(s->incident));
        ae__emit(ae, p, rule, s, sev, "firing", true, false);
    } else if (sev != SEV_NONE) {
        if (repeat > 0 && s->sent && now - s->last_sent >= repeat) {
            s->last_sent = now;
            ae__emit(ae, p, rule, s, sev, "firing", true, true);
        }
    } else if (s->sev != SEV_NONE) {
        if (msg) snprintf(s->message, sizeof(s->message), "%s", msg);
        ae_sev was = s->sev;
        s->sev = SEV_NONE;
        ae__emit(ae, p, rule, s, was, "resolved", s->sent, false);
    }
}

/* ae__recover asks for a restart of p's channel when auto-recovery allows it. */
static void ae__recover(alarm_engine *ae, ae_pipe *p)
{
    if (!ae->a->auto_recovery || !ae->restart || !p->ch) return;
    ae_channel *c = NULL;
    for (int i = 0; i < ae->n_chans; i++)
        if (ae->chans[i].ch == p->ch) c = &ae->chans[i];
    if (!c) return;
    double now = clock_now_s();
    int in_hour = 0;
    double last = 0;
    for (int i = 0; i < c->n_restarts; i++) {
        double t = c->restarts[(c->r_head + i) % RECOVERY_MAX];
        if (now - t < 3600) in_hour++;
        if (t > last) last = t;
    }
    if (last > 0 && now - last < RECOVERY_SPACING_S) return;
    if ((uint32_t)in_hour >= ae->a->auto_recovery_max_per_hour) {
        if (!c->limit_logged)
            LOG_W("alarm",
                  "auto-recovery: channel %s was restarted %d time(s) in the last hour "
                  "(alarms.auto_recovery.max_per_hour): not restarting it again; it keeps "
                  "retrying on its own",
                  c->ch->name, in_hour);
        c->limit_logged = true;
        return;
    }
    c->limit_logged = false;
    char why[400];
    snprintf(why, sizeof(why), "pipeline %s failing: %s", pipeline_name(p->pl), p->fail_msg);
    LOG_W("alarm", "auto-recovery: restarting channel %s (restart %d of at most %u this hour): %s",
          c->ch->name, in_hour + 1, ae->a->auto_recovery_max_per_hour, why);
    if (!ae->restart(ae->restart_ctx, c->ch->name, why)) {
        LOG_W("alarm", "auto-recovery: the restart of channel %s could not be queued", c->ch->name);
        return;
    }
    if (c->n_restarts == RECOVERY_MAX) {
        c->r_head = (c->r_head + 1) % RECOVERY_MAX;
        c->n_restarts--;
    }
    c->restarts[(c->r_head + c->n_restarts) % RECOVERY_MAX] = now;
    c->n_restarts++;
}

/* ae__eval_pipe evaluates every rule of one pipeline. mu held. */
static void ae__eval_pipe(alarm_engine *ae, ae_pipe *p)
{
    pipeline_status st;
    pipeline_status_get(p->pl, &st);
    double now = clock_now_s();
    const cfg_alarm_rules *r = p->ch ? &p->ch->alarms : &ae->a->rules;
    char msg[600];

    if (st.state == PS_STOPPED) {
        if (++p->stopped_ticks < STOPPED_TICKS) return;
        /* paused or shutting down: nothing to watch */
        for (int k = 0; k < R__COUNT; k++)
            ae__update(ae, p, (ae_rule)k, SEV_NONE, 0, 0, "the pipeline is stopped", NULL);
        p->have_delay = false;
        p->failing = false;
        p->in_trouble = false;
        p->s_n = 0;
        p->pos_t = now;
        p->seen_err_at = st.last_error_at;
        p->seen_failed = st.sessions_failed;
        return;
    }
    p->stopped_ticks = 0;
    bool enabled = r->enabled;
    bool running = st.state == PS_RUNNING;
    /* caught up: streaming with every transaction the source has applied */
    bool caught_up = running && !st.behind && st.delay_s == 0;
    if (!caught_up && !p->in_trouble) p->spell++;
    p->in_trouble = !caught_up;
    char spell[64];
    snprintf(spell, sizeof(spell), "trouble #%lu", p->spell);

    /* delay: measured while known, estimated while the pipeline cannot tell */
    double d = -1;
    if (st.delay_s >= 0) {
        d = st.delay_s;
        p->have_delay = true;
        p->last_delay = d;
        p->last_delay_t = now;
    } else if (!running) {
        if (!p->have_delay) {
            p->have_delay = true;
            p->last_delay = 0;
            p->last_delay_t = now;
        }
        d = p->last_delay + (now - p->last_delay_t);
    }
    if (d >= 0) {
        ae_sev sev = SEV_NONE;
        double thr = 0;
        if (enabled && r->delay_critical_s && d >= r->delay_critical_s) {
            sev = SEV_CRITICAL;
            thr = r->delay_critical_s;
        } else if (enabled && r->delay_warning_s && d >= r->delay_warning_s) {
            sev = SEV_WARNING;
            thr = r->delay_warning_s;
        }
        snprintf(msg, sizeof(msg), "delay %.0f s%s (threshold %.0f s)", d,
                 running ? "" : " and growing: the pipeline cannot apply", thr);
        if (sev == SEV_NONE) snprintf(msg, sizeof(msg), "delay back to %.0f s", d);
        ae__update(ae, p, R_DELAY, sev, d, thr, msg, spell);
    }

    /* stall: the committed position does not move while the source has
     * events not applied, whatever the state */
    if (!st.behind || cot_pos_cmp(&st.pos, &p->last_pos) != 0) {
        p->last_pos = st.pos;
        p->pos_t = now;
    }
    double still = now - p->pos_t;
    bool stalled = enabled && r->stall_s && still >= r->stall_s;
    char at[300], end[300];
    cot_pos_format(&st.pos, at, sizeof(at));
    cot_pos_format(&st.source_end, end, sizeof(end));
    snprintf(msg, sizeof(msg),
             "position %s has not moved for %.0f s while the source has events up to %s not "
             "applied (pipeline %s%s%s)",
             st.pos.file[0] ? at : "?", still, end, pipeline_state_name(st.state),
             st.last_error[0] && !running ? ": " : "",
             st.last_error[0] && !running ? st.last_error : "");
    ae__update(ae, p, R_STALL, stalled ? SEV_CRITICAL : SEV_NONE, still, r->stall_s,
               stalled ? msg : "the position moves again", spell);

    /* error: a streak of failed sessions, over once the committed position
     * moves past where the pipeline failed, or once it streams caught up */
    if (st.last_error_at != p->seen_err_at || st.sessions_failed != p->seen_failed) {
        p->seen_err_at = st.last_error_at;
        p->seen_failed = st.sessions_failed;
        if (!p->failing) {
            p->failing = true;
            p->fail_t = now;
            p->fail_pos = st.fail_pos;
        } else if (cot_pos_cmp(&st.fail_pos, &p->fail_pos) > 0) {
            p->fail_pos = st.fail_pos;
        }
        p->fail_code = st.last_error_code;
        snprintf(p->fail_msg, sizeof(p->fail_msg), "%s", st.last_error);
    } else if (p->failing && ((p->fail_pos.file[0] && cot_pos_cmp(&st.pos, &p->fail_pos) > 0) ||
                              (caught_up && difftime(time(NULL), st.last_error_at) >= 5))) {
        p->failing = false;
    }
    bool err_fire = enabled && r->error && p->failing &&
                    (!cot_err_retriable(p->fail_code) || now - p->fail_t >= r->error_after_s);
    snprintf(msg, sizeof(msg), "failing for %.0f s (%s, %s): %s", now - p->fail_t,
             cot_err_name(p->fail_code),
             cot_err_retriable(p->fail_code) ? "retriable" : "needs a fix", p->fail_msg);
    char incident[400];
    cot_pos_format(&p->fail_pos, at, sizeof(at));
    snprintf(incident, sizeof(incident), "%s at %s", cot_err_name(p->fail_code),
             p->fail_pos.file[0] ? at : "the start");
    char done[400];
    cot_pos_format(&st.pos, at, sizeof(at));
    snprintf(done, sizeof(done), "the pipeline applies again: the position moved to %s",
             st.pos.file[0] ? at : "?");
    ae__update(ae, p, R_ERROR, err_fire ? SEV_CRITICAL : SEV_NONE, now - p->fail_t,
               r->error_after_s, err_fire ? msg : done, incident);
    if (err_fire && cot_err_retriable(p->fail_code)) ae__recover(ae, p);

    /* error rate over the window */
    ae_sample smp = {now, st.sessions_failed + st.skipped, st.transactions};
    while (p->s_n > 0 && now - p->samples[p->s_head].t > ae->a->error_window_s) {
        p->s_head = (p->s_head + 1) % p->s_cap;
        p->s_n--;
    }
    if (p->s_n == p->s_cap) {
        p->s_head = (p->s_head + 1) % p->s_cap;
        p->s_n--;
    }
    p->samples[(p->s_head + p->s_n) % p->s_cap] = smp;
    p->s_n++;
    const ae_sample *old = &p->samples[p->s_head];
    uint64_t bad = smp.bad - old->bad, good = smp.good - old->good;
    double rate = bad + good ? 100.0 * (double)bad / (double)(bad + good) : 0;
    bool rate_fire = enabled && r->error_rate_pct && bad > 0 && rate > r->error_rate_pct;
    snprintf(msg, sizeof(msg),
             "%.1f%% of the work failed over the last %u s (%llu failures: failed sessions + "
             "refused rows, %llu applied transactions)",
             rate, ae->a->error_window_s, (unsigned long long)bad, (unsigned long long)good);
    ae__update(ae, p, R_ERROR_RATE, rate_fire ? SEV_WARNING : SEV_NONE, rate, r->error_rate_pct,
               rate_fire ? msg : "the error rate is back under the threshold", spell);

    /* the latest scheduled consistency check (check.schedule) found differences */
    uint64_t diffs = check_results_differences(pipeline_name(p->pl));
    snprintf(msg, sizeof(msg),
             "the last consistency check found %llu differing row(s) between source and "
             "target; GET /api/checks names them, cotter repair fixes them",
             (unsigned long long)diffs);
    ae__update(ae, p, R_CHECK, enabled && diffs ? SEV_WARNING : SEV_NONE, (double)diffs, 0,
               diffs ? msg : "the last consistency check found no difference", "check");

    /* drift: a source change that found no target row to change (the target
     * lacks the row), or a row the target refused (on_error: skip); firing
     * while new ones came within the error window */
    if (st.missing < p->drift_seen_missing || st.skipped < p->drift_seen_skipped) {
        p->drift_seen_missing = st.missing; /* counters restarted with the process */
        p->drift_seen_skipped = st.skipped;
    }
    if (st.missing > p->drift_seen_missing || st.skipped > p->drift_seen_skipped) {
        if (!p->drift_t || now - p->drift_t >= ae->a->error_window_s)
            p->drift_missing = p->drift_skipped = 0;
        p->drift_missing += st.missing - p->drift_seen_missing;
        p->drift_skipped += st.skipped - p->drift_seen_skipped;
        p->drift_seen_missing = st.missing;
        p->drift_seen_skipped = st.skipped;
        p->drift_t = now;
    }
    bool drifting = enabled && p->drift_t && now - p->drift_t < ae->a->error_window_s;
    snprintf(msg, sizeof(msg),
             "%llu source change(s) not applied as on the source: %llu UPDATE/DELETE row(s) "
             "matched no target row (the target lacks them), %llu row(s) refused and kept in "
             "cotter.dead_letters (on_error: skip); the log names each; cotter check finds the "
             "differences, cotter repair fixes them",
             (unsigned long long)(p->drift_missing + p->drift_skipped),
             (unsigned long long)p->drift_missing, (unsigned long long)p->drift_skipped);
    ae__update(ae, p, R_DRIFT, drifting ? SEV_WARNING : SEV_NONE,
               (double)(p->drift_missing + p->drift_skipped), 0,
               drifting ? msg : "no new change left unapplied within the error window", "drift");
}

void alarm_engine_tick(alarm_engine *ae)
{
    if (!ae) return;
    pthread_mutex_lock(&ae->mu);
    for (int i = 0; i < ae->n; i++) ae__eval_pipe(ae, &ae->ps[i]);
    pthread_mutex_unlock(&ae->mu);
}

void alarm_engine_firing(alarm_engine *ae, int *warning, int *critical)
{
    *warning = *critical = 0;
    if (!ae) return;
    pthread_mutex_lock(&ae->mu);
    for (int i = 0; i < ae->n; i++)
        for (int k = 0; k < R__COUNT; k++) {
            if (ae->ps[i].slots[k].sev == SEV_WARNING) (*warning)++;
            if (ae->ps[i].slots[k].sev == SEV_CRITICAL) (*critical)++;
        }
    pthread_mutex_unlock(&ae->mu);
}

void alarm_engine_json(alarm_engine *ae, const char *channel, size_t limit, buf *out)
{
    pthread_mutex_lock(&ae->mu);
    int n_warn = 0, n_crit = 0;
    buf_puts(out, "{\"firing\":[");
    int put = 0;
    for (int i = 0; i < ae->n; i++) {
        ae_pipe *p = &ae->ps[i];
        if (channel && strcmp(channel, pipeline_channel(p->pl)) != 0) continue;
        for (int k = 0; k < R__COUNT; k++) {
            const ae_slot *s = &p->slots[k];
            if (s->sev == SEV_NONE) continue;
            if (s->sev == SEV_WARNING) n_warn++;
            if (s->sev == SEV_CRITICAL) n_crit++;
            if (put++) buf_putc(out, ',');
            buf_puts(out, "{\"rule\":");
            mgr_json_str(out, rule_names[k]);
            buf_puts(out, ",\"severity\":");
            mgr_json_str(out, sev_names[s->sev]);
            buf_puts(out, ",\"channel\":");
            mgr_json_str(out, pipeline_channel(p->pl));
            buf_puts(out, ",\"pipeline\":");
            mgr_json_str(out, pipeline_name(p->pl));
            buf_printf(out, ",\"value\":%.1f,\"threshold\":%.1f,\"since\":", s->value,
                       s->threshold);
            ae__time(out, s->since);
            buf_puts(out, ",\"message\":");
            mgr_json_str(out, s->message);
            buf_printf(out, ",\"notified\":%s}", s->sent ? "true" : "false");
        }
    }
    buf_puts(out, "],\"history\":[");
    /* the newest `limit` matching events, oldest first */
    size_t match = 0;
    for (size_t i = 0; i < ae->h_n; i++) {
        size_t at = (ae->h_head + i) % ae->h_cap;
        if (!channel || strcmp(channel, ae->hist_channel[at]) == 0) match++;
    }
    size_t skip = limit && match > limit ? match - limit : 0;
    put = 0;
    for (size_t i = 0; i < ae->h_n; i++) {
        size_t at = (ae->h_head + i) % ae->h_cap;
        if (channel && strcmp(channel, ae->hist_channel[at]) != 0) continue;
        if (skip) {
            skip--;
            continue;
        }
        if (put++) buf_putc(out, ',');
        buf_puts(out, ae->hist[at]);
    }
    buf_printf(out, "],\"counts\":{\"warning\":%d,\"critical\":%d},\"history_capacity\":%zu}",
               n_warn, n_crit, ae->h_cap);
    pthread_mutex_unlock(&ae->mu);
}
