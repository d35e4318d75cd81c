/* examples/readme/own_cell.c, the README's "Write your own cell": the
 * README's C block is the file byte for byte (and its LSTM by hand is
 * examples/readme/lstm_by_hand.c), and its JSON block is
 * examples/cells/json/mgu.json; the program (compiled here, its main
 * renamed) learns, its loss falling from above 10 to below 1; and its C
 * cell, run fused, gives the JSON cell's outputs and gradients bit for bit
 * on the same weights (the same ops in the same order). */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define main own_cell_main
#include "../../examples/readme/own_cell.c"
#undef main

/* Whether README.md holds "```lang\n" + the file's text + "```\n". */
static bool readme_has_block(const char *lang, const char *path) {
    char *readme = test_read_file("README.md"), *text = test_read_file(path);
    ck_assert_msg(readme != NULL, "README.md not found (run from the repository root)");
    ck_assert_msg(text != NULL, "%s not found", path);
    size_t n = strlen(lang) + strlen(text) + 16;
    char *block = malloc(n);
    ck_assert_ptr_nonnull(block);
    snprintf(block, n, "```%s\n%s```\n", lang, text);
    bool yes = strstr(readme, block) != NULL;
    free(block);
    free(text);
    free(readme);
    return yes;
}

START_TEST(readme_blocks_are_the_files) {
    ck_assert_msg(readme_has_block("c", "examples/readme/lstm_by_hand.c"),
                  "README.md's LSTM by hand differs from examples/readme/lstm_by_hand.c");
    ck_assert_msg(readme_has_block("c", "examples/readme/own_cell.c"),
                  "README.md's own-cell block differs from examples/readme/own_cell.c");
    ck_assert_msg(readme_has_block("json", "examples/cells/json/mgu.json"),
                  "README.md's JSON cell differs from examples/cells/json/mgu.json");
}
END_TEST

/* The program's output, run in a child with stdout in a file; "step N
 * loss L" lines. */
START_TEST(the_program_learns) {
    char path[] = "/tmp/tg-own-cell-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    fflush(stdout);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (!freopen(path, "w", stdout)) _exit(127);
        int rc = own_cell_main();
        fflush(stdout);
        _exit(rc);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "own_cell exited with %d", st);
    char *out = test_read_file(path);
    unlink(path);
    ck_assert_ptr_nonnull(out);
    double loss[4];
    int n = 0;
    for (char *p = out; p && n < 4; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        int step;
        if (sscanf(p, "step %d loss %lf", &step, &loss[n]) == 2) {
            ck_assert_int_eq(step, 100 * n);
            n++;
        }
    }
    ck_assert_msg(n == 4, "expected steps 0, 100, 200, 300 in:\n%s", out);
    ck_assert_double_gt(loss[0], 10);
    ck_assert_double_lt(loss[3], 1);
    ck_assert_double_lt(loss[3], loss[1]);
    free(out);
}
END_TEST

/* One forward and backward of m on x with lengths; the output, then every
 * parameter's gradient, appended to out (n values so far). */
static size_t run(tg_rnn *m, const tg_tensor *x_data, tg_real *out, bool *fused) {
    static const int64_t lens[3] = {5, 2, 4};
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_from_array(t, tg_tensor_shape(x_data), x_data->data);
    tg_module_zero_grad(&m->base);
    tg_rnn_result res;
    ck_assert_int_eq(tg_rnn_forward(t, m, x, NULL, NULL, lens, &res), 0);
    *fused = test_tape_has(t, " fused ");
    tg_tensor *loss =
        tg_add(t, tg_sum(t, tg_square(t, res.output)), tg_sum(t, tg_tanh(t, res.h_n)));
    ck_assert_int_eq(tg_backward(t, loss), 0);
    size_t n = (size_t)res.output->numel;
    memcpy(out, res.output->data, n * sizeof *out);
    const tg_params *p = tg_module_params(&m->base);
    for (int k = 0; k < p->n; k++) {
        const tg_tensor *w = p->items[k].tensor;
        memcpy(out + n, w->grad, (size_t)w->numel * sizeof *out);
        n += (size_t)w->numel;
    }
    tg_tape_free(t);
    return n;
}

START_TEST(c_cell_equals_json_cell) {
    char err[512] = "";
    tg_spec *s = tg_spec_load("examples/cells/json/mgu.json", err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_int_eq(tg_spec_set_vocab(s, 10, err, sizeof err), 0);
    tg_rng r;
    tg_rng_seed(&r, 2);
    tg_model *model = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(model != NULL, "%s", err);
    int k = 0;
    while (k < s->n_layers && s->layers[k].type != TG_LAYER_CELL) k++;
    ck_assert_int_lt(k, s->n_layers);
    tg_rnn *m = (tg_rnn *)model->mods[k];
    ck_assert_int_eq(m->cell->gates, MGU.gates);
    tg_tensor *x = test_param(&r, TG_SHAPE(5, 3, m->opt.input_size));
    size_t cap = 1 << 20;
    tg_real *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
    ck_assert(a && b);
    ck_assert_uint_le(tg_module_numel(&m->base) + 5 * 3 * m->opt.hidden_size, cap);
    bool fused_a, fused_b;
    size_t na = run(m, x, a, &fused_a);
    const tg_cell *json_cell = m->cell;
    m->cell = &MGU;
    size_t nb = run(m, x, b, &fused_b);
    m->cell = json_cell;
    ck_assert(fused_a && fused_b);
    ck_assert_uint_eq(na, nb);
    double nonzero = 0;
    for (size_t i = 0; i < na; i++) nonzero += a[i] != 0;
    ck_assert_double_gt(nonzero, (double)na / 2);
    for (size_t i = 0; i < na; i++)
        ck_assert_msg(memcmp(&a[i], &b[i], sizeof a[i]) == 0, "value %zu: JSON %.9g, C %.9g", i,
                      (double)a[i], (double)b[i]);
    free(a);
    free(b);
    tg_tensor_free(x);
    tg_model_free(model);
    tg_spec_free(s);
}
END_TEST

TCase *tcase_own_cell(void) {
    TCase *tc = tcase_create("own_cell");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, readme_blocks_are_the_files);
    tcase_add_test(tc, the_program_learns);
    tcase_add_test(tc, c_cell_equals_json_cell);
    return tc;
}
