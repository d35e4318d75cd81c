/* Recurrent cells and layers on their own: cell values against the equations
 * written out as loops, gradient checks (double build) for every cell and
 * for layer configurations (stacked, bidirectional, variable lengths,
 * dropout), exact zeros at padded steps, dropout semantics, parameter names
 * and error messages. PyTorch parity is in test_rnn_parity.c. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static int gates(tg_rnn_mode mode) {
    return mode == TG_LSTM ? 4 : mode == TG_GRU ? 3 : 1;
}
static double sig(double v) {
    return 1 / (1 + exp(-v));
}

/* One step of PyTorch's equations for batch row b, by loops in double:
 * x [I], h and c [H], weights row-major [G*H, I] and [G*H, H], biases
 * [G*H] or NULL. */
static void ref_step(tg_rnn_mode mode, int64_t I, int64_t H, const tg_real *x, const tg_real *h,
                     const tg_real *c, const tg_real *wih, const tg_real *whh, const tg_real *bih,
                     const tg_real *bhh, double *h_out, double *c_out) {
    int64_t GH = gates(mode) * H;
    double gi[64], gh[64];
    ck_assert_int_le(GH, 64);
    for (int64_t g = 0; g < GH; g++) {
        gi[g] = bih ? bih[g] : 0;
        gh[g] = bhh ? bhh[g] : 0;
        for (int64_t k = 0; k < I; k++) gi[g] += (double)wih[g * I + k] * x[k];
        for (int64_t k = 0; k < H; k++) gh[g] += (double)whh[g * H + k] * h[k];
    }
    for (int64_t j = 0; j < H; j++) {
        switch (mode) {
        case TG_RNN_TANH: h_out[j] = tanh(gi[j] + gh[j]); break;
        case TG_RNN_RELU: h_out[j] = fmax(0, gi[j] + gh[j]); break;
        case TG_LSTM: {
            double i = sig(gi[j] + gh[j]), f = sig(gi[H + j] + gh[H + j]);
            double g = tanh(gi[2 * H + j] + gh[2 * H + j]), o = sig(gi[3 * H + j] + gh[3 * H + j]);
            c_out[j] = f * c[j] + i * g;
            h_out[j] = o * tanh(c_out[j]);
            break;
        }
        case TG_GRU: {
            double r = sig(gi[j] + gh[j]), z = sig(gi[H + j] + gh[H + j]);
            double n = tanh(gi[2 * H + j] + r * gh[2 * H + j]);
            h_out[j] = (1 - z) * n + z * h[j];
            break;
        }
        }
    }
}

/* ---- cells ---------------------------------------------------------------- */
enum { CB = 2, CI = 3, CH = 4 };

/* in: x [B,I], h [B,H], c [B,H] (LSTM only), w_ih, w_hh, b_ih, b_hh. */
typedef struct cell_case {
    tg_rnn_mode mode;
    bool bias;
} cell_case;

static tg_tensor *run_cell(tg_tape *t, tg_tensor *const *in, void *ctx) {
    const cell_case *cc = ctx;
    bool lstm = cc->mode == TG_LSTM;
    tg_tensor *const *w = in + (lstm ? 3 : 2);
    tg_tensor *bih = cc->bias ? w[2] : NULL, *bhh = cc->bias ? w[3] : NULL;
    switch (cc->mode) {
    case TG_RNN_TANH:
    case TG_RNN_RELU:
        return tg_rnn_cell(t, in[0], in[1], w[0], w[1], bih, bhh, cc->mode == TG_RNN_RELU);
    case TG_LSTM: {
        tg_tensor *hc[2];
        if (tg_lstm_cell(t, in[0], in[1], in[2], w[0], w[1], bih, bhh, &hc[0], &hc[1]) != 0)
            return NULL;
        return tg_concat(t, 2, hc, 1); /* [B, 2H]: both outputs in one check */
    }
    case TG_GRU: return tg_gru_cell(t, in[0], in[1], w[0], w[1], bih, bhh);
    }
    return NULL;
}

/* Fills in[] for a cell case; returns the count. */
static int cell_inputs(tg_rng *r, const cell_case *cc, tg_tensor **in) {
    int n = 0, G = gates(cc->mode);
    in[n++] = test_param(r, TG_SHAPE(CB, CI));
    in[n++] = test_param(r, TG_SHAPE(CB, CH));
    if (cc->mode == TG_LSTM) in[n++] = test_param(r, TG_SHAPE(CB, CH));
    in[n++] = test_param(r, TG_SHAPE(G * CH, CI));
    in[n++] = test_param(r, TG_SHAPE(G * CH, CH));
    if (cc->bias) {
        in[n++] = test_param(r, TG_SHAPE(G * CH));
        in[n++] = test_param(r, TG_SHAPE(G * CH));
    }
    return n;
}

