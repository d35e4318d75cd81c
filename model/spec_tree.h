/* The tree task's part of specs and models (docs/spec.md, "Trees"): the
 * keys and sizes of its layers, which layers it allows, the loss's
 * "target", and a tree model's forward pass and loss. Internal to
 * nn/spec.c and nn/model.c (nn/spec_tree.c, nn/model_tree.c). */
#ifndef TG_SPEC_TREE_H
#define TG_SPEC_TREE_H

#include "spec_impl.h"

/* tree_rnn or tree_lstm */
bool tg_spec_is_tree_layer(tg_layer_type t);
/* A tree layer's own keys: "hidden" and "arity". */
int tg_spec_tree_layer(const tg_jctx *c, const cJSON *obj, const char *path, tg_layer_spec *L);
/* Tree layers only in task tree; task tree only with an embedding first,
 * per-node layers and at least one tree layer. */
int tg_spec_tree_check(const tg_jctx *c, const tg_spec *s);
/* A tree layer's output size, with in features per node coming in (0:
 * not known yet). path: the layer's. */
int tg_spec_tree_sizes(const tg_jctx *c, const char *path, tg_layer_spec *L, int64_t in);
/* loss.target: "nodes" (default) or "roots"; task tree only. */
int tg_spec_tree_target(const tg_jctx *c, const cJSON *loss, tg_spec *s);

/* ---- models (nn/model_tree.c) ------------------------------------------------ */
/* The tg_treenet of a tree layer; NULL with a reason in e. */
tg_module *tg_model_tree_layer_new(const tg_layer_spec *L, tg_rng *init, char *e, size_t elen);
/* tg_model_forward and tg_model_loss for task tree. */
int tg_model_tree_forward(tg_tape *t, tg_model *m, const tg_model_batch *b, tg_model_state *st,
                          tg_model_output *out);
tg_tensor *tg_model_tree_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                              const tg_model_output *out);
/* Layer k of a kind that treats each row alike (linear, activation,
 * dropout) on x; in nn/model.c. */
tg_tensor *tg_model_row_layer(tg_tape *t, tg_model *m, int k, tg_tensor *x);

#endif
