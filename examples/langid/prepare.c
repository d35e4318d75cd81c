/* Builds the langid data set from Debian's word lists.
 *
 *   prepare DICT_DIR OUT_DIR [WORDS_PER_LANGUAGE]
 *
 * DICT_DIR holds the word lists named in langid.h (american-english,
 * ngerman, ...; fetch.sh extracts them from the .deb packages). Every entry
 * is normalised (lowercase, letters only, 3 to 20 characters); a word that
 * is in two languages' lists ("taxi", "piano") is dropped, so every label is
 * unambiguous. From each language's remaining words, shuffled by tg_rng
 * seeded SEED, the first N (default 10000) are taken: 80% train, 10% dev,
 * 10% test. OUT_DIR gets train.tsv, dev.tsv and test.tsv, lines
 * "language<TAB>word" in shuffled order, and traindev.tsv, the file
 * tapegrad train reads (the spec's input.split "chars" makes every letter
 * a token): the training words then the development words, whose held-out
 * last ninth (train.valid_fraction 0.111111) is exactly the development
 * set. The result depends only on the word lists and SEED, so fetch.sh
 * checks its sha256. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "langid.h"
#include "tapegrad.h"

#define SEED 20240909u

typedef struct words {
    char **w;
    size_t n, cap;
} words;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads one list, normalised, sorted, without repeats. */
static int read_list(const char *dir, const lid_lang *lang, words *out) {
    char path[4096], line[1024], norm[LID_MAX_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, lang->file);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "prepare: cannot read %s (run fetch.sh)\n", path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!lid_normalize(line, lang->latin1, norm, sizeof norm)) continue;
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 4096;
            out->w = realloc(out->w, out->cap * sizeof *out->w);
            if (!out->w) {
                fprintf(stderr, "prepare: out of memory\n");
                exit(1);
            }
        }
        out->w[out->n++] = strdup(norm);
    }
    fclose(f);
    qsort(out->w, out->n, sizeof *out->w, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (k && strcmp(out->w[k - 1], out->w[i]) == 0) {
            free(out->w[i]);
            continue;
        }
        out->w[k++] = out->w[i];
    }
    out->n = k;
    return 0;
}

static bool in_list(const words *l, const char *w) {
    return bsearch(&w, l->w, l->n, sizeof *l->w, cmp_str) != NULL;
}

static void shuffle_items(lid_item *it, int n, tg_rng *r) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tg_rng_below(r, (uint64_t)i + 1);
        lid_item t = it[i];
        it[i] = it[j], it[j] = t;
    }
}

/* Writes s as "language<TAB>word" lines (shuffled first when r is given),
 * appending when append. */
static int write_split(const char *dir, const char *name, lid_set *s, tg_rng *r, bool append) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (r) shuffle_items(s->items, s->n, r);
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        fprintf(stderr, "prepare: cannot write %s\n", path);
        return -1;
    }
    for (int i = 0; i < s->n; i++)
        fprintf(f, "%s\t%s\n", lid_langs[s->items[i].lang].name, s->items[i].word);
    if (fclose(f) != 0) return -1;
    printf("%s %s (%d words)\n", append ? "appended to" : "wrote", path, s->n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: prepare DICT_DIR OUT_DIR [WORDS_PER_LANGUAGE]\n");
        return 2;
    }
    int per = argc == 4 ? atoi(argv[3]) : 10000;
    if (per < 10) {
        fprintf(stderr, "prepare: WORDS_PER_LANGUAGE must be at least 10\n");
        return 2;
    }
    if (!lid_locale()) {
        fprintf(stderr, "prepare: no UTF-8 locale (C.UTF-8)\n");
        return 1;
    }
    words lists[LID_NLANG] = {0};
    for (int l = 0; l < LID_NLANG; l++) {
        if (read_list(argv[1], &lid_langs[l], &lists[l]) != 0) return 1;
        printf("%-11s %8zu distinct words\n", lid_langs[l].name, lists[l].n);
    }
    tg_rng r;
    tg_rng_seed(&r, SEED);
    lid_set split[3] = {{0}};
    int n_train = per * 8 / 10, n_dev = per / 10;
    for (int l = 0; l < LID_NLANG; l++) {
        words *w = &lists[l];
        for (size_t i = w->n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = (size_t)tg_rng_below(&r, (uint64_t)i + 1);
            char *t = w->w[i];
            w->w[i] = w->w[j], w->w[j] = t;
        }
        int taken = 0;
        size_t shared = 0;
        for (size_t i = 0; i < w->n && taken < per; i++) {
            bool other = false;
            for (int o = 0; o < LID_NLANG && !other; o++)
                other = o != l && in_list(&lists[o], w->w[i]);
            if (other) {
                shared++;
                continue;
            }
            int s = taken < n_train ? 0 : taken < n_train + n_dev ? 1 : 2;
            lid_set_add(&split[s], l, w->w[i]);
            taken++;
        }
        if (taken < per) {
            fprintf(stderr, "prepare: only %d usable %s words\n", taken, lid_langs[l].name);
            return 1;
        }
        /* the shuffle broke this list's order, which in_list needs while
         * the later languages are sampled: sort it again */
        qsort(w->w, w->n, sizeof *w->w, cmp_str);
        printf("%-11s %d taken, %zu skipped as shared with another language\n", lid_langs[l].name,
               taken, shared);
    }
    if (write_split(argv[2], "train.tsv", &split[0], &r, false) ||
        write_split(argv[2], "dev.tsv", &split[1], &r, false) ||
        write_split(argv[2], "test.tsv", &split[2], &r, false) ||
        write_split(argv[2], "traindev.tsv", &split[0], NULL, false) ||
        write_split(argv[2], "traindev.tsv", &split[1], NULL, true))
        return 1;
    for (int l = 0; l < LID_NLANG; l++) {
        for (size_t i = 0; i < lists[l].n; i++) free(lists[l].w[i]);
        free(lists[l].w);
    }
    for (int s = 0; s < 3; s++) lid_set_free(&split[s]);
    return 0;
}
