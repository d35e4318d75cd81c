/* Cells written in a spec as equations, through the tapegrad command:
 * every malformed definition stops `tapegrad train` with status 2 and one
 * message naming the JSON path (and the column inside an equation); a JSON
 * LSTM trains to the built-in LSTM's numbers; a cell with a parameter of
 * its own saves it as {name}_l0 beside PyTorch's weight_ih_l0. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

#define SPEC_HEAD                                                                                  \
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"}, "           \
    "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, "
#define SPEC_TAIL ", {\"type\": \"linear\", \"out\": \"vocab\"}]}"

/* A layer of the spec above (layers[1]) and the message after "spec.json: ". */
static const struct {
    const char *layer, *error;
} BAD[] = {
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(gg)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 32: unknown name 'gg'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmod(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 1: unknown function 'sigmod'; did you mean 'sigmoid'?"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"foo(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 1: unknown function 'foo'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f, i)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 1: sigmoid takes 1 argument, got 2"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"pow(o)*tanh(c')\"}}",
     "model.layers[1].equations.h: col 1: pow takes 2 arguments, got 1"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"pow(o, i)*tanh(c')\"}}",
     "model.layers[1].equations.h: col 8: pow's argument 2 must be a number"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"clamp(o, 1, -1)*tanh(c')\"}}",
     "model.layers[1].equations.h: col 1: clamp: the lower bound 1 is above the upper bound -1"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations: no equation for state 'c'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\", \"u\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].gates[4]: gate 'u' is not used by any equation"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"f\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].gates[2]: duplicate name 'f'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"w\": 0}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].params.w: expected a size in blocks of hidden (1 to 64) or {\"size\": n, \"init\": x}, got 0"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"w\": 2}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o + w[2]*c)*tanh(c')\"}}",
     "model.layers[1].equations.h: col 13: w[2]: w has 2 blocks, w[0] to w[1]"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"w\": 2}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o + w*c)*tanh(c')\"}}",
     "model.layers[1].equations.h: col 13: w has 2 blocks: write w[0] to w[1]"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c') c\"}}",
     "model.layers[1].equations.h: col 21: unexpected 'c' after the expression"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o*tanh(c')\"}}",
     "model.layers[1].equations.h: col 19: expected ',' or ')' in the call of sigmoid, got the end"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c'))\"}}",
     "model.layers[1].equations.h: col 20: unmatched ')'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"((o)*tanh(c')\"}}",
     "model.layers[1].equations.h: col 14: expected ')' to close the '(' at col 1, got the end"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"\"}}",
     "model.layers[1].equations.h: col 1: empty equation"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"   \"}}",
     "model.layers[1].equations.h: col 1: empty equation"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"1.2.3*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 1: malformed number '1.2.3'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"1e*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 1: malformed number '1e'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"2f*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 1: malformed number '2f'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o) * $\"}}",
     "model.layers[1].equations.h: col 14: expected a name, a number or '(', got '$'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o')*tanh(c')\"}}",
     "model.layers[1].equations.h: col 9: only states have a new value, and 'o' is a gate"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c[0])\"}}",
     "model.layers[1].equations.h: col 17: only parameters have blocks, and 'c' is a state"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g) + h'\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.h: col 17: 'c'' depends on itself"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c' + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 12: 'c'' depends on itself"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"1 + 2\"}}",
     "model.layers[1].equations.h: col 1: the equation is a constant; it must depend on the step"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"w\": 1}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"w * 2\"}}",
     "model.layers[1].equations.h: col 1: the equation reads only parameters and numbers; it must depend on the step"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"tanh + o\"}}",
     "model.layers[1].equations.h: col 1: 'tanh' is a function: write tanh(...)"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"exp\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].states[1]: 'exp' is a function's name"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"x_i\": 1}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].params.x_i: 'x_i' is already the input's share of gate 'i'"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"weight_ih\": 1}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].params.weight_ih: 'weight_ih' would be saved as weight_ih_l0, the layer's own weight"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"w\": 1}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].params.w: not used by any equation"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"tmp\": \"f\", \"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.tmp: 'tmp' is not a state, and no equation reads it"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": 3, \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: expected an equation as a string, got 3"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c') / (1 - 1)\"}}",
     "model.layers[1].equations.h: col 21: division by zero"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"equations\": {\"h\": \"tanh(h)\"}}",
     "model.layers[1].gates: missing; expected a list of gate names such as [\"i\", \"f\"]"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\", \"d\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].states: expected a list of 1 to 2 names, got an array"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g) + o(1)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].equations.c: col 37: 'o' is a gate, not a function"},
    {"{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"i\", \"f\", \"g\", \"o\"], \"states\": [\"h\", \"c\"], \"params\": {\"w\": {\"size\": 1, \"init\": \"one\"}}, \"equations\": {\"c\": \"sigmoid(f)*c + sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}",
     "model.layers[1].params.w.init: expected a number, got \"one\""},
};
enum { N_BAD = sizeof BAD / sizeof BAD[0] };

/* Trains the spec text on a small text: status 2, and exactly
 * "tapegrad train: <spec>: <message>\n" on stderr. */
static void expect_spec_error(const char *text, const char *message) {
    char dir[256], spec[300], data[300], want[1024];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "spec.json");
    cli_path(data, sizeof data, dir, "text.txt");
    cli_write(data, "the cat sat on the mat\n");
    cli_write(spec, text);
    cli_out r = cli_exec((const char *[]){"train", spec, "--data", data, NULL});
    snprintf(want, sizeof want, "tapegrad train: %s: %s\n", spec, message);
    ck_assert_msg(r.status == 2, "status %d: %s", r.status, r.err);
    ck_assert_str_eq(r.err, want);
    cli_out_free(&r);
    cli_rmdir(dir);
}

