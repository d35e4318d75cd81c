/* The Jordan network (output-to-hidden recurrence), from tape ops. */
#include "jordan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

tg_jordan *tg_jordan_new(tg_jordan_options o, tg_rng *init, char *err, size_t errlen) {
    if (o.input_size <= 0)
        return FAIL("jordan: input_size must be positive, got %lld", (long long)o.input_size);
    if (o.hidden_size <= 0)
        return FAIL("jordan: hidden_size must be positive, got %lld", (long long)o.hidden_size);
    if (o.output_size <= 0)
        return FAIL("jordan: output_size must be positive, got %lld", (long long)o.output_size);
    if (!init) return FAIL("jordan: no random generator for the initial weights");
    tg_jordan *m = calloc(1, sizeof *m);
    if (!m) return FAIL("jordan: out of memory");
    m->base.kind = "jordan";
    m->base.training = true;
    m->opt = o;
    int64_t I = o.input_size, H = o.hidden_size, O = o.output_size;
    m->w_ih = tg_module_param(&m->base, "weight_ih_l0", TG_SHAPE(H, I));
    m->b_ih = tg_module_param(&m->base, "bias_ih_l0", TG_SHAPE(H));
    m->w_yh = tg_module_param(&m->base, "weight_yh_l0", TG_SHAPE(H, O));
    m->w_hy = tg_module_param(&m->base, "weight_hy", TG_SHAPE(O, H));
    m->b_hy = tg_module_param(&m->base, "bias_hy", TG_SHAPE(O));
    if (!m->w_ih || !m->b_ih || !m->w_yh || !m->w_hy || !m->b_hy) {
        tg_module_free(&m->base);
        return FAIL("jordan: out of memory");
    }
    double bound = 1 / sqrt((double)H);
    for (int i = 0; i < m->base.n_owned; i++)
        tg_init_uniform(m->base.owned[i], init, -bound, bound);
    return m;
}

/* Checks x, y0 and targets against the module; sets T and B. */
static bool check_inputs(tg_tape *t, const tg_jordan *m, const tg_tensor *x, const tg_tensor *y0,
                         const tg_tensor *targets, int64_t *T, int64_t *B) {
    char s[TG_SHAPE_STR_MAX];
    const tg_jordan_options *o = &m->opt;
    bool bf = o->batch_first;
    if (x->ndim != 3 || x->shape[2] != o->input_size || x->shape[0] < 1 || x->shape[1] < 1) {
        tg_tape_fail(t, "tg_jordan_forward: input %s: expected [%s, %lld] with T, B >= 1",
                     tg_shape_str(tg_tensor_shape(x), s, sizeof s), bf ? "B, T" : "T, B",
                     (long long)o->input_size);
        return false;
    }
    *T = x->shape[bf ? 1 : 0];
    *B = x->shape[bf ? 0 : 1];
    long long O = (long long)o->output_size;
    if (y0 && (y0->ndim != 2 || y0->shape[0] != *B || y0->shape[1] != O)) {
        tg_tape_fail(t, "tg_jordan_forward: y0 %s: expected [%lld, %lld]",
                     tg_shape_str(tg_tensor_shape(y0), s, sizeof s), (long long)*B, O);
        return false;
    }
    if (targets && (targets->ndim != 3 || targets->shape[0] != x->shape[0] ||
                    targets->shape[1] != x->shape[1] || targets->shape[2] != O)) {
        tg_tape_fail(t, "tg_jordan_forward: targets %s: expected [%lld, %lld, %lld]",
                     tg_shape_str(tg_tensor_shape(targets), s, sizeof s), (long long)x->shape[0],
                     (long long)x->shape[1], O);
        return false;
    }
    return true;
}

/* Teacher forcing: every fed-back value is known, so all steps at once.
 * x [T, B, I], d [T, B, O] (sequence-first) -> h [T, B, H]; *y gets
 * [T, B, O]. */
