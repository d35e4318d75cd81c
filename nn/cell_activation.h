/* Activations by name, for cells whose gates and candidate a user chooses
 * (cell_variant.h): each is composed from tape ops, so it has a gradient,
 * a picture on the tape and, where the fused program knows its ops, fusion. */
#ifndef TG_CELL_ACTIVATION_H
#define TG_CELL_ACTIVATION_H

#include "../autograd/autograd.h"

typedef enum tg_cell_activation {
    TG_CELL_ACT_SIGMOID,      /* 1 / (1 + e^-x) */
    TG_CELL_ACT_HARD_SIGMOID, /* clamp(x / 6 + 1/2, 0, 1), as torch.nn.Hardsigmoid */
    TG_CELL_ACT_TANH,
    TG_CELL_ACT_HARD_TANH, /* clamp(x, -1, 1) */
    TG_CELL_ACT_SOFTSIGN,  /* x / (1 + |x|) */
    TG_CELL_ACT_RELU,
    TG_CELL_ACT_IDENTITY,
    TG_CELL_ACT_COUNT
} tg_cell_activation;

/* The activation called name ("sigmoid", "hard_sigmoid", "tanh",
 * "hard_tanh", "softsign", "relu", "identity"), or -1. */
int tg_cell_activation_find(const char *name);
/* The name of act, or NULL outside the enum. */
const char *tg_cell_activation_name(int act);
/* act applied to x elementwise, from tape ops (identity returns x). */
tg_tensor *tg_cell_activation_apply(tg_tape *t, tg_cell_activation act, tg_tensor *x);

#endif
