/* Spec files: parse, check and resolve sizes (docs/spec.md). Each layer's
 * own keys and sizes are its row's (model/layer.h); the model built from a
 * spec is in build.c. */
#include "layer.h"
#include "spec_memory.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 1024             /* entries of model.layers */
#define MAX_SEED ((int64_t)1 << 53) /* exact in a JSON number */
#define MAX_FILE ((size_t)16 << 20) /* a spec is a few kilobytes */
#define PATH TG_JSON_PATH_MAX
#define LAYERS "model.layers"

static const char *const SPLITS[] = {"words", "chars", NULL};
static const char *const CONDITION_AS[] = {"initial_state", "input", NULL};
static const char *const LOSSES[] = {"cross_entropy", "mse", NULL};

static const char *const TOP_KEYS[] = {"tapegrad", "task",   "description", "input",
                                       "model",    "loss",   "optimizer",   "train",
                                       "sample",   "decode", "distill", NULL};
static const char *const INPUT_KEYS[][6] = {
    {"type", "vocab", "batch_first", "split", "condition", NULL},
    {"type", "size", "batch_first", NULL},
    {"type", "vocab", NULL},
    {"type", "height", "width", "patch", NULL}};
static const char *const CONDITION_KEYS[] = {"size", "as", NULL};
static const char *const MODEL_KEYS[] = {"layers", NULL};
static const char *const LOSS_KEYS[] = {"type", "target", NULL};
static const char *const TRAIN_KEYS[] = {
    "batch",     "seq_len",        "steps", "eval_every", "checkpoint_every",
    "log_every", "valid_fraction", "seed",  "sampling",   "on_nonfinite",
    "max_skips", "memory",         NULL};
static const char *const NONFINITE_POLICIES[] = {"stop", "skip", NULL};
static const char *const SAMPLE_KEYS[] = {"length", "temperature", "prime", "seed", NULL};

static bool has_params(tg_layer_type t) {
    return tg__layer_row_of(t)->build != NULL;
}

/* ---- layers ------------------------------------------------------------------ */

static int parse_name(const tg_jctx *c, const cJSON *obj, const char *path, tg_layer_spec *L) {
    const char *name;
    char p[PATH], d[96];
    int r = tg_json_string(c, obj, path, "name", TG_JSON_OPTIONAL, &name);
    if (r <= 0) return r;
    size_t len = strlen(name);
    bool ok = len > 0 && len < TG_LAYER_NAME_MAX;
    for (size_t k = 0; ok && k < len; k++)
        ok = name[k] == '_' || (name[k] >= 'a' && name[k] <= 'z') ||
             (name[k] >= 'A' && name[k] <= 'Z') || (name[k] >= '0' && name[k] <= '9');
    if (!ok)
        return tg_json_fail(
            c, tg_json_path(p, path, "name"),
            "expected a name of letters, digits and '_' (1 to %d of them), got %s",
            TG_LAYER_NAME_MAX - 1,
            tg_json_describe(cJSON_GetObjectItemCaseSensitive(obj, "name"), d, sizeof d));
    memcpy(L->name, name, len + 1);
    return 1;
}

static int parse_layer(const tg_jctx *c, const tg_spec *s, const cJSON *obj, int i,
                       tg_layer_spec *L) {
    char path[PATH];
    tg_json_path_index(path, LAYERS, i);
    if (tg_json_expect_object(c, obj, path,
                              "a layer object such as {\"type\": \"lstm\", \"hidden\": 128}"))
        return -1;
    int type;
    if (tg_json_enum(c, obj, path, "type", TG_JSON_REQUIRED, "layer type", tg__layer_names, &type) <
        0)
        return -1;
    *L = (tg_layer_spec){.type = (tg_layer_type)type,
                         .index = i,
                         .bias = true,
                         .num_layers = 1,
                         .padding_idx = -1,
                         .depth = 1,
                         .p = 0.5};
    snprintf(L->name, sizeof L->name, "%d", i);
    const tg__layer_row *row = tg__layer_row_of(L->type);
    if (tg_json_check_keys(c, obj, path, row->keys) || parse_name(c, obj, path, L) < 0 ||
        tg_json_int(c, obj, path, "input", TG_JSON_OPTIONAL, 1, TG_SPEC_MAX_SIZE, &L->in_given) < 0)
        return -1;
    return row->parse ? row->parse(c, s, obj, path, L) : 0;
}

