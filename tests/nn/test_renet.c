/* The ReNet layer: its four sweeps against four ordinary one-direction RNN
 * layers run on transposed and flipped inputs (sequence-first, explicit
 * index flips: another path than the layer's), image patches against
 * loops, gradient checks (double build) and error messages. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { RB = 2, RR = 3, RC = 4, RF = 3, RH = 2 };

static tg_renet *make_renet(tg_rnn_mode mode, int64_t F, uint64_t seed) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    char err[256] = "";
    tg_renet *m = tg_renet_new((tg_renet_options){.mode = mode, .input_size = F, .hidden_size = RH},
                               &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

/* A one-direction layer holding direction dir of the bidirectional src. */
static tg_rnn *one_direction(const tg_rnn *src, int dir) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_rnn_options o = src->opt;
    o.bidirectional = false;
    o.batch_first = false;
    tg_rnn *m = tg_rnn_new(o, &r, NULL, 0);
    ck_assert_ptr_nonnull(m);
    tg_tensor *const *from[4] = {src->w_ih, src->w_hh, src->b_ih, src->b_hh};
    tg_tensor *const *to[4] = {m->w_ih, m->w_hh, m->b_ih, m->b_hh};
    for (int k = 0; k < 4; k++) tg_copy_from(to[k][0], from[k][dir]->data);
    return m;
}

/* x [L, N, K] along axis 0 reversed. */
static tg_tensor *flip0(tg_tape *t, tg_tensor *x) {
    int64_t L = x->shape[0], idx[16];
    ck_assert_int_le(L, 16);
    for (int64_t i = 0; i < L; i++) idx[i] = L - 1 - i;
    return tg_index_select(t, x, 0, idx, L);
}

/* Both directions of src over x [L, N, K], sequence-first: [L, N, 2H]. */
static tg_tensor *two_ways(tg_tape *t, const tg_rnn *src, tg_tensor *x) {
    tg_rnn *fw = one_direction(src, 0), *bw = one_direction(src, 1);
    tg_rnn_result a, b;
    ck_assert_int_eq(tg_rnn_forward(t, fw, x, NULL, NULL, NULL, &a), 0);
    ck_assert_int_eq(tg_rnn_forward(t, bw, flip0(t, x), NULL, NULL, NULL, &b), 0);
    tg_tensor *both[2] = {a.output, flip0(t, b.output)};
    tg_module_free(&fw->base);
    tg_module_free(&bw->base);
    return tg_concat(t, 2, both, 2);
}

/* The slow reference: x [B, R, C, F] -> [B, R, C, 2H]. */
static tg_tensor *reference(tg_tape *t, const tg_renet *m, tg_tensor *x) {
    int64_t B = x->shape[0], R = x->shape[1], C = x->shape[2], F = x->shape[3];
    /* rows: [C, B*R, F], one sequence per image row */
    static const int c_first[4] = {2, 0, 1, 3}, back_rows[4] = {1, 2, 0, 3};
    tg_tensor *s = tg_reshape(t, tg_contiguous(t, tg_permute(t, x, c_first)), TG_SHAPE(C, B * R, F));
    tg_tensor *h = tg_reshape(t, two_ways(t, m->rows, s), TG_SHAPE(C, B, R, 2 * RH));
    h = tg_contiguous(t, tg_permute(t, h, back_rows)); /* [B, R, C, 2H] */
    /* columns: [R, B*C, 2H], one sequence per image column */
    static const int r_first[4] = {1, 0, 2, 3};
    s = tg_reshape(t, tg_contiguous(t, tg_permute(t, h, r_first)), TG_SHAPE(R, B * C, 2 * RH));
    h = tg_reshape(t, two_ways(t, m->cols, s), TG_SHAPE(R, B, C, 2 * RH));
    return tg_contiguous(t, tg_permute(t, h, r_first));
}

static void check_against_reference(tg_rnn_mode mode) {
    tg_renet *m = make_renet(mode, RF, 3);
    tg_rng r;
    tg_rng_seed(&r, 4);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(RB, RR, RC, RF), -1, 1);
    tg_tensor *y = tg_renet_forward(t, m, x), *ref = reference(t, m, x);
    ck_assert_msg(y && ref, "%s", tg_tape_error(t));
    ck_assert_int_eq(y->ndim, 4);
    ck_assert_int_eq(y->shape[3], 2 * RH);
    ck_assert_int_eq(y->numel, ref->numel);
    for (int64_t i = 0; i < y->numel; i++) ck_assert_close(tg_at(y, i), tg_at(ref, i), TG_TOL);
    tg_module_free(&m->base);
    tg_tape_free(t);
}

START_TEST(renet_matches_four_rnns_tanh) {
    check_against_reference(TG_RNN_TANH);
}
END_TEST

START_TEST(renet_matches_four_rnns_lstm) {
    check_against_reference(TG_LSTM);
}
END_TEST

START_TEST(renet_matches_four_rnns_gru) {
    check_against_reference(TG_GRU);
}
END_TEST

/* The downward state at the last position has seen the whole image (the
 * point of the four sweeps): a change at patch (0, 0) moves it. (The upward
 * state there has seen only the last row.) */
START_TEST(renet_sees_whole_image) {
    tg_renet *m = make_renet(TG_RNN_TANH, RF, 5);
    tg_rng r;
    tg_rng_seed(&r, 6);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(1, RR, RC, RF), -1, 1);
    tg_tensor *a = tg_renet_forward(t, m, x);
    tg_tensor *x2 = tg_rand_uniform(t, &r, TG_SHAPE(1, RR, RC, RF), -1, 1);
    memcpy(x2->data, x->data, (size_t)x->numel * sizeof *x->data);
    x2->data[0] += 1;
    tg_tensor *b = tg_renet_forward(t, m, x2);
    int64_t last = a->numel - 2 * RH; /* (R-1, C-1), down, first unit */
    ck_assert(fabs((double)tg_at(a, last) - (double)tg_at(b, last)) > 1e-6);
    tg_module_free(&m->base);
    tg_tape_free(t);
}
END_TEST

