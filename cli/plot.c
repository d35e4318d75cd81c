/* tapegrad plot: training logs as an SVG chart (plot_csv.c reads them,
 * plot_svg.c draws). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "plot.h"

static const char HELP[] =
    "usage: tapegrad plot LOG.csv [LOG.csv ...] [--out FILE.svg]\n"
    "\n"
    "Draws training logs (tapegrad train's CSV: step,train_loss,valid_loss,lr,...)\n"
    "as one self-contained SVG chart: training and validation loss against steps,\n"
    "the learning rate on a right-hand axis, and panels for valid_accuracy and\n"
    "valid_bpc where a log has them. Several logs share the chart, a colour\n"
    "each, named in the legend. Empty cells (steps without validation) are\n"
    "skipped. train writes the same chart next to its log at each validation.\n"
    "\n"
    "options:\n"
    "  --out FILE   the SVG to write (default, for one log: its path with .svg\n"
    "               for .csv; needed for several)\n"
    "  --help       this text\n"
    "\n"
    "Exit status: 0 written, 1 a log could not be read or the chart written,\n"
    "2 bad usage.\n";

enum { MAX_LOGS = 16 };

void cli_plot_path(const char *csv, char *out, size_t n) {
    size_t len = strlen(csv);
    if (len > 4 && strcmp(csv + len - 4, ".csv") == 0) len -= 4;
    snprintf(out, n, "%.*s.svg", (int)len, csv);
}

int cli_plot_file(const char *csv, const char *svg, char *err, size_t errlen) {
    cli_plot_log log;
    if (cli_plot_read(csv, &log, err, errlen)) return -1;
    int rc = cli_plot_svg(svg, &log, 1, err, errlen);
    cli_plot_log_free(&log);
    return rc;
}

int cli_plot(int argc, char **argv) {
    const char *cmd = "plot", *out = NULL, *paths[MAX_LOGS];
    cli_option opts[] = {{"--out", CLI_STR, &out, 0, 0, false}};
    int got = 0, rc = cli_parse(cmd, argc, argv, opts, 1, paths, MAX_LOGS, &got, HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!got) {
        cli_error(cmd, "missing LOG.csv (see 'tapegrad plot --help')");
        return CLI_USAGE;
    }
    if (got > 1 && !out) {
        cli_error(cmd, "--out FILE.svg is needed to draw several logs");
        return CLI_USAGE;
    }
    char def[4096], err[1024];
    if (!out) cli_plot_path(paths[0], def, sizeof def), out = def;
    cli_plot_log logs[MAX_LOGS] = {{0}};
    int status = CLI_OK;
    for (int i = 0; i < got && status == CLI_OK; i++)
        if (cli_plot_read(paths[i], &logs[i], err, sizeof err)) status = CLI_FAIL;
    if (status == CLI_OK && cli_plot_svg(out, logs, got, err, sizeof err)) status = CLI_FAIL;
    if (status != CLI_OK)
        cli_error(cmd, "%s", err);
    else
        printf("plot: %d log%s drawn in %s\n", got, got > 1 ? "s" : "", out);
    for (int i = 0; i < got; i++) cli_plot_log_free(&logs[i]);
    return status;
}
