/* Spec files, task seq2seq: an encoder-decoder (nn/seq2seq.h) described by
 * a model object instead of a layer list, the two sides of the data, the
 * scheduled sampling of training and the decoding settings. */
#include "model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SPLITS[] = {"spaces", "chars", NULL};
static const char *const CELLS[] = {"rnn", "lstm", "gru", NULL};
static const char *const NONLINEARITIES[] = {"tanh", "relu", NULL};
static const char *const ATTENTIONS[] = {"none", "additive", "dot", "general", NULL};
static const char *const CONTEXTS[] = {"both", "init", "input", NULL};
static const char *const DECAYS[] = {"linear", "exponential", "inverse_sigmoid", NULL};

static const char *const INPUT_KEYS[] = {"type", "source", "target", NULL};
static const char *const MODEL_KEYS[] = {"encoder", "decoder", "attention",     "attention_size",
                                         "context", "dropout", "output_hidden", NULL};
static const char *const ENCODER_KEYS[] = {"type",          "embedding",    "hidden", "num_layers",
                                           "bidirectional", "nonlinearity", NULL};
static const char *const DECODER_KEYS[] = {"type",       "embedding",    "hidden",
                                           "num_layers", "nonlinearity", NULL};
static const char *const DECODE_KEYS[] = {"beam", "length_penalty", "max_length", NULL};
static const char *const SAMPLING_KEYS[] = {"decay", "k", "c", "eps_min", NULL};

static int parse_input(const tg_jctx *c, const cJSON *root, tg_seq2seq_spec *q) {
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    const char *types[] = {"tokens", NULL};
    int type, src = TG_SPLIT_SPACES, tgt = TG_SPLIT_SPACES;
    if (!in)
        return tg_json_fail(c, "input",
                            "missing; expected {\"type\": \"tokens\", \"source\": \"chars\", "
                            "\"target\": \"spaces\"}");
    if (tg_json_expect_object(c, in, "input", "an object such as {\"type\": \"tokens\"}") ||
        tg_json_check_keys(c, in, "input", INPUT_KEYS) ||
        tg_json_enum(c, in, "input", "type", TG_JSON_REQUIRED, "input type for task seq2seq", types,
                     &type) < 0 ||
        tg_json_enum(c, in, "input", "source", TG_JSON_OPTIONAL, "split", SPLITS, &src) < 0 ||
        tg_json_enum(c, in, "input", "target", TG_JSON_OPTIONAL, "split", SPLITS, &tgt) < 0)
        return -1;
    q->source = (tg_text_split)src, q->target = (tg_text_split)tgt;
    return 0;
}

/* model.encoder or model.decoder; the decoder's defaults are the encoder's. */
static int parse_side(const tg_jctx *c, const cJSON *model, const char *key, bool encoder,
                      tg_seq2seq_options *o) {
    char path[TG_JSON_PATH_MAX];
    tg_json_path(path, "model", key);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(model, key);
    if (!obj) {
        if (encoder)
            return tg_json_fail(c, path,
                                "missing; expected {\"type\": \"lstm\", \"embedding\": 64, "
                                "\"hidden\": 128}");
        o->decoder_mode = o->encoder_mode, o->tgt_embed_size = o->embed_size;
        o->decoder_hidden = o->encoder_hidden, o->decoder_layers = 1;
        return 0;
    }
    /* the decoder's type defaults to the encoder's (a relu rnn's included) */
    bool typed = encoder || cJSON_GetObjectItemCaseSensitive(obj, "type");
    int cell = encoder ? 1 : o->encoder_mode == TG_GRU ? 2 : o->encoder_mode == TG_LSTM ? 1 : 0;
    int relu = !typed && o->encoder_mode == TG_RNN_RELU;
    int64_t embed = encoder ? 0 : o->embed_size, hidden = encoder ? 0 : o->encoder_hidden,
            layers = 1;
    bool bidir = false;
    int req = encoder ? TG_JSON_REQUIRED : TG_JSON_OPTIONAL;
    if (tg_json_expect_object(c, obj, path,
                              "an object such as {\"type\": \"lstm\", \"hidden\": 128}") ||
        tg_json_check_keys(c, obj, path, encoder ? ENCODER_KEYS : DECODER_KEYS) ||
        tg_json_enum(c, obj, path, "type", TG_JSON_OPTIONAL, "recurrent type", CELLS, &cell) < 0 ||
        tg_json_enum(c, obj, path, "nonlinearity", TG_JSON_OPTIONAL, "nonlinearity", NONLINEARITIES,
                     &relu) < 0 ||
        tg_json_int(c, obj, path, "embedding", req, 1, TG_SPEC_MAX_SIZE, &embed) < 0 ||
        tg_json_int(c, obj, path, "hidden", req, 1, TG_SPEC_MAX_SIZE, &hidden) < 0 ||
        tg_json_int(c, obj, path, "num_layers", TG_JSON_OPTIONAL, 1, TG_S2S_MAX_LAYERS, &layers) <
            0 ||
        tg_json_bool(c, obj, path, "bidirectional", TG_JSON_OPTIONAL, &bidir) < 0)
        return -1;
    char p[TG_JSON_PATH_MAX];
    if (relu && cell != 0)
        return tg_json_fail(c, tg_json_path(p, path, "nonlinearity"),
                            "only an \"rnn\" has a nonlinearity; this one is \"%s\"", CELLS[cell]);
    tg_rnn_mode mode = cell == 1 ? TG_LSTM : cell == 2 ? TG_GRU : relu ? TG_RNN_RELU : TG_RNN_TANH;
    if (encoder) {
        o->encoder_mode = mode, o->embed_size = embed, o->encoder_hidden = hidden;
        o->encoder_layers = (int)layers, o->bidirectional = bidir;
    } else {
        o->decoder_mode = mode, o->tgt_embed_size = embed, o->decoder_hidden = hidden;
        o->decoder_layers = (int)layers;
    }
    return 0;
}

