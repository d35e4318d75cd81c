/* index_select and gather: values against PyTorch (w = torch.arange(12.)
 * .reshape(3, 4) and the same call), scatter-add backward with repeated
 * indices, bounds errors, and gradchecks. */
#include "testutil.h"

static tg_tensor *iota(tg_tape *t, tg_shape s) {
    tg_real v[64];
    for (int i = 0; i < 64; i++) v[i] = (tg_real)i;
    return tg_from_array(t, s, v);
}

START_TEST(index_select_values) {
    tg_tape *t = tg_tape_new();
    tg_tensor *w = iota(t, TG_SHAPE(3, 4));
    /* rows: an embedding lookup, a row repeated */
    int64_t ids[4] = {2, 0, 2, 1};
    tg_tensor *e = tg_index_select(t, w, 0, ids, 4);
    tg_real ee[16] = {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7};
    ck_assert_int_eq(e->shape[0], 4);
    ck_assert_int_eq(e->shape[1], 4);
    ck_assert_tensor(e, ee, TG_TOL);
    /* w.index_select(1, [3, 0, 3]) */
    int64_t cols[3] = {3, 0, 3};
    tg_real ce[9] = {3, 0, 3, 7, 4, 7, 11, 8, 11};
    ck_assert_tensor(tg_index_select(t, w, 1, cols, 3), ce, TG_TOL);
    /* w.t().index_select(-1, [2, 0]): a strided input, a negative axis */
    int64_t two[2] = {2, 0};
    tg_real te[8] = {8, 0, 9, 1, 10, 2, 11, 3};
    ck_assert_tensor(tg_index_select(t, tg_transpose(t, w, 0, 1), -1, two, 2), te, TG_TOL);
    /* no indices: an empty result */
    tg_tensor *none = tg_index_select(t, w, 0, NULL, 0);
    ck_assert_int_eq(none->numel, 0);
    ck_assert_int_eq(none->shape[1], 4);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

START_TEST(gather_values) {
    tg_tape *t = tg_tape_new();
    tg_tensor *w = iota(t, TG_SHAPE(3, 4));
    /* w.gather(0, [[2,0,1,2],[0,0,2,1]]) */
    int64_t i0[8] = {2, 0, 1, 2, 0, 0, 2, 1};
    tg_tensor *g0 = tg_gather(t, w, 0, i0, 2);
    tg_real g0e[8] = {8, 1, 6, 11, 0, 1, 10, 7};
    ck_assert_int_eq(g0->shape[0], 2);
    ck_assert_int_eq(g0->shape[1], 4);
    ck_assert_tensor(g0, g0e, TG_TOL);
    /* w.gather(1, [[3,3],[0,1],[2,0]]), also as axis -1 of a strided copy */
    int64_t i1[6] = {3, 3, 0, 1, 2, 0};
    tg_real g1e[6] = {3, 3, 4, 5, 10, 8};
    ck_assert_tensor(tg_gather(t, w, 1, i1, 2), g1e, TG_TOL);
    tg_tensor *wt = tg_transpose(t, tg_transpose(t, w, 0, 1), 0, 1); /* strided twice */
    ck_assert_tensor(tg_gather(t, wt, -1, i1, 2), g1e, TG_TOL);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* An embedding row used twice gets both gradients; the caller's index
 * array may change after the call (the op keeps its own copy). */
START_TEST(repeated_indices_accumulate) {
    tg_tape *t = tg_tape_new();
    tg_tensor *w = tg_param_new(TG_SHAPE(3, 2));
    int64_t ids[3] = {1, 2, 1};
    tg_tensor *e = tg_index_select(t, w, 0, ids, 3);
    ids[0] = ids[1] = ids[2] = 0;
    tg_real g[6] = {1, 2, 3, 4, 5, 6};
    ck_assert_int_eq(tg_backward_grad(t, e, g), 0);
    tg_real wg[6] = {0, 0, 1 + 5, 2 + 6, 3, 4};
    for (int i = 0; i < 6; i++) ck_assert_close(w->grad[i], wg[i], TG_TOL);
    /* gather: out[0] and out[1] both read w[2][0] */
    tg_tape_reset(t);
    tg_zero_grad(w);
    int64_t gi[2] = {2, 2};
    tg_tensor *y = tg_gather(t, tg_narrow(t, w, 1, 0, 1), 0, gi, 2); /* [2,1] */
    tg_real gy[2] = {0.5, 0.25};
    ck_assert_int_eq(tg_backward_grad(t, y, gy), 0);
    tg_real wg2[6] = {0, 0, 0, 0, 0.75, 0};
    for (int i = 0; i < 6; i++) ck_assert_close(w->grad[i], wg2[i], TG_TOL);
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

#define EXPECT_ERROR(call, msg)                                                                    \
    do {                                                                                           \
        tg_tape *t = tg_tape_new();                                                                \
        tg_tensor *x = tg_zeros(t, TG_SHAPE(5, 2));                                                \
        (void)x;                                                                                   \
        ck_assert_ptr_null(call);                                                                  \
        ck_assert_str_eq(tg_tape_error(t), msg);                                                   \
        tg_tape_free(t);                                                                           \
    } while (0)

START_TEST(index_errors) {
    int64_t idx[4] = {0, 4, 1, 7}, neg[2] = {1, -1};
    int64_t ok[6] = {0, 1, 1, 0, 1, 0}, bad1[5] = {0, 1, 2, 0, 1};
    EXPECT_ERROR(tg_index_select(t, x, 0, idx, 4),
                 "tg_index_select: index 7 at position 3 is outside [0, 5)");
    EXPECT_ERROR(tg_index_select(t, x, -1, idx, 2),
                 "tg_index_select: index 4 at position 1 is outside [0, 2)");
    EXPECT_ERROR(tg_index_select(t, x, 0, neg, 2),
                 "tg_index_select: index -1 at position 1 is outside [0, 5)");
    EXPECT_ERROR(tg_index_select(t, x, 2, idx, 1),
                 "tg_index_select: axis 2 is out of range for [5,2]");
    EXPECT_ERROR(tg_index_select(t, x, 0, NULL, 3),
                 "tg_index_select: need a non-negative count and an index array, got 3 and "
                 "NULL");
    EXPECT_ERROR(tg_index_select(t, x, 0, idx, -2),
                 "tg_index_select: need a non-negative count and an index array, got -2");
    EXPECT_ERROR(tg_index_select(t, NULL, 0, idx, 1), "tg_index_select: input 1 is NULL");
    /* gather reads k * 2 indices for axis 0 ([k,2] out), k * 5 for axis 1 */
    EXPECT_ERROR(tg_gather(t, x, 0, idx, 2), "tg_gather: index 7 at position 3 is outside [0, 5)");
    EXPECT_ERROR(tg_gather(t, x, 1, bad1, 1), "tg_gather: index 2 at position 2 is outside [0, 2)");
    EXPECT_ERROR(tg_gather(t, x, -3, ok, 1), "tg_gather: axis -3 is out of range for [5,2]");
    EXPECT_ERROR(tg_gather(t, x, 0, ok, -1),
                 "tg_gather: need a non-negative count and an index array, got -1");
}
END_TEST

/* ---- gradchecks: x [4,3] ------------------------------------------------- */

static tg_tensor *f_index(tg_tape *t, tg_tensor *const *in, void *ctx) {
    tg_tensor *x = in[0];
    int64_t rows[5] = {3, 0, 3, 3, 1}, cols[4] = {2, 2, 0, 1};
    int64_t g0[6] = {3, 0, 3, 1, 1, 1};       /* [2,3] from axis 0 */
    int64_t g1[8] = {2, 2, 0, 0, 1, 2, 1, 1}; /* [4,2] from axis -1 */
    switch ((int)(intptr_t)ctx) {
    case 0: return tg_index_select(t, x, 0, rows, 5);
    case 1: return tg_index_select(t, x, -1, cols, 4);
    case 2: return tg_index_select(t, tg_transpose(t, x, 0, 1), 1, rows, 5); /* strided */
    case 3: return tg_gather(t, x, 0, g0, 2);
    case 4: return tg_gather(t, x, -1, g1, 2);
    default: /* gather over a narrowed, transposed view: [3,4] -> [3,2] -> gather axis 1 */
        return tg_gather(t, tg_narrow(t, tg_transpose(t, x, 0, 1), 1, 1, 2), 1, g1 + 2, 1);
    }
}

START_TEST(gradcheck_index) {
    tg_rng r;
    tg_rng_seed(&r, 31);
    tg_tensor *in[1] = {test_param(&r, TG_SHAPE(4, 3))};
    for (intptr_t c = 0; c < 6; c++) {
        tg_tape *t = tg_tape_new();
        ck_assert_msg(f_index(t, in, (void *)c) != NULL, "case %d: %s", (int)c, tg_tape_error(t));
        tg_tape_free(t);
        ck_assert_gradcheck(f_index, (void *)c, 1, in);
    }
    tg_tensor_free(in[0]);
}
END_TEST

TCase *tcase_ops_index(void) {
    TCase *tc = tcase_create("ops_index");
    tcase_add_test(tc, index_select_values);
    tcase_add_test(tc, gather_values);
    tcase_add_test(tc, repeated_indices_accumulate);
    tcase_add_test(tc, index_errors);
    tcase_add_test(tc, gradcheck_index);
    return tc;
}
