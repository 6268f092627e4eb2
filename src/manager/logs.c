/*
 * Ring of recent log lines. Entries are overwritten oldest first; each owns
 * a heap copy of its message (at most one log line, 4 KiB), so the memory
 * is bounded by capacity x line size. `mu` guards everything; the hook never
 * logs (it runs under the log mutex).
 */
#include "manager/logs.h"
#include "manager/http.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct log_entry {
    uint64_t seq; /* 0: empty slot */
    log_level level;
    char ts[32];
    char tag[24];
    char *msg;
} log_entry;

struct log_ring {
    pthread_mutex_t mu;
    log_entry *ents;
    size_t cap;
    size_t head; /* next slot written */
    uint64_t seq;
};

static void log_ring__hook(void *ctx, log_level level, const char *ts, const char *tag,
                           const char *msg)
{
    log_ring *lr = ctx;
    char *copy = strdup(msg);
    if (!copy) return; /* no memory: the line is still in the file */
    pthread_mutex_lock(&lr->mu);
    log_entry *e = &lr->ents[lr->head];
    free(e->msg);
    e->msg = copy;
    e->seq = ++lr->seq;
    e->level = level;
    snprintf(e->ts, sizeof(e->ts), "%s", ts);
    snprintf(e->tag, sizeof(e->tag), "%s", tag);
    lr->head = (lr->head + 1) % lr->cap;
    pthread_mutex_unlock(&lr->mu);
}

log_ring *log_ring_new(size_t capacity)
{
    log_ring *lr = calloc(1, sizeof(*lr));
    if (!lr) abort();
    lr->cap = capacity ? capacity : 1;
    lr->ents = calloc(lr->cap, sizeof(*lr->ents));
    if (!lr->ents) abort();
    pthread_mutex_init(&lr->mu, NULL);
    log_set_hook(log_ring__hook, lr);
    return lr;
}

void log_ring_free(log_ring *lr)
{
    if (!lr) return;
    log_set_hook(NULL, NULL);
    for (size_t i = 0; i < lr->cap; i++) free(lr->ents[i].msg);
    free(lr->ents);
    pthread_mutex_destroy(&lr->mu);
    free(lr);
}

static bool log_ring__word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

bool log_ring_mentions(const char *msg, const char *word)
{
    size_t n = strlen(word);
    if (n == 0) return false;
    for (const char *p = strstr(msg, word); p; p = strstr(p + 1, word)) {
        bool left = p == msg || !log_ring__word_char(p[-1]);
        bool right = !log_ring__word_char(p[n]);
        if (left && right) return true;
    }
    return false;
}

static bool log_ring__match(const log_entry *e, const log_ring_query *q)
{
    if (e->seq == 0 || e->seq <= q->after_seq || e->level > q->max_level) return false;
    if (!q->words) return true;
    for (int i = 0; i < q->n_words; i++)
        if (log_ring_mentions(e->msg, q->words[i])) return true;
    return false;
}

void log_ring_json(log_ring *lr, const log_ring_query *q, buf *out)
{
    pthread_mutex_lock(&lr->mu);
    /* walk newest to oldest to find where the wanted tail starts */
    size_t want = q->lines ? q->lines : lr->cap, found = 0, first = lr->head;
    for (size_t k = 0; k < lr->cap && found < want; k++) {
        size_t i = (lr->head + lr->cap - 1 - k) % lr->cap;
        if (lr->ents[i].seq == 0) break;
        if (log_ring__match(&lr->ents[i], q)) {
            found++;
            first = i;
        }
    }
    buf_puts(out, "{\"lines\":[");
    size_t put = 0;
    if (found) {
        for (size_t k = 0; k < lr->cap && put < found; k++) {
            const log_entry *e = &lr->ents[(first + k) % lr->cap];
            if (!log_ring__match(e, q)) continue;
            if (put++) buf_putc(out, ',');
            buf_printf(out, "{\"seq\":%llu,\"ts\":", (unsigned long long)e->seq);
            mgr_json_str(out, e->ts);
            buf_puts(out, ",\"level\":");
            mgr_json_str(out, log_level_name(e->level));
            buf_puts(out, ",\"tag\":");
            mgr_json_str(out, e->tag);
            buf_puts(out, ",\"msg\":");
            mgr_json_str(out, e->msg);
            buf_putc(out, '}');
        }
    }
    buf_printf(out, "],\"last_seq\":%llu,\"capacity\":%zu}", (unsigned long long)lr->seq, lr->cap);
    pthread_mutex_unlock(&lr->mu);
}
