/* seq2seq data (cli/data_pairs.c): lines "source<TAB>target"; its
 * symbol splitting also serves translate. */
#ifndef TG_CLI_DATA_PAIRS_H
#define TG_CLI_DATA_PAIRS_H

#include "data_util.h"

/* The symbols of text [p, end) split as `how` says (at whitespace, or into
 * UTF-8 characters; the ends trimmed): pointers into the text. */
typedef struct cli_syms {
    int64_t n, cap;
    const char **p;
    size_t *len;
} cli_syms;
int cli_syms_split(cli_syms *out, const char *p, const char *end, tg_text_split how);
/* Appends the symbols of s to all. 0, or -1 (no memory). */
int cli_syms_append(cli_syms *all, const cli_syms *s);
void cli_syms_free(cli_syms *s);

#endif
