/* The trained langid model applied to words: each word is read letter by
 * letter, each letter a token, as tapegrad train read them (the spec's
 * input.split "chars"). Letters the training
 * data never had become "<unk>". Header-only; needs ckpt.h and langid.h. */
#ifndef LANGID_MODEL_H
#define LANGID_MODEL_H

#include "ckpt.h"
#include "langid.h"

#define LID_BATCH 256

/* Log-probabilities of every class for B <= LID_BATCH words into
 * logp[b * C + c] (C: the model's classes, in the checkpoint's label
 * order). Returns 0, or -1 after a message. */
static inline int lid_classify(tg_tape *t, ex_ckpt *c, char *const *words, int B, double *logp) {
    int64_t T = 1, lengths[LID_BATCH];
    int64_t *ids = calloc((size_t)(B * (LID_MAX_CHARS + 1)), sizeof *ids);
    if (!ids) return -1;
    for (int b = 0; b < B; b++) { /* count letters (UTF-8 lead bytes) */
        lengths[b] = 0;
        for (const char *p = words[b]; *p; p++) lengths[b] += ((unsigned char)*p & 0xC0) != 0x80;
        if (lengths[b] > LID_MAX_CHARS) lengths[b] = LID_MAX_CHARS;
        if (lengths[b] < 1) lengths[b] = 1; /* an empty word reads as one pad */
        if (lengths[b] > T) T = lengths[b];
    }
    for (int b = 0; b < B; b++) {
        const char *p = words[b];
        for (int64_t k = 0; k < lengths[b] && *p; k++) {
            char letter[8];
            int n = 1;
            while (p[n] && ((unsigned char)p[n] & 0xC0) == 0x80 && n < 7) n++;
            memcpy(letter, p, (size_t)n);
            letter[n] = '\0';
            ids[k * B + b] = ex_word_id(c, letter);
            p += n;
        }
    }
    tg_tape_reset(t);
    bool was = tg_set_grad_enabled(t, false);
    tg_model_batch mb = {.T = T, .B = B, .ids = ids, .lengths = lengths};
    tg_model_output out;
    int rc = tg_model_forward(t, c->model, &mb, NULL, &out);
    tg_tensor *lp = rc ? NULL : tg_log_softmax(t, out.output, 1);
    tg_set_grad_enabled(t, was);
    free(ids);
    if (!lp) {
        fprintf(stderr, "langid: %s\n", tg_tape_error(t));
        return -1;
    }
    for (int64_t i = 0; i < lp->numel; i++) logp[i] = tg_at(lp, i);
    return 0;
}

#endif
