/* language_model data: any file, read as bytes. The vocabulary is the set
 * of distinct bytes, sorted (kept in checkpoints).
 *
 * Batches are contiguous streams, as char-rnn trains: a region of n bytes
 * is cut into B streams of L = (n-1)/B bytes, and step i of a pass reads
 * bytes [i*K, (i+1)*K) of every stream (K = seq_len), the targets being the
 * bytes one further on. The model's final state carries from one chunk to
 * the next (detached: truncated backpropagation through time), so stream b
 * is read in order with its whole history, and a pass starts from zeros.
 * Step s is chunk s mod (L/K) of pass s div (L/K): the data position is a
 * function of the step alone; the carried state goes into checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_util.h"

/* B streams of L bytes read K at a time, nc chunks; 0 when the region is
 * too short for a single target. */
static int64_t layout(int64_t n, const tg_spec *s, int64_t *B, int64_t *K, int64_t *L) {
    int64_t usable = n - 1;
    if (usable < 1) return 0;
    *B = s->train.batch < usable ? s->train.batch : usable;
    *L = usable / *B;
    *K = s->train.seq_len < *L ? s->train.seq_len : *L;
    return *L / *K;
}

/* Chunk i of the region starting at ids + first: of its streams, the
 * part [lo, lo+nb) (nb <= 0: all of them; a process's share under mpirun). */
static int chunk(const cli_data *d, const tg_spec *s, int64_t first, int64_t n, int64_t i,
                 int64_t lo, int64_t nb, cli_batch *b) {
    int64_t all, K, L, B;
    if (!layout(n, s, &all, &K, &L)) return -1;
    B = nb > 0 ? nb : all, lo = nb > 0 ? lo : 0;
    if (lo + B > all || cli_batch_reserve(b, K, B, 0, 0)) return -1;
    b->T = K, b->B = B, b->lengths = NULL, b->reset = i == 0, b->count = K * B;
    for (int64_t j = 0; j < B; j++)
        for (int64_t t = 0; t < K; t++) {
            int64_t p = cli_pos(s, K, B, t, j), src = first + (lo + j) * L + i * K + t;
            b->ids[p] = d->ids[src];
            b->targets[p] = d->ids[src + 1];
        }
    return 0;
}

/* How many streams a region of n bytes is cut into (0: too short). */
static int64_t streams(int64_t n, const tg_spec *s) {
    int64_t B = 0, K, L;
    layout(n, s, &B, &K, &L);
    return B;
}

static void position(const cli_data *d, const tg_spec *s, int64_t step, int64_t *epoch,
                     int64_t *index) {
    int64_t B, K, L, nc = layout(d->n_train, s, &B, &K, &L);
    *epoch = nc ? step / nc : 0, *index = nc ? step % nc : 0;
}

static int train_batch(const cli_data *d, const tg_spec *s, int64_t step, int64_t lo, int64_t n,
                       cli_batch *b) {
    int64_t epoch, index;
    position(d, s, step, &epoch, &index);
    return chunk(d, s, 0, d->n_train, index, lo, n, b);
}

static int64_t batch_size(const cli_data *d, const tg_spec *s) { return streams(d->n_train, s); }

static int64_t eval_count(const cli_data *d, const tg_spec *s) {
    int64_t B, K, L;
    return layout(d->n_ids - d->n_train, s, &B, &K, &L);
}

static int eval_batch(const cli_data *d, const tg_spec *s, int64_t i, int64_t lo, int64_t n,
                      cli_batch *b) {
    return chunk(d, s, d->n_train, d->n_ids - d->n_train, i, lo, n, b);
}

static int64_t eval_size(const cli_data *d, const tg_spec *s) {
    return streams(d->n_ids - d->n_train, s);
}

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    (void)s;
    const unsigned char *u = (const unsigned char *)text;
    int id[256];
    if (!known) { /* the distinct bytes, in byte order */
        bool seen[256] = {false};
        for (int64_t i = 0; i < len; i++) seen[u[i]] = true;
        for (int c = 0; c < 256; c++)
            if (seen[c]) d->vocab.bytes[d->vocab.n_bytes++] = (unsigned char)c;
    }
    for (int c = 0; c < 256; c++) id[c] = -1;
    for (int k = 0; k < d->vocab.n_bytes; k++) id[d->vocab.bytes[k]] = k;
    d->ids = malloc((size_t)(len > 0 ? len : 1) * sizeof *d->ids);
    if (!d->ids) {
        snprintf(err, errlen, "%s: out of memory", d->path);
        return -1;
    }
    for (int64_t i = 0; i < len; i++) {
        if (id[u[i]] < 0) {
            snprintf(err, errlen,
                     "%s: byte 0x%02X at offset %lld is not in the model's vocabulary of %d "
                     "characters",
                     d->path, u[i], (long long)i, d->vocab.n_bytes);
            return -1;
        }
        d->ids[i] = id[u[i]];
    }
    d->n_ids = len;
    d->n_train = cli_split(len, valid_fraction);
    if (len < 2) {
        snprintf(err, errlen, "%s: %lld bytes; a language model needs at least 2", d->path,
                 (long long)len);
        return -1;
    }
    return 0;
}

const cli_reader cli_text_reader = {.task = TG_TASK_LANGUAGE_MODEL,
                                    .load = load,
                                    .stream_batch = train_batch,
                                    .stream_batch_size = batch_size,
                                    .stream_eval_count = eval_count,
                                    .stream_eval_batch = eval_batch,
                                    .stream_eval_size = eval_size,
                                    .stream_position = position};
