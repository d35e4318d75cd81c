/* Elementwise unary ops: neg, scale, add_scalar, exp, log, tanh, sigmoid,
 * relu, pow, square, sqrt, abs, clamp.
 *
 * Every op here has the same shape: y (contiguous, x's shape) = f(x), read
 * from x as a contiguous row-major array (a copy only if x is a strided
 * view), so forward and backward are one flat loop over numel. A backward
 * that can be written in terms of y (exp, tanh, sigmoid, sqrt, relu) reads
 * y; the others read x's contiguous values, kept in node->saved. Scalar
 * arguments go in node->f[]. These ops run inside RNN loops, so there is no
 * per-element dispatch: each loop is written out. */
#include "../core/fastmath.h"
#include "op.h"

#include <tgmath.h> /* exp, log, ... pick the float or double routine from tg_real */

/* Checks x and allocates y of x's shape; *px is x's values, contiguous. */
static tg_tensor *unary_begin(tg_tape *t, const char *op, tg_tensor *x, const tg_real **px) {
    if (!tg__begin(t, op, 1, &x)) return NULL;
    tg_tensor *y = tg__tensor(t, tg_tensor_shape(x));
    if (!y) return NULL;
    *px = tg__contig(t, x);
    return tg__failed(t) ? NULL : y;
}

/* Records y = op(x) with x's contiguous values and up to two scalars. */
static tg_tensor *unary_record(tg_tape *t, int op, tg_tensor *y, tg_tensor *x,
                               const tg_real *px, double f0, double f1) {
    tg_node *n = tg__record(t, op, y, 1, &x);
    if (n) {
        n->saved = (void *)px;
        n->f[0] = f0;
        n->f[1] = f1;
    }
    return y;
}

/* The input's gradient buffer, or NULL if it does not want one. */
static tg_real *grad_in(const tg_node *n) {
    return n->in[0]->requires_grad ? n->in[0]->grad : NULL;
}

/* Declares what a backward loop needs: numel, dy, dx; returns if no dx. */
#define UNARY_BACKWARD_VARS(n)                                                     \
    (void)t;                                                                       \
    tg_real *gx = grad_in(n);                                                      \
    const tg_real *gy = (n)->out->grad;                                            \
    int64_t numel = (n)->out->numel;                                               \
    if (!gx) return

/* ---- affine: neg, scale, add_scalar ------------------------------------ */

tg_tensor *tg_neg(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_neg", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = -px[i];
    return unary_record(t, TG_OP_NEG, y, x, px, 0, 0);
}
void tg__neg_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    for (int64_t i = 0; i < numel; i++) gx[i] -= gy[i];
}

tg_tensor *tg_scale(tg_tape *t, tg_tensor *x, double s) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_scale", x, &px);
    if (!y) return NULL;
    tg_real k = (tg_real)s;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = k * px[i];
    return unary_record(t, TG_OP_SCALE, y, x, px, s, 0);
}
void tg__scale_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    tg_real k = (tg_real)n->f[0];
    for (int64_t i = 0; i < numel; i++) gx[i] += k * gy[i];
}

tg_tensor *tg_add_scalar(tg_tape *t, tg_tensor *x, double s) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_add_scalar", x, &px);
    if (!y) return NULL;
    tg_real k = (tg_real)s;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = px[i] + k;
    return unary_record(t, TG_OP_ADD_SCALAR, y, x, px, s, 0);
}
void tg__add_scalar_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    for (int64_t i = 0; i < numel; i++) gx[i] += gy[i];
}

/* ---- exp, log ------------------------------------------------------------ */

tg_tensor *tg_exp(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_exp", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = exp(px[i]);
    return unary_record(t, TG_OP_EXP, y, x, px, 0, 0);
}
/* d exp(x) = exp(x) = y */
void tg__exp_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *y = n->out->data;
    for (int64_t i = 0; i < numel; i++) gx[i] += gy[i] * y[i];
}

/* log of x <= 0 is -inf (x = 0) or NaN (x < 0), as in PyTorch. */
tg_tensor *tg_log(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_log", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = log(px[i]);
    return unary_record(t, TG_OP_LOG, y, x, px, 0, 0);
}
void tg__log_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *x = n->saved;
    for (int64_t i = 0; i < numel; i++) gx[i] += gy[i] / x[i];
}

/* ---- tanh, sigmoid, relu ---------------------------------------------------- */

tg_tensor *tg_tanh(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_tanh", x, &px);
    if (!y) return NULL;
    tg_tanh_n(y->data, px, y->numel);
    return unary_record(t, TG_OP_TANH, y, x, px, 0, 0);
}
/* d tanh(x) = 1 - y^2 */
void tg__tanh_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *y = n->out->data;
    for (int64_t i = 0; i < numel; i++) gx[i] += gy[i] * (1 - y[i] * y[i]);
}

