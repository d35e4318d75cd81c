/* The "optimizer" section of a spec file (docs/spec.md): which optimizer
 * with which options, gradient clipping, and a learning-rate schedule.
 *
 *     "optimizer": {"type": "adam", "lr": 0.002, "betas": [0.9, 0.999],
 *                   "clip_norm": 5.0,
 *                   "schedule": {"type": "cosine", "warmup": 100}}
 *
 * Parsing (inside the spec parser: model/model_impl.h) checks everything
 * (with JSON paths in the messages) without any parameters, so a bad
 * section is reported before a model is built; building then cannot fail
 * but for memory. Keys, defaults (PyTorch's) and ranges:
 *
 *   type          "sgd" | "adagrad" | "rmsprop" | "adam" | "adamw" (default adam)
 *   lr            >= 0; required for sgd; else 1e-2 (adagrad, rmsprop), 1e-3
 *   sgd:          momentum >= 0 (0), dampening (0), weight_decay >= 0 (0),
 *                 nesterov (false; needs momentum > 0 and dampening 0)
 *   adagrad:      lr_decay (0), weight_decay (0), initial_accumulator_value
 *                 (0), eps (1e-10), all >= 0
 *   rmsprop:      alpha (0.99), eps (1e-8), weight_decay (0), momentum (0),
 *                 all >= 0; centered (false)
 *   adam, adamw:  betas [b1, b2] each in [0, 1) ([0.9, 0.999]), eps >= 0
 *                 (1e-8), weight_decay >= 0 (adam 0, adamw 1e-2), amsgrad
 *   clip_norm     > 0: clip the gradients' total norm (clip_grad_norm_)
 *   clip_norm_type  > 0 or "inf" (2)
 *   clip_value    > 0: clamp every gradient value (clip_grad_value_);
 *                 at most one of clip_norm and clip_value
 *   schedule      {"type": "constant" | "step" | "exponential" | "cosine" |
 *                  "linear", "warmup": steps >= 0 (0),
 *                  "warmup_start_factor": (0, 1] (1/3), and by type:
 *                  step: step_size >= 1 (required), gamma >= 0 (0.1);
 *                  exponential: gamma >= 0 (required);
 *                  cosine: t_max >= 1 (default: the caller's, e.g. the
 *                  training steps), eta_min >= 0 (0);
 *                  linear: start_factor (0, 1] (1/3), end_factor [0, 1] (1),
 *                  total_iters >= 1 (5)}
 *                 The schedule's epoch is the optimizer step. */
#ifndef TG_MODEL_OPTIM_SPEC_H
#define TG_MODEL_OPTIM_SPEC_H

#include "../optim/optim.h"

typedef enum tg_optim_type {
    TG_OPTIM_SGD,
    TG_OPTIM_ADAGRAD,
    TG_OPTIM_RMSPROP,
    TG_OPTIM_ADAM,
    TG_OPTIM_ADAMW
} tg_optim_type;

/* A parsed section, every default filled in. */
typedef struct tg_optim_spec {
    tg_optim_type type;
    double lr;                  /* resolved, as the optimizer will use it */
    tg_sgd_options sgd;         /* the options of `type` (the others unused), */
    tg_adagrad_options adagrad; /* with explicit zeros written as TG_ZERO */
    tg_rmsprop_options rmsprop;
    tg_adam_options adam;
    double clip_norm;      /* 0: no norm clipping */
    double clip_norm_type; /* 2, or INFINITY */
    double clip_value;     /* 0: no value clipping */
    tg_schedule schedule;  /* constant at lr when the section has none */
} tg_optim_spec;

/* Adam with PyTorch's defaults, no clipping, a constant learning rate: what
 * a spec without an "optimizer" section gets. */
tg_optim_spec tg_optim_spec_default(void);

/* The optimizer over params (see tg_optim_sgd and friends for what params
 * must be); NULL only when out of memory. Its lr starts at the schedule's
 * value for step 0. */
tg_optim *tg_optim_spec_build(const tg_optim_spec *s, tg_tensor *const *params, int n);

/* One training step's housekeeping before tg_optim_step: sets the lr of
 * `step` from the schedule and clips the gradients as the spec says.
 * Returns TG_CLIP_OK, TG_CLIP_NONFINITE (gradients not finite: skip this
 * step; message in err) or TG_CLIP_INVALID. total_norm (may be NULL) gets
 * the norm before clipping when clipping by norm, else 0. */
int tg_optim_spec_prepare(const tg_optim_spec *s, tg_optim *o, int step, double *total_norm,
                          char *err, size_t errlen);


#endif
