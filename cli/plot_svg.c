/* tapegrad plot: the chart. A panel of loss against steps (training thin,
 * validation thick with dots) with the learning rate on a right-hand axis,
 * and a panel below for validation accuracy and for bits per character when
 * a log has them; a legend under them. Every series is a polyline whose
 * panel <g> carries its pixel box and value ranges (data-px, data-py,
 * data-x, data-y, data-y2), so a program can read the numbers back. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h" /* cli_fail */
#include "plot.h"
#include "../nn/svg_file.h"

enum { W = 900, ML = 78, MR = 86, MT = 44, MAIN_H = 320, SUB_H = 150, GAP = 44, ROW = 20 };
enum { MAX_POINTS = 1500 }; /* more rows than this are averaged in buckets */

static const char *const PALETTE[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
enum { N_PALETTE = sizeof PALETTE / sizeof *PALETTE };

/* How each column is drawn: its panel (0 the loss panel), its axis there,
 * line width, dashes, dots at the points, opacity, its colour when one log
 * is drawn (several logs: the log's colour), and the scale of its axis. */
static const struct {
    int panel;
    bool right;
    double width;
    const char *dash;
    bool dots;
    double opacity;
    const char *colour;
    double scale;
    const char *axis; /* the label of the axis it is read on */
} STYLE[CLI_PLOT_NCOLS] = {
    [CLI_PLOT_TRAIN] = {0, false, 1.3, NULL, false, 0.75, "#1f77b4", 1, "loss"},
    [CLI_PLOT_VALID] = {0, false, 2.4, NULL, true, 1, "#d62728", 1, "loss"},
    [CLI_PLOT_LR] = {0, true, 1.4, "6 4", false, 0.9, "#7f7f7f", 1, "learning rate"},
    [CLI_PLOT_ACCURACY] = {1, false, 2.4, NULL, true, 1, "#2ca02c", 100, "accuracy (%)"},
    [CLI_PLOT_BPC] = {2, false, 2.4, NULL, true, 1, "#9467bd", 1, "bits per character"},
};
enum { N_PANELS = 3 };

typedef struct axis {
    double lo, hi, step;
} axis;

typedef struct panel {
    bool on, has_y2;
    double x0, x1, y0, y1; /* pixels (y0 the top) */
    axis y, y2;
} panel;

static double nice_step(double range, int ticks) {
    double raw = range / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
}

/* Bounds on multiples of a 1-2-2.5-5 step covering [lo, hi] in about
 * `ticks` intervals. */
static axis nice_axis(double lo, double hi, int ticks) {
    if (!(lo <= hi)) lo = 0, hi = 1;   /* no values at all */
    if (hi - lo <= 1e-12 * fabs(hi)) { /* one value: a band around it */
        double d = hi ? fabs(hi) * 0.5 : 1;
        lo -= d, hi += d;
        if (lo < 0 && hi - d >= 0) lo = 0;
    }
    axis a = {.step = nice_step(hi - lo, ticks)};
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    return a;
}

/* A tick's label: whole numbers as such (thousands as 'k'), others in
 * up to 4 significant digits. */
static const char *tick_label(double v, double step, char *buf, size_t n) {
    v = round(v / step) * step;
    if (fabs(v) < step * 1e-6) v = 0;
    if (step >= 1 && fabs(v) >= 10000 && fmod(v, 1000) == 0)
        snprintf(buf, n, "%.0fk", v / 1000);
    else if (step >= 1)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.4g", v);
    return buf;
}

static double px(const panel *p, const axis *x, double v) {
    return p->x0 + (v - x->lo) / (x->hi - x->lo) * (p->x1 - p->x0);
}

static double py(const panel *p, const axis *y, double v) {
    return p->y1 - (v - y->lo) / (y->hi - y->lo) * (p->y1 - p->y0);
}

/* The finite range of column c (scaled) over every log; false if none. */
static bool col_range(const cli_plot_log *logs, int n, int c, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int l = 0; l < n; l++)
        for (int64_t i = 0; logs[l].col[c] && i < logs[l].n; i++)
            if (!isnan(logs[l].col[c][i])) {
                double v = logs[l].col[c][i] * STYLE[c].scale;
                *lo = fmin(*lo, v), *hi = fmax(*hi, v);
            }
    return *lo <= *hi;
}

