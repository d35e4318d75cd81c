/* The recurrent layer around any cell (cell.h): the input product for all
 * steps, the step loop, directions, stacks, lengths, the token path; and
 * the public one-step cells of the built-in rows. */
#include "rnn.h"
#include "mask_hash.h"
#include "rnn_impl.h"
#include "seq_loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The public cells: one checked step of a built-in row from x. */
static int cell_from_x(tg_tape *t, const char *fn, tg_rnn_mode mode, tg_tensor *x, tg_tensor *h,
                       tg_tensor *c, tg_tensor *w_ih, tg_tensor *w_hh, tg_tensor *b_ih,
                       tg_tensor *b_hh, tg_tensor **h_out, tg_tensor **c_out) {
    tg_cell_io io = {.w_hh = w_hh, .b_hh = b_hh, .state = {h, c}};
    int status = tg__cell_forward(t, fn, tg_cell_builtin(mode), x, w_ih, b_ih, &io);
    *h_out = io.next[0];
    if (c_out) *c_out = io.next[1];
    return status;
}

tg_tensor *tg_rnn_cell(tg_tape *t, tg_tensor *x, tg_tensor *h, tg_tensor *w_ih, tg_tensor *w_hh,
                       tg_tensor *b_ih, tg_tensor *b_hh, bool relu) {
    tg_tensor *h_out;
    cell_from_x(t, "tg_rnn_cell", relu ? TG_RNN_RELU : TG_RNN_TANH, x, h, NULL, w_ih, w_hh, b_ih,
                b_hh, &h_out, NULL);
    return h_out;
}

int tg_lstm_cell(tg_tape *t, tg_tensor *x, tg_tensor *h, tg_tensor *c, tg_tensor *w_ih,
                 tg_tensor *w_hh, tg_tensor *b_ih, tg_tensor *b_hh, tg_tensor **h_out,
                 tg_tensor **c_out) {
    return cell_from_x(t, "tg_lstm_cell", TG_LSTM, x, h, c, w_ih, w_hh, b_ih, b_hh, h_out, c_out);
}

tg_tensor *tg_gru_cell(tg_tape *t, tg_tensor *x, tg_tensor *h, tg_tensor *w_ih, tg_tensor *w_hh,
                       tg_tensor *b_ih, tg_tensor *b_hh) {
    tg_tensor *h_out;
    cell_from_x(t, "tg_gru_cell", TG_GRU, x, h, NULL, w_ih, w_hh, b_ih, b_hh, &h_out, NULL);
    return h_out;
}

/* ---- the layer ------------------------------------------------------------------ */

static void rnn_destroy(tg_module *base) {
    tg_rnn *m = (tg_rnn *)base;
    free(m->w_ih);
    free(m->w_hh);
    free(m->b_ih);
    free(m->b_hh);
    free(m->w_hr);
    free(m->cell_param);
}

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

/* Every weight and bias U(-bound, bound) in the order they were made, as
 * PyTorch draws them; a cell parameter that is not uniform takes its
 * init value and draws nothing. */
static void init_params(tg_rnn *m, tg_rng *init, double bound) {
    int P = m->cell->n_params;
    for (int i = 0; i < m->base.n_owned; i++) {
        tg_tensor *w = m->base.owned[i];
        const tg_cell_param *cp = NULL;
        for (int k = 0; P && k < m->opt.num_layers * m->dirs && !cp; k++)
            for (int p = 0; p < P && !cp; p++)
                if (m->cell_param[k * P + p] == w) cp = &m->cell->param[p];
        if (cp && !cp->uniform)
            tg_fill(w, cp->init);
        else
            tg_init_uniform(w, init, -bound, bound);
    }
}

