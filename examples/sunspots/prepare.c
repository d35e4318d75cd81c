/* Turns the yearly sunspot numbers into training data for tapegrad train.
 *
 *   prepare SUNSPOTS_CSV SPEC OUT.csv [H]
 *
 * The series (1700-2008, statsmodels' sunspots.csv) is split by time: the
 * last 30 years (1979-2008) are the test years, the 30 before them
 * (1949-1978) the validation years, and the model trains on targets up to
 * 1948. Each CSV row is one step: the input is this year's number (as
 * sunspots.h transforms it: square root / 10), the target next year's. A series of W rows (W = the
 * spec's train.seq_len) is written for every year that can end one, separated by blank lines: all
 * the training windows (targets up to 1948), then the validation windows (targets 1949-1978), so
 * the spec's valid_fraction must hold out exactly the latter; prepare checks it and prints the
 * value needed if not.
 *
 * With H (default 1), the input of each row is the number H years before
 * its target instead: a model that forecasts H years ahead directly, in one
 * step, rather than by feeding its own one-year forecasts back H times. */
#include <stdio.h>
#include <stdlib.h>

#include "sunspots.h"
#include "tapegrad.h"

#define TEST_YEARS 30
#define VALID_YEARS 30

int main(int argc, char **argv) {
    int h = argc == 5 ? atoi(argv[4]) : 1;
    if (argc < 4 || argc > 5 || h < 1 || h > 20) {
        fprintf(stderr, "usage: prepare SUNSPOTS_CSV SPEC OUT.csv [H (1..20)]\n");
        return 2;
    }
    ss_series s;
    if (ss_load(&s, argv[1]) != 0) return 1;
    char err[512];
    tg_spec *spec = tg_spec_load(argv[2], err, sizeof err);
    if (!spec) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int W = (int)spec->train.seq_len;
    int valid_end = s.n - TEST_YEARS, train_end = valid_end - VALID_YEARS; /* exclusive */
    int first = W + h - 1; /* the first target with W inputs before it */
    int n_train = train_end - first, n_valid = VALID_YEARS;
    if (n_train < 1) {
        fprintf(stderr, "prepare: seq_len %d leaves no training windows\n", W);
        return 2;
    }
    double need = (double)n_valid / (n_train + n_valid);
    int64_t rows = (int64_t)(n_train + n_valid) * W;
    int64_t held = (int64_t)((double)rows * spec->train.valid_fraction + 0.5);
    if (held != (int64_t)n_valid * W) {
        fprintf(stderr,
                "%s: train.valid_fraction must hold out the %d validation windows: "
                "use %.6f (seq_len %d)\n",
                argv[2], n_valid, need, W);
        return 2;
    }
    FILE *f = fopen(argv[3], "w");
    if (!f) {
        fprintf(stderr, "prepare: cannot write %s\n", argv[3]);
        return 1;
    }
    fprintf(f,
            "# sqrt(sunspots)/10 of year t-%d -> of year t; %d-year windows; training targets "
            "%d-%d, validation targets %d-%d\n",
            h, W, s.first_year + first - W + 1, s.first_year + train_end - 1,
            s.first_year + train_end, s.first_year + valid_end - 1);
    ss_write_windows(f, &s, W, first, valid_end, h);
    if (fclose(f) != 0) return 1;
    printf("wrote %s: %d training and %d validation windows of %d years (valid_fraction %.6f)\n",
           argv[3], n_train, n_valid, W, need);
    tg_spec_free(spec);
    return 0;
}
