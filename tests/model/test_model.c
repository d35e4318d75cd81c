/* Models built from specs: parameter names and shapes (PyTorch state_dict
 * keys), outputs, losses and gradients against PyTorch models written the
 * plain way (tests/model/gen_model_fixtures.py), training that lowers the loss
 * for every task, batch layouts, padding, carried state and stepping,
 * gradchecks of whole models (double build), and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#ifdef TG_DOUBLE
#define GRAD_TOL 1e-9
#else
#define GRAD_TOL 1e-4
#endif

static tg_spec *spec_of(const char *json) {
    char err[512];
    tg_spec *s = tg_spec_parse(json, "test.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

static tg_model *model_of(const char *json, uint64_t seed) {
    char err[512];
    tg_spec *s = spec_of(json);
    tg_rng r;
    tg_rng_seed(&r, seed);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    tg_spec_free(s);
    return m;
}

static void expect_param(const tg_model *m, int i, const char *name, tg_shape shape) {
    const tg_params *p = tg_module_params(&m->base);
    ck_assert_int_lt(i, p->n);
    ck_assert_str_eq(p->items[i].name, name);
    /* the tensor's own label (graphs, messages) is the same path */
    ck_assert_ptr_nonnull(p->items[i].tensor->name);
    ck_assert_str_eq(p->items[i].tensor->name, name);
    char got[TG_SHAPE_STR_MAX], want[TG_SHAPE_STR_MAX];
    ck_assert_str_eq(tg_shape_str(tg_tensor_shape(p->items[i].tensor), got, sizeof got),
                     tg_shape_str(shape, want, sizeof want));
}

/* ---- names and shapes -------------------------------------------------------- */

START_TEST(names_lm) {
    tg_model *m = model_of("{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": "
                           "\"tokens\", \"vocab\": 65}, \"model\": {\"layers\": [{\"type\": "
                           "\"embedding\", \"dim\": 64}, {\"type\": \"lstm\", \"hidden\": 256}, "
                           "{\"type\": \"linear\", \"out\": \"vocab\"}]}}",
                           1);
    ck_assert_int_eq(tg_module_params(&m->base)->n, 7);
    expect_param(m, 0, "0.weight", TG_SHAPE(65, 64));
    expect_param(m, 1, "1.weight_ih_l0", TG_SHAPE(1024, 64));
    expect_param(m, 2, "1.weight_hh_l0", TG_SHAPE(1024, 256));
    expect_param(m, 3, "1.bias_ih_l0", TG_SHAPE(1024));
    expect_param(m, 4, "1.bias_hh_l0", TG_SHAPE(1024));
    expect_param(m, 5, "2.weight", TG_SHAPE(65, 256));
    expect_param(m, 6, "2.bias", TG_SHAPE(65));
    ck_assert_int_eq(tg_module_numel(&m->base), 350593); /* PyTorch's count for the same net */
    ck_assert_int_eq(m->base.n_children, 3);
    ck_assert_str_eq(m->base.kind, "model");
    ck_assert_ptr_nonnull(m->mods[1]);
    ck_assert_str_eq(m->mods[1]->kind, "rnn");
    tg_model_free(m);
}
END_TEST

START_TEST(names_bidirectional_named) {
    tg_model *m = model_of(
        "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 4}, "
        "\"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 5, \"num_layers\": 2, "
        "\"bidirectional\": true, \"name\": \"enc\"}, {\"type\": \"dropout\"}, "
        "{\"type\": \"linear\", \"out\": 3, \"name\": \"head\"}]}}",
        2);
    static const char *const sfx[] = {"", "_reverse"};
    int i = 0;
    char name[64];
    for (int l = 0; l < 2; l++)
        for (int d = 0; d < 2; d++) {
            snprintf(name, sizeof name, "enc.weight_ih_l%d%s", l, sfx[d]);
            expect_param(m, i++, name, TG_SHAPE(15, l ? 10 : 4));
            snprintf(name, sizeof name, "enc.weight_hh_l%d%s", l, sfx[d]);
            expect_param(m, i++, name, TG_SHAPE(15, 5));
            snprintf(name, sizeof name, "enc.bias_ih_l%d%s", l, sfx[d]);
            expect_param(m, i++, name, TG_SHAPE(15));
            snprintf(name, sizeof name, "enc.bias_hh_l%d%s", l, sfx[d]);
            expect_param(m, i++, name, TG_SHAPE(15));
        }
    ck_assert_ptr_nonnull(tg_params_find(tg_module_params(&m->base), "enc.weight_hh_l1_reverse"));
    expect_param(m, i++, "head.weight", TG_SHAPE(3, 10));
    expect_param(m, i++, "head.bias", TG_SHAPE(3));
    ck_assert_int_eq(tg_module_params(&m->base)->n, i);
    ck_assert_ptr_null(m->mods[1]); /* dropout: no module */
    tg_model_free(m);
}
END_TEST

