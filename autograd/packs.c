/* See packs.h. A tape holds a few packs (a layer's W_hh forward and its
 * transpose backward, per layer and direction): a short list, searched
 * from the start. */
#include "packs.h"

#include <stdlib.h>

#include "../core/kernels.h"

/* The packed path is for the small left operands of a step (a batch of
 * rows); from one row a product is a GEMV (tg_gemm's), and many rows are
 * better served by BLIS's blocking of A, which this path does not do. */
#define PACK_ROWS_MIN 2
#define PACK_ROWS_MAX 512

/* From one row, x B is a GEMV over B's columns. Where B is W^T of a
 * row-major W (x W^T), those are W's rows, and BLIS forms each output as
 * a dot product of k entries: slow for short rows (a first layer's W_ih
 * behind a 32-wide embedding, 1024 x 32: 3.1 us a call on Zen 4, against
 * 1.2-1.6 over B laid out row-major, where BLIS runs axpys along its
 * rows). The copy pays only where it is reused, so only pinned. */
#define ROW_MAJOR_K_MAX 64

/* B (k x n at b, strides rsb, csb) of w, copied row-major (rows of n). */
struct tg__row_major {
    const tg_tensor *w;
    const tg_real *b;
    int64_t k, n, rsb, csb;
    tg_real *data;
};

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

static void forget(tg__packs *p) {
    p->holds = 0;
    for (size_t i = 0; i < p->n; i++) p->e[i].valid = false; /* buffers kept */
    for (size_t i = 0; i < p->n_rm; i++) free(p->rm[i].data);
    free(p->rm);
    p->rm = NULL, p->n_rm = 0;
}

void tg__packs_reset(tg__packs *p) {
    if (!p->pinned) forget(p);
}

void tg__packs_pin(tg__packs *p, bool on) {
    if (!on && p->pinned) forget(p);
    p->pinned = on;
}

void tg__packs_free(tg__packs *p) {
    forget(p);
    for (size_t i = 0; i < p->n; i++) tg_packed_free(&p->e[i].pk);
    free(p->e);
    *p = (tg__packs){0};
}

/* w's B copied row-major: found, or made; NULL when memory runs out. */
static const tg_real *row_major_of(tg__packs *p, const tg_tensor *w, int64_t k, int64_t n,
                                   const tg_real *b, int64_t rsb, int64_t csb) {
    for (size_t i = 0; i < p->n_rm; i++) {
        const tg__row_major *r = &p->rm[i];
        if (r->w == w && r->b == b && r->k == k && r->n == n && r->rsb == rsb && r->csb == csb)
            return r->data;
    }
    tg__row_major *more = realloc(p->rm, (p->n_rm + 1) * sizeof *more);
    tg_real *data = malloc((size_t)(k * n) * sizeof *data);
    if (more) p->rm = more;
    if (!more || !data) return free(data), NULL;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < n; j++) data[i * n + j] = b[i * rsb + j * csb];
    p->rm[p->n_rm++] = (tg__row_major){w, b, k, n, rsb, csb, data};
    return data;
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
    if (p->pinned && w->on_heap && m == 1 && k <= ROW_MAJOR_K_MAX && csb != 1) {
        const tg_real *rm = row_major_of(p, w, k, n, b, rsb, csb);
        if (rm) tg_gemm(1, n, k, 1, a, rsa, csa, rm, n, 1, beta, c, ldc, 1);
        return rm != NULL;
    }
    bool open = p->holds > 0 || p->pinned;
    if (!open || !w->on_heap || m < PACK_ROWS_MIN || m > PACK_ROWS_MAX || n < 2 || k < 1)
        return false;
    tg_packed *pk = pack_of(p, w, k, n, b, rsb, csb);
    return pk && tg_gemm_packed(pk, m, a, rsa, csa, beta, c, ldc);
}
