/* Shapes, strides, heap tensors, filling and copying. */
#include "core.h"
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t tg_shape_numel(tg_shape s) {
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) n *= s.dim[i];
    return n;
}

bool tg_shape_valid(tg_shape s) {
    if (s.ndim < 0 || s.ndim > TG_MAX_DIMS) return false;
    int64_t n = 1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.dim[i] < 0) return false;
        if (s.dim[i] > 0 && n > INT64_MAX / 16 / s.dim[i]) return false;
        n *= s.dim[i];
    }
    return true;
}

tg_shape tg_tensor_shape(const tg_tensor *t) {
    tg_shape s = {t->ndim, {0}};
    for (int i = 0; i < t->ndim; i++) s.dim[i] = t->shape[i];
    return s;
}

bool tg_same_shape(const tg_tensor *a, const tg_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

bool tg_is_contiguous(const tg_tensor *t) {
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) return false;
        expect *= t->shape[i];
    }
    return true;
}

char *tg_shape_str(tg_shape s, char *buf, size_t n) {
    size_t used = 0;
    if (n == 0) return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s.ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "," : "",
                                 (long long)s.dim[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

void tg_tensor_set_shape(tg_tensor *t, tg_shape s) {
    t->ndim = s.ndim;
    int64_t st = 1;
    for (int i = TG_MAX_DIMS - 1; i >= 0; i--) {
        t->shape[i] = i < s.ndim ? s.dim[i] : 1;
        t->stride[i] = i < s.ndim ? st : 0;
        if (i < s.ndim) st *= s.dim[i];
    }
    t->numel = st;
}

tg_real tg_get(const tg_tensor *t, const int64_t *index) {
    int64_t off = 0;
    for (int i = 0; i < t->ndim; i++) off += index[i] * t->stride[i];
    return t->data[off];
}

tg_real tg_at(const tg_tensor *t, int64_t linear) {
    int64_t off = 0;
    for (int i = t->ndim - 1; i >= 0; i--) {
        off += (linear % t->shape[i]) * t->stride[i];
        linear /= t->shape[i];
    }
    return t->data[off];
}

static tg_tensor *heap_tensor(tg_shape s, bool with_grad) {
    if (!tg_shape_valid(s)) return NULL;
    tg_tensor *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    tg_tensor_set_shape(t, s);
    size_t n = (size_t)(t->numel > 0 ? t->numel : 1);
    t->data = calloc(n, sizeof(tg_real));
    t->grad = with_grad ? calloc(n, sizeof(tg_real)) : NULL;
    if (!t->data || (with_grad && !t->grad)) {
        free(t->data);
        free(t->grad);
        free(t);
        return NULL;
    }
    t->on_heap = true;
    t->requires_grad = with_grad;
    t->node = -1;
    return t;
}

tg_tensor *tg_tensor_new(tg_shape s) { return heap_tensor(s, false); }
tg_tensor *tg_param_new(tg_shape s) { return heap_tensor(s, true); }

void tg_tensor_free(tg_tensor *t) {
    if (!t || !t->on_heap) return;
    free(t->data);
    free(t->grad);
    free(t);
}

void tg_zero_grad(tg_tensor *t) {
    if (t && t->grad) memset(t->grad, 0, (size_t)t->numel * sizeof(tg_real));
}

void tg_fill(tg_tensor *t, tg_real v) {
    if (tg_is_contiguous(t)) {
        for (int64_t i = 0; i < t->numel; i++) t->data[i] = v;
        return;
    }
    TG_FOR_EACH(t, off, t->data[off] = v);
}

void tg_copy_from(tg_tensor *t, const tg_real *src) {
    if (tg_is_contiguous(t)) {
        memcpy(t->data, src, (size_t)t->numel * sizeof(tg_real));
        return;
    }
    int64_t i = 0;
    TG_FOR_EACH(t, off, t->data[off] = src[i++]);
}

void tg_copy_to(const tg_tensor *t, tg_real *dst) {
    if (tg_is_contiguous(t)) {
        memcpy(dst, t->data, (size_t)t->numel * sizeof(tg_real));
        return;
    }
    int64_t i = 0;
    TG_FOR_EACH(t, off, dst[i++] = t->data[off]);
}

bool tg_copy(tg_tensor *dst, const tg_tensor *src) {
    if (!tg_same_shape(dst, src)) return false;
    if (tg_is_contiguous(src)) {
        tg_copy_from(dst, src->data);
        return true;
    }
    if (tg_is_contiguous(dst)) {
        tg_copy_to(src, dst->data);
        return true;
    }
    for (int64_t i = 0; i < src->numel; i++) {
        int64_t off = 0, rest = i;
        for (int d = dst->ndim - 1; d >= 0; d--) {
            off += (rest % dst->shape[d]) * dst->stride[d];
            rest /= dst->shape[d];
        }
        dst->data[off] = tg_at(src, i);
    }
    return true;
}
