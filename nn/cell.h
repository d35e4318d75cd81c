/* Recurrent cells as data. A cell is a row: its name, its gate count G,
 * its states (h, or h and c), its step as tape ops, and optionally the same
 * step from fused kernels. The layer around a cell (nn/rnn.c: the input
 * product for all steps as one GEMM, directions, stacks, lengths, the token
 * path, carried state) reads the row and never asks which cell it runs, as
 * DyNet's RNNBuilder does. The built-in rows are listed in cells.def; a
 * row can also be built at run time and given to a layer
 * (tg_rnn_options.cell). */
#ifndef TG_CELL_H
#define TG_CELL_H

#include "../autograd/autograd.h"

/* The built-in cells, in cells.def's order. */
typedef enum tg_rnn_mode {
#define TG_CELL(id, row) id,
#include "cells.def"
#undef TG_CELL
} tg_rnn_mode;

#define TG_CELL_MAX_STATES 2
#define TG_CELL_MAX_PARAMS 12

/* A parameter a cell has besides the weights and biases every cell has (a
 * peephole's weights, a layer norm's gains): one vector per layer and
 * direction, created by the layer and saved under name_l{l}[_reverse]. */
typedef struct tg_cell_param {
    const char *name; /* "weight_ci": weight_ci_l0, weight_ci_l0_reverse, ... */
    int width;        /* its length in hidden units: 1 for [H], G for [G*H] */
    bool uniform;     /* U(-1/sqrt(H), 1/sqrt(H)), as the weights; else init */
    double init;      /* every entry's first value when not uniform */
} tg_cell_param;

typedef struct tg_cell tg_cell;

/* What one step of a cell reads and writes. */
typedef struct tg_cell_io {
    tg_tensor *gx;   /* [B, G*H]: the input's share of the gates, x W_ih^T + b_ih */
    tg_tensor *w_hh; /* [G*H, H] */
    tg_tensor *b_hh; /* [G*H], or NULL */
    tg_tensor *state[TG_CELL_MAX_STATES]; /* the previous state, [B, H] each; [0] is h */
    tg_tensor *next[TG_CELL_MAX_STATES];  /* the new state, set by the step */
    tg_tensor *param[TG_CELL_MAX_PARAMS]; /* the cell's own parameters, in the
                                             row's order, [width*H] each */
    /* The h the recurrent product reads, or NULL for state[0]: a step that
     * drops units of h from the product alone (recurrent dropout) sets it,
     * the rest of the step still sees state[0]. */
    tg_tensor *h_in;
    /* Where the step is, for cells with random masks (zoneout, dropout):
     * the masks are a hash of (seed, time, unit, row), so they are the same
     * at any thread count and again when a segment is recomputed. The
     * layer sets them; zero (a one-off step) is evaluation. */
    int64_t time;
    bool training;
    uint64_t seed; /* the layer's seed mixed with the layer and direction */
    /* A row with .fuse: its step traced into a program (autograd/fuse.h),
     * set by the first step and kept by the caller for the sequence's other
     * steps so it is traced once; NULL before the first step. */
    const void *fusion;
    /* gx has been through the cell's .gates_all already (the layer did it for
     * all steps at once): the step must not do it again. false for a step
     * of one's own, which then does it itself. */
    bool gx_ready;
} tg_cell_io;

/* Sets io->next from the rest of io. Returns 0, or -1 with the tape's error
 * set. */
typedef int (*tg_cell_step_fn)(tg_tape *t, const tg_cell *cell, tg_cell_io *io);

/* One of a cell's states, each [B, H]. */
typedef struct tg_cell_state {
    const char *name;    /* in messages: "h", "c" */
    const char *label;   /* the new state's label on the tape: "hidden", "cell" */
    const char *initial; /* a zero initial state's name in pictures: "h0", "c0" */
} tg_cell_state;

