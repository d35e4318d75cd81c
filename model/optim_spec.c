/* The "optimizer" section of a spec: parsed and checked into a
 * tg_optim_spec, then built into an optimizer and a schedule. */
#include "model_impl.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const TYPES[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw", NULL};
#define COMMON "type", "lr", "clip_norm", "clip_norm_type", "clip_value", "schedule"
static const char *const KEYS_SGD[] = {COMMON,         "momentum", "dampening",
                                       "weight_decay", "nesterov", NULL};
static const char *const KEYS_ADAGRAD[] = {
    COMMON, "lr_decay", "weight_decay", "initial_accumulator_value", "eps", NULL};
static const char *const KEYS_RMSPROP[] = {COMMON,     "alpha",    "eps", "weight_decay",
                                           "momentum", "centered", NULL};
static const char *const KEYS_ADAM[] = {COMMON, "betas", "eps", "weight_decay", "amsgrad", NULL};
static const char *const *const KEYS[] = {KEYS_SGD, KEYS_ADAGRAD, KEYS_RMSPROP, KEYS_ADAM,
                                          KEYS_ADAM};

static const char *const SCHEDULES[] = {"constant", "step",   "exponential",
                                        "cosine",   "linear", NULL};
#define WARMUP "type", "warmup", "warmup_start_factor"
static const char *const SKEYS_CONSTANT[] = {WARMUP, NULL};
static const char *const SKEYS_STEP[] = {WARMUP, "step_size", "gamma", NULL};
static const char *const SKEYS_EXPONENTIAL[] = {WARMUP, "gamma", NULL};
static const char *const SKEYS_COSINE[] = {WARMUP, "t_max", "eta_min", NULL};
static const char *const SKEYS_LINEAR[] = {WARMUP, "start_factor", "end_factor", "total_iters",
                                           NULL};
/* indexed by tg_schedule_kind, which lists the kinds in SCHEDULES' order */
static const char *const *const SKEYS[] = {SKEYS_CONSTANT, SKEYS_STEP, SKEYS_EXPONENTIAL,
                                           SKEYS_COSINE, SKEYS_LINEAR};

tg_optim_spec tg_optim_spec_default(void) {
    return (tg_optim_spec){.type = TG_OPTIM_ADAM,
                           .lr = 1e-3,
                           .clip_norm_type = 2,
                           .schedule = tg_schedule_constant(1e-3)};
}

/* An option >= 0 (or any number with lo = -INFINITY); an explicit 0 is
 * stored as TG_ZERO, which the option structs read as "zero", not
 * "default". Returns -1 on error. */
static int option(const tg_jctx *c, const cJSON *sec, const char *path, const char *key, double lo,
                  double *field) {
    double v;
    int r = tg_json_number(c, sec, path, key, TG_JSON_OPTIONAL, lo, false, INFINITY, false, &v);
    if (r == 1) *field = v == 0 ? TG_ZERO : v;
    return r < 0 ? -1 : 0;
}

static int betas(const tg_jctx *c, const cJSON *sec, const char *path, double out[2]) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(sec, "betas");
    char p[TG_JSON_PATH_MAX], pi[TG_JSON_PATH_MAX], d[64];
    if (!b) return 0;
    tg_json_path(p, path, "betas");
    if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != 2)
        return tg_json_fail(c, p, "expected an array of two numbers in [0, 1), got %s",
                            cJSON_IsArray(b) ? "an array of another length"
                                             : tg_json_describe(b, d, sizeof d));
    for (int k = 0; k < 2; k++) {
        const cJSON *v = cJSON_GetArrayItem(b, k);
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1))
            return tg_json_fail(c, tg_json_path_index(pi, p, k),
                                "expected a number in [0, 1), got %s",
                                tg_json_describe(v, d, sizeof d));
        out[k] = v->valuedouble == 0 ? TG_ZERO : v->valuedouble;
    }
    return 0;
}

