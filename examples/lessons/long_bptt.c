/* Lesson 5: full BPTT over 4096 steps in bounded memory.
 *
 * Backpropagation through time keeps every step's activations until
 * backward, so memory grows with the sequence length T. Truncating (lesson
 * 4) bounds it but changes the gradient. Recomputation bounds it and keeps
 * the gradient: forward keeps only the state at the start of every segment
 * of k steps (sqrt(T s / f) for a state of s and a recorded step of f
 * values, the k of least memory: 16 here); backward runs each segment's
 * forward again, from the last segment to the first, and backpropagates
 * through it (Chen et al. 2016, Gruslys et al. 2016). The price is about one
 * more forward pass.
 *
 * A character LSTM (embedding 16, hidden 128, batch 4) reads T = 4096
 * characters per sequence: a text given on the command line, or sentences
 * made up from a few words. The program
 *   1. trains it for a few updates with memory.recompute, printing the loss,
 *      the tape's peak and the process's peak RSS;
 *   2. then takes one more step both ways from the same weights, full tape
 *      and recomputed: the tape's peak for each, and whether the gradients
 *      are the same bits (they are: the same float operations in the same
 *      order).
 *
 *     long_bptt [updates] [text file] [--length T]
 *         (default 20 updates, made-up text, T = 4096; a small T for a
 *         quick look, as the examples suite's smoke test does) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tapegrad.h"

enum { B = 4, EMB = 16, H = 128, VOCAB = 128 };

typedef struct model {
    tg_embedding *emb;
    tg_rnn *lstm;
    tg_linear_layer *head;
    tg_params params;
} model;

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024;
}

/* The text: the file's bytes (7-bit), or made-up sentences; n >= (T+1)*B. */
static unsigned char *load_text(const char *path, size_t n) {
    unsigned char *text = malloc(n);
    if (!text) return NULL;
    size_t got = 0;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (path && !f) {
        fprintf(stderr, "long_bptt: cannot open %s\n", path);
        free(text);
        return NULL;
    }
    if (f) {
        got = fread(text, 1, n, f);
        fclose(f);
        for (size_t i = 0; i < got; i++) text[i] &= 0x7f;
    }
    static const char *words[] = {"the",   "whale",  "sea", "ship", "captain", "a",
                                  "white", "sailed", "saw", "on",   "under",   "night"};
    tg_rng r;
    tg_rng_seed(&r, 4);
    while (got < n) { /* made-up sentences fill what the file did not */
        const char *w = words[tg_rng_below(&r, 12)];
        for (size_t k = 0; w[k] && got < n; k++) text[got++] = (unsigned char)w[k];
        if (got < n) text[got++] = tg_rng_below(&r, 6) ? ' ' : '\n';
    }
    return text;
}

static int model_init(model *m, bool recompute) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    char err[256];
    m->emb = tg_embedding_new(VOCAB, EMB, -1, &r);
    m->lstm = tg_rnn_new((tg_rnn_options){.mode = TG_LSTM,
                                          .input_size = EMB,
                                          .hidden_size = H,
                                          .memory = {.recompute = recompute}},
                         &r, err, sizeof err);
    m->head = tg_linear_layer_new(H, VOCAB, true, &r);
    if (!m->emb || !m->lstm || !m->head) return -1;
    tg_params_init(&m->params);
    tg_params_extend(&m->params, "emb", tg_module_params(&m->emb->base));
    tg_params_extend(&m->params, "lstm", tg_module_params(&m->lstm->base));
    tg_params_extend(&m->params, "head", tg_module_params(&m->head->base));
    return 0;
}

static void model_free(model *m) {
    tg_params_free(&m->params);
    tg_module_free(&m->emb->base);
    tg_module_free(&m->lstm->base);
    tg_module_free(&m->head->base);
}

/* One forward and backward over ids [T+1, B] (time-major); the loss. */
static double step(tg_tape *t, model *m, const int64_t *ids, int64_t T) {
    tg_tape_reset(t);
    tg_params_zero_grad(&m->params);
    tg_rnn_result res;
    tg_rnn_forward_tokens(t, m->lstm, m->emb, ids, TG_SHAPE(T, B), NULL, NULL, NULL, &res);
    tg_tensor *logits = tg_linear_layer_forward(t, m->head, res.output); /* [T, B, V] */
    tg_tensor *loss = tg_cross_entropy(t, tg_reshape(t, logits, TG_SHAPE(T * B, VOCAB)), ids + B,
                                       TG_MEAN, TG_NO_IGNORE);
    tg_backward(t, loss);
    if (tg_tape_error(t)) {
        fprintf(stderr, "long_bptt: %s\n", tg_tape_error(t));
        return -1;
    }
    return (double)loss->data[0];
}

