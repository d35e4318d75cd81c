/* What the data readers share: files, string tables, vocabularies and
 * labels, and batches of whole sequences (classify, tag, regress). The
 * language model's stream batches are in data_text.c. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

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
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_fail(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t n;
    char *buf = tg_read_stream(f, 0, &n);
    bool read_error = ferror(f);
    fclose(f);
    if (!buf) {
        cli_fail(err, errlen, "%s: %s", path, read_error ? "read error" : "out of memory");
        return NULL;
    }
    *len = (int64_t)n;
    return buf;
}

/* ---- vocabularies and labels ------------------------------------------------------- */

typedef struct count {
    int64_t id, n;
} count;

static const cli_strs *sort_words;
static int by_count(const void *a, const void *b) {
    const count *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(sort_words->s[x->id], sort_words->s[y->id]);
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
    for (int64_t i = 0; i < seen.n; i++) c[i] = (count){i, n[i]};
    sort_words = &seen; /* most frequent first; ties in byte order */
    qsort(c, (size_t)seen.n, sizeof *c, by_count);
    if (cli_strs_add(&v->words, "<pad>", 5) < 0 || cli_strs_add(&v->words, "<unk>", 5) < 0)
        goto done;
    for (int64_t i = 0; i < seen.n && (!cap || v->words.n < cap); i++)
        if (cli_strs_add(&v->words, seen.s[c[i].id], strlen(seen.s[c[i].id])) < 0) goto done;
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

/* Fisher-Yates from a generator seeded by (seed, epoch). */
static void shuffle(int64_t *perm, int64_t n, uint64_t seed, int64_t epoch) {
    tg_rng r;
    tg_rng_seed(&r, seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch + 1);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)tg_rng_below(&r, (uint64_t)i + 1), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
    }
}

/* Sequences idx[0..n) into b, padded to the longest. */
static int seq_fill(const cli_data *d, const tg_spec *s, const int64_t *idx, int64_t B,
                    cli_batch *b, char *err, size_t errlen) {
    if (s->task == TG_TASK_SEQ2SEQ) return cli_pairs_fill(d, idx, B, b, err, errlen);
    int64_t T = 0;
    for (int64_t j = 0; j < B; j++)
        if (d->seqs[idx[j]].len > T) T = d->seqs[idx[j]].len;
    if (cli_batch_reserve(b, T, B, d->in_size, d->out_size))
        return cli_fail(err, errlen, "out of memory");
    b->T = T, b->B = B, b->reset = false, b->count = 0;
    bool ragged = false;
    int64_t I = d->in_size, O = d->out_size;
    if (d->x) memset(b->x, 0, (size_t)(T * B * I) * sizeof *b->x);
    if (d->y) memset(b->y, 0, (size_t)(T * B * O) * sizeof *b->y);
    for (int64_t j = 0; j < B; j++) {
        const cli_seq *q = &d->seqs[idx[j]];
        b->len_buf[j] = q->len;
        ragged = ragged || q->len != T;
        for (int64_t t = 0; t < T; t++) {
            int64_t p = cli_pos(s, T, B, t, j), src = q->off + (t < q->len ? t : q->len - 1);
            if (d->ids) b->ids[p] = t < q->len ? d->ids[src] : 0; /* <pad> */
            if (d->tags) b->targets[p] = t < q->len ? d->tags[src] : 0;
            if (d->x && t < q->len) memcpy(b->x + p * I, d->x + src * I, (size_t)I * sizeof *b->x);
            if (d->y && !s->pooled && t < q->len)
                memcpy(b->y + p * O, d->y + src * O, (size_t)O * sizeof *b->y);
        }
        if (s->task == TG_TASK_CLASSIFY) b->targets[j] = q->label;
        if (s->cond_size) b->cond[j] = q->label;
        if (d->y && s->pooled) /* one target per sequence: at its last step */
            memcpy(b->y + j * O, d->y + (q->off + q->len - 1) * O, (size_t)O * sizeof *b->y);
        b->count += s->pooled ? 1 : q->len;
    }
    if (s->task == TG_TASK_REGRESS) b->count *= O;
    b->lengths = ragged ? b->len_buf : NULL; /* all full: the path without lengths */
    return 0;
}

/* Whole-sequence tasks: full batches of min(B, n_train) per epoch. */
static void seq_layout(const cli_data *d, const tg_spec *s, int64_t *B, int64_t *per_epoch) {
    *B = s->train.batch < d->n_train ? s->train.batch : d->n_train;
    *per_epoch = *B ? d->n_train / *B : 0;
}

