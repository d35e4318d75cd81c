/* The jordan layer type: an Elman cell fed back its own output (nn/jordan.h). */
#include "layer.h"

static const char *const JORDAN_KEYS[] = {"type", "name",         "input",       "hidden",
                                          "out",  "nonlinearity", "batch_first", NULL};

static int jordan_parse(const tg_jctx *c, const tg_spec *s, const cJSON *obj, const char *path,
                        tg_layer_spec *L) {
    return tg__layer_parse_nonlinearity(c, obj, path, L) ||
                   tg__layer_parse_hidden(c, s, obj, path, L) ||
                   tg__layer_parse_out(c, s, obj, path, L, false)
               ? -1
               : 0;
}

static int jordan_size(const tg_jctx *c, const tg_spec *s, const char *path, tg_layer_spec *L,
                       tg__sizing *z) {
    (void)c, (void)s, (void)path, (void)L; /* out as given */
    z->split = 0;
    return 0;
}

static tg_module *jordan_build(const tg_model *m, const tg_layer_spec *L, tg_rng *init, char *e,
                               size_t elen) {
    (void)m;
    tg_jordan_options o = {
        .input_size = L->in, .hidden_size = L->hidden, .output_size = L->out, .relu = L->relu};
    return (tg_module *)tg_jordan_new(o, init, e, elen);
}

/* its carried state is the feedback [B, O] */
static tg_tensor *jordan_forward(const tg__layer_run *r, int k, tg_tensor *x) {
    tg_tensor *s0;
    tg_jordan_result res;
    if (tg__layer_state_in(r, k, &s0) != 0 ||
        tg_jordan_forward(r->t, (tg_jordan *)r->m->mods[k], x, s0, NULL, &res) != 0)
        return NULL;
    tg__layer_state_out(r, k, res.feedback);
    return res.output;
}

const tg__layer_row tg__layer_jordan = {
    .keys = JORDAN_KEYS,
    .parse = jordan_parse,
    .size = jordan_size,
    .build = jordan_build,
    .forward = jordan_forward,
};
