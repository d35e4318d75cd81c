/* Layer normalisation over the last axis as one op: x [..., W] -> y, each
 * row (x - mean) / sqrt(var + eps) * gain + bias. The composed form's
 * numbers (sub, mean_axis, square, mean_axis, add_scalar, sqrt, div, mul,
 * add) to rounding, in two passes over a row instead of nine ops: the
 * sums go by blocks of 4 values in tg_real into double partials
 * (row_sums.h tg__norm_sum), and a row is multiplied by 1/s rather than
 * divided by s, as PyTorch's kernel multiplies by its rstd. A layer-norm
 * LSTM normalises all its steps' input products with it at once
 * (nn/cell_variant_steps.c). Saved per row: the mean and s. */
#include "../core/fastmath.h"
#include "op.h"
#include "row_sums.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct norm_saved {
    const tg_real *x;  /* [N, W] contiguous */
    tg_real *mean, *s; /* [N] each: the row's mean and sqrt(var + eps) */
    int64_t N, W;
} norm_saved;

typedef struct norm_job {
    norm_saved *sv;
    const tg_real *gain, *bias; /* [W] or NULL */
    tg_real *y;
    const tg_real *gy;          /* backward: y's gradient */
    tg_real *gx;                /* backward: x's gradient, or NULL */
    tg_real *partial;           /* backward: [blocks, 2W] gain's and bias's sums, or NULL */
    tg_real eps;
    bool no_memory;
} norm_job;

/* Rows per block of the gain's and bias's sums: a fixed number, so their
 * order never depends on the threads. */
enum { NORM_BLOCK = 16 };

/* The row's mean and s, as the composed ops compute them but for the
 * sums' blocks. */
TG_VECTOR_CLONES void tg__norm_stats(const tg_real *x, int64_t W, tg_real eps, tg_real *mean,
                                     tg_real *s) {
    tg_real m = (tg_real)(tg__norm_sum(x, W) / (double)W);
    tg_real var = (tg_real)(tg__norm_sum_sq(x, W, m) / (double)W);
    *mean = m;
    *s = (tg_real)sqrt(var + eps);
}

TG_VECTOR_CLONES void tg__norm_row(const tg_real *x, int64_t W, tg_real eps, tg_real *xh, tg_real *mean,
                  tg_real *s) {
    tg__norm_stats(x, W, eps, mean, s);
    tg_real m = *mean, r = 1 / *s;
    for (int64_t k = 0; k < W; k++) xh[k] = (x[k] - m) * r;
}

TG_VECTOR_CLONES void tg__norm_row_grad(int64_t W, const tg_real *xh, tg_real s, const tg_real *d, tg_real *gx) {
    double sd, sdx;
    tg__norm_sum2(d, xh, W, &sd, &sdx);
    tg_real md = (tg_real)(sd / (double)W), mdx = (tg_real)(sdx / (double)W);
    tg_real r = 1 / s;
    for (int64_t k = 0; k < W; k++) gx[k] += (d[k] - md - xh[k] * mdx) * r;
}

static void forward_rows(void *ctx, int64_t lo, int64_t hi) {
    norm_job *j = ctx;
    int64_t W = j->sv->W;
    for (int64_t r = lo; r < hi; r++) {
        tg_real *y = j->y + r * W;
        tg__norm_row(j->sv->x + r * W, W, j->eps, y, &j->sv->mean[r], &j->sv->s[r]);
        if (j->gain)
            for (int64_t k = 0; k < W; k++) y[k] *= j->gain[k];
        if (j->bias)
            for (int64_t k = 0; k < W; k++) y[k] += j->bias[k];
    }
}

/* Rows per thread part: a few thousand values, as the other row kernels. */
static int64_t rows_grain(int64_t W) {
    return W >= 8192 ? 1 : 8192 / (W ? W : 1);
}

