/* The activations a cell may choose, one row each: a name and its
 * composition from tape ops. */
#include "cell_activation.h"

#include <string.h>

static tg_tensor *sigmoid(tg_tape *t, tg_tensor *x) {
    return tg_sigmoid(t, x);
}
static tg_tensor *hard_sigmoid(tg_tape *t, tg_tensor *x) {
    return tg_clamp(t, tg_add_scalar(t, tg_scale(t, x, 1.0 / 6), 0.5), 0, 1);
}
static tg_tensor *tanh_(tg_tape *t, tg_tensor *x) {
    return tg_tanh(t, x);
}
static tg_tensor *hard_tanh(tg_tape *t, tg_tensor *x) {
    return tg_clamp(t, x, -1, 1);
}
static tg_tensor *softsign(tg_tape *t, tg_tensor *x) {
    return tg_div(t, x, tg_add_scalar(t, tg_abs(t, x), 1));
}
static tg_tensor *relu(tg_tape *t, tg_tensor *x) {
    return tg_relu(t, x);
}
static tg_tensor *identity(tg_tape *t, tg_tensor *x) {
    (void)t;
    return x;
}

static const struct {
    const char *name;
    tg_tensor *(*apply)(tg_tape *, tg_tensor *);
} rows[TG_CELL_ACT_COUNT] = {
    [TG_CELL_ACT_SIGMOID] = {"sigmoid", sigmoid},       [TG_CELL_ACT_HARD_SIGMOID] = {"hard_sigmoid", hard_sigmoid},
    [TG_CELL_ACT_TANH] = {"tanh", tanh_},               [TG_CELL_ACT_HARD_TANH] = {"hard_tanh", hard_tanh},
    [TG_CELL_ACT_SOFTSIGN] = {"softsign", softsign},    [TG_CELL_ACT_RELU] = {"relu", relu},
    [TG_CELL_ACT_IDENTITY] = {"identity", identity},
};

int tg_cell_activation_find(const char *name) {
    for (int i = 0; name && i < TG_CELL_ACT_COUNT; i++)
        if (strcmp(rows[i].name, name) == 0) return i;
    return -1;
}

const char *tg_cell_activation_name(int act) {
    return act >= 0 && act < TG_CELL_ACT_COUNT ? rows[act].name : NULL;
}

tg_tensor *tg_cell_activation_apply(tg_tape *t, tg_cell_activation act, tg_tensor *x) {
    if ((int)act < 0 || act >= TG_CELL_ACT_COUNT) {
        tg_tape_fail(t, "tg_cell_activation_apply: unknown activation %d", (int)act);
        return NULL;
    }
    return x ? rows[act].apply(t, x) : NULL;
}
