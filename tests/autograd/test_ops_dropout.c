/* Inverted dropout: drop rate, scaling, seeding, gradient = mask, eval and
 * p = 0 pass-through, p = 1, strided input, errors, gradcheck. */
#include "testutil.h"

/* On 100,000 ones: the fraction of zeros is p within 0.01 (about seven
 * standard deviations), every kept value is 1/(1-p), and the gradient
 * seeded with ones is y itself (the mask). */
START_TEST(drop_rate_and_scale) {
    tg_tape *t = tg_tape_new();
    tg_rng r;
    tg_rng_seed(&r, 42);
    double ps[] = {0.1, 0.3, 0.5, 0.9};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        tg_tape_reset(t);
        double p = ps[k];
        tg_tensor *x = tg_ones(t, TG_SHAPE(200, 500)), *ones = tg_ones(t, TG_SHAPE(200, 500));
        x->requires_grad = true;
        tg_tensor *y = tg_dropout(t, x, p, true, &r);
        ck_assert_ptr_nonnull(y);
        ck_assert_ptr_ne(y, x);
        int64_t zeros = 0;
        for (int64_t i = 0; i < y->numel; i++) {
            if (y->data[i] == 0)
                zeros++;
            else
                ck_assert_close(y->data[i], 1 / (1 - p), TG_TOL);
        }
        double frac = (double)zeros / (double)y->numel;
        ck_assert_msg(fabs(frac - p) < 0.01, "p = %g: fraction of zeros %g", p, frac);
        /* the mean is preserved in expectation */
        double mean = 0;
        for (int64_t i = 0; i < y->numel; i++) mean += y->data[i];
        mean /= (double)y->numel;
        ck_assert_msg(fabs(mean - 1) < 0.05, "p = %g: mean %g", p, mean);
        ck_assert_int_eq(tg_backward_grad(t, y, ones->data), 0);
        for (int64_t i = 0; i < y->numel; i++) ck_assert(x->grad[i] == y->data[i]);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* The same seed gives the same mask; another seed a different one. */
START_TEST(seeded) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_ones(t, TG_SHAPE(1000));
    tg_rng r1, r2, r3;
    tg_rng_seed(&r1, 5);
    tg_rng_seed(&r2, 5);
    tg_rng_seed(&r3, 6);
    tg_tensor *a = tg_dropout(t, x, 0.5, true, &r1);
    tg_tensor *b = tg_dropout(t, x, 0.5, true, &r2);
    tg_tensor *c = tg_dropout(t, x, 0.5, true, &r3);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        same_ab += a->data[i] == b->data[i];
        same_ac += a->data[i] == c->data[i];
    }
    ck_assert_int_eq(same_ab, 1000);
    ck_assert_int_lt(same_ac, 600); /* about 500 agree by chance */
    /* the generator moves on: a second call with r1 differs from the first */
    tg_tensor *a2 = tg_dropout(t, x, 0.5, true, &r1);
    int same_aa2 = 0;
    for (int i = 0; i < 1000; i++) same_aa2 += a->data[i] == a2->data[i];
    ck_assert_int_lt(same_aa2, 600);
    tg_tape_free(t);
}
END_TEST

/* Eval mode and p = 0 return x itself: no copy, no node. p = 1 gives zeros
 * and a zero gradient. */
