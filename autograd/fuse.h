/* Fusion: the elementwise part of a step traced once into a small register
 * program (numexpr-style), then run with the step's recurrent product as
 * ONE tape node per step. Forward runs the program row by row (rows split
 * over threads), keeping the few values the adjoint reads; backward runs
 * the program's adjoint, built from one derivative rule per primitive
 * (fuse_rules.c), so no cell has a hand-written backward. Internal to the library (nn's cells use it). */
#ifndef TG_FUSE_H
#define TG_FUSE_H

#include "autograd.h"

typedef struct tg__fusion tg__fusion;

/* Traces what tape `from` recorded (a step run once on [2, w] inputs, see
 * nn/cell.c) into a program on tape dst's arena. in[0..n_in) are the
 * step's inputs (leaves of `from`): [2, w] per row, or [w] the same for
 * every row (a cell's parameter). The linear node x W^T + b with ext's
 * own {x, W, b} (x may be NULL: none; b NULL: no bias) becomes input n_in,
 * computed by the caller. out are the step's results, all of one width.
 * Returns the program, one that says it cannot fuse (tg__fusion_why), or
 * NULL with dst's error set. */
const tg__fusion *tg__fuse_trace(tg_tape *dst, const tg_tape *from, int n_in, tg_tensor *const *in,
                                 const tg_tensor *const *ext, int n_out, tg_tensor *const *out);
/* NULL when f runs, else why the step was not fused ("op concat"). */
const char *tg__fusion_why(const tg__fusion *f);
/* The number of inputs f takes (the step's, then the external product's). */
int tg__fusion_inputs(const tg__fusion *f);
/* Runs f as one node: in are the step's inputs, [B, w_i] each ([w_i]
 * where traced so), and prod = {x, W, b} the recurrent product's (b may be
 * NULL), which the node computes itself (f's last input) and does not keep.
 * Returns the results stacked, [n_out, B, w] ([B, w] for one result), or
 * NULL with the tape's error set. */
tg_tensor *tg__fused(tg_tape *t, const tg__fusion *f, tg_tensor *const *in,
                     tg_tensor *const *prod);

#endif
