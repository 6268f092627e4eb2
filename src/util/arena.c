/*
 * Block-chained bump allocator. Each new block doubles the last one, from
 * ARENA_FIRST up to ARENA_BLOCK; an allocation larger than that gets a
 * block of its own.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_FIRST 1024
#define ARENA_BLOCK 65536

struct arena_block {
    arena_block *prev;
    size_t cap;
    size_t off;
    _Alignas(16) unsigned char data[];
};

void arena_init(arena *a)
{
    a->head = NULL;
    a->used = 0;
    a->reserved = 0;
}

void arena_deinit(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *p = b->prev;
        free(b);
        b = p;
    }
    arena_init(a);
}

void arena_reset(arena *a)
{
    /* keep the newest block (the largest of the growth series) for reuse */
    arena_block *keep = a->head;
    arena_block *b = keep ? keep->prev : NULL;
    while (b) {
        arena_block *p = b->prev;
        free(b);
        b = p;
    }
    if (keep && keep->cap > ARENA_BLOCK) {
        free(keep);
        keep = NULL;
    }
    if (keep) {
        keep->prev = NULL;
        keep->off = 0;
    }
    a->head = keep;
    a->used = 0;
    a->reserved = keep ? sizeof(*keep) + keep->cap : 0;
}

void *arena_alloc(arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    arena_block *b = a->head;
    if (!b || b->cap - b->off < n) {
        size_t grow = b ? (b->cap >= ARENA_BLOCK ? ARENA_BLOCK : b->cap * 2) : ARENA_FIRST;
        size_t cap = n > grow ? n : grow;
        arena_block *nb = malloc(sizeof(*nb) + cap);
        if (!nb) abort();
        nb->cap = cap;
        nb->off = 0;
        a->reserved += sizeof(*nb) + cap;
        if (b && cap > ARENA_BLOCK) {
            /* keep filling the current block; slot the big one behind it */
            nb->prev = b->prev;
            b->prev = nb;
            nb->off = n;
            a->used += n;
            return nb->data;
        }
        nb->prev = b;
        a->head = nb;
        b = nb;
    }
    void *r = b->data + b->off;
    b->off += n;
    a->used += n;
    return r;
}

void *arena_calloc(arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *arena_memdup(arena *a, const void *p, size_t n)
{
    void *r = arena_alloc(a, n);
    if (n) memcpy(r, p, n);
    return r;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *r = arena_alloc(a, n + 1);
    if (n) memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}
