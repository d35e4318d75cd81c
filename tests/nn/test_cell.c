/* The cell table (nn/cell.h): the built-in rows and their lookups, rows
 * built at run time running through the layer (a copy of a built-in row
 * gives its numbers bit for bit; a new two-gate cell with its own data
 * against its equations and under gradcheck, bidirectional, stacked, with
 * lengths), the public one-step tg_cell_forward, and bad rows named. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

START_TEST(builtin_rows) {
    static const struct {
        tg_rnn_mode mode;
        const char *name, *scope;
        int gates, states;
    } want[] = {{TG_RNN_TANH, "rnn_tanh", "rnn", 1, 1},
                {TG_RNN_RELU, "rnn_relu", "rnn", 1, 1},
                {TG_LSTM, "lstm", "lstm", 4, 2},
                {TG_GRU, "gru", "gru", 3, 1}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const tg_cell *c = tg_cell_builtin(want[i].mode);
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_eq(tg_cell_find(want[i].name), c);
        ck_assert_str_eq(c->name, want[i].name);
        ck_assert_str_eq(c->scope, want[i].scope);
        ck_assert_int_eq(c->gates, want[i].gates);
        ck_assert_int_eq(c->n_states, want[i].states);
        ck_assert_str_eq(c->state[0].name, "h");
        ck_assert_str_eq(c->state[0].label, "hidden");
        ck_assert_str_eq(c->state[0].initial, "h0");
        ck_assert_ptr_nonnull(c->composed);
        ck_assert_ptr_nonnull(c->fused);
        ck_assert_ptr_null(tg_cell_invalid(c));
    }
    const tg_cell *lstm = tg_cell_find("lstm");
    ck_assert_str_eq(lstm->state[1].name, "c");
    ck_assert_str_eq(lstm->state[1].label, "cell");
    ck_assert_str_eq(lstm->state[1].initial, "c0");
    /* the list ends (a new row only moves the end) */
    int n = 0;
    for (; tg_cell_builtin(n); n++)
        ck_assert_ptr_eq(tg_cell_find(tg_cell_builtin(n)->name), tg_cell_builtin(n));
    ck_assert_int_ge(n, 4);
    ck_assert_ptr_null(tg_cell_builtin(n));
    ck_assert_ptr_null(tg_cell_builtin(-1));
    ck_assert_ptr_null(tg_cell_find("LSTM"));
    ck_assert_ptr_null(tg_cell_find("tanh"));
    ck_assert_ptr_null(tg_cell_find(NULL));
}
END_TEST

/* ---- a cell of our own: two gates, z and n, and one state -----------------
 *   z = sigmoid(gx_z + gh_z), n = act(gx_n + gh_n), h' = n + z * (h - n)
 * with act the row's own data (tanh or softsign-like x / (1 + |x|)). */
typedef struct two_gate {
    tg_tensor *(*act)(tg_tape *, tg_tensor *);
} two_gate;

static tg_tensor *softsign(tg_tape *t, tg_tensor *x) {
    return tg_div(t, x, tg_add_scalar(t, tg_abs(t, x), 1));
}

static int two_gate_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    const two_gate *g = cell->ctx;
    tg_tensor *gh = tg_cell_recurrent(t, io), *x2[2], *h2[2], *h = io->state[0];
    if (tg_chunk(t, io->gx, 2, 1, x2) != 2 || tg_chunk(t, gh, 2, 1, h2) != 2) return -1;
    tg_tensor *z = tg_sigmoid(t, tg_add(t, x2[0], h2[0]));
    tg_tensor *n = g->act(t, tg_add(t, x2[1], h2[1]));
    io->next[0] = tg_add(t, n, tg_mul(t, z, tg_sub(t, h, n)));
    return io->next[0] ? 0 : -1;
}

static const two_gate TANH_GATE = {tg_tanh}, SOFTSIGN_GATE = {softsign};

static tg_cell two_gate_cell(const two_gate *g) {
    return (tg_cell){.name = "two_gate",
                     .scope = "two_gate",
                     .gates = 2,
                     .n_states = 1,
                     .state = {{"h", "hidden", "h0"}},
                     .composed = two_gate_step,
                     .ctx = g};
}

static double sig(double v) {
    return 1 / (1 + exp(-v));
}

/* One step of the two-gate cell by tg_cell_forward, against its equations
 * written as loops in double. */
