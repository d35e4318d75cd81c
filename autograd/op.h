/* What an op's implementation needs from the tape: the node type, arena
 * allocation, input checks, error reporting and the op table. Internal to
 * the library. An op file holds, for each op, its forward (public, tg_NAME)
 * and its backward (tg__NAME_backward) side by side. */
#ifndef TG_OP_H
#define TG_OP_H

#include "../core/kernels.h"
#include "arena.h"
#include "autograd.h"

enum tg_op_id {
#define TG_OP(id, name) TG_OP_##id,
#include "ops.def"
#undef TG_OP
    TG_OP_COUNT
};

/* One recorded op. Backward reads out->grad and adds into in[i]->grad for
 * every input with requires_grad (the tape has allocated those buffers). */
typedef struct tg_node {
    int op;
    int n_in;
    tg_tensor **in;
    tg_tensor *out;
    int64_t i[4];  /* small integer arguments (axis, sizes, ...) */
    double f[2];   /* small real arguments (scale, exponent, ...) */
    void *saved;   /* arena memory the backward needs */
    const char *scope; /* the scope path when recorded ("" at top level) */
    const char *label; /* a name given with tg_label, or NULL */
    /* Set by an op whose output's gradient is one contiguous run of its
     * first input's gradient, starting at grad_offset (a reshape, a slice
     * along the first dimension): tg_backward then keeps the output's
     * gradient inside the input's (tape.c), and the op's backward finds it
     * already in place. */
    bool grad_in_input;
    int64_t grad_offset;
} tg_node;

typedef void (*tg_backward_fn)(tg_tape *t, tg_node *n);

#define TG_OP(id, name) void tg__##name##_backward(tg_tape *t, tg_node *n);
#include "ops.def"
#undef TG_OP

/* The name of an op as written outside the program ("matmul"). */
const char *tg__op_name(int op);
/* Its backward (from the one op table, tape.c), for code that replays
 * nodes (stepper.c). */
tg_backward_fn tg__op_backward(int op);
/* Node i in execution order (i < tg_tape_node_count), or NULL; for code
 * that looks at the tape (inspect.c, stepper.c). */
tg_node *tg__node(const tg_tape *t, size_t i);

/* Checks that the tape is usable and no input is NULL (naming the op and the
 * argument otherwise). Ops start with it and return NULL when it fails. */
bool tg__begin(tg_tape *t, const char *op, int n, tg_tensor *const *in);
/* Records the first error on the tape (printf-style); later ones are
 * dropped so the message names the cause, not its consequences. */
#define tg__fail tg_tape_fail
bool tg__failed(const tg_tape *t);

/* Arena memory for this step; sets an error and returns NULL when out of
 * memory. */
void *tg__alloc(tg_tape *t, size_t bytes);
/* A new contiguous tensor on the tape (data uninitialised). */
tg_tensor *tg__tensor(tg_tape *t, tg_shape s);
/* A tensor header on the tape sharing x's data (caller sets the view). */
tg_tensor *tg__view_of(tg_tape *t, const tg_tensor *x);
/* The gradients of y = x W^T + b over `rows` rows given dy [rows, out]:
 * x->grad += dy W, W's += dy^T x (gathered for a parameter, see tape.c),
 * b's += the column sums of dy; each only if it requires grad. xd is x's
 * data as a dense [rows, in] array, wd W's with strides rsw, csw. */
void tg__linear_grads(tg_tape *t, tg_tensor *x, const tg_real *xd, tg_tensor *w,
                      const tg_real *wd, int64_t rsw, int64_t csw, tg_tensor *b,
                      const tg_real *dy, int64_t rows);
/* x (row-major) seen as [outer, len, inner] around axis ax: element k of
 * line (o, i) is at (o * len + k) * inner + i (reductions and softmax). */
typedef struct tg__lines {
    int64_t outer, len, inner;
} tg__lines;

static inline tg__lines tg__lines_of(const tg_tensor *x, int ax) {
    tg__lines l = {1, x->shape[ax], 1};
    for (int d = 0; d < ax; d++) l.outer *= x->shape[d];
    for (int d = ax + 1; d < x->ndim; d++) l.inner *= x->shape[d];
    return l;
}

/* x's values as a contiguous row-major array: x->data itself when x is
 * contiguous, else a copy on the tape. */
const tg_real *tg__contig(tg_tape *t, const tg_tensor *x);

/* Appends a node producing `out` from `in`, if grad recording is on and any
 * input requires grad; sets out->requires_grad and out->node. Returns the
 * node (to fill in arguments and saved data) or NULL if none was needed. */
tg_node *tg__record(tg_tape *t, int op, tg_tensor *out, int n, tg_tensor *const *in);

/* Weight gradients w->grad [out, in] += dy^T x for a weight w (a heap
 * parameter) with dy [rows, out] and x [rows, in] contiguous and alive until
 * the end of backward: deferred, then gathered per weight into one GEMM. */
typedef struct tg__weight_grad {
    tg_tensor *w;
    const tg_real *dy, *x;
    int64_t rows;
} tg__weight_grad;
void tg__defer_weight_grad(tg_tape *t, tg_tensor *w, const tg_real *dy, const tg_real *x,
                           int64_t rows);
void tg__weight_grad_now(tg_tensor *w, const tg_real *dy, const tg_real *x, int64_t rows);

/* A shape as "[2,3]" in a caller's buffer, for messages. */
#define TG_SHP(x, buf) tg_shape_str(tg_tensor_shape(x), buf, sizeof buf)
/* Normalises a possibly negative axis; -1 if out of range. */
int tg__axis(int axis, int ndim);

#endif
