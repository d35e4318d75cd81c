/* RMSprop, as torch.optim.RMSprop (1.13, _single_tensor_rmsprop):
 *     d = g + wd * p
 *     sq = sq * alpha + (1 - alpha) * d * d
 *     centered: ga = ga * alpha + (1 - alpha) * d;  avg = sqrt(sq - ga * ga)
 *     else:     avg = sqrt(sq)
 *     avg = avg + eps
 *     momentum: buf = buf * momentum + d / avg;  p = p - lr * buf
 *     else:     p = p - lr * d / avg */
#include "optim_impl.h"

#include <math.h>

#include "../core/fastmath.h"

/* RMSprop's constants for one parameter. */
typedef struct rms_k {
    tg_real wd, neg_lr, alpha, one_alpha, eps, mom;
} rms_k;

/* Elements [lo, hi). The switches are constants where it is inlined, so
 * each case is a loop without branches, which vectorizes (the same bits). */
static inline __attribute__((always_inline)) void
span(tg_real *restrict p, const tg_real *restrict g, tg_real *restrict sq, tg_real *restrict buf,
     tg_real *restrict ga, int64_t lo, int64_t hi, const rms_k *k, bool decay, bool momentum,
     bool centered) {
    for (int64_t j = lo; j < hi; j++) {
        tg_real d = g[j];
        if (decay) d = d + k->wd * p[j];
        sq[j] = sq[j] * k->alpha + k->one_alpha * d * d;
        tg_real avg;
        if (centered) {
            ga[j] = ga[j] * k->alpha + k->one_alpha * d;
            avg = (tg_real)sqrt(sq[j] + (tg_real)-1 * ga[j] * ga[j]);
        } else {
            avg = (tg_real)sqrt(sq[j]);
        }
        avg = avg + k->eps;
        if (momentum) {
            buf[j] = buf[j] * k->mom + d / avg;
            p[j] = p[j] + k->neg_lr * buf[j];
        } else {
            p[j] = p[j] + k->neg_lr * d / avg;
        }
    }
}

/* p, g, sq, ga, buf: [numel] */
TG_VECTOR_CLONES
static void rmsprop_update(tg_optim *o, int i, int64_t lo, int64_t hi) {
    const tg_rmsprop_options *r = &o->opt.rmsprop;
    tg_tensor *P = o->params[i];
    tg_real *p = P->data, *g = P->grad, *sq = o->buf[0][i]->data;
    int n = 1;
    tg_real *buf = r->momentum > 0 ? o->buf[n++][i]->data : NULL;
    tg_real *ga = r->centered ? o->buf[n++][i]->data : NULL;
    const rms_k k = {.wd = (tg_real)o->weight_decay[i],
                     .neg_lr = (tg_real)-o->lr,
                     .alpha = (tg_real)r->alpha,
                     .one_alpha = (tg_real)(1 - r->alpha),
                     .eps = (tg_real)r->eps,
                     .mom = (tg_real)r->momentum};
    if (buf || ga || k.wd != 0) /* the less common cases: one general loop */
        span(p, g, sq, buf, ga, lo, hi, &k, k.wd != 0, buf != NULL, ga != NULL);
    else
        span(p, g, sq, NULL, NULL, lo, hi, &k, false, false, false);
}

tg_optim *tg_optim_rmsprop(tg_tensor *const *params, int n, tg_rmsprop_options r) {
    tg_optim *o = tg__optim_new("tg_optim_rmsprop", "rmsprop", params, n, rmsprop_update);
    if (!o) return NULL;
    r.lr = tg__opt_default(r.lr, 1e-2);
    r.alpha = tg__opt_default(r.alpha, 0.99);
    r.eps = tg__opt_default(r.eps, 1e-8);
    r.weight_decay = tg__opt_default(r.weight_decay, 0);
    r.momentum = tg__opt_default(r.momentum, 0);
    tg__opt_nonneg(o, "lr", r.lr);
    tg__opt_nonneg(o, "alpha", r.alpha);
    tg__opt_nonneg(o, "eps", r.eps);
    tg__opt_nonneg(o, "weight_decay", r.weight_decay);
    tg__opt_nonneg(o, "momentum", r.momentum);
    o->opt.rmsprop = r;
    tg__optim_add_buf(o, "square_avg", 0);
    if (r.momentum > 0) tg__optim_add_buf(o, "momentum_buffer", 0);
    if (r.centered) tg__optim_add_buf(o, "grad_avg", 0);
    return tg__optim_ready(o, r.lr, r.weight_decay);
}
