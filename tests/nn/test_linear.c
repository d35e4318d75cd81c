/* Linear and Embedding modules (values, inits, gradchecks, padding_idx),
 * named parameter lists and the module base (prefixes, nesting, training
 * mode, zero_grad, save/load). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static tg_rng rng(uint64_t seed) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    return r;
}

/* ---- Linear ------------------------------------------------------------------------ */

START_TEST(linear_values) {
    tg_rng r = rng(1);
    tg_linear_layer *m = tg_linear_layer_new(3, 2, true, &r);
    ck_assert_ptr_nonnull(m);
    const tg_real w[6] = {1, 2, 3, -1, 0.5, 0}, b[2] = {0.25, -2};
    tg_copy_from(m->weight, w);
    tg_copy_from(m->bias, b);
    tg_tape *t = tg_tape_new();
    const tg_real xv[12] = {1, 0, -1, 2, 1, 0.5, 0, 0, 0, -3, 2, 1};
    /* [2, 3] -> [2, 2] */
    tg_tensor *y = tg_linear_layer_forward(t, m, tg_from_array(t, TG_SHAPE(2, 3), xv));
    const tg_real y2[4] = {1 - 3 + 0.25, -1 - 2, 2 + 2 + 1.5 + 0.25, -2 + 0.5 - 2};
    ck_assert_int_eq(y->ndim, 2);
    ck_assert_tensor(y, y2, TG_TOL);
    /* [2, 2, 3] -> [2, 2, 2]: every leading index alike */
    y = tg_linear_layer_forward(t, m, tg_from_array(t, TG_SHAPE(2, 2, 3), xv));
    const tg_real y3[8] = {1 - 3 + 0.25, -1 - 2, 2 + 2 + 1.5 + 0.25, -2 + 0.5 - 2,
                           0.25,         -2,     -3 + 4 + 3 + 0.25,  3 + 1 - 2};
    ck_assert_int_eq(y->ndim, 3);
    ck_assert_int_eq(y->shape[2], 2);
    ck_assert_tensor(y, y3, TG_TOL);
    tg_tape_free(t);
    tg_module_free(&m->base);

    /* without bias */
    r = rng(2);
    m = tg_linear_layer_new(3, 2, false, &r);
    ck_assert_ptr_null(m->bias);
    ck_assert_int_eq(m->base.params.n, 1);
    tg_copy_from(m->weight, w);
    t = tg_tape_new();
    y = tg_linear_layer_forward(t, m, tg_from_array(t, TG_SHAPE(2, 3), xv));
    const tg_real ynb[4] = {1 - 3, -1, 2 + 2 + 1.5, -2 + 0.5};
    ck_assert_tensor(y, ynb, TG_TOL);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* nn.Linear's init: weight and bias U(-1/sqrt(in), 1/sqrt(in)) */
START_TEST(linear_init_and_params) {
    tg_rng r = rng(3);
    tg_linear_layer *m = tg_linear_layer_new(16, 40, true, &r);
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_int_eq(p->n, 2);
    ck_assert_str_eq(p->items[0].name, "weight");
    ck_assert_str_eq(p->items[1].name, "bias");
    ck_assert_ptr_eq(p->items[0].tensor, m->weight);
    ck_assert_ptr_eq(p->items[1].tensor, m->bias);
    ck_assert_str_eq(m->weight->name, "weight"); /* the tensor knows its name */
    ck_assert_int_eq(m->weight->shape[0], 40);
    ck_assert_int_eq(m->weight->shape[1], 16);
    ck_assert_int_eq(m->bias->ndim, 1);
    ck_assert_int_eq(tg_module_numel(&m->base), 40 * 16 + 40);
    ck_assert_str_eq(m->base.kind, "linear");
    ck_assert(m->base.training);
    for (int k = 0; k < 2; k++) {
        tg_tensor *w = p->items[k].tensor;
        ck_assert(w->requires_grad && w->on_heap && w->grad);
        double lo = 1, hi = -1;
        for (int64_t i = 0; i < w->numel; i++)
            lo = fmin(lo, (double)w->data[i]), hi = fmax(hi, (double)w->data[i]);
        ck_assert(lo >= -0.25 && hi <= 0.25); /* 1/sqrt(16) */
        ck_assert(lo < -0.15 && hi > 0.15);   /* and it fills the range */
    }
    tg_module_free(&m->base);
    ck_assert_ptr_null(tg_linear_layer_new(0, 3, true, &r));
    ck_assert_ptr_null(tg_linear_layer_new(3, -1, true, &r));
    ck_assert_ptr_null(tg_linear_layer_new(3, 3, true, NULL));
}
END_TEST

typedef struct lin_ctx {
    tg_linear_layer *m;
} lin_ctx;

/* inputs: x, then the module's weight (and bias) */
static tg_tensor *f_linear(tg_tape *t, tg_tensor *const *in, void *ctx) {
    return tg_linear_layer_forward(t, ((lin_ctx *)ctx)->m, in[0]);
}

START_TEST(linear_gradcheck) {
    tg_rng r = rng(4);
    for (int bias = 0; bias < 2; bias++)
        for (int three_d = 0; three_d < 2; three_d++) {
            tg_linear_layer *m = tg_linear_layer_new(4, 3, bias, &r);
            tg_tensor *in[3] = {test_param(&r, three_d ? TG_SHAPE(2, 3, 4) : TG_SHAPE(5, 4)),
                                m->weight, m->bias};
            lin_ctx c = {m};
            ck_assert_gradcheck(f_linear, &c, bias ? 3 : 2, in);
            tg_tensor_free(in[0]);
            tg_module_free(&m->base);
        }
}
END_TEST

/* ---- Embedding -------------------------------------------------------------------------- */

START_TEST(embedding_values_and_gradient) {
    tg_rng r = rng(5);
    tg_embedding *m = tg_embedding_new(4, 2, -1, &r);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->padding_idx, -1);
    ck_assert_str_eq(m->base.params.items[0].name, "weight");
    ck_assert_str_eq(m->base.kind, "embedding");
    const tg_real w[8] = {0, 1, 10, 11, 20, 21, 30, 31};
    tg_copy_from(m->weight, w);
    tg_tape *t = tg_tape_new();
    const int64_t ids[6] = {3, 1, 1, 0, 3, 3}; /* [T=2, B=3] */
    tg_tensor *e = tg_embedding_forward(t, m, ids, TG_SHAPE(2, 3));
    ck_assert_int_eq(e->ndim, 3);
    ck_assert_int_eq(e->shape[0], 2);
    ck_assert_int_eq(e->shape[1], 3);
    ck_assert_int_eq(e->shape[2], 2);
    const tg_real want[12] = {30, 31, 10, 11, 10, 11, 0, 1, 30, 31, 30, 31};
    ck_assert_tensor(e, want, 0);
    /* a 1-d list of ids gives [n, dim] */
    tg_tensor *e1 = tg_embedding_forward(t, m, ids, TG_SHAPE(6));
    ck_assert_int_eq(e1->ndim, 2);
    ck_assert_tensor(e1, want, 0);
    /* backward scatter-adds: L = sum(e * g) with g[k] = k + 1 */
    tg_real g[12];
    for (int k = 0; k < 12; k++) g[k] = (tg_real)(k + 1);
    ck_assert_int_eq(
        tg_backward(t, tg_sum(t, tg_mul(t, e, tg_from_array(t, TG_SHAPE(2, 3, 2), g)))), 0);
    /* row 0: position 3; row 1: positions 1, 2; row 2: none; row 3: 0, 4, 5 */
    const tg_real gw[8] = {7, 8, 3 + 5, 4 + 6, 0, 0, 1 + 9 + 11, 2 + 10 + 12};
    for (int k = 0; k < 8; k++) ck_assert_close(m->weight->grad[k], gw[k], TG_TOL);
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* nn.Embedding's init is N(0, 1). */
START_TEST(embedding_init) {
    tg_rng r = rng(6);
    tg_embedding *m = tg_embedding_new(500, 8, -1, &r);
    double s = 0, s2 = 0;
    int64_t n = m->weight->numel;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)m->weight->data[i];
        s += v, s2 += v * v;
    }
    double mean = s / (double)n, var = s2 / (double)n - mean * mean;
    ck_assert(fabs(mean) < 0.05);
    ck_assert(fabs(var - 1) < 0.1);
    tg_module_free(&m->base);
}
END_TEST

