/* Classification over trees: the cross-entropy and accuracy of a head's
 * logits against the labelled nodes or roots, and a ready-made classifier
 * (embedding -> tree net -> linear head). */
#include "tree_classifier.h"
#include "treenet_impl.h"

#include <stdlib.h>

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

/* ---- heads --------------------------------------------------------------------- */

/* The target label of each logits row, and the row's batch node. */
static int64_t target_label(const tg_tree_batch *b, tg_tree_target target, int64_t r,
                            int64_t *node) {
    *node = target == TG_TREE_ROOTS ? b->roots[r] : r;
    return b->label[*node];
}

static bool logits_ok(const tg_tensor *logits, const tg_tree_batch *b, tg_tree_target target) {
    int64_t rows = target == TG_TREE_ROOTS ? b->n_trees : b->n_nodes;
    return logits && logits->ndim == 2 && logits->shape[0] == rows && logits->shape[1] > 0;
}

tg_tensor *tg_tree_loss(tg_tape *t, tg_tensor *logits, const tg_tree_batch *b,
                        tg_tree_target target, tg_reduction red) {
    if (tg_tape_error(t)) return NULL;
    if (!b || !logits) {
        tg_tape_fail(t, "tg_tree_loss: %s is NULL", b ? "logits" : "batch");
        return NULL;
    }
    if (!logits_ok(logits, b, target)) {
        char s[TG_SHAPE_STR_MAX];
        bool roots = target == TG_TREE_ROOTS;
        tg_tape_fail(t, "tg_tree_loss: logits %s: expected [%lld, classes] (one row per %s)",
                     tg_shape_str(tg_tensor_shape(logits), s, sizeof s),
                     (long long)(roots ? b->n_trees : b->n_nodes), roots ? "tree" : "node");
        return NULL;
    }
    int64_t rows = logits->shape[0], C = logits->shape[1], count = 0;
    int64_t *targets = malloc((size_t)rows * sizeof *targets);
    if (!targets) {
        tg_tape_fail(t, "tg_tree_loss: out of memory");
        return NULL;
    }
    for (int64_t r = 0; r < rows; r++) {
        int64_t node, y = target_label(b, target, r, &node);
        if (y >= C) {
            char where[128];
            tg_tree_batch_where(b, node, where, sizeof where);
            tg_tape_fail(t, "tg_tree_loss: %s has label %lld, but the head has %lld classes", where,
                         (long long)y, (long long)C);
            free(targets);
            return NULL;
        }
        count += y != TG_TREE_NO_LABEL;
        targets[r] = y;
    }
    tg_tensor *loss = NULL;
    if (count == 0 && red == TG_MEAN)
        tg_tape_fail(t, "tg_tree_loss: no %s in the batch has a label (nothing to average)",
                     target == TG_TREE_ROOTS ? "root" : "node");
    else
        loss = tg_cross_entropy(t, logits, targets, red, TG_TREE_NO_LABEL);
    free(targets);
    return loss;
}

int64_t tg_tree_correct(const tg_tensor *logits, const tg_tree_batch *b, tg_tree_target target,
                        int64_t *counted) {
    if (counted) *counted = 0;
    if (!b || !logits_ok(logits, b, target)) return -1;
    int64_t rows = logits->shape[0], C = logits->shape[1], right = 0, n = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t node, y = target_label(b, target, r, &node);
        if (y == TG_TREE_NO_LABEL) continue;
        int64_t best = 0;
        for (int64_t j = 1; j < C; j++)
            if (tg_at(logits, r * C + j) > tg_at(logits, r * C + best)) best = j;
        right += best == y;
        n++;
    }
    if (counted) *counted = n;
    return right;
}

/* ---- the classifier --------------------------------------------------------------- */

tg_tree_classifier *tg_tree_classifier_new(tg_tree_classifier_options o, tg_rng *init, char *err,
                                           size_t errlen) {
    if (o.vocab <= 0)
        return FAIL("tree_classifier: vocab must be positive, got %lld", (long long)o.vocab);
    if (o.classes <= 0)
        return FAIL("tree_classifier: classes must be positive, got %lld", (long long)o.classes);
    if (o.target != TG_TREE_NODES && o.target != TG_TREE_ROOTS)
        return FAIL("tree_classifier: unknown target %d", (int)o.target);
    if (!init) return FAIL("tree_classifier: no random generator for the initial weights");
    if (o.net.input_size == 0) o.net.input_size = o.net.hidden_size;
    tg_treenet *net = tg_treenet_new(o.net, init, err, errlen);
    if (!net) return NULL;
    tg_tree_classifier *m = calloc(1, sizeof *m);
    if (!m) {
        tg_module_free(&net->base);
        return FAIL("tree_classifier: out of memory");
    }
    m->base.kind = "tree_classifier";
    m->base.training = true;
    m->opt = o;
    m->net = net;
    m->embed = tg_embedding_new(o.vocab, o.net.input_size, -1, init);
    m->head = tg_linear_layer_new(o.net.hidden_size, o.classes, true, init);
    tg_module *kids[3] = {m->embed ? &m->embed->base : NULL, &net->base,
                          m->head ? &m->head->base : NULL};
    const char *names[3] = {"embedding", "tree", "head"};
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        if (ok && kids[i]) {
            ok = tg_module_add_child(&m->base, names[i], kids[i]) == 0;
        } else {
            ok = false;
            tg_module_free(kids[i]); /* never adopted */
        }
    }
    if (!ok) {
        tg_module_free(&m->base);
        return FAIL("tree_classifier: out of memory");
    }
    return m;
}

int tg_tree_classifier_forward(tg_tape *t, tg_tree_classifier *m, const tg_tree_batch *b,
                               tg_tensor **logits, tg_tensor **loss) {
    *logits = NULL;
    if (loss) *loss = NULL;
    if (tg_tape_error(t)) return -1;
    if (!m || !b) {
        tg_tape_fail(t, "tg_tree_classifier_forward: %s is NULL", m ? "batch" : "module");
        return -1;
    }
    tg_treenet_result r;
    tg_tensor *x = b ? tg__tree_embed_rows(t, m->embed, b, b->level_order) : NULL;
    if (tg__treenet_run(t, m->net, b, x, true, false, &r) != 0) return -1;
    tg_tensor *feat = m->opt.target == TG_TREE_ROOTS ? r.root_h : r.h;
    *logits = tg_linear_layer_forward(t, m->head, feat);
    tg_label(t, *logits, "logits");
    if (loss) *loss = tg_tree_loss(t, *logits, b, m->opt.target, TG_MEAN);
    if (tg_tape_error(t)) {
        *logits = NULL;
        if (loss) *loss = NULL;
        return -1;
    }
    return 0;
}
