/* Fusion (fuse.h), the planning half: once a step is traced into a
 * program (fuse.c), what backward keeps of each row from forward, what it
 * computes again instead, which adjoint writes assign, and whether the
 * product's gradient can be an input's. fuse_run.c follows the plan. */
#include <stdlib.h>
#include <string.h>

#include "fuse_program.h"
#include "op.h"

void *tg__fuse_keep(tg_tape *dst, const void *src, size_t bytes) {
    void *p = bytes ? tg__alloc(dst, bytes) : NULL;
    if (p) memcpy(p, src, bytes);
    return p;
}

/* Marks slot s in the row's workspace (marks[0]) or product (marks[1]). */
static void mark(const tg__fusion *f, char *const *marks, slot s) {
    char *m = s.src == WS ? marks[0] : s.src == f->prod ? marks[1] : NULL;
    if (m) memset(m + s.off, 1, (size_t)s.w);
}

/* The runs of marked values in m [w] from src, appended to runs. */
static int runs_of(const char *m, int64_t w, int src, saved_run *runs, int n, int64_t *at) {
    for (int64_t e = 0; e < w;) {
        if (!m[e]) {
            e++;
            continue;
        }
        int64_t e0 = e;
        while (e < w && m[e]) e++;
        runs[n++] = (saved_run){{src, e0, e - e0}, *at};
        *at += e - e0;
    }
    return n;
}

/* What the rematerialisation below works from: per workspace value, the
 * instruction that writes it (by) and the result it is served as (out_of:
 * k + 1 for result k, else 0); per instruction, whether it could run again
 * in backward (can) and whether it will (redo). */
typedef struct remat {
    int *by, *out_of;
    bool *can, *redo;
} remat;

/* Result k is served from its row of the node's output when an
 * instruction's result is exactly it (and writes nothing after it). */
static void served_results(const tg__fusion *f, remat *m) {
    for (int k = 0; k < f->n_out && k < FUSE_MAX_OUT; k++) {
        slot o = f->out[k];
        int p = o.src == WS && o.w ? m->by[o.off] : -1;
        const instr *c = p >= 0 ? &f->code[p] : NULL;
        if (!c || c->y.off != o.off || c->y.w != o.w || c->x.w || m->out_of[o.off])
            continue;
        for (int64_t e = 0; e < o.w; e++) m->out_of[o.off + e] = k + 1;
    }
}

/* Whether every value of s is at hand in backward before the adjoint runs:
 * an input's (the product is not kept whole), a constant, a served result,
 * or a workspace value in have. */
static bool at_hand(const tg__fusion *f, const remat *m, const char *have, slot s) {
    if (s.src != WS) return s.src != f->prod;
    for (int64_t e = s.off; e < s.off + s.w; e++)
        if (!have[e] && !m->out_of[e]) return false;
    return true;
}

/* Sets redo for p and, operand by operand, for every instruction it needs
 * run again first (each operand is served, kept or can itself run). */
static void need_run(const tg__fusion *f, remat *m, int p) {
    if (m->redo[p]) return;
    m->redo[p] = true;
    const instr *c = &f->code[p];
    slot ops[3] = {c->a, c->b, c->c};
    for (int q = 0; q < 3; q++)
        for (int64_t e = ops[q].off; ops[q].src == WS && e < ops[q].off + ops[q].w; e++)
            if (!m->out_of[e] && m->can[m->by[e]]) need_run(f, m, m->by[e]);
}

/* Rematerialisation: a value the adjoint reads is kept only when it cannot
 * be had otherwise. A step's result is read from the node's output (an
 * LSTM's c'), and an elementwise instruction whose operands are at hand
 * runs again in backward (tanh(c') from c', as the hand-written LSTM
 * does): elementwise work in cache costs less than a kept value's trip to
 * memory and back. A rule with extra values (a layer norm) does not run
 * again, nor what needs its result: a layer-norm LSTM keeps its gates
 * (running them again from the normalised product was 2% slower a step at
 * hidden 128, for 5 widths a row less). need (the workspace's marks) loses
 * what is not kept; f->redo and f->back say what backward runs and where
 * it reads. */
