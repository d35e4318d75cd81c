/* Matrix products. Operands are passed to BLIS with their own row and
 * column strides, so a transposed view costs nothing; only broadcast views
 * (stride 0) are copied first. */
#include "op.h"

#include <string.h>

/* A matrix as BLIS sees it: rows x cols with row and column strides. */
typedef struct mat {
    const tg_real *p;
    int64_t rows, cols, rs, cs;
} mat;

static mat mat_t(mat a) {
    return (mat){a.p, a.cols, a.rows, a.cs, a.rs};
}

/* c (m x n, dense row-major, leading stride ldc) = a b + beta c */
static void mm(mat a, mat b, tg_real beta, tg_real *c, int64_t ldc) {
    tg_gemm(a.rows, b.cols, a.cols, 1, a.p, a.rs, a.cs, b.p, b.rs, b.cs, beta, c, ldc, 1);
}

/* The same by a parameter w whose B (W^T or W) is b: through w's packed
 * panels while the tape holds packs (a sequence's steps), else BLIS. */
static void mm_by(tg_tape *t, const tg_tensor *w, mat a, mat b, tg_real beta, tg_real *c,
                  int64_t ldc) {
    if (!tg__packs_gemm(tg__tape_packs(t), w, a.rows, b.cols, a.cols, a.p, a.rs, a.cs, b.p, b.rs,
                        b.cs, beta, c, ldc))
        mm(a, b, beta, c, ldc);
}

static bool has_zero_stride(const tg_tensor *x) {
    for (int i = 0; i < x->ndim; i++)
        if (x->stride[i] == 0 && x->shape[i] > 1) return true;
    return false;
}

/* The batch-th matrix of a 2-d or 3-d operand whose data is `p`. */
static mat operand(const tg_tensor *x, const tg_real *p, int64_t batch) {
    int d = x->ndim - 2;
    return (mat){p + (x->ndim == 3 ? batch * x->stride[0] : 0), x->shape[d], x->shape[d + 1],
                 x->stride[d], x->stride[d + 1]};
}

tg_tensor *tg_matmul(tg_tape *t, tg_tensor *a, tg_tensor *b) {
    tg_tensor *in[2] = {a, b};
    if (!tg__begin(t, "tg_matmul", 2, in)) return NULL;
    char sa[TG_SHAPE_STR_MAX], sb[TG_SHAPE_STR_MAX];
    bool ranks_ok = (a->ndim == 2 || a->ndim == 3) && (b->ndim == 2 || b->ndim == 3) &&
                    !(a->ndim == 2 && b->ndim == 3);
    if (!ranks_ok) {
        tg__fail(t, "tg_matmul: %s x %s: expected 2-d x 2-d, 3-d x 3-d or 3-d x 2-d", TG_SHP(a, sa),
                 TG_SHP(b, sb));
        return NULL;
    }
    int64_t k = a->shape[a->ndim - 1], k2 = b->shape[b->ndim - 2];
    if (k != k2) {
        tg__fail(t, "tg_matmul: %s x %s: inner sizes %lld and %lld differ", TG_SHP(a, sa),
                 TG_SHP(b, sb), (long long)k, (long long)k2);
        return NULL;
    }
    if (a->ndim == 3 && b->ndim == 3 && a->shape[0] != b->shape[0]) {
        tg__fail(t, "tg_matmul: %s x %s: batch sizes %lld and %lld differ", TG_SHP(a, sa),
                 TG_SHP(b, sb), (long long)a->shape[0], (long long)b->shape[0]);
        return NULL;
    }
    int64_t batch = a->ndim == 3 ? a->shape[0] : 1;
    int64_t m = a->shape[a->ndim - 2], n = b->shape[b->ndim - 1];
    tg_tensor *out = tg__tensor(t, a->ndim == 3 ? TG_SHAPE(batch, m, n) : TG_SHAPE(m, n));
    if (!out) return NULL;
    /* BLIS cannot read stride-0 (broadcast) operands: copy those. */
    const tg_real *pa = has_zero_stride(a) ? tg__contig(t, a) : a->data;
    const tg_real *pb = has_zero_stride(b) ? tg__contig(t, b) : b->data;
    if (!pa || !pb) return NULL;
    tg_tensor ca = *a, cb = *b; /* headers matching pa, pb */
    if (pa != a->data) tg_tensor_set_shape(&ca, tg_tensor_shape(a));
    if (pb != b->data) tg_tensor_set_shape(&cb, tg_tensor_shape(b));
    for (int64_t i = 0; i < batch; i++)
        mm(operand(&ca, pa, i), operand(&cb, pb, b->ndim == 3 ? i : 0), 0, out->data + i * m * n,
           n);
    tg_node *node = tg__record(t, TG_OP_MATMUL, out, 2, in);
    if (node) {
        tg_tensor *hdr = tg__alloc(t, 2 * sizeof *hdr);
        if (!hdr) return NULL;
        hdr[0] = ca, hdr[0].data = (tg_real *)pa;
        hdr[1] = cb, hdr[1].data = (tg_real *)pb;
        node->saved = hdr;
    }
    return out;
}

