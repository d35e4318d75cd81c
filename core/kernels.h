/* core internals shared by the library's own files (not part of the public
 * header): strided iteration, broadcasting, and the BLIS matrix product. */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include "core.h"

/* Runs `body` for every element of `t` in row-major order with `off` set to
 * the element's offset in t->data. Dimensions past ndim have size 1 (an
 * invariant every tensor keeps), so four loops cover every rank. */
#define TG_FOR_EACH(t, off, body)                                              \
    do {                                                                       \
        const int64_t *tg__n = (t)->shape, *tg__s = (t)->stride;              \
        for (int64_t tg__a = 0; tg__a < tg__n[0]; tg__a++)                     \
            for (int64_t tg__b = 0; tg__b < tg__n[1]; tg__b++)                 \
                for (int64_t tg__c = 0; tg__c < tg__n[2]; tg__c++)             \
                    for (int64_t tg__d = 0; tg__d < tg__n[3]; tg__d++) {       \
                        int64_t off = tg__a * tg__s[0] + tg__b * tg__s[1] +    \
                                      tg__c * tg__s[2] + tg__d * tg__s[3];     \
                        body;                                                  \
                    }                                                          \
    } while (0)

/* NumPy broadcasting of two shapes (aligned at the last dimension).
 * Returns false when a pair of sizes differs and neither is 1. */
bool tg_broadcast_shape(tg_shape a, tg_shape b, tg_shape *out);

/* A 4-d frame for loops over a broadcast result: `dim` is `out` aligned to
 * the right and padded with leading 1s. */
typedef struct tg_frame {
    int64_t dim[TG_MAX_DIMS];
} tg_frame;
tg_frame tg_frame_of(tg_shape out);
/* Strides for reading tensor t inside the frame of `out`: right-aligned,
 * 0 where t has size 1 (or no dimension) and is broadcast. */
void tg_frame_strides(const tg_tensor *t, tg_shape out, int64_t st[TG_MAX_DIMS]);
/* The same for a contiguous buffer of shape s (a gradient buffer): writing
 * through stride 0 sums over the broadcast dimensions. */
void tg_frame_contig_strides(tg_shape s, tg_shape out, int64_t st[TG_MAX_DIMS]);

/* Chooses BLIS's kernels and threads once, before BLIS's first use. */
void tg__blis_setup(void);

/* Parts of /proc that tg_threads_auto_step reads: the runnable tasks in
 * /proc/loadavg's text, and whether a /proc/PID/task/TID/stat line is of
 * a running thread (1) or not (0); -1 when the text is not of that form. */
int tg__proc_runnable(const char *loadavg);
int tg__proc_task_running(const char *stat);

/* C = alpha * op(A) * op(B) + beta * C for strided matrices, through BLIS's
 * typed API so transposed operands are read in place.
 *   A: m x k with row stride rsa and column stride csa (after op), etc. */
void tg_gemm(int64_t m, int64_t n, int64_t k, tg_real alpha,
             const tg_real *a, int64_t rsa, int64_t csa,
             const tg_real *b, int64_t rsb, int64_t csb,
             tg_real beta, tg_real *c, int64_t rsc, int64_t csc);

/* fn(ctx, lo, hi) over the items [0, n) in up to tg_threads() contiguous
 * parts of at least `grain` items (fewer items than two grains: one call
 * on this thread). fn must write only its own items' results. */
typedef void (*tg_range_fn)(void *ctx, int64_t lo, int64_t hi);
void tg__parallel_for(int64_t n, int64_t grain, tg_range_fn fn, void *ctx);

#endif