static bool plan_remat(tg_tape *dst, tg__fusion *f, char *need) {
    int64_t W = f->width;
    int n = f->n_code;
    int *by = malloc((size_t)(2 * W + 1) * sizeof *by);
    bool *flags = calloc((size_t)(2 * n + 1), sizeof *flags);
    char *have = calloc((size_t)W + 1, 1);
    f->back = tg__alloc(dst, (size_t)(n + 1) * sizeof *f->back);
    f->redo = tg__alloc(dst, (size_t)(n + 1) * sizeof *f->redo);
    bool ok = by && flags && have && f->back && f->redo;
    remat m = {by, by + W, flags, flags + n};
    for (int64_t e = 0; ok && e < W; e++) m.by[e] = -1, m.out_of[e] = 0;
    for (int k = 0; ok && k < n; k++) /* y, then x just after it (fuse.c) */
        for (int64_t e = 0; e < f->code[k].y.w + f->code[k].x.w; e++)
            m.by[f->code[k].y.off + e] = k;
    if (ok) served_results(f, &m);
    for (int k = 0; ok && k < n; k++) { /* in order: what backward could have */
        const instr *c = &f->code[k];
        m.can[k] = !c->rule->reduce && !c->x.w && at_hand(f, &m, have, c->a) &&
                   (!c->b.w || at_hand(f, &m, have, c->b)) &&
                   (!c->c.w || at_hand(f, &m, have, c->c));
        for (int64_t e = c->y.off; e < c->y.off + c->y.w + c->x.w; e++)
            have[e] = (char)(m.can[k] || need[e]);
    }
    for (int k = n - 1; ok && k >= 0; k--) { /* what the adjoint reads and nothing serves */
        const instr *c = &f->code[k];
        for (int64_t e = c->y.off; m.can[k] && e < c->y.off + c->y.w; e++)
            if (need[e] && !m.out_of[e]) need_run(f, &m, k);
    }
    for (int64_t e = 0; ok && e < W; e++) /* kept: read, not served, not run again */
        if (m.by[e] >= 0 && (m.out_of[e] || m.redo[m.by[e]])) need[e] = 0;
    for (int k = 0; ok && k < n; k++) {
        instr *b = &f->back[k];
        *b = f->code[k];
        slot *s[4] = {&b->a, &b->b, &b->c, &b->y};
        for (int q = 0; q < 4; q++) { /* a served result's values: its output row */
            int64_t e = s[q]->off;
            if (s[q]->src != WS || !s[q]->w || !m.out_of[e] || m.redo[m.by[e]]) continue;
            int r = m.out_of[e] - 1;
            *s[q] = (slot){OUT + r, e - f->out[r].off, s[q]->w};
        }
        if (m.redo[k]) f->redo[f->n_redo++] = k;
    }
    free(by), free(flags), free(have);
    return ok;
}

/* Slot s in the row's kept values (KEPT) when it lies wholly in one of
 * the workspace's kept runs; *apart when it lies partly in one. */
static void kept_slot(const saved_run *runs, int n, slot *s, bool *apart) {
    if (s->src != WS || !s->w) return;
    for (int k = 0; k < n; k++) {
        const slot *r = &runs[k].s;
        if (r->src != WS || s->off + s->w <= r->off || r->off + r->w <= s->off) continue;
        if (s->off < r->off || s->off + s->w > r->off + r->w) {
            *apart = true;
            return;
        }
        *s = (slot){KEPT, runs[k].at + s->off - r->off, s->w};
        return;
    }
}

/* The views of the program on a row's kept values in place: forward
 * writes each kept workspace value straight into the row's kept values
 * and backward reads it there, so neither copies it (copying a
 * layer-norm LSTM's 10 kept widths a row out of the workspace and back
 * was 3% of its step at hidden 128). Unless some slot lies partly in a
 * kept run, or a result in one: then code and back stay as they are, and
 * forward and backward copy. false when out of memory. */
