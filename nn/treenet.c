/* TreeRNN and Tree-LSTMs over batches of trees, level by level, from tape
 * ops, and node inputs from an embedding. The heads and the ready-made
 * classifier are in tree_classifier.c. */
#include "treenet.h"
#include "treenet_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_ARITY 16 /* N-ary weights grow as N^2 */

const char *tg_tree_cell_name(tg_tree_cell cell) {
    switch (cell) {
    case TG_TREE_RNN: return "tree_rnn";
    case TG_TREE_LSTM_CHILD_SUM: return "tree_lstm";
    case TG_TREE_LSTM_NARY: return "nary_tree_lstm";
    }
    return "?";
}

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

tg_treenet *tg_treenet_new(tg_treenet_options o, tg_rng *init, char *err, size_t errlen) {
    if (o.cell < TG_TREE_RNN || o.cell > TG_TREE_LSTM_NARY)
        return FAIL("treenet: unknown cell %d", (int)o.cell);
    const char *name = tg_tree_cell_name(o.cell);
    bool rnn = o.cell == TG_TREE_RNN;
    if (o.hidden_size <= 0)
        return FAIL("%s: hidden_size must be positive, got %lld", name, (long long)o.hidden_size);
    if (rnn && o.input_size == 0) o.input_size = o.hidden_size;
    if (o.input_size <= 0)
        return FAIL("%s: input_size must be positive, got %lld", name, (long long)o.input_size);
    if (rnn && o.input_size != o.hidden_size)
        return FAIL("%s: input_size %lld must equal hidden_size %lld (leaves are h = x)", name,
                    (long long)o.input_size, (long long)o.hidden_size);
    if (o.cell == TG_TREE_LSTM_CHILD_SUM && o.arity != 0)
        return FAIL("%s: arity %d: the child-sum Tree-LSTM takes any number of children "
                    "(arity is for tree_rnn and nary_tree_lstm)",
                    name, o.arity);
    if (o.cell != TG_TREE_LSTM_CHILD_SUM && o.arity == 0) o.arity = 2;
    if (o.cell != TG_TREE_LSTM_CHILD_SUM && (o.arity < 1 || o.arity > MAX_ARITY))
        return FAIL("%s: arity must be in 1..%d, got %d", name, MAX_ARITY, o.arity);
    if (!init) return FAIL("%s: no random generator for the initial weights", name);
    tg_treenet *m = calloc(1, sizeof *m);
    if (!m) return FAIL("%s: out of memory", name);
    m->base.kind = name;
    m->base.training = true;
    m->opt = o;
    int64_t H = o.hidden_size, I = o.input_size, N = o.arity;
    if (rnn) {
        m->weight_hh = tg_module_param(&m->base, "weight", TG_SHAPE(H, N * H));
        m->bias = tg_module_param(&m->base, "bias", TG_SHAPE(H));
    } else {
        int64_t rows_hh = o.cell == TG_TREE_LSTM_NARY ? (3 + N) * H : 4 * H;
        m->weight_ih = tg_module_param(&m->base, "weight_ih", TG_SHAPE(4 * H, I));
        m->weight_hh = tg_module_param(&m->base, "weight_hh",
                                       TG_SHAPE(rows_hh, o.cell == TG_TREE_LSTM_NARY ? N * H : H));
        m->bias = tg_module_param(&m->base, "bias", TG_SHAPE(4 * H));
    }
    if (!m->weight_hh || !m->bias || (!rnn && !m->weight_ih)) {
        tg_module_free(&m->base);
        return FAIL("%s: out of memory", name);
    }
    double bound = 1 / sqrt((double)(rnn ? N * H : H));
    for (int i = 0; i < m->base.n_owned; i++)
        tg_init_uniform(m->base.owned[i], init, -bound, bound);
    return m;
}

/* ---- the forward pass ---------------------------------------------------------- */

/* Children of batch node g. */
static int64_t n_children(const tg_tree_batch *b, int64_t g) {
    int k = 0;
    while (g >= b->tree_start[k + 1]) k++;
    const tg_tree *tr = b->trees[k];
    int64_t i = g - b->tree_start[k];
    return tr->child_off[i + 1] - tr->child_off[i];
}

/* What one level needs from the ones below: the states of its children,
 * gathered into edge order with a zero row appended (the padding edge). */
typedef struct gathered {
    tg_tensor *h, *c; /* [n_edges + 1, H] */
} gathered;

