/* An LSTM with proj_size (h' = W_hr (o * tanh(c'))) against PyTorch's
 * nn.LSTM(proj_size=P): tests/nn/gen_lstm_proj_fixtures.py wrote, in
 * float64, the parameters, an input, the outputs, h_n, c_n and every
 * gradient for one and two layers, bidirectional, with lengths and
 * batch-first; we load the parameters and compare, fused and composed
 * (double 1e-12, float 1e-5). Then: recomputed segments give the full
 * tape's bits, a double gradcheck, and the errors of bad options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define FIXTURE "tests/nn/fixtures/lstm_proj.safetensors"
#ifdef TG_DOUBLE
#define PROJ_TOL 1e-12
#else
#define PROJ_TOL 1e-5
#endif

static const char *const CONFIGS[] = {"one", "two_layers", "bidir", "two_bidir_lengths",
                                      "batch_first_lengths"};
#define N_CONFIGS ((int)(sizeof CONFIGS / sizeof CONFIGS[0]))

/* The file's tensor cfg/name, or NULL when `optional` and absent. */
static const tg_tensor *get(const tg_st_file *f, const char *cfg, const char *name,
                            bool optional) {
    char key[128];
    snprintf(key, sizeof key, "%s/%s", cfg, name);
    const tg_tensor *x = tg_safetensors_get(f, key);
    ck_assert_msg(x || optional, "%s: no tensor %s", FIXTURE, key);
    return x;
}

/* got (any strides) against ref: |got - ref| <= tol * max(1, |ref|). */
static void expect(const char *cfg, const char *what, const tg_tensor *got, const tg_tensor *ref,
                   bool composed) {
    ck_assert_msg(got != NULL, "%s: %s is NULL", cfg, what);
    char sg[TG_SHAPE_STR_MAX], sr[TG_SHAPE_STR_MAX];
    bool same = got->ndim == ref->ndim;
    for (int d = 0; same && d < got->ndim; d++) same = got->shape[d] == ref->shape[d];
    ck_assert_msg(same, "%s: %s is %s, PyTorch's %s", cfg, what,
                  tg_shape_str(tg_tensor_shape(got), sg, sizeof sg),
                  tg_shape_str(tg_tensor_shape(ref), sr, sizeof sr));
    for (int64_t i = 0; i < ref->numel; i++) {
        double g = (double)tg_at(got, i), r = (double)tg_at(ref, i);
        ck_assert_msg(fabs(g - r) <= PROJ_TOL * fmax(1.0, fabs(r)),
                      "%s%s: %s[%lld] = %.17g, PyTorch %.17g", cfg, composed ? " (composed)" : "",
                      what, (long long)i, g, r);
    }
}

/* A heap tensor over a gradient buffer, for expect(). */
static void expect_grad(const char *cfg, const char *what, const tg_tensor *p,
                        const tg_tensor *ref, bool composed) {
    ck_assert_msg(p->grad != NULL, "%s: %s has no gradient", cfg, what);
    tg_tensor *g = tg_tensor_new(tg_tensor_shape(p));
    ck_assert_ptr_nonnull(g);
    memcpy(g->data, p->grad, (size_t)p->numel * sizeof(tg_real));
    expect(cfg, what, g, ref, composed);
    tg_tensor_free(g);
}

static tg_tensor *leaf_from(const tg_tensor *src) {
    if (!src) return NULL;
    tg_tensor *x = tg_param_new(tg_tensor_shape(src));
    ck_assert_ptr_nonnull(x);
    ck_assert(tg_copy(x, src));
    return x;
}

static tg_tensor *weighted_sum(tg_tape *t, tg_tensor *y, const tg_tensor *w) {
    tg_tensor *wt = tg_empty(t, tg_tensor_shape(w));
    ck_assert_ptr_nonnull(wt);
    ck_assert(tg_copy(wt, w));
    return tg_sum(t, tg_mul(t, y, wt));
}

/* The configuration's module with PyTorch's parameters, checked to have
 * PyTorch's names in PyTorch's order. */
