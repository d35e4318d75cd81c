/* Fusion (fuse.h), the running half: a traced program (fuse_program.h) as
 * ONE tape node, the step's recurrent product included. Forward takes the
 * product h W^T + b into a scratch (as tg_linear computes it, so the
 * numbers are the composed step's), then runs the program row by row
 * (rows split over threads), keeping of each row only the values the
 * adjoint reads and cannot have otherwise (fuse_plan.c: for an LSTM the
 * activated gates, as the hand-written kernel keeps them) and not the
 * product, written where they are kept (fuse_plan.c plan_in_place); or,
 * where those are many (a layer norm from elementary ops), only the
 * product. Backward reads a row's kept values where they are (or puts
 * them back in the workspace) and computes the few it did not keep again
 * (tanh(c') from c', the step's result), or runs the whole row forward
 * again from the kept product, and runs the program's adjoint, each
 * instruction's rule in reverse, then sends the product's gradient to h,
 * W and b as tg_linear's backward does. A broadcast input's gradient (a
 * cell's parameter) is summed over rows per fixed block of rows, then the
 * blocks in order, so it is the same at every thread count. */
#include <stdlib.h>
#include <string.h>

#include "fuse_program.h"
#include "op.h"

typedef struct fused_saved {
    const tg__fusion *f;
    const tg_real **in; /* each input's rows (or its one vector), contiguous;
                         * the product's only during forward */
    tg_real *kept;      /* [B, saved_w]: what the adjoint reads of each row */
    const tg_real *px, *pw; /* the product's x and W as forward read them */
    int64_t rsw, csw;
} fused_saved;

typedef struct fused_job {
    const fused_saved *sv;
    tg_real *out;        /* [n_out, B, w]: forward writes it, backward reads
                          * results there (fuse_program.h OUT) */
    const tg_real *gout; /* backward: the results' gradient */
    tg_real **gin;       /* backward: each input's gradient (the product's: a
                          * scratch), or NULL */
    const bool *zero;    /* backward: per input, its gradient's rows are
                          * zeroed by the row that adds to them (a fresh
                          * buffer, the product's scratch) */
    tg_real *partial;    /* backward: [blocks, bcast_w] broadcast inputs' sums, or NULL */
    int64_t B, block;    /* rows, and rows per block in backward */
    bool no_memory;
} fused_job;

/* Prefetching. What a row reads or writes in memory (values forward wrote
 * steps ago, buffers fresh from the arena) is asked for into L2 this many
 * bytes' worth of rows ahead of the row that uses it. The hardware's own
 * prefetcher does not follow a row's several streams far enough: a
 * layer-norm LSTM's backward spent a tenth of its step waiting for the
 * 10 widths a row it had kept (bench_rnn --versus at hidden 128: 1.31 the
 * built-in step without, 1.26 with; the built-in kernel's one pass over a
 * row's gates runs into no such wait). */
enum { PREFETCH_BYTES = 16384 };

/* A run of a row's values in memory: where, how many, whether to be
 * written. */
typedef struct stream {
    const tg_real *p;
    int64_t n;
    bool write;
} stream;

/* Row r's runs in memory: in forward, its inputs' rows (but the product's,
 * just made) to be read, its results' and kept values' rows to be
 * written; in backward, its kept values and results to be read and its
 * inputs' gradients to be written. Returns how many. */
static int row_streams(const fused_job *j, int64_t r, bool backward, stream *s) {
    const fused_saved *sv = j->sv;
    const tg__fusion *f = sv->f;
    int n = 0;
    int64_t w = f->out[0].w;
    if (sv->kept && (backward || !f->recompute)) /* recompute: the product, just made */
        s[n++] = (stream){sv->kept + r * f->saved_w, f->saved_w, !backward};
    for (int k = 0; k < f->n_out && k < FUSE_MAX_OUT; k++) /* s holds no more */
        s[n++] = (stream){j->out + (k * j->B + r) * w, w, !backward};
    for (int i = 0; i < f->n_in; i++) {
        const tg_real *rows = backward ? j->gin[i] : sv->in[i];
        if (!f->bcast[i] && i != f->prod && rows)
            s[n++] = (stream){rows + r * f->in[i].w, f->in[i].w, backward};
    }
    return n;
}