static gathered gather_children(tg_tape *t, const tg_tree_level *lv, tg_tensor **hs, tg_tensor **cs,
                                tg_tensor *zero_row, tg_tensor **pieces) {
    gathered g = {NULL, NULL};
    for (int which = 0; which < (cs ? 2 : 1); which++) {
        tg_tensor **src = which ? cs : hs;
        for (int s = 0; s < lv->n_src; s++) {
            int64_t from = lv->src_off[s], cnt = lv->src_off[s + 1] - from;
            pieces[s] = tg_index_select(t, src[lv->src_level[s]], 0, lv->src_row + from, cnt);
        }
        pieces[lv->n_src] = zero_row;
        tg_tensor *all = tg_concat(t, lv->n_src + 1, pieces, 0);
        if (which)
            g.c = all;
        else
            g.h = all;
    }
    return g;
}

/* Node p's k-th child's row of an edge-ordered tensor, for every p: [n, H]. */
static tg_tensor *slot(tg_tape *t, const tg_tree_level *lv, tg_tensor *edges, int k) {
    return tg_index_select(t, edges, 0, lv->slot + (int64_t)k * lv->n, lv->n);
}

/* c = i*u (+ sum), h = o*tanh(c), with the gate pre-activations given. */
static void lstm_out(tg_tape *t, tg_tensor *pi, tg_tensor *po, tg_tensor *pu, tg_tensor *fsum,
                     tg_tensor **h, tg_tensor **c) {
    tg_tensor *i = tg_sigmoid(t, pi), *o = tg_sigmoid(t, po), *u = tg_tanh(t, pu);
    tg_label(t, i, "input_gate");
    tg_label(t, o, "output_gate");
    tg_label(t, u, "update");
    *c = tg_mul(t, i, u);
    if (fsum) *c = tg_add(t, *c, fsum);
    tg_label(t, *c, "cell");
    *h = tg_mul(t, o, tg_tanh(t, *c));
    tg_label(t, *h, "hidden");
}

/* One level above the leaves. gx: [n, 4H] (LSTMs: W x + b) or [n, H]
 * (TreeRNN: x). */
static void level_step(tg_tape *t, const tg_treenet *m, const tg_tree_level *lv, tg_tensor *gx,
                       gathered ch, tg_tensor *zeros_nh, tg_tensor **h, tg_tensor **c) {
    int64_t H = m->opt.hidden_size;
    int N = m->opt.arity, K = lv->arity;
    tg_tensor *hk[MAX_ARITY];
    if (m->opt.cell != TG_TREE_LSTM_CHILD_SUM)
        for (int k = 0; k < N; k++) hk[k] = k < K ? slot(t, lv, ch.h, k) : zeros_nh;
    switch (m->opt.cell) {
    case TG_TREE_RNN: {
        tg_tensor *hcat = N == 1 ? hk[0] : tg_concat(t, N, hk, 1); /* [n, N*H] */
        *h = tg_tanh(t, tg_add(t, tg_linear(t, hcat, m->weight_hh, m->bias), gx));
        tg_label(t, *h, "hidden");
        break;
    }
    case TG_TREE_LSTM_CHILD_SUM: {
        tg_tensor *x4[4], *h3[3];
        tg_tensor *htil = slot(t, lv, ch.h, 0); /* sum over children */
        for (int k = 1; k < K; k++) htil = tg_add(t, htil, slot(t, lv, ch.h, k));
        tg_label(t, htil, "child_sum");
        tg_tensor *u_iou = tg_narrow(t, m->weight_hh, 0, 0, 3 * H);
        tg_tensor *u_f = tg_narrow(t, m->weight_hh, 0, 3 * H, H);
        if (tg_chunk(t, gx, 4, 1, x4) != 4 ||
            tg_chunk(t, tg_linear(t, htil, u_iou, NULL), 3, 1, h3) != 3)
            return;
        /* one forget gate per edge: W_f x of the edge's parent + U_f h_child */
        tg_tensor *xf = tg_index_select(t, x4[3], 0, lv->edge_parent, lv->n_edges + 1);
        tg_tensor *f = tg_sigmoid(t, tg_add(t, xf, tg_linear(t, ch.h, u_f, NULL)));
        tg_label(t, f, "forget_gates");
        tg_tensor *fc = tg_mul(t, f, ch.c); /* [n_edges + 1, H]; the padding row is 0 */
        tg_tensor *fsum = slot(t, lv, fc, 0);
        for (int k = 1; k < K; k++) fsum = tg_add(t, fsum, slot(t, lv, fc, k));
        lstm_out(t, tg_add(t, x4[0], h3[0]), tg_add(t, x4[1], h3[1]), tg_add(t, x4[2], h3[2]), fsum,
                 h, c);
        break;
    }
    case TG_TREE_LSTM_NARY: {
        tg_tensor *x4[4], *g[3 + MAX_ARITY];
        tg_tensor *hcat = N == 1 ? hk[0] : tg_concat(t, N, hk, 1); /* [n, N*H] */
        if (tg_chunk(t, gx, 4, 1, x4) != 4 ||
            tg_chunk(t, tg_linear(t, hcat, m->weight_hh, NULL), 3 + N, 1, g) != 3 + N)
            return;
        /* missing children have c = 0: their forget gates add nothing */
        tg_tensor *fsum = NULL;
        for (int k = 0; k < K; k++) {
            tg_tensor *f = tg_sigmoid(t, tg_add(t, x4[3], g[3 + k]));
            tg_label(t, f, "forget_gate");
            tg_tensor *fc = tg_mul(t, f, slot(t, lv, ch.c, k));
            fsum = fsum ? tg_add(t, fsum, fc) : fc;
        }
        lstm_out(t, tg_add(t, x4[0], g[0]), tg_add(t, x4[1], g[1]), tg_add(t, x4[2], g[2]), fsum, h,
                 c);
        break;
    }
    }
}