static const cell_case CELLS[] = {
    {TG_RNN_TANH, true},  {TG_RNN_RELU, true}, {TG_LSTM, true}, {TG_GRU, true},
    {TG_RNN_TANH, false}, {TG_LSTM, false},    {TG_GRU, false},
};
#define N_CELLS ((int)(sizeof CELLS / sizeof CELLS[0]))

START_TEST(cell_values) {
    const cell_case *cc = &CELLS[_i];
    tg_rng r;
    tg_rng_seed(&r, 100 + (uint64_t)_i);
    tg_tensor *in[7];
    int n = cell_inputs(&r, cc, in);
    bool lstm = cc->mode == TG_LSTM;
    tg_tensor *const *w = in + (lstm ? 3 : 2);
    tg_tape *t = tg_tape_new();
    tg_tensor *y = run_cell(t, in, (void *)cc);
    ck_assert_msg(y != NULL, "%s", tg_tape_error(t));
    ck_assert_int_eq(y->ndim, 2);
    ck_assert_int_eq(y->shape[0], CB);
    ck_assert_int_eq(y->shape[1], lstm ? 2 * CH : CH);
    for (int64_t b = 0; b < CB; b++) {
        double h[CH], c[CH];
        ref_step(cc->mode, CI, CH, in[0]->data + b * CI, in[1]->data + b * CH,
                 lstm ? in[2]->data + b * CH : NULL, w[0]->data, w[1]->data,
                 cc->bias ? w[2]->data : NULL, cc->bias ? w[3]->data : NULL, h, c);
        for (int64_t j = 0; j < CH; j++) {
            ck_assert_close(tg_at(y, b * y->shape[1] + j), h[j], TG_TOL);
            if (lstm) ck_assert_close(tg_at(y, b * y->shape[1] + CH + j), c[j], TG_TOL);
        }
    }
    tg_tape_free(t);
    for (int i = 0; i < n; i++) tg_tensor_free(in[i]);
}
END_TEST

/* With respect to x, h (c), both weights and both biases. */
START_TEST(cell_gradcheck) {
    const cell_case *cc = &CELLS[_i];
    tg_rng r;
    tg_rng_seed(&r, 200 + (uint64_t)_i);
    tg_tensor *in[7];
    int n = cell_inputs(&r, cc, in);
    ck_assert_gradcheck(run_cell, (void *)cc, n, in);
    for (int i = 0; i < n; i++) tg_tensor_free(in[i]);
}
END_TEST

/* The cells name the argument whose shape is wrong. */
START_TEST(cell_bad_shapes) {
    tg_rng r;
    tg_rng_seed(&r, 7);
    tg_tensor *x = test_param(&r, TG_SHAPE(2, 3)), *h = test_param(&r, TG_SHAPE(2, 4));
    tg_tensor *wih = test_param(&r, TG_SHAPE(12, 3)), *whh = test_param(&r, TG_SHAPE(12, 4));
    tg_tensor *whh_elman = test_param(&r, TG_SHAPE(4, 4));
    tg_tape *t = tg_tape_new();
    /* GRU-sized w_ih (3H rows) in an Elman cell: the two products differ */
    ck_assert_ptr_null(tg_rnn_cell(t, x, h, wih, whh_elman, NULL, NULL, false));
    ck_assert_str_eq(tg_tape_error(t), "tg_rnn_cell: w_ih [12,3]: expected [4,3]");
    tg_tape_reset(t);
    /* an x of the wrong width: h passed as x */
    ck_assert_ptr_null(tg_gru_cell(t, h, h, wih, whh, NULL, NULL));
    ck_assert_str_eq(tg_tape_error(t), "tg_gru_cell: w_ih [12,3]: expected [12,4]");
    tg_tape_reset(t);
    /* GRU-sized weights (12 rows) in an LSTM of H = 4 cut into gates of 3 */
    tg_tensor *ho, *co;
    ck_assert_int_eq(tg_lstm_cell(t, x, h, h, wih, whh, NULL, NULL, &ho, &co), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_lstm_cell: w_ih [12,3]: expected [16,3]");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_lstm_cell(t, x, h, NULL, wih, whh, NULL, NULL, &ho, &co), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_lstm_cell: x, h, c, w_ih and w_hh are required");
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_tensor_free(h);
    tg_tensor_free(wih);
    tg_tensor_free(whh);
    tg_tensor_free(whh_elman);
}
END_TEST

