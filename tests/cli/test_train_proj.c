/* tapegrad train with an lstm layer's proj_size: the checkpoint holds
 * PyTorch's names and shapes (weight_hr_l{l}[_reverse] [P, H], weight_hh
 * [4H, P]), a resumed run gives the same bytes, a recomputing one the
 * same bytes and the whole-model path the same values to rounding, the
 * model samples, and a bad proj_size is named with exit status 2. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

#define SPEC(PROJ, MEMORY)                                                                         \
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},\n"         \
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"                           \
    "   {\"type\": \"lstm\", \"hidden\": 16, \"proj_size\": " PROJ ", \"num_layers\": 2,\n"        \
    "    \"dropout\": 0.2},\n"                                                                     \
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

static void expect_shape(const tg_st_file *f, const char *name, int64_t d0, int64_t d1) {
    const tg_tensor *x = tg_safetensors_get(f, name);
    ck_assert_msg(x != NULL, "no %s in the checkpoint", name);
    ck_assert_int_eq(x->ndim, d1 ? 2 : 1);
    ck_assert_int_eq(x->shape[0], d0);
    if (d1) ck_assert_int_eq(x->shape[1], d1);
}

START_TEST(proj_train_resume_recompute_sample) {
    char dir[256], data[512], spec[512], full[512], whole[512], err[256];
    cli_tmpdir(dir, sizeof dir);
    cli_path(data, sizeof data, dir, "text.txt");
    cli_path(spec, sizeof spec, dir, "lm.json");
    cli_path(full, sizeof full, dir, "full.safetensors");
    cli_path(whole, sizeof whole, dir, "whole.safetensors");
    write_text(data);
    cli_write(spec, SPEC("4", ""));
    cli_out r = cli_run(
        (const char *[]){"train", spec, "--data", data, "--checkpoint", full, NULL}, 0);
    cli_out_free(&r);
    tg_st_file *f = tg_safetensors_open(full, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    expect_shape(f, "1.weight_ih_l0", 64, 8);
    expect_shape(f, "1.weight_hh_l0", 64, 4);
    expect_shape(f, "1.bias_hh_l0", 64, 0);
    expect_shape(f, "1.weight_hr_l0", 4, 16);
    expect_shape(f, "1.weight_ih_l1", 64, 4); /* the second layer reads P */
    expect_shape(f, "1.weight_hr_l1", 4, 16);
    const tg_tensor *out = tg_safetensors_get(f, "2.weight"); /* [vocab, P] */
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(out->shape[1], 4);
    tg_safetensors_close(f);

    /* resumed halfway: the same bytes; with each layer's segments
     * recomputed: the same bytes; with the whole stack in segments (whose
     * head and first-layer products are summed per segment): the same
     * values to rounding */
    ck_assert(cli_resume_same(spec, data, dir, 5, 12));
    ck_assert(cli_same_file(whole, full));
    cli_write(spec, SPEC("4", ", \"memory\": {\"segment\": 4}"));
    ck_assert(cli_resume_same(spec, data, dir, 5, 12));
    ck_assert_msg(cli_same_file(whole, full), "recompute's checkpoint differs from the full tape's");
    cli_write(spec, SPEC("4", ", \"memory\": {\"segment\": 4, \"whole_model\": true}"));
    ck_assert(cli_resume_same(spec, data, dir, 5, 12));
    double diff = cli_checkpoint_diff(whole, full);
    ck_assert_msg(diff < 1e-5, "whole_model's checkpoint differs from the full tape's by %g", diff);
    ck_assert_msg(!cli_same_file(whole, full) || diff == 0, "bytes and values disagree");

    /* the carried state goes on step by step when sampling */
    cli_write(spec, SPEC("4", ""));
    r = cli_run((const char *[]){"sample", spec, "--checkpoint", full, "--length", "40", NULL}, 0);
    ck_assert_int_ge((int)strlen(r.out), 40);
    cli_out_free(&r);
    cli_rmdir(dir);
}
END_TEST

START_TEST(proj_bad_values) {
    char dir[256], spec[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "lm.json");
    cli_write(spec, SPEC("16", ""));
    cli_expect_err((const char *[]){"train", spec, "--data", spec, NULL}, 2,
                   "lm.json: model.layers[1].proj_size: must be below hidden (16), got 16");
    cli_write(spec, SPEC("\"4\"", ""));
    cli_expect_err((const char *[]){"train", spec, "--data", spec, NULL}, 2,
                   "model.layers[1].proj_size: expected a non-negative integer");
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_train_proj(void) {
    TCase *tc = tcase_create("train_proj");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, proj_train_resume_recompute_sample);
    tcase_add_test(tc, proj_bad_values);
    return tc;
}
