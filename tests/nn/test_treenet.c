/* Tree nets: TreeRNN, Child-Sum and N-ary Tree-LSTM values against the
 * equations written out as per-node loops; gradient checks (double build) on
 * random trees of arity 1-4; a batch equal to its trees run one by one; a
 * 10,000-level tree forward and backward; embedding, heads, the classifier,
 * parameter names and error messages. PyTorch parity is in
 * test_treenet_parity.c. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static double sig(double v) {
    return 1 / (1 + exp(-v));
}

/* ---- the equations as loops, one node at a time in post-order ------------- */

/* h, c: [N, H] in batch order (c ignored for the RNN). */
static void ref_forward(const tg_treenet *m, const tg_tree_batch *b, const tg_real *x, double *h,
                        double *c) {
    int64_t H = m->opt.hidden_size, I = m->opt.input_size, N = m->opt.arity;
    const tg_real *wih = m->weight_ih ? m->weight_ih->data : NULL, *whh = m->weight_hh->data;
    const tg_real *bias = m->bias->data;
    double *gx = malloc((size_t)(4 * H) * sizeof *gx);
    double *gh = malloc((size_t)((3 + (N > 1 ? N : 1)) * H + 4 * H) * sizeof *gh);
    double *htil = malloc((size_t)H * sizeof *htil);
    for (int k = 0; k < b->n_trees; k++) {
        const tg_tree *tr = b->trees[k];
        int64_t s = b->tree_start[k];
        for (int64_t i = 0; i < tr->n; i++) {
            int64_t g = s + i, c0 = tr->child_off[i], nc = tr->child_off[i + 1] - c0;
            const tg_real *xg = x + g * I;
            double *hg = h + g * H, *cg = c ? c + g * H : NULL;
#define KID(l) (s + tr->child[c0 + (l)])
            if (m->opt.cell == TG_TREE_RNN) {
                for (int64_t j = 0; j < H; j++) {
                    if (nc == 0) {
                        hg[j] = xg[j];
                        continue;
                    }
                    double v = bias[j] + xg[j];
                    for (int64_t l = 0; l < nc; l++)
                        for (int64_t q = 0; q < H; q++)
                            v += whh[j * N * H + l * H + q] * h[KID(l) * H + q];
                    hg[j] = tanh(v);
                }
                continue;
            }
            for (int64_t r = 0; r < 4 * H; r++) {
                gx[r] = bias[r];
                for (int64_t q = 0; q < I; q++) gx[r] += wih[r * I + q] * xg[q];
            }
            if (m->opt.cell == TG_TREE_LSTM_CHILD_SUM) {
                for (int64_t q = 0; q < H; q++) {
                    htil[q] = 0;
                    for (int64_t l = 0; l < nc; l++) htil[q] += h[KID(l) * H + q];
                }
                for (int64_t r = 0; r < 3 * H; r++) {
                    gh[r] = 0;
                    for (int64_t q = 0; q < H; q++) gh[r] += whh[r * H + q] * htil[q];
                }
            } else {
                for (int64_t r = 0; r < (3 + N) * H; r++) {
                    gh[r] = 0;
                    for (int64_t l = 0; l < nc; l++)
                        for (int64_t q = 0; q < H; q++)
                            gh[r] += whh[r * N * H + l * H + q] * h[KID(l) * H + q];
                }
            }
            for (int64_t j = 0; j < H; j++) {
                double ig = sig(gx[j] + gh[j]), og = sig(gx[H + j] + gh[H + j]);
                double u = tanh(gx[2 * H + j] + gh[2 * H + j]);
                double cv = ig * u;
                for (int64_t l = 0; l < nc; l++) {
                    double pre = gx[3 * H + j];
                    if (m->opt.cell == TG_TREE_LSTM_CHILD_SUM)
                        for (int64_t q = 0; q < H; q++)
                            pre += whh[(3 * H + j) * H + q] * h[KID(l) * H + q];
                    else
                        pre += gh[(3 + l) * H + j];
                    cv += sig(pre) * c[KID(l) * H + j];
                }
                cg[j] = cv;
                hg[j] = og * tanh(cv);
            }
#undef KID
        }
    }
    free(gx);
    free(gh);
    free(htil);
}

/* ---- random trees ----------------------------------------------------------- */

/* Appends a random tree of at most `depth` levels and arity 1..max_arity;
 * tokens at every leaf and at some inner nodes. Recursion is fine here: the
 * depth is tiny. */
