/* The soft-target loss of knowledge distillation: the KL divergence from
 * the teacher's softened distribution to the student's, per row, scaled by
 * T^2 and averaged over rows ("batchmean"). One op rather than a chain of
 * log_softmax, softmax, sub, mul and sum: one pass over [N, C], and the
 * backward, (T / N)(q - p) for the student, needs no saved [N, C] tensor.
 * Sums run in double. */
#include "op.h"

#include <math.h>

/* Per row: both log-sum-exps of x / T and the row's KL (for backward). */
typedef struct kl_saved {
    const tg_real *s, *t;       /* [N, C] student and teacher logits, contiguous */
    double *lse_s, *lse_t, *kl; /* [N] */
} kl_saved;

/* log sum_j exp(x[j] / T), stable */
static double row_lse(const tg_real *x, int64_t C, double T) {
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < C; j++) m = fmax(m, (double)x[j] / T);
    for (int64_t j = 0; j < C; j++) s += exp((double)x[j] / T - m);
    return m + log(s);
}

static bool kl_check(tg_tape *t, const char *op, tg_tensor *const *in, double T) {
    if (!tg__begin(t, op, 2, in)) return false;
    char s1[TG_SHAPE_STR_MAX], s2[TG_SHAPE_STR_MAX];
    if (in[0]->ndim != 2 || !tg_same_shape(in[0], in[1])) {
        tg__fail(t, "%s: student %s and teacher %s must be the same [N,C]", op, TG_SHP(in[0], s1),
                 TG_SHP(in[1], s2));
        return false;
    }
    if (!(T > 0) || !isfinite(T)) {
        tg__fail(t, "%s: temperature %g is not a positive number", op, T);
        return false;
    }
    return true;
}

/* loss = T^2 / N sum_r sum_j p[r,j] (log p[r,j] - log q[r,j]); [N, C] x 2 -> 0-d */
tg_tensor *tg_soft_target_kl(tg_tape *t, tg_tensor *student, tg_tensor *teacher,
                             double temperature) {
    const char *op = "tg_soft_target_kl";
    tg_tensor *in[2] = {student, teacher};
    if (!kl_check(t, op, in, temperature)) return NULL;
    int64_t N = student->shape[0], C = student->shape[1];
    double T = temperature;
    tg_tensor *out = tg__tensor(t, TG_SCALAR);
    kl_saved *sv = out ? tg__alloc(t, sizeof *sv) : NULL;
    if (!sv) return NULL;
    sv->s = tg__contig(t, student);
    sv->t = sv->s ? tg__contig(t, teacher) : NULL;
    sv->lse_s = tg__alloc(t, 3 * (size_t)(N ? N : 1) * sizeof(double));
    if (!sv->t || !sv->lse_s) return NULL;
    sv->lse_t = sv->lse_s + N, sv->kl = sv->lse_s + 2 * N;
    double total = 0;
    for (int64_t r = 0; r < N; r++) {
        const tg_real *sr = sv->s + r * C, *tr = sv->t + r * C;
        double ls = row_lse(sr, C, T), lt = row_lse(tr, C, T), kl = 0;
        for (int64_t j = 0; j < C; j++) {
            double lp = (double)tr[j] / T - lt, lq = (double)sr[j] / T - ls;
            kl += exp(lp) * (lp - lq); /* p = 0 (lp = -inf only if a logit is) adds 0 */
        }
        sv->lse_s[r] = ls, sv->lse_t[r] = lt, sv->kl[r] = kl;
        total += kl;
    }
    out->data[0] = (tg_real)(N ? T * T * total / (double)N : NAN);
    tg_node *n = tg__record(t, TG_OP_SOFT_TARGET_KL, out, 2, in);
    if (n) n->saved = sv, n->f[0] = T;
    return out;
}

/* With g = dL/dloss * T^2 / N and p, q, KL_r as in forward:
 *   dstudent[r,j] += g / T (q[r,j] - p[r,j])
 *   dteacher[r,j] += g / T p[r,j] (log p[r,j] - log q[r,j] - KL_r) */
void tg__soft_target_kl_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const kl_saved *sv = n->saved;
    tg_tensor *s = n->in[0], *te = n->in[1];
    int64_t N = s->shape[0], C = s->shape[1];
    double T = n->f[0], g = (double)n->out->grad[0] * T / (double)N;
    for (int64_t r = 0; r < N; r++) {
        const tg_real *sr = sv->s + r * C, *tr = sv->t + r * C;
        for (int64_t j = 0; j < C; j++) {
            double lp = (double)tr[j] / T - sv->lse_t[r], lq = (double)sr[j] / T - sv->lse_s[r];
            double p = exp(lp);
            if (s->requires_grad) s->grad[r * C + j] += (tg_real)(g * (exp(lq) - p));
            if (te->requires_grad) te->grad[r * C + j] += (tg_real)(g * p * (lp - lq - sv->kl[r]));
        }
    }
}
