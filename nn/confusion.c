/* The confusion matrix and its SVG heat map (confusion.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "confusion.h"
#include "svg_file.h"

struct tg_confusion {
    int64_t n;
    int64_t *m; /* [truth][pred], n * n */
    char **labels;
};

tg_confusion *tg_confusion_new(int64_t n_classes, const char *const *labels, char *err,
                               size_t errlen) {
    if (n_classes < 1 || n_classes > 100000)
        return tg_error_set(err, errlen, "tg_confusion_new: n_classes must be 1 to 100000, got %lld",
                            (long long)n_classes);
    tg_confusion *c = calloc(1, sizeof *c);
    if (c) c->n = n_classes;
    if (c) c->m = calloc((size_t)(n_classes * n_classes), sizeof *c->m);
    if (c) c->labels = calloc((size_t)n_classes, sizeof *c->labels);
    for (int64_t k = 0; c && c->m && c->labels && k < n_classes; k++) {
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)k);
        const char *s = labels && labels[k] ? labels[k] : num;
        if (!(c->labels[k] = strdup(s))) break;
    }
    if (!c || !c->m || !c->labels || !c->labels[n_classes - 1]) {
        tg_confusion_free(c);
        return tg_error_set(err, errlen, "tg_confusion_new: out of memory");
    }
    return c;
}

void tg_confusion_free(tg_confusion *c) {
    if (!c) return;
    for (int64_t k = 0; c->labels && k < c->n; k++) free(c->labels[k]);
    free(c->labels);
    free(c->m);
    free(c);
}

int tg_confusion_add(tg_confusion *c, int64_t pred, int64_t truth, char *err, size_t errlen) {
    if (pred < 0 || pred >= c->n || truth < 0 || truth >= c->n) {
        tg_error_set(err, errlen,
                     "tg_confusion_add: prediction %lld and truth %lld must both be classes 0 to "
                     "%lld",
                     (long long)pred, (long long)truth, (long long)c->n - 1);
        return -1;
    }
    c->m[truth * c->n + pred]++;
    return 0;
}

int64_t tg_confusion_classes(const tg_confusion *c) {
    return c->n;
}

int64_t tg_confusion_count(const tg_confusion *c, int64_t truth, int64_t pred) {
    bool in = truth >= 0 && truth < c->n && pred >= 0 && pred < c->n;
    return in ? c->m[truth * c->n + pred] : 0;
}

int64_t tg_confusion_total(const tg_confusion *c) {
    int64_t s = 0;
    for (int64_t i = 0; i < c->n * c->n; i++) s += c->m[i];
    return s;
}

const char *tg_confusion_label(const tg_confusion *c, int64_t k) {
    return k >= 0 && k < c->n ? c->labels[k] : "?";
}

double tg_confusion_share(const tg_confusion *c, int64_t truth, int64_t pred) {
    int64_t row = 0;
    for (int64_t j = 0; truth >= 0 && truth < c->n && j < c->n; j++) row += c->m[truth * c->n + j];
    return row ? (double)tg_confusion_count(c, truth, pred) / (double)row : 0;
}

double tg_confusion_accuracy(const tg_confusion *c) {
    int64_t right = 0, n = tg_confusion_total(c);
    for (int64_t k = 0; k < c->n; k++) right += c->m[k * c->n + k];
    return n ? (double)right / (double)n : 0;
}

/* ---- SVG ---------------------------------------------------------------------------------- */

typedef struct layout {
    long cell, left, top, w, h;
} layout;

/* Room for the longest label at about 7 px a character, cells big enough
 * for a four-digit count but small enough that 100 classes stay on a page. */
static layout layout_of(const tg_confusion *c, bool title) {
    size_t longest = 1;
    for (int64_t k = 0; k < c->n; k++)
        if (strlen(c->labels[k]) > longest) longest = strlen(c->labels[k]);
    long text = 7 * (long)(longest < 24 ? longest : 24), cell = c->n > 20 ? 26 : 44;
    layout l = {.cell = cell, .left = 40 + text, .top = (title ? 50 : 26) + text};
    l.w = l.left + (long)c->n * cell + 30, l.h = l.top + (long)c->n * cell + 50;
    if (l.w < 320) l.w = 320;
    return l;
}

