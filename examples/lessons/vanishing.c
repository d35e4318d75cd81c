/* Lesson 2: vanishing and exploding gradients.
 *
 * A loss that looks only at the last hidden state, L_T = w . h_T, and the
 * question: how much of its gradient reaches h_t, T - t steps back? By the
 * chain rule dL/dh_t = J_{t+1}^T ... J_T^T dL/dh_T, a product of T - t
 * Jacobians. For a tanh RNN, J = diag(1 - h^2) W_hh: the product shrinks
 * like rho^(T-t) when W_hh's spectral radius rho is below 1, can grow when
 * it is above 1, and tanh's derivative (at most 1) pulls it down again. An
 * LSTM's cell state and a GRU's update gate give the gradient a path with
 * no repeated squashing.
 *
 * Five nets read the same random input sequence: a tanh RNN with W_hh = rho
 * Q (Q a random orthogonal matrix, so the spectral radius is exactly rho)
 * for rho = 0.5, 1 and 1.5, and an LSTM and a GRU with PyTorch's default
 * initialisation. For each, the tape's backward leaves dL/dh_t in h_t->grad
 * for every step; the program prints |dL/dh_t| / |dL/dh_T| and writes it as
 * vanishing.csv and a chart, vanishing.svg.
 *
 *     vanishing [T]     (T = 60 steps by default) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "chart.h"
#include "tapegrad.h"

enum { B = 16, I = 8, H = 32, MAXT = 1000, NETS = 7 };

static double norm(const tg_real *g, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

/* W = rho * Q with Q orthogonal: Gram-Schmidt on the rows of a Gaussian
 * matrix. Every eigenvalue of Q has modulus 1, so W's are all rho. */
static void scaled_orthogonal(tg_tensor *w, double rho, tg_rng *r) {
    double q[H][H];
    for (int i = 0; i < H; i++) {
        for (int j = 0; j < H; j++) q[i][j] = tg_rng_normal(r);
        for (int k = 0; k < i; k++) {
            double d = 0;
            for (int j = 0; j < H; j++) d += q[i][j] * q[k][j];
            for (int j = 0; j < H; j++) q[i][j] -= d * q[k][j];
        }
        double n = 0;
        for (int j = 0; j < H; j++) n += q[i][j] * q[i][j];
        for (int j = 0; j < H; j++) q[i][j] /= sqrt(n);
    }
    for (int i = 0; i < H; i++)
        for (int j = 0; j < H; j++) w->data[i * H + j] = (tg_real)(rho * q[i][j]);
}

/* Runs net over x (T tensors [B, I]) from zero state, backpropagates
 * L = mean_b w . h_T, and writes |dL/dh_t| / |dL/dh_T| into ratio[t-1]. */
static int run(tg_rnn *net, tg_tensor *const *x, int T, const tg_real *w, double *ratio) {
    tg_tape *t = tg_tape_new();
    tg_tensor *h = tg_zeros(t, TG_SHAPE(B, H)), *c = tg_zeros(t, TG_SHAPE(B, H));
    tg_tensor **hs = malloc((size_t)T * sizeof *hs);
    tg_tensor *wih = net->w_ih[0], *whh = net->w_hh[0], *bih = net->b_ih[0], *bhh = net->b_hh[0];
    for (int s = 0; s < T; s++) {
        tg_tensor *xt = tg_from_array(t, TG_SHAPE(B, I), x[s]->data);
        /* one step of the layer's cell (its row says whether it has a c) */
        tg_cell_io io = {.w_hh = whh, .b_hh = bhh, .state = {h, c}};
        tg_cell_forward(t, net->cell, xt, wih, bih, &io);
        h = io.next[0];
        if (net->cell->n_states > 1) c = io.next[1];
        hs[s] = h;
    }
    tg_tensor *wt = tg_from_array(t, TG_SHAPE(H, 1), w);
    tg_tensor *loss = tg_mean(t, tg_matmul(t, h, wt));
    int status = tg_backward(t, loss);
    if (status != 0) fprintf(stderr, "%s\n", tg_tape_error(t));
    for (int s = 0; s < T && status == 0; s++)
        ratio[s] = norm(hs[s]->grad, B * H) / norm(hs[T - 1]->grad, B * H);
    free(hs);
    tg_tape_free(t);
    return status;
}

