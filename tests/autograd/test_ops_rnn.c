/* The fused recurrent kernels: values against the cell equations, errors,
 * and gradchecks. */
#include <stdlib.h>

#include "testutil.h"

static double sig(double x) {
    return 1 / (1 + exp(-x));
}

START_TEST(lstm_gates_values) {
    tg_tape *t = tg_tape_new();
    /* B = 1, H = 2: gates i0 i1 f0 f1 g0 g1 o0 o1 */
    tg_real gv[8] = {0.5, -1, 2, 0.1, -0.3, 0.7, 1.5, -2}, cv[2] = {0.25, -0.5};
    tg_tensor *hc = tg_lstm_gates(t, tg_from_array(t, TG_SHAPE(1, 8), gv),
                                  tg_from_array(t, TG_SHAPE(1, 2), cv));
    ck_assert_ptr_nonnull(hc);
    ck_assert_int_eq(hc->ndim, 3);
    for (int j = 0; j < 2; j++) {
        double i = sig(gv[j]), f = sig(gv[2 + j]), g = tanh(gv[4 + j]), o = sig(gv[6 + j]);
        double c = f * cv[j] + i * g;
        ck_assert_close(hc->data[2 + j], c, 1e-6);
        ck_assert_close(hc->data[j], o * tanh(c), 1e-6);
    }
    tg_tape_free(t);
}
END_TEST

START_TEST(gru_gates_values) {
    tg_tape *t = tg_tape_new();
    tg_real xv[3] = {0.5, -1, 2}, hv[3] = {0.3, 0.2, -0.7}, h0 = 0.4;
    tg_tensor *out =
        tg_gru_gates(t, tg_from_array(t, TG_SHAPE(1, 3), xv), tg_from_array(t, TG_SHAPE(1, 3), hv),
                     tg_from_array(t, TG_SHAPE(1, 1), &h0));
    double r = sig(xv[0] + hv[0]), z = sig(xv[1] + hv[1]), n = tanh(xv[2] + r * hv[2]);
    ck_assert_close(out->data[0], (1 - z) * n + z * h0, 1e-6);
    tg_tape_free(t);
}
END_TEST

START_TEST(fast_math_is_accurate) {
    /* the float build's polynomial exp/tanh against libm over a wide range */
    tg_tape *t = tg_tape_new();
    enum { N = 2001 };
    tg_real g[4 * N], c[N];
    for (int k = 0; k < N; k++) {
        double x = -20 + 40.0 * k / (N - 1);
        g[k] = g[N + k] = g[2 * N + k] = g[3 * N + k] = (tg_real)x;
        c[k] = 0;
    }
    tg_tensor *hc = tg_lstm_gates(t, tg_from_array(t, TG_SHAPE(1, 4 * N), g),
                                  tg_from_array(t, TG_SHAPE(1, N), c));
    for (int k = 0; k < N; k++) {
        double x = g[k], cc = sig(x) * tanh(x);
        ck_assert_close(hc->data[N + k], cc, 2e-6);
        ck_assert_close(hc->data[k], sig(x) * tanh(cc), 2e-6);
    }
    tg_tape_free(t);
}
END_TEST

START_TEST(errors) {
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_null(tg_lstm_gates(t, tg_zeros(t, TG_SHAPE(2, 7)), tg_zeros(t, TG_SHAPE(2, 2))));
    ck_assert_str_eq(tg_tape_error(t), "tg_lstm_gates: gates [2,7]: expected [2,8]");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_gru_gates(t, tg_zeros(t, TG_SHAPE(2, 6)), tg_zeros(t, TG_SHAPE(3, 6)),
                                    tg_zeros(t, TG_SHAPE(2, 2))));
    ck_assert_str_eq(tg_tape_error(t), "tg_gru_gates: gh [3,6]: expected [2,6]");
    /* tg_lstm_step {gx, h, w_hh, c, b_hh} with one of them the wrong shape */
    tg_shape ok[5] = {TG_SHAPE(2, 8), TG_SHAPE(2, 2), TG_SHAPE(8, 2), TG_SHAPE(2, 2),
                      TG_SHAPE(8)};
    struct {
        int which;
        tg_shape bad;
        const char *want;
    } cases[] = {
        {0, TG_SHAPE(2, 6), "tg_lstm_step: gx [2,6]: expected [2,8]"},
        {1, TG_SHAPE(3, 2), "tg_lstm_step: h [3,2] and c [2,2]: expected both [B,H]"},
        {2, TG_SHAPE(8, 3), "tg_lstm_step: w_hh [8,3]: expected [8,2]"},
        {4, TG_SHAPE(6), "tg_lstm_step: b_hh [6]: expected [8]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tg_tape_reset(t);
        tg_tensor *in[5];
        for (int i = 0; i < 5; i++)
            in[i] = tg_zeros(t, i == cases[k].which ? cases[k].bad : ok[i]);
        ck_assert_ptr_null(tg_lstm_step(t, in[0], in[1], in[2], in[4], in[3]));
        ck_assert_str_eq(tg_tape_error(t), cases[k].want);
    }
    tg_tape_free(t);
}
END_TEST

