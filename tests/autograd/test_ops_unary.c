/* Elementwise unary ops: values against PyTorch (float64) numbers, strided
 * inputs, the edge cases (large |x| in sigmoid, kinks, NaN domains), error
 * messages, and a gradcheck for every op. */
#include "testutil.h"

/* The ops by number, so one gradcheck function and one loop cover them. */
enum { NEG, SCALE, ADD_SCALAR, EXP, LOG, TANH, SIGMOID, RELU, POW, SQUARE, SQRT, ABS, CLAMP };

typedef struct unary_case {
    int op;
    double a, b; /* scale, scalar, exponent, or clamp bounds */
} unary_case;

static tg_tensor *apply(tg_tape *t, tg_tensor *x, const unary_case *c) {
    switch (c->op) {
    case NEG: return tg_neg(t, x);
    case SCALE: return tg_scale(t, x, c->a);
    case ADD_SCALAR: return tg_add_scalar(t, x, c->a);
    case EXP: return tg_exp(t, x);
    case LOG: return tg_log(t, x);
    case TANH: return tg_tanh(t, x);
    case SIGMOID: return tg_sigmoid(t, x);
    case RELU: return tg_relu(t, x);
    case POW: return tg_pow(t, x, c->a);
    case SQUARE: return tg_square(t, x);
    case SQRT: return tg_sqrt(t, x);
    case ABS: return tg_abs(t, x);
    default: return tg_clamp(t, x, c->a, c->b);
    }
}

/* x = [-1.5, -0.25, 0.5, 2]; positive ops use [0.25, 0.5, 2, 3]. Expected
 * values from torch (float64). */
START_TEST(forward_values) {
    tg_tape *t = tg_tape_new();
    tg_real xv[4] = {-1.5, -0.25, 0.5, 2}, pv[4] = {0.25, 0.5, 2, 3};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(2, 2), xv);
    tg_tensor *p = tg_from_array(t, TG_SHAPE(4), pv);
    tg_real neg[4] = {1.5, 0.25, -0.5, -2}, sc[4] = {-3.75, -0.625, 1.25, 5};
    tg_real adds[4] = {-2.5, -1.25, -0.5, 1};
    tg_real ex[4] = {0.22313016014842982, 0.7788007830714049, 1.6487212707001282,
                     7.38905609893065};
    tg_real th[4] = {-0.9051482536448664, -0.24491866240370913, 0.46211715726000974,
                     0.9640275800758169};
    tg_real sg[4] = {0.18242552380635635, 0.43782349911420193, 0.6224593312018546,
                     0.8807970779778823};
    tg_real relu[4] = {0, 0, 0.5, 2}, sq[4] = {2.25, 0.0625, 0.25, 4};
    tg_real ab[4] = {1.5, 0.25, 0.5, 2}, cl[4] = {-0.5, -0.25, 0.5, 1};
    tg_real cube[4] = {-3.375, -0.015625, 0.125, 8};
    tg_real lg[4] = {-1.3862943611198906, -0.6931471805599453, 0.6931471805599453,
                     1.0986122886681098};
    tg_real sr[4] = {0.5, 0.7071067811865476, 1.4142135623730951, 1.7320508075688772};
    tg_real p15[4] = {0.125, 0.3535533905932738, 2.8284271247461903, 5.196152422706632};
    tg_real pm05[4] = {2.0, 1.414213562373095, 0.7071067811865475, 0.5773502691896258};
    ck_assert_tensor(tg_neg(t, x), neg, TG_TOL);
    ck_assert_tensor(tg_scale(t, x, 2.5), sc, TG_TOL);
    ck_assert_tensor(tg_add_scalar(t, x, -1), adds, TG_TOL);
    ck_assert_tensor(tg_exp(t, x), ex, TG_TOL);
    ck_assert_tensor(tg_tanh(t, x), th, TG_TOL);
    ck_assert_tensor(tg_sigmoid(t, x), sg, TG_TOL);
    ck_assert_tensor(tg_relu(t, x), relu, TG_TOL);
    ck_assert_tensor(tg_square(t, x), sq, TG_TOL);
    ck_assert_tensor(tg_abs(t, x), ab, TG_TOL);
    ck_assert_tensor(tg_clamp(t, x, -0.5, 1), cl, TG_TOL);
    ck_assert_tensor(tg_pow(t, x, 3), cube, TG_TOL);
    ck_assert_tensor(tg_log(t, p), lg, TG_TOL);
    ck_assert_tensor(tg_sqrt(t, p), sr, TG_TOL);
    ck_assert_tensor(tg_pow(t, p, 1.5), p15, TG_TOL);
    ck_assert_tensor(tg_pow(t, p, -0.5), pm05, TG_TOL);
    /* the output keeps x's shape */
    tg_tensor *y = tg_exp(t, x);
    ck_assert_int_eq(y->ndim, 2);
    ck_assert_int_eq(y->shape[0], 2);
    ck_assert_int_eq(y->shape[1], 2);
    /* a 0-d input gives a 0-d output */
    tg_real half = 0.5;
    tg_tensor *s = tg_sqrt(t, tg_from_array(t, TG_SCALAR, &half));
    ck_assert_int_eq(s->ndim, 0);
    ck_assert_close(s->data[0], 0.7071067811865476, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    /* nothing required grad: no nodes */
    ck_assert_int_eq((int)tg_tape_node_count(t), 0);
    tg_tape_free(t);
}
END_TEST

