/* Fusion (fuse.h): a step's elementwise ops traced into a register program
 * and run as one node.
 *
 * A program works on one row at a time. Every value of the row (the inputs,
 * each op's result) has a slot [off, off + w) in a per-row workspace; a view
 * that keeps whole rows (a chunk, a narrow along the columns, a reshape) is
 * no instruction at all, only a slot inside its input's. Backward keeps an
 * adjoint workspace laid out the same way, so a view's adjoint lands in its
 * input's slot by itself. Each primitive is one row of `prims`: its forward
 * loop and its derivative rule (tinygrad's gradient.py, one line each),
 * written as the op files write them so fused numbers equal composed ones.
 * The node saves only its inputs; backward recomputes the row's values. */
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "../core/fastmath.h"
#include "fuse.h"
#include "op.h"

/* y [w] = f(a, b) with scalar k; b is NULL for unary primitives. */
typedef void (*prim_fwd)(int64_t w, tg_real k, const tg_real *a, const tg_real *b, tg_real *y);
/* da (and db) [w] += the rule's share of adjoint g, from a, b and y. */
typedef void (*prim_bwd)(int64_t w, tg_real k, const tg_real *a, const tg_real *b, const tg_real *y,
                         const tg_real *g, tg_real *da, tg_real *db);

#define LOOP for (int64_t i = 0; i < w; i++)
#define FWD(name, expr)                                                                            \
    static void name##_f(int64_t w, tg_real k, const tg_real *a, const tg_real *b, tg_real *y) {   \
        (void)k, (void)b;                                                                          \
        LOOP y[i] = (expr);                                                                        \
    }
#define BWD(name, da_expr, db_expr)                                                                \
    static void name##_b(int64_t w, tg_real k, const tg_real *a, const tg_real *b,                 \
                         const tg_real *y, const tg_real *g, tg_real *da, tg_real *db) {           \
        (void)k, (void)a, (void)b, (void)y;                                                        \
        LOOP da[i] += (da_expr);                                                                   \
        if (db) LOOP db[i] += (db_expr);                                                           \
    }

FWD(add, a[i] + b[i])
BWD(add, g[i], g[i])
FWD(sub, a[i] - b[i])
BWD(sub, g[i], -g[i])
FWD(mul, a[i] * b[i])
BWD(mul, g[i] * b[i], g[i] * a[i])
FWD(div, a[i] / b[i])
BWD(div, g[i] / b[i], -(g[i] * a[i] / (b[i] * b[i])))
FWD(neg, -a[i])
BWD(neg, -g[i], 0)
FWD(scale, k *a[i])
BWD(scale, k *g[i], 0)
FWD(add_scalar, a[i] + k)
BWD(add_scalar, g[i], 0)
FWD(exp, exp(a[i]))
BWD(exp, g[i] * y[i], 0)
FWD(log, log(a[i]))
BWD(log, g[i] / a[i], 0)
static void tanh_f(int64_t w, tg_real k, const tg_real *a, const tg_real *b, tg_real *y) {
    (void)k, (void)b;
    tg_tanh_n(y, a, w);
}
BWD(tanh, g[i] * (1 - y[i] * y[i]), 0)
/* as the fused kernels (ops_rnn.c), not tg_sigmoid's exact libm form: the
 * difference is rounding, the time a third of a fused LSTM step */
static void sigmoid_f(int64_t w, tg_real k, const tg_real *a, const tg_real *b, tg_real *y) {
    (void)k, (void)b;
    tg_sigmoid_n(y, a, w);
}
BWD(sigmoid, g[i] * y[i] * (1 - y[i]), 0)
FWD(relu, a[i] < 0 ? 0 : a[i])
BWD(relu, y[i] > 0 ? g[i] : 0, 0)
FWD(square, a[i] * a[i])
BWD(square, 2 * a[i] * g[i], 0)
FWD(sqrt, sqrt(a[i]))
BWD(sqrt, g[i] / (2 * y[i]), 0)
FWD(abs, fabs(a[i]))
BWD(abs, a[i] > 0 ? g[i] : a[i] < 0 ? -g[i] : 0, 0)

