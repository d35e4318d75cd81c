/* A model built from a spec: the layers as modules, the forward pass over a
 * batch, the task's loss, and stepping one token at a time.
 *
 * Inside, every sequence tensor is time-major, [T, B, F]: a batch-first
 * batch is transposed on the way in (a view) and the output on the way out,
 * so each layer runs the same code whatever the layout. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "condition.h"
#include "deep_rnn.h"
#include "jordan.h"
#include "linear.h"
#include "rnn.h"
#include "seq_loss.h"
#include "spec.h"
#include "spec_tree.h"
#include "spec_seq2seq.h"
#include "tbptt.h"

static void model_destroy(tg_module *base) {
    tg_model *m = (tg_model *)base;
    free(m->layers);
    free(m->mods);
}

/* The module of layer L, or NULL with a reason in e (for a layer with
 * parameters; *none is set for one without). */
static tg_module *build_layer(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                              size_t elen, bool *none) {
    *none = false;
    snprintf(e, elen, "out of memory");
    switch (L->type) {
    case TG_LAYER_EMBEDDING:
        return (tg_module *)tg_embedding_new(m->vocab, L->dim, L->padding_idx, init);
    case TG_LAYER_LINEAR: return (tg_module *)tg_linear_layer_new(L->in, L->out, L->bias, init);
    case TG_LAYER_RNN:
    case TG_LAYER_LSTM:
    case TG_LAYER_GRU: {
        tg_rnn_mode mode = L->type == TG_LAYER_LSTM  ? TG_LSTM
                           : L->type == TG_LAYER_GRU ? TG_GRU
                           : L->relu                 ? TG_RNN_RELU
                                                     : TG_RNN_TANH;
        tg_rnn_options o = {.mode = mode,
                            .input_size = L->in,
                            .hidden_size = L->hidden,
                            .num_layers = L->num_layers,
                            .no_bias = !L->bias,
                            .bidirectional = L->bidirectional,
                            .dropout = L->dropout,
                            .seed = tg_rng_u64(init),
                            .memory = L->memory};
        return (tg_module *)tg_rnn_new(o, init, e, elen);
    }
    case TG_LAYER_JORDAN: {
        tg_jordan_options o = {
            .input_size = L->in, .hidden_size = L->hidden, .output_size = L->out, .relu = L->relu};
        return (tg_module *)tg_jordan_new(o, init, e, elen);
    }
    case TG_LAYER_DEEP_RNN: {
        tg_deep_rnn_options o = {
            .input_size = L->in, .hidden_size = L->hidden, .depth = L->depth, .skip = L->skip,
            .memory = L->memory};
        return (tg_module *)tg_deep_rnn_new(o, init, e, elen);
    }
    case TG_LAYER_TREE_RNN:
    case TG_LAYER_TREE_LSTM: return tg_model_tree_layer_new(L, init, e, elen);
    default: *none = true; return NULL;
    }
}