/* ---- layers: gradient checks ------------------------------------------------------ */
typedef struct layer_case {
    const char *name;
    tg_rnn_options o;
    int64_t T, B;
    bool h0, c0;
    int64_t lengths[3]; /* lengths[0] == 0: none */
    bool train;         /* training mode; the masks' rng is reseeded every call */
} layer_case;

#define OPT(...) ((tg_rnn_options){.input_size = 3, .hidden_size = 3, __VA_ARGS__})
static const layer_case LAYERS[] = {
    {"elman tanh", OPT(.mode = TG_RNN_TANH), 4, 2, false, false, {0}, false},
    {"elman relu, h0", OPT(.mode = TG_RNN_RELU), 4, 2, true, false, {0}, false},
    {"lstm, h0 c0", OPT(.mode = TG_LSTM), 4, 2, true, true, {0}, false},
    {"gru, h0", OPT(.mode = TG_GRU), 4, 2, true, false, {0}, false},
    {"lstm 3 layers bidir, lengths, h0 c0",
     OPT(.mode = TG_LSTM, .num_layers = 3, .bidirectional = true),
     4,
     3,
     true,
     true,
     {4, 2, 1},
     false},
    {"gru 3 layers bidir, batch_first",
     OPT(.mode = TG_GRU, .num_layers = 3, .bidirectional = true, .batch_first = true),
     4,
     2,
     false,
     false,
     {0},
     false},
    {"elman tanh 3 layers, lengths, batch_first",
     OPT(.mode = TG_RNN_TANH, .num_layers = 3, .batch_first = true),
     4,
     2,
     false,
     false,
     {3, 4},
     false},
    {"gru bidir, lengths, h0",
     OPT(.mode = TG_GRU, .bidirectional = true),
     4,
     3,
     true,
     false,
     {1, 4, 2},
     false},
    {"elman relu 2 layers bidir, lengths",
     OPT(.mode = TG_RNN_RELU, .num_layers = 2, .bidirectional = true),
     4,
     2,
     false,
     false,
     {2, 4},
     false},
    {"lstm 2 layers bidir, no bias",
     OPT(.mode = TG_LSTM, .num_layers = 2, .bidirectional = true, .no_bias = true),
     3,
     2,
     false,
     false,
     {0},
     false},
    {"lstm 2 layers, dropout 0, training",
     OPT(.mode = TG_LSTM, .num_layers = 2, .dropout = 0),
     4,
     2,
     false,
     false,
     {0},
     true},
    {"gru 2 layers, dropout 0.5, eval",
     OPT(.mode = TG_GRU, .num_layers = 2, .dropout = 0.5),
     4,
     2,
     true,
     false,
     {0},
     false},
    {"lstm 2 layers bidir, dropout 0.4, training (fixed masks)",
     OPT(.mode = TG_LSTM, .num_layers = 2, .bidirectional = true, .dropout = 0.4, .seed = 9),
     4,
     2,
     false,
     false,
     {3, 4},
     true},
};
#define N_LAYERS ((int)(sizeof LAYERS / sizeof LAYERS[0]))

typedef struct layer_ctx {
    tg_rnn *m;
    const layer_case *c;
} layer_ctx;

/* output, h_n and c_n flattened into one vector. */
static tg_tensor *flatten_result(tg_tape *t, const tg_rnn_result *r) {
    tg_tensor *parts[3];
    int n = 0;
    parts[n++] = tg_reshape(t, r->output, TG_SHAPE(-1));
    parts[n++] = tg_reshape(t, r->h_n, TG_SHAPE(-1));
    if (r->c_n) parts[n++] = tg_reshape(t, r->c_n, TG_SHAPE(-1));
    return tg_concat(t, n, parts, 0);
}

/* in: x, then h0 and c0 when the case has them, then the parameters. */
static tg_tensor *run_layer(tg_tape *t, tg_tensor *const *in, void *ctx) {
    const layer_ctx *lc = ctx;
    const layer_case *c = lc->c;
    if (c->train) tg_rng_seed(&lc->m->rng, c->o.seed); /* the same masks every call */
    tg_rnn_result r;
    tg_tensor *h0 = c->h0 ? in[1] : NULL, *c0 = c->c0 ? in[1 + c->h0] : NULL;
    if (tg_rnn_forward(t, lc->m, in[0], h0, c0, c->lengths[0] ? c->lengths : NULL, &r) != 0)
        return NULL;
    return flatten_result(t, &r);
}

