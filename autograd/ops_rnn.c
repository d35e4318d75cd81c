/* Fused recurrent cell kernels: the LSTM and GRU nonlinearities and their
 * backward in one pass each, instead of a dozen small ops per step. The
 * composed versions in nn/rnn.c remain the reference; tests keep them equal. */
#include "../core/fastmath.h"
#include "op.h"

#include <string.h>

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

/* Saved for backward: the activated gates i, f, g, o [B, 4H], c (contiguous)
 * [B, H] and c' (in the output) [B, H], whose tanh backward recomputes
 * rather than keep; for tg_lstm_step also h and W_hh as the product read
 * them. */
typedef struct lstm_saved {
    const tg_real *act, *c, *cn, *h, *w;
    int64_t rsw, csw;
} lstm_saved;

/* c' = f*c + i*g, h' = o*tanh(c') for one row; act holds i, f, g, o. */
TG_VECTOR_CLONES static void cell_forward(tg_real *restrict cn, tg_real *restrict h,
                                          const tg_real *restrict act, const tg_real *restrict c,
                                          int64_t H) {
    const tg_real *i = act, *f = act + H, *g = act + 2 * H, *o = act + 3 * H;
    for (int64_t j = 0; j < H; j++) cn[j] = f[j] * c[j] + i[j] * g[j];
    tg_tanh_n(h, cn, H);
    for (int64_t j = 0; j < H; j++) h[j] *= o[j];
}

/* Rows of a cell are split over threads in parts of at least this many
 * gate values: fewer do not pay for waking a thread. */
#define ROWS_GRAIN_VALUES 8192

static int64_t rows_grain(int64_t row_values) {
    return row_values >= ROWS_GRAIN_VALUES ? 1 : ROWS_GRAIN_VALUES / row_values;
}

/* g (and act) [B, 4H]; gx [B, 4H] and bias [4H] are added to g first when
 * given. */
typedef struct lstm_job {
    tg_real *act;
    const tg_real *g, *gx, *bias, *c;
    tg_real *hc;
    int64_t B, H;
} lstm_job;

/* out = (gx + bias) + g, summed in the order of a GEMM accumulating g onto
 * gx + bias (so a step's gates equal tg_linear_add's bit for bit). */
TG_VECTOR_CLONES static void add_gx(tg_real *restrict out, const tg_real *restrict g,
                                    const tg_real *restrict gx, const tg_real *restrict bias,
                                    int64_t n) {
    if (bias)
        for (int64_t j = 0; j < n; j++) out[j] = (gx[j] + bias[j]) + g[j];
    else
        for (int64_t j = 0; j < n; j++) out[j] = gx[j] + g[j];
}

static void lstm_rows_part(void *ctx, int64_t lo, int64_t hi) {
    const lstm_job *j = ctx;
    int64_t B = j->B, H = j->H;
    tg_real *h = j->hc, *cn = j->hc + B * H;
    for (int64_t b = lo; b < hi; b++) {
        const tg_real *gb = j->g + b * 4 * H;
        tg_real *ab = j->act + b * 4 * H;
        if (j->gx) {
            add_gx(ab, gb, j->gx + b * 4 * H, j->bias, 4 * H);
            gb = ab;
        }
        tg_sigmoid_n(ab, gb, 2 * H);             /* i, f */
        tg_tanh_n(ab + 2 * H, gb + 2 * H, H);    /* g */
        tg_sigmoid_n(ab + 3 * H, gb + 3 * H, H); /* o */
        cell_forward(cn + b * H, h + b * H, ab, j->c + b * H, H);
    }
}

/* The cell over B rows: act = the gates g (+ gx + bias) [B, 4H] activated
 * (g may be act), then hc [2, B, H]. */
static void lstm_rows(tg_real *act, const tg_real *g, const tg_real *gx, const tg_real *bias,
                      tg_real *hc, const tg_real *c, int64_t B, int64_t H) {
    lstm_job j = {act, g, gx, bias, c, hc, B, H};
    tg__parallel_for(B, rows_grain(4 * H), lstm_rows_part, &j);
}

