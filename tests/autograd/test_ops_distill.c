/* tg_soft_target_kl: value and both gradients against PyTorch
 * (gen_distill_reference.py) at three temperatures, a strided input, the
 * teacher without gradient, equal distributions giving 0, errors and
 * gradchecks. */
#include <string.h>

#include "testutil.h"

/* ---- inputs (the same as in gen_distill_reference.py) ---- */
static const tg_real STUDENT[15] = {0.5, -1.25, 2.0, 0.0,  1.5,  -0.75, 0.25, -2.0,
                                    1.0, 0.5,   3.0, -0.5, 0.75, -1.5,  0.125};
static const tg_real TEACHER[15] = {1.0, -0.5, 6.0,   0.25, -1.0,  0.0,  0.5,  -1.5,
                                    0.5, 2.0,  -0.25, 1.75, 0.375, -2.0, 0.625};
static const double TEMPERATURES[3] = {1.0, 2.0, 4.5};

/* ---- reference values: torch, double (gen_distill_reference.py); gradients
 * are of loss * 1.5 ---- */
// clang-format off
static const double KL_T0[1] = {0.97325491953053145};
static const double KL_T0_GRAD_S[15] = {
    0.052349659030422165, 0.0089327531416975754, -0.24437753945966803, 0.032198160657634457,
    0.15089696662991378, -0.0042462250126961264, 0.0333607498478714, 0.00144408318351618,
    0.14794121035238805, -0.17849981837107948, 0.37661423098212571, -0.27541159466209109,
    -0.029005597346818891, -0.0021554597679461253, -0.070041579205269711};
static const double KL_T0_GRAD_T[15] = {
    -0.01149541125369602, -0.0023793331170041893, 0.022604681466604475, -0.0058230473242723525,
    -0.0029068897716318354, -0.0091679389193027039, -0.049724373765224976, -0.0043875529432874779,
    -0.10163787055596155, 0.16491773618377692, -0.16853614124533373, 0.33846354575586851,
    -0.10554399035085155, -0.010663645113756316, -0.05371976904592661};
static const double KL_T1[1] = {1.4260214169921632};
static const double KL_T1_GRAD_S[15] = {
    0.099765448971291942, 0.0378151823131678, -0.47305717786844809, 0.083918437818926259,
    0.25155810876506207, -0.013749163871979957, 0.031290934991459712, 0.001946369263406528,
    0.13196783176253576, -0.15145597214542209, 0.40125321674661679, -0.29115418059593057,
    -0.017542853648070456, -0.001882253579708601, -0.09067392892290696};
static const double KL_T1_GRAD_T[15] = {
    -0.095850838820530596, -0.041262746507439718, 0.28160582895941183, -0.071717565857052426,
    -0.072774677774389063, 0.0035729491936695814, -0.042907528716888577, -0.0070485279963420694,
    -0.11415045815802995, 0.16053356567759122, -0.25983343447875457, 0.35390007140417079,
    -0.0764830706419065, -0.027021178280106296, 0.0094376119965965191};
static const double KL_T2[1] = {1.5584858220604618};
static const double KL_T2_GRAD_S[15] = {
    0.070807527119043118, 0.034036163250351602, -0.49310785377513305, 0.080792612903127864,
    0.3074715505026106, -0.020452555758086178, 0.02807456189677876, 0.0012195454244505589,
    0.11590976236824838, -0.12475131393139205, 0.357985806488958, -0.27749169300736548,
    -0.00078416618668423327, 0.0071938058025501827, -0.086903753097458514};
static const double KL_T2_GRAD_T[15] = {
    -0.11134072680541982, -0.065429952028052352, 0.5134419577769751, -0.11119942581201316,
    -0.22547185313148971, 0.015886901275200208, -0.032939241506800783, -0.0048682667361214732,
    -0.10897897644438533, 0.13089958341210706, -0.29166443573214568, 0.31085413527330569,
    -0.040234223008204797, -0.031298148903004003, 0.052342672370048964};
// clang-format on

static tg_tensor *leaf(tg_tape *t, const tg_real *v) {
    tg_tensor *x = tg_from_array(t, TG_SHAPE(3, 5), v);
    x->requires_grad = true;
    return x;
}

static void grad_is(const tg_tensor *x, const double *expect, const char *what, int k) {
    for (int i = 0; i < 15; i++)
        ck_assert_msg(fabs(x->grad[i] - expect[i]) <= TG_TOL,
                      "T%d %s grad[%d] = %.12g, expected %.12g", k, what, i, (double)x->grad[i],
                      expect[i]);
}

START_TEST(against_torch) {
    const double *val[3] = {KL_T0, KL_T1, KL_T2};
    const double *gs[3] = {KL_T0_GRAD_S, KL_T1_GRAD_S, KL_T2_GRAD_S};
    const double *gt[3] = {KL_T0_GRAD_T, KL_T1_GRAD_T, KL_T2_GRAD_T};
    for (int k = 0; k < 3; k++) {
        tg_tape *t = tg_tape_new();
        tg_tensor *s = leaf(t, STUDENT), *te = leaf(t, TEACHER);
        tg_tensor *loss = tg_soft_target_kl(t, s, te, TEMPERATURES[k]);
        ck_assert_ptr_nonnull(loss);
        ck_assert_int_eq(loss->ndim, 0);
        ck_assert_close(loss->data[0], val[k][0], TG_TOL);
        ck_assert_int_eq(tg_backward(t, tg_scale(t, loss, 1.5)), 0);
        grad_is(s, gs[k], "student", k);
        grad_is(te, gt[k], "teacher", k);
        tg_tape_free(t);
    }
}
END_TEST