tg_rnn *tg_rnn_new(tg_rnn_options o, tg_rng *init, char *err, size_t errlen) {
    if (o.num_layers == 0) o.num_layers = 1;
    const tg_cell *cell = o.cell ? o.cell : tg_cell_builtin(o.mode);
    if (!cell) return FAIL("rnn: unknown mode %d", (int)o.mode);
    const char *bad = tg_cell_invalid(cell);
    if (bad) return FAIL("rnn: cell \"%s\": %s", cell->name ? cell->name : "?", bad);
    if (o.input_size <= 0)
        return FAIL("rnn: input_size must be positive, got %lld", (long long)o.input_size);
    if (o.hidden_size <= 0)
        return FAIL("rnn: hidden_size must be positive, got %lld", (long long)o.hidden_size);
    if (o.proj_size < 0 || o.proj_size >= o.hidden_size)
        return FAIL("rnn: proj_size must be 0 (off) or in 1..%lld (below hidden_size %lld), got "
                    "%lld",
                    (long long)o.hidden_size - 1, (long long)o.hidden_size,
                    (long long)o.proj_size);
    if (o.proj_size && cell != tg_cell_builtin(TG_LSTM))
        return FAIL("rnn: proj_size is for the lstm cell only, not \"%s\"", cell->name);
    if (o.num_layers < 0 || o.num_layers > 4096)
        return FAIL("rnn: num_layers must be in 1..4096, got %d", o.num_layers);
    if (!(o.dropout >= 0 && o.dropout < 1))
        return FAIL("rnn: dropout must be in [0, 1), got %g", o.dropout);
    if (!init) return FAIL("rnn: no random generator for the initial weights");
    if (tg__memory_check("rnn", o.memory, err, errlen) != 0) return NULL;
    tg_rnn *m = calloc(1, sizeof *m);
    if (!m) return FAIL("rnn: out of memory");
    m->base.kind = "rnn";
    m->base.training = true;
    m->base.destroy = rnn_destroy;
    m->opt = o;
    m->cell = cell;
    m->dirs = o.bidirectional ? 2 : 1;
    tg_rng_seed(&m->rng, o.seed);
    int n = o.num_layers * m->dirs;
    int64_t H = o.hidden_size, G = cell->gates, R = o.proj_size ? o.proj_size : H;
    m->w_ih = calloc((size_t)n, sizeof *m->w_ih);
    m->w_hh = calloc((size_t)n, sizeof *m->w_hh);
    m->b_ih = calloc((size_t)n, sizeof *m->b_ih);
    m->b_hh = calloc((size_t)n, sizeof *m->b_hh);
    m->w_hr = o.proj_size ? calloc((size_t)n, sizeof *m->w_hr) : NULL;
    m->cell_param = calloc((size_t)n * (size_t)cell->n_params + 1, sizeof *m->cell_param);
    if (!m->w_ih || !m->w_hh || !m->b_ih || !m->b_hh || !m->cell_param) goto oom;
    if (o.proj_size && !m->w_hr) goto oom;
    double bound = 1 / sqrt((double)H);
    for (int l = 0; l < o.num_layers; l++)
        for (int d = 0; d < m->dirs; d++) {
            int k = l * m->dirs + d;
            int64_t in = l == 0 ? o.input_size : m->dirs * R;
            const char *sfx = d ? "_reverse" : "";
            char name[64];
            snprintf(name, sizeof name, "weight_ih_l%d%s", l, sfx);
            if (!(m->w_ih[k] = tg_module_param(&m->base, name, TG_SHAPE(G * H, in)))) goto oom;
            snprintf(name, sizeof name, "weight_hh_l%d%s", l, sfx);
            if (!(m->w_hh[k] = tg_module_param(&m->base, name, TG_SHAPE(G * H, R)))) goto oom;
            if (!o.no_bias) {
                snprintf(name, sizeof name, "bias_ih_l%d%s", l, sfx);
                if (!(m->b_ih[k] = tg_module_param(&m->base, name, TG_SHAPE(G * H)))) goto oom;
                snprintf(name, sizeof name, "bias_hh_l%d%s", l, sfx);
                if (!(m->b_hh[k] = tg_module_param(&m->base, name, TG_SHAPE(G * H)))) goto oom;
            }
            if (o.proj_size) { /* after the biases, as PyTorch orders them */
                snprintf(name, sizeof name, "weight_hr_l%d%s", l, sfx);
                if (!(m->w_hr[k] = tg_module_param(&m->base, name, TG_SHAPE(R, H)))) goto oom;
            }
            for (int p = 0; p < cell->n_params; p++) {
                const tg_cell_param *cp = &cell->param[p];
                snprintf(name, sizeof name, "%s_l%d%s", cp->name, l, sfx);
                tg_tensor *w = tg_module_param(&m->base, name, TG_SHAPE(cp->width * H));
                if (!(m->cell_param[k * cell->n_params + p] = w)) goto oom;
            }
        }
    init_params(m, init, bound);
    return m;
oom:
    tg_module_free(&m->base);
    return FAIL("rnn: out of memory");
}

