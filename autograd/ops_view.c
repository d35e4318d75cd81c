/* Views and copies: reshape, transpose, permute, narrow, expand, split and
 * chunk share x's storage; contiguous (and reshape of a strided tensor)
 * copies.
 *
 * Every view is one VIEW node with one backward. A view reads x->data at
 * offset + sum_d idx_d * stride_d. x->grad is contiguous over x's shape, so
 * the same view taken over x's *contiguous* strides says where each element
 * of the view's gradient belongs in x->grad. Each op therefore describes its
 * view once (a vmap) and applies it to both stride sets; a stride-0
 * (expanded) dimension then sums its gradient by itself. */
#include "op.h"

#include <string.h>

/* How a view reads its input: output dim d walks input dim src[d], or is a
 * new or broadcast dim (src -1, stride 0); the view starts at input
 * position start[] (indexed by input dim). */
typedef struct vmap {
    int src[TG_MAX_DIMS];
    int64_t start[TG_MAX_DIMS];
} vmap;

/* The identity map over ndim dims, to be edited by each op. */
static vmap vmap_identity(int ndim) {
    vmap m = {{-1, -1, -1, -1}, {0}};
    for (int d = 0; d < ndim; d++) m.src[d] = d;
    return m;
}

/* Offset and strides of view m over an input laid out with strides `in`.
 * Strides past ndim_out stay 0, the invariant TG_FOR_EACH relies on. */
static int64_t vmap_apply(const vmap *m, int ndim_out, const int64_t *in, int64_t *st) {
    int64_t off = 0;
    for (int d = 0; d < TG_MAX_DIMS; d++) {
        off += m->start[d] * in[d];
        st[d] = d < ndim_out && m->src[d] >= 0 ? in[m->src[d]] : 0;
    }
    return off;
}

/* The view's gradient laid over x->grad: out's shape with the saved strides. */
static tg_tensor grad_window(const tg_node *n) {
    tg_tensor g = *n->out;
    memcpy(g.stride, (const int64_t *)n->saved + 1, sizeof g.stride);
    return g;
}

/* A view of x with shape s read through m (m NULL: x is contiguous and is
 * reread with the contiguous strides of s, i.e. a reshape). Records a VIEW
 * node saving the gradient's offset and 4 strides. */
static tg_tensor *make_view(tg_tape *t, tg_tensor *x, tg_shape s, const vmap *m) {
    tg_tensor *v = tg__view_of(t, x);
    if (!v) return NULL;
    tg_tensor_set_shape(v, s);
    int64_t goff = 0, gst[TG_MAX_DIMS];
    memcpy(gst, v->stride, sizeof gst);
    if (m) {
        tg_tensor c = {0}; /* x's shape with contiguous strides: x->grad's layout */
        tg_tensor_set_shape(&c, tg_tensor_shape(x));
        v->data = x->data + vmap_apply(m, s.ndim, x->stride, v->stride);
        goff = vmap_apply(m, s.ndim, c.stride, gst);
    }
    tg_node *n = tg__record(t, TG_OP_VIEW, v, 1, &x);
    if (n) {
        int64_t *sv = tg__alloc(t, (1 + TG_MAX_DIMS) * sizeof *sv);
        if (!sv) return NULL;
        sv[0] = goff;
        memcpy(sv + 1, gst, sizeof gst);
        n->saved = sv;
        tg_tensor g = grad_window(n);
        n->grad_in_input = tg_is_contiguous(&g); /* a reshape, a slice of rows */
        n->grad_offset = goff;
    }
    return v;
}

/* x->grad[goff + sum_d idx_d * gst_d] += out->grad[e] for every element e
 * of out in row-major order (saved = {goff, gst[4]}). */
void tg__view_backward(tg_tape *t, tg_node *n) {
    (void)t;
    tg_tensor *x = n->in[0];
    if (!x->requires_grad) return;
    tg_tensor g = grad_window(n);
    tg_real *gx = x->grad + ((const int64_t *)n->saved)[0];
    const tg_real *go = n->out->grad;
    if (go == gx) return;       /* the gradient was accumulated in place (tape.c) */
    if (tg_is_contiguous(&g)) { /* one run */
        for (int64_t e = 0; e < g.numel; e++) gx[e] += go[e];
        return;
    }
    int64_t e = 0;
    TG_FOR_EACH(&g, off, gx[off] += go[e++]);
}

/* ---- contiguous copies ------------------------------------------------- */

tg_tensor *tg_contiguous(tg_tape *t, tg_tensor *x) {
    if (!tg__begin(t, "tg_contiguous", 1, &x)) return NULL;
    if (tg_is_contiguous(x)) return x;
    tg_tensor *out = tg__tensor(t, tg_tensor_shape(x));
    if (!out) return NULL;
    tg_copy_to(x, out->data);
    tg__record(t, TG_OP_COPY, out, 1, &x);
    return out;
}

/* Same shape, both gradients contiguous: a plain sum. */
void tg__copy_backward(tg_tape *t, tg_node *n) {
    (void)t;
    tg_tensor *x = n->in[0];
    if (!x->requires_grad) return;
    for (int64_t i = 0; i < x->numel; i++) x->grad[i] += n->out->grad[i];
}

