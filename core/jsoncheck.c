/* Validated JSON reading: a strict syntax scan that knows where it failed
 * (cJSON only says "somewhere near here" and accepts some non-JSON), then
 * cJSON for the tree, then typed readers with paths in their messages. */
#include "jsoncheck.h"
#include "jsonerrs.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest piece of user text (a key, a string value) echoed in a message. */
#define ECHO_MAX 40

int tg_json_fail(const tg_jctx *c, const char *path, const char *fmt, ...) {
    if (!c || !c->err || !c->errlen) return -1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = c->file && *c->file ? c->file : NULL;
    bool has_path = path && *path;
    snprintf(c->err, c->errlen, "%s%s%s%s%s", file ? file : "", file ? ": " : "",
             has_path ? path : "", has_path ? ": " : "", msg);
    if (c->errs) tg__json_keep(c->errs, path, c->err);
    return -1;
}

/* ---- text for messages ------------------------------------------------- */

/* Appends s (at most max bytes of it) to buf with control characters,
 * quotes of kind `q` and backslashes escaped; "..." marks a cut. */
static void echo(char *buf, size_t n, const char *s, size_t max, char q) {
    size_t len = strlen(buf);
    for (size_t i = 0; s[i] && len + 8 < n; i++) {
        if (i == max) {
            len += (size_t)snprintf(buf + len, n - len, "...");
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            len += (size_t)snprintf(buf + len, n - len, "\\x%02x", ch);
        else if (ch == (unsigned char)q || ch == '\\')
            len += (size_t)snprintf(buf + len, n - len, "\\%c", ch);
        else
            buf[len++] = (char)ch, buf[len] = '\0';
    }
}

const char *tg_json_quote(const char *s, char *buf, size_t n) {
    if (!n) return buf;
    snprintf(buf, n, "'");
    echo(buf, n, s ? s : "", ECHO_MAX, '\'');
    size_t len = strlen(buf);
    if (len + 1 < n) buf[len] = '\'', buf[len + 1] = '\0';
    return buf;
}

/* The shortest decimal that reads back as v; integers without exponent. */
static void number_text(double v, char *buf, size_t n) {
    if (!buf || !n) return; /* (also keeps GCC's -Wformat-truncation calm under UBSan) */
    if (v == floor(v) && fabs(v) < 1e17) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

const char *tg_json_describe(const cJSON *v, char *buf, size_t n) {
    if (!n) return buf;
    buf[0] = '\0';
    if (!v)
        snprintf(buf, n, "nothing");
    else if (cJSON_IsNumber(v))
        number_text(v->valuedouble, buf, n);
    else if (cJSON_IsString(v)) {
        snprintf(buf, n, "\"");
        echo(buf, n, v->valuestring, ECHO_MAX, '"');
        size_t len = strlen(buf);
        if (len + 1 < n) buf[len] = '"', buf[len + 1] = '\0';
    } else if (cJSON_IsTrue(v))
        snprintf(buf, n, "true");
    else if (cJSON_IsFalse(v))
        snprintf(buf, n, "false");
    else if (cJSON_IsNull(v))
        snprintf(buf, n, "null");
    else if (cJSON_IsArray(v))
        snprintf(buf, n, "an array");
    else
        snprintf(buf, n, "an object");
    return buf;
}

static bool is_ident(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

const char *tg_json_path(char *buf, const char *path, const char *key) {
    char k[ECHO_MAX + 16] = "";
    if (is_ident(key)) {
        echo(k, sizeof k, key, ECHO_MAX, 0);
    } else {
        snprintf(k, sizeof k, "[\"");
        echo(k, sizeof k, key, ECHO_MAX / 2, '"');
        strncat(k, "\"]", sizeof k - strlen(k) - 1);
    }
    bool dot = path && *path && k[0] != '[';
    snprintf(buf, TG_JSON_PATH_MAX, "%s%s%s", path ? path : "", dot ? "." : "", k);
    return buf;
}

const char *tg_json_path_index(char *buf, const char *path, int i) {
    snprintf(buf, TG_JSON_PATH_MAX, "%s[%d]", path ? path : "", i);
    return buf;
}

const char *tg_json_list(const char *const *names, char *buf, size_t n) {
    if (!n) return buf;
    buf[0] = '\0';
    for (int i = 0; names[i]; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i ? ", " : "", names[i]);
    }
    return buf;
}

/* ---- nearest name ------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1; /* nothing valid is that long */
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static bool is_prefix(const char *p, const char *s) {
    size_t lp = strlen(p);
    return lp >= 3 && strncmp(p, s, lp) == 0;
}

int tg_json_nearest(const char *s, const char *const *names) {
    int best = -1;
    size_t best_d = (size_t)-1;
    for (int i = 0; names[i]; i++) {
        size_t d = edit_distance(s, names[i]);
        size_t longer = strlen(s) > strlen(names[i]) ? strlen(s) : strlen(names[i]);
        size_t limit = longer / 3 > 1 ? longer / 3 : 1;
        bool close = d <= limit || is_prefix(s, names[i]) || is_prefix(names[i], s);
        if (close && d < best_d) best = i, best_d = d;
    }
    return best;
}

/* ---- the syntax scan ----------------------------------------------------- */

typedef struct scan {
    const char *s;
    size_t n, i;
    size_t err_at;
    char what[160]; /* what was expected, empty while all is well */
} scan;

#define STR(x) #x
#define XSTR(x) STR(x)

static bool is_digit(char ch) {
    return ch >= '0' && ch <= '9';
}

/* Records the first error at position at: "<expected>, got <found>". */
static bool scan_fail(scan *p, size_t at, const char *expected) {
    if (p->what[0]) return false;
    p->err_at = at;
    char got[48];
    if (at >= p->n) {
        snprintf(got, sizeof got, "end of input");
    } else {
        unsigned char ch = (unsigned char)p->s[at];
        /* a word (tru, NaN) or number (01, 1e999) reads better whole */
        bool num = ch == '-' || is_digit((char)ch);
        size_t w = 0;
        while (at + w < p->n && w < 24) {
            char x = p->s[at + w];
            bool letter = (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z');
            if (!(letter || (num && (is_digit(x) || x == '.' || x == '+' || x == '-')))) break;
            w++;
        }
        if (w > 1)
            snprintf(got, sizeof got, "'%.*s'", (int)w, p->s + at);
        else if (ch >= 0x20 && ch < 0x7f)
            snprintf(got, sizeof got, "'%c'", ch);
        else
            snprintf(got, sizeof got, "byte 0x%02x", ch);
    }
    snprintf(p->what, sizeof p->what, "%s, got %s", expected, got);
    return false;
}

static void skip_ws(scan *p) {
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static char peek(const scan *p) {
    return p->i < p->n ? p->s[p->i] : '\0';
}

static bool scan_string(scan *p) {
    size_t start = p->i++; /* the opening quote */
    while (p->i < p->n) {
        unsigned char ch = (unsigned char)p->s[p->i];
        if (ch == '"') {
            p->i++;
            return true;
        }
        if (ch < 0x20)
            return scan_fail(p, p->i,
                             "expected a character or '\"' in a string "
                             "(control characters must be escaped, as \\n)");
        if (ch == '\\') {
            char e = p->i + 1 < p->n ? p->s[p->i + 1] : '\0';
            if (e == 'u') {
                for (int k = 2; k < 6; k++) {
                    char h = p->i + (size_t)k < p->n ? p->s[p->i + k] : '\0';
                    if (!(is_digit(h) || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return scan_fail(p, p->i + (size_t)k, "expected 4 hex digits after \\u");
                }
                p->i += 6;
                continue;
            }
            if (!e || !strchr("\"\\/bfnrt", e))
                return scan_fail(p, p->i + 1,
                                 "expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            p->i += 2;
            continue;
        }
        p->i++;
    }
    scan_fail(p, start, "unterminated string: expected a closing '\"'");
    snprintf(p->what, sizeof p->what,
             "unterminated string: no closing '\"' before the end "
             "of input");
    return false;
}

static bool scan_digits(scan *p) {
    if (!is_digit(peek(p))) return scan_fail(p, p->i, "expected a digit");
    while (is_digit(peek(p))) p->i++;
    return true;
}

static bool scan_number(scan *p) {
    size_t start = p->i;
    if (peek(p) == '-') p->i++;
    if (peek(p) == '0') {
        p->i++;
        if (is_digit(peek(p)))
            return scan_fail(p, start, "expected a number without leading zeros");
    } else if (!scan_digits(p)) {
        return false;
    }
    if (peek(p) == '.') {
        p->i++;
        if (!scan_digits(p)) return false;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->i++;
        if (peek(p) == '+' || peek(p) == '-') p->i++;
        if (!scan_digits(p)) return false;
    }
    /* syntax is fine; now the value must fit a double (1e999 does not) */
    size_t len = p->i - start;
    char small[64], *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf) return scan_fail(p, start, "expected a shorter number (out of memory)");
    memcpy(buf, p->s + start, len);
    buf[len] = '\0';
    bool finite = isfinite(strtod(buf, NULL));
    if (buf != small) free(buf);
    if (!finite) return scan_fail(p, start, "expected a number a double can hold");
    return true;
}

static bool scan_value(scan *p, int depth);

/* An object or array after its opening bracket. */
static bool scan_container(scan *p, int depth, bool object) {
    char close = object ? '}' : ']';
    const char *sep = object ? "expected ',' or '}'" : "expected ',' or ']'";
    if (depth > TG_JSON_MAX_DEPTH)
        return scan_fail(p, p->i - 1,
                         "expected at most " XSTR(TG_JSON_MAX_DEPTH) " levels of nesting");
    skip_ws(p);
    if (peek(p) == close) {
        p->i++;
        return true;
    }
    for (;;) {
        if (object) {
            if (peek(p) != '"') {
                bool trailing = peek(p) == '}'; /* a first '}' was taken above */
                return scan_fail(p, p->i,
                                 trailing ? "expected a key after ',' (JSON allows no "
                                            "trailing comma)"
                                          : "expected a key in double quotes");
            }
            if (!scan_string(p)) return false;
            skip_ws(p);
            if (peek(p) != ':') return scan_fail(p, p->i, "expected ':' after the key");
            p->i++;
        } else if (peek(p) == ']') {
            return scan_fail(p, p->i, "expected a value after ',' (JSON allows no trailing comma)");
        }
        if (!scan_value(p, depth)) return false;
        skip_ws(p);
        char ch = peek(p);
        if (ch == close) {
            p->i++;
            return true;
        }
        if (ch != ',') return scan_fail(p, p->i, sep);
        p->i++;
        skip_ws(p);
    }
}

static bool scan_value(scan *p, int depth) {
    skip_ws(p);
    char ch = peek(p);
    if (p->i < p->n && ch == '{') return p->i++, scan_container(p, depth + 1, true);
    if (p->i < p->n && ch == '[') return p->i++, scan_container(p, depth + 1, false);
    if (ch == '"') return scan_string(p);
    if (ch == '-' || is_digit(ch)) return scan_number(p);
    static const char *const words[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(words[k]);
        if (p->n - p->i >= len && strncmp(p->s + p->i, words[k], len) == 0) {
            char after = p->i + len < p->n ? p->s[p->i + len] : ' ';
            if (!((after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z'))) {
                p->i += len;
                return true;
            }
        }
    }
    return scan_fail(p, p->i,
                     "expected a value (object, array, string, number, true, false "
                     "or null)");
}

cJSON *tg_json_parse(const tg_jctx *c, const char *text, size_t len) {
    if (!text) {
        tg_json_fail(c, NULL, "no JSON text");
        return NULL;
    }
    size_t bom = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    scan p = {.s = text, .n = len, .i = bom};
    if (scan_value(&p, 0)) {
        skip_ws(&p);
        if (p.i < p.n) scan_fail(&p, p.i, "expected the end of input after the top-level value");
    }
    if (p.what[0]) {
        int line = 1;
        size_t line_start = 0;
        for (size_t k = 0; k < p.err_at && k < len; k++)
            if (text[k] == '\n') line++, line_start = k + 1;
        /* file:line:col, as compilers write it, so editors can jump there;
         * line:col alone for text that has no file */
        tg_jctx at = *c;
        char file[TG_JSON_PATH_MAX];
        snprintf(file, sizeof file, "%s%s%d:%zu", c->file ? c->file : "",
                 c->file && *c->file ? ":" : "", line, p.err_at - line_start + 1);
        at.file = file;
        tg_json_fail(&at, NULL, "malformed JSON: %s", p.what);
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLengthOpts(text + bom, len - bom, NULL, false);
    if (!root) tg_json_fail(c, NULL, "out of memory reading JSON");
    return root;
}

/* ---- readers -------------------------------------------------------------- */

int tg_json_expect_object(const tg_jctx *c, const cJSON *v, const char *path, const char *what) {
    if (cJSON_IsObject(v)) return 0;
    char d[64];
    return tg_json_fail(c, path, "expected %s, got %s", what ? what : "an object",
                        tg_json_describe(v, d, sizeof d));
}

int tg_json_check_keys(const tg_jctx *c, const cJSON *obj, const char *path,
                       const char *const *allowed) {
    char p[TG_JSON_PATH_MAX], list[512], q[ECHO_MAX + 16];
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
    char d[64], p[TG_JSON_PATH_MAX], list[256], expected[320], q[ECHO_MAX + 16], q2[ECHO_MAX + 16];
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