/* Row r's runs asked for into L2. Inlined: GCC takes a function that
 * only prefetches for one without effects and drops its calls. */
static inline __attribute__((always_inline)) void prefetch_row(const fused_job *j, int64_t r,
                                                               bool backward) {
    stream s[1 + FUSE_MAX_OUT + FUSE_MAX_IN];
    int n = row_streams(j, r, backward, s);
    for (int k = 0; k < n; k++) {
        const char *c = (const char *)s[k].p;
        for (int64_t e = 0; e < s[k].n * (int64_t)sizeof(tg_real); e += 64) {
            if (s[k].write)
                __builtin_prefetch(c + e, 1, 2);
            else
                __builtin_prefetch(c + e, 0, 2);
        }
    }
}

/* Rows [first, last) run in order: the first rows asked for; returns how
 * many rows ahead each row then asks for one more. */
static int64_t prefetch_start(const fused_job *j, int64_t first, int64_t last, bool backward) {
    stream s[1 + FUSE_MAX_OUT + FUSE_MAX_IN];
    int64_t bytes = 0;
    for (int k = 0, n = row_streams(j, first, backward, s); k < n; k++)
        bytes += s[k].n * (int64_t)sizeof(tg_real);
    int64_t ahead = bytes ? (PREFETCH_BYTES + bytes - 1) / bytes : 0;
    for (int64_t r = first; r < first + ahead && r < last; r++) prefetch_row(j, r, backward);
    return ahead;
}

/* Row r's value pointers: each input's row (a broadcast input's vector),
 * the workspace, the constants. */
static void row_bases(const tg__fusion *f, const tg_real *const *in, int64_t r, tg_real *ws,
                      const tg_real **base) {
    for (int i = 0; i < f->n_in; i++)
        base[i] = in[i] ? in[i] + (f->bcast[i] ? 0 : r * f->in[i].w) : NULL;
    base[WS] = ws;
    base[CONSTS] = f->consts;
    base[KEPT] = NULL;
    for (int k = 0; k < FUSE_MAX_OUT; k++) base[OUT + k] = NULL;
}

/* (y and x are the workspace's or the kept values', which the row may
 * write: the bases are const for the values it only reads.) */
static void run_instr(const instr *c, const tg_real *const *base) {
    c->rule->fwd(c->n, c->k, AT(base, c->a), c->sa, c->b.w ? AT(base, c->b) : NULL, c->sb,
                 c->c.w ? AT(base, c->c) : NULL, (tg_real *)AT(base, c->y),
                 c->x.w ? (tg_real *)AT(base, c->x) : NULL);
}

/* The program forward over one row (code or its forward view). */
static void run_row(const instr *code, int n, const tg_real *const *base) {
    for (int k = 0; k < n; k++) run_instr(&code[k], base);
}

static void forward_part(void *ctx, int64_t lo, int64_t hi) {
    fused_job *j = ctx;
    const tg__fusion *f = j->sv->f;
    /* the workspace, then a row of kept values for a forward that keeps
     * none (no gradient) to write them in place into */
    tg_real *ws = malloc((size_t)(f->width + f->saved_w + 1) * sizeof *ws);
    if (!ws) {
        j->no_memory = true;
        return;
    }
    int64_t w = f->out[0].w, ahead = prefetch_start(j, lo, hi, false);
    const tg_real *base[FUSE_BASES];
    for (int64_t r = lo; r < hi; r++) {
        if (ahead && r + ahead < hi) prefetch_row(j, r + ahead, false);
        row_bases(f, j->sv->in, r, ws, base);
        tg_real *kept = j->sv->kept && !f->recompute ? j->sv->kept + r * f->saved_w : NULL;
        base[KEPT] = kept ? kept : ws + f->width;
        run_row(f->fwd ? f->fwd : f->code, f->n_code, base);
        for (int k = 0; k < f->n_out; k++)
            memcpy(j->out + (k * j->B + r) * w, AT(base, f->out[k]), (size_t)w * sizeof *ws);
        for (int k = 0; kept && k < f->n_saved; k++) { /* kept in place but the product's */
            const saved_run *s = &f->saved[k];
            if (!f->fwd || s->s.src != WS)
                memcpy(kept + s->at, AT(base, s->s), (size_t)s->s.w * sizeof *ws);
        }
    }
    free(ws);
}

