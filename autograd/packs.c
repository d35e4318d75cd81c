/* See packs.h. A tape holds a few packs (a layer's W_hh forward and its
 * transpose backward, per layer and direction): a short list, searched
 * from the start. */
#include "packs.h"

#include <stdlib.h>

/* The packed path is for the small left operands of a step (a batch of
 * rows); from one row a product is a GEMV (tg_gemm's), and many rows are
 * better served by BLIS's blocking of A, which this path does not do. */
#define PACK_ROWS_MIN 2
#define PACK_ROWS_MAX 512

struct tg__pack_entry {
    const tg_tensor *w;
    bool valid; /* false: packed before the last hold closed; free for reuse */
    tg_packed pk;
};

void tg__packs_hold(tg__packs *p, bool on) {
    if (on) {
        p->holds++;
        return;
    }
    if (p->holds > 0 && --p->holds == 0) tg__packs_reset(p);
}

void tg__packs_reset(tg__packs *p) {
    p->holds = 0;
    for (size_t i = 0; i < p->n; i++) p->e[i].valid = false; /* buffers kept */
}

void tg__packs_free(tg__packs *p) {
    for (size_t i = 0; i < p->n; i++) tg_packed_free(&p->e[i].pk);
    free(p->e);
    *p = (tg__packs){0};
}

/* w's pack of B (k x n at b, strides rsb, csb): found, or packed again
 * into the entry that held it last time (same size: no allocation), or
 * into another free entry or a new one; NULL when memory runs out. */
static tg_packed *pack_of(tg__packs *p, const tg_tensor *w, int64_t k, int64_t n,
                          const tg_real *b, int64_t rsb, int64_t csb) {
    tg__pack_entry *slot = NULL;
    for (size_t i = 0; i < p->n; i++) {
        tg__pack_entry *e = &p->e[i];
        bool same = e->w == w && tg_packed_holds(&e->pk, b, k, n, rsb, csb);
        if (same && e->valid) return &e->pk;
        if (!e->valid && (same || !slot)) slot = e;
    }
    if (!slot && p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        tg__pack_entry *more = realloc(p->e, cap * sizeof *more);
        if (!more) return NULL;
        p->e = more, p->cap = cap;
    }
    if (!slot) slot = &p->e[p->n++], *slot = (tg__pack_entry){0};
    slot->w = w, slot->valid = false;
    if (!tg_pack_b(&slot->pk, k, n, b, rsb, csb)) return NULL;
    slot->valid = true;
    return &slot->pk;
}

bool tg__packs_gemm(tg__packs *p, const tg_tensor *w, int64_t m, int64_t n, int64_t k,
                    const tg_real *a, int64_t rsa, int64_t csa, const tg_real *b, int64_t rsb,
                    int64_t csb, tg_real beta, tg_real *c, int64_t ldc) {
    if (p->holds == 0 || !w->on_heap || m < PACK_ROWS_MIN || m > PACK_ROWS_MAX || n < 2 || k < 1)
        return false;
    tg_packed *pk = pack_of(p, w, k, n, b, rsb, csb);
    return pk && tg_gemm_packed(pk, m, a, rsa, csa, beta, c, ldc);
}
