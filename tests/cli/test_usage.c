/* The command's surface: help, version, usage errors and bad specs, each
 * with its exit status (0, 2) and message. The spec messages themselves are
 * tested in tests/nn/test_spec.c; here, that each command passes them on. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

static void expect(const char *const *args, int status, const char *out_has, const char *err_has) {
    cli_out r = cli_exec(args);
    ck_assert_msg(r.status == status, "%s %s: status %d, expected %d; stderr: %s", args[0],
                  args[1] ? args[1] : "", r.status, status, r.err);
    if (out_has) ck_assert_msg(strstr(r.out, out_has), "stdout lacks '%s':\n%s", out_has, r.out);
    if (err_has) ck_assert_msg(strstr(r.err, err_has), "stderr lacks '%s':\n%s", err_has, r.err);
    if (status == 0) ck_assert_str_eq(r.err, "");
    cli_out_free(&r);
}

START_TEST(help_and_version) {
    expect((const char *[]){"--help", NULL}, 0, "usage: tapegrad COMMAND [options]", NULL);
    expect((const char *[]){"--help", NULL}, 0, "  eval      loss and accuracy", NULL);
    expect((const char *[]){"train", "--help", NULL}, 0, "usage: tapegrad train SPEC [options]",
           NULL);
    expect((const char *[]){"train", "--help", NULL}, 0, "  --resume CKPT", NULL);
    expect((const char *[]){"sample", "--help", NULL}, 0,
           "usage: tapegrad sample SPEC --checkpoint CKPT", NULL);
    expect((const char *[]){"sample", "-h", NULL}, 0, "  --top-k K", NULL);
    expect((const char *[]){"eval", "--help", NULL}, 0,
           "usage: tapegrad eval SPEC --checkpoint CKPT", NULL);
    expect((const char *[]){"run", "--help", NULL}, 0, "  --train-steps N", NULL);
    expect((const char *[]){"help", "run", NULL}, 0, "usage: tapegrad run SPEC --weights", NULL);
    expect((const char *[]){"--help", NULL}, 0, "  plot      draw training logs", NULL);
    expect((const char *[]){"plot", "--help", NULL}, 0, "usage: tapegrad plot LOG.csv", NULL);
    char version[64];
    snprintf(version, sizeof version, "tapegrad %s\nprecision: %s\nblis kernels: ", TG_VERSION,
             TG_REAL_NAME);
    expect((const char *[]){"--version", NULL}, 0, version, NULL);
    expect((const char *[]){"--version", NULL}, 0, "\nthreads: ", NULL);
}
END_TEST

START_TEST(bad_usage) {
    expect((const char *[]){NULL}, 2, NULL, "usage: tapegrad COMMAND [options]");
    expect((const char *[]){"samples", NULL}, 2, NULL,
           "tapegrad: unknown command 'samples'; did you mean 'sample'?\n");
    expect((const char *[]){"help", "nope", NULL}, 2, NULL, "tapegrad: unknown command 'nope'\n");
    const char *spec = "tests/nn/specs/char_lstm.json";
    expect((const char *[]){"train", NULL}, 2, NULL,
           "tapegrad train: missing SPEC (see 'tapegrad train --help')\n");
    expect(
        (const char *[]){"train", spec, NULL}, 2, NULL,
        "tapegrad train: --data is required (unless --resume names a checkpoint that knows it)\n");
    expect((const char *[]){"train", spec, "--stpes", "3", NULL}, 2, NULL,
           "tapegrad train: unknown option '--stpes'; did you mean '--steps'?\n"
           "(see 'tapegrad train --help')\n");
    expect((const char *[]){"train", spec, "--steps", "0", "--data", "x", NULL}, 2, NULL,
           "tapegrad train: --steps: expected an integer in [1, 1000000000000000], got '0'\n");
    expect((const char *[]){"train", spec, "--steps=12x", NULL}, 2, NULL,
           "--steps: expected an integer in [1, 1000000000000000], got '12x'");
    expect((const char *[]){"train", spec, "--data", NULL}, 2, NULL,
           "tapegrad train: --data needs a value\n");
    expect((const char *[]){"train", spec, "extra", NULL}, 2, NULL,
           "tapegrad train: unexpected argument 'extra'\n");
    expect((const char *[]){"sample", spec, NULL}, 2, NULL,
           "tapegrad sample: --checkpoint is required (see 'tapegrad sample --help')\n");
    expect((const char *[]){"sample", spec, "--checkpoint", "c", "--temperature", "-1", NULL}, 2,
           NULL, "tapegrad sample: --temperature: expected a number in [0, 1e+06], got '-1'\n");
    expect(
        (const char *[]){"sample", "tests/nn/specs/sentiment_gru.json", "--checkpoint", "c", NULL},
        2, NULL,
        "tapegrad sample: tests/nn/specs/sentiment_gru.json: task classify: sample is for "
        "language models\n");
    expect((const char *[]){"eval", spec, NULL}, 2, NULL,
           "tapegrad eval: --checkpoint is required (see 'tapegrad eval --help')\n");
    expect((const char *[]){"run", spec, "--weights", "w", "--input", "x", "--grad=1", NULL}, 2,
           NULL, "tapegrad run: --grad takes no value\n");
    expect((const char *[]){"run", spec, "--weights", "w", "--input", "x", "--out", "o", NULL}, 2,
           NULL,
           "tapegrad run: tests/nn/specs/char_lstm.json: input.vocab: run needs the vocabulary "
           "size in the spec\n");
}
END_TEST

/* Malformed specs: every command exits with 2 and passes the parser's
 * message on, prefixed with its name. */