/* Panels and axes from the data; returns the y of the bottom panel's
 * bottom edge. */
static double layout(const cli_plot_log *logs, int n, panel *pn, axis *x, bool *drawn) {
    double xlo = INFINITY, xhi = -INFINITY, lo[N_PANELS][2], hi[N_PANELS][2];
    for (int l = 0; l < n; l++)
        for (int64_t i = 0; i < logs[l].n; i++)
            xlo = fmin(xlo, logs[l].step[i]), xhi = fmax(xhi, logs[l].step[i]);
    *x = nice_axis(xlo, xhi, 8);
    for (int k = 0; k < N_PANELS; k++)
        lo[k][0] = lo[k][1] = INFINITY, hi[k][0] = hi[k][1] = -INFINITY, pn[k] = (panel){0};
    for (int c = 0; c < CLI_PLOT_NCOLS; c++) {
        double a, b;
        drawn[c] = col_range(logs, n, c, &a, &b);
        if (!drawn[c]) continue;
        int k = STYLE[c].panel, r = STYLE[c].right;
        lo[k][r] = fmin(lo[k][r], a), hi[k][r] = fmax(hi[k][r], b);
        pn[k].on = true, pn[k].has_y2 |= r;
    }
    pn[0].on = true; /* the loss panel, even empty */
    double y = MT;
    for (int k = 0; k < N_PANELS; k++) {
        if (!pn[k].on) continue;
        if (y > MT) y += GAP;
        double h = k == 0 ? MAIN_H : SUB_H;
        pn[k].x0 = ML, pn[k].x1 = W - MR, pn[k].y0 = y, pn[k].y1 = y + h;
        pn[k].y = nice_axis(lo[k][0], hi[k][0], k == 0 ? 6 : 4);
        pn[k].y2 = nice_axis(lo[k][1], hi[k][1], k == 0 ? 6 : 4);
        y += h;
    }
    return y;
}

static void grid_and_axes(FILE *f, const panel *p, const axis *x, bool bottom, const char *ylabel) {
    char b[32];
    fprintf(f,
            "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#fcfcfc\" "
            "stroke=\"#999\"/>\n",
            p->x0, p->y0, p->x1 - p->x0, p->y1 - p->y0);
    for (double v = x->lo; v <= x->hi + x->step * 1e-6; v += x->step) {
        double X = px(p, x, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#e4e4e4\"/>\n", X,
                p->y0, X, p->y1);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", X, p->y1 + 16,
                tick_label(v, x->step, b, sizeof b));
    }
    for (double v = p->y.lo; v <= p->y.hi + p->y.step * 1e-6; v += p->y.step) {
        double Y = py(p, &p->y, v);
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                p->x0, Y, p->x1, Y);
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", p->x0 - 6, Y + 4,
                tick_label(v, p->y.step, b, sizeof b));
    }
    for (double v = p->y2.lo; p->has_y2 && v <= p->y2.hi + p->y2.step * 1e-6; v += p->y2.step)
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" fill=\"#555\">%s</text>\n", p->x1 + 6,
                py(p, &p->y2, v) + 4, tick_label(v, p->y2.step, b, sizeof b));
    double mid = (p->y0 + p->y1) / 2;
    fprintf(f,
            "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">%s</text>\n",
            mid, ylabel);
    if (p->has_y2)
        fprintf(f,
                "<text transform=\"translate(%d %.1f) rotate(90)\" text-anchor=\"middle\" "
                "font-size=\"13\" fill=\"#555\">%s</text>\n",
                W - 14, mid, STYLE[CLI_PLOT_LR].axis);
    if (bottom)
        fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\" font-size=\"13\">step</text>\n",
                (p->x0 + p->x1) / 2, p->y1 + 36);
}

static const char *colour(int n, int l, int c) {
    return n == 1 ? STYLE[c].colour : PALETTE[l % N_PALETTE];
}

/* The stroke attributes of column c of log l (of n); width and opacity
 * override the column's when > 0. */
static void stroke(FILE *f, int n, int l, int c, double width, double opacity) {
    fprintf(f, "fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" stroke-opacity=\"%g\"",
            colour(n, l, c), width > 0 ? width : STYLE[c].width,
            opacity > 0 ? opacity : STYLE[c].opacity);
    if (STYLE[c].dash) fprintf(f, " stroke-dasharray=\"%s\"", STYLE[c].dash);
}

