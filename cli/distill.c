/* tapegrad train with a "distill" section: the teacher (its spec and
 * checkpoint) beside the student, run without a tape record on the same
 * batches, and the training loss that mixes its soft targets in
 * (tg_model_distill_loss). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static bool strs_equal(const cli_strs *a, const cli_strs *b) {
    if (a->n != b->n) return false;
    for (int64_t i = 0; i < a->n; i++)
        if (strcmp(a->s[i], b->s[i]) != 0) return false;
    return true;
}

/* The same ids for the same symbols and classes (else the teacher's outputs
 * would be about other classes than the student's). */
static bool vocab_equal(const cli_vocab *a, const cli_vocab *b) {
    return a->n_bytes == b->n_bytes && memcmp(a->bytes, b->bytes, (size_t)a->n_bytes) == 0 &&
           strs_equal(&a->words, &b->words) && strs_equal(&a->labels, &b->labels);
}

/* What the teacher must share with the student; 0, or CLI_USAGE after a
 * message. */
static int check_teacher(const char *cmd, const tg_spec *s, const tg_spec *ts) {
    const char *file = s->file, *tf = s->distill.teacher;
    if (ts->task != s->task) {
        cli_error(cmd, "%s: distill.teacher: %s is a %s model, the student a %s model", file, tf,
                  tg_task_name(ts->task), tg_task_name(s->task));
        return CLI_USAGE;
    }
    if (ts->batch_first != s->batch_first || ts->cond_size != s->cond_size) {
        cli_error(cmd, "%s: distill.teacher: %s reads its input differently (%s)", file, tf,
                  ts->batch_first != s->batch_first ? "input.batch_first" : "input.condition");
        return CLI_USAGE;
    }
    if (ts->output_size != s->output_size) {
        cli_error(cmd,
                  "%s: distill.teacher: %s has %lld outputs per target, the student %lld; "
                  "distillation needs the same classes",
                  file, tf, (long long)ts->output_size, (long long)s->output_size);
        return CLI_USAGE;
    }
    return 0;
}

int cli_teacher_load(const char *cmd, cli_teacher *t, const tg_spec *s, const cli_vocab *vocab) {
    char err[1024];
    *t = (cli_teacher){0};
    if (!s->distill.teacher) return 0;
    const char *ckpt = s->distill.checkpoint;
    if (!(t->spec = tg_spec_load(s->distill.teacher, err, sizeof err))) {
        cli_error(cmd, "%s: distill.teacher: %s", s->file, err);
        return CLI_USAGE;
    }
    if (cli_ckpt_info_read(ckpt, &t->info, err, sizeof err)) {
        cli_error(cmd, "%s: distill.checkpoint: %s", s->file, err);
        return CLI_FAIL;
    }
    if (!vocab_equal(&t->info.vocab, vocab)) {
        cli_error(cmd,
                  "%s: distill.checkpoint: %s was trained with another vocabulary than this "
                  "data's (train the teacher on the same data)",
                  s->file, ckpt);
        return CLI_USAGE;
    }
    int rc = cli_set_vocab(cmd, t->spec, &t->info.vocab);
    if (!rc) rc = check_teacher(cmd, s, t->spec);
    if (!rc) rc = cli_model_build(cmd, &t->cm, t->spec, t->info.seed);
    if (rc) return rc;
    if (cli_ckpt_load(ckpt, &t->cm, NULL, NULL, err, sizeof err)) {
        cli_error(cmd, "%s: distill.checkpoint: %s", s->file, err);
        return CLI_FAIL;
    }
    tg_module_train(&t->cm.model->base, false); /* no dropout in the teacher */
    if (cli_streams(t->spec) && !(t->st = tg_model_state_new(t->cm.model))) {
        cli_error(cmd, "out of memory");
        return CLI_FAIL;
    }
    printf("distill: teacher %s, %lld parameters (%s), temperature %g, alpha %g\n",
           s->distill.teacher, (long long)tg_params_numel(tg_module_params(&t->cm.model->base)),
           ckpt, s->distill.temperature, s->distill.alpha);
    return 0;
}

void cli_teacher_free(cli_teacher *t) {
    tg_model_state_free(t->st);
    cli_model_free(&t->cm);
    cli_ckpt_info_free(&t->info);
    tg_spec_free(t->spec);
    *t = (cli_teacher){0};
}

tg_tensor *cli_train_loss(tg_tape *tape, cli_teacher *t, const tg_spec *s, tg_model *m,
                          const tg_model_batch *mb, tg_model_state *st, tg_model_output *out,
                          bool reset) {
    if (!t->spec) return tg_model_train_loss(tape, m, mb, st, out);
    if (tg_model_forward(tape, m, mb, st, out) != 0) return NULL;
    if (t->st && reset) tg_model_state_reset(t->st);
    tg_model_output tout;
    bool was = tg_set_grad_enabled(tape, false); /* the teacher only gives targets */
    int rc = tg_model_forward(tape, t->cm.model, mb, t->st, &tout);
    tg_set_grad_enabled(tape, was);
    if (rc) return NULL;
    return tg_model_distill_loss(tape, m, mb, out, tout.output, s->distill.temperature,
                                 s->distill.alpha);
}
