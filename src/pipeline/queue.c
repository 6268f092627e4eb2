/*
 * Bounded chunk queue (mutex + two condition variables).
 */
#include "pipeline/queue.h"
#include "util/clock.h"

#include <errno.h>
#include <time.h>

void queue_init(chunk_queue *q, size_t max_rows, size_t max_bytes)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    q->head = q->tail = NULL;
    q->n_chunks = q->rows = q->bytes = 0;
    q->max_rows = max_rows ? max_rows : 20000;
    q->max_bytes = max_bytes ? max_bytes : (64u << 20);
    q->closed = false;
}

void queue_deinit(chunk_queue *q)
{
    cot_chunk *ck = q->head;
    while (ck) {
        cot_chunk *n = ck->next;
        cot_chunk_free(ck);
        ck = n;
    }
    q->head = q->tail = NULL;
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->mu);
}

bool queue_push(chunk_queue *q, cot_chunk *ck)
{
    pthread_mutex_lock(&q->mu);
    while (!q->closed && q->n_chunks > 0 &&
           (q->rows + ck->n_changes > q->max_rows || q->bytes + ck->bytes > q->max_bytes))
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return false;
    }
    ck->next = NULL;
    if (q->tail)
        q->tail->next = ck;
    else
        q->head = ck;
    q->tail = ck;
    q->n_chunks++;
    q->rows += ck->n_changes;
    q->bytes += ck->bytes;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return true;
}

cot_chunk *queue_pop(chunk_queue *q, int timeout_ms)
{
    struct timespec deadline = clock_deadline(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->closed) {
        if (timeout_ms == 0) break;
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->not_empty, &q->mu);
        } else if (pthread_cond_timedwait(&q->not_empty, &q->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    cot_chunk *ck = q->head;
    if (ck) {
        q->head = ck->next;
        if (!q->head) q->tail = NULL;
        ck->next = NULL;
        q->n_chunks--;
        q->rows -= ck->n_changes;
        q->bytes -= ck->bytes;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return ck;
}

void queue_close(chunk_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

void queue_depth(chunk_queue *q, size_t *chunks, size_t *rows, size_t *bytes)
{
    pthread_mutex_lock(&q->mu);
    if (chunks) *chunks = q->n_chunks;
    if (rows) *rows = q->rows;
    if (bytes) *bytes = q->bytes;
    pthread_mutex_unlock(&q->mu);
}
