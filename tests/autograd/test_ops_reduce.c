/* sum, mean, sum_axis, mean_axis, max_axis: values against PyTorch (from
 * gen_ops_reference.py) over every axis of a 3-d tensor, with keepdim and
 * negative axes, strided inputs, double accumulation, errors, gradchecks. */
#include "testutil.h"

/* X3 [2,3,4] = X3Q / 4: distinct values, no ties (gen_ops_reference.py) */
static const int X3Q[24] = {11, 2,  -2, 10,  7,  -1, -7,  1, -5, -8, 12, -6,
                            4,  -9, 6,  -10, -4, 3,  -11, 5, 9,  0,  -3, 8};

/* ---- reference values: torch, double (gen_ops_reference.py) ---- */
// clang-format off
static const double SUM_ALL[1] = {3};
static const double MEAN_ALL[1] = {0.125};
static const double SUM_AX0[12] = {
    3.75, -1.75, 1, 0,
    0.75, 0.5, -4.5, 1.5,
    1, -2, 2.25, 0.5};
static const double MEAN_AX0[12] = {
    1.875, -0.875, 0.5, 0,
    0.375, 0.25, -2.25, 0.75,
    0.5, -1, 1.125, 0.25};
static const double MAX_AX0[12] = {
    2.75, 0.5, 1.5, 2.5,
    1.75, 0.75, -1.75, 1.25,
    2.25, 0, 3, 2};
static const double ARGMAX_AX0[12] = {
    0, 0, 1, 0,
    0, 1, 0, 1,
    1, 1, 0, 1};
static const double SUM_AX1[8] = {
    3.25, -1.75, 0.75, 1.25,
    2.25, -1.5, -2, 0.75};
static const double MEAN_AX1[8] = {
    1.0833333333333333, -0.58333333333333337, 0.25, 0.41666666666666669,
    0.75, -0.5, -0.66666666666666663, 0.25};
static const double MAX_AX1[8] = {
    2.75, 0.5, 3, 2.5,
    2.25, 0.75, 1.5, 2};
static const double ARGMAX_AX1[8] = {
    0, 0, 2, 0,
    2, 1, 0, 2};
static const double SUM_AX2[6] = {
    5.25, 0, -1.75, -2.25,
    -1.75, 3.5};
static const double MEAN_AX2[6] = {
    1.3125, 0, -0.4375, -0.5625,
    -0.4375, 0.875};
static const double MAX_AX2[6] = {
    2.75, 1.75, 3, 1.5,
    1.25, 2.25};
static const double ARGMAX_AX2[6] = {
    0, 0, 2, 2,
    3, 0};
// clang-format on

static tg_tensor *make_x3(tg_tape *t) {
    tg_real v[24];
    for (int i = 0; i < 24; i++) v[i] = (tg_real)X3Q[i] / 4;
    return tg_from_array(t, TG_SHAPE(2, 3, 4), v);
}

/* x [2,3,4] seen as [4,3,2] (x.permute(2,1,0)): a strided view, made by
 * hand so these tests depend on no view op. */
static tg_tensor *permuted_view(tg_tape *t, tg_tensor *x) {
    tg_tensor *v = tg_detach(t, x);
    v->shape[0] = 4, v->shape[1] = 3, v->shape[2] = 2;
    v->stride[0] = 1, v->stride[1] = 4, v->stride[2] = 12;
    return v;
}