/* Records the node of op (LSTM_GATES or LSTM_STEP) with what backward needs. */
static void lstm_record(tg_tape *t, int op, tg_tensor *hc, int n_in, tg_tensor **in,
                        lstm_saved saved) {
    tg_node *n = tg__record(t, op, hc, n_in, in);
    lstm_saved *sv = n ? tg__alloc(t, sizeof *sv) : NULL;
    if (sv) *sv = saved, n->saved = sv;
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
    tg_real *act = tg__alloc(t, (size_t)(4 * B * H) * sizeof(tg_real));
    if (!hc || !g || !cp || !act) return NULL;
    lstm_rows(act, g, NULL, NULL, hc->data, cp, B, H);
    lstm_record(t, TG_OP_LSTM_GATES, hc, 2, in,
                (lstm_saved){act, cp, hc->data + B * H, NULL, NULL, 0, 0});
    return hc;
}

/* The gates are computed into their own buffer (the product by the GEMM,
 * gx and the bias added by the cell kernel, split over threads) and
 * activated there in place: one [B, 4H] buffer per step instead of a
 * pre-activation and its activation. */
tg_tensor *tg_lstm_step(tg_tape *t, tg_tensor *gx, tg_tensor *h, tg_tensor *w_hh, tg_tensor *b_hh,
                        tg_tensor *c) {
    tg_tensor *in[5] = {gx, h, w_hh, c, b_hh};
    if (!tg__begin(t, "tg_lstm_step", 4, in)) return NULL;
    char s1[TG_SHAPE_STR_MAX], s2[TG_SHAPE_STR_MAX];
    if (c->ndim != 2 || h->ndim != 2 || h->shape[0] != c->shape[0]) {
        tg__fail(t, "tg_lstm_step: h %s and c %s: expected both [B,H]", TG_SHP(h, s1),
                 TG_SHP(c, s2));
        return NULL;
    }
    if (h->shape[1] > c->shape[1]) { /* narrower is a projected LSTM's (proj_size) h */
        tg__fail(t, "tg_lstm_step: h %s is wider than c %s: expected [B,P] with P <= H",
                 TG_SHP(h, s1), TG_SHP(c, s2));
        return NULL;
    }
    int64_t B = c->shape[0], H = c->shape[1], P = h->shape[1];
    if (!check_gates(t, "tg_lstm_step", "gx", gx, B, 4 * H)) return NULL;
    if (w_hh->ndim != 2 || w_hh->shape[0] != 4 * H || w_hh->shape[1] != P) {
        tg__fail(t, "tg_lstm_step: w_hh %s: expected [%lld,%lld]", TG_SHP(w_hh, s1),
                 (long long)(4 * H), (long long)P);
        return NULL;
    }
    if (b_hh && (b_hh->ndim != 1 || b_hh->shape[0] != 4 * H)) {
        tg__fail(t, "tg_lstm_step: b_hh %s: expected [%lld]", TG_SHP(b_hh, s1),
                 (long long)(4 * H));
        return NULL;
    }
    /* the product as a tg_linear that records nothing: its output is this
     * op's scratch */
    bool was = tg_set_grad_enabled(t, false);
    tg_tensor *gates = tg_linear(t, h, w_hh, NULL);
    tg_set_grad_enabled(t, was);
    tg_tensor *hc = tg__tensor(t, TG_SHAPE(2, B, H));
    const tg_real *cp = tg__contig(t, c), *hp = tg__contig(t, h), *wp = tg__contig(t, w_hh);
    const tg_real *gxp = tg__contig(t, gx), *bp = b_hh ? tg__contig(t, b_hh) : NULL;
    if (!gates || !hc || !cp || !hp || !wp || !gxp || (b_hh && !bp)) return NULL;
    lstm_rows(gates->data, gates->data, gxp, bp, hc->data, cp, B, H);
    lstm_record(t, TG_OP_LSTM_STEP, hc, b_hh ? 5 : 4, in,
                (lstm_saved){gates->data, cp, hc->data + B * H, hp, wp, P, 1});
    return hc;
}

/* The gradient through the new cell state c' = f*c + i*g, from h' and c'. */
static inline tg_real lstm_dc(tg_real dh, tg_real dcn, tg_real o, tg_real tc) {
    return dcn + dh * o * (1 - tc * tc);
}

