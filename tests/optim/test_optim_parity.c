/* Every optimizer against PyTorch, step for step: 20 steps with given
 * gradients from fixed parameters; the parameters after every step must
 * match torch.optim's (tests/optim/gen_optim_fixtures.py, float64). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "fixtures/optim_reference.h"

/* Relative to max(1, |expected|); the parameters are of order 1. */
#ifdef TG_DOUBLE
#define PARITY_TOL 1e-10 /* the issue asks for 1e-6; we see 1e-15 */
#else
#define PARITY_TOL 1e-5 /* we see 1e-6 */
#endif

enum { SGD, ADAGRAD, RMSPROP, ADAM, ADAMW };
enum { PLAIN, SKIP, SCHED, NODECAY_B };

/* The configurations of gen_optim_fixtures.py, under the same names. */
typedef struct cfg {
    const char *name;
    int kind, extra;
    tg_sgd_options sgd;
    tg_adagrad_options adagrad;
    tg_rmsprop_options rmsprop;
    tg_adam_options adam;
} cfg;

static const cfg cfgs[] = {
    {"sgd_plain", SGD, PLAIN, .sgd = {.lr = 0.1}},
    {"sgd_momentum", SGD, PLAIN, .sgd = {.lr = 0.1, .momentum = 0.9}},
    {"sgd_dampening", SGD, PLAIN, .sgd = {.lr = 0.1, .momentum = 0.9, .dampening = 0.3}},
    {"sgd_nesterov", SGD, PLAIN, .sgd = {.lr = 0.1, .momentum = 0.9, .nesterov = true}},
    {"sgd_wd", SGD, PLAIN, .sgd = {.lr = 0.1, .weight_decay = 0.1}},
    {"sgd_all", SGD, PLAIN,
     .sgd = {.lr = 0.05, .momentum = 0.8, .weight_decay = 0.2, .nesterov = true}},
    {"sgd_sched", SGD, SCHED, .sgd = {.lr = 0.1, .momentum = 0.9}},
    {"sgd_skip", SGD, SKIP, .sgd = {.lr = 0.1, .momentum = 0.9, .dampening = 0.5}},
    {"adagrad_default", ADAGRAD, PLAIN, .adagrad = {0}},
    {"adagrad_lr_decay", ADAGRAD, PLAIN, .adagrad = {.lr = 0.1, .lr_decay = 0.05}},
    {"adagrad_wd", ADAGRAD, PLAIN, .adagrad = {.lr = 0.1, .weight_decay = 0.1}},
    {"adagrad_init_eps", ADAGRAD, PLAIN,
     .adagrad = {.lr = 0.1, .initial_accumulator_value = 0.5, .eps = 1e-3}},
    {"adagrad_skip", ADAGRAD, SKIP, .adagrad = {.lr = 0.1, .lr_decay = 0.1}},
    {"rmsprop_default", RMSPROP, PLAIN, .rmsprop = {0}},
    {"rmsprop_momentum", RMSPROP, PLAIN, .rmsprop = {.lr = 0.01, .momentum = 0.9}},
    {"rmsprop_centered", RMSPROP, PLAIN, .rmsprop = {.lr = 0.01, .centered = true}},
    {"rmsprop_all", RMSPROP, PLAIN,
     .rmsprop = {.lr = 0.01,
                 .alpha = 0.9,
                 .eps = 1e-3,
                 .weight_decay = 0.1,
                 .momentum = 0.5,
                 .centered = true}},
    {"adam_default", ADAM, PLAIN, .adam = {0}},
    {"adam_lr", ADAM, PLAIN, .adam = {.lr = 0.1}},
    {"adam_wd", ADAM, PLAIN, .adam = {.lr = 0.1, .weight_decay = 0.1}},
    {"adam_amsgrad", ADAM, PLAIN, .adam = {.lr = 0.1, .amsgrad = true}},
    {"adam_betas", ADAM, PLAIN, .adam = {.lr = 0.1, .betas = {0.5, 0.9}, .eps = 1e-6}},
    {"adam_beta1_zero", ADAM, PLAIN, .adam = {.lr = 0.1, .betas = {TG_ZERO, 0.99}}},
    {"adam_all", ADAM, PLAIN,
     .adam = {.lr = 0.05, .betas = {0.8, 0.95}, .weight_decay = 0.2, .amsgrad = true}},
    {"adam_skip", ADAM, SKIP, .adam = {.lr = 0.1}},
    {"adam_sched", ADAM, SCHED, .adam = {.lr = 0.1}},
    {"adamw_default", ADAMW, PLAIN, .adam = {0}},
    {"adamw_lr", ADAMW, PLAIN, .adam = {.lr = 0.1}},
    {"adamw_wd_amsgrad", ADAMW, PLAIN, .adam = {.lr = 0.1, .weight_decay = 0.5, .amsgrad = true}},
    {"adamw_no_wd", ADAMW, PLAIN, .adam = {.lr = 0.1, .weight_decay = TG_ZERO}},
    {"adamw_nodecay_b", ADAMW, NODECAY_B, .adam = {.lr = 0.1, .weight_decay = 0.3}},
    {"sgd_nodecay_b", SGD, NODECAY_B, .sgd = {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.2}},
};
#define NCFGS ((int)(sizeof cfgs / sizeof cfgs[0]))

