/* The tape: an arena for a step's tensors, a growing array of nodes in
 * execution order, a sticky error, and backward as a reverse loop. */
#include "op.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct tg_tape {
    tg_arena arena;
    tg_node *nodes; /* kept across resets: grows to the longest step seen */
    size_t n_nodes, cap_nodes;
    bool grad_enabled;
    const char *scope;   /* current scope path on the arena ("" at top) */
    const char **scopes; /* enclosing paths, for tg_scope_pop; kept across resets */
    size_t n_scopes, cap_scopes;
    tg__weight_grad *deferred; /* weight gradients gathered during backward */
    size_t n_deferred, cap_deferred;
    bool gathering;            /* inside tg_backward (not a node-by-node replay) */
    tg_grad_ready_fn on_ready; /* told when a leaf's gradient is final (dist/) */
    void *on_ready_ctx;
    char error[512];
};

static const struct {
    const char *name;
    tg_backward_fn backward;
} op_table[TG_OP_COUNT] = {
#define TG_OP(id, name) [TG_OP_##id] = {#name, tg__##name##_backward},
#include "ops.def"
#undef TG_OP
};

const char *tg__op_name(int op) {
    return op >= 0 && op < TG_OP_COUNT ? op_table[op].name : "?";
}
tg_backward_fn tg__op_backward(int op) {
    return op_table[op].backward;
}

tg_tape *tg_tape_new(void) {
    tg_tape *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    tg_arena_init(&t->arena);
    t->grad_enabled = true;
    t->scope = "";
    return t;
}

void tg_tape_free(tg_tape *t) {
    if (!t) return;
    tg_arena_free(&t->arena);
    free(t->nodes);
    free(t->scopes);
    free(t->deferred);
    free(t);
}

void tg_tape_reset(tg_tape *t) {
    if (!t) return;
    tg_arena_reset(&t->arena);
    t->n_nodes = 0;
    t->scope = "";
    t->n_scopes = 0;
    t->error[0] = '\0';
}

const char *tg_tape_error(const tg_tape *t) {
    if (!t) return "tape is NULL";
    return t->error[0] ? t->error : NULL;
}

size_t tg_tape_node_count(const tg_tape *t) {
    return t ? t->n_nodes : 0;
}
tg_node *tg__node(const tg_tape *t, size_t i) {
    return t && i < t->n_nodes ? &t->nodes[i] : NULL;
}
size_t tg_tape_capacity(const tg_tape *t) {
    return t ? t->arena.capacity + t->cap_nodes * sizeof(tg_node) : 0;
}
size_t tg_tape_peak(const tg_tape *t) {
    return t ? t->arena.peak : 0;
}

bool tg_set_grad_enabled(tg_tape *t, bool on) {
    if (!t) return false;
    bool was = t->grad_enabled;
    t->grad_enabled = on;
    return was;
}

bool tg_grad_enabled(const tg_tape *t) {
    return t && t->grad_enabled;
}

/* ---- helpers for op implementations ----------------------------------- */

void tg_tape_fail(tg_tape *t, const char *fmt, ...) {
    if (!t || t->error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof t->error, fmt, ap);
    va_end(ap);
    if (!t->error[0]) snprintf(t->error, sizeof t->error, "unknown error");
}

bool tg__failed(const tg_tape *t) {
    return !t || t->error[0];
}

bool tg__begin(tg_tape *t, const char *op, int n, tg_tensor *const *in) {
    if (tg__failed(t)) return false;
    for (int i = 0; i < n; i++)
        if (!in[i]) {
            tg__fail(t, "%s: input %d is NULL", op, i + 1);
            return false;
        }
    return true;
}

void *tg__alloc(tg_tape *t, size_t bytes) {
    void *p = tg_arena_alloc(&t->arena, bytes ? bytes : 1);
    if (!p) tg__fail(t, "tape: out of memory allocating %zu bytes", bytes);
    return p;
}