START_TEST(names_other_layers) {
    tg_model *m = model_of(
        "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "
        "\"model\": {\"layers\": [{\"type\": \"rnn\", \"hidden\": 4, \"bias\": false}, "
        "{\"type\": \"jordan\", \"hidden\": 5, \"out\": 2}, {\"type\": \"deep_rnn\", \"hidden\": "
        "6, "
        "\"depth\": 2, \"skip\": true}, {\"type\": \"linear\", \"out\": 1, \"bias\": false}]}}",
        3);
    static const struct {
        const char *name;
        tg_shape shape;
    } want[] = {
        {"0.weight_ih_l0", TG_SHAPE(4, 3)}, {"0.weight_hh_l0", TG_SHAPE(4, 4)},
        {"1.weight_ih_l0", TG_SHAPE(5, 4)}, {"1.bias_ih_l0", TG_SHAPE(5)},
        {"1.weight_yh_l0", TG_SHAPE(5, 2)}, {"1.weight_hy", TG_SHAPE(2, 5)},
        {"1.bias_hy", TG_SHAPE(2)},         {"2.weight_ih_l0", TG_SHAPE(6, 2)},
        {"2.bias_ih_l0", TG_SHAPE(6)},      {"2.weight_hh_l0", TG_SHAPE(6, 6)},
        {"2.bias_hh_l0", TG_SHAPE(6)},      {"2.weight_tr1_l0", TG_SHAPE(6, 6)},
        {"2.bias_tr1_l0", TG_SHAPE(6)},     {"2.weight_tr2_l0", TG_SHAPE(6, 6)},
        {"2.bias_tr2_l0", TG_SHAPE(6)},     {"2.weight_skip_l0", TG_SHAPE(6, 6)},
        {"3.weight", TG_SHAPE(1, 6)},
    };
    int n = (int)(sizeof want / sizeof *want);
    ck_assert_int_eq(tg_module_params(&m->base)->n, n);
    for (int i = 0; i < n; i++) expect_param(m, i, want[i].name, want[i].shape);
    tg_model_free(m);
}
END_TEST

/* ---- against PyTorch ------------------------------------------------------------- */

static const struct {
    const char *name, *spec;
} PT[] = {
    {"lm", "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
           "\"vocab\": 7}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 6}, "
           "{\"type\": \"gru\", \"hidden\": 5, \"num_layers\": 2}, {\"type\": \"linear\", \"out\": "
           "\"vocab\"}]}}"},
    {"classify",
     "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\", "
     "\"vocab\": 7}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4, "
     "\"padding_idx\": 0}, {\"type\": \"lstm\", \"hidden\": 3, \"bidirectional\": true}, "
     "{\"type\": \"linear\", \"out\": 3}]}}"},
    {"tag", "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3, "
            "\"batch_first\": true}, \"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 4, "
            "\"bidirectional\": true, \"batch_first\": true}, {\"type\": \"activation\", \"fn\": "
            "\"tanh\"}, {\"type\": \"linear\", \"out\": 5}]}}"},
    {"regress", "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", "
                "\"size\": 2}, \"model\": {\"layers\": [{\"type\": \"rnn\", \"hidden\": 4, "
                "\"nonlinearity\": \"relu\"}, {\"type\": \"linear\", \"out\": 2}]}}"},
    {"pool_mean",
     "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", "
     "\"size\": 2}, \"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 3}, "
     "{\"type\": \"pool\", \"mode\": \"mean\"}, {\"type\": \"linear\", \"out\": 1}]}}"},
    {"pool_max", "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"vectors\", "
                 "\"size\": 2}, \"model\": {\"layers\": [{\"type\": \"rnn\", \"hidden\": 4, "
                 "\"bidirectional\": true}, {\"type\": \"pool\", \"mode\": \"max\"}, {\"type\": "
                 "\"linear\", \"out\": 3}]}}"},
};

