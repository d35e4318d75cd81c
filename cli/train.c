/* tapegrad train: the training loop of a spec, with validation, a CSV log,
 * periodic atomic checkpoints, Ctrl-C and exact resumption. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "train_log.h"

static const char HELP[] =
    "usage: tapegrad train SPEC [options]\n"
    "\n"
    "Trains the model of SPEC (a JSON spec, docs/spec.md) on a data file, with\n"
    "validation on its held-out end, a CSV log and atomic checkpoints.\n"
    "\n"
    "options:\n"
    "  --data PATH        training data (docs/cli.md: text for language_model,\n"
    "                     label<TAB>text lines for classify, word/tag lines for\n"
    "                     tag, CSV rows for regress, bracketed trees for tree,\n"
    "                     source<TAB>target lines for seq2seq); with --resume,\n"
    "                     default: the checkpoint's\n"
    "  --steps N          train until N optimizer steps are done (default: the\n"
    "                     spec's train.steps)\n"
    "  --resume CKPT      continue a run from its checkpoint, exactly (weights,\n"
    "                     optimizer state, data position, carried state, random\n"
    "                     generators)\n"
    "  --checkpoint PATH  where checkpoints go (default: the --resume file, else\n"
    "                     SPEC's name with .safetensors, in the current directory)\n"
    "  --log PATH         the CSV log (default: the checkpoint's path with .csv):\n"
    "                     step,train_loss,valid_loss,lr,grad_norm,valid_accuracy,\n"
    "                     valid_bpc (the last two at validations, where the task\n"
    "                     has them)\n"
    "                     (and at each validation, its chart as an SVG beside it:\n"
    "                     run.csv -> run.svg; see tapegrad plot)\n"
    "  --threads N        at most N threads for products and cells (default: every\n"
    "                     core); fewer beside busy processes, unless\n"
    "                     TAPEGRAD_FIXED_THREADS=1\n"
    "  --seed S           initial weights and batch order (default: train.seed)\n"
    "  --detect-anomaly   check every op's output and gradient for NaN/Inf and name\n"
    "                     the first op that made one (its scope, its inputs' ranges,\n"
    "                     forward or backward); slower\n"
    "  --binary           train on a file that is not text (NUL bytes, invalid\n"
    "                     UTF-8), which is refused otherwise\n"
    "  --help             this text\n"
    "\n"
    "A checkpoint is written every train.checkpoint_every steps and at the end;\n"
    "Ctrl-C writes one and exits with status 130. Every step's loss and gradient\n"
    "norm are checked: a NaN or an infinity stops the run before the weights\n"
    "change, keeping the last good checkpoint (train.on_nonfinite \"skip\" skips\n"
    "such steps instead, up to train.max_skips in a row). Exit status: 0 done,\n"
    "1 failed, 2 bad usage or spec, 3 a step was not finite, 130 interrupted.\n"
    "\n"
    "Built with MPI=1, 'mpirun -np N tapegrad train ...' trains on N processes,\n"
    "train.batch being the global batch (docs/cli.md, \"Several processes\").\n";

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* "dir/name.json" -> "name.safetensors" */
static void default_checkpoint(const char *spec, char *out, size_t n) {
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".json") == 0) len -= 5;
    snprintf(out, n, "%.*s.safetensors", (int)len, base);
}

static void with_suffix(const char *path, const char *suffix, char *out, size_t n) {
    size_t len = strlen(path);
    if (len > 12 && strcmp(path + len - 12, ".safetensors") == 0) len -= 12;
    snprintf(out, n, "%.*s%s", (int)len, path, suffix);
}

/* The command line. */
typedef struct train_args {
    const char *spec, *data, *resume, *ckpt, *log;
    int64_t steps, threads, seed;
    bool detect, binary, steps_given, seed_given;
} train_args;

/* One run: what it reads, builds and writes, and where it stands. */
typedef struct train_run {
    const char *cmd;
    train_args a;
    cli_dist dist;
    tg_spec *s;
    cli_ckpt_info info; /* what every checkpoint records besides the tensors */
    bool vocab_lent;    /* info.vocab is the data's (freed with it) */
    cli_data d;
    cli_model cm;
    tg_optim *opt;
    tg_model_state *st;
    tg_tape *tape;
    cli_batch b;
    cli_teacher teacher;
    cli_train_log log;
    cli_guard guard;
    cli_metrics vm;      /* the latest validation */
    int64_t n_valid;     /* held-out batches (0: no validation) */
    int64_t start, done; /* the first step of this run, the steps done */
    int64_t saved_step;  /* the last good checkpoint's (-1: none) */
    const char *saved_path;
    char err[1024], ckpt_buf[4096], log_buf[4096];
    char data_buf[sizeof((cli_ckpt_info *)0)->data];
} train_run;

