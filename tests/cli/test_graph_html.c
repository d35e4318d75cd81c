/* tapegrad graph --format html in a real browser. Headless Chromium loads
 * the page of a 2-step Elman RNN, the slider is moved (or #step=K given in
 * the address), and the DOM it dumps must highlight the expected node and
 * show its values (forward) or gradient (backward) as the JSON trace of the
 * same step has them; a screenshot must be a PNG of the window's size with
 * something drawn on it. Without chromium (Debian's package) the browser
 * part is skipped with a message, unless CI is set: then it fails. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

#define SPEC "docs/unrolled-rnn.json"
#define SHOWN 8 /* values the page shows per tensor (inspect_html.js) */
#define WIDTH 1200
#define HEIGHT 800

/* $CHROMIUM, else Debian's; NULL if it cannot be run. */
static const char *chromium(void) {
    const char *c = getenv("CHROMIUM");
    if (!c || !*c) c = "/usr/bin/chromium";
    return access(c, X_OK) == 0 ? c : NULL;
}

/* Whether to go on to the browser: false (with a message) when there is
 * none, and a failure instead under CI. */
static bool have_browser(void) {
    if (chromium()) return true;
    ck_assert_msg(!getenv("CI"), "CI is set but chromium is not installed (apt-get install "
                                 "chromium, or point CHROMIUM at one)");
    fprintf(stderr, "graph_html: chromium not installed (apt-get install chromium): "
                    "skipping the browser checks\n");
    return false;
}