static int parse_model(const tg_jctx *c, const cJSON *root, tg_seq2seq_options *o) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    int attn = TG_ATTN_NONE, ctx = TG_CONTEXT_BOTH;
    if (!model)
        return tg_json_fail(c, "model",
                            "missing; expected {\"encoder\": {...}, \"decoder\": {...}, "
                            "\"attention\": \"additive\"}");
    if (tg_json_expect_object(c, model, "model",
                              "an object such as {\"encoder\": {...}, \"decoder\": {...}}") ||
        tg_json_check_keys(c, model, "model", MODEL_KEYS) ||
        parse_side(c, model, "encoder", true, o) || parse_side(c, model, "decoder", false, o) ||
        tg_json_enum(c, model, "model", "attention", TG_JSON_OPTIONAL, "attention", ATTENTIONS,
                     &attn) < 0 ||
        tg_json_int(c, model, "model", "attention_size", TG_JSON_OPTIONAL, 1, TG_SPEC_MAX_SIZE,
                    &o->attention_size) < 0 ||
        tg_json_enum(c, model, "model", "context", TG_JSON_OPTIONAL, "context", CONTEXTS, &ctx) <
            0 ||
        tg_json_int(c, model, "model", "output_hidden", TG_JSON_OPTIONAL, 1, TG_SPEC_MAX_SIZE,
                    &o->output_hidden) < 0 ||
        tg_json_number(c, model, "model", "dropout", TG_JSON_OPTIONAL, 0, false, 1, true,
                       &o->dropout) < 0)
        return -1;
    o->attention = (tg_attention_kind)attn, o->context = (tg_context_mode)ctx;
    int64_t C = (o->bidirectional ? 2 : 1) * o->encoder_hidden;
    if (o->attention_size && o->attention != TG_ATTN_ADDITIVE)
        return tg_json_fail(c, "model.attention_size",
                            "only additive attention has a size, this is \"%s\"", ATTENTIONS[attn]);
    if (o->attention == TG_ATTN_DOT && o->decoder_hidden != C)
        return tg_json_fail(c, "model.attention",
                            "dot attention needs decoder.hidden equal to the encoder's output "
                            "size %lld, got %lld",
                            (long long)C, (long long)o->decoder_hidden);
    o->bos = 0, o->eos = 1;
    return 0;
}

int tg_spec_parse_seq2seq(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    tg_seq2seq_spec *q = &s->seq2seq;
    s->input = TG_INPUT_TOKENS;
    s->batch_first = true;
    return parse_input(c, root, q) || parse_model(c, root, &q->model) ? -1 : 0;
}

