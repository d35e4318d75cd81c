/* A recurrent layer's sizes, below everything that runs it: h's width, what
 * a recorded step and a carried state weigh, and the memory options that
 * bound them (checked; the segment length they give). rnn.c (the layer),
 * rnn_recompute.c (its segments), deep_rnn.c and seq_recompute.c read them;
 * none of them is called from here, so the arrows point one way. */
#include "rnn_impl.h"

#include <math.h>

#define FAIL(...) tg_error_set(err, errlen, __VA_ARGS__)

int64_t tg_rnn_h_size(const tg_rnn *m) {
    return m->opt.proj_size ? m->opt.proj_size : m->opt.hidden_size;
}

/* A recorded step's bytes, roughly (see rnn.h): 7G+4 values per batch row
 * and hidden unit, three times that composed. */
double tg__rnn_step_bytes(const tg_rnn *m, int64_t B) {
    int64_t G = m->w_hh[0]->shape[0] / m->opt.hidden_size;
    return (double)((7 * G + 4) * (m->opt.composed ? 3 : 1)) * (double)B *
           (double)m->opt.hidden_size * sizeof(tg_real);
}

double tg__rnn_state_bytes(const tg_rnn *m, int64_t B) {
    int64_t H = m->opt.hidden_size, R = tg_rnn_h_size(m);
    int S = m->cell->n_states;
    return (double)(R + (S - 1) * H) * (double)B * sizeof(tg_real);
}

int tg__memory_check(const char *who, tg_rnn_memory mem, char *err, size_t errlen) {
    if (mem.segment < 0) {
        FAIL("%s: memory.segment must be positive (or 0 for the default), got %lld", who,
             (long long)mem.segment);
        return -1;
    }
    if (!(mem.budget_mb >= 0) || isinf(mem.budget_mb)) {
        FAIL("%s: memory.budget_mb must be a positive number of MB, got %g", who, mem.budget_mb);
        return -1;
    }
    if (mem.segment > 0 && mem.budget_mb > 0) {
        FAIL("%s: memory.segment and memory.budget_mb are both given; give one", who);
        return -1;
    }
    if (!mem.recompute && (mem.segment > 0 || mem.budget_mb > 0)) {
        FAIL("%s: memory.%s is given but memory.recompute is off", who,
             mem.segment > 0 ? "segment" : "budget_mb");
        return -1;
    }
    return 0;
}

int64_t tg__memory_segment(const tg_rnn_memory *mem, int64_t T, double step_bytes,
                           double state_bytes) {
    int64_t k;
    if (mem->segment > 0) {
        k = mem->segment;
    } else if (mem->budget_mb > 0) {
        double fit = mem->budget_mb * 1048576.0 / step_bytes;
        k = fit >= (double)T ? T : (int64_t)fit;
    } else {
        k = (int64_t)ceil(sqrt((double)T * state_bytes / step_bytes));
    }
    return k < 1 ? 1 : k > T ? T : k;
}
