/* Anomaly detection (tg_tape_set_detect_anomaly): the first op that made a
 * non-finite value is named with its scope, its inputs' ranges and the
 * direction; a masked -inf passed on is not an anomaly; off, nothing is
 * checked. */
#include <string.h>

#include "testutil.h"

#define ck_assert_has(s, part)                                                                     \
    ck_assert_msg(strstr((s), (part)) != NULL, "'%s' does not contain '%s'", (s), (part))

/* A leaf parameter with these values. */
static tg_tensor *param(const tg_real *v, int64_t n) {
    tg_tensor *x = tg_param_new(TG_SHAPE(n));
    tg_copy_from(x, v);
    x->name = "w";
    return x;
}

/* log of a negative number: named in forward, with its scope and label. */
START_TEST(log_of_negative_forward) {
    tg_tape *t = tg_tape_new();
    ck_assert(!tg_tape_set_detect_anomaly(t, true));
    tg_real v[3] = {-1, 2, 0.5};
    tg_tensor *w = param(v, 3);
    tg_scope_push(t, "enc");
    tg_scope_push(t, "t17");
    tg_tensor *y = tg_log(t, tg_scale(t, w, 2));
    tg_label(t, y, "score");
    tg_scope_pop(t);
    tg_scope_pop(t);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), -1);
    const char *e = tg_tape_error(t);
    ck_assert_ptr_nonnull(e);
    ck_assert(tg_tape_error_is_anomaly(t));
    ck_assert_has(e, "anomaly in forward: node 1 log (enc.t17.score)");
    ck_assert_has(e, "(1 NaN, 0 inf of 3)");
    ck_assert_has(e, "input 1 (#0 scale enc.t17) [-2, 4]");
    /* the gradients were never computed */
    for (int i = 0; i < 3; i++) ck_assert(!w->grad || w->grad[i] == 0);
    tg_tape_reset(t);
    ck_assert(!tg_tape_error_is_anomaly(t));
    ck_assert(tg_tape_detect_anomaly(t));
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* 0/0 in forward names div; without detection the same step passes
 * silently with a NaN loss (which is why the check exists). */
START_TEST(zero_over_zero) {
    tg_real a[2] = {0, 1}, b[2] = {0, 2};
    tg_tensor *pa = param(a, 2), *pb = param(b, 2);
    for (int on = 0; on < 2; on++) {
        tg_tape *t = tg_tape_new();
        tg_tape_set_detect_anomaly(t, on);
        tg_tensor *loss = tg_sum(t, tg_div(t, pa, pb));
        int rc = tg_backward(t, loss);
        if (on) {
            ck_assert_int_eq(rc, -1);
            ck_assert_has(tg_tape_error(t), "anomaly in forward: node 0 div produced");
            ck_assert_has(tg_tape_error(t), "input 1 (w) [0, 1]; input 2 (w) [0, 2]");
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert(isnan((double)loss->data[0]));
        }
        tg_tape_free(t);
    }
    tg_tensor_free(pa);
    tg_tensor_free(pb);
}
END_TEST

/* sqrt(0) is finite; its gradient 1/(2 sqrt 0) is not: named in backward,
 * with the gradient the node received. */
START_TEST(sqrt_of_zero_backward) {
    tg_tape *t = tg_tape_new();
    tg_tape_set_detect_anomaly(t, true);
    tg_real v[2] = {0, 4};
    tg_tensor *w = param(v, 2);
    tg_scope_push(t, "norm");
    tg_tensor *y = tg_sqrt(t, tg_mul(t, w, w)); /* y = |w|, fine forward */
    tg_label(t, y, "root");
    tg_scope_pop(t);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), -1);
    const char *e = tg_tape_error(t);
    ck_assert(tg_tape_error_is_anomaly(t));
    ck_assert_has(e, "anomaly in backward: node 1 sqrt (norm.root) wrote a non-finite gradient "
                     "into its input 1 (#0 mul norm)");
    ck_assert_has(e, "the gradient it received [1, 1]");
    ck_assert_has(e, "input 1 (#0 mul norm) [0, 16]");
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* A parameter's own gradient made non-finite by the op that reads it:
 * sqrt(w) = w^0.5 is 0 at w = 0, its gradient 0.5 w^-0.5 is inf. */
START_TEST(parameter_gradient) {
    tg_tape *t = tg_tape_new();
    tg_tape_set_detect_anomaly(t, true);
    tg_real v[2] = {0, 1};
    tg_tensor *w = param(v, 2);
    tg_tensor *y = tg_pow(t, w, 0.5);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), -1);
    ck_assert_has(tg_tape_error(t), "anomaly in backward: node 0 pow wrote a non-finite gradient "
                                    "into its input 1 (w)");
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* A -inf mask passed on by add and max is not an anomaly; an infinity an op
 * makes from finite inputs (exp overflow) is. */
START_TEST(masked_infinity_passes) {
    tg_tape *t = tg_tape_new();
    tg_tape_set_detect_anomaly(t, true);
    tg_real v[3] = {1, 2, 3}, m[3] = {0, 0, -INFINITY};
    tg_tensor *w = param(v, 3);
    tg_tensor *scores = tg_add(t, w, tg_from_array(t, TG_SHAPE(3), m));
    tg_tensor *p = tg_softmax(t, scores, 0);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, p, w))), 0);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_reset(t);
    tg_real big[3] = {1, 2, 1000};
    tg_copy_from(w, big);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_exp(t, w))), -1);
    ck_assert_has(tg_tape_error(t), "anomaly in forward: node 0 exp produced a non-finite value, "
                                    "[2.718, 7.389] (0 NaN, 1 inf of 3)");
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* A non-finite weight shows in the ranges of the first node reading it. */
START_TEST(nonfinite_leaf_shown) {
    tg_tape *t = tg_tape_new();
    tg_tape_set_detect_anomaly(t, true);
    tg_real v[2] = {NAN, 1};
    tg_tensor *w = param(v, 2);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_tanh(t, w))), -1);
    ck_assert_has(tg_tape_error(t), "node 0 tanh produced a non-finite value, [0.7616, 0.7616] "
                                    "(1 NaN, 0 inf of 2); input 1 (w) [1, 1] (1 NaN, 0 inf of 2)");
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

TCase *tcase_anomaly(void) {
    TCase *tc = tcase_create("anomaly");
    tcase_add_test(tc, log_of_negative_forward);
    tcase_add_test(tc, zero_over_zero);
    tcase_add_test(tc, sqrt_of_zero_backward);
    tcase_add_test(tc, parameter_gradient);
    tcase_add_test(tc, masked_infinity_passes);
    tcase_add_test(tc, nonfinite_leaf_shown);
    return tc;
}
