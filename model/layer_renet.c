/* The renet layer type: four recurrent sweeps over an image's patch grid
 * (nn/renet.h). It reads the sequence of patches in row-major order, as the
 * image input makes it, and gives a sequence of the same length. */
#include "../nn/renet.h"
#include "cell_def.h"
#include "layer.h"

static const char *const RENET_KEYS[] = {"type", "name", "input", "hidden", "cell", "batch_first",
                                         NULL};
/* "cell": the tg_rnn_mode by index, or an object of equations */
static const char *const CELLS[] = {"tanh", "relu", "lstm", "gru", NULL};

static int renet_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                       tg_layer_spec *L) {
    static const char *const CELL_KEYS[] = {"gates", "states", "params", "equations", NULL};
    int cell = 0;
    const cJSON *obj_cell = cJSON_GetObjectItemCaseSensitive(obj, "cell");
    if (tg__layer_parse_hidden(c, s, obj, path, L)) return -1;
    if (cJSON_IsObject(obj_cell)) { /* a cell from equations (layer_cell.c) */
        char p[TG_JSON_PATH_MAX];
        tg_json_path(p, path, "cell");
        return tg_json_check_keys(c, obj_cell, p, CELL_KEYS) ||
                       tg__cell_def_parse(c, obj_cell, p, &L->cell_def)
                   ? -1
                   : 0;
    }
    if (tg_json_enum(c, obj, path, "cell", TG_JSON_OPTIONAL, "cell", CELLS, &cell) < 0) return -1;
    L->cell = cell;
    return 0;
}

/* out: the downward then the upward sweep's features */
static int renet_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                      tg__sizing *z) {
    if (!s->image_patch)
        return tg_json_fail(c, path, "renet layers read an image's patch grid, but input.type is "
                                     "not \"image\"");
    L->grid_rows = s->image_height / s->image_patch;
    L->grid_cols = s->image_width / s->image_patch;
    L->out = 2 * L->hidden, z->split = 0;
    return 0;
}

static tg_module *renet_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                              size_t elen) {
    (void)m;
    static const tg_rnn_mode MODES[] = {TG_RNN_TANH, TG_RNN_RELU, TG_LSTM, TG_GRU};
    tg_renet_options o = {.mode = MODES[L->cell], .input_size = L->in, .hidden_size = L->hidden};
    tg_module *holder = L->cell_def ? tg__cell_holder_new(L->cell_def, &o.cell) : NULL;
    if (L->cell_def && !holder) return tg_error_set(e, elen, "renet: out of memory");
    tg_renet *r = tg_renet_new(o, init, e, elen);
    if (!r || !holder) {
        tg_module_free(holder);
        return (tg_module *)r;
    }
    if (tg_module_add_child(&r->base, "", holder)) {
        tg_module_free(&r->base);
        return tg_error_set(e, elen, "renet: out of memory");
    }
    return &r->base;
}

/* x [T, B, F] with T = R*C patches -> [B, R, C, F] -> [T, B, 2H] */
static tg_tensor *renet_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    tg_tape *t = r->t;
    int64_t R = r->m->layers[k].grid_rows, C = r->m->layers[k].grid_cols;
    if (r->T != R * C) {
        tg_tape_fail(t, "renet: %lld steps, expected the image's %lld x %lld patches",
                     (long long)r->T, (long long)R, (long long)C);
        return NULL;
    }
    tg_tensor *g = tg_contiguous(t, tg_transpose(t, x, 0, 1));
    g = g ? tg_reshape(t, g, TG_SHAPE(r->B, R, C, x->shape[2])) : NULL;
    tg_tensor *y = g ? tg_renet_forward(t, (tg_renet *)r->m->mods[k], g) : NULL;
    y = y ? tg_reshape(t, y, TG_SHAPE(r->B, R * C, y->shape[3])) : NULL;
    return y ? tg_contiguous(t, tg_transpose(t, y, 0, 1)) : NULL;
}

const tg__layer_row tg__layer_renet = {
    .keys = RENET_KEYS,
    .parse = renet_parse,
    .size = renet_size,
    .build = renet_build,
    .forward = renet_forward,
};
