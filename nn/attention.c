/* Additive and multiplicative attention, composed from tape ops. */
#include "attention.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char *tg_attention_kind_name(tg_attention_kind k) {
    switch (k) {
    case TG_ATTN_NONE: return "none";
    case TG_ATTN_ADDITIVE: return "additive";
    case TG_ATTN_DOT: return "dot";
    case TG_ATTN_GENERAL: return "general";
    }
    return NULL;
}

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

/* nn.Linear's init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
static void init_linear(tg_tensor *w, tg_tensor *b, tg_rng *r) {
    double bound = 1 / sqrt((double)w->shape[1]);
    tg_init_uniform(w, r, -bound, bound);
    if (b) tg_init_uniform(b, r, -bound, bound);
}

tg_attention *tg_attention_new(tg_attention_options o, tg_rng *init, char *err, size_t errlen) {
    if (!tg_attention_kind_name(o.kind) || o.kind == TG_ATTN_NONE)
        return FAIL("attention: kind must be additive, dot or general, got %d", (int)o.kind);
    if (o.query_size <= 0 || o.key_size <= 0)
        return FAIL("attention: query_size and key_size must be positive, got %lld and %lld",
                    (long long)o.query_size, (long long)o.key_size);
    if (o.kind == TG_ATTN_DOT && o.query_size != o.key_size)
        return FAIL("attention: dot scores need query_size == key_size, got %lld and %lld",
                    (long long)o.query_size, (long long)o.key_size);
    if (o.attn_size < 0)
        return FAIL("attention: attn_size must be positive, got %lld", (long long)o.attn_size);
    if (o.attn_size == 0) o.attn_size = o.query_size;
    if (o.kind != TG_ATTN_DOT && !init)
        return FAIL("attention: no random generator for the initial weights");
    tg_attention *a = calloc(1, sizeof *a);
    if (!a) return FAIL("attention: out of memory");
    a->base.kind = "attention";
    a->base.training = true;
    a->opt = o;
    int64_t Q = o.query_size, K = o.key_size, A = o.attn_size;
    if (o.kind == TG_ATTN_ADDITIVE) {
        a->w_query = tg_module_param(&a->base, "query.weight", TG_SHAPE(A, Q));
        a->w_key = tg_module_param(&a->base, "key.weight", TG_SHAPE(A, K));
        a->b_key = tg_module_param(&a->base, "key.bias", TG_SHAPE(A));
        a->v = tg_module_param(&a->base, "v.weight", TG_SHAPE(1, A));
        if (!a->w_query || !a->w_key || !a->b_key || !a->v) goto oom;
        init_linear(a->w_query, NULL, init);
        init_linear(a->w_key, a->b_key, init);
        init_linear(a->v, NULL, init);
    } else if (o.kind == TG_ATTN_GENERAL) {
        if (!(a->w_key = tg_module_param(&a->base, "key.weight", TG_SHAPE(Q, K)))) goto oom;
        init_linear(a->w_key, NULL, init);
    }
    return a;
oom:
    tg_module_free(&a->base);
    return FAIL("attention: out of memory");
}

int tg_attention_prepare(tg_tape *t, tg_attention *a, tg_tensor *values, const int64_t *lengths,
                         tg_attention_memory *mem) {
    *mem = (tg_attention_memory){0};
    if (tg_tape_error(t)) return -1;
    char s[TG_SHAPE_STR_MAX];
    if (!a || !values) {
        tg_tape_fail(t, "tg_attention_prepare: %s is NULL", a ? "values" : "module");
        return -1;
    }
    if (values->ndim != 3 || values->shape[2] != a->opt.key_size || values->shape[1] < 1) {
        tg_tape_fail(t, "tg_attention_prepare: values %s: expected [B, S, %lld] with S >= 1",
                     tg_shape_str(tg_tensor_shape(values), s, sizeof s),
                     (long long)a->opt.key_size);
        return -1;
    }
    int64_t B = values->shape[0], S = values->shape[1];
    bool padded = false;
    for (int64_t b = 0; lengths && b < B; b++) {
        if (lengths[b] < 1 || lengths[b] > S) {
            tg_tape_fail(t, "tg_attention_prepare: lengths[%lld] = %lld is outside [1, %lld]",
                         (long long)b, (long long)lengths[b], (long long)S);
            return -1;
        }
        padded |= lengths[b] < S;
    }
    mem->B = B, mem->S = S;
    mem->values = values;
    switch (a->opt.kind) {
    case TG_ATTN_ADDITIVE: mem->keys = tg_linear(t, values, a->w_key, a->b_key); break;
    case TG_ATTN_GENERAL: mem->keys = tg_linear(t, values, a->w_key, NULL); break;
    default: mem->keys = values; break;
    }
    if (padded) {
        /* an additive mask: exp(-inf - max) is exactly 0, and softmax's
         * backward gives a zero-weight step zero gradient */
        mem->mask = tg_zeros(t, TG_SHAPE(B, S));
        if (mem->mask)
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = lengths[b]; j < S; j++) mem->mask->data[b * S + j] = -INFINITY;
    }
    if (tg_tape_error(t)) {
        *mem = (tg_attention_memory){0};
        return -1;
    }
    return 0;
}

