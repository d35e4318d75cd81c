/* tapegrad train with a "distill" section: a teacher trained first, then
 * students for language_model, classify and tag; alpha 0 is the task loss
 * exactly; the errors for a missing teacher or checkpoint, a teacher of
 * another size, vocabulary or task. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

/* task, input line, layers (the student's hidden size is %d) */
static const char SPEC_FMT[] =
    "{\"tapegrad\": 1, \"task\": \"%s\", \"input\": {\"type\": \"tokens\"%s},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"
    "   {\"type\": \"lstm\", \"hidden\": %d}, %s{\"type\": \"linear\", \"out\": %s}]},\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},\n"
    " \"train\": {\"batch\": 8, \"seq_len\": 16, \"steps\": 40, \"eval_every\": 0,\n"
    "   \"log_every\": 0, \"valid_fraction\": 0.1, \"seed\": 3}%s}\n";

typedef struct dd {
    char dir[256], data[300], teacher[300], tckpt[300];
} dd;

static void write_spec(const char *path, const char *task, const char *input, int hidden,
                       const char *distill) {
    bool lm = strcmp(task, "language_model") == 0, cls = strcmp(task, "classify") == 0;
    char text[2048];
    snprintf(text, sizeof text, SPEC_FMT, task, input, hidden,
             cls ? "{\"type\": \"pool\", \"mode\": \"last\"}, " : "",
             lm    ? "\"vocab\""
             : cls ? "2"
                   : "3",
             distill);
    cli_write(path, text);
}

/* The data for task, and a teacher (LSTM 24) trained on it. */
static void setup(dd *d, const char *task, const char *teacher_input) {
    static const char *words[] = {"the", "cat", "sat", "on", "mat", "a", "dog", "ran"};
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->data, sizeof d->data, d->dir, "data.txt");
    cli_path(d->teacher, sizeof d->teacher, d->dir, "teacher.json");
    cli_path(d->tckpt, sizeof d->tckpt, d->dir, "teacher.safetensors");
    FILE *f = fopen(d->data, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 11);
    for (int i = 0; i < 300; i++) {
        int n = 3 + (int)tg_rng_below(&r, 4), pos = 0;
        if (strcmp(task, "classify") == 0) fputs(i % 2 ? "odd\t" : "even\t", f);
        for (int k = 0; k < n; k++) {
            int w = (int)tg_rng_below(&r, 8);
            pos += w < 4;
            if (strcmp(task, "tag") == 0)
                fprintf(f, "%s%s/%c", k ? " " : "", words[w], "DNV"[w % 3]);
            else
                fprintf(f, "%s%s", k ? " " : "", words[w]);
        }
        fputs(strcmp(task, "language_model") == 0 ? ". " : "\n", f);
    }
    fclose(f);
    write_spec(d->teacher, task, teacher_input, 24, "");
    cli_out o = cli_run((const char *[]){"train", d->teacher, "--data", d->data, "--checkpoint",
                                         d->tckpt, "--threads", "1", NULL},
                        0);
    cli_out_free(&o);
}

/* A student spec (LSTM 12) in d->dir with the given distill section. */
static void student(const dd *d, const char *task, const char *distill, char *path, size_t n) {
    cli_path(path, n, d->dir, "student.json");
    write_spec(path, task, "", 12, distill);
}

static cli_out train(const dd *d, const char *spec, const char *ckpt, int want) {
    return cli_run((const char *[]){"train", spec, "--data", d->data, "--checkpoint", ckpt,
                                    "--threads", "1", NULL},
                   want);
}

