/* Validated reading of JSON documents (specs, configuration sections):
 * strict parsing with line and column on malformed input, and readers that
 * check each value's type and range and report what was wrong and where, as
 *
 *     spec.json:4:18: malformed JSON: expected ',' or '}', got '"'
 *     spec.json: model.layers[1].hidden: expected a positive integer, got -3
 *     spec.json: model.layers[0].hiden: unknown key; did you mean 'hidden'?
 *
 * Every function writes at most one message (the first problem found) into
 * the context's buffer and returns -1; nothing here allocates except
 * tg_json_parse's tree. Paths are plain strings built by the caller with
 * tg_json_path ("model" + "layers" + 1 -> "model.layers[1]"). */
#ifndef TG_JSONCHECK_H
#define TG_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef struct tg_jerrs tg_jerrs;

/* Where messages go. file (may be NULL) prefixes every message. With errs
 * (tg_json_collect), every message is kept instead of only the last one. */
typedef struct tg_jctx {
    const char *file;
    char *err;
    size_t errlen;
    tg_jerrs *errs;
} tg_jctx;

/* ---- every error at once --------------------------------------------------
 * A reader that goes on after a failed value (the next layer, the next
 * section) reports every problem of a document in one go:
 *
 *     tg_jerrs *e = tg_json_collect(&c, root, 20);
 *     ... parse, each tg_json_fail adds a message ...
 *     int n = tg_json_collected(&c);
 *
 * tg_json_collected writes the messages into c->err, one per line, in the
 * order of the document (by the position of each message's path in root;
 * a missing key counts as the end of its object), at most max of them,
 * then "... and N more"; it frees the collection and returns how many
 * there were. Out of memory, tg_json_collect returns NULL and
 * messages go to c->err one at a time, as without it. */
tg_jerrs *tg_json_collect(tg_jctx *c, const cJSON *root, int max);
int tg_json_collected(tg_jctx *c);

/* Room for any path this module builds (longer ones are cut with "..."). */
#define TG_JSON_PATH_MAX 256
/* Nesting deeper than this is refused as malformed (no deep recursion). */
#define TG_JSON_MAX_DEPTH 256

/* Parses len bytes of strict JSON (RFC 8259; a leading UTF-8 byte-order mark
 * is skipped). Returns the tree (free with cJSON_Delete) or NULL with
 * "file:LINE:COL: malformed JSON: <what was expected>, got <what was
 * there>" ("LINE:COL: ..." when c->file is NULL or empty; line and column
 * count from 1; the column counts bytes). Numbers
 * too large for a double are refused here too. */
cJSON *tg_json_parse(const tg_jctx *c, const char *text, size_t len);

/* Writes "file: path: <message>" (or "file: <message>" when path is empty)
 * and returns -1. */
int tg_json_fail(const tg_jctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* buf <- "path.key" (or "key" at the root); a key that is not an identifier
 * is written as ["key"], escaped and cut short. Returns buf. */
const char *tg_json_path(char *buf, const char *path, const char *key);
/* buf <- "path[i]". Returns buf. */
const char *tg_json_path_index(char *buf, const char *path, int i);

/* A short rendering of a value for messages: -3, 0.5, "gelu" (escaped, cut
 * after 40 bytes), true, null, an array, an object. Returns buf. */
const char *tg_json_describe(const cJSON *v, char *buf, size_t n);
/* 'name', escaped and cut short, into buf. Returns buf. */
const char *tg_json_quote(const char *s, char *buf, size_t n);

/* The entry of names (NULL-terminated) closest to s by edit distance, or -1
 * if none is close (distance at most a third of the longer word, at least
 * 1; or one word a prefix of the other, as hidden_size and hidden). */
int tg_json_nearest(const char *s, const char *const *names);
/* "known: a, b, c" style list of names into buf. Returns buf. */
const char *tg_json_list(const char *const *names, char *buf, size_t n);

/* Fails unless v is an object: "path: expected an object, got 3". */
int tg_json_expect_object(const tg_jctx *c, const cJSON *v, const char *path, const char *what);
/* Checks every key of obj: a repeated key, or one not in allowed
 * (NULL-terminated), fails with "path.key: duplicate key" or "path.key:
 * unknown key; did you mean 'x'?" (or "...; valid keys: a, b, c"). */
int tg_json_check_keys(const tg_jctx *c, const cJSON *obj, const char *path,
                       const char *const *allowed);

/* Readers of obj[key]. Each returns 1 when the key is present and valid (and
 * writes *out), 0 when it is absent (*out untouched: preset the default),
 * -1 on a bad value or when absent but required ("path.key: missing;
 * expected a positive integer"). */
enum { TG_JSON_OPTIONAL = 0, TG_JSON_REQUIRED = 1 };

/* An integer in [lo, hi] (a JSON number with no fraction). Messages say
 * "a positive integer" for lo 1, "a non-negative integer" for lo 0. */
int tg_json_int(const tg_jctx *c, const cJSON *obj, const char *path, const char *key, int required,
                int64_t lo, int64_t hi, int64_t *out);
/* A number in the interval from lo to hi, each end closed or open
 * (lo_open/hi_open); use -INFINITY/INFINITY for no bound. Messages say
 * "expected a number in [0, 1)", "expected a number > 0", ... */
int tg_json_number(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                   int required, double lo, bool lo_open, double hi, bool hi_open, double *out);
/* Reads a boolean (true or false) key; otherwise as tg_json_number. */
int tg_json_bool(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                 int required, bool *out);
/* Any string; *out points into the tree. */
int tg_json_string(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                   int required, const char **out);
/* One of names (NULL-terminated); *out gets its index. `what` names the
 * kind of value in messages: "path.key: unknown <what> 'lstn'; did you mean
 * 'lstm'? (known: rnn, lstm, gru)". */
int tg_json_enum(const tg_jctx *c, const cJSON *obj, const char *path, const char *key,
                 int required, const char *what, const char *const *names, int *out);

#endif
