/* A model built from a spec: each layer's module from its row
 * (model/layer.h), named like an nn.Sequential's children, and the
 * conditioning map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/condition.h"
#include "layer.h"

static void model_destroy(tg_module *base) {
    tg_model *m = (tg_model *)base;
    free(m->layers);
    free(m->mods);
}

tg_model *tg_model_new(const tg_spec *s, tg_rng *init, char *err, size_t errlen) {
    tg_jctx c = {.file = s ? s->file : NULL, .err = err, .errlen = errlen};
    char p[TG_JSON_PATH_MAX], e[256];
    if (!s || !init) {
        tg_json_fail(&c, NULL, "tg_model_new: %s is NULL", s ? "init" : "spec");
        return NULL;
    }
    if (s->input != TG_INPUT_VECTORS && !s->vocab) {
        tg_json_fail(&c, "input.vocab",
                     "not known yet; give it in the spec, or take it from the "
                     "data with tg_spec_set_vocab");
        return NULL;
    }
    tg_model *m = calloc(1, sizeof *m);
    if (!m) {
        tg_json_fail(&c, NULL, "tg_model_new: out of memory");
        return NULL;
    }
    m->base.kind = "model";
    m->base.training = true;
    m->base.destroy = model_destroy;
    m->task = s->task, m->input = s->input, m->vocab = s->vocab;
    m->input_size = s->input_size, m->output_size = s->output_size;
    m->batch_first = s->batch_first, m->pooled = s->pooled, m->tree_target = s->tree_target;
    m->n_layers = s->n_layers;
    m->layers = malloc((size_t)(s->n_layers + 1) * sizeof *m->layers); /* seq2seq: none */
    m->mods = calloc((size_t)s->n_layers + 1, sizeof *m->mods);
    if (!m->layers || !m->mods) goto oom;
    if (s->n_layers) memcpy(m->layers, s->layers, (size_t)s->n_layers * sizeof *m->layers);
    tg_rng_seed(&m->rng, tg_rng_u64(init));
    if (s->task == TG_TASK_SEQ2SEQ && tg_model_seq2seq_build(m, s, init, e, sizeof e) != 0) {
        tg_json_fail(&c, "model", "%s", e);
        tg_module_free(&m->base);
        return NULL;
    }
    for (int k = 0; k < m->n_layers; k++) {
        const tg_layer_spec *L = &m->layers[k];
        const tg__layer_row *row = tg__layer_row_of(L->type);
        if (!row->build) continue; /* no parameters */
        snprintf(e, sizeof e, "out of memory");
        tg_module *mod = row->build(m, L, init, e, sizeof e);
        if (!mod) {
            tg_json_fail(&c, tg_json_path_index(p, "model.layers", L->index), "%s", e);
            tg_module_free(&m->base);
            return NULL;
        }
        if (tg_module_add_child(&m->base, L->name, mod) != 0) goto oom;
        m->mods[k] = mod;
    }
    m->cond_size = s->cond_size, m->cond_as = s->cond_as, m->cond_layer = s->cond_layer;
    if (m->cond_size && m->cond_as == TG_COND_INITIAL_STATE) {
        tg_rnn *rnn = (tg_rnn *)m->mods[m->cond_layer];
        if (!(m->cond_map = (tg_module *)tg_condition_new(m->cond_size, rnn, init))) goto oom;
        if (tg_module_add_child(&m->base, "condition", m->cond_map) != 0) goto oom;
    }
    return m;
oom:
    tg_module_free(&m->base);
    tg_json_fail(&c, NULL, "tg_model_new: out of memory");
    return NULL;
}

void tg_model_free(tg_model *m) {
    if (m) tg_module_free(&m->base);
}
