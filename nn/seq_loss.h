/* Losses over padded batches of sequences, laid out [T, B, .] as the
 * recurrent layers' outputs are (transpose a batch-first output first).
 *
 * lengths: NULL (every position counts) or B lengths in [0, T]; position
 * (t, b) counts iff t < lengths[b]. A masked position adds nothing to the
 * loss, is not counted by a mean, and gets exactly zero gradient, whatever
 * its values (padding may hold anything: inf or NaN logits, predictions or
 * targets, and any target id).
 *
 * Reductions:
 *   TG_SUM   sum over the counted positions;
 *   TG_MEAN  that sum divided by the number of counted tokens (for
 *            tg_seq_mse: counted tokens * D, the elements, as nn.MSELoss
 *            averages); an error when nothing is counted, since a batch of
 *            empty sequences is a bug upstream;
 *   TG_NONE  one value per token, [T, B] for cross entropy and [T, B, D]
 *            for mse, 0 at masked positions. */
#ifndef TG_SEQ_LOSS_H
#define TG_SEQ_LOSS_H

#include "../autograd/autograd.h"

/* logits [T, B, C]; targets T*B class ids in row-major [T, B] order (so
 * targets[t*B + b] belongs to step t of sequence b), each in [0, C) where
 * counted. Per token: logsumexp(logits[t, b, :]) - logits[t, b, target]. */
tg_tensor *tg_seq_cross_entropy(tg_tape *t, tg_tensor *logits, const int64_t *targets,
                                const int64_t *lengths, tg_reduction red);

/* pred and target [T, B, D] (the same shape): (pred - target)^2 per element. */
tg_tensor *tg_seq_mse(tg_tape *t, tg_tensor *pred, tg_tensor *target, const int64_t *lengths,
                      tg_reduction red);

/* For the library's own files: ids [B, T] (batch-major) reordered to
 * [T, B] in a new malloc'd array (the caller frees it), or NULL with the
 * tape's error "fn: out of memory". */
int64_t *tg__time_major_ids(tg_tape *t, const char *fn, const int64_t *ids, int64_t B, int64_t T);

#endif
