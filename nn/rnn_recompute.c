/* A recurrent layer's direction in bounded memory (tg_rnn_memory.recompute):
 * forward runs the steps without recording, one segment of k steps at a
 * time on a scratch region of the tape, and keeps only the state at each
 * segment's start and the outputs; backward records each segment again,
 * from the last, backpropagates through it and gives its region back.
 *
 * The gradients equal the full tape's bit for bit. The segment's ops are
 * the full tape's ops (tg__rnn_steps), visited in the same order; what
 * remains is that every gradient buffer receives the same additions in the
 * same order as on the full tape:
 *   - a step's output first gets what came from outside the layer (the
 *     stack of outputs comes after every step on the full tape), then what
 *     its next step sends back: seeded by adding out's gradient row before
 *     the segment's backward runs;
 *   - the state between two segments: its gradient is summed while the later
 *     segment runs (on a leaf holding the saved state) and copied into the
 *     earlier one's final state as it stands. Without lengths that state is
 *     also the last step's output, whose outside gradient the leaf gets
 *     first, as on the full tape;
 *   - weight gradients gathered over steps are copied into bounded buffers
 *     as they come (autograd/tape.c), so their products do not depend on
 *     where segments begin.
 * out is [T + S, B, H]: the outputs by time, then the final h (and c). */
#include "../autograd/op.h"
#include "rnn_impl.h"

#include <math.h>
#include <string.h>

typedef struct seg_ctx {
    const tg_rnn *m;
    int k, n_states; /* direction index; 1 (h) or 2 (h, c) */
    bool reverse;
    tg__rnn_gates g;
    tg_tensor *const *masks;
    tg_tensor *h0, *c0; /* the state before step 0 */
    int64_t len, n_seg; /* segment length k, number of segments */
    tg_real *ckpt;      /* [n_seg, n_states, B, H]: each segment's initial state */
    tg_tensor **steps;  /* [T], scratch for tg__rnn_steps */
} seg_ctx;

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

int tg__rnn_memory_check(tg_rnn_memory mem, char *err, size_t errlen) {
    if (mem.segment < 0) {
        FAIL("rnn: memory.segment must be positive (or 0 for about sqrt(T)), got %lld",
             (long long)mem.segment);
        return -1;
    }
    if (!(mem.budget_mb >= 0) || isinf(mem.budget_mb)) {
        FAIL("rnn: memory.budget_mb must be a positive number of MB, got %g", mem.budget_mb);
        return -1;
    }
    if (mem.segment > 0 && mem.budget_mb > 0) {
        FAIL("rnn: memory.segment and memory.budget_mb are both given; give one");
        return -1;
    }
    if (!mem.recompute && (mem.segment > 0 || mem.budget_mb > 0)) {
        FAIL("rnn: memory.%s is given but memory.recompute is off",
             mem.segment > 0 ? "segment" : "budget_mb");
        return -1;
    }
    return 0;
}

/* k from the options: explicit, from the budget, or about sqrt(T); in 1..T. */
static int64_t segment_length(const tg_rnn *m, int64_t T, int64_t B) {
    const tg_rnn_memory *mem = &m->opt.memory;
    int64_t G = m->w_hh[0]->shape[0] / m->opt.hidden_size, k;
    if (mem->segment > 0) {
        k = mem->segment;
    } else if (mem->budget_mb > 0) { /* the recorded step's values, roughly (see rnn.h) */
        double per_step = (double)((7 * G + 4) * (m->opt.composed ? 3 : 1)) * (double)B *
                          (double)m->opt.hidden_size * sizeof(tg_real);
        double fit = mem->budget_mb * 1048576.0 / per_step;
        k = fit >= (double)T ? T : (int64_t)fit;
    } else {
        k = (int64_t)ceil(sqrt((double)T));
    }
    return k < 1 ? 1 : k > T ? T : k;
}

/* A [B, H] tensor on the tape over saved state data (no copy). */
static tg_tensor *state_leaf(tg_tape *t, tg_real *data, int64_t B, int64_t H, bool grad) {
    tg_tensor proto = {0};
    tg_tensor_set_shape(&proto, TG_SHAPE(B, H));
    proto.data = data;
    proto.node = -1;
    tg_tensor *x = tg__view_of(t, &proto);
    if (x) x->requires_grad = grad;
    return x;
}

