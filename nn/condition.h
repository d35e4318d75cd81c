/* A language model conditioned on a class (input.condition in a spec, the
 * one-to-many shape): the class enters the first recurrent layer as a
 * one-hot vector, either as its initial state (h0 = tanh(W c + b), and for
 * an LSTM c0 from the same linear map) or appended to its input at every
 * step. Used by the models of model/ (layer_rnn.c, build.c). */
#ifndef TG_NN_CONDITION_H
#define TG_NN_CONDITION_H

#include "linear.h"
#include "rnn.h"

/* initial_state: the linear map from C classes to every h0 (and c0) of rnn. */
tg_linear_layer *tg_condition_new(int64_t C, const tg_rnn *rnn, tg_rng *init);
/* x [T, B, F] with the one-hot of cond[b] (in [0, C)) appended: [T, B, F + C]. */
tg_tensor *tg_condition_append(tg_tape *t, tg_tensor *x, const int64_t *cond, int64_t C);
/* h0 (and, for an LSTM, c0), each [layers*dirs, B, H] (h0 [layers*dirs, B,
 * proj_size] for a projected LSTM), for classes cond[B]. */
int tg_condition_initial(tg_tape *t, tg_linear_layer *map, const tg_rnn *rnn, const int64_t *cond,
                         int64_t B, int64_t C, tg_tensor **h0, tg_tensor **c0);

#endif