static bool plan_in_place(tg_tape *dst, tg__fusion *f, const saved_run *runs, int n) {
    int nc = f->n_code;
    if (!nc) return true;
    instr *v = malloc((size_t)(2 * nc + 1) * sizeof *v), *fwd = v, *back = v ? v + nc : NULL;
    if (!v) return false;
    bool apart = false;
    for (int k = 0; k < f->n_out; k++) {
        slot o = f->out[k];
        kept_slot(runs, n, &o, &apart);
        apart = apart || o.src == KEPT; /* forward copies the results from the workspace */
    }
    for (int k = 0; k < nc; k++) {
        fwd[k] = f->code[k], back[k] = f->back[k];
        instr *views[2] = {&fwd[k], &back[k]};
        for (int q = 0; q < 2; q++) {
            slot *s[5] = {&views[q]->a, &views[q]->b, &views[q]->c, &views[q]->y, &views[q]->x};
            for (int e = 0; e < 5; e++) kept_slot(runs, n, s[e], &apart);
        }
    }
    if (!apart) {
        f->fwd = tg__fuse_keep(dst, fwd, (size_t)nc * sizeof *fwd);
        if (f->fwd) memcpy(f->back, back, (size_t)nc * sizeof *back);
    }
    free(v);
    return apart || f->fwd;
}

/* What backward keeps of a row: each instruction's operands and result its
 * rule reads (fuse_rules.h needs) that live in the workspace or the
 * product and that plan_remat cannot serve or compute again; the other
 * inputs are on the tape. An LSTM keeps 4 of its product's 4 widths, the
 * gates, as the hand-written kernel does; a layer-norm LSTM 10 and 2
 * values (the normalised product and cell, their s, the gates, the tanh of
 * the normalised cell). Unless that
 * is more than 3 times the product: then the product alone, and backward
 * runs the row forward again (a user's layer norm written from sub, mean,
 * sqrt...). false when out of memory. */
static bool plan_saved(tg_tape *dst, tg__fusion *f) {
    int64_t pw = f->prod >= 0 ? f->in[f->prod].w : 0;
    char *m = calloc((size_t)(f->width + pw + 1), 1);
    saved_run *runs = malloc((size_t)(f->width + pw + 1) * sizeof *runs);
    bool ok = m && runs;
    char *marks[2] = {m, m ? m + f->width : NULL};
    for (int k = 0; ok && k < f->n_code; k++) {
        const instr *c = &f->code[k];
        int needs = c->rule->needs;
        if (needs & TG__FUSE_A) mark(f, marks, c->a);
        if ((needs & TG__FUSE_B) && c->b.w) mark(f, marks, c->b);
        if ((needs & TG__FUSE_C) && c->c.w) mark(f, marks, c->c);
        if (needs & TG__FUSE_Y) mark(f, marks, c->y);
        if ((needs & TG__FUSE_X) && c->x.w) mark(f, marks, c->x);
    }
    ok = ok && plan_remat(dst, f, marks[0]);
    int n = 0;
    if (ok) n = runs_of(marks[0], f->width, WS, runs, n, &f->saved_w);
    if (ok) n = runs_of(marks[1], pw, f->prod, runs, n, &f->saved_w);
    /* more than 3 times the product: keep the product, recompute the rest */
    if (ok && pw && f->saved_w > 3 * pw) {
        runs[0] = (saved_run){{f->prod, 0, pw}, 0};
        n = 1, f->saved_w = pw, f->recompute = true;
        f->n_redo = 0;
        memcpy(f->back, f->code, (size_t)f->n_code * sizeof *f->code);
    }
    f->n_saved = n;
    if (ok && !f->recompute) ok = plan_in_place(dst, f, runs, n);
    f->saved = ok ? tg__fuse_keep(dst, runs, (size_t)n * sizeof *runs) : NULL;
    free(m), free(runs);
    return ok;
}

/* A row's adjoint writes in the order backward runs them: the results'
 * seeds, then each instruction's operands from the last instruction back,
 * a, b, c. */
typedef struct use {
    slot s;
    bool first;
} use;

