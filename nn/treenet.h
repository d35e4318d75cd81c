/* Recursive networks over trees: a sequence composed along a tree instead of
 * a chain, so a sentence of tau words is O(log tau) compositions deep rather
 * than tau. Every example may have a different tree; the forward pass is C
 * code walking whatever batch of trees it is given, and the tape records
 * that shape, so backpropagation through structure is the tape's ordinary
 * backward.
 *
 * Three cells, for node j with input x_j (a row of x: an embedded token, or
 * zeros at a node without one) and children h_j1, c_j1, ..., in order:
 *
 *   TG_TREE_RNN (Socher et al. 2011), N-ary (N = arity, 2: binary):
 *       leaf:   h_j = x_j                       (so input_size = hidden_size)
 *       inner:  h_j = tanh(W [h_j1; ...; h_jN] + b + x_j)
 *     Missing children (fewer than N) are zeros. Parameters "weight"
 *     [H, N*H] and "bias" [H], U(-1/sqrt(N*H), 1/sqrt(N*H)) as nn.Linear.
 *     With no tokens at inner nodes (x_j = 0 there) this is exactly Socher's
 *     parent = tanh(W [left; right] + b).
 *
 *   TG_TREE_LSTM_CHILD_SUM (Tai, Socher, Manning 2015, eqs. 2-8), any arity:
 *       h~_j = sum_k h_jk
 *       i_j  = s(W_i x_j + U_i h~_j + b_i)     o_j = s(W_o x_j + U_o h~_j + b_o)
 *       u_j  = tanh(W_u x_j + U_u h~_j + b_u)
 *       f_jk = s(W_f x_j + U_f h_jk + b_f)     (one forget gate per child)
 *       c_j  = i_j * u_j + sum_k f_jk * c_jk   h_j = o_j * tanh(c_j)
 *     Parameters "weight_ih" [4H, I] and "weight_hh" [4H, H], rows in gate
 *     order i, o, u, f; "bias" [4H].
 *
 *   TG_TREE_LSTM_NARY (eqs. 9-14), children in N fixed positions:
 *       g_j  = W_g x_j + sum_l U_g,l h_jl + b_g    for g = i, o, u
 *       f_jk = s(W_f x_j + sum_l U_fk,l h_jl + b_f) for k = 1..N
 *       c_j  = i_j * u_j + sum_k f_jk * c_jk   h_j = o_j * tanh(c_j)
 *     Missing children are zeros (h_jl = c_jl = 0); more than N is an error.
 *     Parameters "weight_ih" [4H, I] (i, o, u, f: W_f and b_f are shared by
 *     the N forget gates, as in the paper), "weight_hh" [(3+N)H, N*H] (rows
 *     i, o, u, f_1 .. f_N; column block l multiplies child l), "bias" [4H].
 *
 * The LSTMs' parameters start U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's LSTM.
 * Leaves have no children, so their gates see only W x + b.
 *
 * A batch is computed level by level (see tg_tree_batch in tree_batch.h): the
 * input-to-hidden product of every node of every tree is one GEMM, then each
 * level is a handful of ops whatever the number of trees in the batch. No C
 * recursion anywhere: a 10,000-level tree runs forward and backward in a
 * loop. */
#ifndef TG_TREENET_H
#define TG_TREENET_H

#include "linear.h"
#include "module.h"
#include "tree_batch.h"

typedef enum tg_tree_cell {
    TG_TREE_RNN,
    TG_TREE_LSTM_CHILD_SUM,
    TG_TREE_LSTM_NARY,
} tg_tree_cell;

/* Zero fields take the defaults in the comments. */
typedef struct tg_treenet_options {
    tg_tree_cell cell;
    int64_t input_size;  /* features per node (TREE_RNN: 0 or hidden_size) */
    int64_t hidden_size; /* required */
    int arity;           /* TREE_RNN and NARY: children per node N (2); CHILD_SUM: any,
                          * this must stay 0 */
} tg_treenet_options;

typedef struct tg_treenet {
    tg_module base; /* kind "tree_rnn", "tree_lstm" or "nary_tree_lstm" */
    tg_treenet_options opt;
    tg_tensor *weight_ih; /* NULL for TREE_RNN */
    tg_tensor *weight_hh; /* TREE_RNN: "weight" */
    tg_tensor *bias;
} tg_treenet;

/* NULL with a message in err for bad options, e.g.
 *     "tree_rnn: input_size 8 must equal hidden_size 16 (leaves are h = x)" */
tg_treenet *tg_treenet_new(tg_treenet_options o, tg_rng *init, char *err, size_t errlen);
/* "tree_rnn", "tree_lstm" or "nary_tree_lstm" (the names a spec would use). */
const char *tg_tree_cell_name(tg_tree_cell cell);

typedef struct tg_treenet_result {
    tg_tensor *h;      /* [N, H]: every node's state, in batch order */
    tg_tensor *c;      /* [N, H] memory cells of the LSTMs; NULL for TREE_RNN */
    tg_tensor *root_h; /* [n_trees, H]: each tree's root state */
} tg_treenet_result;

/* x [N, input_size]: a row per node of the batch, in batch order (see
 * tg_tree_embed). Returns 0, or -1 with the tape's error set, e.g.
 *     "tg_treenet_forward: nary_tree_lstm has arity 2, but trees[3] line 1,
 *      column 7 has 3 children" */
int tg_treenet_forward(tg_tape *t, tg_treenet *m, const tg_tree_batch *b, tg_tensor *x,
                       tg_treenet_result *res);

/* Node inputs from an embedding: [N, dim], the row of every node's token
 * id, zeros at nodes without a token (no gradient flows there). */
tg_tensor *tg_tree_embed(tg_tape *t, tg_embedding *emb, const tg_tree_batch *b);

#endif
