/* Inside the optimizers: the object every file of optim/ shares. Not part
 * of the public API. */
#ifndef TG_OPTIM_IMPL_H
#define TG_OPTIM_IMPL_H

#include "optim.h"

#define TG__OPTIM_MAX_BUFS 3
#define TG__OPTIM_ERR_MAX 512

struct tg_optim {
    const char *kind; /* "sgd", ...: messages and checkpoints */
    const char *fn;   /* the constructor's name, for its messages */
    int n;
    tg_tensor **params;
    double lr;
    double *weight_decay; /* [n]: the option's, or a parameter's own */
    /* One update of elements [lo, hi) of parameter i (its grad is there
     * and step already counts this update); elements are independent, so
     * the range may be split over threads. */
    void (*update)(tg_optim *o, int i, int64_t lo, int64_t hi);
    /* Options after defaults, by kind. */
    union {
        tg_sgd_options sgd;
        tg_adagrad_options adagrad;
        tg_rmsprop_options rmsprop;
        tg_adam_options adam;
    } opt;
    tg_tensor *step; /* [n] step counts, tg_real like PyTorch's step tensor */
    int nbufs;
    const char *buf_name[TG__OPTIM_MAX_BUFS];
    tg_tensor **buf[TG__OPTIM_MAX_BUFS]; /* buf[k][i]: parameter i's shape */
    char **state_name;                   /* 1 + nbufs * n names, owned */
    bool broken;                         /* bad options: every step fails */
    char err[TG__OPTIM_ERR_MAX];
};

/* A new optimizer over params, with checks of the parameter list; NULL when
 * out of memory. On a bad list the optimizer comes back broken. */
tg_optim *tg__optim_new(const char *fn, const char *kind, tg_tensor *const *params, int n,
                        void (*update)(tg_optim *, int, int64_t, int64_t));
/* Records a message (printf-style); `broken` makes it stick. Returns -1. */
int tg__optim_fail(tg_optim *o, bool broken, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a state buffer per parameter, filled with `fill`; returns its index
 * in o->buf, or -1 (the optimizer is then broken: out of memory). Does
 * nothing on a broken optimizer. */
int tg__optim_add_buf(tg_optim *o, const char *name, double fill);
/* Option helpers: v with 0 meaning `dflt` (TG_ZERO meaning 0). */
double tg__opt_default(double v, double dflt);
/* Fails (broken) unless v >= 0 (and not NaN); returns whether it is. */
bool tg__opt_nonneg(tg_optim *o, const char *field, double v);
/* Sets lr and the weight decay of every parameter once options are
 * checked; returns o. */
tg_optim *tg__optim_ready(tg_optim *o, double lr, double weight_decay);

#endif
