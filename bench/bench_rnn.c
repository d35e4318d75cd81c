/* bench_rnn: one configuration of the recurrent benchmark, tapegrad side.
 * A character model: embedding -> recurrent layer(s) -> linear head ->
 * cross-entropy, trained with Adam (or inference only), on random tokens.
 *
 *   bench_rnn MODE HIDDEN LAYERS T [--infer] [--threads N] [--steps N] [--warmup N]
 *             [--recompute [K]] [--stack-recompute [K]] [--detect-anomaly] [--check-finite]
 *             [--cell user|json|ln|peephole|zoneout|rdrop] [--cell-json PATH]
 *             [--user] [--composed] [--floor] [--versus]
 *   bench_rnn sgemm [--threads N]      (a 1024^3 SGEMM, for reference)
 *
 * MODE is lstm, gru or tanh. --cell runs another LSTM instead of the
 * built-in one (bench_cells.c): user, the README's LSTM written from tape
 * ops as a user would (a tg_cell row with .fuse: one traced node per step;
 * --user is the same); json, the "cell" layer of the spec at --cell-json
 * (default examples/cells/json/lstm.json), its equations traced the same
 * way; ln, peephole, zoneout (0.1 on h and c), rdrop (recurrent dropout
 * 0.25), the wishlist's variants (nn/cell_variant.h). --composed runs every
 * gate as its own node (the layer's composed option). Prints one line of key=value figures: the
 * median ms per step after warm-up (3 steps unless --warmup) and the median
 * CPU ms of this process per step, tokens/s, GFLOP/s of the model's matrix
 * products (counted as PyTorch computes them), peak RSS and the tape's
 * peak, the BLIS kernels, threads (--threads, a ceiling: before each step
 * tg_threads_auto takes fewer beside busy processes unless
 * TAPEGRAD_FIXED_THREADS is set, as tapegrad train does) and teams (the
 * steady steps run at each count, "1:3,2:17"). --recompute trains the
 * recurrent layers with memory.recompute (segments of K steps, by default
 * the k of least memory); --stack-recompute runs the whole model (embedding,
 * layers, head, loss) in segments instead (tg_seq_recompute_loss), so the
 * layers' outputs and the logits are not kept whole. --detect-anomaly turns the tape's anomaly
 * detection on; --check-finite adds what `tapegrad train` does every step
 * (the loss and the gradients' norm checked for NaN/Inf), for their costs.
 * Also printed: p90_ms (of the steps after warm-up), faults_per_step (minor
 * page faults per steady step, getrusage), ms_all and cpu_all (every
 * steady step's wall and CPU ms, for bench/run.sh and cells.sh to pool
 * rounds). --floor records each step's BLIS
 * products and replays them through bare BLIS right after the step
 * (gemm_floor.c), by turns with the steps: floor_ms is the replays' median
 * and floor_ratio the step's median over it; --floor-shapes adds a line per
 * product shape of the last replay (calls, ms, GFLOP/s through BLIS). The
 * recurrent products run packed (core/gemm_packed.c: W_hh packed once per
 * sequence, BLIS's micro-kernel on the panels), not through BLIS's GEMM,
 * which repacks W_hh at every call: the floor replays them as the BLIS
 * calls they stand for, so a step can run under its floor (ratio < 1).
 * --versus also builds the built-in cell of MODE (its own model and tape)
 * and runs its steps by turns with the others, step for step (which goes
 * first alternates): vs_ms is its median and vs_ratio the median of the
 * steps' ratios (this cell's ms over the built-in's beside it; p10 and p90
 * too; vs_ms_all and vs_ratio_all every step's), steadier on a shared
 * machine than ratios of separate runs, as both see the same load at the
 * same time. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tapegrad.h"
#include "bench_cells.h"
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
 * step, every step's wall and CPU ms (in order) and, with --floor, the
 * GEMM floor. */
