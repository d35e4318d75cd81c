/* Inverted dropout. The mask holds each element's factor (0, or 1/(1-p)
 * for a kept one), so forward is y = x * mask and backward dx += dy * mask;
 * evaluation needs no rescaling. */
#include "op.h"

/* x, y, mask: [numel] in x's row-major order. Draws exactly one uniform per
 * element whether or not the op is recorded, so the same seed gives the
 * same mask with gradients on or off. */
tg_tensor *tg_dropout(tg_tape *t, tg_tensor *x, double p, bool training, tg_rng *r) {
    if (!tg__begin(t, "tg_dropout", 1, &x)) return NULL;
    if (!(p >= 0 && p <= 1)) { /* also rejects NaN */
        tg__fail(t, "tg_dropout: p must be in [0, 1], got %g", p);
        return NULL;
    }
    if (!training || p == 0) return x;
    if (!r) {
        tg__fail(t, "tg_dropout: training with p = %g needs an rng, got NULL", p);
        return NULL;
    }
    tg_tensor *y = tg__tensor(t, tg_tensor_shape(x));
    if (!y) return NULL;
    const tg_real *px = tg__contig(t, x);
    tg_real *mask = tg__alloc(t, (size_t)y->numel * sizeof(tg_real));
    if (tg__failed(t)) return NULL;
    /* p = 1 drops everything (u < 1 always); its scale would be 1/0 */
    tg_real keep = p < 1 ? (tg_real)(1 / (1 - p)) : 0;
    for (int64_t i = 0; i < y->numel; i++) {
        mask[i] = tg_rng_uniform(r) < p ? 0 : keep;
        y->data[i] = px[i] * mask[i];
    }
    tg_node *n = tg__record(t, TG_OP_DROPOUT, y, 1, &x);
    if (n) {
        n->saved = mask;
        n->f[0] = p;
    }
    return y;
}

void tg__dropout_backward(tg_tape *t, tg_node *n) {
    (void)t;
    tg_tensor *x = n->in[0];
    if (!x->requires_grad) return;
    const tg_real *mask = n->saved, *gy = n->out->grad;
    for (int64_t i = 0; i < n->out->numel; i++) x->grad[i] += gy[i] * mask[i];
}
