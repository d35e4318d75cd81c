/* The weights of a sequence's recurrent products, packed once (core/
 * gemm_packed.h) and used at every step: while a hold is open (a layer's
 * step loop, a backward pass) the tape assumes its parameters' values do
 * not change, so a product x W^T (forward) or dy W (backward) by a
 * parameter W packs W at its first use and reuses the panels after. When
 * the last hold closes the packs are forgotten (their buffers are kept
 * for the next sequence: no allocation in a steady training loop). */
#ifndef TG_PACKS_H
#define TG_PACKS_H

#include "../core/gemm_packed.h"

typedef struct tg__pack_entry tg__pack_entry;

typedef struct tg__row_major tg__row_major;

/* A tape's packs; zero-initialised. */
typedef struct tg__packs {
    int holds;         /* open holds */
    tg__pack_entry *e; /* n in use or waiting for reuse, cap allocated */
    size_t n, cap;
    /* While pinned (tg_tape_set_params_fixed), packs outlive
     * tg__packs_reset, and a product from one row by a short-rowed weight
     * runs over a copy of its B laid out row-major (packs.c). */
    bool pinned;
    tg__row_major *rm; /* n_rm such copies */
    size_t n_rm;
} tg__packs;

/* Opens (on) or closes a hold. */
void tg__packs_hold(tg__packs *p, bool on);
/* Forgets every pack and hold (tg_tape_reset), unless pinned. */
void tg__packs_reset(tg__packs *p);
/* Pins (on) or unpins the packs; unpinning forgets them. */
void tg__packs_pin(tg__packs *p, bool on);
void tg__packs_free(tg__packs *p);

/* C (m x n, row-major, row stride ldc) = A (m x k) B + beta C, where B is
 * W^T or W of the parameter w (data b, strides rsb, csb), through w's
 * packed panels, or (pinned, one row, short k) B's row-major copy. False,
 * with nothing done, where that does not apply (no hold open, w not a
 * parameter, too few or too many rows for the packed path, memory short):
 * the caller runs tg_gemm instead. */
bool tg__packs_gemm(tg__packs *p, const tg_tensor *w, int64_t m, int64_t n, int64_t k,
                    const tg_real *a, int64_t rsa, int64_t csa, const tg_real *b, int64_t rsb,
                    int64_t csb, tg_real beta, tg_real *c, int64_t ldc);

#endif
