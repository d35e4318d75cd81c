/* The equations of a cell, parsed by recursive descent into a flat node
 * list (cell_expr.h). The grammar (docs/spec.md gives it in EBNF):
 *
 *   expr  = term { ("+" | "-") term }
 *   term  = unary { ("*" | "/") unary }
 *   unary = "-" unary | atom
 *   atom  = number | "(" expr ")" | name "(" expr { "," expr } ")"
 *         | name "'" | name "[" digits "]" | name
 *
 * Names resolve against the cell's own (gates, x_g and h_g shares, states,
 * parameters, helper equations) once, here, so a step only indexes. Two
 * numbers are folded here too, so an operation always has a tensor side. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jsoncheck.h"
#include "cell_expr.h"

typedef struct parser {
    tg__cell_def *d;
    const char *s;
    size_t pos;
    int depth;
    int first; /* the equation's first node */
    tg__cx_error *err;
} parser;

static int fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, size_t at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    p->err->col = (int)at + 1;
    return -1;
}

static void skip_space(parser *p) {
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n')
        p->pos++;
}

/* What stands at `at`, quoted for messages: 'x', or "the end". */
static const char *what_at(const parser *p, size_t at, char *buf, size_t n) {
    unsigned char ch = (unsigned char)p->s[at];
    if (!ch) return "the end";
    if (isprint(ch))
        snprintf(buf, n, "'%c'", ch);
    else
        snprintf(buf, n, "byte 0x%02x", ch);
    return buf;
}

static int node(parser *p, tg__cx_node n, size_t at) {
    tg__cell_def *d = p->d;
    if (d->n_nodes - p->first >= TG_CX_MAX_TERMS || d->n_nodes >= TG_CX_MAX_NODES)
        return fail(p, at, "too long: more than %d terms", TG_CX_MAX_TERMS);
    n.col = (int)at + 1;
    d->node[d->n_nodes] = n;
    return d->n_nodes++;
}

static int expr(parser *p);

static bool is_name_char(char ch) {
    return isalnum((unsigned char)ch) || ch == '_';
}

/* digits [. digits] [e [+-] digits], then nothing that continues a word */
static int number(parser *p) {
    size_t at = p->pos, i = at;
    const char *s = p->s;
    size_t digits = 0;
    while (isdigit((unsigned char)s[i])) i++, digits++;
    if (s[i] == '.')
        for (i++; isdigit((unsigned char)s[i]); i++) digits++;
    bool ok = digits > 0;
    if (ok && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (s[i] == '+' || s[i] == '-') i++;
        ok = isdigit((unsigned char)s[i]);
        while (isdigit((unsigned char)s[i])) i++;
    }
    if (!ok || is_name_char(s[i]) || s[i] == '.') {
        size_t end = i;
        while (is_name_char(s[end]) || s[end] == '.' || s[end] == '+' || s[end] == '-') end++;
        if (!ok || end > i) end = end > i ? end : i;
        int len = (int)(end - at) > 40 ? 40 : (int)(end - at);
        return fail(p, at, "malformed number '%.*s'", len, s + at);
    }
    double v = strtod(s + at, NULL);
    if (!isfinite(v)) return fail(p, at, "number '%.*s' is too large", (int)(i - at), s + at);
    p->pos = i;
    return node(p, (tg__cx_node){.kind = TG_CX_NUM, .num = v, .a = -1, .b = -1}, at);
}

