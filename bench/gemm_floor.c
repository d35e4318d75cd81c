/* See gemm_floor.h. The bench binary defines bli_sgemm_ex and bli_dgemm_ex
 * itself, so libtapegrad.a's calls land here; each call is noted (shape,
 * strides, scalars, operands, the runtime's thread count and sup switch)
 * while recording is on and passed on to BLIS's own function (dlsym
 * RTLD_NEXT). The replay runs the same calls on the same pointers: the
 * same sizes, strides and cache footprint, with nothing of tapegrad in
 * between. It overwrites the step's outputs, which is why it must run
 * after the step is done with them and before the tape is reset. (The
 * recording is the bench's one piece of process-wide state: an interposer
 * has nowhere else to put it.) */
#define _GNU_SOURCE
#include "gemm_floor.h"

#include <blis.h>

#include "core/gemm_packed.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct call {
    bool dbl;
    trans_t ta, tb;
    dim_t m, n, k, threads; /* threads: 0 = BLIS's global setting */
    bool sup;               /* BLIS's small-matrix path allowed (tg_gemm: no) */
    double alpha, beta;
    void *a, *b, *c;
    inc_t rsa, csa, rsb, csb, rsc, csc;
} call;

static struct {
    bool on;
    call *calls;
    double *ms; /* [cap]: each call's time in the last replay */
    size_t n, cap;
} rec;

typedef void sgemm_fn(trans_t, trans_t, dim_t, dim_t, dim_t, float *, float *, inc_t, inc_t,
                      float *, inc_t, inc_t, float *, float *, inc_t, inc_t, cntx_t *, rntm_t *);
typedef void dgemm_fn(trans_t, trans_t, dim_t, dim_t, dim_t, double *, double *, inc_t, inc_t,
                      double *, inc_t, inc_t, double *, double *, inc_t, inc_t, cntx_t *, rntm_t *);

/* BLIS's own function: the next definition after this binary's. */
static void *real(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "gemm_floor: %s not found in the libraries after the bench binary\n", name);
        abort();
    }
    return f;
}

static void note(call c) {
    if (!rec.on) return;
    if (rec.n == rec.cap) {
        size_t cap = rec.cap ? 2 * rec.cap : 256;
        call *more = realloc(rec.calls, cap * sizeof *more);
        double *ms = more ? realloc(rec.ms, cap * sizeof *ms) : NULL;
        if (more) rec.calls = more;
        if (!ms) { /* a shorter record, never a crash */
            rec.on = false;
            return;
        }
        rec.ms = ms, rec.cap = cap;
    }
    rec.calls[rec.n++] = c;
}

void bli_sgemm_ex(trans_t ta, trans_t tb, dim_t m, dim_t n, dim_t k, float *alpha, float *a,
                  inc_t rsa, inc_t csa, float *b, inc_t rsb, inc_t csb, float *beta, float *c,
                  inc_t rsc, inc_t csc, cntx_t *cntx, rntm_t *rntm) {
    static sgemm_fn *f;
    if (!f) f = (sgemm_fn *)real("bli_sgemm_ex");
    note((call){false, ta, tb, m, n, k, rntm ? bli_rntm_num_threads(rntm) : 0,
                rntm ? bli_rntm_l3_sup(rntm) : true, *alpha, *beta, a, b, c, rsa, csa, rsb, csb,
                rsc, csc});
    f(ta, tb, m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, cntx, rntm);
}

void bli_dgemm_ex(trans_t ta, trans_t tb, dim_t m, dim_t n, dim_t k, double *alpha, double *a,
                  inc_t rsa, inc_t csa, double *b, inc_t rsb, inc_t csb, double *beta, double *c,
                  inc_t rsc, inc_t csc, cntx_t *cntx, rntm_t *rntm) {
    static dgemm_fn *f;
    if (!f) f = (dgemm_fn *)real("bli_dgemm_ex");
    note((call){true, ta, tb, m, n, k, rntm ? bli_rntm_num_threads(rntm) : 0,
                rntm ? bli_rntm_l3_sup(rntm) : true, *alpha, *beta, a, b, c, rsa, csa, rsb, csb,
                rsc, csc});
    f(ta, tb, m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, cntx, rntm);
}

