/* Sums along a row in double, as the reductions sum (ops_reduce.c), in 8
 * interleaved partial sums rather than one chain of dependent adds (a
 * chain would cost a layer-norm LSTM a tenth of its step): partial l holds
 * the values at l, l + 8, l + 16, ... in order, the partials are then
 * added 0 to 7, then the tail. The result differs from the serial sum
 * only in the double's last bits. The partials are one vector, so they stay
 * in registers (an array of 8 was spilled to the stack on every
 * iteration). Internal to autograd (ops_norm.c, fuse_rules.c). */
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

/* The sum of a[0..n). */
TG__ROW_INLINE double tg__row_sum(const tg_real *a, int64_t n) {
    tg__sum8 s = {0};
    int64_t n8 = n - n % 8;
    for (int64_t k = 0; k < n8; k += 8) {
        tg__real8 x;
        tg__load8(&x, a + k);
        s += __builtin_convertvector(x, tg__sum8);
    }
    double acc = tg__fold8(&s);
    for (int64_t k = n8; k < n; k++) acc += (double)a[k];
    return acc;
}

/* The sum of (a[k] - m)^2, each square formed in tg_real. */
TG__ROW_INLINE double tg__row_sum_sq(const tg_real *a, int64_t n, tg_real m) {
    tg__sum8 s = {0};
    int64_t n8 = n - n % 8;
    for (int64_t k = 0; k < n8; k += 8) {
        tg__real8 d;
        tg__load8(&d, a + k);
        d -= m;
        s += __builtin_convertvector(d * d, tg__sum8);
    }
    double acc = tg__fold8(&s);
    for (int64_t k = n8; k < n; k++) acc += (double)((a[k] - m) * (a[k] - m));
    return acc;
}

/* The sums of a[k] and of a[k] * b[k] (each product formed in tg_real),
 * in one pass: two independent chains. */
TG__ROW_INLINE void tg__row_sum2(const tg_real *a, const tg_real *b, int64_t n, double *sum_a,
                                 double *sum_ab) {
    tg__sum8 s = {0}, t = {0};
    int64_t n8 = n - n % 8;
    for (int64_t k = 0; k < n8; k += 8) {
        tg__real8 x, y;
        tg__load8(&x, a + k);
        tg__load8(&y, b + k);
        s += __builtin_convertvector(x, tg__sum8);
        t += __builtin_convertvector(x * y, tg__sum8);
    }
    double acc = tg__fold8(&s), acc2 = tg__fold8(&t);
    for (int64_t k = n8; k < n; k++) acc += (double)a[k], acc2 += (double)(a[k] * b[k]);
    *sum_a = acc, *sum_ab = acc2;
}

#endif
