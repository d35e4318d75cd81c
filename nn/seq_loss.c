/* Sequence losses with length masks, composed from tg_cross_entropy,
 * tg_mse and tg_where. */
#include "seq_loss.h"

#include <stdlib.h>

/* Marks masked tokens for tg_cross_entropy; never a valid class id, and
 * every counted target is checked to be one before it is used. */
#define MASKED (-1)

/* Checks the reduction and lengths (B of them, each in [0, T]); sets *count
 * to the number of counted tokens (T*B without lengths). */
static bool check_common(tg_tape *t, const char *op, int64_t T, int64_t B, const int64_t *lengths,
                         tg_reduction red, int64_t *count) {
    if (red != TG_MEAN && red != TG_SUM && red != TG_NONE) {
        tg_tape_fail(t, "%s: reduction %d is not TG_MEAN, TG_SUM or TG_NONE", op, (int)red);
        return false;
    }
    *count = lengths ? 0 : T * B;
    for (int64_t b = 0; lengths && b < B; b++) {
        if (lengths[b] < 0 || lengths[b] > T) {
            tg_tape_fail(t, "%s: lengths[%lld] = %lld is outside [0, %lld]", op, (long long)b,
                         (long long)lengths[b], (long long)T);
            return false;
        }
        *count += lengths[b];
    }
    if (red == TG_MEAN && *count == 0) {
        tg_tape_fail(t, "%s: every position is masked, so the mean is undefined", op);
        return false;
    }
    return true;
}

tg_tensor *tg_seq_cross_entropy(tg_tape *t, tg_tensor *logits, const int64_t *targets,
                                const int64_t *lengths, tg_reduction red) {
    const char *op = "tg_seq_cross_entropy";
    if (tg_tape_error(t)) return NULL;
    char s[TG_SHAPE_STR_MAX];
    if (!logits || !targets) {
        tg_tape_fail(t, "%s: %s is NULL", op, logits ? "targets" : "logits");
        return NULL;
    }
    if (logits->ndim != 3) {
        tg_tape_fail(t, "%s: logits %s: expected [T, B, C]", op,
                     tg_shape_str(tg_tensor_shape(logits), s, sizeof s));
        return NULL;
    }
    int64_t T = logits->shape[0], B = logits->shape[1], C = logits->shape[2], count;
    if (!check_common(t, op, T, B, lengths, red, &count)) return NULL;
    /* a private copy with masked tokens set to MASKED (tg_cross_entropy
     * keeps its own copy for backward, so this one is freed at once) */
    int64_t *tgt = malloc((size_t)(T * B + 1) * sizeof *tgt);
    if (!tgt) {
        tg_tape_fail(t, "%s: out of memory", op);
        return NULL;
    }
    for (int64_t i = 0; i < T * B; i++) {
        int64_t tt = i / B, b = i % B;
        bool counted = !lengths || tt < lengths[b];
        if (counted && (targets[i] < 0 || targets[i] >= C)) {
            tg_tape_fail(t, "%s: targets[%lld] (t=%lld, b=%lld) = %lld is outside [0, %lld)", op,
                         (long long)i, (long long)tt, (long long)b, (long long)targets[i],
                         (long long)C);
            free(tgt);
            return NULL;
        }
        tgt[i] = counted ? targets[i] : MASKED;
    }
    tg_tensor *flat = tg_reshape(t, logits, TG_SHAPE(T * B, C));
    tg_tensor *loss = tg_cross_entropy(t, flat, tgt, red, MASKED);
    free(tgt);
    return red == TG_NONE ? tg_reshape(t, loss, TG_SHAPE(T, B)) : loss;
}

tg_tensor *tg_seq_mse(tg_tape *t, tg_tensor *pred, tg_tensor *target, const int64_t *lengths,
                      tg_reduction red) {
    const char *op = "tg_seq_mse";
    if (tg_tape_error(t)) return NULL;
    char s[TG_SHAPE_STR_MAX], s2[TG_SHAPE_STR_MAX];
    if (!pred || !target) {
        tg_tape_fail(t, "%s: %s is NULL", op, pred ? "target" : "pred");
        return NULL;
    }
    if (pred->ndim != 3 || !tg_same_shape(pred, target)) {
        tg_tape_fail(t, "%s: pred %s and target %s: expected the same shape [T, B, D]", op,
                     tg_shape_str(tg_tensor_shape(pred), s, sizeof s),
                     tg_shape_str(tg_tensor_shape(target), s2, sizeof s2));
        return NULL;
    }
    int64_t T = pred->shape[0], B = pred->shape[1], D = pred->shape[2], count;
    if (!check_common(t, op, T, B, lengths, red, &count)) return NULL;
    if (red == TG_MEAN && D == 0) {
        tg_tape_fail(t, "%s: pred %s has no elements, so the mean is undefined", op,
                     tg_shape_str(tg_tensor_shape(pred), s, sizeof s));
        return NULL;
    }
    if (!lengths) return tg_mse(t, pred, target, red);
    /* Masked positions of both become 0, so their difference is 0 and
     * tg_where sends them no gradient, even where padding holds inf or NaN
     * (a mask multiply would turn those into NaN). */
    tg_tensor *mask = tg_empty(t, TG_SHAPE(T, B, 1)), *zero = tg_zeros(t, TG_SCALAR);
    if (!mask || !zero) return NULL;
    for (int64_t i = 0; i < T * B; i++) mask->data[i] = i / B < lengths[i % B];
    tg_tensor *p = tg_where(t, mask, pred, zero), *q = tg_where(t, mask, target, zero);
    if (red != TG_MEAN) return tg_mse(t, p, q, red);
    return tg_scale(t, tg_mse(t, p, q, TG_SUM), 1.0 / ((double)count * (double)D));
}

int64_t *tg__time_major_ids(tg_tape *t, const char *fn, const int64_t *ids, int64_t B, int64_t T) {
    int64_t *out = malloc((size_t)(B * T) * sizeof *out);
    if (!out) {
        tg_tape_fail(t, "%s: out of memory", fn);
        return NULL;
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t s = 0; s < T; s++) out[s * B + b] = ids[b * T + s];
    return out;
}
