/* A bump allocator in chunks. Reset keeps the memory: after the first few
 * steps of a training loop, a step allocates nothing from the system. */
#ifndef TG_ARENA_H
#define TG_ARENA_H

#include <stddef.h>

typedef struct tg_arena_chunk tg_arena_chunk;

typedef struct tg_arena {
    tg_arena_chunk *head;     /* chunk being filled; older ones follow ->next */
    tg_arena_chunk *spare;    /* chunks given back by tg_arena_release, for reuse */
    size_t capacity;    /* bytes held from the system, all chunks */
    size_t used;        /* bytes handed out since the last reset */
    size_t peak;        /* largest `used` seen */
} tg_arena;

void tg_arena_init(tg_arena *a);
/* 64-byte aligned, uninitialised; NULL when the system is out of memory. */
void *tg_arena_alloc(tg_arena *a, size_t bytes);
/* Forgets every allocation. If the last step needed more than one chunk,
 * they are merged into one chunk big enough for the whole step. */
void tg_arena_reset(tg_arena *a);
/* A point to come back to: tg_arena_release forgets every allocation made
 * after tg_arena_mark (a scratch region, as for recomputed segments); the
 * chunks taken since are kept for the next allocations. */
typedef struct tg_arena_mark {
    tg_arena_chunk *head;
    size_t head_used, used;
} tg_arena_mark;
tg_arena_mark tg_arena_mark_get(const tg_arena *a);
void tg_arena_release(tg_arena *a, tg_arena_mark m);
void tg_arena_free(tg_arena *a);

#endif