/* Checks the input's shape xs, h0, c0 and lengths against the layer; sets
 * T and B. */
static bool check_inputs(tg_tape *t, const tg_rnn *m, tg_shape xs, const tg_tensor *h0,
                         const tg_tensor *c0, const int64_t *lengths, int64_t *T, int64_t *B) {
    char sx[TG_SHAPE_STR_MAX], sh[TG_SHAPE_STR_MAX];
    const tg_rnn_options *o = &m->opt;
    if (xs.ndim != 3 || xs.dim[2] != o->input_size) {
        tg_tape_fail(t, "tg_rnn_forward: input %s: expected [%s, %lld]",
                     tg_shape_str(xs, sx, sizeof sx), o->batch_first ? "B, T" : "T, B",
                     (long long)o->input_size);
        return false;
    }
    *T = xs.dim[o->batch_first ? 1 : 0];
    *B = xs.dim[o->batch_first ? 0 : 1];
    if (*T == 0 || *B == 0) {
        tg_tape_fail(t, "tg_rnn_forward: input %s: the %s is empty",
                     tg_shape_str(xs, sx, sizeof sx), *T == 0 ? "sequence" : "batch");
        return false;
    }
    const tg_tensor *states[2] = {h0, c0};
    for (int k = 0; k < 2; k++) {
        const tg_tensor *s = states[k];
        int64_t W = k ? o->hidden_size : tg_rnn_h_size(m); /* h is proj_size wide */
        if (!s) continue;
        if (s->ndim != 3 || s->shape[0] != o->num_layers * m->dirs || s->shape[1] != *B ||
            s->shape[2] != W) {
            tg_tape_fail(t, "tg_rnn_forward: %s %s: expected [%d, %lld, %lld]", k ? "c0" : "h0",
                         tg_shape_str(tg_tensor_shape(s), sh, sizeof sh), o->num_layers * m->dirs,
                         (long long)*B, (long long)W);
            return false;
        }
    }
    if (c0 && m->cell->n_states < 2) {
        tg_tape_fail(t, "tg_rnn_forward: c0 given, but only an LSTM has a cell state");
        return false;
    }
    for (int64_t b = 0; lengths && b < *B; b++)
        if (lengths[b] < 1 || lengths[b] > *T) {
            tg_tape_fail(t, "tg_rnn_forward: lengths[%lld] = %lld is outside [1, %lld]",
                         (long long)b, (long long)lengths[b], (long long)*T);
            return false;
        }
    return true;
}

/* The [B, H] slice k of a [layers*dirs, B, H] state, or zeros. */
static tg_tensor *initial_state(tg_tape *t, tg_tensor *s0, int k, int64_t B, int64_t H) {
    if (!s0) return tg_zeros(t, TG_SHAPE(B, H));
    return tg_reshape(t, tg_narrow(t, s0, 0, k, 1), TG_SHAPE(B, H));
}

/* A layer's input, time-major: x [T, B, in], or (first layer only) token
 * ids [T*B] into an embedding table [vocab, in]. */
typedef struct layer_input {
    tg_tensor *x;
    tg_tensor *table;
    const int64_t *ids;
    int64_t T, B;
} layer_input;

/* One direction of one layer over the whole sequence: in -> [T, B, H]
 * (P with proj_size);
 * state[0..n_states) come in as the initial and leave as the final state. */
