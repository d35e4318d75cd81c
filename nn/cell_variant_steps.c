/* The steps of the wishlist's cells (cell_variant.h): the core LSTM and GRU
 * with layer norm, peepholes and chosen activations as tape ops, and the
 * masks around them (recurrent and input dropout, zoneout). A layer norm is
 * tg_layer_norm with its gain and bias, which a fused step runs as one
 * instruction (autograd/fuse_rules.c). */
#include "cell_variant_impl.h"
#include "mask_hash.h"

#include "../core/fastmath.h"

/* The masks' streams, so each of a step's masks draws its own numbers. */
enum { STREAM_INPUT = 1, STREAM_H = 2, STREAM_ZONE = 3 /* + state index */ };

/* Entries [0, n) of a mask: in where entry i draws below p, else out. */
TG_VECTOR_CLONES
static void mask_fill(tg_real *restrict m, int64_t n, uint64_t key, double p, tg_real in,
                      tg_real out) {
    uint64_t limit = tg__mask_limit(p);
    for (int64_t i = 0; i < n; i++) m[i] = tg__mask_below(key, i, limit) ? in : out;
}

/* [B, W] (or [rows, W]) of scale where the hash draws at least p, else 0
 * (keep = true: 1 where it draws below p, the units zoneout keeps). */
static tg_tensor *mask(tg_tape *t, uint64_t seed, uint64_t stream, int64_t time, int64_t rows,
                       int64_t W, double p, double scale, bool keep) {
    tg_tensor *m = tg_empty(t, TG_SHAPE(rows, W));
    if (!m) return NULL;
    tg_real on = (tg_real)scale;
    mask_fill(m->data, rows * W, tg__mask_key(seed, stream, time), p, keep ? on : 0, keep ? 0 : on);
    return m;
}

static double eps_of(const tg__variant *v) {
    return v->opt.layer_norm_eps > 0 ? v->opt.layer_norm_eps : 1e-5;
}

/* i, f, g, o with the options; c' = f c + i g, h' = o act(LN(c')). */
static int lstm_core(tg_tape *t, const tg__variant *v, tg_cell_io *io) {
    tg_tensor *gx = io->gx, *gh = tg_cell_recurrent(t, io), *c = io->state[1], *g[4];
    tg_tensor *const *P = io->param;
    double eps = eps_of(v);
    if (v->p_ln >= 0) {
        if (!io->gx_ready) gx = tg_layer_norm(t, gx, P[v->p_ln], P[v->p_ln + 1], eps);
        gh = tg_layer_norm(t, gh, P[v->p_ln + 2], P[v->p_ln + 3], eps);
    }
    if (tg_chunk(t, tg_add(t, gx, gh), 4, 1, g) != 4) return -1;
    if (v->p_peep >= 0) {
        g[0] = tg_add(t, g[0], tg_mul(t, P[v->p_peep], c));
        g[1] = tg_add(t, g[1], tg_mul(t, P[v->p_peep + 1], c));
    }
    tg_tensor *i = tg_cell_activation_apply(t, v->gate, g[0]);
    tg_tensor *f = tg_cell_activation_apply(t, v->gate, g[1]);
    tg_tensor *cand = tg_cell_activation_apply(t, v->cand, g[2]);
    tg_label(t, i, "input_gate");
    tg_label(t, f, "forget_gate");
    tg_label(t, cand, "cell_candidate");
    tg_tensor *c1 = tg_add(t, tg_mul(t, f, c), tg_mul(t, i, cand));
    if (v->p_peep >= 0) g[3] = tg_add(t, g[3], tg_mul(t, P[v->p_peep + 2], c1));
    tg_tensor *o = tg_cell_activation_apply(t, v->gate, g[3]);
    tg_label(t, o, "output_gate");
    tg_tensor *cn = v->p_ln >= 0 ? tg_layer_norm(t, c1, P[v->p_ln + 4], P[v->p_ln + 5], eps) : c1;
    io->next[1] = c1;
    io->next[0] = tg_mul(t, o, tg_cell_activation_apply(t, v->cand, cn));
    return io->next[0] ? 0 : -1;
}

