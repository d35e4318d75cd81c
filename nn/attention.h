/* Attention over a set of encoder states (Bahdanau, Cho and Bengio 2014;
 * Luong, Pham and Manning 2015). A query s (the decoder's state) scores
 * every encoder state h(t'), the scores become weights by a softmax over t',
 * and the context is the weighted sum of the states:
 *
 *     e(t')     = v^T tanh(W s + U h(t') + b)     additive (Bahdanau)
 *               = s^T h(t')                        dot (Luong)
 *               = s^T W h(t')                      general (Luong)
 *     alpha(t') = softmax over t' of e(t'), 0 where t' is padding
 *     c         = sum over t' of alpha(t') h(t')
 *
 * Everything that depends on the encoder states alone (U h + b, W h) is
 * computed once per batch by tg_attention_prepare, so a decoder step costs
 * one small product for the query and the scoring. */
#ifndef TG_ATTENTION_H
#define TG_ATTENTION_H

#include "module.h"

typedef enum tg_attention_kind {
    TG_ATTN_NONE = 0, /* no attention (for the encoder-decoder's options) */
    TG_ATTN_ADDITIVE, /* v^T tanh(W s + U h + b) */
    TG_ATTN_DOT,      /* s^T h: query and key sizes must be equal */
    TG_ATTN_GENERAL,  /* s^T W h */
} tg_attention_kind;

/* "none", "additive", "dot", "general"; NULL for an unknown kind. */
const char *tg_attention_kind_name(tg_attention_kind k);

typedef struct tg_attention_options {
    tg_attention_kind kind;
    int64_t query_size; /* Q: the decoder state */
    int64_t key_size;   /* K: an encoder state */
    int64_t attn_size;  /* A: additive only; 0 means Q */
} tg_attention_options;

/* Parameters, as the PyTorch module of tests/nn/gen_attention_fixture.py
 * names them (nn.Linear layouts and inits):
 *     additive  query.weight [A, Q], key.weight [A, K], key.bias [A],
 *               v.weight [1, A]
 *     general   key.weight [Q, K]
 *     dot       none */
typedef struct tg_attention {
    tg_module base;
    tg_attention_options opt;
    tg_tensor *w_query;       /* additive: W */
    tg_tensor *w_key, *b_key; /* additive: U, b; general: W (no bias) */
    tg_tensor *v;             /* additive */
} tg_attention;

/* NULL with a message in err for bad options. */
tg_attention *tg_attention_new(tg_attention_options o, tg_rng *init, char *err, size_t errlen);

/* The encoder states of one batch, ready to be attended to. */
typedef struct tg_attention_memory {
    int64_t B, S;
    tg_tensor *values; /* [B, S, K]: the states h */
    tg_tensor *keys;   /* [B, S, A] U h + b (additive), [B, S, Q] W h
                          (general), values (dot) */
    tg_tensor *mask;   /* [B, S]: 0 on real steps, -inf on padding; NULL
                          when nothing is padded */
} tg_attention_memory;

/* values [B, S, K]; lengths NULL or B lengths in 1..S (steps t' >=
 * lengths[b] are padding and get weight exactly 0). Returns 0, or -1 with
 * the tape's error set. */
int tg_attention_prepare(tg_tape *t, tg_attention *a, tg_tensor *values, const int64_t *lengths,
                         tg_attention_memory *mem);

/* One query [B, Q] -> context [B, K] and weights [B, S] (each row sums to
 * 1; weights may be NULL if not wanted). Returns 0, or -1 with the tape's
 * error set. */
int tg_attention_step(tg_tape *t, tg_attention *a, const tg_attention_memory *mem, tg_tensor *query,
                      tg_tensor **context, tg_tensor **weights);

/* The memory with its batch rows picked by n indices (row i of the result is
 * row idx[i]), e.g. to repeat every source for the beams of a search.
 * Returns 0 or -1. */
int tg_attention_memory_select(tg_tape *t, const tg_attention_memory *mem, const int64_t *idx,
                               int64_t n, tg_attention_memory *out);

/* An alignment heat map as SVG, like the pictures in Bahdanau et al.:
 * source labels along the top, target labels down the left, cell (i, j)
 * white for weight 1 and black for 0. weights: n_tgt rows of n_src values,
 * row i starting at weights + i * stride. Labels are escaped for XML. The
 * file is written aside and renamed into place. Returns 0, or -1 with a
 * message in err. */
int tg_attention_svg(const char *path, int64_t n_src, const char *const *src_labels, int64_t n_tgt,
                     const char *const *tgt_labels, const tg_real *weights, int64_t stride,
                     char *err, size_t errlen);

#endif
