/* The cell layer type: a recurrent layer whose cell is written in the spec
 * as equations (docs/spec.md "Cells from equations"). The layer around the
 * cell is lstm's (the same keys but the cell's, stacked, bidirectional,
 * lengths, train.memory, the token path): only the build differs, which
 * makes the row from the parsed equations. Also the module that keeps a
 * built row alive (cell_def.h), which renet's "cell" object uses too. */
#include <stdlib.h>
#include <string.h>

#include "cell_def.h"
#include "layer.h"

static const char *const CELL_KEYS[] = {
    "type",  "name",   "input",  "hidden",    "num_layers", "bidirectional", "dropout",
    "bias",  "batch_first", "gates", "states", "params",     "equations",     NULL};

/* The holder: a copy of the definition and the row that reads it. */
typedef struct cell_holder {
    tg_module base;
    tg_cell cell;
    char initial[TG_CELL_MAX_STATES][TG_CX_NAME_MAX + 1]; /* "h0", "c0" */
    tg__cell_def def;
} cell_holder;

tg_module *tg__cell_holder_new(const tg__cell_def *d, const tg_cell **cell) {
    cell_holder *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->base.kind = "cell";
    m->base.training = true;
    m->def = *d;
    tg_cell *r = &m->cell;
    *r = (tg_cell){.name = "cell",
                   .scope = "cell",
                   .gates = d->n_gates,
                   .n_states = d->n_states,
                   .n_params = d->n_params,
                   .composed = tg__cx_step,
                   .ctx = &m->def,
                   .fuse = true};
    for (int k = 0; k < d->n_states; k++) {
        snprintf(m->initial[k], sizeof m->initial[k], "%s0", m->def.state[k]);
        r->state[k] = (tg_cell_state){m->def.state[k], m->def.state[k], m->initial[k]};
    }
    for (int p = 0; p < d->n_params; p++) {
        const tg__cx_param *q = &m->def.param[p];
        r->param[p] = (tg_cell_param){q->name, q->width, q->uniform, q->init};
    }
    *cell = r;
    return &m->base;
}

static int cell_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                      tg_layer_spec *L) {
    if (tg__layer_row_of(TG_LAYER_LSTM)->parse(c, s, obj, path, L)) return -1;
    return tg__cell_def_parse(c, obj, path, &L->cell_def);
}

static int cell_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                     tg__sizing *z) {
    return tg__layer_row_of(TG_LAYER_LSTM)->size(c, s, path, L, z);
}

static tg_module *cell_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                             size_t elen) {
    (void)m;
    const tg_cell *cell;
    tg_module *holder = tg__cell_holder_new(L->cell_def, &cell);
    if (!holder) {
        tg_error_set(e, elen, "cell: out of memory");
        return NULL;
    }
    tg_rnn_options o = {.cell = cell,
                        .input_size = L->in,
                        .hidden_size = L->hidden,
                        .num_layers = L->num_layers,
                        .no_bias = !L->bias,
                        .bidirectional = L->bidirectional,
                        .dropout = L->dropout,
                        .seed = tg_rng_u64(init),
                        .memory = L->memory};
    tg_rnn *rnn = tg_rnn_new(o, init, e, elen);
    if (!rnn) {
        tg_module_free(holder);
        return NULL;
    }
    if (tg_module_add_child(&rnn->base, "", holder)) {
        tg_module_free(&rnn->base);
        tg_error_set(e, elen, "cell: out of memory");
        return NULL;
    }
    return &rnn->base;
}

static tg_tensor *cell_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    return tg__layer_row_of(TG_LAYER_LSTM)->forward(r, k, x);
}

const tg__layer_row tg__layer_cell = {
    .keys = CELL_KEYS,
    .parse = cell_parse,
    .size = cell_size,
    .build = cell_build,
    .forward = cell_forward,
};
