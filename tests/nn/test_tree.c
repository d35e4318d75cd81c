/* Trees: the bracketed reader (structure, post-order numbering, labels,
 * tokens at leaves and inner nodes, many trees per text), every reader error
 * with its line and column, a 100,000-level tree read without recursion,
 * writing trees back, vocabularies, and the level schedule of a batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static int64_t n_kids(const tg_tree *tr, int64_t i) {
    return tr->child_off[i + 1] - tr->child_off[i];
}

START_TEST(read_sst_tree) {
    char err[256] = "";
    tg_tree *tr = tg_tree_parse("(3 (2 The) (4 (3 good) (2 movie)))", NULL, err, sizeof err);
    ck_assert_msg(tr != NULL, "%s", err);
    /* post-order: The, good, movie, (good movie), root */
    ck_assert_int_eq(tr->n, 5);
    const char *tokens[5] = {"The", "good", "movie", NULL, NULL};
    const int64_t labels[5] = {2, 3, 2, 4, 3}, parents[5] = {4, 3, 3, 4, -1};
    const int64_t kids[5] = {0, 0, 0, 2, 2};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(tr->label[i], labels[i]);
        ck_assert_int_eq(tr->parent[i], parents[i]);
        ck_assert_int_eq(n_kids(tr, i), kids[i]);
        ck_assert_int_eq(tr->id[i], -1);
        if (tokens[i])
            ck_assert_str_eq(tr->token[i], tokens[i]);
        else
            ck_assert_ptr_null(tr->token[i]);
    }
    /* children left to right */
    ck_assert_int_eq(tr->child[tr->child_off[3]], 1);
    ck_assert_int_eq(tr->child[tr->child_off[3] + 1], 2);
    ck_assert_int_eq(tr->child[tr->child_off[4]], 0);
    ck_assert_int_eq(tr->child[tr->child_off[4] + 1], 3);
    ck_assert_int_eq(tr->height, 2);
    /* where each '(' was */
    ck_assert_int_eq(tr->line[4], 1);
    ck_assert_int_eq(tr->col[4], 1);
    ck_assert_int_eq(tr->col[0], 4);
    ck_assert_int_eq(tr->col[3], 12);
    ck_assert_int_eq(tr->col[1], 15);
    ck_assert_int_eq(tr->col[2], 24);
    tg_tree_free(tr);
}
END_TEST

/* Unlabelled inner nodes, inner tokens, arity 3 and 1, several trees over
 * several lines, CRLF and tabs. */