/* Element j of the gates' gradient, given dc' (d) and tanh(c') (tc). */
static inline void lstm_dg_at(tg_real *restrict dg, const tg_real *restrict act,
                              const tg_real *restrict c, const tg_real *restrict dh, int64_t H,
                              int64_t j, tg_real d, tg_real tc) {
    const tg_real *i = act, *f = act + H, *g = act + 2 * H, *o = act + 3 * H;
    dg[j] += d * g[j] * i[j] * (1 - i[j]);
    dg[H + j] += d * c[j] * f[j] * (1 - f[j]);
    dg[2 * H + j] += d * i[j] * (1 - g[j] * g[j]);
    dg[3 * H + j] += dh[j] * tc * o[j] * (1 - o[j]);
}

/* One row: the gates' gradient (dg, [4H]) and the old cell's (dc, [H]);
 * either may be NULL; with both, one loop computes tanh(c') and dc' once
 * for both. (Each loop vectorises: -fopt-info-vec says so.) */
TG_VECTOR_CLONES static void
lstm_row_backward(tg_real *restrict dg, tg_real *restrict dc, const tg_real *restrict act,
                  const tg_real *restrict cn, const tg_real *restrict c, const tg_real *restrict dh,
                  const tg_real *restrict dcn, int64_t H) {
    const tg_real *f = act + H, *o = act + 3 * H;
    if (dg && dc)
        for (int64_t j = 0; j < H; j++) {
            tg_real tc = tg_tanh_fast(cn[j]), d = lstm_dc(dh[j], dcn[j], o[j], tc);
            lstm_dg_at(dg, act, c, dh, H, j, d, tc);
            dc[j] += d * f[j];
        }
    else if (dg)
        for (int64_t j = 0; j < H; j++) {
            tg_real tc = tg_tanh_fast(cn[j]);
            lstm_dg_at(dg, act, c, dh, H, j, lstm_dc(dh[j], dcn[j], o[j], tc), tc);
        }
    else if (dc)
        for (int64_t j = 0; j < H; j++)
            dc[j] += lstm_dc(dh[j], dcn[j], o[j], tg_tanh_fast(cn[j])) * f[j];
}

/* Which of a row's gradients are written and how: dg/dc NULL (not
 * wanted), and whether each assigns (set) or adds. An assigned row is
 * zeroed just before the row's loop adds to it: it is then in L1, and the
 * loop is the adding one (a select per element instead kept GCC from
 * vectorising it, 5x slower). */
typedef struct lstm_back_out {
    tg_real *dg, *dc;
    bool dg_set, dc_set;
} lstm_back_out;

/* Backward over rows: dg (may be NULL) and dc (may be NULL) get the rows'
 * gradients (assigned or added, as out says); with gx_grad, dg is a
 * scratch that is also added there. */
typedef struct lstm_back_job {
    const lstm_saved *sv;
    lstm_back_out out;
    tg_real *gx_grad;
    const tg_real *dh, *dcn;
    int64_t H;
} lstm_back_job;

static void lstm_back_part(void *ctx, int64_t lo, int64_t hi) {
    const lstm_back_job *j = ctx;
    int64_t H = j->H;
    tg_real *dg = j->out.dg, *dc = j->out.dc;
    for (int64_t r = lo; r < hi; r++) {
        tg_real *dgr = dg ? dg + r * 4 * H : NULL, *dcr = dc ? dc + r * H : NULL;
        if (dgr && j->out.dg_set) memset(dgr, 0, (size_t)(4 * H) * sizeof(tg_real));
        if (dcr && j->out.dc_set) memset(dcr, 0, (size_t)H * sizeof(tg_real));
        lstm_row_backward(dgr, dcr, j->sv->act + r * 4 * H, j->sv->cn + r * H, j->sv->c + r * H,
                          j->dh + r * H, j->dcn + r * H, H);
    }
    if (j->gx_grad)
        for (int64_t e = lo * 4 * H; e < hi * 4 * H; e++) j->gx_grad[e] += j->out.dg[e];
}

static void lstm_backward_rows(lstm_back_job *j, int64_t B) {
    tg__parallel_for(B, rows_grain(4 * j->H), lstm_back_part, j);
}

void tg__lstm_gates_backward(tg_tape *t, tg_node *n) {
    (void)t;
    tg_tensor *gates = n->in[0], *c = n->in[1];
    int64_t B = c->shape[0], H = c->shape[1];
    lstm_back_out o = {gates->requires_grad ? gates->grad : NULL, c->requires_grad ? c->grad : NULL,
                       false, false};
    lstm_back_job j = {n->saved, o, NULL, n->out->grad, n->out->grad + B * H, H};
    lstm_backward_rows(&j, B);
}