static int clipping(const tg_jctx *c, const cJSON *sec, const char *path, tg_optim_spec *s) {
    char p[TG_JSON_PATH_MAX], d[64];
    int has_norm = tg_json_number(c, sec, path, "clip_norm", TG_JSON_OPTIONAL, 0, true, INFINITY,
                                  false, &s->clip_norm);
    if (has_norm < 0) return -1;
    int has_value = tg_json_number(c, sec, path, "clip_value", TG_JSON_OPTIONAL, 0, true, INFINITY,
                                   false, &s->clip_value);
    if (has_value < 0) return -1;
    if (has_norm && has_value)
        return tg_json_fail(c, tg_json_path(p, path, "clip_value"),
                            "give clip_norm or clip_value, not both");
    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(sec, "clip_norm_type");
    if (!nt) return 0;
    tg_json_path(p, path, "clip_norm_type");
    if (!has_norm) return tg_json_fail(c, p, "only applies with clip_norm");
    if (cJSON_IsString(nt) && strcmp(nt->valuestring, "inf") == 0)
        s->clip_norm_type = INFINITY;
    else if (cJSON_IsNumber(nt) && nt->valuedouble > 0)
        s->clip_norm_type = nt->valuedouble;
    else
        return tg_json_fail(c, p, "expected a number > 0 or \"inf\", got %s",
                            tg_json_describe(nt, d, sizeof d));
    return 0;
}

static int schedule(const tg_jctx *c, const cJSON *sec, const char *path, int default_t_max,
                    tg_optim_spec *s) {
    char p[TG_JSON_PATH_MAX];
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(sec, "schedule");
    s->schedule = tg_schedule_constant(s->lr);
    if (!sc) return 0;
    tg_json_path(p, path, "schedule");
    if (tg_json_expect_object(c, sc, p, "an object such as {\"type\": \"cosine\"}")) return -1;
    int kind;
    if (tg_json_enum(c, sc, p, "type", TG_JSON_REQUIRED, "schedule", SCHEDULES, &kind) < 0)
        return -1;
    if (tg_json_check_keys(c, sc, p, SKEYS[kind])) return -1;
    tg_schedule *t = &s->schedule;
    int64_t warmup = 0, step_size = 1, t_max = default_t_max, total = 5;
    double gamma = 0.1, eta_min = 0, start = 1.0 / 3, end = 1, wstart = 1.0 / 3;
    switch (kind) {
    case TG_SCHEDULE_STEP:
        if (tg_json_int(c, sc, p, "step_size", TG_JSON_REQUIRED, 1, INT_MAX, &step_size) < 0 ||
            tg_json_number(c, sc, p, "gamma", TG_JSON_OPTIONAL, 0, false, INFINITY, false, &gamma) <
                0)
            return -1;
        *t = tg_schedule_step(s->lr, (int)step_size, gamma);
        break;
    case TG_SCHEDULE_EXPONENTIAL:
        if (tg_json_number(c, sc, p, "gamma", TG_JSON_REQUIRED, 0, false, INFINITY, false, &gamma) <
            0)
            return -1;
        *t = tg_schedule_exponential(s->lr, gamma);
        break;
    case TG_SCHEDULE_COSINE:
        if (tg_json_int(c, sc, p, "t_max", default_t_max > 0 ? TG_JSON_OPTIONAL : TG_JSON_REQUIRED,
                        1, INT_MAX, &t_max) < 0 ||
            tg_json_number(c, sc, p, "eta_min", TG_JSON_OPTIONAL, 0, false, INFINITY, false,
                           &eta_min) < 0)
            return -1;
        *t = tg_schedule_cosine(s->lr, (int)t_max, eta_min);
        break;
    case TG_SCHEDULE_LINEAR:
        if (tg_json_number(c, sc, p, "start_factor", TG_JSON_OPTIONAL, 0, true, 1, false, &start) <
                0 ||
            tg_json_number(c, sc, p, "end_factor", TG_JSON_OPTIONAL, 0, false, 1, false, &end) <
                0 ||
            tg_json_int(c, sc, p, "total_iters", TG_JSON_OPTIONAL, 1, INT_MAX, &total) < 0)
            return -1;
        *t = tg_schedule_linear(s->lr, start, end, (int)total);
        break;
    default: break;
    }
    if (tg_json_int(c, sc, p, "warmup", TG_JSON_OPTIONAL, 0, INT_MAX, &warmup) < 0 ||
        tg_json_number(c, sc, p, "warmup_start_factor", TG_JSON_OPTIONAL, 0, true, 1, false,
                       &wstart) < 0)
        return -1;
    if (warmup > 0) *t = tg_schedule_with_warmup(*t, (int)warmup, wstart);
    char why[160];
    if (tg_schedule_check(t, why, sizeof why) != 0) return tg_json_fail(c, p, "%s", why);
    return 0;
}

