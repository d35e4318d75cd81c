/* Trees for recursive networks: a tree type, a reader for the bracketed
 * format of the Penn and Stanford Sentiment treebanks, token vocabularies,
 * and batches of trees scheduled level by level.
 *
 *     (3 (2 The) (4 (3 good) (2 movie)))
 *
 * The format, one tree per top-level bracket (trees may span lines; SST files
 * hold one per line; whitespace of any kind separates atoms):
 *
 *     tree := '(' [LABEL] [TOKEN] tree* ')'
 *
 * - A leaf (a node without subtrees) is (LABEL TOKEN). With
 *   leaf_labels_optional it may also be (TOKEN), a leaf without a label.
 * - An inner node is (LABEL tree ...) or, without a label, (tree ...). It may
 *   carry a token before its subtrees, (LABEL TOKEN tree ...): a head word as
 *   in a dependency tree, or an operator as in (7 + (3 3) (4 4)). A token at
 *   an inner node needs a label in front of it.
 * - LABEL is a non-negative decimal integer (a class); TOKEN is any run of
 *   characters other than whitespace and brackets (SST writes brackets
 *   inside text as -LRB- and -RRB-). Any arity is allowed.
 *
 * Nothing here recurses: the reader keeps its open brackets on an explicit
 * stack and numbers nodes as their ')' arrives, which is post-order, so a
 * 100,000-level tree reads like a flat one. Errors give line and column:
 *     "trees.txt: line 3, column 14: unmatched ')'" */
#ifndef TG_TREE_H
#define TG_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TG_TREE_NO_LABEL (-1)

/* One tree. Nodes are numbered in post-order: every child before its
 * parent, children left to right, the root last (n - 1). */
typedef struct tg_tree {
    int64_t n;           /* nodes, at least 1 */
    int64_t *label;      /* [n]: class, or TG_TREE_NO_LABEL */
    int64_t *child_off;  /* [n + 1]: node i's children are child[k] for k in
                          * [child_off[i], child_off[i + 1]), left to right */
    int64_t *child;      /* [n - 1] */
    int64_t *parent;     /* [n]: -1 at the root */
    const char **token;  /* [n]: the node's token, or NULL (owned by the tree) */
    int64_t *id;         /* [n]: token ids from tg_tree_set_ids; -1 until then
                          * and at nodes without a token */
    int32_t *line, *col; /* [n]: where the node's '(' was read (1-based) */
    int64_t height;      /* edges on the longest path from the root to a leaf */
    char *text;          /* storage of the tokens */
} tg_tree;

typedef struct tg_tree_read_options {
    bool leaf_labels_optional; /* accept (TOKEN) leaves (label TG_TREE_NO_LABEL) */
} tg_tree_read_options;

/* Every tree in a text. */
typedef struct tg_treebank {
    int64_t n;
    tg_tree **trees;
} tg_treebank;

/* Reads every tree in text[0 .. len). filename (may be NULL) prefixes the
 * messages. opt may be NULL (labels required at leaves). NULL with a message
 * in err (errlen bytes) on any error:
 *     "trees.txt: empty input: no tree"
 *     "trees.txt: line 1, column 1: '(' is never closed (the input ends at
 *      line 1, column 30 with 2 brackets open)"
 *     "trees.txt: line 2, column 14: unmatched ')'"
 *     "trees.txt: line 1, column 9: leaf (good) has no label: a leaf is
 *      (LABEL TOKEN)" */
tg_treebank *tg_treebank_parse(const char *text, size_t len, const char *filename,
                               const tg_tree_read_options *opt, char *err, size_t errlen);
/* The same for a file; messages start with the path. */
tg_treebank *tg_treebank_load(const char *path, const tg_tree_read_options *opt, char *err,
                              size_t errlen);
/* Frees the bank and its trees. */
void tg_treebank_free(tg_treebank *b);
/* Exactly one tree from a NUL-terminated string. */
tg_tree *tg_tree_parse(const char *text, const tg_tree_read_options *opt, char *err, size_t errlen);
/* Frees a tree from tg_tree_parse. */
void tg_tree_free(tg_tree *tr);

/* Writes the tree back in the bracketed format on one line (no newline):
 * reading the output gives the same tree. Returns 0, or -1 on a write error
 * or no memory. */
int tg_tree_write(FILE *f, const tg_tree *tr);

/* The largest label in the bank, or -1 when no node has one (a task with
 * labels 0..k has k + 1 classes). */
int64_t tg_treebank_max_label(const tg_treebank *b);

/* ---- vocabularies: token <-> id ------------------------------------------- */
typedef struct tg_tree_vocab tg_tree_vocab;

/* A vocabulary holding only "<unk>", id 0. NULL when out of memory. */
tg_tree_vocab *tg_tree_vocab_new(void);
/* Frees the vocabulary. */
void tg_tree_vocab_free(tg_tree_vocab *v);
/* The number of ids, "<unk>" included. */
int64_t tg_tree_vocab_size(const tg_tree_vocab *v);
/* The id of token: with add, a new token gets the next id; without, an
 * unknown token is 0 (<unk>). -1 when out of memory. */
int64_t tg_tree_vocab_id(tg_tree_vocab *v, const char *token, bool add);
/* The token of an id, or NULL when out of range. */
const char *tg_tree_vocab_token(const tg_tree_vocab *v, int64_t id);
/* Sets tr->id at every node with a token (see tg_tree_vocab_id). Returns 0
 * or -1 (out of memory). */
int tg_tree_set_ids(tg_tree *tr, tg_tree_vocab *v, bool add);
/* The same for every tree of the bank. */
int tg_treebank_set_ids(tg_treebank *b, tg_tree_vocab *v, bool add);

/* ---- batches: many trees, scheduled level by level ------------------------
 * The nodes of all trees in a batch are numbered tree after tree (tree k's
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
