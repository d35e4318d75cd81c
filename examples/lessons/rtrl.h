/* Real-time recurrent learning (Williams and Zipser 1989) for a one-layer
 * Elman or LSTM net with one real output, y_t = w_out . h_t + b_out, and
 * the loss (y_t - target_t)^2 at the steps that have a target.
 *
 * BPTT waits for the end of a sequence and walks back. RTRL instead carries
 * forward, with the state, its sensitivities to every recurrent parameter:
 * P_t = dh_t/dtheta, an [H, n] matrix (n = the recurrent parameters), so
 * dL_t/dtheta = dL_t/dh_t P_t is known at step t, with no backward pass.
 * The price is the update of P: with a_t = W_ih x_t + W_hh h_{t-1} + b,
 *     dA_t/dtheta = W_hh P_{t-1} + (the terms where theta enters a_t directly)
 * a [G H, H] x [H, n] product every step, G H^2 n multiply-adds, n ~ G H^2:
 * O(H^4), where BPTT costs O(H^2) per step.
 *
 * The weights are the program's tapegrad parameters (the ones the tape
 * trains too), read in double. Header-only (static inline), shared by
 * rtrl.c and tests/examples/test_rtrl.c. */
#ifndef LESSON_RTRL_H
#define LESSON_RTRL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

/* W_ih [G H, I], W_hh [G H, H], b [G H] (the recurrent parameters, in this
 * order in theta), w_out [1, H], b_out [1]. An LSTM's G = 4 gate blocks
 * are PyTorch's i, f, g, o. */
enum { RT_W_IH, RT_W_HH, RT_B, RT_W_OUT, RT_B_OUT, RT_NP };

typedef struct rt_net {
    bool lstm;
    int I, H, G;
    tg_tensor *p[RT_NP];
} rt_net;

/* The state and its sensitivities, and the gradient gathered so far. */
typedef struct rt_state {
    const rt_net *net;
    int64_t n;       /* recurrent parameters: G H (I + H + 1) */
    double *h, *c;   /* [H] (c: LSTM only, else unused) */
    double *Ph, *Pc; /* [H, n]: dh/dtheta, dc/dtheta */
    double *a, *Pa;  /* scratch: a [G H], dA/dtheta [G H, n] */
    double *g_rec;   /* [n]: the loss's gradient for theta, summed over steps */
    double *g_out;   /* [H + 1]: for w_out, then b_out */
} rt_state;

static inline int rt_net_init(rt_net *net, bool lstm, int I, int H, tg_rng *rng) {
    int G = lstm ? 4 : 1;
    *net = (rt_net){.lstm = lstm, .I = I, .H = H, .G = G};
    net->p[RT_W_IH] = tg_param_new(TG_SHAPE(G * H, I));
    net->p[RT_W_HH] = tg_param_new(TG_SHAPE(G * H, H));
    net->p[RT_B] = tg_param_new(TG_SHAPE(G * H));
    net->p[RT_W_OUT] = tg_param_new(TG_SHAPE(1, H));
    net->p[RT_B_OUT] = tg_param_new(TG_SHAPE(1));
    double bound = 1 / sqrt((double)H); /* PyTorch's nn.RNN / nn.LSTM init */
    for (int i = 0; i < RT_NP; i++) {
        if (!net->p[i]) return -1;
        tg_init_uniform(net->p[i], rng, -bound, bound);
    }
    return 0;
}

static inline void rt_net_free(rt_net *net) {
    for (int i = 0; i < RT_NP; i++) tg_tensor_free(net->p[i]);
}

static inline void rt_state_free(rt_state *s) {
    free(s->h), free(s->c), free(s->Ph), free(s->Pc), free(s->a), free(s->Pa);
    free(s->g_rec), free(s->g_out);
    memset(s, 0, sizeof *s);
}

/* Zero state, zero sensitivities, zero gradient. */
static inline void rt_state_reset(rt_state *s) {
    int H = s->net->H;
    memset(s->h, 0, (size_t)H * sizeof(double));
    memset(s->c, 0, (size_t)H * sizeof(double));
    memset(s->Ph, 0, (size_t)(H * s->n) * sizeof(double));
    memset(s->Pc, 0, (size_t)(H * s->n) * sizeof(double));
    memset(s->g_rec, 0, (size_t)s->n * sizeof(double));
    memset(s->g_out, 0, (size_t)(H + 1) * sizeof(double));
}

static inline int rt_state_init(rt_state *s, const rt_net *net) {
    int H = net->H, GH = net->G * H;
    int64_t n = (int64_t)GH * (net->I + H + 1);
    *s = (rt_state){.net = net, .n = n};
    s->h = malloc((size_t)H * sizeof(double));
    s->c = malloc((size_t)H * sizeof(double));
    s->Ph = malloc((size_t)(H * n) * sizeof(double));
    s->Pc = malloc((size_t)(H * n) * sizeof(double));
    s->a = malloc((size_t)GH * sizeof(double));
    s->Pa = malloc((size_t)(GH * n) * sizeof(double));
    s->g_rec = malloc((size_t)n * sizeof(double));
    s->g_out = malloc((size_t)(H + 1) * sizeof(double));
    if (!s->h || !s->c || !s->Ph || !s->Pc || !s->a || !s->Pa || !s->g_rec || !s->g_out) {
        rt_state_free(s);
        return -1;
    }
    rt_state_reset(s);
    return 0;
}

