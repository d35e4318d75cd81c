/* cross_entropy, nll, mse, bce_with_logits: values and gradients against
 * PyTorch (gen_ops_reference.py) for every reduction, ignore_index,
 * stability at logits of 1e4, targets copied, errors, gradchecks. */
#include "testutil.h"

/* ---- inputs (the same as in gen_ops_reference.py) ---- */
static const tg_real LOGITS[20] = {0.5, -1.25, 2.0,  0.0,  1.5,   -0.75, 0.25, -2.0,  1.0, 0.5,
                                   3.0, -0.5,  0.75, -1.5, 0.125, 0.0,   1.75, -0.25, 2.5, -3.0};
static const int64_t TARGETS[4] = {1, 4, 0, 3};
static const int64_t TARGETS_IGN[4] = {1, -100, 0, -100}; /* ignore_index -100 */
static const tg_real MSE_A[6] = {0.5, -1.0, 2.0, 1.5, 0.25, -0.75};
static const tg_real MSE_B[6] = {1.0, 0.5, -1.0, 1.5, -0.5, 0.25};
static const tg_real BCE_X[6] = {0.5, -2.0, 30.0, -30.0, 1.25, 0.0};
static const tg_real BCE_Y[6] = {1.0, 0.0, 0.25, 0.75, 0.5, 1.0};

/* ---- reference values: torch, double (gen_ops_reference.py); gradients
 * are of sum(loss * w) with w = 1..numel ---- */
// clang-format off
static const double CE_MEAN[1] = {1.4869687165985142};
static const double CE_MEAN_GRAD[20] = {
    0.027838789572260974, -0.24516234375514109, 0.1247647989574433, 0.016885079404864629,
    0.075673675820572162, 0.0188683057979687, 0.051289372784426766, 0.0054058601197429701,
    0.10857960303668511, -0.18414314173882351, -0.04220722986571232, 0.0062747979521307765,
    0.021901196841715643, 0.0023083691640935818, 0.011722865907772311, 0.012648183276926244,
    0.072785269332010696, 0.0098504150405008071, -0.095913583614975345, 0.0006297159655376007};
static const double NLL_MEAN[1] = {1.4869687165985142};
static const double NLL_MEAN_GRAD[20] = {
    0, -0.25, 0, 0,
    0, 0, 0, 0,
    0, -0.25, -0.25, 0,
    0, 0, 0, 0,
    0, 0, -0.25, 0};
static const double CE_MEAN_IGN[1] = {2.0649750967877525};
static const double CE_MEAN_IGN_GRAD[20] = {
    0.055677579144521948, -0.49032468751028219, 0.2495295979148866, 0.033770158809729257,
    0.15134735164114432, 0, 0, 0,
    0, 0, -0.08441445973142464, 0.012549595904261553,
    0.043802393683431286, 0.0046167383281871636, 0.023445731815544622, 0,
    0, 0, 0, 0};
static const double NLL_MEAN_IGN[1] = {2.0649750967877525};
static const double NLL_MEAN_IGN_GRAD[20] = {
    0, -0.5, 0, 0,
    0, 0, 0, 0,
    0, 0, -0.5, 0,
    0, 0, 0, 0,
    0, 0, 0, 0};
static const double CE_SUM[1] = {5.9478748663940566};
static const double CE_SUM_GRAD[20] = {
    0.1113551582890439, -0.98064937502056437, 0.49905919582977321, 0.067540317619458515,
    0.30269470328228865, 0.0754732231918748, 0.20515749113770707, 0.02162344047897188,
    0.43431841214674044, -0.73657256695529405, -0.16882891946284928, 0.025099191808523106,
    0.087604787366862572, 0.0092334766563743273, 0.046891463631089245, 0.050592733107704978,
    0.29114107732804279, 0.039401660162003228, -0.38365433445990138, 0.0025188638621504028};
static const double NLL_SUM[1] = {5.9478748663940566};
static const double NLL_SUM_GRAD[20] = {
    0, -1, 0, 0,
    0, 0, 0, 0,
    0, -1, -1, 0,
    0, 0, 0, 0,
    0, 0, -1, 0};
