/* Fused recurrent cell kernels: the LSTM and GRU nonlinearities and their
 * backward in one pass each, instead of a dozen small ops per step. The
 * composed versions in nn/rnn.c remain the reference; tests keep them equal. */
#include "../core/fastmath.h"
#include "op.h"

/* y = f(x) over n values (y may be x): simple loops, which the
 * compiler vectorises. */
TG_VECTOR_CLONES static void sigmoid_n(tg_real *y, const tg_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg_sigmoid_fast(x[i]);
}
TG_VECTOR_CLONES static void tanh_n(tg_real *y, const tg_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tg_tanh_fast(x[i]);
}

/* Checks that x is [B, k*H] given the [B, H] reference shape. */
static bool check_gates(tg_tape *t, const char *op, const char *what, const tg_tensor *x, int64_t B,
                        int64_t kH) {
    if (x->ndim == 2 && x->shape[0] == B && x->shape[1] == kH) return true;
    char s[TG_SHAPE_STR_MAX];
    tg__fail(t, "%s: %s %s: expected [%lld,%lld]", op, what, TG_SHP(x, s), (long long)B,
             (long long)kH);
    return false;
}

/* ---- LSTM ------------------------------------------------------------------- */

/* Saved for backward: the activated gates i, f, g, o [B, 4H], tanh(c') [B, H]
 * and c (contiguous) [B, H]. */
typedef struct lstm_saved {
    tg_real *act, *tanh_c;
    const tg_real *c;
} lstm_saved;

/* c' = f*c + i*g, tanh(c'), h' = o*tanh(c') for one row; act holds i, f, g, o. */
TG_VECTOR_CLONES static void cell_forward(tg_real *restrict cn, tg_real *restrict tc,
                                          tg_real *restrict h, const tg_real *restrict act,
                                          const tg_real *restrict c, int64_t H) {
    const tg_real *i = act, *f = act + H, *g = act + 2 * H, *o = act + 3 * H;
    for (int64_t j = 0; j < H; j++) cn[j] = f[j] * c[j] + i[j] * g[j];
    tanh_n(tc, cn, H);
    for (int64_t j = 0; j < H; j++) h[j] = o[j] * tc[j];
}

tg_tensor *tg_lstm_gates(tg_tape *t, tg_tensor *gates, tg_tensor *c) {
    tg_tensor *in[2] = {gates, c};
    if (!tg__begin(t, "tg_lstm_gates", 2, in)) return NULL;
    char sc[TG_SHAPE_STR_MAX];
    if (c->ndim != 2) {
        tg__fail(t, "tg_lstm_gates: c %s: expected [B,H]", TG_SHP(c, sc));
        return NULL;
    }
    int64_t B = c->shape[0], H = c->shape[1];
    if (!check_gates(t, "tg_lstm_gates", "gates", gates, B, 4 * H)) return NULL;
    tg_tensor *hc = tg__tensor(t, TG_SHAPE(2, B, H));
    const tg_real *g = tg__contig(t, gates), *cp = tg__contig(t, c);
    tg_real *act = tg__alloc(t, (size_t)(5 * B * H) * sizeof(tg_real));
    if (!hc || !g || !cp || !act) return NULL;
    tg_real *tanh_c = act + 4 * B * H, *h = hc->data, *cn = hc->data + B * H;
    for (int64_t b = 0; b < B; b++) {
        const tg_real *gb = g + b * 4 * H;
        tg_real *ab = act + b * 4 * H;
        sigmoid_n(ab, gb, 2 * H);             /* i, f */
        tanh_n(ab + 2 * H, gb + 2 * H, H);    /* g */
        sigmoid_n(ab + 3 * H, gb + 3 * H, H); /* o */
        cell_forward(cn + b * H, tanh_c + b * H, h + b * H, ab, cp + b * H, H);
    }
    tg_node *n = tg__record(t, TG_OP_LSTM_GATES, hc, 2, in);
    if (n) {
        lstm_saved *sv = tg__alloc(t, sizeof *sv);
        if (!sv) return NULL;
        *sv = (lstm_saved){act, tanh_c, cp};
        n->saved = sv;
    }
    return hc;
}

/* The gradient through the new cell state c' = f*c + i*g, from h' and c'. */
static inline tg_real lstm_dc(tg_real dh, tg_real dcn, tg_real o, tg_real tc) {
    return dcn + dh * o * (1 - tc * tc);
}

/* One row: the gates' gradient (dg, [4H]) and the old cell's (dc, [H]);
 * either may be NULL. Branch-free loops over restrict rows, so they
 * vectorise. */
TG_VECTOR_CLONES static void
lstm_row_backward(tg_real *restrict dg, tg_real *restrict dc, const tg_real *restrict act,
                  const tg_real *restrict tanh_c, const tg_real *restrict c,
                  const tg_real *restrict dh, const tg_real *restrict dcn, int64_t H) {
    const tg_real *i = act, *f = act + H, *g = act + 2 * H, *o = act + 3 * H;
    if (dg)
        for (int64_t j = 0; j < H; j++) {
            tg_real d = lstm_dc(dh[j], dcn[j], o[j], tanh_c[j]);
            dg[j] += d * g[j] * i[j] * (1 - i[j]);
            dg[H + j] += d * c[j] * f[j] * (1 - f[j]);
            dg[2 * H + j] += d * i[j] * (1 - g[j] * g[j]);
            dg[3 * H + j] += dh[j] * tanh_c[j] * o[j] * (1 - o[j]);
        }
    if (dc)
        for (int64_t j = 0; j < H; j++) dc[j] += lstm_dc(dh[j], dcn[j], o[j], tanh_c[j]) * f[j];
}

