/* The cell layer type (cells from equations, model/layer_cell.c): a JSON
 * LSTM and a JSON GRU written as the built-in cells' code (the same ops in
 * the same order) give their numbers bit for bit, composed and traced into
 * one fused node per step; a cell with a parameter of its own passes a
 * double gradcheck and names the parameter as PyTorch would; renet takes a
 * cell object; the examples in examples/cells/json load and build. */
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define HEAD                                                                                       \
    "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "       \
    "\"model\": {\"layers\": ["
#define TAIL ", {\"type\": \"linear\", \"out\": 2}]}}"
#define STACK "\"hidden\": 4, \"num_layers\": 2, \"bidirectional\": true"

static const char LSTM_JSON[] =
    HEAD "{\"type\": \"cell\", " STACK ", \"gates\": [\"i\", \"f\", \"g\", \"o\"], "
         "\"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + "
         "sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}" TAIL;
static const char LSTM_BUILTIN[] = HEAD "{\"type\": \"lstm\", " STACK "}" TAIL;
/* the GRU as cell_gru.c writes it: n = tanh(x_n + r * h_n), h' = n + z*(h - n) */
static const char GRU_JSON[] =
    HEAD "{\"type\": \"cell\", " STACK ", \"gates\": [\"r\", \"z\", \"n\"], "
         "\"equations\": {\"cand\": \"tanh(x_n + sigmoid(r) * h_n)\", "
         "\"h\": \"cand + sigmoid(z) * (h - cand)\"}}" TAIL;
static const char GRU_BUILTIN[] = HEAD "{\"type\": \"gru\", " STACK "}" TAIL;

/* spec's model with weights from seed 9; *rnn is its recurrent layer */
static tg_model *model(const char *json, tg_rnn **rnn) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    tg_rng r;
    tg_rng_seed(&r, 9);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_spec_free(s); /* the model keeps its own copy of the cell */
    *rnn = (tg_rnn *)m->mods[0];
    return m;
}

/* Runs a and b on the same x with lengths; outputs, final states and every
 * gradient equal bit for bit (exact) or within tol. fused: a's tape must
 * hold fused nodes. */
static void same_numbers(tg_rnn *a, tg_rnn *b, bool exact, double tol, bool fused) {
    tg_rng r;
    tg_rng_seed(&r, 4);
    int64_t lens[3] = {5, 2, 4};
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(5, 3, 3), -1, 1);
    tg_rnn_result res[2];
    tg_rnn *m[2] = {a, b};
    for (int w = 0; w < 2; w++) {
        tg_module_zero_grad(&m[w]->base);
        ck_assert_int_eq(tg_rnn_forward(t, m[w], x, NULL, NULL, lens, &res[w]), 0);
        if (w == 0) ck_assert_int_eq(test_tape_has(t, " fused "), fused);
        tg_tensor *loss = tg_add(t, tg_sum(t, tg_square(t, res[w].output)),
                                 tg_sum(t, tg_tanh(t, res[w].h_n)));
        ck_assert_int_eq(tg_backward(t, loss), 0);
    }
    const tg_params *pa = tg_module_params(&a->base), *pb = tg_module_params(&b->base);
    ck_assert_int_eq(pa->n, pb->n);
    for (int k = -2; k < pa->n; k++) {
        const tg_tensor *u = k == -2 ? res[0].output : k == -1 ? res[0].h_n : pa->items[k].tensor;
        const tg_tensor *v = k == -2 ? res[1].output : k == -1 ? res[1].h_n : pb->items[k].tensor;
        const tg_real *du = k < 0 ? u->data : u->grad, *dv = k < 0 ? v->data : v->grad;
        if (k >= 0) ck_assert_str_eq(pa->items[k].name, pb->items[k].name);
        ck_assert_int_eq(u->numel, v->numel);
        if (exact) {
            ck_assert_msg(memcmp(du, dv, (size_t)u->numel * sizeof(tg_real)) == 0, "%s differs",
                          k < 0 ? "output" : pa->items[k].name);
            continue;
        }
        for (int64_t i = 0; i < u->numel; i++)
            ck_assert_msg(fabs((double)du[i] - dv[i]) <= tol * (1 + fabs((double)dv[i])),
                          "%s[%lld]: %.9g vs %.9g", k < 0 ? "output" : pa->items[k].name,
                          (long long)i, (double)du[i], (double)dv[i]);
    }
    tg_tape_free(t);
}