static tg_rnn *module_from(const tg_st_file *f, const char *cfg, bool composed) {
    const char *spec = tg_safetensors_meta(f, cfg);
    ck_assert_msg(spec != NULL, "%s: no metadata for %s", FIXTURE, cfg);
    long long I, H, P;
    int L, bi, bf;
    ck_assert_int_eq(sscanf(spec, "%lld %lld %lld %d %d %d", &I, &H, &P, &L, &bi, &bf), 6);
    tg_rnn_options o = {.mode = TG_LSTM,
                        .input_size = I,
                        .hidden_size = H,
                        .proj_size = P,
                        .num_layers = L,
                        .bidirectional = bi,
                        .batch_first = bf,
                        .composed = composed};
    tg_rng init;
    tg_rng_seed(&init, 1);
    char err[256] = "";
    tg_rnn *m = tg_rnn_new(o, &init, err, sizeof err);
    ck_assert_msg(m != NULL, "%s: %s", cfg, err);
    const tg_params *ps = tg_module_params(&m->base);
    char prefix[64];
    int n = snprintf(prefix, sizeof prefix, "%s/", cfg), k = 0;
    for (int i = 0; i < tg_safetensors_count(f); i++) {
        const char *name = tg_safetensors_name(f, i);
        if (strncmp(name, prefix, (size_t)n) != 0 ||
            (strncmp(name + n, "weight_", 7) && strncmp(name + n, "bias_", 5)))
            continue;
        ck_assert_msg(k < ps->n, "%s: the module lacks PyTorch's %s", cfg, name);
        ck_assert_msg(!strcmp(ps->items[k].name, name + n), "%s: parameter %d is %s, PyTorch's %s",
                      cfg, k, ps->items[k].name, name + n);
        ck_assert_msg(tg_copy(ps->items[k].tensor, tg_safetensors_get(f, name)),
                      "%s: %s: shapes differ", cfg, name);
        k++;
    }
    ck_assert_msg(k == ps->n, "%s: the module has %d parameters, PyTorch %d", cfg, ps->n, k);
    return m;
}

static void against_pytorch(const tg_st_file *f, const char *cfg, bool composed) {
    tg_rnn *m = module_from(f, cfg, composed);
    tg_tensor *x = leaf_from(get(f, cfg, "input", false));
    tg_tensor *h0 = leaf_from(get(f, cfg, "h0", true)), *c0 = leaf_from(get(f, cfg, "c0", true));
    char key[128];
    snprintf(key, sizeof key, "%s/lengths", cfg);
    const int64_t *lengths = tg_safetensors_get_i64(f, key, NULL);
    tg_tape *t = tg_tape_new();
    tg_rnn_result r;
    ck_assert_msg(tg_rnn_forward(t, m, x, h0, c0, lengths, &r) == 0, "%s: %s", cfg,
                  tg_tape_error(t));
    expect(cfg, "output", r.output, get(f, cfg, "output", false), composed);
    expect(cfg, "h_n", r.h_n, get(f, cfg, "h_n", false), composed);
    expect(cfg, "c_n", r.c_n, get(f, cfg, "c_n", false), composed);
    tg_tensor *loss = tg_add(t, weighted_sum(t, r.output, get(f, cfg, "w_output", false)),
                             weighted_sum(t, r.h_n, get(f, cfg, "w_h_n", false)));
    loss = tg_add(t, loss, weighted_sum(t, r.c_n, get(f, cfg, "w_c_n", false)));
    ck_assert_msg(tg_backward(t, loss) == 0, "%s: %s", cfg, tg_tape_error(t));
    const tg_params *ps = tg_module_params(&m->base);
    char what[128];
    for (int i = 0; i < ps->n; i++) {
        snprintf(what, sizeof what, "grad.%s", ps->items[i].name);
        expect_grad(cfg, what, ps->items[i].tensor, get(f, cfg, what, false), composed);
    }
    expect_grad(cfg, "grad.input", x, get(f, cfg, "grad.input", false), composed);
    if (h0) expect_grad(cfg, "grad.h0", h0, get(f, cfg, "grad.h0", false), composed);
    if (c0) expect_grad(cfg, "grad.c0", c0, get(f, cfg, "grad.c0", false), composed);
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_tensor_free(h0);
    tg_tensor_free(c0);
    tg_module_free(&m->base);
}

