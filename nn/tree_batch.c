/* Batches of trees scheduled level by level (tree_batch.h). The schedule is
 * built in loops, never by recursion: every node's level from post-order
 * (children come first), a counting sort of the nodes by level, then two
 * passes over each level's edges: one to size its arrays, one to fill them. */
#include "tree_batch.h"

#include "../core/core.h"

#include <stdio.h>
#include <stdlib.h>

void tg_tree_batch_free(tg_tree_batch *b) {
    if (!b) return;
    free(b->trees);
    free(b->tree_start);
    free(b->roots);
    free(b->label);
    free(b->id);
    free(b->level_order);
    free(b->row);
    free(b->level_of);
    free(b->levels);
    free(b->pool);
    free(b);
}

void tg_tree_batch_where(const tg_tree_batch *b, int64_t i, char *buf, size_t n) {
    int lo = 0, hi = b->n_trees - 1; /* the last tree starting at or before i */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (b->tree_start[mid] <= i)
            lo = mid;
        else
            hi = mid - 1;
    }
    const tg_tree *tr = b->trees[lo];
    int64_t local = i - b->tree_start[lo];
    snprintf(buf, n, "trees[%d] line %d, column %d", lo, (int)tr->line[local], (int)tr->col[local]);
}

/* The batch index of the k-th child of batch node g (tree tr starting at s). */
#define CHILD(tr, s, g, k) ((s) + (tr)->child[(tr)->child_off[(g) - (s)] + (k)])

/* Scratch per level while the levels' arrays are laid out: a stamp (the
 * last level that saw it as a source), its source index within the current
 * level, and edge cursors. */
typedef struct scratch {
    int64_t *stamp, *sidx, *cursor;
} scratch;

static bool check_trees(const tg_tree *const *trees, int n, char *err, size_t errlen) {
    if (n < 1 || !trees) {
        tg_error_set(err, errlen, "tg_tree_batch_new: need at least one tree, got %d", n);
        return false;
    }
    for (int k = 0; k < n; k++)
        if (!trees[k] || trees[k]->n < 1) {
            tg_error_set(err, errlen, "tg_tree_batch_new: trees[%d] is %s", k,
                         trees[k] ? "empty" : "NULL");
            return false;
        }
    return true;
}

/* Numbers the nodes tree after tree and allocates the per-node arrays.
 * false when out of memory. */
static bool number_nodes(tg_tree_batch *b, const tg_tree *const *trees, int n) {
    b->n_trees = n;
    b->trees = malloc((size_t)n * sizeof *b->trees);
    b->tree_start = malloc((size_t)(n + 1) * sizeof *b->tree_start);
    b->roots = malloc((size_t)n * sizeof *b->roots);
    if (!b->trees || !b->tree_start || !b->roots) return false;
    int64_t N = 0;
    for (int k = 0; k < n; k++) {
        b->trees[k] = trees[k];
        b->tree_start[k] = N;
        N += trees[k]->n;
        b->roots[k] = N - 1;
    }
    b->tree_start[n] = N;
    b->n_nodes = N;
    b->label = malloc((size_t)N * sizeof *b->label);
    b->id = malloc((size_t)N * sizeof *b->id);
    b->level_order = malloc((size_t)N * sizeof *b->level_order);
    b->row = malloc((size_t)N * sizeof *b->row);
    b->level_of = malloc((size_t)N * sizeof *b->level_of);
    return b->label && b->id && b->level_order && b->row && b->level_of;
}

/* Every node's label, token id and level, and the batch's largest arity
 * and number of levels. false with a message for a token without an id. */
static bool set_levels(tg_tree_batch *b, char *err, size_t errlen) {
    int64_t max_level = 0;
    for (int k = 0; k < b->n_trees; k++) {
        const tg_tree *tr = b->trees[k];
        int64_t s = b->tree_start[k];
        for (int64_t i = 0; i < tr->n; i++) {
            int64_t g = s + i, lv = 0, nc = tr->child_off[i + 1] - tr->child_off[i];
            if (tr->token[i] && tr->id[i] < 0) {
                tg_error_set(
                    err, errlen,
                    "tg_tree_batch_new: trees[%d] line %d, column %d: token '%.40s' has no id "
                    "(map tokens with tg_tree_set_ids first)",
                    k, (int)tr->line[i], (int)tr->col[i], tr->token[i]);
                return false;
            }
            b->label[g] = tr->label[i];
            b->id[g] = tr->token[i] ? tr->id[i] : -1;
            for (int64_t c = 0; c < nc; c++) { /* post-order: children are done */
                int64_t lc = b->level_of[CHILD(tr, s, g, c)] + 1;
                if (lc > lv) lv = lc;
            }
            b->level_of[g] = lv;
            if (lv > max_level) max_level = lv;
            if (nc > b->max_arity) b->max_arity = (int)nc;
        }
    }
    b->n_levels = max_level + 1;
    return true;
}

/* A counting sort by level (stable, so batch order within a level): each
 * level's start, level_order and row. */
static void sort_by_level(tg_tree_batch *b, int64_t *cursor) {
    int64_t N = b->n_nodes, L = b->n_levels;
    for (int64_t g = 0; g < N; g++) b->levels[b->level_of[g]].n++;
    for (int64_t l = 0, at = 0; l < L; l++) b->levels[l].start = at, at += b->levels[l].n;
    for (int64_t l = 0; l < L; l++) cursor[l] = b->levels[l].start;
    for (int64_t g = 0; g < N; g++) {
        int64_t r = cursor[b->level_of[g]]++;
        b->level_order[r] = g, b->row[g] = r;
    }
}

