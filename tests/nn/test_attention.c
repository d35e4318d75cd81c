/* Attention: one step against PyTorch (tests/nn/gen_attention_fixture.py)
 * for the additive, general and dot scores, masks (weights sum to 1, padded
 * steps get exactly zero weight and zero gradient), gradient checks in
 * double, memory selection, bad input, and the SVG heat map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define FIXTURE "tests/nn/fixtures/attention.safetensors"
/* the reference is float32, so both builds compare at float tolerances */
#define OUT_TOL 1e-5
#define GRAD_TOL 1e-4

static tg_rng rng(uint64_t seed) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    return r;
}

static const tg_tensor *need(const tg_st_file *f, const char *name) {
    const tg_tensor *x = tg_safetensors_get(f, name);
    ck_assert_msg(x != NULL, FIXTURE ": no tensor '%s'", name);
    return x;
}

/* A heap copy of a fixture tensor, requiring grad. */
static tg_tensor *leaf(const tg_st_file *f, const char *name) {
    const tg_tensor *x = need(f, name);
    tg_tensor *p = tg_param_new(tg_tensor_shape(x));
    tg_copy(p, x);
    return p;
}

static void expect(const tg_st_file *f, const char *name, const tg_real *got, int64_t n,
                   double tol) {
    const tg_tensor *ref = need(f, name);
    ck_assert_int_eq(ref->numel, n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - (double)ref->data[i]) <=
                          tol * fmax(1, fabs((double)ref->data[i])),
                      "%s[%lld] = %.9g, PyTorch %.9g", name, (long long)i, (double)got[i],
                      (double)ref->data[i]);
}

