/* Looking at the tape: the table and the DOT picture of a 2-step RNN
 * against golden files, DOT through Graphviz, the JSON trace for T = 1..3,
 * and the stepper's screens, gradient sums and JSON, and the web page.
 *
 * The goldens are the same in the float and the double build (values are
 * shown to 4 digits). To rewrite them after an intended change, run the
 * suite with TG_UPDATE_GOLDEN=1 and read the diff. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define GOLDEN_DIR "tests/autograd/golden/"

/* A hand-built Elman RNN, unrolled over T steps with scopes and labels, so
 * the goldens depend on nothing but the ops:
 *     rnn.t<k>: input = x_k W_xh^T + b_h, recurrent = h W_hh^T,
 *               pre = input + recurrent, hidden = tanh(pre)
 *     out:      output = h_T W_hy^T, loss = (output - y)^2 */
typedef struct rnn {
    tg_tensor *w_xh, *w_hh, *b_h, *w_hy;
    tg_tensor *h[4]; /* h[k]: the hidden state after step k (h[0] = h0) */
    tg_tensor *loss;
} rnn;

static void rnn_params(rnn *m) {
    static const tg_real wxh[6] = {0.5, -0.3, 0.2, 0.8, -0.6, 0.1};
    static const tg_real whh[9] = {0.4, -0.2, 0.1, 0.3, 0.5, -0.4, -0.1, 0.2, 0.6};
    static const tg_real bh[3] = {0.05, -0.1, 0.2}, why[3] = {0.7, -0.5, 0.3};
    m->w_xh = tg_param_new(TG_SHAPE(3, 2)), tg_copy_from(m->w_xh, wxh), m->w_xh->name = "W_xh";
    m->w_hh = tg_param_new(TG_SHAPE(3, 3)), tg_copy_from(m->w_hh, whh), m->w_hh->name = "W_hh";
    m->b_h = tg_param_new(TG_SHAPE(3)), tg_copy_from(m->b_h, bh), m->b_h->name = "b_h";
    m->w_hy = tg_param_new(TG_SHAPE(1, 3)), tg_copy_from(m->w_hy, why), m->w_hy->name = "W_hy";
}

static void rnn_free(rnn *m) {
    tg_tensor_free(m->w_xh), tg_tensor_free(m->w_hh), tg_tensor_free(m->b_h),
        tg_tensor_free(m->w_hy);
}

static void rnn_forward(tg_tape *t, rnn *m, int T) {
    static const tg_real xs[3][2] = {{1, -1}, {0.5, 2}, {-1.5, 0.25}};
    static const tg_real h0[3] = {0.1, -0.2, 0.3}, y[1] = {0.25};
    static const char *xname[3] = {"x1", "x2", "x3"}, *tname[3] = {"t1", "t2", "t3"};
    m->h[0] = tg_from_array(t, TG_SHAPE(1, 3), h0);
    m->h[0]->name = "h0";
    tg_scope_push(t, "rnn");
    for (int k = 0; k < T; k++) {
        tg_tensor *x = tg_from_array(t, TG_SHAPE(1, 2), xs[k]);
        x->name = xname[k];
        tg_scope_push(t, tname[k]);
        tg_tensor *in = tg_linear(t, x, m->w_xh, m->b_h);
        tg_label(t, in, "input");
        tg_tensor *rec = tg_linear(t, m->h[k], m->w_hh, NULL);
        tg_label(t, rec, "recurrent");
        tg_tensor *pre = tg_add(t, in, rec);
        tg_label(t, pre, "pre");
        m->h[k + 1] = tg_tanh(t, pre);
        tg_label(t, m->h[k + 1], "hidden");
        tg_scope_pop(t);
    }
    tg_scope_pop(t);
    tg_scope_push(t, "out");
    tg_tensor *out = tg_linear(t, m->h[T], m->w_hy, NULL);
    tg_label(t, out, "output");
    tg_tensor *target = tg_from_array(t, TG_SHAPE(1, 1), y);
    target->name = "y";
    m->loss = tg_mse(t, out, target, TG_SUM);
    tg_label(t, m->loss, "loss");
    tg_scope_pop(t);
}

