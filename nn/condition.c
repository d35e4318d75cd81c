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

tg_linear_layer *tg_condition_new(int64_t C, const tg_rnn *rnn, tg_rng *init) {
    return tg_linear_layer_new(C, states(rnn) * rnn->opt.hidden_size, true, init);
}

tg_tensor *tg_condition_append(tg_tape *t, tg_tensor *x, const int64_t *cond, int64_t C) {
    if (!x) return NULL;
    tg_tensor *parts[2] = {x, one_hot(t, cond, x->shape[0], x->shape[1], C)};
    return tg_concat(t, 2, parts, 2);
}

int tg_condition_initial(tg_tape *t, tg_linear_layer *map, const tg_rnn *rnn, const int64_t *cond,
                         int64_t B, int64_t C, tg_tensor **h0, tg_tensor **c0) {
    int64_t n = (int64_t)rnn->opt.num_layers * rnn->dirs, H = rnn->opt.hidden_size;
    tg_tensor *z = tg_linear_layer_forward(t, map, one_hot(t, cond, 0, B, C)); /* [B, S*H] */
    /* [B, S, H] -> [S, B, H]: the first n of S are the h0s, the rest the c0s */
    tg_tensor *all =
        tg_contiguous(t, tg_transpose(t, tg_reshape(t, z, TG_SHAPE(B, states(rnn), H)), 0, 1));
    *h0 = tg_tanh(t, tg_narrow(t, all, 0, 0, n));
    if (rnn->cell->n_states > 1) *c0 = tg_narrow(t, all, 0, n, n); /* contiguous already */
    return tg_tape_error(t) ? -1 : 0;
}
