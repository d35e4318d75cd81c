/* Conditioned language_model data (input.condition): one sequence per
 * line, "label<TAB>text", the text read as bytes, as a language model
 * reads them; blank lines are skipped. A sequence's input is the end marker
 * (CLI_END_BYTE, "start") then its bytes, its targets the bytes then the end
 * marker, so the model learns where a text ends and sampling can start from
 * the marker and stop at it. The vocabulary is the distinct bytes of the
 * texts and the marker; the labels (the condition's classes) as
 * cli_labels_build says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_words.h"

/* Each line's label and text ([p, eol) without trailing whitespace). */
typedef struct line {
    const char *label, *text;
    size_t label_len, len;
    int64_t line;
} line;

static int read_lines(const cli_data *d, char *text, int64_t len, line **out, int64_t *n, char *err,
                      size_t errlen) {
    int64_t cap = 0, no = 0;
    *n = 0;
    for (char *p = text, *end = text + len; p < end; no++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        char *tab = memchr(p, '\t', (size_t)(eol - p));
        if (!cli_blank(p, eol)) {
            if (!tab)
                return cli_fail(err, errlen, "%s:%lld: expected \"label<TAB>text\", found no tab",
                                d->path, (long long)no + 1);
            char *q = eol;
            while (q > tab + 1 && (q[-1] == ' ' || q[-1] == '\r' || q[-1] == '\t')) q--;
            if (q == tab + 1)
                return cli_fail(err, errlen, "%s:%lld: no text after the label", d->path,
                                (long long)no + 1);
            if (*n == cap) {
                line *g = realloc(*out, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *g);
                if (!g)
                    return cli_fail(err, errlen, "%s:%lld: out of memory", d->path,
                                    (long long)no + 1);
                *out = g;
            }
            (*out)[(*n)++] = (line){p, tab + 1, (size_t)(tab - p), (size_t)(q - tab - 1), no};
        }
        p = eol + 1;
    }
    if (!*n) {
        snprintf(err, errlen, "%s: no sequences", d->path);
        return -1;
    }
    return 0;
}

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    line *ls = NULL;
    cli_strs seen = {0};
    int64_t n, total = 0;
    int rc = -1, id[256];
    if (read_lines(d, text, len, &ls, &n, err, errlen)) goto done;
    if (!known) { /* the distinct bytes, in byte order, with the end marker */
        bool has[256] = {[CLI_END_BYTE] = true};
        for (int64_t i = 0; i < n; i++)
            for (size_t k = 0; k < ls[i].len; k++) has[(unsigned char)ls[i].text[k]] = true;
        for (int c = 0; c < 256; c++)
            if (has[c]) d->vocab.bytes[d->vocab.n_bytes++] = (unsigned char)c;
        for (int64_t i = 0; i < n; i++)
            if (cli_strs_intern(&seen, ls[i].label, ls[i].label_len) < 0) goto oom;
        if (seen.n > s->cond_size) {
            snprintf(err, errlen, "%s: %lld different labels, but input.condition.size is %lld",
                     d->path, (long long)seen.n, (long long)s->cond_size);
            goto done;
        }
        if (cli_labels_build(&d->vocab, d->path, &seen, s->cond_size, "label", err, errlen))
            goto done;
    }
    for (int c = 0; c < 256; c++) id[c] = -1;
    for (int k = 0; k < d->vocab.n_bytes; k++) id[d->vocab.bytes[k]] = k;
    if (id[CLI_END_BYTE] < 0) {
        snprintf(err, errlen, "%s: the model's vocabulary has no end marker (byte 0x03)", d->path);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) total += (int64_t)ls[i].len + 1;
    d->ids = malloc((size_t)total * sizeof *d->ids);
    d->tags = malloc((size_t)total * sizeof *d->tags);
    d->seqs = malloc((size_t)n * sizeof *d->seqs);
    if (!d->ids || !d->tags || !d->seqs) goto oom;
    for (int64_t i = 0, off = 0; i < n; i++) {
        const line *l = &ls[i];
        d->seqs[i] = (cli_seq){.off = off,
                               .len = (int64_t)l->len + 1,
                               .label = cli_label_id(&d->vocab, l->label, l->label_len)};
        if (d->seqs[i].label < 0) {
            snprintf(err, errlen, "%s:%lld: label '%.*s' is not one the model knows", d->path,
                     (long long)l->line + 1, (int)(l->label_len < 60 ? l->label_len : 60),
                     l->label);
            goto done;
        }
        d->ids[off] = id[CLI_END_BYTE];
        for (size_t k = 0; k < l->len; k++) {
            int c = (unsigned char)l->text[k];
            if (id[c] < 0) {
                snprintf(err, errlen, "%s:%lld: byte 0x%02X is not in the model's vocabulary",
                         d->path, (long long)l->line + 1, c);
                goto done;
            }
            d->ids[off + 1 + (int64_t)k] = d->tags[off + (int64_t)k] = id[c];
        }
        d->tags[off + (int64_t)l->len] = id[CLI_END_BYTE];
        off += (int64_t)l->len + 1;
    }
    d->n_ids = total, d->n_seqs = n, d->n_train = cli_split(n, valid_fraction);
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "%s: out of memory", d->path);
done:
    free(ls);
    cli_strs_free(&seen);
    return rc;
}

const cli_reader cli_cond_reader = {
    .task = TG_TASK_LANGUAGE_MODEL, .conditioned = true, .load = load};
