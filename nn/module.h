/* Parameters and modules. A module owns heap tensors (its parameters) under
 * PyTorch's state_dict names, lists them in a stable order, switches between
 * training and evaluation, and nests: a container's list is its children's
 * lists under "child." prefixes. */
#ifndef TG_MODULE_H
#define TG_MODULE_H

#include "../autograd/autograd.h"
#include "../core/safetensors.h"

/* A list of named tensors. Names are copied and owned by the list; the
 * tensors are borrowed (their module owns them). */
typedef struct tg_params {
    int n, cap;
    tg_named *items;
} tg_params;

/* An empty list (for a module's own parameters). */
void tg_params_init(tg_params *p);
/* Appends (name, t). Returns 0, or -1 for a duplicate name or no memory. */
int tg_params_add(tg_params *p, const char *name, tg_tensor *t);
/* Appends every entry of src as "prefix.name" (prefix "" adds them as they
 * are). Returns 0 or -1. */
int tg_params_extend(tg_params *dst, const char *prefix, const tg_params *src);
/* The tensor named name, or NULL. */
tg_tensor *tg_params_find(const tg_params *p, const char *name);
/* Number of scalars in all the tensors. */
int64_t tg_params_numel(const tg_params *p);
/* Sets every tensor's gradient to zero. */
void tg_params_zero_grad(const tg_params *p);
/* Frees the names and the list, not the tensors. */
void tg_params_free(tg_params *p);
/* Checkpoints: every tensor under its name, as safetensors (atomic write).
 * Loading checks every name, dtype and shape and names the first mismatch. */
int tg_params_save(const tg_params *p, const char *path, char *err, size_t errlen);
int tg_params_load(const tg_params *p, const char *path, char *err, size_t errlen);

/* The part every module shares; concrete modules embed it as their first
 * member, so a tg_lstm * is also a tg_module *. */
typedef struct tg_module tg_module;
struct tg_module {
    const char *kind;      /* "linear", "rnn", ... */
    tg_params params;      /* own and children's, in a stable order */
    tg_module **children;  /* owned; freed with the module */
    int n_children;
    bool training;         /* true after creation, as in PyTorch */
    void (*destroy)(tg_module *m); /* frees what the concrete module adds */
    tg_tensor **owned;     /* the parameters this module created */
    int n_owned, cap_owned;
};

/* Training mode (dropout active) or evaluation mode, for m and every child. */
void tg_module_train(tg_module *m, bool on);
/* m's parameters, its children's included (borrowed). */
const tg_params *tg_module_params(const tg_module *m);
/* The number of scalars in m's parameters. */
int64_t tg_module_numel(const tg_module *m);
/* Sets the gradients of m's parameters to zero. */
void tg_module_zero_grad(tg_module *m);
/* Frees the module, its children and every parameter it owns. */
void tg_module_free(tg_module *m);

/* Helpers for module implementations: a new heap parameter registered under
 * name (NULL for a duplicate name or no memory), and a child registered
 * under a prefix. The child's parameter list is copied when it is added, so
 * add a child once it is complete; the child's parameters' tensor names
 * become their paths in the parent ("prefix.weight"). The parent owns the
 * child from the call on, whatever it returns: a child it could not
 * register is freed. */
tg_tensor *tg_module_param(tg_module *m, const char *name, tg_shape s);
/* Registers child under prefix; m owns it from here on (above). */
int tg_module_add_child(tg_module *m, const char *prefix, tg_module *child);

#endif
