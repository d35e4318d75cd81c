/* The deep-transition recurrent layer (with and without skip): values
 * against a plain C loop written from the header's equations, gradchecks,
 * parameter names and counts, continuing from h_n, errors. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { T = 4, B = 2, I = 3, H = 5 };

static tg_deep_rnn *make(int depth, bool skip, bool batch_first, uint64_t seed) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    char err[256] = "";
    tg_deep_rnn *m = tg_deep_rnn_new((tg_deep_rnn_options){.input_size = I,
                                                           .hidden_size = H,
                                                           .depth = depth,
                                                           .skip = skip,
                                                           .batch_first = batch_first},
                                     &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

/* out[j] = W[j, :] . v + b[j] for W [H, n] (b may be NULL) */
static void affine(const tg_tensor *w, const tg_tensor *b, const double *v, int n, double *out) {
    for (int j = 0; j < H; j++) {
        double s = b ? (double)b->data[j] : 0;
        for (int k = 0; k < n; k++) s += (double)w->data[j * n + k] * v[k];
        out[j] = s;
    }
}

/* The equations of deep_rnn.h, one sequence b at a time, in double:
 * x [T, B, I], h0 [B, H] (or NULL), out [T, B, H]. */
static void reference(const tg_deep_rnn *m, const tg_real *x, const tg_real *h0, double *out) {
    for (int b = 0; b < B; b++) {
        double h[H], z[H], nz[H], pre[H], tmp[H], xv[I];
        for (int j = 0; j < H; j++) h[j] = h0 ? (double)h0[b * H + j] : 0;
        for (int t = 0; t < T; t++) {
            for (int k = 0; k < I; k++) xv[k] = (double)x[(t * B + b) * I + k];
            memcpy(z, h, sizeof z); /* z^(0) = h_{t-1} */
            for (int d = 0; d < m->opt.depth; d++) {
                affine(m->w_tr[d], m->b_tr[d], z, H, nz);
                for (int j = 0; j < H; j++) z[j] = tanh(nz[j]);
            }
            affine(m->w_ih, m->b_ih, xv, I, pre);
            affine(m->w_hh, m->b_hh, z, H, tmp);
            for (int j = 0; j < H; j++) pre[j] += tmp[j];
            if (m->w_skip) {
                affine(m->w_skip, NULL, h, H, tmp);
                for (int j = 0; j < H; j++) pre[j] += tmp[j];
            }
            for (int j = 0; j < H; j++) h[j] = out[(t * B + b) * H + j] = tanh(pre[j]);
        }
    }
}

START_TEST(deep_rnn_values_match_reference) {
    tg_rng r;
    tg_rng_seed(&r, 5);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -2, 2);
    tg_tensor *h0 = tg_rand_uniform(t, &r, TG_SHAPE(B, H), -1, 1);
    double want[T * B * H];
    for (int depth = 1; depth <= 3; depth++)
        for (int skip = 0; skip < 2; skip++)
            for (int with_h0 = 0; with_h0 < 2; with_h0++) {
                tg_deep_rnn *m = make(depth, skip, false, 100 + (uint64_t)depth);
                /* larger weights than the default init, so every term matters */
                for (int p = 0; p < m->base.n_owned; p++)
                    tg_init_uniform(m->base.owned[p], &r, -1, 1);
                tg_deep_rnn_result res;
                ck_assert_int_eq(tg_deep_rnn_forward(t, m, x, with_h0 ? h0 : NULL, &res), 0);
                reference(m, x->data, with_h0 ? h0->data : NULL, want);
                ck_assert_tensor(res.output, want, TG_TOL);
                ck_assert_tensor(res.h_n, want + (T - 1) * B * H, TG_TOL);
                ck_assert_int_eq(res.output->ndim, 3);
                ck_assert_int_eq(res.output->shape[0], T);
                ck_assert_int_eq(res.h_n->shape[1], H);
                tg_module_free(&m->base);
            }
    tg_tape_free(t);
}
END_TEST

/* The skip term is really there: with W_skip zeroed a skip layer equals
 * the layer without skip built from the same seed, and not otherwise. */
