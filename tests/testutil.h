/* Shared by the Check suites: closeness asserts and a gradcheck assert. */
#ifndef TG_TESTUTIL_H
#define TG_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

/* Tolerance for forward values compared with reference numbers. */
#ifdef TG_DOUBLE
#define TG_TOL 1e-10
#else
#define TG_TOL 1e-5
#endif

/* |a - b| <= tol * max(1, |b|), with both values in the message. */
#define ck_assert_close(a, b, tol)                                                                 \
    do {                                                                                           \
        double ck_a_ = (double)(a), ck_b_ = (double)(b);                                           \
        ck_assert_msg(fabs(ck_a_ - ck_b_) <= (tol)*fmax(1.0, fabs(ck_b_)),                         \
                      "%s = %.12g, expected %s = %.12g (tol %g)", #a, ck_a_, #b, ck_b_,            \
                      (double)(tol));                                                              \
    } while (0)

/* Every element of tensor x equals the row-major array `expect`. */
#define ck_assert_tensor(x, expect, tol)                                                           \
    do {                                                                                           \
        const tg_tensor *ck_x_ = (x);                                                              \
        ck_assert_ptr_nonnull(ck_x_);                                                              \
        for (int64_t ck_i_ = 0; ck_i_ < ck_x_->numel; ck_i_++) {                                   \
            double ck_v_ = (double)tg_at(ck_x_, ck_i_), ck_e_ = (double)(expect)[ck_i_];           \
            ck_assert_msg(fabs(ck_v_ - ck_e_) <= (tol)*fmax(1.0, fabs(ck_e_)),                     \
                          "%s[%lld] = %.12g, expected %.12g", #x, (long long)ck_i_, ck_v_, ck_e_); \
        }                                                                                          \
    } while (0)

/* Gradient check in the double build (central differences, eps 1e-6,
 * mixed relative error at most 1e-6); in the float build it compiles to
 * nothing, since float central differences cannot be that tight. */
#ifdef TG_DOUBLE
#define ck_assert_gradcheck(f, ctx, n, inputs)                                                     \
    do {                                                                                           \
        tg_gradcheck_result ck_r_;                                                                 \
        bool ck_ok_ = tg_gradcheck((f), (ctx), (n), (inputs), 1e-6, 1e-6, &ck_r_);                 \
        ck_assert_msg(ck_ok_,                                                                      \
                      "gradcheck %s: %s rel err %.3g at input %d [%lld]: "                         \
                      "analytic %.10g numeric %.10g",                                              \
                      #f, ck_r_.error, ck_r_.max_rel_err, ck_r_.worst_input,                       \
                      (long long)ck_r_.worst_index, ck_r_.analytic, ck_r_.numeric);                \
    } while (0)
#else
#define ck_assert_gradcheck(f, ctx, n, inputs) ((void)(f), (void)(ctx), (void)(n), (void)(inputs))
#endif

/* For ck_assert_gradcheck through a recurrent layer: ctx is a
 * test_rnn_ctx; inputs x [T, B, I], h0, then the layer's parameters
 * (already in the layer); the loss sums output^2 and tanh(h_n). */
typedef struct test_rnn_ctx {
    tg_rnn *m;
    const int64_t *lengths;
} test_rnn_ctx;

static inline tg_tensor *test_rnn_loss(tg_tape *t, tg_tensor *const *in, void *ctx) {
    test_rnn_ctx *c = ctx;
    tg_rnn_result r;
    if (tg_rnn_forward(t, c->m, in[0], in[1], NULL, c->lengths, &r) != 0) return NULL;
    return tg_add(t, tg_sum(t, tg_square(t, r.output)), tg_sum(t, tg_tanh(t, r.h_n)));
}

/* For ck_assert_gradcheck of a whole model over its own parameters (the
 * inputs): ctx is a test_model_ctx, the result the loss of its batch. */
typedef struct test_model_ctx {
    tg_model *m;
    tg_model_batch *b;
} test_model_ctx;

static inline tg_tensor *test_model_loss(tg_tape *t, tg_tensor *const *in, void *ctx) {
    (void)in; /* the inputs are the model's own parameters */
    test_model_ctx *c = ctx;
    return tg_model_loss(t, c->m, c->b, NULL);
}

/* ck_assert_gradcheck of the model's loss on batch b over all its
 * parameters (the double build; nothing in the float build). */
static inline void ck_assert_model_gradcheck(tg_model *m, tg_model_batch *b) {
    const tg_params *p = tg_module_params(&m->base);
    tg_tensor **params = malloc((size_t)p->n * sizeof *params);
    ck_assert_ptr_nonnull(params);
    for (int i = 0; i < p->n; i++) params[i] = p->items[i].tensor;
    test_model_ctx c = {m, b};
    ck_assert_gradcheck(test_model_loss, &c, p->n, params);
    free(params);
}

/* Values against a reference tensor (PyTorch's, from a fixture), with the
 * mixed tolerance |got - ref| <= tol * max(1, |ref|): got is ref->numel
 * row-major values (a gradient buffer), or a tensor of ref's shape. */
static inline void ck_assert_ref_values(const char *what, const tg_real *got, const tg_tensor *ref,
                                        double tol) {
    for (int64_t i = 0; i < ref->numel; i++) {
        double g = (double)got[i], r = (double)tg_at(ref, i);
        ck_assert_msg(fabs(g - r) <= tol * fmax(1.0, fabs(r)), "%s[%lld] = %.12g, PyTorch %.12g",
                      what, (long long)i, g, r);
    }
}

static inline void ck_assert_ref_tensor(const char *what, const tg_tensor *x, const tg_tensor *ref,
                                        double tol) {
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(ref);
    ck_assert_msg(tg_same_shape(x, ref), "%s: shapes differ", what);
    for (int64_t i = 0; i < ref->numel; i++) {
        double g = (double)tg_at(x, i), r = (double)tg_at(ref, i);
        ck_assert_msg(fabs(g - r) <= tol * fmax(1.0, fabs(r)), "%s[%lld] = %.12g, PyTorch %.12g",
                      what, (long long)i, g, r);
    }
}

/* That spec text json fails to parse with exactly the message want first
 * (the file named "spec.json"; the errors after it, one per line, are the
 * other problems of these deliberately small specs). */
static inline void ck_assert_spec_error(const char *json, const char *want) {
    char err[4096] = "";
    tg_spec *s = tg_spec_parse(json, "spec.json", err, sizeof err);
    ck_assert_msg(s == NULL, "parsed, expected: %s\n  spec: %s", want, json);
    size_t first = strcspn(err, "\n");
    ck_assert_msg(first == strlen(want) && strncmp(err, want, first) == 0,
                  "\n  spec: %s\n   got: %s\n  want: %s", json, err, want);
}

/* Whether the tape printed as a table (tg_tape_print) holds what: " fused "
 * for a fused step's node, a label, a scope. */
static inline bool test_tape_has(tg_tape *t, const char *what) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_tape_print(t, f), 0);
    fclose(f);
    bool yes = strstr(text, what) != NULL;
    free(text);
    return yes;
}

