/* Sequence losses with length masks: values against PyTorch (cross_entropy
 * and an elementwise mse in float64, masked by hand) and hand sums,
 * gradients, exactly-zero gradients at masked positions even when padding
 * holds NaN or inf, gradchecks, errors. */
#include "testutil.h"

enum { T = 3, B = 2, C = 4, D = 2 };

/* [T, B, C]: logits[t][b][:] */
static const tg_real LOGITS[T * B * C] = {0.5,  -1.0, 2.0, 0.0,  1.5, 0.25, -0.5, 1.0,
                                          -2.0, 0.75, 0.0, 1.25, 0.3, 0.3,  -1.2, 2.2,
                                          1.0,  1.0,  1.0, -3.0, 0.1, -0.4, 0.9,  0.6};
static const int64_t TARGETS[T * B] = {2, 0, 3, 1, 0, 3};
static const int64_t LENGTHS[B] = {3, 1}; /* sequence 1 is only one step long */
#define MASKED(i) ((i) / B >= LENGTHS[(i) % B])

/* torch.nn.functional.cross_entropy(reduction='none') * mask, and its sum's
 * gradient */
static const double CE_NONE[T * B] = {
    0.342349582389822, 0.7072328795780445, 0.658457213548218, 0, 1.1046989403271903, 0};
#define CE_SUM 2.812738615843275
#define CE_MEAN 0.7031846539608188
#define CE_MEAN_UNMASKED 1.033508858646594
/* one row of C per line */
/* clang-format off */
static const double CE_SUM_GRAD[T * B * C] = {
    0.15844470951497974, 0.03535379340874887, -0.2899000771138257, 0.09610157419009721,
    -0.506993479853713,  0.14124873290526116, 0.06672117704149455, 0.2990235699069571,
    0.02007144313757931, 0.313970196385568,   0.14830901933007015, -0.4823506588532175,
    0,                   0,                   0,                   0,
    -0.6686893885067056, 0.3313106114932944,  0.3313106114932944,  0.006068165520116885,
    0,                   0,                   0,                   0};
/* clang-format on */

START_TEST(seq_cross_entropy_values) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    x->requires_grad = true;
    tg_tensor *sum = tg_seq_cross_entropy(t, x, TARGETS, LENGTHS, TG_SUM);
    ck_assert_ptr_nonnull(sum);
    ck_assert_int_eq(sum->ndim, 0);
    ck_assert_close(sum->data[0], CE_SUM, TG_TOL);
    tg_tensor *mean = tg_seq_cross_entropy(t, x, TARGETS, LENGTHS, TG_MEAN);
    ck_assert_close(mean->data[0], CE_MEAN, TG_TOL);
    /* the mean divides by the 4 counted tokens, not by T*B = 6 */
    ck_assert_close(mean->data[0], CE_SUM / 4, TG_TOL);
    tg_tensor *none = tg_seq_cross_entropy(t, x, TARGETS, LENGTHS, TG_NONE);
    ck_assert_int_eq(none->ndim, 2);
    ck_assert_int_eq(none->shape[0], T);
    ck_assert_int_eq(none->shape[1], B);
    ck_assert_tensor(none, CE_NONE, TG_TOL);
    ck_assert_close(tg_seq_cross_entropy(t, x, TARGETS, NULL, TG_MEAN)->data[0], CE_MEAN_UNMASKED,
                    TG_TOL);
    ck_assert_int_eq(tg_backward(t, sum), 0);
    for (int i = 0; i < T * B * C; i++) {
        ck_assert_close(x->grad[i], CE_SUM_GRAD[i], TG_TOL);
        if (MASKED(i / C)) ck_assert(x->grad[i] == 0);
    }
    ck_assert_ptr_null(tg_tape_error(t));
    tg_tape_free(t);
}
END_TEST

/* Whatever padding holds (NaN logits, a target id out of range) changes
 * nothing, and masked positions get exactly zero gradient. */
