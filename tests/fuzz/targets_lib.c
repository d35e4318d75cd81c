/* Fuzz targets over the library's own readers: specs, safetensors files,
 * bracketed trees. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "tapegrad.h"

const fuzz_target fuzz_targets[] = {
    {"spec", fuzz_spec},
    {"safetensors", fuzz_safetensors},
    {"trees", fuzz_trees},
    {"text", fuzz_text},
    {"cond", fuzz_cond},
    {"classify", fuzz_classify},
    {"tag", fuzz_tag},
    {"regress", fuzz_regress},
    {"treedata", fuzz_treedata},
    {"pairs", fuzz_pairs},
    {"checkpoint", fuzz_checkpoint},
    {"image", fuzz_image},
    {NULL, NULL},
};

char *fuzz_copy(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return NULL;
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

const char *fuzz_file(const uint8_t *data, size_t size) {
    static char path[256];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/tapegrad-fuzz-%ld.bin", dir && *dir ? dir : "/tmp",
                 (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    bool ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok) return NULL;
    return path;
}

int fuzz_spec(const uint8_t *data, size_t size) {
    char err[1024];
    tg_spec *s = tg_spec_parse_len((const char *)data, size, "fuzz.json", err, sizeof err);
    tg_spec_free(s);
    return 0;
}

int fuzz_safetensors(const uint8_t *data, size_t size) {
    char err[1024];
    const char *path = fuzz_file(data, size);
    tg_st_file *f = path ? tg_safetensors_open(path, err, sizeof err) : NULL;
    for (int i = 0; f && i < tg_safetensors_count(f); i++) {
        const char *name = tg_safetensors_name(f, i);
        tg_safetensors_dtype(f, name);
        tg_safetensors_get(f, name);
        tg_safetensors_get_i64(f, name, NULL);
    }
    if (f) tg_safetensors_meta(f, "tapegrad.cli.step");
    tg_safetensors_close(f);
    if (path) remove(path);
    return 0;
}

int fuzz_trees(const uint8_t *data, size_t size) {
    char err[1024];
    for (int optional = 0; optional < 2; optional++) {
        tg_tree_read_options opt = {.leaf_labels_optional = optional};
        tg_treebank *b =
            tg_treebank_parse((const char *)data, size, "fuzz.txt", &opt, err, sizeof err);
        tg_treebank_free(b);
    }
    return 0;
}
