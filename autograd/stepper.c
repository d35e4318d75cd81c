/* The step-through debugger: screens over one recorded step, first each node
 * in forward order, then each node a gradient reached in backward order.
 *
 * The tape's backward has already run, so every node's output holds the
 * whole gradient that arrived at it. What it does not keep is how much each
 * node added to each input's gradient; the stepper finds out by running each
 * node's backward once more with its inputs' gradient buffers swapped for
 * zeroed ones. It keeps the first values and the norm of each contribution,
 * and a running sum per tensor, so a screen can show "+=" happening, and the
 * sums can be checked against the tape's gradients. */
#include "inspect.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN 4 /* values shown per tensor */

/* What node `node`'s backward added to the gradient of input x. */
typedef struct contrib {
    int node, arg;         /* arg: the first position where x is an input */
    int acc;               /* x's running sum */
    int use;               /* this is the use-th contribution to x (from 1) ... */
    double norm, acc_norm; /* |added|, |running sum| after it */
    tg_real first[SHOWN], acc_first[SHOWN];
} contrib;

/* The running sum of the contributions to one tensor's gradient. */
typedef struct accum {
    const tg_tensor *x;
    tg_real *sum;
    int uses;   /* ... of uses */
    bool equal; /* the whole sum equals x->grad */
    double max_diff;
} accum;

struct tg_stepper {
    tg_tape *tape;
    tg__look look;
    int *bw, n_bw; /* backward order: the nodes whose output got a gradient */
    int *bw_pos;   /* per node: position in bw, or -1 */
    contrib *c;
    int n_c, cap_c;
    int *c_first, *c_count; /* per node: its contributions */
    accum *acc;
    int n_acc, cap_acc;
    tg__ptrmap accmap; /* tensor -> acc index */
    int pos;           /* 0 .. n-1 forward, n .. n+n_bw-1 backward */
    char last[1024];   /* the last interactive line, for an empty one */
};

static void *fail(char *err, size_t errlen, const char *msg) {
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return NULL;
}

static int accum_of(tg_stepper *s, const tg_tensor *x) {
    int k = tg__ptrmap_get(&s->accmap, x);
    if (k >= 0) return k;
    if (s->n_acc == s->cap_acc) {
        int cap = s->cap_acc ? 2 * s->cap_acc : 16;
        accum *more = realloc(s->acc, (size_t)cap * sizeof *more);
        if (!more) return -1;
        s->acc = more, s->cap_acc = cap;
    }
    tg_real *sum = calloc((size_t)x->numel + 1, sizeof *sum);
    if (!sum || tg__ptrmap_put(&s->accmap, x, s->n_acc) != 0) {
        free(sum);
        return -1;
    }
    s->acc[s->n_acc] = (accum){.x = x, .sum = sum};
    return s->n_acc++;
}

static contrib *new_contrib(tg_stepper *s) {
    if (s->n_c == s->cap_c) {
        int cap = s->cap_c ? 2 * s->cap_c : 64;
        contrib *more = realloc(s->c, (size_t)cap * sizeof *more);
        if (!more) return NULL;
        s->c = more, s->cap_c = cap;
    }
    return &s->c[s->n_c++];
}

/* Runs node i's backward into fresh buffers and records what it added. */
static int replay(tg_stepper *s, int i) {
    tg_node *nd = tg__node(s->tape, (size_t)i);
    int n = nd->n_in, m = 0, status = 0;
    /* per distinct input that takes a gradient: the tensor, its first
     * position, its own buffer and a zeroed one swapped in */
    tg_tensor **x = calloc((size_t)n + 1, sizeof *x);
    tg_real **saved = calloc((size_t)n + 1, sizeof *saved),
            **scratch = calloc((size_t)n + 1, sizeof *scratch);
    int *arg = calloc((size_t)n + 1, sizeof *arg);
    if (!x || !saved || !scratch || !arg) status = -1;
    for (int k = 0; k < n && status == 0; k++) {
        tg_tensor *in = nd->in[k];
        bool seen = false;
        for (int j = 0; j < m && !seen; j++) seen = x[j] == in;
        if (!in->requires_grad || seen) continue;
        x[m] = in, arg[m] = k, saved[m] = in->grad;
        scratch[m] = calloc((size_t)in->numel + 1, sizeof(tg_real));
        if (!scratch[m]) status = -1;
        in->grad = scratch[m++];
    }
    if (status == 0) tg__op_backward(nd->op)(s->tape, nd);
    for (int j = 0; j < m; j++) x[j]->grad = saved[j];
    s->c_first[i] = s->n_c;
    for (int j = 0; j < m && status == 0; j++) {
        int a = accum_of(s, x[j]);
        contrib *c = a < 0 ? NULL : new_contrib(s);
        if (!c) {
            status = -1;
            break;
        }
        accum *ac = &s->acc[a];
        for (int64_t e = 0; e < x[j]->numel; e++) ac->sum[e] += scratch[j][e];
        *c = (contrib){.node = i,
                       .arg = arg[j],
                       .acc = a,
                       .use = ++ac->uses,
                       .norm = tg__norm(scratch[j], x[j]->numel),
                       .acc_norm = tg__norm(ac->sum, x[j]->numel)};
        for (int e = 0; e < SHOWN && e < x[j]->numel; e++)
            c->first[e] = scratch[j][e], c->acc_first[e] = ac->sum[e];
        s->c_count[i]++;
    }
    for (int j = 0; j < m; j++) free(scratch[j]);
    free(x), free(saved), free(scratch), free(arg);
    return status;
}

