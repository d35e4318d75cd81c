/* A cell from equations, run: the functions equations may call (one row
 * each) and the step that turns a parsed definition (cell_expr.h) into tape
 * ops. Every value is an ordinary op, so the layer's .fuse traces the step
 * into one node like any cell written in C, and an equation written as a
 * built-in cell's code (the same ops in the same order) gives its numbers
 * bit for bit. */
#include <string.h>

#include "cell_expr.h"

static tg_tensor *f_sigmoid(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_sigmoid(t, x);
}
static tg_tensor *f_tanh(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_tanh(t, x);
}
static tg_tensor *f_relu(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_relu(t, x);
}
static tg_tensor *f_exp(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_exp(t, x);
}
static tg_tensor *f_log(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_log(t, x);
}
static tg_tensor *f_sqrt(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_sqrt(t, x);
}
static tg_tensor *f_abs(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_abs(t, x);
}
static tg_tensor *f_square(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_square(t, x);
}
/* x / (1 + |x|) */
static tg_tensor *f_softsign(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_div(t, x, tg_add_scalar(t, tg_abs(t, x), 1));
}
/* PyTorch's hardsigmoid: clamp(x / 6 + 1/2, 0, 1) */
static tg_tensor *f_hard_sigmoid(tg_tape *t, tg_tensor *x, double a, double b) {
    (void)a, (void)b;
    return tg_clamp(t, tg_add_scalar(t, tg_scale(t, x, 1.0 / 6), 0.5), 0, 1);
}
static tg_tensor *f_pow(tg_tape *t, tg_tensor *x, double p, double b) {
    (void)b;
    return tg_pow(t, x, p);
}
static tg_tensor *f_clamp(tg_tape *t, tg_tensor *x, double lo, double hi) {
    return tg_clamp(t, x, lo, hi);
}

/* The functions, one row each; the names in the same order for messages. */
static const tg__cx_fn FNS[] = {
    {"sigmoid", 0, f_sigmoid}, {"tanh", 0, f_tanh},         {"relu", 0, f_relu},
    {"exp", 0, f_exp},         {"log", 0, f_log},           {"sqrt", 0, f_sqrt},
    {"abs", 0, f_abs},         {"square", 0, f_square},     {"softsign", 0, f_softsign},
    {"hard_sigmoid", 0, f_hard_sigmoid}, {"pow", 1, f_pow}, {"clamp", 2, f_clamp},
};
enum { N_FNS = sizeof FNS / sizeof FNS[0] };
const char *const tg__cx_fn_names[N_FNS + 1] = {
    "sigmoid", "tanh", "relu", "exp",          "log", "sqrt",  "abs",
    "square",  "softsign", "hard_sigmoid", "pow", "clamp", NULL};

const tg__cx_fn *tg__cx_fn_find(const char *name, int *index) {
    for (int i = 0; i < N_FNS; i++)
        if (strcmp(FNS[i].name, name) == 0) {
            if (index) *index = i;
            return &FNS[i];
        }
    return NULL;
}

const tg__cx_fn *tg__cx_fn_at(int index) {
    return index >= 0 && index < N_FNS ? &FNS[index] : NULL;
}

/* One step's values: what the leaves read, made on first use. */
typedef struct run {
    tg_tape *t;
    tg_cell_io *io;
    const tg__cell_def *d;
    int64_t H;
    tg_tensor *gh; /* h W_hh^T + b_hh [B, G*H] */
    tg_tensor *pre; /* gx + gh [B, G*H], when the gates are read whole */
    tg_tensor *gate[TG_CX_MAX_GATES], *xs[TG_CX_MAX_GATES], *hs[TG_CX_MAX_GATES];
    tg_tensor *eq[TG_CX_MAX_EQS];
} run;

static tg_tensor *xshare(run *r, int g) {
    if (!r->xs[g]) r->xs[g] = tg_narrow(r->t, r->io->gx, 1, g * r->H, r->H);
    return r->xs[g];
}

/* h W_hh^T + b_hh, made on first use */
static tg_tensor *recurrent(run *r) {
    if (!r->gh) r->gh = tg_cell_recurrent(r->t, r->io);
    return r->gh;
}

static tg_tensor *hshare(run *r, int g) {
    if (!r->hs[g] && recurrent(r)) r->hs[g] = tg_narrow(r->t, r->gh, 1, g * r->H, r->H);
    return r->hs[g];
}

/* Gate g's pre-activation x_g + h_g. When every gate is read whole, one
 * add of gx and the product serves them all, as a cell written in C would
 * do it (one instruction of a fused step, not one per gate), with the
 * same sums element for element. */
