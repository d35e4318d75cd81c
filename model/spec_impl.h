/* Inside the model layer: what the spec parsers share, with cJSON's types
 * (core/jsoncheck.h). Included by the .c files of model/ (and the tests that feed JSON
 * sections directly), never by a public header. */
#ifndef TG_MODEL_SPEC_IMPL_H
#define TG_MODEL_SPEC_IMPL_H

#include "../core/jsoncheck.h"
#include "model.h"

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
