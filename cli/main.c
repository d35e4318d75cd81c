/* tapegrad: the command. Each subcommand lives in its own file (train.c,
 * sample.c, eval.c, predict.c, translate.c, run.c, graph.c); this one only
 * dispatches. docs/cli.md is the manual. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "../core/jsoncheck.h" /* tg_json_nearest */

int cli_train(int argc, char **argv);
int cli_sample(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_graph(int argc, char **argv);
int cli_step(int argc, char **argv);
int cli_translate(int argc, char **argv);
int cli_plot(int argc, char **argv);

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} COMMANDS[] = {
    {"train", cli_train, "train the model of a spec on a data file"},
    {"sample", cli_sample, "generate text with a trained language model"},
    {"eval", cli_eval, "loss and accuracy of a checkpoint on held-out data"},
    {"translate", cli_translate, "a seq2seq model's output for every line of a file"},
    {"predict", cli_predict, "the most likely classes of texts, with a classify model"},
    {"run", cli_run, "one batch with given weights: outputs, gradients, training steps"},
    {"graph", cli_graph, "draw the tape of one training step: DOT, SVG, PNG, JSON or HTML"},
    {"step", cli_step, "step through one training step's tape, forward then backward"},
    {"plot", cli_plot, "draw training logs (train's CSV) as an SVG chart"},
};
enum { N_COMMANDS = sizeof COMMANDS / sizeof *COMMANDS };

static void usage(FILE *out) {
    fprintf(out, "usage: tapegrad COMMAND [options]\n"
                 "       tapegrad COMMAND --help\n"
                 "       tapegrad --version\n"
                 "\n"
                 "Recurrent networks from JSON specs (docs/spec.md, docs/cli.md).\n"
                 "\n"
                 "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].what);
    fprintf(out, "\n"
                 "Exit status: 0 success, 1 the run failed, 2 bad usage or a bad spec,\n"
                 "3 training stopped at a step that was not finite, 130 training\n"
                 "interrupted (its checkpoint saved).\n");
}

int main(int argc, char **argv) {
    tg_wait_policy_exec(argv); /* BLIS's threads behave beside busy processes */
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        if (strcmp(c, "help") == 0 && argc > 2) { /* tapegrad help train */
            char *sub[] = {argv[2], "--help", NULL};
            for (int i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], COMMANDS[i].name) == 0) return COMMANDS[i].fn(2, sub);
            fprintf(stderr, "tapegrad: unknown command '%s'\n", argv[2]);
            return CLI_USAGE;
        }
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(c, "--version") == 0) {
        int threads = tg_threads();
        printf("tapegrad %s\n", tg_version());
        printf("precision: %s\n", TG_REAL_NAME);
        printf("blis kernels: %s\n", tg_blis_kernels());
        printf("threads: %d\n", threads);
        return CLI_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(c, COMMANDS[i].name) == 0) return COMMANDS[i].fn(argc - 1, argv + 1);
    const char *names[N_COMMANDS + 1];
    for (int i = 0; i < N_COMMANDS; i++) names[i] = COMMANDS[i].name;
    names[N_COMMANDS] = NULL;
    int near = tg_json_nearest(c, names);
    if (near >= 0)
        fprintf(stderr, "tapegrad: unknown command '%s'; did you mean '%s'?\n", c, names[near]);
    else
        fprintf(stderr, "tapegrad: unknown command '%s' (see 'tapegrad --help')\n", c);
    return CLI_USAGE;
}