/* m's parameters and a tape of T steps after forward and backward. */
static tg_tape *rnn_step(rnn *m, int T) {
    rnn_params(m);
    tg_tape *t = tg_tape_new();
    rnn_forward(t, m, T);
    ck_assert_int_eq(tg_backward(t, m->loss), 0);
    return t;
}

/* What f wrote, as a string (caller frees). */
typedef struct memout {
    char *buf;
    size_t len;
    FILE *f;
} memout;

static FILE *mem_open(memout *m) {
    *m = (memout){0};
    m->f = open_memstream(&m->buf, &m->len);
    ck_assert_ptr_nonnull(m->f);
    return m->f;
}

static char *mem_close(memout *m) {
    fclose(m->f);
    return m->buf;
}

/* text must equal the golden file, line by line (the first difference is
 * named); with TG_UPDATE_GOLDEN set, the file is rewritten instead. */
static void check_golden(const char *text, const char *file) {
    char path[256];
    snprintf(path, sizeof path, GOLDEN_DIR "%s", file);
    if (getenv("TG_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot write %s", path);
        fputs(text, f);
        fclose(f);
        return;
    }
    char *want = test_read_file(path);
    ck_assert_msg(want != NULL, "golden file %s is missing (run from the repository root)", path);
    const char *a = text, *b = want;
    for (int line = 1; *a || *b; line++) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%s:%d differs:\n got:  %.*s\n want: %.*s",
                      path, line, (int)la, a, (int)lb, b);
        a += la + (a[la] == '\n'), b += lb + (b[lb] == '\n');
    }
    free(want);
}

