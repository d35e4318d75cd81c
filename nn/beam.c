/* Beam search for the encoder-decoder, batched: B sources times K beams are
 * decoded as one batch of B*K rows; row b*K + k is beam k of source b. The
 * encoder runs once per source, and since a beam's parent is always a beam of
 * the same source, the attention memory is repeated once and never
 * reordered; only the decoder states follow their parents. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seq2seq.h"
#include "seq2seq_impl.h"

typedef struct cand {
    double score;
    int64_t k, v; /* parent beam, token */
} cand;

/* a ranks before b: higher score, then lower (k, v), so width 1 picks the
 * same token greedy decoding's first-maximum argmax does */
static bool before(const cand *a, const cand *b) {
    if (a->score != b->score) return a->score > b->score;
    return a->k != b->k ? a->k < b->k : a->v < b->v;
}

/* Keeps the n best of the candidates offered so far in top[0..n), sorted. */
static void offer(cand *top, int *n, int cap, cand c) {
    if (*n == cap && !before(&c, &top[cap - 1])) return;
    int i = *n < cap ? (*n)++ : cap - 1;
    while (i > 0 && before(&c, &top[i - 1])) top[i] = top[i - 1], i--;
    top[i] = c;
}

/* A finished hypothesis. */
typedef struct hyp {
    int64_t len;
    double raw, norm;
    int64_t *tokens; /* max_len */
    tg_real *attn;   /* (max_len + 1) * S, or NULL */
} hyp;

typedef struct search {
    int64_t B, K, S, V, max_len, R;
    double alpha;
    bool attn;
    double *score;             /* [R] live scores, -inf for an empty slot */
    int64_t *tokens, *tokens2; /* [R, max_len] histories (and the next ones) */
    tg_real *att, *att2;       /* [R, max_len + 1, S] */
    int64_t *parent, *next;    /* [R] */
    double *next_score;        /* [R] */
    hyp *fin;                  /* [B, 2K]: finished, per source */
    int *n_fin;                /* [B] */
    bool *done;                /* [B] */
    cand *top;                 /* [2K] */
} search;

static void search_free(search *s) {
    free(s->score), free(s->tokens), free(s->tokens2), free(s->att), free(s->att2);
    free(s->parent), free(s->next), free(s->next_score), free(s->n_fin), free(s->done);
    free(s->top);
    if (s->fin)
        for (int64_t i = 0; i < s->B * 2 * s->K; i++) free(s->fin[i].tokens), free(s->fin[i].attn);
    free(s->fin);
}

static bool search_alloc(search *s) {
    int64_t R = s->R, L = s->max_len, A = (L + 1) * s->S;
    s->score = malloc((size_t)R * sizeof *s->score);
    s->next_score = malloc((size_t)R * sizeof *s->next_score);
    s->tokens = malloc((size_t)(R * (L ? L : 1)) * sizeof *s->tokens);
    s->tokens2 = malloc((size_t)(R * (L ? L : 1)) * sizeof *s->tokens2);
    s->parent = malloc((size_t)R * sizeof *s->parent);
    s->next = malloc((size_t)R * sizeof *s->next);
    s->fin = calloc((size_t)(s->B * 2 * s->K), sizeof *s->fin);
    s->n_fin = calloc((size_t)s->B, sizeof *s->n_fin);
    s->done = calloc((size_t)s->B, sizeof *s->done);
    s->top = malloc((size_t)(2 * s->K) * sizeof *s->top);
    if (s->attn) {
        s->att = calloc((size_t)(R * A), sizeof *s->att);
        s->att2 = calloc((size_t)(R * A), sizeof *s->att2);
    }
    if (!s->score || !s->next_score || !s->tokens || !s->tokens2 || !s->parent || !s->next ||
        !s->fin || !s->n_fin || !s->done || !s->top || (s->attn && (!s->att || !s->att2)))
        return false;
    for (int64_t i = 0; i < s->B * 2 * s->K; i++) {
        s->fin[i].tokens = malloc((size_t)(L ? L : 1) * sizeof *s->fin[i].tokens);
        if (s->attn) s->fin[i].attn = calloc((size_t)A, sizeof *s->fin[i].attn);
        if (!s->fin[i].tokens || (s->attn && !s->fin[i].attn)) return false;
    }
    return true;
}

/* Records row r's hypothesis (len tokens, then the end marker if ended, made
 * with attention w_row) as finished for source b. */
