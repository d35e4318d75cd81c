/* tg_seq_recompute_loss: a whole language-model stack run in segments
 * gives the full tape's loss, gradients and final states (to rounding: the
 * weights' products are summed per segment), for Elman, LSTM, GRU, stacked
 * modules and stacks of modules, with and without carried states, at every
 * segment length from 1 to past T; dropout is drawn again the same in
 * backward; its memory does not grow with T. */
#include <math.h>
#include <string.h>

#include "testutil.h"

enum { V = 7, E = 4, MAXR = 3 };

typedef struct setup {
    tg_rnn_mode mode;
    int n_rnn, layers; /* modules in the stack, layers in each */
    bool dropout, h0;
    int64_t T, B, H;
} setup;

typedef struct net {
    tg_embedding *emb;
    tg_rnn *rnn[MAXR];
    tg_linear_layer *head;
    tg_tensor *h0[MAXR], *c0[MAXR];
    int64_t *ids, *targets;
} net;

static net net_new(const setup *s) {
    net n = {0};
    tg_rng r;
    tg_rng_seed(&r, 11);
    n.emb = tg_embedding_new(V, E, -1, &r);
    for (int i = 0; i < s->n_rnn; i++) {
        char err[256] = "";
        tg_rnn_options o = {.mode = s->mode,
                            .input_size = i ? s->H : E,
                            .hidden_size = s->H,
                            .num_layers = s->layers,
                            .dropout = s->dropout ? 0.4 : 0,
                            .seed = 17 + (uint64_t)i};
        n.rnn[i] = tg_rnn_new(o, &r, err, sizeof err);
        ck_assert_msg(n.rnn[i] != NULL, "%s", err);
        if (s->h0) {
            n.h0[i] = tg_param_new(TG_SHAPE(s->layers, s->B, s->H));
            tg_init_uniform(n.h0[i], &r, -1, 1);
            if (s->mode == TG_LSTM) {
                n.c0[i] = tg_param_new(TG_SHAPE(s->layers, s->B, s->H));
                tg_init_uniform(n.c0[i], &r, -1, 1);
            }
        }
    }
    n.head = tg_linear_layer_new(s->H, V, true, &r);
    n.ids = malloc((size_t)(s->T * s->B) * sizeof *n.ids);
    n.targets = malloc((size_t)(s->T * s->B) * sizeof *n.targets);
    for (int64_t i = 0; i < s->T * s->B; i++)
        n.ids[i] = (i * 5 + 1) % V, n.targets[i] = (i * 3 + 2) % V;
    return n;
}

static void net_free(const setup *s, net *n) {
    for (int i = 0; i < s->n_rnn; i++) {
        tg_module_free(&n->rnn[i]->base);
        tg_tensor_free(n->h0[i]);
        tg_tensor_free(n->c0[i]);
    }
    tg_module_free(&n->emb->base);
    tg_module_free(&n->head->base);
    free(n->ids);
    free(n->targets);
}

/* The loss on the full tape, as a user writes it; h_n, c_n per module. */
static tg_tensor *full_loss(tg_tape *t, const setup *s, net *n, tg_tensor **h_n,
                            tg_tensor **c_n) {
    tg_tensor *x = NULL;
    for (int i = 0; i < s->n_rnn; i++) {
        tg_rnn_result res;
        int st = i == 0 ? tg_rnn_forward_tokens(t, n->rnn[0], n->emb, n->ids,
                                                TG_SHAPE(s->T, s->B), n->h0[0], n->c0[0], NULL,
                                                &res)
                        : tg_rnn_forward(t, n->rnn[i], x, n->h0[i], n->c0[i], NULL, &res);
        ck_assert_msg(st == 0, "%s", tg_tape_error(t));
        x = res.output, h_n[i] = res.h_n, c_n[i] = res.c_n;
    }
    tg_tensor *logits = tg_linear_layer_forward(t, n->head, x);
    return tg_seq_cross_entropy(t, logits, n->targets, NULL, TG_MEAN);
}

