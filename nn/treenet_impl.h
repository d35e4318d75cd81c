/* Shared by treenet.c and tree_classifier.c; internal to the library. */
#ifndef TG_TREENET_IMPL_H
#define TG_TREENET_IMPL_H

#include "treenet.h"

/* The forward pass of tg_treenet_forward. x_in_level_order: x's rows are
 * already in level order (the classifier embeds straight into it, saving
 * a gather); want_c: return the cells too. */
int tg__treenet_run(tg_tape *t, tg_treenet *m, const tg_tree_batch *b, tg_tensor *x,
                    bool x_in_level_order, bool want_c, tg_treenet_result *res);
/* The embedding rows of the nodes in batch order, or in `order` (row r is
 * node order[r]) when it is not NULL (tg_tree_embed). */
tg_tensor *tg__tree_embed_rows(tg_tape *t, tg_embedding *emb, const tg_tree_batch *b,
                               const int64_t *order);

#endif
