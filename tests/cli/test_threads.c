/* --threads N is a ceiling (core/threads_auto.c): beside busy processes
 * train and eval take fewer threads, step by step, and the results are
 * the same bytes as at one thread, or at N fixed (TAPEGRAD_FIXED_THREADS). */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"

static void setup(char *dir, size_t n, char *spec, char *data) {
    cli_tmpdir(dir, n);
    cli_path(spec, 300, dir, "s.json");
    cli_path(data, 300, dir, "t.txt");
    cli_write(spec, "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": "
                    "\"tokens\"}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},"
                    "{\"type\": \"lstm\", \"hidden\": 96}, {\"type\": \"linear\", \"out\": "
                    "\"vocab\"}]}, \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},"
                    "\"train\": {\"batch\": 16, \"seq_len\": 32, \"steps\": 40, \"eval_every\": 20,"
                    "\"log_every\": 100, \"valid_fraction\": 0.2, \"seed\": 3}}");
    char text[6001];
    for (int i = 0; i < 6000; i++) text[i] = "a stitch in time saves nine\n"[i % 28];
    text[6000] = '\0';
    cli_write(data, text);
}

static void train(const char *spec, const char *data, const char *ckpt, const char *threads) {
    cli_out r = cli_run((const char *[]){"train", spec, "--data", data, "--checkpoint", ckpt,
                                         "--threads", threads, NULL},
                        0);
    cli_out_free(&r);
}

static double eval_loss(const char *spec, const char *ckpt, const char *threads) {
    cli_out r = cli_run((const char *[]){"eval", spec, "--checkpoint", ckpt, "--threads", threads,
                                         NULL},
                        0);
    double loss = cli_value(r.out, "loss");
    cli_out_free(&r);
    return loss;
}

START_TEST(busy_neighbours_change_no_byte) {
    char dir[256], spec[300], data[300], one[300], two[300], fixed[300];
    setup(dir, sizeof dir, spec, data);
    cli_path(one, 300, dir, "one.safetensors");
    cli_path(two, 300, dir, "two.safetensors");
    cli_path(fixed, 300, dir, "fixed.safetensors");
    train(spec, data, one, "1");
    /* spinning children: the 2-thread runs take fewer threads part of the time */
    pid_t kids[2];
    for (int i = 0; i < 2; i++)
        if ((kids[i] = fork()) == 0)
            for (volatile unsigned long x = 0;; x++) continue;
    train(spec, data, two, "2");
    double l2 = eval_loss(spec, two, "2");
    setenv("TAPEGRAD_FIXED_THREADS", "1", 1);
    train(spec, data, fixed, "2");
    unsetenv("TAPEGRAD_FIXED_THREADS");
    for (int i = 0; i < 2; i++) kill(kids[i], SIGKILL), waitpid(kids[i], NULL, 0);
    ck_assert(cli_same_file(one, two));
    ck_assert(cli_same_file(one, fixed));
    double l1 = eval_loss(spec, one, "1");
    ck_assert_msg(l1 == l2 && l1 > 0, "eval loss %.17g at 1 thread, %.17g at up to 2", l1, l2);
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_threads(void) {
    TCase *tc = tcase_create("threads");
    tcase_add_test(tc, busy_neighbours_change_no_byte);
    return tc;
}
