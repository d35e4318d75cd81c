/* Training checkpoints: one safetensors file (written aside and renamed,
 * so a crash never leaves half a file) holding
 *
 *   <layer>.<param>         the model's parameters (PyTorch's names)
 *   optim.*                 the optimizer's state (tg_optim_state)
 *   state.h.<k>, state.c.<k> the recurrent state carried into the next
 *                           chunk of a language model's streams
 *
 * and in its metadata the optimizer's kind and learning rate (as
 * tg_optim_save writes them, so tg_optim_load reads them), the step, the
 * data file and its checksum, the vocabulary and labels (hex: they may hold
 * any byte), and the dropout generators of the model and of each recurrent
 * layer. Together that is everything a run depends on, so a resumed run
 * continues bit for bit. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define M_STEP "tapegrad.cli.step"
#define M_STEPS "tapegrad.cli.steps"
#define M_POSITION "tapegrad.cli.position"
#define M_DATA "tapegrad.cli.data"
#define M_HASH "tapegrad.cli.data_fnv1a"
#define M_BYTES "tapegrad.cli.data_bytes"
#define M_VOCAB_BYTES "tapegrad.cli.vocab_bytes"
#define M_WORDS "tapegrad.cli.vocab_words"
#define M_LABELS "tapegrad.cli.labels"
#define M_SEED "tapegrad.cli.seed"
#define M_RNG "tapegrad.cli.rng."
#define M_MODEL "tapegrad.cli.model"

/* ---- metadata encodings --------------------------------------------------------- */

static char *hex(const unsigned char *p, size_t n) {
    char *s = malloc(2 * n + 1);
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

/* Decodes hex into a new buffer (*n bytes, NUL-terminated); NULL if bad. */
static unsigned char *unhex(const char *s, size_t *n) {
    size_t len = strlen(s);
    if (len % 2) return NULL;
    unsigned char *p = malloc(len / 2 + 1);
    for (size_t i = 0; p && i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            free(p);
            return NULL;
        }
        p[i] = (unsigned char)v;
    }
    if (p) p[len / 2] = '\0', *n = len / 2;
    return p;
}

/* The strings joined by '\n', in hex. */
static char *hex_list(const cli_strs *l) {
    size_t n = 0;
    for (int64_t i = 0; i < l->n; i++) n += strlen(l->s[i]) + 1;
    char *joined = malloc(n + 1), *p = joined;
    if (!joined) return NULL;
    for (int64_t i = 0; i < l->n; i++) p += sprintf(p, "%s%s", i ? "\n" : "", l->s[i]);
    char *h = hex((unsigned char *)joined, (size_t)(p - joined));
    free(joined);
    return h;
}

static int unhex_list(const char *s, cli_strs *l) {
    size_t n;
    unsigned char *p = unhex(s, &n);
    if (!p) return -1;
    for (size_t a = 0; n && a <= n;) {
        unsigned char *nl = memchr(p + a, '\n', n - a);
        size_t b = nl ? (size_t)(nl - p) : n;
        if (cli_strs_add(l, (char *)p + a, b - a) < 0) {
            free(p);
            return -1;
        }
        a = b + 1;
    }
    free(p);
    return 0;
}

static void rng_text(const tg_rng *r, char *buf, size_t n) {
    uint64_t spare;
    memcpy(&spare, &r->spare, sizeof spare);
    snprintf(buf, n, "%016llx %016llx %016llx %016llx %d %016llx", (unsigned long long)r->s[0],
             (unsigned long long)r->s[1], (unsigned long long)r->s[2], (unsigned long long)r->s[3],
             r->has_spare ? 1 : 0, (unsigned long long)spare);
}

static int rng_parse(const char *text, tg_rng *r) {
    unsigned long long s[4], spare;
    int has;
    char tail;
    if (!text || sscanf(text, "%llx %llx %llx %llx %d %llx%c", &s[0], &s[1], &s[2], &s[3], &has,
                        &spare, &tail) != 6)
        return -1;
    for (int i = 0; i < 4; i++) r->s[i] = s[i];
    r->has_spare = has != 0;
    uint64_t bits = spare;
    memcpy(&r->spare, &bits, sizeof bits);
    return 0;
}

