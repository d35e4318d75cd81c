/* A whole language model run in segments (tg_seq_recompute_loss): each
 * segment is embedding -> layers -> head -> cross-entropy over its own
 * k steps, started from the layers' states where the segment before ended
 * (autograd/ops_segment_sum.c keeps those and runs the segments again in
 * backward). The per-layer recomputation (rnn_recompute.c) keeps each
 * layer's output, its gradient, the logits and theirs whole: O(T) that
 * this removes. */
#include "../autograd/op.h"
#include "rnn_impl.h"
#include "seq_loss.h"
#include "seq_recompute.h"

#include <math.h>
#include <string.h>

typedef struct stack_ctx {
    tg_seq_stack s;
    const int64_t *ids, *targets; /* [T, B] */
    int64_t T, B, len;
    tg_rng *rngs; /* [n_seg + 1][n_rnn]: each layer's dropout generator at
                   * each segment's start, so backward draws the same masks */
} stack_ctx;

static int n_states(const tg_rnn *r) {
    return r->cell->n_states;
}

/* The width of h and of the layer's output (an LSTM's proj_size, if any). */
static int64_t h_width(const tg_rnn *r) {
    return r->opt.proj_size > 0 ? r->opt.proj_size : r->opt.hidden_size;
}

/* Segment j of the stack: state holds h (and c) per layer in order. The
 * layers run as copies with their own memory option off (the segment is
 * the bounded unit; nested segments would only cost time) and their
 * generator at the segment's start. */
static tg_tensor *stack_segment(tg_tape *t, const void *arg, int64_t j, bool again,
                                tg_tensor **state) {
    const stack_ctx *c = arg;
    int n = c->s.n_rnn;
    int64_t s0 = j * c->len, s1 = s0 + c->len < c->T ? s0 + c->len : c->T, B = c->B;
    tg_rnn *copy = tg__alloc(t, (size_t)n * sizeof *copy);
    if (!copy) return NULL;
    tg_tensor *x = NULL;
    for (int i = 0, k = 0; i < n; i++) {
        copy[i] = *c->s.rnn[i];
        copy[i].opt.memory = (tg_rnn_memory){0};
        copy[i].rng = c->rngs[j * n + i];
        copy[i].time0 += s0; /* a cell's masks as over the whole sequence */
        tg_rnn_result res;
        tg_tensor *h0 = state[k], *c0 = n_states(&copy[i]) > 1 ? state[k + 1] : NULL;
        int status = i == 0 ? tg_rnn_forward_tokens(t, &copy[0], c->s.embedding, c->ids + s0 * B,
                                                     TG_SHAPE(s1 - s0, B), h0, c0, NULL, &res)
                            : tg_rnn_forward(t, &copy[i], x, h0, c0, NULL, &res);
        if (status != 0) return NULL;
        x = res.output;
        state[k++] = res.h_n;
        if (n_states(&copy[i]) > 1) state[k++] = res.c_n;
        if (!again) ((stack_ctx *)c)->rngs[(j + 1) * n + i] = copy[i].rng;
    }
    tg_tensor *logits = tg_linear_layer_forward(t, c->s.head, x); /* [k, B, V] */
    return tg_seq_cross_entropy(t, logits, c->targets + s0 * B, NULL, TG_SUM);
}

/* The stack's shape, named where it is wrong. */
static int check_stack(tg_tape *t, const tg_seq_stack *s, int64_t T, int64_t B) {
    const char *F = "tg_seq_recompute_loss";
    if (!s || !s->embedding || !s->rnn || s->n_rnn < 1 || !s->head) {
        tg_tape_fail(t, "%s: the stack needs an embedding, at least one rnn and a head", F);
        return -1;
    }
    if (T < 1 || B < 1) {
        tg_tape_fail(t, "%s: T = %lld, B = %lld: both must be at least 1", F, (long long)T,
                     (long long)B);
        return -1;
    }
    int64_t in = s->embedding->weight->shape[1];
    for (int i = 0; i < s->n_rnn; i++) {
        const tg_rnn *r = s->rnn[i];
        if (!r) {
            tg_tape_fail(t, "%s: rnn[%d] is NULL", F, i);
            return -1;
        }
        const char *why = r->opt.bidirectional ? "is bidirectional (it needs the whole sequence)"
                          : r->opt.batch_first ? "is batch-first (the stack runs [T, B, .])"
                          : n_states(r) > 2    ? "has a cell of more than two states"
                          : r->opt.input_size != in ? "takes another input size"
                                                   : NULL;
        if (why) {
            tg_tape_fail(t, "%s: rnn[%d] %s%s", F, i, why,
                         r->opt.input_size != in && !r->opt.bidirectional ? " than its input gives"
                                                                         : "");
            return -1;
        }
        in = h_width(r);
    }
    if (s->head->weight->shape[1] != in) {
        tg_tape_fail(t, "%s: the head takes %lld features, the last rnn gives %lld", F,
                     (long long)s->head->weight->shape[1], (long long)in);
        return -1;
    }
    return 0;
}

/* A recorded step of the whole stack, roughly: the layers' (rnn_recompute.c's
 * estimate) and the head's logits, their softmax and both gradients. */
static double step_bytes(const tg_seq_stack *s, int64_t B) {
    double v = 4.0 * (double)(B * s->head->weight->shape[0]);
    for (int i = 0; i < s->n_rnn; i++) {
        const tg_rnn *r = s->rnn[i];
        int64_t H = r->opt.hidden_size, G = r->w_hh[0]->shape[0] / H;
        v += (double)((7 * G + 4) * (r->opt.composed ? 3 : 1) * r->opt.num_layers) * (double)(B * H);
    }
    return v * sizeof(tg_real);
}

