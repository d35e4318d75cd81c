/* One-to-many: from a vector (a language, one-hot) to a sequence (a word).
 * A character LSTM spells a word letter by letter until it writes the end
 * marker; the language conditions it in one of two ways, the two the
 * lectures name:
 *
 *   GW_INIT   as the initial state: h0 = tanh(W_h onehot + b_h),
 *             c0 = W_c onehot + b_c (one learned state per language);
 *   GW_INPUT  as an input at every step: x_t = [embed(c_{t-1}); onehot];
 *   GW_NONE   not at all (the baseline: one model of all languages' words).
 *
 * Training is teacher forcing: the input is the boundary symbol (id 0) then
 * the word's letters, the target the letters then the boundary (the end
 * marker). Header-only (static inline), shared by genword.c and
 * tests/examples/test_genword.c. */
#ifndef GENWORD_H
#define GENWORD_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

#define GW_MAX_SYMS 256
#define GW_MAX_LEN 32 /* letters per word, and the sampling limit */

typedef enum gw_mode { GW_NONE, GW_INIT, GW_INPUT } gw_mode;
static const char *const gw_mode_names[] = {"none", "init", "input"};

/* Symbols: id 0 is the word boundary, the others UTF-8 characters. */
typedef struct gw_vocab {
    int n;
    char sym[GW_MAX_SYMS][5];
} gw_vocab;

static inline int gw_char_len(unsigned char c) {
    return c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 1;
}

static inline int gw_sym_find(const gw_vocab *v, const char *s, int len) {
    for (int i = 1; i < v->n; i++)
        if ((int)strlen(v->sym[i]) == len && memcmp(v->sym[i], s, (size_t)len) == 0) return i;
    return -1;
}

/* The word as ids (add: new characters join the vocabulary). Returns the
 * number of letters, or -1 (unknown character, too long, vocabulary full). */
static inline int gw_encode(gw_vocab *v, const char *w, int64_t *ids, bool add) {
    int n = 0;
    for (int i = 0; w[i];) {
        int k = gw_char_len((unsigned char)w[i]);
        if ((int)strnlen(w + i, (size_t)k) < k || n == GW_MAX_LEN) return -1;
        int id = gw_sym_find(v, w + i, k);
        if (id < 0) {
            if (!add || v->n == GW_MAX_SYMS) return -1;
            id = v->n++;
            memcpy(v->sym[id], w + i, (size_t)k);
            v->sym[id][k] = '\0';
        }
        ids[n++] = id;
        i += k;
    }
    return n;
}

static inline void gw_vocab_init(gw_vocab *v) {
    memset(v, 0, sizeof *v);
    v->n = 1;
    snprintf(v->sym[0], sizeof v->sym[0], "$");
}

/* ---- the model --------------------------------------------------------------- */

typedef struct gw_model {
    gw_mode mode;
    int64_t V, E, H, L; /* symbols, embedding, hidden, languages */
    tg_embedding *emb;
    tg_rnn *lstm;
    tg_linear_layer *init_h, *init_c; /* GW_INIT */
    tg_linear_layer *head;
    tg_params params; /* every parameter, for the optimizer and checkpoints */
} gw_model;

static inline void gw_model_free(gw_model *m) {
    if (!m) return;
    tg_module_free(&m->emb->base);
    tg_module_free(&m->lstm->base);
    if (m->init_h) tg_module_free(&m->init_h->base);
    if (m->init_c) tg_module_free(&m->init_c->base);
    tg_module_free(&m->head->base);
    tg_params_free(&m->params);
    free(m);
}

