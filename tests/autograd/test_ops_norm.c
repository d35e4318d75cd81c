/* layer_norm: values and gradients against PyTorch
 * (gen_layer_norm_reference.py), the composed form's numbers (sub,
 * mean_axis, square, sqrt, div, mul, add) over many rows and blocks, the
 * same bits at 1 and 2 threads, errors, gradchecks. */
#include "testutil.h"

/* ---- reference values: torch, double (gen_layer_norm_reference.py) ---- */
static const int XQ[15] = {11, 2, -2, 10, 7, -1, -7, 1, -5, -8, 12, -6, 4, -9, 6};
static const int WQ[15] = {3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8, 9, -7, 9};
static const double GAIN[5] = {0.5, 1.5, -1.0, 2.0, 1.0};
static const double BIAS[5] = {0.25, -0.5, 0.0, 1.0, -1.25};
// clang-format off
static const double LN_Y[15] = {0.7983982031070385, -1.5967964062140765, 1.5436393865235154, 2.7873719212377552, -0.9656453761667206, 0.6830098151697406, -1.7990294455092217, -1.443366050565802, 0.42265357977367923, -2.4046928404526415, 0.9306058855458518, -1.9254198735016896, -0.33388213253192733, -1.6710570602554187, -0.6592854578281286};
static const double LN_DX[15] = {0.08773100041439974, 0.12769724151933298, 0.02697892207988145, 0.17680104620183654, -0.4192082102154507, -0.20567845941662177, -0.24176501625877678, -0.04931300207932332, 0.7084517688897128, -0.21169529113499086, -0.21115373409096594, 0.903974492762302, -0.5466794033521103, -0.7347510462459227, 0.5886096909266968};
static const double LN_DGAIN[5] = {0.5348133795298805, -1.0753851227348237, -1.478726832087691, 1.09987745261838, 0.053822404877815117};
static const double LN_DBIAS[5] = {0.875, 1.125, 0.875, -0.125, 0.875};
// clang-format on

static tg_tensor *param_of(const double *v, int n, double scale, tg_shape s) {
    tg_tensor *p = tg_param_new(s);
    for (int i = 0; i < n; i++) p->data[i] = (tg_real)(v[i] * scale);
    return p;
}

START_TEST(values_against_torch) {
    double xv[15], wv[15];
    for (int i = 0; i < 15; i++) xv[i] = XQ[i], wv[i] = WQ[i];
    tg_tensor *x = param_of(xv, 15, 0.25, TG_SHAPE(3, 5));
    tg_tensor *g = param_of(GAIN, 5, 1, TG_SHAPE(5)), *b = param_of(BIAS, 5, 1, TG_SHAPE(5));
    tg_tape *t = tg_tape_new();
    tg_tensor *wt = tg_empty(t, TG_SHAPE(3, 5));
    for (int i = 0; i < 15; i++) wt->data[i] = (tg_real)(wv[i] / 8);
    tg_tensor *y = tg_layer_norm(t, x, g, b, 1e-5);
    ck_assert_tensor(y, LN_Y, TG_TOL);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, wt))), 0);
    ck_assert_msg(tg_tape_error(t) == NULL, "%s", tg_tape_error(t));
    for (int i = 0; i < 15; i++) ck_assert_close(x->grad[i], LN_DX[i], TG_TOL);
    for (int i = 0; i < 5; i++) {
        ck_assert_close(g->grad[i], LN_DGAIN[i], TG_TOL);
        ck_assert_close(b->grad[i], LN_DBIAS[i], TG_TOL);
    }
    tg_tape_free(t);
    tg_tensor_free(x), tg_tensor_free(g), tg_tensor_free(b);
}
END_TEST

/* The composed form a cell wrote before the op (nn/cell_variant_steps.c). */
static tg_tensor *composed(tg_tape *t, tg_tensor *x, tg_tensor *g, tg_tensor *b, double eps) {
    int ax = x->ndim - 1;
    tg_tensor *xc = tg_sub(t, x, tg_mean_axis(t, x, ax, true));
    tg_tensor *var = tg_mean_axis(t, tg_square(t, xc), ax, true);
    tg_tensor *y = tg_div(t, xc, tg_sqrt(t, tg_add_scalar(t, var, eps)));
    if (g) y = tg_mul(t, y, g);
    return b ? tg_add(t, y, b) : y;
}

typedef struct ln_run {
    tg_tape *t;
    tg_tensor *y;
} ln_run;

/* y and the gradients of sum(y * w) for one form, x's and the params'
 * gradients zeroed first. */
static ln_run run_form(bool op, tg_tensor *x, tg_tensor *g, tg_tensor *b, const tg_tensor *w) {
    tg_tensor *ps[3] = {x, g, b};
    for (int k = 0; k < 3; k++)
        if (ps[k]) tg_zero_grad(ps[k]);
    ln_run r = {tg_tape_new(), NULL};
    tg_tensor *wt = tg_empty(r.t, tg_tensor_shape(w));
    memcpy(wt->data, w->data, (size_t)w->numel * sizeof *wt->data);
    r.y = op ? tg_layer_norm(r.t, x, g, b, 1e-5) : composed(r.t, x, g, b, 1e-5);
    ck_assert_int_eq(tg_backward(r.t, tg_sum(r.t, tg_mul(r.t, r.y, wt))), 0);
    return r;
}

