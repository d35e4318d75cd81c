/* One recorded step as a web page (tg_tape_html): the JSON trace and the
 * stepper's JSON embedded as data, and a script that lays out the graph,
 * draws it as SVG and moves through forward and backward with a slider.
 * Everything is inline, so the file works offline and alone. The script
 * and stylesheet are inspect_html.js and inspect_html.css, turned into C
 * string literals by the Makefile. */
#include <stdio.h> /* open_memstream: POSIX 2008, as the Makefile asks */
#include <stdlib.h>

#include "inspect.h"

static const char page_css[] =
#include "autograd/inspect_html.css.inc"
    ;
static const char page_js[] =
#include "autograd/inspect_html.js.inc"
    ;

/* s as HTML text or attribute value. */
static void html_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* What write(f) writes, inside a data script element. '<' can only be in
 * a JSON string, where \u003c means the same, so no "</script" or "<!--"
 * in a name can end or confuse the element. */
static int json_element(FILE *f, const char *id, int (*write)(const void *, FILE *),
                        const void *arg) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return -1;
    int status = write(arg, m);
    if (fclose(m) != 0) status = -1;
    if (status == 0) {
        fprintf(f, "<script type=\"application/json\" id=\"%s\">\n", id);
        for (size_t i = 0; i < len; i++) buf[i] == '<' ? fputs("\\u003c", f) : fputc(buf[i], f);
        fputs("</script>\n", f);
    }
    free(buf);
    return status;
}

static int write_trace(const void *t, FILE *f) {
    return tg_tape_json(t, f);
}

static int write_steps(const void *s, FILE *f) {
    return tg_stepper_json(s, f);
}

int tg_tape_html(tg_tape *t, FILE *f, const tg_html_options *opt) {
    if (!t || !f) return -1;
    const char *title = opt && opt->title ? opt->title : "tapegrad";
    tg_stepper *s = tg_stepper_new(t, NULL, 0);
    if (!s) return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    html_text(f, title);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>", page_css);
    html_text(f, title);
    fputs("</h1>\n"
          "<div id=\"controls\">\n"
          "<button id=\"prev\" title=\"previous (left arrow)\">&#9664;</button>\n"
          "<input type=\"range\" id=\"slider\" min=\"0\" max=\"0\" value=\"0\" "
          "aria-label=\"position in the step\">\n"
          "<button id=\"next\" title=\"next (right arrow)\">&#9654;</button>\n"
          "<span id=\"where\"></span>\n"
          "</div>\n</header>\n"
          "<main>\n<div id=\"graph\"></div>\n<aside id=\"panel\"></aside>\n</main>\n"
          "<noscript>This page draws the tape with JavaScript.</noscript>\n",
          f);
    int status = json_element(f, "tg-trace", write_trace, t);
    if (status == 0) status = json_element(f, "tg-steps", write_steps, s);
    fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", page_js);
    tg_stepper_free(s);
    return status == 0 && !ferror(f) ? 0 : -1;
}