START_TEST(matches_pytorch) {
    const char *name = PT[_i].name;
    char path[128], err[512];
    snprintf(path, sizeof path, "tests/model/fixtures/model_%s.safetensors", name);
    tg_model *m = model_of(PT[_i].spec, 99);
    const tg_params *p = tg_module_params(&m->base);
    /* the state_dict of the PyTorch model loads under our names as they are */
    ck_assert_msg(tg_params_load(p, path, err, sizeof err) == 0, "%s", err);
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s (run /usr/bin/python3 tests/model/gen_model_fixtures.py)", err);
    int64_t n;
    tg_model_batch b = {.lengths = tg_safetensors_get_i64(f, "ref.lengths", &n)};
    ck_assert_int_eq(n, 3);
    b.B = 3, b.T = 5;
    if (m->input == TG_INPUT_TOKENS)
        b.ids = tg_safetensors_get_i64(f, "ref.ids", NULL);
    else
        b.x = (tg_tensor *)tg_safetensors_get(f, "ref.x");
    if (m->task == TG_TASK_REGRESS)
        b.target = (tg_tensor *)tg_safetensors_get(f, "ref.target");
    else
        b.target_ids = tg_safetensors_get_i64(f, "ref.targets", NULL);
    tg_tape *t = tg_tape_new();
    tg_model_output out;
    ck_assert_msg(tg_model_forward(t, m, &b, NULL, &out) == 0, "%s", tg_tape_error(t));
    tg_tensor *loss = tg_model_loss(t, m, &b, &out);
    ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
    ck_assert_ref_tensor("output", out.output, tg_safetensors_get(f, "ref.output"), TG_TOL);
    ck_assert_ref_tensor("loss", loss, tg_safetensors_get(f, "ref.loss"), TG_TOL);
    tg_module_zero_grad(&m->base);
    ck_assert_int_eq(tg_backward(t, loss), 0);
    for (int i = 0; i < p->n; i++) {
        char key[160];
        snprintf(key, sizeof key, "ref.grad.%s", p->items[i].name);
        const tg_tensor *ref = tg_safetensors_get(f, key);
        ck_assert_msg(ref != NULL, "%s: no %s", path, key);
        for (int64_t j = 0; j < ref->numel; j++) {
            double g = (double)p->items[i].tensor->grad[j], r = (double)tg_at(ref, j);
            ck_assert_msg(fabs(g - r) <= GRAD_TOL * fmax(1.0, fabs(r)),
                          "%s: grad %s[%lld] = %.12g, PyTorch %.12g", name, p->items[i].name,
                          (long long)j, g, r);
        }
    }
    tg_tape_free(t);
    tg_safetensors_close(f);
    tg_model_free(m);
}
END_TEST

/* ---- training lowers the loss, for every task ---------------------------------------- */

enum { T = 6, B = 4, V = 5 };
static const int64_t LENGTHS[B] = {6, 3, 5, 1};

/* A fixed batch for a model: ids or x from seed, targets from a rule the
 * model can learn (for tokens, the next id; for vectors, the sign of a
 * feature). */
typedef struct batch_data {
    int64_t ids[T * B], targets[T * B];
    tg_tensor *x, *target;
} batch_data;

static tg_model_batch make_batch(tg_model *m, batch_data *d, bool lengths, uint64_t seed) {
    tg_rng r;
    tg_rng_seed(&r, seed);
    tg_model_batch b = {.T = T, .B = B, .lengths = lengths ? LENGTHS : NULL};
    for (int i = 0; i < T * B; i++) d->ids[i] = (int64_t)tg_rng_below(&r, V);
    if (m->input == TG_INPUT_TOKENS) {
        b.ids = d->ids;
        for (int i = 0; i < T * B; i++) d->targets[i] = (d->ids[i] + 1) % m->output_size;
    } else {
        d->x = tg_tensor_new(TG_SHAPE(T, B, m->input_size));
        tg_init_normal(d->x, &r, 0, 1);
        b.x = d->x;
        for (int i = 0; i < T * B; i++) d->targets[i] = d->x->data[i * m->input_size] > 0;
    }
    b.target_ids = d->targets;
    if (m->task == TG_TASK_REGRESS) {
        d->target = m->pooled ? tg_tensor_new(TG_SHAPE(B, m->output_size))
                              : tg_tensor_new(TG_SHAPE(T, B, m->output_size));
        tg_init_uniform(d->target, &r, -0.5, 0.5);
        b.target = d->target;
    }
    return b;
}

static void free_batch(batch_data *d) {
    tg_tensor_free(d->x);
    tg_tensor_free(d->target);
}

static double train_steps(tg_model *m, const tg_spec *s, tg_model_batch *b, int steps,
                          double *first) {
    const tg_params *p = tg_module_params(&m->base);
    tg_tensor **params = malloc((size_t)p->n * sizeof *params);
    for (int i = 0; i < p->n; i++) params[i] = p->items[i].tensor;
    tg_optim *opt = tg_optim_spec_build(&s->optim, params, p->n);
    ck_assert_msg(opt && !tg_optim_error(opt), "%s", tg_optim_error(opt));
    tg_tape *t = tg_tape_new();
    double last = 0;
    char err[256];
    for (int step = 0; step < steps; step++) {
        tg_tape_reset(t);
        tg_tensor *loss = tg_model_loss(t, m, b, NULL);
        ck_assert_msg(loss != NULL, "%s", tg_tape_error(t));
        last = loss->data[0];
        ck_assert(isfinite(last));
        if (step == 0) *first = last;
        tg_optim_zero_grad(opt);
        ck_assert_int_eq(tg_backward(t, loss), 0);
        ck_assert_int_eq(tg_optim_spec_prepare(&s->optim, opt, step, NULL, err, sizeof err),
                         TG_CLIP_OK);
        ck_assert_int_eq(tg_optim_step(opt), 0);
    }
    tg_tape_free(t);
    tg_optim_free(opt);
    free(params);
    return last;
}

