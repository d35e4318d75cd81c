/* tapegrad plot, and the chart train draws next to its log: the SVG's
 * series read back through each panel's ranges must give the CSV's numbers;
 * bad logs are named with file and line. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

/* The value of attribute name in the tag that starts at tag, or NULL
 * (a copy, owned by the caller). */
static char *attr(const char *tag, const char *name) {
    const char *end = strchr(tag, '>');
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *a = strstr(tag, key);
    if (!a || a > end) return NULL;
    a += strlen(key);
    char *v = strndup(a, (size_t)(strchr(a, '"') - a)), *w = v;
    for (const char *r = v; *r; w++) /* only &amp; occurs in the tests' names */
        *w = *r, r += strncmp(r, "&amp;", 5) ? 1 : 5;
    *w = '\0';
    return v;
}

static void pair(const char *tag, const char *name, double *a, double *b) {
    char *v = attr(tag, name);
    ck_assert_msg(v != NULL, "no %s", name);
    ck_assert_int_eq(sscanf(v, "%lf %lf", a, b), 2);
    free(v);
}

/* A series read back: its points in data units. */
typedef struct series {
    int n;
    double x[4000], y[4000];
    int bucket;
} series;

/* Finds the polyline of (file, column, kind) and maps its pixels back
 * through the ranges of the panel around it. False if there is none. */
static bool read_series(const char *svg, const char *file, const char *column, const char *kind,
                        series *s) {
    for (const char *p = strstr(svg, "<polyline"); p; p = strstr(p + 1, "<polyline")) {
        char *f = attr(p, "data-file"), *c = attr(p, "data-column"), *k = attr(p, "data-kind");
        bool it = f && c && k && !strcmp(f, file) && !strcmp(c, column) && !strcmp(k, kind);
        free(f), free(c), free(k);
        if (!it) continue;
        const char *g = p;
        while (g > svg && strncmp(g, "<g class=\"panel\"", 16)) g--;
        double px0, px1, py0, py1, x0, x1, y0, y1;
        pair(g, "data-px", &px0, &px1), pair(g, "data-py", &py0, &py1);
        pair(g, "data-x", &x0, &x1);
        char *axis = attr(p, "data-axis"), *scale = attr(p, "data-scale"),
             *bucket = attr(p, "data-bucket"), *pts = attr(p, "points");
        pair(g, strcmp(axis, "y2") ? "data-y" : "data-y2", &y0, &y1);
        double sc = atof(scale);
        s->bucket = atoi(bucket), s->n = 0;
        for (char *q = pts; *q && s->n < 4000;) {
            double X, Y;
            int used;
            ck_assert_int_eq(sscanf(q, "%lf,%lf%n", &X, &Y, &used), 2);
            s->x[s->n] = x0 + (X - px0) / (px1 - px0) * (x1 - x0);
            s->y[s->n++] = (y0 + (py1 - Y) / (py1 - py0) * (y1 - y0)) / sc;
            q += used;
            while (*q == ' ') q++;
        }
        free(axis), free(scale), free(bucket), free(pts);
        return true;
    }
    return false;
}

/* What one pixel (0.01 px, as written) is worth on a range: the tolerance. */
static void expect_near(const series *s, int i, double x, double y, double ytol) {
    ck_assert_msg(fabs(s->x[i] - x) < 0.05 && fabs(s->y[i] - y) < ytol,
                  "point %d: (%g, %g), expected (%g, %g)", i, s->x[i], s->y[i], x, y);
}

