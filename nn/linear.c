/* Linear and Embedding. */
#include "linear.h"

#include <math.h>
#include <stdlib.h>

static tg_module *module_alloc(size_t size, const char *kind) {
    tg_module *m = calloc(1, size);
    if (m) m->kind = kind, m->training = true;
    return m;
}

tg_linear_layer *tg_linear_layer_new(int64_t in, int64_t out, bool bias, tg_rng *r) {
    if (in <= 0 || out <= 0 || !r) return NULL;
    tg_linear_layer *m = (tg_linear_layer *)module_alloc(sizeof *m, "linear");
    if (!m) return NULL;
    m->weight = tg_module_param(&m->base, "weight", TG_SHAPE(out, in));
    m->bias = bias ? tg_module_param(&m->base, "bias", TG_SHAPE(out)) : NULL;
    if (!m->weight || (bias && !m->bias)) {
        tg_module_free(&m->base);
        return NULL;
    }
    /* kaiming_uniform(a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)); so is the bias */
    tg_init_kaiming_uniform(m->weight, r, sqrt(5.0));
    if (m->bias) tg_init_uniform(m->bias, r, -1 / sqrt((double)in), 1 / sqrt((double)in));
    return m;
}

tg_tensor *tg_linear_layer_forward(tg_tape *t, tg_linear_layer *m, tg_tensor *x) {
    return tg_linear(t, x, m->weight, m->bias);
}

tg_embedding *tg_embedding_new(int64_t num, int64_t dim, int64_t padding_idx, tg_rng *r) {
    if (num <= 0 || dim <= 0 || padding_idx >= num || !r) return NULL;
    tg_embedding *m = (tg_embedding *)module_alloc(sizeof *m, "embedding");
    if (!m) return NULL;
    m->weight = tg_module_param(&m->base, "weight", TG_SHAPE(num, dim));
    if (!m->weight) {
        tg_module_free(&m->base);
        return NULL;
    }
    tg_init_normal(m->weight, r, 0, 1);
    m->padding_idx = padding_idx < 0 ? -1 : padding_idx;
    if (m->padding_idx >= 0)
        for (int64_t j = 0; j < dim; j++) m->weight->data[m->padding_idx * dim + j] = 0;
    return m;
}

tg_tensor *tg_embedding_forward(tg_tape *t, tg_embedding *m, const int64_t *ids, tg_shape shape) {
    int64_t n = tg_shape_numel(shape), dim = m->weight->shape[1];
    if (shape.ndim >= TG_MAX_DIMS) {
        tg_tape_fail(t, "tg_embedding_forward: ids have %d dimensions; at most %d", shape.ndim,
                     TG_MAX_DIMS - 1);
        return NULL;
    }
    tg_tensor *rows = tg_index_select(t, m->weight, 0, ids, n); /* [n, dim] */
    if (rows && m->padding_idx >= 0) {
        /* padding rows keep their value but pass no gradient back */
        tg_tensor *keep = tg_empty(t, TG_SHAPE(n, 1));
        if (!keep) return NULL;
        for (int64_t i = 0; i < n; i++) keep->data[i] = ids[i] != m->padding_idx;
        rows = tg_where(t, keep, rows, tg_detach(t, rows));
    }
    tg_shape out = shape;
    out.dim[out.ndim++] = dim;
    return tg_reshape(t, rows, out);
}