static const char *const TRAIN[] = {
    /* language model, one-hot into an Elman net */
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", \"vocab\": "
    "5},"
    " \"model\": {\"layers\": [{\"type\": \"one_hot\"}, {\"type\": \"rnn\", \"hidden\": 8},"
    " {\"type\": \"linear\", \"out\": \"vocab\"}]}, \"optimizer\": {\"type\": \"adam\", \"lr\": "
    "0.05,"
    " \"clip_norm\": 1}}",
    /* classify, bidirectional LSTM, pool inserted */
    "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"vectors\", \"size\": 3},"
    " \"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 6, \"bidirectional\": true},"
    " {\"type\": \"linear\", \"out\": 2}]}, \"optimizer\": {\"type\": \"adam\", \"lr\": 0.05}}",
    /* tag, batch-first tokens, GRU and a relu head */
    "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 5, "
    "\"batch_first\": true}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4},"
    " {\"type\": \"gru\", \"hidden\": 8}, {\"type\": \"linear\", \"out\": 8}, {\"type\":"
    " \"activation\", \"fn\": \"relu\"}, {\"type\": \"linear\", \"out\": 5}]},"
    " \"optimizer\": {\"type\": \"rmsprop\", \"lr\": 0.01, \"clip_value\": 1}}",
    /* regress per step: Jordan and deep transition */
    "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": 3},"
    " \"model\": {\"layers\": [{\"type\": \"deep_rnn\", \"hidden\": 6, \"depth\": 2},"
    " {\"type\": \"jordan\", \"hidden\": 6, \"out\": 2}]},"
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.1, \"momentum\": 0.9}}",
    /* regress per sequence, pool max, with a schedule */
    "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": 3},"
    " \"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 6}, {\"type\": \"pool\", \"mode\":"
    " \"max\"}, {\"type\": \"dropout\", \"p\": 0.1}, {\"type\": \"linear\", \"out\": 2}]},"
    " \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.05, \"schedule\": {\"type\": \"cosine\","
    " \"t_max\": 40, \"warmup\": 5}}}",
};

START_TEST(training_lowers_loss) {
    tg_spec *s = spec_of(TRAIN[_i]);
    tg_model *m = model_of(TRAIN[_i], 5);
    batch_data d = {0};
    /* the jordan/deep_rnn model trains on full-length sequences (padding
     * is fine, but a carried state is not needed here either way) */
    tg_model_batch b = make_batch(m, &d, true, 11);
    double first, last = train_steps(m, s, &b, 40, &first);
    if (getenv("MODEL_VERBOSE"))
        printf("%-14s loss %.4f -> %.4f\n", tg_task_name(m->task), first, last);
    ck_assert_msg(last < 0.6 * first, "%s: loss %g -> %g", tg_task_name(m->task), first, last);
    free_batch(&d);
    tg_model_free(m);
    tg_spec_free(s);
}
END_TEST

/* ---- layouts, padding, state ------------------------------------------------------- */

