/* seq2seq through the command: train on a reverse-a-digit-string file of
 * pairs to far better than chance, eval agreeing with the last validation,
 * exact resumption (dropout and scheduled sampling draw from generators the
 * checkpoint keeps), translate with greedy decoding, --beam 1 (the same)
 * and --beam 3, from a file and from standard input, attention maps as SVG,
 * and the errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

static const char SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"seq2seq\",\n"
    " \"input\": {\"type\": \"tokens\", \"source\": \"chars\", \"target\": \"spaces\"},\n"
    " \"model\": {\"encoder\": {\"type\": \"gru\", \"embedding\": 16, \"hidden\": 32,\n"
    "   \"bidirectional\": true}, \"decoder\": {\"hidden\": 32}, \"attention\": \"general\",\n"
    "   \"dropout\": 0.05},\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01, \"clip_norm\": 5},\n"
    " \"train\": {\"batch\": 32, \"steps\": 300, \"eval_every\": 150, \"log_every\": 50,\n"
    "   \"valid_fraction\": 0.1, \"seed\": 3,\n"
    "   \"sampling\": {\"decay\": \"linear\", \"k\": 1, \"c\": 0.002, \"eps_min\": 0.8}}}\n";

typedef struct dir {
    char dir[256], spec[300], data[300], ckpt[300], in[300], att[300];
} dir;

/* 500 pairs "31415<TAB>5 1 4 1 3", 1 to 5 digits */
static void setup(dir *d, const char *spec) {
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->spec, sizeof d->spec, d->dir, "rev.json");
    cli_path(d->data, sizeof d->data, d->dir, "rev.tsv");
    cli_path(d->ckpt, sizeof d->ckpt, d->dir, "rev.safetensors");
    cli_path(d->in, sizeof d->in, d->dir, "in.txt");
    cli_path(d->att, sizeof d->att, d->dir, "att");
    cli_write(d->spec, spec);
    FILE *f = fopen(d->data, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 7);
    for (int i = 0; i < 500; i++) {
        char s[8];
        int n = 1 + (int)tg_rng_below(&r, 5);
        for (int k = 0; k < n; k++) s[k] = (char)('0' + tg_rng_below(&r, 10));
        fprintf(f, "%.*s\t", n, s);
        for (int k = n - 1; k >= 0; k--) fprintf(f, "%c%s", s[k], k ? " " : "\n");
    }
    fclose(f);
    cli_write(d->in, "1234\n\n907\n5x5\n");
}

START_TEST(train_eval_translate) {
    dir d;
    setup(&d, SPEC);
    cli_out t = cli_run((const char *[]){"train", d.spec, "--data", d.data, "--checkpoint", d.ckpt,
                                         "--threads", "1", NULL},
                        0);
    ck_assert_ptr_nonnull(strstr(t.out, "train: seq2seq, "));
    ck_assert_ptr_nonnull(strstr(t.out, "450 training sequences, 50 held out"));
    ck_assert_ptr_nonnull(strstr(t.out, "\nstep 150: validation loss "));
    const char *fin = strstr(t.out, "final validation loss ");
    ck_assert_ptr_nonnull(fin);
    double loss = NAN, acc = NAN, ser = NAN;
    ck_assert(sscanf(fin, "final validation loss %lf, accuracy %lf%%, symbol error rate %lf%%",
                     &loss, &acc, &ser) == 3);
    /* chance is 10^-n for n digits; a model that learnt reversal is near 100% */
    ck_assert_msg(acc > 80 && ser < 10, "accuracy %g%%, symbol error rate %g%%", acc, ser);

    /* eval: the same figures as the last validation */
    cli_out e = cli_run((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, NULL}, 0);
    ck_assert_double_eq_tol(cli_value(e.out, "loss"), loss, 1e-4);
    ck_assert_double_eq_tol(cli_value(e.out, "sequence_error_rate"), 1 - acc / 100, 1e-4);
    ck_assert_double_eq_tol(cli_value(e.out, "symbol_error_rate"), ser / 100, 1e-4);
    ck_assert_ptr_nonnull(strstr(e.out, "decoding greedy\n"));
    ck_assert(cli_value(e.out, "sources") > 40 && cli_value(e.out, "sources") <= 50);
    cli_out e3 =
        cli_run((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, "--beam", "3", NULL}, 0);
    ck_assert_ptr_nonnull(strstr(e3.out, "decoding beam 3\n"));
    ck_assert(cli_value(e3.out, "sequence_error_rate") < 0.2);

    /* translate: a line out per line in; greedy, --beam 1 and --beam 3 */
    cli_out g =
        cli_run((const char *[]){"translate", d.spec, "--checkpoint", d.ckpt, d.in, NULL}, 0);
    cli_out b1 = cli_run(
        (const char *[]){"translate", d.spec, "--checkpoint", d.ckpt, d.in, "--beam", "1", NULL},
        0);
    cli_out b3 = cli_run((const char *[]){"translate", d.spec, "--checkpoint", d.ckpt, d.in,
                                          "--beam", "3", "--show-attention", d.att, NULL},
                         0);
    ck_assert_str_eq(g.out, b1.out);
    ck_assert_msg(strncmp(g.out, "4 3 2 1\n\n7 0 9\n5 ", 15) == 0, "greedy: %s", g.out);
    ck_assert_msg(strncmp(b3.out, "4 3 2 1\n\n7 0 9\n5 ", 15) == 0, "beam 3: %s", b3.out);
    int lines = 0;
    for (const char *p = b3.out; *p; p++) lines += *p == '\n';
    ck_assert_int_eq(lines, 4);
    /* attention maps for the non-empty lines 1, 3, 4 */
    const char *names[] = {"1.svg", "3.svg", "4.svg"};
    for (int i = 0; i < 3; i++) {
        char path[400];
        char *svg = test_read_file(cli_path(path, sizeof path, d.att, names[i]));
        ck_assert_msg(svg != NULL, "%s missing", path);
        ck_assert(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
        ck_assert_ptr_nonnull(strstr(svg, "&lt;/s&gt;")); /* the end marker's row */
        ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
        free(svg);
    }
    char path[400];
    ck_assert_ptr_null(test_read_file(cli_path(path, sizeof path, d.att, "2.svg")));
    /* from standard input */
    cli_out s = cli_exec_sh((const char *[]){"-c",
                                             "printf '1234\\n907' | \"$0\" translate \"$1\" "
                                             "--checkpoint \"$2\"",
                                             cli_binary(), d.spec, d.ckpt, NULL});
    ck_assert_msg(s.status == 0, "%s", s.err);
    ck_assert_str_eq(s.out, "4 3 2 1\n7 0 9\n");

    cli_out outs[] = {t, e, e3, g, b1, b3, s};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) cli_out_free(&outs[i]);
    cli_rmdir(d.dir);
}
END_TEST

