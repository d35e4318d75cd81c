/* Lesson 6: real-time recurrent learning (RTRL).
 *
 * The gradient of a recurrent net without a backward pass: the state's
 * sensitivities to the weights, dh_t/dtheta, are carried forward with the
 * state (rtrl.h), so the gradient of the loss at step t is known at step t.
 * The program
 *   1. checks that the gradient RTRL gathers over a sequence equals the
 *      tape's BPTT gradient, for an Elman net and an LSTM (exit 1 if not);
 *   2. times one step of each as H grows: RTRL's cost grows as H^4, BPTT's
 *      as H^2 (and the tape's products are BLIS's);
 *   3. learns the yearly sunspot numbers online, one year at a time, each
 *      prediction made before its year is seen, against persistence (next
 *      year = this year).
 * Writes rtrl.csv and rtrl.svg (the online error as the stream goes by).
 *
 *     rtrl SUNSPOTS_CSV [passes]     (examples/sunspots/fetch.sh; passes 8) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../sunspots/sunspots.h"
#include "chart.h"
#include "rtrl.h"

#ifdef TG_DOUBLE
#define TOL 1e-10
#else
#define TOL 1e-4
#endif

enum { CHECK_T = 30, ONLINE_H = 16, WINDOW = 33 };

/* CPU seconds of the whole process (every thread): the work a step costs,
 * which a busy machine does not inflate as it does wall time. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 1. RTRL's gradient, summed over T steps, against the tape's. */
static double check(bool lstm, int H, tg_rng *rng) {
    rt_net net;
    rt_state s;
    double x[CHECK_T * 2], target[CHECK_T];
    if (rt_net_init(&net, lstm, 2, H, rng) || rt_state_init(&s, &net)) exit(1);
    for (int t = 0; t < CHECK_T; t++) {
        x[2 * t] = tg_rng_uniform(rng) * 2 - 1, x[2 * t + 1] = tg_rng_uniform(rng) * 2 - 1;
        target[t] = t % 3 == 2 ? NAN : tg_rng_uniform(rng); /* some steps without a target */
    }
    for (int t = 0; t < CHECK_T; t++) rt_step(&s, &x[2 * t], target[t]);
    for (int i = 0; i < RT_NP; i++) tg_zero_grad(net.p[i]);
    rt_bptt(&net, x, target, CHECK_T);
    double d = rt_grad_diff(&s);
    printf("  %-5s H = %-3d %6lld parameters   largest relative difference %.1e\n",
           lstm ? "LSTM" : "Elman", H, (long long)(s.n + H + 1), d);
    rt_state_free(&s);
    rt_net_free(&net);
    return d;
}

/* 2. CPU seconds per step: RTRL (forward with sensitivities and the step's
 * gradient) and BPTT (a 50-step sequence forward and back on the tape, per
 * step), each repeated for at least 0.1 s. */
static void timing(bool lstm, int H, tg_rng *rng, double *rtrl, double *bptt) {
    enum { T = 50 };
    rt_net net;
    rt_state s;
    double x[T], target[T];
    if (rt_net_init(&net, lstm, 1, H, rng) || rt_state_init(&s, &net)) exit(1);
    for (int t = 0; t < T; t++) x[t] = sin(0.3 * t), target[t] = sin(0.3 * (t + 1));
    int steps = 0;
    double t0 = now();
    do rt_step(&s, &x[steps % T], target[steps % T]);
    while (++steps < 3 || now() - t0 < 0.1);
    *rtrl = (now() - t0) / steps;
    int seqs = 0;
    t0 = now();
    do rt_bptt(&net, x, target, T);
    while (++seqs < 2 || now() - t0 < 0.1);
    *bptt = (now() - t0) / (seqs * T);
    rt_state_free(&s);
    rt_net_free(&net);
}

