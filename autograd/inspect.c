/* Looking at a recorded step: a table (tg_tape_print), a Graphviz picture
 * (tg_tape_dot) and a JSON trace (tg_tape_json). The tape is already in
 * execution order, so each is a loop over its nodes; parameters and data
 * have no node and are gathered once each, in order of first use. */
#include "inspect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared helpers (also used by stepper.c) ---------------------------- */

static size_t hash_ptr(const void *p, size_t cap) {
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

int tg__ptrmap_get(const tg__ptrmap *m, const void *key) {
    if (!m->cap) return -1;
    for (size_t i = hash_ptr(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (m->keys[i] == key) return m->vals[i];
    }
}

int tg__ptrmap_put(tg__ptrmap *m, const void *key, int val) {
    if (2 * (m->n + 1) > m->cap) { /* grow at half full */
        tg__ptrmap bigger = {.cap = m->cap ? 2 * m->cap : 64};
        bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
        bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
        if (!bigger.keys || !bigger.vals) {
            tg__ptrmap_free(&bigger);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) tg__ptrmap_put(&bigger, m->keys[i], m->vals[i]);
        tg__ptrmap_free(m);
        *m = bigger;
    }
    size_t i = hash_ptr(key, m->cap);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void tg__ptrmap_free(tg__ptrmap *m) {
    free(m->keys);
    free(m->vals);
    *m = (tg__ptrmap){0};
}

int tg__node_of(const tg__look *l, const tg_tensor *x) {
    /* x->node alone could be stale (a tensor from before a reset) */
    if (x->node < 0 || (size_t)x->node >= l->n) return -1;
    return tg__node(l->tape, (size_t)x->node)->out == x ? x->node : -1;
}

const tg__leaf *tg__leaf_of(const tg__look *l, const tg_tensor *x) {
    int k = tg__ptrmap_get(&l->map, x);
    return k < 0 ? NULL : &l->leaf[k];
}

int tg__look_init(tg__look *l, const tg_tape *t) {
    *l = (tg__look){.tape = t, .n = tg_tape_node_count(t)};
    int cap = 0, n_data = 0;
    for (size_t i = 0; i < l->n; i++) {
        const tg_node *nd = tg__node(t, i);
        for (int k = 0; k < nd->n_in; k++) {
            tg_tensor *x = nd->in[k];
            if (tg__node_of(l, x) >= 0 || tg__ptrmap_get(&l->map, x) >= 0) continue;
            if (l->n_leaf == cap) {
                cap = cap ? 2 * cap : 16;
                tg__leaf *more = realloc(l->leaf, (size_t)cap * sizeof *more);
                if (!more) goto oom;
                l->leaf = more;
            }
            tg__leaf *lf = &l->leaf[l->n_leaf];
            lf->x = x;
            lf->param = x->requires_grad;
            snprintf(lf->id, sizeof lf->id, "%c%d", lf->param ? 'p' : 'c',
                     lf->param ? l->n_param : n_data);
            lf->param ? l->n_param++ : n_data++;
            if (tg__ptrmap_put(&l->map, x, l->n_leaf++) != 0) goto oom;
        }
    }
    return 0;
oom:
    tg__look_free(l);
    return -1;
}

void tg__look_free(tg__look *l) {
    free(l->leaf);
    tg__ptrmap_free(&l->map);
    *l = (tg__look){0};
}

const char *tg__ref(const tg__look *l, const tg_tensor *x, char *buf, size_t n) {
    int j = tg__node_of(l, x);
    const tg__leaf *lf = j < 0 ? tg__leaf_of(l, x) : NULL;
    if (j >= 0)
        snprintf(buf, n, "#%d", j);
    else if (lf)
        snprintf(buf, n, "%s", x->name ? x->name : lf->id);
    else
        snprintf(buf, n, "?");
    return buf;
}

const char *tg__node_name(const tg_node *nd, char *buf, size_t n) {
    const char *s = nd->scope ? nd->scope : "", *lb = nd->label ? nd->label : "";
    snprintf(buf, n, "%s%s%s", s, *s && *lb ? "." : "", lb);
    return buf;
}

const char *tg__reals(const tg_real *v, int64_t numel, int k, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (int64_t i = 0; i < numel && i < k && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%.4g", i ? " " : "", (double)v[i]);
    if (numel > k && used < n) snprintf(buf + used, n - used, " ...");
    return buf;
}

const char *tg__values(const tg_tensor *x, bool grad, int k, char *buf, size_t n) {
    if (grad) return tg__reals(x->grad, x->numel, k, buf, n);
    tg_real v[16];
    int m = k < 16 ? k : 16;
    for (int64_t i = 0; i < x->numel && i < m; i++) v[i] = tg_at(x, i);
    return tg__reals(v, x->numel, m, buf, n);
}

double tg__norm(const tg_real *g, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)g[i] * (double)g[i];
    return sqrt(s);
}

/* ---- the table ---------------------------------------------------------- */

#define SHOWN 4 /* values per tensor in the table and the picture */

enum { C_IDX, C_NAME, C_OP, C_IN, C_SHAPE, C_VAL, C_GRAD, N_COLS };

/* One row's cells for node i (or leaf -1-i). */
static void node_cells(const tg__look *l, size_t i, char cell[N_COLS][160]) {
    const tg_node *nd = tg__node(l->tape, i);
    char ref[64];
    snprintf(cell[C_IDX], 160, "%zu", i);
    tg__node_name(nd, cell[C_NAME], 160);
    snprintf(cell[C_OP], 160, "%s", tg__op_name(nd->op));
    size_t used = 0;
    cell[C_IN][0] = '\0';
    for (int k = 0; k < nd->n_in; k++) {
        tg__ref(l, nd->in[k], ref, sizeof ref);
        if (used + strlen(ref) + 1 > 60) { /* a long list (stack, concat) is cut */
            snprintf(cell[C_IN] + used, 160 - used, " ...");
            break;
        }
        used += (size_t)snprintf(cell[C_IN] + used, 160 - used, "%s%s", k ? " " : "", ref);
    }
    tg_shape_str(tg_tensor_shape(nd->out), cell[C_SHAPE], 160);
    tg__values(nd->out, false, SHOWN, cell[C_VAL], 160);
    if (nd->out->grad)
        snprintf(cell[C_GRAD], 160, "%.4g", tg__norm(nd->out->grad, nd->out->numel));
    else
        snprintf(cell[C_GRAD], 160, "-");
}

static void leaf_cells(const tg__leaf *lf, char cell[N_COLS][160]) {
    snprintf(cell[C_IDX], 160, "%s", lf->id);
    snprintf(cell[C_NAME], 160, "%s", lf->x->name ? lf->x->name : "");
    snprintf(cell[C_OP], 160, "%s", lf->param ? "param" : "data");
    cell[C_IN][0] = '\0';
    tg_shape_str(tg_tensor_shape(lf->x), cell[C_SHAPE], 160);
    tg__values(lf->x, false, SHOWN, cell[C_VAL], 160);
    if (lf->x->grad)
        snprintf(cell[C_GRAD], 160, "%.4g", tg__norm(lf->x->grad, lf->x->numel));
    else
        snprintf(cell[C_GRAD], 160, "-");
}

static void print_row(FILE *f, char cell[N_COLS][160], const int *w, bool inputs) {
    fprintf(f, "%*s  %-*s  %-*s  ", w[C_IDX], cell[C_IDX], w[C_NAME], cell[C_NAME], w[C_OP],
            cell[C_OP]);
    if (inputs) fprintf(f, "%-*s  ", w[C_IN], cell[C_IN]);
    fprintf(f, "%-*s  %-*s  %s\n", w[C_SHAPE], cell[C_SHAPE], w[C_VAL], cell[C_VAL], cell[C_GRAD]);
}

static void widen(int *w, char cell[N_COLS][160]) {
    for (int c = 0; c < N_COLS; c++) {
        int len = (int)strlen(cell[c]);
        if (len > w[c]) w[c] = len;
    }
}

int tg_tape_print(const tg_tape *t, FILE *f) {
    if (!t || !f) return -1;
    tg__look l;
    if (tg__look_init(&l, t) != 0) return -1;
    static char head[N_COLS][160] = {"#", "name", "op", "inputs", "shape", "value", "|grad|"};
    static char lhead[N_COLS][160] = {"id", "name", "kind", "", "shape", "value", "|grad|"};
    char cell[N_COLS][160];
    int w[N_COLS] = {0};
    widen(w, head);
    widen(w, lhead);
    for (size_t i = 0; i < l.n; i++) node_cells(&l, i, cell), widen(w, cell);
    for (int k = 0; k < l.n_leaf; k++) leaf_cells(&l.leaf[k], cell), widen(w, cell);

    fprintf(f, "tape: %zu nodes; %d parameters and %d data tensors feed them\n", l.n, l.n_param,
            l.n_leaf - l.n_param);
    if (tg_tape_error(t)) fprintf(f, "tape in error: %s\n", tg_tape_error(t));
    print_row(f, head, w, true);
    for (size_t i = 0; i < l.n; i++) node_cells(&l, i, cell), print_row(f, cell, w, true);
    if (l.n_leaf) {
        fprintf(f, "\ninputs that are not nodes:\n");
        print_row(f, lhead, w, false);
        for (int k = 0; k < l.n_leaf; k++)
            leaf_cells(&l.leaf[k], cell), print_row(f, cell, w, false);
    }
    tg__look_free(&l);
    return ferror(f) ? -1 : 0;
}

/* ---- Graphviz --------------------------------------------------------------- */

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
        fputs("\\n", f), dot_str(f, tg__values(nd->out, false, SHOWN, vals, sizeof vals));
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
        fputs("\\n", f), dot_str(f, tg__values(lf->x, false, SHOWN, vals, sizeof vals));
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

/* ---- JSON trace ----------------------------------------------------------- */

void tg__json_str(FILE *f, const char *s) {
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* enough digits to read the same number back */
#ifdef TG_DOUBLE
#define JSON_DIGITS 17
#else
#define JSON_DIGITS 9
#endif

void tg__json_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.*g", JSON_DIGITS, v);
    else
        fputs("null", f);
}

static void json_reals(FILE *f, const tg_tensor *x, bool grad) {
    if (grad && !x->grad) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    for (int64_t i = 0; i < x->numel && i < TG_TRACE_MAX_VALUES; i++) {
        if (i) fputs(", ", f);
        tg__json_num(f, grad ? (double)x->grad[i] : (double)tg_at(x, i));
    }
    fputc(']', f);
}

/* Fields every tensor entry has, after its own. */
static void json_tensor(FILE *f, const tg_tensor *x) {
    fputs(", \"shape\": [", f);
    for (int d = 0; d < x->ndim; d++) fprintf(f, "%s%lld", d ? ", " : "", (long long)x->shape[d]);
    fprintf(f, "], \"numel\": %lld, \"values\": ", (long long)x->numel);
    json_reals(f, x, false);
    fputs(", \"grad\": ", f);
    json_reals(f, x, true);
    fputs(", \"grad_norm\": ", f);
    if (x->grad)
        tg__json_num(f, tg__norm(x->grad, x->numel));
    else
        fputs("null", f);
    fprintf(f, ", \"truncated\": %s}", x->numel > TG_TRACE_MAX_VALUES ? "true" : "false");
}

void tg__json_id(FILE *f, const tg__look *l, const tg_tensor *x) {
    int j = tg__node_of(l, x);
    const tg__leaf *lf = j < 0 ? tg__leaf_of(l, x) : NULL;
    if (j >= 0)
        fprintf(f, "\"n%d\"", j);
    else
        fprintf(f, "\"%s\"", lf ? lf->id : "?");
}

int tg_tape_json(const tg_tape *t, FILE *f) {
    if (!t || !f) return -1;
    tg__look l;
    if (tg__look_init(&l, t) != 0) return -1;
    fprintf(f, "{\"format\": \"tapegrad-trace\", \"version\": 1, \"real\": \"%s\", \"error\": ",
            TG_REAL_NAME);
    tg__json_str(f, tg_tape_error(t));
    fputs(",\n\"nodes\": [", f);
    char name[256];
    for (size_t i = 0; i < l.n; i++) {
        const tg_node *nd = tg__node(t, i);
        fprintf(f,
                "%s\n {\"id\": \"n%zu\", \"index\": %zu, \"op\": \"%s\", \"scope\": ", i ? "," : "",
                i, i, tg__op_name(nd->op));
        tg__json_str(f, nd->scope ? nd->scope : "");
        fputs(", \"label\": ", f);
        tg__json_str(f, nd->label);
        fputs(", \"name\": ", f);
        tg__json_str(f, tg__node_name(nd, name, sizeof name));
        fputs(", \"inputs\": [", f);
        for (int k = 0; k < nd->n_in; k++) {
            if (k) fputs(", ", f);
            tg__json_id(f, &l, nd->in[k]);
        }
        fputc(']', f);
        json_tensor(f, nd->out);
    }
    fputs("],\n\"leaves\": [", f);
    for (int k = 0; k < l.n_leaf; k++) {
        const tg__leaf *lf = &l.leaf[k];
        fprintf(f, "%s\n {\"id\": \"%s\", \"kind\": \"%s\", \"name\": ", k ? "," : "", lf->id,
                lf->param ? "param" : "data");
        tg__json_str(f, lf->x->name);
        json_tensor(f, lf->x);
    }
    fputs("],\n\"edges\": [", f);
    bool first = true;
    for (size_t i = 0; i < l.n; i++) {
        const tg_node *nd = tg__node(t, i);
        for (int k = 0; k < nd->n_in; k++, first = false) {
            fprintf(f, "%s\n {\"from\": ", first ? "" : ",");
            tg__json_id(f, &l, nd->in[k]);
            fprintf(f, ", \"to\": \"n%zu\", \"arg\": %d}", i, k);
        }
    }
    fputs("]}\n", f);
    tg__look_free(&l);
    return ferror(f) ? -1 : 0;
}
