/* Learning-rate schedules against torch.optim.lr_scheduler's values
 * (stepped once per epoch, as a training loop does), and their errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "fixtures/optim_reference.h"

/* The schedules of gen_optim_fixtures.py, under the same names. */
static tg_schedule make(const char *name) {
    const double lr = REF_BASE_LR;
    if (!strcmp(name, "step")) return tg_schedule_step(lr, 7, 0.5);
    if (!strcmp(name, "exponential")) return tg_schedule_exponential(lr, 0.9);
    if (!strcmp(name, "cosine")) return tg_schedule_cosine(lr, 10, 0.001);
    if (!strcmp(name, "cosine_zero")) return tg_schedule_cosine(lr, 7, 0);
    if (!strcmp(name, "linear")) return tg_schedule_linear(lr, 0.25, 1.0, 8);
    if (!strcmp(name, "linear_decay")) return tg_schedule_linear(lr, 1.0, 0.1, 12);
    if (!strcmp(name, "warmup_cosine"))
        return tg_schedule_with_warmup(tg_schedule_cosine(lr, 15, 0), 5, 0.1);
    if (!strcmp(name, "warmup_step"))
        return tg_schedule_with_warmup(tg_schedule_step(lr, 4, 0.3), 3, 0.5);
    ck_abort_msg("no schedule named %s", name);
    return tg_schedule_constant(0);
}

START_TEST(matches_pytorch) {
    ck_assert_int_eq(REF_NSCHEDS, 8);
    for (int k = 0; k < REF_NSCHEDS; k++) {
        const ref_sched *ref = &ref_scheds[k];
        tg_schedule s = make(ref->name);
        ck_assert_int_eq(tg_schedule_check(&s, NULL, 0), 0);
        double worst = 0;
        for (int e = 0; e < REF_EPOCHS; e++) {
            double got = tg_schedule_lr(&s, e), want = ref->lr[e];
            double err = fabs(got - want) / fmax(want, 1e-9); /* cosine reaches 0 */
            if (err > worst) worst = err;
            /* torch steps recursively (lr *= ...), we use its closed forms:
             * the two agree to rounding. */
            ck_assert_msg(err <= 1e-12, "%s epoch %d: %.17g, torch %.17g", ref->name, e, got, want);
        }
        if (getenv("OPTIM_PARITY_VERBOSE")) printf("%-14s worst rel err %.3g\n", ref->name, worst);
    }
}
END_TEST

/* A few values by hand, so the closed forms are checked on their own too. */
START_TEST(hand_values) {
    tg_schedule s = tg_schedule_step(1.0, 3, 0.5);
    ck_assert_double_eq(tg_schedule_lr(&s, 2), 1.0);
    ck_assert_double_eq(tg_schedule_lr(&s, 3), 0.5);
    ck_assert_double_eq(tg_schedule_lr(&s, 7), 0.25);
    s = tg_schedule_cosine(1.0, 4, 0.0);
    ck_assert_double_eq_tol(tg_schedule_lr(&s, 2), 0.5, 1e-15);
    ck_assert_double_eq_tol(tg_schedule_lr(&s, 4), 0.0, 1e-15);
    ck_assert_double_eq_tol(tg_schedule_lr(&s, 8), 1.0, 1e-15); /* periodic past t_max */
    s = tg_schedule_linear(2.0, 0.5, 1.0, 4);
    ck_assert_double_eq(tg_schedule_lr(&s, 0), 1.0);
    ck_assert_double_eq(tg_schedule_lr(&s, 2), 1.5);
    ck_assert_double_eq(tg_schedule_lr(&s, 100), 2.0);
    s = tg_schedule_with_warmup(tg_schedule_exponential(1.0, 0.5), 2, 0.5);
    ck_assert_double_eq(tg_schedule_lr(&s, 0), 0.5);
    ck_assert_double_eq(tg_schedule_lr(&s, 1), 0.75);
    ck_assert_double_eq(tg_schedule_lr(&s, 2), 1.0);
    ck_assert_double_eq(tg_schedule_lr(&s, 4), 0.25);
    s = tg_schedule_constant(0.3);
    ck_assert_double_eq(tg_schedule_lr(&s, 1000), 0.3);
}
END_TEST

