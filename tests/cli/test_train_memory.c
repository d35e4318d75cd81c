/* train.memory: a spec whose recurrent layers recompute their segments in
 * backward trains, and resumes, to the same checkpoint bytes as the spec
 * without, the whole-model path ("whole_model": true) only when asked and
 * to rounding; bad values are named. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

/* A stacked LSTM and a bidirectional GRU with dropout between layers, so the
 * generators take part; MEMORY is the train object's memory entry. */
#define SPEC(MEMORY)                                                                               \
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},\n"         \
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"                           \
    "   {\"type\": \"lstm\", \"hidden\": 16, \"num_layers\": 2, \"dropout\": 0.2},\n"              \
    "   {\"type\": \"gru\", \"hidden\": 8, \"bidirectional\": true},\n"                            \
    "   {\"type\": \"linear\", \"out\": \"vocab\"}]},\n"                                           \
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},\n"                                        \
    " \"train\": {\"batch\": 4, \"seq_len\": 13, \"steps\": 12, \"eval_every\": 6,\n"              \
    "   \"log_every\": 0, \"seed\": 3" MEMORY "}}\n"

static void write_text(const char *path) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 300; i++) fprintf(f, "%s ", i % 3 ? "the cat sat" : "on a mat.");
    fclose(f);
}

/* Every memory setting trains to the full tape's bytes, in one run and
 * resumed halfway. */
START_TEST(memory_recompute_same_checkpoint) {
    static const char *const specs[] = {SPEC(""), SPEC(", \"memory\": \"recompute\""),
                                        SPEC(", \"memory\": {\"segment\": 4}"),
                                        SPEC(", \"memory\": {\"budget_mb\": 0.01}")};
    char dir[256], data[512], spec[512], first[512], whole[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(data, sizeof data, dir, "text.txt");
    cli_path(spec, sizeof spec, dir, "lm.json");
    cli_path(whole, sizeof whole, dir, "whole.safetensors");
    cli_path(first, sizeof first, dir, "full.safetensors");
    write_text(data);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        cli_write(spec, specs[i]);
        ck_assert_msg(cli_resume_same(spec, data, dir, 5, 12), "spec %zu: resumed run differs", i);
        if (i == 0) {
            cli_out r = cli_run(
                (const char *[]){"train", spec, "--data", data, "--checkpoint", first, NULL}, 0);
            cli_out_free(&r);
        } else {
            ck_assert_msg(cli_same_file(whole, first),
                          "spec %zu: checkpoint differs from the full tape's", i);
        }
    }
    cli_rmdir(dir);
}
END_TEST

/* The whole-model path (an embedding, unidirectional recurrent layers, a
 * linear head): a resumed run gives the bytes of an uninterrupted one. */
#define STACK_SPEC(MEMORY)                                                                         \
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},\n"         \
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"                           \
    "   {\"type\": \"lstm\", \"hidden\": 16, \"num_layers\": 2, \"dropout\": 0.2},\n"              \
    "   {\"type\": \"gru\", \"hidden\": 8},\n"                                                  \
    "   {\"type\": \"linear\", \"out\": \"vocab\"}]},\n"                                           \
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},\n"                                        \
    " \"train\": {\"batch\": 4, \"seq_len\": 13, \"steps\": 12, \"eval_every\": 6,\n"              \
    "   \"log_every\": 0, \"seed\": 3" MEMORY "}}\n"

/* On a model the whole-model path could take, "recompute", a segment and
 * a budget keep to the layers' own recomputation (the full tape's bytes);
 * "whole_model" takes the whole-model path: a resumed run gives the bytes
 * of an uninterrupted one, and the weights equal the full tape's to
 * rounding; with segments shorter than T not to the bit (that is what
 * tells the paths apart), with one segment past T to the bit. */
START_TEST(memory_stack_resumes) {
    static const char *const exact[] = {STACK_SPEC(", \"memory\": \"recompute\""),
                                        STACK_SPEC(", \"memory\": {\"segment\": 4}"),
                                        STACK_SPEC(", \"memory\": {\"budget_mb\": 0.01}"),
                                        STACK_SPEC(", \"memory\": {\"segment\": 4, "
                                                   "\"whole_model\": false}")};
    static const char *const whole_model[] = {
        STACK_SPEC(", \"memory\": {\"whole_model\": true}"),
        STACK_SPEC(", \"memory\": {\"segment\": 1, \"whole_model\": true}"),
        STACK_SPEC(", \"memory\": {\"segment\": 40, \"whole_model\": true}")};
    char dir[256], data[512], spec[512], first[512], whole[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(data, sizeof data, dir, "text.txt");
    cli_path(spec, sizeof spec, dir, "lm.json");
    cli_path(whole, sizeof whole, dir, "whole.safetensors");
    cli_path(first, sizeof first, dir, "full.safetensors");
    write_text(data);
    cli_write(spec, STACK_SPEC(""));
    cli_out r =
        cli_run((const char *[]){"train", spec, "--data", data, "--checkpoint", first, NULL}, 0);
    cli_out_free(&r);
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        cli_write(spec, exact[i]);
        ck_assert_msg(cli_resume_same(spec, data, dir, 5, 12), "spec %zu: resumed run differs", i);
        ck_assert_msg(cli_same_file(whole, first),
                      "spec %zu: checkpoint differs from the full tape's", i);
    }
    for (size_t i = 0; i < sizeof whole_model / sizeof whole_model[0]; i++) {
        cli_write(spec, whole_model[i]);
        ck_assert_msg(cli_resume_same(spec, data, dir, 5, 12), "whole_model %zu: resumed run differs",
                      i);
        double diff = cli_checkpoint_diff(whole, first);
        ck_assert_msg(diff < 1e-4, "whole_model %zu: differs from the full tape by %g", i, diff);
        ck_assert_msg((diff > 0) == (i < 2), "whole_model %zu: differs from the full tape by %g",
                      i, diff);
    }
    cli_rmdir(dir);
}
END_TEST

START_TEST(memory_bad_values) {
    static const struct {
        const char *memory, *err;
    } cases[] = {
        {", \"memory\": \"recomput\"",
         "train.memory: unknown memory mode 'recomput'; did you mean 'recompute'?"},
        {", \"memory\": {\"segment\": 0}", "train.memory.segment: expected a positive integer"},
        {", \"memory\": {\"budget_mb\": -5}", "train.memory.budget_mb: expected a number > 0"},
        {", \"memory\": {\"segment\": 4, \"budget_mb\": 9}",
         "train.memory: segment and budget_mb are both given; give one"},
        {", \"memory\": {\"segmnt\": 4}", "train.memory.segmnt: unknown key"},
        {", \"memory\": 3", "train.memory: expected"},
        {", \"memory\": {\"whole_model\": 1}",
         "train.memory.whole_model: expected true or false, got 1"},
        {", \"memory\": {\"whole_modl\": true}", "train.memory.whole_modl: unknown key"},
        {", \"memory\": \"whole_model\"",
         "train.memory: unknown memory mode 'whole_model'"},
    };
    char dir[256], spec[512], text[2048];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "lm.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, SPEC("%s"), cases[i].memory);
        cli_write(spec, text);
        cli_expect_err((const char *[]){"train", spec, "--data", spec, NULL}, 2, cases[i].err);
    }
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_train_memory(void) {
    TCase *tc = tcase_create("train_memory");
    tcase_add_test(tc, memory_recompute_same_checkpoint);
    tcase_add_test(tc, memory_stack_resumes);
    tcase_add_test(tc, memory_bad_values);
    return tc;
}
