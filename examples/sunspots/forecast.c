/* Forecasts the test years with a model trained by tapegrad train, and the
 * baselines, and draws them.
 *
 *   forecast SUNSPOTS_CSV SPEC CKPT [OUT.svg [DIRECT_SPEC DIRECT_CKPT]]
 *
 * The model (spec + checkpoint, loaded through the library) reads the
 * seq_len years before a target year, as it was trained, and its output at
 * the last step is the forecast. One step ahead, the window is all actual
 * numbers; ten steps ahead (forecast made ten years before the target
 * year), each prediction is fed back as the next input, so the last ten
 * inputs are the model's own. The same for a linear AR(p) model (least
 * squares on the training years; p from 1 to 12 picked on the validation
 * years), for persistence (next year = this year; ten ahead: the year ten
 * before) and for the mean of the training years. Prints the RMSE of
 * each over the 30 test years (1979-2008) and over the validation years,
 * and draws actual against predicted (1949-2008) as an SVG line chart.
 *
 * DIRECT_SPEC and DIRECT_CKPT: a second model trained to forecast ten years
 * ahead directly (prepare ... 10: each input is the number ten years before
 * its target), which reads the W actual years up to the forecast's year
 * and answers in one step, nothing fed back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../langid/ckpt.h"
#include "sunspots.h"
#include "tapegrad.h"

#define TEST_YEARS 30
#define VALID_YEARS 30
#define HORIZON 10

int main(int argc, char **argv) {
    if (argc < 4 || argc == 6 || argc > 7) {
        fprintf(stderr,
                "usage: forecast SUNSPOTS_CSV SPEC CKPT [OUT.svg [DIRECT_SPEC DIRECT_CKPT]]\n");
        return 2;
    }
    ss_series s;
    if (ss_load(&s, argv[1]) != 0) return 1;
    char err[1024];
    ex_ckpt c;
    if (ex_ckpt_open(&c, argv[2], argv[3], err, sizeof err) != 0) {
        fprintf(stderr, "forecast: %s\n", err);
        return 1;
    }
    int W = (int)c.spec->train.seq_len;
    int test0 = s.n - TEST_YEARS, valid0 = test0 - VALID_YEARS;
    /* targets: validation then test years */
    int targets[VALID_YEARS + TEST_YEARS], n = VALID_YEARS + TEST_YEARS;
    double actual[VALID_YEARS + TEST_YEARS];
    for (int i = 0; i < n; i++) targets[i] = valid0 + i, actual[i] = s.v[valid0 + i];

    /* AR(p): fitted on targets before valid0, p chosen on the validation years */
    ss_ar ar = {0};
    double best = INFINITY;
    for (int p = 1; p <= 12; p++) {
        ss_ar m;
        if (ss_ar_fit(&m, s.v, 0, valid0, p) != 0) continue;
        double pr[VALID_YEARS];
        for (int i = 0; i < VALID_YEARS; i++) pr[i] = ss_ar_forecast(&m, s.v, targets[i] - 1, 1);
        double e = ss_rmse(pr, actual, VALID_YEARS);
        if (e < best) best = e, ar = m;
    }
    static const int hs[2] = {1, HORIZON};
    double pred[5][2][VALID_YEARS + TEST_YEARS]; /* [mean, persistence, AR, model, direct][h] */
    double mean = 0;
    for (int t = 0; t < valid0; t++) mean += s.v[t] / valid0;
    tg_tape *tape = tg_tape_new();
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < n; i++) {
            pred[0][k][i] = mean;
            pred[1][k][i] = s.v[targets[i] - hs[k]];
            pred[2][k][i] = ss_ar_forecast(&ar, s.v, targets[i] - hs[k], hs[k]);
        }
        if (ss_model_forecast(tape, c.model, W, &s, targets, n, hs[k], pred[3][k]) != 0) return 1;
    }
    int n_models = 4;
    if (argc == 7) { /* the direct model: one step from the year HORIZON before each target */
        ex_ckpt d;
        if (ex_ckpt_open(&d, argv[5], argv[6], err, sizeof err) != 0) {
            fprintf(stderr, "forecast: %s\n", err);
            return 1;
        }
        int from[VALID_YEARS + TEST_YEARS];
        for (int i = 0; i < n; i++) from[i] = targets[i] - HORIZON + 1, pred[4][0][i] = NAN;
        if (ss_model_forecast(tape, d.model, (int)d.spec->train.seq_len, &s, from, n, 1,
                              pred[4][1]) != 0)
            return 1;
        ex_ckpt_close(&d);
        n_models = 5;
    }
    char arname[32];
    snprintf(arname, sizeof arname, "linear AR(%d)", ar.p);
    const char *names[5] = {"mean of the training years", "persistence", arname,
                            "LSTM (tapegrad train)", "LSTM, direct 10 ahead"};
    printf("RMSE (sunspot numbers)       validation %d-%d      test %d-%d\n", s.first_year + valid0,
           s.first_year + test0 - 1, s.first_year + test0, s.first_year + s.n - 1);
    printf("%-26s %9s %9s   %9s %9s\n", "", "1 ahead", "10 ahead", "1 ahead", "10 ahead");
    for (int m = 0; m < n_models; m++) {
        printf("%-26s", names[m]);
        for (int part = 0; part < 2; part++)
            for (int k = 0; k < 2; k++) {
                double e = part
                               ? ss_rmse(pred[m][k] + VALID_YEARS, actual + VALID_YEARS, TEST_YEARS)
                               : ss_rmse(pred[m][k], actual, VALID_YEARS);
                const char *sep = k ? " " : part ? "   " : " ";
                if (isnan(e))
                    printf("%s%9s", sep, "-"); /* the direct model has no 1-ahead forecast */
                else
                    printf("%s%9.1f", sep, e);
            }
        printf("\n");
    }
    if (argc >= 5) {
        double years[VALID_YEARS + TEST_YEARS];
        for (int i = 0; i < n; i++) years[i] = s.first_year + targets[i];
        ss_line lines[] = {
            {"actual", "#222222", actual, false},
            {"LSTM, 1 year ahead", "#d62728", pred[3][0], false},
            {"LSTM, 10 years ahead", "#d62728", pred[3][1], true},
            {"AR, 1 year ahead", "#1f77b4", pred[2][0], false},
            {"AR, 10 years ahead", "#1f77b4", pred[2][1], true},
            {"LSTM, direct 10 ahead", "#2ca02c", pred[4][1], true},
        };
        char title[128];
        snprintf(title, sizeof title, "Yearly sunspot numbers: actual and forecast (%d-%d)",
                 (int)years[0], (int)years[n - 1]);
        if (ss_chart_svg(argv[4], title, years, n, lines, n_models == 5 ? 6 : 5,
                         s.first_year + test0 - 0.5, years[n - 1]) != 0) {
            fprintf(stderr, "forecast: cannot write %s\n", argv[4]);
            return 1;
        }
        printf("wrote %s\n", argv[4]);
    }
    tg_tape_free(tape);
    ex_ckpt_close(&c);
    return 0;
}