/* dA += dC B^T, dB += A^T dC, batch by batch; a 2-d B shared by every batch
 * sums its gradient over them. */
void tg__matmul_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const tg_tensor *sv = n->saved, *a = &sv[0], *b = &sv[1];
    tg_tensor *ga = n->in[0], *gb = n->in[1];
    int64_t batch = a->ndim == 3 ? a->shape[0] : 1;
    int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1], nn = b->shape[b->ndim - 1];
    /* a fresh buffer is assigned by the first product into each of its
     * parts (b's 2-d gradient is one part, summed over the batch) */
    bool a_first = ga->requires_grad && tg__grad_first(ga);
    bool b_first = gb->requires_grad && tg__grad_first(gb);
    for (int64_t i = 0; i < batch; i++) {
        mat dc = {n->out->grad + i * m * nn, m, nn, nn, 1};
        mat ma = operand(a, a->data, i), mb = operand(b, b->data, b->ndim == 3 ? i : 0);
        tg_real beta_b = b_first && (b->ndim == 3 || i == 0) ? 0 : 1;
        if (ga->requires_grad) mm(dc, mat_t(mb), a_first ? 0 : 1, ga->grad + i * m * k, k);
        if (gb->requires_grad)
            mm(mat_t(ma), dc, beta_b, gb->grad + (b->ndim == 3 ? i * k * nn : 0), nn);
    }
    /* no batch: nothing was written */
    if (batch == 0 && a_first) memset(ga->grad, 0, (size_t)ga->numel * sizeof(tg_real));
    if (batch == 0 && b_first) memset(gb->grad, 0, (size_t)gb->numel * sizeof(tg_real));
}

bool tg__linear_rows(tg_tape *t, const tg_real *px, int64_t rows, tg_tensor *w, tg_tensor *b,
                     bool add, tg_real *y, const tg_real **pw, int64_t *rsw, int64_t *csw) {
    int64_t nin = w->shape[1], nout = w->shape[0];
    *pw = has_zero_stride(w) ? tg__contig(t, w) : w->data;
    const tg_real *pb = b ? tg__contig(t, b) : NULL;
    if (!*pw || (b && !pb)) return false;
    *rsw = *pw == w->data ? w->stride[0] : nin, *csw = *pw == w->data ? w->stride[1] : 1;
    mat mx = {px, rows, nin, nin, 1}, mw = {*pw, nout, nin, *rsw, *csw};
    for (int64_t r = 0; b && r < rows; r++) { /* the bias in every row */
        tg_real *yr = y + r * nout;
        if (add)
            for (int64_t j = 0; j < nout; j++) yr[j] += pb[j];
        else
            memcpy(yr, pb, (size_t)nout * sizeof(tg_real));
    }
    mm_by(t, w, mx, mat_t(mw), add || b ? 1 : 0, y, nout);
    return true;
}

/* y = z + x W^T + b over the last dimension of x (z and b optional);
 * leading dimensions are flattened into rows, so [T, B, in] is one GEMM of
 * T*B rows. z, when given, has y's shape: the product is accumulated onto it
 * (GEMM with beta = 1), which saves an add and its buffer in a recurrent
 * step, where z is the input's share of the gates. */
