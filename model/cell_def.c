/* A cell's definition from its JSON object ("gates", "states", "params",
 * "equations"): the names checked, each equation parsed (cell_expr.c),
 * the equations put in an order where each comes after those it reads,
 * and every gate, parameter and helper checked to be used. Messages name
 * the JSON path, and the column inside an equation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell_def.h"

#define PATH TG_JSON_PATH_MAX

/* the layer's own weights: {name}_l0 would clash with weight_ih_l0 */
static const char *const RESERVED[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh", NULL};

/* name is new, well formed and free; else fails at path. */
static int check_name(const tg_jctx *c, const tg__cell_def *d, const char *path, const char *name,
                      int n_helpers) {
    char q[64];
    size_t len = strlen(name);
    bool ok = len > 0 && len < TG_CX_NAME_MAX && !(name[0] >= '0' && name[0] <= '9');
    for (size_t i = 0; ok && i < len; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
    if (!ok)
        return tg_json_fail(c, path, "expected a name of letters, digits and '_' (1 to %d, not "
                                     "starting with a digit), got %s",
                            TG_CX_NAME_MAX - 1, tg_json_quote(name, q, sizeof q));
    if (tg__cx_fn_find(name, NULL))
        return tg_json_fail(c, path, "'%s' is a function's name", name);
    bool dup = false;
    for (int i = 0; i < d->n_gates; i++) {
        dup = dup || strcmp(d->gate[i], name) == 0;
        if ((name[0] == 'x' || name[0] == 'h') && name[1] == '_' && strcmp(name + 2, d->gate[i]) == 0)
            return tg_json_fail(c, path, "'%s' is already the %s share of gate '%s'", name,
                                name[0] == 'x' ? "input's" : "recurrent", d->gate[i]);
    }
    for (int i = 0; i < d->n_states; i++) dup = dup || strcmp(d->state[i], name) == 0;
    for (int i = 0; i < d->n_params; i++) dup = dup || strcmp(d->param[i].name, name) == 0;
    for (int i = 0; i < n_helpers; i++) dup = dup || strcmp(d->eq[i].name, name) == 0;
    return dup ? tg_json_fail(c, path, "duplicate name '%s'", name) : 0;
}

/* "gates" (required) or "states" (["h"] when absent): a list of names. */
static int names(const tg_jctx *c, tg__cell_def *d, const cJSON *obj, const char *path, bool gates) {
    char p[PATH], pi[PATH], v[64];
    const char *key = gates ? "gates" : "states";
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    int lo = 1, hi = gates ? TG_CX_MAX_GATES : TG_CELL_MAX_STATES;
    tg_json_path(p, path, key);
    if (!a && !gates) {
        strcpy(d->state[0], "h");
        d->n_states = 1;
        return 0;
    }
    if (!a) return tg_json_fail(c, p, "missing; expected a list of gate names such as [\"i\", \"f\"]");
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < lo || n > hi)
        return tg_json_fail(c, p, "expected a list of %d to %d names, got %s", lo, hi,
                            tg_json_describe(a, v, sizeof v));
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_GetArrayItem(a, i);
        tg_json_path_index(pi, p, i);
        if (!cJSON_IsString(s))
            return tg_json_fail(c, pi, "expected a name, got %s", tg_json_describe(s, v, sizeof v));
        if (check_name(c, d, pi, s->valuestring, 0))
            return -1;
        strcpy(gates ? d->gate[d->n_gates++] : d->state[d->n_states++], s->valuestring);
    }
    return 0;
}