START_TEST(read_general_trees) {
    const char *text = "((1 a) (2 b) (3 c))\r\n\t(7 + (3 3) (4 4))\n"
                       "(0 (1 (2 deep)))   (5 x)\n";
    char err[256] = "";
    tg_treebank *b = tg_treebank_parse(text, strlen(text), "t.txt", NULL, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_int_eq(b->n, 4);
    tg_tree *t0 = b->trees[0], *t1 = b->trees[1], *t2 = b->trees[2], *t3 = b->trees[3];
    ck_assert_int_eq(t0->n, 4);
    ck_assert_int_eq(n_kids(t0, 3), 3);
    ck_assert_int_eq(t0->label[3], TG_TREE_NO_LABEL);
    ck_assert_ptr_null(t0->token[3]);
    ck_assert_str_eq(t0->token[2], "c");
    ck_assert_int_eq(t0->label[2], 3);
    /* an operator at an inner node */
    ck_assert_int_eq(t1->n, 3);
    ck_assert_int_eq(t1->label[2], 7);
    ck_assert_str_eq(t1->token[2], "+");
    ck_assert_str_eq(t1->token[0], "3");
    ck_assert_int_eq(t1->label[1], 4);
    ck_assert_int_eq(t1->line[2], 2);
    ck_assert_int_eq(t1->col[2], 2); /* after the tab */
    /* a unary chain */
    ck_assert_int_eq(t2->n, 3);
    ck_assert_int_eq(t2->height, 2);
    ck_assert_int_eq(n_kids(t2, 2), 1);
    ck_assert_int_eq(n_kids(t2, 1), 1);
    ck_assert_str_eq(t2->token[0], "deep");
    ck_assert_int_eq(t2->line[0], 3);
    /* a one-node tree */
    ck_assert_int_eq(t3->n, 1);
    ck_assert_int_eq(t3->height, 0);
    ck_assert_int_eq(t3->parent[0], -1);
    ck_assert_int_eq(t3->label[0], 5);
    ck_assert_int_eq(t3->col[0], 20);
    ck_assert_int_eq(tg_treebank_max_label(b), 7);
    tg_treebank_free(b);
}
END_TEST

START_TEST(read_optional_leaf_labels) {
    char err[256] = "";
    tg_tree_read_options o = {.leaf_labels_optional = true};
    tg_tree *tr = tg_tree_parse("(5 (word) (3 3) (7))", &o, err, sizeof err);
    ck_assert_msg(tr != NULL, "%s", err);
    ck_assert_int_eq(tr->n, 4);
    ck_assert_int_eq(tr->label[0], TG_TREE_NO_LABEL);
    ck_assert_str_eq(tr->token[0], "word");
    ck_assert_int_eq(tr->label[1], 3);
    ck_assert_int_eq(tr->label[2], TG_TREE_NO_LABEL); /* (7): a token, not a label */
    ck_assert_str_eq(tr->token[2], "7");
    tg_tree_free(tr);
}
END_TEST

typedef struct bad_case {
    const char *text, *message;
} bad_case;

static const bad_case BAD[] = {
    {"", "f.txt: empty input: no tree"},
    {"  \n\t \n", "f.txt: empty input: no tree"},
    {"(3 (2 The) (4 (3 good) (2 movie))",
     "f.txt: line 1, column 1: '(' is never closed (the input ends at line 1, column 34 with 1 "
     "bracket open)"},
    {"(3 (2 The)\n (4 (3 good)",
     "f.txt: line 1, column 1: '(' is never closed (the input ends at line 2, column 13 with 2 "
     "brackets open)"},
    {"(3 (2 The) (4 good)))", "f.txt: line 1, column 21: unmatched ')'"},
    {"(1 a)\n  )", "f.txt: line 2, column 3: unmatched ')'"},
    {"(3 (2 The) (good))",
     "f.txt: line 1, column 12: leaf (good) has no label: a leaf is (LABEL TOKEN)"},
    {"(3 (2 The) (4))", "f.txt: line 1, column 12: leaf (4) has no label: a leaf is (LABEL TOKEN)"},
    {"(NP (2 The) (4 dog))",
     "f.txt: line 1, column 2: expected a non-negative integer label, got 'NP'"},
    {"(3 (DT The))", "f.txt: line 1, column 5: expected a non-negative integer label, got 'DT'"},
    {"(-1 x)", "f.txt: line 1, column 2: expected a non-negative integer label, got '-1'"},
    {"(99999999999999999999 x)",
     "f.txt: line 1, column 2: label 99999999999999999999 is out of range"},
    {"(3 ())", "f.txt: line 1, column 4: empty node ()"},
    {"(2 a b)",
     "f.txt: line 1, column 6: unexpected 'b': a node holds at most a label and one token"},
    {"(2 (1 a) b)",
     "f.txt: line 1, column 10: token 'b' after a subtree: a node's label and token come before "
     "its subtrees"},
    {"2 (1 a)", "f.txt: line 1, column 1: expected '(' to start a tree, got '2'"},
    {"(1 a) junk", "f.txt: line 1, column 7: expected '(' to start a tree, got 'junk'"},
};
#define N_BAD ((int)(sizeof BAD / sizeof BAD[0]))

START_TEST(read_errors) {
    const bad_case *c = &BAD[_i];
    char err[256] = "";
    tg_treebank *b = tg_treebank_parse(c->text, strlen(c->text), "f.txt", NULL, err, sizeof err);
    ck_assert_msg(b == NULL, "'%s' was accepted", c->text);
    ck_assert_str_eq(err, c->message);
}
END_TEST

START_TEST(read_errors_misc) {
    char err[256] = "";
    /* a NUL inside the text */
    const char text[] = "(1 a)\n(2 \0b)";
    ck_assert_ptr_null(tg_treebank_parse(text, sizeof text - 1, NULL, NULL, err, sizeof err));
    ck_assert_str_eq(err, "line 2, column 4: unexpected NUL byte");
    /* exactly one tree */
    ck_assert_ptr_null(tg_tree_parse("(1 a) (2 b)", NULL, err, sizeof err));
    ck_assert_str_eq(err, "expected one tree, found 2");
    ck_assert_ptr_null(tg_tree_parse("", NULL, err, sizeof err));
    ck_assert_str_eq(err, "empty input: no tree");
    /* files */
    ck_assert_ptr_null(tg_treebank_load("/nonexistent/trees.txt", NULL, err, sizeof err));
    ck_assert_str_eq(err, "/nonexistent/trees.txt: cannot open: No such file or directory");
    char path[] = "/tmp/tg_tree_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("(1 (0 a) (1 b))\n(2 (1 a)\n", f);
    fclose(f);
    ck_assert_ptr_null(tg_treebank_load(path, NULL, err, sizeof err));
    char want[256];
    snprintf(want, sizeof want,
             "%s: line 2, column 1: '(' is never closed (the input ends at line 3, column 1 "
             "with 1 bracket open)",
             path);
    ck_assert_str_eq(err, want);
    f = fopen(path, "w");
    fputs("(1 (0 a) (1 b))\n(2 (1 a) (0 c))\n", f);
    fclose(f);
    tg_treebank *b = tg_treebank_load(path, NULL, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_int_eq(b->n, 2);
    ck_assert_str_eq(b->trees[1]->token[1], "c");
    tg_treebank_free(b);
    unlink(path);
}
END_TEST

/* (1 (1 (1 ... (1 a) (0 b)) (0 b)) ...): depth levels, left-branching. */
static char *left_branching(int64_t depth) {
    size_t len = (size_t)depth * 10 + 16, at = 0;
    char *s = malloc(len);
    for (int64_t i = 0; i < depth; i++) at += (size_t)sprintf(s + at, "(1 ");
    at += (size_t)sprintf(s + at, "(0 a)");
    for (int64_t i = 0; i < depth; i++) at += (size_t)sprintf(s + at, " (0 b))");
    return s;
}

START_TEST(read_very_deep_tree) {
    const int64_t D = 100000;
    char *s = left_branching(D), err[256] = "";
    tg_tree *tr = tg_tree_parse(s, NULL, err, sizeof err);
    ck_assert_msg(tr != NULL, "%s", err);
    ck_assert_int_eq(tr->n, 2 * D + 1);
    ck_assert_int_eq(tr->height, D);
    ck_assert_int_eq(tr->label[0], 0); /* the innermost 'a' comes first */
    ck_assert_str_eq(tr->token[0], "a");
    ck_assert_int_eq(n_kids(tr, tr->n - 1), 2);
    /* written back without recursion, it reads the same */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    ck_assert_int_eq(tg_tree_write(f, tr), 0);
    fclose(f);
    ck_assert_str_eq(out, s);
    free(out);
    tg_tree_free(tr);
    free(s);
}
END_TEST

START_TEST(write_round_trip) {
    const char *texts[] = {"(3 (2 The) (4 (3 good) (2 movie)))", "((1 a) (2 b) (3 c))",
                           "(7 + (3 3) (4 (1 -) (5 x)))", "(5 x)", "(0 (1 (2 deep)))"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        char err[256] = "", *out = NULL;
        size_t outlen = 0;
        tg_tree *tr = tg_tree_parse(texts[k], NULL, err, sizeof err);
        ck_assert_msg(tr != NULL, "%s", err);
        FILE *f = open_memstream(&out, &outlen);
        ck_assert_int_eq(tg_tree_write(f, tr), 0);
        fclose(f);
        ck_assert_str_eq(out, texts[k]);
        free(out);
        tg_tree_free(tr);
    }
}
END_TEST

START_TEST(vocab) {
    tg_tree_vocab *v = tg_tree_vocab_new();
    ck_assert_int_eq(tg_tree_vocab_size(v), 1);
    ck_assert_str_eq(tg_tree_vocab_token(v, 0), "<unk>");
    ck_assert_int_eq(tg_tree_vocab_id(v, "good", true), 1);
    ck_assert_int_eq(tg_tree_vocab_id(v, "movie", true), 2);
    ck_assert_int_eq(tg_tree_vocab_id(v, "good", true), 1);
    ck_assert_int_eq(tg_tree_vocab_id(v, "unseen", false), 0);
    ck_assert_int_eq(tg_tree_vocab_size(v), 3);
    ck_assert_ptr_null(tg_tree_vocab_token(v, 3));
    /* many tokens: the table grows and keeps every id */
    char tok[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(tok, sizeof tok, "w%d", i);
        ck_assert_int_eq(tg_tree_vocab_id(v, tok, true), 3 + i);
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(tok, sizeof tok, "w%d", i);
        ck_assert_int_eq(tg_tree_vocab_id(v, tok, false), 3 + i);
        ck_assert_str_eq(tg_tree_vocab_token(v, 3 + i), tok);
    }
    char err[256];
    tg_tree *tr = tg_tree_parse("(3 (2 The) (4 (3 good) (2 movie)))", NULL, err, sizeof err);
    ck_assert_int_eq(tg_tree_set_ids(tr, v, false), 0);
    const int64_t ids[5] = {0, 1, 2, -1, -1};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(tr->id[i], ids[i]);
    ck_assert_int_eq(tg_tree_set_ids(tr, v, true), 0);
    ck_assert_int_eq(tr->id[0], 5003); /* "The" is added */
    tg_tree_free(tr);
    tg_tree_vocab_free(v);
}
END_TEST

static tg_treebank *bank(const char *text, tg_tree_vocab *v) {
    char err[256] = "";
    tg_treebank *b = tg_treebank_parse(text, strlen(text), NULL, NULL, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_int_eq(tg_treebank_set_ids(b, v, true), 0);
    return b;
}

START_TEST(batch_schedule) {
    tg_tree_vocab *v = tg_tree_vocab_new();
    /* batch nodes: 0 a, 1 b, 2 (a b), 3 c, 4 root | 5 z */
    tg_treebank *tb = bank("(2 (1 (0 a) (1 b)) (3 c))\n(4 z)", v);
    char err[256] = "";
    tg_tree_batch *b = tg_tree_batch_new((const tg_tree *const *)tb->trees, 2, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    ck_assert_int_eq(b->n_nodes, 6);
    ck_assert_int_eq(b->n_levels, 3);
    ck_assert_int_eq(b->max_arity, 2);
    ck_assert_int_eq(b->roots[0], 4);
    ck_assert_int_eq(b->roots[1], 5);
    const int64_t label[6] = {0, 1, 1, 3, 2, 4}, id[6] = {1, 2, -1, 3, -1, 4};
    const int64_t level_of[6] = {0, 0, 1, 0, 2, 0}, order[6] = {0, 1, 3, 5, 2, 4};
    for (int g = 0; g < 6; g++) {
        ck_assert_int_eq(b->label[g], label[g]);
        ck_assert_int_eq(b->id[g], id[g]);
        ck_assert_int_eq(b->level_of[g], level_of[g]);
        ck_assert_int_eq(b->level_order[g], order[g]);
        ck_assert_int_eq(b->row[order[g]], g);
    }
    const tg_tree_level *l0 = &b->levels[0], *l1 = &b->levels[1], *l2 = &b->levels[2];
    ck_assert_int_eq(l0->n, 4);
    ck_assert_int_eq(l0->arity, 0);
    ck_assert_int_eq(l0->n_edges, 0);
    ck_assert_int_eq(l1->start, 4);
    ck_assert_int_eq(l1->n, 1);
    ck_assert_int_eq(l1->arity, 2);
    ck_assert_int_eq(l1->n_src, 1);
    ck_assert_int_eq(l1->src_level[0], 0);
    ck_assert_int_eq(l1->src_row[0], 0);
    ck_assert_int_eq(l1->src_row[1], 1);
    ck_assert_int_eq(l1->slot[0], 0);
    ck_assert_int_eq(l1->slot[1], 1);
    /* the root's children sit at two levels: (a b) at level 1, c at level 0 */
    ck_assert_int_eq(l2->start, 5);
    ck_assert_int_eq(l2->n_edges, 2);
    ck_assert_int_eq(l2->n_src, 2);
    ck_assert_int_eq(l2->src_level[0], 1);
    ck_assert_int_eq(l2->src_level[1], 0);
    ck_assert_int_eq(l2->src_off[1], 1);
    ck_assert_int_eq(l2->src_off[2], 2);
    ck_assert_int_eq(l2->src_row[0], 0); /* (a b): row 0 of level 1 */
    ck_assert_int_eq(l2->src_row[1], 2); /* c: row 2 of level 0 */
    ck_assert_int_eq(l2->edge_parent[0], 0);
    ck_assert_int_eq(l2->edge_parent[2], 0);
    ck_assert_int_eq(l2->slot[0], 0);
    ck_assert_int_eq(l2->slot[1], 1);
    char where[64];
    tg_tree_batch_where(b, 5, where, sizeof where);
    ck_assert_str_eq(where, "trees[1] line 2, column 1");
    tg_tree_batch_where(b, 3, where, sizeof where);
    ck_assert_str_eq(where, "trees[0] line 1, column 20");
    tg_tree_batch_free(b);
    tg_treebank_free(tb);
    tg_tree_vocab_free(v);
}
END_TEST

/* Slots of nodes with different arities at one level point at the padding
 * edge where a node has fewer children. */
START_TEST(batch_padding_slots) {
    tg_tree_vocab *v = tg_tree_vocab_new();
    tg_treebank *tb = bank("(0 (1 a) (1 b) (1 c))\n(0 (1 d))", v);
    char err[256] = "";
    tg_tree_batch *b = tg_tree_batch_new((const tg_tree *const *)tb->trees, 2, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    const tg_tree_level *l1 = &b->levels[1];
    ck_assert_int_eq(l1->n, 2);
    ck_assert_int_eq(l1->arity, 3);
    ck_assert_int_eq(l1->n_edges, 4);
    const int64_t slot[6] = {0, 3, 1, 4, 2, 4}; /* [k * n + p] */
    for (int i = 0; i < 6; i++) ck_assert_int_eq(l1->slot[i], slot[i]);
    const int64_t parent[5] = {0, 0, 0, 1, 0};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(l1->edge_parent[i], parent[i]);
    tg_tree_batch_free(b);
    tg_treebank_free(tb);
    tg_tree_vocab_free(v);
}
END_TEST

START_TEST(batch_errors) {
    char err[256] = "";
    tg_tree *tr = tg_tree_parse("(3 (2 The) (4 (3 good) (2 movie)))", NULL, err, sizeof err);
    const tg_tree *trees[2] = {tr, NULL};
    ck_assert_ptr_null(tg_tree_batch_new(trees, 1, err, sizeof err));
    ck_assert_str_eq(err, "tg_tree_batch_new: trees[0] line 1, column 4: token 'The' has no id "
                          "(map tokens with tg_tree_set_ids first)");
    ck_assert_ptr_null(tg_tree_batch_new(trees, 0, err, sizeof err));
    ck_assert_str_eq(err, "tg_tree_batch_new: need at least one tree, got 0");
    tg_tree_vocab *v = tg_tree_vocab_new();
    tg_tree_set_ids(tr, v, true);
    ck_assert_ptr_null(tg_tree_batch_new(trees, 2, err, sizeof err));
    ck_assert_str_eq(err, "tg_tree_batch_new: trees[1] is NULL");
    tg_tree_vocab_free(v);
    tg_tree_free(tr);
}
END_TEST

TCase *tcase_tree(void) {
    TCase *tc = tcase_create("tree");
    tcase_add_test(tc, read_sst_tree);
    tcase_add_test(tc, read_general_trees);
    tcase_add_test(tc, read_optional_leaf_labels);
    tcase_add_loop_test(tc, read_errors, 0, N_BAD);
    tcase_add_test(tc, read_errors_misc);
    tcase_add_test(tc, read_very_deep_tree);
    tcase_add_test(tc, write_round_trip);
    tcase_add_test(tc, vocab);
    tcase_add_test(tc, batch_schedule);
    tcase_add_test(tc, batch_padding_slots);
    tcase_add_test(tc, batch_errors);
    return tc;
}