/* The generators a run depends on: the model's (dropout layers) and each
 * recurrent layer's (dropout between stacked layers); for seq2seq the
 * encoder-decoder's (dropout, scheduled sampling) and its encoder's. */
int cli_model_rngs(const tg_model *m, tg_rng **out, char (*names)[64]) {
    int n = 0;
    out[n] = (tg_rng *)&m->rng;
    snprintf(names[n++], 64, M_RNG "model");
    for (int k = 0; k < m->n_layers; k++) {
        if (m->mods[k] && tg_spec_is_rnn_layer(m->layers[k].type)) {
            out[n] = &((tg_rnn *)m->mods[k])->rng;
            snprintf(names[n++], 64, M_RNG "%.40s", m->layers[k].name);
        }
    }
    if (m->s2s) {
        out[n] = &m->s2s->rng, snprintf(names[n++], 64, M_RNG "seq2seq");
        out[n] = &m->s2s->encoder->rng, snprintf(names[n++], 64, M_RNG "encoder");
    }
    return n;
}

/* ---- save -------------------------------------------------------------------------- */

int cli_ckpt_save(const char *path, const cli_model *cm, tg_optim *opt, const tg_model_state *st,
                  const cli_ckpt_info *info, char *err, size_t errlen) {
    const tg_model *m = cm->model;
    int ns = opt ? tg_optim_state(opt, NULL, 0) : 0, nc = st ? 2 * st->n : 0, n = cm->n;
    int nr_max = 3 + m->n_layers;
    tg_named *items = malloc((size_t)(cm->n + ns + nc + 1) * sizeof *items);
    char(*state_names)[48] = malloc((size_t)(nc + 1) * sizeof *state_names);
    char(*rng_names)[64] = malloc((size_t)nr_max * sizeof *rng_names);
    char(*rng_vals)[128] = malloc((size_t)nr_max * sizeof *rng_vals);
    tg_rng **rp = malloc((size_t)nr_max * sizeof *rp);
    const char **meta = malloc((size_t)(2 * (nr_max + 16)) * sizeof *meta);
    char *vb = hex(info->vocab.bytes, (size_t)info->vocab.n_bytes);
    char *vw = hex_list(&info->vocab.words), *vl = hex_list(&info->vocab.labels);
    int rc = -1;
    if (!items || !state_names || !rng_names || !rng_vals || !rp || !meta || !vb || !vw || !vl) {
        cli_fail(err, errlen, "%s: out of memory", path);
        goto done;
    }
    memcpy(items, cm->params, (size_t)cm->n * sizeof *items);
    if (opt) tg_optim_state(opt, items + n, ns), n += ns;
    for (int k = 0; st && k < st->n; k++)
        for (int c = 0; c < 2; c++) {
            tg_tensor *t = c ? st->c[k] : st->h[k];
            if (!t) continue;
            snprintf(state_names[n - cm->n - ns], 48, "state.%c.%d", c ? 'c' : 'h', k);
            items[n] = (tg_named){state_names[n - cm->n - ns], t};
            n++;
        }
    char step[32], steps[32], hash[32], bytes[32], lr[40], pos[64], seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)info->seed);
    snprintf(step, sizeof step, "%lld", (long long)info->step);
    snprintf(steps, sizeof steps, "%lld", (long long)info->steps);
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)info->data_hash);
    snprintf(bytes, sizeof bytes, "%lld", (long long)info->data_bytes);
    snprintf(pos, sizeof pos, "epoch %lld batch %lld", (long long)info->epoch,
             (long long)info->batch);
    int nm = 0;
