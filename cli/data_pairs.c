/* seq2seq data: one pair per line, "source<TAB>target"; blank lines are
 * skipped. Each side is split into symbols as input.source and
 * input.target say: at whitespace ("spaces") or into UTF-8 characters
 * ("chars", spaces inside included). Source symbols are numbered like
 * classify's words (0 <pad>, 1 <unk> for any symbol not seen in the
 * training pairs, then by frequency); target symbols after the markers
 * 0 <s> and 1 </s>, by frequency over every pair of the file, so the
 * held-out end never has a target the model cannot write. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_pairs.h"
#include "data_words.h"

/* Room for n symbols in s. */
static int reserve(cli_syms *s, int64_t n) {
    if (n <= s->cap) return 0;
    int64_t cap = s->cap ? 2 * s->cap : 64;
    while (cap < n) cap *= 2;
    const char **p = realloc(s->p, (size_t)cap * sizeof *p);
    if (p) s->p = p;
    size_t *len = realloc(s->len, (size_t)cap * sizeof *len);
    if (len) s->len = len;
    if (!p || !len) return -1;
    s->cap = cap;
    return 0;
}

int cli_syms_split(cli_syms *out, const char *p, const char *end, tg_text_split how) {
    while (p < end && isspace((unsigned char)*p)) p++;
    while (end > p && isspace((unsigned char)end[-1])) end--;
    out->n = 0;
    while (p < end) {
        const char *q = p + 1;
        if (how == TG_SPLIT_CHARS) /* a lead byte and its continuation bytes */
            while (q < end && ((unsigned char)*q & 0xC0) == 0x80) q++;
        else {
            while (q < end && !isspace((unsigned char)*q)) q++;
        }
        if (reserve(out, out->n + 1)) return -1;
        out->p[out->n] = p, out->len[out->n++] = (size_t)(q - p);
        p = q;
        if (how == TG_SPLIT_SPACES)
            while (p < end && isspace((unsigned char)*p)) p++;
    }
    return 0;
}

int cli_syms_append(cli_syms *all, const cli_syms *s) {
    if (reserve(all, all->n + s->n)) return -1;
    memcpy(all->p + all->n, s->p, (size_t)s->n * sizeof *s->p);
    memcpy(all->len + all->n, s->len, (size_t)s->n * sizeof *s->len);
    all->n += s->n;
    return 0;
}

void cli_syms_free(cli_syms *s) {
    free(s->p);
    free(s->len);
    *s = (cli_syms){0};
}

/* The target vocabulary: <s>, </s>, then every target symbol by frequency. */
static int targets_build(cli_vocab *v, const char *path, const cli_syms *tgt, char *err,
                         size_t errlen) {
    cli_vocab tmp = {0}; /* <pad>, <unk>, then the symbols */
    int rc = cli_words_build(&tmp, path, tgt->p, tgt->len, tgt->n, 0, err, errlen);
    if (!rc && (cli_strs_add(&v->labels, "<s>", 3) < 0 || cli_strs_add(&v->labels, "</s>", 4) < 0))
        rc = cli_fail(err, errlen, "%s: out of memory", path);
    for (int64_t i = 2; !rc && i < tmp.words.n; i++)
        if (cli_strs_add(&v->labels, tmp.words.s[i], strlen(tmp.words.s[i])) < 0)
            rc = cli_fail(err, errlen, "%s: out of memory", path);
    cli_vocab_free(&tmp);
    return rc;
}

/* The pairs of a file as they are read: each line's symbols (src, tgt),
 * every pair's symbols one after another (all_src, all_tgt), the distinct
 * sources (a pair's group) and the line of each pair. */
typedef struct pairs {
    cli_syms src, tgt, all_src, all_tgt;
    cli_strs sources;
    int64_t n, cap, *line_of;
} pairs;

static void pairs_free(pairs *pr) {
    cli_syms_free(&pr->src);
    cli_syms_free(&pr->tgt);
    cli_syms_free(&pr->all_src);
    cli_syms_free(&pr->all_tgt);
    cli_strs_free(&pr->sources);
    free(pr->line_of);
}

/* Adds the pair just split into pr->src and pr->tgt, read at line. */
static int add_pair(cli_data *d, pairs *pr, int64_t line) {
    if (pr->n == pr->cap) {
        pr->cap = pr->cap ? 2 * pr->cap : 1024;
        cli_seq *ns = realloc(d->seqs, (size_t)pr->cap * sizeof *ns);
        if (ns) d->seqs = ns;
        int64_t *nlo = realloc(pr->line_of, (size_t)pr->cap * sizeof *nlo);
        if (nlo) pr->line_of = nlo;
        if (!ns || !nlo) return -1;
    }
    /* the group: pairs with the same source text (trimmed) */
    const cli_syms *src = &pr->src, *tgt = &pr->tgt;
    const char *s0 = src->p[0], *s1 = src->p[src->n - 1] + src->len[src->n - 1];
    int64_t group = cli_strs_intern(&pr->sources, s0, (size_t)(s1 - s0));
    if (group < 0) return -1;
    d->seqs[pr->n] = (cli_seq){.off = pr->all_src.n,
                               .len = src->n,
                               .label = group,
                               .tgt_off = pr->all_tgt.n,
                               .tgt_len = tgt->n};
    pr->line_of[pr->n++] = line;
    return cli_syms_append(&pr->all_src, src) || cli_syms_append(&pr->all_tgt, tgt) ? -1 : 0;
}

