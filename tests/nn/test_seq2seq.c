/* The encoder-decoder: parameters for each way the context reaches the
 * decoder, bad options and input, gradient checks (double) of small models,
 * the loss under teacher forcing, free running and scheduled sampling
 * against a step-by-step recomputation, the sampling schedules, greedy and
 * beam search (width 1 is greedy; beam search finds the known best sequence
 * of a hand-built model that greedy misses; length normalisation), and the
 * reverse task learnt to over 99% sequence accuracy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

static tg_rng rng(uint64_t seed) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    return r;
}

static tg_seq2seq *make(tg_seq2seq_options o, uint64_t seed) {
    tg_rng r = rng(seed);
    char err[256];
    tg_seq2seq *m = tg_seq2seq_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

/* A bidirectional GRU encoder (C = 10), an LSTM decoder, additive attention. */
static tg_seq2seq_options small_options(void) {
    return (tg_seq2seq_options){.src_vocab = 7,
                                .tgt_vocab = 6,
                                .embed_size = 3,
                                .tgt_embed_size = 4,
                                .encoder_mode = TG_GRU,
                                .decoder_mode = TG_LSTM,
                                .encoder_hidden = 5,
                                .decoder_hidden = 6,
                                .bidirectional = true,
                                .attention = TG_ATTN_ADDITIVE,
                                .attention_size = 4,
                                .bos = 0,
                                .eos = 1};
}

typedef struct pshape {
    const char *name;
    int64_t d0, d1; /* d1 = 0 for a vector */
} pshape;

static void expect_params(const tg_seq2seq *m, const pshape *want, int n) {
    const tg_params *P = tg_module_params(&m->base);
    ck_assert_int_eq(P->n, n);
    for (int i = 0; i < n; i++) {
        const tg_tensor *x = P->items[i].tensor;
        ck_assert_str_eq(P->items[i].name, want[i].name);
        ck_assert_msg(x->shape[0] == want[i].d0 &&
                          (want[i].d1 ? x->ndim == 2 && x->shape[1] == want[i].d1 : x->ndim == 1),
                      "%s: shape [%lld, %lld], expected [%lld, %lld]", want[i].name,
                      (long long)x->shape[0], (long long)(x->ndim > 1 ? x->shape[1] : 0),
                      (long long)want[i].d0, (long long)want[i].d1);
    }
}

START_TEST(parameters_per_context_mode) {
    tg_seq2seq *m = make(small_options(), 1);
    ck_assert_int_eq(m->context_size, 10);
    const pshape both[] = {
        {"src_embed.weight", 7, 3},
        {"tgt_embed.weight", 6, 4},
        {"encoder.weight_ih_l0", 15, 3},
        {"encoder.weight_hh_l0", 15, 5},
        {"encoder.bias_ih_l0", 15, 0},
        {"encoder.bias_hh_l0", 15, 0},
        {"encoder.weight_ih_l0_reverse", 15, 3},
        {"encoder.weight_hh_l0_reverse", 15, 5},
        {"encoder.bias_ih_l0_reverse", 15, 0},
        {"encoder.bias_hh_l0_reverse", 15, 0},
        {"decoder.weight_ih_l0", 24, 14},
        {"decoder.weight_hh_l0", 24, 6},
        {"decoder.bias_ih_l0", 24, 0},
        {"decoder.bias_hh_l0", 24, 0},
        {"attention.query.weight", 4, 6},
        {"attention.key.weight", 4, 10},
        {"attention.key.bias", 4, 0},
        {"attention.v.weight", 1, 4},
        {"bridge.weight", 6, 10},
        {"bridge.bias", 6, 0},
        {"out.weight", 6, 16},
        {"out.bias", 6, 0},
    };
    expect_params(m, both, (int)(sizeof both / sizeof both[0]));
    tg_module_free(&m->base);

    /* a fixed context as the initial state only: the decoder reads only the
     * embedding and the output layer only its state */
    tg_seq2seq_options o = small_options();
    o.attention = TG_ATTN_NONE, o.context = TG_CONTEXT_INIT, o.decoder_layers = 2;
    m = make(o, 2);
    const tg_params *P = tg_module_params(&m->base);
    ck_assert_ptr_null(m->attention);
    ck_assert_ptr_nonnull(m->bridge);
    ck_assert_int_eq(m->bridge->weight->shape[0], 12); /* both layers' states */
    ck_assert_int_eq(tg_params_find(P, "decoder.weight_ih_l0")->shape[1], 4);
    ck_assert_int_eq(tg_params_find(P, "decoder.weight_ih_l1")->shape[1], 6);
    ck_assert_int_eq(m->out->weight->shape[1], 6);
    ck_assert_ptr_null(tg_params_find(P, "attention.v.weight"));
    tg_module_free(&m->base);

    /* the context as an input at every step only, and an output layer */
    o = small_options();
    o.attention = TG_ATTN_NONE, o.context = TG_CONTEXT_INPUT, o.output_hidden = 5;
    m = make(o, 3);
    P = tg_module_params(&m->base);
    ck_assert_ptr_null(m->bridge);
    ck_assert_ptr_null(tg_params_find(P, "bridge.weight"));
    ck_assert_int_eq(tg_params_find(P, "decoder.weight_ih_l0")->shape[1], 14);
    ck_assert_int_eq(tg_params_find(P, "out_hidden.weight")->shape[1], 16);
    ck_assert_int_eq(m->out->weight->shape[1], 5);
    tg_module_free(&m->base);
}
END_TEST

