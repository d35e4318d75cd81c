/* The names spec files use and what each layer type may do, from the layer
 * table (model/layers.def). The parser is in parse.c. */
#include "names.h"

const char *const tg__task_names[] = {"language_model", "classify", "tag", "regress",
                                      "tree",           "seq2seq",  NULL};
const char *const tg__input_names[] = {"tokens", "vectors", "trees", "image", NULL};
const char *const tg__layer_names[] = {
#define TG_LAYER(id, name, flags) #name,
#include "layers.def"
#undef TG_LAYER
    NULL};

/* the flags as layers.def writes them */
#define IDS TG__LAYER_IDS
#define NEEDS_SEQ TG__LAYER_NEEDS_SEQ
#define POOLS TG__LAYER_POOLS
#define RECURRENT TG__LAYER_RECURRENT
#define RNN TG__LAYER_RNN
#define TREE TG__LAYER_TREE
#define RECOMPUTES TG__LAYER_RECOMPUTES
static const unsigned FLAGS[] = {
#define TG_LAYER(id, name, flags) [TG_LAYER_##id] = (flags),
#include "layers.def"
#undef TG_LAYER
};

const char *tg_task_name(tg_task task) {
    return task >= 0 && task <= TG_TASK_SEQ2SEQ ? tg__task_names[task] : "?";
}

const char *tg_layer_type_name(tg_layer_type type) {
    return type >= 0 && type < TG_LAYER_COUNT ? tg__layer_names[type] : "?";
}

bool tg__layer_is(tg_layer_type type, unsigned flag) {
    return type >= 0 && type < TG_LAYER_COUNT && (FLAGS[type] & flag);
}

bool tg_spec_is_recurrent_layer(tg_layer_type t) {
    return tg__layer_is(t, TG__LAYER_RECURRENT);
}

bool tg_spec_is_rnn_layer(tg_layer_type t) {
    return tg__layer_is(t, TG__LAYER_RNN);
}
