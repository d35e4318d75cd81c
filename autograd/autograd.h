/* autograd: the tape, differentiable ops, backward, gradient checking.
 *
 * Every op takes the tape first and returns a new tensor that lives on the
 * tape (freed by tg_tape_reset), or NULL. On bad input an op records a
 * message on the tape ("tg_matmul: [32,64] x [128,256]: inner sizes 64 and
 * 128 differ") and returns NULL; from then on every op on that tape does
 * nothing and returns NULL, so a training loop checks tg_tape_error once per
 * step. No function here aborts or exits. */
#ifndef TG_AUTOGRAD_H
#define TG_AUTOGRAD_H

#include <stdio.h>

#include "../core/core.h"

typedef struct tg_tape tg_tape;

/* ---- the tape ---------------------------------------------------------- */
/* A new, empty tape (NULL when out of memory). */
tg_tape *tg_tape_new(void);
/* Frees the tape and everything on it. */
void tg_tape_free(tg_tape *t);
/* Frees every tensor, gradient and node of the step at once (O(1); the
 * memory is kept for the next step) and clears any error. */
void tg_tape_reset(tg_tape *t);
/* NULL while all is well, else the first error's message. */
const char *tg_tape_error(const tg_tape *t);
/* Puts the tape in error with a message (printf-style), for code built on
 * the ops (modules, your own layers); a tape keeps its first error. */
