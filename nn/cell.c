/* The cell table (cells.def) and what every cell's step shares: running
 * the fused or composed form, the recurrent product, and the checked step
 * from an input x that the public cells and the decoder take. */
#include "cell.h"

#include "../autograd/fuse.h"

#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

#define TG_CELL(id, row) extern const tg_cell row;
#include "cells.def"
#undef TG_CELL

static const tg_cell *const builtin[] = {
#define TG_CELL(id, row) [id] = &row,
#include "cells.def"
#undef TG_CELL
};
enum { N_BUILTIN = sizeof builtin / sizeof builtin[0] };

const tg_cell *tg_cell_builtin(int mode) {
    return mode >= 0 && mode < N_BUILTIN ? builtin[mode] : NULL;
}

const tg_cell *tg_cell_find(const char *name) {
    for (int i = 0; name && i < N_BUILTIN; i++)
        if (strcmp(builtin[i]->name, name) == 0) return builtin[i];
    return NULL;
}

const char *tg_cell_invalid(const tg_cell *row) {
    if (!row) return "no cell";
    if (!row->name || !row->scope) return "a cell needs a name and a scope";
    if (row->gates < 1) return "a cell needs at least one gate";
    if (row->n_states < 1 || row->n_states > TG_CELL_MAX_STATES)
        return "a cell has 1 to " STR(TG_CELL_MAX_STATES) " states";
    for (int k = 0; k < row->n_states; k++)
        if (!row->state[k].name || !row->state[k].label || !row->state[k].initial)
            return "each state of a cell needs a name, a label and an initial name";
    if (row->n_params < 0 || row->n_params > TG_CELL_MAX_PARAMS)
        return "a cell has 0 to " STR(TG_CELL_MAX_PARAMS) " parameters of its own";
    for (int p = 0; p < row->n_params; p++)
        if (!row->param[p].name || row->param[p].width < 1)
            return "each parameter of a cell needs a name and a width of at least 1";
    if (!row->composed) return "a cell needs its step as tape ops (composed)";
    return NULL;
}

/* io->fusion when tracing found the step cannot fail but cannot fuse: the
 * composed step then runs without tracing it again. */
static const char composed_only = 0;

/* cell's composed step traced on a scratch tape: inputs [2, w] with the
 * real weights (the recurrent product is the program's last input). */
static const void *trace(tg_tape *t, const tg_cell *cell, const tg_cell_io *io) {
    tg_tape *s = tg_tape_new();
    if (!s) {
        tg_tape_fail(t, "%s: out of memory tracing the step", cell->name);
        return NULL;
    }
    tg_cell_io sio = {.w_hh = io->w_hh, .b_hh = io->b_hh, .gx_ready = io->gx_ready};
    for (int p = 0; p < cell->n_params; p++) sio.param[p] = io->param[p];
    tg_tensor *in[1 + TG_CELL_MAX_STATES + TG_CELL_MAX_PARAMS];
    in[0] = sio.gx = tg_full(s, TG_SHAPE(2, io->gx->shape[1]), 0.5);
    for (int k = 0; k < cell->n_states; k++)
        in[1 + k] = sio.state[k] = tg_full(s, TG_SHAPE(2, io->state[k]->shape[1]), 0.5);
    for (int k = 0; k <= cell->n_states && !tg_tape_error(s); k++) in[k]->requires_grad = true;
    int n_in = 1 + cell->n_states + cell->n_params;
    for (int p = 0; p < cell->n_params; p++) in[1 + cell->n_states + p] = io->param[p];
    /* the recurrent product is matched by its x, W and b, not its place */
    const tg_tensor *ext[3] = {sio.state[0], io->w_hh, io->b_hh};
    const void *f = &composed_only;
    if (!tg_tape_error(s) && cell->composed(s, cell, &sio) == 0 && !tg_tape_error(s)) {
        const tg__fusion *p = tg__fuse_trace(t, s, n_in, in, ext, cell->n_states, sio.next);
        f = p && !tg__fusion_why(p) && tg__fusion_inputs(p) == n_in + 1 ? p : f;
    }
    tg_tape_free(s);
    return tg_tape_error(t) ? NULL : f;
}

/* The step as one node of its traced program: h W_hh^T + b_hh by GEMM,
 * then the rest in one pass, in the node; 1 when it runs composed. */
static int fused_program(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    if (!io->fusion) io->fusion = trace(t, cell, io);
    if (!io->fusion) return -1;
    if (io->fusion == &composed_only) return 1;
    tg_tensor *in[1 + TG_CELL_MAX_STATES + TG_CELL_MAX_PARAMS];
    int n = 0;
    in[n++] = io->gx;
    for (int k = 0; k < cell->n_states; k++) in[n++] = io->state[k];
    for (int p = 0; p < cell->n_params; p++) in[n++] = io->param[p];
    /* the recurrent product is computed inside the node, not kept */
    tg_tensor *prod[3] = {tg_cell_h_in(io), io->w_hh, io->b_hh};
    tg_tensor *y = tg__fused(t, io->fusion, in, prod); /* [S, B, H], or [B, H] for S = 1 */
    tg_label(t, y, "step");
    if (!y) return -1;
    if (cell->n_states == 1) io->next[0] = y;
    for (int k = 0; k < cell->n_states && cell->n_states > 1; k++)
        io->next[k] = tg_reshape(t, tg_narrow(t, y, 0, k, 1), TG_SHAPE(y->shape[1], y->shape[2]));
    return 0;
}

