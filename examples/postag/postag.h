/* Part-of-speech tagging on the Brown corpus: the parts the postag programs
 * and their tests share. Header-only (static inline) so that each program
 * and tests/examples/test_postag.c include it without a library.
 *
 * The Brown corpus has 472 distinct tags (87 base tags combined with -tl
 * "in a title", -hl "in a headline", -nc "cited", fw- "foreign word", '*'
 * "negated" and '+' contractions such as pps+bez "it's"). pos_universal
 * maps them to the 12 universal tags of Petrov, Das and McDonald (2012):
 * the README lists the mapping. */
#ifndef POSTAG_H
#define POSTAG_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POS_NTAGS 12
static const char *const pos_tags[POS_NTAGS] = {".",    "ADJ", "ADP",  "ADV", "CONJ", "DET",
                                                "NOUN", "NUM", "PRON", "PRT", "VERB", "X"};

static inline int pos_tag_index(const char *tag) {
    for (int i = 0; i < POS_NTAGS; i++)
        if (strcmp(pos_tags[i], tag) == 0) return i;
    return -1;
}

/* The universal tag of a raw Brown tag, or NULL if it is not one. */
static inline const char *pos_universal(const char *raw) {
    char t[64];
    if (!raw[0] || strlen(raw) >= sizeof t) return NULL;
    snprintf(t, sizeof t, "%s", raw);
    for (char *p = t; *p; p++) *p = (char)tolower((unsigned char)*p);
    if (strncmp(t, "fw-", 3) == 0) return "X"; /* foreign words, whatever their tag */
    char *plus = strchr(t + 1, '+');           /* a contraction: its first part decides */
    if (plus) *plus = '\0';
    for (;;) { /* strip the -tl, -hl, -nc markers */
        size_t n = strlen(t);
        if (n > 3 && (strcmp(t + n - 3, "-tl") == 0 || strcmp(t + n - 3, "-hl") == 0 ||
                      strcmp(t + n - 3, "-nc") == 0))
            t[n - 3] = '\0';
        else
            break;
    }
    static const char *const punct[] = {"'", "''", "(", ")", "*", ",", "--", ".", ":", "``"};
    for (size_t i = 0; i < sizeof punct / sizeof *punct; i++)
        if (strcmp(t, punct[i]) == 0) return strcmp(t, "*") == 0 ? "PRT" : "."; /* '*' is "not" */
    size_t n = strlen(t);
    while (n > 1 && (t[n - 1] == '*' || t[n - 1] == '$')) t[--n] = '\0'; /* negated, possessive */
    static const struct {
        const char *tag, *uni;
    } exact[] = {
        {"abl", "DET"},   {"abn", "DET"},  {"abx", "DET"},  {"ap", "DET"},    {"at", "DET"},
        {"dt", "DET"},    {"dti", "DET"},  {"dts", "DET"},  {"dtx", "DET"},   {"wdt", "DET"},
        {"ex", "DET"},    {"cc", "CONJ"},  {"cs", "CONJ"},  {"cd", "NUM"},    {"od", "ADJ"},
        {"in", "ADP"},    {"md", "VERB"},  {"pn", "PRON"},  {"pp", "PRON"},   {"ppl", "PRON"},
        {"ppls", "PRON"}, {"ppo", "PRON"}, {"pps", "PRON"}, {"ppss", "PRON"}, {"wp", "PRON"},
        {"wpo", "PRON"},  {"wps", "PRON"}, {"ql", "ADV"},   {"qlp", "ADV"},   {"rb", "ADV"},
        {"rbr", "ADV"},   {"rbt", "ADV"},  {"rn", "ADV"},   {"wql", "ADV"},   {"wrb", "ADV"},
        {"rp", "PRT"},    {"to", "PRT"},   {"uh", "X"},     {"nil", "X"},
    };
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(t, exact[i].tag) == 0) return exact[i].uni;
    /* families: be*, do*, hv*, vb* are verbs; jj* adjectives; nn*, np*, nr* nouns */
    if (!strncmp(t, "be", 2) || !strncmp(t, "do", 2) || !strncmp(t, "hv", 2) ||
        !strncmp(t, "vb", 2))
        return "VERB";
    if (!strncmp(t, "jj", 2)) return "ADJ";
    if (!strncmp(t, "nn", 2) || !strncmp(t, "np", 2) || !strncmp(t, "nr", 2)) return "NOUN";
    return NULL;
}

/* What stands for a rare or unseen word: its shape and a telling suffix,
 * e.g. "<unk-C-ing>" for a capitalised word ending in -ing, "<unk-num>",
 * "<unk-H-s>" (hyphenated, plural-looking). Rare training words are
 * replaced by theirs, so the model learns what these signatures mean and a
 * test word it never saw still says something. */
static inline void pos_signature(const char *w, char *out, size_t cap) {
    size_t n = strlen(w);
    bool digit = false, hyphen = false, upper = false, lower = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        digit |= isdigit(c) != 0;
        hyphen |= c == '-';
        upper |= isupper(c) != 0;
        lower |= islower(c) != 0;
    }
    if (digit) {
        snprintf(out, cap, "<unk-num>");
        return;
    }
    static const char *const suffixes[] = {
        "ing", "ed", "ly", "ion", "ness", "ment", "able", "ible", "ous", "ful", "ive", "ist",
        "est", "er", "al", "ity", "ic",   "ize",  "ism",  "ship", "ry",  "es",  "s",   "y"};
    const char *suf = "";
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k + 1 && strcmp(w + n - k, suffixes[i]) == 0) {
            suf = suffixes[i];
            break;
        }
    }
    const char *shape = !lower && upper ? "-A" : isupper((unsigned char)w[0]) ? "-C" : "";
    snprintf(out, cap, "<unk%s%s%s%s>", shape, hyphen ? "-H" : "", *suf ? "-" : "", suf);
}

