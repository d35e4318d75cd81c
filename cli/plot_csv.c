/* tapegrad plot: reading train's CSV logs (and any CSV with a step column
 * and some of the columns below). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h" /* cli_read_file, cli_fail */
#include "plot.h"

/* One row per drawn column: the header name it is read from, its label. */
static const struct {
    const char *name, *label;
} COLS[CLI_PLOT_NCOLS] = {
    [CLI_PLOT_TRAIN] = {"train_loss", "training loss"},
    [CLI_PLOT_VALID] = {"valid_loss", "validation loss"},
    [CLI_PLOT_LR] = {"lr", "learning rate"},
    [CLI_PLOT_ACCURACY] = {"valid_accuracy", "validation accuracy"},
    [CLI_PLOT_BPC] = {"valid_bpc", "validation bits per character"},
};

const char *cli_plot_col_name(cli_plot_col c) {
    return COLS[c].name;
}

const char *cli_plot_col_label(cli_plot_col c) {
    return COLS[c].label;
}

enum { MAX_FIELDS = 64 };

/* Splits line [p, end) at commas into f (NUL-terminating each field in
 * place, a trailing \r dropped). Returns the field count, or -1 if more
 * than MAX_FIELDS. */
static int split(char *p, char *end, char **f) {
    if (end > p && end[-1] == '\r') end--;
    *end = '\0';
    int n = 0;
    for (;;) {
        if (n == MAX_FIELDS) return -1;
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) return n;
        *c = '\0', p = c + 1;
    }
}

/* Which drawn column (or step, -2) header field h names; -1 for others. */
static int column_of(const char *h) {
    if (!strcmp(h, "step")) return -2;
    for (int c = 0; c < CLI_PLOT_NCOLS; c++)
        if (!strcmp(h, COLS[c].name)) return c;
    return -1;
}

static int grow(cli_plot_log *log, int64_t *cap) {
    int64_t n = *cap ? 2 * *cap : 1024;
    double **arrays[1 + CLI_PLOT_NCOLS] = {&log->step};
    for (int c = 0; c < CLI_PLOT_NCOLS; c++) arrays[1 + c] = &log->col[c];
    for (int a = 0; a < 1 + CLI_PLOT_NCOLS; a++) {
        if (a > 0 && !*arrays[a]) continue; /* an absent column stays NULL */
        double *p = realloc(*arrays[a], (size_t)n * sizeof *p);
        if (!p) return -1;
        *arrays[a] = p;
    }
    *cap = n;
    return 0;
}

/* A cell: empty (or nan/inf) is a missing value; anything but a number is
 * an error. */
static int cell(const char *s, double *v) {
    if (!*s) {
        *v = NAN;
        return 0;
    }
    char *end;
    *v = strtod(s, &end);
    if (end == s || *end) return -1;
    if (!isfinite(*v)) *v = NAN;
    return 0;
}

/* The rows after the header (text from p on, line numbers from `line`);
 * map[k] is the drawn column of field k (-2 step, -1 none). */
static int read_rows(const char *path, char *p, char *end, int line, const int *map, int nf,
                     cli_plot_log *log, char *err, size_t errlen) {
    int64_t cap = 0;
    char *f[MAX_FIELDS];
    for (; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end, *next = eol + 1;
        if (eol == p || (eol == p + 1 && *p == '\r')) { /* blank lines (a trailing one) */
            p = next;
            continue;
        }
        int n = split(p, eol, f);
        if (n != nf)
            return cli_fail(err, errlen, "%s:%d: %d fields, but the header names %d", path, line,
                            n < 0 ? MAX_FIELDS + 1 : n, nf);
        if (log->n == cap && grow(log, &cap))
            return cli_fail(err, errlen, "%s: out of memory", path);
        for (int k = 0; k < nf; k++) {
            double v;
            if (map[k] == -1) continue;
            if (cell(f[k], &v))
                return cli_fail(err, errlen, "%s:%d: %s: '%.40s' is not a number", path, line,
                                map[k] == -2 ? "step" : COLS[map[k]].name, f[k]);
            if (map[k] == -2 && isnan(v))
                return cli_fail(err, errlen, "%s:%d: step: a number is needed, got '%.40s'", path,
                                line, f[k]);
            *(map[k] == -2 ? &log->step[log->n] : &log->col[map[k]][log->n]) = v;
        }
        log->n++;
        p = next;
    }
    if (!log->n) return cli_fail(err, errlen, "%s: no rows after the header", path);
    return 0;
}

int cli_plot_read(const char *path, cli_plot_log *log, char *err, size_t errlen) {
    *log = (cli_plot_log){0};
    int64_t len;
    char *text = cli_read_file(path, &len, err, errlen);
    if (!text) return -1;
    int rc = -1, map[MAX_FIELDS], nf;
    char *f[MAX_FIELDS], *end = text + len, *nl = memchr(text, '\n', (size_t)len);
    bool has_step = false, has_loss = false;
    log->name = strdup(path);
    if (!log->name) {
        cli_fail(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if (!len) {
        cli_fail(err, errlen, "%s: empty (a CSV log starts with a header line)", path);
        goto done;
    }
    if ((nf = split(text, nl ? nl : end, f)) < 0) {
        cli_fail(err, errlen, "%s:1: more than %d columns", path, MAX_FIELDS);
        goto done;
    }
    for (int k = 0; k < nf; k++) {
        map[k] = column_of(f[k]);
        for (int j = 0; j < k; j++)
            if (map[k] != -1 && map[j] == map[k]) {
                cli_fail(err, errlen, "%s:1: column '%s' named twice", path, f[k]);
                goto done;
            }
        has_step |= map[k] == -2;
        has_loss |= map[k] == CLI_PLOT_TRAIN || map[k] == CLI_PLOT_VALID;
        if (map[k] >= 0) log->col[map[k]] = malloc(1); /* present: grow() sizes it */
        if (map[k] >= 0 && !log->col[map[k]]) {
            cli_fail(err, errlen, "%s: out of memory", path);
            goto done;
        }
    }
    if (!has_step || !has_loss) {
        cli_fail(err, errlen,
                 "%s:1: the header needs a 'step' column and 'train_loss' or 'valid_loss' "
                 "(tapegrad train's log: step,train_loss,valid_loss,lr,grad_norm,...)",
                 path);
        goto done;
    }
    rc = nl ? read_rows(path, nl + 1, end, 2, map, nf, log, err, errlen)
            : cli_fail(err, errlen, "%s: no rows after the header", path);
done:
    free(text);
    if (rc) cli_plot_log_free(log);
    return rc;
}

void cli_plot_log_free(cli_plot_log *log) {
    free(log->name);
    free(log->step);
    for (int c = 0; c < CLI_PLOT_NCOLS; c++) free(log->col[c]);
    *log = (cli_plot_log){0};
}
