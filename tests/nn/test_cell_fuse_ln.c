/* Fusion of a layer-norm LSTM (Ba, Kiros and Hinton 2016) written from tape
 * ops: per-row reductions (the norms' means and variances, kept [B, 1] and
 * broadcast over the row), the cell's own parameters as broadcast [H] and
 * [4H] inputs, a constant the step makes, pow and clamp. Fused equals the
 * same row composed (outputs and every gradient), a double gradcheck goes
 * through the fused nodes, the numbers are the same at 1 and 2 threads,
 * and steps the program must not take run composed; all of it again with
 * the norms as the layer-norm op with its gain and bias (one instruction
 * of three operands). */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#ifdef TG_DOUBLE
#define TOL 1e-12
#else
#define TOL 1e-6
#endif

/* x's rows normalised, times gain plus bias. The three norms are written
 * three ways so the program meets sqrt/div, pow and a constant tensor. */
static tg_tensor *layer_norm(tg_tape *t, tg_tensor *x, tg_tensor *gain, tg_tensor *bias, int way) {
    tg_tensor *d = tg_sub(t, x, tg_mean_axis(t, x, 1, true));
    tg_tensor *var = tg_mean_axis(t, tg_square(t, d), 1, true), *n;
    if (way == 0) {
        n = tg_div(t, d, tg_sqrt(t, tg_add_scalar(t, var, 1e-5)));
    } else if (way == 1) {
        tg_tensor *eps = tg_full(t, TG_SHAPE(1), (tg_real)1e-5);
        n = tg_mul(t, d, tg_pow(t, tg_add(t, var, eps), -0.5));
    } else {
        tg_tensor *sd = tg_sqrt(t, tg_add_scalar(t, tg_sum_axis(t, tg_square(t, d), -1, true), 0));
        n = tg_div(t, tg_scale(t, d, sqrt((double)x->shape[1])), tg_add_scalar(t, sd, 1e-3));
    }
    return tg_add(t, tg_mul(t, n, gain), bias);
}

/* The layer norm as the one op, with its gain and bias: a program runs it
 * as one instruction of three operands. */
static tg_tensor *layer_norm_op(tg_tape *t, tg_tensor *x, tg_tensor *gain, tg_tensor *bias,
                                int way) {
    (void)way;
    return tg_layer_norm(t, x, gain, bias, 1e-5);
}

/* gates = LN(gx) + LN(h W_hh^T + b_hh); c' = f c + i g;
 * h' = o tanh(LN(c')), the output gate a hard sigmoid (a clamp). The
 * norms from elementary ops, or (cell "ln_op") each the one op. */
static int ln_lstm_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    tg_tensor *(*ln)(tg_tape *, tg_tensor *, tg_tensor *, tg_tensor *, int) =
        strcmp(cell->name, "ln_op") ? layer_norm : layer_norm_op;
    tg_tensor **p = io->param, *g[4];
    tg_tensor *pre = tg_add(t, ln(t, io->gx, p[0], p[1], 1),
                            ln(t, tg_cell_recurrent(t, io), p[2], p[3], 0));
    if (tg_chunk(t, pre, 4, 1, g) != 4) return -1;
    tg_tensor *i = tg_sigmoid(t, g[0]), *f = tg_sigmoid(t, g[1]), *cand = tg_tanh(t, g[2]);
    tg_tensor *o = tg_clamp(t, tg_add_scalar(t, tg_scale(t, g[3], 0.2), 0.5), 0, 1);
    io->next[1] = tg_add(t, tg_mul(t, f, io->state[1]), tg_mul(t, i, cand));
    io->next[0] = tg_mul(t, o, tg_tanh(t, ln(t, io->next[1], p[4], p[5], 2)));
    return io->next[0] ? 0 : -1;
}

/* kind 0: the norms from elementary ops; 1: the layer-norm op */
static tg_cell ln_lstm_cell(bool fuse, int kind) {
    tg_cell c = {.name = kind ? "ln_op" : "ln_lstm",
                 .scope = "ln_lstm",
                 .gates = 4,
                 .n_states = 2,
                 .state = {{"h", "hidden", "h0"}, {"c", "cell", "c0"}},
                 .composed = ln_lstm_step,
                 .fuse = fuse,
                 .n_params = 6};
    const char *names[6] = {"ln_x_gain", "ln_x_bias", "ln_h_gain",
                            "ln_h_bias", "ln_c_gain", "ln_c_bias"};
    for (int k = 0; k < 6; k++) /* uniform starts: gains of 1 would hide a wrong rule */
        c.param[k] = (tg_cell_param){.name = names[k], .width = k < 4 ? 4 : 1, .uniform = true};
    return c;
}

