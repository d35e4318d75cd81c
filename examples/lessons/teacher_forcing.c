/* Lesson 3: teacher forcing against free running, on a real sequence.
 *
 * A Jordan network (nn/jordan.h) feeds its previous output back in:
 *     h_t = tanh(W_ih x_t + b_ih + W_yh y_{t-1}),   y_t = W_hy h_t + b_hy
 * Trained with teacher forcing, the y_{t-1} it reads is the true value
 * d_{t-1}; trained free running, it is its own previous prediction (and
 * backpropagation runs through that feedback). At test time there is no
 * truth to feed back: the net runs free. How does each training fare then?
 *
 * The sequence: births per day in the United States, 1969-1988 (CDC NCHS).
 * The input x_t is the day of the week (one-hot); the output y_t is the
 * day's births (standardised). The weekday explains the weekly pattern; the
 * level (trend, season) must come through the feedback. Trained on
 * 1969-1984 in 4-week windows, tested on 1985-1988 in windows of 1 week to 1
 * year, each started from the true value of the day before.
 *
 *     teacher_forcing [us-births-1969-1988.csv]
 * (examples/data/fetch-us-births.sh fetches the data). Writes
 * teacher_forcing.csv and teacher_forcing.svg: 13 weeks of the test years,
 * the truth and both nets running free. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "tapegrad.h"

enum { MAXD = 8000, I = 7, HID = 16, T = 28, B = 32, STEPS = 3000, SHOW = 91 };

static int n_days, dow[MAXD], year[MAXD];
static double births[MAXD], z[MAXD], mean, sd;

static int load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open (run examples/data/fetch-us-births.sh first)\n", path);
        return -1;
    }
    char line[256];
    if (!fgets(line, sizeof line, f)) n_days = -1; /* the header */
    int y, m, d, w, b;
    while (n_days >= 0 && n_days < MAXD && fgets(line, sizeof line, f))
        if (sscanf(line, "%d,%d,%d,%d,%d", &y, &m, &d, &w, &b) == 5 && w >= 1 && w <= 7)
            year[n_days] = y, dow[n_days] = w - 1, births[n_days++] = b;
    fclose(f);
    if (n_days < 2000) {
        fprintf(stderr, "%s: expected year,month,date_of_month,day_of_week,births lines\n", path);
        return -1;
    }
    return 0;
}

/* x [len, nb, 7] one-hot weekdays and d [len, nb, 1] standardised births
 * for windows starting at start[b]; y0 [nb, 1]: the day before each. */
static void window(tg_tape *t, const int *start, int nb, int len, tg_tensor **x, tg_tensor **d,
                   tg_tensor **y0) {
    *x = tg_zeros(t, TG_SHAPE(len, nb, I));
    *d = tg_empty(t, TG_SHAPE(len, nb, 1));
    *y0 = tg_empty(t, TG_SHAPE(nb, 1));
    for (int b = 0; b < nb; b++) {
        (*y0)->data[b] = (tg_real)z[start[b] - 1];
        for (int s = 0; s < len; s++) {
            (*x)->data[(s * nb + b) * I + dow[start[b] + s]] = 1;
            (*d)->data[s * nb + b] = (tg_real)z[start[b] + s];
        }
    }
}

