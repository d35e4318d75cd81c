/* concat and stack: values (strided inputs, negative axes, stack's axis at
 * the end), error messages naming the input, and gradchecks. */
#include "testutil.h"

static tg_tensor *iota(tg_tape *t, tg_shape s, tg_real from) {
    tg_real v[64];
    for (int i = 0; i < 64; i++) v[i] = from + (tg_real)i;
    return tg_from_array(t, s, v);
}

START_TEST(concat_values) {
    tg_tape *t = tg_tape_new();
    tg_tensor *a = iota(t, TG_SHAPE(2, 2), 0);  /* [[0,1],[2,3]] */
    tg_tensor *b = iota(t, TG_SHAPE(2, 3), 10); /* [[10,11,12],[13,14,15]] */
    tg_tensor *c = iota(t, TG_SHAPE(3, 2), 20); /* transposed: [[20,22,24],[21,23,25]] */
    tg_tensor *xs[3] = {a, b, tg_transpose(t, c, 0, 1)};
    tg_tensor *y = tg_concat(t, 3, xs, -1);
    tg_real ye[16] = {0, 1, 10, 11, 12, 20, 22, 24, 2, 3, 13, 14, 15, 21, 23, 25};
    ck_assert_int_eq(y->shape[0], 2);
    ck_assert_int_eq(y->shape[1], 8);
    ck_assert(tg_is_contiguous(y));
    ck_assert_tensor(y, ye, TG_TOL);
    /* axis 0, with a strided input and a one-input concat */
    tg_tensor *r[2] = {tg_transpose(t, a, 0, 1), c};
    tg_real y0e[10] = {0, 2, 1, 3, 20, 21, 22, 23, 24, 25};
    ck_assert_tensor(tg_concat(t, 2, r, 0), y0e, TG_TOL);
    tg_tensor *one = tg_concat(t, 1, r, 1);
    ck_assert_ptr_ne(one->data, a->data); /* always a new contiguous tensor */
    tg_real onee[4] = {0, 2, 1, 3};
    ck_assert_tensor(one, onee, TG_TOL);
    /* a piece of length 0 along the axis */
    tg_tensor *z[3] = {a, tg_zeros(t, TG_SHAPE(0, 2)), a};
    tg_real ze[8] = {0, 1, 2, 3, 0, 1, 2, 3};
    ck_assert_tensor(tg_concat(t, 3, z, 0), ze, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(stack_values) {
    tg_tape *t = tg_tape_new();
    tg_tensor *a = iota(t, TG_SHAPE(2, 2), 0);
    tg_tensor *b = iota(t, TG_SHAPE(2, 2), 10);
    tg_tensor *xs[3] = {a, tg_transpose(t, b, 0, 1), a};
    /* axis 0: [3,2,2] */
    tg_tensor *s0 = tg_stack(t, 3, xs, 0);
    tg_real s0e[12] = {0, 1, 2, 3, 10, 12, 11, 13, 0, 1, 2, 3};
    ck_assert_int_eq(s0->ndim, 3);
    ck_assert_int_eq(s0->shape[0], 3);
    ck_assert_tensor(s0, s0e, TG_TOL);
    /* axis 1: [2,3,2] */
    tg_tensor *s1 = tg_stack(t, 3, xs, 1);
    tg_real s1e[12] = {0, 1, 10, 12, 0, 1, 2, 3, 11, 13, 2, 3};
    ck_assert_int_eq(s1->shape[1], 3);
    ck_assert_tensor(s1, s1e, TG_TOL);
    /* axis 2 = ndim (the new last axis) and -1 agree: [2,2,3] */
    tg_real s2e[12] = {0, 10, 0, 1, 12, 1, 2, 11, 2, 3, 13, 3};
    tg_tensor *s2 = tg_stack(t, 3, xs, 2);
    ck_assert_int_eq(s2->shape[2], 3);
    ck_assert_tensor(s2, s2e, TG_TOL);
    ck_assert_tensor(tg_stack(t, 3, xs, -1), s2e, TG_TOL);
    ck_assert_tensor(tg_stack(t, 3, xs, -3), s0e, TG_TOL);
    /* 0-d tensors stack into a vector */
    tg_real v1 = 4, v2 = -2;
    tg_tensor *sc[2] = {tg_from_array(t, TG_SCALAR, &v1), tg_from_array(t, TG_SCALAR, &v2)};
    tg_tensor *vec = tg_stack(t, 2, sc, 0);
    tg_real vece[2] = {4, -2};
    ck_assert_int_eq(vec->ndim, 1);
    ck_assert_tensor(vec, vece, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* A fresh tape per bad call (the first error sticks); xs holds [2,3],
 * [2,4], [3,3] and a 4-d [1,1,1,1]. */
#define EXPECT_ERROR(call, msg)                                                                    \
    do {                                                                                           \
        tg_tape *t = tg_tape_new();                                                                \
        tg_tensor *xs[4] = {tg_zeros(t, TG_SHAPE(2, 3)), tg_zeros(t, TG_SHAPE(2, 4)),              \
                            tg_zeros(t, TG_SHAPE(3, 3)), tg_zeros(t, TG_SHAPE(1, 1, 1, 1))};       \
        (void)xs;                                                                                  \
        ck_assert_ptr_null(call);                                                                  \
        ck_assert_str_eq(tg_tape_error(t), msg);                                                   \
        tg_tape_free(t);                                                                           \
    } while (0)

START_TEST(join_errors) {
    tg_tensor *with_null[3] = {NULL, NULL, NULL};
    EXPECT_ERROR(tg_concat(t, 2, xs, 0),
                 "tg_concat: xs[1] has shape [2,4] but xs[0] has [2,3]; they must match "
                 "except along axis 0");
    EXPECT_ERROR(tg_concat(t, 3, xs, -1),
                 "tg_concat: xs[2] has shape [3,3] but xs[0] has [2,3]; they must match "
                 "except along axis -1");
    EXPECT_ERROR(tg_concat(t, 4, xs, 0),
                 "tg_concat: xs[1] has shape [2,4] but xs[0] has [2,3]; they must match "
                 "except along axis 0");
    EXPECT_ERROR(tg_concat(t, 2, xs + 2, 1),
                 "tg_concat: xs[1] has shape [1,1,1,1] but xs[0] has [3,3]; they must match "
                 "except along axis 1");
    EXPECT_ERROR(tg_concat(t, 2, xs, 2), "tg_concat: axis 2 is out of range for [2,3]");
    EXPECT_ERROR(tg_concat(t, 0, xs, 0), "tg_concat: need at least one input, got n = 0");
    EXPECT_ERROR(tg_concat(t, 1, NULL, 0),
                 "tg_concat: need at least one input, got n = 1 and NULL");
    EXPECT_ERROR((with_null[0] = xs[0], tg_concat(t, 3, with_null, 0)), "tg_concat: xs[1] is NULL");
    EXPECT_ERROR(tg_stack(t, 2, xs, 0),
                 "tg_stack: xs[1] has shape [2,4] but xs[0] has [2,3]; all must match");
    EXPECT_ERROR(tg_stack(t, 3, xs, 3),
                 "tg_stack: axis 3 is out of range for stacking [2,3] tensors");
    EXPECT_ERROR(tg_stack(t, 3, xs, -4),
                 "tg_stack: axis -4 is out of range for stacking [2,3] tensors");
    EXPECT_ERROR(tg_stack(t, 1, xs + 3, 0),
                 "tg_stack: cannot stack [1,1,1,1] tensors: the result would have 5 "
                 "dimensions (at most 4)");
    EXPECT_ERROR(tg_stack(t, -1, xs, 0), "tg_stack: need at least one input, got n = -1");
}
END_TEST

/* ---- gradchecks: inputs a [2,3], b [2,4], c [4,2] (used transposed) ----- */

static tg_tensor *f_concat(tg_tape *t, tg_tensor *const *in, void *ctx) {
    switch ((int)(intptr_t)ctx) {
    case 0: { /* along the last axis, one input strided, one used twice */
        tg_tensor *xs[4] = {in[0], in[1], tg_transpose(t, in[2], 0, -1), in[0]};
        return tg_concat(t, 4, xs, -1);
    }
    case 1: { /* along axis 0, with a tape tensor that takes no gradient */
        tg_tensor *xs[3] = {tg_transpose(t, in[0], 0, 1), tg_ones(t, TG_SHAPE(1, 2)), in[2]};
        return tg_concat(t, 3, xs, 0);
    }
    default: { /* a narrow of the concat: only part of it gets gradient */
        tg_tensor *xs[2] = {in[1], tg_transpose(t, in[2], 0, 1)};
        return tg_narrow(t, tg_concat(t, 2, xs, 1), 1, 2, 5);
    }
    }
}

static tg_tensor *f_stack(tg_tape *t, tg_tensor *const *in, void *ctx) {
    int axis = (int)(intptr_t)ctx - 3; /* -3 .. 2 */
    tg_tensor *xs[4] = {in[0], tg_narrow(t, in[1], 1, 1, 3),
                        tg_transpose(t, tg_narrow(t, in[2], 0, 0, 3), 0, 1), in[0]};
    return tg_stack(t, 4, xs, axis);
}

START_TEST(gradcheck_join) {
    tg_rng r;
    tg_rng_seed(&r, 21);
    tg_tensor *in[3] = {test_param(&r, TG_SHAPE(2, 3)), test_param(&r, TG_SHAPE(2, 4)),
                        test_param(&r, TG_SHAPE(4, 2))};
    for (intptr_t c = 0; c < 3; c++) {
        tg_tape *t = tg_tape_new();
        ck_assert_msg(f_concat(t, in, (void *)c) != NULL, "%s", tg_tape_error(t));
        tg_tape_free(t);
        ck_assert_gradcheck(f_concat, (void *)c, 3, in);
    }
    for (intptr_t c = 0; c < 6; c++) {
        tg_tape *t = tg_tape_new();
        ck_assert_msg(f_stack(t, in, (void *)c) != NULL, "%s", tg_tape_error(t));
        tg_tape_free(t);
        ck_assert_gradcheck(f_stack, (void *)c, 3, in);
    }
    for (int i = 0; i < 3; i++) tg_tensor_free(in[i]);
}
END_TEST

/* Backward slices the gradient back: each input gets exactly its block. */
START_TEST(concat_backward_blocks) {
    tg_tape *t = tg_tape_new();
    tg_tensor *a = tg_zeros(t, TG_SHAPE(2, 1)), *b = tg_zeros(t, TG_SHAPE(2, 2));
    a->requires_grad = b->requires_grad = true;
    tg_tensor *xs[3] = {b, a, b};
    tg_tensor *y = tg_concat(t, 3, xs, 1); /* [2,5] */
    tg_real g[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ck_assert_int_eq(tg_backward_grad(t, y, g), 0);
    tg_real ag[2] = {3, 8}, bg[4] = {1 + 4, 2 + 5, 6 + 9, 7 + 10};
    for (int i = 0; i < 2; i++) ck_assert_close(a->grad[i], ag[i], TG_TOL);
    for (int i = 0; i < 4; i++) ck_assert_close(b->grad[i], bg[i], TG_TOL);
    tg_tape_free(t);
}
END_TEST

TCase *tcase_ops_join(void) {
    TCase *tc = tcase_create("ops_join");
    tcase_add_test(tc, concat_values);
    tcase_add_test(tc, stack_values);
    tcase_add_test(tc, join_errors);
    tcase_add_test(tc, gradcheck_join);
    tcase_add_test(tc, concat_backward_blocks);
    return tc;
}
