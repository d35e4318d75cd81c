/* The fused program's primitives: one rule per op of ops.def that a traced
 * step may use (and per number of inputs, where an op takes a choice of
 * them), its forward loop and its derivative (the adjoint) side by
 * side in fuse_rules.c, as tinygrad's gradient.py keeps one line per
 * primitive. Internal to autograd (fuse.c traces with them, fuse_run.c
 * runs them). */
#ifndef TG_FUSE_RULES_H
#define TG_FUSE_RULES_H

#include "../core/core.h"

/* y = f(a, b, c) over one row. n is the loop's length (the widest
 * operand; a reduction's input); sa, sb are the operands' strides: 1, or 0
 * for a one-wide value ([B,1], a row's mean) broadcast over the row; c, a
 * third operand, is n wide. k holds the op's scalars (node->f). b is NULL
 * for a unary rule, c NULL unless the rule takes three. x receives the
 * rule's extra values (extra_rows and extra below; NULL when it has
 * none): a slot of their own, so backward may read them where they were
 * kept while y stays in the workspace. */
typedef void (*tg__fuse_fwd)(int64_t n, const double *k, const tg_real *a, int64_t sa,
                             const tg_real *b, int64_t sb, const tg_real *c, tg_real *y,
                             tg_real *x);
/* da (db, dc) += the rule's share of the adjoint g, from a, b, c and y. A
 * broadcast operand (stride 0) receives the sum over the row; a rule skips
 * an operand whose da, db or dc is NULL (no gradient wanted; a unary rule
 * is not called then). With TG__FUSE_SET_A (_B, _C) in set, da (db, dc)
 * is assigned instead, 0 + share: the first share written there in the
 * row, the bits of adding it to a zeroed row without zeroing it first
 * (fuse_plan.c plan_sets). g has the rule's extra entries after its n: the
 * rule's own scratch (nothing else reads an extra value's adjoint). */
typedef void (*tg__fuse_bwd)(int64_t n, const double *k, const tg_real *a, int64_t sa,
                             const tg_real *b, int64_t sb, const tg_real *c, const tg_real *y,
                             const tg_real *x, tg_real *g, tg_real *da, tg_real *db, tg_real *dc,
                             int set);
enum { TG__FUSE_SET_A = 1, TG__FUSE_SET_B = 2, TG__FUSE_SET_C = 4 };

/* What a rule's adjoint reads besides g (tg__fuse_rule.needs): backward
 * keeps exactly these values of a row from forward (fuse_run.c). X: the
 * rule's extra values (x). */
enum { TG__FUSE_A = 1, TG__FUSE_B = 2, TG__FUSE_Y = 4, TG__FUSE_C = 8, TG__FUSE_X = 16 };

typedef struct tg__fuse_rule {
    tg__fuse_fwd fwd;
    tg__fuse_bwd bwd;
    int arity;   /* 1, 2 or 3 inputs */
    bool reduce; /* the result is one value per row (sum/mean along the row) */
    int needs;   /* TG__FUSE_A | _B | _Y | _C | _X: the values its adjoint reads */
    /* Values the rule writes after its result, in the workspace, for its
     * own adjoint (a layer norm's s, so backward need not sum the row
     * again): extra_rows rows as wide as the result (the normalised row
     * of a layer norm with gain and bias), then extra values. */
    int extra_rows, extra;
} tg__fuse_rule;

/* The rule of op (a TG_OP_ id) with n_in inputs, or NULL when a program
 * cannot run it. */
const tg__fuse_rule *tg__fuse_rule_of(int op, int n_in);

#endif