static tg_jordan *train(bool forcing, int n_train, tg_rng *r) {
    char err[128];
    tg_jordan *m =
        tg_jordan_new((tg_jordan_options){.input_size = I, .hidden_size = HID, .output_size = 1}, r,
                      err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    const tg_params *p = tg_module_params(&m->base);
    tg_tensor *params[8];
    for (int i = 0; i < p->n; i++) params[i] = p->items[i].tensor;
    tg_optim *opt = tg_optim_adam(params, p->n, (tg_adam_options){.lr = 3e-3});
    tg_tape *t = tg_tape_new();
    printf("training %s:", forcing ? "with teacher forcing" : "free running");
    for (int step = 1; step <= STEPS; step++) {
        tg_tape_reset(t);
        int start[B];
        for (int b = 0; b < B; b++)
            start[b] = 1 + (int)tg_rng_below(r, (uint64_t)(n_train - T - 1));
        tg_tensor *x, *d, *y0;
        window(t, start, B, T, &x, &d, &y0);
        tg_jordan_result res;
        tg_jordan_forward(t, m, x, y0, forcing ? d : NULL, &res);
        tg_tensor *loss = tg_mse(t, res.output, d, TG_MEAN);
        tg_optim_zero_grad(opt);
        if (tg_backward(t, loss) != 0) {
            fprintf(stderr, "%s\n", tg_tape_error(t));
            exit(1);
        }
        tg_clip_grad_norm(params, p->n, 1.0, 2, NULL, NULL, 0); /* free running can explode */
        tg_optim_step(opt);
        if (step % 500 == 0) printf(" %.3f", (double)loss->data[0]);
    }
    printf("  (training loss, standardised units)\n");
    tg_tape_free(t);
    tg_optim_free(opt);
    return m;
}

/* RMSE in births per day over [from, to) in windows of `len` days, each
 * started from the true day before; free running unless forcing. When
 * trace is given, the predictions are written there (free running). */
static double evaluate(tg_jordan *m, int from, int to, int len, bool forcing, double *trace) {
    tg_tape *t = tg_tape_new();
    bool was = tg_set_grad_enabled(t, false);
    double se = 0;
    int n = 0;
    for (int s0 = from; s0 + len <= to; s0 += len) {
        tg_tape_reset(t);
        tg_set_grad_enabled(t, false);
        tg_tensor *x, *d, *y0;
        window(t, &s0, 1, len, &x, &d, &y0);
        tg_jordan_result res;
        if (tg_jordan_forward(t, m, x, y0, forcing ? d : NULL, &res) != 0) break;
        for (int s = 0; s < len; s++) {
            double pred = (double)res.output->data[s] * sd + mean;
            se += (pred - births[s0 + s]) * (pred - births[s0 + s]);
            if (trace && s0 == from) trace[s] = pred;
            n++;
        }
    }
    tg_set_grad_enabled(t, was);
    tg_tape_free(t);
    return n ? sqrt(se / n) : NAN;
}

int main(int argc, char **argv) {
    if (load(argc > 1 ? argv[1] : "examples/data/us-births-1969-1988.csv") != 0) return 1;
    int n_train = 0;
    while (n_train < n_days && year[n_train] <= 1984) n_train++;
    for (int i = 0; i < n_train; i++) mean += births[i] / n_train;
    for (int i = 0; i < n_train; i++) sd += (births[i] - mean) * (births[i] - mean) / n_train;
    sd = sqrt(sd);
    for (int i = 0; i < n_days; i++) z[i] = (births[i] - mean) / sd;
    printf("Lesson 3: teacher forcing vs free running (Jordan network, %d hidden units)\n", HID);
    printf("US births per day: %d days; training on 1969-1984 (%d days), testing on 1985-%d\n\n",
           n_days, n_train, year[n_days - 1]);

    tg_rng r;
    tg_rng_seed(&r, 7);
    tg_jordan *tf = train(true, n_train, &r);
    tg_jordan *fr = train(false, n_train, &r);

    /* a reference without feedback: each weekday's mean over the training years */
    double wmean[7] = {0}, cnt[7] = {0}, se = 0;
    for (int i = 0; i < n_train; i++) wmean[dow[i]] += births[i], cnt[dow[i]]++;
    for (int w = 0; w < 7; w++) wmean[w] /= cnt[w];
    for (int i = n_train; i < n_days; i++) se += pow(births[i] - wmean[dow[i]], 2);

    double test_mean = 0;
    for (int i = n_train; i < n_days; i++) test_mean += births[i] / (n_days - n_train);
    printf("\ntest error, RMSE in births per day (the test years average %.0f a day)\n\n",
           test_mean);
    printf("%-34s %14s %14s\n", "fed back during the test", "trained: TF", "trained: free");
    printf("%-34s %14.0f %14.0f\n", "the truth (one step ahead)",
           evaluate(tf, n_train, n_days, n_days - n_train, true, NULL),
           evaluate(fr, n_train, n_days, n_days - n_train, true, NULL));
    int lens[] = {7, 28, 91, 365};
    for (int k = 0; k < 4; k++) {
        char what[64];
        snprintf(what, sizeof what, "its own outputs, %d-day runs", lens[k]);
        printf("%-34s %14.0f %14.0f\n", what, evaluate(tf, n_train, n_days, lens[k], false, NULL),
               evaluate(fr, n_train, n_days, lens[k], false, NULL));
    }
    printf("%-34s %14.0f\n", "(no feedback: weekday means)", sqrt(se / (n_days - n_train)));

    double xs[SHOW], truth[SHOW], ptf[SHOW], pfr[SHOW];
    evaluate(tf, n_train, n_train + SHOW, SHOW, false, ptf);
    evaluate(fr, n_train, n_train + SHOW, SHOW, false, pfr);
    FILE *csv = fopen("teacher_forcing.csv", "w");
    if (!csv) return perror("teacher_forcing.csv"), 1;
    fprintf(csv, "day,births,teacher_forced_net_free,free_running_net_free\n");
    for (int s = 0; s < SHOW; s++) {
        xs[s] = s + 1, truth[s] = births[n_train + s];
        fprintf(csv, "%d,%.0f,%.1f,%.1f\n", s + 1, truth[s], ptf[s], pfr[s]);
    }
    fclose(csv);
    chart_series series[3] = {
        {"births", truth}, {"trained TF, run free", ptf}, {"trained free, run free", pfr}};
    chart c = {.title = "US births per day, first 13 weeks of 1985",
               .xlabel = "day",
               .ylabel = "births",
               .x = xs,
               .n = SHOW,
               .series = series,
               .n_series = 3};
    if (chart_svg("teacher_forcing.svg", &c) != 0) return perror("teacher_forcing.svg"), 1;
    printf("\nwrote teacher_forcing.csv and teacher_forcing.svg\n");
    tg_module_free(&tf->base);
    tg_module_free(&fr->base);
    return 0;
}
