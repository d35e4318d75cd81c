/* The tape itself: accumulation into shared tensors, reset and memory reuse,
 * deep chains without recursion, sticky errors, no-grad, detach. */
#include <string.h>

#include "testutil.h"

/* A weight used 50 times gets exactly the sum of the 50 contributions. */
START_TEST(shared_weight_accumulates) {
    tg_tape *t = tg_tape_new();
    tg_tensor *w = tg_param_new(TG_SHAPE(3));
    tg_real wv[3] = {0.5, -1, 2};
    tg_copy_from(w, wv);
    tg_tensor *acc = tg_zeros(t, TG_SHAPE(3));
    tg_real expect[3] = {0, 0, 0};
    for (int step = 0; step < 50; step++) {
        tg_real xv[3] = {(tg_real)step, (tg_real)(step % 7) - 3, (tg_real)1 / (step + 1)};
        tg_tensor *x = tg_from_array(t, TG_SHAPE(3), xv);
        acc = tg_add(t, acc, tg_mul(t, w, x));
        for (int i = 0; i < 3; i++) expect[i] += xv[i]; /* d(sum w*x)/dw = sum x */
    }
    tg_real ones[3] = {1, 1, 1};
    ck_assert_int_eq(tg_backward_grad(t, acc, ones), 0);
    for (int i = 0; i < 3; i++) ck_assert_close(w->grad[i], expect[i], TG_TOL);
    ck_assert_int_eq((int)tg_tape_node_count(t), 100);
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* 10,000 forward/backward/reset cycles: the tape's memory stops growing. */
START_TEST(reset_reuses_memory) {
    tg_tape *t = tg_tape_new();
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_tensor *w = test_param(&r, TG_SHAPE(16, 16));
    size_t cap_after_warmup = 0;
    for (int it = 0; it < 10000; it++) {
        tg_tape_reset(t);
        tg_tensor *h = tg_rand_uniform(t, &r, TG_SHAPE(4, 16), -1, 1);
        for (int k = 0; k < 1 + it % 5; k++) h = tg_add(t, tg_matmul(t, h, w), h);
        tg_real g[64];
        for (int i = 0; i < 64; i++) g[i] = 1e-3;
        ck_assert_int_eq(tg_backward_grad(t, h, g), 0);
        if (it == 100) cap_after_warmup = tg_tape_capacity(t);
    }
    ck_assert_uint_gt(cap_after_warmup, 0);
    ck_assert_uint_eq(tg_tape_capacity(t), cap_after_warmup);
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* A 100,000-node chain backpropagates (backward is a loop, not recursion):
 * y = x * c * c * ... so dy/dx = c^n. */
START_TEST(long_chain_no_recursion) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_param_new(TG_SHAPE(1));
    x->data[0] = 1;
    tg_real cv = 1.00001;
    tg_tensor *c = tg_from_array(t, TG_SHAPE(1), &cv);
    tg_tensor *y = x;
    for (int i = 0; i < 100000; i++) y = tg_mul(t, y, c);
    ck_assert_int_eq((int)tg_tape_node_count(t), 100000);
    ck_assert_int_eq(tg_backward(t, y), 0);
    ck_assert_close(x->grad[0], pow((double)cv, 100000), 1e-3);
    tg_tensor_free(x);
    tg_tape_free(t);
}
END_TEST

START_TEST(errors_are_sticky_and_named) {
    tg_tape *t = tg_tape_new();
    tg_tensor *a = tg_zeros(t, TG_SHAPE(32, 64)), *b = tg_zeros(t, TG_SHAPE(128, 256));
    ck_assert_ptr_null(tg_tape_error(t));
    ck_assert_ptr_null(tg_matmul(t, a, b));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_matmul: [32,64] x [128,256]: inner sizes 64 and 128 differ");
    /* every later op is a no-op returning NULL, and the first message stays */
    ck_assert_ptr_null(tg_add(t, a, a));
    ck_assert_ptr_null(tg_zeros(t, TG_SHAPE(2)));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_matmul: [32,64] x [128,256]: inner sizes 64 and 128 differ");
    /* NULL inputs propagate as a no-op on a failed tape */
    ck_assert_ptr_null(tg_mul(t, NULL, a));
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_tape_error(t));
    ck_assert_ptr_null(tg_add(t, NULL, NULL));
    ck_assert_str_eq(tg_tape_error(t), "tg_add: input 1 is NULL");
    tg_tape_reset(t);
    tg_tensor *u = tg_zeros(t, TG_SHAPE(2, 3)), *v = tg_zeros(t, TG_SHAPE(4, 3));
    ck_assert_ptr_null(tg_add(t, u, v));
    ck_assert_str_eq(tg_tape_error(t), "tg_add: shapes [2,3] and [4,3] do not broadcast");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_backward(t, u), -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_backward: loss has shape [2,3]; it must have one element (or "
                     "pass a gradient with tg_backward_grad)");
    tg_tape_free(t);
}
END_TEST