/* The padding row starts at zero, looks up as zeros and gets no gradient,
 * while the other rows, used at the same time, do. */
START_TEST(embedding_padding_idx) {
    tg_rng r = rng(7);
    tg_embedding *m = tg_embedding_new(5, 3, 2, &r);
    ck_assert_int_eq(m->padding_idx, 2);
    for (int j = 0; j < 3; j++) ck_assert(m->weight->data[2 * 3 + j] == 0);
    for (int j = 0; j < 3; j++) ck_assert(m->weight->data[1 * 3 + j] != 0);
    tg_tape *t = tg_tape_new();
    const int64_t ids[4] = {2, 0, 2, 4};
    tg_tensor *e = tg_embedding_forward(t, m, ids, TG_SHAPE(2, 2));
    for (int j = 0; j < 3; j++) {
        ck_assert(tg_at(e, 0 * 3 + j) == 0 && tg_at(e, 2 * 3 + j) == 0);
        ck_assert(tg_at(e, 1 * 3 + j) == m->weight->data[0 * 3 + j]);
        ck_assert(tg_at(e, 3 * 3 + j) == m->weight->data[4 * 3 + j]);
    }
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_square(t, tg_add_scalar(t, e, 1)))), 0);
    for (int j = 0; j < 3; j++) {
        ck_assert(m->weight->grad[2 * 3 + j] == 0); /* padding: exactly none */
        ck_assert(m->weight->grad[1 * 3 + j] == 0); /* unused */
        ck_assert_close(m->weight->grad[0 * 3 + j], 2 * ((double)m->weight->data[j] + 1), TG_TOL);
        ck_assert_close(m->weight->grad[4 * 3 + j], 2 * ((double)m->weight->data[12 + j] + 1),
                        TG_TOL);
    }
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

