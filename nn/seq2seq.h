/* Encoder-decoder (Cho et al. 2014; Sutskever et al. 2014) with optional
 * attention (Bahdanau et al. 2014): an encoder RNN reads x(1..n_x), a
 * decoder RNN writes y(1..n_y) one token at a time, each step fed the token
 * before it (the start marker first) and a context.
 *
 * The context. Without attention it is fixed: the encoder's final state
 * (its top layer; both directions side by side when bidirectional), c of
 * size C = dirs * encoder_hidden. With attention it is recomputed at every
 * step from the decoder's previous state, c(t) = sum over t' of
 * alpha(t, t') h(t'), over all encoder outputs h(t'). It reaches the decoder
 * in one or both of the two ways the lectures name:
 *   TG_CONTEXT_INIT   the initial state: s(0) = tanh(W_b c_final + b_b)
 *                     for every decoder layer (an LSTM's cell starts at 0);
 *   TG_CONTEXT_INPUT  an input at every step: x(t) = [embed(y(t-1)); c(t)];
 *   TG_CONTEXT_BOTH   both (the default). Without INIT the decoder starts
 *                     from zeros; without INPUT it reads embed(y(t-1)) only.
 * A step t:
 *     c(t)      = attend(s(t-1))  or the fixed c
 *     s(t)      = decoder cell(s) (x(t), s(t-1))
 *     f(t)      = [s(t); c(t)] when the context is per-step (attention or
 *                 INPUT), else s(t); then tanh(W_o f + b_o) if output_hidden
 *     logits(t) = W_out dropout(f(t)) + b_out                    [B, V]
 *
 * Parameter names (children "src_embed", "tgt_embed", "encoder", "decoder",
 * "attention", "bridge", "out_hidden", "out"), e.g. "encoder.weight_ih_l0",
 * "decoder.weight_hh_l0", "attention.query.weight", "out.bias"; the decoder
 * is a tg_rnn stepped one cell at a time, so its parameters are
 * nn.LSTM-shaped with input size tgt_embed + (INPUT ? C : 0).
 *
 * Batches are [B, S] row-major token ids (a row per sequence, padded after
 * its length with any valid id). */
#ifndef TG_SEQ2SEQ_H
#define TG_SEQ2SEQ_H

#include "attention.h"
#include "linear.h"
#include "rnn.h"

typedef enum tg_context_mode {
    TG_CONTEXT_BOTH = 0, /* initial state and per-step input */
    TG_CONTEXT_INIT,
    TG_CONTEXT_INPUT,
} tg_context_mode;

#define TG_S2S_MAX_LAYERS 8

/* Zero-initialised fields take the defaults given. */
typedef struct tg_seq2seq_options {
    int64_t src_vocab, tgt_vocab; /* every id, markers included */
    int64_t embed_size;           /* source embedding (required) */
    int64_t tgt_embed_size;       /* 0: embed_size */
    tg_rnn_mode encoder_mode, decoder_mode;
    int64_t encoder_hidden;             /* required */
    int64_t decoder_hidden;             /* 0: encoder_hidden */
    int encoder_layers, decoder_layers; /* 0: 1; decoder at most TG_S2S_MAX_LAYERS */
    bool bidirectional;                 /* the encoder */
    tg_attention_kind attention;        /* TG_ATTN_NONE: a fixed context */
    int64_t attention_size;             /* additive's A; 0: decoder_hidden */
    tg_context_mode context;
    int64_t output_hidden; /* 0: logits straight from f(t) */
    double dropout;        /* embeddings, between layers, before out */
    int64_t bos, eos;      /* target ids of the start and end markers */
    uint64_t seed;         /* dropout masks and scheduled sampling */
} tg_seq2seq_options;

typedef struct tg_seq2seq {
    tg_module base;
    tg_seq2seq_options opt;
    int64_t context_size; /* C */
    tg_embedding *src_embed, *tgt_embed;
    tg_rnn *encoder, *decoder;
    tg_attention *attention;     /* NULL without attention */
    tg_linear_layer *bridge;     /* NULL without TG_CONTEXT_INIT */
    tg_linear_layer *out_hidden; /* NULL without output_hidden */
    tg_linear_layer *out;
    tg_rng rng;
} tg_seq2seq;

/* NULL with a message in err for bad options. */
tg_seq2seq *tg_seq2seq_new(tg_seq2seq_options o, tg_rng *init, char *err, size_t errlen);

/* ---- step by step (what training and the searches are made of) ----------- */
/* The decoder's state for a batch of B rows (rows may be beams). */
typedef struct tg_s2s_state {
    int64_t B;
    tg_attention_memory mem;                                /* attention only */
    tg_tensor *context;                                     /* [B, C]: the fixed context */
    tg_tensor *h[TG_S2S_MAX_LAYERS], *c[TG_S2S_MAX_LAYERS]; /* [B, H]; c: LSTM */
} tg_s2s_state;

/* Runs the encoder over src ([B, S] ids, lengths in 1..S) and sets up the
 * decoder's initial state. Returns 0, or -1 with the tape's error set. */
int tg_seq2seq_encode(tg_tape *t, tg_seq2seq *m, const int64_t *src, const int64_t *src_len,
                      int64_t B, int64_t S, tg_s2s_state *st);