/* "params": {"name": width} or {"name": {"size": width, "init": value}} */
static int params(const tg_jctx *c, tg__cell_def *d, const cJSON *obj, const char *path) {
    static const char *const KEYS[] = {"size", "init", NULL};
    char p[PATH], pk[PATH], v[64];
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(obj, "params");
    tg_json_path(p, path, "params");
    if (!ps) return 0;
    if (tg_json_expect_object(c, ps, p, "an object of parameter names and sizes, {\"w\": 1}"))
        return -1;
    if (cJSON_GetArraySize(ps) > TG_CELL_MAX_PARAMS)
        return tg_json_fail(c, p, "at most %d parameters, got %d", TG_CELL_MAX_PARAMS,
                            cJSON_GetArraySize(ps));
    for (const cJSON *e = ps->child; e; e = e->next) {
        tg_json_path(pk, p, e->string);
        if (check_name(c, d, pk, e->string, 0)) return -1;
        for (int r = 0; RESERVED[r]; r++)
            if (strcmp(RESERVED[r], e->string) == 0)
                return tg_json_fail(c, pk, "'%s' would be saved as %s_l0, the layer's own weight",
                                    e->string, e->string);
        tg__cx_param *q = &d->param[d->n_params];
        int64_t w = 0;
        q->uniform = true;
        if (cJSON_IsObject(e)) {
            if (tg_json_check_keys(c, e, pk, KEYS) ||
                tg_json_int(c, e, pk, "size", TG_JSON_REQUIRED, 1, TG_CX_MAX_WIDTH, &w) < 0 ||
                tg_json_number(c, e, pk, "init", TG_JSON_OPTIONAL, -INFINITY, false, INFINITY,
                               false, &q->init) < 0)
                return -1;
            q->uniform = !cJSON_GetObjectItemCaseSensitive(e, "init");
        } else if (cJSON_IsNumber(e) && e->valuedouble == (double)(int64_t)e->valuedouble &&
                   e->valuedouble >= 1 && e->valuedouble <= TG_CX_MAX_WIDTH) {
            w = (int64_t)e->valuedouble;
        } else {
            return tg_json_fail(c, pk,
                                "expected a size in blocks of hidden (1 to %d) or {\"size\": n, "
                                "\"init\": x}, got %s",
                                TG_CX_MAX_WIDTH, tg_json_describe(e, v, sizeof v));
        }
        strcpy(q->name, e->string);
        q->width = (int)w;
        d->n_params++;
    }
    return 0;
}

/* "equations": one per state, the others helpers; each parsed. */
static int equations(const tg_jctx *c, tg__cell_def *d, const cJSON *obj, const char *path) {
    char p[PATH], pk[PATH], v[64];
    const cJSON *eqs = cJSON_GetObjectItemCaseSensitive(obj, "equations");
    tg_json_path(p, path, "equations");
    if (!eqs) return tg_json_fail(c, p, "missing; expected one equation per state, {\"h\": \"...\"}");
    if (tg_json_expect_object(c, eqs, p, "an object of equations, {\"h\": \"tanh(a)\"}")) return -1;
    for (const cJSON *e = eqs->child; e; e = e->next) {
        tg_json_path(pk, p, e->string);
        if (d->n_eqs == TG_CX_MAX_EQS)
            return tg_json_fail(c, pk, "more than %d equations", TG_CX_MAX_EQS);
        int s = -1;
        for (int k = 0; k < d->n_states; k++)
            if (strcmp(d->state[k], e->string) == 0) s = k;
        if (s < 0 && check_name(c, d, pk, e->string, d->n_eqs)) return -1;
        for (int k = 0; k < d->n_eqs && s >= 0; k++)
            if (d->eq[k].state == s) return tg_json_fail(c, pk, "duplicate equation");
        if (!cJSON_IsString(e))
            return tg_json_fail(c, pk, "expected an equation as a string, got %s",
                                tg_json_describe(e, v, sizeof v));
        d->eq[d->n_eqs] = (tg__cx_eq){.state = s};
        strcpy(d->eq[d->n_eqs++].name, e->string);
    }
    for (int k = 0; k < d->n_states; k++) {
        bool has = false;
        for (int i = 0; i < d->n_eqs; i++) has = has || d->eq[i].state == k;
        if (!has) return tg_json_fail(c, p, "no equation for state '%s'", d->state[k]);
    }
    int i = 0;
    for (const cJSON *e = eqs->child; e; e = e->next, i++) {
        tg__cx_error err;
        if (tg__cx_parse(d, i, e->valuestring, &err))
            return tg_json_fail(c, tg_json_path(pk, p, e->string), "col %d: %s", err.col, err.msg);
    }
    return 0;
}

