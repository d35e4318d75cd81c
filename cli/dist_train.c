/* tapegrad train on N processes (`mpirun -np N tapegrad train ...`, a build
 * with MPI=1): what train does beyond one process, through dist/.
 *
 * The global batch (train.batch) is split by sequence (or, for a language
 * model's streams, by stream): rank r takes B/N of them, one more when
 * r < B mod N, in rank order, so the N parts put together are the batch
 * one process would read. Each rank's loss is the mean over its own
 * counted targets; its gradient is weighted by its share of the batch's
 * counted targets and the weighted gradients are summed, which is the
 * gradient of the whole batch's mean. Rank 0 alone writes the checkpoint
 * (with every rank's carried state put together), the log and the
 * terminal's lines. With one process (or without MPI) every call here is
 * a no-op or a copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int cli_dist_start(cli_dist *x, const char *cmd) {
    char err[512];
    *x = (cli_dist){.size = 1};
    if (!(x->d = tg_dist_init(NULL, NULL, err, sizeof err))) {
        cli_error(cmd, "%s", err);
        return CLI_FAIL;
    }
    x->rank = tg_dist_rank(x->d), x->size = tg_dist_size(x->d);
    if (x->rank != 0 && !freopen("/dev/null", "w", stdout)) { /* rank 0 alone talks */
        cli_error(cmd, "rank %d: /dev/null: cannot open", x->rank);
        return CLI_FAIL;
    }
    return 0;
}

void cli_dist_end(cli_dist *x, int status) {
    if (!x->d) return;
    /* a rank that failed alone must not wait for the others in
     * MPI_Finalize: it stops them all (its message is already out) */
    if (x->size > 1 && status != CLI_OK && status != CLI_INTERRUPTED) {
        fflush(stdout);
        tg_dist_abort(x->d, status, "stopping every rank");
    }
    tg_dist_grads_free(x->g);
    tg_dist_free(x->d);
    *x = (cli_dist){0};
}

/* The batch dimension of a carried state: [layers*dirs, B, H] or [B, F]. */
static int batch_dim(const tg_tensor *t) {
    return t->ndim == 3 ? 1 : 0;
}

/* dst rows [dlo, dlo+n) along the batch dimension <- src rows [slo, slo+n). */
static void copy_rows(tg_tensor *dst, int64_t dlo, const tg_tensor *src, int64_t slo, int64_t n) {
    int bd = batch_dim(src);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < bd; i++) outer *= src->shape[i];
    for (int i = bd + 1; i < src->ndim; i++) inner *= src->shape[i];
    for (int64_t o = 0; o < outer; o++)
        memcpy(dst->data + (o * dst->shape[bd] + dlo) * inner,
               src->data + (o * src->shape[bd] + slo) * inner,
               (size_t)(n * inner) * sizeof(tg_real));
}

/* t (held for rows [from_lo, +from_n)) becomes rows [to_lo, +to_n) of a
 * batch of B: a slice of the whole, or (to_n = B) the whole put together
 * from every rank's part (a sum of zero-padded parts, exact). */
static int reshard(cli_dist *x, tg_tensor **t, int64_t from_lo, int64_t from_n, int64_t to_lo,
                   int64_t to_n, char *err, size_t errlen) {
    if (!*t) return 0;
    tg_shape sh = tg_tensor_shape(*t);
    sh.dim[batch_dim(*t)] = to_n;
    tg_tensor *u = tg_tensor_new(sh);
    if (!u) return cli_fail(err, errlen, "out of memory");
    if (to_n > from_n) { /* gather */
        copy_rows(u, from_lo, *t, 0, from_n);
        if (tg_dist_sum_real(x->d, u->data, u->numel, err, errlen)) return tg_tensor_free(u), -1;
    } else
        copy_rows(u, 0, *t, to_lo - from_lo, to_n);
    tg_tensor_free(*t);
    *t = u;
    return 0;
}

int cli_dist_setup(cli_dist *x, cli_model *cm, tg_model_state *st, int64_t B, char *err,
                   size_t errlen) {
    if (x->size == 1) return 0;
    if (B < x->size)
        return cli_fail(err, errlen,
                        "train.batch: %lld sequences cannot be shared by %d processes (every "
                        "process needs at least one)",
                        (long long)B, x->size);
    if (tg_dist_broadcast(x->d, cm->tensors, cm->n, err, errlen)) return -1;
    /* dropout masks differ per rank, from the run's generators and the rank */
    tg_rng *r[64];
    char names[64][64];
    int nr = cm->model->n_layers + 3 <= 64 ? cli_model_rngs(cm->model, r, names) : 0;
    for (int i = 0; i < nr && x->rank > 0; i++)
        tg_rng_seed(r[i], tg_rng_u64(r[i]) ^ (0x9E3779B97F4A7C15ull * (uint64_t)x->rank));
    cli_dist_share(B, x->rank, x->size, &x->lo, &x->n);
    for (int k = 0; st && k < st->n; k++) /* a resumed state holds every stream */
        if (reshard(x, &st->h[k], 0, B, x->lo, x->n, err, errlen) ||
            reshard(x, &st->c[k], 0, B, x->lo, x->n, err, errlen))
            return -1;
    return 0;
}

