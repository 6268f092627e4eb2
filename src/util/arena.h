/*
 * A bump allocator for memory that lives exactly as long as one unit of
 * work (a transaction chunk, a batch). Everything is released by one
 * arena_reset or arena_deinit. Blocks grow from 1 KiB to 64 KiB, so many
 * small arenas (one per queued transaction) stay small. Tracks the bytes
 * it holds so callers can bound memory by configuration.
 */
#ifndef COT_ARENA_H
#define COT_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head; /* current block, linked to older ones */
    size_t used;       /* bytes handed out since the last reset */
    size_t reserved;   /* bytes of all blocks held: what the arena really costs */
} arena;

void arena_init(arena *a);
void arena_deinit(arena *a);
/* arena_reset frees every block but keeps one small block for reuse. */
void arena_reset(arena *a);
/* arena_alloc returns n bytes aligned to 16; aborts on out of memory. */
void *arena_alloc(arena *a, size_t n);
void *arena_calloc(arena *a, size_t n);
void *arena_memdup(arena *a, const void *p, size_t n);
/* arena_strndup copies n bytes and adds a NUL. */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);

#endif