START_TEST(bad_options) {
    tg_rng r = rng(4);
    char err[256];
    tg_seq2seq_options o = small_options();
    o.attention = TG_ATTN_DOT;
    ck_assert_ptr_null(tg_seq2seq_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "seq2seq: dot attention needs decoder_hidden == encoder output size, "
                          "got 6 and 10");
    o = small_options();
    o.eos = 6;
    ck_assert_ptr_null(tg_seq2seq_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "seq2seq: bos 0 and eos 6 must be target ids in [0, 6)");
    o = small_options();
    o.decoder_layers = 9;
    ck_assert_ptr_null(tg_seq2seq_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "seq2seq: decoder_layers must be in 1..8, got 9");
    o = small_options();
    o.encoder_mode = (tg_rnn_mode)7;
    ck_assert_ptr_null(tg_seq2seq_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "seq2seq: encoder: rnn: unknown mode 7");
    o = small_options();
    o.dropout = 1;
    ck_assert_ptr_null(tg_seq2seq_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "seq2seq: dropout must be in [0, 1), got 1");
    o = small_options();
    o.context = (tg_context_mode)3;
    ck_assert_ptr_null(tg_seq2seq_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "seq2seq: unknown context mode 3");
    o = small_options();
    o.src_vocab = 0;
    ck_assert_ptr_null(tg_seq2seq_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "seq2seq: src_vocab and tgt_vocab must be positive, got 0 and 6");
}
END_TEST

/* A batch of three: sources of lengths 4, 2, 3 and targets of 3, 1, 2
 * tokens plus the end marker (id 1); padding holds valid ids. */
static const int64_t SRC[3 * 4] = {2, 5, 6, 1, 3, 4, 0, 0, 6, 6, 2, 0};
static const int64_t SRC_LEN[3] = {4, 2, 3};
static const int64_t TGT[3 * 4] = {2, 3, 5, 1, 4, 1, 1, 1, 5, 2, 1, 1};
static const int64_t TGT_LEN[3] = {4, 2, 3};

static tg_s2s_batch batch(void) {
    return (tg_s2s_batch){3, 4, 4, SRC, SRC_LEN, TGT, TGT_LEN};
}

