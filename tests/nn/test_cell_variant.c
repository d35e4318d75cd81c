/* The wishlist's cells (nn/cell_variant.h): layer norm, peepholes,
 * activations, variational dropout and zoneout against a PyTorch reference
 * written step by step in tests/nn/gen_cell_variant_fixtures.py (float64,
 * masks from the same counter hash); fused equal to composed; gradchecks;
 * masks equal at 1 and 2 threads; recomputed segments bit for bit; bad
 * options named. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define FIXTURE "tests/nn/fixtures/cell_variant.safetensors"
#ifdef TG_DOUBLE
#define OUT_TOL 1e-10
#define GRAD_TOL 1e-9
#else
#define OUT_TOL 1e-5
#define GRAD_TOL 1e-4
#endif

static const char *const CONFIGS[] = {
    "ln_lstm",      "ln_gru",       "peephole_lstm",     "act_lstm",     "act_lstm2",
    "act_gru",      "act_gru2",     "zoneout_lstm",      "zoneout_lstm_eval", "zoneout_gru",
    "dropout_lstm", "dropout_gru",  "dropout_eval",      "all_lstm",
};
#define N_CONFIGS ((int)(sizeof CONFIGS / sizeof CONFIGS[0]))

static const char *meta(const tg_st_file *f, const char *cfg, const char *key) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", cfg, key);
    const char *v = tg_safetensors_meta(f, k);
    ck_assert_msg(v != NULL, FIXTURE ": no '%s' in __metadata__", k);
    return v;
}

static bool meta_bool(const tg_st_file *f, const char *cfg, const char *key) {
    return strcmp(meta(f, cfg, key), "true") == 0;
}

static const tg_tensor *need(const tg_st_file *f, const char *cfg, const char *name) {
    char k[160];
    snprintf(k, sizeof k, "%s.%s", cfg, name);
    const tg_tensor *x = tg_safetensors_get(f, k);
    ck_assert_msg(x != NULL, FIXTURE ": no tensor '%s'", k);
    return x;
}

static const tg_tensor *maybe(const tg_st_file *f, const char *cfg, const char *name) {
    char k[160];
    snprintf(k, sizeof k, "%s.%s", cfg, name);
    return tg_safetensors_get(f, k);
}

/* The config's cell and layer, its parameters copied from the fixture. */
typedef struct setup {
    tg_cell *cell;
    tg_rnn *m;
    tg_tensor *x, *h0, *c0;
    const int64_t *lengths;
} setup;

static setup build(const tg_st_file *f, const char *cfg, bool composed) {
    setup s = {0};
    tg_cell_variant_options o = {
        .layer_norm = meta_bool(f, cfg, "layer_norm"),
        .peephole = meta_bool(f, cfg, "peephole"),
        .gate_activation = meta(f, cfg, "gate_activation"),
        .activation = meta(f, cfg, "activation"),
        .recurrent_dropout = atof(meta(f, cfg, "recurrent_dropout")),
        .input_dropout = atof(meta(f, cfg, "input_dropout")),
        .zoneout_h = atof(meta(f, cfg, "zoneout_h")),
        .zoneout_c = atof(meta(f, cfg, "zoneout_c")),
    };
    char err[256] = "";
    s.cell = tg_cell_variant_new(meta(f, cfg, "base"), &o, err, sizeof err);
    ck_assert_msg(s.cell != NULL, "%s: %s", cfg, err);
    tg_rnn_options ro = {.cell = s.cell,
                         .input_size = atoi(tg_safetensors_meta(f, "input_size")),
                         .hidden_size = atoi(tg_safetensors_meta(f, "hidden_size")),
                         .num_layers = atoi(meta(f, cfg, "num_layers")),
                         .bidirectional = meta_bool(f, cfg, "bidirectional"),
                         .seed = strtoull(tg_safetensors_meta(f, "seed"), NULL, 10),
                         .composed = composed};
    tg_rng r;
    tg_rng_seed(&r, 1);
    s.m = tg_rnn_new(ro, &r, err, sizeof err);
    ck_assert_msg(s.m != NULL, "%s: %s", cfg, err);
    s.m->base.training = meta_bool(f, cfg, "training");
    const tg_params *ps = tg_module_params(&s.m->base);
    for (int i = 0; i < ps->n; i++)
        ck_assert(tg_copy(ps->items[i].tensor, need(f, cfg, ps->items[i].name)));
    const tg_tensor *src[3] = {need(f, cfg, "input"), maybe(f, cfg, "h0"), maybe(f, cfg, "c0")};
    tg_tensor **dst[3] = {&s.x, &s.h0, &s.c0};
    for (int k = 0; k < 3; k++)
        if (src[k]) {
            *dst[k] = tg_param_new(tg_tensor_shape(src[k]));
            ck_assert(tg_copy(*dst[k], src[k]));
        }
    char k[64];
    snprintf(k, sizeof k, "%s.lengths", cfg);
    int64_t n = 0;
    s.lengths = tg_safetensors_get_i64(f, k, &n);
    return s;
}