/* The whole file, NUL-terminated (free it), or NULL if it cannot be read. */
static inline char *test_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n;
    char *s = tg_read_stream(f, 0, &n);
    fclose(f);
    return s;
}

/* A parameter of shape s filled with uniform(-1, 1) values from rng. */
static inline tg_tensor *test_param(tg_rng *r, tg_shape s) {
    tg_tensor *p = tg_param_new(s);
    if (p) tg_init_uniform(p, r, -1, 1);
    return p;
}

/* n values uniform in [-1, 1) from seed (malloc'd: the caller frees). */
static inline tg_real *test_uniform_array(int64_t n, uint64_t seed) {
    tg_real *v = malloc((size_t)n * sizeof *v);
    tg_rng r;
    tg_rng_seed(&r, seed);
    for (int64_t i = 0; v && i < n; i++) v[i] = (tg_real)(2 * tg_rng_uniform(&r) - 1);
    return v;
}

/* How far two orders of summing k products may differ, their magnitudes
 * adding to mag: each term can carry k + 1 units of rounding (the classic
 * bound), so (k + 1) eps mag. A wrong product misses it by far. */
static inline double test_sum_bound(int64_t k, double mag) {
#ifdef TG_DOUBLE
    return (double)(k + 1) * 2.220446049250313e-16 * mag;
#else
    return (double)(k + 1) * 1.1920928955078125e-07 * mag;
#endif
}

#endif
