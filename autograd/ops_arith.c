/* Broadcasting binary ops: add, sub, mul, div, where. Each walks the result
 * in a 4-d frame; an operand read (or a gradient written) through stride 0
 * is broadcast (or summed over), which is all broadcasting needs. */
#include "op.h"

/* Shared by the four arithmetic ops: checks, broadcasts, allocates. */
static tg_tensor *binary_begin(tg_tape *t, const char *op, tg_tensor *a, tg_tensor *b,
                               tg_shape *out_shape) {
    tg_tensor *in[2] = {a, b};
    if (!tg__begin(t, op, 2, in)) return NULL;
    if (tg_same_shape(a, b)) return tg__tensor(t, tg_tensor_shape(a));
    if (!tg_broadcast_shape(tg_tensor_shape(a), tg_tensor_shape(b), out_shape)) {
        char sa[TG_SHAPE_STR_MAX], sb[TG_SHAPE_STR_MAX];
        tg__fail(t, "%s: shapes %s and %s do not broadcast", op, TG_SHP(a, sa),
                 TG_SHP(b, sb));
        return NULL;
    }
    return tg__tensor(t, *out_shape);
}

enum { ADD, SUB, MUL, DIV };

/* Same shapes, both contiguous: the common case in a recurrent cell, kept
 * free of any frame arithmetic. */
static bool flat(const tg_tensor *a, const tg_tensor *b) {
    return tg_same_shape(a, b) && tg_is_contiguous(a) && tg_is_contiguous(b);
}

/* out = a (op) b over the frame of out's shape. */
static void binary_forward(int op, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
    if (flat(a, b)) {
        const tg_real *pa = a->data, *pb = b->data;
        tg_real *o = out->data;
        int64_t n = out->numel;
        switch (op) {
        case ADD: for (int64_t j = 0; j < n; j++) o[j] = pa[j] + pb[j]; break;
        case SUB: for (int64_t j = 0; j < n; j++) o[j] = pa[j] - pb[j]; break;
        case MUL: for (int64_t j = 0; j < n; j++) o[j] = pa[j] * pb[j]; break;
        case DIV: for (int64_t j = 0; j < n; j++) o[j] = pa[j] / pb[j]; break;
        }
        return;
    }
    tg_shape s = tg_tensor_shape(out);
    tg_frame f = tg_frame_of(s);
    int64_t sa[4], sb[4];
    tg_frame_strides(a, s, sa);
    tg_frame_strides(b, s, sb);
    tg_real *o = out->data;
    for (int64_t i0 = 0; i0 < f.dim[0]; i0++)
        for (int64_t i1 = 0; i1 < f.dim[1]; i1++)
            for (int64_t i2 = 0; i2 < f.dim[2]; i2++) {
                const tg_real *pa = a->data + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const tg_real *pb = b->data + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                int64_t n = f.dim[3], xa = sa[3], xb = sb[3];
                switch (op) {
                case ADD: for (int64_t j = 0; j < n; j++) o[j] = pa[j * xa] + pb[j * xb]; break;
                case SUB: for (int64_t j = 0; j < n; j++) o[j] = pa[j * xa] - pb[j * xb]; break;
                case MUL: for (int64_t j = 0; j < n; j++) o[j] = pa[j * xa] * pb[j * xb]; break;
                case DIV: for (int64_t j = 0; j < n; j++) o[j] = pa[j * xa] / pb[j * xb]; break;
                }
                o += n;
            }
}

/* Adds d(out)/d(x) * grad_out into x->grad, where x is operand `which` (0 =
 * a, 1 = b) of `op`; the gradient is summed over x's broadcast dimensions. */
