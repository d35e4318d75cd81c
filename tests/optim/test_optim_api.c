/* The optimizer object: PyTorch's defaults for zeroed options, TG_ZERO,
 * option and parameter checks (exact messages), the learning rate,
 * zero_grad, skipped parameters and the state list. */
#include <string.h>

#include "testutil.h"

static tg_tensor *param(tg_shape s, tg_real v) {
    tg_tensor *p = tg_param_new(s);
    tg_fill(p, v);
    return p;
}

START_TEST(defaults) {
    tg_tensor *p = param(TG_SHAPE(2), 1);
    tg_optim *o = tg_optim_adagrad(&p, 1, (tg_adagrad_options){0});
    ck_assert_ptr_null(tg_optim_error(o));
    ck_assert_str_eq(tg_optim_kind(o), "adagrad");
    ck_assert_double_eq(tg_optim_lr(o), 1e-2);
    tg_optim_free(o);
    o = tg_optim_rmsprop(&p, 1, (tg_rmsprop_options){0});
    ck_assert_str_eq(tg_optim_kind(o), "rmsprop");
    ck_assert_double_eq(tg_optim_lr(o), 1e-2);
    tg_optim_free(o);
    o = tg_optim_adam(&p, 1, (tg_adam_options){0});
    ck_assert_str_eq(tg_optim_kind(o), "adam");
    ck_assert_double_eq(tg_optim_lr(o), 1e-3);
    tg_optim_free(o);
    /* SGD has no default lr; TG_ZERO asks for a real 0 */
    o = tg_optim_sgd(&p, 1, (tg_sgd_options){.momentum = 0.9});
    ck_assert_str_eq(tg_optim_error(o), "tg_optim_sgd: lr is required (PyTorch's SGD has no "
                                        "default; TG_ZERO asks for 0)");
    ck_assert_int_eq(tg_optim_step(o), -1);
    tg_optim_free(o);
    o = tg_optim_sgd(&p, 1, (tg_sgd_options){.lr = TG_ZERO});
    ck_assert_ptr_null(tg_optim_error(o));
    ck_assert_double_eq(tg_optim_lr(o), 0);
    tg_optim_free(o);
    tg_tensor_free(p);
}
END_TEST

/* AdamW's zeroed weight_decay is PyTorch's 1e-2: with a zero gradient the
 * moments stay 0 and only the decoupled decay moves p (1 - 1e-3 * 1e-2). */
START_TEST(adamw_default_decay) {
    tg_tensor *p = param(TG_SHAPE(3), 2);
    tg_optim *o = tg_optim_adamw(&p, 1, (tg_adam_options){0});
    ck_assert_str_eq(tg_optim_kind(o), "adamw");
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert_double_eq_tol(p->data[0], 2 * (1 - 1e-5), 1e-7);
    tg_optim_free(o);
    tg_fill(p, 2);
    o = tg_optim_adamw(&p, 1, (tg_adam_options){.weight_decay = TG_ZERO});
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert_double_eq(p->data[0], 2);
    /* a parameter's own decay overrides the option */
    tg_optim_free(o);
    tg_tensor *q = param(TG_SHAPE(1), 2);
    tg_tensor *ps[2] = {p, q};
    o = tg_optim_adamw(ps, 2, (tg_adam_options){.lr = 0.1, .weight_decay = 0.5});
    ck_assert_int_eq(tg_optim_set_param_weight_decay(o, 1, 0), 0);
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert_double_eq_tol(p->data[0], 2 * 0.95, 1e-7);
    ck_assert_double_eq(q->data[0], 2);
    tg_optim_free(o);
    tg_tensor_free(p);
    tg_tensor_free(q);
}
END_TEST

static void check_bad(tg_optim *o, const char *msg) {
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(tg_optim_error(o), msg);
    ck_assert_int_eq(tg_optim_step(o), -1);
    ck_assert_str_eq(tg_optim_error(o), msg); /* it sticks */
    ck_assert_int_eq(tg_optim_state(o, NULL, 0), 0);
    tg_optim_free(o);
}