static tg_rnn *new_rnn(tg_rnn_options o, uint64_t seed) {
    tg_rng init;
    tg_rng_seed(&init, seed);
    char err[256] = "";
    tg_rnn *m = tg_rnn_new(o, &init, err, sizeof err);
    ck_assert_msg(m != NULL, "tg_rnn_new: %s", err);
    return m;
}

static tg_shape input_shape(const tg_rnn_options *o, int64_t T, int64_t B) {
    return o->batch_first ? TG_SHAPE(B, T, o->input_size) : TG_SHAPE(T, B, o->input_size);
}

START_TEST(layer_gradcheck) {
    const layer_case *c = &LAYERS[_i];
    tg_rnn *m = new_rnn(c->o, 300 + (uint64_t)_i);
    tg_module_train(&m->base, c->train);
    tg_rng r;
    tg_rng_seed(&r, 400 + (uint64_t)_i);
    const tg_params *ps = tg_module_params(&m->base);
    int L = c->o.num_layers ? c->o.num_layers : 1, D = c->o.bidirectional ? 2 : 1;
    tg_tensor *in[40];
    int n = 0, n_own = 0;
    in[n++] = test_param(&r, input_shape(&c->o, c->T, c->B));
    if (c->h0) in[n++] = test_param(&r, TG_SHAPE(L * D, c->B, c->o.hidden_size));
    if (c->c0) in[n++] = test_param(&r, TG_SHAPE(L * D, c->B, c->o.hidden_size));
    n_own = n;
    ck_assert_int_le(n + ps->n, 40);
    for (int i = 0; i < ps->n; i++) in[n++] = ps->items[i].tensor;
    layer_ctx lc = {m, c};
    /* the function must run at all (gradcheck is compiled out in float) */
    tg_tape *t = tg_tape_new();
    ck_assert_msg(run_layer(t, in, &lc) != NULL, "%s: %s", c->name, tg_tape_error(t));
    tg_tape_free(t);
    ck_assert_gradcheck(run_layer, &lc, n, in);
    for (int i = 0; i < n_own; i++) tg_tensor_free(in[i]);
    tg_module_free(&m->base);
}
END_TEST

/* ---- layers: semantics ------------------------------------------------------------- */
/* With lengths: outputs at padded steps are exactly 0, the input's gradient
 * there is exactly 0, and each sequence gives the same output and final
 * states as when run alone over its own length. */
START_TEST(layer_padding_is_exact) {
    enum { T = 5, B = 3, I = 3, H = 4 };
    const int64_t lengths[B] = {5, 2, 3};
    tg_rnn_options o = {.mode = TG_LSTM,
                        .input_size = I,
                        .hidden_size = H,
                        .num_layers = 2,
                        .bidirectional = true,
                        .batch_first = true};
    tg_rnn *m = new_rnn(o, 11);
    tg_rng r;
    tg_rng_seed(&r, 12);
    tg_tensor *x = test_param(&r, TG_SHAPE(B, T, I));
    tg_tape *t = tg_tape_new();
    tg_rnn_result res;
    ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, NULL, lengths, &res), 0);
    tg_tensor *y = tg_contiguous(t, res.output);                                /* [B, T, 2H] */
    tg_tensor *hn = tg_contiguous(t, res.h_n), *cn = tg_contiguous(t, res.c_n); /* [4, B, H] */
    ck_assert_int_eq(y->shape[2], 2 * H);
    tg_tensor *loss =
        tg_add(t, tg_sum(t, tg_mul(t, y, tg_rand_uniform(t, &r, TG_SHAPE(B, T, 2 * H), 0.5, 1.5))),
               tg_add(t, tg_sum(t, hn), tg_sum(t, cn)));
    ck_assert_int_eq(tg_backward(t, loss), 0);
    for (int64_t b = 0; b < B; b++)
        for (int64_t s = 0; s < T; s++) {
            bool pad = s >= lengths[b];
            double gsum = 0;
            for (int64_t j = 0; j < 2 * H; j++)
                if (pad)
                    ck_assert_msg(y->data[(b * T + s) * 2 * H + j] == 0,
                                  "output[%lld,%lld,%lld] = %g", (long long)b, (long long)s,
                                  (long long)j, (double)y->data[(b * T + s) * 2 * H + j]);
            for (int64_t k = 0; k < I; k++) {
                tg_real g = x->grad[(b * T + s) * I + k];
                if (pad)
                    ck_assert_msg(g == 0, "grad x[%lld,%lld,%lld] = %g", (long long)b, (long long)s,
                                  (long long)k, (double)g);
                gsum += fabs((double)g);
            }
            if (!pad)
                ck_assert_msg(gsum > 0, "no gradient at a real step [%lld,%lld]", (long long)b,
                              (long long)s);
        }
    /* each sequence alone, without lengths */
    for (int64_t b = 0; b < B; b++) {
        int64_t len = lengths[b];
        tg_tensor *xb = tg_narrow(t, tg_narrow(t, x, 0, b, 1), 1, 0, len); /* [1, len, I] */
        tg_rnn_result rb;
        ck_assert_int_eq(tg_rnn_forward(t, m, xb, NULL, NULL, NULL, &rb), 0);
        for (int64_t s = 0; s < len; s++)
            for (int64_t j = 0; j < 2 * H; j++)
                ck_assert_close(tg_at(rb.output, s * 2 * H + j), y->data[(b * T + s) * 2 * H + j],
                                TG_TOL);
        for (int64_t k = 0; k < 4; k++)
            for (int64_t j = 0; j < H; j++) {
                ck_assert_close(tg_at(rb.h_n, k * H + j), hn->data[(k * B + b) * H + j], TG_TOL);
                ck_assert_close(tg_at(rb.c_n, k * H + j), cn->data[(k * B + b) * H + j], TG_TOL);
            }
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
    tg_tensor_free(x);
    tg_module_free(&m->base);
}
END_TEST

