/* examples/langid: word normalisation, the data files, the naive Bayes
 * baseline, the confusion matrix, and (fast variant) the example's spec
 * trained by tapegrad train on generated words, read back through ckpt.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/langid/langid.h"
#include "../../examples/langid/model.h"
#include "ex_util.h"
#include "testutil.h"

START_TEST(test_normalize) {
    ck_assert(lid_locale());
    char out[LID_MAX_BYTES];
    ck_assert_int_eq(lid_normalize("Haus", false, out, sizeof out), 4);
    ck_assert_str_eq(out, "haus");
    ck_assert_int_eq(lid_normalize("\xc5\x81\xc3\xb3\x64\xc5\xba", false, out, sizeof out), 4);
    ck_assert_str_eq(out, "\xc5\x82\xc3\xb3\x64\xc5\xba"); /* Łódź -> łódź */
    /* Latin-1 (the Swedish list): "Åren" -> "åren" in UTF-8 */
    ck_assert_int_eq(lid_normalize("\xc5ren", true, out, sizeof out), 4);
    ck_assert_str_eq(out, "\xc3\xa5ren");
    ck_assert_int_eq(lid_normalize("Californian's", false, out, sizeof out), 0);
    ck_assert_int_eq(lid_normalize("DNA-profielen", false, out, sizeof out), 0);
    ck_assert_int_eq(lid_normalize("abc1", false, out, sizeof out), 0);
    ck_assert_int_eq(lid_normalize("ab", false, out, sizeof out), 0); /* too short */
    ck_assert_int_eq(lid_normalize("abcdefghijklmnopqrst", false, out, sizeof out), 20);
    ck_assert_int_eq(lid_normalize("abcdefghijklmnopqrstu", false, out, sizeof out), 0);
    ck_assert_int_eq(lid_normalize("ab\xff", false, out, sizeof out), 0); /* not UTF-8 */
}
END_TEST

START_TEST(test_set_load) {
    char dir[256], path[512];
    ex_tmpdir(dir, sizeof dir);
    ex_path(path, sizeof path, dir, "a.tsv");
    FILE *f = fopen(path, "w");
    fprintf(f, "german\thaus\npolish\t\xc5\x82\xc3\xb3\x64\xc5\xba\n");
    fclose(f);
    lid_set s = {0};
    ck_assert_int_eq(lid_set_load(&s, path), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.items[0].lang, 1);
    ck_assert_str_eq(s.items[0].word, "haus");
    ck_assert_int_eq(s.items[1].lang, lid_lang_index("polish"));
    lid_set_free(&s);
    f = fopen(path, "w");
    fprintf(f, "german\thaus\nklingon\tqapla\n");
    fclose(f);
    ck_assert_int_eq(lid_set_load(&s, path), -1); /* an unknown language */
    lid_set_free(&s);
    ex_rmdir(dir);
}
END_TEST

/* Two "languages" with the same letters in a different order: a bag of
 * letters cannot tell them apart, bigrams can. */
START_TEST(test_naive_bayes_order) {
    lid_set train = {0}, test = {0};
    const char *a[] = {"abab", "ababab", "abababab", "abababababab"};
    const char *b[] = {"baba", "bababa", "babababa", "babababababa"};
    for (int i = 0; i < 4; i++) {
        lid_set_add(&train, 0, a[i]), lid_set_add(&train, 1, b[i]);
        lid_set_add(&test, 0, a[(i + 1) % 4]), lid_set_add(&test, 1, b[(i + 1) % 4]);
    }
    double score[LID_NLANG];
    lid_nb nb;
    ck_assert_int_eq(lid_nb_train(&nb, 2, &train), 0);
    for (int i = 0; i < test.n; i++)
        ck_assert_int_eq(lid_nb_predict(&nb, test.items[i].word, score), test.items[i].lang);
    lid_nb_free(&nb);
    ck_assert_int_eq(lid_nb_train(&nb, 1, &train), 0);
    int right = 0;
    for (int i = 0; i < test.n; i++)
        right += lid_nb_predict(&nb, test.items[i].word, score) == test.items[i].lang;
    /* both languages have the same letter counts, so every word scores the
     * same under both and goes to the first: half right */
    ck_assert_int_eq(right, 4);
    lid_nb_free(&nb);
    lid_set_free(&train);
    lid_set_free(&test);
}
END_TEST

