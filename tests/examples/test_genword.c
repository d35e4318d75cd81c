/* examples/genword: the vocabulary, the teacher-forcing batch layout, and
 * (fast variant) both ways of conditioning on the language, trained on two
 * made-up languages with disjoint alphabets: the samples must keep to the
 * requested language's letters, and the model used as a classifier must
 * tell the languages apart, which the unconditioned baseline cannot. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/genword/genword.h"
#include "testutil.h"

START_TEST(test_vocab) {
    gw_vocab v;
    gw_vocab_init(&v);
    ck_assert_int_eq(v.n, 1);
    int64_t ids[GW_MAX_LEN];
    ck_assert_int_eq(gw_encode(&v,
                               "ab\xc3\xa9"
                               "a",
                               ids, true),
                     4); /* "abéa": é is one letter */
    ck_assert_int_eq(v.n, 4);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[2], 3);
    ck_assert_int_eq(ids[3], 1);
    ck_assert_str_eq(v.sym[3], "\xc3\xa9");
    ck_assert_int_eq(gw_encode(&v, "bz", ids, false), -1); /* z is not known */
    ck_assert_int_eq(v.n, 4);
    ck_assert_int_eq(gw_encode(&v, "ba", ids, false), 2);
    char longw[GW_MAX_LEN + 2];
    memset(longw, 'a', sizeof longw - 1);
    longw[GW_MAX_LEN + 1] = '\0';
    ck_assert_int_eq(gw_encode(&v, longw, ids, false), -1);
    ck_assert_int_eq(gw_encode(&v, "a\xc3", ids, true), -1); /* a cut character */
}
END_TEST

START_TEST(test_batch_layout) {
    int64_t w0[] = {5, 6, 7}, w1[] = {8};
    int64_t *words[] = {w0, w1};
    int len[] = {3, 1}, lang[] = {1, 0};
    gw_batch b = {0};
    ck_assert_int_eq(gw_batch_make(&b, 2, words, len, lang), 0);
    ck_assert_int_eq(b.T, 4);
    /* [T, B]: the boundary then the letters in; the letters then the end marker out */
    const int64_t in[] = {0, 0, 5, 8, 6, 0, 7, 0}, target[] = {5, 8, 6, 0, 7, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(b.in[i], in[i]);
        if (i / 2 < b.lengths[i % 2]) ck_assert_int_eq(b.target[i], target[i]);
    }
    ck_assert_int_eq(b.lengths[0], 4);
    ck_assert_int_eq(b.lengths[1], 2);
    ck_assert_int_eq(b.lang[0], 1);
    gw_batch_free(&b);
}
END_TEST

/* Language 0 spells with a, b, c; language 1 with x, y, z. */
static void make_words(gw_vocab *v, int64_t (*ids)[GW_MAX_LEN], int *len, int *lang, int n,
                       tg_rng *r) {
    for (int i = 0; i < n; i++) {
        char w[8];
        int k = 2 + (int)tg_rng_below(r, 4);
        lang[i] = i % 2;
        for (int j = 0; j < k; j++) w[j] = (char)((lang[i] ? 'x' : 'a') + tg_rng_below(r, 3));
        w[k] = '\0';
        len[i] = gw_encode(v, w, ids[i], true);
    }
}

