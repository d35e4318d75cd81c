/* Lesson 1: backpropagation through time, by hand and by the tape.
 *
 * A 3-step Elman RNN in the notation of Goodfellow, Bengio and Courville,
 * Deep Learning, section 10.2.2:
 *     a_t = b + W h_{t-1} + U x_t     h_t = tanh(a_t)
 *     o_t = c + V h_t                 L = sum_t -log softmax(o_t)[y_t]
 * reads "hel" one character at a time and is asked for "ell". The program
 * computes every gradient twice: once with the textbook's formulas (eqs.
 * 10.18 to 10.28) written out as loops, once with tg_backward on the tape,
 * and prints them side by side. Then it shows the tape, writes its picture,
 * and (with --step) lets you walk through the backward pass yourself.
 *
 *     bptt_by_hand                 the comparison, the tape table, bptt.dot, bptt.html
 *     bptt_by_hand --step          then the stepper, reading commands
 *     bptt_by_hand --script "bw n n n"   the stepper, non-interactively */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tapegrad.h"

enum { I = 4, H = 3, O = 4, T = 3 }; /* vocabulary h e l o; 3 hidden units */

static const char vocab[] = "helo";
static int id(char ch) {
    return (int)(strchr(vocab, ch) - vocab);
}

/* Largest |a - b| over n values, with a in double and b from the tape. */
static double maxdiff(const double *a, const tg_real *b, int n) {
    double d = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs(a[i] - (double)b[i]));
    return d;
}

/* One row of the matrix per line: by hand on the left, by tape on the right. */
static void side_by_side(const char *name, const double *hand, const tg_real *tape, int n,
                         int cols) {
    printf("%-10s %-30s %-30s %.1e\n", name, "", "", maxdiff(hand, tape, n));
    for (int i = 0; i < n; i += cols) {
        char a[64] = "", b[64] = "";
        for (int j = i; j < i + cols && j < n; j++) {
            snprintf(a + strlen(a), sizeof a - strlen(a), "% .4f ", hand[j]);
            snprintf(b + strlen(b), sizeof b - strlen(b), "% .4f ", (double)tape[j]);
        }
        printf("%-10s %-30s %-30s\n", "", a, b);
    }
}

