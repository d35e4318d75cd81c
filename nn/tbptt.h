/* Truncated backpropagation through time: train on a long stream in chunks
 * of K steps. The forward pass carries the state across chunk borders, so
 * the net sees the whole history; the backward pass stops at each border,
 * so a chunk's gradient only reaches K steps back and memory stays bounded
 * by one chunk's tape.
 *
 * The usual loop: one chunk per tape step. tg_tape_reset frees everything
 * on the tape, the final state included, so the state is first copied out
 * to a caller-owned heap tensor. That tensor does not require a gradient, so
 * the next chunk reads it as a constant: copying out *is* the truncation.
 *
 *     tg_tensor *h = NULL;                      // NULL: the stream starts from zeros
 *     for (int c = 0; c < n_chunks; c++) {
 *         tg_tape_reset(tape);
 *         tg_tensor *x = tg_from_array(tape, TG_SHAPE(K, B, I), stream + c * K * B * I);
 *         tg_rnn_result r;
 *         tg_rnn_forward(tape, rnn, x, h, NULL, NULL, &r);       // h0 = carried state
 *         tg_tensor *loss = ...;                // this chunk's loss
 *         tg_backward(tape, loss);
 *         tg_optim_step(...);
 *         tg_tbptt_carry(tape, &h, r.h_n);      // before the next reset
 *         if (tg_tape_error(tape)) break;
 *     }
 *     tg_tensor_free(h);
 *
 * (An LSTM carries two tensors, h_n and c_n, each with its own call; a
 * Jordan net carries its result's feedback.)
 *
 * Several chunks on one tape (to look at the graph, or to backpropagate
 * several chunk losses at once) cut the graph with tg_detach instead:
 * run chunk c+1 from tg_detach(tape, h_n of chunk c). The tape then holds
 * every chunk, so memory grows with the stream. */
#ifndef TG_TBPTT_H
#define TG_TBPTT_H

#include "../autograd/autograd.h"

/* Copies the values of `state` (any tensor, usually a final state on the
 * tape) into *carry, a heap tensor that survives tg_tape_reset and has no
 * gradient. *carry is allocated on first use (*carry == NULL) and
 * reallocated if state's shape differs (e.g. a smaller last batch); the
 * caller frees it with tg_tensor_free. Returns *carry, or NULL with the
 * tape's error set (or the tape already in error), leaving *carry as it
 * was. */
tg_tensor *tg_tbptt_carry(tg_tape *t, tg_tensor **carry, const tg_tensor *state);

#endif