/* The options of s->type, read from sec. */
static int options(const tg_jctx *c, const cJSON *sec, const char *path, tg_optim_spec *s) {
    char p[TG_JSON_PATH_MAX];
    int r = 0;
    switch (s->type) {
    case TG_OPTIM_SGD: {
        tg_sgd_options *o = &s->sgd;
        if (option(c, sec, path, "momentum", 0, &o->momentum) ||
            option(c, sec, path, "dampening", -INFINITY, &o->dampening) ||
            option(c, sec, path, "weight_decay", 0, &o->weight_decay) ||
            tg_json_bool(c, sec, path, "nesterov", TG_JSON_OPTIONAL, &o->nesterov) < 0)
            return -1;
        if (o->nesterov && (!(o->momentum > 0) || o->dampening != 0))
            return tg_json_fail(c, tg_json_path(p, path, "nesterov"),
                                "needs momentum > 0 and dampening 0");
        break;
    }
    case TG_OPTIM_ADAGRAD: {
        tg_adagrad_options *o = &s->adagrad;
        r = option(c, sec, path, "lr_decay", 0, &o->lr_decay) ||
            option(c, sec, path, "weight_decay", 0, &o->weight_decay) ||
            option(c, sec, path, "initial_accumulator_value", 0, &o->initial_accumulator_value) ||
            option(c, sec, path, "eps", 0, &o->eps);
        break;
    }
    case TG_OPTIM_RMSPROP: {
        tg_rmsprop_options *o = &s->rmsprop;
        r = option(c, sec, path, "alpha", 0, &o->alpha) ||
            option(c, sec, path, "eps", 0, &o->eps) ||
            option(c, sec, path, "weight_decay", 0, &o->weight_decay) ||
            option(c, sec, path, "momentum", 0, &o->momentum) ||
            tg_json_bool(c, sec, path, "centered", TG_JSON_OPTIONAL, &o->centered) < 0;
        break;
    }
    case TG_OPTIM_ADAM:
    case TG_OPTIM_ADAMW: {
        tg_adam_options *o = &s->adam;
        r = betas(c, sec, path, o->betas) || option(c, sec, path, "eps", 0, &o->eps) ||
            option(c, sec, path, "weight_decay", 0, &o->weight_decay) ||
            tg_json_bool(c, sec, path, "amsgrad", TG_JSON_OPTIONAL, &o->amsgrad) < 0;
        break;
    }
    }
    return r ? -1 : 0;
}

