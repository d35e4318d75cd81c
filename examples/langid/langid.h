/* Which language is this word? The parts of the langid programs that the
 * tests also use: the languages, word normalisation, the data files, a
 * character n-gram naive Bayes baseline, and the confusion matrix as text
 * (the matrix itself and its SVG heat map are tapegrad's tg_confusion).
 * Header-only (static functions) so that each program and
 * tests/examples/test_langid.c include it. */
#ifndef LANGID_H
#define LANGID_H

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "tapegrad.h"

#define LID_NLANG 10
#define LID_MIN_CHARS 3
#define LID_MAX_CHARS 20
#define LID_MAX_BYTES (4 * LID_MAX_CHARS + 1)

/* Debian's word lists: package, file under /usr/share/dict, encoding. */
typedef struct lid_lang {
    const char *name, *package, *file;
    bool latin1; /* the file is ISO-8859-1, not UTF-8 */
} lid_lang;

static const lid_lang lid_langs[LID_NLANG] = {
    {"english", "wamerican", "american-english", false},
    {"german", "wngerman", "ngerman", false},
    {"french", "wfrench", "french", false},
    {"spanish", "wspanish", "spanish", false},
    {"italian", "witalian", "italian", false},
    {"dutch", "wdutch", "dutch", false},
    {"polish", "wpolish", "polish", false},
    {"portuguese", "wportuguese", "portuguese", false},
    {"swedish", "wswedish", "swedish", true},
    {"danish", "wdanish", "danish", false},
};

static inline int lid_lang_index(const char *name) {
    for (int i = 0; i < LID_NLANG; i++)
        if (strcmp(lid_langs[i].name, name) == 0) return i;
    return -1;
}

/* Case folding needs a UTF-8 locale; C.UTF-8 is always there on Debian. */
static inline bool lid_locale(void) {
    return setlocale(LC_CTYPE, "C.UTF-8") || setlocale(LC_CTYPE, "en_US.UTF-8");
}

/* One word-list entry (no newline) to the form we classify: lowercased
 * UTF-8 (German nouns are capitalised, so case would give German away),
 * letters only (no apostrophes, hyphens or digits: "Californian's",
 * "DNA-profielen" are dropped), LID_MIN_CHARS to LID_MAX_CHARS characters.
 * Returns the number of characters written to out (cap >= LID_MAX_BYTES),
 * or 0 if the entry is not kept. Needs lid_locale(). */
static inline int lid_normalize(const char *in, bool latin1, char *out, size_t cap) {
    mbstate_t rd, wr;
    memset(&rd, 0, sizeof rd);
    memset(&wr, 0, sizeof wr);
    size_t len = strlen(in), o = 0;
    int chars = 0;
    for (size_t i = 0; i < len;) {
        wchar_t c;
        if (latin1) {
            c = (unsigned char)in[i++]; /* Latin-1 bytes are code points */
        } else {
            size_t k = mbrtowc(&c, in + i, len - i, &rd);
            if (k == 0 || k == (size_t)-1 || k == (size_t)-2) return 0;
            i += k;
        }
        if (!iswalpha((wint_t)c)) return 0;
        if (++chars > LID_MAX_CHARS) return 0;
        char buf[8];
        size_t k = wcrtomb(buf, (wchar_t)towlower((wint_t)c), &wr);
        if (k == (size_t)-1 || o + k + 1 > cap) return 0;
        memcpy(out + o, buf, k);
        o += k;
    }
    out[o] = '\0';
    return chars >= LID_MIN_CHARS ? chars : 0;
}

/* ---- data files: "language<TAB>word" per line ------------------------------- */

typedef struct lid_item {
    int lang;
    char word[LID_MAX_BYTES];
} lid_item;

typedef struct lid_set {
    lid_item *items;
    int n, cap;
} lid_set;

static inline void lid_set_free(lid_set *s) {
    free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

static inline int lid_set_add(lid_set *s, int lang, const char *word) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 1024;
        lid_item *p = realloc(s->items, (size_t)cap * sizeof *p);
        if (!p) return -1;
        s->items = p, s->cap = cap;
    }
    lid_item *it = &s->items[s->n++];
    it->lang = lang;
    snprintf(it->word, sizeof it->word, "%s", word);
    return 0;
}

/* Reads a split; -1 with a message on stderr for a bad file or line. */
static inline int lid_set_load(lid_set *s, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "langid: cannot read %s\n", path);
        return -1;
    }
    char line[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *tab = strchr(line, '\t');
        int lang = -1;
        if (tab) *tab = '\0', lang = lid_lang_index(line);
        if (lang < 0 || !tab[1] || strlen(tab + 1) >= LID_MAX_BYTES) {
            fprintf(stderr, "%s:%d: expected 'language<TAB>word' with a known language\n", path,
                    lineno);
            rc = -1;
            break;
        }
        if (lid_set_add(s, lang, tab + 1) != 0) rc = -1;
    }
    fclose(f);
    return rc;
}

