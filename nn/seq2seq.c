/* The encoder-decoder: construction, encoding, one decoder step. The
 * training loss is in seq2seq_train.c, the searches in decode.c and
 * beam.c. */
#include "seq2seq.h"
#include "seq2seq_impl.h"

#include <stdio.h>
#include <stdlib.h>

#include "seq_loss.h"

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)
#define BAD(...) (tg_error_set(err, errlen, __VA_ARGS__), false)

static bool context_init(const tg_seq2seq_options *o) {
    return o->context != TG_CONTEXT_INPUT;
}
static bool context_input(const tg_seq2seq_options *o) {
    return o->context != TG_CONTEXT_INIT;
}
/* Whether f(t) carries the step's context next to the decoder state. */
static bool context_out(const tg_seq2seq_options *o) {
    return o->attention != TG_ATTN_NONE || context_input(o);
}

/* Registers child under name (-1 for a child that could not be made). */
static int adopt(tg_seq2seq *m, const char *name, tg_module *child) {
    return child ? tg_module_add_child(&m->base, name, child) : -1;
}

/* The defaults of zero fields. */
static tg_seq2seq_options with_defaults(tg_seq2seq_options o) {
    if (o.tgt_embed_size == 0) o.tgt_embed_size = o.embed_size;
    if (o.decoder_hidden == 0) o.decoder_hidden = o.encoder_hidden;
    if (o.encoder_layers == 0) o.encoder_layers = 1;
    if (o.decoder_layers == 0) o.decoder_layers = 1;
    return o;
}

/* false with a message in err for options that make no model (after
 * with_defaults). */
static bool check_options(const tg_seq2seq_options *op, const tg_rng *init, char *err,
                          size_t errlen) {
    tg_seq2seq_options o = *op;
    if (o.src_vocab <= 0 || o.tgt_vocab <= 0)
        return BAD("seq2seq: src_vocab and tgt_vocab must be positive, got %lld and %lld",
                   (long long)o.src_vocab, (long long)o.tgt_vocab);
    if (o.embed_size <= 0 || o.tgt_embed_size < 0)
        return BAD("seq2seq: embed_size must be positive, got %lld", (long long)o.embed_size);
    if (o.encoder_hidden <= 0 || o.decoder_hidden < 0)
        return BAD("seq2seq: encoder_hidden must be positive, got %lld",
                   (long long)o.encoder_hidden);
    if (o.decoder_layers < 1 || o.decoder_layers > TG_S2S_MAX_LAYERS)
        return BAD("seq2seq: decoder_layers must be in 1..%d, got %d", TG_S2S_MAX_LAYERS,
                   o.decoder_layers);
    if (!tg_cell_builtin(o.decoder_mode))
        return BAD("seq2seq: unknown decoder_mode %d", (int)o.decoder_mode);
    if (!tg_attention_kind_name(o.attention))
        return BAD("seq2seq: unknown attention kind %d", (int)o.attention);
    if (o.context < TG_CONTEXT_BOTH || o.context > TG_CONTEXT_INPUT)
        return BAD("seq2seq: unknown context mode %d", (int)o.context);
    if (o.output_hidden < 0)
        return BAD("seq2seq: output_hidden must be >= 0, got %lld", (long long)o.output_hidden);
    if (!(o.dropout >= 0 && o.dropout < 1))
        return BAD("seq2seq: dropout must be in [0, 1), got %g", o.dropout);
    if (o.bos < 0 || o.bos >= o.tgt_vocab || o.eos < 0 || o.eos >= o.tgt_vocab)
        return BAD("seq2seq: bos %lld and eos %lld must be target ids in [0, %lld)",
                   (long long)o.bos, (long long)o.eos, (long long)o.tgt_vocab);
    if (!init) return BAD("seq2seq: no random generator for the initial weights");
    int64_t C = (o.bidirectional ? 2 : 1) * o.encoder_hidden, H = o.decoder_hidden;
    if (o.attention == TG_ATTN_DOT && H != C)
        return BAD("seq2seq: dot attention needs decoder_hidden == encoder output size, got "
                   "%lld and %lld",
                   (long long)H, (long long)C);
    return true;
}

/* The two recurrent children: the encoder over source embeddings, the
 * decoder over target embeddings (and the context when it is an input).
 * -1 with a message in err. */
