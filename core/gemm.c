/* Matrix products through BLIS's typed API, and BLIS's thread count. */
#include "kernels.h"

#include <blis.h>

#ifdef TG_DOUBLE
#define TG_BLI_GEMM bli_dgemm
#else
#define TG_BLI_GEMM bli_sgemm
#endif

void tg_gemm(int64_t m, int64_t n, int64_t k, tg_real alpha,
             const tg_real *a, int64_t rsa, int64_t csa,
             const tg_real *b, int64_t rsb, int64_t csb,
             tg_real beta, tg_real *c, int64_t rsc, int64_t csc) {
    if (m == 0 || n == 0) return;
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
    TG_BLI_GEMM(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k,
                &alpha, (tg_real *)a, (inc_t)rsa, (inc_t)csa, (tg_real *)b,
                (inc_t)rsb, (inc_t)csb, &beta, c, (inc_t)rsc, (inc_t)csc);
}

void tg_set_threads(int n) {
    if (n < 1) n = 1;
    bli_thread_set_num_threads((dim_t)n);
}