static void random_tree(tg_rng *r, int depth, int max_arity, char **at) {
    int label = (int)tg_rng_below(r, 5);
    if (depth == 0 || tg_rng_uniform(r) < 0.3) {
        *at += sprintf(*at, "(%d w%d)", label, (int)tg_rng_below(r, 6));
        return;
    }
    *at += sprintf(*at, "(%d", label);
    if (tg_rng_uniform(r) < 0.5) *at += sprintf(*at, " op%d", (int)tg_rng_below(r, 3));
    int k = 1 + (int)tg_rng_below(r, (uint64_t)max_arity);
    for (int i = 0; i < k; i++) {
        *at += sprintf(*at, " ");
        random_tree(r, depth - 1, max_arity, at);
    }
    *at += sprintf(*at, ")");
}

typedef struct fixture {
    tg_tree_vocab *vocab;
    tg_treebank *bank;
    tg_tree_batch *batch;
} fixture;

static fixture make_fixture(const char *text) {
    fixture f;
    char err[256] = "";
    f.vocab = tg_tree_vocab_new();
    f.bank = tg_treebank_parse(text, strlen(text), NULL, NULL, err, sizeof err);
    ck_assert_msg(f.bank != NULL, "%s: %s", text, err);
    ck_assert_int_eq(tg_treebank_set_ids(f.bank, f.vocab, true), 0);
    f.batch =
        tg_tree_batch_new((const tg_tree *const *)f.bank->trees, (int)f.bank->n, err, sizeof err);
    ck_assert_msg(f.batch != NULL, "%s", err);
    return f;
}

static void free_fixture(fixture *f) {
    tg_tree_batch_free(f->batch);
    tg_treebank_free(f->bank);
    tg_tree_vocab_free(f->vocab);
}

/* n random trees, one per line. */
static fixture random_fixture(uint64_t seed, int n, int depth, int max_arity) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    char *text = malloc(65536), *at = text;
    for (int i = 0; i < n; i++) {
        random_tree(&r, depth, max_arity, &at);
        *at++ = '\n';
    }
    *at = '\0';
    fixture f = make_fixture(text);
    free(text);
    return f;
}

static tg_treenet *make_net(tg_tree_cell cell, int64_t I, int64_t H, int N, uint64_t seed) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    char err[256] = "";
    tg_treenet *m = tg_treenet_new((tg_treenet_options){cell, I, H, N}, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    /* wider than the default init, so that every gate works away from 0.5 */
    for (int i = 0; i < m->base.n_owned; i++) tg_init_uniform(m->base.owned[i], &r, -0.8, 0.8);
    return m;
}

/* ---- values: the batch against the per-node loops ------------------------------ */
typedef struct cell_case {
    tg_tree_cell cell;
    int arity;     /* N (0 for child-sum) */
    int max_arity; /* of the random trees */
} cell_case;

static const cell_case CASES[] = {
    {TG_TREE_LSTM_CHILD_SUM, 0, 4},
    {TG_TREE_LSTM_NARY, 2, 2},
    {TG_TREE_LSTM_NARY, 4, 4},
    {TG_TREE_RNN, 2, 2},
    {TG_TREE_RNN, 4, 4},
    {TG_TREE_LSTM_NARY, 1, 1},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

START_TEST(values_against_loops) {
    const cell_case *cc = &CASES[_i];
    int64_t H = 3, I = cc->cell == TG_TREE_RNN ? 3 : 2;
    fixture f = random_fixture(10 + (uint64_t)_i, 6, 4, cc->max_arity);
    tg_treenet *m = make_net(cc->cell, I, H, cc->arity, 20 + (uint64_t)_i);
    int64_t N = f.batch->n_nodes;
    tg_rng r;
    tg_rng_seed(&r, 30);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(N, I), -1, 1);
    tg_treenet_result res;
    ck_assert_msg(tg_treenet_forward(t, m, f.batch, x, &res) == 0, "%s", tg_tape_error(t));
    double *h = malloc((size_t)(N * H) * sizeof *h), *c = malloc((size_t)(N * H) * sizeof *c);
    ref_forward(m, f.batch, x->data, h, cc->cell == TG_TREE_RNN ? NULL : c);
    ck_assert_int_eq(res.h->shape[0], N);
    ck_assert_int_eq(res.h->shape[1], H);
    ck_assert_tensor(res.h, h, TG_TOL);
    if (cc->cell == TG_TREE_RNN)
        ck_assert_ptr_null(res.c);
    else
        ck_assert_tensor(res.c, c, TG_TOL);
    ck_assert_int_eq(res.root_h->shape[0], f.batch->n_trees);
    for (int k = 0; k < f.batch->n_trees; k++)
        for (int64_t j = 0; j < H; j++)
            ck_assert_close(tg_at(res.root_h, k * H + j), h[f.batch->roots[k] * H + j], TG_TOL);
    free(h);
    free(c);
    tg_tape_free(t);
    tg_module_free(&m->base);
    free_fixture(&f);
}
END_TEST

