/* tapegrad train: the training loop of a spec, with validation, a CSV log,
 * periodic atomic checkpoints, Ctrl-C and exact resumption. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "plot.h"

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
    "  --threads N        threads for products and cells (default: every core)\n"
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

/* Opens the CSV log: new (with its header), or on resume the old one cut
 * back to the rows up to `step` (a crash may have logged steps the
 * checkpoint never saw). */
static FILE *open_log(const char *path, bool resume, int64_t step, char *err, size_t errlen) {
    const char *header = "step,train_loss,valid_loss,lr,grad_norm,valid_accuracy,valid_bpc\n";
    char *old = NULL;
    int64_t len = 0;
    if (resume) {
        char e[256];
        old = cli_read_file(path, &len, e, sizeof e);
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
        free(old);
        return NULL;
    }
    fputs(header, f);
    for (char *p = old, *end = old + len; old && p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        long long s;
        if (sscanf(p, "%lld,", &s) == 1 && s <= step) {
            /* a row of an older, narrower log gets the new columns empty */
            int fields = 1;
            for (const char *q = p; q < eol; q++) fields += *q == ',';
            fprintf(f, "%.*s%.*s\n", (int)(eol - p), p, fields < 7 ? 7 - fields : 0, ",,,,,,");
        }
        p = eol + 1;
    }
    free(old);
    return f;
}

/* Writes a checkpoint, unless a weight went non-finite (an optimizer step
 * with a finite but huge gradient): the file on disk is then the last good
 * one. Returns 0, or CLI_FAIL or CLI_NONFINITE with a message in err. */