static inline gw_model *gw_model_new(gw_mode mode, int64_t V, int64_t E, int64_t H, int64_t L,
                                     tg_rng *r, char *err, size_t errlen) {
    gw_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->mode = mode, m->V = V, m->E = E, m->H = H, m->L = L;
    m->emb = tg_embedding_new(V, E, -1, r);
    tg_rnn_options o = {
        .mode = TG_LSTM, .input_size = E + (mode == GW_INPUT ? L : 0), .hidden_size = H};
    m->lstm = tg_rnn_new(o, r, err, errlen);
    if (mode == GW_INIT) {
        m->init_h = tg_linear_layer_new(L, H, true, r);
        m->init_c = tg_linear_layer_new(L, H, true, r);
    }
    m->head = tg_linear_layer_new(H, V, true, r);
    tg_params_init(&m->params);
    if (!m->emb || !m->lstm || !m->head || (mode == GW_INIT && (!m->init_h || !m->init_c)) ||
        tg_params_extend(&m->params, "embed", tg_module_params(&m->emb->base)) ||
        tg_params_extend(&m->params, "lstm", tg_module_params(&m->lstm->base)) ||
        (mode == GW_INIT &&
         (tg_params_extend(&m->params, "init_h", tg_module_params(&m->init_h->base)) ||
          tg_params_extend(&m->params, "init_c", tg_module_params(&m->init_c->base)))) ||
        tg_params_extend(&m->params, "head", tg_module_params(&m->head->base))) {
        if (err && !err[0]) snprintf(err, errlen, "genword: cannot build the model");
        free(m); /* a partial model: leaks only on a fatal start-up error */
        return NULL;
    }
    return m;
}

/* One-hot rows for B languages, repeated T times: [T, B, L] (T = 0: [B, L]). */
static inline tg_tensor *gw_onehot(tg_tape *t, const int *lang, int64_t T, int64_t B, int64_t L) {
    int64_t reps = T ? T : 1;
    tg_real *buf = calloc((size_t)(reps * B * L), sizeof *buf);
    if (!buf) return NULL;
    for (int64_t s = 0; s < reps; s++)
        for (int64_t b = 0; b < B; b++) buf[(s * B + b) * L + lang[b]] = 1;
    tg_tensor *x = tg_from_array(t, T ? TG_SHAPE(T, B, L) : TG_SHAPE(B, L), buf);
    free(buf);
    return x;
}

/* The logits [T, B, V] for input ids [T, B] of B words in languages lang;
 * h, c: the state to start from ([1, B, H], NULL: the start of a word);
 * the final state goes to *h_n, *c_n when they are not NULL. */
static inline tg_tensor *gw_forward(tg_tape *t, gw_model *m, const int64_t *ids, int64_t T,
                                    int64_t B, const int *lang, const int64_t *lengths,
                                    tg_tensor *h, tg_tensor *c, tg_tensor **h_n, tg_tensor **c_n) {
    tg_tensor *x = tg_embedding_forward(t, m->emb, ids, TG_SHAPE(T, B));
    if (m->mode == GW_INPUT) {
        tg_tensor *parts[2] = {x, gw_onehot(t, lang, T, B, m->L)};
        x = tg_concat(t, 2, parts, 2);
    }
    if (m->mode == GW_INIT && !h) {
        tg_tensor *oh = gw_onehot(t, lang, 0, B, m->L);
        h = tg_reshape(t, tg_tanh(t, tg_linear_layer_forward(t, m->init_h, oh)),
                       TG_SHAPE(1, B, m->H));
        c = tg_reshape(t, tg_linear_layer_forward(t, m->init_c, oh), TG_SHAPE(1, B, m->H));
    }
    tg_rnn_result res;
    if (!x || tg_rnn_forward(t, m->lstm, x, h, c, lengths, &res) != 0) return NULL;
    if (h_n) *h_n = res.h_n;
    if (c_n) *c_n = res.c_n;
    return tg_linear_layer_forward(t, m->head, res.output);
}

/* A batch of words for teacher forcing. */
typedef struct gw_batch {
    int64_t T, B;
    int64_t *in, *target, *lengths; /* [T, B], [T, B], [B] */
    int *lang;                      /* [B] */
} gw_batch;

static inline void gw_batch_free(gw_batch *b) {
    free(b->in);
    free(b->target);
    free(b->lengths);
    free(b->lang);
    memset(b, 0, sizeof *b);
}

