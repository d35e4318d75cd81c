/* optim: optimizers, gradient clipping and learning-rate schedules that
 * follow PyTorch 1.13 step for step (torch.optim.SGD, Adagrad, RMSprop, Adam,
 * AdamW; torch.nn.utils.clip_grad_norm_ / clip_grad_value_; StepLR,
 * ExponentialLR, CosineAnnealingLR, LinearLR and a warm-up in front of any
 * of them).
 *
 * A training step:
 *
 *     tg_tensor *params[] = {w, b};            // heap tensors (tg_param_new)
 *     tg_optim *opt = tg_optim_adam(params, 2, (tg_adam_options){.lr = 1e-3});
 *     if (tg_optim_error(opt)) { puts(tg_optim_error(opt)); ... }
 *     for (int epoch = 0; ...; epoch++) {
 *         tg_optim_set_lr(opt, tg_schedule_lr(&sched, epoch));  // optional
 *         tg_optim_zero_grad(opt);
 *         ... forward, tg_backward(tape, loss) ...
 *         tg_clip_grad_norm(params, 2, 5.0, 2, &norm, NULL, 0);  // optional
 *         tg_optim_step(opt);
 *     }
 *
 * For a module, pass its parameters' tensors (tg_module_params(m)->items[i]
 * .tensor, in order). Every update is an elementwise loop over the parameter
 * in this build's precision, with the same operations in the same order as
 * PyTorch's single-tensor (foreach=False) code on the CPU. */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/core.h"
#include "../core/safetensors.h"

typedef struct tg_optim tg_optim;

/* Option structs: a field left at zero (as in a designated initialiser
 * `(tg_adam_options){.lr = 1e-2}`) means PyTorch's default, given in the
 * comment. For the fields whose default is not zero, write TG_ZERO to ask for
 * an exact zero (e.g. `.betas = {TG_ZERO, 0.99}` or AdamW's
 * `.weight_decay = TG_ZERO`): it is -0.0, which compares equal to zero but
 * carries a sign bit that a plain 0 does not. */
#define TG_ZERO (-0.0)

typedef struct tg_sgd_options {
    double lr;           /* required (PyTorch's SGD has no default); TG_ZERO for 0 */
    double momentum;     /* 0 */
    double dampening;    /* 0 */
    double weight_decay; /* 0: L2 penalty added to the gradient */
    bool nesterov;       /* false; needs momentum > 0 and dampening 0 */
} tg_sgd_options;

typedef struct tg_adagrad_options {
    double lr;                        /* 1e-2 */
    double lr_decay;                  /* 0: lr / (1 + (step - 1) * lr_decay) */
    double weight_decay;              /* 0 */
    double initial_accumulator_value; /* 0 */
    double eps;                       /* 1e-10 */
} tg_adagrad_options;

typedef struct tg_rmsprop_options {
    double lr;           /* 1e-2 */
    double alpha;        /* 0.99: smoothing of the squared-gradient average */
    double eps;          /* 1e-8 */
    double weight_decay; /* 0 */
    double momentum;     /* 0 */
    bool centered;       /* false: normalise by the variance estimate instead */
} tg_rmsprop_options;

/* For both Adam and AdamW. */
typedef struct tg_adam_options {
    double lr;           /* 1e-3 */
    double betas[2];     /* {0.9, 0.999}: each element defaults on its own */
    double eps;          /* 1e-8 */
    double weight_decay; /* Adam: 0 (L2 added to the gradient);
                            AdamW: 1e-2 (decoupled: p *= 1 - lr * wd) */
    bool amsgrad;        /* false */
} tg_adam_options;

/* Constructors (sgd, adagrad, rmsprop, adam). params: n >= 1 distinct, contiguous heap tensors
 * (tg_param_new); the optimizer keeps the pointers (not the tensors: free
 * the optimizer before its parameters) and allocates its state at once.
 * Returns NULL only when out of memory. Invalid options or parameters give
 * an optimizer whose tg_optim_error() says what is wrong and whose every
 * tg_optim_step() fails, so one check after creation (or of the first step)
 * is enough:
 *     "tg_optim_adam: betas[1] must be in [0, 1), got 1"
 *     "tg_optim_sgd: params[2] is the same tensor as params[0]" */
tg_optim *tg_optim_sgd(tg_tensor *const *params, int n, tg_sgd_options o);
tg_optim *tg_optim_adagrad(tg_tensor *const *params, int n, tg_adagrad_options o);
tg_optim *tg_optim_rmsprop(tg_tensor *const *params, int n, tg_rmsprop_options o);
tg_optim *tg_optim_adam(tg_tensor *const *params, int n, tg_adam_options o);
/* Adam with decoupled weight decay (AdamW: o.weight_decay defaults to
 * 1e-2). */
