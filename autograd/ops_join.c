/* concat and stack: a contiguous output built from inputs that may be
 * strided. Input k fills a slot of the output: a block starting at position
 * pos along the axis, walked over k's own shape with the output's strides
 * (stack drops the axis from them). Forward copies each input into its
 * slot; backward adds the slot of out->grad into each input's gradient. */
#include "op.h"

#include <string.h>

/* dst (+)= src over a 4-d shape, each side with its own strides. */
static void copy_block(const int64_t *shape, tg_real *dst, const int64_t *ds, const tg_real *src,
                       const int64_t *ss, bool add) {
    for (int64_t a = 0; a < shape[0]; a++)
        for (int64_t b = 0; b < shape[1]; b++)
            for (int64_t c = 0; c < shape[2]; c++) {
                tg_real *d = dst + a * ds[0] + b * ds[1] + c * ds[2];
                const tg_real *s = src + a * ss[0] + b * ss[1] + c * ss[2];
                if (ds[3] == 1 && ss[3] == 1) { /* the usual rows: loops that vectorise */
                    if (add)
                        for (int64_t e = 0; e < shape[3]; e++) d[e] += s[e];
                    else
                        memcpy(d, s, (size_t)shape[3] * sizeof *d);
                } else if (add) {
                    for (int64_t e = 0; e < shape[3]; e++) d[e * ds[3]] += s[e * ss[3]];
                } else {
                    for (int64_t e = 0; e < shape[3]; e++) d[e * ds[3]] = s[e * ss[3]];
                }
            }
}

/* A block's shape and two stride sets right-aligned in 4 dims (leading 1s),
 * so that copy_block's innermost loop runs along the last real dimension. */
typedef struct block {
    int64_t shape[TG_MAX_DIMS], dst[TG_MAX_DIMS], src[TG_MAX_DIMS];
} block;

static block block_of(const tg_tensor *x, const int64_t *dst, const int64_t *src) {
    block k = {{1, 1, 1, 1}, {0}, {0}};
    int pad = TG_MAX_DIMS - x->ndim;
    for (int d = 0; d < x->ndim; d++)
        k.shape[pad + d] = x->shape[d], k.dst[pad + d] = dst[d], k.src[pad + d] = src[d];
    return k;
}

/* Forward (backward false): out[slot k] = xs[k]. Backward: xs[k]->grad +=
 * out->grad[slot k] for the inputs that require grad. out is contiguous,
 * so its strides serve for both its data and its gradient. */
static void join(tg_tensor *out, int n, tg_tensor *const *xs, int axis, bool stack, bool backward) {
    int64_t pos = 0;
    for (int k = 0; k < n; k++) {
        tg_tensor *x = xs[k];
        int64_t st[TG_MAX_DIMS] = {0};
        for (int d = 0; d < x->ndim; d++) st[d] = out->stride[stack && d >= axis ? d + 1 : d];
        int64_t off = pos * out->stride[axis];
        pos += stack ? 1 : x->shape[axis];
        if (!backward) {
            block b = block_of(x, st, x->stride);
            copy_block(b.shape, out->data + off, b.dst, x->data, b.src, false);
        } else if (x->requires_grad) {
            tg_tensor g = {0}; /* x's shape with contiguous strides: x->grad's layout */
            tg_tensor_set_shape(&g, tg_tensor_shape(x));
            block b = block_of(x, g.stride, st);
            copy_block(b.shape, x->grad, b.dst, out->grad + off, b.src, true);
        }
    }
}

/* Checks n, the array and its entries; names the first NULL one. */
static bool join_begin(tg_tape *t, const char *op, int n, tg_tensor *const *xs) {
    if (tg__failed(t)) return false;
    if (n < 1 || !xs) {
        tg__fail(t, "%s: need at least one input, got n = %d%s", op, n, xs ? "" : " and NULL");
        return false;
    }
    for (int k = 0; k < n; k++)
        if (!xs[k]) {
            tg__fail(t, "%s: xs[%d] is NULL", op, k);
            return false;
        }
    return true;
}

tg_tensor *tg_concat(tg_tape *t, int n, tg_tensor *const *xs, int axis) {
    if (!join_begin(t, "tg_concat", n, xs)) return NULL;
    char s0[TG_SHAPE_STR_MAX], sk[TG_SHAPE_STR_MAX];
    const tg_tensor *x0 = xs[0];
    int a = tg__axis(axis, x0->ndim);
    if (a < 0) {
        tg__fail(t, "tg_concat: axis %d is out of range for %s", axis, TG_SHP(x0, s0));
        return NULL;
    }
    tg_shape s = tg_tensor_shape(x0);
    s.dim[a] = 0;
    for (int k = 0; k < n; k++) {
        const tg_tensor *x = xs[k];
        bool ok = x->ndim == x0->ndim;
        for (int d = 0; ok && d < x->ndim; d++) ok = d == a || x->shape[d] == x0->shape[d];
        if (!ok) {
            tg__fail(t,
                     "tg_concat: xs[%d] has shape %s but xs[0] has %s; they must match "
                     "except along axis %d",
                     k, TG_SHP(x, sk), TG_SHP(x0, s0), axis);
            return NULL;
        }
        s.dim[a] += x->shape[a];
    }
    tg_tensor *out = tg__tensor(t, s);
    if (!out) return NULL;
    join(out, n, xs, a, false, false);
    tg_node *node = tg__record(t, TG_OP_CONCAT, out, n, xs);
    if (node) node->i[0] = a;
    return out;
}

void tg__concat_backward(tg_tape *t, tg_node *n) {
    (void)t;
    join(n->out, n->n_in, n->in, (int)n->i[0], false, true);
}

tg_tensor *tg_stack(tg_tape *t, int n, tg_tensor *const *xs, int axis) {
    if (!join_begin(t, "tg_stack", n, xs)) return NULL;
    char s0[TG_SHAPE_STR_MAX], sk[TG_SHAPE_STR_MAX];
    const tg_tensor *x0 = xs[0];
    if (x0->ndim >= TG_MAX_DIMS) {
        tg__fail(t,
                 "tg_stack: cannot stack %s tensors: the result would have %d dimensions "
                 "(at most %d)",
                 TG_SHP(x0, s0), x0->ndim + 1, TG_MAX_DIMS);
        return NULL;
    }
    int a = tg__axis(axis, x0->ndim + 1); /* the new axis may be last */
    if (a < 0) {
        tg__fail(t, "tg_stack: axis %d is out of range for stacking %s tensors", axis,
                 TG_SHP(x0, s0));
        return NULL;
    }
    for (int k = 1; k < n; k++)
        if (!tg_same_shape(xs[k], x0)) {
            tg__fail(t, "tg_stack: xs[%d] has shape %s but xs[0] has %s; all must match", k,
                     TG_SHP(xs[k], sk), TG_SHP(x0, s0));
            return NULL;
        }
    tg_shape s = {x0->ndim + 1, {0}};
    for (int d = 0; d < s.ndim; d++)
        s.dim[d] = d < a ? x0->shape[d] : d == a ? n : x0->shape[d - 1];
    tg_tensor *out = tg__tensor(t, s);
    if (!out) return NULL;
    join(out, n, xs, a, true, false);
    tg_node *node = tg__record(t, TG_OP_STACK, out, n, xs);
    if (node) node->i[0] = a;
    return out;
}

void tg__stack_backward(tg_tape *t, tg_node *n) {
    (void)t;
    join(n->out, n->n_in, n->in, (int)n->i[0], true, true);
}
