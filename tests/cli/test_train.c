/* train, eval and sample on tiny corpora: learning, the figures agreeing,
 * sampling rules, the CSV log, exact resumption, Ctrl-C. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "tapegrad.h"

/* A small LSTM language model; dropout (both kinds) so that resuming must
 * restore the generators too. */
static const char LM_SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"
    "   {\"type\": \"lstm\", \"hidden\": 32, \"num_layers\": 2, \"dropout\": 0.1},\n"
    "   {\"type\": \"dropout\", \"p\": 0.1}, {\"type\": \"linear\", \"out\": \"vocab\"}]},\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01, \"clip_norm\": 5,\n"
    "   \"schedule\": {\"type\": \"cosine\", \"warmup\": 5}},\n"
    " \"train\": {\"batch\": 8, \"seq_len\": 16, \"steps\": 150, \"eval_every\": 50,\n"
    "   \"log_every\": 25, \"valid_fraction\": 0.1, \"seed\": 5},\n"
    " \"sample\": {\"length\": 40, \"temperature\": 0.5, \"prime\": \"the \"}}\n";

typedef struct lm_dir {
    char dir[256], spec[300], data[300], ckpt[300], csv[300];
} lm_dir;

/* A text of short sentences over a few words (about 25 distinct bytes). */
static void lm_setup(lm_dir *d, const char *spec) {
    static const char *words[] = {"the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "it"};
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->spec, sizeof d->spec, d->dir, "lm.json");
    cli_path(d->data, sizeof d->data, d->dir, "text.txt");
    cli_path(d->ckpt, sizeof d->ckpt, d->dir, "lm.safetensors");
    cli_path(d->csv, sizeof d->csv, d->dir, "lm.csv");
    cli_write(d->spec, spec);
    FILE *f = fopen(d->data, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 11);
    for (int i = 0; i < 1200; i++) {
        int n = 3 + (int)tg_rng_below(&r, 4);
        for (int k = 0; k < n; k++)
            fprintf(f, "%s%s", k ? " " : (i % 7 ? "" : "The "), words[tg_rng_below(&r, 10)]);
        fputs(i % 5 == 4 ? ".\n" : ". ", f);
    }
    fclose(f);
}

static int64_t ckpt_step(const char *path) {
    char err[256];
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *s = tg_safetensors_meta(f, "tapegrad.cli.step");
    ck_assert_ptr_nonnull(s);
    int64_t n = atoll(s);
    tg_safetensors_close(f);
    return n;
}