/* ---- reshape ------------------------------------------------------------- */

tg_tensor *tg_reshape(tg_tape *t, tg_tensor *x, tg_shape s) {
    if (!tg__begin(t, "tg_reshape", 1, &x)) return NULL;
    char sx[TG_SHAPE_STR_MAX], ss[TG_SHAPE_STR_MAX];
    if (s.ndim < 0 || s.ndim > TG_MAX_DIMS) {
        tg__fail(t, "tg_reshape: cannot reshape %s to %d dimensions (at most %d)", TG_SHP(x, sx),
                 s.ndim, TG_MAX_DIMS);
        return NULL;
    }
    /* ss is written only for a message: a valid reshape (one per state
     * per step when sampling) formats nothing. */
    int infer = -1;
    int64_t known = 1;
    for (int d = 0; d < s.ndim; d++) {
        if (s.dim[d] == -1 && infer < 0) {
            infer = d;
        } else if (s.dim[d] < 0) {
            tg__fail(t,
                     "tg_reshape: cannot reshape %s to %s: only one size may be -1 "
                     "and none other negative",
                     TG_SHP(x, sx), tg_shape_str(s, ss, sizeof ss));
            return NULL;
        } else {
            known *= s.dim[d];
        }
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known != 0) {
            tg__fail(t, "tg_reshape: cannot reshape %s (%lld elements) to %s", TG_SHP(x, sx),
                     (long long)x->numel, tg_shape_str(s, ss, sizeof ss));
            return NULL;
        }
        s.dim[infer] = x->numel / known;
    } else if (known != x->numel) {
        tg__fail(t, "tg_reshape: cannot reshape %s (%lld elements) to %s (%lld elements)",
                 TG_SHP(x, sx), (long long)x->numel, tg_shape_str(s, ss, sizeof ss),
                 (long long)known);
        return NULL;
    }
    /* A strided x has no single stride per new dimension in general: copy
     * it first (a COPY node), then view the copy. */
    tg_tensor *c = tg_contiguous(t, x);
    return c ? make_view(t, c, s, NULL) : NULL;
}

/* ---- transpose and permute ----------------------------------------------- */

tg_tensor *tg_transpose(tg_tape *t, tg_tensor *x, int d0, int d1) {
    if (!tg__begin(t, "tg_transpose", 1, &x)) return NULL;
    int a = tg__axis(d0, x->ndim), b = tg__axis(d1, x->ndim);
    if (a < 0 || b < 0) {
        char sx[TG_SHAPE_STR_MAX];
        tg__fail(t, "tg_transpose: dimensions %d and %d: %d is out of range for %s", d0, d1,
                 a < 0 ? d0 : d1, TG_SHP(x, sx));
        return NULL;
    }
    vmap m = vmap_identity(x->ndim);
    m.src[a] = b, m.src[b] = a;
    tg_shape s = tg_tensor_shape(x);
    s.dim[a] = x->shape[b], s.dim[b] = x->shape[a];
    return make_view(t, x, s, &m);
}

tg_tensor *tg_permute(tg_tape *t, tg_tensor *x, const int *perm) {
    if (!tg__begin(t, "tg_permute", 1, &x)) return NULL;
    char sx[TG_SHAPE_STR_MAX];
    if (!perm && x->ndim > 0) {
        tg__fail(t, "tg_permute: perm is NULL for %s", TG_SHP(x, sx));
        return NULL;
    }
    vmap m = vmap_identity(x->ndim);
    tg_shape s = {x->ndim, {0}};
    bool seen[TG_MAX_DIMS] = {false};
    for (int d = 0; d < x->ndim; d++) {
        int p = tg__axis(perm[d], x->ndim);
        if (p < 0 || seen[p]) {
            char sp[64] = "";
            for (int k = 0, used = 0; k < x->ndim; k++)
                used +=
                    snprintf(sp + used, sizeof sp - (size_t)used, "%s%d", k ? "," : "", perm[k]);
            tg__fail(t, "tg_permute: (%s) is not a permutation of the %d dimensions of %s", sp,
                     x->ndim, TG_SHP(x, sx));
            return NULL;
        }
        seen[p] = true;
        m.src[d] = p;
        s.dim[d] = x->shape[p];
    }
    return make_view(t, x, s, &m);
}

/* ---- narrow, split, chunk ------------------------------------------------- */

tg_tensor *tg_narrow(tg_tape *t, tg_tensor *x, int axis, int64_t start, int64_t len) {
    if (!tg__begin(t, "tg_narrow", 1, &x)) return NULL;
    char sx[TG_SHAPE_STR_MAX];
    int a = tg__axis(axis, x->ndim);
    if (a < 0) {
        tg__fail(t, "tg_narrow: axis %d is out of range for %s", axis, TG_SHP(x, sx));
        return NULL;
    }
    int64_t size = x->shape[a], first = start < 0 ? start + size : start; /* as torch */
    if (first < 0 || len < 0 || first > size || len > size - first) {
        tg__fail(t,
                 "tg_narrow: start %lld and length %lld do not fit axis %d (length %lld) "
                 "of %s",
                 (long long)start, (long long)len, axis, (long long)size, TG_SHP(x, sx));
        return NULL;
    }
    vmap m = vmap_identity(x->ndim);
    m.start[a] = first;
    tg_shape s = tg_tensor_shape(x);
    s.dim[a] = len;
    return make_view(t, x, s, &m);
}

