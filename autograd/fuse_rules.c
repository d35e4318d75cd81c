/* The fused program's primitives (fuse_rules.h): per op, its forward loop
 * over a row and its derivative rule, written as the op files write them
 * (ops_arith.c, ops_unary.c, ops_reduce.c) so fused numbers equal composed
 * ones. In the expressions A and B are the operands, Y the result and G
 * its adjoint at element i. */
#include <string.h>
#include <tgmath.h>

#include "../core/fastmath.h"
#include "fuse_rules.h"
#include "op.h"
#include "row_sums.h"

#define LOOP for (int64_t i = 0; i < n; i++)

/* Whether the adjoints da and db [n] are one array or do not overlap: then
 * a single pass adding each element's share of a, then of b, sums each
 * element in the order of a pass over a followed by one over b. */
static inline bool one_or_apart(const tg_real *da, const tg_real *db, int64_t n) {
    uintptr_t x = (uintptr_t)da, y = (uintptr_t)db, len = (uintptr_t)n * sizeof *da;
    return x == y || x + len <= y || y + len <= x;
}

/* An adjoint's share x into d: assigned as 0 + x when set (the row's
 * first share there), else added. With set a constant the load of d goes. */
#define PUT(d, set, x) ((d) = ((set) ? (tg_real)0 : (d)) + (x))

/* d[i] for the row gets share x (G: the adjoint g[i]), assigned when set
 * and added otherwise: one loop each way with set a constant, so both
 * vectorise. */
#define PUT_ROW(d, set, x)                                                                         \
    do {                                                                                           \
        if (set)                                                                                   \
            LOOP {                                                                                 \
                const tg_real G = g[i];                                                            \
                (void)G;                                                                           \
                PUT((d)[i], true, x);                                                              \
            }                                                                                      \
        else                                                                                       \
            LOOP {                                                                                 \
                const tg_real G = g[i];                                                            \
                (void)G;                                                                           \
                PUT((d)[i], false, x);                                                             \
            }                                                                                      \
    } while (0)

/* One operand's pass of a binary rule's adjoint, unless its share is not
 * wanted (d NULL): d += share, or for a one-wide operand (stride s 0) the
 * row's sum of shares into d[0], summed in a register. */
#define BINARY_PASS(d, s, set, expr)                                                               \
    if (d) {                                                                                       \
        tg_real acc = (set) ? 0 : (d)[0];                                                          \
        LOOP {                                                                                     \
            const tg_real A = a[i * sa], B = b[i * sb], G = g[i];                                  \
            (void)A, (void)B;                                                                      \
            if (s)                                                                                 \
                PUT((d)[i], set, expr);                                                            \
            else                                                                                   \
                acc += (expr);                                                                     \
        }                                                                                          \
        if (!(s)) (d)[0] = acc;                                                                    \
    }

/* A binary rule. Its loops are written once with the strides and the
 * assignments as arguments and called with constants for the common
 * cases (strides 1), so the compiler vectorises those. Every rule is
 * built for AVX2 and AVX-512 too (TG_VECTOR_CLONES, as the hand-written
 * kernels), chosen at load time. */