static int add_rnns(tg_seq2seq *m, tg_rng *init, char *err, size_t errlen) {
    const tg_seq2seq_options *o = &m->opt;
    char sub[256] = "";
    tg_rnn_options eo = {.mode = o->encoder_mode,
                         .input_size = o->embed_size,
                         .hidden_size = o->encoder_hidden,
                         .num_layers = o->encoder_layers,
                         .bidirectional = o->bidirectional,
                         .dropout = o->dropout,
                         .seed = o->seed + 1};
    if (!(m->encoder = tg_rnn_new(eo, init, sub, sizeof sub)))
        return FAIL("seq2seq: encoder: %s", sub), -1;
    if (adopt(m, "encoder", &m->encoder->base) != 0) return FAIL("seq2seq: out of memory"), -1;
    tg_rnn_options dopt = {.mode = o->decoder_mode,
                           .input_size =
                               o->tgt_embed_size + (context_input(o) ? m->context_size : 0),
                           .hidden_size = o->decoder_hidden,
                           .num_layers = o->decoder_layers};
    if (!(m->decoder = tg_rnn_new(dopt, init, sub, sizeof sub)))
        return FAIL("seq2seq: decoder: %s", sub), -1;
    if (adopt(m, "decoder", &m->decoder->base) != 0) return FAIL("seq2seq: out of memory"), -1;
    return 0;
}

/* Attention, the bridge and the output layers, each as the options ask.
 * -1 with a message in err. */
static int add_context_and_out(tg_seq2seq *m, tg_rng *init, char *err, size_t errlen) {
    const tg_seq2seq_options *o = &m->opt;
    int64_t C = m->context_size, H = o->decoder_hidden;
    if (o->attention != TG_ATTN_NONE) {
        char sub[256] = "";
        tg_attention_options ao = {o->attention, H, C, o->attention_size};
        if (!(m->attention = tg_attention_new(ao, init, sub, sizeof sub)))
            return FAIL("seq2seq: %s", sub), -1;
        if (adopt(m, "attention", &m->attention->base) != 0) goto oom;
    }
    if (context_init(o)) {
        m->bridge = tg_linear_layer_new(C, o->decoder_layers * H, true, init);
        if (adopt(m, "bridge", m->bridge ? &m->bridge->base : NULL) != 0) goto oom;
    }
    int64_t F = H + (context_out(o) ? C : 0);
    if (o->output_hidden > 0) {
        m->out_hidden = tg_linear_layer_new(F, o->output_hidden, true, init);
        if (adopt(m, "out_hidden", m->out_hidden ? &m->out_hidden->base : NULL) != 0) goto oom;
        F = o->output_hidden;
    }
    m->out = tg_linear_layer_new(F, o->tgt_vocab, true, init);
    if (adopt(m, "out", m->out ? &m->out->base : NULL) != 0) goto oom;
    return 0;
oom:
    return FAIL("seq2seq: out of memory"), -1;
}

tg_seq2seq *tg_seq2seq_new(tg_seq2seq_options o, tg_rng *init, char *err, size_t errlen) {
    o = with_defaults(o);
    if (!check_options(&o, init, err, errlen)) return NULL;
    tg_seq2seq *m = calloc(1, sizeof *m);
    if (!m) return FAIL("seq2seq: out of memory");
    m->base.kind = "seq2seq";
    m->base.training = true;
    m->opt = o;
    m->context_size = (o.bidirectional ? 2 : 1) * o.encoder_hidden;
    tg_rng_seed(&m->rng, o.seed);
    m->src_embed = tg_embedding_new(o.src_vocab, o.embed_size, -1, init);
    if (adopt(m, "src_embed", m->src_embed ? &m->src_embed->base : NULL) != 0) goto oom;
    m->tgt_embed = tg_embedding_new(o.tgt_vocab, o.tgt_embed_size, -1, init);
    if (adopt(m, "tgt_embed", m->tgt_embed ? &m->tgt_embed->base : NULL) != 0) goto oom;
    if (add_rnns(m, init, err, errlen) == 0 && add_context_and_out(m, init, err, errlen) == 0)
        return m;
    tg_module_free(&m->base);
    return NULL;
oom:
    tg_module_free(&m->base);
    return FAIL("seq2seq: out of memory");
}

/* ---- encoding ------------------------------------------------------------------ */