tg_stepper *tg_stepper_new(tg_tape *t, char *err, size_t errlen) {
    if (!t) return fail(err, errlen, "tg_stepper_new: tape is NULL");
    if (tg_tape_error(t)) return fail(err, errlen, "tg_stepper_new: the tape is in error");
    tg_stepper *s = calloc(1, sizeof *s);
    if (!s) return fail(err, errlen, "tg_stepper_new: out of memory");
    s->tape = t;
    if (tg__look_init(&s->look, t) != 0) {
        free(s);
        return fail(err, errlen, "tg_stepper_new: out of memory");
    }
    size_t n = s->look.n;
    s->bw = malloc((n + 1) * sizeof *s->bw);
    s->bw_pos = malloc((n + 1) * sizeof *s->bw_pos);
    s->c_first = calloc(n + 1, sizeof *s->c_first);
    s->c_count = calloc(n + 1, sizeof *s->c_count);
    if (!s->bw || !s->bw_pos || !s->c_first || !s->c_count) goto oom;
    for (size_t i = n; i-- > 0;) {
        s->bw_pos[i] = -1;
        if (!tg__node(t, i)->out->grad) continue; /* no gradient reached it */
        s->bw_pos[i] = s->n_bw;
        s->bw[s->n_bw++] = (int)i;
        if (replay(s, (int)i) != 0) goto oom;
    }
    if (tg_tape_error(t)) {
        tg_stepper_free(s);
        return fail(err, errlen, "tg_stepper_new: replaying a backward failed");
    }
    for (int a = 0; a < s->n_acc; a++) {
        accum *ac = &s->acc[a];
        double diff = 0, big = 0;
        for (int64_t e = 0; ac->x->grad && e < ac->x->numel; e++) {
            diff = fmax(diff, fabs((double)ac->sum[e] - (double)ac->x->grad[e]));
            big = fmax(big, fabs((double)ac->x->grad[e]));
        }
#ifdef TG_DOUBLE
        double tol = 1e-10;
#else
        double tol = 1e-4;
#endif
        ac->max_diff = diff;
        ac->equal = ac->x->grad && diff <= tol * fmax(1, big);
    }
    return s;
oom:
    tg_stepper_free(s);
    return fail(err, errlen, "tg_stepper_new: out of memory");
}

void tg_stepper_free(tg_stepper *s) {
    if (!s) return;
    for (int a = 0; a < s->n_acc; a++) free(s->acc[a].sum);
    free(s->acc);
    tg__ptrmap_free(&s->accmap);
    free(s->c), free(s->c_first), free(s->c_count), free(s->bw), free(s->bw_pos);
    tg__look_free(&s->look);
    free(s);
}

