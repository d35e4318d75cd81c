/* The tape as a table (tg_tape_print): a row per node (its name, op,
 * inputs, shape, first values and gradient norm), then a row per input
 * that is not a node. The tape is already in execution order, so this is
 * a loop over its nodes. */
#include "inspect.h"

#include <string.h>

enum { C_IDX, C_NAME, C_OP, C_IN, C_SHAPE, C_VAL, C_GRAD, N_COLS };

/* One row's cells for node i (or leaf -1-i). */
static void node_cells(const tg__look *l, size_t i, char cell[N_COLS][160]) {
    const tg_node *nd = tg__node(l->tape, i);
    char ref[64];
    snprintf(cell[C_IDX], 160, "%zu", i);
    tg__node_name(nd, cell[C_NAME], 160);
    snprintf(cell[C_OP], 160, "%s", tg__op_name(nd->op));
    size_t used = 0;
    cell[C_IN][0] = '\0';
    for (int k = 0; k < nd->n_in; k++) {
        tg__ref(l, nd->in[k], ref, sizeof ref);
        if (used + strlen(ref) + 1 > 60) { /* a long list (stack, concat) is cut */
            snprintf(cell[C_IN] + used, 160 - used, " ...");
            break;
        }
        used += (size_t)snprintf(cell[C_IN] + used, 160 - used, "%s%s", k ? " " : "", ref);
    }
    tg_shape_str(tg_tensor_shape(nd->out), cell[C_SHAPE], 160);
    tg__values(nd->out, false, TG__SHOWN, cell[C_VAL], 160);
    if (nd->out->grad)
        snprintf(cell[C_GRAD], 160, "%.4g", tg__norm(nd->out->grad, nd->out->numel));
    else
        snprintf(cell[C_GRAD], 160, "-");
}

static void leaf_cells(const tg__leaf *lf, char cell[N_COLS][160]) {
    snprintf(cell[C_IDX], 160, "%s", lf->id);
    snprintf(cell[C_NAME], 160, "%s", lf->x->name ? lf->x->name : "");
    snprintf(cell[C_OP], 160, "%s", lf->param ? "param" : "data");
    cell[C_IN][0] = '\0';
    tg_shape_str(tg_tensor_shape(lf->x), cell[C_SHAPE], 160);
    tg__values(lf->x, false, TG__SHOWN, cell[C_VAL], 160);
    if (lf->x->grad)
        snprintf(cell[C_GRAD], 160, "%.4g", tg__norm(lf->x->grad, lf->x->numel));
    else
        snprintf(cell[C_GRAD], 160, "-");
}

static void print_row(FILE *f, char cell[N_COLS][160], const int *w, bool inputs) {
    fprintf(f, "%*s  %-*s  %-*s  ", w[C_IDX], cell[C_IDX], w[C_NAME], cell[C_NAME], w[C_OP],
            cell[C_OP]);
    if (inputs) fprintf(f, "%-*s  ", w[C_IN], cell[C_IN]);
    fprintf(f, "%-*s  %-*s  %s\n", w[C_SHAPE], cell[C_SHAPE], w[C_VAL], cell[C_VAL], cell[C_GRAD]);
}

static void widen(int *w, char cell[N_COLS][160]) {
    for (int c = 0; c < N_COLS; c++) {
        int len = (int)strlen(cell[c]);
        if (len > w[c]) w[c] = len;
    }
}

int tg_tape_print(const tg_tape *t, FILE *f) {
    if (!t || !f) return -1;
    tg__look l;
    if (tg__look_init(&l, t) != 0) return -1;
    static char head[N_COLS][160] = {"#", "name", "op", "inputs", "shape", "value", "|grad|"};
    static char lhead[N_COLS][160] = {"id", "name", "kind", "", "shape", "value", "|grad|"};
    char cell[N_COLS][160];
    int w[N_COLS] = {0};
    widen(w, head);
    widen(w, lhead);
    for (size_t i = 0; i < l.n; i++) node_cells(&l, i, cell), widen(w, cell);
    for (int k = 0; k < l.n_leaf; k++) leaf_cells(&l.leaf[k], cell), widen(w, cell);

    fprintf(f, "tape: %zu nodes; %d parameters and %d data tensors feed them\n", l.n, l.n_param,
            l.n_leaf - l.n_param);
    if (tg_tape_error(t)) fprintf(f, "tape in error: %s\n", tg_tape_error(t));
    print_row(f, head, w, true);
    for (size_t i = 0; i < l.n; i++) node_cells(&l, i, cell), print_row(f, cell, w, true);
    if (l.n_leaf) {
        fprintf(f, "\ninputs that are not nodes:\n");
        print_row(f, lhead, w, false);
        for (int k = 0; k < l.n_leaf; k++)
            leaf_cells(&l.leaf[k], cell), print_row(f, cell, w, false);
    }
    tg__look_free(&l);
    return ferror(f) ? -1 : 0;
}
