/* tapegrad predict: a classify model's most likely classes for texts given
 * on the command line or read from standard input, with their
 * log-probabilities (log softmax of the model's logits). Texts split into
 * tokens as the training data did (words, or characters with input.split
 * "chars"); a token the model never saw reads as <unk>. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char HELP[] =
    "usage: tapegrad predict SPEC --checkpoint CKPT [options] [TEXT...]\n"
    "\n"
    "Prints, for each TEXT (or each line of standard input when none is given),\n"
    "the classify model's most likely classes with their log-probabilities,\n"
    "most likely first, one line per text:\n"
    "\n"
    "    TEXT<TAB>LABEL LOGP<TAB>LABEL LOGP<TAB>LABEL LOGP\n"
    "\n"
    "Texts are split into tokens as the training data was (input.split); tokens\n"
    "the model never saw read as <unk>. Blank lines of standard input are skipped.\n"
    "\n"
    "options:\n"
    "  --checkpoint CKPT  weights, vocabulary and labels from tapegrad train (required)\n"
    "  --top K            classes to print per text (default: 3)\n"
    "  --threads N        threads for products and cells\n"
    "  --help             this text\n";

/* The ids of text[0..len) as the classify reader makes them; -1 with a
 * message in err (no tokens). */
static int64_t tokens(const tg_spec *s, const cli_vocab *v, const char *text, size_t len,
                      cli_words *w, int64_t **ids, char *err, size_t errlen) {
    w->n = 0;
    int rc = s->split_chars ? cli_chars_split(w, "input", text, text + len, 0, err, errlen)
                            : cli_words_split(w, "input", text, text + len, 0, false, err, errlen);
    if (rc) return -1;
    if (!w->n) {
        snprintf(err, errlen, "no %s in '%.*s'", s->split_chars ? "characters" : "words",
                 (int)(len < 60 ? len : 60), text);
        return -1;
    }
    int64_t *p = realloc(*ids, (size_t)w->n * sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *ids = p;
    for (int64_t i = 0; i < w->n; i++) p[i] = cli_word_id(v, w->w[i], w->len[i]);
    return w->n;
}

/* One text: its top k classes on stdout. Returns 0, or -1 with a message. */
static int predict(tg_tape *t, cli_model *cm, const cli_vocab *v, const char *text, size_t len,
                   int64_t k, cli_words *w, int64_t **ids, cli_ranked *lp, char *err,
                   size_t errlen) {
    const tg_spec *s = cm->spec;
    int64_t T = tokens(s, v, text, len, w, ids, err, errlen), C = cm->model->output_size;
    if (T < 0) return -1;
    tg_tape_reset(t);
    tg_model_batch b = {.T = T, .B = 1, .ids = *ids}; /* [T, 1] and [1, T]: the same order */
    tg_model_output out;
    if (tg_model_forward(t, cm->model, &b, NULL, &out)) {
        snprintf(err, errlen, "%s", tg_tape_error(t));
        return -1;
    }
    const tg_real *z = out.output->data; /* [1, C] */
    double zmax = -INFINITY, sum = 0;
    for (int64_t c = 0; c < C; c++) zmax = fmax(zmax, (double)z[c]);
    for (int64_t c = 0; c < C; c++) sum += exp((double)z[c] - zmax);
    for (int64_t c = 0; c < C; c++) lp[c] = (cli_ranked){(double)z[c] - zmax - log(sum), c};
    cli_rank(lp, C); /* most likely first */
    fwrite(text, 1, len, stdout);
    for (int64_t i = 0; i < k && i < C; i++)
        printf("\t%s %.4f", lp[i].id < v->labels.n ? v->labels.s[lp[i].id] : "?", lp[i].score);
    putchar('\n');
    return 0;
}

int cli_predict(int argc, char **argv) {
    const char *cmd = "predict", *ckpt = NULL;
    int64_t top = 3, threads = 0;
    cli_option opts[] = {
        {"--checkpoint", CLI_STR, &ckpt, 0, 0, false},
        {"--top", CLI_INT, &top, 1, 1e9, false},
        {"--threads", CLI_INT, &threads, 1, 1024, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    const char **pos = malloc((size_t)argc * sizeof *pos);
    if (!pos) {
        cli_error(cmd, "out of memory");
        return CLI_FAIL;
    }
    int rc = cli_parse(cmd, argc, argv, opts, nopt, pos, argc, &got, HELP);
    tg_spec *s = rc ? NULL
                    : cli_checkpoint_spec(cmd, got, ckpt, threads, pos[0], TG_TASK_CLASSIFY,
                                          "classify models");
    if (!s) {
        free(pos);
        return rc < 0 ? CLI_OK : rc ? rc : CLI_USAGE;
    }
    cli_model cm = {0};
    cli_ckpt_info info = {0};
    cli_words w = {0};
    tg_tape *tape = NULL;
    int64_t *ids = NULL;
    cli_ranked *lp = NULL;
    char err[1024], *line = NULL;
    size_t cap = 0;
    int status = cli_model_load(cmd, &cm, s, ckpt, &info);
    if (status) goto done;
    status = CLI_FAIL;
    int64_t C = cm.model->output_size;
    tape = tg_tape_new();
    lp = malloc((size_t)C * sizeof *lp);
    if (!tape || !lp) {
        cli_error(cmd, "out of memory");
        goto done;
    }
    tg_set_grad_enabled(tape, false);
    for (int i = 1; i < got; i++)
        if (predict(tape, &cm, &info.vocab, pos[i], strlen(pos[i]), top, &w, &ids, lp, err,
                    sizeof err)) {
            cli_error(cmd, "argument %d: %s", i, err);
            status = CLI_USAGE;
            goto done;
        }
    for (int64_t no = 1; got == 1; no++) {
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (cli_blank(line, line + n)) continue;
        if (predict(tape, &cm, &info.vocab, line, (size_t)n, top, &w, &ids, lp, err, sizeof err)) {
            cli_error(cmd, "standard input:%lld: %s", (long long)no, err);
            goto done;
        }
    }
    status = CLI_OK;
done:
    free(line);
    free(ids);
    free(lp);
    cli_words_free(&w);
    tg_tape_free(tape);
    cli_model_free(&cm);
    cli_ckpt_info_free(&info);
    tg_spec_free(s);
    free(pos);
    return status;
}
