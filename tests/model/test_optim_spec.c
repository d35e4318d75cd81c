/* The "optimizer" section of spec files: every optimizer built from JSON
 * updates parameters exactly as the one built from option structs (explicit
 * zeros included), schedules and warm-up, clipping before a step, and the
 * messages for bad sections. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "model/model_impl.h" /* JSON sections fed directly */

static cJSON *json(const char *text) {
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "bad test JSON: %s", text);
    return j;
}

static tg_optim_spec parse_ok(const char *text, int default_t_max) {
    char err[512] = "";
    tg_jctx c = {.file = "spec.json", .err = err, .errlen = sizeof err};
    cJSON *j = json(text);
    tg_optim_spec s;
    ck_assert_msg(tg_optim_spec_parse(&c, j, "optimizer", default_t_max, &s) == 0, "%s", err);
    cJSON_Delete(j);
    return s;
}

/* Three steps with fixed gradients; the parameters afterwards. */
static void run(tg_optim *o, tg_tensor *p, tg_real out[4]) {
    ck_assert_msg(o && !tg_optim_error(o), "%s", tg_optim_error(o));
    static const tg_real grads[3][4] = {{0.5, -1, 2, 0}, {-0.25, 3, 1, -2}, {1, 1, -1, 0.5}};
    tg_copy_from(p, (tg_real[]){1, -2, 0.5, 3});
    for (int s = 0; s < 3; s++) {
        memcpy(p->grad, grads[s], sizeof grads[s]);
        ck_assert_int_eq(tg_optim_step(o), 0);
    }
    memcpy(out, p->data, 4 * sizeof *out);
}

typedef tg_optim *(*direct_fn)(tg_tensor *const *params, int n);