static void binary_backward(int op, int which, const tg_tensor *out, tg_tensor *x,
                            const tg_tensor *a, const tg_tensor *b) {
    if (flat(a, b)) {
        const tg_real *go = out->grad, *pa = a->data, *pb = b->data;
        tg_real *gx = x->grad;
        int64_t n = out->numel;
        switch (op * 2 + which) {
        case ADD * 2: case ADD * 2 + 1: case SUB * 2:
            for (int64_t j = 0; j < n; j++) gx[j] += go[j];
            break;
        case SUB * 2 + 1: for (int64_t j = 0; j < n; j++) gx[j] -= go[j]; break;
        case MUL * 2: for (int64_t j = 0; j < n; j++) gx[j] += go[j] * pb[j]; break;
        case MUL * 2 + 1: for (int64_t j = 0; j < n; j++) gx[j] += go[j] * pa[j]; break;
        case DIV * 2: for (int64_t j = 0; j < n; j++) gx[j] += go[j] / pb[j]; break;
        default:
            for (int64_t j = 0; j < n; j++) gx[j] -= go[j] * pa[j] / (pb[j] * pb[j]);
        }
        return;
    }
    tg_shape s = tg_tensor_shape(out);
    tg_frame f = tg_frame_of(s);
    int64_t gx[4], sa[4], sb[4];
    tg_frame_contig_strides(tg_tensor_shape(x), s, gx);
    tg_frame_strides(a, s, sa);
    tg_frame_strides(b, s, sb);
    const tg_real *go = out->grad;
    for (int64_t i0 = 0; i0 < f.dim[0]; i0++)
        for (int64_t i1 = 0; i1 < f.dim[1]; i1++)
            for (int64_t i2 = 0; i2 < f.dim[2]; i2++) {
                tg_real *px = x->grad + i0 * gx[0] + i1 * gx[1] + i2 * gx[2];
                const tg_real *pa = a->data + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const tg_real *pb = b->data + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                int64_t n = f.dim[3], xs = gx[3], xa = sa[3], xb = sb[3];
                for (int64_t j = 0; j < n; j++) {
                    tg_real g = go[j], d;
                    switch (op) {
                    case ADD: d = g; break;
                    case SUB: d = which ? -g : g; break;
                    case MUL: d = which ? g * pa[j * xa] : g * pb[j * xb]; break;
                    default: { /* DIV: d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 */
                        tg_real vb = pb[j * xb];
                        d = which ? -g * pa[j * xa] / (vb * vb) : g / vb;
                    }
                    }
                    px[j * xs] += d;
                }
                go += n;
            }
}

static tg_tensor *binary(tg_tape *t, int op, int op_id, const char *name, tg_tensor *a,
                         tg_tensor *b) {
    tg_shape s;
    tg_tensor *out = binary_begin(t, name, a, b, &s);
    if (!out) return NULL;
    binary_forward(op, out, a, b);
    tg_tensor *in[2] = {a, b};
    tg__record(t, op_id, out, 2, in);
    return out;
}

static void binary_grads(int op, tg_node *n) {
    for (int k = 0; k < 2; k++)
        if (n->in[k]->requires_grad)
            binary_backward(op, k, n->out, n->in[k], n->in[0], n->in[1]);
}

tg_tensor *tg_add(tg_tape *t, tg_tensor *a, tg_tensor *b) {
    return binary(t, ADD, TG_OP_ADD, "tg_add", a, b);
}
void tg__add_backward(tg_tape *t, tg_node *n) { (void)t; binary_grads(ADD, n); }

tg_tensor *tg_sub(tg_tape *t, tg_tensor *a, tg_tensor *b) {
    return binary(t, SUB, TG_OP_SUB, "tg_sub", a, b);
}
void tg__sub_backward(tg_tape *t, tg_node *n) { (void)t; binary_grads(SUB, n); }

tg_tensor *tg_mul(tg_tape *t, tg_tensor *a, tg_tensor *b) {
    return binary(t, MUL, TG_OP_MUL, "tg_mul", a, b);
}
void tg__mul_backward(tg_tape *t, tg_node *n) { (void)t; binary_grads(MUL, n); }

tg_tensor *tg_div(tg_tape *t, tg_tensor *a, tg_tensor *b) {
    return binary(t, DIV, TG_OP_DIV, "tg_div", a, b);
}
void tg__div_backward(tg_tape *t, tg_node *n) { (void)t; binary_grads(DIV, n); }

/* out = where(mask, a, b) over the frame of out's shape, without it when
 * all are of one shape and contiguous (a zoneout step's case). */
