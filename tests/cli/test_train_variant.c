/* tapegrad train with the wishlist's keys on lstm layers: a bidirectional
 * 2-layer layer-norm LSTM with zoneout trains (its checkpoint names as the
 * C API gives them), resumes to the same bytes, with train.memory too, and
 * evaluates deterministically; a one-direction peephole LSTM with zoneout
 * and recurrent dropout carries its state from chunk to chunk (TBPTT),
 * resumes to the same bytes and the same values to rounding through the
 * recomputed stack, and samples deterministically; bad values are named
 * with their JSON path and exit status 2. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

#define SPEC(LSTM, MEMORY)                                                                         \
    "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": \"tokens\"},\n"         \
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"                           \
    "   {\"type\": \"lstm\", \"hidden\": 12, \"num_layers\": 2, \"dropout\": 0.1" LSTM "},\n"      \
    "   {\"type\": \"linear\", \"out\": \"vocab\"}]},\n"                                           \
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},\n"                                        \
    " \"train\": {\"batch\": 4, \"seq_len\": 13, \"steps\": 12, \"eval_every\": 6,\n"              \
    "   \"log_every\": 0, \"seed\": 3" MEMORY "}}\n"
#define BI_LN_ZONEOUT                                                                              \
    ", \"bidirectional\": true, \"layer_norm\": true, \"zoneout\": {\"h\": 0.1, \"c\": 0.2}"
#define PEEP_ZONEOUT ", \"peephole\": true, \"zoneout\": 0.15, \"recurrent_dropout\": 0.2"

static void write_text(const char *path) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 300; i++) fprintf(f, "%s ", i % 3 ? "the cat sat" : "on a mat.");
    fclose(f);
}

static void expect_numel(const tg_st_file *f, const char *name, int64_t n) {
    const tg_tensor *x = tg_safetensors_get(f, name);
    ck_assert_msg(x != NULL, "no %s in the checkpoint", name);
    ck_assert_int_eq(x->numel, n);
}

/* stdout of `tapegrad eval` (or sample), which must succeed */
static char *run_out(const char *const *args) {
    cli_out r = cli_run(args, 0);
    char *s = strdup(r.out);
    cli_out_free(&r);
    return s;
}

/* A run's files: its text, spec and the checkpoints cli_resume_same
 * compares (whole.safetensors, the uninterrupted run's). */
typedef struct run_files {
    char dir[256], data[512], spec[512], full[512], whole[512];
} run_files;

/* Writes the text and spec json, trains 12 steps into f->full, and opens
 * that checkpoint (close it). */
