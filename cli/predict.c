/* tapegrad predict: a classify model's most likely classes for texts (or,
 * for an image model, CSV rows of pixels) given on the command line or
 * read from standard input, with their log-probabilities (log softmax of
 * the model's logits). Texts split into tokens as the training data did
 * (words, or characters with input.split "chars"); a token the model never
 * saw reads as <unk>. Image rows are read as the training data's, the
 * label optional. */
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
    "For an image model (input.type \"image\") each TEXT or line is a CSV row of\n"
    "the training data's format, the label optional, and each output line starts\n"
    "with the row's number (the argument's, or the line's in standard input) and\n"
    "its label (- without one):\n"
    "\n"
    "    ROW<TAB>TRUTH<TAB>LABEL LOGP<TAB>LABEL LOGP<TAB>LABEL LOGP\n"
    "\n"
    "Lines of standard input starting with '#', and a first row that is not all\n"
    "numbers (a header), are skipped as in training.\n"
    "\n"
    "options:\n"
    "  --checkpoint CKPT  weights, vocabulary and labels from tapegrad train (required)\n"
    "  --top K            classes to print per text (default: 3)\n"
    "  --threads N        threads for products and cells\n"
    "  --help             this text\n";

/* Whether the spec's input is images (input.type "image"). */
static bool is_image(const tg_spec *s) {
    return s->image_height > 0;
}

/* What every text or image needs: the model, the checkpoint's vocabulary
 * and labels, and buffers reused from one input to the next. */
typedef struct predictor {
    tg_tape *t;
    cli_model *cm;
    const cli_vocab *v;
    int64_t k;       /* classes to print */
    cli_words w;     /* a text's tokens */
    int64_t *ids;    /* their ids */
    double *px, *x;  /* an image's pixels and its patch steps */
    cli_ranked *lp;  /* [C]: the classes' log-probabilities, most likely first */
    bool rows_begun; /* standard input: an image row (or a header) was read */
} predictor;

/* The ids of text[0..len) as the classify reader makes them; -1 with a
 * message in err (no tokens). */
