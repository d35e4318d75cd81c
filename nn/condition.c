/* Conditioning a language model on a class (nn/condition.h). */
#include "condition.h"

/* [B, C] (or [T, B, C] with T > 0 rows of the same) one-hot constants. */
static tg_tensor *one_hot(tg_tape *t, const int64_t *cond, int64_t T, int64_t B, int64_t C) {
    tg_tensor *y = tg_zeros(t, T ? TG_SHAPE(T, B, C) : TG_SHAPE(B, C));
    for (int64_t i = 0; y && i < (T ? T : 1) * B; i++) y->data[i * C + cond[i % B]] = 1;
    return y;
}

/* Per direction and layer an h0 (and a c0 for a cell with two states). */
static int64_t states(const tg_rnn *rnn) {
    return (int64_t)rnn->opt.num_layers * rnn->dirs * rnn->cell->n_states;
}

/* The width of all initial states together: every h0 (proj_size wide when
 * projected), then every other state (hidden_size wide). */
static int64_t state_width(const tg_rnn *rnn) {
    int64_t n = (int64_t)rnn->opt.num_layers * rnn->dirs;
    return n * tg_rnn_h_size(rnn) + (states(rnn) - n) * rnn->opt.hidden_size;
}

tg_linear_layer *tg_condition_new(int64_t C, const tg_rnn *rnn, tg_rng *init) {
    return tg_linear_layer_new(C, state_width(rnn), true, init);
}

/* Columns at..at+n*W of z [B, .] as [n, B, W]. */
static tg_tensor *states_of(tg_tape *t, tg_tensor *z, int64_t at, int64_t n, int64_t W) {
    int64_t B = z->shape[0];
    tg_tensor *part = tg_reshape(t, tg_contiguous(t, tg_narrow(t, z, 1, at, n * W)),
                                 TG_SHAPE(B, n, W));
    return tg_contiguous(t, tg_transpose(t, part, 0, 1));
}

tg_tensor *tg_condition_append(tg_tape *t, tg_tensor *x, const int64_t *cond, int64_t C) {
    if (!x) return NULL;
    tg_tensor *parts[2] = {x, one_hot(t, cond, x->shape[0], x->shape[1], C)};
    return tg_concat(t, 2, parts, 2);
}

int tg_condition_initial(tg_tape *t, tg_linear_layer *map, const tg_rnn *rnn, const int64_t *cond,
                         int64_t B, int64_t C, tg_tensor **h0, tg_tensor **c0) {
    int64_t n = (int64_t)rnn->opt.num_layers * rnn->dirs, H = rnn->opt.hidden_size;
    int64_t R = tg_rnn_h_size(rnn);
    tg_tensor *z = tg_linear_layer_forward(t, map, one_hot(t, cond, 0, B, C));
    if (R == H) {
        /* [B, S*H] -> [S, B, H]: the first n of S are the h0s, the rest the c0s */
        tg_tensor *all =
            tg_contiguous(t, tg_transpose(t, tg_reshape(t, z, TG_SHAPE(B, states(rnn), H)), 0, 1));
        *h0 = tg_tanh(t, tg_narrow(t, all, 0, 0, n));
        if (rnn->cell->n_states > 1) *c0 = tg_narrow(t, all, 0, n, n); /* contiguous already */
    } else { /* proj_size: [B, n*R + n*H], the h0s narrower than the c0s */
        *h0 = tg_tanh(t, states_of(t, z, 0, n, R));
        *c0 = states_of(t, z, n * R, n, H);
    }
    return tg_tape_error(t) ? -1 : 0;
}
