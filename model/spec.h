/* Models from JSON spec files (the format is documented in docs/spec.md).
 *
 * A spec names a task, the input, a list of layers, the loss, and the
 * optimizer, training and sampling settings:
 *
 *     {"tapegrad": 1, "task": "language_model",
 *      "input": {"type": "tokens", "vocab": 65},
 *      "model": {"layers": [{"type": "embedding", "dim": 64},
 *                           {"type": "lstm", "hidden": 256},
 *                           {"type": "linear", "out": "vocab"}]},
 *      "optimizer": {"type": "adam", "lr": 0.002, "clip_norm": 5}}
 *
 * tg_spec_parse checks the whole file and either returns a tg_spec or NULL
 * with one message saying where and what ("spec.json: model.layers[1].hidden:
 * expected a positive integer, got -3"); a program maps NULL to exit code 2.
 * tg_model_new builds the layers as modules named like an nn.Sequential's
 * state_dict ("0.weight", "1.weight_ih_l0", "1.weight_hh_l0_reverse", or
 * "<name>.<param>" for a layer with a "name"), tg_model_forward runs a batch
 * and tg_model_loss gives the task's loss:
 *
 *     tg_spec *s = tg_spec_load("spec.json", err, sizeof err);
 *     if (!s) { fprintf(stderr, "%s\n", err); exit(2); }
 *     tg_model *m = tg_model_new(s, &rng, err, sizeof err);
 *     tg_optim *opt = tg_optim_spec_build(&s->optim, params, n);  // from m->base.params
 *     for (int step = 0; ...; step++) {
 *         tg_tape_reset(tape);
 *         tg_model_output out;
 *         tg_model_forward(tape, m, &batch, NULL, &out);
 *         tg_tensor *loss = tg_model_loss(tape, m, &batch, &out);
 *         tg_optim_zero_grad(opt);
 *         tg_backward(tape, loss);   // fails (-1) if the tape is in error
 *         tg_optim_spec_prepare(&s->optim, opt, step, NULL, err, sizeof err);
 *         tg_optim_step(opt);
 *     } */
#ifndef TG_SPEC_H
#define TG_SPEC_H

#include "../nn/nn.h"
#include "optim_spec.h"

/* The format version this build reads and writes ("tapegrad": 1). */
#define TG_SPEC_VERSION 1

typedef enum tg_task {
    TG_TASK_LANGUAGE_MODEL, /* next-token prediction: targets are the ids shifted by one */
    TG_TASK_CLASSIFY,       /* one class per sequence (many-to-one) */
    TG_TASK_TAG,            /* one class per step (many-to-many) */
    TG_TASK_REGRESS,        /* real vectors per step, or per sequence after a pool */
    TG_TASK_TREE,           /* a class per labelled node of a tree (model/spec_tree.c) */
    TG_TASK_SEQ2SEQ         /* a target sequence per source sequence (encoder-decoder) */
} tg_task;

/* TREES: a token id (or none) at every node of a batch of trees */
typedef enum tg_input_type { TG_INPUT_TOKENS, TG_INPUT_VECTORS, TG_INPUT_TREES } tg_input_type;

/* How input.condition (a one-hot class vector per sequence) enters a
 * language model: as the initial state of its first recurrent layer, or
 * appended to that layer's input at every step. */
typedef enum tg_condition_mode {
    TG_COND_NONE,
    TG_COND_INITIAL_STATE,
    TG_COND_INPUT
} tg_condition_mode;

/* The layer types, from the layer table (model/layers.def). */
typedef enum tg_layer_type {
#define TG_LAYER(id, name, flags) TG_LAYER_##id,
#include "layers.def"
#undef TG_LAYER
    TG_LAYER_COUNT
} tg_layer_type;

typedef enum tg_activation_fn { TG_ACT_TANH, TG_ACT_RELU, TG_ACT_SIGMOID } tg_activation_fn;
typedef enum tg_pool_mode { TG_POOL_LAST, TG_POOL_MEAN, TG_POOL_MAX } tg_pool_mode;
typedef enum tg_loss_type { TG_LOSS_CROSS_ENTROPY, TG_LOSS_MSE } tg_loss_type;

#define TG_LAYER_NAME_MAX 64