static tg_rnn *new_layer(const tg_cell *cell, int64_t in, int64_t hidden, int layers, bool bi) {
    tg_rng r;
    tg_rng_seed(&r, 21);
    tg_rnn *m = tg_rnn_new((tg_rnn_options){.cell = cell,
                                            .input_size = in,
                                            .hidden_size = hidden,
                                            .num_layers = layers,
                                            .bidirectional = bi},
                           &r, NULL, 0);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* out and every parameter's gradient of layer m on x with lengths. */
typedef struct run {
    tg_tape *t;
    tg_rnn_result res;
    bool fused;
} run;

static run run_layer(tg_rnn *m, const tg_tensor *x0, const int64_t *lens) {
    run r = {.t = tg_tape_new()};
    tg_tensor *x = tg_from_array(r.t, tg_tensor_shape(x0), x0->data);
    ck_assert_int_eq(tg_rnn_forward(r.t, m, x, NULL, NULL, lens, &r.res), 0);
    tg_tensor *loss = tg_add(r.t, tg_sum(r.t, tg_square(r.t, r.res.output)),
                             tg_sum(r.t, tg_tanh(r.t, r.res.h_n)));
    ck_assert_int_eq(tg_backward(r.t, loss), 0);
    r.fused = test_tape_has(r.t, " fused ");
    return r;
}

static void ck_close(const tg_real *a, const tg_real *b, int64_t n, double tol, const char *what) {
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)a[i] - b[i]) <= tol * (1 + fabs((double)b[i])),
                      "%s[%lld]: %.12g vs %.12g", what, (long long)i, (double)a[i], (double)b[i]);
}

/* Layers a and b (same parameters) give outputs and gradients within tol
 * (0: bit for bit). */
static void ck_same_runs(tg_rnn *a, const run *ra, tg_rnn *b, const run *rb, double tol) {
    const tg_tensor *ya = ra->res.output, *yb = rb->res.output;
    if (tol == 0)
        ck_assert_int_eq(memcmp(ya->data, yb->data, (size_t)ya->numel * sizeof(tg_real)), 0);
    ck_close(ya->data, yb->data, ya->numel, tol, "output");
    const tg_params *pa = tg_module_params(&a->base), *pb = tg_module_params(&b->base);
    ck_assert_int_eq(pa->n, pb->n);
    for (int k = 0; k < pa->n; k++) {
        const tg_tensor *x = pa->items[k].tensor, *y = pb->items[k].tensor;
        if (tol == 0)
            ck_assert_msg(memcmp(x->grad, y->grad, (size_t)x->numel * sizeof(tg_real)) == 0,
                          "%s's gradient differs", pa->items[k].name);
        ck_close(x->grad, y->grad, x->numel, tol, pa->items[k].name);
    }
}

static tg_tensor *inputs(int64_t T, int64_t B, int64_t I) {
    tg_rng r;
    tg_rng_seed(&r, 22);
    return test_param(&r, TG_SHAPE(T, B, I));
}

/* Fused equals composed: bidirectional, 2 layers, lengths. */
START_TEST(fused_ln_lstm_equals_composed) {
    tg_cell cells[2] = {ln_lstm_cell(false, _i), ln_lstm_cell(true, _i)};
    tg_rnn *m[2] = {new_layer(&cells[0], 3, 5, 2, true), new_layer(&cells[1], 3, 5, 2, true)};
    tg_tensor *x = inputs(5, 3, 3);
    int64_t lens[3] = {5, 2, 4};
    run r[2] = {run_layer(m[0], x, lens), run_layer(m[1], x, lens)};
    ck_assert(!r[0].fused);
    ck_assert(r[1].fused);
    ck_assert_int_lt(tg_tape_node_count(r[1].t), tg_tape_node_count(r[0].t) / (_i ? 2 : 4));
    ck_same_runs(m[1], &r[1], m[0], &r[0], TOL);
    for (int w = 0; w < 2; w++) tg_tape_free(r[w].t), tg_module_free(&m[w]->base);
    tg_tensor_free(x);
}
END_TEST

