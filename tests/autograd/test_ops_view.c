/* Views (reshape, transpose, permute, narrow, expand, split, chunk) and
 * contiguous copies: values, shared storage, views of views, error
 * messages, and gradchecks through the one VIEW backward. Reference values
 * come from PyTorch (torch.arange(n).reshape(...) and the same op). */
#include "testutil.h"

/* 0, 1, 2, ... in shape s, on the tape. */
static tg_tensor *iota(tg_tape *t, tg_shape s) {
    tg_real v[256];
    for (int i = 0; i < 256; i++) v[i] = (tg_real)i;
    return tg_from_array(t, s, v);
}

START_TEST(view_values_share_storage) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = iota(t, TG_SHAPE(2, 3));
    tg_tensor *xt = tg_transpose(t, x, 0, -1);
    tg_real xte[6] = {0, 3, 1, 4, 2, 5};
    ck_assert_int_eq(xt->ndim, 2);
    ck_assert_int_eq(xt->shape[0], 3);
    ck_assert_tensor(xt, xte, TG_TOL);
    ck_assert_ptr_eq(xt->data, x->data);
    ck_assert(!tg_is_contiguous(xt));
    /* writing through the view changes x */
    int64_t at[2] = {2, 1};
    xt->data[at[0] * xt->stride[0] + at[1] * xt->stride[1]] = 50;
    ck_assert_close(x->data[5], 50, TG_TOL);
    x->data[5] = 5;

    /* reshape of a contiguous tensor is a view, -1 inferred */
    tg_tensor *r = tg_reshape(t, x, TG_SHAPE(3, -1));
    ck_assert_ptr_eq(r->data, x->data);
    ck_assert_int_eq(r->shape[1], 2);
    tg_real re[6] = {0, 1, 2, 3, 4, 5};
    ck_assert_tensor(r, re, TG_TOL);
    tg_tensor *flat = tg_reshape(t, x, TG_SHAPE(-1));
    ck_assert_int_eq(flat->ndim, 1);
    ck_assert_int_eq(flat->shape[0], 6);
    tg_tensor *s0 = tg_reshape(t, tg_narrow(t, flat, 0, 4, 1), TG_SCALAR);
    ck_assert_int_eq(s0->ndim, 0);
    ck_assert_close(s0->data[0], 4, TG_TOL);
    /* ... of a transposed one copies */
    tg_tensor *rc = tg_reshape(t, xt, TG_SHAPE(6));
    ck_assert_ptr_ne(rc->data, x->data);
    ck_assert_tensor(rc, xte, TG_TOL);
    /* contiguous: x itself, or a copy */
    ck_assert_ptr_eq(tg_contiguous(t, x), x);
    tg_tensor *c = tg_contiguous(t, xt);
    ck_assert_ptr_ne(c, xt);
    ck_assert(tg_is_contiguous(c));
    ck_assert_tensor(c, xte, TG_TOL);

    /* permute [2,3,4] by (2,0,1), and the same with negative entries */
    tg_tensor *y = iota(t, TG_SHAPE(2, 3, 4));
    tg_real pe[24] = {0, 4, 8,  12, 16, 20, 1, 5, 9,  13, 17, 21,
                      2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23};
    int perm[3] = {2, 0, 1}, nperm[3] = {-1, 0, -2};
    tg_tensor *p = tg_permute(t, y, perm);
    ck_assert_int_eq(p->shape[0], 4);
    ck_assert_int_eq(p->shape[1], 2);
    ck_assert_int_eq(p->shape[2], 3);
    ck_assert_ptr_eq(p->data, y->data);
    ck_assert_tensor(p, pe, TG_TOL);
    ck_assert_tensor(tg_permute(t, y, nperm), pe, TG_TOL);
    /* narrow of the permuted view: x.permute(2,0,1).narrow(1,1,1) */
    tg_tensor *pn = tg_narrow(t, p, 1, 1, 1);
    tg_real pne[12] = {12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23};
    ck_assert_tensor(pn, pne, TG_TOL);
    ck_assert_ptr_eq(pn->data, y->data + 12);
    /* negative start counts from the end, as torch.narrow */
    tg_real ne[4] = {8, 9, 10, 11};
    ck_assert_tensor(tg_narrow(t, tg_reshape(t, y, TG_SHAPE(6, 4)), -2, -4, 1), ne, TG_TOL);

    /* expand [3,1] -> [2,3,4] (a new leading dim and a broadcast one) */
    tg_tensor *col = iota(t, TG_SHAPE(3, 1));
    tg_tensor *e = tg_expand(t, col, TG_SHAPE(2, -1, 4));
    ck_assert_int_eq(e->ndim, 3);
    ck_assert_int_eq(e->stride[0], 0);
    ck_assert_int_eq(e->stride[2], 0);
    ck_assert_ptr_eq(e->data, col->data);
    for (int64_t i = 0; i < 24; i++) ck_assert_close(tg_at(e, i), (i / 4) % 3, TG_TOL);
    ck_assert(!tg_is_contiguous(e));
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Views of views: transpose, narrow, then a reshape that has to copy. */
START_TEST(views_of_views) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = iota(t, TG_SHAPE(3, 4));
    x->requires_grad = true;
    tg_tensor *v = tg_transpose(t, x, 0, 1);         /* [4,3] view */
    tg_tensor *n = tg_narrow(t, v, 0, 1, 2);         /* [2,3] view */
    tg_tensor *r = tg_reshape(t, n, TG_SHAPE(3, 2)); /* copy, then a view */
    tg_real re[6] = {1, 5, 9, 2, 6, 10};
    ck_assert_tensor(r, re, TG_TOL);
    ck_assert_ptr_eq(n->data, x->data + 1);
    ck_assert_ptr_ne(r->data, x->data + 1);
    ck_assert_int_eq((int)tg_tape_node_count(t), 4); /* view, view, copy, view */
    /* the gradient lands at x's entries (r, c) = (0..2, 1..2) */
    tg_real g[6] = {1, 2, 3, 4, 5, 6};
    ck_assert_int_eq(tg_backward_grad(t, r, g), 0);
    tg_real xg[12] = {0, 1, 4, 0, 0, 2, 5, 0, 0, 3, 6, 0};
    for (int i = 0; i < 12; i++) ck_assert_close(x->grad[i], xg[i], TG_TOL);
    tg_tape_free(t);
}
END_TEST

