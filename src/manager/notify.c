/*
 * The notifier thread: takes queued events and runs the webhook, then the
 * command, for each. `mu` guards the queue, the stop flag and the counters;
 * the thread sleeps on `cv` (also between webhook retries, so a stop cuts a
 * retry wait short). Commands are started with fork/execve: the child only
 * calls async-signal-safe functions before exec (argv and envp are built in
 * the parent) and runs in its own process group, which is killed whole on
 * timeout.
 */
#include "manager/notify.h"
#include "util/clock.h"
#include "util/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_QUEUE_MAX 256

extern char **environ;

typedef struct notify_item {
    char *json;
    char *env[6]; /* "COTTER_ALARM_X=value" */
    char *message;
} notify_item;

struct notifier {
    const cfg_alarms *a;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit;
    notify_item q[NOTIFY_QUEUE_MAX];
    int head, n;
    notify_stats st;
};

static void notify__item_free(notify_item *it)
{
    free(it->json);
    free(it->message);
    for (int i = 0; i < 6; i++) free(it->env[i]);
    memset(it, 0, sizeof(*it));
}

static char *notify__env(const char *name, const char *value)
{
    char *s = NULL;
    if (asprintf(&s, "COTTER_ALARM_%s=%s", name, value ? value : "") < 0) abort();
    /* a newline in a value would confuse line-based shells: flatten it */
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return s;
}

static size_t notify__discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    return size * nmemb;
}

/* notify__webhook_once POSTs json; returns true on a 2xx answer, else false
 * with why filled. */
static bool notify__webhook_once(notifier *nf, const char *json, char *why, size_t cap)
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(why, cap, "libcurl could not start");
        return false;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, nf->a->webhook_url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)nf->a->webhook_timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)nf->a->webhook_timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, notify__discard);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cotter/" COTTER_VERSION);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        snprintf(why, cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return false;
    }
    if (status < 200 || status > 299) {
        snprintf(why, cap, "HTTP %ld", status);
        return false;
    }
    return true;
}

/* notify__webhook sends with retries (1 s, 2 s, 4 s ... apart; none once
 * stopping). Called without mu. */
static void notify__webhook(notifier *nf, const notify_item *it)
{
    char why[CURL_ERROR_SIZE + 32] = "";
    uint32_t tries = 1 + nf->a->webhook_retries;
    long wait_ms = 1000;
    for (uint32_t t = 0; t < tries; t++) {
        if (notify__webhook_once(nf, it->json, why, sizeof(why))) {
            pthread_mutex_lock(&nf->mu);
            nf->st.webhook_ok++;
            pthread_mutex_unlock(&nf->mu);
            LOG_D("alarm", "webhook: delivered (%s)", it->message);
            return;
        }
        pthread_mutex_lock(&nf->mu);
        bool quit = nf->quit;
        if (!quit && t + 1 < tries) {
            struct timespec until = clock_deadline(CLOCK_REALTIME, wait_ms);
            while (!nf->quit && pthread_cond_timedwait(&nf->cv, &nf->mu, &until) == 0) {
            }
        }
        pthread_mutex_unlock(&nf->mu);
        if (quit) break;
        if (t + 1 < tries) LOG_D("alarm", "webhook: attempt %u failed (%s); retrying", t + 1, why);
        wait_ms *= 2;
    }
    pthread_mutex_lock(&nf->mu);
    nf->st.webhook_failed++;
    pthread_mutex_unlock(&nf->mu);
    LOG_W("alarm",
          "webhook: could not deliver an alarm event after %u attempt(s): %s; check "
          "alarms.webhook.url and that the receiver answers 2xx within alarms.webhook.timeout",
          tries, why);
}

