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

/* p, g, sq, ga, buf: [numel] */
static void rmsprop_update(tg_optim *o, int i, int64_t lo, int64_t hi) {
    const tg_rmsprop_options *r = &o->opt.rmsprop;
    tg_tensor *P = o->params[i];
    tg_real *p = P->data, *g = P->grad, *sq = o->buf[0][i]->data;
    int k = 1;
    tg_real *buf = r->momentum > 0 ? o->buf[k++][i]->data : NULL;
    tg_real *ga = r->centered ? o->buf[k++][i]->data : NULL;
    const tg_real wd = (tg_real)o->weight_decay[i], neg_lr = (tg_real)-o->lr;
    const tg_real alpha = (tg_real)r->alpha, one_alpha = (tg_real)(1 - r->alpha);
    const tg_real eps = (tg_real)r->eps, mom = (tg_real)r->momentum;
    for (int64_t j = lo; j < hi; j++) {
        tg_real d = g[j];
        if (wd != 0) d = d + wd * p[j];
        sq[j] = sq[j] * alpha + one_alpha * d * d;
        tg_real avg;
        if (ga) {
            ga[j] = ga[j] * alpha + one_alpha * d;
            avg = (tg_real)sqrt(sq[j] + (tg_real)-1 * ga[j] * ga[j]);
        } else {
            avg = (tg_real)sqrt(sq[j]);
        }
        avg = avg + eps;
        if (buf) {
            buf[j] = buf[j] * mom + d / avg;
            p[j] = p[j] + neg_lr * buf[j];
        } else {
            p[j] = p[j] + neg_lr * d / avg;
        }
    }
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