tg_tensor *tg_layer_norm(tg_tape *t, tg_tensor *x, tg_tensor *gain, tg_tensor *bias, double eps) {
    if (!tg__begin(t, "tg_layer_norm", 1, &x)) return NULL;
    char sx[TG_SHAPE_STR_MAX], sp[TG_SHAPE_STR_MAX];
    if (x->ndim < 1 || x->shape[x->ndim - 1] < 1) {
        tg__fail(t, "tg_layer_norm: x %s: expected [..., W] with W >= 1", TG_SHP(x, sx));
        return NULL;
    }
    int64_t W = x->shape[x->ndim - 1], N = x->numel / W;
    tg_tensor *const pv[2] = {gain, bias};
    for (int k = 0; k < 2; k++)
        if (pv[k] && (pv[k]->ndim != 1 || pv[k]->shape[0] != W)) {
            tg__fail(t, "tg_layer_norm: %s %s: expected [%lld] for x %s", k ? "bias" : "gain",
                     TG_SHP(pv[k], sp), (long long)W, TG_SHP(x, sx));
            return NULL;
        }
    if (!(eps >= 0)) {
        tg__fail(t, "tg_layer_norm: eps must be at least 0, got %g", eps);
        return NULL;
    }
    tg_tensor *y = tg__tensor(t, tg_tensor_shape(x));
    norm_saved *sv = y ? tg__alloc(t, sizeof *sv) : NULL;
    tg_real *stats = sv ? tg__alloc(t, (size_t)(2 * N + 1) * sizeof *stats) : NULL;
    const tg_real *px = stats ? tg__contig(t, x) : NULL;
    const tg_real *pg = gain ? tg__contig(t, gain) : NULL, *pb = bias ? tg__contig(t, bias) : NULL;
    if (!px || (gain && !pg) || (bias && !pb)) return NULL;
    *sv = (norm_saved){px, stats, stats + N, N, W};
    norm_job j = {.sv = sv, .gain = pg, .bias = pb, .y = y->data, .eps = (tg_real)eps};
    tg__parallel_for(N, rows_grain(W), forward_rows, &j);
    tg_tensor *in[3] = {x, gain, bias};
    int n_in = 1;
    for (int k = 0; k < 2; k++)
        if (pv[k]) in[n_in++] = pv[k];
    tg_node *n = tg__record(t, TG_OP_LAYER_NORM, y, n_in, in);
    if (n) {
        n->saved = sv;
        n->i[0] = gain != NULL, n->i[1] = bias != NULL;
        n->f[0] = eps;
    }
    return y;
}

/* Per row, with xh = (x - mean) / s and d = gy * gain: x's gradient
 * (tg__norm_row_grad), and into the block's partial sums gy * xh (the
 * gain's) and gy (the bias's). */
static void backward_blocks(void *ctx, int64_t lo, int64_t hi) {
    norm_job *j = ctx;
    const norm_saved *sv = j->sv;
    int64_t W = sv->W;
    tg_real *xh = malloc((size_t)(2 * W) * sizeof *xh), *d = xh + W;
    if (!xh) {
        j->no_memory = true;
        return;
    }
    for (int64_t blk = lo; blk < hi; blk++) {
        int64_t r1 = (blk + 1) * NORM_BLOCK < sv->N ? (blk + 1) * NORM_BLOCK : sv->N;
        tg_real *pg = j->partial ? j->partial + blk * 2 * W : NULL;
        for (int64_t r = blk * NORM_BLOCK; r < r1; r++) {
            const tg_real *x = sv->x + r * W, *gy = j->gy + r * W;
            tg_real m = sv->mean[r], s = sv->s[r];
            tg_real r_s = 1 / s;
            for (int64_t k = 0; k < W; k++) xh[k] = (x[k] - m) * r_s;
            for (int64_t k = 0; k < W; k++) d[k] = j->gain ? gy[k] * j->gain[k] : gy[k];
            for (int64_t k = 0; pg && k < W; k++) pg[k] += gy[k] * xh[k], pg[W + k] += gy[k];
            if (j->gx) tg__norm_row_grad(W, xh, s, d, j->gx + r * W);
        }
    }
    free(xh);
}

void tg__layer_norm_backward(tg_tape *t, tg_node *n) {
    norm_saved *sv = n->saved;
    tg_tensor *x = n->in[0], *gain = n->i[0] ? n->in[1] : NULL;
    tg_tensor *bias = n->i[1] ? n->in[1 + (gain != NULL)] : NULL;
    int64_t W = sv->W, blocks = (sv->N + NORM_BLOCK - 1) / NORM_BLOCK;
    bool params = (gain && gain->requires_grad) || (bias && bias->requires_grad);
    norm_job j = {.sv = sv,
                  .gain = gain ? tg__contig(t, gain) : NULL,
                  .gy = n->out->grad,
                  .gx = x->requires_grad ? x->grad : NULL};
    if (gain && !j.gain) return;
    if (params) {
        j.partial = tg__alloc(t, (size_t)(blocks * 2 * W) * sizeof *j.partial);
        if (!j.partial) return;
        memset(j.partial, 0, (size_t)(blocks * 2 * W) * sizeof *j.partial);
    }
    int64_t g = rows_grain(W) / NORM_BLOCK;
    tg__parallel_for(blocks, g ? g : 1, backward_blocks, &j);
    if (j.no_memory) {
        tg__fail(t, "tg_layer_norm: out of memory for a row in backward");
        return;
    }
    /* the blocks' sums in order: the same at every thread count */
    for (int64_t b = 0; params && b < blocks; b++) {
        const tg_real *p = j.partial + b * 2 * W;
        for (int64_t k = 0; gain && gain->requires_grad && k < W; k++) gain->grad[k] += p[k];
        for (int64_t k = 0; bias && bias->requires_grad && k < W; k++) bias->grad[k] += p[W + k];
    }
}