static tg_tensor *stack_loss(tg_tape *t, const setup *s, net *n, int64_t k, tg_tensor **h_n,
                             tg_tensor **c_n) {
    tg_seq_stack st = {n->emb, n->rnn, s->n_rnn, n->head};
    return tg_seq_recompute_loss(t, &st, n->ids, n->targets, s->T, s->B,
                                 (tg_rnn_memory){.recompute = true, .segment = k}, n->h0, n->c0,
                                 h_n, c_n);
}

/* Every gradient, the loss and the final states into buf (k < 0: full). */
static int64_t run(const setup *s, int64_t k, tg_real *buf) {
    net n = net_new(s);
    tg_tape *t = tg_tape_new();
    tg_tensor *h_n[MAXR] = {0}, *c_n[MAXR] = {0};
    tg_tensor *loss = k < 0 ? full_loss(t, s, &n, h_n, c_n) : stack_loss(t, s, &n, k, h_n, c_n);
    ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
    ck_assert_msg(tg_backward(t, loss) == 0, "%s", tg_tape_error(t));
    int64_t m = 0;
    tg_module *mods[2 + MAXR] = {&n.emb->base, &n.head->base};
    for (int i = 0; i < s->n_rnn; i++) mods[2 + i] = &n.rnn[i]->base;
    for (int q = 0; q < 2 + s->n_rnn; q++) {
        const tg_params *p = tg_module_params(mods[q]);
        for (int j = 0; j < p->n; j++) {
            memcpy(buf + m, p->items[j].tensor->grad,
                   (size_t)p->items[j].tensor->numel * sizeof *buf);
            m += p->items[j].tensor->numel;
        }
    }
    for (int i = 0; i < s->n_rnn; i++) {
        tg_tensor *v[4] = {n.h0[i], n.c0[i], h_n[i], c_n[i]};
        for (int q = 0; q < 4; q++) {
            if (!v[q]) continue;
            if (q < 2) {
                ck_assert_ptr_nonnull(v[q]->grad);
                memcpy(buf + m, v[q]->grad, (size_t)v[q]->numel * sizeof *buf);
            } else {
                tg_copy_to(v[q], buf + m);
            }
            m += v[q]->numel;
        }
    }
    tg_copy_to(loss, buf + m++);
    tg_tape_free(t);
    net_free(s, &n);
    return m;
}

#ifdef TG_DOUBLE
#define TOL 1e-12
#else
#define TOL 1e-6
#endif

/* Stack at k = 1, 2, 3, the default, T and past T against the full tape. */
static void same_values(setup s) {
    enum { MAX = 1 << 16 };
    static tg_real full[MAX], rec[MAX];
    int64_t n = run(&s, -1, full);
    ck_assert_int_le(n, MAX);
    double scale = 0;
    for (int64_t j = 0; j < n; j++) scale = fmax(scale, fabs((double)full[j]));
    int64_t ks[] = {1, 2, 3, 0, s.T, s.T + 5};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        ck_assert_int_eq(run(&s, ks[i], rec), n);
        for (int64_t j = 0; j < n; j++)
            ck_assert_msg(fabs((double)full[j] - (double)rec[j]) <= TOL * fmax(1, scale),
                          "mode %d rnns %d layers %d h0 %d k %lld: value %lld of %lld: full "
                          "%.17g, stack %.17g",
                          (int)s.mode, s.n_rnn, s.layers, s.h0, (long long)ks[i], (long long)j,
                          (long long)n, (double)full[j], (double)rec[j]);
    }
}

START_TEST(stack_elman_lstm_gru) {
    tg_rnn_mode modes[] = {TG_RNN_TANH, TG_RNN_RELU, TG_LSTM, TG_GRU};
    for (int i = 0; i < 4; i++)
        same_values((setup){.mode = modes[i], .n_rnn = 1, .layers = 1, .T = 9, .B = 3, .H = 5});
}
END_TEST

