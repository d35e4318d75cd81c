/* Specs of task tree: the layers and the loss's target parse into the right
 * fields, the model built from a spec computes exactly what the
 * hand-assembled tg_tree_classifier computes with the same weights, and
 * malformed tree specs each get their exact message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define HEAD                                                                                       \
    "{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"trees\", \"vocab\": 6}, "
#define LAYERS(...) "\"model\": {\"layers\": [" __VA_ARGS__ "]}"
#define EMB "{\"type\": \"embedding\", \"dim\": 4}, "
#define LSTM "{\"type\": \"tree_lstm\", \"hidden\": 5}, "
#define HEAD_OUT "{\"type\": \"linear\", \"out\": 3}"

static tg_spec *parse_ok(const char *json) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

START_TEST(tree_fields) {
    tg_spec *s = parse_ok(HEAD LAYERS(EMB "{\"type\": \"tree_lstm\", \"hidden\": 5, \"arity\": "
                                          "\"any\", \"name\": \"tree\"}, "
                                          "{\"type\": \"dropout\", \"p\": 0.2}, " HEAD_OUT) "}");
    ck_assert_int_eq(s->task, TG_TASK_TREE);
    ck_assert_int_eq(s->input, TG_INPUT_TREES);
    ck_assert_int_eq(s->vocab, 6);
    ck_assert_int_eq(s->n_layers, 4);
    ck_assert_int_eq(s->layers[1].type, TG_LAYER_TREE_LSTM);
    ck_assert_int_eq(s->layers[1].arity, 0); /* child-sum */
    ck_assert_int_eq(s->layers[1].in, 4);
    ck_assert_int_eq(s->layers[1].out, 5);
    ck_assert_int_eq(s->layers[3].in, 5);
    ck_assert_int_eq(s->output_size, 3);
    ck_assert(!s->pooled);
    ck_assert_int_eq(s->tree_target, TG_TREE_NODES);
    tg_spec_free(s);
    /* N-ary, roots only, a vocabulary from the data */
    s = parse_ok("{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"trees\"}, " LAYERS(
        EMB
        "{\"type\": \"tree_lstm\", \"hidden\": 5, \"arity\": 3}, " HEAD_OUT) ", \"loss\": "
                                                                             "{\"type\": "
                                                                             "\"cross_entropy\","
                                                                             " \"target\": "
                                                                             "\"roots\"}}");
    ck_assert_int_eq(s->layers[1].arity, 3);
    ck_assert_int_eq(s->tree_target, TG_TREE_ROOTS);
    ck_assert_int_eq(s->vocab, 0);
    char err[256];
    ck_assert_int_eq(tg_spec_set_vocab(s, 9, err, sizeof err), 0);
    ck_assert_int_eq(s->layers[0].in, 9);
    tg_spec_free(s);
    /* a recursive NN: binary unless told, its input as wide as its state */
    s = parse_ok(HEAD LAYERS("{\"type\": \"embedding\", \"dim\": 5}, "
                             "{\"type\": \"tree_rnn\", \"hidden\": 5}, "
                             "{\"type\": \"activation\", \"fn\": \"relu\"}, " HEAD_OUT) "}");
    ck_assert_int_eq(s->layers[1].type, TG_LAYER_TREE_RNN);
    ck_assert_int_eq(s->layers[1].arity, 2);
    tg_spec_free(s);
    /* the type of the loss may be left to the task */
    s = parse_ok(HEAD LAYERS(EMB LSTM HEAD_OUT) ", \"loss\": {\"target\": \"nodes\"}}");
    ck_assert_int_eq(s->loss, TG_LOSS_CROSS_ENTROPY);
    tg_spec_free(s);
    /* the example's spec: a binary N-ary Tree-LSTM at every node */
    s = tg_spec_load("examples/treenet/spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_eq(s->layers[1].type, TG_LAYER_TREE_LSTM);
    ck_assert_int_eq(s->layers[1].arity, 2);
    ck_assert_int_eq(s->output_size, 10);
    ck_assert_int_eq(s->tree_target, TG_TREE_NODES);
    tg_spec_free(s);
}
END_TEST

