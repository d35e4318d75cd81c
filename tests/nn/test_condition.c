/* Conditioned language models (input.condition): the spec's checks, the
 * parameters each way adds, the condition changing the output, the state
 * keeping it for step-by-step sampling, and gradient checks (double). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"
#include "testutil.h"

/* A language model over 6 tokens conditioned on 3 classes, `as` one way;
 * the recurrent layer (`rec`) is "lstm" or "gru". */
static char *lm_json(const char *as, const char *rec, char *buf, size_t n) {
    snprintf(buf, n,
             "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\","
             " \"vocab\": 6, \"condition\": {\"size\": 3, \"as\": \"%s\"}}, \"model\": "
             "{\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, {\"type\": \"%s\", \"hidden\":"
             " 5, \"num_layers\": 2}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}",
             as, rec);
    return buf;
}

static tg_model *model_of(const char *json, tg_spec **spec) {
    char err[512];
    tg_spec *s = tg_spec_parse(json, "c.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    tg_rng r;
    tg_rng_seed(&r, 4);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    if (spec)
        *spec = s;
    else
        tg_spec_free(s);
    return m;
}

static void shape_is(tg_model *m, const char *name, int64_t rows, int64_t cols) {
    tg_tensor *p = tg_params_find(tg_module_params(&m->base), name);
    ck_assert_msg(p != NULL, "no parameter %s", name);
    ck_assert_int_eq(p->ndim, 2);
    ck_assert_int_eq(p->shape[0], rows);
    ck_assert_int_eq(p->shape[1], cols);
}

START_TEST(spec_and_parameters) {
    char j[1024];
    tg_spec *s;
    /* initial_state: a linear map from the one-hot to h0 and c0 of both layers */
    tg_model *m = model_of(lm_json("initial_state", "lstm", j, sizeof j), &s);
    ck_assert_int_eq(s->cond_size, 3);
    ck_assert_int_eq(s->cond_as, TG_COND_INITIAL_STATE);
    ck_assert_int_eq(s->cond_layer, 1);
    shape_is(m, "condition.weight", 2 * 2 * 5, 3);
    shape_is(m, "1.weight_ih_l0", 4 * 5, 4);
    tg_model_free(m), tg_spec_free(s);
    m = model_of(lm_json("initial_state", "gru", j, sizeof j), NULL);
    shape_is(m, "condition.weight", 2 * 5, 3); /* a GRU has no c0 */
    tg_model_free(m);
    /* input: the first recurrent layer reads the embedding and the one-hot */
    m = model_of(lm_json("input", "lstm", j, sizeof j), &s);
    ck_assert_int_eq(s->cond_as, TG_COND_INPUT);
    ck_assert_int_eq(s->layers[1].in, 4 + 3);
    shape_is(m, "1.weight_ih_l0", 4 * 5, 4 + 3);
    shape_is(m, "1.weight_ih_l1", 4 * 5, 5);
    ck_assert_ptr_null(tg_params_find(tg_module_params(&m->base), "condition.weight"));
    tg_model_free(m), tg_spec_free(s);
}
END_TEST

static const struct {
    const char *json, *want;
} BAD[] = {
    {"{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"condition\": "
     "{\"size\": 2, \"as\": \"input\"}}, \"model\": {\"layers\": [{\"type\": \"embedding\", "
     "\"dim\": 2}, {\"type\": \"gru\", \"hidden\": 2}, {\"type\": \"linear\", \"out\": 2}]}}",
     "b.json: input.condition: only a language_model can be conditioned, got task classify"},
    {"{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
     "\"condition\": {\"size\": 2, \"as\": \"state\"}}, \"model\": {\"layers\": [{\"type\": "
     "\"embedding\", \"dim\": 2}, {\"type\": \"gru\", \"hidden\": 2}, {\"type\": \"linear\", "
     "\"out\": \"vocab\"}]}}",
     "b.json: input.condition.as: unknown conditioning 'state'"},
    {"{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
     "\"condition\": {\"as\": \"input\"}}, \"model\": {\"layers\": [{\"type\": "
     "\"embedding\", \"dim\": 2}, {\"type\": \"gru\", \"hidden\": 2}, {\"type\": \"linear\", "
     "\"out\": \"vocab\"}]}}",
     "b.json: input.condition.size: missing"},
    {"{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
     "\"condition\": {\"size\": 2, \"as\": \"input\", \"sise\": 3}}, \"model\": {\"layers\": "
     "[{\"type\": \"embedding\", \"dim\": 2}, {\"type\": \"gru\", \"hidden\": 2}, {\"type\": "
     "\"linear\", \"out\": \"vocab\"}]}}",
     "b.json: input.condition.sise: unknown key"},
    {"{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
     "\"condition\": 3}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 2}, "
     "{\"type\": \"gru\", \"hidden\": 2}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}",
     "b.json: input.condition: expected an object such as"},
    {"{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
     "\"condition\": {\"size\": 2, \"as\": \"input\"}}, \"model\": {\"layers\": [{\"type\": "
     "\"embedding\", \"dim\": 2}, {\"type\": \"jordan\", \"hidden\": 2, \"out\": 2}, {\"type\": "
     "\"linear\", \"out\": \"vocab\"}]}}",
     "b.json: input.condition: enters the first recurrent layer, which must be an rnn, lstm or "
     "gru; model.layers[1] is a jordan"},
    {"{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
     "\"condition\": {\"size\": 2, \"as\": \"initial_state\"}}, \"model\": {\"layers\": "
     "[{\"type\": \"embedding\", \"dim\": 2}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}",
     "b.json: input.condition: needs a recurrent layer (rnn, lstm or gru) to enter"},
    {"{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
     "\"split\": \"chars\"}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 2}, "
     "{\"type\": \"gru\", \"hidden\": 2}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}",
     "b.json: input.split: \"chars\" is for task classify (a language model reads characters "
     "already), got task language_model"},
    {"{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"split\": "
     "\"letters\"}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 2}, {\"type\": "
     "\"gru\", \"hidden\": 2}, {\"type\": \"linear\", \"out\": 2}]}}",
     "b.json: input.split: unknown split 'letters'"},
};

START_TEST(spec_errors) {
    char err[512];
    tg_spec *s = tg_spec_parse(BAD[_i].json, "b.json", err, sizeof err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strncmp(err, BAD[_i].want, strlen(BAD[_i].want)) == 0, "got: %s\nwant: %s", err,
                  BAD[_i].want);
}
END_TEST

/* T = 4 steps of B = 3 sequences, classes 0, 1, 2. */
static const int64_t IDS[12] = {0, 0, 0, 1, 2, 3, 4, 5, 1, 2, 2, 2};
static const int64_t TARGETS[12] = {1, 2, 3, 4, 5, 1, 2, 2, 2, 0, 0, 0};
static const int64_t COND[3] = {0, 1, 2};

START_TEST(condition_changes_output) {
    char j[1024];
    tg_model *m = model_of(lm_json(_i ? "input" : "initial_state", "lstm", j, sizeof j), NULL);
    tg_tape *t = tg_tape_new();
    /* the same tokens under three classes: three different outputs */
    static const int64_t same[12] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
    tg_model_batch b = {.T = 4, .B = 3, .ids = same, .cond = COND};
    tg_model_output o;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), 0);
    const tg_real *y = o.output->data; /* [4, 3, 6] */
    for (int64_t k = 0; k < 6; k++) {
        ck_assert(y[k] != y[6 + k] || y[6 + k] != y[12 + k]);
        ck_assert(y[18 * 3 + k] != y[18 * 3 + 6 + k]);
    }
    /* without classes: an error that says so */
    tg_tape_reset(t);
    b.cond = NULL;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_model_forward: the model is conditioned on one of 3 classes "
                     "(input.condition), so the batch needs cond");
    tg_tape_reset(t);
    b.cond = (const int64_t[]){0, 3, 1};
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_model_forward: cond[1] = 3 is outside [0, 3)");
    tg_tape_free(t);
    tg_model_free(m);
}
END_TEST

