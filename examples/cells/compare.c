/* Four LSTMs from the RNN wishlist on one character-level language model:
 * the plain LSTM, a layer-norm LSTM, a peephole LSTM and an LSTM with
 * zoneout, each built with tg_cell_variant_new and given to the layer as
 * its cell (tg_rnn_options.cell). The same data, sizes, seed, optimizer
 * and number of steps for each; the four train by turns, one step each in
 * a round, so a busy machine slows them alike. At the end a table of
 * validation bits per character and milliseconds per training step.
 *
 *   compare TEXT [steps [hidden [batch [seq_len [threads]]]]]
 *
 * TEXT is read as bytes; its last 5% is held out. Batches are `batch`
 * contiguous streams of `seq_len` characters with the state carried from
 * one chunk to the next (truncated BPTT), as `tapegrad train` reads a
 * language model's text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tapegrad.h"

enum { EMBED = 32, N_CELLS = 4 };
static const double LR = 0.004, CLIP = 5.0, HELD_OUT = 0.05;

/* The rows of the table: a name and the options of tg_cell_variant_new
 * (all zero: the plain LSTM, the built-in cell). Zoneout as Krueger et
 * al. used it on characters: c keeps half its units, h 5%. */
static const struct {
    const char *name;
    tg_cell_variant_options o;
} CELLS[N_CELLS] = {
    {"plain", {0}},
    {"layer_norm", {.layer_norm = true}},
    {"peephole", {.peephole = true}},
    {"zoneout", {.zoneout_h = 0.05, .zoneout_c = 0.5}},
};

typedef struct sizes {
    int64_t V, H, B, T;
} sizes;

/* One language model: embedding -> LSTM with the row's cell -> linear
 * head, its optimizer, and the state it carries between chunks. */
typedef struct lm {
    tg_embedding *emb;
    tg_rnn *rnn;
    tg_linear_layer *head;
    tg_cell *cell; /* NULL: the plain LSTM */
    tg_tensor **params;
    int n_params;
    tg_optim *opt;
    tg_tensor *h, *c;  /* [1, B, H] */
    double ms, cpu_ms; /* wall and CPU time, summed over the training steps */
    double bpc;
} lm;

static int add_params(lm *m, const tg_module *mod) {
    const tg_params *p = tg_module_params(mod);
    tg_tensor **all = realloc(m->params, (size_t)(m->n_params + p->n) * sizeof *all);
    if (!all) return -1;
    m->params = all;
    for (int i = 0; i < p->n; i++) m->params[m->n_params++] = p->items[i].tensor;
    return 0;
}

/* Every model starts from the same generator, so the weights they share
 * (embedding, LSTM weights, head) start alike. */
static int lm_init(lm *m, int row, sizes z, uint64_t seed, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    tg_rng r;
    tg_rng_seed(&r, seed);
    if (row > 0 && !(m->cell = tg_cell_variant_new("lstm", &CELLS[row].o, err, errlen))) return -1;
    tg_rnn_options o = {
        .mode = TG_LSTM, .input_size = EMBED, .hidden_size = z.H, .cell = m->cell, .seed = seed};
    m->emb = tg_embedding_new(z.V, EMBED, -1, &r);
    m->rnn = tg_rnn_new(o, &r, err, errlen);
    m->head = tg_linear_layer_new(z.H, z.V, true, &r);
    m->h = tg_tensor_new(TG_SHAPE(1, z.B, z.H));
    m->c = tg_tensor_new(TG_SHAPE(1, z.B, z.H));
    if (!m->emb || !m->rnn || !m->head || !m->h || !m->c || add_params(m, &m->emb->base) ||
        add_params(m, &m->rnn->base) || add_params(m, &m->head->base)) {
        if (!err[0]) snprintf(err, errlen, "%s: out of memory", CELLS[row].name);
        return -1;
    }
    m->opt = tg_optim_adam(m->params, m->n_params, (tg_adam_options){.lr = LR});
    if (!m->opt || tg_optim_error(m->opt)) {
        snprintf(err, errlen, "%s", m->opt ? tg_optim_error(m->opt) : "out of memory");
        return -1;
    }
    return 0;
}

static void lm_free(lm *m) {
    tg_optim_free(m->opt);
    if (m->emb) tg_module_free(&m->emb->base);
    if (m->rnn) tg_module_free(&m->rnn->base);
    if (m->head) tg_module_free(&m->head->base);
    tg_cell_variant_free(m->cell); /* after the layer that ran it */
    tg_tensor_free(m->h);
    tg_tensor_free(m->c);
    free(m->params);
}

/* The loss (summed or averaged) of one chunk: in and target [T, B]
 * time-major; the carried state goes in and the final one comes out. */