#define BINARY(name, f_expr, da_expr, db_expr)                                                     \
    static inline void name##_fl(int64_t n, const tg_real *a, int64_t sa, const tg_real *b,        \
                                 int64_t sb, tg_real *y) {                                         \
        LOOP {                                                                                     \
            const tg_real A = a[i * sa], B = b[i * sb];                                            \
            y[i] = (f_expr);                                                                       \
        }                                                                                          \
    }                                                                                              \
    TG_VECTOR_CLONES static void name##_f(int64_t n, const double *k, const tg_real *a,            \
                                          int64_t sa, const tg_real *b, int64_t sb,                \
                                          const tg_real *c, tg_real *y, tg_real *x) {              \
        (void)k, (void)c, (void)x;                                                                 \
        if (sa == 1 && sb == 1)                                                                    \
            name##_fl(n, a, 1, b, 1, y);                                                           \
        else                                                                                       \
            name##_fl(n, a, sa, b, sb, y);                                                         \
    }                                                                                              \
    static inline __attribute__((always_inline)) void name##_bl(                                   \
        int64_t n, const tg_real *a, int64_t sa, const tg_real *b, int64_t sb, const tg_real *g,   \
        tg_real *da, tg_real *db, bool seta, bool setb) {                                          \
        if (sa && sb && da && db && one_or_apart(da, db, n)) { /* one pass, the passes' order */   \
            LOOP {                                                                                 \
                const tg_real A = a[i * sa], B = b[i * sb], G = g[i];                              \
                (void)A, (void)B;                                                                  \
                PUT(da[i], seta, da_expr);                                                         \
                PUT(db[i], setb, db_expr);                                                         \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        BINARY_PASS(da, sa, seta, da_expr)                                                         \
        BINARY_PASS(db, sb, setb, db_expr)                                                         \
    }                                                                                              \
    TG_VECTOR_CLONES static void name##_b(                                                         \
        int64_t n, const double *k, const tg_real *a, int64_t sa, const tg_real *b, int64_t sb,    \
        const tg_real *c, const tg_real *y, const tg_real *x, tg_real *g, tg_real *da,             \
        tg_real *db, tg_real *dc, int set) {                                                       \
        (void)k, (void)c, (void)y, (void)x, (void)dc;                                              \
        bool seta = set & TG__FUSE_SET_A, setb = set & TG__FUSE_SET_B;                             \
        if (sa != 1 || sb != 1)                                                                    \
            name##_bl(n, a, sa, b, sb, g, da, db, seta, setb);                                     \
        else if (seta && setb)                                                                     \
            name##_bl(n, a, 1, b, 1, g, da, db, true, true);                                       \
        else if (seta)                                                                             \
            name##_bl(n, a, 1, b, 1, g, da, db, true, false);                                      \
        else if (setb)                                                                             \
            name##_bl(n, a, 1, b, 1, g, da, db, false, true);                                      \
        else                                                                                       \
            name##_bl(n, a, 1, b, 1, g, da, db, false, false);                                     \
    }

/* A unary rule: K and K2 are the op's scalars as tg_real. */
#define UNARY_B(name, da_expr)                                                                     \
    TG_VECTOR_CLONES static void name##_b(                                                         \
        int64_t n, const double *k, const tg_real *a, int64_t sa, const tg_real *b, int64_t sb,    \
        const tg_real *c, const tg_real *y, const tg_real *x, tg_real *g, tg_real *da,             \
        tg_real *db, tg_real *dc, int set) {                                                       \
        (void)sa, (void)b, (void)sb, (void)c, (void)x, (void)db, (void)dc;                         \
        const tg_real K = (tg_real)k[0], K2 = (tg_real)k[1];                                       \
        (void)K, (void)K2, (void)a, (void)y;                                                       \
        PUT_ROW(da, set & TG__FUSE_SET_A, da_expr);                                                \
    }
#define UNARY(name, f_expr, da_expr)                                                               \
    TG_VECTOR_CLONES static void name##_f(int64_t n, const double *k, const tg_real *a,            \
                                          int64_t sa, const tg_real *b, int64_t sb,                \
                                          const tg_real *c, tg_real *y, tg_real *x) {              \
        (void)sa, (void)b, (void)sb, (void)c, (void)x;                                             \
        const tg_real K = (tg_real)k[0], K2 = (tg_real)k[1];                                       \
        (void)K, (void)K2;                                                                         \
        LOOP y[i] = (f_expr);                                                                      \
    }                                                                                              \
    UNARY_B(name, da_expr)

#define X a[i]
#define Y y[i]

BINARY(add, A + B, G, G)
BINARY(sub, A - B, G, -G)
BINARY(mul, A *B, G *B, G *A)
BINARY(div, A / B, G / B, -(G * A / (B * B)))
UNARY(neg, -X, -G)
UNARY(scale, K *X, K *G)
UNARY(add_scalar, X + K, G)
UNARY(exp, exp(X), G *Y)
UNARY(log, log(X), G / X)
UNARY(relu, X < 0 ? 0 : X, Y > 0 ? G : 0)
UNARY(square, X *X, 2 * X * G)
UNARY(sqrt, sqrt(X), G / (2 * Y))
UNARY(abs, fabs(X), X > 0 ? G : X < 0 ? -G : 0)
/* as tg_pow: p = 0 has gradient 0 everywhere (p x^(p-1) would be 0 * inf at 0) */
UNARY(pow, pow(X, K), K == 0 ? 0 : G * K * pow(X, K - 1))
/* the gradient passes where lo <= x <= hi, bounds included (PyTorch) */
UNARY(clamp, (X < K ? K : X) > K2 ? K2 : (X < K ? K : X), X >= K && X <= K2 ? G : 0)

