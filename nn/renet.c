/* ReNet: a bidirectional row sweep then a bidirectional column sweep, each a
 * tg_rnn over the grid reshaped into a batch of sequences. */
#include "renet.h"

#include <stdlib.h>

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

static tg_rnn *sweep(const tg_renet_options *o, int64_t in, tg_rng *init, char *err,
                     size_t errlen) {
    tg_rnn_options r = {.mode = o->mode, .cell = o->cell, .input_size = in,
                        .hidden_size = o->hidden_size, .batch_first = true,
                        .bidirectional = true};
    return tg_rnn_new(r, init, err, errlen);
}

tg_renet *tg_renet_new(tg_renet_options o, tg_rng *init, char *err, size_t errlen) {
    if (o.input_size <= 0)
        return FAIL("renet: input_size must be positive, got %lld", (long long)o.input_size);
    if (o.hidden_size <= 0)
        return FAIL("renet: hidden_size must be positive, got %lld", (long long)o.hidden_size);
    tg_renet *m = calloc(1, sizeof *m);
    if (!m) return FAIL("renet: out of memory");
    m->base.kind = "renet";
    m->base.training = true;
    m->opt = o;
    /* tg_rnn_new's message (bad cell or sizes) stands as it is */
    tg_rnn *rows = sweep(&o, o.input_size, init, err, errlen);
    if (!rows) goto fail;
    if (tg_module_add_child(&m->base, "rows", &rows->base) != 0) goto oom;
    tg_rnn *cols = sweep(&o, 2 * o.hidden_size, init, err, errlen);
    if (!cols) goto fail;
    if (tg_module_add_child(&m->base, "cols", &cols->base) != 0) goto oom;
    m->rows = rows;
    m->cols = cols;
    return m;
oom:
    FAIL("renet: out of memory");
fail:
    tg_module_free(&m->base);
    return NULL;
}

/* s [N, L, K] through a bidirectional layer: [N, L, 2H]. */
static tg_tensor *run(tg_tape *t, tg_rnn *r, tg_tensor *s) {
    tg_rnn_result res;
    if (!s) return NULL;
    if (tg_rnn_forward(t, r, s, NULL, NULL, NULL, &res) != 0) return NULL;
    return res.output;
}

tg_tensor *tg_renet_forward(tg_tape *t, tg_renet *m, tg_tensor *x) {
    char s[TG_SHAPE_STR_MAX];
    if (!x || x->ndim != 4 || x->shape[3] != m->opt.input_size) {
        if (x)
            tg_tape_fail(t, "tg_renet_forward: input %s: expected [B, R, C, %lld]",
                         tg_shape_str(tg_tensor_shape(x), s, sizeof s),
                         (long long)m->opt.input_size);
        return NULL;
    }
    int64_t B = x->shape[0], R = x->shape[1], C = x->shape[2], H2 = 2 * m->opt.hidden_size;
    static const int swap_rc[4] = {0, 2, 1, 3};
    /* rows: B*R sequences of length C */
    tg_tensor *h = run(t, m->rows, tg_reshape(t, x, TG_SHAPE(B * R, C, x->shape[3])));
    if (!h) return NULL;
    /* columns: [B, R, C, 2H] -> [B, C, R, 2H] -> B*C sequences of length R */
    h = tg_permute(t, tg_reshape(t, h, TG_SHAPE(B, R, C, H2)), swap_rc);
    h = h ? run(t, m->cols, tg_reshape(t, h, TG_SHAPE(B * C, R, H2))) : NULL;
    if (!h) return NULL;
    h = tg_permute(t, tg_reshape(t, h, TG_SHAPE(B, C, R, H2)), swap_rc);
    return h ? tg_contiguous(t, h) : NULL;
}

tg_tensor *tg_image_patches(tg_tape *t, tg_tensor *x, int64_t P) {
    char s[TG_SHAPE_STR_MAX];
    if (!x) return NULL;
    if (x->ndim != 3 || P < 1 || x->shape[1] % P || x->shape[2] % P) {
        tg_tape_fail(t, "tg_image_patches: images %s with patch %lld: expected [B, H, W] with "
                        "H and W multiples of the patch",
                     tg_shape_str(tg_tensor_shape(x), s, sizeof s), (long long)P);
        return NULL;
    }
    int64_t B = x->shape[0], R = x->shape[1] / P, C = x->shape[2] / P;
    /* [B*R, P, C, P] -> [B*R, C, P, P]: a patch's rows next to each other
     * (four dimensions at most, so B and R share one) */
    static const int perm[4] = {0, 2, 1, 3};
    tg_tensor *y = tg_permute(t, tg_reshape(t, x, TG_SHAPE(B * R, P, C, P)), perm);
    return y ? tg_reshape(t, y, TG_SHAPE(B, R, C, P * P)) : NULL;
}
