/* Arithmetic expression trees: does a model that composes along the tree
 * generalise to deeper trees than it was trained on, better than a sequence
 * model reading the same expression left to right?
 *
 * Every expression is a binary tree over the digits 0-9 with +, - and *, and
 * every node is labelled with its value modulo 10, e.g. (2+3)*4:
 *
 *     (0 * (5 + (2 2) (3 3)) (4 4))          tree, as the Tree-LSTM reads it
 *     ( ( 2 + 3 ) * 4 )                      tokens, as the LSTM reads them
 *
 * Training trees are 1 to 6 levels deep; test trees are 1-6 (held out) and
 * 7-12 levels deep. Both models get the same supervision: the Tree-LSTM a
 * label at every node, the sequence LSTM the same label at the token where
 * that node's text ends (its digit, or its closing bracket). Accuracy is the
 * value of the whole expression (the root; the last token), mod 10.
 *
 * The Tree-LSTM is the binary N-ary Tree-LSTM of Tai, Socher and Manning
 * (2015): the operator is the input x at the inner node, the digits are the
 * inputs at the leaves, and the two children keep their positions (a - b is
 * not b - a). A batch of trees is computed level by level: every node of
 * every tree at one height goes through the cell in one matrix product.
 *
 *   arithmetic [epochs] [seed] [data_dir]
 *
 * With data_dir, the generated trees are also written there in the bracketed
 * format (train.txt, test_1-6.txt, test_7.txt, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tapegrad.h"

enum { EMBED = 32, HIDDEN = 64, BATCH = 32, EVAL_BATCH = 256, CLASSES = 10 };
enum { N_TRAIN = 20000, N_TEST = 1000, TRAIN_DEPTH = 6 };
static const double LR = 2e-3, CLIP = 5.0;
static const int TEST_DEPTHS[] = {0, 7, 8, 9, 10, 12}; /* 0: depths 1-6 */
#define N_SETS ((int)(sizeof TEST_DEPTHS / sizeof TEST_DEPTHS[0]))

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- data ------------------------------------------------------------------ */

typedef struct str {
    char *s;
    size_t n, cap;
} str;

static void put(str *b, const char *s) {
    size_t len = strlen(s);
    if (b->n + len + 1 > b->cap) {
        b->cap = 2 * (b->n + len + 1);
        b->s = realloc(b->s, b->cap);
        if (!b->s) exit(1);
    }
    memcpy(b->s + b->n, s, len + 1);
    b->n += len;
}

/* Appends an expression of depth exactly d to out and returns its value mod
 * 10. One child is d - 1 deep, the other 0 to d - 1 (so trees stay a few
 * dozen nodes). This recursion is bounded by d, at most a dozen. */
static int gen(tg_rng *r, int d, str *out) {
    char buf[32];
    if (d == 0) {
        int v = (int)tg_rng_below(r, 10);
        snprintf(buf, sizeof buf, "(%d %d)", v, v);
        put(out, buf);
        return v;
    }
    str kids[2] = {{0}, {0}};
    int deep = (int)tg_rng_below(r, 2), op = (int)tg_rng_below(r, 3), v[2];
    for (int k = 0; k < 2; k++) {
        put(&kids[k], "");
        v[k] = gen(r, k == deep ? d - 1 : (int)tg_rng_below(r, (uint64_t)d), &kids[k]);
    }
    int val = op == 0 ? v[0] + v[1] : op == 1 ? v[0] - v[1] + 10 : v[0] * v[1];
    snprintf(buf, sizeof buf, "(%d %c ", val % 10, "+-*"[op]);
    put(out, buf);
    put(out, kids[0].s);
    put(out, " ");
    put(out, kids[1].s);
    put(out, ")");
    free(kids[0].s);
    free(kids[1].s);
    return val % 10;
}

/* n trees of depth lo..hi (uniform), one per line, read back by the tree
 * reader; written to dir/name when dir is given. */
static tg_treebank *make_set(tg_rng *r, int n, int lo, int hi, const char *dir, const char *name) {
    str text = {0};
    put(&text, "");
    for (int i = 0; i < n; i++) {
        gen(r, lo + (int)tg_rng_below(r, (uint64_t)(hi - lo + 1)), &text);
        put(&text, "\n");
    }
    if (dir) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        if (!f || fputs(text.s, f) < 0 || fclose(f) != 0) perror(path);
    }
    char err[256];
    tg_treebank *b = tg_treebank_parse(text.s, text.n, name, NULL, err, sizeof err);
    if (!b) fprintf(stderr, "%s\n", err), exit(1);
    free(text.s);
    return b;
}