static tg_tensor *gate(run *r, int g) {
    if (r->gate[g]) return r->gate[g];
    if (!r->d->gates_whole)
        r->gate[g] = tg_add(r->t, xshare(r, g), hshare(r, g));
    else {
        if (!r->pre) r->pre = tg_add(r->t, r->io->gx, recurrent(r));
        r->gate[g] = tg_narrow(r->t, r->pre, 1, g * r->H, r->H);
    }
    tg_label(r->t, r->gate[g], r->d->gate[g]);
    return r->gate[g];
}

static tg_tensor *leaf(run *r, const tg__cx_node *n) {
    switch (n->kind) {
    case TG_CX_GATE: return gate(r, n->ref);
    case TG_CX_XSHARE: return xshare(r, n->ref);
    case TG_CX_HSHARE: return hshare(r, n->ref);
    case TG_CX_STATE: return r->io->state[n->ref];
    case TG_CX_EQ: return r->eq[n->ref];
    default: break;
    }
    tg_tensor *p = r->io->param[n->ref]; /* TG_CX_PARAM: block k of [width*H] */
    return r->d->param[n->ref].width == 1 ? p : tg_narrow(r->t, p, 0, n->block * r->H, r->H);
}

/* a op b where at most one side is a number (the parser folds two) */
static tg_tensor *binary(tg_tape *t, int kind, const tg__cx_node *na, tg_tensor *a,
                         const tg__cx_node *nb, tg_tensor *b) {
    bool ka = na->kind == TG_CX_NUM, kb = nb->kind == TG_CX_NUM;
    switch (kind) {
    case TG_CX_ADD:
        return ka ? tg_add_scalar(t, b, na->num) : kb ? tg_add_scalar(t, a, nb->num) : tg_add(t, a, b);
    case TG_CX_SUB: /* k - b as -b + k: the same rounding */
        return ka ? tg_add_scalar(t, tg_neg(t, b), na->num)
               : kb ? tg_add_scalar(t, a, -nb->num)
                    : tg_sub(t, a, b);
    case TG_CX_MUL: return ka ? tg_scale(t, b, na->num) : kb ? tg_scale(t, a, nb->num) : tg_mul(t, a, b);
    default: /* DIV: by a number as times its inverse */
        return ka ? tg_div(t, tg_full(t, TG_SHAPE(1), (tg_real)na->num), b)
               : kb ? tg_scale(t, a, 1 / nb->num)
                    : tg_div(t, a, b);
    }
}

/* Equation e's nodes in order; its value, or NULL with the tape's error. */
static tg_tensor *equation(run *r, int e) {
    const tg__cx_eq *q = &r->d->eq[e];
    const tg__cx_node *nd = r->d->node;
    tg_tensor *v[TG_CX_MAX_TERMS];
    for (int i = q->first; i <= q->root; i++) {
        const tg__cx_node *n = &nd[i];
        tg_tensor **y = &v[i - q->first];
        if (n->kind == TG_CX_NUM)
            *y = NULL;
        else if (n->kind < TG_CX_NEG)
            *y = leaf(r, n);
        else if (n->kind == TG_CX_NEG)
            *y = tg_neg(r->t, v[n->a - q->first]);
        else if (n->kind == TG_CX_CALL)
            *y = tg__cx_fn_at(n->ref)->run(r->t, v[n->a - q->first], n->num, n->num2);
        else
            *y = binary(r->t, n->kind, &nd[n->a], v[n->a - q->first], &nd[n->b],
                        v[n->b - q->first]);
        if (tg_tape_error(r->t)) return NULL;
    }
    return v[q->root - q->first];
}

int tg__cx_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    run r = {.t = t, .io = io, .d = cell->ctx, .H = io->state[0]->shape[1]};
    for (int e = 0; e < r.d->n_eqs; e++) {
        const tg__cx_eq *q = &r.d->eq[e];
        tg_tensor *y = r.eq[e] = equation(&r, e);
        if (!y) return -1;
        if (y->ndim != 2 || y->shape[0] != io->state[0]->shape[0] || y->shape[1] != r.H) {
            char got[TG_SHAPE_STR_MAX];
            tg_tape_fail(t, "%s: equation %s gives %s, expected [%lld, %lld]", cell->name, q->name,
                         tg_shape_str(tg_tensor_shape(y), got, sizeof got),
                         (long long)io->state[0]->shape[0], (long long)r.H);
            return -1;
        }
        if (q->state >= 0)
            io->next[q->state] = y;
        else
            tg_label(t, y, q->name);
    }
    return 0;
}