static void setup_free(setup *s) {
    tg_tensor_free(s->x);
    tg_tensor_free(s->h0);
    tg_tensor_free(s->c0);
    tg_module_free(&s->m->base);
    tg_cell_variant_free(s->cell);
}

/* sum(y * w) with w copied onto the tape. */
static tg_tensor *weighted_sum(tg_tape *t, tg_tensor *y, const tg_tensor *w) {
    tg_tensor *wt = tg_empty(t, tg_tensor_shape(w));
    if (!wt) return NULL;
    tg_copy(wt, w);
    return tg_sum(t, tg_mul(t, y, wt));
}

/* Forward and backward of the fixture's loss; r filled, tape kept. */
static tg_tape *run(const tg_st_file *f, const char *cfg, setup *s, tg_rnn_result *r) {
    tg_tape *t = tg_tape_new();
    int rc = tg_rnn_forward(t, s->m, s->x, s->h0, s->c0, s->lengths, r);
    ck_assert_msg(rc == 0, "%s: %s", cfg, tg_tape_error(t));
    tg_tensor *loss = tg_add(t, weighted_sum(t, r->output, need(f, cfg, "w_output")),
                             weighted_sum(t, r->h_n, need(f, cfg, "w_h_n")));
    if (r->c_n) loss = tg_add(t, loss, weighted_sum(t, r->c_n, need(f, cfg, "w_c_n")));
    ck_assert_msg(tg_backward(t, loss) == 0, "%s: %s", cfg, tg_tape_error(t));
    return t;
}

static void expect_tensor(const char *cfg, const char *what, const tg_tensor *got,
                          const tg_tensor *ref, double tol) {
    char w[128];
    snprintf(w, sizeof w, "%s: %s", cfg, what);
    ck_assert_int_eq(got->numel, ref->numel);
    tg_real *v = malloc((size_t)got->numel * sizeof *v);
    tg_copy_to(got, v);
    ck_assert_ref_values(w, v, ref, tol);
    free(v);
}

static void expect_grads(const tg_st_file *f, const char *cfg, const setup *s) {
    const tg_params *ps = tg_module_params(&s->m->base);
    char what[128];
    for (int i = 0; i < ps->n; i++) {
        snprintf(what, sizeof what, "%s: grad.%s", cfg, ps->items[i].name);
        ck_assert_ptr_nonnull(ps->items[i].tensor->grad);
        ck_assert_ref_values(what, ps->items[i].tensor->grad,
                             need(f, cfg, what + strlen(cfg) + 2), GRAD_TOL);
    }
    const tg_tensor *in[3] = {s->x, s->h0, s->c0};
    const char *names[3] = {"grad.input", "grad.h0", "grad.c0"};
    for (int k = 0; k < 3; k++)
        if (in[k]) {
            snprintf(what, sizeof what, "%s: %s", cfg, names[k]);
            ck_assert_ref_values(what, in[k]->grad, need(f, cfg, names[k]), GRAD_TOL);
        }
}

static tg_st_file *open_fixture(void) {
    char err[256];
    tg_st_file *f = tg_safetensors_open(FIXTURE, err, sizeof err);
    ck_assert_msg(f != NULL,
                  "%s (run from the repository root; regenerate with /usr/bin/python3 "
                  "tests/nn/gen_cell_variant_fixtures.py)",
                  err);
    return f;
}

/* Outputs, final states and every gradient against PyTorch, fused
 * (_i even) and composed (_i odd). */