/* Every gradient (x, h0, each weight and each norm's gain and bias)
 * passes a double gradcheck through the fused nodes. */
START_TEST(fused_ln_lstm_gradcheck) {
    tg_cell cell = ln_lstm_cell(true, _i);
    tg_rnn *m = new_layer(&cell, 3, 3, 1, true);
    tg_rng r;
    tg_rng_seed(&r, 23);
    int64_t lens[2] = {4, 2};
    tg_tensor *in[32] = {test_param(&r, TG_SHAPE(4, 2, 3)), test_param(&r, TG_SHAPE(2, 2, 3))};
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_int_le(p->n, 30);
    for (int k = 0; k < p->n; k++) in[2 + k] = p->items[k].tensor;
    test_rnn_ctx c = {m, lens};
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_nonnull(test_rnn_loss(t, in, &c));
    ck_assert(test_tape_has(t, " fused "));
    tg_tape_free(t);
    ck_assert_gradcheck(test_rnn_loss, &c, 2 + p->n, in);
    tg_tensor_free(in[0]), tg_tensor_free(in[1]);
    tg_module_free(&m->base);
}
END_TEST

/* One and two threads give the same bits, the parameters' gradients
 * (summed over rows) included: 21 rows make blocks of unequal work. */
START_TEST(fused_ln_lstm_threads) {
    tg_cell cell = ln_lstm_cell(true, _i);
    tg_rnn *m[2] = {new_layer(&cell, 4, 64, 1, false), new_layer(&cell, 4, 64, 1, false)};
    tg_tensor *x = inputs(3, 21, 4);
    int before = tg_threads();
    run r[2];
    for (int w = 0; w < 2; w++) {
        tg_set_threads(w + 1);
        r[w] = run_layer(m[w], x, NULL);
        ck_assert(r[w].fused);
    }
    tg_set_threads(before);
    ck_same_runs(m[1], &r[1], m[0], &r[0], 0);
    for (int w = 0; w < 2; w++) tg_tape_free(r[w].t), tg_module_free(&m[w]->base);
    tg_tensor_free(x);
}
END_TEST

/* h W_hh^T without the layer's b_hh is not the recurrent product the
 * program takes as an input (matched by x, W and b, not by place): the
 * step runs composed and keeps its numbers. */
static int no_bias_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *gh = tg_linear(t, io->state[0], io->w_hh, NULL);
    io->next[0] = tg_tanh(t, tg_add(t, io->gx, gh));
    return io->next[0] ? 0 : -1;
}

/* A step reading a tensor from outside that wants a gradient (a weight
 * the row does not declare) cannot fuse either. */
static int outside_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *pre = tg_add(t, io->gx, tg_cell_recurrent(t, io));
    io->next[0] = tg_tanh(t, tg_mul(t, pre, io->b_hh));
    return io->next[0] ? 0 : -1;
}

static void ck_runs_composed(tg_cell_step_fn step) {
    tg_cell cells[2];
    for (int w = 0; w < 2; w++)
        cells[w] = (tg_cell){.name = "odd",
                             .scope = "odd",
                             .gates = 1,
                             .n_states = 1,
                             .state = {{"h", "hidden", "h0"}},
                             .composed = step,
                             .fuse = w == 1};
    tg_rnn *m[2] = {new_layer(&cells[0], 2, 3, 1, false), new_layer(&cells[1], 2, 3, 1, false)};
    tg_tensor *x = inputs(3, 2, 2);
    run r[2] = {run_layer(m[0], x, NULL), run_layer(m[1], x, NULL)};
    ck_assert(!r[1].fused);
    ck_same_runs(m[1], &r[1], m[0], &r[0], 0);
    for (int w = 0; w < 2; w++) tg_tape_free(r[w].t), tg_module_free(&m[w]->base);
    tg_tensor_free(x);
}

START_TEST(steps_the_program_must_not_take_run_composed) {
    ck_runs_composed(no_bias_step);
    ck_runs_composed(outside_step);
}
END_TEST

TCase *tcase_cell_fuse_ln(void) {
    TCase *tc = tcase_create("cell_fuse_ln");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, fused_ln_lstm_equals_composed, 0, 2);
    tcase_add_loop_test(tc, fused_ln_lstm_gradcheck, 0, 2);
    tcase_add_loop_test(tc, fused_ln_lstm_threads, 0, 2);
    tcase_add_test(tc, steps_the_program_must_not_take_run_composed);
    return tc;
}