START_TEST(series_match_the_csv) {
    char dir[256], a[300], b[300], out[300];
    cli_tmpdir(dir, sizeof dir);
    cli_path(a, sizeof a, dir, "run a.csv");
    cli_path(b, sizeof b, dir, "b&c.csv");
    cli_path(out, sizeof out, dir, "both.svg");
    /* train's columns in another order, an unknown one, an accuracy, CRLF,
     * empty and non-finite cells */
    cli_write(a, "lr,step,grad_norm,valid_loss,train_loss,valid_accuracy\r\n"
                 "0.001,1,2,,4.5,\r\n0.002,2,2,,nan,\r\n0.003,3,2,3.25,3.9,0.25\r\n"
                 "0.002,4,2,,3.5,\r\n0.001,5,2,2.75,3.1,0.5\r\n\r\n");
    cli_write(b, "step,train_loss,valid_loss,lr,grad_norm\n"
                 "2,5.0,,0.01,1\n4,4.0,3.5,0.01,1\n6,2.0,1.5,0.01,1\n");
    cli_out r = cli_run((const char *[]){"plot", a, b, "--out", out, NULL}, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "2 logs drawn in "));
    cli_out_free(&r);
    char *svg = test_read_file(out);
    ck_assert_ptr_nonnull(svg);
    ck_assert(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    series s;
    ck_assert(read_series(svg, a, "train_loss", "raw", &s));
    ck_assert_int_eq(s.n, 4); /* the nan skipped */
    double tx[] = {1, 3, 4, 5}, ty[] = {4.5, 3.9, 3.5, 3.1};
    for (int i = 0; i < 4; i++) expect_near(&s, i, tx[i], ty[i], 1e-3);
    ck_assert(read_series(svg, a, "valid_loss", "raw", &s));
    ck_assert_int_eq(s.n, 2);
    expect_near(&s, 0, 3, 3.25, 1e-3), expect_near(&s, 1, 5, 2.75, 1e-3);
    ck_assert(read_series(svg, a, "lr", "raw", &s));
    ck_assert_int_eq(s.n, 5);
    for (int i = 0; i < 5; i++)
        expect_near(&s, i, i + 1, (double[]){1, 2, 3, 2, 1}[i] * 1e-3, 1e-6);
    ck_assert(read_series(svg, a, "valid_accuracy", "raw", &s));
    ck_assert_int_eq(s.n, 2);
    expect_near(&s, 0, 3, 0.25, 1e-4), expect_near(&s, 1, 5, 0.5, 1e-4);
    ck_assert(read_series(svg, b, "valid_loss", "raw", &s));
    ck_assert_int_eq(s.n, 2);
    expect_near(&s, 0, 4, 3.5, 1e-3), expect_near(&s, 1, 6, 1.5, 1e-3);
    ck_assert(!read_series(svg, b, "valid_accuracy", "raw", &s));
    ck_assert(!read_series(svg, a, "grad_norm", "raw", &s));
    /* the legend names each file (escaped), and the axes theirs */
    ck_assert_ptr_nonnull(strstr(svg, "/b&amp;c.csv</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "run a.csv</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">learning rate</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">accuracy (%)</text>"));
    free(svg);

    /* one log, the default output next to it */
    r = cli_run((const char *[]){"plot", b, NULL}, 0);
    cli_out_free(&r);
    cli_path(out, sizeof out, dir, "b&c.svg");
    svg = test_read_file(out);
    ck_assert_ptr_nonnull(svg);
    ck_assert(read_series(svg, b, "train_loss", "raw", &s));
    ck_assert_int_eq(s.n, 3);
    expect_near(&s, 2, 6, 2.0, 1e-3);
    ck_assert_ptr_null(strstr(svg, "accuracy (%)")); /* no accuracy: no panel */
    free(svg);
    cli_rmdir(dir);
}
END_TEST

/* A long log is drawn in bucket means (no more than 1500 points a line),
 * and training loss also as a moving mean. */
START_TEST(long_log_in_buckets) {
    char dir[256], a[300], out[300];
    cli_tmpdir(dir, sizeof dir);
    cli_path(a, sizeof a, dir, "long.csv");
    cli_path(out, sizeof out, dir, "long.svg");
    FILE *f = fopen(a, "w");
    ck_assert_ptr_nonnull(f);
    fputs("step,train_loss,valid_loss,lr,grad_norm\n", f);
    for (int i = 1; i <= 3001; i++) fprintf(f, "%d,%.6f,,0.1,1\n", i, 3 + sin(i * 0.37));
    fclose(f);
    cli_out r = cli_run((const char *[]){"plot", a, "--out", out, NULL}, 0);
    cli_out_free(&r);
    char *svg = test_read_file(out);
    static series s;
    ck_assert(read_series(svg, a, "train_loss", "raw", &s));
    ck_assert_int_eq(s.bucket, 3);
    ck_assert_int_eq(s.n, 1001); /* 1000 buckets of 3, the last of 1 */
    for (int j = 0; j < 1000; j += 111) {
        double y = 0;
        for (int i = 3 * j + 1; i <= 3 * j + 3; i++) y += 3 + sin(i * 0.37);
        expect_near(&s, j, 3 * j + 2, y / 3, 2e-3);
    }
    expect_near(&s, 1000, 3001, 3 + sin(3001 * 0.37), 2e-3);
    ck_assert(read_series(svg, a, "train_loss", "mean", &s));
    ck_assert_int_eq(s.n, 1001);
    ck_assert(!read_series(svg, a, "valid_loss", "raw", &s)); /* no values, no line */
    free(svg);
    cli_rmdir(dir);
}
END_TEST

/* Each bad log: exit 1 and a message with the file and line. */
START_TEST(bad_logs) {
    char dir[256], p[300], want[400];
    cli_tmpdir(dir, sizeof dir);
    cli_path(p, sizeof p, dir, "bad.csv");
    static const struct {
        const char *text, *err;
    } CASES[] = {
        {"step,train_loss\n1,2\n2,abc\n", ":3: train_loss: 'abc' is not a number"},
        {"step,train_loss,valid_loss\n1,2,3\n2,2\n", ":3: 2 fields, but the header names 3"},
        {"steps,train_loss\n1,2\n", ":1: the header needs a 'step' column"},
        {"step,lr\n1,2\n", ":1: the header needs a 'step' column and 'train_loss'"},
        {"step,train_loss,step\n1,2,3\n", ":1: column 'step' named twice"},
        {"step,train_loss\n,2\n", ":2: step: a number is needed, got ''"},
        {"step,train_loss\n", ": no rows after the header"},
        {"", ": empty (a CSV log starts with a header line)"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        cli_write(p, CASES[i].text);
        snprintf(want, sizeof want, "tapegrad plot: %s%s", p, CASES[i].err);
        cli_expect_err((const char *[]){"plot", p, NULL}, 1, want);
    }
    cli_path(p, sizeof p, dir, "missing.csv");
    snprintf(want, sizeof want, "tapegrad plot: %s: No such file or directory\n", p);
    cli_expect_err((const char *[]){"plot", p, NULL}, 1, want);
    cli_expect_err((const char *[]){"plot", NULL}, 2, "tapegrad plot: missing LOG.csv");
    cli_expect_err((const char *[]){"plot", p, p, NULL}, 2,
                   "tapegrad plot: --out FILE.svg is needed to draw several logs");
    cli_path(p, sizeof p, dir, "ok.csv");
    cli_write(p, "step,train_loss\n1,2\n");
    cli_expect_err((const char *[]){"plot", p, "--out", "/nonexistent/x.svg", NULL}, 1,
                   "tapegrad plot: /nonexistent/x.svg.tmp.");
    cli_rmdir(dir);
}
END_TEST

/* train redraws the chart beside its log at each validation: the last one
 * holds every validation of the run. */
START_TEST(train_draws_its_log) {
    char dir[256], spec[300], data[300], ckpt[300], csv[300], svgp[300];
    cli_tmpdir(dir, sizeof dir);
    cli_path(spec, sizeof spec, dir, "s.json");
    cli_path(data, sizeof data, dir, "t.txt");
    cli_path(ckpt, sizeof ckpt, dir, "run.safetensors");
    cli_path(csv, sizeof csv, dir, "run.csv");
    cli_path(svgp, sizeof svgp, dir, "run.svg");
    cli_write(spec, "{\"tapegrad\": 1, \"task\": \"language_model\", \"input\": {\"type\": "
                    "\"tokens\"}, \"model\": {\"layers\": [{\"type\": \"embedding\", \"dim\": 4},"
                    "{\"type\": \"rnn\", \"hidden\": 8}, {\"type\": \"linear\", \"out\": "
                    "\"vocab\"}]}, \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01},"
                    "\"train\": {\"batch\": 2, \"seq_len\": 8, \"steps\": 12, \"eval_every\": 4,"
                    "\"valid_fraction\": 0.2, \"seed\": 1}}");
    char text[2001];
    for (int i = 0; i < 2000; i++) text[i] = "abcab cabd\n"[i % 11];
    text[2000] = '\0';
    cli_write(data, text);
    cli_out r = cli_run((const char *[]){"train", spec, "--data", data, "--checkpoint", ckpt,
                                         "--threads", "1", NULL},
                        0);
    cli_out_free(&r);
    char *log = test_read_file(csv), *svg = test_read_file(svgp);
    ck_assert_ptr_nonnull(log);
    ck_assert_msg(svg != NULL, "no chart beside the log");
    static series s;
    ck_assert(read_series(svg, csv, "valid_loss", "raw", &s));
    ck_assert_int_eq(s.n, 3); /* steps 4, 8, 12 */
    int k = 0;
    for (char *p = strchr(log, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        long long step;
        double v;
        if (sscanf(p, "%lld,%*[^,],%lf", &step, &v) == 2)
            expect_near(&s, k++, (double)step, v, 1e-3);
    }
    ck_assert_int_eq(k, 3);
    ck_assert(read_series(svg, csv, "train_loss", "raw", &s));
    ck_assert_int_eq(s.n, 12);
    free(log), free(svg);
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_plot(void) {
    TCase *tc = tcase_create("plot");
    tcase_add_test(tc, series_match_the_csv);
    tcase_add_test(tc, long_log_in_buckets);
    tcase_add_test(tc, bad_logs);
    tcase_add_test(tc, train_draws_its_log);
    return tc;
}
