/* Token vocabularies for trees: token <-> id, "<unk>" first, so that an
 * embedding can read the tokens of a tree (tg_tree.id). */
#ifndef TG_TREE_VOCAB_H
#define TG_TREE_VOCAB_H

#include "tree.h"

typedef struct tg_tree_vocab tg_tree_vocab;

/* A vocabulary holding only "<unk>", id 0. NULL when out of memory. */
tg_tree_vocab *tg_tree_vocab_new(void);
/* Frees the vocabulary. */
void tg_tree_vocab_free(tg_tree_vocab *v);
/* The number of ids, "<unk>" included. */
int64_t tg_tree_vocab_size(const tg_tree_vocab *v);
/* The id of token: with add, a new token gets the next id; without, an
 * unknown token is 0 (<unk>). -1 when out of memory. */
int64_t tg_tree_vocab_id(tg_tree_vocab *v, const char *token, bool add);
/* The token of an id, or NULL when out of range. */
const char *tg_tree_vocab_token(const tg_tree_vocab *v, int64_t id);
/* Sets tr->id at every node with a token (see tg_tree_vocab_id). Returns 0
 * or -1 (out of memory). */
int tg_tree_set_ids(tg_tree *tr, tg_tree_vocab *v, bool add);
/* The same for every tree of the bank. */
int tg_treebank_set_ids(tg_treebank *b, tg_tree_vocab *v, bool add);

#endif