#ifdef TG_DOUBLE
#define KERNEL_TOL 1e-12
#else
#define KERNEL_TOL 1e-5
#endif

/* JSON against built-in: composed bit for bit, traced bit for bit against
 * the built-in row traced the same way, and near the hand-written kernel */
static void against_builtin(const char *json, const char *builtin, const char *name) {
    tg_rnn *a, *b;
    tg_model *ma = model(json, &a), *mb = model(builtin, &b);
    /* the same weights: the same draws in the same order */
    const tg_params *pa = tg_module_params(&a->base), *pb = tg_module_params(&b->base);
    for (int k = 0; k < pa->n; k++)
        ck_assert_int_eq(memcmp(pa->items[k].tensor->data, pb->items[k].tensor->data,
                                (size_t)pa->items[k].tensor->numel * sizeof(tg_real)),
                         0);
    ck_assert(a->cell->fuse);
    a->opt.composed = b->opt.composed = true;
    same_numbers(a, b, true, 0, false);
    a->opt.composed = b->opt.composed = false;
    same_numbers(a, b, false, KERNEL_TOL, true);
    tg_cell traced = *tg_cell_find(name);
    traced.fused = NULL, traced.fuse = true;
    const tg_cell *own = b->cell;
    b->cell = &traced;
    same_numbers(a, b, true, 0, true);
    b->cell = own;
    tg_model_free(ma);
    tg_model_free(mb);
}

START_TEST(json_lstm_equals_builtin) {
    against_builtin(LSTM_JSON, LSTM_BUILTIN, "lstm");
}
END_TEST

/* composed on a tape, the nodes the model's forward records */
static size_t composed_nodes(const char *json) {
    tg_rnn *m;
    tg_model *md = model(json, &m);
    m->opt.composed = true;
    tg_rng r;
    tg_rng_seed(&r, 4);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(5, 3, 3), -1, 1);
    tg_rnn_result res;
    ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, NULL, NULL, &res), 0);
    size_t n = tg_tape_node_count(t);
    tg_tape_free(t);
    tg_model_free(md);
    return n;
}

/* a JSON cell that reads its gates only whole adds gx and the product
 * once, as the built-in does, not once per gate (4 adds and 8 views more a
 * step, each an instruction of the fused program) */
START_TEST(json_lstm_steps_as_builtin) {
    ck_assert_uint_eq(composed_nodes(LSTM_JSON), composed_nodes(LSTM_BUILTIN));
}
END_TEST

START_TEST(json_gru_equals_builtin) {
    against_builtin(GRU_JSON, GRU_BUILTIN, "gru");
}
END_TEST

/* a peephole LSTM with a gain and a softsign candidate: every gradient
 * (x, h0, the weights, the cell's own parameters) by central differences */
static const char PEEP_JSON[] =
    HEAD "{\"type\": \"cell\", \"hidden\": 3, \"bidirectional\": true, "
         "\"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], "
         "\"params\": {\"w_peep\": 3, \"gain\": {\"size\": 1, \"init\": 1.5}}, "
         "\"equations\": {\"c\": \"sigmoid(f + w_peep[1]*c)*c + sigmoid(i + w_peep[0]*c)"
         "*softsign(g) / 2\", \"h\": \"sigmoid(o + w_peep[2]*c') * tanh(gain * c') - -0.5*h\"}}" TAIL;