typedef struct emb_ctx {
    tg_embedding *m;
    const int64_t *ids;
} emb_ctx;

static tg_tensor *f_embedding(tg_tape *t, tg_tensor *const *in, void *ctx) {
    (void)in; /* in[0] is the module's weight */
    emb_ctx *c = ctx;
    return tg_embedding_forward(t, c->m, c->ids, TG_SHAPE(3, 2));
}

START_TEST(embedding_gradcheck) {
    tg_rng r = rng(8);
    const int64_t ids[6] = {1, 3, 3, 0, 2, 1};
    tg_embedding *m = tg_embedding_new(4, 3, -1, &r);
    emb_ctx c = {m, ids};
    tg_tensor *in[1] = {m->weight};
    ck_assert_gradcheck(f_embedding, &c, 1, in);
    tg_module_free(&m->base);
    /* a padding row keeps its value (say, loaded from a checkpoint) while
     * passing no gradient, as in PyTorch */
    m = tg_embedding_new(4, 3, 3, &r);
    for (int j = 0; j < 3; j++) m->weight->data[9 + j] = 7;
    tg_tape *t = tg_tape_new();
    tg_tensor *y = tg_embedding_forward(t, m, ids, TG_SHAPE(3, 2));
    for (int j = 0; j < 3; j++) ck_assert_close(y->data[3 + j], 7, 0);
    tg_backward(t, tg_sum(t, y));
    for (int j = 0; j < 3; j++) ck_assert_close(m->weight->grad[9 + j], 0, 0);
    ck_assert_close(m->weight->grad[3], 2, 0); /* id 1 used twice */
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

START_TEST(embedding_errors) {
    tg_rng r = rng(9);
    ck_assert_ptr_null(tg_embedding_new(0, 3, -1, &r));
    ck_assert_ptr_null(tg_embedding_new(4, 0, -1, &r));
    ck_assert_ptr_null(tg_embedding_new(4, 3, 4, &r)); /* padding row past the table */
    ck_assert_ptr_null(tg_embedding_new(4, 3, -1, NULL));
    tg_embedding *m = tg_embedding_new(4, 3, -1, &r);
    tg_tape *t = tg_tape_new();
    const int64_t ids[4] = {0, 1, 4, 2};
    ck_assert_ptr_null(tg_embedding_forward(t, m, ids, TG_SHAPE(4)));
    ck_assert_str_eq(tg_tape_error(t), "tg_index_select: index 4 at position 2 is outside [0, 4)");
    tg_tape_reset(t);
    ck_assert_ptr_null(tg_embedding_forward(t, m, ids, TG_SHAPE(1, 1, 2, 2)));
    ck_assert_str_eq(tg_tape_error(t), "tg_embedding_forward: ids have 4 dimensions; at most 3");
    tg_tape_free(t);
    tg_module_free(&m->base);
}
END_TEST

/* ---- parameter lists ------------------------------------------------------------------- */

START_TEST(params_lists) {
    tg_tensor *a = tg_param_new(TG_SHAPE(2, 3)), *b = tg_param_new(TG_SHAPE(4));
    tg_tensor *c = tg_param_new(TG_SHAPE(1));
    tg_params p;
    tg_params_init(&p);
    ck_assert_int_eq(p.n, 0);
    ck_assert_int_eq(tg_params_numel(&p), 0);
    ck_assert_int_eq(tg_params_add(&p, "a", a), 0);
    ck_assert_int_eq(tg_params_add(&p, "b", b), 0);
    ck_assert_int_eq(tg_params_add(&p, "a", c), -1); /* duplicate name */
    ck_assert_int_eq(tg_params_add(&p, NULL, c), -1);
    ck_assert_int_eq(tg_params_add(&p, "c", NULL), -1);
    ck_assert_int_eq(p.n, 2);
    ck_assert_ptr_eq(tg_params_find(&p, "a"), a);
    ck_assert_ptr_eq(tg_params_find(&p, "b"), b);
    ck_assert_ptr_null(tg_params_find(&p, "c"));
    ck_assert_int_eq(tg_params_numel(&p), 10);
    /* names are copied */
    char name[8] = "c";
    ck_assert_int_eq(tg_params_add(&p, name, c), 0);
    strcpy(name, "zz");
    ck_assert_ptr_eq(tg_params_find(&p, "c"), c);
    ck_assert_str_eq(p.items[2].name, "c");
    /* many entries (growth keeps order) */
    tg_params big;
    tg_params_init(&big);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "p%d", i);
        ck_assert_int_eq(tg_params_add(&big, name, a), 0);
    }
    ck_assert_int_eq(big.n, 40);
    ck_assert_str_eq(big.items[39].name, "p39");
    ck_assert_int_eq(tg_params_numel(&big), 40 * 6);
    tg_params_free(&big);
    ck_assert_int_eq(big.n, 0);

    /* extend with and without a prefix */
    tg_params q;
    tg_params_init(&q);
    ck_assert_int_eq(tg_params_extend(&q, "enc", &p), 0);
    ck_assert_int_eq(tg_params_extend(&q, "", &p), 0);
    ck_assert_int_eq(q.n, 6);
    const char *names[6] = {"enc.a", "enc.b", "enc.c", "a", "b", "c"};
    for (int i = 0; i < 6; i++) ck_assert_str_eq(q.items[i].name, names[i]);
    ck_assert_ptr_eq(tg_params_find(&q, "enc.b"), b);
    ck_assert_int_eq(tg_params_extend(&q, "enc", &p), -1); /* duplicates again */
    ck_assert_int_eq(tg_params_numel(&q), 22);

    /* zero_grad clears every gradient in the list */
    for (int i = 0; i < 6; i++) a->grad[i] = 1;
    for (int i = 0; i < 4; i++) b->grad[i] = 2;
    c->grad[0] = 3;
    tg_params_zero_grad(&q);
    for (int i = 0; i < 6; i++) ck_assert(a->grad[i] == 0);
    for (int i = 0; i < 4; i++) ck_assert(b->grad[i] == 0);
    ck_assert(c->grad[0] == 0);
    tg_params_free(&q);
    tg_params_free(&p);
    tg_tensor_free(a);
    tg_tensor_free(b);
    tg_tensor_free(c);
}
END_TEST