int tg_cell_step(tg_tape *t, const tg_cell *cell, bool composed, tg_cell_io *io) {
    for (int p = 0; p < cell->n_params; p++)
        if (!io->param[p]) {
            tg_tape_fail(t, "%s: parameter %s not given", cell->name, cell->param[p].name);
            return -1;
        }
    tg_cell_step_fn step = composed || !cell->fused ? cell->composed : cell->fused;
    if (!composed && !cell->fused && cell->fuse) {
        for (int k = 0; k < TG_CELL_MAX_STATES; k++) io->next[k] = NULL;
        int rc = fused_program(t, cell, io);
        if (rc < 0 || tg_tape_error(t)) return -1;
        if (rc == 0) {
            for (int k = 0; k < cell->n_states; k++) tg_label(t, io->next[k], cell->state[k].label);
            return tg_tape_error(t) ? -1 : 0;
        }
    }
    for (int k = 0; k < TG_CELL_MAX_STATES; k++) io->next[k] = NULL;
    if (step(t, cell, io) != 0 || tg_tape_error(t)) return -1;
    for (int k = 0; k < cell->n_states; k++) tg_label(t, io->next[k], cell->state[k].label);
    return tg_tape_error(t) ? -1 : 0;
}

tg_tensor *tg_cell_h_in(const tg_cell_io *io) {
    return io->h_in ? io->h_in : io->state[0];
}

tg_tensor *tg_cell_recurrent(tg_tape *t, const tg_cell_io *io) {
    tg_tensor *gh = tg_linear(t, tg_cell_h_in(io), io->w_hh, io->b_hh);
    tg_label(t, gh, "recurrent");
    return gh;
}

/* p's shape is want, or the tape says which argument of fn is not. */
static bool check_shape(tg_tape *t, const char *fn, const char *name, const tg_tensor *p,
                        tg_shape want) {
    bool ok = p->ndim == want.ndim;
    for (int d = 0; ok && d < want.ndim; d++) ok = p->shape[d] == want.dim[d];
    if (!ok) {
        char got[TG_SHAPE_STR_MAX], exp[TG_SHAPE_STR_MAX];
        tg_tape_fail(t, "%s: %s %s: expected %s", fn, name,
                     tg_shape_str(tg_tensor_shape(p), got, sizeof got),
                     tg_shape_str(want, exp, sizeof exp));
    }
    return ok;
}

/* The arguments of a step from x checked against each other, so a wrong
 * weight is named rather than the op it would break. */
static bool check_step(tg_tape *t, const char *fn, const tg_cell *cell, tg_tensor *x,
                       tg_tensor *w_ih, tg_tensor *b_ih, const tg_cell_io *io) {
    tg_tensor *h = io->state[0];
    bool given = x && h && w_ih && io->w_hh;
    char more[64] = ""; /* ", c" */
    for (int k = 1; k < cell->n_states; k++) {
        given = given && io->state[k];
        size_t n = strlen(more);
        snprintf(more + n, sizeof more - n, ", %s", cell->state[k].name);
    }
    if (!given) {
        tg_tape_fail(t, "%s: x, h%s, w_ih and w_hh are required", fn, more);
        return false;
    }
    if (x->ndim != 2 || h->ndim != 2 || x->shape[0] != h->shape[0]) {
        char sx[TG_SHAPE_STR_MAX], sh[TG_SHAPE_STR_MAX];
        tg_tape_fail(t, "%s: x %s and h %s: expected [B, input] and [B, hidden]", fn,
                     tg_shape_str(tg_tensor_shape(x), sx, sizeof sx),
                     tg_shape_str(tg_tensor_shape(h), sh, sizeof sh));
        return false;
    }
    int64_t GH = cell->gates * h->shape[1];
    for (int k = 1; k < cell->n_states; k++)
        if (!check_shape(t, fn, cell->state[k].name, io->state[k], tg_tensor_shape(h)))
            return false;
    for (int p = 0; p < cell->n_params; p++)
        if (io->param[p] && !check_shape(t, fn, cell->param[p].name, io->param[p],
                                         TG_SHAPE(cell->param[p].width * h->shape[1])))
            return false;
    return check_shape(t, fn, "w_ih", w_ih, TG_SHAPE(GH, x->shape[1])) &&
           check_shape(t, fn, "w_hh", io->w_hh, TG_SHAPE(GH, h->shape[1])) &&
           (!b_ih || check_shape(t, fn, "b_ih", b_ih, TG_SHAPE(GH))) &&
           (!io->b_hh || check_shape(t, fn, "b_hh", io->b_hh, TG_SHAPE(GH)));
}

int tg__cell_forward(tg_tape *t, const char *fn, const tg_cell *cell, tg_tensor *x, tg_tensor *w_ih,
                     tg_tensor *b_ih, tg_cell_io *io) {
    for (int k = 0; k < TG_CELL_MAX_STATES; k++) io->next[k] = NULL;
    if (tg_tape_error(t) || !check_step(t, fn, cell, x, w_ih, b_ih, io)) return -1;
    io->gx = tg_linear(t, x, w_ih, b_ih);
    return tg_cell_step(t, cell, false, io);
}

int tg_cell_forward(tg_tape *t, const tg_cell *cell, tg_tensor *x, tg_tensor *w_ih, tg_tensor *b_ih,
                    tg_cell_io *io) {
    if (!cell) {
        tg_tape_fail(t, "tg_cell_forward: cell is NULL");
        return -1;
    }
    return tg__cell_forward(t, "tg_cell_forward", cell, x, w_ih, b_ih, io);
}