/* The same numbers from a transposed (strided) student, and with the
 * teacher recorded in no-grad mode, as distillation runs it: only the
 * student gets a gradient. */
START_TEST(strided_and_no_grad_teacher) {
    tg_tape *t = tg_tape_new();
    tg_real st[15];
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 5; j++) st[j * 3 + r] = STUDENT[r * 5 + j];
    tg_tensor *s5 = tg_from_array(t, TG_SHAPE(5, 3), st);
    s5->requires_grad = true;
    bool was = tg_set_grad_enabled(t, false);
    tg_tensor *te = tg_scale(t, tg_from_array(t, TG_SHAPE(3, 5), TEACHER), 1.0);
    tg_set_grad_enabled(t, was);
    ck_assert(!te->requires_grad);
    tg_tensor *loss = tg_soft_target_kl(t, tg_transpose(t, s5, 0, 1), te, 2.0);
    ck_assert_close(loss->data[0], KL_T1[0], TG_TOL);
    ck_assert_int_eq(tg_backward(t, tg_scale(t, loss, 1.5)), 0);
    for (int r = 0; r < 3; r++)
        for (int j = 0; j < 5; j++)
            ck_assert_close(s5->grad[j * 3 + r], KL_T1_GRAD_S[r * 5 + j], TG_TOL);
    tg_tape_free(t);
}
END_TEST

/* KL(p || p) = 0, whatever the shift of the logits; large logits stay finite. */
START_TEST(equal_and_large) {
    tg_tape *t = tg_tape_new();
    tg_real shifted[15], big[15];
    for (int i = 0; i < 15; i++) shifted[i] = STUDENT[i] + 7, big[i] = 1e4 * STUDENT[i];
    tg_tensor *l = tg_soft_target_kl(t, tg_from_array(t, TG_SHAPE(3, 5), STUDENT),
                                     tg_from_array(t, TG_SHAPE(3, 5), shifted), 3.0);
    ck_assert_close(l->data[0], 0, TG_TOL);
    l = tg_soft_target_kl(t, tg_from_array(t, TG_SHAPE(3, 5), big),
                          tg_from_array(t, TG_SHAPE(3, 5), TEACHER), 1.0);
    ck_assert(isfinite(l->data[0]) && l->data[0] > 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(errors) {
    tg_tape *t = tg_tape_new();
    tg_tensor *a = tg_zeros(t, TG_SHAPE(3, 5)), *b = tg_zeros(t, TG_SHAPE(3, 4));
    ck_assert_ptr_null(tg_soft_target_kl(t, a, b, 2.0));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_soft_target_kl: student [3,5] and teacher [3,4] must be the same [N,C]");
    tg_tape_free(t);
    t = tg_tape_new();
    a = tg_zeros(t, TG_SHAPE(15));
    ck_assert_ptr_null(tg_soft_target_kl(t, a, a, 2.0));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_soft_target_kl: student [15] and teacher [15] must be the same [N,C]");
    tg_tape_free(t);
    const double bad[3] = {0.0, -1.0, NAN};
    for (int k = 0; k < 3; k++) {
        t = tg_tape_new();
        a = tg_zeros(t, TG_SHAPE(2, 2));
        ck_assert_ptr_null(tg_soft_target_kl(t, a, a, bad[k]));
        ck_assert_ptr_nonnull(strstr(tg_tape_error(t), "is not a positive number"));
        tg_tape_free(t);
    }
    t = tg_tape_new();
    ck_assert_ptr_null(tg_soft_target_kl(t, tg_zeros(t, TG_SHAPE(2, 2)), NULL, 1.0));
    ck_assert_str_eq(tg_tape_error(t), "tg_soft_target_kl: input 2 is NULL");
    tg_tape_free(t);
}
END_TEST

static tg_tensor *f_kl(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_soft_target_kl(t, x[0], x[1], *(const double *)c);
}
static tg_tensor *f_kl_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    tg_tensor *xt[2] = {tg_transpose(t, x[0], 0, 1), tg_transpose(t, x[1], 0, 1)};
    return f_kl(t, xt, c);
}

START_TEST(gradchecks) {
    tg_rng r;
    tg_rng_seed(&r, 4);
    tg_tensor *s = test_param(&r, TG_SHAPE(4, 6)), *te = test_param(&r, TG_SHAPE(4, 6));
    tg_tensor *st = test_param(&r, TG_SHAPE(6, 4)), *tt = test_param(&r, TG_SHAPE(6, 4));
    for (int i = 0; i < 24; i++) s->data[i] *= 3, te->data[i] *= 4;
    for (int k = 0; k < 3; k++) {
        tg_tensor *in[2] = {s, te}, *int_[2] = {st, tt};
        ck_assert_gradcheck(f_kl, (void *)&TEMPERATURES[k], 2, in);
        ck_assert_gradcheck(f_kl_transposed, (void *)&TEMPERATURES[k], 2, int_);
    }
    tg_tensor_free(s), tg_tensor_free(te), tg_tensor_free(st), tg_tensor_free(tt);
}
END_TEST

TCase *tcase_ops_distill(void) {
    TCase *tc = tcase_create("ops_distill");
    tcase_add_test(tc, against_torch);
    tcase_add_test(tc, strided_and_no_grad_teacher);
    tcase_add_test(tc, equal_and_large);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, gradchecks);
    return tc;
}
