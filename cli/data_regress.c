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

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    (void)known; /* numbers have no vocabulary */
    int64_t I = s->input_size, O = s->output_size, W = I + O, cap_rows = 0;
    int64_t *starts = NULL, n_starts = 0, cap_starts = 0; /* first row of each series */
    double *vals = malloc((size_t)W * sizeof *vals);
    int rc = -1;
    bool first = true, gap = true;
    d->in_size = I, d->out_size = O;
    if (!vals) goto oom;
    int64_t line = 0;
    for (char *p = text, *end = text + len; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        char *next = eol + 1;
        if (cli_blank(p, eol)) {
            gap = true;
        } else if (*p != '#') {
            int64_t n = cli_csv_row(p, eol, vals, W);
            if (n < 0 && first) { /* a header */
                first = false;
                p = next;
                continue;
            }
            first = false;
            if (n != W) {
                if (n < 0)
                    snprintf(err, errlen, "%s:%lld: expected numbers separated by commas", d->path,
                             (long long)line + 1);
                else
                    snprintf(
                        err, errlen,
                        "%s:%lld: expected %lld values (%lld inputs, %lld targets), found %lld",
                        d->path, (long long)line + 1, (long long)W, (long long)I, (long long)O,
                        (long long)n);
                goto done;
            }
            if (d->n_rows == cap_rows) {
                cap_rows = cap_rows ? 2 * cap_rows : 1024;
                double *x = realloc(d->x, (size_t)(cap_rows * I) * sizeof *x);
                if (x) d->x = x;
                double *y = realloc(d->y, (size_t)(cap_rows * O) * sizeof *y);
                if (y) d->y = y;
                if (!x || !y) goto oom;
            }
            memcpy(d->x + d->n_rows * I, vals, (size_t)I * sizeof *vals);
            memcpy(d->y + d->n_rows * O, vals + I, (size_t)O * sizeof *vals);
            if (gap) {
                if (n_starts == cap_starts) {
                    cap_starts = cap_starts ? 2 * cap_starts : 64;
                    int64_t *q = realloc(starts, (size_t)cap_starts * sizeof *q);
                    if (!q) goto oom;
                    starts = q;
                }
                starts[n_starts++] = d->n_rows;
                gap = false;
            }
            d->n_rows++;
        }
        p = next;
    }
    if (!d->n_rows) {
        snprintf(err, errlen, "%s: no rows of numbers", d->path);
        goto done;
    }
    int64_t split = cli_split(d->n_rows, valid_fraction), cap = 0, K = s->train.seq_len;
    for (int part = 0; part < 2; part++) { /* training windows, then held-out ones */
        for (int64_t k = 0; k < n_starts; k++) {
            int64_t a = starts[k], b = k + 1 < n_starts ? starts[k + 1] : d->n_rows;
            if (part == 0 && b > split) b = split;
            if (part == 1 && a < split) a = split;
            if (a < b && windows(d, a, b, K, &cap)) goto oom;
        }
        if (part == 0) d->n_train = d->n_seqs;
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "%s: out of memory", d->path);
done:
    free(vals);
    free(starts);
    return rc;
}

const cli_reader cli_regress_reader = {.task = TG_TASK_REGRESS, .load = load};