bool tg__s2s_check_ids(tg_tape *t, const char *fn, const char *what, const int64_t *ids,
                       int64_t rows, int64_t cols, int64_t vocab) {
    for (int64_t i = 0; i < rows * cols; i++)
        if (ids[i] < 0 || ids[i] >= vocab) {
            char at[64];
            if (rows == 1)
                snprintf(at, sizeof at, "[%lld]", (long long)i);
            else
                snprintf(at, sizeof at, "[%lld][%lld]", (long long)(i / cols),
                         (long long)(i % cols));
            tg_tape_fail(t, "%s: %s%s = %lld is outside [0, %lld)", fn, what, at, (long long)ids[i],
                         (long long)vocab);
            return false;
        }
    return true;
}

bool tg__s2s_check_lengths(tg_tape *t, const char *fn, const char *what, const int64_t *len,
                           int64_t B, int64_t max) {
    for (int64_t b = 0; b < B; b++)
        if (len[b] < 1 || len[b] > max) {
            tg_tape_fail(t, "%s: %s[%lld] = %lld is outside [1, %lld]", fn, what, (long long)b,
                         (long long)len[b], (long long)max);
            return false;
        }
    return true;
}

/* The fixed context: the top layer's final state(s), [B, C]. */
static tg_tensor *final_context(tg_tape *t, const tg_seq2seq *m, tg_tensor *h_n, int64_t B) {
    int D = m->encoder->dirs, L = m->encoder->opt.num_layers;
    tg_tensor *top = tg_narrow(t, h_n, 0, (int64_t)(L - 1) * D, D); /* [D, B, H] */
    if (D == 2) top = tg_transpose(t, top, 0, 1);                   /* [B, D, H] */
    return tg_reshape(t, top, TG_SHAPE(B, m->context_size));
}

int tg_seq2seq_encode(tg_tape *t, tg_seq2seq *m, const int64_t *src, const int64_t *src_len,
                      int64_t B, int64_t S, tg_s2s_state *st) {
    const char *fn = "tg_seq2seq_encode";
    *st = (tg_s2s_state){0};
    if (tg_tape_error(t)) return -1;
    if (!m || !src || !src_len) {
        tg_tape_fail(t, "%s: %s is NULL", fn, !m ? "module" : !src ? "src" : "src_len");
        return -1;
    }
    if (B < 1 || S < 1) {
        tg_tape_fail(t, "%s: batch [%lld, %lld]: expected B >= 1 and S >= 1", fn, (long long)B,
                     (long long)S);
        return -1;
    }
    if (!tg__s2s_check_lengths(t, fn, "src_len", src_len, B, S) ||
        !tg__s2s_check_ids(t, fn, "src", src, B, S, m->opt.src_vocab))
        return -1;
    int64_t *ids = tg__time_major_ids(t, fn, src, B, S); /* [S, B] */
    if (!ids) return -1;
    bool full = true;
    for (int64_t b = 0; b < B; b++) full &= src_len[b] == S;
    bool train = m->base.training;
    const int64_t *lengths = full ? NULL : src_len;
    tg_rnn_result r;
    int status;
    if (train && m->opt.dropout > 0) { /* dropout between: the embedding's rows are needed */
        tg_tensor *x = tg_embedding_forward(t, m->src_embed, ids, TG_SHAPE(S, B));
        x = tg_dropout(t, x, m->opt.dropout, train, &m->rng);
        status = tg_rnn_forward(t, m->encoder, x, NULL, NULL, lengths, &r);
    } else {
        status = tg_rnn_forward_tokens(t, m->encoder, m->src_embed, ids, TG_SHAPE(S, B), NULL, NULL,
                                       lengths, &r);
    }
    free(ids);
    if (status != 0) return -1;
    st->B = B;
    st->context = final_context(t, m, r.h_n, B);
    if (m->attention) {
        tg_tensor *values = tg_contiguous(t, tg_transpose(t, r.output, 0, 1)); /* [B, S, C] */
        if (!values ||
            tg_attention_prepare(t, m->attention, values, full ? NULL : src_len, &st->mem) != 0)
            return -1;
    }
    int L = m->opt.decoder_layers;
    int64_t H = m->opt.decoder_hidden;
    tg_tensor *init = m->bridge ? tg_tanh(t, tg_linear_layer_forward(t, m->bridge, st->context))
                                : NULL; /* [B, L*H] */
    for (int l = 0; l < L; l++) {
        st->h[l] =
            init ? (L == 1 ? init : tg_narrow(t, init, 1, l * H, H)) : tg_zeros(t, TG_SHAPE(B, H));
        if (m->decoder->cell->n_states > 1) st->c[l] = tg_zeros(t, TG_SHAPE(B, H));
    }
    if (tg_tape_error(t)) {
        *st = (tg_s2s_state){0};
        return -1;
    }
    return 0;
}