/* The expression left to right, "( a op b )", with the node's label at the
 * token where its text ends (its digit or its ')'), -1 elsewhere. An
 * explicit stack walks the tree (state 0: '(' and the left child, 1: the
 * operator and the right child, 2: ')'). Token ids: ( ) + - * and 5 + digit. */
static int64_t to_sequence(const tg_tree *tr, int64_t *ids, int64_t *labels) {
    int64_t n = 0, *stack = malloc((size_t)(tr->height + 1) * 2 * sizeof *stack), depth = 1;
    stack[0] = tr->n - 1, stack[1] = 0;
    while (depth > 0) {
        int64_t v = stack[2 * depth - 2], *state = &stack[2 * depth - 1];
        const int64_t *kid = tr->child + tr->child_off[v];
        if (tr->child_off[v + 1] == tr->child_off[v]) { /* a digit */
            ids[n] = 5 + (tr->token[v][0] - '0'), labels[n++] = tr->label[v];
            depth--;
        } else if (*state < 2) {
            if (*state == 0)
                ids[n] = 0, labels[n++] = -1;
            else
                ids[n] = tr->token[v][0] == '+'   ? 2
                         : tr->token[v][0] == '-' ? 3
                                                  : 4,
                labels[n++] = -1;
            stack[2 * depth] = kid[*state], stack[2 * depth + 1] = 0;
            (*state)++, depth++;
        } else {
            ids[n] = 1, labels[n++] = tr->label[v];
            depth--;
        }
    }
    free(stack);
    return n;
}

/* ---- the two models -------------------------------------------------------------- */

typedef struct seq_model {
    tg_embedding *embed;
    tg_rnn *lstm;
    tg_linear_layer *head;
} seq_model;

/* Logits [T*B, 10] for a batch of sequences laid out [T, B]. */
static tg_tensor *seq_logits(tg_tape *t, seq_model *m, const int64_t *ids, int64_t T, int64_t B,
                             const int64_t *lengths) {
    tg_tensor *x = tg_embedding_forward(t, m->embed, ids, TG_SHAPE(T, B));
    tg_rnn_result res;
    if (tg_rnn_forward(t, m->lstm, x, NULL, NULL, lengths, &res) != 0) return NULL;
    return tg_linear_layer_forward(t, m->head, tg_reshape(t, res.output, TG_SHAPE(T * B, HIDDEN)));
}

/* Sequences of trees[idx[0..B)] in [T, B] layout: ids, targets (-1 where no
 * label or past the end), lengths. Returns T. */
static int64_t seq_batch(tg_tree *const *trees, const int64_t *idx, int64_t B, int64_t **ids,
                         int64_t **targets, int64_t *lengths) {
    int64_t T = 0;
    for (int64_t b = 0; b < B; b++) {
        /* a binary tree of n nodes: n tokens and 2 brackets per inner node */
        lengths[b] = 2 * trees[idx[b]]->n - 1;
        if (lengths[b] > T) T = lengths[b];
    }
    *ids = calloc((size_t)(T * B), sizeof **ids);
    *targets = malloc((size_t)(T * B) * sizeof **targets);
    int64_t *one = malloc((size_t)T * sizeof *one), *lab = malloc((size_t)T * sizeof *lab);
    for (int64_t i = 0; i < T * B; i++) (*targets)[i] = -1;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = to_sequence(trees[idx[b]], one, lab);
        if (n != lengths[b]) fprintf(stderr, "not a binary tree\n"), exit(1);
        for (int64_t s = 0; s < n; s++) (*ids)[s * B + b] = one[s], (*targets)[s * B + b] = lab[s];
    }
    free(one);
    free(lab);
    return T;
}

static int64_t argmax(const tg_tensor *logits, int64_t row) {
    int64_t best = 0, C = logits->shape[1];
    for (int64_t j = 1; j < C; j++)
        if (logits->data[row * C + j] > logits->data[row * C + best]) best = j;
    return best;
}

typedef struct scores {
    int64_t root_right, roots, node_right, nodes;
} scores;

