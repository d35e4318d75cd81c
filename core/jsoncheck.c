/* Validated JSON reading: typed readers of obj[key] (int, number, bool,
 * string, enum) and the key check, each saying what was wrong and where.
 * Their messages' text is made in jsonmsg.c, the strict parse is in
 * jsonscan.c, the collection of every error in jsonerrs.c. */
#include "jsoncheck.h"
#include "json_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int tg_json_expect_object(const tg_jctx *c, const cJSON *v, const char *path, const char *what) {
    if (cJSON_IsObject(v)) return 0;
    char d[64];
    return tg_json_fail(c, path, "expected %s, got %s", what ? what : "an object",
                        tg_json_describe(v, d, sizeof d));
}

int tg_json_check_keys(const tg_jctx *c, const cJSON *obj, const char *path,
                       const char *const *allowed) {
    char p[TG_JSON_PATH_MAX], list[512], q[TG__JSON_QUOTE_BUF];
    for (const cJSON *it = obj ? obj->child : NULL; it; it = it->next) {
        const char *key = it->string ? it->string : "";
        tg_json_path(p, path, key);
        for (const cJSON *prev = obj->child; prev != it; prev = prev->next)
            if (prev->string && strcmp(prev->string, key) == 0)
                return tg_json_fail(c, p, "duplicate key");
        bool known = false;
        for (int k = 0; allowed[k] && !known; k++) known = strcmp(allowed[k], key) == 0;
        if (known) continue;
        int near = tg_json_nearest(key, allowed);
        if (near >= 0)
            return tg_json_fail(c, p, "unknown key; did you mean %s?",
                                tg_json_quote(allowed[near], q, sizeof q));
        return tg_json_fail(c, p, "unknown key; valid keys: %s",
                            tg_json_list(allowed, list, sizeof list));
    }
    return 0;
}

/* obj[key] or NULL; a missing required key fails with what was expected. */
static const cJSON *item(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                         int required, const char *expected, int *status) {
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *status = 0;
    if (!v && required) {
        char p[TG_JSON_PATH_MAX];
        *status = tg_json_fail(c, tg_json_path(p, path, key), "missing; expected %s", expected);
    }
    return v;
}

/* The largest integer a double holds exactly. */
#define EXACT_INT 9007199254740992.0

int tg_json_int(const tg_jctx *c, const cJSON *obj, const char *path, const char *key, int required,
                int64_t lo, int64_t hi, int64_t *out) {
    char what[64], d[64], p[TG_JSON_PATH_MAX];
    if (lo == 1)
        snprintf(what, sizeof what, "a positive integer");
    else if (lo == 0)
        snprintf(what, sizeof what, "a non-negative integer");
    else
        snprintf(what, sizeof what, "an integer >= %lld", (long long)lo);
    int status;
    const cJSON *v = item(c, obj, path, key, required, what, &status);
    if (!v) return status;
    tg_json_path(p, path, key);
    double x = v->valuedouble;
    if (!cJSON_IsNumber(v) || x != floor(x) || fabs(x) > EXACT_INT || x < (double)lo)
        return tg_json_fail(c, p, "expected %s, got %s", what, tg_json_describe(v, d, sizeof d));
    if (x > (double)hi)
        return tg_json_fail(c, p, "expected %s up to %lld, got %s", what, (long long)hi,
                            tg_json_describe(v, d, sizeof d));
    *out = (int64_t)x;
    return 1;
}

int tg_json_number(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                   int required, double lo, bool lo_open, double hi, bool hi_open, double *out) {
    char what[96], d[64], p[TG_JSON_PATH_MAX];
    if (isfinite(lo) && isfinite(hi))
        snprintf(what, sizeof what, "a number in %c%g, %g%c", lo_open ? '(' : '[', lo, hi,
                 hi_open ? ')' : ']');
    else if (isfinite(lo))
        snprintf(what, sizeof what, "a number %s %g", lo_open ? ">" : ">=", lo);
    else if (isfinite(hi))
        snprintf(what, sizeof what, "a number %s %g", hi_open ? "<" : "<=", hi);
    else
        snprintf(what, sizeof what, "a number");
    int status;
    const cJSON *v = item(c, obj, path, key, required, what, &status);
    if (!v) return status;
    double x = v->valuedouble;
    bool ok = cJSON_IsNumber(v) && isfinite(x) && (lo_open ? x > lo : x >= lo) &&
              (hi_open ? x < hi : x <= hi);
    if (!ok)
        return tg_json_fail(c, tg_json_path(p, path, key), "expected %s, got %s", what,
                            tg_json_describe(v, d, sizeof d));
    *out = x;
    return 1;
}

int tg_json_bool(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                 int required, bool *out) {
    char d[64], p[TG_JSON_PATH_MAX];
    int status;
    const cJSON *v = item(c, obj, path, key, required, "true or false", &status);
    if (!v) return status;
    if (!cJSON_IsBool(v))
        return tg_json_fail(c, tg_json_path(p, path, key), "expected true or false, got %s",
                            tg_json_describe(v, d, sizeof d));
    *out = cJSON_IsTrue(v);
    return 1;
}

int tg_json_string(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                   int required, const char **out) {
    char d[64], p[TG_JSON_PATH_MAX];
    int status;
    const cJSON *v = item(c, obj, path, key, required, "a string", &status);
    if (!v) return status;
    if (!cJSON_IsString(v))
        return tg_json_fail(c, tg_json_path(p, path, key), "expected a string, got %s",
                            tg_json_describe(v, d, sizeof d));
    *out = v->valuestring;
    return 1;
}

int tg_json_enum(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                 int required, const char *what, const char *const *names, int *out) {
    char d[64], p[TG_JSON_PATH_MAX], list[256], expected[320], q[TG__JSON_QUOTE_BUF],
        q2[TG__JSON_QUOTE_BUF];
    tg_json_list(names, list, sizeof list);
    snprintf(expected, sizeof expected, "%s %s (%s)", strchr("aeiou", what[0]) ? "an" : "a", what,
             list);
    int status;
    const cJSON *v = item(c, obj, path, key, required, expected, &status);
    if (!v) return status;
    tg_json_path(p, path, key);
    if (!cJSON_IsString(v))
        return tg_json_fail(c, p, "expected %s, got %s", expected,
                            tg_json_describe(v, d, sizeof d));
    for (int k = 0; names[k]; k++)
        if (strcmp(names[k], v->valuestring) == 0) {
            *out = k;
            return 1;
        }
    int near = tg_json_nearest(v->valuestring, names);
    if (near >= 0)
        return tg_json_fail(c, p, "unknown %s %s; did you mean %s? (known: %s)", what,
                            tg_json_quote(v->valuestring, q, sizeof q),
                            tg_json_quote(names[near], q2, sizeof q2), list);
    return tg_json_fail(c, p, "unknown %s %s (known: %s)", what,
                        tg_json_quote(v->valuestring, q, sizeof q), list);
}
