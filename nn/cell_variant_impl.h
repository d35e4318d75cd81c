/* Internal to nn/: what cell_variant.c (building the rows) and
 * cell_variant_steps.c (their steps) share. */
#ifndef TG_CELL_VARIANT_IMPL_H
#define TG_CELL_VARIANT_IMPL_H

#include "cell_variant.h"

/* One variant: the row the layer runs (outer: masks around the core) and
 * the core it calls for the deterministic part, either the base's
 * built-in row (plain gates, fused kernels) or core_row (layer norm,
 * peepholes, activations: composed, traced into a program with .fuse). */
typedef struct tg__variant {
    tg_cell outer; /* first: a variant's tg_cell * is the variant */
    tg_cell core_row;
    const tg_cell *core;
    tg_cell_variant_options opt;
    bool lstm;
    tg_cell_activation gate, cand;
    int p_ln, p_peep; /* the first layer-norm and peephole parameter, or -1 */
} tg__variant;

/* The core's step from elementary ops (row ctx: the variant). */
int tg__variant_core(tg_tape *t, const tg_cell *cell, tg_cell_io *io);
/* The outer row's steps: the core composed or fused, with the masks. */
int tg__variant_composed(tg_tape *t, const tg_cell *cell, tg_cell_io *io);
int tg__variant_fused(tg_tape *t, const tg_cell *cell, tg_cell_io *io);
/* The layer norm of all steps' input products (tg_cell.gates_all). */
tg_tensor *tg__variant_gates(tg_tape *t, const tg_cell *cell, tg_tensor *gx,
                             tg_tensor *const *param);
/* input_dropout on the layer's input x [T, B, in] (tg_cell.input). */
tg_tensor *tg__variant_input(tg_tape *t, const tg_cell *cell, tg_tensor *x, bool training,
                             uint64_t seed);

#endif