int tg_attention_step(tg_tape *t, tg_attention *a, const tg_attention_memory *mem, tg_tensor *query,
                      tg_tensor **context, tg_tensor **weights) {
    *context = NULL;
    if (weights) *weights = NULL;
    if (tg_tape_error(t)) return -1;
    if (!a || !mem || !mem->values || !query) {
        tg_tape_fail(t, "tg_attention_step: %s is NULL",
                     !a                     ? "module"
                     : !mem || !mem->values ? "memory"
                                            : "query");
        return -1;
    }
    int64_t B = mem->B, S = mem->S, Q = a->opt.query_size;
    if (query->ndim != 2 || query->shape[0] != B || query->shape[1] != Q) {
        char s[TG_SHAPE_STR_MAX];
        tg_tape_fail(t, "tg_attention_step: query %s: expected [%lld, %lld]",
                     tg_shape_str(tg_tensor_shape(query), s, sizeof s), (long long)B, (long long)Q);
        return -1;
    }
    tg_tensor *scores; /* [B, S] */
    if (a->opt.kind == TG_ATTN_ADDITIVE) {
        int64_t A = a->opt.attn_size;
        tg_tensor *wq = tg_reshape(t, tg_linear(t, query, a->w_query, NULL), TG_SHAPE(B, 1, A));
        tg_tensor *e = tg_tanh(t, tg_add(t, mem->keys, wq));                 /* [B, S, A] */
        scores = tg_reshape(t, tg_linear(t, e, a->v, NULL), TG_SHAPE(B, S)); /* one GEMM */
    } else {
        tg_tensor *q = tg_reshape(t, query, TG_SHAPE(B, Q, 1));
        scores = tg_reshape(t, tg_matmul(t, mem->keys, q), TG_SHAPE(B, S));
    }
    if (mem->mask) scores = tg_add(t, scores, mem->mask);
    tg_tensor *w = tg_softmax(t, scores, 1);
    tg_tensor *c = tg_matmul(t, tg_reshape(t, w, TG_SHAPE(B, 1, S)), mem->values);
    c = tg_reshape(t, c, TG_SHAPE(B, mem->values->shape[2]));
    if (tg_tape_error(t)) return -1;
    *context = c;
    if (weights) *weights = w;
    return 0;
}

int tg_attention_memory_select(tg_tape *t, const tg_attention_memory *mem, const int64_t *idx,
                               int64_t n, tg_attention_memory *out) {
    *out = (tg_attention_memory){0};
    if (tg_tape_error(t)) return -1;
    tg_attention_memory m = {.B = n, .S = mem->S};
    m.values = tg_index_select(t, mem->values, 0, idx, n);
    m.keys = mem->keys == mem->values ? m.values : tg_index_select(t, mem->keys, 0, idx, n);
    if (mem->mask) m.mask = tg_index_select(t, mem->mask, 0, idx, n);
    if (tg_tape_error(t)) return -1;
    *out = m;
    return 0;
}