static void print_spread(double *ms, const double *cpu, int n, long faults, double *floor_ms,
                         double med) {
    double *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) v[i] = ms[i];
    printf(" p90_ms=%.2f faults_per_step=%.1f ms_all=", quantile(v, n, 0.9),
           (double)faults / (n > 0 ? n : 1));
    for (int i = 0; i < n; i++) printf("%s%.2f", i ? "," : "", ms[i]);
    printf(" cpu_all=");
    for (int i = 0; i < n; i++) printf("%s%.2f", i ? "," : "", cpu[i]);
    if (floor_ms) {
        double f = quantile(floor_ms, n, 0.5);
        printf(" floor_ms=%.2f floor_ratio=%.3f floor_calls=%zu floor_gflop=%.3f", f, med / f,
               gemm_floor_calls(), gemm_floor_flop() * 1e-9);
    }
    free(v);
}


/* The command line. */
typedef struct bench_opts {
    tg_rnn_mode mode;
    int64_t H, T;
    int layers, threads, steps, warmup;
    bool infer, anomaly, check_finite, composed, floor_on, floor_shapes, versus;
    const char *cell;      /* --cell, or NULL: the built-in */
    const char *cell_json; /* --cell-json */
    tg_rnn_memory memory, stack;
} bench_opts;

/* A flag and, for those that take one, its value. Unknown ones are
 * skipped, as always. */
static void parse_flag(bench_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool num = next && next[0] != '-'; /* an optional segment length follows */
    if (strcmp(a, "--infer") == 0) o->infer = true;
    else if (strcmp(a, "--threads") == 0 && next) o->threads = atoi(argv[++*i]);
    else if (strcmp(a, "--steps") == 0 && next) o->steps = atoi(argv[++*i]);
    else if (strcmp(a, "--detect-anomaly") == 0) o->anomaly = true;
    else if (strcmp(a, "--check-finite") == 0) o->check_finite = true;
    else if (strcmp(a, "--warmup") == 0 && next) o->warmup = atoi(argv[++*i]);
    else if (strcmp(a, "--user") == 0) o->cell = "user";
    else if (strcmp(a, "--cell") == 0 && next) o->cell = argv[++*i];
    else if (strcmp(a, "--cell-json") == 0 && next) o->cell_json = argv[++*i];
    else if (strcmp(a, "--composed") == 0) o->composed = true;
    else if (strcmp(a, "--versus") == 0)
        o->versus = true;
    else if (strcmp(a, "--floor") == 0) o->floor_on = true;
    else if (strcmp(a, "--floor-shapes") == 0) o->floor_on = o->floor_shapes = true;
    else if (strcmp(a, "--recompute") == 0) {
        o->memory.recompute = true;
        if (num) o->memory.segment = atoll(argv[++*i]);
    } else if (strcmp(a, "--stack-recompute") == 0) {
        o->stack.recompute = true;
        if (num) o->stack.segment = atoll(argv[++*i]);
    }
}

/* 0, or 2 after the usage line. */
static int parse_args(int argc, char **argv, bench_opts *o) {
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s lstm|gru|tanh HIDDEN LAYERS T [--infer] [--threads N] [--steps N] "
                "[--warmup N] [--recompute [K]] [--stack-recompute [K]] [--detect-anomaly] "
                "[--check-finite] [--cell " BENCH_CELL_NAMES "] [--cell-json PATH] [--user] "
                "[--composed] [--floor] [--floor-shapes] [--versus]\n",
                argv[0]);
        return 2;
    }
    *o = (bench_opts){.mode = strcmp(argv[1], "lstm") == 0  ? TG_LSTM
                              : strcmp(argv[1], "gru") == 0 ? TG_GRU
                                                            : TG_RNN_TANH,
                      .H = atoll(argv[2]),
                      .T = atoll(argv[4]),
                      .layers = atoi(argv[3]),
                      .threads = 1,
                      .steps = 20,
                      .warmup = 3,
                      .cell_json = "examples/cells/json/lstm.json"};
    for (int i = 5; i < argc; i++) parse_flag(o, argc, argv, &i);
    return 0;
}

