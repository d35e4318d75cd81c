/* Gradient clipping against torch.nn.utils.clip_grad_norm_ and
 * clip_grad_value_, and the non-finite cases PyTorch would spread. */
#include <string.h>

#include "testutil.h"
#include "fixtures/optim_reference.h"

#ifdef TG_DOUBLE
#define CLIP_TOL 1e-12
#else
#define CLIP_TOL 1e-6
#endif

/* Two parameters, [3,4] and [5], whose gradients are ref_clip_grad. */
typedef struct pair {
    tg_tensor *p[2];
} pair;

static pair make_pair(void) {
    pair q = {{tg_param_new(TG_SHAPE(3, 4)), tg_param_new(TG_SHAPE(5))}};
    for (int k = 0; k < REF_CLIP_N; k++)
        *(k < 12 ? &q.p[0]->grad[k] : &q.p[1]->grad[k - 12]) = (tg_real)ref_clip_grad[k];
    return q;
}

static void free_pair(pair q) {
    tg_tensor_free(q.p[0]);
    tg_tensor_free(q.p[1]);
}

static double grad_at(pair q, int k) {
    return k < 12 ? q.p[0]->grad[k] : q.p[1]->grad[k - 12];
}

START_TEST(norm_matches_pytorch) {
    ck_assert_int_eq(REF_NCLIPS, 5);
    for (int c = 0; c < REF_NCLIPS; c++) {
        const ref_clip *r = &ref_clips[c];
        pair q = make_pair();
        double total = -1;
        ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, r->max_norm, r->norm_type, &total, NULL, 0),
                         TG_CLIP_OK);
        ck_assert_msg(fabs(total - r->total_norm) <= CLIP_TOL * r->total_norm,
                      "%s: norm %.17g, torch %.17g", r->name, total, r->total_norm);
        for (int k = 0; k < REF_CLIP_N; k++)
            ck_assert_msg(fabs(grad_at(q, k) - r->grad[k]) <= CLIP_TOL * fmax(1, fabs(r->grad[k])),
                          "%s: grad[%d] %.17g, torch %.17g", r->name, k, grad_at(q, k), r->grad[k]);
        /* clipped to the threshold (up to the 1e-6 PyTorch adds) */
        double after = 0;
        ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1e30, r->norm_type, &after, NULL, 0),
                         TG_CLIP_OK);
        if (r->total_norm > r->max_norm)
            ck_assert_double_eq_tol(after, r->max_norm, 1e-5);
        else
            ck_assert_double_eq_tol(after, r->total_norm, CLIP_TOL * r->total_norm);
        free_pair(q);
    }
}
END_TEST

/* Within bounds, the gradients are left exactly as they were. */
START_TEST(norm_no_clip_is_exact) {
    pair q = make_pair();
    double total;
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1e6, 2, &total, NULL, 0), TG_CLIP_OK);
    for (int k = 0; k < REF_CLIP_N; k++) ck_assert(grad_at(q, k) == (tg_real)ref_clip_grad[k]);
    free_pair(q);
}
END_TEST

/* A parameter without a gradient is skipped; none at all gives norm 0. */
START_TEST(norm_null_grads) {
    pair q = make_pair();
    tg_tensor *none = tg_param_new(TG_SHAPE(4));
    tg_real *g = none->grad;
    none->grad = NULL;
    tg_tensor *three[3] = {q.p[0], none, q.p[1]};
    double total;
    ck_assert_int_eq(tg_clip_grad_norm(three, 3, 1.0, 2, &total, NULL, 0), TG_CLIP_OK);
    ck_assert_double_eq_tol(total, ref_clips[0].total_norm, CLIP_TOL * total);
    ck_assert_int_eq(tg_clip_grad_norm(&none, 1, 1.0, 2, &total, NULL, 0), TG_CLIP_OK);
    ck_assert_double_eq(total, 0);
    ck_assert_int_eq(tg_clip_grad_norm(NULL, 0, 1.0, 2, &total, NULL, 0), TG_CLIP_OK);
    ck_assert_double_eq(total, 0);
    none->grad = g;
    tg_tensor_free(none);
    free_pair(q);
}
END_TEST

static void check_untouched(pair q, int except, double except_value) {
    for (int k = 0; k < REF_CLIP_N; k++) {
        double want = k == except ? except_value : (double)(tg_real)ref_clip_grad[k];
        if (isnan(want))
            ck_assert(isnan(grad_at(q, k)));
        else
            ck_assert_msg(grad_at(q, k) == want, "grad[%d] changed", k);
    }
}