START_TEST(bad_options) {
    tg_tensor *p = param(TG_SHAPE(2), 1);
    check_bad(tg_optim_sgd(&p, 1, (tg_sgd_options){.lr = -0.1}),
              "tg_optim_sgd: lr must be >= 0, got -0.1");
    check_bad(tg_optim_sgd(&p, 1, (tg_sgd_options){.lr = 0.1, .momentum = -1}),
              "tg_optim_sgd: momentum must be >= 0, got -1");
    check_bad(tg_optim_sgd(&p, 1, (tg_sgd_options){.lr = 0.1, .nesterov = true}),
              "tg_optim_sgd: nesterov needs momentum > 0 and dampening 0, got momentum 0, "
              "dampening 0");
    check_bad(tg_optim_sgd(
                  &p, 1,
                  (tg_sgd_options){.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
              "tg_optim_sgd: nesterov needs momentum > 0 and dampening 0, got momentum 0.9, "
              "dampening 0.1");
    check_bad(tg_optim_adagrad(&p, 1, (tg_adagrad_options){.lr_decay = -1}),
              "tg_optim_adagrad: lr_decay must be >= 0, got -1");
    check_bad(tg_optim_adagrad(&p, 1, (tg_adagrad_options){.eps = NAN}),
              "tg_optim_adagrad: eps must be >= 0, got nan");
    check_bad(tg_optim_adagrad(&p, 1, (tg_adagrad_options){.initial_accumulator_value = -2}),
              "tg_optim_adagrad: initial_accumulator_value must be >= 0, got -2");
    check_bad(tg_optim_rmsprop(&p, 1, (tg_rmsprop_options){.alpha = -0.5}),
              "tg_optim_rmsprop: alpha must be >= 0, got -0.5");
    check_bad(tg_optim_rmsprop(&p, 1, (tg_rmsprop_options){.weight_decay = -1e-3}),
              "tg_optim_rmsprop: weight_decay must be >= 0, got -0.001");
    check_bad(tg_optim_adam(&p, 1, (tg_adam_options){.betas = {0.9, 1}}),
              "tg_optim_adam: betas[1] must be in [0, 1), got 1");
    check_bad(tg_optim_adamw(&p, 1, (tg_adam_options){.betas = {-0.1}}),
              "tg_optim_adamw: betas[0] must be in [0, 1), got -0.1");
    check_bad(tg_optim_adamw(&p, 1, (tg_adam_options){.weight_decay = -1}),
              "tg_optim_adamw: weight_decay must be >= 0, got -1");
    /* the first problem is the one reported */
    check_bad(tg_optim_adam(&p, 1, (tg_adam_options){.lr = -1, .eps = -1}),
              "tg_optim_adam: lr must be >= 0, got -1");
    tg_tensor_free(p);
}
END_TEST

START_TEST(bad_params) {
    tg_tensor *a = param(TG_SHAPE(2, 3), 1), *b = param(TG_SHAPE(3), 1);
    b->name = "bias";
    tg_adam_options ao = {0};
    check_bad(tg_optim_adam(NULL, 2, ao), "tg_optim_adam: params is NULL");
    tg_tensor *ps[3] = {a, b, NULL};
    check_bad(tg_optim_adam(ps, 0, ao), "tg_optim_adam: expected at least one parameter, "
                                        "got n = 0");
    check_bad(tg_optim_adam(ps, 3, ao), "tg_optim_adam: params[2] is NULL");
    ps[2] = b;
    check_bad(tg_optim_adam(ps, 3, ao),
              "tg_optim_adam: params[2] (\"bias\") is the same tensor as params[1]");
    /* a tensor not made on the heap would not outlive its tape */
    tg_tensor local = *b;
    local.on_heap = false;
    ps[2] = &local;
    check_bad(tg_optim_adam(ps, 3, ao), "tg_optim_adam: params[2] (\"bias\") is not a heap "
                                        "tensor (create parameters with tg_param_new)");
    /* strides of a transposed [3,2] view */
    tg_tensor *t = param(TG_SHAPE(2, 3), 1);
    t->shape[0] = 3, t->shape[1] = 2, t->stride[0] = 1, t->stride[1] = 3;
    ps[2] = t;
    check_bad(tg_optim_sgd(ps, 3, (tg_sgd_options){.lr = 1}),
              "tg_optim_sgd: params[2] is not contiguous");
    t->shape[0] = 2, t->shape[1] = 3, t->stride[0] = 3, t->stride[1] = 1;
    tg_tensor_free(t);
    tg_tensor_free(a);
    tg_tensor_free(b);
    ck_assert_str_eq(tg_optim_error(NULL),
                     "tg_optim: no optimizer (NULL: out of memory at creation)");
    ck_assert_int_eq(tg_optim_step(NULL), -1);
    tg_optim_free(NULL);
}
END_TEST

START_TEST(learning_rate) {
    tg_tensor *p = param(TG_SHAPE(1), 1);
    tg_optim *o = tg_optim_sgd(&p, 1, (tg_sgd_options){.lr = 0.5});
    p->grad[0] = 1;
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert_double_eq(p->data[0], 0.5);
    ck_assert_int_eq(tg_optim_set_lr(o, 0.25), 0);
    ck_assert_double_eq(tg_optim_lr(o), 0.25);
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert_double_eq(p->data[0], 0.25);
    ck_assert_int_eq(tg_optim_set_lr(o, -1), -1);
    ck_assert_str_eq(tg_optim_error(o), "tg_optim_set_lr: lr must be finite and >= 0, got -1");
    ck_assert_int_eq(tg_optim_set_lr(o, INFINITY), -1);
    ck_assert_str_eq(tg_optim_error(o), "tg_optim_set_lr: lr must be finite and >= 0, got inf");
    ck_assert_double_eq(tg_optim_lr(o), 0.25);
    /* a refused lr does not break the optimizer */
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert_double_eq(p->data[0], 0);
    ck_assert_int_eq(tg_optim_set_param_weight_decay(o, 1, 0), -1);
    ck_assert_str_eq(tg_optim_error(o),
                     "tg_optim_set_param_weight_decay: index 1 out of range for 1 parameters");
    ck_assert_int_eq(tg_optim_set_param_weight_decay(o, 0, -0.5), -1);
    ck_assert_str_eq(tg_optim_error(o), "tg_optim_set_param_weight_decay: weight_decay must be "
                                        "finite and >= 0, got -0.5");
    tg_optim_free(o);
    tg_tensor_free(p);
}
END_TEST

START_TEST(zero_grad_and_params) {
    tg_tensor *a = param(TG_SHAPE(2, 2), 0), *b = param(TG_SHAPE(3), 0);
    tg_tensor *ps[2] = {a, b};
    tg_optim *o = tg_optim_rmsprop(ps, 2, (tg_rmsprop_options){0});
    tg_fill(a, 1);
    for (int i = 0; i < 4; i++) a->grad[i] = (tg_real)(i + 1);
    for (int i = 0; i < 3; i++) b->grad[i] = -1;
    tg_optim_zero_grad(o);
    for (int i = 0; i < 4; i++) ck_assert_double_eq(a->grad[i], 0);
    for (int i = 0; i < 3; i++) ck_assert_double_eq(b->grad[i], 0);
    ck_assert_double_eq(a->data[0], 1); /* data untouched */
    int n = 0;
    tg_tensor *const *got = tg_optim_params(o, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_eq(got[0], a);
    ck_assert_ptr_eq(got[1], b);
    tg_optim_free(o);
    tg_tensor_free(a);
    tg_tensor_free(b);
}
END_TEST

/* A parameter without a gradient is skipped and its step count stays. */
START_TEST(null_grad_skipped) {
    tg_tensor *a = param(TG_SHAPE(2), 1), *b = param(TG_SHAPE(2), 1);
    tg_tensor *ps[2] = {a, b};
    tg_optim *o = tg_optim_adam(ps, 2, (tg_adam_options){.lr = 0.1});
    tg_fill(a, 1), tg_fill(b, 1);
    a->grad[0] = a->grad[1] = b->grad[0] = b->grad[1] = 1;
    tg_real *keep = b->grad;
    ck_assert_int_eq(tg_optim_step(o), 0);
    b->grad = NULL;
    ck_assert_int_eq(tg_optim_step(o), 0);
    b->grad = keep;
    /* step 1 moves each by lr exactly (bias-corrected m / sqrt(v) = 1) */
    ck_assert_double_eq_tol(b->data[0], 0.9, 1e-6);
    ck_assert_double_eq_tol(a->data[0], 0.8, 1e-6);
    tg_named st[8];
    ck_assert_int_eq(tg_optim_state(o, st, 8), 5);
    ck_assert_str_eq(st[0].name, "optim.step");
    ck_assert_double_eq(st[0].tensor->data[0], 2);
    ck_assert_double_eq(st[0].tensor->data[1], 1);
    tg_optim_free(o);
    tg_tensor_free(a);
    tg_tensor_free(b);
}
END_TEST

/* PyTorch does not check gradients in step(); neither do we (clipping
 * reports them): a NaN gradient reaches the parameter. */
START_TEST(nan_gradient_propagates) {
    tg_tensor *p = param(TG_SHAPE(2), 1);
    tg_optim *o = tg_optim_sgd(&p, 1, (tg_sgd_options){.lr = 0.1});
    p->grad[0] = NAN;
    p->grad[1] = 1;
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert(isnan(p->data[0]));
    ck_assert_double_eq_tol(p->data[1], 0.9, 1e-7);
    tg_optim_free(o);
    tg_tensor_free(p);
}
END_TEST

static void check_names(tg_optim *o, const char *const *want, int n) {
    tg_named items[16];
    ck_assert_int_eq(tg_optim_state(o, NULL, 0), n);
    ck_assert_int_eq(tg_optim_state(o, items, 16), n);
    for (int i = 0; i < n; i++) ck_assert_str_eq(items[i].name, want[i]);
    tg_optim_free(o);
}

START_TEST(state_names_and_shapes) {
    tg_tensor *a = param(TG_SHAPE(2, 3), 1), *b = param(TG_SHAPE(3), 1);
    tg_tensor *ps[2] = {a, b};
    const char *sgd[] = {"optim.step"};
    check_names(tg_optim_sgd(ps, 2, (tg_sgd_options){.lr = 1}), sgd, 1);
    const char *mom[] = {"optim.step", "optim.momentum_buffer.0", "optim.momentum_buffer.1"};
    check_names(tg_optim_sgd(ps, 2, (tg_sgd_options){.lr = 1, .momentum = 0.5}), mom, 3);
    const char *rms[] = {"optim.step",
                         "optim.square_avg.0",
                         "optim.square_avg.1",
                         "optim.momentum_buffer.0",
                         "optim.momentum_buffer.1",
                         "optim.grad_avg.0",
                         "optim.grad_avg.1"};
    check_names(tg_optim_rmsprop(ps, 2, (tg_rmsprop_options){.momentum = 0.5, .centered = true}),
                rms, 7);
    const char *ams[] = {"optim.step",
                         "optim.exp_avg.0",
                         "optim.exp_avg.1",
                         "optim.exp_avg_sq.0",
                         "optim.exp_avg_sq.1",
                         "optim.max_exp_avg_sq.0",
                         "optim.max_exp_avg_sq.1"};
    check_names(tg_optim_adamw(ps, 2, (tg_adam_options){.amsgrad = true}), ams, 7);
    /* Adagrad's sum starts at initial_accumulator_value, in each param's shape */
    tg_optim *o = tg_optim_adagrad(ps, 2, (tg_adagrad_options){.initial_accumulator_value = 0.25});
    tg_named items[3];
    ck_assert_int_eq(tg_optim_state(o, items, 2), 3); /* count, though only 2 fit */
    ck_assert_str_eq(items[1].name, "optim.sum.0");
    ck_assert_int_eq(items[1].tensor->ndim, 2);
    ck_assert_int_eq(items[1].tensor->shape[1], 3);
    ck_assert_double_eq(items[1].tensor->data[5], 0.25);
    ck_assert_int_eq(items[0].tensor->numel, 2);
    tg_optim_free(o);
    tg_tensor_free(a);
    tg_tensor_free(b);
}
END_TEST

TCase *tcase_optim_api(void) {
    TCase *tc = tcase_create("optim_api");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, adamw_default_decay);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, bad_params);
    tcase_add_test(tc, learning_rate);
    tcase_add_test(tc, zero_grad_and_params);
    tcase_add_test(tc, null_grad_skipped);
    tcase_add_test(tc, nan_gradient_propagates);
    tcase_add_test(tc, state_names_and_shapes);
    return tc;
}
