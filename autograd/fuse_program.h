/* A fused program as fuse.c traces it and fuse_run.c runs it: what both
 * halves share, internal to autograd.
 *
 * A program works on one row at a time. Every value of a row has a slot:
 * in an input's row (read in place, its adjoint added straight into that
 * input's gradient), in the per-row workspace (WS: each instruction's
 * result), or in the program's constants (CONSTS: values the step made
 * itself, such as a layer norm's epsilon as a tensor). An input is either
 * per row ([B, w]) or broadcast ([w], the same for every row: a cell's own
 * parameter; its gradient is the sum over rows). */
#ifndef TG_FUSE_PROGRAM_H
#define TG_FUSE_PROGRAM_H

#include "fuse.h"
#include "fuse_rules.h"

/* the gx, up to 2 states, up to 8 parameters and the recurrent product;
 * results beyond FUSE_MAX_OUT are kept, not read from the node's output */
enum { FUSE_MAX_IN = 16, FUSE_MAX_OUT = 4 };
/* the bases of a row's slots: inputs, then these (KEPT: the row's kept
 * values, where forward writes them and backward reads them; OUT + k:
 * result k's row of the node's output, in backward) */
enum { WS = FUSE_MAX_IN, CONSTS, KEPT, OUT, FUSE_BASES = OUT + FUSE_MAX_OUT };

typedef struct slot {
    int src; /* an input, WS, CONSTS, KEPT or OUT + k */
    int64_t off, w;
} slot;

typedef struct instr {
    const tg__fuse_rule *rule;
    int64_t n, sa, sb; /* the loop's length; the operands' strides, 1 or 0 */
    slot y, a, b, c;   /* b.w == 0 for unary, c.w == 0 but for three operands */
    slot x;            /* the rule's extra values (its extra_rows and extra), traced after y */
    double k[2];
    /* TG__FUSE_SET_A/_B/_C where the operand's share is the first write to
     * its adjoint in a row: assigned, not added (workspace values only;
     * fuse_plan.c plan_sets) */
    int set;
} instr;

/* A run of a row's values the adjoint reads (rules' needs), kept from
 * forward at `at` in the row's saved values: a workspace range or part of
 * the recurrent product (the other inputs stay on the tape). */
typedef struct saved_run {
    slot s;
    int64_t at;
} saved_run;

struct tg__fusion {
    const char *why; /* NULL: it runs */
    int n_in, n_out, n_code;
    slot *in, *out;
    bool *bcast; /* per input: the same [w] for every row */
    bool *seed_set; /* per result: its seed is the first write to its
                     * adjoint in a row, a copy (plan_sets) */
    instr *code; /* its slots also place each value's adjoint in backward */
    /* forward's view of code (fuse_plan.c plan_in_place): the kept values
     * written straight into the row's kept values (KEPT), or NULL: forward
     * runs code and copies them there after the row */
    instr *fwd;
    /* backward's view of code (fuse_plan.c plan_remat): the same
     * instructions with values that are results and not kept read from the
     * node's output (OUT + k), and with fwd the kept ones read where they
     * were kept; redo lists those backward runs again, in order, before
     * the adjoint */
    instr *back;
    int *redo, n_redo;
    tg_real *consts;
    int64_t width;    /* the workspace per row: the instructions' results */
    int64_t bcast_w;  /* the broadcast inputs' widths summed */
    int prod;         /* the input that is the recurrent product, or -1 */
    int twin;         /* the input whose gradient is the product's, or -1 (fuse_plan.c plan_twin) */
    int n_saved;
    saved_run *saved; /* what backward reads of a row, instead of recomputing it */
    int64_t saved_w;  /* their widths summed: values kept per row */
    /* Keeping them would take much more than the product (a layer norm's
     * centred rows): the product alone is kept (saved is that one run) and
     * backward runs the row forward again first. */
    bool recompute;
};

#define AT(base, s) ((base)[(s).src] + (s).off)

/* Plans what backward keeps, runs again and assigns (fuse_plan.c); false
 * when out of memory. */
bool tg__fuse_plan(tg_tape *dst, tg__fusion *f);
/* bytes of src copied into dst's arena (NULL for none) */
void *tg__fuse_keep(tg_tape *dst, const void *src, size_t bytes);

#endif