START_TEST(train_eval_sample) {
    lm_dir d;
    lm_setup(&d, LM_SPEC);
    cli_out t = cli_run((const char *[]){"train", d.spec, "--data", d.data, "--checkpoint", d.ckpt,
                                         "--threads", "1", NULL},
                        0);
    /* plain progress lines (not a terminal), validations, the final figure */
    ck_assert_ptr_nonnull(strstr(t.out, "\nstep 25/150  loss "));
    ck_assert_ptr_nonnull(strstr(t.out, "\nstep 50: validation loss "));
    const char *fin = strstr(t.out, "final validation loss ");
    ck_assert_ptr_nonnull(fin);
    double final_loss = atof(fin + strlen("final validation loss "));
    const char *bpc_at = strstr(fin, " = ");
    ck_assert_ptr_nonnull(bpc_at);
    ck_assert_double_eq_tol(atof(bpc_at + 3), final_loss / log(2.0), 1e-3);
    /* learned: far below the unigram entropy of this text (about 3.3 nats) */
    ck_assert_msg(final_loss < 1.6, "final validation loss %g", final_loss);

    /* the log: a header and one row per step, validation every 50 */
    char *csv = test_read_file(d.csv);
    ck_assert_ptr_nonnull(csv);
    const char *head = "step,train_loss,valid_loss,lr,grad_norm,valid_accuracy,valid_bpc\n1,";
    ck_assert(strncmp(csv, head, strlen(head)) == 0);
    int rows = 0, with_valid = 0;
    for (char *p = strchr(csv, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        long long step;
        double tl, vl;
        rows++;
        ck_assert_int_eq(sscanf(p, "%lld,%lf,", &step, &tl), 2);
        ck_assert_int_eq(step, rows);
        if (sscanf(strchr(p, ',') + 1, "%*[^,],%lf", &vl) == 1) {
            with_valid++;
            ck_assert_int_eq(step % 50, 0);
            /* the validation's accuracy and bits per character, the last two columns */
            double acc, bpc;
            ck_assert_int_eq(sscanf(p, "%*[^,],%*[^,],%*[^,],%*[^,],%*[^,],%lf,%lf", &acc, &bpc),
                             2);
            ck_assert_double_eq_tol(bpc, vl / log(2.0), 1e-5);
            ck_assert(acc > 0 && acc <= 1);
        }
    }
    ck_assert_int_eq(rows, 150);
    ck_assert_int_eq(with_valid, 3);
    free(csv);

    /* eval on the held-out end gives the run's final validation figures */
    cli_out e = cli_exec((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, NULL});
    ck_assert_msg(e.status == 0, "%s", e.err);
    ck_assert_double_eq_tol(cli_value(e.out, "loss"), final_loss, 1e-4);
    ck_assert_double_eq_tol(cli_value(e.out, "bits_per_character"), final_loss / log(2.0), 1e-3);
    double acc = cli_value(e.out, "accuracy");
    ck_assert_msg(acc > 0.4 && acc <= 1, "accuracy %g", acc);
    /* eval on a file of its own: all of it */
    char other[300];
    cli_path(other, sizeof other, d.dir, "other.txt");
    cli_write(other, "the cat sat on the mat. a dog ran to it. the dog sat on a cat.\n");
    cli_out_free(&e);
    e = cli_exec((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, "--data", other, NULL});
    ck_assert_msg(e.status == 0, "%s", e.err);
    ck_assert_ptr_nonnull(strstr(e.out, "(all of it), 56 targets")); /* 8 streams of 7 */
    ck_assert(cli_value(e.out, "loss") < 2.5);
    cli_out_free(&e);
    cli_write(other, "unknown bytes: Q\n");
    e = cli_exec((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, "--data", other, NULL});
    ck_assert_int_eq(e.status, 1);
    ck_assert_ptr_nonnull(
        strstr(e.err, "other.txt: byte 0x75 at offset 0 is not in the model's vocabulary"));
    cli_out_free(&e);

    /* sampling: primer first, then `length` characters; greedy is
     * deterministic, a seed repeats its text, another seed does not */
    cli_out s1 = cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, NULL});
    ck_assert_msg(s1.status == 0, "%s", s1.err);
    ck_assert_int_eq(strlen(s1.out), 4 + 40 + 1);
    ck_assert(strncmp(s1.out, "the ", 4) == 0);
    cli_out s2 = cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, NULL});
    ck_assert_str_eq(s1.out, s2.out);
    cli_out s3 = cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--seed", "9",
                                           "--temperature", "1.5", NULL});
    ck_assert_str_ne(s1.out, s3.out);
    cli_out g1 =
        cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--prime", "The dog",
                                  "--temperature", "0", "--length", "30", NULL});
    cli_out g2 =
        cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--prime", "The dog",
                                  "--temperature", "0", "--length", "30", "--seed", "123", NULL});
    ck_assert_int_eq(g1.status, 0);
    ck_assert_str_eq(g1.out, g2.out);
    ck_assert_int_eq(strlen(g1.out), 7 + 30 + 1);
    /* top-k 1 is greedy */
    cli_out k1 = cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--prime",
                                           "The dog", "--top-k", "1", "--length", "30", NULL});
    ck_assert_str_eq(k1.out, g1.out);
    cli_out bad = cli_exec(
        (const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--prime", "XYZ", NULL});
    ck_assert_int_eq(bad.status, 2);
    ck_assert_str_eq(
        bad.err, "tapegrad sample: --prime: byte 0x58 ('X') is not in the model's vocabulary\n");
    cli_out_free(&t);
    cli_out_free(&s1);
    cli_out_free(&s2);
    cli_out_free(&s3);
    cli_out_free(&g1);
    cli_out_free(&g2);
    cli_out_free(&k1);
    cli_out_free(&bad);
    cli_rmdir(d.dir);
}
END_TEST

/* 20 steps at once, or 10 and then 10 more from the checkpoint: the same
 * bytes (weights, Adam's state, carried state, generators, position). */
START_TEST(resume_is_exact) {
    lm_dir d;
    lm_setup(&d, LM_SPEC);
    char a[300], b[300];
    cli_path(a, sizeof a, d.dir, "a.safetensors");
    cli_path(b, sizeof b, d.dir, "b.safetensors");
    cli_out r1 = cli_run((const char *[]){"train", d.spec, "--data", d.data, "--steps", "20",
                                          "--checkpoint", a, NULL},
                         0);
    cli_out r2 = cli_run((const char *[]){"train", d.spec, "--data", d.data, "--steps", "10",
                                          "--checkpoint", b, NULL},
                         0);
    ck_assert_int_eq(ckpt_step(b), 10);
    ck_assert(!cli_same_file(a, b));
    cli_out r3 =
        cli_run((const char *[]){"train", d.spec, "--steps", "20", "--resume", b, NULL}, 0);
    ck_assert_ptr_nonnull(strstr(r3.out, "steps 11..20"));
    ck_assert_int_eq(ckpt_step(b), 20);
    ck_assert_msg(cli_same_file(a, b), "resumed checkpoint differs");
    /* a resumed log continues the same rows (the 10-step run validated at
     * its end, the uninterrupted one did not) */
    char csv_a[300], csv_b[300];
    cli_path(csv_a, sizeof csv_a, d.dir, "a.csv");
    cli_path(csv_b, sizeof csv_b, d.dir, "b.csv");
    char *la = test_read_file(csv_a), *lb = test_read_file(csv_b);
    ck_assert_ptr_nonnull(la);
    ck_assert_ptr_nonnull(lb);
    ck_assert_str_eq(strstr(la, "\n11,"), strstr(lb, "\n11,"));
    free(la);
    free(lb);
    cli_out_free(&r1);
    cli_out_free(&r2);
    cli_out_free(&r3);
    cli_rmdir(d.dir);
}
END_TEST

/* Ctrl-C: a checkpoint at the step reached, status 130, and resuming from
 * it equals not having stopped. */
START_TEST(interrupt_then_resume) {
    lm_dir d;
    lm_setup(&d, LM_SPEC);
    char a[300], b[300];
    cli_path(a, sizeof a, d.dir, "a.safetensors");
    cli_path(b, sizeof b, d.dir, "b.safetensors");
    pid_t pid = cli_spawn((const char *[]){"train", d.spec, "--data", d.data, "--steps", "1000000",
                                           "--checkpoint", b, NULL},
                          d.dir);
    char csv[300];
    cli_path(csv, sizeof csv, d.dir, "b.csv");
    for (int i = 0; i < 6000; i++) { /* until a few steps are logged (60 s at most) */
        char *log = test_read_file(csv);
        int lines = 0;
        for (char *p = log; p && *p; p++) lines += *p == '\n';
        free(log);
        if (lines > 3) break;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGINT);
    ck_assert_int_eq(cli_wait(pid), 130);
    char path[300];
    char *out = test_read_file(cli_path(path, sizeof path, d.dir, "stdout"));
    ck_assert_ptr_nonnull(strstr(out, "interrupted after step "));
    int64_t k = ckpt_step(b);
    ck_assert_int_ge(k, 3);
    ck_assert_int_eq(k, atoll(strstr(out, "interrupted after step ") + 23));
    free(out);
    char steps[32];
    snprintf(steps, sizeof steps, "%lld", (long long)k + 5);
    cli_out r1 = cli_run((const char *[]){"train", d.spec, "--data", d.data, "--steps", steps,
                                          "--checkpoint", a, NULL},
                         0);
    cli_out r2 =
        cli_run((const char *[]){"train", d.spec, "--steps", steps, "--resume", b, NULL}, 0);
    ck_assert_msg(cli_same_file(a, b), "resumed after Ctrl-C at step %lld: checkpoints differ",
                  (long long)k);
    cli_out_free(&r1);
    cli_out_free(&r2);
    cli_rmdir(d.dir);
}
END_TEST

/* Texts that end with the end marker (0x03): sampling stops there. */
START_TEST(end_marker_stops) {
    lm_dir d;
    lm_setup(&d, LM_SPEC);
    char text[6000 + 1];
    for (int i = 0; i < 500; i++) memcpy(text + 12 * i, "hello world\003", 12);
    text[6000] = '\0';
    cli_write(d.data, text);
    cli_out t = cli_run((const char *[]){"train", d.spec, "--data", d.data, "--steps", "200",
                                         "--checkpoint", d.ckpt, NULL},
                        0);
    cli_out s = cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--prime", "he",
                                          "--temperature", "0", "--length", "100", NULL});
    ck_assert_int_eq(s.status, 0);
    ck_assert_str_eq(s.out, "hello world\n");
    /* without a primer it starts as a text does, after an end marker (from
     * a zero state, which the model saw only at the start of its streams) */
    cli_out_free(&s);
    s = cli_exec((const char *[]){"sample", d.spec, "--checkpoint", d.ckpt, "--prime", "",
                                  "--temperature", "0", "--length", "100", NULL});
    size_t n = strlen(s.out);
    ck_assert_msg(n <= 12 && n >= 6 && strcmp(s.out + n - 6, "world\n") == 0, "%s", s.out);
    cli_out_free(&t);
    cli_out_free(&s);
    cli_rmdir(d.dir);
}
END_TEST

