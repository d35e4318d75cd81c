/* Tree nets against the hand-written PyTorch references of
 * tests/nn/gen_treelstm_fixture.py (float64): the Child-Sum Tree-LSTM on
 * trees of arity 0-4, the binary N-ary Tree-LSTM and the binary TreeRNN,
 * each over a batch of four trees read from the fixture's metadata by our
 * reader. Compared: every node's h (and c), and the gradients of
 * L = sum(h * RH) + sum(c * RC) with respect to every parameter and to x. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define FIXTURE "tests/nn/fixtures/treelstm.safetensors"
#ifdef TG_DOUBLE
#define OUT_TOL 1e-10
#define GRAD_TOL 1e-9
#else
#define OUT_TOL 1e-5
#define GRAD_TOL 1e-4
#endif

typedef struct parity_case {
    const char *prefix, *trees;
    tg_tree_cell cell;
} parity_case;

static const parity_case PARITY[] = {
    {"childsum", "trees_any", TG_TREE_LSTM_CHILD_SUM},
    {"nary", "trees_bin", TG_TREE_LSTM_NARY},
    {"rnn", "trees_bin", TG_TREE_RNN},
};

static const tg_tensor *need(const tg_st_file *f, const char *prefix, const char *name) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    const tg_tensor *x = tg_safetensors_get(f, key);
    ck_assert_msg(x != NULL, FIXTURE ": no tensor '%s'", key);
    return x;
}

START_TEST(parity_with_pytorch) {
    const parity_case *pc = &PARITY[_i];
    char err[256] = "";
    tg_st_file *f = tg_safetensors_open(FIXTURE, err, sizeof err);
    ck_assert_msg(f != NULL,
                  "%s (fixtures are read from the repository root; regenerate with "
                  "/usr/bin/python3 tests/nn/gen_treelstm_fixture.py)",
                  err);
    const char *trees = tg_safetensors_meta(f, pc->trees);
    ck_assert_ptr_nonnull(trees);
    int64_t H = strtoll(tg_safetensors_meta(f, "H"), NULL, 10);
    int N = atoi(tg_safetensors_meta(f, "N"));
    tg_treebank *bank = tg_treebank_parse(trees, strlen(trees), pc->trees, NULL, err, sizeof err);
    ck_assert_msg(bank != NULL, "%s", err);
    ck_assert_int_eq(bank->n, 4);
    tg_tree_vocab *v = tg_tree_vocab_new();
    ck_assert_int_eq(tg_treebank_set_ids(bank, v, true), 0);
    tg_tree_batch *b =
        tg_tree_batch_new((const tg_tree *const *)bank->trees, (int)bank->n, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    if (pc->cell == TG_TREE_LSTM_CHILD_SUM) ck_assert_int_eq(b->max_arity, 4);

    const tg_tensor *x_ref = need(f, pc->prefix, "x");
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_treenet_options o = {pc->cell, x_ref->shape[1], H,
                            pc->cell == TG_TREE_LSTM_CHILD_SUM ? 0 : N};
    tg_treenet *m = tg_treenet_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    const tg_params *p = tg_module_params(&m->base);
    for (int i = 0; i < p->n; i++) {
        const tg_tensor *src = need(f, pc->prefix, p->items[i].name);
        ck_assert_msg(tg_same_shape(src, p->items[i].tensor), "%s: shape", p->items[i].name);
        ck_assert(tg_copy(p->items[i].tensor, src));
    }
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_from_array(t, tg_tensor_shape(x_ref), x_ref->data);
    x->requires_grad = true;
    tg_treenet_result res;
    ck_assert_msg(tg_treenet_forward(t, m, b, x, &res) == 0, "%s", tg_tape_error(t));
    ck_assert_ref_tensor("h", res.h, need(f, pc->prefix, "h"), OUT_TOL);
    const tg_tensor *rh = need(f, pc->prefix, "RH");
    tg_tensor *loss = tg_sum(t, tg_mul(t, res.h, tg_from_array(t, tg_tensor_shape(rh), rh->data)));
    if (res.c) {
        ck_assert_ref_tensor("c", res.c, need(f, pc->prefix, "c"), OUT_TOL);
        const tg_tensor *rc = need(f, pc->prefix, "RC");
        loss = tg_add(t, loss,
                      tg_sum(t, tg_mul(t, res.c, tg_from_array(t, tg_tensor_shape(rc), rc->data))));
    }
    tg_module_zero_grad(&m->base);
    ck_assert_int_eq(tg_backward(t, loss), 0);
    for (int i = 0; i < p->n; i++) {
        char name[64];
        snprintf(name, sizeof name, "grad.%s", p->items[i].name);
        ck_assert_ref_values(name, p->items[i].tensor->grad, need(f, pc->prefix, name), GRAD_TOL);
    }
    ck_assert_ref_values("grad.x", x->grad, need(f, pc->prefix, "grad.x"), GRAD_TOL);
    tg_tape_free(t);
    tg_module_free(&m->base);
    tg_tree_batch_free(b);
    tg_tree_vocab_free(v);
    tg_treebank_free(bank);
    tg_safetensors_close(f);
}
END_TEST

TCase *tcase_treenet_parity(void) {
    TCase *tc = tcase_create("treenet_parity");
    tcase_add_loop_test(tc, parity_with_pytorch, 0, 3);
    return tc;
}