#define META(k, v) (meta[2 * nm] = (k), meta[2 * nm + 1] = (v), nm++)
    if (opt) {
        snprintf(lr, sizeof lr, "%.17g", tg_optim_lr(opt));
        META("tapegrad.optim", tg_optim_kind(opt));
        META("tapegrad.optim.lr", lr);
    }
    META(M_STEP, step);
    META(M_STEPS, steps);
    META(M_POSITION, pos);
    META(M_DATA, info->data);
    META(M_HASH, hash);
    META(M_BYTES, bytes);
    META(M_SEED, seed);
    if (info->vocab.n_bytes) META(M_VOCAB_BYTES, vb);
    if (info->vocab.words.n) META(M_WORDS, vw);
    if (info->vocab.labels.n) META(M_LABELS, vl);
    if (info->model) META(M_MODEL, info->model);
    int nr = cli_model_rngs(m, rp, rng_names);
    for (int i = 0; i < nr; i++) {
        rng_text(rp[i], rng_vals[i], sizeof rng_vals[i]);
        META(rng_names[i], rng_vals[i]);
    }
#undef META
    rc = tg_safetensors_save(path, n, items, nm, meta, err, errlen);
done:
    free(items);
    free(state_names);
    free(rng_names);
    free(rng_vals);
    free(rp);
    free(meta);
    free(vb);
    free(vw);
    free(vl);
    return rc;
}

/* ---- load ----------------------------------------------------------------------------- */

static int64_t meta_int(const tg_st_file *f, const char *key, bool *ok) {
    const char *v = tg_safetensors_meta(f, key);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || *end || n < 0) *ok = false;
    return n;
}

static int info_from(const tg_st_file *f, const char *path, cli_ckpt_info *info, char *err,
                     size_t errlen) {
    *info = (cli_ckpt_info){0};
    bool ok = true;
    info->step = meta_int(f, M_STEP, &ok);
    info->steps = meta_int(f, M_STEPS, &ok);
    info->data_bytes = meta_int(f, M_BYTES, &ok);
    const char *data = tg_safetensors_meta(f, M_DATA), *hash = tg_safetensors_meta(f, M_HASH);
    const char *seed = tg_safetensors_meta(f, M_SEED);
    if (!ok || !data || !hash || !seed)
        return cli_fail(err, errlen,
                        "%s: not a tapegrad training checkpoint (no %s in its metadata)", path,
                        ok ? (data ? M_HASH : M_DATA) : M_STEP);
    snprintf(info->data, sizeof info->data, "%s", data);
    info->data_hash = strtoull(hash, NULL, 16);
    info->seed = strtoull(seed, NULL, 10);
    const char *model = tg_safetensors_meta(f, M_MODEL);
    if (model && !(info->model = strdup(model)))
        return cli_fail(err, errlen, "%s: out of memory", path);
    const char *vb = tg_safetensors_meta(f, M_VOCAB_BYTES), *vw = tg_safetensors_meta(f, M_WORDS),
               *vl = tg_safetensors_meta(f, M_LABELS);
    if (vb) {
        size_t n;
        unsigned char *p = unhex(vb, &n);
        if (!p || n > 256) {
            free(p);
            cli_ckpt_info_free(info);
            return cli_fail(err, errlen, "%s: bad %s in the metadata", path, M_VOCAB_BYTES);
        }
        memcpy(info->vocab.bytes, p, n);
        info->vocab.n_bytes = (int)n;
        free(p);
    }
    if ((vw && unhex_list(vw, &info->vocab.words)) || (vl && unhex_list(vl, &info->vocab.labels))) {
        cli_ckpt_info_free(info);
        return cli_fail(err, errlen, "%s: bad vocabulary in the metadata", path);
    }
    return 0;
}

int cli_ckpt_info_read(const char *path, cli_ckpt_info *info, char *err, size_t errlen) {
    tg_st_file *f = tg_safetensors_open_header(path, err, errlen); /* metadata only */
    if (!f) return -1;
    int rc = info_from(f, path, info, err, errlen);
    tg_safetensors_close(f);
    return rc;
}

void cli_ckpt_info_free(cli_ckpt_info *info) {
    cli_vocab_free(&info->vocab);
    free(info->model);
    info->model = NULL;
}