START_TEST(sum_mean_all) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = make_x3(t);
    tg_tensor *s = tg_sum(t, x), *m = tg_mean(t, x);
    ck_assert_int_eq(s->ndim, 0);
    ck_assert_int_eq(s->numel, 1);
    ck_assert_int_eq(m->ndim, 0);
    ck_assert_tensor(s, SUM_ALL, TG_TOL);
    ck_assert_tensor(m, MEAN_ALL, TG_TOL);
    ck_assert_tensor(tg_sum(t, permuted_view(t, x)), SUM_ALL, TG_TOL);
    /* of a 0-d tensor: itself */
    tg_real five = 5;
    ck_assert_close(tg_mean(t, tg_from_array(t, TG_SCALAR, &five))->data[0], 5, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Every axis (given as 0..2 and as -3..-1), with and without keepdim. */
START_TEST(axis_values) {
    const double *sums[3] = {SUM_AX0, SUM_AX1, SUM_AX2};
    const double *means[3] = {MEAN_AX0, MEAN_AX1, MEAN_AX2};
    const double *maxes[3] = {MAX_AX0, MAX_AX1, MAX_AX2};
    const int64_t dims[3] = {2, 3, 4};
    tg_tape *t = tg_tape_new();
    tg_tensor *x = make_x3(t);
    for (int ax = 0; ax < 3; ax++)
        for (int neg = 0; neg < 2; neg++)
            for (int keep = 0; keep < 2; keep++) {
                int axis = neg ? ax - 3 : ax;
                tg_tensor *r[3] = {tg_sum_axis(t, x, axis, keep), tg_mean_axis(t, x, axis, keep),
                                   tg_max_axis(t, x, axis, keep)};
                const double *expect[3] = {sums[ax], means[ax], maxes[ax]};
                for (int k = 0; k < 3; k++) {
                    ck_assert_ptr_nonnull(r[k]);
                    ck_assert_int_eq(r[k]->ndim, keep ? 3 : 2);
                    for (int d = 0, e = 0; d < 3; d++) {
                        if (d == ax && !keep) continue;
                        ck_assert_int_eq(r[k]->shape[e++], d == ax ? 1 : dims[d]);
                    }
                    ck_assert_int_eq(r[k]->numel, 24 / dims[ax]);
                    ck_assert_tensor(r[k], expect[k], TG_TOL);
                }
            }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* A strided input gives what its contiguous copy gives, on every axis; and
 * its gradient lands in the view's own (row-major) layout. */
START_TEST(strided_input) {
    tg_tape *t = tg_tape_new();
    tg_tensor *v = permuted_view(t, make_x3(t));
    tg_tensor *c = tg_empty(t, TG_SHAPE(4, 3, 2));
    ck_assert(tg_copy(c, v));
    ck_assert_double_eq(tg_at(c, 1), (double)X3Q[12] / 4); /* c[0,0,1] = x[1,0,0] */
    for (int ax = 0; ax < 3; ax++) {
        tg_tensor *pairs[3][2] = {{tg_sum_axis(t, v, ax, false), tg_sum_axis(t, c, ax, false)},
                                  {tg_mean_axis(t, v, ax, true), tg_mean_axis(t, c, ax, true)},
                                  {tg_max_axis(t, v, ax, false), tg_max_axis(t, c, ax, false)}};
        for (int k = 0; k < 3; k++) {
            double e[24];
            for (int64_t i = 0; i < pairs[k][1]->numel; i++) e[i] = tg_at(pairs[k][1], i);
            ck_assert_tensor(pairs[k][0], e, TG_TOL);
        }
    }
    /* d max(v, axis 2)/dv: one-hot at the larger of each pair along axis 2 */
    v->requires_grad = true;
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_max_axis(t, v, 2, false))), 0);
    for (int64_t i = 0; i < 24; i += 2) {
        bool first = tg_at(c, i) > tg_at(c, i + 1);
        ck_assert_double_eq(v->grad[i], first ? 1 : 0);
        ck_assert_double_eq(v->grad[i + 1], first ? 0 : 1);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* The gradient of max goes to the element torch's argmax names, and on
 * ties to the first maximal element. */
START_TEST(max_gradient_goes_to_argmax) {
    const double *args[3] = {ARGMAX_AX0, ARGMAX_AX1, ARGMAX_AX2};
    const int64_t dims[3] = {2, 3, 4}, inner[3] = {12, 4, 1};
    tg_tape *t = tg_tape_new();
    for (int ax = 0; ax < 3; ax++) {
        tg_tape_reset(t);
        tg_tensor *x = make_x3(t);
        x->requires_grad = true;
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_max_axis(t, x, ax, true))), 0);
        /* output element j = (o, i) picks x[o, args[j], i] */
        double expect[24] = {0};
        for (int64_t j = 0; j < 24 / dims[ax]; j++) {
            int64_t o = j / inner[ax], i = j % inner[ax];
            expect[(o * dims[ax] + (int64_t)args[ax][j]) * inner[ax] + i] = 1;
        }
        for (int i = 0; i < 24; i++) ck_assert_double_eq(x->grad[i], expect[i]);
    }
    tg_tape_reset(t);
    tg_real tv[6] = {1, 3, 3, 2, 2, 0};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(2, 3), tv);
    x->requires_grad = true;
    tg_real gy[2] = {10, 20};
    tg_tensor *m = tg_max_axis(t, x, -1, false);
    tg_real me[2] = {3, 2}, ge[6] = {0, 10, 0, 20, 0, 0};
    ck_assert_tensor(m, me, TG_TOL);
    ck_assert_int_eq(tg_backward_grad(t, m, gy), 0);
    for (int i = 0; i < 6; i++) ck_assert_double_eq(x->grad[i], ge[i]);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Gradients of sum and mean are constants; the gradient of sum_axis with
 * a weighted output is that weight repeated along the axis. */
