/* The recurrent layer against PyTorch: every fixture written by
 * tests/nn/gen_rnn_fixtures.py holds a configuration (in __metadata__), the
 * parameters of a torch.nn.RNN/LSTM/GRU under their state_dict names, an
 * input, PyTorch's output, h_n, c_n and the gradients of
 * L = sum(output*w_output) + sum(h_n*w_h_n) (+ sum(c_n*w_c_n)) with respect
 * to every parameter, the input and the initial states. We build the module
 * from the metadata, load the parameters from the same file, and compare.
 * The reference is float32, so both builds compare at float tolerances. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define OUT_TOL 1e-5
#define GRAD_TOL 1e-4

/* Every file the generator writes (rnn_<name>.safetensors). */
static const char *const FIXTURES[] = {
    "tanh",
    "relu",
    "lstm_h0c0",
    "gru_h0",
    "lstm_2layer",
    "gru_2layer_bidir",
    "lstm_bidir_batch_first",
    "tanh_2layer_bidir",
    "lstm_bidir_lengths",
    "gru_2layer_lengths_batch_first",
    "gru_nobias",
    "relu_2layer_bidir_lengths_h0",
};
#define N_FIXTURES ((int)(sizeof FIXTURES / sizeof FIXTURES[0]))

static const char *meta(const tg_st_file *f, const char *path, const char *key) {
    const char *v = tg_safetensors_meta(f, key);
    ck_assert_msg(v != NULL, "%s: no '%s' in __metadata__", path, key);
    return v;
}

static bool meta_bool(const tg_st_file *f, const char *path, const char *key) {
    const char *v = meta(f, path, key);
    ck_assert_msg(!strcmp(v, "true") || !strcmp(v, "false"), "%s: %s = '%s'", path, key, v);
    return !strcmp(v, "true");
}

static tg_rnn_options options_from(const tg_st_file *f, const char *path) {
    tg_rnn_options o = {0};
    const char *mode = meta(f, path, "mode");
    if (!strcmp(mode, "RNN_TANH"))
        o.mode = TG_RNN_TANH;
    else if (!strcmp(mode, "RNN_RELU"))
        o.mode = TG_RNN_RELU;
    else if (!strcmp(mode, "LSTM"))
        o.mode = TG_LSTM;
    else if (!strcmp(mode, "GRU"))
        o.mode = TG_GRU;
    else
        ck_abort_msg("%s: unknown mode '%s'", path, mode);
    o.input_size = strtoll(meta(f, path, "input_size"), NULL, 10);
    o.hidden_size = strtoll(meta(f, path, "hidden_size"), NULL, 10);
    o.num_layers = atoi(meta(f, path, "num_layers"));
    o.bidirectional = meta_bool(f, path, "bidirectional");
    o.batch_first = meta_bool(f, path, "batch_first");
    o.no_bias = !meta_bool(f, path, "bias");
    return o;
}

static const tg_tensor *need(const tg_st_file *f, const char *path, const char *name) {
    const tg_tensor *x = tg_safetensors_get(f, name);
    ck_assert_msg(x != NULL, "%s: no tensor '%s'", path, name);
    return x;
}

/* got (row-major values, with shape `shape`) against the reference:
 * |got - ref| <= tol * max(1, |ref|) everywhere. */
static void expect_close(const char *path, const char *what, tg_shape shape, const tg_real *got,
                         const tg_tensor *ref, double tol) {
    char sg[TG_SHAPE_STR_MAX], sr[TG_SHAPE_STR_MAX];
    ck_assert_msg(tg_shape_numel(shape) == ref->numel && shape.ndim == ref->ndim &&
                      !memcmp(shape.dim, ref->shape, (size_t)shape.ndim * sizeof *shape.dim),
                  "%s: %s has shape %s, PyTorch's %s", path, what,
                  tg_shape_str(shape, sg, sizeof sg),
                  tg_shape_str(tg_tensor_shape(ref), sr, sizeof sr));
    for (int64_t i = 0; i < ref->numel; i++) {
        double g = (double)got[i], r = (double)tg_at(ref, i);
        ck_assert_msg(fabs(g - r) <= tol * fmax(1.0, fabs(r)), "%s: %s[%lld] = %.9g, PyTorch %.9g",
                      path, what, (long long)i, g, r);
    }
}

