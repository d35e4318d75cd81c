/* Batches of trees scheduled level by level, for recursive nets
 * (treenet.h) that compute one level of all trees at once. */
#ifndef TG_TREE_BATCH_H
#define TG_TREE_BATCH_H

#include "tree.h"

/* The nodes of all trees in a batch are numbered tree after tree (tree k's
 * node i is tree_start[k] + i). A node's level is its height: 0 at the
 * leaves, 1 + the largest child's level above them. Every node of a level
 * depends only on lower levels, so a recursive net computes one level of
 * all trees at once: one matrix product per level instead of one per node,
 * and a loop, not a recursion, over the levels. Level-ordered rows list the
 * nodes level by level (within a level, in batch order). */
typedef struct tg_tree_level {
    int64_t n;            /* nodes at this level */
    int64_t start;        /* their first level-ordered row */
    int arity;            /* most children of any of them (0 at level 0) */
    int64_t n_edges;      /* their children, counted over all of them */
    int n_src;            /* distinct levels those children sit at */
    int64_t *src_level;   /* [n_src] */
    int64_t *src_off;     /* [n_src + 1]: edges [src_off[s], src_off[s + 1]) have
                           * their child at level src_level[s] */
    int64_t *src_row;     /* [n_edges]: each edge's child, as a row within its level */
    int64_t *edge_parent; /* [n_edges + 1]: each edge's parent as a row within this
                           * level (the extra last entry, 0, serves a padding edge) */
    int64_t *slot;        /* [arity * n]: slot[k * n + p] is the edge of node p's k-th
                           * child, or n_edges (the padding edge) if it has fewer */
} tg_tree_level;

typedef struct tg_tree_batch {
    int n_trees;
    int64_t n_nodes;
    const tg_tree **trees; /* [n_trees], borrowed: keep the trees alive */
    int64_t *tree_start;   /* [n_trees + 1] */
    int64_t *roots;        /* [n_trees]: each root's batch index */
    int64_t *label;        /* [n_nodes] */
    int64_t *id;           /* [n_nodes]: token id, -1 where the node has no token */
    int64_t *level_order;  /* [n_nodes]: batch index of each level-ordered row */
    int64_t *row;          /* [n_nodes]: level-ordered row of each node */
    int64_t *level_of;     /* [n_nodes]: each node's level */
    int max_arity;         /* most children of any node */
    int64_t n_levels;
    tg_tree_level *levels; /* [n_levels] */
    int64_t *pool;         /* storage of the levels' arrays */
} tg_tree_batch;

/* The schedule for n >= 1 trees. Every token must have an id
 * (tg_tree_set_ids). NULL with a message in err on failure, e.g.
 *     "tg_tree_batch_new: trees[2] line 1, column 4: token 'movie' has no id
 *      (map tokens with tg_tree_set_ids first)" */
tg_tree_batch *tg_tree_batch_new(const tg_tree *const *trees, int n, char *err, size_t errlen);
/* Frees the batch (not its trees). */
void tg_tree_batch_free(tg_tree_batch *b);
/* Where node i of the batch was read, as "trees[k] line L, column C", for
 * messages. */
void tg_tree_batch_where(const tg_tree_batch *b, int64_t i, char *buf, size_t n);

#endif
