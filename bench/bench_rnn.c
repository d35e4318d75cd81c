/* bench_rnn: one configuration of the recurrent benchmark, tapegrad side.
 * A character model: embedding -> recurrent layer(s) -> linear head ->
 * cross-entropy, trained with Adam (or inference only), on random tokens.
 *
 *   bench_rnn MODE HIDDEN LAYERS T [--infer] [--threads N] [--steps N] [--warmup N]
 *             [--recompute [K]] [--stack-recompute [K]] [--detect-anomaly] [--check-finite]
 *             [--user] [--composed] [--floor]
 *   bench_rnn sgemm [--threads N]      (a 1024^3 SGEMM, for reference)
 *
 * MODE is lstm, gru or tanh. --user runs the LSTM written here from tape
 * ops as a user would (a tg_cell row with .fuse: one traced node per step)
 * instead of the built-in one; --composed runs every gate as its own node
 * (the layer's composed option). Prints one line of key=value figures: the
 * median ms per step after warm-up (3 steps unless --warmup) and the median
 * CPU ms of this process per step, tokens/s, GFLOP/s of the model's matrix
 * products (counted as PyTorch computes them), peak RSS and the tape's
 * peak, and the BLIS kernels and threads used. --recompute trains the
 * recurrent layers with memory.recompute (segments of K steps, by default
 * the k of least memory); --stack-recompute runs the whole model (embedding,
 * layers, head, loss) in segments instead (tg_seq_recompute_loss), so the
 * layers' outputs and the logits are not kept whole. --detect-anomaly turns the tape's anomaly
 * detection on; --check-finite adds what `tapegrad train` does every step
 * (the loss and the gradients' norm checked for NaN/Inf), for their costs.
 * Also printed: p90_ms (of the steps after warm-up), faults_per_step (minor
 * page faults per steady step, getrusage) and ms_all (every steady step,
 * for bench/run.sh to pool rounds). --floor records each step's BLIS
 * products and replays them through bare BLIS right after the step
 * (gemm_floor.c), by turns with the steps: floor_ms is the replays' median
 * and floor_ratio the step's median over it. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tapegrad.h"
#include "gemm_floor.h"

enum { VOCAB = 65, EMBED = 64, BATCH = 32 };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

/* This process's CPU time: on a shared machine, less at the mercy of the
 * other processes than the wall clock. */
static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median GFLOP/s of a 1024^3 product through the tape. */
static int sgemm(int threads) {
    tg_set_threads(threads);
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_tensor *a = tg_param_new(TG_SHAPE(1024, 1024)), *b = tg_param_new(TG_SHAPE(1024, 1024));
    tg_init_uniform(a, &r, -1, 1);
    tg_init_uniform(b, &r, -1, 1);
    tg_tape *t = tg_tape_new();
    double ms[9];
    for (int i = 0; i < 9; i++) {
        tg_tape_reset(t);
        double t0 = now_ms();
        tg_matmul(t, a, b);
        ms[i] = now_ms() - t0;
    }
    qsort(ms, 9, sizeof *ms, cmp);
    printf("gflops=%.1f kernels=%s kernel_id=%d threads=%d\n",
           2.0 * 1024 * 1024 * 1024 / ms[4] * 1e-6, tg_blis_kernels(), tg_blis_kernel_id(),
           tg_threads());
    tg_tensor_free(a);
    tg_tensor_free(b);
    tg_tape_free(t);
    return 0;
}

/* The loss and the gradients' 2-norm are finite (tapegrad train's check,
 * cli/anomaly.c: the norm is the pass the CSV log already makes). */
static bool finite_step(const tg_tensor *loss, tg_tensor *const *params, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        for (int64_t k = 0; params[i]->grad && k < params[i]->numel; k++)
            sum += (double)params[i]->grad[k] * params[i]->grad[k];
    return isfinite((double)loss->data[0]) && isfinite(sum);
}

/* The q-quantile (0..1) of n values, sorting them in place. */
static double quantile(double *v, int n, double q) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i = (int)(q * (n - 1) + 0.5);
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* This process's minor page faults so far. */
static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* The steady steps' figures that come with the median: p90, faults per
 * step, every step's ms (in order) and, with --floor, the GEMM floor. */
static void print_spread(double *ms, int n, long faults, double *floor_ms, double med) {
    double *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) v[i] = ms[i];
    printf(" p90_ms=%.2f faults_per_step=%.1f ms_all=", quantile(v, n, 0.9),
           (double)faults / (n > 0 ? n : 1));
    for (int i = 0; i < n; i++) printf("%s%.2f", i ? "," : "", ms[i]);
    if (floor_ms) {
        double f = quantile(floor_ms, n, 0.5);
        printf(" floor_ms=%.2f floor_ratio=%.3f floor_calls=%zu floor_gflop=%.3f", f, med / f,
               gemm_floor_calls(), gemm_floor_flop() * 1e-9);
    }
    free(v);
}

