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

typedef struct image_dir {
    char dir[256], spec[300], data[300], ckpt[300];
} image_dir;

/* IMAGE_SPEC trained on image_data in a fresh directory. */
static void image_train(image_dir *d) {
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->spec, sizeof d->spec, d->dir, "spec.json");
    cli_path(d->data, sizeof d->data, d->dir, "data.csv");
    cli_path(d->ckpt, sizeof d->ckpt, d->dir, "ckpt.safetensors");
    cli_write(d->spec, IMAGE_SPEC);
    image_data(d->data);
    cli_out r = cli_exec((const char *[]){"train", d->spec, "--data", d->data, "--checkpoint",
                                          d->ckpt, NULL});
    ck_assert_msg(r.status == 0, "train: %d\n%s\n%s", r.status, r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "150 training sequences, 50 held out"));
    cli_out_free(&r);
}

START_TEST(image_trains) {
    image_dir d;
    image_train(&d);
    cli_out e = cli_exec((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, NULL});
    ck_assert_msg(e.status == 0, "eval: %s", e.err);
    ck_assert_msg(cli_value(e.out, "accuracy") > 0.95, "%s", e.out);
    cli_out_free(&e);
    cli_rmdir(d.dir);
}
END_TEST

/* The confusion matrix of an SVG from tg_confusion_svg, read back from its
 * cells' data-* attributes into m[truth][pred]; how many cells there were. */
static int svg_counts(const char *svg, long long m[2][2]) {
    int cells = 0;
    memset(m, 0, 4 * sizeof m[0][0]);
    for (const char *p = svg; (p = strstr(p, "<rect class=\"cell\"")); p++, cells++) {
        long long t, q, n;
        ck_assert_int_eq(
            sscanf(p, "<rect class=\"cell\" data-truth=\"%lld\" data-pred=\"%lld\" "
                      "data-count=\"%lld\"",
                   &t, &q, &n),
            3);
        ck_assert(t >= 0 && t < 2 && q >= 0 && q < 2);
        m[t][q] += n;
    }
    return cells;
}

/* eval --confusion: the SVG's cells hold what eval counted (they add up to
 * its targets, the diagonal over them is its accuracy line), on the
 * held-out end and on all of the file. */
START_TEST(image_confusion) {
    image_dir d;
    image_train(&d);
    char svg[300];
    cli_path(svg, sizeof svg, d.dir, "confusion.svg");
    for (int all = 0; all < 2; all++) {
        const char *args[] = {"eval", d.spec, "--checkpoint", d.ckpt, "--confusion", svg,
                              all ? "--data" : NULL, d.data, NULL};
        cli_out e = cli_run(args, 0);
        char line[400];
        snprintf(line, sizeof line, "\nconfusion %s\n", svg);
        ck_assert_msg(strstr(e.out, line), "%s", e.out);
        char *text = test_read_file(svg);
        ck_assert_ptr_nonnull(text);
        long long m[2][2], targets = all ? 200 : 50;
        ck_assert_int_eq(svg_counts(text, m), 4);
        ck_assert_int_eq(m[0][0] + m[0][1] + m[1][0] + m[1][1], targets);
        ck_assert_msg(strstr(e.out, all ? "(all of it), 200 targets" : ", 50 targets"), "%s",
                      e.out);
        double acc = (double)(m[0][0] + m[1][1]) / (double)targets;
        ck_assert_double_eq_tol(acc, cli_value(e.out, "accuracy"), 1e-6);
        char footer[80];
        snprintf(footer, sizeof footer, "%lld examples, accuracy %.1f%%", targets, 100 * acc);
        ck_assert_msg(strstr(text, footer), "no '%s' in the SVG", footer);
        ck_assert_ptr_nonnull(strstr(text, ">spec.json on data.csv</text>"));
        free(text);
        cli_out_free(&e);
    }
    /* a directory that is not there: status 1, the option named, nothing left */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/c.svg", d.dir);
    cli_expect_err((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, "--confusion", bad,
                                    NULL},
                   1, "tapegrad eval: --confusion: ");
    cli_rmdir(d.dir);
}
END_TEST

/* predict on image rows: every row of the training file from standard
 * input (its header and comment skipped, rows numbered by line), and rows
 * with and without a label as arguments. Its top class is eval's argmax:
 * the share of rows whose top class is their label is eval's accuracy on
 * the whole file. */