START_TEST(malformed_cell) {
    char text[4096];
    snprintf(text, sizeof text, SPEC_HEAD "%s" SPEC_TAIL "}", BAD[_i].layer);
    expect_spec_error(text, BAD[_i].error);
}
END_TEST

/* Calls nest like parentheses: 100 nested calls are refused by name,
 * never a stack overflow. */
START_TEST(nested_calls_refused) {
    char eq[1024] = "", text[4096];
    for (int k = 0; k < 100; k++) strcat(eq, "tanh(");
    strcat(eq, "a + h");
    for (int k = 0; k < 100; k++) strcat(eq, ")");
    snprintf(text, sizeof text,
             SPEC_HEAD "{\"type\": \"cell\", \"hidden\": 4, \"gates\": [\"a\"], "
                       "\"equations\": {\"h\": \"%s\"}}" SPEC_TAIL "}",
             eq);
    expect_spec_error(text, "model.layers[1].equations.h: col 321: nested too deeply "
                            "(more than 64 levels)");
}
END_TEST

/* renet's "cell" object is read the same way, under its own path */
START_TEST(malformed_renet_cell) {
    expect_spec_error(
        "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"image\", "
        "\"height\": 4, \"width\": 4, \"patch\": 2}, \"model\": {\"layers\": ["
        "{\"type\": \"renet\", \"hidden\": 3, \"cell\": {\"gates\": [\"a\"], "
        "\"equations\": {\"h\": \"tanh(a + hh)\"}}}, {\"type\": \"pool\"}, "
        "{\"type\": \"linear\", \"out\": 2}]}}",
        "model.layers[0].cell.equations.h: col 10: unknown name 'hh'");
}
END_TEST

#define TRAIN                                                                                      \
    ", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02}, \"train\": {\"batch\": 4, "              \
    "\"seq_len\": 16, \"steps\": 40, \"log_every\": 0, \"seed\": 3}}"
