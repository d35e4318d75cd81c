/* tapegrad eval: loss and accuracy of a checkpoint on held-out data (and
 * bits per character for a character-level language model, error rates of
 * the decoded outputs for seq2seq). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char HELP[] =
    "usage: tapegrad eval SPEC --checkpoint CKPT [options]\n"
    "\n"
    "Evaluates a trained model on held-out data: the mean loss (cross-entropy in\n"
    "nats, or mean squared error for regress), the accuracy (share of targets\n"
    "whose most likely class is right) and, for a language model, bits per\n"
    "character (loss / ln 2); for seq2seq, the held-out sources decoded and\n"
    "their sequence and symbol error rates. Batches are laid out as in\n"
    "training's validation, so the figures equal the last validation of the run.\n"
    "A tree model also gets both over every labelled node and over the roots\n"
    "(node_loss, node_accuracy, root_loss, root_accuracy).\n"
    "\n"
    "options:\n"
    "  --checkpoint CKPT  weights and vocabulary from tapegrad train (required)\n"
    "  --data PATH        evaluate on all of this file (default: the held-out end,\n"
    "                     train.valid_fraction, of the checkpoint's training data)\n"
    "  --beam K           seq2seq: decode with a beam of K (1: greedy; default:\n"
    "                     the spec's decode.beam)\n"
    "  --confusion FILE   classify, tag: also write the confusion matrix as an SVG\n"
    "                     heat map (rows: true class, columns: predicted)\n"
    "  --threads N        at most N threads for products and cells (as for train)\n"
    "  --help             this text\n";

/* The figures of m on stdout, as the task has them. */
static void print_metrics(const tg_spec *s, const cli_metrics *m, const char *data_path,
                          bool held_out) {
    printf("data: %s (%s), %lld targets\n", data_path,
           held_out ? "the held-out end of the training data" : "all of it", (long long)m->count);
    printf("loss %.6f\n", m->loss);
    if (s->task == TG_TASK_SEQ2SEQ) {
        int k = s->seq2seq.decode.width;
        printf("sources %lld\n", (long long)m->sources);
        if (k > 1)
            printf("decoding beam %d\n", k);
        else
            printf("decoding greedy\n");
        printf("sequence_error_rate %.6f\n", 1 - m->accuracy);
        printf("symbol_error_rate %.6f\n", m->error_rate);
    } else if (!isnan(m->accuracy))
        printf("accuracy %.6f\n", m->accuracy);
    if (s->task == TG_TASK_LANGUAGE_MODEL) printf("bits_per_character %.6f\n", m->loss / log(2.0));
    if (s->task == TG_TASK_TREE)
        printf("node_loss %.6f\nnode_accuracy %.6f\nnodes %lld\nroot_loss %.6f\n"
               "root_accuracy %.6f\nroots %lld\n",
               m->node_loss, m->node_accuracy, (long long)m->node_count, m->root_loss,
               m->root_accuracy, (long long)m->root_count);
}

/* An empty confusion matrix of the model's classes, named by the
 * checkpoint's labels (classes past them by number). NULL with a message. */
static tg_confusion *confusion_new(const tg_model *m, const cli_vocab *v, char *err,
                                   size_t errlen) {
    int64_t C = m->output_size;
    const char **names = calloc((size_t)C, sizeof *names);
    if (!names) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int64_t k = 0; k < C && k < v->labels.n; k++) names[k] = v->labels.s[k];
    tg_confusion *c = tg_confusion_new(C, names, err, errlen);
    free(names);
    return c;
}

/* The file name of path, without its directories. */
static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* --confusion FILE: the matrix as SVG, titled with the spec's and data's
 * file names (not their directories, so that the file says the same on
 * any machine). */
static int confusion_write(tg_confusion *c, const char *path, const char *spec_path,
                           const char *data_path, char *err, size_t errlen) {
    char title[600];
    snprintf(title, sizeof title, "%s on %s", base_name(spec_path), base_name(data_path));
    if (tg_confusion_svg(c, path, title, err, errlen)) return -1;
    printf("confusion %s\n", path);
    return 0;
}

/* --beam and --confusion against the spec's task; CLI_USAGE after a message. */
static int check_task_options(const char *cmd, tg_spec *s, const cli_option *opts, int nopt,
                              int64_t beam) {
    if (cli_given(opts, nopt, "--beam")) {
        if (s->task != TG_TASK_SEQ2SEQ) {
            cli_error(cmd, "--beam is for seq2seq models, not task %s", tg_task_name(s->task));
            return CLI_USAGE;
        }
        s->seq2seq.decode.width = (int)beam;
    }
    if (cli_given(opts, nopt, "--confusion") && s->task != TG_TASK_CLASSIFY &&
        s->task != TG_TASK_TAG) {
        cli_error(cmd, "--confusion is for classify and tag models, not task %s",
                  tg_task_name(s->task));
        return CLI_USAGE;
    }
    return 0;
}

int cli_eval(int argc, char **argv) {
    const char *cmd = "eval", *spec_path = NULL, *ckpt = NULL, *data_path = NULL, *svg = NULL;
    int64_t threads = 0, beam = 1;
    cli_option opts[] = {
        {"--checkpoint", CLI_STR, &ckpt, 0, 0, false},
        {"--data", CLI_STR, &data_path, 0, 0, false},
        {"--beam", CLI_INT, &beam, 1, 1024, false},
        {"--confusion", CLI_STR, &svg, 0, 0, false},
        {"--threads", CLI_INT, &threads, 1, 1024, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, &spec_path, 1, &got, HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    tg_spec *s = cli_checkpoint_spec(cmd, got, ckpt, threads, spec_path, -1, NULL);
    if (!s) return CLI_USAGE;
    if (check_task_options(cmd, s, opts, nopt, beam)) {
        tg_spec_free(s);
        return CLI_USAGE;
    }
    cli_model cm = {0};
    cli_ckpt_info info = {0};
    cli_data d = {0};
    tg_tape *tape = NULL;
    tg_confusion *conf = NULL;
    char err[1024];
    int status = cli_model_load(cmd, &cm, s, ckpt, &info);
    if (status) goto done;
    status = CLI_FAIL;
    bool held_out = !data_path;
    if (held_out) data_path = info.data;
    if (cli_data_load(&d, s, data_path, &info.vocab, held_out ? s->train.valid_fraction : 1, true, err,
                      sizeof err)) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    if (held_out && d.hash != info.data_hash)
        fprintf(stderr, "tapegrad eval: warning: %s has changed since training\n", data_path);
    cli_metrics m;
    if ((svg && !(conf = confusion_new(cm.model, &info.vocab, err, sizeof err))) ||
        !(tape = tg_tape_new()) ||
        cli_evaluate_confusion(tape, cm.model, s, &d, NULL, conf, &m, err, sizeof err)) {
        cli_error(cmd, "%s", tape ? err : "out of memory");
        goto done;
    }
    print_metrics(s, &m, data_path, held_out);
    if (svg && confusion_write(conf, svg, spec_path, data_path, err, sizeof err)) {
        cli_error(cmd, "--confusion: %s", err);
        goto done;
    }
    status = CLI_OK;
done:
    tg_confusion_free(conf);
    tg_tape_free(tape);
    cli_data_free(&d);
    cli_model_free(&cm);
    cli_ckpt_info_free(&info);
    tg_spec_free(s);
    return status;
}
