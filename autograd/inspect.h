/* What the ways of looking at a tape share (inspect_print.c, the table;
 * inspect_dot.c, the picture; inspect_json.c, the trace; stepper.c): a view
 * of a tape that knows which inputs are nodes and which are leaves
 * (parameters and data, each listed once), and how to name and show them
 * (inspect.c). Internal. */
#ifndef TG_INSPECT_H
#define TG_INSPECT_H

#include <stdio.h>

#include "op.h"

/* A pointer -> index map (open addressing), for "have I seen this tensor". */
typedef struct tg__ptrmap {
    const void **keys;
    int *vals;
    size_t cap, n;
} tg__ptrmap;

int tg__ptrmap_get(const tg__ptrmap *m, const void *key);    /* -1 if absent */
int tg__ptrmap_put(tg__ptrmap *m, const void *key, int val); /* 0, or -1 */
void tg__ptrmap_free(tg__ptrmap *m);

/* An input that no node produced: a parameter or a piece of data. */
typedef struct tg__leaf {
    tg_tensor *x;
    bool param;  /* requires grad */
    char id[16]; /* "p0", "c3": unique within the tape */
} tg__leaf;

typedef struct tg__look {
    const tg_tape *tape;
    size_t n;       /* nodes */
    tg__leaf *leaf; /* in order of first use */
    int n_leaf, n_param;
    tg__ptrmap map; /* leaf tensor -> index in leaf */
} tg__look;

/* 0, or -1 when out of memory. */
int tg__look_init(tg__look *l, const tg_tape *t);
void tg__look_free(tg__look *l);

/* The node that produced x on this tape, or -1 if x is a leaf. */
int tg__node_of(const tg__look *l, const tg_tensor *x);
/* The leaf entry of x, or NULL. */
const tg__leaf *tg__leaf_of(const tg__look *l, const tg_tensor *x);
/* How a reader refers to x: "#3" for a node's output, else the leaf's name
 * or id. Returns buf. */
const char *tg__ref(const tg__look *l, const tg_tensor *x, char *buf, size_t n);
/* "scope.label", the scope alone, the label alone or "". Returns buf. */
const char *tg__node_name(const tg_node *nd, char *buf, size_t n);
/* The first k values (or the gradient's, contiguous when grad) as
 * "0.1 -0.25 3 ..." with 4 significant digits. Returns buf. */
const char *tg__values(const tg_tensor *x, bool grad, int k, char *buf, size_t n);
const char *tg__reals(const tg_real *v, int64_t numel, int k, char *buf, size_t n);
double tg__norm(const tg_real *g, int64_t n);

/* Values per tensor in the table and the picture. */
#define TG__SHOWN 4

/* inspect_json.c: JSON pieces of the trace: a string (NULL as null), a number with the
 * digits to read it back (non-finite as null), and x's id ("n3", "p0"). */
void tg__json_str(FILE *f, const char *s);
void tg__json_num(FILE *f, double v);
void tg__json_id(FILE *f, const tg__look *l, const tg_tensor *x);

#endif
