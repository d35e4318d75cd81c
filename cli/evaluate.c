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

/* One scored target: a hit when the argmax is right, and its (truth,
 * prediction) pair counted in conf when there is one. */
static int score(const tg_tensor *y, int64_t row, int64_t C, int64_t truth, int64_t *hits,
                 tg_confusion *conf, char *err, size_t errlen) {
    int64_t pred = argmax(y, row, C);
    *hits += pred == truth;
    return conf ? tg_confusion_add(conf, pred, truth, err, errlen) : 0;
}

/* Adds one batch's argmax hits to *hits (classify and language tasks).
 * Returns 0, or -1 with a message (a target conf has no class for). */
static int batch_hits(const tg_model *m, const cli_batch *b, const tg_tensor *y, int64_t *hits,
                      tg_confusion *conf, char *err, size_t errlen) {
    int64_t C = m->output_size, T = b->T, B = b->B;
    if (m->task == TG_TASK_REGRESS || m->s2s) return 0; /* seq2seq: scored by decoding */
    if (m->pooled) {
        for (int64_t j = 0; j < B; j++)
            if (score(y, j, C, b->targets[j], hits, conf, err, errlen)) return -1;
        return 0;
    }
    for (int64_t p = 0; p < T * B; p++) {
        int64_t t = m->batch_first ? p % T : p / B, j = m->batch_first ? p / T : p % B;
        if ((!b->lengths || t < b->lengths[j]) &&
            score(y, p, C, b->targets[p], hits, conf, err, errlen))
            return -1;
    }
    return 0;
}

/* A tree batch's summed loss and hits over every labelled node ([0]) and
 * over the labelled roots ([1]). */
static int tree_sums(tg_tape *t, const tg_model_batch *mb, const tg_model_output *o, double *sum,
                     int64_t *hits, int64_t *n) {
    tg_tensor *logits[2] = {o->output, o->roots};
    for (int k = 0; k < 2; k++) {
        tg_tree_target target = k ? TG_TREE_ROOTS : TG_TREE_NODES;
        int64_t counted = 0;
        tg_tensor *loss = tg_tree_loss(t, logits[k], mb->trees, target, TG_SUM);
        if (!loss) return -1;
        sum[k] += (double)loss->data[0];
        hits[k] += tg_tree_correct(logits[k], mb->trees, target, &counted);
        n[k] += counted;
    }
    return 0;
}

static double ratio(double a, int64_t b) {
    return b ? a / (double)b : NAN;
}

/* Under mpirun every rank evaluates its part (whole batches in turn, or
 * for a language model's streams its share of every chunk) and the sums
 * are added up. */
static int sum_ranks(cli_dist *x, double *sum, int64_t *count, int64_t *hits, double *tree_sum,
                     int64_t *tree_hits, int64_t *tree_n, char *err, size_t errlen) {
    double v[9] = {*sum,
                   (double)*count,
                   (double)*hits,
                   tree_sum[0],
                   tree_sum[1],
                   (double)tree_hits[0],
                   (double)tree_hits[1],
                   (double)tree_n[0],
                   (double)tree_n[1]};
    if (!x || x->size == 1) return 0;
    if (tg_dist_sum(x->d, v, 9, err, errlen)) return -1;
    *sum = v[0], *count = (int64_t)v[1], *hits = (int64_t)v[2];
    tree_sum[0] = v[3], tree_sum[1] = v[4], tree_hits[0] = (int64_t)v[5];
    tree_hits[1] = (int64_t)v[6], tree_n[0] = (int64_t)v[7], tree_n[1] = (int64_t)v[8];
    return 0;
}

int cli_evaluate(tg_tape *t, tg_model *m, const tg_spec *s, const cli_data *d, cli_dist *dist,
                 cli_metrics *out, char *err, size_t errlen) {
    return cli_evaluate_confusion(t, m, s, d, dist, NULL, out, err, errlen);
}

int cli_evaluate_confusion(tg_tape *t, tg_model *m, const tg_spec *s, const cli_data *d,
                           cli_dist *dist, tg_confusion *conf, cli_metrics *out, char *err,
                           size_t errlen) {
    int rank = dist ? dist->rank : 0, size = dist ? dist->size : 1;
    int64_t n = cli_data_eval_count(d, s), count = 0, hits = 0, tree_hits[2] = {0}, tree_n[2] = {0};
    double tree_sum[2] = {0};
    *out = (cli_metrics){.loss = NAN, .accuracy = NAN, .error_rate = NAN};
    if (n == 0) {
        snprintf(err, errlen, "%s: no held-out data to evaluate", d->path);
        return -1;
    }
    bool training = m->base.training, grad = tg_set_grad_enabled(t, false);
    tg_module_train(&m->base, false);
    tg_model_state *st = cli_streams(s) ? tg_model_state_new(m) : NULL;
    cli_batch b = {0};
    double sum = 0;
    int rc = 0, threads = tg_threads();
    tg_threads_auto ta; /* as train's steps; the count is given back after */
    tg_threads_auto_start(&ta);
    for (int64_t i = 0; i < n && rc == 0; i++) {
        bool streams = cli_streams(s);
        if (!streams && i % size != rank) continue;
        tg_threads_auto_step(&ta);
        tg_tape_reset(t);
        if (cli_data_eval_part(d, s, i, streams ? rank : 0, streams ? size : 1, &b, err, errlen)) {
            rc = -1;
            break;
        }
        if (!b.B) continue; /* fewer streams than ranks */
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
        if (s->task != TG_TASK_TREE)
            rc = batch_hits(m, &b, o.output, &hits, conf, err, errlen);
        else if (tree_sums(t, &mb, &o, tree_sum, tree_hits, tree_n)) {
            snprintf(err, errlen, "%s", tg_tape_error(t));
            rc = -1;
        }
    }
    tg_set_threads(threads);
    tg_model_state_free(st);
    cli_batch_free(&b);
    tg_tape_reset(t);
    tg_set_grad_enabled(t, grad);
    tg_module_train(&m->base, training);
    if (rc || sum_ranks(dist, &sum, &count, &hits, tree_sum, tree_hits, tree_n, err, errlen))
        return -1;
    if (s->task == TG_TASK_TREE) {
        hits = tree_hits[s->tree_target == TG_TREE_ROOTS];
        out->node_loss = ratio(tree_sum[0], tree_n[0]);
        out->node_accuracy = ratio((double)tree_hits[0], tree_n[0]);
        out->root_loss = ratio(tree_sum[1], tree_n[1]);
        out->root_accuracy = ratio((double)tree_hits[1], tree_n[1]);
        out->node_count = tree_n[0], out->root_count = tree_n[1];
    }
    out->loss = sum / (double)count, out->count = count;
    if (s->task != TG_TASK_REGRESS) out->accuracy = (double)hits / (double)count;
    return s->task == TG_TASK_SEQ2SEQ ? cli_s2s_score(t, m, s, d, out, err, errlen) : 0;
}
