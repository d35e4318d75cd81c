/* The tape: an arena for a step's tensors, a growing array of nodes in
 * execution order, a sticky error, and backward as a reverse loop. */
#include "op.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* One weight's gathered gradient rows (see gathered weight gradients). */
struct tg__gather {
    tg_tensor *w;           /* NULL: a free slot (its buffers stay for reuse) */
    tg_real *dy, *x;        /* rows [rows, out] and [rows, in] */
    int64_t rows;           /* rows held */
    size_t dy_room, x_room; /* values the buffers can hold */
};

struct tg_tape {
    tg_arena arena;
    tg_node *nodes; /* kept across resets: grows to the longest step seen */
    size_t n_nodes, cap_nodes;
    bool grad_enabled;
    const char *scope;   /* current scope path on the arena ("" at top) */
    const char **scopes; /* enclosing paths, for tg_scope_pop; kept across resets */
    size_t n_scopes, cap_scopes;
    tg__gather *gathers; /* weight gradients gathered during backward, per weight */
    size_t n_gathers, cap_gathers;
    bool gathering;            /* inside tg_backward (not a node-by-node replay) */
    tg_grad_ready_fn on_ready; /* told when a leaf's gradient is final (dist/) */
    void *on_ready_ctx;
    const tg__tape_checks *checks; /* anomaly detection's, or NULL */
    bool anomaly;                  /* the error is a check's report */
    tg__packs packs;               /* recurrent weights packed for a sequence */
    char error[1024];
};

static const struct {
    const char *name;
    tg_backward_fn backward;
    bool assigns; /* see ops.def */
} op_table[TG_OP_COUNT] = {
#define TG_OP(id, name, assigns) [TG_OP_##id] = {#name, tg__##name##_backward, assigns},
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
    for (size_t i = 0; i < t->n_gathers; i++) {
        free(t->gathers[i].dy);
        free(t->gathers[i].x);
    }
    free(t->gathers);
    tg__packs_free(&t->packs);
    free(t);
}

void tg_tape_reset(tg_tape *t) {
    if (!t) return;
    tg_arena_reset(&t->arena);
    t->n_nodes = 0;
    t->scope = "";
    t->n_scopes = 0;
    t->error[0] = '\0';
    t->anomaly = false;
    tg__packs_reset(&t->packs);
}

bool tg_tape_set_params_fixed(tg_tape *t, bool fixed) {
    if (!t) return false;
    bool was = t->packs.pinned;
    tg__packs_pin(&t->packs, fixed);
    return was;
}

