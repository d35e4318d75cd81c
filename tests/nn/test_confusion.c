/* The confusion matrix: counts, shares and accuracy by hand, bad input
 * named, and the SVG read back (one cell per pair, the counts, the colour
 * of a whole row and of an empty cell, labels escaped, nothing left behind
 * when the file cannot be written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static int occurrences(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* truth 0: 3 right, 1 as class 2; truth 1: 2 right; truth 2: none */
static tg_confusion *small(const char *const *labels) {
    char err[256];
    tg_confusion *c = tg_confusion_new(3, labels, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    const int64_t pairs[][2] = {{0, 0}, {0, 0}, {0, 0}, {2, 0}, {1, 1}, {1, 1}}; /* pred, truth */
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(tg_confusion_add(c, pairs[i][0], pairs[i][1], err, sizeof err), 0);
    return c;
}

START_TEST(counts_and_accuracy) {
    tg_confusion *c = small(NULL);
    ck_assert_int_eq(tg_confusion_classes(c), 3);
    ck_assert_int_eq(tg_confusion_total(c), 6);
    ck_assert_int_eq(tg_confusion_count(c, 0, 0), 3);
    ck_assert_int_eq(tg_confusion_count(c, 0, 2), 1);
    ck_assert_int_eq(tg_confusion_count(c, 2, 0), 0);
    ck_assert_int_eq(tg_confusion_count(c, 3, 0), 0); /* out of range reads as 0 */
    ck_assert_double_eq_tol(tg_confusion_share(c, 0, 0), 0.75, 1e-15);
    ck_assert_double_eq_tol(tg_confusion_share(c, 2, 2), 0, 1e-15); /* an empty row */
    ck_assert_double_eq_tol(tg_confusion_accuracy(c), 5.0 / 6, 1e-15);
    ck_assert_str_eq(tg_confusion_label(c, 2), "2");
    ck_assert_str_eq(tg_confusion_label(c, 7), "?");
    tg_confusion_free(c);
    tg_confusion_free(NULL);
}
END_TEST

START_TEST(bad_input) {
    char err[256];
    ck_assert_ptr_null(tg_confusion_new(0, NULL, err, sizeof err));
    ck_assert_str_eq(err, "tg_confusion_new: n_classes must be 1 to 100000, got 0");
    tg_confusion *c = tg_confusion_new(2, NULL, err, sizeof err);
    ck_assert_int_eq(tg_confusion_add(c, 2, 0, err, sizeof err), -1);
    ck_assert_str_eq(err, "tg_confusion_add: prediction 2 and truth 0 must both be classes 0 to 1");
    ck_assert_int_eq(tg_confusion_add(c, 0, -1, err, sizeof err), -1);
    ck_assert_int_eq(tg_confusion_total(c), 0);
    ck_assert_double_eq_tol(tg_confusion_accuracy(c), 0, 1e-15);
    ck_assert_int_eq(tg_confusion_svg(c, NULL, "t", err, sizeof err), -1);
    ck_assert_str_eq(err, "tg_confusion_svg: need a matrix and a path");
    ck_assert_int_eq(tg_confusion_svg(c, "/nonexistent-dir/c.svg", "t", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
    tg_confusion_free(c);
}
END_TEST

START_TEST(svg_heat_map) {
    char path[64], err[256];
    snprintf(path, sizeof path, "/tmp/tg-confusion-%ld.svg", (long)getpid());
    const char *labels[3] = {"cat", "<dog>", "a&b"};
    tg_confusion *c = small(labels);
    ck_assert_int_eq(tg_confusion_svg(c, path, "pets \"test\"", err, sizeof err), 0);
    char *s = test_read_file(path);
    ck_assert_ptr_nonnull(s);
    ck_assert(strncmp(s, "<svg ", 5) == 0);
    ck_assert_ptr_nonnull(strstr(s, "</svg>\n"));
    ck_assert_int_eq(occurrences(s, "<rect class=\"cell\""), 9);
    ck_assert_int_eq(occurrences(s, "<text class=\"count\""), 3); /* the non-zero cells */
    ck_assert_ptr_nonnull(strstr(s, "data-truth=\"0\" data-pred=\"0\" data-count=\"3\""));
    ck_assert_ptr_nonnull(strstr(s, "data-truth=\"0\" data-pred=\"2\" data-count=\"1\""));
    ck_assert_ptr_nonnull(strstr(s, "data-truth=\"1\" data-pred=\"1\" data-count=\"2\""));
    ck_assert_ptr_nonnull(strstr(s, "fill=\"white\">3</text>"));  /* 75% of the row: dark */
    ck_assert_ptr_nonnull(strstr(s, "fill=\"black\">1</text>"));  /* 25%: light */
    ck_assert_int_eq(occurrences(s, "fill=\"rgb(8,48,107)\""), 1); /* class 1's whole row */
    ck_assert_int_eq(occurrences(s, "fill=\"rgb(255,255,255)\""), 6); /* the empty cells */
    ck_assert_ptr_nonnull(strstr(s, ">&lt;dog&gt;</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">a&amp;b</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">pets &quot;test&quot;</text>"));
    ck_assert_ptr_nonnull(strstr(s, "<title>cat as a&amp;b: 1 (25.0% of the row)</title>"));
    ck_assert_ptr_nonnull(strstr(s, "6 examples, accuracy 83.3%"));
    free(s);
    remove(path);
    tg_confusion_free(c);
}
END_TEST

TCase *tcase_confusion(void) {
    TCase *tc = tcase_create("confusion");
    tcase_add_test(tc, counts_and_accuracy);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, svg_heat_map);
    return tc;
}
