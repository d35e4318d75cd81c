/* The data formats of classify, tag and regress (docs/cli.md): small
 * learnable tasks trained through the command, exact resumption across
 * shuffled epochs, and the messages for malformed files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

static const char *FILLER[] = {"this", "movie", "was", "really", "quite", "very", "plot", "acting"};

typedef struct task_dir {
    char dir[256], spec[300], data[300], ckpt[300];
} task_dir;

static void setup(task_dir *t, const char *spec) {
    cli_tmpdir(t->dir, sizeof t->dir);
    cli_path(t->spec, sizeof t->spec, t->dir, "spec.json");
    cli_path(t->data, sizeof t->data, t->dir, "data.txt");
    cli_path(t->ckpt, sizeof t->ckpt, t->dir, "ckpt.safetensors");
    cli_write(t->spec, spec);
}

/* Trains, then returns eval's output (owned). */
static char *train_eval(task_dir *t) {
    cli_out r = cli_exec(
        (const char *[]){"train", t->spec, "--data", t->data, "--checkpoint", t->ckpt, NULL});
    ck_assert_msg(r.status == 0, "train: %d\n%s\n%s", r.status, r.out, r.err);
    cli_out e = cli_exec((const char *[]){"eval", t->spec, "--checkpoint", t->ckpt, NULL});
    ck_assert_msg(e.status == 0, "eval: %s", e.err);
    /* the run's last validation is eval's figure */
    double fin = atof(strstr(r.out, "final validation loss ") + 22);
    ck_assert_double_eq_tol(cli_value(e.out, "loss"), fin, 1e-4);
    cli_out_free(&r);
    free(e.err);
    return e.out;
}

static const char CLASSIFY_SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8, \"padding_idx\": 0},\n"
    "   {\"type\": \"gru\", \"hidden\": 16}, {\"type\": \"linear\", \"out\": 2}]},\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
    " \"train\": {\"batch\": 16, \"steps\": 120, \"eval_every\": 0, \"valid_fraction\": 0.2}}\n";

/* "pos" when the line has "good", "neg" when it has "bad"; lengths vary. */
static void classify_data(const char *path) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 3);
    for (int i = 0; i < 400; i++) {
        bool pos = tg_rng_below(&r, 2);
        int n = 2 + (int)tg_rng_below(&r, 6), at = (int)tg_rng_below(&r, (uint64_t)n);
        fprintf(f, "%s\t", pos ? "pos" : "neg");
        for (int k = 0; k < n; k++)
            fprintf(f, "%s%s", k ? " " : "",
                    k == at ? (pos ? "good" : "bad") : FILLER[tg_rng_below(&r, 8)]);
        fputs(i % 50 == 7 ? "\n\n" : "\n", f); /* blank lines are skipped */
    }
    fclose(f);
}

START_TEST(classify) {
    task_dir t;
    setup(&t, CLASSIFY_SPEC);
    classify_data(t.data);
    char *out = train_eval(&t);
    ck_assert_ptr_nonnull(strstr(out, "), 80 targets")); /* the last 20% of 400 lines */
    ck_assert_msg(cli_value(out, "accuracy") >= 0.95, "%s", out);
    ck_assert(isnan(cli_value(out, "bits_per_character")));
    free(out);
    cli_rmdir(t.dir);
}
END_TEST

/* Shuffled batches repeat exactly: 30 steps (past an epoch of 20) at once
 * or in two runs. */
START_TEST(classify_resume) {
    task_dir t;
    setup(&t, CLASSIFY_SPEC);
    classify_data(t.data);
    ck_assert(cli_resume_same(t.spec, t.data, t.dir, 13, 30));
    cli_rmdir(t.dir);
}
END_TEST

START_TEST(tag) {
    task_dir t;
    setup(&t, "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", "
              "\"batch_first\": true},\n"
              " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"
              "   {\"type\": \"lstm\", \"hidden\": 12, \"bidirectional\": true}, {\"type\": "
              "\"linear\", \"out\": 4}]},\n"
              " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
              " \"train\": {\"batch\": 8, \"steps\": 100, \"valid_fraction\": 0.1}}\n");
    static const char *tagged[] = {"the/DT", "a/DT",   "cat/NN", "dog/NN",
                                   "mat/NN", "sat/VB", "ran/VB", "1/2/CD"};
    FILE *f = fopen(t.data, "w");
    tg_rng r;
    tg_rng_seed(&r, 4);
    for (int i = 0; i < 200; i++) {
        int n = 1 + (int)tg_rng_below(&r, 7);
        for (int k = 0; k < n; k++) fprintf(f, "%s%s", k ? " " : "", tagged[tg_rng_below(&r, 8)]);
        fputc('\n', f);
    }
    fclose(f);
    char *out = train_eval(&t);
    ck_assert_msg(cli_value(out, "accuracy") >= 0.98, "%s", out);
    free(out);
    /* eval --confusion over the tokens (batch-first, sentences of several
     * lengths): the cells add up to eval's targets, the diagonal to its
     * accuracy, and the classes are the tags */
    char svg[300];
    cli_path(svg, sizeof svg, t.dir, "tags.svg");
    cli_out e = cli_run((const char *[]){"eval", t.spec, "--checkpoint", t.ckpt, "--data", t.data,
                                         "--confusion", svg, NULL},
                        0);
    char *text = test_read_file(svg);
    ck_assert_ptr_nonnull(text);
    long long total = 0, diagonal = 0, targets = 0;
    for (const char *p = text; (p = strstr(p, "<rect class=\"cell\"")); p++) {
        long long tr, pr, n;
        ck_assert_int_eq(sscanf(p, "<rect class=\"cell\" data-truth=\"%lld\" data-pred=\"%lld\" "
                                   "data-count=\"%lld\"",
                                &tr, &pr, &n),
                         3);
        total += n, diagonal += tr == pr ? n : 0;
    }
    ck_assert_int_eq(sscanf(strstr(e.out, "(all of it), ") + 13, "%lld", &targets), 1);
    ck_assert_int_eq(total, targets);
    ck_assert_double_eq_tol((double)diagonal / (double)total, cli_value(e.out, "accuracy"), 1e-6);
    for (const char *tag = "CD\0DT\0NN\0VB\0"; *tag; tag += 3) {
        char row[32];
        snprintf(row, sizeof row, "\">%s</text>", tag);
        ck_assert_msg(strstr(text, row), "no class %s in the SVG", tag);
    }
    free(text);
    cli_out_free(&e);
    cli_rmdir(t.dir);
}
END_TEST