/* Where row r of block blk adds each input's adjoint: its gradient's row,
 * the block's partial sum for a broadcast input, or NULL for an input that
 * wants none and for the constants (their shares are not computed). */
static void adjoint_bases(const fused_job *j, int64_t r, int64_t blk, tg_real *adj,
                          tg_real **abase) {
    const tg__fusion *f = j->sv->f;
    int64_t boff = 0;
    for (int i = 0; i < f->n_in; i++) {
        abase[i] = NULL;
        if (f->bcast[i]) {
            if (j->gin[i] && j->partial) abase[i] = j->partial + blk * f->bcast_w + boff;
            boff += f->in[i].w;
        } else if (j->gin[i]) {
            abase[i] = j->gin[i] + r * f->in[i].w;
        }
    }
    abase[WS] = adj;
    abase[CONSTS] = abase[KEPT] = NULL; /* and the results' rows: values only */
    for (int k = 0; k < FUSE_MAX_OUT; k++) abase[OUT + k] = NULL;
}

/* A row's scratch in backward: the workspace (with its kept values put
 * back, unless read in place), the product's row, the adjoints. */
typedef struct row_scratch {
    tg_real *ws, *prod, *adj;
} row_scratch;

/* Row r's adjoint: the kept values at hand, what is not kept computed again
 * (fuse_plan.c plan_remat: the back view reads results from the node's
 * output), the results' gradient seeded, then each instruction's rule in
 * reverse. A share into the workspace's adjoints (s->adj) is assigned
 * where it is the value's first in the row (fuse_plan.c plan_sets) and
 * added elsewhere, so they are never zeroed. */
static void adjoint_row(const fused_job *j, int64_t r, int64_t blk, const row_scratch *s) {
    const tg__fusion *f = j->sv->f;
    int64_t w = f->out[0].w;
    const tg_real *base[FUSE_BASES];
    tg_real *abase[FUSE_BASES];
    row_bases(f, j->sv->in, r, s->ws, base);
    for (int k = 0; k < f->n_out && k < FUSE_MAX_OUT; k++)
        base[OUT + k] = j->out + (k * j->B + r) * w;
    const tg_real *kept = j->sv->kept + r * f->saved_w;
    base[KEPT] = kept;
    base[f->prod] = f->recompute ? kept : s->prod; /* the kept product, or its kept part */
    for (int k = 0; !f->recompute && k < f->n_saved; k++) { /* read in place but the product's */
        const saved_run *v = &f->saved[k];
        tg_real *to = (v->s.src == WS ? s->ws : s->prod) + v->s.off;
        if (!f->fwd || v->s.src != WS) memcpy(to, kept + v->at, (size_t)v->s.w * sizeof *to);
    }
    if (f->recompute) run_row(f->code, f->n_code, base);
    for (int k = 0; k < f->n_redo; k++) run_instr(&f->back[f->redo[k]], base);
    adjoint_bases(j, r, blk, s->adj, abase);
    /* zeroed just before the adds, not assigned by the first: glibc zeroes
     * a row that size with `rep stosb`, which takes the lines without
     * reading them; plain stores into a buffer not in cache read each line
     * first (assigning the input gradients so was 1.5% slower a step) */
    for (int i = 0; i < f->n_in; i++)
        if (j->zero[i]) memset(abase[i], 0, (size_t)f->in[i].w * sizeof *s->adj);
    for (int k = 0; k < f->n_out; k++) {
        if (!abase[f->out[k].src]) continue; /* no gradient wanted there */
        tg_real *a = AT(abase, f->out[k]);
        const tg_real *g = j->gout + (k * j->B + r) * w;
        if (f->seed_set[k]) /* the first share there */
            memcpy(a, g, (size_t)w * sizeof *a);
        else
            for (int64_t e = 0; e < w; e++) a[e] += g[e];
    }
    for (int k = f->n_code - 1; k >= 0; k--) {
        const instr *c = &f->code[k], *v = &f->back[k]; /* where to add, where to read */
        bool two = c->b.w != 0, three = c->c.w != 0;
        tg_real *da = abase[c->a.src] ? AT(abase, c->a) : NULL;
        tg_real *db = two && abase[c->b.src] ? AT(abase, c->b) : NULL;
        tg_real *dc = three && abase[c->c.src] ? AT(abase, c->c) : NULL;
        if (da || db || dc)
            c->rule->bwd(c->n, c->k, AT(base, v->a), c->sa, two ? AT(base, v->b) : NULL, c->sb,
                         three ? AT(base, v->c) : NULL, AT(base, v->y),
                         v->x.w ? AT(base, v->x) : NULL, s->adj + c->y.off, da, db, dc, c->set);
    }
}

