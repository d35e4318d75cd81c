/* Grapheme-to-phoneme conversion on CMUdict with an attention
 * encoder-decoder: spelling in, pronunciation out (AARDVARK -> AA R D V AA R
 * K). A bidirectional LSTM reads the letters, an LSTM decoder with additive
 * (Bahdanau) attention writes the phonemes.
 *
 * Data: examples/g2p/cmudict.txt (make g2p fetches it). Words made of
 * letters and apostrophes only; stress digits removed (the 39-phoneme set of
 * the published CMUdict results) unless --stress. The split is fixed: the
 * distinct words, shuffled by tg_rng seeded 20150601, give the test set (the
 * first 12,000), the development set (the next 3,000) and the training set
 * (the rest, every pronunciation a training pair). A word with several
 * pronunciations is right if the output matches any of them; its phoneme
 * errors are the edit distance to the closest one, divided by that one's
 * length (PER = sum of distances / sum of lengths).
 *
 *   g2p DICT [--minutes M] [--epochs N] [--hidden H] [--embed E] [--attn A] [--batch B]
 *            [--lr LR] [--dropout P] [--sampling P] [--beam K] [--threads N]
 *            [--stress] [--out DIR] [--load CKPT] [--seed S]
 *
 * Trains until M minutes or N epochs have passed (evaluating on the
 * development set after every epoch and keeping the best parameters), then
 * reports PER and WER on the test set with greedy decoding and with beam
 * search, the training time, and a few words with their attention maps
 * (DIR/attention-WORD.svg). --load CKPT skips training and evaluates a
 * saved checkpoint; the best parameters are saved as DIR/g2p.safetensors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tapegrad.h"

enum { BOS = 0, EOS = 1, FIRST_PHONE = 2, MAX_PHONES = 128, SRC_VOCAB = 27 };
#define SPLIT_SEED 20150601u
#define N_TEST 12000
#define N_DEV 3000

typedef struct pron {
    int64_t *ph;
    int64_t n;
} pron;

typedef struct word {
    char *text;
    int64_t *src; /* letter ids */
    int64_t n;
    pron *prons;
    int n_prons;
    const char *split; /* "test", "dev" or "train" */
} word;

typedef struct data {
    word *w;
    int64_t n;
    char *phone[MAX_PHONES]; /* target id -> symbol */
    int64_t n_phone;         /* target vocabulary, markers included */
} data;

typedef struct config {
    double minutes, lr, dropout, sampling;
    int epochs, hidden, embed, attn, batch, beam, threads;
    bool stress;
    const char *out, *load;
    uint64_t seed;
} config;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "g2p: out of memory\n");
        exit(1);
    }
    return p;
}

static int64_t letter_id(char c) {
    return c == '\'' ? 26 : c - 'A';
}

static int64_t phone_id(data *d, const char *sym) {
    for (int64_t i = FIRST_PHONE; i < d->n_phone; i++)
        if (!strcmp(d->phone[i], sym)) return i;
    if (d->n_phone == MAX_PHONES) {
        fprintf(stderr, "g2p: more than %d phone symbols\n", MAX_PHONES);
        exit(1);
    }
    d->phone[d->n_phone] = strcpy(xmalloc(strlen(sym) + 1), sym);
    return d->n_phone++;
}

