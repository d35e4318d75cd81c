/* What several layer rows share: the keys of recurrent layers, a layer's
 * "out", and carrying a state into a recurrent layer. */
#include <string.h>

#include "layer.h"

static const char *const NONLINEARITIES[] = {"tanh", "relu", NULL};

int tg__layer_parse_hidden(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                           tg_layer_spec *L) {
    char p[TG_JSON_PATH_MAX];
    bool bf = s->batch_first;
    if (tg_json_int(c, obj, path, "hidden", TG_JSON_REQUIRED, 1, TG_SPEC_MAX_SIZE, &L->hidden) < 0)
        return -1;
    int r = tg_json_bool(c, obj, path, "batch_first", TG_JSON_OPTIONAL, &bf);
    if (r < 0) return -1;
    if (r == 1 && bf != s->batch_first)
        return tg_json_fail(c, tg_json_path(p, path, "batch_first"),
                            "%s does not match input.batch_first (%s); the batch layout is set "
                            "once, in input.batch_first",
                            bf ? "true" : "false", s->batch_first ? "true" : "false");
    return 0;
}

int tg__layer_parse_nonlinearity(const tg_jctx *c, const cJSON *obj, const char *path,
                                 tg_layer_spec *L) {
    int k = 0;
    int r = tg_json_enum(c, obj, path, "nonlinearity", TG_JSON_OPTIONAL, "nonlinearity",
                         NONLINEARITIES, &k);
    L->relu = k == 1;
    return r < 0 ? -1 : 0;
}

int tg__layer_parse_out(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                        tg_layer_spec *L, bool vocab_ok) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "out");
    char p[TG_JSON_PATH_MAX], d[64];
    tg_json_path(p, path, "out");
    if (vocab_ok && cJSON_IsString(v) && strcmp(v->valuestring, "vocab") == 0) {
        if (s->input != TG_INPUT_TOKENS)
            return tg_json_fail(c, p, "\"vocab\" needs token input, but input.type is \"%s\"",
                                tg__input_names[s->input]);
        L->out_is_vocab = true;
        return 0;
    }
    if (!v || (cJSON_IsString(v) && vocab_ok)) {
        const char *what = vocab_ok ? "a positive integer or \"vocab\"" : "a positive integer";
        if (!v) return tg_json_fail(c, p, "missing; expected %s", what);
        return tg_json_fail(c, p, "expected %s, got %s", what, tg_json_describe(v, d, sizeof d));
    }
    return tg_json_int(c, obj, path, "out", TG_JSON_REQUIRED, 1, TG_SPEC_MAX_SIZE, &L->out) < 0 ? -1
                                                                                                : 0;
}

int tg__layer_size_same(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                        tg__sizing *z) {
    (void)c, (void)s, (void)path, (void)z;
    L->out = L->in;
    return 0;
}

bool tg__embedding_feeds_rnn(const tg_model *m, int k) {
    return m->layers[k].type == TG_LAYER_EMBEDDING && k + 1 < m->n_layers &&
           tg_spec_is_rnn_layer(m->layers[k + 1].type) &&
           !(m->cond_size && m->cond_layer == k + 1 && m->cond_as == TG_COND_INPUT);
}

/* The graph must not read the heap tensor itself: the new final state is
 * written there before backward. */
tg_tensor *tg__layer_initial(tg_tape *t, const tg_tensor *s, int bdim, int64_t B, int k) {
    if (!s) return NULL;
    if (s->shape[bdim] != B) {
        tg_tape_fail(t,
                     "tg_model_forward: the carried state of layers[%d] holds %lld sequences, "
                     "this batch has %lld (reset the state)",
                     k, (long long)s->shape[bdim], (long long)B);
        return NULL;
    }
    return tg_from_array(t, tg_tensor_shape(s), s->data);
}

int tg__layer_state_in(const tg__layer_run *r, int k, tg_tensor **s0) {
    *s0 = NULL;
    if (r->st && r->lengths) { /* their final state is at step T-1, padding included */
        tg_tape_fail(r->t,
                     "tg_model_forward: layers[%d] (%s) cannot carry a state across "
                     "sequences of different lengths",
                     k, tg_layer_type_name(r->m->layers[k].type));
        return -1;
    }
    if (r->st) *s0 = tg__layer_initial(r->t, r->st->h[k], 0, r->B, k);
    return 0;
}

void tg__layer_state_out(const tg__layer_run *r, int k, tg_tensor *fin) {
    r->out->h_n = fin, r->out->c_n = NULL;
    if (r->st) tg_tbptt_carry(r->t, &r->st->h[k], fin);
}
