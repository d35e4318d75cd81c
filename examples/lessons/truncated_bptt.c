/* Lesson 4: truncated backpropagation through time.
 *
 * Full BPTT backpropagates a sequence's loss all the way to its first step.
 * Truncated BPTT cuts the sequence into chunks of k steps and detaches the
 * hidden state between them (tg_detach: same values, no gradient path), so
 * memory and work per backward are bounded by k, but no gradient says "what
 * happened more than k steps back mattered here".
 *
 * The task needs exactly that: an echo with a delay. The input is a random
 * bit per step; the target at step t is the input bit of step t - D (D = 6).
 * A tanh RNN (32 units) must carry each bit for D steps. The program
 *   1. compares, at the initial weights, the gradient from chunks of k steps
 *      (summed over the chunks) with the full one: cosine and norm ratio;
 *   2. trains one net per k from the same start for the same number of
 *      sequences (one update per batch of sequences, so only the gradient
 *      differs), and reports the held-out loss and accuracy.
 * Writes truncated_bptt.csv and truncated_bptt.svg (held-out loss while
 * training, one line per k).
 *
 *     truncated_bptt [updates]      (default 600) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "tapegrad.h"

enum { D = 6, LEN = 48, B = 32, H = 32, NK = 7, EVERY = 25, MAXU = 100000 };
static const int ks[NK] = {2, 4, 6, 7, 8, 16, LEN};

/* h' = tanh(W_IH x + B_H + W_HH h), logit = W_O h' + B_O */
enum { W_IH, W_HH, B_H, W_O, B_O, NP };
typedef struct net {
    tg_tensor *p[NP];
} net;

/* bits [LEN][B]: a batch of random sequences. */
static void sample(tg_rng *r, tg_real bits[LEN][B]) {
    for (int t = 0; t < LEN; t++)
        for (int b = 0; b < B; b++) bits[t][b] = (tg_real)tg_rng_below(r, 2);
}

/* Forward over the batch in chunks of k steps (k = LEN: no truncation),
 * backward after each chunk when train is set; returns the mean loss over
 * the steps that have a target (t >= D) and the accuracy in *acc. */
static double run(net *n, tg_real bits[LEN][B], int k, bool train, double *acc) {
    tg_tape *t = tg_tape_new();
    tg_set_grad_enabled(t, train);
    tg_tensor *h = tg_zeros(t, TG_SHAPE(B, H));
    double total = 0, right = 0;
    const double count = (double)(LEN - D) * B;
    for (int c0 = 0; c0 < LEN; c0 += k) {
        h = tg_detach(t, h); /* the cut: no gradient flows to earlier chunks */
        tg_tensor *loss = NULL;
        for (int s = c0; s < c0 + k && s < LEN; s++) {
            tg_tensor *x = tg_from_array(t, TG_SHAPE(B, 1), bits[s]);
            h = tg_tanh(t, tg_add(t, tg_linear(t, x, n->p[W_IH], n->p[B_H]),
                                  tg_linear(t, h, n->p[W_HH], NULL)));
            if (s < D) continue;
            tg_tensor *logit = tg_linear(t, h, n->p[W_O], n->p[B_O]); /* [B, 1] */
            tg_tensor *y = tg_from_array(t, TG_SHAPE(B, 1), bits[s - D]);
            tg_tensor *l = tg_scale(t, tg_bce_with_logits(t, logit, y, TG_SUM), 1 / count);
            loss = loss ? tg_add(t, loss, l) : l;
            for (int b = 0; b < B; b++) right += (logit->data[b] > 0) == (bits[s - D][b] > 0);
        }
        if (!loss) continue;
        total += (double)loss->data[0];
        if (train && tg_backward(t, loss) != 0) {
            fprintf(stderr, "%s\n", tg_tape_error(t));
            exit(1);
        }
    }
    tg_tape_free(t);
    if (acc) *acc = right / count;
    return total;
}

static void init(net *n, tg_rng *r) {
    double bound = 1 / sqrt(H);
    n->p[W_IH] = tg_param_new(TG_SHAPE(H, 1)), n->p[W_HH] = tg_param_new(TG_SHAPE(H, H));
    n->p[B_H] = tg_param_new(TG_SHAPE(H));
    n->p[W_O] = tg_param_new(TG_SHAPE(1, H)), n->p[B_O] = tg_param_new(TG_SHAPE(1));
    for (int i = 0; i < NP; i++) tg_init_uniform(n->p[i], r, -bound, bound);
}

static void copy_net(net *dst, const net *src) {
    for (int i = 0; i < NP; i++) {
        tg_copy(dst->p[i], src->p[i]);
        tg_zero_grad(dst->p[i]);
    }
}

static void free_net(net *n) {
    for (int i = 0; i < NP; i++) tg_tensor_free(n->p[i]);
}