/* The LSTM as a user writes it: its step from ordinary tape ops. */
static int user_lstm_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *pre = tg_add(t, io->gx, tg_cell_recurrent(t, io)), *g[4];
    if (tg_chunk(t, pre, 4, 1, g) != 4) return -1;
    tg_tensor *i = tg_sigmoid(t, g[0]), *f = tg_sigmoid(t, g[1]);
    tg_tensor *cand = tg_tanh(t, g[2]), *o = tg_sigmoid(t, g[3]);
    io->next[1] = tg_add(t, tg_mul(t, f, io->state[1]), tg_mul(t, i, cand));
    io->next[0] = tg_mul(t, o, tg_tanh(t, io->next[1]));
    return io->next[0] ? 0 : -1;
}

static const tg_cell user_lstm = {.name = "user_lstm",
                                  .scope = "user_lstm",
                                  .gates = 4,
                                  .n_states = 2,
                                  .state = {{"h", "hidden", "h0"}, {"c", "cell", "c0"}},
                                  .composed = user_lstm_step,
                                  .fuse = true};

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "sgemm") == 0)
        return sgemm(argc >= 4 && strcmp(argv[2], "--threads") == 0 ? atoi(argv[3]) : 1);
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s lstm|gru|tanh HIDDEN LAYERS T [--infer] [--threads N] [--steps N] "
                "[--warmup N] [--recompute [K]] [--stack-recompute [K]] [--detect-anomaly] "
                "[--check-finite] [--user] [--composed] [--floor]\n",
                argv[0]);
        return 2;
    }
    tg_rnn_mode mode = strcmp(argv[1], "lstm") == 0  ? TG_LSTM
                       : strcmp(argv[1], "gru") == 0 ? TG_GRU
                                                     : TG_RNN_TANH;
    int64_t H = atoll(argv[2]), T = atoll(argv[4]);
    int layers = atoi(argv[3]), threads = 1, steps = 20, warmup = 3;
    bool infer = false, anomaly = false, check_finite = false, user = false, composed = false;
    bool floor_on = false;
    long faults = 0;
    tg_rnn_memory memory = {0}, stack = {0};
    for (int i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--infer") == 0) infer = true;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--detect-anomaly") == 0) anomaly = true;
        else if (strcmp(argv[i], "--check-finite") == 0) check_finite = true;
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "--user") == 0) user = true;
        else if (strcmp(argv[i], "--composed") == 0) composed = true;
        else if (strcmp(argv[i], "--floor") == 0) floor_on = true;
        else if (strcmp(argv[i], "--recompute") == 0) {
            memory.recompute = true;
            if (i + 1 < argc && argv[i + 1][0] != '-') memory.segment = atoll(argv[++i]);
        } else if (strcmp(argv[i], "--stack-recompute") == 0) {
            stack.recompute = true;
            if (i + 1 < argc && argv[i + 1][0] != '-') stack.segment = atoll(argv[++i]);
        }
    }
    tg_set_threads(threads);
    tg_rng r;
    tg_rng_seed(&r, 1);
    char err[256];
    tg_embedding *emb = tg_embedding_new(VOCAB, EMBED, -1, &r);
    tg_rnn *rnn = tg_rnn_new((tg_rnn_options){.mode = mode, .cell = user ? &user_lstm : NULL,
                                              .composed = composed, .input_size = EMBED,
                                              .hidden_size = H, .num_layers = layers,
                                              .memory = memory},
                             &r, err, sizeof err);
    tg_linear_layer *head = tg_linear_layer_new(H, VOCAB, true, &r);
    if (!emb || !rnn || !head) {
        fprintf(stderr, "bench_rnn: %s\n", err);
        return 1;
    }
    tg_tensor *params[64];
    int np = 0;
    const tg_params *lists[3] = {tg_module_params(&emb->base), tg_module_params(&rnn->base),
                                 tg_module_params(&head->base)};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < lists[l]->n; i++) params[np++] = lists[l]->items[i].tensor;
    tg_optim *opt = tg_optim_adam(params, np, (tg_adam_options){.lr = 1e-3});
    int64_t *ids = malloc((size_t)(T + 1) * BATCH * sizeof *ids);
    for (int64_t i = 0; i < (T + 1) * BATCH; i++) ids[i] = (int64_t)tg_rng_below(&r, VOCAB);
    tg_tape *t = tg_tape_new();
    tg_tape_set_detect_anomaly(t, anomaly);
    double *ms = malloc((size_t)(steps + warmup) * sizeof *ms);
    double *cpu = malloc((size_t)(steps + warmup) * sizeof *cpu);
    double *floor_ms = floor_on ? malloc((size_t)(steps + warmup) * sizeof *floor_ms) : NULL;
    double *steady = malloc((size_t)steps * sizeof *steady);
    for (int s = 0; s < steps + warmup; s++) {
        long f0 = minor_faults();
        gemm_floor_record(floor_on);
        double t0 = now_ms(), c0 = cpu_ms();
        tg_tape_reset(t);
        tg_set_grad_enabled(t, !infer);
        tg_tensor *loss;
        if (stack.recompute) {
            tg_seq_stack st = {emb, &rnn, 1, head};
            loss = tg_seq_recompute_loss(t, &st, ids, ids + BATCH, T, BATCH, stack, NULL, NULL,
                                         NULL, NULL);
        } else {
            tg_rnn_result res; /* the embedding's rows feed the LSTM's input product */
            tg_rnn_forward_tokens(t, rnn, emb, ids, TG_SHAPE(T, BATCH), NULL, NULL, NULL, &res);
            tg_tensor *logits = tg_linear_layer_forward(t, head, res.output); /* [T,B,V] */
            loss = tg_cross_entropy(t, tg_reshape(t, logits, TG_SHAPE(T * BATCH, VOCAB)),
                                    ids + BATCH, TG_MEAN, TG_NO_IGNORE);
        }
        if (!infer) {
            tg_optim_zero_grad(opt);
            tg_backward(t, loss);
            if (check_finite && !finite_step(loss, params, np)) {
                fprintf(stderr, "bench_rnn: step %d is not finite\n", s);
                return 1;
            }
            tg_optim_step(opt);
        }
        if (tg_tape_error(t)) {
            fprintf(stderr, "bench_rnn: %s\n", tg_tape_error(t));
            return 1;
        }
        ms[s] = now_ms() - t0;
        cpu[s] = cpu_ms() - c0;
        gemm_floor_record(false);
        if (s >= warmup) faults += minor_faults() - f0, steady[s - warmup] = ms[s];
        if (floor_ms) floor_ms[s] = gemm_floor_replay_ms(); /* by turns with the steps */
    }
    qsort(ms + warmup, (size_t)steps, sizeof *ms, cmp);
    double med = ms[warmup + steps / 2];
    qsort(cpu + warmup, (size_t)steps, sizeof *cpu, cmp);
    char rec[32] = "off"; /* the segment length, or auto (the default) */
    if (memory.recompute && memory.segment) snprintf(rec, sizeof rec, "%lld", (long long)memory.segment);
    else if (memory.recompute) snprintf(rec, sizeof rec, "auto");
    if (stack.recompute && stack.segment)
        snprintf(rec, sizeof rec, "stack:%lld", (long long)stack.segment);
    else if (stack.recompute) snprintf(rec, sizeof rec, "stack:auto");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* multiply-adds of the model's matrix products as PyTorch computes them:
     * input and recurrent products per layer, the head; backward does twice
     * the forward's. (tapegrad does fewer: its first layer's input product
     * is taken per vocabulary entry, not per token.) */
    int64_t G = user ? user_lstm.gates : tg_cell_builtin(mode)->gates;
    double flop = 0;
    for (int l = 0; l < layers; l++)
        flop += 2.0 * (double)(T * BATCH) * (double)(G * H) * (double)((l ? H : EMBED) + H);
    flop += 2.0 * (double)(T * BATCH) * (double)H * VOCAB;
    if (!infer) flop *= 3;
    printf("ms=%.2f cpu_ms=%.2f tokens_per_s=%.0f gflops=%.1f peak_rss_mb=%.1f tape_peak_mb=%.1f "
           "kernels=%s threads=%d recompute=%s",
           med, cpu[warmup + steps / 2], (double)(T * BATCH) / med * 1e3, flop / med * 1e-6,
           (double)ru.ru_maxrss / 1024,
           (double)tg_tape_peak(t) / 1048576, tg_blis_kernels(), tg_threads(), rec);
    print_spread(steady, steps, faults, floor_ms ? floor_ms + warmup : NULL, med);
    printf("\n");
    tg_optim_free(opt);
    tg_module_free(&emb->base);
    tg_module_free(&rnn->base);
    tg_module_free(&head->base);
    tg_tape_free(t);
    free(ids);
    free(ms);
    free(cpu);
    free(floor_ms);
    free(steady);
    return 0;
}