/* The same model with batch_first true or false gives the same numbers. */
START_TEST(batch_first_same_numbers) {
    const char *fmt = "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", "
                      "\"vocab\": 5, \"batch_first\": %s}, \"model\": {\"layers\": [{\"type\": "
                      "\"embedding\", \"dim\": 3}, {\"type\": \"lstm\", \"hidden\": 4, "
                      "\"bidirectional\": true}, {\"type\": \"linear\", \"out\": 3}]}}";
    char js[512], jb[512];
    snprintf(js, sizeof js, fmt, "false");
    snprintf(jb, sizeof jb, fmt, "true");
    tg_model *ms = model_of(js, 8), *mb = model_of(jb, 8);
    int64_t ids[T * B], idb[T * B], tg[T * B], tgb[T * B];
    tg_rng r;
    tg_rng_seed(&r, 3);
    for (int i = 0; i < T * B; i++)
        ids[i] = (int64_t)tg_rng_below(&r, 5), tg[i] = (int64_t)tg_rng_below(&r, 3);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) idb[b * T + t] = ids[t * B + b], tgb[b * T + t] = tg[t * B + b];
    tg_model_batch bs = {.T = T, .B = B, .ids = ids, .lengths = LENGTHS, .target_ids = tg};
    tg_model_batch bb = {.T = T, .B = B, .ids = idb, .lengths = LENGTHS, .target_ids = tgb};
    tg_tape *t = tg_tape_new();
    tg_model_output os, ob;
    ck_assert_int_eq(tg_model_forward(t, ms, &bs, NULL, &os), 0);
    ck_assert_int_eq(tg_model_forward(t, mb, &bb, NULL, &ob), 0);
    ck_assert_int_eq(ob.output->shape[0], B);
    ck_assert_int_eq(ob.output->shape[1], T);
    for (int t2 = 0; t2 < T; t2++)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < 3; c++)
                ck_assert_close(tg_get(ob.output, (int64_t[]){b, t2, c}),
                                tg_get(os.output, (int64_t[]){t2, b, c}), TG_TOL);
    tg_tensor *ls = tg_model_loss(t, ms, &bs, &os), *lb = tg_model_loss(t, mb, &bb, &ob);
    ck_assert_msg(ls && lb, "%s", tg_tape_error(t));
    ck_assert_close(lb->data[0], ls->data[0], TG_TOL);
    tg_tape_free(t);
    tg_model_free(ms);
    tg_model_free(mb);
}
END_TEST

/* Padding (ids past a sequence's length) changes neither the loss nor any
 * gradient, for per-step and pooled tasks, uni- and bidirectional. */
START_TEST(padding_is_ignored) {
    static const char *const specs[] = {
        "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\", \"vocab\": 5}, "
        "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3}, {\"type\": \"gru\", "
        "\"hidden\": 4, \"bidirectional\": true, \"num_layers\": 2}, {\"type\": \"linear\", "
        "\"out\": 3}]}}",
        "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"vocab\": "
        "5}, "
        "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3}, {\"type\": \"lstm\", "
        "\"hidden\": 4, \"bidirectional\": true}, {\"type\": \"linear\", \"out\": 3}]}}",
        "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"vocab\": "
        "5}, "
        "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3}, {\"type\": \"rnn\", "
        "\"hidden\": 4}, {\"type\": \"linear\", \"out\": 4}, {\"type\": \"pool\", \"mode\": "
        "\"mean\"}]}}",
        "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"vocab\": "
        "5}, "
        "\"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 3}, {\"type\": \"jordan\", "
        "\"hidden\": 4, \"out\": 3}, {\"type\": \"pool\", \"mode\": \"max\"}]}}",
    };
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        tg_model *m = model_of(specs[k], 4);
        const tg_params *p = tg_module_params(&m->base);
        int64_t ids[T * B], tg[T * B];
        double loss[2];
        tg_real *grads[2];
        int64_t total = tg_params_numel(p);
        for (int pass = 0; pass < 2; pass++) {
            tg_rng r;
            tg_rng_seed(&r, 21);
            for (int i = 0; i < T * B; i++) {
                ids[i] = (int64_t)tg_rng_below(&r, 5), tg[i] = (int64_t)tg_rng_below(&r, 3);
                if (pass && i / B >= LENGTHS[i % B]) ids[i] = (ids[i] + 1 + i) % 5, tg[i] = 0;
            }
            tg_model_batch b = {.T = T, .B = B, .ids = ids, .lengths = LENGTHS, .target_ids = tg};
            tg_tape *t = tg_tape_new();
            tg_module_zero_grad(&m->base);
            tg_tensor *l = tg_model_loss(t, m, &b, NULL);
            ck_assert_msg(l != NULL, "%s", tg_tape_error(t));
            ck_assert_int_eq(tg_backward(t, l), 0);
            loss[pass] = l->data[0];
            grads[pass] = malloc((size_t)total * sizeof(tg_real));
            int64_t o = 0;
            for (int i = 0; i < p->n; i++)
                for (int64_t j = 0; j < p->items[i].tensor->numel; j++)
                    grads[pass][o++] = p->items[i].tensor->grad[j];
            tg_tape_free(t);
        }
        ck_assert_msg(loss[0] == loss[1], "spec %zu: %.17g vs %.17g", k, loss[0], loss[1]);
        for (int64_t j = 0; j < total; j++)
            ck_assert_msg(grads[0][j] == grads[1][j], "spec %zu", k);
        free(grads[0]);
        free(grads[1]);
        tg_model_free(m);
    }
}
END_TEST

/* Running T steps at once equals running them in chunks with the state
 * carried, and equals stepping one at a time; for every recurrent type. */
