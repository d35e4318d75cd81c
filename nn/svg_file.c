/* The temporary-name-and-rename SVG writer (svg_file.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/core.h"
#include "svg_file.h"

int tg__svg_open(tg__svg_file *s, const char *path, char *err, size_t errlen) {
    size_t n = strlen(path) + 32;
    *s = (tg__svg_file){.tmp = malloc(n), .path = path};
    if (!s->tmp) {
        tg_error_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(s->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    if (!(s->f = fopen(s->tmp, "w"))) {
        tg_error_set(err, errlen, "%s: %s", s->tmp, strerror(errno));
        free(s->tmp);
        s->tmp = NULL;
        return -1;
    }
    return 0;
}

int tg__svg_close(tg__svg_file *s, bool failed, const char *why, char *err, size_t errlen) {
    bool ok = !ferror(s->f);
    ok &= fclose(s->f) == 0;
    int rc = 0;
    if (failed || !ok || rename(s->tmp, s->path) != 0) {
        const char *e = strerror(errno); /* a full disk says so here */
        if (failed)
            tg_error_set(err, errlen, "%s: %s", s->path, why ? why : "failed");
        else
            tg_error_set(err, errlen, ok ? "%s: %s" : "%s: write failed (%s)", s->path, e);
        remove(s->tmp);
        rc = -1;
    }
    free(s->tmp);
    *s = (tg__svg_file){0};
    return rc;
}

void tg__svg_escape(FILE *f, const char *s) {
    for (; s && *s; s++) switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
}