/* Failures after the spec: status 1 and a message. */
START_TEST(run_failures) {
    lm_dir d;
    lm_setup(&d, LM_SPEC);
    cli_out r = cli_exec((const char *[]){"train", d.spec, "--data", "/nonexistent.txt", NULL});
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "tapegrad train: /nonexistent.txt: No such file or directory\n");
    cli_out_free(&r);
    cli_expect_err((const char *[]){"eval", d.spec, "--checkpoint", d.data, NULL}, 1,
                   "tapegrad eval: ");
    /* a vocabulary given in the spec that the data does not fit: a bad spec */
    char spec2[300];
    cli_path(spec2, sizeof spec2, d.dir, "small_vocab.json");
    cli_write(
        spec2,
        "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
        "\"vocab\": 5}, \"model\": {\"layers\": [{\"type\": \"one_hot\"}, {\"type\": \"rnn\", "
        "\"hidden\": 4}, {\"type\": \"linear\", \"out\": \"vocab\"}]}}");
    r = cli_exec((const char *[]){"train", spec2, "--data", d.data, NULL});
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(
        strstr(r.err, "small_vocab.json: input.vocab: 5 does not cover the data's vocabulary of "));
    cli_out_free(&r);
    cli_rmdir(d.dir);
}
END_TEST

TCase *tcase_train(void) {
    TCase *tc = tcase_create("train");
    tcase_add_test(tc, train_eval_sample);
    tcase_add_test(tc, resume_is_exact);
    tcase_add_test(tc, interrupt_then_resume);
    tcase_add_test(tc, end_marker_stops);
    tcase_add_test(tc, run_failures);
    return tc;
}