tg_model *tg_model_new(const tg_spec *s, tg_rng *init, char *err, size_t errlen) {
    tg_jctx c = {s ? s->file : NULL, err, errlen};
    char p[TG_JSON_PATH_MAX], e[256];
    if (!s || !init) {
        tg_json_fail(&c, NULL, "tg_model_new: %s is NULL", s ? "init" : "spec");
        return NULL;
    }
    if (s->input != TG_INPUT_VECTORS && !s->vocab) {
        tg_json_fail(&c, "input.vocab",
                     "not known yet; give it in the spec, or take it from the "
                     "data with tg_spec_set_vocab");
        return NULL;
    }
    tg_model *m = calloc(1, sizeof *m);
    if (!m) {
        tg_json_fail(&c, NULL, "tg_model_new: out of memory");
        return NULL;
    }
    m->base.kind = "model";
    m->base.training = true;
    m->base.destroy = model_destroy;
    m->task = s->task, m->input = s->input, m->vocab = s->vocab;
    m->input_size = s->input_size, m->output_size = s->output_size;
    m->batch_first = s->batch_first, m->pooled = s->pooled, m->tree_target = s->tree_target;
    m->n_layers = s->n_layers;
    m->layers = malloc((size_t)(s->n_layers + 1) * sizeof *m->layers); /* seq2seq: none */
    m->mods = calloc((size_t)s->n_layers + 1, sizeof *m->mods);
    if (!m->layers || !m->mods) goto oom;
    if (s->n_layers) memcpy(m->layers, s->layers, (size_t)s->n_layers * sizeof *m->layers);
    tg_rng_seed(&m->rng, tg_rng_u64(init));
    if (s->task == TG_TASK_SEQ2SEQ && tg_model_seq2seq_build(m, s, init, e, sizeof e) != 0) {
        tg_json_fail(&c, "model", "%s", e);
        tg_module_free(&m->base);
        return NULL;
    }
    for (int k = 0; k < m->n_layers; k++) {
        const tg_layer_spec *L = &m->layers[k];
        bool none;
        tg_module *mod = build_layer(m, L, init, e, sizeof e, &none);
        if (none) continue;
        if (!mod) {
            tg_json_fail(&c, tg_json_path_index(p, "model.layers", L->index), "%s", e);
            tg_module_free(&m->base);
            return NULL;
        }
        if (tg_module_add_child(&m->base, L->name, mod) != 0) goto oom;
        m->mods[k] = mod;
    }
    m->cond_size = s->cond_size, m->cond_as = s->cond_as, m->cond_layer = s->cond_layer;
    if (m->cond_size && m->cond_as == TG_COND_INITIAL_STATE) {
        tg_rnn *rnn = (tg_rnn *)m->mods[m->cond_layer];
        if (!(m->cond_map = (tg_module *)tg_condition_new(m->cond_size, rnn, init))) goto oom;
        if (tg_module_add_child(&m->base, "condition", m->cond_map) != 0) goto oom;
    }
    return m;
oom:
    tg_module_free(&m->base);
    tg_json_fail(&c, NULL, "tg_model_new: out of memory");
    return NULL;
}

void tg_model_free(tg_model *m) {
    if (m) tg_module_free(&m->base);
}

/* ---- state ------------------------------------------------------------------- */

tg_model_state *tg_model_state_new(const tg_model *m) {
    if (!m) return NULL;
    tg_model_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = m->n_layers;
    s->h = calloc((size_t)s->n, sizeof *s->h);
    s->c = calloc((size_t)s->n, sizeof *s->c);
    if (!s->h || !s->c) {
        tg_model_state_free(s);
        return NULL;
    }
    return s;
}

void tg_model_state_reset(tg_model_state *s) {
    for (int k = 0; s && k < s->n; k++) {
        tg_tensor_free(s->h[k]), s->h[k] = NULL;
        tg_tensor_free(s->c[k]), s->c[k] = NULL;
    }
    if (s) free(s->cond), s->cond = NULL, s->n_cond = 0;
}

void tg_model_state_free(tg_model_state *s) {
    if (!s) return;
    if (s->h && s->c) tg_model_state_reset(s);
    free(s->h);
    free(s->c);
    free(s);
}

/* ---- forward ------------------------------------------------------------------ */

/* A carried state copied onto the tape, after checking its batch size
 * (dimension bdim); NULL for zeros. The graph must not read the heap
 * tensor itself: the new final state is written there before backward. */
static tg_tensor *initial(tg_tape *t, const tg_tensor *s, int bdim, int64_t B, int k) {
    if (!s) return NULL;
    if (s->shape[bdim] != B) {
        tg_tape_fail(t,
                     "tg_model_forward: the carried state of layers[%d] holds %lld sequences, "
                     "this batch has %lld (reset the state)",
                     k, (long long)s->shape[bdim], (long long)B);
        return NULL;
    }
    return tg_from_array(t, tg_tensor_shape(s), s->data);
}

/* [T, B, F] -> [B, F]: each sequence's last step (for the features of a
 * reverse direction, step 0), or its mean or max over its own steps. */