static int64_t tokens(predictor *pr, const char *text, size_t len, char *err, size_t errlen) {
    const tg_spec *s = pr->cm->spec;
    cli_words *w = &pr->w;
    w->n = 0;
    int rc = s->split_chars ? cli_chars_split(w, "input", text, text + len, 0, err, errlen)
                            : cli_words_split(w, "input", text, text + len, 0, false, err, errlen);
    if (rc) return -1;
    if (!w->n) {
        snprintf(err, errlen, "no %s in '%.*s'", s->split_chars ? "characters" : "words",
                 (int)(len < 60 ? len : 60), text);
        return -1;
    }
    int64_t *p = realloc(pr->ids, (size_t)w->n * sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pr->ids = p;
    for (int64_t i = 0; i < w->n; i++) p[i] = cli_word_id(pr->v, w->w[i], w->len[i]);
    return w->n;
}

/* Runs the model on one input (b: one sequence) and prints its top k
 * classes after what the caller printed. Returns 0, or -1 with a message. */
static int print_top(predictor *pr, const tg_model_batch *b, char *err, size_t errlen) {
    int64_t C = pr->cm->model->output_size;
    tg_model_output out;
    if (tg_model_forward(pr->t, pr->cm->model, b, NULL, &out)) {
        snprintf(err, errlen, "%s", tg_tape_error(pr->t));
        return -1;
    }
    const tg_real *z = out.output->data; /* [1, C] */
    double zmax = -INFINITY, sum = 0;
    for (int64_t c = 0; c < C; c++) zmax = fmax(zmax, (double)z[c]);
    for (int64_t c = 0; c < C; c++) sum += exp((double)z[c] - zmax);
    for (int64_t c = 0; c < C; c++) pr->lp[c] = (cli_ranked){(double)z[c] - zmax - log(sum), c};
    cli_rank(pr->lp, C); /* most likely first */
    const cli_strs *labels = &pr->v->labels;
    for (int64_t i = 0; i < pr->k && i < C; i++)
        printf("\t%s %.4f", pr->lp[i].id < labels->n ? labels->s[pr->lp[i].id] : "?",
               pr->lp[i].score);
    putchar('\n');
    return 0;
}

/* One text: "TEXT<TAB>LABEL LOGP..." on stdout. Returns 0, or -1 with a message. */
static int predict_text(predictor *pr, const char *text, size_t len, char *err, size_t errlen) {
    int64_t T = tokens(pr, text, len, err, errlen);
    if (T < 0) return -1;
    tg_tape_reset(pr->t);
    tg_model_batch b = {.T = T, .B = 1, .ids = pr->ids}; /* [T, 1] and [1, T]: the same order */
    fwrite(text, 1, len, stdout);
    return print_top(pr, &b, err, errlen);
}

/* One image row (number `row`): "ROW<TAB>TRUTH<TAB>LABEL LOGP..." on stdout.
 * stdin: a line of standard input, where a first row that is not all
 * numbers is a header (*skipped set) and '#' lines are comments. Returns 0,
 * or -1 with a message. */
static int predict_image(predictor *pr, int64_t row, const char *text, size_t len, bool stdin_line,
                         bool *skipped, char *err, size_t errlen) {
    const tg_spec *s = pr->cm->spec;
    const char *label;
    size_t label_len;
    bool not_number, first = stdin_line && !pr->rows_begun;
    *skipped = stdin_line && *text == '#';
    if (*skipped) return 0;
    pr->rows_begun = true;
    if (cli_image_row(s, text, text + len, pr->px, pr->x, &label, &label_len, &not_number, err,
                      errlen))
        return first && not_number ? (*skipped = true, 0) : -1;
    tg_tape_reset(pr->t);
    int64_t T = (s->image_height / s->image_patch) * (s->image_width / s->image_patch);
    tg_model_batch b = {.T = T, .B = 1, .x = tg_empty(pr->t, TG_SHAPE(T, 1, s->input_size))};
    for (int64_t i = 0; b.x && i < b.x->numel; i++) b.x->data[i] = (tg_real)pr->x[i];
    printf("%lld\t%.*s", (long long)row, label_len ? (int)label_len : 1, label_len ? label : "-");
    return print_top(pr, &b, err, errlen);
}

/* Buffers for the model's classes (and an image's pixels). 0, or -1. */
static int predictor_init(predictor *pr, tg_tape *t, cli_model *cm, const cli_vocab *v,
                          int64_t k) {
    const tg_spec *s = cm->spec;
    int64_t N = s->image_height * s->image_width;
    *pr = (predictor){.t = t, .cm = cm, .v = v, .k = k};
    pr->lp = malloc((size_t)cm->model->output_size * sizeof *pr->lp);
    if (is_image(s)) {
        pr->px = malloc((size_t)N * sizeof *pr->px);
        pr->x = malloc((size_t)N * sizeof *pr->x);
    }
    return pr->lp && (!is_image(s) || (pr->px && pr->x)) ? 0 : -1;
}

static void predictor_free(predictor *pr) {
    free(pr->ids);
    free(pr->lp);
    free(pr->px);
    free(pr->x);
    cli_words_free(&pr->w);
}

/* Standard input, line by line (blank lines skipped). 0, or CLI_FAIL
 * after a message. */
static int predict_stdin(const char *cmd, predictor *pr) {
    char err[1024], *line = NULL;
    size_t cap = 0;
    int status = CLI_OK;
    for (int64_t no = 1;; no++) {
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (cli_blank(line, line + n)) continue;
        bool skipped;
        if (is_image(pr->cm->spec) ? predict_image(pr, no, line, (size_t)n, true, &skipped, err,
                                                sizeof err)
                                : predict_text(pr, line, (size_t)n, err, sizeof err)) {
            cli_error(cmd, "standard input:%lld: %s", (long long)no, err);
            status = CLI_FAIL;
            break;
        }
    }
    free(line);
    return status;
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
    predictor pr = {0};
    tg_tape *tape = NULL;
    char err[1024];
    int status = cli_model_load(cmd, &cm, s, ckpt, &info);
    if (status) goto done;
    status = CLI_FAIL;
    if (!(tape = tg_tape_new()) || predictor_init(&pr, tape, &cm, &info.vocab, top)) {
        cli_error(cmd, "out of memory");
        goto done;
    }
    tg_set_grad_enabled(tape, false);
    for (int i = 1; i < got; i++) {
        bool skipped;
        if (is_image(s) ? predict_image(&pr, i, pos[i], strlen(pos[i]), false, &skipped, err,
                                     sizeof err)
                     : predict_text(&pr, pos[i], strlen(pos[i]), err, sizeof err)) {
            cli_error(cmd, "argument %d: %s", i, err);
            status = CLI_USAGE;
            goto done;
        }
    }
    status = got == 1 ? predict_stdin(cmd, &pr) : CLI_OK;
done:
    predictor_free(&pr);
    tg_tape_free(tape);
    cli_model_free(&cm);
    cli_ckpt_info_free(&info);
    tg_spec_free(s);
    free(pos);
    return status;
}
