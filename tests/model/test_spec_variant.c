/* The RNN wishlist's keys on lstm and gru layers ("layer_norm",
 * "peephole", "gate_activation", "activation", "recurrent_dropout",
 * "input_dropout", "zoneout"): what they parse to, their errors with JSON
 * paths, the parameters' names, a model equal to the C API's cell, and
 * double gradchecks of whole models through them (bidirectional, stacked,
 * lengths, zoneout and dropout masks in training). */
#include <string.h>

#include "testutil.h"

#define HEAD "{\"tapegrad\": 1, "
#define TAG HEAD "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 5}, "
/* a tagger whose second layer is {"type": ..., "hidden": 4, KEYS} */
#define TAGGER(TYPE, KEYS)                                                                         \
    TAG "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3}, {\"type\": \"" TYPE       \
        "\", \"hidden\": 4" KEYS "}, {\"type\": \"linear\", \"out\": 3}]}}"
/* a single-layer spec whose layer is {"type": ..., "hidden": 6, KEYS} */
#define ONE(TYPE, KEYS)                                                                            \
    TAG "\"model\": {\"layers\": [{\"type\": \"" TYPE "\", \"hidden\": 6" KEYS "}]}}"

static tg_spec *parse_ok(const char *json) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

START_TEST(variant_keys) {
    tg_spec *s = parse_ok(TAGGER("lstm", ", \"layer_norm\": true, \"peephole\": true, "
                                         "\"gate_activation\": \"hard_sigmoid\", \"activation\": "
                                         "\"softsign\", \"recurrent_dropout\": 0.25, "
                                         "\"input_dropout\": 0.5, \"zoneout\": 0.1"));
    const tg_cell_variant_options *o = &s->layers[1].variant;
    ck_assert(o->layer_norm && o->peephole);
    ck_assert_str_eq(o->gate_activation, "hard_sigmoid");
    ck_assert_str_eq(o->activation, "softsign");
    ck_assert(o->recurrent_dropout == 0.25 && o->input_dropout == 0.5);
    ck_assert(o->zoneout_h == 0.1 && o->zoneout_c == 0.1); /* a number: both states */
    ck_assert_int_eq(s->layers[1].out, 4);
    tg_spec_free(s);
    s = parse_ok(TAGGER("lstm", ", \"zoneout\": {\"h\": 0.05, \"c\": 0.5}"));
    ck_assert(s->layers[1].variant.zoneout_h == 0.05 && s->layers[1].variant.zoneout_c == 0.5);
    ck_assert(!s->layers[1].variant.layer_norm && !s->layers[1].variant.gate_activation);
    tg_spec_free(s);
    s = parse_ok(TAGGER("lstm", ", \"zoneout\": {\"c\": 0.3}"));
    ck_assert(s->layers[1].variant.zoneout_h == 0 && s->layers[1].variant.zoneout_c == 0.3);
    tg_spec_free(s);
    /* gru: a number zones out h, its only state; peephole false is fine */
    s = parse_ok(TAGGER("gru", ", \"zoneout\": 0.2, \"peephole\": false, \"layer_norm\": true"));
    ck_assert(s->layers[1].variant.zoneout_h == 0.2 && s->layers[1].variant.zoneout_c == 0);
    ck_assert(s->layers[1].variant.layer_norm && !s->layers[1].variant.peephole);
    tg_spec_free(s);
    /* none: all zero, the plain cell */
    s = parse_ok(TAGGER("lstm", ""));
    tg_cell_variant_options zero = {0};
    ck_assert(memcmp(&s->layers[1].variant, &zero, sizeof zero) == 0);
    tg_spec_free(s);
}
END_TEST

