/* tapegrad graph and tapegrad step over one training step of a spec. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

#define SPEC "tests/nn/specs/char_lstm.json"

START_TEST(dot_has_a_cluster_per_step_and_shared_weights_once) {
    for (int T = 1; T <= 3; T++) {
        char steps[8];
        snprintf(steps, sizeof steps, "%d", T);
        cli_out r = cli_exec((const char *[]){"graph", SPEC, "--steps", steps, NULL});
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert(strncmp(r.out, "digraph tape {", 14) == 0);
        /* a cluster per time step in each of the two layers: t0 .. t{T-1} */
        for (int t = 0; t < T; t++) {
            char label[32];
            snprintf(label, sizeof label, "label=\"t%d\";", t);
            ck_assert_msg(cli_count(r.out, label) == 2, "not one cluster %s per layer", label);
        }
        ck_assert_int_eq(cli_count(r.out, "label=\"t"), 2 * T + 1 /* the title */);
        /* W_hh of each layer is one box, however many steps read it,
         * labelled with its owner (layer 1 of the spec), as checkpoints
         * name it; the embedding's and the output layer's weights apart */
        ck_assert_int_eq(cli_count(r.out, "label=\"1.weight_hh_l0\\n"), 1);
        ck_assert_int_eq(cli_count(r.out, "label=\"1.weight_hh_l1\\n"), 1);
        ck_assert_int_eq(cli_count(r.out, "label=\"0.weight\\n"), 1);
        ck_assert_int_eq(cli_count(r.out, "label=\"3.weight\\n"), 1);
        ck_assert_int_eq(cli_count(r.out, "label=\"weight"), 0);
        ck_assert_int_eq(cli_count(r.out, " recurrent\\nlinear"), 2 * T);
        /* each gate is a node of its own, named */
        ck_assert_int_eq(cli_count(r.out, " forget_gate\\nsigmoid"), 2 * T);
        ck_assert_int_eq(cli_count(r.out, "\\nlstm_step"), 0);
        cli_out_free(&r);
    }
    /* --fused: what training runs, one node per step and layer */
    cli_out r = cli_exec((const char *[]){"graph", SPEC, "--steps", "2", "--fused", NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_int_eq(cli_count(r.out, " step\\nlstm_step"), 4);
    ck_assert_int_eq(cli_count(r.out, "forget_gate"), 0);
    cli_out_free(&r);
}
END_TEST

START_TEST(json_nodes_grow_linearly_with_steps) {
    int nodes[4] = {0};
    for (int T = 1; T <= 3; T++) {
        char steps[8];
        snprintf(steps, sizeof steps, "%d", T);
        cli_out r = cli_exec((const char *[]){"graph", SPEC, "--steps", steps, "--format", "json",
                                              NULL});
        ck_assert_msg(r.status == 0, "%s", r.err);
        cJSON *j = cJSON_Parse(r.out);
        ck_assert_ptr_nonnull(j);
        nodes[T] = cJSON_GetArraySize(cJSON_GetObjectItem(j, "nodes"));
        cJSON_Delete(j);
        cli_out_free(&r);
    }
    ck_assert_int_gt(nodes[2], nodes[1]);
    ck_assert_int_eq(nodes[3] - nodes[2], nodes[2] - nodes[1]);
}
END_TEST

START_TEST(svg_through_graphviz_or_a_clear_message) {
    char dir[256], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(out, sizeof out, dir, "g.svg");
    cli_out r = cli_exec((const char *[]){"graph", SPEC, "--format", "svg", "--out", out, NULL});
    if (system("command -v dot >/dev/null 2>&1") == 0) {
        ck_assert_msg(r.status == 0, "%s", r.err);
        char *svg = test_read_file(out);
        ck_assert_ptr_nonnull(svg);
        ck_assert_ptr_nonnull(strstr(svg, "<svg"));
        ck_assert_ptr_nonnull(strstr(svg, ">0.weight<"));
        ck_assert_ptr_nonnull(strstr(svg, ">3.weight<"));
        ck_assert_ptr_nonnull(strstr(svg, ">1.weight_hh_l0<"));
        free(svg);
    } else {
        fprintf(stderr, "graphviz not installed: checking the message only\n");
        ck_assert_int_eq(r.status, 1);
        ck_assert_ptr_nonnull(strstr(r.err, "needs Graphviz's 'dot'"));
    }
    cli_out_free(&r);
    cli_rmdir(dir);
}
END_TEST

START_TEST(usage_errors) {
    cli_expect_err((const char *[]){"graph", SPEC, "--format", "gif", NULL}, 2,
                   "--format gif: expected dot, svg, png, json or html");
    cli_expect_err((const char *[]){"graph", SPEC, "--format", "png", NULL}, 2,
                   "--format png needs --out FILE");
    cli_out r = cli_exec((const char *[]){"step", NULL});
    ck_assert_int_eq(r.status, 2);
    cli_out_free(&r);
}
END_TEST

/* The dump shows every node once forward and once backward. */
START_TEST(step_dump_visits_each_node_once_per_direction) {
    cli_out r = cli_exec((const char *[]){"step", SPEC, "--steps", "2", "--dump", NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    int fw = 0, bw = 0;
    ck_assert_int_eq(sscanf(strstr(r.out, "stepping through"), "stepping through %d nodes forward and %d backward", &fw, &bw), 2);
    ck_assert_int_eq(cli_count(r.out, "== forward "), fw);
    ck_assert_int_eq(cli_count(r.out, "== backward "), bw);
    char last[64];
    snprintf(last, sizeof last, "== backward %d/%d:", bw, bw);
    ck_assert_ptr_nonnull(strstr(r.out, last));
    cli_out_free(&r);
    r = cli_exec((const char *[]){"step", SPEC, "--script", "n bw q", NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "== forward 2/"));
    ck_assert_ptr_nonnull(strstr(r.out, "== backward 1/"));
    cli_out_free(&r);
    /* the list names parameters with their owners */
    r = cli_exec((const char *[]){"step", SPEC, "--steps", "1", "--script", "l q", NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "p0  0.weight "));
    ck_assert_ptr_nonnull(strstr(r.out, " h0 1.weight_hh_l0 1.bias_hh_l0 "));
    ck_assert_ptr_nonnull(strstr(r.out, " #39 3.weight 3.bias "));
    cli_out_free(&r);
}
END_TEST

#ifdef TG_DOUBLE
/* Masks the number after each "|grad| " (the double build's norms may
 * differ from the float build's in the last digit), in place. */
static void mask_grads(char *dot) {
    for (char *p = strstr(dot, "|grad| "); p; p = strstr(p, "|grad| "))
        for (p += 7; *p && strchr("0123456789.e+-", *p); p++) *p = '#';
}
#endif

/* The text of every <text> element of an SVG, one a line (what a reader
 * sees: Graphviz versions move things, not words). Owned by the caller. */
static char *svg_texts(const char *svg) {
    char *out = calloc(strlen(svg) + 1, 1);
    ck_assert_ptr_nonnull(out);
    for (const char *p = strstr(svg, "<text"); p; p = strstr(p, "<text")) {
        const char *a = strchr(p, '>') + 1, *b = strstr(a, "</text>");
        strncat(out, a, (size_t)(b - a));
        strcat(out, "\n");
        p = b;
    }
    return out;
}

/* The README's picture is what `make readme-picture` writes now: its DOT
 * source is what tapegrad graph writes, and the SVG is dot's drawing of
 * that source (compared by its words). */
START_TEST(readme_picture_is_current) {
    cli_out r = cli_run((const char *[]){"graph", "docs/unrolled-rnn.json", "--steps", "3",
                                         "--format", "dot", NULL},
                        0);
    char *dot = test_read_file("docs/unrolled-rnn.dot");
    ck_assert_msg(dot != NULL, "docs/unrolled-rnn.dot is missing (make readme-picture)");
#ifdef TG_DOUBLE
    mask_grads(r.out), mask_grads(dot);
#endif
    size_t at = 0;
    while (r.out[at] && r.out[at] == dot[at]) at++;
    ck_assert_msg(!strcmp(r.out, dot),
                  "docs/unrolled-rnn.dot differs from what tapegrad graph writes now (run make "
                  "readme-picture and commit it) at byte %zu: '%.60s' against '%.60s'",
                  at, dot + at, r.out + at);
    cli_out_free(&r);
    free(dot);
    if (system("command -v dot >/dev/null 2>&1") != 0) {
        ck_assert_msg(!getenv("CI"), "Graphviz's dot is needed (apt-get install graphviz)");
        fprintf(stderr, "graphviz not installed: the README's SVG not compared\n");
        return;
    }
    r = cli_exec_sh((const char *[]){"-c", "dot -Tsvg docs/unrolled-rnn.dot", NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    char *svg = test_read_file("docs/unrolled-rnn.svg");
    ck_assert_ptr_nonnull(svg);
    char *want = svg_texts(r.out), *got = svg_texts(svg);
    ck_assert_msg(strstr(got, "1.weight_hh_l0\n"), "%s", got);
    ck_assert_msg(!strcmp(want, got),
                  "docs/unrolled-rnn.svg is not dot's drawing of docs/unrolled-rnn.dot (run make "
                  "readme-picture and commit it)");
    free(want), free(got), free(svg);
    cli_out_free(&r);
}
END_TEST

/* j NAME with a parameter's name: forward, the next node that reads it,
 * round again after the last; backward, the next that adds to its
 * gradient. The end of a name fits if only one parameter has it. */
START_TEST(step_jumps_to_a_parameter) {
    cli_out r =
        cli_run((const char *[]){"step", "docs/unrolled-rnn.json", "--steps", "2", "--script",
                                 "j weight_hh_l0 j weight_hh_l0 j 1.weight_hh_l0 bw j weight_hh_l0 "
                                 "j weight_hh_l0 j weight j nothing j p0",
                                 NULL},
                0);
    const char *want[] = {
        "== forward 6/18: node #5 rnn.l0.t0.recurrent (linear) ==",
        "== forward 11/18: node #10 rnn.l0.t1.recurrent (linear) ==",
        "== forward 6/18: node #5 rnn.l0.t0.recurrent (linear) ==",
        "== backward 1/17: ",
        "== backward 7/17: node #10 rnn.l0.t1.recurrent (linear) ==",
        "  += into param 1.weight_hh_l0 [6,6]  (use 1 of 2)",
        "== backward 12/17: node #5 rnn.l0.t0.recurrent (linear) ==",
        "  += into param 1.weight_hh_l0 [6,6]  (use 2 of 2)",
        "'weight' names 2 parameters: 0.weight 2.weight (give one)\n",
        "no node 'nothing' (nor a parameter of that name)\n",
        "== backward 17/17: node #0 rnn.l0 (index_select) ==",
    };
    const char *at = r.out;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *p = strstr(at, want[i]);
        ck_assert_msg(p != NULL, "no '%s' after:\n%s", want[i], at);
        at = p + strlen(want[i]);
    }
    cli_out_free(&r);
}
END_TEST

TCase *tcase_graph(void) {
    TCase *tc = tcase_create("graph");
    tcase_add_test(tc, dot_has_a_cluster_per_step_and_shared_weights_once);
    tcase_add_test(tc, readme_picture_is_current);
    tcase_add_test(tc, step_jumps_to_a_parameter);
    tcase_add_test(tc, json_nodes_grow_linearly_with_steps);
    tcase_add_test(tc, svg_through_graphviz_or_a_clear_message);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, step_dump_visits_each_node_once_per_direction);
    return tc;
}