/* Backward keeps the gradient of a contiguous view (a row slice, a
 * reshape) inside its input's: the view's consumers add straight into it.
 * x is read directly, through two overlapping row slices and through a
 * reshape of one of them; every use's gradient must arrive once. */
START_TEST(contiguous_views_share_gradient) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = iota(t, TG_SHAPE(4, 3));
    x->requires_grad = true;
    tg_tensor *rows01 = tg_narrow(t, x, 0, 0, 2), *rows12 = tg_narrow(t, x, 0, 1, 2);
    tg_tensor *flat = tg_reshape(t, rows12, TG_SHAPE(6));
    tg_tensor *y =
        tg_add(t, tg_sum(t, tg_scale(t, x, 2)),
               tg_add(t, tg_sum(t, tg_scale(t, rows01, 10)), tg_sum(t, tg_scale(t, flat, 100))));
    ck_assert_int_eq(tg_backward(t, y), 0);
    tg_real want[12] = {12, 12, 12, 112, 112, 112, 102, 102, 102, 2, 2, 2};
    for (int i = 0; i < 12; i++) ck_assert_close(x->grad[i], want[i], TG_TOL);
    /* the slice's and the reshape's gradients are runs of x's */
    ck_assert_ptr_eq(rows12->grad, x->grad + 3);
    ck_assert_ptr_eq(flat->grad, x->grad + 3);
    /* a transpose's gradient is not a run: it has a buffer of its own */
    tg_tape_reset(t);
    x = iota(t, TG_SHAPE(2, 3));
    x->requires_grad = true;
    tg_tensor *xt = tg_transpose(t, x, 0, 1);
    tg_real g[6] = {1, 2, 3, 4, 5, 6}, xg[6] = {1, 3, 5, 2, 4, 6};
    ck_assert_int_eq(tg_backward_grad(t, tg_scale(t, xt, 1), g), 0);
    ck_assert(xt->grad < x->grad || xt->grad >= x->grad + 6);
    for (int i = 0; i < 6; i++) ck_assert_close(x->grad[i], xg[i], TG_TOL);
    tg_tape_free(t);
}
END_TEST

/* expand feeds matmul (which copies stride-0 operands for BLIS), and its
 * gradient sums over the broadcast dimension. */