/* Reads "WORD  PH PH ..." lines; "WORD(1)" adds a pronunciation to WORD. */
static int load_dict(const char *path, bool stress, data *d) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    *d = (data){0};
    d->phone[BOS] = "<s>", d->phone[EOS] = "</s>";
    d->n_phone = FIRST_PHONE;
    int64_t cap = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *sp = strstr(line, "  ");
        if (!sp || line[0] == ';') continue;
        *sp = 0;
        char *alt = strchr(line, '(');
        if (alt) *alt = 0;
        bool ok = line[0] != 0;
        for (char *c = line; *c; c++) ok &= (*c >= 'A' && *c <= 'Z') || *c == '\'';
        if (!ok) continue;
        if (!(d->n && !strcmp(d->w[d->n - 1].text, line))) { /* a new word */
            if (d->n == cap) {
                cap = cap ? 2 * cap : 1024;
                d->w = realloc(d->w, (size_t)cap * sizeof *d->w);
                if (!d->w) exit(1);
            }
            word *w = &d->w[d->n++];
            *w =
                (word){.text = strcpy(xmalloc(strlen(line) + 1), line), .n = (int64_t)strlen(line)};
            w->src = xmalloc((size_t)w->n * sizeof *w->src);
            for (int64_t i = 0; i < w->n; i++) w->src[i] = letter_id(line[i]);
        }
        word *w = &d->w[d->n - 1];
        pron p = {xmalloc(64 * sizeof *p.ph), 0};
        for (char *tok = strtok(sp + 2, " \r\n"); tok && p.n < 64; tok = strtok(NULL, " \r\n")) {
            if (!stress)
                for (char *c = tok; *c; c++)
                    if (*c >= '0' && *c <= '9') *c = 0;
            p.ph[p.n++] = phone_id(d, tok);
        }
        if (p.n == 0) {
            free(p.ph);
            continue;
        }
        w->prons = realloc(w->prons, (size_t)(w->n_prons + 1) * sizeof *w->prons);
        w->prons[w->n_prons++] = p;
    }
    fclose(f);
    return 0;
}

/* ---- the split and the batches ------------------------------------------------- */

static void shuffle(int64_t *a, int64_t n, tg_rng *r) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)tg_rng_below(r, (uint64_t)i + 1), x = a[i];
        a[i] = a[j], a[j] = x;
    }
}

typedef struct pair {
    int64_t w, p; /* word, pronunciation */
    uint64_t key; /* sort key: source length, then a random tie-break */
} pair;

static int by_key(const void *a, const void *b) {
    uint64_t x = ((const pair *)a)->key, y = ((const pair *)b)->key;
    return x < y ? -1 : x > y;
}

/* Fills the [B, S] and [B, T] arrays of a batch of pairs. */
static tg_s2s_batch make_batch(const data *d, const pair *ps, int64_t B, int64_t *src,
                               int64_t *src_len, int64_t *tgt, int64_t *tgt_len) {
    int64_t S = 1, T = 1;
    for (int64_t i = 0; i < B; i++) {
        const word *w = &d->w[ps[i].w];
        if (w->n > S) S = w->n;
        if (w->prons[ps[i].p].n + 1 > T) T = w->prons[ps[i].p].n + 1;
    }
    for (int64_t i = 0; i < B; i++) {
        const word *w = &d->w[ps[i].w];
        const pron *p = &w->prons[ps[i].p];
        src_len[i] = w->n, tgt_len[i] = p->n + 1;
        for (int64_t s = 0; s < S; s++) src[i * S + s] = s < w->n ? w->src[s] : 0;
        for (int64_t s = 0; s < T; s++) tgt[i * T + s] = s < p->n ? p->ph[s] : EOS;
    }
    return (tg_s2s_batch){B, S, T, src, src_len, tgt, tgt_len};
}

/* ---- evaluation -------------------------------------------------------------- */

typedef struct scores {
    int64_t errors, phones, wrong, words;
} scores;

static void score_word(const word *w, const int64_t *hyp, int64_t n, scores *s) {
    int64_t best = -1, len = 0;
    for (int k = 0; k < w->n_prons; k++) {
        int64_t e = tg_edit_distance(hyp, n, w->prons[k].ph, w->prons[k].n);
        if (best < 0 || e < best || (e == best && w->prons[k].n < len))
            best = e, len = w->prons[k].n;
    }
    s->errors += best, s->phones += len;
    s->wrong += best != 0, s->words++;
}

/* Decodes words ids[0..n) (greedy, or beam search with width > 1) in
 * batches; scores them if s, and keeps the output of the first `keep` in
 * outs (callers free). */
