/* The node of a computation that forward ran without recording (keeping only
 * its result) and that its backward records again, backpropagates through
 * and forgets (tg__tape_mark_get, tg__backward_since, tg__tape_release): a
 * recurrent layer's segments under memory.recompute (nn/rnn_recompute.c).
 * The op knows nothing of what it recomputes: its backward is the caller's. */
#include "op.h"

typedef struct recompute_saved {
    tg__recompute_fn backward;
    void *ctx;
} recompute_saved;

bool tg__record_recompute(tg_tape *t, tg_tensor *out, int n, tg_tensor *const *in,
                          tg__recompute_fn backward, void *ctx) {
    tg_node *node = tg__record(t, TG_OP_RECOMPUTE, out, n, in);
    if (!node) return !tg__failed(t);
    recompute_saved *sv = tg__alloc(t, sizeof *sv);
    if (!sv) return false;
    *sv = (recompute_saved){backward, ctx};
    node->saved = sv;
    return true;
}

/* The caller's backward may record nodes (the tape's array may move): it
 * gets the output, never the node. */
void tg__recompute_backward(tg_tape *t, tg_node *n) {
    const recompute_saved *sv = n->saved;
    sv->backward(t, n->out, sv->ctx);
}
