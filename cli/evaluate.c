/* Loss and accuracy over the held-out data: used by train (validation) and
 * by eval, so both report the same figure for the same checkpoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

static int64_t argmax(const tg_tensor *y, int64_t row, int64_t C) {
    int64_t best = 0;
    tg_real v = tg_at(y, row * C);
    for (int64_t c = 1; c < C; c++) {
        tg_real u = tg_at(y, row * C + c);
        if (u > v) v = u, best = c;
    }
    return best;
}

void cli_batch_hits(const tg_model *m, const cli_batch *b, const tg_tensor *y, int64_t *hits) {
    int64_t C = m->output_size, T = b->T, B = b->B;
    if (m->task == TG_TASK_REGRESS) return;
    if (m->pooled) {
        for (int64_t j = 0; j < B; j++) *hits += argmax(y, j, C) == b->targets[j];
        return;
    }
    for (int64_t p = 0; p < T * B; p++) {
        int64_t t = m->batch_first ? p % T : p / B, j = m->batch_first ? p / T : p % B;
        if (!b->lengths || t < b->lengths[j]) *hits += argmax(y, p, C) == b->targets[p];
    }
}

int cli_evaluate(tg_tape *t, tg_model *m, const tg_spec *s, const cli_data *d, cli_metrics *out,
                 char *err, size_t errlen) {
    int64_t n = cli_data_eval_count(d, s), count = 0, hits = 0;
    *out = (cli_metrics){.loss = NAN, .accuracy = NAN};
    if (n == 0) {
        snprintf(err, errlen, "%s: no held-out data to evaluate", d->path);
        return -1;
    }
    bool training = m->base.training, grad = tg_set_grad_enabled(t, false);
    tg_module_train(&m->base, false);
    tg_model_state *st = cli_streams(s) ? tg_model_state_new(m) : NULL;
    cli_batch b = {0};
    double sum = 0;
    int rc = 0;
    for (int64_t i = 0; i < n && rc == 0; i++) {
        tg_tape_reset(t);
        if (cli_data_eval_batch(d, s, i, &b, err, errlen)) {
            rc = -1;
            break;
        }
        if (st && b.reset) tg_model_state_reset(st);
        tg_model_batch mb;
        tg_model_output o;
        tg_tensor *loss = NULL;
        if (cli_batch_model(t, s, &b, &mb) == 0 && tg_model_forward(t, m, &mb, st, &o) == 0)
            loss = tg_model_loss(t, m, &mb, &o);
        if (!loss) {
            snprintf(err, errlen, "%s", tg_tape_error(t));
            rc = -1;
            break;
        }
        sum += (double)loss->data[0] * (double)b.count;
        count += b.count;
        cli_batch_hits(m, &b, o.output, &hits);
    }
    tg_model_state_free(st);
    cli_batch_free(&b);
    tg_tape_reset(t);
    tg_set_grad_enabled(t, grad);
    tg_module_train(&m->base, training);
    if (rc) return rc;
    out->loss = sum / (double)count, out->count = count;
    if (s->task != TG_TASK_REGRESS) out->accuracy = (double)hits / (double)count;
    return 0;
}
