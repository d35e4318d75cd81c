/* A tape's packed recurrent weights (autograd/packs.h): x W^T and dy W by
 * a parameter go through W's packed panels while a hold is open, with the
 * same values as BLIS's product (the same bits where BLIS runs its blocked
 * path: see tests/core/test_gemm_packed.c), never a stale pack after the
 * hold closes, and a layer's steps (nn/rnn_steps.c) equal the same cell
 * steps run outside a hold. */
#include "../autograd/op.h"
#include "testutil.h"

static void ck_same(const tg_real *got, const tg_real *want, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (tg_gemm_packed_exact())
            ck_assert_msg(memcmp(&got[i], &want[i], sizeof *got) == 0, "[%lld] %.9g != %.9g",
                          (long long)i, (double)got[i], (double)want[i]);
        else
            ck_assert_close(got[i], want[i], 1e-5);
    }
}

static tg_tensor *param(tg_shape s, uint64_t seed) {
    tg_tensor *w = tg_param_new(s);
    tg_rng r;
    tg_rng_seed(&r, seed);
    tg_init_uniform(w, &r, -1, 1);
    return w;
}

START_TEST(linear_packs_in_a_hold) {
    enum { B = 6, IN = 40, OUT = 52 };
    tg_tape *t = tg_tape_new();
    tg_tensor *w = param(TG_SHAPE(OUT, IN), 1), *x = param(TG_SHAPE(B, IN), 2);
    tg_tensor *plain = tg_linear(t, x, w, NULL); /* no hold: BLIS */
    ck_assert_int_eq((int)tg__tape_packs(t)->n, 0);
    tg__packs_hold(tg__tape_packs(t), true);
    tg_tensor *packed = tg_linear(t, x, w, NULL), *again = tg_linear(t, x, w, NULL);
    ck_assert_int_eq((int)tg__tape_packs(t)->n, 1); /* packed once, used twice */
    ck_same(packed->data, plain->data, B * OUT);
    ck_same(again->data, plain->data, B * OUT);
    tg__packs_hold(tg__tape_packs(t), false);
    /* the hold closed: a changed W is packed again, never read stale */
    for (int64_t i = 0; i < w->numel; i++) w->data[i] *= -2;
    tg_tensor *changed = tg_linear(t, x, w, NULL);
    tg__packs_hold(tg__tape_packs(t), true);
    tg_tensor *repacked = tg_linear(t, x, w, NULL);
    tg__packs_hold(tg__tape_packs(t), false);
    ck_same(repacked->data, changed->data, B * OUT);
    ck_assert_int_eq((int)tg__tape_packs(t)->n, 1); /* the same entry, reused */
    tg_tape_free(t);
    tg_tensor_free(w);
    tg_tensor_free(x);
}
END_TEST

/* Pinned (tg_tape_set_params_fixed): a product from one row by a short-
 * rowed parameter runs over its B laid out row-major, the same values to
 * rounding (BLIS sums the other way round), kept across tape resets; a
 * parameter changed while pinned is still multiplied by its old values
 * (the promise was broken), and unpinning forgets them. */
START_TEST(pinned_row_major_across_resets) {
    enum { IN = 32, OUT = 300 };
    tg_tape *t = tg_tape_new();
    tg_tensor *w = param(TG_SHAPE(OUT, IN), 5), *x = param(TG_SHAPE(1, IN), 6);
    tg_real *want = malloc(2 * OUT * sizeof *want), *wrong = want + OUT;
    memcpy(want, tg_linear(t, x, w, NULL)->data, OUT * sizeof *want);
    ck_assert(!tg_tape_set_params_fixed(t, true));
    for (int step = 0; step < 3; step++) {
        tg_tape_reset(t);
        tg_tensor *y = tg_linear(t, x, w, NULL);
        ck_assert_int_eq((int)tg__tape_packs(t)->n_rm, 1); /* laid out once */
        for (int64_t i = 0; i < OUT; i++) ck_assert_close(y->data[i], want[i], 1e-5);
    }
    for (int64_t i = 0; i < w->numel; i++) w->data[i] *= -2;
    tg_tape_reset(t);
    memcpy(wrong, tg_linear(t, x, w, NULL)->data, OUT * sizeof *wrong);
    for (int64_t i = 0; i < OUT; i++) ck_assert_close(wrong[i], want[i], 1e-5);
    ck_assert(tg_tape_set_params_fixed(t, false));
    ck_assert_int_eq((int)tg__tape_packs(t)->n_rm, 0);
    tg_tensor *y = tg_linear(t, x, w, NULL);
    for (int64_t i = 0; i < OUT; i++) ck_assert_close(y->data[i], -2 * want[i], 1e-4);
    free(want);
    tg_tape_free(t);
    tg_tensor_free(w);
    tg_tensor_free(x);
}
END_TEST

