/* "proj_size" on an lstm layer: the sizes that flow from it (dirs * P),
 * its errors, and models built with it: carried state (h P wide, c H
 * wide), a conditioned language model whose initial states come from the
 * class, and double gradchecks of the whole model's loss. */
#include <string.h>

#include "testutil.h"

#define HEAD "{\"tapegrad\": 1, "
#define TAG HEAD "\"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 5}, "

static tg_spec *parse_ok(const char *json) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

START_TEST(proj_sizes) {
    tg_spec *s = parse_ok(TAG "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3},"
                              "{\"type\": \"lstm\", \"hidden\": 6, \"proj_size\": 2,"
                              " \"num_layers\": 2, \"bidirectional\": true},"
                              "{\"type\": \"linear\", \"out\": 3}]}}");
    ck_assert_int_eq(s->layers[1].proj_size, 2);
    ck_assert_int_eq(s->layers[1].hidden, 6);
    ck_assert_int_eq(s->layers[1].out, 4); /* both directions, each P wide */
    ck_assert_int_eq(s->layers[2].in, 4);
    tg_spec_free(s);
    /* a pool "last" reads the reverse direction's P features at step 0 */
    s = parse_ok(HEAD "\"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"vocab\": 5},"
                      "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3},"
                      "{\"type\": \"lstm\", \"hidden\": 6, \"proj_size\": 3, "
                      "\"bidirectional\": true}, {\"type\": \"linear\", \"out\": 2}]}}");
    ck_assert_int_eq(s->layers[1].out, 6);
    ck_assert_int_eq(s->layers[2].type, TG_LAYER_POOL);
    ck_assert_int_eq(s->layers[2].split, 3);
    tg_spec_free(s);
    /* absent: 0, off */
    s = parse_ok(TAG "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3},"
                     "{\"type\": \"lstm\", \"hidden\": 6}]}}");
    ck_assert_int_eq(s->layers[1].proj_size, 0);
    ck_assert_int_eq(s->layers[1].out, 6);
    tg_spec_free(s);
}
END_TEST

START_TEST(proj_errors) {
    ck_assert_spec_error(TAG "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 6, "
                             "\"proj_size\": 6}]}}",
                         "spec.json: model.layers[0].proj_size: must be below hidden (6), got 6");
    ck_assert_spec_error(TAG "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 6, "
                             "\"proj_size\": -1}]}}",
                         "spec.json: model.layers[0].proj_size: expected a non-negative integer, "
                         "got -1");
    ck_assert_spec_error(TAG "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 6, "
                             "\"proj_size\": 1.5}]}}",
                         "spec.json: model.layers[0].proj_size: expected a non-negative integer, "
                         "got 1.5");
    ck_assert_spec_error(TAG "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 6, "
                             "\"proj_size\": 2}]}}",
                         "spec.json: model.layers[0].proj_size: unknown key; valid keys: type, "
                         "name, input, hidden, num_layers, bidirectional, dropout, bias, "
                         "batch_first, layer_norm, peephole, gate_activation, activation, "
                         "recurrent_dropout, input_dropout, zoneout");
}
END_TEST

static tg_model *model_of(const char *json) {
    tg_spec *s = parse_ok(json);
    tg_rng r;
    tg_rng_seed(&r, 4);
    char err[512] = "";
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_spec_free(s);
    return m;
}

/* A stream carried over two batches: the state holds h [L*D, B, P] and
 * c [L*D, B, H], and the second batch starts from them. */
