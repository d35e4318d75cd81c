/* Messages of the JSON readers: "file: path: what", the text they echo
 * (escaped and cut short), paths as "model.layers[1].hidden", and the
 * nearest known name for "did you mean". Below the readers (jsoncheck.c)
 * and the strict parse (jsonscan.c), which both write through
 * tg_json_fail. */
#include "jsoncheck.h"
#include "json_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    echo(buf, n, s ? s : "", TG__JSON_ECHO_MAX, '\'');
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
        echo(buf, n, v->valuestring, TG__JSON_ECHO_MAX, '"');
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
    char k[TG__JSON_ECHO_MAX + 16] = "";
    if (is_ident(key)) {
        echo(k, sizeof k, key, TG__JSON_ECHO_MAX, 0);
    } else {
        snprintf(k, sizeof k, "[\"");
        echo(k, sizeof k, key, TG__JSON_ECHO_MAX / 2, '"');
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