START_TEST(own_cell_one_step) {
    enum { B = 2, I = 3, H = 4 };
    const two_gate *acts[2] = {&TANH_GATE, &SOFTSIGN_GATE};
    for (int a = 0; a < 2; a++) {
        tg_cell cell = two_gate_cell(acts[a]);
        tg_rng r;
        tg_rng_seed(&r, 7);
        tg_tensor *x = test_param(&r, TG_SHAPE(B, I)), *h = test_param(&r, TG_SHAPE(B, H));
        tg_tensor *wih = test_param(&r, TG_SHAPE(2 * H, I)),
                  *whh = test_param(&r, TG_SHAPE(2 * H, H));
        tg_tensor *bih = test_param(&r, TG_SHAPE(2 * H)), *bhh = test_param(&r, TG_SHAPE(2 * H));
        tg_tape *t = tg_tape_new();
        tg_cell_io io = {.w_hh = whh, .b_hh = bhh, .state = {h}};
        ck_assert_int_eq(tg_cell_forward(t, &cell, x, wih, bih, &io), 0);
        ck_assert_ptr_nonnull(io.next[0]);
        ck_assert_ptr_null(io.next[1]);
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < H; j++) {
                double pre[2];
                for (int g = 0; g < 2; g++) {
                    int64_t row = g * H + j;
                    pre[g] = (double)bih->data[row] + (double)bhh->data[row];
                    for (int64_t k = 0; k < I; k++)
                        pre[g] += (double)wih->data[row * I + k] * x->data[b * I + k];
                    for (int64_t k = 0; k < H; k++)
                        pre[g] += (double)whh->data[row * H + k] * h->data[b * H + k];
                }
                double z = sig(pre[0]), n = a ? pre[1] / (1 + fabs(pre[1])) : tanh(pre[1]);
                ck_assert_close(tg_at(io.next[0], b * H + j), n + z * (h->data[b * H + j] - n),
                                TG_TOL);
            }
        tg_tape_free(t);
        tg_tensor *all[] = {x, h, wih, whh, bih, bhh};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tg_tensor_free(all[i]);
    }
}
END_TEST

START_TEST(own_cell_in_the_layer) {
    tg_cell cell = two_gate_cell(&SOFTSIGN_GATE);
    tg_rng r;
    tg_rng_seed(&r, 11);
    char err[200] = "";
    tg_rnn *m = tg_rnn_new((tg_rnn_options){.cell = &cell,
                                            .input_size = 3,
                                            .hidden_size = 4,
                                            .num_layers = 2,
                                            .bidirectional = true},
                           &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_ptr_eq(m->cell, &cell);
    /* the row's gate count sizes the weights; names as for any layer */
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_int_eq(p->n, 16);
    ck_assert_str_eq(p->items[0].name, "weight_ih_l0");
    ck_assert_int_eq(p->items[0].tensor->shape[0], 8);
    ck_assert_int_eq(p->items[4].tensor->shape[1], 3); /* weight_ih_l0_reverse [8, 3] */
    ck_assert_int_eq(p->items[8].tensor->shape[1], 8); /* weight_ih_l1 [8, 2*4] */
    tg_tape *t = tg_tape_new();
    int64_t lens[3] = {5, 2, 4};
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(5, 3, 3), -1, 1);
    tg_rnn_result res;
    ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, NULL, lens, &res), 0);
    ck_assert_int_eq(res.output->shape[2], 8);
    ck_assert_int_eq(res.h_n->shape[0], 4);
    ck_assert_ptr_null(res.c_n);
    /* nodes sit under the row's scope, states labelled as the row says;
     * past a sequence's end, zeros */
    ck_assert(test_tape_has(t, "two_gate.l1_reverse.t0.hidden"));
    ck_assert(test_tape_has(t, "two_gate.l0.t4.hidden"));
    for (int64_t j = 0; j < 8; j++) ck_assert(tg_at(res.output, (4 * 3 + 1) * 8 + j) == 0);
    /* a one-state cell takes no c0 */
    tg_tensor *c0 = tg_zeros(t, TG_SHAPE(4, 3, 4));
    ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, c0, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_rnn_forward: c0 given, but only an LSTM has a cell state");
    tg_tape_free(t);
    /* every gradient (x, h0, each parameter) through the layer's machinery
     * around the new cell */
    tg_tensor *in[18] = {test_param(&r, TG_SHAPE(5, 3, 3)), test_param(&r, TG_SHAPE(4, 3, 4))};
    for (int k = 0; k < p->n; k++) in[2 + k] = p->items[k].tensor;
    test_rnn_ctx c = {m, lens};
    ck_assert_gradcheck(test_rnn_loss, &c, 2 + p->n, in);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
    tg_module_free(&m->base);
}
END_TEST