static const double CE_SUM_IGN[1] = {4.129950193575505};
static const double CE_SUM_IGN_GRAD[20] = {
    0.1113551582890439, -0.98064937502056437, 0.49905919582977321, 0.067540317619458515,
    0.30269470328228865, 0, 0, 0,
    0, 0, -0.16882891946284928, 0.025099191808523106,
    0.087604787366862572, 0.0092334766563743273, 0.046891463631089245, 0,
    0, 0, 0, 0};
static const double NLL_SUM_IGN[1] = {4.129950193575505};
static const double NLL_SUM_IGN_GRAD[20] = {
    0, -1, 0, 0,
    0, 0, 0, 0,
    0, 0, -1, 0,
    0, 0, 0, 0,
    0, 0, 0, 0};
static const double CE_NONE[4] = {3.9450305613490908, 1.3339773453440547, 0.1849196322264145, 0.48394732747449654};
static const double CE_NONE_GRAD[20] = {
    0.1113551582890439, -0.98064937502056437, 0.49905919582977321, 0.067540317619458515,
    0.30269470328228865, 0.1509464463837496, 0.41031498227541413, 0.04324688095794376,
    0.86863682429348088, -1.4731451339105881, -0.50648675838854784, 0.075297575425569321,
    0.26281436210058773, 0.027700429969122982, 0.14067439089326772, 0.20237093243081991,
    1.1645643093121711, 0.15760664064801291, -1.5346173378396055, 0.010075455448601611};
static const double NLL_NONE[4] = {3.9450305613490908, 1.3339773453440547, 0.1849196322264145, 0.48394732747449654};
static const double NLL_NONE_GRAD[20] = {
    0, -1, 0, 0,
    0, 0, 0, 0,
    0, -2, -3, 0,
    0, 0, 0, 0,
    0, 0, -4, 0};
static const double CE_NONE_IGN[4] = {3.9450305613490908, 0, 0.1849196322264145, 0};
static const double CE_NONE_IGN_GRAD[20] = {
    0.1113551582890439, -0.98064937502056437, 0.49905919582977321, 0.067540317619458515,
    0.30269470328228865, 0, 0, 0,
    0, 0, -0.50648675838854784, 0.075297575425569321,
    0.26281436210058773, 0.027700429969122982, 0.14067439089326772, 0,
    0, 0, 0, 0};
static const double NLL_NONE_IGN[4] = {3.9450305613490908, 0, 0.1849196322264145, 0};
static const double NLL_NONE_IGN_GRAD[20] = {
    0, -1, 0, 0,
    0, 0, 0, 0,
    0, 0, -3, 0,
    0, 0, 0, 0,
    0, 0, 0, 0};
static const double LOG_SOFTMAX_LOGITS[20] = {
    -2.1950305613490908, -3.9450305613490908, -0.6950305613490908, -2.6950305613490908,
    -1.1950305613490908, -2.5839773453440547, -1.5839773453440547, -3.8339773453440547,
    -0.83397734534405477, -1.3339773453440547, -0.1849196322264145, -3.6849196322264146,
    -2.4349196322264146, -4.6849196322264142, -3.0599196322264146, -2.9839473274744965,
    -1.2339473274744965, -3.2339473274744965, -0.48394732747449654, -5.9839473274744961};
static const double MSE_MEAN[1] = {2.1770833333333335};
static const double BCE_MEAN[1] = {7.8618468761880962};
static const double BCE_MEAN_GRAD_X[6] = {
    -0.062923444799690906, 0.019867153670352924, 0.12499999999998442, -0.1249999999999844,
    0.046216643529115177, -0.083333333333333329};
static const double BCE_MEAN_GRAD_Y[6] = {
    -0.083333333333333329, 0.33333333333333331, -5, 5,
    -0.20833333333333334, -0};
static const double MSE_SUM[1] = {13.0625};
static const double BCE_SUM[1] = {47.171081257128577};
static const double BCE_SUM_GRAD_X[6] = {
    -0.37754066879814541, 0.11920292202211755, 0.74999999999990652, -0.74999999999990641,
    0.27729986117469108, -0.5};
static const double BCE_SUM_GRAD_Y[6] = {
    -0.5, 2, -30, 30,
    -1.25, -0};
static const double MSE_NONE[6] = {
    0.25, 2.25, 9, 0,
    0.5625, 1};