/* A schedule drives any optimizer through tg_optim_set_lr. */
START_TEST(drives_an_optimizer) {
    tg_tensor *p = tg_param_new(TG_SHAPE(3));
    tg_optim *o = tg_optim_rmsprop(&p, 1, (tg_rmsprop_options){.lr = 0.5});
    tg_schedule s = tg_schedule_with_warmup(tg_schedule_cosine(0.5, 10, 0.01), 3, 0.2);
    for (int e = 0; e < 20; e++) {
        ck_assert_int_eq(tg_optim_set_lr(o, tg_schedule_lr(&s, e)), 0);
        ck_assert_double_eq(tg_optim_lr(o), tg_schedule_lr(&s, e));
        ck_assert_int_eq(tg_optim_step(o), 0);
    }
    ck_assert_double_eq_tol(tg_optim_lr(o), 0.01 + 0.49 * (1 + cos(acos(-1.0) * 16 / 10)) / 2,
                            1e-15);
    tg_optim_free(o);
    tg_tensor_free(p);
}
END_TEST

static void check_bad(tg_schedule s, const char *msg) {
    char err[160] = "";
    ck_assert_int_eq(tg_schedule_check(&s, err, sizeof err), -1);
    ck_assert_str_eq(err, msg);
    ck_assert(isnan(tg_schedule_lr(&s, 0)));
}

START_TEST(errors) {
    check_bad(tg_schedule_step(0.1, 0, 0.5), "tg_schedule: step_size must be >= 1, got 0");
    check_bad(tg_schedule_step(0.1, 2, -0.5),
              "tg_schedule: gamma must be finite and >= 0, got -0.5");
    check_bad(tg_schedule_exponential(-1, 0.5),
              "tg_schedule: base_lr must be finite and >= 0, got -1");
    check_bad(tg_schedule_cosine(0.1, 0, 0), "tg_schedule: t_max must be >= 1, got 0");
    check_bad(tg_schedule_cosine(0.1, 5, NAN),
              "tg_schedule: eta_min must be finite and >= 0, got nan");
    check_bad(tg_schedule_linear(0.1, 0, 1, 5),
              "tg_schedule: start_factor must be in (0, 1], got 0");
    check_bad(tg_schedule_linear(0.1, 0.5, 1.5, 5),
              "tg_schedule: end_factor must be in [0, 1], got 1.5");
    check_bad(tg_schedule_linear(0.1, 0.5, 1, 0), "tg_schedule: total_iters must be >= 1, got 0");
    check_bad(tg_schedule_with_warmup(tg_schedule_constant(0.1), 5, 0),
              "tg_schedule: warmup_start_factor must be in (0, 1], got 0");
    check_bad(tg_schedule_with_warmup(tg_schedule_constant(0.1), -1, 0.5),
              "tg_schedule: warmup must be >= 0, got -1");
    check_bad((tg_schedule){.kind = (tg_schedule_kind)42, .base_lr = 0.1},
              "tg_schedule: unknown kind 42");
    char err[80];
    ck_assert_int_eq(tg_schedule_check(NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "tg_schedule: schedule is NULL");
    ck_assert(isnan(tg_schedule_lr(NULL, 0)));
    /* a negative epoch has no rate; set_lr refuses the NaN and keeps its lr */
    tg_schedule s = tg_schedule_constant(0.1);
    ck_assert(isnan(tg_schedule_lr(&s, -1)));
    tg_tensor *p = tg_param_new(TG_SHAPE(1));
    tg_optim *o = tg_optim_sgd(&p, 1, (tg_sgd_options){.lr = 0.2});
    ck_assert_int_eq(tg_optim_set_lr(o, tg_schedule_lr(&s, -1)), -1);
    ck_assert_str_eq(tg_optim_error(o), "tg_optim_set_lr: lr must be finite and >= 0, got nan");
    ck_assert_double_eq(tg_optim_lr(o), 0.2);
    tg_optim_free(o);
    tg_tensor_free(p);
}
END_TEST

TCase *tcase_schedule(void) {
    TCase *tc = tcase_create("schedule");
    tcase_add_test(tc, matches_pytorch);
    tcase_add_test(tc, hand_values);
    tcase_add_test(tc, drives_an_optimizer);
    tcase_add_test(tc, errors);
    return tc;
}
