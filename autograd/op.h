/* What an op's implementation needs from the tape: the node type, arena
 * allocation, input checks, error reporting and the op table. Internal to
 * the library. An op file holds, for each op, its forward (public, tg_NAME)
 * and its backward (tg__NAME_backward) side by side. */
#ifndef TG_OP_H
#define TG_OP_H

#include "../core/kernels.h"
#include "arena.h"
#include "autograd.h"
#include "packs.h"

enum tg_op_id {
#define TG_OP(id, name, assigns) TG_OP_##id,
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
    int64_t i[4];      /* small integer arguments (axis, sizes, ...) */
    double f[2];       /* small real arguments (scale, exponent, ...) */
    void *saved;       /* arena memory the backward needs */
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

#define TG_OP(id, name, assigns) void tg__##name##_backward(tg_tape *t, tg_node *n);
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

/* The rows y [rows, out] of x W^T + b exactly as tg_linear computes them
 * (b copied into every row, or added to what y holds when add, then the
 * product accumulated), for a node that takes the product inside (a fused
 * step). px is x's rows, contiguous; *pw, *rsw, *csw say how W was read,
 * for tg__linear_grads. false with the tape's error set. */
bool tg__linear_rows(tg_tape *t, const tg_real *px, int64_t rows, tg_tensor *w, tg_tensor *b,
                     bool add, tg_real *y, const tg_real **pw, int64_t *rsw, int64_t *csw);
/* The tape's packed recurrent weights (packs.h). */
tg__packs *tg__tape_packs(tg_tape *t);
/* Arena memory for this step; sets an error and returns NULL when out of
 * memory. */
void *tg__alloc(tg_tape *t, size_t bytes);
/* A new contiguous tensor on the tape (data uninitialised). */
tg_tensor *tg__tensor(tg_tape *t, tg_shape s);
/* A tensor header on the tape sharing x's data (caller sets the view). */
tg_tensor *tg__view_of(tg_tape *t, const tg_tensor *x);
/* For a backward marked `assigns` in ops.def: true when x's gradient buffer
 * is fresh (allocated, nothing written), so this write assigns (GEMM beta
 * 0, `=`) and must cover all of it; later writes add. Clears the mark. */
static inline bool tg__grad_first(tg_tensor *x) {
    bool fresh = x->grad_fresh;
    x->grad_fresh = false;
    return fresh;
}
/* x's gradient as a value to add to: zeroes a fresh buffer. */
void tg__grad_settle(tg_tensor *x);

/* The gradients of y = x W^T + b over `rows` rows given dy [rows, out]:
 * x->grad += dy W, W's += dy^T x (gathered for a parameter, see tape.c),
 * b's += the column sums of dy; each only if it requires grad; a fresh
 * buffer (tg__grad_first) is assigned instead. xd is x's
 * data as a dense [rows, in] array, wd W's with strides rsw, csw. */
void tg__linear_grads(tg_tape *t, tg_tensor *x, const tg_real *xd, tg_tensor *w, const tg_real *wd,
                      int64_t rsw, int64_t csw, tg_tensor *b, const tg_real *dy, int64_t rows);
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

/* Checks tg_backward runs when they are installed (anomaly detection,
 * anomaly.c, installs its own: the tape knows only this table). Each
 * returns 0, or -1 after putting the tape in error with the report: the
 * forward outputs of nodes 0..last, the gradients node i (nd) added into
 * its inputs, and the parameters' gathered gradients. */
typedef struct tg__tape_checks {
    int (*forward)(tg_tape *t, int64_t last);
    int (*backward)(tg_tape *t, const tg_node *nd, int64_t i);
    int (*leaves)(tg_tape *t, int64_t last);
} tg__tape_checks;
/* Installs checks (NULL: none); returns the ones installed before. */
const tg__tape_checks *tg__tape_set_checks(tg_tape *t, const tg__tape_checks *checks);
/* The checks installed, or NULL. */
const tg__tape_checks *tg__tape_checks_of(const tg_tape *t);
/* x's values as a contiguous row-major array: x->data itself when x is
 * contiguous, else a copy on the tape. */
const tg_real *tg__contig(tg_tape *t, const tg_tensor *x);

/* Appends a node producing `out` from `in`, if grad recording is on and any
 * input requires grad; sets out->requires_grad and out->node. Returns the
 * node (to fill in arguments and saved data) or NULL if none was needed. */
tg_node *tg__record(tg_tape *t, int op, tg_tensor *out, int n, tg_tensor *const *in);

/* Weight gradients w->grad [out, in] += dy^T x for a weight w (a heap
 * parameter) with dy [rows, out] and x [rows, in] contiguous: inside
 * backward, gathered per weight into few large GEMMs (see tape.c); the
 * rows are copied, so dy and x need only live until the call returns. */
typedef struct tg__gather tg__gather;
void tg__defer_weight_grad(tg_tape *t, tg_tensor *w, const tg_real *dy, const tg_real *x,
                           int64_t rows);
void tg__weight_grad_now(tg_tensor *w, const tg_real *dy, const tg_real *x, int64_t rows);

/* ---- segments recomputed inside backward (nn/rnn_recompute.c) ----------
 * An op whose forward ran without recording (keeping little) records its
 * ops again in its own backward, on a scratch region of the tape, runs
 * backward over them and gives the region back. */
typedef struct tg__tape_mark {
    size_t n_nodes;
    tg_arena_mark arena;
    const char *scope;
    size_t n_scopes;
} tg__tape_mark;
/* The tape's current end: nodes and arena memory. */
tg__tape_mark tg__tape_mark_get(const tg_tape *t);
/* Forgets the nodes and arena memory since m (their tensors are gone). */
void tg__tape_release(tg_tape *t, tg__tape_mark m);
/* Gives x a gradient buffer as backward would (a view's inside its
 * input's) and copies g [x->numel] into it, or adds g to it. */
bool tg__seed_grad(tg_tape *t, tg_tensor *x, const tg_real *g, bool copy);
/* Backward over the nodes recorded since m, last first, exactly as
 * tg_backward visits nodes. Returns 0, or -1 with the tape's error set. */
int tg__backward_since(tg_tape *t, tg__tape_mark m);

/* A chain of T steps run in segments of len steps (ops_recompute.c).
 * steps(t, arg, s0, s1, state, outs) records steps s0 .. s1-1 as ordinary
 * ops: state[0 .. n_states) comes in as the state before step s0 and
 * leaves as the state after s1-1, and outs[tt] gets the output of time tt
 * (tt = s, or T-1-s when reverse); every output has shape row, state i
 * shape state_row[i] (row where its ndim is 0: an LSTM with proj_size has
 * h narrower than c). alias: the state's first tensor after a step is that
 * step's output (the same tensor). arg is read in backward too: it must
 * live on the tape. */
#define TG_SEGMENT_STATES 4
typedef int (*tg__steps_fn)(tg_tape *t, const void *arg, int64_t s0, int64_t s1, tg_tensor **state,
                            tg_tensor **outs);
typedef struct tg__segments {
    tg__steps_fn steps;
    const void *arg;
    int64_t T, len;
    bool reverse, alias;
    int n_states;
    tg_shape row;
    tg_shape state_row[TG_SEGMENT_STATES];
} tg__segments;
/* Runs the chain from state0 without recording, keeping each segment's
 * initial state, and records one RECOMPUTE node over `in` (every tensor the
 * steps read whose gradient they add to) whose backward records each
 * segment again, from the last, and backpropagates through it. Returns out,
 * flat: the outputs by time, then the final states (read them with the two
 * functions below); NULL with the tape's error set. */
tg_tensor *tg__segments_run(tg_tape *t, const tg__segments *spec, tg_tensor *const *state0,
                            int n_in, tg_tensor *const *in);
/* Views of tg__segments_run's out: the outputs [T, row...], and final
 * state i (state_row[i]). */
tg_tensor *tg__segments_outputs(tg_tape *t, const tg__segments *spec, tg_tensor *out);
tg_tensor *tg__segments_state(tg_tape *t, const tg__segments *spec, tg_tensor *out, int i);

/* A loss summed over n_seg segments of a chain (ops_segment_sum.c).
 * run(t, arg, j, again, state) records segment j as ordinary ops:
 * state[0 .. n_states) comes in as the state before it (at j = 0 the
 * entries of state0, which may be NULL for zeros) and leaves as the state
 * after it, each of shapes[i]; it returns the segment's 0-d loss. again:
 * backward is running it a second time (what it drew at random must come
 * out the same). arg is read in backward too: it must outlive backward. */
typedef tg_tensor *(*tg__segment_fn)(tg_tape *t, const void *arg, int64_t j, bool again,
                                     tg_tensor **state);
typedef struct tg__segment_sum {
    tg__segment_fn run;
    const void *arg;
    int64_t n_seg;
    int n_states;
    const tg_shape *shapes; /* [n_states] */
} tg__segment_sum;
/* Runs the segments without recording, keeping each one's initial state,
 * and records one SEGMENT_SUM node over `in` (every tensor the segments
 * read whose gradient they add to) whose backward records each segment
 * again, from the last, and backpropagates through it. Returns the 0-d sum
 * of the losses, and in final (if not NULL) the state after the last
 * segment (constants on the tape); NULL with the tape's error set. */
tg_tensor *tg__segment_sum_run(tg_tape *t, const tg__segment_sum *spec, tg_tensor *const *state0,
                               int n_in, tg_tensor *const *in, tg_tensor **final);

/* A row x [W] of a layer norm (ops_norm.c), which a fused program's rule
 * shares (fuse_rules.c) so both give the same numbers: its mean and s =
 * sqrt(var + eps), the sums by blocks into double (row_sums.h). */
void tg__norm_stats(const tg_real *x, int64_t W, tg_real eps, tg_real *mean, tg_real *s);
/* xh [W] = (x - mean) * (1 / s), then the stats in *mean and *s. */
void tg__norm_row(const tg_real *x, int64_t W, tg_real eps, tg_real *xh, tg_real *mean,
                  tg_real *s);
/* gx [W] += (d - mean(d) - xh * mean(d * xh)) * (1 / s): the gradient of xh for
 * d its adjoint (y's gradient times the gain). */
void tg__norm_row_grad(int64_t W, const tg_real *xh, tg_real s, const tg_real *d, tg_real *gx);

/* A shape as "[2,3]" in a caller's buffer, for messages. */
#define TG_SHP(x, buf) tg_shape_str(tg_tensor_shape(x), buf, sizeof buf)
/* Normalises a possibly negative axis; -1 if out of range. */
int tg__axis(int axis, int ndim);

#endif
