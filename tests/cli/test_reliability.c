/* Runs that could mislead: a diverging run stops (exit 3) before the
 * weights change and keeps the last good checkpoint; the skip policy and
 * its limit; --detect-anomaly names the op; resume rules; a corpus that is
 * not text; stale temporary files; no output from a run that fails its
 * input checks; a save that hits a file size limit. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "tapegrad.h"

#define ck_assert_has(s, part)                                                                     \
    ck_assert_msg(strstr((s), (part)) != NULL, "'%s' does not contain '%s'", (s), (part))

/* SGD with a huge learning rate and no clipping: the loss is NaN by step
 * 3. %s: the rate, more train keys. */
static const char SGD_SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8}, {\"type\": \"lstm\", "
    "\"hidden\": 16},\n   {\"type\": \"linear\", \"out\": \"vocab\"}]},\n"
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": %s},\n"
    " \"train\": {\"batch\": 4, \"seq_len\": 16, \"steps\": 20, \"log_every\": 0, \"eval_every\": "
    "0%s}}\n";

/* The rate, and the first step whose loss is not finite (in double, a
 * rate of 1e300 saturates the LSTM and the loss stays finite). */
#ifdef TG_DOUBLE
#define HUGE_LR "1e308"
#define FIRST_BAD "step 2: the loss is inf, the gradient norm "
#define LIMIT_STEP "step 5: "
#else
#define HUGE_LR "1e30"
#define FIRST_BAD "step 3: the loss is NaN, the gradient norm NaN: not finite"
#define LIMIT_STEP "step 6: "
#endif

typedef struct rdir {
    char dir[256], spec[300], data[300], ckpt[300], csv[300], svg[300];
} rdir;

static void setup(rdir *d, const char *lr, const char *train_keys) {
    cli_tmpdir(d->dir, sizeof d->dir);
    cli_path(d->spec, sizeof d->spec, d->dir, "sgd.json");
    cli_path(d->data, sizeof d->data, d->dir, "text.txt");
    cli_path(d->ckpt, sizeof d->ckpt, d->dir, "sgd.safetensors");
    cli_path(d->csv, sizeof d->csv, d->dir, "sgd.csv");
    cli_path(d->svg, sizeof d->svg, d->dir, "sgd.svg"); /* the log's chart */
    char spec[2048];
    snprintf(spec, sizeof spec, SGD_SPEC, lr, train_keys);
    cli_write(d->spec, spec);
    FILE *f = fopen(d->data, "w");
    ck_assert_ptr_nonnull(f);
    static const char *words[] = {"the", "cat", "sat", "on", "mat", "a", "dog", "ran"};
    for (int i = 0; i < 2000; i++)
        fprintf(f, "%s%s", words[(i * 7 + i / 3) % 8], i % 9 ? " " : ".\n");
    fclose(f);
}

/* Trains d's spec on its data into its checkpoint up to step `steps`
 * (flag: one more option, or NULL), which must succeed. */
static void train_ok(const rdir *d, const char *steps, const char *flag) {
    cli_out r = cli_run((const char *[]){"train", d->spec, "--data", d->data, "--checkpoint",
                                         d->ckpt, "--steps", steps, "--threads", "1", flag, NULL},
                        0);
    cli_out_free(&r);
}

static void copy_file(const char *from, const char *to) {
    cli_out c = cli_exec_sh((const char *[]){"-c", "cp \"$0\" \"$1\"", from, to, NULL});
    ck_assert_int_eq(c.status, 0);
    cli_out_free(&c);
}

/* Every value of every tensor of a checkpoint is finite. */
static void assert_finite_checkpoint(const char *path) {
    char err[256];
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    for (int i = 0; i < tg_safetensors_count(f); i++) {
        const tg_tensor *t = tg_safetensors_get(f, tg_safetensors_name(f, i));
        for (int64_t k = 0; t && k < t->numel; k++)
            ck_assert_msg(isfinite((double)t->data[k]), "%s[%lld]", tg_safetensors_name(f, i),
                          (long long)k);
    }
    tg_safetensors_close(f);
}

/* The names in dir, sorted into one string "a b c". */
static void listing(const char *dir, char *buf, size_t n) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s | tr '\\n' ' '", dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = fread(buf, 1, n - 1, p);
    buf[got] = '\0';
    pclose(p);
}

/* A huge lr: the run stops at the first non-finite step with status 3, names
 * the step and the quantity, and leaves the checkpoint of step 1 as it
 * was; from scratch without checkpoints it writes none. */