static int save(cli_dist *dist, const char *path, const cli_model *cm, tg_optim *opt,
                const tg_model_state *st, const cli_ckpt_info *info, int64_t B, char *err,
                size_t errlen) {
    const char *bad = cli_nonfinite_param(cm);
    if (bad) {
        snprintf(err, errlen,
                 "step %lld: %s is not finite after the optimizer's step; %s was not written",
                 (long long)info->step, bad, path);
        return CLI_NONFINITE;
    }
    return cli_dist_save(dist, path, cm, opt, st, info, B, err, errlen) ? CLI_FAIL : CLI_OK;
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

/* The progress line: in place on a terminal, a plain line otherwise. */
typedef struct progress {
    bool tty, open; /* open: a line without its newline is on the screen */
    double t0, train_time, eval_time, shown;
    int64_t first_step, tokens;
    int evals;
} progress;

static void end_line(progress *p) {
    if (p->open) fputc('\n', stdout);
    p->open = false;
}

static void show(progress *p, int64_t done, int64_t steps, double loss, double val, double lr) {
    char eta[32], vbuf[32] = "-";
    int64_t ran = done - p->first_step;
    double per_step = ran ? p->train_time / (double)ran : 0;
    double per_eval = p->evals ? p->eval_time / p->evals : 0;
    double rate = p->train_time > 0 ? (double)p->tokens / p->train_time : 0;
    double step_rate = p->train_time > 0 ? (double)ran / p->train_time : 0;
    if (!isnan(val)) snprintf(vbuf, sizeof vbuf, "%.4f", val);
    cli_duration((double)(steps - done) * per_step + per_eval, eta, sizeof eta);
    printf("%sstep %lld/%lld  loss %.4f  val %s  lr %.3g  %.3g steps/s  %.0f tok/s  ETA %s%s",
           p->tty ? "\r" : "", (long long)done, (long long)steps, loss, vbuf, lr, step_rate, rate,
           eta, p->tty ? "\033[K" : "\n");
    p->open = p->tty;
    fflush(stdout);
}

/* The log's chart (tapegrad plot) redrawn next to it; a chart that cannot
 * be written is reported once and does not stop training. */
static void redraw(FILE *csv, const char *log_path, bool *failed) {
    char svg[4096], err[1024];
    fflush(csv);
    cli_plot_path(log_path, svg, sizeof svg);
    if (cli_plot_file(log_path, svg, err, sizeof err) == 0) return;
    if (!*failed) fprintf(stderr, "tapegrad train: warning: chart not drawn: %s\n", err);
    *failed = true;
}

/* Seconds between progress lines in a log or pipe, whatever log_every is
 * (a terminal's line is redrawn 4 times a second): TAPEGRAD_PROGRESS_SECONDS,
 * default 5. */
static double progress_seconds(void) {
    const char *e = getenv("TAPEGRAD_PROGRESS_SECONDS");
    double s = e ? atof(e) : 5;
    return s > 0 ? s : 5;
}

/* The validation line, shared with the final report. */
static void report_valid(const tg_spec *s, const cli_metrics *v, int64_t done) {
    printf("step %lld: validation loss %.4f", (long long)done, v->loss);
    if (!isnan(v->accuracy)) printf(", accuracy %.2f%%", 100 * v->accuracy);
    if (!isnan(v->error_rate)) printf(", symbol error rate %.2f%%", 100 * v->error_rate);
    if (s->task == TG_TASK_LANGUAGE_MODEL) printf(", %.4f bits per character", v->loss / log(2.0));
    printf(" (%lld targets)", (long long)v->count);
    if (s->task == TG_TASK_TREE)
        printf("; roots: loss %.4f, accuracy %.2f%% (%lld)", v->root_loss, 100 * v->root_accuracy,
               (long long)v->root_count);
    printf("\n");
    fflush(stdout);
}

int cli_train(int argc, char **argv) {
    const char *cmd = "train", *spec_path = NULL, *data_path = NULL, *resume = NULL,
               *ckpt_path = NULL, *log_path = NULL;
    int64_t steps = 0, threads = 0, seed = 0;
    bool detect = false, binary = false;
    cli_option opts[] = {
        {"--data", CLI_STR, &data_path, 0, 0, false},
        {"--steps", CLI_INT, &steps, 1, 1e15, false},
        {"--resume", CLI_STR, &resume, 0, 0, false},
        {"--checkpoint", CLI_STR, &ckpt_path, 0, 0, false},
        {"--log", CLI_STR, &log_path, 0, 0, false},
        {"--threads", CLI_INT, &threads, 1, 1024, false},
        {"--seed", CLI_INT, &seed, 0, 9007199254740992.0, false},
        {"--detect-anomaly", CLI_FLAG, &detect, 0, 0, false},
        {"--binary", CLI_FLAG, &binary, 0, 0, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, &spec_path, 1, &got, HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!got) {
        cli_error(cmd, "missing SPEC (see 'tapegrad train --help')");
        return CLI_USAGE;
    }
    if (!data_path && !resume) {
        cli_error(cmd, "--data is required (unless --resume names a checkpoint that knows it)");
        return CLI_USAGE;
    }
    if (threads) tg_set_threads((int)threads);
    cli_dist dist;
    if ((rc = cli_dist_start(&dist, cmd))) return rc;

    char err[1024], ckpt_buf[4096], log_buf[4096], data_buf[sizeof(cli_ckpt_info){0}.data];
    tg_spec *s = cli_load_spec(cmd, spec_path);
    if (!s) return cli_dist_end(&dist, CLI_USAGE), CLI_USAGE;
    if (!cli_given(opts, nopt, "--steps")) steps = s->train.steps;
    if (!cli_given(opts, nopt, "--seed")) seed = (int64_t)s->train.seed;
    cli_ckpt_info info = {0};
    cli_data d = {0};
    cli_model cm = {0};
    tg_optim *opt = NULL;
    tg_model_state *st = NULL;
    tg_tape *tape = NULL;
    FILE *csv = NULL;
    cli_batch b = {0};
    cli_teacher teacher = {0};
    int status = CLI_FAIL;
    if (resume) {
        if (cli_ckpt_info_read(resume, &info, err, sizeof err)) {
            cli_error(cmd, "%s", err);
            goto done;
        }
        if (!data_path) data_path = strcpy(data_buf, info.data); /* info is rewritten below */
        if (cli_given(opts, nopt, "--seed") && (uint64_t)seed != info.seed)
            fprintf(stderr,
                    "tapegrad train: warning: --seed %lld differs from the run's seed %llu; "
                    "batches will not repeat the original run's\n",
                    (long long)seed, (unsigned long long)info.seed);
        else
            seed = (int64_t)info.seed;
        char *now = info.model ? cli_model_json(spec_path) : NULL;
        int changed = now && cli_model_differs(info.model, now, err, sizeof err);
        free(now);
        if (changed) {
            cli_error(cmd, "%s: the spec builds another model than %s's: %s", spec_path, resume,
                      err);
            status = CLI_USAGE;
            goto done;
        }
        if (steps < info.step) {
            cli_error(cmd, "%s %lld is below the checkpoint's step %lld (%s): nothing to train",
                      cli_given(opts, nopt, "--steps") ? "--steps" : "the spec's train.steps",
                      (long long)steps, (long long)info.step, resume);
            status = CLI_USAGE;
            goto done;
        }
    }
    if (cli_data_load(&d, s, data_path, resume ? &info.vocab : NULL, s->train.valid_fraction,
                      binary, err, sizeof err)) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    if (resume) { /* the checkpoint's vocabulary now belongs to the data */
        d.own_vocab = true;
        info.vocab = (cli_vocab){0};
    }
    if (resume && d.hash != info.data_hash)
        fprintf(stderr,
                "tapegrad train: warning: %s is not the data the checkpoint was trained on\n",
                data_path);
    if ((status = cli_set_vocab(cmd, s, &d.vocab)) ||
        (status = cli_model_build(cmd, &cm, s, (uint64_t)seed)) ||
        (status = cli_teacher_load(cmd, &teacher, s, &d.vocab)))
        goto done;
    status = CLI_FAIL;
    opt = tg_optim_spec_build(&s->optim, cm.tensors, cm.n);
    st = cli_streams(s) ? tg_model_state_new(cm.model) : NULL;
    tape = tg_tape_new();
    tg_tape_set_detect_anomaly(tape, detect);
    if (!opt || tg_optim_error(opt) || !tape || (cli_streams(s) && !st)) {
        cli_error(cmd, "%s", opt && tg_optim_error(opt) ? tg_optim_error(opt) : "out of memory");
        goto done;
    }
    int64_t start = 0;
    if (resume) {
        if (cli_ckpt_load(resume, &cm, opt, st, err, sizeof err)) {
            cli_error(cmd, "%s", err);
            goto done;
        }
        start = info.step;
    }
    if (cli_dist_setup(&dist, &cm, st, cli_data_batch_size(&d, s), err, sizeof err)) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    if (!ckpt_path) {
        if (resume)
            ckpt_path = resume;
        else
            default_checkpoint(spec_path, ckpt_buf, sizeof ckpt_buf), ckpt_path = ckpt_buf;
    }
    if (!log_path) with_suffix(ckpt_path, ".csv", log_buf, sizeof log_buf), log_path = log_buf;
    if (dist.rank != 0) /* rank 0 alone logs and writes */
        log_path = "/dev/null";
    else /* the inputs are checked: this run will write */
        cli_ckpt_clean_stale(ckpt_path);
    if (!(csv = open_log(log_path, resume != NULL, start, err, sizeof err))) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    /* what every checkpoint of this run records besides the tensors */
    free(info.model);
    info = (cli_ckpt_info){.model = cli_model_json(spec_path),
                           .steps = steps,
                           .data_hash = d.hash,
                           .data_bytes = d.bytes,
                           .seed = (uint64_t)seed,
                           .vocab = d.vocab};
    snprintf(info.data, sizeof info.data, "%s", data_path);

    int64_t n_valid = cli_data_eval_count(&d, s);
    printf("train: %s, %lld parameters; %s: %lld training %s, %lld held out; steps %lld..%lld\n",
           tg_task_name(s->task), (long long)tg_params_numel(tg_module_params(&cm.model->base)),
           data_path, (long long)d.n_train,
           cli_streams(s)               ? "characters"
           : s->task == TG_TASK_REGRESS ? "windows"
           : s->task == TG_TASK_TREE    ? "trees"
                                        : "sequences",
           (long long)(cli_streams(s) ? d.n_ids - d.n_train : d.n_seqs - d.n_train),
           (long long)start + 1, (long long)steps);
    if (cli_streams(s))
        printf("unigram baseline: %.4f bits per character (the training text's character "
               "entropy)\n",
               unigram_bits(&d));
    fflush(stdout);

    struct sigaction sa = {0}, old_sa;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C stops at once */
    sigaction(SIGINT, &sa, &old_sa);

    progress pg = {.tty = isatty(STDOUT_FILENO), .t0 = cli_now(), .first_step = start};
    double every = pg.tty ? 0.25 : progress_seconds();
    pg.shown = pg.t0;
    double loss_sum = 0, val = NAN;
    int64_t loss_n = 0, done_steps = start, saved_step = resume ? start : -1;
    const char *saved_path = resume ? resume : ckpt_path;
    cli_metrics vm = {.loss = NAN};
    cli_guard guard = {0};
    bool failed = false, stopped = false, plot_failed = false;
    for (int64_t step = start; step < steps && !cli_dist_stop(&dist, interrupted); step++) {
        double t1 = cli_now();
        if (cli_data_train_part(&d, s, step, (uint64_t)seed, dist.rank, dist.size, &b, err,
                                sizeof err)) {
            failed = true;
            break;
        }
        if (st && b.reset) tg_model_state_reset(st);
        tg_tape_reset(tape);
        cm.model->sample_prob = tg_spec_sampling_prob(s, step); /* seq2seq; else 0 */
        tg_model_batch mb;
        tg_model_output out;
        tg_tensor *loss = NULL;
        if (cli_batch_model(tape, s, &b, &mb) == 0)
            loss = cli_train_loss(tape, &teacher, s, cm.model, &mb, st, &out, b.reset);
        tg_optim_zero_grad(opt);
        double lv = NAN;
        char why[sizeof err];
        int64_t tokens = b.trees ? b.trees->n_nodes : b.lengths ? 0 : b.T * b.B;
        for (int64_t j = 0; b.lengths && j < b.B; j++) tokens += b.lengths[j];
        if (!loss ||
            (cli_dist_backward(&dist, &cm, tape, loss, b.count, &tokens, &lv, why, sizeof why) &&
             !tg_tape_error_is_anomaly(tape))) {
            snprintf(err, sizeof err, "step %lld: %.900s", (long long)step + 1,
                     loss ? why : tg_tape_error(tape));
            failed = true;
            break;
        }
        /* checked before the optimizer touches the weights */
        double gnorm = cli_grad_norm(&cm);
        const char *report = tg_tape_error_is_anomaly(tape) ? tg_tape_error(tape) : NULL;
        int verdict = cli_guard_step(&guard, s, step + 1, lv, gnorm, report, err, sizeof err);
        if (verdict == CLI_GUARD_OK) {
            int clip = tg_optim_spec_prepare(&s->optim, opt, (int)step, NULL, why, sizeof why);
            if (clip == TG_CLIP_OK)
                tg_optim_step(opt);
            else if (clip == TG_CLIP_NONFINITE) /* a clip norm of another order overflowed */
                verdict = cli_guard_step(&guard, s, step + 1, lv, gnorm, why, err, sizeof err);
            else {
                snprintf(err, sizeof err, "%s", why);
                failed = true;
                break;
            }
        }
        if (verdict == CLI_GUARD_STOP) {
            stopped = true;
            break;
        }
        if (verdict == CLI_GUARD_SKIP && guard.in_a_row == 1) {
            end_line(&pg);
            fprintf(stderr, "tapegrad train: %s; skipped (train.on_nonfinite \"skip\")\n", err);
        }
        done_steps = step + 1;
        pg.train_time += cli_now() - t1;
        pg.tokens += tokens;
        loss_sum += lv, loss_n++;
        bool eval_now =
            n_valid &&
            ((s->train.eval_every && done_steps % s->train.eval_every == 0) || done_steps == steps);
        val = NAN;
        if (eval_now) {
            double t2 = cli_now();
            if (cli_evaluate(tape, cm.model, s, &d, &dist, &vm, err, sizeof err)) {
                failed = true;
                break;
            }
            pg.eval_time += cli_now() - t2, pg.evals++;
            val = vm.loss;
            end_line(&pg);
            report_valid(s, &vm, done_steps);
        }
        fprintf(csv, "%lld,%.6f,", (long long)done_steps, lv);
        if (!isnan(val)) fprintf(csv, "%.6f", val);
        fprintf(csv, ",%.6g,%.6g,", tg_optim_lr(opt), gnorm);
        if (eval_now && !isnan(vm.accuracy)) fprintf(csv, "%.6f", vm.accuracy);
        fputc(',', csv);
        if (eval_now && s->task == TG_TASK_LANGUAGE_MODEL) fprintf(csv, "%.6f", vm.loss / log(2.0));
        fputc('\n', csv);
        if (eval_now && dist.rank == 0) /* rank 0 alone writes files */
            redraw(csv, log_path, &plot_failed);
        /* a log line every log_every steps and, between them, every few
         * seconds (on a terminal the line updates in place, a few times a
         * second), so that slow steps are never silent */
        bool log_now =
            (s->train.log_every && done_steps % s->train.log_every == 0) || done_steps == steps;
        if (log_now || cli_now() - pg.shown > every) {
            show(&pg, done_steps, steps, loss_sum / (double)loss_n, vm.loss, tg_optim_lr(opt));
            pg.shown = cli_now();
        }
        if (log_now) loss_sum = 0, loss_n = 0;
        if (s->train.checkpoint_every && done_steps % s->train.checkpoint_every == 0 &&
            done_steps != steps) {
            info.step = done_steps;
            cli_data_position(&d, s, done_steps, &info.epoch, &info.batch);
            fflush(csv);
            int saved = save(&dist, ckpt_path, &cm, opt, st, &info, cli_data_batch_size(&d, s), err,
                             sizeof err);
            if (saved) {
                status = saved;
                failed = true;
                break;
            }
            saved_step = done_steps, saved_path = ckpt_path;
        }
    }
    sigaction(SIGINT, &old_sa, NULL);
    end_line(&pg);
    fflush(csv);
    if (stopped) {
        cli_guard_stopped(cmd, &guard, s, err, saved_path, saved_step);
        status = CLI_NONFINITE;
        goto done_keep_vocab;
    }
    info.step = done_steps;
    cli_data_position(&d, s, done_steps, &info.epoch, &info.batch);
    if (failed || (status = save(&dist, ckpt_path, &cm, opt, st, &info, cli_data_batch_size(&d, s),
                                 err, sizeof err))) {
        cli_error(cmd, "%s", err);
        if (status == CLI_NONFINITE)
            fputs("tapegrad train: ", stderr), cli_last_good(saved_path, saved_step);
        goto done_keep_vocab;
    }
    char took[32];
    if (interrupted) {
        printf("interrupted after step %lld; checkpoint saved to %s (resume with --resume %s)\n",
               (long long)done_steps, ckpt_path, ckpt_path);
        status = CLI_INTERRUPTED;
        goto done_keep_vocab;
    }
    if (guard.skipped)
        fprintf(stderr, "tapegrad train: %lld steps skipped (loss or gradients not finite)\n",
                (long long)guard.skipped);
    printf("done: %lld steps in %s; checkpoint %s, log %s\n", (long long)done_steps,
           cli_duration(cli_now() - pg.t0, took, sizeof took), ckpt_path, log_path);
    if (!isnan(vm.loss)) {
        printf("final validation loss %.4f", vm.loss);
        if (s->task == TG_TASK_LANGUAGE_MODEL)
            printf(" = %.4f bits per character", vm.loss / log(2.0));
        if (!isnan(vm.accuracy)) printf(", accuracy %.2f%%", 100 * vm.accuracy);
        if (s->task == TG_TASK_TREE) printf(", root accuracy %.2f%%", 100 * vm.root_accuracy);
        if (!isnan(vm.error_rate)) printf(", symbol error rate %.2f%%", 100 * vm.error_rate);
        printf("\n");
    }
    cli_dist_report(&dist);
    status = CLI_OK;
done_keep_vocab:
    info.vocab = (cli_vocab){0}; /* the data's, freed with it */
done:
    if (csv) fclose(csv);
    cli_batch_free(&b);
    cli_teacher_free(&teacher);
    tg_tape_free(tape);
    tg_model_state_free(st);
    tg_optim_free(opt);
    cli_model_free(&cm);
    cli_data_free(&d);
    cli_ckpt_info_free(&info);
    tg_spec_free(s);
    cli_dist_end(&dist, status);
    return status;
}