static void where_forward(tg_tensor *out, const tg_tensor *mask, const tg_tensor *a,
                          const tg_tensor *b) {
    if (flat(mask, a) && flat(a, b)) {
        const tg_real *pm = mask->data, *pa = a->data, *pb = b->data;
        tg_real *o = out->data;
        for (int64_t i = 0, n = out->numel; i < n; i++) {
            tg_real x = pa[i], y = pb[i]; /* both read: a select, not a branch */
            o[i] = pm[i] != 0 ? x : y;
        }
        return;
    }
    tg_shape s = tg_tensor_shape(out);
    tg_frame f = tg_frame_of(s);
    int64_t sm[4], sa[4], sb[4], o = 0;
    tg_frame_strides(mask, s, sm);
    tg_frame_strides(a, s, sa);
    tg_frame_strides(b, s, sb);
    for (int64_t i0 = 0; i0 < f.dim[0]; i0++)
        for (int64_t i1 = 0; i1 < f.dim[1]; i1++)
            for (int64_t i2 = 0; i2 < f.dim[2]; i2++)
                for (int64_t i3 = 0; i3 < f.dim[3]; i3++) {
                    int64_t m = i0 * sm[0] + i1 * sm[1] + i2 * sm[2] + i3 * sm[3];
                    int64_t ja = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3];
                    int64_t jb = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3];
                    out->data[o++] = mask->data[m] != 0 ? a->data[ja] : b->data[jb];
                }
}

/* where(mask, a, b): the mask is data, never differentiated. The frame is
 * the broadcast of all three shapes. */
tg_tensor *tg_where(tg_tape *t, tg_tensor *mask, tg_tensor *a, tg_tensor *b) {
    tg_tensor *in[3] = {mask, a, b};
    if (!tg__begin(t, "tg_where", 3, in)) return NULL;
    tg_shape s;
    if (!tg_broadcast_shape(tg_tensor_shape(mask), tg_tensor_shape(a), &s) ||
        !tg_broadcast_shape(s, tg_tensor_shape(b), &s)) {
        char sm[TG_SHAPE_STR_MAX], sa[TG_SHAPE_STR_MAX], sb[TG_SHAPE_STR_MAX];
        tg__fail(t, "tg_where: shapes %s, %s and %s do not broadcast", TG_SHP(mask, sm),
                 TG_SHP(a, sa), TG_SHP(b, sb));
        return NULL;
    }
    tg_tensor *out = tg__tensor(t, s);
    if (!out) return NULL;
    where_forward(out, mask, a, b);
    /* the mask takes no gradient: record only a and b as inputs, keep the
     * mask for backward */
    tg_node *n = tg__record(t, TG_OP_WHERE, out, 2, in + 1);
    if (n) n->saved = mask;
    return out;
}

/* where's gradient, all of one shape and contiguous: g to ga where the
 * mask is set, else to gb (either may be NULL). Each element is written
 * back as a select, so the loops vectorise. */
static void where_grad(tg_real *restrict ga, tg_real *restrict gb, const tg_real *restrict m,
                       const tg_real *restrict g, int64_t n) {
    if (ga)
        for (int64_t i = 0; i < n; i++) {
            tg_real old = ga[i], sum = old + g[i];
            ga[i] = m[i] != 0 ? sum : old;
        }
    if (gb)
        for (int64_t i = 0; i < n; i++) {
            tg_real old = gb[i], sum = old + g[i];
            gb[i] = m[i] != 0 ? old : sum;
        }
}

void tg__where_backward(tg_tape *t, tg_node *n) {
    (void)t;
    const tg_tensor *mask = n->saved, *out = n->out;
    tg_tensor *a = n->in[0], *b = n->in[1];
    if (flat(mask, a) && flat(a, b)) {
        where_grad(a->requires_grad ? a->grad : NULL, b->requires_grad ? b->grad : NULL,
                   mask->data, out->grad, out->numel);
        return;
    }
    tg_shape s = tg_tensor_shape(out);
    tg_frame f = tg_frame_of(s);
    int64_t sm[4], ga[4], gb[4], o = 0;
    tg_frame_strides(mask, s, sm);
    tg_frame_contig_strides(tg_tensor_shape(a), s, ga);
    tg_frame_contig_strides(tg_tensor_shape(b), s, gb);
    for (int64_t i0 = 0; i0 < f.dim[0]; i0++)
        for (int64_t i1 = 0; i1 < f.dim[1]; i1++)
            for (int64_t i2 = 0; i2 < f.dim[2]; i2++)
                for (int64_t i3 = 0; i3 < f.dim[3]; i3++) {
                    tg_real g = out->grad[o++];
                    int64_t m = i0 * sm[0] + i1 * sm[1] + i2 * sm[2] + i3 * sm[3];
                    if (mask->data[m] != 0) {
                        if (a->requires_grad)
                            a->grad[i0 * ga[0] + i1 * ga[1] + i2 * ga[2] + i3 * ga[3]] += g;
                    } else if (b->requires_grad) {
                        b->grad[i0 * gb[0] + i1 * gb[1] + i2 * gb[2] + i3 * gb[3]] += g;
                    }
                }
}