START_TEST(variant_errors) {
    const char *P = "spec.json: model.layers[0].";
    char want[512];
#define ERR(JSON, MSG)                                                                             \
    (snprintf(want, sizeof want, "%s%s", P, MSG), ck_assert_spec_error(JSON, want))
    ERR(ONE("lstm", ", \"layer_norm\": 1"), "layer_norm: expected true or false, got 1");
    ERR(ONE("gru", ", \"peephole\": \"yes\""), "peephole: expected true or false, got \"yes\"");
    ERR(ONE("gru", ", \"peephole\": true"),
        "peephole: only an lstm has a cell state to look at (a gru has none)");
    ERR(ONE("lstm", ", \"gate_activation\": \"sigmod\""),
        "gate_activation: unknown activation 'sigmod'; did you mean 'sigmoid'? (known: sigmoid, "
        "hard_sigmoid, tanh, hard_tanh, softsign, relu, identity)");
    ERR(ONE("gru", ", \"activation\": \"mish\""),
        "activation: unknown activation 'mish' (known: sigmoid, hard_sigmoid, tanh, hard_tanh, "
        "softsign, relu, identity)");
    ERR(ONE("lstm", ", \"activation\": 3"),
        "activation: expected an activation (sigmoid, hard_sigmoid, tanh, hard_tanh, softsign, "
        "relu, identity), got 3");
    ERR(ONE("lstm", ", \"recurrent_dropout\": 1"),
        "recurrent_dropout: expected a number in [0, 1), got 1");
    ERR(ONE("gru", ", \"input_dropout\": -0.1"),
        "input_dropout: expected a number in [0, 1), got -0.1");
    ERR(ONE("lstm", ", \"recurrent_dropout\": true"),
        "recurrent_dropout: expected a number in [0, 1), got true");
    ERR(ONE("lstm", ", \"zoneout\": 1.5"), "zoneout: expected a number in [0, 1), got 1.5");
    ERR(ONE("lstm", ", \"zoneout\": \"h\""),
        "zoneout: expected a number in [0, 1) or an object {\"h\": p, \"c\": p}, got \"h\"");
    ERR(ONE("gru", ", \"zoneout\": [0.1]"),
        "zoneout: expected a number in [0, 1) or an object {\"h\": p}, got an array");
    ERR(ONE("lstm", ", \"zoneout\": {\"h\": 0.1, \"hc\": 0.2}"),
        "zoneout.hc: unknown key; did you mean 'h'?");
    ERR(ONE("lstm", ", \"zoneout\": {\"h\": 0.1, \"c\": 1}"),
        "zoneout.c: expected a number in [0, 1), got 1");
    ERR(ONE("gru", ", \"zoneout\": {\"h\": 0.1, \"c\": 0.1}"),
        "zoneout.c: only an lstm has a cell state to zone out (a gru has h alone)");
    ERR(ONE("lstm", ", \"proj_size\": 2, \"layer_norm\": true"),
        "proj_size: not with \"layer_norm\": a projected lstm runs the built-in cell only");
    ERR(ONE("lstm", ", \"zoneout\": {\"c\": 0.2}, \"proj_size\": 3"),
        "proj_size: not with \"zoneout\": a projected lstm runs the built-in cell only");
    ERR(ONE("rnn", ", \"layer_norm\": true"),
        "layer_norm: unknown key; valid keys: type, name, input, hidden, num_layers, "
        "bidirectional, dropout, bias, batch_first, nonlinearity");
#undef ERR
    /* the cell layer type writes its own equations: none of these keys */
    ck_assert_spec_error(TAG "\"model\": {\"layers\": [{\"type\": \"cell\", \"hidden\": 4, "
                             "\"gates\": 1, \"states\": [\"h\"], \"equations\": {\"h\": "
                             "\"tanh(g0)\"}, \"zoneout\": 0.1}]}}",
                         "spec.json: model.layers[0].zoneout: unknown key; valid keys: type, "
                         "name, input, hidden, num_layers, bidirectional, dropout, bias, "
                         "batch_first, gates, states, params, equations");
    /* written as the defaults, proj_size still refuses the variant's cell */
    ck_assert_spec_error(ONE("lstm", ", \"proj_size\": 2, \"gate_activation\": \"sigmoid\""),
                         "spec.json: model.layers[0].proj_size: not with \"gate_activation\": a "
                         "projected lstm runs the built-in cell only");
    /* and zeros are no variant: proj_size takes them */
    tg_spec_free(
        parse_ok(TAGGER("lstm", ", \"proj_size\": 2, \"zoneout\": 0, \"layer_norm\": false")));
}
END_TEST

static tg_model *model_of(const char *json, uint64_t seed) {
    tg_spec *s = parse_ok(json);
    tg_rng r;
    tg_rng_seed(&r, seed);
    char err[512] = "";
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_spec_free(s);
    return m;
}

static bool has_param(const tg_model *m, const char *name, int64_t numel) {
    const tg_params *p = tg_module_params(&m->base);
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0) return p->items[i].tensor->numel == numel;
    return false;
}

/* The names the C API gives (ln_ih_weight_l0, weight_ci_l1_reverse, ...),
 * under the layer's name as every parameter of a spec's model. */