typedef struct prim {
    prim_fwd fwd;
    prim_bwd bwd;
    int arity;
} prim;

#define PRIM(ID, name, n) [TG_OP_##ID] = {name##_f, name##_b, n}
static const prim prims[TG_OP_COUNT] = {
    PRIM(ADD, add, 2),
    PRIM(SUB, sub, 2),
    PRIM(MUL, mul, 2),
    PRIM(DIV, div, 2),
    PRIM(NEG, neg, 1),
    PRIM(SCALE, scale, 1),
    PRIM(ADD_SCALAR, add_scalar, 1),
    PRIM(EXP, exp, 1),
    PRIM(LOG, log, 1),
    PRIM(TANH, tanh, 1),
    PRIM(SIGMOID, sigmoid, 1),
    PRIM(RELU, relu, 1),
    PRIM(SQUARE, square, 1),
    PRIM(SQRT, sqrt, 1),
    PRIM(ABS, abs, 1),
};

/* Where a value of a row lives: in input src's row (read in place, and
 * its adjoint added straight into that input's gradient), or with src WS
 * in the row's workspace. */
enum { MAX_IN = 8, WS = MAX_IN };
typedef struct slot {
    int src;
    int64_t off, w;
} slot;

typedef struct instr {
    int op;
    slot y, a, b; /* b.w == 0 for unary */
    tg_real k;
} instr;

struct tg__fusion {
    const char *why; /* NULL: it runs */
    int n_in, n_out, n_code;
    slot *in, *out;
    instr *code;
    int64_t width; /* the workspace per row: the instructions' results */
    int64_t in_w;  /* the widest input */
};

const char *tg__fusion_why(const tg__fusion *f) {
    return f->why;
}
int tg__fusion_inputs(const tg__fusion *f) {
    return f->n_in;
}

/* ---- tracing ---------------------------------------------------------------- */

/* The trace's map from the scratch tape's tensors to slots. */
typedef struct tracer {
    const tg_tensor **t;
    slot *s;
    int n, cap;
} tracer;

static bool put(tracer *tr, const tg_tensor *x, slot s) {
    if (tr->n == tr->cap) {
        int cap = tr->cap ? 2 * tr->cap : 64;
        const tg_tensor **t = realloc(tr->t, (size_t)cap * sizeof *t);
        if (t) tr->t = t;
        slot *ss = realloc(tr->s, (size_t)cap * sizeof *ss);
        if (ss) tr->s = ss;
        if (!t || !ss) return false;
        tr->cap = cap;
    }
    tr->t[tr->n] = x;
    tr->s[tr->n++] = s;
    return true;
}

static const slot *find(const tracer *tr, const tg_tensor *x) {
    for (int i = tr->n - 1; i >= 0; i--)
        if (tr->t[i] == x) return &tr->s[i];
    return NULL;
}

/* A traced value is [2, w] with whole rows: the program runs per row. */
static bool row_shaped(const tg_tensor *x) {
    return x->ndim == 2 && x->shape[0] == 2 && x->stride[1] == 1;
}

/* The slot of view node n's output inside its input's, or why not. */
static const char *view_slot(const tracer *tr, const tg_node *n, slot *s) {
    const slot *a = find(tr, n->in[0]);
    const tg_tensor *x = n->in[0], *y = n->out;
    if (!a || !row_shaped(y) || !row_shaped(x) || x->stride[0] != y->stride[0])
        return "a view that does not keep rows";
    int64_t d = y->data - x->data;
    if (d < 0 || d + y->shape[1] > a->w) return "a view that does not keep rows";
    *s = (slot){a->src, a->off + d, y->shape[1]};
    return NULL;
}