/* Returns 0, -1 after --help, or an exit status after a message. */
static int parse_args(const char *cmd, int argc, char **argv, train_args *a) {
    cli_option opts[] = {
        {"--data", CLI_STR, &a->data, 0, 0, false},
        {"--steps", CLI_INT, &a->steps, 1, 1e15, false},
        {"--resume", CLI_STR, &a->resume, 0, 0, false},
        {"--checkpoint", CLI_STR, &a->ckpt, 0, 0, false},
        {"--log", CLI_STR, &a->log, 0, 0, false},
        {"--threads", CLI_INT, &a->threads, 1, 1024, false},
        {"--seed", CLI_INT, &a->seed, 0, 9007199254740992.0, false},
        {"--detect-anomaly", CLI_FLAG, &a->detect, 0, 0, false},
        {"--binary", CLI_FLAG, &a->binary, 0, 0, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, &a->spec, 1, &got, HELP);
    if (rc) return rc;
    if (!got) {
        cli_error(cmd, "missing SPEC (see 'tapegrad train --help')");
        return CLI_USAGE;
    }
    if (!a->data && !a->resume) {
        cli_error(cmd, "--data is required (unless --resume names a checkpoint that knows it)");
        return CLI_USAGE;
    }
    a->steps_given = cli_given(opts, nopt, "--steps");
    a->seed_given = cli_given(opts, nopt, "--seed");
    return 0;
}

/* Reads the checkpoint to resume from and checks that it continues this
 * spec: its data and seed become the defaults. Returns 0 or an exit status
 * after a message. */
static int read_resume(train_run *r) {
    train_args *a = &r->a;
    if (cli_ckpt_info_read(a->resume, &r->info, r->err, sizeof r->err)) {
        cli_error(r->cmd, "%s", r->err);
        return CLI_FAIL;
    }
    if (!a->data) a->data = strcpy(r->data_buf, r->info.data); /* info is rewritten later */
    if (a->seed_given && (uint64_t)a->seed != r->info.seed)
        fprintf(stderr,
                "tapegrad train: warning: --seed %lld differs from the run's seed %llu; "
                "batches will not repeat the original run's\n",
                (long long)a->seed, (unsigned long long)r->info.seed);
    else
        a->seed = (int64_t)r->info.seed;
    char *now = r->info.model ? cli_model_json(a->spec) : NULL;
    int changed = now && cli_model_differs(r->info.model, now, r->err, sizeof r->err);
    free(now);
    if (changed) {
        cli_error(r->cmd, "%s: the spec builds another model than %s's: %s", a->spec, a->resume,
                  r->err);
        return CLI_USAGE;
    }
    if (a->steps < r->info.step) {
        cli_error(r->cmd, "%s %lld is below the checkpoint's step %lld (%s): nothing to train",
                  a->steps_given ? "--steps" : "the spec's train.steps", (long long)a->steps,
                  (long long)r->info.step, a->resume);
        return CLI_USAGE;
    }
    return 0;
}

/* The data, the model (with a teacher to distil from), its optimizer,
 * carried state and tape; on resume, their state from the checkpoint.
 * Returns 0 or an exit status after a message. */
static int build(train_run *r) {
    const train_args *a = &r->a;
    const tg_spec *s = r->s;
    int status;
    if (cli_data_load(&r->d, s, a->data, a->resume ? &r->info.vocab : NULL, s->train.valid_fraction,
                      a->binary, r->err, sizeof r->err)) {
        cli_error(r->cmd, "%s", r->err);
        return CLI_FAIL;
    }
    if (a->resume) { /* the checkpoint's vocabulary now belongs to the data */
        r->d.own_vocab = true;
        r->info.vocab = (cli_vocab){0};
    }
    r->n_valid = cli_data_eval_count(&r->d, s);
    if (a->resume && r->d.hash != r->info.data_hash)
        fprintf(stderr,
                "tapegrad train: warning: %s is not the data the checkpoint was trained on\n",
                a->data);
    if ((status = cli_set_vocab(r->cmd, r->s, &r->d.vocab)) ||
        (status = cli_model_build(r->cmd, &r->cm, r->s, (uint64_t)a->seed)) ||
        (status = cli_teacher_load(r->cmd, &r->teacher, s, &r->d.vocab)))
        return status;
    r->opt = tg_optim_spec_build(&s->optim, r->cm.tensors, r->cm.n);
    r->st = cli_streams(s) ? tg_model_state_new(r->cm.model) : NULL;
    r->tape = tg_tape_new();
    tg_tape_set_detect_anomaly(r->tape, a->detect);
    if (!r->opt || tg_optim_error(r->opt) || !r->tape || (cli_streams(s) && !r->st)) {
        cli_error(r->cmd, "%s",
                  r->opt && tg_optim_error(r->opt) ? tg_optim_error(r->opt) : "out of memory");
        return CLI_FAIL;
    }
    if (a->resume) {
        if (cli_ckpt_load(a->resume, &r->cm, r->opt, r->st, r->err, sizeof r->err)) {
            cli_error(r->cmd, "%s", r->err);
            return CLI_FAIL;
        }
        r->start = r->info.step;
    }
    if (cli_dist_setup(&r->dist, &r->cm, r->st, cli_data_batch_size(&r->d, s), r->err,
                       sizeof r->err)) {
        cli_error(r->cmd, "%s", r->err);
        return CLI_FAIL;
    }
    return 0;
}

/* Where the checkpoints and the log go; opens the log and fills in what
 * every checkpoint of this run records. Returns 0 or an exit status. */
static int open_outputs(train_run *r) {
    train_args *a = &r->a;
    if (!a->ckpt) {
        if (a->resume)
            a->ckpt = a->resume;
        else
            default_checkpoint(a->spec, r->ckpt_buf, sizeof r->ckpt_buf), a->ckpt = r->ckpt_buf;
    }
    if (!a->log) with_suffix(a->ckpt, ".csv", r->log_buf, sizeof r->log_buf), a->log = r->log_buf;
    if (r->dist.rank != 0) /* rank 0 alone logs and writes */
        a->log = "/dev/null";
    else /* the inputs are checked: this run will write */
        cli_ckpt_clean_stale(a->ckpt);
    if (cli_train_log_open(&r->log, a->log, a->resume != NULL, r->start, r->dist.rank == 0, r->err,
                           sizeof r->err)) {
        cli_error(r->cmd, "%s", r->err);
        return CLI_FAIL;
    }
    free(r->info.model);
    r->info = (cli_ckpt_info){.model = cli_model_json(a->spec),
                              .steps = a->steps,
                              .data_hash = r->d.hash,
                              .data_bytes = r->d.bytes,
                              .seed = (uint64_t)a->seed,
                              .vocab = r->d.vocab};
    r->vocab_lent = true;
    snprintf(r->info.data, sizeof r->info.data, "%s", a->data);
    r->saved_step = a->resume ? r->start : -1;
    r->saved_path = a->resume ? a->resume : a->ckpt;
    return 0;
}

/* The entropy of the training text's characters: the loss of a model that
 * knows their frequencies and nothing else. */
static double unigram_bits(const cli_data *d) {
    int64_t n[256] = {0};
    double h = 0;
    for (int64_t i = 0; i < d->n_train; i++) n[d->ids[i]]++;
    for (int c = 0; c < 256; c++)
        if (n[c]) h -= (double)n[c] / (double)d->n_train * log2((double)n[c] / (double)d->n_train);
    return h;
}

/* What is about to happen, in two lines. */
static void announce(const train_run *r) {
    const tg_spec *s = r->s;
    const cli_data *d = &r->d;
    printf("train: %s, %lld parameters; %s: %lld training %s, %lld held out; steps %lld..%lld\n",
           tg_task_name(s->task), (long long)tg_params_numel(tg_module_params(&r->cm.model->base)),
           r->a.data, (long long)d->n_train,
           cli_streams(s)               ? "characters"
           : s->task == TG_TASK_REGRESS ? "windows"
           : s->task == TG_TASK_TREE    ? "trees"
                                        : "sequences",
           (long long)(cli_streams(s) ? d->n_ids - d->n_train : d->n_seqs - d->n_train),
           (long long)r->start + 1, (long long)r->a.steps);
    if (cli_streams(s))
        printf("unigram baseline: %.4f bits per character (the training text's character "
               "entropy)\n",
               unigram_bits(d));
    fflush(stdout);
}

/* Writes a checkpoint of step r->done, unless a weight went non-finite (an
 * optimizer step with a finite but huge gradient): the file on disk is then
 * the last good one. Returns 0, or CLI_FAIL or CLI_NONFINITE with a message
 * in r->err. */
static int save(train_run *r) {
    r->info.step = r->done;
    cli_data_position(&r->d, r->s, r->done, &r->info.epoch, &r->info.batch);
    const char *bad = cli_nonfinite_param(&r->cm);
    if (bad) {
        snprintf(r->err, sizeof r->err,
                 "step %lld: %s is not finite after the optimizer's step; %s was not written",
                 (long long)r->info.step, bad, r->a.ckpt);
        return CLI_NONFINITE;
    }
    return cli_dist_save(&r->dist, r->a.ckpt, &r->cm, r->opt, r->st, &r->info,
                         cli_data_batch_size(&r->d, r->s), r->err, sizeof r->err)
               ? CLI_FAIL
               : CLI_OK;
}

/* How a step ended: the guard's verdicts, or a failure (message in r->err). */
enum { STEP_FAILED = -1 };

/* One optimizer step (step counts from 0): a batch, forward, backward, the
 * checks, then the update. Returns CLI_GUARD_OK, _SKIP (not applied),
 * _STOP (not finite: the run stops) or STEP_FAILED. */
static int train_step(train_run *r, int64_t step, double *lv, double *gnorm, int64_t *tokens) {
    const tg_spec *s = r->s;
    cli_batch *b = &r->b;
    char why[sizeof r->err];
    if (cli_data_train_part(&r->d, s, step, (uint64_t)r->a.seed, r->dist.rank, r->dist.size, b,
                            r->err, sizeof r->err))
        return STEP_FAILED;
    if (r->st && b->reset) tg_model_state_reset(r->st);
    tg_tape_reset(r->tape);
    r->cm.model->sample_prob = tg_spec_sampling_prob(s, step); /* seq2seq; else 0 */
    tg_model_batch mb;
    tg_model_output out;
    tg_tensor *loss = NULL;
    if (cli_batch_model(r->tape, s, b, &mb) == 0)
        loss = cli_train_loss(r->tape, &r->teacher, s, r->cm.model, &mb, r->st, &out, b->reset);
    tg_optim_zero_grad(r->opt);
    *lv = NAN;
    *tokens = b->trees ? b->trees->n_nodes : b->lengths ? 0 : b->T * b->B;
    for (int64_t j = 0; b->lengths && j < b->B; j++) *tokens += b->lengths[j];
    if (!loss || (cli_dist_backward(&r->dist, &r->cm, r->tape, loss, b->count, tokens, lv, why,
                                    sizeof why) &&
                  !tg_tape_error_is_anomaly(r->tape))) {
        snprintf(r->err, sizeof r->err, "step %lld: %.900s", (long long)step + 1,
                 loss ? why : tg_tape_error(r->tape));
        return STEP_FAILED;
    }
    /* checked before the optimizer touches the weights */
    *gnorm = cli_grad_norm(&r->cm);
    const char *report = tg_tape_error_is_anomaly(r->tape) ? tg_tape_error(r->tape) : NULL;
    int verdict =
        cli_guard_step(&r->guard, s, step + 1, *lv, *gnorm, report, r->err, sizeof r->err);
    if (verdict != CLI_GUARD_OK) return verdict;
    int clip = tg_optim_spec_prepare(&s->optim, r->opt, (int)step, NULL, why, sizeof why);
    if (clip == TG_CLIP_OK)
        tg_optim_step(r->opt);
    else if (clip == TG_CLIP_NONFINITE) /* a clip norm of another order overflowed */
        return cli_guard_step(&r->guard, s, step + 1, *lv, *gnorm, why, r->err, sizeof r->err);
    else {
        snprintf(r->err, sizeof r->err, "%s", why);
        return STEP_FAILED;
    }
    return CLI_GUARD_OK;
}

/* After step r->done: validation when due, the log's row and progress line,
 * a checkpoint when due. Returns 0, or an exit status with a message in
 * r->err. */
static int after_step(train_run *r, double lv, double gnorm) {
    const tg_spec *s = r->s;
    int64_t done = r->done, steps = r->a.steps;
    bool eval_now =
        r->n_valid && ((s->train.eval_every && done % s->train.eval_every == 0) || done == steps);
    if (eval_now) {
        double t = cli_now();
        if (cli_evaluate(r->tape, r->cm.model, s, &r->d, &r->dist, &r->vm, r->err, sizeof r->err))
            return CLI_FAIL;
        cli_train_log_eval(&r->log, s, &r->vm, done, cli_now() - t);
    }
    cli_train_log_row(&r->log, s, done, lv, tg_optim_lr(r->opt), gnorm, eval_now ? &r->vm : NULL);
    cli_train_log_progress(&r->log, s, done, steps, r->vm.loss, tg_optim_lr(r->opt));
    if (s->train.checkpoint_every && done % s->train.checkpoint_every == 0 && done != steps) {
        fflush(r->log.csv);
        int saved = save(r);
        if (saved) return saved;
        r->saved_step = done, r->saved_path = r->a.ckpt;
    }
    return 0;
}

/* The steps from r->start to the target, until done, stopped (a step not
 * finite: *stopped), interrupted or failed. Returns 0 or an exit status
 * with a message in r->err. */
static int train_loop(train_run *r, bool *stopped) {
    struct sigaction sa = {0}, old_sa;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C stops at once */
    sigaction(SIGINT, &sa, &old_sa);
    cli_train_log_start(&r->log, r->start);
    r->done = r->start;
    int status = 0;
    tg_threads_auto ta; /* --threads N is a ceiling: fewer beside busy processes */
    tg_threads_auto_start(&ta);
    for (int64_t step = r->start; step < r->a.steps && !cli_dist_stop(&r->dist, interrupted);
         step++) {
        tg_threads_auto_step(&ta);
        double t = cli_now(), lv = NAN, gnorm = 0;
        int64_t tokens = 0;
        int verdict = train_step(r, step, &lv, &gnorm, &tokens);
        if (verdict == STEP_FAILED) {
            status = CLI_FAIL;
            break;
        }
        if (verdict == CLI_GUARD_STOP) {
            *stopped = true;
            break;
        }
        if (verdict == CLI_GUARD_SKIP && r->guard.in_a_row == 1) {
            cli_train_log_end_line(&r->log);
            fprintf(stderr, "tapegrad train: %s; skipped (train.on_nonfinite \"skip\")\n", r->err);
        }
        r->done = step + 1;
        cli_train_log_step(&r->log, cli_now() - t, tokens, lv);
        if ((status = after_step(r, lv, gnorm))) break;
    }
    sigaction(SIGINT, &old_sa, NULL);
    cli_train_log_end_line(&r->log);
    fflush(r->log.csv);
    return status;
}

/* The end of a run whose loop returned `status`: the last checkpoint and
 * what to say. Returns the exit status. */
static int finish(train_run *r, int status, bool stopped) {
    if (stopped) {
        cli_guard_stopped(r->cmd, &r->guard, r->s, r->err, r->saved_path, r->saved_step);
        return CLI_NONFINITE;
    }
    if (status || (status = save(r))) {
        cli_error(r->cmd, "%s", r->err);
        if (status == CLI_NONFINITE)
            fputs("tapegrad train: ", stderr), cli_last_good(r->saved_path, r->saved_step);
        return status;
    }
    if (interrupted) {
        printf("interrupted after step %lld; checkpoint saved to %s (resume with --resume %s)\n",
               (long long)r->done, r->a.ckpt, r->a.ckpt);
        return CLI_INTERRUPTED;
    }
    if (r->guard.skipped)
        fprintf(stderr, "tapegrad train: %lld steps skipped (loss or gradients not finite)\n",
                (long long)r->guard.skipped);
    cli_train_log_done(&r->log, r->s, &r->vm, r->done, r->a.ckpt);
    cli_dist_report(&r->dist);
    return CLI_OK;
}

static void run_free(train_run *r, int status) {
    if (r->vocab_lent) r->info.vocab = (cli_vocab){0}; /* the data's, freed with it */
    cli_train_log_close(&r->log);
    cli_batch_free(&r->b);
    cli_teacher_free(&r->teacher);
    tg_tape_free(r->tape);
    tg_model_state_free(r->st);
    tg_optim_free(r->opt);
    cli_model_free(&r->cm);
    cli_data_free(&r->d);
    cli_ckpt_info_free(&r->info);
    tg_spec_free(r->s);
    cli_dist_end(&r->dist, status);
}

int cli_train(int argc, char **argv) {
    static const char cmd[] = "train";
    train_args a = {0};
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (a.threads) tg_set_threads((int)a.threads);
    train_run run = {.cmd = cmd, .a = a, .vm = {.loss = NAN}}, *r = &run;
    int status = cli_dist_start(&r->dist, cmd);
    if (status) return status;
    if (!(r->s = cli_load_spec(cmd, a.spec))) return cli_dist_end(&r->dist, CLI_USAGE), CLI_USAGE;
    if (!a.steps_given) r->a.steps = r->s->train.steps;
    if (!a.seed_given) r->a.seed = (int64_t)r->s->train.seed;
    bool stopped = false;
    if (!(a.resume && (status = read_resume(r))) && !(status = build(r)) &&
        !(status = open_outputs(r))) {
        announce(r);
        status = train_loop(r, &stopped);
        status = finish(r, status, stopped);
    }
    run_free(r, status);
    return status;
}
