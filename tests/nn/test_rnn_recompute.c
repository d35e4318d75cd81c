/* memory.recompute: a layer that keeps only every k-th state and recomputes
 * its segments in backward gives the full tape's gradients bit for bit
 * (memcmp, not a tolerance), for every mode, stacked and bidirectional, with
 * lengths, dropout and token ids, at any segment length. */
#include <string.h>

#include "testutil.h"

enum { T = 7, B = 3, I = 4, H = 5 };
/* (the sizes run() uses unless a setup gives its own) */
static const int64_t def_T = T, def_B = B, def_H = H;

typedef struct setup {
    tg_rnn_mode mode;
    int layers;
    bool bidirectional, lengths, dropout, composed, tokens, h0;
    int64_t T, B, H; /* 0: the defaults above */
} setup;

/* Every gradient (parameters, then x or the embedding, then h0) and the
 * output, after one forward and backward with memory `mem`, into buf. */
static int64_t run(const setup *s, tg_rnn_memory mem, tg_real *buf) {
    int64_t T = s->T ? s->T : def_T, B = s->B ? s->B : def_B, H = s->H ? s->H : def_H;
    tg_rng r;
    tg_rng_seed(&r, 5);
    tg_rnn_options o = {.mode = s->mode,
                        .input_size = I,
                        .hidden_size = H,
                        .num_layers = s->layers,
                        .bidirectional = s->bidirectional,
                        .dropout = s->dropout ? 0.3 : 0,
                        .seed = 9,
                        .composed = s->composed,
                        .memory = mem};
    char err[256] = "";
    tg_rnn *m = tg_rnn_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_embedding *emb = tg_embedding_new(6, I, -1, &r);
    int D = s->bidirectional ? 2 : 1;
    tg_tensor *x = tg_param_new(TG_SHAPE(T, B, I)),
              *h0 = tg_param_new(TG_SHAPE(s->layers * D, B, H));
    tg_init_uniform(x, &r, -2, 2);
    tg_init_uniform(h0, &r, -1, 1);
    int64_t *ids = malloc((size_t)(T * B) * sizeof *ids), *lens = malloc((size_t)B * sizeof *lens);
    for (int64_t i = 0; i < T * B; i++) ids[i] = (i * 5 + 1) % 6;
    for (int64_t b = 0; b < B; b++) lens[b] = b == 0 ? T : 1 + (b * 5) % T;
    tg_tape *t = tg_tape_new();
    tg_rnn_result res;
    int st = s->tokens
                 ? tg_rnn_forward_tokens(t, m, emb, ids, TG_SHAPE(T, B), s->h0 ? h0 : NULL, NULL,
                                         s->lengths ? lens : NULL, &res)
                 : tg_rnn_forward(t, m, x, s->h0 ? h0 : NULL, NULL, s->lengths ? lens : NULL, &res);
    ck_assert_msg(st == 0, "%s", tg_tape_error(t));
    /* weights on every output so that each gets its own gradient */
    tg_tensor *w = tg_rand_uniform(t, &r, tg_tensor_shape(res.output), -1, 1);
    tg_tensor *loss =
        tg_add(t, tg_sum(t, tg_mul(t, res.output, w)), tg_sum(t, tg_square(t, res.h_n)));
    if (res.c_n) loss = tg_add(t, loss, tg_sum(t, tg_scale(t, res.c_n, 0.7)));
    ck_assert_msg(tg_backward(t, loss) == 0, "%s", tg_tape_error(t));
    int64_t n = 0;
    const tg_params *p = tg_module_params(&m->base);
    for (int k = 0; k < p->n; k++) {
        memcpy(buf + n, p->items[k].tensor->grad, (size_t)p->items[k].tensor->numel * sizeof *buf);
        n += p->items[k].tensor->numel;
    }
    tg_tensor *more[3] = {s->tokens ? emb->weight : x, s->h0 ? h0 : NULL, NULL};
    for (int k = 0; k < 2 && more[k]; k++) {
        ck_assert_ptr_nonnull(more[k]->grad);
        memcpy(buf + n, more[k]->grad, (size_t)more[k]->numel * sizeof *buf);
        n += more[k]->numel;
    }
    tg_copy_to(res.output, buf + n);
    n += res.output->numel;
    tg_tape_free(t);
    free(ids);
    free(lens);
    tg_tensor_free(x);
    tg_tensor_free(h0);
    tg_module_free(&emb->base);
    tg_module_free(&m->base);
    return n;
}