/* Where a pool goes: the task decides whether one is allowed, needed, or
 * inserted after the last recurrent layer (classify without one). */
static int place_pool(const tg_jctx *c, tg_spec *s) {
    char p[PATH];
    int pool = -1, last_rec = -1;
    for (int k = 0; k < s->n_layers; k++) {
        if (tg__layer_is(s->layers[k].type, TG__LAYER_POOLS) && pool < 0) pool = k;
        if (tg_spec_is_recurrent_layer(s->layers[k].type)) last_rec = k;
    }
    bool per_step = s->task == TG_TASK_LANGUAGE_MODEL || s->task == TG_TASK_TAG;
    if (pool >= 0 && per_step)
        return tg_json_fail(c, tg_json_path_index(p, LAYERS, pool),
                            "a pool layer makes one output per sequence, but task %s needs one "
                            "per step",
                            tg__task_names[s->task]);
    if (pool >= 0 || s->task != TG_TASK_CLASSIFY) return 0;
    if (last_rec < 0)
        return tg_json_fail(c, LAYERS,
                            "task classify needs a recurrent layer (or a pool layer) to turn each "
                            "sequence into one output");
    /* "last": each sequence's own last step (for a reverse direction, step 0) */
    memmove(&s->layers[last_rec + 2], &s->layers[last_rec + 1],
            (size_t)(s->n_layers - last_rec - 1) * sizeof *s->layers);
    s->layers[last_rec + 1] = (tg_layer_spec){
        .type = TG_LAYER_POOL, .index = -1, .pool = TG_POOL_LAST, .padding_idx = -1};
    snprintf(s->layers[last_rec + 1].name, TG_LAYER_NAME_MAX, "pool");
    s->n_layers++;
    return 0;
}

static int check_names(const tg_jctx *c, const tg_spec *s, const cJSON *layers) {
    char p[PATH], q[96];
    for (int j = 0; j < s->n_layers; j++)
        for (int i = 0; i < j && s->layers[j].index >= 0; i++) {
            const tg_layer_spec *a = &s->layers[i], *b = &s->layers[j];
            if (a->index < 0 || strcmp(a->name, b->name) != 0) continue;
            tg_json_path_index(p, LAYERS, b->index);
            const cJSON *obj = cJSON_GetArrayItem(layers, b->index);
            if (cJSON_GetObjectItemCaseSensitive(obj, "name"))
                strncat(p, ".name", PATH - strlen(p) - 1);
            return tg_json_fail(c, p, "name %s is already used by layers[%d]",
                                tg_json_quote(b->name, q, sizeof q), a->index);
        }
    return 0;
}

/* Where layer k stands: ids only at layers[0], a sequence where it needs
 * one, its "input" equal to what comes in (feat, from layers[prev]). Sets
 * L->in and, at the first recurrent layer of a conditioned model,
 * s->cond_layer. p: the layer's path. */
static int place_layer(const tg_jctx *c, tg_spec *s, int k, int64_t feat, int prev,
                       const tg__sizing *z, const char *p) {
    char p2[PATH];
    tg_layer_spec *L = &s->layers[k];
    bool tokens = s->input != TG_INPUT_VECTORS; /* ids: tokens or trees */
    const char *type = tg__layer_names[L->type];
    if (tg__layer_is(L->type, TG__LAYER_IDS)) {
        if (!tokens)
            return tg_json_fail(c, p,
                                "%s layers read token ids, but input.type is "
                                "\"vectors\"",
                                type);
        if (k > 0)
            return tg_json_fail(c, p,
                                "%s layers read the token ids, so one can only be "
                                "layers[0]",
                                type);
    } else if (k == 0 && tokens) {
        return tg_json_fail(c, p,
                            "token input needs an embedding or one_hot layer first, "
                            "got %s",
                            type);
    }
    if (tg__layer_is(L->type, TG__LAYER_NEEDS_SEQ) && !z->seq)
        return tg_json_fail(c, p,
                            "%s layers need a sequence, but the pool at layers[%d] "
                            "already made one vector per sequence",
                            type, z->pooled_by);
    L->in = tokens && k == 0 ? s->vocab : feat; /* an embedding reads one of vocab ids */
    L->sequence = z->seq;
    if (L->in_given && feat && L->in_given != feat) {
        tg_json_path(p2, p, "input");
        if (prev >= 0)
            return tg_json_fail(c, p2, "%lld does not match layers[%d] output %lld",
                                (long long)L->in_given, prev, (long long)feat);
        return tg_json_fail(c, p2, "%lld does not match input.size %lld", (long long)L->in_given,
                            (long long)feat);
    }
    if (s->cond_size && s->cond_layer < 0 && tg_spec_is_recurrent_layer(L->type)) {
        if (!tg_spec_is_rnn_layer(L->type))
            return tg_json_fail(c, "input.condition",
                                "enters the first recurrent layer, which must be an rnn, "
                                "lstm or gru; %s is a %s",
                                p, type);
        s->cond_layer = k; /* its input grows by the one-hot when it enters there */
        if (s->cond_as == TG_COND_INPUT) L->in += s->cond_size;
    }
    return 0;
}

