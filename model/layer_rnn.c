/* The layer types a tg_rnn module runs (nn/rnn.h): rnn (Elman, tanh or
 * relu), lstm and gru, stacked and bidirectional as PyTorch's. */
#include "../nn/condition.h"
#include "layer.h"
#include "layer_variant.h"

#define RECURRENT "input", "hidden", "num_layers", "bidirectional", "dropout", "bias", "batch_first"
static const char *const RNN_KEYS[] = {"type", "name", RECURRENT, "nonlinearity", NULL};
static const char *const LSTM_KEYS[] = {"type",      "name",           RECURRENT,
                                        "proj_size", TG__VARIANT_KEYS, NULL};
static const char *const GRU_KEYS[] = {"type", "name", RECURRENT, TG__VARIANT_KEYS, NULL};

/* the keys every tg_rnn type shares */
static int parse_stack(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                       tg_layer_spec *L) {
    int64_t n = 1;
    if (tg__layer_parse_hidden(c, s, obj, path, L) ||
        tg_json_int(c, obj, path, "num_layers", TG_JSON_OPTIONAL, 1, TG__MAX_STACK, &n) < 0 ||
        tg_json_bool(c, obj, path, "bidirectional", TG_JSON_OPTIONAL, &L->bidirectional) < 0 ||
        tg_json_number(c, obj, path, "dropout", TG_JSON_OPTIONAL, 0, false, 1, true, &L->dropout) <
            0 ||
        tg_json_bool(c, obj, path, "bias", TG_JSON_OPTIONAL, &L->bias) < 0)
        return -1;
    L->num_layers = (int)n;
    return 0;
}

static int rnn_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                     tg_layer_spec *L) {
    return tg__layer_parse_nonlinearity(c, obj, path, L) || parse_stack(c, s, obj, path, L) ? -1
                                                                                            : 0;
}

/* "proj_size": 0 (off) or below hidden, which the message names; the
 * projection runs after the built-in cell only, so not with the
 * wishlist's keys (layer_variant.c), which the message names too. The
 * cell layer type reads its stack's keys here (its key list has none of
 * the wishlist's). */
static int lstm_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                      tg_layer_spec *L) {
    if (parse_stack(c, s, obj, path, L) ||
        tg_json_int(c, obj, path, "proj_size", TG_JSON_OPTIONAL, 0, TG_SPEC_MAX_SIZE,
                    &L->proj_size) < 0 ||
        tg__layer_parse_variant(c, obj, path, true, L))
        return -1;
    char at[256];
    if (L->proj_size >= L->hidden)
        return tg_json_fail(c, tg_json_path(at, path, "proj_size"),
                            "must be below hidden (%lld), got %lld", (long long)L->hidden,
                            (long long)L->proj_size);
    const char *key = tg__layer_variant_key(L);
    if (L->proj_size && key)
        return tg_json_fail(c, tg_json_path(at, path, "proj_size"),
                            "not with \"%s\": a projected lstm runs the built-in cell only", key);
    return 0;
}

static int gru_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                     tg_layer_spec *L) {
    return parse_stack(c, s, obj, path, L) || tg__layer_parse_variant(c, obj, path, false, L) ? -1
                                                                                              : 0;
}

/* out: both directions' features side by side, the reverse's second; each
 * proj_size wide when projected */
static int stack_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                      tg__sizing *z) {
    (void)c, (void)s, (void)path;
    int64_t h = L->proj_size ? L->proj_size : L->hidden;
    L->out = (L->bidirectional ? 2 : 1) * h;
    z->split = L->bidirectional ? h : 0;
    return 0;
}

static tg_module *build(const tg_layer_spec *L, tg_rnn_mode mode, tg_rng *init, char *e,
                        size_t elen) {
    tg_rnn_options o = {.mode = mode,
                        .input_size = L->in,
                        .hidden_size = L->hidden,
                        .num_layers = L->num_layers,
                        .no_bias = !L->bias,
                        .bidirectional = L->bidirectional,
                        .dropout = L->dropout,
                        .proj_size = L->proj_size,
                        .seed = tg_rng_u64(init),
                        .memory = L->memory};
    if (mode != TG_RNN_TANH && mode != TG_RNN_RELU && tg__layer_variant_key(L))
        return tg__layer_variant_build(L, mode == TG_LSTM ? "lstm" : "gru", o, init, e, elen);
    return (tg_module *)tg_rnn_new(o, init, e, elen);
}

static tg_module *rnn_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                            size_t elen) {
    (void)m;
    return build(L, L->relu ? TG_RNN_RELU : TG_RNN_TANH, init, e, elen);
}

static tg_module *lstm_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                             size_t elen) {
    (void)m;
    return build(L, TG_LSTM, init, e, elen);
}

static tg_module *gru_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                            size_t elen) {
    (void)m;
    return build(L, TG_GRU, init, e, elen);
}

/* A recurrent layer after an embedding that feeds it reads the ids through
 * that embedding (x is NULL then); input.condition enters here as the
 * initial state or appended to x. */
static tg_tensor *stack_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    tg_tape *t = r->t;
    tg_model *m = r->m;
    tg_model_state *st = r->st;
    tg_rnn *rnn = (tg_rnn *)m->mods[k];
    tg_tensor *h0 = st ? tg__layer_initial(t, st->h[k], 1, r->B, k) : NULL;
    tg_tensor *c0 = st ? tg__layer_initial(t, st->c[k], 1, r->B, k) : NULL;
    if (m->cond_size && k == m->cond_layer) {
        if (m->cond_as == TG_COND_INPUT)
            x = tg_condition_append(t, x, r->cond, m->cond_size);
        else if (!h0 && tg_condition_initial(t, (tg_linear_layer *)m->cond_map, rnn, r->cond, r->B,
                                             m->cond_size, &h0, &c0))
            return NULL;
    }
    tg_rnn_result res;
    int status = k > 0 && tg__embedding_feeds_rnn(m, k - 1)
                     ? tg_rnn_forward_tokens(t, rnn, (tg_embedding *)m->mods[k - 1], r->ids,
                                             TG_SHAPE(r->T, r->B), h0, c0, r->lengths, &res)
                     : tg_rnn_forward(t, rnn, x, h0, c0, r->lengths, &res);
    if (status != 0) return NULL;
    r->out->h_n = res.h_n, r->out->c_n = res.c_n;
    if (st) tg_tbptt_carry(t, &st->h[k], res.h_n);
    if (st && res.c_n) tg_tbptt_carry(t, &st->c[k], res.c_n);
    return res.output;
}

const tg__layer_row tg__layer_rnn = {
    .keys = RNN_KEYS,
    .parse = rnn_parse,
    .size = stack_size,
    .build = rnn_build,
    .forward = stack_forward,
};

const tg__layer_row tg__layer_lstm = {
    .keys = LSTM_KEYS,
    .parse = lstm_parse,
    .size = stack_size,
    .build = lstm_build,
    .forward = stack_forward,
};

const tg__layer_row tg__layer_gru = {
    .keys = GRU_KEYS, /* lstm's but proj_size */
    .parse = gru_parse,
    .size = stack_size,
    .build = gru_build,
    .forward = stack_forward,
};
