/* The Elman cells: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or
 * relu (PyTorch's nn.RNN, nonlinearity "tanh" or "relu"). One gate, one
 * state. */
#include "cell.h"

/* The row's own data: its activation. */
typedef struct elman {
    tg_tensor *(*act)(tg_tape *, tg_tensor *);
} elman;

static const elman TANH = {tg_tanh}, RELU = {tg_relu};

/* pre = gx + h W_hh^T + b_hh as a product and an add */
static int elman_composed(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    const elman *e = cell->ctx;
    io->next[0] = e->act(t, tg_add(t, io->gx, tg_cell_recurrent(t, io)));
    return io->next[0] ? 0 : -1;
}

/* Fused, the recurrent product accumulates onto gx (tg_linear_add): one
 * op and no [B, H] sum of its own. */
static int elman_fused(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    const elman *e = cell->ctx;
    tg_tensor *pre = tg_linear_add(t, io->gx, tg_cell_h_in(io), io->w_hh, io->b_hh);
    tg_label(t, pre, "recurrent");
    io->next[0] = e->act(t, pre);
    return io->next[0] ? 0 : -1;
}

#define ELMAN_STATE {{"h", "hidden", "h0"}}

const tg_cell tg__cell_rnn_tanh = {.name = "rnn_tanh",
                                   .scope = "rnn",
                                   .gates = 1,
                                   .n_states = 1,
                                   .state = ELMAN_STATE,
                                   .composed = elman_composed,
                                   .fused = elman_fused,
                                   .ctx = &TANH};

const tg_cell tg__cell_rnn_relu = {.name = "rnn_relu",
                                   .scope = "rnn",
                                   .gates = 1,
                                   .n_states = 1,
                                   .state = ELMAN_STATE,
                                   .composed = elman_composed,
                                   .fused = elman_fused,
                                   .ctx = &RELU};
