/*
 * A bounded FIFO of chunks between the select and load threads, bounded by
 * rows and bytes. A push into a full queue waits; one chunk larger than the
 * whole bound is still accepted into an empty queue so nothing deadlocks.
 * queue_close wakes both sides; after it, push fails and pop drains what is
 * left, then returns NULL.
 */
#ifndef COT_QUEUE_H
#define COT_QUEUE_H

#include "event/event.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chunk_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    cot_chunk *head;
    cot_chunk *tail;
    size_t n_chunks;
    size_t rows;
    size_t bytes;
    size_t max_rows;
    size_t max_bytes;
    bool closed;
} chunk_queue;

void queue_init(chunk_queue *q, size_t max_rows, size_t max_bytes);
/* queue_deinit frees the chunks still queued. */
void queue_deinit(chunk_queue *q);
/* queue_push appends ck (the queue takes ownership) and returns true, or
 * returns false when the queue was closed (the caller still owns ck). */
bool queue_push(chunk_queue *q, cot_chunk *ck);
/* queue_pop waits up to timeout_ms (<0: forever) and returns the oldest
 * chunk (the caller owns it), or NULL on timeout or when closed and empty. */
cot_chunk *queue_pop(chunk_queue *q, int timeout_ms);
void queue_close(chunk_queue *q);
/* queue_depth reports the current fill. */
void queue_depth(chunk_queue *q, size_t *chunks, size_t *rows, size_t *bytes);

#endif
