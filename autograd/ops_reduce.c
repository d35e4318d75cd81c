/* Reductions: sum and mean of all elements, and sum, mean and max along one
 * axis. Mean is sum with a scale (node->f[0]), so it needs no op of its own.
 * Sums accumulate in double: a float build keeps its accuracy over long
 * sums (1e8 + 1000 ones is 100001000, not 1e8). */
#include "op.h"

#include <math.h>

/* ---- sum / mean of everything: x (any shape) -> 0-d ------------------- */

static tg_tensor *sum_all(tg_tape *t, const char *op, tg_tensor *x, bool mean) {
    if (!tg__begin(t, op, 1, &x)) return NULL;
    tg_tensor *out = tg__tensor(t, TG_SCALAR);
    if (!out) return NULL;
    double acc = 0;
    TG_FOR_EACH(x, off, acc += (double)x->data[off]);
    /* the mean of nothing is NaN, as in PyTorch */
    double count = (double)x->numel;
    out->data[0] = (tg_real)(!mean ? acc : count ? acc / count : NAN);
    tg_node *n = tg__record(t, TG_OP_SUM, out, 1, &x);
    if (n) n->f[0] = !mean ? 1.0 : count ? 1.0 / count : NAN;
    return out;
}

tg_tensor *tg_sum(tg_tape *t, tg_tensor *x) {
    return sum_all(t, "tg_sum", x, false);
}
tg_tensor *tg_mean(tg_tape *t, tg_tensor *x) {
    return sum_all(t, "tg_mean", x, true);
}

/* dx += scale * dout, the same for every element */
void tg__sum_backward(tg_tape *t, tg_node *n) {
    (void)t;
    tg_tensor *x = n->in[0];
    tg_real g = (tg_real)(n->out->grad[0] * n->f[0]);
    for (int64_t i = 0; i < x->numel; i++) x->grad[i] += g;
}

/* ---- along one axis ----------------------------------------------------
 * Over the lines of tg__lines_of: line (o, i)'s result is at o * inner + i
 * of the (contiguous) output, with or without keepdim. */

/* Checks the axis, allocates the output; *ax is the normalised axis. */
static tg_tensor *axis_begin(tg_tape *t, const char *op, tg_tensor *x, int axis, bool keepdim,
                             int *ax) {
    if (!tg__begin(t, op, 1, &x)) return NULL;
    char sx[TG_SHAPE_STR_MAX];
    *ax = tg__axis(axis, x->ndim);
    if (*ax < 0) {
        tg__fail(t, "%s: axis %d is out of range for %s", op, axis, TG_SHP(x, sx));
        return NULL;
    }
    tg_shape s = tg_tensor_shape(x);
    if (keepdim) {
        s.dim[*ax] = 1;
    } else {
        for (int d = *ax; d < s.ndim - 1; d++) s.dim[d] = s.dim[d + 1];
        s.ndim--;
    }
    return tg__tensor(t, s);
}

static tg_tensor *sum_axis(tg_tape *t, const char *op, tg_tensor *x, int axis, bool keepdim,
                           bool mean) {
    int ax;
    tg_tensor *out = axis_begin(t, op, x, axis, keepdim, &ax);
    const tg_real *px = out ? tg__contig(t, x) : NULL;
    if (!px) return NULL;
    tg__lines l = tg__lines_of(x, ax);
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t i = 0; i < l.inner; i++) {
            const tg_real *p = px + o * l.len * l.inner + i;
            double acc = 0;
            for (int64_t k = 0; k < l.len; k++) acc += (double)p[k * l.inner];
            if (mean) acc = l.len ? acc / (double)l.len : NAN;
            out->data[o * l.inner + i] = (tg_real)acc;
        }
    tg_node *n = tg__record(t, TG_OP_SUM_AXIS, out, 1, &x);
    if (n) {
        n->i[0] = ax;
        n->f[0] = !mean ? 1.0 : l.len ? 1.0 / (double)l.len : NAN;
    }
    return out;
}

tg_tensor *tg_sum_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim) {
    return sum_axis(t, "tg_sum_axis", x, axis, keepdim, false);
}
tg_tensor *tg_mean_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim) {
    return sum_axis(t, "tg_mean_axis", x, axis, keepdim, true);
}

/* dx[o, k, i] += scale * dout[o, i] for every k along the axis */
void tg__sum_axis_backward(tg_tape *t, tg_node *n) {
    (void)t;
    tg_tensor *x = n->in[0];
    tg__lines l = tg__lines_of(x, (int)n->i[0]);
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t i = 0; i < l.inner; i++) {
            tg_real g = (tg_real)(n->out->grad[o * l.inner + i] * n->f[0]);
            tg_real *gx = x->grad + o * l.len * l.inner + i;
            for (int64_t k = 0; k < l.len; k++) gx[k * l.inner] += g;
        }
}

/* Max along an axis; saves, for every output element, the position k of
 * the first maximal element of its line (the one that gets the gradient).
 * A NaN counts as the maximum, as in PyTorch. */
tg_tensor *tg_max_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim) {
    int ax;
    tg_tensor *out = axis_begin(t, "tg_max_axis", x, axis, keepdim, &ax);
    if (!out) return NULL;
    tg__lines l = tg__lines_of(x, ax);
    if (l.len == 0) {
        char sx[TG_SHAPE_STR_MAX];
        tg__fail(t, "tg_max_axis: axis %d of %s is empty", axis, TG_SHP(x, sx));
        return NULL;
    }
    const tg_real *px = tg__contig(t, x);
    if (!px) return NULL;
    tg_node *n = tg__record(t, TG_OP_MAX_AXIS, out, 1, &x);
    int64_t *arg = NULL;
    if (n) {
        arg = tg__alloc(t, (size_t)out->numel * sizeof *arg);
        if (!arg) return NULL;
        n->i[0] = ax;
        n->saved = arg;
    }
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t i = 0; i < l.inner; i++) {
            const tg_real *p = px + o * l.len * l.inner + i;
            tg_real best = p[0];
            int64_t at = 0;
            for (int64_t k = 1; k < l.len; k++) {
                tg_real v = p[k * l.inner];
                if (v > best || (isnan(v) && !isnan(best))) best = v, at = k;
            }
            out->data[o * l.inner + i] = best;
            if (arg) arg[o * l.inner + i] = at;
        }
    return out;
}

/* dx[o, argmax, i] += dout[o, i] */
void tg__max_axis_backward(tg_tape *t, tg_node *n) {
    (void)t;
    tg_tensor *x = n->in[0];
    const int64_t *arg = n->saved;
    tg__lines l = tg__lines_of(x, (int)n->i[0]);
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t i = 0; i < l.inner; i++) {
            int64_t j = o * l.inner + i;
            x->grad[(o * l.len + arg[j]) * l.inner + i] += n->out->grad[j];
        }
}
