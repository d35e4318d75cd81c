/* The gradient exchange: parameters' gradients packed into buckets, each
 * bucket's sum across ranks started as soon as backward has finished its
 * parameters, all waited for before the optimizer step. Backend-neutral:
 * the sums themselves are dist_mpi.c's (or dist_none.c's). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist/dist_impl.h"

typedef struct bucket {
    tg_real *buf;      /* [n]: its parameters' gradients, back to back */
    int64_t n;         /* values */
    int missing;       /* parameters not yet final in this step */
    tg__dist_req *req; /* the started sum, or NULL */
} bucket;

struct tg_dist_grads {
    tg_dist *d;
    int n, n_buckets;
    tg_tensor **p;
    int *bucket_of;  /* [n] */
    int64_t *offset; /* [n]: where in its bucket */
    bool *ready;     /* [n]: final in this step */
    int *size;       /* [n_buckets]: parameters in each */
    bucket *b;
    double weight;
    tg_tape *tape;
    int hint;       /* where the last lookup found its parameter */
    double t_first; /* when the first bucket started */
    int64_t early;  /* values started during backward */
    bool failed;    /* a start failed inside backward: finish reports it */
    char err[256];
    tg_dist_stats stats;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tg_dist_grads_free(tg_dist_grads *g) {
    if (!g) return;
    for (int k = 0; k < g->n_buckets; k++) {
        if (g->b[k].req) tg__dist_wait(g->b[k].req, NULL, 0);
        free(g->b[k].buf);
    }
    free(g->b);
    free(g->size);
    free(g->p);
    free(g->bucket_of);
    free(g->offset);
    free(g->ready);
    free(g);
}

/* Buckets over the parameters from the last (the first backward finishes)
 * to the first, each closed before it would pass max bytes. */
static int plan(tg_dist_grads *g, size_t max) {
    int64_t cap = (int64_t)(max / sizeof(tg_real)), fill = 0;
    g->n_buckets = 0;
    for (int i = g->n - 1; i >= 0; i--) {
        int64_t m = g->p[i]->numel;
        if (!g->n_buckets || (fill > 0 && fill + m > cap)) g->n_buckets++, fill = 0;
        g->bucket_of[i] = g->n_buckets - 1, g->offset[i] = fill, fill += m;
    }
    if (!(g->b = calloc((size_t)g->n_buckets + 1, sizeof *g->b)) ||
        !(g->size = calloc((size_t)g->n_buckets + 1, sizeof *g->size)))
        return -1;
    for (int i = 0; i < g->n; i++) {
        bucket *b = &g->b[g->bucket_of[i]];
        int64_t end = g->offset[i] + g->p[i]->numel;
        if (end > b->n) b->n = end;
        g->size[g->bucket_of[i]]++;
    }
    for (int k = 0; k < g->n_buckets; k++)
        if (!(g->b[k].buf = malloc((size_t)g->b[k].n * sizeof(tg_real) + 1))) return -1;
    return 0;
}

tg_dist_grads *tg_dist_grads_new(tg_dist *d, tg_tensor *const *params, int n, size_t bucket_bytes,
                                 char *err, size_t errlen) {
    tg_dist_grads *g = calloc(1, sizeof *g);
    if (!g || n < 0) return free(g), tg_error_set(err, errlen, "tg_dist_grads_new: out of memory");
    g->d = d, g->n = n;
    g->p = malloc(((size_t)n + 1) * sizeof *g->p);
    g->bucket_of = malloc(((size_t)n + 1) * sizeof *g->bucket_of);
    g->offset = malloc(((size_t)n + 1) * sizeof *g->offset);
    g->ready = calloc((size_t)n + 1, sizeof *g->ready);
    if (!g->p || !g->bucket_of || !g->offset || !g->ready) goto oom;
    for (int i = 0; i < n; i++) {
        g->p[i] = params[i];
        if (params[i]->numel >= (int64_t)1 << 31) {
            tg_error_set(err, errlen,
                         "tg_dist_grads_new: parameter %d has %lld values (2^31 at most)", i,
                         (long long)params[i]->numel);
            tg_dist_grads_free(g);
            return NULL;
        }
    }
    if (plan(g, bucket_bytes) == 0) {
        g->stats.buckets = g->n_buckets;
        for (int k = 0; k < g->n_buckets; k++)
            g->stats.bytes += g->b[k].n * (int64_t)sizeof(tg_real);
        return g;
    }
oom:
    tg_dist_grads_free(g);
    return tg_error_set(err, errlen, "tg_dist_grads_new: out of memory");
}

/* Packs bucket k (this rank's gradients times the weight) and starts its sum. */
static void start(tg_dist_grads *g, int k) {
    bucket *b = &g->b[k];
    for (int i = 0; i < g->n; i++) {
        if (g->bucket_of[i] != k) continue;
        tg_real *dst = b->buf + g->offset[i], w = (tg_real)g->weight;
        const tg_real *src = g->p[i]->grad;
        for (int64_t j = 0; j < g->p[i]->numel; j++) dst[j] = src ? w * src[j] : 0;
    }
    if (!g->t_first) g->t_first = now();
    if (!g->failed && tg__dist_isum(g->d, b->buf, b->n, &b->req, g->err, sizeof g->err))
        g->failed = true;
}

/* The tape's notice: parameter x is final. */
static void on_ready(void *ctx, tg_tensor *x) {
    tg_dist_grads *g = ctx;
    int i = -1;
    for (int j = 0; j < g->n && i < 0; j++) { /* notices come in order: start at the last */
        int c = (g->hint - j + g->n) % g->n;
        if (g->p[c] == x) i = c;
    }
    if (i < 0 || g->ready[i]) return;
    g->hint = i, g->ready[i] = true;
    int k = g->bucket_of[i];
    if (--g->b[k].missing == 0) start(g, k), g->early += g->b[k].n;
    for (int j = 0; j < g->n_buckets; j++) tg__dist_progress(g->b[j].req);
}

void tg_dist_grads_begin(tg_dist_grads *g, tg_tape *t, double weight) {
    g->weight = weight, g->tape = t, g->t_first = 0, g->early = 0, g->hint = g->n - 1;
    for (int i = 0; i < g->n; i++) g->ready[i] = false;
    for (int k = 0; k < g->n_buckets; k++) g->b[k].missing = g->size[k];
    if (t) tg_tape_on_grad_ready(t, on_ready, g);
}

int tg_dist_grads_finish(tg_dist_grads *g, char *err, size_t errlen) {
    double t0 = now();
    int64_t total = 0;
    int rc = 0;
    if (g->tape) tg_tape_on_grad_ready(g->tape, NULL, NULL);
    g->tape = NULL;
    for (int k = 0; k < g->n_buckets; k++) { /* in bucket order, as on every rank */
        if (g->b[k].missing > 0) start(g, k), g->b[k].missing = 0;
        total += g->b[k].n;
    }
    for (int k = 0; k < g->n_buckets; k++) {
        if (g->b[k].req && tg__dist_wait(g->b[k].req, g->err, sizeof g->err)) g->failed = true;
        g->b[k].req = NULL;
    }
    if (g->failed) {
        tg_error_set(err, errlen, "gradient exchange: %s", g->err);
        g->failed = false;
        return -1;
    }
    for (int i = 0; i < g->n; i++) {
        tg_tensor *x = g->p[i];
        if (!x->grad && !(x->grad = calloc((size_t)x->numel + 1, sizeof(tg_real)))) {
            rc = -1;
            tg_error_set(err, errlen, "gradient exchange: out of memory");
            continue;
        }
        memcpy(x->grad, g->b[g->bucket_of[i]].buf + g->offset[i],
               (size_t)x->numel * sizeof(tg_real));
    }
    double t1 = now();
    g->stats.wait_s = t1 - t0;
    g->stats.exchange_s = t1 - (g->t_first ? g->t_first : t0);
    g->stats.early_share = total ? (double)g->early / (double)total : 0;
    return rc;
}

tg_dist_stats tg_dist_grads_stats(const tg_dist_grads *g) {
    return g->stats;
}

int tg_dist_reduce_grads(tg_dist *d, tg_tensor *const *p, int n, double weight, char *err,
                         size_t errlen) {
    tg_dist_grads *g = tg_dist_grads_new(d, p, n, (size_t)4 << 20, err, errlen);
    if (!g) return -1;
    tg_dist_grads_begin(g, NULL, weight);
    int rc = tg_dist_grads_finish(g, err, errlen);
    tg_dist_grads_free(g);
    return rc;
}