tg_tensor *tg__tensor(tg_tape *t, tg_shape s) {
    if (tg__failed(t)) return NULL;
    if (!tg_shape_valid(s)) {
        char b[TG_SHAPE_STR_MAX];
        tg__fail(t, "tape: invalid shape %s (at most %d dimensions, none negative)",
                 s.ndim >= 0 && s.ndim <= TG_MAX_DIMS ? tg_shape_str(s, b, sizeof b) : "",
                 TG_MAX_DIMS);
        return NULL;
    }
    /* header and data in one allocation (the header rounded up to 64
     * bytes so the data stays aligned) */
    size_t head = (sizeof(tg_tensor) + 63) / 64 * 64;
    int64_t numel = tg_shape_numel(s);
    tg_tensor *x = tg__alloc(t, head + (size_t)numel * sizeof(tg_real));
    if (!x) return NULL;
    *x = (tg_tensor){0};
    tg_tensor_set_shape(x, s);
    x->node = -1;
    x->data = (tg_real *)((char *)x + head);
    return x;
}

tg_tensor *tg__view_of(tg_tape *t, const tg_tensor *x) {
    tg_tensor *v = tg__alloc(t, sizeof *v);
    if (!v) return NULL;
    *v = *x;
    v->grad = NULL;
    v->requires_grad = false;
    v->on_heap = false;
    v->node = -1;
    v->name = NULL;
    return v;
}

const tg_real *tg__contig(tg_tape *t, const tg_tensor *x) {
    if (tg_is_contiguous(x)) return x->data;
    tg_real *buf = tg__alloc(t, (size_t)x->numel * sizeof(tg_real));
    if (buf) tg_copy_to(x, buf);
    return buf;
}

int tg__axis(int axis, int ndim) {
    if (axis < 0) axis += ndim;
    return axis >= 0 && axis < ndim ? axis : -1;
}

tg_node *tg__record(tg_tape *t, int op, tg_tensor *out, int n, tg_tensor *const *in) {
    bool needed = false;
    for (int i = 0; i < n; i++) needed |= in[i]->requires_grad;
    if (!t->grad_enabled || !needed || tg__failed(t)) return NULL;
    if (t->n_nodes == t->cap_nodes) {
        size_t cap = t->cap_nodes ? t->cap_nodes * 2 : 1024;
        tg_node *nodes = realloc(t->nodes, cap * sizeof *nodes);
        if (!nodes) {
            tg__fail(t, "tape: out of memory growing to %zu nodes", cap);
            return NULL;
        }
        t->nodes = nodes;
        t->cap_nodes = cap;
    }
    tg_tensor **ins = tg__alloc(t, (size_t)n * sizeof *ins);
    if (!ins) return NULL;
    memcpy(ins, in, (size_t)n * sizeof *ins);
    tg_node *node = &t->nodes[t->n_nodes];
    *node = (tg_node){.op = op, .n_in = n, .in = ins, .out = out, .scope = t->scope};
    out->requires_grad = true;
    out->node = (int32_t)t->n_nodes++;
    return node;
}

/* ---- scopes and labels ------------------------------------------------------ */

/* The path is built once per push (not per op): nodes point at it. */
void tg_scope_push(tg_tape *t, const char *name) {
    if (!t) return;
    if (t->n_scopes == t->cap_scopes) {
        size_t cap = t->cap_scopes ? t->cap_scopes * 2 : 16;
        const char **s = realloc(t->scopes, cap * sizeof *s);
        if (!s) {
            tg__fail(t, "tg_scope_push: out of memory");
            return;
        }
        t->scopes = s, t->cap_scopes = cap;
    }
    if (!name) name = "?";
    size_t a = strlen(t->scope), b = strlen(name);
    /* on a tape in error nothing is recorded, but pushes and pops still pair */
    char *path = tg__failed(t) ? NULL : tg__alloc(t, a + b + 2);
    if (!path) {
        t->scopes[t->n_scopes++] = t->scope;
        return;
    }
    memcpy(path, t->scope, a);
    if (a) path[a++] = '.';
    memcpy(path + a, name, b + 1);
    t->scopes[t->n_scopes++] = t->scope;
    t->scope = path;
}

void tg_scope_pop(tg_tape *t) {
    if (t && t->n_scopes > 0) t->scope = t->scopes[--t->n_scopes];
}

