/* Training an encoder-decoder: the logits and loss of a batch with teacher
 * forcing, free running or scheduled sampling, and scheduled sampling's
 * decay. */
#include "seq2seq.h"
#include "seq2seq_impl.h"

#include <math.h>
#include <stdlib.h>

#include "seq_loss.h"

/* The stacked logits of every target step; fn names the caller in messages. */
static tg_tensor *teacher(tg_tape *t, tg_seq2seq *m, const tg_s2s_batch *b, double sample_prob,
                          const char *fn) {
    if (tg_tape_error(t)) return NULL;
    if (!m || !b || !b->tgt || !b->tgt_len) {
        tg_tape_fail(t, "%s: %s is NULL", fn, !m ? "module" : !b ? "batch" : "target");
        return NULL;
    }
    if (!(sample_prob >= 0 && sample_prob <= 1)) {
        tg_tape_fail(t, "%s: sample_prob must be in [0, 1], got %g", fn, sample_prob);
        return NULL;
    }
    int64_t B = b->B, T = b->T;
    if (B < 1 || T < 1) {
        tg_tape_fail(t, "%s: batch size B = %lld, target length T = %lld: expected both >= 1", fn,
                     (long long)B, (long long)T);
        return NULL;
    }
    if (!tg__s2s_check_lengths(t, fn, "tgt_len", b->tgt_len, B, T) ||
        !tg__s2s_check_ids(t, fn, "tgt", b->tgt, B, T, m->opt.tgt_vocab))
        return NULL;
    tg_s2s_state st;
    if (tg_seq2seq_encode(t, m, b->src, b->src_len, B, b->S, &st) != 0) return NULL;
    int64_t *prev = malloc((size_t)B * sizeof *prev);
    tg_tensor **logits = calloc((size_t)T, sizeof *logits), *out = NULL;
    if (!prev || !logits) {
        tg_tape_fail(t, "%s: out of memory", fn);
        goto done;
    }
    for (int64_t i = 0; i < B; i++) prev[i] = m->opt.bos;
    for (int64_t s = 0; s < T; s++) {
        if (s > 0)
            for (int64_t i = 0; i < B; i++) {
                bool own =
                    sample_prob >= 1 || (sample_prob > 0 && tg_rng_uniform(&m->rng) < sample_prob);
                prev[i] = own ? tg__s2s_argmax_row(logits[s - 1], i) : b->tgt[i * T + s - 1];
            }
        if (!(logits[s] = tg_seq2seq_step(t, m, &st, prev, NULL))) goto done;
    }
    out = tg_stack(t, (int)T, logits, 0);
done:
    free(prev);
    free(logits);
    return tg_tape_error(t) ? NULL : out;
}

tg_tensor *tg_seq2seq_forward(tg_tape *t, tg_seq2seq *m, const tg_s2s_batch *b,
                              double sample_prob) {
    return teacher(t, m, b, sample_prob, "tg_seq2seq_forward");
}

tg_tensor *tg_seq2seq_loss(tg_tape *t, tg_seq2seq *m, const tg_s2s_batch *b, double sample_prob) {
    tg_tensor *logits = teacher(t, m, b, sample_prob, "tg_seq2seq_loss");
    if (!logits) return NULL;
    int64_t B = b->B, T = b->T;
    int64_t *tgt = tg__time_major_ids(t, "tg_seq2seq_loss", b->tgt, B, T); /* [T, B] */
    if (!tgt) return NULL;
    tg_tensor *loss = tg_seq_cross_entropy(t, logits, tgt, b->tgt_len, TG_MEAN);
    free(tgt);
    return loss;
}

double tg_sampling_prob(const tg_sampling_schedule *s, int64_t i) {
    double eps;
    switch (s->decay) {
    case TG_SAMPLING_LINEAR: eps = s->k - s->c * (double)i; break;
    case TG_SAMPLING_EXPONENTIAL: eps = pow(s->k, (double)i); break;
    case TG_SAMPLING_INVERSE_SIGMOID: eps = s->k / (s->k + exp((double)i / s->k)); break;
    default: eps = 1; break;
    }
    eps = fmax(eps, s->eps_min);
    return 1 - fmin(1, fmax(0, eps));
}