static const struct {
    const char *json, *message;
} BAD[] = {
    {"{\"tapegrad\": 1,, }",
     "spec.json:1:16: malformed JSON: expected a key in double quotes, got ','"},
    {"{\"tapegrad\": 2}",
     "spec.json: tapegrad: unsupported format version 2; this build reads version 1"},
    {"{\"tapegrad\": 1, \"task\": \"clasify\", \"input\": {\"type\": \"tokens\"}, \"model\": "
     "{\"layers\": []}}",
     "spec.json: task: unknown task 'clasify'; did you mean 'classify'? (known: language_model, "
     "classify, tag, regress, tree, seq2seq)"},
    {"{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 10}, "
     "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, {\"type\": \"lstm\", "
     "\"hiden\": 8}, {\"type\": \"linear\", \"out\": 2}]}}",
     "spec.json: model.layers[1].hiden: unknown key; did you mean 'hidden'?"},
    {"{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 10}, "
     "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, {\"type\": \"lstm\", "
     "\"hidden\": -3}, {\"type\": \"linear\", \"out\": 2}]}}",
     "spec.json: model.layers[1].hidden: expected a positive integer, got -3"},
    {"{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 10}, "
     "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, {\"type\": \"lstm\", "
     "\"hidden\": 8}, {\"type\": \"linear\", \"out\": 2}]}, \"optimizer\": {\"betas\": [0.9, 1]}}",
     "spec.json: optimizer.betas[1]: expected a number in [0, 1), got 1"},
    {"", "spec.json:1:1: malformed JSON"},
};

START_TEST(bad_specs) {
    char dir[256], spec[300], data[300], msg[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "spec.json");
    cli_path(data, sizeof data, dir, "data.txt");
    cli_write(data, "some text\n");
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        cli_write(spec, BAD[i].json);
        const char *cmds[][10] = {
            {"train", spec, "--data", data, NULL},
            {"sample", spec, "--checkpoint", "c.safetensors", NULL},
            {"eval", spec, "--checkpoint", "c.safetensors", NULL},
            {"run", spec, "--weights", "w", "--input", "x", "--out", "o", NULL},
        };
        for (int c = 0; c < 4; c++) {
            snprintf(msg, sizeof msg, "tapegrad %s: %s/%s", cmds[c][0], dir, BAD[i].message);
            expect(cmds[c], 2, NULL, msg);
        }
    }
    expect((const char *[]){"train", "/nonexistent/spec.json", "--data", data, NULL}, 2, NULL,
           "tapegrad train: /nonexistent/spec.json: cannot open: No such file or directory\n");
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_usage(void) {
    TCase *tc = tcase_create("usage");
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, bad_usage);
    tcase_add_test(tc, bad_specs);
    return tc;
}
