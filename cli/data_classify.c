/* classify data: one sequence per line, "label<TAB>text", the text split
 * into words at whitespace (or, with input.split "chars", into UTF-8
 * characters); blank lines are skipped. Words are numbered by
 * frequency in the training lines (cli_words_finish); labels as
 * cli_labels_build says (0..C-1 as themselves, otherwise sorted names). */
#include <stdio.h>
#include <string.h>

#include "data_words.h"

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    cli_words w = {0};
    cli_strs seen = {0};
    int rc = -1;
    int64_t line = 0;
    for (char *p = text, *end = text + len; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        char *tab = memchr(p, '\t', (size_t)(eol - p));
        if (!cli_blank(p, eol)) {
            if (!tab) {
                snprintf(err, errlen, "%s:%lld: expected \"label<TAB>text\", found no tab", d->path,
                         (long long)line + 1);
                goto done;
            }
            size_t ll = (size_t)(tab - p);
            int64_t first = w.n;
            if ((s->split_chars
                     ? cli_chars_split(&w, d->path, tab + 1, eol, line, err, errlen)
                     : cli_words_split(&w, d->path, tab + 1, eol, line, false, err, errlen)) ||
                cli_words_seq(&w, first, p, ll, line, err, errlen))
                goto done;
            if (w.n == first) {
                snprintf(err, errlen, "%s:%lld: no words after the label", d->path,
                         (long long)line + 1);
                goto done;
            }
            if (cli_strs_intern(&seen, p, ll) < 0) {
                snprintf(err, errlen, "%s: out of memory", d->path);
                goto done;
            }
        }
        p = eol + 1;
    }
    if (cli_words_finish(d, s, &w, known, valid_fraction, err, errlen)) goto done;
    if (!known && cli_labels_build(&d->vocab, d->path, &seen, s->output_size, "label", err, errlen))
        goto done;
    for (int64_t i = 0; i < d->n_seqs; i++) {
        size_t n = w.label_len[i];
        if ((d->seqs[i].label = cli_label_id(&d->vocab, w.label[i], n)) < 0) {
            snprintf(err, errlen, "%s:%lld: label '%.*s' is not one the model knows", d->path,
                     (long long)w.line[i] + 1, (int)(n < 60 ? n : 60), w.label[i]);
            goto done;
        }
    }
    rc = 0;
done:
    cli_words_free(&w);
    cli_strs_free(&seen);
    return rc;
}

const cli_reader cli_classify_reader = {.task = TG_TASK_CLASSIFY, .load = load};
