/* A seeded, reproducible generator (xoshiro256**, seeded by splitmix64) and
 * the initialisers built on it. The generator is an object the caller owns. */
#include "core.h"
#include "kernels.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tg_rng_seed(tg_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
    r->has_spare = false;
    r->spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tg_rng_u64(tg_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double tg_rng_uniform(tg_rng *r) { return (double)(tg_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t tg_rng_below(tg_rng *r, uint64_t n) {
    if (n == 0) return 0;
    /* rejection keeps every value equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do x = tg_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double tg_rng_normal(tg_rng *r) {
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u, v, s;
    do { /* Marsaglia's polar method */
        u = 2 * tg_rng_uniform(r) - 1;
        v = 2 * tg_rng_uniform(r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double m = sqrt(-2 * log(s) / s);
    r->spare = v * m;
    r->has_spare = true;
    return u * m;
}

void tg_init_uniform(tg_tensor *t, tg_rng *r, double lo, double hi) {
    TG_FOR_EACH(t, off, t->data[off] = (tg_real)(lo + (hi - lo) * tg_rng_uniform(r)));
}

void tg_init_normal(tg_tensor *t, tg_rng *r, double mean, double std) {
    TG_FOR_EACH(t, off, t->data[off] = (tg_real)(mean + std * tg_rng_normal(r)));
}

static void fans(const tg_tensor *t, double *fan_in, double *fan_out) {
    double field = 1;
    for (int i = 2; i < t->ndim; i++) field *= (double)t->shape[i];
    *fan_in = t->ndim >= 2 ? (double)t->shape[1] * field : (double)t->numel;
    *fan_out = t->ndim >= 2 ? (double)t->shape[0] * field : (double)t->numel;
}

void tg_init_xavier_uniform(tg_tensor *t, tg_rng *r, double gain) {
    double in, out;
    fans(t, &in, &out);
    double a = gain * sqrt(6.0 / (in + out));
    tg_init_uniform(t, r, -a, a);
}

void tg_init_xavier_normal(tg_tensor *t, tg_rng *r, double gain) {
    double in, out;
    fans(t, &in, &out);
    tg_init_normal(t, r, 0, gain * sqrt(2.0 / (in + out)));
}

static double leaky_relu_gain(double a) { return sqrt(2.0 / (1 + a * a)); }

void tg_init_kaiming_uniform(tg_tensor *t, tg_rng *r, double a) {
    double in, out;
    fans(t, &in, &out);
    double bound = leaky_relu_gain(a) * sqrt(3.0 / in);
    tg_init_uniform(t, r, -bound, bound);
}

void tg_init_kaiming_normal(tg_tensor *t, tg_rng *r, double a) {
    double in, out;
    fans(t, &in, &out);
    tg_init_normal(t, r, 0, leaky_relu_gain(a) / sqrt(in));
}
