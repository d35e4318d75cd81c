/* A training step's loss, and where train.memory {"whole_model": true}
 * lets it take the whole-model path: a language model that is an embedding
 * feeding a stack of rnn, lstm and gru layers and a linear head runs
 * segment by segment through tg_seq_recompute_loss (nn/seq_recompute.c),
 * so neither the layers' outputs nor the logits are kept for all T steps;
 * its gradients equal the full tape's to rounding, which is why it is
 * asked for by name and not implied by "recompute". Any other model (or a
 * batch with lengths) takes tg_model_forward and tg_model_loss, where each
 * recurrent layer recomputes on its own, bit for bit. */
#include <stdlib.h>

#include "layer.h"
#include "layer_variant.h"

/* The layers k of the stack path, or false: task language_model on token
 * ids, embedding feeding layers[1], one-direction recurrent layers of the
 * tg_rnn kind, a linear head last, no condition, and train.memory asking
 * for the whole model. */
static bool stack_path(const tg_model *m, const tg_model_batch *b) {
    int n = m->n_layers;
    if (m->task != TG_TASK_LANGUAGE_MODEL || m->input != TG_INPUT_TOKENS || m->s2s ||
        m->pooled || m->cond_size || b->lengths || n < 3 || !tg__embedding_feeds_rnn(m, 0) ||
        m->layers[n - 1].type != TG_LAYER_LINEAR || n - 2 > TG__MAX_STACK)
        return false;
    for (int k = 1; k < n - 1; k++)
        if (!tg_spec_is_rnn_layer(m->layers[k].type) || m->layers[k].bidirectional ||
            !m->layers[k].memory.recompute || !m->layers[k].whole_model)
            return false;
    return true;
}

/* The stack path: the ids and targets time-major, carried states in and
 * out as tg_model_forward takes and gives them. */
static tg_tensor *stack_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                             tg_model_state *st, tg_model_output *out) {
    const char *F = "tg_model_train_loss";
    int n = m->n_layers - 2;
    int64_t T = b->T, B = b->B, *own_ids = NULL, *own_targets = NULL;
    const int64_t *ids = b->ids, *targets = b->target_ids;
    if (!ids || !targets || T < 1 || B < 1) {
        tg_tape_fail(t, "%s: a language model's batch needs ids, target_ids and T, B >= 1", F);
        return NULL;
    }
    if (m->batch_first && T > 1 && B > 1) { /* [B, T] -> [T, B] */
        ids = own_ids = tg__time_major_ids(t, F, b->ids, B, T);
        targets = own_targets = ids ? tg__time_major_ids(t, F, b->target_ids, B, T) : NULL;
    }
    tg_rnn **rnn = malloc((size_t)n * sizeof *rnn);
    tg_tensor **h = calloc((size_t)(4 * n), sizeof *h), **c = h + n, **h_n = h + 2 * n,
              **c_n = h + 3 * n;
    tg_tensor *loss = NULL;
    if (!rnn || !h) {
        tg_tape_fail(t, "%s: out of memory", F);
    } else if (targets) {
        for (int i = 0; i < n; i++) {
            rnn[i] = (tg_rnn *)m->mods[1 + i];
            h[i] = st ? tg__layer_initial(t, st->h[1 + i], 1, B, 1 + i) : NULL;
            c[i] = st ? tg__layer_initial(t, st->c[1 + i], 1, B, 1 + i) : NULL;
        }
        tg_seq_stack s = {(tg_embedding *)m->mods[0], rnn, n,
                          (tg_linear_layer *)m->mods[m->n_layers - 1]};
        if (!tg_tape_error(t))
            loss = tg_seq_recompute_loss(t, &s, ids, targets, T, B, m->layers[1].memory, h, c,
                                         h_n, c_n);
    }
    if (loss) {
        out->h_n = h_n[n - 1], out->c_n = c_n[n - 1];
        for (int i = 0; st && i < n; i++) {
            tg_tbptt_carry(t, &st->h[1 + i], h_n[i]);
            if (c_n[i]) tg_tbptt_carry(t, &st->c[1 + i], c_n[i]);
        }
    }
    free(rnn);
    free(h);
    free(own_ids);
    free(own_targets);
    return tg_tape_error(t) ? NULL : loss;
}

tg_tensor *tg_model_train_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                               tg_model_state *st, tg_model_output *out) {
    tg_model_output local;
    if (!out) out = &local;
    *out = (tg_model_output){0};
    if (tg_tape_error(t)) return NULL;
    if (!m || !b) {
        tg_tape_fail(t, "tg_model_train_loss: %s is NULL", m ? "batch" : "model");
        return NULL;
    }
    if (st && st->n != m->n_layers) {
        tg_tape_fail(t, "tg_model_train_loss: the state has %d layers, the model %d", st->n,
                     m->n_layers);
        return NULL;
    }
    if (m->base.training && tg_grad_enabled(t)) tg__layer_variant_fresh_masks(m);
    if (stack_path(m, b) && tg_grad_enabled(t)) return stack_loss(t, m, b, st, out);
    if (tg_model_forward(t, m, b, st, out) != 0) return NULL;
    return tg_model_loss(t, m, b, out);
}
