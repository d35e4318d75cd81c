/* Trees: the bracketed reader (a loop over characters with an explicit stack
 * of open brackets) and writing trees back. Vocabularies are in
 * tree_vocab.c, level schedules in tree_batch.c. */
#include "tree.h"

#include "../core/core.h"

#include <stdlib.h>
#include <string.h>

/* ---- growable arrays ------------------------------------------------------ */
typedef struct vec {
    int64_t *a;
    int64_t n, cap;
} vec;

static bool vec_push(vec *v, int64_t x) {
    if (v->n == v->cap) {
        int64_t cap = v->cap ? 2 * v->cap : 64;
        int64_t *a = realloc(v->a, (size_t)cap * sizeof *a);
        if (!a) return false;
        v->a = a, v->cap = cap;
    }
    v->a[v->n++] = x;
    return true;
}

typedef struct text {
    char *a;
    int64_t n, cap;
} text;

/* Appends s[0 .. len) and a NUL; returns the offset, or -1. */
static int64_t text_add(text *t, const char *s, size_t len) {
    if (t->n + (int64_t)len + 1 > t->cap) {
        int64_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + (int64_t)len + 1) cap *= 2;
        char *a = realloc(t->a, (size_t)cap);
        if (!a) return -1;
        t->a = a, t->cap = cap;
    }
    int64_t off = t->n;
    memcpy(t->a + off, s, len);
    t->a[off + (int64_t)len] = '\0';
    t->n += (int64_t)len + 1;
    return off;
}

/* ---- the tree --------------------------------------------------------------- */
void tg_tree_free(tg_tree *tr) {
    if (!tr) return;
    free(tr->label);
    free(tr->child_off);
    free(tr->child);
    free(tr->parent);
    free(tr->token);
    free(tr->id);
    free(tr->line);
    free(tr->col);
    free(tr->text);
    free(tr);
}

void tg_treebank_free(tg_treebank *b) {
    if (!b) return;
    for (int64_t i = 0; i < b->n; i++) tg_tree_free(b->trees[i]);
    free(b->trees);
    free(b);
}

/* ---- the reader ----------------------------------------------------------- */

/* An open bracket. Up to two atoms (label, token) come before its subtrees;
 * whether a lone first atom is a label or a token is only known when the
 * node's first subtree or its ')' arrives. */
typedef struct frame {
    int64_t child_base; /* height of the child stack when the node opened */
    int32_t line, col;  /* of its '(' */
    int n_atoms;
    int64_t atom[2]; /* offsets in the tree's text */
    int32_t atom_line[2], atom_col[2];
    bool has_children;
    int64_t label;
} frame;

typedef struct reader {
    const char *prefix; /* "file: " or "" */
    char *err;
    size_t errlen;
    bool leaf_labels_optional;
    /* the tree being read */
    vec label, child_off, child, token, line, col;
    text txt;
    /* open brackets and the finished children of the open nodes */
    frame *stack;
    int64_t depth, cap;
    vec kids;
    /* finished trees */
    tg_tree **trees;
    int64_t n_trees, cap_trees;
} reader;

static void reader_free(reader *r) {
    free(r->label.a);
    free(r->child_off.a);
    free(r->child.a);
    free(r->token.a);
    free(r->line.a);
    free(r->col.a);
    free(r->txt.a);
    free(r->stack);
    free(r->kids.a);
    for (int64_t i = 0; i < r->n_trees; i++) tg_tree_free(r->trees[i]);
    free(r->trees);
}

#define FAIL_AT(r, ln, cl, ...)                                                                    \
    do {                                                                                           \
        char msg_[256];                                                                            \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                                                  \
        tg_error_set((r)->err, (r)->errlen, "%sline %d, column %d: %s", (r)->prefix, (int)(ln),    \
                     (int)(cl), msg_);                                                             \
        return false;                                                                              \
    } while (0)
#define OOM(r)                                                                                     \
    do {                                                                                           \
        tg_error_set((r)->err, (r)->errlen, "%sout of memory", (r)->prefix);                       \
        return false;                                                                              \
    } while (0)

