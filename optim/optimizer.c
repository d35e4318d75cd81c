/* The optimizer object all kinds share: the parameter list and its checks,
 * state buffers, the step loop, the learning rate, errors. */
#include "optim_impl.h"
#include "../core/kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg__optim_fail(tg_optim *o, bool broken, const char *fmt, ...) {
    if (o->broken) return -1; /* the first reason it broke stays readable */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->err, sizeof o->err, fmt, ap);
    va_end(ap);
    o->broken = broken;
    return -1;
}

/* `params[2] ("weight_hh")` or `params[2]`, for messages. */
static const char *param_label(const tg_tensor *p, int i, char *buf, size_t n) {
    if (p && p->name)
        snprintf(buf, n, "params[%d] (\"%s\")", i, p->name);
    else
        snprintf(buf, n, "params[%d]", i);
    return buf;
}

static void check_params(tg_optim *o, tg_tensor *const *params, int n) {
    char lab[160];
    if (!params) {
        tg__optim_fail(o, true, "%s: params is NULL", o->fn);
        return;
    }
    if (n < 1) {
        tg__optim_fail(o, true, "%s: expected at least one parameter, got n = %d", o->fn, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        const tg_tensor *p = params[i];
        if (!p) {
            tg__optim_fail(o, true, "%s: params[%d] is NULL", o->fn, i);
            return;
        }
        param_label(p, i, lab, sizeof lab);
        /* A tape tensor would vanish at the next tg_tape_reset. */
        if (!p->on_heap) {
            tg__optim_fail(o, true,
                           "%s: %s is not a heap tensor (create parameters with "
                           "tg_param_new)",
                           o->fn, lab);
            return;
        }
        if (!tg_is_contiguous(p)) {
            tg__optim_fail(o, true, "%s: %s is not contiguous", o->fn, lab);
            return;
        }
        /* Listed twice, it would be updated twice per step. */
        for (int j = 0; j < i; j++)
            if (params[j] == p) {
                tg__optim_fail(o, true, "%s: %s is the same tensor as params[%d]", o->fn, lab, j);
                return;
            }
    }
}

tg_optim *tg__optim_new(const char *fn, const char *kind, tg_tensor *const *params, int n,
                        void (*update)(tg_optim *, int, int64_t, int64_t)) {
    tg_optim *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->fn = fn;
    o->kind = kind;
    o->update = update;
    check_params(o, params, n);
    if (o->broken) return o;
    o->n = n;
    o->params = malloc((size_t)n * sizeof *o->params);
    o->weight_decay = calloc((size_t)n, sizeof *o->weight_decay);
    o->step = tg_tensor_new(TG_SHAPE(n));
    if (!o->params || !o->weight_decay || !o->step) {
        tg_optim_free(o);
        return NULL;
    }
    memcpy(o->params, params, (size_t)n * sizeof *o->params);
    return o;
}

int tg__optim_add_buf(tg_optim *o, const char *name, double fill) {
    if (o->broken) return -1;
    int k = o->nbufs;
    o->buf[k] = calloc((size_t)o->n, sizeof *o->buf[k]);
    o->buf_name[k] = name;
    o->nbufs++; /* counted now so tg_optim_free releases a partial one */
    if (!o->buf[k]) return tg__optim_fail(o, true, "%s: out of memory", o->fn);
    for (int i = 0; i < o->n; i++) {
        o->buf[k][i] = tg_tensor_new(tg_tensor_shape(o->params[i]));
        if (!o->buf[k][i])
            return tg__optim_fail(o, true, "%s: out of memory for the state of params[%d]", o->fn,
                                  i);
        if (fill != 0) tg_fill(o->buf[k][i], (tg_real)fill);
    }
    return k;
}

double tg__opt_default(double v, double dflt) {
    if (v != 0) return v;
    return signbit(v) ? 0.0 : dflt; /* TG_ZERO is -0.0 */
}

bool tg__opt_nonneg(tg_optim *o, const char *field, double v) {
    if (v >= 0) return true;
    tg__optim_fail(o, true, "%s: %s must be >= 0, got %g", o->fn, field, v);
    return false;
}

tg_optim *tg__optim_ready(tg_optim *o, double lr, double weight_decay) {
    if (o->broken) return o;
    o->lr = lr;
    for (int i = 0; i < o->n; i++) o->weight_decay[i] = weight_decay;
    int count = 1 + o->nbufs * o->n;
    o->state_name = calloc((size_t)count, sizeof *o->state_name);
    if (!o->state_name) {
        tg__optim_fail(o, true, "%s: out of memory", o->fn);
        return o;
    }
    for (int s = 0; s < count; s++) {
        char buf[96];
        if (s == 0)
            snprintf(buf, sizeof buf, "optim.step");
        else
            snprintf(buf, sizeof buf, "optim.%s.%d", o->buf_name[(s - 1) / o->n], (s - 1) % o->n);
        o->state_name[s] = malloc(strlen(buf) + 1);
        if (!o->state_name[s]) {
            tg__optim_fail(o, true, "%s: out of memory", o->fn);
            return o;
        }
        strcpy(o->state_name[s], buf);
    }
    return o;
}

void tg_optim_free(tg_optim *o) {
    if (!o) return;
    for (int k = 0; k < o->nbufs; k++) {
        for (int i = 0; o->buf[k] && i < o->n; i++) tg_tensor_free(o->buf[k][i]);
        free(o->buf[k]);
    }
    if (o->state_name)
        for (int s = 0; s < 1 + o->nbufs * o->n; s++) free(o->state_name[s]);
    free(o->state_name);
    tg_tensor_free(o->step);
    free(o->weight_decay);
    free(o->params);
    free(o);
}

typedef struct update_job {
    tg_optim *o;
    int i;
} update_job;

static void update_part(void *ctx, int64_t lo, int64_t hi) {
    const update_job *j = ctx;
    j->o->update(j->o, j->i, lo, hi);
}

/* Parameters are updated in parts of at least this many elements. */
#define UPDATE_GRAIN 16384

int tg_optim_step(tg_optim *o) {
    if (!o) return -1;
    if (o->broken) return -1;
    for (int i = 0; i < o->n; i++) {
        if (!o->params[i]->grad) continue;
        o->step->data[i] += 1;
        update_job j = {o, i};
        tg__parallel_for(o->params[i]->numel, UPDATE_GRAIN, update_part, &j);
    }
    return 0;
}

void tg_optim_zero_grad(tg_optim *o) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) tg_zero_grad(o->params[i]);
}

