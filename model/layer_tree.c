/* The layer types that compose trees (task tree, nn/treenet.h): tree_rnn,
 * a recursive NN, and tree_lstm, child-sum or N-ary. */
#include <string.h>

#include "layer.h"

#define MAX_ARITY 64 /* N-ary weights grow as N^2 */

static const char *const TREE_KEYS[] = {"type", "name", "input", "hidden", "arity", NULL};

static int tree_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                      tg_layer_spec *L) {
    (void)s;
    char p[TG_JSON_PATH_MAX], d[64];
    if (tg_json_int(c, obj, path, "hidden", TG_JSON_REQUIRED, 1, TG_SPEC_MAX_SIZE, &L->hidden) < 0)
        return -1;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "arity");
    bool lstm = L->type == TG_LAYER_TREE_LSTM;
    L->arity = lstm ? 0 : 2; /* child-sum Tree-LSTM; binary recursive NN */
    if (!a) return 0;
    if (lstm && cJSON_IsString(a) && strcmp(a->valuestring, "any") == 0) return 0;
    if (cJSON_IsString(a))
        return tg_json_fail(c, tg_json_path(p, path, "arity"), "expected %s, got %s",
                            lstm ? "\"any\" (child-sum) or the number of children (N-ary)"
                                 : "the number of children, 1 to 64 (a tree_rnn's children "
                                   "have fixed places)",
                            tg_json_describe(a, d, sizeof d));
    int64_t n;
    if (tg_json_int(c, obj, path, "arity", TG_JSON_REQUIRED, 1, MAX_ARITY, &n) < 0) return -1;
    L->arity = (int)n;
    return 0;
}

static int tree_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                     tg__sizing *z) {
    (void)s, (void)z;
    L->out = L->hidden;
    if (L->type == TG_LAYER_TREE_RNN && L->in && L->in != L->hidden)
        return tg_json_fail(c, path,
                            "a tree_rnn's leaves are h = x, so its input of %lld features must "
                            "equal its hidden %lld",
                            (long long)L->in, (long long)L->hidden);
    return 0;
}

static tg_module *tree_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                             size_t elen) {
    (void)m;
    tg_treenet_options o = {.input_size = L->in, .hidden_size = L->hidden, .arity = L->arity};
    o.cell = L->type == TG_LAYER_TREE_RNN ? TG_TREE_RNN
             : L->arity                   ? TG_TREE_LSTM_NARY
                                          : TG_TREE_LSTM_CHILD_SUM;
    return (tg_module *)tg_treenet_new(o, init, e, elen);
}

/* x [N, F] -> h [N, H], the nodes level by level; out gets the roots' states */
static tg_tensor *tree_forward(tg_tape *t, tg_model *m, int k, const tg_tree_batch *tb,
                               tg_tensor *x, tg_model_output *out) {
    tg_treenet_result r;
    if (tg_treenet_forward(t, (tg_treenet *)m->mods[k], tb, x, &r) != 0) return NULL;
    out->h_n = r.root_h;
    out->c_n = r.c ? tg_index_select(t, r.c, 0, tb->roots, tb->n_trees) : NULL;
    return r.h;
}

const tg__layer_row tg__layer_tree_rnn = {
    .keys = TREE_KEYS,
    .parse = tree_parse,
    .size = tree_size,
    .build = tree_build,
    .tree = tree_forward,
};

const tg__layer_row tg__layer_tree_lstm = {
    .keys = TREE_KEYS,
    .parse = tree_parse,
    .size = tree_size,
    .build = tree_build,
    .tree = tree_forward,
};
