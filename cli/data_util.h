/* What the data readers share (cli/data_util.c): the data and batch
 * types, string tables, vocabularies and labels, files, splits, and the
 * row each reader fills in for the front file's table (cli/data.c). The
 * readers (data_*.c) include this and never the front's data.h, so the
 * arrows point one way: data.c -> readers -> data_util.c. */
#ifndef TG_CLI_DATA_UTIL_H
#define TG_CLI_DATA_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "tapegrad.h"

/* Writes a message (printf-style) into err and returns -1: the failure
 * of any cli function that reports through (err, errlen). */
int cli_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A list of owned strings (any bytes but NUL) with a hash index: ids by
 * name for vocabularies and labels. */
typedef struct cli_strs {
    int64_t n, cap;
    char **s;
    int64_t *slot, n_slots; /* open addressing: id + 1, 0 empty */
} cli_strs;

/* Appends s[0..len) (even if present). Returns its id, or -1 (no memory). */
int64_t cli_strs_add(cli_strs *l, const char *s, size_t len);
/* Its id, or -1. */
int64_t cli_strs_find(const cli_strs *l, const char *s, size_t len);
/* Its id, appended first if absent; -1 when out of memory. */
int64_t cli_strs_intern(cli_strs *l, const char *s, size_t len);
void cli_strs_free(cli_strs *l);

/* How raw data maps to ids; saved in checkpoints so that sample and eval
 * map characters and words exactly as training did. */
typedef struct cli_vocab {
    int n_bytes; /* language_model: the distinct bytes, sorted */
    unsigned char bytes[256];
    cli_strs words;  /* classify, tag: id 0 "<pad>", 1 "<unk>", then words;
                      * tree: id 0 "<unk>", then tokens */
    cli_strs labels; /* classify, tag: class names by id */
    /* seq2seq: words are the source symbols (as classify's words), labels the
     * target symbols (id 0 "<s>", 1 "</s>", then by frequency) */
} cli_vocab;

void cli_vocab_free(cli_vocab *v);
/* Symbols the model's input knows: bytes or words. */
int64_t cli_vocab_size(const cli_vocab *v);
/* The byte that ends a text (ASCII ETX, "end of text"), when the vocabulary
 * has it. */
#define CLI_END_BYTE 0x03

/* One sequence of a classify, tag or regress file. */
typedef struct cli_seq {
    int64_t off, len; /* its steps: ids/tags or rows [off, off+len) */
    int64_t label;    /* classify: class id */

    /* seq2seq: label is the source's group (pairs with the same source text
     * share it); the target's ids are tags[tgt_off, tgt_off+tgt_len) */
    int64_t tgt_off, tgt_len;
} cli_seq;

typedef struct cli_data {
    tg_task task;
    const char *path;
    uint64_t hash; /* FNV-1a of the file's bytes */
    int64_t bytes; /* the file's size */
    cli_vocab vocab;
    bool own_vocab; /* built here (else borrowed from a checkpoint) */
    /* language_model: the text as ids; [0, n_train) trains, the rest is held out */
    int64_t *ids, n_ids;
    int64_t n_train; /* language_model: ids; else sequences */
    /* classify, tag, regress */
    cli_seq *seqs;
    int64_t n_seqs;
    int64_t *tags; /* tag: one per id; seq2seq: the targets' ids */
    double *x, *y; /* regress: rows of in_size inputs and out_size targets */
    int64_t n_rows, in_size, out_size;
    tg_treebank *bank;               /* tree: the trees in file order (n_seqs of them) */
    const struct cli_reader *reader; /* the reader that loaded it (data.c's table) */
} cli_data;

/* Whether the data is one stream of bytes read in chunks, the state
 * carried between them (a language model not conditioned), rather than
 * whole sequences. */
static inline bool cli_streams(const tg_spec *s) {
    return s->task == TG_TASK_LANGUAGE_MODEL && !s->cond_size;
}