void cli_data_position(const cli_data *d, const tg_spec *s, int64_t step, int64_t *epoch,
                       int64_t *index) {
    if (cli_streams(s)) {
        cli_text_position(d, s, step, epoch, index);
        return;
    }
    int64_t B, per;
    seq_layout(d, s, &B, &per);
    *epoch = per ? step / per : 0, *index = per ? step % per : 0;
}

int cli_data_train_batch(const cli_data *d, const tg_spec *s, int64_t step, uint64_t seed,
                         cli_batch *b, char *err, size_t errlen) {
    if (cli_streams(s)) {
        if (cli_text_train_batch(d, s, step, b) == 0) return 0;
        return cli_fail(err, errlen, "%s: too little training text (%lld characters)", d->path,
                        (long long)d->n_train);
    }
    int64_t B, per, epoch, index;
    seq_layout(d, s, &B, &per);
    if (!per) return cli_fail(err, errlen, "%s: no training sequences", d->path);
    cli_data_position(d, s, step, &epoch, &index);
    int64_t *perm = malloc((size_t)d->n_train * sizeof *perm);
    if (!perm) return cli_fail(err, errlen, "out of memory");
    shuffle(perm, d->n_train, seed, epoch);
    int rc = d->bank ? cli_trees_fill(d, s, perm + index * B, B, b, err, errlen)
                     : seq_fill(d, s, perm + index * B, B, b, err, errlen);
    free(perm);
    return rc;
}

int64_t cli_data_eval_count(const cli_data *d, const tg_spec *s) {
    if (cli_streams(s)) return cli_text_eval_count(d, s);
    int64_t n = d->n_seqs - d->n_train;
    return (n + s->train.batch - 1) / s->train.batch;
}

int cli_data_eval_batch(const cli_data *d, const tg_spec *s, int64_t i, cli_batch *b, char *err,
                        size_t errlen) {
    if (cli_streams(s)) {
        cli_text_eval_batch(d, s, i, b);
        return 0;
    }
    int64_t first = d->n_train + i * s->train.batch, n = d->n_seqs - first;
    if (n > s->train.batch) n = s->train.batch;
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) return cli_fail(err, errlen, "out of memory");
    for (int64_t j = 0; j < n; j++) idx[j] = first + j;
    int rc = d->bank ? cli_trees_fill(d, s, idx, n, b, err, errlen)
                     : seq_fill(d, s, idx, n, b, err, errlen);
    free(idx);
    return rc;
}

int cli_batch_model(tg_tape *t, const tg_spec *s, const cli_batch *b, tg_model_batch *mb) {
    *mb = (tg_model_batch){.T = b->T,
                           .B = b->B,
                           .lengths = b->lengths,
                           .cond = s->cond_size ? b->cond : NULL,
                           .trees = b->trees,
                           .target_T = b->target_T,
                           .target_lengths = b->target_lengths};
    if (s->input == TG_INPUT_TREES) return 0;
    if (s->input == TG_INPUT_TOKENS)
        mb->ids = b->ids;
    else {
        int64_t I = s->input_size;
        mb->x = tg_empty(t, s->batch_first ? TG_SHAPE(b->B, b->T, I) : TG_SHAPE(b->T, b->B, I));
        for (int64_t i = 0; mb->x && i < mb->x->numel; i++) mb->x->data[i] = (tg_real)b->x[i];
    }
    if (s->task == TG_TASK_REGRESS) {
        int64_t O = s->output_size;
        tg_shape sh = s->pooled        ? TG_SHAPE(b->B, O)
                      : s->batch_first ? TG_SHAPE(b->B, b->T, O)
                                       : TG_SHAPE(b->T, b->B, O);
        mb->target = tg_empty(t, sh);
        for (int64_t i = 0; mb->target && i < mb->target->numel; i++)
            mb->target->data[i] = (tg_real)b->y[i];
    } else
        mb->target_ids = b->targets;
    return tg_tape_error(t) ? -1 : 0;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static int utf8_len(const unsigned char *p, int64_t n) {
    int len = p[0] < 0x80                   ? 1
              : p[0] >= 0xC2 && p[0] < 0xE0 ? 2
              : p[0] >= 0xE0 && p[0] < 0xF0 ? 3
              : p[0] >= 0xF0 && p[0] < 0xF5 ? 4
                                            : 0;
    if (len > n) return 0;
    for (int k = 1; k < len; k++)
        if ((p[k] & 0xC0) != 0x80) return 0;
    return len;
}

/* Refuses what is not text: a NUL byte, or more than 10% of the bytes
 * outside valid UTF-8 sequences (a Latin-1 text with its accents passes;
 * a compressed file, a picture or a model, about half, does not). */
static int text_check(const char *path, const char *text, int64_t len, char *err, size_t errlen) {
    const unsigned char *u = (const unsigned char *)text;
    const void *nul = memchr(text, 0, (size_t)len);
    if (nul)
        return cli_fail(err, errlen,
                        "%s: not text: a NUL byte at offset %lld (--binary trains on it anyway)",
                        path, (long long)((const char *)nul - text));
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < len;) {
        int k = utf8_len(u + i, len - i);
        if (!k && first < 0) first = i;
        bad += !k, i += k ? k : 1;
    }
    if (bad * 10 > len)
        return cli_fail(err, errlen,
                        "%s: not text: %lld of its %lld bytes are not UTF-8 (the first at offset "
                        "%lld; --binary trains on it anyway)",
                        path, (long long)bad, (long long)len, (long long)first);
    return 0;
}

