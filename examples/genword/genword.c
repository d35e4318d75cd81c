/* Generate a word in a language: one-to-many, a vector to a sequence.
 *
 *   genword SPEC DATA_DIR [--modes none,init,input] [--steps N] [--samples K]
 *           [--eval-words N] [--out DIR]
 *
 * DATA_DIR is the langid data (train.tsv, dev.tsv, test.tsv: lines
 * "language<TAB>word"; make langid-data writes it). SPEC is a language-model
 * spec (embedding, lstm, linear "vocab"): its layer sizes, optimizer,
 * train.batch, train.steps and train.seed are used. The conditioning of the
 * LSTM on the language is not something a spec can say (its models read
 * tokens or vectors, not a vector that sets the initial state), so this
 * program builds the model from nn modules itself (genword.h) and trains
 * each conditioning mode in turn:
 *
 *   none   no language (the baseline: a model of all the languages' words)
 *   init   the language's one-hot vector gives the initial state (h0, c0)
 *   input  the one-hot vector is part of the input at every step
 *
 * For each it reports the development set's bits per character, the test
 * accuracy of the model used as a classifier (the language under which the
 * word is most likely; on the first N test words, default 2000), and how
 * many of K (default 50) sampled words per language the
 * langid trigram classifier (langid.h) assigns to the intended language and
 * how many are new words (not in the training split). It prints 10 words
 * per language at temperatures 0.5 and 1.0, and writes DIR/samples-MODE.txt
 * and the parameters as DIR/genword-MODE.safetensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../langid/langid.h"
#include "genword.h"
#include "tapegrad.h"

typedef struct wordset {
    int n;
    int64_t (*ids)[GW_MAX_LEN];
    int *len, *lang;
} wordset;

static int encode_set(const lid_set *s, gw_vocab *v, bool add, wordset *w) {
    w->ids = malloc((size_t)s->n * sizeof *w->ids);
    w->len = malloc((size_t)s->n * sizeof *w->len);
    w->lang = malloc((size_t)s->n * sizeof *w->lang);
    w->n = 0;
    if (!w->ids || !w->len || !w->lang) return -1;
    for (int i = 0; i < s->n; i++) {
        int n = gw_encode(v, s->items[i].word, w->ids[w->n], add);
        if (n <= 0) continue; /* a letter the training words never had */
        w->len[w->n] = n, w->lang[w->n] = s->items[i].lang;
        w->n++;
    }
    return 0;
}

static void wordset_free(wordset *w) {
    free(w->ids);
    free(w->len);
    free(w->lang);
}

