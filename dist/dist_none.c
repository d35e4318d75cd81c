/* dist without MPI (the default build): one rank, so every sum is the
 * value itself and every exchange a no-op; the same API as dist_mpi.c so a
 * training loop written for N ranks runs unchanged on one. */
#include <stdio.h>
#include <stdlib.h>

#include "dist/dist_impl.h"

struct tg__dist_req {
    int unused;
};

bool tg_dist_built_with_mpi(void) {
    return false;
}

tg_dist *tg_dist_init(int *argc, char ***argv, char *err, size_t errlen) {
    (void)argc, (void)argv;
    tg_dist *d = calloc(1, sizeof *d);
    if (!d) return tg_error_set(err, errlen, "tg_dist_init: out of memory");
    d->size = 1;
    return d;
}

void tg_dist_free(tg_dist *d) {
    free(d);
}

int tg_dist_sum(tg_dist *d, double *v, int64_t n, char *err, size_t errlen) {
    (void)d, (void)v, (void)n, (void)err, (void)errlen;
    return 0;
}

int tg_dist_sum_real(tg_dist *d, tg_real *v, int64_t n, char *err, size_t errlen) {
    (void)d, (void)v, (void)n, (void)err, (void)errlen;
    return 0;
}

int tg_dist_broadcast(tg_dist *d, tg_tensor *const *p, int n, char *err, size_t errlen) {
    (void)d, (void)p, (void)n, (void)err, (void)errlen;
    return 0;
}

int tg_dist_barrier(tg_dist *d) {
    (void)d;
    return 0;
}

void tg_dist_abort(tg_dist *d, int status, const char *msg) {
    (void)d, (void)status;
    fprintf(stderr, "tapegrad: rank 0: %s\n", msg);
}

int tg__dist_isum(tg_dist *d, tg_real *buf, int64_t n, tg__dist_req **req, char *err,
                  size_t errlen) {
    (void)d, (void)buf, (void)n;
    if (!(*req = malloc(sizeof **req)))
        return tg_error_set(err, errlen, "tg_dist: out of memory"), -1;
    return 0;
}

void tg__dist_progress(tg__dist_req *req) {
    (void)req;
}

int tg__dist_wait(tg__dist_req *req, char *err, size_t errlen) {
    (void)err, (void)errlen;
    free(req);
    return 0;
}
