/* Adam and AdamW, as torch.optim.Adam / AdamW (1.13, _single_tensor_adam,
 * _single_tensor_adamw):
 *     Adam:  d = g + wd * p          AdamW: p = p * (1 - lr * wd); d = g
 *     m = m * beta1 + (1 - beta1) * d
 *     v = v * beta2 + (1 - beta2) * d * d
 *     amsgrad: vmax = max(vmax, v), used in place of v below
 *     denom = sqrt(v) / sqrt(1 - beta2^step) + eps
 *     p = p - lr / (1 - beta1^step) * m / denom */
#include "optim_impl.h"

#include <math.h>

#include "../core/fastmath.h"

/* torch.maximum: NaN if either is NaN. */
static tg_real nan_max(tg_real a, tg_real b) {
    return a > b || isnan(a) ? a : b;
}

/* Adam's constants for one parameter at one step. */
typedef struct adam_k {
    tg_real beta1, one_b1, beta2, one_b2, neg_step_size, bc2_sqrt, eps, l2, shrink;
} adam_k;

/* Elements [lo, hi) of p, g, m, v, vmax. The switches are constants where
 * it is inlined, so each case is a loop without branches: it vectorizes,
 * element by element the same operations in the same order (the same bits
 * as one at a time). */
static inline __attribute__((always_inline)) void
span(tg_real *restrict p, const tg_real *restrict g, tg_real *restrict m, tg_real *restrict v,
     tg_real *restrict vmax, int64_t lo, int64_t hi, const adam_k *k, bool decoupled, bool l2,
     bool ams) {
    for (int64_t j = lo; j < hi; j++) {
        if (decoupled) p[j] = p[j] * k->shrink;
        tg_real d = g[j];
        if (l2) d = d + k->l2 * p[j];
        m[j] = m[j] * k->beta1 + k->one_b1 * d;
        v[j] = v[j] * k->beta2 + k->one_b2 * d * d;
        tg_real vv = v[j];
        if (ams) vv = vmax[j] = nan_max(vmax[j], v[j]);
        tg_real denom = (tg_real)sqrt(vv) / k->bc2_sqrt + k->eps;
        p[j] = p[j] + k->neg_step_size * m[j] / denom;
    }
}

/* p, g, m, v, vmax: [numel] */
TG_VECTOR_CLONES
static void update(tg_optim *o, int i, int64_t lo, int64_t hi, bool decoupled) {
    const tg_adam_options *a = &o->opt.adam;
    tg_tensor *P = o->params[i];
    tg_real *p = P->data, *g = P->grad;
    tg_real *m = o->buf[0][i]->data, *v = o->buf[1][i]->data;
    tg_real *vmax = a->amsgrad ? o->buf[2][i]->data : NULL;
    const double step = o->step->data[i], wd = o->weight_decay[i];
    const double b1 = a->betas[0], b2 = a->betas[1];
    const adam_k k = {.beta1 = (tg_real)b1,
                      .one_b1 = (tg_real)(1 - b1),
                      .beta2 = (tg_real)b2,
                      .one_b2 = (tg_real)(1 - b2),
                      .neg_step_size = (tg_real) - (o->lr / (1 - pow(b1, step))),
                      .bc2_sqrt = (tg_real)sqrt(1 - pow(b2, step)),
                      .eps = (tg_real)a->eps,
                      .l2 = decoupled ? 0 : (tg_real)wd,
                      .shrink = (tg_real)(1 - o->lr * wd)};
    bool l2 = k.l2 != 0;
    if (vmax) /* rare: one general loop */
        span(p, g, m, v, vmax, lo, hi, &k, decoupled, l2, true);
    else if (decoupled)
        span(p, g, m, v, NULL, lo, hi, &k, true, false, false);
    else if (l2)
        span(p, g, m, v, NULL, lo, hi, &k, false, true, false);
    else
        span(p, g, m, v, NULL, lo, hi, &k, false, false, false);
}

static void adam_update(tg_optim *o, int i, int64_t lo, int64_t hi) {
    update(o, i, lo, hi, false);
}
static void adamw_update(tg_optim *o, int i, int64_t lo, int64_t hi) {
    update(o, i, lo, hi, true);
}

static tg_optim *adam_new(const char *fn, const char *kind, tg_tensor *const *params, int n,
                          tg_adam_options a, bool decoupled) {
    tg_optim *o = tg__optim_new(fn, kind, params, n, decoupled ? adamw_update : adam_update);
    if (!o) return NULL;
    a.lr = tg__opt_default(a.lr, 1e-3);
    a.betas[0] = tg__opt_default(a.betas[0], 0.9);
    a.betas[1] = tg__opt_default(a.betas[1], 0.999);
    a.eps = tg__opt_default(a.eps, 1e-8);
    a.weight_decay = tg__opt_default(a.weight_decay, decoupled ? 1e-2 : 0);
    tg__opt_nonneg(o, "lr", a.lr);
    tg__opt_nonneg(o, "eps", a.eps);
    for (int k = 0; k < 2; k++)
        if (!(a.betas[k] >= 0 && a.betas[k] < 1))
            tg__optim_fail(o, true, "%s: betas[%d] must be in [0, 1), got %g", fn, k, a.betas[k]);
    tg__opt_nonneg(o, "weight_decay", a.weight_decay);
    o->opt.adam = a;
    tg__optim_add_buf(o, "exp_avg", 0);
    tg__optim_add_buf(o, "exp_avg_sq", 0);
    if (a.amsgrad) tg__optim_add_buf(o, "max_exp_avg_sq", 0);
    return tg__optim_ready(o, a.lr, a.weight_decay);
}

tg_optim *tg_optim_adam(tg_tensor *const *params, int n, tg_adam_options a) {
    return adam_new("tg_optim_adam", "adam", params, n, a, false);
}

tg_optim *tg_optim_adamw(tg_tensor *const *params, int n, tg_adam_options a) {
    return adam_new("tg_optim_adamw", "adamw", params, n, a, true);
}