static double mean_of(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

/* 3. Online learning of the sunspot stream; returns 0 or 1 (failed). */
static int online(const char *path, int passes, tg_rng *rng) {
    static ss_series ss; /* 8 kB */
    if (ss_load(&ss, path) != 0) return 1;
    int n = ss.n, m = n - 1;
    double *x = malloc((size_t)n * sizeof *x), *err = malloc((size_t)(passes * m) * sizeof *err);
    double *persist = malloc((size_t)m * sizeof *persist);
    if (!x || !err || !persist) return 1;
    for (int t = 0; t < n; t++) x[t] = ss_to_net(ss.v[t]);
    for (int t = 0; t < m; t++) persist[t] = (x[t + 1] - x[t]) * (x[t + 1] - x[t]);
    rt_net net;
    if (rt_net_init(&net, false, 1, ONLINE_H, rng) || rt_online(&net, x, n, passes, 3e-3, err))
        return 1;
    double base = mean_of(persist, m);
    printf("\n3. online learning: %d years of sunspot numbers (sqrt(number)/10), one at a time\n",
           n);
    printf("   Elman, %d units, Adam 3e-3, one update per year; mean squared error of the\n"
           "   prediction of each year made before seeing it (persistence: %.4f)\n",
           ONLINE_H, base);
    printf("   %-11s %12s %12s %12s %12s\n", "pass", "all years", "first third", "last third",
           "vs persist.");
    printf("   %-11s %12.4f %12.4f %12.4f\n", "persistence", base, mean_of(persist, m / 3),
           mean_of(persist + m - m / 3, m / 3));
    for (int p = 0; p < passes; p++) {
        const double *e = err + p * m;
        double all = mean_of(e, m);
        printf("   %-11d %12.4f %12.4f %12.4f %11.2fx\n", p + 1, all, mean_of(e, m / 3),
               mean_of(e + m - m / 3, m / 3), all / base);
    }
    /* the error as the stream goes by: a centred running mean over WINDOW years */
    int total = passes * m;
    double *xs = malloc((size_t)total * sizeof *xs), *run = malloc((size_t)total * sizeof *run);
    double *prun = malloc((size_t)total * sizeof *prun);
    FILE *csv = fopen("rtrl.csv", "w");
    if (!xs || !run || !prun || !csv) return 1;
    fprintf(csv, "step,year,rtrl_sq_error,persistence_sq_error\n");
    for (int i = 0; i < total; i++) {
        int lo = i - WINDOW / 2 < 0 ? 0 : i - WINDOW / 2;
        int hi = i + WINDOW / 2 >= total ? total - 1 : i + WINDOW / 2;
        double a = 0, b = 0;
        for (int j = lo; j <= hi; j++) a += err[j], b += persist[j % m];
        xs[i] = i + 1, run[i] = a / (hi - lo + 1), prun[i] = b / (hi - lo + 1);
        fprintf(csv, "%d,%d,%.6f,%.6f\n", i + 1, ss.first_year + 1 + i % m, err[i], persist[i % m]);
    }
    fclose(csv);
    chart_series series[2] = {{"RTRL, online", run}, {"persistence", prun}};
    chart c = {.title = "Sunspots one year at a time: squared error (running mean, 33 years)",
               .xlabel = "years seen (the stream passes repeat the 308 years)",
               .ylabel = "squared error",
               .logy = true,
               .x = xs,
               .n = total,
               .series = series,
               .n_series = 2};
    int rc = chart_svg("rtrl.svg", &c) != 0;
    printf("   wrote rtrl.csv and rtrl.svg\n");
    double last = mean_of(err + (passes - 1) * m, m);
    free(xs), free(run), free(prun), free(x), free(err), free(persist);
    rt_net_free(&net);
    return rc || !(last < base);
}

int main(int argc, char **argv) {
    int passes = argc > 2 ? atoi(argv[2]) : 8;
    if (argc < 2 || passes < 1 || passes > 1000) {
        fprintf(stderr, "usage: %s SUNSPOTS_CSV [passes in 1..1000]\n", argv[0]);
        return 2;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    printf("Lesson 6: real-time recurrent learning\n\n");
    printf("1. the gradient over %d steps, by RTRL (forward only) and by the tape (BPTT)\n",
           CHECK_T);
    double worst = 0;
    for (int lstm = 0; lstm <= 1; lstm++) {
        double d = check(lstm, 8, &rng);
        worst = d > worst ? d : worst;
    }
    if (!(worst <= TOL)) {
        printf("   RTRL and BPTT differ by more than %g\n", TOL);
        return 1;
    }
    printf("   the same gradient (within %g)\n", TOL);

    printf("\n2. CPU time per step as H grows (one input, one output)\n");
    printf("   %-5s %4s %8s %14s %14s %9s %12s\n", "cell", "H", "theta", "RTRL us/step",
           "BPTT us/step", "ratio", "RTRL growth");
    for (int lstm = 0; lstm <= 1; lstm++) {
        double prev = 0;
        for (int H = 8; H <= (lstm ? 64 : 128); H *= 2) {
            double r, b;
            timing(lstm, H, &rng, &r, &b);
            int G = lstm ? 4 : 1;
            printf("   %-5s %4d %8d %14.1f %14.1f %8.1fx", lstm ? "LSTM" : "Elman", H,
                   G * H * (H + 2), 1e6 * r, 1e6 * b, r / b);
            if (prev > 0)
                printf(" %11.1fx\n", r / prev);
            else
                printf("\n");
            prev = r;
        }
    }
    printf("   (doubling H multiplies RTRL's work by 16: [G H, H] x [H, G H (H + 2)])\n");
    return online(argv[1], passes, &rng);
}
