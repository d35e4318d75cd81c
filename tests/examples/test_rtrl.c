/* examples/lessons/rtrl.h: the gradient real-time recurrent learning
 * gathers step by step equals the tape's BPTT gradient (Elman and LSTM),
 * and learning a stream online, one value at a time, ends up predicting it
 * better than persistence. */
#include <check.h>
#include <math.h>

#include "../../examples/lessons/rtrl.h"
#include "testutil.h"

#ifdef TG_DOUBLE
#define TOL 1e-10
#else
#define TOL 1e-4
#endif

/* RTRL over 25 steps (every third without a target) against BPTT on the
 * tape; returns the largest relative difference. */
static double rtrl_vs_bptt(bool lstm, int I, int H, uint64_t seed) {
    enum { T = 25 };
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    rt_net net;
    rt_state s;
    ck_assert_int_eq(rt_net_init(&net, lstm, I, H, &rng), 0);
    ck_assert_int_eq(rt_state_init(&s, &net), 0);
    double x[T * 3], target[T];
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < I; j++) x[t * I + j] = 2 * tg_rng_uniform(&rng) - 1;
        target[t] = t % 3 == 1 ? NAN : tg_rng_uniform(&rng);
    }
    for (int t = 0; t < T; t++) rt_step(&s, &x[t * I], target[t]);
    for (int i = 0; i < RT_NP; i++) tg_zero_grad(net.p[i]);
    ck_assert(isfinite(rt_bptt(&net, x, target, T)));
    /* the gradient is not trivially small */
    double norm = 0;
    for (int64_t k = 0; k < s.n; k++) norm += s.g_rec[k] * s.g_rec[k];
    ck_assert_double_gt(norm, 1e-6);
    double d = rt_grad_diff(&s);
    rt_state_free(&s);
    rt_net_free(&net);
    return d;
}

START_TEST(test_rtrl_equals_bptt) {
    double d = rtrl_vs_bptt(false, 1, 6, 3);
    ck_assert_msg(d <= TOL, "Elman: RTRL and BPTT differ by %g", d);
    d = rtrl_vs_bptt(false, 3, 5, 4);
    ck_assert_msg(d <= TOL, "Elman, 3 inputs: RTRL and BPTT differ by %g", d);
    d = rtrl_vs_bptt(true, 2, 5, 5);
    ck_assert_msg(d <= TOL, "LSTM: RTRL and BPTT differ by %g", d);
}
END_TEST

/* A noisy 11-step cycle of 300 values, on sunspots' scale (0 to 1.4): two
 * passes online; in the second, the prediction made before each value is
 * seen beats persistence by far. */
START_TEST(test_online_beats_persistence) {
    enum { N = 300, PASSES = 2 };
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    double x[N], err[PASSES * (N - 1)], persist = 0;
    for (int t = 0; t < N; t++)
        x[t] = 0.7 + 0.5 * sin(2 * 3.14159265358979 * t / 11.0) + 0.05 * tg_rng_uniform(&rng);
    for (int t = 0; t + 1 < N; t++) persist += (x[t + 1] - x[t]) * (x[t + 1] - x[t]) / (N - 1);
    rt_net net;
    ck_assert_int_eq(rt_net_init(&net, false, 1, 12, &rng), 0);
    ck_assert_int_eq(rt_online(&net, x, N, PASSES, 3e-3, err), 0);
    double first = 0, last = 0;
    for (int t = 0; t < N - 1; t++) first += err[t] / (N - 1), last += err[N - 1 + t] / (N - 1);
    ck_assert_msg(last < persist / 4, "online MSE %g (first pass %g), persistence %g", last, first,
                  persist);
    ck_assert_double_lt(last, first);
    rt_net_free(&net);
}
END_TEST

TCase *tcase_rtrl(void) {
    TCase *tc = tcase_create("rtrl");
    tcase_add_test(tc, test_rtrl_equals_bptt);
    tcase_add_test(tc, test_online_beats_persistence);
    return tc;
}