START_TEST(expand_then_matmul) {
    tg_tape *t = tg_tape_new();
    tg_real av[3] = {1, 2, 3}, bv[4] = {1, 2, 3, 4};
    tg_tensor *a = tg_from_array(t, TG_SHAPE(3, 1), av);
    tg_tensor *b = tg_from_array(t, TG_SHAPE(2, 2), bv);
    a->requires_grad = true;
    tg_tensor *c = tg_matmul(t, tg_expand(t, a, TG_SHAPE(3, 2)), b);
    tg_real ce[6] = {4, 6, 8, 12, 12, 18};
    ck_assert_tensor(c, ce, TG_TOL);
    tg_real ones[6] = {1, 1, 1, 1, 1, 1};
    ck_assert_int_eq(tg_backward_grad(t, c, ones), 0);
    /* d/da_i = sum_j (b row sums) = (1+2) + (3+4) = 10 for every i */
    for (int i = 0; i < 3; i++) ck_assert_close(a->grad[i], 10, TG_TOL);
    tg_tape_free(t);
}
END_TEST

START_TEST(split_and_chunk) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = iota(t, TG_SHAPE(2, 5));
    tg_tensor *p[5] = {NULL};
    int64_t sizes[3] = {1, 0, 4};
    ck_assert_int_eq(tg_split(t, x, -1, 3, sizes, p), 0);
    tg_real p0[2] = {0, 5}, p2[8] = {1, 2, 3, 4, 6, 7, 8, 9};
    ck_assert_tensor(p[0], p0, TG_TOL);
    ck_assert_int_eq(p[1]->shape[1], 0);
    ck_assert_int_eq(p[1]->numel, 0);
    ck_assert_tensor(p[2], p2, TG_TOL);
    ck_assert_ptr_eq(p[2]->data, x->data + 1);
    /* torch.chunk: 5 in 3 -> 2, 2, 1; 6 in 4 -> three pieces of 2 */
    ck_assert_int_eq(tg_chunk(t, x, 3, 1, p), 3);
    tg_real c0[4] = {0, 1, 5, 6}, c1[4] = {2, 3, 7, 8}, c2[2] = {4, 9};
    ck_assert_tensor(p[0], c0, TG_TOL);
    ck_assert_tensor(p[1], c1, TG_TOL);
    ck_assert_tensor(p[2], c2, TG_TOL);
    ck_assert_int_eq(p[2]->shape[1], 1);
    ck_assert_int_eq(tg_chunk(t, tg_reshape(t, iota(t, TG_SHAPE(6)), TG_SHAPE(6)), 4, 0, p), 3);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(p[k]->shape[0], 2);
        ck_assert_close(p[k]->data[0], 2 * k, TG_TOL);
    }
    ck_assert_int_eq(tg_chunk(t, x, 5, 0, p), 2); /* length 2: two pieces of 1 */
    ck_assert_int_eq(tg_chunk(t, p[0], 2, 0, p), 1);
    tg_tensor *empty = tg_zeros(t, TG_SHAPE(0, 3));
    ck_assert_int_eq(tg_chunk(t, empty, 3, 0, p), 3); /* as torch: n empty pieces */
    ck_assert_int_eq(p[2]->numel, 0);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Each bad call fails with its message; a fresh tape per call, since the
 * first error sticks. */
#define EXPECT_ERROR(call, msg)                                                                    \
    do {                                                                                           \
        tg_tape *t = tg_tape_new();                                                                \
        tg_tensor *x = iota(t, TG_SHAPE(2, 3));                                                    \
        (void)x;                                                                                   \
        ck_assert(!(call));                                                                        \
        ck_assert_str_eq(tg_tape_error(t), msg);                                                   \
        tg_tape_free(t);                                                                           \
    } while (0)

