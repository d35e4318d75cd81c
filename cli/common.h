/* The tapegrad command: what its subcommands share. Options, exit codes,
 * messages, the model a spec describes, checkpoints (cli/checkpoint.c) and
 * evaluation (cli/evaluate.c). Not part of the library: nothing here is
 * installed or called from outside cli/. */
#ifndef TG_CLI_COMMON_H
#define TG_CLI_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tapegrad.h"

#include "data.h"

/* Exit codes (docs/cli.md). */
enum {
    CLI_OK = 0,
    CLI_FAIL = 1,         /* the run failed: files, data, numbers */
    CLI_USAGE = 2,        /* bad usage or a bad spec */
    CLI_NONFINITE = 3,    /* train: a step's loss or gradient was not finite */
    CLI_INTERRUPTED = 130 /* Ctrl-C during training, after its checkpoint was saved */
};

/* Reports "tapegrad CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- options -------------------------------------------------------------- */
typedef enum cli_kind { CLI_STR, CLI_INT, CLI_REAL, CLI_FLAG } cli_kind;

/* One "--name VALUE" (or "--name=VALUE", or a bare "--name" flag). */
typedef struct cli_option {
    const char *name; /* "--steps" */
    cli_kind kind;
    void *value;   /* const char **, int64_t *, double *, bool * */
    double lo, hi; /* CLI_INT, CLI_REAL: accepted range (inclusive) */
    bool given;    /* set by cli_parse */
} cli_option;

/* Parses argv[1..argc) (argv[0] is the command's name) into opts and the
 * positional arguments (at most n_pos; *got receives the count: the
 * command says which are missing). "--help" prints help to
 * stdout and returns -1 (CLI_FAIL after a message if help does not name
 * exactly the options of opts). Returns 0, or CLI_USAGE after a message naming the
 * bad argument (with the nearest option suggested). */
int cli_parse(const char *cmd, int argc, char **argv, cli_option *opts, int n_opts,
              const char **pos, int n_pos, int *got, const char *help);
/* Whether the option called name was given. */
bool cli_given(const cli_option *opts, int n_opts, const char *name);

/* ---- the model of a spec ---------------------------------------------------- */
typedef struct cli_model {
    tg_spec *spec;
    tg_model *model;
    int n;                  /* parameters */
    const tg_named *params; /* the model's, in order (borrowed) */
    tg_tensor **tensors;    /* [n]: the same tensors, for the optimizer */
} cli_model;

/* Loads the spec; NULL after printing its message (exit CLI_USAGE). */
tg_spec *cli_load_spec(const char *cmd, const char *path);
/* For the commands that read SPEC and --checkpoint, after cli_parse (got:
 * the positional count): checks both were given, sets the thread count
 * (threads > 0), loads the spec and, with task >= 0, checks it is of that
 * task ("predict is for classify models": `models` names them). NULL after
 * a message (exit CLI_USAGE). */
tg_spec *cli_checkpoint_spec(const char *cmd, int got, const char *ckpt, int64_t threads,
                             const char *path, int task, const char *models);
/* Builds the model (the vocabulary must be known), weights from seed.
 * Returns 0, or an exit code after a message. */
int cli_model_build(const char *cmd, cli_model *cm, tg_spec *s, uint64_t seed);
void cli_model_free(cli_model *cm);
/* Sets the spec's vocabulary from the data's (token input). Returns 0, or
 * CLI_USAGE after a message (the spec's vocab does not fit the data). */
int cli_set_vocab(const char *cmd, tg_spec *s, const cli_vocab *v);

/* The l2 norm of every gradient together (what the CSV log records). */
double cli_grad_norm(const cli_model *cm);

/* A score and what it scores, for ranking without global state. */
typedef struct cli_ranked {
    double score;
    int64_t id;
} cli_ranked;
/* Sorts r[0..n) highest score first, ties by lower id. */
void cli_rank(cli_ranked *r, int64_t n);

/* Seconds on a monotonic clock. */
double cli_now(void);
/* "3m12s", "1h04m", "42s" */
const char *cli_duration(double seconds, char *buf, size_t n);

/* ---- checkpoints (cli/checkpoint.c) ------------------------------------------ */
/* What a checkpoint holds besides the tensors. */
typedef struct cli_ckpt_info {
    int64_t step;         /* optimizer steps done */
    int64_t steps;        /* the run's target (for information) */
    int64_t epoch, batch; /* the data position of the next step (for information:
                           * it is a function of the step) */
    char data[1024];      /* the training data's path, as given */
    uint64_t data_hash;   /* FNV-1a of its bytes */
    int64_t data_bytes;
    uint64_t seed;   /* batch order (and the initial weights) */
    cli_vocab vocab; /* how the data maps to ids (owned) */
    char *model;     /* the spec's task, input and model as JSON (owned; NULL in
                      * checkpoints from before it was saved) */
} cli_ckpt_info;