/* words[i] holds len[i] ids. Returns 0 or -1 (memory). */
static inline int gw_batch_make(gw_batch *b, int64_t B, int64_t *const *words, const int *len,
                                const int *lang) {
    int64_t T = 1;
    for (int64_t i = 0; i < B; i++)
        if (len[i] + 1 > T) T = len[i] + 1;
    b->T = T, b->B = B;
    b->in = calloc((size_t)(T * B), sizeof *b->in);
    b->target = calloc((size_t)(T * B), sizeof *b->target);
    b->lengths = malloc((size_t)B * sizeof *b->lengths);
    b->lang = malloc((size_t)B * sizeof *b->lang);
    if (!b->in || !b->target || !b->lengths || !b->lang) return -1;
    for (int64_t i = 0; i < B; i++) {
        for (int t = 0; t < len[i]; t++) {
            b->in[(t + 1) * B + i] = words[i][t];
            b->target[t * B + i] = words[i][t];
        }
        b->target[len[i] * B + i] = 0; /* the end marker */
        b->lengths[i] = len[i] + 1;
        b->lang[i] = lang[i];
    }
    return 0;
}

/* The summed cross-entropy of the batch (nats), a 0-d tensor. */
static inline tg_tensor *gw_loss(tg_tape *t, gw_model *m, const gw_batch *b, tg_reduction red) {
    tg_tensor *logits =
        gw_forward(t, m, b->in, b->T, b->B, b->lang, b->lengths, NULL, NULL, NULL, NULL);
    return logits ? tg_seq_cross_entropy(t, logits, b->target, b->lengths, red) : NULL;
}

/* Per-word negative log-likelihood (nats, end marker included) into nll[B]. */
static inline int gw_word_nll(tg_tape *t, gw_model *m, const gw_batch *b, double *nll) {
    bool was = tg_set_grad_enabled(t, false);
    tg_tensor *per = gw_loss(t, m, b, TG_NONE); /* [T, B] */
    tg_set_grad_enabled(t, was);
    if (!per) return -1;
    for (int64_t i = 0; i < b->B; i++) {
        nll[i] = 0;
        for (int64_t s = 0; s < b->lengths[i]; s++) nll[i] += tg_at(per, s * b->B + i);
    }
    return 0;
}

/* Draws from softmax(logits / temperature). */
static inline int gw_draw(const tg_tensor *logits, int64_t row, int64_t V, double temp, tg_rng *r) {
    double mx = -INFINITY, p[GW_MAX_SYMS], z = 0;
    for (int64_t v = 0; v < V; v++) mx = fmax(mx, tg_at(logits, row * V + v) / temp);
    for (int64_t v = 0; v < V; v++) z += p[v] = exp(tg_at(logits, row * V + v) / temp - mx);
    double u = tg_rng_uniform(r) * z;
    for (int64_t v = 0; v < V; v++)
        if ((u -= p[v]) < 0) return (int)v;
    return (int)V - 1;
}

/* Spells one word of language lang into out (UTF-8, at most GW_MAX_LEN
 * letters: a word that has not ended by then is cut there). Returns its
 * length in letters, or -1 on a tape error. */
static inline int gw_sample(tg_tape *t, gw_model *m, const gw_vocab *v, int lang, double temp,
                            tg_rng *r, char *out, size_t cap) {
    bool was = tg_set_grad_enabled(t, false);
    tg_tensor *h = NULL, *c = NULL;
    int64_t prev = 0;
    int n = 0;
    size_t o = 0;
    out[0] = '\0';
    for (; n < GW_MAX_LEN; n++) {
        tg_tensor *logits = gw_forward(t, m, &prev, 1, 1, &lang, NULL, h, c, &h, &c);
        if (!logits) {
            tg_set_grad_enabled(t, was);
            return -1;
        }
        int id = gw_draw(logits, 0, m->V, temp, r);
        if (id == 0) break;
        size_t k = strlen(v->sym[id]);
        if (o + k + 1 > cap) break;
        memcpy(out + o, v->sym[id], k + 1);
        o += k;
        prev = id;
    }
    tg_set_grad_enabled(t, was);
    return n;
}

#endif
