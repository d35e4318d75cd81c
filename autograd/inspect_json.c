/* The tape as a JSON trace (tg_tape_json): nodes, leaves and edges with
 * shapes, values and gradients, for programs that read a step; and the
 * JSON pieces the stepper's trace shares (strings, numbers, ids). */
#include "inspect.h"

#include <math.h>

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