/* batch_first on a transposed (strided) input equals sequence-first on the
 * contiguous one, transposed. */
START_TEST(layer_batch_first_strided_input) {
    enum { T = 4, B = 3, I = 2, H = 3 };
    tg_rnn_options o = {.mode = TG_GRU, .input_size = I, .hidden_size = H, .bidirectional = true};
    tg_rnn *seq = new_rnn(o, 21);
    o.batch_first = true;
    tg_rnn *bat = new_rnn(o, 21); /* same seed: same weights */
    tg_rng r;
    tg_rng_seed(&r, 22);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -1, 1);
    tg_rnn_result a, b;
    ck_assert_int_eq(tg_rnn_forward(t, seq, x, NULL, NULL, NULL, &a), 0);
    ck_assert_int_eq(tg_rnn_forward(t, bat, tg_transpose(t, x, 0, 1), NULL, NULL, NULL, &b), 0);
    ck_assert_int_eq(b.output->shape[0], B);
    ck_assert_int_eq(b.output->shape[1], T);
    for (int64_t s = 0; s < T; s++)
        for (int64_t n = 0; n < B; n++)
            for (int64_t j = 0; j < 2 * H; j++) {
                int64_t ia[3] = {s, n, j}, ib[3] = {n, s, j};
                ck_assert_close(tg_get(b.output, ib), tg_get(a.output, ia), TG_TOL);
            }
    for (int64_t i = 0; i < a.h_n->numel; i++)
        ck_assert_close(tg_at(b.h_n, i), tg_at(a.h_n, i), TG_TOL);
    tg_tape_free(t);
    tg_module_free(&seq->base);
    tg_module_free(&bat->base);
}
END_TEST

static void values(tg_tape *t, tg_rnn *m, tg_tensor *x, tg_real *out, tg_real *hn) {
    tg_rnn_result r;
    ck_assert_msg(tg_rnn_forward(t, m, x, NULL, NULL, NULL, &r) == 0, "%s", tg_tape_error(t));
    tg_copy_to(r.output, out);
    tg_copy_to(r.h_n, hn);
}

/* Dropout acts between layers in training only: different seeds give
 * different outputs (the last layer's), the first layer's final state is
 * untouched, the same seed gives the same numbers, and in eval mode the
 * layer equals one without dropout. A one-layer net has nowhere to drop. */
