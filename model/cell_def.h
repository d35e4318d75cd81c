/* Cells from equations in spec files: the JSON object parsed into a
 * definition (cell_def.c), and the module that keeps a built layer's copy
 * of it with the tg_cell row it runs (layer_cell.c). Internal to model/. */
#ifndef TG_MODEL_CELL_DEF_H
#define TG_MODEL_CELL_DEF_H

#include "../core/jsoncheck.h"
#include "../nn/module.h"
#include "cell_expr.h"

/* obj's "gates", "states", "params" and "equations" (path: obj's own) into
 * a new definition (free with free()). 0, or -1 after tg_json_fail. */
int tg__cell_def_parse(const tg_jctx *c, const cJSON *obj, const char *path, tg__cell_def **out);

/* A module without parameters that owns a copy of d and the row built from
 * it (*cell, with .fuse). Given to the layer that runs the row as a child
 * (tg_module_add_child with prefix ""), it lives exactly as long as that
 * layer and adds no names to its checkpoints. NULL when out of memory. */
tg_module *tg__cell_holder_new(const tg__cell_def *d, const tg_cell **cell);

#endif
