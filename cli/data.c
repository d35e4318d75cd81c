/* The front of the data readers (data.h): the table of readers, loading
 * through the right row, and batches by step: shuffled whole sequences
 * (padded here, unless the reader fills its own) or a reader's stream. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

/* The readers, one row each in its own file (data_util.h's cli_reader). */
extern const cli_reader cli_text_reader, cli_cond_reader, cli_classify_reader, cli_tag_reader,
    cli_regress_reader, cli_trees_reader, cli_pairs_reader, cli_image_reader;
static const cli_reader *const readers[] = {
    &cli_text_reader,    &cli_cond_reader,  &cli_classify_reader, &cli_tag_reader,
    &cli_regress_reader, &cli_trees_reader, &cli_pairs_reader, &cli_image_reader,
};

/* The row for the spec's task, or NULL. */
static const cli_reader *reader_of(const tg_spec *s) {
    bool cond = s->task == TG_TASK_LANGUAGE_MODEL && s->cond_size;
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
        if (readers[i]->task == s->task && readers[i]->conditioned == cond &&
            readers[i]->image == (s->image_patch > 0))
            return readers[i];
    return NULL;
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

/* Sequences idx[0..n) into b, padded to the longest (readers without a
 * fill of their own). */
static int seq_fill(const cli_data *d, const tg_spec *s, const int64_t *idx, int64_t B,
                    cli_batch *b, char *err, size_t errlen) {
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

/* Sequences idx[0..B) into b, by the reader's fill or padded here. */
static int fill(const cli_data *d, const tg_spec *s, const int64_t *idx, int64_t B, cli_batch *b,
                char *err, size_t errlen) {
    if (d->reader->fill) return d->reader->fill(d, s, idx, B, b, err, errlen);
    return seq_fill(d, s, idx, B, b, err, errlen);
}

/* Whole-sequence tasks: full batches of min(B, n_train) per epoch. */
static void seq_layout(const cli_data *d, const tg_spec *s, int64_t *B, int64_t *per_epoch) {
    *B = s->train.batch < d->n_train ? s->train.batch : d->n_train;
    *per_epoch = *B ? d->n_train / *B : 0;
}

void cli_data_position(const cli_data *d, const tg_spec *s, int64_t step, int64_t *epoch,
                       int64_t *index) {
    if (d->reader->stream_position) {
        d->reader->stream_position(d, s, step, epoch, index);
        return;
    }
    int64_t B, per;
    seq_layout(d, s, &B, &per);
    *epoch = per ? step / per : 0, *index = per ? step % per : 0;
}

void cli_dist_share(int64_t B, int rank, int size, int64_t *lo, int64_t *n) {
    int64_t q = B / size, r = B % size;
    *n = q + (rank < r);
    *lo = rank * q + (rank < r ? rank : r);
}

int cli_data_train_batch(const cli_data *d, const tg_spec *s, int64_t step, uint64_t seed,
                         cli_batch *b, char *err, size_t errlen) {
    return cli_data_train_part(d, s, step, seed, 0, 1, b, err, errlen);
}

int64_t cli_data_batch_size(const cli_data *d, const tg_spec *s) {
    int64_t B, per;
    if (d->reader->stream_batch_size) return d->reader->stream_batch_size(d, s);
    seq_layout(d, s, &B, &per);
    return per ? B : 0;
}

int cli_data_train_part(const cli_data *d, const tg_spec *s, int64_t step, uint64_t seed, int rank,
                        int size, cli_batch *b, char *err, size_t errlen) {
    int64_t B = cli_data_batch_size(d, s), per, epoch, index, lo, n;
    cli_dist_share(B, rank, size, &lo, &n);
    if (d->reader->stream_batch) {
        if (B && d->reader->stream_batch(d, s, step, lo, n, b) == 0) return 0;
        return cli_fail(err, errlen, "%s: too little training text (%lld characters)", d->path,
                        (long long)d->n_train);
    }
    seq_layout(d, s, &B, &per);
    if (!per) return cli_fail(err, errlen, "%s: no training sequences", d->path);
    cli_data_position(d, s, step, &epoch, &index);
    int64_t *perm = malloc((size_t)d->n_train * sizeof *perm);
    if (!perm) return cli_fail(err, errlen, "out of memory");
    shuffle(perm, d->n_train, seed, epoch);
    int rc = fill(d, s, perm + index * B + lo, n, b, err, errlen);
    free(perm);
    return rc;
}

int64_t cli_data_eval_count(const cli_data *d, const tg_spec *s) {
    if (d->reader->stream_eval_count) return d->reader->stream_eval_count(d, s);
    int64_t n = d->n_seqs - d->n_train;
    return (n + s->train.batch - 1) / s->train.batch;
}

int cli_data_eval_batch(const cli_data *d, const tg_spec *s, int64_t i, cli_batch *b, char *err,
                        size_t errlen) {
    return cli_data_eval_part(d, s, i, 0, 1, b, err, errlen);
}

int cli_data_eval_part(const cli_data *d, const tg_spec *s, int64_t i, int rank, int size,
                       cli_batch *b, char *err, size_t errlen) {
    if (d->reader->stream_eval_batch) {
        int64_t lo, n;
        cli_dist_share(d->reader->stream_eval_size(d, s), rank, size, &lo, &n);
        b->B = 0;
        if (n) d->reader->stream_eval_batch(d, s, i, lo, n, b);
        return 0;
    }
    int64_t first = d->n_train + i * s->train.batch, n = d->n_seqs - first, lo;
    if (n > s->train.batch) n = s->train.batch;
    cli_dist_share(n, rank, size, &lo, &n);
    first += lo, b->B = 0;
    if (!n) return 0;
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) return cli_fail(err, errlen, "out of memory");
    for (int64_t j = 0; j < n; j++) idx[j] = first + j;
    int rc = fill(d, s, idx, n, b, err, errlen);
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
    if (s->task != TG_TASK_REGRESS && s->task != TG_TASK_TREE && s->input != TG_INPUT_TOKENS &&
        !s->image_patch)
        return cli_fail(err, errlen, "%s: task %s reads text, so it needs token input", path,
                        tg_task_name(s->task));
    if (s->task == TG_TASK_REGRESS && s->input != TG_INPUT_VECTORS)
        return cli_fail(err, errlen, "%s: task regress reads numbers, so it needs vector input",
                        path);
    if (!binary && text_check(path, text, len, err, errlen)) return -1;
    d->hash = cli_fnv1a(text, (size_t)len), d->bytes = len;
    if (known) d->vocab = *known; /* borrowed: the copy's lists are never freed here */
    d->own_vocab = !known;
    d->reader = reader_of(s);
    int rc = d->reader
                 ? d->reader->load(d, s, text, len, known, valid_fraction, err, errlen)
                 : cli_fail(err, errlen, "%s: task %s has no reader", path, tg_task_name(s->task));
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