/* Node n of the step as an instruction, or as a slot for a view; NULL, or
 * why it cannot be fused. */
static const char *trace_node(tracer *tr, const tg_node *n, instr *ins, bool *is_instr) {
    slot s;
    *is_instr = false;
    if (n->op == TG_OP_VIEW) {
        const char *why = view_slot(tr, n, &s);
        return why ? why : put(tr, n->out, s) ? NULL : "out of memory";
    }
    const prim *p = &prims[n->op];
    if (!p->fwd || n->n_in != p->arity || !row_shaped(n->out)) return tg__op_name(n->op);
    const slot *a = find(tr, n->in[0]), *b = p->arity == 2 ? find(tr, n->in[1]) : NULL;
    int64_t w = n->out->shape[1];
    if (!a || a->w != w || (p->arity == 2 && (!b || b->w != w)))
        return "an operand from outside the step, or broadcast";
    *ins = (instr){.op = n->op, .a = *a, .b = b ? *b : (slot){WS, 0, 0}, .k = (tg_real)n->f[0]};
    *is_instr = true;
    return NULL;
}

/* The trace's instructions, growing. */
typedef struct code_buf {
    instr *code;
    int n, cap;
} code_buf;

static bool emit(code_buf *c, instr i) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 32;
        instr *code = realloc(c->code, (size_t)cap * sizeof *code);
        if (!code) return false;
        c->code = code, c->cap = cap;
    }
    c->code[c->n++] = i;
    return true;
}

/* Walks `from`'s nodes into tr and c; the width of the workspace in *width.
 * NULL, or why the step cannot be fused. */
static const char *trace_nodes(const tg_tape *from, const tg_tensor *ext_x, tracer *tr, code_buf *c,
                               int n_in, int64_t *width, slot *ext, int *n_ext) {
    size_t N = tg_tape_node_count(from);
    for (size_t k = 0; k < N; k++) {
        const tg_node *n = tg__node(from, k);
        if (n->op == TG_OP_LINEAR && ext_x && n->in[0] == ext_x && !*n_ext) {
            if (!row_shaped(n->out)) return "a recurrent product not [B, w]";
            *ext = (slot){n_in, 0, n->out->shape[1]};
            if (!put(tr, n->out, *ext)) return "out of memory";
            *n_ext = 1;
            continue;
        }
        instr ins;
        bool is_instr;
        const char *why = trace_node(tr, n, &ins, &is_instr);
        if (why) return why;
        if (!is_instr) continue;
        ins.y = (slot){WS, *width, n->out->shape[1]};
        *width += ins.y.w;
        if (!put(tr, n->out, ins.y) || !emit(c, ins)) return "out of memory";
    }
    return NULL;
}

/* Copies n of what src holds into dst's arena (NULL for n == 0). */
static void *keep(tg_tape *dst, const void *src, size_t bytes) {
    void *p = bytes ? tg__alloc(dst, bytes) : NULL;
    if (p) memcpy(p, src, bytes);
    return p;
}

const tg__fusion *tg__fuse_trace(tg_tape *dst, const tg_tape *from, int n_in, tg_tensor *const *in,
                                 const tg_tensor *ext_x, int n_out, tg_tensor *const *out) {
    tg__fusion *f = tg__alloc(dst, sizeof *f);
    slot *io = tg__alloc(dst, (size_t)(n_in + 1 + n_out) * sizeof *io);
    if (!f || !io) return NULL;
    *f = (tg__fusion){.n_out = n_out, .in = io, .out = io + n_in + 1};
    tracer tr = {0};
    code_buf c = {0};
    const char *why = NULL;
    if (n_in + 1 > MAX_IN) why = "too many inputs";
    for (int i = 0; i < n_in && !why; i++) {
        if (!row_shaped(in[i])) why = "an input not [B, w]";
        io[i] = (slot){i, 0, in[i]->shape[1]};
        if (!why && !put(&tr, in[i], io[i])) why = "out of memory";
    }
    int n_ext = 0;
    if (!why) why = trace_nodes(from, ext_x, &tr, &c, n_in, &f->width, &io[n_in], &n_ext);
    for (int i = 0; i < n_in + n_ext; i++) f->in_w = io[i].w > f->in_w ? io[i].w : f->in_w;
    for (int k = 0; k < n_out && !why; k++) {
        const slot *s = out[k] ? find(&tr, out[k]) : NULL;
        if (!s || s->w != find(&tr, out[0])->w)
            why = "a result not computed in the step";
        else
            f->out[k] = *s;
    }
    f->n_in = n_in + n_ext;
    f->n_code = c.n;
    f->code = why ? NULL : keep(dst, c.code, (size_t)c.n * sizeof *c.code);
    free(tr.t), free(tr.s), free(c.code);
    if (tg__failed(dst)) return NULL;
    f->why = why;
    return f;
}