START_TEST(state_carry_and_step) {
    static const char *const specs[] = {
        "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "
        "\"model\": {\"layers\": [{\"type\": \"lstm\", \"hidden\": 4, \"num_layers\": 2}, "
        "{\"type\": \"gru\", \"hidden\": 3}, {\"type\": \"jordan\", \"hidden\": 3, \"out\": 2}, "
        "{\"type\": \"deep_rnn\", \"hidden\": 3, \"skip\": true}, {\"type\": \"rnn\", \"hidden\": "
        "3},"
        " {\"type\": \"linear\", \"out\": 2}]}}",
        "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", "
        "\"vocab\": 5, \"batch_first\": true}, \"model\": {\"layers\": [{\"type\": \"embedding\", "
        "\"dim\": 3}, {\"type\": \"lstm\", \"hidden\": 4}, {\"type\": \"dropout\", \"p\": 0.5}, "
        "{\"type\": \"linear\", \"out\": \"vocab\"}]}}",
    };
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        tg_model *m = model_of(specs[k], 6);
        tg_module_train(&m->base, false); /* dropout off, so runs compare */
        bool bf = m->batch_first;
        batch_data d = {0};
        tg_model_batch full = make_batch(m, &d, false, 2);
        if (bf) /* the same ids read as [B, T] */
            for (int i = 0; i < T * B; i++) d.ids[i] = (int64_t)(i % 5);
        tg_tape *t = tg_tape_new();
        tg_model_output whole;
        ck_assert_msg(tg_model_forward(t, m, &full, NULL, &whole) == 0, "%s", tg_tape_error(t));
        int64_t C = m->output_size;
        tg_model_state *st = tg_model_state_new(m);
        /* two chunks of 3 steps (vectors, sequence-first) or T single steps */
        for (int c = 0; c < (bf ? T : 2); c++) {
            int64_t len = bf ? 1 : 3, t0 = c * len;
            tg_tensor *y;
            if (bf) {
                int64_t ids[B];
                for (int b = 0; b < B; b++) ids[b] = d.ids[b * T + t0];
                y = tg_model_step(t, m, ids, NULL, B, st); /* [B, C] */
            } else {
                tg_model_batch part = {.x = tg_narrow(t, d.x, 0, t0, len)};
                tg_model_output o;
                ck_assert_int_eq(tg_model_forward(t, m, &part, st, &o), 0);
                y = o.output; /* [len, B, C] */
            }
            ck_assert_msg(y != NULL, "%s", tg_tape_error(t));
            for (int64_t s = 0; s < len; s++)
                for (int b = 0; b < B; b++)
                    for (int64_t j = 0; j < C; j++) {
                        double got =
                            bf ? tg_get(y, (int64_t[]){b, j}) : tg_get(y, (int64_t[]){s, b, j});
                        double want = bf ? tg_get(whole.output, (int64_t[]){b, t0 + s, j})
                                         : tg_get(whole.output, (int64_t[]){t0 + s, b, j});
                        ck_assert_msg(fabs(got - want) <= TG_TOL * fmax(1, fabs(want)),
                                      "spec %zu step %lld: %.12g vs %.12g", k, (long long)(t0 + s),
                                      got, want);
                    }
        }
        /* a reset state starts again from zeros */
        tg_model_state_reset(st);
        ck_assert_ptr_null(st->h[1]);
        tg_model_state_free(st);
        tg_tape_free(t);
        free_batch(&d);
        tg_model_free(m);
    }
}
END_TEST

/* pool "last" after a bidirectional LSTM is cat(h_n forward, h_n reverse). */
START_TEST(pool_last_is_final_states) {
    tg_model *m =
        model_of("{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": "
                 "\"vectors\", \"size\": 2}, \"model\": {\"layers\": [{\"type\": \"lstm\","
                 " \"hidden\": 3, \"bidirectional\": true}, {\"type\": \"pool\"}]}}",
                 12);
    batch_data d = {0};
    tg_model_batch b = make_batch(m, &d, true, 4);
    tg_tape *t = tg_tape_new();
    tg_model_output o;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), 0);
    ck_assert_int_eq(o.output->ndim, 2);
    ck_assert_int_eq(o.output->shape[0], B);
    ck_assert_int_eq(o.output->shape[1], 6);
    ck_assert_ptr_nonnull(o.h_n);
    ck_assert_ptr_nonnull(o.c_n);
    for (int b2 = 0; b2 < B; b2++)
        for (int j = 0; j < 6; j++)
            ck_assert_close(tg_get(o.output, (int64_t[]){b2, j}),
                            tg_get(o.h_n, (int64_t[]){j / 3, b2, j % 3}), TG_TOL);
    tg_tape_free(t);
    free_batch(&d);
    tg_model_free(m);
}
END_TEST

