/* A chain of steps in bounded memory (a recurrent layer under
 * memory.recompute): forward runs the steps without recording, one segment
 * of k steps at a time on a scratch region of the tape, and keeps only the
 * state at each segment's start and the steps' outputs; the node's backward
 * records each segment again, from the last, backpropagates through it and
 * gives its region back (Chen et al. 2016, Gruslys et al. 2016).
 *
 * The gradients equal the full tape's bit for bit. The segment's ops are
 * the full tape's ops (the caller's steps function), visited in the same
 * order; what remains is that every gradient buffer receives the same
 * additions in the same order as on the full tape:
 *   - a step's output first gets what came from outside the chain (the
 *     caller's stack of outputs comes after every step on the full tape),
 *     then what its next step sends back: seeded by adding out's gradient
 *     row before the segment's backward runs;
 *   - the state between two segments: its gradient is summed while the later
 *     segment runs (on a leaf over the saved state) and copied into the
 *     earlier one's final state as it stands. When that state is also the
 *     last step's output (alias), the leaf gets the outside gradient first,
 *     as on the full tape;
 *   - weight gradients gathered over steps are copied into bounded buffers
 *     as they come (tape.c), so their products do not depend on where
 *     segments begin.
 * out is flat: the T outputs [rows, cols] by time, then the S final states
 * (each its own shape: an LSTM's h may be narrower than its c).
 *
 * With alias, a segment's initial h is the previous step's output, already
 * in out: the checkpoints keep only the other states (an LSTM's c), and the
 * leaf for h reads out's row, so the kept states cost half as much (8 MB of
 * an LSTM 256's 16 at T = 4096, batch 32) for the same values. */
#include "op.h"

#include <string.h>

typedef struct segments_ctx {
    tg__segments spec;
    tg_tensor *state0[TG_SEGMENT_STATES]; /* the state before step 0 */
    int64_t n_seg;
    int64_t sn[TG_SEGMENT_STATES], soff[TG_SEGMENT_STATES], SN; /* state i: numel,
                          offset in a block of the S states; the block's size */
    int first_kept;    /* the first state the checkpoints hold: 1 with alias */
    int64_t CN;        /* a checkpoint's size: SN less h's with alias */
    tg_real *ckpt;     /* [n_seg, CN]: each segment's initial states from first_kept */
    tg_tensor **outs;  /* [T], scratch for the steps function */
} segments_ctx;

/* A [rows, cols] tensor on the tape over saved state data (no copy). */
static tg_tensor *state_leaf(tg_tape *t, tg_real *data, tg_shape row, bool grad) {
    tg_tensor proto = {0};
    tg_tensor_set_shape(&proto, row);
    proto.data = data;
    proto.node = -1;
    tg_tensor *x = tg__view_of(t, &proto);
    if (x) x->requires_grad = grad;
    return x;
}

static int64_t time_of(const segments_ctx *c, int64_t s) {
    return c->spec.reverse ? c->spec.T - 1 - s : s;
}

/* Where segment j's (j > 0) saved initial state i lies: in its checkpoint,
 * or for an aliased h, in out's row of the step before (outd: out's data). */
static tg_real *saved_state(const segments_ctx *c, tg_real *outd, int64_t j, int i) {
    if (i < c->first_kept)
        return outd + time_of(c, j * c->spec.len - 1) * tg_shape_numel(c->spec.row);
    return c->ckpt + j * c->CN + c->soff[i] - (c->SN - c->CN);
}

/* The state before segment j: the chain's initial one, or leaves over the
 * saved one (which take gradients when `grad`). */
static void segment_start(tg_tape *t, const segments_ctx *c, tg_real *outd, int64_t j, bool grad,
                          tg_tensor **state) {
    for (int i = 0; i < c->spec.n_states; i++)
        state[i] = j == 0 ? c->state0[i]
                          : state_leaf(t, saved_state(c, outd, j, i), c->spec.state_row[i], grad);
}

/* Steps s0 .. s1-1 of segment j. */
static void segment_bounds(const segments_ctx *c, int64_t j, int64_t *s0, int64_t *s1) {
    *s0 = j * c->spec.len;
    *s1 = *s0 + c->spec.len < c->spec.T ? *s0 + c->spec.len : c->spec.T;
}

/* Seeds segment j's recorded ops with out's gradient dout and the carried
 * gradient of its final state; in[] is its initial state when leaves. */
static void seed_segment(tg_tape *t, const segments_ctx *c, int64_t j, const tg_real *dout,
                         tg_real *const *carry, tg_tensor *const *in, tg_tensor *const *state) {
    int64_t n = tg_shape_numel(c->spec.row), s0, s1;
    segment_bounds(c, j, &s0, &s1);
    bool alias = c->spec.alias;
    if (alias && j > 0) tg__seed_grad(t, in[0], dout + time_of(c, s0 - 1) * n, false);
    for (int i = 0; i < c->spec.n_states; i++) tg__seed_grad(t, state[i], carry[i], true);
    for (int64_t s = s0; s < s1; s++) {
        if (alias && s == s1 - 1 && j < c->n_seg - 1) continue; /* in the carry already */
        int64_t tt = time_of(c, s);
        tg__seed_grad(t, c->outs[tt], dout + tt * n, false);
    }
}