/* One decoder step from the previous tokens (B ids): advances st and returns
 * the logits [B, tgt_vocab] (NULL on error). *attn, if attn is not NULL,
 * receives the step's attention weights [B, S] (NULL without attention). */
tg_tensor *tg_seq2seq_step(tg_tape *t, tg_seq2seq *m, tg_s2s_state *st, const int64_t *prev,
                           tg_tensor **attn);
/* A state whose row i is row idx[i] of st (n rows). Returns 0 or -1. */
int tg_seq2seq_select(tg_tape *t, const tg_s2s_state *st, const int64_t *idx, int64_t n,
                      tg_s2s_state *out);

/* ---- training --------------------------------------------------------------- */
typedef struct tg_s2s_batch {
    int64_t B, S, T;
    const int64_t *src;     /* [B, S] */
    const int64_t *src_len; /* B, in 1..S */
    const int64_t *tgt;     /* [B, T]: y(1..n_y) then eos, no start marker */
    const int64_t *tgt_len; /* B, in 1..T, counting the eos */
} tg_s2s_batch;

/* The mean cross-entropy per target token (eos included). At every step
 * after the first, each sequence is fed the model's own previous prediction
 * (the argmax of its logits, no gradient through the choice) with
 * probability sample_prob, else the true previous token:
 *     0        teacher forcing
 *     1        free running
 *     between  scheduled sampling (Bengio et al. 2015), with the probability
 *              from tg_sampling_prob as training goes on.
 * Draws come from the module's generator. NULL on error (tape's message). */
tg_tensor *tg_seq2seq_loss(tg_tape *t, tg_seq2seq *m, const tg_s2s_batch *b, double sample_prob);
/* The logits behind that loss, [T, B, tgt_vocab] (time-major; step s is the
 * prediction of tgt[., s]), with the same feeding and draws. */
tg_tensor *tg_seq2seq_forward(tg_tape *t, tg_seq2seq *m, const tg_s2s_batch *b, double sample_prob);

/* Scheduled sampling's decay of the teacher-forcing probability eps(i) with
 * the training step i (Bengio et al. 2015, section 2.4):
 *     LINEAR            eps = max(eps_min, k - c i)
 *     EXPONENTIAL       eps = max(eps_min, k^i)             (k < 1)
 *     INVERSE_SIGMOID   eps = max(eps_min, k / (k + exp(i / k)))   (k >= 1) */
typedef enum tg_sampling_decay {
    TG_SAMPLING_LINEAR,
    TG_SAMPLING_EXPONENTIAL,
    TG_SAMPLING_INVERSE_SIGMOID,
} tg_sampling_decay;

typedef struct tg_sampling_schedule {
    tg_sampling_decay decay;
    double k, c, eps_min;
} tg_sampling_schedule;

/* The probability of feeding the model's own prediction at step i:
 * 1 - eps(i), in [0, 1]. */
double tg_sampling_prob(const tg_sampling_schedule *s, int64_t i);

/* ---- decoding --------------------------------------------------------------- */
typedef struct tg_s2s_output {
    int64_t B, S, max_len;
    int64_t *tokens;    /* [B, max_len]: row b holds lengths[b] ids, then -1 */
    int64_t *lengths;   /* B: tokens before the end marker (or max_len) */
    double *scores;     /* B: sum of the log-probabilities of the tokens and
                           of the end marker (when one was produced) */
    tg_real *attention; /* [B, max_len + 1, S] or NULL: row j holds the
                           weights with which token j (j = lengths[b]: the
                           end marker) was produced; unused rows are 0 */
} tg_s2s_output;

/* Frees what a decoder wrote into o (o itself is the caller's). */
void tg_s2s_output_free(tg_s2s_output *o);

/* Greedy decoding: at each step the most probable token, until every row
 * has produced eos or max_len tokens. Records no gradient; set the module
 * to evaluation mode first (tg_module_train(&m->base, false)). Returns 0, or
 * -1 with the tape's error set (out zeroed). */
int tg_seq2seq_greedy(tg_tape *t, tg_seq2seq *m, const int64_t *src, const int64_t *src_len,
                      int64_t B, int64_t S, int64_t max_len, bool want_attention,
                      tg_s2s_output *out);

typedef struct tg_beam_options {
    int width;             /* K >= 1 */
    double length_penalty; /* alpha: hypotheses compared by score / len^alpha,
                              len counting the end marker (0: raw score) */
    int64_t max_len;       /* tokens at most, end marker excluded */
    bool want_attention;
} tg_beam_options;

/* Beam search over the whole batch at once (B * K decoder rows). For every
 * source, the K best live hypotheses are extended by every token; a
 * hypothesis that produces eos is finished; the search of a source ends when
 * K hypotheses have finished (or at max_len, where the live ones are taken
 * as they are), and the finished one with the best normalised score wins.
 * Width 1 is greedy decoding. Returns 0 or -1 as greedy. */
int tg_seq2seq_beam(tg_tape *t, tg_seq2seq *m, const int64_t *src, const int64_t *src_len,
                    int64_t B, int64_t S, tg_beam_options o, tg_s2s_output *out);

/* ---- scoring ---------------------------------------------------------------- */
/* The Levenshtein distance between a[0..n) and b[0..m): insertions,
 * deletions and substitutions, each costing 1 (what PER and WER count).
 * -1 if out of memory. */
int64_t tg_edit_distance(const int64_t *a, int64_t n, const int64_t *b, int64_t m);

#endif