START_TEST(view_errors) {
    tg_tensor *o[4];
    int64_t sz[2] = {2, 2}, neg[2] = {4, -1};
    int bad_perm[2] = {1, -1}, far_perm[2] = {0, 2};
    EXPECT_ERROR(tg_reshape(t, x, TG_SHAPE(4, 2)),
                 "tg_reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)");
    EXPECT_ERROR(tg_reshape(t, x, TG_SHAPE(4, -1)),
                 "tg_reshape: cannot reshape [2,3] (6 elements) to [4,-1]");
    EXPECT_ERROR(tg_reshape(t, x, TG_SHAPE(0, -1)),
                 "tg_reshape: cannot reshape [2,3] (6 elements) to [0,-1]");
    EXPECT_ERROR(tg_reshape(t, x, TG_SHAPE(-1, -1)),
                 "tg_reshape: cannot reshape [2,3] to [-1,-1]: only one size may be -1 "
                 "and none other negative");
    EXPECT_ERROR(tg_reshape(t, x, ((tg_shape){5, {1, 1, 1, 1}})),
                 "tg_reshape: cannot reshape [2,3] to 5 dimensions (at most 4)");
    EXPECT_ERROR(tg_transpose(t, x, 0, 2),
                 "tg_transpose: dimensions 0 and 2: 2 is out of range for [2,3]");
    EXPECT_ERROR(tg_transpose(t, x, -3, 1),
                 "tg_transpose: dimensions -3 and 1: -3 is out of range for [2,3]");
    EXPECT_ERROR(tg_permute(t, x, bad_perm),
                 "tg_permute: (1,-1) is not a permutation of the 2 dimensions of [2,3]");
    EXPECT_ERROR(tg_permute(t, x, far_perm),
                 "tg_permute: (0,2) is not a permutation of the 2 dimensions of [2,3]");
    EXPECT_ERROR(tg_permute(t, x, NULL), "tg_permute: perm is NULL for [2,3]");
    EXPECT_ERROR(tg_narrow(t, x, 1, 2, 2),
                 "tg_narrow: start 2 and length 2 do not fit axis 1 (length 3) of [2,3]");
    EXPECT_ERROR(tg_narrow(t, x, 0, -3, 1),
                 "tg_narrow: start -3 and length 1 do not fit axis 0 (length 2) of [2,3]");
    EXPECT_ERROR(tg_narrow(t, x, -1, 0, -1),
                 "tg_narrow: start 0 and length -1 do not fit axis -1 (length 3) of [2,3]");
    EXPECT_ERROR(tg_narrow(t, x, 2, 0, 1), "tg_narrow: axis 2 is out of range for [2,3]");
    EXPECT_ERROR(tg_expand(t, x, TG_SHAPE(4, 3)),
                 "tg_expand: cannot expand [2,3] to [4,3]: size 2 of dimension 0 is neither "
                 "1 nor 4");
    EXPECT_ERROR(tg_expand(t, x, TG_SHAPE(3)),
                 "tg_expand: cannot expand [2,3] to 1 dimensions (need 2 to 4)");
    EXPECT_ERROR(tg_expand(t, x, TG_SHAPE(-1, 2, 3)),
                 "tg_expand: cannot expand [2,3] to [-1,2,3]: new leading dimension 0 must "
                 "have a size, got -1");
    EXPECT_ERROR(tg_split(t, x, 1, 2, sz, o) == 0,
                 "tg_split: sizes add up to 4 but axis 1 of [2,3] has length 3");
    EXPECT_ERROR(tg_split(t, x, 0, 2, neg, o) == 0, "tg_split: size -1 of piece 1 is negative");
    EXPECT_ERROR(tg_split(t, x, 0, 0, sz, o) == 0,
                 "tg_split: need n >= 1 pieces with sizes and outs, got n = 0");
    EXPECT_ERROR(tg_split(t, x, -3, 1, sz, o) == 0, "tg_split: axis -3 is out of range for [2,3]");
    EXPECT_ERROR(tg_chunk(t, x, 0, 0, o) >= 0, "tg_chunk: need n >= 1 chunks and outs, got n = 0");
    EXPECT_ERROR(tg_chunk(t, x, 2, 2, o) >= 0, "tg_chunk: axis 2 is out of range for [2,3]");
    EXPECT_ERROR(tg_contiguous(t, NULL), "tg_contiguous: input 1 is NULL");
}
END_TEST

/* ---- gradchecks ------------------------------------------------------------ */

/* ctx selects a case; each is a function of one [2,3,4] input (two for the
 * matmul case) ending in a view or in an op on views. */