START_TEST(proj_carried_state) {
    tg_model *m = model_of(HEAD "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
                                "\"vocab\": 5}, \"model\": {\"layers\": [{\"type\": \"embedding\", "
                                "\"dim\": 3}, {\"type\": \"lstm\", \"hidden\": 6, \"proj_size\": "
                                "2, \"num_layers\": 2}, {\"type\": \"linear\", \"out\": "
                                "\"vocab\"}]}}");
    int64_t ids[4 * 3], tg[4 * 3];
    for (int i = 0; i < 12; i++) ids[i] = i % 5, tg[i] = (i + 1) % 5;
    tg_model_batch b = {.T = 4, .B = 3, .ids = ids, .target_ids = tg};
    tg_model_state *st = tg_model_state_new(m);
    tg_tape *t = tg_tape_new();
    tg_model_output out[2];
    for (int k = 0; k < 2; k++) {
        tg_tape_reset(t);
        ck_assert_msg(tg_model_forward(t, m, &b, st, &out[k]) == 0, "%s", tg_tape_error(t));
        ck_assert_int_eq(st->h[1]->shape[2], 2);
        ck_assert_int_eq(st->c[1]->shape[2], 6);
        ck_assert_int_eq(out[k].h_n->shape[0], 2);
    }
    /* the second batch began where the first ended, not at zeros */
    tg_tape_reset(t);
    tg_model_output fresh;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &fresh), 0);
    tg_real a = tg_at(fresh.output, 0);
    tg_model_state_reset(st);
    tg_tape_reset(t);
    ck_assert_int_eq(tg_model_forward(t, m, &b, st, &out[0]), 0);
    ck_assert(tg_at(out[0].output, 0) == a);
    tg_tape_reset(t);
    ck_assert_int_eq(tg_model_forward(t, m, &b, st, &out[1]), 0);
    ck_assert(tg_at(out[1].output, 0) != a);
    tg_tape_free(t);
    tg_model_state_free(st);
    tg_model_free(m);
}
END_TEST

/* Double gradchecks over every parameter: a bidirectional stacked tagger
 * with lengths, and a language model conditioned through its initial
 * states (h0 P wide and c0 H wide from one linear map). */
START_TEST(proj_model_gradcheck) {
    tg_model *m = model_of(TAG "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3},"
                               "{\"type\": \"lstm\", \"hidden\": 4, \"proj_size\": 2,"
                               " \"num_layers\": 2, \"bidirectional\": true},"
                               "{\"type\": \"linear\", \"out\": 3}]}}");
    int64_t ids[3 * 2] = {1, 2, 3, 4, 0, 1}, tg[3 * 2] = {0, 1, 2, 0, 1, 2}, lens[2] = {3, 2};
    tg_model_batch b = {.T = 3, .B = 2, .ids = ids, .target_ids = tg, .lengths = lens};
    ck_assert_model_gradcheck(m, &b);
    tg_model_free(m);

    m = model_of(HEAD "\"task\": \"language_model\", \"input\": {\"type\": \"tokens\", \"vocab\": "
                      "4, \"condition\": {\"size\": 2, \"as\": \"initial_state\"}}, \"model\": "
                      "{\"layers\": [{\"type\": \"embedding\", \"dim\": 3}, {\"type\": \"lstm\", "
                      "\"hidden\": 4, \"proj_size\": 3}, {\"type\": \"linear\", \"out\": "
                      "\"vocab\"}]}}");
    int64_t cond[2] = {1, 0};
    tg_model_batch c = {.T = 3, .B = 2, .ids = ids, .target_ids = tg, .cond = cond};
    for (int i = 0; i < 6; i++) ids[i] %= 4;
    tg_tape *t = tg_tape_new();
    tg_tensor *loss = tg_model_loss(t, m, &c, NULL);
    ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
    /* the class moves the loss: it reaches the initial states */
    cond[0] = 0;
    tg_tensor *other = tg_model_loss(t, m, &c, NULL);
    ck_assert(tg_at(loss, 0) != tg_at(other, 0));
    tg_tape_free(t);
    ck_assert_model_gradcheck(m, &c);
    tg_model_free(m);
}
END_TEST

TCase *tcase_spec_proj(void) {
    TCase *tc = tcase_create("spec_proj");
    tcase_add_test(tc, proj_sizes);
    tcase_add_test(tc, proj_errors);
    tcase_add_test(tc, proj_carried_state);
    tcase_add_test(tc, proj_model_gradcheck);
    return tc;
}
