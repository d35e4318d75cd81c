/* The fast paths give the same numbers as the general ones, forward and
 * backward: the fused LSTM/GRU kernels as the composed reference (every
 * gate an elementary op), a layer on token ids as the layer on their
 * embedding, two threads as one. */
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

/* The sum of every gradient of m's and e's parameters, for comparing two
 * copies; values one by one are compared by the caller through *out. */
static void copy_grads(const tg_module *m, const tg_module *e, tg_real *out, int64_t *n) {
    const tg_module *mods[2] = {m, e};
    *n = 0;
    for (int j = 0; j < 2; j++) {
        const tg_params *p = tg_module_params((tg_module *)mods[j]);
        for (int k = 0; k < p->n; k++)
            for (int64_t i = 0; i < p->items[k].tensor->numel; i++)
                out[(*n)++] = p->items[k].tensor->grad[i];
    }
}

/* tg_rnn_forward_tokens(emb, ids) against tg_rnn_forward(tg_embedding_forward
 * (emb, ids)) on two identical copies: outputs, final states and every
 * parameter's gradient (the embedding's included). vocab 4 < 18 tokens
 * takes the per-vocabulary product; vocab 30 and a padding_idx do not. */
static void compare_tokens(tg_rnn_mode mode, bool bi, bool batch_first, bool lengths,
                           int64_t vocab, int64_t padding_idx, bool grad) {
    tg_rnn *rnn[2];
    tg_embedding *emb[2];
    for (int w = 0; w < 2; w++) {
        tg_rng r;
        tg_rng_seed(&r, 8);
        emb[w] = tg_embedding_new(vocab, 5, padding_idx, &r);
        rnn[w] = tg_rnn_new((tg_rnn_options){.mode = mode, .input_size = 5, .hidden_size = 4,
                                             .num_layers = 2, .bidirectional = bi,
                                             .batch_first = batch_first},
                            &r, NULL, 0);
        ck_assert_ptr_nonnull(rnn[w]);
    }
    int64_t ids[18], lens[3] = {6, 2, 5};
    for (int i = 0; i < 18; i++) ids[i] = (i * 7 + i / 5) % vocab;
    tg_shape shape = batch_first ? TG_SHAPE(3, 6) : TG_SHAPE(6, 3);
    tg_real out[2][6 * 3 * 8], hn[2][4 * 3 * 4], grads[2][2000];
    int64_t ng[2];
    for (int w = 0; w < 2; w++) {
        tg_tape *t = tg_tape_new();
        tg_set_grad_enabled(t, grad);
        tg_rnn_result res;
        int status = w ? tg_rnn_forward_tokens(t, rnn[w], emb[w], ids, shape, NULL, NULL,
                                               lengths ? lens : NULL, &res)
                       : tg_rnn_forward(t, rnn[w], tg_embedding_forward(t, emb[w], ids, shape),
                                        NULL, NULL, lengths ? lens : NULL, &res);
        ck_assert_msg(status == 0, "%s", tg_tape_error(t));
        ck_assert_int_eq((int)res.output->numel, 6 * 3 * (bi ? 8 : 4));
        for (int64_t i = 0; i < res.output->numel; i++) out[w][i] = tg_at(res.output, i);
        for (int64_t i = 0; i < res.h_n->numel; i++) hn[w][i] = tg_at(res.h_n, i);
        if (grad) {
            tg_module_zero_grad(&rnn[w]->base);
            tg_module_zero_grad(&emb[w]->base);
            tg_tensor *loss = tg_add(t, tg_sum(t, tg_square(t, res.output)), tg_sum(t, res.h_n));
            ck_assert_int_eq(tg_backward(t, loss), 0);
            copy_grads(&rnn[w]->base, &emb[w]->base, grads[w], &ng[w]);
        }
        tg_tape_free(t);
    }
    for (int64_t i = 0; i < 6 * 3 * (bi ? 8 : 4); i++) ck_assert_close(out[1][i], out[0][i], 1e-5);
    for (int64_t i = 0; i < 4 * (bi ? 2 : 1) * 3; i++) ck_assert_close(hn[1][i], hn[0][i], 1e-5);
    for (int64_t i = 0; grad && i < ng[0]; i++) ck_assert_close(grads[1][i], grads[0][i], 1e-5);
    ck_assert(!grad || ng[0] > 100);
    for (int w = 0; w < 2; w++) {
        tg_module_free(&rnn[w]->base);
        tg_module_free(&emb[w]->base);
    }
}

START_TEST(tokens_equal_embedding_then_layer) {
    tg_rnn_mode modes[3] = {TG_RNN_TANH, TG_LSTM, TG_GRU};
    for (int m = 0; m < 3; m++)
        for (int c = 0; c < 8; c++) compare_tokens(modes[m], c & 1, c & 2, c & 4, 4, -1, true);
    compare_tokens(TG_LSTM, true, true, true, 4, -1, false); /* inference */
    compare_tokens(TG_LSTM, false, false, false, 30, -1, true);
    compare_tokens(TG_LSTM, false, true, true, 4, 2, true);
}
END_TEST

