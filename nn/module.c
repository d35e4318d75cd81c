/* Named parameter lists and the shared part of every module. */
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tg_params_init(tg_params *p) { *p = (tg_params){0}; }

int tg_params_add(tg_params *p, const char *name, tg_tensor *t) {
    if (!name || !t || tg_params_find(p, name)) return -1;
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        tg_named *items = realloc(p->items, (size_t)cap * sizeof *items);
        if (!items) return -1;
        p->items = items, p->cap = cap;
    }
    char *copy = malloc(strlen(name) + 1);
    if (!copy) return -1;
    strcpy(copy, name);
    p->items[p->n++] = (tg_named){copy, t};
    return 0;
}

int tg_params_extend(tg_params *dst, const char *prefix, const tg_params *src) {
    for (int i = 0; i < src->n; i++) {
        char name[512];
        int len = snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "",
                           src->items[i].name);
        if (len < 0 || (size_t)len >= sizeof name) return -1;
        if (tg_params_add(dst, name, src->items[i].tensor) != 0) return -1;
    }
    return 0;
}

tg_tensor *tg_params_find(const tg_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0) return p->items[i].tensor;
    return NULL;
}

int64_t tg_params_numel(const tg_params *p) {
    int64_t n = 0;
    for (int i = 0; i < p->n; i++) n += p->items[i].tensor->numel;
    return n;
}

void tg_params_zero_grad(const tg_params *p) {
    for (int i = 0; i < p->n; i++) tg_zero_grad(p->items[i].tensor);
}

void tg_params_free(tg_params *p) {
    for (int i = 0; i < p->n; i++) free((char *)p->items[i].name);
    free(p->items);
    *p = (tg_params){0};
}

int tg_params_save(const tg_params *p, const char *path, char *err, size_t errlen) {
    return tg_safetensors_save(path, p->n, p->items, 0, NULL, err, errlen);
}

int tg_params_load(const tg_params *p, const char *path, char *err, size_t errlen) {
    return tg_safetensors_load_into(path, p->n, p->items, err, errlen);
}

void tg_module_train(tg_module *m, bool on) {
    if (!m) return;
    m->training = on;
    for (int i = 0; i < m->n_children; i++) tg_module_train(m->children[i], on);
}

const tg_params *tg_module_params(const tg_module *m) { return &m->params; }
int64_t tg_module_numel(const tg_module *m) { return tg_params_numel(&m->params); }
void tg_module_zero_grad(tg_module *m) { tg_params_zero_grad(&m->params); }

void tg_module_free(tg_module *m) {
    if (!m) return;
    for (int i = 0; i < m->n_children; i++) tg_module_free(m->children[i]);
    free(m->children);
    for (int i = 0; i < m->n_owned; i++) tg_tensor_free(m->owned[i]);
    free(m->owned);
    tg_params_free(&m->params);
    if (m->destroy) m->destroy(m);
    free(m);
}

tg_tensor *tg_module_param(tg_module *m, const char *name, tg_shape s) {
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? m->cap_owned * 2 : 8;
        tg_tensor **owned = realloc(m->owned, (size_t)cap * sizeof *owned);
        if (!owned) return NULL;
        m->owned = owned, m->cap_owned = cap;
    }
    tg_tensor *t = tg_param_new(s);
    if (!t) return NULL;
    if (tg_params_add(&m->params, name, t) != 0) {
        tg_tensor_free(t);
        return NULL;
    }
    m->owned[m->n_owned++] = t;
    t->name = m->params.items[m->params.n - 1].name;
    return t;
}

int tg_module_add_child(tg_module *m, const char *prefix, tg_module *child) {
    tg_module **children = realloc(m->children, (size_t)(m->n_children + 1) * sizeof *children);
    if (!children) {
        tg_module_free(child); /* the caller gave it away either way */
        return -1;
    }
    m->children = children;
    m->children[m->n_children++] = child;
    int n0 = m->params.n;
    if (tg_params_extend(&m->params, prefix, &child->params) != 0) return -1;
    /* A parameter's label is its path in the model ("emb.weight", as in
     * checkpoints), so pictures and messages tell a layer's "weight" from
     * another's: each level up prefixes it again. */
    for (int k = 0; k < child->params.n; k++) {
        tg_tensor *t = child->params.items[k].tensor;
        if (t->name == child->params.items[k].name) t->name = m->params.items[n0 + k].name;
    }
    return 0;
}
