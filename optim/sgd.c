/* SGD with momentum, dampening, Nesterov and weight decay, as
 * torch.optim.SGD (1.13, _single_tensor_sgd):
 *     d = g + wd * p
 *     buf = d on the first step, else buf * momentum + (1 - dampening) * d
 *     d = nesterov ? d + momentum * buf : buf
 *     p = p - lr * d */
#include "optim_impl.h"

#include <math.h>

/* p, g, buf: [numel] */
static void sgd_update(tg_optim *o, int i, int64_t lo, int64_t hi) {
    const tg_sgd_options *s = &o->opt.sgd;
    tg_tensor *P = o->params[i];
    tg_real *p = P->data, *g = P->grad;
    const tg_real wd = (tg_real)o->weight_decay[i], neg_lr = (tg_real)-o->lr;
    const tg_real mom = (tg_real)s->momentum, keep = (tg_real)(1 - s->dampening);
    /* PyTorch creates the buffer as a copy of d on the parameter's first
     * step (no dampening then); a step count of 1 says it is the first. */
    const bool first = o->step->data[i] == 1;
    tg_real *buf = s->momentum != 0 ? o->buf[0][i]->data : NULL;
    for (int64_t j = lo; j < hi; j++) {
        tg_real d = g[j];
        if (wd != 0) d = d + wd * p[j];
        if (buf) {
            buf[j] = first ? d : buf[j] * mom + keep * d;
            d = s->nesterov ? d + mom * buf[j] : buf[j];
        }
        p[j] = p[j] + neg_lr * d;
    }
}

tg_optim *tg_optim_sgd(tg_tensor *const *params, int n, tg_sgd_options s) {
    tg_optim *o = tg__optim_new("tg_optim_sgd", "sgd", params, n, sgd_update);
    if (!o) return NULL;
    if (s.lr == 0 && !signbit(s.lr))
        tg__optim_fail(o, true,
                       "tg_optim_sgd: lr is required (PyTorch's SGD has no "
                       "default; TG_ZERO asks for 0)");
    s.lr = tg__opt_default(s.lr, 0);
    s.momentum = tg__opt_default(s.momentum, 0);
    s.dampening = tg__opt_default(s.dampening, 0);
    s.weight_decay = tg__opt_default(s.weight_decay, 0);
    tg__opt_nonneg(o, "lr", s.lr);
    tg__opt_nonneg(o, "momentum", s.momentum);
    tg__opt_nonneg(o, "weight_decay", s.weight_decay);
    if (s.nesterov && (s.momentum <= 0 || s.dampening != 0))
        tg__optim_fail(o, true,
                       "tg_optim_sgd: nesterov needs momentum > 0 and dampening 0, "
                       "got momentum %g, dampening %g",
                       s.momentum, s.dampening);
    o->opt.sgd = s;
    if (s.momentum != 0) tg__optim_add_buf(o, "momentum_buffer", 0);
    return tg__optim_ready(o, s.lr, s.weight_decay);
}
