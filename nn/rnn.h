/* The recurrent family: one-step cells built from tape ops, and a layer that
 * unrolls them over a sequence exactly as PyTorch's nn.RNN, nn.LSTM and
 * nn.GRU do (parameter names, shapes, gate order, outputs, final states,
 * packed variable-length batches). Backpropagation through time is just the
 * tape's backward over the unrolled ops. The cells themselves are rows of
 * a table (cell.h); tg_rnn_mode names the built-in ones: TG_RNN_TANH,
 * TG_RNN_RELU (Elman), TG_LSTM, TG_GRU. */
#ifndef TG_RNN_H
#define TG_RNN_H

#include "cell.h"
#include "linear.h"
#include "module.h"

/* ---- cells: one step, from tape ops ------------------------------------ */
/* x [B, I], h [B, H], w_ih [G*H, I], w_hh [G*H, H], b_ih and b_hh [G*H] or
 * NULL, with G = 1 (Elman), 4 (LSTM) or 3 (GRU). */
tg_tensor *tg_rnn_cell(tg_tape *t, tg_tensor *x, tg_tensor *h, tg_tensor *w_ih, tg_tensor *w_hh,
                       tg_tensor *b_ih, tg_tensor *b_hh, bool relu);
/* c' = f*c + i*g, h' = o*tanh(c'); writes h' and c'. Returns 0 or -1. */
int tg_lstm_cell(tg_tape *t, tg_tensor *x, tg_tensor *h, tg_tensor *c, tg_tensor *w_ih,
                 tg_tensor *w_hh, tg_tensor *b_ih, tg_tensor *b_hh, tg_tensor **h_out,
                 tg_tensor **c_out);
/* r = s(.r), z = s(.z), n = tanh(W_in x + b_in + r*(W_hn h + b_hn)),
 * h' = (1-z)*n + z*h. */
tg_tensor *tg_gru_cell(tg_tape *t, tg_tensor *x, tg_tensor *h, tg_tensor *w_ih, tg_tensor *w_hh,
                       tg_tensor *b_ih, tg_tensor *b_hh);

/* ---- layers ----------------------------------------------------------------- */
/* How a layer pays for backpropagation through time. By default every step's
 * activations stay on the tape until backward: memory grows with T. With
 * `recompute`, forward keeps only the state at the start of every segment of
 * k steps and the layer's outputs, and backward runs each segment's forward
 * again on a scratch region of the tape and backpropagates through it,
 * segment by segment from the end (Chen et al. 2016, Gruslys et al. 2016):
 * about one more forward pass of time for O(T/k + k) memory per direction
 * instead of O(T), and gradients bit for bit equal to the full tape's (the
 * same float operations in the same order; inter-layer dropout is drawn once,
 * outside the segments). The layer's outputs [T, B, dirs*H], their
 * gradient, and the input product of a layer fed by a sequence (gx
 * [T, B, G*H] and its gradient; not for token ids from a small vocabulary,
 * whose product is per entry) remain O(T). Only with gradients recorded;
 * without, nothing is kept anyway. */
typedef struct tg_rnn_memory {
    bool recompute;
    int64_t segment;  /* k; 0: from budget_mb, or sqrt(T s / f) for a state of s
                         and a recorded step of f values (the k of least memory:
                         about sqrt(T) / 4 for an LSTM, 16 at T = 4096) */
    double budget_mb; /* > 0 with segment 0: the largest k whose recomputed
                         segment (about 7*G+4 values per step, batch row and
                         hidden unit; three times that composed) fits in
                         this many MB, at least 1 */
} tg_rnn_memory;

/* Zero-initialised fields take PyTorch's defaults (num_layers 1, with bias,
 * sequence-first, one direction, no dropout). */
typedef struct tg_rnn_options {
    tg_rnn_mode mode;
    int64_t input_size, hidden_size;
    int num_layers;
    bool no_bias;
    bool batch_first;   /* input and output [B, T, .] instead of [T, B, .] */
    bool bidirectional;
    double dropout;     /* on the outputs of every layer but the last, in training */
    uint64_t seed;      /* for the dropout masks */
    bool composed;      /* LSTM/GRU gates from elementary ops instead of the
                           fused kernels: slower, the same numbers, and every
                           gate visible on the tape */
    const tg_cell *cell; /* a cell to run instead of mode's built-in one (a row
                            built at run time, or tg_cell_find's), or NULL;
                            it must outlive the layer */
    tg_rnn_memory memory; /* zero: keep every step */
    int64_t proj_size;    /* LSTM only, 0 (off) or in 1..hidden_size-1: h is
                             projected to this width after every step,
                             h' = W_hr (o * tanh(c')), as PyTorch's
                             nn.LSTM(proj_size=...); h, the outputs and the
                             next layer's input are proj_size wide, c stays
                             hidden_size wide */
} tg_rnn_options;