/* 45 rows of 37 (three blocks of the parameters' sums, the last one
 * short), with and without gain and bias: the op equals the composed ops
 * to rounding, values and every gradient. */
START_TEST(equals_composed) {
    tg_rng r;
    tg_rng_seed(&r, 3);
    tg_tensor *x = test_param(&r, TG_SHAPE(45, 37)), *w = test_param(&r, TG_SHAPE(45, 37));
    tg_tensor *g = test_param(&r, TG_SHAPE(37)), *b = test_param(&r, TG_SHAPE(37));
    for (int64_t i = 0; i < x->numel; i++) x->data[i] = x->data[i] * 3 + (tg_real)(i % 37) / 10;
    for (int with = 0; with < 2; with++) {
        tg_tensor *gg = with ? g : NULL, *bb = with ? b : NULL;
        ln_run ref = run_form(false, x, gg, bb, w);
        tg_real *gref = malloc((size_t)(x->numel + 2 * 37) * sizeof *gref);
        memcpy(gref, x->grad, (size_t)x->numel * sizeof *gref);
        if (with) {
            memcpy(gref + x->numel, g->grad, 37 * sizeof *gref);
            memcpy(gref + x->numel + 37, b->grad, 37 * sizeof *gref);
        }
        ln_run got = run_form(true, x, gg, bb, w);
        for (int64_t i = 0; i < x->numel; i++) {
            ck_assert_close(got.y->data[i], ref.y->data[i], 1e-6);
            ck_assert_close(x->grad[i], gref[i], 1e-5);
        }
        for (int64_t i = 0; with && i < 37; i++) {
            ck_assert_close(g->grad[i], gref[x->numel + i], 1e-5);
            ck_assert_close(b->grad[i], gref[x->numel + 37 + i], 1e-5);
        }
        free(gref);
        tg_tape_free(ref.t), tg_tape_free(got.t);
    }
    tg_tensor_free(x), tg_tensor_free(w), tg_tensor_free(g), tg_tensor_free(b);
}
END_TEST

/* Rows of 523 (16 of the sums' blocks of 32, then 8, then 3 alone) with
 * values of mixed sizes about an offset: y and x's gradient against the
 * same formulas evaluated in double here, the sums' blocks and the
 * multiply by 1/s within a few of tg_real's roundings (1e-6 in float). */
#ifdef TG_DOUBLE
#define TOL_WIDE 1e-12
#else
#define TOL_WIDE 1e-6
#endif
START_TEST(wide_rows_against_double) {
    enum { R = 3, W = 523 };
    tg_tensor *x = tg_param_new(TG_SHAPE(R, W)), *g = tg_param_new(TG_SHAPE(W));
    tg_tensor *b = tg_param_new(TG_SHAPE(W));
    for (int k = 0; k < R * W; k++)
        x->data[k] = (tg_real)(((k * 37) % 101 - 50) / 8.0 * (k % 5 ? 1 : 40) + 3 * (k / W));
    for (int k = 0; k < W; k++) g->data[k] = (tg_real)(0.5 + (k % 7) / 4.0), b->data[k] = (tg_real)((k % 3) - 1);
    tg_tape *t = tg_tape_new();
    tg_tensor *w = tg_empty(t, TG_SHAPE(R, W));
    for (int k = 0; k < R * W; k++) w->data[k] = (tg_real)(((k * 13) % 17 - 8) / 8.0);
    tg_tensor *y = tg_layer_norm(t, x, g, b, 1e-5);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, w))), 0);
    for (int r = 0; r < R; r++) {
        const tg_real *xr = x->data + r * W, *wr = w->data + r * W;
        double m = 0, v = 0, md = 0, mdx = 0, xh[W];
        for (int k = 0; k < W; k++) m += xr[k];
        m /= W;
        for (int k = 0; k < W; k++) v += (xr[k] - m) * (xr[k] - m);
        double s = sqrt(v / W + 1e-5);
        for (int k = 0; k < W; k++) {
            xh[k] = (xr[k] - m) / s;
            md += wr[k] * g->data[k] / W, mdx += wr[k] * g->data[k] * xh[k] / W;
        }
        for (int k = 0; k < W; k++) {
            ck_assert_close(y->data[r * W + k], xh[k] * g->data[k] + b->data[k], TOL_WIDE);
            double dx = (wr[k] * g->data[k] - md - xh[k] * mdx) / s;
            ck_assert_close(x->grad[r * W + k], dx, TOL_WIDE);
        }
    }
    tg_tape_free(t);
    tg_tensor_free(x), tg_tensor_free(g), tg_tensor_free(b);
}
END_TEST

