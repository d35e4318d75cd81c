/* make demo's pieces in a few steps: examples/charlm/demo.sh with the demo's
 * spec on the first chapter of Moby Dick (the full demo is `make demo`). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

START_TEST(demo_pipeline) {
    char dir[256];
    cli_tmpdir(dir, sizeof dir);
    setenv("DEMO_THREADS", "1", 1);
    cli_out r =
        cli_exec_sh((const char *[]){"examples/charlm/demo.sh", cli_binary(),
                                     "tests/cli/fixtures/moby-dick-ch1.txt", dir, "4", NULL});
    ck_assert_msg(r.status == 0, "demo.sh: %d\n%s\n%s", r.status, r.out, r.err);
    ck_assert_ptr_nonnull(strstr(
        r.out, "== train (examples/charlm/spec.json on tests/cli/fixtures/moby-dick-ch1.txt)\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "steps 1..4\nunigram baseline: "));
    ck_assert_ptr_nonnull(strstr(r.out, "\nstep 4: validation loss "));
    ck_assert_ptr_nonnull(strstr(r.out, "== sample, temperature 0.5\nThe whale"));
    ck_assert_ptr_nonnull(strstr(r.out, "== sample, temperature 1.0\nThe whale"));
    ck_assert_int_eq(cli_count(r.out, "The whale"), 2);
    /* the closing line repeats eval's figure */
    double bpc = cli_value(r.out, "bits_per_character");
    ck_assert(bpc > 0 && bpc < 8);
    const char *v = strstr(r.out, "== validation: ");
    ck_assert_ptr_nonnull(v);
    ck_assert_double_eq_tol(atof(v + strlen("== validation: ")), bpc, 1e-6);
    cli_out_free(&r);
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_demo(void) {
    TCase *tc = tcase_create("demo");
    tcase_add_test(tc, demo_pipeline);
    return tc;
}