/* ---- gradient checks ------------------------------------------------------------- */
typedef struct grad_ctx {
    tg_treenet *m;
    const tg_tree_batch *b;
} grad_ctx;

/* inputs: the module's parameters, then x [N, I] */
static tg_tensor *run_net(tg_tape *t, tg_tensor *const *in, void *ctx) {
    grad_ctx *g = ctx;
    int np = g->m->base.params.n;
    tg_treenet_result res;
    if (tg_treenet_forward(t, g->m, g->b, in[np], &res) != 0) return NULL;
    if (!res.c) return res.h;
    tg_tensor *hc[2] = {res.h, res.c};
    return tg_concat(t, 2, hc, 1); /* [N, 2H] */
}

START_TEST(gradcheck_random_trees) {
    const cell_case *cc = &CASES[_i];
    int64_t H = 3, I = cc->cell == TG_TREE_RNN ? 3 : 2;
    fixture f = random_fixture(40 + (uint64_t)_i, 3, 3, cc->max_arity);
    ck_assert_int_ge(f.batch->max_arity, cc->max_arity > 1 ? 2 : 1);
    tg_treenet *m = make_net(cc->cell, I, H, cc->arity, 50 + (uint64_t)_i);
    tg_rng r;
    tg_rng_seed(&r, 60);
    tg_tensor *in[4];
    int np = m->base.params.n;
    for (int i = 0; i < np; i++) in[i] = m->base.params.items[i].tensor;
    in[np] = test_param(&r, TG_SHAPE(f.batch->n_nodes, I));
    grad_ctx g = {m, f.batch};
    ck_assert_gradcheck(run_net, &g, np + 1, in);
    tg_tensor_free(in[np]);
    tg_module_free(&m->base);
    free_fixture(&f);
}
END_TEST

/* The whole classifier: embedding (with tokenless nodes), net, head, loss. */
typedef struct clf_ctx {
    tg_tree_classifier *m;
    const tg_tree_batch *b;
} clf_ctx;

static tg_tensor *run_classifier(tg_tape *t, tg_tensor *const *in, void *ctx) {
    (void)in; /* the inputs are the module's own parameters */
    clf_ctx *c = ctx;
    tg_tensor *logits, *loss;
    if (tg_tree_classifier_forward(t, c->m, c->b, &logits, &loss) != 0) return NULL;
    return loss;
}

START_TEST(gradcheck_classifier) {
    for (int target = 0; target < 2; target++) {
        fixture f = random_fixture(70 + (uint64_t)target, 3, 3, 3);
        tg_rng r;
        tg_rng_seed(&r, 80);
        char err[256] = "";
        tg_tree_classifier_options o = {
            .net = {TG_TREE_LSTM_CHILD_SUM, 2, 3, 0},
            .vocab = tg_tree_vocab_size(f.vocab),
            .classes = 5,
            .target = (tg_tree_target)target,
        };
        tg_tree_classifier *m = tg_tree_classifier_new(o, &r, err, sizeof err);
        ck_assert_msg(m != NULL, "%s", err);
        tg_tensor *in[8];
        int n = m->base.params.n;
        ck_assert_int_eq(n, 6);
        for (int i = 0; i < n; i++) in[i] = m->base.params.items[i].tensor;
        clf_ctx c = {m, f.batch};
        ck_assert_gradcheck(run_classifier, &c, n, in);
        tg_module_free(&m->base);
        free_fixture(&f);
    }
}
END_TEST