static void parity(tg_attention_kind kind) {
    char err[256];
    tg_st_file *f = tg_safetensors_open(FIXTURE, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const char *kn = tg_attention_kind_name(kind);
    const tg_tensor *vref = need(f, "values");
    int64_t B = vref->shape[0], S = vref->shape[1], K = vref->shape[2];
    tg_tensor *values = leaf(f, "values");
    tg_tensor *query = leaf(f, kind == TG_ATTN_DOT ? "query_dot" : "query");
    int64_t nl;
    const int64_t *lengths = tg_safetensors_get_i64(f, "lengths", &nl);
    ck_assert_int_eq(nl, B);
    tg_rng r = rng(1);
    tg_attention_options o = {kind, query->shape[1], K, 0};
    char name[128];
    if (kind == TG_ATTN_ADDITIVE) {
        snprintf(name, sizeof name, "additive.query.weight");
        o.attn_size = need(f, name)->shape[0];
    }
    tg_attention *a = tg_attention_new(o, &r, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    const tg_params *P = tg_module_params(&a->base);
    for (int i = 0; i < P->n; i++) {
        snprintf(name, sizeof name, "%s.%s", kn, P->items[i].name);
        ck_assert(tg_copy(P->items[i].tensor, need(f, name)));
    }
    tg_tape *t = tg_tape_new();
    tg_attention_memory mem;
    ck_assert_int_eq(tg_attention_prepare(t, a, values, lengths, &mem), 0);
    tg_tensor *ctx, *w;
    ck_assert_int_eq(tg_attention_step(t, a, &mem, query, &ctx, &w), 0);
    ck_assert_int_eq(ctx->ndim, 2);
    ck_assert_int_eq(ctx->shape[0], B);
    ck_assert_int_eq(ctx->shape[1], K);
    ck_assert_int_eq(w->shape[1], S);
    snprintf(name, sizeof name, "%s.context", kn);
    expect(f, name, ctx->data, ctx->numel, OUT_TOL);
    snprintf(name, sizeof name, "%s.weights", kn);
    expect(f, name, w->data, w->numel, OUT_TOL);
    tg_tensor *rc = tg_from_array(t, TG_SHAPE(B, K), need(f, "rc")->data);
    tg_tensor *rw = tg_from_array(t, TG_SHAPE(B, S), need(f, "rw")->data);
    tg_tensor *loss = tg_add(t, tg_sum(t, tg_mul(t, ctx, rc)), tg_sum(t, tg_mul(t, w, rw)));
    ck_assert_int_eq(tg_backward(t, loss), 0);
    for (int i = 0; i < P->n; i++) {
        snprintf(name, sizeof name, "%s.grad.%s", kn, P->items[i].name);
        expect(f, name, P->items[i].tensor->grad, P->items[i].tensor->numel, GRAD_TOL);
    }
    snprintf(name, sizeof name, "%s.grad.values", kn);
    expect(f, name, values->grad, values->numel, GRAD_TOL);
    snprintf(name, sizeof name, "%s.grad.query", kn);
    expect(f, name, query->grad, query->numel, GRAD_TOL);
    tg_tape_free(t);
    tg_module_free(&a->base);
    tg_tensor_free(values);
    tg_tensor_free(query);
    tg_safetensors_close(f);
}

START_TEST(additive_matches_pytorch) {
    parity(TG_ATTN_ADDITIVE);
}
END_TEST

START_TEST(general_matches_pytorch) {
    parity(TG_ATTN_GENERAL);
}
END_TEST

START_TEST(dot_matches_pytorch) {
    parity(TG_ATTN_DOT);
}
END_TEST

/* Parameters by name and shape, and the additive default A = Q. */
START_TEST(parameters) {
    tg_rng r = rng(2);
    char err[256];
    tg_attention *a =
        tg_attention_new((tg_attention_options){TG_ATTN_ADDITIVE, 5, 7, 0}, &r, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    const tg_params *P = tg_module_params(&a->base);
    ck_assert_int_eq(P->n, 4);
    const char *names[] = {"query.weight", "key.weight", "key.bias", "v.weight"};
    const int64_t shapes[4][2] = {{5, 5}, {5, 7}, {5, 0}, {1, 5}};
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(P->items[i].name, names[i]);
        ck_assert_int_eq(P->items[i].tensor->shape[0], shapes[i][0]);
        if (shapes[i][1]) ck_assert_int_eq(P->items[i].tensor->shape[1], shapes[i][1]);
    }
    /* nn.Linear's init bound 1/sqrt(in) */
    for (int64_t i = 0; i < a->w_key->numel; i++)
        ck_assert(fabs(a->w_key->data[i]) <= 1 / sqrt(7.0));
    tg_module_free(&a->base);
    a = tg_attention_new((tg_attention_options){TG_ATTN_GENERAL, 5, 7, 0}, &r, err, sizeof err);
    P = tg_module_params(&a->base);
    ck_assert_int_eq(P->n, 1);
    ck_assert_str_eq(P->items[0].name, "key.weight");
    ck_assert_int_eq(a->w_key->shape[0], 5);
    ck_assert_int_eq(a->w_key->shape[1], 7);
    tg_module_free(&a->base);
    a = tg_attention_new((tg_attention_options){TG_ATTN_DOT, 7, 7, 0}, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(tg_module_params(&a->base)->n, 0);
    tg_module_free(&a->base);
}
END_TEST

START_TEST(bad_options) {
    tg_rng r = rng(3);
    char err[256];
    ck_assert_ptr_null(
        tg_attention_new((tg_attention_options){TG_ATTN_DOT, 4, 6, 0}, &r, err, sizeof err));
    ck_assert_str_eq(err, "attention: dot scores need query_size == key_size, got 4 and 6");
    ck_assert_ptr_null(
        tg_attention_new((tg_attention_options){TG_ATTN_NONE, 4, 6, 0}, &r, err, sizeof err));
    ck_assert_str_eq(err, "attention: kind must be additive, dot or general, got 0");
    ck_assert_ptr_null(
        tg_attention_new((tg_attention_options){TG_ATTN_ADDITIVE, 0, 6, 0}, &r, err, sizeof err));
    ck_assert_str_eq(err, "attention: query_size and key_size must be positive, got 0 and 6");
    ck_assert_ptr_null(
        tg_attention_new((tg_attention_options){TG_ATTN_ADDITIVE, 4, 6, -2}, &r, err, sizeof err));
    ck_assert_str_eq(err, "attention: attn_size must be positive, got -2");
    ck_assert_str_eq(tg_attention_kind_name(TG_ATTN_GENERAL), "general");
    ck_assert_ptr_null(tg_attention_kind_name((tg_attention_kind)9));
}
END_TEST

START_TEST(bad_input) {
    tg_rng r = rng(4);
    tg_attention *a =
        tg_attention_new((tg_attention_options){TG_ATTN_ADDITIVE, 3, 4, 2}, &r, NULL, 0);
    tg_tape *t = tg_tape_new();
    tg_attention_memory mem;
    ck_assert_int_eq(tg_attention_prepare(t, a, tg_zeros(t, TG_SHAPE(2, 5, 3)), NULL, &mem), -1);
    ck_assert_str_eq(tg_tape_error(t),
                     "tg_attention_prepare: values [2,5,3]: expected [B, S, 4] with S >= 1");
    tg_tape_reset(t);
    const int64_t bad_len[2] = {5, 6};
    ck_assert_int_eq(tg_attention_prepare(t, a, tg_zeros(t, TG_SHAPE(2, 5, 4)), bad_len, &mem), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_attention_prepare: lengths[1] = 6 is outside [1, 5]");
    tg_tape_reset(t);
    ck_assert_int_eq(tg_attention_prepare(t, a, tg_zeros(t, TG_SHAPE(2, 5, 4)), NULL, &mem), 0);
    ck_assert_ptr_null(mem.mask); /* nothing padded: no mask */
    tg_tensor *ctx, *w;
    ck_assert_int_eq(tg_attention_step(t, a, &mem, tg_zeros(t, TG_SHAPE(3, 3)), &ctx, &w), -1);
    ck_assert_str_eq(tg_tape_error(t), "tg_attention_step: query [3,3]: expected [2, 3]");
    ck_assert_ptr_null(ctx);
    ck_assert_ptr_null(w);
    tg_tape_free(t);
    tg_module_free(&a->base);
}
END_TEST

/* Rows sum to 1; padded steps get exactly 0 weight, change nothing, and
 * receive exactly 0 gradient. */
START_TEST(mask_and_normalisation) {
    tg_attention_kind kinds[3] = {TG_ATTN_ADDITIVE, TG_ATTN_GENERAL, TG_ATTN_DOT};
    for (int k = 0; k < 3; k++) {
        tg_rng r = rng(5 + (uint64_t)k);
        int64_t B = 3, S = 5, K = 4, Q = kinds[k] == TG_ATTN_DOT ? 4 : 3;
        tg_attention *a = tg_attention_new((tg_attention_options){kinds[k], Q, K, 6}, &r, NULL, 0);
        const int64_t len[3] = {5, 1, 3};
        tg_tensor *values = test_param(&r, TG_SHAPE(B, S, K));
        tg_tensor *query = test_param(&r, TG_SHAPE(B, Q));
        tg_real first[3 * 4];
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) /* garbage in the padding must not matter */
                for (int64_t b = 0; b < B; b++)
                    for (int64_t s = len[b]; s < S; s++)
                        for (int64_t j = 0; j < K; j++) values->data[(b * S + s) * K + j] = 1e3;
            tg_tape *t = tg_tape_new();
            tg_attention_memory mem;
            tg_tensor *ctx, *w;
            ck_assert_int_eq(tg_attention_prepare(t, a, values, len, &mem), 0);
            ck_assert_int_eq(tg_attention_step(t, a, &mem, query, &ctx, &w), 0);
            for (int64_t b = 0; b < B; b++) {
                double sum = 0;
                for (int64_t s = 0; s < S; s++) {
                    double v = (double)w->data[b * S + s];
                    if (s >= len[b])
                        ck_assert_msg(v == 0, "weight[%lld][%lld] = %g on padding", (long long)b,
                                      (long long)s, v);
                    else
                        ck_assert(v > 0);
                    sum += v;
                }
                ck_assert_close(sum, 1, TG_TOL);
            }
            /* one real step: all the weight, the context is that state */
            ck_assert_close(w->data[1 * S + 0], 1, TG_TOL);
            for (int64_t j = 0; j < K; j++)
                ck_assert_close(ctx->data[1 * K + j], values->data[(1 * S + 0) * K + j], TG_TOL);
            if (pass == 0)
                memcpy(first, ctx->data, sizeof first);
            else
                for (int i = 0; i < 12; i++) ck_assert_close(ctx->data[i], first[i], TG_TOL);
            tg_zero_grad(values);
            ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_square(t, ctx))), 0);
            for (int64_t b = 0; b < B; b++)
                for (int64_t s = len[b]; s < S; s++)
                    for (int64_t j = 0; j < K; j++)
                        ck_assert(values->grad[(b * S + s) * K + j] == 0);
            tg_tape_free(t);
        }
        tg_tensor_free(values);
        tg_tensor_free(query);
        tg_module_free(&a->base);
    }
}
END_TEST