int main(int argc, char **argv) {
    const char *script = NULL;
    int interactive = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--step"))
            interactive = 1;
        else if (!strcmp(argv[i], "--script") && i + 1 < argc)
            script = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--step | --script \"n n b ...\"]\n", argv[0]);
            return 2;
        }
    }

    /* ---- parameters, small random numbers -------------------------------- */
    tg_rng rng;
    tg_rng_seed(&rng, 10);
    tg_tensor *U = tg_param_new(TG_SHAPE(H, I)), *W = tg_param_new(TG_SHAPE(H, H));
    tg_tensor *V = tg_param_new(TG_SHAPE(O, H)), *b = tg_param_new(TG_SHAPE(H));
    tg_tensor *c = tg_param_new(TG_SHAPE(O));
    tg_tensor *params[] = {U, W, V, b, c};
    const char *names[] = {"U", "W", "V", "b", "c"};
    for (int k = 0; k < 5; k++)
        tg_init_uniform(params[k], &rng, -0.8, 0.8), params[k]->name = names[k];

    const char *in = "hel", *out = "ell";
    int64_t y[T];
    for (int t = 0; t < T; t++) y[t] = id(out[t]);

    /* ---- by tape: ordinary forward code, then one tg_backward ------------ */
    tg_tape *tape = tg_tape_new();
    tg_tensor *h = tg_zeros(tape, TG_SHAPE(1, H)), *hs[T], *xs[T];
    h->name = "h0";
    tg_tensor *Ls[T];
    static const char *xname[T] = {"x1 'h'", "x2 'e'", "x3 'l'"};
    for (int t = 0; t < T; t++) {
        char step[8];
        snprintf(step, sizeof step, "t=%d", t + 1);
        tg_scope_push(tape, step); /* everything of step t is drawn in one box */
        xs[t] = tg_zeros(tape, TG_SHAPE(1, I));
        xs[t]->data[id(in[t])] = 1, xs[t]->name = xname[t];
        tg_tensor *ux = tg_linear(tape, xs[t], U, b);
        tg_label(tape, ux, "b+Ux");
        tg_tensor *wh = tg_linear(tape, h, W, NULL);
        tg_label(tape, wh, "Wh");
        tg_tensor *a = tg_add(tape, ux, wh);
        tg_label(tape, a, "a");
        h = hs[t] = tg_tanh(tape, a);
        tg_label(tape, h, "h");
        tg_tensor *o = tg_linear(tape, h, V, c);
        tg_label(tape, o, "o");
        Ls[t] = tg_cross_entropy(tape, o, &y[t], TG_SUM, TG_NO_IGNORE);
        tg_label(tape, Ls[t], "L");
        tg_scope_pop(tape);
    }
    tg_tensor *L12 = tg_add(tape, Ls[0], Ls[1]);
    tg_label(tape, L12, "L_1+L_2");
    tg_tensor *L = tg_add(tape, L12, Ls[2]);
    tg_label(tape, L, "L");
    if (tg_backward(tape, L) != 0) {
        fprintf(stderr, "%s\n", tg_tape_error(tape));
        return 1;
    }

    /* ---- by hand: the textbook's equations, in double -------------------- */
    double Uv[H][I], Wv[H][H], Vv[O][H], bv[H], cv[O];
    for (int i = 0; i < H; i++) {
        for (int j = 0; j < I; j++) Uv[i][j] = U->data[i * I + j];
        for (int j = 0; j < H; j++) Wv[i][j] = W->data[i * H + j];
        bv[i] = b->data[i];
    }
    for (int i = 0; i < O; i++) {
        for (int j = 0; j < H; j++) Vv[i][j] = V->data[i * H + j];
        cv[i] = c->data[i];
    }
    double hh[T + 1][H] = {{0}}, yhat[T][O], x[T][I] = {{0}}; /* hh[t + 1] is h_t */
    for (int t = 0; t < T; t++) {
        x[t][id(in[t])] = 1;
        for (int i = 0; i < H; i++) {
            double a = bv[i];
            for (int j = 0; j < H; j++) a += Wv[i][j] * hh[t][j];
            for (int j = 0; j < I; j++) a += Uv[i][j] * x[t][j];
            hh[t + 1][i] = tanh(a);
        }
        double o[O], m = -INFINITY, z = 0;
        for (int i = 0; i < O; i++) {
            o[i] = cv[i];
            for (int j = 0; j < H; j++) o[i] += Vv[i][j] * hh[t + 1][j];
            m = fmax(m, o[i]);
        }
        for (int i = 0; i < O; i++) z += exp(o[i] - m);
        for (int i = 0; i < O; i++) yhat[t][i] = exp(o[i] - m) / z;
    }
    double go[T][O], gh[T][H];
    for (int t = 0; t < T; t++) /* (10.18) grad o_t = yhat_t - one_hot(y_t) */
        for (int i = 0; i < O; i++) go[t][i] = yhat[t][i] - (i == y[t]);
    for (int t = T - 1; t >= 0; t--) /* (10.19), (10.21) */
        for (int i = 0; i < H; i++) {
            double s = 0;
            for (int k = 0; k < O; k++) s += Vv[k][i] * go[t][k]; /* V^T grad o_t */
            if (t < T - 1) /* + W^T diag(1 - h_{t+1}^2) grad h_{t+1} */
                for (int k = 0; k < H; k++)
                    s += Wv[k][i] * (1 - hh[t + 2][k] * hh[t + 2][k]) * gh[t + 1][k];
            gh[t][i] = s;
        }
    double gU[H * I] = {0}, gW[H * H] = {0}, gV[O * H] = {0}, gb[H] = {0}, gc[O] = {0};
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < O; i++) {
            gc[i] += go[t][i];                                                    /* (10.22) */
            for (int j = 0; j < H; j++) gV[i * H + j] += go[t][i] * hh[t + 1][j]; /* (10.24) */
        }
        for (int i = 0; i < H; i++) {
            double d = (1 - hh[t + 1][i] * hh[t + 1][i]) * gh[t][i]; /* diag(1 - h_t^2) grad h_t */
            gb[i] += d;                                              /* (10.23) */
            for (int j = 0; j < H; j++) gW[i * H + j] += d * hh[t][j]; /* (10.25-26): h_{t-1}^T */
            for (int j = 0; j < I; j++) gU[i * I + j] += d * x[t][j];  /* (10.27-28): x_t^T */
        }
    }

    /* ---- side by side ---------------------------------------------------- */
    printf("Lesson 1: BPTT by hand vs by tape (3-step Elman RNN, \"hel\" -> \"ell\")\n\n");
    printf("loss L = %.6f\n\n", (double)L->data[0]);
    printf("%-10s %-30s %-30s %s\n", "gradient", "by hand (eqs. 10.18-10.28)",
           "by tape (tg_backward)", "max |diff|");
    double worst = 0;
    const double *hand[] = {gU, gW, gV, gb, gc};
    for (int k = 0; k < 5; k++) {
        char name[16];
        snprintf(name, sizeof name, "grad %s", names[k]);
        side_by_side(name, hand[k], params[k]->grad, (int)params[k]->numel,
                     params[k]->ndim == 2 ? (int)params[k]->shape[1] : (int)params[k]->numel);
        worst = fmax(worst, maxdiff(hand[k], params[k]->grad, (int)params[k]->numel));
    }
    for (int t = 0; t < T; t++) {
        char name[16];
        snprintf(name, sizeof name, "grad h_%d", t + 1);
        side_by_side(name, gh[t], hs[t]->grad, H, H);
        worst = fmax(worst, maxdiff(gh[t], hs[t]->grad, H));
    }
    double tol = sizeof(tg_real) == sizeof(double) ? 1e-12 : 1e-5;
    printf("\nlargest difference %.2e: %s\n\n", worst,
           worst <= tol ? "the tape computes exactly the textbook's sums" : "MISMATCH");

    printf("The tape that did it (%zu nodes):\n\n", tg_tape_node_count(tape));
    tg_tape_print(tape, stdout);
    FILE *dot = fopen("bptt.dot", "w");
    if (dot) {
        tg_tape_dot(tape, dot, &(tg_dot_options){.grads = true, .title = "3-step Elman RNN, BPTT"});
        fclose(dot);
        printf("\nwrote bptt.dot (draw it: dot -Tsvg bptt.dot -o bptt.svg)\n");
    }
    FILE *html = fopen("bptt.html", "w");
    if (html) {
        tg_tape_html(tape, html, &(tg_html_options){.title = "3-step Elman RNN, BPTT"});
        fclose(html);
        printf("wrote bptt.html (open it in a browser: a slider through forward and backward)\n");
    }

    if (interactive || script) {
        char err[128];
        tg_stepper *s = tg_stepper_new(tape, err, sizeof err);
        if (!s)
            fprintf(stderr, "%s\n", err);
        else if (interactive)
            tg_stepper_interact(s, stdin, stdout);
        else
            tg_stepper_script(s, script, stdout);
        tg_stepper_free(s);
    }
    tg_tape_free(tape);
    for (int k = 0; k < 5; k++) tg_tensor_free(params[k]);
    return worst <= tol ? 0 : 1;
}