/* Blocks [lo, hi) of j->block rows each. The scratch starts zeroed: a
 * rule may load (and not use) a value nothing kept, and the adjoint of a
 * value nothing reads is zero. */
static void backward_part(void *ctx, int64_t lo, int64_t hi) {
    fused_job *j = ctx;
    const tg__fusion *f = j->sv->f;
    int64_t pw = f->in[f->prod].w;
    tg_real *m = calloc((size_t)(2 * f->width + pw + 1), sizeof *m);
    if (!m) {
        j->no_memory = true;
        return;
    }
    row_scratch s = {m, m + f->width, m + f->width + pw};
    int64_t first = lo * j->block, last = hi * j->block < j->B ? hi * j->block : j->B;
    int64_t ahead = prefetch_start(j, first, last, true);
    for (int64_t blk = lo; blk < hi; blk++) {
        int64_t r1 = (blk + 1) * j->block < j->B ? (blk + 1) * j->block : j->B;
        for (int64_t r = blk * j->block; r < r1; r++) {
            if (ahead && r + ahead < last) prefetch_row(j, r + ahead, true);
            adjoint_row(j, r, blk, &s);
        }
    }
    free(m);
}

/* Rows per thread part: fewer than this many workspace values do not pay
 * for waking a thread (as ops_rnn.c's kernels). */
static int64_t grain(const tg__fusion *f) {
    return f->width >= 8192 ? 1 : 8192 / (f->width ? f->width : 1);
}

/* in's shapes against the trace's: [B, w], or [w] for a broadcast one;
 * the product's x [B, k], W [w, k] and b [w]. */
static bool check_inputs(tg_tape *t, const tg__fusion *f, tg_tensor *const *in,
                         tg_tensor *const *prod, int64_t B) {
    char s[TG_SHAPE_STR_MAX];
    for (int i = 0; i < f->prod; i++) {
        bool ok = f->bcast[i] ? in[i]->ndim == 1 && in[i]->shape[0] == f->in[i].w
                              : in[i]->ndim == 2 && in[i]->shape[0] == B &&
                                    in[i]->shape[1] == f->in[i].w;
        if (!ok) {
            if (f->bcast[i])
                tg__fail(t, "tg__fused: input %d %s: expected [%lld]", i, TG_SHP(in[i], s),
                         (long long)f->in[i].w);
            else
                tg__fail(t, "tg__fused: input %d %s: expected [%lld,%lld]", i, TG_SHP(in[i], s),
                         (long long)B, (long long)f->in[i].w);
            return false;
        }
    }
    const tg_tensor *x = prod[0], *w = prod[1], *b = prod[2];
    int64_t pw = f->in[f->prod].w;
    if (x->ndim != 2 || x->shape[0] != B || w->ndim != 2 || w->shape[0] != pw ||
        w->shape[1] != x->shape[1] || (b && (b->ndim != 1 || b->shape[0] != pw))) {
        char sw[TG_SHAPE_STR_MAX];
        tg__fail(t, "tg__fused: the product's x %s and W %s: expected [%lld,k] and [%lld,k]",
                 TG_SHP(x, s), TG_SHP(w, sw), (long long)B, (long long)pw);
        return false;
    }
    return true;
}

