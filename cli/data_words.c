/* Word sequences for the text tasks (classify, tag): tokenising at
 * whitespace and numbering words with a vocabulary built from the training
 * lines. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_words.h"

/* *p (of n elements) to room for cap of size bytes each. */
static int resize(void *pp, int64_t cap, size_t size) {
    void **p = pp, *q = realloc(*p, (size_t)cap * size);
    if (!q) return -1;
    *p = q;
    return 0;
}

bool cli_blank(const char *p, const char *end) {
    for (; p < end; p++)
        if (!isspace((unsigned char)*p)) return false;
    return true;
}

int cli_words_split(cli_words *w, const char *path, const char *p, const char *end, int64_t line,
                    bool tags, char *err, size_t errlen) {
    while (p < end) {
        while (p < end && isspace((unsigned char)*p)) p++;
        const char *q = p;
        while (q < end && !isspace((unsigned char)*q)) q++;
        if (q == p) break;
        if (w->n == w->cap) {
            int64_t cap = w->cap ? 2 * w->cap : 1024;
            if (resize(&w->w, cap, sizeof *w->w) || resize(&w->len, cap, sizeof *w->len) ||
                resize(&w->tag, cap, sizeof *w->tag) ||
                resize(&w->tag_len, cap, sizeof *w->tag_len))
                return cli_fail(err, errlen, "%s: out of memory", path);
            w->cap = cap;
        }
        size_t n = (size_t)(q - p);
        w->w[w->n] = p, w->len[w->n] = n, w->tag[w->n] = NULL, w->tag_len[w->n] = 0;
        if (tags) {
            const char *slash = NULL;
            for (const char *c = p; c < q; c++)
                if (*c == '/') slash = c;
            if (!slash || slash == p || slash + 1 == q) {
                snprintf(err, errlen, "%s:%lld: token '%.*s' is not word/tag", path,
                         (long long)line + 1, (int)(n < 60 ? n : 60), p);
                return -1;
            }
            w->len[w->n] = (size_t)(slash - p);
            w->tag[w->n] = slash + 1, w->tag_len[w->n] = (size_t)(q - slash - 1);
        }
        w->n++;
        p = q;
    }
    return 0;
}

int cli_chars_split(cli_words *w, const char *path, const char *p, const char *end, int64_t line,
                    char *err, size_t errlen) {
    while (p < end) {
        const char *q = p + 1;
        while (q < end && (*q & 0xC0) == 0x80) q++; /* UTF-8 continuation bytes */
        if (!isspace((unsigned char)*p) && cli_words_split(w, path, p, q, line, false, err, errlen))
            return -1;
        p = q;
    }
    return 0;
}

int cli_words_seq(cli_words *w, int64_t first, const char *label, size_t label_len, int64_t line,
                  char *err, size_t errlen) {
    if (w->n_seq == w->cap_seq) {
        int64_t cap = w->cap_seq ? 2 * w->cap_seq : 256;
        if (resize(&w->first, cap, sizeof *w->first) || resize(&w->label, cap, sizeof *w->label) ||
            resize(&w->label_len, cap, sizeof *w->label_len) ||
            resize(&w->line, cap, sizeof *w->line))
            return cli_fail(err, errlen, "data: out of memory");
        w->cap_seq = cap;
    }
    w->first[w->n_seq] = first, w->label[w->n_seq] = label, w->label_len[w->n_seq] = label_len;
    w->line[w->n_seq++] = line;
    return 0;
}

int cli_words_finish(cli_data *d, const tg_spec *s, cli_words *w, const cli_vocab *known,
                     double valid_fraction, char *err, size_t errlen) {
    if (!w->n_seq) {
        snprintf(err, errlen, "%s: no sequences", d->path);
        return -1;
    }
    d->n_seqs = w->n_seq;
    d->n_train = cli_split(w->n_seq, valid_fraction);
    int64_t train_tokens = d->n_train < w->n_seq ? w->first[d->n_train] : w->n;
    if (!known && cli_words_build(&d->vocab, d->path, w->w, w->len, train_tokens,
                                  s->vocab_given ? s->vocab : 0, err, errlen))
        return -1;
    d->seqs = calloc((size_t)w->n_seq, sizeof *d->seqs);
    d->ids = malloc((size_t)(w->n ? w->n : 1) * sizeof *d->ids);
    if (!d->seqs || !d->ids) return cli_fail(err, errlen, "%s: out of memory", d->path);
    d->n_ids = w->n;
    for (int64_t i = 0; i < w->n; i++) d->ids[i] = cli_word_id(&d->vocab, w->w[i], w->len[i]);
    for (int64_t i = 0; i < w->n_seq; i++) {
        int64_t end = i + 1 < w->n_seq ? w->first[i + 1] : w->n;
        d->seqs[i] = (cli_seq){.off = w->first[i], .len = end - w->first[i]};
    }
    return 0;
}

void cli_words_free(cli_words *w) {
    free(w->w);
    free(w->len);
    free(w->tag);
    free(w->tag_len);
    free(w->first);
    free(w->label);
    free(w->label_len);
    free(w->line);
    *w = (cli_words){0};
}