static void train_and_check(gw_mode mode) {
    enum { N = 200, B = 32, STEPS = 150 };
    tg_rng r;
    tg_rng_seed(&r, 11);
    gw_vocab v;
    gw_vocab_init(&v);
    static int64_t ids[N][GW_MAX_LEN];
    int len[N], lang[N];
    make_words(&v, ids, len, lang, N, &r);
    char err[256] = "";
    gw_model *m = gw_model_new(mode, v.n, 8, 24, 2, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_tensor **ps = malloc((size_t)m->params.n * sizeof *ps);
    for (int i = 0; i < m->params.n; i++) ps[i] = m->params.items[i].tensor;
    tg_optim *opt = tg_optim_adam(ps, m->params.n, (tg_adam_options){.lr = 0.03});
    ck_assert_ptr_nonnull(opt);
    tg_tape *t = tg_tape_new();
    double first = 0, last = 0;
    for (int step = 0; step < STEPS; step++) {
        int64_t *words[B];
        int bl[B], blang[B];
        for (int k = 0; k < B; k++) {
            int i = (int)tg_rng_below(&r, N);
            words[k] = ids[i], bl[k] = len[i], blang[k] = lang[i];
        }
        gw_batch b = {0};
        ck_assert_int_eq(gw_batch_make(&b, B, words, bl, blang), 0);
        tg_tape_reset(t);
        tg_tensor *loss = gw_loss(t, m, &b, TG_MEAN);
        ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
        tg_optim_zero_grad(opt);
        ck_assert_int_eq(tg_backward(t, loss), 0);
        tg_optim_step(opt);
        if (step == 0) first = tg_at(loss, 0);
        last = tg_at(loss, 0);
        gw_batch_free(&b);
    }
    /* a letter among 3 plus the end: about log 3 per step at best, from log 7 */
    ck_assert_msg(last < first - 0.5, "loss %g -> %g", first, last);
    int in_lang = 0, letters = 0;
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 20; k++) {
            char w[4 * GW_MAX_LEN + 1];
            tg_tape_reset(t);
            int n = gw_sample(t, m, &v, l, 1.0, &r, w, sizeof w);
            ck_assert_int_ge(n, 0);
            for (int j = 0; w[j]; j++, letters++)
                in_lang += l ? (w[j] >= 'x' && w[j] <= 'z') : (w[j] >= 'a' && w[j] <= 'c');
        }
    ck_assert_msg(letters > 0 && in_lang >= 0.95 * letters, "%s: %d of %d letters in the language",
                  gw_mode_names[mode], in_lang, letters);
    /* as a classifier: a word is most likely under its own language */
    int idx[40], right = 0;
    double nll0[40], nll1[40];
    int64_t *words[40];
    int bl[40], force[40];
    for (int k = 0; k < 40; k++) idx[k] = k, words[k] = ids[k], bl[k] = len[k];
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 40; k++) force[k] = l;
        gw_batch b = {0};
        ck_assert_int_eq(gw_batch_make(&b, 40, words, bl, force), 0);
        tg_tape_reset(t);
        ck_assert_int_eq(gw_word_nll(t, m, &b, l ? nll1 : nll0), 0);
        gw_batch_free(&b);
    }
    for (int k = 0; k < 40; k++) right += (nll1[k] < nll0[k]) == (lang[idx[k]] == 1);
    ck_assert_int_eq(right, 40);
    tg_tape_free(t);
    tg_optim_free(opt);
    free(ps);
    gw_model_free(m);
}

START_TEST(test_condition_init) {
    train_and_check(GW_INIT);
}
END_TEST

START_TEST(test_condition_input) {
    train_and_check(GW_INPUT);
}
END_TEST

/* The unconditioned model ignores the language: both ways give one
 * likelihood. */
START_TEST(test_baseline_ignores_language) {
    tg_rng r;
    tg_rng_seed(&r, 5);
    char err[256] = "";
    gw_model *m = gw_model_new(GW_NONE, 5, 4, 6, 2, &r, err, sizeof err);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(m->init_h);
    int64_t w[] = {1, 2, 3};
    int64_t *words[] = {w, w};
    int len[] = {3, 3}, lang[] = {0, 1};
    gw_batch b = {0};
    ck_assert_int_eq(gw_batch_make(&b, 2, words, len, lang), 0);
    tg_tape *t = tg_tape_new();
    double nll[2];
    ck_assert_int_eq(gw_word_nll(t, m, &b, nll), 0);
    ck_assert_close(nll[0], nll[1], 1e-12);
    ck_assert(nll[0] > 0);
    gw_batch_free(&b);
    tg_tape_free(t);
    gw_model_free(m);
}
END_TEST

TCase *tcase_genword(void) {
    TCase *tc = tcase_create("genword");
    tcase_add_test(tc, test_vocab);
    tcase_add_test(tc, test_batch_layout);
    tcase_add_test(tc, test_condition_init);
    tcase_add_test(tc, test_condition_input);
    tcase_add_test(tc, test_baseline_ignores_language);
    return tc;
}