/* A language model's last layer gives the vocabulary's size (when known). */
static int check_head(const tg_jctx *c, const tg_spec *s, int64_t feat) {
    char p[PATH], p2[PATH];
    const tg_layer_spec *last = &s->layers[s->n_layers - 1];
    if (s->task != TG_TASK_LANGUAGE_MODEL || !s->vocab || !feat || feat == s->vocab) return 0;
    tg_json_path_index(p, LAYERS, last->index);
    const char *from = s->vocab_given ? "input.vocab" : "from the data";
    if (last->type == TG_LAYER_LINEAR)
        return tg_json_fail(c, tg_json_path(p2, p, "out"),
                            "%lld does not match the vocabulary size %lld (%s)", (long long)feat,
                            (long long)s->vocab, from);
    return tg_json_fail(c, p,
                        "a language model's last layer must output the vocabulary "
                        "size %lld (%s), but this %s layer outputs %lld; end with "
                        "{\"type\": \"linear\", \"out\": \"vocab\"}",
                        (long long)s->vocab, from, tg__layer_names[last->type], (long long)feat);
}

/* Chains the sizes from the input through every layer (each sized by its
 * row) and checks them, and the head against the task. Runs again when
 * the vocabulary becomes known; sizes that depend on an unknown vocabulary
 * stay 0 (unchecked). */
static int resolve(const tg_jctx *c, tg_spec *s) {
    char p[PATH];
    int64_t feat = s->input != TG_INPUT_VECTORS ? 0 : s->input_size;
    int prev = -1;
    tg__sizing z = {.split = 0, .seq = true, .pooled_by = -1};
    s->cond_layer = -1;
    for (int k = 0; k < s->n_layers; k++) {
        tg_layer_spec *L = &s->layers[k];
        tg_json_path_index(p, LAYERS, L->index);
        if (place_layer(c, s, k, feat, prev, &z, p) ||
            tg__layer_row_of(L->type)->size(c, s, p, L, &z))
            return -1;
        feat = L->out;
        if (L->index >= 0) prev = L->index;
    }
    if (s->cond_size && s->cond_layer < 0)
        return tg_json_fail(c, "input.condition",
                            "needs a recurrent layer (rnn, lstm or gru) to enter");
    s->output_size = feat;
    s->pooled = !z.seq;
    return check_head(c, s, feat);
}

/* ---- sections ---------------------------------------------------------------- */

static int parse_version(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "tapegrad");
    char d[64];
    if (!v)
        return tg_json_fail(c, "tapegrad",
                            "missing; a spec starts with \"tapegrad\": %d (the "
                            "format version)",
                            TG_SPEC_VERSION);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return tg_json_fail(c, "tapegrad", "expected the format version %d, got %s",
                            TG_SPEC_VERSION, tg_json_describe(v, d, sizeof d));
    if (v->valuedouble != TG_SPEC_VERSION)
        return tg_json_fail(c, "tapegrad",
                            "unsupported format version %s; this build reads "
                            "version %d",
                            tg_json_describe(v, d, sizeof d), TG_SPEC_VERSION);
    s->version = TG_SPEC_VERSION;
    return 0;
}

/* input.split: how classify text becomes tokens ("words" at whitespace, or
 * "chars": every UTF-8 character, whitespace skipped). */
