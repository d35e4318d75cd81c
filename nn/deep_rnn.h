/* A recurrent layer with a deep transition, and optionally a skip
 * connection around it (Goodfellow et al., Deep Learning, section 10.5,
 * fig. 10.13 (b) and (c)). The hidden-to-hidden path is an MLP of `depth`
 * tanh layers instead of one matrix. For every step t = 0 .. T-1:
 *
 *     z^(0) = h_{t-1}
 *     z^(j) = tanh(W_j z^(j-1) + b_j)                         j = 1 .. depth
 *     h_t   = tanh(W_ih x_t + b_ih + W_hh z^(depth) + b_hh)               (b)
 *     h_t   = tanh(W_ih x_t + b_ih + W_hh z^(depth) + b_hh + W_skip h_{t-1})
 *                                                                   (c) skip
 *
 * A deeper transition can compute a richer function of the past in one
 * step, but lengthens the path a gradient travels from h_{t-1} to h_t by
 * `depth` layers; the skip term puts a one-matrix path back (fig. 10.13 (c)).
 * h_{-1} = h0 (or zeros).
 *
 * Parameters, by name, all U(-1/sqrt(H), 1/sqrt(H)) as in nn.RNN:
 *     weight_ih_l0 [H, I]     bias_ih_l0 [H]
 *     weight_hh_l0 [H, H]     bias_hh_l0 [H]
 *     weight_tr{j}_l0 [H, H]  bias_tr{j}_l0 [H]     for j = 1 .. depth (W_j, b_j)
 *     weight_skip_l0 [H, H]                          only with skip
 * so a layer has H*I + 2H + H*H + depth*(H*H + H) + (skip ? H*H : 0)
 * scalars. */
#ifndef TG_DEEP_RNN_H
#define TG_DEEP_RNN_H

#include "module.h"
#include "rnn.h"

/* Sizes must be positive; zero-initialised fields take the defaults. */
typedef struct tg_deep_rnn_options {
    /* I, H */
    int64_t input_size, hidden_size;
    int depth;        /* transition layers, >= 1 (0 means the default, 1) */
    bool skip;        /* add W_skip h_{t-1}, fig. 10.13 (c) */
    bool batch_first; /* x and output [B, T, .] instead of [T, B, .] */
    tg_rnn_memory memory; /* as tg_rnn_options.memory (nn/rnn.h); zero: keep every step */
} tg_deep_rnn_options;

typedef struct tg_deep_rnn {
    tg_module base;
    tg_deep_rnn_options opt;
    tg_tensor *w_ih, *b_ih, *w_hh, *b_hh;
    tg_tensor **w_tr, **b_tr; /* [depth]: W_1 .. W_depth at index 0 .. depth-1 */
    tg_tensor *w_skip;        /* NULL without skip */
} tg_deep_rnn;

/* NULL with a message in err for bad options. */
tg_deep_rnn *tg_deep_rnn_new(tg_deep_rnn_options o, tg_rng *init, char *err, size_t errlen);

typedef struct tg_deep_rnn_result {
    tg_tensor *output; /* h_0 .. h_{T-1}: [T, B, H] (or [B, T, H]) */
    tg_tensor *h_n;    /* h_{T-1} [B, H]: pass it as h0 to continue */
} tg_deep_rnn_result;

/* x [T, B, I] (or [B, T, I]) with T, B >= 1; h0 [B, H] or NULL (zeros).
 * Returns 0, or -1 with the tape's error set (and res zeroed). */
int tg_deep_rnn_forward(tg_tape *t, tg_deep_rnn *m, tg_tensor *x, tg_tensor *h0,
                        tg_deep_rnn_result *res);

#endif