/* One layer, with the sizes that flow through it. */
typedef struct tg_layer_spec {
    tg_layer_type type;
    char name[TG_LAYER_NAME_MAX]; /* its "name", or its index in model.layers */
    int index;                    /* in model.layers; -1 for a pool inserted by the parser */
    int64_t in, out;              /* features per step (per sequence after a pool);
                                   * 0 while they depend on a vocabulary not yet known */
    int64_t in_given;             /* the "input" key, 0 if absent */
    bool sequence;                /* its input is a sequence (not yet pooled) */
    bool bias;                    /* linear, rnn, lstm, gru */
    int64_t hidden;               /* rnn, lstm, gru, jordan, deep_rnn */
    int64_t proj_size;            /* lstm: h projected to this width, 0: off */
    /* lstm, gru: the wishlist's keys (layer norm, peephole, activations,
     * variational dropout, zoneout; model/layer_variant.h); zero: the plain cell */
    tg_cell_variant_options variant;
    int num_layers;               /* rnn, lstm, gru */
    bool bidirectional;           /* rnn, lstm, gru */
    double dropout;               /* rnn, lstm, gru: between stacked layers */
    bool relu;                    /* rnn, jordan: "nonlinearity": "relu" */
    int64_t dim;                  /* embedding */
    int64_t padding_idx;          /* embedding, -1: none */
    bool out_is_vocab;            /* linear: "out": "vocab" */
    int depth;                    /* deep_rnn */
    bool skip;                    /* deep_rnn */
    tg_activation_fn fn;          /* activation */
    double p;                     /* dropout */
    tg_pool_mode pool;            /* pool */
    int64_t split;                /* pool "last": features [split, 2*split) are a reverse
                                   * direction's (read at step 0); 0: none */
    int arity;                    /* tree_rnn, tree_lstm: children per node; 0: any
                                   * (a child-sum Tree-LSTM) */
    tg_rnn_memory memory;         /* RECOMPUTES layers (layers.def): train.memory */
    bool whole_model;             /* RECOMPUTES layers: train.memory.whole_model, the
                                   * whole-model path of tg_model_train_loss */
    int cell;                     /* renet: "cell" as a tg_rnn_mode */
    int64_t grid_rows, grid_cols; /* renet: the image's patch grid */
    struct tg__cell_def *cell_def; /* cell (and renet with a "cell" object): the
                                    * parsed equations, owned by the spec */
} tg_layer_spec;

typedef struct tg_train_spec {
    int64_t batch;            /* sequences per step (32) */
    int64_t seq_len;          /* steps per sequence for a language model (64) */
    int64_t steps;            /* optimizer steps (1000) */
    int64_t eval_every;       /* steps between validations, 0: at the end only (100) */
    int64_t checkpoint_every; /* steps between checkpoints, 0: at the end only (0) */
    int64_t log_every;        /* steps between progress lines, 0: none (10) */
    double valid_fraction;    /* of the data held out for validation, [0, 1) (0.1) */
    uint64_t seed;            /* initial weights, batches, dropout (1) */
    bool skip_nonfinite;      /* on_nonfinite "skip": a step whose loss or gradient is
                               * not finite is skipped, not the end of the run ("stop") */
    int64_t max_skips;        /* "skip": consecutive skipped steps that end the run (10) */
} tg_train_spec;

typedef struct tg_sample_spec {
    int64_t length;     /* tokens to generate (200) */
    double temperature; /* > 0 (1.0) */
    char *prime;        /* text fed before sampling, owned ("") */
    uint64_t seed;      /* (1) */
} tg_sample_spec;

/* seq2seq: how a line of text becomes symbols. */
typedef enum tg_text_split { TG_SPLIT_SPACES, TG_SPLIT_CHARS } tg_text_split;

/* The seq2seq task's settings (model/spec_seq2seq.c). */
typedef struct tg_seq2seq_spec {
    tg_seq2seq_options model;      /* src_vocab, tgt_vocab 0 until known; bos 0, eos 1 */
    tg_text_split source, target;  /* input.source, input.target ("spaces") */
    double sampling;               /* train.sampling as a fixed probability (0) */
    bool scheduled;                /* train.sampling is a schedule instead */
    tg_sampling_schedule schedule; /* (Bengio et al. 2015) */
    tg_beam_options decode;        /* decode: width 1 (greedy), length_penalty 1,
                                    * max_len 0 (each batch: 2 S + 5) */
} tg_seq2seq_spec;

/* "distill": train against a teacher's softened outputs (model/spec_distill.c;
 * the loss is tg_model_distill_loss's, model/model.h). */
typedef struct tg_distill_spec {
    char *teacher;      /* the teacher's spec file, NULL: no distillation; a path
                         * relative to the spec file's directory, resolved */
    char *checkpoint;   /* the teacher's weights (safetensors), resolved likewise */
    double temperature; /* > 0 (2) */
    double alpha;       /* the soft targets' weight in [0, 1] (0.5) */
} tg_distill_spec;

/* A checked spec. Read its fields freely; change them only through
 * tg_spec_set_vocab. */