START_TEST(proj_matches_pytorch) {
    char err[256] = "";
    tg_st_file *f = tg_safetensors_open(FIXTURE, err, sizeof err);
    ck_assert_msg(f != NULL,
                  "%s (regenerate with /usr/bin/python3 tests/nn/gen_lstm_proj_fixtures.py)", err);
    against_pytorch(f, CONFIGS[_i], false);
    against_pytorch(f, CONFIGS[_i], true);
    tg_safetensors_close(f);
}
END_TEST

/* The parameters' names, shapes and order: PyTorch's. */
START_TEST(proj_parameters) {
    tg_rng r;
    tg_rng_seed(&r, 3);
    char err[256] = "";
    tg_rnn_options o = {.mode = TG_LSTM,
                        .input_size = 5,
                        .hidden_size = 8,
                        .proj_size = 3,
                        .num_layers = 2,
                        .bidirectional = true};
    tg_rnn *m = tg_rnn_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_int_eq(tg_rnn_h_size(m), 3);
    static const char *const names[] = {
        "weight_ih_l0",         "weight_hh_l0",         "bias_ih_l0",           "bias_hh_l0",
        "weight_hr_l0",         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
        "bias_hh_l0_reverse",   "weight_hr_l0_reverse", "weight_ih_l1",         "weight_hh_l1",
        "bias_ih_l1",           "bias_hh_l1",           "weight_hr_l1",         "weight_ih_l1_reverse",
        "weight_hh_l1_reverse", "bias_ih_l1_reverse",   "bias_hh_l1_reverse",   "weight_hr_l1_reverse"};
    const tg_params *ps = tg_module_params(&m->base);
    ck_assert_int_eq(ps->n, 20);
    for (int i = 0; i < 20; i++) ck_assert_str_eq(ps->items[i].name, names[i]);
    ck_assert_int_eq(m->w_hr[0]->shape[0], 3);
    ck_assert_int_eq(m->w_hr[0]->shape[1], 8);
    ck_assert_int_eq(m->w_hh[0]->shape[0], 32);
    ck_assert_int_eq(m->w_hh[0]->shape[1], 3);
    ck_assert_int_eq(m->w_ih[2]->shape[1], 6); /* the next layer reads 2 * P */
    for (int64_t i = 0; i < m->w_hr[3]->numel; i++) /* U(-1/sqrt(H), 1/sqrt(H)) as PyTorch */
        ck_assert(fabs((double)m->w_hr[3]->data[i]) <= 1 / sqrt(8.0));
    tg_module_free(&m->base);

    /* without proj_size nothing changes */
    o.proj_size = 0;
    m = tg_rnn_new(o, &r, err, sizeof err);
    ck_assert_ptr_null(m->w_hr);
    ck_assert_int_eq(tg_module_params(&m->base)->n, 16);
    ck_assert_int_eq(tg_rnn_h_size(m), 8);
    tg_module_free(&m->base);
}
END_TEST