/* Depth-first from equation e: after[] gets e after what it reads. */
static int visit(const tg_jctx *c, const tg__cell_def *d, const char *path, int e, int *mark,
                 int *order, int *n) {
    char p[PATH];
    if (mark[e] == 2) return 0;
    mark[e] = 1;
    for (int i = d->eq[e].first; i <= d->eq[e].root; i++) {
        const tg__cx_node *nd = &d->node[i];
        if (nd->kind != TG_CX_EQ) continue;
        const tg__cx_eq *q = &d->eq[nd->ref];
        if (mark[nd->ref] == 1)
            return tg_json_fail(c, tg_json_path(p, path, d->eq[e].name),
                                "col %d: '%s%s' depends on itself", nd->col, q->name,
                                q->state >= 0 ? "'" : "");
        if (visit(c, d, path, nd->ref, mark, order, n)) return -1;
    }
    mark[e] = 2;
    order[(*n)++] = e;
    return 0;
}

/* The equations in run order, the references renumbered. */
static int sort(const tg_jctx *c, tg__cell_def *d, const char *path) {
    char p[PATH];
    int mark[TG_CX_MAX_EQS] = {0}, order[TG_CX_MAX_EQS], n = 0, where[TG_CX_MAX_EQS];
    tg_json_path(p, path, "equations");
    for (int e = 0; e < d->n_eqs; e++)
        if (visit(c, d, p, e, mark, order, &n)) return -1;
    tg__cx_eq eq[TG_CX_MAX_EQS];
    for (int k = 0; k < n; k++) eq[k] = d->eq[order[k]], where[order[k]] = k;
    memcpy(d->eq, eq, (size_t)n * sizeof *eq);
    for (int i = 0; i < d->n_nodes; i++)
        if (d->node[i].kind == TG_CX_EQ) d->node[i].ref = where[d->node[i].ref];
    return 0;
}

/* Every gate, parameter and helper is read somewhere. */
static int check_used(const tg_jctx *c, const tg__cell_def *d, const char *path) {
    char p[PATH], p2[PATH];
    bool gate[TG_CX_MAX_GATES] = {0}, param[TG_CELL_MAX_PARAMS] = {0}, eq[TG_CX_MAX_EQS] = {0};
    for (int i = 0; i < d->n_nodes; i++) {
        const tg__cx_node *n = &d->node[i];
        if (n->kind == TG_CX_GATE || n->kind == TG_CX_XSHARE || n->kind == TG_CX_HSHARE)
            gate[n->ref] = true;
        if (n->kind == TG_CX_PARAM) param[n->ref] = true;
        if (n->kind == TG_CX_EQ) eq[n->ref] = true;
    }
    for (int g = 0; g < d->n_gates; g++)
        if (!gate[g])
            return tg_json_fail(c, tg_json_path_index(p2, tg_json_path(p, path, "gates"), g),
                                "gate '%s' is not used by any equation", d->gate[g]);
    for (int k = 0; k < d->n_params; k++)
        if (!param[k])
            return tg_json_fail(c, tg_json_path(p2, tg_json_path(p, path, "params"), d->param[k].name),
                                "not used by any equation");
    for (int e = 0; e < d->n_eqs; e++)
        if (d->eq[e].state < 0 && !eq[e])
            return tg_json_fail(c, tg_json_path(p2, tg_json_path(p, path, "equations"), d->eq[e].name),
                                "'%s' is not a state, and no equation reads it", d->eq[e].name);
    return 0;
}

/* Whether every gate is read only whole (no x_g or h_g of its own). */
static bool gates_whole(const tg__cell_def *d) {
    for (int i = 0; i < d->n_nodes; i++)
        if (d->node[i].kind == TG_CX_XSHARE || d->node[i].kind == TG_CX_HSHARE) return false;
    return true;
}

int tg__cell_def_parse(const tg_jctx *c, const cJSON *obj, const char *path, tg__cell_def **out) {
    tg__cell_def *d = calloc(1, sizeof *d);
    if (!d) return tg_json_fail(c, path, "out of memory");
    if (names(c, d, obj, path, true) || names(c, d, obj, path, false) ||
        params(c, d, obj, path) || equations(c, d, obj, path) || check_used(c, d, path) ||
        sort(c, d, path)) {
        free(d);
        return -1;
    }
    d->gates_whole = gates_whole(d);
    *out = d;
    return 0;
}
