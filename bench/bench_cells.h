/* The cells bench_rnn can run besides the built-in ones (bench_rnn --cell):
 * the README's LSTM written from tape ops (a user's row with .fuse), the
 * LSTM of a spec file's "cell" layer (equations, examples/cells/json), and
 * the wishlist's LSTM variants (nn/cell_variant.h). Bench-only code. */
#ifndef BENCH_CELLS_H
#define BENCH_CELLS_H

#include <stddef.h>

#include "tapegrad.h"

/* What --cell made, kept alive until the layer that runs it is freed. */
typedef struct bench_cell {
    const char *name;   /* "lstm" (the built-in), "user", "json", "ln", ... */
    const tg_cell *row; /* NULL: the built-in cell of the mode */
    tg_cell *variant;   /* owned: a tg_cell_variant_new row */
    tg_model *model;    /* owned: the spec's model whose layer holds the json row */
} bench_cell;

/* The names --cell takes, for the usage line. */
#define BENCH_CELL_NAMES "user|json|ln|peephole|zoneout|rdrop"

/* Makes the cell called name (NULL: the built-in); json_path is the spec
 * whose first "cell" layer --cell json runs. 0, or -1 with a message. */
int bench_cell_make(const char *name, const char *json_path, bench_cell *out, char *err,
                    size_t errlen);
void bench_cell_free(bench_cell *c);

#endif