static tg_st_file *train(run_files *f, const char *json) {
    char err[256];
    cli_tmpdir(f->dir, sizeof f->dir);
    cli_path(f->data, sizeof f->data, f->dir, "text.txt");
    cli_path(f->spec, sizeof f->spec, f->dir, "lm.json");
    cli_path(f->full, sizeof f->full, f->dir, "full.safetensors");
    cli_path(f->whole, sizeof f->whole, f->dir, "whole.safetensors");
    write_text(f->data);
    cli_write(f->spec, json);
    cli_out r = cli_run(
        (const char *[]){"train", f->spec, "--data", f->data, "--checkpoint", f->full, NULL}, 0);
    cli_out_free(&r);
    tg_st_file *st = tg_safetensors_open(f->full, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    return st;
}

/* Resumed after `first` steps: the same bytes as f->full's run; then with
 * the spec recompute_json (train.memory) resumed after `first` again: the
 * same values as the full tape's to rounding. Removes the files. */
static void expect_resumes(run_files *f, int first, const char *recompute_json) {
    ck_assert(cli_resume_same(f->spec, f->data, f->dir, first, 12));
    ck_assert(cli_same_file(f->whole, f->full));
    cli_write(f->spec, recompute_json);
    ck_assert(cli_resume_same(f->spec, f->data, f->dir, first, 12));
    double diff = cli_checkpoint_diff(f->whole, f->full);
    ck_assert_msg(diff < 1e-5, "recompute's checkpoint differs from the full tape's by %g", diff);
    cli_rmdir(f->dir);
}

START_TEST(variant_bidirectional_ln_zoneout) {
    run_files f;
    tg_st_file *st = train(&f, SPEC(BI_LN_ZONEOUT, ""));
    expect_numel(st, "1.ln_ih_weight_l0", 48);
    expect_numel(st, "1.ln_hh_bias_l1_reverse", 48);
    expect_numel(st, "1.ln_c_weight_l1_reverse", 12);
    expect_numel(st, "1.weight_ih_l1", 48 * 24); /* the second layer reads both directions */
    ck_assert_ptr_null(tg_safetensors_get(st, "1.weight_ci_l0")); /* no peepholes asked */
    tg_safetensors_close(st);

    /* evaluation: zoneout's expectation, no masks: the same numbers twice */
    const char *ev[] = {"eval", f.spec, "--checkpoint", f.full, "--data", f.data, NULL};
    char *e1 = run_out(ev), *e2 = run_out(ev);
    ck_assert_str_eq(e1, e2);
    ck_assert_msg(cli_value(e1, "loss") > 0, "%s", e1);
    free(e1);
    free(e2);
    /* each layer recomputes its own segments */
    expect_resumes(&f, 7, SPEC(BI_LN_ZONEOUT, ", \"memory\": {\"segment\": 4}"));
}
END_TEST

START_TEST(variant_peephole_carry_sample) {
    run_files f;
    tg_st_file *st = train(&f, SPEC(PEEP_ZONEOUT, ""));
    expect_numel(st, "1.weight_ci_l0", 12);
    expect_numel(st, "1.weight_co_l1", 12);
    expect_numel(st, "state.c.1", 4 * 12 * 2); /* the carried cell state, per layer */
    ck_assert_ptr_null(tg_safetensors_get(st, "1.ln_ih_weight_l0"));
    tg_safetensors_close(st);

    /* the same text twice, and the carried state goes on step by step */
    const char *sa[] = {"sample", f.spec, "--checkpoint", f.full, "--length", "40", NULL};
    char *s1 = run_out(sa), *s2 = run_out(sa);
    ck_assert_int_ge((int)strlen(s1), 40);
    ck_assert_str_eq(s1, s2);
    free(s1);
    free(s2);
    /* the whole stack recomputed in segments (each segment's zoneout masks
     * those of its place in the sequence) */
    expect_resumes(&f, 5, SPEC(PEEP_ZONEOUT, ", \"memory\": {\"segment\": 4}"));
}
END_TEST

/* tapegrad graph draws the cell gate by gate (its composed ops), or with
 * --fused as training runs it: a fused node per step; both show the layer
 * norm's parameters. */
START_TEST(variant_graph) {
    char dir[256], spec[512], dot[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "lm.json");
    cli_path(dot, sizeof dot, dir, "g.dot");
    cli_write(spec, SPEC(BI_LN_ZONEOUT, ""));
    for (int fused = 0; fused < 2; fused++) {
        const char *args[] = {"graph", spec,       "--steps",
                              "2",     "--format", "dot",
                              "--out", dot,        fused ? "--fused" : NULL,
                              NULL};
        cli_out r = cli_run(args, 0);
        cli_out_free(&r);
        char *g = test_read_file(dot);
        ck_assert_ptr_nonnull(g);
        ck_assert(strstr(g, "1.ln_ih_weight_l1_reverse") != NULL);
        ck_assert_int_eq(strstr(g, "fused") != NULL, fused);
        free(g);
    }
    cli_rmdir(dir);
}
END_TEST

START_TEST(variant_bad_values) {
    char dir[256], spec[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "lm.json");
    const char *args[] = {"train", spec, "--data", spec, NULL};
    cli_write(spec, SPEC(", \"zoneout\": 1", ""));
    cli_expect_err(args, 2, "lm.json: model.layers[1].zoneout: expected a number in [0, 1), got 1");
    cli_write(spec, SPEC(", \"gate_activation\": \"hard_sigmod\"", ""));
    cli_expect_err(args, 2,
                   "lm.json: model.layers[1].gate_activation: unknown activation 'hard_sigmod'; "
                   "did you mean 'hard_sigmoid'?");
    cli_write(spec, SPEC(", \"layer_norm\": \"on\"", ""));
    cli_expect_err(args, 2,
                   "lm.json: model.layers[1].layer_norm: expected true or false, got \"on\"");
    cli_write(spec, SPEC(", \"proj_size\": 4, \"peephole\": true", ""));
    cli_expect_err(args, 2,
                   "lm.json: model.layers[1].proj_size: not with \"peephole\": a projected lstm "
                   "runs the built-in cell only");
    cli_write(spec, SPEC(", \"zoneout\": {\"h\": 0.1, \"cell\": 0.1}", ""));
    cli_expect_err(args, 2, "lm.json: model.layers[1].zoneout.cell: unknown key; valid keys: h, c");
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_train_variant(void) {
    TCase *tc = tcase_create("train_variant");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, variant_bidirectional_ln_zoneout);
    tcase_add_test(tc, variant_peephole_carry_sample);
    tcase_add_test(tc, variant_graph);
    tcase_add_test(tc, variant_bad_values);
    return tc;
}
