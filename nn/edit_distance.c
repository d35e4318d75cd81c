/* The Levenshtein distance, for scoring decoded sequences (PER, WER). One
 * row of the table at a time. */
#include "seq2seq.h"

#include <stdlib.h>

int64_t tg_edit_distance(const int64_t *a, int64_t n, const int64_t *b, int64_t m) {
    int64_t *row = malloc((size_t)(m + 1) * sizeof *row);
    if (!row) return -1;
    for (int64_t j = 0; j <= m; j++) row[j] = j;
    for (int64_t i = 1; i <= n; i++) {
        int64_t diag = row[0];
        row[0] = i;
        for (int64_t j = 1; j <= m; j++) {
            int64_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best, diag = up;
        }
    }
    int64_t r = row[m];
    free(row);
    return r;
}
