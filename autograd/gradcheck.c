/* Gradient checking: the tape's gradient of L = sum(f(inputs) * W), for a
 * fixed random W, against central differences of the same L. */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* L for the current input values, evaluated without recording. */
static bool eval_loss(tg_tape *t, tg_gradcheck_fn f, void *ctx, tg_tensor *const *inputs,
                      const tg_real *w, int64_t n_out, double *loss) {
    tg_tape_reset(t);
    tg_set_grad_enabled(t, false);
    tg_tensor *y = f(t, inputs, ctx);
    tg_set_grad_enabled(t, true);
    if (!y || y->numel != n_out) return false;
    double s = 0;
    for (int64_t i = 0; i < n_out; i++) s += (double)tg_at(y, i) * (double)w[i];
    *loss = s;
    return true;
}

bool tg_gradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs, double eps,
                  double tol, tg_gradcheck_result *res) {
    *res = (tg_gradcheck_result){0};
    for (int i = 0; i < n; i++)
        if (!inputs[i] || !inputs[i]->on_heap || !inputs[i]->grad ||
            !tg_is_contiguous(inputs[i])) {
            snprintf(res->error, sizeof res->error,
                     "tg_gradcheck: input %d must be a contiguous heap tensor with a grad", i);
            return false;
        }
    tg_tape *t = tg_tape_new();
    if (!t) {
        snprintf(res->error, sizeof res->error, "tg_gradcheck: out of memory");
        return false;
    }
    for (int i = 0; i < n; i++) tg_zero_grad(inputs[i]);
    tg_tensor *y = f(t, inputs, ctx);
    bool ok = false;
    tg_real *w = NULL, *analytic = NULL;
    if (!y) goto fail;
    int64_t n_out = y->numel;
    w = malloc((size_t)(n_out + 1) * sizeof *w);
    if (!w) goto fail;
    tg_rng rng;
    tg_rng_seed(&rng, 20261122);
    for (int64_t i = 0; i < n_out; i++) w[i] = (tg_real)(0.5 + tg_rng_uniform(&rng));
    if (tg_backward_grad(t, y, w) != 0) goto fail;

    ok = true;
    for (int i = 0; i < n; i++) {
        tg_tensor *x = inputs[i];
        free(analytic);
        analytic = malloc((size_t)(x->numel + 1) * sizeof *analytic);
        if (!analytic) goto fail;
        memcpy(analytic, x->grad, (size_t)x->numel * sizeof *analytic);
        for (int64_t j = 0; j < x->numel; j++) {
            tg_real orig = x->data[j];
            double lp, lm;
            x->data[j] = (tg_real)(orig + eps);
            bool good = eval_loss(t, f, ctx, inputs, w, n_out, &lp);
            x->data[j] = (tg_real)(orig - eps);
            good = good && eval_loss(t, f, ctx, inputs, w, n_out, &lm);
            x->data[j] = orig;
            if (!good) goto fail;
            double num = (lp - lm) / (2 * eps), an = analytic[j];
            double scale = fmax(1.0, fmax(fabs(num), fabs(an)));
            double err = fabs(an - num) / scale;
            if (!(err <= res->max_rel_err)) { /* also catches NaN */
                res->max_rel_err = isnan(err) ? INFINITY : err;
                res->worst_input = i, res->worst_index = j;
                res->analytic = an, res->numeric = num;
            }
        }
        memcpy(x->grad, analytic, (size_t)x->numel * sizeof *analytic);
    }
    ok = res->max_rel_err <= tol;
    goto done;
fail:
    ok = false;
    snprintf(res->error, sizeof res->error, "%s",
             tg_tape_error(t) ? tg_tape_error(t) : "tg_gradcheck: function returned NULL");
done:
    free(w);
    free(analytic);
    tg_tape_free(t);
    return ok;
}
