/* A line chart as a standalone SVG file, for the lessons: no plotting
 * library, one function. Each series is n y-values over shared x-values;
 * the y axis may be logarithmic (values <= 0 are then left out). */
#ifndef LESSON_CHART_H
#define LESSON_CHART_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct chart_series {
    const char *name;
    const double *y;
} chart_series;

typedef struct chart {
    const char *title, *xlabel, *ylabel;
    bool logy;
    const double *x; /* n values, increasing */
    int n;
    const chart_series *series;
    int n_series;
} chart;

/* A round step for about `want` ticks over span. */
static double chart_step(double span, int want) {
    double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

/* Returns 0, or -1 if the file cannot be written. */
static int chart_svg(const char *path, const chart *c) {
    static const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                   "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    const double W = 720, H = 440, L = 80, R = 190, T = 40, B = 50; /* margins */
    double x0 = c->x[0], x1 = c->x[c->n - 1], y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < c->n_series; s++)
        for (int i = 0; i < c->n; i++) {
            double v = c->series[s].y[i];
            if (!isfinite(v) || (c->logy && v <= 0)) continue;
            v = c->logy ? log10(v) : v;
            y0 = fmin(y0, v), y1 = fmax(y1, v);
        }
    if (!(y0 <= y1)) y0 = 0, y1 = 1;
    if (c->logy) y0 = floor(y0), y1 = ceil(y1);
    if (y1 - y0 < 1e-12) y0 -= 1, y1 += 1;
    if (x1 <= x0) x1 = x0 + 1;
    double ystep = c->logy ? fmax(1, floor((y1 - y0) / 8)) : chart_step(y1 - y0, 6);
    if (!c->logy) y0 = floor(y0 / ystep) * ystep, y1 = ceil(y1 / ystep) * ystep;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
#define PX(v) (L + ((v)-x0) / (x1 - x0) * (W - L - R))
#define PY(v) (H - B - ((v)-y0) / (y1 - y0) * (H - T - B))
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
            "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
            W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%g\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
            (L + W - R) / 2, c->title);
    for (double v = y0; v <= y1 + 1e-9; v += ystep) { /* horizontal grid and y labels */
        fprintf(f, "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n", L,
                W - R, PY(v), PY(v));
        if (c->logy)
            fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n", L - 6,
                    PY(v) + 4, (int)lround(v));
        else
            fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6,
                    PY(v) + 4, v);
    }
    double xstep = chart_step(x1 - x0, 8);
    for (double v = ceil(x0 / xstep) * xstep; v <= x1 + 1e-9; v += xstep)
        fprintf(f,
                "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%g\" y2=\"%g\" stroke=\"#eeeeee\"/>"
                "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n",
                PX(v), PX(v), T, H - B, PX(v), H - B + 16, v);
    fprintf(f,
            "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#444\"/>\n",
            L, T, W - L - R, H - T - B);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", (L + W - R) / 2,
            H - 12, c->xlabel);
    fprintf(f,
            "<text transform=\"translate(18,%g) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            (T + H - B) / 2, c->ylabel);
    for (int s = 0; s < c->n_series; s++) {
        const char *col = colors[s % 8];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int i = 0; i < c->n; i++) {
            double v = c->series[s].y[i];
            if (!isfinite(v) || (c->logy && v <= 0)) continue;
            fprintf(f, "%.1f,%.1f ", PX(c->x[i]), PY(c->logy ? log10(v) : v));
        }
        fprintf(f, "\"/>\n");
        double ly = T + 10 + 20 * s;
        fprintf(f,
                "<line x1=\"%g\" x2=\"%g\" y1=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"3\"/>"
                "<text x=\"%g\" y=\"%g\">%s</text>\n",
                W - R + 12, W - R + 36, ly, ly, col, W - R + 42, ly + 4, c->series[s].name);
    }
#undef PX
#undef PY
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

#endif
