/* The manuals agree with the command: every --help names exactly the
 * options its parser takes (cli_parse checks that on --help), tapegrad(1)
 * names exactly the options of each command's --help, tapegrad-spec(5)
 * names every key and type of docs/spec.md's tables, and the man pages
 * pass `mandoc -T lint` without a warning. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

enum { MAX_NAMES = 64, MAX_NAME = 48 };

typedef struct names {
    int n;
    char name[MAX_NAMES][MAX_NAME];
} names;

static void names_add(names *s, const char *p, size_t len) {
    if (len >= MAX_NAME) len = MAX_NAME - 1;
    for (int i = 0; i < s->n; i++)
        if (strlen(s->name[i]) == len && strncmp(s->name[i], p, len) == 0) return;
    ck_assert_int_lt(s->n, MAX_NAMES);
    snprintf(s->name[s->n++], MAX_NAME, "%.*s", (int)len, p);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(a, b);
}

/* "a b c" of a sorted set, for messages and comparison. */
static const char *names_str(names *s, char *buf, size_t n) {
    qsort(s->name, (size_t)s->n, MAX_NAME, cmp_name);
    buf[0] = 0;
    for (int i = 0; i < s->n; i++) {
        strncat(buf, s->name[i], n - strlen(buf) - 1);
        strncat(buf, " ", n - strlen(buf) - 1);
    }
    return buf;
}

/* The --options in text[0..len); in roff a '-' is written "\-". */
static names options_in(const char *text, size_t len) {
    names s = {0};
    char plain[32768];
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < sizeof plain; i++)
        if (!(text[i] == '\\' && i + 1 < len && text[i + 1] == '-')) plain[k++] = text[i];
    plain[k] = 0;
    for (const char *p = strstr(plain, "--"); p; p = strstr(p + 2, "--")) {
        size_t n = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
        if (n > 2 && strncmp(p, "--help", n) != 0) names_add(&s, p, n);
        p += n - 2;
    }
    return s;
}

static bool word_char(char c) {
    return isalnum((unsigned char)c) || c == '_';
}

/* Whether word occurs in text as a word of its own (no letter, digit or _
 * on either side). */
static bool has_word(const char *text, const char *word) {
    size_t n = strlen(word);
    for (const char *p = text ? strstr(text, word) : NULL; p; p = strstr(p + 1, word))
        if ((p == text || !word_char(p[-1])) && !word_char(p[n])) return true;
    return false;
}

/* The commands `tapegrad --help` lists ("  NAME  what it does" lines after
 * "commands:"). */
static names commands(void) {
    cli_out r = cli_run((const char *[]){"--help", NULL}, 0);
    names s = {0};
    const char *p = strstr(r.out, "commands:\n");
    ck_assert_ptr_nonnull(p);
    for (p = strchr(p, '\n') + 1; p[0] == ' ' && p[1] == ' ' && isalpha((unsigned char)p[2]);
         p = strchr(p, '\n') + 1)
        names_add(&s, p + 2, strcspn(p + 2, " "));
    cli_out_free(&r);
    ck_assert_int_ge(s.n, 8);
    return s;
}

START_TEST(help_names_the_parsers_options) {
    names cmds = commands();
    for (int i = 0; i < cmds.n; i++) { /* status 0, nothing on stderr */
        cli_out r = cli_run((const char *[]){cmds.name[i], "--help", NULL}, 0);
        ck_assert_msg(!r.err[0], "tapegrad %s --help: %s", cmds.name[i], r.err);
        cli_out_free(&r);
    }
    cli_out r = cli_run((const char *[]){"--help", NULL}, 0);
    const char *graph = strstr(r.out, "  graph ");
    ck_assert_ptr_nonnull(graph);
    ck_assert_msg(strstr(graph, "HTML") && strstr(graph, "HTML") < strchr(graph, '\n'),
                  "tapegrad --help: the graph line leaves out HTML");
    cli_out_free(&r);
}
END_TEST

