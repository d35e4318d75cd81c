/* Fast exp, sigmoid and tanh for the float build's hot loops (the fused
 * recurrent kernels). libm's expf/tanhf are exact to half an ulp but scalar
 * calls; these are branch-free polynomial forms (Cephes' coefficients) that
 * the compiler vectorises, within a few ulps of libm. The double build uses
 * libm, so gradient checks stay exact. Internal to the library. */
#ifndef TG_FASTMATH_H
#define TG_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core.h"

#ifdef TG_DOUBLE
static inline tg_real tg_exp_fast(tg_real x) {
    return exp(x);
}
static inline tg_real tg_tanh_fast(tg_real x) {
    return tanh(x);
}
#else
/* e^x = 2^n e^r with r = x - n ln2 in [-ln2/2, ln2/2]; e^r by a degree-6
 * polynomial; 2^n built in the exponent bits. */
static inline float tg_exp_fast(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = x log2(e) rounded to the nearest integer, in float arithmetic
     * only: adding 1.5 * 2^23 leaves no fraction bits. (No floor and no
     * float->int->float round trip: both keep GCC 12 from vectorising the
     * AVX2 copy, or make it compute two versions and blend them.) */
    float fn = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    int32_t n = (int32_t)fn;
    float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
    float z = r * r;
    float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                4.1665795894e-2f) *
                   r +
               1.6666665459e-1f) *
                  r +
              5.0000001201e-1f;
    float e = p * z + r + 1.0f;
    int32_t bits = (n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

/* tanh: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel),
 * the exp form elsewhere; both computed and one selected, so it vectorises. */
static inline float tg_tanh_fast(float x) {
    float ax = fabsf(x), z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) *
                       z -
                   3.33332819422e-1f) *
                      z * x +
                  x;
    float big = 1.0f - 2.0f / (tg_exp_fast(2.0f * ax) + 1.0f);
    big = copysignf(big, x);
    return ax < 0.625f ? small : big;
}
#endif

/* For the hot elementwise kernels: copies compiled for AVX-512 (x86-64-v4)
 * and AVX2 (x86-64-v3) besides the baseline, chosen at load time by the
 * CPU, so a binary built for any x86-64 runs 16 or 8 floats at a time
 * where it can (the AVX-512 copy halved the LSTM gates' time in an
 * inference step, config (a')). Floating-point contraction stays off (ISO C
 * mode), so every copy gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define TG_VECTOR_CLONES                                                                           \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TG_VECTOR_CLONES
#endif

/* 1 / (1 + e^-x), with e^-x clamped so it never overflows to inf. */
static inline tg_real tg_sigmoid_fast(tg_real x) {
    return 1 / (1 + tg_exp_fast(-x));
}

/* y[i] = sigmoid(x[i]) or tanh(x[i]) for i < n; y may be x (the same
 * array, not an overlapping one). */
void tg_sigmoid_n(tg_real *y, const tg_real *x, int64_t n);
void tg_tanh_n(tg_real *y, const tg_real *x, int64_t n);
/* y[i] = e^x[i], and 0 where x[i] < -87 (where float's e^x would be
 * denormal): softmax weights, which must be 0 where they underflow. */
void tg_exp_n(tg_real *y, const tg_real *x, int64_t n);

#endif