/* 1 and 2 threads: the same bits, the parameters' sums included. */
START_TEST(same_bits_at_any_thread_count) {
    tg_rng r;
    tg_rng_seed(&r, 4);
    tg_tensor *x = test_param(&r, TG_SHAPE(70, 300)), *w = test_param(&r, TG_SHAPE(70, 300));
    tg_tensor *g = test_param(&r, TG_SHAPE(300)), *b = test_param(&r, TG_SHAPE(300));
    int before = tg_threads();
    size_t bytes = (size_t)x->numel * sizeof(tg_real);
    tg_real *keep = malloc(2 * bytes + 600 * sizeof(tg_real));
    for (int k = 1; k <= 2; k++) {
        tg_set_threads(k);
        ln_run got = run_form(true, x, g, b, w);
        if (k == 1) {
            memcpy(keep, got.y->data, bytes), memcpy((char *)keep + bytes, x->grad, bytes);
            memcpy((char *)keep + 2 * bytes, g->grad, 300 * sizeof(tg_real));
            memcpy((char *)keep + 2 * bytes + 300 * sizeof(tg_real), b->grad, 300 * sizeof(tg_real));
        } else {
            ck_assert(memcmp(keep, got.y->data, bytes) == 0);
            ck_assert(memcmp((char *)keep + bytes, x->grad, bytes) == 0);
            ck_assert(memcmp((char *)keep + 2 * bytes, g->grad, 300 * sizeof(tg_real)) == 0);
            ck_assert(memcmp((char *)keep + 2 * bytes + 300 * sizeof(tg_real), b->grad,
                             300 * sizeof(tg_real)) == 0);
        }
        tg_tape_free(got.t);
    }
    tg_set_threads(before);
    free(keep);
    tg_tensor_free(x), tg_tensor_free(w), tg_tensor_free(g), tg_tensor_free(b);
}
END_TEST

START_TEST(errors) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_zeros(t, TG_SHAPE(2, 3)), *g4 = tg_zeros(t, TG_SHAPE(4));
    ck_assert_ptr_null(tg_layer_norm(t, x, g4, NULL, 1e-5));
    ck_assert_str_eq(tg_tape_error(t), "tg_layer_norm: gain [4]: expected [3] for x [2,3]");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(2, 3));
    tg_tensor *b2 = tg_zeros(t, TG_SHAPE(1, 3));
    ck_assert_ptr_null(tg_layer_norm(t, x, NULL, b2, 1e-5));
    ck_assert_str_eq(tg_tape_error(t), "tg_layer_norm: bias [1,3]: expected [3] for x [2,3]");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(2, 3));
    ck_assert_ptr_null(tg_layer_norm(t, x, NULL, NULL, -1));
    ck_assert_str_eq(tg_tape_error(t), "tg_layer_norm: eps must be at least 0, got -1");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_layer_norm(t, NULL, NULL, NULL, 1e-5));
    ck_assert_str_eq(tg_tape_error(t), "tg_layer_norm: input 1 is NULL");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(2, 0));
    ck_assert_ptr_null(tg_layer_norm(t, x, NULL, NULL, 1e-5));
    ck_assert_str_eq(tg_tape_error(t), "tg_layer_norm: x [2,0]: expected [..., W] with W >= 1");
    tg_tape_free(t);
}
END_TEST

/* ---- gradchecks (double build) ---- */

static tg_tensor *f_ln(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_layer_norm(t, x[0], x[1], x[2], 1e-5);
}
static tg_tensor *f_ln_plain(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_layer_norm(t, x[0], NULL, NULL, 1e-3);
}
/* a strided view: x [6, 4] transposed to [4, 6] */
static tg_tensor *f_ln_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_layer_norm(t, tg_transpose(t, x[0], 0, 1), x[1], x[2], 1e-5);
}

START_TEST(gradchecks) {
    tg_rng r;
    tg_rng_seed(&r, 6);
    tg_tensor *in[3] = {test_param(&r, TG_SHAPE(2, 3, 6)), test_param(&r, TG_SHAPE(6)),
                        test_param(&r, TG_SHAPE(6))};
    ck_assert_gradcheck(f_ln, NULL, 3, in);
    ck_assert_gradcheck(f_ln_plain, NULL, 1, in);
    tg_tensor *tr[3] = {test_param(&r, TG_SHAPE(6, 4)), in[1], in[2]};
    ck_assert_gradcheck(f_ln_transposed, NULL, 3, tr);
    /* 40 rows: the parameters' sums over three blocks */
    tg_tensor *many[3] = {test_param(&r, TG_SHAPE(40, 6)), in[1], in[2]};
    ck_assert_gradcheck(f_ln, NULL, 3, many);
    for (int k = 0; k < 3; k++) tg_tensor_free(in[k]);
    tg_tensor_free(tr[0]), tg_tensor_free(many[0]);
}
END_TEST

TCase *tcase_ops_norm(void) {
    TCase *tc = tcase_create("ops_norm");
    tcase_add_test(tc, values_against_torch);
    tcase_add_test(tc, equals_composed);
    tcase_add_test(tc, wide_rows_against_double);
    tcase_add_test(tc, same_bits_at_any_thread_count);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, gradchecks);
    return tc;
}
