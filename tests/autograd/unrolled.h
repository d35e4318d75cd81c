/* A small unrolled RNN over heap parameters, shared by the tests of the
 * gradient notices (tests/autograd/test_grad_ready.c) and of dist
 * (tests/dist/test_dist.c): p[0] Wx [4,3], p[1] Wh [4,4] (both read at
 * every step, so their products are deferred), p[2] b [4], p[3] a
 * parameter nothing reads. */
#ifndef TG_TEST_UNROLLED_H
#define TG_TEST_UNROLLED_H

#include "tapegrad.h"

#define UNROLLED_N 4

static inline void unrolled_params(tg_tensor **p) {
    tg_shape sh[UNROLLED_N] = {TG_SHAPE(4, 3), TG_SHAPE(4, 4), TG_SHAPE(4), TG_SHAPE(2)};
    tg_rng r;
    tg_rng_seed(&r, 3);
    for (int i = 0; i < UNROLLED_N; i++) {
        p[i] = tg_tensor_new(sh[i]);
        p[i]->requires_grad = true;
        for (int64_t j = 0; j < p[i]->numel; j++)
            p[i]->data[j] = (tg_real)(0.5 * tg_rng_normal(&r));
    }
}

/* sum(h_5) of h_t = tanh(x_t Wx^T + b + h_{t-1} Wh^T), x_t [2,3]. */
static inline tg_tensor *unrolled_loss(tg_tape *t, tg_tensor **p) {
    tg_rng r;
    tg_rng_seed(&r, 9);
    tg_tensor *h = NULL;
    for (int s = 0; s < 5; s++) {
        tg_tensor *x = tg_randn(t, &r, TG_SHAPE(2, 3), 0, 1);
        tg_tensor *z = tg_linear(t, x, p[0], p[2]);
        h = tg_tanh(t, h ? tg_linear_add(t, z, h, p[1], NULL) : z);
    }
    return tg_sum(t, h);
}

#endif