/* Recompute at k = 1, 2, 3, about sqrt(T), T and more than T equals the
 * full tape, bit for bit. */
static void same_bits(setup s) {
    enum { MAX = 1 << 18 };
    static tg_real full[MAX], rec[MAX];
    int64_t n = run(&s, (tg_rnn_memory){0}, full), T = s.T ? s.T : def_T;
    ck_assert_int_le(n, MAX);
    int64_t ks[] = {1, 2, 3, 0, T, T + 5};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        int64_t m = run(&s, (tg_rnn_memory){.recompute = true, .segment = ks[i]}, rec);
        ck_assert_int_eq(m, n);
        for (int64_t j = 0; j < n; j++)
            ck_assert_msg(memcmp(&full[j], &rec[j], sizeof full[j]) == 0,
                          "mode %d layers %d bi %d lengths %d dropout %d tokens %d k %lld: "
                          "value %lld: full %.17g, recomputed %.17g",
                          (int)s.mode, s.layers, s.bidirectional, s.lengths, s.dropout, s.tokens,
                          (long long)ks[i], (long long)j, (double)full[j], (double)rec[j]);
    }
}

START_TEST(recompute_elman_lstm_gru) {
    tg_rnn_mode modes[] = {TG_RNN_TANH, TG_RNN_RELU, TG_LSTM, TG_GRU};
    for (int i = 0; i < 4; i++) same_bits((setup){.mode = modes[i], .layers = 1});
}
END_TEST

START_TEST(recompute_bidirectional_stacked_lengths_dropout) {
    tg_rnn_mode modes[] = {TG_RNN_TANH, TG_LSTM, TG_GRU};
    for (int i = 0; i < 3; i++)
        for (int len = 0; len < 2; len++)
            same_bits((setup){.mode = modes[i],
                              .layers = 2,
                              .bidirectional = true,
                              .lengths = len,
                              .dropout = true,
                              .h0 = true});
}
END_TEST

START_TEST(recompute_tokens_and_composed) {
    tg_rnn_mode modes[] = {TG_RNN_TANH, TG_LSTM, TG_GRU};
    for (int i = 0; i < 3; i++) {
        same_bits((setup){.mode = modes[i], .layers = 2, .tokens = true, .lengths = true});
        same_bits((setup){.mode = modes[i], .layers = 1, .composed = true, .lengths = true});
    }
}
END_TEST

static void deep_grads(bool skip, tg_rnn_memory mem, tg_real *buf, int64_t *n) {
    tg_rng r;
    tg_rng_seed(&r, 8);
    tg_deep_rnn *m = tg_deep_rnn_new(
        (tg_deep_rnn_options){
            .input_size = I, .hidden_size = H, .depth = 2, .skip = skip, .memory = mem},
        &r, NULL, 0);
    ck_assert_ptr_nonnull(m);
    tg_tensor *x = tg_param_new(TG_SHAPE(T, B, I)), *h0 = tg_param_new(TG_SHAPE(B, H));
    tg_init_uniform(x, &r, -2, 2);
    tg_init_uniform(h0, &r, -1, 1);
    tg_tape *t = tg_tape_new();
    tg_deep_rnn_result res;
    ck_assert_int_eq(tg_deep_rnn_forward(t, m, x, h0, &res), 0);
    tg_tensor *w = tg_rand_uniform(t, &r, tg_tensor_shape(res.output), -1, 1);
    tg_tensor *loss =
        tg_add(t, tg_sum(t, tg_mul(t, res.output, w)), tg_sum(t, tg_square(t, res.h_n)));
    ck_assert_msg(tg_backward(t, loss) == 0, "%s", tg_tape_error(t));
    const tg_params *p = tg_module_params(&m->base);
    *n = 0;
    for (int k = 0; k <= p->n + 1; k++) {
        tg_tensor *g = k < p->n ? p->items[k].tensor : k == p->n ? x : h0;
        memcpy(buf + *n, g->grad, (size_t)g->numel * sizeof *buf);
        *n += g->numel;
    }
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_tensor_free(h0);
    tg_module_free(&m->base);
}