START_TEST(layer_dropout) {
    enum { T = 4, B = 2, I = 3, H = 5, NO = T * B * H, NH = 2 * B * H };
    tg_rnn_options o = {.mode = TG_GRU,
                        .input_size = I,
                        .hidden_size = H,
                        .num_layers = 2,
                        .dropout = 0.5,
                        .seed = 1};
    tg_rnn *a = new_rnn(o, 31), *a2 = new_rnn(o, 31);
    o.seed = 2;
    tg_rnn *b = new_rnn(o, 31);
    o.dropout = 0;
    tg_rnn *none = new_rnn(o, 31);
    tg_rng r;
    tg_rng_seed(&r, 32);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -1, 1);
    tg_real oa[NO], ha[NH], oa2[NO], ha2[NH], ob[NO], hb[NH], on[NO], hn[NH];
    values(t, a, x, oa, ha);
    values(t, a2, x, oa2, ha2);
    values(t, b, x, ob, hb);
    values(t, none, x, on, hn);
    ck_assert(!memcmp(oa, oa2, sizeof oa) && !memcmp(ha, ha2, sizeof ha));
    ck_assert_msg(memcmp(oa, ob, sizeof oa) != 0, "seeds 1 and 2 gave the same output");
    ck_assert_msg(memcmp(oa, on, sizeof oa) != 0, "dropout 0.5 in training changed nothing");
    ck_assert(!memcmp(ha, hb, B * H * sizeof *ha)); /* layer 0: before any dropout */
    ck_assert(memcmp(ha + B * H, hb + B * H, B * H * sizeof *ha) != 0); /* layer 1 */

    tg_module_train(&a->base, false);
    values(t, a, x, oa, ha);
    ck_assert_msg(!memcmp(oa, on, sizeof oa) && !memcmp(ha, hn, sizeof ha),
                  "dropout in eval mode differs from no dropout");

    /* one layer: dropout configured but never applied */
    o.num_layers = 1;
    tg_rnn *one = new_rnn(o, 33);
    o.dropout = 0.5;
    tg_rnn *one_d = new_rnn(o, 33);
    tg_real p[T * B * H], q[T * B * H], hp[B * H], hq[B * H];
    values(t, one, x, p, hp);
    values(t, one_d, x, q, hq);
    ck_assert(!memcmp(p, q, sizeof p) && !memcmp(hp, hq, sizeof hp));
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
    tg_module_free(&a->base);
    tg_module_free(&a2->base);
    tg_module_free(&b->base);
    tg_module_free(&none->base);
    tg_module_free(&one->base);
    tg_module_free(&one_d->base);
}
END_TEST

/* PyTorch's names, in state_dict order, with PyTorch's shapes, initialised
 * in U(-1/sqrt(H), 1/sqrt(H)). */