void tg__lstm_gates_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const lstm_saved *sv = n->saved;
    tg_tensor *gates = n->in[0], *c = n->in[1];
    int64_t B = c->shape[0], H = c->shape[1];
    const tg_real *dh = n->out->grad, *dcn = n->out->grad + B * H;
    for (int64_t b = 0; b < B; b++)
        lstm_row_backward(gates->requires_grad ? gates->grad + b * 4 * H : NULL,
                          c->requires_grad ? c->grad + b * H : NULL, sv->act + b * 4 * H,
                          sv->tanh_c + b * H, sv->c + b * H, dh + b * H, dcn + b * H, H);
}

/* ---- GRU ---------------------------------------------------------------------- */

/* Saved: r, z, n [B, 3H] and the contiguous gh and h. */
typedef struct gru_saved {
    tg_real *act;
    const tg_real *gh, *h;
} gru_saved;

/* One row of the GRU: act gets r, z, n; out gets h'. */
TG_VECTOR_CLONES static void gru_row(tg_real *restrict out, tg_real *restrict act,
                                     const tg_real *restrict gx, const tg_real *restrict gh,
                                     const tg_real *restrict h, int64_t H) {
    tg_real *r = act, *z = act + H, *n = act + 2 * H;
    for (int64_t j = 0; j < 2 * H; j++) act[j] = gx[j] + gh[j]; /* r, z pre-activations */
    sigmoid_n(r, r, 2 * H);
    for (int64_t j = 0; j < H; j++) n[j] = gx[2 * H + j] + r[j] * gh[2 * H + j];
    tanh_n(n, n, H);
    for (int64_t j = 0; j < H; j++) out[j] = n[j] + z[j] * (h[j] - n[j]);
}

tg_tensor *tg_gru_gates(tg_tape *t, tg_tensor *gx, tg_tensor *gh, tg_tensor *h) {
    tg_tensor *in[3] = {gx, gh, h};
    if (!tg__begin(t, "tg_gru_gates", 3, in)) return NULL;
    char sh[TG_SHAPE_STR_MAX];
    if (h->ndim != 2) {
        tg__fail(t, "tg_gru_gates: h %s: expected [B,H]", TG_SHP(h, sh));
        return NULL;
    }
    int64_t B = h->shape[0], H = h->shape[1];
    if (!check_gates(t, "tg_gru_gates", "gx", gx, B, 3 * H) ||
        !check_gates(t, "tg_gru_gates", "gh", gh, B, 3 * H))
        return NULL;
    tg_tensor *out = tg__tensor(t, TG_SHAPE(B, H));
    const tg_real *px = tg__contig(t, gx), *ph = tg__contig(t, gh), *hp = tg__contig(t, h);
    tg_real *act = tg__alloc(t, (size_t)(3 * B * H) * sizeof(tg_real));
    if (!out || !px || !ph || !hp || !act) return NULL;
    for (int64_t b = 0; b < B; b++)
        gru_row(out->data + b * H, act + b * 3 * H, px + b * 3 * H, ph + b * 3 * H, hp + b * H, H);
    tg_node *n = tg__record(t, TG_OP_GRU_GATES, out, 3, in);
    if (n) {
        gru_saved *sv = tg__alloc(t, sizeof *sv);
        if (!sv) return NULL;
        *sv = (gru_saved){act, ph, hp};
        n->saved = sv;
    }
    return out;
}

/* The gradients of element j's pre-activations: r's, z's and n's tanh's. */
typedef struct gru_dpre {
    tg_real r, z, n;
} gru_dpre;

static inline gru_dpre gru_dpre_at(const tg_real *act, const tg_real *gh, const tg_real *h,
                                   const tg_real *dout, int64_t H, int64_t j) {
    tg_real r = act[j], z = act[H + j], nn = act[2 * H + j], d = dout[j];
    tg_real dn = d * (1 - z) * (1 - nn * nn);
    return (gru_dpre){dn * gh[2 * H + j] * r * (1 - r), d * (h[j] - nn) * z * (1 - z), dn};
}

/* One row: the gradients of the input's and the hidden state's gate
 * shares (dx, dgh: [3H]) and of h (dhp: [H]); any may be NULL. Each loop
 * recomputes what it needs, so it stays branch-free and vectorises. */
TG_VECTOR_CLONES static void gru_row_backward(tg_real *restrict dx, tg_real *restrict dgh,
                                              tg_real *restrict dhp, const tg_real *restrict act,
                                              const tg_real *restrict gh, const tg_real *restrict h,
                                              const tg_real *restrict dout, int64_t H) {
    if (dx)
        for (int64_t j = 0; j < H; j++) {
            gru_dpre d = gru_dpre_at(act, gh, h, dout, H, j);
            dx[j] += d.r, dx[H + j] += d.z, dx[2 * H + j] += d.n;
        }
    if (dgh)
        for (int64_t j = 0; j < H; j++) {
            gru_dpre d = gru_dpre_at(act, gh, h, dout, H, j);
            dgh[j] += d.r, dgh[H + j] += d.z, dgh[2 * H + j] += d.n * act[j];
        }
    if (dhp)
        for (int64_t j = 0; j < H; j++) dhp[j] += dout[j] * act[H + j];
}

void tg__gru_gates_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const gru_saved *sv = n->saved;
    tg_tensor *gx = n->in[0], *gh = n->in[1], *h = n->in[2];
    int64_t B = h->shape[0], H = h->shape[1];
    for (int64_t b = 0; b < B; b++)
        gru_row_backward(gx->requires_grad ? gx->grad + b * 3 * H : NULL,
                         gh->requires_grad ? gh->grad + b * 3 * H : NULL,
                         h->requires_grad ? h->grad + b * H : NULL, sv->act + b * 3 * H,
                         sv->gh + b * 3 * H, sv->h + b * H, n->out->grad + b * H, H);
}
