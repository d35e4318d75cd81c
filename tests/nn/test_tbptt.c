/* Truncated BPTT: a detached state stops the gradient at the chunk border
 * (and without the detach it does not), the heap carry across tape resets
 * gives the same gradients as detaching on one tape, the forward values
 * equal an unchunked run, and memory stays flat over a 50-chunk stream. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { I = 3, H = 4, B = 2, K = 4 };

static tg_rnn *make_rnn(tg_rnn_mode mode) {
    tg_rng r;
    tg_rng_seed(&r, 77);
    char err[256] = "";
    tg_rnn *m = tg_rnn_new((tg_rnn_options){.mode = mode, .input_size = I, .hidden_size = H}, &r,
                           err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

/* Chunk c of a stream: x [K, B, I] and a regression target [K, B, H],
 * drawn from a generator seeded by c, as tape leaves. */
static void chunk_data(tg_tape *t, int c, tg_tensor **x, tg_tensor **y) {
    tg_rng r;
    tg_rng_seed(&r, 1000 + (uint64_t)c);
    *x = tg_rand_uniform(t, &r, TG_SHAPE(K, B, I), -1, 1);
    *y = tg_rand_uniform(t, &r, TG_SHAPE(K, B, H), -0.5, 0.5);
    ck_assert_ptr_nonnull(*x);
}

/* One chunk from state h0 (NULL: zeros): its loss, and its final state. */
static tg_tensor *run_chunk(tg_tape *t, tg_rnn *m, tg_tensor *x, tg_tensor *y, tg_tensor *h0,
                            tg_tensor *c0, tg_rnn_result *res) {
    ck_assert_int_eq(tg_rnn_forward(t, m, x, h0, c0, NULL, res), 0);
    return tg_seq_mse(t, res->output, y, NULL, TG_SUM);
}

/* Every parameter gradient, concatenated. */
static tg_real *grads_of(const tg_module *m) {
    const tg_params *p = tg_module_params(m);
    tg_real *g = malloc((size_t)tg_params_numel(p) * sizeof *g), *o = g;
    for (int k = 0; k < p->n; k++) {
        memcpy(o, p->items[k].tensor->grad, (size_t)p->items[k].tensor->numel * sizeof *o);
        o += p->items[k].tensor->numel;
    }
    return g;
}

static bool all_zero(const tg_tensor *x) {
    for (int64_t i = 0; x->grad && i < x->numel; i++)
        if (x->grad[i] != 0) return false;
    return true;
}

/* Chunk 2's loss sends nothing into chunk 1 once the state is detached:
 * chunk 1's input gets exactly zero gradient, and chunk 1's own loss then
 * gives the same parameter gradients as when chunk 1 runs alone. Without
 * the detach chunk 1's input does get a gradient, so the test can fail. */
