/* A bump allocator in chunks. Reset keeps the memory: after the first few
 * steps of a training loop, a step allocates nothing from the system. */
#ifndef TG_ARENA_H
#define TG_ARENA_H

#include <stddef.h>

typedef struct tg_arena_chunk tg_arena_chunk;

typedef struct tg_arena {
    tg_arena_chunk *head;     /* chunk being filled; older ones follow ->next */
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
void tg_arena_free(tg_arena *a);

#endif