static tg_tensor *linear(tg_tape *t, const char *op, tg_tensor *z, tg_tensor *x, tg_tensor *w,
                         tg_tensor *b) {
    tg_tensor *xw[2] = {x, w};
    if (!tg__begin(t, op, 2, xw) || (z && !tg__begin(t, op, 1, &z))) return NULL;
    char sx[TG_SHAPE_STR_MAX], sw[TG_SHAPE_STR_MAX], sb[TG_SHAPE_STR_MAX];
    if (x->ndim < 1 || w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1]) {
        tg__fail(t, "%s: input %s and weight %s: expected weight [out,%lld]", op, TG_SHP(x, sx),
                 TG_SHP(w, sw), (long long)(x->ndim ? x->shape[x->ndim - 1] : 0));
        return NULL;
    }
    int64_t nin = w->shape[1], nout = w->shape[0], rows = nin ? x->numel / nin : 0;
    if (b && (b->ndim != 1 || b->shape[0] != nout)) {
        tg__fail(t, "%s: bias %s does not match weight %s: expected [%lld]", op, TG_SHP(b, sb),
                 TG_SHP(w, sw), (long long)nout);
        return NULL;
    }
    tg_shape s = tg_tensor_shape(x);
    s.dim[s.ndim - 1] = nout;
    tg_tensor *y = tg__tensor(t, s);
    if (y && z && !tg_same_shape(z, y)) {
        char sz[TG_SHAPE_STR_MAX], sy[TG_SHAPE_STR_MAX];
        tg__fail(t, "%s: z %s does not match the product's shape %s", op, TG_SHP(z, sz),
                 TG_SHP(y, sy));
        return NULL;
    }
    const tg_real *px = tg__contig(t, x), *pw;
    int64_t rsw, csw;
    if (!y || !px) return NULL;
    if (z) tg_copy_to(z, y->data); /* start from z, then the bias and the product */
    if (!tg__linear_rows(t, px, rows, w, b, z != NULL, y->data, &pw, &rsw, &csw)) return NULL;
    tg_tensor *rec[4] = {x, w}; /* {x, w[, b][, z]} */
    int n_in = 2;
    if (b) rec[n_in++] = b;
    if (z) rec[n_in++] = z;
    tg_node *node = tg__record(t, z ? TG_OP_LINEAR_ADD : TG_OP_LINEAR, y, n_in, rec);
    if (node) {
        tg_real **sv = tg__alloc(t, 2 * sizeof *sv);
        if (!sv) return NULL;
        sv[0] = (tg_real *)px, sv[1] = (tg_real *)pw;
        node->saved = sv;
        node->i[0] = rsw, node->i[1] = csw;
    }
    return y;
}

tg_tensor *tg_linear(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *b) {
    return linear(t, "tg_linear", NULL, x, w, b);
}

tg_tensor *tg_linear_add(tg_tape *t, tg_tensor *z, tg_tensor *x, tg_tensor *w, tg_tensor *b) {
    if (!z && !tg__failed(t)) {
        tg__fail(t, "tg_linear_add: z is NULL");
        return NULL;
    }
    return linear(t, "tg_linear_add", z, x, w, b);
}

void tg__linear_grads(tg_tape *t, tg_tensor *x, const tg_real *xd, tg_tensor *w, const tg_real *wd,
                      int64_t rsw, int64_t csw, tg_tensor *b, const tg_real *dy, int64_t rows) {
    int64_t nin = w->shape[1], nout = w->shape[0];
    mat mdy = {dy, rows, nout, nout, 1};
    mat mx = {xd, rows, nin, nin, 1}, mw = {wd, nout, nin, rsw, csw};
    /* beta 0 where the buffer is fresh: the product covers all of it */
    if (x->requires_grad) /* [rows,in] */
        mm_by(t, w, mdy, mw, tg__grad_first(x) ? 0 : 1, x->grad, nin);
    if (w->requires_grad) { /* [out,in]; a parameter's uses are gathered */
        if (w->on_heap)
            tg__defer_weight_grad(t, w, dy, xd, rows);
        else
            mm(mat_t(mdy), mx, tg__grad_first(w) ? 0 : 1, w->grad, nin);
    }
    if (b && b->requires_grad) tg__grad_settle(b);
    if (b && b->requires_grad)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < nout; j++) b->grad[j] += dy[r * nout + j];
}

/* Inputs {x, w[, b]}; saved: the data forward read x and W from. */
static void linear_backward(tg_tape *t, tg_node *n, tg_tensor *b) {
    tg_real **sv = n->saved;
    tg_tensor *x = n->in[0], *w = n->in[1];
    int64_t rows = w->shape[1] ? x->numel / w->shape[1] : 0;
    tg__linear_grads(t, x, sv[0], w, sv[1], n->i[0], n->i[1], b, n->out->grad, rows);
}

void tg__linear_backward(tg_tape *t, tg_node *n) {
    linear_backward(t, n, n->n_in > 2 ? n->in[2] : NULL);
}

/* Inputs {x, w, b, z}, or {x, w, z} without a bias; z's gradient is dy. */
void tg__linear_add_backward(tg_tape *t, tg_node *n) {
    tg_tensor *z = n->in[n->n_in - 1];
    linear_backward(t, n, n->n_in > 3 ? n->in[2] : NULL);
    if (z->requires_grad)
        for (int64_t e = 0; e < z->numel; e++) z->grad[e] += n->out->grad[e];
}
