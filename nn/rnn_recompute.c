/* A recurrent layer's direction in bounded memory (tg_rnn_memory.recompute):
 * its steps as a chain run in segments (tg__segments_run,
 * autograd/ops_recompute.c, where the why of the equal bits is), with the
 * state h (and c) carried between segments. */
#include "../autograd/op.h"
#include "rnn_impl.h"

#include <string.h>

/* What the steps of one direction read; on the tape, for backward. */
typedef struct direction {
    const tg_rnn *m;
    int k;
    bool reverse;
    tg__rnn_gates g;
    tg_tensor *const *masks;
} direction;

static int direction_steps(tg_tape *t, const void *arg, int64_t s0, int64_t s1,
                           tg_tensor **state, tg_tensor **outs) {
    const direction *d = arg;
    return tg__rnn_steps(t, d->m, d->k, d->reverse, &d->g, d->masks, s0, s1, state, outs);
}

/* The direction's context on the tape, with its own copies of what the
 * caller frees after forward (the masks' array, batch-first ids). */
static direction *direction_new(tg_tape *t, const tg_rnn *m, int k, bool reverse,
                                const tg__rnn_gates *g, tg_tensor *const *masks) {
    int64_t T = g->T, B = g->B;
    direction *d = tg__alloc(t, sizeof *d);
    if (!d) return NULL;
    *d = (direction){.m = m, .k = k, .reverse = reverse, .g = *g};
    if (masks) {
        tg_tensor **copy = tg__alloc(t, (size_t)T * sizeof *copy);
        if (!copy) return NULL;
        memcpy(copy, masks, (size_t)T * sizeof *copy);
        d->masks = copy;
    }
    d->g.ids = NULL; /* without per_entry, the ids were used up front */
    if (g->per_entry) {
        int64_t *ids = tg__alloc(t, (size_t)(T * B) * sizeof *ids);
        if (!ids) return NULL;
        memcpy(ids, g->ids, (size_t)(T * B) * sizeof *ids);
        d->g.ids = ids;
    }
    return d;
}

tg_tensor *tg__rnn_direction_recompute(tg_tape *t, const tg_rnn *m, int k, bool reverse,
                                       const tg__rnn_gates *g, tg_tensor *const *masks,
                                       tg_tensor **state) {
    int64_t T = g->T, B = g->B, H = m->opt.hidden_size, R = tg_rnn_h_size(m);
    int S = m->cell->n_states;
    direction *d = tg_tape_error(t) ? NULL : direction_new(t, m, k, reverse, g, masks);
    if (!d) return NULL;
    tg__segments spec = {.steps = direction_steps,
                         .arg = d,
                         .T = T,
                         .len = tg__memory_segment(&m->opt.memory, T, tg__rnn_step_bytes(m, B),
                                                   tg__rnn_state_bytes(m, B)),
                         .reverse = reverse,
                         .alias = !masks, /* with lengths the state is not the output */
                         .n_states = S,
                         .row = TG_SHAPE(B, R)}; /* h (R wide), then c (H wide) */
    for (int j = 0; j < S; j++) spec.state_row[j] = TG_SHAPE(B, j ? H : R);
    /* every tensor whose gradient a segment's backward adds to */
    tg_tensor *in[4 + TG_CELL_MAX_STATES + TG_CELL_MAX_PARAMS] = {g->gx, m->w_hh[k]};
    int n = 2;
    for (int j = 0; j < S; j++) in[n++] = state[j];
    if (m->b_hh[k]) in[n++] = m->b_hh[k];
    if (m->w_hr) in[n++] = m->w_hr[k];
    for (int p = 0; p < m->cell->n_params; p++) in[n++] = m->cell_param[k * m->cell->n_params + p];
    tg_tensor *out = tg__segments_run(t, &spec, state, n, in);
    tg_label(t, out, "segments");
    for (int j = 0; j < S; j++) state[j] = tg__segments_state(t, &spec, out, j);
    return tg__segments_outputs(t, &spec, out);
}
