/* examples/postag: the Brown-to-universal tag mapping, unknown-word
 * signatures, the corpus reader, the most-frequent-tag baseline, and (fast
 * variant) the example's spec trained by tapegrad train on a made-up
 * corpus in which one word's tag depends on its neighbour. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/postag/postag.h"
#include "ex_util.h"
#include "testutil.h"

START_TEST(test_universal) {
    static const char *const cases[][2] = {
        {"at", "DET"},        {"nn", "NOUN"},   {"np-tl", "NOUN"}, {"nns$", "NOUN"},
        {"nn-tl-hl", "NOUN"}, {"vbd", "VERB"},  {"bedz*", "VERB"}, {"hvz", "VERB"},
        {"md*", "VERB"},      {"do", "VERB"},   {"jjt", "ADJ"},    {"od", "ADJ"},
        {"rb", "ADV"},        {"ql", "ADV"},    {"wrb", "ADV"},    {"in", "ADP"},
        {"cc", "CONJ"},       {"cs", "CONJ"},   {"cd", "NUM"},     {"cd$", "NUM"},
        {"pps", "PRON"},      {"pp$$", "PRON"}, {"wps", "PRON"},   {"pn", "PRON"},
        {"pps+bez", "PRON"},  {"to", "PRT"},    {"rp", "PRT"},     {"*", "PRT"},
        {".", "."},           {",", "."},       {"``", "."},       {"''", "."},
        {"(", "."},           {"--", "."},      {"fw-nn", "X"},    {"fw-in+at", "X"},
        {"uh", "X"},          {"nil", "X"},     {"NP-TL", "NOUN"}, {"dt", "DET"},
        {"ex", "DET"},        {"abn", "DET"},   {"wdt", "DET"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *u = pos_universal(cases[i][0]);
        ck_assert_msg(u && strcmp(u, cases[i][1]) == 0, "%s -> %s, expected %s", cases[i][0],
                      u ? u : "NULL", cases[i][1]);
        ck_assert_int_ge(pos_tag_index(u), 0);
    }
    ck_assert_ptr_null(pos_universal("zz"));
    ck_assert_ptr_null(pos_universal(""));
    ck_assert_int_eq(pos_tag_index("NOUN"), 6);
    ck_assert_int_eq(pos_tag_index("nn"), -1);
}
END_TEST

START_TEST(test_signature) {
    static const char *const cases[][2] = {
        {"running", "<unk-ing>"},    {"Running", "<unk-C-ing>"}, {"1961", "<unk-num>"},
        {"3-to-1", "<unk-num>"},     {"NATO", "<unk-A>"},        {"well-known", "<unk-H>"},
        {"quickly", "<unk-ly>"},     {"tables", "<unk-es>"},     {"cats", "<unk-s>"},
        {"xyzzy", "<unk-y>"},        {"Zorbq", "<unk-C>"},       {"is", "<unk>"},
        {"happiness", "<unk-ness>"}, {"self-made", "<unk-H>"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pos_signature(cases[i][0], out, sizeof out);
        ck_assert_msg(strcmp(out, cases[i][1]) == 0, "%s -> %s, expected %s", cases[i][0], out,
                      cases[i][1]);
    }
}
END_TEST

START_TEST(test_corpus_and_baseline) {
    char dir[256], path[512];
    ex_tmpdir(dir, sizeof dir);
    ex_path(path, sizeof path, dir, "c.txt");
    FILE *f = fopen(path, "w");
    fprintf(f, "the/DET run/NOUN ended/VERB ./.\n\nthey/PRON run/VERB 1/2/NUM\nwe/PRON run/VERB\n");
    fclose(f);
    pos_corpus c = {0};
    ck_assert_int_eq(pos_corpus_load(&c, path), 0);
    ck_assert_int_eq(c.n_sent, 3);
    ck_assert_int_eq(c.n, 9);
    ck_assert_str_eq(c.word[6], "1/2"); /* split at the last '/' */
    ck_assert_int_eq(c.tag[6], pos_tag_index("NUM"));
    ck_assert_int_eq(pos_sentence_end(&c, 0), 4);
    ck_assert_int_eq(pos_sentence_end(&c, 2), 9);
    pos_lex lex;
    ck_assert_int_eq(pos_lex_init(&lex, c.n), 0);
    for (int64_t i = 0; i < c.n; i++) ck_assert_int_eq(pos_lex_add(&lex, c.word[i], c.tag[i]), 0);
    ck_assert_int_eq(pos_lex_total(&lex, "run"), 3);
    ck_assert_int_eq(pos_best(pos_lex_get(&lex, "run"), -1), pos_tag_index("VERB"));
    ck_assert_int_eq(pos_best(pos_lex_get(&lex, "the"), -1), pos_tag_index("DET"));
    ck_assert_int_eq(pos_best(pos_lex_get(&lex, "unseen"), 6), 6);
    pos_lex_free(&lex);
    pos_corpus_free(&c);
    f = fopen(path, "w");
    fprintf(f, "the/DET dog/nn\n"); /* a Brown tag, not a universal one */
    fclose(f);
    ck_assert_int_eq(pos_corpus_load(&c, path), -1);
    pos_corpus_free(&c);
    ex_rmdir(dir);
}
END_TEST