/* A row copied from the built-in LSTM's, renamed and without its fused
 * step, runs in the layer exactly as the built-in composed LSTM does:
 * outputs, final states and every gradient bit for bit, on tokens, both
 * directions, with lengths. */
START_TEST(copied_row_equals_builtin) {
    tg_cell mine = *tg_cell_find("lstm");
    mine.name = "my_lstm", mine.fused = NULL;
    tg_rnn *m[2];
    tg_embedding *e[2];
    for (int w = 0; w < 2; w++) {
        tg_rng r;
        tg_rng_seed(&r, 5);
        e[w] = tg_embedding_new(6, 3, -1, &r);
        tg_rnn_options o = {
            .input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true};
        if (w)
            o.cell = &mine;
        else
            o.mode = TG_LSTM, o.composed = true;
        m[w] = tg_rnn_new(o, &r, NULL, 0);
        ck_assert_ptr_nonnull(m[w]);
    }
    int64_t ids[12] = {0, 5, 2, 3, 1, 1, 4, 2, 0, 5, 3, 3}, lens[3] = {4, 1, 3};
    tg_tape *t = tg_tape_new();
    tg_rnn_result res[2];
    for (int w = 0; w < 2; w++) {
        ck_assert_int_eq(
            tg_rnn_forward_tokens(t, m[w], e[w], ids, TG_SHAPE(4, 3), NULL, NULL, lens, &res[w]),
            0);
        tg_tensor *loss = tg_add(t, tg_sum(t, tg_square(t, res[w].output)),
                                 tg_sum(t, tg_mul(t, res[w].c_n, res[w].h_n)));
        ck_assert_int_eq(tg_backward(t, loss), 0);
    }
    ck_assert_int_eq(memcmp(res[0].output->data, res[1].output->data,
                            (size_t)res[0].output->numel * sizeof(tg_real)),
                     0);
    ck_assert_int_eq(
        memcmp(res[0].c_n->data, res[1].c_n->data, (size_t)res[0].c_n->numel * sizeof(tg_real)), 0);
    const tg_params *pa = tg_module_params(&m[0]->base), *pb = tg_module_params(&m[1]->base);
    ck_assert_int_eq(pa->n, pb->n);
    for (int k = 0; k < pa->n; k++)
        ck_assert_int_eq(memcmp(pa->items[k].tensor->grad, pb->items[k].tensor->grad,
                                (size_t)pa->items[k].tensor->numel * sizeof(tg_real)),
                         0);
    ck_assert_int_eq(memcmp(e[0]->weight->grad, e[1]->weight->grad, 18 * sizeof(tg_real)), 0);
    tg_tape_free(t);
    for (int w = 0; w < 2; w++) {
        tg_module_free(&m[w]->base);
        tg_module_free(&e[w]->base);
    }
}
END_TEST

/* tg_cell_forward with the LSTM row gives tg_lstm_cell's numbers; its
 * arguments are checked and named. */