/* ---- running ---------------------------------------------------------------- */

typedef struct fused_saved {
    const tg__fusion *f;
    const tg_real **in; /* each input's rows, contiguous */
} fused_saved;

typedef struct fused_job {
    const fused_saved *sv;
    tg_real *out;        /* forward: [n_out, B, w] */
    const tg_real *gout; /* backward: the results' gradient */
    tg_real **gin;       /* backward: each input's gradient, or NULL */
    int64_t B;
    bool no_memory;
} fused_job;

/* Row r's value pointers: each input's row, then the workspace. */
static void row_bases(const tg__fusion *f, const tg_real *const *in, int64_t r, tg_real *ws,
                      const tg_real **base) {
    for (int i = 0; i < f->n_in; i++) base[i] = in[i] + r * f->in[i].w;
    base[WS] = ws;
}

#define AT(base, s) ((base)[(s).src] + (s).off)

/* The program forward over one row, its results in ws. */
static void run_row(const tg__fusion *f, const tg_real *const *base, tg_real *ws) {
    for (int k = 0; k < f->n_code; k++) {
        const instr *c = &f->code[k];
        prims[c->op].fwd(c->y.w, c->k, AT(base, c->a), c->b.w ? AT(base, c->b) : NULL,
                         ws + c->y.off);
    }
}

static void forward_part(void *ctx, int64_t lo, int64_t hi) {
    fused_job *j = ctx;
    const tg__fusion *f = j->sv->f;
    tg_real *ws = malloc((size_t)(f->width + 1) * sizeof *ws);
    if (!ws) {
        j->no_memory = true;
        return;
    }
    int64_t w = f->out[0].w;
    const tg_real *base[MAX_IN + 1];
    for (int64_t r = lo; r < hi; r++) {
        row_bases(f, j->sv->in, r, ws, base);
        run_row(f, base, ws);
        for (int k = 0; k < f->n_out; k++)
            memcpy(j->out + (k * j->B + r) * w, AT(base, f->out[k]), (size_t)w * sizeof *ws);
    }
    free(ws);
}

/* Row r's adjoint: values recomputed, the results' gradient seeded, then
 * each instruction's rule in reverse. An input's adjoint is its gradient's
 * row itself (the rules only add into it), or a scratch row (dummy) when
 * the input wants none. */
static void adjoint_row(const fused_job *j, int64_t r, tg_real *ws, tg_real *adj, tg_real *dummy) {
    const tg__fusion *f = j->sv->f;
    int64_t w = f->out[0].w;
    const tg_real *base[MAX_IN + 1];
    tg_real *abase[MAX_IN + 1];
    row_bases(f, j->sv->in, r, ws, base);
    run_row(f, base, ws);
    for (int i = 0; i < f->n_in; i++) abase[i] = j->gin[i] ? j->gin[i] + r * f->in[i].w : dummy;
    abase[WS] = adj;
    memset(adj, 0, (size_t)f->width * sizeof *adj);
    for (int k = 0; k < f->n_out; k++) {
        tg_real *a = AT(abase, f->out[k]);
        const tg_real *g = j->gout + (k * j->B + r) * w;
        for (int64_t e = 0; e < w; e++) a[e] += g[e];
    }
    for (int k = f->n_code - 1; k >= 0; k--) {
        const instr *c = &f->code[k];
        bool two = c->b.w != 0;
        prims[c->op].bwd(c->y.w, c->k, AT(base, c->a), two ? AT(base, c->b) : NULL, ws + c->y.off,
                         adj + c->y.off, AT(abase, c->a), two ? AT(abase, c->b) : NULL);
    }
}

