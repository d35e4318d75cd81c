/* tg__parallel_for: contiguous parts covering every item once, at most one
 * per thread and none smaller than the grain; one call on this thread when
 * the work is too small to split. */
#include <pthread.h>

#include "../core/kernels.h"
#include "testutil.h"

typedef struct calls {
    int n;
    int64_t lo[8], hi[8];
    int seen[1000];
    pthread_mutex_t lock;
} calls;

static void record(void *ctx, int64_t lo, int64_t hi) {
    calls *c = ctx;
    pthread_mutex_lock(&c->lock);
    if (c->n < 8) c->lo[c->n] = lo, c->hi[c->n] = hi, c->n++;
    pthread_mutex_unlock(&c->lock);
    for (int64_t i = lo; i < hi; i++) c->seen[i]++; /* each item in one part only */
}

static calls run(int threads, int64_t n, int64_t grain) {
    tg_set_threads(threads);
    calls c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    tg__parallel_for(n, grain, record, &c);
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(c.seen[i], 1);
    return c;
}

START_TEST(splits_into_parts_per_thread) {
    calls c = run(2, 1000, 100);
    ck_assert_int_eq(c.n, 2);
    int first = c.lo[0] == 0 ? 0 : 1;
    ck_assert_int_eq((int)c.lo[first], 0);
    ck_assert_int_eq((int)c.hi[first], 500);
    ck_assert_int_eq((int)c.lo[1 - first], 500);
    ck_assert_int_eq((int)c.hi[1 - first], 1000);
    c = run(3, 1000, 100);
    ck_assert_int_eq(c.n, 3);
    c = run(4, 300, 100); /* three grains: three parts, not four */
    ck_assert_int_eq(c.n, 3);
}
END_TEST

START_TEST(small_work_stays_on_this_thread) {
    calls c = run(2, 150, 100);
    ck_assert_int_eq(c.n, 1);
    ck_assert_int_eq((int)c.hi[0], 150);
    c = run(1, 1000, 1);
    ck_assert_int_eq(c.n, 1);
    c = run(2, 0, 1);
    ck_assert_int_eq(c.n, 0);
}
END_TEST

TCase *tcase_parallel(void) {
    TCase *tc = tcase_create("parallel");
    tcase_add_test(tc, splits_into_parts_per_thread);
    tcase_add_test(tc, small_work_stays_on_this_thread);
    return tc;
}