START_TEST(cell_forward_checks) {
    enum { B = 2, I = 3, H = 2 };
    tg_rng r;
    tg_rng_seed(&r, 3);
    tg_tensor *x = test_param(&r, TG_SHAPE(B, I)), *h = test_param(&r, TG_SHAPE(B, H));
    tg_tensor *c = test_param(&r, TG_SHAPE(B, H)), *wih = test_param(&r, TG_SHAPE(4 * H, I));
    tg_tensor *whh = test_param(&r, TG_SHAPE(4 * H, H));
    tg_tape *t = tg_tape_new();
    tg_cell_io io = {.w_hh = whh, .state = {h, c}};
    ck_assert_int_eq(tg_cell_forward(t, tg_cell_find("lstm"), x, wih, NULL, &io), 0);
    tg_tensor *h2, *c2;
    ck_assert_int_eq(tg_lstm_cell(t, x, h, c, wih, whh, NULL, NULL, &h2, &c2), 0);
    ck_assert_int_eq(memcmp(io.next[0]->data, h2->data, B * H * sizeof(tg_real)), 0);
    ck_assert_int_eq(memcmp(io.next[1]->data, c2->data, B * H * sizeof(tg_real)), 0);
    tg_tape_reset(t);
    ck_assert_int_eq(tg_cell_forward(t, NULL, x, wih, NULL, &io), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_cell_forward: cell is NULL");
    tg_tape_reset(t);
    io.state[1] = NULL;
    ck_assert_int_eq(tg_cell_forward(t, tg_cell_find("lstm"), x, wih, NULL, &io), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_cell_forward: x, h, c, w_ih and w_hh are required");
    ck_assert_ptr_null(io.next[0]);
    tg_tape_reset(t);
    ck_assert_int_eq(tg_cell_forward(t, tg_cell_find("gru"), x, wih, NULL, &io), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_cell_forward: w_ih [8,3]: expected [6,3]");
    tg_tape_free(t);
    tg_tensor *all[] = {x, h, c, wih, whh};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tg_tensor_free(all[i]);
}
END_TEST

static void expect_bad_row(tg_cell row, const char *msg) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    char err[200] = "";
    tg_rnn *m = tg_rnn_new((tg_rnn_options){.cell = &row, .input_size = 2, .hidden_size = 3}, &r,
                           err, sizeof err);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, msg);
}

/* ---- a cell with parameters of its own ------------------------------------
 * The two-gate cell with a peephole-like weight p on h in z and a gain on
 * n's pre-activation (starting at 1):
 *   z = sigmoid(gx_z + gh_z + p * h), n = tanh(gain * (gx_n + gh_n)) */
static int own_params_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *gh = tg_cell_recurrent(t, io), *x2[2], *h2[2], *h = io->state[0];
    if (tg_chunk(t, io->gx, 2, 1, x2) != 2 || tg_chunk(t, gh, 2, 1, h2) != 2) return -1;
    tg_tensor *z = tg_sigmoid(t, tg_add(t, tg_add(t, x2[0], h2[0]), tg_mul(t, h, io->param[0])));
    tg_tensor *n = tg_tanh(t, tg_mul(t, tg_add(t, x2[1], h2[1]), io->param[1]));
    io->next[0] = tg_add(t, n, tg_mul(t, z, tg_sub(t, h, n)));
    return io->next[0] ? 0 : -1;
}

static tg_cell own_params_cell(void) {
    tg_cell c = two_gate_cell(&TANH_GATE);
    c.name = c.scope = "own_params";
    c.composed = own_params_step;
    c.n_params = 2;
    c.param[0] = (tg_cell_param){.name = "weight_ph", .width = 1, .uniform = true};
    c.param[1] = (tg_cell_param){.name = "gain_n", .width = 1, .init = 1};
    return c;
}

/* The layer makes a cell's own parameters per layer and direction, named
 * and initialised as the row says; gradients reach them through every
 * part of the layer, and recomputation gives the full tape's bit for bit. */
START_TEST(cell_with_own_params) {
    tg_cell cell = own_params_cell();
    tg_rng r;
    tg_rng_seed(&r, 5);
    char err[200] = "";
    tg_rnn_options o = {.cell = &cell,
                        .input_size = 3,
                        .hidden_size = 4,
                        .num_layers = 2,
                        .bidirectional = true};
    tg_rnn *m = tg_rnn_new(o, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_int_eq(p->n, 24);
    ck_assert_str_eq(p->items[4].name, "weight_ph_l0");
    ck_assert_str_eq(p->items[5].name, "gain_n_l0");
    ck_assert_str_eq(p->items[11].name, "gain_n_l0_reverse");
    ck_assert_str_eq(p->items[23].name, "gain_n_l1_reverse");
    ck_assert_int_eq(p->items[4].tensor->ndim, 1);
    ck_assert_int_eq(p->items[4].tensor->shape[0], 4);
    double bound = 0.5, spread = 0;
    for (int64_t j = 0; j < 4; j++) {
        ck_assert(tg_at(p->items[5].tensor, j) == 1);
        ck_assert(fabs(tg_at(p->items[4].tensor, j)) <= bound);
        spread += fabs(tg_at(p->items[4].tensor, j) - tg_at(p->items[4].tensor, 0));
    }
    ck_assert(spread > 0); /* drawn, not constant */
    /* the gain matters: a changed gain changes the output */
    for (int64_t j = 0; j < 4; j++) p->items[5].tensor->data[j] = (tg_real)(0.5 + 0.25 * j);
    int64_t lens[3] = {5, 2, 4};
    tg_tensor *in[26] = {test_param(&r, TG_SHAPE(5, 3, 3)), test_param(&r, TG_SHAPE(4, 3, 4))};
    for (int k = 0; k < p->n; k++) in[2 + k] = p->items[k].tensor;
    test_rnn_ctx c = {m, lens};
    ck_assert_gradcheck(test_rnn_loss, &c, 2 + p->n, in);
    /* recomputed segments of 2 steps give the same gradients bit for bit */
    tg_real *full[26];
    for (int pass = 0; pass < 2; pass++) {
        m->opt.memory = (tg_rnn_memory){.recompute = pass == 1, .segment = 2};
        for (int k = 0; k < 2 + p->n; k++) tg_zero_grad(in[k]);
        tg_tape *t = tg_tape_new();
        tg_rnn_result res;
        ck_assert_int_eq(tg_rnn_forward(t, m, in[0], in[1], NULL, lens, &res), 0);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_square(t, res.output))), 0);
        for (int k = 0; k < 2 + p->n; k++) {
            ck_assert_ptr_nonnull(in[k]->grad);
            size_t bytes = (size_t)in[k]->numel * sizeof(tg_real);
            if (pass == 0) full[k] = malloc(bytes), memcpy(full[k], in[k]->grad, bytes);
            else
                ck_assert_msg(memcmp(full[k], in[k]->grad, bytes) == 0, "gradient %d", k);
        }
        tg_tape_free(t);
    }
    for (int k = 0; k < 2 + p->n; k++) free(full[k]);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
    tg_module_free(&m->base);
}
END_TEST