/* The gates' gradient dg goes to gx as it is, and through the product to
 * h, W_hh and b_hh. Inputs {gx, h, w_hh, c[, b_hh]}. dg is assigned into a
 * scratch, not zeroed then added to, and the scratch is given back to the
 * arena at the end, so every step's backward writes the same memory, still
 * in cache (writing straight into gx's never-touched gradient buffer
 * instead was slower: each store first fetched its line). gx's gradient
 * gets dg by a copy where its buffer is fresh (ops.def: this op assigns). */
void tg__lstm_step_backward(tg_tape *t, tg_node *n) {
    const lstm_saved *sv = n->saved;
    tg_tensor *gx = n->in[0], *h = n->in[1], *w = n->in[2], *c = n->in[3];
    tg_tensor *b = n->n_in > 4 ? n->in[4] : NULL;
    int64_t B = c->shape[0], H = c->shape[1];
    size_t bytes = (size_t)(4 * B * H) * sizeof(tg_real);
    tg__tape_mark scratch = tg__tape_mark_get(t);
    tg_real *dg = tg__alloc(t, bytes);
    if (!dg) return;
    bool gx_first = gx->requires_grad && tg__grad_first(gx);
    lstm_back_out o = {dg, c->requires_grad ? c->grad : NULL, true,
                       c->requires_grad && tg__grad_first(c)};
    tg_real *gx_add = gx->requires_grad && !gx_first ? gx->grad : NULL;
    lstm_back_job j = {sv, o, gx_add, n->out->grad, n->out->grad + B * H, H};
    lstm_backward_rows(&j, B);
    if (gx_first) memcpy(gx->grad, dg, bytes);
    tg__linear_grads(t, h, sv->h, w, sv->w, sv->rsw, sv->csw, b, dg, B);
    tg__tape_release(t, scratch); /* nothing since the mark but dg */
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
    tg_sigmoid_n(r, r, 2 * H);
    for (int64_t j = 0; j < H; j++) n[j] = gx[2 * H + j] + r[j] * gh[2 * H + j];
    tg_tanh_n(n, n, H);
    for (int64_t j = 0; j < H; j++) out[j] = n[j] + z[j] * (h[j] - n[j]);
}

/* Rows of the GRU forward (out, act from gx, gh, h) or backward (dx, dgh,
 * dhp from act, gh, h, dout). */
typedef struct gru_job {
    tg_real *out, *act;
    const tg_real *gx, *gh, *h;
    tg_real *dx, *dgh, *dhp;
    const tg_real *dout;
    int64_t H;
} gru_job;

static void gru_rows_part(void *ctx, int64_t lo, int64_t hi) {
    const gru_job *j = ctx;
    int64_t H = j->H;
    for (int64_t b = lo; b < hi; b++)
        gru_row(j->out + b * H, j->act + b * 3 * H, j->gx + b * 3 * H, j->gh + b * 3 * H,
                j->h + b * H, H);
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
    gru_job j = {out->data, act, px, ph, hp, NULL, NULL, NULL, NULL, H};
    tg__parallel_for(B, rows_grain(3 * H), gru_rows_part, &j);
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

static void gru_back_part(void *ctx, int64_t lo, int64_t hi) {
    const gru_job *j = ctx;
    int64_t H = j->H;
    for (int64_t b = lo; b < hi; b++)
        gru_row_backward(j->dx ? j->dx + b * 3 * H : NULL, j->dgh ? j->dgh + b * 3 * H : NULL,
                         j->dhp ? j->dhp + b * H : NULL, j->act + b * 3 * H, j->gh + b * 3 * H,
                         j->h + b * H, j->dout + b * H, H);
}

void tg__gru_gates_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const gru_saved *sv = n->saved;
    tg_tensor *gx = n->in[0], *gh = n->in[1], *h = n->in[2];
    int64_t B = h->shape[0], H = h->shape[1];
    gru_job j = {NULL,
                 sv->act,
                 NULL,
                 sv->gh,
                 sv->h,
                 gx->requires_grad ? gx->grad : NULL,
                 gh->requires_grad ? gh->grad : NULL,
                 h->requires_grad ? h->grad : NULL,
                 n->out->grad,
                 H};
    tg__parallel_for(B, rows_grain(3 * H), gru_back_part, &j);
}