START_TEST(diverging_run_stops) {
    rdir d;
    setup(&d, HUGE_LR, "");
    train_ok(&d, "1", NULL);
    char copy[300];
    copy_file(d.ckpt, cli_path(copy, sizeof copy, d.dir, "step1.safetensors"));
    cli_out r =
        cli_exec((const char *[]){"train", d.spec, "--resume", d.ckpt, "--threads", "1", NULL});
    ck_assert_int_eq(r.status, 3);
    ck_assert_has(r.err, "tapegrad train: " FIRST_BAD);
    ck_assert_has(r.err, "stopped before the optimizer changed the weights (train.on_nonfinite "
                         "\"stop\"); the last good checkpoint is ");
    ck_assert_has(r.err, "sgd.safetensors (step 1)\n");
    cli_out_free(&r);
    ck_assert(cli_same_file(d.ckpt, copy));
    assert_finite_checkpoint(d.ckpt);
    /* and loads */
    r = cli_run((const char *[]){"eval", d.spec, "--checkpoint", d.ckpt, "--threads", "1", NULL},
                0);
    cli_out_free(&r);
    /* from scratch with no periodic checkpoint: none is written */
    remove(d.ckpt);
    r = cli_exec((const char *[]){"train", d.spec, "--data", d.data, "--checkpoint", d.ckpt,
                                  "--threads", "1", NULL});
    ck_assert_int_eq(r.status, 3);
    ck_assert_has(r.err, "; no checkpoint was written\n");
    ck_assert_int_ne(access(d.ckpt, F_OK), 0);
    cli_out_free(&r);
    cli_rmdir(d.dir);
}
END_TEST

/* A checkpoint due after a step that made the weights infinite is not
 * written: the one before stays. */
START_TEST(nonfinite_weights_not_saved) {
    rdir d;
    setup(&d, HUGE_LR, ", \"checkpoint_every\": 1");
    cli_out r = cli_exec((const char *[]){"train", d.spec, "--data", d.data, "--checkpoint", d.ckpt,
                                          "--threads", "1", NULL});
    ck_assert_int_eq(r.status, 3);
#ifndef TG_DOUBLE /* in double the loss of step 2 is inf before its weights are */
    ck_assert_has(r.err, "is not finite after the optimizer's step; ");
    ck_assert_has(r.err, "sgd.safetensors was not written\ntapegrad train: ");
#endif
    cli_out_free(&r);
    if (access(d.ckpt, F_OK) == 0) assert_finite_checkpoint(d.ckpt);
    cli_rmdir(d.dir);
}
END_TEST

/* "skip": non-finite steps are skipped with one message per run of them;
 * max_skips in a row end the run with status 3. */
START_TEST(skip_policy_limit) {
    rdir d;
    setup(&d, HUGE_LR, ", \"on_nonfinite\": \"skip\", \"max_skips\": 4");
    cli_out r = cli_exec((const char *[]){"train", d.spec, "--data", d.data, "--checkpoint", d.ckpt,
                                          "--threads", "1", NULL});
    ck_assert_int_eq(r.status, 3);
    ck_assert_has(r.err, "tapegrad train: " FIRST_BAD);
    ck_assert_has(r.err, "; skipped (train.on_nonfinite \"skip\")\n");
    ck_assert_int_eq(cli_count(r.err, "skipped (train.on_nonfinite"), 1);
    ck_assert_has(r.err, "tapegrad train: " LIMIT_STEP);
    ck_assert_has(r.err, "4 steps in a row were not finite (train.max_skips)\n");
    cli_out_free(&r);
    /* a bad policy is a spec error */
    setup(&d, "0.1", ", \"on_nonfinite\": \"ignore\"");
    cli_expect_err((const char *[]){"train", d.spec, "--data", d.data, NULL}, 2,
                   "train.on_nonfinite: unknown policy 'ignore'");
    cli_rmdir(d.dir);
}
END_TEST

/* --detect-anomaly names the op, its scope and its inputs' ranges. */
START_TEST(detect_anomaly_names_op) {
    rdir d;
    setup(&d, HUGE_LR, "");
    cli_out r = cli_exec((const char *[]){"train", d.spec, "--data", d.data, "--checkpoint", d.ckpt,
                                          "--detect-anomaly", "--threads", "1", NULL});
    ck_assert_int_eq(r.status, 3);
    ck_assert_has(r.err, "tapegrad train: step 2: anomaly in forward: node 0 linear "
                         "(lstm.l0.input_per_entry) produced a non-finite value, ");
    ck_assert_has(r.err, "; input 2 (1.weight_ih_l0) [");
    cli_out_free(&r);
    /* a healthy run is not disturbed by it */
    setup(&d, "0.1", "");
    train_ok(&d, "3", "--detect-anomaly");
    cli_rmdir(d.dir);
}
END_TEST