static tg_tensor *pool(tg_tape *t, const tg_layer_spec *L, tg_tensor *x, const int64_t *lengths) {
    int64_t T = x->shape[0], B = x->shape[1], F = x->shape[2];
    if (L->pool == TG_POOL_LAST) {
        int64_t *idx = malloc((size_t)(2 * B) * sizeof *idx);
        if (!idx) {
            tg_tape_fail(t, "tg_model_forward: out of memory");
            return NULL;
        }
        for (int64_t b = 0; b < B; b++) /* rows of the flat [T*B, F] */
            idx[b] = ((lengths ? lengths[b] : T) - 1) * B + b, idx[B + b] = b;
        tg_tensor *flat = tg_reshape(t, x, TG_SHAPE(T * B, F));
        tg_tensor *y = tg_index_select(t, flat, 0, idx, B);
        if (L->split) {
            tg_tensor *first = tg_index_select(t, flat, 0, idx + B, B);
            tg_tensor *parts[2] = {tg_narrow(t, y, 1, 0, L->split),
                                   tg_narrow(t, first, 1, L->split, F - L->split)};
            y = tg_concat(t, 2, parts, 1);
        }
        free(idx);
        return y;
    }
    if (!lengths)
        return L->pool == TG_POOL_MEAN ? tg_mean_axis(t, x, 0, false) : tg_max_axis(t, x, 0, false);
    /* padding never enters: tg_where sends it neither value nor gradient */
    tg_tensor *mask = tg_empty(t, TG_SHAPE(T, B, 1));
    if (!mask) return NULL;
    for (int64_t i = 0; i < T * B; i++) mask->data[i] = i / B < lengths[i % B];
    if (L->pool == TG_POOL_MAX)
        return tg_max_axis(t, tg_where(t, mask, x, tg_full(t, TG_SCALAR, -INFINITY)), 0, false);
    tg_tensor *n = tg_empty(t, TG_SHAPE(B, 1));
    if (!n) return NULL;
    for (int64_t b = 0; b < B; b++) n->data[b] = (tg_real)lengths[b];
    tg_tensor *sum = tg_sum_axis(t, tg_where(t, mask, x, tg_zeros(t, TG_SCALAR)), 0, false);
    return tg_div(t, sum, n);
}

tg_tensor *tg_model_row_layer(tg_tape *t, tg_model *m, int k, tg_tensor *x) {
    const tg_layer_spec *L = &m->layers[k];
    switch (L->type) {
    case TG_LAYER_LINEAR: return tg_linear_layer_forward(t, (tg_linear_layer *)m->mods[k], x);
    case TG_LAYER_ACTIVATION:
        return L->fn == TG_ACT_TANH   ? tg_tanh(t, x)
               : L->fn == TG_ACT_RELU ? tg_relu(t, x)
                                      : tg_sigmoid(t, x);
    case TG_LAYER_DROPOUT: return tg_dropout(t, x, L->p, m->base.training, &m->rng);
    default:
        tg_tape_fail(t, "tg_model_forward: layers[%d] (%s) does not work row by row", L->index,
                     tg_layer_type_name(L->type));
        return NULL;
    }
}

/* Layer k is an embedding whose rows go straight into a recurrent layer's
 * input product: that layer reads the ids itself (tg_rnn_forward_tokens). */
static bool embedding_feeds_rnn(const tg_model *m, int k) {
    return m->layers[k].type == TG_LAYER_EMBEDDING && k + 1 < m->n_layers &&
           tg_spec_is_rnn_layer(m->layers[k + 1].type) &&
           !(m->cond_size && m->cond_layer == k + 1 && m->cond_as == TG_COND_INPUT);
}

/* Layer k on x (time-major); updates out's final states and the carried
 * state. A recurrent layer after an embedding that feeds it reads ids
 * through that embedding (x is NULL then). */
