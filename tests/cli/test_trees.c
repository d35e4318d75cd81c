/* tapegrad train and eval on tree files (task tree): a child-sum Tree-LSTM
 * learns a small task, eval repeats the final validation, unknown tokens
 * read as <unk>, resuming is exact, and bad files get their messages. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "tapegrad.h"

/* Dropout, so that resuming must restore the model's generator too. */
static const char SPEC[] =
    "{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"trees\"},\n"
    " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 8},\n"
    "   {\"type\": \"tree_lstm\", \"hidden\": 16}, {\"type\": \"dropout\", \"p\": 0.1},\n"
    "   {\"type\": \"linear\", \"out\": 2}]},\n"
    " \"optimizer\": {\"type\": \"adam\", \"lr\": 0.02},\n"
    " \"train\": {\"batch\": 16, \"steps\": 60, \"eval_every\": 30, \"log_every\": 10,\n"
    "   \"valid_fraction\": 0.2, \"seed\": 2}}\n";

typedef struct tree_dir {
    char dir[256], spec[300], data[300], ckpt[300];
} tree_dir;

/* A tree of depth <= d, 1 to 3 children per inner node; every node is
 * labelled 1 when a leaf below it is "x". Inner nodes have no token. */
static int gen(tg_rng *r, int d, FILE *f) {
    static const char *leaves[] = {"x", "a", "b", "c", "d", "a", "b", "c"};
    if (d == 0 || tg_rng_below(r, 4) == 0) {
        const char *w = leaves[tg_rng_below(r, 8)];
        fprintf(f, "(%d %s)", w[0] == 'x', w);
        return w[0] == 'x';
    }
    char buf[4096];
    FILE *kids = fmemopen(buf, sizeof buf, "w");
    int any = 0, n = 1 + (int)tg_rng_below(r, 3);
    for (int k = 0; k < n; k++) {
        fputc(' ', kids);
        any |= gen(r, d - 1, kids);
    }
    fclose(kids);
    fprintf(f, "(%d%s)", any, buf);
    return any;
}

/* 300 trees; *majority: the share of the held-out roots (the last 60) in
 * their commoner class. */
static void setup(tree_dir *t, const char *spec, double *majority) {
    cli_tmpdir(t->dir, sizeof t->dir);
    cli_path(t->spec, sizeof t->spec, t->dir, "tree.json");
    cli_path(t->data, sizeof t->data, t->dir, "trees.txt");
    cli_path(t->ckpt, sizeof t->ckpt, t->dir, "tree.safetensors");
    cli_write(t->spec, spec);
    FILE *f = fopen(t->data, "w");
    ck_assert_ptr_nonnull(f);
    tg_rng r;
    tg_rng_seed(&r, 7);
    int ones = 0;
    for (int i = 0; i < 300; i++) {
        int y = gen(&r, 3, f);
        fputc('\n', f);
        ones += i >= 240 && y;
    }
    fclose(f);
    if (majority) *majority = (ones > 30 ? ones : 60 - ones) / 60.0;
}

/* The number after `key` in text, or NAN. */
static double after(const char *text, const char *key) {
    const char *p = strstr(text, key);
    return p ? atof(p + strlen(key)) : NAN;
}

START_TEST(train_then_eval) {
    tree_dir t;
    double majority;
    setup(&t, SPEC, &majority);
    cli_out r = cli_run((const char *[]){"train", t.spec, "--data", t.data, "--checkpoint", t.ckpt,
                                         "--threads", "1", NULL},
                        0);
    ck_assert_ptr_nonnull(strstr(r.out, "train: tree, "));
    ck_assert_ptr_nonnull(strstr(r.out, "trees.txt: 240 training trees, 60 held out; steps 1..60"));
    /* the loss falls, and the held-out figures beat the majority class */
    double first = after(r.out, "step 10/60  loss "), last = after(r.out, "step 60/60  loss ");
    ck_assert_msg(last < 0.5 * first, "training loss %g -> %g", first, last);
    const char *fin = strstr(r.out, "final validation loss ");
    ck_assert_ptr_nonnull(fin);
    double loss = after(fin, "final validation loss "), acc = after(fin, ", accuracy ") / 100;
    double root_acc = after(fin, ", root accuracy ") / 100;
    ck_assert_msg(acc > 0.95 && root_acc > majority + 0.1, "accuracy %g, roots %g (majority %g)",
                  acc, root_acc, majority);
    ck_assert_ptr_nonnull(strstr(r.out, "step 30: validation loss "));
    ck_assert_ptr_nonnull(strstr(r.out, "; roots: loss "));

    /* eval on the held-out end: the run's final validation */
    cli_out e = cli_run((const char *[]){"eval", t.spec, "--checkpoint", t.ckpt, NULL}, 0);
    ck_assert_double_eq_tol(cli_value(e.out, "loss"), loss, 1e-4);
    ck_assert_double_eq_tol(cli_value(e.out, "accuracy"), acc, 1e-4);
    ck_assert_double_eq_tol(cli_value(e.out, "root_accuracy"), root_acc, 1e-4);
    ck_assert_double_eq_tol(cli_value(e.out, "node_loss"), cli_value(e.out, "loss"), 1e-5);
    ck_assert_double_eq(cli_value(e.out, "roots"), 60);
    ck_assert(cli_value(e.out, "nodes") > 60);
    cli_out_free(&e);

    /* a file of its own, with tokens never seen (<unk>): every node counts */
    char other[300];
    cli_path(other, sizeof other, t.dir, "other.txt");
    cli_write(other, "(1 (0 a) (1 x))\n(0 (0 zebra) (0 b) (0 c))\n(1 x)\n");
    e = cli_run((const char *[]){"eval", t.spec, "--checkpoint", t.ckpt, "--data", other, NULL}, 0);
    ck_assert_ptr_nonnull(strstr(e.out, "(all of it), 8 targets"));
    ck_assert_double_eq(cli_value(e.out, "nodes"), 8);
    ck_assert_double_eq(cli_value(e.out, "roots"), 3);
    ck_assert(cli_value(e.out, "root_accuracy") >= 0.6); /* "zebra": an untrained <unk> row */
    cli_out_free(&e);
    cli_out_free(&r);
    cli_rmdir(t.dir);
}
END_TEST

