/* A matrix product whose right operand is packed once and used many times:
 * the recurrent product of a sequence, h W^T every step forward and
 * dgates W every step backward, with W fixed for the whole sequence.
 * tg_gemm (BLIS) repacks W on every call; here W goes into the micro-
 * kernel's panels once, and each call packs only its small left operand
 * and runs BLIS's own micro-kernel over the panels, with BLIS's block
 * sizes, so the sums are formed in BLIS's order (the same bits as tg_gemm
 * where BLIS takes its blocked path; tests/core/test_gemm_packed.c).
 * Internal to the library (core). */
#ifndef TG_GEMM_PACKED_H
#define TG_GEMM_PACKED_H

#include "core.h"

/* B (k x n) in panels, and scratch for the left operand's panels. Zero-
 * initialise; buffers are kept and reused by later packs (no allocation
 * once they are big enough); tg_packed_free gives them back. */
typedef struct tg_packed {
    tg_real *w, *x;      /* B's panels; the left operand's (per call) */
    size_t w_cap, x_cap; /* elements held */
    int64_t k, n;        /* B's shape; k == 0: nothing packed */
    const tg_real *src;  /* what was packed, and its strides */
    int64_t rsb, csb;
    bool trans; /* the kernel runs the transposed problem C^T = B^T A^T */
    int64_t pw, px; /* panel heights: B's and the left operand's */
} tg_packed;

/* Packs B (k x n, strides rsb, csb); false when memory runs out (p then
 * holds nothing). */
bool tg_pack_b(tg_packed *p, int64_t k, int64_t n, const tg_real *b, int64_t rsb, int64_t csb);

/* Whether p holds exactly this B. */
bool tg_packed_holds(const tg_packed *p, const tg_real *b, int64_t k, int64_t n, int64_t rsb,
                     int64_t csb);

/* C (m x n, row-major, row stride ldc) = A (m x k, strides rsa, csa) B +
 * beta C, B packed in p. False (nothing done) when memory for A's panels
 * runs out: then call tg_gemm. */
bool tg_gemm_packed(tg_packed *p, int64_t m, const tg_real *a, int64_t rsa, int64_t csa,
                    tg_real beta, tg_real *c, int64_t ldc);

void tg_packed_free(tg_packed *p);

/* Whether BLIS runs every product of this precision through its blocked
 * path (its "sup" thresholds are 0, as with the skx kernels), so that
 * tg_gemm_packed gives tg_gemm's very bits; elsewhere they agree to
 * rounding. (For tests.) */
bool tg_gemm_packed_exact(void);

/* Told of every tg_gemm_packed call as the tg_gemm call it stands for (a
 * no-op here; the bench's GEMM floor defines its own to replay the same
 * products through BLIS). */
void tg__gemm_packed_note(int64_t m, int64_t n, int64_t k, const tg_real *a, int64_t rsa,
                          int64_t csa, const tg_real *b, int64_t rsb, int64_t csb, tg_real beta,
                          tg_real *c, int64_t ldc);

#endif