static int parse_split(const tg_jctx *c, const cJSON *in, tg_spec *s) {
    int split = 0;
    if (tg_json_enum(c, in, "input", "split", TG_JSON_OPTIONAL, "split", SPLITS, &split) < 0)
        return -1;
    if (split && s->task != TG_TASK_CLASSIFY)
        return tg_json_fail(c, "input.split",
                            "\"chars\" is for task classify (a language model reads "
                            "characters already), got task %s",
                            tg__task_names[s->task]);
    s->split_chars = split == 1;
    return 0;
}

/* input.condition: {"size": N, "as": "initial_state" | "input"}, a language
 * model conditioned on one of N classes per sequence (one-to-many). */
static int parse_condition(const tg_jctx *c, const cJSON *in, tg_spec *s) {
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(in, "condition");
    const char *path = "input.condition";
    if (!cond) return 0;
    if (s->task != TG_TASK_LANGUAGE_MODEL)
        return tg_json_fail(c, path, "only a language_model can be conditioned, got task %s",
                            tg__task_names[s->task]);
    int as;
    if (tg_json_expect_object(c, cond, path,
                              "an object such as {\"size\": 10, \"as\": \"initial_state\"}") ||
        tg_json_check_keys(c, cond, path, CONDITION_KEYS) ||
        tg_json_int(c, cond, path, "size", TG_JSON_REQUIRED, 1, TG_SPEC_MAX_SIZE, &s->cond_size) <
            0 ||
        tg_json_enum(c, cond, path, "as", TG_JSON_REQUIRED, "conditioning", CONDITION_AS, &as) < 0)
        return -1;
    s->cond_as = as == 0 ? TG_COND_INITIAL_STATE : TG_COND_INPUT;
    return 0;
}

/* input.type "image": the sizes, and the vectors it becomes (spec.h) */
static int parse_image(const tg_jctx *c, const cJSON *in, tg_spec *s) {
    int64_t *hwp[3] = {&s->image_height, &s->image_width, &s->image_patch};
    static const char *const KEYS[3] = {"height", "width", "patch"};
    for (int i = 0; i < 3; i++)
        if (tg_json_int(c, in, "input", KEYS[i], TG_JSON_REQUIRED, 1, 4096, hwp[i]) < 0) return -1;
    if (s->image_height % s->image_patch || s->image_width % s->image_patch)
        return tg_json_fail(c, "input.patch", "%lld does not divide the image's %lld x %lld pixels",
                            (long long)s->image_patch, (long long)s->image_height,
                            (long long)s->image_width);
    if (s->task != TG_TASK_CLASSIFY)
        return tg_json_fail(c, "input.type", "\"image\" is the input of task classify, not %s",
                            tg__task_names[s->task]);
    s->input_size = s->image_patch * s->image_patch;
    return 0;
}

static int parse_input(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    if (!in)
        return tg_json_fail(c, "input",
                            "missing; expected {\"type\": \"tokens\", \"vocab\": "
                            "N} or {\"type\": \"vectors\", \"size\": N}");
    if (tg_json_expect_object(c, in, "input", "an object such as {\"type\": \"tokens\"}"))
        return -1;
    int type;
    if (tg_json_enum(c, in, "input", "type", TG_JSON_REQUIRED, "input type", tg__input_names,
                     &type) < 0 ||
        tg_json_check_keys(c, in, "input", INPUT_KEYS[type]) ||
        tg_json_bool(c, in, "input", "batch_first", TG_JSON_OPTIONAL, &s->batch_first) < 0)
        return -1;
    if (type == TG__INPUT_IMAGE && parse_image(c, in, s)) return -1;
    s->input = type == TG__INPUT_IMAGE ? TG_INPUT_VECTORS : (tg_input_type)type;
    if (s->task == TG_TASK_LANGUAGE_MODEL && s->input != TG_INPUT_TOKENS)
        return tg_json_fail(c, "input.type",
                            "task language_model reads \"tokens\", got "
                            "\"vectors\"");
    if ((s->task == TG_TASK_TREE) != (s->input == TG_INPUT_TREES))
        return tg_json_fail(
            c, "input.type",
            s->input == TG_INPUT_TREES ? "\"trees\" is the input of task tree, not %s"
                                       : "task tree reads \"trees\", got \"%s\"",
            s->input == TG_INPUT_TREES ? tg__task_names[s->task] : tg__input_names[s->input]);
    if (s->image_patch) return 0; /* its input_size is set */
    if (s->input == TG_INPUT_VECTORS)
        return tg_json_int(c, in, "input", "size", TG_JSON_REQUIRED, 1, TG_SPEC_MAX_SIZE,
                           &s->input_size) < 0
                   ? -1
                   : 0;
    int r = tg_json_int(c, in, "input", "vocab", TG_JSON_OPTIONAL, 1, TG_SPEC_MAX_SIZE, &s->vocab);
    s->vocab_given = r == 1;
    if (r < 0 || parse_split(c, in, s)) return -1;
    return parse_condition(c, in, s);
}