START_TEST(layer_parameters) {
    tg_rnn *m = new_rnn((tg_rnn_options){.mode = TG_GRU,
                                         .input_size = 4,
                                         .hidden_size = 5,
                                         .num_layers = 2,
                                         .bidirectional = true},
                        41);
    static const char *names[] = {
        "weight_ih_l0",         "weight_hh_l0",         "bias_ih_l0",         "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
        "weight_ih_l1",         "weight_hh_l1",         "bias_ih_l1",         "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
    static const tg_shape shapes[4][4] = {
        {TG_SHAPE(15, 4), TG_SHAPE(15, 5), TG_SHAPE(15), TG_SHAPE(15)},
        {TG_SHAPE(15, 4), TG_SHAPE(15, 5), TG_SHAPE(15), TG_SHAPE(15)},
        {TG_SHAPE(15, 10), TG_SHAPE(15, 5), TG_SHAPE(15), TG_SHAPE(15)},
        {TG_SHAPE(15, 10), TG_SHAPE(15, 5), TG_SHAPE(15), TG_SHAPE(15)}};
    const tg_params *ps = tg_module_params(&m->base);
    ck_assert_int_eq(ps->n, 16);
    double bound = 1 / sqrt(5.0), maxabs = 0;
    for (int i = 0; i < 16; i++) {
        char a[TG_SHAPE_STR_MAX], b[TG_SHAPE_STR_MAX];
        const tg_tensor *p = ps->items[i].tensor;
        ck_assert_str_eq(ps->items[i].name, names[i]);
        tg_shape_str(tg_tensor_shape(p), a, sizeof a);
        tg_shape_str(shapes[i / 4][i % 4], b, sizeof b);
        ck_assert_str_eq(a, b);
        ck_assert(p->requires_grad && p->grad);
        for (int64_t k = 0; k < p->numel; k++) {
            ck_assert(fabs((double)p->data[k]) <= bound);
            maxabs = fmax(maxabs, fabs((double)p->data[k]));
        }
    }
    ck_assert(maxabs > bound / 2);
    ck_assert_int_eq(tg_module_numel(&m->base), 2 * (60 + 75 + 30) + 2 * (150 + 75 + 30));
    tg_module_free(&m->base);

    /* no bias, and zero-initialised options take PyTorch's defaults */
    m = new_rnn(
        (tg_rnn_options){.mode = TG_LSTM, .input_size = 2, .hidden_size = 3, .no_bias = true}, 42);
    ps = tg_module_params(&m->base);
    ck_assert_int_eq(ps->n, 2);
    ck_assert_str_eq(ps->items[0].name, "weight_ih_l0");
    ck_assert_str_eq(ps->items[1].name, "weight_hh_l0");
    ck_assert_int_eq(ps->items[0].tensor->shape[0], 12);
    ck_assert_int_eq(m->opt.num_layers, 1);
    ck_assert_int_eq(m->dirs, 1);
    ck_assert(m->base.training);
    tg_module_free(&m->base);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */
static void expect_new_fails(tg_rnn_options o, tg_rng *init, const char *msg) {
    char err[256] = "";
    tg_rnn *m = tg_rnn_new(o, init, err, sizeof err);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, msg);
}

START_TEST(layer_bad_options) {
    tg_rng init;
    tg_rng_seed(&init, 1);
    tg_rnn_options ok = {.mode = TG_LSTM, .input_size = 4, .hidden_size = 6};
    tg_rnn_options o = ok;
    o.mode = (tg_rnn_mode)9;
    expect_new_fails(o, &init, "rnn: unknown mode 9");
    o.mode = (tg_rnn_mode)-1;
    expect_new_fails(o, &init, "rnn: unknown mode -1");
    o = ok, o.input_size = 0;
    expect_new_fails(o, &init, "rnn: input_size must be positive, got 0");
    o = ok, o.hidden_size = -2;
    expect_new_fails(o, &init, "rnn: hidden_size must be positive, got -2");
    o = ok, o.num_layers = -1;
    expect_new_fails(o, &init, "rnn: num_layers must be in 1..4096, got -1");
    o = ok, o.dropout = 1;
    expect_new_fails(o, &init, "rnn: dropout must be in [0, 1), got 1");
    o = ok, o.dropout = -0.5;
    expect_new_fails(o, &init, "rnn: dropout must be in [0, 1), got -0.5");
    o = ok, o.dropout = NAN;
    expect_new_fails(o, &init, "rnn: dropout must be in [0, 1), got nan");
    expect_new_fails(ok, NULL, "rnn: no random generator for the initial weights");
    /* a NULL or short buffer is fine */
    ck_assert_ptr_null(tg_rnn_new((tg_rnn_options){0}, &init, NULL, 0));
    char small[8];
    ck_assert_ptr_null(tg_rnn_new((tg_rnn_options){0}, &init, small, sizeof small));
    ck_assert_str_eq(small, "rnn: in");
}
END_TEST

/* Runs forward expecting failure with exactly msg; the result is cleared. */
static void expect_forward_fails(tg_rnn *m, tg_shape xs, tg_tensor *h0, tg_tensor *c0,
                                 const int64_t *lengths, const char *msg) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_zeros(t, xs);
    tg_rnn_result r = {x, x, x};
    ck_assert_int_eq(tg_rnn_forward(t, m, x, h0, c0, lengths, &r), -1);
    ck_assert_ptr_null(r.output);
    ck_assert_ptr_null(r.h_n);
    ck_assert_ptr_null(r.c_n);
    ck_assert_str_eq(tg_tape_error(t), msg);
    tg_tape_free(t);
}