/* Backward: segment by segment from the end. */
void tg__recompute_backward(tg_tape *t, tg_node *node) {
    const segments_ctx *c = node->saved;
    int S = c->spec.n_states;
    int64_t n = tg_shape_numel(c->spec.row);
    const tg_real *dout = node->out->grad; /* (recording below may move the nodes) */
    tg_real *carry[TG_SEGMENT_STATES], *buf = tg__alloc(t, (size_t)c->SN * sizeof(tg_real));
    if (!buf) return;
    for (int i = 0; i < S; i++) carry[i] = buf + c->soff[i];
    memcpy(buf, dout + c->spec.T * n, (size_t)c->SN * sizeof(tg_real));
    bool was = tg_set_grad_enabled(t, true);
    for (int64_t j = c->n_seg - 1; j >= 0 && !tg__failed(t); j--) {
        tg__tape_mark mark = tg__tape_mark_get(t);
        int64_t s0, s1;
        segment_bounds(c, j, &s0, &s1);
        tg_tensor *in[TG_SEGMENT_STATES], *state[TG_SEGMENT_STATES];
        segment_start(t, c, node->out->data, j, true, in);
        memcpy(state, in, sizeof in);
        if (c->spec.steps(t, c->spec.arg, s0, s1, state, c->outs) == 0) {
            seed_segment(t, c, j, dout, carry, in, state);
            tg__backward_since(t, mark);
        }
        for (int i = 0; i < S && j > 0 && !tg__failed(t); i++) { /* on to segment j-1 */
            if (in[i]->grad)
                memcpy(carry[i], in[i]->grad, (size_t)c->sn[i] * sizeof(tg_real));
            else
                memset(carry[i], 0, (size_t)c->sn[i] * sizeof(tg_real));
        }
        tg__tape_release(t, mark);
    }
    tg_set_grad_enabled(t, was);
}

/* Forward without recording: fills out's rows and the checkpoints. */
static int segments_forward(tg_tape *t, const segments_ctx *c, tg_tensor *out) {
    int S = c->spec.n_states;
    int64_t n = tg_shape_numel(c->spec.row), T = c->spec.T;
    bool was = tg_set_grad_enabled(t, false);
    for (int64_t j = 0; j < c->n_seg && !tg__failed(t); j++) {
        tg__tape_mark mark = tg__tape_mark_get(t);
        int64_t s0, s1;
        segment_bounds(c, j, &s0, &s1);
        tg_tensor *state[TG_SEGMENT_STATES];
        segment_start(t, c, out->data, j, false, state);
        if (c->spec.steps(t, c->spec.arg, s0, s1, state, c->outs) == 0) {
            for (int64_t s = s0; s < s1; s++)
                tg_copy_to(c->outs[time_of(c, s)], out->data + time_of(c, s) * n);
            bool last = j + 1 == c->n_seg;
            for (int i = last ? 0 : c->first_kept; i < S; i++)
                tg_copy_to(state[i], last ? out->data + T * n + c->soff[i]
                                          : saved_state(c, out->data, j + 1, i));
        }
        tg__tape_release(t, mark);
    }
    tg_set_grad_enabled(t, was);
    return tg__failed(t) ? -1 : 0;
}

tg_tensor *tg__segments_run(tg_tape *t, const tg__segments *spec, tg_tensor *const *state0,
                            int n_in, tg_tensor *const *in) {
    if (tg__failed(t)) return NULL;
    if (spec->n_states < 1 || spec->n_states > TG_SEGMENT_STATES || spec->T < 1 ||
        spec->len < 1) {
        tg__fail(t, "tg__segments_run: %d states, %lld steps in segments of %lld",
                 spec->n_states, (long long)spec->T, (long long)spec->len);
        return NULL;
    }
    segments_ctx *c = tg__alloc(t, sizeof *c);
    if (!c) return NULL;
    *c = (segments_ctx){.spec = *spec, .n_seg = (spec->T + spec->len - 1) / spec->len};
    int S = spec->n_states;
    memcpy(c->state0, state0, (size_t)S * sizeof *state0);
    for (int i = 0; i < S; i++) {
        if (c->spec.state_row[i].ndim == 0) c->spec.state_row[i] = spec->row;
        c->sn[i] = tg_shape_numel(c->spec.state_row[i]);
        c->soff[i] = c->SN;
        c->SN += c->sn[i];
    }
    c->first_kept = spec->alias ? 1 : 0;
    c->CN = c->SN - (spec->alias ? c->sn[0] : 0);
    int64_t n = tg_shape_numel(spec->row);
    c->outs = tg__alloc(t, (size_t)spec->T * sizeof *c->outs);
    c->ckpt = tg__alloc(t, (size_t)(c->n_seg * c->CN + 1) * sizeof(tg_real));
    tg_tensor *out = c->outs && c->ckpt ? tg__tensor(t, TG_SHAPE(spec->T * n + c->SN)) : NULL;
    if (!out || segments_forward(t, c, out) != 0) return NULL;
    tg_node *node = tg__record(t, TG_OP_RECOMPUTE, out, n_in, in);
    if (node) node->saved = c;
    return tg__failed(t) ? NULL : out;
}

tg_tensor *tg__segments_outputs(tg_tape *t, const tg__segments *spec, tg_tensor *out) {
    tg_shape os = spec->row;
    memmove(os.dim + 1, os.dim, (size_t)os.ndim * sizeof os.dim[0]);
    os.dim[0] = spec->T, os.ndim++;
    return tg_reshape(t, tg_narrow(t, out, 0, 0, tg_shape_numel(os)), os);
}

tg_tensor *tg__segments_state(tg_tape *t, const tg__segments *spec, tg_tensor *out, int i) {
    int64_t at = spec->T * tg_shape_numel(spec->row);
    for (int j = 0; j <= i; j++) {
        tg_shape sr = spec->state_row[j].ndim ? spec->state_row[j] : spec->row;
        if (j == i) return tg_reshape(t, tg_narrow(t, out, 0, at, tg_shape_numel(sr)), sr);
        at += tg_shape_numel(sr);
    }
    return NULL;
}
