/* Layer types that read the token ids: embedding (a learned row per id,
 * nn/linear.h) and one_hot. */
#include "layer.h"

static const char *const EMBEDDING_KEYS[] = {"type", "name", "dim", "padding_idx", NULL};
static const char *const ONE_HOT_KEYS[] = {"type", "name", NULL};

static int embedding_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                           tg_layer_spec *L) {
    (void)s;
    return tg_json_int(c, obj, path, "dim", TG_JSON_REQUIRED, 1, TG_SPEC_MAX_SIZE, &L->dim) < 0 ||
                   tg_json_int(c, obj, path, "padding_idx", TG_JSON_OPTIONAL, 0,
                               TG_SPEC_MAX_SIZE - 1, &L->padding_idx) < 0
               ? -1
               : 0;
}

static int embedding_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                          tg__sizing *z) {
    char p[TG_JSON_PATH_MAX];
    L->out = L->dim;
    if (s->vocab && L->padding_idx >= s->vocab)
        return tg_json_fail(c, tg_json_path(p, path, "padding_idx"),
                            "%lld is not below the vocabulary size %lld", (long long)L->padding_idx,
                            (long long)s->vocab);
    z->split = 0;
    return 0;
}

static tg_module *embedding_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                                  size_t elen) {
    (void)e, (void)elen;
    return (tg_module *)tg_embedding_new(m->vocab, L->dim, L->padding_idx, init);
}

static tg_tensor *embedding_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    (void)x;
    if (tg__embedding_feeds_rnn(r->m, k)) return NULL; /* the next layer looks the ids up */
    return tg_embedding_forward(r->t, (tg_embedding *)r->m->mods[k], r->ids, TG_SHAPE(r->T, r->B));
}

static tg_tensor *embedding_tree(tg_tape *t, tg_model *m, int k, const tg_tree_batch *tb,
                                 tg_tensor *x, tg_model_output *out) {
    (void)x, (void)out;
    return tg_tree_embed(t, (tg_embedding *)m->mods[k], tb);
}

const tg__layer_row tg__layer_embedding = {
    .keys = EMBEDDING_KEYS,
    .parse = embedding_parse,
    .size = embedding_size,
    .build = embedding_build,
    .forward = embedding_forward,
    .tree = embedding_tree,
};

static int one_hot_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                        tg__sizing *z) {
    (void)c, (void)path;
    L->out = s->vocab, z->split = 0;
    return 0;
}

/* [T, B] ids -> [T, B, vocab] */
static tg_tensor *one_hot_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    (void)k, (void)x;
    int64_t V = r->m->vocab;
    tg_tensor *y = tg_zeros(r->t, TG_SHAPE(r->T, r->B, V));
    for (int64_t i = 0; y && i < r->T * r->B; i++) y->data[i * V + r->ids[i]] = 1;
    return y;
}

const tg__layer_row tg__layer_one_hot = {
    .keys = ONE_HOT_KEYS,
    .size = one_hot_size,
    .forward = one_hot_forward,
};