/* The index of name among n names of width w, or -1. */
static int find(const char *name, const char (*names)[TG_CX_NAME_MAX], int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

static int find_param(const tg__cell_def *d, const char *name) {
    for (int i = 0; i < d->n_params; i++)
        if (strcmp(d->param[i].name, name) == 0) return i;
    return -1;
}

static int find_eq(const tg__cell_def *d, const char *name, bool helper) {
    for (int i = 0; i < d->n_eqs; i++)
        if (strcmp(d->eq[i].name, name) == 0 && (d->eq[i].state < 0) == helper) return i;
    return -1;
}

/* What a declared name is, for messages: "a gate", "a state", ... or NULL. */
static const char *kind_of(const tg__cell_def *d, const char *name) {
    if (find(name, d->gate, d->n_gates) >= 0) return "a gate";
    if (find(name, d->state, d->n_states) >= 0) return "a state";
    if (find_param(d, name) >= 0) return "a parameter";
    if (find_eq(d, name, true) >= 0) return "a helper equation";
    return NULL;
}

/* fn(args): one tensor argument, then the function's numbers */
static int call(parser *p, const char *name, size_t at) {
    int fi;
    const tg__cx_fn *fn = tg__cx_fn_find(name, &fi);
    if (!fn) {
        const char *k = kind_of(p->d, name);
        if (k) return fail(p, at, "'%s' is %s, not a function", name, k);
        int near = tg_json_nearest(name, tg__cx_fn_names);
        if (near >= 0)
            return fail(p, at, "unknown function '%s'; did you mean '%s'?", name,
                        tg__cx_fn_names[near]);
        return fail(p, at, "unknown function '%s'", name);
    }
    if (++p->depth > TG_CX_MAX_DEPTH) /* a call nests like a parenthesis */
        return fail(p, at, "nested too deeply (more than %d levels)", TG_CX_MAX_DEPTH);
    p->pos++; /* ( */
    int args[3] = {-1, -1, -1}, n = 0;
    size_t arg_at[3] = {0};
    for (;;) {
        skip_space(p);
        if (n == 0 && p->s[p->pos] == ')') break;
        size_t a_at = p->pos;
        int a = expr(p);
        if (a < 0) return -1;
        if (n < 3) args[n] = a, arg_at[n] = a_at;
        n++;
        skip_space(p);
        if (p->s[p->pos] != ',') break;
        p->pos++;
    }
    char b[16];
    if (p->s[p->pos] != ')')
        return fail(p, p->pos, "expected ',' or ')' in the call of %s, got %s", name,
                    what_at(p, p->pos, b, sizeof b));
    p->pos++;
    p->depth--;
    if (n != 1 + fn->numbers)
        return fail(p, at, "%s takes %d argument%s, got %d", name, 1 + fn->numbers,
                    fn->numbers ? "s" : "", n);
    const tg__cx_node *nd = p->d->node;
    if (nd[args[0]].kind == TG_CX_NUM)
        return fail(p, arg_at[0], "%s's first argument is a number; it needs a value of the step",
                    name);
    for (int k = 1; k < n; k++)
        if (nd[args[k]].kind != TG_CX_NUM)
            return fail(p, arg_at[k], "%s's argument %d must be a number", name, k + 1);
    double k1 = n > 1 ? nd[args[1]].num : 0, k2 = n > 2 ? nd[args[2]].num : 0;
    if (fn->numbers == 2 && !(k1 <= k2))
        return fail(p, at, "%s: the lower bound %g is above the upper bound %g", name, k1, k2);
    if (n > 1) p->d->n_nodes = args[1]; /* the numbers live in the call's node */
    return node(p, (tg__cx_node){.kind = TG_CX_CALL, .ref = fi, .a = args[0], .b = -1, .num = k1,
                                 .num2 = k2},
                at);
}

/* name[k]: block k of a parameter */
static int block(parser *p, const char *name, int pi, size_t at) {
    const tg__cx_param *pr = &p->d->param[pi];
    size_t i = ++p->pos;
    long k = 0;
    while (isdigit((unsigned char)p->s[i]) && k < 1000000) k = 10 * k + (p->s[i++] - '0');
    char b[16];
    if (i == p->pos)
        return fail(p, i, "expected a block number after '%s[', got %s", name,
                    what_at(p, i, b, sizeof b));
    if (p->s[i] != ']')
        return fail(p, i, "expected ']' after '%s[%ld', got %s", name, k, what_at(p, i, b, sizeof b));
    p->pos = i + 1;
    if (k >= pr->width)
        return fail(p, at, "%s[%ld]: %s has %d block%s, %s[0] to %s[%d]", name, k, name, pr->width,
                    pr->width > 1 ? "s" : "", name, name, pr->width - 1);
    return node(p, (tg__cx_node){.kind = TG_CX_PARAM, .ref = pi, .block = (int)k, .a = -1, .b = -1},
                at);
}

/* A name: what it refers to, primed, indexed or called. */
static int name_ref(parser *p) {
    tg__cell_def *d = p->d;
    size_t at = p->pos, i = at;
    while (is_name_char(p->s[i])) i++;
    char name[TG_CX_NAME_MAX];
    if (i - at >= sizeof name) return fail(p, at, "name too long (at most %d bytes)", TG_CX_NAME_MAX - 1);
    memcpy(name, p->s + at, i - at);
    name[i - at] = 0;
    p->pos = i;
    char next = p->s[i];
    if (next == '(') return call(p, name, at);
    int k;
    tg__cx_node n = {.a = -1, .b = -1};
    if (next == '\'') {
        if ((k = find(name, d->state, d->n_states)) < 0) {
            const char *what = kind_of(d, name);
            return fail(p, at, "only states have a new value, and '%s' is %s", name,
                        what ? what : "not a name of this cell");
        }
        p->pos++;
        n.kind = TG_CX_EQ, n.ref = find_eq(d, name, false);
        return node(p, n, at);
    }
    if ((k = find_param(d, name)) >= 0) {
        if (next == '[') return block(p, name, k, at);
        if (d->param[k].width > 1)
            return fail(p, at, "%s has %d blocks: write %s[0] to %s[%d]", name, d->param[k].width,
                        name, name, d->param[k].width - 1);
        n.kind = TG_CX_PARAM, n.ref = k;
        return node(p, n, at);
    }
    if (next == '[') {
        const char *what = kind_of(d, name);
        return fail(p, at, "only parameters have blocks, and '%s' is %s", name,
                    what ? what : "not a name of this cell");
    }
    if ((k = find(name, d->gate, d->n_gates)) >= 0) n.kind = TG_CX_GATE, n.ref = k;
    else if ((k = find(name, d->state, d->n_states)) >= 0) n.kind = TG_CX_STATE, n.ref = k;
    else if ((k = find_eq(d, name, true)) >= 0) n.kind = TG_CX_EQ, n.ref = k;
    else if ((name[0] == 'x' || name[0] == 'h') && name[1] == '_' &&
             (k = find(name + 2, d->gate, d->n_gates)) >= 0)
        n.kind = name[0] == 'x' ? TG_CX_XSHARE : TG_CX_HSHARE, n.ref = k;
    else if (tg__cx_fn_find(name, NULL))
        return fail(p, at, "'%s' is a function: write %s(...)", name, name);
    else
        return fail(p, at, "unknown name '%s'", name);
    return node(p, n, at);
}

static int atom(parser *p) {
    skip_space(p);
    size_t at = p->pos;
    char ch = p->s[at], b[16];
    if (isdigit((unsigned char)ch) || ch == '.') return number(p);
    if (isalpha((unsigned char)ch) || ch == '_') return name_ref(p);
    if (ch == '(') {
        if (++p->depth > TG_CX_MAX_DEPTH)
            return fail(p, at, "nested too deeply (more than %d levels)", TG_CX_MAX_DEPTH);
        p->pos++;
        int e = expr(p);
        if (e < 0) return -1;
        skip_space(p);
        if (p->s[p->pos] != ')')
            return fail(p, p->pos, "expected ')' to close the '(' at col %d, got %s", (int)at + 1,
                        what_at(p, p->pos, b, sizeof b));
        p->pos++;
        p->depth--;
        return e;
    }
    return fail(p, at, "expected a name, a number or '(', got %s", what_at(p, at, b, sizeof b));
}

static int unary(parser *p) {
    skip_space(p);
    if (p->s[p->pos] != '-') return atom(p);
    size_t at = p->pos++;
    if (++p->depth > TG_CX_MAX_DEPTH)
        return fail(p, at, "nested too deeply (more than %d levels)", TG_CX_MAX_DEPTH);
    int a = unary(p);
    p->depth--;
    if (a < 0) return -1;
    if (p->d->node[a].kind == TG_CX_NUM) {
        p->d->node[a].num = -p->d->node[a].num;
        return a;
    }
    return node(p, (tg__cx_node){.kind = TG_CX_NEG, .a = a, .b = -1}, at);
}

/* a op b, or the number it folds to (in a's node, b's dropped) */
static int binary(parser *p, int kind, int a, int b, size_t at) {
    tg__cx_node *x = &p->d->node[a], *y = &p->d->node[b];
    if (kind == TG_CX_DIV && y->kind == TG_CX_NUM && y->num == 0)
        return fail(p, at, "division by zero");
    if (x->kind != TG_CX_NUM || y->kind != TG_CX_NUM)
        return node(p, (tg__cx_node){.kind = kind, .a = a, .b = b}, at);
    x->num = kind == TG_CX_ADD   ? x->num + y->num
             : kind == TG_CX_SUB ? x->num - y->num
             : kind == TG_CX_MUL ? x->num * y->num
                                 : x->num / y->num;
    p->d->n_nodes = a + 1;
    return a;
}

static int term(parser *p) {
    int a = unary(p);
    for (;;) {
        if (a < 0) return -1;
        skip_space(p);
        char op = p->s[p->pos];
        if (op != '*' && op != '/') return a;
        size_t at = p->pos++;
        int b = unary(p);
        a = b < 0 ? -1 : binary(p, op == '*' ? TG_CX_MUL : TG_CX_DIV, a, b, at);
    }
}

static int expr(parser *p) {
    int a = term(p);
    for (;;) {
        if (a < 0) return -1;
        skip_space(p);
        char op = p->s[p->pos];
        if (op != '+' && op != '-') return a;
        size_t at = p->pos++;
        int b = term(p);
        a = b < 0 ? -1 : binary(p, op == '+' ? TG_CX_ADD : TG_CX_SUB, a, b, at);
    }
}

int tg__cx_parse(tg__cell_def *d, int e, const char *text, tg__cx_error *err) {
    parser p = {.d = d, .s = text, .first = d->n_nodes, .err = err};
    err->col = 0, err->msg[0] = 0;
    skip_space(&p);
    if (!p.s[p.pos]) return fail(&p, 0, "empty equation");
    int root = expr(&p);
    if (root < 0) return -1;
    skip_space(&p);
    char b[16];
    if (p.s[p.pos] == ')') return fail(&p, p.pos, "unmatched ')'");
    if (p.s[p.pos])
        return fail(&p, p.pos, "unexpected %s after the expression", what_at(&p, p.pos, b, sizeof b));
    if (d->node[root].kind == TG_CX_NUM)
        return fail(&p, 0, "the equation is a constant; it must depend on the step");
    bool steps = false; /* reads a gate, a state or an equation, not only parameters */
    for (int i = p.first; i <= root; i++)
        steps = steps || (d->node[i].kind >= TG_CX_GATE && d->node[i].kind <= TG_CX_EQ);
    if (!steps)
        return fail(&p, 0, "the equation reads only parameters and numbers; it must depend on the "
                           "step");
    d->eq[e].first = p.first, d->eq[e].root = root;
    return 0;
}