START_TEST(test_confusion) {
    tg_confusion *c = lid_confusion_new();
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tg_confusion_add(c, 0, 0, NULL, 0), 0);
    ck_assert_int_eq(tg_confusion_add(c, 1, 0, NULL, 0), 0); /* english taken for german */
    for (int i = 0; i < 2; i++) ck_assert_int_eq(tg_confusion_add(c, 1, 1, NULL, 0), 0);
    ck_assert_str_eq(tg_confusion_label(c, 1), "german");
    ck_assert_close(tg_confusion_accuracy(c), 5.0 / 6, 1e-12);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lid_confusion_print(f, c);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "english      75.0  25.0     .     ."));
    ck_assert_ptr_nonnull(strstr(text, "german          . 100.0     ."));
    ck_assert_ptr_nonnull(strstr(text, "overall accuracy 83.3%"));
    free(text);
    char dir[256], path[512], err[256];
    ex_tmpdir(dir, sizeof dir);
    ck_assert_int_eq(tg_confusion_svg(c, ex_path(path, sizeof path, dir, "c.svg"), "T", err,
                                      sizeof err),
                     0);
    char *svg = test_read_file(path);
    ck_assert_ptr_nonnull(svg);
    ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns="));
    ck_assert_ptr_nonnull(strstr(svg, "<title>english as german: 1 (25.0% of the row)</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
    free(svg);
    ck_assert_int_eq(tg_confusion_svg(c, "/nonexistent-dir/c.svg", "T", err, sizeof err), -1);
    tg_confusion_free(c);
    ex_rmdir(dir);
}
END_TEST

/* Words of ten made-up languages: each has its own consonant, so a few
 * letters tell the language; 80 training then 10 development words each,
 * in the "l e t t e r s" lines of prepare. */
static void write_words(const char *path, lid_set *dev, tg_rng *r) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    static const char cons[] = "bdfgklmnpt", vow[] = "aeiou";
    for (int part = 0; part < 2; part++)
        for (int i = 0; i < (part ? 10 : 80); i++)
            for (int l = 0; l < LID_NLANG; l++) {
                char w[LID_MAX_BYTES];
                int n = 3 + (int)tg_rng_below(r, 5);
                for (int k = 0; k < n; k++)
                    w[k] = k % 2 ? vow[tg_rng_below(r, 5)]
                                 : cons[(l + (tg_rng_below(r, 4) == 0)) % 10];
                w[n] = '\0';
                fprintf(f, "%s\t", lid_langs[l].name);
                for (int k = 0; k < n; k++) fprintf(f, "%s%c", k ? " " : "", w[k]);
                fprintf(f, "\n");
                if (part) lid_set_add(dev, l, w);
            }
    fclose(f);
}