START_TEST(bad_input) {
    tg_seq2seq *m = make(small_options(), 5);
    tg_tape *t = tg_tape_new();
    tg_s2s_batch b = batch();
    const int64_t bad_len[3] = {4, 0, 3};
    b.src_len = bad_len;
    ck_assert_ptr_null(tg_seq2seq_loss(t, m, &b, 0));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq2seq_encode: src_len[1] = 0 is outside [1, 4]");
    tg_tape_reset(t);
    b = batch();
    int64_t tgt[12];
    memcpy(tgt, TGT, sizeof tgt);
    tgt[6] = 9;
    b.tgt = tgt;
    ck_assert_ptr_null(tg_seq2seq_loss(t, m, &b, 0));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq2seq_loss: tgt[1][2] = 9 is outside [0, 6)");
    tg_tape_reset(t);
    b = batch();
    ck_assert_ptr_null(tg_seq2seq_loss(t, m, &b, 1.5));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq2seq_loss: sample_prob must be in [0, 1], got 1.5");
    tg_tape_reset(t);
    int64_t src[12];
    memcpy(src, SRC, sizeof src);
    src[5] = 7;
    tg_s2s_state st;
    ck_assert_int_eq(tg_seq2seq_encode(t, m, src, SRC_LEN, 3, 4, &st), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_seq2seq_encode: src[1][1] = 7 is outside [0, 7)");
    tg_tape_reset(t);
    tg_s2s_output out;
    ck_assert_int_eq(
        tg_seq2seq_beam(t, m, SRC, SRC_LEN, 3, 4, (tg_beam_options){0, 0, 5, false}, &out), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_seq2seq_beam: width must be >= 1, got 0");
    ck_assert_ptr_null(out.tokens);
    tg_tape_reset(t);
    ck_assert_int_eq(tg_seq2seq_greedy(t, m, SRC, SRC_LEN, 3, 4, -1, false, &out), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_seq2seq_greedy: max_len must be >= 0, got -1");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_seq2seq_encode(t, m, SRC, SRC_LEN, 3, 4, &st), 0);
    const int64_t prev[3] = {0, 6, 0};
    ck_assert_ptr_null(tg_seq2seq_step(t, m, &st, prev, NULL));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq2seq_step: prev[1] = 6 is outside [0, 6)");
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* ---- gradient checks (double build) -------------------------------------------- */

typedef struct gc_ctx {
    tg_seq2seq *m;
    tg_s2s_batch b;
} gc_ctx;

static tg_tensor *s2s_loss(tg_tape *t, tg_tensor *const *in, void *p) {
    (void)in; /* the inputs are the module's own parameters */
    gc_ctx *c = p;
    return tg_seq2seq_loss(t, c->m, &c->b, 0);
}

static void gradcheck_model(tg_seq2seq_options o, uint64_t seed) {
    tg_seq2seq *m = make(o, seed);
    tg_module_train(&m->base, false);
    const tg_params *P = tg_module_params(&m->base);
    tg_tensor **in = malloc((size_t)P->n * sizeof *in);
    for (int i = 0; i < P->n; i++) in[i] = P->items[i].tensor;
    gc_ctx c = {m, batch()};
    ck_assert_gradcheck(s2s_loss, &c, P->n, in);
    free(in);
    tg_module_free(&m->base);
}

START_TEST(gradcheck_additive_bidir) {
    tg_seq2seq_options o = small_options();
    o.output_hidden = 3;
    gradcheck_model(o, 6);
}
END_TEST

START_TEST(gradcheck_fixed_context) {
    tg_seq2seq_options o = small_options();
    o.attention = TG_ATTN_NONE, o.encoder_mode = TG_LSTM, o.encoder_layers = 2;
    o.bidirectional = false, o.decoder_mode = TG_RNN_TANH, o.decoder_layers = 2;
    gradcheck_model(o, 7); /* both */
    o.context = TG_CONTEXT_INPUT;
    gradcheck_model(o, 8);
    o.context = TG_CONTEXT_INIT;
    gradcheck_model(o, 9);
}
END_TEST

START_TEST(gradcheck_luong) {
    tg_seq2seq_options o = small_options();
    o.attention = TG_ATTN_GENERAL, o.decoder_mode = TG_GRU, o.context = TG_CONTEXT_INIT;
    gradcheck_model(o, 10);
    o.attention = TG_ATTN_DOT, o.decoder_hidden = 10, o.context = TG_CONTEXT_BOTH;
    gradcheck_model(o, 11);
}
END_TEST

/* ---- the loss against a step-by-step recomputation ------------------------------ */

static int64_t argmax(const tg_real *p, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

/* -log softmax(logits)[target] */
static double nll(const tg_real *logits, int64_t n, int64_t target) {
    double mx = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, (double)logits[i]);
    for (int64_t i = 0; i < n; i++) s += exp((double)logits[i] - mx);
    return mx + log(s) - (double)logits[target];
}

/* The mean loss when sequence b is fed its own prediction at step s iff
 * own[s*B + b] (own == NULL: never). */
static double loss_by_steps(tg_seq2seq *m, const tg_s2s_batch *b, const bool *own) {
    tg_tape *t = tg_tape_new();
    tg_s2s_state st;
    ck_assert_int_eq(tg_seq2seq_encode(t, m, b->src, b->src_len, b->B, b->S, &st), 0);
    int64_t prev[3], V = m->opt.tgt_vocab, count = 0;
    double total = 0;
    tg_tensor *logits = NULL;
    for (int64_t s = 0; s < b->T; s++) {
        for (int64_t i = 0; i < b->B; i++)
            prev[i] = s == 0                     ? m->opt.bos
                      : own && own[s * b->B + i] ? argmax(logits->data + i * V, V)
                                                 : b->tgt[i * b->T + s - 1];
        logits = tg_seq2seq_step(t, m, &st, prev, NULL);
        ck_assert_ptr_nonnull(logits);
        for (int64_t i = 0; i < b->B; i++)
            if (s < b->tgt_len[i])
                total += nll(logits->data + i * V, V, b->tgt[i * b->T + s]), count++;
    }
    tg_tape_free(t);
    return total / (double)count;
}

START_TEST(teacher_forcing_free_running_scheduled_sampling) {
    tg_seq2seq *m = make(small_options(), 12);
    tg_module_train(&m->base, false);
    tg_s2s_batch b = batch();
    tg_tape *t = tg_tape_new();
    /* teacher forcing */
    tg_tensor *loss = tg_seq2seq_loss(t, m, &b, 0);
    ck_assert_ptr_nonnull(loss);
    double tf = loss_by_steps(m, &b, NULL);
    ck_assert_close(loss->data[0], tf, TG_TOL);
    /* free running: always the argmax */
    bool own[12];
    for (int i = 0; i < 12; i++) own[i] = true;
    tg_tape_reset(t);
    loss = tg_seq2seq_loss(t, m, &b, 1);
    double fr = loss_by_steps(m, &b, own);
    ck_assert_close(loss->data[0], fr, TG_TOL);
    ck_assert_msg(fabs(fr - tf) > 1e-3,
                  "an untrained model's own predictions differ from the truth");
    /* scheduled sampling: the module's generator draws once per sequence
     * and step after the first, in order */
    tg_rng saved = m->rng, r = m->rng;
    int fed = 0;
    for (int64_t s = 1; s < b.T; s++)
        for (int64_t i = 0; i < b.B; i++) fed += own[s * b.B + i] = tg_rng_uniform(&r) < 0.5;
    ck_assert(fed > 0 && fed < 9); /* a real mixture */
    tg_tape_reset(t);
    loss = tg_seq2seq_loss(t, m, &b, 0.5);
    ck_assert_close(loss->data[0], loss_by_steps(m, &b, own), TG_TOL);
    ck_assert(memcmp(&m->rng, &r, sizeof r) == 0); /* exactly those draws */
    m->rng = saved;
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

START_TEST(sampling_schedules) {
    tg_sampling_schedule lin = {TG_SAMPLING_LINEAR, 1, 0.1, 0.2};
    ck_assert_close(tg_sampling_prob(&lin, 0), 0, 1e-12);
    ck_assert_close(tg_sampling_prob(&lin, 5), 0.5, 1e-12);
    ck_assert_close(tg_sampling_prob(&lin, 100), 0.8, 1e-12); /* eps_min */
    tg_sampling_schedule ex = {TG_SAMPLING_EXPONENTIAL, 0.9, 0, 0};
    ck_assert_close(tg_sampling_prob(&ex, 10), 1 - pow(0.9, 10), 1e-12);
    tg_sampling_schedule sig = {TG_SAMPLING_INVERSE_SIGMOID, 10, 0, 0};
    ck_assert_close(tg_sampling_prob(&sig, 0), 1 - 10.0 / 11, 1e-12);
    ck_assert_close(tg_sampling_prob(&sig, 50), 1 - 10 / (10 + exp(5.0)), 1e-12);
}
END_TEST

/* ---- decoding ------------------------------------------------------------------------ */

static void expect_same_output(const tg_s2s_output *a, const tg_s2s_output *b) {
    ck_assert_int_eq(a->B, b->B);
    ck_assert_int_eq(a->max_len, b->max_len);
    for (int64_t i = 0; i < a->B; i++) {
        ck_assert_int_eq(a->lengths[i], b->lengths[i]);
        for (int64_t j = 0; j < a->max_len; j++)
            ck_assert_int_eq(a->tokens[i * a->max_len + j], b->tokens[i * b->max_len + j]);
        ck_assert_close(a->scores[i], b->scores[i], 1e-9);
    }
    ck_assert_int_eq(a->attention != NULL, b->attention != NULL);
    for (int64_t i = 0; a->attention && i < a->B * (a->max_len + 1) * a->S; i++)
        ck_assert_close(a->attention[i], b->attention[i], TG_TOL);
}

START_TEST(beam_width_one_is_greedy) {
    tg_seq2seq_options o = small_options();
    o.decoder_layers = 2;
    for (uint64_t seed = 20; seed < 26; seed++) {
        tg_seq2seq *m = make(o, seed);
        tg_module_train(&m->base, false);
        /* make the end marker likely enough that some rows stop early */
        m->out->bias->data[o.eos] += (tg_real)(seed % 3);
        tg_tape *t = tg_tape_new();
        tg_s2s_output g, bm;
        ck_assert_int_eq(tg_seq2seq_greedy(t, m, SRC, SRC_LEN, 3, 4, 6, true, &g), 0);
        ck_assert_int_eq(
            tg_seq2seq_beam(t, m, SRC, SRC_LEN, 3, 4, (tg_beam_options){1, 0.7, 6, true}, &bm), 0);
        expect_same_output(&g, &bm);
        /* the greedy choice is the argmax of each step's distribution: the
         * score is the sum of the chosen log-probabilities, checked step by
         * step through the public step function */
        tg_s2s_state st;
        ck_assert_int_eq(tg_seq2seq_encode(t, m, SRC, SRC_LEN, 3, 4, &st), 0);
        int64_t prev[3] = {0, 0, 0};
        double score[3] = {0, 0, 0};
        bool done[3] = {false, false, false};
        for (int64_t s = 0; s < 6; s++) {
            tg_tensor *w;
            tg_tensor *lp = tg_log_softmax(t, tg_seq2seq_step(t, m, &st, prev, &w), 1);
            for (int64_t i = 0; i < 3; i++) {
                if (done[i]) continue;
                int64_t v = argmax(lp->data + i * 6, 6);
                score[i] += (double)lp->data[i * 6 + v];
                /* attention rows: sum to 1 over the source, 0 on padding */
                double sum = 0;
                for (int64_t j = 0; j < 4; j++) {
                    double a = (double)g.attention[(i * 7 + s) * 4 + j];
                    ck_assert_close(a, w->data[i * 4 + j], TG_TOL);
                    if (j >= SRC_LEN[i]) ck_assert(a == 0);
                    sum += a;
                }
                ck_assert_close(sum, 1, TG_TOL);
                if (v == o.eos) {
                    done[i] = true;
                    ck_assert_int_eq(g.lengths[i], s);
                } else {
                    ck_assert_int_eq(g.tokens[i * 6 + s], v);
                    prev[i] = v;
                }
            }
        }
        for (int64_t i = 0; i < 3; i++) ck_assert_close(g.scores[i], score[i], 1e-9);
        tg_s2s_output_free(&g);
        tg_s2s_output_free(&bm);
        tg_tape_free(t);
        tg_module_free(&m->base);
    }
}
END_TEST

/* A hand-built decoder that is a bigram model: with embeddings 10 * one-hot,
 * W_ih = I, W_hh = 0 and tanh, the state after reading token j is
 * tanh(10) e_j, and out.weight[v][j] = log P(v | j) / tanh(10) makes the
 * step's log-softmax exactly log P(. | previous token). */
enum { BOS = 0, EOS = 1, A = 2, B = 3 };

static tg_seq2seq *bigram_model(const double P[4][4]) {
    tg_seq2seq_options o = {.src_vocab = 2,
                            .tgt_vocab = 4,
                            .embed_size = 2,
                            .tgt_embed_size = 4,
                            .encoder_mode = TG_RNN_TANH,
                            .decoder_mode = TG_RNN_TANH,
                            .encoder_hidden = 2,
                            .decoder_hidden = 4,
                            .context = TG_CONTEXT_INIT,
                            .bos = BOS,
                            .eos = EOS};
    tg_seq2seq *m = make(o, 30);
    const tg_params *ps = tg_module_params(&m->base);
    for (int i = 0; i < ps->n; i++) tg_fill(ps->items[i].tensor, 0);
    for (int j = 0; j < 4; j++) {
        m->tgt_embed->weight->data[j * 4 + j] = 10;
        m->decoder->w_ih[0]->data[j * 4 + j] = 1;
        for (int v = 0; v < 4; v++)
            m->out->weight->data[v * 4 + j] = (tg_real)(log(P[j][v]) / tanh(10.0));
    }
    tg_module_train(&m->base, false);
    return m;
}

/* The best sequence under P by exhaustive search: every token string of up
 * to max_len non-end tokens, ended by the end marker, and the unended ones
 * of max_len tokens. Returns the best log-probability; *best and *n get it. */
static double exhaustive(const double P[4][4], int max_len, int *best, int *n) {
    const int toks[3] = {BOS, A, B};
    double top = -INFINITY;
    for (int len = 0; len <= max_len; len++) {
        int total = 1;
        for (int i = 0; i < len; i++) total *= 3;
        for (int code = 0; code < total; code++) {
            int seq[8], c = code, prev = BOS;
            double lp = 0;
            for (int i = 0; i < len; i++) seq[i] = toks[c % 3], c /= 3;
            for (int i = 0; i < len; i++) lp += log(P[prev][seq[i]]), prev = seq[i];
            if (len < max_len) lp += log(P[prev][EOS]);
            if (lp > top) {
                top = lp, *n = len;
                memcpy(best, seq, sizeof(int) * (size_t)len);
            }
        }
    }
    return top;
}

START_TEST(beam_finds_the_best_sequence) {
    /* rows: previous token BOS, EOS, A, B; columns: next token */
    const double P[4][4] = {
        {0.0001, 0.0999, 0.55, 0.35}, /* after the start: A looks best */
        {0.25, 0.25, 0.25, 0.25},     /* (never used) */
        {0.0001, 0.30, 0.35, 0.3499}, /* after A: no clear choice */
        {0.0001, 0.90, 0.05, 0.0499}, /* after B: almost surely the end */
    };
    int best[8], n;
    double top = exhaustive(P, 5, best, &n);
    ck_assert_int_eq(n, 1); /* the known best: B, then the end (0.35 * 0.9) */
    ck_assert_int_eq(best[0], B);
    ck_assert_close(top, log(0.35 * 0.9), 1e-12);
    tg_seq2seq *m = bigram_model(P);
    tg_tape *t = tg_tape_new();
    const int64_t src[2] = {0, 1}, len[2] = {1, 1};
    tg_s2s_output g, bm;
    /* greedy follows A and never ends: A A A A A */
    ck_assert_int_eq(tg_seq2seq_greedy(t, m, src, len, 2, 1, 5, false, &g), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(g.lengths[i], 5);
        for (int j = 0; j < 5; j++) ck_assert_int_eq(g.tokens[i * 5 + j], A);
        ck_assert_close(g.scores[i], log(0.55) + 4 * log(0.35), 1e-5);
    }
    for (int width = 2; width <= 4; width++) {
        ck_assert_int_eq(
            tg_seq2seq_beam(t, m, src, len, 2, 1, (tg_beam_options){width, 0, 5, false}, &bm), 0);
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(bm.lengths[i], 1);
            ck_assert_int_eq(bm.tokens[i * 5], B);
            ck_assert_int_eq(bm.tokens[i * 5 + 1], -1);
            ck_assert_close(bm.scores[i], top, 1e-5);
        }
        ck_assert_ptr_null(bm.attention); /* no attention in this model */
        tg_s2s_output_free(&bm);
    }
    tg_s2s_output_free(&g);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* Length normalisation: the empty output is more probable (0.5) than A then
 * the end (0.5 * 0.9 = 0.45), but per token A wins (log 0.45 / 2). */
START_TEST(beam_length_penalty) {
    const double P[4][4] = {
        {0.00005, 0.5, 0.49990, 0.00005},
        {0.25, 0.25, 0.25, 0.25},
        {0.0001, 0.9, 0.05, 0.0499},
        {0.0001, 0.9, 0.05, 0.0499},
    };
    tg_seq2seq *m = bigram_model(P);
    tg_tape *t = tg_tape_new();
    const int64_t src[1] = {1}, len[1] = {1};
    tg_s2s_output o;
    ck_assert_int_eq(tg_seq2seq_beam(t, m, src, len, 1, 1, (tg_beam_options){2, 0, 4, false}, &o),
                     0);
    ck_assert_int_eq(o.lengths[0], 0);
    ck_assert_close(o.scores[0], log(0.5), 1e-5);
    tg_s2s_output_free(&o);
    ck_assert_int_eq(tg_seq2seq_beam(t, m, src, len, 1, 1, (tg_beam_options){2, 1, 4, false}, &o),
                     0);
    ck_assert_int_eq(o.lengths[0], 1);
    ck_assert_int_eq(o.tokens[0], A);
    ck_assert_close(o.scores[0], log(0.4999 * 0.9), 1e-5); /* the raw score */
    tg_s2s_output_free(&o);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* ---- the reverse task -------------------------------------------------------------- */

/* Random digit strings of 2..7 digits; the target is the string reversed
 * (target ids: digit + 2; 0 and 1 are the markers). */
static void reverse_batch(tg_rng *r, int64_t n, int64_t *src, int64_t *src_len, int64_t *tgt,
                          int64_t *tgt_len) {
    for (int64_t i = 0; i < n; i++) {
        int64_t L = 2 + (int64_t)tg_rng_below(r, 6);
        src_len[i] = L, tgt_len[i] = L + 1;
        for (int64_t j = 0; j < 7; j++) src[i * 7 + j] = j < L ? (int64_t)tg_rng_below(r, 10) : 0;
        for (int64_t j = 0; j < 8; j++) tgt[i * 8 + j] = j < L ? src[i * 7 + L - 1 - j] + 2 : 1;
    }
}

static double reverse_accuracy(tg_tape *t, tg_seq2seq *m, tg_rng *r, int64_t n) {
    int64_t *src = malloc((size_t)n * 7 * sizeof *src), *tgt = malloc((size_t)n * 8 * sizeof *tgt);
    int64_t *sl = malloc((size_t)n * sizeof *sl), *tl = malloc((size_t)n * sizeof *tl);
    reverse_batch(r, n, src, sl, tgt, tl);
    tg_module_train(&m->base, false);
    tg_tape_reset(t);
    tg_s2s_output o;
    ck_assert_int_eq(tg_seq2seq_greedy(t, m, src, sl, n, 7, 10, false, &o), 0);
    int64_t right = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok = o.lengths[i] == tl[i] - 1;
        for (int64_t j = 0; ok && j < o.lengths[i]; j++)
            ok = o.tokens[i * 10 + j] == tgt[i * 8 + j];
        right += ok;
    }
    tg_s2s_output_free(&o);
    tg_module_train(&m->base, true);
    free(src), free(tgt), free(sl), free(tl);
    return (double)right / (double)n;
}

START_TEST(learns_to_reverse) {
    tg_seq2seq_options o = {.src_vocab = 10,
                            .tgt_vocab = 12,
                            .embed_size = 16,
                            .encoder_mode = TG_GRU,
                            .decoder_mode = TG_GRU,
                            .encoder_hidden = 32,
                            .decoder_hidden = 64,
                            .bidirectional = true,
                            .attention = TG_ATTN_ADDITIVE,
                            .attention_size = 32,
                            .bos = 0,
                            .eos = 1,
                            .seed = 3};
    tg_seq2seq *m = make(o, 31);
    const tg_params *P = tg_module_params(&m->base);
    tg_tensor **params = malloc((size_t)P->n * sizeof *params);
    for (int i = 0; i < P->n; i++) params[i] = P->items[i].tensor;
    tg_optim *opt = tg_optim_adam(params, P->n, (tg_adam_options){.lr = 0.01});
    tg_tape *t = tg_tape_new();
    tg_rng data = rng(32), held_out = rng(33);
    enum { BATCH = 32 };
    int64_t src[BATCH * 7], sl[BATCH], tgt[BATCH * 8], tl[BATCH];
    double acc = 0;
    clock_t start = clock();
    int step;
    for (step = 1; step <= 3000; step++) {
        reverse_batch(&data, BATCH, src, sl, tgt, tl);
        tg_s2s_batch b = {BATCH, 7, 8, src, sl, tgt, tl};
        tg_tape_reset(t);
        tg_tensor *loss = tg_seq2seq_loss(t, m, &b, 0);
        ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
        tg_optim_zero_grad(opt);
        ck_assert_int_eq(tg_backward(t, loss), 0);
        tg_clip_grad_norm(params, P->n, 1.0, 2, NULL, NULL, 0);
        tg_optim_step(opt);
        /* every 100 steps, 1000 strings it has not seen */
        if (step % 100 == 0 && (acc = reverse_accuracy(t, m, &held_out, 1000)) > 0.99) break;
    }
    fprintf(stderr, "reverse task: %.1f%% of 1000 strings right after %d steps (%.1f s CPU)\n",
            100 * acc, step, (double)(clock() - start) / CLOCKS_PER_SEC);
    ck_assert_msg(acc > 0.99, "sequence accuracy %.3f after %d steps", acc, step);
    tg_optim_free(opt);
    free(params);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

TCase *tcase_seq2seq(void) {
    TCase *tc = tcase_create("seq2seq");
    tcase_add_test(tc, parameters_per_context_mode);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, gradcheck_additive_bidir);
    tcase_add_test(tc, gradcheck_fixed_context);
    tcase_add_test(tc, gradcheck_luong);
    tcase_add_test(tc, teacher_forcing_free_running_scheduled_sampling);
    tcase_add_test(tc, sampling_schedules);
    tcase_add_test(tc, beam_width_one_is_greedy);
    tcase_add_test(tc, beam_finds_the_best_sequence);
    tcase_add_test(tc, beam_length_penalty);
    tcase_add_test(tc, learns_to_reverse);
    return tc;
}
