/* Fusion (fuse.h), the tracing half: a step run once on a scratch tape
 * becomes a register program (fuse_program.h), numexpr-style. A view that
 * keeps whole rows (a chunk, a narrow along the columns, a reshape, an
 * expand of a parameter over the rows) is no instruction at all, only a
 * slot inside its input's, so its adjoint lands in its input's slot by
 * itself. Every other op must have a rule (fuse_rules.c). Planning what
 * backward keeps is fuse_plan.c's job, running the program fuse_run.c's. */
#include <stdlib.h>
#include <string.h>

#include "fuse_program.h"
#include "op.h"

const char *tg__fusion_why(const tg__fusion *f) {
    return f->why;
}
int tg__fusion_inputs(const tg__fusion *f) {
    return f->n_in;
}

/* The trace's map from the scratch tape's tensors to slots, its
 * instructions and its constants, growing. */
typedef struct tracer {
    const tg_tensor **t;
    slot *s;
    int n, cap;
    instr *code;
    int n_code, code_cap;
    tg_real *consts;
    int64_t n_consts, consts_cap;
} tracer;

/* Grows *p (of *cap items of size bytes) to hold need items. */
static bool grow(void **p, int64_t *cap, int64_t need, size_t size) {
    if (need <= *cap) return true;
    int64_t c = *cap ? *cap : 32;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q) return false;
    *p = q, *cap = c;
    return true;
}

static bool put(tracer *tr, const tg_tensor *x, slot s) {
    int64_t cap_t = tr->cap, cap_s = tr->cap;
    if (!grow((void **)&tr->t, &cap_t, tr->n + 1, sizeof *tr->t) ||
        !grow((void **)&tr->s, &cap_s, tr->n + 1, sizeof *tr->s))
        return false;
    tr->cap = (int)(cap_t < cap_s ? cap_t : cap_s);
    tr->t[tr->n] = x;
    tr->s[tr->n++] = s;
    return true;
}

static bool emit(tracer *tr, instr i) {
    int64_t cap = tr->code_cap;
    if (!grow((void **)&tr->code, &cap, tr->n_code + 1, sizeof *tr->code)) return false;
    tr->code_cap = (int)cap;
    tr->code[tr->n_code++] = i;
    return true;
}

static const slot *find(const tracer *tr, const tg_tensor *x) {
    for (int i = tr->n - 1; i >= 0; i--)
        if (tr->t[i] == x) return &tr->s[i];
    return NULL;
}

/* A per-row value is [2, w] with whole rows: the program runs per row. */
static bool row_shaped(const tg_tensor *x) {
    return x->ndim == 2 && x->shape[0] == 2 && (x->stride[1] == 1 || x->shape[1] == 1);
}

/* A value the same for every row: [w], [1, w] or a scalar, contiguous. */
static bool vec_shaped(const tg_tensor *x) {
    int64_t w = x->ndim ? x->shape[x->ndim - 1] : 1;
    bool last = x->ndim == 0 || x->stride[x->ndim - 1] == 1 || w == 1;
    return last && (x->ndim <= 1 || (x->ndim == 2 && x->shape[0] == 1));
}

static int64_t width_of(const tg_tensor *x) {
    return x->ndim ? x->shape[x->ndim - 1] : 1;
}

/* The slot of view (or copy) node n's output inside its input's, or why
 * not: rows stay rows, a vector's part stays a vector, and a vector
 * expanded over the rows is the vector itself. */
static const char *view_slot(const tracer *tr, const tg_node *n, slot *s) {
    const slot *a = find(tr, n->in[0]);
    const tg_tensor *x = n->in[0], *y = n->out;
    const char *no = "a view that does not keep rows";
    int64_t d = y->data - x->data, w = width_of(y);
    if (!a) return no;
    bool rows = row_shaped(x) && row_shaped(y) && x->stride[0] == y->stride[0];
    bool vecs = vec_shaped(x) && vec_shaped(y);
    bool expand = vec_shaped(x) && row_shaped(y) && y->stride[0] == 0;
    if (n->op == TG_OP_COPY) { /* a contiguous copy: the same values */
        if (!tg_same_shape(x, y) || !(row_shaped(x) || vec_shaped(x))) return no;
        *s = *a;
        return NULL;
    }
    if (!rows && !vecs && !expand) return no;
    if (d < 0 || d + w > a->w) return no;
    *s = (slot){a->src, a->off + d, w};
    return NULL;
}