static void polyline(FILE *f, const char *file, int c, const char *kind, int64_t bucket,
                     const double *X, const double *Y, int64_t m) {
    fprintf(f, "<polyline class=\"series\" data-file=\"");
    tg__svg_escape(f, file);
    fprintf(f,
            "\" data-column=\"%s\" data-kind=\"%s\" data-axis=\"%s\" data-scale=\"%g\" "
            "data-bucket=\"%lld\" points=\"",
            cli_plot_col_name(c), kind, STYLE[c].right ? "y2" : "y", STYLE[c].scale,
            (long long)bucket);
    for (int64_t i = 0; i < m; i++) fprintf(f, "%s%.2f,%.2f", i ? " " : "", X[i], Y[i]);
    fputs("\" ", f);
}

/* The points of column c of log l in pixels: its finite values, averaged
 * over buckets of *k rows when there are more than MAX_POINTS. Returns the
 * count (X, Y malloc'd), or -1 when out of memory. */
static int64_t points(const panel *p, const axis *x, const cli_plot_log *g, int c, double **X,
                      double **Y, int64_t *k) {
    const double *v = g->col[c];
    const axis *y = STYLE[c].right ? &p->y2 : &p->y;
    int64_t m = 0, in = 0, out = 0;
    for (int64_t i = 0; v && i < g->n; i++) m += !isnan(v[i]);
    *k = (m + MAX_POINTS - 1) / MAX_POINTS;
    if (!m) return 0; /* nothing to draw, nothing allocated */
    *X = malloc((size_t)m * sizeof **X), *Y = malloc((size_t)m * sizeof **Y);
    if (!*X || !*Y) return free(*X), free(*Y), -1;
    double sx = 0, sy = 0;
    for (int64_t i = 0, seen = 0; i < g->n; i++) {
        if (isnan(v[i])) continue;
        sx += g->step[i], sy += v[i] * STYLE[c].scale, in++, seen++;
        if (in < *k && seen < m) continue;
        (*X)[out] = px(p, x, sx / (double)in), (*Y)[out++] = py(p, y, sy / (double)in);
        sx = sy = 0, in = 0;
    }
    return out;
}

/* One series. Training loss is noisy step to step: its raw line is drawn
 * faint and a centred moving mean (over about 1/40 of the points) over it.
 * Returns 0, or -1 when out of memory. */
static int series(FILE *f, const panel *p, const axis *x, const cli_plot_log *logs, int n, int l,
                  int c) {
    double *X, *Y;
    int64_t k, m = points(p, x, &logs[l], c, &X, &Y, &k);
    if (m <= 0) return (int)m;
    bool smooth = c == CLI_PLOT_TRAIN && m >= 40;
    polyline(f, logs[l].name, c, "raw", k, X, Y, m);
    stroke(f, n, l, c, 0, smooth ? 0.3 : 0);
    fputs("><title>", f);
    tg__svg_escape(f, logs[l].name);
    fprintf(f, ": %s</title></polyline>\n", cli_plot_col_label(c));
    for (int64_t i = 0; STYLE[c].dots && m <= 200 && i < m; i++)
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", X[i], Y[i],
                colour(n, l, c));
    double *S = smooth ? malloc((size_t)m * sizeof *S) : NULL;
    if (smooth && !S) return free(X), free(Y), -1;
    if (S) {
        int64_t h = m / 80 + 1; /* half the window */
        double sum = 0;
        for (int64_t i = 0; i < m + h; i++) { /* sum over [i-2h, i] is the mean at i-h */
            if (i < m) sum += Y[i];
            if (i - 2 * h - 1 >= 0) sum -= Y[i - 2 * h - 1];
            int64_t at = i - h, lo = i - 2 * h < 0 ? 0 : i - 2 * h, hi = i < m ? i : m - 1;
            if (at >= 0) S[at] = sum / (double)(hi - lo + 1);
        }
        polyline(f, logs[l].name, c, "mean", k, X, S, m);
        stroke(f, n, l, c, 1.8, 1);
        fputs("/>\n", f);
        free(S);
    }
    free(X), free(Y);
    return 0;
}

