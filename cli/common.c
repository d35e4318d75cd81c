/* Shared by the subcommands: messages, options, the model of a spec. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "../core/jsoncheck.h" /* tg_json_nearest */

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tapegrad %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- options -------------------------------------------------------------------- */

static int bad_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tapegrad %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'tapegrad %s --help')\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

static int set_value(const char *cmd, cli_option *o, const char *v) {
    char *end;
    if (o->kind == CLI_STR) {
        *(const char **)o->value = v;
        return 0;
    }
    if (o->kind == CLI_INT) {
        long long n = strtoll(v, &end, 10);
        if (end == v || *end || n < o->lo || n > o->hi)
            return bad_usage(cmd, "%s: expected an integer in [%.0f, %.0f], got '%s'", o->name,
                             o->lo, o->hi, v);
        *(int64_t *)o->value = n;
        return 0;
    }
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x) || x < o->lo || x > o->hi)
        return bad_usage(cmd, "%s: expected a number in [%g, %g], got '%s'", o->name, o->lo, o->hi,
                         v);
    *(double *)o->value = x;
    return 0;
}

/* Whether help names every option of the parser's table and no other (a
 * word "--name" in it), so that the two cannot drift apart: after --help,
 * a mismatch is reported (tests/cli/test_usage.c runs every --help). */
static bool help_matches(const char *cmd, const cli_option *opts, int n_opts, const char *help) {
    bool ok = true;
    for (int k = 0; k < n_opts; k++) {
        const char *p = help;
        size_t len = strlen(opts[k].name);
        while ((p = strstr(p, opts[k].name)) && (p[len] == '-' || isalnum((unsigned char)p[len])))
            p += len;
        if (!p) {
            cli_error(cmd, "internal: --help does not describe %s", opts[k].name);
            ok = false;
        }
    }
    for (const char *p = strstr(help, "--"); p; p = strstr(p + 2, "--")) {
        size_t len = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
        bool known = len == 6 && strncmp(p, "--help", 6) == 0;
        for (int k = 0; k < n_opts && !known; k++)
            known = strlen(opts[k].name) == len && strncmp(opts[k].name, p, len) == 0;
        if (!known && len > 2) {
            cli_error(cmd, "internal: --help describes %.*s, which the parser does not take",
                      (int)len, p);
            ok = false;
        }
    }
    return ok;
}