START_TEST(dropout_modes) {
    tg_model *m =
        model_of("{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\","
                 " \"size\": 3}, \"model\": {\"layers\": [{\"type\": \"gru\", \"hidden\": 8},"
                 " {\"type\": \"dropout\", \"p\": 0.5}, {\"type\": \"linear\", \"out\": 2}]}}",
                 1);
    batch_data d = {0};
    tg_model_batch b = make_batch(m, &d, false, 1);
    tg_tape *t = tg_tape_new();
    tg_model_output o1, o2;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o1), 0);
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o2), 0);
    int differ = 0;
    for (int64_t i = 0; i < o1.output->numel; i++)
        differ += tg_at(o1.output, i) != tg_at(o2.output, i);
    ck_assert_int_gt(differ, 0); /* training: fresh masks */
    tg_module_train(&m->base, false);
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o1), 0);
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o2), 0);
    for (int64_t i = 0; i < o1.output->numel; i++)
        ck_assert(tg_at(o1.output, i) == tg_at(o2.output, i));
    tg_tape_free(t);
    free_batch(&d);
    tg_model_free(m);
}
END_TEST

/* ---- gradcheck of whole models (double build) ------------------------------------------ */

static const char *const GC[] = {
    /* tokens, bidirectional LSTM, lengths, pool last */
    "{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"tokens\", \"vocab\": 5},"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 2}, {\"type\": \"lstm\","
    " \"hidden\": 2, \"bidirectional\": true}, {\"type\": \"linear\", \"out\": 3}]}}",
    /* batch-first language model through a 2-layer GRU and sigmoid */
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\", \"vocab\": "
    "5,"
    " \"batch_first\": true}, \"model\": {\"layers\": [{\"type\": \"one_hot\"}, {\"type\": \"gru\","
    " \"hidden\": 2, \"num_layers\": 2}, {\"type\": \"activation\", \"fn\": \"sigmoid\"},"
    " {\"type\": \"linear\", \"out\": \"vocab\"}]}}",
    /* vectors, Jordan and deep transition, pool mean, regression */
    "{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\", \"size\": 2},"
    " \"model\": {\"layers\": [{\"type\": \"jordan\", \"hidden\": 2, \"out\": 2}, {\"type\":"
    " \"deep_rnn\", \"hidden\": 2, \"depth\": 2, \"skip\": true}, {\"type\": \"pool\", \"mode\":"
    " \"mean\"}, {\"type\": \"linear\", \"out\": 2}]}}",
};