static void backward_part(void *ctx, int64_t lo, int64_t hi) {
    fused_job *j = ctx;
    const tg__fusion *f = j->sv->f;
    tg_real *ws = malloc((size_t)(2 * f->width + f->in_w + 1) * sizeof *ws);
    if (!ws) {
        j->no_memory = true;
        return;
    }
    for (int64_t r = lo; r < hi; r++) adjoint_row(j, r, ws, ws + f->width, ws + 2 * f->width);
    free(ws);
}

/* Rows per thread part: fewer than this many workspace values do not pay
 * for waking a thread (as ops_rnn.c's kernels). */
static int64_t grain(const tg__fusion *f) {
    return f->width >= 8192 ? 1 : 8192 / (f->width ? f->width : 1);
}

tg_tensor *tg__fused(tg_tape *t, const tg__fusion *f, tg_tensor *const *in) {
    if (!tg__begin(t, "tg__fused", f->n_in, in)) return NULL;
    if (f->why) {
        tg__fail(t, "tg__fused: the step was not fused: %s", f->why);
        return NULL;
    }
    int64_t B = in[0]->shape[0];
    for (int i = 0; i < f->n_in; i++)
        if (in[i]->ndim != 2 || in[i]->shape[0] != B || in[i]->shape[1] != f->in[i].w) {
            char s[TG_SHAPE_STR_MAX];
            tg__fail(t, "tg__fused: input %d %s: expected [%lld,%lld]", i, TG_SHP(in[i], s),
                     (long long)B, (long long)f->in[i].w);
            return NULL;
        }
    fused_saved *sv = tg__alloc(t, sizeof *sv);
    const tg_real **data = tg__alloc(t, (size_t)f->n_in * sizeof *data);
    int64_t w = f->out[0].w;
    tg_tensor *y = tg__tensor(t, f->n_out == 1 ? TG_SHAPE(B, w) : TG_SHAPE(f->n_out, B, w));
    if (!sv || !data || !y) return NULL;
    for (int i = 0; i < f->n_in; i++) data[i] = tg__contig(t, in[i]);
    if (tg__failed(t)) return NULL;
    *sv = (fused_saved){f, data};
    fused_job j = {.sv = sv, .out = y->data, .B = B};
    tg__parallel_for(B, grain(f), forward_part, &j);
    if (j.no_memory) {
        tg__fail(t, "tg__fused: out of memory for a row's workspace");
        return NULL;
    }
    tg_node *n = tg__record(t, TG_OP_FUSED, y, f->n_in, in);
    if (n) n->saved = sv;
    return y;
}

void tg__fused_backward(tg_tape *t, tg_node *n) {
    const fused_saved *sv = n->saved;
    tg_real **gin = tg__alloc(t, (size_t)n->n_in * sizeof *gin);
    if (!gin) return;
    for (int i = 0; i < n->n_in; i++) gin[i] = n->in[i]->requires_grad ? n->in[i]->grad : NULL;
    fused_job j = {
        .sv = sv, .gout = n->out->grad, .gin = gin, .B = n->out->shape[n->out->ndim - 2]};
    tg__parallel_for(j.B, grain(sv->f), backward_part, &j);
    if (j.no_memory) tg__fail(t, "tg__fused: out of memory for a row's workspace in backward");
}
