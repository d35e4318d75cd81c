/* tapegrad sample: text from a trained language model, one character at a
 * time: p = softmax(z / T) over the logits z (T the temperature), optionally
 * only over the k largest, greedy at T = 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char HELP[] =
    "usage: tapegrad sample SPEC --checkpoint CKPT [options]\n"
    "\n"
    "Generates text with a trained language model. Each character is drawn from\n"
    "softmax(z / T), z the model's logits and T the temperature; T = 0 takes the\n"
    "most likely character (greedy). Generation stops after --length characters,\n"
    "or at the end marker (byte 0x03, end of text) when the vocabulary has one.\n"
    "The primer and the generated text go to standard output, one line per sample.\n"
    "A model conditioned on a class (input.condition) needs --condition: each\n"
    "sample starts from the end marker with that class and ends at the marker.\n"
    "\n"
    "options:\n"
    "  --checkpoint CKPT  weights and vocabulary from tapegrad train (required)\n"
    "  --prime TEXT       text fed in first (default: the spec's sample.prime)\n"
    "  --length N         characters to generate (default: sample.length)\n"
    "  --temperature T    >= 0 (default: sample.temperature); 0: greedy\n"
    "  --top-k K          draw only among the K most likely (default: 0, all)\n"
    "  --condition LABEL  the class a conditioned model generates for\n"
    "  --count N          samples to generate, one per line (default: 1)\n"
    "  --seed S           random seed (default: sample.seed)\n"
    "  --threads N        threads for products and cells\n"
    "  --help             this text\n";

/* The next id from logits z[V]. rank: room for V entries. */
static int64_t pick(const tg_real *z, int64_t V, double temp, int64_t k, tg_rng *r,
                    cli_ranked *rank) {
    for (int64_t i = 0; i < V; i++) rank[i] = (cli_ranked){(double)z[i], i};
    cli_rank(rank, V); /* most likely first; ties by id */
    if (temp == 0) return rank[0].id;
    int64_t n = k > 0 && k < V ? k : V;
    double sum = 0, zmax = rank[0].score;
    for (int64_t i = 0; i < n; i++) sum += exp((rank[i].score - zmax) / temp);
    double u = tg_rng_uniform(r) * sum;
    for (int64_t i = 0; i < n; i++) {
        u -= exp((rank[i].score - zmax) / temp);
        if (u < 0) return rank[i].id;
    }
    return rank[n - 1].id; /* rounding */
}

/* The UTF-8 character of s[0..n) that byte i belongs to: where it starts,
 * its length and code point. 0 if s is not well-formed UTF-8 there or the
 * character is ASCII (a byte is then the character). */
