/* A model's forward pass over a batch, the task's loss, and stepping one
 * token at a time. The model runner loops over the layers and calls each
 * one's row (model/layer.h); trees and seq2seq have their own passes
 * (model_tree.c, model_seq2seq.c).
 *
 * Inside, every sequence tensor is time-major, [T, B, F]: a batch-first
 * batch is transposed on the way in (a view) and the output on the way out,
 * so each layer runs the same code whatever the layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"

/* ---- forward ------------------------------------------------------------------ */

/* Layer k on x: its row's forward. */
static tg_tensor *run_layer(const tg__layer_run *r, int k, tg_tensor *x) {
    const tg_layer_spec *L = &r->m->layers[k];
    const tg__layer_row *row = tg__layer_row_of(L->type);
    if (!row->forward) { /* the parser lets none through */
        tg_tape_fail(r->t, "tg_model_forward: layers[%d] (%s) runs only in task tree", L->index,
                     tg_layer_type_name(L->type));
        return NULL;
    }
    return row->forward(r, k, x);
}

/* Checks the batch's input; sets T, B and x (time-major) or ids (time-major,
 * in *owned when it had to be reordered). */
static int take_input(tg_tape *t, const tg_model *m, const tg_model_batch *b, int64_t *T,
                      int64_t *B, tg_tensor **x, const int64_t **ids, int64_t **owned) {
    char s[TG_SHAPE_STR_MAX];
    const char *layout = m->batch_first ? "B, T" : "T, B";
    if (m->input == TG_INPUT_VECTORS) {
        if (!b->x || b->x->ndim != 3 || b->x->shape[2] != m->input_size || !b->x->numel) {
            if (!b->x)
                tg_tape_fail(t, "tg_model_forward: vector input needs batch x");
            else
                tg_tape_fail(t, "tg_model_forward: x %s: expected [%s, %lld]",
                             tg_shape_str(tg_tensor_shape(b->x), s, sizeof s), layout,
                             (long long)m->input_size);
            return -1;
        }
        *T = b->x->shape[m->batch_first ? 1 : 0], *B = b->x->shape[m->batch_first ? 0 : 1];
        *x = m->batch_first ? tg_transpose(t, b->x, 0, 1) : b->x;
        return *x ? 0 : -1;
    }
    *T = b->T, *B = b->B;
    if (!b->ids || b->T < 1 || b->B < 1) {
        tg_tape_fail(t,
                     "tg_model_forward: token input needs batch ids and T, B >= 1 (got T = "
                     "%lld, B = %lld%s)",
                     (long long)b->T, (long long)b->B, b->ids ? "" : ", no ids");
        return -1;
    }
    for (int64_t i = 0; i < *T * *B; i++)
        if (b->ids[i] < 0 || b->ids[i] >= m->vocab) {
            tg_tape_fail(t, "tg_model_forward: ids[%lld] = %lld is outside [0, %lld)", (long long)i,
                         (long long)b->ids[i], (long long)m->vocab);
            return -1;
        }
    *ids = b->ids;
    if (m->batch_first && *T > 1 && *B > 1) { /* [B, T] -> [T, B] */
        if (!(*owned = tg__time_major_ids(t, "tg_model_forward", b->ids, *B, *T))) return -1;
        *ids = *owned;
    }
    return 0;
}

/* A conditioned model's classes: the batch's (kept in the state for later
 * calls) or the state's. NULL with the tape's error set. */
static const int64_t *take_cond(tg_tape *t, const tg_model *m, const tg_model_batch *b, int64_t B,
                                tg_model_state *st) {
    if (!b->cond) {
        if (st && st->cond && st->n_cond == B) return st->cond;
        tg_tape_fail(t,
                     "tg_model_forward: the model is conditioned on one of %lld classes "
                     "(input.condition), so the batch needs cond",
                     (long long)m->cond_size);
        return NULL;
    }
    for (int64_t i = 0; i < B; i++)
        if (b->cond[i] < 0 || b->cond[i] >= m->cond_size) {
            tg_tape_fail(t, "tg_model_forward: cond[%lld] = %lld is outside [0, %lld)",
                         (long long)i, (long long)b->cond[i], (long long)m->cond_size);
            return NULL;
        }
    if (st && st->cond != b->cond) {
        int64_t *keep = realloc(st->cond, (size_t)B * sizeof *keep);
        if (!keep) {
            tg_tape_fail(t, "tg_model_forward: out of memory");
            return NULL;
        }
        memcpy(keep, b->cond, (size_t)B * sizeof *keep);
        st->cond = keep, st->n_cond = B;
    }
    return b->cond;
}

int tg_model_forward(tg_tape *t, tg_model *m, const tg_model_batch *b, tg_model_state *st,
                     tg_model_output *out) {
    tg_model_output local;
    if (!out) out = &local;
    *out = (tg_model_output){0};
    if (tg_tape_error(t)) return -1;
    if (!m || !b) {
        tg_tape_fail(t, "tg_model_forward: %s is NULL", m ? "batch" : "model");
        return -1;
    }
    if (st && st->n != m->n_layers) {
        tg_tape_fail(t, "tg_model_forward: the state has %d layers, the model %d", st->n,
                     m->n_layers);
        return -1;
    }
    if (m->input == TG_INPUT_TREES) return tg_model_tree_forward(t, m, b, st, out);
    if (m->s2s) return tg_model_seq2seq_forward(t, m, b, out);
    int64_t T, B, *owned = NULL;
    tg_tensor *x = NULL;
    const int64_t *ids = NULL;
    if (take_input(t, m, b, &T, &B, &x, &ids, &owned) != 0) return -1;
    for (int64_t i = 0; b->lengths && i < B; i++)
        if (b->lengths[i] < 1 || b->lengths[i] > T) {
            tg_tape_fail(t, "tg_model_forward: lengths[%lld] = %lld is outside [1, %lld]",
                         (long long)i, (long long)b->lengths[i], (long long)T);
            free(owned);
            return -1;
        }
    const int64_t *cond = NULL;
    if (m->cond_size && !(cond = take_cond(t, m, b, B, st))) {
        free(owned);
        return -1;
    }
    tg__layer_run run = {t, m, ids, T, B, b->lengths, cond, st, out};
    for (int k = 0; k < m->n_layers && !tg_tape_error(t); k++) x = run_layer(&run, k, x);
    free(owned);
    if (!tg_tape_error(t) && !m->pooled && m->batch_first) x = tg_transpose(t, x, 0, 1);
    if (tg_tape_error(t)) {
        *out = (tg_model_output){0};
        return -1;
    }
    out->output = x;
    return 0;
}

