/* Losses: cross entropy (log-softmax and nll fused), nll, mse, and binary
 * cross entropy on logits. Each gives per-element values (TG_NONE) or their
 * sum or mean as a 0-d tensor; sums run in double. The node keeps the
 * reduction in i[0] and the gradient's scale in f[0] (1, or 1/count for a
 * mean), so backward reads dL/d(element r) as grad_at(n, r).
 *
 * Targets follow PyTorch: a target equal to ignore_index adds nothing and is
 * not counted by TG_MEAN, so a mean over all-ignored targets is 0/0 = NaN
 * (its gradient is 0); TG_NONE gives 0 at ignored positions. */
#include "../core/fastmath.h"
#include "op.h"

#include <math.h>
#include <string.h>

/* ---- shared: reduction checks, output and gradient scale ---------------- */

static bool reduction_ok(tg_tape *t, const char *op, tg_reduction red) {
    if (red == TG_MEAN || red == TG_SUM || red == TG_NONE) return true;
    tg__fail(t, "%s: reduction %d is not TG_MEAN, TG_SUM or TG_NONE", op, (int)red);
    return false;
}

/* Per-element values go straight into a TG_NONE output, else into a sum. */
typedef struct acc {
    tg_tensor *out;
    tg_reduction red;
    double sum;
} acc;

static void acc_put(acc *a, int64_t i, double v) {
    if (a->red == TG_NONE)
        a->out->data[i] = (tg_real)v;
    else
        a->sum += v;
}

/* Writes the reduced value and fills in the node (if any). `count` is the
 * number of elements a mean divides by. */
static void acc_finish(acc *a, tg_node *n, int64_t count) {
    bool mean = a->red == TG_MEAN;
    if (a->red != TG_NONE)
        a->out->data[0] = (tg_real)(!mean ? a->sum : count ? a->sum / (double)count : NAN);
    if (n) {
        n->i[0] = a->red;
        n->f[0] = mean && count ? 1.0 / (double)count : 1.0;
    }
}

/* dL/d(loss element r) */
static double grad_at(const tg_node *n, int64_t r) {
    return n->i[0] == TG_NONE ? (double)n->out->grad[r] : (double)n->out->grad[0] * n->f[0];
}

/* ---- class targets: cross entropy and nll over [N, C] ---------------------- */

typedef struct class_saved {
    const tg_real *x; /* [N, C] logits, contiguous (cross entropy only) */
    int64_t *target;  /* [N], a copy: the caller's array may be gone by backward */
    double *lse;      /* [N] log-sum-exp of each row (cross entropy only) */
} class_saved;

static bool ignored(int64_t target, int64_t ignore_index) {
    return ignore_index != TG_NO_IGNORE && target == ignore_index;
}

/* Checks x [N, C], the reduction and every target. */
static bool class_begin(tg_tape *t, const char *op, tg_tensor *x, const int64_t *targets,
                        tg_reduction red, int64_t ignore_index) {
    if (!tg__begin(t, op, 1, &x)) return false;
    char sx[TG_SHAPE_STR_MAX];
    if (x->ndim != 2) {
        tg__fail(t, "%s: input %s must be 2-d [N,C]", op, TG_SHP(x, sx));
        return false;
    }
    if (!reduction_ok(t, op, red)) return false;
    int64_t rows = x->shape[0], classes = x->shape[1];
    if (!targets && rows > 0) {
        tg__fail(t, "%s: targets is NULL", op);
        return false;
    }
    for (int64_t r = 0; r < rows; r++)
        if (!ignored(targets[r], ignore_index) && (targets[r] < 0 || targets[r] >= classes)) {
            tg__fail(t, "%s: target %lld at position %lld is outside [0, %lld)", op,
                     (long long)targets[r], (long long)r, (long long)classes);
            return false;
        }
    return true;
}

/* Allocates the output and, if a node is recorded, its saved data. Cross
 * entropy (ce) also gets x's values as a contiguous array in *px. */
static tg_tensor *class_out(tg_tape *t, int op_id, tg_tensor *x, const int64_t *targets,
                            tg_reduction red, int64_t ignore_index, bool ce, tg_node **node,
                            class_saved **sv, const tg_real **px) {
    int64_t rows = x->shape[0];
    tg_tensor *out = tg__tensor(t, red == TG_NONE ? TG_SHAPE(rows) : TG_SCALAR);
    *px = out && ce ? tg__contig(t, x) : NULL;
    if (!out || (ce && !*px)) return NULL;
    *node = tg__record(t, op_id, out, 1, &x);
    *sv = NULL;
    if (*node) {
        class_saved *s = tg__alloc(t, sizeof *s);
        int64_t *tgt = tg__alloc(t, (size_t)rows * sizeof *tgt);
        double *lse = ce ? tg__alloc(t, (size_t)rows * sizeof *lse) : NULL;
        if (!s || !tgt || (ce && !lse)) return NULL;
        if (rows) memcpy(tgt, targets, (size_t)rows * sizeof *tgt);
        *s = (class_saved){*px, tgt, lse};
        (*node)->saved = *sv = s;
        (*node)->i[1] = ignore_index;
    }
    return out;
}

