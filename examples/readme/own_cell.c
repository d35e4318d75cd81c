/* A recurrent cell of one's own: the minimal gated unit (Zhou et al. 2016)
 * as a step of tape ops, run by the library's layer (one GEMM for every
 * step's input product, stacks, directions, lengths) and fused: .fuse
 * traces the step's elementwise part once per sequence, then runs each step
 * as one node whose backward comes from each op's own derivative. */
#include <math.h>
#include <stdio.h>
#include "tapegrad.h"

enum { T = 20, B = 4, H = 16 };

/* f = sigmoid(x_f + h_f), n = tanh(x_n + f * h_n), h' = (1 - f) * h + f * n */
static int mgu_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *x[2], *r[2], *h = io->state[0];
    tg_chunk(t, io->gx, 2, 1, x);                   /* x W_ih^T + b_ih, gates f and n */
    tg_chunk(t, tg_cell_recurrent(t, io), 2, 1, r); /* h W_hh^T + b_hh */
    tg_tensor *f = tg_sigmoid(t, tg_add(t, x[0], r[0]));
    tg_tensor *n = tg_tanh(t, tg_add(t, x[1], tg_mul(t, f, r[1])));
    io->next[0] = tg_add(t, tg_mul(t, tg_add_scalar(t, tg_neg(t, f), 1), h), tg_mul(t, f, n));
    return io->next[0] ? 0 : -1; /* NULL: the tape holds the error */
}

static const tg_cell MGU = {.name = "mgu",
                            .scope = "mgu",
                            .gates = 2,
                            .n_states = 1,
                            .state = {{"h", "hidden", "h0"}},
                            .composed = mgu_step,
                            .fuse = true};

int main(void) {
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    char err[256];
    tg_rnn *rnn = tg_rnn_new((tg_rnn_options){.cell = &MGU, .input_size = 1, .hidden_size = H},
                             &rng, err, sizeof err);
    if (!rnn) return fprintf(stderr, "%s\n", err), 1;
    tg_tensor *params[8] = {tg_param_new(TG_SHAPE(1, H))}; /* the head, then the layer's */
    tg_init_uniform(params[0], &rng, -0.25, 0.25);
    const tg_params *p = tg_module_params(&rnn->base); /* weight_ih_l0, ..., bias_hh_l0 */
    for (int i = 0; i < p->n; i++) params[1 + i] = p->items[i].tensor;
    tg_optim *adam = tg_optim_adam(params, 1 + p->n, (tg_adam_options){.lr = 0.01});
    tg_real xs[T * B], ys[T * B]; /* [T, B]: B sine waves, each predicting its next value */
    for (int i = 0; i < T * B; i++) {
        xs[i] = (tg_real)sin(0.3 * (i / B) + i % B);
        ys[i] = (tg_real)sin(0.3 * (i / B + 1) + i % B);
    }
    tg_tape *tape = tg_tape_new();
    for (int step = 0; step <= 300; step++) {
        tg_tape_reset(tape);
        tg_rnn_result res = {0};
        tg_tensor *x = tg_from_array(tape, TG_SHAPE(T, B, 1), xs);
        tg_rnn_forward(tape, rnn, x, NULL, NULL, NULL, &res); /* a failure: the tape says so */
        tg_tensor *h = tg_reshape(tape, res.output, TG_SHAPE(T * B, H));
        tg_tensor *y = tg_linear(tape, h, params[0], NULL);
        tg_tensor *loss = tg_mse(tape, y, tg_from_array(tape, TG_SHAPE(T * B, 1), ys), TG_SUM);
        tg_optim_zero_grad(adam);
        if (tg_backward(tape, loss) != 0) return fprintf(stderr, "%s\n", tg_tape_error(tape)), 1;
        tg_optim_step(adam);
        if (step % 100 == 0) printf("step %3d  loss %.5f\n", step, (double)loss->data[0]);
    }
    tg_optim_free(adam);
    tg_tape_free(tape);
    tg_tensor_free(params[0]);
    tg_module_free(&rnn->base);
    return 0;
}
