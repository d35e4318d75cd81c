/* Anomaly detection (tg_tape_set_detect_anomaly), as PyTorch's
 * detect_anomaly: the first op that produced a non-finite value, named with
 * its scope, its inputs' ranges and the direction (forward or backward).
 *
 * Forward outputs are checked when backward starts, in execution order, so
 * the first bad node found is the first one made (some ops record their
 * node before computing, so a check at record time would see nothing).
 * A forward output counts when it holds a NaN, or an infinity that none of
 * its inputs had: a mask of -inf added to attention scores is not an
 * anomaly, log(0) and an overflowing product are. Gradients count at any
 * non-finite value: after each node's backward, the gradients it added
 * into its inputs that live on the tape. Parameters' gradients (gathered
 * over all their uses at the end of backward) are checked once, after. */
#include "inspect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef TG_DOUBLE
typedef uint64_t real_bits;
#define EXP_MASK 0x7ff0000000000000ull
#else
typedef uint32_t real_bits;
#define EXP_MASK 0x7f800000u
#endif

/* Whether v[0..n) holds a non-finite value: the exponent bits all set.
 * Integer compares, so the loop vectorises (a float sum would not, and
 * isfinite may be folded away under -ffast-math). */
static bool any_nonfinite(const tg_real *v, int64_t n) {
    unsigned bad = 0;
    for (int64_t i = 0; i < n; i++) {
        real_bits b;
        memcpy(&b, &v[i], sizeof b);
        bad |= (b & EXP_MASK) == EXP_MASK;
    }
    return bad != 0;
}

/* What a tensor's values (or gradient) hold, for a message. */
typedef struct range {
    double lo, hi; /* over the finite values (NaN when there are none) */
    int64_t nan, inf, n;
} range;

static range range_of(const tg_tensor *x, bool grad) {
    range r = {NAN, NAN, 0, 0, x->numel};
    bool contig = grad || tg_is_contiguous(x);
    for (int64_t i = 0; i < x->numel; i++) {
        double v = (double)(grad ? x->grad[i] : contig ? x->data[i] : tg_at(x, i));
        if (isnan(v))
            r.nan++;
        else if (isinf(v))
            r.inf++;
        else {
            if (!(v >= r.lo)) r.lo = v;
            if (!(v <= r.hi)) r.hi = v;
        }
    }
    return r;
}

static bool has_inf(const tg_tensor *x) {
    return range_of(x, false).inf > 0;
}

static bool has_nonfinite(const tg_tensor *x) {
    range r = range_of(x, false);
    return r.nan + r.inf > 0;
}

/* "[-1.5, 3] (2 NaN, 1 inf of 64)" into buf. */
static const char *range_str(range r, char *buf, size_t n) {
    int k = isnan(r.lo) ? snprintf(buf, n, "[no finite value]")
                        : snprintf(buf, n, "[%.4g, %.4g]", r.lo, r.hi);
    if ((r.nan || r.inf) && k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, " (%lld NaN, %lld inf of %lld)", (long long)r.nan,
                 (long long)r.inf, (long long)r.n);
    return buf;
}

/* How the message refers to an input: a parameter's name, "#j" for node
 * j's output, or "data". */
static const char *input_ref(const tg_tape *t, const tg_tensor *x, char *buf, size_t n) {
    const tg_node *p = x->node >= 0 ? tg__node(t, (size_t)x->node) : NULL;
    if (p && p->out == x) {
        char name[128];
        snprintf(buf, n, "#%d %s%s%s", x->node, tg__op_name(p->op),
                 *tg__node_name(p, name, sizeof name) ? " " : "", name);
    } else
        snprintf(buf, n, "%s", x->name ? x->name : x->requires_grad ? "a leaf" : "data");
    return buf;
}