/* The legend under the chart, in rows from y: one entry per drawn column
 * (one log), or per log and then per column's line style (several). With
 * f NULL it only counts the rows. */
static int legend(FILE *f, const cli_plot_log *logs, int n, const bool *drawn, double y) {
    int rows = 1;
    double x = ML;
    for (int e = 0; e < (n > 1 ? n : 0) + CLI_PLOT_NCOLS; e++) {
        int l = n > 1 && e < n ? e : 0, c = n > 1 && e < n ? CLI_PLOT_VALID : e - (n > 1 ? n : 0);
        if (!(n > 1 && e < n) && !drawn[c]) continue;
        const char *text = n > 1 && e < n ? logs[l].name : cli_plot_col_label(c);
        double w = 40 + 7 * (double)strlen(text);
        if (x + w > W - 10 && x > ML) x = ML, rows++;
        double Y = y + (rows - 1) * ROW;
        if (f) {
            fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" ", x, Y - 4, x + 28, Y - 4);
            if (n > 1 && e >= n) /* a style key: dark grey */
                fprintf(f, "fill=\"none\" stroke=\"#444\" stroke-width=\"%g\"%s%s%s",
                        STYLE[c].width, STYLE[c].dash ? " stroke-dasharray=\"" : "",
                        STYLE[c].dash ? STYLE[c].dash : "", STYLE[c].dash ? "\"" : "");
            else
                stroke(f, n, l, c, 0, 1);
            fprintf(f, "/>\n<text x=\"%g\" y=\"%g\" class=\"legend\">", x + 34, Y);
            tg__svg_escape(f, text);
            fputs("</text>\n", f);
        }
        x += w;
    }
    return rows;
}

/* Returns 0, or -1 when out of memory. */
static int chart(FILE *f, const cli_plot_log *logs, int n) {
    panel pn[N_PANELS];
    axis x;
    bool drawn[CLI_PLOT_NCOLS];
    double bottom = layout(logs, n, pn, &x, drawn), ly = bottom + 62;
    int rows = legend(NULL, logs, n, drawn, ly);
    int H = (int)(ly + (rows - 1) * ROW + 14);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            "font-size=\"12\">\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, H, W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"26\" font-size=\"15\" font-weight=\"bold\">", ML);
    if (n == 1)
        tg__svg_escape(f, logs[0].name);
    else
        fprintf(f, "%d training runs", n);
    fputs("</text>\n", f);
    int last = 0, rc = 0;
    for (int k = 0; k < N_PANELS; k++) last = pn[k].on ? k : last;
    for (int k = 0; k < N_PANELS; k++) {
        const panel *p = &pn[k];
        if (!p->on) continue;
        fprintf(f,
                "<g class=\"panel\" data-px=\"%g %g\" data-py=\"%g %g\" data-x=\"%.17g %.17g\" "
                "data-y=\"%.17g %.17g\" data-y2=\"%.17g %.17g\">\n",
                p->x0, p->x1, p->y0, p->y1, x.lo, x.hi, p->y.lo, p->y.hi, p->y2.lo, p->y2.hi);
        grid_and_axes(f, p, &x, k == last,
                      k == 0 ? "loss" : STYLE[k == 1 ? CLI_PLOT_ACCURACY : CLI_PLOT_BPC].axis);
        /* the learning rate under the losses, validation on top */
        static const int ORDER[] = {CLI_PLOT_LR, CLI_PLOT_TRAIN, CLI_PLOT_VALID, CLI_PLOT_ACCURACY,
                                    CLI_PLOT_BPC};
        for (int o = 0; o < CLI_PLOT_NCOLS; o++)
            for (int l = 0; l < n; l++)
                if (STYLE[ORDER[o]].panel == k && series(f, p, &x, logs, n, l, ORDER[o])) rc = -1;
        fputs("</g>\n", f);
    }
    legend(f, logs, n, drawn, ly);
    fputs("</svg>\n", f);
    return rc;
}

int cli_plot_svg(const char *path, const cli_plot_log *logs, int n, char *err, size_t errlen) {
    tg__svg_file out;
    if (tg__svg_open(&out, path, err, errlen)) return -1;
    bool oom = chart(out.f, logs, n) != 0;
    return tg__svg_close(&out, oom, "out of memory", err, errlen);
}