int tg_optim_spec_parse(const tg_jctx *c, const cJSON *sec, const char *path, int default_t_max,
                        tg_optim_spec *out) {
    tg_optim_spec s = tg_optim_spec_default();
    if (tg_json_expect_object(c, sec, path, "an object such as {\"type\": \"adam\"}")) return -1;
    int type = TG_OPTIM_ADAM;
    if (tg_json_enum(c, sec, path, "type", TG_JSON_OPTIONAL, "optimizer", TYPES, &type) < 0)
        return -1;
    s.type = (tg_optim_type)type;
    if (tg_json_check_keys(c, sec, path, KEYS[type])) return -1;
    double lr = NAN;
    int has_lr = tg_json_number(c, sec, path, "lr",
                                type == TG_OPTIM_SGD ? TG_JSON_REQUIRED : TG_JSON_OPTIONAL, 0,
                                false, INFINITY, false, &lr);
    if (has_lr < 0) return -1;
    static const double default_lr[] = {0, 1e-2, 1e-2, 1e-3, 1e-3};
    s.lr = has_lr ? lr : default_lr[type];
    double lr_field = s.lr == 0 ? TG_ZERO : s.lr;
    s.sgd.lr = s.adagrad.lr = s.rmsprop.lr = s.adam.lr = lr_field;
    if (options(c, sec, path, &s) || clipping(c, sec, path, &s) ||
        schedule(c, sec, path, default_t_max, &s))
        return -1;
    /* The constructors check the options too; one on a scratch parameter
     * makes sure nothing accepted here is refused later. */
    tg_tensor *scratch = tg_param_new(TG_SHAPE(1));
    if (!scratch) return tg_json_fail(c, path, "out of memory");
    tg_optim *o = tg_optim_spec_build(&s, &scratch, 1);
    const char *why = tg_optim_error(o);
    int status = why ? tg_json_fail(c, path, "%s", why) : 0;
    tg_optim_free(o);
    tg_tensor_free(scratch);
    if (status == 0) *out = s;
    return status;
}

tg_optim *tg_optim_spec_build(const tg_optim_spec *s, tg_tensor *const *params, int n) {
    tg_optim *o = NULL;
    switch (s->type) {
    case TG_OPTIM_SGD: o = tg_optim_sgd(params, n, s->sgd); break;
    case TG_OPTIM_ADAGRAD: o = tg_optim_adagrad(params, n, s->adagrad); break;
    case TG_OPTIM_RMSPROP: o = tg_optim_rmsprop(params, n, s->rmsprop); break;
    case TG_OPTIM_ADAM: o = tg_optim_adam(params, n, s->adam); break;
    case TG_OPTIM_ADAMW: o = tg_optim_adamw(params, n, s->adam); break;
    }
    if (o && !tg_optim_error(o)) tg_optim_set_lr(o, tg_schedule_lr(&s->schedule, 0));
    return o;
}

int tg_optim_spec_prepare(const tg_optim_spec *s, tg_optim *o, int step, double *total_norm,
                          char *err, size_t errlen) {
    if (total_norm) *total_norm = 0;
    if (!s || !o) {
        if (err && errlen)
            snprintf(err, errlen, "tg_optim_spec_prepare: %s is NULL", s ? "o" : "s");
        return TG_CLIP_INVALID;
    }
    if (tg_optim_set_lr(o, tg_schedule_lr(&s->schedule, step)) != 0) {
        if (err && errlen) snprintf(err, errlen, "%s", tg_optim_error(o));
        return TG_CLIP_INVALID;
    }
    int n;
    tg_tensor *const *params = tg_optim_params(o, &n);
    if (s->clip_norm > 0)
        return tg_clip_grad_norm(params, n, s->clip_norm, s->clip_norm_type, total_norm, err,
                                 errlen);
    if (s->clip_value > 0) return tg_clip_grad_value(params, n, s->clip_value, err, errlen);
    return TG_CLIP_OK;
}

tg_optim *tg_optim_from_json(const cJSON *section, const char *file, const char *path,
                             int default_t_max, tg_tensor *const *params, int n,
                             tg_optim_spec *spec_out, char *err, size_t errlen) {
    tg_jctx c = {.file = file, .err = err, .errlen = errlen};
    tg_optim_spec s;
    if (tg_optim_spec_parse(&c, section, path, default_t_max, &s) != 0) return NULL;
    tg_optim *o = tg_optim_spec_build(&s, params, n);
    if (!o || tg_optim_error(o)) {
        tg_json_fail(&c, path, "%s", tg_optim_error(o));
        tg_optim_free(o);
        return NULL;
    }
    if (spec_out) *spec_out = s;
    return o;
}