START_TEST(gradcheck_models) {
    tg_model *m = model_of(GC[_i], 31);
    batch_data d = {0};
    tg_model_batch b = make_batch(m, &d, true, 9);
    ck_assert_model_gradcheck(m, &b);
    free_batch(&d);
    tg_model_free(m);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------------- */

static void expect_tape_error(tg_tape *t, const char *want) {
    ck_assert_ptr_nonnull(tg_tape_error(t));
    ck_assert_str_eq(tg_tape_error(t), want);
    tg_tape_reset(t);
}

START_TEST(errors) {
    tg_model *m =
        model_of("{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"tokens\","
                 " \"vocab\": 5}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\":"
                 " 3}, {\"type\": \"gru\", \"hidden\": 4, \"bidirectional\": true},"
                 " {\"type\": \"linear\", \"out\": 3}]}}",
                 1);
    tg_tape *t = tg_tape_new();
    tg_model_output o;
    int64_t ids[8] = {0, 1, 2, 70, 4, 0, 1, 2}, tg[8] = {0};
    tg_model_batch b = {.T = 4, .B = 2, .ids = ids, .target_ids = tg};
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), -1);
    ck_assert_ptr_null(o.output);
    expect_tape_error(t, "tg_model_forward: ids[3] = 70 is outside [0, 5)");
    ids[3] = 3;
    b.lengths = (int64_t[]){4, 0};
    ck_assert_ptr_null(tg_model_loss(t, m, &b, NULL));
    expect_tape_error(t, "tg_model_forward: lengths[1] = 0 is outside [1, 4]");
    b.lengths = NULL;
    b.ids = NULL;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), -1);
    expect_tape_error(t, "tg_model_forward: token input needs batch ids and T, B >= 1 (got T = 4, "
                         "B = 2, no ids)");
    b.ids = ids;
    b.target_ids = NULL;
    ck_assert_ptr_null(tg_model_loss(t, m, &b, NULL));
    expect_tape_error(t, "tg_model_loss: task tag needs batch target_ids");
    b.target_ids = tg;
    tg[5] = 3;
    ck_assert_ptr_null(tg_model_loss(t, m, &b, NULL));
    expect_tape_error(t, "tg_seq_cross_entropy: targets[5] (t=2, b=1) = 3 is outside [0, 3)");
    tg_model_state *st = tg_model_state_new(m);
    ck_assert_ptr_null(tg_model_step(t, m, ids, NULL, 2, st));
    expect_tape_error(t, "tg_model_step: layers[1] is bidirectional, so it needs whole sequences");
    tg_model_state_free(st);
    tg_model_free(m);

    /* vectors: shapes, pooled stepping, carried state of another batch size */
    m = model_of("{\"tapegrad\": 1, \"task\": \"regress\", \"input\": {\"type\": \"vectors\","
                 " \"size\": 3}, \"model\": {\"layers\": [{\"type\": \"jordan\", \"hidden\": 4,"
                 " \"out\": 2}, {\"type\": \"gru\", \"hidden\": 2}]}}",
                 1);
    tg_tensor *x = tg_zeros(t, TG_SHAPE(4, 2, 5));
    b = (tg_model_batch){.x = x};
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), -1);
    expect_tape_error(t, "tg_model_forward: x [4,2,5]: expected [T, B, 3]");
    b.x = NULL;
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), -1);
    expect_tape_error(t, "tg_model_forward: vector input needs batch x");
    b.x = tg_zeros(t, TG_SHAPE(4, 2, 3));
    b.target = tg_zeros(t, TG_SHAPE(4, 2, 3));
    ck_assert_ptr_null(tg_model_loss(t, m, &b, NULL));
    expect_tape_error(t, "tg_model_loss: target [4,2,3] does not match the output [4,2,2]");
    st = tg_model_state_new(m);
    b.x = tg_zeros(t, TG_SHAPE(4, 2, 3));
    ck_assert_int_eq(tg_model_forward(t, m, &b, st, &o), 0);
    ck_assert_ptr_nonnull(st->h[0]);
    ck_assert_ptr_nonnull(st->h[1]);
    b.x = tg_zeros(t, TG_SHAPE(4, 3, 3));
    ck_assert_int_eq(tg_model_forward(t, m, &b, st, &o), -1);
    expect_tape_error(t, "tg_model_forward: the carried state of layers[0] holds 2 sequences, "
                         "this batch has 3 (reset the state)");
    b.x = tg_zeros(t, TG_SHAPE(4, 2, 3));
    b.lengths = (int64_t[]){4, 2};
    ck_assert_int_eq(tg_model_forward(t, m, &b, st, &o), -1);
    expect_tape_error(t, "tg_model_forward: layers[0] (jordan) cannot carry a state across "
                         "sequences of different lengths");
    ck_assert_ptr_null(tg_model_step(t, m, NULL, tg_zeros(t, TG_SHAPE(3, 3)), 2, st));
    expect_tape_error(t, "tg_model_step: x [3,3]: expected [2, 3]");
    tg_model_state_free(st);
    tg_model_free(m);

    m = model_of("{\"tapegrad\": 1, \"task\": \"classify\", \"input\": {\"type\": \"vectors\","
                 " \"size\": 3}, \"model\": {\"layers\": [{\"type\": \"rnn\", \"hidden\": 2}]}}",
                 1);
    st = tg_model_state_new(m);
    ck_assert_ptr_null(tg_model_step(t, m, NULL, tg_zeros(t, TG_SHAPE(2, 3)), 2, st));
    expect_tape_error(t, "tg_model_step: the model pools each sequence (task classify), so it "
                         "needs whole sequences");
    /* a tape already in error: nothing happens */
    tg_tape_fail(t, "earlier");
    b = (tg_model_batch){.x = NULL};
    ck_assert_int_eq(tg_model_forward(t, m, &b, NULL, &o), -1);
    expect_tape_error(t, "earlier");
    tg_model_state_free(st);
    tg_model_free(m);
    tg_tape_free(t);

    char err[256];
    tg_rng r;
    tg_rng_seed(&r, 1);
    ck_assert_ptr_null(tg_model_new(NULL, &r, err, sizeof err));
    ck_assert_str_eq(err, "tg_model_new: spec is NULL");
}
END_TEST

TCase *tcase_model(void) {
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, names_lm);
    tcase_add_test(tc, names_bidirectional_named);
    tcase_add_test(tc, names_other_layers);
    tcase_add_loop_test(tc, matches_pytorch, 0, (int)(sizeof PT / sizeof *PT));
    tcase_add_loop_test(tc, training_lowers_loss, 0, (int)(sizeof TRAIN / sizeof *TRAIN));
    tcase_add_test(tc, batch_first_same_numbers);
    tcase_add_test(tc, padding_is_ignored);
    tcase_add_test(tc, state_carry_and_step);
    tcase_add_test(tc, pool_last_is_final_states);
    tcase_add_test(tc, dropout_modes);
    tcase_add_loop_test(tc, gradcheck_models, 0, (int)(sizeof GC / sizeof *GC));
    tcase_add_test(tc, errors);
    return tc;
}