/* A label: decimal digits only, at most 18 of them (no overflow). */
static bool parse_label(const char *s, int64_t *out) {
    size_t n = strlen(s);
    if (n == 0 || n > 18) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The first atom of f must be a label; sets f->label. */
static bool first_atom_is_label(reader *r, frame *f) {
    const char *s = r->txt.a + f->atom[0];
    if (parse_label(s, &f->label)) return true;
    size_t n = strlen(s);
    bool digits = n > 0;
    for (size_t i = 0; i < n; i++) digits &= s[i] >= '0' && s[i] <= '9';
    if (digits) FAIL_AT(r, f->atom_line[0], f->atom_col[0], "label %.40s is out of range", s);
    FAIL_AT(r, f->atom_line[0], f->atom_col[0],
            "expected a non-negative integer label, got '%.40s'", s);
}

static bool on_open(reader *r, int32_t line, int32_t col) {
    if (r->depth > 0) {
        frame *p = &r->stack[r->depth - 1];
        if (!p->has_children) {
            p->has_children = true;
            if (p->n_atoms == 1 && !first_atom_is_label(r, p)) return false;
        }
    }
    if (r->depth == r->cap) {
        int64_t cap = r->cap ? 2 * r->cap : 64;
        frame *s = realloc(r->stack, (size_t)cap * sizeof *s);
        if (!s) OOM(r);
        r->stack = s, r->cap = cap;
    }
    r->stack[r->depth++] =
        (frame){.child_base = r->kids.n, .line = line, .col = col, .label = TG_TREE_NO_LABEL};
    return true;
}

static bool on_atom(reader *r, const char *s, size_t len, int32_t line, int32_t col) {
    if (r->depth == 0)
        FAIL_AT(r, line, col, "expected '(' to start a tree, got '%.*s'",
                (int)(len > 40 ? 40 : len), s);
    frame *f = &r->stack[r->depth - 1];
    if (f->has_children)
        FAIL_AT(r, line, col,
                "token '%.*s' after a subtree: a node's label and token come before its "
                "subtrees",
                (int)(len > 40 ? 40 : len), s);
    if (f->n_atoms == 2)
        FAIL_AT(r, line, col, "unexpected '%.*s': a node holds at most a label and one token",
                (int)(len > 40 ? 40 : len), s);
    int64_t off = text_add(&r->txt, s, len);
    if (off < 0) OOM(r);
    f->atom[f->n_atoms] = off;
    f->atom_line[f->n_atoms] = line;
    f->atom_col[f->n_atoms] = col;
    if (++f->n_atoms == 2 && !first_atom_is_label(r, f)) return false;
    return true;
}

/* Moves the finished tree out of the reader's arrays into a tg_tree. */
static bool finish_tree(reader *r) {
    int64_t n = r->label.n;
    tg_tree *tr = calloc(1, sizeof *tr);
    if (!tr) OOM(r);
    tr->n = n;
    tr->label = malloc((size_t)n * sizeof *tr->label);
    tr->child_off = malloc((size_t)(n + 1) * sizeof *tr->child_off);
    tr->child = malloc((size_t)(n > 1 ? n - 1 : 1) * sizeof *tr->child);
    tr->parent = malloc((size_t)n * sizeof *tr->parent);
    tr->token = malloc((size_t)n * sizeof *tr->token);
    tr->id = malloc((size_t)n * sizeof *tr->id);
    tr->line = malloc((size_t)n * sizeof *tr->line);
    tr->col = malloc((size_t)n * sizeof *tr->col);
    if (!tr->label || !tr->child_off || !tr->child || !tr->parent || !tr->token || !tr->id ||
        !tr->line || !tr->col) {
        tg_tree_free(tr);
        OOM(r);
    }
    tr->text = r->txt.a; /* the tokens' storage moves into the tree */
    r->txt = (text){0};
    int64_t *height = tr->id; /* borrowed as scratch until the ids are reset */
    tr->height = 0;
    for (int64_t i = 0; i < n; i++) {
        tr->label[i] = r->label.a[i];
        tr->child_off[i] = r->child_off.a[i];
        tr->token[i] = r->token.a[i] >= 0 ? tr->text + r->token.a[i] : NULL;
        tr->line[i] = (int32_t)r->line.a[i];
        tr->col[i] = (int32_t)r->col.a[i];
        tr->parent[i] = -1;
        height[i] = 0;
        int64_t end = i + 1 < n ? r->child_off.a[i + 1] : r->child.n;
        for (int64_t k = r->child_off.a[i]; k < end; k++) {
            int64_t c = r->child.a[k];
            tr->parent[c] = i;
            if (height[c] + 1 > height[i]) height[i] = height[c] + 1;
        }
    }
    tr->height = height[n - 1];
    tr->child_off[n] = n - 1;
    if (n > 1) memcpy(tr->child, r->child.a, (size_t)(n - 1) * sizeof *tr->child);
    for (int64_t i = 0; i < n; i++) tr->id[i] = -1;
    r->label.n = r->child_off.n = r->child.n = r->token.n = r->line.n = r->col.n = 0;
    r->kids.n = 0;
    if (r->n_trees == r->cap_trees) {
        int64_t cap = r->cap_trees ? 2 * r->cap_trees : 16;
        tg_tree **t = realloc(r->trees, (size_t)cap * sizeof *t);
        if (!t) {
            tg_tree_free(tr);
            OOM(r);
        }
        r->trees = t, r->cap_trees = cap;
    }
    r->trees[r->n_trees++] = tr;
    return true;
}

static bool on_close(reader *r, int32_t line, int32_t col) {
    if (r->depth == 0) FAIL_AT(r, line, col, "unmatched ')'");
    frame *f = &r->stack[r->depth - 1];
    int64_t token = -1;
    if (!f->has_children) { /* a leaf */
        if (f->n_atoms == 0) FAIL_AT(r, f->line, f->col, "empty node ()");
        if (f->n_atoms == 1) {
            if (!r->leaf_labels_optional)
                FAIL_AT(r, f->line, f->col, "leaf (%.40s) has no label: a leaf is (LABEL TOKEN)",
                        r->txt.a + f->atom[0]);
            token = f->atom[0];
        } else {
            token = f->atom[1];
        }
    } else if (f->n_atoms == 2) {
        token = f->atom[1];
    }
    int64_t i = r->label.n; /* post-order number */
    if (!vec_push(&r->label, f->label) || !vec_push(&r->child_off, r->child.n) ||
        !vec_push(&r->token, token) || !vec_push(&r->line, f->line) || !vec_push(&r->col, f->col))
        OOM(r);
    for (int64_t k = f->child_base; k < r->kids.n; k++)
        if (!vec_push(&r->child, r->kids.a[k])) OOM(r);
    r->kids.n = f->child_base;
    r->depth--;
    if (r->depth == 0) return finish_tree(r);
    if (!vec_push(&r->kids, i)) OOM(r);
    return true;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

tg_treebank *tg_treebank_parse(const char *src, size_t len, const char *filename,
                               const tg_tree_read_options *opt, char *err, size_t errlen) {
    char prefix[256] = "";
    if (filename) snprintf(prefix, sizeof prefix, "%s: ", filename);
    reader r = {.prefix = prefix,
                .err = err,
                .errlen = errlen,
                .leaf_labels_optional = opt && opt->leaf_labels_optional};
    int32_t line = 1, col = 1;
    bool ok = src || len == 0;
    if (!ok) tg_error_set(err, errlen, "%sno text (NULL)", prefix);
    size_t i = 0;
    while (ok && i < len) {
        char c = src[i];
        if (c == '\n') {
            line++, col = 1, i++;
        } else if (is_space(c)) {
            col++, i++;
        } else if (c == '(') {
            ok = on_open(&r, line, col);
            col++, i++;
        } else if (c == ')') {
            ok = on_close(&r, line, col);
            col++, i++;
        } else if (c == '\0') {
            tg_error_set(err, errlen, "%sline %d, column %d: unexpected NUL byte", prefix,
                         (int)line, (int)col);
            ok = false;
        } else {
            size_t j = i;
            while (j < len && !is_space(src[j]) && src[j] != '(' && src[j] != ')' && src[j] != '\0')
                j++;
            ok = on_atom(&r, src + i, j - i, line, col);
            col += (int32_t)(j - i), i = j;
        }
    }
    if (ok && r.depth > 0) {
        tg_error_set(
            err, errlen,
            "%sline %d, column %d: '(' is never closed (the input ends at line %d, column %d "
            "with %lld bracket%s open)",
            prefix, (int)r.stack[0].line, (int)r.stack[0].col, (int)line, (int)col,
            (long long)r.depth, r.depth == 1 ? "" : "s");
        ok = false;
    }
    if (ok && r.n_trees == 0) {
        tg_error_set(err, errlen, "%sempty input: no tree", prefix);
        ok = false;
    }
    tg_treebank *b = ok ? calloc(1, sizeof *b) : NULL;
    if (ok && !b) tg_error_set(err, errlen, "%sout of memory", prefix);
    if (b) {
        b->n = r.n_trees, b->trees = r.trees;
        r.trees = NULL, r.n_trees = 0;
    }
    reader_free(&r);
    return b;
}

tg_treebank *tg_treebank_load(const char *path, const tg_tree_read_options *opt, char *err,
                              size_t errlen) {
    size_t n;
    tg_read_error why;
    char *buf = tg_read_file(path, 0, &n, &why);
    if (!buf && why.what == TG_READ_OPEN)
        return tg_error_set(err, errlen, "%s: cannot open: %s", path, strerror(why.errnum));
    if (!buf)
        return tg_error_set(err, errlen, "%s: %s", path,
                            why.what == TG_READ_IO ? "read error" : "out of memory");
    tg_treebank *b = tg_treebank_parse(buf, n, path, opt, err, errlen);
    free(buf);
    return b;
}

tg_tree *tg_tree_parse(const char *text, const tg_tree_read_options *opt, char *err,
                       size_t errlen) {
    tg_treebank *b = tg_treebank_parse(text, text ? strlen(text) : 0, NULL, opt, err, errlen);
    if (!b) return NULL;
    tg_tree *tr = NULL;
    if (b->n == 1)
        tr = b->trees[0], b->n = 0;
    else
        tg_error_set(err, errlen, "expected one tree, found %lld", (long long)b->n);
    tg_treebank_free(b);
    return tr;
}

int64_t tg_treebank_max_label(const tg_treebank *b) {
    int64_t m = -1;
    for (int64_t k = 0; k < b->n; k++)
        for (int64_t i = 0; i < b->trees[k]->n; i++)
            if (b->trees[k]->label[i] > m) m = b->trees[k]->label[i];
    return m;
}

/* Pre-order with an explicit stack of (node, next child). */
int tg_tree_write(FILE *f, const tg_tree *tr) {
    int64_t *stack = malloc((size_t)(tr->height + 1) * 2 * sizeof *stack);
    if (!stack) return -1;
    int64_t depth = 0;
    bool open = true; /* the node on top still needs its '(' */
    stack[0] = tr->n - 1, stack[1] = 0, depth = 1;
    while (depth > 0) {
        int64_t v = stack[2 * (depth - 1)], *k = &stack[2 * (depth - 1) + 1];
        if (open) {
            fputc('(', f);
            if (tr->label[v] != TG_TREE_NO_LABEL) fprintf(f, "%lld", (long long)tr->label[v]);
            if (tr->token[v])
                fprintf(f, "%s%s", tr->label[v] != TG_TREE_NO_LABEL ? " " : "", tr->token[v]);
            open = false;
        }
        if (tr->child_off[v] + *k < tr->child_off[v + 1]) {
            /* "( (1 a) ...)" would read the same; "((1 a) ...)" is the usual form */
            if (*k > 0 || tr->label[v] != TG_TREE_NO_LABEL || tr->token[v]) fputc(' ', f);
            int64_t c = tr->child[tr->child_off[v] + (*k)++];
            stack[2 * depth] = c, stack[2 * depth + 1] = 0, depth++;
            open = true;
        } else {
            fputc(')', f);
            depth--;
        }
    }
    free(stack);
    return ferror(f) ? -1 : 0;
}