tg_optim *tg_optim_adamw(tg_tensor *const *params, int n, tg_adam_options o);
/* Frees the optimizer and its state (not the parameters). */
void tg_optim_free(tg_optim *o);

/* One update of every parameter from its gradient. A parameter whose grad is
 * NULL is skipped, and its own step count does not advance (PyTorch skips
 * p.grad is None the same way). Gradients are used as they are: a NaN in a
 * gradient reaches the parameter, as in PyTorch (tg_clip_grad_norm reports
 * it first). Returns 0, or -1 for an optimizer built from bad options. */
int tg_optim_step(tg_optim *o);
/* Sets every parameter's gradient to zero (PyTorch's set_to_none=False). */
void tg_optim_zero_grad(tg_optim *o);

/* The learning rate, which may change between steps (schedules). set_lr
 * returns 0, or -1 (lr unchanged) unless lr is finite and >= 0. */
int tg_optim_set_lr(tg_optim *o, double lr);
/* The learning rate the next step uses. */
double tg_optim_lr(const tg_optim *o);
/* Weight decay of one parameter (index i of the params array) instead of the
 * option's, as a PyTorch parameter group would have it, e.g. 0 for biases
 * and norms. Returns 0, or -1 for a bad index or a negative value. */
int tg_optim_set_param_weight_decay(tg_optim *o, int i, double weight_decay);

/* "sgd", "adagrad", "rmsprop", "adam" or "adamw". */
const char *tg_optim_kind(const tg_optim *o);
/* The parameter array given at creation, and its length in *n. */
tg_tensor *const *tg_optim_params(const tg_optim *o, int *n);
/* NULL while no call has failed, else the message of the last failure.
 * tg_optim_error(NULL) says the optimizer could not be allocated. */
const char *tg_optim_error(const tg_optim *o);

/* ---- state, for checkpoints ------------------------------------------ */
/* The state as named heap tensors owned by the optimizer, in PyTorch's
 * state_dict vocabulary, parameter i by its index:
 *     "optim.step"               [n]: each parameter's step count
 *     "optim.momentum_buffer.i"  SGD with momentum, RMSprop with momentum
 *     "optim.sum.i"              Adagrad
 *     "optim.square_avg.i", "optim.grad_avg.i" (centered)   RMSprop
 *     "optim.exp_avg.i", "optim.exp_avg_sq.i",
 *     "optim.max_exp_avg_sq.i" (amsgrad)                    Adam, AdamW
 * Each buffer has its parameter's shape. Fills items[0 .. min(cap, count))
 * and returns count (so a first call with cap 0 sizes the array). */
int tg_optim_state(const tg_optim *o, tg_named *items, int cap);

/* Writes `extra` (typically the model's named parameters; n_extra may be 0)
 * together with the optimizer's state and its learning rate to one
 * safetensors file (atomic: written aside and renamed). The metadata
 * records the kind ("tapegrad.optim") and the lr ("tapegrad.optim.lr",
 * exact decimal). */
int tg_optim_save(tg_optim *o, const char *path, int n_extra, const tg_named *extra);
/* Reads such a file back into `extra` and into the optimizer's state, and
 * restores its learning rate. The optimizer must be of the same kind and
 * built with the same parameters and options (the options themselves are
 * not restored; a missing buffer such as max_exp_avg_sq is an error). Either
 * everything loads or nothing changes. Both return 0, or -1 with
 * tg_optim_error set, e.g.
 *     "run.st: holds sgd optimizer state, not adam" */
int tg_optim_load(tg_optim *o, const char *path, int n_extra, const tg_named *extra);

/* ---- gradient clipping ------------------------------------------------ */
enum {
    TG_CLIP_OK = 0,        /* done (clipped or already within bounds) */
    TG_CLIP_NONFINITE = 1, /* a NaN/Inf norm or a NaN value: grads untouched */
    TG_CLIP_INVALID = -1   /* bad arguments: nothing done */
};