#define LINEAR ", {\"type\": \"linear\", \"out\": \"vocab\"}]}"
static const char LSTM_SPEC[] = SPEC_HEAD "{\"type\": \"lstm\", \"hidden\": 8}" LINEAR TRAIN;
static const char JSON_SPEC[] =
    SPEC_HEAD "{\"type\": \"cell\", \"hidden\": 8, \"gates\": [\"i\", \"f\", \"g\", \"o\"], "
              "\"states\": [\"h\", \"c\"], \"equations\": {\"c\": \"sigmoid(f)*c + "
              "sigmoid(i)*tanh(g)\", \"h\": \"sigmoid(o)*tanh(c')\"}}" LINEAR TRAIN;
/* Gers and Schmidhuber's peepholes: i and f see c, o sees c' */
static const char PEEP_SPEC[] =
    SPEC_HEAD "{\"type\": \"cell\", \"hidden\": 8, \"gates\": [\"i\", \"f\", \"g\", \"o\"], "
              "\"states\": [\"h\", \"c\"], \"params\": {\"w_peep\": 3}, \"equations\": {\"c\": "
              "\"sigmoid(f + w_peep[1]*c)*c + sigmoid(i + w_peep[0]*c)*tanh(g)\", \"h\": "
              "\"sigmoid(o + w_peep[2]*c')*tanh(c')\"}}" LINEAR TRAIN;

/* trains spec in dir on a small text; the final validation loss */
static double train(const char *dir, const char *name, const char *spec) {
    char path[300], data[300], ckpt[320];
    cli_path(path, sizeof path, dir, name);
    cli_path(data, sizeof data, dir, "text.txt");
    snprintf(ckpt, sizeof ckpt, "%s.safetensors", path);
    cli_write(path, spec);
    FILE *f = fopen(data, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 300; i++) fputs(i % 3 ? "the cat sat on the mat. " : "a dog ran.\n", f);
    fclose(f);
    cli_out r = cli_run((const char *[]){"train", path, "--data", data, "--checkpoint", ckpt,
                                         "--threads", "1", NULL},
                        0);
    double loss = cli_value(r.out, "final validation loss");
    cli_out_free(&r);
    ck_assert_msg(isfinite(loss), "no final loss");
    return loss;
}

START_TEST(json_lstm_trains_as_builtin) {
    char dir[256];
    cli_tmpdir(dir, sizeof dir);
    double a = train(dir, "lstm.json", LSTM_SPEC), b = train(dir, "json.json", JSON_SPEC);
    /* the same weights from the same seed, the same ops: equal up to the
     * fused kernels' rounding against the traced program's */
    ck_assert_msg(fabs(a - b) <= 1e-4 * a, "built-in %.6f, JSON %.6f", a, b);
    ck_assert_double_lt(a, log(15.0)); /* learnt: below a uniform guess over the 15 bytes */
    cli_rmdir(dir);
}
END_TEST

START_TEST(peephole_checkpoint_names) {
    char dir[256], ckpt[320], err[256];
    cli_tmpdir(dir, sizeof dir);
    double loss = train(dir, "peep.json", PEEP_SPEC);
    ck_assert_double_lt(loss, log(15.0));
    snprintf(ckpt, sizeof ckpt, "%s/peep.json.safetensors", dir);
    tg_st_file *f = tg_safetensors_open(ckpt, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *want[] = {"1.weight_ih_l0", "1.weight_hh_l0", "1.bias_ih_l0", "1.bias_hh_l0",
                          "1.w_peep_l0"};
    for (int k = 0; k < 5; k++) ck_assert_msg(tg_safetensors_get(f, want[k]), "%s", want[k]);
    ck_assert_int_eq(tg_safetensors_get(f, "1.w_peep_l0")->shape[0], 3 * 8);
    tg_safetensors_close(f);
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_cell_json(void) {
    TCase *tc = tcase_create("cell_json");
    tcase_add_loop_test(tc, malformed_cell, 0, N_BAD);
    tcase_add_test(tc, malformed_renet_cell);
    tcase_add_test(tc, nested_calls_refused);
    tcase_add_test(tc, json_lstm_trains_as_builtin);
    tcase_add_test(tc, peephole_checkpoint_names);
    return tc;
}