/* Every "source<TAB>target" line of text into pr and d->seqs. */
static int read_pairs(cli_data *d, const tg_seq2seq_spec *q, char *text, int64_t len, pairs *pr,
                      char *err, size_t errlen) {
    int64_t line = 0;
    for (char *p = text, *end = text + len; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        char *tab = memchr(p, '\t', (size_t)(eol - p));
        const char *what = NULL;
        if (cli_blank(p, eol)) {
            p = eol + 1;
            continue;
        }
        if (!tab)
            what = "expected \"source<TAB>target\", found no tab";
        else if (cli_syms_split(&pr->src, p, tab, q->source) ||
                 cli_syms_split(&pr->tgt, tab + 1, eol, q->target))
            what = "out of memory";
        else if (!pr->src.n || !pr->tgt.n)
            what = pr->src.n ? "the target is empty" : "the source is empty";
        if (what)
            return snprintf(err, errlen, "%s:%lld: %s", d->path, (long long)line + 1, what), -1;
        if (add_pair(d, pr, line)) return snprintf(err, errlen, "%s: out of memory", d->path), -1;
        p = eol + 1;
    }
    if (!pr->n)
        return snprintf(err, errlen, "%s: no pairs (expected lines \"source<TAB>target\")",
                        d->path),
               -1;
    return 0;
}

/* The symbols as ids: sources into d->ids, targets into d->tags. A target
 * symbol the vocabulary lacks (only from a checkpoint's) is an error. */
static int number_pairs(cli_data *d, const pairs *pr, char *err, size_t errlen) {
    const cli_syms *all_src = &pr->all_src, *all_tgt = &pr->all_tgt;
    d->ids = malloc((size_t)all_src->n * sizeof *d->ids);
    d->tags = malloc((size_t)all_tgt->n * sizeof *d->tags);
    if (!d->ids || !d->tags) return snprintf(err, errlen, "%s: out of memory", d->path), -1;
    d->n_ids = all_src->n;
    for (int64_t i = 0; i < all_src->n; i++)
        d->ids[i] = cli_word_id(&d->vocab, all_src->p[i], all_src->len[i]);
    for (int64_t k = 0; k < pr->n; k++)
        for (int64_t i = d->seqs[k].tgt_off; i < d->seqs[k].tgt_off + d->seqs[k].tgt_len; i++) {
            int64_t id = cli_strs_find(&d->vocab.labels, all_tgt->p[i], all_tgt->len[i]);
            if (id < 2) { /* only from a checkpoint's vocabulary; "<s>" itself is no symbol */
                int w = (int)(all_tgt->len[i] < 60 ? all_tgt->len[i] : 60);
                snprintf(err, errlen,
                         "%s:%lld: target symbol '%.*s' is not in the model's target "
                         "vocabulary",
                         d->path, (long long)pr->line_of[k] + 1, w, all_tgt->p[i]);
                return -1;
            }
            d->tags[i] = id;
        }
    return 0;
}

static int load(cli_data *d, const tg_spec *s, char *text, int64_t len, const cli_vocab *known,
                double valid_fraction, char *err, size_t errlen) {
    pairs pr = {0};
    int rc = read_pairs(d, &s->seq2seq, text, len, &pr, err, errlen);
    if (!rc) {
        d->n_seqs = pr.n;
        d->n_train = cli_split(pr.n, valid_fraction);
    }
    if (!rc && !known) { /* sources by their training pairs, targets by every pair */
        int64_t train_syms = d->n_train < pr.n ? d->seqs[d->n_train].off : pr.all_src.n;
        if (cli_words_build(&d->vocab, d->path, pr.all_src.p, pr.all_src.len, train_syms, 0, err,
                            errlen) ||
            targets_build(&d->vocab, d->path, &pr.all_tgt, err, errlen))
            rc = -1;
    }
    if (!rc) rc = number_pairs(d, &pr, err, errlen);
    pairs_free(&pr);
    return rc;
}

static int fill(const cli_data *d, const tg_spec *s, const int64_t *idx, int64_t B, cli_batch *b,
                char *err, size_t errlen) {
    (void)s;
    int64_t S = 1, T = 1;
    for (int64_t j = 0; j < B; j++) {
        const cli_seq *q = &d->seqs[idx[j]];
        if (q->len > S) S = q->len;
        if (q->tgt_len + 1 > T) T = q->tgt_len + 1;
    }
    if (cli_batch_reserve(b, S > T ? S : T, B, 1, 1)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    b->T = S, b->B = B, b->target_T = T, b->reset = false, b->count = 0;
    for (int64_t j = 0; j < B; j++) {
        const cli_seq *q = &d->seqs[idx[j]];
        for (int64_t t = 0; t < S; t++) b->ids[j * S + t] = t < q->len ? d->ids[q->off + t] : 0;
        for (int64_t t = 0; t < T; t++) /* the end marker, then more as padding */
            b->targets[j * T + t] = t < q->tgt_len ? d->tags[q->tgt_off + t] : 1;
        b->len_buf[j] = q->len, b->target_lengths[j] = q->tgt_len + 1;
        b->count += q->tgt_len + 1;
    }
    b->lengths = b->len_buf;
    return 0;
}

const cli_reader cli_pairs_reader = {.task = TG_TASK_SEQ2SEQ, .load = load, .fill = fill};
