/* The step loop of one direction of a recurrent layer, over any cell:
 * what the full tape (rnn.c) and the recomputed segments
 * (rnn_recompute.c) both run. */
#include "../autograd/op.h"
#include "mask_hash.h"
#include "rnn_impl.h"

#include <stdio.h>

uint64_t tg__rnn_mask_seed(const tg_rnn *m, int k) {
    uint64_t s = tg__mix64(m->opt.seed ^ (uint64_t)k);
    return m->mask_salt ? s ^ tg__mix64(m->mask_salt) : s;
}

int tg__rnn_steps(tg_tape *t, const tg_rnn *m, int k, bool reverse, const tg__rnn_gates *g,
                  tg_tensor *const *masks, int64_t s0, int64_t s1, tg_tensor **state,
                  tg_tensor **steps) {
    int64_t T = g->T, B = g->B, GH = m->w_hh[k]->shape[0];
    int S = m->cell->n_states;
    const void *fusion = NULL; /* a .fuse row's program, traced at the first step */
    /* the weights stay as they are for the whole loop: the recurrent
     * product packs W_hh once, at the first step (autograd/packs.h) */
    tg__packs_hold(tg__tape_packs(t), true);
    for (int64_t s = s0; s < s1 && !tg_tape_error(t); s++) {
        int64_t tt = reverse ? T - 1 - s : s;
        char name[32];
        snprintf(name, sizeof name, "t%lld", (long long)tt);
        tg_scope_push(t, name); /* a picture groups each time step */
        tg_cell_io io = {.w_hh = m->w_hh[k],
                         .b_hh = m->b_hh[k],
                         .fusion = fusion,
                         .time = m->time0 + tt,
                         .training = g->training,
                         .seed = tg__rnn_mask_seed(m, k),
                         .gx_ready = g->ready};
        for (int p = 0; p < m->cell->n_params; p++)
            io.param[p] = m->cell_param[k * m->cell->n_params + p];
        io.gx = g->per_entry ? tg_index_select(t, g->gx, 0, g->ids + tt * B, B)
                             : tg_reshape(t, tg_narrow(t, g->gx, 0, tt, 1), TG_SHAPE(B, GH));
        tg_label(t, io.gx, "input");
        for (int j = 0; j < S; j++) io.state[j] = state[j];
        int status = tg_cell_step(t, m->cell, m->opt.composed, &io);
        fusion = io.fusion;
        if (status == 0 && m->w_hr) { /* proj_size: h' = W_hr (o * tanh(c')) */
            io.next[0] = tg_linear(t, io.next[0], m->w_hr[k], NULL);
            tg_label(t, io.next[0], "projection");
            status = io.next[0] ? 0 : -1;
        }
        tg_scope_pop(t);
        if (status != 0) break;
        /* past its end a sequence keeps its state and outputs 0 */
        for (int j = 0; j < S; j++)
            state[j] = masks ? tg_where(t, masks[tt], io.next[j], state[j]) : io.next[j];
        steps[tt] = masks ? tg_mul(t, io.next[0], masks[tt]) : io.next[0];
    }
    tg__packs_hold(tg__tape_packs(t), false);
    return tg_tape_error(t) ? -1 : 0;
}
