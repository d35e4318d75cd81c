/* Deep-transition recurrent layer (with optional skip), from tape ops. */
#include "deep_rnn.h"
#include "../autograd/op.h"
#include "rnn_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

static void deep_rnn_destroy(tg_module *base) {
    tg_deep_rnn *m = (tg_deep_rnn *)base;
    free(m->w_tr);
    free(m->b_tr);
}

tg_deep_rnn *tg_deep_rnn_new(tg_deep_rnn_options o, tg_rng *init, char *err, size_t errlen) {
    if (o.depth == 0) o.depth = 1;
    if (o.input_size <= 0)
        return FAIL("deep_rnn: input_size must be positive, got %lld", (long long)o.input_size);
    if (o.hidden_size <= 0)
        return FAIL("deep_rnn: hidden_size must be positive, got %lld", (long long)o.hidden_size);
    if (o.depth < 0) return FAIL("deep_rnn: depth must be at least 1, got %d", o.depth);
    if (!init) return FAIL("deep_rnn: no random generator for the initial weights");
    if (tg__memory_check("deep_rnn", o.memory, err, errlen) != 0) return NULL;
    tg_deep_rnn *m = calloc(1, sizeof *m);
    if (!m) return FAIL("deep_rnn: out of memory");
    m->base.kind = "deep_rnn";
    m->base.training = true;
    m->base.destroy = deep_rnn_destroy;
    m->opt = o;
    int64_t I = o.input_size, H = o.hidden_size;
    m->w_tr = calloc((size_t)o.depth, sizeof *m->w_tr);
    m->b_tr = calloc((size_t)o.depth, sizeof *m->b_tr);
    if (!m->w_tr || !m->b_tr) goto oom;
    if (!(m->w_ih = tg_module_param(&m->base, "weight_ih_l0", TG_SHAPE(H, I)))) goto oom;
    if (!(m->b_ih = tg_module_param(&m->base, "bias_ih_l0", TG_SHAPE(H)))) goto oom;
    if (!(m->w_hh = tg_module_param(&m->base, "weight_hh_l0", TG_SHAPE(H, H)))) goto oom;
    if (!(m->b_hh = tg_module_param(&m->base, "bias_hh_l0", TG_SHAPE(H)))) goto oom;
    for (int j = 0; j < o.depth; j++) {
        char name[64];
        snprintf(name, sizeof name, "weight_tr%d_l0", j + 1);
        if (!(m->w_tr[j] = tg_module_param(&m->base, name, TG_SHAPE(H, H)))) goto oom;
        snprintf(name, sizeof name, "bias_tr%d_l0", j + 1);
        if (!(m->b_tr[j] = tg_module_param(&m->base, name, TG_SHAPE(H)))) goto oom;
    }
    if (o.skip && !(m->w_skip = tg_module_param(&m->base, "weight_skip_l0", TG_SHAPE(H, H))))
        goto oom;
    double bound = 1 / sqrt((double)H);
    for (int i = 0; i < m->base.n_owned; i++)
        tg_init_uniform(m->base.owned[i], init, -bound, bound);
    return m;
oom:
    tg_module_free(&m->base);
    return FAIL("deep_rnn: out of memory");
}

/* Checks x and h0 against the layer; sets T and B. */
static bool check_inputs(tg_tape *t, const tg_deep_rnn *m, const tg_tensor *x, const tg_tensor *h0,
                         int64_t *T, int64_t *B) {
    char s[TG_SHAPE_STR_MAX];
    const tg_deep_rnn_options *o = &m->opt;
    if (x->ndim != 3 || x->shape[2] != o->input_size || x->shape[0] < 1 || x->shape[1] < 1) {
        tg_tape_fail(t, "tg_deep_rnn_forward: input %s: expected [%s, %lld] with T, B >= 1",
                     tg_shape_str(tg_tensor_shape(x), s, sizeof s),
                     o->batch_first ? "B, T" : "T, B", (long long)o->input_size);
        return false;
    }
    *T = x->shape[o->batch_first ? 1 : 0];
    *B = x->shape[o->batch_first ? 0 : 1];
    if (h0 && (h0->ndim != 2 || h0->shape[0] != *B || h0->shape[1] != o->hidden_size)) {
        tg_tape_fail(t, "tg_deep_rnn_forward: h0 %s: expected [%lld, %lld]",
                     tg_shape_str(tg_tensor_shape(h0), s, sizeof s), (long long)*B,
                     (long long)o->hidden_size);
        return false;
    }
    return true;
}

/* One step from the input's share gx = W_ih x_t + b_ih [B, H] and h_{t-1}
 * [B, H] to h_t [B, H]. */
