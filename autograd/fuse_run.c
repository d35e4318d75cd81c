/* Fusion (fuse.h), the running half: a traced program (fuse_program.h) as
 * ONE tape node. Forward runs the program row by row (rows split over
 * threads). The node saves only its inputs; backward recomputes a row's
 * values and runs the program's adjoint, each instruction's rule in
 * reverse. A broadcast input's gradient (a cell's parameter) is summed
 * over rows per fixed block of rows, then the blocks in order, so it is
 * the same at every thread count. */
#include <stdlib.h>
#include <string.h>

#include "fuse_program.h"
#include "op.h"

typedef struct fused_saved {
    const tg__fusion *f;
    const tg_real **in; /* each input's rows (or its one vector), contiguous */
} fused_saved;

typedef struct fused_job {
    const fused_saved *sv;
    tg_real *out;        /* forward: [n_out, B, w] */
    const tg_real *gout; /* backward: the results' gradient */
    tg_real **gin;       /* backward: each input's gradient, or NULL */
    tg_real *partial;    /* backward: [blocks, bcast_w] broadcast inputs' sums, or NULL */
    int64_t B, block;    /* rows, and rows per block in backward */
    bool no_memory;
} fused_job;

/* Row r's value pointers: each input's row (a broadcast input's vector),
 * the workspace, the constants. */
static void row_bases(const tg__fusion *f, const tg_real *const *in, int64_t r, tg_real *ws,
                      const tg_real **base) {
    for (int i = 0; i < f->n_in; i++) base[i] = in[i] + (f->bcast[i] ? 0 : r * f->in[i].w);
    base[WS] = ws;
    base[CONSTS] = f->consts;
}