/* (LABEL TOKEN) leaves and operator tokens at inner nodes, some unlabelled. */
static const char TREES[] = "(1 + (0 a) (2 b))\n"
                            "(2 * (1 - (0 c) (1 a)) (d))\n"
                            "(0 e)\n";

/* Copies the classifier's weights into the model (the same order: embedding,
 * tree, head) and checks both compute the same logits and loss. */
static void same_as_classifier(const char *spec, tg_tree_cell cell, int arity,
                               tg_tree_target target) {
    tg_spec *s = parse_ok(spec);
    char err[512];
    tg_rng r;
    tg_rng_seed(&r, 3);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_tree_classifier_options o = {.net = {cell, cell == TG_TREE_RNN ? 5 : 4, 5, arity},
                                    .vocab = 6,
                                    .classes = 3,
                                    .target = target};
    tg_tree_classifier *c = tg_tree_classifier_new(o, &r, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    const tg_params *pm = tg_module_params(&m->base), *pc = tg_module_params(&c->base);
    ck_assert_int_eq(pm->n, pc->n);
    for (int i = 0; i < pm->n; i++) tg_copy(pm->items[i].tensor, pc->items[i].tensor);
    ck_assert_str_eq(pm->items[1].name, cell == TG_TREE_RNN ? "1.weight" : "1.weight_ih");

    tg_treebank *bank =
        tg_treebank_parse(TREES, strlen(TREES), "t.txt",
                          &(tg_tree_read_options){.leaf_labels_optional = true}, err, sizeof err);
    ck_assert_msg(bank != NULL, "%s", err);
    tg_tree_vocab *v = tg_tree_vocab_new();
    ck_assert_int_eq(tg_treebank_set_ids(bank, v, true), 0);
    ck_assert_int_eq(tg_tree_vocab_size(v), 9); /* <unk> and 8 tokens: more than the 6 rows */
    for (int64_t i = 0; i < bank->n; i++)       /* fold them into the embedding's rows */
        for (int64_t j = 0; j < bank->trees[i]->n; j++)
            if (bank->trees[i]->id[j] >= 6) bank->trees[i]->id[j] -= 5;
    tg_tree_batch *b =
        tg_tree_batch_new((const tg_tree *const *)bank->trees, (int)bank->n, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);

    tg_tape *t = tg_tape_new();
    tg_model_output out;
    tg_model_batch mb = {.trees = b};
    ck_assert_int_eq(tg_model_forward(t, m, &mb, NULL, &out), 0);
    tg_tensor *loss = tg_model_loss(t, m, &mb, &out);
    ck_assert_ptr_nonnull(loss);
    tg_tensor *logits, *want_loss;
    ck_assert_int_eq(tg_tree_classifier_forward(t, c, b, &logits, &want_loss), 0);
    tg_tensor *got = target == TG_TREE_ROOTS ? out.roots : out.output;
    ck_assert_int_eq(got->shape[0], target == TG_TREE_ROOTS ? 3 : b->n_nodes);
    ck_assert_int_eq(out.output->shape[1], 3);
    ck_assert_ref_tensor("logits", got, logits, 0); /* the same ops: exactly */
    ck_assert_double_eq(tg_at(loss, 0), tg_at(want_loss, 0));
    ck_assert_int_eq(out.h_n->shape[0], 3);
    ck_assert(cell == TG_TREE_RNN ? out.c_n == NULL : out.c_n->shape[1] == 5);
    /* the root rows are the rows of the roots */
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq(tg_at(out.roots, k * 3 + 1), tg_at(out.output, b->roots[k] * 3 + 1));
    /* it trains: the gradient reaches the embedding */
    tg_module_zero_grad(&m->base);
    ck_assert_int_eq(tg_backward(t, loss), 0);
    double g = 0;
    for (int64_t i = 0; i < pm->items[0].tensor->numel; i++)
        g += (double)pm->items[0].tensor->grad[i] * pm->items[0].tensor->grad[i];
    ck_assert(g > 0);

    tg_tape_free(t);
    tg_tree_batch_free(b);
    tg_tree_vocab_free(v);
    tg_treebank_free(bank);
    tg_module_free(&c->base);
    tg_model_free(m);
    tg_spec_free(s);
}

START_TEST(model_is_the_classifier) {
    same_as_classifier(HEAD LAYERS(EMB LSTM HEAD_OUT) "}", TG_TREE_LSTM_CHILD_SUM, 0,
                       TG_TREE_NODES);
    same_as_classifier(HEAD LAYERS(EMB "{\"type\": \"tree_lstm\", \"hidden\": 5, \"arity\": "
                                       "2}, " HEAD_OUT) ", \"loss\": {\"target\": \"roots\"}}",
                       TG_TREE_LSTM_NARY, 2, TG_TREE_ROOTS);
    same_as_classifier(
        "{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"trees\", "
        "\"vocab\": 6}, " LAYERS("{\"type\": \"embedding\", \"dim\": 5}, "
                                 "{\"type\": \"tree_rnn\", \"hidden\": 5}, " HEAD_OUT) "}",
        TG_TREE_RNN, 2, TG_TREE_NODES);
}
END_TEST

/* What a tree model refuses at run time. */
START_TEST(model_errors) {
    tg_spec *s = parse_ok(HEAD LAYERS(EMB LSTM HEAD_OUT) "}");
    char err[512];
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_tape *t = tg_tape_new();
    int64_t ids[2] = {1, 2};
    tg_model_batch mb = {.T = 2, .B = 1, .ids = ids};
    ck_assert_int_eq(tg_model_forward(t, m, &mb, NULL, NULL), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_model_forward: task tree needs batch trees");
    tg_tape_reset(t);
    tg_model_state *st = tg_model_state_new(m);
    ck_assert_int_eq(tg_model_forward(t, m, &mb, st, NULL), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_model_forward: a tree model carries no state from one "
                                       "batch to the next (pass state NULL)");
    tg_tape_reset(t);
    /* a token id past the embedding: where it was read */
    tg_tree *tr = tg_tree_parse("(1 (0 a) (2 b))", NULL, err, sizeof err);
    ck_assert_ptr_nonnull(tr);
    tr->id[0] = 0, tr->id[1] = 7;
    tg_tree_batch *b = tg_tree_batch_new((const tg_tree *const *)&tr, 1, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    mb = (tg_model_batch){.trees = b};
    ck_assert_int_eq(tg_model_forward(t, m, &mb, NULL, NULL), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_tree_embed: trees[0] line 1, column 10: token id 7 is "
                                       "outside the embedding's 6 rows");
    tg_tree_batch_free(b);
    tg_tree_free(tr);
    tg_model_state_free(st);
    tg_tape_free(t);
    tg_model_free(m);
    tg_spec_free(s);
}
END_TEST

static const struct {
    const char *json, *want;
} BAD[] = {
    {"{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"tokens\"}, " LAYERS(
         EMB LSTM HEAD_OUT) "}",
     "spec.json: input.type: task tree reads \"trees\", got \"tokens\""},
    {"{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"trees\"}, " LAYERS(
         EMB LSTM HEAD_OUT) "}",
     "spec.json: input.type: \"trees\" is the input of task tree, not classify"},
    {"{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"trees\", \"batch_first\": "
     "true}, " LAYERS(EMB LSTM HEAD_OUT) "}",
     "spec.json: input.batch_first: unknown key; valid keys: type, vocab"},
    {"{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\"}, " LAYERS(
         EMB LSTM HEAD_OUT) "}",
     "spec.json: model.layers[1]: tree_lstm layers compose trees, so they need task tree, not tag"},
    {HEAD LAYERS(LSTM HEAD_OUT) "}",
     "spec.json: model.layers[0]: task tree embeds the token at each node, so layers[0] must be an "
     "embedding, got tree_lstm"},
    {HEAD LAYERS("{\"type\": \"one_hot\"}, " LSTM HEAD_OUT) "}",
     "spec.json: model.layers[0]: task tree embeds the token at each node, so layers[0] must be an "
     "embedding, got one_hot"},
    {HEAD LAYERS(EMB LSTM "{\"type\": \"pool\"}, " HEAD_OUT) "}",
     "spec.json: model.layers[2]: a pool layer reads a sequence, but task tree has a vector per "
     "node (to train on whole trees, set \"loss\": {\"target\": \"roots\"})"},
    {HEAD LAYERS(EMB "{\"type\": \"lstm\", \"hidden\": 5}, " LSTM HEAD_OUT) "}",
     "spec.json: model.layers[1]: lstm layers read sequences; task tree takes embedding, "
     "tree_rnn, tree_lstm, linear, activation and dropout layers"},
    {HEAD LAYERS(EMB HEAD_OUT) "}",
     "spec.json: model.layers: task tree needs a tree_rnn or tree_lstm layer to compose each node "
     "from its children"},
    {HEAD LAYERS(EMB "{\"type\": \"tree_rnn\", \"hidden\": 5}, " HEAD_OUT) "}",
     "spec.json: model.layers[1]: a tree_rnn's leaves are h = x, so its input of 4 features must "
     "equal its hidden 5"},
    {HEAD LAYERS(EMB "{\"type\": \"tree_lstm\"}, " HEAD_OUT) "}",
     "spec.json: model.layers[1].hidden: missing; expected a positive integer"},
    {HEAD LAYERS(EMB "{\"type\": \"tree_lstm\", \"hidden\": 5, \"arity\": \"all\"}, " HEAD_OUT) "}",
     "spec.json: model.layers[1].arity: expected \"any\" (child-sum) or the number of children "
     "(N-ary), got \"all\""},
    {HEAD LAYERS(EMB "{\"type\": \"tree_lstm\", \"hidden\": 5, \"arity\": 0}, " HEAD_OUT) "}",
     "spec.json: model.layers[1].arity: expected a positive integer, got 0"},
    {HEAD LAYERS("{\"type\": \"embedding\", \"dim\": 5}, {\"type\": \"tree_rnn\", \"hidden\": 5, "
                 "\"arity\": \"any\"}, " HEAD_OUT) "}",
     "spec.json: model.layers[1].arity: expected the number of children, 1 to 64 (a tree_rnn's "
     "children have fixed places), got \"any\""},
    {HEAD LAYERS(
         EMB "{\"type\": \"tree_lstm\", \"hidden\": 5, \"bidirectional\": true}, " HEAD_OUT) "}",
     "spec.json: model.layers[1].bidirectional: unknown key; valid keys: type, name, input, "
     "hidden, arity"},
    {HEAD LAYERS(EMB LSTM "{\"type\": \"linear\", \"out\": \"vocab\"}") "}",
     "spec.json: model.layers[2].out: \"vocab\" needs token input, but input.type is \"trees\""},
    {HEAD LAYERS(EMB LSTM HEAD_OUT) ", \"loss\": {\"target\": \"leaves\"}}",
     "spec.json: loss.target: unknown target 'leaves' (known: nodes, roots)"},
    {HEAD LAYERS(EMB LSTM HEAD_OUT) ", \"loss\": {\"type\": \"mse\"}}",
     "spec.json: loss.type: task tree uses cross_entropy, got \"mse\""},
    {"{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\"}, " LAYERS(
         EMB
         "{\"type\": \"gru\", \"hidden\": 5}, " HEAD_OUT) ", \"loss\": {\"target\": \"roots\"}}",
     "spec.json: loss.target: only task tree has a choice of targets, not classify"},
};

START_TEST(malformed) {
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++)
        ck_assert_spec_error(BAD[i].json, BAD[i].want);
}
END_TEST

TCase *tcase_spec_tree(void) {
    TCase *tc = tcase_create("spec_tree");
    tcase_add_test(tc, tree_fields);
    tcase_add_test(tc, model_is_the_classifier);
    tcase_add_test(tc, model_errors);
    tcase_add_test(tc, malformed);
    return tc;
}
