/* tapegrad sample: text from a trained language model, one character at a
 * time: p = softmax(z / T) over the logits z (T the temperature), optionally
 * only over the k largest, greedy at T = 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/fastmath.h" /* tg_exp_n */
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

/* The next id from logits z[V]: at temperature 0 the most likely (the
 * lowest id among equals); else drawn from softmax(z / temp) over every id
 * in id order, or over the k most likely (ranked, ties by id) when
 * 0 < k < V. Only top-k sorts: a draw over all V costs one pass of exp.
 * rank: room for V entries; p: for V weights. */
static int64_t pick(const tg_real *z, int64_t V, double temp, int64_t k, tg_rng *r,
                    cli_ranked *rank, tg_real *p) {
    int64_t best = 0;
    for (int64_t i = 1; i < V; i++)
        if (z[i] > z[best]) best = i;
    if (temp == 0) return best;
    bool ranked = k > 0 && k < V;
    int64_t n = ranked ? k : V;
    if (ranked) {
        for (int64_t i = 0; i < V; i++) rank[i] = (cli_ranked){(double)z[i], i};
        cli_rank(rank, V); /* most likely first; ties by id */
    }
    double sum = 0, zmax = (double)z[best];
    for (int64_t i = 0; i < n; i++)
        p[i] = (tg_real)(((double)z[ranked ? rank[i].id : i] - zmax) / temp);
    /* the weights by the vectorised exp: libm's, a call per entry, was a
     * sixth of the instructions a character takes outside the products */
    tg_exp_n(p, p, n);
    for (int64_t i = 0; i < n; i++) sum += p[i];
    double u = tg_rng_uniform(r) * sum;
    int64_t last = 0; /* the last candidate with weight: where rounding lands */
    for (int64_t i = 0; i < n; i++) {
        if (p[i] > 0) last = i;
        u -= p[i];
        if (u < 0) return ranked ? rank[i].id : i;
    }
    return ranked ? rank[last].id : last;
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

/* The command line. */
typedef struct sample_args {
    const char *spec, *ckpt, *prime, *cond_name;
    int64_t length, top_k, seed, threads, count;
    double temp;
} sample_args;

/* Everything one run holds; sampler_free releases it. */
typedef struct sampler {
    const char *cmd;
    sample_args a;
    tg_spec *s;
    cli_model cm;
    cli_ckpt_info info;
    tg_model_state *st;
    tg_tape *tape;
    int64_t *ids; /* the start: [n0] */
    int64_t n0;
    cli_ranked *rank; /* [V] */
    tg_real *p;       /* [V]: pick's weights */
    bool flush_each;  /* a character at a time to a terminal; buffered elsewhere */
    int id_of[256];   /* a byte's id, -1 when not in the vocabulary */
    int64_t V, end_id, cond;
} sampler;

/* The options, and the spec of the checkpoint's model, whose sample section
 * gives the defaults. */
static int parse_args(const char *cmd, int argc, char **argv, sample_args *a, tg_spec **spec) {
    cli_option opts[] = {
        {"--checkpoint", CLI_STR, &a->ckpt, 0, 0, false},
        {"--prime", CLI_STR, &a->prime, 0, 0, false},
        {"--length", CLI_INT, &a->length, 0, 1e12, false},
        {"--temperature", CLI_REAL, &a->temp, 0, 1e6, false},
        {"--top-k", CLI_INT, &a->top_k, 0, 1e9, false},
        {"--condition", CLI_STR, &a->cond_name, 0, 0, false},
        {"--count", CLI_INT, &a->count, 1, 1e9, false},
        {"--seed", CLI_INT, &a->seed, 0, 9007199254740992.0, false},
        {"--threads", CLI_INT, &a->threads, 1, 1024, false},
    };
    int nopt = (int)(sizeof opts / sizeof *opts), got = 0;
    int rc = cli_parse(cmd, argc, argv, opts, nopt, &a->spec, 1, &got, HELP);
    if (rc) return rc;
    tg_spec *s = cli_checkpoint_spec(cmd, got, a->ckpt, a->threads, a->spec, TG_TASK_LANGUAGE_MODEL,
                                     "language models");
    if (!s) return CLI_USAGE;
    if (!cli_given(opts, nopt, "--length")) a->length = s->sample.length;
    if (!cli_given(opts, nopt, "--temperature")) a->temp = s->sample.temperature;
    if (!cli_given(opts, nopt, "--seed")) a->seed = (int64_t)s->sample.seed;
    if (!a->prime) a->prime = s->sample.prime ? s->sample.prime : "";
    if (!s->cond_size != !a->cond_name) {
        cli_error(cmd,
                  s->cond_size ? "%s: the model is conditioned (input.condition): give "
                                 "--condition LABEL"
                               : "%s: --condition needs a conditioned model (input.condition)",
                  a->spec);
        tg_spec_free(s);
        return CLI_USAGE;
    }
    *spec = s;
    return 0;
}

/* The model and its vocabulary; the primer and the condition must be in it. */
static int load(sampler *r) {
    const char *cmd = r->cmd, *prime = r->a.prime, *cond_name = r->a.cond_name;
    int status = cli_model_load(cmd, &r->cm, r->s, r->a.ckpt, &r->info);
    if (status) return status;
    const cli_vocab *v = &r->info.vocab;
    for (int c = 0; c < 256; c++) r->id_of[c] = -1;
    for (int k = 0; k < v->n_bytes; k++) r->id_of[v->bytes[k]] = k;
    if (!v->n_bytes) {
        cli_error(cmd, "%s: no character vocabulary in the checkpoint", r->a.ckpt);
        return CLI_FAIL;
    }
    size_t np = strlen(prime);
    for (size_t i = 0; i < np; i++)
        if (r->id_of[(unsigned char)prime[i]] < 0) {
            bad_prime(cmd, prime, np, i);
            return CLI_USAGE;
        }
    r->V = r->cm.model->output_size, r->end_id = r->id_of[CLI_END_BYTE], r->cond = 0;
    if (cond_name && (r->cond = cli_label_id(v, cond_name, strlen(cond_name))) < 0) {
        cli_error(cmd, "--condition: '%s' is not one of the model's %lld labels (%s%s)", cond_name,
                  (long long)v->labels.n, v->labels.n ? v->labels.s[0] : "",
                  v->labels.n > 1 ? ", ..." : "");
        return CLI_USAGE;
    }
    return 0;
}

/* A state, a tape without gradients, and the ids every sample starts from. */
static int start(sampler *r) {
    const char *prime = r->a.prime;
    size_t np = strlen(prime);
    r->st = tg_model_state_new(r->cm.model);
    r->tape = tg_tape_new();
    r->ids = malloc((np + 1) * sizeof *r->ids);
    r->rank = malloc((size_t)r->V * sizeof *r->rank);
    r->p = malloc((size_t)r->V * sizeof *r->p);
    r->flush_each = isatty(STDOUT_FILENO);
    if (!r->st || !r->tape || !r->ids || !r->rank || !r->p) {
        cli_error(r->cmd, "out of memory");
        return CLI_FAIL;
    }
    tg_set_grad_enabled(r->tape, false);
    tg_tape_set_params_fixed(r->tape, true); /* the weights stay as loaded */
    /* Start where a text starts: after an end marker (a conditioned model's
     * texts all do) or, without a primer, after a line break (not printed). */
    const int *id_of = r->id_of;
    if (r->a.cond_name || !np)
        r->ids[r->n0++] = r->end_id >= 0 ? r->end_id : id_of['\n'] >= 0 ? id_of['\n'] : 0;
    for (size_t i = 0; i < np; i++) r->ids[r->n0++] = id_of[(unsigned char)prime[i]];
    return 0;
}

/* One sample: the primer, then characters until --length or the end
 * marker, and a line break. */
static int generate(sampler *r, tg_rng *rng) {
    tg_tape *tape = r->tape;
    size_t np = strlen(r->a.prime);
    int64_t V = r->V;
    tg_model_state_reset(r->st);
    tg_tape_reset(tape);
    tg_model_batch b = {
        .T = r->n0, .B = 1, .ids = r->ids, .cond = r->a.cond_name ? &r->cond : NULL};
    tg_model_output out;
    if (tg_model_forward(tape, r->cm.model, &b, r->st, &out)) {
        cli_error(r->cmd, "%s", tg_tape_error(tape));
        return CLI_FAIL;
    }
    fwrite(r->a.prime, 1, np, stdout);
    /* logits of the last step: row n0-1 of [n0, 1, V] (any layout: B = 1) */
    tg_tensor *z = tg_contiguous(tape, out.output);
    for (int64_t i = 0; i < r->a.length && z; i++) {
        int64_t next =
            pick(z->data + (z->numel - V), V, r->a.temp, r->a.top_k, rng, r->rank, r->p);
        if (next == r->end_id) break;
        fputc(r->info.vocab.bytes[next], stdout);
        if (r->flush_each) fflush(stdout);
        tg_tape_reset(tape);
        z = tg_model_step(tape, r->cm.model, &next, NULL, 1, r->st);
    }
    fputc('\n', stdout);
    if (tg_tape_error(tape)) {
        cli_error(r->cmd, "%s", tg_tape_error(tape));
        return CLI_FAIL;
    }
    return 0;
}

static void sampler_free(sampler *r) {
    free(r->ids);
    free(r->rank);
    free(r->p);
    tg_tape_free(r->tape);
    tg_model_state_free(r->st);
    cli_model_free(&r->cm);
    cli_ckpt_info_free(&r->info);
    tg_spec_free(r->s);
}

int cli_sample(int argc, char **argv) {
    static const char cmd[] = "sample";
    sample_args a = {.count = 1};
    tg_spec *s = NULL;
    int rc = parse_args(cmd, argc, argv, &a, &s);
    if (rc) return rc < 0 ? CLI_OK : rc;
    sampler run = {.cmd = cmd, .a = a, .s = s}, *r = &run;
    int status = load(r);
    if (!status) status = start(r);
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)r->a.seed);
    for (int64_t k = 0; !status && k < r->a.count; k++) status = generate(r, &rng);
    sampler_free(r);
    return status;
}