static tg_optim *make(const cfg *c, tg_tensor **ps) {
    switch (c->kind) {
    case SGD: return tg_optim_sgd(ps, 2, c->sgd);
    case ADAGRAD: return tg_optim_adagrad(ps, 2, c->adagrad);
    case RMSPROP: return tg_optim_rmsprop(ps, 2, c->rmsprop);
    case ADAM: return tg_optim_adam(ps, 2, c->adam);
    default: return tg_optim_adamw(ps, 2, c->adam);
    }
}

static const ref_case *find_ref(const char *name) {
    for (int i = 0; i < REF_NCASES; i++)
        if (strcmp(ref_cases[i].name, name) == 0) return &ref_cases[i];
    return NULL;
}

static bool skip_b(int t) {
    for (size_t k = 0; k < sizeof ref_skip_b / sizeof ref_skip_b[0]; k++)
        if (ref_skip_b[k] == t) return true;
    return false;
}

static void load(tg_tensor *t, const double *v) {
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = (tg_real)v[i];
}

static void load_grad(tg_tensor *t, const double *v) {
    for (int64_t i = 0; i < t->numel; i++) t->grad[i] = (tg_real)v[i];
}

/* The C table and the fixture hold the same cases. */
START_TEST(every_fixture_case_is_run) {
    ck_assert_int_eq(NCFGS, REF_NCASES);
    for (int i = 0; i < NCFGS; i++)
        ck_assert_msg(find_ref(cfgs[i].name), "no fixture case %s", cfgs[i].name);
}
END_TEST

START_TEST(matches_pytorch) {
    const cfg *c = &cfgs[_i];
    const ref_case *ref = find_ref(c->name);
    ck_assert_msg(ref, "no fixture case %s", c->name);
    tg_tensor *w = tg_param_new(TG_SHAPE(2, 3)), *b = tg_param_new(TG_SHAPE(2));
    tg_tensor *ps[2] = {w, b};
    load(w, ref_w0);
    load(b, ref_b0);
    tg_optim *o = make(c, ps);
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_null(tg_optim_error(o));
    if (c->extra == NODECAY_B) ck_assert_int_eq(tg_optim_set_param_weight_decay(o, 1, 0), 0);
    tg_real *b_grad = b->grad;
    double worst = 0;
    for (int t = 0; t < REF_STEPS; t++) {
        load_grad(w, ref_grad_w[t]);
        load_grad(b, ref_grad_b[t]);
        if (c->extra == SKIP && skip_b(t)) b->grad = NULL; /* as p.grad = None */
        if (c->extra == SCHED) ck_assert_int_eq(tg_optim_set_lr(o, 0.1 * pow(0.9, t)), 0);
        ck_assert_int_eq(tg_optim_step(o), 0);
        b->grad = b_grad;
        const double *want = ref->params[t];
        for (int k = 0; k < REF_NW + REF_NB; k++) {
            double got = k < REF_NW ? w->data[k] : b->data[k - REF_NW];
            double err = fabs(got - want[k]) / fmax(1.0, fabs(want[k]));
            if (err > worst) worst = err;
            ck_assert_msg(err <= PARITY_TOL, "%s step %d param %d: %.15g, torch %.15g", c->name,
                          t + 1, k, got, want[k]);
        }
    }
    if (getenv("OPTIM_PARITY_VERBOSE")) printf("%-18s worst rel err %.3g\n", c->name, worst);
    /* Each case must have moved the parameters, or it tests nothing. */
    ck_assert_double_gt(fabs(ref->params[REF_STEPS - 1][0] - ref_w0[0]), 1e-3);
    tg_optim_free(o);
    tg_tensor_free(w);
    tg_tensor_free(b);
}
END_TEST

TCase *tcase_optim_parity(void) {
    TCase *tc = tcase_create("optim_parity");
    tcase_add_test(tc, every_fixture_case_is_run);
    tcase_add_loop_test(tc, matches_pytorch, 0, NCFGS);
    return tc;
}