/* The model and its optimizer. */
typedef struct bench_model {
    tg_embedding *emb;
    tg_rnn *rnn;
    tg_linear_layer *head;
    bench_cell cell;
    tg_tensor *params[64];
    int np;
    tg_optim *opt;
} bench_model;

static int build_model(const bench_opts *o, tg_rng *r, bench_model *m) {
    char err[256];
    *m = (bench_model){0};
    if (bench_cell_make(o->cell, o->cell_json, &m->cell, err, sizeof err) != 0) {
        fprintf(stderr, "bench_rnn: %s\n", err);
        return -1;
    }
    m->emb = tg_embedding_new(VOCAB, EMBED, -1, r);
    m->rnn = tg_rnn_new((tg_rnn_options){.mode = o->mode, .cell = m->cell.row,
                                         .composed = o->composed, .input_size = EMBED,
                                         .hidden_size = o->H, .num_layers = o->layers,
                                         .memory = o->memory},
                        r, err, sizeof err);
    m->head = tg_linear_layer_new(o->H, VOCAB, true, r);
    if (!m->emb || !m->rnn || !m->head) {
        fprintf(stderr, "bench_rnn: %s\n", err);
        return -1;
    }
    const tg_params *lists[3] = {tg_module_params(&m->emb->base), tg_module_params(&m->rnn->base),
                                 tg_module_params(&m->head->base)};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < lists[l]->n && m->np < 64; i++)
            m->params[m->np++] = lists[l]->items[i].tensor;
    m->opt = tg_optim_adam(m->params, m->np, (tg_adam_options){.lr = 1e-3});
    return 0;
}

static void free_model(bench_model *m) {
    if (m->opt) tg_optim_free(m->opt);
    if (m->emb) tg_module_free(&m->emb->base);
    if (m->rnn) tg_module_free(&m->rnn->base);
    if (m->head) tg_module_free(&m->head->base);
    bench_cell_free(&m->cell);
}

/* The step's loss: embedding, the recurrent layer(s), the head, cross-
 * entropy against the next token (or the same in segments). */
static tg_tensor *forward_loss(tg_tape *t, const bench_opts *o, bench_model *m,
                               const int64_t *ids) {
    if (o->stack.recompute) {
        tg_seq_stack st = {m->emb, &m->rnn, 1, m->head};
        return tg_seq_recompute_loss(t, &st, ids, ids + BATCH, o->T, BATCH, o->stack, NULL, NULL,
                                     NULL, NULL);
    }
    tg_rnn_result res; /* the embedding's rows feed the LSTM's input product */
    tg_rnn_forward_tokens(t, m->rnn, m->emb, ids, TG_SHAPE(o->T, BATCH), NULL, NULL, NULL, &res);
    tg_tensor *logits = tg_linear_layer_forward(t, m->head, res.output); /* [T,B,V] */
    return tg_cross_entropy(t, tg_reshape(t, logits, TG_SHAPE(o->T * BATCH, VOCAB)), ids + BATCH,
                            TG_MEAN, TG_NO_IGNORE);
}

/* Every step's figures, warm-up included, then the steady ones; how many
 * steady steps ran at each thread count (the team size tg_threads_auto
 * chose, up to 64). */
typedef struct bench_times {
    double *ms, *cpu, *floor_ms, *steady, *steady_cpu;
    long faults;
    int teams[65];
} bench_times;

/* One step: forward, backward, the optimizer. 0, or 1 after a message. */
static int train_step(tg_tape *t, const bench_opts *o, bench_model *m, const int64_t *ids, int s) {
    tg_tape_reset(t);
    tg_set_grad_enabled(t, !o->infer);
    tg_tensor *loss = forward_loss(t, o, m, ids);
    if (!o->infer) {
        tg_optim_zero_grad(m->opt);
        tg_backward(t, loss);
        if (o->check_finite && !finite_step(loss, m->params, m->np)) {
            fprintf(stderr, "bench_rnn: step %d is not finite\n", s);
            return 1;
        }
        tg_optim_step(m->opt);
    }
    if (tg_tape_error(t)) {
        fprintf(stderr, "bench_rnn: %s\n", tg_tape_error(t));
        return 1;
    }
    return 0;
}