static void header(FILE *f, const tg_confusion *c, const layout *l, const char *title) {
    long mid_x = l->left + c->n * l->cell / 2, mid_y = l->top + c->n * l->cell / 2;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%ld\" height=\"%ld\" "
            "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            l->w, l->h);
    if (title) {
        fprintf(f, "<text x=\"%ld\" y=\"22\" font-size=\"14\" text-anchor=\"middle\">", l->w / 2);
        tg__svg_escape(f, title);
        fputs("</text>\n", f);
    }
    fprintf(f,
            "<text x=\"%ld\" y=\"%d\" text-anchor=\"middle\">predicted</text>\n"
            "<text x=\"14\" y=\"%ld\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 14 %ld)\">true class</text>\n",
            mid_x, title ? 42 : 16, mid_y, mid_y);
    for (int64_t j = 0; j < c->n; j++) { /* predicted classes, slanted to fit */
        long x = l->left + (long)j * l->cell + l->cell / 2, y = l->top - 6;
        fprintf(f, "<text x=\"%ld\" y=\"%ld\" transform=\"rotate(-50 %ld %ld)\">", x, y, x, y);
        tg__svg_escape(f, c->labels[j]);
        fputs("</text>\n", f);
    }
}

/* One cell: white for share 0 to #08306b blue for the whole row, the count
 * in white on dark cells; data-* attributes let a program read it back. */
static void cell(FILE *f, const tg_confusion *c, const layout *l, int64_t t, int64_t p) {
    int64_t n = c->m[t * c->n + p];
    double share = tg_confusion_share(c, t, p);
    long x = l->left + (long)p * l->cell, y = l->top + (long)t * l->cell;
    int shade = (int)lround(255 * (1 - share));
    fprintf(f,
            "<rect class=\"cell\" data-truth=\"%lld\" data-pred=\"%lld\" data-count=\"%lld\" "
            "x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\" fill=\"rgb(%d,%d,%d)\" "
            "stroke=\"#ddd\"><title>",
            (long long)t, (long long)p, (long long)n, x, y, l->cell, l->cell,
            8 + shade * 247 / 255, 48 + shade * 207 / 255, 107 + shade * 148 / 255);
    tg__svg_escape(f, c->labels[t]);
    fputs(" as ", f);
    tg__svg_escape(f, c->labels[p]);
    fprintf(f, ": %lld (%.1f%% of the row)</title></rect>\n", (long long)n, 100 * share);
    if (n)
        fprintf(f,
                "<text class=\"count\" x=\"%ld\" y=\"%ld\" text-anchor=\"middle\" "
                "fill=\"%s\">%lld</text>\n",
                x + l->cell / 2, y + l->cell / 2 + 4, share > 0.5 ? "white" : "black",
                (long long)n);
}

int tg_confusion_svg(const tg_confusion *c, const char *path, const char *title, char *err,
                     size_t errlen) {
    if (!c || !path) {
        tg_error_set(err, errlen, "tg_confusion_svg: need a matrix and a path");
        return -1;
    }
    tg__svg_file out;
    if (tg__svg_open(&out, path, err, errlen)) return -1;
    layout l = layout_of(c, title != NULL);
    header(out.f, c, &l, title);
    for (int64_t t = 0; t < c->n; t++) {
        fprintf(out.f, "<text x=\"%ld\" y=\"%ld\" text-anchor=\"end\">", l.left - 6,
                l.top + (long)t * l.cell + l.cell / 2 + 4);
        tg__svg_escape(out.f, c->labels[t]);
        fputs("</text>\n", out.f);
        for (int64_t p = 0; p < c->n; p++) cell(out.f, c, &l, t, p);
    }
    fprintf(out.f,
            "<text x=\"%ld\" y=\"%ld\" text-anchor=\"middle\">counts; colour: share of the true "
            "class's row; %lld examples, accuracy %.1f%%</text>\n</svg>\n",
            l.left + c->n * l.cell / 2, l.top + c->n * l.cell + 30,
            (long long)tg_confusion_total(c), 100 * tg_confusion_accuracy(c));
    return tg__svg_close(&out, false, NULL, err, errlen);
}