/* ---- baseline: naive Bayes over character n-grams ----------------------------
 * The word padded with '^' and '$' is cut into its n-grams (bytes, hashed
 * into buckets); each language has add-one smoothed n-gram counts, and a
 * word goes to the language whose counts make it most likely (equal
 * priors: the classes are balanced). n = 1 is a bag of letters: what a
 * model that ignores order reaches. */
#define LID_NB_BUCKETS (1 << 18)

typedef struct lid_nb {
    int n;
    double *count; /* [LID_NLANG][LID_NB_BUCKETS] */
    double total[LID_NLANG];
} lid_nb;

static inline uint32_t lid_hash(const char *s, size_t len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h & (LID_NB_BUCKETS - 1);
}

/* The buckets of the padded word's n-grams into out (at most cap); the
 * n-grams are of whole UTF-8 characters (a character is its lead byte and
 * continuation bytes). A word of more than LID_MAX_BYTES - 1 bytes (a
 * generated one) is cut there. Returns how many. */
static inline int lid_ngrams(const char *word, int n, uint32_t *out, int cap) {
    char pad[LID_MAX_BYTES + 4];
    snprintf(pad, sizeof pad, "^%.*s$", LID_MAX_BYTES - 1, word); /* longer words: cut */
    int starts[LID_MAX_BYTES + 4], nc = 0;
    for (int i = 0; pad[i]; i++)
        if (((unsigned char)pad[i] & 0xC0) != 0x80) starts[nc++] = i;
    starts[nc] = (int)strlen(pad);
    int k = 0;
    for (int i = 0; i + n <= nc && k < cap; i++)
        out[k++] = lid_hash(pad + starts[i], (size_t)(starts[i + n] - starts[i]));
    return k;
}

static inline int lid_nb_train(lid_nb *nb, int n, const lid_set *train) {
    nb->n = n;
    nb->count = calloc((size_t)LID_NLANG * LID_NB_BUCKETS, sizeof *nb->count);
    if (!nb->count) return -1;
    memset(nb->total, 0, sizeof nb->total);
    for (int i = 0; i < train->n; i++) {
        uint32_t g[LID_MAX_BYTES + 3];
        int k = lid_ngrams(train->items[i].word, n, g, LID_MAX_BYTES + 3);
        for (int j = 0; j < k; j++)
            nb->count[(size_t)train->items[i].lang * LID_NB_BUCKETS + g[j]] += 1;
        nb->total[train->items[i].lang] += k;
    }
    return 0;
}

/* Log-likelihood of the word under each language, into score[LID_NLANG];
 * returns the best language. */
static inline int lid_nb_predict(const lid_nb *nb, const char *word, double *score) {
    uint32_t g[LID_MAX_BYTES + 3];
    int k = lid_ngrams(word, nb->n, g, LID_MAX_BYTES + 3), best = 0;
    for (int l = 0; l < LID_NLANG; l++) {
        double s = 0;
        for (int j = 0; j < k; j++)
            s += log((nb->count[(size_t)l * LID_NB_BUCKETS + g[j]] + 1) /
                     (nb->total[l] + LID_NB_BUCKETS));
        score[l] = s;
        if (s > score[best]) best = l;
    }
    return best;
}

static inline void lid_nb_free(lid_nb *nb) {
    free(nb->count);
    nb->count = NULL;
}

/* ---- confusion matrix ------------------------------------------------------- */

/* An empty matrix over the languages (tapegrad's tg_confusion: rows are
 * the true language, columns the guess), or NULL with a message on
 * stderr. */
static inline tg_confusion *lid_confusion_new(void) {
    const char *names[LID_NLANG];
    char err[256];
    for (int l = 0; l < LID_NLANG; l++) names[l] = lid_langs[l].name;
    tg_confusion *c = tg_confusion_new(LID_NLANG, names, err, sizeof err);
    if (!c) fprintf(stderr, "%s\n", err);
    return c;
}

/* Rows = true language, columns = guess, each row normalised to 1 (so the
 * diagonal is each language's accuracy), in percent. */
static inline void lid_confusion_print(FILE *f, const tg_confusion *c) {
    fprintf(f, "%-11s", "true\\guess");
    for (int g = 0; g < LID_NLANG; g++) fprintf(f, " %5.5s", lid_langs[g].name);
    fprintf(f, "   accuracy\n");
    for (int t = 0; t < LID_NLANG; t++) {
        fprintf(f, "%-11s", lid_langs[t].name);
        for (int g = 0; g < LID_NLANG; g++) {
            double p = 100 * tg_confusion_share(c, t, g);
            if (p < 0.05)
                fprintf(f, "     .");
            else
                fprintf(f, " %5.1f", p);
        }
        fprintf(f, "   %6.1f%%\n", 100 * tg_confusion_share(c, t, t));
    }
    fprintf(f, "overall accuracy %.1f%%\n", 100 * tg_confusion_accuracy(c));
}

#endif