/* The state before segment j: the layer's initial one, or a leaf over the
 * saved one (which takes gradients when `grad`). */
static void segment_start(tg_tape *t, const seg_ctx *c, int64_t j, bool grad, tg_tensor **h,
                          tg_tensor **cs) {
    int64_t B = c->g.B, H = c->m->opt.hidden_size;
    if (j == 0) {
        *h = c->h0, *cs = c->c0;
        return;
    }
    tg_real *p = c->ckpt + j * c->n_states * B * H;
    *h = state_leaf(t, p, B, H, grad);
    *cs = c->n_states == 2 ? state_leaf(t, p + B * H, B, H, grad) : NULL;
}

/* The time of step s. */
static int64_t time_of(const seg_ctx *c, int64_t s) {
    return c->reverse ? c->g.T - 1 - s : s;
}

/* Seeds segment j's recorded ops with out's gradient dout and the carried
 * gradient of its final state; `hin` is its initial h when it is a leaf. */
static void seed_segment(tg_tape *t, const seg_ctx *c, int64_t j, const tg_real *dout,
                         tg_real *const *carry, tg_tensor *hin, tg_tensor *h, tg_tensor *cs) {
    int64_t B = c->g.B, H = c->m->opt.hidden_size, s0 = j * c->len;
    int64_t s1 = s0 + c->len < c->g.T ? s0 + c->len : c->g.T;
    bool alias = !c->masks; /* the final h is the last step's output */
    if (alias && hin) tg__seed_grad(t, hin, dout + time_of(c, s0 - 1) * B * H, false);
    tg__seed_grad(t, h, carry[0], true);
    if (cs) tg__seed_grad(t, cs, carry[1], true);
    for (int64_t s = s0; s < s1; s++) {
        if (alias && s == s1 - 1 && j < c->n_seg - 1) continue; /* in the carry already */
        int64_t tt = time_of(c, s);
        tg__seed_grad(t, c->steps[tt], dout + tt * B * H, false);
    }
}

/* Backward of the layer's direction: segment by segment from the end. */
static void segments_backward(tg_tape *t, tg_tensor *out, void *vctx) {
    const seg_ctx *c = vctx;
    int64_t B = c->g.B, H = c->m->opt.hidden_size, BH = B * H, T = c->g.T;
    const tg_real *dout = out->grad;
    tg_real *carry[2] = {tg__alloc(t, (size_t)(2 * BH) * sizeof(tg_real)), NULL};
    if (!carry[0]) return;
    carry[1] = carry[0] + BH;
    memcpy(carry[0], dout + T * BH, (size_t)(c->n_states * BH) * sizeof(tg_real));
    bool was = tg_set_grad_enabled(t, true);
    for (int64_t j = c->n_seg - 1; j >= 0 && !tg_tape_error(t); j--) {
        tg__tape_mark mark = tg__tape_mark_get(t);
        int64_t s0 = j * c->len, s1 = s0 + c->len < T ? s0 + c->len : T;
        tg_tensor *h, *cs;
        segment_start(t, c, j, true, &h, &cs);
        tg_tensor *hin = j > 0 ? h : NULL, *cin = j > 0 ? cs : NULL;
        if (tg__rnn_steps(t, c->m, c->k, c->reverse, &c->g, c->masks, s0, s1, &h, &cs, c->steps) ==
            0) {
            seed_segment(t, c, j, dout, carry, hin, h, cs);
            tg__backward_since(t, mark);
        }
        tg_tensor *ins[2] = {hin, cin}; /* their gradients go to segment j-1 */
        for (int i = 0; i < c->n_states && hin && !tg_tape_error(t); i++) {
            if (ins[i]->grad)
                memcpy(carry[i], ins[i]->grad, (size_t)BH * sizeof(tg_real));
            else
                memset(carry[i], 0, (size_t)BH * sizeof(tg_real));
        }
        tg__tape_release(t, mark);
    }
    tg_set_grad_enabled(t, was);
}

