/* The baselines for langid: naive Bayes over character n-grams (langid.h),
 * trained on the training split and scored on another one.
 *
 *   baseline TRAIN.tsv TEST.tsv [N ...]     (default N: 1 2 3)
 *
 * N = 1 is a bag of letters, the figure a model that ignores letter order
 * reaches; N = 3 (letter trigrams, with word boundaries) is the classic
 * strong baseline for language identification. */
#include <stdio.h>
#include <stdlib.h>

#include "langid.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: baseline TRAIN.tsv TEST.tsv [N ...]\n");
        return 2;
    }
    lid_set train = {0}, test = {0};
    if (lid_set_load(&train, argv[1]) || lid_set_load(&test, argv[2])) return 1;
    int ns[8] = {1, 2, 3}, nn = 3;
    if (argc > 3) {
        nn = 0;
        for (int i = 3; i < argc && nn < 8; i++) ns[nn++] = atoi(argv[i]);
    }
    for (int k = 0; k < nn; k++) {
        if (ns[k] < 1 || ns[k] > 6) {
            fprintf(stderr, "baseline: N must be 1 to 6\n");
            return 2;
        }
        lid_nb nb;
        if (lid_nb_train(&nb, ns[k], &train) != 0) return 1;
        tg_confusion *c = lid_confusion_new();
        if (!c) return 1;
        double score[LID_NLANG];
        for (int i = 0; i < test.n; i++)
            tg_confusion_add(c, lid_nb_predict(&nb, test.items[i].word, score),
                             test.items[i].lang, NULL, 0);
        printf("naive Bayes, character %d-grams: accuracy %.1f%% on %d words\n", ns[k],
               100 * tg_confusion_accuracy(c), test.n);
        tg_confusion_free(c);
        lid_nb_free(&nb);
    }
    lid_set_free(&train);
    lid_set_free(&test);
    return 0;
}