START_TEST(tbptt_detach_stops_the_gradient) {
    tg_rnn *m = make_rnn(TG_RNN_TANH);
    tg_tape *t = tg_tape_new();
    int64_t n = tg_module_numel(&m->base);

    /* chunk 1 alone */
    tg_tensor *x1, *y1, *x2, *y2;
    tg_rnn_result r1, r2;
    chunk_data(t, 1, &x1, &y1);
    x1->requires_grad = true;
    ck_assert_int_eq(tg_backward(t, run_chunk(t, m, x1, y1, NULL, NULL, &r1)), 0);
    tg_real *alone = grads_of(&m->base);
    tg_real x1_alone[K * B * I];
    memcpy(x1_alone, x1->grad, sizeof x1_alone);

    for (int detach = 1; detach >= 0; detach--) {
        tg_tape_reset(t);
        tg_module_zero_grad(&m->base);
        chunk_data(t, 1, &x1, &y1);
        chunk_data(t, 2, &x2, &y2);
        x1->requires_grad = x2->requires_grad = true;
        tg_tensor *loss1 = run_chunk(t, m, x1, y1, NULL, NULL, &r1);
        tg_tensor *h = detach ? tg_detach(t, r1.h_n) : r1.h_n;
        tg_tensor *loss2 = run_chunk(t, m, x2, y2, h, NULL, &r2);
        ck_assert_int_eq(tg_backward(t, loss2), 0);
        ck_assert(!all_zero(x2));
        if (!detach) { /* the control: the gradient crosses the border */
            ck_assert(!all_zero(x1));
            break;
        }
        ck_assert(all_zero(x1));
        /* now chunk 1's loss: the same as alone, chunk 2 added nothing */
        tg_module_zero_grad(&m->base);
        ck_assert_int_eq(tg_backward(t, loss1), 0);
        tg_real *with_next = grads_of(&m->base);
        for (int64_t i = 0; i < n; i++) ck_assert_close(with_next[i], alone[i], TG_TOL);
        for (int i = 0; i < K * B * I; i++) ck_assert_close(x1->grad[i], x1_alone[i], TG_TOL);
        free(with_next);
    }
    free(alone);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* A 50-chunk LSTM stream, trained (gradients accumulated) chunk by chunk
 * with a reset between chunks and (h, c) carried on the heap:
 *   - the tape's capacity is flat after the first chunks;
 *   - the final state equals one unchunked forward over the whole stream;
 *   - the accumulated gradients equal one backward over all chunks on a
 *     single tape with the states detached at every border, whose tape does
 *     grow with the stream. */
#define N_CHUNKS 50
START_TEST(tbptt_stream_in_bounded_memory) {
    tg_rnn *m = make_rnn(TG_LSTM);
    int64_t n = tg_module_numel(&m->base);
    tg_tape *t = tg_tape_new();
    tg_tensor *h = NULL, *c = NULL; /* the carried state */
    size_t cap3 = 0, peak3 = 0;
    for (int k = 0; k < N_CHUNKS; k++) {
        tg_tape_reset(t);
        tg_tensor *x, *y;
        tg_rnn_result res;
        chunk_data(t, k, &x, &y);
        ck_assert_int_eq(tg_backward(t, run_chunk(t, m, x, y, h, c, &res)), 0);
        ck_assert_ptr_nonnull(tg_tbptt_carry(t, &h, res.h_n));
        ck_assert_ptr_nonnull(tg_tbptt_carry(t, &c, res.c_n));
        /* the capacity (bytes from the system) and the peak of any one
         * step stop growing */
        if (k == 2) cap3 = tg_tape_capacity(t), peak3 = tg_tape_peak(t);
        if (k > 2) {
            ck_assert_uint_eq(tg_tape_capacity(t), cap3);
            ck_assert_uint_eq(tg_tape_peak(t), peak3);
        }
    }
    ck_assert_uint_gt(peak3, 0);
    tg_real *chunked = grads_of(&m->base);

    /* the same stream unchunked: same final state */
    tg_tape_reset(t);
    tg_tensor *xs[N_CHUNKS], *ys[N_CHUNKS];
    for (int k = 0; k < N_CHUNKS; k++) chunk_data(t, k, &xs[k], &ys[k]);
    tg_rnn_result whole;
    ck_assert_int_eq(tg_rnn_forward(t, m, tg_concat(t, N_CHUNKS, xs, 0), NULL, NULL, NULL, &whole),
                     0);
    ck_assert_int_eq(whole.output->shape[0], N_CHUNKS * K);
    for (int64_t i = 0; i < h->numel; i++) {
        ck_assert_close(tg_at(h, i), tg_at(whole.h_n, i), TG_TOL);
        ck_assert_close(tg_at(c, i), tg_at(whole.c_n, i), TG_TOL);
    }

    /* all chunks on one tape, detached at the borders, one backward */
    tg_tape *one = tg_tape_new();
    tg_module_zero_grad(&m->base);
    tg_tensor *hd = NULL, *cd = NULL, *total = NULL;
    for (int k = 0; k < N_CHUNKS; k++) {
        tg_tensor *x, *y;
        tg_rnn_result res;
        chunk_data(one, k, &x, &y);
        tg_tensor *loss = run_chunk(one, m, x, y, hd, cd, &res);
        total = total ? tg_add(one, total, loss) : loss;
        hd = tg_detach(one, res.h_n);
        cd = tg_detach(one, res.c_n);
    }
    ck_assert_int_eq(tg_backward(one, total), 0);
    tg_real *detached = grads_of(&m->base);
#ifdef TG_DOUBLE
    const double tol = 1e-10;
#else
    const double tol = 1e-4; /* the sums run in different orders */
#endif
    for (int64_t i = 0; i < n; i++) ck_assert_close(chunked[i], detached[i], tol);
    /* one tape for the whole stream holds every chunk */
    ck_assert_uint_gt(tg_tape_peak(one), 40 * peak3);
    ck_assert_uint_gt(tg_tape_capacity(one), cap3);

    free(chunked);
    free(detached);
    tg_tensor_free(h);
    tg_tensor_free(c);
    tg_tape_free(one);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* The carry itself: allocated once, reused, reallocated on a new shape,
 * copies strided states, survives a reset, carries no gradient. */
START_TEST(tbptt_carry_helper) {
    tg_tape *t = tg_tape_new();
    tg_tensor *carry = NULL;
    tg_tensor *s = tg_arange(t, 0, 6, 1);
    tg_tensor *st = tg_transpose(t, tg_reshape(t, s, TG_SHAPE(2, 3)), 0, 1); /* [3, 2], strided */
    tg_tensor *got = tg_tbptt_carry(t, &carry, st);
    ck_assert_ptr_eq(got, carry);
    ck_assert(carry->on_heap);
    ck_assert(!carry->requires_grad);
    ck_assert_ptr_null(carry->grad);
    const tg_real want[6] = {0, 3, 1, 4, 2, 5};
    ck_assert_tensor(carry, want, 0);
    tg_tape_reset(t); /* the carried values outlive the tape's */
    ck_assert_tensor(carry, want, 0);
    /* same shape: the same tensor, new values */
    tg_tensor *before = carry;
    ck_assert_ptr_eq(tg_tbptt_carry(t, &carry, tg_full(t, TG_SHAPE(3, 2), 7)), before);
    const tg_real sevens[6] = {7, 7, 7, 7, 7, 7};
    ck_assert_tensor(carry, sevens, 0);
    /* a new shape (a smaller last batch): reallocated */
    ck_assert_ptr_nonnull(tg_tbptt_carry(t, &carry, tg_full(t, TG_SHAPE(1, 2), 1)));
    ck_assert_int_eq(carry->shape[0], 1);
    ck_assert_int_eq(carry->numel, 2);
    /* errors leave the carry as it was */
    before = carry;
    ck_assert_ptr_null(tg_tbptt_carry(t, &carry, NULL));
    ck_assert_str_eq(tg_tape_error(t), "tg_tbptt_carry: state is NULL");
    ck_assert_ptr_eq(carry, before);
    ck_assert_ptr_null(tg_tbptt_carry(t, &carry, before)); /* tape in error: nothing */
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_tbptt_carry(t, NULL, before));
    ck_assert_str_eq(tg_tape_error(t), "tg_tbptt_carry: carry is NULL");
    tg_tensor_free(carry);
    tg_tape_free(t);
}
END_TEST

TCase *tcase_tbptt(void) {
    TCase *tc = tcase_create("tbptt");
    tcase_add_test(tc, tbptt_detach_stops_the_gradient);
    tcase_add_test(tc, tbptt_stream_in_bounded_memory);
    tcase_add_test(tc, tbptt_carry_helper);
    return tc;
}