/* Classes per block of exponentials (a stack buffer). */
#define CE_BLOCK 256

/* loss[r] = logsumexp(x[r, :]) - x[r, target[r]]; x [N, C] -> [N] or 0-d */
tg_tensor *tg_cross_entropy(tg_tape *t, tg_tensor *logits, const int64_t *targets, tg_reduction red,
                            int64_t ignore_index) {
    if (!class_begin(t, "tg_cross_entropy", logits, targets, red, ignore_index)) return NULL;
    tg_node *n;
    class_saved *sv;
    const tg_real *px;
    tg_tensor *out =
        class_out(t, TG_OP_CROSS_ENTROPY, logits, targets, red, ignore_index, true, &n, &sv, &px);
    if (!out) return NULL;
    int64_t rows = logits->shape[0], classes = logits->shape[1], count = 0;
    acc a = {out, red, 0};
    for (int64_t r = 0; r < rows; r++) {
        if (ignored(targets[r], ignore_index)) {
            acc_put(&a, r, 0);
            continue;
        }
        const tg_real *x = px + r * classes;
        tg_real m = x[0];
        for (int64_t j = 1; j < classes; j++) m = x[j] > m ? x[j] : m;
        /* the terms in blocks (a loop that vectorises with the fast exp of
         * fastmath.h), summed in double */
        double s = 0;
        for (int64_t j0 = 0; j0 < classes; j0 += CE_BLOCK) {
            tg_real e[CE_BLOCK];
            int64_t len = classes - j0 < CE_BLOCK ? classes - j0 : CE_BLOCK;
            for (int64_t k = 0; k < len; k++) e[k] = tg_exp_fast(x[j0 + k] - m);
            for (int64_t k = 0; k < len; k++) s += (double)e[k];
        }
        double lse = (double)m + log(s);
        if (sv) sv->lse[r] = lse;
        acc_put(&a, r, lse - (double)x[targets[r]]);
        count++;
    }
    acc_finish(&a, n, count);
    return out;
}

/* dx[r, j] += g[r] * (softmax(x[r])[j] - (j == target[r])), ignored rows 0 */
void tg__cross_entropy_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const class_saved *sv = n->saved;
    tg_tensor *x = n->in[0];
    int64_t rows = x->shape[0], classes = x->shape[1];
    for (int64_t r = 0; r < rows; r++) {
        if (ignored(sv->target[r], (int64_t)n->i[1])) continue;
        tg_real g = (tg_real)grad_at(n, r);
        double lse = sv->lse[r];
        const tg_real *xr = sv->x + r * classes;
        tg_real *gx = x->grad + r * classes;
        for (int64_t j = 0; j < classes; j++) gx[j] += g * tg_exp_fast((tg_real)(xr[j] - lse));
        gx[sv->target[r]] -= g;
    }
}

/* loss[r] = -logp[r, target[r]]; logp [N, C] -> [N] or 0-d */
tg_tensor *tg_nll(tg_tape *t, tg_tensor *logp, const int64_t *targets, tg_reduction red,
                  int64_t ignore_index) {
    if (!class_begin(t, "tg_nll", logp, targets, red, ignore_index)) return NULL;
    tg_node *n;
    class_saved *sv;
    const tg_real *px;
    tg_tensor *out = class_out(t, TG_OP_NLL, logp, targets, red, ignore_index, false, &n, &sv, &px);
    if (!out) return NULL;
    int64_t rows = logp->shape[0], count = 0;
    acc a = {out, red, 0};
    for (int64_t r = 0; r < rows; r++) {
        bool skip = ignored(targets[r], ignore_index);
        int64_t idx[2] = {r, skip ? 0 : targets[r]};
        acc_put(&a, r, skip ? 0 : -(double)tg_get(logp, idx));
        count += !skip;
    }
    acc_finish(&a, n, count);
    return out;
}

/* dlogp[r, target[r]] -= g[r] */
void tg__nll_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const class_saved *sv = n->saved;
    tg_tensor *x = n->in[0];
    int64_t rows = x->shape[0], classes = x->shape[1];
    for (int64_t r = 0; r < rows; r++)
        if (!ignored(sv->target[r], (int64_t)n->i[1]))
            x->grad[r * classes + sv->target[r]] -= (tg_real)grad_at(n, r);
}

