/* tg_tape_on_grad_ready: each parameter is announced once, when its
 * gradient is already what backward leaves in it. */
#include <string.h>

#include "testutil.h"
#include "unrolled.h"

typedef struct seen {
    tg_tensor **p;
    int calls[UNROLLED_N], order[UNROLLED_N], n;
    tg_real at_notice[UNROLLED_N][16];
} seen;

static void note(void *ctx, tg_tensor *x) {
    seen *s = ctx;
    for (int i = 0; i < UNROLLED_N; i++)
        if (s->p[i] == x) {
            s->calls[i]++, s->order[s->n++] = i;
            memcpy(s->at_notice[i], x->grad, (size_t)x->numel * sizeof(tg_real));
        }
}

START_TEST(notices_final_gradients) {
    tg_tensor *p[UNROLLED_N];
    unrolled_params(p);
    tg_tape *t = tg_tape_new();
    seen s = {.p = p};
    tg_tape_on_grad_ready(t, note, &s);
    ck_assert_int_eq(tg_backward(t, unrolled_loss(t, p)), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s.calls[i], 1);
        ck_assert_int_eq(memcmp(s.at_notice[i], p[i]->grad, (size_t)p[i]->numel * sizeof(tg_real)),
                         0);
    }
    ck_assert_int_eq(s.calls[3], 0); /* nothing reads it */
    ck_assert_int_eq(s.order[0], 2); /* b: final as soon as its first reader is passed */
    /* off again: no more notices */
    tg_tape_on_grad_ready(t, NULL, NULL);
    tg_tape_reset(t);
    ck_assert_int_eq(tg_backward(t, unrolled_loss(t, p)), 0);
    ck_assert_int_eq(s.n, 3);
    tg_tape_free(t);
    for (int i = 0; i < UNROLLED_N; i++) tg_tensor_free(p[i]);
}
END_TEST

TCase *tcase_grad_ready(void) {
    TCase *tc = tcase_create("grad_ready");
    tcase_add_test(tc, notices_final_gradients);
    return tc;
}