void tg_tape_fail(tg_tape *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A promise (fixed true) that no parameter's values change until the next
 * call with false: the tape may then keep what it derives from parameters
 * across tg_tape_reset (weights packed or laid out for its products). For
 * inference loops that run one row at a time, such as sampling a
 * character at a time (tapegrad sample: the first layer's product by
 * W_ih twice as fast). A parameter changed meanwhile is multiplied by its
 * old values. Returns the previous setting. */
bool tg_tape_set_params_fixed(tg_tape *t, bool fixed);
/* Nodes recorded since the last reset. */
size_t tg_tape_node_count(const tg_tape *t);
/* Bytes the tape holds from the system (its high-water mark). */
size_t tg_tape_capacity(const tg_tape *t);
/* The most bytes it has handed out within one step. */
size_t tg_tape_peak(const tg_tape *t);

/* Anomaly detection, as torch.autograd.detect_anomaly (off by default).
 * When on, tg_backward first checks every node's forward output, in
 * execution order, then, as it runs, every gradient each node adds into
 * its inputs, and last the parameters' gradients. The first non-finite
 * value (a NaN; an infinity an op made from finite inputs, not one it
 * passed on, such as a mask's -inf) stops it with the tape in error:
 *   anomaly in forward: node 12 log (enc.t3.score) produced a non-finite
 *   value, [-2, 0.5] (3 NaN, 0 inf of 8); input 1 (#11 sub) [-1, 2]
 * the op, its scope and label, its inputs' ranges and the direction. It
 * costs a pass over the tape's values and gradients. Returns the previous
 * setting. */
bool tg_tape_set_detect_anomaly(tg_tape *t, bool on);
/* Whether anomaly detection is on. */
bool tg_tape_detect_anomaly(const tg_tape *t);
/* Whether the tape's error is such a report (the last backward found a
 * non-finite value), as opposed to a bad shape or no memory. */
bool tg_tape_error_is_anomaly(const tg_tape *t);

/* Gradient recording on or off (off: ops compute but record no nodes, as in
 * torch.no_grad()). Returns the previous setting so scopes nest:
 *     bool was = tg_set_grad_enabled(tape, false); ...;
 *     tg_set_grad_enabled(tape, was); */
bool tg_set_grad_enabled(tg_tape *t, bool on);
/* Whether ops on t record nodes (tg_set_grad_enabled). */
bool tg_grad_enabled(const tg_tape *t);

/* Reverse-mode differentiation from a one-element tensor: walks the tape
 * backwards (a loop, never recursion) and adds (+=) into the gradient of
 * every tensor that requires one. Parameters' gradients accumulate across
 * calls until zeroed. Returns 0, or -1 with the tape's error set. */
int tg_backward(tg_tape *t, tg_tensor *loss);
/* The same from any tensor y, seeding its gradient with grad_y (y's numel
 * values, row-major), as torch.autograd.backward(y, grad_y). */
int tg_backward_grad(tg_tape *t, tg_tensor *y, const tg_real *grad_y);
/* fn(ctx, x) is called during every later tg_backward on t, once for each
 * heap tensor x (a parameter) the moment its gradient is final for this
 * backward (the walk has passed the earliest node that reads it and its
 * deferred weight products are done), so a caller can start sending it
 * while the rest of backward runs (dist/ overlaps its gradient exchange
 * this way). A leaf no gradient reaches may still be notified; fn NULL
 * turns it off. Not called by the stepper's node-by-node replay. */
typedef void (*tg_grad_ready_fn)(void *ctx, tg_tensor *x);
/* Calls fn(ctx, x) as above from now on (fn NULL: no more). */
void tg_tape_on_grad_ready(tg_tape *t, tg_grad_ready_fn fn, void *ctx);

/* ---- scopes and labels, for looking at the tape ---------------------------
 * Ops recorded between tg_scope_push(t, "t3") and tg_scope_pop(t) carry the
 * scope path ("lstm.l0.t3" when nested); tg_label names the node that made
 * x ("forget_gate"). Both only annotate: they change no value. */
/* Enters a scope named name (nested in the current one), for the ops
 * recorded until the matching tg_scope_pop. */
void tg_scope_push(tg_tape *t, const char *name);
/* Leaves the innermost scope. */
void tg_scope_pop(tg_tape *t);
/* The current scope path ("lstm.l0.t3"; "" at the top). */
const char *tg_scope(const tg_tape *t);
/* Names the node that made x ("forget_gate"), in prints and drawings. */
void tg_label(tg_tape *t, tg_tensor *x, const char *label);

/* ---- tensors on the tape (leaves: requires_grad false; set it to make a
 * leaf whose gradient you want) ----------------------------------------- */
tg_tensor *tg_empty(tg_tape *t, tg_shape s); /* uninitialised */
/* Tensors of shape s on the tape, filled with 0 (zeros) or 1 (ones). */
tg_tensor *tg_zeros(tg_tape *t, tg_shape s);
tg_tensor *tg_ones(tg_tape *t, tg_shape s);
/* The same, filled with v. */
tg_tensor *tg_full(tg_tape *t, tg_shape s, tg_real v);
/* Copies numel values from a row-major C array. */
tg_tensor *tg_from_array(tg_tape *t, tg_shape s, const tg_real *data);
/* [start, stop) in steps of `step`, like torch.arange. */
tg_tensor *tg_arange(tg_tape *t, double start, double stop, double step);
/* A tensor of shape s drawn from U(lo, hi) with r. */
tg_tensor *tg_rand_uniform(tg_tape *t, tg_rng *r, tg_shape s, double lo, double hi);
/* A tensor of shape s drawn from N(mean, std) with r. */
tg_tensor *tg_randn(tg_tape *t, tg_rng *r, tg_shape s, double mean, double std);
/* A view of x that shares its data but carries no gradient back. */
tg_tensor *tg_detach(tg_tape *t, tg_tensor *x);

/* ---- elementwise (binary ops broadcast as NumPy does) ------------------ */
/* Elementwise a + b (add), a - b (sub), a * b (mul) and a / b (div),
 * broadcasting as NumPy does. */
tg_tensor *tg_add(tg_tape *t, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_sub(tg_tape *t, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_mul(tg_tape *t, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_div(tg_tape *t, tg_tensor *a, tg_tensor *b);
/* mask ? a : b elementwise (mask nonzero = true, never differentiated);
 * all three broadcast together. */
tg_tensor *tg_where(tg_tape *t, tg_tensor *mask, tg_tensor *a, tg_tensor *b);
/* -x. */
tg_tensor *tg_neg(tg_tape *t, tg_tensor *x);
tg_tensor *tg_scale(tg_tape *t, tg_tensor *x, double s);      /* s * x */
tg_tensor *tg_add_scalar(tg_tape *t, tg_tensor *x, double s); /* x + s */
/* Elementwise exp, log, tanh, sigmoid and relu. */
tg_tensor *tg_exp(tg_tape *t, tg_tensor *x);
tg_tensor *tg_log(tg_tape *t, tg_tensor *x);
tg_tensor *tg_tanh(tg_tape *t, tg_tensor *x);
tg_tensor *tg_sigmoid(tg_tape *t, tg_tensor *x);
tg_tensor *tg_relu(tg_tape *t, tg_tensor *x);
/* x^p elementwise. */
tg_tensor *tg_pow(tg_tape *t, tg_tensor *x, double p);
/* Elementwise square, sqrt and abs (|x|). */
tg_tensor *tg_square(tg_tape *t, tg_tensor *x);
tg_tensor *tg_sqrt(tg_tape *t, tg_tensor *x);
tg_tensor *tg_abs(tg_tape *t, tg_tensor *x);
/* min(max(x, lo), hi), as torch.clamp (+-INFINITY for one side). */
tg_tensor *tg_clamp(tg_tape *t, tg_tensor *x, double lo, double hi);

/* ---- reductions -------------------------------------------------------- */
tg_tensor *tg_sum(tg_tape *t, tg_tensor *x);  /* all elements -> 0-d */
tg_tensor *tg_mean(tg_tape *t, tg_tensor *x); /* all elements -> 0-d */
/* Along one axis (negative counts from the end); keepdim keeps it as 1. */
tg_tensor *tg_sum_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);
/* The mean along one axis, as tg_sum_axis. */
tg_tensor *tg_mean_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);
/* Maximum along an axis; the gradient goes to the first maximal element. */
tg_tensor *tg_max_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* ---- matrix products --------------------------------------------------- */
/* [m,k] x [k,n] -> [m,n]; [B,m,k] x [B,k,n] -> [B,m,n]; a 3-d operand with a
 * 2-d one multiplies every batch by the same matrix. */
tg_tensor *tg_matmul(tg_tape *t, tg_tensor *a, tg_tensor *b);
/* x W^T + b in PyTorch's layout: x [..., in], W [out, in], b [out] or NULL. */
tg_tensor *tg_linear(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *b);
/* z + x W^T + b, z with the result's shape (torch.addmm's form): the product
 * accumulates onto z, one pass and one buffer fewer than tg_add of a
 * tg_linear. A recurrent step adds the hidden product to the input's gates
 * this way. */
tg_tensor *tg_linear_add(tg_tape *t, tg_tensor *z, tg_tensor *x, tg_tensor *w, tg_tensor *b);

/* ---- shapes (views share storage where the layout allows) --------------- */
/* One dimension may be -1 (inferred). Copies only if x is not contiguous. */
tg_tensor *tg_reshape(tg_tape *t, tg_tensor *x, tg_shape s);
/* Dimensions d0 and d1 swapped (a view). */
tg_tensor *tg_transpose(tg_tape *t, tg_tensor *x, int d0, int d1);
/* Dimensions reordered: dimension i of the result is perm[i] of x (a
 * view). */
tg_tensor *tg_permute(tg_tape *t, tg_tensor *x, const int *perm);
/* x[..., start:start+len, ...] along axis (a view). */
tg_tensor *tg_narrow(tg_tape *t, tg_tensor *x, int axis, int64_t start, int64_t len);
/* Broadcast to a larger shape (a view with stride 0). */
tg_tensor *tg_expand(tg_tape *t, tg_tensor *x, tg_shape s);
/* A contiguous copy (or x itself if already contiguous). */
tg_tensor *tg_contiguous(tg_tape *t, tg_tensor *x);
/* The n tensors joined along an existing axis (concat) or a new one
 * (stack), as torch.cat and torch.stack. */
tg_tensor *tg_concat(tg_tape *t, int n, tg_tensor *const *xs, int axis);
tg_tensor *tg_stack(tg_tape *t, int n, tg_tensor *const *xs, int axis);
/* Splits into n pieces of the given sizes (which must add up to the axis
 * length); writes n views into outs. Returns 0 or -1. */
int tg_split(tg_tape *t, tg_tensor *x, int axis, int n, const int64_t *sizes,
             tg_tensor **outs);
/* n equal pieces (the last smaller if the length does not divide), as
 * torch.chunk. Returns the number of pieces written, or -1. */
int tg_chunk(tg_tape *t, tg_tensor *x, int n, int axis, tg_tensor **outs);
/* Rows (or slices along axis) picked by n indices; backward scatter-adds.
 * An embedding lookup is tg_index_select(weight, 0, ids, n). */
tg_tensor *tg_index_select(tg_tape *t, tg_tensor *x, int axis, const int64_t *idx,
                           int64_t n);
/* torch.gather: out has x's shape with the axis length set to k; idx holds
 * out's number of indices in row-major order. Backward scatter-adds. */
tg_tensor *tg_gather(tg_tape *t, tg_tensor *x, int axis, const int64_t *idx, int64_t k);

/* ---- fused recurrent cells (the composed ops stay the tested reference) -- */
/* The LSTM cell's nonlinearities in one pass. gates [B, 4H] are the summed
 * pre-activations in PyTorch's order i, f, g, o; c [B, H] the previous cell.
 * Returns hc [2, B, H]: hc[0] = h' = o*tanh(c'), hc[1] = c' = f*c + i*g
 * (take them with tg_narrow / tg_reshape, or tg_lstm_split in nn). */
tg_tensor *tg_lstm_gates(tg_tape *t, tg_tensor *gates, tg_tensor *c);
/* A whole LSTM step from the input's share of the gates, gx = x W_ih^T +
 * b_ih [B, 4H] (for all steps one GEMM before the loop): gates = gx +
 * h W_hh^T + b_hh (b_hh may be NULL), then tg_lstm_gates(gates, c), in one
 * node that keeps one [B, 4H] buffer per step. h may be [B, P] with
 * P <= H and w_hh [4H, P] (a projected LSTM's, whose h' = W_hr of the first
 * half of hc). Returns hc [2, B, H]. */
tg_tensor *tg_lstm_step(tg_tape *t, tg_tensor *gx, tg_tensor *h, tg_tensor *w_hh,
                        tg_tensor *b_hh, tg_tensor *c);
/* The GRU cell after its two products: gx = x W_ih^T + b_ih and
 * gh = h W_hh^T + b_hh, both [B, 3H] in the order r, z, n; h [B, H].
 * r = s(gx_r + gh_r), z = s(gx_z + gh_z), n = tanh(gx_n + r*gh_n),
 * returns h' = (1-z)*n + z*h. */
tg_tensor *tg_gru_gates(tg_tape *t, tg_tensor *gx, tg_tensor *gh, tg_tensor *h);

/* Layer normalisation over x's last axis (Ba, Kiros, Hinton 2016), as
 * torch.nn.functional.layer_norm(x, [W], gain, bias, eps): each row of
 * x [..., W] becomes (x - mean) / sqrt(var + eps) * gain + bias, the
 * variance biased (divided by W). gain and bias are [W], or NULL for none.
 * The same numbers as the composed form (tg_sub, tg_mean_axis, ...) in one
 * node that saves two values per row. */
tg_tensor *tg_layer_norm(tg_tape *t, tg_tensor *x, tg_tensor *gain, tg_tensor *bias, double eps);

/* ---- softmax and losses -------------------------------------------------- */
/* softmax(x) and log(softmax(x)) along an axis. */
tg_tensor *tg_softmax(tg_tape *t, tg_tensor *x, int axis);
tg_tensor *tg_log_softmax(tg_tape *t, tg_tensor *x, int axis);

typedef enum tg_reduction { TG_MEAN, TG_SUM, TG_NONE } tg_reduction;
#define TG_NO_IGNORE INT64_MIN

/* logits [N, C], targets N class indices in [0, C) (or ignore_index, which
 * contributes nothing and is not counted in the mean). */
tg_tensor *tg_cross_entropy(tg_tape *t, tg_tensor *logits, const int64_t *targets,
                            tg_reduction red, int64_t ignore_index);
/* logp [N, C] log-probabilities: -logp[i, target[i]]. */
tg_tensor *tg_nll(tg_tape *t, tg_tensor *logp, const int64_t *targets,
                  tg_reduction red, int64_t ignore_index);
/* (a - b)^2 reduced. */
tg_tensor *tg_mse(tg_tape *t, tg_tensor *a, tg_tensor *b, tg_reduction red);
/* Binary cross-entropy on logits x with targets y in [0, 1], stable for
 * large |x| (torch.nn.functional.binary_cross_entropy_with_logits). */
tg_tensor *tg_bce_with_logits(tg_tape *t, tg_tensor *x, tg_tensor *y, tg_reduction red);
/* Knowledge distillation's soft-target loss (Hinton, Vinyals and Dean
 * 2015), a 0-d tensor: with p = softmax(teacher / T), q = softmax(student /
 * T) per row of [N, C], T^2 / N * sum_r KL(p_r || q_r); PyTorch's
 * F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1),
 * reduction="batchmean") * T * T. T^2 keeps its gradient, (T / N)(q - p),
 * on the scale of a hard-target loss's as T grows. T > 0 and finite. */
tg_tensor *tg_soft_target_kl(tg_tape *t, tg_tensor *student, tg_tensor *teacher,
                             double temperature);

/* Inverted dropout: in training, each element is zeroed with probability p
 * and the rest scaled by 1/(1-p); in eval mode (training false) or at p = 0
 * it returns x unchanged. */
tg_tensor *tg_dropout(tg_tape *t, tg_tensor *x, double p, bool training, tg_rng *r);

/* ---- gradient checking ----------------------------------------------------- */
/* A function of n heap tensors returning a tensor on the tape (any shape;
 * gradcheck reduces it with fixed random weights). */
typedef tg_tensor *(*tg_gradcheck_fn)(tg_tape *t, tg_tensor *const *inputs, void *ctx);

typedef struct tg_gradcheck_result {
    double max_rel_err;   /* largest |analytic - numeric| / max(1, |numeric|) */
    int worst_input;      /* where it occurred */
    int64_t worst_index;
    double analytic, numeric;
    char error[256];      /* non-empty if the function failed */
} tg_gradcheck_result;

/* Compares the tape's gradients of every input element with central
 * differences (step eps). Inputs must be heap tensors with requires_grad;
 * their grad buffers are overwritten. Returns true when every relative error
 * is at most tol. */
bool tg_gradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs,
                  double eps, double tol, tg_gradcheck_result *res);

/* ---- looking at the tape ---- */
/* What a recorded step looks like, for people and for tools. Nodes are
 * named by their scope path and label ("rnn.t3.hidden"); tensors that are
 * inputs but no node's output are listed once each, as parameters (they
 * require grad: "weight_hh_l0", else "p0", "p1", ...) or data ("x", else
 * "c0", ...), by their ->name when set. Gradients are shown once a
 * backward has run. Each returns 0, or -1 for a NULL argument or a failed
 * write. */

/* A table in execution order: index, name, op, inputs, shape, the first
 * values and, after backward, the gradient's norm; then the inputs that are
 * not nodes. */
int tg_tape_print(const tg_tape *t, FILE *f);

/* Zero-initialised options are the defaults. */
typedef struct tg_dot_options {
    bool grads;        /* the norm of each gradient (after backward) */
    bool values;       /* the first few values of each tensor */
    bool flat;         /* no clusters for scopes */
    const char *title; /* a label for the whole graph, or NULL */
} tg_dot_options;

/* Graphviz DOT: each scope a cluster (nested as scopes nest), each
 * parameter and data tensor drawn once with an edge to every node that
 * reads it, so a weight shared by all time steps shows as one box with an
 * edge into every step. opt may be NULL. */
int tg_tape_dot(const tg_tape *t, FILE *f, const tg_dot_options *opt);

/* Longer tensors are cut to their first TG_TRACE_MAX_VALUES values (and
 * gradients) in a trace, with "truncated": true. */
#define TG_TRACE_MAX_VALUES 64
/* A JSON trace for other tools:
 *   {"format": "tapegrad-trace", "version": 1, "real": "float",
 *    "nodes": [{"id": "n0", "index": 0, "op": "linear", "scope": "t1",
 *               "label": "hidden" or null, "name": "t1.hidden",
 *               "inputs": ["c0", "p0"], "shape": [1, 3], "numel": 3,
 *               "values": [...], "grad": [...] or null,
 *               "grad_norm": 0.5 or null, "truncated": false}, ...],
 *    "leaves": [{"id": "p0", "kind": "param" or "data", "name": ...,
 *                "shape", "numel", "values", "grad", "grad_norm",
 *                "truncated"}, ...],
 *    "edges": [{"from": "p0", "to": "n0", "arg": 1}, ...]}
 * Non-finite numbers are written as null. */
int tg_tape_json(const tg_tape *t, FILE *f);

/* A step-through debugger over one recorded step, after its forward and
 * its backward (zero the parameters' gradients before that backward, so
 * that each gradient is exactly the sum of what the nodes add to it). It
 * visits the nodes in forward order, then the nodes a gradient reached in
 * backward order. A forward screen shows the op, its inputs and its value; a
 * backward screen the gradient arriving at the node, the nodes it came from,
 * and what the node adds (+=) to each input's gradient, with the running
 * sum, so a weight shared by every time step is seen receiving one
 * contribution per step. Commands (one per word; words that take an
 * argument take the next word):
 *   n, next        the next screen          p, b, prev, back  the previous
 *   fw, forward    the first forward screen bw, backward      the first backward one
 *   j, jump X      node X (an index, #index, a name or its end: "t2.hidden") in the
 *                  current direction
 *   l, list        the tape as tg_tape_print shows it
 *   h, help        the commands             q, quit           stop */
typedef struct tg_stepper tg_stepper;

/* NULL with a message in err for a NULL tape, a tape in error or out of
 * memory. The stepper borrows the tape: use it before the tape is reset. */
tg_stepper *tg_stepper_new(tg_tape *t, char *err, size_t errlen);
/* Frees the stepper (not the tape). */
void tg_stepper_free(tg_stepper *s);
/* Shows the current screen, then runs the commands in script ("n n n b"),
 * writing every screen they show. Returns 0, or -1 on a write error. */
int tg_stepper_script(tg_stepper *s, const char *script, FILE *out);
/* Every forward screen, then every backward screen. */
int tg_stepper_dump(tg_stepper *s, FILE *out);
/* Interactive: shows the current screen, then reads commands a line at a
 * time from in (an empty line repeats the last one) with a prompt on out,
 * until q or end of input. */
int tg_stepper_interact(tg_stepper *s, FILE *in, FILE *out);
/* The sum of everything the nodes added to x's gradient (x->numel values,
 * row-major), or NULL if no node added anything: after a backward from zero
 * gradients it equals x->grad. */
const tg_real *tg_stepper_grad_sum(const tg_stepper *s, const tg_tensor *x);
/* What the stepper knows, as JSON for other tools (the HTML page):
 *   {"format": "tapegrad-steps", "version": 1, "forward": 18 (nodes),
 *    "backward": [17, 16, ...] (node indices in backward order),
 *    "contributions": [{"node": 10, "arg": 1, "into": "p3" (a trace id),
 *        "use": 2, "uses": 2, "norm": |added|, "values": [first added],
 *        "sum_norm", "sum": [first values of the running sum after it],
 *        "equal": the whole sum equals the tape's gradient,
 *        "max_diff": by how much it differs}, ...]}
 * in backward order; the first 4 values of each. */
int tg_stepper_json(const tg_stepper *s, FILE *f);

/* Zero-initialised options are the defaults. */
typedef struct tg_html_options {
    const char *title; /* the page's title, or NULL for "tapegrad" */
} tg_html_options;

/* One self-contained web page (no network: the script, the style and the
 * data are inline) that draws the tape as a graph, each scope a box and
 * each parameter once above them with an edge to every use, with a slider
 * (and the arrow keys, and "#step=K" in the address) that moves through
 * the stepper's screens: forward node by node, then backward, the current
 * node highlighted and its values, gradient and contributions beside the
 * graph. It embeds tg_tape_json's trace (id "tg-trace") and
 * tg_stepper_json's data (id "tg-steps") as application/json scripts.
 * Needs the tape after forward (and backward, for the backward half); -1
 * for a NULL argument, a tape in error, no memory or a failed write. */
int tg_tape_html(tg_tape *t, FILE *f, const tg_html_options *opt);

#endif