struct tg_cell {
    const char *name;  /* tg_cell_find's key: "rnn_tanh", "rnn_relu", "lstm", "gru" */
    const char *scope; /* the layer's scope on the tape: "lstm.l0.t3.forget_gate" */
    int gates;         /* G: the weights are [G*H, in] and [G*H, H] */
    int n_states;      /* 1..TG_CELL_MAX_STATES: h, or h and c */
    tg_cell_state state[TG_CELL_MAX_STATES]; /* [0] is h, the output */
    int n_params;      /* 0..TG_CELL_MAX_PARAMS parameters of the cell's own */
    tg_cell_param param[TG_CELL_MAX_PARAMS];
    tg_cell_step_fn composed; /* the step from elementary ops: every gate on the tape */
    tg_cell_step_fn fused;    /* the same numbers from fused kernels, or NULL */
    const void *ctx;          /* the row's own data (a cell built at run time), or NULL */
    /* Without a fused step: run the composed one as ONE node per step, its
     * elementwise part traced into a program once per sequence (the
     * recurrent product stays a GEMM). A step using an op the program has
     * no rule for runs composed, as without this flag. */
    bool fuse;
    /* The layer's input x [T, B, in] before the input product, or NULL to
     * take it as it is: a cell that drops input units (variational
     * dropout) returns x with its masks applied; seed and training as in
     * tg_cell_io. */
    tg_tensor *(*input)(tg_tape *t, const tg_cell *cell, tg_tensor *x, bool training,
                        uint64_t seed);
    /* The input's share of the gates for all steps at once, or NULL: a
     * cell whose step transforms gx row by row without looking at the
     * state (a layer norm of the input product) does it here, one op over
     * every step's rows before the loop (gx [T, B, G*H], or [V, G*H] per
     * vocabulary entry; param: the direction's own parameters, in the
     * row's order), and its step skips it when tg_cell_io.gx_ready says
     * so. The layer calls it unless it runs the composed reference. */
    tg_tensor *(*gates_all)(tg_tape *t, const tg_cell *cell, tg_tensor *gx,
                            tg_tensor *const *param);
};

/* The built-in cell called name, or NULL. */
const tg_cell *tg_cell_find(const char *name);
/* The built-in cell of mode (also for listing them: NULL past the last). */
const tg_cell *tg_cell_builtin(int mode);
/* Whether row is usable (a name, 1 or more gates, 1..TG_CELL_MAX_STATES
 * states each labelled and named, 0..TG_CELL_MAX_PARAMS parameters each
 * named and at least 1 hidden unit wide, a composed step); NULL, or what is
 * wrong. */
const char *tg_cell_invalid(const tg_cell *row);

/* One step of cell: its fused form (the row's, or its traced program with
 * .fuse), or the composed one when it has neither or composed asks for the
 * reference. Labels the new states. */
int tg_cell_step(tg_tape *t, const tg_cell *cell, bool composed, tg_cell_io *io);
/* The h io's recurrent product reads: io->h_in, or state[0]. */
tg_tensor *tg_cell_h_in(const tg_cell_io *io);
/* h W_hh^T + b_hh [B, G*H] for io's h (labelled "recurrent"), for steps
 * that need the recurrent product apart from gx. */
tg_tensor *tg_cell_recurrent(tg_tape *t, const tg_cell_io *io);
/* One step from the input x [B, I], for a loop of one's own: io->gx =
 * x W_ih^T + b_ih, then the fused step, after checking every argument
 * against the others. The caller sets io->w_hh, b_hh and state. Returns 0,
 * or -1 with the tape's error set. */
int tg_cell_forward(tg_tape *t, const tg_cell *cell, tg_tensor *x, tg_tensor *w_ih, tg_tensor *b_ih,
                    tg_cell_io *io);
/* The same with messages that start with fn (nn's own callers). */
int tg__cell_forward(tg_tape *t, const char *fn, const tg_cell *cell, tg_tensor *x, tg_tensor *w_ih,
                     tg_tensor *b_ih, tg_cell_io *io);

#endif
