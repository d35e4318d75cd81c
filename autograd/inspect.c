/* A view of a recorded step that the ways of looking at it share (the
 * table, inspect_print.c; the picture, inspect_dot.c; the trace,
 * inspect_json.c; and the stepper, stepper.c): which inputs are nodes and
 * which are leaves (parameters and data, each listed once, in order of
 * first use), how to refer to them and how to show their values. */
#include "inspect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_ptr(const void *p, size_t cap) {
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

int tg__ptrmap_get(const tg__ptrmap *m, const void *key) {
    if (!m->cap) return -1;
    for (size_t i = hash_ptr(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (m->keys[i] == key) return m->vals[i];
    }
}

int tg__ptrmap_put(tg__ptrmap *m, const void *key, int val) {
    if (2 * (m->n + 1) > m->cap) { /* grow at half full */
        tg__ptrmap bigger = {.cap = m->cap ? 2 * m->cap : 64};
        bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
        bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
        if (!bigger.keys || !bigger.vals) {
            tg__ptrmap_free(&bigger);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) tg__ptrmap_put(&bigger, m->keys[i], m->vals[i]);
        tg__ptrmap_free(m);
        *m = bigger;
    }
    size_t i = hash_ptr(key, m->cap);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void tg__ptrmap_free(tg__ptrmap *m) {
    free(m->keys);
    free(m->vals);
    *m = (tg__ptrmap){0};
}

int tg__node_of(const tg__look *l, const tg_tensor *x) {
    /* x->node alone could be stale (a tensor from before a reset) */
    if (x->node < 0 || (size_t)x->node >= l->n) return -1;
    return tg__node(l->tape, (size_t)x->node)->out == x ? x->node : -1;
}

const tg__leaf *tg__leaf_of(const tg__look *l, const tg_tensor *x) {
    int k = tg__ptrmap_get(&l->map, x);
    return k < 0 ? NULL : &l->leaf[k];
}

int tg__look_init(tg__look *l, const tg_tape *t) {
    *l = (tg__look){.tape = t, .n = tg_tape_node_count(t)};
    int cap = 0, n_data = 0;
    for (size_t i = 0; i < l->n; i++) {
        const tg_node *nd = tg__node(t, i);
        for (int k = 0; k < nd->n_in; k++) {
            tg_tensor *x = nd->in[k];
            if (tg__node_of(l, x) >= 0 || tg__ptrmap_get(&l->map, x) >= 0) continue;
            if (l->n_leaf == cap) {
                cap = cap ? 2 * cap : 16;
                tg__leaf *more = realloc(l->leaf, (size_t)cap * sizeof *more);
                if (!more) goto oom;
                l->leaf = more;
            }
            tg__leaf *lf = &l->leaf[l->n_leaf];
            lf->x = x;
            lf->param = x->requires_grad;
            snprintf(lf->id, sizeof lf->id, "%c%d", lf->param ? 'p' : 'c',
                     lf->param ? l->n_param : n_data);
            lf->param ? l->n_param++ : n_data++;
            if (tg__ptrmap_put(&l->map, x, l->n_leaf++) != 0) goto oom;
        }
    }
    return 0;
oom:
    tg__look_free(l);
    return -1;
}

void tg__look_free(tg__look *l) {
    free(l->leaf);
    tg__ptrmap_free(&l->map);
    *l = (tg__look){0};
}

const char *tg__ref(const tg__look *l, const tg_tensor *x, char *buf, size_t n) {
    int j = tg__node_of(l, x);
    const tg__leaf *lf = j < 0 ? tg__leaf_of(l, x) : NULL;
    if (j >= 0)
        snprintf(buf, n, "#%d", j);
    else if (lf)
        snprintf(buf, n, "%s", x->name ? x->name : lf->id);
    else
        snprintf(buf, n, "?");
    return buf;
}

const char *tg__node_name(const tg_node *nd, char *buf, size_t n) {
    const char *s = nd->scope ? nd->scope : "", *lb = nd->label ? nd->label : "";
    snprintf(buf, n, "%s%s%s", s, *s && *lb ? "." : "", lb);
    return buf;
}

const char *tg__reals(const tg_real *v, int64_t numel, int k, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (int64_t i = 0; i < numel && i < k && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%.4g", i ? " " : "", (double)v[i]);
    if (numel > k && used < n) snprintf(buf + used, n - used, " ...");
    return buf;
}

const char *tg__values(const tg_tensor *x, bool grad, int k, char *buf, size_t n) {
    if (grad) return tg__reals(x->grad, x->numel, k, buf, n);
    tg_real v[16];
    int m = k < 16 ? k : 16;
    for (int64_t i = 0; i < x->numel && i < m; i++) v[i] = tg_at(x, i);
    return tg__reals(v, x->numel, m, buf, n);
}

double tg__norm(const tg_real *g, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)g[i] * (double)g[i];
    return sqrt(s);
}
