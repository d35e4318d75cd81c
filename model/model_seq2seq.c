/* A seq2seq model (task seq2seq): the encoder-decoder of nn/seq2seq.h as
 * the model's only child, and its forward pass over a batch of source and
 * target sequences. Its spec sections are read by spec_seq2seq.c. */
#include <stdio.h>
#include <stdlib.h>

#include "model_impl.h"

int tg_model_seq2seq_build(tg_model *m, const tg_spec *s, tg_rng *init, char *err, size_t errlen) {
    tg_seq2seq_options o = s->seq2seq.model;
    if (!o.tgt_vocab) {
        snprintf(err, errlen,
                 "the target vocabulary is not known yet; take it from the data with "
                 "tg_spec_set_target_vocab");
        return -1;
    }
    o.src_vocab = s->vocab;
    o.seed = tg_rng_u64(init);
    m->s2s = tg_seq2seq_new(o, init, err, errlen);
    if (!m->s2s) return -1;
    if (tg_module_add_child(&m->base, "", &m->s2s->base) != 0) {
        m->s2s = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int tg_model_seq2seq_forward(tg_tape *t, tg_model *m, const tg_model_batch *b,
                             tg_model_output *out) {
    const char *fn = "tg_model_forward";
    int64_t B = b->B, S = b->T, T = b->target_T ? b->target_T : b->T;
    if (!b->ids || !b->target_ids || B < 1 || S < 1 || T < 1) {
        tg_tape_fail(t,
                     "%s: task seq2seq needs batch ids [B, T] and target_ids [B, target_T] "
                     "(got B = %lld, T = %lld, target_T = %lld%s)",
                     fn, (long long)B, (long long)S, (long long)T,
                     !b->ids          ? ", no ids"
                     : !b->target_ids ? ", no target_ids"
                                      : "");
        return -1;
    }
    int64_t *full = NULL;
    if (!b->lengths || !b->target_lengths) { /* every row as long as the batch */
        if (!(full = malloc((size_t)(2 * B) * sizeof *full))) {
            tg_tape_fail(t, "%s: out of memory", fn);
            return -1;
        }
        for (int64_t i = 0; i < B; i++) full[i] = S, full[B + i] = T;
    }
    tg_s2s_batch sb = {B,
                       S,
                       T,
                       b->ids,
                       b->lengths ? b->lengths : full,
                       b->target_ids,
                       b->target_lengths ? b->target_lengths : full + B};
    double p = m->base.training ? m->sample_prob : 0;
    tg_tensor *y = tg_seq2seq_forward(t, m->s2s, &sb, p); /* [T, B, V] */
    free(full);
    out->output = y ? tg_transpose(t, y, 0, 1) : NULL;
    return out->output ? 0 : -1;
}
