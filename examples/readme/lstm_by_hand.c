/* An LSTM cell written by hand from tape ops, trained for a few steps to
 * predict the next value of a sine wave. BPTT is just tg_backward. */
#include <math.h>
#include <stdio.h>
#include "tapegrad.h"

enum { H = 16, T = 20 };

int main(void) {
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    tg_tensor *w_x = tg_param_new(TG_SHAPE(4 * H, 1)), *w_h = tg_param_new(TG_SHAPE(4 * H, H));
    tg_tensor *b = tg_param_new(TG_SHAPE(4 * H)), *w_out = tg_param_new(TG_SHAPE(1, H));
    tg_tensor *params[] = {w_x, w_h, b, w_out};
    for (int i = 0; i < 4; i++) tg_init_uniform(params[i], &rng, -0.25, 0.25);
    tg_optim *adam = tg_optim_adam(params, 4, (tg_adam_options){.lr = 0.01});
    tg_tape *tape = tg_tape_new();
    for (int step = 0; step <= 300; step++) {
        tg_tape_reset(tape); /* frees the last step at once */
        tg_tensor *h = tg_zeros(tape, TG_SHAPE(1, H)), *c = tg_zeros(tape, TG_SHAPE(1, H));
        tg_tensor *loss = tg_zeros(tape, TG_SCALAR);
        for (int t = 0; t < T; t++) { /* predict sin at the next step */
            tg_real xv = (tg_real)sin(0.3 * t), yv = (tg_real)sin(0.3 * (t + 1));
            tg_tensor *x = tg_from_array(tape, TG_SHAPE(1, 1), &xv);
            tg_tensor *g[4]; /* gates i, f, g, o, as PyTorch orders them */
            tg_chunk(tape, tg_add(tape, tg_linear(tape, x, w_x, b), tg_linear(tape, h, w_h, NULL)), 4, 1, g);
            c = tg_add(tape, tg_mul(tape, tg_sigmoid(tape, g[1]), c),
                       tg_mul(tape, tg_sigmoid(tape, g[0]), tg_tanh(tape, g[2])));
            h = tg_mul(tape, tg_sigmoid(tape, g[3]), tg_tanh(tape, c));
            tg_tensor *y = tg_linear(tape, h, w_out, NULL);
            loss = tg_add(tape, loss, tg_mse(tape, y, tg_from_array(tape, TG_SHAPE(1, 1), &yv), TG_SUM));
        }
        tg_optim_zero_grad(adam);
        if (tg_backward(tape, loss) != 0) return fprintf(stderr, "%s\n", tg_tape_error(tape)), 1;
        tg_optim_step(adam);
        if (step % 100 == 0) printf("step %3d  loss %.5f\n", step, (double)loss->data[0]);
    }
    tg_optim_free(adam);
    tg_tape_free(tape);
    for (int i = 0; i < 4; i++) tg_tensor_free(params[i]);
    return 0;
}