int tg_split(tg_tape *t, tg_tensor *x, int axis, int n, const int64_t *sizes, tg_tensor **outs) {
    if (!tg__begin(t, "tg_split", 1, &x)) return -1;
    char sx[TG_SHAPE_STR_MAX];
    int a = tg__axis(axis, x->ndim);
    if (a < 0) {
        tg__fail(t, "tg_split: axis %d is out of range for %s", axis, TG_SHP(x, sx));
        return -1;
    }
    if (n < 1 || !sizes || !outs) {
        tg__fail(t, "tg_split: need n >= 1 pieces with sizes and outs, got n = %d%s%s", n,
                 sizes ? "" : ", sizes NULL", outs ? "" : ", outs NULL");
        return -1;
    }
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        if (sizes[k] < 0) {
            tg__fail(t, "tg_split: size %lld of piece %d is negative", (long long)sizes[k], k);
            return -1;
        }
        total += sizes[k];
    }
    if (total != x->shape[a]) {
        tg__fail(t, "tg_split: sizes add up to %lld but axis %d of %s has length %lld",
                 (long long)total, axis, TG_SHP(x, sx), (long long)x->shape[a]);
        return -1;
    }
    int64_t start = 0;
    for (int k = 0; k < n; k++) {
        outs[k] = tg_narrow(t, x, a, start, sizes[k]);
        if (!outs[k]) return -1;
        start += sizes[k];
    }
    return 0;
}

int tg_chunk(tg_tape *t, tg_tensor *x, int n, int axis, tg_tensor **outs) {
    if (!tg__begin(t, "tg_chunk", 1, &x)) return -1;
    char sx[TG_SHAPE_STR_MAX];
    int a = tg__axis(axis, x->ndim);
    if (a < 0) {
        tg__fail(t, "tg_chunk: axis %d is out of range for %s", axis, TG_SHP(x, sx));
        return -1;
    }
    if (n < 1 || !outs) {
        tg__fail(t, "tg_chunk: need n >= 1 chunks and outs, got n = %d%s", n,
                 outs ? "" : ", outs NULL");
        return -1;
    }
    /* torch.chunk: pieces of ceil(len / n), so there may be fewer than n;
     * an empty axis gives n empty pieces. */
    int64_t len = x->shape[a], size = (len + n - 1) / n;
    int count = size ? (int)((len + size - 1) / size) : n;
    for (int k = 0; k < count; k++) {
        int64_t start = k * size, piece = len - start < size ? len - start : size;
        outs[k] = tg_narrow(t, x, a, start, piece);
        if (!outs[k]) return -1;
    }
    return count;
}

/* ---- expand ------------------------------------------------------------------ */

/* torch.Tensor.expand: s is aligned to x at the right; a size-1 dim of x,
 * or a new leading dim, takes any size (stride 0); -1 keeps x's size. */
tg_tensor *tg_expand(tg_tape *t, tg_tensor *x, tg_shape s) {
    if (!tg__begin(t, "tg_expand", 1, &x)) return NULL;
    char sx[TG_SHAPE_STR_MAX], ss[TG_SHAPE_STR_MAX];
    if (s.ndim < x->ndim || s.ndim > TG_MAX_DIMS) {
        tg__fail(t, "tg_expand: cannot expand %s to %d dimensions (need %d to %d)", TG_SHP(x, sx),
                 s.ndim, x->ndim, TG_MAX_DIMS);
        return NULL;
    }
    TG_SHP(x, sx);
    tg_shape_str(s, ss, sizeof ss);
    int lead = s.ndim - x->ndim;
    vmap m = vmap_identity(s.ndim);
    for (int d = 0; d < s.ndim; d++) {
        int j = d - lead; /* x's dim, or < 0 for a new leading dim */
        if (j < 0) {
            if (s.dim[d] < 0) {
                tg__fail(t,
                         "tg_expand: cannot expand %s to %s: new leading dimension %d "
                         "must have a size, got %lld",
                         sx, ss, d, (long long)s.dim[d]);
                return NULL;
            }
            m.src[d] = -1;
            continue;
        }
        if (s.dim[d] == -1) s.dim[d] = x->shape[j];
        if (s.dim[d] == x->shape[j]) {
            m.src[d] = j;
        } else if (x->shape[j] == 1 && s.dim[d] >= 0) {
            m.src[d] = -1;
        } else {
            tg__fail(t,
                     "tg_expand: cannot expand %s to %s: size %lld of dimension %d is "
                     "neither 1 nor %lld",
                     sx, ss, (long long)x->shape[j], j, (long long)s.dim[d]);
            return NULL;
        }
    }
    return make_view(t, x, s, &m);
}
