/* min-char-rnn, reborn on a tape: a character-level Elman RNN (Karpathy's
 * min-char-rnn.py) trained with Adagrad written directly against the
 * parameters and their gradients, gradients clipped to [-5, 5], samples
 * printed as it learns. The forward pass is plain C calling tape ops; BPTT
 * is the tape's backward.
 *
 *   min_char_rnn TEXT [iterations] [seed]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

enum { HIDDEN = 100, SEQ = 25 };
static const double LEARNING_RATE = 0.1;

/* The parameters: W_xh [V,H] (a row per character: W_xh times a one-hot
 * vector is a row lookup), W_hh [H,H], b_h [H], W_hy [V,H], b_y [V]. */
enum { WXH, WHH, BH, WHY, BY, NPARAMS };
typedef struct model {
    tg_tensor *w[NPARAMS];
    tg_tensor *mem[NPARAMS]; /* Adagrad's sums of squared gradients */
} model;

/* One step: h' = tanh(W_xh[ch] + W_hh h + b_h), returns the logits. */
static tg_tensor *rnn_step(tg_tape *t, model *m, int64_t ch, tg_tensor **h) {
    tg_tensor *x = tg_index_select(t, m->w[WXH], 0, &ch, 1);
    *h = tg_tanh(t, tg_add(t, tg_add(t, x, tg_linear(t, *h, m->w[WHH], NULL)), m->w[BH]));
    return tg_linear(t, *h, m->w[WHY], m->w[BY]);
}

/* Loss of one chunk; h (heap, [1,H]) comes in as the state before it and
 * leaves as the state after it (carried across chunks without gradient). */
static tg_tensor *chunk_loss(tg_tape *t, model *m, const int64_t *in, const int64_t *target,
                             tg_tensor *h_carry) {
    tg_tensor *h = tg_from_array(t, TG_SHAPE(1, HIDDEN), h_carry->data);
    tg_tensor *logits[SEQ];
    for (int s = 0; s < SEQ; s++) logits[s] = rnn_step(t, m, in[s], &h);
    if (!tg_tape_error(t)) tg_copy_from(h_carry, h->data);
    tg_tensor *all = tg_concat(t, SEQ, logits, 0); /* [SEQ, V] */
    return tg_cross_entropy(t, all, target, TG_SUM, TG_NO_IGNORE);
}

static void sample(tg_tape *t, model *m, const tg_tensor *h0, int64_t seed_ch, int n,
                   const unsigned char *vocab, tg_rng *r) {
    bool was = tg_set_grad_enabled(t, false);
    tg_tensor *h = tg_from_array(t, TG_SHAPE(1, HIDDEN), h0->data);
    int64_t ch = seed_ch;
    for (int i = 0; i < n; i++) {
        tg_tensor *p = tg_softmax(t, rnn_step(t, m, ch, &h), 1);
        if (!p) break;
        double u = tg_rng_uniform(r), acc = 0;
        for (ch = 0; ch < p->numel - 1; ch++)
            if ((acc += p->data[ch]) > u) break;
        putchar(vocab[ch]);
    }
    putchar('\n');
    tg_set_grad_enabled(t, was);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s TEXT [iterations] [seed]\n", argv[0]);
        return 2;
    }
    long iterations = argc > 2 ? atol(argv[2]) : 20000;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size || size < SEQ + 1) {
        fprintf(stderr, "%s: cannot read text (need at least %d bytes)\n", argv[1], SEQ + 1);
        return 1;
    }
    fclose(f);

    /* the vocabulary: every byte value that occurs */
    int64_t id_of[256];
    unsigned char vocab[256];
    int V = 0;
    for (int c = 0; c < 256; c++) id_of[c] = -1;
    for (long i = 0; i < size; i++)
        if (id_of[text[i]] < 0) id_of[text[i]] = 0;
    for (int c = 0; c < 256; c++)
        if (id_of[c] == 0) id_of[c] = V, vocab[V++] = (unsigned char)c;
    int64_t *ids = malloc((size_t)size * sizeof *ids);
    for (long i = 0; i < size; i++) ids[i] = id_of[text[i]];
    printf("data: %ld bytes, %d distinct; uniform loss log(V) = %.3f per char\n", size, V, log(V));

    tg_rng r;
    tg_rng_seed(&r, seed);
    model m;
    tg_shape shapes[NPARAMS] = {TG_SHAPE(V, HIDDEN), TG_SHAPE(HIDDEN, HIDDEN), TG_SHAPE(HIDDEN),
                          TG_SHAPE(V, HIDDEN), TG_SHAPE(V)};
    for (int i = 0; i < NPARAMS; i++) {
        m.w[i] = tg_param_new(shapes[i]);
        m.mem[i] = tg_tensor_new(shapes[i]);
        if (!m.w[i] || !m.mem[i]) return 1;
        if (i == WXH || i == WHH || i == WHY) tg_init_normal(m.w[i], &r, 0, 0.01);
    }
    tg_tensor *h = tg_tensor_new(TG_SHAPE(1, HIDDEN));
    tg_tape *t = tg_tape_new();
    double smooth = log(V) * SEQ;
    long p = 0;
    for (long it = 0; it <= iterations; it++) {
        if (p + SEQ + 1 >= size) p = 0, tg_fill(h, 0);
        if (it % 2000 == 0) {
            printf("---- iter %ld, smoothed loss %.4f per char\n", it, smooth / SEQ);
            tg_tape_reset(t);
            sample(t, &m, h, ids[p], 200, vocab, &r);
            fflush(stdout);
        }
        tg_tape_reset(t);
        tg_tensor *loss = chunk_loss(t, &m, ids + p, ids + p + 1, h);
        for (int i = 0; i < NPARAMS; i++) tg_zero_grad(m.w[i]);
        if (tg_backward(t, loss) != 0) {
            fprintf(stderr, "error: %s\n", tg_tape_error(t));
            return 1;
        }
        smooth = 0.999 * smooth + 0.001 * loss->data[0];
        for (int i = 0; i < NPARAMS; i++) { /* clip to [-5, 5], then Adagrad */
            tg_tensor *w = m.w[i], *mem = m.mem[i];
            for (int64_t j = 0; j < w->numel; j++) {
                tg_real g = (tg_real)fmax(-5, fmin(5, w->grad[j]));
                mem->data[j] += g * g;
                w->data[j] -= (tg_real)(LEARNING_RATE * g / sqrt(mem->data[j] + 1e-8));
            }
        }
        p += SEQ;
    }
    printf("final smoothed loss %.4f per char (uniform baseline %.4f)\n", smooth / SEQ, log(V));
    for (int i = 0; i < NPARAMS; i++) tg_tensor_free(m.w[i]), tg_tensor_free(m.mem[i]);
    tg_tensor_free(h);
    tg_tape_free(t);
    free(ids);
    free(text);
    return 0;
}