/* The program's forward over the rows of in (the product's entry filled
 * by the caller), keeping what backward reads when sv->kept. */
static bool run_rows(tg_tape *t, const fused_saved *sv, tg_tensor *y, int64_t B) {
    fused_job j = {.sv = sv, .out = y->data, .B = B};
    tg__parallel_for(B, grain(sv->f), forward_part, &j);
    if (j.no_memory) tg__fail(t, "tg__fused: out of memory for a row's workspace");
    return !j.no_memory;
}

tg_tensor *tg__fused(tg_tape *t, const tg__fusion *f, tg_tensor *const *in,
                     tg_tensor *const *prod) {
    tg_tensor *rec[FUSE_MAX_IN + 3]; /* the node's inputs: in's, then x, W[, b] */
    int p = f->prod, n_rec = 0;
    for (int i = 0; i < p; i++) rec[n_rec++] = in[i];
    for (int i = 0; i < 3 && (i < 2 || prod[2]); i++) rec[n_rec++] = prod[i];
    if (!tg__begin(t, "tg__fused", n_rec, rec)) return NULL;
    if (f->why || p < 0) {
        tg__fail(t, "tg__fused: the step was not fused: %s", f->why ? f->why : "no product");
        return NULL;
    }
    int64_t B = in[0]->shape[0], w = f->out[0].w, pw = f->in[p].w;
    if (!check_inputs(t, f, in, prod, B)) return NULL;
    bool keeps = false; /* whether a node is recorded (tg__record's test) */
    for (int i = 0; i < n_rec; i++) keeps = keeps || rec[i]->requires_grad;
    keeps = keeps && tg_grad_enabled(t);
    fused_saved *sv = tg__alloc(t, sizeof *sv);
    const tg_real **data = tg__alloc(t, (size_t)f->n_in * sizeof *data);
    tg_real *kept = keeps ? tg__alloc(t, (size_t)(B * f->saved_w + 1) * sizeof *kept) : NULL;
    tg_tensor *y = tg__tensor(t, f->n_out == 1 ? TG_SHAPE(B, w) : TG_SHAPE(f->n_out, B, w));
    if (!sv || !data || !y || (keeps && !kept)) return NULL;
    for (int i = 0; i < p; i++) data[i] = tg__contig(t, in[i]);
    *sv = (fused_saved){.f = f, .in = data, .kept = kept, .px = tg__contig(t, prod[0])};
    /* the product: kept when backward recomputes from it, else a scratch
     * at the arena's end, given back once the rows have run if nothing was
     * allocated after it (no malloc and free of [B, G*H] a step: at 128 KB
     * glibc maps and unmaps it, a page fault per 4 KB) */
    tg__tape_mark before = tg__tape_mark_get(t);
    bool scratch = !(kept && f->recompute);
    tg_real *gh = scratch ? tg__alloc(t, (size_t)(B * pw + 1) * sizeof *gh) : kept;
    size_t end = tg__tape_mark_get(t).arena.used;
    if (!gh) tg__fail(t, "tg__fused: out of memory for the recurrent product");
    bool ok = gh && !tg__failed(t) && sv->px &&
              tg__linear_rows(t, sv->px, B, prod[1], prod[2], false, gh, &sv->pw, &sv->rsw,
                              &sv->csw);
    data[p] = gh;
    ok = ok && run_rows(t, sv, y, B);
    data[p] = NULL;
    if (scratch && tg__tape_mark_get(t).arena.used == end) tg__tape_release(t, before);
    if (!ok) return NULL;
    tg_node *n = tg__record(t, TG_OP_FUSED, y, n_rec, rec);
    if (n) n->saved = sv;
    return y;
}

/* Rows per block when broadcast inputs take gradients: a fixed number, so
 * the sums' order never depends on the threads. */