static int decode(tg_tape *t, tg_seq2seq *m, const data *d, const int64_t *ids, int64_t n, int beam,
                  bool attention, scores *s, tg_s2s_output *outs) {
    enum { CHUNK = 256 };
    int64_t *src = NULL, *len = xmalloc(CHUNK * sizeof *len);
    for (int64_t at = 0; at < n; at += CHUNK) {
        int64_t B = n - at < CHUNK ? n - at : CHUNK, S = 1;
        for (int64_t i = 0; i < B; i++)
            if (d->w[ids[at + i]].n > S) S = d->w[ids[at + i]].n;
        src = realloc(src, (size_t)(B * S) * sizeof *src);
        for (int64_t i = 0; i < B; i++) {
            const word *w = &d->w[ids[at + i]];
            len[i] = w->n;
            for (int64_t j = 0; j < S; j++) src[i * S + j] = j < w->n ? w->src[j] : 0;
        }
        tg_tape_reset(t);
        tg_s2s_output o;
        int64_t max_len = 2 * S + 5;
        int rc = beam > 1 ? tg_seq2seq_beam(t, m, src, len, B, S,
                                            (tg_beam_options){beam, 1.0, max_len, attention}, &o)
                          : tg_seq2seq_greedy(t, m, src, len, B, S, max_len, attention, &o);
        if (rc != 0) {
            fprintf(stderr, "g2p: decoding failed: %s\n", tg_tape_error(t));
            free(src), free(len);
            return -1;
        }
        for (int64_t i = 0; s && i < B; i++)
            score_word(&d->w[ids[at + i]], o.tokens + i * o.max_len, o.lengths[i], s);
        if (outs && at == 0)
            *outs = o;
        else
            tg_s2s_output_free(&o);
    }
    free(src), free(len);
    return 0;
}

static void report(const char *what, const scores *s) {
    printf("%-28s PER %6.2f%%   WER %6.2f%%   (%lld words)\n", what,
           100.0 * (double)s->errors / (double)s->phones,
           100.0 * (double)s->wrong / (double)s->words, (long long)s->words);
}

/* ---- main ------------------------------------------------------------------------- */

static int parse(int argc, char **argv, config *c, const char **dict) {
    *c = (config){.minutes = 50,
                  .lr = 2e-3,
                  .dropout = 0.2,
                  .epochs = 1000,
                  .hidden = 256,
                  .embed = 64,
                  .attn = 64,
                  .batch = 64,
                  .beam = 5,
                  .threads = 1,
                  .out = "g2p-out",
                  .seed = 1};
    *dict = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool has = v != NULL;
        if (!strcmp(a, "--stress"))
            c->stress = true;
        else if (!strcmp(a, "--minutes") && has)
            c->minutes = atof(v), i++;
        else if (!strcmp(a, "--epochs") && has)
            c->epochs = atoi(v), i++;
        else if (!strcmp(a, "--hidden") && has)
            c->hidden = atoi(v), i++;
        else if (!strcmp(a, "--embed") && has)
            c->embed = atoi(v), i++;
        else if (!strcmp(a, "--attn") && has)
            c->attn = atoi(v), i++;
        else if (!strcmp(a, "--batch") && has)
            c->batch = atoi(v), i++;
        else if (!strcmp(a, "--lr") && has)
            c->lr = atof(v), i++;
        else if (!strcmp(a, "--dropout") && has)
            c->dropout = atof(v), i++;
        else if (!strcmp(a, "--sampling") && has)
            c->sampling = atof(v), i++;
        else if (!strcmp(a, "--beam") && has)
            c->beam = atoi(v), i++;
        else if (!strcmp(a, "--threads") && has)
            c->threads = atoi(v), i++;
        else if (!strcmp(a, "--out") && has)
            c->out = v, i++;
        else if (!strcmp(a, "--load") && has)
            c->load = v, i++;
        else if (!strcmp(a, "--seed") && has)
            c->seed = strtoull(v, NULL, 10), i++;
        else if (a[0] != '-' && !*dict)
            *dict = a;
        else {
            fprintf(stderr, "g2p: unknown or incomplete option '%s'\n", a);
            return -1;
        }
    }
    if (!*dict || c->hidden < 1 || c->embed < 1 || c->batch < 1 || c->beam < 1) {
        fprintf(stderr, "usage: g2p DICT [--minutes M] [--epochs N] [--hidden H] [--embed E] "
                        "[--attn A] [--batch B] [--lr LR] [--dropout P] [--sampling P] [--beam K] "
                        "[--threads N] [--stress] [--out DIR] [--load CKPT] [--seed S]\n");
        return -1;
    }
    return 0;
}

