/* Classification over trees: losses and accuracy over the labelled nodes
 * (or roots) of a batch, and a whole classifier, embedding -> tree net
 * (treenet.h) -> linear head. */
#ifndef TG_TREE_CLASSIFIER_H
#define TG_TREE_CLASSIFIER_H

#include "treenet.h"

/* ---- classification heads ------------------------------------------------------ */
typedef enum tg_tree_target {
    TG_TREE_NODES, /* every labelled node: logits [N, C] in batch order */
    TG_TREE_ROOTS, /* the roots only: logits [n_trees, C] */
} tg_tree_target;

/* Cross-entropy over the labelled targets (nodes without a label are left
 * out, and so not counted in a mean). A label >= C is reported with where it
 * was read. A batch with no labelled target gives 0 for TG_SUM and is an
 * error for TG_MEAN (nothing to average). */
tg_tensor *tg_tree_loss(tg_tape *t, tg_tensor *logits, const tg_tree_batch *b,
                        tg_tree_target target, tg_reduction red);
/* Labelled targets whose largest logit is their label (ties: the first
 * maximum); *counted (may be NULL) receives the number of labelled targets.
 * -1 if logits has the wrong shape. */
int64_t tg_tree_correct(const tg_tensor *logits, const tg_tree_batch *b, tg_tree_target target,
                        int64_t *counted);

/* ---- a whole classifier: embedding -> tree net -> linear head ------------------ */
typedef struct tg_tree_classifier_options {
    tg_treenet_options net; /* input_size: the embedding's width (0: hidden_size) */
    int64_t vocab;          /* embedding rows (tg_tree_vocab_size) */
    int64_t classes;
    tg_tree_target target; /* which labels the loss trains on */
} tg_tree_classifier_options;

/* Parameters "embedding.weight", "tree.<cell parameters>", "head.weight",
 * "head.bias". */
typedef struct tg_tree_classifier {
    tg_module base; /* kind "tree_classifier" */
    tg_tree_classifier_options opt;
    tg_embedding *embed;
    tg_treenet *net;
    tg_linear_layer *head;
} tg_tree_classifier;

/* A tree net with a linear head over every node, or NULL with a message
 * in err. */
tg_tree_classifier *tg_tree_classifier_new(tg_tree_classifier_options o, tg_rng *init, char *err,
                                           size_t errlen);
/* logits for opt.target ([N, C] or [n_trees, C]) into *logits, and, if loss
 * is not NULL, the mean cross-entropy over the labelled targets into *loss.
 * Returns 0, or -1 with the tape's error set. */
int tg_tree_classifier_forward(tg_tape *t, tg_tree_classifier *m, const tg_tree_batch *b,
                               tg_tensor **logits, tg_tensor **loss);

#endif
