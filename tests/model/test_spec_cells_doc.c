/* docs/spec.md's "Cells from equations" cannot drift from the code: every
 * ```json block of the section loads and builds (a complete spec as it is,
 * a layer object inside a small tagging spec), every complete spec there is
 * one of examples/cells/json's files byte for byte, and the grammar's
 * `function = ...` production names exactly the functions the parser
 * accepts, in its table's order; tapegrad-spec(5)'s grammar names each. */
#include <stdio.h>
#include <string.h>

#include "model/cell_expr.h"
#include "testutil.h"

#define HEAD                                                                                       \
    "{\"tapegrad\": 1, \"task\": \"tag\", \"input\": {\"type\": \"vectors\", \"size\": 3}, "       \
    "\"model\": {\"layers\": ["
#define TAIL ", {\"type\": \"linear\", \"out\": 2}]}}"

/* The section: from its heading to the next "## " heading, NUL-ended in
 * the returned copy (free it). */
static char *section(void) {
    char *md = test_read_file("docs/spec.md");
    ck_assert_msg(md != NULL, "docs/spec.md not found (run from the repository root)");
    const char *at = strstr(md, "\n## Cells from equations\n");
    ck_assert_msg(at != NULL, "docs/spec.md has no section \"Cells from equations\"");
    const char *end = strstr(at + 1, "\n## ");
    size_t n = end ? (size_t)(end - at) : strlen(at);
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, at, n);
    s[n] = '\0';
    free(md);
    return s;
}

/* Whether text is byte for byte one of the example files. */
static bool is_example(const char *text) {
    static const char *const FILES[] = {"examples/cells/json/lstm.json",
                                        "examples/cells/json/gru.json",
                                        "examples/cells/json/mgu.json",
                                        "examples/cells/json/peephole_lstm.json"};
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        char *f = test_read_file(FILES[i]);
        ck_assert_msg(f != NULL, "%s not found", FILES[i]);
        bool same = strcmp(f, text) == 0;
        free(f);
        if (same) return true;
    }
    return false;
}

/* Parses json (a spec), gives a token spec a vocabulary, builds the model
 * and checks it has a cell layer; n is the block's number for messages. */
static void builds(const char *json, int n) {
    char err[512] = "";
    tg_spec *s = tg_spec_parse(json, "docs/spec.md", err, sizeof err);
    ck_assert_msg(s != NULL, "block %d: %s", n, err);
    if (s->input == TG_INPUT_TOKENS)
        ck_assert_msg(tg_spec_set_vocab(s, 50, err, sizeof err) == 0, "block %d: %s", n, err);
    tg_rng r;
    tg_rng_seed(&r, 1);
    tg_model *m = tg_model_new(s, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "block %d: %s", n, err);
    bool cell = false;
    for (int k = 0; k < s->n_layers; k++) cell = cell || s->layers[k].type == TG_LAYER_CELL;
    ck_assert_msg(cell, "block %d has no cell layer", n);
    tg_model_free(m);
    tg_spec_free(s);
}

START_TEST(every_block_loads_and_builds) {
    char *sec = section();
    int blocks = 0, complete = 0;
    for (char *p = strstr(sec, "```json\n"); p; p = strstr(p, "```json\n")) {
        p += 8;
        char *end = strstr(p, "```");
        ck_assert_ptr_nonnull(end);
        *end = '\0';
        blocks++;
        if (strncmp(p, "{\"tapegrad\"", 11) == 0) {
            ck_assert_msg(is_example(p), "block %d is not a file of examples/cells/json:\n%s",
                          blocks, p);
            builds(p, blocks);
            complete++;
        } else {
            static char spec[8192];
            ck_assert_int_lt(snprintf(spec, sizeof spec, HEAD "%s" TAIL, p), (int)sizeof spec);
            builds(spec, blocks);
        }
        p = end + 3;
    }
    ck_assert_int_ge(complete, 3); /* the three worked cells */
    ck_assert_int_gt(blocks, complete);
    free(sec);
}
END_TEST

START_TEST(grammar_names_every_function) {
    char *sec = section();
    const char *f = strstr(sec, "\nfunction = ");
    ck_assert_msg(f != NULL, "the grammar has no function production");
    f += strlen("\nfunction = ");
    const char *end = strchr(f, ';');
    ck_assert_ptr_nonnull(end);
    int n = 0;
    for (const char *q = strchr(f, '"'); q && q < end; q = strchr(q, '"')) {
        const char *close = strchr(q + 1, '"');
        ck_assert_ptr_nonnull(close);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(close - q - 1), q + 1);
        ck_assert_msg(tg__cx_fn_names[n] != NULL, "the grammar names '%s', the parser does not",
                      name);
        ck_assert_str_eq(name, tg__cx_fn_names[n]);
        n++;
        q = close + 1;
    }
    ck_assert_msg(tg__cx_fn_names[n] == NULL, "the grammar lacks '%s'", tg__cx_fn_names[n]);
    ck_assert_int_ge(n, 12);
    free(sec);
}
END_TEST

START_TEST(man_page_names_every_function) {
    char *man = test_read_file("man/tapegrad-spec.5");
    ck_assert_ptr_nonnull(man);
    const char *grammar = strstr(man, "\nfunction = ");
    ck_assert_msg(grammar != NULL, "man/tapegrad-spec.5 has no function production");
    const char *end = strchr(grammar, ';');
    ck_assert_ptr_nonnull(end);
    for (int i = 0; tg__cx_fn_names[i]; i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", tg__cx_fn_names[i]);
        const char *at = strstr(grammar, quoted);
        ck_assert_msg(at && at < end, "man/tapegrad-spec.5's grammar lacks %s", quoted);
    }
    free(man);
}
END_TEST

TCase *tcase_spec_cells_doc(void) {
    TCase *tc = tcase_create("spec_cells_doc");
    tcase_add_test(tc, every_block_loads_and_builds);
    tcase_add_test(tc, grammar_names_every_function);
    tcase_add_test(tc, man_page_names_every_function);
    return tc;
}
