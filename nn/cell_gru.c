/* The GRU cell, gates r, z, n in PyTorch's order, from the input's and the
 * hidden state's shares gx and gh [B, 3H]:
 *   r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z),
 *   n = tanh(gx_n + r * gh_n), h' = (1 - z) * n + z * h.
 * r multiplies gh_n alone, so the recurrent product stays apart from gx.
 * Fused, everything after the product is one node (tg_gru_gates). */
#include "cell.h"

static int gru_composed(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *gh = tg_cell_recurrent(t, io), *h = io->state[0], *x3[3], *h3[3];
    if (tg_chunk(t, io->gx, 3, 1, x3) != 3 || tg_chunk(t, gh, 3, 1, h3) != 3) return -1;
    tg_tensor *r = tg_sigmoid(t, tg_add(t, x3[0], h3[0]));
    tg_tensor *z = tg_sigmoid(t, tg_add(t, x3[1], h3[1]));
    tg_tensor *n = tg_tanh(t, tg_add(t, x3[2], tg_mul(t, r, h3[2])));
    tg_label(t, r, "reset_gate");
    tg_label(t, z, "update_gate");
    tg_label(t, n, "new_gate");
    io->next[0] = tg_add(t, n, tg_mul(t, z, tg_sub(t, h, n))); /* (1-z)*n + z*h */
    return io->next[0] ? 0 : -1;
}

static int gru_fused(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    io->next[0] = tg_gru_gates(t, io->gx, tg_cell_recurrent(t, io), io->state[0]);
    return io->next[0] ? 0 : -1;
}

const tg_cell tg__cell_gru = {.name = "gru",
                              .scope = "gru",
                              .gates = 3,
                              .n_states = 1,
                              .state = {{"h", "hidden", "h0"}},
                              .composed = gru_composed,
                              .fused = gru_fused};
