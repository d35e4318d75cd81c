/* image data (task classify, input.type "image"): CSV, one image per row,
 * the label then height*width pixel values row by row, separated by
 * commas. A first row that is not all numbers is a header and skipped;
 * lines starting with '#' and blank lines are skipped. Labels are integers
 * 0..C-1 or names, as cli_labels_build says. Each image becomes a sequence
 * of its patches (the spec's vector input: one step of patch*patch pixels
 * per patch, row by row); the last valid_fraction of the images is held
 * out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_image.h"
#include "data_words.h"

/* Image pixels [H, W] as R*C steps of P*P features into out. */
static void patches(const tg_spec *s, const double *px, double *out) {
    int64_t P = s->image_patch, W = s->image_width, C = W / P, R = s->image_height / P;
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < P; i++)
                for (int64_t j = 0; j < P; j++)
                    *out++ = px[(r * P + i) * W + c * P + j];
}

/* The label field of [p, eol): its text, up to the first comma. */
static size_t label_len(const char *p, const char *eol) {
    const char *c = memchr(p, ',', (size_t)(eol - p));
    return (size_t)((c ? c : eol) - p);
}

int cli_image_row(const tg_spec *s, const char *p, const char *eol, double *px, double *x,
                  const char **label, size_t *label_size, bool *not_number, char *err,
                  size_t errlen) {
    int64_t N = s->image_height * s->image_width, n = cli_csv_row(p, eol, px, N);
    size_t ll = label_len(p, eol);
    *label = p, *label_size = 0, *not_number = false;
    if (n != N && ll < (size_t)(eol - p)) { /* a label, then the pixels (an empty field is
                                               * no label: a "not a number") */
        n = ll ? cli_csv_row(p + ll + 1, eol, px, N) : -1;
        *label_size = ll;
    }
    if (n != N) {
        *not_number = n < 0;
        snprintf(err, errlen,
                 "expected %lld pixel values (%lld x %lld), after a label or not, separated by "
                 "commas%s",
                 (long long)N, (long long)s->image_height, (long long)s->image_width,
                 n < 0 ? ", found a field that is not a number" : "");
        return -1;
    }
    patches(s, px, x);
    return 0;
}

static int grow(cli_data *d, int64_t *cap, int64_t steps, int64_t I) {
    if (d->n_seqs < *cap) return 0;
    *cap = *cap ? 2 * *cap : 256;
    cli_seq *q = realloc(d->seqs, (size_t)*cap * sizeof *q);
    if (q) d->seqs = q;
    double *x = realloc(d->x, (size_t)(*cap * steps * I) * sizeof *x);
    if (x) d->x = x;
    return q && x ? 0 : -1;
}

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    int64_t N = s->image_height * s->image_width, P = s->image_patch, I = P * P, T = N / I;
    int64_t cap = 0, line = 0, *lines = NULL;
    double *vals = malloc((size_t)(N + 1) * sizeof *vals);
    cli_strs seen = {0}, names = {0}; /* distinct labels; each image's label text */
    bool first = true;
    int rc = -1;
    d->in_size = I, d->out_size = 0;
    if (!vals) goto oom;
    for (char *p = text, *end = text + len; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end, *next = eol + 1;
        if (cli_blank(p, eol) || *p == '#') {
            p = next;
            continue;
        }
        size_t ll = label_len(p, eol);
        int64_t n = ll < (size_t)(eol - p) ? cli_csv_row(p + ll + 1, eol, vals, N) : 0;
        if (first && n < 0) { /* a header */
            first = false, p = next;
            continue;
        }
        first = false;
        if (n != N || !ll) {
            snprintf(err, errlen, "%s:%lld: expected a label then %lld pixel values (%lld x %lld) "
                                  "separated by commas%s",
                     d->path, (long long)line + 1, (long long)N, (long long)s->image_height,
                     (long long)s->image_width, n < 0 ? ", found a field that is not a number" : "");
            goto done;
        }
        if (grow(d, &cap, T, I)) goto oom;
        int64_t *l2 = realloc(lines, (size_t)cap * sizeof *l2);
        if (!l2) goto oom;
        lines = l2;
        lines[d->n_seqs] = line;
        patches(s, vals, d->x + d->n_seqs * T * I);
        d->seqs[d->n_seqs] = (cli_seq){.off = d->n_seqs * T, .len = T};
        if (cli_strs_intern(&seen, p, ll) < 0 || cli_strs_add(&names, p, ll) < 0) goto oom;
        d->n_seqs++, d->n_rows += T;
        p = next;
    }
    if (!d->n_seqs) {
        snprintf(err, errlen, "%s: no images", d->path);
        goto done;
    }
    d->n_train = cli_split(d->n_seqs, valid_fraction);
    if (!known && cli_labels_build(&d->vocab, d->path, &seen, s->output_size, "label", err, errlen))
        goto done;
    for (int64_t i = 0; i < d->n_seqs; i++) {
        const char *lab = names.s[i];
        if ((d->seqs[i].label = cli_label_id(&d->vocab, lab, strlen(lab))) < 0) {
            snprintf(err, errlen, "%s:%lld: label '%.60s' is not one the model knows", d->path,
                     (long long)lines[i] + 1, lab);
            goto done;
        }
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "%s: out of memory", d->path);
done:
    free(vals);
    free(lines);
    cli_strs_free(&seen);
    cli_strs_free(&names);
    return rc;
}

const cli_reader cli_image_reader = {.task = TG_TASK_CLASSIFY, .image = true, .load = load};
