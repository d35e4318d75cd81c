/* Leaves: tensors a tape makes from nothing (filled, copied from an array,
 * a range, random) and tg_detach, a view that stops gradients. None is a
 * node: they live in the tape's arena until its next reset. */
#include "op.h"

#include <math.h>
#include <string.h>

tg_tensor *tg_empty(tg_tape *t, tg_shape s) {
    return tg__tensor(t, s);
}

tg_tensor *tg_full(tg_tape *t, tg_shape s, tg_real v) {
    tg_tensor *x = tg__tensor(t, s);
    if (x)
        for (int64_t i = 0; i < x->numel; i++) x->data[i] = v;
    return x;
}

tg_tensor *tg_zeros(tg_tape *t, tg_shape s) {
    return tg_full(t, s, 0);
}
tg_tensor *tg_ones(tg_tape *t, tg_shape s) {
    return tg_full(t, s, 1);
}

tg_tensor *tg_from_array(tg_tape *t, tg_shape s, const tg_real *data) {
    if (!tg__failed(t) && !data) {
        tg__fail(t, "tg_from_array: data is NULL");
        return NULL;
    }
    tg_tensor *x = tg__tensor(t, s);
    if (x) memcpy(x->data, data, (size_t)x->numel * sizeof(tg_real));
    return x;
}

tg_tensor *tg_arange(tg_tape *t, double start, double stop, double step) {
    if (tg__failed(t)) return NULL;
    if (step == 0 || (stop - start) / step > 1e12) {
        tg__fail(t, "tg_arange: step %g cannot go from %g to %g", step, start, stop);
        return NULL;
    }
    double n = ceil((stop - start) / step);
    tg_tensor *x = tg__tensor(t, TG_SHAPE(n > 0 ? (int64_t)n : 0));
    if (x)
        for (int64_t i = 0; i < x->numel; i++) x->data[i] = (tg_real)(start + (double)i * step);
    return x;
}

tg_tensor *tg_rand_uniform(tg_tape *t, tg_rng *r, tg_shape s, double lo, double hi) {
    tg_tensor *x = tg__tensor(t, s);
    if (x) tg_init_uniform(x, r, lo, hi);
    return x;
}

tg_tensor *tg_randn(tg_tape *t, tg_rng *r, tg_shape s, double mean, double std) {
    tg_tensor *x = tg__tensor(t, s);
    if (x) tg_init_normal(x, r, mean, std);
    return x;
}

tg_tensor *tg_detach(tg_tape *t, tg_tensor *x) {
    if (!tg__begin(t, "tg_detach", 1, &x)) return NULL;
    return tg__view_of(t, x);
}