static tg_tensor *run_layer(tg_tape *t, tg_model *m, int k, tg_tensor *x, const int64_t *ids,
                            int64_t T, int64_t B, const int64_t *lengths, const int64_t *cond,
                            tg_model_state *st, tg_model_output *out) {
    const tg_layer_spec *L = &m->layers[k];
    tg_module *mod = m->mods[k];
    switch (L->type) {
    case TG_LAYER_EMBEDDING:
        if (embedding_feeds_rnn(m, k)) return NULL; /* the next layer looks the ids up */
        return tg_embedding_forward(t, (tg_embedding *)mod, ids, TG_SHAPE(T, B));
    case TG_LAYER_ONE_HOT: {
        tg_tensor *y = tg_zeros(t, TG_SHAPE(T, B, m->vocab));
        for (int64_t i = 0; y && i < T * B; i++) y->data[i * m->vocab + ids[i]] = 1;
        return y;
    }
    case TG_LAYER_LINEAR:
    case TG_LAYER_ACTIVATION:
    case TG_LAYER_DROPOUT: return tg_model_row_layer(t, m, k, x);
    case TG_LAYER_POOL: return pool(t, L, x, lengths);
    case TG_LAYER_RNN:
    case TG_LAYER_LSTM:
    case TG_LAYER_GRU: {
        tg_tensor *h0 = st ? initial(t, st->h[k], 1, B, k) : NULL;
        tg_tensor *c0 = st ? initial(t, st->c[k], 1, B, k) : NULL;
        if (m->cond_size && k == m->cond_layer) {
            if (m->cond_as == TG_COND_INPUT)
                x = tg_condition_append(t, x, cond, m->cond_size);
            else if (!h0 && tg_condition_initial(t, (tg_linear_layer *)m->cond_map, (tg_rnn *)mod,
                                                 cond, B, m->cond_size, &h0, &c0))
                return NULL;
        }
        tg_rnn_result r;
        int status = k > 0 && embedding_feeds_rnn(m, k - 1)
                         ? tg_rnn_forward_tokens(t, (tg_rnn *)mod, (tg_embedding *)m->mods[k - 1],
                                                 ids, TG_SHAPE(T, B), h0, c0, lengths, &r)
                         : tg_rnn_forward(t, (tg_rnn *)mod, x, h0, c0, lengths, &r);
        if (status != 0) return NULL;
        out->h_n = r.h_n, out->c_n = r.c_n;
        if (st) tg_tbptt_carry(t, &st->h[k], r.h_n);
        if (st && r.c_n) tg_tbptt_carry(t, &st->c[k], r.c_n);
        return r.output;
    }
    case TG_LAYER_JORDAN:
    case TG_LAYER_DEEP_RNN: {
        if (st && lengths) { /* their final state is at step T-1, padding included */
            tg_tape_fail(t,
                         "tg_model_forward: layers[%d] (%s) cannot carry a state across "
                         "sequences of different lengths",
                         k, tg_layer_type_name(L->type));
            return NULL;
        }
        tg_tensor *s0 = st ? initial(t, st->h[k], 0, B, k) : NULL, *y, *fin;
        if (L->type == TG_LAYER_JORDAN) {
            tg_jordan_result r;
            if (tg_jordan_forward(t, (tg_jordan *)mod, x, s0, NULL, &r) != 0) return NULL;
            y = r.output, fin = r.feedback;
        } else {
            tg_deep_rnn_result r;
            if (tg_deep_rnn_forward(t, (tg_deep_rnn *)mod, x, s0, &r) != 0) return NULL;
            y = r.output, fin = r.h_n;
        }
        out->h_n = fin, out->c_n = NULL;
        if (st) tg_tbptt_carry(t, &st->h[k], fin);
        return y;
    }
    default: break; /* tree layers: tree_forward in model_tree.c */
    }
    return NULL;
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
    for (int k = 0; k < m->n_layers && !tg_tape_error(t); k++)
        x = run_layer(t, m, k, x, ids, T, B, b->lengths, cond, st, out);
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
