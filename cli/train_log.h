/* What tapegrad train tells as it runs: the progress line on the console,
 * the validation lines, the CSV log (one row per step) and its chart. Kept
 * apart from the loop (cli/train.c) so the loop reads as the steps it takes. */
#ifndef TG_CLI_TRAIN_LOG_H
#define TG_CLI_TRAIN_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

typedef struct cli_train_log {
    FILE *csv;
    const char *path;       /* the CSV's, for its chart */
    bool draw, plot_failed; /* draw: this process writes the chart (rank 0) */
    bool tty, open;         /* open: a progress line without its newline is shown */
    double t0, train_time, eval_time, shown, every;
    int64_t first_step, tokens;
    int evals;
    double loss_sum; /* the training losses since the last logged line */
    int64_t loss_n;
} cli_train_log;

/* Opens the CSV log at path: new (with its header), or on resume the old one
 * cut back to the rows up to `step` (a crash may have logged steps the
 * checkpoint never saw). Returns 0, or -1 with a message in err. */
int cli_train_log_open(cli_train_log *lg, const char *path, bool resume, int64_t step, bool draw,
                       char *err, size_t errlen);
void cli_train_log_close(cli_train_log *lg);

/* Starts the clock of the progress line; steps before first_step were done
 * by an earlier run (a resumed one). */
void cli_train_log_start(cli_train_log *lg, int64_t first_step);

/* Ends a progress line left open on a terminal, before other output. */
void cli_train_log_end_line(cli_train_log *lg);

/* A step that took `seconds` on `tokens` tokens, with this loss. */
void cli_train_log_step(cli_train_log *lg, double seconds, int64_t tokens, double loss);

/* A validation that took `seconds`: its line on the console. */
void cli_train_log_eval(cli_train_log *lg, const tg_spec *s, const cli_metrics *v, int64_t done,
                        double seconds);

/* Step `done`'s CSV row (v: its validation, NULL if none), and the chart
 * redrawn after a validation. */
void cli_train_log_row(cli_train_log *lg, const tg_spec *s, int64_t done, double loss, double lr,
                       double gnorm, const cli_metrics *v);

/* The progress line every train.log_every steps and, between them, every
 * few seconds; last_valid: the latest validation loss (NaN: none yet). */
void cli_train_log_progress(cli_train_log *lg, const tg_spec *s, int64_t done, int64_t steps,
                            double last_valid, double lr);

/* The last lines of a run that finished: "done: ..." and the final
 * validation (v->loss NaN: there was none). */
void cli_train_log_done(const cli_train_log *lg, const tg_spec *s, const cli_metrics *v,
                        int64_t done, const char *ckpt);

#endif