/* Writes the model's parameters, the optimizer's state (when opt), the
 * carried recurrent state (when st), the model's random generators and
 * info, atomically. Returns 0, or -1 with a message in err. */
int cli_ckpt_save(const char *path, const cli_model *cm, tg_optim *opt, const tg_model_state *st,
                  const cli_ckpt_info *info, char *err, size_t errlen);
/* Reads info (vocabulary included) from a checkpoint without loading any
 * tensor. Returns 0, or -1 with a message. */
int cli_ckpt_info_read(const char *path, cli_ckpt_info *info, char *err, size_t errlen);
void cli_ckpt_info_free(cli_ckpt_info *info);
/* Loads the parameters (and, when opt/st are given, the optimizer's state,
 * the carried state and the random generators, for an exact resume).
 * Either everything loads or the error says what did not. */
int cli_ckpt_load(const char *path, cli_model *cm, tg_optim *opt, tg_model_state *st, char *err,
                  size_t errlen);

/* The task, input and model sections of the spec file as one JSON object
 * (malloc'd), or NULL if it cannot be read (cli/resume.c). */
char *cli_model_json(const char *spec_path);
/* Compares two such objects (the checkpoint's, the current spec's): -1
 * with "model.layers[1].hidden: 32 in the checkpoint's spec, 64 now" in err
 * at the first difference, else 0. */
int cli_model_differs(const char *was, const char *now, char *err, size_t errlen);

/* Removes the temporary files of checkpoint saves next to path
 * ("path.tmp.<pid>") whose process is gone (killed during a save), saying
 * so on stderr; nothing else is touched. Returns how many. */
int cli_ckpt_clean_stale(const char *path);

/* For sample and eval: the model of spec s with the weights of checkpoint
 * ckpt (its vocabulary and labels in info), in evaluation mode. Returns 0,
 * or an exit code after a message. */
int cli_model_load(const char *cmd, cli_model *cm, tg_spec *s, const char *ckpt,
                   cli_ckpt_info *info);

/* The random generators a run depends on (at most 3 + layers), with their
 * names in checkpoints. */
int cli_model_rngs(const tg_model *m, tg_rng **out, char (*names)[64]);

/* ---- several processes (cli/dist_train.c) -------------------------------------------
 * train under mpirun: without MPI (or on one process) each is a no-op or
 * the one-process path. */
typedef struct cli_dist {
    tg_dist *d;
    int rank, size;
    int64_t lo, n;    /* this rank's streams in the carried state */
    tg_dist_grads *g; /* made at the first step */
    int64_t steps;    /* exchanged, for the report */
    double wait_s, exchange_s, early;
} cli_dist;

/* Joins the job; stdout goes to /dev/null on ranks other than 0. An exit
 * code after a message, or 0. */
int cli_dist_start(cli_dist *x, const char *cmd);
/* Leaves it; after a failure (status) with several ranks, stops them all. */
void cli_dist_end(cli_dist *x, int status);
/* Once the model is built (and resumed): rank 0's weights everywhere, the
 * rank's own dropout generators, its part of a resumed carried state. B:
 * the global batch. 0, or -1 with a message. */
int cli_dist_setup(cli_dist *x, cli_model *cm, tg_model_state *st, int64_t B, char *err,
                   size_t errlen);
/* Whether any rank was interrupted (every rank stops at the same step). */
bool cli_dist_stop(cli_dist *x, bool interrupted);
/* Backward of this rank's loss (over count targets) with the gradients
 * summed over ranks, each weighted by its share of the targets; *loss_value
 * the whole batch's loss, *tokens (this rank's) the whole batch's. 0, or -1
 * with a message. */
int cli_dist_backward(cli_dist *x, cli_model *cm, tg_tape *t, tg_tensor *loss, int64_t count,
                      int64_t *tokens, double *loss_value, char *err, size_t errlen);
/* cli_ckpt_save from rank 0, with every rank's carried state (B streams). */
int cli_dist_save(cli_dist *x, const char *path, const cli_model *cm, tg_optim *opt,
                  const tg_model_state *st, const cli_ckpt_info *info, int64_t B, char *err,
                  size_t errlen);
/* The exchange's figures per step on stdout (several ranks only). */
void cli_dist_report(const cli_dist *x);

/* ---- non-finite steps (cli/anomaly.c) ---------------------------------------- */
typedef struct cli_guard {
    int64_t skipped;  /* steps skipped in the whole run */
    int64_t in_a_row; /* the current run of skipped steps */
} cli_guard;
enum { CLI_GUARD_OK, CLI_GUARD_SKIP, CLI_GUARD_STOP };