START_TEST(seq_cross_entropy_ignores_padding) {
    tg_real logits[T * B * C];
    int64_t targets[T * B];
    for (int i = 0; i < T * B * C; i++) logits[i] = MASKED(i / C) ? (tg_real)NAN : LOGITS[i];
    for (int i = 0; i < T * B; i++) targets[i] = MASKED(i) ? 99 : TARGETS[i];
    for (int red = 0; red < 2; red++) {
        tg_tape *t = tg_tape_new();
        tg_tensor *x = tg_from_array(t, TG_SHAPE(T, B, C), logits);
        x->requires_grad = true;
        tg_tensor *loss = tg_seq_cross_entropy(t, x, targets, LENGTHS, red ? TG_SUM : TG_MEAN);
        ck_assert_ptr_nonnull(loss);
        ck_assert_close(loss->data[0], red ? CE_SUM : CE_MEAN, TG_TOL);
        ck_assert_int_eq(tg_backward(t, loss), 0);
        for (int i = 0; i < T * B * C; i++) {
            double want = red ? CE_SUM_GRAD[i] : CE_SUM_GRAD[i] / 4;
            ck_assert_close(x->grad[i], want, TG_TOL);
            if (MASKED(i / C)) ck_assert(x->grad[i] == 0);
        }
        tg_tape_free(t);
    }
}
END_TEST

/* pred and target [T, B, D] */
static const tg_real PRED[T * B * D] = {0.5,  -1.0, 2.0,  0.0,  1.5, 0.25,
                                        -0.5, 1.0,  -2.0, 0.75, 0.0, 1.25};
static const tg_real TARGET[T * B * D] = {0.0, 1.0, 1.0, 1.0, 1.0, 0.0,
                                          0.0, 0.0, 0.5, 0.5, 2.0, -1.0};

START_TEST(seq_mse_values) {
    /* counted: (t0,b0) 0.25+4, (t0,b1) 1+1, (t1,b0) 0.25+0.0625, (t2,b0) 6.25+0.0625 */
    const double none[T * B * D] = {0.25, 4, 1, 1, 0.25, 0.0625, 0, 0, 6.25, 0.0625, 0, 0};
    const double sum = 12.875, all_sum = 23.1875;
    tg_real pred[T * B * D], target[T * B * D];
    for (int pad = 0; pad < 2; pad++) {
        /* second round: padding holds inf and NaN in both tensors */
        for (int i = 0; i < T * B * D; i++) {
            bool masked = MASKED(i / D);
            pred[i] = pad && masked ? (tg_real)INFINITY : PRED[i];
            target[i] = pad && masked ? (tg_real)NAN : TARGET[i];
        }
        tg_tape *t = tg_tape_new();
        tg_tensor *p = tg_from_array(t, TG_SHAPE(T, B, D), pred);
        tg_tensor *y = tg_from_array(t, TG_SHAPE(T, B, D), target);
        p->requires_grad = y->requires_grad = true;
        tg_tensor *s = tg_seq_mse(t, p, y, LENGTHS, TG_SUM);
        ck_assert_close(s->data[0], sum, TG_TOL);
        ck_assert_close(tg_seq_mse(t, p, y, LENGTHS, TG_MEAN)->data[0], sum / (4 * D), TG_TOL);
        tg_tensor *n = tg_seq_mse(t, p, y, LENGTHS, TG_NONE);
        ck_assert_int_eq(n->ndim, 3);
        ck_assert_tensor(n, none, TG_TOL);
        ck_assert_int_eq(tg_backward(t, s), 0);
        for (int i = 0; i < T * B * D; i++) {
            double diff = (double)PRED[i] - (double)TARGET[i];
            double want = MASKED(i / D) ? 0 : 2 * diff;
            ck_assert_close(p->grad[i], want, TG_TOL);
            ck_assert_close(y->grad[i], -want, TG_TOL);
            if (MASKED(i / D)) ck_assert(p->grad[i] == 0 && y->grad[i] == 0);
        }
        tg_tape_free(t);
    }
    /* without lengths: plain mse over every element */
    tg_tape *t = tg_tape_new();
    tg_tensor *p = tg_from_array(t, TG_SHAPE(T, B, D), PRED);
    tg_tensor *y = tg_from_array(t, TG_SHAPE(T, B, D), TARGET);
    ck_assert_close(tg_seq_mse(t, p, y, NULL, TG_SUM)->data[0], all_sum, TG_TOL);
    ck_assert_close(tg_seq_mse(t, p, y, NULL, TG_MEAN)->data[0], all_sum / (T * B * D), TG_TOL);
    /* lengths all T count everything too */
    const int64_t full[B] = {T, T};
    ck_assert_close(tg_seq_mse(t, p, y, full, TG_MEAN)->data[0], all_sum / (T * B * D), TG_TOL);
    tg_tape_free(t);
}
END_TEST