int main(int argc, char **argv) {
    int T = argc > 1 ? atoi(argv[1]) : 60;
    if (T < 2 || T > MAXT) {
        fprintf(stderr, "usage: %s [T in 2..%d]\n", argv[0], MAXT);
        return 2;
    }
    tg_rng r;
    tg_rng_seed(&r, 2024);
    tg_tensor **x = malloc((size_t)T * sizeof *x);
    for (int s = 0; s < T; s++) {
        x[s] = tg_tensor_new(TG_SHAPE(B, I));
        tg_init_normal(x[s], &r, 0, 1);
    }
    tg_real w[H];
    for (int i = 0; i < H; i++) w[i] = (tg_real)(tg_rng_normal(&r) / sqrt(H));

    /* The gated nets twice: as PyTorch initialises them (every bias near 0,
     * so each gate starts near sigmoid(0) = 0.5), and with the gate that
     * decides how much of the old state to keep biased to 3 (sigmoid(3) =
     * 0.95): the LSTM's forget gate, the GRU's update gate z. */
    const char *names[NETS] = {"tanh rho=0.5", "tanh rho=1", "tanh rho=1.5", "LSTM",
                               "LSTM keep=3",  "GRU",        "GRU keep=3"};
    double rho[3] = {0.5, 1, 1.5};
    double *ratio[NETS];
    for (int k = 0; k < NETS; k++) {
        tg_rnn_mode mode = k < 3 ? TG_RNN_TANH : k < 5 ? TG_LSTM : TG_GRU;
        char err[128];
        tg_rnn *net = tg_rnn_new((tg_rnn_options){.mode = mode, .input_size = I, .hidden_size = H},
                                 &r, err, sizeof err);
        if (!net) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if (k < 3) scaled_orthogonal(net->w_hh[0], rho[k], &r);
        if (k == 4 || k == 6) /* gate order i,f,g,o and r,z,n: the second block */
            for (int i = H; i < 2 * H; i++) net->b_ih[0]->data[i] = 3, net->b_hh[0]->data[i] = 0;
        ratio[k] = malloc((size_t)T * sizeof(double));
        if (run(net, x, T, w, ratio[k]) != 0) return 1;
        tg_module_free(&net->base);
    }

    printf("Lesson 2: how much of dL_T/dh_T reaches h_t (|dL/dh_t| / |dL/dh_T|), T = %d\n\n", T);
    printf("%6s", "T - t");
    for (int k = 0; k < NETS; k++) printf(" %12s", names[k]);
    printf("\n");
    for (int back = 0; back < T; back += back < 10 ? 5 : 10) {
        printf("%6d", back);
        for (int k = 0; k < NETS; k++) printf(" %12.3g", ratio[k][T - 1 - back]);
        printf("\n");
    }

    FILE *csv = fopen("vanishing.csv", "w");
    if (!csv) {
        perror("vanishing.csv");
        return 1;
    }
    fprintf(csv, "t,steps_back");
    for (int k = 0; k < NETS; k++) fprintf(csv, ",%s", names[k]);
    fprintf(csv, "\n");
    double *steps = malloc((size_t)T * sizeof *steps);
    double *rev[NETS];
    for (int k = 0; k < NETS; k++) rev[k] = malloc((size_t)T * sizeof(double));
    for (int s = 0; s < T; s++) {
        fprintf(csv, "%d,%d", s + 1, T - 1 - s);
        for (int k = 0; k < NETS; k++) fprintf(csv, ",%.6g", ratio[k][s]);
        fprintf(csv, "\n");
        steps[s] = s; /* the chart runs from h_T (0 steps back) leftwards in time */
        for (int k = 0; k < NETS; k++) rev[k][s] = ratio[k][T - 1 - s];
    }
    fclose(csv);
    chart_series series[NETS];
    for (int k = 0; k < NETS; k++) series[k] = (chart_series){names[k], rev[k]};
    chart c = {.title = "Gradient reaching h_t from a loss at step T",
               .xlabel = "steps back from T (T - t)",
               .ylabel = "|dL/dh_t| / |dL/dh_T|",
               .logy = true,
               .x = steps,
               .n = T,
               .series = series,
               .n_series = NETS};
    if (chart_svg("vanishing.svg", &c) != 0) {
        perror("vanishing.svg");
        return 1;
    }
    printf("\nwrote vanishing.csv and vanishing.svg\n");
    for (int k = 0; k < NETS; k++) free(ratio[k]), free(rev[k]);
    for (int s = 0; s < T; s++) tg_tensor_free(x[s]);
    free(x), free(steps);
    return 0;
}