static scores eval_tree(tg_tape *t, tg_tree_classifier *m, const tg_treebank *set) {
    scores s = {0};
    bool was = tg_set_grad_enabled(t, false);
    for (int64_t at = 0; at < set->n; at += EVAL_BATCH) {
        int n = (int)(set->n - at < EVAL_BATCH ? set->n - at : EVAL_BATCH);
        char err[256];
        tg_tree_batch *b =
            tg_tree_batch_new((const tg_tree *const *)set->trees + at, n, err, sizeof err);
        tg_tape_reset(t);
        tg_tensor *logits;
        if (!b || tg_tree_classifier_forward(t, m, b, &logits, NULL) != 0)
            fprintf(stderr, "%s\n", b ? tg_tape_error(t) : err), exit(1);
        int64_t counted;
        s.node_right += tg_tree_correct(logits, b, TG_TREE_NODES, &counted);
        s.nodes += counted;
        for (int k = 0; k < n; k++)
            s.root_right += argmax(logits, b->roots[k]) == b->label[b->roots[k]];
        s.roots += n;
        tg_tree_batch_free(b);
    }
    tg_set_grad_enabled(t, was);
    return s;
}

static scores eval_seq(tg_tape *t, seq_model *m, const tg_treebank *set) {
    scores s = {0};
    bool was = tg_set_grad_enabled(t, false);
    int64_t idx[EVAL_BATCH], lengths[EVAL_BATCH];
    for (int64_t at = 0; at < set->n; at += EVAL_BATCH) {
        int64_t B = set->n - at < EVAL_BATCH ? set->n - at : EVAL_BATCH, *ids, *targets;
        for (int64_t b = 0; b < B; b++) idx[b] = at + b;
        int64_t T = seq_batch(set->trees, idx, B, &ids, &targets, lengths);
        tg_tape_reset(t);
        tg_tensor *logits = seq_logits(t, m, ids, T, B, lengths);
        if (!logits) fprintf(stderr, "%s\n", tg_tape_error(t)), exit(1);
        for (int64_t i = 0; i < T * B; i++) {
            if (targets[i] < 0) continue;
            int64_t right = argmax(logits, i) == targets[i];
            s.node_right += right, s.nodes++;
            if (i / B == lengths[i % B] - 1) s.root_right += right, s.roots++;
        }
        free(ids);
        free(targets);
    }
    tg_set_grad_enabled(t, was);
    return s;
}

static void shuffle(tg_rng *r, int64_t *a, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)tg_rng_below(r, (uint64_t)(i + 1)), v = a[i];
        a[i] = a[j], a[j] = v;
    }
}

static tg_tree *const *by_size_trees;
static int by_size(const void *a, const void *b) {
    int64_t na = by_size_trees[*(const int64_t *)a]->n, nb = by_size_trees[*(const int64_t *)b]->n;
    return (na > nb) - (na < nb);
}

/* Sorts order[] by tree size within consecutive windows. */
static void sort_windows(tg_tree *const *trees, int64_t *order, int64_t n, int64_t window) {
    by_size_trees = trees;
    for (int64_t at = 0; at < n; at += window)
        qsort(order + at, (size_t)(n - at < window ? n - at : window), sizeof *order, by_size);
}