static tg_tensor *chunk_loss(tg_tape *t, lm *m, sizes z, int64_t T, const int64_t *in,
                             const int64_t *target, tg_reduction red) {
    tg_tensor *h0 = tg_from_array(t, TG_SHAPE(1, z.B, z.H), m->h->data);
    tg_tensor *c0 = tg_from_array(t, TG_SHAPE(1, z.B, z.H), m->c->data);
    tg_rnn_result res;
    if (tg_rnn_forward_tokens(t, m->rnn, m->emb, in, TG_SHAPE(T, z.B), h0, c0, NULL, &res))
        return NULL;
    tg_tensor *loss =
        tg_seq_cross_entropy(t, tg_linear_layer_forward(t, m->head, res.output), target, NULL, red);
    if (loss) {
        tg_copy_from(m->h, res.h_n->data);
        tg_copy_from(m->c, res.c_n->data);
    }
    return loss;
}

/* Wall time, or the process's CPU time: on a busy machine the wall clock
 * counts the neighbours' turns too, the CPU clock only ours. */
static double now_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Training step `step` on the chunk in/target; its time goes to m->ms.
 * The step's number salts the masks, so zoneout draws new ones each step. */
static int train_step(tg_tape *t, lm *m, sizes z, long step, const int64_t *in,
                      const int64_t *target) {
    m->rnn->mask_salt = (uint64_t)step + 1;
    double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
    tg_tape_reset(t);
    tg_optim_zero_grad(m->opt);
    tg_tensor *loss = chunk_loss(t, m, z, z.T, in, target, TG_MEAN);
    if (!loss || tg_backward(t, loss) != 0) return -1;
    if (tg_clip_grad_norm(m->params, m->n_params, CLIP, 2, NULL, NULL, 0) == TG_CLIP_OK)
        tg_optim_step(m->opt);
    m->ms += now_ms(CLOCK_MONOTONIC) - t0;
    m->cpu_ms += now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return 0;
}

/* Bits per character on the held-out ids [0, n): B streams read in chunks
 * of T from zeros, in evaluation (zoneout's expectation, no masks). */
static int evaluate(tg_tape *t, lm *m, sizes z, const int64_t *ids, int64_t n) {
    int64_t len = (n - 1) / z.B, *in = malloc((size_t)(z.T * z.B) * 2 * sizeof *in);
    if (!in || len < 1) {
        free(in);
        return -1;
    }
    int64_t *target = in + z.T * z.B;
    double nats = 0;
    bool was = tg_set_grad_enabled(t, false);
    tg_module_train(&m->rnn->base, false);
    tg_fill(m->h, 0), tg_fill(m->c, 0);
    for (int64_t p = 0; p < len; p += z.T) {
        int64_t T = p + z.T <= len ? z.T : len - p;
        for (int64_t s = 0; s < T; s++)
            for (int64_t b = 0; b < z.B; b++) {
                in[s * z.B + b] = ids[b * len + p + s];
                target[s * z.B + b] = ids[b * len + p + s + 1];
            }
        tg_tape_reset(t);
        tg_tensor *loss = chunk_loss(t, m, z, T, in, target, TG_SUM);
        if (!loss) break;
        nats += loss->data[0];
    }
    tg_module_train(&m->rnn->base, true);
    tg_set_grad_enabled(t, was);
    tg_fill(m->h, 0), tg_fill(m->c, 0);
    free(in);
    m->bpc = nats / (double)(len * z.B) / log(2.0);
    return tg_tape_error(t) ? -1 : 0;
}

/* The text's bytes as ids of the distinct byte values; *V gets how many. */
static int64_t *read_ids(const char *path, int64_t *n, int64_t *V) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char buf[1 << 16];
    int64_t *ids = NULL, id_of[256], cap = 0;
    size_t got;
    *n = 0;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (*n + (int64_t)got > cap) {
            cap = 2 * (*n + (int64_t)got);
            int64_t *more = realloc(ids, (size_t)cap * sizeof *more);
            if (!more) break;
            ids = more;
        }
        for (size_t i = 0; i < got; i++) ids[(*n)++] = buf[i];
    }
    fclose(f);
    for (int c = 0; c < 256; c++) id_of[c] = -1;
    for (int64_t i = 0; i < *n; i++) id_of[ids[i]] = 0;
    *V = 0;
    for (int c = 0; c < 256; c++)
        if (id_of[c] == 0) id_of[c] = (*V)++;
    for (int64_t i = 0; i < *n; i++) ids[i] = id_of[ids[i]];
    return ids;
}

