/* A loss summed over segments of a chain, in bounded memory (a whole
 * model under train.memory recompute, model/model_recompute.c): forward
 * runs each segment without recording, on a scratch region of the tape,
 * keeps only the state at each segment's start and adds up the segments'
 * losses; the node's backward records each segment again, from the last,
 * seeds its loss with the node's gradient and its final state with the
 * gradient the later segment sent back, backpropagates through it and
 * gives its region back (Chen et al. 2016, Gruslys et al. 2016).
 *
 * Unlike RECOMPUTE (ops_recompute.c, one layer's steps, which keeps every
 * step's output), nothing of a segment survives but its state and its
 * loss: the layers' outputs, the logits and their gradients live only
 * while their segment runs. The states may have different shapes (one per
 * layer, h and c). */
#include "op.h"

#include <string.h>

typedef struct sum_ctx {
    tg__segment_sum spec;
    tg_tensor **state0; /* [n_states]: before segment 0 (entries may be NULL: zeros) */
    int64_t *offset;    /* [n_states + 1]: where each state starts in a checkpoint */
    tg_real *ckpt;      /* [n_seg, offset[n]]: each segment's initial state (0: unused),
                         * then the final state */
} sum_ctx;

static bool same(tg_shape a, tg_shape b) {
    if (a.ndim != b.ndim) return false;
    for (int d = 0; d < a.ndim; d++)
        if (a.dim[d] != b.dim[d]) return false;
    return true;
}

static tg_real *ckpt_of(const sum_ctx *c, int64_t j) {
    return c->ckpt + j * c->offset[c->spec.n_states];
}

/* The state before segment j: the chain's initial one, or leaves over the
 * saved one (which take gradients when `grad`). */
static int segment_start(tg_tape *t, const sum_ctx *c, int64_t j, bool grad, tg_tensor **state) {
    for (int i = 0; i < c->spec.n_states; i++) {
        if (j == 0) {
            state[i] = c->state0[i];
            continue;
        }
        tg_tensor proto = {0};
        tg_tensor_set_shape(&proto, c->spec.shapes[i]);
        proto.data = ckpt_of(c, j) + c->offset[i];
        proto.node = -1;
        if (!(state[i] = tg__view_of(t, &proto))) return -1;
        state[i]->requires_grad = grad;
    }
    return 0;
}

/* Segment j's final state must have the shapes given. */
static int check_end(tg_tape *t, const sum_ctx *c, int64_t j, tg_tensor *const *state,
                     const tg_tensor *loss) {
    char a[TG_SHAPE_STR_MAX], b[TG_SHAPE_STR_MAX];
    if (!loss || loss->numel != 1) {
        tg__fail(t, "tg__segment_sum_run: segment %lld gave %s loss", (long long)j,
                 loss ? "a non-scalar" : "no");
        return -1;
    }
    for (int i = 0; i < c->spec.n_states; i++) {
        tg_shape want = c->spec.shapes[i];
        if (!state[i] || !same(tg_tensor_shape(state[i]), want)) {
            tg__fail(t, "tg__segment_sum_run: segment %lld: state %d is %s, expected %s",
                     (long long)j, i,
                     state[i] ? tg_shape_str(tg_tensor_shape(state[i]), a, sizeof a) : "NULL",
                     tg_shape_str(want, b, sizeof b));
            return -1;
        }
    }
    return 0;
}

/* Backward: segment by segment from the end. The carried gradient of a
 * state between two segments is summed while the later one runs (on the
 * leaves over its saved start) and seeded into the earlier one's end. */
