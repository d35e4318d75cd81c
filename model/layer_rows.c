/* Layer types that treat each row (step or tree node) alike: linear,
 * activation, dropout. The same function runs over a sequence [T, B, F]
 * and over a tree batch's nodes [N, F]. */
#include "layer.h"

static const char *const LINEAR_KEYS[] = {"type", "name", "input", "out", "bias", NULL};
static const char *const ACTIVATION_KEYS[] = {"type", "name", "input", "fn", NULL};
static const char *const DROPOUT_KEYS[] = {"type", "name", "input", "p", NULL};
static const char *const ACTIVATIONS[] = {"tanh", "relu", "sigmoid", NULL};

/* fn(t, m, k, x) as a row's forward (over a sequence) and tree (over the nodes) */
#define PER_ROW(rows)                                                                              \
    static tg_tensor *rows##_tree(tg_tape *t, tg_model *m, int k, const tg_tree_batch *tb,         \
                                  tg_tensor *x, tg_model_output *out) {                            \
        (void)tb, (void)out;                                                                       \
        return rows(t, m, k, x);                                                                   \
    }                                                                                              \
    static tg_tensor *rows##_forward(const tg__layer_run *r, int k, tg_tensor *x) {                \
        return rows(r->t, r->m, k, x);                                                             \
    }

/* ---- linear ------------------------------------------------------------------ */

static int linear_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                        tg_layer_spec *L) {
    return tg__layer_parse_out(c, s, obj, path, L, true) ||
                   tg_json_bool(c, obj, path, "bias", TG_JSON_OPTIONAL, &L->bias) < 0
               ? -1
               : 0;
}

static int linear_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                       tg__sizing *z) {
    (void)c, (void)path;
    if (L->out_is_vocab) L->out = s->vocab;
    z->split = 0;
    return 0;
}

static tg_module *linear_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                               size_t elen) {
    (void)m, (void)e, (void)elen;
    return (tg_module *)tg_linear_layer_new(L->in, L->out, L->bias, init);
}

static tg_tensor *linear(tg_tape *t, tg_model *m, int k, tg_tensor *x) {
    return tg_linear_layer_forward(t, (tg_linear_layer *)m->mods[k], x);
}
PER_ROW(linear)

const tg__layer_row tg__layer_linear = {
    .keys = LINEAR_KEYS,
    .parse = linear_parse,
    .size = linear_size,
    .build = linear_build,
    .forward = linear_forward,
    .tree = linear_tree,
};

/* ---- activation ---------------------------------------------------------------- */

static int activation_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                            tg_layer_spec *L) {
    (void)s;
    int k = 0;
    int r = tg_json_enum(c, obj, path, "fn", TG_JSON_REQUIRED, "activation", ACTIVATIONS, &k);
    L->fn = (tg_activation_fn)k;
    return r < 0 ? -1 : 0;
}

static tg_tensor *activation(tg_tape *t, tg_model *m, int k, tg_tensor *x) {
    tg_activation_fn fn = m->layers[k].fn;
    return fn == TG_ACT_TANH ? tg_tanh(t, x) : fn == TG_ACT_RELU ? tg_relu(t, x) : tg_sigmoid(t, x);
}
PER_ROW(activation)

const tg__layer_row tg__layer_activation = {
    .keys = ACTIVATION_KEYS,
    .parse = activation_parse,
    .size = tg__layer_size_same,
    .forward = activation_forward,
    .tree = activation_tree,
};

/* ---- dropout ---------------------------------------------------------------------- */

static int dropout_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                         tg_layer_spec *L) {
    (void)s;
    return tg_json_number(c, obj, path, "p", TG_JSON_OPTIONAL, 0, false, 1, true, &L->p) < 0 ? -1
                                                                                             : 0;
}

static tg_tensor *dropout(tg_tape *t, tg_model *m, int k, tg_tensor *x) {
    return tg_dropout(t, x, m->layers[k].p, m->base.training, &m->rng);
}
PER_ROW(dropout)

const tg__layer_row tg__layer_dropout = {
    .keys = DROPOUT_KEYS,
    .parse = dropout_parse,
    .size = tg__layer_size_same,
    .forward = dropout_forward,
    .tree = dropout_tree,
};
