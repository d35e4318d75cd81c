/* softmax and log_softmax: values against PyTorch (gen_ops_reference.py)
 * along every axis of a 3-d tensor, negative axes, strided input (values
 * and gradient), stability at +-1000 and -inf, errors, gradchecks. */
#include "testutil.h"

/* X3 [2,3,4] = X3Q / 4 (gen_ops_reference.py) */
static const int X3Q[24] = {11, 2,  -2, 10,  7,  -1, -7,  1, -5, -8, 12, -6,
                            4,  -9, 6,  -10, -4, 3,  -11, 5, 9,  0,  -3, 8};

/* ---- reference values: torch, double (gen_ops_reference.py) ---- */
// clang-format off
static const double SOFTMAX_AX0[24] = {
    0.85195280196831058, 0.93991334982599239, 0.11920292202211755, 0.99330714907571527,
    0.93991334982599239, 0.2689414213699951, 0.7310585786300049, 0.2689414213699951,
    0.029312230751356316, 0.11920292202211755, 0.97702263008997436, 0.029312230751356316,
    0.14804719803168948, 0.060086650174007619, 0.88079707797788231, 0.0066928509242848563,
    0.060086650174007619, 0.7310585786300049, 0.2689414213699951, 0.7310585786300049,
    0.97068776924864364, 0.88079707797788231, 0.022977369910025611, 0.97068776924864364};
static const double LOG_SOFTMAX_AX0[24] = {
    -0.16022415043808716, -0.061967589003198625, -2.1269280110429727, -0.0067153484891179669,
    -0.061967589003198625, -1.3132616875182228, -0.31326168751822286, -1.3132616875182228,
    -3.5297504182726205, -2.1269280110429727, -0.023245464372425105, -3.5297504182726205,
    -1.9102241504380872, -2.8119675890031988, -0.1269280110429726, -5.0067153484891183,
    -2.8119675890031988, -0.31326168751822286, -1.3132616875182228, -0.31326168751822286,
    -0.029750418272620652, -0.1269280110429726, -3.7732454643724251, -0.029750418272620652};
static const double SOFTMAX_AX1[24] = {
    0.72139918427396865, 0.6433137135229029, 0.029068113976935313, 0.8899054667029086,
    0.26538792877224193, 0.30387988118783432, 0.0083281540900707052, 0.093795346123850543,
    0.013212886953789414, 0.052806405289262712, 0.96260373193299398, 0.016299187173240932,
    0.2161845134842334, 0.032708307280834382, 0.89312551234431703, 0.0074884931832139628,
    0.029257392363758045, 0.65696391358416695, 0.012739751218174141, 0.31841883270035209,
    0.75455809415200858, 0.31032777913499882, 0.094134736437508804, 0.67409267411643392};
static const double LOG_SOFTMAX_AX1[24] = {
    -0.32656264126747048, -0.44112278333102062, -3.5381134451904606, -0.11664003908513967,
    -1.3265626412674705, -1.1911227833310205, -4.7881134451904606, -2.3666400390851399,
    -4.3265626412674703, -2.9411227833310205, -0.03811344519046056, -4.1166400390851399,
    -1.5316230068503249, -3.4201261880575138, -0.11302815664463069, -4.8943876788328371,
    -3.5316230068503249, -0.42012618805751362, -4.3630281566446305, -1.1443876788328373,
    -0.28162300685032504, -1.1701261880575136, -2.3630281566446305, -0.39438767883283732};
static const double SOFTMAX_AX2[24] = {
    0.5200277736215988, 0.054810524090349241, 0.020163664972671556, 0.40499803731538042,
    0.72011720966065895, 0.097457266532984491, 0.021745655489133039, 0.16067986831722325,
    0.013820443204861078, 0.0065283151140332089, 0.96888786969076612, 0.010763371990339684,
    0.36795916639415449, 0.014267325191354126, 0.60666210438313029, 0.011111404031360975,
    0.060915762041200749, 0.35054600725322216, 0.01058557218818839, 0.57795265851738875,
    0.51706653700482852, 0.054498412047197457, 0.025743227028594051, 0.40269182391938002};