/* The decoded words of `show` with their attention maps. */
static void show_examples(tg_tape *t, tg_seq2seq *m, const data *d, const config *c,
                          const char *const *show, int n_show) {
    int64_t ids[16];
    int n = 0;
    for (int i = 0; i < n_show && n < 16; i++)
        for (int64_t w = 0; w < d->n; w++)
            if (!strcmp(d->w[w].text, show[i])) ids[n++] = w;
    tg_s2s_output o;
    if (n == 0 || decode(t, m, d, ids, n, c->beam, true, NULL, &o) != 0) return;
    for (int i = 0; i < n; i++) {
        const word *w = &d->w[ids[i]];
        const int64_t *tok = o.tokens + i * o.max_len;
        printf("  %-14s %-5s ->", w->text, w->split);
        for (int64_t j = 0; j < o.lengths[i]; j++) printf(" %s", d->phone[tok[j]]);
        printf("   (dictionary:");
        for (int64_t j = 0; j < w->prons[0].n; j++) printf(" %s", d->phone[w->prons[0].ph[j]]);
        printf(")\n");
        if (!o.attention) continue;
        const char *src[64], *tgt[130];
        char letters[64][2];
        for (int64_t j = 0; j < w->n && j < 64; j++) {
            letters[j][0] = w->text[j], letters[j][1] = 0;
            src[j] = letters[j];
        }
        int64_t rows = o.lengths[i] + 1;
        for (int64_t j = 0; j < rows && j < 130; j++)
            tgt[j] = j < o.lengths[i] ? d->phone[tok[j]] : "</s>";
        char path[512], err[256], name[64];
        snprintf(name, sizeof name, "%s", w->text);
        for (char *p = name; *p; p++)
            if (*p == '\'') *p = '_'; /* no quotes in file names */
        snprintf(path, sizeof path, "%s/attention-%s.svg", c->out, name);
        if (tg_attention_svg(path, w->n, src, rows, tgt, o.attention + i * (o.max_len + 1) * o.S,
                             o.S, err, sizeof err) != 0)
            fprintf(stderr, "g2p: %s\n", err);
        else
            printf("  %16s    attention map: %s\n", "", path);
    }
    tg_s2s_output_free(&o);
}