/* ---- gradient checks (double build) ---------------------------------------------- */

typedef struct gc_ctx {
    tg_attention *a;
    const int64_t *len;
} gc_ctx;

/* inputs: values, query; the module's parameters are the rest */
static tg_tensor *attend(tg_tape *t, tg_tensor *const *in, void *p) {
    gc_ctx *c = p;
    tg_attention_memory mem;
    tg_tensor *ctx, *w;
    if (tg_attention_prepare(t, c->a, in[0], c->len, &mem) != 0 ||
        tg_attention_step(t, c->a, &mem, in[1], &ctx, &w) != 0)
        return NULL;
    tg_tensor *parts[2] = {tg_reshape(t, ctx, TG_SHAPE(-1)), tg_reshape(t, w, TG_SHAPE(-1))};
    return tg_concat(t, 2, parts, 0);
}

static void gradcheck_kind(tg_attention_kind kind, const int64_t *len) {
    tg_rng r = rng(11);
    int64_t B = 3, S = 4, K = 3, Q = kind == TG_ATTN_DOT ? 3 : 2;
    tg_attention *a = tg_attention_new((tg_attention_options){kind, Q, K, 5}, &r, NULL, 0);
    const tg_params *P = tg_module_params(&a->base);
    tg_tensor *in[8] = {test_param(&r, TG_SHAPE(B, S, K)), test_param(&r, TG_SHAPE(B, Q))};
    int n = 2;
    for (int i = 0; i < P->n; i++) in[n++] = P->items[i].tensor;
    gc_ctx c = {a, len};
    ck_assert_gradcheck(attend, &c, n, in);
    tg_tensor_free(in[0]);
    tg_tensor_free(in[1]);
    tg_module_free(&a->base);
}