/* The train_loss column of a run's CSV log, as text. */
static char *losses(const char *csv_path) {
    char *csv = test_read_file(csv_path);
    ck_assert_ptr_nonnull(csv);
    char *out = calloc(strlen(csv) + 1, 1), *w = out;
    for (char *p = strchr(csv, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        char *a = strchr(p, ','), *b = strchr(a + 1, ',');
        memcpy(w, a + 1, (size_t)(b - a));
        w += b - a;
    }
    free(csv);
    return out;
}

static const char DISTILL[] = ",\n \"distill\": {\"teacher\": \"teacher.json\", "
                              "\"checkpoint\": \"teacher.safetensors\", \"temperature\": 2.0, "
                              "\"alpha\": %s}";

START_TEST(lm_distills_and_alpha_0_is_the_task_loss) {
    dd d;
    setup(&d, "language_model", "");
    char spec[300], ckpt[300], csv[300], section[256];
    /* the student alone */
    student(&d, "language_model", "", spec, sizeof spec);
    cli_out o = train(&d, spec, cli_path(ckpt, sizeof ckpt, d.dir, "alone.safetensors"), 0);
    cli_out_free(&o);
    char *alone = losses(cli_path(csv, sizeof csv, d.dir, "alone.csv"));
    /* distilled with alpha 0: the same losses and weights, bit for bit */
    snprintf(section, sizeof section, DISTILL, "0");
    student(&d, "language_model", section, spec, sizeof spec);
    o = train(&d, spec, cli_path(ckpt, sizeof ckpt, d.dir, "a0.safetensors"), 0);
    ck_assert_ptr_nonnull(strstr(o.out, "distill: teacher "));
    cli_out_free(&o);
    char *a0 = losses(cli_path(csv, sizeof csv, d.dir, "a0.csv"));
    ck_assert_str_eq(a0, alone);
    char p1[300], p2[300];
    ck_assert(cli_same_file(cli_path(p1, sizeof p1, d.dir, "alone.safetensors"),
                            cli_path(p2, sizeof p2, d.dir, "a0.safetensors")));
    /* alpha 0.5: trains, with another loss, and learns */
    snprintf(section, sizeof section, DISTILL, "0.5");
    student(&d, "language_model", section, spec, sizeof spec);
    o = train(&d, spec, cli_path(ckpt, sizeof ckpt, d.dir, "a5.safetensors"), 0);
    double val = cli_value(strstr(o.out, "final validation loss"), "final validation loss");
    ck_assert_msg(val < 2.5, "%s", o.out); /* the unigram entropy is about 2.9 nats */
    cli_out_free(&o);
    char *a5 = losses(cli_path(csv, sizeof csv, d.dir, "a5.csv"));
    ck_assert_str_ne(a5, alone);
    free(alone), free(a0), free(a5);
    cli_rmdir(d.dir);
}
END_TEST

START_TEST(classify_and_tag_distill) {
    const char *tasks[] = {"classify", "tag"};
    for (int k = 0; k < 2; k++) {
        dd d;
        setup(&d, tasks[k], "");
        char spec[300], ckpt[300], section[256];
        snprintf(section, sizeof section, DISTILL, "0.7");
        student(&d, tasks[k], section, spec, sizeof spec);
        cli_out o = train(&d, spec, cli_path(ckpt, sizeof ckpt, d.dir, "s.safetensors"), 0);
        ck_assert_ptr_nonnull(strstr(o.out, "distill: teacher "));
        ck_assert_msg(cli_value(o.out, "final validation loss") >= 0, "%s", o.out);
        cli_out_free(&o);
        cli_rmdir(d.dir);
    }
}
END_TEST

START_TEST(errors) {
    dd d;
    setup(&d, "language_model", "");
    char spec[300], ckpt[300];
    cli_path(ckpt, sizeof ckpt, d.dir, "s.safetensors");
    const char *args[] = {"train", spec,        "--data", d.data, "--checkpoint",
                          ckpt,    "--threads", "1",      NULL};
    /* a missing teacher spec: exit 2, naming the key and the file */
    student(&d, "language_model",
            ",\n \"distill\": {\"teacher\": \"nope.json\", \"checkpoint\": "
            "\"teacher.safetensors\"}",
            spec, sizeof spec);
    cli_expect_err(args, 2, "student.json: distill.teacher: ");
    cli_expect_err(args, 2, "nope.json: cannot open: No such file or directory");
    /* a missing checkpoint: exit 1 */
    student(&d, "language_model",
            ",\n \"distill\": {\"teacher\": \"teacher.json\", \"checkpoint\": \"nope.st\"}", spec,
            sizeof spec);
    cli_expect_err(args, 1, "student.json: distill.checkpoint: ");
    /* a teacher with more outputs (its input.vocab 100) */
    char big[300], bigckpt[300];
    cli_path(big, sizeof big, d.dir, "big.json");
    write_spec(big, "language_model", ", \"vocab\": 100", 16, "");
    cli_out o =
        cli_run((const char *[]){"train", big, "--data", d.data, "--checkpoint",
                                 cli_path(bigckpt, sizeof bigckpt, d.dir, "big.safetensors"),
                                 "--steps", "2", "--threads", "1", NULL},
                0);
    cli_out_free(&o);
    student(&d, "language_model",
            ",\n \"distill\": {\"teacher\": \"big.json\", \"checkpoint\": \"big.safetensors\"}",
            spec, sizeof spec);
    cli_expect_err(args, 2, "has 100 outputs per target, the student ");
    /* a teacher of another task */
    write_spec(big, "tag", "", 16, "");
    cli_expect_err(args, 2, "big.json is a tag model, the student a language_model model");
    /* a teacher trained on other data */
    char other[300];
    cli_write(cli_path(other, sizeof other, d.dir, "other.txt"), "xyz xyz zzy yx. 12345 54321\n");
    write_spec(big, "language_model", "", 16, "");
    o = cli_run((const char *[]){"train", big, "--data", other, "--checkpoint", bigckpt, "--steps",
                                 "1", "--threads", "1", NULL},
                0);
    cli_out_free(&o);
    cli_expect_err(args, 2, "big.safetensors was trained with another vocabulary");
    cli_rmdir(d.dir);
}
END_TEST

TCase *tcase_distill(void) {
    TCase *tc = tcase_create("distill");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lm_distills_and_alpha_0_is_the_task_loss);
    tcase_add_test(tc, classify_and_tag_distill);
    tcase_add_test(tc, errors);
    return tc;
}