static int uses_of(const tg__fusion *f, use *u) {
    int n = 0;
    for (int k = 0; k < f->n_out; k++) u[n++] = (use){f->out[k], false};
    for (int k = f->n_code - 1; k >= 0; k--) {
        u[n++] = (use){f->code[k].a, false};
        if (f->code[k].b.w) u[n++] = (use){f->code[k].b, false};
        if (f->code[k].c.w) u[n++] = (use){f->code[k].c, false};
    }
    return n;
}

static bool none_marked(const char *m, int64_t w) {
    for (int64_t e = 0; e < w; e++)
        if (m[e]) return false;
    return true;
}

/* Which writes to the workspace's adjoints assign: in a row, the first
 * write to each value assigns and later ones add, so the adjoints need no
 * zeroing between rows (a value nothing writes stays zero from the start).
 * The inputs' gradients are left to fuse_run.c (zeroed per row, then
 * added to). false when out of memory. */
static bool plan_sets(tg_tape *dst, tg__fusion *f) {
    char *wrote = calloc((size_t)f->width + 1, 1);
    use *u = malloc((size_t)(f->n_out + 3 * f->n_code + 1) * sizeof *u);
    f->seed_set = tg__alloc(dst, (size_t)f->n_out + 1);
    bool ok = wrote && u && f->seed_set;
    int n = ok ? uses_of(f, u) : 0;
    for (int q = 0; q < n; q++) {
        const slot *s = &u[q].s;
        if (s->src != WS) continue;
        u[q].first = none_marked(wrote + s->off, s->w);
        memset(wrote + s->off, 1, (size_t)s->w);
    }
    for (int q = 0; ok && q < f->n_out; q++) f->seed_set[q] = u[q].first;
    for (int k = f->n_code - 1, q = f->n_out; ok && k >= 0; k--) {
        instr *c = &f->code[k];
        c->set = u[q++].first ? TG__FUSE_SET_A : 0;
        if (c->b.w) c->set |= u[q++].first ? TG__FUSE_SET_B : 0;
        if (c->c.w) c->set |= u[q++].first ? TG__FUSE_SET_C : 0;
    }
    free(wrote), free(u);
    return ok;
}

/* Whether instruction c reads input i or the product p. */
static bool reads(const instr *c, int i, int p) {
    return c->a.src == i || c->a.src == p || (c->b.w && (c->b.src == i || c->b.src == p)) ||
           (c->c.w && (c->c.src == i || c->c.src == p));
}

/* Whether c adds input i and the product p element for element, at the
 * same place in both. */
static bool adds_twins(const instr *c, int i, int p) {
    bool pair = (c->a.src == i && c->b.src == p) || (c->a.src == p && c->b.src == i);
    return c->rule == tg__fuse_rule_of(TG_OP_ADD, 2) && pair && c->a.off == c->b.off &&
           c->a.w == c->b.w && c->sa == 1 && c->sb == 1;
}

/* The input whose gradient is the product's, element for element, or -1:
 * as wide as the product, and the two are read only by adds of one to the
 * other at the same place (an LSTM's gx + h W^T, gate by gate) and are no
 * result. Backward then sends that input's gradient through the product
 * when it is fresh, and keeps no gradient of the product (fuse_run.c). */
static int plan_twin(const tg__fusion *f) {
    int p = f->prod;
    for (int i = 0; p >= 0 && i < p; i++) {
        bool ok = !f->bcast[i] && f->in[i].w == f->in[p].w;
        for (int k = 0; ok && k < f->n_out; k++) ok = f->out[k].src != i && f->out[k].src != p;
        for (int k = 0; ok && k < f->n_code; k++)
            ok = !reads(&f->code[k], i, p) || adds_twins(&f->code[k], i, p);
        if (ok) return i;
    }
    return -1;
}

bool tg__fuse_plan(tg_tape *dst, tg__fusion *f) {
    if (!plan_saved(dst, f) || !plan_sets(dst, f)) return false;
    f->twin = plan_twin(f);
    return true;
}