static const double LOG_SOFTMAX_AX2[24] = {
    -0.65387305802220363, -2.9038730580222039, -3.9038730580222039, -0.90387305802220363,
    -0.32834128902572512, -2.3283412890257251, -3.8283412890257251, -1.8283412890257251,
    -4.281606391340552, -5.031606391340552, -0.031606391340552417, -4.531606391340552,
    -0.99978330785527025, -4.24978330785527, -0.49978330785527031, -4.49978330785527,
    -2.7982633193434712, -1.0482633193434712, -4.5482633193434712, -0.54826331934347117,
    -0.65958371448609243, -2.9095837144860925, -3.6595837144860925, -0.90958371448609243};
static const double SOFTMAX_T_AX0[24] = {
    0.5200277736215988, 0.36795916639415449, 0.72011720966065895, 0.060915762041200749,
    0.013820443204861078, 0.51706653700482852, 0.054810524090349241, 0.014267325191354128,
    0.097457266532984504, 0.35054600725322216, 0.006528315114033208, 0.054498412047197457,
    0.020163664972671556, 0.60666210438313029, 0.021745655489133039, 0.01058557218818839,
    0.96888786969076612, 0.025743227028594051, 0.40499803731538042, 0.011111404031360975,
    0.16067986831722325, 0.57795265851738875, 0.010763371990339683, 0.40269182391938002};
static const double SOFTMAX_T_AX0_GRAD[24] = {
    -4.0878300565201267, -2.7838151184126603, -2.6917470696405821, -0.76957628044365256,
    -0.16390444483195757, -4.0767397698838268, -0.10199097355580798, -0.022336274818297544,
    0.22045524712677655, -2.3253296793122473, -0.03825308690000237, -0.10269473820308384,
    0.083461607479787342, 2.6902100531740145, 0.17966414753175755, -0.0067054387803584959,
    0.13606574588985604, 0.1059498027019326, 4.1063594225961477, 0.11594134005694347,
    2.2916276749820486, 3.1016113985362557, 0.066091785842101861, 4.0734847053849768};
static const double LOG_SOFTMAX_T_AX0[24] = {
    -0.65387305802220363, -0.99978330785527025, -0.32834128902572512, -2.7982633193434712,
    -4.281606391340552, -0.65958371448609243, -2.9038730580222039, -4.24978330785527,
    -2.3283412890257251, -1.0482633193434712, -5.031606391340552, -2.9095837144860925,
    -3.9038730580222039, -0.49978330785527031, -3.8283412890257251, -4.5482633193434712,
    -0.031606391340552417, -3.6595837144860925, -0.90387305802220363, -4.49978330785527,
    -1.8283412890257251, -0.54826331934347117, -4.531606391340552, -0.90958371448609243};
static const double LOG_SOFTMAX_T_AX0_GRAD[24] = {
    -19.80111094486395, -14.190203321342798, -31.56562606371163, 0.83238037385756103,
    4.2260551805277791, -25.02399222028971, 4.8075790363860307, 7.372237691580418,
    4.3220512064167442, -8.22839237716755, 10.63441435361414, 8.7300952771681537,
    12.193453401093137, -12.693132592857733, 13.956208536521615, 15.449550246214203,
    -37.257720702682903, 16.455406378284358, 2.8000785073847831, 19.511098222620117,
    13.287366320773284, -8.0535382429042155, 22.397251168540979, -0.16150943516280125};
// clang-format on

static tg_tensor *make_x3(tg_tape *t) {
    tg_real v[24];
    for (int i = 0; i < 24; i++) v[i] = (tg_real)X3Q[i] / 4;
    return tg_from_array(t, TG_SHAPE(2, 3, 4), v);
}