/* A tape tensor's values (any strides) against the reference. */
static void expect_values(const char *path, const char *what, const tg_tensor *got,
                          const tg_tensor *ref) {
    ck_assert_msg(got != NULL, "%s: %s is NULL", path, what);
    tg_real *v = malloc((size_t)got->numel * sizeof *v);
    ck_assert_ptr_nonnull(v);
    tg_copy_to(got, v);
    expect_close(path, what, tg_tensor_shape(got), v, ref, OUT_TOL);
    free(v);
}

/* A heap copy of a file tensor that takes a gradient. */
static tg_tensor *leaf_from(const tg_tensor *src) {
    tg_tensor *x = tg_param_new(tg_tensor_shape(src));
    ck_assert_ptr_nonnull(x);
    ck_assert(tg_copy(x, src));
    return x;
}

/* sum(y * w) with w copied from the file onto the tape. */
static tg_tensor *weighted_sum(tg_tape *t, tg_tensor *y, const tg_tensor *w) {
    tg_tensor *wt = tg_empty(t, tg_tensor_shape(w));
    if (!wt) return NULL;
    tg_copy(wt, w);
    return tg_sum(t, tg_mul(t, y, wt));
}

static bool is_param_name(const char *name) {
    return !strncmp(name, "weight_", 7) || !strncmp(name, "bias_", 5);
}

START_TEST(rnn_matches_pytorch) {
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "tests/nn/fixtures/rnn_%s.safetensors", FIXTURES[_i]);
    tg_st_file *f = tg_safetensors_open(path, err, sizeof err);
    ck_assert_msg(f != NULL,
                  "%s (fixtures are read from the repository root; regenerate "
                  "them with /usr/bin/python3 tests/nn/gen_rnn_fixtures.py)",
                  err);

    tg_rnn_options o = options_from(f, path);
    tg_rng init;
    tg_rng_seed(&init, 1);
    tg_rnn *m = tg_rnn_new(o, &init, err, sizeof err);
    ck_assert_msg(m != NULL, "%s: tg_rnn_new: %s", path, err);

    /* Same names in the same order as PyTorch's state_dict, which the
     * generator writes first. */
    const tg_params *ps = tg_module_params(&m->base);
    int n_file = 0;
    for (int i = 0; i < tg_safetensors_count(f); i++) {
        const char *name = tg_safetensors_name(f, i);
        if (!is_param_name(name)) continue;
        ck_assert_msg(n_file < ps->n, "%s: the module lacks PyTorch's parameter %s", path, name);
        ck_assert_msg(!strcmp(ps->items[n_file].name, name), "%s: parameter %d is %s, PyTorch's %s",
                      path, n_file, ps->items[n_file].name, name);
        n_file++;
    }
    ck_assert_msg(n_file == ps->n, "%s: the module has %d parameters, PyTorch %d", path, ps->n,
                  n_file);
    ck_assert_msg(tg_params_load(ps, path, err, sizeof err) == 0, "tg_params_load: %s", err);

    tg_tensor *x = leaf_from(need(f, path, "input"));
    const tg_tensor *h0f = tg_safetensors_get(f, "h0"), *c0f = tg_safetensors_get(f, "c0");
    tg_tensor *h0 = h0f ? leaf_from(h0f) : NULL, *c0 = c0f ? leaf_from(c0f) : NULL;
    int64_t n_len = 0;
    const int64_t *lengths = tg_safetensors_get_i64(f, "lengths", &n_len);
    if (lengths) ck_assert_int_eq(n_len, x->shape[o.batch_first ? 0 : 1]);

    tg_tape *t = tg_tape_new();
    tg_rnn_result r;
    int rc = tg_rnn_forward(t, m, x, h0, c0, lengths, &r);
    ck_assert_msg(rc == 0, "%s: tg_rnn_forward: %s", path, tg_tape_error(t));
    expect_values(path, "output", r.output, need(f, path, "output"));
    expect_values(path, "h_n", r.h_n, need(f, path, "h_n"));
    const tg_tensor *c_ref = tg_safetensors_get(f, "c_n");
    ck_assert_msg((r.c_n != NULL) == (c_ref != NULL), "%s: c_n %s", path,
                  r.c_n ? "returned for a non-LSTM" : "missing");
    if (c_ref) expect_values(path, "c_n", r.c_n, c_ref);

    tg_tensor *loss = tg_add(t, weighted_sum(t, r.output, need(f, path, "w_output")),
                             weighted_sum(t, r.h_n, need(f, path, "w_h_n")));
    if (c_ref) loss = tg_add(t, loss, weighted_sum(t, r.c_n, need(f, path, "w_c_n")));
    ck_assert_msg(tg_backward(t, loss) == 0, "%s: tg_backward: %s", path, tg_tape_error(t));

    char what[128];
    for (int i = 0; i < ps->n; i++) {
        snprintf(what, sizeof what, "grad.%s", ps->items[i].name);
        const tg_tensor *p = ps->items[i].tensor;
        expect_close(path, what, tg_tensor_shape(p), p->grad, need(f, path, what), GRAD_TOL);
    }
    expect_close(path, "grad.input", tg_tensor_shape(x), x->grad, need(f, path, "grad.input"),
                 GRAD_TOL);
    if (h0)
        expect_close(path, "grad.h0", tg_tensor_shape(h0), h0->grad, need(f, path, "grad.h0"),
                     GRAD_TOL);
    if (c0)
        expect_close(path, "grad.c0", tg_tensor_shape(c0), c0->grad, need(f, path, "grad.c0"),
                     GRAD_TOL);

    tg_tape_free(t);
    tg_tensor_free(x);
    tg_tensor_free(h0);
    tg_tensor_free(c0);
    tg_module_free(&m->base);
    tg_safetensors_close(f);
}
END_TEST

