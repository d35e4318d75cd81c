/* The RNN wishlist on the lstm and gru layer types (nn/cell_variant.h):
 * the spec keys "layer_norm", "peephole", "gate_activation", "activation",
 * "recurrent_dropout", "input_dropout" and "zoneout" read into
 * L->variant, and the layer built with that cell. Internal to model/. */
#ifndef TG_MODEL_LAYER_VARIANT_H
#define TG_MODEL_LAYER_VARIANT_H

#include "layer.h"

/* The keys, for the rows' key lists (peephole is refused on gru by the
 * parser, with a reason, rather than as an unknown key). */
#define TG__VARIANT_KEYS                                                                           \
    "layer_norm", "peephole", "gate_activation", "activation", "recurrent_dropout",                \
        "input_dropout", "zoneout"

/* The wishlist's keys of obj into L->variant; lstm: the layer is an lstm
 * (peephole and zoneout's "c" are for lstm only). 0, or -1 after
 * tg_json_fail. */
int tg__layer_parse_variant(const tg_jctx *c, const cJSON *obj, const char *path, bool lstm,
                            tg_layer_spec *L);
/* The first of the wishlist's keys L sets (as written in specs), or NULL
 * when it has none and runs the plain cell. */
const char *tg__layer_variant_key(const tg_layer_spec *L);
/* The layer with o's sizes running base ("lstm" or "gru") with L's
 * options: a tg_rnn owning the cell (freed with it). NULL with a reason
 * in e. */
tg_module *tg__layer_variant_build(const tg_layer_spec *L, const char *base, tg_rnn_options o,
                                   tg_rng *init, char *e, size_t elen);
/* Before a training step: every layer whose cell draws masks (zoneout,
 * variational dropout) gets a new tg_rnn.mask_salt from the model's
 * generator, so each step draws fresh masks, and a resumed run (whose
 * checkpoint keeps the generator) the same ones. Models without such a
 * layer draw nothing. */
void tg__layer_variant_fresh_masks(tg_model *m);

#endif