/* tapegrad's packed products (core/gemm_packed.c: W packed once per
 * sequence, BLIS's micro-kernel over the panels) do not call BLIS's GEMM;
 * each is noted as the BLIS call it stands for, which is what the floor
 * replays: so the floor stays "the step's products through bare BLIS",
 * and the step can run under it. (This definition replaces the
 * library's weak no-op.) */
void tg__gemm_packed_note(int64_t m, int64_t n, int64_t k, const tg_real *a, int64_t rsa,
                          int64_t csa, const tg_real *b, int64_t rsb, int64_t csb, tg_real beta,
                          tg_real *c, int64_t ldc) {
    /* tg_gemm's runtime: one thread below 2^22 multiply-adds, no sup */
    dim_t threads = m * n * k < ((int64_t)1 << 22) ? 1 : 0;
    note((call){sizeof(tg_real) == sizeof(double), BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k,
                threads, false, 1, (double)beta, (void *)a, (void *)b, c, rsa, csa, rsb, csb, ldc,
                1});
}

void gemm_floor_record(bool on) {
    if (on) rec.n = 0;
    rec.on = on;
}

size_t gemm_floor_calls(void) {
    return rec.n;
}

double gemm_floor_flop(void) {
    double flop = 0;
    for (size_t i = 0; i < rec.n; i++)
        flop += 2.0 * (double)rec.calls[i].m * (double)rec.calls[i].n * (double)rec.calls[i].k;
    return flop;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

double gemm_floor_replay_ms(void) {
    sgemm_fn *fs = (sgemm_fn *)real("bli_sgemm_ex");
    dgemm_fn *fd = (dgemm_fn *)real("bli_dgemm_ex");
    double t0 = now_ms(), ti = t0;
    for (size_t i = 0; i < rec.n; i++) {
        call *c = &rec.calls[i];
        rntm_t r, *rp = NULL;
        bli_rntm_init_from_global(&r);
        if (c->threads) bli_rntm_set_num_threads(c->threads, &r), rp = &r;
        if (!c->sup) bli_rntm_disable_l3_sup(&r), rp = &r;
        if (c->dbl) {
            double al = c->alpha, be = c->beta;
            fd(c->ta, c->tb, c->m, c->n, c->k, &al, c->a, c->rsa, c->csa, c->b, c->rsb, c->csb, &be,
               c->c, c->rsc, c->csc, NULL, rp);
        } else {
            float al = (float)c->alpha, be = (float)c->beta;
            fs(c->ta, c->tb, c->m, c->n, c->k, &al, c->a, c->rsa, c->csa, c->b, c->rsb, c->csb, &be,
               c->c, c->rsc, c->csc, NULL, rp);
        }
        double tn = now_ms();
        rec.ms[i] = tn - ti, ti = tn;
    }
    return now_ms() - t0;
}

void gemm_floor_shapes(FILE *f) {
    bool *done = calloc(rec.n, sizeof *done);
    if (!done) return;
    for (size_t i = 0; i < rec.n; i++) {
        if (done[i]) continue;
        call *c = &rec.calls[i];
        double ms = 0, flop = 0;
        int count = 0;
        for (size_t j = i; j < rec.n; j++) {
            call *d = &rec.calls[j];
            if (done[j] || d->m != c->m || d->n != c->n || d->k != c->k) continue;
            done[j] = true, count++, ms += rec.ms[j];
            flop += 2.0 * (double)d->m * (double)d->n * (double)d->k;
        }
        fprintf(f, "floor_shape m=%ld n=%ld k=%ld calls=%d ms=%.3f gflops=%.1f\n", (long)c->m,
                (long)c->n, (long)c->k, count, ms, flop / ms * 1e-6);
    }
    free(done);
}