/* x's slot; a tensor from outside the step that wants no gradient and is
 * the same for every row (a constant the step made) joins the constants. */
static const slot *operand(tracer *tr, const tg_tensor *x) {
    const slot *s = find(tr, x);
    if (s || x->requires_grad || !vec_shaped(x)) return s;
    int64_t w = width_of(x);
    if (!grow((void **)&tr->consts, &tr->consts_cap, tr->n_consts + w, sizeof *tr->consts))
        return NULL;
    memcpy(tr->consts + tr->n_consts, x->data, (size_t)w * sizeof *tr->consts);
    bool ok = put(tr, x, (slot){CONSTS, tr->n_consts, w});
    tr->n_consts += w;
    return ok ? find(tr, x) : NULL;
}

/* Node n as an instruction (its y slot still to place); NULL or why not. */
static const char *trace_instr(tracer *tr, const tg_node *n, instr *ins) {
    const tg__fuse_rule *r = tg__fuse_rule_of(n->op, n->n_in);
    const tg_tensor *y = n->out;
    if (!r || !(row_shaped(y) || vec_shaped(y))) return tg__op_name(n->op);
    const slot *a = operand(tr, n->in[0]), *b = r->arity >= 2 ? operand(tr, n->in[1]) : NULL;
    const slot *c = r->arity == 3 ? operand(tr, n->in[2]) : NULL;
    const char *outside = "an operand from outside the step, or broadcast";
    if (!a || (r->arity >= 2 && !b) || (r->arity == 3 && !c)) return outside;
    int64_t w = width_of(y);
    slot none = {WS, 0, 0};
    *ins = (instr){.rule = r, .n = w, .sa = 1, .sb = 1, .a = *a, .b = b ? *b : none,
                   .c = c ? *c : none, .x = {WS, 0, r->extra_rows * w + r->extra}};
    ins->k[0] = n->f[0], ins->k[1] = n->f[1];
    if (r->reduce) { /* along the row only, keeping the axis: one value per row */
        const tg_tensor *x = n->in[0];
        if (x->ndim < 1 || n->i[0] != x->ndim - 1 || y->ndim != x->ndim || w != 1)
            return "a sum across rows, or without keepdim";
        ins->n = a->w;
        return NULL;
    }
    if ((a->w != w && a->w != 1) || (b && b->w != w && b->w != 1)) return outside;
    if (c && (a->w != w || b->w != w || c->w != w)) return outside; /* three: all n wide */
    ins->sa = a->w == w ? 1 : 0;
    ins->sb = b && b->w == w ? 1 : 0;
    return NULL;
}

/* Whether n is the step's recurrent product: x W^T + b with the caller's
 * own x, W and b (ext), not merely the first linear of the step. */
static bool is_recurrent(const tg_node *n, const tg_tensor *const *ext) {
    if (n->op != TG_OP_LINEAR || !ext[0] || n->in[0] != ext[0] || n->in[1] != ext[1]) return false;
    return ext[2] ? n->n_in == 3 && n->in[2] == ext[2] : n->n_in == 2;
}

/* Walks `from`'s nodes into tr; the width of the workspace in *width.
 * NULL, or why the step cannot be fused. */