const tg_real *tg_stepper_grad_sum(const tg_stepper *s, const tg_tensor *x) {
    int a = s && x ? tg__ptrmap_get(&s->accmap, x) : -1;
    return a < 0 ? NULL : s->acc[a].sum;
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_first(FILE *f, const tg_real *v, int64_t numel) {
    fputc('[', f);
    for (int e = 0; e < SHOWN && e < numel; e++) {
        if (e) fputs(", ", f);
        tg__json_num(f, (double)v[e]);
    }
    fputc(']', f);
}

int tg_stepper_json(const tg_stepper *s, FILE *f) {
    if (!s || !f) return -1;
    fprintf(f,
            "{\"format\": \"tapegrad-steps\", \"version\": 1, \"forward\": %zu,\n\"backward\": [",
            s->look.n);
    for (int k = 0; k < s->n_bw; k++) fprintf(f, "%s%d", k ? ", " : "", s->bw[k]);
    fputs("],\n\"contributions\": [", f);
    for (int k = 0; k < s->n_c; k++) {
        const contrib *c = &s->c[k];
        const accum *ac = &s->acc[c->acc];
        fprintf(f, "%s\n {\"node\": %d, \"arg\": %d, \"into\": ", k ? "," : "", c->node, c->arg);
        tg__json_id(f, &s->look, ac->x);
        fprintf(f, ", \"use\": %d, \"uses\": %d, \"norm\": ", c->use, ac->uses);
        tg__json_num(f, c->norm);
        fputs(", \"values\": ", f);
        json_first(f, c->first, ac->x->numel);
        fputs(", \"sum_norm\": ", f);
        tg__json_num(f, c->acc_norm);
        fputs(", \"sum\": ", f);
        json_first(f, c->acc_first, ac->x->numel);
        fprintf(f, ", \"equal\": %s, \"max_diff\": ", ac->equal ? "true" : "false");
        tg__json_num(f, ac->max_diff);
        fputc('}', f);
    }
    fputs("]}\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- screens ------------------------------------------------------------- */

/* "#3 t1.hidden", "param W_hh", "data x1". */
static const char *describe(const tg_stepper *s, const tg_tensor *x, char *buf, size_t n) {
    int j = tg__node_of(&s->look, x);
    if (j >= 0) {
        char name[160];
        const char *nm = tg__node_name(tg__node(s->tape, (size_t)j), name, sizeof name);
        snprintf(buf, n, "#%d%s%s", j, *nm ? " " : "", nm);
    } else {
        const tg__leaf *lf = tg__leaf_of(&s->look, x);
        snprintf(buf, n, "%s %s", lf && lf->param ? "param" : "data",
                 x->name ? x->name
                 : lf    ? lf->id
                         : "?");
    }
    return buf;
}

static void header(const tg_stepper *s, FILE *f, bool fw, int k, int i) {
    char name[160];
    const tg_node *nd = tg__node(s->tape, (size_t)i);
    const char *nm = tg__node_name(nd, name, sizeof name);
    fprintf(f, "== %s %d/%d: node #%d%s%s (%s) ==\n", fw ? "forward" : "backward", k + 1,
            fw ? (int)s->look.n : s->n_bw, i, *nm ? " " : "", nm, tg__op_name(nd->op));
}

static void tensor_line(FILE *f, const char *what, const char *who, const tg_tensor *x) {
    char shape[TG_SHAPE_STR_MAX], vals[160];
    fprintf(f, "  %-7s %-28s %-9s %s\n", what, who,
            tg_shape_str(tg_tensor_shape(x), shape, sizeof shape),
            tg__values(x, false, SHOWN, vals, sizeof vals));
}

static void forward_screen(const tg_stepper *s, FILE *f, int i) {
    const tg_node *nd = tg__node(s->tape, (size_t)i);
    char who[200];
    header(s, f, true, i, i);
    for (int k = 0; k < nd->n_in; k++)
        tensor_line(f, k ? "" : "reads", describe(s, nd->in[k], who, sizeof who), nd->in[k]);
    tensor_line(f, "value", "", nd->out);
}

static void backward_screen(const tg_stepper *s, FILE *f, int i) {
    const tg_node *nd = tg__node(s->tape, (size_t)i);
    const tg_tensor *out = nd->out;
    char who[200], shape[TG_SHAPE_STR_MAX], vals[160];
    header(s, f, false, s->bw_pos[i], i);
    fprintf(f, "  gradient arriving  %s  |g| %.4g  = %s\n",
            tg_shape_str(tg_tensor_shape(out), shape, sizeof shape),
            tg__norm(out->grad, out->numel), tg__values(out, true, SHOWN, vals, sizeof vals));
    int from = 0;
    for (int k = 0; k < s->n_c; k++) {
        const contrib *c = &s->c[k];
        if (s->acc[c->acc].x != out) continue;
        if (!from++) fprintf(f, "  it came from\n");
        const tg_node *src = tg__node(s->tape, (size_t)c->node);
        char name[160];
        fprintf(f, "    #%d %s (%s)  |+| %.4g  = %s\n", c->node,
                tg__node_name(src, name, sizeof name), tg__op_name(src->op), c->norm,
                tg__reals(c->first, out->numel, SHOWN, vals, sizeof vals));
    }
    if (!from) fprintf(f, "  (the seed: backward started here)\n");
    for (int k = 0; k < nd->n_in; k++) {
        const tg_tensor *x = nd->in[k];
        if (!x->requires_grad) {
            fprintf(f, "  %s needs no gradient\n", describe(s, x, who, sizeof who));
            continue;
        }
        const contrib *c = NULL;
        for (int j = s->c_first[i]; j < s->c_first[i] + s->c_count[i]; j++)
            if (s->c[j].arg == k) c = &s->c[j];
        if (!c) continue; /* the same tensor at an earlier position: shown there */
        const accum *ac = &s->acc[c->acc];
        describe(s, x, who, sizeof who);
        tg_shape_str(tg_tensor_shape(x), shape, sizeof shape);
        tg__reals(c->first, x->numel, SHOWN, vals, sizeof vals);
        if (ac->uses == 1) {
            fprintf(f, "  += into %s %s  |+| %.4g = %s  (its whole gradient)\n", who, shape,
                    c->norm, vals);
        } else {
            fprintf(f, "  += into %s %s  (use %d of %d)\n", who, shape, c->use, ac->uses);
            fprintf(f, "       adds      |+| %-9.4g = %s\n", c->norm, vals);
            fprintf(f, "       grad now  |g| %-9.4g = %s\n", c->acc_norm,
                    tg__reals(c->acc_first, x->numel, SHOWN, vals, sizeof vals));
            if (c->use == ac->uses && ac->equal)
                fprintf(f, "       all %d in: equal to the tape's gradient\n", ac->uses);
        }
        if (c->use == ac->uses && !ac->equal)
            fprintf(f,
                    "       differs from the tape's gradient by up to %.3g (was it zeroed "
                    "before backward?)\n",
                    ac->max_diff);
    }
}

static int total(const tg_stepper *s) {
    return (int)s->look.n + s->n_bw;
}

static void show(const tg_stepper *s, FILE *f) {
    if (total(s) == 0) {
        fprintf(f, "(the tape has no nodes)\n");
        return;
    }
    if (s->pos < (int)s->look.n)
        forward_screen(s, f, s->pos);
    else
        backward_screen(s, f, s->bw[s->pos - (int)s->look.n]);
}

static void intro(const tg_stepper *s, FILE *f) {
    fprintf(f, "stepping through %zu nodes forward and %d backward (h for help)\n", s->look.n,
            s->n_bw);
}

static const char *help_text =
    "commands: n next | p b prev back | fw forward (first forward screen) |\n"
    "          bw backward (first backward screen) | j X jump to node X (index, #index,\n"
    "          a name or its end), or to the next node that reads parameter X (its\n"
    "          name, the end of it, or id: j weight_hh_l0 again and again visits each\n"
    "          use) | l list the tape | h help | q quit\n";

/* Whether name ends with ".part" ("lstm.t2.hidden" with "t2.hidden"). */
static bool ends_with_part(const char *name, const char *part) {
    size_t ln = strlen(name), lp = strlen(part);
    return ln > lp && name[ln - lp - 1] == '.' && !strcmp(name + ln - lp, part);
}

/* A node by index ("5", "#5"), full name ("rnn.t2.hidden"), or the end of
 * one after a dot ("t2.hidden", "hidden"): the first such node. */
static int find_node(const tg_stepper *s, const char *arg) {
    const char *p = arg[0] == '#' ? arg + 1 : arg;
    if (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (!*end && isdigit((unsigned char)*p)) return v >= 0 && v < (long)s->look.n ? (int)v : -1;
    }
    char name[160];
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->look.n; i++) {
            const char *nm = tg__node_name(tg__node(s->tape, i), name, sizeof name);
            if (pass == 0 ? !strcmp(nm, arg) : ends_with_part(nm, arg)) return (int)i;
        }
    return -1;
}

/* A leaf by id ("p3") or name ("1.weight_hh_l0"), or by the end of a name
 * after a dot ("weight_hh_l0"). -1 if none; -2 if the end fits several
 * (listed to f). */
static int find_leaf(const tg_stepper *s, const char *arg, FILE *f) {
    const tg__leaf *lf = s->look.leaf;
    for (int k = 0; k < s->look.n_leaf; k++)
        if (!strcmp(lf[k].id, arg) || (lf[k].x->name && !strcmp(lf[k].x->name, arg))) return k;
    int found = -1, n = 0;
    for (int k = 0; k < s->look.n_leaf; k++)
        if (lf[k].x->name && ends_with_part(lf[k].x->name, arg)) found = n++ ? found : k;
    if (n < 2) return found;
    fprintf(f, "'%s' names %d parameters:", arg, n);
    for (int k = 0; k < s->look.n_leaf; k++)
        if (lf[k].x->name && ends_with_part(lf[k].x->name, arg)) fprintf(f, " %s", lf[k].x->name);
    fputs(" (give one)\n", f);
    return -2;
}

/* The screen of the next node after the current one, in this direction,
 * that reads x (from the first again after the last), or -1: jumping to a
 * parameter again and again visits each of its uses. */
static int next_use(const tg_stepper *s, const tg_tensor *x, bool backward) {
    int n = (int)s->look.n, count = backward ? s->n_bw : n, here = backward ? s->pos - n : s->pos;
    for (int step = 1; step <= count; step++) {
        int k = (here + step) % count;
        const tg_node *nd = tg__node(s->tape, (size_t)(backward ? s->bw[k] : k));
        for (int a = 0; a < nd->n_in; a++)
            if (nd->in[a] == x) return backward ? n + k : k;
    }
    return -1;
}

static bool is(const char *w, const char *a, const char *b) {
    return !strcmp(w, a) || (b && !strcmp(w, b));
}

/* Runs the commands in line; returns true on quit. */
static bool run(tg_stepper *s, const char *line, FILE *f) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *save = NULL;
    for (char *w = strtok_r(buf, " \t\r\n;", &save); w; w = strtok_r(NULL, " \t\r\n;", &save)) {
        int n = (int)s->look.n, last = total(s) - 1;
        bool backward = s->pos >= n;
        if (is(w, "q", "quit"))
            return true;
        else if (is(w, "n", "next")) {
            if (s->pos >= last)
                fprintf(f, "(this is the last screen)\n");
            else
                s->pos++, show(s, f);
        } else if (is(w, "p", "prev") || is(w, "b", "back")) {
            if (s->pos <= 0)
                fprintf(f, "(this is the first screen)\n");
            else
                s->pos--, show(s, f);
        } else if (is(w, "fw", "forward")) {
            if (n == 0)
                fprintf(f, "(no forward screens)\n");
            else
                s->pos = 0, show(s, f);
        } else if (is(w, "bw", "backward")) {
            if (s->n_bw == 0)
                fprintf(f, "(no gradient reached any node: run backward first)\n");
            else
                s->pos = n, show(s, f);
        } else if (is(w, "j", "jump") || is(w, "g", "goto")) {
            char *arg = strtok_r(NULL, " \t\r\n;", &save);
            int i = arg ? find_node(s, arg) : -1, k = arg && i < 0 ? find_leaf(s, arg, f) : -1;
            if (!arg)
                fprintf(f, "jump where? (an index, #index, a name, a label or a parameter)\n");
            else if (k >= 0 && (i = next_use(s, s->look.leaf[k].x, backward)) >= 0)
                s->pos = i, show(s, f);
            else if (k >= 0)
                fprintf(f, "%s is read by no node%s\n",
                        s->look.leaf[k].x->name ? s->look.leaf[k].x->name : arg,
                        backward ? " that passed a gradient back" : "");
            else if (i < 0 && k == -1)
                fprintf(f, "no node '%s' (nor a parameter of that name)\n", arg);
            else if (i < 0)
                ; /* several parameters fit: listed */
            else if (backward && s->bw_pos[i] < 0)
                fprintf(f, "node #%d received no gradient\n", i);
            else
                s->pos = backward ? n + s->bw_pos[i] : i, show(s, f);
        } else if (is(w, "l", "list"))
            tg_tape_print(s->tape, f);
        else if (is(w, "h", "help") || is(w, "?", NULL))
            fputs(help_text, f);
        else
            fprintf(f, "unknown command '%s' (h for help)\n", w);
    }
    return false;
}

int tg_stepper_script(tg_stepper *s, const char *script, FILE *out) {
    if (!s || !out) return -1;
    intro(s, out);
    show(s, out);
    run(s, script ? script : "", out);
    return ferror(out) ? -1 : 0;
}

int tg_stepper_dump(tg_stepper *s, FILE *out) {
    if (!s || !out) return -1;
    intro(s, out);
    for (s->pos = 0; s->pos < total(s); s->pos++) show(s, out);
    s->pos = total(s) ? total(s) - 1 : 0;
    return ferror(out) ? -1 : 0;
}

int tg_stepper_interact(tg_stepper *s, FILE *in, FILE *out) {
    if (!s || !in || !out) return -1;
    intro(s, out);
    show(s, out);
    char line[1024];
    for (;;) {
        fputs("(step) ", out);
        fflush(out);
        if (!fgets(line, sizeof line, in)) {
            fputc('\n', out);
            break;
        }
        bool blank = strspn(line, " \t\r\n") == strlen(line);
        if (blank)
            snprintf(line, sizeof line, "%s", s->last);
        else
            snprintf(s->last, sizeof s->last, "%s", line);
        if (run(s, line, out)) break;
    }
    return ferror(out) ? -1 : 0;
}