static void finish(search *s, int64_t b, int64_t r, int64_t len, double raw, bool ended,
                   const tg_real *w_row) {
    if (s->n_fin[b] >= 2 * s->K) return;
    hyp *h = &s->fin[b * 2 * s->K + s->n_fin[b]++];
    int64_t A = (s->max_len + 1) * s->S;
    h->len = len, h->raw = raw;
    /* the end marker counts in the length when there is one */
    h->norm = raw / pow((double)(ended ? len + 1 : (len ? len : 1)), s->alpha);
    memcpy(h->tokens, s->tokens + r * s->max_len, (size_t)len * sizeof *h->tokens);
    if (s->attn) {
        memcpy(h->attn, s->att + r * A, (size_t)A * sizeof *h->attn);
        if (ended && w_row) memcpy(h->attn + len * s->S, w_row, (size_t)s->S * sizeof *h->attn);
    }
}

/* The decoder states of st reordered by parent (the memory stays). */
static int follow(tg_tape *t, const tg_seq2seq *m, tg_s2s_state *st, const int64_t *parent) {
    for (int l = 0; l < m->opt.decoder_layers; l++) {
        st->h[l] = tg_index_select(t, st->h[l], 0, parent, st->B);
        if (st->c[l]) st->c[l] = tg_index_select(t, st->c[l], 0, parent, st->B);
    }
    return tg_tape_error(t) ? -1 : 0;
}

/* Slots from..K-1 of source b hold no live beam: they follow beam 0
 * harmlessly, with the end marker and no score. */
static void clear_slots(search *s, int64_t b, int64_t from, int64_t eos) {
    for (int64_t j = from; j < s->K; j++) {
        s->parent[b * s->K + j] = b * s->K;
        s->next[b * s->K + j] = eos;
        s->next_score[b * s->K + j] = -INFINITY;
    }
}

/* One step of source b: picks the next live beams from the 2K best
 * extensions, finishing those that end. */
static void advance(search *s, int64_t b, int64_t step, const tg_real *logp, const tg_real *w,
                    int64_t eos) {
    int64_t K = s->K, V = s->V;
    int n = 0;
    for (int64_t k = 0; k < K; k++) {
        double base = s->score[b * K + k];
        if (base == -INFINITY) continue;
        const tg_real *p = logp + (b * K + k) * V;
        for (int64_t v = 0; v < V; v++)
            offer(s->top, &n, (int)(2 * K), (cand){base + (double)p[v], k, v});
    }
    int64_t live = 0;
    for (int i = 0; i < n && live < K; i++) {
        cand c = s->top[i];
        int64_t r = b * K + c.k;
        if (c.v == eos) {
            if (s->n_fin[b] < K) finish(s, b, r, step, c.score, true, w ? w + r * s->S : NULL);
            continue;
        }
        s->parent[b * K + live] = r;
        s->next[b * K + live] = c.v;
        s->next_score[b * K + live] = c.score;
        live++;
    }
    if (s->n_fin[b] >= K) s->done[b] = true, live = 0;
    clear_slots(s, b, live, eos);
}

/* Histories of the new live beams: the parent's, plus this step. */
static void extend(search *s, int64_t step, const tg_real *w) {
    int64_t L = s->max_len, A = (L + 1) * s->S;
    for (int64_t r = 0; r < s->R; r++) {
        int64_t p = s->parent[r];
        memcpy(s->tokens2 + r * L, s->tokens + p * L, (size_t)L * sizeof *s->tokens);
        s->tokens2[r * L + step] = s->next[r];
        if (s->attn) {
            memcpy(s->att2 + r * A, s->att + p * A, (size_t)A * sizeof *s->att);
            memcpy(s->att2 + r * A + step * s->S, w + p * s->S, (size_t)s->S * sizeof *w);
        }
    }
    int64_t *tk = s->tokens;
    s->tokens = s->tokens2, s->tokens2 = tk;
    tg_real *at = s->att;
    s->att = s->att2, s->att2 = at;
    double *sc = s->score;
    s->score = s->next_score, s->next_score = sc;
}

/* The options the beam adds to the shared checks. Returns 0, or -1 with
 * the tape's error set. */