START_TEST(variant_matches_pytorch) {
    tg_st_file *f = open_fixture();
    const char *cfg = CONFIGS[_i / 2];
    setup s = build(f, cfg, _i % 2 == 1);
    tg_rnn_result r;
    tg_tape *t = run(f, cfg, &s, &r);
    expect_tensor(cfg, "output", r.output, need(f, cfg, "output"), OUT_TOL);
    expect_tensor(cfg, "h_n", r.h_n, need(f, cfg, "h_n"), OUT_TOL);
    if (maybe(f, cfg, "c_n")) expect_tensor(cfg, "c_n", r.c_n, need(f, cfg, "c_n"), OUT_TOL);
    expect_grads(f, cfg, &s);
    tg_tape_free(t);
    setup_free(&s);
    tg_safetensors_close(f);
}
END_TEST

/* Every config in the file is tested (and the file lists them). */
START_TEST(every_config_is_tested) {
    tg_st_file *f = open_fixture();
    const char *all = tg_safetensors_meta(f, "configs");
    ck_assert_ptr_nonnull(all);
    int n = 0;
    for (const char *p = all; *p; n++) {
        size_t len = strcspn(p, ",");
        bool listed = false;
        for (int i = 0; i < N_CONFIGS && !listed; i++)
            listed = strlen(CONFIGS[i]) == len && !strncmp(CONFIGS[i], p, len);
        ck_assert_msg(listed, "config %.*s is not in test_cell_variant.c", (int)len, p);
        p += len + (p[len] == ',');
    }
    ck_assert_int_eq(n, N_CONFIGS);
    tg_safetensors_close(f);
}
END_TEST

/* A layer of cfg's cell (fixture's options and parameters) with the
 * outputs and gradients of one forward and backward, as flat copies. */
typedef struct snapshot {
    tg_real *v[64];
    size_t bytes[64];
    int n;
} snapshot;

static void snap_put(snapshot *s, const tg_real *data, int64_t numel) {
    ck_assert_int_lt(s->n, 64);
    s->bytes[s->n] = (size_t)numel * sizeof(tg_real);
    s->v[s->n] = malloc(s->bytes[s->n]);
    memcpy(s->v[s->n++], data, (size_t)numel * sizeof(tg_real));
}

static snapshot take(const tg_st_file *f, const char *cfg, setup *s) {
    snapshot out = {.n = 0};
    tg_rnn_result r;
    const tg_params *ps = tg_module_params(&s->m->base);
    for (int i = 0; i < ps->n; i++) tg_zero_grad(ps->items[i].tensor);
    tg_zero_grad(s->x);
    tg_tape *t = run(f, cfg, s, &r);
    tg_tensor *o = tg_contiguous(t, r.output);
    snap_put(&out, o->data, o->numel);
    for (int i = 0; i < ps->n; i++) snap_put(&out, ps->items[i].tensor->grad, ps->items[i].tensor->numel);
    snap_put(&out, s->x->grad, s->x->numel);
    tg_tape_free(t);
    return out;
}

static void snap_free(snapshot *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i]);
}

static void expect_same_bits(const char *cfg, const char *why, const snapshot *a,
                             const snapshot *b) {
    ck_assert_int_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++)
        ck_assert_msg(a->bytes[i] == b->bytes[i] && !memcmp(a->v[i], b->v[i], a->bytes[i]),
                      "%s: %s: value %d differs", cfg, why, i);
}

/* The same masks and numbers at 1 and 2 threads, and recomputed segments
 * of 2 steps give the full tape's outputs and gradients bit for bit, for
 * every config (dropout and zoneout in training among them). */
START_TEST(threads_and_recompute_bit_for_bit) {
    tg_st_file *f = open_fixture();
    const char *cfg = CONFIGS[_i];
    setup s = build(f, cfg, false);
    int threads = tg_threads();
    tg_set_threads(1);
    snapshot one = take(f, cfg, &s);
    tg_set_threads(2);
    snapshot two = take(f, cfg, &s);
    expect_same_bits(cfg, "1 and 2 threads", &one, &two);
    s.m->opt.memory = (tg_rnn_memory){.recompute = true, .segment = 2};
    snapshot rec = take(f, cfg, &s);
    expect_same_bits(cfg, "recomputed", &two, &rec);
    tg_set_threads(threads);
    snap_free(&one);
    snap_free(&two);
    snap_free(&rec);
    setup_free(&s);
    tg_safetensors_close(f);
}
END_TEST

/* Evaluation is deterministic and takes the expectation: two runs agree,
 * and dropout is off (the eval config equals the plain LSTM's numbers). */