const char *tg_scope(const tg_tape *t) {
    return t ? t->scope : "";
}

void tg_label(tg_tape *t, tg_tensor *x, const char *label) {
    if (tg__failed(t) || !x || x->node < 0 || (size_t)x->node >= t->n_nodes || !label) return;
    size_t n = strlen(label);
    char *copy = tg__alloc(t, n + 1);
    if (copy) memcpy(copy, label, n + 1), t->nodes[x->node].label = copy;
}

/* ---- leaves --------------------------------------------------------------- */

tg_tensor *tg_empty(tg_tape *t, tg_shape s) {
    return tg__tensor(t, s);
}

tg_tensor *tg_full(tg_tape *t, tg_shape s, tg_real v) {
    tg_tensor *x = tg__tensor(t, s);
    if (x)
        for (int64_t i = 0; i < x->numel; i++) x->data[i] = v;
    return x;
}

tg_tensor *tg_zeros(tg_tape *t, tg_shape s) {
    return tg_full(t, s, 0);
}
tg_tensor *tg_ones(tg_tape *t, tg_shape s) {
    return tg_full(t, s, 1);
}

tg_tensor *tg_from_array(tg_tape *t, tg_shape s, const tg_real *data) {
    if (!tg__failed(t) && !data) {
        tg__fail(t, "tg_from_array: data is NULL");
        return NULL;
    }
    tg_tensor *x = tg__tensor(t, s);
    if (x) memcpy(x->data, data, (size_t)x->numel * sizeof(tg_real));
    return x;
}

tg_tensor *tg_arange(tg_tape *t, double start, double stop, double step) {
    if (tg__failed(t)) return NULL;
    if (step == 0 || (stop - start) / step > 1e12) {
        tg__fail(t, "tg_arange: step %g cannot go from %g to %g", step, start, stop);
        return NULL;
    }
    double n = ceil((stop - start) / step);
    tg_tensor *x = tg__tensor(t, TG_SHAPE(n > 0 ? (int64_t)n : 0));
    if (x)
        for (int64_t i = 0; i < x->numel; i++) x->data[i] = (tg_real)(start + (double)i * step);
    return x;
}

tg_tensor *tg_rand_uniform(tg_tape *t, tg_rng *r, tg_shape s, double lo, double hi) {
    tg_tensor *x = tg__tensor(t, s);
    if (x) tg_init_uniform(x, r, lo, hi);
    return x;
}

tg_tensor *tg_randn(tg_tape *t, tg_rng *r, tg_shape s, double mean, double std) {
    tg_tensor *x = tg__tensor(t, s);
    if (x) tg_init_normal(x, r, mean, std);
    return x;
}

tg_tensor *tg_detach(tg_tape *t, tg_tensor *x) {
    if (!tg__begin(t, "tg_detach", 1, &x)) return NULL;
    return tg__view_of(t, x);
}

/* ---- backward ---------------------------------------------------------------- */

/* A zeroed gradient buffer for x: on the tape for tape tensors, on the heap
 * for caller-owned tensors (freed with them), since those outlive a reset.
 * Inside tg_backward, an output whose node says its gradient is a
 * contiguous run of its input's (grad_in_input: the slice of one time step,
 * a reshape) gets that run itself:
 * its consumers then add straight into the input's gradient, with no
 * buffer and no copy of its own. (A node-by-node replay, which must see
 * every += apart, does not share.) */
static bool ensure_grad(tg_tape *t, tg_tensor *x) {
    if (x->grad) return true;
    if (t->gathering && !x->on_heap && x->node >= 0 && (size_t)x->node < t->n_nodes) {
        tg_node *n = &t->nodes[x->node];
        if (n->out == x && n->grad_in_input && ensure_grad(t, n->in[0])) {
            x->grad = n->in[0]->grad + n->grad_offset;
            return true;
        }
    }
    size_t bytes = (size_t)x->numel * sizeof(tg_real);
    x->grad = x->on_heap ? calloc((size_t)x->numel + 1, sizeof(tg_real)) : tg__alloc(t, bytes);
    if (!x->grad) {
        tg__fail(t, "tg_backward: out of memory for a gradient of %zu bytes", bytes);
        return false;
    }
    if (!x->on_heap) memset(x->grad, 0, bytes);
    return true;
}