int cli_ckpt_load(const char *path, cli_model *cm, tg_optim *opt, tg_model_state *st, char *err,
                  size_t errlen) {
    tg_model *m = cm->model;
    /* the whole file only for the carried state's tensors: the weights and
     * the optimizer's state are read by load_into, once */
    tg_st_file *f =
        st ? tg_safetensors_open(path, err, errlen) : tg_safetensors_open_header(path, err, errlen);
    if (!f) return -1;
    int nr_max = 3 + m->n_layers, rc = -1;
    tg_rng **rp = malloc((size_t)nr_max * sizeof *rp),
           *vals = malloc((size_t)nr_max * sizeof *vals);
    char(*names)[64] = malloc((size_t)nr_max * sizeof *names);
    tg_tensor **carry = calloc((size_t)(2 * m->n_layers + 1), sizeof *carry);
    if (!rp || !vals || !names || !carry) {
        cli_fail(err, errlen, "%s: out of memory", path);
        goto done;
    }
    /* everything that can fail is read aside first */
    int nr = opt ? cli_model_rngs(m, rp, names) : 0;
    for (int i = 0; i < nr; i++)
        if (rng_parse(tg_safetensors_meta(f, names[i]), &vals[i])) {
            cli_fail(err, errlen, "%s: no valid %s in the metadata", path, names[i]);
            goto done;
        }
    for (int k = 0; st && k < st->n; k++)
        for (int c = 0; c < 2; c++) {
            char name[48];
            snprintf(name, sizeof name, "state.%c.%d", c ? 'c' : 'h', k);
            const tg_tensor *t = tg_safetensors_get(f, name);
            if (!t) continue;
            tg_tensor *copy = tg_tensor_new(tg_tensor_shape(t));
            if (!copy) {
                cli_fail(err, errlen, "%s: out of memory", path);
                goto done;
            }
            tg_copy(copy, t);
            carry[2 * k + c] = copy;
        }
    if (opt) {
        if (tg_optim_load(opt, path, cm->n, cm->params)) {
            cli_fail(err, errlen, "%s", tg_optim_error(opt));
            goto done;
        }
    } else if (tg_safetensors_load_into(path, cm->n, cm->params, err, errlen))
        goto done;
    for (int i = 0; i < nr; i++) *rp[i] = vals[i];
    if (st) {
        tg_model_state_reset(st);
        for (int k = 0; k < st->n; k++) {
            st->h[k] = carry[2 * k], st->c[k] = carry[2 * k + 1];
            carry[2 * k] = carry[2 * k + 1] = NULL;
        }
    }
    rc = 0;
done:
    for (int k = 0; carry && k < 2 * m->n_layers; k++) tg_tensor_free(carry[k]);
    free(carry);
    free(rp);
    free(vals);
    free(names);
    tg_safetensors_close(f);
    return rc;
}

/* ---- stale temporary files ---------------------------------------------------------- */

/* Whether name is "<base>.tmp.<pid>" (what tg_safetensors_save writes
 * before its rename) for a process that no longer exists; *pid gets it. */
static bool stale_tmp(const char *name, const char *base, long *pid) {
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0) return false;
    const char *digits = name + n + 5;
    char *end;
    if (!isdigit((unsigned char)*digits)) return false;
    errno = 0;
    *pid = strtol(digits, &end, 10);
    if (*end || errno || *pid <= 0 || *pid == (long)getpid()) return false;
    return kill((pid_t)*pid, 0) != 0 && errno == ESRCH;
}

int cli_ckpt_clean_stale(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    const char *base = slash ? slash + 1 : path;
    DIR *d = opendir(dir);
    int removed = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        long pid;
        char file[8192];
        if (!stale_tmp(e->d_name, base, &pid)) continue;
        snprintf(file, sizeof file, "%s%s%s", dir, slash ? "" : "/", e->d_name);
        if (remove(file) == 0) {
            fprintf(stderr,
                    "tapegrad train: removed %s, left by process %ld (killed while it saved a "
                    "checkpoint)\n",
                    file, pid);
            removed++;
        }
    }
    closedir(d);
    return removed;
}