/* deep_rnn (a deep transition, with and without skip) too. */
START_TEST(recompute_deep_rnn) {
    static tg_real full[4096], rec[4096];
    for (int skip = 0; skip < 2; skip++) {
        int64_t n, m;
        deep_grads(skip, (tg_rnn_memory){0}, full, &n);
        int64_t ks[] = {1, 2, 3, 0, T};
        for (int i = 0; i < 5; i++) {
            deep_grads(skip, (tg_rnn_memory){.recompute = true, .segment = ks[i]}, rec, &m);
            ck_assert_int_eq(m, n);
            ck_assert_msg(memcmp(full, rec, (size_t)n * sizeof *full) == 0, "skip %d k %lld", skip,
                          (long long)ks[i]);
        }
    }
    char err[256];
    tg_rng r;
    tg_rng_seed(&r, 1);
    ck_assert_ptr_null(tg_deep_rnn_new(
        (tg_deep_rnn_options){.input_size = 1, .hidden_size = 1, .memory = {.segment = 3}}, &r, err,
        sizeof err));
    ck_assert_str_eq(err, "deep_rnn: memory.segment is given but memory.recompute is off");
}
END_TEST

/* Long enough for W_hh's gathered gradient to fill its buffer several
 * times (TG_GATHER_MAX in autograd/tape.c): the buffer's flushes fall on
 * the same rows whatever k is. */
START_TEST(recompute_gather_boundaries) {
    same_bits((setup){.mode = TG_LSTM, .layers = 1, .T = 48, .B = 48, .H = 64, .lengths = true});
    same_bits((setup){.mode = TG_GRU, .layers = 1, .T = 48, .B = 48, .H = 64});
}
END_TEST

/* A budget picks k; a small one still works (k = 1). */
START_TEST(recompute_budget) {
    enum { MAX = 1 << 14 };
    static tg_real full[MAX], rec[MAX];
    setup s = {.mode = TG_LSTM, .layers = 1, .lengths = true};
    int64_t n = run(&s, (tg_rnn_memory){0}, full);
    double budgets[] = {1e-6, 0.001, 100};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(run(&s, (tg_rnn_memory){.recompute = true, .budget_mb = budgets[i]}, rec),
                         n);
        ck_assert(memcmp(full, rec, (size_t)n * sizeof *full) == 0);
    }
}
END_TEST

static tg_tensor *recomputed_lstm(tg_tape *t, tg_tensor *const *in, void *ctx) {
    tg_rnn *m = ctx;
    int64_t lens[B] = {T, 3, 6};
    tg_rnn_result r;
    if (tg_rnn_forward(t, m, in[0], NULL, NULL, lens, &r) != 0) return NULL;
    tg_tensor *parts[3] = {tg_reshape(t, r.output, TG_SHAPE(T * B * 2 * H)),
                           tg_reshape(t, r.h_n, TG_SHAPE(2 * B * H)),
                           tg_reshape(t, r.c_n, TG_SHAPE(2 * B * H))};
    return tg_concat(t, 3, parts, 0);
}

/* Central differences through a recomputed, bidirectional LSTM (double
 * build): the gradients are the function's. */