/* Chunk `step` of the B training streams into in/target [T, B]; a stream
 * that would run past its end starts again (and the states with it). */
static bool next_chunk(const int64_t *ids, int64_t n_train, sizes z, long step, int64_t *in,
                       int64_t *target) {
    int64_t len = n_train / z.B, per = (len - 1) / z.T, p = (step % per) * z.T;
    for (int64_t s = 0; s < z.T; s++)
        for (int64_t b = 0; b < z.B; b++) {
            in[s * z.B + b] = ids[b * len + p + s];
            target[s * z.B + b] = ids[b * len + p + s + 1];
        }
    return p == 0; /* the streams start over: zero states */
}

static int run(const int64_t *ids, int64_t n, sizes z, long steps, lm *m, char *err,
               size_t errlen) {
    int64_t n_train = (int64_t)((double)n * (1 - HELD_OUT));
    if (n_train / z.B < z.T + 1 || n - n_train < z.B + 1) {
        snprintf(err, errlen, "the text is too short for batch %lld x seq_len %lld", (long long)z.B,
                 (long long)z.T);
        return -1;
    }
    int64_t *in = malloc((size_t)(z.T * z.B) * 2 * sizeof *in);
    tg_tape *t = tg_tape_new();
    int status = in && t ? 0 : -1;
    for (long s = 0; s < steps && status == 0; s++) {
        bool fresh = next_chunk(ids, n_train, z, s, in, in + z.T * z.B);
        for (int k = 0; k < N_CELLS && status == 0; k++) { /* by turns */
            if (fresh) tg_fill(m[k].h, 0), tg_fill(m[k].c, 0);
            status = train_step(t, &m[k], z, s, in, in + z.T * z.B);
        }
        if ((s + 1) % 100 == 0) /* a long run says how far it is */
            fprintf(stderr, "round %ld of %ld: %.0f ms per step so far (plain)\n", s + 1, steps,
                    m[0].ms / (double)(s + 1));
    }
    for (int k = 0; k < N_CELLS && status == 0; k++)
        status = evaluate(t, &m[k], z, ids + n_train, n - n_train);
    if (status != 0) snprintf(err, errlen, "%s", t ? tg_tape_error(t) : "out of memory");
    tg_tape_free(t);
    free(in);
    return status;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s TEXT [steps [hidden [batch [seq_len [threads]]]]]\n", argv[0]);
        return 2;
    }
    long steps = argc > 2 ? atol(argv[2]) : 600;
    sizes z = {0, argc > 3 ? atol(argv[3]) : 256, argc > 4 ? atol(argv[4]) : 32,
               argc > 5 ? atol(argv[5]) : 64};
    tg_set_threads(argc > 6 ? atoi(argv[6]) : 1);
    if (steps < 1 || z.H < 1 || z.B < 1 || z.T < 1) {
        fprintf(stderr, "%s: steps, hidden, batch and seq_len must be positive\n", argv[0]);
        return 2;
    }
    int64_t n, *ids = read_ids(argv[1], &n, &z.V);
    if (!ids) {
        perror(argv[1]);
        return 1;
    }
    printf("%s: %lld bytes, %lld distinct, last %.0f%% held out; embedding %d, LSTM %lld, "
           "batch %lld x %lld, Adam %g, %ld steps each, by turns, %d thread(s)\n",
           argv[1], (long long)n, (long long)z.V, HELD_OUT * 100, EMBED, (long long)z.H,
           (long long)z.B, (long long)z.T, LR, steps, tg_threads());
    lm m[N_CELLS];
    memset(m, 0, sizeof m); /* lm_free is safe on the ones never made */
    char err[512] = "";
    int status = 0;
    for (int k = 0; k < N_CELLS && status == 0; k++)
        status = lm_init(&m[k], k, z, 1, err, sizeof err);
    if (status == 0) status = run(ids, n, z, steps, m, err, sizeof err);
    if (status == 0) {
        printf("| cell | parameters | validation bits per character | ms per step | CPU ms "
               "per step |\n| --- | --- | --- | --- | --- |\n");
        for (int k = 0; k < N_CELLS; k++) {
            int64_t np = 0;
            for (int i = 0; i < m[k].n_params; i++) np += m[k].params[i]->numel;
            printf("| %s | %lld | %.4f | %.1f | %.1f |\n", CELLS[k].name, (long long)np, m[k].bpc,
                   m[k].ms / (double)steps, m[k].cpu_ms / (double)steps);
        }
    } else {
        fprintf(stderr, "%s: %s\n", argv[0], err);
    }
    for (int k = 0; k < N_CELLS; k++) lm_free(&m[k]);
    free(ids);
    return status == 0 ? 0 : 1;
}