START_TEST(evaluation_is_deterministic) {
    tg_st_file *f = open_fixture();
    setup s = build(f, "dropout_eval", false);
    snapshot a = take(f, "dropout_eval", &s), b = take(f, "dropout_eval", &s);
    expect_same_bits("dropout_eval", "two evaluations", &a, &b);
    /* the same parameters in the built-in LSTM: the same output */
    tg_rnn_options o = s.m->opt;
    o.cell = NULL, o.mode = TG_LSTM;
    char err[200];
    tg_rng r;
    tg_rng_seed(&r, 3);
    tg_rnn *plain = tg_rnn_new(o, &r, err, sizeof err);
    ck_assert_msg(plain != NULL, "%s", err);
    const tg_params *pp = tg_module_params(&plain->base), *ps = tg_module_params(&s.m->base);
    ck_assert_int_eq(pp->n, ps->n);
    for (int i = 0; i < pp->n; i++) ck_assert(tg_copy(pp->items[i].tensor, ps->items[i].tensor));
    tg_tape *t = tg_tape_new();
    tg_rnn_result res;
    ck_assert_int_eq(tg_rnn_forward(t, plain, s.x, NULL, NULL, NULL, &res), 0);
    tg_tensor *out = tg_contiguous(t, res.output);
    ck_assert(!memcmp(out->data, a.v[0], a.bytes[0]));
    tg_tape_free(t);
    tg_module_free(&plain->base);
    snap_free(&a);
    snap_free(&b);
    setup_free(&s);
    tg_safetensors_close(f);
}
END_TEST

/* Fused (the built-in kernels or the traced program) against composed
 * from elementary ops: outputs and every gradient. */
START_TEST(fused_equals_composed) {
    tg_st_file *f = open_fixture();
    const char *cfg = CONFIGS[_i];
    setup a = build(f, cfg, false), b = build(f, cfg, true);
    snapshot fa = take(f, cfg, &a), fb = take(f, cfg, &b);
    ck_assert_int_eq(fa.n, fb.n);
#ifdef TG_DOUBLE
    const double tol = 1e-12;
#else
    const double tol = 1e-5;
#endif
    for (int i = 0; i < fa.n; i++)
        for (size_t j = 0; j < fa.bytes[i] / sizeof(tg_real); j++)
            ck_assert_msg(fabs((double)fa.v[i][j] - (double)fb.v[i][j]) <=
                              tol * fmax(1, fabs((double)fb.v[i][j])),
                          "%s: value %d [%zu]: fused %.12g, composed %.12g", cfg, i, j,
                          (double)fa.v[i][j], (double)fb.v[i][j]);
    snap_free(&fa);
    snap_free(&fb);
    setup_free(&a);
    setup_free(&b);
    tg_safetensors_close(f);
}
END_TEST

/* Central differences through the layer (double build): every option at
 * once, bidirectional and stacked with lengths, in training (the masks
 * are fixed by their hash, so the loss is a smooth function) and in
 * evaluation, LSTM and GRU. */
START_TEST(variant_gradcheck) {
    static const char *const base[] = {"lstm", "gru", "lstm"};
    tg_cell_variant_options o = {.layer_norm = true,
                                 .peephole = _i != 1,
                                 .gate_activation = _i == 2 ? "softsign" : NULL,
                                 .activation = _i == 1 ? "hard_tanh" : NULL,
                                 .recurrent_dropout = 0.3,
                                 .input_dropout = 0.2,
                                 .zoneout_h = 0.25,
                                 .zoneout_c = _i != 1 ? 0.2 : 0};
    char err[200];
    tg_cell *cell = tg_cell_variant_new(base[_i], &o, err, sizeof err);
    ck_assert_msg(cell != NULL, "%s", err);
    tg_rng r;
    tg_rng_seed(&r, 11 + _i);
    tg_rnn_options ro = {.cell = cell,
                         .input_size = 3,
                         .hidden_size = 4,
                         .num_layers = 2,
                         .bidirectional = true,
                         .seed = 9};
    tg_rnn *m = tg_rnn_new(ro, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    m->base.training = _i != 2;
    const tg_params *p = tg_module_params(&m->base);
    /* gains and biases away from their start, so each matters */
    for (int k = 0; k < p->n; k++)
        if (strstr(p->items[k].name, "ln_"))
            tg_init_uniform(p->items[k].tensor, &r, 0.5, 1.5);
    int64_t lens[3] = {4, 2, 3};
    tg_tensor *in[2 + 64] = {test_param(&r, TG_SHAPE(4, 3, 3)), test_param(&r, TG_SHAPE(4, 3, 4))};
    ck_assert_int_le(p->n, 64);
    for (int k = 0; k < p->n; k++) in[2 + k] = p->items[k].tensor;
    test_rnn_ctx c = {m, lens};
    ck_assert_gradcheck(test_rnn_loss, &c, 2 + p->n, in);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
    tg_module_free(&m->base);
    tg_cell_variant_free(cell);
}
END_TEST

static void expect_bad(const char *base, tg_cell_variant_options o, const char *msg) {
    char err[256] = "";
    tg_cell *c = tg_cell_variant_new(base, &o, err, sizeof err);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err, msg);
}

