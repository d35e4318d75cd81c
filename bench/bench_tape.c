/* bench-tape: the tape's cost per recorded op for a tiny op (adding two
 * 1x8 tensors), forward and backward, and the throughput of a 1024^3 matmul
 * through the tape next to a direct BLIS call. A figure, not a test. */
#define _POSIX_C_SOURCE 200809L
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tapegrad.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int main(void) {
    enum { OPS = 10000, REPS = 51 };
    tg_tape *t = tg_tape_new();
    tg_tensor *w = tg_param_new(TG_SHAPE(1, 8));
    double fwd[REPS], bwd[REPS];
    for (int rep = 0; rep < REPS; rep++) {
        tg_tape_reset(t);
        tg_tensor *y = tg_zeros(t, TG_SHAPE(1, 8));
        double t0 = now();
        for (int i = 0; i < OPS; i++) y = tg_add(t, y, w);
        double t1 = now();
        tg_real g[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        tg_backward_grad(t, y, g);
        double t2 = now();
        fwd[rep] = (t1 - t0) / OPS * 1e9;
        bwd[rep] = (t2 - t1) / OPS * 1e9;
    }
    if (tg_tape_error(t)) {
        fprintf(stderr, "bench_tape: %s\n", tg_tape_error(t));
        return 1;
    }
    printf("tape overhead, add of two [1,8] tensors (%s), median of %d runs of %d ops:\n",
           TG_REAL_NAME, REPS, OPS);
    printf("  forward  %7.1f ns per recorded op\n", median(fwd, REPS));
    printf("  backward %7.1f ns per op\n", median(bwd, REPS));

    enum { N = 1024, MREPS = 7 };
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_tensor *a = tg_param_new(TG_SHAPE(N, N)), *b = tg_param_new(TG_SHAPE(N, N));
    tg_init_uniform(a, &r, -1, 1);
    tg_init_uniform(b, &r, -1, 1);
    tg_tensor *c = tg_tensor_new(TG_SHAPE(N, N));
    double tape_s[MREPS], blis_s[MREPS], flop = 2.0 * N * N * N;
    for (int rep = 0; rep < MREPS; rep++) {
        tg_tape_reset(t);
        double t0 = now();
        tg_matmul(t, a, b);
        double t1 = now();
        tg_real one = 1, zero = 0;
#ifdef TG_DOUBLE
        bli_dgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, N, N, N, &one, a->data, N, 1, b->data, N,
                  1, &zero, c->data, N, 1);
#else
        bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, N, N, N, &one, a->data, N, 1, b->data, N,
                  1, &zero, c->data, N, 1);
#endif
        double t2 = now();
        tape_s[rep] = t1 - t0;
        blis_s[rep] = t2 - t1;
    }
    double tm = median(tape_s, MREPS), bm = median(blis_s, MREPS);
    printf("matmul %dx%dx%d (%s), BLIS kernels '%s', median of %d:\n", N, N, N, TG_REAL_NAME,
           bli_arch_string(bli_arch_query_id()), MREPS);
    printf("  through the tape %7.1f GFLOP/s\n", flop / tm * 1e-9);
    printf("  direct BLIS      %7.1f GFLOP/s\n", flop / bm * 1e-9);
    printf("  tape / direct    %7.3f\n", bm / tm);
    tg_tensor_free(a);
    tg_tensor_free(b);
    tg_tensor_free(c);
    tg_tensor_free(w);
    tg_tape_free(t);
    return 0;
}
