/* The cells of bench_rnn --cell (bench_cells.h). */
#include <stdio.h>
#include <string.h>

#include "bench_cells.h"

/* The LSTM as a user writes it (README, examples/readme/lstm_by_hand.c):
 * its step from ordinary tape ops, run as one traced node per step. */
static int user_lstm_step(tg_tape *t, const tg_cell *cell, tg_cell_io *io) {
    (void)cell;
    tg_tensor *pre = tg_add(t, io->gx, tg_cell_recurrent(t, io)), *g[4];
    if (tg_chunk(t, pre, 4, 1, g) != 4) return -1;
    tg_tensor *i = tg_sigmoid(t, g[0]), *f = tg_sigmoid(t, g[1]);
    tg_tensor *cand = tg_tanh(t, g[2]), *o = tg_sigmoid(t, g[3]);
    io->next[1] = tg_add(t, tg_mul(t, f, io->state[1]), tg_mul(t, i, cand));
    io->next[0] = tg_mul(t, o, tg_tanh(t, io->next[1]));
    return io->next[0] ? 0 : -1;
}

static const tg_cell user_lstm = {.name = "user_lstm",
                                  .scope = "user_lstm",
                                  .gates = 4,
                                  .n_states = 2,
                                  .state = {{"h", "hidden", "h0"}, {"c", "cell", "c0"}},
                                  .composed = user_lstm_step,
                                  .fuse = true};

/* The row of the first recurrent layer of the spec at path, built as a
 * model (the row lives in the model's layer). */
static int json_cell(const char *path, bench_cell *out, char *err, size_t errlen) {
    tg_spec *s = tg_spec_load(path, err, errlen);
    if (!s) return -1;
    tg_rng r;
    tg_rng_seed(&r, 1);
    if (tg_spec_set_vocab(s, 65, err, errlen) == 0) out->model = tg_model_new(s, &r, err, errlen);
    tg_spec_free(s);
    if (!out->model) return -1;
    for (int i = 0; i < out->model->n_layers; i++) {
        tg_module *m = out->model->mods[i];
        if (m && strcmp(m->kind, "rnn") == 0) {
            out->row = ((tg_rnn *)m)->cell;
            return 0;
        }
    }
    snprintf(err, errlen, "%s: no recurrent layer", path);
    return -1;
}

/* The wishlist's LSTMs, one option each at a typical value. */
static const struct {
    const char *name;
    tg_cell_variant_options o;
} VARIANTS[] = {
    {"ln", {.layer_norm = true}},
    {"peephole", {.peephole = true}},
    {"zoneout", {.zoneout_h = 0.1, .zoneout_c = 0.1}},
    {"rdrop", {.recurrent_dropout = 0.25}},
};

int bench_cell_make(const char *name, const char *json_path, bench_cell *out, char *err,
                    size_t errlen) {
    *out = (bench_cell){.name = name ? name : "builtin"};
    if (!name) return 0;
    if (strcmp(name, "user") == 0) {
        out->row = &user_lstm;
        return 0;
    }
    if (strcmp(name, "json") == 0) return json_cell(json_path, out, err, errlen);
    for (size_t i = 0; i < sizeof VARIANTS / sizeof *VARIANTS; i++)
        if (strcmp(name, VARIANTS[i].name) == 0) {
            out->variant = tg_cell_variant_new("lstm", &VARIANTS[i].o, err, errlen);
            out->row = out->variant;
            return out->row ? 0 : -1;
        }
    snprintf(err, errlen, "--cell %s: expected one of " BENCH_CELL_NAMES, name);
    return -1;
}

void bench_cell_free(bench_cell *c) {
    tg_cell_variant_free(c->variant);
    if (c->model) tg_model_free(c->model);
    *c = (bench_cell){0};
}
