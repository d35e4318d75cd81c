/* The fuzz targets (tests/fuzz/README.md): each feeds one input, any bytes,
 * to one reader the way the library or the tapegrad command does, and
 * returns 0. libFuzzer runs them (tests/fuzz/driver/libfuzzer.c, one binary
 * per target, `make fuzz`); the ordinary suite replays the inputs of
 * tests/fuzz/regress/<target>/ through the same functions (test_regress.c).
 * FUZZ_SRC_DIR is the source tree (for the example specs). */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* parsers of the library (targets_lib.c) */
int fuzz_spec(const uint8_t *data, size_t size);        /* tg_spec_parse_len */
int fuzz_safetensors(const uint8_t *data, size_t size); /* tg_safetensors_open and get */
int fuzz_trees(const uint8_t *data, size_t size);       /* tg_treebank_parse */
/* the tapegrad command's data readers and checkpoint resume (targets_cli.c) */
int fuzz_text(const uint8_t *data, size_t size);       /* language_model bytes */
int fuzz_cond(const uint8_t *data, size_t size);       /* label<TAB>text, conditioned LM */
int fuzz_classify(const uint8_t *data, size_t size);   /* label<TAB>text */
int fuzz_tag(const uint8_t *data, size_t size);        /* word/tag lines */
int fuzz_regress(const uint8_t *data, size_t size);    /* CSV rows */
int fuzz_treedata(const uint8_t *data, size_t size);   /* bracketed trees for a tree model */
int fuzz_pairs(const uint8_t *data, size_t size);      /* source<TAB>target */
int fuzz_checkpoint(const uint8_t *data, size_t size); /* --resume of a checkpoint */
int fuzz_image(const uint8_t *data, size_t size);      /* label,pixel,... CSV images */

typedef struct fuzz_target {
    const char *name; /* tests/fuzz/regress/<name>/, build/fuzz/fuzz_<name> */
    fuzz_fn fn;
} fuzz_target;

/* Every target, then {NULL, NULL}. */
extern const fuzz_target fuzz_targets[];

/* The input as a NUL-terminated heap copy (the readers take C strings). */
char *fuzz_copy(const uint8_t *data, size_t size);
/* The input written to a private temporary file, for readers of paths;
 * returns its path (static storage; the same file every call) or NULL. */
const char *fuzz_file(const uint8_t *data, size_t size);

#endif
