/* Yearly sunspot numbers: the series, the windows tapegrad trains on, the
 * baselines (persistence and a linear autoregressive model fitted by least
 * squares), the forecast error, the trained model's forecasts and an SVG
 * line chart. Header-only (static inline), shared by prepare.c, forecast.c
 * and tests/examples/test_sunspots.c. */
#ifndef SUNSPOTS_H
#define SUNSPOTS_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

#define SS_MAX_YEARS 1000
/* What the network sees: the square root of the sunspot number, over 10
 * (0 to about 1.4). The square root evens out the cycles' sharp peaks and
 * flat troughs (the usual transform for this series); forecasts are
 * squared back. */
static inline double ss_to_net(double v) {
    return sqrt(v > 0 ? v : 0) / 10;
}
static inline double ss_from_net(double y) {
    return y > 0 ? 100 * y * y : 0;
}
#define SS_MAX_P 16

typedef struct ss_series {
    int first_year, n;
    double v[SS_MAX_YEARS];
} ss_series;

/* Reads statsmodels' sunspots.csv ("YEAR","SUNACTIVITY" then rows
 * 1700,5 ...); the years must follow one another. -1 with a message. */
static inline int ss_load(ss_series *s, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sunspots: cannot read %s\n", path);
        return -1;
    }
    char line[256];
    s->n = 0;
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        double year, value;
        if (sscanf(line, "%lf,%lf", &year, &value) != 2) {
            if (lineno == 1) continue; /* the header */
            fprintf(stderr, "%s:%d: expected YEAR,VALUE\n", path, lineno);
            rc = -1;
            break;
        }
        if (s->n == 0) s->first_year = (int)year;
        if ((int)year != s->first_year + s->n || s->n == SS_MAX_YEARS) {
            fprintf(stderr, "%s:%d: year %g out of sequence\n", path, lineno, year);
            rc = -1;
            break;
        }
        s->v[s->n++] = value;
    }
    fclose(f);
    if (rc == 0 && s->n < 50) {
        fprintf(stderr, "%s: only %d years\n", path, s->n);
        rc = -1;
    }
    return rc;
}

static inline int ss_index(const ss_series *s, int year) {
    return year - s->first_year;
}

/* ---- a linear autoregressive model: x_t = c + sum_k a_k x_{t-k} ------------ */
typedef struct ss_ar {
    int p;
    double c, a[SS_MAX_P + 1]; /* a[1..p] */
} ss_ar;

/* Least squares on the targets x_t, t in [lo, hi) (t >= p), by the normal
 * equations (p+1 unknowns: tiny), solved by Gaussian elimination with
 * partial pivoting. Returns 0, or -1 if they are singular. */
static inline int ss_ar_fit(ss_ar *m, const double *x, int lo, int hi, int p) {
    enum { N = SS_MAX_P + 1 };
    double A[N][N + 1] = {{0}};
    int k = p + 1;
    if (lo < p) lo = p;
    for (int t = lo; t < hi; t++) {
        double row[N];
        row[0] = 1;
        for (int j = 1; j <= p; j++) row[j] = x[t - j];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) A[i][j] += row[i] * row[j];
            A[i][k] += row[i] * x[t];
        }
    }
    for (int col = 0; col < k; col++) {
        int piv = col;
        for (int r = col + 1; r < k; r++)
            if (fabs(A[r][col]) > fabs(A[piv][col])) piv = r;
        if (fabs(A[piv][col]) < 1e-12) return -1;
        for (int j = 0; j <= k; j++) {
            double tmp = A[col][j];
            A[col][j] = A[piv][j], A[piv][j] = tmp;
        }
        for (int r = 0; r < k; r++) {
            if (r == col) continue;
            double f = A[r][col] / A[col][col];
            for (int j = col; j <= k; j++) A[r][j] -= f * A[col][j];
        }
    }
    m->p = p;
    m->c = A[0][k] / A[0][0];
    for (int j = 1; j <= p; j++) m->a[j] = A[j][k] / A[j][j];
    return 0;
}

/* The forecast of x_{o+h} from x_0..x_o (h >= 1), feeding predictions back. */
static inline double ss_ar_forecast(const ss_ar *m, const double *x, int o, int h) {
    double buf[SS_MAX_YEARS + 64];
    for (int t = 0; t <= o; t++) buf[t] = x[t];
    for (int t = o + 1; t <= o + h; t++) {
        double y = m->c;
        for (int j = 1; j <= m->p; j++) y += m->a[j] * buf[t - j];
        buf[t] = y;
    }
    return buf[o + h];
}

/* Root mean squared error of pred against actual over n values. */
static inline double ss_rmse(const double *pred, const double *actual, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (pred[i] - actual[i]) * (pred[i] - actual[i]);
    return sqrt(s / n);
}

/* ---- the training windows ------------------------------------------------------
 * Writes, for each target index end in [first, last), a series of W CSV
 * rows "x_{t-h},x_t" (t = end-W+1 .. end, transformed by ss_to_net): h = 1
 * predicts next year, h = 10 the year ten ahead directly. Series are
 * separated by blank lines: what tapegrad train reads for regress.
 * first >= W + h - 1. */
static inline void ss_write_windows(FILE *f, const ss_series *s, int W, int first, int last,
                                    int h) {
    for (int end = first; end < last; end++) {
        if (end > first) fputc('\n', f);
        for (int t = end - W + 1; t <= end; t++)
            fprintf(f, "%.4f,%.4f\n", ss_to_net(s->v[t - h]), ss_to_net(s->v[t]));
    }
}