/* The states' shapes (h, then c for two-state cells, per layer); returns
 * their number. */
static int state_shapes(const tg_seq_stack *s, int64_t B, tg_shape *shapes) {
    int k = 0;
    for (int i = 0; i < s->n_rnn; i++)
        for (int q = 0; q < n_states(s->rnn[i]); q++)
            shapes[k++] = TG_SHAPE(s->rnn[i]->opt.num_layers, B,
                                   q ? s->rnn[i]->opt.hidden_size : h_width(s->rnn[i]));
    return k;
}

/* Every tensor the segments add gradients to: the parameters, and the
 * initial states that take gradients. */
static tg_tensor **grad_inputs(tg_tape *t, const tg_seq_stack *s, tg_tensor *const *state0, int S,
                               int *n_in) {
    int n = 1 + S;
    const tg_params *hp = tg_module_params(&s->head->base);
    n += hp->n;
    for (int i = 0; i < s->n_rnn; i++) n += tg_module_params(&s->rnn[i]->base)->n;
    tg_tensor **in = tg__alloc(t, (size_t)n * sizeof *in);
    if (!in) return NULL;
    int k = 0;
    in[k++] = s->embedding->weight;
    for (int i = 0; i < s->n_rnn; i++) {
        const tg_params *p = tg_module_params(&s->rnn[i]->base);
        for (int q = 0; q < p->n; q++) in[k++] = p->items[q].tensor;
    }
    for (int q = 0; q < hp->n; q++) in[k++] = hp->items[q].tensor;
    for (int i = 0; i < S; i++)
        if (state0[i] && state0[i]->requires_grad) in[k++] = state0[i];
    *n_in = k;
    return in;
}

tg_tensor *tg_seq_recompute_loss(tg_tape *t, const tg_seq_stack *s, const int64_t *ids,
                                 const int64_t *targets, int64_t T, int64_t B,
                                 tg_rnn_memory mem, tg_tensor *const *h0, tg_tensor *const *c0,
                                 tg_tensor **h_n, tg_tensor **c_n) {
    char err[256];
    if (tg_tape_error(t) || check_stack(t, s, T, B) != 0) return NULL;
    if (!ids || !targets) {
        tg_tape_fail(t, "tg_seq_recompute_loss: %s is NULL", ids ? "targets" : "ids");
        return NULL;
    }
    mem.recompute = true;
    if (tg__memory_check("tg_seq_recompute_loss", mem, err, sizeof err) != 0) {
        tg_tape_fail(t, "%s", err);
        return NULL;
    }
    int n = s->n_rnn, S = 0;
    for (int i = 0; i < n; i++) S += n_states(s->rnn[i]);
    tg_shape *shapes = tg__alloc(t, (size_t)S * sizeof *shapes);
    tg_tensor **state0 = tg__alloc(t, (size_t)S * sizeof *state0);
    stack_ctx *c = tg__alloc(t, sizeof *c);
    if (!shapes || !state0 || !c) return NULL;
    state_shapes(s, B, shapes);
    double state_bytes = 0;
    for (int i = 0; i < S; i++) state_bytes += (double)tg_shape_numel(shapes[i]) * sizeof(tg_real);
    for (int i = 0, k = 0; i < n; i++) {
        state0[k++] = h0 ? h0[i] : NULL;
        if (n_states(s->rnn[i]) > 1) state0[k++] = c0 ? c0[i] : NULL;
    }
    /* backward reads them after the caller may have freed its own */
    tg_rnn **rnn = tg__alloc(t, (size_t)n * sizeof *rnn);
    int64_t *own = tg__alloc(t, (size_t)(2 * T * B) * sizeof *own);
    if (!rnn || !own) return NULL;
    memcpy(rnn, s->rnn, (size_t)n * sizeof *rnn);
    memcpy(own, ids, (size_t)(T * B) * sizeof *own);
    memcpy(own + T * B, targets, (size_t)(T * B) * sizeof *own);
    *c = (stack_ctx){.s = *s, .ids = own, .targets = own + T * B, .T = T, .B = B};
    c->s.rnn = rnn;
    c->len = tg__memory_segment(&mem, T, step_bytes(s, B), state_bytes);
    int64_t n_seg = (T + c->len - 1) / c->len;
    c->rngs = tg__alloc(t, (size_t)((n_seg + 1) * n) * sizeof *c->rngs);
    int n_in = 0;
    tg_tensor **in = c->rngs ? grad_inputs(t, s, state0, S, &n_in) : NULL;
    if (!in) return NULL;
    for (int i = 0; i < n; i++) c->rngs[i] = s->rnn[i]->rng;
    tg__segment_sum spec = {.run = stack_segment, .arg = c, .n_seg = n_seg, .n_states = S,
                            .shapes = shapes};
    tg_tensor **final = tg__alloc(t, (size_t)S * sizeof *final);
    tg_tensor *sum = final ? tg__segment_sum_run(t, &spec, state0, n_in, in, final) : NULL;
    if (!sum) return NULL;
    tg_label(t, sum, "segments");
    for (int i = 0, k = 0; i < n; i++) { /* the layers' generators move on as on the full tape */
        s->rnn[i]->rng = c->rngs[n_seg * n + i];
        if (h_n) h_n[i] = final[k];
        k++;
        if (c_n) c_n[i] = n_states(s->rnn[i]) > 1 ? final[k] : NULL;
        if (n_states(s->rnn[i]) > 1) k++;
    }
    return tg_scale(t, sum, 1.0 / (double)(T * B));
}