/* tanh and sigmoid as the fused kernels (ops_rnn.c): the vectorised forms
 * of fastmath.h. The program's sigmoid is not tg_sigmoid's exact libm
 * form: the difference is rounding, the time a third of an LSTM step. */
static void tanh_f(int64_t n, const double *k, const tg_real *a, int64_t sa, const tg_real *b,
                   int64_t sb, const tg_real *c, tg_real *y, tg_real *x) {
    (void)k, (void)sa, (void)b, (void)sb, (void)c, (void)x;
    tg_tanh_n(y, a, n);
}
UNARY_B(tanh, G *(1 - Y * Y))
static void sigmoid_f(int64_t n, const double *k, const tg_real *a, int64_t sa, const tg_real *b,
                      int64_t sb, const tg_real *c, tg_real *y, tg_real *x) {
    (void)k, (void)sa, (void)b, (void)sb, (void)c, (void)x;
    tg_sigmoid_n(y, a, n);
}
UNARY_B(sigmoid, G *Y *(1 - Y))

/* The row's sum (k[0] = 1) or mean (k[0] = 1/n) as ops_reduce.c: summed in
 * double (row_sums.h), the mean divided by the count. */
TG_VECTOR_CLONES static void sum_row_f(int64_t n, const double *k, const tg_real *a, int64_t sa,
                                       const tg_real *b, int64_t sb, const tg_real *c, tg_real *y,
                                       tg_real *x) {
    (void)sa, (void)b, (void)sb, (void)c, (void)x;
    double acc = tg__row_sum(a, n);
    y[0] = (tg_real)(k[0] == 1 ? acc : acc / (double)n);
}
TG_VECTOR_CLONES static void sum_row_b(int64_t n, const double *k, const tg_real *a, int64_t sa,
                                       const tg_real *b, int64_t sb, const tg_real *c,
                                       const tg_real *y, const tg_real *x, tg_real *g, tg_real *da,
                                       tg_real *db, tg_real *dc, int set) {
    (void)a, (void)sa, (void)b, (void)sb, (void)c, (void)y, (void)x, (void)db, (void)dc;
    tg_real share = (tg_real)(g[0] * k[0]); /* g is one wide: no PUT_ROW, which reads g[i] */
    if (set & TG__FUSE_SET_A)
        LOOP PUT(da[i], true, share);
    else
        LOOP PUT(da[i], false, share);
}

/* A row's layer norm without gain or bias (tg_layer_norm(x, NULL, NULL,
 * eps), k[0] = eps) through the op's own row kernels (ops_norm.c), so the
 * program's numbers are the op's. The row's s is its extra value (x[0])
 * for the adjoint, which reads the normalised row (Y) and s, not A:
 * keeping Y (as wide as A) spares backward the row's three passes of
 * normalising it again. */
static void layer_norm_f(int64_t n, const double *k, const tg_real *a, int64_t sa,
                         const tg_real *b, int64_t sb, const tg_real *c, tg_real *y, tg_real *x) {
    (void)sa, (void)b, (void)sb, (void)c;
    tg_real m;
    tg__norm_row(a, n, (tg_real)k[0], y, &m, &x[0]);
}
static void layer_norm_b(int64_t n, const double *k, const tg_real *a, int64_t sa, const tg_real *b,
                         int64_t sb, const tg_real *c, const tg_real *y, const tg_real *x,
                         tg_real *g, tg_real *da, tg_real *db, tg_real *dc, int set) {
    (void)k, (void)a, (void)sa, (void)b, (void)sb, (void)c, (void)db, (void)dc;
    if (set & TG__FUSE_SET_A) memset(da, 0, (size_t)n * sizeof *da); /* the op's kernel adds */
    tg__norm_row_grad(n, y, x[0], g, da);
}

