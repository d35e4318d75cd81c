/* Specs of task tree: what may surround its layers (tree_rnn, tree_lstm:
 * layer_tree.c) and the loss's "target" (docs/spec.md, "Trees"). */
#include <stdio.h>
#include <string.h>

#include "layer.h"

static const char *const TARGETS[] = {"nodes", "roots", NULL};

int tg_spec_tree_check(const tg_jctx *c, const tg_spec *s) {
    char p[TG_JSON_PATH_MAX];
    bool tree = s->task == TG_TASK_TREE, any = false;
    for (int k = 0; k < s->n_layers; k++) {
        const tg_layer_spec *L = &s->layers[k];
        const char *type = tg_layer_type_name(L->type);
        tg_json_path_index(p, "model.layers", L->index);
        bool composes = tg__layer_is(L->type, TG__LAYER_TREE);
        any = any || composes;
        if (!tree && composes)
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
        if (!tg__layer_row_of(L->type)->tree) /* not a layer that runs per node */
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