/* ---- batching: a batch is the same as its trees one at a time -------------------- */
START_TEST(batch_equals_single_trees) {
    const cell_case *cc = &CASES[_i];
    int64_t H = 4, I = cc->cell == TG_TREE_RNN ? 4 : 3;
    fixture f = random_fixture(90 + (uint64_t)_i, 5, 4, cc->max_arity);
    tg_treenet *m = make_net(cc->cell, I, H, cc->arity, 100);
    int64_t N = f.batch->n_nodes;
    tg_rng r;
    tg_rng_seed(&r, 110);
    tg_tensor *x = tg_tensor_new(TG_SHAPE(N, I));
    tg_init_uniform(x, &r, -1, 1);
    tg_tape *t = tg_tape_new();
    /* all at once: sum(h * w) for fixed weights w = 1 + node index / N */
    tg_treenet_result res;
    tg_tensor *xb = tg_from_array(t, TG_SHAPE(N, I), x->data);
    ck_assert_int_eq(tg_treenet_forward(t, m, f.batch, xb, &res), 0);
    tg_tensor *w = tg_arange(t, 0, (double)(N * H), 1);
    tg_tensor *loss = tg_sum(t, tg_mul(t, res.h, tg_reshape(t, w, TG_SHAPE(N, H))));
    tg_module_zero_grad(&m->base);
    ck_assert_int_eq(tg_backward(t, loss), 0);
    double total = (double)loss->data[0];
    double *hb = malloc((size_t)(N * H) * sizeof *hb);
    for (int64_t i = 0; i < N * H; i++) hb[i] = (double)tg_at(res.h, i);
    int np = m->base.params.n;
    tg_real *grads[3];
    for (int i = 0; i < np; i++) {
        tg_tensor *p = m->base.params.items[i].tensor;
        grads[i] = malloc((size_t)p->numel * sizeof(tg_real));
        memcpy(grads[i], p->grad, (size_t)p->numel * sizeof(tg_real));
    }
    /* one tree per batch, gradients accumulating */
    tg_module_zero_grad(&m->base);
    double sum = 0;
    for (int k = 0; k < f.batch->n_trees; k++) {
        tg_tape_reset(t);
        const tg_tree *one[1] = {f.batch->trees[k]};
        char err[256];
        tg_tree_batch *b1 = tg_tree_batch_new(one, 1, err, sizeof err);
        int64_t s = f.batch->tree_start[k], n = one[0]->n;
        tg_tensor *x1 = tg_from_array(t, TG_SHAPE(n, I), x->data + s * I);
        ck_assert_int_eq(tg_treenet_forward(t, m, b1, x1, &res), 0);
        for (int64_t i = 0; i < n * H; i++) ck_assert_close(tg_at(res.h, i), hb[s * H + i], TG_TOL);
        tg_tensor *w1 = tg_arange(t, (double)(s * H), (double)((s + n) * H), 1);
        tg_tensor *l1 = tg_sum(t, tg_mul(t, res.h, tg_reshape(t, w1, TG_SHAPE(n, H))));
        /* a one-leaf tree in a TreeRNN is h = x: no parameter involved */
        if (l1->requires_grad) ck_assert_int_eq(tg_backward(t, l1), 0);
        sum += (double)l1->data[0];
        tg_tree_batch_free(b1);
    }
    ck_assert_close(sum, total, TG_TOL * 10);
    for (int i = 0; i < np; i++) {
        tg_tensor *p = m->base.params.items[i].tensor;
        for (int64_t j = 0; j < p->numel; j++)
            ck_assert_close(p->grad[j], grads[i][j], 1e3 * TG_TOL);
        free(grads[i]);
    }
    free(hb);
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_module_free(&m->base);
    free_fixture(&f);
}
END_TEST

/* ---- a very deep tree ---------------------------------------------------------------- */

/* (1 (1 ... (1 (0 a) (0 b)) (0 b)) ...): `depth` levels, left-branching. */
static char *left_branching(int64_t depth) {
    size_t len = (size_t)depth * 10 + 16, at = 0;
    char *s = malloc(len);
    for (int64_t i = 0; i < depth; i++) at += (size_t)sprintf(s + at, "(1 ");
    at += (size_t)sprintf(s + at, "(0 a)");
    for (int64_t i = 0; i < depth; i++) at += (size_t)sprintf(s + at, " (0 b))");
    return s;
}

/* Forward and backward through 10,000 levels: no recursion to overflow the
 * stack. Values are checked against the per-node loops at every node; the
 * gradient of one bias element against a central difference (double). */
static const cell_case DEEP[] = {
    {TG_TREE_LSTM_CHILD_SUM, 0, 0}, {TG_TREE_LSTM_NARY, 2, 0}, {TG_TREE_RNN, 2, 0}};

