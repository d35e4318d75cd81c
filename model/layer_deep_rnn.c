/* The deep_rnn layer type: a deep transition RNN (nn/deep_rnn.h). */
#include "layer.h"

#define MAX_DEPTH 64 /* deep_rnn depth */

static const char *const DEEP_RNN_KEYS[] = {"type",  "name", "input",       "hidden",
                                            "depth", "skip", "batch_first", NULL};

static int deep_rnn_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                          tg_layer_spec *L) {
    int64_t depth = 1;
    int r = tg__layer_parse_hidden(c, s, obj, path, L) ||
            tg_json_int(c, obj, path, "depth", TG_JSON_OPTIONAL, 1, MAX_DEPTH, &depth) < 0 ||
            tg_json_bool(c, obj, path, "skip", TG_JSON_OPTIONAL, &L->skip) < 0;
    L->depth = (int)depth;
    return r ? -1 : 0;
}

static int deep_rnn_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                         tg__sizing *z) {
    (void)c, (void)s, (void)path;
    L->out = L->hidden, z->split = 0;
    return 0;
}

static tg_module *deep_rnn_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                                 size_t elen) {
    (void)m;
    tg_deep_rnn_options o = {
        .input_size = L->in, .hidden_size = L->hidden, .depth = L->depth, .skip = L->skip,
        .memory = L->memory};
    return (tg_module *)tg_deep_rnn_new(o, init, e, elen);
}

/* its carried state is h [B, H] */
static tg_tensor *deep_rnn_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    tg_tensor *s0;
    tg_deep_rnn_result res;
    if (tg__layer_state_in(r, k, &s0) != 0 ||
        tg_deep_rnn_forward(r->t, (tg_deep_rnn *)r->m->mods[k], x, s0, &res) != 0)
        return NULL;
    tg__layer_state_out(r, k, res.h_n);
    return res.output;
}

const tg__layer_row tg__layer_deep_rnn = {
    .keys = DEEP_RNN_KEYS,
    .parse = deep_rnn_parse,
    .size = deep_rnn_size,
    .build = deep_rnn_build,
    .forward = deep_rnn_forward,
};