START_TEST(norm_nonfinite) {
    char err[256];
    double total = 0;
    /* NaN: reported with where it is, nothing scaled */
    pair q = make_pair();
    q.p[1]->name = "bias";
    q.p[1]->grad[3] = NAN;
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1.0, 2, &total, err, sizeof err), TG_CLIP_NONFINITE);
    ck_assert(isnan(total));
    ck_assert_str_eq(err, "tg_clip_grad_norm: total 2-norm is nan: params[1] (\"bias\")[3] is "
                          "nan; gradients left unchanged");
    check_untouched(q, 15, NAN);
    /* the same under the inf-norm, and without an err buffer */
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1.0, INFINITY, &total, NULL, 0), TG_CLIP_NONFINITE);
    ck_assert(isnan(total));
    check_untouched(q, 15, NAN);
    free_pair(q);
    /* Inf */
    q = make_pair();
    q.p[0]->grad[2] = -INFINITY;
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1.0, 1, &total, err, sizeof err), TG_CLIP_NONFINITE);
    ck_assert(isinf(total));
    ck_assert_str_eq(err, "tg_clip_grad_norm: total 1-norm is inf: params[0][2] is -inf; "
                          "gradients left unchanged");
    check_untouched(q, 2, -INFINITY);
    free_pair(q);
#ifdef TG_DOUBLE
    /* finite values whose squares overflow */
    q = make_pair();
    q.p[0]->grad[0] = 1e200;
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1.0, 2, &total, err, sizeof err), TG_CLIP_NONFINITE);
    ck_assert_str_eq(err, "tg_clip_grad_norm: total 2-norm is inf: the norm overflows; "
                          "gradients left unchanged");
    check_untouched(q, 0, 1e200);
    free_pair(q);
#endif
}
END_TEST

START_TEST(norm_bad_arguments) {
    char err[160];
    pair q = make_pair();
    double total = 0;
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, -1, 2, &total, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_clip_grad_norm: max_norm must be >= 0, got -1");
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1, 0, &total, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_clip_grad_norm: norm_type must be > 0 or INFINITY, got 0");
    ck_assert_int_eq(tg_clip_grad_norm(q.p, 2, 1, NAN, &total, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_clip_grad_norm: norm_type must be > 0 or INFINITY, got nan");
    ck_assert_int_eq(tg_clip_grad_norm(NULL, 2, 1, 2, &total, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_clip_grad_norm: bad parameter list (n = 2, params NULL)");
    tg_tensor *holes[2] = {q.p[0], NULL};
    ck_assert_int_eq(tg_clip_grad_norm(holes, 2, 1, 2, &total, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_clip_grad_norm: params[1] is NULL");
    ck_assert_int_eq(tg_clip_grad_value(q.p, 2, -0.5, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_clip_grad_value: clip_value must be >= 0, got -0.5");
    ck_assert_int_eq(tg_clip_grad_value(q.p, -1, 0.5, err, sizeof err), TG_CLIP_INVALID);
    ck_assert_str_eq(err, "tg_clip_grad_value: bad parameter list (n = -1)");
    check_untouched(q, -1, 0);
    free_pair(q);
}
END_TEST

START_TEST(value_matches_pytorch) {
    pair q = make_pair();
    ck_assert_int_eq(tg_clip_grad_value(q.p, 2, 0.75, NULL, 0), TG_CLIP_OK);
    int clipped = 0;
    for (int k = 0; k < REF_CLIP_N; k++) {
        ck_assert_double_eq_tol(grad_at(q, k), ref_clip_value[k], CLIP_TOL);
        clipped += fabs(ref_clip_grad[k]) > 0.75;
    }
    ck_assert_int_ge(clipped, 3); /* the case clips some values, not all */
    ck_assert_int_lt(clipped, REF_CLIP_N);
    free_pair(q);
}
END_TEST

START_TEST(value_nonfinite) {
    char err[160];
    pair q = make_pair();
    q.p[0]->grad[5] = INFINITY; /* an infinity is clipped, as in PyTorch */
    q.p[1]->grad[0] = -INFINITY;
    ck_assert_int_eq(tg_clip_grad_value(q.p, 2, 0.5, err, sizeof err), TG_CLIP_OK);
    ck_assert_double_eq(q.p[0]->grad[5], 0.5);
    ck_assert_double_eq(q.p[1]->grad[0], -0.5);
    free_pair(q);
    q = make_pair();
    q.p[0]->grad[7] = NAN; /* a NaN is reported, nothing changes */
    ck_assert_int_eq(tg_clip_grad_value(q.p, 2, 0.5, err, sizeof err), TG_CLIP_NONFINITE);
    ck_assert_str_eq(err, "tg_clip_grad_value: params[0][7] is nan; gradients left unchanged");
    check_untouched(q, 7, NAN);
    free_pair(q);
}
END_TEST

TCase *tcase_clip(void) {
    TCase *tc = tcase_create("clip");
    tcase_add_test(tc, norm_matches_pytorch);
    tcase_add_test(tc, norm_no_clip_is_exact);
    tcase_add_test(tc, norm_null_grads);
    tcase_add_test(tc, norm_nonfinite);
    tcase_add_test(tc, norm_bad_arguments);
    tcase_add_test(tc, value_matches_pytorch);
    tcase_add_test(tc, value_nonfinite);
    return tc;
}