START_TEST(proj_bad_options) {
    tg_rng r;
    tg_rng_seed(&r, 3);
    char err[256] = "";
    tg_rnn_options o = {.mode = TG_LSTM, .input_size = 5, .hidden_size = 4, .proj_size = 4};
    ck_assert_ptr_null(tg_rnn_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err,
                     "rnn: proj_size must be 0 (off) or in 1..3 (below hidden_size 4), got 4");
    o.proj_size = -2;
    ck_assert_ptr_null(tg_rnn_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err,
                     "rnn: proj_size must be 0 (off) or in 1..3 (below hidden_size 4), got -2");
    o.proj_size = 2, o.mode = TG_GRU;
    ck_assert_ptr_null(tg_rnn_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "rnn: proj_size is for the lstm cell only, not \"gru\"");
    o.mode = TG_RNN_TANH;
    ck_assert_ptr_null(tg_rnn_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "rnn: proj_size is for the lstm cell only, not \"rnn_tanh\"");

    /* h0 is P wide, c0 H wide: the other widths are named */
    o.mode = TG_LSTM;
    tg_rnn *m = tg_rnn_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_zeros(t, TG_SHAPE(3, 2, 5));
    tg_rnn_result res;
    ck_assert_int_eq(tg_rnn_forward(t, m, x, tg_zeros(t, TG_SHAPE(1, 2, 4)), NULL, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_rnn_forward: h0 [1,2,4]: expected [1, 2, 2]");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(3, 2, 5));
    ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, tg_zeros(t, TG_SHAPE(1, 2, 2)), NULL, &res),
                     -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_rnn_forward: c0 [1,2,2]: expected [1, 2, 4]");
    tg_tape_reset(t);
    /* the fused step names an h wider than c */
    tg_tensor *gx = tg_zeros(t, TG_SHAPE(2, 16)), *h = tg_zeros(t, TG_SHAPE(2, 5));
    ck_assert_ptr_null(tg_lstm_step(t, gx, h, tg_zeros(t, TG_SHAPE(16, 5)), NULL,
                                    tg_zeros(t, TG_SHAPE(2, 4))));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_lstm_step: h [2,5] is wider than c [2,4]: expected [B,P] with P <= H");
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* ---- recompute, tokens, gradcheck ------------------------------------------- */

enum { T = 6, B = 3, I = 4, H = 5, P = 2 };

typedef struct setup {
    int layers;
    bool bidirectional, lengths, tokens, composed;
} setup;

/* Every parameter's gradient, then x's (or the embedding's), h0's and c0's,
 * then the output and h_n, after one forward and backward, into buf. */
static int64_t run(const setup *s, tg_rnn_memory mem, tg_real *buf) {
    tg_rng r;
    tg_rng_seed(&r, 7);
    int D = s->bidirectional ? 2 : 1;
    tg_rnn_options o = {.mode = TG_LSTM,
                        .input_size = I,
                        .hidden_size = H,
                        .proj_size = P,
                        .num_layers = s->layers,
                        .bidirectional = s->bidirectional,
                        .composed = s->composed,
                        .memory = mem};
    char err[256] = "";
    tg_rnn *m = tg_rnn_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_embedding *emb = tg_embedding_new(4, I, -1, &r);
    tg_tensor *x = tg_param_new(TG_SHAPE(T, B, I));
    tg_tensor *h0 = tg_param_new(TG_SHAPE(s->layers * D, B, P));
    tg_tensor *c0 = tg_param_new(TG_SHAPE(s->layers * D, B, H));
    tg_init_uniform(x, &r, -2, 2);
    tg_init_uniform(h0, &r, -1, 1);
    tg_init_uniform(c0, &r, -1, 1);
    int64_t ids[T * B], lens[B] = {T, 2, 5};
    for (int64_t i = 0; i < T * B; i++) ids[i] = (i * 3 + 1) % 4;
    tg_tape *t = tg_tape_new();
    tg_rnn_result res;
    const int64_t *len = s->lengths ? lens : NULL;
    int st = s->tokens ? tg_rnn_forward_tokens(t, m, emb, ids, TG_SHAPE(T, B), h0, c0, len, &res)
                       : tg_rnn_forward(t, m, x, h0, c0, len, &res);
    ck_assert_msg(st == 0, "%s", tg_tape_error(t));
    ck_assert_int_eq(res.output->shape[2], D * P);
    ck_assert_int_eq(res.h_n->shape[2], P);
    ck_assert_int_eq(res.c_n->shape[2], H);
    tg_tensor *w = tg_rand_uniform(t, &r, tg_tensor_shape(res.output), -1, 1);
    tg_tensor *loss =
        tg_add(t, tg_sum(t, tg_mul(t, res.output, w)), tg_sum(t, tg_square(t, res.h_n)));
    loss = tg_add(t, loss, tg_sum(t, tg_scale(t, res.c_n, 0.7)));
    ck_assert_msg(tg_backward(t, loss) == 0, "%s", tg_tape_error(t));
    int64_t n = 0;
    const tg_params *p = tg_module_params(&m->base);
    for (int k = 0; k < p->n; k++) {
        memcpy(buf + n, p->items[k].tensor->grad, (size_t)p->items[k].tensor->numel * sizeof *buf);
        n += p->items[k].tensor->numel;
    }
    tg_tensor *more[3] = {s->tokens ? emb->weight : x, h0, c0};
    for (int k = 0; k < 3; k++) {
        ck_assert_ptr_nonnull(more[k]->grad);
        memcpy(buf + n, more[k]->grad, (size_t)more[k]->numel * sizeof *buf);
        n += more[k]->numel;
    }
    tg_copy_to(res.output, buf + n);
    n += res.output->numel;
    tg_copy_to(res.h_n, buf + n);
    n += res.h_n->numel;
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_tensor_free(h0);
    tg_tensor_free(c0);
    tg_module_free(&emb->base);
    tg_module_free(&m->base);
    return n;
}

/* Recomputed segments of 1, 2, 3, sqrt-ish and T steps give the full
 * tape's bits; and composed equals fused closely. */
START_TEST(proj_recompute_same_bits) {
    enum { MAX = 1 << 14 };
    static tg_real full[MAX], rec[MAX];
    setup cases[] = {{.layers = 1},
                     {.layers = 2, .bidirectional = true, .lengths = true},
                     {.layers = 2, .tokens = true, .lengths = true},
                     {.layers = 1, .bidirectional = true, .composed = true}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t n = run(&cases[c], (tg_rnn_memory){0}, full);
        ck_assert_int_le(n, MAX);
        int64_t ks[] = {1, 2, 3, 0, T};
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            int64_t m = run(&cases[c], (tg_rnn_memory){.recompute = true, .segment = ks[i]}, rec);
            ck_assert_int_eq(m, n);
            for (int64_t j = 0; j < n; j++)
                ck_assert_msg(memcmp(&full[j], &rec[j], sizeof full[j]) == 0,
                              "case %zu k %lld: value %lld: full %.17g, recomputed %.17g", c,
                              (long long)ks[i], (long long)j, (double)full[j], (double)rec[j]);
        }
        setup other = cases[c];
        other.composed = !other.composed;
        ck_assert_int_eq(run(&other, (tg_rnn_memory){0}, rec), n);
        for (int64_t j = 0; j < n; j++) ck_assert_close(rec[j], full[j], TG_TOL);
    }
}
END_TEST

typedef struct grad_ctx {
    tg_rnn *m;
    const int64_t *lengths;
} grad_ctx;

/* in: x, h0, c0, then the module's parameters (read through the module) */
static tg_tensor *proj_loss(tg_tape *t, tg_tensor *const *in, void *ctx) {
    grad_ctx *c = ctx;
    tg_rnn_result r;
    if (tg_rnn_forward(t, c->m, in[0], in[1], in[2], c->lengths, &r) != 0) return NULL;
    tg_tensor *l = tg_add(t, tg_sum(t, tg_square(t, r.output)), tg_sum(t, tg_tanh(t, r.h_n)));
    return tg_add(t, l, tg_sum(t, tg_square(t, r.c_n)));
}

START_TEST(proj_gradcheck) {
    tg_rng r;
    tg_rng_seed(&r, 11);
    char err[256] = "";
    for (int composed = 0; composed < 2; composed++) {
        tg_rnn_options o = {.mode = TG_LSTM,
                            .input_size = 3,
                            .hidden_size = 4,
                            .proj_size = 2,
                            .num_layers = 2,
                            .bidirectional = true,
                            .composed = composed};
        tg_rnn *m = tg_rnn_new(o, &r, err, sizeof err);
        ck_assert_msg(m != NULL, "%s", err);
        tg_tensor *in[3 + 40];
        in[0] = tg_param_new(TG_SHAPE(4, 2, 3));
        in[1] = tg_param_new(TG_SHAPE(4, 2, 2));
        in[2] = tg_param_new(TG_SHAPE(4, 2, 4));
        for (int k = 0; k < 3; k++) tg_init_uniform(in[k], &r, -1, 1);
        const tg_params *ps = tg_module_params(&m->base);
        ck_assert_int_le(ps->n, 40);
        for (int k = 0; k < ps->n; k++) in[3 + k] = ps->items[k].tensor;
        int64_t lengths[2] = {4, 2};
        grad_ctx ctx = {m, lengths};
        ck_assert_gradcheck(proj_loss, &ctx, 3 + ps->n, in);
        for (int k = 0; k < 3; k++) tg_tensor_free(in[k]);
        tg_module_free(&m->base);
    }
}
END_TEST

TCase *tcase_rnn_proj(void) {
    TCase *tc = tcase_create("rnn_proj");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, proj_matches_pytorch, 0, N_CONFIGS);
    tcase_add_test(tc, proj_parameters);
    tcase_add_test(tc, proj_bad_options);
    tcase_add_test(tc, proj_recompute_same_bits);
    tcase_add_test(tc, proj_gradcheck);
    return tc;
}
