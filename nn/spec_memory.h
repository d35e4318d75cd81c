/* The spec's train.memory (nn/spec_memory.c), internal to nn/. */
#ifndef TG_SPEC_MEMORY_H
#define TG_SPEC_MEMORY_H

#include "../core/jsoncheck.h"
#include "spec.h"

/* train.memory, if present in the train object tr: "full" (the default),
 * "recompute", or {"segment": K} / {"budget_mb": MB} (recompute so), given
 * to every rnn, lstm, gru and deep_rnn layer of s. Returns 0, or -1 with the message. */
int tg_spec_parse_memory(const tg_jctx *c, const cJSON *tr, tg_spec *s);

#endif
