/* tapegrad translate: a seq2seq model's output for every line of a file
 * (or standard input), with greedy or beam-search decoding, and optionally
 * each line's attention map as SVG. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

static const char HELP[] =
    "usage: tapegrad translate SPEC --checkpoint CKPT [FILE] [options]\n"
    "\n"
    "Reads one source per line from FILE (default: standard input), split as\n"
    "the spec's input.source says, and prints the model's output for it, one\n"
    "line per input line (target symbols joined as input.target says; an\n"
    "empty line for an empty one). Source symbols the model never saw read as\n"
    "<unk>.\n"
    "\n"
    "options:\n"
    "  --checkpoint CKPT      weights and vocabularies from tapegrad train (required)\n"
    "  --beam K               beam search of width K (1: greedy; default: the spec's\n"
    "                         decode.beam)\n"
    "  --show-attention DIR   write each line's attention map to DIR/<line>.svg\n"
    "                         (lines numbered from 1; needs a model with attention)\n"
    "  --threads N            threads for products and cells\n"
    "  --help                 this text\n";

enum { CHUNK = 64 }; /* lines decoded together */

typedef struct line {
    const char *p, *end;
    int64_t first, n; /* its symbols in the batch's source arrays */
} line;

/* One line's attention map: source symbols across, output symbols down. */
static int write_svg(const char *dir, int64_t number, const cli_syms *sy, const line *ln,
                     const cli_vocab *v, const tg_s2s_output *o, int64_t row, char *err,
                     size_t errlen) {
    int64_t n_out = o->lengths[row] + 1; /* and the end marker */
    char **src = calloc((size_t)ln->n, sizeof *src);
    const char **tgt = calloc((size_t)n_out, sizeof *tgt);
    int rc = -1;
    if (!src || !tgt) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < ln->n; i++) {
        size_t k = sy->len[ln->first + i];
        if (!(src[i] = malloc(k + 1))) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        memcpy(src[i], sy->p[ln->first + i], k);
        src[i][k] = '\0';
    }
    for (int64_t j = 0; j < n_out; j++)
        tgt[j] = j < o->lengths[row] ? v->labels.s[o->tokens[row * o->max_len + j]] : "</s>";
    char path[4096];
    snprintf(path, sizeof path, "%s/%lld.svg", dir, (long long)number);
    rc = tg_attention_svg(path, ln->n, (const char *const *)src, n_out, tgt,
                          o->attention + row * (o->max_len + 1) * o->S, o->S, err, errlen);
done:
    for (int64_t i = 0; src && i < ln->n; i++) free(src[i]);
    free(src);
    free(tgt);
    return rc;
}

/* Decodes lines [0, n) (numbered from `number`) and prints their outputs. */
static int run_chunk(tg_tape *t, cli_model *cm, const cli_vocab *v, line *lines, int64_t n,
                     int64_t number, const char *dir, char *err, size_t errlen) {
    const tg_spec *s = cm->spec;
    cli_syms sy = {0}, one = {0};
    int64_t B = 0, S = 1, *src = NULL, *len = NULL, *row = malloc((size_t)n * sizeof *row);
    int rc = -1;
    if (!row) goto oom;
    for (int64_t i = 0; i < n; i++) { /* every symbol of the chunk in sy */
        if (cli_syms_split(&one, lines[i].p, lines[i].end, s->seq2seq.source)) goto oom;
        lines[i].first = sy.n, lines[i].n = one.n;
        row[i] = one.n ? B++ : -1;
        if (one.n > S) S = one.n;
        if (cli_syms_append(&sy, &one)) goto oom;
    }
    tg_s2s_output o = {0};
    if (B) {
        src = calloc((size_t)(B * S), sizeof *src), len = malloc((size_t)B * sizeof *len);
        if (!src || !len) goto oom;
        for (int64_t i = 0; i < n; i++) {
            if (row[i] < 0) continue;
            len[row[i]] = lines[i].n;
            for (int64_t k = 0; k < lines[i].n; k++)
                src[row[i] * S + k] =
                    cli_word_id(v, sy.p[lines[i].first + k], sy.len[lines[i].first + k]);
        }
        if (cli_s2s_decode(t, cm->model, s, src, len, B, S, dir != NULL, &o, err, errlen))
            goto done;
    }
    const char *sep = s->seq2seq.target == TG_SPLIT_CHARS ? "" : " ";
    for (int64_t i = 0; i < n; i++) {
        int64_t r = row[i];
        for (int64_t j = 0; r >= 0 && j < o.lengths[r]; j++)
            printf("%s%s", j ? sep : "", v->labels.s[o.tokens[r * o.max_len + j]]);
        putchar('\n');
        if (r >= 0 && dir &&
            write_svg(dir, number + i, &sy, &lines[i], v, &o, r, err, errlen) != 0) {
            tg_s2s_output_free(&o);
            goto done;
        }
    }
    fflush(stdout);
    tg_s2s_output_free(&o);
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    cli_syms_free(&sy);
    cli_syms_free(&one);
    free(src);
    free(len);
    free(row);
    return rc;
}

