/* The recurrent state a model carries from one call to the next
 * (truncated BPTT over a stream, sampling step by step). */
#include <stdlib.h>

#include "model.h"

tg_model_state *tg_model_state_new(const tg_model *m) {
    if (!m) return NULL;
    tg_model_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = m->n_layers;
    s->h = calloc((size_t)s->n, sizeof *s->h);
    s->c = calloc((size_t)s->n, sizeof *s->c);
    if (!s->h || !s->c) {
        tg_model_state_free(s);
        return NULL;
    }
    return s;
}

void tg_model_state_reset(tg_model_state *s) {
    for (int k = 0; s && k < s->n; k++) {
        tg_tensor_free(s->h[k]), s->h[k] = NULL;
        tg_tensor_free(s->c[k]), s->c[k] = NULL;
    }
    if (s) free(s->cond), s->cond = NULL, s->n_cond = 0;
}

void tg_model_state_free(tg_model_state *s) {
    if (!s) return;
    if (s->h && s->c) tg_model_state_reset(s);
    free(s->h);
    free(s->c);
    free(s);
}
