/* add, sub, mul, div, where: values (with broadcasting) and gradchecks. */
#include "testutil.h"

START_TEST(broadcast_values) {
    tg_tape *t = tg_tape_new();
    tg_real av[6] = {1, 2, 3, 4, 5, 6}, bv[3] = {10, 20, 30}, cv[2] = {2, 4};
    tg_tensor *a = tg_from_array(t, TG_SHAPE(2, 3), av);
    tg_tensor *b = tg_from_array(t, TG_SHAPE(3), bv);
    tg_tensor *c = tg_from_array(t, TG_SHAPE(2, 1), cv);
    tg_real add[6] = {11, 22, 33, 14, 25, 36}, sub[6] = {-9, -18, -27, -6, -15, -24};
    tg_real mul[6] = {2, 4, 6, 16, 20, 24}, div[6] = {0.5, 1, 1.5, 1, 1.25, 1.5};
    ck_assert_tensor(tg_add(t, a, b), add, TG_TOL);
    ck_assert_tensor(tg_sub(t, a, b), sub, TG_TOL);
    ck_assert_tensor(tg_mul(t, a, c), mul, TG_TOL);
    ck_assert_tensor(tg_div(t, a, c), div, TG_TOL);
    /* [2,1] + [3] -> [2,3] (both broadcast) */
    tg_tensor *bc = tg_add(t, c, b);
    tg_real bce[6] = {12, 22, 32, 14, 24, 34};
    ck_assert_int_eq(bc->ndim, 2);
    ck_assert_tensor(bc, bce, TG_TOL);
    /* a 0-d scalar broadcasts against anything */
    tg_real two = 2;
    tg_tensor *s = tg_from_array(t, TG_SCALAR, &two);
    tg_real twice[6] = {2, 4, 6, 8, 10, 12};
    ck_assert_tensor(tg_mul(t, a, s), twice, TG_TOL);
    tg_real mv[6] = {1, 0, 1, 0, 0, 1};
    tg_tensor *mask = tg_from_array(t, TG_SHAPE(2, 3), mv);
    tg_real wh[6] = {1, 22, 3, 14, 25, 6};
    ck_assert_tensor(tg_where(t, mask, a, tg_add(t, a, b)), wh, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

static tg_tensor *f_add(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_add(t, x[0], x[1]);
}
static tg_tensor *f_sub(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_sub(t, x[0], x[1]);
}
static tg_tensor *f_mul(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_mul(t, x[0], x[1]);
}
static tg_tensor *f_div(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_div(t, x[0], x[1]);
}
static tg_tensor *f_where(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    tg_real mv[3] = {1, 0, 1};
    tg_tensor *m = tg_from_array(t, TG_SHAPE(3, 1), mv);
    return tg_where(t, m, x[0], x[1]);
}

/* Gradchecks over shape pairs that broadcast in every way. */
START_TEST(gradcheck_binary) {
    tg_rng r;
    tg_rng_seed(&r, 7);
    tg_shape pairs[][2] = {
        {TG_SHAPE(3, 4), TG_SHAPE(3, 4)}, {TG_SHAPE(3, 4), TG_SHAPE(4)},
        {TG_SHAPE(3, 1), TG_SHAPE(1, 4)}, {TG_SHAPE(2, 3, 4), TG_SHAPE(3, 1)},
        {TG_SHAPE(2, 1, 3, 1), TG_SHAPE(4, 1, 5)}, {TG_SCALAR, TG_SHAPE(2, 2)},
    };
    tg_gradcheck_fn fs[] = {f_add, f_sub, f_mul, f_div};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
        for (int k = 0; k < 4; k++) {
            tg_tensor *in[2] = {test_param(&r, pairs[p][0]), test_param(&r, pairs[p][1])};
            if (fs[k] == f_div) /* keep the divisor away from 0 */
                for (int64_t i = 0; i < in[1]->numel; i++)
                    in[1]->data[i] = in[1]->data[i] < 0 ? in[1]->data[i] - 1 : in[1]->data[i] + 1;
            ck_assert_gradcheck(fs[k], NULL, 2, in);
            tg_tensor_free(in[0]);
            tg_tensor_free(in[1]);
        }
    tg_tensor *in[2] = {test_param(&r, TG_SHAPE(3, 4)), test_param(&r, TG_SHAPE(4))};
    ck_assert_gradcheck(f_where, NULL, 2, in);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
}
END_TEST

TCase *tcase_ops_arith(void) {
    TCase *tc = tcase_create("ops_arith");
    tcase_add_test(tc, broadcast_values);
    tcase_add_test(tc, gradcheck_binary);
    return tc;
}