START_TEST(tokens_bad_input) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_embedding *emb = tg_embedding_new(4, 5, -1, &r), *wide = tg_embedding_new(4, 6, -1, &r);
    tg_rnn *rnn = tg_rnn_new((tg_rnn_options){.mode = TG_LSTM, .input_size = 5, .hidden_size = 3},
                             &r, NULL, 0);
    int64_t ids[6] = {0, 1, 2, 3, 9, 1};
    struct {
        tg_embedding *e;
        tg_shape shape;
        const char *want;
    } cases[] = {
        {emb, TG_SHAPE(3, 2), "tg_rnn_forward_tokens: ids[4] = 9 is outside [0, 4)"},
        {wide, TG_SHAPE(2, 2), "tg_rnn_forward: input [2,2,6]: expected [T, B, 5]"},
        {emb, TG_SHAPE(4), "tg_rnn_forward: input [4,5]: expected [T, B, 5]"},
        {NULL, TG_SHAPE(2, 2), "tg_rnn_forward_tokens: embedding is NULL"},
        {emb, TG_SHAPE(2, 2), "tg_rnn_forward_tokens: ids is NULL"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tg_tape *t = tg_tape_new();
        tg_rnn_result res;
        const int64_t *pick = c == 4 ? NULL : ids;
        ck_assert_int_eq(tg_rnn_forward_tokens(t, rnn, cases[c].e, pick, cases[c].shape, NULL,
                                               NULL, NULL, &res),
                         -1);
        ck_assert_ptr_null(res.output);
        ck_assert_str_eq(tg_tape_error(t), cases[c].want);
        tg_tape_free(t);
    }
    tg_module_free(&rnn->base);
    tg_module_free(&emb->base);
    tg_module_free(&wide->base);
}
END_TEST

/* Adam steps of a model on tokens, step s at threads[s] threads (a
 * count of 0 ends the list); returns its parameters and last output,
 * concatenated, in a malloc'd array of *n values. */
static tg_real *train_steps(tg_rnn_mode mode, const int *threads, int64_t *n) {
    enum { T = 10, B = 20, V = 10 };
    tg_rng r;
    tg_rng_seed(&r, 4);
    tg_embedding *emb = tg_embedding_new(V, 8, -1, &r);
    tg_rnn *rnn = tg_rnn_new(
        (tg_rnn_options){.mode = mode, .input_size = 8, .hidden_size = 256}, &r, NULL, 0);
    const tg_params *pe = tg_module_params(&emb->base), *pr = tg_module_params(&rnn->base);
    tg_tensor *params[8];
    int np = 0;
    for (int i = 0; i < pe->n; i++) params[np++] = pe->items[i].tensor;
    for (int i = 0; i < pr->n; i++) params[np++] = pr->items[i].tensor;
    tg_optim *opt = tg_optim_adam(params, np, (tg_adam_options){.lr = 0.01});
    int64_t ids[T * B];
    for (int i = 0; i < T * B; i++) ids[i] = (i * 7 + i / 9) % V;
    int64_t total = T * B * 256;
    for (int i = 0; i < np; i++) total += params[i]->numel;
    tg_real *out = malloc((size_t)total * sizeof *out);
    tg_tape *t = tg_tape_new();
    for (int s = 0; threads[s]; s++) {
        tg_set_threads(threads[s]);
        tg_tape_reset(t);
        tg_rnn_result res;
        ck_assert_int_eq(
            tg_rnn_forward_tokens(t, rnn, emb, ids, TG_SHAPE(T, B), NULL, NULL, NULL, &res), 0);
        for (int64_t i = 0; i < T * B * 256; i++) out[i] = tg_at(res.output, i);
        tg_optim_zero_grad(opt);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_square(t, res.output))), 0);
        tg_optim_step(opt);
    }
    *n = T * B * 256;
    for (int i = 0; i < np; i++)
        for (int64_t e = 0; e < params[i]->numel; e++) out[(*n)++] = params[i]->data[e];
    tg_tape_free(t);
    tg_optim_free(opt);
    tg_module_free(&rnn->base);
    tg_module_free(&emb->base);
    return out;
}

/* Cell rows and parameter elements are split over threads in
 * contiguous parts, each computed as on one thread: every value is the
 * same bit for bit (shapes large enough that every split happens). */
static void same_bits(const int *a, const int *b) {
    tg_rnn_mode modes[2] = {TG_LSTM, TG_GRU};
    for (int m = 0; m < 2; m++) {
        int64_t n1, n2;
        tg_real *one = train_steps(modes[m], a, &n1), *two = train_steps(modes[m], b, &n2);
        ck_assert_int_eq((int)n1, (int)n2);
        for (int64_t i = 0; i < n1; i++)
            ck_assert_msg(one[i] == two[i], "mode %d value %lld: %.17g vs %.17g", m,
                          (long long)i, (double)one[i], (double)two[i]);
        free(one);
        free(two);
    }
}

START_TEST(two_threads_give_the_same_bits) {
    same_bits((const int[]){1, 1, 0}, (const int[]){2, 2, 0});
}
END_TEST

/* A step loop under tg_threads_auto changes the count between steps
 * (core/threads_auto.c): training is the same bit for bit as at one count. */
START_TEST(changing_threads_between_steps_gives_the_same_bits) {
    same_bits((const int[]){1, 1, 1, 1, 0}, (const int[]){2, 1, 2, 1, 0});
    same_bits((const int[]){2, 2, 2, 2, 0}, (const int[]){1, 2, 2, 1, 0});
}
END_TEST

TCase *tcase_rnn_fused(void) {
    TCase *tc = tcase_create("rnn_fused");
    tcase_add_test(tc, fused_equals_composed);
    tcase_add_test(tc, tokens_equal_embedding_then_layer);
    tcase_add_test(tc, tokens_bad_input);
    tcase_add_test(tc, two_threads_give_the_same_bits);
    tcase_add_test(tc, changing_threads_between_steps_gives_the_same_bits);
    return tc;
}
