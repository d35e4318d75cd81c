/* tapegrad train's console and CSV log (train_log.h). */
#include "train_log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"

static const char HEADER[] = "step,train_loss,valid_loss,lr,grad_norm,valid_accuracy,valid_bpc\n";

int cli_train_log_open(cli_train_log *lg, const char *path, bool resume, int64_t step, bool draw,
                       char *err, size_t errlen) {
    char *old = NULL;
    int64_t len = 0;
    *lg = (cli_train_log){.path = path, .draw = draw};
    if (resume) {
        char e[256];
        old = cli_read_file(path, &len, e, sizeof e);
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
        free(old);
        return -1;
    }
    fputs(HEADER, f);
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
    lg->csv = f;
    return 0;
}

void cli_train_log_close(cli_train_log *lg) {
    if (lg->csv) fclose(lg->csv);
    lg->csv = NULL;
}

/* Seconds between progress lines in a log or pipe, whatever log_every is
 * (a terminal's line is redrawn 4 times a second): TAPEGRAD_PROGRESS_SECONDS,
 * default 5. */
static double progress_seconds(void) {
    const char *e = getenv("TAPEGRAD_PROGRESS_SECONDS");
    double s = e ? atof(e) : 5;
    return s > 0 ? s : 5;
}

void cli_train_log_start(cli_train_log *lg, int64_t first_step) {
    lg->tty = isatty(STDOUT_FILENO);
    lg->t0 = lg->shown = cli_now();
    lg->every = lg->tty ? 0.25 : progress_seconds();
    lg->first_step = first_step;
}

void cli_train_log_end_line(cli_train_log *lg) {
    if (lg->open) fputc('\n', stdout);
    lg->open = false;
}

void cli_train_log_step(cli_train_log *lg, double seconds, int64_t tokens, double loss) {
    lg->train_time += seconds;
    lg->tokens += tokens;
    lg->loss_sum += loss, lg->loss_n++;
}

void cli_train_log_eval(cli_train_log *lg, const tg_spec *s, const cli_metrics *v, int64_t done,
                        double seconds) {
    lg->eval_time += seconds, lg->evals++;
    cli_train_log_end_line(lg);
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

/* The log's chart (tapegrad plot) redrawn next to it; a chart that cannot
 * be written is reported once and does not stop training. */
static void redraw(cli_train_log *lg) {
    char svg[4096], err[1024];
    fflush(lg->csv);
    cli_plot_path(lg->path, svg, sizeof svg);
    if (cli_plot_file(lg->path, svg, err, sizeof err) == 0) return;
    if (!lg->plot_failed) fprintf(stderr, "tapegrad train: warning: chart not drawn: %s\n", err);
    lg->plot_failed = true;
}

void cli_train_log_row(cli_train_log *lg, const tg_spec *s, int64_t done, double loss, double lr,
                       double gnorm, const cli_metrics *v) {
    FILE *csv = lg->csv;
    fprintf(csv, "%lld,%.6f,", (long long)done, loss);
    if (v && !isnan(v->loss)) fprintf(csv, "%.6f", v->loss);
    fprintf(csv, ",%.6g,%.6g,", lr, gnorm);
    if (v && !isnan(v->accuracy)) fprintf(csv, "%.6f", v->accuracy);
    fputc(',', csv);
    if (v && s->task == TG_TASK_LANGUAGE_MODEL) fprintf(csv, "%.6f", v->loss / log(2.0));
    fputc('\n', csv);
    if (v && lg->draw) redraw(lg);
}

static void show(cli_train_log *p, int64_t done, int64_t steps, double loss, double val,
                 double lr) {
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

void cli_train_log_progress(cli_train_log *lg, const tg_spec *s, int64_t done, int64_t steps,
                            double last_valid, double lr) {
    /* on a terminal the line updates in place, a few times a second, so
     * that slow steps are never silent */
    bool log_now = (s->train.log_every && done % s->train.log_every == 0) || done == steps;
    if (log_now || cli_now() - lg->shown > lg->every) {
        show(lg, done, steps, lg->loss_sum / (double)lg->loss_n, last_valid, lr);
        lg->shown = cli_now();
    }
    if (log_now) lg->loss_sum = 0, lg->loss_n = 0;
}

void cli_train_log_done(const cli_train_log *lg, const tg_spec *s, const cli_metrics *v,
                        int64_t done, const char *ckpt) {
    char took[32];
    printf("done: %lld steps in %s; checkpoint %s, log %s\n", (long long)done,
           cli_duration(cli_now() - lg->t0, took, sizeof took), ckpt, lg->path);
    if (isnan(v->loss)) return;
    printf("final validation loss %.4f", v->loss);
    if (s->task == TG_TASK_LANGUAGE_MODEL) printf(" = %.4f bits per character", v->loss / log(2.0));
    if (!isnan(v->accuracy)) printf(", accuracy %.2f%%", 100 * v->accuracy);
    if (s->task == TG_TASK_TREE) printf(", root accuracy %.2f%%", 100 * v->root_accuracy);
    if (!isnan(v->error_rate)) printf(", symbol error rate %.2f%%", 100 * v->error_rate);
    printf("\n");
}
