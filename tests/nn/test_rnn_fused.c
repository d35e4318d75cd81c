/* The fused LSTM/GRU kernels give the same numbers as the composed
 * reference (every gate an elementary op), forward and backward. */
#include "testutil.h"

static void compare(tg_rnn_mode mode, bool bidirectional, bool lengths) {
    tg_rng r1, r2;
    tg_rng_seed(&r1, 21);
    tg_rng_seed(&r2, 21);
    tg_rnn_options o = {.mode = mode, .input_size = 5, .hidden_size = 7, .num_layers = 2,
                        .bidirectional = bidirectional};
    tg_rnn *fused = tg_rnn_new(o, &r1, NULL, 0);
    o.composed = true;
    tg_rnn *ref = tg_rnn_new(o, &r2, NULL, 0);
    ck_assert_ptr_nonnull(fused);
    ck_assert_ptr_nonnull(ref);
    tg_tape *t = tg_tape_new();
    tg_rng rx;
    tg_rng_seed(&rx, 3);
    tg_tensor *x = tg_rand_uniform(t, &rx, TG_SHAPE(6, 3, 5), -2, 2);
    int64_t lens[3] = {6, 2, 4};
    tg_rnn_result a, b;
    ck_assert_int_eq(tg_rnn_forward(t, fused, x, NULL, NULL, lengths ? lens : NULL, &a), 0);
    ck_assert_int_eq(tg_rnn_forward(t, ref, x, NULL, NULL, lengths ? lens : NULL, &b), 0);
    for (int64_t i = 0; i < a.output->numel; i++)
        ck_assert_close(tg_at(a.output, i), tg_at(b.output, i), 2e-6);
    for (int64_t i = 0; i < a.h_n->numel; i++)
        ck_assert_close(tg_at(a.h_n, i), tg_at(b.h_n, i), 2e-6);
    tg_tensor *la = tg_add(t, tg_sum(t, tg_square(t, a.output)), tg_sum(t, a.h_n));
    tg_tensor *lb = tg_add(t, tg_sum(t, tg_square(t, b.output)), tg_sum(t, b.h_n));
    ck_assert_int_eq(tg_backward(t, la), 0);
    ck_assert_int_eq(tg_backward(t, lb), 0);
    const tg_params *pa = tg_module_params(&fused->base), *pb = tg_module_params(&ref->base);
    for (int k = 0; k < pa->n; k++)
        for (int64_t i = 0; i < pa->items[k].tensor->numel; i++)
            ck_assert_close(pa->items[k].tensor->grad[i], pb->items[k].tensor->grad[i], 1e-5);
    tg_tape_free(t);
    tg_module_free(&fused->base);
    tg_module_free(&ref->base);
}

START_TEST(fused_equals_composed) {
    for (int bi = 0; bi < 2; bi++)
        for (int len = 0; len < 2; len++) {
            compare(TG_LSTM, bi, len);
            compare(TG_GRU, bi, len);
        }
}
END_TEST

TCase *tcase_rnn_fused(void) {
    TCase *tc = tcase_create("rnn_fused");
    tcase_add_test(tc, fused_equals_composed);
    return tc;
}
