/* Adagrad, as torch.optim.Adagrad (1.13, _single_tensor_adagrad):
 *     d = g + wd * p
 *     clr = lr / (1 + (step - 1) * lr_decay)
 *     sum = sum + d * d
 *     p = p - clr * d / (sqrt(sum) + eps)
 * Karpathy's min-char-rnn is this with lr 0.1 and eps 1e-8. */
#include "optim_impl.h"

#include <math.h>

#include "../core/fastmath.h"

/* Elements [lo, hi): wd is a constant where it is inlined, so each case is
 * a loop without branches, which vectorizes (the same bits). */
static inline __attribute__((always_inline)) void
span(tg_real *restrict p, const tg_real *restrict g, tg_real *restrict sum, int64_t lo, int64_t hi,
     tg_real wd, tg_real eps, tg_real neg_clr, bool decay) {
    for (int64_t j = lo; j < hi; j++) {
        tg_real d = g[j];
        if (decay) d = d + wd * p[j];
        sum[j] = sum[j] + d * d;
        tg_real std = (tg_real)sqrt(sum[j]) + eps;
        p[j] = p[j] + neg_clr * d / std;
    }
}

/* p, g, sum: [numel] */
TG_VECTOR_CLONES
static void adagrad_update(tg_optim *o, int i, int64_t lo, int64_t hi) {
    const tg_adagrad_options *a = &o->opt.adagrad;
    tg_tensor *P = o->params[i];
    tg_real *p = P->data, *g = P->grad, *sum = o->buf[0][i]->data;
    const double step = o->step->data[i];
    const tg_real wd = (tg_real)o->weight_decay[i], eps = (tg_real)a->eps;
    const tg_real neg_clr = (tg_real) - (o->lr / (1 + (step - 1) * a->lr_decay));
    if (wd != 0)
        span(p, g, sum, lo, hi, wd, eps, neg_clr, true);
    else
        span(p, g, sum, lo, hi, wd, eps, neg_clr, false);
}

tg_optim *tg_optim_adagrad(tg_tensor *const *params, int n, tg_adagrad_options a) {
    tg_optim *o = tg__optim_new("tg_optim_adagrad", "adagrad", params, n, adagrad_update);
    if (!o) return NULL;
    a.lr = tg__opt_default(a.lr, 1e-2);
    a.lr_decay = tg__opt_default(a.lr_decay, 0);
    a.weight_decay = tg__opt_default(a.weight_decay, 0);
    a.initial_accumulator_value = tg__opt_default(a.initial_accumulator_value, 0);
    a.eps = tg__opt_default(a.eps, 1e-10);
    tg__opt_nonneg(o, "lr", a.lr);
    tg__opt_nonneg(o, "lr_decay", a.lr_decay);
    tg__opt_nonneg(o, "weight_decay", a.weight_decay);
    tg__opt_nonneg(o, "initial_accumulator_value", a.initial_accumulator_value);
    tg__opt_nonneg(o, "eps", a.eps);
    o->opt.adagrad = a;
    tg__optim_add_buf(o, "sum", a.initial_accumulator_value);
    return tg__optim_ready(o, a.lr, a.weight_decay);
}