/* 1 / (1 + e^-x) overflows e^-x for x << 0, so negative x uses the equal
 * form e^x / (1 + e^x); the exponent is never positive, nothing overflows. */
tg_tensor *tg_sigmoid(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_sigmoid", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) {
        tg_real v = px[i];
        if (v >= 0) {
            y->data[i] = 1 / (1 + exp(-v));
        } else {
            tg_real e = exp(v);
            y->data[i] = e / (1 + e);
        }
    }
    return unary_record(t, TG_OP_SIGMOID, y, x, px, 0, 0);
}
/* d sigmoid(x) = y (1 - y) */
void tg__sigmoid_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *y = n->out->data;
    for (int64_t i = 0; i < numel; i++) gx[i] += gy[i] * y[i] * (1 - y[i]);
}

/* NaN passes through (x < 0 is false for NaN), as in PyTorch. */
tg_tensor *tg_relu(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_relu", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = px[i] < 0 ? 0 : px[i];
    return unary_record(t, TG_OP_RELU, y, x, px, 0, 0);
}
/* y > 0 exactly where x > 0; the gradient at the kink x = 0 is 0 (PyTorch). */
void tg__relu_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *y = n->out->data;
    for (int64_t i = 0; i < numel; i++) gx[i] += y[i] > 0 ? gy[i] : 0;
}

/* ---- pow, square, sqrt ----------------------------------------------------- */

/* x^p for a scalar exponent p. As in PyTorch, a negative x with a
 * non-integer p gives NaN, and the gradient is p x^(p-1) except for p = 0,
 * whose gradient is 0 everywhere (also at x = 0, where p x^(p-1) is 0 * inf). */
tg_tensor *tg_pow(tg_tape *t, tg_tensor *x, double p) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_pow", x, &px);
    if (!y) return NULL;
    tg_real e = (tg_real)p;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = pow(px[i], e);
    return unary_record(t, TG_OP_POW, y, x, px, p, 0);
}
void tg__pow_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *x = n->saved;
    tg_real e = (tg_real)n->f[0], e1 = (tg_real)(n->f[0] - 1);
    if (e == 0) return;
    for (int64_t i = 0; i < numel; i++) gx[i] += gy[i] * e * pow(x[i], e1);
}

tg_tensor *tg_square(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_square", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = px[i] * px[i];
    return unary_record(t, TG_OP_SQUARE, y, x, px, 0, 0);
}
void tg__square_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *x = n->saved;
    for (int64_t i = 0; i < numel; i++) gx[i] += 2 * x[i] * gy[i];
}

/* sqrt of x < 0 is NaN; the gradient at x = 0 is inf, as in PyTorch. */
tg_tensor *tg_sqrt(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_sqrt", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = sqrt(px[i]);
    return unary_record(t, TG_OP_SQRT, y, x, px, 0, 0);
}
/* d sqrt(x) = 1 / (2 y) */
void tg__sqrt_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *y = n->out->data;
    for (int64_t i = 0; i < numel; i++) gx[i] += gy[i] / (2 * y[i]);
}

/* ---- abs, clamp --------------------------------------------------------------- */

tg_tensor *tg_abs(tg_tape *t, tg_tensor *x) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_abs", x, &px);
    if (!y) return NULL;
    for (int64_t i = 0; i < y->numel; i++) y->data[i] = fabs(px[i]);
    return unary_record(t, TG_OP_ABS, y, x, px, 0, 0);
}
/* d |x| = sign(x), with sign(0) = 0 as in PyTorch. */
void tg__abs_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *x = n->saved;
    for (int64_t i = 0; i < numel; i++)
        gx[i] += x[i] > 0 ? gy[i] : x[i] < 0 ? -gy[i] : 0;
}

/* min(max(x, lo), hi), as torch.clamp: NaN passes through, lo > hi gives
 * hi everywhere; +-INFINITY makes a one-sided clamp. */
tg_tensor *tg_clamp(tg_tape *t, tg_tensor *x, double lo, double hi) {
    const tg_real *px;
    tg_tensor *y = unary_begin(t, "tg_clamp", x, &px);
    if (!y) return NULL;
    tg_real l = (tg_real)lo, h = (tg_real)hi;
    for (int64_t i = 0; i < y->numel; i++) {
        tg_real v = px[i] < l ? l : px[i];
        y->data[i] = v > h ? h : v;
    }
    return unary_record(t, TG_OP_CLAMP, y, x, px, lo, hi);
}
/* The gradient passes where lo <= x <= hi, bounds included (PyTorch). */
void tg__clamp_backward(tg_tape *t, tg_node *n) {
    UNARY_BACKWARD_VARS(n);
    const tg_real *x = n->saved;
    tg_real l = (tg_real)n->f[0], h = (tg_real)n->f[1];
    for (int64_t i = 0; i < numel; i++) gx[i] += x[i] >= l && x[i] <= h ? gy[i] : 0;
}