typedef struct tg_spec {
    char *file; /* as given to the parser, for messages */
    int version;
    tg_task task;
    tg_input_type input;
    int64_t vocab;      /* tokens, trees: the vocabulary size, 0 until known */
    bool vocab_given;   /* input.vocab was in the file (else it comes from the data) */
    int64_t input_size; /* vectors: features per step */
    /* input.type "image": height, width and patch in pixels (0: not an
     * image). An image is vector input of (height/patch) * (width/patch)
     * steps, its patches row by row, of patch*patch features each. */
    int64_t image_height, image_width, image_patch;
    bool batch_first;   /* batches are [B, T, ...] instead of [T, B, ...] */
    int n_layers;       /* including a pool the parser inserted */
    tg_layer_spec *layers;
    int64_t output_size; /* the last layer's out: classes, vocab or targets per step */
    bool pooled;         /* one output per sequence ([B, C]) rather than per step */
    tg_loss_type loss;
    tg_tree_target tree_target; /* tree: which labelled nodes the loss counts */
    tg_optim_spec optim;        /* the "optimizer" section, or Adam's defaults */
    bool has_optimizer, has_train, has_sample;
    tg_train_spec train;   /* defaults when absent */
    tg_sample_spec sample; /* defaults when absent */

    /* task seq2seq: no layers; vocab is the source's vocabulary, output_size
     * the target's */
    tg_seq2seq_spec seq2seq;
    bool has_decode;
    /* token input: input.split and input.condition */
    bool split_chars;          /* "split": "chars" (text reads as UTF-8 characters) */
    int64_t cond_size;         /* condition.size: classes of the one-hot condition, 0: none */
    tg_condition_mode cond_as; /* condition.as */
    int cond_layer;            /* the layer it enters (the first rnn, lstm or gru) */
    tg_distill_spec distill;   /* language_model, classify, tag */
    bool task_unknown;         /* while parsing: "task" was missing or bad */
} tg_spec;

/* A bad spec reports this many errors at most (one per line). */
#define TG_SPEC_MAX_ERRORS 20

/* Parses and checks a spec from text (NUL-terminated); filename (may be
 * NULL) only prefixes messages. NULL on any error, with the messages in err
 * (errlen bytes): every error found, one per line in the order of the
 * document, at most TG_SPEC_MAX_ERRORS ("... and N more" after them).
 * Each section is checked after another's error, and each layer after
 * another layer's, but the checks across layers only when every layer is
 * right, and a section that depends on the task not when the task is
 * missing or unknown. */
tg_spec *tg_spec_parse(const char *json, const char *filename, char *err, size_t errlen);
/* The same for len bytes, which may hold a NUL (reported as malformed). */
tg_spec *tg_spec_parse_len(const char *json, size_t len, const char *filename, char *err,
                           size_t errlen);
/* Reads and parses a file; messages are prefixed with path. */
tg_spec *tg_spec_load(const char *path, char *err, size_t errlen);
/* Frees a spec (NULL is fine). */
void tg_spec_free(tg_spec *s);

/* For token input: the vocabulary size taken from the data. Fills in a
 * missing input.vocab (and the sizes that depend on it, such as a linear
 * "out": "vocab"), or checks a given one. Returns 0, or -1 with a message
 * such as "spec.json: input.vocab: 65 does not match the data's vocabulary
 * of 80 symbols". */
int tg_spec_set_vocab(tg_spec *s, int64_t vocab, char *err, size_t errlen);

/* seq2seq: the target vocabulary's size (markers included), from the data;
 * 0 or -1 as tg_spec_set_vocab. */
int tg_spec_set_target_vocab(tg_spec *s, int64_t vocab, char *err, size_t errlen);
/* seq2seq: the probability of feeding the model's own prediction at
 * training step `step` (train.sampling); 0 for other tasks. */
double tg_spec_sampling_prob(const tg_spec *s, int64_t step);

/* "language_model", ... as written in spec files. */
const char *tg_task_name(tg_task task);
/* "lstm", ... as written in spec files. */
const char *tg_layer_type_name(tg_layer_type type);
/* The largest size a spec accepts for any one size (vocab, hidden, dim, ...). */
#define TG_SPEC_MAX_SIZE ((int64_t)1 << 24)
/* Every recurrent layer: rnn, lstm, gru, jordan, deep_rnn. */
bool tg_spec_is_recurrent_layer(tg_layer_type type);
/* rnn, lstm or gru: the layers a tg_rnn module runs (tg_model's mods[k] is
 * a tg_rnn *), not the Jordan and deep RNNs, which have their own. */
bool tg_spec_is_rnn_layer(tg_layer_type type);

#endif
