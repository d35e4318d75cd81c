/* Whole files into memory, for the readers of specs, trees and data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

char *tg_read_stream(FILE *f, size_t max, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || (max && n > max)) break;
        char *grown = realloc(buf, 2 * cap + 1);
        if (!grown) free(buf);
        buf = grown, cap *= 2;
    }
    if (buf && ferror(f)) free(buf), buf = NULL;
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

char *tg_read_file(const char *path, size_t max, size_t *len, tg_read_error *why) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = (tg_read_error){TG_READ_OPEN, errno};
        return NULL;
    }
    char *buf = tg_read_stream(f, max, len);
    bool io = ferror(f);
    int errnum = io ? errno : 0;
    fclose(f);
    if (!buf) *why = (tg_read_error){io ? TG_READ_IO : TG_READ_MEMORY, errnum};
    return buf;
}