START_TEST(stack_two_layers_and_carried_state) {
    tg_rnn_mode modes[] = {TG_RNN_TANH, TG_LSTM, TG_GRU};
    for (int i = 0; i < 3; i++) {
        same_values((setup){.mode = modes[i], .n_rnn = 1, .layers = 2, .h0 = true, .T = 8,
                            .B = 2, .H = 4});
        same_values((setup){.mode = modes[i], .n_rnn = 2, .layers = 1, .h0 = true, .T = 7,
                            .B = 3, .H = 4});
    }
}
END_TEST

/* Dropout between stacked layers: one segment (k >= T) draws what the full
 * tape draws, so the two agree. */
START_TEST(stack_dropout_one_segment) {
    setup s = {.mode = TG_LSTM, .n_rnn = 1, .layers = 2, .dropout = true, .T = 6, .B = 2, .H = 4};
    enum { MAX = 4096 };
    static tg_real full[MAX], rec[MAX];
    int64_t n = run(&s, -1, full);
    ck_assert_int_eq(run(&s, s.T, rec), n);
    for (int64_t j = 0; j < n; j++)
        ck_assert_msg(fabs((double)full[j] - (double)rec[j]) <= TOL * fmax(1, fabs(full[j])) * 10,
                      "value %lld: full %.17g, stack %.17g", (long long)j, (double)full[j],
                      (double)rec[j]);
}
END_TEST

/* The generators move on as they do on the full tape, whatever k. */
START_TEST(stack_dropout_generator_moves_on) {
    setup s = {.mode = TG_GRU, .n_rnn = 1, .layers = 2, .dropout = true, .T = 6, .B = 2, .H = 4};
    net a = net_new(&s), b = net_new(&s);
    tg_tape *t = tg_tape_new();
    tg_tensor *h[MAXR], *c[MAXR];
    ck_assert_ptr_nonnull(stack_loss(t, &s, &a, 2, h, c));
    ck_assert_ptr_nonnull(full_loss(t, &s, &b, h, c));
    ck_assert_uint_eq(tg_rng_u64(&a.rnn[0]->rng), tg_rng_u64(&b.rnn[0]->rng));
    tg_tape_free(t);
    net_free(&s, &a);
    net_free(&s, &b);
}
END_TEST

typedef struct gc_ctx {
    setup s;
    net *n;
    tg_rng rng0;
} gc_ctx;

/* The stack in segments of 2 with dropout, its generator set back first so
 * every evaluation draws the same masks. */
static tg_tensor *gc_stack(tg_tape *t, tg_tensor *const *in, void *arg) {
    (void)in;
    gc_ctx *c = arg;
    c->n->rnn[0]->rng = c->rng0;
    tg_tensor *h[MAXR], *cc[MAXR];
    return stack_loss(t, &c->s, c->n, 2, h, cc);
}

/* Central differences (double build): the recomputed segments draw the
 * same dropout masks as forward did, else the gradients would be another
 * function's. */
START_TEST(stack_gradcheck_with_dropout) {
    gc_ctx c = {.s = {.mode = TG_LSTM, .n_rnn = 1, .layers = 2, .dropout = true, .h0 = true,
                      .T = 5, .B = 2, .H = 3}};
    net n = net_new(&c.s);
    c.n = &n, c.rng0 = n.rnn[0]->rng;
    tg_tensor *in[32];
    int k = 0;
    in[k++] = n.emb->weight, in[k++] = n.h0[0], in[k++] = n.c0[0];
    const tg_params *p = tg_module_params(&n.rnn[0]->base);
    for (int j = 0; j < p->n; j++) in[k++] = p->items[j].tensor;
    p = tg_module_params(&n.head->base);
    for (int j = 0; j < p->n; j++) in[k++] = p->items[j].tensor;
    ck_assert_gradcheck(gc_stack, &c, k, in);
    net_free(&c.s, &n);
}
END_TEST

/* The peak of the tape grows with T on the full tape, hardly at all in
 * segments. */
