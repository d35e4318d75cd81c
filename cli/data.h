/* Training data for the tapegrad command, one small reader per task
 * (docs/cli.md describes the formats):
 *
 *   language_model  cli/data_text.c      any file, read as bytes
 *     conditioned   cli/data_cond.c      lines "label<TAB>text" (input.condition)
 *   classify        cli/data_classify.c  lines "label<TAB>text"
 *   tag             cli/data_tag.c       lines of "word/tag" tokens
 *   regress         cli/data_regress.c   CSV, one row per step
 *   tree            cli/data_trees.c     bracketed trees, "(3 (2 The) (4 good))"
 *   seq2seq         cli/data_pairs.c     lines "source<TAB>target"
 *   classify, image cli/data_image.c     CSV, "label,pixel,...", one image per row
 *
 * Each reader is a row (cli_reader, data_util.h) of this front file's
 * table (data.c); the readers share data_util.c and never call back here.
 *
 * The last valid_fraction of the data (bytes, lines or rows) is held out.
 * Every batch is a pure function of the step number and the seed, so a
 * resumed run sees exactly the batches an uninterrupted one would. */
#ifndef TG_CLI_DATA_H
#define TG_CLI_DATA_H

#include "data_image.h"
#include "data_pairs.h"
#include "data_util.h"
#include "data_words.h"

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
void cli_data_free(cli_data *d);

/* The training batch of a step (batches repeat in epochs). Returns 0, or
 * -1 with a message (no training data). */
int cli_data_train_batch(const cli_data *d, const tg_spec *s, int64_t step, uint64_t seed,
                         cli_batch *b, char *err, size_t errlen);
/* The rule that splits a batch of B sequences (or streams) over `size`
 * processes: rank r takes n = B/size of them, one more when r < B mod
 * size, starting at lo (the parts in rank order make the batch). */
void cli_dist_share(int64_t B, int rank, int size, int64_t *lo, int64_t *n);
/* Part `rank` of `size` of that batch: its sequences (or streams) in
 * [lo, lo+n) as cli_dist_share splits the batch (cli/dist_train.c). */
int cli_data_train_part(const cli_data *d, const tg_spec *s, int64_t step, uint64_t seed, int rank,
                        int size, cli_batch *b, char *err, size_t errlen);
/* The sequences (or streams) in every training batch. */
int64_t cli_data_batch_size(const cli_data *d, const tg_spec *s);
/* Where step falls: the pass over the training data and the batch in it. */
void cli_data_position(const cli_data *d, const tg_spec *s, int64_t step, int64_t *epoch,
                       int64_t *index);
/* The held-out batches: how many, and the i-th. */
int64_t cli_data_eval_count(const cli_data *d, const tg_spec *s);
int cli_data_eval_batch(const cli_data *d, const tg_spec *s, int64_t i, cli_batch *b, char *err,
                        size_t errlen);
/* Part `rank` of `size` of it (cli_dist_share; b->B 0 when the part is empty). */
int cli_data_eval_part(const cli_data *d, const tg_spec *s, int64_t i, int rank, int size,
                       cli_batch *b, char *err, size_t errlen);
/* A tg_model_batch for b, with x and target on the tape. Returns 0 or -1
 * (the tape in error). */
int cli_batch_model(tg_tape *t, const tg_spec *s, const cli_batch *b, tg_model_batch *mb);

#endif