START_TEST(no_grad_and_detach) {
    tg_tape *t = tg_tape_new();
    tg_tensor *w = tg_param_new(TG_SHAPE(2));
    tg_fill(w, 3);
    bool was = tg_set_grad_enabled(t, false);
    ck_assert(was);
    tg_tensor *y = tg_mul(t, w, w);
    ck_assert(!y->requires_grad);
    ck_assert_int_eq((int)tg_tape_node_count(t), 0);
    tg_set_grad_enabled(t, was);
    tg_tensor *z = tg_mul(t, w, w);
    ck_assert(z->requires_grad);
    tg_tensor *d = tg_detach(t, z);
    ck_assert(!d->requires_grad);
    ck_assert_ptr_eq(d->data, z->data);
    /* loss = sum(w * detach(w*w)): gradient is w*w only, not 3 w^2 */
    tg_real ones[2] = {1, 1};
    ck_assert_int_eq(tg_backward_grad(t, tg_mul(t, w, d), ones), 0);
    ck_assert_close(w->grad[0], 9, TG_TOL);
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* gradcheck itself must fail on a wrong gradient: x * detach(x) has tape
 * gradient x but true derivative 2x. */
static tg_tensor *f_wrong(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_mul(t, x[0], tg_detach(t, x[0]));
}
static tg_tensor *f_right(tg_tape *t, tg_tensor *const *x, void *c) {
    (void)c;
    return tg_mul(t, x[0], x[0]);
}

START_TEST(gradcheck_catches_wrong_gradients) {
    tg_rng r;
    tg_rng_seed(&r, 5);
    tg_tensor *x = test_param(&r, TG_SHAPE(3, 2));
    tg_gradcheck_result res;
    ck_assert(!tg_gradcheck(f_wrong, NULL, 1, &x, 1e-6, 1e-4, &res));
    ck_assert_double_gt(res.max_rel_err, 0.01);
    ck_assert_str_eq(res.error, "");
    ck_assert(tg_gradcheck(f_right, NULL, 1, &x, 1e-4, 1e-2, &res));
    tg_tensor_free(x);
}
END_TEST

/* A parameter used by tg_linear at many steps has its gradient gathered
 * into one product at the end of backward; it must equal the per-use sum
 * (computed here through tg_matmul, which adds at once). */
START_TEST(gathered_weight_gradients) {
    tg_rng r;
    tg_rng_seed(&r, 11);
    tg_tensor *w = test_param(&r, TG_SHAPE(6, 5)), *w2 = test_param(&r, TG_SHAPE(6, 5));
    tg_copy_from(w2, w->data);
    tg_tape *t = tg_tape_new();
    tg_tensor *h = tg_rand_uniform(t, &r, TG_SHAPE(3, 5), -1, 1), *h2 = h;
    tg_tensor *other = test_param(&r, TG_SHAPE(5, 6)); /* a second weight, interleaved */
    for (int s = 0; s < 20; s++) {
        h = tg_tanh(t, tg_linear(t, tg_tanh(t, tg_linear(t, h, w, NULL)), other, NULL));
        h2 = tg_tanh(t, tg_linear(t, tg_tanh(t, tg_matmul(t, h2, tg_transpose(t, w2, 0, 1))),
                                  other, NULL));
    }
    tg_real g[15];
    for (int i = 0; i < 15; i++) g[i] = (tg_real)(i + 1) / 15;
    ck_assert_int_eq(tg_backward_grad(t, h, g), 0);
    ck_assert_int_eq(tg_backward_grad(t, h2, g), 0);
    for (int64_t i = 0; i < w->numel; i++) ck_assert_close(w->grad[i], w2->grad[i], 1e-5);
    tg_tape_free(t);
    tg_tensor_free(w);
    tg_tensor_free(w2);
    tg_tensor_free(other);
}
END_TEST

/* Scopes nest into dotted paths; pop restores; reset clears them. */
START_TEST(scopes_nest) {
    tg_tape *t = tg_tape_new();
    ck_assert_str_eq(tg_scope(t), "");
    tg_scope_push(t, "lstm");
    tg_scope_push(t, "t3");
    ck_assert_str_eq(tg_scope(t), "lstm.t3");
    tg_scope_pop(t);
    ck_assert_str_eq(tg_scope(t), "lstm");
    for (int i = 0; i < 1000; i++) tg_scope_push(t, "deep"); /* a deep tree net */
    for (int i = 0; i < 1000; i++) tg_scope_pop(t);
    ck_assert_str_eq(tg_scope(t), "lstm");
    tg_scope_pop(t);
    tg_scope_pop(t); /* one too many is harmless */
    ck_assert_str_eq(tg_scope(t), "");
    tg_scope_push(t, "x");
    tg_tape_reset(t);
    ck_assert_str_eq(tg_scope(t), "");
    tg_tape_free(t);
}
END_TEST

TCase *tcase_tape(void) {
    TCase *tc = tcase_create("tape");
    tcase_add_test(tc, scopes_nest);
    tcase_add_test(tc, gathered_weight_gradients);
    tcase_add_test(tc, gradcheck_catches_wrong_gradients);
    tcase_add_test(tc, shared_weight_accumulates);
    tcase_add_test(tc, reset_reuses_memory);
    tcase_add_test(tc, long_chain_no_recursion);
    tcase_add_test(tc, errors_are_sticky_and_named);
    tcase_add_test(tc, no_grad_and_detach);
    return tc;
}