/* The leaves: TreeRNN h = x; LSTMs from W x + b alone. */
static void leaf_step(tg_tape *t, const tg_treenet *m, tg_tensor *gx, tg_tensor **h,
                      tg_tensor **c) {
    if (m->opt.cell == TG_TREE_RNN) {
        *h = gx;
        return;
    }
    tg_tensor *x4[4];
    if (tg_chunk(t, gx, 4, 1, x4) != 4) return;
    lstm_out(t, x4[0], x4[1], x4[2], NULL, h, c);
}

static bool check_forward(tg_tape *t, const tg_treenet *m, const tg_tree_batch *b, tg_tensor *x) {
    if (tg_tape_error(t)) return false;
    if (!m || !b || !x) {
        tg_tape_fail(t, "tg_treenet_forward: %s is NULL", !m ? "module" : !b ? "batch" : "x");
        return false;
    }
    const char *name = tg_tree_cell_name(m->opt.cell);
    if (x->ndim != 2 || x->shape[0] != b->n_nodes || x->shape[1] != m->opt.input_size) {
        char sx[TG_SHAPE_STR_MAX];
        tg_tape_fail(t, "tg_treenet_forward: %s: x %s: expected [%lld, %lld] (nodes, input_size)",
                     name, tg_shape_str(tg_tensor_shape(x), sx, sizeof sx), (long long)b->n_nodes,
                     (long long)m->opt.input_size);
        return false;
    }
    if (m->opt.cell != TG_TREE_LSTM_CHILD_SUM && b->max_arity > m->opt.arity) {
        for (int64_t g = 0; g < b->n_nodes; g++) {
            int64_t nc = n_children(b, g);
            if (nc <= m->opt.arity) continue;
            char where[128];
            tg_tree_batch_where(b, g, where, sizeof where);
            tg_tape_fail(t, "tg_treenet_forward: %s has arity %d, but %s has %lld children", name,
                         m->opt.arity, where, (long long)nc);
            return false;
        }
    }
    return true;
}