static int parse_model(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    char d[64];
    if (!model) return tg_json_fail(c, "model", "missing; expected {\"layers\": [...]}");
    if (tg_json_expect_object(c, model, "model", "an object such as {\"layers\": [...]}") ||
        tg_json_check_keys(c, model, "model", MODEL_KEYS))
        return -1;
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(model, "layers");
    if (!layers) return tg_json_fail(c, LAYERS, "missing; expected an array of layers");
    int n = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
    if (n == 0)
        return tg_json_fail(c, LAYERS, "expected a non-empty array of layers, got %s",
                            cJSON_IsArray(layers) ? "[]" : tg_json_describe(layers, d, sizeof d));
    if (n > MAX_LAYERS)
        return tg_json_fail(c, LAYERS, "expected at most %d layers, got %d", MAX_LAYERS, n);
    s->layers = calloc((size_t)n + 1, sizeof *s->layers); /* + 1: room for a pool */
    if (!s->layers) return tg_json_fail(c, LAYERS, "out of memory");
    int i = 0, bad = 0;
    for (const cJSON *it = layers->child; it; it = it->next, i++) {
        bad |= parse_layer(c, s, it, i, &s->layers[i]) != 0; /* each layer's errors */
        s->n_layers = i + 1;
    }
    /* the checks across layers need every layer and a known task */
    if (bad || s->task_unknown) return -1;
    if (tg_spec_tree_check(c, s) || place_pool(c, s) || check_names(c, s, layers) || resolve(c, s))
        return -1;
    bool any = false;
    for (int k = 0; k < s->n_layers; k++) any = any || has_params(s->layers[k].type);
    if (!any) return tg_json_fail(c, LAYERS, "no layer has parameters to train");
    return 0;
}

static int parse_loss(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    const cJSON *loss = cJSON_GetObjectItemCaseSensitive(root, "loss");
    s->loss = s->task == TG_TASK_REGRESS ? TG_LOSS_MSE : TG_LOSS_CROSS_ENTROPY;
    s->tree_target = TG_TREE_NODES;
    if (!loss) return 0;
    int type = (int)s->loss;
    if (tg_json_expect_object(c, loss, "loss", "an object such as {\"type\": \"mse\"}") ||
        tg_json_check_keys(c, loss, "loss", LOSS_KEYS) ||
        tg_json_enum(c, loss, "loss", "type", TG_JSON_OPTIONAL, "loss", LOSSES, &type) < 0 ||
        tg_spec_tree_target(c, loss, s))
        return -1;
    if ((tg_loss_type)type != s->loss)
        return tg_json_fail(c, "loss.type", "task %s uses %s, got \"%s\"", tg__task_names[s->task],
                            LOSSES[s->loss], LOSSES[type]);
    return 0;
}