static const char *trace_nodes(const tg_tape *from, const tg_tensor *const *ext, tracer *tr,
                               int n_in, int64_t *width, slot *ext_slot, int *n_ext) {
    size_t N = tg_tape_node_count(from);
    for (size_t k = 0; k < N; k++) {
        const tg_node *n = tg__node(from, k);
        slot s;
        if (!*n_ext && is_recurrent(n, ext)) {
            if (!row_shaped(n->out)) return "a recurrent product not [B, w]";
            *ext_slot = (slot){n_in, 0, n->out->shape[1]};
            if (!put(tr, n->out, *ext_slot)) return "out of memory";
            *n_ext = 1;
            continue;
        }
        if (n->op == TG_OP_VIEW || n->op == TG_OP_COPY) {
            const char *why = view_slot(tr, n, &s);
            if (why) return why;
            if (!put(tr, n->out, s)) return "out of memory";
            continue;
        }
        instr ins;
        const char *why = trace_instr(tr, n, &ins);
        if (why) return why;
        ins.y = (slot){WS, *width, width_of(n->out)};
        ins.x.off = ins.y.off + ins.y.w; /* g's scratch after y in backward (fuse_rules.h) */
        *width += ins.y.w + ins.x.w;
        if (!put(tr, n->out, ins.y) || !emit(tr, ins)) return "out of memory";
    }
    return NULL;
}

/* The inputs' slots: [2, w] per row, [w] broadcast. NULL or why not. */
static const char *trace_inputs(tg__fusion *f, tracer *tr, int n_in, tg_tensor *const *in) {
    if (n_in + 1 > FUSE_MAX_IN) return "too many inputs";
    for (int i = 0; i < n_in; i++) {
        f->bcast[i] = in[i]->ndim == 1;
        if (!row_shaped(in[i]) && !(f->bcast[i] && in[i]->stride[0] == 1))
            return "an input not [B, w] or [w]";
        f->in[i] = (slot){i, 0, width_of(in[i])};
        if (f->bcast[i]) f->bcast_w += f->in[i].w;
        if (!put(tr, in[i], f->in[i])) return "out of memory";
    }
    return NULL;
}

/* The results' slots, all of one width. */
static const char *trace_outputs(tg__fusion *f, const tracer *tr, int n_out,
                                 tg_tensor *const *out) {
    for (int k = 0; k < n_out; k++) {
        const slot *s = out[k] ? find(tr, out[k]) : NULL;
        if (!s || s->w != find(tr, out[0])->w) return "a result not computed in the step";
        f->out[k] = *s;
    }
    return NULL;
}

const tg__fusion *tg__fuse_trace(tg_tape *dst, const tg_tape *from, int n_in, tg_tensor *const *in,
                                 const tg_tensor *const *ext, int n_out, tg_tensor *const *out) {
    tg__fusion *f = tg__alloc(dst, sizeof *f);
    slot *io = tg__alloc(dst, (size_t)(n_in + 1 + n_out) * sizeof *io);
    bool *bc = tg__alloc(dst, (size_t)(n_in + 1) * sizeof *bc);
    if (!f || !io || !bc) return NULL;
    memset(bc, 0, (size_t)(n_in + 1) * sizeof *bc);
    *f = (tg__fusion){
        .n_out = n_out, .in = io, .out = io + n_in + 1, .bcast = bc, .prod = -1, .twin = -1};
    tracer tr = {0};
    int n_ext = 0;
    const char *why = trace_inputs(f, &tr, n_in, in);
    if (!why) why = trace_nodes(from, ext, &tr, n_in, &f->width, &io[n_in], &n_ext);
    if (!why) why = trace_outputs(f, &tr, n_out, out);
    f->n_in = n_in + n_ext;
    f->prod = n_ext ? n_in : -1;
    f->n_code = tr.n_code;
    f->code = why ? NULL : tg__fuse_keep(dst, tr.code, (size_t)tr.n_code * sizeof *tr.code);
    if (!why && !f->code && tr.n_code) why = "out of memory";
    f->consts = why ? NULL : tg__fuse_keep(dst, tr.consts, (size_t)tr.n_consts * sizeof *tr.consts);
    free(tr.t), free(tr.s), free(tr.code), free(tr.consts);
    if (!why && !tg__fuse_plan(dst, f)) why = "out of memory";
    if (tg__failed(dst)) return NULL;
    f->why = why;
    return f;
}