bool cli_dist_stop(cli_dist *x, bool interrupted) {
    double v = interrupted;
    if (x->size > 1 && tg_dist_sum(x->d, &v, 1, NULL, 0)) return true;
    return v > 0;
}

/* Gradients are summed in buckets of this many bytes (environment
 * TAPEGRAD_BUCKET_KB overrides): large enough that a sum's latency is paid
 * a few times per step, small enough that the first starts while backward
 * still runs. */
#define BUCKET_BYTES ((size_t)4 << 20)

static size_t bucket_bytes(void) {
    const char *e = getenv("TAPEGRAD_BUCKET_KB");
    long kb = e ? atol(e) : 0;
    return kb > 0 ? (size_t)kb << 10 : BUCKET_BYTES;
}

int cli_dist_backward(cli_dist *x, cli_model *cm, tg_tape *t, tg_tensor *loss, int64_t count,
                      int64_t *tokens, double *loss_value, char *err, size_t errlen) {
    *loss_value = (double)loss->data[0];
    if (x->size == 1)
        return tg_backward(t, loss) ? cli_fail(err, errlen, "%s", tg_tape_error(t)) : 0;
    if (!x->g && !(x->g = tg_dist_grads_new(x->d, cm->tensors, cm->n, bucket_bytes(), err, errlen)))
        return -1;
    double v[3] = {(double)count, (double)count * *loss_value, (double)*tokens};
    if (tg_dist_sum(x->d, v, 3, err, errlen)) return -1;
    if (v[0] <= 0) return cli_fail(err, errlen, "the batch has no counted targets");
    *loss_value = v[1] / v[0], *tokens = (int64_t)v[2];
    tg_dist_grads_begin(x->g, t, (double)count / v[0]);
    if (tg_backward(t, loss)) return cli_fail(err, errlen, "%s", tg_tape_error(t));
    if (tg_dist_grads_finish(x->g, err, errlen)) return -1;
    tg_dist_stats st = tg_dist_grads_stats(x->g);
    x->steps++, x->wait_s += st.wait_s, x->exchange_s += st.exchange_s, x->early += st.early_share;
    return 0;
}

int cli_dist_save(cli_dist *x, const char *path, const cli_model *cm, tg_optim *opt,
                  const tg_model_state *st, const cli_ckpt_info *info, int64_t B, char *err,
                  size_t errlen) {
    if (x->size == 1) return cli_ckpt_save(path, cm, opt, st, info, err, errlen);
    tg_model_state *all = st ? tg_model_state_new(cm->model) : NULL;
    int rc = st && !all ? cli_fail(err, errlen, "out of memory") : 0;
    for (int k = 0; all && rc == 0 && k < st->n; k++)
        for (int c = 0; c < 2 && rc == 0; c++) {
            const tg_tensor *mine = c ? st->c[k] : st->h[k];
            tg_tensor **dst = c ? &all->c[k] : &all->h[k];
            if (!mine) continue; /* alike on every rank: reset together */
            if (!(*dst = tg_tensor_new(tg_tensor_shape(mine))))
                rc = cli_fail(err, errlen, "out of memory");
            else
                tg_copy(*dst, mine), rc = reshard(x, dst, x->lo, x->n, 0, B, err, errlen);
        }
    if (rc == 0 && x->rank == 0) rc = cli_ckpt_save(path, cm, opt, all, info, err, errlen);
    tg_model_state_free(all);
    return rc;
}

void cli_dist_report(const cli_dist *x) {
    if (x->size == 1 || !x->steps || !x->g) return;
    tg_dist_stats st = tg_dist_grads_stats(x->g);
    double n = (double)x->steps;
    printf("exchange: %d processes, %lld gradient bytes per step in %d buckets; per step %.2f ms "
           "from the first bucket's start to the last sum, %.2f ms of it waited for after "
           "backward; %.0f%% of the bytes started during backward\n",
           x->size, (long long)st.bytes, st.buckets, 1e3 * x->exchange_s / n, 1e3 * x->wait_s / n,
           100 * x->early / n);
}