/* ids [T+1, B] for update u: sequence b reads its own stretch of the text. */
static void batch(const unsigned char *text, size_t n, int u, int64_t *ids, int64_t T) {
    for (int b = 0; b < B; b++) {
        size_t start = ((size_t)u * 977 + (size_t)b * (n / B)) % (n - T - 1);
        for (int64_t s = 0; s <= T; s++) ids[s * B + b] = text[start + (size_t)s];
    }
}

int main(int argc, char **argv) {
    int updates = 20, npos = 0;
    int64_t T = 4096;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--length") == 0 && i + 1 < argc) {
            T = atoll(argv[++i]);
        } else if (npos++ == 0) {
            updates = atoi(argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (T < 2 || updates < 1) {
        fprintf(stderr, "usage: long_bptt [updates >= 1] [text file] [--length T >= 2]\n");
        return 2;
    }
    size_t n = (size_t)(T + 1) * B * 8;
    unsigned char *text = load_text(path, n);
    int64_t *ids = malloc((size_t)(T + 1) * B * sizeof *ids);
    model m;
    if (!text || !ids || updates < 1 || model_init(&m, true) != 0) return 1;
    tg_set_threads(1);
    tg_tape *t = tg_tape_new();
    tg_tensor *ps[16];
    for (int i = 0; i < m.params.n && i < 16; i++) ps[i] = m.params.items[i].tensor;
    tg_optim *opt = tg_optim_adam(ps, m.params.n, (tg_adam_options){.lr = 3e-3});
    if (!t || !opt) return 1;
    printf("char LSTM %d -> %d, batch %d, full BPTT over T = %lld steps, recomputed\n", EMB, H, B,
           (long long)T);
    for (int u = 0; u < updates; u++) {
        batch(text, n, u, ids, T);
        double loss = step(t, &m, ids, T);
        if (loss < 0) return 1;
        tg_optim_step(opt);
        if (u % 5 == 0 || u == updates - 1)
            printf("update %3d  loss %.3f  tape peak %6.1f MB  peak RSS %6.1f MB\n", u, loss,
                   (double)tg_tape_peak(t) / 1048576, peak_rss_mb());
    }
    double rss_recompute = peak_rss_mb();
    /* one more step both ways from the same weights: memory and gradients */
    batch(text, n, updates, ids, T);
    int64_t numel = tg_params_numel(&m.params), k = 0;
    tg_real *g = malloc((size_t)numel * sizeof *g);
    tg_tape *full = tg_tape_new();
    if (!g || !full || step(t, &m, ids, T) < 0) return 1;
    for (int i = 0; i < m.params.n; i++) {
        const tg_tensor *p = m.params.items[i].tensor;
        memcpy(g + k, p->grad, (size_t)p->numel * sizeof *g);
        k += p->numel;
    }
    m.lstm->opt.memory.recompute = false; /* the same layer, keeping every step */
    if (step(full, &m, ids, T) < 0) return 1;
    bool same = true;
    k = 0;
    for (int i = 0; i < m.params.n; i++) {
        const tg_tensor *p = m.params.items[i].tensor;
        same = same && memcmp(g + k, p->grad, (size_t)p->numel * sizeof *g) == 0;
        k += p->numel;
    }
    double tape_rc = (double)tg_tape_peak(t) / 1048576,
           tape_full = (double)tg_tape_peak(full) / 1048576;
    printf("\none step, recomputed: tape peak %7.1f MB, process peak RSS %7.1f MB\n", tape_rc,
           rss_recompute);
    printf("one step, full tape:  tape peak %7.1f MB, process peak RSS %7.1f MB (%.1fx the "
           "tape)\n",
           tape_full, peak_rss_mb(), tape_full / tape_rc);
    printf("gradients: %s\n", same ? "the same bits" : "DIFFERENT (a bug)");
    tg_tape_free(t);
    tg_tape_free(full);
    tg_optim_free(opt);
    model_free(&m);
    free(g);
    free(ids);
    free(text);
    return same ? 0 : 1;
}
