/* train.memory: how the recurrent layers pay for backpropagation through
 * time (tg_rnn_memory in nn/rnn.h). */
#include "spec_memory.h"
#include "names.h"

#include <math.h>

static const char *const MODES[] = {"full", "recompute", NULL};
static const char *const MEMORY_KEYS[] = {"segment", "budget_mb", "whole_model", NULL};

/* whole_model: the opt-in to tg_model_train_loss's whole-model path, kept
 * apart from "recompute" because its gradients equal the full tape's only
 * to rounding, while every other setting promises the same bits. */
static int parse_value(const tg_jctx *c, const cJSON *tr, tg_rnn_memory *mem, bool *whole_model) {
    const char *P = "train.memory";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tr, "memory");
    if (cJSON_IsString(v)) {
        int mode = 0;
        if (tg_json_enum(c, tr, "train", "memory", TG_JSON_REQUIRED, "memory mode", MODES, &mode) <
            0)
            return -1;
        mem->recompute = mode == 1;
        return 0;
    }
    if (tg_json_expect_object(c, v, P,
                              "\"full\", \"recompute\", {\"segment\": K}, {\"budget_mb\": MB} "
                              "or {\"whole_model\": true}") ||
        tg_json_check_keys(c, v, P, MEMORY_KEYS) ||
        tg_json_int(c, v, P, "segment", TG_JSON_OPTIONAL, 1, TG_SPEC_MAX_SIZE, &mem->segment) < 0 ||
        tg_json_number(c, v, P, "budget_mb", TG_JSON_OPTIONAL, 0, true, INFINITY, true,
                       &mem->budget_mb) < 0 ||
        tg_json_bool(c, v, P, "whole_model", TG_JSON_OPTIONAL, whole_model) < 0)
        return -1;
    if (mem->segment > 0 && mem->budget_mb > 0)
        return tg_json_fail(c, P, "segment and budget_mb are both given; give one");
    mem->recompute = true;
    return 0;
}

int tg_spec_parse_memory(const tg_jctx *c, const cJSON *tr, tg_spec *s) {
    tg_rnn_memory mem = {0};
    bool whole_model = false;
    if (!tr || !cJSON_GetObjectItemCaseSensitive(tr, "memory")) return 0;
    if (parse_value(c, tr, &mem, &whole_model)) return -1;
    int recurrent = 0;
    for (int i = 0; i < s->n_layers; i++) {
        tg_layer_spec *L = &s->layers[i];
        if (tg__layer_is(L->type, TG__LAYER_RECOMPUTES))
            L->memory = mem, L->whole_model = whole_model, recurrent++;
    }
    if (mem.recompute && !recurrent)
        return tg_json_fail(c, "train.memory",
                            "recompute applies to rnn, lstm, gru and deep_rnn layers; this model has none");
    return 0;
}
