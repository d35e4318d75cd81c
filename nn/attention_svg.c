/* Attention weights drawn as an SVG heat map. */
#include <stdio.h>

#include "attention.h"
#include "svg_file.h"

enum { CELL = 28, LABEL = 64, FONT = 13 };

int tg_attention_svg(const char *path, int64_t n_src, const char *const *src_labels, int64_t n_tgt,
                     const char *const *tgt_labels, const tg_real *weights, int64_t stride,
                     char *err, size_t errlen) {
    if (!path || !weights || n_src < 1 || n_tgt < 1 || stride < n_src) {
        tg_error_set(err, errlen,
                     "tg_attention_svg: need a path, weights and sizes >= 1 (got %lld x %lld, "
                     "stride %lld)",
                     (long long)n_tgt, (long long)n_src, (long long)stride);
        return -1;
    }
    tg__svg_file out;
    if (tg__svg_open(&out, path, err, errlen)) return -1;
    FILE *f = out.f;
    long w = LABEL + (long)n_src * CELL + 8, h = LABEL + (long)n_tgt * CELL + 8;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%ld\" height=\"%ld\" "
            "font-family=\"monospace\" font-size=\"%d\">\n",
            w, h, FONT);
    fprintf(f, "<rect width=\"%ld\" height=\"%ld\" fill=\"white\"/>\n", w, h);
    for (int64_t j = 0; j < n_src; j++) { /* source labels, rotated like the paper's */
        long x = LABEL + (long)j * CELL + CELL / 2 + FONT / 3;
        fprintf(f, "<text x=\"%ld\" y=\"%d\" transform=\"rotate(-90 %ld %d)\">", x, LABEL - 4, x,
                LABEL - 4);
        tg__svg_escape(f, src_labels ? src_labels[j] : "");
        fputs("</text>\n", f);
    }
    for (int64_t i = 0; i < n_tgt; i++) {
        fprintf(f, "<text x=\"%d\" y=\"%ld\" text-anchor=\"end\">", LABEL - 4,
                LABEL + (long)i * CELL + CELL / 2 + FONT / 3);
        tg__svg_escape(f, tgt_labels ? tgt_labels[i] : "");
        fputs("</text>\n", f);
        for (int64_t j = 0; j < n_src; j++) {
            double v = (double)weights[i * stride + j];
            int g = (int)(255 * (v < 0 ? 0 : v > 1 ? 1 : v) + 0.5);
            fprintf(f,
                    "<rect x=\"%ld\" y=\"%ld\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\">"
                    "<title>%.3f</title></rect>\n",
                    LABEL + (long)j * CELL, LABEL + (long)i * CELL, CELL, CELL, g, g, g, v);
        }
    }
    fputs("</svg>\n", f);
    return tg__svg_close(&out, false, NULL, err, errlen);
}
