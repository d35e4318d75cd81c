/* seq2seq: decoding with the spec's settings, and scoring the decoded
 * held-out sources against their targets (what validation and eval report
 * next to the teacher-forced loss). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

enum { CHUNK = 128 }; /* sources decoded together */

int cli_s2s_decode(tg_tape *t, tg_model *m, const tg_spec *s, const int64_t *src,
                   const int64_t *len, int64_t B, int64_t S, bool want_attention,
                   tg_s2s_output *out, char *err, size_t errlen) {
    tg_beam_options o = s->seq2seq.decode;
    if (!o.max_len) o.max_len = 2 * S + 5;
    o.want_attention = want_attention;
    bool training = m->base.training;
    tg_module_train(&m->base, false);
    tg_tape_reset(t);
    int rc = o.width > 1
                 ? tg_seq2seq_beam(t, m->s2s, src, len, B, S, o, out)
                 : tg_seq2seq_greedy(t, m->s2s, src, len, B, S, o.max_len, want_attention, out);
    if (rc) snprintf(err, errlen, "decoding: %s", tg_tape_error(t));
    tg_tape_reset(t);
    tg_module_train(&m->base, training);
    return rc;
}

/* Scores hypothesis hyp[0..n) of one source against the held-out pairs of
 * its group: the closest target by edit distance (ties: the shorter). */
static int score(const cli_data *d, const int64_t *members, int64_t n_members, const int64_t *hyp,
                 int64_t n, int64_t *errors, int64_t *symbols) {
    int64_t best = -1, len = 0;
    for (int64_t k = 0; k < n_members; k++) {
        const cli_seq *q = &d->seqs[members[k]];
        int64_t e = tg_edit_distance(hyp, n, d->tags + q->tgt_off, q->tgt_len);
        if (e < 0) return -1;
        if (best < 0 || e < best || (e == best && q->tgt_len < len)) best = e, len = q->tgt_len;
    }
    *errors += best, *symbols += len;
    return best == 0;
}

int cli_s2s_score(tg_tape *t, tg_model *m, const tg_spec *s, const cli_data *d, cli_metrics *out,
                  char *err, size_t errlen) {
    int64_t n = d->n_seqs - d->n_train, n_src = 0, errors = 0, symbols = 0, right = 0;
    /* the held-out pairs grouped by source (group ids index the whole file):
     * source k's pairs are members[at[k] .. at[k+1]), first[k] the first */
    int64_t *slot = malloc((size_t)d->n_seqs * sizeof *slot);
    int64_t *first = malloc((size_t)(n + 1) * sizeof *first),
            *at = calloc((size_t)n + 2, sizeof *at);
    int64_t *members = malloc((size_t)(n + 1) * sizeof *members), *fill = NULL;
    int64_t *src = NULL, *len = malloc(CHUNK * sizeof *len);
    int rc = -1;
    if (!slot || !first || !at || !members || !len) goto oom;
    for (int64_t g = 0; g < d->n_seqs; g++) slot[g] = -1;
    for (int64_t i = d->n_train; i < d->n_seqs; i++) {
        int64_t g = d->seqs[i].label;
        if (slot[g] < 0) slot[g] = n_src, first[n_src++] = i;
        at[slot[g] + 1]++;
    }
    for (int64_t k = 0; k < n_src; k++) at[k + 1] += at[k];
    if (!(fill = calloc((size_t)n_src + 1, sizeof *fill))) goto oom;
    for (int64_t i = d->n_train; i < d->n_seqs; i++) {
        int64_t k = slot[d->seqs[i].label];
        members[at[k] + fill[k]++] = i;
    }
    for (int64_t c0 = 0; c0 < n_src; c0 += CHUNK) {
        int64_t B = n_src - c0 < CHUNK ? n_src - c0 : CHUNK, S = 1;
        for (int64_t j = 0; j < B; j++)
            if (d->seqs[first[c0 + j]].len > S) S = d->seqs[first[c0 + j]].len;
        int64_t *grown = realloc(src, (size_t)(B * S) * sizeof *src);
        if (!grown) goto oom;
        src = grown;
        for (int64_t j = 0; j < B; j++) {
            const cli_seq *q = &d->seqs[first[c0 + j]];
            len[j] = q->len;
            for (int64_t k = 0; k < S; k++) src[j * S + k] = k < q->len ? d->ids[q->off + k] : 0;
        }
        tg_s2s_output o;
        if (cli_s2s_decode(t, m, s, src, len, B, S, false, &o, err, errlen)) goto done;
        int r = 0;
        for (int64_t j = 0; j < B && r >= 0; j++) {
            int64_t k = c0 + j;
            r = score(d, members + at[k], at[k + 1] - at[k], o.tokens + j * o.max_len, o.lengths[j],
                      &errors, &symbols);
            right += r > 0;
        }
        tg_s2s_output_free(&o);
        if (r < 0) goto oom;
    }
    out->sources = n_src;
    out->accuracy = n_src ? (double)right / (double)n_src : NAN;
    out->error_rate = symbols ? (double)errors / (double)symbols : NAN;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    free(slot);
    free(first);
    free(at);
    free(members);
    free(fill);
    free(src);
    free(len);
    return rc;
}