START_TEST(eval_p0_p1) {
    tg_tape *t = tg_tape_new();
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_real xv[4] = {1, -2, 3, -4};
    tg_tensor *x = tg_from_array(t, TG_SHAPE(2, 2), xv);
    x->requires_grad = true;
    ck_assert_ptr_eq(tg_dropout(t, x, 0.5, false, &r), x);
    ck_assert_ptr_eq(tg_dropout(t, x, 0.5, false, NULL), x); /* eval needs no rng */
    ck_assert_ptr_eq(tg_dropout(t, x, 0, true, &r), x);
    ck_assert_ptr_eq(tg_dropout(t, x, 0, true, NULL), x);
    ck_assert_int_eq((int)tg_tape_node_count(t), 0);
    tg_tensor *y = tg_dropout(t, x, 1, true, &r);
    tg_real zeros[4] = {0, 0, 0, 0};
    ck_assert_tensor(y, zeros, 0);
    ck_assert_int_eq((int)tg_tape_node_count(t), 1);
    tg_real g[4] = {1, 2, 3, 4};
    ck_assert_int_eq(tg_backward_grad(t, y, g), 0);
    for (int i = 0; i < 4; i++) ck_assert(x->grad[i] == 0);
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* A strided input is read in its own row-major order: with the same seed,
 * dropout of the [3,2] transposed view equals dropout of a contiguous copy,
 * and the gradient of the strided leaf is the mask times the seed. */
START_TEST(strided_input) {
    tg_tape *t = tg_tape_new();
    tg_tensor *v = tg_arange(t, 1, 7, 1);
    v->ndim = 2;
    v->shape[0] = 3, v->shape[1] = 2;
    v->stride[0] = 1, v->stride[1] = 3; /* [[1,4],[2,5],[3,6]] */
    v->requires_grad = true;
    tg_real cv[6] = {1, 4, 2, 5, 3, 6};
    tg_tensor *c = tg_from_array(t, TG_SHAPE(3, 2), cv);
    tg_rng r1, r2;
    tg_rng_seed(&r1, 9);
    tg_rng_seed(&r2, 9);
    tg_tensor *yv = tg_dropout(t, v, 0.5, true, &r1);
    tg_tensor *yc = tg_dropout(t, c, 0.5, true, &r2);
    int kept = 0;
    for (int i = 0; i < 6; i++) {
        ck_assert(yv->data[i] == yc->data[i]);
        ck_assert(yv->data[i] == 0 || yv->data[i] == 2 * cv[i]);
        kept += yv->data[i] != 0;
    }
    ck_assert_int_gt(kept, 0); /* seed 9 keeps some and drops some */
    ck_assert_int_lt(kept, 6);
    tg_real g[6] = {1, 1, 1, 1, 1, 1};
    ck_assert_int_eq(tg_backward_grad(t, yv, g), 0);
    for (int i = 0; i < 6; i++) ck_assert(v->grad[i] == (yv->data[i] != 0 ? 2 : 0));
    tg_tape_free(t);
}
END_TEST

START_TEST(errors) {
    tg_tape *t = tg_tape_new();
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_tensor *x = tg_ones(t, TG_SHAPE(3));
    ck_assert_ptr_null(tg_dropout(t, x, 1.5, true, &r));
    ck_assert_str_eq(tg_tape_error(t), "tg_dropout: p must be in [0, 1], got 1.5");
    tg_tape_reset(t);
    x = tg_ones(t, TG_SHAPE(3));
    ck_assert_ptr_null(tg_dropout(t, x, -0.25, false, &r)); /* checked in eval mode too */
    ck_assert_str_eq(tg_tape_error(t), "tg_dropout: p must be in [0, 1], got -0.25");
    tg_tape_reset(t);
    x = tg_ones(t, TG_SHAPE(3));
    ck_assert_ptr_null(tg_dropout(t, x, NAN, true, &r));
    ck_assert_str_eq(tg_tape_error(t), "tg_dropout: p must be in [0, 1], got nan");
    tg_tape_reset(t);
    x = tg_ones(t, TG_SHAPE(3));
    ck_assert_ptr_null(tg_dropout(t, x, 0.5, true, NULL));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_dropout: training with p = 0.5 needs an rng, got NULL");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_dropout(t, NULL, 0.5, true, &r));
    ck_assert_str_eq(tg_tape_error(t), "tg_dropout: input 1 is NULL");
    tg_tape_free(t);
}
END_TEST

typedef struct dropout_ctx {
    double p;
    uint64_t seed;
} dropout_ctx;

/* Re-seeds on every call, so each evaluation of the gradcheck sees the same
 * mask. */
static tg_tensor *f_dropout(tg_tape *t, tg_tensor *const *x, void *ctx) {
    const dropout_ctx *c = ctx;
    tg_rng r;
    tg_rng_seed(&r, c->seed);
    return tg_dropout(t, x[0], c->p, true, &r);
}

START_TEST(gradcheck_dropout) {
    tg_rng r;
    tg_rng_seed(&r, 13);
    dropout_ctx cs[] = {{0.2, 1}, {0.5, 2}, {0.8, 3}, {1, 4}};
    tg_shape shapes[] = {TG_SHAPE(7), TG_SHAPE(3, 4), TG_SHAPE(2, 3, 2, 2)};
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            tg_tensor *x = test_param(&r, shapes[s]);
            ck_assert_gradcheck(f_dropout, &cs[c], 1, &x);
            tg_tensor_free(x);
        }
}
END_TEST

TCase *tcase_ops_dropout(void) {
    TCase *tc = tcase_create("ops_dropout");
    tcase_add_test(tc, drop_rate_and_scale);
    tcase_add_test(tc, seeded);
    tcase_add_test(tc, eval_p0_p1);
    tcase_add_test(tc, strided_input);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, gradcheck_dropout);
    return tc;
}
