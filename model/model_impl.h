/* Inside the model layer: what its files share, with cJSON's types
 * (core/jsoncheck.h). Included by the .c files of model/ (and the tests
 * that feed JSON sections directly), never by a public header. */
#ifndef TG_MODEL_SPEC_IMPL_H
#define TG_MODEL_SPEC_IMPL_H

#include "../core/jsoncheck.h"
#include "model.h"
#include "names.h"

/* ---- task tree (model/spec_tree.c, model/model_tree.c) ------------------------ */

/* Tree layers only in task tree; task tree only with an embedding first,
 * per-node layers and at least one tree layer. */
int tg_spec_tree_check(const tg_jctx *c, const tg_spec *s);
/* loss.target: "nodes" (default) or "roots"; task tree only. */
int tg_spec_tree_target(const tg_jctx *c, const cJSON *loss, tg_spec *s);
/* tg_model_forward and tg_model_loss for task tree. */
int tg_model_tree_forward(tg_tape *t, tg_model *m, const tg_model_batch *b, tg_model_state *st,
                          tg_model_output *out);
tg_tensor *tg_model_tree_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                              const tg_model_output *out);

/* ---- task seq2seq (model/spec_seq2seq.c, model/model_seq2seq.c) --------------- */

/* input and model of a seq2seq spec. 0, or -1 after tg_json_fail. */
int tg_spec_parse_seq2seq(const tg_jctx *c, const cJSON *root, tg_spec *s);
/* train.sampling and decode, for any task (refused unless seq2seq). */
int tg_spec_parse_seq2seq_extras(const tg_jctx *c, const cJSON *root, tg_spec *s);
/* The encoder-decoder of a seq2seq model (m->s2s, its only child). 0, or
 * -1 with a message in err. */
int tg_model_seq2seq_build(tg_model *m, const tg_spec *s, tg_rng *init, char *err, size_t errlen);
/* tg_model_forward for seq2seq: the logits of every target step. */
int tg_model_seq2seq_forward(tg_tape *t, tg_model *m, const tg_model_batch *b,
                             tg_model_output *out);

/* ---- the "distill" section (model/spec_distill.c) ----------------------------- */

/* Reads root's "distill" (absent: s->distill stays empty). Relative paths
 * are taken from the directory of the spec file (s->file). Refused unless
 * the task is language_model, classify or tag. 0, or -1 after
 * tg_json_fail. */
int tg_spec_parse_distill(const tg_jctx *c, const cJSON *root, tg_spec *s);
void tg_spec_free_distill(tg_spec *s);

/* ---- the "optimizer" section (model/optim_spec.c) ------------------------------ */

/* Reads section (a JSON object; path is its path for messages, e.g.
 * "optimizer"). default_t_max (> 0, or 0 for none) is a cosine schedule's
 * t_max when the section gives none. Returns 0, or -1 with the message in
 * c's buffer, e.g. "spec.json: optimizer.betas[1]: expected a number in
 * [0, 1), got 1". */
int tg_optim_spec_parse(const tg_jctx *c, const cJSON *section, const char *path, int default_t_max,
                        tg_optim_spec *out);

/* Parse and build in one call: the optimizer, or NULL with a message in err
 * (file may be NULL; it only prefixes messages). spec_out (may be NULL)
 * receives the parsed section. */
tg_optim *tg_optim_from_json(const cJSON *section, const char *file, const char *path,
                             int default_t_max, tg_tensor *const *params, int n,
                             tg_optim_spec *spec_out, char *err, size_t errlen);

#endif
