/* dist over MPI (built with `make MPI=1`): the only file that includes
 * mpi.h. Errors come back as return codes (MPI_ERRORS_RETURN on our
 * communicator) so they reach the caller with a message. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "dist/dist_impl.h"

#ifdef TG_DOUBLE
#define TG_MPI_REAL MPI_DOUBLE
#else
#define TG_MPI_REAL MPI_FLOAT
#endif

/* Counts above this go in pieces: MPI counts are int. */
#define CHUNK ((int64_t)1 << 30)

struct tg__dist_req {
    MPI_Request r;
};

static int failed(int rc, const char *what, char *err, size_t errlen) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (rc == MPI_SUCCESS) return 0;
    MPI_Error_string(rc, msg, &len);
    tg_error_set(err, errlen, "%s: %.*s", what, len, msg);
    return -1;
}

bool tg_dist_built_with_mpi(void) {
    return true;
}

tg_dist *tg_dist_init(int *argc, char ***argv, char *err, size_t errlen) {
    int inited = 0, rc;
    tg_dist *d = calloc(1, sizeof *d);
    if (!d) return tg_error_set(err, errlen, "tg_dist_init: out of memory");
    MPI_Initialized(&inited);
    if (!inited) {
        if ((rc = MPI_Init(argc, argv)) != MPI_SUCCESS) {
            failed(rc, "tg_dist_init: MPI_Init", err, errlen);
            free(d);
            return NULL;
        }
        d->finalize = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    return d;
}

void tg_dist_free(tg_dist *d) {
    if (!d) return;
    if (d->finalize) MPI_Finalize();
    free(d);
}

/* v[0..n) summed over ranks in place, in pieces MPI's int counts hold. */
static int sum(void *v, int64_t n, MPI_Datatype type, size_t size, const char *what, char *err,
               size_t errlen) {
    for (int64_t i = 0; i < n; i += CHUNK) {
        int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)v + (size_t)i * size, c, type, MPI_SUM,
                               MPI_COMM_WORLD);
        if (failed(rc, what, err, errlen)) return -1;
    }
    return 0;
}

int tg_dist_sum(tg_dist *d, double *v, int64_t n, char *err, size_t errlen) {
    (void)d;
    return sum(v, n, MPI_DOUBLE, sizeof *v, "tg_dist_sum", err, errlen);
}

int tg_dist_sum_real(tg_dist *d, tg_real *v, int64_t n, char *err, size_t errlen) {
    (void)d;
    return sum(v, n, TG_MPI_REAL, sizeof *v, "tg_dist_sum_real", err, errlen);
}

int tg_dist_broadcast(tg_dist *d, tg_tensor *const *p, int n, char *err, size_t errlen) {
    (void)d;
    for (int k = 0; k < n; k++)
        for (int64_t i = 0; i < p[k]->numel; i += CHUNK) {
            int c = (int)(p[k]->numel - i < CHUNK ? p[k]->numel - i : CHUNK);
            int rc = MPI_Bcast(p[k]->data + i, c, TG_MPI_REAL, 0, MPI_COMM_WORLD);
            if (failed(rc, "tg_dist_broadcast", err, errlen)) return -1;
        }
    return 0;
}

int tg_dist_barrier(tg_dist *d) {
    (void)d;
    return MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

void tg_dist_abort(tg_dist *d, int status, const char *msg) {
    fprintf(stderr, "tapegrad: rank %d: %s\n", d ? d->rank : 0, msg);
    fflush(stderr);
    if (d && d->size > 1) MPI_Abort(MPI_COMM_WORLD, status);
}

int tg__dist_isum(tg_dist *d, tg_real *buf, int64_t n, tg__dist_req **req, char *err,
                  size_t errlen) {
    (void)d;
    if (!(*req = malloc(sizeof **req)))
        return tg_error_set(err, errlen, "tg_dist: out of memory"), -1;
    int rc =
        MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, TG_MPI_REAL, MPI_SUM, MPI_COMM_WORLD, &(*req)->r);
    if (failed(rc, "MPI_Iallreduce", err, errlen)) {
        free(*req);
        *req = NULL;
        return -1;
    }
    return 0;
}

void tg__dist_progress(tg__dist_req *req) {
    int done = 0;
    if (req) MPI_Test(&req->r, &done, MPI_STATUS_IGNORE);
}

int tg__dist_wait(tg__dist_req *req, char *err, size_t errlen) {
    int rc = MPI_Wait(&req->r, MPI_STATUS_IGNORE);
    free(req);
    return failed(rc, "MPI_Wait", err, errlen);
}