static tg_tensor *run_direction(tg_tape *t, const tg_rnn *m, int k, bool reverse,
                                const layer_input *in, tg_tensor **masks, tg_tensor **state,
                                tg_tensor **steps) {
    int64_t T = in->T, B = in->B;
    /* The input's share of the gates for all steps in one GEMM. Tokens
     * from a vocabulary smaller than the batch's T*B: the product of each
     * vocabulary entry (one row per entry), whose rows each step picks. */
    const tg_cell *cell = m->cell;
    bool per_entry = in->table && in->table->shape[0] < T * B && !cell->input;
    tg_tensor *x = in->x;
    if (in->table)
        x = per_entry ? in->table
                      : tg_reshape(t, tg_index_select(t, in->table, 0, in->ids, T * B),
                                   TG_SHAPE(T, B, in->table->shape[1]));
    if (cell->input) /* a cell's input masks, before the product for all steps */
        x = cell->input(t, cell, x, m->base.training, tg__rnn_mask_seed(m, k));
    tg_tensor *gx = tg_linear(t, x, m->w_ih[k], m->b_ih[k]);
    tg_label(t, gx, per_entry ? "input_per_entry" : "input_all_steps");
    /* what the cell does to gx alone, for all steps in one op (a layer
     * norm); the composed reference keeps it in its steps */
    bool ready = cell->gates_all && !m->opt.composed;
    if (ready) {
        gx = cell->gates_all(t, cell, gx, m->cell_param + k * cell->n_params);
        tg_label(t, gx, "input_ready");
    }
    tg__rnn_gates g = {gx, in->ids, per_entry, T, B, m->base.training, ready};
    if (m->opt.memory.recompute && tg_grad_enabled(t)) /* nn/rnn_recompute.c */
        return tg__rnn_direction_recompute(t, m, k, reverse, &g, masks, state);
    if (tg__rnn_steps(t, m, k, reverse, &g, masks, 0, T, state, steps) != 0) return NULL;
    return tg_stack(t, (int)T, steps, 0);
}

/* Both entries: in is x (batch-major when batch_first) or the tokens;
 * init[j] is the initial state j of every layer and direction (h0, c0) or
 * NULL. */
static int forward(tg_tape *t, tg_rnn *m, layer_input in, tg_tensor *const *init,
                   const int64_t *lengths, tg_rnn_result *res) {
    int64_t T = in.T, B = in.B, H = m->opt.hidden_size;
    int L = m->opt.num_layers, D = m->dirs, S = m->cell->n_states;
    tg_tensor **masks = lengths ? calloc((size_t)T, sizeof *masks) : NULL;
    tg_tensor **steps = calloc((size_t)T, sizeof *steps);
    tg_tensor **fin = calloc((size_t)(S * L * D), sizeof *fin); /* [state][layer * D + dir] */
    if ((lengths && !masks) || !steps || !fin) {
        tg_tape_fail(t, "tg_rnn_forward: out of memory");
        goto done;
    }
    for (int64_t tt = 0; masks && tt < T; tt++) {
        masks[tt] = tg_empty(t, TG_SHAPE(B, 1));
        if (!masks[tt]) goto done;
        for (int64_t b = 0; b < B; b++) masks[tt]->data[b] = tt < lengths[b];
    }
    tg_scope_push(t, m->cell->scope); /* so nodes read "lstm.l0.t3.forget_gate" */
    if (in.x && m->opt.batch_first) in.x = tg_transpose(t, in.x, 0, 1);
    for (int l = 0; l < L && !tg_tape_error(t); l++) {
        tg_tensor *outs[2] = {NULL, NULL};
        for (int d = 0; d < D; d++) {
            int k = l * D + d;
            char name[32];
            snprintf(name, sizeof name, "l%d%s", l, d ? "_reverse" : "");
            tg_scope_push(t, name);
            tg_tensor *state[TG_CELL_MAX_STATES];
            for (int j = 0; j < S; j++) {
                state[j] = initial_state(t, init[j], k, B, j ? H : tg_rnn_h_size(m));
                if (!init[j] && state[j]) /* the zeros, in pictures of the tape */
                    state[j]->name = m->cell->state[j].initial;
            }
            outs[d] = run_direction(t, m, k, d == 1, &in, masks, state, steps);
            for (int j = 0; j < S; j++) fin[j * L * D + k] = state[j];
            tg_scope_pop(t);
        }
        in = (layer_input){.x = D == 2 ? tg_concat(t, 2, outs, 2) : outs[0], .T = T, .B = B};
        if (l < L - 1 && m->opt.dropout > 0)
            in.x = tg_dropout(t, in.x, m->opt.dropout, m->base.training, &m->rng);
    }
    if (!tg_tape_error(t)) {
        res->output = m->opt.batch_first ? tg_transpose(t, in.x, 0, 1) : in.x;
        res->h_n = tg_stack(t, L * D, fin, 0);
        res->c_n = S > 1 ? tg_stack(t, L * D, fin + L * D, 0) : NULL;
    }
    tg_scope_pop(t);
done:
    free(masks);
    free(steps);
    free(fin);
    if (tg_tape_error(t)) {
        *res = (tg_rnn_result){0};
        return -1;
    }
    return 0;
}

