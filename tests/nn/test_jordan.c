/* The Jordan network: values and gradients against a hand-written PyTorch
 * reference (tests/nn/gen_jordan_fixture.py, float64), free running and
 * teacher forced, tanh and relu, sequence- and batch-first; gradchecks;
 * parameters; continuing a sequence through the feedback; errors. */
#include <string.h>

#include "testutil.h"

#define FIXTURE "tests/nn/fixtures/jordan.safetensors"
#define OUT_TOL TG_TOL
#ifdef TG_DOUBLE
#define GRAD_TOL 1e-9
#else
#define GRAD_TOL 1e-4
#endif
enum { T = 5, B = 3, I = 4, H = 6, O = 2 };

static const char *const PARAM_NAMES[] = {"weight_ih_l0", "bias_ih_l0", "weight_yh_l0", "weight_hy",
                                          "bias_hy"};
#define N_PARAMS 5

static const tg_tensor *need(const tg_st_file *f, const char *name) {
    const tg_tensor *x = tg_safetensors_get(f, name);
    ck_assert_msg(x != NULL, FIXTURE ": no tensor '%s'", name);
    return x;
}

/* A fixture tensor copied onto the tape, optionally as a leaf with a
 * gradient; with `swap`, its first two dimensions are swapped (so [T, B, .]
 * becomes a batch-first [B, T, .]). */
static tg_tensor *load(tg_tape *t, const tg_st_file *f, const char *name, bool grad, bool swap) {
    const tg_tensor *s = need(f, name);
    tg_tensor *x = tg_from_array(t, tg_tensor_shape(s), s->data);
    if (swap) x = tg_contiguous(t, tg_transpose(t, x, 0, 1));
    ck_assert_ptr_nonnull(x);
    x->requires_grad = grad;
    return x;
}