/* ---- modules: nesting, training mode, zero_grad, save/load --------------------------- */

static tg_module *container(void) {
    tg_module *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    m->kind = "container";
    m->training = true;
    return m;
}

START_TEST(module_nesting) {
    tg_rng r = rng(10);
    /* outer { enc: Linear(3, 4), inner { proj: Linear(4, 2, no bias), emb: Embedding(5, 3) } } */
    tg_module *outer = container(), *inner = container();
    tg_linear_layer *enc = tg_linear_layer_new(3, 4, true, &r);
    tg_linear_layer *proj = tg_linear_layer_new(4, 2, false, &r);
    tg_embedding *emb = tg_embedding_new(5, 3, -1, &r);
    ck_assert_int_eq(tg_module_add_child(inner, "proj", &proj->base), 0);
    ck_assert_int_eq(tg_module_add_child(inner, "emb", &emb->base), 0);
    ck_assert_int_eq(tg_module_add_child(outer, "enc", &enc->base), 0);
    ck_assert_int_eq(tg_module_add_child(outer, "inner", inner), 0);
    /* an own parameter next to the children */
    tg_tensor *scale = tg_module_param(outer, "scale", TG_SHAPE(1));
    ck_assert_ptr_nonnull(scale);
    ck_assert_ptr_null(tg_module_param(outer, "scale", TG_SHAPE(1))); /* duplicate */
    ck_assert_ptr_null(tg_module_param(outer, "enc.weight", TG_SHAPE(1)));

    const tg_params *p = tg_module_params(outer);
    const char *names[] = {"enc.weight", "enc.bias", "inner.proj.weight", "inner.emb.weight",
                           "scale"};
    tg_tensor *tensors[] = {enc->weight, enc->bias, proj->weight, emb->weight, scale};
    ck_assert_int_eq(p->n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(p->items[i].name, names[i]);
        ck_assert_ptr_eq(p->items[i].tensor, tensors[i]);
    }
    ck_assert_int_eq(tg_module_numel(outer), 12 + 4 + 8 + 15 + 1);
    ck_assert_int_eq(tg_module_numel(inner), 8 + 15);

    /* training mode reaches the grandchildren; each can be set alone */
    tg_module_train(outer, false);
    ck_assert(!outer->training && !inner->training && !enc->base.training);
    ck_assert(!proj->base.training && !emb->base.training);
    tg_module_train(inner, true);
    ck_assert(!outer->training && inner->training && proj->base.training && emb->base.training);
    ck_assert(!enc->base.training);
    tg_module_train(NULL, true); /* harmless */

    /* zero_grad on the outer module clears the grandchildren's gradients */
    for (int i = 0; i < p->n; i++)
        for (int64_t j = 0; j < p->items[i].tensor->numel; j++) p->items[i].tensor->grad[j] = 5;
    tg_module_zero_grad(outer);
    for (int i = 0; i < p->n; i++)
        for (int64_t j = 0; j < p->items[i].tensor->numel; j++)
            ck_assert(p->items[i].tensor->grad[j] == 0);
    tg_module_free(outer); /* frees the whole tree (ASan checks) */
    tg_module_free(NULL);
}
END_TEST