int tg_optim_set_lr(tg_optim *o, double lr) {
    if (!o) return -1;
    if (!(lr >= 0) || isinf(lr))
        return tg__optim_fail(o, false, "tg_optim_set_lr: lr must be finite and >= 0, got %g", lr);
    o->lr = lr;
    return 0;
}

double tg_optim_lr(const tg_optim *o) {
    return o ? o->lr : NAN;
}

int tg_optim_set_param_weight_decay(tg_optim *o, int i, double weight_decay) {
    if (!o) return -1;
    if (i < 0 || i >= o->n)
        return tg__optim_fail(o, false,
                              "tg_optim_set_param_weight_decay: index %d out of "
                              "range for %d parameters",
                              i, o->n);
    if (!(weight_decay >= 0) || isinf(weight_decay))
        return tg__optim_fail(o, false,
                              "tg_optim_set_param_weight_decay: weight_decay must "
                              "be finite and >= 0, got %g",
                              weight_decay);
    o->weight_decay[i] = weight_decay;
    return 0;
}

const char *tg_optim_kind(const tg_optim *o) {
    return o ? o->kind : NULL;
}

tg_tensor *const *tg_optim_params(const tg_optim *o, int *n) {
    if (n) *n = o ? o->n : 0;
    return o ? o->params : NULL;
}

const char *tg_optim_error(const tg_optim *o) {
    if (!o) return "tg_optim: no optimizer (NULL: out of memory at creation)";
    return o->err[0] ? o->err : NULL;
}

int tg_optim_state(const tg_optim *o, tg_named *items, int cap) {
    if (!o || o->broken || !o->state_name) return 0;
    int count = 1 + o->nbufs * o->n;
    for (int s = 0; s < count && s < cap; s++) {
        items[s].name = o->state_name[s];
        items[s].tensor = s == 0 ? o->step : o->buf[(s - 1) / o->n][(s - 1) % o->n];
    }
    return count;
}
