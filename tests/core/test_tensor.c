/* Shapes, strides, heap tensors, copying, broadcasting frames. */
#include <string.h>

#include "core/kernels.h"
#include "testutil.h"

START_TEST(shape_basics) {
    tg_shape s = TG_SHAPE(2, 3, 4);
    ck_assert_int_eq(s.ndim, 3);
    ck_assert_int_eq(tg_shape_numel(s), 24);
    ck_assert_int_eq(TG_SCALAR.ndim, 0);
    ck_assert_int_eq(tg_shape_numel(TG_SCALAR), 1);
    char b[TG_SHAPE_STR_MAX];
    ck_assert_str_eq(tg_shape_str(s, b, sizeof b), "[2,3,4]");
    ck_assert_str_eq(tg_shape_str(TG_SCALAR, b, sizeof b), "[]");
    char tiny[4];
    ck_assert_str_eq(tg_shape_str(s, tiny, sizeof tiny), "[2,");
    ck_assert(!tg_shape_valid(TG_SHAPE(2, -1)));
    ck_assert(!tg_shape_valid((tg_shape){5, {1, 1, 1, 1}}));
    ck_assert(!tg_shape_valid(TG_SHAPE(INT64_MAX / 2, 4)));
    ck_assert(tg_shape_valid(TG_SHAPE(0, 3)));
}
END_TEST

START_TEST(heap_tensors) {
    tg_tensor *t = tg_tensor_new(TG_SHAPE(2, 3));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->numel, 6);
    ck_assert_int_eq(t->stride[0], 3);
    ck_assert_int_eq(t->stride[1], 1);
    ck_assert_int_eq(t->shape[2], 1); /* the padding invariant */
    ck_assert_int_eq(t->stride[2], 0);
    ck_assert(!t->requires_grad);
    ck_assert_ptr_null(t->grad);
    tg_real v[6] = {1, 2, 3, 4, 5, 6};
    tg_copy_from(t, v);
    int64_t idx[2] = {1, 2};
    ck_assert_close(tg_get(t, idx), 6, 0);
    ck_assert_close(tg_at(t, 4), 5, 0);
    tg_tensor *p = tg_param_new(TG_SHAPE(4));
    ck_assert(p->requires_grad);
    ck_assert_ptr_nonnull(p->grad);
    p->grad[2] = 5;
    tg_zero_grad(p);
    ck_assert_close(p->grad[2], 0, 0);
    ck_assert_ptr_null(tg_tensor_new(TG_SHAPE(-2)));
    tg_tensor_free(NULL);
    tg_tensor_free(t);
    tg_tensor_free(p);
}
END_TEST

/* A transposed header over the same data reads column-major. */
START_TEST(strided_copy) {
    tg_tensor *a = tg_tensor_new(TG_SHAPE(2, 3));
    tg_real v[6] = {1, 2, 3, 4, 5, 6};
    tg_copy_from(a, v);
    tg_tensor at = *a;
    at.shape[0] = 3, at.shape[1] = 2, at.stride[0] = 1, at.stride[1] = 3;
    ck_assert(!tg_is_contiguous(&at));
    tg_real out[6], expect[6] = {1, 4, 2, 5, 3, 6};
    tg_copy_to(&at, out);
    for (int i = 0; i < 6; i++) ck_assert_close(out[i], expect[i], 0);
    tg_tensor *b = tg_tensor_new(TG_SHAPE(3, 2));
    ck_assert(tg_copy(b, &at));
    ck_assert_tensor(b, expect, 0);
    ck_assert(!tg_copy(a, b));
    tg_fill(&at, 7);
    for (int i = 0; i < 6; i++) ck_assert_close(a->data[i], 7, 0);
    tg_tensor_free(a);
    tg_tensor_free(b);
}
END_TEST

START_TEST(broadcast_frames) {
    tg_shape out;
    ck_assert(tg_broadcast_shape(TG_SHAPE(2, 1, 4), TG_SHAPE(3, 1), &out));
    ck_assert_int_eq(out.ndim, 3);
    ck_assert_int_eq(out.dim[0], 2);
    ck_assert_int_eq(out.dim[1], 3);
    ck_assert_int_eq(out.dim[2], 4);
    ck_assert(!tg_broadcast_shape(TG_SHAPE(2, 3), TG_SHAPE(4, 3), &out));
    tg_frame f = tg_frame_of(TG_SHAPE(3, 4));
    ck_assert_int_eq(f.dim[0], 1);
    ck_assert_int_eq(f.dim[2], 3);
    int64_t st[4];
    tg_frame_contig_strides(TG_SHAPE(3, 1), TG_SHAPE(2, 3, 4), st);
    ck_assert_int_eq(st[1], 0); /* missing leading dim */
    ck_assert_int_eq(st[2], 1); /* the 3 */
    ck_assert_int_eq(st[3], 0); /* broadcast 1 -> 4 */
}
END_TEST

TCase *tcase_tensor(void) {
    TCase *tc = tcase_create("tensor");
    tcase_add_test(tc, shape_basics);
    tcase_add_test(tc, heap_tensors);
    tcase_add_test(tc, strided_copy);
    tcase_add_test(tc, broadcast_frames);
    return tc;
}
