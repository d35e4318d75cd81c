/* examples/cells/compare (make cells-example) at tiny sizes on a made-up
 * text: its table has the four cells' rows in order, each with a finite
 * validation bits per character and a time per step, and the variants'
 * numbers are their own (none equals the plain LSTM's); bad arguments
 * exit 2. */
#include <check.h>
#include <math.h>

#include "ex_util.h"
#include "testutil.h"

/* examples/cells/compare of this build: $(BUILD)/examples/cells/compare,
 * next to $(BUILD)/tests/test_examples. */
static const char *compare_bin(char *path, size_t n) {
    ssize_t len = readlink("/proc/self/exe", path, n - 32);
    path[len > 0 ? len : 0] = '\0';
    char *slash = strrchr(path, '/');
    if (slash) *slash = '\0'; /* $(BUILD)/tests */
    slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, 32, "examples/cells/compare");
    ck_assert_msg(access(path, X_OK) == 0, "%s is not built", path);
    return path;
}

START_TEST(cells_table) {
    static const char *const NAMES[] = {"plain", "layer_norm", "peephole", "zoneout"};
    char dir[256], text[512], out[512], bin[4096];
    ex_tmpdir(dir, sizeof dir);
    FILE *f = fopen(ex_path(text, sizeof text, dir, "text.txt"), "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 400; i++) fprintf(f, "%s ", i % 3 ? "the whale sank" : "Call me Ishmael.");
    fclose(f);
    const char *argv[] = {compare_bin(bin, sizeof bin), text, "12", "8", "4", "16", NULL};
    ck_assert_int_eq(ex_run(argv, ex_path(out, sizeof out, dir, "out.txt"), dir), 0);
    char *got = test_read_file(out);
    ck_assert_ptr_nonnull(got);
    double bpc[4];
    int rows = 0;
    for (char *line = strstr(got, "\n| "); line; line = strstr(line + 1, "\n| ")) {
        char name[32];
        long params;
        double b, ms, cpu;
        if (sscanf(line + 1, "| %31s | %ld | %lf | %lf | %lf |", name, &params, &b, &ms, &cpu) != 5)
            continue; /* the header and its rule */
        ck_assert_int_lt(rows, 4);
        ck_assert_str_eq(name, NAMES[rows]);
        ck_assert_msg(isfinite(b) && b > 0 && b < 8, "%s: %g bits per character", name, b);
        ck_assert_msg(ms > 0 && cpu > 0, "%s: %g ms, %g CPU ms per step", name, ms, cpu);
        ck_assert_int_gt(params, 0);
        bpc[rows++] = b;
    }
    ck_assert_msg(rows == 4, "%d rows in:\n%s", rows, got);
    for (int k = 1; k < 4; k++)
        ck_assert_msg(bpc[k] != bpc[0], "%s gives the plain LSTM's %g", NAMES[k], bpc[0]);
    free(got);

    const char *bad[] = {bin, text, "0", NULL};
    ck_assert_int_eq(ex_run(bad, NULL, NULL), 2);
    const char *none[] = {bin, NULL};
    ck_assert_int_eq(ex_run(none, NULL, NULL), 2);
    const char *missing[] = {bin, "/nonexistent/text.txt", "3", NULL};
    ck_assert_int_eq(ex_run(missing, NULL, NULL), 1);
    ex_rmdir(dir);
}
END_TEST

TCase *tcase_cells(void) {
    TCase *tc = tcase_create("cells");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cells_table);
    return tc;
}
