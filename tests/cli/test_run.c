/* tapegrad run against PyTorch: outputs, final states, gradients and three
 * optimizer steps (tests/cli/gen_run_fixtures.py wrote the expected values). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "tapegrad.h"
#include "testutil.h"

#define FIX "tests/cli/fixtures/run_"

/* OUT is F32, so the double build matches to float rounding; the float
 * build computes in float throughout. */
#ifdef TG_DOUBLE
#define RUN_TOL 1e-6
#else
#define RUN_TOL 2e-5
#endif

/* Every tensor of expect is in out (F32, same shape, same values), and out
 * has nothing else. */
static void check_against(const char *out_path, const char *expect_path) {
    char err[512];
    tg_st_file *o = tg_safetensors_open(out_path, err, sizeof err);
    ck_assert_msg(o != NULL, "%s", err);
    tg_st_file *e = tg_safetensors_open(expect_path, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    ck_assert_int_eq(tg_safetensors_count(o), tg_safetensors_count(e));
    for (int i = 0; i < tg_safetensors_count(e); i++) {
        const char *name = tg_safetensors_name(e, i);
        const tg_tensor *want = tg_safetensors_get(e, name), *got = tg_safetensors_get(o, name);
        ck_assert_msg(got != NULL, "%s: no '%s'", out_path, name);
        ck_assert_str_eq(tg_safetensors_dtype(o, name), "F32");
        ck_assert_msg(tg_same_shape(got, want), "%s: shape differs", name);
        for (int64_t k = 0; k < want->numel; k++) {
            double g = got->data[k], w = want->data[k];
            ck_assert_msg(fabs(g - w) <= RUN_TOL * fmax(1, fabs(w)),
                          "%s[%lld] = %.9g, PyTorch %.9g", name, (long long)k, g, w);
        }
    }
    tg_safetensors_close(o);
    tg_safetensors_close(e);
}

static void run_case(const char *name) {
    char dir[256], spec[256], w[256], x[256], expect[256], out[300];
    cli_tmpdir(dir, sizeof dir);
    snprintf(spec, sizeof spec, FIX "%s.json", name);
    snprintf(w, sizeof w, FIX "%s.w.safetensors", name);
    snprintf(x, sizeof x, FIX "%s.x.safetensors", name);
    snprintf(expect, sizeof expect, FIX "%s.expect.safetensors", name);
    cli_path(out, sizeof out, dir, "out.safetensors");
    const char *args[] = {"run", spec,     "--weights",     w,   "--input", x, "--out",
                          out,   "--grad", "--train-steps", "3", NULL};
    cli_out r = cli_exec(args);
    ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
    check_against(out, expect);
    cli_out_free(&r);
    cli_rmdir(dir);
}

START_TEST(lstm_h0c0) {
    run_case("lstm_h0c0");
}
END_TEST

START_TEST(gru_bidir_lengths) {
    run_case("gru_bidir_lengths");
}
END_TEST

START_TEST(lm_rnn) {
    run_case("lm_rnn");
}
END_TEST

START_TEST(classify_lstm) {
    run_case("classify_lstm");
}
END_TEST

/* Without --grad and --train-steps: output, h_n, c_n only, the same values. */
START_TEST(outputs_only) {
    char dir[256], out[300], err[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(out, sizeof out, dir, "out.safetensors");
    const char *args[] = {
        "run",     FIX "lstm_h0c0.json",          "--weights", FIX "lstm_h0c0.w.safetensors",
        "--input", FIX "lstm_h0c0.x.safetensors", "--out",     out,
        NULL};
    cli_out r = cli_exec(args);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tg_st_file *o = tg_safetensors_open(out, err, sizeof err), *e;
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(tg_safetensors_count(o), 3);
    e = tg_safetensors_open(FIX "lstm_h0c0.expect.safetensors", err, sizeof err);
    ck_assert_ptr_nonnull(e);
    const char *names[] = {"output", "h_n", "c_n"};
    for (int i = 0; i < 3; i++) {
        const tg_tensor *g = tg_safetensors_get(o, names[i]),
                        *want = tg_safetensors_get(e, names[i]);
        ck_assert_ptr_nonnull(g);
        ck_assert_tensor(g, want->data, RUN_TOL);
    }
    tg_safetensors_close(o);
    tg_safetensors_close(e);
    cli_out_free(&r);
    cli_rmdir(dir);
}
END_TEST

/* Bad inputs: exit 2 for usage, 1 for files that do not fit, with a message. */
START_TEST(errors) {
    char dir[256], out[300], x[300], err[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(out, sizeof out, dir, "out.safetensors");
    cli_path(x, sizeof x, dir, "x.safetensors");
    /* a batch without target */
    tg_st_file *f = tg_safetensors_open(FIX "lstm_h0c0.x.safetensors", err, sizeof err);
    ck_assert_ptr_nonnull(f);
    tg_named items[] = {{"input", (tg_tensor *)tg_safetensors_get(f, "input")}};
    ck_assert_int_eq(tg_safetensors_save_as(x, "F32", 1, items, 0, NULL, err, sizeof err), 0);
    tg_safetensors_close(f);

    const char *no_target[] = {"run",
                               FIX "lstm_h0c0.json",
                               "--weights",
                               FIX "lstm_h0c0.w.safetensors",
                               "--input",
                               x,
                               "--out",
                               out,
                               "--train-steps",
                               "2",
                               NULL};
    cli_expect_err(no_target, 2, "--train-steps needs a tensor named 'target'");

    /* weights of another model */
    const char *wrong_w[] = {"run",       FIX "lstm_h0c0.json",
                             "--weights", FIX "lm_rnn.w.safetensors",
                             "--input",   x,
                             "--out",     out,
                             NULL};
    cli_expect_err(wrong_w, 1, "no tensor named '0.weight_ih_l0'");

    /* token ids given as floats */
    const char *float_ids[] = {"run",       FIX "lm_rnn.json",
                               "--weights", FIX "lm_rnn.w.safetensors",
                               "--input",   x,
                               "--out",     out,
                               NULL};
    cli_expect_err(float_ids, 1, "input: token ids must be I64 [T, B], got F32 [5,3,3]");

    const char *no_out[] = {
        "run", FIX "lm_rnn.json", "--weights", FIX "lm_rnn.w.safetensors", "--input", x, NULL};
    cli_out r = cli_exec(no_out);
    ck_assert_int_eq(r.status, 2);
    ck_assert_str_eq(r.err, "tapegrad run: --out is required (see 'tapegrad run --help')\n");
    cli_out_free(&r);
    ck_assert_int_eq(access(out, F_OK), -1); /* nothing written on failure */
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_run(void) {
    TCase *tc = tcase_create("run");
    tcase_add_test(tc, lstm_h0c0);
    tcase_add_test(tc, gru_bidir_lengths);
    tcase_add_test(tc, lm_rnn);
    tcase_add_test(tc, classify_lstm);
    tcase_add_test(tc, outputs_only);
    tcase_add_test(tc, errors);
    return tc;
}