static tg_jordan *make(bool relu, bool batch_first) {
    tg_rng r;
    tg_rng_seed(&r, 7);
    char err[256] = "";
    tg_jordan *m = tg_jordan_new((tg_jordan_options){.input_size = I,
                                                     .hidden_size = H,
                                                     .output_size = O,
                                                     .relu = relu,
                                                     .batch_first = batch_first},
                                 &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

/* One fixture case: load the parameters by name, run, backpropagate
 * L = sum(y*RY) + sum(h*RH), and compare everything with PyTorch. With
 * batch_first the same data goes in transposed and comes out transposed. */
static void check_case(const char *c, bool relu, bool forced, bool batch_first) {
    char err[256], name[128];
    tg_jordan *m = make(relu, batch_first);
    ck_assert_msg(tg_params_load(&m->base.params, FIXTURE, err, sizeof err) == 0, "%s", err);
    tg_st_file *f = tg_safetensors_open(FIXTURE, err, sizeof err);
    ck_assert_msg(f != NULL, "%s (run /usr/bin/python3 tests/nn/gen_jordan_fixture.py)", err);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = load(t, f, "x", true, batch_first);
    tg_tensor *y0 = load(t, f, "y0", true, false);
    tg_tensor *d = forced ? load(t, f, "targets", true, batch_first) : NULL;
    tg_tensor *ry = load(t, f, "RY", false, batch_first),
              *rh = load(t, f, "RH", false, batch_first);
    tg_jordan_result res;
    ck_assert_int_eq(tg_jordan_forward(t, m, x, y0, d, &res), 0);
    tg_tensor *loss =
        tg_add(t, tg_sum(t, tg_mul(t, res.output, ry)), tg_sum(t, tg_mul(t, res.hidden, rh)));
    ck_assert_int_eq(tg_backward(t, loss), 0);

    /* outputs, compared in [T, B, .] order */
    tg_tensor *y = batch_first ? tg_transpose(t, res.output, 0, 1) : res.output;
    tg_tensor *h = batch_first ? tg_transpose(t, res.hidden, 0, 1) : res.hidden;
    snprintf(name, sizeof name, "%s.y", c);
    ck_assert_ref_tensor(name, y, need(f, name), OUT_TOL);
    snprintf(name, sizeof name, "%s.h", c);
    ck_assert_ref_tensor(name, h, need(f, name), OUT_TOL);
    snprintf(name, sizeof name, "%s.feedback", c);
    ck_assert_ref_tensor(name, res.feedback, need(f, name), OUT_TOL);

    for (int p = 0; p < N_PARAMS; p++) {
        snprintf(name, sizeof name, "%s.grad.%s", c, PARAM_NAMES[p]);
        ck_assert_ref_values(name, tg_params_find(&m->base.params, PARAM_NAMES[p])->grad,
                             need(f, name), GRAD_TOL);
    }
    /* input gradients: batch-first ones are transposed back first */
    tg_tensor *leaves[3] = {x, y0, d};
    const char *leaf_names[3] = {"x", "y0", "targets"};
    for (int k = 0; k < (forced ? 3 : 2); k++) {
        tg_tensor *g = tg_from_array(t, tg_tensor_shape(leaves[k]), leaves[k]->grad);
        if (batch_first && k != 1) g = tg_contiguous(t, tg_transpose(t, g, 0, 1));
        ck_assert_ptr_nonnull(g);
        snprintf(name, sizeof name, "%s.grad.%s", c, leaf_names[k]);
        ck_assert_ref_values(name, g->data, need(f, name), GRAD_TOL);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
    tg_safetensors_close(f);
    tg_module_free(&m->base);
}

START_TEST(jordan_matches_pytorch_free_running) {
    check_case("free", false, false, false);
}
END_TEST
START_TEST(jordan_matches_pytorch_teacher_forced) {
    check_case("forced", false, true, false);
}
END_TEST
START_TEST(jordan_matches_pytorch_relu) {
    check_case("relu_free", true, false, false);
}
END_TEST
START_TEST(jordan_matches_pytorch_batch_first) {
    check_case("free", false, false, true);
    check_case("forced", false, true, true);
}
END_TEST

/* Teacher forcing with the free-running outputs as targets reproduces the
 * free-running run exactly, and y0 = NULL is the same as zeros. The forced
 * path computes all steps at once, the free path in a loop, so this ties the
 * two implementations together. */
START_TEST(jordan_forcing_own_outputs_equals_free_running) {
    tg_jordan *m = make(false, false);
    tg_rng r;
    tg_rng_seed(&r, 11);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -2, 2);
    tg_jordan_result free_, forced, zero;
    ck_assert_int_eq(tg_jordan_forward(t, m, x, NULL, NULL, &free_), 0);
    ck_assert_int_eq(tg_jordan_forward(t, m, x, NULL, free_.output, &forced), 0);
    ck_assert_int_eq(tg_jordan_forward(t, m, x, tg_zeros(t, TG_SHAPE(B, O)), NULL, &zero), 0);
    for (int64_t i = 0; i < T * B * O; i++) {
        ck_assert_close(tg_at(forced.output, i), tg_at(free_.output, i), TG_TOL);
        ck_assert(tg_at(zero.output, i) == tg_at(free_.output, i));
    }
    for (int64_t i = 0; i < T * B * H; i++)
        ck_assert_close(tg_at(forced.hidden, i), tg_at(free_.hidden, i), TG_TOL);
    for (int64_t i = 0; i < B * O; i++) {
        ck_assert_close(tg_at(forced.feedback, i), tg_at(free_.feedback, i), TG_TOL);
        /* the feedback is the last output */
        ck_assert(tg_at(free_.feedback, i) == tg_at(free_.output, (T - 1) * B * O + i));
    }
    /* with other targets the outputs differ from step 1 on, not at step 0 */
    tg_tensor *d = tg_rand_uniform(t, &r, TG_SHAPE(T, B, O), -2, 2);
    ck_assert_int_eq(tg_jordan_forward(t, m, x, NULL, d, &forced), 0);
    for (int64_t i = 0; i < B * O; i++)
        ck_assert_close(tg_at(forced.output, i), tg_at(free_.output, i), TG_TOL);
    ck_assert(fabs((double)tg_at(forced.output, B * O) - (double)tg_at(free_.output, B * O)) >
              1e-6);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* Five steps at once equal three steps then two, continued from the
 * feedback, in both modes. */
START_TEST(jordan_feedback_continues_a_sequence) {
    tg_jordan *m = make(false, false);
    tg_rng r;
    tg_rng_seed(&r, 12);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_rand_uniform(t, &r, TG_SHAPE(T, B, I), -2, 2);
    tg_tensor *d = tg_rand_uniform(t, &r, TG_SHAPE(T, B, O), -2, 2);
    for (int forced = 0; forced < 2; forced++) {
        tg_jordan_result all, first, second;
        tg_tensor *dd = forced ? d : NULL;
        ck_assert_int_eq(tg_jordan_forward(t, m, x, NULL, dd, &all), 0);
        ck_assert_int_eq(tg_jordan_forward(t, m, tg_narrow(t, x, 0, 0, 3), NULL,
                                           forced ? tg_narrow(t, d, 0, 0, 3) : NULL, &first),
                         0);
        ck_assert_int_eq(tg_jordan_forward(t, m, tg_narrow(t, x, 0, 3, 2), first.feedback,
                                           forced ? tg_narrow(t, d, 0, 3, 2) : NULL, &second),
                         0);
        for (int64_t i = 0; i < 2 * B * O; i++)
            ck_assert_close(tg_at(second.output, i), tg_at(all.output, 3 * B * O + i), TG_TOL);
        for (int64_t i = 0; i < B * O; i++)
            ck_assert_close(tg_at(second.feedback, i), tg_at(all.feedback, i), TG_TOL);
    }
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* ---- gradchecks (double build) ------------------------------------------------ */

typedef struct gc_ctx {
    tg_jordan *m;
    bool forced;
} gc_ctx;

/* inputs: x, y0, targets (forced only), then the parameters (read through
 * the module, which holds the same tensors) */
static tg_tensor *f_jordan(tg_tape *t, tg_tensor *const *in, void *ctx) {
    gc_ctx *c = ctx;
    tg_jordan_result res;
    if (tg_jordan_forward(t, c->m, in[0], in[1], c->forced ? in[2] : NULL, &res) != 0) return NULL;
    /* outputs, hidden states and feedback all feed the checked value */
    tg_tensor *parts[3] = {tg_reshape(t, res.output, TG_SHAPE(-1)),
                           tg_reshape(t, res.hidden, TG_SHAPE(-1)),
                           tg_reshape(t, res.feedback, TG_SHAPE(-1))};
    return tg_concat(t, 3, parts, 0);
}

static void gradcheck_jordan(bool relu, bool forced, bool batch_first, uint64_t seed) {
    tg_jordan *m = make(relu, batch_first);
    tg_rng r;
    tg_rng_seed(&r, seed);
    tg_tensor *in[3 + N_PARAMS];
    int n = 0;
    in[n++] = test_param(&r, batch_first ? TG_SHAPE(B, T, I) : TG_SHAPE(T, B, I));
    in[n++] = test_param(&r, TG_SHAPE(B, O));
    if (forced) in[n++] = test_param(&r, batch_first ? TG_SHAPE(B, T, O) : TG_SHAPE(T, B, O));
    int first_param = n;
    for (int p = 0; p < N_PARAMS; p++) in[n++] = tg_params_find(&m->base.params, PARAM_NAMES[p]);
    gc_ctx c = {m, forced};
    ck_assert_gradcheck(f_jordan, &c, n, in);
    for (int k = 0; k < first_param; k++) tg_tensor_free(in[k]);
    tg_module_free(&m->base);
}

START_TEST(jordan_gradcheck) {
    gradcheck_jordan(false, false, false, 21);
    gradcheck_jordan(false, true, false, 22);
    gradcheck_jordan(true, false, false, 23);
    gradcheck_jordan(true, true, false, 24);
    gradcheck_jordan(false, false, true, 25);
    gradcheck_jordan(false, true, true, 26);
}
END_TEST

/* ---- parameters and errors ------------------------------------------------------- */

START_TEST(jordan_parameters) {
    tg_jordan *m = make(false, false);
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_int_eq(p->n, N_PARAMS);
    tg_shape shapes[N_PARAMS] = {TG_SHAPE(H, I), TG_SHAPE(H), TG_SHAPE(H, O), TG_SHAPE(O, H),
                                 TG_SHAPE(O)};
    for (int k = 0; k < N_PARAMS; k++) {
        ck_assert_str_eq(p->items[k].name, PARAM_NAMES[k]);
        tg_tensor *w = p->items[k].tensor;
        ck_assert(w->requires_grad);
        ck_assert_int_eq(w->ndim, shapes[k].ndim);
        for (int d = 0; d < w->ndim; d++) ck_assert_int_eq(w->shape[d], shapes[k].dim[d]);
        /* U(-1/sqrt(H), 1/sqrt(H)), and not all alike */
        double lo = 1, hi = -1;
        for (int64_t i = 0; i < w->numel; i++) {
            lo = fmin(lo, (double)w->data[i]), hi = fmax(hi, (double)w->data[i]);
            ck_assert(fabs((double)w->data[i]) <= 1 / sqrt((double)H));
        }
        ck_assert(hi > lo);
    }
    ck_assert_int_eq(tg_module_numel(&m->base), H * I + H + H * O + O * H + O);
    ck_assert_str_eq(m->base.kind, "jordan");
    tg_module_free(&m->base);
}
END_TEST

START_TEST(jordan_errors) {
    tg_rng r;
    tg_rng_seed(&r, 1);
    char err[256];
    tg_jordan_options o = {.input_size = I, .hidden_size = H, .output_size = O};
    o.hidden_size = 0;
    ck_assert_ptr_null(tg_jordan_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "jordan: hidden_size must be positive, got 0");
    o.hidden_size = H, o.output_size = -2;
    ck_assert_ptr_null(tg_jordan_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "jordan: output_size must be positive, got -2");
    o.output_size = O, o.input_size = 0;
    ck_assert_ptr_null(tg_jordan_new(o, &r, err, sizeof err));
    ck_assert_str_eq(err, "jordan: input_size must be positive, got 0");
    o.input_size = I;
    ck_assert_ptr_null(tg_jordan_new(o, NULL, err, sizeof err));
    ck_assert_str_eq(err, "jordan: no random generator for the initial weights");

    tg_jordan *m = make(false, false);
    tg_tape *t = tg_tape_new();
    tg_jordan_result res;
    ck_assert_int_eq(tg_jordan_forward(t, m, tg_zeros(t, TG_SHAPE(T, B, I + 1)), NULL, NULL, &res),
                     -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_jordan_forward: input [5,3,5]: expected [T, B, 4] with T, B >= 1");
    ck_assert_ptr_null(res.output);
    tg_tape_reset(t);
    ck_assert_int_eq(tg_jordan_forward(t, m, tg_zeros(t, TG_SHAPE(0, B, I)), NULL, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_jordan_forward: input [0,3,4]: expected [T, B, 4] with T, B >= 1");
    tg_tape_reset(t);
    tg_tensor *x = tg_zeros(t, TG_SHAPE(T, B, I));
    ck_assert_int_eq(tg_jordan_forward(t, m, x, tg_zeros(t, TG_SHAPE(B, H)), NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_jordan_forward: y0 [3,6]: expected [3, 2]");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(T, B, I));
    ck_assert_int_eq(tg_jordan_forward(t, m, x, NULL, tg_zeros(t, TG_SHAPE(T - 1, B, O)), &res),
                     -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_jordan_forward: targets [4,3,2]: expected [5, 3, 2]");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_jordan_forward(t, m, NULL, NULL, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_jordan_forward: input is NULL");
    /* a tape already in error stays with its first message */
    ck_assert_int_eq(tg_jordan_forward(t, NULL, NULL, NULL, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_jordan_forward: input is NULL");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_jordan_forward(t, NULL, NULL, NULL, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_jordan_forward: module is NULL");
    tg_tape_free(t);
    tg_module_free(&m->base);

    /* batch-first messages name the batch-first layout */
    m = make(false, true);
    t = tg_tape_new();
    ck_assert_int_eq(tg_jordan_forward(t, m, tg_zeros(t, TG_SHAPE(B, T)), NULL, NULL, &res), -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_jordan_forward: input [3,5]: expected [B, T, 4] with T, B >= 1");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(B, T, I));
    ck_assert_int_eq(tg_jordan_forward(t, m, x, NULL, tg_zeros(t, TG_SHAPE(T, B, O)), &res), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_jordan_forward: targets [5,3,2]: expected [3, 5, 2]");
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

TCase *tcase_jordan(void) {
    TCase *tc = tcase_create("jordan");
    tcase_add_test(tc, jordan_matches_pytorch_free_running);
    tcase_add_test(tc, jordan_matches_pytorch_teacher_forced);
    tcase_add_test(tc, jordan_matches_pytorch_relu);
    tcase_add_test(tc, jordan_matches_pytorch_batch_first);
    tcase_add_test(tc, jordan_forcing_own_outputs_equals_free_running);
    tcase_add_test(tc, jordan_feedback_continues_a_sequence);
    tcase_add_test(tc, jordan_gradcheck);
    tcase_add_test(tc, jordan_parameters);
    tcase_add_test(tc, jordan_errors);
    return tc;
}
