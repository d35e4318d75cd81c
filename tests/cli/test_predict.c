/* tapegrad predict on a tiny classify model: three "languages" with their
 * own letters, read character by character (input.split "chars"). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

static const char SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"classify\",\n"
    " \"input\": {\"type\": \"tokens\", \"split\": \"chars\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8, \"padding_idx\": 0},\n"
    "   {\"type\": \"gru\", \"hidden\": 16}, {\"type\": \"pool\", \"mode\": \"last\"},\n"
    "   {\"type\": \"linear\", \"out\": 3}]},\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
    " \"train\": {\"batch\": 16, \"steps\": 60, \"eval_every\": 0, \"log_every\": 0,\n"
    "   \"valid_fraction\": 0.1, \"seed\": 3}}\n";

typedef struct dir {
    char dir[256], spec[300], data[300], ckpt[300];
} dir;

/* Words over abc (label "abc"), xyz ("xyz") or mnö ("mno", with a two-byte
 * letter), trained for 60 steps. */
static void setup(dir *d) {
    static const char *alpha[3][3] = {{"a", "b", "c"}, {"x", "y", "z"}, {"m", "n", "\xc3\xb6"}};
    static const char *label[3] = {"abc", "xyz", "mno"};
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->spec, sizeof d->spec, d->dir, "classify.json");
    cli_path(d->data, sizeof d->data, d->dir, "words.tsv");
    cli_path(d->ckpt, sizeof d->ckpt, d->dir, "classify.safetensors");
    cli_write(d->spec, SPEC);
    FILE *f = fopen(d->data, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 7);
    for (int i = 0; i < 300; i++) {
        fprintf(f, "%s\t", label[i % 3]);
        for (int k = 0, n = 2 + (int)tg_rng_below(&r, 5); k < n; k++)
            fputs(alpha[i % 3][tg_rng_below(&r, 3)], f);
        fputc('\n', f);
    }
    fclose(f);
    cli_out t = cli_exec((const char *[]){"train", d->spec, "--data", d->data, "--checkpoint",
                                          d->ckpt, "--threads", "1", NULL});
    ck_assert_msg(t.status == 0, "%s\n%s", t.out, t.err);
    cli_out_free(&t);
}

/* One output line: the text, then k "label logp" fields; checks that the
 * log-probabilities fall and that their probabilities sum to at most 1.
 * Returns the sum of exp(logp). */
static double check_line(const char *line, const char *text, const char *top1, int k) {
    size_t n = strlen(text);
    ck_assert_msg(strncmp(line, text, n) == 0 && line[n] == '\t', "%s", line);
    const char *p = line + n;
    double prev = 0, sum = 0;
    for (int i = 0; i < k; i++) {
        char label[32];
        double lp;
        int used;
        ck_assert_msg(sscanf(p, "\t%31s %lf%n", label, &lp, &used) == 2, "%s", line);
        if (i == 0) ck_assert_str_eq(label, top1);
        ck_assert_msg(lp <= prev + 1e-12, "log-probabilities not falling: %s", line);
        prev = lp, sum += exp(lp), p += used;
    }
    ck_assert_msg(*p == '\n', "more than %d fields: %s", k, line);
    ck_assert_double_le(sum, 1 + 1e-6);
    return sum;
}

START_TEST(predict_words) {
    dir d;
    setup(&d);
    cli_out r = cli_exec((const char *[]){"predict", d.spec, "--checkpoint", d.ckpt, "abcab", "zyx",
                                          "m\xc3\xb6n", NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *l2 = strchr(r.out, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    /* all three classes: the probabilities sum to 1 */
    ck_assert_double_eq_tol(check_line(r.out, "abcab", "abc", 3), 1.0, 1e-4);
    check_line(l2, "zyx", "xyz", 3);
    check_line(l3, "m\xc3\xb6n", "mno", 3);
    ck_assert_str_eq(strchr(l3, '\n'), "\n"); /* three lines, no more */
    cli_out_free(&r);
    /* --top 1, and texts from standard input (blank lines skipped) */
    char script[2048];
    snprintf(script, sizeof script,
             "printf 'xxy\\n\\nbca\\n' | '%s' predict '%s' --checkpoint '%s' --top 1", cli_binary(),
             d.spec, d.ckpt);
    r = cli_exec_sh((const char *[]){"-c", script, NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    double p = check_line(r.out, "xxy", "xyz", 1);
    ck_assert_double_gt(p, 0.5);
    check_line(strchr(r.out, '\n') + 1, "bca", "abc", 1);
    cli_out_free(&r);
    cli_rmdir(d.dir);
}
END_TEST

START_TEST(predict_errors) {
    dir d;
    setup(&d);
    cli_out r =
        cli_exec((const char *[]){"predict", d.spec, "--checkpoint", d.ckpt, "ab", " ", NULL});
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "tapegrad predict: argument 2: no characters in ' '\n");
    cli_out_free(&r);
    cli_expect_err((const char *[]){"predict", d.spec, "ab", NULL}, 2, "--checkpoint is required");
    r = cli_exec(
        (const char *[]){"predict", d.spec, "--checkpoint", d.ckpt, "--top", "0", "ab", NULL});
    ck_assert_int_eq(r.status, 2);
    cli_out_free(&r);
    cli_expect_err((const char *[]){"predict", d.spec, "--checkpoint", d.data, "ab", NULL}, 1,
                   "tapegrad predict: ");
    /* a model of another task */
    char lm[300];
    cli_write(cli_path(lm, sizeof lm, d.dir, "lm.json"),
              "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},"
              " \"model\": {\"layers\": [{\"type\": \"one_hot\"}, {\"type\": \"rnn\", \"hidden\": "
              "4}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}");
    cli_expect_err((const char *[]){"predict", lm, "--checkpoint", d.ckpt, "ab", NULL}, 2,
                   "task language_model: predict is for classify models");
    cli_rmdir(d.dir);
}
END_TEST

TCase *tcase_predict(void) {
    TCase *tc = tcase_create("predict");
    tcase_add_test(tc, predict_words);
    tcase_add_test(tc, predict_errors);
    return tc;
}
