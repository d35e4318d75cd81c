/* The Jordan network: a recurrent net whose only recurrence runs from the
 * output back to the hidden layer (Jordan 1986; Goodfellow et al., Deep
 * Learning, section 10.2, fig. 10.4). PyTorch has no module for it. For
 * every step t = 0 .. T-1:
 *
 *     h_t = act(W_ih x_t + b_ih + W_yh y_{t-1})      act: tanh (or relu)
 *     y_t = W_hy h_t + b_hy
 *
 * The state carried from one step to the next is y alone, so the net can
 * remember only what it wrote into its output. What comes back as y_{t-1}:
 *   - free running: its own previous output, with y_{-1} = y0 (or zeros);
 *   - teacher forcing: the previous *target* d_{t-1} from the caller, with
 *     d_{-1} = y0 (or zeros). No step then waits for another's result, so
 *     the whole sequence is computed at once (three GEMMs over [T*B, .], no
 *     loop): the parallel training Goodfellow et al. give as this
 *     architecture's advantage (section 10.2.1).
 *
 * Parameters, by name (all U(-1/sqrt(H), 1/sqrt(H)), as nn.RNN and an
 * nn.Linear(H, O) readout initialise theirs):
 *     weight_ih_l0 [H, I]    bias_ih_l0 [H]
 *     weight_yh_l0 [H, O]    (no bias of its own: bias_ih_l0 covers it)
 *     weight_hy    [O, H]    bias_hy    [O]
 * which is H*I + H + H*O + O*H + O scalars. */
#ifndef TG_JORDAN_H
#define TG_JORDAN_H

#include "module.h"

/* Sizes must be positive; zero-initialised flags are the defaults. */
typedef struct tg_jordan_options {
    /* I, H, O */
    int64_t input_size, hidden_size, output_size;
    bool relu;        /* act = relu instead of tanh */
    bool batch_first; /* x, targets and results [B, T, .] instead of [T, B, .] */
} tg_jordan_options;

typedef struct tg_jordan {
    tg_module base;
    tg_jordan_options opt;
    tg_tensor *w_ih, *b_ih, *w_yh, *w_hy, *b_hy;
} tg_jordan;

/* NULL with a message in err for bad options. */
tg_jordan *tg_jordan_new(tg_jordan_options o, tg_rng *init, char *err, size_t errlen);

typedef struct tg_jordan_result {
    tg_tensor *output;   /* y [T, B, O] (or [B, T, O]) */
    tg_tensor *hidden;   /* h [T, B, H] (or [B, T, H]) */
    tg_tensor *feedback; /* [B, O]: what a step T would read back, y_{T-1}
                          * (free running) or the last target (teacher
                          * forcing); pass it as y0 to continue the sequence */
} tg_jordan_result;

/* x [T, B, I] (or [B, T, I]) with T, B >= 1; y0 [B, O] or NULL (zeros);
 * targets NULL to run free, or [T, B, O] (or [B, T, O]) for teacher forcing
 * (targets[T-1] feeds no step but becomes the feedback). Returns 0, or -1
 * with the tape's error set (and res zeroed). */
int tg_jordan_forward(tg_tape *t, tg_jordan *m, tg_tensor *x, tg_tensor *y0, tg_tensor *targets,
                      tg_jordan_result *res);

#endif
