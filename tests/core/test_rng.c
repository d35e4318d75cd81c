/* The generator is reproducible and its distributions have the right
 * moments; initialisers use PyTorch's bounds. */
#include "testutil.h"

START_TEST(reproducible) {
    tg_rng a, b;
    tg_rng_seed(&a, 42);
    tg_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(tg_rng_u64(&a), tg_rng_u64(&b));
    tg_rng_seed(&b, 43);
    ck_assert_uint_ne(tg_rng_u64(&a), tg_rng_u64(&b));
}
END_TEST

START_TEST(moments) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    double s = 0, s2 = 0, n = 200000;
    for (int i = 0; i < n; i++) {
        double u = tg_rng_uniform(&r);
        ck_assert(u >= 0 && u < 1);
        s += u;
    }
    ck_assert_close(s / n, 0.5, 0.01);
    s = 0;
    for (int i = 0; i < n; i++) {
        double z = tg_rng_normal(&r);
        s += z, s2 += z * z;
    }
    ck_assert_close(s / n, 0, 0.01);
    ck_assert_close(s2 / n, 1, 0.02);
    int counts[5] = {0};
    for (int i = 0; i < 50000; i++) counts[tg_rng_below(&r, 5)]++;
    for (int k = 0; k < 5; k++) ck_assert_int_gt(counts[k], 9000);
}
END_TEST

START_TEST(initialisers) {
    tg_rng r;
    tg_rng_seed(&r, 2);
    tg_tensor *w = tg_tensor_new(TG_SHAPE(64, 100));
    /* Linear's default: kaiming_uniform(a=sqrt(5)) -> bound 1/sqrt(fan_in) */
    tg_init_kaiming_uniform(w, &r, sqrt(5.0));
    double bound = 1 / sqrt(100.0), mx = 0;
    for (int64_t i = 0; i < w->numel; i++) mx = fmax(mx, fabs(w->data[i]));
    ck_assert(mx <= bound);
    ck_assert(mx > 0.95 * bound);
    /* xavier_uniform: bound gain*sqrt(6/(fan_in+fan_out)) */
    tg_init_xavier_uniform(w, &r, 1);
    bound = sqrt(6.0 / 164), mx = 0;
    for (int64_t i = 0; i < w->numel; i++) mx = fmax(mx, fabs(w->data[i]));
    ck_assert(mx <= bound && mx > 0.95 * bound);
    /* kaiming_normal(a=0): std sqrt(2/fan_in) */
    tg_init_kaiming_normal(w, &r, 0);
    double s2 = 0;
    for (int64_t i = 0; i < w->numel; i++) s2 += w->data[i] * w->data[i];
    ck_assert_close(sqrt(s2 / (double)w->numel), sqrt(2.0 / 100), 0.05);
    tg_tensor_free(w);
}
END_TEST

TCase *tcase_rng(void) {
    TCase *tc = tcase_create("rng");
    tcase_add_test(tc, reproducible);
    tcase_add_test(tc, moments);
    tcase_add_test(tc, initialisers);
    return tc;
}