static int parse_train(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "train");
    tg_train_spec *t = &s->train;
    *t = (tg_train_spec){.batch = 32,
                         .seq_len = 64,
                         .steps = 1000,
                         .eval_every = 100,
                         .log_every = 10,
                         .valid_fraction = 0.1,
                         .seed = 1,
                         .max_skips = 10};
    s->has_train = tr != NULL;
    if (!tr) return 0;
    int64_t seed = 1;
    int policy = 0;
    const char *P = "train";
    if (tg_json_expect_object(c, tr, P, "an object such as {\"steps\": 1000}") ||
        tg_json_check_keys(c, tr, P, TRAIN_KEYS) ||
        tg_json_int(c, tr, P, "batch", 0, 1, TG_SPEC_MAX_SIZE, &t->batch) < 0 ||
        tg_json_int(c, tr, P, "seq_len", 0, 1, TG_SPEC_MAX_SIZE, &t->seq_len) < 0 ||
        tg_json_int(c, tr, P, "steps", 0, 1, INT_MAX, &t->steps) < 0 ||
        tg_json_int(c, tr, P, "eval_every", 0, 0, INT_MAX, &t->eval_every) < 0 ||
        tg_json_int(c, tr, P, "checkpoint_every", 0, 0, INT_MAX, &t->checkpoint_every) < 0 ||
        tg_json_int(c, tr, P, "log_every", 0, 0, INT_MAX, &t->log_every) < 0 ||
        tg_json_number(c, tr, P, "valid_fraction", 0, 0, false, 1, true, &t->valid_fraction) < 0 ||
        tg_json_int(c, tr, P, "seed", 0, 0, MAX_SEED, &seed) < 0 ||
        tg_json_enum(c, tr, P, "on_nonfinite", 0, "policy", NONFINITE_POLICIES, &policy) < 0 ||
        tg_json_int(c, tr, P, "max_skips", 0, 1, INT_MAX, &t->max_skips) < 0 ||
        tg_spec_parse_memory(c, tr, s))
        return -1;
    t->seed = (uint64_t)seed;
    t->skip_nonfinite = policy == 1;
    return 0;
}

static int parse_sample(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(root, "sample");
    tg_sample_spec *t = &s->sample;
    t->length = 200, t->temperature = 1.0, t->seed = 1;
    const char *prime = "";
    int64_t seed = 1;
    s->has_sample = sa != NULL;
    if (sa) {
        const char *P = "sample";
        if (tg_json_expect_object(c, sa, P, "an object such as {\"length\": 500}") ||
            tg_json_check_keys(c, sa, P, SAMPLE_KEYS) ||
            tg_json_int(c, sa, P, "length", 0, 1, TG_SPEC_MAX_SIZE, &t->length) < 0 ||
            tg_json_number(c, sa, P, "temperature", 0, 0, true, INFINITY, false, &t->temperature) <
                0 ||
            tg_json_string(c, sa, P, "prime", 0, &prime) < 0 ||
            tg_json_int(c, sa, P, "seed", 0, 0, MAX_SEED, &seed) < 0)
            return -1;
        if (s->task != TG_TASK_LANGUAGE_MODEL)
            return tg_json_fail(c, P, "sampling needs task language_model, not %s",
                                tg__task_names[s->task]);
    }
    t->seed = (uint64_t)seed;
    t->prime = malloc(strlen(prime) + 1);
    if (!t->prime) return tg_json_fail(c, "sample", "out of memory");
    strcpy(t->prime, prime);
    return 0;
}

static int parse_root(const tg_jctx *c, const cJSON *root, tg_spec *s) {
    char d[64];
    const char *desc;
    if (!cJSON_IsObject(root))
        return tg_json_fail(c, NULL, "expected a JSON object at the top level, got %s",
                            tg_json_describe(root, d, sizeof d));
    /* the version first: a file from a later version is reported as such,
     * not as a list of keys this build does not know */
    if (parse_version(c, root, s)) return -1;
    /* then every section, each after the others' errors (the collector
     * orders them as the document does); with no known task, only what
     * does not depend on it: the layers one by one */
    int bad = tg_json_check_keys(c, root, "", TOP_KEYS) != 0;
    bad |= tg_json_string(c, root, "", "description", 0, &desc) < 0;
    int task = 0;
    s->task_unknown =
        tg_json_enum(c, root, "", "task", TG_JSON_REQUIRED, "task", tg__task_names, &task) < 0;
    s->task = (tg_task)task;
    if (s->task_unknown) return parse_model(c, root, s), -1;
    if (s->task == TG_TASK_SEQ2SEQ)
        bad |= tg_spec_parse_seq2seq(c, root, s) != 0;
    else {
        bad |= parse_input(c, root, s) != 0;
        bad |= parse_model(c, root, s) != 0;
    }
    if (bad) return -1; /* the rest reads what those set */
    if (parse_loss(c, root, s) || parse_train(c, root, s) ||
        tg_spec_parse_seq2seq_extras(c, root, s) || tg_spec_parse_distill(c, root, s))
        return -1;
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(root, "optimizer");
    s->has_optimizer = opt != NULL;
    s->optim = tg_optim_spec_default();
    int t_max = s->has_train ? (int)s->train.steps : 0;
    if (opt && tg_optim_spec_parse(c, opt, "optimizer", t_max, &s->optim)) return -1;
    return parse_sample(c, root, s);
}

