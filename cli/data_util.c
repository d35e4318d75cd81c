/* What the data readers share (data_util.h): messages, string tables,
 * vocabularies and labels, files, batch buffers and the held-out split. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_util.h"

int cli_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- strings ------------------------------------------------------------------ */

uint64_t cli_fnv1a(const void *p, size_t n) {
    const unsigned char *c = p;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

static int64_t *probe(const cli_strs *l, const char *s, size_t len) {
    uint64_t mask = (uint64_t)l->n_slots - 1;
    for (uint64_t i = cli_fnv1a(s, len) & mask;; i = (i + 1) & mask) {
        int64_t id = l->slot[i] - 1;
        if (id < 0 || (strlen(l->s[id]) == len && memcmp(l->s[id], s, len) == 0))
            return &l->slot[i];
    }
}

static int rehash(cli_strs *l, int64_t n_slots) {
    int64_t *slot = calloc((size_t)n_slots, sizeof *slot);
    if (!slot) return -1;
    free(l->slot);
    l->slot = slot, l->n_slots = n_slots;
    for (int64_t id = 0; id < l->n; id++) {
        int64_t *p = probe(l, l->s[id], strlen(l->s[id]));
        if (!*p) *p = id + 1; /* the first of equal names wins */
    }
    return 0;
}

int64_t cli_strs_add(cli_strs *l, const char *s, size_t len) {
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 16;
        char **p = realloc(l->s, (size_t)cap * sizeof *p);
        if (!p) return -1;
        l->s = p, l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    l->s[l->n++] = copy;
    if (2 * l->n > l->n_slots) return rehash(l, l->n_slots ? 2 * l->n_slots : 64) ? -1 : l->n - 1;
    int64_t *p = probe(l, copy, len);
    if (!*p) *p = l->n;
    return l->n - 1;
}

int64_t cli_strs_find(const cli_strs *l, const char *s, size_t len) {
    if (!l->n_slots) return -1;
    return *probe(l, s, len) - 1;
}

int64_t cli_strs_intern(cli_strs *l, const char *s, size_t len) {
    int64_t id = cli_strs_find(l, s, len);
    return id >= 0 ? id : cli_strs_add(l, s, len);
}

void cli_strs_free(cli_strs *l) {
    for (int64_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    free(l->slot);
    *l = (cli_strs){0};
}

void cli_vocab_free(cli_vocab *v) {
    cli_strs_free(&v->words);
    cli_strs_free(&v->labels);
    v->n_bytes = 0;
}

int64_t cli_vocab_size(const cli_vocab *v) {
    return v->n_bytes ? v->n_bytes : v->words.n;
}

/* ---- files --------------------------------------------------------------------- */

char *cli_read_file(const char *path, int64_t *len, char *err, size_t errlen) {
    size_t n;
    tg_read_error why;
    char *buf = tg_read_file(path, 0, &n, &why);
    if (!buf) {
        cli_fail(err, errlen, "%s: %s", path,
                 why.what == TG_READ_OPEN ? strerror(why.errnum)
                 : why.what == TG_READ_IO ? "read error"
                                          : "out of memory");
        return NULL;
    }
    *len = (int64_t)n;
    return buf;
}

/* ---- vocabularies and labels ------------------------------------------------------- */

/* A word and how often it came: each carries its own sort key, so the
 * comparator needs no context. */
typedef struct count {
    const char *word;
    int64_t n;
} count;

static int by_count(const void *a, const void *b) {
    const count *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->word, y->word);
}

int cli_words_build(cli_vocab *v, const char *path, const char *const *words, const size_t *lens,
                    int64_t n_words, int64_t cap, char *err, size_t errlen) {
    cli_strs seen = {0};
    int64_t *n = NULL;
    count *c = NULL;
    int rc = -1;
    for (int64_t i = 0; i < n_words; i++) {
        int64_t id = cli_strs_find(&seen, words[i], lens[i]);
        if (id < 0) {
            if ((id = cli_strs_add(&seen, words[i], lens[i])) < 0) goto done;
            int64_t *p = realloc(n, (size_t)seen.cap * sizeof *p);
            if (!p) goto done;
            n = p, n[id] = 0;
        }
        n[id]++;
    }
    c = malloc((size_t)(seen.n + 1) * sizeof *c);
    if (!c) goto done;
    for (int64_t i = 0; i < seen.n; i++) c[i] = (count){seen.s[i], n[i]};
    qsort(c, (size_t)seen.n, sizeof *c, by_count); /* most frequent first; ties in byte order */
    if (cli_strs_add(&v->words, "<pad>", 5) < 0 || cli_strs_add(&v->words, "<unk>", 5) < 0)
        goto done;
    for (int64_t i = 0; i < seen.n && (!cap || v->words.n < cap); i++)
        if (cli_strs_add(&v->words, c[i].word, strlen(c[i].word)) < 0) goto done;
    rc = 0;
done:
    if (rc) cli_fail(err, errlen, "%s: out of memory", path);
    cli_strs_free(&seen);
    free(n);
    free(c);
    return rc;
}

int64_t cli_word_id(const cli_vocab *v, const char *w, size_t len) {
    int64_t id = cli_strs_find(&v->words, w, len);
    return id < 2 ? 1 : id; /* unknown (or a literal "<pad>") reads as <unk> */
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* n is a decimal number below max (no sign, no leading zeros). */
static bool small_int(const char *s, int64_t max) {
    size_t len = strlen(s);
    if (!len || len > 9 || (len > 1 && s[0] == '0')) return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return atol(s) < max;
}

int cli_labels_build(cli_vocab *v, const char *path, cli_strs *seen, int64_t max, const char *what,
                     char *err, size_t errlen) {
    bool numeric = true;
    for (int64_t i = 0; i < seen->n; i++) numeric = numeric && small_int(seen->s[i], max);
    if (numeric) { /* "0", "1", ... name their own ids */
        char name[24];
        for (int64_t i = 0; i < max; i++) {
            snprintf(name, sizeof name, "%lld", (long long)i);
            if (cli_strs_add(&v->labels, name, strlen(name)) < 0)
                return cli_fail(err, errlen, "%s: out of memory", path);
        }
        return 0;
    }
    if (seen->n > max)
        return cli_fail(err, errlen, "%s: %lld different %ss, but the model has %lld outputs", path,
                        (long long)seen->n, what, (long long)max);
    char **names = malloc((size_t)(seen->n + 1) * sizeof *names);
    if (!names) return cli_fail(err, errlen, "%s: out of memory", path);
    memcpy(names, seen->s, (size_t)seen->n * sizeof *names);
    qsort(names, (size_t)seen->n, sizeof *names, by_name);
    for (int64_t i = 0; i < seen->n; i++)
        if (cli_strs_add(&v->labels, names[i], strlen(names[i])) < 0) {
            free(names);
            return cli_fail(err, errlen, "%s: out of memory", path);
        }
    free(names);
    return 0;
}

int64_t cli_label_id(const cli_vocab *v, const char *s, size_t len) {
    return cli_strs_find(&v->labels, s, len);
}

/* ---- batches -------------------------------------------------------------------------- */

void cli_batch_free(cli_batch *b) {
    free(b->ids);
    free(b->targets);
    free(b->len_buf);
    free(b->target_lengths);
    free(b->cond);
    free(b->x);
    free(b->y);
    tg_tree_batch_free(b->trees);
    *b = (cli_batch){0};
}

static int grow(void **p, int64_t n, size_t size) {
    void *q = realloc(*p, (size_t)(n > 0 ? n : 1) * size);
    if (!q) return -1;
    *p = q;
    return 0;
}

int cli_batch_reserve(cli_batch *b, int64_t T, int64_t B, int64_t in, int64_t out) {
    int64_t tb = T * B * (in > out ? (in > 1 ? in : 1) : (out > 1 ? out : 1));
    if (tb > b->cap_tb) {
        if (grow((void **)&b->ids, tb, sizeof *b->ids) ||
            grow((void **)&b->targets, tb, sizeof *b->targets) ||
            grow((void **)&b->x, tb, sizeof *b->x) || grow((void **)&b->y, tb, sizeof *b->y))
            return -1;
        b->cap_tb = tb;
    }
    if (B > b->cap_b) {
        if (grow((void **)&b->len_buf, B, sizeof *b->len_buf) ||
            grow((void **)&b->target_lengths, B, sizeof *b->target_lengths) ||
            grow((void **)&b->cond, B, sizeof *b->cond))
            return -1;
        b->cap_b = B;
    }
    return 0;
}

/* Sequences [0, n) split: the last valid_fraction held out, at least one
 * sequence kept for each side when there is any fraction at all. */
int64_t cli_split(int64_t n, double valid_fraction) {
    if (valid_fraction >= 1) return 0;
    int64_t held = (int64_t)((double)n * valid_fraction + 0.5);
    if (valid_fraction > 0 && held < 1 && n > 1) held = 1;
    return n - held;
}

/* Parses the numbers of one row into out (up to cap); returns how many, or
 * -1 when a field is not a finite number. */
int64_t cli_csv_row(const char *p, const char *eol, double *out, int64_t cap) {
    int64_t n = 0;
    for (;;) {
        char field[64];
        const char *c = memchr(p, ',', (size_t)(eol - p)), *fe = c ? c : eol;
        while (p < fe && (*p == ' ' || *p == '\t')) p++;
        size_t len = (size_t)(fe - p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r')) len--;
        if (!len || len >= sizeof field) return -1;
        memcpy(field, p, len);
        field[len] = '\0';
        char *end;
        errno = 0;
        double v = strtod(field, &end);
        if (*end || errno == ERANGE || !isfinite(v)) return -1;
        if (n < cap) out[n] = v;
        n++;
        if (!c) return n;
        p = c + 1;
    }
}