int tg__treenet_run(tg_tape *t, tg_treenet *m, const tg_tree_batch *b, tg_tensor *x,
                    bool x_in_level_order, bool want_c, tg_treenet_result *res) {
    *res = (tg_treenet_result){0};
    if (!check_forward(t, m, b, x)) return -1;
    bool lstm = m->opt.cell != TG_TREE_RNN;
    int64_t N = b->n_nodes, L = b->n_levels, H = m->opt.hidden_size;
    int max_src = 0;
    for (int64_t l = 0; l < L; l++)
        if (b->levels[l].n_src > max_src) max_src = b->levels[l].n_src;
    tg_tensor **hs = calloc((size_t)L, sizeof *hs), **cs = calloc((size_t)L, sizeof *cs);
    tg_tensor **pieces = calloc((size_t)max_src + 1, sizeof *pieces);
    int64_t *root_rows = malloc((size_t)b->n_trees * sizeof *root_rows);
    if (!hs || !cs || !pieces || !root_rows) {
        tg_tape_fail(t, "tg_treenet_forward: out of memory");
        goto done;
    }
    tg_scope_push(t, m->base.kind);
    /* every node's input share in one product, in level order */
    tg_tensor *xl = x_in_level_order ? x : tg_index_select(t, x, 0, b->level_order, N);
    tg_tensor *gx_all = lstm ? tg_linear(t, xl, m->weight_ih, m->bias) : xl; /* [N, 4H] or [N, H] */
    tg_tensor *zero_row = tg_zeros(t, TG_SHAPE(1, H));
    for (int64_t l = 0; l < L && !tg_tape_error(t); l++) {
        const tg_tree_level *lv = &b->levels[l];
        char name[32];
        snprintf(name, sizeof name, "level%lld", (long long)l);
        tg_scope_push(t, name);
        tg_tensor *gx = tg_narrow(t, gx_all, 0, lv->start, lv->n);
        if (l == 0) {
            leaf_step(t, m, gx, &hs[0], &cs[0]);
        } else {
            gathered ch = gather_children(t, lv, hs, lstm ? cs : NULL, zero_row, pieces);
            tg_tensor *zeros_nh = lv->arity < m->opt.arity ? tg_zeros(t, TG_SHAPE(lv->n, H)) : NULL;
            level_step(t, m, lv, gx, ch, zeros_nh, &hs[l], &cs[l]);
        }
        tg_scope_pop(t);
    }
    if (!tg_tape_error(t)) {
        /* back from level order to batch order */
        tg_tensor *h_lev = L == 1 ? hs[0] : tg_concat(t, (int)L, hs, 0);
        res->h = tg_index_select(t, h_lev, 0, b->row, N);
        for (int k = 0; k < b->n_trees; k++) root_rows[k] = b->row[b->roots[k]];
        res->root_h = tg_index_select(t, h_lev, 0, root_rows, b->n_trees);
        if (lstm && want_c) {
            tg_tensor *c_lev = L == 1 ? cs[0] : tg_concat(t, (int)L, cs, 0);
            res->c = tg_index_select(t, c_lev, 0, b->row, N);
        }
    }
    tg_scope_pop(t);
done:
    free(hs);
    free(cs);
    free(pieces);
    free(root_rows);
    if (tg_tape_error(t)) {
        *res = (tg_treenet_result){0};
        return -1;
    }
    return 0;
}

int tg_treenet_forward(tg_tape *t, tg_treenet *m, const tg_tree_batch *b, tg_tensor *x,
                       tg_treenet_result *res) {
    return tg__treenet_run(t, m, b, x, false, true, res);
}

tg_tensor *tg__tree_embed_rows(tg_tape *t, tg_embedding *emb, const tg_tree_batch *b,
                               const int64_t *order) {
    if (tg_tape_error(t)) return NULL;
    if (!emb || !b) {
        tg_tape_fail(t, "tg_tree_embed: %s is NULL", emb ? "batch" : "embedding");
        return NULL;
    }
    int64_t N = b->n_nodes, rows = emb->weight->shape[0];
    int64_t *ids = malloc((size_t)N * sizeof *ids);
    if (!ids) {
        tg_tape_fail(t, "tg_tree_embed: out of memory");
        return NULL;
    }
    bool masked = false;
    for (int64_t r = 0; r < N; r++) {
        int64_t g = order ? order[r] : r;
        if (b->id[g] >= rows) {
            char where[128];
            tg_tree_batch_where(b, g, where, sizeof where);
            tg_tape_fail(t, "tg_tree_embed: %s: token id %lld is outside the embedding's %lld rows",
                         where, (long long)b->id[g], (long long)rows);
            free(ids);
            return NULL;
        }
        masked |= b->id[g] < 0 || b->id[g] == emb->padding_idx;
        ids[r] = b->id[g] < 0 ? 0 : b->id[g];
    }
    tg_tensor *x = tg_index_select(t, emb->weight, 0, ids, N); /* [N, dim] */
    if (x && masked) { /* no token (or the padding token): a zero row, no gradient */
        tg_tensor *keep = tg_empty(t, TG_SHAPE(N, 1));
        if (keep) {
            for (int64_t r = 0; r < N; r++) {
                int64_t g = order ? order[r] : r;
                keep->data[r] = !(b->id[g] < 0 || b->id[g] == emb->padding_idx);
            }
            x = tg_mul(t, x, keep);
        }
    }
    free(ids);
    return tg_tape_error(t) ? NULL : x;
}

tg_tensor *tg_tree_embed(tg_tape *t, tg_embedding *emb, const tg_tree_batch *b) {
    return tg__tree_embed_rows(t, emb, b, NULL);
}
