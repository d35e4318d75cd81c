/* tg_gemm with one row or one column (BLIS's gemv, split over threads in
 * blocks of outputs): the same bits at 1 and 2 threads, within rounding of
 * a product summed in double, for every layout of A and B, with beta 0
 * (C's old contents ignored, even NaN) and 1. */
#include <math.h>

#include "../core/kernels.h"
#include "testutil.h"

/* C (m x n) = A (m x k) B (k x n) + beta C, with m or n equal to 1; A and B
 * row-major or column-major (a_cols, b_cols); at `threads` threads. */
static void product(int64_t m, int64_t n, int64_t k, bool a_cols, bool b_cols, tg_real beta,
                    const tg_real *a, const tg_real *b, tg_real *c, int threads) {
    tg_set_threads(threads);
    tg_gemm(m, n, k, 1, a, a_cols ? 1 : k, a_cols ? m : 1, b, b_cols ? 1 : n, b_cols ? k : 1, beta,
            c, n, 1);
    tg_set_threads(1);
}

static void check(int64_t m, int64_t n, int64_t k, bool a_cols, bool b_cols, tg_real beta) {
    tg_real *a = test_uniform_array(m * k, 1), *b = test_uniform_array(k * n, 2),
            *c0 = test_uniform_array(m * n, 3);
    tg_real *one = malloc((size_t)(m * n) * sizeof *one),
            *two = malloc((size_t)(m * n) * sizeof *two);
    for (int64_t i = 0; i < m * n; i++) {
        one[i] = two[i] = beta == 0 ? (tg_real)NAN : c0[i];
    }
    product(m, n, k, a_cols, b_cols, beta, a, b, one, 1);
    product(m, n, k, a_cols, b_cols, beta, a, b, two, 2);
    ck_assert_msg(memcmp(one, two, (size_t)(m * n) * sizeof *one) == 0,
                  "[%lld x %lld x %lld] 1 and 2 threads differ", (long long)m, (long long)k,
                  (long long)n);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double want = beta == 0 ? 0 : (double)c0[i * n + j], mag = fabs(want);
            for (int64_t p = 0; p < k; p++) {
                double x = (double)a[a_cols ? p * m + i : i * k + p];
                double y = (double)b[b_cols ? j * k + p : p * n + j];
                want += x * y, mag += fabs(x * y);
            }
            ck_assert_msg(fabs((double)one[i * n + j] - want) <= test_sum_bound(k, mag),
                          "[%lld x %lld x %lld] C[%lld,%lld] = %.9g, want %.9g", (long long)m,
                          (long long)k, (long long)n, (long long)i, (long long)j,
                          (double)one[i * n + j], want);
        }
    free(a), free(b), free(c0), free(one), free(two);
}

START_TEST(one_row_any_layout) {
    /* 1 x 256 times 256 x 1100: big enough to split, the last block short */
    for (int l = 0; l < 4; l++) {
        check(1, 1100, 256, l & 1, l & 2, 0);
        check(1, 1100, 256, l & 1, l & 2, 1);
    }
    check(1, 3, 5, false, true, 1); /* too small to split */
}
END_TEST

START_TEST(one_column_any_layout) {
    for (int l = 0; l < 4; l++) {
        check(1030, 1, 300, l & 1, l & 2, 0);
        check(1030, 1, 300, l & 1, l & 2, 1);
    }
    check(1, 1, 7, true, false, 0); /* a dot product */
}
END_TEST

TCase *tcase_gemv(void) {
    TCase *tc = tcase_create("gemv");
    tcase_add_test(tc, one_row_any_layout);
    tcase_add_test(tc, one_column_any_layout);
    return tc;
}