static const int64_t LEN[3] = {4, 2, 3};

START_TEST(gradcheck_additive) {
    gradcheck_kind(TG_ATTN_ADDITIVE, LEN);
    gradcheck_kind(TG_ATTN_ADDITIVE, NULL);
}
END_TEST

START_TEST(gradcheck_general) {
    gradcheck_kind(TG_ATTN_GENERAL, LEN);
    gradcheck_kind(TG_ATTN_GENERAL, NULL);
}
END_TEST

START_TEST(gradcheck_dot) {
    gradcheck_kind(TG_ATTN_DOT, LEN);
    gradcheck_kind(TG_ATTN_DOT, NULL);
}
END_TEST

/* Selecting rows of the memory (as beam search repeats sources) gives the
 * same step as attending over the original rows. */
START_TEST(memory_select) {
    tg_rng r = rng(12);
    tg_attention *a =
        tg_attention_new((tg_attention_options){TG_ATTN_ADDITIVE, 3, 4, 0}, &r, NULL, 0);
    tg_tape *t = tg_tape_new();
    const int64_t len[2] = {2, 3}, idx[3] = {1, 1, 0};
    tg_tensor *values = tg_rand_uniform(t, &r, TG_SHAPE(2, 3, 4), -1, 1);
    tg_tensor *query = tg_rand_uniform(t, &r, TG_SHAPE(2, 3), -1, 1);
    tg_attention_memory mem, sel;
    ck_assert_int_eq(tg_attention_prepare(t, a, values, len, &mem), 0);
    ck_assert_int_eq(tg_attention_memory_select(t, &mem, idx, 3, &sel), 0);
    ck_assert_int_eq(sel.B, 3);
    tg_tensor *ctx, *w, *ctx3, *w3;
    ck_assert_int_eq(tg_attention_step(t, a, &mem, query, &ctx, &w), 0);
    ck_assert_int_eq(
        tg_attention_step(t, a, &sel, tg_index_select(t, query, 0, idx, 3), &ctx3, &w3), 0);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 4; j++)
            ck_assert_close(ctx3->data[i * 4 + j], ctx->data[idx[i] * 4 + j], TG_TOL);
        for (int j = 0; j < 3; j++)
            ck_assert_close(w3->data[i * 3 + j], w->data[idx[i] * 3 + j], TG_TOL);
    }
    ck_assert(w3->data[2 * 3 + 2] == 0); /* row 0's padding stays masked */
    tg_tape_free(t);
    tg_module_free(&a->base);
}
END_TEST