START_TEST(image_predict) {
    image_dir d;
    image_train(&d);
    char script[1200];
    snprintf(script, sizeof script, "'%s' predict '%s' --checkpoint '%s' --top 2 < '%s'",
             cli_binary(), d.spec, d.ckpt, d.data);
    cli_out r = cli_exec_sh((const char *[]){"-c", script, NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    int rows = 0, hits = 0;
    for (char *p = r.out; *p; rows++) {
        long line;
        char truth[16], top1[16], top2[16];
        double lp1, lp2;
        ck_assert_msg(sscanf(p, "%ld\t%15s\t%15s %lf\t%15s %lf\n", &line, truth, top1, &lp1, top2,
                             &lp2) == 6,
                      "%.80s", p);
        ck_assert_int_eq(line, rows + 3); /* the header and the comment are lines 1 and 2 */
        /* two classes: the probabilities add up to 1 (to the 4 decimals printed) */
        ck_assert_msg(lp1 >= lp2 && fabs(exp(lp1) + exp(lp2) - 1) < 2e-4, "%.80s", p);
        ck_assert_str_ne(top1, top2);
        hits += strcmp(truth, top1) == 0;
        p = strchr(p, '\n') + 1;
    }
    ck_assert_int_eq(rows, 200);
    cli_out_free(&r);
    cli_out e = cli_run((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, "--data", d.data,
                                         NULL},
                        0);
    ck_assert_double_eq_tol(hits / 200.0, cli_value(e.out, "accuracy"), 1e-9);
    cli_out_free(&e);
    /* arguments: a bright top half with label 1, the same without a label, a
     * bright bottom half; numbered by argument */
    const char *top = "1,0.9,0.9,0.9,0.9,0.9,0.9,0.9,0.9,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1";
    const char *bottom = "0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.9,0.9,0.9,0.9,0.9,0.9,0.9,0.9";
    r = cli_run((const char *[]){"predict", d.spec, "--checkpoint", d.ckpt, "--top", "1", top,
                                 top + 2, bottom, NULL},
                0);
    char *l2 = strchr(r.out, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    ck_assert_msg(strncmp(r.out, "1\t1\t1 -", 7) == 0, "%s", r.out);
    ck_assert_msg(strncmp(l2, "2\t-\t1 -", 7) == 0, "%s", r.out);
    ck_assert_msg(strncmp(l3, "3\t-\t0 -", 7) == 0, "%s", r.out);
    ck_assert_int_eq(cli_count(r.out, "\n"), 3);
    /* the same image with and without its label: the same figures */
    const char *f1 = strchr(strchr(r.out, '\t') + 1, '\t'), *f2 = strchr(strchr(l2, '\t') + 1, '\t');
    ck_assert_int_eq(strncmp(f1, f2, (size_t)(strchr(f1, '\n') - f1) + 1), 0);
    cli_out_free(&r);
    cli_rmdir(d.dir);
}
END_TEST

/* Malformed image rows: an argument is a usage error (2), a line of
 * standard input a failure (1), each named. */
START_TEST(image_predict_errors) {
    image_dir d;
    image_train(&d);
    cli_expect_err((const char *[]){"predict", d.spec, "--checkpoint", d.ckpt, "1,2,3", NULL}, 2,
                   "tapegrad predict: argument 1: expected 16 pixel values (4 x 4), after a label "
                   "or not, separated by commas\n");
    cli_expect_err((const char *[]){"predict", d.spec, "--checkpoint", d.ckpt,
                                    "1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,x,0", NULL},
                   2, "argument 1: expected 16 pixel values (4 x 4), after a label or not, "
                      "separated by commas, found a field that is not a number\n");
    /* a header is only skipped first, and only on standard input */
    cli_expect_err((const char *[]){"predict", d.spec, "--checkpoint", d.ckpt, "label,a,b", NULL},
                   2, "argument 1: expected 16 pixel values");
    char script[1200];
    snprintf(script, sizeof script,
             "printf 'label,a\\n# c\\n0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\\n\\n1,2\\n' | '%s' predict "
             "'%s' --checkpoint '%s'",
             cli_binary(), d.spec, d.ckpt);
    cli_out r = cli_exec_sh((const char *[]){"-c", script, NULL});
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strncmp(r.out, "3\t-\t", 4) == 0 && cli_count(r.out, "\n") == 1, "%s", r.out);
    ck_assert_str_eq(r.err, "tapegrad predict: standard input:5: expected 16 pixel values (4 x 4), "
                            "after a label or not, separated by commas\n");
    cli_out_free(&r);
    cli_rmdir(d.dir);
}
END_TEST

/* --confusion for a task without classes is a usage error. */
START_TEST(confusion_other_task) {
    char dir[256], spec[300];
    cli_tmpdir(dir, sizeof dir);
    cli_write(cli_path(spec, sizeof spec, dir, "lm.json"),
              "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},"
              " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4},"
              " {\"type\": \"lstm\", \"hidden\": 4}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}");
    cli_expect_err((const char *[]){"eval", spec, "--checkpoint", "c.safetensors", "--confusion",
                                    "c.svg", NULL},
                   2, "tapegrad eval: --confusion is for classify and tag models, not task "
                      "language_model\n");
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
    tcase_add_test(tc, image_confusion);
    tcase_add_test(tc, confusion_other_task);
    tcase_add_test(tc, image_predict);
    tcase_add_test(tc, image_predict_errors);
    tcase_add_test(tc, image_bad_files);
    return tc;
}