START_TEST(regress) {
    task_dir t;
    setup(
        &t,
        "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": "
        "2},\n"
        " \"model\": {\"layers\": [{\"type\": \"rnn\", \"hidden\": 16}, {\"type\": \"linear\", "
        "\"out\": 1}]},\n"
        " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},\n"
        " \"train\": {\"batch\": 8, \"seq_len\": 20, \"steps\": 300, \"valid_fraction\": 0.2}}\n");
    /* y_t = 0.5 x1_t + x2_{t-1}: needs one step of memory; var(y) ~ 0.42 */
    FILE *f = fopen(t.data, "w");
    fputs("x1,x2,y\n# comments and blank lines (a new series) are allowed\n", f);
    tg_rng r;
    tg_rng_seed(&r, 5);
    double prev = 0;
    for (int i = 0; i < 4000; i++) {
        if (i % 1000 == 0) fputs("\n", f), prev = 0;
        double x1 = tg_rng_uniform(&r) * 2 - 1, x2 = tg_rng_uniform(&r) * 2 - 1;
        fprintf(f, "%.6f, %.6f,%.6f\n", x1, x2, 0.5 * x1 + prev);
        prev = x2;
    }
    fclose(f);
    char *out = train_eval(&t);
    ck_assert_msg(cli_value(out, "loss") < 0.05, "%s", out);
    ck_assert(isnan(cli_value(out, "accuracy")));
    ck_assert_ptr_nonnull(strstr(out, "), 800 targets")); /* 800 rows held out, one value each */
    free(out);
    cli_rmdir(t.dir);
}
END_TEST

/* Malformed data: status 1, file and line named. */
START_TEST(bad_files) {
    task_dir t;
    setup(&t, CLASSIFY_SPEC);
    static const struct {
        const char *text, *message;
    } CASES[] = {
        {"pos\tgood film\nneg bad film\n", "data.txt:2: expected \"label<TAB>text\", found no tab"},
        {"pos\tgood film\nneg\t  \n", "data.txt:2: no words after the label"},
        {"a\tx\nb\tx\nc\tx\n", "data.txt: 3 different labels, but the model has 2 outputs"},
        {"", "data.txt: no sequences"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        cli_write(t.data, CASES[i].text);
        cli_out r = cli_exec((const char *[]){"train", t.spec, "--data", t.data, NULL});
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, CASES[i].message), "%s", r.err);
        cli_out_free(&r);
    }
    cli_write(
        t.spec,
        "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\"}, \"model\": "
        "{\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, {\"type\": \"rnn\", \"hidden\": 4}, "
        "{\"type\": \"linear\", \"out\": 3}]}}");
    cli_write(t.data, "the/DT cat/NN\nthe cat/NN\n");
    cli_expect_err((const char *[]){"train", t.spec, "--data", t.data, NULL}, 1,
                   "data.txt:2: token 'the' is not word/tag");
    cli_write(
        t.spec,
        "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": 2}, "
        "\"model\": {\"layers\": [{\"type\": \"rnn\", \"hidden\": 4}, {\"type\": \"linear\", "
        "\"out\": 1}]}}");
    cli_write(t.data, "a,b,c\n1,2,3\n4,5\n");
    cli_out r = cli_exec((const char *[]){"train", t.spec, "--data", t.data, NULL});
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(
        strstr(r.err, "data.txt:3: expected 3 values (2 inputs, 1 targets), found 2"));
    cli_out_free(&r);
    cli_write(t.data, "1,2,3\n4,x,6\n");
    cli_expect_err((const char *[]){"train", t.spec, "--data", t.data, NULL}, 1,
                   "data.txt:2: expected numbers separated by commas");
    cli_rmdir(t.dir);
}
END_TEST

TCase *tcase_data(void) {
    TCase *tc = tcase_create("data");
    tcase_add_test(tc, classify);
    tcase_add_test(tc, classify_resume);
    tcase_add_test(tc, tag);
    tcase_add_test(tc, regress);
    tcase_add_test(tc, bad_files);
    return tc;
}
