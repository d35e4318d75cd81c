/* Cells from equations (the spec's "cell" layer, docs/spec.md "Cells from
 * equations"): a cell's gates, states and parameters by name, and one
 * expression per new state, parsed once into a flat node list
 * (cell_expr.c) and run each step as tape ops (cell_eval.c). A definition
 * holds no pointers, so a copy is a memcpy and a built layer keeps its own.
 * Internal to model/. */
#ifndef TG_MODEL_CELL_EXPR_H
#define TG_MODEL_CELL_EXPR_H

#include "../nn/cell.h"

#define TG_CX_NAME_MAX 32    /* a name's bytes, with the NUL */
#define TG_CX_MAX_GATES 32   /* gates of one cell */
#define TG_CX_MAX_EQS 32     /* equations: the states' and the helpers' */
#define TG_CX_MAX_TERMS 256  /* nodes of one equation */
#define TG_CX_MAX_NODES 2048 /* nodes of all equations */
#define TG_CX_MAX_DEPTH 64   /* nested parentheses and calls */
#define TG_CX_MAX_WIDTH 64   /* a parameter's blocks of H */

/* What a node is. Leaves name a value of the step; the rest combine their
 * operands a, b (node indices, smaller than the node's own). */
typedef enum tg__cx_kind {
    TG_CX_NUM,       /* a number: num */
    TG_CX_GATE,      /* gate ref's pre-activation, x_g + h_g */
    TG_CX_XSHARE,    /* x_g: the input's share of gate ref (x W_ih^T + b_ih) */
    TG_CX_HSHARE,    /* h_g: the recurrent share of gate ref (h W_hh^T + b_hh) */
    TG_CX_STATE,     /* the previous value of state ref */
    TG_CX_EQ,        /* equation ref's value: a new state (c') or a helper */
    TG_CX_PARAM,     /* block `block` of parameter ref, [H] */
    TG_CX_NEG,       /* -a */
    TG_CX_ADD,       /* a + b */
    TG_CX_SUB,       /* a - b */
    TG_CX_MUL,       /* a * b */
    TG_CX_DIV,       /* a / b */
    TG_CX_CALL       /* function ref of a (and, for pow and clamp, the numbers num, num2) */
} tg__cx_kind;

typedef struct tg__cx_node {
    int kind;        /* tg__cx_kind */
    int ref;         /* gate, state, equation, parameter or function index */
    int block;       /* TG_CX_PARAM */
    int a, b;        /* operands, -1: none */
    double num, num2;
    int col;         /* where it starts in its equation, from 1 (messages) */
} tg__cx_node;

/* A function of equations: a row of the table in cell_eval.c. */
typedef struct tg__cx_fn {
    const char *name;
    int numbers; /* the number arguments after the tensor one: pow 1, clamp 2 */
    tg_tensor *(*run)(tg_tape *t, tg_tensor *x, double k1, double k2);
} tg__cx_fn;

/* The function called name, or NULL (cell_eval.c), and the table's names. */
const tg__cx_fn *tg__cx_fn_find(const char *name, int *index);
const tg__cx_fn *tg__cx_fn_at(int index);
extern const char *const tg__cx_fn_names[];

typedef struct tg__cx_param {
    char name[TG_CX_NAME_MAX];
    int width;    /* blocks of H: name[0] .. name[width-1] */
    bool uniform; /* U(-1/sqrt(H), 1/sqrt(H)); else every entry `init` */
    double init;
} tg__cx_param;

typedef struct tg__cx_eq {
    char name[TG_CX_NAME_MAX]; /* a state's name, or a helper's */
    int state;                 /* the state it gives, or -1 for a helper */
    int first, root;           /* its nodes: [first, root], root last */
} tg__cx_eq;

/* A parsed cell. eq is in the order the step runs them (each after the
 * equations it reads). */
typedef struct tg__cell_def {
    int n_gates, n_states, n_params, n_eqs, n_nodes;
    /* no equation reads a gate's x_g or h_g apart: a step adds gx and the
     * recurrent product once and views each gate in the sum */
    bool gates_whole;
    char gate[TG_CX_MAX_GATES][TG_CX_NAME_MAX];
    char state[TG_CELL_MAX_STATES][TG_CX_NAME_MAX]; /* [0] is h, the output */
    tg__cx_param param[TG_CELL_MAX_PARAMS];
    tg__cx_eq eq[TG_CX_MAX_EQS];
    tg__cx_node node[TG_CX_MAX_NODES];
} tg__cell_def;

/* Where a parse failed: col (from 1; 0: the equation as a whole) and why. */
typedef struct tg__cx_error {
    int col;
    char msg[160];
} tg__cx_error;

/* Parses equation number e's text (d's names all known; d->eq[e].name
 * set) into d's nodes, setting eq[e].first and root. 0, or -1 with err. */
int tg__cx_parse(tg__cell_def *d, int e, const char *text, tg__cx_error *err);

/* The step of a cell whose ctx is a tg__cell_def (a tg_cell_step_fn):
 * every equation in order as tape ops, the states' into io->next. */
int tg__cx_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io);

#endif