START_TEST(sum_mean_gradient_values) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = make_x3(t);
    x->requires_grad = true;
    ck_assert_int_eq(tg_backward(t, tg_mean(t, x)), 0);
    for (int i = 0; i < 24; i++) ck_assert_close(x->grad[i], 1.0 / 24, TG_TOL);
    tg_real g[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tg_tensor *y = make_x3(t);
    y->requires_grad = true;
    ck_assert_int_eq(tg_backward_grad(t, tg_mean_axis(t, y, 1, false), g), 0);
    for (int i = 0; i < 24; i++) /* y[o, k, i] gets g[o, i] / 3 */
        ck_assert_close(y->grad[i], g[(i / 12) * 4 + i % 4] / 3, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* 1e8 followed by 1000 ones: a float accumulator stays at 1e8 (its spacing
 * there is 8); a double one gets 100001000, which float holds exactly. */
START_TEST(sums_accumulate_in_double) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_ones(t, TG_SHAPE(1, 1001));
    x->data[0] = (tg_real)1e8;
    ck_assert_double_eq(tg_sum(t, x)->data[0], 100001000.0);
    ck_assert_double_eq(tg_sum_axis(t, x, 1, false)->data[0], 100001000.0);
    ck_assert_double_eq(tg_mean_axis(t, x, -1, true)->data[0], (tg_real)(100001000.0 / 1001));
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Empty tensors: sums are 0, means NaN (both as in PyTorch). */
START_TEST(empty_inputs) {
    tg_tape *t = tg_tape_new();
    tg_tensor *e = tg_zeros(t, TG_SHAPE(2, 0));
    ck_assert_double_eq(tg_sum(t, e)->data[0], 0);
    ck_assert(isnan(tg_mean(t, e)->data[0]));
    tg_tensor *s = tg_sum_axis(t, e, 1, false), *m = tg_mean_axis(t, e, 1, false);
    ck_assert_int_eq(s->numel, 2);
    ck_assert_double_eq(s->data[0], 0);
    ck_assert(isnan(m->data[1]));
    ck_assert_int_eq(tg_sum_axis(t, e, 0, false)->numel, 0);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(errors) {
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_null(tg_sum_axis(t, make_x3(t), 3, false));
    ck_assert_str_eq(tg_tape_error(t), "tg_sum_axis: axis 3 is out of range for [2,3,4]");
    ck_assert_ptr_null(tg_sum(t, make_x3(t))); /* the tape stays in error */
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_mean_axis(t, make_x3(t), -4, true));
    ck_assert_str_eq(tg_tape_error(t), "tg_mean_axis: axis -4 is out of range for [2,3,4]");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_max_axis(t, tg_zeros(t, TG_SHAPE(2, 0, 3)), -2, false));
    ck_assert_str_eq(tg_tape_error(t), "tg_max_axis: axis -2 of [2,0,3] is empty");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_sum_axis(t, tg_zeros(t, TG_SCALAR), 0, false));
    ck_assert_str_eq(tg_tape_error(t), "tg_sum_axis: axis 0 is out of range for []");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_mean(t, NULL));
    ck_assert_str_eq(tg_tape_error(t), "tg_mean: input 1 is NULL");
    tg_tape_free(t);
}
END_TEST

