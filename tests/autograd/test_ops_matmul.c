/* matmul (2-d, batched, 3-d x 2-d, strided operands), linear and linear_add. */
#include "testutil.h"

START_TEST(matmul_values) {
    tg_tape *t = tg_tape_new();
    tg_real av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {7, 8, 9, 10, 11, 12};
    tg_tensor *a = tg_from_array(t, TG_SHAPE(2, 3), av);
    tg_tensor *b = tg_from_array(t, TG_SHAPE(3, 2), bv);
    tg_real ab[4] = {58, 64, 139, 154};
    ck_assert_tensor(tg_matmul(t, a, b), ab, TG_TOL);
    /* batched: the same pair twice, the second scaled by 2 */
    tg_real a2[12], b2[12];
    for (int i = 0; i < 6; i++) a2[i] = av[i], a2[6 + i] = 2 * av[i], b2[i] = b2[6 + i] = bv[i];
    tg_tensor *ba = tg_from_array(t, TG_SHAPE(2, 2, 3), a2);
    tg_tensor *bb = tg_from_array(t, TG_SHAPE(2, 3, 2), b2);
    tg_real bab[8] = {58, 64, 139, 154, 116, 128, 278, 308};
    ck_assert_tensor(tg_matmul(t, ba, bb), bab, TG_TOL);
    ck_assert_tensor(tg_matmul(t, ba, b), bab, TG_TOL);
    /* linear: x W^T + b with W [2,3] */
    tg_real bias[2] = {0.5, -1};
    tg_tensor *lin =
        tg_linear(t, a, tg_from_array(t, TG_SHAPE(2, 3), bv), tg_from_array(t, TG_SHAPE(2), bias));
    tg_real le[4] = {1 * 7 + 2 * 8 + 3 * 9 + 0.5, 1 * 10 + 2 * 11 + 3 * 12 - 1,
                     4 * 7 + 5 * 8 + 6 * 9 + 0.5, 4 * 10 + 5 * 11 + 6 * 12 - 1};
    ck_assert_tensor(lin, le, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    ck_assert_ptr_null(tg_linear(t, b, a, NULL));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_linear: input [3,2] and weight [2,3]: expected weight [out,2]");
    tg_tape_free(t);
}
END_TEST

/* z + x W^T + b: the linear above plus z, with or without the bias; z of
 * another shape is refused by name. */
START_TEST(linear_add_values) {
    tg_tape *t = tg_tape_new();
    tg_real xv[6] = {1, 2, 3, 4, 5, 6}, wv[6] = {7, 8, 9, 10, 11, 12}, bias[2] = {0.5, -1};
    tg_real zv[4] = {100, 200, 300, 400};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(2, 3), xv), *w = tg_from_array(t, TG_SHAPE(2, 3), wv);
    tg_tensor *b = tg_from_array(t, TG_SHAPE(2), bias), *z = tg_from_array(t, TG_SHAPE(2, 2), zv);
    tg_real with_b[4] = {150.5, 267, 422.5, 566}, without_b[4] = {150, 268, 422, 567};
    ck_assert_tensor(tg_linear_add(t, z, x, w, b), with_b, TG_TOL);
    ck_assert_tensor(tg_linear_add(t, z, x, w, NULL), without_b, TG_TOL);
    /* z is read through its strides: its transpose gives other sums */
    tg_real zt[4] = {150, 368, 322, 567};
    ck_assert_tensor(tg_linear_add(t, tg_transpose(t, z, 0, 1), x, w, NULL), zt, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    ck_assert_ptr_null(tg_linear_add(t, x, x, w, b));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_linear_add: z [2,3] does not match the product's shape [2,2]");
    tg_tape_free(t);
}
END_TEST

/* Degenerate sizes (1-row, 1-column, inner size 1) go through BLIS too. */
START_TEST(matmul_degenerate_sizes) {
    tg_tape *t = tg_tape_new();
    int64_t sizes[][3] = {{1, 1, 1}, {1, 5, 1}, {5, 1, 1}, {1, 1, 5},
                          {1, 4, 3}, {3, 1, 4}, {3, 4, 1}};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        int64_t m = sizes[c][0], k = sizes[c][1], n = sizes[c][2];
        tg_tensor *a = tg_arange(t, 1, (double)(m * k) + 1, 1),
                  *b = tg_arange(t, 1, (double)(k * n) + 1, 1);
        a->ndim = b->ndim = 2;
        a->shape[0] = m, a->shape[1] = k, a->stride[0] = k, a->stride[1] = 1;
        b->shape[0] = k, b->shape[1] = n, b->stride[0] = n, b->stride[1] = 1;
        tg_tensor *c_ = tg_matmul(t, a, b);
        ck_assert_ptr_nonnull(c_);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0;
                for (int64_t p = 0; p < k; p++)
                    s += (double)(i * k + p + 1) * (double)(p * n + j + 1);
                ck_assert_close(c_->data[i * n + j], s, TG_TOL);
            }
    }
    tg_tape_free(t);
}
END_TEST

static tg_tensor *f_matmul(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_matmul(t, x[0], x[1]);
}
static tg_tensor *f_linear(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_linear(t, x[0], x[1], c ? x[2] : NULL);
}
/* inputs {x, w, z[, b]} */
static tg_tensor *f_linear_add(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_linear_add(t, x[2], x[0], x[1], c ? x[3] : NULL);
}

START_TEST(gradcheck_matmul) {
    tg_rng r;
    tg_rng_seed(&r, 3);
    tg_shape cases[][2] = {{TG_SHAPE(3, 4), TG_SHAPE(4, 5)},
                           {TG_SHAPE(1, 4), TG_SHAPE(4, 1)},
                           {TG_SHAPE(2, 3, 4), TG_SHAPE(2, 4, 2)},
                           {TG_SHAPE(2, 3, 4), TG_SHAPE(4, 2)}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tg_tensor *in[2] = {test_param(&r, cases[c][0]), test_param(&r, cases[c][1])};
        ck_assert_gradcheck(f_matmul, NULL, 2, in);
        tg_tensor_free(in[0]);
        tg_tensor_free(in[1]);
    }
    tg_tensor *lin[3] = {test_param(&r, TG_SHAPE(2, 3, 4)), test_param(&r, TG_SHAPE(5, 4)),
                         test_param(&r, TG_SHAPE(5))};
    ck_assert_gradcheck(f_linear, NULL, 2, lin);
    ck_assert_gradcheck(f_linear, (void *)1, 3, lin);
    for (int i = 0; i < 3; i++) tg_tensor_free(lin[i]);
    tg_tensor *la[4] = {test_param(&r, TG_SHAPE(2, 3, 4)), test_param(&r, TG_SHAPE(5, 4)),
                        test_param(&r, TG_SHAPE(2, 3, 5)), test_param(&r, TG_SHAPE(5))};
    ck_assert_gradcheck(f_linear_add, NULL, 3, la);
    ck_assert_gradcheck(f_linear_add, (void *)1, 4, la);
    for (int i = 0; i < 4; i++) tg_tensor_free(la[i]);
}
END_TEST

TCase *tcase_ops_matmul(void) {
    TCase *tc = tcase_create("ops_matmul");
    tcase_add_test(tc, matmul_values);
    tcase_add_test(tc, linear_add_values);
    tcase_add_test(tc, matmul_degenerate_sizes);
    tcase_add_test(tc, gradcheck_matmul);
    return tc;
}
