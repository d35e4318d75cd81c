/* Gradient clipping, as torch.nn.utils.clip_grad_norm_ and
 * clip_grad_value_, except that a non-finite gradient is reported and left
 * alone instead of spreading NaN through every gradient. */
#include "optim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 4, 5))) static int report(int status, char *err, size_t errlen,
                                                        const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int check_list(const char *fn, tg_tensor *const *params, int n, char *err, size_t errlen) {
    if (n < 0 || (n > 0 && !params))
        return report(TG_CLIP_INVALID, err, errlen, "%s: bad parameter list (n = %d%s)", fn, n,
                      params ? "" : ", params NULL");
    for (int i = 0; i < n; i++)
        if (!params[i])
            return report(TG_CLIP_INVALID, err, errlen, "%s: params[%d] is NULL", fn, i);
    return TG_CLIP_OK;
}

/* The first value that `bad` flags, as "params[1] ("bias")[3] is nan". */
static bool find_bad(tg_tensor *const *params, int n, bool (*bad)(double), char *what, size_t len) {
    for (int i = 0; i < n; i++) {
        const tg_tensor *p = params[i];
        for (int64_t j = 0; p->grad && j < p->numel; j++)
            if (bad(p->grad[j])) {
                char name[96] = "";
                if (p->name) snprintf(name, sizeof name, " (\"%s\")", p->name);
                snprintf(what, len, "params[%d]%s[%lld] is %g", i, name, (long long)j,
                         (double)p->grad[j]);
                return true;
            }
    }
    return false;
}

static bool not_finite(double x) {
    return !isfinite(x);
}
static bool is_nan(double x) {
    return isnan(x);
}

/* The p-norm of one gradient g: [numel], accumulated in double. */
static double grad_norm(const tg_real *g, int64_t numel, double p) {
    double acc = 0;
    if (isinf(p)) {
        for (int64_t j = 0; j < numel; j++) {
            double a = fabs((double)g[j]);
            if (a > acc || isnan(a)) acc = a;
            if (isnan(acc)) break;
        }
        return acc;
    }
    if (p == 2) {
        for (int64_t j = 0; j < numel; j++) acc += (double)g[j] * g[j];
        return sqrt(acc);
    }
    if (p == 1) {
        for (int64_t j = 0; j < numel; j++) acc += fabs((double)g[j]);
        return acc;
    }
    for (int64_t j = 0; j < numel; j++) acc += pow(fabs((double)g[j]), p);
    return pow(acc, 1 / p);
}

int tg_clip_grad_norm(tg_tensor *const *params, int n, double max_norm, double norm_type,
                      double *total_norm, char *err, size_t errlen) {
    const char *fn = "tg_clip_grad_norm";
    if (total_norm) *total_norm = NAN;
    int st = check_list(fn, params, n, err, errlen);
    if (st != TG_CLIP_OK) return st;
    if (!(max_norm >= 0))
        return report(TG_CLIP_INVALID, err, errlen, "%s: max_norm must be >= 0, got %g", fn,
                      max_norm);
    if (!(norm_type > 0))
        return report(TG_CLIP_INVALID, err, errlen, "%s: norm_type must be > 0 or INFINITY, got %g",
                      fn, norm_type);
    /* The norm of the per-tensor norms, as PyTorch stacks them. */
    double total = 0;
    for (int i = 0; i < n; i++) {
        const tg_tensor *p = params[i];
        if (!p->grad) continue;
        double ni = grad_norm(p->grad, p->numel, norm_type);
        if (isinf(norm_type))
            total = ni > total || isnan(ni) ? ni : total;
        else if (norm_type == 2)
            total += ni * ni;
        else if (norm_type == 1)
            total += ni;
        else
            total += pow(ni, norm_type);
    }
    if (!isinf(norm_type) && norm_type != 1)
        total = norm_type == 2 ? sqrt(total) : pow(total, 1 / norm_type);
    if (total_norm) *total_norm = total;
    if (!isfinite(total)) {
        char what[192] = "the norm overflows";
        find_bad(params, n, not_finite, what, sizeof what);
        char order[32];
        if (isinf(norm_type))
            snprintf(order, sizeof order, "inf-norm");
        else
            snprintf(order, sizeof order, "%g-norm", norm_type);
        return report(TG_CLIP_NONFINITE, err, errlen,
                      "%s: total %s is %g: %s; gradients left unchanged", fn, order, total, what);
    }
    double coef = max_norm / (total + 1e-6);
    if (coef < 1) {
        const tg_real c = (tg_real)coef;
        for (int i = 0; i < n; i++) {
            tg_tensor *p = params[i];
            for (int64_t j = 0; p->grad && j < p->numel; j++) p->grad[j] = p->grad[j] * c;
        }
    }
    return TG_CLIP_OK;
}

int tg_clip_grad_value(tg_tensor *const *params, int n, double clip_value, char *err,
                       size_t errlen) {
    const char *fn = "tg_clip_grad_value";
    int st = check_list(fn, params, n, err, errlen);
    if (st != TG_CLIP_OK) return st;
    if (!(clip_value >= 0))
        return report(TG_CLIP_INVALID, err, errlen, "%s: clip_value must be >= 0, got %g", fn,
                      clip_value);
    char what[192];
    if (find_bad(params, n, is_nan, what, sizeof what))
        return report(TG_CLIP_NONFINITE, err, errlen, "%s: %s; gradients left unchanged", fn, what);
    const tg_real hi = (tg_real)clip_value, lo = -hi;
    for (int i = 0; i < n; i++) {
        tg_tensor *p = params[i];
        for (int64_t j = 0; p->grad && j < p->numel; j++)
            p->grad[j] = p->grad[j] < lo ? lo : p->grad[j] > hi ? hi : p->grad[j];
    }
    return TG_CLIP_OK;
}