START_TEST(deep_tree_forward_backward) {
    const cell_case *cc = &DEEP[_i];
    const int64_t D = 10000, H = 2, I = 2;
    char *text = left_branching(D);
    fixture f = make_fixture(text);
    free(text);
    ck_assert_int_eq(f.batch->n_levels, D + 1);
    tg_treenet *m = make_net(cc->cell, I, H, cc->arity, 120);
    int64_t N = f.batch->n_nodes;
    tg_rng r;
    tg_rng_seed(&r, 130);
    tg_tensor *x = tg_param_new(TG_SHAPE(N, I));
    tg_init_uniform(x, &r, -1, 1);
    tg_tape *t = tg_tape_new();
    tg_treenet_result res;
    ck_assert_msg(tg_treenet_forward(t, m, f.batch, x, &res) == 0, "%s", tg_tape_error(t));
    double *h = malloc((size_t)(N * H) * sizeof *h), *c = malloc((size_t)(N * H) * sizeof *c);
    ref_forward(m, f.batch, x->data, h, cc->cell == TG_TREE_RNN ? NULL : c);
    ck_assert_tensor(res.h, h, TG_TOL);
    tg_tensor *loss = tg_sum(t, res.root_h);
    ck_assert_int_eq(tg_backward(t, loss), 0);
    double g = (double)m->bias->grad[0];
    ck_assert(isfinite(g) && g != 0);
    /* the gradient reaches the deepest leaf's input (it may be tiny) */
    ck_assert(isfinite((double)x->grad[0]));
#ifdef TG_DOUBLE
    double eps = 1e-6, v = m->bias->data[0], lp, lm;
    m->bias->data[0] = v + eps;
    tg_tape_reset(t);
    tg_treenet_forward(t, m, f.batch, x, &res);
    lp = tg_sum(t, res.root_h)->data[0];
    m->bias->data[0] = v - eps;
    tg_tape_reset(t);
    tg_treenet_forward(t, m, f.batch, x, &res);
    lm = tg_sum(t, res.root_h)->data[0];
    m->bias->data[0] = v;
    ck_assert_close(g, (lp - lm) / (2 * eps), 1e-6);
#endif
    free(h);
    free(c);
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_module_free(&m->base);
    free_fixture(&f);
}
END_TEST

/* ---- embedding, heads, classifier -------------------------------------------------- */
START_TEST(embed_zero_rows) {
    fixture f = make_fixture("(1 op (0 a) (2 (1 b) (0 a)))");
    /* nodes: a, b, a, (b a), root(op) -> ids 1, 2, 1, -1, 3 */
    tg_rng r;
    tg_rng_seed(&r, 5);
    tg_embedding *e = tg_embedding_new(tg_tree_vocab_size(f.vocab), 3, -1, &r);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_tree_embed(t, e, f.batch);
    ck_assert_msg(x != NULL, "%s", tg_tape_error(t));
    ck_assert_int_eq(x->shape[0], 5);
    ck_assert_int_eq(x->shape[1], 3);
    const int64_t ids[5] = {1, 2, 1, -1, 3};
    for (int g = 0; g < 5; g++)
        for (int j = 0; j < 3; j++)
            ck_assert_close(tg_at(x, g * 3 + j), ids[g] < 0 ? 0 : e->weight->data[ids[g] * 3 + j],
                            TG_TOL);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), 0);
    /* row 0 (<unk>) stood in for the tokenless node: no gradient reaches it */
    const tg_real want[4] = {0, 2, 1, 1}; /* uses of each row */
    for (int row = 0; row < 4; row++)
        for (int j = 0; j < 3; j++)
            ck_assert_close(e->weight->grad[row * 3 + j], want[row], TG_TOL);
    /* an id past the embedding is named by where its token was read */
    tg_tape_reset(t);
    tg_embedding *small = tg_embedding_new(3, 3, -1, &r);
    ck_assert_ptr_null(tg_tree_embed(t, small, f.batch));
    ck_assert_str_eq(tg_tape_error(t), "tg_tree_embed: trees[0] line 1, column 1: token id 3 is "
                                       "outside the embedding's 3 rows");
    tg_module_free(&small->base);
    tg_tape_free(t);
    tg_module_free(&e->base);
    free_fixture(&f);
}
END_TEST

/* log(sum(exp(l))) - l[y] */
static double ce(const tg_real *l, int C, int y) {
    double s = 0;
    for (int j = 0; j < C; j++) s += exp((double)l[j]);
    return log(s) - (double)l[y];
}