/* ---- tagged sentences: lines of "word/TAG" tokens ----------------------------- */

typedef struct pos_corpus {
    char **word; /* per token, owned */
    int *tag;    /* per token: index in pos_tags */
    int64_t n, cap;
    int64_t *first; /* per sentence: its first token */
    int64_t n_sent, cap_sent;
} pos_corpus;

static inline void pos_corpus_free(pos_corpus *c) {
    for (int64_t i = 0; i < c->n; i++) free(c->word[i]);
    free(c->word);
    free(c->tag);
    free(c->first);
    memset(c, 0, sizeof *c);
}

static inline int pos_corpus_add(pos_corpus *c, const char *word, size_t len, int tag) {
    if (c->n == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 4096;
        char **w = realloc(c->word, (size_t)cap * sizeof *w);
        if (!w) return -1;
        c->word = w;
        int *t = realloc(c->tag, (size_t)cap * sizeof *t);
        if (!t) return -1;
        c->tag = t, c->cap = cap;
    }
    if (!(c->word[c->n] = malloc(len + 1))) return -1;
    memcpy(c->word[c->n], word, len);
    c->word[c->n][len] = '\0';
    c->tag[c->n++] = tag;
    return 0;
}

static inline int pos_corpus_sentence(pos_corpus *c) {
    if (c->n_sent == c->cap_sent) {
        int64_t cap = c->cap_sent ? 2 * c->cap_sent : 1024;
        int64_t *f = realloc(c->first, (size_t)cap * sizeof *f);
        if (!f) return -1;
        c->first = f, c->cap_sent = cap;
    }
    c->first[c->n_sent++] = c->n;
    return 0;
}

static inline int64_t pos_sentence_end(const pos_corpus *c, int64_t s) {
    return s + 1 < c->n_sent ? c->first[s + 1] : c->n;
}

/* Reads a file of our format (universal tags). -1 with a message. */
static inline int pos_corpus_load(pos_corpus *c, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "postag: cannot read %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, lineno = 0;
    while (rc == 0 && getline(&line, &cap, f) > 0) {
        lineno++;
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        if (!tok) continue;
        if (pos_corpus_sentence(c) != 0) rc = -1;
        for (; tok && rc == 0; tok = strtok_r(NULL, " \t\r\n", &save)) {
            char *slash = strrchr(tok, '/');
            int tag = slash ? pos_tag_index(slash + 1) : -1;
            if (tag < 0 || slash == tok) {
                fprintf(stderr, "%s:%d: '%s' is not word/TAG with a universal tag\n", path, lineno,
                        tok);
                rc = -1;
            } else if (pos_corpus_add(c, tok, (size_t)(slash - tok), tag) != 0) {
                rc = -1;
            }
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- word -> count and word -> most frequent tag (a small hash map) --------- */

typedef struct pos_lex {
    char **key;
    int64_t (*count)[POS_NTAGS]; /* per key: count per tag */
    int64_t n, n_slots;
} pos_lex;

static inline uint64_t pos_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static inline int64_t pos_lex_slot(const pos_lex *x, const char *w) {
    uint64_t i = pos_hash(w) & (uint64_t)(x->n_slots - 1);
    while (x->key[i] && strcmp(x->key[i], w) != 0) i = (i + 1) & (uint64_t)(x->n_slots - 1);
    return (int64_t)i;
}

static inline int pos_lex_init(pos_lex *x, int64_t max_keys) {
    x->n = 0;
    x->n_slots = 1024;
    while (x->n_slots < 2 * max_keys) x->n_slots *= 2;
    x->key = calloc((size_t)x->n_slots, sizeof *x->key);
    x->count = calloc((size_t)x->n_slots, sizeof *x->count);
    return x->key && x->count ? 0 : -1;
}

static inline void pos_lex_free(pos_lex *x) {
    for (int64_t i = 0; x->key && i < x->n_slots; i++) free(x->key[i]);
    free(x->key);
    free(x->count);
    memset(x, 0, sizeof *x);
}

/* Counts (word, tag); max_keys given to init must bound the distinct words. */
static inline int pos_lex_add(pos_lex *x, const char *w, int tag) {
    int64_t i = pos_lex_slot(x, w);
    if (!x->key[i]) {
        if (!(x->key[i] = strdup(w))) return -1;
        x->n++;
    }
    x->count[i][tag]++;
    return 0;
}

/* The word's counts, or NULL if it was never added. */
static inline const int64_t *pos_lex_get(const pos_lex *x, const char *w) {
    int64_t i = pos_lex_slot(x, w);
    return x->key[i] ? x->count[i] : NULL;
}

static inline int64_t pos_lex_total(const pos_lex *x, const char *w) {
    const int64_t *c = pos_lex_get(x, w);
    int64_t n = 0;
    for (int t = 0; c && t < POS_NTAGS; t++) n += c[t];
    return n;
}

/* argmax of counts (the first on ties), or fallback without counts. */
static inline int pos_best(const int64_t *c, int fallback) {
    if (!c) return fallback;
    int best = 0;
    for (int t = 1; t < POS_NTAGS; t++)
        if (c[t] > c[best]) best = t;
    return c[best] > 0 ? best : fallback;
}

#endif