int cli_parse(const char *cmd, int argc, char **argv, cli_option *opts, int n_opts,
              const char **pos, int n_pos, int *got, const char *help) {
    int n = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            if (n == n_pos) return bad_usage(cmd, "unexpected argument '%s'", a);
            pos[n++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(help, stdout);
            return help_matches(cmd, opts, n_opts, help) ? -1 : CLI_FAIL;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        cli_option *o = NULL;
        for (int k = 0; k < n_opts && !o; k++)
            if (strlen(opts[k].name) == len && strncmp(opts[k].name, a, len) == 0) o = &opts[k];
        if (!o) {
            const char *names[64];
            char name[64];
            int m = n_opts < 63 ? n_opts : 63;
            for (int k = 0; k < m; k++) names[k] = opts[k].name;
            names[m] = NULL;
            snprintf(name, sizeof name, "%.*s", (int)len, a);
            int near = tg_json_nearest(name, names);
            if (near >= 0)
                return bad_usage(cmd, "unknown option '%s'; did you mean '%s'?", name, names[near]);
            return bad_usage(cmd, "unknown option '%s'", name);
        }
        if (o->given) return bad_usage(cmd, "%s given twice", o->name);
        o->given = true;
        if (o->kind == CLI_FLAG) {
            if (eq) return bad_usage(cmd, "%s takes no value", o->name);
            *(bool *)o->value = true;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return bad_usage(cmd, "%s needs a value", o->name);
        int rc = set_value(cmd, o, v);
        if (rc) return rc;
    }
    *got = n;
    return 0;
}

bool cli_given(const cli_option *opts, int n_opts, const char *name) {
    for (int k = 0; k < n_opts; k++)
        if (strcmp(opts[k].name, name) == 0) return opts[k].given;
    return false;
}

/* ---- the model of a spec ------------------------------------------------------------ */

tg_spec *cli_load_spec(const char *cmd, const char *path) {
    char err[TG_SPEC_MAX_ERRORS * 512];
    tg_spec *s = tg_spec_load(path, err, sizeof err);
    for (char *line = s ? NULL : err, *nl; line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n'))) *nl = '\0'; /* every error, each with the prefix */
        cli_error(cmd, "%s", line);
    }
    return s;
}

tg_spec *cli_checkpoint_spec(const char *cmd, int got, const char *ckpt, int64_t threads,
                             const char *path, int task, const char *models) {
    if (!got || !ckpt) {
        cli_error(cmd, "%s is required (see 'tapegrad %s --help')", got ? "--checkpoint" : "SPEC",
                  cmd);
        return NULL;
    }
    if (threads) tg_set_threads((int)threads);
    tg_spec *s = cli_load_spec(cmd, path);
    if (s && task >= 0 && (int)s->task != task) {
        cli_error(cmd, "%s: task %s: %s is for %s", path, tg_task_name(s->task), cmd, models);
        tg_spec_free(s);
        return NULL;
    }
    return s;
}

int cli_set_vocab(const char *cmd, tg_spec *s, const cli_vocab *v) {
    if (s->input == TG_INPUT_VECTORS) return 0;
    int64_t n = cli_vocab_size(v);
    char err[1024];
    if (s->vocab_given && n <= s->vocab) return 0; /* ids fit; some rows unused */
    if (s->vocab_given) {
        cli_error(cmd, "%s: input.vocab: %lld does not cover the data's vocabulary of %lld symbols",
                  s->file, (long long)s->vocab, (long long)n);
        return CLI_USAGE;
    }
    if (tg_spec_set_vocab(s, n, err, sizeof err) ||
        (s->task == TG_TASK_SEQ2SEQ && tg_spec_set_target_vocab(s, v->labels.n, err, sizeof err))) {
        cli_error(cmd, "%s", err);
        return CLI_USAGE;
    }
    return 0;
}

int cli_model_build(const char *cmd, cli_model *cm, tg_spec *s, uint64_t seed) {
    char err[1024];
    *cm = (cli_model){.spec = s};
    tg_rng r;
    tg_rng_seed(&r, seed);
    cm->model = tg_model_new(s, &r, err, sizeof err);
    if (!cm->model) {
        cli_error(cmd, "%s", err);
        return CLI_USAGE;
    }
    const tg_params *p = tg_module_params(&cm->model->base);
    cm->n = p->n, cm->params = p->items;
    cm->tensors = malloc((size_t)(p->n ? p->n : 1) * sizeof *cm->tensors);
    if (!cm->tensors) {
        cli_error(cmd, "out of memory");
        return CLI_FAIL;
    }
    for (int i = 0; i < p->n; i++) cm->tensors[i] = p->items[i].tensor;
    return 0;
}

void cli_model_free(cli_model *cm) {
    tg_model_free(cm->model);
    free(cm->tensors);
    *cm = (cli_model){0};
}

double cli_grad_norm(const cli_model *cm) {
    double sum = 0;
    for (int i = 0; i < cm->n; i++) {
        const tg_tensor *t = cm->tensors[i];
        for (int64_t k = 0; t->grad && k < t->numel; k++) sum += (double)t->grad[k] * t->grad[k];
    }
    return sqrt(sum);
}

static int by_score(const void *a, const void *b) {
    const cli_ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

void cli_rank(cli_ranked *r, int64_t n) {
    qsort(r, (size_t)n, sizeof *r, by_score);
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *cli_duration(double seconds, char *buf, size_t n) {
    long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, n, "%lds", s);
    return buf;
}

int cli_model_load(const char *cmd, cli_model *cm, tg_spec *s, const char *ckpt,
                   cli_ckpt_info *info) {
    char err[1024];
    if (cli_ckpt_info_read(ckpt, info, err, sizeof err)) {
        cli_error(cmd, "%s", err);
        return CLI_FAIL;
    }
    int rc = cli_set_vocab(cmd, s, &info->vocab);
    if (!rc) rc = cli_model_build(cmd, cm, s, info->seed);
    if (!rc && cli_ckpt_load(ckpt, cm, NULL, NULL, err, sizeof err)) {
        cli_error(cmd, "%s", err);
        rc = CLI_FAIL;
    }
    if (!rc) tg_module_train(&cm->model->base, false);
    return rc;
}