/* ---- the SVG heat map ------------------------------------------------------------- */

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

START_TEST(svg_heat_map) {
    char path[64], err[256];
    snprintf(path, sizeof path, "/tmp/tg-attn-%ld.svg", (long)getpid());
    const char *src[3] = {"A", "<", "&"}, *tgt[2] = {"AH", "</s>"};
    /* two rows of three, row stride 4 (the last value of each row unused) */
    const tg_real w[8] = {1, 0, 0, 9, 0.25, 0.5, 0.25, 9};
    ck_assert_int_eq(tg_attention_svg(path, 3, src, 2, tgt, w, 4, err, sizeof err), 0);
    char *s = test_read_file(path);
    ck_assert_ptr_nonnull(s);
    ck_assert(strncmp(s, "<svg ", 5) == 0);
    ck_assert_int_eq(count(s, "<rect x="), 6); /* one cell per weight */
    ck_assert_int_eq(count(s, "fill=\"rgb(255,255,255)\""), 1);
    ck_assert_int_eq(count(s, "fill=\"rgb(0,0,0)\""), 2);
    ck_assert_int_eq(count(s, "fill=\"rgb(128,128,128)\""), 1);
    ck_assert_int_eq(count(s, "fill=\"rgb(64,64,64)\""), 2);
    ck_assert_ptr_nonnull(strstr(s, ">&lt;</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">&amp;</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">&lt;/s&gt;</text>"));
    ck_assert_ptr_null(strstr(s, ">9"));
    free(s);
    remove(path);
    ck_assert_int_eq(tg_attention_svg(path, 3, src, 2, tgt, w, 2, err, sizeof err), -1);
    ck_assert_str_eq(err, "tg_attention_svg: need a path, weights and sizes >= 1 (got 2 x 3, "
                          "stride 2)");
    ck_assert_int_eq(
        tg_attention_svg("/nonexistent-dir/a.svg", 3, src, 2, tgt, w, 4, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
}
END_TEST

TCase *tcase_attention(void) {
    TCase *tc = tcase_create("attention");
    tcase_add_test(tc, additive_matches_pytorch);
    tcase_add_test(tc, general_matches_pytorch);
    tcase_add_test(tc, dot_matches_pytorch);
    tcase_add_test(tc, parameters);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, mask_and_normalisation);
    tcase_add_test(tc, gradcheck_additive);
    tcase_add_test(tc, gradcheck_general);
    tcase_add_test(tc, gradcheck_dot);
    tcase_add_test(tc, memory_select);
    tcase_add_test(tc, svg_heat_map);
    return tc;
}
