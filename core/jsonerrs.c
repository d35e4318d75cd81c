/* Every error of a JSON document at once (tg_json_collect): messages kept
 * with where their path lies in the document, then written out in
 * document order. A path ("model.layers[1].hidden", "a[\"odd key\"]") is
 * walked through the document: each step's index among its parent's
 * members is one digit of the sort key. */
#include "json_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_DEPTH = 8 };

typedef struct kept {
    char *msg;
    int key[KEY_DEPTH]; /* member indices from the root; -1 past the end of the path */
    int seq;            /* order of arrival, for ties */
} kept;

struct tg_jerrs {
    const cJSON *root;
    int n, max, total;
    kept *list; /* [max] */
};

tg_jerrs *tg_json_collect(tg_jctx *c, const cJSON *root, int max) {
    tg_jerrs *e = calloc(1, sizeof *e);
    if (e) e->list = calloc((size_t)(max > 0 ? max : 1), sizeof *e->list);
    if (!e || !e->list) {
        free(e);
        return c->errs = NULL;
    }
    e->root = root, e->max = max > 0 ? max : 1;
    return c->errs = e;
}

/* The next step of path at *p: a key (into name) or an index; false at
 * the end. */
static bool next_step(const char **p, char *name, size_t n, int *index) {
    const char *s = *p;
    if (*s == '.') s++;
    if (!*s) return false;
    *index = -1, name[0] = '\0';
    if (s[0] == '[' && s[1] == '"') { /* ["key"], escaped: taken as written */
        const char *end = strstr(s + 2, "\"]");
        size_t len = end ? (size_t)(end - s - 2) : strlen(s + 2);
        snprintf(name, n, "%.*s", (int)len, s + 2);
        *p = end ? end + 2 : s + strlen(s);
    } else if (s[0] == '[') {
        *index = atoi(s + 1);
        const char *end = strchr(s, ']');
        *p = end ? end + 1 : s + strlen(s);
    } else {
        size_t len = strcspn(s, ".[");
        if (strcmp(s + len, "...") == 0) len += 3; /* a key cut short ends the path */
        snprintf(name, n, "%.*s", (int)len, s);
        *p = s + len;
    }
    return true;
}

static void key_of(const cJSON *root, const char *path, int *key) {
    for (int d = 0; d < KEY_DEPTH; d++) key[d] = -1;
    const cJSON *v = root;
    char name[TG_JSON_PATH_MAX];
    int index;
    for (int d = 0; d < KEY_DEPTH && path && next_step(&path, name, sizeof name, &index); d++) {
        int k = 0;
        const cJSON *child = v ? v->child : NULL;
        size_t len = strlen(name); /* a name cut short for messages ends in "..." */
        bool cut = len > 3 && strcmp(name + len - 3, "...") == 0;
        for (; child; child = child->next, k++)
            if (index >= 0 ? k == index
                           : child->string && (cut ? strncmp(child->string, name, len - 3) == 0
                                                   : strcmp(child->string, name) == 0))
                break;
        key[d] = k; /* not found: the end of its parent */
        v = child;
        if (cut) break;
    }
}

void tg__json_keep(tg_jerrs *e, const char *path, const char *msg) {
    int seq = e->total++;
    if (e->n == e->max) return;
    kept *k = &e->list[e->n];
    if (!(k->msg = malloc(strlen(msg) + 1))) return;
    strcpy(k->msg, msg);
    key_of(e->root, path, k->key);
    k->seq = seq;
    e->n++;
}

static int by_place(const void *a, const void *b) {
    const kept *x = a, *y = b;
    for (int d = 0; d < KEY_DEPTH; d++)
        if (x->key[d] != y->key[d]) return x->key[d] < y->key[d] ? -1 : 1;
    return x->seq - y->seq;
}

int tg_json_collected(tg_jctx *c) {
    tg_jerrs *e = c->errs;
    if (!e) return c->err && c->errlen && c->err[0] ? 1 : 0;
    qsort(e->list, (size_t)e->n, sizeof *e->list, by_place);
    size_t used = 0;
    if (c->err && c->errlen) c->err[0] = '\0';
    for (int i = 0; i < e->n; i++) {
        if (c->err && used < c->errlen)
            used += (size_t)snprintf(c->err + used, c->errlen - used, "%s%s", i ? "\n" : "",
                                     e->list[i].msg);
        free(e->list[i].msg);
    }
    if (e->total > e->n && c->err && used < c->errlen)
        snprintf(c->err + used, c->errlen - used, "\n... and %d more", e->total - e->n);
    int total = e->total;
    free(e->list);
    free(e);
    c->errs = NULL;
    return total;
}
