/* dist: data-parallel training over MPI, or one process without it.
 *
 * Every process (rank) holds the whole model and runs forward and backward
 * on its share of the batch; their gradients are summed (each weighted by
 * its share) so every rank takes the same optimizer step. The build picks
 * the implementation: dist/dist_mpi.c with `make MPI=1` (OpenMPI; the only
 * file that includes mpi.h), dist/dist_none.c otherwise (one rank, every
 * exchange a copy). A training loop goes data-parallel in three lines:
 *
 *     tg_dist *d = tg_dist_init(&argc, &argv, err, sizeof err);
 *     tg_dist_broadcast(d, params, n);                 // rank 0's weights
 *     ... backward on this rank's part of the batch ...
 *     tg_dist_reduce_grads(d, params, n, 1.0 / tg_dist_size(d));
 *
 * and tg_dist_grads overlaps the exchange with backward. Every call is
 * collective (every rank makes it, in the same order) unless it says not. */
#ifndef TG_DIST_H
#define TG_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../autograd/autograd.h"
#include "../core/core.h"

typedef struct tg_dist tg_dist;

/* Whether this build has MPI. Not collective. */
bool tg_dist_built_with_mpi(void);
/* Joins the job (MPI_Init unless MPI is already initialised; argc and argv
 * may be NULL). Without MPI: one rank. NULL with a message in err. */
tg_dist *tg_dist_init(int *argc, char ***argv, char *err, size_t errlen);
/* Leaves it (MPI_Finalize if init did MPI_Init) and frees d. */
void tg_dist_free(tg_dist *d);
/* This process's rank in [0, size) and the number of ranks. Not collective. */
int tg_dist_rank(const tg_dist *d);
int tg_dist_size(const tg_dist *d);

/* v[0..n) becomes the sum of every rank's v. 0, or -1 with a message. */
int tg_dist_sum(tg_dist *d, double *v, int64_t n, char *err, size_t errlen);
/* The same for tg_real values. */
int tg_dist_sum_real(tg_dist *d, tg_real *v, int64_t n, char *err, size_t errlen);
/* Every tensor's data (all ranks: the same list of the same shapes) becomes
 * rank 0's. */
int tg_dist_broadcast(tg_dist *d, tg_tensor *const *p, int n, char *err, size_t errlen);
/* Every tensor's grad becomes the sum over ranks of weight * grad (weight
 * 1/size: the average). A NULL grad counts as zeros (and is allocated). */
int tg_dist_reduce_grads(tg_dist *d, tg_tensor *const *p, int n, double weight, char *err,
                         size_t errlen);
/* Returns once every rank has called it: 0, or -1 if MPI failed. */
int tg_dist_barrier(tg_dist *d);
/* Stops every rank: prints "tapegrad: rank R: msg" on stderr, then ends
 * the whole job with status (MPI_Abort). Not collective: the rank that hit
 * an error calls it alone. Without MPI (or with one rank) it prints and
 * returns, and the caller returns status as usual. */
void tg_dist_abort(tg_dist *d, int status, const char *msg);

/* ---- gradient exchange overlapping backward ----------------------------------
 * The parameters' gradients are packed into buckets of about bucket_bytes
 * (in reverse order, the order backward finishes them); a bucket's sum
 * across ranks (MPI_Iallreduce) starts as soon as backward has finished
 * every parameter in it (tg_tape_on_grad_ready), and finish waits for all
 * of them and writes the sums back, before the optimizer step. */
typedef struct tg_dist_grads tg_dist_grads;

typedef struct tg_dist_stats {
    int buckets;
    int64_t bytes;      /* one rank's gradient bytes sent per step */
    double exchange_s;  /* last step: from the first bucket started to finish's end */
    double wait_s;      /* last step: inside finish (the part not hidden by backward) */
    double early_share; /* last step: share of the bytes started before backward ended */
} tg_dist_stats;

/* params: the tensors whose grads are exchanged (kept, not owned). NULL
 * with a message (out of memory). */
tg_dist_grads *tg_dist_grads_new(tg_dist *d, tg_tensor *const *params, int n, size_t bucket_bytes,
                                 char *err, size_t errlen);
/* Waits for any exchange still under way and frees g (NULL is fine); the
 * tensors stay. */
void tg_dist_grads_free(tg_dist_grads *g);
/* Before backward: this rank's gradients will count weight times (its
 * share of the batch's targets); with t, buckets start during backward on
 * t. Not collective. */
void tg_dist_grads_begin(tg_dist_grads *g, tg_tape *t, double weight);
/* After backward: starts what has not started, waits for every bucket and
 * writes the sums into the grads; unhooks the tape. 0, or -1 with a message. */
int tg_dist_grads_finish(tg_dist_grads *g, char *err, size_t errlen);
/* The figures of the last step (buckets, bytes, times). */
tg_dist_stats tg_dist_grads_stats(const tg_dist_grads *g);

#endif
