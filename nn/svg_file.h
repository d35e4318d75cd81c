/* Writing an SVG (or any text) file the safe way, shared by the heat maps
 * (attention, confusion) and tapegrad plot: the file is written under a
 * temporary name next to path and renamed into place only when every
 * write succeeded, so a failed write never leaves a truncated picture or
 * clobbers the old one. Internal (tg__), not in the public header. */
#ifndef TG_NN_SVG_FILE_H
#define TG_NN_SVG_FILE_H

#include <stdbool.h>
#include <stdio.h>

typedef struct tg__svg_file {
    FILE *f;   /* write here */
    char *tmp; /* "<path>.tmp.<pid>" */
    const char *path;
} tg__svg_file;

/* Opens the temporary file for path. Returns 0, or -1 with a message in err. */
int tg__svg_open(tg__svg_file *s, const char *path, char *err, size_t errlen);

/* Closes and renames into place; with failed set (e.g. out of memory while
 * drawing: why says what) or when a write failed, removes the temporary
 * file instead. Returns 0, or -1 with a message naming path in err. */
int tg__svg_close(tg__svg_file *s, bool failed, const char *why, char *err, size_t errlen);

/* s with <, >, &, " and ' escaped for XML text and attribute values. */
void tg__svg_escape(FILE *f, const char *s);

#endif
