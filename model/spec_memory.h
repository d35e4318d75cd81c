/* The spec's train.memory (model/spec_memory.c), internal to model/. */
#ifndef TG_SPEC_MEMORY_H
#define TG_SPEC_MEMORY_H

#include "../core/jsoncheck.h"
#include "spec.h"

/* train.memory, if present in the train object tr: "full" (the default),
 * "recompute", or {"segment": K} / {"budget_mb": MB} (recompute so), with
 * "whole_model": true in the object form asking for the whole-model path
 * (tg_model_train_loss), given to every layer of s whose row in
 * model/layers.def says RECOMPUTES.
 * Returns 0, or -1 with the message. */
int tg_spec_parse_memory(const tg_jctx *c, const cJSON *tr, tg_spec *s);

#endif
