/* Greedy decoding of an encoder-decoder, and the decoded output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seq2seq.h"
#include "seq2seq_impl.h"

void tg_s2s_output_free(tg_s2s_output *o) {
    if (!o) return;
    free(o->tokens);
    free(o->lengths);
    free(o->scores);
    free(o->attention);
    *o = (tg_s2s_output){0};
}

int tg__s2s_output_alloc(tg_tape *t, const char *fn, tg_s2s_output *o, int64_t B, int64_t S,
                         int64_t max_len, bool attention) {
    *o = (tg_s2s_output){.B = B, .S = S, .max_len = max_len};
    o->tokens = malloc((size_t)(B * (max_len > 0 ? max_len : 1)) * sizeof *o->tokens);
    o->lengths = calloc((size_t)B, sizeof *o->lengths);
    o->scores = calloc((size_t)B, sizeof *o->scores);
    if (attention) o->attention = calloc((size_t)(B * (max_len + 1) * S), sizeof *o->attention);
    if (!o->tokens || !o->lengths || !o->scores || (attention && !o->attention)) {
        tg_s2s_output_free(o);
        tg_tape_fail(t, "%s: out of memory", fn);
        return -1;
    }
    for (int64_t i = 0; i < B * max_len; i++) o->tokens[i] = -1;
    return 0;
}

int tg__s2s_check_decode(tg_tape *t, const char *fn, const tg_seq2seq *m, int64_t max_len) {
    if (tg_tape_error(t)) return -1;
    if (!m) {
        tg_tape_fail(t, "%s: module is NULL", fn);
        return -1;
    }
    if (max_len < 0) {
        tg_tape_fail(t, "%s: max_len must be >= 0, got %lld", fn, (long long)max_len);
        return -1;
    }
    return 0;
}

int tg_seq2seq_greedy(tg_tape *t, tg_seq2seq *m, const int64_t *src, const int64_t *src_len,
                      int64_t B, int64_t S, int64_t max_len, bool want_attention,
                      tg_s2s_output *out) {
    const char *fn = "tg_seq2seq_greedy";
    *out = (tg_s2s_output){0};
    if (tg__s2s_check_decode(t, fn, m, max_len) != 0) return -1;
    bool was = tg_set_grad_enabled(t, false);
    tg_s2s_state st;
    int64_t *prev = NULL;
    bool *done = NULL;
    if (tg_seq2seq_encode(t, m, src, src_len, B, S, &st) != 0 ||
        tg__s2s_output_alloc(t, fn, out, B, S, max_len, want_attention && m->attention) != 0)
        goto finish;
    prev = malloc((size_t)B * sizeof *prev);
    done = calloc((size_t)B, sizeof *done);
    if (!prev || !done) {
        tg_tape_fail(t, "%s: out of memory", fn);
        goto finish;
    }
    for (int64_t b = 0; b < B; b++) prev[b] = m->opt.bos;
    int64_t left = B, V = m->opt.tgt_vocab;
    for (int64_t s = 0; s < max_len && left > 0; s++) {
        tg_tensor *w = NULL;
        tg_tensor *logp = tg_log_softmax(t, tg_seq2seq_step(t, m, &st, prev, &w), 1);
        if (!logp) goto finish;
        for (int64_t b = 0; b < B; b++) {
            if (done[b]) continue;
            int64_t best = tg__s2s_argmax_row(logp, b);
            out->scores[b] += (double)logp->data[b * V + best];
            if (out->attention)
                memcpy(out->attention + (b * (max_len + 1) + s) * S, w->data + b * S,
                       (size_t)S * sizeof *w->data);
            if (best == m->opt.eos) {
                done[b] = true, left--;
            } else {
                out->tokens[b * max_len + s] = best;
                out->lengths[b]++;
                prev[b] = best;
            }
        }
    }
finish:
    free(prev);
    free(done);
    tg_set_grad_enabled(t, was);
    if (tg_tape_error(t)) {
        tg_s2s_output_free(out);
        return -1;
    }
    return 0;
}