/* Only the gradient back to zero (online learning: one step's gradient). */
static inline void rt_zero_grad(rt_state *s) {
    memset(s->g_rec, 0, (size_t)s->n * sizeof(double));
    memset(s->g_out, 0, (size_t)(s->net->H + 1) * sizeof(double));
}

static inline double rt_sigmoid(double x) {
    return 1 / (1 + exp(-x));
}

/* a = W_ih x + W_hh h + b, and Pa = W_hh Ph + d a / d theta directly:
 * [G H, H] x [H, n], the O(H^4) product. */
static inline void rt_preact(rt_state *s, const double *x) {
    const rt_net *net = s->net;
    int I = net->I, H = net->H, GH = net->G * H;
    int64_t n = s->n;
    const tg_real *wih = net->p[RT_W_IH]->data, *whh = net->p[RT_W_HH]->data,
                  *b = net->p[RT_B]->data;
    for (int r = 0; r < GH; r++) {
        double v = (double)b[r];
        for (int j = 0; j < I; j++) v += (double)wih[r * I + j] * x[j];
        for (int j = 0; j < H; j++) v += (double)whh[r * H + j] * s->h[j];
        s->a[r] = v;
        double *pa = s->Pa + r * n;
        memset(pa, 0, (size_t)n * sizeof(double));
        for (int j = 0; j < H; j++) {
            double w = (double)whh[r * H + j];
            const double *ph = s->Ph + j * n;
            for (int64_t k = 0; k < n; k++) pa[k] += w * ph[k];
        }
        /* theta's own entries in row r: W_ih[r, :], W_hh[r, :], b[r] */
        for (int j = 0; j < I; j++) pa[r * I + j] += x[j];
        for (int j = 0; j < H; j++) pa[(int64_t)GH * I + r * H + j] += s->h[j];
        pa[(int64_t)GH * (I + H) + r] += 1;
    }
}

/* The new state and its sensitivities from a and Pa (in place). */
static inline void rt_cell(rt_state *s) {
    int H = s->net->H;
    int64_t n = s->n;
    for (int i = 0; i < H; i++) {
        double *ph = s->Ph + i * n, *pc = s->Pc + i * n;
        if (!s->net->lstm) { /* h = tanh(a) */
            double h = tanh(s->a[i]), d = 1 - h * h;
            const double *pa = s->Pa + i * n;
            for (int64_t k = 0; k < n; k++) ph[k] = d * pa[k];
            s->h[i] = h;
            continue;
        }
        /* c = f c_prev + i g, h = o tanh(c) */
        double ig = rt_sigmoid(s->a[i]), fg = rt_sigmoid(s->a[H + i]);
        double gg = tanh(s->a[2 * H + i]), og = rt_sigmoid(s->a[3 * H + i]);
        double c_prev = s->c[i], c = fg * c_prev + ig * gg, tc = tanh(c);
        double di = gg * ig * (1 - ig), df = c_prev * fg * (1 - fg), dg = ig * (1 - gg * gg);
        double dof = tc * og * (1 - og), dc = og * (1 - tc * tc);
        const double *pi = s->Pa + i * n, *pf = s->Pa + (H + i) * n;
        const double *pg = s->Pa + (2 * H + i) * n, *po = s->Pa + (3 * H + i) * n;
        for (int64_t k = 0; k < n; k++) {
            pc[k] = fg * pc[k] + df * pf[k] + di * pi[k] + dg * pg[k];
            ph[k] = dof * po[k] + dc * pc[k];
        }
        s->c[i] = c, s->h[i] = tc * og;
    }
}

/* One step: reads x [I], updates the state and its sensitivities, returns
 * y. If target is not NAN, adds the gradient of (y - target)^2 to g_rec and
 * g_out: available now, at step t. */
static inline double rt_step(rt_state *s, const double *x, double target) {
    const rt_net *net = s->net;
    int H = net->H;
    rt_preact(s, x);
    rt_cell(s);
    const tg_real *wo = net->p[RT_W_OUT]->data;
    double y = (double)net->p[RT_B_OUT]->data[0];
    for (int i = 0; i < H; i++) y += (double)wo[i] * s->h[i];
    if (isnan(target)) return y;
    double dy = 2 * (y - target);
    for (int i = 0; i < H; i++) {
        s->g_out[i] += dy * s->h[i];
        double dh = dy * (double)wo[i];
        const double *ph = s->Ph + i * s->n;
        for (int64_t k = 0; k < s->n; k++) s->g_rec[k] += dh * ph[k];
    }
    s->g_out[H] += dy;
    return y;
}