/* Resuming below the checkpoint's step, or with a spec of another model:
 * status 2, a message, and the checkpoint and log untouched. */
START_TEST(resume_rules) {
    rdir d;
    setup(&d, "0.1", "");
    train_ok(&d, "4", NULL);
    char saved[300], *log = test_read_file(d.csv);
    copy_file(d.ckpt, cli_path(saved, sizeof saved, d.dir, "saved.bin"));
    cli_expect_err((const char *[]){"train", d.spec, "--resume", d.ckpt, "--steps", "3", NULL}, 2,
                   "tapegrad train: --steps 3 is below the checkpoint's step 4 (");
    char other[300];
    cli_path(other, sizeof other, d.dir, "other.json");
    char *spec = test_read_file(d.spec);
    char *at = strstr(spec, "\"hidden\": 16");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "\"hidden\": 18", 12);
    cli_write(other, spec);
    cli_expect_err((const char *[]){"train", other, "--resume", d.ckpt, "--steps", "6", NULL}, 2,
                   "other.json: the spec builds another model than ");
    cli_expect_err((const char *[]){"train", other, "--resume", d.ckpt, "--steps", "6", NULL}, 2,
                   ": model.layers[1].hidden: 16 in the checkpoint's spec, 18 now\n");
    char *log_after = test_read_file(d.csv);
    ck_assert(cli_same_file(d.ckpt, saved));
    ck_assert_str_eq(log_after, log);
    /* another learning rate is not another model: it resumes */
    char *lr = strstr(spec, "\"lr\": 0.1");
    ck_assert_ptr_nonnull(lr);
    memcpy(lr, "\"lr\": 0.2", 9);
    memcpy(at, "\"hidden\": 16", 12);
    cli_write(other, spec);
    cli_out r = cli_run((const char *[]){"train", other, "--resume", d.ckpt, "--steps", "5",
                                         "--threads", "1", NULL},
                        0);
    cli_out_free(&r);
    free(spec), free(log), free(log_after);
    cli_rmdir(d.dir);
}
END_TEST

/* A file that is not text is refused (unless --binary), and a run that
 * fails its input checks writes nothing at all. */
START_TEST(not_text_refused) {
    rdir d;
    setup(&d, "0.1", "");
    char bin[300], names[1024];
    cli_path(bin, sizeof bin, d.dir, "data.bin");
    FILE *f = fopen(bin, "wb");
    for (int i = 0; i < 4000; i++) fputc(i % 251 == 7 ? 0 : 'a' + i % 26, f);
    fclose(f);
    cli_expect_err((const char *[]){"train", d.spec, "--data", bin, "--checkpoint", d.ckpt, NULL},
                   1,
                   "data.bin: not text: a NUL byte at offset 7 (--binary trains on it anyway)\n");
    f = fopen(bin, "wb"); /* Latin-1 bytes with no UTF-8 meaning: 1 in 20 is text */
    for (int i = 0; i < 4000; i++) fputc(i % 20 == 3 ? 0xE9 : 'a' + i % 26, f);
    fclose(f);
    cli_out r = cli_run((const char *[]){"train", d.spec, "--data", bin, "--checkpoint", d.ckpt,
                                         "--steps", "1", "--threads", "1", NULL},
                        0);
    cli_out_free(&r);
    remove(d.ckpt), remove(d.csv), remove(d.svg);
    f = fopen(bin, "wb"); /* 1 in 4 is not */
    for (int i = 0; i < 4000; i++) fputc(i % 4 == 3 ? 0xE9 : 'a' + i % 26, f);
    fclose(f);
    cli_expect_err((const char *[]){"train", d.spec, "--data", bin, "--checkpoint", d.ckpt, NULL},
                   1,
                   "data.bin: not text: 1000 of its 4000 bytes are not UTF-8 (the first at offset "
                   "3; --binary trains on it anyway)\n");
    listing(d.dir, names, sizeof names);
    ck_assert_str_eq(names, "data.bin sgd.json text.txt ");
    r = cli_run((const char *[]){"train", d.spec, "--data", bin, "--binary", "--checkpoint", d.ckpt,
                                 "--steps", "1", "--threads", "1", NULL},
                0);
    cli_out_free(&r);
    remove(d.ckpt), remove(d.csv), remove(d.svg);
    /* other input failures: a missing file, a bad spec, resume of a non-checkpoint */
    cli_expect_err((const char *[]){"train", d.spec, "--data", "/nonexistent", NULL}, 1,
                   "/nonexistent");
    cli_expect_err((const char *[]){"train", d.spec, "--resume", d.data, NULL}, 1, "text.txt");
    cli_write(d.spec, "{\"tapegrad\": 1}");
    cli_expect_err((const char *[]){"train", d.spec, "--data", d.data, NULL}, 2, "sgd.json");
    listing(d.dir, names, sizeof names);
    ck_assert_str_eq(names, "data.bin sgd.json text.txt ");
    cli_rmdir(d.dir);
}
END_TEST

