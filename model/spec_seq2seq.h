/* The seq2seq task's part of spec files (docs/spec.md, "seq2seq"): its
 * input, model and decode sections and train.sampling. Internal to
 * spec.c and model.c. */
#ifndef TG_SPEC_SEQ2SEQ_H
#define TG_SPEC_SEQ2SEQ_H

#include "spec_impl.h"

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

#endif
