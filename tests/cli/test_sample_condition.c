/* A language model conditioned on a label (input.condition), trained on
 * "label<TAB>word" lines and sampled with --condition: two made-up
 * languages with their own letters, each way of conditioning. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

static const char *const AS[] = {"initial_state", "input"};

typedef struct dir {
    char dir[256], spec[300], data[300], ckpt[300];
} dir;

static void setup(dir *d, const char *as) {
    char spec[1024];
    snprintf(
        spec, sizeof spec,
        "{\"tapegrad\": 1, \"task\": \"language_model\",\n"
        " \"input\": {\"type\": \"tokens\", \"condition\": {\"size\": 2, \"as\": \"%s\"}},\n"
        " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"
        "   {\"type\": \"lstm\", \"hidden\": 16}, {\"type\": \"linear\", \"out\": \"vocab\"}]},\n"
        " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
        " \"train\": {\"batch\": 16, \"steps\": 120, \"eval_every\": 0, \"log_every\": 0,\n"
        "   \"seed\": 2}}\n",
        as);
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->spec, sizeof d->spec, d->dir, "gen.json");
    cli_path(d->data, sizeof d->data, d->dir, "words.tsv");
    cli_path(d->ckpt, sizeof d->ckpt, d->dir, "gen.safetensors");
    cli_write(d->spec, spec);
    FILE *f = fopen(d->data, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 5);
    for (int i = 0; i < 300; i++) {
        fputs(i % 2 ? "abc\t" : "xyz\t", f);
        for (int k = 0, n = 2 + (int)tg_rng_below(&r, 4); k < n; k++)
            fputc((i % 2 ? "abc" : "xyz")[tg_rng_below(&r, 3)], f);
        fputc('\n', f);
    }
    fclose(f);
    cli_out t = cli_exec((const char *[]){"train", d->spec, "--data", d->data, "--checkpoint",
                                          d->ckpt, "--threads", "1", NULL});
    ck_assert_msg(t.status == 0, "%s\n%s", t.out, t.err);
    /* whole sequences, not a stream: the held-out count is in sequences */
    ck_assert_ptr_nonnull(strstr(t.out, "270 training sequences, 30 held out"));
    cli_out_free(&t);
}

START_TEST(sample_each_language) {
    dir d;
    setup(&d, AS[_i]);
    for (int lang = 0; lang < 2; lang++) {
        const char *label = lang ? "xyz" : "abc";
        cli_out s = cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt,
                                              "--condition", label, "--count", "10",
                                              "--temperature", "0.5", "--length", "30", NULL});
        ck_assert_msg(s.status == 0, "%s", s.err);
        int lines = 0, own = 0, letters = 0;
        for (const char *p = s.out; *p; p++) {
            if (*p == '\n') {
                lines++;
                continue;
            }
            letters++;
            own += strchr(label, *p) != NULL;
        }
        ck_assert_int_eq(lines, 10);
        /* every word ended at the end marker, well before 30 letters */
        ck_assert_int_lt(letters, 10 * 12);
        ck_assert_msg(own >= letters * 95 / 100, "%s: %d of %d letters its own:\n%s", label, own,
                      letters, s.out);
        cli_out_free(&s);
    }
    cli_rmdir(d.dir);
}
END_TEST

START_TEST(condition_errors) {
    dir d;
    setup(&d, "input");
    cli_expect_err((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, NULL}, 2,
                   "give --condition LABEL");
    cli_out r = cli_exec(
        (const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--condition", "klm", NULL});
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "tapegrad sample: --condition: 'klm' is not one of the model's 2 "
                            "labels (abc, ...)\n");
    cli_out_free(&r);
    /* more labels than the condition's size; a line without a tab */
    cli_write(d.data, "abc\tab\nxyz\txy\nklm\tkl\n");
    r = cli_exec((const char *[]){"train", d.spec, "--data", d.data, NULL});
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(
        strstr(r.err, "words.tsv: 3 different labels, but input.condition.size is 2"));
    cli_out_free(&r);
    cli_write(d.data, "abc\tab\n\nxyz xy\n");
    cli_expect_err((const char *[]){"train", d.spec, "--data", d.data, NULL}, 1,
                   "words.tsv:3: expected \"label<TAB>text\", found no tab");
    cli_rmdir(d.dir);
}
END_TEST

/* graph and step draw a conditioned model's tape with random classes: for
 * the initial state, the map from the one-hot (h0 and c0 of 16: [32, 2]). */
START_TEST(graph_conditioned) {
    dir d;
    cli_tmpdir(d.dir, sizeof d.dir);
    char spec[1024], out[300];
    snprintf(spec, sizeof spec, "%s", cli_path(d.spec, sizeof d.spec, d.dir, "gen.json"));
    cli_write(spec, "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": "
                    "\"tokens\", \"condition\": {\"size\": 2, \"as\": \"initial_state\"}}, "
                    "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, "
                    "{\"type\": \"lstm\", \"hidden\": 16}, {\"type\": \"linear\", \"out\": "
                    "\"vocab\"}]}}");
    cli_path(out, sizeof out, d.dir, "g.json");
    cli_out r = cli_exec(
        (const char *[]){"graph", spec, "--steps", "2", "--format", "json", "--out", out, NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *json = test_read_file(out);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"shape\": [32, 2]"));
    free(json);
    cli_out_free(&r);
    cli_rmdir(d.dir);
}
END_TEST

TCase *tcase_sample_condition(void) {
    TCase *tc = tcase_create("sample_condition");
    tcase_add_loop_test(tc, sample_each_language, 0, 2);
    tcase_add_test(tc, condition_errors);
    tcase_add_test(tc, graph_conditioned);
    return tc;
}
