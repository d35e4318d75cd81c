/* Building the wishlist's cells (cell_variant.h): the options checked,
 * the parameters listed, and the two rows (outer and core) set up. */
#include "cell_variant_impl.h"

#include "../core/core.h"

#include <stdlib.h>
#include <string.h>

#define FAIL(...) (tg_error_set(err, errlen, __VA_ARGS__), -1)

/* A probability option in [0, 1), or a message naming it. */
static int check_p(const char *base, const char *name, double p, char *err, size_t errlen) {
    if (p >= 0 && p < 1) return 0;
    return FAIL("cell variant \"%s\": %s must be in [0, 1), got %g", base, name, p);
}

static int check(const char *base, bool lstm, const tg_cell_variant_options *o, int *gate,
                 int *cand, char *err, size_t errlen) {
    *gate = o->gate_activation ? tg_cell_activation_find(o->gate_activation) : TG_CELL_ACT_SIGMOID;
    *cand = o->activation ? tg_cell_activation_find(o->activation) : TG_CELL_ACT_TANH;
    const char *names = "sigmoid, hard_sigmoid, tanh, hard_tanh, softsign, relu or identity";
    if (*gate < 0)
        return FAIL("cell variant \"%s\": gate_activation \"%s\": expected %s", base,
                    o->gate_activation, names);
    if (*cand < 0)
        return FAIL("cell variant \"%s\": activation \"%s\": expected %s", base, o->activation,
                    names);
    if (!lstm && o->peephole)
        return FAIL("cell variant \"%s\": peephole: only an LSTM has a cell to look at", base);
    if (!lstm && o->zoneout_c != 0)
        return FAIL("cell variant \"%s\": zoneout_c: only an LSTM has a cell state", base);
    if (!(o->layer_norm_eps >= 0) || o->layer_norm_eps > 1)
        return FAIL("cell variant \"%s\": layer_norm_eps must be in [0, 1], got %g", base,
                    o->layer_norm_eps);
    if (check_p(base, "recurrent_dropout", o->recurrent_dropout, err, errlen) ||
        check_p(base, "input_dropout", o->input_dropout, err, errlen) ||
        check_p(base, "zoneout_h", o->zoneout_h, err, errlen) ||
        check_p(base, "zoneout_c", o->zoneout_c, err, errlen))
        return -1;
    return 0;
}

/* The cell's own parameters in order: layer norm's, then the peepholes. */
static void list_params(tg__variant *v, int G) {
    tg_cell *r = &v->outer;
    v->p_ln = v->p_peep = -1;
    if (v->opt.layer_norm) {
        static const char *const ln[] = {"ln_ih_weight", "ln_ih_bias", "ln_hh_weight",
                                         "ln_hh_bias",   "ln_c_weight", "ln_c_bias"};
        v->p_ln = r->n_params;
        for (int j = 0; j < (v->lstm ? 6 : 4); j++)
            r->param[r->n_params++] =
                (tg_cell_param){.name = ln[j], .width = j < 4 ? G : 1, .init = j % 2 ? 0 : 1};
    }
    if (v->opt.peephole) {
        static const char *const ph[] = {"weight_ci", "weight_cf", "weight_co"};
        v->p_peep = r->n_params;
        for (int j = 0; j < 3; j++)
            r->param[r->n_params++] = (tg_cell_param){.name = ph[j], .width = 1, .uniform = true};
    }
}

tg_cell *tg_cell_variant_new(const char *base, const tg_cell_variant_options *o, char *err,
                             size_t errlen) {
    const tg_cell *b = tg_cell_find(base);
    bool lstm = b && strcmp(b->name, "lstm") == 0;
    if (!b || (!lstm && strcmp(b->name, "gru") != 0)) {
        return tg_error_set(err, errlen, "cell variant: base \"%s\": expected \"lstm\" or \"gru\"",
                            base ? base : "(null)");
    }
    tg_cell_variant_options none = {0};
    if (!o) o = &none;
    int gate, cand;
    if (check(b->name, lstm, o, &gate, &cand, err, errlen) != 0) return NULL;
    tg__variant *v = calloc(1, sizeof *v);
    if (!v) {
        return tg_error_set(err, errlen, "cell variant \"%s\": out of memory", b->name);
    }
    v->opt = *o;
    v->opt.gate_activation = tg_cell_activation_name(gate); /* static: outlives the caller's */
    v->opt.activation = tg_cell_activation_name(cand);
    v->lstm = lstm;
    v->gate = (tg_cell_activation)gate;
    v->cand = (tg_cell_activation)cand;
    v->outer = *b;
    v->outer.name = lstm ? "lstm_variant" : "gru_variant";
    v->outer.composed = tg__variant_composed;
    v->outer.fused = tg__variant_fused;
    v->outer.input = o->input_dropout > 0 ? tg__variant_input : NULL;
    v->outer.gates_all = o->layer_norm ? tg__variant_gates : NULL;
    v->outer.ctx = v;
    v->outer.fuse = false;
    list_params(v, b->gates);
    bool plain = !o->layer_norm && !o->peephole && gate == TG_CELL_ACT_SIGMOID && cand == TG_CELL_ACT_TANH;
    v->core_row = v->outer; /* the same gates, states and parameters */
    v->core_row.composed = tg__variant_core;
    v->core_row.fused = NULL;
    v->core_row.input = NULL;
    v->core_row.gates_all = NULL;
    v->core_row.fuse = true;
    /* plain gates: the base's own row, fused kernels and all */
    v->core = plain ? b : &v->core_row;
    return &v->outer;
}

void tg_cell_variant_free(tg_cell *cell) {
    /* cell is the variant's first member: the block calloc gave */
    if (cell && cell->composed == tg__variant_composed) free(cell);
}

bool tg_cell_variant_options_of(const tg_cell *cell, tg_cell_variant_options *o) {
    if (!cell || cell->composed != tg__variant_composed) return false;
    if (o) *o = ((const tg__variant *)cell->ctx)->opt;
    return true;
}