/* 20 steps at once and 10 + 10 resumed give the same checkpoint. */
START_TEST(resume_exact) {
    dir d;
    setup(&d, SPEC);
    ck_assert(cli_resume_same(d.spec, d.data, d.dir, 10, 20));
    cli_rmdir(d.dir);
}
END_TEST

/* stderr of a run that must fail with status want */
static void expect_err(const char *const *args, int want, const char *msg) {
    cli_out r = cli_run(args, want);
    ck_assert_msg(strcmp(r.err, msg) == 0, "\n   got: %s\n  want: %s", r.err, msg);
    cli_out_free(&r);
}

START_TEST(errors) {
    dir d;
    setup(&d, SPEC);
    char bad[400], empty[400], other[400], lm[400], plain[400], msg[1024];
    cli_path(bad, sizeof bad, d.dir, "bad.tsv");
    cli_path(empty, sizeof empty, d.dir, "empty.tsv");
    cli_path(other, sizeof other, d.dir, "other.tsv");
    cli_path(lm, sizeof lm, d.dir, "lm.json");
    cli_path(plain, sizeof plain, d.dir, "plain.json");
    cli_write(bad, "12\t2 1\n\n345 5 4 3\n");
    cli_write(empty, "12\t2 1\n7\t  \n");
    cli_write(other, "12\t2 x\n");
    cli_write(lm, "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": "
                  "\"tokens\"}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4}, "
                  "{\"type\": \"linear\", \"out\": \"vocab\"}]}}");
    cli_write(plain, "{\"tapegrad\": 1, \"task\": \"seq2seq\", \"input\": {\"type\": \"tokens\"}, "
                     "\"model\": {\"encoder\": {\"type\": \"gru\", \"embedding\": 4, \"hidden\": "
                     "4}}, \"train\": {\"steps\": 2}}");
    snprintf(msg, sizeof msg,
             "tapegrad train: %s:3: expected \"source<TAB>target\", found no tab\n", bad);
    expect_err((const char *[]){"train", d.spec, "--data", bad, NULL}, 1, msg);
    snprintf(msg, sizeof msg, "tapegrad train: %s:2: the target is empty\n", empty);
    expect_err((const char *[]){"train", d.spec, "--data", empty, NULL}, 1, msg);
    snprintf(msg, sizeof msg,
             "tapegrad translate: %s: task language_model: translate is for seq2seq models\n", lm);
    expect_err((const char *[]){"translate", lm, "--checkpoint", d.ckpt, NULL}, 2, msg);
    snprintf(msg, sizeof msg,
             "tapegrad eval: --beam is for seq2seq models, not task "
             "language_model\n");
    expect_err((const char *[]){"eval", lm, "--checkpoint", d.ckpt, "--beam", "2", NULL}, 2, msg);
    snprintf(msg, sizeof msg,
             "tapegrad run: %s: task seq2seq: run is for the layer-list tasks (seq2seq: train, "
             "eval, translate)\n",
             d.spec);
    expect_err((const char *[]){"run", d.spec, "--weights", d.ckpt, "--input", d.ckpt, "--out",
                                d.ckpt, NULL},
               2, msg);
    expect_err((const char *[]){"translate", d.spec, NULL}, 2,
               "tapegrad translate: --checkpoint is required (see 'tapegrad translate --help')\n");
    snprintf(msg, sizeof msg, "tapegrad translate: %s: cannot open: No such file or directory\n",
             d.ckpt);
    expect_err((const char *[]){"translate", d.spec, "--checkpoint", d.ckpt, NULL}, 1, msg);
    /* a model without attention has no maps; a target symbol it never saw */
    cli_out r = cli_run((const char *[]){"train", plain, "--data", d.data, "--checkpoint", d.ckpt,
                                         "--threads", "1", NULL},
                        0);
    cli_out_free(&r);
    snprintf(msg, sizeof msg,
             "tapegrad translate: --show-attention: the model of %s has no attention "
             "(model.attention)\n",
             plain);
    expect_err((const char *[]){"translate", plain, "--checkpoint", d.ckpt, "--show-attention",
                                d.att, NULL},
               2, msg);
    snprintf(msg, sizeof msg,
             "tapegrad eval: %s:1: target symbol 'x' is not in the model's target vocabulary\n",
             other);
    expect_err((const char *[]){"eval", plain, "--checkpoint", d.ckpt, "--data", other, NULL}, 1,
               msg);
    cli_rmdir(d.dir);
}
END_TEST

TCase *tcase_translate(void) {
    TCase *tc = tcase_create("translate");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, train_eval_translate);
    tcase_add_test(tc, resume_exact);
    tcase_add_test(tc, errors);
    return tc;
}
