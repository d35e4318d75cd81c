/* tg_gemm_packed: the product with B packed once equals tg_gemm (BLIS)
 * bit for bit where the packed kernel sums as BLIS's (tg_gemm_packed_exact:
 * the skx kernel set) and A has more than one row (one row is a gemv), and
 * to rounding elsewhere; over edge tiles, several KC blocks, both
 * transposes of B, beta 0 and 1, 1 and 2 threads, and B packed once for
 * many calls. */
#include "../core/gemm_packed.h"
#include "../core/kernels.h"
#include "testutil.h"

/* The bound on two orders of the sums for C[i] (n columns): where BLIS's
 * kernels sum in another order than the packed path (other than the skx
 * set), a wrong product still misses it by far. */
static double sum_bound(const tg_real *a, const tg_real *b, int64_t rsb, int64_t csb, int64_t k,
                        int64_t n, int64_t i, tg_real c) {
    int64_t r = i / n, col = i % n;
    double mag = fabs((double)c);
    for (int64_t p = 0; p < k; p++)
        mag += fabs((double)a[r * k + p] * (double)b[p * rsb + col * csb]);
    return test_sum_bound(k, mag);
}

/* C = A B + beta C0 both ways, B (k x n) stored as given (transposed: its
 * transpose is row-major, as W in h W^T), then a second A with the same
 * packing; every element compared. */
static void check_shape(int64_t m, int64_t k, int64_t n, bool b_trans, tg_real beta, int threads) {
    tg_set_threads(threads);
    tg_real *a = test_uniform_array(m * k, 1), *a2 = test_uniform_array(m * k, 2),
            *b = test_uniform_array(k * n, 3);
    tg_real *c0 = test_uniform_array(m * n, 4);
    int64_t rsb = b_trans ? 1 : n, csb = b_trans ? k : 1;
    tg_real *want = malloc((size_t)(m * n) * sizeof *want),
            *got = malloc((size_t)(m * n) * sizeof *got);
    tg_packed p = {0};
    ck_assert(tg_pack_b(&p, k, n, b, rsb, csb));
    ck_assert(tg_packed_holds(&p, b, k, n, rsb, csb));
    ck_assert(!tg_packed_holds(&p, b, k, n, csb, rsb) || rsb == csb);
    bool exact = tg_gemm_packed_exact() && m > 1; /* one row: tg_gemm takes BLIS's gemv */
    for (int round = 0; round < 2; round++) {
        const tg_real *ar = round ? a2 : a;
        memcpy(want, c0, (size_t)(m * n) * sizeof *want);
        memcpy(got, c0, (size_t)(m * n) * sizeof *got);
        tg_gemm(m, n, k, 1, ar, k, 1, b, rsb, csb, beta, want, n, 1);
        ck_assert(tg_gemm_packed(&p, m, ar, k, 1, beta, got, n));
        for (int64_t i = 0; i < m * n; i++) {
            if (exact)
                ck_assert_msg(memcmp(&want[i], &got[i], sizeof *got) == 0,
                              "[%lld x %lld x %lld] C[%lld] = %.9g, BLIS %.9g", (long long)m,
                              (long long)k, (long long)n, (long long)i, (double)got[i],
                              (double)want[i]);
            else
                ck_assert_msg(fabs((double)got[i] - (double)want[i]) <=
                                  sum_bound(ar, b, rsb, csb, k, n, i, beta * c0[i]),
                              "[%lld x %lld x %lld] C[%lld] = %.9g, BLIS %.9g", (long long)m,
                              (long long)k, (long long)n, (long long)i, (double)got[i],
                              (double)want[i]);
        }
    }
    tg_packed_free(&p);
    ck_assert_ptr_null(p.w);
    free(a), free(a2), free(b), free(c0), free(want), free(got);
    tg_set_threads(1);
}

START_TEST(recurrent_shapes_equal_blis) {
    check_shape(32, 256, 1024, true, 0, 1);  /* h W^T: an LSTM's step, H = 256 */
    check_shape(32, 1024, 256, false, 1, 1); /* dgates W, three KC blocks */
    check_shape(32, 256, 1024, true, 0, 2);
    check_shape(32, 1024, 256, false, 0, 2);
}
END_TEST

START_TEST(edge_tiles_and_blocks_equal_blis) {
    /* sizes off every panel height, KC blocks that are split and that are
     * taken whole (between KC and its maximum) */
    int64_t ms[] = {1, 5, 13, 33}, ks[] = {1, 7, 384, 400, 800, 1100}, ns[] = {3, 29, 70};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++)
            for (int l = 0; l < 3; l++) {
                check_shape(ms[i], ks[j], ns[l], (i + j + l) % 2, (j % 2) ? 1 : 0, 1);
            }
}
END_TEST

START_TEST(repacking_follows_b) {
    tg_real *b1 = test_uniform_array(64 * 48, 5), *b2 = test_uniform_array(64 * 48, 6),
            *a = test_uniform_array(8 * 64, 7);
    tg_real want[8 * 48], got[8 * 48];
    tg_packed p = {0};
    ck_assert(tg_pack_b(&p, 64, 48, b1, 48, 1));
    ck_assert(tg_pack_b(&p, 64, 48, b2, 48, 1)); /* the buffer reused for another B */
    ck_assert(tg_packed_holds(&p, b2, 64, 48, 48, 1));
    ck_assert(!tg_packed_holds(&p, b1, 64, 48, 48, 1));
    tg_gemm(8, 48, 64, 1, a, 64, 1, b2, 48, 1, 0, want, 48, 1);
    ck_assert(tg_gemm_packed(&p, 8, a, 64, 1, 0, got, 48));
    for (int i = 0; i < 8 * 48; i++) ck_assert_close(got[i], want[i], 1e-5);
    ck_assert(!tg_pack_b(&p, 0, 48, b2, 48, 1)); /* nothing to pack: nothing held */
    ck_assert(!tg_gemm_packed(&p, 8, a, 64, 1, 0, got, 48));
    tg_packed_free(&p);
    free(b1), free(b2), free(a);
}
END_TEST

TCase *tcase_gemm_packed(void) {
    TCase *tc = tcase_create("gemm_packed");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, recurrent_shapes_equal_blis);
    tcase_add_test(tc, edge_tiles_and_blocks_equal_blis);
    tcase_add_test(tc, repacking_follows_b);
    return tc;
}
