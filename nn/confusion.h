/* A confusion matrix for classifiers: counts of (true class, predicted
 * class) pairs, the accuracy they give, and a heat map as SVG (rows = true
 * class, columns = predicted, each cell's count written in it and its
 * colour the cell's share of its row, so the diagonal shows each class's
 * recall whatever the class sizes). */
#ifndef TG_NN_CONFUSION_H
#define TG_NN_CONFUSION_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_confusion tg_confusion;

/* An empty n_classes x n_classes matrix. labels: n_classes names (copied;
 * the SVG escapes them for XML), or NULL to name classes 0, 1, ... Returns
 * NULL with a message in err when n_classes < 1 or out of memory. */
tg_confusion *tg_confusion_new(int64_t n_classes, const char *const *labels, char *err,
                               size_t errlen);

/* Frees c (NULL is fine). */
void tg_confusion_free(tg_confusion *c);

/* Counts one example whose model said pred and whose label is truth.
 * Returns 0, or -1 with a message in err when either is not a class. */
int tg_confusion_add(tg_confusion *c, int64_t pred, int64_t truth, char *err, size_t errlen);

/* The number of classes. */
int64_t tg_confusion_classes(const tg_confusion *c);
/* The examples counted with this truth and pred (0 when either is out of
 * range). */
int64_t tg_confusion_count(const tg_confusion *c, int64_t truth, int64_t pred);
/* All examples counted. */
int64_t tg_confusion_total(const tg_confusion *c);

/* The class's name as given to tg_confusion_new (or its number). */
const char *tg_confusion_label(const tg_confusion *c, int64_t k);

/* Share of the truth row's examples predicted as pred (0 for an empty row). */
double tg_confusion_share(const tg_confusion *c, int64_t truth, int64_t pred);

/* The diagonal over the total: the share predicted right (0 when empty). */
double tg_confusion_accuracy(const tg_confusion *c);

/* The heat map as SVG at path: title (escaped; NULL for none) on top,
 * predicted classes along the top, true classes down the left, each cell
 * holding its count (<text class="count">) and a tooltip with its row
 * share, coloured white (0) to dark blue (the whole row); the footer gives
 * the examples and the accuracy. Written aside and renamed into place.
 * Returns 0, or -1 with a message in err. */
int tg_confusion_svg(const tg_confusion *c, const char *path, const char *title, char *err,
                     size_t errlen);

#endif