int tg_backward(tg_tape *t, tg_tensor *loss) {
    return tg_backward_grad(t, loss, NULL);
}

/* ---- gathered weight gradients ----------------------------------------------
 * A weight used at every step of an unrolled net gets one small product
 * dW += dy_t^T x_t per step. Backward defers them and, at its end, does one
 * GEMM per weight over all its uses stacked (a large, efficient product),
 * instead of T small ones. */

void tg__defer_weight_grad(tg_tape *t, tg_tensor *w, const tg_real *dy, const tg_real *x,
                           int64_t rows) {
    if (!t->gathering) { /* a replay one node at a time sees every += at once */
        tg__weight_grad_now(w, dy, x, rows);
        return;
    }
    if (t->n_deferred == t->cap_deferred) {
        size_t cap = t->cap_deferred ? t->cap_deferred * 2 : 64;
        tg__weight_grad *d = realloc(t->deferred, cap * sizeof *d);
        if (!d) { /* no room to defer: do it now */
            tg__weight_grad_now(w, dy, x, rows);
            return;
        }
        t->deferred = d, t->cap_deferred = cap;
    }
    t->deferred[t->n_deferred++] = (tg__weight_grad){w, dy, x, rows};
}

void tg__weight_grad_now(tg_tensor *w, const tg_real *dy, const tg_real *x, int64_t rows) {
    int64_t nout = w->shape[0], nin = w->shape[1];
    /* w->grad [out, in] += dy^T [out, rows] x [rows, in] */
    tg_gemm(nout, nin, rows, 1, dy, 1, nout, x, nin, 1, 1, w->grad, nin, 1);
}

/* Uses are gathered into buffers of at most this many values (dy and x
 * rows together): products with a few hundred rows are already efficient,
 * and the buffers stay small next to the tape. */
#define TG_GATHER_MAX ((int64_t)1 << 19)

static bool has_deferred(const tg_tape *t, const tg_tensor *w) {
    for (size_t i = 0; i < t->n_deferred; i++)
        if (t->deferred[i].w == w) return true;
    return false;
}

static void flush_weight_grads(tg_tape *t) {
    for (size_t i = 0; i < t->n_deferred; i++) {
        tg_tensor *w = t->deferred[i].w;
        if (!w) continue; /* already gathered with an earlier use */
        int64_t nout = w->shape[0], nin = w->shape[1], total = 0,
                cap = TG_GATHER_MAX / (nout + nin);
        size_t uses = 0;
        for (size_t j = i; j < t->n_deferred; j++)
            if (t->deferred[j].w == w) total += t->deferred[j].rows, uses++;
        if (cap > total) cap = total;
        tg_real *dy =
            uses > 1 && cap > 0 ? tg__alloc(t, (size_t)(cap * nout) * sizeof(tg_real)) : NULL;
        tg_real *x = dy ? tg__alloc(t, (size_t)(cap * nin) * sizeof(tg_real)) : NULL;
        int64_t r = 0; /* rows gathered so far */
        for (size_t j = i; j < t->n_deferred; j++) {
            tg__weight_grad *e = &t->deferred[j];
            if (e->w != w) continue;
            e->w = NULL;
            if (!x || e->rows > cap) { /* large enough alone, or no buffers */
                tg__weight_grad_now(w, e->dy, e->x, e->rows);
                continue;
            }
            if (r + e->rows > cap) tg__weight_grad_now(w, dy, x, r), r = 0;
            memcpy(dy + r * nout, e->dy, (size_t)(e->rows * nout) * sizeof(tg_real));
            memcpy(x + r * nin, e->x, (size_t)(e->rows * nin) * sizeof(tg_real));
            r += e->rows;
        }
        if (r) tg__weight_grad_now(w, dy, x, r);
        if (t->on_ready && w->on_heap) t->on_ready(t->on_ready_ctx, w); /* all nodes passed */
    }
    t->n_deferred = 0;
}

