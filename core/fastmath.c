/* The fast sigmoid, tanh and exp over arrays, for the recurrent kernels and the
 * elementwise ops (fastmath.h says how and how accurate). */
#include "fastmath.h"

TG_VECTOR_CLONES void tg_sigmoid_n(tg_real *y, const tg_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg_sigmoid_fast(x[i]);
}

TG_VECTOR_CLONES void tg_tanh_n(tg_real *y, const tg_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg_tanh_fast(x[i]);
}

TG_VECTOR_CLONES void tg_exp_n(tg_real *y, const tg_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < -87 ? 0 : tg_exp_fast(x[i]);
}
