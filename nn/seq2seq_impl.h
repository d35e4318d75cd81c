/* Shared by seq2seq.c, seq2seq_train.c, decode.c and beam.c; internal to
 * the library. */
#ifndef TG_SEQ2SEQ_IMPL_H
#define TG_SEQ2SEQ_IMPL_H

#include "seq2seq.h"

/* Allocates out's arrays (tokens -1, the rest 0). Returns 0, or -1 with
 * the tape's error set. */
int tg__s2s_output_alloc(tg_tape *t, const char *fn, tg_s2s_output *o, int64_t B, int64_t S,
                         int64_t max_len, bool attention);
/* Checks the arguments the searches share. Returns 0 or -1. */
int tg__s2s_check_decode(tg_tape *t, const char *fn, const tg_seq2seq *m, int64_t max_len);
/* The index of the largest value in row b of a [B, V] tensor (the first
 * of equals). */
int64_t tg__s2s_argmax_row(const tg_tensor *logits, int64_t b);
/* false with the tape's error set when an id of ids [rows, cols] is outside
 * [0, vocab); what names the array in the message. */
bool tg__s2s_check_ids(tg_tape *t, const char *fn, const char *what, const int64_t *ids,
                       int64_t rows, int64_t cols, int64_t vocab);
/* false with the tape's error set when a length of len[B] is outside
 * [1, max]. */
bool tg__s2s_check_lengths(tg_tape *t, const char *fn, const char *what, const int64_t *len,
                           int64_t B, int64_t max);

#endif