START_TEST(print_matches_golden) {
    rnn m;
    rnn_params(&m);
    tg_tape *t = tg_tape_new();
    rnn_forward(t, &m, 2);
    memout before;
    ck_assert_int_eq(tg_tape_print(t, mem_open(&before)), 0);
    char *text = mem_close(&before);
    check_golden(text, "rnn2_print_forward.txt");
    free(text);
    ck_assert_int_eq(tg_backward(t, m.loss), 0);
    memout after;
    ck_assert_int_eq(tg_tape_print(t, mem_open(&after)), 0);
    text = mem_close(&after);
    check_golden(text, "rnn2_print.txt");
    /* the table's loss row shows the loss's value and the seed's norm 1 */
    ck_assert_ptr_nonnull(strstr(text, "out.loss"));
    free(text);
    ck_assert_int_eq(tg_tape_print(NULL, stdout), -1);
    ck_assert_int_eq(tg_tape_print(t, NULL), -1);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

START_TEST(dot_matches_golden) {
    rnn m;
    tg_tape *t = rnn_step(&m, 2);
    memout plain, rich, flat;
    ck_assert_int_eq(tg_tape_dot(t, mem_open(&plain), NULL), 0);
    char *text = mem_close(&plain);
    check_golden(text, "rnn2.dot");
    /* W_hh is drawn once, with an edge into each step's recurrent node */
    const char *decl = strstr(text, "p2 [shape=box");
    ck_assert_ptr_nonnull(decl);
    ck_assert_ptr_null(strstr(decl + 1, "p2 [shape=box"));
    ck_assert_ptr_nonnull(strstr(text, "p2 -> n1;"));
    ck_assert_ptr_nonnull(strstr(text, "p2 -> n5;"));
    free(text);
    tg_dot_options o = {.grads = true, .values = true, .title = "a \"2-step\" RNN"};
    ck_assert_int_eq(tg_tape_dot(t, mem_open(&rich), &o), 0);
    text = mem_close(&rich);
    check_golden(text, "rnn2_grads.dot");
    free(text);
    o = (tg_dot_options){.flat = true};
    ck_assert_int_eq(tg_tape_dot(t, mem_open(&flat), &o), 0);
    text = mem_close(&flat);
    ck_assert_ptr_null(strstr(text, "subgraph"));
    ck_assert_ptr_nonnull(strstr(text, "#7 rnn.t2.hidden"));
    free(text);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

START_TEST(dot_renders_with_graphviz) {
    if (system("command -v dot >/dev/null 2>&1") != 0) {
        printf("dot_renders_with_graphviz: skipped: Graphviz's dot is not installed "
               "(apt-get install graphviz)\n");
        return;
    }
    rnn m;
    rnn_params(&m);
    tg_tape *t = tg_tape_new();
    rnn_forward(t, &m, 3);
    ck_assert_int_eq(tg_backward(t, m.loss), 0);
    char dir[] = "/tmp/tg_dot_XXXXXX", dotp[64], svgp[64], cmd[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(dotp, sizeof dotp, "%s/g.dot", dir);
    snprintf(svgp, sizeof svgp, "%s/g.svg", dir);
    tg_dot_options o = {.grads = true, .values = true, .title = "3 steps"};
    for (int variant = 0; variant < 2; variant++, o.flat = true) {
        FILE *f = fopen(dotp, "w");
        ck_assert_int_eq(tg_tape_dot(t, f, &o), 0);
        fclose(f);
        snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o %s 2>&1", dotp, svgp);
        ck_assert_int_eq(system(cmd), 0);
        char *svg = test_read_file(svgp);
        ck_assert_ptr_nonnull(svg);
        ck_assert_ptr_nonnull(strstr(svg, "<svg"));
        ck_assert_ptr_nonnull(strstr(svg, "W_hh"));
        if (!variant) ck_assert_ptr_nonnull(strstr(svg, "cluster")); /* steps as clusters */
        free(svg);
    }
    remove(dotp), remove(svgp), rmdir(dir);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

static const cJSON *entry_with_id(const cJSON *arr, const char *id) {
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsString(v) && !strcmp(v->valuestring, id)) return e;
    }
    return NULL;
}

START_TEST(json_trace_grows_linearly) {
    rnn m;
    rnn_params(&m);
    int prev = 0;
    for (int T = 1; T <= 3; T++) {
        tg_tape *t = tg_tape_new();
        tg_zero_grad(m.w_xh), tg_zero_grad(m.w_hh), tg_zero_grad(m.b_h), tg_zero_grad(m.w_hy);
        rnn_forward(t, &m, T);
        ck_assert_int_eq(tg_backward(t, m.loss), 0);
        memout mo;
        ck_assert_int_eq(tg_tape_json(t, mem_open(&mo)), 0);
        char *text = mem_close(&mo);
        cJSON *j = cJSON_Parse(text);
        ck_assert_msg(j != NULL, "trace for T=%d is not JSON:\n%s", T, text);
        const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes");
        const cJSON *leaves = cJSON_GetObjectItemCaseSensitive(j, "leaves");
        const cJSON *edges = cJSON_GetObjectItemCaseSensitive(j, "edges");
        /* four ops per step, two for the output and loss */
        ck_assert_int_eq(cJSON_GetArraySize(nodes), 4 * T + 2);
        ck_assert_int_eq(cJSON_GetArraySize(nodes), (int)tg_tape_node_count(t));
        if (T > 1) ck_assert_int_eq(cJSON_GetArraySize(nodes) - prev, 4);
        prev = cJSON_GetArraySize(nodes);
        /* 4 parameters; x1..xT, h0 and y */
        ck_assert_int_eq(cJSON_GetArraySize(leaves), T + 6);
        ck_assert_int_eq(cJSON_GetArraySize(edges), 8 * T + 4);
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "real")->valuestring, TG_REAL_NAME);
        /* a step's hidden node: its name, op, input, value and gradient */
        char id[16];
        snprintf(id, sizeof id, "n%d", 4 * T - 1);
        const cJSON *h = entry_with_id(nodes, id);
        ck_assert_ptr_nonnull(h);
        char name[32];
        snprintf(name, sizeof name, "rnn.t%d.hidden", T);
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(h, "name")->valuestring, name);
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(h, "op")->valuestring, "tanh");
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(h, "label")->valuestring, "hidden");
        snprintf(id, sizeof id, "n%d", 4 * T - 2);
        ck_assert_str_eq(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(h, "inputs"), 0)->valuestring, id);
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(h, "values");
        const cJSON *grad = cJSON_GetObjectItemCaseSensitive(h, "grad");
        ck_assert_int_eq(cJSON_GetArraySize(vals), 3);
        for (int i = 0; i < 3; i++) {
            ck_assert_close(cJSON_GetArrayItem(vals, i)->valuedouble, m.h[T]->data[i], TG_TOL);
            ck_assert_close(cJSON_GetArrayItem(grad, i)->valuedouble, m.h[T]->grad[i], TG_TOL);
        }
        /* W_hh: one leaf, its gradient, an edge from it into every step */
        const cJSON *w = entry_with_id(leaves, "p2");
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(w, "name")->valuestring, "W_hh");
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(w, "kind")->valuestring, "param");
        const cJSON *wg = cJSON_GetObjectItemCaseSensitive(w, "grad");
        for (int i = 0; i < 9; i++)
            ck_assert_close(cJSON_GetArrayItem(wg, i)->valuedouble, m.w_hh->grad[i], TG_TOL);
        double sq = 0;
        for (int i = 0; i < 9; i++) sq += (double)m.w_hh->grad[i] * m.w_hh->grad[i];
        ck_assert_close(cJSON_GetObjectItemCaseSensitive(w, "grad_norm")->valuedouble, sqrt(sq),
                        TG_TOL);
        int uses = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, edges) uses +=
            !strcmp(cJSON_GetObjectItemCaseSensitive(e, "from")->valuestring, "p2");
        ck_assert_int_eq(uses, T);
        const cJSON *x1 = entry_with_id(leaves, "c0");
        ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(x1, "kind")->valuestring, "data");
        ck_assert_msg(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(x1, "grad")),
                      "data has no grad");
        cJSON_Delete(j);
        free(text);
        tg_tape_free(t);
    }
    rnn_free(&m);
}
END_TEST