START_TEST(deep_rnn_skip_term_matters) {
    tg_rng r;
    tg_rng_seed(&r, 6);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -2, 2);
    tg_deep_rnn *plain = make(2, false, false, 9), *skip = make(2, true, false, 9);
    tg_deep_rnn_result a, b;
    ck_assert_int_eq(tg_deep_rnn_forward(t, plain, x, NULL, &a), 0);
    ck_assert_int_eq(tg_deep_rnn_forward(t, skip, x, NULL, &b), 0);
    double diff = 0;
    for (int64_t i = 0; i < a.output->numel; i++)
        diff = fmax(diff, fabs((double)tg_at(a.output, i) - (double)tg_at(b.output, i)));
    ck_assert(diff > 1e-3);
    tg_fill(skip->w_skip, 0);
    ck_assert_int_eq(tg_deep_rnn_forward(t, skip, x, NULL, &b), 0);
    for (int64_t i = 0; i < a.output->numel; i++)
        ck_assert(tg_at(a.output, i) == tg_at(b.output, i));
    tg_module_free(&plain->base);
    tg_module_free(&skip->base);
    tg_tape_free(t);
}
END_TEST

/* Batch-first gives the transposed result; running 4 steps equals 3 then 1
 * from h_n. */
START_TEST(deep_rnn_batch_first_and_continuation) {
    tg_rng r;
    tg_rng_seed(&r, 7);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -2, 2);
    tg_deep_rnn *m = make(2, true, false, 10), *bf = make(2, true, true, 10);
    tg_deep_rnn_result a, b, first, second;
    ck_assert_int_eq(tg_deep_rnn_forward(t, m, x, NULL, &a), 0);
    ck_assert_int_eq(
        tg_deep_rnn_forward(t, bf, tg_contiguous(t, tg_transpose(t, x, 0, 1)), NULL, &b), 0);
    ck_assert_int_eq(b.output->shape[0], B);
    ck_assert_int_eq(b.output->shape[1], T);
    tg_tensor *back = tg_transpose(t, b.output, 0, 1);
    for (int64_t i = 0; i < a.output->numel; i++) ck_assert(tg_at(back, i) == tg_at(a.output, i));
    ck_assert_int_eq(tg_deep_rnn_forward(t, m, tg_narrow(t, x, 0, 0, 3), NULL, &first), 0);
    ck_assert_int_eq(tg_deep_rnn_forward(t, m, tg_narrow(t, x, 0, 3, 1), first.h_n, &second), 0);
    for (int64_t i = 0; i < B * H; i++)
        ck_assert_close(tg_at(second.h_n, i), tg_at(a.h_n, i), TG_TOL);
    tg_module_free(&m->base);
    tg_module_free(&bf->base);
    tg_tape_free(t);
}
END_TEST

/* ---- gradchecks (double build) --------------------------------------------------- */

/* inputs: x, h0, then every parameter (read through the module) */
static tg_tensor *f_deep(tg_tape *t, tg_tensor *const *in, void *ctx) {
    tg_deep_rnn_result res;
    if (tg_deep_rnn_forward(t, ctx, in[0], in[1], &res) != 0) return NULL;
    return res.output;
}

static void gradcheck_deep(int depth, bool skip, bool batch_first, uint64_t seed) {
    tg_deep_rnn *m = make(depth, skip, batch_first, seed);
    tg_rng r;
    tg_rng_seed(&r, seed + 1000);
    for (int p = 0; p < m->base.n_owned; p++) tg_init_uniform(m->base.owned[p], &r, -1, 1);
    int n = 2 + m->base.params.n;
    tg_tensor **in = calloc((size_t)n, sizeof *in);
    in[0] = test_param(&r, batch_first ? TG_SHAPE(B, T, I) : TG_SHAPE(T, B, I));
    in[1] = test_param(&r, TG_SHAPE(B, H));
    for (int p = 0; p < m->base.params.n; p++) in[2 + p] = m->base.params.items[p].tensor;
    ck_assert_gradcheck(f_deep, m, n, in);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
    free(in);
    tg_module_free(&m->base);
}

START_TEST(deep_rnn_gradcheck) {
    gradcheck_deep(1, false, false, 31);
    gradcheck_deep(1, true, false, 32);
    gradcheck_deep(2, false, false, 33);
    gradcheck_deep(3, true, false, 34);
    gradcheck_deep(2, true, true, 35);
}
END_TEST

/* ---- parameters ---------------------------------------------------------------------- */

START_TEST(deep_rnn_parameter_count) {
    for (int depth = 1; depth <= 3; depth++)
        for (int skip = 0; skip < 2; skip++) {
            tg_deep_rnn *m = make(depth, skip, false, 1);
            int64_t expect = H * I + 2 * H + H * H + depth * (H * H + H) + (skip ? H * H : 0);
            ck_assert_int_eq(tg_module_numel(&m->base), expect);
            ck_assert_int_eq(m->base.params.n, 4 + 2 * depth + skip);
            tg_module_free(&m->base);
        }
    /* depth 0 is the default, 1 */
    tg_deep_rnn *m = make(0, false, false, 1);
    ck_assert_int_eq(m->opt.depth, 1);
    ck_assert_int_eq(tg_module_numel(&m->base), H * I + 2 * H + H * H + H * H + H);
    tg_module_free(&m->base);
}
END_TEST