/* Appends "in1 #3 tanh [a, b]; in2 ..." (values) for node nd to msg. */
static void describe_inputs(const tg_tape *t, const tg_node *nd, char *msg, size_t n) {
    size_t used = strlen(msg);
    for (int k = 0; k < nd->n_in && k < 5 && used + 1 < n; k++) {
        char ref[160], rs[96];
        int w = snprintf(msg + used, n - used, "%s input %d (%s) %s", k ? ";" : "", k + 1,
                         input_ref(t, nd->in[k], ref, sizeof ref),
                         range_str(range_of(nd->in[k], false), rs, sizeof rs));
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* "node 12 log (lstm.l0.t3.forget_gate)" */
static const char *node_str(const tg_node *nd, int64_t i, char *buf, size_t n) {
    char name[128];
    tg__node_name(nd, name, sizeof name);
    snprintf(buf, n, "node %lld %s%s%s%s", (long long)i, tg__op_name(nd->op), *name ? " (" : "",
             name, *name ? ")" : "");
    return buf;
}

int tg__anomaly_forward(tg_tape *t, int64_t last) {
    for (int64_t i = 0; i <= last; i++) {
        tg_node *nd = tg__node(t, (size_t)i);
        /* a view's values are its input's, checked already (or a leaf's,
         * shown in the ranges of whichever node reads it) */
        if (nd->op == TG_OP_VIEW) continue;
        const tg_tensor *y = nd->out;
        if (tg_is_contiguous(y) ? !any_nonfinite(y->data, y->numel) : !has_nonfinite(y)) continue;
        range r = range_of(y, false);
        bool inherited = !r.nan; /* infinities only: were they in an input already? */
        for (int k = 0; inherited && k < nd->n_in; k++) inherited = !has_inf(nd->in[k]);
        if (r.nan == 0 && !inherited) continue;
        char msg[1024], ns[200], rs[96];
        snprintf(msg, sizeof msg, "anomaly in forward: %s produced a non-finite value, %s;",
                 node_str(nd, i, ns, sizeof ns), range_str(r, rs, sizeof rs));
        describe_inputs(t, nd, msg, sizeof msg);
        tg_tape_fail(t, "%s", msg);
        return -1;
    }
    return 0;
}

/* A parameter whose whole gradient costs no more to check than the node's
 * own backward reads (its output's gradient) is checked after each use;
 * a larger one once, at the end (tg__anomaly_leaves). */
static bool small_leaf(const tg_tensor *x, const tg_node *nd) {
    return x->numel <= nd->out->numel + 4096;
}

int tg__anomaly_backward(tg_tape *t, const tg_node *nd, int64_t i) {
    for (int k = 0; k < nd->n_in; k++) {
        const tg_tensor *x = nd->in[k];
        if (!x->requires_grad || !x->grad || (x->on_heap && !small_leaf(x, nd)) ||
            !any_nonfinite(x->grad, x->numel))
            continue;
        char msg[1024], ns[200], rs[96], rg[96], ref[160];
        snprintf(msg, sizeof msg,
                 "anomaly in backward: %s wrote a non-finite gradient into its input %d (%s), "
                 "now %s; the gradient it received %s;",
                 node_str(nd, i, ns, sizeof ns), k + 1, input_ref(t, x, ref, sizeof ref),
                 range_str(range_of(x, true), rs, sizeof rs),
                 range_str(range_of(nd->out, true), rg, sizeof rg));
        describe_inputs(t, nd, msg, sizeof msg);
        tg_tape_fail(t, "%s", msg);
        return -1;
    }
    return 0;
}

/* Large parameters (tensors the caller owns) are checked once each, after
 * their gradients were gathered: checking a large weight's whole gradient
 * after each of its uses would cost more than the backward. A non-finite
 * one then came from one of its uses, not necessarily the one named (the
 * first in backward order). */
int tg__anomaly_leaves(tg_tape *t, int64_t last) {
    tg__ptrmap seen = {0};
    int rc = 0;
    for (int64_t i = last; i >= 0 && rc == 0; i--) {
        const tg_node *nd = tg__node(t, (size_t)i);
        for (int k = 0; k < nd->n_in && rc == 0; k++) {
            const tg_tensor *x = nd->in[k];
            if (!x->on_heap || !x->requires_grad || !x->grad || tg__ptrmap_get(&seen, x) >= 0)
                continue;
            if (tg__ptrmap_put(&seen, x, 0) != 0) break; /* no memory: check no further */
            if (!any_nonfinite(x->grad, x->numel)) continue;
            char msg[1024], ns[200], rs[96], ref[160];
            snprintf(msg, sizeof msg,
                     "anomaly in backward: the gradient of %s is not finite after backward, "
                     "%s, while every gradient on the tape is; it came from one of its uses "
                     "(the first in backward order: %s;",
                     input_ref(t, x, ref, sizeof ref), range_str(range_of(x, true), rs, sizeof rs),
                     node_str(nd, i, ns, sizeof ns));
            describe_inputs(t, nd, msg, sizeof msg);
            size_t u = strlen(msg);
            if (u + 1 < sizeof msg) snprintf(msg + u, sizeof msg - u, ")");
            tg_tape_fail(t, "%s", msg);
            rc = -1;
        }
    }
    tg__ptrmap_free(&seen);
    return rc;
}
