/* The tape as a Graphviz picture (tg_tape_dot): a box per node, scopes
 * ("lstm.l0.t3") as nested clusters, parameters drawn once outside them
 * for all their uses, and an edge for every read of a tensor. */
#include "inspect.h"

#include <stdlib.h>
#include <string.h>

/* s inside a double-quoted DOT string. */
static void dot_str(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

/* Scopes as a tree: each distinct path, its parent path, its nodes. */
typedef struct scope_tree {
    const char **path; /* distinct scope paths, parents before children */
    int *parent, *first_child, *next_sibling, *first_node;
    int n, cap;
    int *next_node; /* per node: the next node of the same scope */
} scope_tree;

static void scope_tree_free(scope_tree *s) {
    free(s->path), free(s->parent), free(s->first_child), free(s->next_sibling);
    free(s->first_node), free(s->next_node);
}

/* Index of the scope whose path is the first len bytes of p, added (with
 * its ancestors) if new; -1 for the top level, -2 when out of memory. */
static int scope_index(scope_tree *s, const char *p, size_t len) {
    if (len == 0) return -1;
    for (int k = 0; k < s->n; k++)
        if (strlen(s->path[k]) == len && memcmp(s->path[k], p, len) == 0) return k;
    size_t cut = len;
    while (cut > 0 && p[cut - 1] != '.') cut--;
    int parent = scope_index(s, p, cut ? cut - 1 : 0); /* recursion: one per nesting level */
    if (parent == -2) return -2;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
#define GROW(field)                                                                                \
    do {                                                                                           \
        void *more = realloc((void *)s->field, (size_t)cap * sizeof *s->field);                    \
        if (!more) return -2;                                                                      \
        s->field = more;                                                                           \
    } while (0)
        GROW(path);
        GROW(parent);
        GROW(first_child);
        GROW(next_sibling);
        GROW(first_node);
#undef GROW
        s->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -2;
    memcpy(copy, p, len);
    copy[len] = '\0';
    int k = s->n++;
    s->path[k] = copy, s->parent[k] = parent, s->first_child[k] = -1;
    s->next_sibling[k] = -1, s->first_node[k] = -1;
    /* append to the parent's children, keeping first-use order */
    if (parent >= 0) {
        int *link = &s->first_child[parent];
        while (*link >= 0) link = &s->next_sibling[*link];
        *link = k;
    }
    return k;
}

static const char *last_part(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* What the drawing functions share. */
typedef struct dot_ctx {
    FILE *f;
    const tg__look *l;
    const scope_tree *s;
    const tg_dot_options *o;
    const int *home; /* per leaf: the scope it is drawn in, or -1 */
} dot_ctx;

static void dot_node(const dot_ctx *d, size_t i, int depth) {
    FILE *f = d->f;
    const tg_node *nd = tg__node(d->l->tape, i);
    char name[160], shape[TG_SHAPE_STR_MAX], vals[160];
    fprintf(f, "%*sn%zu [label=\"#%zu", 2 * depth, "", i, i);
    const char *shown = d->o->flat ? tg__node_name(nd, name, sizeof name) : nd->label;
    if (shown && *shown) fputc(' ', f), dot_str(f, shown);
    fprintf(f, "\\n%s %s", tg__op_name(nd->op),
            tg_shape_str(tg_tensor_shape(nd->out), shape, sizeof shape));
    if (d->o->values)
        fputs("\\n", f), dot_str(f, tg__values(nd->out, false, TG__SHOWN, vals, sizeof vals));
    if (d->o->grads && nd->out->grad)
        fprintf(f, "\\n|grad| %.4g", tg__norm(nd->out->grad, nd->out->numel));
    fprintf(f, "\"];\n");
}

static void dot_leaf(const dot_ctx *d, const tg__leaf *lf, int depth) {
    FILE *f = d->f;
    char shape[TG_SHAPE_STR_MAX], vals[160];
    fprintf(f, "%*s%s [shape=box, style=\"%s\", fillcolor=\"%s\", label=\"", 2 * depth, "", lf->id,
            lf->param ? "filled" : "filled,dashed", lf->param ? "#ffe8a3" : "#eeeeee");
    dot_str(f, lf->x->name ? lf->x->name : lf->id);
    fprintf(f, "\\n%s", tg_shape_str(tg_tensor_shape(lf->x), shape, sizeof shape));
    if (d->o->values)
        fputs("\\n", f), dot_str(f, tg__values(lf->x, false, TG__SHOWN, vals, sizeof vals));
    if (d->o->grads && lf->x->grad)
        fprintf(f, "\\n|grad| %.4g", tg__norm(lf->x->grad, lf->x->numel));
    fprintf(f, "\"];\n");
}

static void dot_cluster(const dot_ctx *d, int k, int depth) {
    const scope_tree *s = d->s;
    fprintf(d->f, "%*ssubgraph cluster_%d {\n%*slabel=\"", 2 * depth, "", k, 2 * depth + 2, "");
    dot_str(d->f, last_part(s->path[k]));
    fprintf(d->f, "\";\n");
    for (int j = 0; j < d->l->n_leaf; j++)
        if (d->home[j] == k) dot_leaf(d, &d->l->leaf[j], depth + 1);
    for (int i = s->first_node[k]; i >= 0; i = s->next_node[i]) dot_node(d, (size_t)i, depth + 1);
    for (int c = s->first_child[k]; c >= 0; c = s->next_sibling[c])
        dot_cluster(d, c, depth + 1); /* recursion as deep as the scopes nest */
    fprintf(d->f, "%*s}\n", 2 * depth, "");
}

int tg_tape_dot(const tg_tape *t, FILE *f, const tg_dot_options *opt) {
    if (!t || !f) return -1;
    tg_dot_options o = opt ? *opt : (tg_dot_options){0};
    tg__look l;
    if (tg__look_init(&l, t) != 0) return -1;
    scope_tree s = {0};
    int *scope_of = calloc(l.n + 1, sizeof *scope_of);
    int *home = malloc(((size_t)l.n_leaf + 1) * sizeof *home);
    s.next_node = malloc((l.n + 1) * sizeof *s.next_node);
    int status = scope_of && home && s.next_node ? 0 : -1;
    /* each node's scope (consecutive nodes mostly share the path pointer) */
    const char *last = NULL;
    int last_k = -1;
    for (size_t i = 0; i < l.n && status == 0 && !o.flat; i++) {
        const char *p = tg__node(t, i)->scope ? tg__node(t, i)->scope : "";
        if (p != last) last_k = scope_index(&s, p, strlen(p)), last = p;
        if (last_k == -2) status = -1;
        scope_of[i] = last_k;
    }
    if (status != 0) goto done;
    /* Parameters stand outside every scope, drawn once for all their uses;
     * data read only inside one scope (a step's input) is drawn in it. */
    for (int k = 0; k < l.n_leaf; k++) home[k] = -2;
    for (size_t i = 0; i < l.n; i++) {
        const tg_node *nd = tg__node(t, i);
        for (int a = 0; a < nd->n_in; a++) {
            int k = tg__ptrmap_get(&l.map, nd->in[a]);
            if (k < 0) continue;
            int here = o.flat || l.leaf[k].param ? -1 : scope_of[i];
            home[k] = home[k] == -2 || home[k] == here ? here : -1;
        }
    }
    for (int k = 0; k < s.n; k++) s.first_node[k] = -1;
    for (size_t i = l.n; i-- > 0;) { /* each scope's nodes in execution order */
        int k = o.flat ? -1 : scope_of[i];
        if (k >= 0) s.next_node[i] = s.first_node[k], s.first_node[k] = (int)i;
    }

    dot_ctx d = {.f = f, .l = &l, .s = &s, .o = &o, .home = home};
    fprintf(f, "digraph tape {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
               "  edge [color=\"#555555\"];\n");
    if (o.title) fputs("  label=\"", f), dot_str(f, o.title), fputs("\";\n  labelloc=t;\n", f);
    for (int k = 0; k < s.n; k++)
        if (s.parent[k] < 0) dot_cluster(&d, k, 1);
    fputs("  // outside any scope: parameters (each drawn once) and shared data\n", f);
    for (int k = 0; k < l.n_leaf; k++)
        if (home[k] < 0) dot_leaf(&d, &l.leaf[k], 1);
    for (size_t i = 0; i < l.n; i++)
        if (o.flat || scope_of[i] < 0) dot_node(&d, i, 1);
    fputs("  // data flow: every read of a tensor is an edge\n", f);
    for (size_t i = 0; i < l.n; i++) {
        const tg_node *nd = tg__node(t, i);
        for (int k = 0; k < nd->n_in; k++) {
            int j = tg__node_of(&l, nd->in[k]);
            const tg__leaf *lf = j < 0 ? tg__leaf_of(&l, nd->in[k]) : NULL;
            if (j >= 0)
                fprintf(f, "  n%d -> n%zu;\n", j, i);
            else if (lf)
                fprintf(f, "  %s -> n%zu;\n", lf->id, i);
        }
    }
    fputs("}\n", f);
    status = ferror(f) ? -1 : 0;
done:
    for (int k = 0; k < s.n; k++) free((void *)s.path[k]);
    scope_tree_free(&s);
    free(scope_of);
    free(home);
    tg__look_free(&l);
    return status;
}
