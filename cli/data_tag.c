/* tag data: one sequence per line, whitespace-separated "word/tag" tokens
 * (split at the last '/', so "1/2/CD" is the word "1/2" tagged CD); blank
 * lines are skipped. Words as for classify; tags are the classes, named as
 * cli_labels_build says. */
#include <stdio.h>
#include <stdlib.h>
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
        if (!cli_blank(p, eol)) {
            int64_t first = w.n;
            if (cli_words_split(&w, d->path, p, eol, line, true, err, errlen) ||
                cli_words_seq(&w, first, NULL, 0, line, err, errlen))
                goto done;
            for (int64_t i = first; i < w.n; i++)
                if (cli_strs_intern(&seen, w.tag[i], w.tag_len[i]) < 0) {
                    snprintf(err, errlen, "%s: out of memory", d->path);
                    goto done;
                }
        }
        p = eol + 1;
    }
    if (cli_words_finish(d, s, &w, known, valid_fraction, err, errlen)) goto done;
    if (!known && cli_labels_build(&d->vocab, d->path, &seen, s->output_size, "tag", err, errlen))
        goto done;
    if (!(d->tags = malloc((size_t)(w.n ? w.n : 1) * sizeof *d->tags))) {
        snprintf(err, errlen, "%s: out of memory", d->path);
        goto done;
    }
    for (int64_t q = 0, i = 0; q < w.n_seq; q++)
        for (; i < (q + 1 < w.n_seq ? w.first[q + 1] : w.n); i++) {
            size_t n = w.tag_len[i];
            if ((d->tags[i] = cli_label_id(&d->vocab, w.tag[i], n)) < 0) {
                snprintf(err, errlen, "%s:%lld: tag '%.*s' is not one the model knows", d->path,
                         (long long)w.line[q] + 1, (int)(n < 60 ? n : 60), w.tag[i]);
                goto done;
            }
        }
    rc = 0;
done:
    cli_words_free(&w);
    cli_strs_free(&seen);
    return rc;
}

const cli_reader cli_tag_reader = {.task = TG_TASK_TAG, .load = load};