/* Copies the gathered gradient into the parameters' grad buffers (for an
 * optimizer, or to compare with the tape's). */
static inline void rt_to_grad(const rt_state *s) {
    const rt_net *net = s->net;
    int64_t k = 0;
    for (int p = RT_W_IH; p <= RT_B; p++)
        for (int64_t j = 0; j < net->p[p]->numel; j++) net->p[p]->grad[j] = (tg_real)s->g_rec[k++];
    for (int i = 0; i <= net->H; i++)
        net->p[i < net->H ? RT_W_OUT : RT_B_OUT]->grad[i < net->H ? i : 0] = (tg_real)s->g_out[i];
}

/* The same net on the tape over a whole sequence x [T, I] with targets [T]
 * (NAN: none): the loss sum_t (y_t - target_t)^2 and, after tg_backward,
 * the BPTT gradient in the parameters' grad buffers (added). Returns the
 * loss, or NAN with the tape's error printed. */
static inline double rt_bptt(const rt_net *net, const double *x, const double *target, int T) {
    int H = net->H;
    tg_tape *t = tg_tape_new();
    tg_tensor *const *p = net->p;
    tg_tensor *h = tg_zeros(t, TG_SHAPE(1, H)), *c = tg_zeros(t, TG_SHAPE(1, H));
    tg_tensor *loss = tg_zeros(t, TG_SCALAR);
    tg_real *xr = malloc((size_t)net->I * sizeof *xr);
    for (int s = 0; s < T && xr; s++) {
        for (int j = 0; j < net->I; j++) xr[j] = (tg_real)x[s * net->I + j];
        tg_tensor *a =
            tg_add(t, tg_linear(t, tg_from_array(t, TG_SHAPE(1, net->I), xr), p[RT_W_IH], p[RT_B]),
                   tg_linear(t, h, p[RT_W_HH], NULL));
        if (!net->lstm) {
            h = tg_tanh(t, a);
        } else {
            tg_tensor *g[4];
            tg_chunk(t, a, 4, 1, g);
            c = tg_add(t, tg_mul(t, tg_sigmoid(t, g[1]), c),
                       tg_mul(t, tg_sigmoid(t, g[0]), tg_tanh(t, g[2])));
            h = tg_mul(t, tg_sigmoid(t, g[3]), tg_tanh(t, c));
        }
        if (isnan(target[s])) continue;
        tg_real tv = (tg_real)target[s];
        tg_tensor *y = tg_linear(t, h, p[RT_W_OUT], p[RT_B_OUT]);
        loss = tg_add(t, loss, tg_mse(t, y, tg_from_array(t, TG_SHAPE(1, 1), &tv), TG_SUM));
    }
    free(xr);
    double lv = NAN;
    if (tg_backward(t, loss) == 0)
        lv = (double)loss->data[0];
    else
        fprintf(stderr, "rtrl: %s\n", tg_tape_error(t));
    tg_tape_free(t);
    return lv;
}

/* The largest |a - b| / max(1, |b|) between the RTRL gradient and the grad
 * buffers (holding the tape's). */
static inline double rt_grad_diff(const rt_state *s) {
    const rt_net *net = s->net;
    double worst = 0;
    int64_t k = 0;
    for (int p = RT_W_IH; p <= RT_B_OUT; p++)
        for (int64_t j = 0; j < net->p[p]->numel; j++) {
            double a = p <= RT_B ? s->g_rec[k++] : s->g_out[p == RT_W_OUT ? j : net->H];
            double b = (double)net->p[p]->grad[j], d = fabs(a - b) / fmax(1, fabs(b));
            worst = d > worst ? d : worst;
        }
    return worst;
}

/* Online learning of a stream x[0..n): at each step the net reads x[t],
 * predicts x[t+1], and only then sees it: the squared error goes to err[t]
 * (the prequential error: every prediction is made before its target is
 * known), and the gradient of that one step, known at once, moves the
 * weights (Adam, lr). The sensitivities were computed under the weights
 * before the move: RTRL's usual approximation when weights change
 * mid-stream. `passes` times over the stream, the state reset at the
 * start of each; err holds passes * (n - 1) values. 0, or -1 out of memory. */
static inline int rt_online(const rt_net *net, const double *x, int n, int passes, double lr,
                            double *err) {
    rt_state s;
    if (rt_state_init(&s, net) != 0) return -1;
    tg_optim *opt = tg_optim_adam((tg_tensor **)net->p, RT_NP, (tg_adam_options){.lr = lr});
    if (!opt) return rt_state_free(&s), -1;
    for (int pass = 0; pass < passes; pass++) {
        rt_state_reset(&s);
        for (int t = 0; t + 1 < n; t++) {
            rt_zero_grad(&s);
            double y = rt_step(&s, &x[t], x[t + 1]);
            *err++ = (y - x[t + 1]) * (y - x[t + 1]);
            rt_to_grad(&s);
            tg_optim_step(opt);
        }
    }
    tg_optim_free(opt);
    rt_state_free(&s);
    return 0;
}

#endif
