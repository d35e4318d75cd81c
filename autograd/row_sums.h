/* Sums along a row in double, as the reductions sum (ops_reduce.c), in 8
 * interleaved partial sums rather than one chain of dependent adds (a
 * chain would cost a layer-norm LSTM a tenth of its step): partial l holds
 * the values at l, l + 8, l + 16, ... in order, the partials are then
 * added 0 to 7, then the tail. The result differs from the serial sum
 * only in the double's last bits. The partials are one vector, so they stay
 * in registers (an array of 8 was spilled to the stack on every
 * iteration). The layer norm's sums take blocks of values first (below).
 * Internal to autograd (ops_norm.c, fuse_rules.c). */
#ifndef TG_ROW_SUMS_H
#define TG_ROW_SUMS_H

#include <string.h>

#include "../core/core.h"

typedef double tg__sum8 __attribute__((vector_size(8 * sizeof(double))));
typedef tg_real tg__real8 __attribute__((vector_size(8 * sizeof(tg_real))));

#define TG__ROW_INLINE static inline __attribute__((always_inline))

/* (Vectors go by pointer: by value they would change the ABI between
 * the target clones.) */
TG__ROW_INLINE void tg__load8(tg__real8 *v, const tg_real *p) {
    memcpy(v, p, sizeof *v);
}

TG__ROW_INLINE double tg__fold8(const tg__sum8 *s) {
    double acc = 0;
    for (int l = 0; l < 8; l++) acc += (*s)[l];
    return acc;
}

/* The sum of a[k..n) added to the partials *s0, 8 at a time, then the
 * partials folded and the tail added. */
TG__ROW_INLINE double tg__sum_from(const tg_real *a, int64_t k, int64_t n, const tg__sum8 *s0) {
    tg__sum8 s = *s0;
    for (; k + 8 <= n; k += 8) {
        tg__real8 x;
        tg__load8(&x, a + k);
        s += __builtin_convertvector(x, tg__sum8);
    }
    double acc = tg__fold8(&s);
    for (; k < n; k++) acc += (double)a[k];
    return acc;
}

/* The sum of a[0..n). */
TG__ROW_INLINE double tg__row_sum(const tg_real *a, int64_t n) {
    tg__sum8 s = {0};
    return tg__sum_from(a, 0, n, &s);
}

/* The layer norm's sums (ops_norm.c): each lane adds a block of 4 of its
 * values in tg_real, a pair at a time, then the block's sum to its double
 * partial. One conversion to double per 32 values rather than per 8: the
 * conversions bounded the norm's passes, whose sums now run twice as fast
 * (0.30 -> 0.16 ns a value for a row of 512 in L1). A block's sum carries
 * two roundings of tg_real at most; PyTorch's layer norm sums wholly in
 * float. */
#define TG__BLOCK4(a, k, x0, x1, x2, x3)                                                            \
    tg__real8 x0, x1, x2, x3;                                                                      \
    tg__load8(&x0, (a) + (k)), tg__load8(&x1, (a) + (k) + 8);                                       \
    tg__load8(&x2, (a) + (k) + 16), tg__load8(&x3, (a) + (k) + 24)

/* The sum of a[0..n) by blocks. */
TG__ROW_INLINE double tg__norm_sum(const tg_real *a, int64_t n) {
    tg__sum8 s = {0};
    int64_t k = 0;
    for (; k + 32 <= n; k += 32) {
        TG__BLOCK4(a, k, x0, x1, x2, x3);
        s += __builtin_convertvector((x0 + x1) + (x2 + x3), tg__sum8);
    }
    return tg__sum_from(a, k, n, &s);
}

/* The sum of (a[k] - m)^2 by blocks, each square formed in tg_real. */
TG__ROW_INLINE double tg__norm_sum_sq(const tg_real *a, int64_t n, tg_real m) {
    tg__sum8 s = {0};
    int64_t k = 0;
    for (; k + 32 <= n; k += 32) {
        TG__BLOCK4(a, k, x0, x1, x2, x3);
        x0 -= m, x1 -= m, x2 -= m, x3 -= m;
        s += __builtin_convertvector((x0 * x0 + x1 * x1) + (x2 * x2 + x3 * x3), tg__sum8);
    }
    for (; k + 8 <= n; k += 8) {
        tg__real8 d;
        tg__load8(&d, a + k);
        d -= m;
        s += __builtin_convertvector(d * d, tg__sum8);
    }
    double acc = tg__fold8(&s);
    for (; k < n; k++) acc += (double)((a[k] - m) * (a[k] - m));
    return acc;
}

/* The sums of a[k] and of a[k] * b[k] by blocks, in one pass. */
TG__ROW_INLINE void tg__norm_sum2(const tg_real *a, const tg_real *b, int64_t n, double *sum_a,
                                  double *sum_ab) {
    tg__sum8 s = {0}, t = {0};
    int64_t k = 0;
    for (; k + 32 <= n; k += 32) {
        TG__BLOCK4(a, k, x0, x1, x2, x3);
        TG__BLOCK4(b, k, y0, y1, y2, y3);
        s += __builtin_convertvector((x0 + x1) + (x2 + x3), tg__sum8);
        t += __builtin_convertvector((x0 * y0 + x1 * y1) + (x2 * y2 + x3 * y3), tg__sum8);
    }
    for (; k + 8 <= n; k += 8) {
        tg__real8 x, y;
        tg__load8(&x, a + k);
        tg__load8(&y, b + k);
        s += __builtin_convertvector(x, tg__sum8);
        t += __builtin_convertvector(x * y, tg__sum8);
    }
    double acc = tg__fold8(&s), acc2 = tg__fold8(&t);
    for (; k < n; k++) acc += (double)a[k], acc2 += (double)(a[k] * b[k]);
    *sum_a = acc, *sum_ab = acc2;
}

#endif