static const double BCE_NONE[6] = {
    0.47407698418010669, 0.1269280110429726, 22.500000000000092, 22.500000000000092,
    0.87692908134537295, 0.69314718055994529};
static const double BCE_NONE_GRAD_X[6] = {
    -0.37754066879814541, 0.23840584404423509, 2.2499999999997193, -2.9999999999996256,
    1.3864993058734554, -3};
static const double BCE_NONE_GRAD_Y[6] = {
    -0.5, 4, -90, 120,
    -6.25, -0};
// clang-format on

static const tg_reduction REDS[3] = {TG_MEAN, TG_SUM, TG_NONE};

/* The loss of op `ce` (else nll) for reduction k and target set ign, with
 * the gradient of sum(loss * (1..numel)) with respect to the input. */
static void class_loss_case(bool ce, int k, bool ign, const double *val, const double *grad) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_empty(t, TG_SHAPE(4, 5));
    if (ce) {
        tg_copy_from(x, LOGITS);
    } else {
        for (int i = 0; i < 20; i++) x->data[i] = (tg_real)LOG_SOFTMAX_LOGITS[i];
    }
    x->requires_grad = true;
    const int64_t *tg = ign ? TARGETS_IGN : TARGETS;
    int64_t ignore = ign ? -100 : TG_NO_IGNORE;
    tg_tensor *y =
        ce ? tg_cross_entropy(t, x, tg, REDS[k], ignore) : tg_nll(t, x, tg, REDS[k], ignore);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->ndim, REDS[k] == TG_NONE ? 1 : 0);
    ck_assert_tensor(y, val, TG_TOL);
    tg_real w[4] = {1, 2, 3, 4};
    ck_assert_int_eq(tg_backward_grad(t, y, w), 0);
    for (int i = 0; i < 20; i++)
        ck_assert_msg(fabs(x->grad[i] - grad[i]) <= TG_TOL,
                      "%s red %d ign %d: grad[%d] = %.10g, expected %.10g", ce ? "ce" : "nll", k,
                      ign, i, (double)x->grad[i], grad[i]);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}

START_TEST(cross_entropy_and_nll_values) {
    const double *ce_val[3][2] = {
        {CE_MEAN, CE_MEAN_IGN}, {CE_SUM, CE_SUM_IGN}, {CE_NONE, CE_NONE_IGN}};
    const double *ce_grad[3][2] = {{CE_MEAN_GRAD, CE_MEAN_IGN_GRAD},
                                   {CE_SUM_GRAD, CE_SUM_IGN_GRAD},
                                   {CE_NONE_GRAD, CE_NONE_IGN_GRAD}};
    const double *nll_val[3][2] = {
        {NLL_MEAN, NLL_MEAN_IGN}, {NLL_SUM, NLL_SUM_IGN}, {NLL_NONE, NLL_NONE_IGN}};
    const double *nll_grad[3][2] = {{NLL_MEAN_GRAD, NLL_MEAN_IGN_GRAD},
                                    {NLL_SUM_GRAD, NLL_SUM_IGN_GRAD},
                                    {NLL_NONE_GRAD, NLL_NONE_IGN_GRAD}};
    for (int k = 0; k < 3; k++)
        for (int ign = 0; ign < 2; ign++) {
            class_loss_case(true, k, ign, ce_val[k][ign], ce_grad[k][ign]);
            class_loss_case(false, k, ign, nll_val[k][ign], nll_grad[k][ign]);
        }
}
END_TEST

