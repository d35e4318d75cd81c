/* The names spec files use and what each layer type may do (model/names.c,
 * from the layer table model/layers.def). Internal to model/. */
#ifndef TG_MODEL_NAMES_H
#define TG_MODEL_NAMES_H

#include "spec.h"

/* NULL-terminated, in the order of their enums, as spec files write them. */
extern const char *const tg__task_names[];
extern const char *const tg__input_names[];
/* tg__input_names' "image", which the parser turns into vector input
 * (tg_spec's image_* fields) */
#define TG__INPUT_IMAGE 3
extern const char *const tg__layer_names[];

/* What a layer type may do (model/layers.def gives each type its flags). */
enum {
    TG__LAYER_IDS = 1 << 0,       /* reads the token ids: layers[0] only */
    TG__LAYER_NEEDS_SEQ = 1 << 1, /* reads a sequence */
    TG__LAYER_POOLS = 1 << 2,     /* one vector per sequence out */
    TG__LAYER_RECURRENT = 1 << 3, /* carries a state over the steps */
    TG__LAYER_RNN = 1 << 4,       /* a tg_rnn module (rnn, lstm, gru) */
    TG__LAYER_TREE = 1 << 5,      /* composes trees */
    TG__LAYER_RECOMPUTES = 1 << 6 /* takes train.memory (tg_rnn_memory) */
};
bool tg__layer_is(tg_layer_type type, unsigned flag);

#endif