static int check_options(tg_tape *t, const char *fn, const tg_seq2seq *m, tg_beam_options o) {
    if (tg__s2s_check_decode(t, fn, m, o.max_len) != 0) return -1;
    if (o.width < 1) {
        tg_tape_fail(t, "%s: width must be >= 1, got %d", fn, o.width);
        return -1;
    }
    if (!isfinite(o.length_penalty)) {
        tg_tape_fail(t, "%s: length_penalty must be finite, got %g", fn, o.length_penalty);
        return -1;
    }
    return 0;
}

/* Steps until every source is done or max_len: each extends the live beams
 * of every source by one token. Returns 0, or -1 with the tape's error set. */
static int run_steps(tg_tape *t, tg_seq2seq *m, search *s, tg_s2s_state *st, int64_t *prev) {
    for (int64_t step = 0; step < s->max_len; step++) {
        tg_tensor *w = NULL;
        tg_tensor *logp = tg_log_softmax(t, tg_seq2seq_step(t, m, st, prev, &w), 1);
        if (!logp) return -1;
        const tg_real *wd = s->attn ? w->data : NULL;
        bool all_done = true;
        for (int64_t b = 0; b < s->B; b++) {
            if (!s->done[b]) advance(s, b, step, logp->data, wd, m->opt.eos);
            if (s->done[b]) clear_slots(s, b, 0, m->opt.eos);
            all_done &= s->done[b];
        }
        if (all_done) break;
        extend(s, step, wd);
        if (follow(t, m, st, s->parent) != 0) return -1;
        memcpy(prev, s->next, (size_t)s->R * sizeof *prev);
    }
    /* at max_len the live hypotheses end as they are */
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t k = 0; k < s->K && !s->done[b]; k++)
            if (s->score[b * s->K + k] != -INFINITY)
                finish(s, b, b * s->K + k, s->max_len, s->score[b * s->K + k], false, NULL);
    return 0;
}

/* Each source's finished hypothesis with the best normalised score into
 * out (allocated by the caller). */
static void write_best(const search *s, tg_s2s_output *out) {
    for (int64_t b = 0; b < s->B; b++) {
        const hyp *best = NULL;
        for (int i = 0; i < s->n_fin[b]; i++) {
            const hyp *h = &s->fin[b * 2 * s->K + i];
            if (!best || h->norm > best->norm) best = h;
        }
        if (!best) continue; /* max_len 0 */
        out->lengths[b] = best->len;
        out->scores[b] = best->raw;
        memcpy(out->tokens + b * s->max_len, best->tokens,
               (size_t)best->len * sizeof *best->tokens);
        if (s->attn)
            memcpy(out->attention + b * (s->max_len + 1) * s->S, best->attn,
                   (size_t)((s->max_len + 1) * s->S) * sizeof *best->attn);
    }
}

int tg_seq2seq_beam(tg_tape *t, tg_seq2seq *m, const int64_t *src, const int64_t *src_len,
                    int64_t B, int64_t S, tg_beam_options o, tg_s2s_output *out) {
    const char *fn = "tg_seq2seq_beam";
    *out = (tg_s2s_output){0};
    if (check_options(t, fn, m, o) != 0) return -1;
    bool was = tg_set_grad_enabled(t, false);
    search s = {.B = B,
                .K = o.width,
                .S = S,
                .V = m->opt.tgt_vocab,
                .max_len = o.max_len,
                .R = B * o.width,
                .alpha = o.length_penalty,
                .attn = o.want_attention && m->attention};
    int64_t *prev = NULL;
    tg_s2s_state st0, st;
    if (tg_seq2seq_encode(t, m, src, src_len, B, S, &st0) != 0) goto finish_up;
    if (!search_alloc(&s) || !(prev = malloc((size_t)s.R * sizeof *prev))) {
        tg_tape_fail(t, "%s: out of memory", fn);
        goto finish_up;
    }
    for (int64_t r = 0; r < s.R; r++) {
        s.parent[r] = r / s.K; /* every beam starts from its source */
        s.score[r] = r % s.K == 0 ? 0 : -INFINITY;
        prev[r] = m->opt.bos;
    }
    if (tg_seq2seq_select(t, &st0, s.parent, s.R, &st) == 0 &&
        run_steps(t, m, &s, &st, prev) == 0 &&
        tg__s2s_output_alloc(t, fn, out, B, S, s.max_len, s.attn) == 0)
        write_best(&s, out);
finish_up:
    search_free(&s);
    free(prev);
    tg_set_grad_enabled(t, was);
    if (tg_tape_error(t)) {
        tg_s2s_output_free(out);
        return -1;
    }
    return 0;
}