int main(int argc, char **argv) {
    config c;
    const char *dict;
    if (parse(argc, argv, &c, &dict) != 0) return 2;
    tg_set_threads(c.threads);
    mkdir(c.out, 0755);
    data d;
    if (load_dict(dict, c.stress, &d) != 0) return 1;
    if (d.n < N_TEST + N_DEV + 1000) {
        fprintf(stderr, "g2p: %s: only %lld words\n", dict, (long long)d.n);
        return 1;
    }
    /* the fixed split */
    int64_t *order = xmalloc((size_t)d.n * sizeof *order);
    for (int64_t i = 0; i < d.n; i++) order[i] = i;
    tg_rng split;
    tg_rng_seed(&split, SPLIT_SEED);
    shuffle(order, d.n, &split);
    const int64_t *test = order, *dev = order + N_TEST, *train_w = order + N_TEST + N_DEV;
    int64_t n_train_w = d.n - N_TEST - N_DEV, n_pairs = 0;
    for (int64_t i = 0; i < d.n; i++)
        d.w[order[i]].split = i < N_TEST ? "test" : i < N_TEST + N_DEV ? "dev" : "train";
    for (int64_t i = 0; i < n_train_w; i++) n_pairs += d.w[train_w[i]].n_prons;
    pair *pairs = xmalloc((size_t)n_pairs * sizeof *pairs);
    n_pairs = 0;
    for (int64_t i = 0; i < n_train_w; i++)
        for (int k = 0; k < d.w[train_w[i]].n_prons; k++)
            pairs[n_pairs++] = (pair){train_w[i], k, 0};
    printf("CMUdict: %lld words, %lld phone symbols%s; test %d, dev %d, train %lld words "
           "(%lld pairs)\n",
           (long long)d.n, (long long)(d.n_phone - FIRST_PHONE), c.stress ? " (with stress)" : "",
           N_TEST, N_DEV, (long long)n_train_w, (long long)n_pairs);

    tg_rng init;
    tg_rng_seed(&init, c.seed);
    tg_seq2seq_options mo = {.src_vocab = SRC_VOCAB,
                             .tgt_vocab = d.n_phone,
                             .embed_size = c.embed,
                             .encoder_mode = TG_LSTM,
                             .decoder_mode = TG_LSTM,
                             .encoder_hidden = c.hidden / 2,
                             .decoder_hidden = c.hidden,
                             .bidirectional = true,
                             .attention = TG_ATTN_ADDITIVE,
                             .attention_size = c.attn,
                             .context = TG_CONTEXT_BOTH,
                             .dropout = c.dropout,
                             .bos = BOS,
                             .eos = EOS,
                             .seed = c.seed};
    char err[512];
    tg_seq2seq *m = tg_seq2seq_new(mo, &init, err, sizeof err);
    if (!m) {
        fprintf(stderr, "g2p: %s\n", err);
        return 1;
    }
    const tg_params *P = tg_module_params(&m->base);
    printf("model: bidirectional LSTM encoder %d+%d, LSTM decoder %d, additive attention %d, "
           "embeddings %d, dropout %g: %lld parameters\n",
           c.hidden / 2, c.hidden / 2, c.hidden, c.attn, c.embed, c.dropout,
           (long long)tg_module_numel(&m->base));
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s/g2p.safetensors", c.out);
    tg_tape *t = tg_tape_new();
    double train_seconds = 0;
    if (c.load) {
        if (tg_params_load(P, c.load, err, sizeof err) != 0) {
            fprintf(stderr, "g2p: %s\n", err);
            return 1;
        }
        printf("loaded %s\n", c.load);
    } else {
        tg_tensor **params = xmalloc((size_t)P->n * sizeof *params);
        for (int i = 0; i < P->n; i++) params[i] = P->items[i].tensor;
        tg_optim *opt = tg_optim_adam(params, P->n, (tg_adam_options){.lr = c.lr});
        if (tg_optim_error(opt)) {
            fprintf(stderr, "g2p: %s\n", tg_optim_error(opt));
            return 1;
        }
        int64_t B = c.batch, max_s = 1;
        for (int64_t i = 0; i < d.n; i++) {
            if (d.w[i].n > max_s) max_s = d.w[i].n;
            for (int k = 0; k < d.w[i].n_prons; k++)
                if (d.w[i].prons[k].n + 1 > max_s) max_s = d.w[i].prons[k].n + 1;
        }
        int64_t *src = xmalloc((size_t)(B * max_s) * sizeof *src),
                *tgt = xmalloc((size_t)(B * max_s) * sizeof *tgt);
        int64_t *src_len = xmalloc((size_t)B * sizeof *src_len),
                *tgt_len = xmalloc((size_t)B * sizeof *tgt_len);
        int64_t n_batches = (n_pairs + B - 1) / B,
                *border = xmalloc((size_t)n_batches * sizeof *border);
        tg_rng r;
        tg_rng_seed(&r, c.seed + 7);
        double start = now(), best_wer = 2, lr = c.lr;
        int64_t step = 0, bad_epochs = 0;
        for (int epoch = 1; epoch <= c.epochs; epoch++) {
            /* batches of similar source length, in random order */
            for (int64_t i = 0; i < n_pairs; i++)
                pairs[i].key = ((uint64_t)d.w[pairs[i].w].n << 32) | (tg_rng_u64(&r) >> 32);
            qsort(pairs, (size_t)n_pairs, sizeof *pairs, by_key);
            for (int64_t i = 0; i < n_batches; i++) border[i] = i;
            shuffle(border, n_batches, &r);
            tg_module_train(&m->base, true);
            double loss_sum = 0, epoch_start = now();
            int64_t tokens = 0, done_batches = 0;
            bool out_of_time = false;
            for (int64_t bi = 0; bi < n_batches; bi++) {
                int64_t at = border[bi] * B, nb = n_pairs - at < B ? n_pairs - at : B;
                tg_s2s_batch b = make_batch(&d, pairs + at, nb, src, src_len, tgt, tgt_len);
                tg_tape_reset(t);
                tg_tensor *loss = tg_seq2seq_loss(t, m, &b, c.sampling);
                tg_optim_zero_grad(opt);
                if (!loss || tg_backward(t, loss) != 0) {
                    fprintf(stderr, "g2p: %s\n", tg_tape_error(t));
                    return 1;
                }
                if (tg_clip_grad_norm(params, P->n, 5.0, 2, NULL, NULL, 0) == TG_CLIP_OK)
                    tg_optim_step(opt);
                int64_t ntok = 0;
                for (int64_t i = 0; i < nb; i++) ntok += tgt_len[i];
                loss_sum += (double)loss->data[0] * (double)ntok, tokens += ntok;
                step++, done_batches++;
                if (bi % 200 == 199) {
                    printf("  epoch %d  batch %lld/%lld  loss %.4f  %.0f s\n", epoch,
                           (long long)bi + 1, (long long)n_batches, loss_sum / (double)tokens,
                           now() - start);
                    fflush(stdout);
                }
                if (now() - start > 60 * c.minutes) {
                    out_of_time = true;
                    break;
                }
            }
            train_seconds = now() - start;
            tg_module_train(&m->base, false);
            scores s = {0};
            if (decode(t, m, &d, dev, N_DEV, 1, false, &s, NULL) != 0) return 1;
            double wer = (double)s.wrong / (double)s.words;
            printf("epoch %d: %lld batches, loss %.4f, %.0f s (%.0f s total); dev PER %.2f%% "
                   "WER %.2f%%%s\n",
                   epoch, (long long)done_batches, loss_sum / (double)tokens, now() - epoch_start,
                   train_seconds, 100.0 * (double)s.errors / (double)s.phones, 100 * wer,
                   wer < best_wer ? " (best so far, saved)" : "");
            fflush(stdout);
            if (wer < best_wer) {
                best_wer = wer, bad_epochs = 0;
                if (tg_params_save(P, ckpt, err, sizeof err) != 0) {
                    fprintf(stderr, "g2p: %s\n", err);
                    return 1;
                }
            } else if (++bad_epochs >= 1) { /* no better on dev: halve the rate */
                lr *= 0.5;
                tg_optim_set_lr(opt, lr);
                printf("  learning rate now %g\n", lr);
            }
            if (out_of_time) break;
        }
        train_seconds = now() - start;
        printf("training: %.1f minutes, %lld steps\n", train_seconds / 60, (long long)step);
        if (tg_params_load(P, ckpt, err, sizeof err) != 0) {
            fprintf(stderr, "g2p: %s\n", err);
            return 1;
        }
        tg_optim_free(opt);
        free(params), free(src), free(tgt), free(src_len), free(tgt_len), free(border);
    }
    tg_module_train(&m->base, false);
    scores greedy = {0}, beam = {0};
    double t0 = now();
    if (decode(t, m, &d, test, N_TEST, 1, false, &greedy, NULL) != 0) return 1;
    double t1 = now();
    if (c.beam > 1 && decode(t, m, &d, test, N_TEST, c.beam, false, &beam, NULL) != 0) return 1;
    double t2 = now();
    printf("\ntest set (%d words):\n", N_TEST);
    report("greedy", &greedy);
    printf("%-28s %.1f s\n", "  decoding time", t1 - t0);
    if (c.beam > 1) {
        char what[64];
        snprintf(what, sizeof what, "beam %d", c.beam);
        report(what, &beam);
        printf("%-28s %.1f s\n", "  decoding time", t2 - t1);
    }
    if (!c.load)
        printf("training time: %.1f minutes on %d thread(s)\n", train_seconds / 60, c.threads);
    printf("\nsome words (beam %d; the first five from the test set) and attention maps:\n",
           c.beam);
    const char *show_words[] = {"AARDVARK", "PHOENIX", "THOUGHTFULLY", "QUEUE", "KNIGHT"};
    /* test words first: the first few of the test set, then fixed ones */
    const char *shown[10];
    int n_shown = 0;
    for (int i = 0; i < 5; i++) shown[n_shown++] = d.w[test[i]].text;
    for (int i = 0; i < 5; i++) shown[n_shown++] = show_words[i];
    show_examples(t, m, &d, &c, shown, n_shown);
    tg_tape_free(t);
    tg_module_free(&m->base);
    for (int64_t i = 0; i < d.n; i++) {
        for (int k = 0; k < d.w[i].n_prons; k++) free(d.w[i].prons[k].ph);
        free(d.w[i].prons), free(d.w[i].src), free(d.w[i].text);
    }
    for (int64_t i = FIRST_PHONE; i < d.n_phone; i++) free(d.phone[i]);
    free(d.w), free(order), free(pairs);
    return 0;
}