START_TEST(deep_rnn_parameter_names) {
    tg_deep_rnn *m = make(2, true, false, 3);
    const char *names[] = {"weight_ih_l0",  "bias_ih_l0",    "weight_hh_l0",
                           "bias_hh_l0",    "weight_tr1_l0", "bias_tr1_l0",
                           "weight_tr2_l0", "bias_tr2_l0",   "weight_skip_l0"};
    tg_tensor *fields[] = {m->w_ih,    m->b_ih,    m->w_hh,    m->b_hh,  m->w_tr[0],
                           m->b_tr[0], m->w_tr[1], m->b_tr[1], m->w_skip};
    int64_t rows[] = {H, H, H, H, H, H, H, H, H}, cols[] = {I, 0, H, 0, H, 0, H, 0, H};
    ck_assert_int_eq(m->base.params.n, 9);
    for (int k = 0; k < 9; k++) {
        ck_assert_str_eq(m->base.params.items[k].name, names[k]);
        tg_tensor *p = m->base.params.items[k].tensor;
        ck_assert_ptr_eq(p, fields[k]);
        ck_assert_int_eq(p->ndim, cols[k] ? 2 : 1);
        ck_assert_int_eq(p->shape[0], rows[k]);
        if (cols[k]) ck_assert_int_eq(p->shape[1], cols[k]);
        for (int64_t i = 0; i < p->numel; i++)
            ck_assert(fabs((double)p->data[i]) <= 1 / sqrt((double)H));
    }
    ck_assert_str_eq(m->base.kind, "deep_rnn");
    tg_module_free(&m->base);
    m = make(1, false, false, 3);
    ck_assert_ptr_null(m->w_skip);
    ck_assert_ptr_null(tg_params_find(&m->base.params, "weight_skip_l0"));
    tg_module_free(&m->base);
}
END_TEST

START_TEST(deep_rnn_errors) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    char err[256];
    tg_deep_rnn_options o = {.input_size = I, .hidden_size = H, .depth = -1};
    ck_assert_ptr_null(tg_deep_rnn_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "deep_rnn: depth must be at least 1, got -1");
    o.depth = 1, o.input_size = -3;
    ck_assert_ptr_null(tg_deep_rnn_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "deep_rnn: input_size must be positive, got -3");
    o.input_size = I, o.hidden_size = 0;
    ck_assert_ptr_null(tg_deep_rnn_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "deep_rnn: hidden_size must be positive, got 0");
    o.hidden_size = H;
    ck_assert_ptr_null(tg_deep_rnn_new(o, NULL, err, sizeof err));
    ck_assert_str_eq(err, "deep_rnn: no random generator for the initial weights");

    tg_deep_rnn *m = make(2, false, false, 1);
    tg_tape *t = tg_tape_new();
    tg_deep_rnn_result res;
    ck_assert_int_eq(tg_deep_rnn_forward(t, m, tg_zeros(t, TG_SHAPE(T, B, H)), NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_deep_rnn_forward: input [4,2,5]: expected [T, B, 3] with T, B >= 1");
    ck_assert_ptr_null(res.output);
    tg_tape_reset(t);
    tg_tensor *x = tg_zeros(t, TG_SHAPE(T, B, I));
    ck_assert_int_eq(tg_deep_rnn_forward(t, m, x, tg_zeros(t, TG_SHAPE(1, B, H)), &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_deep_rnn_forward: h0 [1,2,5]: expected [2, 5]");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_deep_rnn_forward(t, m, NULL, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_deep_rnn_forward: input is NULL");
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

TCase *tcase_deep_rnn(void) {
    TCase *tc = tcase_create("deep_rnn");
    tcase_add_test(tc, deep_rnn_values_match_reference);
    tcase_add_test(tc, deep_rnn_skip_term_matters);
    tcase_add_test(tc, deep_rnn_batch_first_and_continuation);
    tcase_add_test(tc, deep_rnn_gradcheck);
    tcase_add_test(tc, deep_rnn_parameter_count);
    tcase_add_test(tc, deep_rnn_parameter_names);
    tcase_add_test(tc, deep_rnn_errors);
    return tc;
}