START_TEST(recompute_gradcheck) {
    tg_rng r;
    tg_rng_seed(&r, 2);
    tg_rnn *m = tg_rnn_new((tg_rnn_options){.mode = TG_LSTM,
                                            .input_size = I,
                                            .hidden_size = H,
                                            .bidirectional = true,
                                            .memory = {.recompute = true, .segment = 3}},
                           &r, NULL, 0);
    ck_assert_ptr_nonnull(m);
    tg_tensor *x = tg_param_new(TG_SHAPE(T, B, I));
    tg_init_uniform(x, &r, -1, 1);
    const tg_params *p = tg_module_params(&m->base);
    tg_tensor *in[16] = {x};
    for (int k = 0; k < p->n; k++) in[1 + k] = p->items[k].tensor;
    ck_assert_gradcheck(recomputed_lstm, m, 1 + p->n, in);
    tg_tensor_free(x);
    tg_module_free(&m->base);
}
END_TEST

/* Bad memory options are refused, naming the field. */
START_TEST(recompute_bad_options) {
    struct {
        tg_rnn_memory mem;
        const char *msg;
    } cases[] = {
        {{.recompute = true, .segment = -2},
         "rnn: memory.segment must be positive (or 0 for the default), got -2"},
        {{.recompute = true, .budget_mb = -1},
         "rnn: memory.budget_mb must be a positive number of MB, got -1"},
        {{.recompute = true, .budget_mb = NAN},
         "rnn: memory.budget_mb must be a positive number of MB, got nan"},
        {{.recompute = true, .segment = 4, .budget_mb = 10},
         "rnn: memory.segment and memory.budget_mb are both given; give one"},
        {{.segment = 4}, "rnn: memory.segment is given but memory.recompute is off"},
        {{.budget_mb = 4}, "rnn: memory.budget_mb is given but memory.recompute is off"},
    };
    tg_rng r;
    tg_rng_seed(&r, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        tg_rnn *m = tg_rnn_new(
            (tg_rnn_options){
                .mode = TG_GRU, .input_size = 2, .hidden_size = 3, .memory = cases[i].mem},
            &r, err, sizeof err);
        ck_assert_ptr_null(m);
        ck_assert_str_eq(err, cases[i].msg);
    }
}
END_TEST

/* Forward only (no gradients recorded) does not recompute and gives the
 * same output; a tape reused for several steps stays exact. */
START_TEST(recompute_no_grad_and_reuse) {
    tg_rng r;
    tg_rng_seed(&r, 3);
    tg_rnn *m = tg_rnn_new((tg_rnn_options){.mode = TG_LSTM,
                                            .input_size = I,
                                            .hidden_size = H,
                                            .memory = {.recompute = true, .segment = 2}},
                           &r, NULL, 0);
    tg_tensor *x = tg_param_new(TG_SHAPE(T, B, I));
    tg_init_uniform(x, &r, -1, 1);
    tg_tape *t = tg_tape_new();
    tg_real first[T * B * H];
    for (int step = 0; step < 3; step++) {
        tg_tape_reset(t);
        tg_set_grad_enabled(t, step != 1);
        tg_rnn_result res;
        ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, NULL, NULL, &res), 0);
        if (step == 0) tg_copy_to(res.output, first);
        for (int64_t i = 0; i < res.output->numel; i++) ck_assert(tg_at(res.output, i) == first[i]);
        if (step != 1) ck_assert_int_eq(tg_backward(t, tg_sum(t, res.output)), 0);
    }
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_module_free(&m->base);
}
END_TEST

TCase *tcase_rnn_recompute(void) {
    TCase *tc = tcase_create("rnn_recompute");
    tcase_add_test(tc, recompute_elman_lstm_gru);
    tcase_add_test(tc, recompute_bidirectional_stacked_lengths_dropout);
    tcase_add_test(tc, recompute_tokens_and_composed);
    tcase_add_test(tc, recompute_gather_boundaries);
    tcase_add_test(tc, recompute_deep_rnn);
    tcase_add_test(tc, recompute_budget);
    tcase_add_test(tc, recompute_gradcheck);
    tcase_add_test(tc, recompute_bad_options);
    tcase_add_test(tc, recompute_no_grad_and_reuse);
    return tc;
}
