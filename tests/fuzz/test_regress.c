/* The fuzz regression corpus: every file of tests/fuzz/regress/<target>/
 * (inputs that once crashed a target, kept after the fix) and of
 * tests/fuzz/seeds/<target>/ goes through the same target function as
 * under libFuzzer, here without it (under ASan and UBSan in make
 * test-asan). A target must return 0 and not crash. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "testutil.h"

/* Feeds every regular file of dir/<target>/ to fn; returns how many. */
static int replay(const char *dir, const fuzz_target *t) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, t->name);
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char file[1300];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "rb");
        ck_assert_msg(f != NULL, "cannot open %s", file);
        size_t len;
        char *data = tg_read_stream(f, 0, &len);
        fclose(f);
        ck_assert_msg(data != NULL, "cannot read %s", file);
        ck_assert_msg(t->fn((const uint8_t *)data, len) == 0, "%s: %s", t->name, file);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(regress_corpus_replays) {
    int total = 0;
    for (const fuzz_target *t = fuzz_targets; t->name; t++) {
        total += replay(FUZZ_SRC_DIR "/tests/fuzz/regress", t);
        total += replay(FUZZ_SRC_DIR "/tests/fuzz/seeds", t);
    }
    /* the seeds at least (so a wrong directory cannot pass silently) */
    ck_assert_int_ge(total, 5);
}
END_TEST

/* Inputs every reader must refuse cleanly: nothing, one NUL, garbage. */
START_TEST(edge_inputs) {
    static const char *const inputs[] = {"",  "\0",     "\xff\xfe\x00\x01", "(",
                                         "{", "\t\n\t", "1,2\n\n,"};
    static const size_t lens[] = {0, 1, 4, 1, 1, 3, 7};
    for (const fuzz_target *t = fuzz_targets; t->name; t++)
        for (int i = 0; i < 7; i++) ck_assert_int_eq(t->fn((const uint8_t *)inputs[i], lens[i]), 0);
}
END_TEST

TCase *tcase_regress(void) {
    TCase *tc = tcase_create("regress");
    tcase_add_test(tc, regress_corpus_replays);
    tcase_add_test(tc, edge_inputs);
    return tc;
}