/* A fixture written by PyTorch loads by name into a module whose shapes
 * differ only where they should, and a mismatch is named. */
START_TEST(rnn_fixture_shape_mismatch_is_named) {
    const char *path = "tests/nn/fixtures/rnn_lstm_2layer.safetensors";
    tg_rng init;
    tg_rng_seed(&init, 2);
    char err[512] = "";
    /* hidden 5 instead of 6 */
    tg_rnn *m = tg_rnn_new(
        (tg_rnn_options){.mode = TG_LSTM, .input_size = 4, .hidden_size = 5, .num_layers = 2},
        &init, err, sizeof err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tg_params_load(tg_module_params(&m->base), path, err, sizeof err), -1);
    ck_assert_str_eq(err, "tests/nn/fixtures/rnn_lstm_2layer.safetensors: weight_ih_l0: "
                          "expected [20,4], file has [24,4]");
    tg_module_free(&m->base);
    /* a bidirectional module asks for _reverse names the file lacks */
    m = tg_rnn_new(
        (tg_rnn_options){.mode = TG_LSTM, .input_size = 4, .hidden_size = 6, .bidirectional = true},
        &init, err, sizeof err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(tg_params_load(tg_module_params(&m->base), path, err, sizeof err), -1);
    ck_assert_str_eq(err, "tests/nn/fixtures/rnn_lstm_2layer.safetensors: "
                          "no tensor named 'weight_ih_l0_reverse'");
    tg_module_free(&m->base);
}
END_TEST

/* Every rnn_*.safetensors the generator wrote is in FIXTURES, so a new
 * configuration cannot go untested. */
START_TEST(rnn_every_fixture_is_tested) {
    DIR *d = opendir("tests/nn/fixtures");
    ck_assert_msg(d != NULL,
                  "tests/nn/fixtures: cannot open (run the tests from the repository root)");
    int seen = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name), suffix = strlen(".safetensors");
        if (strncmp(e->d_name, "rnn_", 4) || n <= 4 + suffix ||
            strcmp(e->d_name + n - suffix, ".safetensors"))
            continue;
        bool listed = false;
        for (int i = 0; i < N_FIXTURES && !listed; i++)
            listed = strlen(FIXTURES[i]) == n - 4 - suffix &&
                     !strncmp(FIXTURES[i], e->d_name + 4, n - 4 - suffix);
        ck_assert_msg(listed, "tests/nn/fixtures/%s is not in test_rnn_parity.c's FIXTURES",
                      e->d_name);
        seen++;
    }
    closedir(d);
    ck_assert_int_eq(seen, N_FIXTURES);
}
END_TEST

TCase *tcase_rnn_parity(void) {
    TCase *tc = tcase_create("rnn_parity");
    tcase_add_loop_test(tc, rnn_matches_pytorch, 0, N_FIXTURES);
    tcase_add_test(tc, rnn_every_fixture_is_tested);
    tcase_add_test(tc, rnn_fixture_shape_mismatch_is_named);
    return tc;
}