/* Parameters per layer l and direction (suffix "" or "_reverse"), as
 * PyTorch names them: weight_ih_l{l}[_reverse] [G*H, in], weight_hh_l{l}
 * [G*H, H], bias_ih_l{l}, bias_hh_l{l} [G*H], all U(-1/sqrt(H), 1/sqrt(H));
 * then with proj_size P weight_hr_l{l}[_reverse] [P, H] (and weight_hh
 * [G*H, P], the next layer's input dirs*P wide), then the cell's own
 * (tg_cell_param), {name}_l{l}[_reverse] [width*H]. */
typedef struct tg_rnn {
    tg_module base;
    tg_rnn_options opt;
    const tg_cell *cell; /* the row it runs: opt.cell, or mode's */
    int dirs;
    tg_tensor **w_ih, **w_hh, **b_ih, **b_hh; /* [layer * dirs + dir] */
    tg_tensor **w_hr; /* [layer * dirs + dir] with proj_size, else NULL */
    tg_tensor **cell_param; /* [(layer * dirs + dir) * cell->n_params + p] */
    tg_rng rng;                               /* dropout masks */
    /* Mixed into the masks of cells that draw them (zoneout, variational
     * dropout): 0 draws the same masks at every call, so a training loop
     * gives each step a new value (tg_model_train_loss draws one per call
     * for a spec's model); a recomputed segment reads the value its
     * forward pass had. */
    uint64_t mask_salt;
    int64_t time0; /* the time of the input's first step for cells' masks
                      (zoneout): 0, or where a segment of a longer
                      sequence starts, so a segment draws the whole
                      sequence's masks (nn/seq_recompute.c) */
} tg_rnn;

/* NULL with a message in err for bad options. */
tg_rnn *tg_rnn_new(tg_rnn_options o, tg_rng *init, char *err, size_t errlen);
/* The width of m's h, its outputs per direction and h0/h_n: proj_size when
 * set, else hidden_size. */
int64_t tg_rnn_h_size(const tg_rnn *m);

typedef struct tg_rnn_result {
    tg_tensor *output; /* [T, B, dirs*H] (or [B, T, dirs*H]); P for H with proj_size */
    tg_tensor *h_n;    /* [layers*dirs, B, H] (P with proj_size) */
    tg_tensor *c_n;    /* the second state (an LSTM's c), else NULL */
} tg_rnn_result;

/* x [T, B, I] (or [B, T, I]); h0, c0 [layers*dirs, B, H] or NULL (zeros),
 * c0 only for a cell with a second state (an LSTM's c); with proj_size P,
 * h0 is [layers*dirs, B, P];
 * lengths: NULL, or B sequence lengths in 1..T. With lengths, steps past a
 * sequence's end leave its state unchanged, output zeros and take no
 * gradient, and h_n/c_n hold each sequence's state at its own last step (the
 * reverse direction starts there), as packed sequences in PyTorch. Returns 0,
 * or -1 with the tape's error set. */
int tg_rnn_forward(tg_tape *t, tg_rnn *m, tg_tensor *x, tg_tensor *h0, tg_tensor *c0,
                   const int64_t *lengths, tg_rnn_result *res);
/* tg_rnn_forward of tg_embedding_forward(t, emb, ids, shape), shape [T, B]
 * (or [B, T]), with the same values. When the vocabulary is smaller than
 * the batch's T*B tokens, the first layer's input product is taken once per
 * vocabulary entry (table W_ih^T + b_ih) and each step picks its tokens'
 * rows (tg_index_select), which saves that layer's largest products and,
 * in backward, adds the steps' gradients per entry. An embedding with a
 * padding_idx takes the general path. */
int tg_rnn_forward_tokens(tg_tape *t, tg_rnn *m, tg_embedding *emb, const int64_t *ids,
                          tg_shape shape, tg_tensor *h0, tg_tensor *c0, const int64_t *lengths,
                          tg_rnn_result *res);

#endif