/* notify__command runs the hook with the event on stdin; kills it after the timeout. */
static void notify__command(notifier *nf, const notify_item *it)
{
    /* argv and envp first: the child may not allocate */
    char *argv[] = {"/bin/sh", "-c", nf->a->command, NULL};
    size_t n_env = 0;
    while (environ && environ[n_env]) n_env++;
    char **envp = calloc(n_env + 7, sizeof(char *));
    if (!envp) abort();
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(environ[i], "COTTER_ALARM_", 13) != 0) envp[k++] = environ[i];
    for (int i = 0; i < 6; i++) envp[k++] = it->env[i];
    envp[k] = NULL;

    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        LOG_W("alarm", "command hook: cannot create a pipe: %s", strerror(errno));
        free(envp);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0);
        dup2(in[0], STDIN_FILENO); /* dup2 clears close-on-exec on the copy */
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    free(envp);
    close(in[0]);
    if (pid < 0) {
        close(in[1]);
        LOG_W("alarm", "command hook: cannot fork: %s", strerror(errno));
        return;
    }
    /* the JSON is small (< 64 KiB, a pipe's buffer): one write does not block for long */
    size_t len = strlen(it->json);
    ssize_t w = write(in[1], it->json, len);
    (void)w;
    w = write(in[1], "\n", 1);
    close(in[1]);
    double deadline = clock_now_s() + nf->a->command_timeout_s;
    int status = 0;
    bool done = false, killed = false;
    while (!done) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            done = true;
            break;
        }
        if (!killed && clock_now_s() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true;
        }
        struct timespec tick = {0, 20 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    bool ok = !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    pthread_mutex_lock(&nf->mu);
    if (ok)
        nf->st.command_ok++;
    else
        nf->st.command_failed++;
    pthread_mutex_unlock(&nf->mu);
    if (killed)
        LOG_W("alarm",
              "command hook '%s' did not finish within %u s (alarms.command.timeout): "
              "killed",
              nf->a->command, nf->a->command_timeout_s);
    else if (!ok)
        LOG_W("alarm", "command hook '%s' failed: %s %d", nf->a->command,
              WIFEXITED(status) ? "exit status" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void *notify__main(void *arg)
{
    notifier *nf = arg;
    pthread_mutex_lock(&nf->mu);
    for (;;) {
        while (!nf->quit && nf->n == 0) pthread_cond_wait(&nf->cv, &nf->mu);
        if (nf->n == 0) break; /* quit with an empty queue */
        notify_item it = nf->q[nf->head];
        memset(&nf->q[nf->head], 0, sizeof(it));
        nf->head = (nf->head + 1) % NOTIFY_QUEUE_MAX;
        nf->n--;
        pthread_mutex_unlock(&nf->mu);
        if (nf->a->webhook_url) notify__webhook(nf, &it);
        if (nf->a->command) notify__command(nf, &it);
        notify__item_free(&it);
        pthread_mutex_lock(&nf->mu);
    }
    pthread_mutex_unlock(&nf->mu);
    return NULL;
}

notifier *notifier_new(const cfg_alarms *a)
{
    if (!a->webhook_url && !a->command) return NULL;
    if (a->webhook_url) curl_global_init(CURL_GLOBAL_DEFAULT);
    notifier *nf = calloc(1, sizeof(*nf));
    if (!nf) abort();
    nf->a = a;
    pthread_mutex_init(&nf->mu, NULL);
    pthread_cond_init(&nf->cv, NULL);
    if (pthread_create(&nf->thread, NULL, notify__main, nf) != 0) {
        LOG_E("alarm", "cannot start the notifier thread: alarms go to the log only");
        pthread_mutex_destroy(&nf->mu);
        pthread_cond_destroy(&nf->cv);
        free(nf);
        return NULL;
    }
    return nf;
}

void notifier_post(notifier *nf, const notify_event *ev)
{
    if (!nf) return;
    notify_item it = {0};
    it.json = strdup(ev->json);
    it.message = strdup(ev->message ? ev->message : "");
    if (!it.json || !it.message) abort();
    it.env[0] = notify__env("RULE", ev->rule);
    it.env[1] = notify__env("STATE", ev->state);
    it.env[2] = notify__env("SEVERITY", ev->severity);
    it.env[3] = notify__env("CHANNEL", ev->channel);
    it.env[4] = notify__env("PIPELINE", ev->pipeline);
    it.env[5] = notify__env("MESSAGE", ev->message);
    pthread_mutex_lock(&nf->mu);
    if (nf->n == NOTIFY_QUEUE_MAX) { /* drop the oldest: the newest says more about now */
        notify__item_free(&nf->q[nf->head]);
        nf->head = (nf->head + 1) % NOTIFY_QUEUE_MAX;
        nf->n--;
        nf->st.dropped++;
    }
    nf->q[(nf->head + nf->n) % NOTIFY_QUEUE_MAX] = it;
    nf->n++;
    pthread_cond_signal(&nf->cv);
    pthread_mutex_unlock(&nf->mu);
}

void notifier_free(notifier *nf)
{
    if (!nf) return;
    pthread_mutex_lock(&nf->mu);
    nf->quit = true;
    pthread_cond_broadcast(&nf->cv);
    pthread_mutex_unlock(&nf->mu);
    pthread_join(nf->thread, NULL);
    for (; nf->n > 0; nf->n--) {
        notify__item_free(&nf->q[nf->head]);
        nf->head = (nf->head + 1) % NOTIFY_QUEUE_MAX;
    }
    pthread_mutex_destroy(&nf->mu);
    pthread_cond_destroy(&nf->cv);
    free(nf);
}

void notifier_stats(notifier *nf, notify_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!nf) return;
    pthread_mutex_lock(&nf->mu);
    *out = nf->st;
    pthread_mutex_unlock(&nf->mu);
}