static int parse_sampling(const tg_jctx *c, const cJSON *v, tg_seq2seq_spec *q) {
    const char *P = "train.sampling";
    char d[64];
    if (cJSON_IsNumber(v)) {
        if (!(v->valuedouble >= 0 && v->valuedouble <= 1))
            return tg_json_fail(c, P, "expected a probability in [0, 1] or a schedule, got %s",
                                tg_json_describe(v, d, sizeof d));
        q->sampling = v->valuedouble;
        return 0;
    }
    if (!cJSON_IsObject(v))
        return tg_json_fail(c, P,
                            "expected a probability in [0, 1] or a schedule such as "
                            "{\"decay\": \"inverse_sigmoid\", \"k\": 500}, got %s",
                            tg_json_describe(v, d, sizeof d));
    tg_sampling_schedule *sc = &q->schedule;
    int decay;
    *sc = (tg_sampling_schedule){.k = 1};
    if (tg_json_check_keys(c, v, P, SAMPLING_KEYS) ||
        tg_json_enum(c, v, P, "decay", TG_JSON_REQUIRED, "decay", DECAYS, &decay) < 0 ||
        tg_json_number(c, v, P, "eps_min", TG_JSON_OPTIONAL, 0, false, 1, false, &sc->eps_min) < 0)
        return -1;
    sc->decay = (tg_sampling_decay)decay;
    int r = 0;
    switch (sc->decay) {
    case TG_SAMPLING_LINEAR: /* eps = max(eps_min, k - c i) */
        r = tg_json_number(c, v, P, "k", TG_JSON_OPTIONAL, 0, false, 1, false, &sc->k) < 0 ||
            tg_json_number(c, v, P, "c", TG_JSON_REQUIRED, 0, true, INFINITY, false, &sc->c) < 0;
        break;
    case TG_SAMPLING_EXPONENTIAL: /* eps = k^i */
        r = tg_json_number(c, v, P, "k", TG_JSON_REQUIRED, 0, true, 1, true, &sc->k) < 0;
        break;
    case TG_SAMPLING_INVERSE_SIGMOID: /* eps = k / (k + exp(i / k)) */
        r = tg_json_number(c, v, P, "k", TG_JSON_REQUIRED, 1, false, INFINITY, false, &sc->k) < 0;
        break;
    }
    if (r) return -1;
    if (sc->decay != TG_SAMPLING_LINEAR && cJSON_GetObjectItemCaseSensitive(v, "c"))
        return tg_json_fail(c, "train.sampling.c", "only the \"linear\" decay has c");
    q->scheduled = true;
    return 0;
}

static int parse_decode(const tg_jctx *c, const cJSON *v, tg_beam_options *o) {
    int64_t beam = 1;
    if (tg_json_expect_object(c, v, "decode", "an object such as {\"beam\": 5}") ||
        tg_json_check_keys(c, v, "decode", DECODE_KEYS) ||
        tg_json_int(c, v, "decode", "beam", TG_JSON_OPTIONAL, 1, 1024, &beam) < 0 ||
        tg_json_number(c, v, "decode", "length_penalty", TG_JSON_OPTIONAL, 0, false, INFINITY,
                       false, &o->length_penalty) < 0 ||
        tg_json_int(c, v, "decode", "max_length", TG_JSON_OPTIONAL, 1, TG_SPEC_MAX_SIZE, &o->max_len) < 0)
        return -1;
    o->width = (int)beam;
    return 0;
}

int tg_spec_parse_seq2seq_extras(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    tg_seq2seq_spec *q = &s->seq2seq;
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "train");
    const cJSON *sampling = tr ? cJSON_GetObjectItemCaseSensitive(tr, "sampling") : NULL;
    const cJSON *decode = cJSON_GetObjectItemCaseSensitive(root, "decode");
    bool s2s = s->task == TG_TASK_SEQ2SEQ;
    q->decode = (tg_beam_options){.width = 1, .length_penalty = 1.0};
    s->has_decode = decode != NULL;
    if (!s2s && (sampling || decode))
        return tg_json_fail(c, sampling ? "train.sampling" : "decode",
                            "%s needs task seq2seq, not %s",
                            sampling ? "scheduled sampling" : "decoding", tg_task_name(s->task));
    if (sampling && parse_sampling(c, sampling, q)) return -1;
    return decode ? parse_decode(c, decode, &q->decode) : 0;
}

int tg_spec_set_target_vocab(tg_spec *s, int64_t vocab, char *err, size_t errlen) {
    tg_jctx c = {.file = s ? s->file : NULL, .err = err, .errlen = errlen};
    if (!s || s->task != TG_TASK_SEQ2SEQ)
        return tg_json_fail(&c, "task", "a target vocabulary needs task seq2seq");
    if (vocab < 3 || vocab > TG_SPEC_MAX_SIZE)
        return tg_json_fail(&c, NULL,
                            "the data's target vocabulary of %lld symbols (with the markers "
                            "<s> and </s>) is outside [3, %lld]",
                            (long long)vocab, (long long)TG_SPEC_MAX_SIZE);
    s->seq2seq.model.tgt_vocab = vocab;
    s->output_size = vocab;
    return 0;
}

double tg_spec_sampling_prob(const tg_spec *s, int64_t step) {
    if (s->task != TG_TASK_SEQ2SEQ) return 0;
    const tg_seq2seq_spec *q = &s->seq2seq;
    return q->scheduled ? tg_sampling_prob(&q->schedule, step) : q->sampling;
}
