/* model: the layer above nn and optim: spec files (JSON, docs/spec.md)
 * and the models built from them. The JSON library stays inside the .c
 * files (model/model_impl.h): nothing here names its types. */
#ifndef TG_MODEL_H
#define TG_MODEL_H

#include "spec.h"

/* ---- models --------------------------------------------------------------- */

/* The layers of a spec as one module. Its parameters (base.params) are in
 * layer order, each under "<layer name>.<PyTorch parameter name>". */
typedef struct tg_model {
    tg_module base; /* kind "model"; children: the layers that have parameters */
    tg_task task;
    tg_input_type input;
    int64_t vocab, input_size, output_size;
    bool batch_first, pooled;
    tg_tree_target tree_target;
    int n_layers;
    tg_layer_spec *layers; /* a copy: the spec may be freed */
    tg_module **mods;      /* [n_layers]: each layer's module, NULL if it has no
                            * parameters (tg_linear_layer, tg_embedding, tg_rnn,
                            * tg_jordan or tg_deep_rnn by type) */
    tg_rng rng;            /* dropout masks */
    tg_seq2seq *s2s;       /* task seq2seq: the encoder-decoder, the only child (no
                            * layers); its parameters keep their own names */
    double sample_prob;    /* seq2seq in training mode: the probability of feeding
                            * the model's own prediction (set it every step) */
    int64_t cond_size;     /* input.condition: classes, 0: unconditioned */
    tg_condition_mode cond_as;
    int cond_layer;      /* the recurrent layer the condition enters */
    tg_module *cond_map; /* initial_state: a tg_linear_layer from the one-hot to
                          * h0 (and c0), the parameters "condition.weight" and
                          * "condition.bias" after the layers' */
} tg_model;

/* Builds the model with fresh weights drawn from init (PyTorch's initial
 * distributions). Token input needs the vocabulary size known (in the spec
 * or from tg_spec_set_vocab). NULL with a message in err on failure. The
 * model starts in training mode (tg_module_train(&m->base, false) turns
 * dropout off). */
tg_model *tg_model_new(const tg_spec *s, tg_rng *init, char *err, size_t errlen);
/* Frees the model and every parameter it owns. */
void tg_model_free(tg_model *m);

/* One batch. Sequences are laid out [T, B] (or [B, T] with batch_first). */
typedef struct tg_model_batch {
    int64_t T, B;               /* token input: the shape of ids (vectors: from x) */
    const int64_t *ids;         /* token input: T*B ids in [0, vocab), row-major */
    tg_tensor *x;               /* vector input: [T, B, I] (or [B, T, I]) */
    const int64_t *lengths;     /* NULL (every sequence has T steps) or B lengths in
                                 * [1, T]; steps past a sequence's end are padding */
    const int64_t *target_ids;  /* language_model, tag: T*B ids laid out as ids;
                                 * classify: B ids */
    tg_tensor *target;          /* regress: [T, B, O] (or [B, T, O]); [B, O] when pooled */
    const int64_t *cond;        /* a conditioned model: B classes in [0, cond_size), or
                                 * NULL to keep those of the state's stream */
    const tg_tree_batch *trees; /* tree: the trees, token ids and labels (T, B unused) */
    /* seq2seq (always batch-first): ids and lengths are the sources [B, T];
     * target_ids [B, target_T] the targets, each ending with the end marker
     * (id 1), target_lengths counting it (NULL: all target_T; target_T 0:
     * T) */
    int64_t target_T;
    const int64_t *target_lengths;
} tg_model_batch;

typedef struct tg_model_output {
    tg_tensor *output; /* logits or predictions: [T, B, C] (or [B, T, C]); [B, C] pooled;
                        * seq2seq: [B, target_T, tgt_vocab] */
    /* The final state of the last recurrent layer (on the tape): h_n
     * [layers*dirs, B, H] and, for an LSTM, c_n, as tg_rnn_forward gives
     * them; for a jordan layer h_n is its feedback [B, O], for a deep_rnn
     * its h_n [B, H] (both at step T-1). NULL without recurrent layers. */
    tg_tensor *h_n, *c_n;
    /* tree: output holds a row per node [N, C] in batch order, roots the
     * rows of the roots [n_trees, C]; h_n (and c_n) the last tree layer's
     * root states [n_trees, H] */
    tg_tensor *roots;
} tg_model_output;