int cli_translate(int argc, char **argv) {
    const char *cmd = "translate", *pos[2] = {NULL, NULL}, *ckpt = NULL, *dir = NULL;
    int64_t threads = 0, beam = 1;
    cli_option opts[] = {
        {"--checkpoint", CLI_STR, &ckpt, 0, 0, false},
        {"--beam", CLI_INT, &beam, 1, 1024, false},
        {"--show-attention", CLI_STR, &dir, 0, 0, false},
        {"--threads", CLI_INT, &threads, 1, 1024, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, pos, 2, &got, HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    tg_spec *s = cli_checkpoint_spec(cmd, got, ckpt, threads, pos[0], TG_TASK_SEQ2SEQ,
                                     "seq2seq models");
    if (!s) return CLI_USAGE;
    cli_model cm = {0};
    cli_ckpt_info info = {0};
    tg_tape *tape = NULL;
    char *text = NULL, err[1024];
    line *lines = NULL;
    int status = CLI_USAGE;
    if (cli_given(opts, nopt, "--beam")) s->seq2seq.decode.width = (int)beam;
    if (dir && s->seq2seq.model.attention == TG_ATTN_NONE) {
        cli_error(cmd, "--show-attention: the model of %s has no attention (model.attention)",
                  pos[0]);
        goto done;
    }
    if ((status = cli_model_load(cmd, &cm, s, ckpt, &info))) goto done;
    status = CLI_FAIL;
    if (dir && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        cli_error(cmd, "%s: %s", dir, strerror(errno));
        goto done;
    }
    int64_t len = 0;
    if (!(text = cli_read_file(got == 2 ? pos[1] : "/dev/stdin", &len, err, sizeof err))) {
        cli_error(cmd, "%s", err);
        goto done;
    }
    if (!(tape = tg_tape_new()) || !(lines = malloc(CHUNK * sizeof *lines))) {
        cli_error(cmd, "out of memory");
        goto done;
    }
    int64_t number = 1, n = 0;
    for (char *p = text, *end = text + len; p < end || n;) {
        if (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
            lines[n++] = (line){p, eol, 0, 0};
            p = eol + 1;
        }
        if (n == CHUNK || (p >= end && n)) {
            if (run_chunk(tape, &cm, &info.vocab, lines, n, number, dir, err, sizeof err)) {
                cli_error(cmd, "line %lld..%lld: %s", (long long)number,
                          (long long)(number + n - 1), err);
                goto done;
            }
            number += n, n = 0;
        }
    }
    status = CLI_OK;
done:
    free(lines);
    free(text);
    tg_tape_free(tape);
    cli_model_free(&cm);
    cli_ckpt_info_free(&info);
    tg_spec_free(s);
    return status;
}