/* Sentences of three shapes; "run" is a verb after a pronoun and a noun
 * after a determiner, a verb more often, so tagging it alone (the most
 * frequent tag) gets every "the run" wrong. */
static void write_corpus(const char *path, int n, tg_rng *r, pos_lex *lex) {
    static const char *const det[] = {"the", "a"}, *const noun[] = {"dog", "cat", "race", "house"},
                             *const verb[] = {"sleeps", "ended", "walks"},
                             *const adv[] = {"quietly", "fast"}, *const pron[] = {"they", "we"};
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++) {
        char line[256];
        double u = tg_rng_uniform(r);
        if (u < 0.4)
            snprintf(line, sizeof line, "%s/DET %s/NOUN %s/VERB %s/ADV ./.",
                     det[tg_rng_below(r, 2)], noun[tg_rng_below(r, 4)], verb[tg_rng_below(r, 3)],
                     adv[tg_rng_below(r, 2)]);
        else if (u < 0.76)
            snprintf(line, sizeof line, "%s/PRON run/VERB %s/DET %s/NOUN ./.",
                     pron[tg_rng_below(r, 2)], det[tg_rng_below(r, 2)], noun[tg_rng_below(r, 4)]);
        else
            snprintf(line, sizeof line, "%s/DET run/NOUN %s/VERB ./.", det[tg_rng_below(r, 2)],
                     verb[tg_rng_below(r, 3)]);
        fprintf(f, "%s\n", line);
        if (lex) { /* count the training words' tags */
            for (char *save = NULL, *tok = strtok_r(line, " ", &save); tok;
                 tok = strtok_r(NULL, " ", &save)) {
                char *slash = strrchr(tok, '/');
                *slash = '\0';
                pos_lex_add(lex, tok, pos_tag_index(slash + 1));
            }
        }
    }
    fclose(f);
}

START_TEST(test_train_spec) {
    char dir[256], train_path[512], test_path[512], ckpt[512], out[512];
    ex_tmpdir(dir, sizeof dir);
    tg_rng r;
    tg_rng_seed(&r, 3);
    pos_lex lex;
    ck_assert_int_eq(pos_lex_init(&lex, 64), 0);
    write_corpus(ex_path(train_path, sizeof train_path, dir, "train.txt"), 700, &r, &lex);
    write_corpus(ex_path(test_path, sizeof test_path, dir, "test.txt"), 200, &r, NULL);
    /* the baseline on the test sentences */
    pos_corpus test = {0};
    ck_assert_int_eq(pos_corpus_load(&test, test_path), 0);
    int64_t right = 0;
    for (int64_t i = 0; i < test.n; i++)
        right += pos_best(pos_lex_get(&lex, test.word[i]), 6) == test.tag[i];
    double mft = (double)right / test.n;
    ck_assert_msg(mft > 0.9 && mft < 0.97, "most frequent tag: %g", mft);

    ex_path(ckpt, sizeof ckpt, dir, "postag.safetensors");
    const char *train[] = {ex_tapegrad(),
                           "train",
                           "examples/postag/spec.json",
                           "--data",
                           train_path,
                           "--steps",
                           "30",
                           "--checkpoint",
                           ckpt,
                           "--threads",
                           "1",
                           NULL};
    ck_assert_int_eq(ex_run(train, NULL, dir), 0);
    const char *eval[] = {ex_tapegrad(),
                          "eval",
                          "examples/postag/spec.json",
                          "--checkpoint",
                          ckpt,
                          "--data",
                          test_path,
                          "--threads",
                          "1",
                          NULL};
    ck_assert_int_eq(ex_run(eval, ex_path(out, sizeof out, dir, "eval.txt"), dir), 0);
    char *text = test_read_file(out);
    double acc = ex_value(text, "accuracy");
    free(text);
    /* the bidirectional LSTM reads the neighbours, and tags "run" right */
    ck_assert_msg(acc > mft + 0.02, "tagger %g, most frequent tag %g", acc, mft);
    pos_corpus_free(&test);
    pos_lex_free(&lex);
    ex_rmdir(dir);
}
END_TEST

TCase *tcase_postag(void) {
    TCase *tc = tcase_create("postag");
    tcase_add_test(tc, test_universal);
    tcase_add_test(tc, test_signature);
    tcase_add_test(tc, test_corpus_and_baseline);
    tcase_add_test(tc, test_train_spec);
    return tc;
}