/* Past TG_TRACE_MAX_VALUES a tensor is cut and says so; odd names are
 * escaped; non-finite values are null. */
START_TEST(json_truncates_and_escapes) {
    tg_tape *t = tg_tape_new();
    tg_tensor *w = tg_param_new(TG_SHAPE(10, 10));
    for (int i = 0; i < 100; i++) w->data[i] = (tg_real)i;
    w->name = "w \"big\"\n";
    tg_real inf = (tg_real)INFINITY;
    tg_tensor *s = tg_mul(t, w, tg_from_array(t, TG_SCALAR, &inf));
    tg_label(t, s, "scaled\\");
    memout mo;
    ck_assert_int_eq(tg_tape_json(t, mem_open(&mo)), 0);
    char *text = mem_close(&mo);
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "not JSON:\n%s", text);
    const cJSON *lw = entry_with_id(cJSON_GetObjectItemCaseSensitive(j, "leaves"), "p0");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(lw, "name")->valuestring, "w \"big\"\n");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(lw, "values")),
                     TG_TRACE_MAX_VALUES);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(lw, "truncated")));
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(lw, "numel")->valueint, 100);
    ck_assert_close(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(lw, "values"), 63)->valuedouble, 63, 0);
    const cJSON *n0 = entry_with_id(cJSON_GetObjectItemCaseSensitive(j, "nodes"), "n0");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(n0, "label")->valuestring, "scaled\\");
    /* 0 * inf is nan, 1 * inf is inf: both null */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(n0, "values");
    ck_assert(cJSON_IsNull(cJSON_GetArrayItem(v, 0)) && cJSON_IsNull(cJSON_GetArrayItem(v, 1)));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
        entry_with_id(cJSON_GetObjectItemCaseSensitive(j, "leaves"), "c0"), "truncated")));
    cJSON_Delete(j);
    free(text);
    ck_assert_int_eq(tg_tape_json(NULL, stdout), -1);
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* The node index of each "== <dir> k/N: node #i" header, in order. */
static int headers(const char *text, const char *dir, int *nodes, int max) {
    int n = 0;
    char pat[32];
    snprintf(pat, sizeof pat, "== %s ", dir);
    for (const char *p = strstr(text, pat); p; p = strstr(p + 1, pat)) {
        const char *hash = strstr(p, "node #");
        ck_assert_ptr_nonnull(hash);
        if (n < max) nodes[n] = atoi(hash + 6);
        n++;
    }
    return n;
}