/* One batch, in the spec's layout ([T, B] or [B, T] for batch_first). */
typedef struct cli_batch {
    int64_t T, B;
    int64_t *ids;          /* token input: T*B */
    int64_t *targets;      /* language_model, tag: T*B; classify: B */
    int64_t *lengths;      /* B, or NULL when every sequence has T steps */
    int64_t *cond;         /* a conditioned language model: B classes */
    double *x, *y;         /* regress: [T, B, in] and [T, B, out] (or [B, out] pooled) */
    bool reset;            /* language_model: a new pass starts; carried state to zeros */
    int64_t count;         /* targets counted by the loss */
    int64_t *len_buf;      /* where lengths points when it is not NULL */
    int64_t cap_tb, cap_b; /* buffer sizes */
    tg_tree_batch *trees;  /* tree: the batch's trees (T = 1, B trees) */

    /* seq2seq: ids and lengths are the sources [B, T], targets [B, target_T],
     * each target ending with the end marker (counted in its length) */
    int64_t target_T;
    int64_t *target_lengths;
} cli_batch;

void cli_batch_free(cli_batch *b);

/* The whole file, NUL-terminated; its size in *len. NULL with a message. */
char *cli_read_file(const char *path, int64_t *len, char *err, size_t errlen);
uint64_t cli_fnv1a(const void *p, size_t n);
/* Word ids of the training sequences' tokens (classify, tag): words seen
 * in the first n_train sequences by frequency, capped by input.vocab.
 * Messages start with path (the data file's). */
int cli_words_build(cli_vocab *v, const char *path, const char *const *words, const size_t *lens,
                    int64_t n_words, int64_t cap, char *err, size_t errlen);
int64_t cli_word_id(const cli_vocab *v, const char *w, size_t len);
/* Labels (class names) to ids: all non-negative integers below max stay
 * themselves, otherwise sorted names. Messages start with path. */
int cli_labels_build(cli_vocab *v, const char *path, cli_strs *seen, int64_t max, const char *what,
                     char *err, size_t errlen);
int64_t cli_label_id(const cli_vocab *v, const char *s, size_t len);
/* Room in b for T*B steps of in/out features and B sequences. */
int cli_batch_reserve(cli_batch *b, int64_t T, int64_t B, int64_t in, int64_t out);
/* How many of n sequences (or bytes, or rows) train: all but the last
 * valid_fraction, which is at least one when the fraction is not 0. */
int64_t cli_split(int64_t n, double valid_fraction);
/* The position of step t of sequence j in a batch's [T, B] (or [B, T]) layout. */
static inline int64_t cli_pos(const tg_spec *s, int64_t T, int64_t B, int64_t t, int64_t j) {
    return s->batch_first ? j * T + t : t * B + j;
}

/* The comma-separated numbers of one CSV row [p, eol) into out (up to
 * cap): how many there are, or -1 when a field is not a finite number
 * (regress and image data). */
int64_t cli_csv_row(const char *p, const char *eol, double *out, int64_t cap);

/* A reader: one row of data.c's table, defined in its own data_*.c. */
typedef struct cli_reader {
    tg_task task;
    bool conditioned; /* a language model with input.condition */
    bool image;       /* classify with input.type "image" */
    /* Reads the file's text (len bytes, NUL-terminated; the reader may
     * write into it) into d, which data.c has started (path, vocabulary). */
    int (*load)(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen);
    /* Sequences idx[0..B) into b, or NULL for data.c's padded sequences
     * (classify, tag, regress, a conditioned language model). */
    int (*fill)(const cli_data *d, const tg_spec *s, const int64_t *idx, int64_t B, cli_batch *b,
                char *err, size_t errlen);
    /* A stream read in chunks by step (a language model), instead of
     * shuffled sequences: its batches; NULL for sequence readers.
     * The batches' functions read the streams [lo, lo+n) of all (n 0: all;
     * a process's share under mpirun), the sizes say how many there are. */
    int (*stream_batch)(const cli_data *d, const tg_spec *s, int64_t step, int64_t lo, int64_t n,
                        cli_batch *b);
    int64_t (*stream_batch_size)(const cli_data *d, const tg_spec *s);
    int64_t (*stream_eval_count)(const cli_data *d, const tg_spec *s);
    int (*stream_eval_batch)(const cli_data *d, const tg_spec *s, int64_t i, int64_t lo, int64_t n,
                             cli_batch *b);
    int64_t (*stream_eval_size)(const cli_data *d, const tg_spec *s);
    void (*stream_position)(const cli_data *d, const tg_spec *s, int64_t step, int64_t *epoch,
                            int64_t *index);
} cli_reader;

#endif