/* As torch.nn.utils.clip_grad_norm_: the norm of all gradients together (as
 * one vector; the norm of the per-tensor norms), norm_type p > 0 or INFINITY.
 * If total_norm > max_norm, every gradient is scaled by
 * max_norm / (total_norm + 1e-6), so the norm becomes max_norm. Parameters
 * with a NULL grad are skipped; with none at all the norm is 0.
 * *total_norm (may be NULL) receives the norm before clipping. If that norm
 * is NaN or infinite, nothing is scaled and TG_CLIP_NONFINITE is returned
 * (where PyTorch would scale by NaN or raise with error_if_nonfinite): skip
 * that step. err (errlen bytes, may be NULL) receives a message for every
 * status but TG_CLIP_OK, naming the first non-finite gradient:
 *     "tg_clip_grad_norm: total 2-norm is nan: params[1] ("bias")[3] is nan;
 *      gradients left unchanged" */
int tg_clip_grad_norm(tg_tensor *const *params, int n, double max_norm, double norm_type,
                      double *total_norm, char *err, size_t errlen);
/* As torch.nn.utils.clip_grad_value_: clamps every gradient value into
 * [-clip_value, clip_value] (an infinite value becomes +-clip_value). A NaN
 * anywhere returns TG_CLIP_NONFINITE with nothing changed. */
int tg_clip_grad_value(tg_tensor *const *params, int n, double clip_value, char *err,
                       size_t errlen);

/* ---- learning-rate schedules ------------------------------------------ */
/* A schedule is a plain value: the learning rate is a pure function of the
 * epoch (0 = before the first scheduler.step() in PyTorch), in the closed
 * forms of torch.optim.lr_scheduler. Apply it to any optimizer with
 *     tg_optim_set_lr(opt, tg_schedule_lr(&s, epoch));
 * The closed forms, with e = epoch (after any warm-up, below):
 *     STEP         base_lr * gamma^floor(e / step_size)            StepLR
 *     EXPONENTIAL  base_lr * gamma^e                                ExponentialLR
 *     COSINE       eta_min + (base_lr - eta_min)
 *                      * (1 + cos(pi * e / t_max)) / 2              CosineAnnealingLR
 *     LINEAR       base_lr * (start_factor + (end_factor - start_factor)
 *                      * min(e, total_iters) / total_iters)         LinearLR */
typedef enum tg_schedule_kind {
    TG_SCHEDULE_CONSTANT, /* base_lr */
    TG_SCHEDULE_STEP,
    TG_SCHEDULE_EXPONENTIAL,
    TG_SCHEDULE_COSINE, /* periodic past t_max, as PyTorch's */
    TG_SCHEDULE_LINEAR
} tg_schedule_kind;

typedef struct tg_schedule {
    tg_schedule_kind kind;
    double base_lr;
    double gamma;                    /* STEP, EXPONENTIAL */
    int step_size;                   /* STEP, >= 1 */
    int t_max;                       /* COSINE, >= 1 */
    double eta_min;                  /* COSINE */
    double start_factor, end_factor; /* LINEAR */
    int total_iters;                 /* LINEAR, >= 1 */
    /* Linear warm-up before the schedule: for epoch < warmup the lr is
     * base_lr * (warmup_start_factor + (1 - warmup_start_factor) * epoch /
     * warmup), then the schedule runs from its own epoch 0, as
     * SequentialLR([LinearLR(start_factor, total_iters=warmup), s],
     * milestones=[warmup]). warmup 0: none. */
    int warmup;
    double warmup_start_factor; /* in (0, 1] */
} tg_schedule;

/* A constant rate. These constructors give the schedules of the closed
 * forms above without warm-up (tg_schedule_with_warmup adds one). */
tg_schedule tg_schedule_constant(double base_lr);
/* StepLR. */
tg_schedule tg_schedule_step(double base_lr, int step_size, double gamma);
/* ExponentialLR. */
tg_schedule tg_schedule_exponential(double base_lr, double gamma);
/* CosineAnnealingLR. */
tg_schedule tg_schedule_cosine(double base_lr, int t_max, double eta_min);
/* LinearLR. */
tg_schedule tg_schedule_linear(double base_lr, double start_factor, double end_factor,
                               int total_iters);
/* s with a linear warm-up of `warmup` epochs in front (see above). */
tg_schedule tg_schedule_with_warmup(tg_schedule s, int warmup, double start_factor);

/* The learning rate at `epoch` (>= 0), or NaN for an invalid schedule or a
 * negative epoch (tg_optim_set_lr then refuses it). */
double tg_schedule_lr(const tg_schedule *s, int epoch);
/* 0 for a valid schedule, else -1 with the reason in err (errlen bytes,
 * may be NULL), e.g. "tg_schedule: step_size must be >= 1, got 0". */
int tg_schedule_check(const tg_schedule *s, char *err, size_t errlen);

#endif
