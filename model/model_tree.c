/* A tree model's forward pass and loss (task tree). The embedding gives
 * every node of the batch its token's row, the tree layers compose the
 * nodes level by level (nn/treenet.h), and linear, activation and dropout
 * layers work on the [N, F] rows of the nodes as they do on a sequence's
 * steps. The rows of the roots are picked out at the end, so the loss and
 * the metrics can count every labelled node or the roots only. */
#include "layer.h"

int tg_model_tree_forward(tg_tape *t, tg_model *m, const tg_model_batch *b, tg_model_state *st,
                          tg_model_output *out) {
    const tg_tree_batch *tb = b->trees;
    if (!tb || st) {
        tg_tape_fail(t, st ? "tg_model_forward: a tree model carries no state from one batch to "
                             "the next (pass state NULL)"
                           : "tg_model_forward: task tree needs batch trees");
        return -1;
    }
    tg_tensor *x = NULL;
    for (int k = 0; k < m->n_layers && !tg_tape_error(t); k++)
        x = tg__layer_row_of(m->layers[k].type)->tree(t, m, k, tb, x, out);
    if (!tg_tape_error(t)) out->roots = tg_index_select(t, x, 0, tb->roots, tb->n_trees);
    if (tg_tape_error(t)) {
        *out = (tg_model_output){0};
        return -1;
    }
    out->output = x;
    return 0;
}

tg_tensor *tg_model_tree_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                              const tg_model_output *out) {
    tg_tensor *logits = m->tree_target == TG_TREE_ROOTS ? out->roots : out->output;
    return tg_tree_loss(t, logits, b->trees, m->tree_target, TG_MEAN);
}
