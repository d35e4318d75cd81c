/* examples/lessons/long_bptt (fast variant): the lesson run at a short T
 * trains with recomputed segments, prints the process's peak RSS and the
 * tapes' peaks, finds the recomputed gradients the full tape's bits and
 * the recomputed tape smaller; a bad length is refused with its usage. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_util.h"

#ifndef LESSON_BIN_DIR
#define LESSON_BIN_DIR "build/float/examples/lessons"
#endif

/* The whole of a small file, NUL-terminated (heap). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The number after `key` on the first line that has it, or -1. */
static double after(const char *text, const char *key) {
    const char *p = strstr(text, key);
    return p ? atof(p + strlen(key)) : -1;
}

START_TEST(test_long_bptt_short) {
    char dir[256], out[512];
    ex_tmpdir(dir, sizeof dir);
    ex_path(out, sizeof out, dir, "out.txt");
    const char *argv[] = {LESSON_BIN_DIR "/long_bptt", "6", "--length", "96", NULL};
    int rc = ex_run(argv, out, dir);
    const char *text = slurp(out);
    ck_assert_msg(rc == 0, "long_bptt exited %d:\n%s", rc, text);
    ck_assert_msg(strstr(text, "full BPTT over T = 96 steps"), "%s", text);
    ck_assert_msg(strstr(text, "gradients: the same bits"), "%s", text);
    /* the first update's loss is about log(128) (uniform over 128 bytes) */
    double loss0 = after(text, "update   0  loss ");
    ck_assert_msg(fabs(loss0 - log(128.0)) < 0.2, "first loss %g:\n%s", loss0, text);
    double loss5 = after(text, "update   5  loss ");
    ck_assert_msg(loss5 > 0 && loss5 < loss0, "no progress: %g after %g", loss5, loss0);
    double rc_tape = after(text, "one step, recomputed: tape peak ");
    double full_tape = after(text, "one step, full tape:  tape peak ");
    double peak_rss = after(text, "process peak RSS ");
    ck_assert_msg(rc_tape > 0 && full_tape > rc_tape, "tape peaks %g (recomputed) vs %g (full)",
                  rc_tape, full_tape);
    ck_assert_msg(peak_rss > 1 && peak_rss < 4096, "peak RSS %g MB", peak_rss);
    ex_rmdir(dir);
}
END_TEST

START_TEST(test_long_bptt_bad_length) {
    char dir[256];
    ex_tmpdir(dir, sizeof dir);
    const char *argv[] = {LESSON_BIN_DIR "/long_bptt", "3", "--length", "1", NULL};
    ck_assert_int_eq(ex_run(argv, NULL, dir), 2);
    char err[512];
    ck_assert_msg(strstr(slurp(ex_path(err, sizeof err, dir, "stderr")), "--length T >= 2"),
                  "no usage on stderr");
    ex_rmdir(dir);
}
END_TEST

TCase *tcase_long_bptt(void) {
    TCase *tc = tcase_create("long_bptt");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_long_bptt_short);
    tcase_add_test(tc, test_long_bptt_bad_length);
    return tc;
}
