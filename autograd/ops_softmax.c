/* Softmax and log-softmax along any axis. Stable: every line has its max
 * subtracted before exp (softmax([1000, 0, -1000]) is [1, 0, 0], not NaN),
 * and the sum of exponentials runs in double. Backward reads only the
 * output, so nothing else is saved. */
#include "op.h"

#include <math.h>

/* y = softmax(x) or log_softmax(x) along axis; x any shape, y the same. */
static tg_tensor *softmax_forward(tg_tape *t, const char *op, int op_id, tg_tensor *x, int axis,
                                  bool log_) {
    if (!tg__begin(t, op, 1, &x)) return NULL;
    int ax = tg__axis(axis, x->ndim);
    if (ax < 0) {
        char sx[TG_SHAPE_STR_MAX];
        tg__fail(t, "%s: axis %d is out of range for %s", op, axis, TG_SHP(x, sx));
        return NULL;
    }
    tg_tensor *out = tg__tensor(t, tg_tensor_shape(x));
    const tg_real *px = out ? tg__contig(t, x) : NULL;
    if (!px) return NULL;
    tg__lines l = tg__lines_of(x, ax);
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t i = 0; i < l.inner; i++) {
            int64_t base = o * l.len * l.inner + i, st = l.inner;
            const tg_real *p = px + base;
            tg_real *q = out->data + base;
            /* a line of all -inf gives NaN, as in PyTorch */
            double m = -INFINITY, s = 0;
            for (int64_t k = 0; k < l.len; k++) m = fmax(m, (double)p[k * st]);
            for (int64_t k = 0; k < l.len; k++) {
                double e = (double)p[k * st] - m, ex = exp(e);
                s += ex;
                q[k * st] = (tg_real)(log_ ? e : ex);
            }
            double ls = log(s);
            for (int64_t k = 0; k < l.len; k++)
                q[k * st] = (tg_real)(log_ ? (double)q[k * st] - ls : (double)q[k * st] / s);
        }
    tg_node *n = tg__record(t, op_id, out, 1, &x);
    if (n) n->i[0] = ax;
    return out;
}

tg_tensor *tg_softmax(tg_tape *t, tg_tensor *x, int axis) {
    return softmax_forward(t, "tg_softmax", TG_OP_SOFTMAX, x, axis, false);
}

tg_tensor *tg_log_softmax(tg_tape *t, tg_tensor *x, int axis) {
    return softmax_forward(t, "tg_log_softmax", TG_OP_LOG_SOFTMAX, x, axis, true);
}

/* Per line, with y the output and g its gradient:
 *   softmax:     dx += y * (g - sum(g * y))
 *   log_softmax: dx += g - exp(y) * sum(g) */
static void softmax_backward(tg_node *n, bool log_) {
    tg_tensor *x = n->in[0];
    const tg_real *y = n->out->data, *g = n->out->grad;
    tg__lines l = tg__lines_of(x, (int)n->i[0]);
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t i = 0; i < l.inner; i++) {
            int64_t base = o * l.len * l.inner + i, st = l.inner;
            double s = 0;
            for (int64_t k = 0; k < l.len; k++) {
                int64_t j = base + k * st;
                s += log_ ? (double)g[j] : (double)g[j] * (double)y[j];
            }
            for (int64_t k = 0; k < l.len; k++) {
                int64_t j = base + k * st;
                x->grad[j] += (tg_real)(log_ ? (double)g[j] - exp((double)y[j]) * s
                                             : (double)y[j] * ((double)g[j] - s));
            }
        }
}

void tg__softmax_backward(tg_tape *t, tg_node *n) {
    (void)t;
    softmax_backward(n, false);
}

void tg__log_softmax_backward(tg_tape *t, tg_node *n) {
    (void)t;
    softmax_backward(n, true);
}