int tg_rnn_forward(tg_tape *t, tg_rnn *m, tg_tensor *x, tg_tensor *h0, tg_tensor *c0,
                   const int64_t *lengths, tg_rnn_result *res) {
    *res = (tg_rnn_result){0};
    if (tg_tape_error(t)) return -1;
    if (!m || !x) {
        tg_tape_fail(t, "tg_rnn_forward: %s is NULL", m ? "input" : "module");
        return -1;
    }
    layer_input in = {.x = x};
    if (!check_inputs(t, m, tg_tensor_shape(x), h0, c0, lengths, &in.T, &in.B)) return -1;
    tg_tensor *init[TG_CELL_MAX_STATES] = {h0, c0};
    return forward(t, m, in, init, lengths, res);
}

int tg_rnn_forward_tokens(tg_tape *t, tg_rnn *m, tg_embedding *emb, const int64_t *ids,
                          tg_shape shape, tg_tensor *h0, tg_tensor *c0, const int64_t *lengths,
                          tg_rnn_result *res) {
    *res = (tg_rnn_result){0};
    if (tg_tape_error(t)) return -1;
    if (!m || !emb || !ids) {
        tg_tape_fail(t, "tg_rnn_forward_tokens: %s is NULL",
                     !m     ? "module"
                     : !emb ? "embedding"
                            : "ids");
        return -1;
    }
    if (emb->padding_idx >= 0 || shape.ndim != 2) /* the general path says what is wrong */
        return tg_rnn_forward(t, m, tg_embedding_forward(t, emb, ids, shape), h0, c0, lengths, res);
    int64_t V = emb->weight->shape[0];
    for (int64_t i = 0; i < tg_shape_numel(shape); i++)
        if (ids[i] < 0 || ids[i] >= V) {
            tg_tape_fail(t, "tg_rnn_forward_tokens: ids[%lld] = %lld is outside [0, %lld)",
                         (long long)i, (long long)ids[i], (long long)V);
            return -1;
        }
    layer_input in = {.table = emb->weight};
    tg_shape xs = TG_SHAPE(shape.dim[0], shape.dim[1], emb->weight->shape[1]);
    if (!check_inputs(t, m, xs, h0, c0, lengths, &in.T, &in.B)) return -1;
    int64_t *time_major = NULL;
    in.ids = ids;
    if (m->opt.batch_first) { /* ids [B, T] -> [T, B] */
        time_major = tg__time_major_ids(t, "tg_rnn_forward_tokens", ids, in.B, in.T);
        if (!time_major) return -1;
        in.ids = time_major;
    }
    tg_tensor *init[TG_CELL_MAX_STATES] = {h0, c0};
    int status = forward(t, m, in, init, lengths, res);
    free(time_major);
    return status;
}