/* ---- gradchecks (double build) ---------------------------------------------------- */

typedef struct loss_ctx {
    const int64_t *lengths;
    tg_reduction red;
    bool batch_first; /* input [B, T, .], transposed into the loss (a strided view) */
} loss_ctx;

static tg_tensor *f_ce(tg_tape *t, tg_tensor *const *in, void *ctx) {
    loss_ctx *c = ctx;
    tg_tensor *x = c->batch_first ? tg_transpose(t, in[0], 0, 1) : in[0];
    return tg_seq_cross_entropy(t, x, TARGETS, c->lengths, c->red);
}

static tg_tensor *f_mse(tg_tape *t, tg_tensor *const *in, void *ctx) {
    loss_ctx *c = ctx;
    tg_tensor *p = c->batch_first ? tg_transpose(t, in[0], 0, 1) : in[0];
    return tg_seq_mse(t, p, in[1], c->lengths, c->red);
}

START_TEST(seq_loss_gradcheck) {
    tg_rng r;
    tg_rng_seed(&r, 41);
    tg_tensor *x = test_param(&r, TG_SHAPE(T, B, C)), *xb = test_param(&r, TG_SHAPE(B, T, C));
    tg_tensor *p = test_param(&r, TG_SHAPE(T, B, D)), *pb = test_param(&r, TG_SHAPE(B, T, D));
    tg_tensor *y = test_param(&r, TG_SHAPE(T, B, D));
    tg_reduction reds[3] = {TG_SUM, TG_MEAN, TG_NONE};
    for (int k = 0; k < 3; k++)
        for (int masked = 0; masked < 2; masked++)
            for (int bf = 0; bf < 2; bf++) {
                loss_ctx c = {masked ? LENGTHS : NULL, reds[k], bf};
                tg_tensor *ce_in[1] = {bf ? xb : x}, *mse_in[2] = {bf ? pb : p, y};
                ck_assert_gradcheck(f_ce, &c, 1, ce_in);
                ck_assert_gradcheck(f_mse, &c, 2, mse_in);
            }
    tg_tensor_free(x);
    tg_tensor_free(xb);
    tg_tensor_free(p);
    tg_tensor_free(pb);
    tg_tensor_free(y);
}
END_TEST