START_TEST(param_cell_gradcheck) {
    tg_rnn *m;
    tg_model *md = model(PEEP_JSON, &m);
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_int_eq(p->n, 12); /* 4 weights and 2 own parameters per direction */
    ck_assert_str_eq(p->items[4].name, "w_peep_l0");
    ck_assert_str_eq(p->items[5].name, "gain_l0");
    ck_assert_str_eq(p->items[11].name, "gain_l0_reverse");
    ck_assert_int_eq(p->items[4].tensor->shape[0], 9);
    ck_assert_double_eq(tg_at(p->items[5].tensor, 2), 1.5);
    tg_rng r;
    tg_rng_seed(&r, 2);
    tg_tensor *in[14] = {test_param(&r, TG_SHAPE(4, 2, 3)), test_param(&r, TG_SHAPE(2, 2, 3))};
    for (int k = 0; k < p->n; k++) in[2 + k] = p->items[k].tensor;
    int64_t lens[2] = {4, 3};
    test_rnn_ctx c = {m, lens};
    ck_assert_gradcheck(test_rnn_loss, &c, 2 + p->n, in);
    /* composed, the same numbers as the traced step */
    tg_tape *t = tg_tape_new();
    tg_rnn_result res[2];
    for (int w = 0; w < 2; w++) {
        m->opt.composed = w == 1;
        ck_assert_int_eq(tg_rnn_forward(t, m, in[0], in[1], NULL, lens, &res[w]), 0);
    }
    for (int64_t i = 0; i < res[0].output->numel; i++)
        ck_assert_double_eq_tol(tg_at(res[0].output, i), tg_at(res[1].output, i), 1e-5);
    tg_tape_free(t);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
    tg_model_free(md);
}
END_TEST

/* renet's cell object: both sweeps run it, parameters named per sweep */
START_TEST(renet_cell_object) {
    const char *json =
        "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"image\", "
        "\"height\": 4, \"width\": 4, \"patch\": 2}, \"model\": {\"layers\": [{\"type\": "
        "\"renet\", \"hidden\": 3, \"cell\": {\"gates\": [\"a\", \"b\"], \"params\": {\"k\": 1}, "
        "\"equations\": {\"h\": \"tanh(a) * sigmoid(b + k)\"}}}, {\"type\": \"pool\"}, "
        "{\"type\": \"linear\", \"out\": 2}]}}";
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    const tg_params *p = tg_module_params(m->mods[0]);
    ck_assert_ptr_nonnull(tg_params_find(p, "rows.k_l0_reverse"));
    ck_assert_ptr_nonnull(tg_params_find(p, "cols.k_l0"));
    ck_assert_int_eq(tg_params_find(p, "rows.weight_ih_l0")->shape[0], 6);
    tg_model_free(m);
    tg_spec_free(s);
}
END_TEST

/* every example cell loads and builds (each is a language model over 50
 * symbols) */
START_TEST(examples_load) {
    glob_t g;
    ck_assert_int_eq(glob("examples/cells/json/*.json", 0, NULL, &g), 0);
    ck_assert_uint_ge(g.gl_pathc, 3);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char err[512] = "";
        tg_spec *s = tg_spec_load(g.gl_pathv[i], err, sizeof err);
        ck_assert_msg(s != NULL, "%s", err);
        ck_assert_int_eq(tg_spec_set_vocab(s, 50, err, sizeof err), 0);
        tg_rng r;
        tg_rng_seed(&r, 1);
        tg_model *m = tg_model_new(s, &r, err, sizeof err);
        ck_assert_msg(m != NULL, "%s: %s", g.gl_pathv[i], err);
        bool has_cell = false;
        for (int k = 0; k < s->n_layers; k++) has_cell = has_cell || s->layers[k].type == TG_LAYER_CELL;
        ck_assert_msg(has_cell, "%s has no cell layer", g.gl_pathv[i]);
        tg_model_free(m);
        tg_spec_free(s);
    }
    globfree(&g);
}
END_TEST

TCase *tcase_spec_cell(void) {
    TCase *tc = tcase_create("spec_cell");
    tcase_add_test(tc, json_lstm_equals_builtin);
    tcase_add_test(tc, json_lstm_steps_as_builtin);
    tcase_add_test(tc, json_gru_equals_builtin);
    tcase_add_test(tc, param_cell_gradcheck);
    tcase_add_test(tc, renet_cell_object);
    tcase_add_test(tc, examples_load);
    return tc;
}
