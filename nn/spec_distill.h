/* The "distill" section of spec files (docs/spec.md, "Distillation"):
 * the teacher's spec and checkpoint, the temperature and the weight of the
 * soft targets. Internal to nn/spec.c. */
#ifndef TG_SPEC_DISTILL_H
#define TG_SPEC_DISTILL_H

#include "spec.h"

/* Reads root's "distill" (absent: s->distill stays empty). Relative paths
 * are taken from the directory of the spec file (s->file). Refused unless
 * the task is language_model, classify or tag. 0, or -1 after
 * tg_json_fail. */
int tg_spec_parse_distill(const tg_jctx *c, const cJSON *root, tg_spec *s);
void tg_spec_free_distill(tg_spec *s);

#endif