static tg_optim *adam_for(tg_module *const *mods, int n_mods, tg_tensor ***params, int *n) {
    *n = 0;
    for (int i = 0; i < n_mods; i++) *n += tg_module_params(mods[i])->n;
    *params = malloc((size_t)*n * sizeof **params);
    int k = 0;
    for (int i = 0; i < n_mods; i++)
        for (int j = 0; j < tg_module_params(mods[i])->n; j++)
            (*params)[k++] = tg_module_params(mods[i])->items[j].tensor;
    return tg_optim_adam(*params, *n, (tg_adam_options){.lr = LR});
}

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 10;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    const char *dir = argc > 3 ? argv[3] : NULL;
    /* the products here are small ([~500, 96] x [96, 256] at most): one
     * thread beats waking several (set TG_THREADS to try more) */
    tg_set_threads(getenv("TG_THREADS") ? atoi(getenv("TG_THREADS")) : 1);
    tg_rng r;
    tg_rng_seed(&r, seed);

    /* data: a fixed seed gives the same trees every run */
    tg_treebank *train = make_set(&r, N_TRAIN, 1, TRAIN_DEPTH, dir, "train.txt");
    tg_treebank *tests[N_SETS];
    for (int k = 0; k < N_SETS; k++) {
        char name[32] = "test_1-6.txt";
        int d = TEST_DEPTHS[k];
        if (d) snprintf(name, sizeof name, "test_%d.txt", d);
        tests[k] = d ? make_set(&r, N_TEST, d, d, dir, name)
                     : make_set(&r, N_TEST, 1, TRAIN_DEPTH, dir, name);
    }
    tg_tree_vocab *vocab = tg_tree_vocab_new();
    tg_treebank_set_ids(train, vocab, true);
    for (int k = 0; k < N_SETS; k++) tg_treebank_set_ids(tests[k], vocab, false);
    int64_t train_nodes = 0;
    for (int64_t i = 0; i < train->n; i++) train_nodes += train->trees[i]->n;
    printf("data: %d training trees of depth 1-%d (%.1f nodes each), vocabulary %lld "
           "(<unk>, 10 digits, 3 operators)\n",
           N_TRAIN, TRAIN_DEPTH, (double)train_nodes / N_TRAIN,
           (long long)tg_tree_vocab_size(vocab));

    /* the Tree-LSTM: embedding -> binary N-ary Tree-LSTM -> linear, a label at every node */
    char err[256];
    tg_tree_classifier_options to = {.net = {TG_TREE_LSTM_NARY, EMBED, HIDDEN, 2},
                                     .vocab = tg_tree_vocab_size(vocab),
                                     .classes = CLASSES,
                                     .target = TG_TREE_NODES};
    tg_tree_classifier *tree = tg_tree_classifier_new(to, &r, err, sizeof err);
    if (!tree) fprintf(stderr, "%s\n", err), exit(1);
    /* the sequence LSTM: embedding -> LSTM -> linear, a label where a node's text ends */
    seq_model seq = {tg_embedding_new(15, EMBED, -1, &r), NULL,
                     tg_linear_layer_new(HIDDEN, CLASSES, true, &r)};
    seq.lstm =
        tg_rnn_new((tg_rnn_options){.mode = TG_LSTM, .input_size = EMBED, .hidden_size = HIDDEN},
                   &r, err, sizeof err);
    if (!seq.embed || !seq.lstm || !seq.head) fprintf(stderr, "seq model: %s\n", err), exit(1);
    tg_module *tree_mods[1] = {&tree->base};
    tg_module *seq_mods[3] = {&seq.embed->base, &seq.lstm->base, &seq.head->base};
    tg_tensor **tree_params, **seq_params;
    int n_tree_params, n_seq_params;
    tg_optim *tree_opt = adam_for(tree_mods, 1, &tree_params, &n_tree_params);
    tg_optim *seq_opt = adam_for(seq_mods, 3, &seq_params, &n_seq_params);
    printf("models: Tree-LSTM %lld parameters, sequence LSTM %lld parameters; Adam lr %g, "
           "batches of %d, %d epochs\n",
           (long long)tg_module_numel(&tree->base),
           (long long)(tg_module_numel(&seq.embed->base) + tg_module_numel(&seq.lstm->base) +
                       tg_module_numel(&seq.head->base)),
           LR, BATCH, epochs);

    tg_tape *t = tg_tape_new();
    int64_t *order = malloc(N_TRAIN * sizeof *order);
    for (int64_t i = 0; i < N_TRAIN; i++) order[i] = i;
    double tree_time = 0, seq_time = 0;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        shuffle(&r, order, N_TRAIN);
        double tree_loss = 0, seq_loss = 0, t0 = now();
        for (int64_t at = 0; at + BATCH <= N_TRAIN; at += BATCH) {
            const tg_tree *bt[BATCH];
            for (int k = 0; k < BATCH; k++) bt[k] = train->trees[order[at + k]];
            tg_tree_batch *b = tg_tree_batch_new(bt, BATCH, err, sizeof err);
            tg_tape_reset(t);
            tg_tensor *logits, *loss;
            if (!b || tg_tree_classifier_forward(t, tree, b, &logits, &loss) != 0)
                fprintf(stderr, "%s\n", b ? tg_tape_error(t) : err), exit(1);
            tg_optim_zero_grad(tree_opt);
            tg_backward(t, loss);
            tg_clip_grad_norm(tree_params, n_tree_params, CLIP, 2, NULL, NULL, 0);
            tg_optim_step(tree_opt);
            tree_loss += loss->data[0];
            tg_tree_batch_free(b);
        }
        double t1 = now();
        /* the LSTM pads every batch to its longest sequence: batch sequences
         * of similar length together (sorted within windows of 64 batches) */
        sort_windows(train->trees, order, N_TRAIN, 64 * BATCH);
        for (int64_t at = 0; at + BATCH <= N_TRAIN; at += BATCH) {
            int64_t *ids, *targets, lengths[BATCH];
            int64_t T = seq_batch(train->trees, order + at, BATCH, &ids, &targets, lengths);
            tg_tape_reset(t);
            tg_tensor *logits = seq_logits(t, &seq, ids, T, BATCH, lengths);
            tg_tensor *loss = tg_cross_entropy(t, logits, targets, TG_MEAN, -1);
            if (!loss) fprintf(stderr, "%s\n", tg_tape_error(t)), exit(1);
            tg_optim_zero_grad(seq_opt);
            tg_backward(t, loss);
            tg_clip_grad_norm(seq_params, n_seq_params, CLIP, 2, NULL, NULL, 0);
            tg_optim_step(seq_opt);
            seq_loss += loss->data[0];
            free(ids);
            free(targets);
        }
        double t2 = now();
        tree_time += t1 - t0, seq_time += t2 - t1;
        int steps = N_TRAIN / BATCH;
        scores ts = eval_tree(t, tree, tests[0]), ss = eval_seq(t, &seq, tests[0]);
        printf("epoch %2d  loss: tree %.4f  seq %.4f  |  depth 1-6 root accuracy: tree %.1f%%  "
               "seq %.1f%%  |  %.1f s, %.1f s\n",
               epoch, tree_loss / steps, seq_loss / steps, 100.0 * ts.root_right / ts.roots,
               100.0 * ss.root_right / ss.roots, t1 - t0, t2 - t1);
        fflush(stdout);
    }
    int64_t trained = (int64_t)epochs * (N_TRAIN / BATCH) * BATCH;
    if (epochs > 0)
        printf("\ntraining: Tree-LSTM %.1f s (%.0f trees/s), sequence LSTM %.1f s (%.0f trees/s)\n",
               tree_time, trained / tree_time, seq_time, trained / seq_time);

    printf("\naccuracy of the value mod 10 (root / every node), %d test trees per row\n", N_TEST);
    printf("%-10s %10s %8s | %17s | %17s | %8s\n", "depth", "nodes/tree", "tokens", "Tree-LSTM",
           "sequence LSTM", "majority");
    for (int k = 0; k < N_SETS; k++) {
        scores ts = eval_tree(t, tree, tests[k]), ss = eval_seq(t, &seq, tests[k]);
        int64_t nodes = 0, count[CLASSES] = {0}, most = 0;
        for (int64_t i = 0; i < tests[k]->n; i++) {
            const tg_tree *tr = tests[k]->trees[i];
            nodes += tr->n;
            count[tr->label[tr->n - 1]]++;
        }
        for (int c = 0; c < CLASSES; c++)
            if (count[c] > most) most = count[c];
        char name[16] = "1-6 (held)";
        if (TEST_DEPTHS[k]) snprintf(name, sizeof name, "%d", TEST_DEPTHS[k]);
        double per = (double)nodes / tests[k]->n;
        printf("%-10s %10.1f %8.1f | %6.1f%% / %6.1f%% | %6.1f%% / %6.1f%% | %7.1f%%\n", name, per,
               2 * per - 1, 100.0 * ts.root_right / ts.roots, 100.0 * ts.node_right / ts.nodes,
               100.0 * ss.root_right / ss.roots, 100.0 * ss.node_right / ss.nodes,
               100.0 * most / tests[k]->n);
    }

    tg_tape_free(t);
    tg_optim_free(tree_opt);
    tg_optim_free(seq_opt);
    free(tree_params);
    free(seq_params);
    free(order);
    tg_module_free(&tree->base);
    for (int i = 0; i < 3; i++) tg_module_free(seq_mods[i]);
    for (int k = 0; k < N_SETS; k++) tg_treebank_free(tests[k]);
    tg_treebank_free(train);
    tg_tree_vocab_free(vocab);
    return 0;
}