/* Saving a module's parameters and loading them into a fresh one (different
 * init) reproduces every value; loading a different shape names it. */
START_TEST(module_save_load) {
    char path[64], err[256];
    snprintf(path, sizeof path, "/tmp/tg_test_linear_%d.safetensors", (int)getpid());
    tg_rng r = rng(11);
    tg_linear_layer *a = tg_linear_layer_new(3, 4, true, &r),
                    *b = tg_linear_layer_new(3, 4, true, &r);
    ck_assert(a->weight->data[0] != b->weight->data[0]);
    ck_assert_msg(tg_params_save(&a->base.params, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(tg_params_load(&b->base.params, path, err, sizeof err) == 0, "%s", err);
    for (int64_t i = 0; i < 12; i++) ck_assert(a->weight->data[i] == b->weight->data[i]);
    for (int64_t i = 0; i < 4; i++) ck_assert(a->bias->data[i] == b->bias->data[i]);
    tg_linear_layer *c = tg_linear_layer_new(3, 5, true, &r);
    ck_assert_int_eq(tg_params_load(&c->base.params, path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "weight"));
    unlink(path);
    tg_module_free(&a->base);
    tg_module_free(&b->base);
    tg_module_free(&c->base);
}
END_TEST

TCase *tcase_linear(void) {
    TCase *tc = tcase_create("linear");
    tcase_add_test(tc, linear_values);
    tcase_add_test(tc, linear_init_and_params);
    tcase_add_test(tc, linear_gradcheck);
    tcase_add_test(tc, embedding_values_and_gradient);
    tcase_add_test(tc, embedding_init);
    tcase_add_test(tc, embedding_padding_idx);
    tcase_add_test(tc, embedding_gradcheck);
    tcase_add_test(tc, embedding_errors);
    tcase_add_test(tc, params_lists);
    tcase_add_test(tc, module_nesting);
    tcase_add_test(tc, module_save_load);
    return tc;
}