/* The tree of batch node g, found from tree *k on (the nodes of a level
 * come in batch order, so *k only moves forward): its first node's batch
 * index in *s, g's number of children in *nc. */
static const tg_tree *tree_of(const tg_tree_batch *b, int64_t g, int *k, int64_t *s, int64_t *nc) {
    while (g >= b->tree_start[*k + 1]) ++*k;
    const tg_tree *tr = b->trees[*k];
    *s = b->tree_start[*k];
    *nc = tr->child_off[g - *s + 1] - tr->child_off[g - *s];
    return tr;
}

/* Pass 1: every level's arity, edges and source levels; returns the room
 * all the levels' arrays take in the pool. */
static int64_t size_levels(tg_tree_batch *b, int64_t *stamp) {
    int64_t total = 0, L = b->n_levels;
    for (int64_t l = 0; l < L; l++) stamp[l] = -1;
    for (int64_t l = 0; l < L; l++) {
        tg_tree_level *lv = &b->levels[l];
        int k = 0;
        for (int64_t p = 0; p < lv->n; p++) {
            int64_t g = b->level_order[lv->start + p], s, nc;
            const tg_tree *tr = tree_of(b, g, &k, &s, &nc);
            if (nc > lv->arity) lv->arity = (int)nc;
            lv->n_edges += nc;
            for (int64_t c = 0; c < nc; c++) {
                int64_t lc = b->level_of[CHILD(tr, s, g, c)];
                if (stamp[lc] != l) stamp[lc] = l, lv->n_src++;
            }
        }
        total += 2 * lv->n_src + 1 + 2 * lv->n_edges + 1 + (int64_t)lv->arity * lv->n;
    }
    return total;
}

/* Pass 2 for level l, whose arrays start at *at in the pool: edges grouped
 * by the level their child sits at (counted first, then placed). The
 * stamps must hold no l yet. */
static void fill_level(tg_tree_batch *b, int64_t l, int64_t **at, scratch *sc) {
    tg_tree_level *lv = &b->levels[l];
    lv->src_level = *at, *at += lv->n_src;
    lv->src_off = *at, *at += lv->n_src + 1;
    lv->src_row = *at, *at += lv->n_edges;
    lv->edge_parent = *at, *at += lv->n_edges + 1;
    lv->slot = *at, *at += (int64_t)lv->arity * lv->n;
    int ns = 0;
    for (int64_t i = 0; i < (int64_t)lv->arity * lv->n; i++) lv->slot[i] = lv->n_edges;
    for (int pass = 0; pass < 2; pass++) {
        int k = 0;
        for (int64_t p = 0; p < lv->n; p++) {
            int64_t g = b->level_order[lv->start + p], s, nc;
            const tg_tree *tr = tree_of(b, g, &k, &s, &nc);
            for (int64_t c = 0; c < nc; c++) {
                int64_t ch = CHILD(tr, s, g, c), lc = b->level_of[ch];
                if (pass == 0) { /* count edges per source level */
                    if (sc->stamp[lc] != l) {
                        sc->stamp[lc] = l, sc->sidx[lc] = ns;
                        lv->src_level[ns] = lc, lv->src_off[ns + 1] = 0, ns++;
                    }
                    lv->src_off[sc->sidx[lc] + 1]++;
                } else { /* place each edge within its source's group */
                    int64_t e = sc->cursor[sc->sidx[lc]]++;
                    lv->src_row[e] = b->row[ch] - b->levels[lc].start;
                    lv->edge_parent[e] = p;
                    lv->slot[c * lv->n + p] = e;
                }
            }
        }
        if (pass == 0) {
            lv->src_off[0] = 0;
            for (int si = 0; si < ns; si++) {
                lv->src_off[si + 1] += lv->src_off[si];
                sc->cursor[si] = lv->src_off[si];
            }
        }
    }
    lv->edge_parent[lv->n_edges] = 0;
}

/* The levels' arrays, in one pool. false when out of memory. */
static bool lay_out_levels(tg_tree_batch *b) {
    int64_t L = b->n_levels;
    b->levels = calloc((size_t)L, sizeof *b->levels);
    scratch sc = {malloc((size_t)L * sizeof *sc.stamp), malloc((size_t)L * sizeof *sc.sidx),
                  malloc((size_t)L * sizeof *sc.cursor)};
    bool ok = b->levels && sc.stamp && sc.sidx && sc.cursor;
    if (ok) {
        sort_by_level(b, sc.cursor);
        int64_t total = size_levels(b, sc.stamp);
        ok = (b->pool = malloc((size_t)(total > 0 ? total : 1) * sizeof *b->pool)) != NULL;
    }
    if (ok) {
        int64_t *at = b->pool;
        for (int64_t l = 0; l < L; l++) sc.stamp[l] = -1;
        for (int64_t l = 0; l < L; l++) fill_level(b, l, &at, &sc);
    }
    free(sc.stamp), free(sc.sidx), free(sc.cursor);
    return ok;
}

tg_tree_batch *tg_tree_batch_new(const tg_tree *const *trees, int n, char *err, size_t errlen) {
    if (!check_trees(trees, n, err, errlen)) return NULL;
    tg_tree_batch *b = calloc(1, sizeof *b);
    if (b && number_nodes(b, trees, n)) {
        if (!set_levels(b, err, errlen)) {
            tg_tree_batch_free(b);
            return NULL;
        }
        if (lay_out_levels(b)) return b;
    }
    tg_error_set(err, errlen, "tg_tree_batch_new: out of memory");
    tg_tree_batch_free(b);
    return NULL;
}