/* ---- elementwise pairs: mse and bce with logits --------------------------- */

/* Checks a and b (same shape exactly) and the reduction; returns the output
 * (a's shape for TG_NONE) and both inputs' values as contiguous arrays. */
static tg_tensor *pair_begin(tg_tape *t, const char *op, tg_tensor *a, tg_tensor *b,
                             tg_reduction red, const tg_real **pa, const tg_real **pb) {
    tg_tensor *in[2] = {a, b};
    if (!tg__begin(t, op, 2, in)) return NULL;
    if (!tg_same_shape(a, b)) {
        char sa[TG_SHAPE_STR_MAX], sb[TG_SHAPE_STR_MAX];
        tg__fail(t, "%s: shapes %s and %s differ", op, TG_SHP(a, sa), TG_SHP(b, sb));
        return NULL;
    }
    if (!reduction_ok(t, op, red)) return NULL;
    tg_tensor *out = tg__tensor(t, red == TG_NONE ? tg_tensor_shape(a) : TG_SCALAR);
    *pa = out ? tg__contig(t, a) : NULL;
    *pb = *pa ? tg__contig(t, b) : NULL;
    return *pb ? out : NULL;
}

/* Records the node with both inputs' values saved for backward. */
static tg_node *pair_record(tg_tape *t, int op_id, tg_tensor *out, tg_tensor *a, tg_tensor *b,
                            const tg_real *pa, const tg_real *pb) {
    tg_tensor *in[2] = {a, b};
    tg_node *n = tg__record(t, op_id, out, 2, in);
    if (!n) return NULL;
    const tg_real **sv = tg__alloc(t, 2 * sizeof *sv);
    if (!sv) return NULL;
    sv[0] = pa, sv[1] = pb;
    n->saved = sv;
    return n;
}

/* loss = (a - b)^2 per element */
tg_tensor *tg_mse(tg_tape *t, tg_tensor *a, tg_tensor *b, tg_reduction red) {
    const tg_real *pa, *pb;
    tg_tensor *out = pair_begin(t, "tg_mse", a, b, red, &pa, &pb);
    if (!out) return NULL;
    acc s = {out, red, 0};
    for (int64_t i = 0; i < a->numel; i++) {
        double d = (double)pa[i] - (double)pb[i];
        acc_put(&s, i, d * d);
    }
    tg_node *n = pair_record(t, TG_OP_MSE, out, a, b, pa, pb);
    acc_finish(&s, n, a->numel);
    return out;
}

/* da += 2 (a - b) g, db -= 2 (a - b) g */
void tg__mse_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const tg_real *const *sv = n->saved;
    tg_tensor *a = n->in[0], *b = n->in[1];
    for (int64_t i = 0; i < a->numel; i++) {
        double d = 2 * ((double)sv[0][i] - (double)sv[1][i]) * grad_at(n, i);
        if (a->requires_grad) a->grad[i] += (tg_real)d;
        if (b->requires_grad) b->grad[i] -= (tg_real)d;
    }
}

/* loss = max(x, 0) - x y + log(1 + exp(-|x|)) per element: the same as
 * -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), with no exp that can
 * overflow and no log of 0. */
tg_tensor *tg_bce_with_logits(tg_tape *t, tg_tensor *x, tg_tensor *y, tg_reduction red) {
    const tg_real *px, *py;
    tg_tensor *out = pair_begin(t, "tg_bce_with_logits", x, y, red, &px, &py);
    if (!out) return NULL;
    acc s = {out, red, 0};
    for (int64_t i = 0; i < x->numel; i++) {
        double xi = (double)px[i], yi = (double)py[i];
        acc_put(&s, i, fmax(xi, 0) - xi * yi + log1p(exp(-fabs(xi))));
    }
    tg_node *n = pair_record(t, TG_OP_BCE_WITH_LOGITS, out, x, y, px, py);
    acc_finish(&s, n, x->numel);
    return out;
}

/* dx += (sigmoid(x) - y) g, dy += -x g */
void tg__bce_with_logits_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const tg_real *const *sv = n->saved;
    tg_tensor *x = n->in[0], *y = n->in[1];
    for (int64_t i = 0; i < x->numel; i++) {
        double xi = (double)sv[0][i], g = grad_at(n, i);
        /* sigmoid without overflow for either sign of x */
        double e = exp(-fabs(xi)), sig = xi >= 0 ? 1 / (1 + e) : e / (1 + e);
        if (x->requires_grad) x->grad[i] += (tg_real)((sig - (double)sv[1][i]) * g);
        if (y->requires_grad) y->grad[i] += (tg_real)(-xi * g);
    }
}