START_TEST(variant_param_names) {
    tg_model *m = model_of(TAG "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3}, "
                               "{\"type\": \"lstm\", \"name\": \"enc\", \"hidden\": 4, "
                               "\"num_layers\": 2, \"bidirectional\": true, \"layer_norm\": true, "
                               "\"peephole\": true}, {\"type\": \"linear\", \"out\": 3}]}}",
                           1);
    ck_assert(has_param(m, "enc.weight_ih_l1_reverse", 16 * 8));
    ck_assert(has_param(m, "enc.ln_ih_weight_l0", 16));
    ck_assert(has_param(m, "enc.ln_hh_bias_l1_reverse", 16));
    ck_assert(has_param(m, "enc.ln_c_weight_l1", 4));
    ck_assert(has_param(m, "enc.weight_ci_l0_reverse", 4));
    ck_assert(has_param(m, "enc.weight_co_l1", 4));
    /* 4 weights and biases + 6 layer norm + 3 peephole per layer and direction */
    ck_assert_int_eq(tg_module_params(&m->base)->n, 1 + 4 * 13 + 2);
    tg_model_free(m);
    m = model_of(TAGGER("gru", ", \"layer_norm\": true"), 1);
    ck_assert(has_param(m, "1.ln_hh_weight_l0", 12));
    ck_assert(!has_param(m, "1.ln_c_weight_l0", 4)); /* a gru has no cell to normalise */
    tg_model_free(m);
}
END_TEST

/* The outputs of m on a tagger's batch, in training or evaluation. */
static void outputs(tg_model *m, bool training, tg_real *out, int64_t n) {
    int64_t ids[3 * 2] = {1, 2, 3, 4, 0, 1};
    tg_model_batch b = {.T = 3, .B = 2, .ids = ids};
    tg_module_train(&m->base, training);
    tg_tape *t = tg_tape_new();
    tg_model_output o;
    ck_assert_msg(tg_model_forward(t, m, &b, NULL, &o) == 0, "%s", tg_tape_error(t));
    ck_assert_int_eq(o.output->numel, n);
    for (int64_t i = 0; i < n; i++) out[i] = tg_at(o.output, i);
    tg_tape_free(t);
}

/* Activations written as the defaults run the variant's cell: the same
 * numbers as the plain layer, bit for bit; layer norm and zoneout change
 * them; evaluation is deterministic and zoneout's expectation is not the
 * training mask's draw. */
START_TEST(variant_numbers) {
    enum { N = 3 * 2 * 3 };
    tg_real plain[N], same[N], ln[N], zt[N], ze[N], ze2[N];
    tg_model *m = model_of(TAGGER("lstm", ""), 7);
    outputs(m, true, plain, N);
    tg_model_free(m);
    m = model_of(TAGGER("lstm", ", \"gate_activation\": \"sigmoid\", \"activation\": \"tanh\""), 7);
    outputs(m, true, same, N);
    tg_model_free(m);
    ck_assert(memcmp(plain, same, sizeof plain) == 0);
    m = model_of(TAGGER("lstm", ", \"layer_norm\": true"), 7);
    outputs(m, true, ln, N);
    tg_model_free(m);
    ck_assert(memcmp(plain, ln, sizeof plain) != 0);
    m = model_of(TAGGER("lstm", ", \"zoneout\": 0.5"), 7);
    outputs(m, true, zt, N);
    outputs(m, false, ze, N);
    outputs(m, false, ze2, N);
    tg_model_free(m);
    ck_assert(memcmp(ze, ze2, sizeof ze) == 0);
    ck_assert(memcmp(zt, ze, sizeof zt) != 0);
    ck_assert(memcmp(plain, ze, sizeof zt) != 0);
}
END_TEST

/* The layer's cell is the C API's: a tg_rnn made with tg_cell_variant_new
 * and the same weights gives the model's layer outputs bit for bit. */
START_TEST(variant_equals_c_api) {
    tg_model *m = model_of(HEAD "\"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": "
                                "3}, \"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, "
                                "\"layer_norm\": true, \"activation\": \"softsign\", "
                                "\"recurrent_dropout\": 0.3}]}}",
                           5);
    tg_rnn *mine = (tg_rnn *)m->mods[0];
    tg_cell_variant_options o = {
        .layer_norm = true, .activation = "softsign", .recurrent_dropout = 0.3};
    char err[256];
    tg_cell *cell = tg_cell_variant_new("gru", &o, err, sizeof err);
    ck_assert_msg(cell != NULL, "%s", err);
    tg_rnn_options ro = mine->opt;
    ro.cell = cell;
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_rnn *ref = tg_rnn_new(ro, &r, err, sizeof err);
    ck_assert_msg(ref != NULL, "%s", err);
    const tg_params *a = tg_module_params(&mine->base), *b = tg_module_params(&ref->base);
    ck_assert_int_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        ck_assert_str_eq(a->items[i].name, b->items[i].name);
        memcpy(b->items[i].tensor->data, a->items[i].tensor->data,
               (size_t)a->items[i].tensor->numel * sizeof(tg_real));
    }
    tg_real x[3 * 2 * 3];
    for (int i = 0; i < 18; i++) x[i] = (tg_real)(0.1 * (i % 7) - 0.3);
    tg_tape *t = tg_tape_new();
    tg_tensor *xt = tg_from_array(t, TG_SHAPE(3, 2, 3), x);
    tg_rnn_result ra, rb;
    ck_assert_int_eq(tg_rnn_forward(t, mine, xt, NULL, NULL, NULL, &ra), 0);
    ck_assert_int_eq(tg_rnn_forward(t, ref, xt, NULL, NULL, NULL, &rb), 0);
    for (int64_t i = 0; i < ra.output->numel; i++)
        ck_assert(tg_at(ra.output, i) == tg_at(rb.output, i));
    tg_tape_free(t);
    tg_module_free(&ref->base);
    tg_cell_variant_free(cell);
    tg_model_free(m);
}
END_TEST