/* ---- loss ----------------------------------------------------------------------- */

/* The shape the output has for this batch must be what the target has. */
static bool same_shape(tg_tape *t, const tg_tensor *target, const tg_tensor *y) {
    char s1[TG_SHAPE_STR_MAX], s2[TG_SHAPE_STR_MAX];
    if (target && tg_same_shape(target, y)) return true;
    if (!target)
        tg_tape_fail(t, "tg_model_loss: task regress needs batch target");
    else
        tg_tape_fail(t, "tg_model_loss: target %s does not match the output %s",
                     tg_shape_str(tg_tensor_shape(target), s1, sizeof s1),
                     tg_shape_str(tg_tensor_shape(y), s2, sizeof s2));
    return false;
}

tg_tensor *tg_model_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                         const tg_model_output *out) {
    tg_model_output local;
    if (tg_tape_error(t)) return NULL;
    if (!out) {
        if (tg_model_forward(t, m, b, NULL, &local) != 0) return NULL;
        out = &local;
    }
    if (!m || !b || !out->output) {
        tg_tape_fail(t, "tg_model_loss: %s is NULL", !m ? "model" : !b ? "batch" : "output");
        return NULL;
    }
    if (m->task == TG_TASK_TREE) return tg_model_tree_loss(t, m, b, out);
    tg_tensor *y = out->output;
    bool bf = m->batch_first && !m->pooled;
    tg_tensor *seq = bf ? tg_transpose(t, y, 0, 1) : y; /* time-major */
    if (m->task == TG_TASK_REGRESS) {
        if (!same_shape(t, b->target, y)) return NULL;
        if (m->pooled) return tg_mse(t, y, b->target, TG_MEAN);
        tg_tensor *target = bf ? tg_transpose(t, b->target, 0, 1) : b->target;
        return tg_seq_mse(t, seq, target, b->lengths, TG_MEAN);
    }
    if (!b->target_ids) {
        tg_tape_fail(t, "tg_model_loss: task %s needs batch target_ids", tg_task_name(m->task));
        return NULL;
    }
    if (m->pooled) return tg_cross_entropy(t, y, b->target_ids, TG_MEAN, TG_NO_IGNORE);
    int64_t T = seq->shape[0], B = seq->shape[1];
    const int64_t *targets = b->target_ids;
    int64_t *owned = NULL;
    if (bf) { /* [B, T] -> [T, B], as tg_seq_cross_entropy reads them */
        if (!(owned = tg__time_major_ids(t, "tg_model_loss", b->target_ids, B, T))) return NULL;
        targets = owned;
    }
    const int64_t *lengths = m->s2s ? b->target_lengths : b->lengths;
    tg_tensor *loss = tg_seq_cross_entropy(t, seq, targets, lengths, TG_MEAN);
    free(owned);
    return loss;
}

/* ---- one step at a time ------------------------------------------------------------ */

tg_tensor *tg_model_step(tg_tape *t, tg_model *m, const int64_t *ids, tg_tensor *x, int64_t B,
                         tg_model_state *state) {
    if (tg_tape_error(t)) return NULL;
    if (!m || !state) {
        tg_tape_fail(t, "tg_model_step: %s is NULL", m ? "state" : "model");
        return NULL;
    }
    if (m->s2s) {
        tg_tape_fail(t, "tg_model_step: a seq2seq model decodes with tg_seq2seq_greedy or "
                        "tg_seq2seq_beam (on m->s2s)");
        return NULL;
    }
    if (m->pooled) {
        tg_tape_fail(t,
                     "tg_model_step: the model pools each sequence (task %s), so it needs "
                     "whole sequences",
                     tg_task_name(m->task));
        return NULL;
    }
    for (int k = 0; k < m->n_layers; k++)
        if (m->layers[k].bidirectional) {
            tg_tape_fail(t,
                         "tg_model_step: layers[%d] is bidirectional, so it needs whole "
                         "sequences",
                         m->layers[k].index);
            return NULL;
        }
    tg_model_batch b = {.T = 1, .B = B, .ids = ids}; /* [1, B] and [B, 1]: the same order */
    if (m->input == TG_INPUT_VECTORS) {
        char s[TG_SHAPE_STR_MAX];
        if (!x || x->ndim != 2 || x->shape[0] != B) {
            tg_tape_fail(t, "tg_model_step: x %s: expected [%lld, %lld]",
                         x ? tg_shape_str(tg_tensor_shape(x), s, sizeof s) : "NULL", (long long)B,
                         (long long)m->input_size);
            return NULL;
        }
        b.x = tg_reshape(
            t, x, m->batch_first ? TG_SHAPE(B, 1, x->shape[1]) : TG_SHAPE(1, B, x->shape[1]));
    }
    tg_model_output out;
    if (tg_model_forward(t, m, &b, state, &out) != 0) return NULL;
    return tg_reshape(t, out.output, TG_SHAPE(B, m->output_size));
}