/* The program forward over one row, its results in ws. */
static void run_row(const tg__fusion *f, const tg_real *const *base, tg_real *ws) {
    for (int k = 0; k < f->n_code; k++) {
        const instr *c = &f->code[k];
        c->rule->fwd(c->n, c->k, AT(base, c->a), c->sa, c->b.w ? AT(base, c->b) : NULL, c->sb,
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
    const tg_real *base[FUSE_BASES];
    for (int64_t r = lo; r < hi; r++) {
        row_bases(f, j->sv->in, r, ws, base);
        run_row(f, base, ws);
        for (int k = 0; k < f->n_out; k++)
            memcpy(j->out + (k * j->B + r) * w, AT(base, f->out[k]), (size_t)w * sizeof *ws);
    }
    free(ws);
}

/* Where row r of block blk adds each input's adjoint: its gradient's row,
 * the block's partial sum for a broadcast input, or a scratch sink
 * (dummy) for an input that wants none and for the constants. */
static void adjoint_bases(const fused_job *j, int64_t r, int64_t blk, tg_real *adj,
                          tg_real *dummy, tg_real **abase) {
    const tg__fusion *f = j->sv->f;
    int64_t boff = 0;
    for (int i = 0; i < f->n_in; i++) {
        abase[i] = dummy;
        if (f->bcast[i]) {
            if (j->gin[i] && j->partial) abase[i] = j->partial + blk * f->bcast_w + boff;
            boff += f->in[i].w;
        } else if (j->gin[i]) {
            abase[i] = j->gin[i] + r * f->in[i].w;
        }
    }
    abase[WS] = adj;
    abase[CONSTS] = dummy;
}

/* Row r's adjoint: values recomputed, the results' gradient seeded, then
 * each instruction's rule in reverse (the rules only add). */
static void adjoint_row(const fused_job *j, int64_t r, int64_t blk, tg_real *ws, tg_real *adj,
                        tg_real *dummy) {
    const tg__fusion *f = j->sv->f;
    int64_t w = f->out[0].w;
    const tg_real *base[FUSE_BASES];
    tg_real *abase[FUSE_BASES];
    row_bases(f, j->sv->in, r, ws, base);
    run_row(f, base, ws);
    adjoint_bases(j, r, blk, adj, dummy, abase);
    memset(adj, 0, (size_t)f->width * sizeof *adj);
    for (int k = 0; k < f->n_out; k++) {
        tg_real *a = AT(abase, f->out[k]);
        const tg_real *g = j->gout + (k * j->B + r) * w;
        for (int64_t e = 0; e < w; e++) a[e] += g[e];
    }
    for (int k = f->n_code - 1; k >= 0; k--) {
        const instr *c = &f->code[k];
        bool two = c->b.w != 0;
        c->rule->bwd(c->n, c->k, AT(base, c->a), c->sa, two ? AT(base, c->b) : NULL, c->sb,
                     ws + c->y.off, adj + c->y.off, AT(abase, c->a), two ? AT(abase, c->b) : NULL);
    }
}

/* Blocks [lo, hi) of j->block rows each. */
static void backward_part(void *ctx, int64_t lo, int64_t hi) {
    fused_job *j = ctx;
    const tg__fusion *f = j->sv->f;
    tg_real *ws = malloc((size_t)(2 * f->width + f->scratch + 1) * sizeof *ws);
    if (!ws) {
        j->no_memory = true;
        return;
    }
    for (int64_t blk = lo; blk < hi; blk++) {
        int64_t r1 = (blk + 1) * j->block < j->B ? (blk + 1) * j->block : j->B;
        for (int64_t r = blk * j->block; r < r1; r++)
            adjoint_row(j, r, blk, ws, ws + f->width, ws + 2 * f->width);
    }
    free(ws);
}

/* Rows per thread part: fewer than this many workspace values do not pay
 * for waking a thread (as ops_rnn.c's kernels). */
static int64_t grain(const tg__fusion *f) {
    return f->width >= 8192 ? 1 : 8192 / (f->width ? f->width : 1);
}

/* in's shapes against the trace's: [B, w], or [w] for a broadcast one. */
static bool check_inputs(tg_tape *t, const tg__fusion *f, tg_tensor *const *in, int64_t B) {
    for (int i = 0; i < f->n_in; i++) {
        bool ok = f->bcast[i] ? in[i]->ndim == 1 && in[i]->shape[0] == f->in[i].w
                              : in[i]->ndim == 2 && in[i]->shape[0] == B &&
                                    in[i]->shape[1] == f->in[i].w;
        if (!ok) {
            char s[TG_SHAPE_STR_MAX];
            if (f->bcast[i])
                tg__fail(t, "tg__fused: input %d %s: expected [%lld]", i, TG_SHP(in[i], s),
                         (long long)f->in[i].w);
            else
                tg__fail(t, "tg__fused: input %d %s: expected [%lld,%lld]", i, TG_SHP(in[i], s),
                         (long long)B, (long long)f->in[i].w);
            return false;
        }
    }
    return true;
}

tg_tensor *tg__fused(tg_tape *t, const tg__fusion *f, tg_tensor *const *in) {
    if (!tg__begin(t, "tg__fused", f->n_in, in)) return NULL;
    if (f->why) {
        tg__fail(t, "tg__fused: the step was not fused: %s", f->why);
        return NULL;
    }
    int64_t B = in[0]->shape[0];
    if (!check_inputs(t, f, in, B)) return NULL;
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

void tg__fused_backward(tg_tape *t, tg_node *n) {
    const fused_saved *sv = n->saved;
    const tg__fusion *f = sv->f;
    tg_real **gin = tg__alloc(t, (size_t)n->n_in * sizeof *gin);
    if (!gin) return;
    bool sums = false;
    for (int i = 0; i < n->n_in; i++) {
        gin[i] = n->in[i]->requires_grad ? n->in[i]->grad : NULL;
        sums = sums || (gin[i] && f->bcast[i]);
    }
    int64_t B = n->out->shape[n->out->ndim - 2], block = sums ? BLOCK_ROWS : 1;
    int64_t blocks = (B + block - 1) / block;
    fused_job j = {.sv = sv, .gout = n->out->grad, .gin = gin, .B = B, .block = block};
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
}
