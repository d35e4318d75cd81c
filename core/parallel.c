/* Elementwise work split over the same threads BLIS uses: its OpenMP
 * build keeps a team of tg_threads() threads, and between two matrix
 * products the others would only spin while this thread works alone.
 * Parts are contiguous ranges, so each item is computed exactly as on one
 * thread: results do not depend on the thread count. */
#include "kernels.h"

#include <omp.h>

void tg__parallel_for(int64_t n, int64_t grain, tg_range_fn fn, void *ctx) {
    int64_t parts = grain > 0 ? n / grain : n, threads = tg_threads();
    if (parts > threads) parts = threads;
    if (parts <= 1) {
        if (n > 0) fn(ctx, 0, n);
        return;
    }
#pragma omp parallel num_threads((int)parts)
    {
        int64_t k = omp_get_thread_num(), p = omp_get_num_threads();
        fn(ctx, n * k / p, n * (k + 1) / p);
    }
}
