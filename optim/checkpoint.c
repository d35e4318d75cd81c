/* Optimizer state in safetensors checkpoints: the state tensors beside the
 * caller's (the model's parameters), the kind and the learning rate in the
 * metadata, so a resumed run continues exactly where it stopped. */
#include "optim_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_KIND "tapegrad.optim"
#define META_LR "tapegrad.optim.lr"

/* extra followed by the state; NULL (with a message) on failure. */
static tg_named *gather(tg_optim *o, const char *fn, int n_extra, const tg_named *extra,
                        int *count) {
    if (o->broken) return NULL; /* the reason is already in o->err */
    if (n_extra < 0 || (n_extra > 0 && !extra)) {
        tg__optim_fail(o, false, "%s: bad extra list (n_extra = %d%s)", fn, n_extra,
                       extra ? "" : ", extra NULL");
        return NULL;
    }
    int ns = tg_optim_state(o, NULL, 0);
    tg_named *items = malloc((size_t)(n_extra + ns) * sizeof *items);
    if (!items) {
        tg__optim_fail(o, false, "%s: out of memory", fn);
        return NULL;
    }
    if (n_extra) memcpy(items, extra, (size_t)n_extra * sizeof *items);
    tg_optim_state(o, items + n_extra, ns);
    *count = n_extra + ns;
    return items;
}

int tg_optim_save(tg_optim *o, const char *path, int n_extra, const tg_named *extra) {
    if (!o) return -1;
    int count = 0;
    tg_named *items = gather(o, "tg_optim_save", n_extra, extra, &count);
    if (!items) return -1;
    /* %.17g: a double survives the round trip through decimal exactly. */
    char lr[40];
    snprintf(lr, sizeof lr, "%.17g", o->lr);
    const char *meta[] = {META_KIND, o->kind, META_LR, lr};
    char err[TG__OPTIM_ERR_MAX - 32];
    int rc = tg_safetensors_save(path, count, items, 2, meta, err, sizeof err);
    free(items);
    if (rc != 0) return tg__optim_fail(o, false, "tg_optim_save: %s", err);
    return 0;
}

int tg_optim_load(tg_optim *o, const char *path, int n_extra, const tg_named *extra) {
    if (!o) return -1;
    char err[TG__OPTIM_ERR_MAX - 32];
    /* Kind and lr first, so a wrong file changes nothing (the header
     * alone: the tensors are read once, by load_into below). */
    tg_st_file *f = tg_safetensors_open_header(path, err, sizeof err);
    if (!f) return tg__optim_fail(o, false, "tg_optim_load: %s", err);
    const char *kind = tg_safetensors_meta(f, META_KIND);
    const char *lr_text = tg_safetensors_meta(f, META_LR);
    char *end = NULL;
    double lr = lr_text ? strtod(lr_text, &end) : NAN;
    int rc = 0;
    if (!kind)
        rc = tg__optim_fail(o, false,
                            "tg_optim_load: %s: no optimizer state (no '%s' in "
                            "the metadata)",
                            path, META_KIND);
    else if (strcmp(kind, o->kind) != 0)
        rc = tg__optim_fail(o, false, "tg_optim_load: %s: holds %s optimizer state, not %s", path,
                            kind, o->kind);
    else if (!lr_text || *end || !(lr >= 0) || isinf(lr))
        rc = tg__optim_fail(o, false,
                            "tg_optim_load: %s: bad learning rate '%s' in the "
                            "metadata",
                            path, lr_text ? lr_text : "(none)");
    tg_safetensors_close(f);
    if (rc != 0) return rc;

    int count = 0;
    tg_named *items = gather(o, "tg_optim_load", n_extra, extra, &count);
    if (!items) return -1;
    rc = tg_safetensors_load_into(path, count, items, err, sizeof err);
    free(items);
    if (rc != 0) return tg__optim_fail(o, false, "tg_optim_load: %s", err);
    o->lr = lr;
    return 0;
}
