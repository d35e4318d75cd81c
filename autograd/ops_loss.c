/* STUB: to be written. */
#include "op.h"

void tg__cross_entropy_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__nll_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__mse_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
void tg__bce_with_logits_backward(tg_tape *t, tg_node *n) { (void)t; (void)n; }
