/* A ReNet layer (Visin et al. 2015, "ReNet: A Recurrent Neural Network Based
 * Alternative to Convolutional Networks"): four recurrent sweeps over a grid
 * of image patches instead of a convolution. A bidirectional layer runs along
 * every row (left to right and right to left), then a second bidirectional
 * layer runs along every column of the row sweep's outputs (top to bottom
 * and bottom to top), so each output position has seen the whole image:
 *
 *     x [B, R, C, F]  --rows-->  [B, R, C, 2H]  --columns-->  y [B, R, C, 2H]
 *
 * y[b, r, c] = (down state, up state) at (r, c), each a function of the row
 * sweep's (right, left) states of the whole column c. Both sweeps are plain
 * tg_rnn layers (any cell of the cell table), so no new recurrence code:
 * rows are the batch B*R of sequences of length C, columns the batch B*C of
 * sequences of length R. Layers stack (a second one takes F = 2H), and a
 * pooling or flattening plus a classifier follow.
 *
 * Parameters: "rows." and "cols." followed by tg_rnn's names, e.g.
 * rows.weight_ih_l0 [G*H, F], cols.weight_hh_l0_reverse [G*H, H]. */
#ifndef TG_RENET_H
#define TG_RENET_H

#include "rnn.h"

/* mode/cell as in tg_rnn_options; F = input_size, H = hidden_size. */
typedef struct tg_renet_options {
    tg_rnn_mode mode;
    const tg_cell *cell; /* or NULL for mode's built-in cell; must outlive the layer */
    int64_t input_size, hidden_size;
} tg_renet_options;

typedef struct tg_renet {
    tg_module base;
    tg_renet_options opt;
    tg_rnn *rows, *cols; /* children, owned through base */
} tg_renet;

/* NULL with a message in err for bad options. */
tg_renet *tg_renet_new(tg_renet_options o, tg_rng *init, char *err, size_t errlen);

/* x [B, R, C, F] -> [B, R, C, 2H], or NULL with the tape's error set. */
tg_tensor *tg_renet_forward(tg_tape *t, tg_renet *m, tg_tensor *x);

/* Non-overlapping P x P patches of images x [B, H, W] as features:
 * [B, H/P, W/P, P*P], each patch's pixels row by row. H and W must be
 * multiples of P; NULL with the tape's error set otherwise. */
tg_tensor *tg_image_patches(tg_tape *t, tg_tensor *x, int64_t patch);

#endif