/* Stepping one token at a time with the classes kept in the state gives
 * the whole sequence's outputs. */
START_TEST(steps_keep_condition) {
    char j[1024];
    tg_model *m = model_of(lm_json(_i ? "input" : "initial_state", "gru", j, sizeof j), NULL);
    tg_tape *t = tg_tape_new();
    tg_model_batch b = {.T = 4, .B = 3, .ids = IDS, .cond = COND};
    tg_model_output o;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), 0);
    tg_real whole[4 * 3 * 6];
    memcpy(whole, o.output->data, sizeof whole);
    tg_model_state *st = tg_model_state_new(m);
    tg_tape_reset(t);
    b.T = 1; /* the first step gives the classes, the others find them in the state */
    ck_assert_int_eq(tg_model_forward(t, m, &b, st, &o), 0);
    for (int k = 0; k < 18; k++) ck_assert_double_eq_tol(o.output->data[k], whole[k], 1e-5);
    for (int64_t s = 1; s < 4; s++) {
        tg_tape_reset(t);
        tg_tensor *y = tg_model_step(t, m, IDS + 3 * s, NULL, 3, st);
        ck_assert_msg(y != NULL, "%s", tg_tape_error(t));
        for (int k = 0; k < 18; k++) ck_assert_double_eq_tol(y->data[k], whole[18 * s + k], 1e-5);
    }
    tg_model_state_free(st);
    tg_tape_free(t);
    tg_model_free(m);
}
END_TEST

START_TEST(gradcheck_conditioned) {
    char j[1024];
    tg_model *m = model_of(lm_json(_i ? "input" : "initial_state", "lstm", j, sizeof j), NULL);
    const int64_t lengths[3] = {4, 2, 3};
    tg_model_batch b = {
        .T = 4, .B = 3, .ids = IDS, .target_ids = TARGETS, .lengths = lengths, .cond = COND};
    ck_assert_model_gradcheck(m, &b);
    tg_model_free(m);
}
END_TEST

TCase *tcase_condition(void) {
    TCase *tc = tcase_create("condition");
    tcase_add_test(tc, spec_and_parameters);
    tcase_add_loop_test(tc, spec_errors, 0, (int)(sizeof BAD / sizeof *BAD));
    tcase_add_loop_test(tc, condition_changes_output, 0, 2);
    tcase_add_loop_test(tc, steps_keep_condition, 0, 2);
    tcase_add_loop_test(tc, gradcheck_conditioned, 0, 2);
    return tc;
}