void tg__segment_sum_backward(tg_tape *t, tg_node *node) {
    const sum_ctx *c = node->saved;
    int S = c->spec.n_states;
    int64_t N = c->offset[S];
    tg_real dl = node->out->grad[0];
    tg_real *carry = tg__alloc(t, (size_t)(N > 0 ? N : 1) * sizeof(tg_real));
    tg_tensor **in = tg__alloc(t, (size_t)(2 * S + 1) * sizeof *in), **state = in + S;
    if (!carry || !in) return;
    bool was = tg_set_grad_enabled(t, true);
    for (int64_t j = c->spec.n_seg - 1; j >= 0 && !tg__failed(t); j--) {
        tg__tape_mark mark = tg__tape_mark_get(t);
        if (segment_start(t, c, j, true, in) == 0) {
            memcpy(state, in, (size_t)S * sizeof *in);
            tg_tensor *loss = c->spec.run(t, c->spec.arg, j, true, state);
            if (check_end(t, c, j, state, loss) == 0) {
                tg__seed_grad(t, loss, &dl, false);
                for (int i = 0; i < S && j < c->spec.n_seg - 1; i++)
                    tg__seed_grad(t, state[i], carry + c->offset[i], false);
                tg__backward_since(t, mark);
            }
        }
        for (int i = 0; i < S && j > 0 && !tg__failed(t); i++) { /* on to segment j-1 */
            int64_t n = c->offset[i + 1] - c->offset[i];
            if (in[i]->grad)
                memcpy(carry + c->offset[i], in[i]->grad, (size_t)n * sizeof(tg_real));
            else
                memset(carry + c->offset[i], 0, (size_t)n * sizeof(tg_real));
        }
        tg__tape_release(t, mark);
    }
    tg_set_grad_enabled(t, was);
}

/* Forward without recording: the losses' sum and the checkpoints. */
static int sum_forward(tg_tape *t, const sum_ctx *c, tg_real *sum) {
    int S = c->spec.n_states;
    bool was = tg_set_grad_enabled(t, false);
    tg_tensor **state = tg__alloc(t, (size_t)(S + 1) * sizeof *state);
    *sum = 0;
    for (int64_t j = 0; state && j < c->spec.n_seg && !tg__failed(t); j++) {
        tg__tape_mark mark = tg__tape_mark_get(t);
        if (segment_start(t, c, j, false, state) == 0) {
            tg_tensor *loss = c->spec.run(t, c->spec.arg, j, false, state);
            if (check_end(t, c, j, state, loss) == 0) {
                tg_real v;
                tg_copy_to(loss, &v);
                *sum += v;
                for (int i = 0; i < S; i++) tg_copy_to(state[i], ckpt_of(c, j + 1) + c->offset[i]);
            }
        }
        tg__tape_release(t, mark);
    }
    tg_set_grad_enabled(t, was);
    return tg__failed(t) ? -1 : 0;
}

tg_tensor *tg__segment_sum_run(tg_tape *t, const tg__segment_sum *spec, tg_tensor *const *state0,
                               int n_in, tg_tensor *const *in, tg_tensor **final) {
    if (tg__failed(t)) return NULL;
    if (spec->n_states < 0 || spec->n_seg < 1 || !spec->run) {
        tg__fail(t, "tg__segment_sum_run: %d states in %lld segments", spec->n_states,
                 (long long)spec->n_seg);
        return NULL;
    }
    int S = spec->n_states;
    sum_ctx *c = tg__alloc(t, sizeof *c);
    if (!c) return NULL;
    *c = (sum_ctx){.spec = *spec};
    c->state0 = tg__alloc(t, (size_t)(S + 1) * sizeof *c->state0);
    c->offset = tg__alloc(t, (size_t)(S + 1) * sizeof *c->offset);
    tg_shape *shapes = tg__alloc(t, (size_t)(S + 1) * sizeof *shapes);
    if (!c->state0 || !c->offset || !shapes) return NULL;
    memcpy(c->state0, state0, (size_t)S * sizeof *state0);
    memcpy(shapes, spec->shapes, (size_t)S * sizeof *shapes);
    c->spec.shapes = shapes;
    c->offset[0] = 0;
    for (int i = 0; i < S; i++) c->offset[i + 1] = c->offset[i] + tg_shape_numel(shapes[i]);
    /* slot 0 stays unused so that slot j is segment j's start */
    c->ckpt = tg__alloc(t, (size_t)((spec->n_seg + 1) * c->offset[S] + 1) * sizeof(tg_real));
    tg_tensor *out = c->ckpt ? tg__tensor(t, (tg_shape){0}) : NULL;
    if (!out || sum_forward(t, c, out->data) != 0) return NULL;
    for (int i = 0; final && i < S; i++) {
        tg_tensor proto = {0};
        tg_tensor_set_shape(&proto, shapes[i]);
        proto.data = ckpt_of(c, spec->n_seg) + c->offset[i];
        proto.node = -1;
        if (!(final[i] = tg__view_of(t, &proto))) return NULL;
        final[i]->requires_grad = false;
    }
    tg_node *node = tg__record(t, TG_OP_SEGMENT_SUM, out, n_in, in);
    if (node) node->saved = c;
    return tg__failed(t) ? NULL : out;
}