/* Double gradchecks over every parameter, in training (the masks are a
 * hash of where they are, so every evaluation draws the same): a
 * bidirectional 2-layer layer-norm LSTM with zoneout and peepholes over
 * lengths, and a GRU with every dropout and a chosen gate activation. */
START_TEST(variant_model_gradcheck) {
    tg_model *m = model_of(TAG "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3},"
                               "{\"type\": \"lstm\", \"hidden\": 3, \"num_layers\": 2, "
                               "\"bidirectional\": true, \"layer_norm\": true, \"peephole\": "
                               "true, \"zoneout\": {\"h\": 0.3, \"c\": 0.2}},"
                               "{\"type\": \"linear\", \"out\": 3}]}}",
                           4);
    int64_t ids[3 * 2] = {1, 2, 3, 4, 0, 1}, tg[3 * 2] = {0, 1, 2, 0, 1, 2}, lens[2] = {3, 2};
    tg_model_batch b = {.T = 3, .B = 2, .ids = ids, .target_ids = tg, .lengths = lens};
    ck_assert_model_gradcheck(m, &b);
    tg_model_free(m);
    m = model_of(TAGGER("gru", ", \"gate_activation\": \"softsign\", \"recurrent_dropout\": 0.4, "
                               "\"input_dropout\": 0.3, \"zoneout\": 0.2, \"layer_norm\": true"),
                 4);
    ck_assert_model_gradcheck(m, &b);
    tg_model_free(m);
}
END_TEST

/* Two training steps on the same batch draw different zoneout masks (a
 * new salt from the model's generator each time), so their losses differ;
 * the plain LSTM's and an evaluation's do not. */
static void two_losses(const char *json, bool training, double *l) {
    tg_model *m = model_of(json, 3);
    tg_module_train(&m->base, training);
    int64_t ids[3 * 2] = {1, 2, 3, 4, 0, 1}, tg[3 * 2] = {0, 1, 2, 0, 1, 2};
    tg_model_batch b = {.T = 3, .B = 2, .ids = ids, .target_ids = tg};
    tg_tape *t = tg_tape_new();
    for (int i = 0; i < 2; i++) {
        tg_tape_reset(t);
        tg_tensor *loss = tg_model_train_loss(t, m, &b, NULL, NULL);
        ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
        l[i] = tg_at(loss, 0);
    }
    tg_tape_free(t);
    tg_model_free(m);
}

START_TEST(variant_fresh_masks) {
    double l[2];
    two_losses(TAGGER("lstm", ", \"zoneout\": 0.5"), true, l);
    ck_assert_msg(l[0] != l[1], "the same masks twice: %g", l[0]);
    two_losses(TAGGER("gru", ", \"recurrent_dropout\": 0.5, \"layer_norm\": true"), true, l);
    ck_assert_msg(l[0] != l[1], "the same masks twice: %g", l[0]);
    two_losses(TAGGER("lstm", ", \"zoneout\": 0.5"), false, l);
    ck_assert(l[0] == l[1]);
    two_losses(TAGGER("lstm", ", \"layer_norm\": true"), true, l);
    ck_assert(l[0] == l[1]);
}
END_TEST

TCase *tcase_spec_variant(void) {
    TCase *tc = tcase_create("spec_variant");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, variant_keys);
    tcase_add_test(tc, variant_errors);
    tcase_add_test(tc, variant_param_names);
    tcase_add_test(tc, variant_numbers);
    tcase_add_test(tc, variant_equals_c_api);
    tcase_add_test(tc, variant_model_gradcheck);
    tcase_add_test(tc, variant_fresh_masks);
    return tc;
}