/* --versus: the built-in cell's model, its tape and every step's ms. */
typedef struct versus {
    bench_model m;
    tg_tape *t;
    double *ms;
} versus;

static int versus_step(versus *v, const bench_opts *o, const int64_t *ids, int s) {
    double t0 = now_ms();
    if (train_step(v->t, o, &v->m, ids, s)) return 1;
    v->ms[s] = now_ms() - t0;
    return 0;
}

/* warm-up + steps timed steps, each (with --floor) followed by the replay
 * of its products, and with v the built-in's step before or after it, by
 * turns. 0, or 1 after a message. */
static int run_steps(tg_tape *t, const bench_opts *o, bench_model *m, const int64_t *ids,
                     bench_times *bt, versus *v) {
    tg_threads_auto ta; /* --threads N is a ceiling, as in tapegrad train */
    tg_threads_auto_start(&ta);
    for (int s = 0; s < o->steps + o->warmup; s++) {
        int team = tg_threads_auto_step(&ta);
        bool first = v && s % 2; /* the built-in's step first every other time */
        if (first && versus_step(v, o, ids, s)) return 1;
        long f0 = minor_faults();
        gemm_floor_record(o->floor_on);
        double t0 = now_ms(), c0 = cpu_ms();
        if (train_step(t, o, m, ids, s)) return 1;
        bt->ms[s] = now_ms() - t0;
        bt->cpu[s] = cpu_ms() - c0;
        gemm_floor_record(false);
        if (s >= o->warmup) {
            bt->teams[team < 64 ? team : 64]++;
            bt->faults += minor_faults() - f0;
            bt->steady[s - o->warmup] = bt->ms[s];
            bt->steady_cpu[s - o->warmup] = bt->cpu[s];
        }
        if (bt->floor_ms) bt->floor_ms[s] = gemm_floor_replay_ms(); /* by turns with the steps */
        if (v && !first && versus_step(v, o, ids, s)) return 1;
    }
    return 0;
}

/* The versus figures: the built-in's median and the steps' ratios. */
static void print_versus(const versus *v, const double *steady, int w, int n) {
    double *r = malloc((size_t)(2 * n) * sizeof *r), *ms = r + n;
    for (int i = 0; i < n; i++) r[i] = steady[i] / v->ms[w + i], ms[i] = v->ms[w + i];
    printf(" vs_ms_all=");
    for (int i = 0; i < n; i++) printf("%s%.2f", i ? "," : "", ms[i]);
    printf(" vs_ms=%.2f", quantile(ms, n, 0.5));
    printf(" vs_ratio_all=");
    for (int i = 0; i < n; i++) printf("%s%.4f", i ? "," : "", r[i]);
    printf(" vs_ratio=%.3f", quantile(r, n, 0.5));
    printf(" vs_ratio_p10=%.3f vs_ratio_p90=%.3f", quantile(r, n, 0.1), quantile(r, n, 0.9));
    free(r);
}

