/* index_select and gather: outputs read x at integer positions along one
 * axis; backward scatter-adds, so an index used twice (an embedding row
 * seen twice in a batch) gets both gradients. The indices are copied onto
 * the tape, so the caller's array may change after the call. */
#include "op.h"

#include <string.h>

/* Walks every element e of a tensor of 4-d shape `shape` in row-major
 * order, reading position idx[e] (per_element, gather) or idx[i_axis]
 * (index_select) along `axis` of x (strides xs). Forward: out[e] = x[..];
 * backward (add): x[..] += out[e]. */
static void pick(const int64_t *shape, int axis, const int64_t *idx, bool per_element, tg_real *x,
                 const int64_t *xs, tg_real *out, bool add) {
    int64_t e = 0, i[TG_MAX_DIMS];
    for (i[0] = 0; i[0] < shape[0]; i[0]++)
        for (i[1] = 0; i[1] < shape[1]; i[1]++)
            for (i[2] = 0; i[2] < shape[2]; i[2]++)
                for (i[3] = 0; i[3] < shape[3]; i[3]++, e++) {
                    int64_t j = per_element ? idx[e] : idx[i[axis]];
                    int64_t off = i[0] * xs[0] + i[1] * xs[1] + i[2] * xs[2] + i[3] * xs[3] +
                                  (j - i[axis]) * xs[axis];
                    if (add)
                        x[off] += out[e];
                    else
                        out[e] = x[off];
                }
}

/* index_select along axis 0 with contiguous rows (an embedding lookup):
 * whole rows copied forward and added back, no per-element index walk.
 * `xs0` is the row stride of x (or of its gradient). */
static void pick_rows(int64_t n, int64_t row, const int64_t *idx, tg_real *x, int64_t xs0,
                      tg_real *out, bool add) {
    for (int64_t k = 0; k < n; k++) {
        tg_real *xr = x + idx[k] * xs0, *o = out + k * row;
        if (add)
            for (int64_t j = 0; j < row; j++) xr[j] += o[j];
        else
            memcpy(o, xr, (size_t)row * sizeof(tg_real));
    }
}

/* Rows of x (beyond axis 0) are contiguous: one memcpy per index. */
static bool rows_contiguous(const tg_tensor *x) {
    tg_tensor rest = *x;
    rest.shape[0] = 1;
    return tg_is_contiguous(&rest);
}

/* Shared by both ops: checks the axis and the n indices, allocates the
 * output (x's shape with the axis length set to len) and keeps a copy of
 * the indices on the tape. */
static tg_tensor *pick_begin(tg_tape *t, const char *op, tg_tensor *x, int axis, const int64_t *idx,
                             int64_t n, int64_t len, int *a, int64_t **saved) {
    if (!tg__begin(t, op, 1, &x)) return NULL;
    char sx[TG_SHAPE_STR_MAX];
    *a = tg__axis(axis, x->ndim);
    if (*a < 0) {
        tg__fail(t, "%s: axis %d is out of range for %s", op, axis, TG_SHP(x, sx));
        return NULL;
    }
    if (len < 0 || (n > 0 && !idx)) {
        tg__fail(t, "%s: need a non-negative count and an index array, got %lld%s", op,
                 (long long)len, idx ? "" : " and NULL");
        return NULL;
    }
    int64_t size = x->shape[*a];
    for (int64_t k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= size) {
            tg__fail(t, "%s: index %lld at position %lld is outside [0, %lld)", op,
                     (long long)idx[k], (long long)k, (long long)size);
            return NULL;
        }
    tg_shape s = tg_tensor_shape(x);
    s.dim[*a] = len;
    tg_tensor *out = tg__tensor(t, s);
    *saved = out ? tg__alloc(t, (size_t)n * sizeof **saved) : NULL;
    if (!*saved) return NULL;
    if (n > 0) memcpy(*saved, idx, (size_t)n * sizeof **saved);
    return out;
}

static void pick_backward(tg_node *n, bool per_element) {
    tg_tensor *x = n->in[0];
    if (!x->requires_grad) return;
    tg_tensor g = {0}; /* x's shape with contiguous strides: x->grad's layout */
    tg_tensor_set_shape(&g, tg_tensor_shape(x));
    if (!per_element && n->i[0] == 0) {
        int64_t row = x->shape[0] ? x->numel / x->shape[0] : 0;
        pick_rows(n->out->shape[0], row, n->saved, x->grad, row, n->out->grad, true);
        return;
    }
    pick(n->out->shape, (int)n->i[0], n->saved, per_element, x->grad, g.stride, n->out->grad, true);
}

tg_tensor *tg_index_select(tg_tape *t, tg_tensor *x, int axis, const int64_t *idx, int64_t n) {
    int a;
    int64_t *saved;
    tg_tensor *out = pick_begin(t, "tg_index_select", x, axis, idx, n, n, &a, &saved);
    if (!out) return NULL;
    if (a == 0 && rows_contiguous(x))
        pick_rows(n, x->shape[0] ? x->numel / x->shape[0] : 0, saved, x->data, x->stride[0],
                  out->data, false);
    else
        pick(out->shape, a, saved, false, x->data, x->stride, out->data, false);
    tg_node *node = tg__record(t, TG_OP_INDEX_SELECT, out, 1, &x);
    if (node) node->i[0] = a, node->saved = saved;
    return out;
}

void tg__index_select_backward(tg_tape *t, tg_node *n) {
    (void)t;
    pick_backward(n, false);
}

tg_tensor *tg_gather(tg_tape *t, tg_tensor *x, int axis, const int64_t *idx, int64_t k) {
    int a;
    int64_t *saved;
    /* out has x's shape with the axis set to k: one index per out element
     * (pick_begin rejects a bad axis or k before the indices are read) */
    int ax = x ? tg__axis(axis, x->ndim) : -1;
    int64_t n = ax >= 0 && k > 0 ? k : 0;
    for (int d = 0; ax >= 0 && d < x->ndim; d++)
        if (d != ax) n *= x->shape[d];
    tg_tensor *out = pick_begin(t, "tg_gather", x, axis, idx, n, k, &a, &saved);
    if (!out) return NULL;
    pick(out->shape, a, saved, true, x->data, x->stride, out->data, false);
    tg_node *node = tg__record(t, TG_OP_GATHER, out, 1, &x);
    if (node) node->i[0] = a, node->saved = saved;
    return out;
}

void tg__gather_backward(tg_tape *t, tg_node *n) {
    (void)t;
    pick_backward(n, true);
}