/* The page and the JSON trace of the same step, in dir. */
static cJSON *make_page(const char *dir, char *page, size_t n) {
    cli_path(page, n, dir, "page.html");
    cli_out r = cli_exec(
        (const char *[]){"graph", SPEC, "--steps", "2", "--format", "html", "--out", page, NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    cli_out_free(&r);
    r = cli_exec((const char *[]){"graph", SPEC, "--steps", "2", "--format", "json", NULL});
    ck_assert_msg(r.status == 0, "%s", r.err);
    cJSON *trace = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(trace);
    cli_out_free(&r);
    return trace;
}

/* Headless chromium on url with one more argument (--dump-dom,
 * --screenshot=...), its own profile in dir and a time limit. Its stderr
 * is noise (D-Bus, GPU) and is not read. */
static cli_out browse(const char *dir, const char *what, const char *url) {
    char profile[512];
    cli_path(profile, sizeof profile, dir, "profile");
    char size[64];
    snprintf(size, sizeof size, "--window-size=%d,%d", WIDTH, HEIGHT);
    cli_out r = cli_exec_sh((const char *[]){
        "-c",
        "exec timeout 120 \"$0\" --headless --no-sandbox --disable-gpu --no-first-run "
        "--user-data-dir=\"$1\" \"$2\" --virtual-time-budget=3000 \"$3\" \"$4\"",
        chromium(), profile, size, what, url, NULL});
    ck_assert_msg(r.status == 0, "chromium failed (%d):\n%s", r.status, r.err);
    return r;
}

static const cJSON *field(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(v != NULL, "no \"%s\" in the trace", key);
    return v;
}

/* The trace's node of that name. */
static const cJSON *node_named(const cJSON *trace, const char *name) {
    const cJSON *n;
    cJSON_ArrayForEach(n, field(trace, "nodes")) {
        if (!strcmp(field(n, "name")->valuestring, name)) return n;
    }
    ck_abort_msg("no node %s in the trace", name);
    return NULL;
}

/* Where the node is in the backward half: after the N forward positions,
 * the nodes a gradient reached, last first (as the stepper walks). */
static int backward_position(const cJSON *trace, int index) {
    const cJSON *nodes = field(trace, "nodes");
    int n = cJSON_GetArraySize(nodes), pos = n;
    for (int i = n - 1; i > index; i--)
        if (!cJSON_IsNull(field(cJSON_GetArrayItem(nodes, i), "grad"))) pos++;
    return pos;
}

/* The id of the one highlighted node, which must be in phase ("forward"
 * or "backward"). Returns buf. */
static const char *highlighted(const char *dom, const char *phase, char *buf, size_t n) {
    ck_assert_int_eq(cli_count(dom, "\"node current "), 1);
    char cls[64];
    snprintf(cls, sizeof cls, "class=\"node current %s\"", phase);
    const char *p = strstr(dom, cls);
    ck_assert_msg(p != NULL, "the highlighted node is not in the %s phase", phase);
    const char *tag = p, *end = strchr(p, '>');
    while (tag > dom && *tag != '<') tag--;
    const char *id = strstr(tag, " id=\"");
    ck_assert_msg(id && id < end, "the highlighted node has no id");
    id += 5;
    snprintf(buf, n, "%.*s", (int)strcspn(id, "\""), id);
    return buf;
}

/* The numbers shown in the element with this id must be the first values
 * of want (to the 4 digits shown). */
static void check_numbers(const char *dom, const char *id, const cJSON *want, int numel) {
    char open[64];
    snprintf(open, sizeof open, "id=\"%s\">", id);
    const char *p = strstr(dom, open);
    ck_assert_msg(p != NULL, "no element #%s in the page", id);
    p += strlen(open);
    int k = 0;
    for (char *end;; p = end, k++) {
        double v = strtod(p, &end);
        if (end == p) break;
        ck_assert_int_lt(k, SHOWN);
        double w = cJSON_GetArrayItem(want, k)->valuedouble;
        ck_assert_msg(fabs(v - w) <= 1e-3 * fabs(w) + 1e-9, "#%s value %d: shown %g, trace %g", id,
                      k, v, w);
    }
    ck_assert_int_eq(k, numel < SHOWN ? numel : SHOWN);
}

/* Moving the slider to a forward position (and one more with the right
 * arrow key) highlights that node and the edges of what it reads, shows
 * its value, and puts the position in the address. */
START_TEST(slider_shows_a_forward_node) {
    char dir[256], page[512], moved[512], url[600], buf[64], want[64];
    cli_tmpdir(dir, sizeof dir);
    cJSON *trace = make_page(dir, page, sizeof page);
    if (have_browser()) {
        const cJSON *n = node_named(trace, "rnn.l0.t1.hidden");
        int i = field(n, "index")->valueint, N = cJSON_GetArraySize(field(trace, "nodes"));
        /* a copy of the page with a script that moves the slider to i - 1,
         * then presses the right arrow, and notes the address */
        char *text = test_read_file(page), script[512];
        ck_assert_ptr_nonnull(text);
        snprintf(script, sizeof script,
                 "<script>const s = document.getElementById('slider'); s.value = %d; "
                 "s.dispatchEvent(new Event('input')); document.dispatchEvent("
                 "new KeyboardEvent('keydown', {key: 'ArrowRight'})); "
                 "document.body.setAttribute('data-hash', location.hash);</script>\n",
                 i - 1);
        char *both = malloc(strlen(text) + strlen(script) + 1);
        strcpy(both, text), strcat(both, script);
        cli_path(moved, sizeof moved, dir, "moved.html");
        cli_write(moved, both);
        snprintf(url, sizeof url, "file://%s", moved);
        cli_out r = browse(dir, "--dump-dom", url);
        snprintf(want, sizeof want, "node-n%d", i);
        ck_assert_str_eq(highlighted(r.out, "forward", buf, sizeof buf), want);
        snprintf(want, sizeof want, "id=\"where\">forward %d/%d<", i + 1, N);
        ck_assert_msg(strstr(r.out, want) != NULL, "no '%s'", want);
        ck_assert_int_eq(cli_count(r.out, "class=\"edge active\""),
                         cJSON_GetArraySize(field(n, "inputs")));
        check_numbers(r.out, "panel-value", field(n, "values"), field(n, "numel")->valueint);
        snprintf(want, sizeof want, "data-hash=\"#step=%d\"", i);
        ck_assert_msg(strstr(r.out, want) != NULL, "no '%s'", want);
        cli_out_free(&r);
        free(both), free(text);
    }
    cJSON_Delete(trace);
    cli_rmdir(dir);
}
END_TEST

/* #step=K in the address opens a backward position: the gradient that
 * arrived, and the shared weight receiving its last += */
START_TEST(address_opens_a_backward_node) {
    char dir[256], page[512], url[600], buf[64], want[64];
    cli_tmpdir(dir, sizeof dir);
    cJSON *trace = make_page(dir, page, sizeof page);
    if (have_browser()) {
        const cJSON *n = node_named(trace, "rnn.l0.t0.recurrent");
        int i = field(n, "index")->valueint, pos = backward_position(trace, i);
        snprintf(url, sizeof url, "file://%s#step=%d", page, pos);
        cli_out r = browse(dir, "--dump-dom", url);
        snprintf(want, sizeof want, "node-n%d", i);
        ck_assert_str_eq(highlighted(r.out, "backward", buf, sizeof buf), want);
        check_numbers(r.out, "panel-grad", field(n, "grad"), field(n, "numel")->valueint);
        /* 1.weight_hh_l0 (the RNN's, layer 1) is read at both steps; t0's
         * is the second += */
        ck_assert_ptr_nonnull(strstr(r.out, "use 2 of 2"));
        ck_assert_ptr_nonnull(strstr(r.out, "all 2 in: equal to the tape's gradient"));
        const char *whh = NULL;
        const cJSON *lf;
        cJSON_ArrayForEach(lf, field(trace, "leaves")) {
            const cJSON *nm = field(lf, "name");
            if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "1.weight_hh_l0"))
                whh = field(lf, "id")->valuestring;
        }
        ck_assert_ptr_nonnull(whh);
        snprintf(want, sizeof want, "id=\"leaf-%s\" class=\"leaf param receives\"", whh);
        ck_assert_msg(strstr(r.out, want) != NULL, "no '%s'", want);
        cli_out_free(&r);
    }
    cJSON_Delete(trace);
    cli_rmdir(dir);
}
END_TEST

