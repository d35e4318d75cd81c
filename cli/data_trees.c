/* tree data: trees in the bracketed format of the Penn and Stanford
 * Sentiment treebanks (nn/tree.h), "(3 (2 The) (4 (3 good) (2 movie)))",
 * usually one per line. Labels are class ids 0..C-1; a node may go
 * unlabelled, and a leaf may be just "(TOKEN)". Tokens are numbered in the
 * order they first appear in the training trees, after "<unk>" (id 0), up
 * to input.vocab ids when it is given; every other token, held-out trees'
 * and eval --data's included, reads as <unk>. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_util.h"

static int fail_at(char *err, size_t errlen, const cli_data *d, const tg_tree *tr, int64_t node,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail_at(char *err, size_t errlen, const cli_data *d, const tg_tree *tr, int64_t node,
                   const char *fmt, ...) {
    int n = snprintf(err, errlen, "%s: line %d, column %d: ", d->path, (int)tr->line[node],
                     (int)tr->col[node]);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* The vocabulary to number tokens with: the checkpoint's, or a new one. */
static tg_tree_vocab *vocab_from(const cli_data *d, const cli_vocab *known, char *err,
                                 size_t errlen) {
    tg_tree_vocab *v = tg_tree_vocab_new();
    if (!v) return snprintf(err, errlen, "out of memory"), NULL;
    if (!known) return v;
    const cli_strs *w = &known->words;
    if (w->n == 0 || strcmp(w->s[0], "<unk>") != 0) {
        snprintf(err, errlen, "%s: the checkpoint's vocabulary is not one of tree tokens", d->path);
        tg_tree_vocab_free(v);
        return NULL;
    }
    for (int64_t i = 1; i < w->n; i++)
        if (tg_tree_vocab_id(v, w->s[i], true) != i) {
            snprintf(err, errlen, "%s: the checkpoint's vocabulary repeats '%.60s'", d->path,
                     w->s[i]);
            tg_tree_vocab_free(v);
            return NULL;
        }
    return v;
}

/* Ids at every node with a token: training trees add new tokens while there
 * is room (cap, 0: no limit), everything else looks them up. */
static int number_tokens(cli_data *d, tg_tree_vocab *v, bool add, int64_t cap) {
    for (int64_t i = 0; i < d->n_seqs; i++) {
        tg_tree *tr = d->bank->trees[i];
        for (int64_t j = 0; j < tr->n; j++) {
            if (!tr->token[j]) continue;
            bool room = add && i < d->n_train && (!cap || tg_tree_vocab_size(v) < cap);
            if ((tr->id[j] = tg_tree_vocab_id(v, tr->token[j], room)) < 0) return -1;
        }
    }
    return 0;
}

/* Labels within the head, arities the tree layers take, and something for
 * the loss in every tree. */
static int check_trees(const cli_data *d, const tg_spec *s, char *err, size_t errlen) {
    int arity = 0, layer = -1; /* the smallest fixed arity of a tree layer */
    for (int k = 0; k < s->n_layers; k++)
        if (s->layers[k].arity && (!arity || s->layers[k].arity < arity))
            arity = s->layers[k].arity, layer = k;
    int64_t C = s->output_size;
    bool roots = s->tree_target == TG_TREE_ROOTS;
    for (int64_t i = 0; i < d->n_seqs; i++) {
        const tg_tree *tr = d->bank->trees[i];
        bool counted = false;
        for (int64_t j = 0; j < tr->n; j++) {
            int64_t y = tr->label[j], kids = tr->child_off[j + 1] - tr->child_off[j];
            if (y >= C)
                return fail_at(err, errlen, d, tr, j,
                               "label %lld, but the model has %lld classes (the last layer's "
                               "output), so labels go from 0 to %lld",
                               (long long)y, (long long)C, (long long)C - 1);
            if (arity && kids > arity)
                return fail_at(err, errlen, d, tr, j,
                               "a node with %lld children, but model.layers[%d] (%s) takes at "
                               "most %d",
                               (long long)kids, s->layers[layer].index,
                               tg_layer_type_name(s->layers[layer].type), arity);
            counted = counted || (y != TG_TREE_NO_LABEL && (!roots || j == tr->n - 1));
        }
        if (!counted)
            return fail_at(err, errlen, d, tr, tr->n - 1,
                           roots ? "the root has no label, and the loss counts the roots "
                                   "(loss.target)"
                                 : "no node of this tree has a label");
    }
    return 0;
}

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    tg_tree_read_options o = {.leaf_labels_optional = true};
    if (!(d->bank = tg_treebank_parse(text, (size_t)len, d->path, &o, err, errlen))) return -1;
    d->n_seqs = d->bank->n;
    d->n_train = cli_split(d->n_seqs, valid_fraction);
    tg_tree_vocab *v = vocab_from(d, known, err, errlen);
    if (!v) return -1;
    int rc = number_tokens(d, v, !known, s->vocab_given ? s->vocab : 0);
    for (int64_t i = 0; rc == 0 && !known && i < tg_tree_vocab_size(v); i++) {
        const char *tok = tg_tree_vocab_token(v, i);
        if (cli_strs_add(&d->vocab.words, tok, strlen(tok)) < 0) rc = -1;
    }
    tg_tree_vocab_free(v);
    if (rc) return snprintf(err, errlen, "%s: out of memory", d->path), -1;
    return check_trees(d, s, err, errlen);
}

static int fill(const cli_data *d, const tg_spec *s, const int64_t *idx, int64_t B, cli_batch *b,
                char *err, size_t errlen) {
    const tg_tree **trees = malloc((size_t)B * sizeof *trees);
    if (!trees) return snprintf(err, errlen, "out of memory"), -1;
    for (int64_t j = 0; j < B; j++) trees[j] = d->bank->trees[idx[j]];
    tg_tree_batch_free(b->trees);
    b->trees = tg_tree_batch_new(trees, (int)B, err, errlen);
    free(trees);
    if (!b->trees) return -1;
    const tg_tree_batch *t = b->trees;
    b->T = 1, b->B = B, b->lengths = NULL, b->reset = false, b->count = 0;
    if (s->tree_target == TG_TREE_ROOTS)
        for (int64_t j = 0; j < B; j++) b->count += t->label[t->roots[j]] != TG_TREE_NO_LABEL;
    else
        for (int64_t i = 0; i < t->n_nodes; i++) b->count += t->label[i] != TG_TREE_NO_LABEL;
    return 0;
}

const cli_reader cli_trees_reader = {.task = TG_TASK_TREE, .load = load, .fill = fill};
