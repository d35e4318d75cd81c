/* Training data for the tapegrad command, one small reader per task
 * (docs/cli.md describes the formats):
 *
 *   language_model  cli/data_text.c      any file, read as bytes
 *     conditioned   cli/data_cond.c      lines "label<TAB>text" (input.condition)
 *   classify        cli/data_classify.c  lines "label<TAB>text"
 *   tag             cli/data_tag.c       lines of "word/tag" tokens
 *   regress         cli/data_regress.c   CSV, one row per step
 *   tree            cli/data_trees.c     bracketed trees, "(3 (2 The) (4 good))"
 *
 * The last valid_fraction of the data (bytes, lines or rows) is held out.
 * Every batch is a pure function of the step number and the seed, so a
 * resumed run sees exactly the batches an uninterrupted one would. */
#ifndef TG_CLI_DATA_H
#define TG_CLI_DATA_H

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
    tg_treebank *bank; /* tree: the trees in file order (n_seqs of them) */
} cli_data;

/* Reads path for the spec's task. known: the vocabulary of a checkpoint
 * (ids must map the same way), or NULL to build it from the data.
 * valid_fraction: the share held out (1: everything, for eval --data).
 * Unless binary, a file that is not text (a NUL byte, or more than 10% of
 * its bytes outside valid UTF-8) is refused. Returns 0, or -1 with a
 * message in err. */
int cli_data_load(cli_data *d, const tg_spec *s, const char *path, const cli_vocab *known,
                  double valid_fraction, bool binary, char *err, size_t errlen);
/* The same for the file's contents, text[0..len) (NUL-terminated; the
 * readers may change it), read as path. */
int cli_data_parse(cli_data *d, const tg_spec *s, const char *path, char *text, int64_t len,
                   const cli_vocab *known, double valid_fraction, bool binary, char *err,
                   size_t errlen);
/* Whether the data is one stream of bytes read in chunks, the state
 * carried between them (a language model not conditioned), rather than
 * whole sequences. */
static inline bool cli_streams(const tg_spec *s) {
    return s->task == TG_TASK_LANGUAGE_MODEL && !s->cond_size;
}
void cli_data_free(cli_data *d);

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

/* The training batch of a step (batches repeat in epochs). Returns 0, or
 * -1 with a message (no training data). */
int cli_data_train_batch(const cli_data *d, const tg_spec *s, int64_t step, uint64_t seed,
                         cli_batch *b, char *err, size_t errlen);
/* Where step falls: the pass over the training data and the batch in it. */
void cli_data_position(const cli_data *d, const tg_spec *s, int64_t step, int64_t *epoch,
                       int64_t *index);
/* The held-out batches: how many, and the i-th. */
int64_t cli_data_eval_count(const cli_data *d, const tg_spec *s);
int cli_data_eval_batch(const cli_data *d, const tg_spec *s, int64_t i, cli_batch *b, char *err,
                        size_t errlen);
/* A tg_model_batch for b, with x and target on the tape. Returns 0 or -1
 * (the tape in error). */
int cli_batch_model(tg_tape *t, const tg_spec *s, const cli_batch *b, tg_model_batch *mb);

/* ---- for the readers (cli/data.c) --------------------------------------------- */
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

/* Word sequences (classify, tag; cli/data_words.c): tokens as pointers into
 * the file's text until cli_words_finish numbers them. */
typedef struct cli_words {
    int64_t n, cap; /* tokens */
    const char **w; /* word */
    size_t *len;
    const char **tag; /* tag: the part after the last '/' */
    size_t *tag_len;
    int64_t n_seq, cap_seq; /* sequences (lines) */
    int64_t *first;         /* first token of each */
    const char **label;     /* classify: its label */
    size_t *label_len;
    int64_t *line; /* its line, from 0 */
} cli_words;

/* Whether [p, end) is only whitespace. */
bool cli_blank(const char *p, const char *end);
/* Appends the whitespace-separated tokens of [p, end); with tags, splits
 * each at its last '/' (a token without one fails, message in err). */
int cli_words_split(cli_words *w, const char *path, const char *p, const char *end, int64_t line,
                    bool tags, char *err, size_t errlen);
/* The same for input.split "chars": every UTF-8 character of [p, end) but
 * whitespace is a token. */
int cli_chars_split(cli_words *w, const char *path, const char *p, const char *end, int64_t line,
                    char *err, size_t errlen);
/* Ends a sequence begun at token `first` (label: classify's, or NULL). */
int cli_words_seq(cli_words *w, int64_t first, const char *label, size_t label_len, int64_t line,
                  char *err, size_t errlen);
/* Numbers the words (building the vocabulary from the training sequences
 * unless known) into d->ids and d->seqs, and splits. */
int cli_words_finish(cli_data *d, const tg_spec *s, cli_words *w, const cli_vocab *known,
                     double valid_fraction, char *err, size_t errlen);
void cli_words_free(cli_words *w);

/* Task readers. */
int cli_text_load(cli_data *d, const tg_spec *s, const char *text, int64_t len,
                  const cli_vocab *known, double valid_fraction, char *err, size_t errlen);
int cli_text_train_batch(const cli_data *d, const tg_spec *s, int64_t step, cli_batch *b);
int64_t cli_text_eval_count(const cli_data *d, const tg_spec *s);
int cli_text_eval_batch(const cli_data *d, const tg_spec *s, int64_t i, cli_batch *b);
void cli_text_position(const cli_data *d, const tg_spec *s, int64_t step, int64_t *epoch,
                       int64_t *index);
int cli_classify_load(cli_data *d, const tg_spec *s, char *text, int64_t len,
                      const cli_vocab *known, double valid_fraction, char *err, size_t errlen);
int cli_tag_load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                 double valid_fraction, char *err, size_t errlen);
int cli_cond_load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                  double valid_fraction, char *err, size_t errlen);
int cli_regress_load(cli_data *d, const tg_spec *s, char *text, int64_t len, double valid_fraction,
                     char *err, size_t errlen);
int cli_trees_load(cli_data *d, const tg_spec *s, const char *text, int64_t len,
                   const cli_vocab *known, double valid_fraction, char *err, size_t errlen);
/* Trees idx[0..B) into b->trees. */
int cli_trees_fill(const cli_data *d, const tg_spec *s, const int64_t *idx, int64_t B, cli_batch *b,
                   char *err, size_t errlen);

/* seq2seq (cli/data_pairs.c): lines "source<TAB>target". */
int cli_pairs_load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                   double valid_fraction, char *err, size_t errlen);
/* Pairs idx[0..B) into b. */
int cli_pairs_fill(const cli_data *d, const int64_t *idx, int64_t B, cli_batch *b, char *err,
                   size_t errlen);
/* The symbols of text [p, end) split as `how` says (at whitespace, or into
 * UTF-8 characters; the ends trimmed): pointers into the text. */
typedef struct cli_syms {
    int64_t n, cap;
    const char **p;
    size_t *len;
} cli_syms;
int cli_syms_split(cli_syms *out, const char *p, const char *end, tg_text_split how);
/* Appends the symbols of s to all. 0, or -1 (no memory). */
int cli_syms_append(cli_syms *all, const cli_syms *s);
void cli_syms_free(cli_syms *s);

#endif