/* ---- one decoder step ---------------------------------------------------------- */

tg_tensor *tg_seq2seq_step(tg_tape *t, tg_seq2seq *m, tg_s2s_state *st, const int64_t *prev,
                           tg_tensor **attn) {
    const char *fn = "tg_seq2seq_step";
    if (attn) *attn = NULL;
    if (tg_tape_error(t)) return NULL;
    if (!m || !st || !prev || !st->h[0]) {
        tg_tape_fail(t, "%s: %s is NULL", fn, !m ? "module" : !st || !st->h[0] ? "state" : "prev");
        return NULL;
    }
    const tg_seq2seq_options *o = &m->opt;
    int64_t B = st->B;
    if (!tg__s2s_check_ids(t, fn, "prev", prev, 1, B, o->tgt_vocab)) return NULL;
    bool train = m->base.training;
    tg_tensor *x = tg_embedding_forward(t, m->tgt_embed, prev, TG_SHAPE(B));
    x = tg_dropout(t, x, o->dropout, train, &m->rng);
    int L = o->decoder_layers;
    tg_tensor *ctx = st->context, *w = NULL;
    if (m->attention && tg_attention_step(t, m->attention, &st->mem, st->h[L - 1], &ctx, &w) != 0)
        return NULL;
    if (context_input(o)) x = tg_concat(t, 2, (tg_tensor *[]){x, ctx}, 1);
    const tg_rnn *d = m->decoder;
    for (int l = 0; l < L && !tg_tape_error(t); l++) {
        tg_cell_io io = {.w_hh = d->w_hh[l], .b_hh = d->b_hh[l], .state = {st->h[l], st->c[l]}};
        tg__cell_forward(t, fn, d->cell, x, d->w_ih[l], d->b_ih[l], &io);
        st->h[l] = io.next[0];
        if (d->cell->n_states > 1) st->c[l] = io.next[1];
        x = st->h[l];
        if (l < L - 1) x = tg_dropout(t, x, o->dropout, train, &m->rng);
    }
    tg_tensor *f =
        context_out(o) ? tg_concat(t, 2, (tg_tensor *[]){st->h[L - 1], ctx}, 1) : st->h[L - 1];
    if (m->out_hidden) f = tg_tanh(t, tg_linear_layer_forward(t, m->out_hidden, f));
    f = tg_dropout(t, f, o->dropout, train, &m->rng);
    tg_tensor *logits = tg_linear_layer_forward(t, m->out, f);
    if (tg_tape_error(t)) return NULL;
    if (attn) *attn = w;
    return logits;
}

int tg_seq2seq_select(tg_tape *t, const tg_s2s_state *st, const int64_t *idx, int64_t n,
                      tg_s2s_state *out) {
    *out = (tg_s2s_state){0};
    if (tg_tape_error(t)) return -1;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= st->B) {
            tg_tape_fail(t, "tg_seq2seq_select: idx[%lld] = %lld is outside [0, %lld)",
                         (long long)i, (long long)idx[i], (long long)st->B);
            return -1;
        }
    tg_s2s_state s = {.B = n};
    if (st->mem.values && tg_attention_memory_select(t, &st->mem, idx, n, &s.mem) != 0) return -1;
    s.context = tg_index_select(t, st->context, 0, idx, n);
    for (int l = 0; l < TG_S2S_MAX_LAYERS && st->h[l]; l++) {
        s.h[l] = tg_index_select(t, st->h[l], 0, idx, n);
        if (st->c[l]) s.c[l] = tg_index_select(t, st->c[l], 0, idx, n);
    }
    if (tg_tape_error(t)) return -1;
    *out = s;
    return 0;
}

/* ---- shared by the searches and training ------------------------------------ */

int64_t tg__s2s_argmax_row(const tg_tensor *logits, int64_t b) {
    int64_t V = logits->shape[1], best = 0;
    const tg_real *p = logits->data + b * V;
    for (int64_t v = 1; v < V; v++)
        if (p[v] > p[best]) best = v;
    return best;
}