/* Patches against loops: [B, H, W] with P = 2 -> [B, H/2, W/2, 4]. */
START_TEST(renet_image_patches) {
    tg_tape *t = tg_tape_new();
    tg_rng r;
    tg_rng_seed(&r, 7);
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(2, 4, 6), -1, 1);
    tg_tensor *p = tg_image_patches(t, x, 2);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->shape[1], 2);
    ck_assert_int_eq(p->shape[2], 3);
    ck_assert_int_eq(p->shape[3], 4);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 6; j++) {
                int64_t at = ((b * 2 + i / 2) * 3 + j / 2) * 4 + (i % 2) * 2 + j % 2;
                ck_assert(tg_at(p, at) == tg_at(x, (b * 4 + i) * 6 + j));
            }
    ck_assert_ptr_null(tg_image_patches(t, x, 4));
    ck_assert_ptr_nonnull(strstr(tg_tape_error(t), "multiples of the patch"));
    tg_tape_free(t);
}
END_TEST

START_TEST(renet_errors) {
    char err[256];
    tg_rng r;
    tg_rng_seed(&r, 8);
    ck_assert_ptr_null(tg_renet_new((tg_renet_options){.input_size = 0, .hidden_size = 2}, &r, err,
                                    sizeof err));
    ck_assert_str_eq(err, "renet: input_size must be positive, got 0");
    ck_assert_ptr_null(tg_renet_new((tg_renet_options){.input_size = 2, .hidden_size = -1}, &r, err,
                                    sizeof err));
    ck_assert_str_eq(err, "renet: hidden_size must be positive, got -1");
    tg_renet *m = make_renet(TG_GRU, RF, 9);
    ck_assert_ptr_nonnull(tg_params_find(tg_module_params(&m->base), "rows.weight_ih_l0"));
    ck_assert_ptr_nonnull(tg_params_find(tg_module_params(&m->base), "cols.weight_hh_l0_reverse"));
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(1, 2, 2, RF + 1), -1, 1);
    ck_assert_ptr_null(tg_renet_forward(t, m, x));
    ck_assert_str_eq(tg_tape_error(t), "tg_renet_forward: input [1,2,2,4]: expected [B, R, C, 3]");
    tg_module_free(&m->base);
    tg_tape_free(t);
}
END_TEST

/* ---- gradchecks (double build) -------------------------------------------- */

static tg_tensor *f_renet(tg_tape *t, tg_tensor *const *in, void *ctx) {
    return tg_renet_forward(t, ctx, in[0]);
}

static void gradcheck_renet(tg_rnn_mode mode, uint64_t seed) {
    tg_renet *m = make_renet(mode, RF, seed);
    tg_rng r;
    tg_rng_seed(&r, seed + 100);
    int n = 1 + m->base.params.n;
    tg_tensor **in = calloc((size_t)n, sizeof *in);
    in[0] = test_param(&r, TG_SHAPE(RB, RR, RC, RF));
    for (int p = 0; p < m->base.params.n; p++) in[1 + p] = m->base.params.items[p].tensor;
    ck_assert_gradcheck(f_renet, m, n, in);
    tg_tensor_free(in[0]);
    free(in);
    tg_module_free(&m->base);
}

START_TEST(renet_gradcheck_tanh) {
    gradcheck_renet(TG_RNN_TANH, 11);
}
END_TEST

START_TEST(renet_gradcheck_lstm) {
    gradcheck_renet(TG_LSTM, 12);
}
END_TEST

/* A stack of two: the second takes the first's 2H features. */
static tg_tensor *f_stack(tg_tape *t, tg_tensor *const *in, void *ctx) {
    tg_renet **ms = ctx;
    return tg_renet_forward(t, ms[1], tg_renet_forward(t, ms[0], in[0]));
}

START_TEST(renet_gradcheck_stacked_gru) {
    tg_renet *ms[2] = {make_renet(TG_GRU, RF, 13), make_renet(TG_GRU, 2 * RH, 14)};
    tg_rng r;
    tg_rng_seed(&r, 15);
    int n = 1 + ms[0]->base.params.n + ms[1]->base.params.n, k = 1;
    tg_tensor **in = calloc((size_t)n, sizeof *in);
    in[0] = test_param(&r, TG_SHAPE(1, 2, 3, RF));
    for (int j = 0; j < 2; j++)
        for (int p = 0; p < ms[j]->base.params.n; p++) in[k++] = ms[j]->base.params.items[p].tensor;
    ck_assert_gradcheck(f_stack, ms, n, in);
    tg_tensor_free(in[0]);
    free(in);
    tg_module_free(&ms[0]->base);
    tg_module_free(&ms[1]->base);
}
END_TEST

TCase *tcase_renet(void) {
    TCase *tc = tcase_create("renet");
    tcase_add_test(tc, renet_matches_four_rnns_tanh);
    tcase_add_test(tc, renet_matches_four_rnns_lstm);
    tcase_add_test(tc, renet_matches_four_rnns_gru);
    tcase_add_test(tc, renet_sees_whole_image);
    tcase_add_test(tc, renet_image_patches);
    tcase_add_test(tc, renet_errors);
    tcase_add_test(tc, renet_gradcheck_tanh);
    tcase_add_test(tc, renet_gradcheck_lstm);
    tcase_add_test(tc, renet_gradcheck_stacked_gru);
    return tc;
}