START_TEST(bad_options_are_named) {
    expect_bad("elman", (tg_cell_variant_options){0},
               "cell variant: base \"elman\": expected \"lstm\" or \"gru\"");
    expect_bad(NULL, (tg_cell_variant_options){0},
               "cell variant: base \"(null)\": expected \"lstm\" or \"gru\"");
    expect_bad("gru", (tg_cell_variant_options){.peephole = true},
               "cell variant \"gru\": peephole: only an LSTM has a cell to look at");
    expect_bad("gru", (tg_cell_variant_options){.zoneout_c = 0.1},
               "cell variant \"gru\": zoneout_c: only an LSTM has a cell state");
    expect_bad("lstm", (tg_cell_variant_options){.gate_activation = "swish"},
               "cell variant \"lstm\": gate_activation \"swish\": expected sigmoid, hard_sigmoid, "
               "tanh, hard_tanh, softsign, relu or identity");
    expect_bad("lstm", (tg_cell_variant_options){.activation = "Tanh"},
               "cell variant \"lstm\": activation \"Tanh\": expected sigmoid, hard_sigmoid, "
               "tanh, hard_tanh, softsign, relu or identity");
    expect_bad("lstm", (tg_cell_variant_options){.zoneout_h = 1},
               "cell variant \"lstm\": zoneout_h must be in [0, 1), got 1");
    expect_bad("lstm", (tg_cell_variant_options){.recurrent_dropout = -0.1},
               "cell variant \"lstm\": recurrent_dropout must be in [0, 1), got -0.1");
    expect_bad("gru", (tg_cell_variant_options){.input_dropout = NAN},
               "cell variant \"gru\": input_dropout must be in [0, 1), got nan");
    expect_bad("lstm", (tg_cell_variant_options){.layer_norm_eps = -1},
               "cell variant \"lstm\": layer_norm_eps must be in [0, 1], got -1");
    /* a good one reports its options and names its parameters */
    char err[200];
    tg_cell *c = tg_cell_variant_new(
        "lstm", &(tg_cell_variant_options){.layer_norm = true, .peephole = true}, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(tg_cell_invalid(c));
    ck_assert_int_eq(c->n_params, 9);
    ck_assert_str_eq(c->param[0].name, "ln_ih_weight");
    ck_assert_str_eq(c->param[8].name, "weight_co");
    tg_cell_variant_options got;
    ck_assert(tg_cell_variant_options_of(c, &got));
    ck_assert(got.layer_norm && got.peephole);
    ck_assert_str_eq(got.gate_activation, "sigmoid");
    ck_assert(!tg_cell_variant_options_of(tg_cell_find("lstm"), &got));
    tg_cell_variant_free(c);
    tg_cell_variant_free(NULL);
}
END_TEST

/* Each activation by name, against its formula at a few points. */
START_TEST(activations_by_name) {
    static const double xs[] = {-4, -0.7, 0.3, 2.5};
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_empty(t, TG_SHAPE(4));
    for (int i = 0; i < 4; i++) x->data[i] = (tg_real)xs[i];
    for (int a = 0; a < TG_CELL_ACT_COUNT; a++) {
        const char *name = tg_cell_activation_name(a);
        ck_assert_int_eq(tg_cell_activation_find(name), a);
        tg_tensor *y = tg_cell_activation_apply(t, (tg_cell_activation)a, x);
        for (int i = 0; i < 4; i++) {
            double v = xs[i], want = a == TG_CELL_ACT_SIGMOID        ? 1 / (1 + exp(-v))
                                     : a == TG_CELL_ACT_HARD_SIGMOID ? fmin(fmax(v / 6 + 0.5, 0), 1)
                                     : a == TG_CELL_ACT_TANH         ? tanh(v)
                                     : a == TG_CELL_ACT_HARD_TANH    ? fmin(fmax(v, -1), 1)
                                     : a == TG_CELL_ACT_SOFTSIGN     ? v / (1 + fabs(v))
                                     : a == TG_CELL_ACT_RELU         ? fmax(v, 0)
                                                                     : v;
            ck_assert_msg(fabs(tg_at(y, i) - want) < 1e-6, "%s(%g) = %g, want %g", name, v,
                          (double)tg_at(y, i), want);
        }
    }
    ck_assert_int_eq(tg_cell_activation_find("gelu"), -1);
    ck_assert_int_eq(tg_cell_activation_find(NULL), -1);
    ck_assert_ptr_null(tg_cell_activation_name(TG_CELL_ACT_COUNT));
    ck_assert_ptr_null(tg_cell_activation_apply(t, TG_CELL_ACT_COUNT, x));
    ck_assert_str_eq(tg_tape_error(t), "tg_cell_activation_apply: unknown activation 7");
    tg_tape_free(t);
}
END_TEST

/* The layer norm of the input product runs once for all steps, before the
 * loop (tg_cell.gates_all: one layer_norm node labelled input_ready), only
 * when the layer is fused (the composed reference normalises per step); a step of one's own from x (tg_cell_forward,
 * gx not ready) still normalises it and gives the layer's first output. */
START_TEST(input_norm_once_before_the_loop) {
    char err[200];
    tg_cell *cell = tg_cell_variant_new("lstm", &(tg_cell_variant_options){.layer_norm = true},
                                        err, sizeof err);
    ck_assert_msg(cell != NULL, "%s", err);
    tg_rng r;
    tg_rng_seed(&r, 9);
    tg_tensor *x = test_param(&r, TG_SHAPE(3, 2, 4));
    for (int composed = 0; composed < 2; composed++) {
        tg_rnn_options o = {.cell = cell, .input_size = 4, .hidden_size = 5, .composed = composed};
        tg_rnn *m = tg_rnn_new(o, &r, err, sizeof err);
        ck_assert_msg(m != NULL, "%s", err);
        const tg_params *ps = tg_module_params(&m->base);
        for (int i = 0; i < ps->n; i++) /* gains and biases away from 1 and 0 */
            tg_init_uniform(ps->items[i].tensor, &r, -1, 1);
        tg_tape *t = tg_tape_new();
        tg_rnn_result res;
        ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, NULL, NULL, &res), 0);
        ck_assert_int_eq(test_tape_has(t, "input_ready"), !composed);
        ck_assert_int_eq(test_tape_has(t, " fused "), !composed);
        tg_cell_io io = {.w_hh = m->w_hh[0], .b_hh = m->b_hh[0]};
        io.state[0] = tg_zeros(t, TG_SHAPE(2, 5)), io.state[1] = tg_zeros(t, TG_SHAPE(2, 5));
        for (int p = 0; p < cell->n_params; p++) io.param[p] = m->cell_param[p];
        tg_tensor *x0 = tg_reshape(t, tg_narrow(t, x, 0, 0, 1), TG_SHAPE(2, 4));
        ck_assert_int_eq(tg_cell_forward(t, cell, x0, m->w_ih[0], m->b_ih[0], &io), 0);
        tg_tensor *h1 = tg_contiguous(t, io.next[0]), *out = tg_contiguous(t, res.output);
        for (int i = 0; i < 10; i++) ck_assert_close(h1->data[i], out->data[i], 1e-6);
        tg_tape_free(t);
        tg_module_free(&m->base);
    }
    tg_tensor_free(x);
    tg_cell_variant_free(cell);
}
END_TEST

TCase *tcase_cell_variant(void) {
    TCase *tc = tcase_create("cell_variant");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, variant_matches_pytorch, 0, 2 * N_CONFIGS);
    tcase_add_test(tc, every_config_is_tested);
    tcase_add_loop_test(tc, threads_and_recompute_bit_for_bit, 0, N_CONFIGS);
    tcase_add_test(tc, evaluation_is_deterministic);
    tcase_add_loop_test(tc, fused_equals_composed, 0, N_CONFIGS);
    tcase_add_loop_test(tc, variant_gradcheck, 0, 3);
    tcase_add_test(tc, bad_options_are_named);
    tcase_add_test(tc, activations_by_name);
    tcase_add_test(tc, input_norm_once_before_the_loop);
    return tc;
}