/* Recurrent state carried from one call to the next (truncated BPTT over a
 * long stream, or sampling step by step): per layer, heap tensors without
 * gradient, so a carried state is a constant to the next call. NULL entries
 * mean zeros (the start of a stream). */
typedef struct tg_model_state {
    int n;
    tg_tensor **h, **c; /* [n]: by layer (c: LSTM cell states) */

    /* a conditioned model: its sequences' classes, kept from the batch
     * that gave them (NULL: none yet) */
    int64_t *cond, n_cond;
} tg_model_state;

/* A state for m, nothing carried yet (zeros). */
tg_model_state *tg_model_state_new(const tg_model *m);
/* Back to zeros (the start of a new stream). */
void tg_model_state_reset(tg_model_state *s);
/* Frees the state (NULL is fine). */
void tg_model_state_free(tg_model_state *s);

/* Runs the batch through every layer. state: NULL (start from zeros), or a
 * state whose entries become the initial states and receive the final ones
 * (each sequence's state at its own last step). Returns 0, or -1 with the
 * tape's error set (bad batch: "tg_model_forward: ids[5] = 70 is outside
 * [0, 65)"). */
int tg_model_forward(tg_tape *t, tg_model *m, const tg_model_batch *b, tg_model_state *state,
                     tg_model_output *out);
/* The task's loss, a 0-d tensor: cross-entropy (language_model, tag,
 * classify) or mean squared error (regress), averaged over the counted
 * targets (steps past a sequence's length are not counted). out: the
 * output of tg_model_forward for this batch, or NULL to run the forward
 * pass here (without state). NULL with the tape's error set on failure. */
tg_tensor *tg_model_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                         const tg_model_output *out);
/* A training step's loss: tg_model_forward then tg_model_loss, or, when
 * train.memory asks for {"whole_model": true} and the model is a language
 * model made of an embedding, rnn/lstm/gru layers (one direction) and a
 * linear head (and the batch has no lengths), the whole model run in
 * segments (tg_seq_recompute_loss): memory O(T/k + k) for the whole model,
 * not only its recurrent steps, and gradients equal to the full tape's up
 * to rounding. Any other model or batch falls back to the layers' own
 * recomputation, bit for bit the full tape's. On that path out->output stays NULL
 * (the logits are never whole); out->h_n, c_n and the carried state are
 * set as tg_model_forward sets them. out may be NULL. NULL with the tape's
 * error set on failure (model/model_recompute.c). */
tg_tensor *tg_model_train_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                               tg_model_state *st, tg_model_output *out);
/* Knowledge distillation (Hinton, Vinyals and Dean 2015) on a batch:
 *     alpha * T^2 * KL(softmax(teacher / T) || softmax(output / T))
 *     + (1 - alpha) * tg_model_loss(t, m, b, out)
 * with the KL averaged over the counted targets (rows of the output; steps
 * past a sequence's length left out). teacher: a teacher's output for the
 * same batch, the shape of out->output (run it with grad recording off:
 * tg_set_grad_enabled). Tasks language_model, classify and tag. NULL with
 * the tape's error set on failure (model/model_distill.c). */
tg_tensor *tg_model_distill_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                                 const tg_model_output *out, tg_tensor *teacher,
                                 double temperature, double alpha);
/* One step of B sequences (sampling a language model): ids (B ids, token
 * input) or x ([B, I], vector input) goes through every layer with the
 * state carried in `state` (required). Returns the output for this step,
 * [B, C], or NULL with the tape's error set (a pooled or bidirectional
 * model needs whole sequences). A conditioned model takes the classes kept
 * in the state (give them in the first tg_model_forward's batch). */
tg_tensor *tg_model_step(tg_tape *t, tg_model *m, const int64_t *ids, tg_tensor *x, int64_t B,
                         tg_model_state *state);

#endif