static tg_tensor *f_lstm(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_lstm_gates(t, x[0], x[1]);
}
/* inputs {gx, h, w_hh, c[, b_hh]} */
static tg_tensor *f_lstm_step(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_lstm_step(t, x[0], x[1], x[2], c ? x[4] : NULL, x[3]);
}
static tg_tensor *f_gru(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_gru_gates(t, x[0], x[1], x[2]);
}

START_TEST(gradchecks) {
    tg_rng r;
    tg_rng_seed(&r, 4);
    tg_tensor *l[2] = {test_param(&r, TG_SHAPE(3, 12)), test_param(&r, TG_SHAPE(3, 3))};
    ck_assert_gradcheck(f_lstm, NULL, 2, l);
    tg_tensor *g[3] = {test_param(&r, TG_SHAPE(3, 9)), test_param(&r, TG_SHAPE(3, 9)),
                       test_param(&r, TG_SHAPE(3, 3))};
    ck_assert_gradcheck(f_gru, NULL, 3, g);
    tg_tensor *st[5] = {test_param(&r, TG_SHAPE(2, 12)), test_param(&r, TG_SHAPE(2, 3)),
                        test_param(&r, TG_SHAPE(12, 3)), test_param(&r, TG_SHAPE(2, 3)),
                        test_param(&r, TG_SHAPE(12))};
    ck_assert_gradcheck(f_lstm_step, NULL, 4, st);
    ck_assert_gradcheck(f_lstm_step, (void *)1, 5, st);
    for (int i = 0; i < 2; i++) tg_tensor_free(l[i]);
    for (int i = 0; i < 3; i++) tg_tensor_free(g[i]);
    for (int i = 0; i < 5; i++) tg_tensor_free(st[i]);
}
END_TEST

/* tg_lstm_step is tg_lstm_gates of tg_linear_add, in one node: the same
 * values (bit for bit) and the same gradients for every input. */
START_TEST(lstm_step_is_gates_of_linear_add) {
    tg_rng r;
    tg_rng_seed(&r, 7);
    tg_tensor *in[5] = {test_param(&r, TG_SHAPE(3, 16)), test_param(&r, TG_SHAPE(3, 4)),
                        test_param(&r, TG_SHAPE(16, 4)), test_param(&r, TG_SHAPE(3, 4)),
                        test_param(&r, TG_SHAPE(16))};
    tg_real *grads[2][5];
    tg_real out[2][24];
    for (int way = 0; way < 2; way++) {
        tg_tape *t = tg_tape_new();
        for (int i = 0; i < 5; i++) tg_zero_grad(in[i]);
        tg_tensor *hc = way ? tg_lstm_step(t, in[0], in[1], in[2], in[4], in[3])
                            : tg_lstm_gates(t, tg_linear_add(t, in[0], in[1], in[2], in[4]), in[3]);
        ck_assert_ptr_nonnull(hc);
        ck_assert_int_eq((int)tg_tape_node_count(t), way ? 1 : 2);
        for (int e = 0; e < 24; e++) out[way][e] = hc->data[e];
        tg_real wv[24];
        for (int e = 0; e < 24; e++) wv[e] = (tg_real)(e % 5) - 2;
        tg_tensor *w = tg_from_array(t, TG_SHAPE(2, 3, 4), wv);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, hc, w))), 0);
        for (int i = 0; i < 5; i++) {
            grads[way][i] = malloc((size_t)in[i]->numel * sizeof(tg_real));
            for (int64_t e = 0; e < in[i]->numel; e++) grads[way][i][e] = in[i]->grad[e];
        }
        tg_tape_free(t);
    }
    for (int e = 0; e < 24; e++) ck_assert(out[1][e] == out[0][e]); /* the same sums */
    for (int i = 0; i < 5; i++) {
        for (int64_t e = 0; e < in[i]->numel; e++)
            ck_assert_close(grads[1][i][e], grads[0][i][e], TG_TOL);
        free(grads[0][i]);
        free(grads[1][i]);
        tg_tensor_free(in[i]);
    }
}
END_TEST

TCase *tcase_ops_rnn(void) {
    TCase *tc = tcase_create("ops_rnn");
    tcase_add_test(tc, lstm_gates_values);
    tcase_add_test(tc, gru_gates_values);
    tcase_add_test(tc, fast_math_is_accurate);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, gradchecks);
    tcase_add_test(tc, lstm_step_is_gates_of_linear_add);
    return tc;
}