tg_spec *tg_spec_parse_len(const char *json, size_t len, const char *filename, char *err,
                           size_t errlen) {
    tg_jctx c = {.file = filename, .err = err, .errlen = errlen};
    if (err && errlen) err[0] = '\0';
    tg_spec *s = calloc(1, sizeof *s);
    const char *name = filename ? filename : "";
    if (!s || !(s->file = malloc(strlen(name) + 1))) {
        free(s);
        tg_json_fail(&c, NULL, "out of memory");
        return NULL;
    }
    strcpy(s->file, name);
    cJSON *root = tg_json_parse(&c, json, len);
    int status = -1;
    if (root) { /* every error at once, up to TG_SPEC_MAX_ERRORS, in document order */
        tg_json_collect(&c, root, TG_SPEC_MAX_ERRORS);
        status = parse_root(&c, root, s);
        if (tg_json_collected(&c)) status = -1;
    }
    cJSON_Delete(root);
    if (status != 0) {
        tg_spec_free(s);
        return NULL;
    }
    return s;
}

tg_spec *tg_spec_parse(const char *json, const char *filename, char *err, size_t errlen) {
    return tg_spec_parse_len(json, json ? strlen(json) : 0, filename, err, errlen);
}

tg_spec *tg_spec_load(const char *path, char *err, size_t errlen) {
    tg_jctx c = {.file = path, .err = err, .errlen = errlen};
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        tg_json_fail(&c, NULL, "cannot open: %s", path ? strerror(errno) : "no path");
        return NULL;
    }
    size_t len;
    char *buf = tg_read_stream(f, MAX_FILE, &len);
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    tg_spec *s = NULL;
    if (read_error)
        tg_json_fail(&c, NULL, "cannot read: %s", strerror(read_error));
    else if (!buf)
        tg_json_fail(&c, NULL, "out of memory");
    else if (len > MAX_FILE)
        tg_json_fail(&c, NULL, "larger than %zu MiB; not a spec file", MAX_FILE >> 20);
    else
        s = tg_spec_parse_len(buf, len, path, err, errlen);
    free(buf);
    return s;
}

void tg_spec_free(tg_spec *s) {
    if (!s) return;
    free(s->file);
    for (int k = 0; s->layers && k < s->n_layers; k++) free(s->layers[k].cell_def);
    free(s->layers);
    free(s->sample.prime);
    tg_spec_free_distill(s);
    free(s);
}

int tg_spec_set_vocab(tg_spec *s, int64_t vocab, char *err, size_t errlen) {
    tg_jctx c = {.file = s ? s->file : NULL, .err = err, .errlen = errlen};
    if (!s) return tg_json_fail(&c, NULL, "tg_spec_set_vocab: spec is NULL");
    if (s->input == TG_INPUT_VECTORS)
        return tg_json_fail(&c, "input.type", "a vocabulary needs token input, got \"vectors\"");
    if (vocab < 1 || vocab > TG_SPEC_MAX_SIZE)
        return tg_json_fail(&c, NULL, "the data's vocabulary of %lld symbols is outside [1, %lld]",
                            (long long)vocab, (long long)TG_SPEC_MAX_SIZE);
    if (s->vocab && s->vocab != vocab)
        return tg_json_fail(&c, "input.vocab",
                            "%lld does not match the data's vocabulary of "
                            "%lld symbols",
                            (long long)s->vocab, (long long)vocab);
    int64_t before = s->vocab;
    s->vocab = vocab;
    if (s->task != TG_TASK_SEQ2SEQ && resolve(&c, s) != 0) { /* seq2seq: nothing depends on it */
        s->vocab = before;
        tg_jctx quiet = {0};
        resolve(&quiet, s); /* back to the sizes before: it passed with them */
        return -1;
    }
    return 0;
}