tg__packs *tg__tape_packs(tg_tape *t) {
    return &t->packs;
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

const tg__tape_checks *tg__tape_set_checks(tg_tape *t, const tg__tape_checks *checks) {
    if (!t) return NULL;
    const tg__tape_checks *was = t->checks;
    t->checks = checks;
    return was;
}

const tg__tape_checks *tg__tape_checks_of(const tg_tape *t) {
    return t ? t->checks : NULL;
}

bool tg_tape_error_is_anomaly(const tg_tape *t) {
    return t && t->error[0] && t->anomaly;
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
    v->grad_fresh = false;
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

/* ---- backward ---------------------------------------------------------------- */

void tg__grad_settle(tg_tensor *x) {
    if (tg__grad_first(x)) memset(x->grad, 0, (size_t)x->numel * sizeof(tg_real));
}

/* A gradient buffer for x: on the tape for tape tensors, on the heap for
 * caller-owned tensors (zeroed, freed with them), since those outlive a
 * reset. A tape tensor's buffer starts fresh, not zeroed: most are first
 * written whole by one backward (an `assigns` op in ops.def), and zeroing
 * megabytes a step only for them to be overwritten showed in profiles.
 * Inside tg_backward, an output whose node says its gradient is a
 * contiguous run of its input's (grad_in_input: the slice of one time step,
 * a reshape) gets that run itself:
 * its consumers then add straight into the input's gradient, with no
 * buffer and no copy of its own; the input's buffer is zeroed then, since
 * its runs are written by different consumers. (A node-by-node replay,
 * which must see every += apart, does not share.) */
static bool ensure_grad(tg_tape *t, tg_tensor *x) {
    if (x->grad) return true;
    if (t->gathering && !x->on_heap && x->node >= 0 && (size_t)x->node < t->n_nodes) {
        tg_node *n = &t->nodes[x->node];
        if (n->out == x && n->grad_in_input && ensure_grad(t, n->in[0])) {
            tg__grad_settle(n->in[0]);
            x->grad = n->in[0]->grad + n->grad_offset;
            x->grad_fresh = false;
            return true;
        }
    }
    size_t bytes = (size_t)x->numel * sizeof(tg_real);
    x->grad = x->on_heap ? calloc((size_t)x->numel + 1, sizeof(tg_real)) : tg__alloc(t, bytes);
    if (!x->grad) {
        tg__fail(t, "tg_backward: out of memory for a gradient of %zu bytes", bytes);
        return false;
    }
    x->grad_fresh = !x->on_heap;
    return true;
}

int tg_backward(tg_tape *t, tg_tensor *loss) {
    return tg_backward_grad(t, loss, NULL);
}

/* ---- gathered weight gradients ----------------------------------------------
 * A weight used at every step of an unrolled net gets one small product
 * dW += dy_t^T x_t per step. Backward gathers each weight's uses, in the
 * order they come, into a buffer of at most TG_GATHER_MAX values (dy and x
 * rows together) and does one GEMM per full buffer and one at the end,
 * instead of T small ones; a use larger than the buffer is its own GEMM at
 * once. The rows are copied as they come, so a use's dy and x may be
 * scratch that is gone before backward ends (recomputed segments), and the
 * products, hence the bits, depend only on the uses' order, never on when
 * their memory is freed. */

/* Products with a few hundred rows are already efficient, and the buffers
 * stay small next to the tape. */
#define TG_GATHER_MAX ((int64_t)1 << 19)

void tg__weight_grad_now(tg_tensor *w, const tg_real *dy, const tg_real *x, int64_t rows) {
    int64_t nout = w->shape[0], nin = w->shape[1];
    /* w->grad [out, in] += dy^T [out, rows] x [rows, in] */
    tg_gemm(nout, nin, rows, 1, dy, 1, nout, x, nin, 1, 1, w->grad, nin, 1);
}

static void gather_flush(tg__gather *g) {
    if (g->w && g->rows) tg__weight_grad_now(g->w, g->dy, g->x, g->rows);
    g->rows = 0;
}

/* w's slot, taken (a free one, or a new one) if w has none; NULL when out
 * of memory. */
static tg__gather *gather_slot(tg_tape *t, tg_tensor *w) {
    tg__gather *free_slot = NULL;
    for (size_t i = 0; i < t->n_gathers; i++) {
        if (t->gathers[i].w == w) return &t->gathers[i];
        if (!t->gathers[i].w && !free_slot) free_slot = &t->gathers[i];
    }
    if (!free_slot) {
        if (t->n_gathers == t->cap_gathers) {
            size_t n = t->cap_gathers ? t->cap_gathers * 2 : 16;
            tg__gather *more = realloc(t->gathers, n * sizeof *more);
            if (!more) return NULL;
            memset(more + t->cap_gathers, 0, (n - t->cap_gathers) * sizeof *more);
            t->gathers = more, t->cap_gathers = n;
        }
        free_slot = &t->gathers[t->n_gathers++];
    }
    free_slot->w = w, free_slot->rows = 0;
    return free_slot;
}

/* Room for n values in *buf (grown by doubling); false when out of memory. */
static bool room(tg_real **buf, size_t *have, size_t n) {
    if (n <= *have) return true;
    size_t want = *have * 2 > n ? *have * 2 : n;
    tg_real *p = realloc(*buf, want * sizeof *p);
    if (!p) return false;
    *buf = p, *have = want;
    return true;
}

void tg__defer_weight_grad(tg_tape *t, tg_tensor *w, const tg_real *dy, const tg_real *x,
                           int64_t rows) {
    int64_t nout = w->shape[0], nin = w->shape[1], cap = TG_GATHER_MAX / (nout + nin);
    /* a replay one node at a time sees every += at once; a use larger
     * than a buffer is large enough alone */
    tg__gather *g = t->gathering && rows <= cap ? gather_slot(t, w) : NULL;
    if (g && g->rows + rows > cap) gather_flush(g);
    if (g && (!room(&g->dy, &g->dy_room, (size_t)((g->rows + rows) * nout)) ||
              !room(&g->x, &g->x_room, (size_t)((g->rows + rows) * nin))))
        gather_flush(g), g = NULL; /* out of memory: at once, in the same order */
    if (!g) {
        tg__weight_grad_now(w, dy, x, rows);
        return;
    }
    memcpy(g->dy + g->rows * nout, dy, (size_t)(rows * nout) * sizeof(tg_real));
    memcpy(g->x + g->rows * nin, x, (size_t)(rows * nin) * sizeof(tg_real));
    g->rows += rows;
}

/* w's slot, or NULL: w has no gathered products pending. */
static tg__gather *gather_of(const tg_tape *t, const tg_tensor *w) {
    for (size_t i = 0; i < t->n_gathers; i++)
        if (t->gathers[i].w == w) return &t->gathers[i];
    return NULL;
}

/* The products still held (or, after an error, drops them); a gathered
 * weight's gradient is final after its products (tg_tape_on_grad_ready). */
static void flush_weight_grads(tg_tape *t, bool products) {
    for (size_t i = 0; i < t->n_gathers; i++) {
        tg_tensor *w = t->gathers[i].w;
        if (products) gather_flush(&t->gathers[i]);
        if (products && w && w->on_heap && t->on_ready) t->on_ready(t->on_ready_ctx, w);
        t->gathers[i].rows = 0;
        t->gathers[i].w = NULL;
    }
}

/* True when input k of n is also an earlier input of n: an `assigns`
 * backward would write it twice, the second time assigning again. */
static bool repeated_input(const tg_node *n, int k) {
    for (int j = 0; j < k; j++)
        if (n->in[j] == n->in[k]) return true;
    return false;
}

/* Node n's backward, if its output received a gradient. Inputs' fresh
 * buffers are zeroed first unless the op assigns them (ops.def). */
static void backward_node(tg_tape *t, tg_node *n) {
    if (!n->out->grad) return; /* nothing flowed into this node */
    tg__grad_settle(n->out);
    for (int k = 0; k < n->n_in; k++) {
        tg_tensor *x = n->in[k];
        if (!x->requires_grad) continue;
        if (!ensure_grad(t, x)) break;
        if (!op_table[n->op].assigns || repeated_input(n, k)) tg__grad_settle(x);
    }
    if (!tg__failed(t)) op_table[n->op].backward(t, n);
}

/* Nodes [first, end) in reverse. */
static void backward_nodes(tg_tape *t, size_t end, size_t first) {
    for (size_t i = end; i-- > first && !tg__failed(t);) backward_node(t, &t->nodes[i]);
}

/* ---- segments recomputed inside backward ----------------------------------- */

tg__tape_mark tg__tape_mark_get(const tg_tape *t) {
    return (tg__tape_mark){t->n_nodes, tg_arena_mark_get(&t->arena), t->scope, t->n_scopes};
}

void tg__tape_release(tg_tape *t, tg__tape_mark m) {
    t->n_nodes = m.n_nodes;
    tg_arena_release(&t->arena, m.arena);
    t->scope = m.scope;
    t->n_scopes = m.n_scopes;
}

bool tg__seed_grad(tg_tape *t, tg_tensor *x, const tg_real *g, bool copy) {
    if (tg__failed(t) || !ensure_grad(t, x)) return false;
    if (copy) {
        x->grad_fresh = false; /* written whole */
        memcpy(x->grad, g, (size_t)x->numel * sizeof(tg_real));
        return true;
    }
    tg__grad_settle(x);
    for (int64_t i = 0; i < x->numel; i++) x->grad[i] += g[i];
    return true;
}

int tg__backward_since(tg_tape *t, tg__tape_mark m) {
    if (tg__failed(t)) return -1;
    backward_nodes(t, t->n_nodes, m.n_nodes);
    return tg__failed(t) ? -1 : 0;
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
        if (!t->nodes[i].out->on_heap)
            t->nodes[i].out->grad = NULL, t->nodes[i].out->grad_fresh = false;
    if (!ensure_grad(t, y)) return -1;
    tg__grad_settle(y);
    for (int64_t i = 0; i < y->numel; i++) y->grad[i] += grad_y ? grad_y[i] : 1;
    const tg__tape_checks *check = t->checks;
    if (check && check->forward(t, y->node)) return t->anomaly = true, -1;
    ready_list rl = {0};
    bool notify = t->on_ready && ready_plan(t, (size_t)y->node + 1, &rl);
    t->gathering = true;
    tg__packs_hold(&t->packs, true); /* no parameter changes inside backward */
    for (int64_t i = y->node; i >= 0 && !tg__failed(t); i--) {
        tg_node *n = &t->nodes[i];
        backward_node(t, n);
        if (check && n->out->grad && !tg__failed(t) && check->backward(t, n, i))
            t->anomaly = true;
        for (int32_t j = notify ? rl.first[i] : -1; j >= 0 && !tg__failed(t); j = rl.next[j])
            if (!gather_of(t, rl.leaf[j])) t->on_ready(t->on_ready_ctx, rl.leaf[j]);
    }
    t->gathering = false;
    tg__packs_hold(&t->packs, false);
    flush_weight_grads(t, !tg__failed(t));
    if (!tg__failed(t) && check && check->leaves(t, y->node)) t->anomaly = true;
    return tg__failed(t) ? -1 : 0;
}