/* The batch of words idx[0..B) of w, optionally all in language force. */
static int batch_of(const wordset *w, const int *idx, int B, int force, gw_batch *b) {
    int64_t *words[512];
    int len[512], lang[512];
    for (int i = 0; i < B; i++) {
        words[i] = w->ids[idx[i]];
        len[i] = w->len[idx[i]];
        lang[i] = force >= 0 ? force : w->lang[idx[i]];
    }
    return gw_batch_make(b, B, words, len, lang);
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Mean bits per character (end marker included) over w. */
static double bits_per_char(tg_tape *t, gw_model *m, const wordset *w) {
    double nats = 0, chars = 0, nll[256];
    int idx[256];
    for (int i = 0; i < w->n; i += 256) {
        int B = w->n - i < 256 ? w->n - i : 256;
        for (int k = 0; k < B; k++) idx[k] = i + k;
        gw_batch b = {0};
        tg_tape_reset(t);
        if (batch_of(w, idx, B, -1, &b) || gw_word_nll(t, m, &b, nll)) return NAN;
        for (int k = 0; k < B; k++) nats += nll[k], chars += b.lengths[k];
        gw_batch_free(&b);
    }
    return nats / chars / log(2);
}

/* The model as a classifier: each word goes to the language under which it
 * is most likely. Fills the confusion matrix; returns the accuracy. */
static double generative_accuracy(tg_tape *t, gw_model *m, const wordset *w, lid_confusion *c) {
    memset(c, 0, sizeof *c);
    double nll[256], best[256];
    int idx[256], guess[256];
    for (int i = 0; i < w->n; i += 256) {
        int B = w->n - i < 256 ? w->n - i : 256;
        for (int k = 0; k < B; k++) idx[k] = i + k, best[k] = INFINITY, guess[k] = 0;
        for (int l = 0; l < LID_NLANG; l++) {
            gw_batch b = {0};
            tg_tape_reset(t);
            if (batch_of(w, idx, B, l, &b) || gw_word_nll(t, m, &b, nll)) return NAN;
            for (int k = 0; k < B; k++)
                if (nll[k] < best[k]) best[k] = nll[k], guess[k] = l;
            gw_batch_free(&b);
        }
        for (int k = 0; k < B; k++) c->m[w->lang[i + k]][guess[k]]++;
    }
    return lid_accuracy(c);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    const char *spec_path = NULL, *data = NULL, *out = "genword-out", *modes = "none,init,input";
    long steps = -1, samples = 50, eval_words = 2000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--modes") && i + 1 < argc)
            modes = argv[++i];
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atol(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atol(argv[++i]);
        else if (!strcmp(argv[i], "--eval-words") && i + 1 < argc)
            eval_words = atol(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-' && !spec_path)
            spec_path = argv[i];
        else if (argv[i][0] != '-' && !data)
            data = argv[i];
        else {
            fprintf(stderr, "genword: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!spec_path || !data || samples < 10 || eval_words < 1) {
        fprintf(stderr, "usage: genword SPEC DATA_DIR [--modes none,init,input] [--steps N] "
                        "[--samples K>=10] [--eval-words N] [--out DIR]\n");
        return 2;
    }
    char err[512] = "";
    tg_spec *s = tg_spec_load(spec_path, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int last = s->n_layers - 1;
    if (s->task != TG_TASK_LANGUAGE_MODEL || s->n_layers != 3 ||
        s->layers[0].type != TG_LAYER_EMBEDDING || s->layers[1].type != TG_LAYER_LSTM ||
        s->layers[1].num_layers != 1 || s->layers[1].bidirectional ||
        s->layers[last].type != TG_LAYER_LINEAR) {
        fprintf(stderr,
                "%s: genword needs a language_model spec with the layers embedding, "
                "lstm (one layer, one direction), linear\n",
                spec_path);
        return 2;
    }
    if (steps < 0) steps = (long)s->train.steps;
    char path[4096];
    lid_set sets[3] = {{0}};
    static const char *const names[3] = {"train.tsv", "dev.tsv", "test.tsv"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", data, names[k]);
        if (lid_set_load(&sets[k], path) != 0) return 1;
    }
    gw_vocab voc;
    gw_vocab_init(&voc);
    wordset train, dev, test;
    if (encode_set(&sets[0], &voc, true, &train) || encode_set(&sets[1], &voc, false, &dev) ||
        encode_set(&sets[2], &voc, false, &test))
        return 1;
    if (test.n > eval_words) test.n = (int)eval_words; /* the split is shuffled: a fair sample */
    mkdir(out, 0777);
    printf("%d training words, %d letters; %d dev words; %d test words for the classifier\n",
           train.n, voc.n - 1, dev.n, test.n);
    /* the training words, sorted, to tell new words from remembered ones */
    char **known = malloc((size_t)sets[0].n * sizeof *known);
    for (int i = 0; i < sets[0].n; i++) known[i] = sets[0].items[i].word;
    qsort(known, (size_t)sets[0].n, sizeof *known, cmp_str);
    lid_nb judge; /* the trigram baseline of langid judges the samples */
    if (lid_nb_train(&judge, 3, &sets[0]) != 0) return 1;

    int64_t B = s->train.batch > 512 ? 512 : s->train.batch;
    tg_tape *tape = tg_tape_new();
    for (const char *p = modes; *p;) {
        size_t n = strcspn(p, ",");
        gw_mode mode = GW_NONE;
        bool found = false;
        for (int k = 0; k < 3; k++)
            if (strlen(gw_mode_names[k]) == n && !strncmp(p, gw_mode_names[k], n))
                mode = (gw_mode)k, found = true;
        if (!found) {
            fprintf(stderr, "genword: unknown mode '%.*s' (none, init, input)\n", (int)n, p);
            return 2;
        }
        p += n + (p[n] == ',');

        tg_rng rng;
        tg_rng_seed(&rng, s->train.seed);
        gw_model *m = gw_model_new(mode, voc.n, s->layers[0].dim, s->layers[1].hidden, LID_NLANG,
                                   &rng, err, sizeof err);
        if (!m) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        tg_tensor **ps = malloc((size_t)m->params.n * sizeof *ps);
        for (int i = 0; i < m->params.n; i++) ps[i] = m->params.items[i].tensor;
        tg_optim *opt = tg_optim_spec_build(&s->optim, ps, m->params.n);
        printf("\n== mode %s: %lld parameters, %ld steps of %lld words\n", gw_mode_names[mode],
               (long long)tg_params_numel(&m->params), steps, (long long)B);
        double t0 = seconds(), run = 0;
        int idx[512];
        for (long step = 0; step < steps; step++) {
            for (int64_t k = 0; k < B; k++) idx[k] = (int)tg_rng_below(&rng, (uint64_t)train.n);
            gw_batch b = {0};
            tg_tape_reset(tape);
            if (batch_of(&train, idx, (int)B, -1, &b)) return 1;
            tg_tensor *loss = gw_loss(tape, m, &b, TG_MEAN);
            tg_optim_zero_grad(opt);
            if (!loss || tg_backward(tape, loss) != 0) {
                fprintf(stderr, "genword: %s\n", tg_tape_error(tape));
                return 1;
            }
            if (tg_optim_spec_prepare(&s->optim, opt, (int)step, NULL, err, sizeof err) ==
                TG_CLIP_OK)
                tg_optim_step(opt);
            run = step ? 0.98 * run + 0.02 * tg_at(loss, 0) : tg_at(loss, 0);
            if ((step + 1) % 250 == 0 || step + 1 == steps)
                printf("step %5ld  loss %.3f nats/char  %.0fs\n", step + 1, run, seconds() - t0);
            gw_batch_free(&b);
            fflush(stdout);
        }
        double train_s = seconds() - t0;
        snprintf(path, sizeof path, "%s/genword-%s.safetensors", out, gw_mode_names[mode]);
        if (tg_params_save(&m->params, path, err, sizeof err) != 0)
            fprintf(stderr, "genword: %s\n", err);

        double bpc = bits_per_char(tape, m, &dev);
        printf("dev: %.3f bits per character\n", bpc);
        if (mode != GW_NONE) {
            lid_confusion c;
            double acc = generative_accuracy(tape, m, &test, &c);
            printf("as a classifier (most likely language): test accuracy %.1f%%\n", 100 * acc);
        }
        snprintf(path, sizeof path, "%s/samples-%s.txt", out, gw_mode_names[mode]);
        FILE *f = fopen(path, "w");
        static const double temps[2] = {0.5, 1.0};
        for (int ti = 0; ti < 2; ti++) {
            long judged_right = 0, novel = 0, total = 0;
            tg_rng sr;
            tg_rng_seed(&sr, 1000 + (uint64_t)ti);
            printf("temperature %.1f:\n", temps[ti]);
            for (int l = 0; l < LID_NLANG; l++) {
                if (mode == GW_NONE && l > 0) break; /* one model of all languages */
                printf("  %-10s", mode == GW_NONE ? "(any)" : lid_langs[l].name);
                for (long k = 0; k < samples; k++) {
                    char word[4 * GW_MAX_LEN + 1], *wp = word;
                    do { /* an empty word is drawn again */
                        tg_tape_reset(tape);
                        if (gw_sample(tape, m, &voc, l, temps[ti], &sr, word, sizeof word) < 0) {
                            fprintf(stderr, "genword: %s\n", tg_tape_error(tape));
                            return 1;
                        }
                    } while (!word[0]);
                    double score[LID_NLANG];
                    judged_right += lid_nb_predict(&judge, word, score) == l;
                    novel += !bsearch(&wp, known, (size_t)sets[0].n, sizeof *known, cmp_str);
                    total++;
                    if (k < 10) printf(" %s", word);
                    if (f) fprintf(f, "%.1f\t%s\t%s\n", temps[ti], lid_langs[l].name, word);
                }
                printf("\n");
            }
            if (mode == GW_NONE)
                printf("  new words (not in the training split): %.0f%%\n", 100.0 * novel / total);
            else
                printf("  of %ld per language: %.1f%% judged the intended language by the "
                       "trigram classifier, %.0f%% new words\n",
                       samples, 100.0 * judged_right / total, 100.0 * novel / total);
        }
        if (f) fclose(f);
        printf("mode %s: trained in %.0fs\n", gw_mode_names[mode], train_s);
        tg_optim_free(opt);
        free(ps);
        gw_model_free(m);
    }
    tg_tape_free(tape);
    lid_nb_free(&judge);
    free(known);
    wordset_free(&train);
    wordset_free(&dev);
    wordset_free(&test);
    for (int k = 0; k < 3; k++) lid_set_free(&sets[k]);
    tg_spec_free(s);
    return 0;
}
