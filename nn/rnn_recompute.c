/* A recurrent layer's direction in bounded memory (tg_rnn_memory.recompute):
 * its steps as a chain run in segments (tg__segments_run,
 * autograd/ops_recompute.c, where the why of the equal bits is), with the
 * state h (and c) carried between segments. */
#include "../autograd/op.h"
#include "rnn_impl.h"

#include <math.h>
#include <string.h>

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

int tg__memory_check(const char *who, tg_rnn_memory mem, char *err, size_t errlen) {
    if (mem.segment < 0) {
        FAIL("%s: memory.segment must be positive (or 0 for the default), got %lld", who,
             (long long)mem.segment);
        return -1;
    }
    if (!(mem.budget_mb >= 0) || isinf(mem.budget_mb)) {
        FAIL("%s: memory.budget_mb must be a positive number of MB, got %g", who, mem.budget_mb);
        return -1;
    }
    if (mem.segment > 0 && mem.budget_mb > 0) {
        FAIL("%s: memory.segment and memory.budget_mb are both given; give one", who);
        return -1;
    }
    if (!mem.recompute && (mem.segment > 0 || mem.budget_mb > 0)) {
        FAIL("%s: memory.%s is given but memory.recompute is off", who,
             mem.segment > 0 ? "segment" : "budget_mb");
        return -1;
    }
    return 0;
}

int64_t tg__memory_segment(const tg_rnn_memory *mem, int64_t T, double step_bytes,
                           double state_bytes) {
    int64_t k;
    if (mem->segment > 0) {
        k = mem->segment;
    } else if (mem->budget_mb > 0) {
        double fit = mem->budget_mb * 1048576.0 / step_bytes;
        k = fit >= (double)T ? T : (int64_t)fit;
    } else {
        k = (int64_t)ceil(sqrt((double)T * state_bytes / step_bytes));
    }
    return k < 1 ? 1 : k > T ? T : k;
}

/* A recorded step's bytes, roughly (see rnn.h): 7G+4 values per batch row
 * and hidden unit, three times that composed. */
static double step_bytes(const tg_rnn *m, int64_t B) {
    int64_t G = m->w_hh[0]->shape[0] / m->opt.hidden_size;
    return (double)((7 * G + 4) * (m->opt.composed ? 3 : 1)) * (double)B *
           (double)m->opt.hidden_size * sizeof(tg_real);
}

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
    double state_bytes = (double)(R + (S - 1) * H) * (double)B * sizeof(tg_real);
    tg__segments spec = {.steps = direction_steps,
                         .arg = d,
                         .T = T,
                         .len = tg__memory_segment(&m->opt.memory, T, step_bytes(m, B), state_bytes),
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
