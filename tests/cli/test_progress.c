/* train's progress: lines every few seconds whatever log_every is (here
 * TAPEGRAD_PROGRESS_SECONDS makes it a few hundredths), each with steps/s
 * and the time left; one line each in a pipe, one line rewritten in place
 * on a terminal. */
#define _XOPEN_SOURCE 700 /* posix_openpt */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"

/* log_every far beyond the run: only the time decides the lines between */
static void setup(char *dir, size_t n, char *spec, char *data, char *ckpt) {
    cli_tmpdir(dir, n);
    cli_path(spec, 300, dir, "s.json");
    cli_path(data, 300, dir, "t.txt");
    cli_path(ckpt, 300, dir, "s.safetensors");
    cli_write(spec, "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": "
                    "\"tokens\"}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},"
                    "{\"type\": \"lstm\", \"hidden\": 32}, {\"type\": \"linear\", \"out\": "
                    "\"vocab\"}]}, \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},"
                    "\"train\": {\"batch\": 8, \"seq_len\": 16, \"steps\": 600, \"eval_every\": 0,"
                    "\"log_every\": 100000, \"valid_fraction\": 0.1, \"seed\": 1}}");
    char text[4001];
    for (int i = 0; i < 4000; i++) text[i] = "the cat sat on the mat\n"[i % 23];
    text[4000] = '\0';
    cli_write(data, text);
}

START_TEST(lines_by_time_in_a_pipe) {
    char dir[256], spec[300], data[300], ckpt[300];
    setup(dir, sizeof dir, spec, data, ckpt);
    setenv("TAPEGRAD_PROGRESS_SECONDS", "0.01", 1);
    cli_out r = cli_run((const char *[]){"train", spec, "--data", data, "--checkpoint", ckpt,
                                         "--threads", "1", NULL},
                        0);
    /* the last step's line (log_every's rule) and, before it, lines by time */
    ck_assert_ptr_nonnull(strstr(r.out, "\nstep 600/600  loss "));
    int lines = cli_count(r.out, "/600  loss ");
    ck_assert_msg(lines >= 3, "%d progress lines:\n%s", lines, r.out);
    const char *first = strstr(r.out, "\nstep ");
    long long at = atoll(first + 6);
    ck_assert_msg(at > 0 && at < 600, "first line at step %lld", at);
    ck_assert_ptr_null(strchr(r.out, '\r'));
    /* "12.3 steps/s  4567 tok/s  ETA 3s" on each */
    ck_assert_int_eq(cli_count(r.out, " steps/s  "), lines);
    ck_assert_int_eq(cli_count(r.out, " tok/s  ETA "), lines);
    const char *sps = strstr(first, " steps/s");
    while (sps[-1] != ' ') sps--;
    ck_assert_msg(atof(sps) > 0, "%.80s", first);
    cli_out_free(&r);
    cli_rmdir(dir);
}
END_TEST

/* The same run with its output on a pseudo-terminal. */
START_TEST(one_line_on_a_terminal) {
    char dir[256], spec[300], data[300], ckpt[300];
    setup(dir, sizeof dir, spec, data, ckpt);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(grantpt(m), 0);
    ck_assert_int_eq(unlockpt(m), 0);
    const char *slave = ptsname(m);
    ck_assert_ptr_nonnull(slave);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int s = open(slave, O_RDWR);
        if (s < 0) _exit(126);
        dup2(s, 1), dup2(s, 2);
        execl(cli_binary(), "tapegrad", "train", spec, "--data", data, "--checkpoint", ckpt,
              "--threads", "1", (char *)NULL);
        _exit(127);
    }
    static char out[1 << 20];
    size_t n = 0;
    for (;;) { /* until the child's side closes (EIO) */
        ssize_t k = read(m, out + n, sizeof out - 1 - n);
        if (k > 0) n += (size_t)k;
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0 || n == sizeof out - 1) break;
    }
    out[n] = '\0';
    close(m);
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d:\n%s", st, out);
    /* redrawn in place: carriage return, the line, clear to its end; the
     * terminal turns the newlines into \r\n */
    ck_assert_ptr_nonnull(strstr(out, "\rstep 600/600  loss "));
    ck_assert_ptr_nonnull(strstr(out, "\033[K"));
    ck_assert_ptr_null(strstr(out, "\nstep 600/600"));
    ck_assert_ptr_nonnull(strstr(out, "\r\ndone: 600 steps in "));
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_progress(void) {
    TCase *tc = tcase_create("progress");
    tcase_add_test(tc, lines_by_time_in_a_pipe);
    tcase_add_test(tc, one_line_on_a_terminal);
    return tc;
}
