/* The strict syntax scan behind tg_json_parse: cJSON only says "somewhere
 * near here" and accepts some non-JSON, so the text is scanned first, and
 * the first problem is reported as file:LINE:COL with what was expected
 * and what was there; only clean text goes to cJSON for the tree. */
#include "jsoncheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