/* ---- the trained model's forecasts ------------------------------------------
 * pred[i] = the model's forecast of s->v[targets[i]] from the actual
 * numbers up to targets[i] - h: it reads the W years before, as in
 * training, and its output at the last step is the next year; for h > 1
 * that prediction is appended to the window (the oldest year dropped) and
 * fed back, h times. Returns 0, or -1 after a message. */
static inline int ss_model_forecast(tg_tape *t, tg_model *m, int W, const ss_series *s,
                                    const int *targets, int n, int h, double *pred) {
    double *win = malloc((size_t)(n * W) * sizeof *win); /* [n][W] windows, scaled */
    tg_real *buf = malloc((size_t)(n * W) * sizeof *buf);
    if (!win || !buf) {
        free(win);
        free(buf);
        return -1;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < W; k++) win[i * W + k] = ss_to_net(s->v[targets[i] - h - W + 1 + k]);
    for (int step = 0; step < h; step++) {
        for (int k = 0; k < W; k++) /* [T, B, 1] */
            for (int i = 0; i < n; i++) buf[k * n + i] = (tg_real)win[i * W + k];
        tg_tape_reset(t);
        tg_model_batch b = {.T = W, .B = n, .x = tg_from_array(t, TG_SHAPE(W, n, 1), buf)};
        tg_model_output out;
        if (tg_model_forward(t, m, &b, NULL, &out) != 0) {
            fprintf(stderr, "sunspots: %s\n", tg_tape_error(t));
            free(win);
            free(buf);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            double y = tg_at(out.output, (int64_t)(W - 1) * n + i);
            memmove(win + i * W, win + i * W + 1, (size_t)(W - 1) * sizeof *win);
            win[i * W + W - 1] = y;
            pred[i] = ss_from_net(y);
        }
    }
    free(win);
    free(buf);
    return 0;
}

/* ---- a line chart as a standalone SVG file ---------------------------------
 * Series share the x values (years); NAN values are gaps. A shaded band
 * marks [band_lo, band_hi] (the test years). */
typedef struct ss_line {
    const char *name, *color;
    const double *y;
    bool dashed;
} ss_line;

static inline int ss_chart_svg(const char *path, const char *title, const double *x, int n,
                               const ss_line *lines, int n_lines, double band_lo, double band_hi) {
    const double W = 860, H = 420, L = 60, R = 200, T = 40, B = 46;
    double x0 = x[0], x1 = x[n - 1], y0 = 0, y1 = 0;
    for (int s = 0; s < n_lines; s++)
        for (int i = 0; i < n; i++)
            if (isfinite(lines[s].y[i])) y1 = fmax(y1, lines[s].y[i]), y0 = fmin(y0, lines[s].y[i]);
    double step = y1 - y0 > 150 ? 50 : y1 - y0 > 60 ? 20 : 10;
    y0 = floor(y0 / step) * step, y1 = ceil(y1 / step) * step;
    if (y1 <= y0) y1 = y0 + step;
    if (x1 <= x0) x1 = x0 + 1;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
#define SS_PX(v) (L + ((v)-x0) / (x1 - x0) * (W - L - R))
#define SS_PY(v) (H - B - ((v)-y0) / (y1 - y0) * (H - T - B))
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
            "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%g\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
            W, H, (L + W - R) / 2, title);
    if (band_hi > band_lo)
        fprintf(
            f,
            "<rect x=\"%.1f\" y=\"%g\" width=\"%.1f\" height=\"%g\" fill=\"#f2f2f2\"/>\n"
            "<text x=\"%.1f\" y=\"%g\" fill=\"#777\" text-anchor=\"middle\">test years</text>\n",
            SS_PX(band_lo), T, SS_PX(band_hi) - SS_PX(band_lo), H - T - B,
            (SS_PX(band_lo) + SS_PX(band_hi)) / 2, T + 14);
    for (double v = y0; v <= y1 + 1e-9; v += step)
        fprintf(f,
                "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                L, W - R, SS_PY(v), SS_PY(v), L - 6, SS_PY(v) + 4, v);
    double xstep = x1 - x0 > 100 ? 20 : x1 - x0 > 40 ? 10 : 5;
    for (double v = ceil(x0 / xstep) * xstep; v <= x1; v += xstep)
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n", SS_PX(v),
                H - B + 18, v);
    fprintf(f,
            "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"#333\"/>\n"
            "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">year</text>\n"
            "<text x=\"16\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 16 %g)\">"
            "sunspot number</text>\n",
            L, W - R, H - B, H - B, (L + W - R) / 2, H - 8, (T + H - B) / 2, (T + H - B) / 2);
    for (int s = 0; s < n_lines; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"",
                lines[s].color, s == 0 ? "2.2" : "1.6",
                lines[s].dashed ? " stroke-dasharray=\"5,3\"" : "");
        bool open = false;
        for (int i = 0; i < n; i++) {
            if (!isfinite(lines[s].y[i])) {
                if (open)
                    fprintf(f,
                            "\"/>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s "
                            "points=\"",
                            lines[s].color, lines[s].dashed ? " stroke-dasharray=\"5,3\"" : "");
                open = false;
                continue;
            }
            fprintf(f, "%.1f,%.1f ", SS_PX(x[i]), SS_PY(lines[s].y[i]));
            open = true;
        }
        fprintf(f, "\"/>\n");
        double ly = T + 20 + 20 * s;
        fprintf(f,
                "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                "<text x=\"%g\" y=\"%g\">%s</text>\n",
                W - R + 14, W - R + 40, ly, ly, lines[s].color,
                lines[s].dashed ? " stroke-dasharray=\"5,3\"" : "", W - R + 46, ly + 4,
                lines[s].name);
    }
#undef SS_PX
#undef SS_PY
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

#endif
