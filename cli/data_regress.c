/* regress data: CSV, one row per time step: input.size input values, then
 * the model's outputs' worth of target values, separated by commas. A
 * first row that is not all numbers is a header and skipped; lines
 * starting with '#' are comments; a blank line ends one series and starts
 * another (independent sequences). Each series is cut into windows of
 * seq_len rows (the last may be shorter); a pooled model's target is the
 * target of a window's last row. The last valid_fraction of the rows is
 * held out (windows never straddle the split). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_words.h"

/* Windows of at most K rows over rows [a, b). */
static int windows(cli_data *d, int64_t a, int64_t b, int64_t K, int64_t *cap) {
    for (int64_t r = a; r < b; r += K) {
        if (d->n_seqs == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            cli_seq *q = realloc(d->seqs, (size_t)*cap * sizeof *q);
            if (!q) return -1;
            d->seqs = q;
        }
        d->seqs[d->n_seqs++] = (cli_seq){.off = r, .len = b - r < K ? b - r : K};
    }
    return 0;
}

/* The rows as they are read: the first row of each series. */
typedef struct series {
    int64_t *starts, n, cap;
    int64_t cap_rows; /* room in d->x and d->y */
} series;

/* Appends a row of W = I + O values, starting a series after a gap. */
static int add_row(cli_data *d, series *sr, const double *vals, bool gap) {
    int64_t I = d->in_size, O = d->out_size;
    if (d->n_rows == sr->cap_rows) {
        sr->cap_rows = sr->cap_rows ? 2 * sr->cap_rows : 1024;
        double *x = realloc(d->x, (size_t)(sr->cap_rows * I) * sizeof *x);
        if (x) d->x = x;
        double *y = realloc(d->y, (size_t)(sr->cap_rows * O) * sizeof *y);
        if (y) d->y = y;
        if (!x || !y) return -1;
    }
    memcpy(d->x + d->n_rows * I, vals, (size_t)I * sizeof *vals);
    memcpy(d->y + d->n_rows * O, vals + I, (size_t)O * sizeof *vals);
    if (gap) {
        if (sr->n == sr->cap) {
            sr->cap = sr->cap ? 2 * sr->cap : 64;
            int64_t *q = realloc(sr->starts, (size_t)sr->cap * sizeof *q);
            if (!q) return -1;
            sr->starts = q;
        }
        sr->starts[sr->n++] = d->n_rows;
    }
    d->n_rows++;
    return 0;
}

/* Every row of numbers of text into d->x and d->y, series by series. */
static int read_rows(cli_data *d, char *text, int64_t len, series *sr, char *err, size_t errlen) {
    int64_t I = d->in_size, O = d->out_size, W = I + O;
    double *vals = malloc((size_t)W * sizeof *vals);
    if (!vals) return snprintf(err, errlen, "%s: out of memory", d->path), -1;
    int rc = -1;
    bool first = true, gap = true;
    char *p = text, *end = text + len;
    for (int64_t line = 0; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end, *row = p;
        p = eol + 1;
        if (cli_blank(row, eol)) {
            gap = true;
            continue;
        }
        if (*row == '#') continue; /* a comment */
        int64_t n = cli_csv_row(row, eol, vals, W);
        bool header = n < 0 && first;
        first = false;
        if (header) continue;
        if (n != W) {
            if (n < 0)
                snprintf(err, errlen, "%s:%lld: expected numbers separated by commas", d->path,
                         (long long)line + 1);
            else
                snprintf(err, errlen,
                         "%s:%lld: expected %lld values (%lld inputs, %lld targets), found %lld",
                         d->path, (long long)line + 1, (long long)W, (long long)I, (long long)O,
                         (long long)n);
            goto done;
        }
        if (add_row(d, sr, vals, gap)) goto oom;
        gap = false;
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "%s: out of memory", d->path);
done:
    free(vals);
    return rc;
}

/* Training windows, then held-out ones: a series is cut at the split. */
static int cut_windows(cli_data *d, const series *sr, int64_t split, int64_t K) {
    int64_t cap = 0;
    for (int part = 0; part < 2; part++) {
        for (int64_t k = 0; k < sr->n; k++) {
            int64_t a = sr->starts[k], b = k + 1 < sr->n ? sr->starts[k + 1] : d->n_rows;
            if (part == 0 && b > split) b = split;
            if (part == 1 && a < split) a = split;
            if (a < b && windows(d, a, b, K, &cap)) return -1;
        }
        if (part == 0) d->n_train = d->n_seqs;
    }
    return 0;
}

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    (void)known; /* numbers have no vocabulary */
    series sr = {0};
    d->in_size = s->input_size, d->out_size = s->output_size;
    int rc = read_rows(d, text, len, &sr, err, errlen);
    if (!rc && !d->n_rows) {
        snprintf(err, errlen, "%s: no rows of numbers", d->path);
        rc = -1;
    }
    if (!rc && cut_windows(d, &sr, cli_split(d->n_rows, valid_fraction), s->train.seq_len)) {
        snprintf(err, errlen, "%s: out of memory", d->path);
        rc = -1;
    }
    free(sr.starts);
    return rc;
}

const cli_reader cli_regress_reader = {.task = TG_TASK_REGRESS, .load = load};
