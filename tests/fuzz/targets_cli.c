/* Fuzz targets over the tapegrad command's readers: each task's data file
 * (read as the example of that task's spec would, then its first batches
 * drawn) and the checkpoint a run resumes from. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fuzz.h"

#ifndef FUZZ_SRC_DIR
#define FUZZ_SRC_DIR "."
#endif

/* The example spec of a task, parsed once (kept for the process's life). */
static tg_spec *example_spec(const char *rel) {
    char path[1024], err[1024];
    snprintf(path, sizeof path, "%s/%s", FUZZ_SRC_DIR, rel);
    tg_spec *s = tg_spec_load(path, err, sizeof err);
    if (!s) fprintf(stderr, "fuzz: %s\n", err);
    return s;
}

/* Reads the input as s's data, then draws two training batches and up to
 * three held-out ones, as tapegrad train would. */
static int data_target(tg_spec *s, const uint8_t *data, size_t size) {
    char *text = fuzz_copy(data, size), err[1024];
    cli_data d;
    if (!s || !text) {
        free(text);
        return 0;
    }
    if (cli_data_parse(&d, s, "fuzz.txt", text, (int64_t)size, NULL, s->train.valid_fraction, false,
                       err, sizeof err) == 0) {
        cli_batch b = {0};
        for (int64_t step = 0; step < 2; step++)
            if (cli_data_train_batch(&d, s, step, s->train.seed, &b, err, sizeof err)) break;
        int64_t n = cli_data_eval_count(&d, s);
        for (int64_t i = 0; i < n && i < 3; i++)
            if (cli_data_eval_batch(&d, s, i, &b, err, sizeof err)) break;
        cli_batch_free(&b);
        cli_data_free(&d);
    }
    free(text);
    return 0;
}

#define DATA_TARGET(fn, rel)                                                                       \
    int fn(const uint8_t *data, size_t size) {                                                     \
        static tg_spec *s;                                                                         \
        if (!s) s = example_spec(rel);                                                             \
        return data_target(s, data, size);                                                         \
    }
DATA_TARGET(fuzz_text, "examples/charlm/spec.json")
DATA_TARGET(fuzz_cond, "examples/genword/spec-input.json")
DATA_TARGET(fuzz_classify, "examples/langid/spec.json")
DATA_TARGET(fuzz_tag, "examples/postag/spec.json")
DATA_TARGET(fuzz_regress, "examples/sunspots/spec.json")
DATA_TARGET(fuzz_treedata, "examples/treenet/spec.json")
DATA_TARGET(fuzz_pairs, "examples/g2p/spec.json")

/* Image rows: read as training data, then each line as predict reads it
 * (cli_image_row, the label optional). */
int fuzz_image(const uint8_t *data, size_t size) {
    static tg_spec *s;
    if (!s) s = example_spec("examples/digits/spec.json");
    if (!s) return 0;
    data_target(s, data, size);
    int64_t N = s->image_height * s->image_width;
    double *px = malloc((size_t)N * sizeof *px), *x = malloc((size_t)N * sizeof *x);
    const char *p = (const char *)data, *end = p + size, *label;
    size_t label_size;
    bool not_number;
    char err[256];
    while (px && x && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        cli_image_row(s, p, eol, px, x, &label, &label_size, &not_number, err, sizeof err);
        p = eol + 1;
    }
    free(px);
    free(x);
    return 0;
}

/* The spec of tests/fuzz/seeds/checkpoint/ (a tiny LSTM language model). */
static const char CKPT_SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4},"
    "   {\"type\": \"lstm\", \"hidden\": 4}, {\"type\": \"linear\", \"out\": \"vocab\"}]},"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},"
    " \"train\": {\"batch\": 2, \"seq_len\": 8, \"steps\": 2, \"seed\": 1}}";

/* What --resume does with the checkpoint: its metadata, a model of the
 * vocabulary it names, then every tensor, the optimizer's state, the
 * carried state and the generators. */
int fuzz_checkpoint(const uint8_t *data, size_t size) {
    char err[1024];
    const char *path = fuzz_file(data, size);
    cli_ckpt_info info = {0};
    if (!path || cli_ckpt_info_read(path, &info, err, sizeof err)) {
        if (path) remove(path);
        return 0;
    }
    tg_spec *s = tg_spec_parse(CKPT_SPEC, "fuzz.json", err, sizeof err);
    cli_model cm = {0};
    tg_optim *opt = NULL;
    tg_model_state *st = NULL;
    if (s && !cli_set_vocab("fuzz", s, &info.vocab) && !cli_model_build("fuzz", &cm, s, 1)) {
        opt = tg_optim_spec_build(&s->optim, cm.tensors, cm.n);
        st = tg_model_state_new(cm.model);
        if (opt && st) cli_ckpt_load(path, &cm, opt, st, err, sizeof err);
    }
    tg_model_state_free(st);
    tg_optim_free(opt);
    cli_model_free(&cm);
    cli_ckpt_info_free(&info);
    tg_spec_free(s);
    remove(path);
    return 0;
}