int cli_data_load(cli_data *d, const tg_spec *s, const char *path, const cli_vocab *known,
                  double valid_fraction, bool binary, char *err, size_t errlen) {
    int64_t len;
    char *text = cli_read_file(path, &len, err, errlen);
    *d = (cli_data){.task = s->task, .path = path};
    if (!text) return -1;
    int rc = cli_data_parse(d, s, path, text, len, known, valid_fraction, binary, err, errlen);
    free(text);
    return rc;
}

int cli_data_parse(cli_data *d, const tg_spec *s, const char *path, char *text, int64_t len,
                   const cli_vocab *known, double valid_fraction, bool binary, char *err,
                   size_t errlen) {
    *d = (cli_data){.task = s->task, .path = path};
    if (s->task != TG_TASK_REGRESS && s->task != TG_TASK_TREE && s->input != TG_INPUT_TOKENS)
        return cli_fail(err, errlen, "%s: task %s reads text, so it needs token input", path,
                        tg_task_name(s->task));
    if (s->task == TG_TASK_REGRESS && s->input != TG_INPUT_VECTORS)
        return cli_fail(err, errlen, "%s: task regress reads numbers, so it needs vector input",
                        path);
    if (!binary && text_check(path, text, len, err, errlen)) return -1;
    d->hash = cli_fnv1a(text, (size_t)len), d->bytes = len;
    if (known) d->vocab = *known; /* borrowed: the copy's lists are never freed here */
    d->own_vocab = !known;
    int rc;
    switch (s->task) {
    case TG_TASK_LANGUAGE_MODEL:
        rc = s->cond_size ? cli_cond_load(d, s, text, len, known, valid_fraction, err, errlen)
                          : cli_text_load(d, s, text, len, known, valid_fraction, err, errlen);
        break;
    case TG_TASK_CLASSIFY:
        rc = cli_classify_load(d, s, text, len, known, valid_fraction, err, errlen);
        break;
    case TG_TASK_TAG: rc = cli_tag_load(d, s, text, len, known, valid_fraction, err, errlen); break;
    case TG_TASK_TREE:
        rc = cli_trees_load(d, s, text, len, known, valid_fraction, err, errlen);
        break;
    case TG_TASK_SEQ2SEQ:
        rc = cli_pairs_load(d, s, text, len, known, valid_fraction, err, errlen);
        break;
    default: rc = cli_regress_load(d, s, text, len, valid_fraction, err, errlen); break;
    }
    if (rc) cli_data_free(d);
    return rc;
}

void cli_data_free(cli_data *d) {
    if (d->own_vocab) cli_vocab_free(&d->vocab);
    free(d->ids);
    free(d->seqs);
    free(d->tags);
    free(d->x);
    free(d->y);
    tg_treebank_free(d->bank);
    *d = (cli_data){0};
}

/* Sequences [0, n) split: the last valid_fraction held out, at least one
 * sequence kept for each side when there is any fraction at all. */
int64_t cli_split(int64_t n, double valid_fraction) {
    if (valid_fraction >= 1) return 0;
    int64_t held = (int64_t)((double)n * valid_fraction + 0.5);
    if (valid_fraction > 0 && held < 1 && n > 1) held = 1;
    return n - held;
}