START_TEST(man_page_names_each_commands_options) {
    char *man = test_read_file("man/tapegrad.1");
    ck_assert_ptr_nonnull(man);
    names cmds = commands();
    for (int i = 0; i < cmds.n; i++) {
        char head[64], a[2048], b[2048];
        snprintf(head, sizeof head, "\n.SS %s\n", cmds.name[i]);
        const char *sec = strstr(man, head);
        ck_assert_msg(sec, "man/tapegrad.1 has no section for %s", cmds.name[i]);
        sec += strlen(head);
        const char *end = strstr(sec, "\n.S"); /* the next .SS or .SH */
        names in_man = options_in(sec, end ? (size_t)(end - sec) : strlen(sec));
        cli_out r = cli_run((const char *[]){cmds.name[i], "--help", NULL}, 0);
        names in_help = options_in(r.out, strlen(r.out));
        cli_out_free(&r);
        ck_assert_msg(strcmp(names_str(&in_man, a, sizeof a), names_str(&in_help, b, sizeof b)) ==
                          0,
                      "%s: man/tapegrad.1 names %s; --help names %s", cmds.name[i], a, b);
    }
    /* and no section for a command the program lacks */
    const char *cmds_at = strstr(man, "\n.SH COMMANDS\n"),
               *cmds_end = strstr(man, "\n.SH EXIT STATUS\n");
    ck_assert_ptr_nonnull(cmds_at);
    ck_assert_ptr_nonnull(cmds_end);
    int sections = 0;
    for (const char *p = strstr(cmds_at, "\n.SS "); p && p < cmds_end; p = strstr(p + 1, "\n.SS "))
        sections++;
    ck_assert_int_eq(sections, cmds.n);
    /* the exit statuses --help gives are the ones the page explains */
    cli_out r = cli_run((const char *[]){"--help", NULL}, 0);
    const char *codes[] = {"0", "1", "2", "3", "130"};
    for (int i = 0; i < 5; i++) {
        char man_has[32];
        snprintf(man_has, sizeof man_has, "\n.B %s\n", codes[i]);
        ck_assert_msg(has_word(strstr(r.out, "Exit status:"), codes[i]), "--help lacks %s",
                      codes[i]);
        ck_assert_msg(strstr(cmds_end, man_has), "man/tapegrad.1 lacks exit status %s", codes[i]);
    }
    cli_out_free(&r);
    free(man);
}
END_TEST

START_TEST(spec_page_names_every_key_of_spec_md) {
    char *md = test_read_file("docs/spec.md"), *man = test_read_file("man/tapegrad-spec.5");
    ck_assert_ptr_nonnull(md);
    ck_assert_ptr_nonnull(man);
    int keys = 0;
    /* every word in the first column of a table row: "| `key` | ..." */
    for (const char *row = strstr(md, "\n| `"); row; row = strstr(row + 1, "\n| `")) {
        const char *col_end = strstr(row + 3, " |");
        for (const char *p = row + 3; p < col_end; p++) {
            if (!word_char(*p)) continue;
            size_t n = 0;
            while (word_char(p[n])) n++;
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)n, p);
            ck_assert_msg(has_word(man, word),
                          "man/tapegrad-spec.5 does not name '%s' (docs/spec.md)", word);
            keys++;
            p += n - 1;
        }
    }
    ck_assert_int_gt(keys, 60);
    free(md);
    free(man);
}
END_TEST

START_TEST(man_pages_lint_clean) {
    cli_out r = cli_exec_sh((const char *[]){
        "-c",
        "command -v mandoc >/dev/null || exit 77; "
        "mandoc -T lint -W warning man/tapegrad.1 man/tapegrad-spec.5 man/libtapegrad.3",
        NULL});
    if (r.status == 77 && !getenv("CI")) {
        fprintf(stderr, "man_pages_lint_clean: skipped, no mandoc (apt-get install mandoc)\n");
    } else {
        ck_assert_msg(r.status == 0 && !r.out[0] && !r.err[0], "mandoc -T lint (status %d):\n%s%s",
                      r.status, r.out, r.err);
    }
    cli_out_free(&r);
}
END_TEST

TCase *tcase_manual(void) {
    TCase *tc = tcase_create("manual");
    tcase_add_test(tc, help_names_the_parsers_options);
    tcase_add_test(tc, man_page_names_each_commands_options);
    tcase_add_test(tc, spec_page_names_every_key_of_spec_md);
    tcase_add_test(tc, man_pages_lint_clean);
    return tc;
}