/* A [3,2] view over a [2,3] buffer (strides {1,3}): [[1,4],[2,5],[3,6]].
 * Results are contiguous in the view's row-major order, and the gradient
 * arrives in the view's order too. */
static tg_tensor *transposed_view(tg_tape *t) {
    tg_tensor *v = tg_arange(t, 1, 7, 1);
    v->ndim = 2;
    v->shape[0] = 3, v->shape[1] = 2;
    v->stride[0] = 1, v->stride[1] = 3;
    return v;
}

START_TEST(strided_input) {
    tg_tape *t = tg_tape_new();
    tg_tensor *v = transposed_view(t);
    tg_real sq[6] = {1, 16, 4, 25, 9, 36}, neg[6] = {-1, -4, -2, -5, -3, -6};
    tg_real cl[6] = {2, 4, 2, 5, 3, 5}, pl[6] = {1.5, 4.5, 2.5, 5.5, 3.5, 6.5};
    tg_tensor *y = tg_square(t, v);
    ck_assert_tensor(y, sq, TG_TOL);
    /* checked on the raw buffer too: the output is contiguous row-major */
    for (int i = 0; i < 6; i++) ck_assert_close(y->data[i], sq[i], TG_TOL);
    ck_assert_int_eq(y->stride[0], 2);
    ck_assert_int_eq(y->stride[1], 1);
    ck_assert_tensor(tg_neg(t, v), neg, TG_TOL);
    ck_assert_tensor(tg_clamp(t, v, 2, 5), cl, TG_TOL);
    ck_assert_tensor(tg_add_scalar(t, v, 0.5), pl, TG_TOL);
    tg_real back[6] = {1, 4, 2, 5, 3, 6}; /* sqrt(v^2) is the view itself */
    ck_assert_tensor(tg_sqrt(t, y), back, TG_TOL);

    /* backward into a strided leaf: d sum(w * clamp(v^2, 2, 20)) / dv */
    v->requires_grad = true;
    tg_tensor *z = tg_clamp(t, tg_square(t, v), 2, 20);
    tg_real w[6] = {1, 2, 3, 4, 5, 6};
    ck_assert_int_eq(tg_backward_grad(t, z, w), 0);
    /* view values 1,4,2,5,3,6 -> squares 1,16,4,25,9,36: 1 and 25, 36 are clamped */
    tg_real gv[6] = {0, 2 * 4 * 2, 3 * 2 * 2, 0, 5 * 2 * 3, 0};
    for (int i = 0; i < 6; i++) ck_assert_close(v->grad[i], gv[i], TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Sigmoid at +-1000 neither overflows nor gives NaN, forward or backward;
 * tanh and exp saturate as expected too. */
START_TEST(sigmoid_large_inputs) {
    tg_tape *t = tg_tape_new();
    tg_real xv[4] = {-1000, 1000, -50, 50};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(4), xv);
    x->requires_grad = true;
    tg_tensor *y = tg_sigmoid(t, x);
    tg_real ye[4] = {0, 1, 1.928749847963918e-22, 1};
    ck_assert_tensor(y, ye, TG_TOL);
    ck_assert_close(y->data[2] / 1.928749847963918e-22, 1, 1e-5); /* relative, not absolute */
    tg_real ones[4] = {1, 1, 1, 1};
    ck_assert_int_eq(tg_backward_grad(t, y, ones), 0);
    for (int i = 0; i < 4; i++) ck_assert(isfinite(x->grad[i]));
    ck_assert_close(x->grad[0], 0, TG_TOL);
    ck_assert_close(x->grad[1], 0, TG_TOL);
    ck_assert_close(x->grad[2] / 1.928749847963918e-22, 1, 1e-5);
    tg_tensor *th = tg_tanh(t, x);
    tg_real the[4] = {-1, 1, -1, 1};
    ck_assert_tensor(th, the, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Gradients at the kinks and domain edges follow PyTorch: relu'(0) = 0,
 * abs'(0) = 0, clamp passes the gradient at lo and hi themselves, pow with
 * p = 0 has gradient 0 even at x = 0, and pow of a negative x with a
 * non-integer p is NaN. */
START_TEST(kinks_and_domains) {
    tg_tape *t = tg_tape_new();
    tg_real xv[5] = {-1, 0, 0.5, 1, 2};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(5), xv);
    x->requires_grad = true;
    tg_real g[5] = {1, 1, 1, 1, 1};
    struct {
        unary_case c;
        tg_real grad[5];
    } cases[] = {
        {{RELU, 0, 0}, {0, 0, 1, 1, 1}},
        {{ABS, 0, 0}, {-1, 0, 1, 1, 1}},
        {{CLAMP, 0, 1}, {0, 1, 1, 1, 0}}, /* bounds 0 and 1 included */
        {{CLAMP, -INFINITY, 0.5}, {1, 1, 1, 0, 0}},
        {{POW, 0, 0}, {0, 0, 0, 0, 0}},
        {{POW, 1, 0}, {1, 1, 1, 1, 1}},
        {{POW, 3, 0}, {3, 0, 0.75, 3, 12}},
        {{SQUARE, 0, 0}, {-2, 0, 1, 2, 4}},
        {{NEG, 0, 0}, {-1, -1, -1, -1, -1}},
        {{SCALE, -3, 0}, {-3, -3, -3, -3, -3}},
        {{ADD_SCALAR, 7, 0}, {1, 1, 1, 1, 1}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        /* backward adds into what the gradient already holds */
        tg_real acc[5] = {100, 100, 100, 100, 100};
        x->grad = acc;
        tg_tensor *y = apply(t, x, &cases[k].c);
        ck_assert_int_eq(tg_backward_grad(t, y, g), 0);
        for (int i = 0; i < 5; i++)
            ck_assert_msg(acc[i] == 100 + cases[k].grad[i], "case %zu: grad[%d] = 100 + %g, "
                          "expected 100 + %g", k, i, (double)acc[i] - 100,
                          (double)cases[k].grad[i]);
    }
    x->grad = NULL;
    tg_tensor *p0 = tg_pow(t, x, 0);
    for (int i = 0; i < 5; i++) ck_assert(p0->data[i] == 1); /* 0^0 = 1 */
    tg_tensor *ph = tg_pow(t, x, 0.5);
    ck_assert(isnan(ph->data[0]));
    ck_assert(ph->data[1] == 0);
    ck_assert(isnan(tg_sqrt(t, x)->data[0]));
    ck_assert(isnan(tg_log(t, x)->data[0]));
    ck_assert(isinf(tg_log(t, x)->data[1]) && tg_log(t, x)->data[1] < 0);
    /* NaN passes through relu and clamp, as in torch */
    tg_real nan = NAN;
    tg_tensor *n = tg_from_array(t, TG_SHAPE(1), &nan);
    ck_assert(isnan(tg_relu(t, n)->data[0]));
    ck_assert(isnan(tg_clamp(t, n, -1, 1)->data[0]));
    ck_assert(isnan(tg_sigmoid(t, n)->data[0]));
    /* lo > hi gives hi everywhere (torch.clamp) */
    tg_real hi[5] = {0, 0, 0, 0, 0};
    ck_assert_tensor(tg_clamp(t, x, 1, 0), hi, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(null_input_errors) {
    static const char *const names[] = {"tg_neg", "tg_scale", "tg_add_scalar", "tg_exp",
                                        "tg_log", "tg_tanh", "tg_sigmoid", "tg_relu",
                                        "tg_pow", "tg_square", "tg_sqrt", "tg_abs",
                                        "tg_clamp"};
    tg_tape *t = tg_tape_new();
    for (int op = NEG; op <= CLAMP; op++) {
        tg_tape_reset(t);
        unary_case c = {op, 2, 3};
        ck_assert_ptr_null(apply(t, NULL, &c));
        char want[64];
        snprintf(want, sizeof want, "%s: input 1 is NULL", names[op]);
        ck_assert_str_eq(tg_tape_error(t), want);
        /* the tape stays in error: a good input now gives NULL too */
        tg_tensor *x = tg_ones(t, TG_SHAPE(2));
        ck_assert_ptr_null(x);
    }
    /* an error set earlier makes every op a no-op */
    tg_tape_reset(t);
    tg_tensor *x = tg_ones(t, TG_SHAPE(2));
    tg_matmul(t, x, x);
    ck_assert_ptr_nonnull(tg_tape_error(t));
    unary_case c = {TANH, 0, 0};
    ck_assert_ptr_null(apply(t, x, &c));
    tg_tape_free(t);
}
END_TEST

/* Recording: one node per op when the input requires grad and grad mode is
 * on; none under no-grad. */
START_TEST(recording) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_ones(t, TG_SHAPE(3));
    x->requires_grad = true;
    for (int op = NEG; op <= CLAMP; op++) {
        unary_case c = {op, 2, 3};
        tg_tensor *y = apply(t, x, &c);
        ck_assert(y->requires_grad);
        ck_assert_int_eq(y->node, op);
    }
    ck_assert_int_eq((int)tg_tape_node_count(t), CLAMP + 1);
    bool was = tg_set_grad_enabled(t, false);
    unary_case c = {EXP, 0, 0};
    tg_tensor *y = apply(t, x, &c);
    ck_assert(!y->requires_grad);
    ck_assert_int_eq((int)tg_tape_node_count(t), CLAMP + 1);
    tg_set_grad_enabled(t, was);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *f_unary(tg_tape *t, tg_tensor *const *x, void *ctx) {
    return apply(t, x[0], ctx);
}
/* op(x) + op(x): x gets two contributions, so a backward that assigns
 * instead of adding fails. */
static tg_tensor *f_unary_twice(tg_tape *t, tg_tensor *const *x, void *ctx) {
    return tg_add(t, apply(t, x[0], ctx), apply(t, x[0], ctx));
}

/* Moves every value at least `gap` away from each kink. */
static void avoid(tg_tensor *x, const double *kinks, int n, double gap) {
    for (int64_t i = 0; i < x->numel; i++)
        for (int k = 0; k < n; k++)
            if (fabs(x->data[i] - kinks[k]) < gap)
                x->data[i] = (tg_real)(kinks[k] + (x->data[i] < kinks[k] ? -gap : gap));
}

/* Every op, on several shapes (0-d to 4-d, the [3,4] one as op(x) + op(x));
 * log, sqrt and non-integer pow on positive inputs; relu, abs and clamp away
 * from their kinks. */
START_TEST(gradcheck_unary) {
    tg_rng r;
    tg_rng_seed(&r, 11);
    unary_case cases[] = {
        {NEG, 0, 0},    {SCALE, -2.5, 0}, {ADD_SCALAR, 3, 0}, {EXP, 0, 0},
        {LOG, 0, 0},    {TANH, 0, 0},     {SIGMOID, 0, 0},    {RELU, 0, 0},
        {POW, 3, 0},    {POW, 2, 0},      {POW, 0.5, 0},      {POW, -1.5, 0},
        {POW, 0, 0},    {SQUARE, 0, 0},   {SQRT, 0, 0},       {ABS, 0, 0},
        {CLAMP, -0.5, 0.5}, {CLAMP, -INFINITY, 0.25},
    };
    tg_shape shapes[] = {TG_SCALAR, TG_SHAPE(5), TG_SHAPE(3, 4), TG_SHAPE(2, 1, 3, 2)};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            unary_case *uc = &cases[c];
            tg_tensor *x = test_param(&r, shapes[s]);
            x->data[0] = 0.7; /* the only element of a 0-d input: away from every kink */
            bool positive = uc->op == LOG || uc->op == SQRT ||
                            (uc->op == POW && uc->a != floor(uc->a));
            if (positive) /* [0.5, 1.5] */
                for (int64_t i = 0; i < x->numel; i++) x->data[i] = x->data[i] / 2 + 1;
            if (uc->op == RELU || uc->op == ABS) avoid(x, (double[]){0}, 1, 0.05);
            if (uc->op == CLAMP) {
                avoid(x, (double[]){uc->a, uc->b}, 2, 0.05);
                if (x->numel > 1) x->data[1] = -0.9; /* below lo = -0.5: a zero gradient */
            }
            if (s == 2)
                ck_assert_gradcheck(f_unary_twice, uc, 1, &x);
            else
                ck_assert_gradcheck(f_unary, uc, 1, &x);
            tg_tensor_free(x);
        }
}
END_TEST

TCase *tcase_ops_unary(void) {
    TCase *tc = tcase_create("ops_unary");
    tcase_add_test(tc, forward_values);
    tcase_add_test(tc, strided_input);
    tcase_add_test(tc, sigmoid_large_inputs);
    tcase_add_test(tc, kinks_and_domains);
    tcase_add_test(tc, null_input_errors);
    tcase_add_test(tc, recording);
    tcase_add_test(tc, gradcheck_unary);
    return tc;
}
