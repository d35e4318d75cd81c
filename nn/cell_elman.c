/* The Elman cells: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or
 * relu (PyTorch's nn.RNN, nonlinearity "tanh" or "relu"). One gate, one
 * state. */
#include "cell.h"

typedef tg_tensor *(*activation)(tg_tape *, tg_tensor *);

/* Fused, the recurrent product accumulates onto gx (tg_linear_add): one
 * op and no [B, H] sum of its own; composed, it is a product and an add. */
static int elman(tg_tape *t, tg_cell_io *io, bool fused, activation act) {
    tg_tensor *pre;
    if (fused) {
        pre = tg_linear_add(t, io->gx, io->state[0], io->w_hh, io->b_hh);
        tg_label(t, pre, "recurrent");
    } else {
        pre = tg_add(t, io->gx, tg_cell_recurrent(t, io));
    }
    io->next[0] = act(t, pre);
    return io->next[0] ? 0 : -1;
}

static int tanh_composed(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    return elman(t, io, false, tg_tanh);
}
static int tanh_fused(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    return elman(t, io, true, tg_tanh);
}
static int relu_composed(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    return elman(t, io, false, tg_relu);
}
static int relu_fused(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    return elman(t, io, true, tg_relu);
}

#define ELMAN_STATE {{"h", "hidden", "h0"}}

const tg_cell tg__cell_rnn_tanh = {.name = "rnn_tanh",
                                   .scope = "rnn",
                                   .gates = 1,
                                   .n_states = 1,
                                   .state = ELMAN_STATE,
                                   .composed = tanh_composed,
                                   .fused = tanh_fused};

const tg_cell tg__cell_rnn_relu = {.name = "rnn_relu",
                                   .scope = "rnn",
                                   .gates = 1,
                                   .n_states = 1,
                                   .state = ELMAN_STATE,
                                   .composed = relu_composed,
                                   .fused = relu_fused};