START_TEST(values_every_axis) {
    const double *sm[3] = {SOFTMAX_AX0, SOFTMAX_AX1, SOFTMAX_AX2};
    const double *lsm[3] = {LOG_SOFTMAX_AX0, LOG_SOFTMAX_AX1, LOG_SOFTMAX_AX2};
    tg_tape *t = tg_tape_new();
    tg_tensor *x = make_x3(t);
    for (int axis = -3; axis < 3; axis++) {
        int ax = axis < 0 ? axis + 3 : axis;
        tg_tensor *y = tg_softmax(t, x, axis), *ly = tg_log_softmax(t, x, axis);
        ck_assert_ptr_nonnull(y);
        ck_assert(tg_same_shape(y, x) && tg_same_shape(ly, x));
        ck_assert_tensor(y, sm[ax], TG_TOL);
        ck_assert_tensor(ly, lsm[ax], TG_TOL);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* x [2,3,4] seen as [4,3,2] (x.permute(2,1,0)), made by hand so this test
 * depends on no view op: softmax and log_softmax along axis 0 (stride 1 in
 * memory, the other axes strided) and the gradient of sum(y * w), w = 1..24,
 * which lands in the view's own row-major layout. */
START_TEST(strided_input) {
    const double *val[2] = {SOFTMAX_T_AX0, LOG_SOFTMAX_T_AX0};
    const double *grad[2] = {SOFTMAX_T_AX0_GRAD, LOG_SOFTMAX_T_AX0_GRAD};
    tg_tape *t = tg_tape_new();
    for (int log_ = 0; log_ < 2; log_++) {
        tg_tape_reset(t);
        tg_tensor *v = tg_detach(t, make_x3(t));
        v->shape[0] = 4, v->shape[1] = 3, v->shape[2] = 2;
        v->stride[0] = 1, v->stride[1] = 4, v->stride[2] = 12;
        v->requires_grad = true;
        tg_tensor *y = log_ ? tg_log_softmax(t, v, 0) : tg_softmax(t, v, 0);
        ck_assert_tensor(y, val[log_], TG_TOL);
        tg_real w[24];
        for (int i = 0; i < 24; i++) w[i] = (tg_real)(i + 1);
        ck_assert_int_eq(tg_backward_grad(t, y, w), 0);
        for (int i = 0; i < 24; i++) ck_assert_close(v->grad[i], grad[log_][i], TG_TOL);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* exp(1000) overflows even a double: the max is subtracted first. */
START_TEST(stable_for_large_inputs) {
    tg_tape *t = tg_tape_new();
    tg_real xv[6] = {1000, 0, -1000, -1000, 0, 1000};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(2, 3), xv);
    x->requires_grad = true;
    tg_tensor *y = tg_softmax(t, x, 1), *ly = tg_log_softmax(t, x, -1);
    double ye[6] = {1, 0, 0, 0, 0, 1}, lye[6] = {0, -1000, -2000, -2000, -1000, 0};
    ck_assert_tensor(y, ye, TG_TOL);
    ck_assert_tensor(ly, lye, TG_TOL);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, ly))), 0);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(isfinite(x->grad[i]), "grad[%d] = %g", i, (double)x->grad[i]);
    /* along axis 0: each column is a pair (1000, -1000), (0, 0), (-1000, 1000) */
    double y0[6] = {1, 0.5, 0, 0, 0.5, 1};
    ck_assert_tensor(tg_softmax(t, x, 0), y0, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* -inf (a mask) gets probability 0 and sends back no NaN; a line of only
 * -inf is NaN, as in PyTorch. */
START_TEST(minus_infinity) {
    tg_tape *t = tg_tape_new();
    tg_real xv[3] = {0, -INFINITY, 0};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(3), xv);
    x->requires_grad = true;
    tg_tensor *y = tg_softmax(t, x, 0), *ly = tg_log_softmax(t, x, 0);
    double ye[3] = {0.5, 0, 0.5};
    ck_assert_tensor(y, ye, TG_TOL);
    ck_assert_close(tg_at(ly, 0), -log(2.0), TG_TOL);
    ck_assert(isinf(tg_at(ly, 1)) && tg_at(ly, 1) < 0);
    tg_real w[3] = {1, 2, 3};
    ck_assert_int_eq(tg_backward_grad(t, y, w), 0);
    /* dx = y * (w - sum(w y)) = [0.5 * (1 - 2), 0, 0.5 * (3 - 2)] */
    double ge[3] = {-0.5, 0, 0.5};
    for (int i = 0; i < 3; i++) ck_assert_close(x->grad[i], ge[i], TG_TOL);
    tg_real all[2] = {-INFINITY, -INFINITY};
    ck_assert(isnan(tg_at(tg_softmax(t, tg_from_array(t, TG_SHAPE(2), all), 0), 0)));
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(errors) {
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_null(tg_softmax(t, make_x3(t), 3));
    ck_assert_str_eq(tg_tape_error(t), "tg_softmax: axis 3 is out of range for [2,3,4]");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_log_softmax(t, make_x3(t), -4));
    ck_assert_str_eq(tg_tape_error(t), "tg_log_softmax: axis -4 is out of range for [2,3,4]");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_softmax(t, NULL, 0));
    ck_assert_str_eq(tg_tape_error(t), "tg_softmax: input 1 is NULL");
    tg_tape_free(t);
}
END_TEST

