/* Internal to nn/: what the recurrent layer's files share. rnn.c runs the
 * layer; below it rnn_recompute.c (segments), rnn_steps.c (the step loop)
 * and, lowest, rnn_sizes.c (sizes and memory options). */
#ifndef TG_RNN_IMPL_H
#define TG_RNN_IMPL_H

#include <stdint.h>

#include "rnn.h"

/* One direction's input share of the gates: gx [T, B, G*H] for every step,
 * or (per_entry) [V, G*H] per vocabulary entry, each step picking its
 * tokens' rows ids[tt*B .. tt*B+B). */
typedef struct tg__rnn_gates {
    tg_tensor *gx;
    const int64_t *ids;
    bool per_entry;
    int64_t T, B;
    bool training; /* the module's mode at forward, for the cell's masks */
    bool ready;    /* gx went through the cell's .gates_all (tg_cell_io.gx_ready) */
} tg__rnn_gates;

/* Steps s0 .. s1-1 of direction k (step s is time T-1-s in reverse):
 * state[0 .. the cell's n_states) come in as the state before and leave as
 * the state after; steps[tt] gets the output of time tt. masks[tt] [B, 1]
 * (or NULL) as in tg_rnn_forward's lengths. Returns 0, or -1 with the
 * tape's error set. */
int tg__rnn_steps(tg_tape *t, const tg_rnn *m, int k, bool reverse, const tg__rnn_gates *g,
                  tg_tensor *const *masks, int64_t s0, int64_t s1, tg_tensor **state,
                  tg_tensor **steps);
/* The seed of direction k's cell masks: the layer's seed, k and the salt
 * (none: the seed the masks had before there was a salt). */
uint64_t tg__rnn_mask_seed(const tg_rnn *m, int k);

/* The same direction over all T steps, keeping only the state at the
 * start of every segment and the outputs, and recomputing each segment
 * in backward (memory.recompute): returns the output [T, B, H] and leaves
 * the final state in state[], as run_direction does. NULL on error. */
tg_tensor *tg__rnn_direction_recompute(tg_tape *t, const tg_rnn *m, int k, bool reverse,
                                       const tg__rnn_gates *g, tg_tensor *const *masks,
                                       tg_tensor **state);

/* ---- rnn_sizes.c ---- */

/* A recorded step's bytes for a batch of B (gradients included, roughly),
 * and the bytes of one carried state (h, and c); for the segment length. */
double tg__rnn_step_bytes(const tg_rnn *m, int64_t B);
double tg__rnn_state_bytes(const tg_rnn *m, int64_t B);

/* 0 if the memory options are valid, else -1 with a message naming the
 * field, after who ("rnn"). */
int tg__memory_check(const char *who, tg_rnn_memory mem, char *err, size_t errlen);
/* The segment length for T steps of about step_bytes each (recorded, with
 * gradients) and a state of state_bytes: memory.segment, or as many steps
 * as budget_mb holds, or sqrt(T * state_bytes / step_bytes), where the
 * checkpoints (T/k states) and one segment (k steps) weigh the same and
 * their sum is least; in 1..T. */
int64_t tg__memory_segment(const tg_rnn_memory *mem, int64_t T, double step_bytes,
                           double state_bytes);

#endif