/* The line of key=value figures. */
static void print_figures(const bench_opts *o, const bench_model *m, tg_tape *t, bench_times *bt,
                          const versus *v) {
    int w = o->warmup, n = o->steps;
    qsort(bt->ms + w, (size_t)n, sizeof *bt->ms, cmp);
    double med = bt->ms[w + n / 2];
    qsort(bt->cpu + w, (size_t)n, sizeof *bt->cpu, cmp);
    char rec[32] = "off"; /* the segment length, or auto (the default) */
    if (o->memory.recompute && o->memory.segment)
        snprintf(rec, sizeof rec, "%lld", (long long)o->memory.segment);
    else if (o->memory.recompute) snprintf(rec, sizeof rec, "auto");
    if (o->stack.recompute && o->stack.segment)
        snprintf(rec, sizeof rec, "stack:%lld", (long long)o->stack.segment);
    else if (o->stack.recompute) snprintf(rec, sizeof rec, "stack:auto");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* multiply-adds of the model's matrix products as PyTorch computes them:
     * input and recurrent products per layer, the head; backward does twice
     * the forward's. (tapegrad does fewer: its first layer's input product
     * is taken per vocabulary entry, not per token.) */
    int64_t G = m->rnn->cell->gates, H = o->H, T = o->T;
    double flop = 0;
    for (int l = 0; l < o->layers; l++)
        flop += 2.0 * (double)(T * BATCH) * (double)(G * H) * (double)((l ? H : EMBED) + H);
    flop += 2.0 * (double)(T * BATCH) * (double)H * VOCAB;
    if (!o->infer) flop *= 3;
    printf("ms=%.2f cpu_ms=%.2f tokens_per_s=%.0f gflops=%.1f peak_rss_mb=%.1f tape_peak_mb=%.1f "
           "kernels=%s threads=%d recompute=%s cell=%s",
           med, bt->cpu[w + n / 2], (double)(T * BATCH) / med * 1e3, flop / med * 1e-6,
           (double)ru.ru_maxrss / 1024, (double)tg_tape_peak(t) / 1048576, tg_blis_kernels(),
           o->threads, rec, m->cell.name);
    printf(" teams="); /* thread count:steady steps at it */
    for (int k = 1, first = 1; k <= 64; k++)
        if (bt->teams[k]) printf("%s%d:%d", first ? "" : ",", k, bt->teams[k]), first = 0;
    print_spread(bt->steady, bt->steady_cpu, n, bt->faults, bt->floor_ms ? bt->floor_ms + w : NULL,
                 med);
    if (v) print_versus(v, bt->steady, w, n);
    printf("\n");
}

int main(int argc, char **argv) {
    tg_wait_policy_exec(argv); /* as the tapegrad command runs */
    if (argc >= 2 && strcmp(argv[1], "sgemm") == 0)
        return sgemm(argc >= 4 && strcmp(argv[2], "--threads") == 0 ? atoi(argv[3]) : 1);
    bench_opts o;
    if (parse_args(argc, argv, &o)) return 2;
    tg_set_threads(o.threads);
    tg_rng r;
    tg_rng_seed(&r, 1);
    bench_model m;
    if (build_model(&o, &r, &m) != 0) return free_model(&m), 1;
    int64_t *ids = malloc((size_t)(o.T + 1) * BATCH * sizeof *ids);
    for (int64_t i = 0; i < (o.T + 1) * BATCH; i++) ids[i] = (int64_t)tg_rng_below(&r, VOCAB);
    tg_tape *t = tg_tape_new();
    tg_tape_set_detect_anomaly(t, o.anomaly);
    size_t all = (size_t)(o.steps + o.warmup) * sizeof(double);
    bench_times bt = {malloc(all), malloc(all), o.floor_on ? malloc(all) : NULL,
                      malloc((size_t)o.steps * sizeof(double)),
                      malloc((size_t)o.steps * sizeof(double)), 0, {0}};
    versus v = {.t = NULL}, *vp = NULL;
    if (o.versus) { /* the built-in beside it */
        bench_opts vo = o;
        vo.cell = NULL, vo.composed = false;
        tg_rng vr;
        tg_rng_seed(&vr, 1);
        if (build_model(&vo, &vr, &v.m) != 0) return free_model(&v.m), free_model(&m), 1;
        v.t = tg_tape_new();
        v.ms = malloc(all);
        vp = &v;
    }
    int rc = run_steps(t, &o, &m, ids, &bt, vp);
    if (rc == 0) print_figures(&o, &m, t, &bt, vp);
    if (rc == 0 && o.floor_shapes) gemm_floor_shapes(stdout); /* the last step's */
    free_model(&m);
    tg_tape_free(t);
    if (vp) free_model(&v.m), tg_tape_free(v.t), free(v.ms);
    free(ids);
    free(bt.ms);
    free(bt.cpu);
    free(bt.floor_ms);
    free(bt.steady);
    free(bt.steady_cpu);
    return rc;
}
