/* A model trained by `tapegrad train`, loaded back through the library: the
 * spec builds the model, the checkpoint (safetensors) gives the parameters
 * by name, and its metadata the vocabulary and the class names, so words
 * map to the ids they had in training (docs/cli.md, "checkpoints").
 * Shared by the example programs that look inside a trained model: langid's
 * confusion matrix, postag's per-token report, the sunspots forecasts.
 * Header-only (static inline). */
#ifndef EXAMPLES_CKPT_H
#define EXAMPLES_CKPT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

typedef struct ex_strs {
    char **s; /* by id */
    int64_t n;
    int64_t *by_name; /* ids sorted by name, for lookups */
} ex_strs;

typedef struct ex_ckpt {
    tg_spec *spec;
    tg_model *model;
    ex_strs words;  /* classify, tag: "<pad>", "<unk>", then the training words */
    ex_strs labels; /* classify, tag: class names by id */
} ex_ckpt;

static const ex_strs *ex_sort_ctx;
static inline int ex_cmp_id(const void *a, const void *b) {
    return strcmp(ex_sort_ctx->s[*(const int64_t *)a], ex_sort_ctx->s[*(const int64_t *)b]);
}

/* Decodes the checkpoint's hex list (names joined by '\n'). */
static inline int ex_strs_unhex(ex_strs *l, const char *hex) {
    size_t len = hex ? strlen(hex) : 0;
    memset(l, 0, sizeof *l);
    if (!hex || len % 2) return hex ? -1 : 0;
    char *raw = malloc(len / 2 + 1);
    if (!raw) return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(raw);
            return -1;
        }
        raw[i] = (char)v;
    }
    raw[len / 2] = '\0';
    int64_t n = len ? 1 : 0;
    for (size_t i = 0; i < len / 2; i++) n += raw[i] == '\n';
    l->s = calloc((size_t)n + 1, sizeof *l->s);
    l->by_name = calloc((size_t)n + 1, sizeof *l->by_name);
    if (!l->s || !l->by_name) {
        free(raw);
        return -1;
    }
    for (char *p = raw, *next; len && p; p = next) {
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        l->by_name[l->n] = l->n;
        l->s[l->n++] = strdup(p);
    }
    free(raw);
    ex_sort_ctx = l;
    qsort(l->by_name, (size_t)l->n, sizeof *l->by_name, ex_cmp_id);
    return 0;
}

/* The id of name, or -1. */
static inline int64_t ex_strs_find(const ex_strs *l, const char *name) {
    int64_t lo = 0, hi = l->n - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        int c = strcmp(l->s[l->by_name[mid]], name);
        if (!c) return l->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static inline void ex_strs_free(ex_strs *l) {
    for (int64_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    free(l->by_name);
    memset(l, 0, sizeof *l);
}

static inline void ex_ckpt_close(ex_ckpt *c) {
    tg_model_free(c->model);
    tg_spec_free(c->spec);
    ex_strs_free(&c->words);
    ex_strs_free(&c->labels);
    memset(c, 0, sizeof *c);
}

/* Loads spec and checkpoint; the model is in evaluation mode. Returns 0,
 * or -1 with a message in err. */
static inline int ex_ckpt_open(ex_ckpt *c, const char *spec_path, const char *ckpt_path, char *err,
                               size_t errlen) {
    memset(c, 0, sizeof *c);
    if (!(c->spec = tg_spec_load(spec_path, err, errlen))) return -1;
    tg_st_file *f = tg_safetensors_open(ckpt_path, err, errlen);
    if (!f) return -1;
    int rc = -1;
    if (ex_strs_unhex(&c->words, tg_safetensors_meta(f, "tapegrad.cli.vocab_words")) ||
        ex_strs_unhex(&c->labels, tg_safetensors_meta(f, "tapegrad.cli.labels"))) {
        snprintf(err, errlen, "%.300s: bad vocabulary in the metadata", ckpt_path);
        goto done;
    }
    if (c->spec->input == TG_INPUT_TOKENS && !c->spec->vocab_given &&
        tg_spec_set_vocab(c->spec, c->words.n, err, errlen) != 0)
        goto done;
    tg_rng r;
    tg_rng_seed(&r, 1);
    if (!(c->model = tg_model_new(c->spec, &r, err, errlen))) goto done;
    const tg_params *p = tg_module_params(&c->model->base);
    for (int i = 0; i < p->n; i++) {
        const tg_tensor *t = tg_safetensors_get(f, p->items[i].name);
        if (!t || !tg_copy(p->items[i].tensor, t)) {
            snprintf(err, errlen, "%.300s: %.100s is %s", ckpt_path, p->items[i].name,
                     t ? "of another shape than the spec's" : "missing");
            goto done;
        }
    }
    tg_module_train(&c->model->base, false);
    rc = 0;
done:
    tg_safetensors_close(f);
    if (rc) ex_ckpt_close(c);
    return rc;
}

/* A word's input id as training numbered it ("<unk>", 1, if unknown). */
static inline int64_t ex_word_id(const ex_ckpt *c, const char *w) {
    int64_t id = ex_strs_find(&c->words, w);
    return id < 0 ? 1 : id;
}

#endif