START_TEST(stack_memory_bounded) {
    size_t peak[2][2];
    for (int q = 0; q < 2; q++) {
        setup s = {.mode = TG_LSTM, .n_rnn = 1, .layers = 1, .T = q ? 1024 : 64, .B = 2, .H = 16};
        for (int stack = 0; stack < 2; stack++) {
            net n = net_new(&s);
            tg_tape *t = tg_tape_new();
            tg_tensor *h[MAXR], *c[MAXR];
            tg_tensor *loss = stack ? stack_loss(t, &s, &n, 0, h, c) : full_loss(t, &s, &n, h, c);
            ck_assert_int_eq(tg_backward(t, loss), 0);
            peak[q][stack] = tg_tape_peak(t);
            tg_tape_free(t);
            net_free(&s, &n);
        }
    }
    /* T 16x: the full tape's peak 16x, the stack's about 4x (sqrt) */
    ck_assert_msg(peak[1][0] > 10 * peak[0][0], "full %zu -> %zu", peak[0][0], peak[1][0]);
    ck_assert_msg(peak[1][1] < 6 * peak[0][1], "stack %zu -> %zu", peak[0][1], peak[1][1]);
    ck_assert_msg(peak[1][1] * 8 < peak[1][0], "T 1024: stack %zu, full %zu", peak[1][1],
                  peak[1][0]);
}
END_TEST

/* Bad stacks and options are refused, naming what. */
START_TEST(stack_bad_input) {
    setup s = {.mode = TG_GRU, .n_rnn = 1, .layers = 1, .T = 4, .B = 2, .H = 3};
    net n = net_new(&s);
    struct {
        tg_seq_stack st;
        tg_rnn_memory mem;
        const char *msg;
    } cases[] = {
        {{n.emb, n.rnn, 1, NULL}, {0}, "needs an embedding, at least one rnn and a head"},
        {{n.emb, n.rnn, 1, n.head}, {.segment = -2}, "memory.segment must be positive"},
        {{n.emb, n.rnn, 1, n.head}, {.segment = 2, .budget_mb = 1}, "both given"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tg_tape *t = tg_tape_new();
        ck_assert_ptr_null(tg_seq_recompute_loss(t, &cases[i].st, n.ids, n.targets, 4, 2,
                                                 cases[i].mem, NULL, NULL, NULL, NULL));
        ck_assert_msg(strstr(tg_tape_error(t), cases[i].msg), "%s", tg_tape_error(t));
        tg_tape_free(t);
    }
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_rnn *bi = tg_rnn_new((tg_rnn_options){.mode = TG_GRU, .input_size = E, .hidden_size = 3,
                                             .bidirectional = true},
                            &r, NULL, 0);
    tg_tape *t = tg_tape_new();
    tg_seq_stack st = {n.emb, &bi, 1, n.head};
    ck_assert_ptr_null(tg_seq_recompute_loss(t, &st, n.ids, n.targets, 4, 2, (tg_rnn_memory){0},
                                             NULL, NULL, NULL, NULL));
    ck_assert_msg(strstr(tg_tape_error(t), "rnn[0] is bidirectional"), "%s", tg_tape_error(t));
    tg_tape_free(t);
    t = tg_tape_new();
    n.ids[3] = V; /* out of the vocabulary */
    st.rnn = n.rnn;
    ck_assert_ptr_null(tg_seq_recompute_loss(t, &st, n.ids, n.targets, 4, 2, (tg_rnn_memory){0},
                                             NULL, NULL, NULL, NULL));
    ck_assert_ptr_nonnull(tg_tape_error(t));
    tg_tape_free(t);
    tg_module_free(&bi->base);
    net_free(&s, &n);
}
END_TEST

TCase *tcase_seq_recompute(void) {
    TCase *tc = tcase_create("seq_recompute");
    tcase_add_test(tc, stack_elman_lstm_gru);
    tcase_add_test(tc, stack_two_layers_and_carried_state);
    tcase_add_test(tc, stack_dropout_one_segment);
    tcase_add_test(tc, stack_dropout_generator_moves_on);
    tcase_add_test(tc, stack_gradcheck_with_dropout);
    tcase_add_test(tc, stack_memory_bounded);
    tcase_add_test(tc, stack_bad_input);
    return tc;
}