/* PATH.tmp.<pid> of a process that is gone is removed on start; that of a
 * live process, and other names, are not. */
START_TEST(stale_temps_removed) {
    rdir d;
    setup(&d, "0.1", "");
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* its pid is now free */
    char dead[400], live[400], other[400], names[2048], want[2048];
    snprintf(dead, sizeof dead, "%s.tmp.%ld", d.ckpt, (long)child);
    snprintf(live, sizeof live, "%s.tmp.%ld", d.ckpt, (long)getpid());
    snprintf(other, sizeof other, "%s/notes.txt.tmp.%ld", d.dir, (long)child);
    cli_write(dead, "half a checkpoint");
    cli_write(live, "a save under way");
    cli_write(other, "not ours");
    cli_out r = cli_run((const char *[]){"train", d.spec, "--data", d.data, "--checkpoint", d.ckpt,
                                         "--steps", "1", "--threads", "1", NULL},
                        0);
    ck_assert_has(r.err, "tapegrad train: removed ");
    ck_assert_has(r.err, "(killed while it saved a checkpoint)\n");
    cli_out_free(&r);
    listing(d.dir, names, sizeof names);
    snprintf(want, sizeof want,
             "notes.txt.tmp.%ld sgd.csv sgd.json sgd.safetensors "
             "sgd.safetensors.tmp.%ld sgd.svg text.txt ",
             (long)child, (long)getpid());
    ck_assert_str_eq(names, want);
    cli_rmdir(d.dir);
}
END_TEST

/* A checkpoint save that hits a file size limit (RLIMIT_FSIZE, with
 * SIGXFSZ ignored so that the write fails with EFBIG): status 1 with the
 * reason, the old checkpoint intact, no temporary file left. */
START_TEST(save_hits_size_limit) {
    rdir d;
    setup(&d, "0.1", "");
    train_ok(&d, "2", NULL);
    char saved[300], errpath[300], names[1024];
    cli_path(errpath, sizeof errpath, d.dir, "stderr.txt");
    copy_file(d.ckpt, cli_path(saved, sizeof saved, d.dir, "saved.bin"));
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {4096, 4096}; /* the log fits; the checkpoint (about 10 kB) does not */
        signal(SIGXFSZ, SIG_IGN);
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(99);
        dup2(fd, 2), dup2(fd, 1);
        execl(cli_binary(), "tapegrad", "train", d.spec, "--resume", d.ckpt, "--steps", "4",
              "--threads", "1", (char *)NULL);
        _exit(98);
    }
    int st;
    waitpid(pid, &st, 0);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    char *msg = test_read_file(errpath);
    ck_assert_has(msg, "sgd.safetensors: cannot write ");
    ck_assert_has(msg, ": File too large\n");
    ck_assert(cli_same_file(d.ckpt, saved));
    remove(errpath), remove(saved);
    listing(d.dir, names, sizeof names);
    ck_assert_str_eq(names, "sgd.csv sgd.json sgd.safetensors sgd.svg text.txt ");
    free(msg);
    cli_rmdir(d.dir);
}
END_TEST

TCase *tcase_reliability(void) {
    TCase *tc = tcase_create("reliability");
    tcase_add_test(tc, diverging_run_stops);
    tcase_add_test(tc, nonfinite_weights_not_saved);
    tcase_add_test(tc, skip_policy_limit);
    tcase_add_test(tc, detect_anomaly_names_op);
    tcase_add_test(tc, resume_rules);
    tcase_add_test(tc, not_text_refused);
    tcase_add_test(tc, stale_temps_removed);
    tcase_add_test(tc, save_hits_size_limit);
    return tc;
}