/* The same with the gain b and bias c (tg_layer_norm(x, gain, bias, eps)),
 * y = xh * b + c as the op computes it, in one pass after the
 * normalising. The normalised row xh and s are its extra values (x[0..n),
 * x[n]), and the adjoint reads those and the gain (X | B), not y. */
TG_VECTOR_CLONES static void layer_norm_affine_f(int64_t n, const double *k, const tg_real *a,
                                                 int64_t sa, const tg_real *b, int64_t sb,
                                                 const tg_real *c, tg_real *y, tg_real *x) {
    (void)sa, (void)sb;
    tg_real m, *xh = x;
    tg__norm_row(a, n, (tg_real)k[0], xh, &m, &x[n]);
    LOOP {
        tg_real v = xh[i] * b[i];
        y[i] = v + c[i];
    }
}
/* As the op's backward (ops_norm.c): d = g * gain, into g's scratch (its
 * extra entries), then x's gradient from d; the gain's share g * xh and
 * the bias's g. */
TG_VECTOR_CLONES static void layer_norm_affine_b(int64_t n, const double *k, const tg_real *a,
                                                 int64_t sa, const tg_real *b, int64_t sb,
                                                 const tg_real *c, const tg_real *y,
                                                 const tg_real *x, tg_real *g, tg_real *da,
                                                 tg_real *db, tg_real *dc, int set) {
    (void)k, (void)a, (void)sa, (void)sb, (void)c, (void)y;
    const tg_real *xh = x;
    tg_real *d = g + n;
    if (db) PUT_ROW(db, set & TG__FUSE_SET_B, G * xh[i]);
    if (dc) PUT_ROW(dc, set & TG__FUSE_SET_C, G);
    if (!da) return;
    LOOP d[i] = g[i] * b[i];
    if (set & TG__FUSE_SET_A) memset(da, 0, (size_t)n * sizeof *da); /* the op's kernel adds */
    tg__norm_row_grad(n, xh, x[n], d, da);
}

/* One row per primitive, by op and number of inputs: its loops, its arity
 * and what its adjoint reads (the expressions above: mul's G*B and G*A
 * read both operands, tanh's G*(1-Y*Y) only its result). The layer-norm op
 * has two rows, without its gain and bias and with them. */
enum { A_ = TG__FUSE_A, B_ = TG__FUSE_B, Y_ = TG__FUSE_Y, X_ = TG__FUSE_X };
#define RULE(ID, name, n, needs) [TG_OP_##ID][n] = {name##_f, name##_b, n, false, needs, 0, 0}
static const tg__fuse_rule rules[TG_OP_COUNT][4] = {
    RULE(ADD, add, 2, 0),
    RULE(SUB, sub, 2, 0),
    RULE(MUL, mul, 2, A_ | B_),
    RULE(DIV, div, 2, A_ | B_),
    RULE(NEG, neg, 1, 0),
    RULE(SCALE, scale, 1, 0),
    RULE(ADD_SCALAR, add_scalar, 1, 0),
    RULE(EXP, exp, 1, Y_),
    RULE(LOG, log, 1, A_),
    RULE(TANH, tanh, 1, Y_),
    RULE(SIGMOID, sigmoid, 1, Y_),
    RULE(RELU, relu, 1, Y_),
    RULE(POW, pow, 1, A_),
    RULE(SQUARE, square, 1, A_),
    RULE(SQRT, sqrt, 1, Y_),
    RULE(ABS, abs, 1, A_),
    RULE(CLAMP, clamp, 1, A_),
    [TG_OP_LAYER_NORM][1] = {layer_norm_f, layer_norm_b, 1, false, Y_ | X_, 0, 1},
    [TG_OP_LAYER_NORM][3] = {layer_norm_affine_f, layer_norm_affine_b, 3, false, X_ | B_, 1, 1},
    [TG_OP_SUM_AXIS][1] = {sum_row_f, sum_row_b, 1, true, 0, 0, 0},
};

const tg__fuse_rule *tg__fuse_rule_of(int op, int n_in) {
    bool known = op >= 0 && op < TG_OP_COUNT && n_in >= 1 && n_in <= 3;
    return known && rules[op][n_in].fwd ? &rules[op][n_in] : NULL;
}
