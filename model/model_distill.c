/* Knowledge distillation's loss over a model's batch: the task's loss
 * mixed with the soft-target KL to a teacher's outputs on the same batch,
 * over the same counted targets (steps past a sequence's length are not
 * rows of the KL either). */
#include "model_impl.h"

#include <stdlib.h>

/* The rows of y [N, C] that count, as [n, C]: y [T, B, C] (or [B, T, C]
 * with batch_first) has its steps past lengths[b] left out; a pooled y
 * [B, C] is every row. */
static tg_tensor *counted_rows(tg_tape *t, const tg_model *m, const tg_model_batch *b,
                               tg_tensor *y) {
    if (m->pooled) return y;
    int64_t d0 = y->shape[0], d1 = y->shape[1], C = y->shape[2];
    tg_tensor *rows = tg_reshape(t, y, TG_SHAPE(d0 * d1, C));
    if (!b->lengths || !rows) return rows;
    bool bf = m->batch_first;
    int64_t T = bf ? d1 : d0, B = bf ? d0 : d1, n = 0;
    int64_t *idx = malloc((size_t)(T * B) * sizeof *idx);
    if (!idx) {
        tg_tape_fail(t, "tg_model_distill_loss: out of memory");
        return NULL;
    }
    for (int64_t i = 0; i < d0; i++)
        for (int64_t j = 0; j < d1; j++) {
            int64_t step = bf ? j : i, seq = bf ? i : j;
            if (step < b->lengths[seq]) idx[n++] = i * d1 + j;
        }
    tg_tensor *out = tg_index_select(t, rows, 0, idx, n);
    free(idx);
    return out;
}

tg_tensor *tg_model_distill_loss(tg_tape *t, tg_model *m, const tg_model_batch *b,
                                 const tg_model_output *out, tg_tensor *teacher, double temperature,
                                 double alpha) {
    const char *op = "tg_model_distill_loss";
    if (tg_tape_error(t)) return NULL;
    if (!m || !b || !out || !out->output || !teacher) {
        tg_tape_fail(t, "%s: %s is NULL", op,
                     !m                     ? "model"
                     : !b                   ? "batch"
                     : !out || !out->output ? "output"
                                            : "teacher");
        return NULL;
    }
    if (m->task != TG_TASK_LANGUAGE_MODEL && m->task != TG_TASK_CLASSIFY &&
        m->task != TG_TASK_TAG) {
        tg_tape_fail(t, "%s: task %s has no class outputs to distill", op, tg_task_name(m->task));
        return NULL;
    }
    if (!tg_same_shape(out->output, teacher)) {
        char s1[TG_SHAPE_STR_MAX], s2[TG_SHAPE_STR_MAX];
        tg_tape_fail(t, "%s: the teacher's output %s does not match the student's %s", op,
                     tg_shape_str(tg_tensor_shape(teacher), s1, sizeof s1),
                     tg_shape_str(tg_tensor_shape(out->output), s2, sizeof s2));
        return NULL;
    }
    if (!(alpha >= 0 && alpha <= 1)) {
        tg_tape_fail(t, "%s: alpha %g is outside [0, 1]", op, alpha);
        return NULL;
    }
    tg_tensor *task = tg_model_loss(t, m, b, out);
    tg_tensor *kl = tg_soft_target_kl(t, counted_rows(t, m, b, out->output),
                                      counted_rows(t, m, b, teacher), temperature);
    return tg_add(t, tg_scale(t, kl, alpha), tg_scale(t, task, 1 - alpha));
}
