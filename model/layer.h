/* A row of the layer registry (model/layers.def lists the rows, model/layers.c
 * holds them): how one layer type of spec files is parsed, sized, built and
 * run. The parser and the model loop over layers and call the row; they have
 * no case per type. Also the helpers several rows share (model/layer.c).
 * Internal to model/. */
#ifndef TG_MODEL_LAYER_H
#define TG_MODEL_LAYER_H

#include "model_impl.h"

/* What flows from one layer to the next while a spec's sizes are resolved:
 * features in (the layer's L->in), and how the vector is made up. */
typedef struct tg__sizing {
    int64_t split; /* features [split, 2 split) are a reverse direction's, 0: none */
    bool seq;      /* still a sequence (no pool yet) */
    int pooled_by; /* model.layers index of the pool that ended it */
} tg__sizing;

/* One forward pass over a batch, as the model runner hands it to each layer.
 * Sequences are time-major: x is [T, B, F]. */
typedef struct tg__layer_run {
    tg_tape *t;
    tg_model *m;
    const int64_t *ids; /* token input: [T, B] */
    int64_t T, B;
    const int64_t *lengths; /* [B], or NULL: every sequence has T steps */
    const int64_t *cond;    /* a conditioned model's classes [B] */
    tg_model_state *st;     /* the carried state, or NULL */
    tg_model_output *out;   /* the recurrent layers set h_n and c_n */
} tg__layer_run;

typedef struct tg__layer_row {
    /* every key a layer of this type takes, "type" and "name" included */
    const char *const *keys;
    /* Its own keys into L (the parser has read type, name and input and
     * preset the defaults). 0, or -1 after tg_json_fail. NULL: none. */
    int (*parse)(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                 tg_layer_spec *L);
    /* L->out from L->in (0 while the vocabulary is unknown); may update z.
     * path: the layer's. 0, or -1 after tg_json_fail. */
    int (*size)(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                tg__sizing *z);
    /* Its module with fresh weights, or NULL with a reason in e. NULL for a
     * type without parameters. */
    tg_module *(*build)(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                        size_t elen);
    /* Layer k over a sequence x [T, B, F] (NULL when the layer before read
     * the ids for it); NULL with the tape's error set, or NULL for an
     * embedding that leaves the ids to the recurrent layer after it. A
     * sampling step is this with T = 1 and a carried state. NULL: not in
     * sequence tasks. */
    tg_tensor *(*forward)(const tg__layer_run *r, int k, tg_tensor *x);
    /* Layer k in task tree, on x [N, F] (a row per node; NULL before the
     * first layer). NULL: not allowed in task tree. */
    tg_tensor *(*tree)(tg_tape *t, tg_model *m, int k, const tg_tree_batch *tb, tg_tensor *x,
                       tg_model_output *out);
} tg__layer_row;

/* The row of a type (model/layers.c). */
const tg__layer_row *tg__layer_row_of(tg_layer_type type);

/* ---- shared by rows (model/layer.c) ------------------------------------------------ */

/* The largest num_layers of one recurrent layer. */
#define TG__MAX_STACK 256

/* "hidden" (required) and "batch_first" (must match input.batch_first),
 * which every recurrent type takes. */
int tg__layer_parse_hidden(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                           tg_layer_spec *L);
/* "nonlinearity": "tanh" (default) or "relu", into L->relu. */
int tg__layer_parse_nonlinearity(const tg_jctx *c, const cJSON *obj, const char *path,
                                 tg_layer_spec *L);
/* A linear (or jordan) layer's "out": a size, or "vocab" for token input
 * when vocab_ok. */
int tg__layer_parse_out(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                        tg_layer_spec *L, bool vocab_ok);
/* L->out = L->in: layers that keep the features as they are. */
int tg__layer_size_same(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                        tg__sizing *z);

/* Layer k is an embedding whose rows go straight into a recurrent layer's
 * input product: that layer reads the ids itself (tg_rnn_forward_tokens). */
bool tg__embedding_feeds_rnn(const tg_model *m, int k);
/* A carried state copied onto the tape, after checking its batch size
 * (dimension bdim) against B; NULL for zeros. */
tg_tensor *tg__layer_initial(tg_tape *t, const tg_tensor *s, int bdim, int64_t B, int k);
/* jordan, deep_rnn: one state [B, S], final at step T-1. state_in gives
 * the carried one (NULL: zeros) or fails (-1, the tape's error set) where
 * it cannot be carried; state_out sets out->h_n and carries fin. */
int tg__layer_state_in(const tg__layer_run *r, int k, tg_tensor **s0);
void tg__layer_state_out(const tg__layer_run *r, int k, tg_tensor *fin);

#endif
