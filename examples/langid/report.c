/* Looks inside a langid model trained by tapegrad train: test accuracy per
 * language and the confusion matrix (text and SVG heat map). (The top
 * guesses for given words come from tapegrad predict.)
 *
 *   report SPEC CKPT TEST.tsv [OUT.svg]
 *
 * The model is rebuilt from the spec and the checkpoint's parameters
 * (ckpt.h); a word is read letter by letter, each letter a token, as
 * tapegrad train read it (input.split "chars"). Letters the training data
 * never had become "<unk>". */
#include <stdio.h>
#include <stdlib.h>

#include "ckpt.h"
#include "langid.h"
#include "model.h"
#include "tapegrad.h"

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: report SPEC CKPT TEST.tsv [OUT.svg]\n");
        return 2;
    }
    if (!lid_locale()) return 1;
    char err[1024];
    ex_ckpt c;
    if (ex_ckpt_open(&c, argv[1], argv[2], err, sizeof err) != 0) {
        fprintf(stderr, "report: %s\n", err);
        return 1;
    }
    int C = (int)c.spec->output_size, lang_of[LID_NLANG];
    if (C != LID_NLANG || c.labels.n != LID_NLANG) {
        fprintf(stderr, "report: the model has %d classes and %lld labels, not the %d languages\n",
                C, (long long)c.labels.n, LID_NLANG);
        return 1;
    }
    for (int k = 0; k < C; k++) /* class id -> our language index, by name */
        if ((lang_of[k] = lid_lang_index(c.labels.s[k])) < 0) {
            fprintf(stderr, "report: unknown label '%s'\n", c.labels.s[k]);
            return 1;
        }
    tg_tape *t = tg_tape_new();
    double logp[LID_BATCH * LID_NLANG];
    lid_set test = {0};
    if (lid_set_load(&test, argv[3]) != 0) return 1;
    tg_confusion *conf = lid_confusion_new();
    if (!conf) return 1;
    double nll = 0;
    for (int i = 0; i < test.n; i += LID_BATCH) {
        int B = test.n - i < LID_BATCH ? test.n - i : LID_BATCH;
        char *words[LID_BATCH];
        for (int b = 0; b < B; b++) words[b] = test.items[i + b].word;
        if (lid_classify(t, &c, words, B, logp) != 0) return 1;
        for (int b = 0; b < B; b++) {
            int best = 0, truth = test.items[i + b].lang;
            for (int k = 1; k < C; k++)
                if (logp[b * C + k] > logp[b * C + best]) best = k;
            tg_confusion_add(conf, lang_of[best], truth, NULL, 0);
            for (int k = 0; k < C; k++)
                if (lang_of[k] == truth) nll -= logp[b * C + k];
        }
    }
    printf("test: %d words, accuracy %.1f%%, cross-entropy %.3f nats\n\n", test.n,
           100 * tg_confusion_accuracy(conf), nll / test.n);
    printf("confusion matrix (rows: true language, columns: guess; %% of the row):\n");
    lid_confusion_print(stdout, conf);
    if (argc >= 5) {
        if (tg_confusion_svg(conf, argv[4], "Which language is this word? (character GRU, test set)",
                             err, sizeof err) != 0) {
            fprintf(stderr, "report: %s\n", err);
            return 1;
        }
        printf("wrote %s\n", argv[4]);
    }
    tg_confusion_free(conf);
    lid_set_free(&test);
    tg_tape_free(t);
    ex_ckpt_close(&c);
    return 0;
}
