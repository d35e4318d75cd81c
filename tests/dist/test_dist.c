/* tg_dist on one process (the default build, or MPI=1 without mpirun):
 * sums are the values themselves, and the gradient exchange leaves weight
 * times each gradient, bucket by bucket, started during backward. */
#include <string.h>

#include "../autograd/unrolled.h"
#include "testutil.h"

START_TEST(one_process) {
    char err[256];
    tg_dist *d = tg_dist_init(NULL, NULL, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    ck_assert_int_eq(tg_dist_rank(d), 0);
    ck_assert_int_eq(tg_dist_size(d), 1);
    double v[2] = {1.5, -2};
    ck_assert_int_eq(tg_dist_sum(d, v, 2, err, sizeof err), 0);
    ck_assert(v[0] == 1.5 && v[1] == -2);
    ck_assert_int_eq(tg_dist_barrier(d), 0);
    tg_tensor *p[UNROLLED_N];
    unrolled_params(p);
    tg_real w0 = p[0]->data[0];
    ck_assert_int_eq(tg_dist_broadcast(d, p, UNROLLED_N, err, sizeof err), 0);
    ck_assert(p[0]->data[0] == w0);
    /* reduce: weight times the gradient; a missing gradient becomes zeros */
    p[0]->grad = calloc((size_t)p[0]->numel, sizeof(tg_real));
    p[0]->grad[5] = 4;
    ck_assert_int_eq(tg_dist_reduce_grads(d, p, UNROLLED_N, 0.25, err, sizeof err), 0);
    ck_assert(p[0]->grad[5] == 1 && p[0]->grad[4] == 0);
    ck_assert(p[3]->grad && p[3]->grad[1] == 0);
    for (int i = 0; i < UNROLLED_N; i++) tg_tensor_free(p[i]);
    tg_dist_free(d);
}
END_TEST

START_TEST(exchange_during_backward) {
    char err[256];
    tg_dist *d = tg_dist_init(NULL, NULL, err, sizeof err);
    tg_tensor *p[UNROLLED_N];
    unrolled_params(p);
    tg_tape *t = tg_tape_new();
    ck_assert_int_eq(tg_backward(t, unrolled_loss(t, p)), 0);
    tg_real want[UNROLLED_N][16];
    for (int i = 0; i < 3; i++)
        for (int64_t j = 0; j < p[i]->numel; j++) want[i][j] = p[i]->grad[j] / 2, p[i]->grad[j] = 0;
    /* one bucket per parameter: 1 byte holds none */
    tg_dist_grads *g = tg_dist_grads_new(d, p, UNROLLED_N, 1, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    ck_assert_int_eq(tg_dist_grads_stats(g).buckets, UNROLLED_N);
    ck_assert_int_eq(tg_dist_grads_stats(g).bytes, (12 + 16 + 4 + 2) * (int64_t)sizeof(tg_real));
    tg_tape_reset(t);
    tg_dist_grads_begin(g, t, 0.5);
    ck_assert_int_eq(tg_backward(t, unrolled_loss(t, p)), 0);
    ck_assert_int_eq(tg_dist_grads_finish(g, err, sizeof err), 0);
    for (int i = 0; i < 3; i++)
        for (int64_t j = 0; j < p[i]->numel; j++) ck_assert(p[i]->grad[j] == want[i][j]);
    for (int64_t j = 0; j < 2; j++) ck_assert(p[3]->grad[j] == 0);
    /* all but the unread parameter's 2 values started inside backward */
    ck_assert_double_eq_tol(tg_dist_grads_stats(g).early_share, 32.0 / 34.0, 1e-12);
    tg_dist_grads_free(g);
    tg_tape_free(t);
    for (int i = 0; i < UNROLLED_N; i++) tg_tensor_free(p[i]);
    tg_dist_free(d);
}
END_TEST

TCase *tcase_dist(void) {
    TCase *tc = tcase_create("dist");
    tcase_add_test(tc, one_process);
    tcase_add_test(tc, exchange_during_backward);
    return tc;
}