START_TEST(test_train_spec) {
    char dir[256], data[512], ckpt[512], out[512];
    ex_tmpdir(dir, sizeof dir);
    tg_rng r;
    tg_rng_seed(&r, 7);
    lid_set dev = {0};
    write_words(ex_path(data, sizeof data, dir, "words.tsv"), &dev, &r);
    ex_path(ckpt, sizeof ckpt, dir, "langid.safetensors");
    const char *train[] = {ex_tapegrad(),
                           "train",
                           "examples/langid/spec.json",
                           "--data",
                           data,
                           "--steps",
                           "40",
                           "--checkpoint",
                           ckpt,
                           "--threads",
                           "1",
                           NULL};
    ck_assert_int_eq(ex_run(train, NULL, dir), 0);
    const char *eval[] = {
        ex_tapegrad(), "eval", "examples/langid/spec.json", "--checkpoint", ckpt, "--threads",
        "1",           NULL};
    ck_assert_int_eq(ex_run(eval, ex_path(out, sizeof out, dir, "eval.txt"), dir), 0);
    char *text = test_read_file(out);
    double acc = ex_value(text, "accuracy");
    free(text);
    ck_assert_msg(acc >= 0.5, "accuracy %g after 40 steps (chance: 0.1)", acc);

    /* the checkpoint read back through ckpt.h gives the same accuracy on
     * the held-out words (the last 100 lines) */
    ex_ckpt c;
    char err[512];
    ck_assert_msg(ex_ckpt_open(&c, "examples/langid/spec.json", ckpt, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(c.labels.n, LID_NLANG);
    ck_assert_str_eq(c.labels.s[0], "danish"); /* labels are the sorted names */
    ck_assert_str_eq(c.words.s[0], "<pad>");
    ck_assert_str_eq(c.words.s[1], "<unk>");
    ck_assert_int_eq(ex_word_id(&c, "z"), 1);
    ck_assert_int_ge(ex_word_id(&c, "b"), 2);
    tg_tape *t = tg_tape_new();
    double logp[LID_BATCH * LID_NLANG];
    char *words[LID_BATCH];
    for (int i = 0; i < dev.n; i++) words[i] = dev.items[i].word;
    ck_assert_int_eq(lid_classify(t, &c, words, dev.n, logp), 0);
    int right = 0;
    for (int i = 0; i < dev.n; i++) {
        int best = 0;
        double z = 0;
        for (int k = 0; k < LID_NLANG; k++) {
            z += exp(logp[i * LID_NLANG + k]);
            if (logp[i * LID_NLANG + k] > logp[i * LID_NLANG + best]) best = k;
        }
        ck_assert_close(z, 1, 1e-5); /* log-probabilities */
        right += lid_lang_index(c.labels.s[best]) == dev.items[i].lang;
    }
    ck_assert_close((double)right / dev.n, acc, 1e-6);

    /* tapegrad predict gives the same top guess and log-probability for
     * the first five development words */
    const char *predict[] = {ex_tapegrad(),
                             "predict",
                             "examples/langid/spec.json",
                             "--checkpoint",
                             ckpt,
                             "--top",
                             "1",
                             words[0],
                             words[1],
                             words[2],
                             words[3],
                             words[4],
                             NULL};
    ck_assert_int_eq(ex_run(predict, ex_path(out, sizeof out, dir, "predict.txt"), dir), 0);
    text = test_read_file(out);
    const char *line = text;
    for (int i = 0; i < 5; i++) {
        int best = 0;
        for (int k = 1; k < LID_NLANG; k++)
            if (logp[i * LID_NLANG + k] > logp[i * LID_NLANG + best]) best = k;
        char word[LID_MAX_BYTES], label[32];
        double lp;
        ck_assert_int_eq(sscanf(line, "%63s %31s %lf", word, label, &lp), 3);
        ck_assert_str_eq(word, words[i]);
        ck_assert_str_eq(label, c.labels.s[best]);
        ck_assert_close(lp, logp[i * LID_NLANG + best], 1e-4);
        line = strchr(line, '\n') + 1;
    }
    free(text);
    tg_tape_free(t);
    ex_ckpt_close(&c);
    lid_set_free(&dev);
    ex_rmdir(dir);
}
END_TEST

TCase *tcase_langid(void) {
    TCase *tc = tcase_create("langid");
    tcase_add_test(tc, test_normalize);
    tcase_add_test(tc, test_set_load);
    tcase_add_test(tc, test_naive_bayes_order);
    tcase_add_test(tc, test_confusion);
    tcase_add_test(tc, test_train_spec);
    return tc;
}