static tg_optim *d_sgd(tg_tensor *const *p, int n) {
    return tg_optim_sgd(
        p, n, (tg_sgd_options){.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
}
static tg_optim *d_nesterov(tg_tensor *const *p, int n) {
    return tg_optim_sgd(p, n, (tg_sgd_options){.lr = 0.1, .momentum = 0.9, .nesterov = true});
}
static tg_optim *d_sgd_zero(tg_tensor *const *p, int n) {
    return tg_optim_sgd(p, n, (tg_sgd_options){.lr = TG_ZERO});
}
static tg_optim *d_adagrad(tg_tensor *const *p, int n) {
    return tg_optim_adagrad(p, n,
                            (tg_adagrad_options){.lr = 0.05,
                                                 .lr_decay = 0.01,
                                                 .weight_decay = 0.1,
                                                 .initial_accumulator_value = 0.2,
                                                 .eps = 1e-6});
}
static tg_optim *d_rmsprop(tg_tensor *const *p, int n) {
    return tg_optim_rmsprop(p, n,
                            (tg_rmsprop_options){.lr = 0.01,
                                                 .alpha = 0.9,
                                                 .eps = 1e-6,
                                                 .weight_decay = 0.1,
                                                 .momentum = 0.5,
                                                 .centered = true});
}
static tg_optim *d_adam(tg_tensor *const *p, int n) {
    return tg_optim_adam(p, n,
                         (tg_adam_options){.lr = 0.01,
                                           .betas = {TG_ZERO, 0.99},
                                           .eps = 1e-6,
                                           .weight_decay = 0.1,
                                           .amsgrad = true});
}
static tg_optim *d_adam_default(tg_tensor *const *p, int n) {
    return tg_optim_adam(p, n, (tg_adam_options){0});
}
static tg_optim *d_adamw_nodecay(tg_tensor *const *p, int n) {
    return tg_optim_adamw(p, n, (tg_adam_options){.weight_decay = TG_ZERO});
}

static const struct {
    const char *json, *kind;
    double lr;
    direct_fn direct;
} SAME[] = {
    {"{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"dampening\": 0.1, \"weight_decay\": "
     "0.01}",
     "sgd", 0.1, d_sgd},
    {"{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"nesterov\": true}", "sgd", 0.1,
     d_nesterov},
    {"{\"type\": \"sgd\", \"lr\": 0}", "sgd", 0, d_sgd_zero},
    {"{\"type\": \"adagrad\", \"lr\": 0.05, \"lr_decay\": 0.01, \"weight_decay\": 0.1, "
     "\"initial_accumulator_value\": 0.2, \"eps\": 1e-6}",
     "adagrad", 0.05, d_adagrad},
    {"{\"type\": \"rmsprop\", \"lr\": 0.01, \"alpha\": 0.9, \"eps\": 1e-6, \"weight_decay\": 0.1, "
     "\"momentum\": 0.5, \"centered\": true}",
     "rmsprop", 0.01, d_rmsprop},
    {"{\"type\": \"adam\", \"lr\": 0.01, \"betas\": [0, 0.99], \"eps\": 1e-6, \"weight_decay\": "
     "0.1, \"amsgrad\": true}",
     "adam", 0.01, d_adam},
    {"{}", "adam", 1e-3, d_adam_default},
    {"{\"type\": \"adamw\", \"weight_decay\": 0}", "adamw", 1e-3, d_adamw_nodecay},
};

START_TEST(same_as_option_structs) {
    tg_optim_spec s = parse_ok(SAME[_i].json, 0);
    ck_assert_double_eq(s.lr, SAME[_i].lr);
    tg_tensor *a = tg_param_new(TG_SHAPE(4)), *b = tg_param_new(TG_SHAPE(4));
    tg_optim *oa = tg_optim_spec_build(&s, &a, 1), *ob = SAME[_i].direct(&b, 1);
    ck_assert_str_eq(tg_optim_kind(oa), SAME[_i].kind);
    ck_assert_double_eq(tg_optim_lr(oa), tg_optim_lr(ob));
    tg_real va[4], vb[4];
    run(oa, a, va);
    run(ob, b, vb);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(va[i] == vb[i], "%s: [%d] %.17g vs %.17g", SAME[_i].json, i, (double)va[i],
                      (double)vb[i]);
    tg_optim_free(oa);
    tg_optim_free(ob);
    tg_tensor_free(a);
    tg_tensor_free(b);
}
END_TEST

/* An explicit zero is a zero, not "the default": betas[0] = 0 moves the
 * parameters differently from the default 0.9. */
START_TEST(explicit_zero_is_not_default) {
    tg_optim_spec z = parse_ok("{\"betas\": [0, 0.999]}", 0), d = parse_ok("{}", 0);
    ck_assert(signbit(z.adam.betas[0]));
    tg_tensor *a = tg_param_new(TG_SHAPE(4)), *b = tg_param_new(TG_SHAPE(4));
    tg_optim *oa = tg_optim_spec_build(&z, &a, 1), *ob = tg_optim_spec_build(&d, &b, 1);
    tg_real va[4], vb[4];
    run(oa, a, va);
    run(ob, b, vb);
    ck_assert(va[1] != vb[1]);
    tg_optim_free(oa);
    tg_optim_free(ob);
    tg_tensor_free(a);
    tg_tensor_free(b);
}
END_TEST

START_TEST(schedules) {
    static const struct {
        const char *json;
        int default_t_max;
        tg_schedule want;
    } cases[] = {
        {"{\"lr\": 0.5}", 0, {.kind = TG_SCHEDULE_CONSTANT, .base_lr = 0.5}},
        {"{\"lr\": 0.5, \"schedule\": {\"type\": \"step\", \"step_size\": 3, \"gamma\": 0.5}}",
         0,
         {.kind = TG_SCHEDULE_STEP, .base_lr = 0.5, .step_size = 3, .gamma = 0.5}},
        {"{\"lr\": 0.5, \"schedule\": {\"type\": \"step\", \"step_size\": 2}}",
         0,
         {.kind = TG_SCHEDULE_STEP, .base_lr = 0.5, .step_size = 2, .gamma = 0.1}},
        {"{\"lr\": 0.5, \"schedule\": {\"type\": \"exponential\", \"gamma\": 0.9}}",
         0,
         {.kind = TG_SCHEDULE_EXPONENTIAL, .base_lr = 0.5, .gamma = 0.9}},
        {"{\"lr\": 0.5, \"schedule\": {\"type\": \"cosine\", \"t_max\": 10, \"eta_min\": 0.001}}",
         0,
         {.kind = TG_SCHEDULE_COSINE, .base_lr = 0.5, .t_max = 10, .eta_min = 0.001}},
        {"{\"lr\": 0.5, \"schedule\": {\"type\": \"cosine\"}}",
         7,
         {.kind = TG_SCHEDULE_COSINE, .base_lr = 0.5, .t_max = 7}},
        {"{\"lr\": 0.5, \"schedule\": {\"type\": \"linear\"}}",
         0,
         {.kind = TG_SCHEDULE_LINEAR,
          .base_lr = 0.5,
          .start_factor = 1.0 / 3,
          .end_factor = 1,
          .total_iters = 5}},
        {"{\"lr\": 0.5, \"schedule\": {\"type\": \"constant\", \"warmup\": 4}}",
         0,
         {.kind = TG_SCHEDULE_CONSTANT,
          .base_lr = 0.5,
          .warmup = 4,
          .warmup_start_factor = 1.0 / 3}},
        {"{\"type\": \"sgd\", \"lr\": 0.5, \"schedule\": {\"type\": \"cosine\", \"t_max\": 6, "
         "\"warmup\": 3, \"warmup_start_factor\": 0.1}}",
         0,
         {.kind = TG_SCHEDULE_COSINE,
          .base_lr = 0.5,
          .t_max = 6,
          .warmup = 3,
          .warmup_start_factor = 0.1}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        tg_optim_spec s = parse_ok(cases[k].json, cases[k].default_t_max);
        ck_assert_int_eq(s.schedule.kind, cases[k].want.kind);
        for (int e = 0; e < 25; e++)
            ck_assert_msg(tg_schedule_lr(&s.schedule, e) == tg_schedule_lr(&cases[k].want, e),
                          "%s at %d: %g vs %g", cases[k].json, e, tg_schedule_lr(&s.schedule, e),
                          tg_schedule_lr(&cases[k].want, e));
        /* a new optimizer starts at the schedule's first rate (warm-up) */
        tg_tensor *p = tg_param_new(TG_SHAPE(1));
        tg_optim *o = tg_optim_spec_build(&s, &p, 1);
        ck_assert_double_eq(tg_optim_lr(o), tg_schedule_lr(&s.schedule, 0));
        tg_optim_free(o);
        tg_tensor_free(p);
    }
    /* the warm-up by hand: 0.5 * (0.1 + 0.9 * 2 / 3) at step 2 */
    tg_optim_spec s = parse_ok(cases[8].json, 0);
    ck_assert_double_eq_tol(tg_schedule_lr(&s.schedule, 2), 0.5 * (0.1 + 0.9 * 2 / 3.0), 1e-15);
    ck_assert_double_eq_tol(tg_schedule_lr(&s.schedule, 3), 0.5, 1e-15);
}
END_TEST

/* tg_optim_spec_prepare: this step's rate, then clipping as the spec says. */
START_TEST(prepare_clips_and_schedules) {
    tg_tensor *p = tg_param_new(TG_SHAPE(2));
    char err[256] = "";
    double norm;
    tg_optim_spec s = parse_ok("{\"type\": \"sgd\", \"lr\": 1, \"clip_norm\": 1, \"schedule\": "
                               "{\"type\": \"step\", \"step_size\": 1, \"gamma\": 0.5}}",
                               0);
    tg_optim *o = tg_optim_spec_build(&s, &p, 1);
    tg_copy_from(p, (tg_real[]){0, 0});
    p->grad[0] = 3, p->grad[1] = 4;
    ck_assert_int_eq(tg_optim_spec_prepare(&s, o, 2, &norm, err, sizeof err), TG_CLIP_OK);
    ck_assert_double_eq(tg_optim_lr(o), 0.25);
    ck_assert_double_eq_tol(norm, 5, 1e-12);
    ck_assert_double_eq_tol(p->grad[0], 3 / (5 + 1e-6), 1e-6);
    ck_assert_double_eq_tol(p->grad[1], 4 / (5 + 1e-6), 1e-6);
    ck_assert_int_eq(tg_optim_step(o), 0);
    ck_assert_double_eq_tol(p->data[1], -0.25 * 4 / (5 + 1e-6), 1e-6);
    p->grad[0] = NAN;
    ck_assert_int_eq(tg_optim_spec_prepare(&s, o, 3, &norm, err, sizeof err), TG_CLIP_NONFINITE);
    ck_assert_ptr_nonnull(strstr(err, "is nan"));
    tg_optim_free(o);

    s = parse_ok("{\"lr\": 0.1, \"clip_norm\": 1, \"clip_norm_type\": \"inf\"}", 0);
    ck_assert(isinf(s.clip_norm_type));
    o = tg_optim_spec_build(&s, &p, 1);
    p->grad[0] = 3, p->grad[1] = -4;
    ck_assert_int_eq(tg_optim_spec_prepare(&s, o, 0, &norm, err, sizeof err), TG_CLIP_OK);
    ck_assert_double_eq_tol(norm, 4, 1e-12);
    tg_optim_free(o);

    s = parse_ok("{\"lr\": 0.1, \"clip_value\": 0.5}", 0);
    o = tg_optim_spec_build(&s, &p, 1);
    p->grad[0] = 3, p->grad[1] = -0.25;
    ck_assert_int_eq(tg_optim_spec_prepare(&s, o, 0, &norm, err, sizeof err), TG_CLIP_OK);
    ck_assert_double_eq(norm, 0);
    ck_assert_double_eq(p->grad[0], 0.5);
    ck_assert_double_eq(p->grad[1], -0.25);
    ck_assert_double_eq(tg_optim_lr(o), 0.1);
    tg_optim_free(o);

    /* nothing to clip */
    s = parse_ok("{}", 0);
    o = tg_optim_spec_build(&s, &p, 1);
    p->grad[0] = 300;
    ck_assert_int_eq(tg_optim_spec_prepare(&s, o, 5, NULL, err, sizeof err), TG_CLIP_OK);
    ck_assert_double_eq(p->grad[0], 300);
    ck_assert_int_eq(tg_optim_spec_prepare(&s, NULL, 5, NULL, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_optim_spec_prepare: o is NULL");
    tg_optim_free(o);
    tg_tensor_free(p);
}
END_TEST

static const struct {
    const char *json, *error;
} BAD[] = {
    {"[]", "spec.json: optimizer: expected an object such as {\"type\": \"adam\"}, got an array"},
    {"{\"type\": 5}", "spec.json: optimizer.type: expected an optimizer (sgd, adagrad, rmsprop, "
                      "adam, adamw), got 5"},
    {"{\"type\": \"lbfgs\"}", "spec.json: optimizer.type: unknown optimizer 'lbfgs' (known: sgd, "
                              "adagrad, rmsprop, adam, adamw)"},
    {"{\"type\": \"adam\", \"lr_decay\": 0.1}",
     "spec.json: optimizer.lr_decay: unknown key; valid keys: type, lr, clip_norm, "
     "clip_norm_type, clip_value, schedule, betas, eps, weight_decay, amsgrad"},
    {"{\"type\": \"adam\", \"betas\": 0.9}",
     "spec.json: optimizer.betas: expected an array of two numbers in [0, 1), got 0.9"},
    {"{\"type\": \"adam\", \"betas\": [\"0.9\", 0.9]}",
     "spec.json: optimizer.betas[0]: expected a number in [0, 1), got \"0.9\""},
    {"{\"type\": \"adagrad\", \"eps\": -1}",
     "spec.json: optimizer.eps: expected a number >= 0, got -1"},
    {"{\"type\": \"rmsprop\", \"alpha\": \"x\"}",
     "spec.json: optimizer.alpha: expected a number >= 0, got \"x\""},
    {"{\"type\": \"rmsprop\", \"centered\": 1}",
     "spec.json: optimizer.centered: expected true or false, got 1"},
    {"{\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9, \"dampening\": 0.5, \"nesterov\": true}",
     "spec.json: optimizer.nesterov: needs momentum > 0 and dampening 0"},
    {"{\"lr\": null}", "spec.json: optimizer.lr: expected a number >= 0, got null"},
    {"{\"clip_norm_type\": 1}", "spec.json: optimizer.clip_norm_type: only applies with clip_norm"},
    {"{\"clip_norm\": 1, \"clip_norm_type\": 0}",
     "spec.json: optimizer.clip_norm_type: expected a number > 0 or \"inf\", got 0"},
    {"{\"clip_value\": -2}", "spec.json: optimizer.clip_value: expected a number > 0, got -2"},
    {"{\"schedule\": {}}",
     "spec.json: optimizer.schedule.type: missing; expected a schedule (constant, step, "
     "exponential, cosine, linear)"},
    {"{\"schedule\": {\"type\": \"exponential\"}}",
     "spec.json: optimizer.schedule.gamma: missing; expected a number >= 0"},
    {"{\"schedule\": {\"type\": \"linear\", \"end_factor\": 2}}",
     "spec.json: optimizer.schedule.end_factor: expected a number in [0, 1], got 2"},
    {"{\"schedule\": {\"type\": \"constant\", \"warmup\": 3, \"warmup_start_factor\": 0}}",
     "spec.json: optimizer.schedule.warmup_start_factor: expected a number in (0, 1], got 0"},
    {"{\"schedule\": {\"type\": \"cosine\", \"t_max\": 0}}",
     "spec.json: optimizer.schedule.t_max: expected a positive integer, got 0"},
    {"{\"schedule\": {\"type\": \"step\", \"step_size\": 2.5}}",
     "spec.json: optimizer.schedule.step_size: expected a positive integer, got 2.5"},
    {"{\"schedule\": {\"type\": \"step\", \"step_size\": 3000000000}}",
     "spec.json: optimizer.schedule.step_size: expected a positive integer up to 2147483647, "
     "got 3000000000"},
    {"{\"schedule\": {\"type\": \"step\", \"step\": 3}}",
     "spec.json: optimizer.schedule.step: unknown key; did you mean 'step_size'?"},
};

START_TEST(bad_sections) {
    tg_tensor *p = tg_param_new(TG_SHAPE(2));
    for (size_t k = 0; k < sizeof BAD / sizeof *BAD; k++) {
        char err[512] = "";
        cJSON *j = json(BAD[k].json);
        tg_optim_spec s = tg_optim_spec_default();
        s.lr = 42; /* untouched on failure */
        tg_optim *o =
            tg_optim_from_json(j, "spec.json", "optimizer", 0, &p, 1, &s, err, sizeof err);
        ck_assert_msg(o == NULL, "accepted %s", BAD[k].json);
        ck_assert_msg(strcmp(err, BAD[k].error) == 0, "\n  json: %s\n   got: %s\n  want: %s",
                      BAD[k].json, err, BAD[k].error);
        ck_assert_double_eq(s.lr, 42);
        cJSON_Delete(j);
    }
    tg_tensor_free(p);
}
END_TEST

START_TEST(from_json) {
    tg_tensor *ps[2] = {tg_param_new(TG_SHAPE(2)), tg_param_new(TG_SHAPE(3))};
    char err[256];
    cJSON *j = json("{\"type\": \"rmsprop\", \"lr\": 0.02, \"clip_norm\": 2}");
    tg_optim_spec s;
    tg_optim *o = tg_optim_from_json(j, NULL, "opt", 0, ps, 2, &s, err, sizeof err);
    ck_assert_msg(o != NULL, "%s", err);
    ck_assert_str_eq(tg_optim_kind(o), "rmsprop");
    ck_assert_double_eq(tg_optim_lr(o), 0.02);
    ck_assert_int_eq(s.type, TG_OPTIM_RMSPROP);
    ck_assert_double_eq(s.clip_norm, 2);
    ck_assert_double_eq(s.clip_norm_type, 2);
    int n;
    tg_optim_params(o, &n);
    ck_assert_int_eq(n, 2);
    tg_optim_free(o);
    cJSON_Delete(j);
    /* no file: messages start at the path */
    j = json("{\"lr\": -1}");
    ck_assert_ptr_null(tg_optim_from_json(j, NULL, "opt", 0, ps, 2, NULL, err, sizeof err));
    ck_assert_str_eq(err, "opt.lr: expected a number >= 0, got -1");
    cJSON_Delete(j);
    /* a bad parameter list is the optimizer's own message */
    j = json("{}");
    tg_tensor *same[2] = {ps[0], ps[0]};
    ck_assert_ptr_null(
        tg_optim_from_json(j, "spec.json", "optimizer", 0, same, 2, NULL, err, sizeof err));
    ck_assert_str_eq(err, "spec.json: optimizer: tg_optim_adam: params[1] is the same tensor as "
                          "params[0]");
    cJSON_Delete(j);
    tg_optim_spec d = tg_optim_spec_default();
    ck_assert_int_eq(d.type, TG_OPTIM_ADAM);
    ck_assert_double_eq(d.lr, 1e-3);
    ck_assert_double_eq(d.clip_norm, 0);
    ck_assert_double_eq(d.clip_value, 0);
    ck_assert_int_eq(d.schedule.kind, TG_SCHEDULE_CONSTANT);
    tg_tensor_free(ps[0]);
    tg_tensor_free(ps[1]);
}
END_TEST

TCase *tcase_optim_spec(void) {
    TCase *tc = tcase_create("optim_spec");
    tcase_add_loop_test(tc, same_as_option_structs, 0, (int)(sizeof SAME / sizeof *SAME));
    tcase_add_test(tc, explicit_zero_is_not_default);
    tcase_add_test(tc, schedules);
    tcase_add_test(tc, prepare_clips_and_schedules);
    tcase_add_test(tc, bad_sections);
    tcase_add_test(tc, from_json);
    return tc;
}
