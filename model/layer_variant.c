/* The wishlist's spec keys on lstm and gru layers (layer_variant.h): read
 * with their JSON paths, and the layer built around a tg_cell_variant
 * cell, which a small child module keeps alive as long as the layer. */
#include <stdlib.h>
#include <string.h>

#include "layer_variant.h"

/* A probability key: [0, 1) as nn/cell_variant.h takes it. */
static int prob(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                double *out) {
    return tg_json_number(c, obj, path, key, TG_JSON_OPTIONAL, 0, false, 1, true, out) < 0 ? -1 : 0;
}

/* An activation's name, kept as the table's own (static) string. */
static int activation(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                      const char **out) {
    const char *names[TG_CELL_ACT_COUNT + 1];
    for (int k = 0; k < TG_CELL_ACT_COUNT; k++) names[k] = tg_cell_activation_name(k);
    names[TG_CELL_ACT_COUNT] = NULL;
    int k, got = tg_json_enum(c, obj, path, key, TG_JSON_OPTIONAL, "activation", names, &k);
    if (got > 0) *out = names[k];
    return got < 0 ? -1 : 0;
}

/* "zoneout": p for every state, or {"h": p, "c": p} (each 0 when absent). */
static int zoneout(const tg_jctx *c, const cJSON *obj, const char *path, bool lstm,
                   tg_cell_variant_options *o) {
    static const char *const KEYS[] = {"h", "c", NULL};
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(obj, "zoneout");
    char at[TG_JSON_PATH_MAX], sub[TG_JSON_PATH_MAX], d[64];
    if (!z) return 0;
    tg_json_path(at, path, "zoneout");
    if (cJSON_IsNumber(z)) {
        if (prob(c, obj, path, "zoneout", &o->zoneout_h)) return -1;
        o->zoneout_c = lstm ? o->zoneout_h : 0;
        return 0;
    }
    if (!cJSON_IsObject(z))
        return tg_json_fail(c, at, "expected a number in [0, 1) or an object {\"h\": p%s}, got %s",
                            lstm ? ", \"c\": p" : "", tg_json_describe(z, d, sizeof d));
    if (tg_json_check_keys(c, z, at, KEYS) || prob(c, z, at, "h", &o->zoneout_h)) return -1;
    if (!lstm && cJSON_GetObjectItemCaseSensitive(z, "c"))
        return tg_json_fail(c, tg_json_path(sub, at, "c"),
                            "only an lstm has a cell state to zone out (a gru has h alone)");
    return prob(c, z, at, "c", &o->zoneout_c);
}

int tg__layer_parse_variant(const tg_jctx *c, const cJSON *obj, const char *path, bool lstm,
                            tg_layer_spec *L) {
    tg_cell_variant_options *o = &L->variant;
    char at[TG_JSON_PATH_MAX];
    if (tg_json_bool(c, obj, path, "layer_norm", TG_JSON_OPTIONAL, &o->layer_norm) < 0 ||
        tg_json_bool(c, obj, path, "peephole", TG_JSON_OPTIONAL, &o->peephole) < 0)
        return -1;
    if (o->peephole && !lstm)
        return tg_json_fail(c, tg_json_path(at, path, "peephole"),
                            "only an lstm has a cell state to look at (a gru has none)");
    if (activation(c, obj, path, "gate_activation", &o->gate_activation) ||
        activation(c, obj, path, "activation", &o->activation) ||
        prob(c, obj, path, "recurrent_dropout", &o->recurrent_dropout) ||
        prob(c, obj, path, "input_dropout", &o->input_dropout))
        return -1;
    return zoneout(c, obj, path, lstm, o);
}

const char *tg__layer_variant_key(const tg_layer_spec *L) {
    const tg_cell_variant_options *o = &L->variant;
    /* an activation written as the default still asks for the variant's
     * cell: the same numbers, composed from ops (and fused by tracing) */
    return o->layer_norm                          ? "layer_norm"
           : o->peephole                          ? "peephole"
           : o->gate_activation                   ? "gate_activation"
           : o->activation                        ? "activation"
           : o->recurrent_dropout > 0             ? "recurrent_dropout"
           : o->input_dropout > 0                 ? "input_dropout"
           : o->zoneout_h > 0 || o->zoneout_c > 0 ? "zoneout"
                                                  : NULL;
}

/* The child module that owns the cell: freed with the layer, after it. */
typedef struct variant_holder {
    tg_module base;
    tg_cell *cell;
} variant_holder;

static void holder_destroy(tg_module *m) {
    tg_cell_variant_free(((variant_holder *)m)->cell);
}

tg_module *tg__layer_variant_build(const tg_layer_spec *L, const char *base, tg_rnn_options o,
                                   tg_rng *init, char *e, size_t elen) {
    variant_holder *h = calloc(1, sizeof *h);
    if (!h) {
        tg_error_set(e, elen, "%s: out of memory", base);
        return NULL;
    }
    h->base.kind = "cell_variant";
    h->base.training = true;
    h->base.destroy = holder_destroy;
    h->cell = tg_cell_variant_new(base, &L->variant, e, elen);
    tg_rnn *rnn = NULL;
    if (h->cell) {
        o.cell = h->cell;
        rnn = tg_rnn_new(o, init, e, elen);
    }
    if (!rnn) {
        tg_module_free(&h->base);
        return NULL;
    }
    if (tg_module_add_child(&rnn->base, "", &h->base)) { /* it freed h */
        tg_module_free(&rnn->base);
        tg_error_set(e, elen, "%s: out of memory", base);
        return NULL;
    }
    return &rnn->base;
}

/* Whether L's cell draws masks in training. */
static bool draws_masks(const tg_layer_spec *L) {
    const tg_cell_variant_options *o = &L->variant;
    return (L->type == TG_LAYER_LSTM || L->type == TG_LAYER_GRU) &&
           (o->recurrent_dropout > 0 || o->input_dropout > 0 || o->zoneout_h > 0 ||
            o->zoneout_c > 0);
}

void tg__layer_variant_fresh_masks(tg_model *m) {
    uint64_t salt = 0;
    for (int k = 0; k < m->n_layers; k++) {
        if (!draws_masks(&m->layers[k])) continue;
        if (!salt) salt = tg_rng_u64(&m->rng) | 1; /* 0 would mean no salt */
        ((tg_rnn *)m->mods[k])->mask_salt = salt;
    }
}