START_TEST(heads_loss_and_accuracy) {
    /* labels in batch order: 2, -, 1 | 0 ; roots are nodes 2 and 3 */
    tg_tree_read_options o = {.leaf_labels_optional = true};
    char err[256] = "";
    const char *text = "(1 (2 a) (b))\n(0 c)";
    tg_treebank *tb = tg_treebank_parse(text, strlen(text), NULL, &o, err, sizeof err);
    ck_assert_msg(tb != NULL, "%s", err);
    tg_tree_vocab *v = tg_tree_vocab_new();
    tg_treebank_set_ids(tb, v, true);
    tg_tree_batch *b = tg_tree_batch_new((const tg_tree *const *)tb->trees, 2, err, sizeof err);
    ck_assert_int_eq(b->label[1], TG_TREE_NO_LABEL);
    tg_tape *t = tg_tape_new();
    const tg_real lv[12] = {0.5, -1, 2, 0.1, 0.2, 0.3, 1, 3, -2, 4, 0, 1};
    tg_tensor *logits = tg_from_array(t, TG_SHAPE(4, 3), lv);
    logits->requires_grad = true;
    tg_tensor *loss = tg_tree_loss(t, logits, b, TG_TREE_NODES, TG_MEAN);
    ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
    double want = (ce(lv, 3, 2) + ce(lv + 6, 3, 1) + ce(lv + 9, 3, 0)) / 3;
    ck_assert_close(loss->data[0], want, TG_TOL);
    ck_assert_int_eq(tg_backward(t, loss), 0);
    for (int j = 0; j < 3; j++) ck_assert_close(logits->grad[3 + j], 0, TG_TOL); /* unlabelled */
    loss = tg_tree_loss(t, logits, b, TG_TREE_NODES, TG_SUM);
    ck_assert_close(loss->data[0], 3 * want, TG_TOL);
    int64_t counted;
    /* argmax: row 0 -> 2 (right), row 2 -> 1 (right), row 3 -> 0 (right) */
    ck_assert_int_eq(tg_tree_correct(logits, b, TG_TREE_NODES, &counted), 3);
    ck_assert_int_eq(counted, 3);
    /* roots: logits rows are trees */
    tg_tensor *rl = tg_from_array(t, TG_SHAPE(2, 3), lv + 6);
    loss = tg_tree_loss(t, rl, b, TG_TREE_ROOTS, TG_MEAN);
    ck_assert_close(loss->data[0], (ce(lv + 6, 3, 1) + ce(lv + 9, 3, 0)) / 2, TG_TOL);
    ck_assert_int_eq(tg_tree_correct(rl, b, TG_TREE_ROOTS, &counted), 2);
    ck_assert_int_eq(counted, 2);
    const tg_real wrong[6] = {5, 0, 0, 0, 5, 0};
    ck_assert_int_eq(
        tg_tree_correct(tg_from_array(t, TG_SHAPE(2, 3), wrong), b, TG_TREE_ROOTS, NULL), 0);
    ck_assert_int_eq(tg_tree_correct(rl, b, TG_TREE_NODES, &counted), -1);
    /* errors */
    ck_assert_ptr_null(tg_tree_loss(t, rl, b, TG_TREE_NODES, TG_MEAN));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_tree_loss: logits [2,3]: expected [4, classes] (one row per node)");
    tg_tape_reset(t);
    tg_tensor *two = tg_from_array(t, TG_SHAPE(4, 2), lv);
    ck_assert_ptr_null(tg_tree_loss(t, two, b, TG_TREE_NODES, TG_MEAN));
    ck_assert_str_eq(tg_tape_error(t), "tg_tree_loss: trees[0] line 1, column 4 has label 2, but "
                                       "the head has 2 classes");
    tg_tape_free(t);
    tg_tree_batch_free(b);
    tg_treebank_free(tb);

    /* no labelled node: a mean has nothing to average, a sum is 0 */
    tb = tg_treebank_parse("((a) (b))", 9, NULL, &o, err, sizeof err);
    tg_treebank_set_ids(tb, v, true);
    b = tg_tree_batch_new((const tg_tree *const *)tb->trees, 1, err, sizeof err);
    t = tg_tape_new();
    tg_tensor *l3 = tg_from_array(t, TG_SHAPE(3, 3), lv);
    loss = tg_tree_loss(t, l3, b, TG_TREE_NODES, TG_SUM);
    ck_assert_close(loss->data[0], 0, TG_TOL);
    ck_assert_ptr_null(tg_tree_loss(t, l3, b, TG_TREE_NODES, TG_MEAN));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_tree_loss: no node in the batch has a label (nothing to average)");
    tg_tape_free(t);
    tg_tree_batch_free(b);
    tg_treebank_free(tb);
    tg_tree_vocab_free(v);
}
END_TEST

