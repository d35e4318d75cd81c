/* Scores a tagger trained by tapegrad train against most-frequent-tag
 * baselines, on every test token and on the test words never seen in
 * training.
 *
 *   report SPEC CKPT DATA_DIR [--show N]
 *
 * DATA_DIR is what prepare wrote (train.raw, test.raw, test.txt). The model
 * is rebuilt from the spec and the checkpoint (../langid/ckpt.h) and reads
 * test.txt, the words as the tagger saw them in training (rare and unseen
 * words as their signatures). The baselines tag each word alone, without
 * context:
 *   most frequent tag     the word's most frequent tag in training;
 *                         a word never seen gets the most frequent tag of
 *                         all (NOUN)
 *   ... with signatures   the same over the tagger's own input: an unseen
 *                         word gets the most frequent tag of its signature
 *                         ("<unk-C-ing>")
 * --show N prints the first N test sentences in which the tagger and the
 * most-frequent-tag baseline disagree, marking each of their mistakes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../langid/ckpt.h"
#include "postag.h"
#include "tapegrad.h"

enum { BATCH = 64 };

typedef struct score {
    int64_t right, n, right_unseen, n_unseen;
} score;

static void count(score *s, bool ok, bool unseen) {
    s->n++, s->right += ok;
    if (unseen) s->n_unseen++, s->right_unseen += ok;
}

static void print_row(const char *name, const score *s) {
    printf("%-34s %8.2f%%   %8.2f%%\n", name, 100.0 * s->right / s->n,
           100.0 * s->right_unseen / s->n_unseen);
}

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 6 && !strcmp(argv[4], "--show"))) {
        fprintf(stderr, "usage: report SPEC CKPT DATA_DIR [--show N]\n");
        return 2;
    }
    int show = argc == 6 ? atoi(argv[5]) : 0;
    char err[1024], path[4096];
    pos_corpus train = {0}, test = {0}, input = {0};
    snprintf(path, sizeof path, "%s/train.raw", argv[3]);
    if (pos_corpus_load(&train, path)) return 1;
    snprintf(path, sizeof path, "%s/test.raw", argv[3]);
    if (pos_corpus_load(&test, path)) return 1;
    snprintf(path, sizeof path, "%s/test.txt", argv[3]);
    if (pos_corpus_load(&input, path)) return 1;
    if (input.n != test.n || input.n_sent != test.n_sent) {
        fprintf(stderr, "report: test.txt and test.raw differ in length\n");
        return 1;
    }
    ex_ckpt c;
    if (ex_ckpt_open(&c, argv[1], argv[2], err, sizeof err) != 0) {
        fprintf(stderr, "report: %s\n", err);
        return 1;
    }
    int tag_of[POS_NTAGS]; /* the model's class id -> index in pos_tags */
    if (c.labels.n != POS_NTAGS || c.spec->output_size != POS_NTAGS) {
        fprintf(stderr, "report: the model has %lld tags, not %d\n", (long long)c.labels.n,
                POS_NTAGS);
        return 1;
    }
    for (int k = 0; k < POS_NTAGS; k++)
        if ((tag_of[k] = pos_tag_index(c.labels.s[k])) < 0) {
            fprintf(stderr, "report: unknown tag '%s'\n", c.labels.s[k]);
            return 1;
        }

    /* baselines: counts over the raw training words, and over the tagger's
     * input words (the training part of train.txt is what prepare mapped:
     * map again here the same way) */
    pos_lex raw, mapped;
    if (pos_lex_init(&raw, train.n) || pos_lex_init(&mapped, train.n)) return 1;
    for (int64_t i = 0; i < train.n; i++) pos_lex_add(&raw, train.word[i], train.tag[i]);
    int64_t all[POS_NTAGS] = {0};
    for (int64_t i = 0; i < train.n; i++) {
        char sig[64];
        const char *w = train.word[i];
        if (pos_lex_total(&raw, w) < 2) pos_signature(w, sig, sizeof sig), w = sig;
        pos_lex_add(&mapped, w, train.tag[i]);
        all[train.tag[i]]++;
    }
    int top = pos_best(all, 0);

    score model = {0}, mft = {0}, mft_sig = {0};
    tg_tape *t = tg_tape_new();
    int shown = 0;
    for (int64_t s0 = 0; s0 < test.n_sent; s0 += BATCH) {
        int64_t B = test.n_sent - s0 < BATCH ? test.n_sent - s0 : BATCH, T = 1;
        int64_t lengths[BATCH];
        for (int64_t b = 0; b < B; b++) {
            lengths[b] = pos_sentence_end(&test, s0 + b) - test.first[s0 + b];
            if (lengths[b] > T) T = lengths[b];
        }
        int64_t *ids = calloc((size_t)(T * B), sizeof *ids);
        for (int64_t b = 0; b < B; b++)
            for (int64_t k = 0; k < lengths[b]; k++)
                ids[k * B + b] = ex_word_id(&c, input.word[input.first[s0 + b] + k]);
        tg_tape_reset(t);
        bool was = tg_set_grad_enabled(t, false);
        tg_model_batch mb = {.T = T, .B = B, .ids = ids, .lengths = lengths};
        tg_model_output out;
        if (tg_model_forward(t, c.model, &mb, NULL, &out) != 0) {
            fprintf(stderr, "report: %s\n", tg_tape_error(t));
            return 1;
        }
        tg_set_grad_enabled(t, was);
        for (int64_t b = 0; b < B; b++) {
            char line[8192];
            size_t o = 0;
            bool differ = false;
            for (int64_t k = 0; k < lengths[b]; k++) {
                int64_t i = test.first[s0 + b] + k, best = 0;
                for (int64_t j = 1; j < POS_NTAGS; j++)
                    if (tg_at(out.output, (k * B + b) * POS_NTAGS + j) >
                        tg_at(out.output, (k * B + b) * POS_NTAGS + best))
                        best = j;
                int guess = tag_of[best], gold = test.tag[i];
                int base = pos_best(pos_lex_get(&raw, test.word[i]), top);
                bool unseen = !pos_lex_get(&raw, test.word[i]);
                count(&model, guess == gold, unseen);
                count(&mft, base == gold, unseen);
                count(&mft_sig, pos_best(pos_lex_get(&mapped, input.word[i]), top) == gold, unseen);
                differ |= guess != base;
                if (o < sizeof line - 200) {
                    o += (size_t)snprintf(line + o, sizeof line - o, "%s%s%s/%s", k ? " " : "",
                                          test.word[i], unseen ? "*" : "", pos_tags[gold]);
                    if (guess != gold)
                        o += (size_t)snprintf(line + o, sizeof line - o, "[tagger:%s]",
                                              pos_tags[guess]);
                    if (base != gold)
                        o += (size_t)snprintf(line + o, sizeof line - o, "[baseline:%s]",
                                              pos_tags[base]);
                }
            }
            if (differ && shown < show) printf("%s\n\n", line), shown++;
        }
        free(ids);
    }
    if (show)
        printf("(word/TAG: the right tag; [tagger:X], [baseline:X]: their mistakes; "
               "word*: not seen in training)\n\n");
    printf("test: %lld sentences, %lld tokens, %lld (%.1f%%) of them words not seen in training\n",
           (long long)test.n_sent, (long long)model.n, (long long)model.n_unseen,
           100.0 * model.n_unseen / model.n);
    printf("%-34s %9s   %9s\n", "per-token accuracy", "all", "unseen");
    print_row("most frequent tag (unseen: NOUN)", &mft);
    print_row("most frequent tag, with signatures", &mft_sig);
    print_row("bidirectional LSTM (tapegrad)", &model);
    tg_tape_free(t);
    ex_ckpt_close(&c);
    pos_lex_free(&raw);
    pos_lex_free(&mapped);
    pos_corpus_free(&train);
    pos_corpus_free(&test);
    pos_corpus_free(&input);
    return 0;
}