/* 30 steps at once, or 13 and then 17 more from the checkpoint: the same
 * bytes (shuffled epochs of 15 batches, Adam, the dropout generator). */
START_TEST(resume_is_exact) {
    tree_dir t;
    setup(&t, SPEC, NULL);
    ck_assert(cli_resume_same(t.spec, t.data, t.dir, 13, 30));
    cli_rmdir(t.dir);
}
END_TEST

/* Bad files, each with where and what. */
START_TEST(bad_files) {
    tree_dir t;
    setup(&t, SPEC, NULL);
    static const struct {
        const char *data, *want;
    } cases[] = {
        {"(1 (0 a) (1 x))\n(0 (5 b) (0 c))\n",
         "trees.txt: line 2, column 4: label 5, but the model has 2 classes (the last layer's "
         "output), so labels go from 0 to 1\n"},
        {"(1 (0 a) (1 x))\n(0 (0 b) (0 c)))\n", "trees.txt: line 2, column 16: unmatched ')'\n"},
        {"(1 (0 a) (1 x))\n((a) (b))\n",
         "trees.txt: line 2, column 1: no node of this tree has a label\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_write(t.data, cases[i].data);
        cli_out r = cli_run((const char *[]){"train", t.spec, "--data", t.data, NULL}, 1);
        size_t n = strlen(r.err), m = strlen(cases[i].want);
        ck_assert_msg(n >= m && strcmp(r.err + n - m, cases[i].want) == 0, "got: %s\nwant: %s",
                      r.err, cases[i].want);
        cli_out_free(&r);
    }
    /* an N-ary Tree-LSTM takes at most N children; roots as the target need
     * labelled roots */
    cli_write(t.spec, "{\"tapegrad\": 1, \"task\": \"tree\", \"input\": {\"type\": \"trees\"},\n"
                      " \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4},\n"
                      "   {\"type\": \"tree_lstm\", \"hidden\": 4, \"arity\": 2},\n"
                      "   {\"type\": \"linear\", \"out\": 2}]},\n"
                      " \"loss\": {\"target\": \"roots\"}}\n");
    cli_write(t.data, "(1 (0 a) (1 x))\n(0 (0 a) (0 b) (0 c))\n");
    cli_out r = cli_run((const char *[]){"train", t.spec, "--data", t.data, NULL}, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "trees.txt: line 2, column 1: a node with 3 children, but "
                                        "model.layers[1] (tree_lstm) takes at most 2\n"));
    cli_out_free(&r);
    cli_write(t.data, "(1 (0 a) (1 x))\n((0 a) (0 b))\n");
    r = cli_run((const char *[]){"train", t.spec, "--data", t.data, NULL}, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "trees.txt: line 2, column 1: the root has no label, and "
                                        "the loss counts the roots (loss.target)\n"));
    cli_out_free(&r);
    /* the other commands say what they do not do */
    r = cli_run((const char *[]){"graph", t.spec, NULL}, 2);
    ck_assert_ptr_nonnull(
        strstr(r.err, "task tree: graph works on sequence models, not tree nets"));
    cli_out_free(&r);
    cli_rmdir(t.dir);
}
END_TEST

TCase *tcase_trees(void) {
    TCase *tc = tcase_create("trees");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, train_then_eval);
    tcase_add_test(tc, resume_is_exact);
    tcase_add_test(tc, bad_files);
    return tc;
}
