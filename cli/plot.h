/* tapegrad plot: training logs (train's CSV) drawn as a self-contained SVG
 * chart, for the plot command and for train, which redraws its log's chart
 * at each validation. */
#ifndef TG_CLI_PLOT_H
#define TG_CLI_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* The columns a chart draws (a log may lack any but step); one row each in
 * plot_csv.c's table, which says what header name each comes from. */
typedef enum cli_plot_col {
    CLI_PLOT_TRAIN,    /* train_loss */
    CLI_PLOT_VALID,    /* valid_loss */
    CLI_PLOT_LR,       /* lr (the right-hand axis) */
    CLI_PLOT_ACCURACY, /* valid_accuracy, a fraction (a panel of its own, in %) */
    CLI_PLOT_BPC,      /* valid_bpc (a panel of its own) */
    CLI_PLOT_NCOLS
} cli_plot_col;

/* One log: n rows; col[c] is NULL when the log has no such column, and a
 * cell is NaN where it was empty (validation only every few steps) or not
 * finite. */
typedef struct cli_plot_log {
    char *name; /* the path as given, for the legend */
    int64_t n;
    double *step;
    double *col[CLI_PLOT_NCOLS];
} cli_plot_log;

/* The header name and the label of column c. */
const char *cli_plot_col_name(cli_plot_col c);
const char *cli_plot_col_label(cli_plot_col c);

/* Reads the CSV at path (a header naming its columns, then one row per
 * step). Returns 0, or -1 with a message naming the file and line. */
int cli_plot_read(const char *path, cli_plot_log *log, char *err, size_t errlen);
void cli_plot_log_free(cli_plot_log *log);

/* Writes the chart of logs[0..n) to path, atomically (a temporary file
 * renamed into place). Returns 0, or -1 with a message. */
int cli_plot_svg(const char *path, const cli_plot_log *logs, int n, char *err, size_t errlen);

/* cli_plot_read of csv, then cli_plot_svg to svg: what train calls. */
int cli_plot_file(const char *csv, const char *svg, char *err, size_t errlen);

/* The chart's path next to a log: "run.csv" -> "run.svg" (else + ".svg"). */
void cli_plot_path(const char *csv, char *out, size_t n);

#endif