static int utf8_around(const unsigned char *s, size_t n, size_t i, size_t *start, uint32_t *cp) {
    size_t j = i;
    while (j > 0 && i - j < 3 && (s[j] & 0xC0) == 0x80) j--;
    int len = s[j] >= 0xF0 && s[j] < 0xF5 ? 4 : s[j] >= 0xE0 ? 3 : s[j] >= 0xC2 ? 2 : 0;
    if (s[j] >= 0xF5 || !len || j + (size_t)len > n || i >= j + (size_t)len) return 0;
    uint32_t c = s[j] & (0x7F >> len);
    for (int k = 1; k < len; k++) {
        if ((s[j + k] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[j + k] & 0x3F);
    }
    static const uint32_t LEAST[5] = {0, 0, 0x80, 0x800, 0x10000}; /* no overlong forms */
    if (c < LEAST[len] || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) return 0;
    *start = j, *cp = c;
    return len;
}

/* The primer's byte i is not in the vocabulary: name the character it is
 * part of when the primer is UTF-8 there, else the byte. */
static void bad_prime(const char *cmd, const char *prime, size_t np, size_t i) {
    const unsigned char *u = (const unsigned char *)prime;
    size_t at;
    uint32_t cp;
    int len = utf8_around(u, np, i, &at, &cp);
    if (!len) {
        cli_error(cmd, "--prime: byte 0x%02X ('%c') is not in the model's vocabulary", u[i],
                  u[i] >= 32 && u[i] < 127 ? u[i] : '?');
        return;
    }
    char bytes[16] = "";
    for (int k = 0; k < len; k++)
        snprintf(bytes + strlen(bytes), sizeof bytes - strlen(bytes), "%s%02X", k ? " " : "",
                 u[at + k]);
    cli_error(cmd,
              "--prime: '%.*s' (U+%04X, bytes %s) is not in the model's vocabulary (it has no "
              "byte 0x%02X: the model reads the bytes of its training data)",
              len, prime + at, (unsigned)cp, bytes, u[i]);
}

int cli_sample(int argc, char **argv) {
    const char *cmd = "sample", *spec_path = NULL, *ckpt = NULL, *prime = NULL, *cond_name = NULL;
    int64_t length = 0, top_k = 0, seed = 0, threads = 0, count = 1;
    double temp = 0;
    cli_option opts[] = {
        {"--checkpoint", CLI_STR, &ckpt, 0, 0, false},
        {"--prime", CLI_STR, &prime, 0, 0, false},
        {"--length", CLI_INT, &length, 0, 1e12, false},
        {"--temperature", CLI_REAL, &temp, 0, 1e6, false},
        {"--top-k", CLI_INT, &top_k, 0, 1e9, false},
        {"--condition", CLI_STR, &cond_name, 0, 0, false},
        {"--count", CLI_INT, &count, 1, 1e9, false},
        {"--seed", CLI_INT, &seed, 0, 9007199254740992.0, false},
        {"--threads", CLI_INT, &threads, 1, 1024, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, &spec_path, 1, &got, HELP);
    if (rc) return rc < 0 ? CLI_OK : rc;
    tg_spec *s = cli_checkpoint_spec(cmd, got, ckpt, threads, spec_path, TG_TASK_LANGUAGE_MODEL,
                                     "language models");
    if (!s) return CLI_USAGE;
    if (!cli_given(opts, nopt, "--length")) length = s->sample.length;
    if (!cli_given(opts, nopt, "--temperature")) temp = s->sample.temperature;
    if (!cli_given(opts, nopt, "--seed")) seed = (int64_t)s->sample.seed;
    if (!prime) prime = s->sample.prime ? s->sample.prime : "";
    if (!s->cond_size != !cond_name) {
        cli_error(cmd,
                  s->cond_size ? "%s: the model is conditioned (input.condition): give "
                                 "--condition LABEL"
                               : "%s: --condition needs a conditioned model (input.condition)",
                  spec_path);
        tg_spec_free(s);
        return CLI_USAGE;
    }

    cli_model cm = {0};
    cli_ckpt_info info = {0};
    tg_model_state *st = NULL;
    tg_tape *tape = NULL;
    int64_t *ids = NULL;
    cli_ranked *rank = NULL;
    int status = cli_model_load(cmd, &cm, s, ckpt, &info);
    if (status) goto done;
    status = CLI_FAIL;
    const cli_vocab *v = &info.vocab;
    int id_of[256];
    for (int c = 0; c < 256; c++) id_of[c] = -1;
    for (int k = 0; k < v->n_bytes; k++) id_of[v->bytes[k]] = k;
    if (!v->n_bytes) {
        cli_error(cmd, "%s: no character vocabulary in the checkpoint", ckpt);
        goto done;
    }
    size_t np = strlen(prime);
    for (size_t i = 0; i < np; i++)
        if (id_of[(unsigned char)prime[i]] < 0) {
            bad_prime(cmd, prime, np, i);
            status = CLI_USAGE;
            goto done;
        }
    int64_t V = cm.model->output_size, end_id = id_of[CLI_END_BYTE], cond = 0;
    if (cond_name && (cond = cli_label_id(v, cond_name, strlen(cond_name))) < 0) {
        cli_error(cmd, "--condition: '%s' is not one of the model's %lld labels (%s%s)", cond_name,
                  (long long)v->labels.n, v->labels.n ? v->labels.s[0] : "",
                  v->labels.n > 1 ? ", ..." : "");
        status = CLI_USAGE;
        goto done;
    }
    st = tg_model_state_new(cm.model);
    tape = tg_tape_new();
    ids = malloc((np + 1) * sizeof *ids);
    rank = malloc((size_t)V * sizeof *rank);
    if (!st || !tape || !ids || !rank) {
        cli_error(cmd, "out of memory");
        goto done;
    }
    tg_set_grad_enabled(tape, false);
    /* Start where a text starts: after an end marker (a conditioned model's
     * texts all do) or, without a primer, after a line break (not printed). */
    int64_t n0 = 0;
    if (cond_name || !np) ids[n0++] = end_id >= 0 ? end_id : id_of['\n'] >= 0 ? id_of['\n'] : 0;
    for (size_t i = 0; i < np; i++) ids[n0++] = id_of[(unsigned char)prime[i]];
    tg_rng r;
    tg_rng_seed(&r, (uint64_t)seed);
    for (int64_t k = 0; k < count; k++) {
        tg_model_state_reset(st);
        tg_tape_reset(tape);
        tg_model_batch b = {.T = n0, .B = 1, .ids = ids, .cond = cond_name ? &cond : NULL};
        tg_model_output out;
        if (tg_model_forward(tape, cm.model, &b, st, &out)) {
            cli_error(cmd, "%s", tg_tape_error(tape));
            goto done;
        }
        fwrite(prime, 1, np, stdout);
        /* logits of the last step: row n0-1 of [n0, 1, V] (any layout: B = 1) */
        tg_tensor *z = tg_contiguous(tape, out.output);
        for (int64_t i = 0; i < length && z; i++) {
            int64_t next = pick(z->data + (z->numel - V), V, temp, top_k, &r, rank);
            if (next == end_id) break;
            fputc(v->bytes[next], stdout);
            fflush(stdout);
            tg_tape_reset(tape);
            z = tg_model_step(tape, cm.model, &next, NULL, 1, st);
        }
        fputc('\n', stdout);
        if (tg_tape_error(tape)) {
            cli_error(cmd, "%s", tg_tape_error(tape));
            goto done;
        }
    }
    status = CLI_OK;
done:
    free(ids);
    free(rank);
    tg_tape_free(tape);
    tg_model_state_free(st);
    cli_model_free(&cm);
    cli_ckpt_info_free(&info);
    tg_spec_free(s);
    return status;
}
