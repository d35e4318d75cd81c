/* Linear and Embedding modules (PyTorch's layouts and default inits). */
#ifndef TG_LINEAR_H
#define TG_LINEAR_H

#include "module.h"

/* y = x W^T + b; weight [out, in], bias [out]. Parameters "weight", "bias";
 * weight and bias from U(-1/sqrt(in), 1/sqrt(in)), as nn.Linear. */
typedef struct tg_linear_layer {
    tg_module base;
    tg_tensor *weight, *bias; /* bias NULL when created without */
} tg_linear_layer;

/* A Linear module of in -> out features, with a bias or without. */
tg_linear_layer *tg_linear_layer_new(int64_t in, int64_t out, bool bias, tg_rng *r);
/* x [..., in] -> [..., out]. */
tg_tensor *tg_linear_layer_forward(tg_tape *t, tg_linear_layer *m, tg_tensor *x);

/* Rows of weight [num, dim] looked up by id; weight from N(0, 1) as
 * nn.Embedding. With a padding index (>= 0), that row starts at zero and
 * receives no gradient; a negative padding_idx means none (PyTorch's
 * counting from the end is not supported: pass num - 1). */
typedef struct tg_embedding {
    tg_module base;
    tg_tensor *weight;
    int64_t padding_idx; /* -1: none */
} tg_embedding;

/* A [num, dim] table drawn from N(0, 1), as nn.Embedding; padding_idx
 * (-1: none) names a row that starts at zero and gets no gradient. */
tg_embedding *tg_embedding_new(int64_t num, int64_t dim, int64_t padding_idx, tg_rng *r);
/* ids: n indices in row-major order of `shape` (e.g. [T, B]); the result has
 * shape + [dim]. */
tg_tensor *tg_embedding_forward(tg_tape *t, tg_embedding *m, const int64_t *ids, tg_shape shape);

#endif
