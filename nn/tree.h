/* Trees for recursive networks: a tree type and a reader (and writer) for
 * the bracketed format of the Penn and Stanford Sentiment treebanks. Token
 * vocabularies are in tree_vocab.h, batches of trees scheduled level by
 * level in tree_batch.h.
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

#endif
