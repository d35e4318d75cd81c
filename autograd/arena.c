#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

#define TG_ALIGN 64
#define TG_FIRST_CHUNK ((size_t)1 << 20)

struct tg_arena_chunk {
    tg_arena_chunk *next;
    size_t size, used;
    _Alignas(TG_ALIGN) unsigned char mem[];
};

void tg_arena_init(tg_arena *a) { *a = (tg_arena){0}; }

static tg_arena_chunk *chunk_new(size_t size) {
    tg_arena_chunk *c = aligned_alloc(TG_ALIGN, (sizeof(tg_arena_chunk) + size + TG_ALIGN - 1) /
                                              TG_ALIGN * TG_ALIGN);
    if (!c) return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *tg_arena_alloc(tg_arena *a, size_t bytes) {
    size_t need = (bytes + TG_ALIGN - 1) / TG_ALIGN * TG_ALIGN;
    if (need < bytes) return NULL; /* overflow */
    if (!a->head || a->head->size - a->head->used < need) {
        tg_arena_chunk *c = NULL;
        if (a->spare && a->spare->size >= need) { /* reuse one given back */
            c = a->spare;
            a->spare = c->next;
            c->used = 0;
        } else {
            size_t size = a->head ? a->head->size * 2 : TG_FIRST_CHUNK;
            while (size < need) size *= 2;
            if (!(c = chunk_new(size))) return NULL;
            a->capacity += size;
        }
        c->next = a->head;
        a->head = c;
    }
    void *p = a->head->mem + a->head->used;
    a->head->used += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

tg_arena_mark tg_arena_mark_get(const tg_arena *a) {
    return (tg_arena_mark){a->head, a->head ? a->head->used : 0, a->used};
}

void tg_arena_release(tg_arena *a, tg_arena_mark m) {
    while (a->head != m.head) { /* chunks begun since the mark */
        tg_arena_chunk *c = a->head;
        a->head = c->next;
        c->next = a->spare;
        a->spare = c;
    }
    if (a->head) a->head->used = m.head_used;
    a->used = m.used;
}

void tg_arena_reset(tg_arena *a) {
    if ((a->head && a->head->next) || a->spare) {
        size_t total = a->capacity;
        tg_arena_free(a);
        a->head = chunk_new(total);
        a->capacity = a->head ? total : 0;
    }
    if (a->head) a->head->used = 0;
    a->used = 0;
}

static void free_chunks(tg_arena_chunk *c) {
    for (tg_arena_chunk *next; c; c = next) {
        next = c->next;
        free(c);
    }
}

void tg_arena_free(tg_arena *a) {
    free_chunks(a->head);
    free_chunks(a->spare);
    size_t peak = a->peak;
    *a = (tg_arena){0};
    a->peak = peak;
}