enum { BLOCK_ROWS = 8 };

/* The blocks' partial sums added into the broadcast inputs' gradients,
 * block by block in order. */
static void sum_blocks(const fused_job *j, int64_t blocks) {
    const tg__fusion *f = j->sv->f;
    int64_t boff = 0;
    for (int i = 0; i < f->n_in; i++) {
        if (!f->bcast[i]) continue;
        for (int64_t b = 0; j->gin[i] && b < blocks; b++) {
            const tg_real *p = j->partial + b * f->bcast_w + boff;
            for (int64_t e = 0; e < f->in[i].w; e++) j->gin[i][e] += p[e];
        }
        boff += f->in[i].w;
    }
}

/* Inputs {in..., x, W[, b]}: the program's adjoint into the inputs'
 * gradients and the product's (a scratch), then that one through x W^T + b
 * as tg_linear's backward sends it. The scratch (and the blocks' sums) go
 * back to the arena at the end, as the LSTM step's (ops_rnn.c): every
 * step's backward reuses the same memory, still in cache, and the tape
 * does not grow by a [B, G*H] buffer a step (a user's LSTM: 8 MB of
 * config (a)'s peak). */
void tg__fused_backward(tg_tape *t, tg_node *n) {
    const fused_saved *sv = n->saved;
    const tg__fusion *f = sv->f;
    int p = f->prod;
    tg_tensor *x = n->in[p], *w = n->in[p + 1], *b = n->n_in > p + 2 ? n->in[p + 2] : NULL;
    tg__tape_mark scratch = tg__tape_mark_get(t);
    tg_real **gin = tg__alloc(t, (size_t)f->n_in * sizeof *gin);
    bool *zero = tg__alloc(t, (size_t)f->n_in * sizeof *zero);
    if (!gin || !zero) return;
    bool sums = false;
    for (int i = 0; i < p; i++) { /* this op assigns (ops.def): fresh rows are zeroed per row */
        tg_tensor *in = n->in[i];
        gin[i] = in->requires_grad ? in->grad : NULL;
        zero[i] = gin[i] && !f->bcast[i] && tg__grad_first(in);
        if (gin[i] && f->bcast[i]) tg__grad_settle(in);
        sums = sums || (gin[i] && f->bcast[i]);
    }
    int64_t B = n->out->shape[n->out->ndim - 2], block = sums ? BLOCK_ROWS : 1;
    int64_t blocks = (B + block - 1) / block, pw = f->in[p].w;
    bool dprod = x->requires_grad || w->requires_grad || (b && b->requires_grad);
    /* the product's gradient: its twin's where that is fresh (the same
     * values, plan_twin), else a scratch */
    bool twin = dprod && f->twin >= 0 && zero[f->twin];
    tg_real *gprod = twin    ? gin[f->twin]
                     : dprod ? tg__alloc(t, (size_t)(B * pw) * sizeof *gprod)
                             : NULL;
    if (dprod && !gprod) return;
    gin[p] = twin ? NULL : gprod;
    zero[p] = gin[p] != NULL;
    fused_job j = {.sv = sv,
                   .out = n->out->data,
                   .gout = n->out->grad,
                   .gin = gin,
                   .zero = zero,
                   .B = B,
                   .block = block};
    if (sums) {
        j.partial = tg__alloc(t, (size_t)(blocks * f->bcast_w) * sizeof *j.partial);
        if (!j.partial) return;
        memset(j.partial, 0, (size_t)(blocks * f->bcast_w) * sizeof *j.partial);
    }
    int64_t g = grain(f) / block;
    tg__parallel_for(blocks, g ? g : 1, backward_part, &j);
    if (j.no_memory) {
        tg__fail(t, "tg__fused: out of memory for a row's workspace in backward");
        return;
    }
    if (sums) sum_blocks(&j, blocks);
    if (dprod) tg__linear_grads(t, x, sv->px, w, sv->pw, sv->rsw, sv->csw, b, gprod, B);
    tg__tape_release(t, scratch); /* nothing since the mark but this node's scratch */
}