/* ---- gradchecks (double build) ---- */

static tg_tensor *f_softmax(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_softmax(t, x[0], *(const int *)c);
}
static tg_tensor *f_log_softmax(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_log_softmax(t, x[0], *(const int *)c);
}

/* along every axis of a strided view (x [4,3,2] transposed to [2,3,4]) */
static tg_tensor *f_softmax_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_softmax(t, tg_transpose(t, x[0], 0, 2), *(const int *)c);
}
static tg_tensor *f_log_softmax_transposed(tg_tape *t, tg_tensor *const *x, void *c) {
    return tg_log_softmax(t, tg_transpose(t, x[0], 0, 2), *(const int *)c);
}

START_TEST(gradchecks) {
    tg_rng r;
    tg_rng_seed(&r, 5);
    tg_tensor *x = test_param(&r, TG_SHAPE(2, 3, 4));
    for (int i = 0; i < x->numel; i++) x->data[i] *= 3; /* spread out: some near 0, 1 */
    for (int axis = -3; axis < 3; axis++) {
        ck_assert_gradcheck(f_softmax, &axis, 1, &x);
        ck_assert_gradcheck(f_log_softmax, &axis, 1, &x);
    }
    tg_tensor *x4 = test_param(&r, TG_SHAPE(2, 2, 3, 2));
    for (int axis = 0; axis < 4; axis++) {
        ck_assert_gradcheck(f_softmax, &axis, 1, &x4);
        ck_assert_gradcheck(f_log_softmax, &axis, 1, &x4);
    }
    tg_tensor *xs = test_param(&r, TG_SHAPE(4, 3, 2));
    for (int axis = -1; axis < 3; axis++) {
        ck_assert_gradcheck(f_softmax_transposed, &axis, 1, &xs);
        ck_assert_gradcheck(f_log_softmax_transposed, &axis, 1, &xs);
    }
    tg_tensor_free(x);
    tg_tensor_free(x4);
    tg_tensor_free(xs);
}
END_TEST

TCase *tcase_ops_softmax(void) {
    TCase *tc = tcase_create("ops_softmax");
    tcase_add_test(tc, values_every_axis);
    tcase_add_test(tc, strided_input);
    tcase_add_test(tc, stable_for_large_inputs);
    tcase_add_test(tc, minus_infinity);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, gradchecks);
    return tc;
}