/* ---- gradchecks (double build) ---- */

typedef struct axis_ctx {
    int op; /* 0 sum, 1 mean, 2 max */
    int axis;
    bool keepdim;
} axis_ctx;

static tg_tensor *f_sum(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_sum(t, x[0]);
}
static tg_tensor *f_mean(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_mean(t, x[0]);
}
static tg_tensor *f_axis(tg_tape *t, tg_tensor *const *x, void *c) {
    const axis_ctx *a = c;
    switch (a->op) {
    case 0: return tg_sum_axis(t, x[0], a->axis, a->keepdim);
    case 1: return tg_mean_axis(t, x[0], a->axis, a->keepdim);
    default: return tg_max_axis(t, x[0], a->axis, a->keepdim);
    }
}
/* a reduction feeding another op: the gradient must flow through both */
static tg_tensor *f_chain(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    /* x [3,4]: mean([3,1] row sums * [1,4] column maxes) */
    tg_tensor *m = tg_max_axis(t, x[0], 0, true);
    return tg_mean(t, tg_mul(t, tg_sum_axis(t, x[0], 1, true), m));
}

/* the reductions of a strided view (x [4,3,2] transposed to [2,3,4]) */
static tg_tensor *f_axis_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    tg_tensor *xt = tg_transpose(t, x[0], 0, 2);
    return f_axis(t, &xt, c);
}

START_TEST(gradchecks) {
    tg_rng r;
    tg_rng_seed(&r, 11);
    tg_tensor *x = test_param(&r, TG_SHAPE(2, 3, 4));
    ck_assert_gradcheck(f_sum, NULL, 1, &x);
    ck_assert_gradcheck(f_mean, NULL, 1, &x);
    /* uniform random values: ties (within eps) do not occur at this seed */
    for (int op = 0; op < 3; op++)
        for (int axis = -3; axis < 3; axis++)
            for (int keep = 0; keep < 2; keep++) {
                axis_ctx c = {op, axis, keep};
                ck_assert_gradcheck(f_axis, &c, 1, &x);
            }
    tg_tensor *x4 = test_param(&r, TG_SHAPE(2, 3, 2, 2));
    for (int op = 0; op < 3; op++) {
        axis_ctx c = {op, 2, false};
        ck_assert_gradcheck(f_axis, &c, 1, &x4);
    }
    tg_tensor *xs = test_param(&r, TG_SHAPE(4, 3, 2));
    for (int op = 0; op < 3; op++)
        for (int axis = -1; axis < 3; axis++) {
            axis_ctx c = {op, axis, axis == 1};
            ck_assert_gradcheck(f_axis_transposed, &c, 1, &xs);
        }
    tg_tensor *x2 = test_param(&r, TG_SHAPE(3, 4));
    ck_assert_gradcheck(f_chain, NULL, 1, &x2);
    tg_tensor_free(x);
    tg_tensor_free(x4);
    tg_tensor_free(xs);
    tg_tensor_free(x2);
}
END_TEST

TCase *tcase_ops_reduce(void) {
    TCase *tc = tcase_create("ops_reduce");
    tcase_add_test(tc, sum_mean_all);
    tcase_add_test(tc, axis_values);
    tcase_add_test(tc, strided_input);
    tcase_add_test(tc, max_gradient_goes_to_argmax);
    tcase_add_test(tc, sum_mean_gradient_values);
    tcase_add_test(tc, sums_accumulate_in_double);
    tcase_add_test(tc, empty_inputs);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, gradchecks);
    return tc;
}