void tg_tape_on_grad_ready(tg_tape *t, tg_grad_ready_fn fn, void *ctx) {
    if (!t) return;
    t->on_ready = fn, t->on_ready_ctx = ctx;
}

/* first[i]: node i is the earliest reader of the heap leaves listed from
 * it (next[] chains them), so once backward has run node i their
 * gradients are final, unless a weight product is still deferred. False
 * (the tape in error) when memory runs out. */
typedef struct ready_list {
    int32_t *first; /* [n_nodes]: index into leaf[], -1 none */
    int32_t *next;
    tg_tensor **leaf;
} ready_list;

static bool ready_plan(tg_tape *t, size_t end, ready_list *r) {
    size_t n_in = 0, n_leaf = 0, slots = 16;
    for (size_t i = 0; i < end; i++) n_in += (size_t)t->nodes[i].n_in;
    while (slots < 2 * n_in) slots *= 2;
    r->first = tg__alloc(t, end * sizeof *r->first);
    r->next = tg__alloc(t, (n_in + 1) * sizeof *r->next);
    r->leaf = tg__alloc(t, (n_in + 1) * sizeof *r->leaf);
    tg_tensor **seen = tg__alloc(t, slots * sizeof *seen); /* open addressing by pointer */
    if (!r->first || !r->next || !r->leaf || !seen) return false;
    memset(seen, 0, slots * sizeof *seen);
    for (size_t i = 0; i < end; i++) {
        tg_node *n = &t->nodes[i];
        r->first[i] = -1;
        for (int k = 0; k < n->n_in; k++) {
            tg_tensor *x = n->in[k];
            if (!x->on_heap || !x->requires_grad) continue;
            size_t h = ((uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ull & (slots - 1);
            while (seen[h] && seen[h] != x) h = (h + 1) & (slots - 1);
            if (seen[h]) continue;
            seen[h] = x;
            r->leaf[n_leaf] = x, r->next[n_leaf] = r->first[i], r->first[i] = (int32_t)n_leaf++;
        }
    }
    return true;
}

int tg_backward_grad(tg_tape *t, tg_tensor *y, const tg_real *grad_y) {
    if (!tg__begin(t, "tg_backward", 1, &y)) return -1;
    if (!grad_y && y->numel != 1) {
        char b[TG_SHAPE_STR_MAX];
        tg__fail(t,
                 "tg_backward: loss has shape %s; it must have one element "
                 "(or pass a gradient with tg_backward_grad)",
                 TG_SHP(y, b));
        return -1;
    }
    if (!y->requires_grad) {
        tg__fail(t, "tg_backward: output does not depend on anything that requires grad");
        return -1;
    }
    /* Intermediate gradients start afresh on every call; leaves accumulate. */
    for (size_t i = 0; i < t->n_nodes; i++)
        if (!t->nodes[i].out->on_heap) t->nodes[i].out->grad = NULL;
    if (!ensure_grad(t, y)) return -1;
    for (int64_t i = 0; i < y->numel; i++) y->grad[i] += grad_y ? grad_y[i] : 1;
    t->n_deferred = 0;
    ready_list rl = {0};
    bool notify = t->on_ready && ready_plan(t, (size_t)y->node + 1, &rl);
    t->gathering = true;
    for (int64_t i = y->node; i >= 0 && !tg__failed(t); i--) {
        tg_node *n = &t->nodes[i];
        if (n->out->grad) { /* else nothing flowed into this node */
            for (int k = 0; k < n->n_in; k++)
                if (n->in[k]->requires_grad && !ensure_grad(t, n->in[k])) break;
            if (!tg__failed(t)) op_table[n->op].backward(t, n);
        }
        for (int32_t j = notify ? rl.first[i] : -1; j >= 0 && !tg__failed(t); j = rl.next[j])
            if (!has_deferred(t, rl.leaf[j])) t->on_ready(t->on_ready_ctx, rl.leaf[j]);
    }
    t->gathering = false;
    if (tg__failed(t)) return -1;
    flush_weight_grads(t);
    return tg__failed(t) ? -1 : 0;
}
