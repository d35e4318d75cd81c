/* The RNN wishlist as cells: an LSTM or GRU with layer normalisation,
 * peepholes, a choice of activations, variational dropout and zoneout, in
 * any combination, built at run time as a tg_cell for tg_rnn_options.cell
 * (so each composes with bidirectional, stacked, lengths, TBPTT and
 * recompute like any cell).
 *
 * With pre-activations gx = x W_ih^T + b_ih and gh = h_in W_hh^T + b_hh:
 * - layer_norm (Ba, Kiros, Hinton 2016): gx and gh are normalised
 *   separately over their G*H entries, each with its gain and bias
 *   (ln_ih_weight/ln_ih_bias, ln_hh_weight/ln_hh_bias, [G*H]); an LSTM's
 *   new cell is normalised before its activation (ln_c_weight/ln_c_bias,
 *   [H]); the cell state itself is not. Gains start at 1, biases at 0.
 * - peephole (Gers and Schmidhuber 2000, LSTM only): i and f add
 *   weight_ci * c(t-1) and weight_cf * c(t-1), o adds weight_co * c(t),
 *   [H] each, uniform as the weights.
 * - gate_activation replaces the sigmoid of i, f, o (r, z); activation
 *   the tanh of g and of the cell in h (GRU: n). Names as activation.h.
 * - recurrent_dropout (Gal and Ghahramani 2016): in training, h_in is h
 *   times one mask per sequence (per row and unit, the same at every
 *   step) scaled by 1/(1-p); only the recurrent product sees it.
 * - input_dropout: the same on the layer's input x before its product.
 * - zoneout_h, zoneout_c (Krueger et al. 2016): in training each unit of
 *   the new state keeps its previous value with probability p, a fresh
 *   mask per step; in evaluation the new state is p * old + (1-p) * new.
 * Masks are a hash of (the layer's seed, layer and direction, time, row,
 * unit), so they are the same at any thread count and when a segment is
 * recomputed. Parameter names follow tg_rnn's: ln_ih_weight_l0, ... */
#ifndef TG_CELL_VARIANT_H
#define TG_CELL_VARIANT_H

#include "cell_activation.h"
#include "cell.h"

#include <stddef.h>

typedef struct tg_cell_variant_options {
    bool layer_norm;
    bool peephole;               /* LSTM only */
    const char *gate_activation; /* NULL: "sigmoid" */
    const char *activation;      /* NULL: "tanh" */
    double recurrent_dropout;    /* in [0, 1) */
    double input_dropout;        /* in [0, 1) */
    double zoneout_h;            /* in [0, 1) */
    double zoneout_c;            /* in [0, 1), LSTM only */
    double layer_norm_eps;       /* 0: 1e-5, as torch.nn.LayerNorm */
} tg_cell_variant_options;

/* A cell: base "lstm" or "gru" with the options o (NULL: none, the base's
 * numbers through its own cell). NULL with a message in err naming the
 * option for bad ones. Free it with tg_cell_variant_free after the layers
 * that run it. */
tg_cell *tg_cell_variant_new(const char *base, const tg_cell_variant_options *o, char *err,
                             size_t errlen);
/* Frees a cell made by tg_cell_variant_new (NULL is fine). */
void tg_cell_variant_free(tg_cell *cell);
/* Whether cell was made by tg_cell_variant_new; its options then in *o. */
bool tg_cell_variant_options_of(const tg_cell *cell, tg_cell_variant_options *o);

#endif
