/* tapegrad train's watch for non-finite steps: every step's loss and
 * gradient norm (the norm is the pass the CSV log makes anyway, so the
 * check is two comparisons), the policy of train.on_nonfinite, and the
 * weights' check before a checkpoint is written. */
#include <math.h>
#include <stdio.h>

#include "common.h"

/* "NaN", "inf", "-inf" or the number. */
static const char *num(double v, char *buf, size_t n) {
    if (isnan(v)) return "NaN";
    snprintf(buf, n, isinf(v) ? (v > 0 ? "inf" : "-inf") : "%g", v);
    return buf;
}

int cli_guard_step(cli_guard *g, const tg_spec *s, int64_t step, double loss, double gnorm,
                   const char *report, char *err, size_t errlen) {
    if (!report && isfinite(loss) && isfinite(gnorm)) {
        g->in_a_row = 0;
        return CLI_GUARD_OK;
    }
    g->skipped++, g->in_a_row++;
    if (report)
        snprintf(err, errlen, "step %lld: %s", (long long)step, report);
    else {
        char l[32], n[32];
        snprintf(err, errlen, "step %lld: the loss is %s, the gradient norm %s: not finite",
                 (long long)step, num(loss, l, sizeof l), num(gnorm, n, sizeof n));
    }
    if (!s->train.skip_nonfinite) return CLI_GUARD_STOP;
    return g->in_a_row >= s->train.max_skips ? CLI_GUARD_STOP : CLI_GUARD_SKIP;
}

const char *cli_nonfinite_param(const cli_model *cm) {
    for (int i = 0; i < cm->n; i++) {
        const tg_tensor *t = cm->params[i].tensor;
        for (int64_t k = 0; k < t->numel; k++)
            if (!isfinite((double)t->data[k])) return cm->params[i].name;
    }
    return NULL;
}

void cli_guard_stopped(const char *cmd, const cli_guard *g, const tg_spec *s, const char *err,
                       const char *ckpt, int64_t saved_step) {
    cli_error(cmd, "%s", err);
    if (s->train.skip_nonfinite)
        fprintf(stderr, "tapegrad train: %lld steps in a row were not finite (train.max_skips)\n",
                (long long)g->in_a_row);
    fprintf(stderr,
            "tapegrad train: stopped before the optimizer changed the weights (train.on_nonfinite "
            "\"%s\"); ",
            s->train.skip_nonfinite ? "skip" : "stop");
    cli_last_good(ckpt, saved_step);
}

void cli_last_good(const char *ckpt, int64_t saved_step) {
    if (saved_step >= 0)
        fprintf(stderr, "the last good checkpoint is %s (step %lld)\n", ckpt,
                (long long)saved_step);
    else
        fprintf(stderr, "no checkpoint was written\n");
}