/* r, z, n with the options; h' = (1 - z) n + z h. */
static int gru_core(tg_tape *t, const tg__variant *v, tg_cell_io *io) {
    tg_tensor *gx = io->gx, *gh = tg_cell_recurrent(t, io), *h = io->state[0], *x3[3], *h3[3];
    tg_tensor *const *P = io->param;
    if (v->p_ln >= 0) {
        if (!io->gx_ready) gx = tg_layer_norm(t, gx, P[v->p_ln], P[v->p_ln + 1], eps_of(v));
        gh = tg_layer_norm(t, gh, P[v->p_ln + 2], P[v->p_ln + 3], eps_of(v));
    }
    if (tg_chunk(t, gx, 3, 1, x3) != 3 || tg_chunk(t, gh, 3, 1, h3) != 3) return -1;
    tg_tensor *r = tg_cell_activation_apply(t, v->gate, tg_add(t, x3[0], h3[0]));
    tg_tensor *z = tg_cell_activation_apply(t, v->gate, tg_add(t, x3[1], h3[1]));
    tg_tensor *n = tg_cell_activation_apply(t, v->cand, tg_add(t, x3[2], tg_mul(t, r, h3[2])));
    tg_label(t, r, "reset_gate");
    tg_label(t, z, "update_gate");
    tg_label(t, n, "new_gate");
    io->next[0] = tg_add(t, n, tg_mul(t, z, tg_sub(t, h, n)));
    return io->next[0] ? 0 : -1;
}

/* The layer norm of every step's input product at once (tg_cell.gates_all):
 * one op over [T*B, G*H] rows (tg_layer_norm, the composed form's
 * numbers) instead of nine per step; the steps then normalise only what
 * depends on the state. */
tg_tensor *tg__variant_gates(tg_tape *t, const tg_cell *cell, tg_tensor *gx,
                             tg_tensor *const *param) {
    const tg__variant *v = cell->ctx;
    return tg_layer_norm(t, gx, param[v->p_ln], param[v->p_ln + 1], eps_of(v));
}

int tg__variant_core(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    const tg__variant *v = cell->ctx;
    return v->lstm ? lstm_core(t, v, io) : gru_core(t, v, io);
}

/* Zoneout of state k: keep the old value where the step's mask says so
 * (training), or mix p of the old with 1-p of the new (evaluation). */
static tg_tensor *zoneout(tg_tape *t, const tg_cell_io *io, int k, double p, tg_tensor *next) {
    tg_tensor *old = io->state[k];
    if (p <= 0 || !next) return next;
    if (!io->training) return tg_add(t, next, tg_scale(t, tg_sub(t, old, next), p));
    tg_tensor *keep = mask(t, io->seed, STREAM_ZONE + (uint64_t)k, io->time, next->shape[0],
                           next->shape[1], p, 1, true);
    tg_label(t, keep, "zoneout_mask");
    return tg_where(t, keep, old, next);
}

/* The core's step between the masks: recurrent dropout on the h its
 * product reads, zoneout on the new states. */
static int outer_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io, bool composed) {
    const tg__variant *v = cell->ctx;
    tg_cell_io c = *io;
    double p = v->opt.recurrent_dropout;
    if (p > 0 && io->training) {
        tg_tensor *h = tg_cell_h_in(io);
        tg_tensor *m =
            mask(t, io->seed, STREAM_H, -1, h->shape[0], h->shape[1], p, 1 / (1 - p), false);
        tg_label(t, m, "recurrent_dropout_mask");
        c.h_in = tg_mul(t, h, m);
    }
    if (tg_cell_step(t, v->core, composed, &c) != 0) return -1;
    io->fusion = c.fusion;
    io->next[0] = zoneout(t, io, 0, v->opt.zoneout_h, c.next[0]);
    if (v->lstm) io->next[1] = zoneout(t, io, 1, v->opt.zoneout_c, c.next[1]);
    return tg_tape_error(t) ? -1 : 0;
}

int tg__variant_composed(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    return outer_step(t, cell, io, true);
}

int tg__variant_fused(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    return outer_step(t, cell, io, false);
}

tg_tensor *tg__variant_input(tg_tape *t, const tg_cell *cell, tg_tensor *x, bool training,
                             uint64_t seed) {
    const tg__variant *v = cell->ctx;
    double p = v->opt.input_dropout;
    if (!x || p <= 0 || !training) return x;
    if (x->ndim != 3) {
        tg_tape_fail(t, "%s: input_dropout: expected the input [T, B, in]", cell->name);
        return NULL;
    }
    /* one mask per sequence: [B, in], the same at every step */
    tg_tensor *m = mask(t, seed, STREAM_INPUT, -1, x->shape[1], x->shape[2], p, 1 / (1 - p), false);
    tg_label(t, m, "input_dropout_mask");
    return tg_mul(t, x, m);
}
