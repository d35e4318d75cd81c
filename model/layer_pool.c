/* The pool layer: a sequence [T, B, F] becomes one vector per sequence
 * [B, F], its last step (each sequence's own) or its mean or max. */
#include <math.h>
#include <stdlib.h>

#include "layer.h"

static const char *const POOL_KEYS[] = {"type", "name", "input", "mode", NULL};
static const char *const POOLS[] = {"last", "mean", "max", NULL};

static int pool_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                      tg_layer_spec *L) {
    (void)s;
    int k = TG_POOL_LAST;
    int r = tg_json_enum(c, obj, path, "mode", TG_JSON_OPTIONAL, "pool mode", POOLS, &k);
    L->pool = (tg_pool_mode)k;
    return r < 0 ? -1 : 0;
}

/* the sequence ends here; "last" reads a reverse direction's features at step 0 */
static int pool_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                     tg__sizing *z) {
    (void)c, (void)s, (void)path;
    L->out = L->in, L->split = L->pool == TG_POOL_LAST ? z->split : 0;
    z->seq = false, z->pooled_by = L->index;
    return 0;
}

/* [T, B, F] -> [B, F]: each sequence's last step (for the features of a
 * reverse direction, step 0), or its mean or max over its own steps. */
static tg_tensor *pool_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    tg_tape *t = r->t;
    const tg_layer_spec *L = &r->m->layers[k];
    const int64_t *lengths = r->lengths;
    int64_t T = x->shape[0], B = x->shape[1], F = x->shape[2];
    if (L->pool == TG_POOL_LAST) {
        int64_t *idx = malloc((size_t)(2 * B) * sizeof *idx);
        if (!idx) {
            tg_tape_fail(t, "tg_model_forward: out of memory");
            return NULL;
        }
        for (int64_t b = 0; b < B; b++) /* rows of the flat [T*B, F] */
            idx[b] = ((lengths ? lengths[b] : T) - 1) * B + b, idx[B + b] = b;
        tg_tensor *flat = tg_reshape(t, x, TG_SHAPE(T * B, F));
        tg_tensor *y = tg_index_select(t, flat, 0, idx, B);
        if (L->split) {
            tg_tensor *first = tg_index_select(t, flat, 0, idx + B, B);
            tg_tensor *parts[2] = {tg_narrow(t, y, 1, 0, L->split),
                                   tg_narrow(t, first, 1, L->split, F - L->split)};
            y = tg_concat(t, 2, parts, 1);
        }
        free(idx);
        return y;
    }
    if (!lengths)
        return L->pool == TG_POOL_MEAN ? tg_mean_axis(t, x, 0, false) : tg_max_axis(t, x, 0, false);
    /* padding never enters: tg_where sends it neither value nor gradient */
    tg_tensor *mask = tg_empty(t, TG_SHAPE(T, B, 1));
    if (!mask) return NULL;
    for (int64_t i = 0; i < T * B; i++) mask->data[i] = i / B < lengths[i % B];
    if (L->pool == TG_POOL_MAX)
        return tg_max_axis(t, tg_where(t, mask, x, tg_full(t, TG_SCALAR, -INFINITY)), 0, false);
    tg_tensor *n = tg_empty(t, TG_SHAPE(B, 1));
    if (!n) return NULL;
    for (int64_t b = 0; b < B; b++) n->data[b] = (tg_real)lengths[b];
    tg_tensor *sum = tg_sum_axis(t, tg_where(t, mask, x, tg_zeros(t, TG_SCALAR)), 0, false);
    return tg_div(t, sum, n);
}

const tg__layer_row tg__layer_pool = {
    .keys = POOL_KEYS,
    .parse = pool_parse,
    .size = pool_size,
    .forward = pool_forward,
};