START_TEST(stepper_dump_visits_each_node_once_per_direction) {
    rnn m;
    tg_tape *t = rnn_step(&m, 2);
    char err[128];
    tg_stepper *s = tg_stepper_new(t, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    memout mo;
    ck_assert_int_eq(tg_stepper_dump(s, mem_open(&mo)), 0);
    char *text = mem_close(&mo);
    check_golden(text, "rnn2_stepper_dump.txt");
    int fw[32], bw[32];
    ck_assert_int_eq(headers(text, "forward", fw, 32), 10);
    ck_assert_int_eq(headers(text, "backward", bw, 32), 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(fw[i], i);
        ck_assert_int_eq(bw[i], 9 - i);
    }
    /* the shared weight's += is visible: two uses, the second completing it */
    ck_assert_ptr_nonnull(strstr(text, "+= into param W_hh [3,3]  (use 1 of 2)"));
    ck_assert_ptr_nonnull(strstr(text, "+= into param W_hh [3,3]  (use 2 of 2)"));
    ck_assert_ptr_null(strstr(text, "differs"));
    /* every gradient is the sum of what the nodes added */
    tg_tensor *ps[4] = {m.w_xh, m.w_hh, m.b_h, m.w_hy};
    for (int k = 0; k < 4; k++) {
        const tg_real *sum = tg_stepper_grad_sum(s, ps[k]);
        ck_assert_ptr_nonnull(sum);
        for (int64_t i = 0; i < ps[k]->numel; i++) ck_assert_close(sum[i], ps[k]->grad[i], TG_TOL);
    }
    for (int k = 1; k <= 2; k++) {
        const tg_real *sum = tg_stepper_grad_sum(s, m.h[k]);
        ck_assert_ptr_nonnull(sum);
        for (int i = 0; i < 3; i++) ck_assert_close(sum[i], m.h[k]->grad[i], TG_TOL);
    }
    ck_assert_ptr_null(tg_stepper_grad_sum(s, m.h[0])); /* data: nothing flows into it */
    /* W_hh's contribution at step 2 is by hand dpre2^T h1, with
     * dpre2 = dh2 * (1 - h2^2) */
    double want[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            want[i * 3 + j] = (double)m.h[2]->grad[i] *
                              (1 - (double)m.h[2]->data[i] * m.h[2]->data[i]) *
                              (double)m.h[1]->data[j];
    double norm = 0;
    for (int i = 0; i < 9; i++) norm += want[i] * want[i];
    char line[64];
    snprintf(line, sizeof line, "adds      |+| %-9.4g", sqrt(norm));
    const char *step2 = strstr(text, "== backward 5/10: node #5");
    ck_assert_ptr_nonnull(step2);
    ck_assert_msg(strstr(step2, line) != NULL, "missing '%s'", line);
    free(text);
    tg_stepper_free(s);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

START_TEST(stepper_script_and_interactive) {
    rnn m;
    tg_tape *t = rnn_step(&m, 2);
    tg_stepper *s = tg_stepper_new(t, NULL, 0);
    memout mo;
    ck_assert_int_eq(tg_stepper_script(s, "n n n b j t2.hidden bw j 5 n j #3 p; jump nosuch zz q n",
                                       mem_open(&mo)),
                     0);
    char *text = mem_close(&mo);
    int fw[16], bw[16];
    ck_assert_int_eq(headers(text, "forward", fw, 16), 6);
    int fw_want[6] = {0, 1, 2, 3, 2, 7};
    for (int i = 0; i < 6; i++) ck_assert_int_eq(fw[i], fw_want[i]);
    ck_assert_int_eq(headers(text, "backward", bw, 16), 5);
    int bw_want[5] = {9, 5, 4, 3, 4};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(bw[i], bw_want[i]);
    ck_assert_ptr_nonnull(strstr(text, "no node 'nosuch'"));
    ck_assert_ptr_nonnull(strstr(text, "unknown command 'zz' (h for help)"));
    free(text);

    /* interactive: an empty line repeats the last; end of input quits */
    FILE *in = fmemopen((void *)"n\n\nl\nbw\np\nh\n", strlen("n\n\nl\nbw\np\nh\n"), "r");
    tg_stepper *s2 = tg_stepper_new(t, NULL, 0);
    ck_assert_int_eq(tg_stepper_interact(s2, in, mem_open(&mo)), 0);
    fclose(in);
    text = mem_close(&mo);
    ck_assert_int_eq(headers(text, "forward", fw, 16), 4);
    ck_assert_int_eq(fw[2], 2);
    ck_assert_int_eq(fw[3], 9); /* p from the first backward screen: the last forward one */
    ck_assert_int_eq(headers(text, "backward", bw, 16), 1);
    ck_assert_ptr_nonnull(strstr(text, "(step) "));
    ck_assert_ptr_nonnull(strstr(text, "tape: 10 nodes"));
    ck_assert_ptr_nonnull(strstr(text, "commands:"));
    free(text);
    tg_stepper_free(s2);

    /* at either end it says so */
    tg_stepper *s3 = tg_stepper_new(t, NULL, 0);
    ck_assert_int_eq(tg_stepper_script(s3, "p bw j 0 n", mem_open(&mo)), 0);
    text = mem_close(&mo);
    ck_assert_ptr_nonnull(strstr(text, "(this is the first screen)"));
    ck_assert_ptr_nonnull(strstr(text, "(this is the last screen)"));
    free(text);
    tg_stepper_free(s3);
    tg_stepper_free(s);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

/* Gradients that were not zeroed before backward are not the sum of this
 * step's contributions, and the stepper says so; bad tapes are refused. */
START_TEST(stepper_notices_and_refuses) {
    rnn m;
    tg_tape *t = rnn_step(&m, 1);
    ck_assert_int_eq(tg_backward(t, m.loss), 0); /* parameters now hold twice */
    tg_stepper *s = tg_stepper_new(t, NULL, 0);
    memout mo;
    ck_assert_int_eq(tg_stepper_dump(s, mem_open(&mo)), 0);
    char *text = mem_close(&mo);
    ck_assert_ptr_nonnull(strstr(text, "+= into param W_hh [3,3]  |+| "));
    ck_assert_ptr_nonnull(strstr(text, "differs from the tape's gradient by up to"));
    ck_assert_ptr_nonnull(strstr(text, "+= into #3 rnn.t1.hidden [1,3]  |+| ")); /* h1 restarts */
    ck_assert_ptr_nonnull(strstr(text, "(its whole gradient)\n  += into param W_hy"));
    ck_assert_close(tg_stepper_grad_sum(s, m.w_hy)[0] * 2, m.w_hy->grad[0], TG_TOL);
    free(text);
    tg_stepper_free(s);

    char err[128];
    ck_assert_ptr_null(tg_stepper_new(NULL, err, sizeof err));
    ck_assert_str_eq(err, "tg_stepper_new: tape is NULL");
    ck_assert_ptr_null(tg_matmul(t, m.w_xh, m.w_xh));
    ck_assert_ptr_null(tg_stepper_new(t, err, sizeof err));
    ck_assert_str_eq(err, "tg_stepper_new: the tape is in error");

    /* no backward yet: forward screens only */
    tg_tape_reset(t);
    rnn_forward(t, &m, 1);
    s = tg_stepper_new(t, NULL, 0);
    ck_assert_int_eq(tg_stepper_script(s, "bw", mem_open(&mo)), 0);
    text = mem_close(&mo);
    ck_assert_ptr_nonnull(strstr(text, "stepping through 6 nodes forward and 0 backward"));
    ck_assert_ptr_nonnull(strstr(text, "(no gradient reached any node: run backward first)"));
    free(text);
    tg_stepper_free(s);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

/* A node with many inputs (a stack of 40 steps, as a layer's output is):
 * the stepper replays it, and the table cuts its input list short. */
START_TEST(wide_nodes) {
    tg_tape *t = tg_tape_new();
    tg_tensor *w = tg_param_new(TG_SHAPE(2));
    w->name = "w";
    w->data[0] = 0.5, w->data[1] = -2;
    tg_tensor *xs[40];
    double want[2] = {0, 0};
    for (int k = 0; k < 40; k++) {
        tg_real v[2] = {(tg_real)k, (tg_real)(1 - k)};
        xs[k] = tg_mul(t, w, tg_from_array(t, TG_SHAPE(2), v));
        want[0] += v[0], want[1] += v[1];
    }
    tg_tensor *st = tg_stack(t, 40, xs, 0);
    tg_label(t, st, "steps");
    ck_assert_int_eq(tg_backward(t, tg_sum(t, st)), 0);
    tg_stepper *s = tg_stepper_new(t, NULL, 0);
    ck_assert_ptr_nonnull(s);
    const tg_real *sum = tg_stepper_grad_sum(s, w);
    ck_assert_close(sum[0], want[0], TG_TOL);
    ck_assert_close(sum[1], want[1], TG_TOL);
    ck_assert_close(w->grad[0], want[0], TG_TOL);
    memout mo;
    ck_assert_int_eq(tg_stepper_script(s, "bw n", mem_open(&mo)), 0);
    char *text = mem_close(&mo);
    ck_assert_ptr_nonnull(strstr(text, "== backward 2/42: node #40 steps (stack) =="));
    ck_assert_ptr_nonnull(strstr(text, "+= into #39 [2]  |+| "));
    free(text);
    ck_assert_int_eq(tg_tape_print(t, mem_open(&mo)), 0);
    text = mem_close(&mo);
    const char *row = strstr(text, "steps  stack");
    ck_assert_ptr_nonnull(row);
    ck_assert_msg(strstr(row, "#0 #1 #2") && strstr(row, " ...  [40,2]"), "row: %.200s", row);
    free(text);
    tg_stepper_free(s);
    tg_tensor_free(w);
    tg_tape_free(t);
}
END_TEST

/* The stepper's JSON: backward order, and per tensor contributions that
 * add up to the tape's gradient (W_hh: one per step). */
START_TEST(stepper_json_contributions_sum_to_the_gradient) {
    rnn m;
    tg_tape *t = rnn_step(&m, 2);
    tg_stepper *s = tg_stepper_new(t, NULL, 0);
    memout mo;
    ck_assert_int_eq(tg_stepper_json(s, mem_open(&mo)), 0);
    char *text = mem_close(&mo);
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "not JSON:\n%s", text);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "forward")->valueint, 10);
    const cJSON *bw = cJSON_GetObjectItemCaseSensitive(j, "backward");
    ck_assert_int_eq(cJSON_GetArraySize(bw), 10);
    for (int k = 0; k < 10; k++) ck_assert_int_eq(cJSON_GetArrayItem(bw, k)->valueint, 9 - k);
    /* W_hh's id ("p2") through the trace */
    memout mt;
    ck_assert_int_eq(tg_tape_json(t, mem_open(&mt)), 0);
    char *trace_text = mem_close(&mt);
    cJSON *trace = cJSON_Parse(trace_text);
    const char *whh = NULL;
    const cJSON *lf;
    cJSON_ArrayForEach(lf, cJSON_GetObjectItemCaseSensitive(trace, "leaves")) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(lf, "name");
        if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "W_hh"))
            whh = cJSON_GetObjectItemCaseSensitive(lf, "id")->valuestring;
    }
    ck_assert_ptr_nonnull(whh);
    double added[4] = {0};
    int uses = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "contributions")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "into")->valuestring, whh)) continue;
        uses++;
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(c, "use")->valueint, uses);
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(c, "uses")->valueint, 2);
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(c, "arg")->valueint, 1);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "values");
        const cJSON *sum = cJSON_GetObjectItemCaseSensitive(c, "sum");
        ck_assert_int_eq(cJSON_GetArraySize(v), 4);
        for (int e = 0; e < 4; e++) {
            added[e] += cJSON_GetArrayItem(v, e)->valuedouble;
            ck_assert_close(cJSON_GetArrayItem(sum, e)->valuedouble, added[e], TG_TOL);
        }
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "equal")));
    }
    ck_assert_int_eq(uses, 2);
    for (int e = 0; e < 4; e++) ck_assert_close(added[e], m.w_hh->grad[e], TG_TOL);
    ck_assert_int_eq(tg_stepper_json(NULL, stdout), -1);
    cJSON_Delete(trace);
    cJSON_Delete(j);
    free(trace_text);
    free(text);
    tg_stepper_free(s);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