/* Forward without recording: fills out's rows and the checkpoints. */
static int segments_forward(tg_tape *t, const seg_ctx *c, tg_tensor *out) {
    int64_t B = c->g.B, H = c->m->opt.hidden_size, BH = B * H, T = c->g.T;
    bool was = tg_set_grad_enabled(t, false);
    for (int64_t j = 0; j < c->n_seg && !tg_tape_error(t); j++) {
        tg__tape_mark mark = tg__tape_mark_get(t);
        int64_t s0 = j * c->len, s1 = s0 + c->len < T ? s0 + c->len : T;
        tg_tensor *h, *cs;
        segment_start(t, c, j, false, &h, &cs);
        if (tg__rnn_steps(t, c->m, c->k, c->reverse, &c->g, c->masks, s0, s1, &h, &cs, c->steps) ==
            0) {
            for (int64_t s = s0; s < s1; s++)
                tg_copy_to(c->steps[time_of(c, s)], out->data + time_of(c, s) * BH);
            tg_real *next =
                j + 1 < c->n_seg ? c->ckpt + (j + 1) * c->n_states * BH : out->data + T * BH;
            tg_copy_to(h, next);
            if (cs) tg_copy_to(cs, next + BH);
        }
        tg__tape_release(t, mark);
    }
    tg_set_grad_enabled(t, was);
    return tg_tape_error(t) ? -1 : 0;
}

/* The context on the tape, with its own copies of what the caller frees
 * after forward (the masks' array, batch-first ids). */
static seg_ctx *context_new(tg_tape *t, const tg_rnn *m, int k, bool reverse,
                            const tg__rnn_gates *g, tg_tensor *const *masks, tg_tensor *h0,
                            tg_tensor *c0) {
    int64_t T = g->T, B = g->B, H = m->opt.hidden_size;
    seg_ctx *c = tg__alloc(t, sizeof *c);
    if (!c) return NULL;
    *c = (seg_ctx){.m = m,
                   .k = k,
                   .n_states = c0 ? 2 : 1,
                   .reverse = reverse,
                   .g = *g,
                   .h0 = h0,
                   .c0 = c0,
                   .len = segment_length(m, T, B)};
    c->n_seg = (T + c->len - 1) / c->len;
    c->steps = tg__alloc(t, (size_t)T * sizeof *c->steps);
    c->ckpt = tg__alloc(t, (size_t)(c->n_seg * c->n_states * B * H) * sizeof(tg_real));
    if (!c->steps || !c->ckpt) return NULL;
    if (masks) {
        tg_tensor **copy = tg__alloc(t, (size_t)T * sizeof *copy);
        if (!copy) return NULL;
        memcpy(copy, masks, (size_t)T * sizeof *copy);
        c->masks = copy;
    }
    if (g->ids) {
        int64_t n = g->per_entry ? T * B : 0; /* otherwise the ids were used up front */
        int64_t *ids = n ? tg__alloc(t, (size_t)n * sizeof *ids) : NULL;
        if (n && !ids) return NULL;
        if (n) memcpy(ids, g->ids, (size_t)n * sizeof *ids);
        c->g.ids = ids;
    }
    return c;
}

tg_tensor *tg__rnn_direction_recompute(tg_tape *t, const tg_rnn *m, int k, bool reverse,
                                       const tg__rnn_gates *g, tg_tensor *const *masks,
                                       tg_tensor **h, tg_tensor **c) {
    int64_t T = g->T, B = g->B, H = m->opt.hidden_size;
    seg_ctx *ctx = tg_tape_error(t) ? NULL : context_new(t, m, k, reverse, g, masks, *h, *c);
    tg_tensor *out = ctx ? tg__tensor(t, TG_SHAPE(T + ctx->n_states, B, H)) : NULL;
    if (!out || segments_forward(t, ctx, out) != 0) return NULL;
    /* every tensor whose gradient a segment's backward adds to */
    tg_tensor *in[5] = {g->gx, m->w_hh[k], *h};
    int n = 3;
    if (*c) in[n++] = *c;
    if (m->b_hh[k]) in[n++] = m->b_hh[k];
    if (!tg__record_recompute(t, out, n, in, segments_backward, ctx)) return NULL;
    tg_label(t, out, "segments");
    tg_shape bh = TG_SHAPE(B, H);
    *h = tg_reshape(t, tg_narrow(t, out, 0, T, 1), bh);
    if (*c) *c = tg_reshape(t, tg_narrow(t, out, 0, T + 1, 1), bh);
    return tg_narrow(t, out, 0, 0, T);
}
