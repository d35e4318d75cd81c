/* The version: one set of numbers (core/version.h) behind the string, the
 * number and what the library says at run time; CHANGELOG.md's latest
 * release, debian/changelog's top entry and the man pages' headers name
 * the same version. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

START_TEST(numbers_string_and_library_agree) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", TG_VERSION_MAJOR, TG_VERSION_MINOR, TG_VERSION_PATCH);
    ck_assert_str_eq(TG_VERSION, want);
    ck_assert_str_eq(tg_version(), want);
    ck_assert_int_eq(TG_VERSION_NUMBER,
                     TG_VERSION_MAJOR * 10000 + TG_VERSION_MINOR * 100 + TG_VERSION_PATCH);
}
END_TEST

/* The first line of path that starts with prefix and does not hold skip
 * (when given), in out. */
static int first_line(const char *path, const char *prefix, const char *skip, char *out, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int found = -1;
    while (found && fgets(line, sizeof line, f))
        if (strncmp(line, prefix, strlen(prefix)) == 0 && !(skip && strstr(line, skip))) {
            snprintf(out, n, "%s", line);
            found = 0;
        }
    fclose(f);
    return found;
}

START_TEST(changelogs_name_this_version) {
    char line[512], want[128];
    /* "## [Unreleased]" comes first; the latest release after it */
    ck_assert_int_eq(first_line("CHANGELOG.md", "## [", "Unreleased", line, sizeof line), 0);
    snprintf(want, sizeof want, "## [%s] - ", TG_VERSION);
    ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "CHANGELOG.md: %s", line);
    ck_assert_int_eq(first_line("debian/changelog", "tapegrad (", NULL, line, sizeof line), 0);
    snprintf(want, sizeof want, "tapegrad (%s-", TG_VERSION); /* Debian revision after */
    ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "debian/changelog: %s", line);
}
END_TEST

START_TEST(man_pages_name_this_version) {
    const char *pages[] = {"man/tapegrad.1", "man/tapegrad-spec.5", "man/libtapegrad.3"};
    char line[512], want[64];
    snprintf(want, sizeof want, "\"tapegrad %s\"", TG_VERSION);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(first_line(pages[i], ".TH ", NULL, line, sizeof line), 0);
        ck_assert_msg(strstr(line, want), "%s: %s", pages[i], line);
    }
}
END_TEST

TCase *tcase_version(void) {
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, numbers_string_and_library_agree);
    tcase_add_test(tc, changelogs_name_this_version);
    tcase_add_test(tc, man_pages_name_this_version);
    return tc;
}