/* Step `step` (from 1) is done with this loss and gradient norm (report:
 * the tape's anomaly report under --detect-anomaly, else NULL). Returns
 * CLI_GUARD_OK when both are finite and there is no report; else, with a
 * message naming the step and the quantity in err, CLI_GUARD_SKIP or
 * CLI_GUARD_STOP as the spec's train.on_nonfinite and train.max_skips say. */
int cli_guard_step(cli_guard *g, const tg_spec *s, int64_t step, double loss, double gnorm,
                   const char *report, char *err, size_t errlen);
/* Prints why the run stopped (err from cli_guard_step) and which
 * checkpoint holds the last good state (saved_step < 0: none). */
void cli_guard_stopped(const char *cmd, const cli_guard *g, const tg_spec *s, const char *err,
                       const char *ckpt, int64_t saved_step);
/* The end of that message: "the last good checkpoint is CKPT (step N)"
 * (saved_step < 0: "no checkpoint was written"), and a newline. */
void cli_last_good(const char *ckpt, int64_t saved_step);
/* The name of the first parameter holding a NaN or an infinity, or NULL. */
const char *cli_nonfinite_param(const cli_model *cm);

/* ---- distillation (cli/distill.c) ------------------------------------------- */
/* The teacher of a spec's "distill" section, in evaluation mode. */
typedef struct cli_teacher {
    tg_spec *spec; /* NULL: the spec does not distill */
    cli_model cm;
    tg_model_state *st; /* a language model's carried state (reset with the student's) */
    cli_ckpt_info info;
} cli_teacher;

/* Loads s's teacher (nothing without a distill section): its spec and
 * checkpoint, checked against the student's task, outputs and the data's
 * vocabulary. Returns 0, or an exit code after a message. */
int cli_teacher_load(const char *cmd, cli_teacher *t, const tg_spec *s, const cli_vocab *vocab);
void cli_teacher_free(cli_teacher *t);
/* A training step's forward pass and loss: tg_model_train_loss (which
 * may run the whole model in segments under train.memory), or with a
 * teacher, tg_model_forward, the teacher's no-grad forward pass on the
 * same batch and tg_model_distill_loss. st: the carried state or NULL;
 * reset: the batch starts the streams again. NULL with the tape's error
 * set. */
tg_tensor *cli_train_loss(tg_tape *tape, cli_teacher *t, const tg_spec *s, tg_model *m,
                          const tg_model_batch *mb, tg_model_state *st, tg_model_output *out,
                          bool reset);

/* ---- evaluation (cli/evaluate.c) ---------------------------------------------- */
typedef struct cli_metrics {
    double loss;     /* mean over the counted targets (nats, or MSE) */
    double accuracy; /* cross-entropy tasks: share of argmax hits; else NaN */
    int64_t count;   /* targets counted */
    /* tree: the same over every labelled node and over the labelled roots,
     * whichever the loss trains on */
    double node_loss, node_accuracy, root_loss, root_accuracy;
    int64_t node_count, root_count;

    /* seq2seq: accuracy is the share of decoded sources that match one of
     * their targets; error_rate the edit distance to the closest target over
     * its length, summed over the sources (NaN for other tasks) */
    double error_rate;
    int64_t sources; /* distinct sources decoded */
} cli_metrics;

/* Runs the model (evaluation mode, no gradients) over every held-out batch
 * of d (dist: with several processes, each runs its part and the figures
 * are summed; NULL: this process alone). Returns 0, or -1 with a message. The model is left in
 * training mode iff it was. */
int cli_evaluate(tg_tape *t, tg_model *m, const tg_spec *s, const cli_data *d, cli_dist *dist,
                 cli_metrics *out, char *err, size_t errlen);
/* cli_evaluate that also counts every scored target's (truth, argmax) pair
 * of a classify or tag model into conf (NULL: none; with dist, this
 * process's targets only): eval --confusion. */
int cli_evaluate_confusion(tg_tape *t, tg_model *m, const tg_spec *s, const cli_data *d,
                           cli_dist *dist, tg_confusion *conf, cli_metrics *out, char *err,
                           size_t errlen);

/* ---- seq2seq (cli/evaluate_s2s.c) ------------------------------------------------ */
/* Decodes B sources (ids [B, S] row-major, lengths) as the spec's decode
 * section says (greedy for beam 1). Returns 0, or -1 with a message. */
int cli_s2s_decode(tg_tape *t, tg_model *m, const tg_spec *s, const int64_t *src,
                   const int64_t *len, int64_t B, int64_t S, bool want_attention,
                   tg_s2s_output *out, char *err, size_t errlen);
/* Decodes every distinct held-out source of d and sets out's accuracy,
 * error_rate and sources (a source with several targets is right if it
 * matches any). Returns 0, or -1 with a message. */
int cli_s2s_score(tg_tape *t, tg_model *m, const tg_spec *s, const cli_data *d, cli_metrics *out,
                  char *err, size_t errlen);

#endif
