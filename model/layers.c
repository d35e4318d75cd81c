/* The layer registry: the rows of model/layers.def, each defined in its
 * own file as tg__layer_<name>. */
#include "layer.h"

#define TG_LAYER(id, name, flags) extern const tg__layer_row tg__layer_##name;
#include "layers.def"
#undef TG_LAYER

static const tg__layer_row *const ROWS[] = {
#define TG_LAYER(id, name, flags) [TG_LAYER_##id] = &tg__layer_##name,
#include "layers.def"
#undef TG_LAYER
};

const tg__layer_row *tg__layer_row_of(tg_layer_type type) {
    return type >= 0 && type < TG_LAYER_COUNT ? ROWS[type] : NULL;
}