/* The text of the <script type="application/json" id="ID"> element of a
 * page, parsed. */
static cJSON *page_json(const char *page, const char *id) {
    char open[128];
    snprintf(open, sizeof open, "<script type=\"application/json\" id=\"%s\">", id);
    const char *a = strstr(page, open);
    ck_assert_msg(a != NULL, "no %s element", id);
    a += strlen(open);
    const char *b = strstr(a, "</script>");
    ck_assert_ptr_nonnull(b);
    return cJSON_ParseWithLength(a, (size_t)(b - a));
}

/* The page's element id holds the JSON want (which is freed). */
static void same_json(const char *page, const char *id, char *want) {
    cJSON *a = cJSON_Parse(want), *b = page_json(page, id);
    ck_assert_msg(a && b, "%s: not JSON", id);
    ck_assert_msg(cJSON_Compare(a, b, true), "%s differs from what was written", id);
    cJSON_Delete(a), cJSON_Delete(b);
    free(want);
}

/* The page holds the trace and the stepper's data unchanged, fetches
 * nothing, and no name can close its script elements. */
START_TEST(html_page_is_self_contained) {
    rnn m;
    tg_tape *t = rnn_step(&m, 2);
    m.w_hh->name = "W_hh</script><!--";
    memout mo;
    ck_assert_int_eq(tg_tape_html(t, mem_open(&mo), &(tg_html_options){.title = "a<b & \"c\""}), 0);
    char *page = mem_close(&mo);
    ck_assert(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    ck_assert_ptr_nonnull(strstr(page, "<title>a&lt;b &amp; &quot;c&quot;</title>"));
    /* three script elements (two data, one program), each closed once */
    int closes = 0;
    for (const char *p = strstr(page, "</script"); p; p = strstr(p + 1, "</script")) closes++;
    ck_assert_int_eq(closes, 3);
    ck_assert_ptr_null(strstr(page, "<!--"));
    /* nothing to fetch: the only URL is the SVG namespace's name */
    for (const char *p = strstr(page, "http"); p; p = strstr(p + 1, "http"))
        ck_assert_msg(!strncmp(p, "http://www.w3.org/2000/svg'", 27), "a URL: %.40s", p);
    ck_assert_ptr_null(strstr(page, " src="));
    ck_assert_ptr_null(strstr(page, "href="));
    ck_assert_ptr_null(strstr(page, "@import"));
    /* the data as tg_tape_json and tg_stepper_json write it */
    memout mt, ms;
    ck_assert_int_eq(tg_tape_json(t, mem_open(&mt)), 0);
    same_json(page, "tg-trace", mem_close(&mt));
    tg_stepper *s = tg_stepper_new(t, NULL, 0);
    ck_assert_int_eq(tg_stepper_json(s, mem_open(&ms)), 0);
    same_json(page, "tg-steps", mem_close(&ms));
    ck_assert_int_eq(tg_tape_html(NULL, stdout, NULL), -1);
    free(page);
    tg_stepper_free(s);
    tg_tape_free(t);
    rnn_free(&m);
}
END_TEST

TCase *tcase_inspect(void) {
    TCase *tc = tcase_create("inspect");
    tcase_add_test(tc, print_matches_golden);
    tcase_add_test(tc, dot_matches_golden);
    tcase_add_test(tc, dot_renders_with_graphviz);
    tcase_add_test(tc, json_trace_grows_linearly);
    tcase_add_test(tc, json_truncates_and_escapes);
    tcase_add_test(tc, stepper_dump_visits_each_node_once_per_direction);
    tcase_add_test(tc, stepper_script_and_interactive);
    tcase_add_test(tc, stepper_notices_and_refuses);
    tcase_add_test(tc, wide_nodes);
    tcase_add_test(tc, stepper_json_contributions_sum_to_the_gradient);
    tcase_add_test(tc, html_page_is_self_contained);
    return tc;
}
