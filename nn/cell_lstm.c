/* The LSTM cell, gates i, f, g, o in PyTorch's order:
 *   c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(c')
 * with the gates' pre-activations gx + h W_hh^T + b_hh [B, 4H]. Fused, a
 * step is one node (tg_lstm_step, autograd/ops_rnn.c). */
#include "cell.h"

static int lstm_composed(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *pre = tg_add(t, io->gx, tg_cell_recurrent(t, io)), *g[4];
    if (tg_chunk(t, pre, 4, 1, g) != 4) return -1;
    tg_tensor *i = tg_sigmoid(t, g[0]), *f = tg_sigmoid(t, g[1]);
    tg_tensor *cand = tg_tanh(t, g[2]), *o = tg_sigmoid(t, g[3]);
    tg_label(t, i, "input_gate");
    tg_label(t, f, "forget_gate");
    tg_label(t, cand, "cell_candidate");
    tg_label(t, o, "output_gate");
    io->next[1] = tg_add(t, tg_mul(t, f, io->state[1]), tg_mul(t, i, cand));
    io->next[0] = tg_mul(t, o, tg_tanh(t, io->next[1]));
    return io->next[0] ? 0 : -1;
}

static int lstm_fused(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *hc = tg_lstm_step(t, io->gx, tg_cell_h_in(io), io->w_hh, io->b_hh, io->state[1]);
    tg_label(t, hc, "step"); /* [2, B, H]: h' and c' */
    if (!hc) return -1;
    tg_shape bh = TG_SHAPE(hc->shape[1], hc->shape[2]);
    io->next[0] = tg_reshape(t, tg_narrow(t, hc, 0, 0, 1), bh);
    io->next[1] = tg_reshape(t, tg_narrow(t, hc, 0, 1, 1), bh);
    return io->next[1] ? 0 : -1;
}

const tg_cell tg__cell_lstm = {.name = "lstm",
                               .scope = "lstm",
                               .gates = 4,
                               .n_states = 2,
                               .state = {{"h", "hidden", "h0"}, {"c", "cell", "c0"}},
                               .composed = lstm_composed,
                               .fused = lstm_fused};