static unsigned be32(const unsigned char *p) {
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

START_TEST(screenshot_is_a_picture) {
    char dir[256], page[512], url[600], shot[512], arg[600];
    cli_tmpdir(dir, sizeof dir);
    cJSON *trace = make_page(dir, page, sizeof page);
    if (have_browser()) {
        cli_path(shot, sizeof shot, dir, "shot.png");
        snprintf(arg, sizeof arg, "--screenshot=%s", shot);
        snprintf(url, sizeof url, "file://%s#step=5", page);
        cli_out r = browse(dir, arg, url);
        cli_out_free(&r);
        FILE *f = fopen(shot, "rb");
        ck_assert_msg(f != NULL, "no screenshot");
        unsigned char head[24];
        ck_assert_int_eq(fread(head, 1, sizeof head, f), sizeof head);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        ck_assert(!memcmp(head, "\x89PNG\r\n\x1a\n", 8) && !memcmp(head + 12, "IHDR", 4));
        ck_assert_uint_eq(be32(head + 16), WIDTH);
        ck_assert_uint_eq(be32(head + 20), HEIGHT);
        /* a blank page of this size compresses to about 5 kB; the graph,
         * slider and panel to about 100 kB */
        ck_assert_msg(size > 30000, "a %ld-byte screenshot: is anything drawn?", size);
    }
    cJSON_Delete(trace);
    cli_rmdir(dir);
}
END_TEST

TCase *tcase_graph_html(void) {
    TCase *tc = tcase_create("graph_html");
    tcase_add_test(tc, slider_shows_a_forward_node);
    tcase_add_test(tc, address_opens_a_backward_node);
    tcase_add_test(tc, screenshot_is_a_picture);
    return tc;
}