START_TEST(seq_loss_errors) {
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    ck_assert_ptr_null(
        tg_seq_cross_entropy(t, tg_reshape(t, x, TG_SHAPE(T * B, C)), TARGETS, NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq_cross_entropy: logits [6,4]: expected [T, B, C]");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    int64_t bad[T * B] = {2, 0, 3, 4, 0, 3};
    ck_assert_ptr_null(tg_seq_cross_entropy(t, x, bad, NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_seq_cross_entropy: targets[3] (t=1, b=1) = 4 is outside [0, 4)");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    /* a masked bad target is padding: fine */
    ck_assert_ptr_nonnull(tg_seq_cross_entropy(t, x, bad, LENGTHS, TG_SUM));
    bad[3] = -1; /* -1 is not an escape hatch for "ignore" */
    ck_assert_ptr_null(tg_seq_cross_entropy(t, x, bad, NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_seq_cross_entropy: targets[3] (t=1, b=1) = -1 is outside [0, 4)");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    const int64_t too_long[B] = {3, 4}, negative[B] = {-1, 2}, empty[B] = {0, 0};
    ck_assert_ptr_null(tg_seq_cross_entropy(t, x, TARGETS, too_long, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq_cross_entropy: lengths[1] = 4 is outside [0, 3]");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    ck_assert_ptr_null(tg_seq_cross_entropy(t, x, TARGETS, negative, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq_cross_entropy: lengths[0] = -1 is outside [0, 3]");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    /* all masked: a sum is 0, a mean is an error */
    tg_tensor *zero = tg_seq_cross_entropy(t, x, TARGETS, empty, TG_SUM);
    ck_assert_ptr_nonnull(zero);
    ck_assert(zero->data[0] == 0);
    ck_assert_ptr_null(tg_seq_cross_entropy(t, x, TARGETS, empty, TG_MEAN));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_seq_cross_entropy: every position is masked, so the mean is undefined");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    ck_assert_ptr_null(tg_seq_cross_entropy(t, x, TARGETS, NULL, (tg_reduction)7));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_seq_cross_entropy: reduction 7 is not TG_MEAN, TG_SUM or TG_NONE");
    tg_tape_reset(t);
    x = tg_from_array(t, TG_SHAPE(T, B, C), LOGITS);
    ck_assert_ptr_null(tg_seq_cross_entropy(t, x, NULL, NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq_cross_entropy: targets is NULL");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_seq_cross_entropy(t, NULL, TARGETS, NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq_cross_entropy: logits is NULL");
    tg_tape_reset(t);

    tg_tensor *p = tg_from_array(t, TG_SHAPE(T, B, D), PRED);
    tg_tensor *y = tg_from_array(t, TG_SHAPE(T, B, D), TARGET);
    ck_assert_ptr_null(tg_seq_mse(t, p, tg_reshape(t, y, TG_SHAPE(B, T, D)), NULL, TG_SUM));
    ck_assert_str_eq(
        tg_tape_error(t),
        "tg_seq_mse: pred [3,2,2] and target [2,3,2]: expected the same shape [T, B, D]");
    tg_tape_reset(t);
    p = tg_from_array(t, TG_SHAPE(T * B * D), PRED);
    ck_assert_ptr_null(tg_seq_mse(t, p, p, NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_seq_mse: pred [12] and target [12]: expected the same shape [T, B, D]");
    tg_tape_reset(t);
    p = tg_from_array(t, TG_SHAPE(T, B, D), PRED);
    ck_assert_ptr_null(tg_seq_mse(t, p, p, too_long, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq_mse: lengths[1] = 4 is outside [0, 3]");
    tg_tape_reset(t);
    p = tg_from_array(t, TG_SHAPE(T, B, D), PRED);
    ck_assert_ptr_null(tg_seq_mse(t, p, p, empty, TG_MEAN));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_seq_mse: every position is masked, so the mean is undefined");
    tg_tape_reset(t);
    p = tg_zeros(t, TG_SHAPE(T, B, 0));
    ck_assert_ptr_null(tg_seq_mse(t, p, p, NULL, TG_MEAN));
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_seq_mse: pred [3,2,0] has no elements, so the mean is undefined");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_seq_mse(t, NULL, NULL, NULL, TG_SUM));
    ck_assert_str_eq(tg_tape_error(t), "tg_seq_mse: pred is NULL");
    tg_tape_free(t);
}
END_TEST

TCase *tcase_seq_loss(void) {
    TCase *tc = tcase_create("seq_loss");
    tcase_add_test(tc, seq_cross_entropy_values);
    tcase_add_test(tc, seq_cross_entropy_ignores_padding);
    tcase_add_test(tc, seq_mse_values);
    tcase_add_test(tc, seq_loss_gradcheck);
    tcase_add_test(tc, seq_loss_errors);
    return tc;
}
