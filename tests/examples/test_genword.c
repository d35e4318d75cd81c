/* examples/genword, fast variant: the example's specs (the language as the
 * initial state, and as an input at every step) trained through tapegrad
 * train on two made-up languages with disjoint alphabets, then tapegrad
 * sample --condition: the words sampled for a language must keep to its
 * letters and end at the end marker. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_util.h"
#include "testutil.h"

static const char *const SPECS[] = {"examples/genword/spec-initial_state.json",
                                    "examples/genword/spec-input.json"};

/* "label<TAB>word" lines: english over abcd, polish over wxyz (the real
 * data's names: the spec's condition has room for 10). */
static void write_words(const char *path) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 3);
    for (int i = 0; i < 400; i++) {
        const char *alpha = i % 2 ? "abcd" : "wxyz";
        fputs(i % 2 ? "english\t" : "polish\t", f);
        for (int k = 0, n = 3 + (int)tg_rng_below(&r, 4); k < n; k++)
            fputc(alpha[tg_rng_below(&r, 4)], f);
        fputc('\n', f);
    }
    fclose(f);
}

START_TEST(test_train_and_sample) {
    char dir[256], data[512], ckpt[512], out[512];
    ex_tmpdir(dir, sizeof dir);
    write_words(ex_path(data, sizeof data, dir, "words.tsv"));
    ex_path(ckpt, sizeof ckpt, dir, "genword.safetensors");
    const char *train[] = {ex_tapegrad(), "train",        SPECS[_i], "--data",    data, "--steps",
                           "120",         "--checkpoint", ckpt,      "--threads", "1",  NULL};
    ck_assert_int_eq(ex_run(train, NULL, dir), 0);
    for (int lang = 0; lang < 2; lang++) {
        const char *own = lang ? "wxyz" : "abcd";
        const char *sample[] = {ex_tapegrad(),
                                "sample",
                                SPECS[_i],
                                "--checkpoint",
                                ckpt,
                                "--condition",
                                lang ? "polish" : "english",
                                "--count",
                                "20",
                                "--temperature",
                                "0.5",
                                NULL};
        ck_assert_int_eq(ex_run(sample, ex_path(out, sizeof out, dir, "samples.txt"), dir), 0);
        char *text = test_read_file(out);
        int lines = 0, letters = 0, right = 0;
        for (const char *p = text; *p; p++)
            if (*p == '\n')
                lines++;
            else
                letters++, right += strchr(own, *p) != NULL;
        ck_assert_int_eq(lines, 20);
        ck_assert_int_lt(letters, 20 * 12); /* each word ended, far below the length limit */
        ck_assert_msg(right >= letters * 95 / 100, "%s: %d of %d letters its own\n%s", SPECS[_i],
                      right, letters, text);
        free(text);
    }
    ex_rmdir(dir);
}
END_TEST

TCase *tcase_genword(void) {
    TCase *tc = tcase_create("genword");
    tcase_add_loop_test(tc, test_train_and_sample, 0, 2);
    return tc;
}
