/* The image data format (docs/cli.md) through the command: a small
 * learnable task on 4x4 images with a renet model, the patches as the spec
 * says, and the messages for malformed files (file:line). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

static const char IMAGE_SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"classify\",\n"
    " \"input\": {\"type\": \"image\", \"height\": 4, \"width\": 4, \"patch\": 2},\n"
    " \"model\": {\"layers\": [{\"type\": \"renet\", \"hidden\": 6, \"cell\": \"gru\"},\n"
    "   {\"type\": \"pool\", \"mode\": \"mean\"}, {\"type\": \"linear\", \"out\": 2}]},\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
    " \"train\": {\"batch\": 16, \"steps\": 80, \"eval_every\": 0, \"valid_fraction\": 0.25}}\n";

/* Class 1: the top half is bright; class 0: the bottom half. Noise on
 * top. 200 images and a header row. */
static void image_data(const char *path) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 9);
    fputs("label", f);
    for (int i = 0; i < 16; i++) fprintf(f, ",p%d", i);
    fputs("\n# a comment\n", f);
    for (int n = 0; n < 200; n++) {
        int c = (int)tg_rng_below(&r, 2);
        fprintf(f, "%d", c);
        for (int i = 0; i < 16; i++)
            fprintf(f, ",%.3f", ((i < 8) == (c == 1) ? 0.8 : 0.1) + 0.3 * tg_rng_uniform(&r));
        fputs("\n", f);
    }
    fclose(f);
}

START_TEST(image_trains) {
    char dir[256], spec[300], data[300], ckpt[300];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "spec.json");
    cli_path(data, sizeof data, dir, "data.csv");
    cli_path(ckpt, sizeof ckpt, dir, "ckpt.safetensors");
    cli_write(spec, IMAGE_SPEC);
    image_data(data);
    cli_out r = cli_exec(
        (const char *[]){"train", spec, "--data", data, "--checkpoint", ckpt, NULL});
    ck_assert_msg(r.status == 0, "train: %d\n%s\n%s", r.status, r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "150 training sequences, 50 held out"));
    cli_out_free(&r);
    cli_out e = cli_exec((const char *[]){"eval", spec, "--checkpoint", ckpt, NULL});
    ck_assert_msg(e.status == 0, "eval: %s", e.err);
    ck_assert_msg(cli_value(e.out, "accuracy") > 0.95, "%s", e.out);
    cli_out_free(&e);
    cli_rmdir(dir);
}
END_TEST

/* Malformed data: status 1, file and line named. */
START_TEST(image_bad_files) {
    char dir[256], spec[300], data[300];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "spec.json");
    cli_path(data, sizeof data, dir, "data.csv");
    cli_write(spec, IMAGE_SPEC);
    static const struct {
        const char *text, *message;
    } CASES[] = {
        {"1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n0,1,2\n",
         "data.csv:2: expected a label then 16 pixel values (4 x 4) separated by commas"},
        {"1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,x,0\n",
         "data.csv:2: expected a label then 16 pixel values (4 x 4) separated by commas, found a "
         "field that is not a number"},
        {"1\n", "data.csv:1: expected a label then 16 pixel values"},
        {",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n", "data.csv:1: expected a label then 16"},
        {"a,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\nb,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
         "c,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n",
         "data.csv: 3 different labels, but the model has 2 outputs"},
        {"label,a,b\n", "data.csv: no images"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        cli_write(data, CASES[i].text);
        cli_expect_err((const char *[]){"train", spec, "--data", data, NULL}, 1,
                       CASES[i].message);
    }
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_data_image(void) {
    TCase *tc = tcase_create("data_image");
    tcase_add_test(tc, image_trains);
    tcase_add_test(tc, image_bad_files);
    return tc;
}