/* One step from x names a missing or misshapen parameter of the cell's. */
START_TEST(cell_params_checked) {
    tg_cell cell = own_params_cell();
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_zeros(t, TG_SHAPE(2, 3)), *h = tg_zeros(t, TG_SHAPE(2, 4));
    tg_tensor *wih = tg_zeros(t, TG_SHAPE(8, 3)), *whh = tg_zeros(t, TG_SHAPE(8, 4));
    tg_cell_io io = {.w_hh = whh, .state = {h}, .param = {tg_zeros(t, TG_SHAPE(4))}};
    ck_assert_int_eq(tg_cell_forward(t, &cell, x, wih, NULL, &io), -1);
    ck_assert_str_eq(tg_tape_error(t), "own_params: parameter gain_n not given");
    tg_tape_free(t);
    t = tg_tape_new();
    x = tg_zeros(t, TG_SHAPE(2, 3)), h = tg_zeros(t, TG_SHAPE(2, 4));
    wih = tg_zeros(t, TG_SHAPE(8, 3)), whh = tg_zeros(t, TG_SHAPE(8, 4));
    io = (tg_cell_io){.w_hh = whh,
                      .state = {h},
                      .param = {tg_zeros(t, TG_SHAPE(4)), tg_zeros(t, TG_SHAPE(8))}};
    ck_assert_int_eq(tg_cell_forward(t, &cell, x, wih, NULL, &io), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_cell_forward: gain_n [8]: expected [4]");
    tg_tape_free(t);
}
END_TEST

START_TEST(bad_rows_are_named) {
    tg_cell ok = two_gate_cell(&TANH_GATE), row = ok;
    row.gates = 0;
    expect_bad_row(row, "rnn: cell \"two_gate\": a cell needs at least one gate");
    row = ok, row.n_states = 3;
    expect_bad_row(row, "rnn: cell \"two_gate\": a cell has 1 to 2 states");
    row = ok, row.n_states = 0;
    expect_bad_row(row, "rnn: cell \"two_gate\": a cell has 1 to 2 states");
    row = ok, row.n_states = 2;
    expect_bad_row(row, "rnn: cell \"two_gate\": each state of a cell needs a name, a label and "
                        "an initial name");
    row = ok, row.composed = NULL;
    expect_bad_row(row, "rnn: cell \"two_gate\": a cell needs its step as tape ops (composed)");
    row = ok, row.n_params = TG_CELL_MAX_PARAMS + 1;
    expect_bad_row(row, "rnn: cell \"two_gate\": a cell has 0 to 12 parameters of its own");
    row = own_params_cell(), row.param[1].width = 0;
    expect_bad_row(row, "rnn: cell \"own_params\": each parameter of a cell needs a name and a "
                        "width of at least 1");
    row = ok, row.name = NULL;
    expect_bad_row(row, "rnn: cell \"?\": a cell needs a name and a scope");
    ck_assert_str_eq(tg_cell_invalid(NULL), "no cell");
}
END_TEST

TCase *tcase_cell(void) {
    TCase *tc = tcase_create("cell");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, builtin_rows);
    tcase_add_test(tc, own_cell_one_step);
    tcase_add_test(tc, own_cell_in_the_layer);
    tcase_add_test(tc, copied_row_equals_builtin);
    tcase_add_test(tc, cell_forward_checks);
    tcase_add_test(tc, cell_with_own_params);
    tcase_add_test(tc, cell_params_checked);
    tcase_add_test(tc, bad_rows_are_named);
    return tc;
}