static tg_tensor *step(tg_tape *t, const tg_deep_rnn *m, tg_tensor *gx, tg_tensor *h) {
    tg_tensor *z = h;
    for (int j = 0; j < m->opt.depth; j++) z = tg_tanh(t, tg_linear(t, z, m->w_tr[j], m->b_tr[j]));
    tg_tensor *pre = tg_add(t, gx, tg_linear(t, z, m->w_hh, m->b_hh));
    if (m->w_skip) pre = tg_add(t, pre, tg_linear(t, h, m->w_skip, NULL));
    return tg_tanh(t, pre);
}

/* Steps s0 .. s1-1 from the input's share gx [T, B, H] for all steps; *h
 * in and out; hs[s] = h_s. (A tg__steps_fn, for memory.recompute.) */
typedef struct steps_arg {
    const tg_deep_rnn *m;
    tg_tensor *gx;
} steps_arg;

static int steps_of(tg_tape *t, const void *arg, int64_t s0, int64_t s1, tg_tensor **h,
                    tg_tensor **hs) {
    const steps_arg *a = arg;
    int64_t B = a->gx->shape[1], H = a->gx->shape[2];
    for (int64_t s = s0; s < s1 && !tg_tape_error(t); s++)
        *h = hs[s] = step(t, a->m, tg_reshape(t, tg_narrow(t, a->gx, 0, s, 1), TG_SHAPE(B, H)), *h);
    return tg_tape_error(t) ? -1 : 0;
}

/* The steps in segments recomputed in backward (nn/rnn.h, tg_rnn_memory):
 * the output [T, B, H]; *h leaves as h_{T-1}. */
static tg_tensor *recomputed(tg_tape *t, const tg_deep_rnn *m, tg_tensor *gx, tg_tensor **h,
                             int64_t T, int64_t B) {
    int64_t H = m->opt.hidden_size;
    steps_arg *a = tg_tape_error(t) ? NULL : tg__alloc(t, sizeof *a);
    if (!a) return NULL;
    *a = (steps_arg){m, gx};
    /* a step's values per batch row and unit, roughly: per layer of the
     * transition a product and its tanh, and their gradients */
    double bytes = (double)(4 * (m->opt.depth + 2)) * (double)(B * H) * sizeof(tg_real);
    tg__segments spec = {
        .steps = steps_of,
        .arg = a,
        .T = T,
        .len = tg__memory_segment(&m->opt.memory, T, bytes, (double)(B * H) * sizeof(tg_real)),
        .alias = true,
        .n_states = 1,
        .row = TG_SHAPE(B, H)};
    tg_tensor **in = tg__alloc(t, (size_t)(5 + 2 * m->opt.depth) * sizeof *in);
    if (!in) return NULL;
    int n = 0; /* every tensor whose gradient the steps add to */
    in[n++] = gx, in[n++] = *h, in[n++] = m->w_hh, in[n++] = m->b_hh;
    if (m->w_skip) in[n++] = m->w_skip;
    for (int j = 0; j < m->opt.depth; j++) in[n++] = m->w_tr[j], in[n++] = m->b_tr[j];
    tg_tensor *out = tg__segments_run(t, &spec, h, n, in);
    tg_label(t, out, "segments");
    *h = tg__segments_state(t, &spec, out, 0);
    return tg__segments_outputs(t, &spec, out);
}

int tg_deep_rnn_forward(tg_tape *t, tg_deep_rnn *m, tg_tensor *x, tg_tensor *h0,
                        tg_deep_rnn_result *res) {
    *res = (tg_deep_rnn_result){0};
    if (tg_tape_error(t)) return -1;
    if (!m || !x) {
        tg_tape_fail(t, "tg_deep_rnn_forward: %s is NULL", m ? "input" : "module");
        return -1;
    }
    int64_t T, B, H = m->opt.hidden_size;
    if (!check_inputs(t, m, x, h0, &T, &B)) return -1;
    tg_tensor **hs = calloc((size_t)T, sizeof *hs);
    if (!hs) {
        tg_tape_fail(t, "tg_deep_rnn_forward: out of memory");
        return -1;
    }
    bool bf = m->opt.batch_first;
    tg_tensor *h = h0 ? h0 : tg_zeros(t, TG_SHAPE(B, H));
    /* the input's share for all steps: one GEMM */
    tg_tensor *gx = tg_linear(t, bf ? tg_transpose(t, x, 0, 1) : x, m->w_ih, m->b_ih);
    tg_tensor *out = NULL;
    if (m->opt.memory.recompute && tg_grad_enabled(t)) {
        out = recomputed(t, m, gx, &h, T, B);
    } else {
        steps_of(t, &(steps_arg){m, gx}, 0, T, &h, hs);
        out = tg_tape_error(t) ? NULL : tg_stack(t, (int)T, hs, 0);
    }
    free(hs);
    if (out && bf) out = tg_transpose(t, out, 0, 1);
    if (!out) return -1;
    res->output = out;
    res->h_n = h;
    return 0;
}
