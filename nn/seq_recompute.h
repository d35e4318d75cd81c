/* A whole language model in bounded memory: embedding -> recurrent layers
 * -> linear head -> cross-entropy, run segment by segment over time, so
 * that nothing of length T stays on the tape (nn/seq_recompute.c). */
#ifndef TG_SEQ_RECOMPUTE_H
#define TG_SEQ_RECOMPUTE_H

#include "linear.h"
#include "rnn.h"

/* The stack: embedding rows feed rnn[0] (tg_rnn_forward_tokens), each
 * layer's output the next one's input, the last one's the head. Every
 * layer one direction, sequence-first ([T, B, .]), a cell of one or two
 * states (Elman, GRU, LSTM). */
typedef struct tg_seq_stack {
    tg_embedding *embedding;
    tg_rnn *const *rnn;
    int n_rnn;
    tg_linear_layer *head; /* last hidden -> classes */
} tg_seq_stack;

/* The mean cross-entropy of the head's logits against targets over the
 * T*B tokens ids [T, B] (targets laid out the same), as
 * tg_seq_cross_entropy(logits, targets, NULL, TG_MEAN) of the stack run on
 * the full tape, in O(T/k + k) memory for the whole stack: forward keeps
 * each layer's state at the start of every segment of k steps (mem: its
 * segment, its budget_mb for one segment of the whole stack, or the k of
 * least memory) and the loss; backward runs every segment again, from the
 * last, and backpropagates through it (whatever memory the layers
 * themselves ask for is ignored: the stack's segments are already short).
 * Dropout between stacked layers is drawn per segment from the layer's
 * generator and drawn again the same in backward, so it differs from the
 * full tape's masks unless k >= T. The gradients equal the full tape's up
 * to rounding: the weights' products are summed per segment rather than
 * over all T at once (docs/memory.md).
 * h0, c0: NULL, or [n_rnn] initial states ([layers, B, H], NULL entries
 * zeros; c0 for LSTM layers). h_n, c_n: NULL, or [n_rnn] receiving the
 * final states (constants on the tape; c_n NULL for one-state cells).
 * Returns the 0-d loss, or NULL with the tape's error set. */
tg_tensor *tg_seq_recompute_loss(tg_tape *t, const tg_seq_stack *s, const int64_t *ids,
                                 const int64_t *targets, int64_t T, int64_t B,
                                 tg_rnn_memory mem, tg_tensor *const *h0, tg_tensor *const *c0,
                                 tg_tensor **h_n, tg_tensor **c_n);

#endif