/* All the gradients as one vector. */
static void grad_vector(net *n, double *g, int *len) {
    *len = 0;
    for (int i = 0; i < NP; i++)
        for (int64_t j = 0; j < n->p[i]->numel; j++) g[(*len)++] = n->p[i]->grad[j];
}

int main(int argc, char **argv) {
    int updates = argc > 1 ? atoi(argv[1]) : 600;
    if (updates < EVERY || updates > MAXU) {
        fprintf(stderr, "usage: %s [updates in %d..%d]\n", argv[0], EVERY, MAXU);
        return 2;
    }
    tg_rng r;
    tg_rng_seed(&r, 11);
    net start, n;
    init(&start, &r);
    init(&n, &r);
    static tg_real bits[LEN][B], held[LEN][B];
    sample(&r, held);
    printf("Lesson 4: truncated BPTT on a delayed echo (target = input %d steps back)\n", D);
    printf("tanh RNN, %d units; sequences of %d steps, batches of %d\n\n", H, LEN, B);

    /* 1. the gradient at the start, truncated vs full */
    double full[H * H + 3 * H + 1], g[H * H + 3 * H + 1];
    int len;
    copy_net(&n, &start);
    run(&n, held, LEN, true, NULL);
    grad_vector(&n, full, &len);
    printf("the gradient at the initial weights, from chunks of k steps:\n");
    printf("%6s %22s %22s\n", "k", "cosine with full BPTT", "|truncated| / |full|");
    for (int i = 0; i < NK; i++) {
        copy_net(&n, &start);
        run(&n, held, ks[i], true, NULL);
        grad_vector(&n, g, &len);
        double dot = 0, a = 0, b = 0;
        for (int j = 0; j < len; j++)
            dot += g[j] * full[j], a += g[j] * g[j], b += full[j] * full[j];
        printf("%6d %22.4f %22.4f\n", ks[i], dot / sqrt(a * b), sqrt(a / b));
    }

    /* 2. training with each k from the same start on the same batches */
    int n_eval = updates / EVERY + 1;
    double *xs = malloc((size_t)n_eval * sizeof *xs), *curve[NK];
    printf("\ntraining %d updates each (Adam, lr 1e-2), held-out loss (chance: %.3f):\n", updates,
           log(2.0));
    printf("%6s %14s %14s\n", "k", "held-out loss", "accuracy");
    for (int i = 0; i < NK; i++) {
        copy_net(&n, &start);
        tg_optim *opt = tg_optim_adam(n.p, NP, (tg_adam_options){.lr = 1e-2});
        tg_rng data;
        tg_rng_seed(&data, 99); /* the same batches for every k */
        curve[i] = malloc((size_t)n_eval * sizeof(double));
        for (int u = 0; u <= updates; u++) {
            if (u % EVERY == 0)
                xs[u / EVERY] = u, curve[i][u / EVERY] = run(&n, held, LEN, false, NULL);
            if (u == updates) break;
            sample(&data, bits);
            tg_optim_zero_grad(opt);
            run(&n, bits, ks[i], true, NULL);
            tg_clip_grad_norm(n.p, NP, 1.0, 2, NULL, NULL, 0);
            tg_optim_step(opt);
        }
        double acc;
        double loss = run(&n, held, LEN, false, &acc);
        printf("%6d %14.4f %13.1f%%\n", ks[i], loss, 100 * acc);
        tg_optim_free(opt);
    }

    FILE *csv = fopen("truncated_bptt.csv", "w");
    if (!csv) return perror("truncated_bptt.csv"), 1;
    fprintf(csv, "update");
    for (int i = 0; i < NK; i++) fprintf(csv, ",k=%d", ks[i]);
    fprintf(csv, "\n");
    for (int e = 0; e < n_eval; e++) {
        fprintf(csv, "%.0f", xs[e]);
        for (int i = 0; i < NK; i++) fprintf(csv, ",%.5f", curve[i][e]);
        fprintf(csv, "\n");
    }
    fclose(csv);
    char names[NK][32];
    chart_series series[NK];
    for (int i = 0; i < NK; i++) {
        snprintf(names[i], sizeof names[i], ks[i] == LEN ? "k=%d (full)" : "k=%d", ks[i]);
        series[i] = (chart_series){names[i], curve[i]};
    }
    chart c = {.title = "Delayed echo (D = 6): held-out loss, BPTT truncated to k steps",
               .xlabel = "updates",
               .ylabel = "loss (chance 0.693)",
               .x = xs,
               .n = n_eval,
               .series = series,
               .n_series = NK};
    if (chart_svg("truncated_bptt.svg", &c) != 0) return perror("truncated_bptt.svg"), 1;
    printf("\nwrote truncated_bptt.csv and truncated_bptt.svg\n");
    for (int i = 0; i < NK; i++) free(curve[i]);
    free(xs);
    free_net(&start);
    free_net(&n);
    return 0;
}