START_TEST(classifier_learns_a_tiny_task) {
    /* the root's label is the token of its left leaf: a few Adam steps fit it */
    const char *text = "(0 (0 a) (1 b))\n(1 (1 b) (0 a))\n(2 (2 c) (0 a))\n(0 (0 a) (2 c))\n"
                       "(1 (1 b) (2 c))\n(2 (2 c) (1 b))";
    fixture f = make_fixture(text);
    tg_rng r;
    tg_rng_seed(&r, 7);
    char err[256] = "";
    tg_tree_classifier_options o = {.net = {TG_TREE_LSTM_NARY, 8, 8, 2},
                                    .vocab = tg_tree_vocab_size(f.vocab),
                                    .classes = 3,
                                    .target = TG_TREE_ROOTS};
    tg_tree_classifier *m = tg_tree_classifier_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    const tg_params *p = tg_module_params(&m->base);
    const char *names[] = {"embedding.weight", "tree.weight_ih", "tree.weight_hh",
                           "tree.bias",        "head.weight",    "head.bias"};
    ck_assert_int_eq(p->n, 6);
    for (int i = 0; i < 6; i++) ck_assert_str_eq(p->items[i].name, names[i]);
    tg_tensor *params[6];
    for (int i = 0; i < 6; i++) params[i] = p->items[i].tensor;
    tg_optim *opt = tg_optim_adam(params, 6, (tg_adam_options){.lr = 0.05});
    tg_tape *t = tg_tape_new();
    double first = 0, last = 0;
    for (int step = 0; step < 60; step++) {
        tg_tape_reset(t);
        tg_tensor *logits, *loss;
        ck_assert_int_eq(tg_tree_classifier_forward(t, m, f.batch, &logits, &loss), 0);
        if (step == 0) first = loss->data[0];
        last = loss->data[0];
        tg_optim_zero_grad(opt);
        ck_assert_int_eq(tg_backward(t, loss), 0);
        tg_optim_step(opt);
    }
    ck_assert_msg(last < 0.05 && first > 0.5, "loss %g -> %g", first, last);
    tg_tape_reset(t);
    tg_tensor *logits;
    tg_tree_classifier_forward(t, m, f.batch, &logits, NULL);
    ck_assert_int_eq(tg_tree_correct(logits, f.batch, TG_TREE_ROOTS, NULL), 6);
    tg_tape_free(t);
    tg_optim_free(opt);
    tg_module_free(&m->base);
    free_fixture(&f);
}
END_TEST

/* ---- parameters and errors ------------------------------------------------------------ */
START_TEST(parameter_names_and_shapes) {
    tg_treenet *m = make_net(TG_TREE_LSTM_CHILD_SUM, 3, 5, 0, 1);
    ck_assert_str_eq(m->base.kind, "tree_lstm");
    ck_assert_int_eq(m->base.params.n, 3);
    ck_assert_str_eq(m->base.params.items[0].name, "weight_ih");
    ck_assert_str_eq(m->base.params.items[1].name, "weight_hh");
    ck_assert_str_eq(m->base.params.items[2].name, "bias");
    ck_assert_int_eq(m->weight_ih->shape[0], 20);
    ck_assert_int_eq(m->weight_ih->shape[1], 3);
    ck_assert_int_eq(m->weight_hh->shape[0], 20);
    ck_assert_int_eq(m->weight_hh->shape[1], 5);
    ck_assert_int_eq(m->bias->shape[0], 20);
    tg_module_free(&m->base);
    m = make_net(TG_TREE_LSTM_NARY, 3, 5, 3, 1);
    ck_assert_str_eq(m->base.kind, "nary_tree_lstm");
    ck_assert_int_eq(m->weight_hh->shape[0], 30);
    ck_assert_int_eq(m->weight_hh->shape[1], 15);
    ck_assert_int_eq(m->bias->shape[0], 20);
    tg_module_free(&m->base);
    /* default init bound 1/sqrt(H) */
    tg_rng r;
    tg_rng_seed(&r, 2);
    char err[256];
    m = tg_treenet_new((tg_treenet_options){.cell = TG_TREE_RNN, .hidden_size = 4}, &r, err,
                       sizeof err);
    ck_assert_str_eq(m->base.kind, "tree_rnn");
    ck_assert_int_eq(m->opt.input_size, 4);
    ck_assert_int_eq(m->opt.arity, 2);
    ck_assert_ptr_null(m->weight_ih);
    ck_assert_str_eq(m->base.params.items[0].name, "weight");
    ck_assert_int_eq(m->weight_hh->shape[1], 8);
    double mx = 0;
    for (int64_t i = 0; i < m->weight_hh->numel; i++) mx = fmax(mx, fabs(m->weight_hh->data[i]));
    ck_assert(mx <= 1 / sqrt(8.0) && mx > 0.25);
    tg_module_free(&m->base);
}
END_TEST

