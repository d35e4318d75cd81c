/* Word sequences (cli/data_words.c), for the readers of classify, tag and
 * conditioned text, and for predict's input. */
#ifndef TG_CLI_DATA_WORDS_H
#define TG_CLI_DATA_WORDS_H

#include "data_util.h"

/* Word sequences (classify, tag; cli/data_words.c): tokens as pointers into
 * the file's text until cli_words_finish numbers them. */
typedef struct cli_words {
    int64_t n, cap; /* tokens */
    const char **w; /* word */
    size_t *len;
    const char **tag; /* tag: the part after the last '/' */
    size_t *tag_len;
    int64_t n_seq, cap_seq; /* sequences (lines) */
    int64_t *first;         /* first token of each */
    const char **label;     /* classify: its label */
    size_t *label_len;
    int64_t *line; /* its line, from 0 */
} cli_words;

/* Whether [p, end) is only whitespace. */
bool cli_blank(const char *p, const char *end);
/* Appends the whitespace-separated tokens of [p, end); with tags, splits
 * each at its last '/' (a token without one fails, message in err). */
int cli_words_split(cli_words *w, const char *path, const char *p, const char *end, int64_t line,
                    bool tags, char *err, size_t errlen);
/* The same for input.split "chars": every UTF-8 character of [p, end) but
 * whitespace is a token. */
int cli_chars_split(cli_words *w, const char *path, const char *p, const char *end, int64_t line,
                    char *err, size_t errlen);
/* Ends a sequence begun at token `first` (label: classify's, or NULL). */
int cli_words_seq(cli_words *w, int64_t first, const char *label, size_t label_len, int64_t line,
                  char *err, size_t errlen);
/* Numbers the words (building the vocabulary from the training sequences
 * unless known) into d->ids and d->seqs, and splits. */
int cli_words_finish(cli_data *d, const tg_spec *s, cli_words *w, const cli_vocab *known,
                     double valid_fraction, char *err, size_t errlen);
void cli_words_free(cli_words *w);

#endif
