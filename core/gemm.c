/* Matrix products through BLIS's typed API. Products too small to pay for
 * a second thread run on one (BLIS's per-call runtime object), whatever
 * the thread count. BLIS's "sup" path for small matrices is turned off
 * (it is already in the skx kernel set): it sums in another order than the
 * blocked path, so a row's result would depend on how many rows share its
 * product, and a step recomputed in backward, or a layer run a segment at
 * a time, would no longer equal the full tape bit for bit. */
#include "kernels.h"

#include <blis.h>

#ifdef TG_DOUBLE
#define TG_BLI_GEMM bli_dgemm_ex
#else
#define TG_BLI_GEMM bli_sgemm_ex
#endif

/* Below this many multiply-adds a product runs on one thread. */
#define TG_GEMM_THREAD_MIN ((int64_t)1 << 22)

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
    rntm_t rntm;
    bli_rntm_init_from_global(&rntm);
    if (m * n * k < TG_GEMM_THREAD_MIN) bli_rntm_set_num_threads(1, &rntm);
    bli_rntm_disable_l3_sup(&rntm);
    TG_BLI_GEMM(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k,
                &alpha, (tg_real *)a, (inc_t)rsa, (inc_t)csa, (tg_real *)b,
                (inc_t)rsb, (inc_t)csb, &beta, c, (inc_t)rsc, (inc_t)csc, NULL, &rntm);
}