/* Any class can be the ignored one; TG_NO_IGNORE ignores nothing. */
START_TEST(ignore_index_is_any_value) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    /* ignoring class 4 drops row 1 (target 4) */
    tg_tensor *none = tg_cross_entropy(t, x, TARGETS, TG_NONE, 4);
    double ne[4] = {CE_NONE[0], 0, CE_NONE[2], CE_NONE[3]};
    ck_assert_tensor(none, ne, TG_TOL);
    tg_tensor *mean = tg_cross_entropy(t, x, TARGETS, TG_MEAN, 4);
    ck_assert_close(mean->data[0], (CE_NONE[0] + CE_NONE[2] + CE_NONE[3]) / 3, TG_TOL);
    tg_tensor *nll = tg_nll(t, x, TARGETS, TG_SUM, 3);
    ck_assert_close(nll->data[0], -(LOGITS[1] + LOGITS[9] + LOGITS[10]), TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* All targets ignored: the mean is 0/0 = NaN as in PyTorch, the sum 0,
 * and the gradient 0 (PyTorch's too), not NaN. */
START_TEST(all_targets_ignored) {
    tg_tape *t = tg_tape_new();
    int64_t none_left[4] = {-100, -100, -100, -100};
    for (int ce = 0; ce < 2; ce++) {
        tg_tape_reset(t);
        tg_tensor *x = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
        x->requires_grad = true;
        tg_tensor *m = ce ? tg_cross_entropy(t, x, none_left, TG_MEAN, -100)
                          : tg_nll(t, x, none_left, TG_MEAN, -100);
        ck_assert(isnan(m->data[0]));
        tg_tensor *s = ce ? tg_cross_entropy(t, x, none_left, TG_SUM, -100)
                          : tg_nll(t, x, none_left, TG_SUM, -100);
        ck_assert_double_eq(s->data[0], 0);
        ck_assert_int_eq(tg_backward(t, m), 0);
        for (int i = 0; i < 20; i++) ck_assert_double_eq(x->grad[i], 0);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Logits of 1e4: exp would overflow; log-sum-exp does not. */
START_TEST(cross_entropy_stable) {
    tg_tape *t = tg_tape_new();
    tg_real xv[9] = {1e4, 0, -1e4, 0, 1e4, 1e4, 1e4, -1e4, 0};
    int64_t tg[3] = {0, 2, 1};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(3, 3), xv);
    x->requires_grad = true;
    tg_tensor *y = tg_cross_entropy(t, x, tg, TG_NONE, TG_NO_IGNORE);
    double ye[3] = {0, log(2.0), 2e4};
    ck_assert_tensor(y, ye, TG_TOL);
    tg_tensor *s = tg_cross_entropy(t, x, tg, TG_SUM, TG_NO_IGNORE);
    ck_assert_close(s->data[0], 2e4 + log(2.0), TG_TOL);
    ck_assert_int_eq(tg_backward(t, s), 0);
    /* softmax - onehot: [1,0,0]-[1,0,0], [0,.5,.5]-[0,0,1], [1,0,0]-[0,1,0] */
    double ge[9] = {0, 0, 0, 0, 0.5, -0.5, 1, -1, 0};
    for (int i = 0; i < 9; i++) ck_assert_close(x->grad[i], ge[i], TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* The op keeps its own copy of the targets: changing (or freeing) the
 * caller's array before backward changes nothing. */
START_TEST(targets_are_copied) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    x->requires_grad = true;
    int64_t tg[4] = {1, 4, 0, 3};
    tg_tensor *ce = tg_cross_entropy(t, x, tg, TG_SUM, TG_NO_IGNORE);
    tg_tensor *nll = tg_nll(t, x, tg, TG_SUM, TG_NO_IGNORE);
    for (int i = 0; i < 4; i++) tg[i] = -7;
    ck_assert_int_eq(tg_backward(t, tg_add(t, ce, nll)), 0);
    for (int i = 0; i < 20; i++)
        ck_assert_close(x->grad[i], CE_SUM_GRAD[i] + NLL_SUM_GRAD[i], TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Strided logits: the same values and gradients as contiguous ones. */
START_TEST(cross_entropy_strided) {
    tg_tape *t = tg_tape_new();
    tg_real tv[20]; /* LOGITS transposed, [5,4] */
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 5; c++) tv[c * 4 + r] = LOGITS[r * 5 + c];
    tg_tensor *v = tg_detach(t, tg_from_array(t, TG_SHAPE(5, 4), tv));
    v->shape[0] = 4, v->shape[1] = 5, v->stride[0] = 1, v->stride[1] = 4;
    v->requires_grad = true;
    tg_tensor *y = tg_cross_entropy(t, v, TARGETS, TG_NONE, TG_NO_IGNORE);
    ck_assert_tensor(y, CE_NONE, TG_TOL);
    tg_real w[4] = {1, 2, 3, 4};
    ck_assert_int_eq(tg_backward_grad(t, y, w), 0);
    for (int i = 0; i < 20; i++) ck_assert_close(v->grad[i], CE_NONE_GRAD[i], TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(mse_values) {
    const double *val[3] = {MSE_MEAN, MSE_SUM, MSE_NONE};
    tg_tape *t = tg_tape_new();
    for (int k = 0; k < 3; k++) {
        tg_tape_reset(t);
        tg_tensor *a = tg_from_array(t, TG_SHAPE(2, 3), MSE_A);
        tg_tensor *b = tg_from_array(t, TG_SHAPE(2, 3), MSE_B);
        a->requires_grad = b->requires_grad = true;
        tg_tensor *y = tg_mse(t, a, b, REDS[k]);
        ck_assert_int_eq(y->ndim, REDS[k] == TG_NONE ? 2 : 0);
        ck_assert_tensor(y, val[k], TG_TOL);
        tg_real w[6] = {1, 2, 3, 4, 5, 6};
        ck_assert_int_eq(tg_backward_grad(t, y, w), 0);
        for (int i = 0; i < 6; i++) { /* d/da = 2 (a - b) w (/6 for mean), d/db = -d/da */
            double d = 2.0 * (MSE_A[i] - MSE_B[i]) * (REDS[k] == TG_NONE ? w[i] : 1) /
                       (REDS[k] == TG_MEAN ? 6 : 1);
            ck_assert_close(a->grad[i], d, TG_TOL);
            ck_assert_close(b->grad[i], -d, TG_TOL);
        }
    }
    /* a strided first operand: a^T [3,2] against b [3,2] */
    tg_tape_reset(t);
    tg_tensor *at = tg_detach(t, tg_from_array(t, TG_SHAPE(2, 3), MSE_A));
    at->shape[0] = 3, at->shape[1] = 2, at->stride[0] = 1, at->stride[1] = 3;
    tg_tensor *y = tg_mse(t, at, tg_from_array(t, TG_SHAPE(3, 2), MSE_B), TG_NONE);
    double e[6];
    for (int i = 0; i < 6; i++) { /* at[r, c] = A[c, r] */
        double d = MSE_A[(i % 2) * 3 + i / 2] - MSE_B[i];
        e[i] = d * d;
    }
    ck_assert_tensor(y, e, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(bce_with_logits_values) {
    const double *val[3] = {BCE_MEAN, BCE_SUM, BCE_NONE};
    const double *gx[3] = {BCE_MEAN_GRAD_X, BCE_SUM_GRAD_X, BCE_NONE_GRAD_X};
    const double *gy[3] = {BCE_MEAN_GRAD_Y, BCE_SUM_GRAD_Y, BCE_NONE_GRAD_Y};
    tg_tape *t = tg_tape_new();
    for (int k = 0; k < 3; k++) {
        tg_tape_reset(t);
        tg_tensor *x = tg_from_array(t, TG_SHAPE(2, 3), BCE_X);
        tg_tensor *y = tg_from_array(t, TG_SHAPE(2, 3), BCE_Y);
        x->requires_grad = y->requires_grad = true;
        tg_tensor *l = tg_bce_with_logits(t, x, y, REDS[k]);
        ck_assert_tensor(l, val[k], TG_TOL);
        tg_real w[6] = {1, 2, 3, 4, 5, 6};
        ck_assert_int_eq(tg_backward_grad(t, l, w), 0);
        for (int i = 0; i < 6; i++) {
            ck_assert_close(x->grad[i], gx[k][i], TG_TOL);
            ck_assert_close(y->grad[i], gy[k][i], TG_TOL);
        }
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* |x| = 1e4: exp(1e4) would overflow, log(sigmoid) would be log(0). */
START_TEST(bce_with_logits_stable) {
    tg_tape *t = tg_tape_new();
    tg_real xv[4] = {1e4, -1e4, 1e4, -1e4}, yv[4] = {1, 0, 0, 1};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(4), xv);
    x->requires_grad = true;
    tg_tensor *l = tg_bce_with_logits(t, x, tg_from_array(t, TG_SHAPE(4), yv), TG_NONE);
    double le[4] = {0, 0, 1e4, 1e4};
    ck_assert_tensor(l, le, TG_TOL);
    tg_real w[4] = {1, 1, 1, 1};
    ck_assert_int_eq(tg_backward_grad(t, l, w), 0);
    double ge[4] = {0, 0, 1, -1}; /* sigmoid(x) - y */
    for (int i = 0; i < 4; i++) ck_assert_close(x->grad[i], ge[i], TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(errors) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x;
    int64_t bad[4] = {1, 4, 7, 0};
    x = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    ck_assert_ptr_null(tg_cross_entropy(t, x, bad, TG_MEAN, -100));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_cross_entropy: target 7 at position 2 is outside [0, 5)");
    tg_tape_reset(t);
    int64_t neg[4] = {-1, 4, 0, 0};
    x = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    ck_assert_ptr_null(tg_cross_entropy(t, x, neg, TG_SUM, -100));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_cross_entropy: target -1 at position 0 is outside [0, 5)");
    tg_tape_reset(t);
    /* with TG_NO_IGNORE, -100 is just a bad target */
    x = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    ck_assert_ptr_null(tg_nll(t, x, TARGETS_IGN, TG_NONE, TG_NO_IGNORE));
    ck_assert_str_eq(tg_tape_error(t), "tg_nll: target -100 at position 1 is outside [0, 5)");
    tg_tape_reset(t);
    x = tg_zeros(t, TG_SHAPE(2, 3, 4));
    ck_assert_ptr_null(tg_cross_entropy(t, x, TARGETS, TG_MEAN, TG_NO_IGNORE));
    ck_assert_str_eq(tg_tape_error(t), "tg_cross_entropy: input [2,3,4] must be 2-d [N,C]");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    ck_assert_ptr_null(tg_nll(t, x, NULL, TG_MEAN, TG_NO_IGNORE));
    ck_assert_str_eq(tg_tape_error(t), "tg_nll: targets is NULL");
    tg_tape_reset(t);
    ck_assert_ptr_null(
        tg_mse(t, tg_zeros(t, TG_SHAPE(2, 3)), tg_zeros(t, TG_SHAPE(3, 2)), TG_MEAN));
    ck_assert_str_eq(tg_tape_error(t), "tg_mse: shapes [2,3] and [3,2] differ");
    tg_tape_reset(t);
    /* no broadcasting either, as in PyTorch's bce_with_logits */
    ck_assert_ptr_null(
        tg_bce_with_logits(t, tg_zeros(t, TG_SHAPE(2, 3)), tg_zeros(t, TG_SHAPE(3)), TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_bce_with_logits: shapes [2,3] and [3] differ");
    tg_tape_reset(t);
    ck_assert_ptr_null(
        tg_mse(t, tg_zeros(t, TG_SHAPE(2)), tg_zeros(t, TG_SHAPE(2)), (tg_reduction)7));
    ck_assert_str_eq(tg_tape_error(t), "tg_mse: reduction 7 is not TG_MEAN, TG_SUM or TG_NONE");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_bce_with_logits(t, tg_zeros(t, TG_SHAPE(2)), NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_bce_with_logits: input 2 is NULL");
    tg_tape_free(t);
}
END_TEST

/* ---- gradchecks (double build) ---- */

typedef struct loss_ctx {
    tg_reduction red;
    const int64_t *targets;
    int64_t ignore;
} loss_ctx;

static tg_tensor *f_ce(tg_tape *t, tg_tensor *const *x, void *c) {
    const loss_ctx *l = c;
    return tg_cross_entropy(t, x[0], l->targets, l->red, l->ignore);
}
static tg_tensor *f_nll(tg_tape *t, tg_tensor *const *x, void *c) {
    const loss_ctx *l = c;
    return tg_nll(t, x[0], l->targets, l->red, l->ignore);
}
/* nll of log_softmax: the composition cross entropy fuses */
static tg_tensor *f_nll_log_softmax(tg_tape *t, tg_tensor *const *x, void *c) {
    const loss_ctx *l = c;
    return tg_nll(t, tg_log_softmax(t, x[0], 1), l->targets, l->red, l->ignore);
}
static tg_tensor *f_mse(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_mse(t, x[0], x[1], ((const loss_ctx *)c)->red);
}
static tg_tensor *f_bce(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_bce_with_logits(t, x[0], x[1], ((const loss_ctx *)c)->red);
}

/* strided inputs: logits [5,4] transposed to [4,5]; mse(a^T, b^T) */
static tg_tensor *f_ce_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    tg_tensor *xt = tg_transpose(t, x[0], 0, 1);
    return f_ce(t, &xt, c);
}
static tg_tensor *f_mse_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    tg_tensor *xt[2] = {tg_transpose(t, x[0], 0, 2), tg_transpose(t, x[1], 0, 2)};
    return f_mse(t, xt, c);
}
static tg_tensor *f_bce_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    tg_tensor *xt[2] = {tg_transpose(t, x[0], 0, 2), tg_transpose(t, x[1], 0, 2)};
    return f_bce(t, xt, c);
}

START_TEST(gradchecks) {
    tg_rng r;
    tg_rng_seed(&r, 9);
    tg_tensor *x = test_param(&r, TG_SHAPE(4, 5));
    for (int i = 0; i < 20; i++) x->data[i] *= 3;
    tg_tensor *a = test_param(&r, TG_SHAPE(2, 3, 2)), *b = test_param(&r, TG_SHAPE(2, 3, 2));
    tg_tensor *xs = test_param(&r, TG_SHAPE(5, 4));
    tg_tensor *y = test_param(&r, TG_SHAPE(2, 3, 2));
    for (int i = 0; i < 12; i++) y->data[i] = (y->data[i] + 1) / 2; /* in [0, 1] */
    for (int i = 0; i < 12; i++) a->data[i] *= 4;                   /* both tails of sigmoid */
    for (int k = 0; k < 3; k++)
        for (int ign = 0; ign < 2; ign++) {
            loss_ctx c = {REDS[k], ign ? TARGETS_IGN : TARGETS, ign ? -100 : TG_NO_IGNORE};
            ck_assert_gradcheck(f_ce, &c, 1, &x);
            ck_assert_gradcheck(f_nll, &c, 1, &x);
            ck_assert_gradcheck(f_nll_log_softmax, &c, 1, &x);
            ck_assert_gradcheck(f_ce_transposed, &c, 1, &xs);
        }
    for (int k = 0; k < 3; k++) {
        loss_ctx c = {REDS[k], NULL, 0};
        tg_tensor *ab[2] = {a, b}, *ay[2] = {a, y};
        ck_assert_gradcheck(f_mse, &c, 2, ab);
        ck_assert_gradcheck(f_bce, &c, 2, ay);
        ck_assert_gradcheck(f_mse_transposed, &c, 2, ab);
        ck_assert_gradcheck(f_bce_transposed, &c, 2, ay);
    }
    tg_tensor_free(x);
    tg_tensor_free(xs);
    tg_tensor_free(a);
    tg_tensor_free(b);
    tg_tensor_free(y);
}
END_TEST

/* cross_entropy equals nll(log_softmax) in value and gradient. */
START_TEST(cross_entropy_is_nll_of_log_softmax) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x1 = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    tg_tensor *x2 = tg_from_array(t, TG_SHAPE(4, 5), LOGITS);
    x1->requires_grad = x2->requires_grad = true;
    tg_tensor *ce = tg_cross_entropy(t, x1, TARGETS_IGN, TG_MEAN, -100);
    tg_tensor *nll = tg_nll(t, tg_log_softmax(t, x2, -1), TARGETS_IGN, TG_MEAN, -100);
    ck_assert_close(ce->data[0], nll->data[0], TG_TOL);
    ck_assert_int_eq(tg_backward(t, tg_add(t, ce, nll)), 0);
    for (int i = 0; i < 20; i++) {
        ck_assert_close(x1->grad[i], CE_MEAN_IGN_GRAD[i], TG_TOL);
        ck_assert_close(x2->grad[i], CE_MEAN_IGN_GRAD[i], TG_TOL);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

TCase *tcase_ops_loss(void) {
    TCase *tc = tcase_create("ops_loss");
    tcase_add_test(tc, cross_entropy_and_nll_values);
    tcase_add_test(tc, ignore_index_is_any_value);
    tcase_add_test(tc, all_targets_ignored);
    tcase_add_test(tc, cross_entropy_stable);
    tcase_add_test(tc, targets_are_copied);
    tcase_add_test(tc, cross_entropy_strided);
    tcase_add_test(tc, mse_values);
    tcase_add_test(tc, bce_with_logits_values);
    tcase_add_test(tc, bce_with_logits_stable);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, gradchecks);
    tcase_add_test(tc, cross_entropy_is_nll_of_log_softmax);
    return tc;
}
