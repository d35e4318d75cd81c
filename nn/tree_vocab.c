/* Token vocabularies for trees (tree_vocab.h): an open-addressing hash from
 * token to id beside the tokens in id order. */
#include "tree_vocab.h"

#include <stdlib.h>
#include <string.h>

struct tg_tree_vocab {
    char **tokens; /* [n], owned */
    int64_t n, cap;
    int64_t *slots; /* open addressing: id + 1, 0 = empty */
    int64_t n_slots;
};

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int64_t *find_slot(const tg_tree_vocab *v, const char *s) {
    uint64_t mask = (uint64_t)v->n_slots - 1;
    for (uint64_t i = hash(s) & mask;; i = (i + 1) & mask) {
        int64_t *slot = &v->slots[i];
        if (!*slot || strcmp(v->tokens[*slot - 1], s) == 0) return slot;
    }
}

static bool vocab_grow(tg_tree_vocab *v) {
    int64_t n_slots = v->n_slots ? 2 * v->n_slots : 64;
    int64_t *slots = calloc((size_t)n_slots, sizeof *slots), *old = v->slots;
    if (!slots) return false;
    v->slots = slots, v->n_slots = n_slots;
    for (int64_t id = 0; id < v->n; id++) *find_slot(v, v->tokens[id]) = id + 1;
    free(old);
    return true;
}

tg_tree_vocab *tg_tree_vocab_new(void) {
    tg_tree_vocab *v = calloc(1, sizeof *v);
    if (!v || !vocab_grow(v) || tg_tree_vocab_id(v, "<unk>", true) != 0) {
        tg_tree_vocab_free(v);
        return NULL;
    }
    return v;
}

void tg_tree_vocab_free(tg_tree_vocab *v) {
    if (!v) return;
    for (int64_t i = 0; i < v->n; i++) free(v->tokens[i]);
    free(v->tokens);
    free(v->slots);
    free(v);
}

int64_t tg_tree_vocab_size(const tg_tree_vocab *v) {
    return v->n;
}

int64_t tg_tree_vocab_id(tg_tree_vocab *v, const char *token, bool add) {
    int64_t *slot = find_slot(v, token);
    if (*slot) return *slot - 1;
    if (!add) return 0;
    if (2 * (v->n + 1) > v->n_slots) { /* keep the table at most half full */
        if (!vocab_grow(v)) return -1;
        slot = find_slot(v, token);
    }
    if (v->n == v->cap) {
        int64_t cap = v->cap ? 2 * v->cap : 64;
        char **t = realloc(v->tokens, (size_t)cap * sizeof *t);
        if (!t) return -1;
        v->tokens = t, v->cap = cap;
    }
    size_t len = strlen(token);
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, token, len + 1);
    v->tokens[v->n] = copy;
    *slot = ++v->n;
    return v->n - 1;
}

const char *tg_tree_vocab_token(const tg_tree_vocab *v, int64_t id) {
    return id >= 0 && id < v->n ? v->tokens[id] : NULL;
}

int tg_tree_set_ids(tg_tree *tr, tg_tree_vocab *v, bool add) {
    for (int64_t i = 0; i < tr->n; i++) {
        tr->id[i] = tr->token[i] ? tg_tree_vocab_id(v, tr->token[i], add) : -1;
        if (tr->token[i] && tr->id[i] < 0) return -1;
    }
    return 0;
}

int tg_treebank_set_ids(tg_treebank *b, tg_tree_vocab *v, bool add) {
    for (int64_t k = 0; k < b->n; k++)
        if (tg_tree_set_ids(b->trees[k], v, add) != 0) return -1;
    return 0;
}
