/* Learning-rate schedules in the closed forms of torch.optim.lr_scheduler
 * (_get_closed_form_lr), so a rate is a pure function of the epoch and a
 * resumed run needs nothing but its epoch number. */
#include "optim.h"

#include <math.h>
#include <stdio.h>

/* Python's math.pi, which torch's closed forms use. */
#define PI 3.141592653589793

tg_schedule tg_schedule_constant(double base_lr) {
    return (tg_schedule){.kind = TG_SCHEDULE_CONSTANT, .base_lr = base_lr};
}

tg_schedule tg_schedule_step(double base_lr, int step_size, double gamma) {
    return (tg_schedule){
        .kind = TG_SCHEDULE_STEP, .base_lr = base_lr, .step_size = step_size, .gamma = gamma};
}

tg_schedule tg_schedule_exponential(double base_lr, double gamma) {
    return (tg_schedule){.kind = TG_SCHEDULE_EXPONENTIAL, .base_lr = base_lr, .gamma = gamma};
}

tg_schedule tg_schedule_cosine(double base_lr, int t_max, double eta_min) {
    return (tg_schedule){
        .kind = TG_SCHEDULE_COSINE, .base_lr = base_lr, .t_max = t_max, .eta_min = eta_min};
}

tg_schedule tg_schedule_linear(double base_lr, double start_factor, double end_factor,
                               int total_iters) {
    return (tg_schedule){.kind = TG_SCHEDULE_LINEAR,
                         .base_lr = base_lr,
                         .start_factor = start_factor,
                         .end_factor = end_factor,
                         .total_iters = total_iters};
}

tg_schedule tg_schedule_with_warmup(tg_schedule s, int warmup, double start_factor) {
    s.warmup = warmup;
    s.warmup_start_factor = start_factor;
    return s;
}

/* NULL for a valid schedule, else the reason, formatted into buf. */
static const char *why(const tg_schedule *s, char *buf, size_t n) {
    if (!s) return "tg_schedule: schedule is NULL";
    if (!isfinite(s->base_lr) || s->base_lr < 0)
        snprintf(buf, n, "tg_schedule: base_lr must be finite and >= 0, got %g", s->base_lr);
    else if (s->warmup < 0)
        snprintf(buf, n, "tg_schedule: warmup must be >= 0, got %d", s->warmup);
    else if (s->warmup > 0 && !(s->warmup_start_factor > 0 && s->warmup_start_factor <= 1))
        snprintf(buf, n, "tg_schedule: warmup_start_factor must be in (0, 1], got %g",
                 s->warmup_start_factor);
    else if ((s->kind == TG_SCHEDULE_STEP || s->kind == TG_SCHEDULE_EXPONENTIAL) &&
             !(s->gamma >= 0 && isfinite(s->gamma)))
        snprintf(buf, n, "tg_schedule: gamma must be finite and >= 0, got %g", s->gamma);
    else if (s->kind == TG_SCHEDULE_STEP && s->step_size < 1)
        snprintf(buf, n, "tg_schedule: step_size must be >= 1, got %d", s->step_size);
    else if (s->kind == TG_SCHEDULE_COSINE && s->t_max < 1)
        snprintf(buf, n, "tg_schedule: t_max must be >= 1, got %d", s->t_max);
    else if (s->kind == TG_SCHEDULE_COSINE && !(isfinite(s->eta_min) && s->eta_min >= 0))
        snprintf(buf, n, "tg_schedule: eta_min must be finite and >= 0, got %g", s->eta_min);
    else if (s->kind == TG_SCHEDULE_LINEAR && s->total_iters < 1)
        snprintf(buf, n, "tg_schedule: total_iters must be >= 1, got %d", s->total_iters);
    else if (s->kind == TG_SCHEDULE_LINEAR && !(s->start_factor > 0 && s->start_factor <= 1))
        snprintf(buf, n, "tg_schedule: start_factor must be in (0, 1], got %g", s->start_factor);
    else if (s->kind == TG_SCHEDULE_LINEAR && !(s->end_factor >= 0 && s->end_factor <= 1))
        snprintf(buf, n, "tg_schedule: end_factor must be in [0, 1], got %g", s->end_factor);
    else if (s->kind < TG_SCHEDULE_CONSTANT || s->kind > TG_SCHEDULE_LINEAR)
        snprintf(buf, n, "tg_schedule: unknown kind %d", (int)s->kind);
    else
        return NULL;
    return buf;
}

int tg_schedule_check(const tg_schedule *s, char *err, size_t errlen) {
    char buf[160];
    const char *msg = why(s, buf, sizeof buf);
    if (msg && err && errlen) snprintf(err, errlen, "%s", msg);
    return msg ? -1 : 0;
}

double tg_schedule_lr(const tg_schedule *s, int epoch) {
    char buf[160];
    if (why(s, buf, sizeof buf) || epoch < 0) return NAN;
    const double base = s->base_lr;
    if (epoch < s->warmup) /* LinearLR(start_factor, end_factor 1, total_iters warmup) */
        return base * (s->warmup_start_factor + (1 - s->warmup_start_factor) * epoch / s->warmup);
    const int e = epoch - s->warmup;
    switch (s->kind) {
    case TG_SCHEDULE_STEP: return base * pow(s->gamma, e / s->step_size);
    case TG_SCHEDULE_EXPONENTIAL: return base * pow(s->gamma, e);
    case TG_SCHEDULE_COSINE:
        return s->eta_min + (base - s->eta_min) * (1 + cos(PI * e / s->t_max)) / 2;
    case TG_SCHEDULE_LINEAR: {
        int t = e < s->total_iters ? e : s->total_iters;
        return base * (s->start_factor + (s->end_factor - s->start_factor) * t / s->total_iters);
    }
    default: return base;
    }
}