START_TEST(layer_bad_inputs) {
    tg_rnn *lstm = new_rnn(
        (tg_rnn_options){.mode = TG_LSTM, .input_size = 4, .hidden_size = 6, .num_layers = 2}, 51);
    tg_rnn *gru = new_rnn((tg_rnn_options){.mode = TG_GRU,
                                           .input_size = 4,
                                           .hidden_size = 6,
                                           .bidirectional = true,
                                           .batch_first = true},
                          52);
    /* wrong input size, wrong rank */
    expect_forward_fails(lstm, TG_SHAPE(5, 3, 7), NULL, NULL, NULL,
                         "tg_rnn_forward: input [5,3,7]: expected [T, B, 4]");
    expect_forward_fails(gru, TG_SHAPE(3, 5, 3), NULL, NULL, NULL,
                         "tg_rnn_forward: input [3,5,3]: expected [B, T, 4]");
    expect_forward_fails(lstm, TG_SHAPE(5, 4), NULL, NULL, NULL,
                         "tg_rnn_forward: input [5,4]: expected [T, B, 4]");
    /* wrong h0 / c0 shapes */
    tg_tensor *h_small = tg_tensor_new(TG_SHAPE(1, 3, 6)), *h_ok = tg_tensor_new(TG_SHAPE(2, 3, 6));
    tg_tensor *c_batch = tg_tensor_new(TG_SHAPE(2, 2, 6)),
              *h_wide = tg_tensor_new(TG_SHAPE(2, 3, 5));
    tg_fill(h_ok, 0);
    expect_forward_fails(lstm, TG_SHAPE(5, 3, 4), h_small, NULL, NULL,
                         "tg_rnn_forward: h0 [1,3,6]: expected [2, 3, 6]");
    expect_forward_fails(lstm, TG_SHAPE(5, 3, 4), h_wide, NULL, NULL,
                         "tg_rnn_forward: h0 [2,3,5]: expected [2, 3, 6]");
    expect_forward_fails(lstm, TG_SHAPE(5, 3, 4), h_ok, c_batch, NULL,
                         "tg_rnn_forward: c0 [2,2,6]: expected [2, 3, 6]");
    /* bidirectional, batch-first: B is the first axis; h0 is [2, B, H] */
    expect_forward_fails(gru, TG_SHAPE(3, 5, 4), h_small, NULL, NULL,
                         "tg_rnn_forward: h0 [1,3,6]: expected [2, 3, 6]");
    expect_forward_fails(gru, TG_SHAPE(3, 5, 4), h_ok, h_ok, NULL,
                         "tg_rnn_forward: c0 given, but only an LSTM has a cell state");
    /* lengths out of range */
    const int64_t too_long[3] = {3, 6, 1}, zero[3] = {0, 5, 5}, negative[3] = {5, 5, -1};
    expect_forward_fails(lstm, TG_SHAPE(5, 3, 4), NULL, NULL, too_long,
                         "tg_rnn_forward: lengths[1] = 6 is outside [1, 5]");
    expect_forward_fails(lstm, TG_SHAPE(5, 3, 4), NULL, NULL, zero,
                         "tg_rnn_forward: lengths[0] = 0 is outside [1, 5]");
    expect_forward_fails(gru, TG_SHAPE(3, 5, 4), NULL, NULL, negative,
                         "tg_rnn_forward: lengths[2] = -1 is outside [1, 5]");
    /* an empty sequence (PyTorch: "Expected sequence length to be larger
     * than 0 in RNN") fails cleanly */
    tg_tensor *empty = tg_tensor_new(TG_SHAPE(0, 3, 4));
    ck_assert_ptr_nonnull(empty);
    tg_tape *te = tg_tape_new();
    tg_rnn_result re;
    ck_assert_int_eq(tg_rnn_forward(te, lstm, empty, NULL, NULL, NULL, &re), -1);
    ck_assert_ptr_nonnull(tg_tape_error(te));
    ck_assert_ptr_null(re.output);
    tg_tape_free(te);
    tg_tensor_free(empty);
    /* NULLs, and a tape already in error */
    tg_tape *t = tg_tape_new();
    tg_rnn_result r;
    ck_assert_int_eq(tg_rnn_forward(t, lstm, NULL, NULL, NULL, NULL, &r), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_rnn_forward: input is NULL");
    tg_tensor *good = tg_tensor_new(TG_SHAPE(5, 3, 4));
    tg_fill(good, 0);
    ck_assert_int_eq(tg_rnn_forward(t, lstm, good, NULL, NULL, NULL, &r), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_rnn_forward: input is NULL"); /* the first error stays */
    tg_tensor_free(good);
    tg_tape_reset(t);
    tg_tensor *x = tg_zeros(t, TG_SHAPE(5, 3, 4));
    ck_assert_int_eq(tg_rnn_forward(t, NULL, x, NULL, NULL, NULL, &r), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_rnn_forward: module is NULL");
    ck_assert_ptr_null(r.output);
    /* the same module works on a fresh step */
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(5, 3, 4));
    const int64_t fine[3] = {5, 1, 3};
    ck_assert_int_eq(tg_rnn_forward(t, lstm, x, h_ok, h_ok, fine, &r), 0);
    ck_assert_ptr_nonnull(r.c_n);
    tg_tape_free(t);
    tg_tensor_free(h_small);
    tg_tensor_free(h_ok);
    tg_tensor_free(c_batch);
    tg_tensor_free(h_wide);
    tg_module_free(&lstm->base);
    tg_module_free(&gru->base);
}
END_TEST

TCase *tcase_rnn_cells(void) {
    TCase *tc = tcase_create("rnn_cells");
    tcase_add_loop_test(tc, cell_values, 0, N_CELLS);
    tcase_add_loop_test(tc, cell_gradcheck, 0, N_CELLS);
    tcase_add_test(tc, cell_bad_shapes);
    tcase_add_loop_test(tc, layer_gradcheck, 0, N_LAYERS);
    tcase_add_test(tc, layer_padding_is_exact);
    tcase_add_test(tc, layer_batch_first_strided_input);
    tcase_add_test(tc, layer_dropout);
    tcase_add_test(tc, layer_parameters);
    tcase_add_test(tc, layer_bad_options);
    tcase_add_test(tc, layer_bad_inputs);
    return tc;
}
