/* Matrix products through BLIS's typed API. Products too small to pay for
 * a second thread run on one (BLIS's per-call runtime object), whatever
 * the thread count.
 *
 * BLIS's "sup" path for small matrices is turned off (the skx kernel set
 * has it off already): it sums in another order than the blocked path, so
 * a row's result would depend on how many rows share its product, and a
 * step recomputed in backward, or a layer run a segment at a time, would
 * no longer equal the full tape bit for bit.
 *
 * A product with one row or one column is a matrix-vector product: BLIS's
 * gemm would pack the whole matrix for it (a batch-1 step, as in sampling,
 * spent most of its time there); its gemv reads the matrix once in place.
 * BLIS runs gemv on one thread; a large one is split here into parts of
 * whole blocks of outputs, each part a gemv of its own: every output is the
 * same dot product, in the same order, as in one call (BLIS's gemv kernels
 * work on groups of 8 outputs from the call's first), so the bits do not
 * depend on the thread count. Two cores then each read half the matrix,
 * and where a core's cache holds half the sampler's recurrent weights
 * (512 KB) they stay there from one character to the next. */
#include "kernels.h"

#include <blis.h>

#ifdef TG_DOUBLE
#define TG_BLI_GEMM bli_dgemm_ex
#define TG_BLI_GEMV bli_dgemv_ex
#else
#define TG_BLI_GEMM bli_sgemm_ex
#define TG_BLI_GEMV bli_sgemv_ex
#endif

/* Below this many multiply-adds a product runs on one thread. */
#define TG_GEMM_THREAD_MIN ((int64_t)1 << 22)
/* The same for a matrix-vector product (it streams the matrix, so threads
 * pay off at a smaller size), and the outputs a part holds a multiple of. */
#define TG_GEMV_THREAD_MIN ((int64_t)1 << 17)
#define TG_GEMV_BLOCK 64

/* y (len outputs, stride incy) = alpha op(A) x + beta y: op(A) is A's
 * rows at stride rs (each of k entries at stride cs). */
typedef struct gemv_job {
    int64_t len, k;
    tg_real alpha, beta;
    const tg_real *a, *x;
    int64_t rs, cs, incx;
    tg_real *y;
    int64_t incy;
} gemv_job;

/* Outputs [lo, hi) blocks of job ctx: one BLIS gemv. */
static void gemv_part(void *ctx, int64_t lo, int64_t hi) {
    const gemv_job *g = ctx;
    int64_t first = lo * TG_GEMV_BLOCK, end = hi * TG_GEMV_BLOCK;
    if (end > g->len) end = g->len;
    tg_real alpha = g->alpha, beta = g->beta;
    TG_BLI_GEMV(BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, (dim_t)(end - first), (dim_t)g->k, &alpha,
                (tg_real *)g->a + first * g->rs, (inc_t)g->rs, (inc_t)g->cs, (tg_real *)g->x,
                (inc_t)g->incx, &beta, g->y + first * g->incy, (inc_t)g->incy, NULL, NULL);
}

static void gemv(const gemv_job *g) {
    int64_t blocks = (g->len + TG_GEMV_BLOCK - 1) / TG_GEMV_BLOCK;
    int64_t grain = (TG_GEMV_THREAD_MIN / 2 + TG_GEMV_BLOCK * g->k - 1) / (TG_GEMV_BLOCK * g->k);
    tg__parallel_for(blocks, grain > 0 ? grain : 1, gemv_part, (void *)g);
}

void tg_gemm(int64_t m, int64_t n, int64_t k, tg_real alpha,
             const tg_real *a, int64_t rsa, int64_t csa,
             const tg_real *b, int64_t rsb, int64_t csb,
             tg_real beta, tg_real *c, int64_t rsc, int64_t csc) {
    if (m == 0 || n == 0) return;
    tg__blis_setup();
    if (k == 0) { /* BLIS would still scale C; keep the same meaning */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                tg_real *p = c + i * rsc + j * csc;
                *p = beta == 0 ? 0 : beta * *p;
            }
        return;
    }
    /* A stride along a length-1 dimension is never used, but BLIS checks
     * it; give it the value a dense matrix would have. */
    if (m == 1) rsa = k * csa, rsc = n * csc;
    if (n == 1) csb = k * rsb, csc = m * rsc;
    if (k == 1) csa = m * rsa, rsb = n * csb;
    if (m == 1) { /* c^T = B^T a^T: B's columns are the rows */
        gemv(&(gemv_job){n, k, alpha, beta, b, a, csb, rsb, csa, c, csc});
        return;
    }
    if (n == 1) { /* c = A b */
        gemv(&(gemv_job){m, k, alpha, beta, a, b, rsa, csa, rsb, c, rsc});
        return;
    }
    rntm_t rntm;
    bli_rntm_init_from_global(&rntm);
    if (m * n * k < TG_GEMM_THREAD_MIN) bli_rntm_set_num_threads(1, &rntm);
    bli_rntm_disable_l3_sup(&rntm);
    TG_BLI_GEMM(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k,
                &alpha, (tg_real *)a, (inc_t)rsa, (inc_t)csa, (tg_real *)b,
                (inc_t)rsb, (inc_t)csb, &beta, c, (inc_t)rsc, (inc_t)csc, NULL, &rntm);
}