START_TEST(option_errors) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    char err[256];
    struct {
        tg_treenet_options o;
        const char *msg;
    } cases[] = {
        {{TG_TREE_RNN, 8, 16, 2},
         "tree_rnn: input_size 8 must equal hidden_size 16 (leaves are h = x)"},
        {{TG_TREE_LSTM_CHILD_SUM, 8, 0, 0}, "tree_lstm: hidden_size must be positive, got 0"},
        {{TG_TREE_LSTM_CHILD_SUM, 0, 4, 0}, "tree_lstm: input_size must be positive, got 0"},
        {{TG_TREE_LSTM_CHILD_SUM, 4, 4, 2},
         "tree_lstm: arity 2: the child-sum Tree-LSTM takes any number of children (arity is for "
         "tree_rnn and nary_tree_lstm)"},
        {{TG_TREE_LSTM_NARY, 4, 4, 17}, "nary_tree_lstm: arity must be in 1..16, got 17"},
        {{TG_TREE_LSTM_NARY, 4, 4, -1}, "nary_tree_lstm: arity must be in 1..16, got -1"},
        {{(tg_tree_cell)7, 4, 4, 0}, "treenet: unknown cell 7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_ptr_null(tg_treenet_new(cases[i].o, &r, err, sizeof err));
        ck_assert_str_eq(err, cases[i].msg);
    }
    tg_tree_classifier_options o = {.net = {TG_TREE_LSTM_NARY, 4, 4, 2}, .vocab = 0, .classes = 2};
    ck_assert_ptr_null(tg_tree_classifier_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "tree_classifier: vocab must be positive, got 0");
    o.vocab = 5, o.net.hidden_size = -2;
    ck_assert_ptr_null(tg_tree_classifier_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "nary_tree_lstm: hidden_size must be positive, got -2");
}
END_TEST

START_TEST(forward_errors) {
    fixture f = make_fixture("(1 (0 a) (1 b))\n(2 (0 a) (1 b) (2 c))");
    tg_treenet *m = make_net(TG_TREE_LSTM_NARY, 3, 4, 2, 1);
    tg_tape *t = tg_tape_new();
    tg_treenet_result res;
    tg_tensor *x = tg_zeros(t, TG_SHAPE(f.batch->n_nodes, 3));
    ck_assert_int_eq(tg_treenet_forward(t, m, f.batch, x, &res), -1);
    ck_assert_ptr_null(res.h);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_treenet_forward: nary_tree_lstm has arity 2, but trees[1] "
                     "line 2, column 1 has 3 children");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(f.batch->n_nodes, 2));
    ck_assert_int_eq(tg_treenet_forward(t, m, f.batch, x, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_treenet_forward: nary_tree_lstm: x [7,2]: expected "
                                       "[7, 3] (nodes, input_size)");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_treenet_forward(t, m, f.batch, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_treenet_forward: x is NULL");
    tg_tape_free(t);
    tg_module_free(&m->base);
    free_fixture(&f);
}
END_TEST

/* The tape names a tree's ops by level and gate, for looking at the graph. */
START_TEST(scopes_and_labels) {
    fixture f = make_fixture("(1 (0 a) (1 b))");
    tg_treenet *m = make_net(TG_TREE_LSTM_CHILD_SUM, 2, 2, 0, 1);
    tg_tape *t = tg_tape_new();
    tg_treenet_result res;
    tg_tensor *x = tg_ones(t, TG_SHAPE(3, 2));
    ck_assert_int_eq(tg_treenet_forward(t, m, f.batch, x, &res), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    ck_assert_int_eq(tg_tape_print(t, fp), 0);
    fclose(fp);
    ck_assert_msg(strstr(out, "tree_lstm.level1.forget_gates") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "tree_lstm.level0.cell") != NULL, "%s", out);
    free(out);
    tg_tape_free(t);
    tg_module_free(&m->base);
    free_fixture(&f);
}
END_TEST

TCase *tcase_treenet(void) {
    TCase *tc = tcase_create("treenet");
    tcase_add_loop_test(tc, values_against_loops, 0, N_CASES);
    tcase_add_loop_test(tc, gradcheck_random_trees, 0, N_CASES);
    tcase_add_test(tc, gradcheck_classifier);
    tcase_add_loop_test(tc, batch_equals_single_trees, 0, N_CASES);
    tcase_add_loop_test(tc, deep_tree_forward_backward, 0, 3);
    tcase_add_test(tc, embed_zero_rows);
    tcase_add_test(tc, heads_loss_and_accuracy);
    tcase_add_test(tc, classifier_learns_a_tiny_task);
    tcase_add_test(tc, parameter_names_and_shapes);
    tcase_add_test(tc, option_errors);
    tcase_add_test(tc, forward_errors);
    tcase_add_test(tc, scopes_and_labels);
    return tc;
}