static tg_tensor *run_forced(tg_tape *t, const tg_jordan *m, tg_tensor *x, tg_tensor *y0,
                             tg_tensor *d, tg_tensor **y) {
    int64_t T = x->shape[0], B = x->shape[1], O = m->opt.output_size;
    /* prev[t] = d[t-1], prev[0] = y0: the targets shifted one step later */
    tg_tensor *first = tg_reshape(t, y0, TG_SHAPE(1, B, O));
    tg_tensor *parts[2] = {first, T > 1 ? tg_narrow(t, d, 0, 0, T - 1) : NULL};
    tg_tensor *prev = T > 1 ? tg_concat(t, 2, parts, 0) : first;
    tg_tensor *pre =
        tg_add(t, tg_linear(t, x, m->w_ih, m->b_ih), tg_linear(t, prev, m->w_yh, NULL));
    tg_tensor *h = m->opt.relu ? tg_relu(t, pre) : tg_tanh(t, pre);
    *y = tg_linear(t, h, m->w_hy, m->b_hy);
    return h;
}

/* Free running: each step reads the previous step's output. Shapes as in
 * run_forced; *y_last gets y_{T-1} [B, O]. */
static tg_tensor *run_free(tg_tape *t, const tg_jordan *m, tg_tensor *x, tg_tensor *y0,
                           tg_tensor **y, tg_tensor **y_last) {
    int64_t T = x->shape[0], B = x->shape[1], H = m->opt.hidden_size;
    tg_tensor **hs = calloc((size_t)(2 * T), sizeof *hs), **ys = hs + T;
    if (!hs) {
        tg_tape_fail(t, "tg_jordan_forward: out of memory");
        return NULL;
    }
    tg_tensor *gx = tg_linear(t, x, m->w_ih, m->b_ih); /* [T, B, H], all steps: one GEMM */
    tg_tensor *yp = y0;
    for (int64_t s = 0; s < T && !tg_tape_error(t); s++) {
        tg_tensor *gxs = tg_reshape(t, tg_narrow(t, gx, 0, s, 1), TG_SHAPE(B, H));
        tg_tensor *pre = tg_add(t, gxs, tg_linear(t, yp, m->w_yh, NULL));
        hs[s] = m->opt.relu ? tg_relu(t, pre) : tg_tanh(t, pre);
        yp = ys[s] = tg_linear(t, hs[s], m->w_hy, m->b_hy);
    }
    tg_tensor *h = NULL;
    if (!tg_tape_error(t)) {
        h = tg_stack(t, (int)T, hs, 0);
        *y = tg_stack(t, (int)T, ys, 0);
        *y_last = yp;
    }
    free(hs);
    return h;
}

int tg_jordan_forward(tg_tape *t, tg_jordan *m, tg_tensor *x, tg_tensor *y0, tg_tensor *targets,
                      tg_jordan_result *res) {
    *res = (tg_jordan_result){0};
    if (tg_tape_error(t)) return -1;
    if (!m || !x) {
        tg_tape_fail(t, "tg_jordan_forward: %s is NULL", m ? "input" : "module");
        return -1;
    }
    int64_t T, B;
    if (!check_inputs(t, m, x, y0, targets, &T, &B)) return -1;
    bool bf = m->opt.batch_first;
    if (!y0) y0 = tg_zeros(t, TG_SHAPE(B, m->opt.output_size));
    tg_tensor *xs = bf ? tg_transpose(t, x, 0, 1) : x; /* [T, B, I] */
    tg_tensor *y = NULL, *h, *feedback = NULL;
    if (targets) {
        tg_tensor *d = bf ? tg_transpose(t, targets, 0, 1) : targets; /* [T, B, O] */
        h = run_forced(t, m, xs, y0, d, &y);
        feedback = tg_reshape(t, tg_narrow(t, d, 0, T - 1, 1), TG_SHAPE(B, m->opt.output_size));
    } else {
        h = run_free(t, m, xs, y0, &y, &feedback);
    }
    if (tg_tape_error(t)) return -1;
    res->output = bf ? tg_transpose(t, y, 0, 1) : y;
    res->hidden = bf ? tg_transpose(t, h, 0, 1) : h;
    res->feedback = feedback;
    if (tg_tape_error(t)) {
        *res = (tg_jordan_result){0};
        return -1;
    }
    return 0;
}
