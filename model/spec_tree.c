/* Specs of task tree: its layers (tree_rnn, tree_lstm), what may surround
 * them, and the loss's "target" (docs/spec.md, "Trees"). */
#include <stdio.h>
#include <string.h>

#include "spec_tree.h"

#define MAX_ARITY 64                  /* N-ary weights grow as N^2 */

static const char *const TARGETS[] = {"nodes", "roots", NULL};

bool tg_spec_is_tree_layer(tg_layer_type t) {
    return t == TG_LAYER_TREE_RNN || t == TG_LAYER_TREE_LSTM;
}

int tg_spec_tree_layer(const tg_jctx *c, const cJSON *obj, const char *path, tg_layer_spec *L) {
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

int tg_spec_tree_check(const tg_jctx *c, const tg_spec *s) {
    char p[TG_JSON_PATH_MAX];
    bool tree = s->task == TG_TASK_TREE, any = false;
    for (int k = 0; k < s->n_layers; k++) {
        const tg_layer_spec *L = &s->layers[k];
        const char *type = tg_layer_type_name(L->type);
        tg_json_path_index(p, "model.layers", L->index);
        any = any || tg_spec_is_tree_layer(L->type);
        if (!tree && tg_spec_is_tree_layer(L->type))
            return tg_json_fail(c, p, "%s layers compose trees, so they need task tree, not %s",
                                type, tg_task_name(s->task));
        if (!tree) continue;
        if (k == 0 && L->type != TG_LAYER_EMBEDDING)
            return tg_json_fail(c, p,
                                "task tree embeds the token at each node, so layers[0] must be "
                                "an embedding, got %s",
                                type);
        if (L->type == TG_LAYER_POOL)
            return tg_json_fail(c, p,
                                "a pool layer reads a sequence, but task tree has a vector per "
                                "node (to train on whole trees, set \"loss\": {\"target\": "
                                "\"roots\"})");
        bool per_node = L->type == TG_LAYER_EMBEDDING || L->type == TG_LAYER_LINEAR ||
                        L->type == TG_LAYER_ACTIVATION || L->type == TG_LAYER_DROPOUT ||
                        tg_spec_is_tree_layer(L->type);
        if (!per_node)
            return tg_json_fail(c, p,
                                "%s layers read sequences; task tree takes embedding, tree_rnn, "
                                "tree_lstm, linear, activation and dropout layers",
                                type);
    }
    if (tree && !any)
        return tg_json_fail(c, "model.layers",
                            "task tree needs a tree_rnn or tree_lstm layer to compose each "
                            "node from its children");
    return 0;
}

int tg_spec_tree_sizes(const tg_jctx *c, const char *path, tg_layer_spec *L, int64_t in) {
    L->out = L->hidden;
    if (L->type == TG_LAYER_TREE_RNN && in && in != L->hidden)
        return tg_json_fail(c, path,
                            "a tree_rnn's leaves are h = x, so its input of %lld features must "
                            "equal its hidden %lld",
                            (long long)in, (long long)L->hidden);
    return 0;
}

int tg_spec_tree_target(const tg_jctx *c, const cJSON *loss, tg_spec *s) {
    int k = TG_TREE_NODES;
    int r = tg_json_enum(c, loss, "loss", "target", TG_JSON_OPTIONAL, "target", TARGETS, &k);
    if (r < 0) return -1;
    if (r == 1 && s->task != TG_TASK_TREE)
        return tg_json_fail(c, "loss.target", "only task tree has a choice of targets, not %s",
                            tg_task_name(s->task));
    s->tree_target = k == TG_TREE_ROOTS ? TG_TREE_ROOTS : TG_TREE_NODES;
    return 0;
}