START_TEST(backward_packs_w) {
    /* dx = dy W inside tg_backward (a hold) against tg_gemm by hand */
    enum { B = 5, IN = 33, OUT = 70 };
    tg_tape *t = tg_tape_new();
    tg_tensor *w = param(TG_SHAPE(OUT, IN), 3), *x = param(TG_SHAPE(B, IN), 4);
    tg_tensor *y = tg_linear(t, x, w, NULL);
    tg_tensor *dy = tg_from_array(t, TG_SHAPE(B, OUT), y->data); /* any values */
    ck_assert_int_eq(tg_backward_grad(t, y, dy->data), 0);
    ck_assert_int_eq((int)tg__tape_packs(t)->n, 1);
    tg_real want[B * IN];
    tg_gemm(B, IN, OUT, 1, dy->data, OUT, 1, w->data, IN, 1, 0, want, IN, 1);
    ck_same(x->grad, want, B * IN);
    tg_tape_free(t);
    tg_tensor_free(w);
    tg_tensor_free(x);
}
END_TEST

START_TEST(lstm_layer_equals_steps_outside_a_hold) {
    /* the layer's loop packs W_hh; tg_lstm_step called by hand does not */
    enum { T = 4, B = 3, I = 7, H = 9 };
    tg_rng r;
    tg_rng_seed(&r, 5);
    char err[128];
    tg_rnn *m = tg_rnn_new((tg_rnn_options){.mode = TG_LSTM, .input_size = I, .hidden_size = H,
                                            .num_layers = 1},
                           &r, err, sizeof err);
    ck_assert_ptr_nonnull(m);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -1, 1);
    tg_rnn_result res;
    tg_rnn_forward(t, m, x, NULL, NULL, NULL, &res);
    ck_assert_ptr_null(tg_tape_error(t));
    ck_assert_int_eq((int)tg__tape_packs(t)->n, 1);
    tg_tensor *gx = tg_linear(t, x, m->w_ih[0], m->b_ih[0]);
    tg_tensor *h = tg_zeros(t, TG_SHAPE(B, H)), *c = tg_zeros(t, TG_SHAPE(B, H));
    for (int s = 0; s < T; s++) {
        tg_tensor *g = tg_reshape(t, tg_narrow(t, gx, 0, s, 1), TG_SHAPE(B, 4 * H));
        tg_tensor *hc = tg_lstm_step(t, g, h, m->w_hh[0], m->b_hh[0], c);
        h = tg_reshape(t, tg_narrow(t, hc, 0, 0, 1), TG_SHAPE(B, H));
        c = tg_reshape(t, tg_narrow(t, hc, 0, 1, 1), TG_SHAPE(B, H));
        tg_tensor *want = tg_contiguous(t, h);
        tg_tensor *got = tg_contiguous(t, tg_narrow(t, res.output, 0, s, 1));
        ck_same(got->data, want->data, B * H);
    }
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

TCase *tcase_packs(void) {
    TCase *tc = tcase_create("packs");
    tcase_add_test(tc, linear_packs_in_a_hold);
    tcase_add_test(tc, backward_packs_w);
    tcase_add_test(tc, pinned_row_major_across_resets);
    tcase_add_test(tc, lstm_layer_equals_steps_outside_a_hold);
    return tc;
}