static tg_tensor *f_view(tg_tape *t, tg_tensor *const *in, void *ctx) {
    tg_tensor *x = in[0], *o[4];
    int perm[3] = {-1, 0, 1}, rev[3] = {2, 1, 0};
    switch ((int)(intptr_t)ctx) {
    case 0: return tg_transpose(t, x, -1, 0);
    case 1: return tg_permute(t, x, perm);
    case 2: return tg_narrow(t, x, -2, 1, 2);
    case 3: return tg_narrow(t, x, 2, -3, 2);
    case 4: return tg_reshape(t, x, TG_SHAPE(-1, 4, 2));
    case 5: return tg_reshape(t, tg_transpose(t, x, 0, 2), TG_SHAPE(6, -1)); /* copies */
    case 6: return tg_contiguous(t, tg_permute(t, x, perm));
    case 7: /* transpose, narrow, reshape with a copy, then another view */
        return tg_transpose(
            t, tg_reshape(t, tg_narrow(t, tg_transpose(t, x, 1, 2), 1, 1, 2), TG_SHAPE(4, 3)), 0,
            1);
    case 8: /* x used twice through different views: gradients add */
        return tg_add(t, tg_reshape(t, tg_transpose(t, x, 0, 1), TG_SHAPE(2, 3, 4)), x);
    case 9: { /* split pieces recombined */
        int64_t sizes[3] = {1, 2, 1};
        if (tg_split(t, x, -1, 3, sizes, o) != 0) return NULL;
        return tg_mul(t, tg_add(t, o[0], o[2]), tg_narrow(t, o[1], 2, 1, 1));
    }
    case 10: /* chunk: 3 rows -> pieces of 2 and 1 */
        if (tg_chunk(t, x, 2, 1, o) != 2) return NULL;
        return tg_mul(t, tg_narrow(t, o[0], 1, 1, 1), o[1]);
    case 11: /* narrow a size-1 slice, then expand it to more dims */
        return tg_expand(t, tg_narrow(t, x, 1, 2, 1), TG_SHAPE(2, 2, 5, 4));
    case 12: /* expand a permuted narrow ([4,1,2] -> [4,3,2]) */
        return tg_expand(t, tg_permute(t, tg_narrow(t, x, 1, 0, 1), rev), TG_SHAPE(-1, 3, -1));
    default: /* expand then matmul: [6,1] (a copy) -> [6,2], times in[1] [2,5] */
        return tg_matmul(
            t,
            tg_expand(t, tg_reshape(t, tg_narrow(t, x, 2, 0, 1), TG_SHAPE(-1, 1)), TG_SHAPE(6, 2)),
            in[1]);
    }
}

START_TEST(gradcheck_views) {
    tg_rng r;
    tg_rng_seed(&r, 11);
    tg_tensor *in[2] = {test_param(&r, TG_SHAPE(2, 3, 4)), test_param(&r, TG_SHAPE(2, 5))};
    for (intptr_t c = 0; c <= 13; c++) {
        tg_tape *t = tg_tape_new();
        tg_tensor *y = f_view(t, in, (void *)c);
        ck_assert_msg(y != NULL, "case %d: %s", (int)c, tg_tape_error(t));
        tg_tape_free(t);
        ck_assert_gradcheck(f_view, (void *)c, c == 13 ? 2 : 1, in);
    }
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
}
END_TEST

/* A 0-d tensor expanded and reshaped; a 1-d one expanded to 4-d. */
static tg_tensor *f_small(tg_tape *t, tg_tensor *const *in, void *ctx) {
    if (ctx) return tg_expand(t, in[1], TG_SHAPE(2, 1, 3, 3));
    return tg_reshape(t, tg_expand(t, in[0], TG_SHAPE(2, 3)), TG_SHAPE(3, 2));
}

START_TEST(gradcheck_views_small) {
    tg_rng r;
    tg_rng_seed(&r, 12);
    tg_tensor *in[2] = {test_param(&r, TG_SCALAR), test_param(&r, TG_SHAPE(3))};
    ck_assert_gradcheck(f_small, NULL, 1, in);
    ck_assert_gradcheck(f_small, (void *)1, 2, in);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
}
END_TEST

TCase *tcase_ops_view(void) {
    TCase *tc = tcase_create("ops_view");
    tcase_add_test(tc, view_values_share_storage);
    tcase_add_test(tc, views_of_views);
    tcase_add_test(tc, contiguous_views_share_gradient);
    tcase_add_test(tc, expand_then_matmul);
    tcase_add_test(tc, split_and_chunk);
    tcase_add_test(tc, view_errors);
    tcase_add_test(tc, gradcheck_views);
    tcase_add_test(tc, gradcheck_views_small);
    return tc;
}
